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
from decimal import Decimal

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
    Notification,
    NotificationKind,
    NotPermittedError,
    Order,
    OrderStatus,
    ReasonRequiredError,
    RecordingNotifier,
    RefundExceedsPaidError,
    Resolution,
    ReturnKind,
    ReturnNotAllowedError,
    ReturnPolicy,
)
from asolora_core.events import StaffActionTaken
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


def _notes(notifier: RecordingNotifier, market: Marketplace) -> list[Notification]:
    """What one delivery run sends now, in order."""
    notifier.sent.clear()
    market.deliver_notifications()
    return [note for _, note in notifier.sent]


def _told(notifier: RecordingNotifier, market: Marketplace) -> list[tuple[str, Actor]]:
    """What one delivery run sends now: (kind, recipient), in order."""
    return [(note.kind, note.recipient) for note in _notes(notifier, market)]


# --- shipping in parts, tracking kept in order (R5, R6) -------------------------------------


def test_r5_r6_parcels_carry_what_is_left_and_every_tracking_change_is_kept_and_told(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R2, R4, R5, R6, R29: 3 mugs and 2 teas. Parcel 1 carries 2 mugs; a second parcel
    asking for 2 more mugs (only 1 is left) is refused and changes nothing; parcel 2 carries
    the last mug and both teas. Parcel 1's tracking changes three times (a note at 10:00, a
    corrected number at 11:00, another carrier at 12:00): kept in that order with their
    times, the buyer told each once; repeating the last event, or any change after
    delivery, is refused."""
    market, _ = _market(make_market, clock)
    order = _two_lines(market)
    mugs, teas = (line.line_id for line in order.lines)
    oid = order.order_id
    parcel_1 = _ship(market, order, {mugs: 2}, "P1")
    assert market.get_order(oid, by=ADA).fulfilment.state == "partially_shipped"
    before = (market.get_order(oid, by=STAFF), market.outbox(by=STAFF))
    with pytest.raises(InvalidInputError):
        _ship(market, order, {mugs: 2}, "P2")  # 3 - 2 = 1 mug left
    assert (market.get_order(oid, by=STAFF), market.outbox(by=STAFF)) == before
    _ship(market, order, {mugs: 1, teas: 2}, "P2")
    assert market.get_order(oid, by=ADA).fulfilment.state == "shipped"
    _notes(notifier, market)

    clock.advance(hours=1)
    market.update_tracking(oid, parcel_1, by=ANNA, note="left the depot")
    clock.advance(hours=1)
    market.update_tracking(oid, parcel_1, by=ANNA, tracking_number="P1-B", note="relabelled")
    clock.advance(hours=1)
    market.update_tracking(oid, parcel_1, by=ANNA, carrier="UPS", note="handed to UPS")
    with pytest.raises(InvalidInputError):
        market.update_tracking(oid, parcel_1, by=ANNA, carrier="UPS", note="handed to UPS")
    shipment = market.get_order(oid, by=ADA).shipments[0]
    assert [(e.at - START, e.carrier, e.tracking_number, e.note) for e in shipment.tracking] == [
        (dt.timedelta(0), "DHL", "P1", ""),
        (dt.timedelta(hours=1), "DHL", "P1", "left the depot"),
        (dt.timedelta(hours=2), "DHL", "P1-B", "relabelled"),
        (dt.timedelta(hours=3), "UPS", "P1-B", "handed to UPS"),
    ]
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "P1-B")
    assert _told(notifier, market) == [(NotificationKind.SHIPMENT_TRACKING_UPDATED, ADA)] * 3
    market.mark_delivered(oid, parcel_1, by=ANNA)
    with pytest.raises(InvalidTransitionError):
        market.update_tracking(oid, parcel_1, by=ANNA, note="delivered to a neighbour")
    assert market.get_order(oid, by=ADA).status is OrderStatus.PROCESSING  # R4


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
            oid, issue.issue_id, by=STAFF, reason="evidence",
            outcome=IssueOutcome.MEDIATED_REFUND,
            refund=Money("50.01", "EUR"),
        )  # fmt: skip
    mediated = market.mediate_issue(
        oid,
        issue.issue_id,
        by=STAFF,
        reason="the evidence supports it",
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
        market.mediate_issue(
            oid,
            issue.issue_id,
            by=STAFF,
            reason="the evidence supports it",
            outcome=IssueOutcome.MEDIATED_REFUND,
        )
    # it names the argument and what may be given back: all 50.00 (R2)
    assert "refund=Money" in str(no_amount.value)
    assert "50.00" in str(no_amount.value)
    assert no_amount.value.fields["field"] == "refund"
    with pytest.raises(InvalidInputError) as with_amount:
        market.mediate_issue(
            oid, issue.issue_id, by=STAFF, reason="evidence",
            outcome=IssueOutcome.REJECTED,
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


# --- the payout hold with freezes (R9, R15, R16, R21) ---------------------------------------


def test_r16_r21_a_freeze_before_completion_survives_a_unit_refund_that_completes_the_order(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R9, R16, R21: commission 10 %. Staff freeze the release while the order is still
    processing. Two mugs and both teas ship and are confirmed; Anna refunds the third mug,
    never shipped (10.00), which leaves nothing to ship: the order completes at that moment.
    Net 50.00 - 10.00 = 40.00, commission 4.00, held 36.00, due 168 hours later. Sweeps at
    and after the due time leave it frozen (staff cannot release it either) until the freeze
    is lifted; the next sweep then credits 36.00."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    order = _two_lines(market)
    mugs, teas = (line.line_id for line in order.lines)
    oid = order.order_id
    market.freeze_release(oid, by=STAFF, reason="the card issuer asked about this payment")
    parcel = _ship(market, order, {mugs: 2, teas: 2}, "P1")
    market.mark_delivered(oid, parcel, by=ANNA)
    partly = market.confirm_receipt(oid, parcel, by=ADA)
    assert (partly.status, partly.fulfilment.state) == (
        OrderStatus.PROCESSING,
        "partially_shipped",
    )
    clock.advance(hours=2)
    done = market.refund(oid, by=ANNA, items={mugs: 1}, reason="out of stock")
    completed_at = START + dt.timedelta(hours=2)
    assert (done.status, done.completed_at, done.refunded_minor) == (
        OrderStatus.COMPLETED,
        completed_at,
        1000,
    )
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.commission_minor, hold.held_minor) == (HoldState.FROZEN, 400, 3600)
    assert hold.release_at == completed_at + dt.timedelta(hours=168)

    clock.set(hold.release_at)
    market.run_due()
    clock.advance(days=3)
    market.run_due()
    assert market.get_hold(oid, by=STAFF).state is HoldState.FROZEN
    with pytest.raises(InvalidTransitionError):
        market.release(oid, by=STAFF)
    assert market.balance("anna", by=STAFF).balance == Money("0.00", "EUR")
    with pytest.raises(NotPermittedError):
        market.lift_freeze(oid, by=ANNA, reason="please")
    market.lift_freeze(oid, by=STAFF, reason="the issuer confirmed the payment")
    market.run_due()
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.released_at) == (HoldState.RELEASED, clock.now())
    assert market.balance("anna", by=STAFF).balance == Money("36.00", "EUR")


# --- chargebacks racing refunds (R20, R22, R39) ---------------------------------------------


def test_r39_r20_a_chargeback_after_release_caps_later_refunds_and_a_win_reopens_them(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R20, R22, R39: commission 10 %, paid 100.00. Completed: commission 10.00, released
    90.00. Chargeback of 60.00 with a 15.00 provider fee: net 40.00, commission 4.00, so
    6.00 comes back; debit 60.00 - 6.00 + 15.00 = 69.00, balance 21.00. A refund of 50.00
    would give the buyer 110.00: refused, 40.00 at most. Refund 40.00: net 0, commission 0,
    4.00 back; debit 36.00, balance -15.00. The dispute is won: 60.00 comes back less the
    commission the restored net of 60.00 carries (6.00): +54.00, balance 39.00 (the
    provider keeps its fee). 60.00 may be refunded again: the buyer never gets more than the
    100.00 it paid."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    order = _sell(market, "100.00")
    oid = order.order_id
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("anna", by=STAFF).balance == Money("90.00", "EUR")

    market.report_chargeback(
        oid, amount=Money("60.00", "EUR"), fee=Money("15.00", "EUR"), by=STAFF, reference="dp-1"
    )
    assert market.balance("anna", by=STAFF).balance == Money("21.00", "EUR")
    with pytest.raises(RefundExceedsPaidError) as capped:
        market.refund(oid, by=ANNA, amount=Money("50.00", "EUR"))
    assert "40.00" in str(capped.value)
    market.refund(oid, by=ANNA, amount=Money("40.00", "EUR"))
    assert market.balance("anna", by=STAFF).balance == Money("-15.00", "EUR")
    # a repeated report of the same dispute changes nothing
    market.report_chargeback(oid, amount=Money("60.00", "EUR"), by=STAFF, reference="dp-1")
    assert market.balance("anna", by=STAFF).balance == Money("-15.00", "EUR")

    market.chargeback_won(oid, reference="dp-1", by=STAFF)
    assert market.balance("anna", by=STAFF).balance == Money("39.00", "EUR")
    with pytest.raises(InvalidTransitionError):
        market.chargeback_won(oid, reference="dp-1", by=STAFF)
    with pytest.raises(RefundExceedsPaidError):
        market.refund(oid, by=ANNA, amount=Money("60.01", "EUR"))
    market.refund(oid, by=ANNA, amount=Money("60.00", "EUR"))
    assert market.get_order(oid, by=STAFF).refunded_minor == 10000


def test_r39_a_full_chargeback_before_release_freezes_and_leaves_nothing_to_refund(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R16, R39: paid 100.00, still processing: the provider charges back all of it with a
    15.00 fee. The hold is frozen and carries 100.00 - 100.00 - 15.00 = -15.00 (the fee the
    vendor owes); a refund would pay the buyer twice and is refused. A cancellation (R11)
    refunds only what is still refundable, 100.00 - 100.00 = nothing, so the order ends
    cancelled with no refund, and the -15.00 is settled to the vendor's balance."""
    market, _ = _market(make_market, clock)
    order = _one_line(market, "100.00")
    oid = order.order_id
    market.report_chargeback(
        oid, amount=Money("100.00", "EUR"), fee=Money("15.00", "EUR"), by=STAFF, reference="d"
    )
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.held_minor) == (HoldState.FROZEN, -1500)
    with pytest.raises(RefundExceedsPaidError):
        market.refund(oid, by=ANNA, amount=Money("0.01", "EUR"))
    assert market.get_order(oid, by=STAFF).refunds == ()
    ended = market.cancel_order(oid, by=ADA)
    assert (ended.status, ended.refunds) == (OrderStatus.CANCELLED, ())
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.held_minor, hold.released_minor) == (HoldState.CANCELLED, 0, -1500)


