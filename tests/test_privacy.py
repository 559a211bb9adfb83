"""What each party may learn about the others (R1, R26, R29), on every store.

One world: buyer Ada checks out at two vendors (Anna and Kenji) at once, buyer Grace buys from
Anna alone; parcels ship, an issue is reported, money is released and paid out, and the
parties chat. Then every vendor and buyer calls every read of the facade, and every command
on what is not theirs, naming every id of the world; each answer (a result, or a refusal's
message and fields) and every notification they receive is searched for what belongs to the
others: their order, line and checkout ids, their amounts, their names. Echoing back an id
the caller itself passed is not a leak; anything else is.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    ActorKind,
    AsoloraError,
    FakeClock,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    NotPermitted,
    Order,
    Resolution,
    ReturnKind,
    to_json,
)
from conftest import START, MarketFactory

ANNA, KENJI = Actor.vendor("anna"), Actor.vendor("kenji")
ADA, GRACE = Actor.buyer("ada"), Actor.buyer("grace")
STAFF = Actor.staff("st-1")
EUR = "EUR"


@attrs.frozen
class World:
    """The ids of one built world; ``secrets[actor key]`` is what that actor must not see."""

    market: Marketplace
    ada_anna: Order  # Ada's order at Anna, checkout shared with ...
    ada_kenji: Order  # ... Ada's order at Kenji
    grace_anna: Order  # Grace's order at Anna, a checkout of its own
    conversations: tuple[str, ...]
    shipments: tuple[str, ...]
    issues: tuple[str, ...]
    secrets: dict[str, frozenset[str]]

    @property
    def orders(self) -> tuple[Order, ...]:
        return (self.ada_anna, self.ada_kenji, self.grace_anna)


def _ids_of(order: Order) -> set[str]:
    """The ids an order carries that only its parties (and staff) may know."""
    out = {order.order_id}
    out |= {ln.line_id for ln in order.lines}
    out |= {s.shipment_id for s in order.shipments}
    out |= {i.issue_id for i in order.issues}
    out |= {r.refund_id for r in order.refunds}
    return out


def _amounts(*figures: str) -> set[str]:
    """``"77.70"`` and its minor units ``"7770"``: the two ways an amount is written."""
    return {f for figure in figures for f in (figure, figure.replace(".", ""))}


def build_world(market: Marketplace, clock: FakeClock) -> World:
    market.register_vendor("anna", payout_currency=EUR, by=STAFF)
    market.register_vendor("kenji", payout_currency=EUR, by=STAFF)
    ada_anna, ada_kenji = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        items=[
            Item(vendor_id="anna", product_id="mug", quantity=2, unit_price=Money("16.50", EUR)),
            Item(vendor_id="kenji", product_id="tea", quantity=1, unit_price=Money("77.70", EUR)),
        ],
        paid=Money("114.70", EUR),
        shipping={"anna": Money("4.00", EUR)},
        idempotency_key="cart-1",
    )
    (grace_anna,) = market.place_checkout(
        buyer=GRACE,
        customer_name="Grace Hopper",
        items=[
            Item(vendor_id="anna", product_id="bowl", quantity=1, unit_price=Money("23.45", EUR))
        ],
        paid=Money("23.45", EUR),
    )
    # Anna ships Ada's mugs; Ada confirms: the order completes, is held, then released
    line = ada_anna.lines[0].line_id
    shipped = market.ship(
        ada_anna.order_id, by=ANNA, items={line: 2}, carrier="DHL", tracking_number="TA-1"
    )
    sid_a = shipped.shipments[0].shipment_id
    market.update_tracking(ada_anna.order_id, sid_a, by=ANNA, note="in transit")
    market.mark_delivered(ada_anna.order_id, sid_a, by=ANNA)
    ada_anna = market.confirm_receipt(ada_anna.order_id, sid_a, by=ADA)
    # Kenji ships the tea, Ada reports it damaged; Kenji offers 7.77 back
    tea = ada_kenji.lines[0].line_id
    shipped = market.ship(
        ada_kenji.order_id, by=KENJI, items={tea: 1}, carrier="UPS", tracking_number="TK-1"
    )
    sid_k = shipped.shipments[0].shipment_id
    market.mark_delivered(ada_kenji.order_id, sid_k, by=KENJI)
    reported = market.report_issue(
        ada_kenji.order_id, by=ADA, kind=IssueKind.DAMAGED, description="the tin is dented"
    )
    iid_k = reported.issues[0].issue_id
    market.respond_to_issue(ada_kenji.order_id, iid_k, by=KENJI, message="sorry")
    ada_kenji = market.offer_settlement(
        ada_kenji.order_id,
        iid_k,
        by=KENJI,
        resolution=Resolution.REFUND,
        amount=Money("7.77", EUR),
    )
    # Grace reports her bowl missing before it ships; Anna refunds part of it
    reported = market.report_issue(
        grace_anna.order_id, by=GRACE, kind=IssueKind.NOT_RECEIVED, description="where?"
    )
    iid_g = reported.issues[0].issue_id
    grace_anna = market.refund(
        grace_anna.order_id, by=ANNA, amount=Money("3.21", EUR), reason="delay"
    )
    # the chat: Ada with both vendors, Grace with Anna
    conversations = (
        market.start_conversation(
            by=ANNA, order_id=ada_anna.order_id, text="Thanks Ada!"
        ).conversation.conversation_id,
        market.start_conversation(
            by=ADA, order_id=ada_kenji.order_id, text="Dented tin"
        ).conversation.conversation_id,
        market.start_conversation(
            by=GRACE, vendor_id="anna", text="Is my bowl coming?"
        ).conversation.conversation_id,
    )
    market.post_message(conversations[2], by=ANNA, text="Yes, soon")
    clock.advance(days=8)
    market.run_due()  # Ada's order at Anna is released
    market.run_payouts()
    # ids of the world, as staff reads them now
    ada_anna, ada_kenji, grace_anna = (
        market.get_order(o.order_id, by=STAFF) for o in (ada_anna, ada_kenji, grace_anna)
    )
    checkout_a, checkout_g = ada_anna.checkout_id, grace_anna.checkout_id
    anna_sees = _ids_of(ada_anna) | _ids_of(grace_anna) | {checkout_a, checkout_g}
    kenji_sees = _ids_of(ada_kenji) | {checkout_a}
    ada_sees = _ids_of(ada_anna) | _ids_of(ada_kenji) | {checkout_a}
    grace_sees = _ids_of(grace_anna) | {checkout_g}
    everything = anna_sees | kenji_sees
    # what is private to each side: ids, amounts, names, the other party of a checkout
    ada_amounts = _amounts("16.50", "33.00", "37.00", "77.70", "114.70", "7.77")
    grace_amounts = _amounts("23.45", "3.21")
    secrets = {
        ANNA.key: (everything - anna_sees) | _amounts("77.70", "114.70", "7.77") | {"kenji"},
        KENJI.key: (everything - kenji_sees)
        | _amounts("16.50", "33.00", "37.00", "114.70")
        | grace_amounts
        | {"anna", "grace", "Grace Hopper"},
        ADA.key: (everything - ada_sees) | grace_amounts | {"grace", "Grace Hopper"},
        GRACE.key: (everything - grace_sees) | ada_amounts | {"ada", "Ada Lovelace", "kenji"},
    }
    return World(
        market=market,
        ada_anna=ada_anna,
        ada_kenji=ada_kenji,
        grace_anna=grace_anna,
        conversations=conversations,
        shipments=(sid_a, sid_k),
        issues=(iid_k, iid_g),
        secrets={k: frozenset(v) for k, v in secrets.items()},
    )


@pytest.fixture
def world(make_market: MarketFactory, clock: FakeClock) -> World:
    return build_world(make_market(), clock)


def _text(value: Any) -> str:
    """A result, or a refusal's code, message and fields, as searchable text."""
    if isinstance(value, AsoloraError):
        return json.dumps(value.to_dict(), default=str)
    return json.dumps(to_json(value), default=str)


