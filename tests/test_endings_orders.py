"""Every way an order leaves the happy path (R10, R11, R13, R20, R29, R37, R40): the R40
timers through ``run_due``, the staff powers (each with its mandatory reason, recorded and
notified), returns and exchanges against each line's policy snapshot, and the refusals that
change nothing. Each test runs on the in-memory store and on SQLite (R33)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InvalidInputError,
    IssueKind,
    IssueOutcome,
    IssueStatus,
    Item,
    Marketplace,
    MarketplaceConfig,
    Order,
    OrderStatus,
    ReasonRequiredError,
    RecordingNotifier,
    ReturnKind,
    ReturnNotAllowedError,
    ReturnPolicy,
    ReturnStatus,
    ShipmentStatus,
)
from asolora_core.adapters import sqlite as sqlite_adapter
from conftest import START, MarketFactory, Snapshot
from upgrade_fixture import journal_rows, load_v0_1

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")
DAY = dt.timedelta(days=1)
SnapshotOf = Callable[[str], Snapshot]

TIMERS = MarketplaceConfig(
    remind_vendor_to_ship_after=2 * DAY,
    cancel_unshipped_after=5 * DAY,
    remind_buyer_to_confirm_after=3 * DAY,
    escalate_issue_after=3 * DAY,
    expire_return_after=4 * DAY,
)
MUGS = ReturnPolicy(returns_accepted=True, window_days=14, restocking_fee_bp=1000)
TEA = ReturnPolicy(
    exchanges_accepted=True, window_days=7, condition="unopened", buyer_pays_return_shipping=False
)


def place(market: Marketplace) -> Order:
    """2 mugs at 10.00 (returns: 14 days, 10 % restocking) and 1 tea at 5.00 (exchanges
    only: 7 days, unopened); shipping 3.00; paid 28.00 EUR."""
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada Buyer",
        items=[
            Item(
                vendor_id="v-1",
                product_id="mug",
                quantity=2,
                unit_price=Money("10.00", "EUR"),
                policy=MUGS,
            ),
            Item(
                vendor_id="v-1",
                product_id="tea",
                quantity=1,
                unit_price=Money("5.00", "EUR"),
                policy=TEA,
            ),
        ],
        paid=Money("28.00", "EUR"),
        shipping={"v-1": Money("3.00", "EUR")},
    )
    return order


def ship(market: Marketplace, order: Order, items: dict[str, int] | None = None) -> str:
    shipped = market.ship(
        order.order_id,
        by=VENDOR,
        items=items or {ln.line_id: ln.quantity for ln in order.lines},
        carrier="DHL",
        tracking_number=f"T-{len(order.shipments)}-{len(items or {})}",
    )
    return shipped.shipments[-1].shipment_id


def received(market: Marketplace) -> Order:
    """Placed, shipped whole, delivered and confirmed by the buyer: completed."""
    order = place(market)
    sid = ship(market, order)
    market.mark_delivered(order.order_id, sid, by=VENDOR)
    return market.confirm_receipt(order.order_id, sid, by=BUYER)


def kinds(notifier: RecordingNotifier, market: Marketplace) -> list[tuple[str, str]]:
    market.deliver_notifications()
    return [(n.recipient.key, n.kind) for _, n in notifier.sent]


# --- R40 timers -------------------------------------------------------------------------------


def test_r40_unshipped_order_is_reminded_then_cancelled_with_a_full_refund(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R40, R11: 2 days after placement the vendor is reminded of its 3 unshipped units; 5
    days after, the order is cancelled by the system with a full refund of 28.00."""
    market = make_market(TIMERS)
    order = place(market)
    clock.advance(days=2)
    assert market.run_due().timers == {"remind_vendor_to_ship": 1}
    assert ("vendor:v-1", "order.ship_reminder") in kinds(notifier, market)
    clock.advance(days=3)
    assert market.run_due().timers == {"cancel_unshipped": 1}
    after = market.get_order(order.order_id, by=STAFF)
    assert after.status is OrderStatus.CANCELLED
    assert after.refunded_minor == after.paid_minor == 2800
    assert after.cancelled_at == START + 5 * DAY
    assert ("buyer:b-1", "order.cancelled") in kinds(notifier, market)


