"""Who is told what when someone else moves a vendor's money, and how the statement shows a
release that refunds or chargebacks before release left negative (R10, R13, R16, R17, R20,
R21, R29, R39, R41). Every test runs on each store (memory, SQLite, PostgreSQL), R33.

Fees where a test sets them (``FEES``): commission 10 % of the net, processing 2.9 % of the
amount paid + 0.30 EUR, half-even; same currency, so no conversion.
"""

from __future__ import annotations

import datetime as dt

from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    FeeSchedule,
    IssueKind,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    NotificationKind,
    Order,
    OrderStatus,
    RecordingNotifier,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import HoldState
from asolora_core.orders.model import Resolution
from conftest import MarketFactory

STAFF, ADA, ANNA = Actor.staff("s-1"), Actor.buyer("ada"), Actor.vendor("anna")
FEES = FeeSchedule(
    commission_bp=1000, processing_bp=290, processing_fixed={"EUR": Money("0.30", "EUR")}
)


def _market(
    make_market: MarketFactory, clock: FakeClock, *, fees: FeeSchedule = FEES, **config: object
) -> Marketplace:
    money = MoneyConfig(fees=fees, rates=FixedRateProvider(as_of=clock.now()))
    config.setdefault("auto_confirm_after", None)
    return make_market(MarketplaceConfig(money=money, **config))  # type: ignore[arg-type]


def _place(market: Marketplace, paid: str = "100.00") -> Order:
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        paid=Money(paid, "EUR"),
        items=[
            Item(vendor_id="anna", product_id="vase", quantity=1, unit_price=Money(paid, "EUR"))
        ],
    )
    return order


def _deliver(market: Marketplace, order: Order) -> str:
    shipped = market.ship(
        order.order_id,
        by=ANNA,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number=f"T-{order.order_id}",
    )
    parcel = shipped.shipments[-1].shipment_id
    market.mark_delivered(order.order_id, parcel, by=ANNA)
    return parcel


def _told(notifier: RecordingNotifier, market: Marketplace) -> list[tuple[str, Actor, str]]:
    """What one delivery run sends now: (kind, recipient, text), in order."""
    notifier.sent.clear()
    market.deliver_notifications()
    return [(note.kind, note.recipient, note.text) for _, note in notifier.sent]


# --- R10: the vendor is told who confirmed the parcel ---------------------------------------


