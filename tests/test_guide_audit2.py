"""A second audit of the vendor guide: the paths off the happy one, driven through the
documented public API on every store, every figure worked out by hand in a comment.

The first audit (``test_guide_audit.py``) covers window edges, rounding, splits, refunds
before and after release, offsets, payout minimum and report days. This one covers what it
does not: issues and their mediation on part of an order, partial shipments and partial
confirmation, cancellations around refunds and issues, freezes over partial refunds,
chargebacks racing refunds, a vendor paid in another currency with rates that move, the
contact policy in the chat, exactly who is told what (once), the reports after refunds and
chargebacks, and the staff powers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    ContactDetailsRefusedError,
    ContactPolicy,
    DisputeWindowClosedError,
    FakeClock,
    FeeSchedule,
    FixedRateProvider,
    Granularity,
    HoldState,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    IssueKind,
    IssueOpenError,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    NotificationKind,
    NotPermittedError,
    Order,
    OrderStatus,
    ReasonRequiredError,
    RecordingNotifier,
    RefundExceedsPaidError,
    Resolution,
)
from asolora_core.orders.model import IssueOutcome, IssueStatus
from conftest import START, MarketFactory

STAFF, ADA, ANNA = Actor.staff("s-1"), Actor.buyer("ada"), Actor.vendor("anna")
DESK = Actor.staff("desk")
MARCH_1, MARCH_31 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def _market(
    make_market: MarketFactory,
    clock: FakeClock,
    *,
    fees: FeeSchedule | None = None,
    rates: dict[tuple[str, str], str] | None = None,
    **config: object,
) -> tuple[Marketplace, FixedRateProvider]:
    provider = FixedRateProvider(rates or {}, as_of=clock.now())
    money = MoneyConfig(fees=fees or FeeSchedule(), rates=provider)
    config.setdefault("auto_confirm_after", None)
    return make_market(MarketplaceConfig(money=money, **config)), provider  # type: ignore[arg-type]


def _two_lines(market: Marketplace, *, paid: str = "50.00") -> Order:
    """Anna's order for Ada: 3 mugs at 10.00 (line 0) and 2 teas at 10.00 (line 1)."""
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        paid=Money(paid, "EUR"),
        items=[
            Item(vendor_id="anna", product_id="mug", quantity=3, unit_price=Money("10.00", "EUR")),
            Item(vendor_id="anna", product_id="tea", quantity=2, unit_price=Money("10.00", "EUR")),
        ],
    )
    return order


def _one_line(market: Marketplace, paid: str, currency: str = "EUR") -> Order:
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        paid=Money(paid, currency),
        items=[
            Item(vendor_id="anna", product_id="vase", quantity=1, unit_price=Money(paid, currency))
        ],
    )
    return order


def _ship(market: Marketplace, order: Order, items: dict[str, int], tracking: str) -> str:
    shipped = market.ship(
        order.order_id, by=ANNA, items=items, carrier="DHL", tracking_number=tracking
    )
    return shipped.shipments[-1].shipment_id


def _sell(market: Marketplace, paid: str, currency: str = "EUR") -> Order:
    """Placed, shipped, delivered and confirmed now: completed (R9)."""
    order = _one_line(market, paid, currency)
    shipment = _ship(market, order, {order.lines[0].line_id: 1}, f"T-{order.order_id}")
    market.mark_delivered(order.order_id, shipment, by=ANNA)
    done = market.confirm_receipt(order.order_id, shipment, by=ADA)
    assert done.status is OrderStatus.COMPLETED
    return done


def _told(notifier: RecordingNotifier, market: Marketplace) -> list[tuple[str, Actor]]:
    """What the notifier receives from now on: (kind, recipient), in order."""
    notifier.sent.clear()
    market.deliver_notifications()
    return [(note.kind, note.recipient) for _, note in notifier.sent]


# --- issues, partial shipments and partial confirmation (R9, R12-R14) ----------------------


