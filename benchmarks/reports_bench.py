"""Reports benchmarks (sales, earnings, bestsellers), used by ``run.py``'s ``reports`` section.

One vendor (Europe/Paris) with 1,000,000 order lines over 2026 (20,000 with ``--quick``):
orders of 1 to 5 lines over 200 products, 5 % of them with one unit refunded. The orders are
bulk-loaded into a SQLite file through the store's order repository (5,000 per transaction);
the same lines go into a plain ``bench_lines`` table on the same file, one row per line with
its local day, for the hand-written SQL baselines.

* ``rollup_rebuild_s``: ``Marketplace.rebuild_reports`` of that vendor from its orders;
* ``sales_s`` / ``bestsellers_s``: the per-day sales report for the year and the top 10
  through the library (from the rollups), best of 5;
* ``sales_raw_sql_s`` / ``bestsellers_raw_sql_s``: a hand-written ``GROUP BY`` over
  ``bench_lines`` with a covering index for each query, best of 5;
* ``sales_memory_s``: the same per-day sales report on an ``InMemoryStore`` holding the same
  rollups; ``sales_python_loop_s``: a plain Python loop over the lines as tuples, summing per
  day and currency, best of 3;
* ``lifecycle_with_rollups_per_s`` / ``lifecycle_without_rollups_per_s``: the facade
  lifecycle of ``facade_lifecycle`` on SQLite (place, two shipments, six tracking updates,
  two deliveries, two confirmations; completion posts the fees) with the reports' reactors
  installed, and with them removed; runs alternate, best of 6 (4 with ``--quick``). The
  ratios give the upkeep's cost both on the wall clock and in CPU time
  (``lifecycle_upkeep_cost_cpu``), the steadier figure on a shared machine.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InMemoryStore,
    Item,
    Marketplace,
    OrderStatus,
    SequentialIds,
    SqliteStore,
)
from asolora_core.orders.commands import unit_share
from asolora_core.orders.model import Line, Order, Refund, ReturnPolicy
from asolora_core.ports import Store
from asolora_core.reports import core

__all__ = ["run"]

VENDOR = "v-big"
ZONE = "Europe/Paris"
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
STAFF = Actor.staff("bench")
_POLICY = ReturnPolicy()
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _orders(lines_total: int) -> list[Order]:
    """Orders of one vendor over the year, ``lines_total`` lines in all (deterministic)."""
    rng = random.Random(7)
    orders: list[Order] = []
    count = 0
    seconds = 365 * 86_400
    n = 0
    while count < lines_total:
        n += 1
        k = min(rng.randint(1, 5), lines_total - count)
        placed = T0 + dt.timedelta(seconds=rng.randrange(seconds))
        lines = []
        for j in range(k):
            qty = rng.randint(1, 3)
            price = rng.randint(100, 10_000)
            lines.append(
                Line(
                    line_id=f"l-{n}-{j}",
                    product_id=f"p-{rng.randrange(200):03d}",
                    title="",
                    quantity=qty,
                    unit_price_minor=price,
                    paid_minor=qty * price,
                    policy=_POLICY,
                )
            )
        paid = sum(ln.paid_minor for ln in lines)
        refunds: tuple[Refund, ...] = ()
        if rng.random() < 0.05:
            first = lines[0]
            share = unit_share(first, 0, 1)
            lines[0] = Line(
                line_id=first.line_id,
                product_id=first.product_id,
                title="",
                quantity=first.quantity,
                unit_price_minor=first.unit_price_minor,
                paid_minor=first.paid_minor,
                policy=_POLICY,
                refunded_quantity=1,
            )
            refunds = (
                Refund(
                    refund_id=f"r-{n}",
                    amount_minor=share,
                    shipping_minor=0,
                    items=((first.line_id, 1),),
                    before_shipping=False,
                    reason="",
                    issue_id=None,
                    at=placed + dt.timedelta(days=2),
                ),
            )
        orders.append(
            Order(
                order_id=f"o-{n:07d}",
                version=1,
                checkout_id=f"c-{n}",
                vendor_id=VENDOR,
                buyer_id="b-1",
                customer_name="Ann",
                currency="EUR",
                lines=tuple(lines),
                shipping_paid_minor=0,
                paid_minor=paid,
                placed_at=placed,
                refunds=refunds,
            )
        )
        count += k
    return orders


def _line_tuples(orders: list[Order]) -> list[tuple[Any, ...]]:
    """One tuple per line: (vendor, day, currency, order, product, quantity, paid,
    refunded units, refunded amount, refund day) with days local to the vendor."""
    tz = core.zone(ZONE)
    rows = []
    for o in orders:
        day = core.local_day(o.placed_at, tz)
        refunded = {}
        for r in o.refunds:
            for line_id, qty in r.items:
                refunded[line_id] = (qty, r.at)
        for ln in o.lines:
            qty, at = refunded.get(ln.line_id, (0, None))
            rows.append(
                (
                    VENDOR,
                    day,
                    o.currency,
                    o.order_id,
                    ln.product_id,
                    ln.quantity,
                    ln.paid_minor,
                    qty,
                    unit_share(ln, 0, qty) if qty else 0,
                    core.local_day(at, tz) if at is not None else None,
                )
            )
    return rows


def _load(path: Path, orders: list[Order], lines: list[tuple[Any, ...]]) -> None:
    store = SqliteStore(path)
    try:
        market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
        market.register_vendor(VENDOR, payout_currency="EUR", by=STAFF, timezone=ZONE)
        for i in range(0, len(orders), 5000):
            with store.unit_of_work() as uow:
                for o in orders[i : i + 5000]:
                    uow.orders.add(o)
                uow.commit()
    finally:
        store.close()
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE bench_lines (vendor_id TEXT, day INTEGER, currency TEXT, order_id TEXT, "
        "product_id TEXT, quantity INTEGER, paid INTEGER, refunded_units INTEGER, "
        "refunded INTEGER, refund_day INTEGER)"
    )
    conn.executemany("INSERT INTO bench_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", lines)
    # the best index for each query: covering, range on (vendor, day) first
    conn.execute(
        "CREATE INDEX bench_sales ON bench_lines "
        "(vendor_id, day, currency, order_id, quantity, paid)"
    )
    conn.execute(
        "CREATE INDEX bench_refunds ON bench_lines "
        "(vendor_id, refund_day, currency, refunded_units, refunded)"
    )
    conn.execute(
        "CREATE INDEX bench_products ON bench_lines "
        "(vendor_id, day, product_id, quantity, refunded_units, paid, refunded)"
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


_RAW_SALES = (
    "SELECT day, currency, COUNT(DISTINCT order_id), SUM(quantity), SUM(paid) "
    "FROM bench_lines WHERE vendor_id = ? AND day BETWEEN ? AND ? "
    "GROUP BY day, currency ORDER BY day, currency"
)
_RAW_REFUNDS = (
    "SELECT refund_day, currency, SUM(refunded_units), SUM(refunded) FROM bench_lines "
    "WHERE vendor_id = ? AND refund_day BETWEEN ? AND ? GROUP BY refund_day, currency"
)
_RAW_TOP = (
    "SELECT product_id, SUM(quantity - refunded_units) AS units, SUM(paid - refunded) AS net "
    "FROM bench_lines WHERE vendor_id = ? AND day BETWEEN ? AND ? "
    "GROUP BY product_id ORDER BY units DESC, net DESC, product_id LIMIT 10"
)


def _python_loop(rows: list[tuple[Any, ...]]) -> dict[tuple[int, str], list[int]]:
    """Per-day sales over the lines as tuples: the plain-Python baseline."""
    first, last = YEAR[0].toordinal(), YEAR[1].toordinal()
    out: dict[tuple[int, str], list[int]] = {}
    for _v, day, cur, _o, _p, qty, paid, ref_units, refunded, ref_day in rows:
        if first <= day <= last:
            key = (day, cur)
            row = out.get(key)
            if row is None:
                row = out[key] = [0, 0, 0, 0]
            row[0] += qty
            row[1] += paid
        if ref_day is not None and first <= ref_day <= last:
            key = (ref_day, cur)
            row = out.get(key)
            if row is None:
                row = out[key] = [0, 0, 0, 0]
            row[2] += ref_units
            row[3] += refunded
    return out


def _lifecycles(store: Store, n: int, rollups: bool) -> None:
    clock = FakeClock(dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    market = Marketplace(store, clock=clock, ids=SequentialIds())
    if not rollups:
        market._reactors.remove(market._roll_up_order_events)
        market._posting_reactors.remove(market._roll_up_posting)
    buyer, vendor = Actor.buyer("b-1"), Actor.vendor("v-1")
    items = [Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=Money("9.99", "EUR"))]
    paid = Money("19.98", "EUR")
    for i in range(n):
        (order,) = market.place_checkout(buyer=buyer, customer_name="Ada", items=items, paid=paid)
        oid, line = order.order_id, order.lines[0].line_id
        order = market.ship(oid, by=vendor, items={line: 1}, carrier="DHL", tracking_number=f"A{i}")
        order = market.ship(oid, by=vendor, items={line: 1}, carrier="DHL", tracking_number=f"B{i}")
        for shipment in order.shipments:
            sid = shipment.shipment_id
            for hop in ("sorted", "in transit", "out for delivery"):
                market.update_tracking(oid, sid, by=vendor, note=hop)
            market.mark_delivered(oid, sid, by=vendor)
        for shipment in order.shipments:
            order = market.confirm_receipt(oid, shipment.shipment_id, by=buyer)
        if order.status is not OrderStatus.COMPLETED:
            raise RuntimeError(f"order {oid} ended {order.status}")


def _lifecycle_rates(n: int, repeats: int) -> tuple[float, float, float, float]:
    """Lifecycles per second with and without rollup upkeep: best wall-clock batch, and best
    CPU-time batch (``time.process_time``: what this process spent, whatever else the shared
    machine runs). Runs alternate ABAB/BABA so drift hits both alike."""
    wall = {True: float("inf"), False: float("inf")}
    cpu = {True: float("inf"), False: float("inf")}
    for i in range(repeats):
        for rollups in (True, False) if i % 2 == 0 else (False, True):
            with tempfile.TemporaryDirectory(prefix="asolora-bench-") as tmp:
                store = SqliteStore(Path(tmp) / "lifecycle.sqlite3")
                try:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    _lifecycles(store, n, rollups)
                    wall[rollups] = min(wall[rollups], time.perf_counter() - start)
                    cpu[rollups] = min(cpu[rollups], time.process_time() - start_cpu)
                finally:
                    store.close()
    return n / wall[True], n / wall[False], n / cpu[True], n / cpu[False]


def run(quick: bool, *, lines_total: int | None = None) -> dict[str, Any]:
    total = lines_total or (20_000 if quick else 1_000_000)
    note = _note
    started = time.perf_counter()
    orders = _orders(total)
    rows = _line_tuples(orders)
    note(
        f"  built {len(orders):,} orders, {len(rows):,} lines "
        f"in {time.perf_counter() - started:.1f} s"
    )
    result: dict[str, Any] = {"lines": len(rows), "orders": len(orders)}
    with tempfile.TemporaryDirectory(prefix="asolora-reports-") as tmp:
        path = Path(tmp) / "reports.sqlite3"
        started = time.perf_counter()
        _load(path, orders, rows)
        note(f"  bulk-loaded in {time.perf_counter() - started:.1f} s")
        store = SqliteStore(path)
        try:
            market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
            start = time.perf_counter()
            progress = market.rebuild_reports(VENDOR, by=STAFF, batch_size=5000)
            result["rollup_rebuild_s"] = round(time.perf_counter() - start, 4)
            assert progress.done
            assert progress.orders == len(orders)

            def sales() -> object:
                return market.sales_report(VENDOR, start=YEAR[0], end=YEAR[1], by=STAFF)

            def top() -> object:
                return market.bestsellers(VENDOR, start=YEAR[0], end=YEAR[1], by=STAFF)

            result["sales_s"] = round(_best(sales, 5), 6)
            result["bestsellers_s"] = round(_best(top, 5), 6)
            report = market.sales_report(VENDOR, start=YEAR[0], end=YEAR[1], by=STAFF)
            with store.unit_of_work() as uow:
                last = dt.date.max.toordinal()
                s_rows = uow.reports.sales(VENDOR, 0, last)
                p_rows = uow.reports.products(VENDOR, 0, last, by_day=True)
        finally:
            store.close()
        conn = sqlite3.connect(path)
        try:
            args = (VENDOR, YEAR[0].toordinal(), YEAR[1].toordinal())

            def raw_sales() -> object:
                return conn.execute(_RAW_SALES, args).fetchall(), conn.execute(
                    _RAW_REFUNDS, args
                ).fetchall()

            def raw_top() -> object:
                return conn.execute(_RAW_TOP, args).fetchall()

            result["sales_raw_sql_s"] = round(_best(raw_sales, 5), 6)
            result["bestsellers_raw_sql_s"] = round(_best(raw_top, 5), 6)
            raw_rows = conn.execute(_RAW_SALES, args).fetchall()
            gross = sum(r[4] for r in raw_rows)
            assert gross == sum(t.gross_minor for t in report.totals), "figures differ"
        finally:
            conn.close()
    memory = InMemoryStore()
    with memory.unit_of_work() as mem:
        for day, cur, *cols in s_rows:
            mem.reports.add_sales(VENDOR, day, cur, tuple(cols))  # type: ignore[arg-type]
        for product, cur, day, *pcols in p_rows:
            mem.reports.add_product(VENDOR, day, product, cur, tuple(pcols))  # type: ignore[arg-type]
        mem.commit()
    mem_market = Marketplace(memory, clock=FakeClock(T0), ids=SequentialIds())
    result["sales_memory_s"] = round(
        _best(lambda: mem_market.sales_report(VENDOR, start=YEAR[0], end=YEAR[1], by=STAFF), 5), 6
    )
    result["sales_python_loop_s"] = round(_best(lambda: _python_loop(rows), 3), 6)
    n = 100 if quick else 500
    with_rollups, without, with_cpu, without_cpu = _lifecycle_rates(n, 4 if quick else 6)
    result["lifecycle_with_rollups_per_s"] = round(with_rollups, 1)
    result["lifecycle_without_rollups_per_s"] = round(without, 1)

    def ratio(a: float, b: float) -> float:
        return round(a / b, 2) if b else 0.0

    result["ratios"] = {
        "sales_raw_sql_vs_library": ratio(result["sales_raw_sql_s"], result["sales_s"]),
        "bestsellers_raw_sql_vs_library": ratio(
            result["bestsellers_raw_sql_s"], result["bestsellers_s"]
        ),
        "python_loop_vs_memory": ratio(result["sales_python_loop_s"], result["sales_memory_s"]),
        "lifecycle_upkeep_cost": round(1 - with_rollups / without, 4) if without else 0.0,
        "lifecycle_upkeep_cost_cpu": round(1 - with_cpu / without_cpu, 4) if without_cpu else 0.0,
    }
    return result


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(json.dumps(run(size < 1_000_000, lines_total=size)))