def _leaks(text: str, secrets: Iterable[str], passed: str) -> list[str]:
    """The secrets written in ``text`` as whole tokens, but for those the caller passed."""
    return sorted(
        s
        for s in secrets
        if s not in passed and re.search(rf"(?<![\w.-]){re.escape(s)}(?![\w-]|\.\d)", text)
    )


Probe = tuple[str, Callable[[], object]]


def _probes(w: World, by: Actor) -> list[Probe]:
    """Every read of the facade naming every id of the world, and every command on what is
    not ``by``'s own (its own would succeed, and change the world). A probe's label is the
    method's name and everything passed to it."""
    m = w.market
    day0, day1 = START.date(), (START + dt.timedelta(days=30)).date()
    since, until = START, START + dt.timedelta(days=30)
    eur1 = Money("1.00", EUR)
    out: list[Probe] = []

    def add(name: str, *args: Any, **kwargs: Any) -> None:
        passed = " ".join([name, *map(str, args), *map(str, kwargs.values())])
        out.append((passed, functools.partial(getattr(m, name), *args, by=by, **kwargs)))

    vendors, buyers = ("anna", "kenji"), ("ada", "grace")
    for vid in vendors:
        add("list_orders", vendor_id=vid)
        for name in ("Ada Lovelace", "Grace Hopper"):
            add("list_orders", vendor_id=vid, customer_name=name)
        for call in ("holds", "balance", "statement", "payouts", "get_vendor"):
            add(call, vid)
        for call in ("sales_report", "earnings_report", "bestsellers"):
            add(call, vid, start=day0, end=day1)
        add("store_performance", vid, since=since, until=until)
        add("response_times", vid, since=since, until=until)
        add("conversations_for_vendor", vid)
    for bid in buyers:
        add("buyer_orders", buyer_id=bid)
        add("conversations_for_buyer", bid)
    for checkout in dict.fromkeys(o.checkout_id for o in w.orders):
        add("orders_of_checkout", checkout)
    for cid in w.conversations:
        for call in ("get_conversation", "messages", "conversation_history"):
            add(call, cid)
    for call in ("outbox", "journal", "verify_journal", "publish_checkpoint", "seal_ledger"):
        add(call)
    add("run_payouts")
    add("rebuild_reports")
    for vid in vendors:
        if vid == by.id:
            continue  # its own: a command that may succeed
        add("verify_reports", vid)
        add("pay_out", vid)
        add("adjust_balance", vid, amount=eur1, reason="r")
        add("set_payout_terms", vid, reason="r")
        add("register_vendor", vid, payout_currency=EUR)
    if by.kind is ActorKind.VENDOR:
        for name in ("Ada Lovelace", "Grace Hopper"):
            add("start_conversation", customer_name=name)
    for o in w.orders:
        oid = o.order_id
        for call in ("get_order", "order_history", "get_hold"):
            add(call, oid)
        if by.id in (o.vendor_id, o.buyer_id):
            continue
        line = o.lines[0].line_id
        sid = o.shipments[0].shipment_id if o.shipments else "s-none"
        iid = o.issues[0].issue_id if o.issues else "i-none"
        add("ship", oid, items={line: 1}, carrier="DHL", tracking_number="X")
        add("update_tracking", oid, sid, note="n")
        add("mark_delivered", oid, sid)
        add("confirm_receipt", oid, sid)
        add("cancel_order", oid, reason="r")
        add("report_issue", oid, kind=IssueKind.OTHER, description="d")
        add("respond_to_issue", oid, iid, message="m")
        add("offer_settlement", oid, iid, resolution=Resolution.NO_ACTION)
        add("answer_settlement", oid, iid, accept=True)
        add("withdraw_issue", oid, iid)
        add("mediate_issue", oid, iid, outcome=IssueOutcome.REJECTED, reason="r")
        add("resolve_for_vendor", oid, iid, reason="r")
        add("refund", oid, amount=eur1)
        add("request_return", oid, kind=ReturnKind.RETURN, items={line: 1}, reason="r")
        add("start_conversation", order_id=oid)
        add("release", oid)
        add("complete_order", oid)
        add("freeze_release", oid, reason="r")
        add("lift_freeze", oid, reason="r")
        add("report_chargeback", oid, amount=eur1)
        add("chargeback_won", oid, reference="cb")
        add("cancel_after_shipping", oid, reason="r")
        add("accept_return", oid, "rt-none")
        add("decline_return", oid, "rt-none", reason="r")
        add("ship_return", oid, "rt-none", carrier="DHL", tracking_number="R")
        add("receive_return", oid, "rt-none")
        add("refund_return", oid, "rt-none")
        add("ship_exchange", oid, "rt-none", carrier="DHL", tracking_number="E")
    for cid in w.conversations:
        add("post_message", cid, text="hi")
        add("mark_read", cid)
    return out


