"""Worked report examples, every figure written out (R30-R33), on every store.

Fees where a story uses them (``FEES`` of the ledger stories): commission 10 % of the net,
processing 2.9 % of the amount paid + 0.30 EUR, conversion 2 %, all half-even.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    FeeSchedule,
    Granularity,
    InvalidDateRangeError,
    InvalidInputError,
    Item,
    Marketplace,
    NotPermittedError,
    RefundExceedsPaidError,
    ReportsRebuildingError,
    UnknownTimeZoneError,
    UnknownVendorError,
    UnsupportedReportingCurrencyError,
    to_csv,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ports import Store
from test_ledger_support import BUYER, FEES, STAFF, START, complete, money_market, place

D = dt.date


def _cart(market: Marketplace, vendor_id: str) -> str:
    """2 x p-mug at 10.00 + 1 x p-tea at 5.00 + 3.00 shipping, paid 28.00 EUR."""
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ann",
        items=[
            Item(
                vendor_id=vendor_id,
                product_id="p-mug",
                quantity=2,
                unit_price=Money("10.00", "EUR"),
            ),
            Item(
                vendor_id=vendor_id, product_id="p-tea", quantity=1, unit_price=Money("5.00", "EUR")
            ),
        ],
        paid=Money("28.00", "EUR"),
        shipping={vendor_id: Money("3.00", "EUR")},
    )
    return order.order_id


def test_refund_after_release(store: Store, clock: FakeClock) -> None:
    """R30, R31, R32, R22: a 28.00 EUR order placed and completed Monday 2026-03-02 09:00 UTC.

    Fees at completion: commission 10 % of 28.00 = 2.80; processing 2.9 % of 28.00 = 0.812
    -> 0.81, + 0.30 = 1.11; held 28.00 - 2.80 - 1.11 = 24.09, released 168 hours later
    (Monday 2026-03-09). On Tuesday 2026-03-10 the vendor refunds the tea (5.00): after
    release it is debited from the balance (same currency: no conversion fee) less the
    commission on the refunded part, which comes back as it would before release (10 % of
    5.00 = 0.50): 5.00 - 0.50 = 4.50 debited; 24.09 - 4.50 = 19.59, the ledger balance.
    """
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FEES)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    order_id = _cart(market, "v-eu")
    order = complete(market, market.get_order(order_id, by=vendor))
    tea = order.lines[1].line_id
    clock.advance(hours=168)
    assert market.run_due().timers == {"release": 1}
    clock.advance(days=1)
    market.refund(order_id, by=vendor, items={tea: 1})

    sales = market.sales_report("v-eu", start=D(2026, 3, 2), end=D(2026, 3, 10), by=vendor)
    assert len(sales.periods) == 9
    first, last = sales.periods[0], sales.periods[-1]
    assert first.period.label == "2026-03-02"
    (f,) = first.figures
    assert (f.currency, f.orders, f.items, f.refunded_items) == ("EUR", 1, 3, 0)
    assert (f.gross, f.refunds, f.net) == (
        Money("28.00", "EUR"),
        Money("0", "EUR"),
        Money("28.00", "EUR"),
    )
    (f,) = last.figures
    assert (f.orders, f.items, f.refunded_items) == (0, 0, 1)
    assert (f.gross_minor, f.refunds_minor, f.net_minor) == (0, 500, -500)
    assert all(not p.figures for p in sales.periods[1:-1])
    (total,) = sales.totals
    assert (total.orders, total.items, total.gross_minor, total.refunds_minor, total.net_minor) == (
        1,
        3,
        2800,
        500,
        2300,
    )

    weekly = market.sales_report(
        "v-eu", start=D(2026, 3, 2), end=D(2026, 3, 10), by=vendor, granularity="week"
    )
    assert [p.period.label for p in weekly.periods] == ["2026-W10", "2026-W11"]
    assert weekly.periods[1].period.last_day == D(2026, 3, 10)  # clipped to the range
    assert [p.figures[0].net_minor for p in weekly.periods] == [2800, -500]

    earnings = market.earnings_report(
        "v-eu", start=D(2026, 3, 2), end=D(2026, 3, 10), by=vendor, granularity=Granularity.WEEK
    )
    (w10,) = earnings.periods[0].figures
    assert w10.minors() == (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    (w11,) = earnings.periods[1].figures
    assert (w11.opening_minor, w11.released_minor, w11.commission_minor) == (0, 2409, 280)
    assert (w11.processing_fees_minor, w11.conversion_fees_minor) == (111, 0)
    assert (w11.refunds_debited_minor, w11.chargebacks_debited_minor, w11.payouts_minor) == (
        450,
        0,
        0,
    )
    assert w11.closing == Money("19.59", "EUR") == market.balance("v-eu", by=vendor).balance
    assert earnings.held == ()

    top = market.bestsellers("v-eu", start=D(2026, 3, 1), end=D(2026, 3, 31), by=vendor)
    assert top.currency == "EUR"
    assert top.total_units == 2
    mug, tea_row = top.products
    assert (mug.rank, mug.product_id, mug.units, mug.units_sold, mug.units_refunded) == (
        1,
        "p-mug",
        2,
        2,
        0,
    )
    assert (mug.net_revenue, mug.share) == (Money("20.00", "EUR"), Decimal("1.0000"))
    assert (tea_row.product_id, tea_row.units, tea_row.units_sold, tea_row.units_refunded) == (
        "p-tea",
        0,
        1,
        1,
    )
    assert (tea_row.net_revenue_minor, tea_row.share) == (0, Decimal("0.0000"))
    assert market.verify_reports("v-eu", by=STAFF).ok


def test_multi_currency_vendor(store: Store, clock: FakeClock) -> None:
    """R30, R32: a vendor paid in EUR sells 100.00 EUR on Monday 2026-03-02 and 50.00 GBP on
    Tuesday. Per currency: EUR 100.00 Monday, GBP 50.00 Tuesday. In EUR at each day's rate
    (GBP/EUR 1.1700 from Monday): 50.00 GBP = 58.50 EUR; the total is 158.50 EUR and the
    rate used is listed. Bestsellers rank p-1's 2 units with net revenue 158.50 EUR."""
    rates = FixedRateProvider({("GBP", "EUR"): "1.1700"}, as_of=START)
    market = money_market(store, clock, rates, fees=FeeSchedule())
    market.register_vendor("v-mc", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-mc")
    place(market, "v-mc", Money("100.00", "EUR"))
    clock.advance(days=1)
    place(market, "v-mc", Money("50.00", "GBP"))
    week = (D(2026, 3, 2), D(2026, 3, 3))

    per = market.sales_report("v-mc", start=week[0], end=week[1], by=vendor)
    assert [[(f.currency, f.gross_minor) for f in p.figures] for p in per.periods] == [
        [("EUR", 10000)],
        [("GBP", 5000)],
    ]
    assert [(t.currency, t.orders, t.net_minor) for t in per.totals] == [
        ("EUR", 1, 10000),
        ("GBP", 1, 5000),
    ]
    assert per.to_rows()[1:] == (
        ("2026-03-02", "2026-03-02", "2026-03-02", "EUR", 1, 1, 0, "100.00", "0.00", "100.00"),
        ("2026-03-02", "2026-03-02", "2026-03-02", "GBP", 0, 0, 0, "0.00", "0.00", "0.00"),
        ("2026-03-03", "2026-03-03", "2026-03-03", "EUR", 0, 0, 0, "0.00", "0.00", "0.00"),
        ("2026-03-03", "2026-03-03", "2026-03-03", "GBP", 1, 1, 0, "50.00", "0.00", "50.00"),
    )

    eur = market.sales_report("v-mc", start=week[0], end=week[1], by=vendor, currency="EUR")
    assert [p.figures[0].gross_minor for p in eur.periods] == [10000, 5850]
    (total,) = eur.totals
    assert (total.currency, total.orders, total.gross) == ("EUR", 2, Money("158.50", "EUR"))
    (rate,) = eur.rates
    assert (rate.day, rate.base, rate.quote, rate.rate) == (
        D(2026, 3, 3),
        "GBP",
        "EUR",
        Decimal("1.1700"),
    )
    data = eur.to_dict()
    assert data["totals"] == [
        {
            "currency": "EUR",
            "orders": 2,
            "items": 2,
            "refunded_items": 0,
            "gross": "158.50",
            "refunds": "0.00",
            "net": "158.50",
        }
    ]
    assert data["rates"][0]["rate"] == "1.1700"

    top = market.bestsellers("v-mc", start=week[0], end=week[1], by=vendor)
    (p1,) = top.products
    assert (p1.product_id, p1.units, p1.net_revenue) == ("p-1", 2, Money("158.50", "EUR"))
    assert [r.day for r in top.rates] == [D(2026, 3, 3)]
    assert market.verify_reports("v-mc", by=vendor).ok


def test_week_spanning_daylight_saving_change(store: Store, clock: FakeClock) -> None:
    """R30: Paris moves from UTC+1 to UTC+2 on Sunday 2026-03-29 at 02:00. That Sunday is one
    calendar day of 23 hours (2026-03-28 23:00 UTC to 2026-03-29 22:00 UTC). Orders at
    23:30 UTC Saturday (00:30 Sunday, CET) and 21:30 UTC Sunday (23:30, CEST) are both on
    Sunday, in ISO week 13; one at 22:30 UTC Sunday (00:30 Monday, CEST) is in week 14."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-fr", payout_currency="EUR", by=STAFF, timezone="Europe/Paris")
    vendor = Actor.vendor("v-fr")
    for at in ((3, 28, 23, 30), (3, 29, 21, 30), (3, 29, 22, 30)):
        clock.set(dt.datetime(2026, *at, tzinfo=dt.UTC))
        place(market, "v-fr", Money("10.00", "EUR"))

    days = market.sales_report("v-fr", start=D(2026, 3, 28), end=D(2026, 3, 30), by=vendor)
    assert [(p.period.label, sum(f.orders for f in p.figures)) for p in days.periods] == [
        ("2026-03-28", 0),
        ("2026-03-29", 2),
        ("2026-03-30", 1),
    ]
    sunday = days.periods[1].period
    assert sunday.start_at == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)
    assert sunday.end_at == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)
    assert sunday.end_at - sunday.start_at == dt.timedelta(hours=23)

    weeks = market.sales_report(
        "v-fr", start=D(2026, 3, 23), end=D(2026, 4, 5), by=vendor, granularity="week"
    )
    assert [(p.period.label, p.figures[0].orders) for p in weeks.periods] == [
        ("2026-W13", 2),
        ("2026-W14", 1),
    ]
    w13 = weeks.periods[0].period
    assert (w13.first_day, w13.last_day) == (D(2026, 3, 23), D(2026, 3, 29))
    assert w13.end_at - w13.start_at == dt.timedelta(days=7, hours=-1)


def test_month_with_no_orders(store: Store, clock: FakeClock) -> None:
    """R30, R31: 10.00 EUR sold in March and in May 2026, none in April. The monthly report
    has an April with nothing sold (zeros in its rows), and April's earnings open and close
    at March's closing balance (0.00: nothing released yet)."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-m", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-m")
    place(market, "v-m", Money("10.00", "EUR"))
    clock.set(dt.datetime(2026, 5, 5, 12, 0, tzinfo=dt.UTC))
    place(market, "v-m", Money("10.00", "EUR"))

    months = market.sales_report(
        "v-m", start=D(2026, 3, 1), end=D(2026, 5, 31), by=vendor, granularity="month"
    )
    assert [p.period.label for p in months.periods] == ["2026-03", "2026-04", "2026-05"]
    assert [len(p.figures) for p in months.periods] == [1, 0, 1]
    assert months.to_rows()[2] == (
        "2026-04",
        "2026-04-01",
        "2026-04-30",
        "EUR",
        0,
        0,
        0,
        "0.00",
        "0.00",
        "0.00",
    )
    csv_text = to_csv(months.to_rows())
    assert (
        csv_text.splitlines()[0]
        == "period,first_day,last_day,currency,orders,items,refunded_items,gross,refunds,net"
    )
    earnings = market.earnings_report(
        "v-m", start=D(2026, 3, 1), end=D(2026, 5, 31), by=vendor, granularity="month"
    )
    assert all(not p.figures for p in earnings.periods)  # no balance account yet
    assert [(h.held_minor, h.release_at) for h in earnings.held] == [(1000, None), (1000, None)]


def test_vendor_east_of_utc(store: Store, clock: FakeClock) -> None:
    """R30: Tokyo is UTC+9. An order at 14:00 UTC on 2026-03-02 is 23:00 that day in Tokyo;
    one at 16:00 UTC is 01:00 on 2026-03-03, the next local day. Registered in UTC first,
    both count on 03-02; moving the vendor to Asia/Tokyo rebuilds its rollups (R33)."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-jp", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-jp")
    for hour in (14, 16):
        clock.set(dt.datetime(2026, 3, 2, hour, 0, tzinfo=dt.UTC))
        place(market, "v-jp", Money("10.00", "EUR"))
    span = {"start": D(2026, 3, 2), "end": D(2026, 3, 3), "by": vendor}

    utc = market.sales_report("v-jp", **span)  # type: ignore[arg-type]
    assert [sum(f.orders for f in p.figures) for p in utc.periods] == [2, 0]

    market.register_vendor("v-jp", payout_currency="EUR", by=STAFF, timezone="Asia/Tokyo")
    tokyo = market.sales_report("v-jp", **span)  # type: ignore[arg-type]
    assert tokyo.timezone == "Asia/Tokyo"
    assert [sum(f.orders for f in p.figures) for p in tokyo.periods] == [1, 1]
    assert tokyo.periods[1].period.start_at == dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    assert market.verify_reports("v-jp", by=STAFF).ok


# --- bad input and access (R1, R2) -----------------------------------------------------------


def test_bad_input_is_refused_clearly(store: Store, clock: FakeClock) -> None:
    """R2, R30: a range ending before it starts, an unknown vendor, an unknown time zone, an
    unsupported reporting currency or a bestseller limit out of range: clear errors."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    place(market, "v-1", Money("10.00", "EUR"))
    vendor = Actor.vendor("v-1")
    with pytest.raises(InvalidDateRangeError) as info:
        market.sales_report("v-1", start=D(2026, 3, 5), end=D(2026, 3, 1), by=vendor)
    assert info.value.code == "invalid_date_range"
    assert "before it starts" in info.value.message
    with pytest.raises(InvalidDateRangeError):
        market.earnings_report("v-1", start=dt.datetime(2026, 3, 1), end=D(2026, 3, 1), by=vendor)
    with pytest.raises(UnknownVendorError) as unknown:
        market.sales_report("v-nobody", start=D(2026, 3, 1), end=D(2026, 3, 1), by=STAFF)
    assert unknown.value.code == "unknown_vendor"
    with pytest.raises(UnknownTimeZoneError) as zone:
        market.register_vendor("v-1", payout_currency="EUR", by=STAFF, timezone="Mars/Olympus")
    assert zone.value.fields["field"] == "timezone"
    assert market.get_vendor("v-1", by=STAFF).timezone == "UTC"
    with pytest.raises(UnsupportedReportingCurrencyError):
        market.sales_report(
            "v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=vendor, currency="XYZ"
        )
    with pytest.raises(UnsupportedReportingCurrencyError) as no_rate:
        market.sales_report(
            "v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=vendor, currency="USD"
        )
    assert no_rate.value.fields["day"] == "2026-03-02"
    for limit in (0, 1001):
        with pytest.raises(InvalidInputError):
            market.bestsellers(
                "v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=vendor, limit=limit
            )
    with pytest.raises(InvalidInputError):
        market.sales_report(
            "v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=vendor, granularity="year"
        )


def test_only_the_vendor_or_staff_read_reports(store: Store, clock: FakeClock) -> None:
    """R1: another vendor or a buyer is refused; the vendor itself and staff may read."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    place(market, "v-1", Money("10.00", "EUR"))
    day = D(2026, 3, 2)
    for intruder in (Actor.vendor("v-2"), BUYER):
        for report in (market.sales_report, market.earnings_report, market.bestsellers):
            with pytest.raises(NotPermittedError):
                report("v-1", by=intruder, start=day, end=day)
        with pytest.raises(NotPermittedError):
            market.rebuild_reports("v-1", by=intruder)
    assert market.sales_report("v-1", by=STAFF, start=day, end=day).totals[0].orders == 1
    assert (
        market.bestsellers("v-1", by=Actor.vendor("v-1"), start=day, end=day).products[0].units == 1
    )


# --- verify and rebuild (R33) ---------------------------------------------------------------


def test_verify_lists_a_drifted_row_and_rebuild_fixes_it(store: Store, clock: FakeClock) -> None:
    """R33: a rollup row changed behind the library's back is reported with its stored and
    expected figures; a rebuild restores it."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    place(market, "v-1", Money("10.00", "EUR"))
    with store.unit_of_work() as uow:
        uow.reports.add_sales("v-1", D(2026, 3, 2).toordinal(), "EUR", (0, 0, 5, 0, 0))
        uow.commit()
    check = market.verify_reports("v-1", by=STAFF)
    assert not check.ok
    assert check.orders == 1
    (diff,) = check.differences
    assert (diff.table, diff.key, diff.stored, diff.expected) == (
        "sales",
        ("2026-03-02", "EUR"),
        (1, 1, 1005, 0, 0),
        (1, 1, 1000, 0, 0),
    )
    progress = market.rebuild_reports("v-1", by=STAFF)
    assert (progress.vendors, progress.orders, progress.done) == (("v-1",), 1, True)
    assert market.verify_reports("v-1", by=STAFF).ok


def test_rebuild_is_resumable_and_exact_under_concurrent_orders(
    store: Store, clock: FakeClock
) -> None:
    """R33: a rebuild stopped after one batch leaves a checkpoint; reports say so; orders
    placed and refunded meanwhile are counted once; calling again finishes it."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    orders = []
    for _ in range(5):
        orders.append(place(market, "v-1", Money("10.00", "EUR")))
        clock.advance(hours=1)
    place(market, "v-2", Money("7.00", "EUR"))
    stopped = market.rebuild_reports(by=STAFF, batch_size=2, max_batches=2)
    assert not stopped.done
    assert stopped.vendors == ()
    with pytest.raises(ReportsRebuildingError):
        market.sales_report("v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=STAFF)
    assert market.verify_reports("v-1", by=STAFF).rebuilding
    market.refund(orders[0].order_id, by=Actor.vendor("v-1"), amount=Money("1.00", "EUR"))
    market.refund(orders[4].order_id, by=Actor.vendor("v-1"), amount=Money("2.00", "EUR"))
    place(market, "v-1", Money("10.00", "EUR"))
    done = market.rebuild_reports(by=STAFF, batch_size=2)
    assert done.done
    assert done.vendors == ("v-1", "v-2")
    for v in ("v-1", "v-2"):
        assert market.verify_reports(v, by=STAFF).ok
    (total,) = market.sales_report("v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=STAFF).totals
    assert (total.orders, total.gross_minor, total.refunds_minor) == (6, 6000, 300)


def test_earnings_with_conversion_payout_debit_and_offset(store: Store, clock: FakeClock) -> None:
    """R31, R17, R18, R22, R23, R41: a vendor paid in GBP sells in EUR (EUR/GBP 0.8600).

    Week 11 (2026-03-09..15): order A (100.00 EUR, commission 10.00, processing 2.90 + 0.30
    = 3.20, held 86.80) is released Monday: 86.80 x 0.86 = 74.648 -> 74.65 GBP, conversion
    fee 2 % = 1.493 -> 1.49, credited 73.16; a payout in whole pounds pays 73.00. Tuesday
    20.00 EUR of A is refunded; the commission on it (10 % = 2.00) comes back, so 18.00 EUR
    is debited: 15.48 GBP + 2 % fee 0.3096 -> 0.31 = 15.79. The week closes at
    73.16 - 15.79 - 73.00 = -15.63 GBP; its EUR row shows A's commission and processing fee.

    Week 12: order B (50.00 EUR sold Tuesday of week 11: commission 5.00, processing 1.45 +
    0.30 = 1.75, held 43.25) is released: 43.25 x 0.86 = 37.195 -> 37.20, fee 0.744 -> 0.74,
    credited 36.46, of which 15.63 offsets the negative balance. It closes at 20.83 GBP,
    the ledger balance."""
    rates = FixedRateProvider({("EUR", "GBP"): "0.8600"}, as_of=START)
    market = money_market(
        store, clock, rates, fees=FEES, payout_quantum={"GBP": Money("1.00", "GBP")}
    )
    market.register_vendor("v-gb", payout_currency="GBP", by=STAFF)
    vendor = Actor.vendor("v-gb")
    a = complete(market, place(market, "v-gb", Money("100.00", "EUR")))
    clock.advance(hours=168)
    market.run_due()
    (payout,) = market.run_payouts()
    assert payout.amount == Money("73.00", "GBP")
    clock.advance(days=1)
    market.refund(a.order_id, by=vendor, amount=Money("20.00", "EUR"))
    complete(market, place(market, "v-gb", Money("50.00", "EUR")))
    clock.advance(hours=168)
    market.run_due()

    report = market.earnings_report(
        "v-gb", start=D(2026, 3, 9), end=D(2026, 3, 22), by=vendor, granularity="week"
    )
    w11_eur, w11_gbp = report.periods[0].figures
    assert (w11_eur.currency, w11_eur.commission_minor, w11_eur.processing_fees_minor) == (
        "EUR",
        1000,
        320,
    )
    assert (w11_eur.released_minor, w11_eur.closing_minor) == (0, 0)
    assert w11_gbp.currency == "GBP"
    assert (w11_gbp.opening_minor, w11_gbp.released_minor, w11_gbp.conversion_fees_minor) == (
        0,
        7316,
        149 + 31,
    )
    assert (w11_gbp.refunds_debited_minor, w11_gbp.payouts_minor) == (1579, 7300)
    assert (w11_gbp.offsets_minor, w11_gbp.closing_minor) == (0, -1563)
    w12_eur, w12_gbp = report.periods[1].figures
    assert (w12_eur.commission_minor, w12_eur.processing_fees_minor) == (500, 175)
    assert (w12_gbp.opening_minor, w12_gbp.released_minor, w12_gbp.conversion_fees_minor) == (
        -1563,
        3646,
        74,
    )
    assert (w12_gbp.offsets_minor, w12_gbp.closing_minor) == (1563, 2083)
    assert w12_gbp.closing == market.balance("v-gb", by=vendor).balance == Money("20.83", "GBP")
    assert report.held == ()
    assert report.to_dict()["periods"][1]["figures"][1]["closing"] == "20.83"
    assert market.verify_reports("v-gb", by=STAFF).ok


def test_bestsellers_over_whole_and_partial_months(store: Store, clock: FakeClock) -> None:
    """R32: a range from 2026-03-15 to 2026-05-10 reads April from the monthly rollup and the
    days 03-15..03-31 and 05-01..05-10 from the daily one: the sales of 03-20 (p-1), 04-15
    (p-2) and 05-05 (p-2) count; those of 03-10 and 05-20 do not."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    for month, day, product in (
        (3, 10, "p-3"),
        (3, 20, "p-1"),
        (4, 15, "p-2"),
        (5, 5, "p-2"),
        (5, 20, "p-3"),
    ):
        clock.set(dt.datetime(2026, month, day, 12, 0, tzinfo=dt.UTC))
        (_order,) = market.place_checkout(
            buyer=BUYER,
            customer_name="Ann",
            items=[
                Item(
                    vendor_id="v-1", product_id=product, quantity=1, unit_price=Money("4.00", "EUR")
                )
            ],
            paid=Money("4.00", "EUR"),
        )
    top = market.bestsellers("v-1", start=D(2026, 3, 15), end=D(2026, 5, 10), by=STAFF)
    assert [(b.product_id, b.units, b.net_revenue_minor, b.share) for b in top.products] == [
        ("p-2", 2, 800, Decimal("0.6667")),
        ("p-1", 1, 400, Decimal("0.3333")),
    ]
    whole = market.bestsellers("v-1", start=D(2026, 3, 1), end=D(2026, 5, 31), by=STAFF)
    assert [(b.product_id, b.units) for b in whole.products] == [("p-2", 2), ("p-3", 2), ("p-1", 1)]
    assert whole.products[1].net_revenue == Money("8.00", "EUR")


