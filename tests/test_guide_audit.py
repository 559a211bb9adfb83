"""The vendor guide's scenarios with numbers or time, driven through the documented public API
on every store, each figure worked out by hand (never with the library's own helpers): window
edges to the microsecond, half-even rounding of fees and conversions, largest-remainder
splits, refunds before and after release, the offset, payouts and what the reports show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    DisputeWindowClosedError,
    FakeClock,
    FeeSchedule,
    FixedRateProvider,
    HoldState,
    InvalidTransitionError,
    IssueKind,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    Order,
    OrderStatus,
    RefundExceedsPaidError,
    ReturnKind,
    ReturnNotAllowedError,
    ReturnPolicy,
    Rounding,
)
from conftest import START, MarketFactory

STAFF, ADA = Actor.staff("s-1"), Actor.buyer("ada")
US = dt.timedelta(microseconds=1)
HOLD = dt.timedelta(hours=168)
MARCH_1, MARCH_31 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def _market(
    make_market: MarketFactory,
    clock: FakeClock,
    *,
    fees: FeeSchedule | None = None,
    rates: dict[tuple[str, str], str] | None = None,
    money_extra: dict[str, object] | None = None,
    **config: object,
) -> tuple[Marketplace, FixedRateProvider]:
    provider = FixedRateProvider(rates or {}, as_of=clock.now())
    money = MoneyConfig(fees=fees or FeeSchedule(), rates=provider, **(money_extra or {}))  # type: ignore[arg-type]
    config.setdefault("auto_confirm_after", None)
    return make_market(MarketplaceConfig(money=money, **config)), provider  # type: ignore[arg-type]


def _place(market: Marketplace, vendor: str, paid: str, currency: str = "EUR") -> Order:
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money(paid, currency),
        items=[
            Item(vendor_id=vendor, product_id="vase", quantity=1, unit_price=Money(paid, currency))
        ],
    )
    return order


def _deliver(market: Marketplace, order: Order) -> str:
    vendor = Actor.vendor(order.vendor_id)
    shipped = market.ship(
        order.order_id,
        by=vendor,
        items={order.lines[0].line_id: order.lines[0].quantity},
        carrier="DHL",
        tracking_number=f"T-{order.order_id}",
    )
    shipment = shipped.shipments[-1].shipment_id
    market.mark_delivered(order.order_id, shipment, by=vendor)
    return shipment


def _sell(market: Marketplace, vendor: str, paid: str, currency: str = "EUR") -> Order:
    """Placed, shipped, delivered and confirmed now: completed (R9)."""
    order = _place(market, vendor, paid, currency)
    completed = market.confirm_receipt(order.order_id, _deliver(market, order), by=ADA)
    assert completed.status is OrderStatus.COMPLETED
    return completed


def test_r15_release_is_due_exactly_168_hours_after_completion_not_a_microsecond_before(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R15, R16, R17: completed on Saturday 2026-10-24 23:30 UTC (Sunday 01:30 in Paris, the
    night summer time ends), the release is due on 2026-10-31 23:30 UTC: 168 hours by the UTC
    clock, although the Paris wall clock moves 169 hours and into another month. A microsecond
    before, neither the sweep nor staff release it; exactly at the deadline the sweep does."""
    clock.set(dt.datetime(2026, 10, 24, 23, 30, tzinfo=dt.UTC))
    market, _ = _market(make_market, clock)
    market.register_vendor("anna", payout_currency="EUR", by=STAFF, timezone="Europe/Paris")
    order = _sell(market, "anna", "40.00")
    due = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.completed_at, hold.release_at) == (clock.now(), due)

    clock.set(due - US)
    market.run_due()
    assert market.get_hold(order.order_id, by=STAFF).state is HoldState.HELD
    with pytest.raises(InvalidTransitionError) as early:
        market.release(order.order_id, by=STAFF)
    assert early.value.code == "invalid_transition"
    assert "2026-10-31" in str(early.value)  # the message says when it will be due
    assert market.balance("anna", by=STAFF).balance == Money("0.00", "EUR")

    clock.set(due)
    market.run_due()
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.released_at) == (HoldState.RELEASED, due)
    assert market.balance("anna", by=STAFF).balance == Money("40.00", "EUR")


def test_r16_a_freeze_placed_at_the_deadline_wins_and_the_next_sweep_after_lifting_releases(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R16: frozen exactly at ``release_at`` (before any sweep), the order is not released; once
    lifted one hour later, the next sweep releases it, stamped with that sweep's time."""
    market, _ = _market(make_market, clock)
    order = _sell(market, "anna", "25.00")
    clock.advance(hours=168)
    market.freeze_release(order.order_id, by=STAFF, reason="buyer wrote to support")
    market.run_due()
    assert market.get_hold(order.order_id, by=STAFF).state is HoldState.FROZEN
    clock.advance(hours=1)
    market.lift_freeze(order.order_id, by=STAFF, reason="resolved")
    market.run_due()
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.released_at) == (
        HoldState.RELEASED,
        START + HOLD + dt.timedelta(hours=1),
    )
    assert market.balance("anna", by=STAFF, currency="EUR").balance == Money("25.00", "EUR")