def test_the_probes_cover_every_call_that_names_an_actor(world: World) -> None:
    """The sweep below is complete: every public facade method taking ``by`` is probed for a
    vendor and for a buyer (a new one fails here until it is added to :func:`_probes`)."""
    acting = {
        name
        for name, fn in inspect.getmembers(Marketplace, inspect.isfunction)
        if not name.startswith("_") and "by" in inspect.signature(fn).parameters
    }
    for party in (ANNA, ADA):
        probed = {label.split()[0] for label, _ in _probes(world, party)}
        assert acting - probed == set(), party


PARTIES = pytest.mark.parametrize("party", [ANNA, KENJI, ADA, GRACE], ids=lambda a: a.id)


@PARTIES
def test_r1_no_answer_tells_a_party_what_belongs_to_the_others(world: World, party: Actor) -> None:
    """R1, R2: every read a vendor or a buyer can call, and every refusal of a command on what
    is not theirs (message and fields), names nothing of the other parties: no order, line,
    shipment, issue or checkout id of theirs, no amount of theirs, no name of theirs."""
    secrets = world.secrets[party.key]
    leaks: dict[str, list[str]] = {}
    answered = 0
    for label, call in _probes(world, party):
        try:
            answer: Any = call()
            answered += 1
        except AsoloraError as refused:
            answer = refused
        found = _leaks(_text(answer), secrets, label)
        if found:
            leaks[label] = found
    assert leaks == {}
    assert answered >= 10  # its own reads answered: the sweep read real data