def test_r40_partly_shipped_order_has_its_unshipped_rest_refunded_and_completes(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R9, R40: the vendor shipped the mugs only; at 5 days the tea (5.00 of the 28.00,
    its exact share) is refunded and no longer has to ship; once the mugs are confirmed the
    order completes."""
    market = make_market(TIMERS)
    order = place(market)
    mugs, tea = order.lines
    sid = ship(market, order, {mugs.line_id: 2})
    clock.advance(days=5)
    assert market.run_due().timers == {"remind_vendor_to_ship": 1, "cancel_unshipped": 1}
    after = market.get_order(order.order_id, by=STAFF)
    assert after.status is OrderStatus.PROCESSING
    assert (after.refunds[-1].amount_minor, after.refunds[-1].items) == (500, ((tea.line_id, 1),))
    assert after.unshipped() == {mugs.line_id: 0, tea.line_id: 0}
    market.mark_delivered(order.order_id, sid, by=VENDOR)
    done = market.confirm_receipt(order.order_id, sid, by=BUYER)
    assert done.status is OrderStatus.COMPLETED


def test_r40_buyer_reminded_to_confirm_then_r10_auto_confirmed(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R10, R40: delivered; 3 days later the buyer is reminded to confirm; 14 days after
    delivery (the default) the system confirms and the order completes."""
    market = make_market(TIMERS)
    order = place(market)
    sid = ship(market, order)
    market.mark_delivered(order.order_id, sid, by=VENDOR)
    clock.advance(days=3)
    assert market.run_due().timers == {"remind_buyer_to_confirm": 1}
    assert ("buyer:b-1", "shipment.confirm_reminder") in kinds(notifier, market)
    clock.advance(days=11)
    assert market.run_due().timers == {"auto_confirm": 1}
    assert market.get_order(order.order_id, by=STAFF).status is OrderStatus.COMPLETED


def test_r40_unanswered_issue_escalates_to_staff_who_resolve_it_for_the_vendor(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R12, R13, R40: the buyer reports "not received" and the vendor never answers; 3 days
    later the issue is escalated (staff desk, vendor and buyer notified). Staff resolve it
    for the vendor with a reason (the carrier's proof): the issue closes REJECTED, the
    shipment is confirmed on the buyer's behalf, and the order completes."""
    market = make_market(TIMERS)
    order = place(market)
    sid = ship(market, order)
    market.mark_delivered(order.order_id, sid, by=VENDOR)
    reported = market.report_issue(
        order.order_id, by=BUYER, kind=IssueKind.NOT_RECEIVED, description="nothing came"
    )
    iid = reported.issues[-1].issue_id
    clock.advance(days=3)
    assert market.run_due().timers == {"escalate_issue": 1, "remind_buyer_to_confirm": 1}
    issue = market.get_order(order.order_id, by=STAFF).issue(iid)
    assert issue is not None
    assert issue.escalated_at == START + 3 * DAY
    sent = kinds(notifier, market)
    assert ("staff:desk", "issue.escalated") in sent
    assert ("vendor:v-1", "issue.escalated") in sent

    done = market.resolve_for_vendor(
        order.order_id, iid, by=STAFF, reason="carrier photo of the parcel at the door"
    )
    assert done.status is OrderStatus.COMPLETED
    closed = done.issue(iid)
    assert closed is not None
    assert (closed.status, closed.outcome) == (IssueStatus.CLOSED, IssueOutcome.REJECTED)
    assert done.shipments[0].status is ShipmentStatus.CONFIRMED
    staff_events = [
        e for e in market.order_history(order.order_id, by=STAFF) if e.name == "StaffActionTaken"
    ]
    assert [(e.actor, e.reason) for e in staff_events] == [  # type: ignore[attr-defined]
        (STAFF, "carrier photo of the parcel at the door")
    ]
    assert ("buyer:b-1", "order.staff_action") in kinds(notifier, market)


def test_r40_unanswered_return_request_expires(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R37, R40: a return request the vendor does not answer expires after 4 days; its
    units may be asked for again."""
    market = make_market(TIMERS)
    order = received(market)
    mugs = order.lines[0].line_id
    requested = market.request_return(
        order.order_id, by=BUYER, kind=ReturnKind.RETURN, items={mugs: 2}, reason="chipped"
    )
    clock.advance(days=4)
    assert market.run_due().timers == {"expire_return": 1}
    after = market.get_order(order.order_id, by=STAFF)
    assert after.returns[0].status is ReturnStatus.EXPIRED
    again = market.request_return(
        order.order_id, by=BUYER, kind=ReturnKind.RETURN, items={mugs: 2}, reason="chipped"
    )
    assert len(again.returns) == len(requested.returns) + 1


# --- staff powers -------------------------------------------------------------------------------


def test_staff_mark_delivered_on_carrier_proof_and_confirm_for_the_buyer(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R7, R9: staff mark a shipment delivered on the carrier's proof and confirm it on the
    buyer's behalf; each is recorded with its reason and sent to both sides."""
    order = place(market)
    sid = ship(market, order)
    market.mark_delivered(order.order_id, sid, by=STAFF, reason="carrier scan: delivered")
    done = market.confirm_receipt(order.order_id, sid, by=STAFF, reason="buyer said so by phone")
    assert done.status is OrderStatus.COMPLETED
    assert done.shipments[0].confirmed_automatically is False
    texts = [n.text for _, n in notifier.sent] if market.deliver_notifications() else []
    assert any("carrier scan: delivered" in t for t in texts)
    assert any("buyer said so by phone" in t for t in texts)


@pytest.mark.parametrize(
    "power",
    [
        "mark_delivered",
        "confirm_receipt",
        "refund",
        "resolve",
        "cancel_after_shipping",
        "mediate",
    ],
)
def test_a_staff_power_without_a_reason_is_refused_and_changes_nothing(
    market: Marketplace, snapshot: SnapshotOf, power: str
) -> None:
    """R2: every staff power needs a reason; without one (empty or blank) it is refused
    with ``reason_required`` and the order, its history and the outbox are unchanged."""
    order = place(market)
    sid = ship(market, order)
    oid = order.order_id
    if power == "confirm_receipt":
        market.mark_delivered(oid, sid, by=VENDOR)
    iid = ""
    if power in ("resolve", "mediate"):
        iid = (
            market.report_issue(oid, by=BUYER, kind=IssueKind.DAMAGED, description="broken")
            .issues[-1]
            .issue_id
        )
    calls: dict[str, Callable[[], object]] = {
        "mark_delivered": lambda: market.mark_delivered(oid, sid, by=STAFF, reason=" "),
        "confirm_receipt": lambda: market.confirm_receipt(oid, sid, by=STAFF),
        "refund": lambda: market.refund(oid, by=STAFF, amount=Money("1.00", "EUR")),
        "resolve": lambda: market.resolve_for_vendor(oid, iid, by=STAFF, reason=""),
        "cancel_after_shipping": lambda: market.cancel_after_shipping(oid, by=STAFF, reason=""),
        "mediate": lambda: market.mediate_issue(
            oid, iid, by=STAFF, outcome=IssueOutcome.MEDIATED_REFUND, refund=Money("1.00", "EUR")
        ),
    }
    before = snapshot(oid)
    with pytest.raises(ReasonRequiredError) as info:
        calls[power]()
    assert info.value.code == "reason_required"
    assert info.value.fields["field"] == "reason"
    assert snapshot(oid) == before


@pytest.mark.parametrize("reason", ["", "  \n"])
def test_r11_r16_a_staff_cancel_needs_a_reason_the_buyer_and_vendor_do_not(
    market: Marketplace, notifier: RecordingNotifier, snapshot: SnapshotOf, reason: str
) -> None:
    """R11, R16, R2: before anything ships, the buyer or the vendor may cancel without
    saying why (R11 asks for no reason); staff cancelling are using a staff power, so an empty
    or blank reason is refused with ``reason_required`` and nothing changes (order, history,
    outbox). With a reason the staff cancel refunds everything, is recorded as
    ``StaffActionTaken`` (action ``cancel``, the reason, the refund) and sent to both
    sides."""
    for by in (BUYER, VENDOR):
        ended = market.cancel_order(place(market).order_id, by=by)
        assert ended.status is OrderStatus.CANCELLED
        assert [e.name for e in market.order_history(ended.order_id, by=STAFF)][-1] != (
            "StaffActionTaken"
        )
    oid = place(market).order_id
    before = snapshot(oid)
    with pytest.raises(ReasonRequiredError) as info:
        market.cancel_order(oid, by=STAFF, reason=reason)
    assert (info.value.code, info.value.fields["field"]) == ("reason_required", "reason")
    assert snapshot(oid) == before
    ended = market.cancel_order(oid, by=STAFF, reason="the buyer's card was stolen")
    assert (ended.status, ended.refunded_minor) == (OrderStatus.CANCELLED, ended.paid_minor)
    staff_events = [e for e in market.order_history(oid, by=STAFF) if e.name == "StaffActionTaken"]
    assert [(e.action, e.reason, e.ref) for e in staff_events] == [  # type: ignore[attr-defined]
        ("cancel", "the buyer's card was stolen", ended.refunds[-1].refund_id)
    ]
    sent = kinds(notifier, market)
    assert ("buyer:b-1", "order.staff_action") in sent
    assert ("vendor:v-1", "order.staff_action") in sent


def test_r13_a_mediation_is_recorded_with_its_reason_and_sent_to_both_sides(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R13, R1: staff mediate an issue to a refund of 5.00 EUR, saying why; the order's
    history carries ``StaffActionTaken`` (action ``mediate_issue``, the reason, the issue),
    after the issue's closing and the refund, and both sides are told the reason."""
    order = place(market)
    ship(market, order)
    oid = order.order_id
    iid = (
        market.report_issue(oid, by=BUYER, kind=IssueKind.DAMAGED, description="cracked")
        .issues[-1]
        .issue_id
    )
    done = market.mediate_issue(
        oid,
        iid,
        by=STAFF,
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=Money("5.00", "EUR"),
        reason="the photos show the crack",
    )
    assert (done.issues[-1].outcome, done.refunds[-1].amount_minor) == (
        IssueOutcome.MEDIATED_REFUND,
        500,
    )
    history = market.order_history(oid, by=STAFF)
    assert [e.name for e in history][-3:] == ["IssueClosed", "RefundIssued", "StaffActionTaken"]
    last = history[-1]
    assert (last.action, last.reason, last.ref) == (  # type: ignore[attr-defined]
        "mediate_issue",
        "the photos show the crack",
        iid,
    )
    sent = kinds(notifier, market)
    assert ("buyer:b-1", "order.staff_action") in sent
    assert ("vendor:v-1", "order.staff_action") in sent
    assert any("the photos show the crack" in n.text for _, n in notifier.sent)


def test_staff_cancel_after_shipping_refunds_everything_and_ends_the_order(
    market: Marketplace,
) -> None:
    """R20: staff cancel a shipped order (lost by the carrier): the 28.00 still refundable
    goes back to the buyer, the open issue closes, the hold is cancelled."""
    order = place(market)
    ship(market, order)
    market.report_issue(order.order_id, by=BUYER, kind=IssueKind.NOT_RECEIVED, description="lost")
    ended = market.cancel_after_shipping(order.order_id, by=STAFF, reason="lost by DHL")
    assert ended.status is OrderStatus.CANCELLED
    assert ended.refunded_minor == 2800
    assert ended.issues[0].outcome is IssueOutcome.ORDER_ENDED
    assert market.get_hold(order.order_id, by=STAFF).state == "cancelled"


def test_a_fully_refunded_disputed_order_reaches_a_final_state(market: Marketplace) -> None:
    """R13, R20: staff mediate a refund of everything paid (28.00) on a disputed, shipped
    order: the issue closes, and the order is cancelled (nothing owed to the vendor)
    instead of waiting forever for a confirmation nobody will give."""
    order = place(market)
    ship(market, order)
    iid = (
        market.report_issue(
            order.order_id, by=BUYER, kind=IssueKind.NOT_AS_DESCRIBED, description="fake"
        )
        .issues[-1]
        .issue_id
    )
    ended = market.mediate_issue(
        order.order_id,
        iid,
        by=STAFF,
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=Money("28.00", "EUR"),
        reason="counterfeit, as the buyer showed",
    )
    assert ended.status is OrderStatus.CANCELLED
    assert ended.refundable_minor == 0


def test_staff_refund_outside_an_issue_is_recorded_with_its_reason(market: Marketplace) -> None:
    """R20: staff refund 3.00 of shipping outside any issue; the reason is on the refund."""
    order = received(market)
    after = market.refund(
        order.order_id, by=STAFF, shipping=Money("3.00", "EUR"), reason="late delivery"
    )
    assert (after.refunds[-1].amount_minor, after.refunds[-1].reason) == (300, "late delivery")
    assert after.status is OrderStatus.COMPLETED


# --- R37 returns and exchanges -----------------------------------------------------------------


def test_r37_exchange_walks_every_step(market: Marketplace, notifier: RecordingNotifier) -> None:
    """R37: the buyer asks to exchange the tea (unopened); the vendor accepts; the buyer
    ships it back (the vendor pays that shipping under this policy); the vendor receives it
    and ships the replacement. Every step is in the history and notified."""
    order = received(market)
    tea = order.lines[1].line_id
    oid = order.order_id
    rid = (
        market.request_return(
            oid,
            by=BUYER,
            kind=ReturnKind.EXCHANGE,
            items={tea: 1},
            reason="wrong flavour",
            condition="unopened, in its box",
        )
        .returns[-1]
        .return_id
    )
    market.accept_return(oid, rid, by=VENDOR, message="send it back with our label")
    market.ship_return(oid, rid, by=BUYER, carrier="DHL", tracking_number="R-9")
    market.receive_return(oid, rid, by=VENDOR)
    done = market.ship_exchange(oid, rid, by=VENDOR, carrier="UPS", tracking_number="X-1")
    request = done.return_request(rid)
    assert request is not None
    assert request.status is ReturnStatus.EXCHANGED
    assert request.buyer_pays_return_shipping is False
    assert (request.replacement_carrier, request.replacement_tracking_number) == ("UPS", "X-1")
    assert done.refunds == ()  # an exchange gives no money back
    names = [e.name for e in market.order_history(oid, by=STAFF)]
    for name in (
        "ReturnRequested",
        "ReturnAnswered",
        "ReturnShippedBack",
        "ReturnReceived",
        "ExchangeShipped",
    ):
        assert name in names
    sent = kinds(notifier, market)
    assert ("vendor:v-1", "return.requested") in sent
    assert ("buyer:b-1", "return.exchange_shipped") in sent


def test_r37_return_refunds_less_the_restocking_fee(market: Marketplace) -> None:
    """R37, R20: one mug returned: its share 10.00, restocking fee 10 % = 1.00, refunded
    9.00; the mug line counts one refunded unit."""
    order = received(market)
    mugs = order.lines[0].line_id
    oid = order.order_id
    rid = (
        market.request_return(
            oid, by=BUYER, kind=ReturnKind.RETURN, items={mugs: 1}, reason="chipped"
        )
        .returns[-1]
        .return_id
    )
    market.accept_return(oid, rid, by=VENDOR)
    market.ship_return(oid, rid, by=BUYER, carrier="DHL", tracking_number="R-1")
    market.receive_return(oid, rid, by=VENDOR)
    done = market.refund_return(oid, rid, by=VENDOR)
    assert (done.refunds[-1].amount_minor, done.lines[0].refunded_quantity) == (900, 1)
    request = done.return_request(rid)
    assert request is not None
    assert (request.refund_minor, request.restocking_fee_minor) == (900, 100)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("outside_window", "window_closed"),
        ("more_than_delivered", "too_many_units"),
        ("policy_refuses", "returns_not_accepted"),
        ("not_confirmed", "not_confirmed"),
    ],
)
def test_r37_requests_outside_the_policy_are_refused_and_change_nothing(
    market: Marketplace, clock: FakeClock, snapshot: SnapshotOf, case: str, reason: str
) -> None:
    """R2, R19, R37: a return 15 days after confirmation (the window is 14), of 3 mugs when
    2 were delivered, of the tea (its policy takes exchanges only), or of units not yet
    confirmed: refused with ``return_not_allowed`` naming the rule; nothing changed."""
    if case == "not_confirmed":
        order = place(market)
        ship(market, order)
    else:
        order = received(market)
    mugs, tea = (ln.line_id for ln in order.lines)
    items = {"more_than_delivered": {mugs: 3}, "policy_refuses": {tea: 1}}.get(case, {mugs: 1})
    if case == "outside_window":
        clock.advance(days=14, seconds=1)
    before = snapshot(order.order_id)
    with pytest.raises(ReturnNotAllowedError) as info:
        market.request_return(
            order.order_id, by=BUYER, kind=ReturnKind.RETURN, items=items, reason="no"
        )
    assert info.value.code == "return_not_allowed"
    assert info.value.fields["reason"] == reason
    assert snapshot(order.order_id) == before


def test_r37_a_policy_condition_needs_the_buyers_description(market: Marketplace) -> None:
    """R19, R37: the tea's policy asks for unopened items: a request that does not describe
    the condition is refused as bad input."""
    order = received(market)
    with pytest.raises(InvalidInputError, match="unopened"):
        market.request_return(
            order.order_id,
            by=BUYER,
            kind=ReturnKind.EXCHANGE,
            items={order.lines[1].line_id: 1},
            reason="wrong flavour",
        )


# --- R29 receipt, schema ----------------------------------------------------------------------


def test_r29_buyer_gets_a_receipt_on_placement_unless_switched_off(
    make_market: MarketFactory, notifier: RecordingNotifier
) -> None:
    """R29: the buyer's order receipt, with the amount paid; ``order_receipts=False`` leaves
    receipts to the host."""
    market = make_market()
    order = place(market)
    market.deliver_notifications()
    receipt = [n for _, n in notifier.sent if n.kind == "order.receipt"]
    assert [(n.recipient, n.text) for n in receipt] == [
        (BUYER, f"Thank you for your order {order.order_id}: 28.00 EUR paid. This is your receipt.")
    ]
    quiet = make_market(MarketplaceConfig(order_receipts=False))
    place(quiet)
    quiet.deliver_notifications()
    assert [n.kind for _, n in notifier.sent].count("order.receipt") == 1


def test_sqlite_upgrade_from_0_1_keeps_an_existing_journal(
    tmp_path: Path, clock: FakeClock
) -> None:
    """R24, R42: a database written by release 0.1 (schema 3, with a released, refunded and
    paid-out order) migrates to the current schema: every journal row and hash is kept, the
    chain verifies once the pre-seal holds are sealed, and the new kinds post."""
    from asolora_core import SequentialIds, SqliteStore

    path = load_v0_1(tmp_path / "old.db")
    before = journal_rows(path)
    store = SqliteStore(path)
    assert store.schema_version() == len(sqlite_adapter.MIGRATIONS)
    assert journal_rows(path)[: len(before)] == before
    market = Marketplace(store, clock=clock, ids=SequentialIds(start=100))
    market.seal_ledger(by=STAFF)
    assert market.verify_journal(by=STAFF).ok
    market.adjust_balance("v-1", amount=Money("1.00", "GBP"), reason="goodwill", by=STAFF)
    assert market.verify_journal(by=STAFF).ok
    assert market.balance("v-1", by=STAFF).balance == Money("1.00", "GBP")
    store.close()


# --- R37 property: the return's money ---------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(min_value=1, max_value=100_000),
    quantity=st.integers(min_value=1, max_value=6),
    discount=st.integers(min_value=0, max_value=99),
    fee_bp=st.integers(min_value=0, max_value=10_000),
    data=st.data(),
)
def test_r37_r25_a_return_refund_plus_its_fee_is_exactly_the_units_share(
    price: int, quantity: int, discount: int, fee_bp: int, data: st.DataObject
) -> None:
    """R25, R37: on the pure core, for any price, discount and restocking fee, a return's
    refund plus its fee is exactly the units' share of what was paid (no minor unit lost or
    invented), the fee is the policy's share rounded once, and returning every unit in turn
    never refunds more than the line's paid amount."""
    from asolora_core.money import percent_bp
    from asolora_core.orders import commands as core
    from asolora_core.orders import returns as rcore

    now = START
    policy = ReturnPolicy(returns_accepted=True, window_days=30, restocking_fee_bp=fee_bp)
    gross = price * quantity
    paid = gross - gross * discount // 100
    ((order, _),) = core.place_checkout(
        checkout_id="c",
        buyer=BUYER,
        customer_name="Ada",
        currency="EUR",
        items=[
            core.CheckoutItem(
                vendor_id="v-1",
                product_id="p",
                title="p",
                quantity=quantity,
                unit_price_minor=price,
                policy=policy,
            )
        ],
        shipping_minor={},
        paid_minor=paid,
        order_ids={"v-1": "o"},
        line_ids=["l"],
        now=now,
    )
    order, _ = core.ship(
        order,
        shipment_id="s",
        items={"l": quantity},
        carrier="c",
        tracking_number="t",
        by=VENDOR,
        now=now,
    )
    order, _ = core.mark_delivered(order, "s", by=VENDOR, now=now)
    order, _ = core.confirm_receipt(order, "s", by=BUYER, now=now)
    refunded = 0
    left = quantity
    n = 0
    while left:
        units = data.draw(st.integers(min_value=1, max_value=left))
        share = core.unit_share(order.lines[0], order.lines[0].refunded_quantity, units)
        rid = f"ret-{n}"
        order, _ = rcore.request_return(
            order,
            return_id=rid,
            kind=ReturnKind.RETURN,
            items={"l": units},
            reason="r",
            by=BUYER,
            now=now,
        )
        order, _ = rcore.accept_return(order, rid, by=VENDOR, now=now)
        order, _ = rcore.ship_return(
            order, rid, carrier="c", tracking_number="r", by=BUYER, now=now
        )
        order, _ = rcore.receive_return(order, rid, by=VENDOR, now=now)
        order, _ = rcore.refund_return(order, rid, refund_id=f"r-{n}", by=VENDOR, now=now)
        request = order.return_request(rid)
        assert request is not None
        assert request.refund_minor + request.restocking_fee_minor == share
        assert request.restocking_fee_minor == percent_bp(share, fee_bp)
        refunded += request.refund_minor
        left -= units
        n += 1
    assert order.refunded_minor == refunded <= paid
    assert order.lines[0].refunded_quantity == quantity


def test_r35_a_staff_power_replayed_with_its_key_changes_nothing_more(
    market: Marketplace, snapshot: SnapshotOf
) -> None:
    """R35: cancel_after_shipping retried with the same key returns the first result and
    refunds nothing twice; the same key with another reason is refused, naming it."""
    from asolora_core import IdempotencyKeyReusedError

    order = place(market)
    ship(market, order)
    first = market.cancel_after_shipping(
        order.order_id, by=STAFF, reason="lost", idempotency_key="k-1"
    )
    after = snapshot(order.order_id)
    again = market.cancel_after_shipping(
        order.order_id, by=STAFF, reason="lost", idempotency_key="k-1"
    )
    assert again == first
    assert snapshot(order.order_id) == after
    with pytest.raises(IdempotencyKeyReusedError) as info:
        market.cancel_after_shipping(
            order.order_id, by=STAFF, reason="stolen", idempotency_key="k-1"
        )
    assert info.value.fields["field"] == "reason"