def test_r32_bestseller_shares_sum_to_exactly_one_and_limit_keeps_them_of_all_units(
    store: Store, clock: FakeClock
) -> None:
    """R32: three products sold one unit each. Each exact share is 1/3 = 0.33333...; rounded
    one by one they would sum to 0.9999. Split with largest remainders (the three
    remainders tie, and so do the counts: the better rank, p-a, takes the spare
    ten-thousandth) they read 0.3334, 0.3333, 0.3333 = 1.0000. With ``limit=2`` the shares
    stay fractions of all 3 units: 0.3334 + 0.3333 = 0.6667 shown, the rest is p-c's."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    for product in ("p-c", "p-b", "p-a"):
        market.place_checkout(
            buyer=BUYER,
            customer_name="Ann",
            items=[
                Item(
                    vendor_id="v-1", product_id=product, quantity=1, unit_price=Money("4.00", "EUR")
                )
            ],
            paid=Money("4.00", "EUR"),
        )
    day = START.date()
    top = market.bestsellers("v-1", start=day, end=day, by=STAFF)
    assert [(b.product_id, b.share) for b in top.products] == [
        ("p-a", Decimal("0.3334")),
        ("p-b", Decimal("0.3333")),
        ("p-c", Decimal("0.3333")),
    ]
    assert sum(b.share for b in top.products) == Decimal("1.0000")
    assert top.to_dict()["products"][0]["share"] == "0.3334"
    two = market.bestsellers("v-1", start=day, end=day, by=STAFF, limit=2)
    assert (two.total_units, [b.share for b in two.products]) == (
        3,
        [Decimal("0.3334"), Decimal("0.3333")],
    )
    assert sum(b.share for b in two.products) == Decimal("0.6667")


def test_r32_a_product_net_negative_in_the_range_has_share_0_and_the_rest_sum_to_1(
    store: Store, clock: FakeClock
) -> None:
    """R32: 3 cups sold on 03-02; on 03-05 a mug sells 2 units and a tea 1, and 2 of the
    cups are refunded. Over 03-05 alone the cup is -2 net (sold 0, refunded 2): it ranks last
    with share 0, never negative, and the mug and tea share the whole, 0.6667 + 0.3333 = 1
    (``total_units`` is 2 + 1 - 2 = 1). Over both days the cup is +1: 0.5, 0.25, 0.25."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)

    def sell(product: str, units: int) -> str:
        (order,) = market.place_checkout(
            buyer=BUYER,
            customer_name="Ann",
            items=[
                Item(
                    vendor_id="v-1",
                    product_id=product,
                    quantity=units,
                    unit_price=Money("4.00", "EUR"),
                )
            ],
            paid=Money(4 * units, "EUR"),
        )
        return order.order_id

    cups = sell("p-cup", 3)
    clock.set(dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC))
    sell("p-mug", 2)
    sell("p-tea", 1)
    line = market.get_order(cups, by=STAFF).lines[0].line_id
    market.refund(cups, by=Actor.vendor("v-1"), items={line: 2})

    day = D(2026, 3, 5)
    top = market.bestsellers("v-1", start=day, end=day, by=STAFF)
    assert [(b.product_id, b.units, b.units_refunded, b.share) for b in top.products] == [
        ("p-mug", 2, 0, Decimal("0.6667")),
        ("p-tea", 1, 0, Decimal("0.3333")),
        ("p-cup", -2, 2, Decimal("0.0000")),
    ]
    assert top.total_units == 1
    assert sum(b.share for b in top.products) == 1
    both = market.bestsellers("v-1", start=D(2026, 3, 2), end=day, by=STAFF)
    assert [(b.product_id, b.units, b.share) for b in both.products] == [
        ("p-mug", 2, Decimal("0.5000")),
        ("p-cup", 1, Decimal("0.2500")),
        ("p-tea", 1, Decimal("0.2500")),
    ]