# --- a vendor paid in another currency, rates that move (R17, R22, R24, R41) ----------------


def test_r17_r22_r24_conversions_use_the_rate_in_force_and_record_its_date(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R17, R22, R24, R41: Anna sells in EUR and is paid in GBP, conversion fee 2 %.
    EUR/GBP is 0.8500 at completion, 0.8600 from +100 h, 0.8700 from one microsecond after
    the due time (+168 h). Release at +168 h: the rate in force is 0.8600 (as of +100 h):
    100.00 x 0.86 = 86.00 GBP, fee 1.72, credited 84.28. A refund of 50.00 at +200 h uses
    0.8700: 43.50 GBP + fee 0.87 = 44.37, balance 39.91. A USD order has no USD/GBP rate:
    it stays held at its due time and goes at the sweep an hour after a rate appears
    (20.00 x 0.80 = 16.00, fee 0.32, credited 15.68; balance 55.59)."""
    market, rates = _market(
        make_market, clock, fees=FeeSchedule(conversion_bp=200), rates={("EUR", "GBP"): "0.85"}
    )
    market.register_vendor("anna", payout_currency="GBP", by=STAFF)
    eur = _sell(market, "100.00")
    usd = _sell(market, "20.00", "USD")
    due = START + dt.timedelta(hours=168)
    rates.set_rate("EUR", "GBP", "0.86", as_of=START + dt.timedelta(hours=100))
    rates.set_rate("EUR", "GBP", "0.87", as_of=due + dt.timedelta(microseconds=1))

    clock.set(due)
    market.run_due()
    assert market.get_hold(eur.order_id, by=STAFF).state is HoldState.RELEASED
    assert market.get_hold(usd.order_id, by=STAFF).state is HoldState.HELD  # no rate yet
    assert market.balance("anna", by=STAFF).balance == Money("84.28", "GBP")
    (release,) = market.statement("anna", by=STAFF).lines
    assert (release.kind, release.rate, release.rate_as_of) == (
        "release",
        Decimal("0.86"),
        START + dt.timedelta(hours=100),
    )
    assert (release.converted_minor, release.conversion_fee_minor, release.amount_minor) == (
        8600,
        172,
        8428,
    )

    clock.set(START + dt.timedelta(hours=200))
    market.refund(eur.order_id, by=ANNA, amount=Money("50.00", "EUR"))
    assert market.balance("anna", by=STAFF).balance == Money("39.91", "GBP")
    refund_line = market.statement("anna", by=STAFF).lines[-1]
    assert (refund_line.rate, refund_line.rate_as_of, refund_line.amount_minor) == (
        Decimal("0.87"),
        due + dt.timedelta(microseconds=1),
        -4437,
    )

    rates.set_rate("USD", "GBP", "0.80", as_of=clock.now())
    market.run_due()  # the retry is an hour after the failed attempt: long past
    assert market.get_hold(usd.order_id, by=STAFF).state is HoldState.RELEASED
    assert market.balance("anna", by=STAFF).balance == Money("55.59", "GBP")
    assert market.get_order(eur.order_id, by=ADA).refunds[0].amount_minor == 5000  # in EUR


# --- reports after refunds and chargebacks (R30-R32, R41) ----------------------------------


def test_r30_r31_r32_r41_reports_and_the_payout_after_a_unit_refund_and_a_chargeback(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R30-R32, R39, R41: commission 10 %. Order A: 2 vases at 50.00, one refunded before
    release: net 50.00, commission 5.00, released 45.00. Order B: 40.00, released
    40.00 - 4.00 = 36.00; then charged back in full with a 15.00 fee: commission back
    4.00, debit 40.00 - 4.00 + 15.00 = 51.00. Balance 45.00 + 36.00 - 51.00 = 30.00.
    Sales (March): 2 orders, 3 units, 1 refunded, gross 140.00, refunds 50.00 (a
    chargeback is not a refund). Earnings: released 81.00, commission 9.00 (as at
    release), processing 15.00 (the provider's fee), chargebacks debited 51.00, closing
    30.00. Bestsellers: the vase, 3 sold - 1 refunded = 2 units. The payout of 30.00
    reconciles line by line."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    (a,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        paid=Money("100.00", "EUR"),
        items=[
            Item(vendor_id="anna", product_id="vase", quantity=2, unit_price=Money("50.00", "EUR"))
        ],
    )
    line = a.lines[0].line_id
    parcel = _ship(market, a, {line: 2}, "PA")
    market.mark_delivered(a.order_id, parcel, by=ANNA)
    market.confirm_receipt(a.order_id, parcel, by=ADA)
    market.refund(a.order_id, by=ANNA, items={line: 1}, reason="one arrived cracked")
    b = _sell(market, "40.00")
    clock.advance(hours=168)
    market.run_due()
    clock.advance(days=1)
    market.report_chargeback(
        b.order_id, amount=Money("40.00", "EUR"), fee=Money("15.00", "EUR"), by=STAFF
    )
    assert market.balance("anna", by=ANNA).balance == Money("30.00", "EUR")

    sales = market.sales_report(
        "anna", by=ANNA, start=MARCH_1, end=MARCH_31, granularity=Granularity.MONTH
    )
    (s,) = sales.totals
    assert (s.orders, s.items, s.refunded_items, s.gross_minor, s.refunds_minor) == (
        2,
        3,
        1,
        14000,
        5000,
    )
    earnings = market.earnings_report(
        "anna", by=ANNA, start=MARCH_1, end=MARCH_31, granularity=Granularity.MONTH
    )
    (period,) = earnings.periods
    (e,) = period.figures
    assert (
        e.released_minor,
        e.commission_minor,
        e.processing_fees_minor,
        e.chargebacks_debited_minor,
        e.refunds_debited_minor,
    ) == (8100, 900, 1500, 5100, 0)
    assert e.opening_minor + e.released_minor - e.chargebacks_debited_minor == 3000
    (top,) = market.bestsellers("anna", by=ANNA, start=MARCH_1, end=MARCH_31).products
    assert (top.product_id, top.units_sold, top.units_refunded, top.units) == ("vase", 3, 1, 2)

    (payout,) = market.run_payouts()
    assert payout.amount == Money("30.00", "EUR")
    statement = payout.statement
    assert statement.reconciles
    assert sorted(line.amount_minor for line in statement.lines) == [-5100, 3600, 4500]
    assert market.run_payouts() == ()


# --- who is told what, once (R29) ----------------------------------------------------------


def test_r29_each_side_is_told_each_step_once_through_an_issue_and_a_mediation(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R3, R5, R7, R9, R12, R13, R17, R20, R29: the exact notifications of an order with an
    issue mediated to a partial refund, in order, each to the right side, none twice; a
    second delivery run sends nothing again."""
    market, _ = _market(make_market, clock)
    order = _two_lines(market)
    oid = order.order_id
    mugs, teas = (line.line_id for line in order.lines)
    parcel = _ship(market, order, {mugs: 3, teas: 2}, "P1")
    market.update_tracking(oid, parcel, by=ANNA, note="left the depot")
    market.mark_delivered(oid, parcel, by=ANNA)
    issue = market.report_issue(
        oid, by=ADA, kind=IssueKind.DAMAGED, description="cracked", line_ids=[mugs]
    ).issues[-1]
    market.respond_to_issue(oid, issue.issue_id, by=ANNA, message="send a photo please")
    market.mediate_issue(
        oid,
        issue.issue_id,
        by=STAFF,
        reason="the evidence supports it",
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=Money("10.00", "EUR"),
    )
    market.confirm_receipt(oid, parcel, by=ADA)
    notes = _notes(notifier, market)
    assert [(n.recipient, n.text) for n in notes if n.kind == NotificationKind.REFUND_ISSUED] == [
        (ADA, f"A refund of 10.00 EUR was issued on order {oid}."),
        (
            ANNA,
            f"The marketplace refunded 10.00 EUR to the buyer on your order {oid}: it comes "
            "out of your proceeds of the order.",
        ),
    ]
    # both sides learn how the issue ended, the vendor included: its proceeds drop by 10.00
    assert [n.text for n in notes if n.kind == NotificationKind.ISSUE_CLOSED] == [
        f"The issue on order {oid} is closed (mediated_refund): see the order for its details."
    ] * 2
    assert [(n.kind, n.recipient) for n in notes] == [
        (NotificationKind.ORDER_PLACED, ANNA),
        (NotificationKind.ORDER_RECEIPT, ADA),
        (NotificationKind.SHIPMENT_CREATED, ADA),
        (NotificationKind.SHIPMENT_TRACKING_UPDATED, ADA),
        (NotificationKind.SHIPMENT_DELIVERED, ADA),
        (NotificationKind.ISSUE_REPORTED, ANNA),
        (NotificationKind.ISSUE_RESPONDED, ADA),
        (NotificationKind.ISSUE_CLOSED, ANNA),
        (NotificationKind.ISSUE_CLOSED, ADA),
        (NotificationKind.REFUND_ISSUED, ADA),
        # R13, R20: staff took 10.00 from Anna's order, so Anna hears of the money, once,
        # with its amount (issue.closed says the issue ended, order.staff_action says why)
        (NotificationKind.REFUND_ISSUED, ANNA),
        # the staff decision and its reason, to both sides (R16's staff powers)
        (NotificationKind.ORDER_STAFF_ACTION, ANNA),
        (NotificationKind.ORDER_STAFF_ACTION, ADA),
        (NotificationKind.SHIPMENT_CONFIRMED, ANNA),
        (NotificationKind.ORDER_COMPLETED, ANNA),
        (NotificationKind.ORDER_COMPLETED, ADA),
    ]
    clock.advance(hours=168)
    notifier.sent.clear()
    market.run_due()  # the sweep delivers what it produced: the release, to Anna only
    assert [(note.kind, note.recipient) for _, note in notifier.sent] == [
        (NotificationKind.PROCEEDS_RELEASED, ANNA)
    ]
    assert _told(notifier, market) == []  # nothing is sent twice


def test_r16_r29_staff_powers_need_a_reason_and_both_sides_are_told_it(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R1, R13, R16, R29, R42: Ada reports a parcel not received while it is still in
    transit; the carrier's scan shows it delivered, so staff resolve the issue for Anna. The
    reason is mandatory (nothing changes without it); with it, the parcel is marked delivered
    and confirmed, the order completes, both sides are told the reason once, and the history
    records who did it and why."""
    market, _ = _market(make_market, clock)
    order = _one_line(market, "30.00")
    oid = order.order_id
    _ship(market, order, {order.lines[0].line_id: 1}, "P1")
    issue = market.report_issue(
        oid, by=ADA, kind=IssueKind.NOT_RECEIVED, description="nothing came"
    ).issues[-1]
    _told(notifier, market)
    before = (market.get_order(oid, by=STAFF), market.order_history(oid, by=STAFF))
    with pytest.raises(ReasonRequiredError):
        market.resolve_for_vendor(oid, issue.issue_id, by=STAFF, reason="")
    with pytest.raises(NotPermittedError):
        market.resolve_for_vendor(oid, issue.issue_id, by=ANNA, reason="it arrived")
    assert (market.get_order(oid, by=STAFF), market.order_history(oid, by=STAFF)) == before
    assert _told(notifier, market) == []

    clock.advance(hours=5)
    done = market.resolve_for_vendor(
        oid, issue.issue_id, by=STAFF, reason="carrier scan: signed for at the door"
    )
    assert (done.status, done.completed_at) == (OrderStatus.COMPLETED, clock.now())
    assert (done.issues[-1].outcome, done.shipments[0].status.value) == (
        IssueOutcome.REJECTED,
        "confirmed",
    )
    staff_notes = [
        (note.recipient, note.text)
        for note in _notes(notifier, market)
        if note.kind == NotificationKind.ORDER_STAFF_ACTION
    ]
    assert sorted(who.id for who, _ in staff_notes) == ["ada", "anna"]
    assert all("carrier scan: signed for at the door" in text for _, text in staff_notes)
    history = market.order_history(oid, by=STAFF)
    acted = [e for e in history if isinstance(e, StaffActionTaken)]
    assert [(e.actor, e.action, e.reason) for e in acted] == [
        (STAFF, "resolve_for_vendor", "carrier scan: signed for at the door")
    ]


# --- the contact policy in the chat (R26-R29) -----------------------------------------------

#: The guide's "avoid contacting buyers via email or phone", in the disguises people use.
DISGUISED = [
    ("ada dot lovelace at example dot com", "email"),
    ("ada(at)example(dot)com", "email"),
    (
        "\uff21\uff44\uff41\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",
        "email",
    ),  # "Ada@example.com" in full-width letters
    ("zero seven seven zero zero, nine zero zero one two three", "phone"),
    ("+44 (0)20 7946 0958", "phone"),
    ("call me on 0 7 7 0 0 9 0 0 1 2 3", "phone"),
    ("O77OO 9OO123, call me", "phone"),  # letter O for zero
    ("order from www.adas-workshop.com, cheaper", "link"),
    ("add me on whatsapp", "handle"),
]


@pytest.mark.parametrize(("text", "kind"), DISGUISED)
def test_r27_the_refuse_policy_stores_nothing_and_tells_nobody_but_the_sender(
    make_market: MarketFactory, clock: FakeClock, text: str, kind: str
) -> None:
    """R2, R27: with ``REFUSE``, an opening message that carries a contact detail in
    disguise is refused with the kind found: no conversation, no message, no notification."""
    market, _ = _market(make_market, clock, contact_policy=ContactPolicy.REFUSE)
    _one_line(market, "10.00")
    outbox = market.outbox(by=STAFF)
    with pytest.raises(ContactDetailsRefusedError) as refused:
        market.start_conversation(by=ANNA, customer_name="ada lovelace", text=f"Hi! {text}")
    assert refused.value.fields["findings"] == [kind]
    assert "Asolora" in str(refused.value)  # says where to keep talking
    assert market.conversations_for_vendor("anna", by=ANNA).items == ()
    assert market.outbox(by=STAFF) == outbox


def test_r27_r29_a_flagged_message_is_redacted_for_the_buyer_and_sent_to_the_staff_desk(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R26-R29: by default a message with a phone number is stored redacted and flagged; the
    sender is told, the buyer is told of a new message (without its text), and the staff
    desk is told that a message was flagged, once, naming the conversation and the kind
    found but not the number. An innocent message flags nothing and tells staff nothing."""
    market, _ = _market(make_market, clock)
    _one_line(market, "10.00")
    _notes(notifier, market)
    started = market.start_conversation(
        by=ANNA, customer_name="Ada Lovelace", text="Quicker by phone: +44 20 7946 0958"
    )
    cid = started.conversation.conversation_id
    assert started.message is not None
    assert "7946" not in started.message.text
    assert started.message.flagged
    assert started.notice is not None
    assert "phone number" in started.notice
    notes = _notes(notifier, market)
    assert [(n.kind, n.recipient, n.subject_id) for n in notes] == [
        (NotificationKind.MESSAGE_POSTED, ADA, cid),
        (NotificationKind.MESSAGE_FLAGGED, DESK, cid),
    ]
    assert all("7946" not in n.text for n in notes)
    assert "phone number" in notes[1].text

    for _ in range(2):  # R35: a retry under the same key is the first post, told once
        market.post_message(cid, by=ANNA, text="or anna at example dot com", idempotency_key="k")
    assert _told(notifier, market) == [
        (NotificationKind.MESSAGE_POSTED, ADA),
        (NotificationKind.MESSAGE_FLAGGED, DESK),
    ]
    clean = market.post_message(cid, by=ADA, text="No thanks, here is fine. Size 38 please.")
    assert not clean.message.flagged
    assert _told(notifier, market) == [(NotificationKind.MESSAGE_POSTED, ANNA)]
    conversation = market.get_conversation(cid, by=STAFF)
    assert (conversation.vendor_unread, conversation.buyer_unread) == (1, 0)


def test_r10_r14_r29_a_parcel_the_timer_confirms_is_told_to_the_buyer_whose_window_closes(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R10, R14, R29: auto-confirmation after 3 days. Of two parcels, the mugs are delivered
    at 09:00 and the teas at 12:00. At 09:00 three days later the timer confirms the mugs:
    the buyer is told (its dispute window for them closed without its action) and so is the
    vendor, once each; an issue on the mugs is now refused, one on the teas is not. A parcel
    the buyer confirms itself sends the buyer no such notice."""
    market, _ = _market(make_market, clock, auto_confirm_after=dt.timedelta(days=3))
    order = _two_lines(market)
    mugs, teas = (line.line_id for line in order.lines)
    oid = order.order_id
    parcel_1 = _ship(market, order, {mugs: 3}, "P1")
    parcel_2 = _ship(market, order, {teas: 2}, "P2")
    market.mark_delivered(oid, parcel_1, by=ANNA)
    clock.advance(hours=3)
    market.mark_delivered(oid, parcel_2, by=ANNA)
    _notes(notifier, market)

    clock.set(START + dt.timedelta(days=3))
    notifier.sent.clear()
    market.run_due()
    notes = [note for _, note in notifier.sent]
    assert [(n.kind, n.recipient) for n in notes] == [
        (NotificationKind.SHIPMENT_CONFIRMED, ANNA),
        (NotificationKind.SHIPMENT_AUTO_CONFIRMED, ADA),
    ]
    assert parcel_1 in notes[1].text
    assert "dispute window" in notes[1].text
    with pytest.raises(DisputeWindowClosedError):
        market.report_issue(oid, by=ADA, kind=IssueKind.DAMAGED, description="x", line_ids=[mugs])
    market.report_issue(oid, by=ADA, kind=IssueKind.DAMAGED, description="y", line_ids=[teas])
    issue = market.get_order(oid, by=ADA).issues[-1].issue_id
    market.withdraw_issue(oid, issue, by=ADA)
    _notes(notifier, market)
    done = market.confirm_receipt(oid, parcel_2, by=ADA)
    assert done.status is OrderStatus.COMPLETED
    assert NotificationKind.SHIPMENT_AUTO_CONFIRMED not in {k for k, _ in _told(notifier, market)}


# --- returns and exchanges after confirmation (R19, R22, R37) -------------------------------


def test_r37_r22_an_exchange_then_a_return_after_release_with_a_restocking_fee(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R19, R21, R22, R37: 3 mugs at 10.00, policy: returns and exchanges within 14 days,
    10 % restocking fee; commission 10 %. Completed and released: 30.00 - 3.00 = 27.00.
    Ada exchanges one mug (no money moves); the exchanged unit is no longer returnable, so
    a return of 3 is refused (2 left). She returns 2: their share 20.00 less the 10 %
    restocking fee 2.00 = 18.00 back to her. New net 30.00 - 18.00 = 12.00, commission
    1.20, so 3.00 - 1.20 = 1.80 comes back: Anna is debited 18.00 - 1.80 = 16.20, balance
    27.00 - 16.20 = 10.80. The order stays completed throughout."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    policy = ReturnPolicy(
        returns_accepted=True, exchanges_accepted=True, window_days=14, restocking_fee_bp=1000
    )
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        paid=Money("30.00", "EUR"),
        items=[
            Item(
                vendor_id="anna",
                product_id="mug",
                quantity=3,
                unit_price=Money("10.00", "EUR"),
                policy=policy,
            )
        ],
    )
    oid, line = order.order_id, order.lines[0].line_id
    parcel = _ship(market, order, {line: 3}, "P1")
    market.mark_delivered(oid, parcel, by=ANNA)
    market.confirm_receipt(oid, parcel, by=ADA)
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("anna", by=ANNA).balance == Money("27.00", "EUR")

    exchange = market.request_return(
        oid, by=ADA, kind=ReturnKind.EXCHANGE, items={line: 1}, reason="wrong size"
    ).returns[-1]
    market.accept_return(oid, exchange.return_id, by=ANNA)
    market.ship_return(oid, exchange.return_id, by=ADA, carrier="DHL", tracking_number="X1")
    market.receive_return(oid, exchange.return_id, by=ANNA)
    exchanged = market.ship_exchange(
        oid, exchange.return_id, by=ANNA, carrier="DHL", tracking_number="X2"
    )
    assert (exchanged.status, exchanged.refunded_minor) == (OrderStatus.COMPLETED, 0)
    assert market.balance("anna", by=ANNA).balance == Money("27.00", "EUR")
    with pytest.raises(ReturnNotAllowedError) as too_many:
        market.request_return(oid, by=ADA, kind=ReturnKind.RETURN, items={line: 3}, reason="x")
    assert too_many.value.fields["left"] == 2

    back = market.request_return(
        oid, by=ADA, kind=ReturnKind.RETURN, items={line: 2}, reason="not for me"
    ).returns[-1]
    market.accept_return(oid, back.return_id, by=ANNA)
    market.ship_return(oid, back.return_id, by=ADA, carrier="DHL", tracking_number="R1")
    market.receive_return(oid, back.return_id, by=ANNA)
    refunded = market.refund_return(oid, back.return_id, by=ANNA)
    assert (refunded.status, refunded.refunds[-1].amount_minor) == (OrderStatus.COMPLETED, 1800)
    assert market.balance("anna", by=ANNA).balance == Money("10.80", "EUR")