def test_r9_r12_r14_an_issue_on_one_line_blocks_only_the_parcel_carrying_it(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R14: two parcels, an issue on the teas (parcel 2). Ada may still confirm the mugs
    (parcel 1); the teas' parcel is refused until the issue closes. Once the mugs are
    confirmed, an issue naming them is refused; after the withdrawal the last confirmation
    completes the order at that moment (R9) and the release is due 168 hours later (R15)."""
    market, _ = _market(make_market, clock)
    order = _two_lines(market)
    mugs, teas = (line.line_id for line in order.lines)
    oid = order.order_id
    parcel_1 = _ship(market, order, {mugs: 3}, "P1")
    parcel_2 = _ship(market, order, {teas: 2}, "P2")
    market.mark_delivered(oid, parcel_1, by=ANNA)
    market.mark_delivered(oid, parcel_2, by=ANNA)
    reported = market.report_issue(
        oid, by=ADA, kind=IssueKind.DAMAGED, description="a tea tin is dented", line_ids=[teas]
    )
    issue = reported.issues[-1].issue_id

    clock.advance(hours=1)
    partly = market.confirm_receipt(oid, parcel_1, by=ADA)  # the mugs: not under the issue
    assert (partly.status, partly.fulfilment.state) == (
        OrderStatus.PROCESSING,
        "partially_confirmed",
    )
    with pytest.raises(IssueOpenError) as blocked:
        market.confirm_receipt(oid, parcel_2, by=ADA)
    assert blocked.value.code == "issue_open"
    assert issue in str(blocked.value)
    with pytest.raises(DisputeWindowClosedError):  # the mugs' window closed at 10:00
        market.report_issue(
            oid, by=ADA, kind=IssueKind.DAMAGED, description="a mug too", line_ids=[mugs]
        )
    with pytest.raises(NotPermittedError):  # only the buyer withdraws its issue (R1)
        market.withdraw_issue(oid, issue, by=ANNA)

    clock.advance(hours=1)
    market.withdraw_issue(oid, issue, by=ADA)
    clock.advance(hours=1)
    done = market.confirm_receipt(oid, parcel_2, by=ADA)
    at = START + dt.timedelta(hours=3)
    assert (done.status, done.completed_at) == (OrderStatus.COMPLETED, at)
    assert [(i.status, i.outcome) for i in done.issues] == [
        (IssueStatus.CLOSED, IssueOutcome.WITHDRAWN)
    ]
    assert market.get_hold(oid, by=STAFF).release_at == at + dt.timedelta(hours=168)


def test_r13_r21_a_mediated_refund_on_one_line_recomputes_the_commission_and_completes(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R13, R20, R21, R38: commission 10 %. Ada reports the teas missing (20.00 of 50.00);
    Anna offers 5.00, Ada declines, so the issue stays open; staff mediate a refund of the
    teas' 20.00, which may not exceed what is left. Figures:
    net 50.00 - 20.00 = 30.00, commission 10 % = 3.00, held 30.00 - 3.00 = 27.00."""
    fees = FeeSchedule(commission_bp=1000)
    market, _ = _market(make_market, clock, fees=fees)
    order = _two_lines(market)
    mugs, teas = (line.line_id for line in order.lines)
    oid = order.order_id
    parcel = _ship(market, order, {mugs: 3, teas: 2}, "P1")
    market.mark_delivered(oid, parcel, by=ANNA)
    issue = market.report_issue(
        oid, by=ADA, kind=IssueKind.MISSING_ITEMS, description="no tea", line_ids=[teas]
    ).issues[-1]
    assert issue.first_response_at is None

    clock.advance(hours=2)
    offered = market.offer_settlement(
        oid, issue.issue_id, by=ANNA, resolution=Resolution.REFUND, amount=Money("5.00", "EUR")
    )
    # an offer is the vendor's first response (R12): two hours after the report
    assert offered.issues[-1].first_response_at == START + dt.timedelta(hours=2)
    declined = market.answer_settlement(oid, issue.issue_id, by=ADA, accept=False)
    assert declined.issues[-1].status is IssueStatus.OPEN
    assert declined.refunded_minor == 0

    with pytest.raises(NotPermittedError):  # only staff mediate (R1)
        market.mediate_issue(
            oid, issue.issue_id, by=ANNA, outcome=IssueOutcome.MEDIATED_REFUND,
            refund=Money("20.00", "EUR"),
        )  # fmt: skip
    with pytest.raises(RefundExceedsPaidError):  # 50.01 > 50.00 paid
        market.mediate_issue(
            oid, issue.issue_id, by=STAFF, outcome=IssueOutcome.MEDIATED_REFUND,
            refund=Money("50.01", "EUR"),
        )  # fmt: skip
    mediated = market.mediate_issue(
        oid,
        issue.issue_id,
        by=STAFF,
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=Money("20.00", "EUR"),
    )
    assert mediated.refunded_minor == 2000
    assert (mediated.issues[-1].status, mediated.issues[-1].outcome) == (
        IssueStatus.CLOSED,
        IssueOutcome.MEDIATED_REFUND,
    )
    done = market.confirm_receipt(oid, parcel, by=ADA)  # the issue closed: allowed (R14)
    assert done.status is OrderStatus.COMPLETED
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.commission_minor, hold.held_minor) == (300, 2700)