def test_r10_auto_confirmation_is_due_exactly_n_days_after_delivery(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R10, R9, R15: with ``auto_confirm_after`` of 3 days, a shipment delivered at D is still
    unconfirmed at D + 3 days - 1 microsecond and confirmed by the system at D + 3 days; the
    order completes at that moment and its release is due 168 hours later."""
    market, _ = _market(make_market, clock, auto_confirm_after=dt.timedelta(days=3))
    order = _place(market, "anna", "30.00")
    clock.advance(hours=5)
    delivered_at = clock.now()
    _deliver(market, order)
    clock.set(delivered_at + dt.timedelta(days=3) - US)
    market.run_due()
    assert market.get_order(order.order_id, by=ADA).status is OrderStatus.PROCESSING
    clock.set(delivered_at + dt.timedelta(days=3))
    market.run_due()
    done = market.get_order(order.order_id, by=ADA)
    assert (done.status, done.completed_at) == (OrderStatus.COMPLETED, clock.now())
    assert market.get_hold(order.order_id, by=STAFF).release_at == clock.now() + HOLD


def test_r10_with_auto_confirmation_off_a_silent_buyer_is_never_confirmed_for(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R10: ``auto_confirm_after=None`` switches the timer off: a year later the delivered
    shipment still waits for the buyer, and nothing is held for release."""
    market, _ = _market(make_market, clock, auto_confirm_after=None)
    order = _place(market, "anna", "30.00")
    _deliver(market, order)
    clock.advance(days=365)
    market.run_due()
    waiting = market.get_order(order.order_id, by=ADA)
    assert (waiting.status, waiting.completed_at) == (OrderStatus.PROCESSING, None)
    assert market.get_hold(order.order_id, by=STAFF).release_at is None


def test_r14_the_dispute_window_closes_per_parcel_and_for_good_at_completion(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R12, R14: two lines in two parcels. Once parcel 1 is confirmed, an issue on its line is
    refused (``dispute_window_closed``, the message points to the vendor's own policy) while
    the other line, delivered but not confirmed, may still be disputed; once the order is
    completed nothing can be reported, not even on the whole order."""
    market, _ = _market(make_market, clock)
    anna = Actor.vendor("anna")
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("30.00", "EUR"),
        items=[
            Item(vendor_id="anna", product_id="mug", quantity=1, unit_price=Money("10.00", "EUR")),
            Item(vendor_id="anna", product_id="pot", quantity=1, unit_price=Money("20.00", "EUR")),
        ],
    )
    mug, pot = (line.line_id for line in order.lines)
    oid = order.order_id
    first = market.ship(oid, by=anna, items={mug: 1}, carrier="DHL", tracking_number="A1")
    second = market.ship(oid, by=anna, items={pot: 1}, carrier="DHL", tracking_number="A2")
    parcel1, parcel2 = first.shipments[0].shipment_id, second.shipments[1].shipment_id
    market.mark_delivered(oid, parcel1, by=anna)
    market.mark_delivered(oid, parcel2, by=anna)
    market.confirm_receipt(oid, parcel1, by=ADA)

    with pytest.raises(DisputeWindowClosedError) as closed:
        market.report_issue(oid, by=ADA, kind=IssueKind.DAMAGED, description="x", line_ids=[mug])
    assert closed.value.code == "dispute_window_closed"
    reported = market.report_issue(
        oid, by=ADA, kind=IssueKind.DAMAGED, description="cracked", line_ids=[pot]
    )
    issue = reported.issues[-1].issue_id
    clock.advance(hours=2, minutes=30)
    market.respond_to_issue(oid, issue, by=anna, message="sorry, a new one is on its way")
    clock.advance(hours=1)
    answered = market.respond_to_issue(oid, issue, by=anna, message="tracking: A3")
    # R12: the first response is recorded, 2 h 30 after the report; later ones do not move it
    assert answered.issues[-1].first_response_at == START + dt.timedelta(hours=2, minutes=30)
    market.withdraw_issue(oid, issue, by=ADA)
    done = market.confirm_receipt(oid, parcel2, by=ADA)
    assert done.status is OrderStatus.COMPLETED
    with pytest.raises(DisputeWindowClosedError):
        market.report_issue(oid, by=ADA, kind=IssueKind.NOT_AS_DESCRIBED, description="whole")


def test_r3_r25_split_ties_go_to_the_larger_weight_then_the_earlier_item(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R3, R25: 3.98 EUR over vendors grossing 1.00 and 3.00 is 99.5 : 298.5 cents; the cent
    left after the floors (99 + 298 = 397) breaks a tie of remainders and goes to the larger
    weight: 99 + 299. 29.99 over three equal orders is 999.67 each; the two cents left go to
    the first two: 1000, 1000, 999. Within one order the lines share the same way."""
    market, _ = _market(make_market, clock)
    small, large = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("3.98", "EUR"),
        items=[
            Item(vendor_id="anna", product_id="pin", quantity=1, unit_price=Money("1.00", "EUR")),
            Item(vendor_id="kenji", product_id="cup", quantity=1, unit_price=Money("3.00", "EUR")),
        ],
    )
    assert (small.paid_minor, large.paid_minor) == (99, 299)
    orders = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("29.99", "EUR"),
        items=[
            Item(vendor_id=v, product_id="tea", quantity=1, unit_price=Money("10.00", "EUR"))
            for v in ("anna", "kenji", "lea")
        ],
    )
    assert [o.paid_minor for o in orders] == [1000, 1000, 999]
    (one,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("3.98", "EUR"),
        items=[
            Item(vendor_id="anna", product_id="pin", quantity=1, unit_price=Money("1.00", "EUR")),
            Item(vendor_id="anna", product_id="cup", quantity=1, unit_price=Money("3.00", "EUR")),
        ],
    )
    assert [line.paid_minor for line in one.lines] == [99, 299]
    # with shipping: 19.99 over 12.00 (10.00 + 2.00 shipping) and 8.00 is 1199.4 : 799.6, so
    # 1199 + 800; within the first order 999.17 : 199.83 gives the line 999, shipping 200
    first, second = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("19.99", "EUR"),
        items=[
            Item(vendor_id="anna", product_id="vase", quantity=1, unit_price=Money("10.00", "EUR")),
            Item(vendor_id="kenji", product_id="bowl", quantity=1, unit_price=Money("8.00", "EUR")),
        ],
        shipping={"anna": Money("2.00", "EUR")},
    )
    assert (first.paid_minor, second.paid_minor) == (1199, 800)
    assert (first.lines[0].paid_minor, first.shipping_paid_minor) == (999, 200)