def test_r10_r29_the_vendor_is_told_a_parcel_was_confirmed_automatically_not_by_the_buyer(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R9, R10, R29: auto-confirm after 3 days. Order A's parcel is confirmed by the buyer:
    the vendor reads "The buyer confirmed receipt". Order B's parcel is left alone and the
    timer confirms it 3 days (72 h) after delivery: the vendor's ``shipment.confirmed`` says
    it was confirmed automatically (never that the buyer did), the buyer gets
    ``shipment.auto_confirmed``, each once."""
    market = _market(make_market, clock, auto_confirm_after=dt.timedelta(days=3))
    a, b = _place(market), _place(market)
    parcel_a, parcel_b = _deliver(market, a), _deliver(market, b)
    market.confirm_receipt(a.order_id, parcel_a, by=ADA)
    confirmed = [n for n in _told(notifier, market) if n[0] == "shipment.confirmed"]
    assert confirmed == [
        ("shipment.confirmed", ANNA, f"The buyer confirmed receipt on {a.order_id}.")
    ]

    clock.advance(hours=72)
    notifier.sent.clear()
    market.run_due()  # the sweep relays what it produced
    assert market.get_order(b.order_id, by=STAFF).status is OrderStatus.COMPLETED
    told = [
        (note.kind, note.recipient, note.text)
        for _, note in notifier.sent
        if note.kind.startswith("shipment.")
    ]
    assert [(kind, who) for kind, who, _ in told] == [
        (NotificationKind.SHIPMENT_CONFIRMED, ANNA),
        (NotificationKind.SHIPMENT_AUTO_CONFIRMED, ADA),
    ]
    assert told[0][2] == (
        f"A parcel of order {b.order_id} ({parcel_b}) was confirmed received automatically: "
        "the buyer did not confirm it within the auto-confirm period."
    )
    assert "buyer confirmed" not in told[0][2]


# --- R13, R20, R29: money taken from the vendor's order by someone else ---------------------


def _refund_notes(told: list[tuple[str, Actor, str]]) -> list[tuple[Actor, str]]:
    return [(who, text) for kind, who, text in told if kind == NotificationKind.REFUND_ISSUED]


def test_r20_r29_the_vendor_is_told_the_amount_staff_refund_from_its_order_once(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R13, R20, R29: a staff refund of 12.50 outside an issue on a 100.00 order: the buyer
    hears ``refund.issued`` ("A refund of 12.50 EUR..."), and the vendor, whose proceeds drop
    by 12.50, hears ``refund.issued`` with the same amount, once, besides the reason in
    ``order.staff_action``. The vendor's own refund of 7.50 tells only the buyer: the vendor
    made it."""
    market = _market(make_market, clock)
    order = _place(market)
    oid = order.order_id
    _deliver(market, order)
    _told(notifier, market)
    market.refund(oid, by=STAFF, amount=Money("12.50", "EUR"), reason="goodwill, late parcel")
    told = _told(notifier, market)
    assert _refund_notes(told) == [
        (ADA, f"A refund of 12.50 EUR was issued on order {oid}."),
        (
            ANNA,
            f"The marketplace refunded 12.50 EUR to the buyer on your order {oid}: it comes "
            "out of your proceeds of the order.",
        ),
    ]
    assert [(k, who) for k, who, _ in told if k == NotificationKind.ORDER_STAFF_ACTION] == [
        (NotificationKind.ORDER_STAFF_ACTION, ANNA),
        (NotificationKind.ORDER_STAFF_ACTION, ADA),
    ]

    market.refund(oid, by=ANNA, amount=Money("7.50", "EUR"))
    assert _refund_notes(_told(notifier, market)) == [
        (ADA, f"A refund of 7.50 EUR was issued on order {oid}.")
    ]


def test_r20_r29_staff_cancelling_after_shipping_tells_the_vendor_what_went_back(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R11, R20, R29: 100.00 paid, 30.00 refunded by the vendor, then staff cancel after
    shipping: the 100.00 - 30.00 = 70.00 still refundable goes back. The vendor is told the
    70.00 once (``refund.issued``), besides ``order.cancelled`` and ``order.staff_action``."""
    market = _market(make_market, clock)
    order = _place(market)
    oid = order.order_id
    _deliver(market, order)
    market.refund(oid, by=ANNA, amount=Money("30.00", "EUR"))
    _told(notifier, market)
    market.cancel_after_shipping(oid, by=STAFF, reason="counterfeit goods")
    told = _told(notifier, market)
    assert _refund_notes(told) == [
        (ADA, f"A refund of 70.00 EUR was issued on order {oid}."),
        (
            ANNA,
            f"The marketplace refunded 70.00 EUR to the buyer on your order {oid}: it comes "
            "out of your proceeds of the order.",
        ),
    ]
    to_anna = [k for k, who, _ in told if who == ANNA]
    assert sorted(to_anna) == sorted(
        [
            NotificationKind.ORDER_CANCELLED,
            NotificationKind.REFUND_ISSUED,
            NotificationKind.ORDER_STAFF_ACTION,
        ]
    )


def test_r38_r29_a_refund_the_vendor_offered_is_not_told_back_to_it(
    make_market: MarketFactory, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R13, R29, R38: the vendor offers 20.00 on an issue and the buyer accepts: the refund
    is the vendor's own offer, so the vendor hears ``issue.offer_answered`` and
    ``issue.closed``, not a ``refund.issued``; the buyer hears the 20.00."""
    market = _market(make_market, clock)
    order = _place(market)
    oid = order.order_id
    _deliver(market, order)
    issue = market.report_issue(oid, by=ADA, kind=IssueKind.DAMAGED, description="chipped").issues[
        -1
    ]
    market.offer_settlement(
        oid, issue.issue_id, by=ANNA, resolution=Resolution.REFUND, amount=Money("20.00", "EUR")
    )
    _told(notifier, market)
    market.answer_settlement(oid, issue.issue_id, by=ADA, accept=True)
    told = _told(notifier, market)
    assert _refund_notes(told) == [(ADA, f"A refund of 20.00 EUR was issued on order {oid}.")]
    assert NotificationKind.ISSUE_OFFER_ANSWERED in [k for k, who, _ in told if who == ANNA]


# --- R21, R41: a completed order refunded in full before release is a fee line --------------


def test_r21_r41_an_order_refunded_in_full_before_release_is_a_fee_line_not_a_negative_release(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R15, R20, R21, R31, R41: order A, 100.00 EUR, completes on day 0: commission 10.00,
    processing 2.90 + 0.30 = 3.20, held 86.80. The vendor refunds all 100.00 before release:
    the net is 0.00, so the commission is 0.00 (10.00 comes back); the processing fee is not
    given back (R21): held 0.00 - 0.00 - 3.20 = -3.20. Order B, 50.00 EUR, completes the same
    day: commission 5.00, processing 1.45 + 0.30 = 1.75, held 43.25.

    At the release (day 7, +168 h) A moves no proceeds and debits 3.20: the statement shows a
    ``fee`` line (gross 0.00 - commission 0.00 - processing fee 3.20 = proceeds -3.20,
    amount -3.20), not a release of -3.20; B's release credits 43.25, 3.20 of which offsets
    the debt (R23): balance 40.05. The month's earnings: released 43.25 (B only),
    commission 5.00, processing fees 3.20 + 1.75 = 4.95, refunds debited 3.20, chargebacks
    0.00, offsets 3.20, closing 43.25 - 3.20 = 40.05 = the balance. The journal still books
    A's release as a ``release`` (one per order)."""
    market = _market(make_market, clock)
    a = _place(market)
    market.confirm_receipt(a.order_id, _deliver(market, a), by=ADA)
    assert market.get_hold(a.order_id, by=ANNA).held_minor == 8680
    market.refund(a.order_id, by=ANNA, amount=Money("100.00", "EUR"))
    hold = market.get_hold(a.order_id, by=ANNA)
    assert (hold.commission_minor, hold.processing_fee_minor, hold.held_minor) == (0, 320, -320)
    b = _place(market, "50.00")
    market.confirm_receipt(b.order_id, _deliver(market, b), by=ADA)
    assert market.get_hold(b.order_id, by=ANNA).held_minor == 4325

    clock.advance(hours=168)
    market.run_due()
    lines = market.statement("anna", by=ANNA).lines
    assert [(x.kind, x.order_id, x.amount_minor, x.offset_minor) for x in lines] == [
        ("fee", a.order_id, -320, 0),
        ("release", b.order_id, 4325, 320),
    ]
    fee = lines[0]
    assert (fee.gross, fee.commission, fee.processing_fee, fee.proceeds) == (
        Money("0.00", "EUR"),
        Money("0.00", "EUR"),
        Money("3.20", "EUR"),
        Money("-3.20", "EUR"),
    )
    assert market.balance("anna", by=ANNA).balance == Money("40.05", "EUR")
    month = market.earnings_report(
        "anna", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), by=ANNA, granularity="month"
    )
    (eur,) = month.periods[0].figures
    assert (
        eur.released_minor,
        eur.commission_minor,
        eur.processing_fees_minor,
        eur.refunds_debited_minor,
        eur.chargebacks_debited_minor,
        eur.offsets_minor,
        eur.closing_minor,
    ) == (4325, 500, 495, 320, 0, 320, 4005)
    kinds = [t.kind for t in market.journal(by=STAFF) if t.order_id == a.order_id]
    assert kinds.count("release") == 1
    assert market.verify_reports("anna", by=STAFF).ok
    assert market.verify_journal(by=STAFF).ok


# --- R16, R39: a full chargeback before release stays frozen until the dispute is decided ----


def test_r16_r39_a_full_chargeback_before_release_waits_for_the_dispute_then_is_debited(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R16, R17, R39, R41 (no fees, as the guide's plain case): 100.00 paid, completed; the
    provider charges back all 100.00 with a 15.00 fee before release: held 100.00 - 100.00 -
    15.00 = -15.00, frozen (R39: "before release the order is frozen"). The dispute is still
    open, so nothing is debited at the due time (a won dispute would give the 100.00 back,
    and the freeze with it). Only staff learn that the provider decided for the buyer; they
    lift the freeze saying so (R16) and the next sweep debits the provider's 15.00 as a
    ``chargeback`` line: balance -15.00."""
    market = _market(make_market, clock, fees=FeeSchedule())
    order = _place(market)
    oid = order.order_id
    market.confirm_receipt(oid, _deliver(market, order), by=ADA)
    market.report_chargeback(
        oid, amount=Money("100.00", "EUR"), fee=Money("15.00", "EUR"), by=STAFF, reference="d-1"
    )
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.held_minor) == (HoldState.FROZEN, -1500)
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(oid, by=STAFF).state is HoldState.FROZEN
    assert market.balance("anna", by=STAFF).balance_minor == 0
    # staff find the dispute waiting for a decision among the held parts
    held = market.earnings_report(
        "anna", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), by=STAFF
    ).held
    assert [(p.order_id, p.frozen, p.held_minor) for p in held] == [(oid, True, -1500)]

    market.lift_freeze(oid, by=STAFF, reason="the provider decided the dispute for the buyer")
    market.run_due()
    assert market.get_hold(oid, by=STAFF).state is HoldState.RELEASED
    (line,) = market.statement("anna", by=STAFF).lines
    assert (line.kind, line.amount, line.processing_fee) == (
        "chargeback",
        Money("-15.00", "EUR"),
        Money("15.00", "EUR"),
    )
    assert market.balance("anna", by=STAFF).balance == Money("-15.00", "EUR")
