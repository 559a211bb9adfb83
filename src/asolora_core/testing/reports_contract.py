"""The reports part of the store contract (R30-R33).

Subclass :class:`ReportsContract` with ``make_store`` (a fresh, empty store) to check an
adapter's ``uow.reports`` rollups: adds accumulate, range reads sum and sort, a rollback
undoes adds and checkpoints, a rebuild's order batches follow the ``(placed_at, order_id)``
key, and one report scenario gives exactly the in-memory reference's figures.

Needs the ``testing`` extra (pytest).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from moneyed import Money

from asolora_core.actors import Actor
from asolora_core.adapters.memory import InMemoryStore
from asolora_core.clock import FakeClock
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import FeeSchedule, MoneyConfig
from asolora_core.ports import Store
from asolora_core.service import Item, Marketplace, MarketplaceConfig, SequentialIds

__all__ = ["ReportsContract", "reports_scenario"]

T0 = _dt.datetime(2026, 3, 1, 22, 30, tzinfo=_dt.UTC)
STAFF = Actor.staff("staff-1")
D1 = _dt.date(2026, 3, 1).toordinal()


def reports_scenario(store: Store) -> dict[str, Any]:
    """Two vendors (one in Europe/Paris paid in GBP, one in UTC), sales in two currencies,
    refunds before and after release, a payout; returns every report as ``to_dict()``."""
    clock = FakeClock(T0)
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=T0 - _dt.timedelta(days=1))
    fees = FeeSchedule(commission_bp=1000, processing_bp=290, conversion_bp=200)
    market = Marketplace(
        store,
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(money=MoneyConfig(fees=fees, rates=rates)),
    )
    market.register_vendor("v-fr", payout_currency="GBP", by=STAFF, timezone="Europe/Paris")
    buyer = Actor.buyer("b-1")
    orders = []
    for i, (price, currency) in enumerate(
        [("12.50", "EUR"), ("40.00", "EUR"), ("9.99", "GBP"), ("3.00", "EUR")]
    ):
        (order,) = market.place_checkout(
            buyer=buyer,
            customer_name="Ann",
            items=[
                Item(
                    vendor_id="v-fr" if i != 3 else "v-utc",
                    product_id=f"p-{i % 2}",
                    quantity=2,
                    unit_price=Money(price, currency),
                )
            ],
            paid=Money(price, currency) * 2,
        )
        orders.append(order)
        clock.advance(hours=7)
    first = orders[0]
    vendor = Actor.vendor("v-fr")
    shipped = market.ship(
        first.order_id,
        by=vendor,
        items={first.lines[0].line_id: 2},
        carrier="DHL",
        tracking_number="T-1",
    )
    market.mark_delivered(first.order_id, shipped.shipments[0].shipment_id, by=vendor)
    market.confirm_receipt(first.order_id, shipped.shipments[0].shipment_id, by=buyer)
    market.refund(orders[1].order_id, by=vendor, items={orders[1].lines[0].line_id: 1})
    clock.advance(hours=200)
    market.run_due()
    market.refund(first.order_id, by=vendor, amount=Money("2.00", "EUR"))
    market.run_payouts()
    start, end = _dt.date(2026, 2, 28), _dt.date(2026, 3, 12)
    out: dict[str, Any] = {}
    for v in ("v-fr", "v-utc"):
        for grain in ("day", "week", "month"):
            out[f"{v}:sales:{grain}"] = market.sales_report(
                v, start=start, end=end, by=STAFF, granularity=grain
            ).to_dict()
            out[f"{v}:earnings:{grain}"] = market.earnings_report(
                v, start=start, end=end, by=STAFF, granularity=grain
            ).to_dict()
        out[f"{v}:bestsellers"] = market.bestsellers(
            v, start=start, end=end, by=STAFF, currency="EUR"
        ).to_dict()
        out[f"{v}:verify"] = market.verify_reports(v, by=STAFF).differences
    return out


class ReportsContract:
    """The rollup checks every store passes. Subclass and implement :meth:`make_store`."""

    def make_store(self) -> Store:
        raise NotImplementedError("subclass ReportsContract and implement make_store()")

    def test_adds_accumulate_and_ranges_sum(self) -> None:
        """R30: adds to one key accumulate; reads return the range only, sorted."""
        store = self.make_store()
        try:
            with store.unit_of_work() as uow:
                r = uow.reports
                r.add_sales("v-1", D1, "EUR", (1, 2, 300, 0, 0))
                r.add_sales("v-1", D1, "EUR", (1, 1, 100, 50, 1))
                r.add_sales("v-1", D1, "GBP", (1, 1, 70, 0, 0))
                r.add_sales("v-1", D1 + 1, "EUR", (1, 1, 10, 0, 0))
                r.add_sales("v-2", D1, "EUR", (9, 9, 9, 9, 9))
                r.add_product("v-1", D1, "p-b", "EUR", (2, 300, 0, 0))
                r.add_product("v-1", D1 + 1, "p-b", "EUR", (1, 100, 1, 100))
                r.add_product("v-1", D1, "p-a", "EUR", (1, 50, 0, 0))
                r.add_money("v-1", D1, "EUR", (100, 10, 3, 0, 0, 0, 0, 0))
                r.add_money("v-1", D1 + 1, "EUR", (0, 0, 0, 0, 20, 5, 0, 60))
                uow.commit()
            with store.unit_of_work() as uow:
                r = uow.reports
                assert r.sales("v-1", D1, D1) == (
                    (D1, "EUR", 2, 3, 400, 50, 1),
                    (D1, "GBP", 1, 1, 70, 0, 0),
                )
                assert [row[0] for row in r.sales("v-1", D1, D1 + 5)] == [D1, D1, D1 + 1]
                assert r.sales("v-1", D1 + 2, D1 + 5) == ()
                assert r.products("v-1", D1, D1 + 1) == (
                    ("p-a", "EUR", 0, 1, 50, 0, 0),
                    ("p-b", "EUR", 0, 3, 400, 1, 100),
                )
                assert r.products("v-1", D1, D1 + 1, by_day=True) == (
                    ("p-a", "EUR", D1, 1, 50, 0, 0),
                    ("p-b", "EUR", D1, 2, 300, 0, 0),
                    ("p-b", "EUR", D1 + 1, 1, 100, 1, 100),
                )
                march = 2026 * 12 + 2
                assert r.product_months("v-1", march, march) == (
                    ("p-a", "EUR", 0, 1, 50, 0, 0),
                    ("p-b", "EUR", 0, 3, 400, 1, 100),
                )
                assert r.product_months("v-1", march, march, by_month=True)[1] == (
                    "p-b",
                    "EUR",
                    march,
                    3,
                    400,
                    1,
                    100,
                )
                assert r.product_months("v-1", march + 1, march + 5) == ()
                assert r.money("v-1", D1 + 1, D1 + 1) == (
                    (D1 + 1, "EUR", 0, 0, 0, 0, 20, 5, 0, 60),
                )
                assert r.money_before("v-1", D1 + 1) == ((0, "EUR", 100, 10, 3, 0, 0, 0, 0, 0),)
                assert r.money_before("v-1", D1) == ()
                assert r.has_vendor("v-1")
                assert not r.has_vendor("v-3")
        finally:
            store.close()

    def test_rollback_undoes_adds_and_checkpoints(self) -> None:
        """R2, R33: a rolled-back transaction leaves rows and checkpoints as they were."""
        store = self.make_store()
        try:
            with store.unit_of_work() as uow:
                uow.reports.add_sales("v-1", D1, "EUR", (1, 1, 100, 0, 0))
                uow.reports.put_checkpoint("job", "a")
                uow.commit()
            with store.unit_of_work() as uow:
                uow.reports.add_sales("v-1", D1, "EUR", (1, 1, 100, 0, 0))
                uow.reports.add_sales("v-1", D1 + 1, "EUR", (1, 1, 100, 0, 0))
                uow.reports.add_product("v-1", D1, "p", "EUR", (1, 1, 0, 0))
                uow.reports.add_money("v-1", D1, "EUR", (1, 0, 0, 0, 0, 0, 0, 0))
                uow.reports.put_checkpoint("job", "b")
                uow.reports.put_checkpoint("other", "c")
                uow.rollback()
            with store.unit_of_work() as uow:
                assert uow.reports.sales("v-1", 0, D1 + 10) == ((D1, "EUR", 1, 1, 100, 0, 0),)
                assert uow.reports.products("v-1", 0, D1 + 10) == ()
                assert uow.reports.money("v-1", 0, D1 + 10) == ()
                assert uow.reports.get_checkpoint("job") == "a"
                assert uow.reports.get_checkpoint("other") is None
                uow.reports.put_checkpoint("job", None)
                uow.rollback()
            with store.unit_of_work() as uow:
                assert uow.reports.get_checkpoint("job") == "a"
                uow.reports.put_checkpoint("job", None)
                uow.reports.clear("v-1")
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.reports.get_checkpoint("job") is None
                assert uow.reports.sales("v-1", 0, D1 + 10) == ()
                assert not uow.reports.has_vendor("v-1")
        finally:
            store.close()

    def test_rebuild_batches_follow_the_order_key(self) -> None:
        """R33: a rebuild reads a vendor's orders in ``(placed_at, order_id)`` order, in
        batches strictly after the last key; ``vendors`` lists every vendor once."""
        store = self.make_store()
        try:
            clock = FakeClock(T0)
            market = Marketplace(store, clock=clock, ids=SequentialIds())
            placed = []
            for i in range(5):
                (order,) = market.place_checkout(
                    buyer=Actor.buyer("b-1"),
                    customer_name="Ann",
                    items=[
                        Item(
                            vendor_id="v-2" if i == 2 else "v-1",
                            product_id="p",
                            quantity=1,
                            unit_price=Money("1.00", "EUR"),
                        )
                    ],
                    paid=Money("1.00", "EUR"),
                )
                placed.append(order)
                if i != 3:
                    clock.advance(minutes=1)  # orders 3 and 4 share an instant
            market.register_vendor("v-0", payout_currency="EUR", by=STAFF)
            v1 = [o.order_id for o in placed if o.vendor_id == "v-1"]
            with store.unit_of_work() as uow:
                first = uow.reports.vendor_orders("v-1", after=None, limit=2)
                assert [o.order_id for o in first] == v1[:2]
                tail = first[-1]
                rest = uow.reports.vendor_orders(
                    "v-1", after=(tail.placed_at, tail.order_id), limit=10
                )
                assert [o.order_id for o in rest] == v1[2:]
                same = rest[0]
                assert [
                    o.order_id
                    for o in uow.reports.vendor_orders(
                        "v-1", after=(same.placed_at, same.order_id), limit=10
                    )
                ] == v1[3:]
                assert uow.reports.vendors(after="", limit=10) == ("v-0", "v-1", "v-2")
                assert uow.reports.vendors(after="v-0", limit=1) == ("v-1",)
        finally:
            store.close()

    def test_reports_equal_the_in_memory_reference(self) -> None:
        """R33: every report of one scenario is identical on this store and in memory, and
        ``verify`` finds nothing."""
        store = self.make_store()
        try:
            got = reports_scenario(store)
        finally:
            store.close()
        assert got == reports_scenario(InMemoryStore())
        assert all(got[f"{v}:verify"] == () for v in ("v-fr", "v-utc"))