def test_r15_r21_r25_commission_rounds_half_even_and_comes_back_on_a_refund_before_release(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R15, R21, R25: 10 % of 10.25 EUR is 1.025, rounded half-even to 1.02 (not 1.03): held
    9.23. A refund of 0.15 before release: net 10.10, commission 1.01, held 9.09, released
    9.09; the earnings report shows 9.09 released and 1.01 commission."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    market.register_vendor("anna", payout_currency="EUR", by=STAFF)
    order = _sell(market, "anna", "10.25")
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.commission_minor, hold.held_minor) == (102, 923)
    clock.advance(days=1)
    market.refund(order.order_id, by=Actor.vendor("anna"), amount=Money("0.15", "EUR"))
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.commission_minor, hold.held_minor) == (101, 909)
    clock.set(START + HOLD)
    market.run_due()
    assert market.balance("anna", by=STAFF).balance == Money("9.09", "EUR")
    report = market.earnings_report(
        "anna", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), by=STAFF, granularity="month"
    )
    (eur,) = report.periods[0].figures
    assert (eur.released_minor, eur.commission_minor, eur.refunds_debited_minor) == (909, 101, 0)
    sales = market.sales_report(
        "anna", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), by=STAFF, granularity="month"
    )
    (figures,) = sales.totals
    assert (figures.gross_minor, figures.refunds_minor, figures.net) == (
        1025,
        15,
        Money("10.10", "EUR"),
    )


@pytest.mark.parametrize(
    ("paid", "order_currency", "payout_currency", "rate", "converted", "fee", "credited"),
    [
        # 12.50 x 0.85 = 10.625 -> 10.62 (half-even, not 10.63); 2 % of 10.62 = 0.2124 -> 0.21
        ("12.50", "EUR", "GBP", "0.85", "10.62", "0.21", "10.41"),
        # 10.05 x 0.3317 = 3.333585 -> 3.334 KWD; 2 % = 0.06668 -> 0.067
        ("10.05", "EUR", "KWD", "0.3317", "3.334", "0.067", "3.267"),
        # 1005 JPY x 0.0061 = 6.1305 -> 6.13 EUR; 2 % = 0.1226 -> 0.12
        ("1005", "JPY", "EUR", "0.0061", "6.13", "0.12", "6.01"),
        # 2.25 EUR x 163.5 = 367.875 -> 368 JPY; 2 % = 7.36 -> 7
        ("2.25", "EUR", "JPY", "163.5", "368", "7", "361"),
    ],
)
def test_r17_r25_a_release_converts_once_half_even_to_the_payout_currency_s_minor_unit(
    make_market: MarketFactory,
    clock: FakeClock,
    paid: str,
    order_currency: str,
    payout_currency: str,
    rate: str,
    converted: str,
    fee: str,
    credited: str,
) -> None:
    """R17, R24, R25: the held proceeds are converted at the rate in force at release, rounded
    once, half-even, to the payout currency's minor unit (JPY 0 places, KWD 3); the 2 %
    conversion fee is its own posting on the converted amount."""
    market, _ = _market(
        make_market,
        clock,
        fees=FeeSchedule(conversion_bp=200),
        rates={(order_currency, payout_currency): rate},
    )
    market.register_vendor("anna", payout_currency=payout_currency, by=STAFF)
    _sell(market, "anna", paid, order_currency)
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("anna", by=STAFF).balance == Money(credited, payout_currency)
    (line,) = market.statement("anna", by=STAFF).lines
    assert (line.rate, line.converted, line.conversion_fee, line.amount) == (
        Decimal(rate),
        Money(converted, payout_currency),
        Money(fee, payout_currency),
        Money(credited, payout_currency),
    )


