"""The vendor dashboard's reads at scale: ``python benchmarks/order_lists.py [--orders N]``.

One vendor with N orders over a year (default 50,000; about 1 in 4 still to ship, 1 in 200
with an open issue), bulk-loaded through the repository into a SQLite file and into the
in-memory store. Timed through the facade, each next to a named baseline on the same data:

* ``list_*_ms``: one page of 50 (first page, a page 20 pages deep, "needs shipping", "open
  issue", by customer name) against ``raw_page_sql_ms``, the hand-written keyset query for one
  page on the same index (the floor), and ``load_all_then_page_ms``, what a list costs when
  it loads every order of the vendor and pages in Python (the removed ``for_vendor`` way);
* ``performance_ms``: store performance over the year, against ``performance_python_fold_ms``,
  fetching the per-order facts from SQL and folding them in Python.

Prints one JSON object on stdout; progress on stderr. Best of 5 runs (3 for the slower
ones), in milliseconds of process CPU time (this shared machine's wall time swings 2x with
other load); the SQLite lists run with the store's decoded-order cache warm, as a
dashboard's first page usually is, and ``list_first_page_cold_ms`` with it empty. These are
measurements, not tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SRC_DIR = Path(__file__).resolve().parents[1] / "src"
if str(SRC_DIR) not in sys.path:
    sys.path.insert(0, str(SRC_DIR))

from asolora_core import (  # noqa: E402
    Actor,
    FakeClock,
    InMemoryStore,
    Marketplace,
    Order,
    SqliteStore,
)
from asolora_core.orders import commands as core  # noqa: E402
from asolora_core.orders.model import IssueKind  # noqa: E402
from asolora_core.ports import Store  # noqa: E402
from asolora_core.reports.performance import PerformanceRow, fold_performance  # noqa: E402
from asolora_core.testing.contract import make_order  # noqa: E402

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)
VENDOR = Actor.vendor("v-1")


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(n: int) -> list[Order]:
    """``n`` orders of vendor v-1 spread over a year, in a mix of states."""
    out = []
    step = YEAR / n
    for i in range(n):
        placed = START + i * step
        order, _ = make_order(
            f"o-{i:07d}",
            placed_at=placed,
            quantity=1,
            customer_name=f"Customer {i % 5000}",
            buyer_id=f"b-{i % 5000}",
        )
        if i % 4:  # 3 in 4 ship; most are delivered and confirmed
            at = placed + dt.timedelta(hours=4 + i % 40)
            line = order.lines[0].line_id
            order, _ = core.ship(
                order,
                shipment_id=f"s-{i}",
                items={line: 1},
                carrier="DHL",
                tracking_number=f"T{i}",
                by=VENDOR,
                now=at,
            )
            order, _ = core.mark_delivered(order, f"s-{i}", by=VENDOR, now=at + dt.timedelta(2))
            buyer = Actor.buyer(order.buyer_id)
            if i % 200 == 1:
                order, _ = core.report_issue(
                    order,
                    issue_id=f"i-{i}",
                    kind=IssueKind.DAMAGED,
                    description="dent",
                    by=buyer,
                    now=at + dt.timedelta(days=3),
                )
            elif i % 10:
                order, _ = core.confirm_receipt(
                    order, f"s-{i}", by=buyer, now=at + dt.timedelta(days=3)
                )
        out.append(order)
    return out


def load(store: Store, orders: list[Order]) -> None:
    for start in range(0, len(orders), 1000):
        with store.unit_of_work() as uow:
            for order in orders[start : start + 1000]:
                uow.orders.add(order)
            uow.commit()


def best_ms(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return round(min(times) * 1000, 3)


def dashboard(market: Marketplace) -> dict[str, float]:
    deep = market.list_orders(by=VENDOR, vendor_id="v-1")
    for _ in range(19):
        assert deep.next_cursor is not None
        deep = market.list_orders(by=VENDOR, vendor_id="v-1", cursor=deep.next_cursor)
    cursor = deep.next_cursor
    return {
        "list_first_page_ms": best_ms(lambda: market.list_orders(by=VENDOR, vendor_id="v-1")),
        "list_page_20_deep_ms": best_ms(
            lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor=cursor)
        ),
        "list_needs_shipping_ms": best_ms(
            lambda: market.list_orders(by=VENDOR, vendor_id="v-1", needs_shipping=True)
        ),
        "list_open_issue_ms": best_ms(
            lambda: market.list_orders(by=VENDOR, vendor_id="v-1", open_issue=True)
        ),
        "list_customer_ms": best_ms(
            lambda: market.list_orders(by=VENDOR, vendor_id="v-1", customer_name="customer 42")
        ),
        "performance_ms": best_ms(
            lambda: market.store_performance(
                "v-1", by=VENDOR, since=START, until=START + YEAR + dt.timedelta(days=30)
            ),
            repeats=3,
        ),
    }


def sqlite_baselines(store: SqliteStore) -> dict[str, float]:
    conn = store.connection()
    market = Marketplace(store, clock=FakeClock(START + 2 * YEAR))

    def cold_page() -> object:
        store._cache.clear()
        return market.list_orders(by=VENDOR, vendor_id="v-1")

    def raw_page() -> object:
        return conn.execute(
            "SELECT order_id, version, body FROM orders WHERE vendor_id = ? "
            "ORDER BY placed_at DESC, order_id DESC LIMIT 51",
            ("v-1",),
        ).fetchall()

    def load_all() -> object:
        rows = conn.execute(
            "SELECT order_id, version, body FROM orders WHERE vendor_id = ?", ("v-1",)
        ).fetchall()
        orders = [store._decode_order(r[0], r[1], r[2]) for r in rows]
        orders.sort(key=lambda o: (o.placed_at, o.order_id), reverse=True)
        return orders[:50]

    def python_fold() -> object:
        rows = conn.execute(
            "SELECT status = 'cancelled', currency, paid_minor, refunded_minor, issues, "
            "first_shipped_at - placed_at, delivered_at - placed_at FROM orders "
            "WHERE vendor_id = ?",
            ("v-1",),
        ).fetchall()
        return fold_performance(PerformanceRow(*r) for r in rows)

    return {
        "list_first_page_cold_ms": best_ms(cold_page),
        "raw_page_sql_ms": best_ms(raw_page),
        "load_all_then_page_ms": best_ms(load_all, repeats=2),
        "performance_python_fold_ms": best_ms(python_fold, repeats=3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    args = parser.parse_args()
    note(f"building {args.orders:,} orders ...")
    orders = build(args.orders)
    result: dict[str, object] = {"orders": args.orders}
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "dashboard.db")
        t = time.perf_counter()
        load(store, orders)
        note(f"sqlite bulk load {time.perf_counter() - t:.1f} s")
        market = Marketplace(store, clock=FakeClock(START + 2 * YEAR))
        result["sqlite"] = {**dashboard(market), **sqlite_baselines(store)}
        store.close()
    memory = InMemoryStore()
    load(memory, orders)
    result["memory"] = dashboard(Marketplace(memory, clock=FakeClock(START + 2 * YEAR)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