def test_r13_a_mediated_refund_must_name_its_amount_and_other_outcomes_none(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R2, R13: a mediation that decides a refund without an amount, or a rejection with
    one, is refused with a message that says what to pass; nothing changes."""
    market, _ = _market(make_market, clock)
    order = _two_lines(market)
    oid = order.order_id
    issue = market.report_issue(
        oid, by=ADA, kind=IssueKind.NOT_RECEIVED, description="nothing came"
    ).issues[-1]
    before = (market.get_order(oid, by=STAFF), market.outbox(by=STAFF))
    with pytest.raises(InvalidMoneyError) as no_amount:
        market.mediate_issue(oid, issue.issue_id, by=STAFF, outcome=IssueOutcome.MEDIATED_REFUND)
    # it names the argument and what may be given back: all 50.00 (R2)
    assert "refund=Money" in str(no_amount.value)
    assert "50.00" in str(no_amount.value)
    assert no_amount.value.fields["field"] == "refund"
    with pytest.raises(InvalidInputError) as with_amount:
        market.mediate_issue(
            oid, issue.issue_id, by=STAFF, outcome=IssueOutcome.REJECTED,
            refund=Money("1.00", "EUR"),
        )  # fmt: skip
    assert with_amount.value.fields["field"] == "refund"
    assert "REJECTED" in str(with_amount.value)
    assert (market.get_order(oid, by=STAFF), market.outbox(by=STAFF)) == before


# --- cancellations (R11) ------------------------------------------------------------------


def test_r11_r20_cancelling_after_a_partial_refund_gives_back_only_the_rest(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R11, R13, R20: Ada reports the order not received before anything ships; Anna refunds
    3.00 as a gesture; Ada then cancels. The cancellation refunds 50.00 - 3.00 = 47.00 (the
    buyer gets back exactly the 50.00 paid, never 53.00), ends the open issue, and nothing is
    held for Anna. Strangers may not cancel; a second cancel or a refund afterwards is
    refused."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    order = _two_lines(market)
    oid = order.order_id
    market.report_issue(oid, by=ADA, kind=IssueKind.NOT_RECEIVED, description="late")
    market.refund(oid, by=ANNA, amount=Money("3.00", "EUR"), reason="sorry for the wait")
    for stranger in (Actor.vendor("kenji"), Actor.buyer("bob")):
        with pytest.raises(NotPermittedError):
            market.cancel_order(oid, by=stranger)

    cancelled = market.cancel_order(oid, by=ADA)
    assert cancelled.status is OrderStatus.CANCELLED
    assert [r.amount_minor for r in cancelled.refunds] == [300, 4700]
    assert cancelled.refunded_minor == 5000
    assert [(i.status, i.outcome) for i in cancelled.issues] == [
        (IssueStatus.CLOSED, IssueOutcome.ORDER_ENDED)
    ]
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.held_minor) == (HoldState.CANCELLED, 0)
    with pytest.raises(InvalidTransitionError):
        market.cancel_order(oid, by=ADA)
    with pytest.raises(InvalidTransitionError):
        market.refund(oid, by=ANNA, amount=Money("0.01", "EUR"))


def test_r11_once_one_parcel_ships_neither_side_may_cancel_and_nothing_changes(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R2, R11: one mug of five units shipped; the buyer's and the vendor's cancels are both
    refused (refunds are the way), leaving the order, its history and the outbox as they
    were; staff's ``cancel_after_shipping`` refunds everything and says why to both sides."""
    market, _ = _market(make_market, clock)
    order = _two_lines(market)
    oid = order.order_id
    _ship(market, order, {order.lines[0].line_id: 1}, "P1")
    before = (
        market.get_order(oid, by=STAFF),
        market.order_history(oid, by=STAFF),
        market.outbox(by=STAFF),
    )
    for who in (ADA, ANNA):
        with pytest.raises(InvalidTransitionError) as refused:
            market.cancel_order(oid, by=who)
        assert "refund" in str(refused.value)
    after = (
        market.get_order(oid, by=STAFF),
        market.order_history(oid, by=STAFF),
        market.outbox(by=STAFF),
    )
    assert after == before
    _told(notifier, market)
    with pytest.raises(ReasonRequiredError):
        market.cancel_after_shipping(oid, by=STAFF, reason="  ")
    ended = market.cancel_after_shipping(oid, by=STAFF, reason="parcel lost by the carrier")
    assert (ended.status, ended.refunded_minor) == (OrderStatus.CANCELLED, 5000)
    told = _told(notifier, market)
    assert Counter(told)[(NotificationKind.ORDER_STAFF_ACTION, ANNA)] == 1
    assert Counter(told)[(NotificationKind.ORDER_STAFF_ACTION, ADA)] == 1