def test_r22_r23_r41_refund_after_release_at_the_refund_rate_then_offset_and_reported(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R22, R23, R18, R41, R30, R31. Commission 10 %, conversion fee 2 %, refund fee 1 %.

    33.33 EUR sold: commission 3.333 -> 3.33, held 30.00; released at 0.8567: 25.701 -> 25.70,
    fee 0.514 -> 0.51, balance 25.19 GBP, paid out. At 0.9123 the vendor refunds 10.01: the
    commission on the new net 23.32 is 2.332 -> 2.33, so 1.00 comes back and the vendor bears
    9.01 EUR: 8.219823 -> 8.22 GBP, + 0.1644 -> 0.16 conversion fee, + 1 % of the converted
    refund (9.132123 -> 9.13) = 0.0913 -> 0.09: debited 8.47, balance -8.47, nothing paid
    out. 20.00 EUR sold: commission 2.00, held 18.00, released at 0.9123: 16.4214 -> 16.42,
    fee 0.3284 -> 0.33, credit 16.09 of which 8.47 offsets the debt: 7.62 paid out."""
    fees = FeeSchedule(commission_bp=1000, conversion_bp=200, refund_fee_bp=100)
    market, rates = _market(make_market, clock, fees=fees, rates={("EUR", "GBP"): "0.8567"})
    anna = Actor.vendor("anna")
    market.register_vendor("anna", payout_currency="GBP", by=STAFF)
    first = _sell(market, "anna", "33.33")
    assert market.get_hold(first.order_id, by=STAFF).held_minor == 3000
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("anna", by=anna).balance == Money("25.19", "GBP")
    (payout,) = market.run_payouts()
    assert payout.amount == Money("25.19", "GBP")

    clock.advance(hours=1)
    rates.set_rate("EUR", "GBP", "0.9123", as_of=clock.now())
    clock.advance(hours=1)
    refunded = market.refund(first.order_id, by=anna, amount=Money("10.01", "EUR"))
    assert (refunded.status, refunded.refunded) == (OrderStatus.COMPLETED, Money("10.01", "EUR"))
    assert market.balance("anna", by=anna).balance == Money("-8.47", "GBP")
    assert market.run_payouts() == ()  # R18: a negative balance pays nothing

    _sell(market, "anna", "20.00")
    clock.advance(hours=168)
    market.run_due()
    debit, release = market.statement("anna", by=anna).lines
    assert (debit.kind, debit.amount, debit.gross, debit.commission) == (
        "refund",
        Money("-8.47", "GBP"),
        Money("10.01", "EUR"),
        Money("1.00", "EUR"),
    )
    assert (debit.converted, debit.conversion_fee, debit.processing_fee) == (
        Money("8.22", "GBP"),
        Money("0.16", "GBP"),
        Money("0.09", "GBP"),
    )
    assert (release.amount, release.converted, release.conversion_fee, release.offset) == (
        Money("16.09", "GBP"),
        Money("16.42", "GBP"),
        Money("0.33", "GBP"),
        Money("8.47", "GBP"),
    )
    (payout,) = market.run_payouts()
    statement = payout.statement
    assert (payout.amount, statement.opening_minor, statement.closing_minor) == (
        Money("7.62", "GBP"),
        0,
        0,
    )
    assert statement.reconciles

    (sales,) = market.sales_report(
        "anna", by=anna, granularity="month", start=MARCH_1, end=MARCH_31
    ).totals
    assert (sales.gross_minor, sales.refunds_minor, sales.net) == (
        5333,
        1001,
        Money("43.32", "EUR"),
    )
    earnings = market.earnings_report(
        "anna", by=anna, granularity="month", start=MARCH_1, end=MARCH_31
    )
    gbp = next(f for f in earnings.periods[0].figures if f.currency == "GBP")
    assert (
        gbp.opening_minor,
        gbp.released_minor,
        gbp.refunds_debited_minor,
        gbp.offsets_minor,
        gbp.payouts_minor,
        gbp.conversion_fees_minor,
        gbp.closing,
    ) == (0, 2519 + 1609, 847, 847, 2519 + 762, 51 + 16 + 33, Money("0.00", "GBP"))
    # the commission as charged at each release (3.33 + 2.00); the 1.00 the refund gave back
    # is netted in refunds_debited; the 0.09 refund fee counts as a processing fee
    eur = next(f for f in earnings.periods[0].figures if f.currency == "EUR")
    assert (eur.commission_minor, gbp.processing_fees_minor) == (333 + 200, 9)


def test_r23_r18_a_debt_larger_than_one_release_is_offset_across_two(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R22, R23, R18, R41, R31: no fees, one currency. 100.00 sold, released and paid out, then
    refunded in full: balance -100.00 (the order stays completed). 30.00 released: offset
    30.00, balance -70.00, nothing paid. 75.00 released: offset 70.00, 5.00 paid; the
    statement runs from 0 through -100.00, +30.00, +75.00 to 5.00 paid, 0 left."""
    market, _ = _market(make_market, clock)
    anna = Actor.vendor("anna")
    market.register_vendor("anna", payout_currency="EUR", by=STAFF)
    first = _sell(market, "anna", "100.00")
    clock.advance(hours=168)
    market.run_due()
    market.run_payouts()
    clock.advance(hours=1)
    after = market.refund(first.order_id, by=anna, amount=Money("100.00", "EUR"))
    assert after.status is OrderStatus.COMPLETED
    assert market.balance("anna", by=anna).balance == Money("-100.00", "EUR")
    with pytest.raises(RefundExceedsPaidError) as over:
        market.refund(first.order_id, by=anna, amount=Money("0.01", "EUR"))
    assert over.value.code == "refund_exceeds_paid"

    _sell(market, "anna", "30.00")
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("anna", by=anna).balance == Money("-70.00", "EUR")
    assert market.run_payouts() == ()
    _sell(market, "anna", "75.00")
    clock.advance(hours=168)
    market.run_due()
    (payout,) = market.run_payouts()
    assert payout.amount == Money("5.00", "EUR")
    lines = payout.statement.lines
    assert [(ln.kind, ln.amount_minor, ln.offset_minor) for ln in lines] == [
        ("refund", -10000, 0),
        ("release", 3000, 3000),
        ("release", 7500, 7000),
    ]
    assert payout.statement.reconciles
    assert payout.statement.closing_minor == 0

    (eur,) = (
        market.earnings_report(
            "anna",
            start=dt.date(2026, 3, 1),
            end=dt.date(2026, 3, 31),
            by=anna,
            granularity="month",
        )
        .periods[0]
        .figures
    )
    assert (
        eur.released_minor,
        eur.refunds_debited_minor,
        eur.offsets_minor,
        eur.payouts_minor,
        eur.closing,
    ) == (20500, 10000, 10000, 10500, Money("0.00", "EUR"))


def test_r20_r11_the_refund_cap_is_exact_to_the_cent_and_a_full_refund_ends_the_order(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R20, R11, R2: 28.00 paid; 20.00 refunded, then 8.01 is refused (one cent over, the
    message says how much may still be refunded) and changes nothing; 8.00 refunds the rest,
    and an order still processing whose whole payment went back is cancelled."""
    market, _ = _market(make_market, clock)
    anna = Actor.vendor("anna")
    order = _place(market, "anna", "28.00")
    market.ship(
        order.order_id,
        by=anna,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="Z1",
    )
    market.refund(order.order_id, by=anna, amount=Money("20.00", "EUR"))
    before = market.get_order(order.order_id, by=STAFF)
    with pytest.raises(RefundExceedsPaidError) as over:
        market.refund(order.order_id, by=anna, amount=Money("8.01", "EUR"))
    assert over.value.code == "refund_exceeds_paid"
    assert "8.00 EUR" in str(over.value)
    assert market.get_order(order.order_id, by=STAFF) == before
    with pytest.raises(AsoloraError) as late:
        market.cancel_order(order.order_id, by=anna)
    assert late.value.code == "invalid_transition"
    assert "refund it instead" in str(late.value)
    ended = market.refund(order.order_id, by=anna, amount=Money("8.00", "EUR"))
    assert (ended.status, ended.refunded_minor) == (OrderStatus.CANCELLED, 2800)


def test_r30_an_order_and_its_refund_count_on_the_vendor_s_local_day_across_month_ends(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R30, R34: a vendor in Paris (summer time, UTC+2). Placed 2026-04-30 22:30 UTC, which is
    1 May 00:30 there: a May sale. Refunded 4.00 on 2026-05-31 22:30 UTC, 1 June 00:30 in
    Paris: a June refund. Months: April empty; May 1 order, 12.00 gross, net 12.00; June 4.00
    refunded, net -4.00. By day, the sale is on 1 May, not 30 April."""
    clock.set(dt.datetime(2026, 4, 30, 22, 30, tzinfo=dt.UTC))
    market, _ = _market(make_market, clock)
    market.register_vendor("anna", payout_currency="EUR", by=STAFF, timezone="Europe/Paris")
    order = _place(market, "anna", "12.00")
    clock.set(dt.datetime(2026, 5, 31, 22, 30, tzinfo=dt.UTC))
    market.refund(order.order_id, by=Actor.vendor("anna"), amount=Money("4.00", "EUR"))
    report = market.sales_report(
        "anna", start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), by=STAFF, granularity="month"
    )
    apr, may, jun = report.periods
    assert [p.period.label for p in report.periods] == ["2026-04", "2026-05", "2026-06"]
    assert apr.figures == ()
    assert [(f.orders, f.gross_minor, f.refunds_minor, f.net_minor) for f in may.figures] == [
        (1, 1200, 0, 1200)
    ]
    assert [(f.orders, f.gross_minor, f.refunds_minor, f.net_minor) for f in jun.figures] == [
        (0, 0, 400, -400)
    ]
    days = market.sales_report(
        "anna", start=dt.date(2026, 4, 30), end=dt.date(2026, 5, 1), by=STAFF
    )
    assert [len(p.figures) for p in days.periods] == [0, 1]


def test_r10_an_open_issue_at_the_deadline_postpones_auto_confirmation_until_it_closes(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R10, R14: delivered at D with an issue open at D + 3 days, the system does not confirm;
    the buyer withdraws it on day 4 and the next sweep confirms: the order completes then."""
    market, _ = _market(make_market, clock, auto_confirm_after=dt.timedelta(days=3))
    order = _place(market, "anna", "30.00")
    _deliver(market, order)
    reported = market.report_issue(order.order_id, by=ADA, kind=IssueKind.DAMAGED, description="x")
    clock.advance(days=3)
    market.run_due()
    assert market.get_order(order.order_id, by=ADA).status is OrderStatus.PROCESSING
    clock.advance(days=1)
    market.withdraw_issue(order.order_id, reported.issues[-1].issue_id, by=ADA)
    market.run_due()
    done = market.get_order(order.order_id, by=ADA)
    assert (done.status, done.completed_at) == (OrderStatus.COMPLETED, START + dt.timedelta(days=4))


def test_r40_an_unshipped_order_is_cancelled_exactly_n_days_after_placement(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R40, R11: ``cancel_unshipped_after`` of 5 days; one microsecond before the deadline the
    order is still processing, at the deadline it is cancelled with the full 5.00 refunded."""
    market, _ = _market(make_market, clock, cancel_unshipped_after=dt.timedelta(days=5))
    order = _place(market, "anna", "5.00")
    clock.set(START + dt.timedelta(days=5) - US)
    market.run_due()
    assert market.get_order(order.order_id, by=ADA).status is OrderStatus.PROCESSING
    clock.set(START + dt.timedelta(days=5))
    market.run_due()
    ended = market.get_order(order.order_id, by=ADA)
    assert (ended.status, ended.cancelled_at, ended.refunded_minor) == (
        OrderStatus.CANCELLED,
        clock.now(),
        500,
    )


def test_r18_a_payout_starts_exactly_at_the_minimum_and_rounds_down_to_the_quantum(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R18: minimum 20.00 EUR, quantum 1.00 EUR, no fees. A balance of 19.99 pays nothing;
    0.01 more makes 20.00, exactly the minimum: 20.00 paid. Then 25.49: 25.00 paid, 0.49
    stays, shown as the statement's closing balance."""
    market, _ = _market(
        make_market,
        clock,
        money_extra={
            "payout_minimum": {"EUR": Money("20.00", "EUR")},
            "payout_quantum": {"EUR": Money("1.00", "EUR")},
        },
    )
    _sell(market, "anna", "19.99")
    clock.advance(hours=168)
    market.run_due()
    assert market.run_payouts() == ()
    _sell(market, "anna", "0.01")
    clock.advance(hours=168)
    market.run_due()
    (payout,) = market.run_payouts()
    assert payout.amount == Money("20.00", "EUR")
    _sell(market, "anna", "25.49")
    clock.advance(hours=168)
    market.run_due()
    (payout,) = market.run_payouts()
    assert (payout.amount, payout.statement.closing_minor) == (Money("25.00", "EUR"), 49)
    assert market.balance("anna", by=STAFF).balance == Money("0.49", "EUR")
    assert market.run_payouts() == ()


def test_r20_r25_refunding_a_line_unit_by_unit_gives_back_exactly_what_it_cost(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R20, R25: three units for 10.00 are 3.34 + 3.33 + 3.33 (the extra cent on the first
    unit); refunded one at a time after shipping, the buyer gets back exactly 10.00 and the
    order, still processing, ends cancelled."""
    market, _ = _market(make_market, clock)
    anna = Actor.vendor("anna")
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("10.00", "EUR"),
        items=[
            Item(vendor_id="anna", product_id="cup", quantity=3, unit_price=Money("3.34", "EUR"))
        ],
    )
    line = order.lines[0].line_id
    market.ship(order.order_id, by=anna, items={line: 3}, carrier="DHL", tracking_number="U1")
    amounts = []
    for _ in range(3):
        order = market.refund(order.order_id, by=anna, items={line: 1})
        amounts.append(order.refunds[-1].amount_minor)
    assert amounts == [334, 333, 333]
    assert (order.status, order.refunded_minor) == (OrderStatus.CANCELLED, 1000)


def test_r32_bestsellers_net_of_refunded_units_then_net_revenue_then_product_id(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R32: a: 3 x 5.00 with one unit refunded (2 units, 10.00); b: 2 x 6.00 (2 units, 12.00);
    c: 2 x 5.00 (2 units, 10.00). All tie on units; b leads on net revenue; a and c tie on
    revenue too and go by product id. Sales show 7 items, 1 refunded, 37.00 - 5.00."""
    market, _ = _market(make_market, clock)
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("37.00", "EUR"),
        items=[
            Item(vendor_id="anna", product_id=p, quantity=q, unit_price=Money(u, "EUR"))
            for p, q, u in (("c", 2, "5.00"), ("a", 3, "5.00"), ("b", 2, "6.00"))
        ],
    )
    market.refund(order.order_id, by=Actor.vendor("anna"), items={order.lines[1].line_id: 1})
    top = market.bestsellers("anna", by=STAFF, start=MARCH_1, end=MARCH_31)
    assert [
        (b.rank, b.product_id, b.units, b.units_refunded, b.net_revenue) for b in top.products
    ] == [
        (1, "b", 2, 0, Money("12.00", "EUR")),
        (2, "a", 2, 1, Money("10.00", "EUR")),
        (3, "c", 2, 0, Money("10.00", "EUR")),
    ]
    (sales,) = market.sales_report(
        "anna", by=STAFF, granularity="month", start=MARCH_1, end=MARCH_31
    ).totals
    assert (sales.items, sales.refunded_items, sales.gross_minor, sales.net_minor) == (
        7,
        1,
        3700,
        3200,
    )


def test_r30_a_converted_report_uses_the_rate_in_force_at_the_end_of_the_local_day(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R30: a vendor in Tokyo (UTC+9) sells 10.00 GBP at 09:00 UTC on 2 March (18:00 local);
    its local day ends at 15:00 UTC. A rate published exactly then (1.20) belongs to 3 March:
    the day converts at 1.15, 11.50 EUR. A rate published one microsecond before (1.30) is the
    one in force at the end of the day: 13.00 EUR."""
    market, rates = _market(make_market, clock, rates={("GBP", "EUR"): "1.15"})
    market.register_vendor("anna", payout_currency="EUR", by=STAFF, timezone="Asia/Tokyo")
    _place(market, "anna", "10.00", "GBP")
    clock.set(dt.datetime(2026, 3, 3, 16, 0, tzinfo=dt.UTC))
    midnight = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    rates.set_rate("GBP", "EUR", "1.20", as_of=midnight)
    day = dt.date(2026, 3, 2)
    (figures,) = market.sales_report("anna", by=STAFF, currency="EUR", start=day, end=day).totals
    assert figures.gross == Money("11.50", "EUR")
    rates.set_rate("GBP", "EUR", "1.30", as_of=midnight - US)
    report = market.sales_report("anna", by=STAFF, currency="EUR", start=day, end=day)
    assert report.totals[0].gross == Money("13.00", "EUR")
    assert [(r.day, r.rate) for r in report.rates] == [(dt.date(2026, 3, 2), Decimal("1.30"))]


def test_r30_weeks_are_iso_weeks_and_2026_has_a_week_53(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R30: from Sunday 27 December 2026 to Sunday 10 January 2027 the weekly periods are
    2026-W52 (clipped to its Sunday), 2026-W53 (28 Dec - 3 Jan) and 2027-W01 (4 - 10 Jan)."""
    market, _ = _market(make_market, clock)
    market.register_vendor("anna", payout_currency="EUR", by=STAFF)
    report = market.sales_report(
        "anna", start=dt.date(2026, 12, 27), end=dt.date(2027, 1, 10), by=STAFF, granularity="week"
    )
    assert [(p.period.label, p.period.first_day, p.period.last_day) for p in report.periods] == [
        ("2026-W52", dt.date(2026, 12, 27), dt.date(2026, 12, 27)),
        ("2026-W53", dt.date(2026, 12, 28), dt.date(2027, 1, 3)),
        ("2027-W01", dt.date(2027, 1, 4), dt.date(2027, 1, 10)),
    ]


@pytest.mark.parametrize(("late", "allowed"), [(-US, True), (dt.timedelta(0), True), (US, False)])
def test_r37_the_return_window_is_open_to_its_last_microsecond(
    make_market: MarketFactory, clock: FakeClock, late: dt.timedelta, allowed: bool
) -> None:
    """R37, R19, R25: a 14-day window from the confirmation at START closes at START + 336
    hours: a request at that instant is accepted, one a microsecond later is refused
    (``window_closed``, naming the instant). The 12.5 % restocking fee on a 10.12 unit is
    1.265, rounded half-even to 1.26 (not 1.27): the buyer gets 8.86."""
    market, _ = _market(make_market, clock)
    anna = Actor.vendor("anna")
    policy = ReturnPolicy(returns_accepted=True, window_days=14, restocking_fee_bp=1250)
    (order,) = market.place_checkout(
        buyer=ADA,
        customer_name="Ada",
        paid=Money("10.12", "EUR"),
        items=[
            Item(
                vendor_id="anna",
                product_id="mug",
                quantity=1,
                unit_price=Money("10.12", "EUR"),
                policy=policy,
            )
        ],
    )
    oid, line = order.order_id, order.lines[0].line_id
    market.confirm_receipt(oid, _deliver(market, order), by=ADA)
    closes = START + dt.timedelta(hours=336)
    clock.set(closes + late)
    if not allowed:
        with pytest.raises(ReturnNotAllowedError) as closed:
            market.request_return(oid, by=ADA, kind=ReturnKind.RETURN, items={line: 1}, reason="r")
        assert closed.value.code == "return_not_allowed"
        assert closed.value.fields["reason"] == "window_closed"
        assert closed.value.fields["closed_at"] == closes.isoformat()
        return
    requested = market.request_return(
        oid, by=ADA, kind=ReturnKind.RETURN, items={line: 1}, reason="r"
    )
    rid = requested.returns[-1].return_id
    market.accept_return(oid, rid, by=anna)
    market.ship_return(oid, rid, by=ADA, carrier="DHL", tracking_number="R1")
    market.receive_return(oid, rid, by=anna)
    refunded = market.refund_return(oid, rid, by=anna)
    assert (refunded.refunds[-1].amount_minor, refunded.refunded_minor) == (886, 886)


def test_r39_r41_a_release_line_explains_the_chargeback_fee_it_carries(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R39, R41, R31: 100.00 EUR completed, commission 10 %. Before release the provider
    charges back 100.00 with a 15.00 fee: held 100.00 - 100.00 - 15.00 = -15.00, frozen. The
    platform wins (the provider keeps its fee): commission 10.00 again, held 100.00 - 15.00 -
    10.00 = 75.00, released at its due time. The statement line reads gross 100.00,
    commission 10.00, processing fee 15.00 (the provider's fee), proceeds 75.00: each line
    explains itself, and the earnings report shows the 15.00 among the processing fees."""
    market, _ = _market(make_market, clock, fees=FeeSchedule(commission_bp=1000))
    market.register_vendor("anna", payout_currency="EUR", by=STAFF)
    order = _sell(market, "anna", "100.00")
    hold = market.report_chargeback(
        order.order_id,
        amount=Money("100.00", "EUR"),
        fee=Money("15.00", "EUR"),
        by=Actor.system(),
        reference="dp_1",
    )
    assert (hold.state, hold.held_minor, hold.commission_minor) == (HoldState.FROZEN, -1500, 0)
    clock.advance(days=2)
    hold = market.chargeback_won(order.order_id, reference="dp_1", by=STAFF)
    assert (hold.state, hold.held_minor, hold.commission_minor) == (HoldState.HELD, 7500, 1000)
    clock.set(START + HOLD)
    market.run_due()
    (line,) = market.statement("anna", by=STAFF).lines
    assert (line.gross, line.commission, line.processing_fee, line.amount) == (
        Money("100.00", "EUR"),
        Money("10.00", "EUR"),
        Money("15.00", "EUR"),
        Money("75.00", "EUR"),
    )
    assert line.gross_minor - line.commission_minor - line.processing_fee_minor == (
        line.proceeds_minor
    )
    (eur,) = (
        market.earnings_report("anna", start=MARCH_1, end=MARCH_31, by=STAFF, granularity="month")
        .periods[0]
        .figures
    )
    assert (eur.released_minor, eur.commission_minor, eur.processing_fees_minor) == (
        7500,
        1000,
        1500,
    )
    assert market.verify_reports("anna", by=STAFF).ok


def test_r2_r7_confirming_a_parcel_still_in_transit_says_when_it_becomes_possible(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R2, R7: the buyer selects "Order Received" before the vendor marked the parcel
    delivered: refused with ``invalid_transition``, a message naming the state and when the
    action becomes possible, and nothing changed."""
    market, _ = _market(make_market, clock)
    order = _place(market, "anna", "20.00")
    shipped = market.ship(
        order.order_id,
        by=Actor.vendor("anna"),
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="Q1",
    )
    parcel = shipped.shipments[0].shipment_id
    with pytest.raises(InvalidTransitionError) as early:
        market.confirm_receipt(order.order_id, parcel, by=ADA)
    assert early.value.code == "invalid_transition"
    assert str(early.value) == (
        "cannot confirm receipt: the shipment is in transit; a buyer can confirm receipt only "
        "while it is delivered"
    )
    assert market.get_order(order.order_id, by=STAFF) == shipped


def test_r23_a_vendor_in_debt_keeps_its_payout_currency_until_the_debt_is_offset(
    make_market: MarketFactory, clock: FakeClock
) -> None:
    """R23, R22, R18: paid in GBP at 0.85, a 100.00 EUR sale is released (85.00 GBP) and paid
    out, then refunded in full: -85.00 GBP. Switching the vendor to EUR now would let the
    next EUR releases be paid out while the GBP debt stays, so it is refused and changes
    nothing. A second 100.00 EUR sale, released at 0.85, offsets the debt to 0.00 GBP; then
    the switch is accepted."""
    market, _ = _market(make_market, clock, rates={("EUR", "GBP"): "0.85"})
    market.register_vendor("anna", payout_currency="GBP", by=STAFF)
    first = _sell(market, "anna", "100.00")
    clock.advance(hours=168)
    market.run_due()
    market.run_payouts()
    market.refund(first.order_id, by=Actor.vendor("anna"), amount=Money("100.00", "EUR"))
    assert market.balance("anna", by=STAFF).balance == Money("-85.00", "GBP")
    before = market.get_vendor("anna", by=STAFF)
    with pytest.raises(InvalidTransitionError) as owed:
        market.register_vendor("anna", payout_currency="EUR", by=STAFF)
    assert owed.value.code == "invalid_transition"
    assert "owes 85.00 GBP" in str(owed.value)
    assert market.get_vendor("anna", by=STAFF) == before
    _sell(market, "anna", "100.00")
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("anna", by=STAFF).balance == Money("0.00", "GBP")
    assert market.run_payouts() == ()
    assert market.register_vendor("anna", payout_currency="EUR", by=STAFF).payout_currency == "EUR"


@pytest.mark.parametrize(
    ("rounding", "commission", "held"),
    [
        (Rounding.HALF_EVEN, 102, 923),  # 1.025 -> 1.02: the 2 is even
        (Rounding.HALF_UP, 103, 922),
        (Rounding.DOWN, 102, 923),
        (Rounding.UP, 103, 922),
    ],
)
def test_r25_the_fee_schedule_names_the_rounding_of_each_fee(
    make_market: MarketFactory, clock: FakeClock, rounding: Rounding, commission: int, held: int
) -> None:
    """R25, R15: "half-even unless the fee schedule says otherwise": 10 % of 10.25 EUR is
    1.025, exactly half a cent, rounded once by the schedule's ``commission_rounding``; the
    held proceeds are what is left of the 10.25."""
    fees = FeeSchedule(commission_bp=1000, commission_rounding=rounding)
    market, _ = _market(make_market, clock, fees=fees)
    order = _sell(market, "anna", "10.25")
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.commission_minor, hold.held_minor) == (commission, held)
    assert hold.commission_minor + hold.held_minor == 1025


@pytest.mark.parametrize(("published", "credited"), [(dt.timedelta(0), "9.00"), (US, "8.00")])
def test_r17_the_rate_in_force_at_release_includes_one_published_at_that_instant(
    make_market: MarketFactory, clock: FakeClock, published: dt.timedelta, credited: str
) -> None:
    """R17, R24: 10.00 EUR released at ``release_at`` to a vendor paid in GBP. The rate is
    0.80 until a new one, 0.90, is published: exactly at the release it is in force (9.00
    GBP, and the statement names that rate's time); a microsecond later it is not (8.00)."""
    market, rates = _market(make_market, clock, rates={("EUR", "GBP"): "0.80"})
    market.register_vendor("anna", payout_currency="GBP", by=STAFF)
    _sell(market, "anna", "10.00")
    due = START + HOLD
    rates.set_rate("EUR", "GBP", "0.90", as_of=due + published)
    clock.set(due)
    market.run_due()
    (line,) = market.statement("anna", by=STAFF).lines
    assert line.amount == Money(credited, "GBP")
    assert line.rate_as_of == (due if published == dt.timedelta(0) else START)


@pytest.mark.parametrize(
    ("commission_back", "processing_back", "vendor_keeps"),
    [
        # commission kept: 100.00 - 50.00 - 10.00 - 3.20 = 36.80
        (False, False, 3680),
        # default: commission on the net 50.00 is 5.00: 100.00 - 50.00 - 5.00 - 3.20 = 41.80
        (True, False, 4180),
        # processing refunded too: 2.9 % of 50.00 + 0.30 = 1.75: 100 - 50 - 5.00 - 1.75 = 43.25
        (True, True, 4325),
    ],
)
def test_r21_r22_a_refund_costs_the_vendor_the_same_before_and_after_release(
    make_market: MarketFactory,
    clock: FakeClock,
    commission_back: bool,
    processing_back: bool,
    vendor_keeps: int,
) -> None:
    """R21, R22: commission 10 %, processing 2.9 % + 0.30 (3.20 on 100.00), one currency. Two
    100.00 orders, each refunded 50.00: one before its release, one after. Whatever the fee
    schedule says comes back on a refund, the vendor keeps the same from each order."""
    fees = FeeSchedule(
        commission_bp=1000,
        processing_bp=290,
        processing_fixed={"EUR": Money("0.30", "EUR")},
        commission_refunded_on_refund=commission_back,
        processing_fee_refunded_on_refund=processing_back,
    )
    market, _ = _market(make_market, clock, fees=fees)
    anna = Actor.vendor("anna")
    market.register_vendor("anna", payout_currency="EUR", by=STAFF)
    before, after = _sell(market, "anna", "100.00"), _sell(market, "anna", "100.00")
    market.refund(before.order_id, by=anna, amount=Money("50.00", "EUR"))
    assert market.get_hold(before.order_id, by=STAFF).held_minor == vendor_keeps
    clock.advance(hours=168)
    market.run_due()
    released = market.get_hold(after.order_id, by=STAFF).released_minor
    assert released == 8680  # 100.00 - 10.00 - 3.20
    market.refund(after.order_id, by=anna, amount=Money("50.00", "EUR"))
    assert market.balance("anna", by=STAFF).balance_minor == 2 * vendor_keeps
