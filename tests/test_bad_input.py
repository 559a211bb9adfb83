"""Bad input, command by command (R2, R5, R6, R20, R25, R34): each malformed call gets the
documented error class and ``code``, and changes nothing (order, history, outbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    CurrencyMismatchError,
    FakeClock,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    NaiveDatetimeError,
    NotFoundError,
    Order,
    RefundExceedsPaidError,
    Resolution,
    SequentialIds,
    UnknownCurrencyError,
)
from asolora_core.clock import utc
from asolora_core.ports import Store
from conftest import Snapshot

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")


def eur(amount: str | Decimal) -> Money:
    return Money(amount, "EUR")


@attrs.frozen
class World:
    """An order (line l0: 2 x 10.00, l1: 1 x 5.00, shipping 3.00, paid 28.00) with both
    units of l0 shipped in s1 (DHL T-1, 1 unit) and s2 (UPS T-2, 1 unit); issue i1 open with
    no offer; issue i2 open with a pending 1.00 refund offer."""

    m: Marketplace
    oid: str
    l0: str
    l1: str
    s1: str
    s2: str
    i1: str
    i2: str


@pytest.fixture
def world(market: Marketplace, order: Order) -> World:
    oid = order.order_id
    l0, l1 = (ln.line_id for ln in order.lines)
    s1 = market.ship(oid, by=VENDOR, items={l0: 1}, carrier="DHL", tracking_number="T-1")
    s2 = market.ship(oid, by=VENDOR, items={l0: 1}, carrier="UPS", tracking_number="T-2")
    i1 = market.report_issue(
        oid, by=BUYER, kind=IssueKind.DAMAGED, description="chip", line_ids=[l0]
    )
    i2 = market.report_issue(
        oid, by=BUYER, kind=IssueKind.NOT_RECEIVED, description="tea", line_ids=[l1]
    )
    iid2 = i2.issues[-1].issue_id
    market.offer_settlement(oid, iid2, by=VENDOR, resolution=Resolution.REFUND, amount=eur("1.00"))
    return World(
        market,
        oid,
        l0,
        l1,
        s1.shipments[0].shipment_id,
        s2.shipments[1].shipment_id,
        i1.issues[0].issue_id,
        iid2,
    )


def checkout(w: World, **change: Any) -> object:
    args: dict[str, Any] = {
        "buyer": BUYER,
        "customer_name": "Ada Buyer",
        "items": [Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=eur("4.00"))],
        "paid": eur("4.00"),
    }
    args.update(change)
    return w.m.place_checkout(**args)


def item(**change: Any) -> Item:
    args: dict[str, Any] = {
        "vendor_id": "v-1",
        "product_id": "p",
        "quantity": 1,
        "unit_price": eur("4.00"),
    }
    args.update(change)
    return Item(**args)


def ship(w: World, **change: Any) -> object:
    args: dict[str, Any] = {
        "by": VENDOR,
        "items": {w.l1: 1},
        "carrier": "DHL",
        "tracking_number": "T-3",
    }
    args.update(change)
    order_id = args.pop("order_id", w.oid)
    return w.m.ship(order_id, **args)


Case = tuple[str, Callable[[World], object], type[AsoloraError]]

# fmt: off
CASES: list[Case] = [
    # place_checkout (R3, R25)
    ("checkout: unit price in USD, paid in EUR",
     lambda w: checkout(w, items=[item(unit_price=Money("4.00", "USD"))]), CurrencyMismatchError),
    ("checkout: float unit price",
     lambda w: checkout(w, items=[item(unit_price=4.0)]), InvalidMoneyError),
    ("checkout: float paid", lambda w: checkout(w, paid=4.0), InvalidMoneyError),
    ("checkout: paid with 3 decimals in EUR",
     lambda w: checkout(w, paid=eur("3.999")), InvalidMoneyError),
    ("checkout: unit price with 3 decimals",
     lambda w: checkout(w, items=[item(unit_price=eur("0.001"))]), InvalidMoneyError),
    ("checkout: yen with decimals",
     lambda w: checkout(w, items=[item(unit_price=Money("4.5", "JPY"))],
                        paid=Money("4.5", "JPY")), InvalidMoneyError),
    ("checkout: currency without minor unit (XAU)",
     lambda w: checkout(w, items=[item(unit_price=Money("4", "XAU"))],
                        paid=Money("4", "XAU")), UnknownCurrencyError),
    ("checkout: zero quantity", lambda w: checkout(w, items=[item(quantity=0)]),
     InvalidInputError),
    ("checkout: negative quantity", lambda w: checkout(w, items=[item(quantity=-1)]),
     InvalidInputError),
    ("checkout: float quantity", lambda w: checkout(w, items=[item(quantity=1.0)]),
     InvalidInputError),
    ("checkout: negative unit price",
     lambda w: checkout(w, items=[item(unit_price=eur("-1.00"))]), InvalidMoneyError),
    ("checkout: paid above gross", lambda w: checkout(w, paid=eur("4.01")), InvalidMoneyError),
    ("checkout: negative paid", lambda w: checkout(w, paid=eur("-0.01")), InvalidMoneyError),
    ("checkout: no items", lambda w: checkout(w, items=[]), InvalidInputError),
    ("checkout: empty customer name", lambda w: checkout(w, customer_name="  "),
     InvalidInputError),
    ("checkout: empty vendor id", lambda w: checkout(w, items=[item(vendor_id="")]),
     InvalidInputError),
    ("checkout: shipping for a vendor not in the cart",
     lambda w: checkout(w, shipping={"v-9": eur("1.00")}), InvalidInputError),
    ("checkout: shipping in another currency",
     lambda w: checkout(w, shipping={"v-1": Money("1.00", "USD")}), CurrencyMismatchError),
    ("checkout: buyer is not an Actor", lambda w: checkout(w, buyer="b-1"), InvalidInputError),
    ("checkout: empty idempotency key", lambda w: checkout(w, idempotency_key=""),
     InvalidInputError),
    # ship (R5)
    ("ship: unknown order", lambda w: ship(w, order_id="o-nope"), NotFoundError),
    ("ship: unknown line", lambda w: ship(w, items={"l-nope": 1}), NotFoundError),
    ("ship: zero quantity", lambda w: ship(w, items={w.l1: 0}), InvalidInputError),
    ("ship: negative quantity", lambda w: ship(w, items={w.l1: -1}), InvalidInputError),
    ("ship: float quantity", lambda w: ship(w, items={w.l1: 1.0}), InvalidInputError),
    ("ship: over-shipping a line", lambda w: ship(w, items={w.l1: 2}), InvalidInputError),
    ("ship: over-shipping a shipped line", lambda w: ship(w, items={w.l0: 1}), InvalidInputError),
    ("ship: no items", lambda w: ship(w, items={}), InvalidInputError),
    ("ship: duplicate tracking number", lambda w: ship(w, tracking_number="T-1"),
     InvalidInputError),
    ("ship: empty carrier", lambda w: ship(w, carrier=""), InvalidInputError),
    ("ship: blank tracking number", lambda w: ship(w, tracking_number="   "), InvalidInputError),
    ("ship: replacement for an unknown issue", lambda w: ship(w, replacement_for="i-nope"),
     NotFoundError),
    ("ship: replacement for an issue that awaits none", lambda w: ship(w, replacement_for=w.i1),
     InvalidTransitionError),
    # update_tracking (R6)
    ("tracking: unknown shipment",
     lambda w: w.m.update_tracking(w.oid, "s-nope", by=VENDOR, note="x"), NotFoundError),
    ("tracking: number of another shipment",
     lambda w: w.m.update_tracking(w.oid, w.s2, by=VENDOR, tracking_number="T-1"),
     InvalidInputError),
    ("tracking: empty carrier",
     lambda w: w.m.update_tracking(w.oid, w.s1, by=VENDOR, carrier=""), InvalidInputError),
    ("tracking: repeats the last event",
     lambda w: w.m.update_tracking(w.oid, w.s1, by=VENDOR), InvalidInputError),
    # mark_delivered, confirm_receipt (R7, R9)
    ("delivered: unknown shipment",
     lambda w: w.m.mark_delivered(w.oid, "s-nope", by=VENDOR), NotFoundError),
    ("delivered: unknown order",
     lambda w: w.m.mark_delivered("o-nope", w.s1, by=VENDOR), NotFoundError),
    ("confirm: unknown shipment",
     lambda w: w.m.confirm_receipt(w.oid, "s-nope", by=BUYER), NotFoundError),
    ("confirm: not delivered yet",
     lambda w: w.m.confirm_receipt(w.oid, w.s1, by=BUYER), InvalidTransitionError),
    # cancel, complete (R8, R11)
    ("cancel: reason not text", lambda w: w.m.cancel_order(w.oid, by=BUYER, reason=5),  # type: ignore[arg-type]
     InvalidInputError),
    ("cancel: after shipping", lambda w: w.m.cancel_order(w.oid, by=BUYER),
     InvalidTransitionError),
    ("complete: unknown order", lambda w: w.m.complete_order("o-nope", by=VENDOR),
     NotFoundError),
    # issues (R12, R13, R38)
    ("report: unknown line",
     lambda w: w.m.report_issue(w.oid, by=BUYER, kind=IssueKind.OTHER, description="x",
                                line_ids=["l-nope"]), NotFoundError),
    ("report: kind as a string",
     lambda w: w.m.report_issue(w.oid, by=BUYER, kind="damaged", description="x"),  # type: ignore[arg-type]
     InvalidInputError),
    ("report: empty description",
     lambda w: w.m.report_issue(w.oid, by=BUYER, kind=IssueKind.OTHER, description=""),
     InvalidInputError),
    ("respond: unknown issue",
     lambda w: w.m.respond_to_issue(w.oid, "i-nope", by=VENDOR, message="hi"), NotFoundError),
    ("respond: empty message",
     lambda w: w.m.respond_to_issue(w.oid, w.i1, by=VENDOR, message=" "), InvalidInputError),
    ("offer: refund in USD",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REFUND,
                                    amount=Money("1.00", "USD")), CurrencyMismatchError),
    ("offer: refund with 3 decimals",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REFUND,
                                    amount=eur("1.005")), InvalidMoneyError),
    ("offer: float refund",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REFUND,
                                    amount=1.5), InvalidMoneyError),  # type: ignore[arg-type]
    ("offer: negative refund",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REFUND,
                                    amount=eur("-1.00")), InvalidMoneyError),
    ("offer: zero refund",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REFUND,
                                    amount=eur("0.00")), InvalidMoneyError),
    ("offer: refund above paid",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REFUND,
                                    amount=eur("28.01")), RefundExceedsPaidError),
    ("offer: amount on a replacement",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution=Resolution.REPLACEMENT,
                                    amount=eur("1.00")), InvalidInputError),
    ("offer: resolution as a string",
     lambda w: w.m.offer_settlement(w.oid, w.i1, by=VENDOR, resolution="refund"),  # type: ignore[arg-type]
     InvalidInputError),
    ("offer: while another awaits an answer",
     lambda w: w.m.offer_settlement(w.oid, w.i2, by=VENDOR, resolution=Resolution.NO_ACTION),
     InvalidTransitionError),
    ("answer: unknown issue",
     lambda w: w.m.answer_settlement(w.oid, "i-nope", by=BUYER, accept=True), NotFoundError),
    ("answer: nothing offered",
     lambda w: w.m.answer_settlement(w.oid, w.i1, by=BUYER, accept=True),
     InvalidTransitionError),
    ("answer: accept not a bool",
     lambda w: w.m.answer_settlement(w.oid, w.i2, by=BUYER, accept="yes"), InvalidInputError),  # type: ignore[arg-type]
    ("withdraw: unknown issue",
     lambda w: w.m.withdraw_issue(w.oid, "i-nope", by=BUYER), NotFoundError),
    ("mediate: unknown issue",
     lambda w: w.m.mediate_issue(w.oid, "i-nope", by=STAFF, outcome=IssueOutcome.REJECTED,
                                 reason="r"),
     NotFoundError),
    ("mediate: not a mediation outcome",
     lambda w: w.m.mediate_issue(w.oid, w.i1, by=STAFF, outcome=IssueOutcome.WITHDRAWN, reason="r"),
     InvalidInputError),
    ("mediate: refund in USD",
     lambda w: w.m.mediate_issue(w.oid, w.i1, by=STAFF, outcome=IssueOutcome.MEDIATED_REFUND,
                                 refund=Money("1.00", "USD"), reason="r"), CurrencyMismatchError),
    ("mediate: refund above paid",
     lambda w: w.m.mediate_issue(w.oid, w.i1, by=STAFF, outcome=IssueOutcome.MEDIATED_REFUND,
                                 refund=eur("30.00"), reason="r"), RefundExceedsPaidError),
    ("mediate: refund missing",
     lambda w: w.m.mediate_issue(w.oid, w.i1, by=STAFF, outcome=IssueOutcome.MEDIATED_REFUND,
                                 reason="r"), InvalidMoneyError),
    ("mediate: amount on a rejection",
     lambda w: w.m.mediate_issue(w.oid, w.i1, by=STAFF, outcome=IssueOutcome.REJECTED,
                                 refund=eur("1.00"), reason="r"), InvalidInputError),
    # refund (R20, R25)
    ("refund: USD", lambda w: w.m.refund(w.oid, by=VENDOR, amount=Money("1.00", "USD")),
     CurrencyMismatchError),
    ("refund: float", lambda w: w.m.refund(w.oid, by=VENDOR, amount=1.0), InvalidMoneyError),  # type: ignore[arg-type]
    ("refund: NaN", lambda w: w.m.refund(w.oid, by=VENDOR, amount=eur(Decimal("NaN"))),
     InvalidMoneyError),
    ("refund: 3 decimals", lambda w: w.m.refund(w.oid, by=VENDOR, amount=eur("0.015")),
     InvalidMoneyError),
    ("refund: negative", lambda w: w.m.refund(w.oid, by=VENDOR, amount=eur("-1.00")),
     InvalidMoneyError),
    ("refund: zero", lambda w: w.m.refund(w.oid, by=VENDOR, amount=eur("0")), InvalidMoneyError),
    ("refund: nothing at all", lambda w: w.m.refund(w.oid, by=VENDOR), InvalidMoneyError),
    ("refund: above paid", lambda w: w.m.refund(w.oid, by=VENDOR, amount=eur("28.01")),
     RefundExceedsPaidError),
    ("refund: shipping above shipping paid",
     lambda w: w.m.refund(w.oid, by=VENDOR, shipping=eur("3.01")), RefundExceedsPaidError),
    ("refund: negative shipping",
     lambda w: w.m.refund(w.oid, by=VENDOR, shipping=eur("-3.00")), InvalidMoneyError),
    ("refund: more units than bought",
     lambda w: w.m.refund(w.oid, by=VENDOR, items={w.l0: 3}), RefundExceedsPaidError),
    ("refund: zero units", lambda w: w.m.refund(w.oid, by=VENDOR, items={w.l0: 0}),
     InvalidInputError),
    ("refund: unknown line", lambda w: w.m.refund(w.oid, by=VENDOR, items={"l-nope": 1}),
     NotFoundError),
    # reads and sweeps (R34)
    ("get: unknown order", lambda w: w.m.get_order("o-nope", by=STAFF), NotFoundError),
    ("run_due: naive now", lambda w: w.m.run_due(dt.datetime(2026, 3, 9)), NaiveDatetimeError),
    ("deliver: naive now", lambda w: w.m.deliver_notifications(now=dt.datetime(2026, 3, 9)),
     NaiveDatetimeError),
]
# fmt: on


@pytest.mark.parametrize(("name", "call", "error"), CASES, ids=[c[0] for c in CASES])
def test_r2_bad_input_is_refused_and_changes_nothing(
    world: World,
    snapshot: Callable[[str], Snapshot],
    name: str,
    call: Callable[[World], object],
    error: type[AsoloraError],
) -> None:
    """R2: the documented error class (exactly) and its code, and nothing changed."""
    before = snapshot(world.oid)
    with pytest.raises(AsoloraError) as info:
        call(world)
    assert type(info.value) is error, f"{name}: {info.value!r}"
    assert info.value.code == error.code
    assert str(info.value)
    assert snapshot(world.oid) == before


def test_r35_reused_key_with_different_amount_names_the_field(
    world: World, snapshot: Callable[[str], Snapshot]
) -> None:
    """R35: a key reused with another amount is refused naming ``amount``."""
    w = world
    w.m.refund(w.oid, by=VENDOR, amount=eur("1.00"), idempotency_key="r1")
    before = snapshot(w.oid)
    with pytest.raises(IdempotencyKeyReusedError) as info:
        w.m.refund(w.oid, by=VENDOR, amount=eur("2.00"), idempotency_key="r1")
    assert info.value.fields["field"] == "amount"
    assert snapshot(w.oid) == before


class NaiveClock:
    """A broken clock plug-in that returns naive datetimes."""

    def now(self) -> dt.datetime:
        return dt.datetime(2026, 3, 2, 9, 0)


def test_r34_a_clock_giving_naive_datetimes_is_refused(
    store: Store, world: World, snapshot: Callable[[str], Snapshot]
) -> None:
    """R34: a naive instant from a clock plug-in is refused before anything is written."""
    broken = Marketplace(store, clock=NaiveClock(), ids=SequentialIds(100))
    before = snapshot(world.oid)
    with pytest.raises(NaiveDatetimeError):
        broken.ship(world.oid, by=VENDOR, items={world.l1: 1}, carrier="DHL", tracking_number="T-9")
    assert snapshot(world.oid) == before


@pytest.mark.parametrize(
    "value",
    [dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2, 9, 30, 1)],
)
def test_r34_naive_datetimes_are_refused_by_utc_and_fake_clock(value: dt.datetime) -> None:
    """R34: utc() and FakeClock refuse naive datetimes with the naive_datetime code."""
    for build in (utc, FakeClock):
        with pytest.raises(NaiveDatetimeError) as info:
            build(value)
        assert info.value.code == "naive_datetime"


def test_bad_input_fixture_world_is_as_described(world: World) -> None:
    """The world the table runs against is the one its docstring describes."""
    o = world.m.get_order(world.oid, by=STAFF)
    assert [(s.shipment_id, s.carrier, s.tracking_number) for s in o.shipments] == [
        (world.s1, "DHL", "T-1"),
        (world.s2, "UPS", "T-2"),
    ]
    assert o.unshipped() == {world.l0: 0, world.l1: 1}
    assert [i.pending_offer is not None for i in o.issues] == [False, True]
    assert o.paid_minor == 2800
