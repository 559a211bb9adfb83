"""Property tests of the reports (R30-R33) over random histories, on every store.

A history is a random sequence of checkouts (two vendors, one west and one east of UTC, two
currencies, three products), refunds by units and by amount, cancellations, completions,
chargebacks, clock moves across days and a daylight-saving change, release sweeps and
payouts. Whatever happened: net sales = payments - refunds; the earnings' closing balance
is the ledger balance; bestseller units = units sold - units refunded; and ``verify`` finds
nothing (the rollups equal the fold recomputed from history).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    Bestseller,
    FakeClock,
    InMemoryStore,
    Item,
    Marketplace,
    Order,
    SqliteStore,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ports import Store
from asolora_core.reports.service import _shares
from pg_support import make_store as make_pg_store
from pg_support import postgres
from test_ledger_support import BUYER, FEES, STAFF, money_market

#: A week before Paris and New York change clocks (2026-03-08 US, 2026-03-29 EU).
T0 = dt.datetime(2026, 3, 6, 20, 0, tzinfo=dt.UTC)
VENDORS = {"v-ny": "America/New_York", "v-tk": "Asia/Tokyo"}
CURRENCIES = ("EUR", "GBP")

op = st.one_of(
    st.tuples(
        st.sampled_from(["place", "sell", "sell"]),  # sell: place, ship, deliver and confirm
        st.sampled_from(sorted(VENDORS)),
        st.sampled_from(CURRENCIES),
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(1, 3), st.integers(1, 4000)),
            min_size=1,
            max_size=3,
        ),
    ),
    st.tuples(st.just("advance"), st.integers(1, 200)),
    st.tuples(st.just("complete"), st.integers(0, 20)),
    st.tuples(st.just("complete"), st.just(-1)),  # the last order placed
    st.tuples(st.just("refund_units"), st.integers(0, 20), st.integers(0, 2), st.integers(1, 2)),
    st.tuples(st.just("refund_amount"), st.integers(0, 20), st.integers(1, 3000)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("chargeback"), st.integers(0, 20), st.integers(1, 3000)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("sweep")),  # twice: more releases, offsets and debits after release
    st.tuples(st.just("payout")),
)


@contextmanager
def opened(kind: str) -> Iterator[Store]:
    if kind == "memory":
        yield InMemoryStore()
        return
    if kind == "postgres":
        pg = make_pg_store()
        try:
            yield pg
        finally:
            pg.close()
        return
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "p.db")
        try:
            yield store
        finally:
            store.close()


def _minor(currency: str, cents: int) -> Money:
    return Money(f"{cents // 100}.{cents % 100:02d}", currency)


def _apply(market: Marketplace, clock: FakeClock, step: tuple[Any, ...], orders: list[str]) -> None:
    kind = step[0]
    try:
        if kind in ("place", "sell"):
            _, vendor_id, currency, lines = step
            items = [
                Item(
                    vendor_id=vendor_id,
                    product_id=f"p-{product}",
                    quantity=qty,
                    unit_price=_minor(currency, price),
                )
                for product, qty, price in lines
            ]
            paid = sum((i.unit_price * i.quantity for i in items), Money(0, currency))
            (order,) = market.place_checkout(
                buyer=BUYER, customer_name="Ann", items=items, paid=paid
            )
            orders.append(order.order_id)
            if kind == "sell":
                _complete(market, order)
            return
        if kind == "advance":
            clock.advance(hours=step[1])
            return
        if kind == "sweep":  # past the 168-hour hold: every completed order is released
            clock.advance(hours=169)
            market.run_due()
            return
        if kind == "payout":
            market.run_payouts()
            return
        if not orders:
            return
        order = market.get_order(orders[step[1] % len(orders)], by=STAFF)
        vendor = Actor.vendor(order.vendor_id)
        if kind == "complete":
            _complete(market, order)
        elif kind == "refund_units":
            line = order.lines[int(step[2]) % len(order.lines)]
            market.refund(order.order_id, by=vendor, items={line.line_id: int(step[3])})
        elif kind == "refund_amount":
            market.refund(order.order_id, by=vendor, amount=_minor(order.currency, int(step[2])))
        elif kind == "cancel":
            market.cancel_order(order.order_id, by=vendor)
        elif kind == "chargeback":
            market.report_chargeback(
                order.order_id,
                amount=_minor(order.currency, int(step[2])),
                by=STAFF,
            )
    except AsoloraError:
        pass  # a refusal changes nothing (R2); the history goes on


def _complete(market: Marketplace, order: Order) -> None:
    vendor = Actor.vendor(order.vendor_id)
    rest = {k: v for k, v in order.unshipped().items() if v > 0}
    if rest:
        order = market.ship(
            order.order_id, by=vendor, items=rest, carrier="DHL", tracking_number="T"
        )
    for s in order.shipments:
        if s.delivered_at is None:
            market.mark_delivered(order.order_id, s.shipment_id, by=vendor)
        if s.confirmed_at is None:
            market.confirm_receipt(order.order_id, s.shipment_id, by=BUYER)


@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("postgres", marks=postgres)])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(op, min_size=1, max_size=30))
def test_reports_agree_with_the_history(kind: str, steps: list[tuple[Any, ...]]) -> None:
    """R30, R31, R32, R33: for any history, on any store: net sales = payments - refunds per
    currency; the earnings' closing balance = the ledger balance in each currency;
    bestseller units = units sold - units refunded per product; ``verify`` finds nothing."""
    with opened(kind) as store:
        clock = FakeClock(T0)
        rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=T0 - dt.timedelta(days=30))
        market = money_market(store, clock, rates, fees=FEES)
        for vendor_id, zone in VENDORS.items():
            market.register_vendor(vendor_id, payout_currency="EUR", by=STAFF, timezone=zone)
        orders: list[str] = []
        for step in steps:
            _apply(market, clock, step, orders)
        start = (T0 - dt.timedelta(days=1)).date()
        end = (clock.now() + dt.timedelta(days=1)).date()
        for vendor_id in VENDORS:
            mine = [market.get_order(o, by=STAFF) for o in orders]
            mine = [o for o in mine if o.vendor_id == vendor_id]

            sales = market.sales_report(
                vendor_id, start=start, end=end, by=STAFF, granularity="week"
            )
            got = {
                t.currency: (t.orders, t.gross_minor, t.refunds_minor, t.net_minor)
                for t in sales.totals
            }
            want: dict[str, tuple[int, int, int, int]] = {}
            for o in mine:
                n, g, r, _ = want.get(o.currency, (0, 0, 0, 0))
                want[o.currency] = (n + 1, g + o.paid_minor, r + o.refunded_minor, 0)
            assert got == {c: (n, g, r, g - r) for c, (n, g, r, _) in want.items()}

            earnings = market.earnings_report(
                vendor_id, start=start, end=end, by=STAFF, granularity="month"
            )
            moved = [f for p in earnings.periods for f in p.figures]
            event("released" if any(f.released_minor for f in moved) else "nothing released")
            event("debited" if any(f.refunds_debited_minor for f in moved) else "no debit")
            for f in earnings.periods[-1].figures:
                balance = market.balance(vendor_id, by=STAFF, currency=f.currency)
                assert f.closing_minor == balance.balance_minor

            top = market.bestsellers(
                vendor_id, start=start, end=end, by=STAFF, limit=1000, currency="EUR"
            )
            units: dict[str, int] = {}
            for o in mine:
                for line in o.lines:
                    units[line.product_id] = (
                        units.get(line.product_id, 0) + line.quantity - line.refunded_quantity
                    )
            assert {b.product_id: b.units for b in top.products} == units
            assert top.total_units == sum(units.values())
            _check_shares(top.products)

            check = market.verify_reports(vendor_id, by=STAFF)
            assert check.ok, check.differences


def _check_shares(products: Sequence[Bestseller]) -> None:
    """R32: a share is the product's net units over every product's positive net units, 0
    for a product with none; whenever any is positive the shares sum to exactly 1 (largest
    remainders), each within 0.0001 of its exact ratio; with none, every share is 0."""
    base = sum(max(b.units, 0) for b in products)
    assert all(b.share >= 0 for b in products)
    if not base:
        assert all(b.share == 0 for b in products)
        return
    assert sum(b.share for b in products) == 1
    for b in products:
        exact = Fraction(max(b.units, 0), base)
        assert abs(Fraction(b.share) - exact) < Fraction(1, 10**4)


@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("postgres", marks=postgres)])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    before=st.lists(st.integers(2, 5), min_size=1, max_size=4),
    inside=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), max_size=5),
    refunds=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=4),
)
def test_bestseller_shares_with_refunds_of_units_sold_before_the_range(
    kind: str,
    before: list[int],
    inside: list[tuple[int, int]],
    refunds: list[tuple[int, int]],
) -> None:
    """R32: orders placed the day before the range, refunded (in part) inside it, next to
    sales inside it: products can be net negative in the range. Their share is 0, never
    negative; the others sum to exactly 1 whenever one is net positive."""
    with opened(kind) as store:
        clock = FakeClock(T0)
        rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=T0 - dt.timedelta(days=30))
        market = money_market(store, clock, rates, fees=FEES)
        market.register_vendor("v-s", payout_currency="EUR", by=STAFF)

        def sell(product: int, units: int) -> str:
            (order,) = market.place_checkout(
                buyer=BUYER,
                customer_name="Ann",
                items=[
                    Item(
                        vendor_id="v-s",
                        product_id=f"p-{product}",
                        quantity=units,
                        unit_price=_minor("EUR", 100),
                    )
                ],
                paid=_minor("EUR", 100 * units),
            )
            return order.order_id

        earlier = [sell(i, units) for i, units in enumerate(before)]
        clock.advance(days=2)
        for product, units in inside:
            sell(product, units)
        for which, units in refunds:
            order = market.get_order(earlier[which % len(earlier)], by=STAFF)
            line = order.lines[0]
            left = line.quantity - line.refunded_quantity - 1  # a unit stays to ship
            if left > 0:
                market.refund(
                    order.order_id, by=Actor.vendor("v-s"), items={line.line_id: min(units, left)}
                )
        day = clock.now().date()
        top = market.bestsellers("v-s", start=day, end=day, by=STAFF, limit=1000)
        event("a product net negative" if any(b.units < 0 for b in top.products) else "none")
        _check_shares(top.products)
        assert top.total_units == sum(b.units for b in top.products)


@given(
    units=st.lists(
        st.one_of(st.integers(-(10**6), 10**6), st.integers(-3, 3)), min_size=1, max_size=60
    )
)
def test_r32_shares_of_any_net_units_negative_ones_included(units: list[int]) -> None:
    """R32: for any net units, the full list's shares are never negative, 0 where the units
    are not positive, within 0.0001 of units / the positive units, and sum to exactly 1
    whenever one is positive (all 0 otherwise)."""
    shares = _shares(sorted(units, reverse=True))
    base = sum(u for u in units if u > 0)
    assert len(shares) == len(units)
    assert all(s >= 0 and s.as_tuple().exponent == -4 for s in shares)
    if base:
        assert sum(shares) == 1
    for u, s in zip(sorted(units, reverse=True), shares, strict=True):
        assert abs(Fraction(s) - Fraction(max(u, 0), base or 1)) < Fraction(1, 10**4)