@PARTIES
def test_r29_no_notification_tells_a_party_what_belongs_to_the_others(
    world: World, party: Actor
) -> None:
    """R29: every notification a vendor or a buyer receives is about its own orders and
    conversations only: nothing of another party's orders, amounts or names."""
    mine = [n for n in world.market.outbox(by=STAFF) if n.notification.recipient == party]
    assert mine, "each party hears of something in this world"
    found = {
        n.notification.kind + " " + n.notification.subject_id: leak
        for n in mine
        if (leak := _leaks(_text(n.notification), world.secrets[party.key], ""))
    }
    assert found == {}


def test_r1_r3_a_vendor_reads_only_its_own_order_of_a_multi_vendor_checkout(world: World) -> None:
    """R1, R3: on Ada's checkout at Anna and Kenji, each vendor gets its own order (and only
    that), Ada gets both, staff get both, in the order place_checkout returned them."""
    m, checkout = world.market, world.ada_anna.checkout_id
    both = (world.ada_anna.order_id, world.ada_kenji.order_id)
    assert tuple(o.order_id for o in m.orders_of_checkout(checkout, by=ANNA)) == both[:1]
    assert tuple(o.order_id for o in m.orders_of_checkout(checkout, by=KENJI)) == both[1:]
    assert tuple(o.order_id for o in m.orders_of_checkout(checkout, by=ADA)) == both
    assert tuple(o.order_id for o in m.orders_of_checkout(checkout, by=STAFF)) == both
    assert tuple(o.order_id for o in m.orders_of_checkout(checkout, by=Actor.system())) == both