def test_a_refused_refund_leaves_the_rollups_as_they_were(store: Store, clock: FakeClock) -> None:
    """R2, R39, R33: after a 10.00 chargeback on a 10.00 order, a refund is refused (the money
    already went back to the buyer); the sales rollup keeps no trace of it."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FeeSchedule())
    order = place(market, "v-1", Money("10.00", "EUR"))
    market.report_chargeback(order.order_id, amount=Money("10.00", "EUR"), by=STAFF)
    before = market.sales_report("v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=STAFF)
    with pytest.raises(RefundExceedsPaidError):
        market.refund(order.order_id, by=Actor.vendor("v-1"), amount=Money("1.00", "EUR"))
    after = market.sales_report("v-1", start=D(2026, 3, 2), end=D(2026, 3, 2), by=STAFF)
    assert after == before
    assert after.totals[0].refunds_minor == 0
    assert market.verify_reports("v-1", by=STAFF).ok


def test_r31_adjustments_reserve_and_won_chargebacks_keep_the_closing_balance(
    store: Store, clock: FakeClock
) -> None:
    """R31, R33, R39, R41: the endings' money moves (a 10 % rolling reserve kept for 7 days,
    a goodwill credit of 3.00 and a fine of 1.00, a chargeback of 10.00 after release that
    the platform wins) all land in the earnings rollup: the closing balance is the ledger's
    at every step, the won chargeback nets the chargeback column to zero, and verify finds
    nothing.

    A 100.00 EUR order (commission 10.00, processing 3.20, held 86.80) is released: 10 % of
    86.80 = 8.68 is kept in reserve, 78.12 reaches the balance. +3.00 - 1.00 = 80.12. The
    chargeback debits 10.00 (commission on it comes back, 1.00: 9.00 debited, 71.12); won,
    it is reinstated (80.12). Seven days later the reserve comes back: 88.80."""
    market = money_market(store, clock, FixedRateProvider(as_of=START), fees=FEES)
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    market.set_payout_terms("v-1", by=STAFF, reason="new vendor", reserve_bp=1000, reserve_days=7)
    vendor = Actor.vendor("v-1")
    order = complete(market, place(market, "v-1", Money("100.00", "EUR")))
    clock.advance(hours=168)
    market.run_due()
    market.adjust_balance("v-1", amount=Money("3.00", "EUR"), reason="goodwill", by=STAFF)
    market.adjust_balance("v-1", amount=Money("-1.00", "EUR"), reason="late shipping", by=STAFF)
    market.report_chargeback(
        order.order_id, amount=Money("10.00", "EUR"), by=STAFF, reference="cb-1"
    )
    after_chargeback = market.balance("v-1", by=vendor).balance
    market.chargeback_won(order.order_id, reference="cb-1", by=STAFF)
    won = market.balance("v-1", by=vendor).balance
    clock.advance(days=8)
    market.run_due()
    final = market.balance("v-1", by=vendor).balance
    assert (after_chargeback, won, final) == (
        Money("71.12", "EUR"),
        Money("80.12", "EUR"),
        Money("88.80", "EUR"),
    )

    report = market.earnings_report(
        "v-1", start=D(2026, 3, 2), end=D(2026, 3, 31), by=vendor, granularity="month"
    )
    (march,) = report.periods[0].figures
    assert march.closing == final
    assert march.chargebacks_debited_minor == 0  # debited 9.00, reinstated 9.00
    assert market.verify_reports("v-1", by=STAFF).ok