@pytest.mark.parametrize(
    ("who", "checkout"),
    [
        (GRACE, "ada's"),  # another buyer
        (KENJI, "grace's"),  # a vendor not in the checkout
        (ADA, "unknown"),  # nobody's: refused the same way, so existence is not told
        (Actor.vendor("nobody"), "ada's"),
    ],
)
def test_r1_a_party_with_no_order_in_a_checkout_is_refused_naming_only_the_checkout(
    world: World, who: Actor, checkout: str
) -> None:
    """R1, R2: the refusal names the checkout the caller passed and no order of it, in its
    message or its fields; it reads the same whether the checkout exists or not."""
    checkout_id = {
        "ada's": world.ada_anna.checkout_id,
        "grace's": world.grace_anna.checkout_id,
        "unknown": "c-999999",
    }[checkout]
    with pytest.raises(NotPermitted) as info:
        world.market.orders_of_checkout(checkout_id, by=who)
    assert info.value.fields == {"checkout_id": checkout_id}
    assert checkout_id in info.value.message
    assert "buyer_orders" in info.value.message  # what to do instead
    assert not re.search(r"\bo-\d{6}\b", info.value.message)
    with pytest.raises(NotPermitted) as again:
        world.market.orders_of_checkout("c-888888", by=who)
    assert again.value.message == info.value.message.replace(checkout_id, "c-888888")


def test_r1_another_vendor_asking_for_a_hold_is_not_told_whose_order_it_is(world: World) -> None:
    """R1: Kenji asking for the hold of an order of Anna's is refused without naming Anna;
    Anna reads her own."""
    oid = world.ada_anna.order_id
    with pytest.raises(NotPermitted) as info:
        world.market.get_hold(oid, by=KENJI)
    assert "anna" not in info.value.message
    assert info.value.fields == {"order_id": oid}
    assert world.market.get_hold(oid, by=ANNA).vendor_id == "anna"


def test_r35_another_buyers_idempotency_key_never_returns_the_first_buyers_result(
    world: World,
) -> None:
    """R35, R1: keys are scoped to the actor: Grace reusing Ada's key ``cart-1`` gets a
    checkout of her own, never Ada's orders, and no refusal naming what Ada sent."""
    (mine,) = world.market.place_checkout(
        buyer=GRACE,
        customer_name="Grace Hopper",
        items=[Item(vendor_id="kenji", product_id="tea", quantity=1, unit_price=Money("5", EUR))],
        paid=Money("5.00", EUR),
        idempotency_key="cart-1",
    )
    assert mine.buyer_id == "grace"
    assert mine.order_id not in {o.order_id for o in world.orders}


@pytest.mark.parametrize("outsider", [KENJI, GRACE], ids=lambda a: a.id)
def test_r1_an_outsider_is_refused_before_its_amount_is_checked_against_the_order(
    world: World, outsider: Actor
) -> None:
    """R1, R2: an amount in another currency, sent by someone the order is not theirs, is
    refused as ``NotPermitted``, not as a currency mismatch that would tell them the order's
    currency; and nothing changes."""
    m, oid = world.market, world.ada_anna.order_id
    iid = world.grace_anna.issues[0].issue_id
    usd = Money("1.00", "USD")
    before = m.get_order(oid, by=STAFF)
    calls: list[Callable[[], object]] = [
        lambda: m.refund(oid, by=outsider, amount=usd),
        lambda: m.refund(oid, by=outsider, shipping=usd),
        lambda: m.offer_settlement(oid, iid, by=outsider, resolution=Resolution.REFUND, amount=usd),
        lambda: m.mediate_issue(
            oid, iid, by=outsider, outcome=IssueOutcome.MEDIATED_REFUND, refund=usd, reason="r"
        ),
    ]
    for call in calls:
        with pytest.raises(NotPermitted) as info:
            call()
        assert "EUR" not in json.dumps(info.value.to_dict(), default=str)
    assert m.get_order(oid, by=STAFF) == before
