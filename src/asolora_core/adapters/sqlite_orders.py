"""SQLite side of the dashboard's order lists and store performance (R33).

Each order row carries its :class:`~asolora_core.orders.listing.OrderFacts` as columns, set by
the same ``INSERT``/``UPDATE`` that stores the order (so they are never stale), with indexes
shaped for the lists: ``(vendor_id, placed_at, order_id)`` and the same per buyer, per
(vendor, status), per (vendor, customer name), and partial ones per vendor for the three
flags a dashboard filters on. A list walks one of them backwards from its cursor; store
performance is two statements over the vendor's orders in the range (the counts and sums per
currency; both medians with window functions over one scan), so no order is decoded for
either.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from typing import Any

from asolora_core import _codec
from asolora_core.adapters.sqlite_base import SqliteTransaction, micros
from asolora_core.orders.listing import OrderKey, OrderQuery, order_facts
from asolora_core.orders.model import Order
from asolora_core.reports.performance import PerformanceTotals

__all__ = [
    "ORDER_FACTS_MIGRATION",
    "backfill_order_facts",
    "fact_columns",
    "order_page",
    "performance_totals",
]

#: The schema step: fact columns on ``orders`` and the indexes the lists use. The step's
#: Python hook (:func:`backfill_order_facts`) fills the columns of orders stored before it.
#: The plain vendor and customer indexes give way to ones ending in ``order_id`` (the
#: lists' tie-break), which serve every query the old ones did.
ORDER_FACTS_MIGRATION = """
ALTER TABLE orders ADD COLUMN paid_minor INTEGER;
ALTER TABLE orders ADD COLUMN refunded_minor INTEGER;
ALTER TABLE orders ADD COLUMN needs_shipping INTEGER;
ALTER TABLE orders ADD COLUMN awaiting_confirmation INTEGER;
ALTER TABLE orders ADD COLUMN open_issue INTEGER;
ALTER TABLE orders ADD COLUMN issues INTEGER;
ALTER TABLE orders ADD COLUMN first_shipped_at INTEGER;
ALTER TABLE orders ADD COLUMN delivered_at INTEGER;
DROP INDEX orders_vendor;
DROP INDEX orders_customer;
CREATE INDEX orders_vendor_key ON orders (vendor_id, placed_at, order_id);
CREATE INDEX orders_vendor_customer_key
    ON orders (vendor_id, customer_key, placed_at, order_id);
CREATE INDEX orders_vendor_status_key ON orders (vendor_id, status, placed_at, order_id);
CREATE INDEX orders_buyer_key ON orders (buyer_id, placed_at, order_id);
CREATE INDEX orders_vendor_to_ship
    ON orders (vendor_id, placed_at, order_id) WHERE needs_shipping = 1;
CREATE INDEX orders_vendor_to_confirm
    ON orders (vendor_id, placed_at, order_id) WHERE awaiting_confirmation = 1;
CREATE INDEX orders_vendor_open_issue
    ON orders (vendor_id, placed_at, order_id) WHERE open_issue = 1;
"""

_decode = _codec.decoder(Order)


def fact_columns(order: Order) -> tuple[Any, ...]:
    """``paid_minor, refunded_minor, needs_shipping, awaiting_confirmation, open_issue,
    issues, first_shipped_at, delivered_at`` of ``order``, as stored."""
    f = order_facts(order)
    return (
        order.paid_minor,
        f.refunded_minor,
        int(f.needs_shipping),
        int(f.awaiting_confirmation),
        int(f.open_issue),
        f.issues,
        None if f.first_shipped_at is None else micros(f.first_shipped_at),
        None if f.delivered_at is None else micros(f.delivered_at),
    )


def backfill_order_facts(conn: sqlite3.Connection) -> None:
    """Fill the fact columns of orders stored before the schema step (inside its
    transaction)."""
    rows = conn.execute("SELECT order_id, body FROM orders WHERE paid_minor IS NULL").fetchall()
    conn.executemany(
        "UPDATE orders SET paid_minor = ?, refunded_minor = ?, needs_shipping = ?, "
        "awaiting_confirmation = ?, open_issue = ?, issues = ?, first_shipped_at = ?, "
        "delivered_at = ? WHERE order_id = ?",
        [(*fact_columns(_decode(json.loads(body))), order_id) for order_id, body in rows],
    )


def _flag(column: str, value: bool) -> str:
    # a literal, not a parameter: SQLite uses a partial index only when it can see that the
    # query implies the index's WHERE
    return f"{column} = {1 if value else 0}"


def order_page(
    query: OrderQuery, after: OrderKey | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """The ``WHERE ... ORDER BY ... LIMIT`` of one page of ``query`` and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.vendor_id is not None:
        where.append("vendor_id = ?")
        params.append(query.vendor_id)
    if query.buyer_id is not None:
        where.append("buyer_id = ?")
        params.append(query.buyer_id)
    if query.customer is not None:
        where.append("customer_key = ?")
        params.append(query.customer)
    if query.status is not None:
        where.append("status = ?")
        params.append(query.status.value)
    if query.needs_shipping is not None:
        where.append(_flag("needs_shipping", query.needs_shipping))
    if query.awaiting_confirmation is not None:
        where.append(_flag("awaiting_confirmation", query.awaiting_confirmation))
    if query.open_issue is not None:
        where.append(_flag("open_issue", query.open_issue))
    if query.placed_from is not None:
        where.append("placed_at >= ?")
        params.append(micros(query.placed_from))
    if query.placed_until is not None:
        where.append("placed_at < ?")
        params.append(micros(query.placed_until))
    if after is not None:
        where.append("(placed_at, order_id) < (?, ?)")
        params.extend((micros(after[0]), after[1]))
    if not where:
        where.append("0")  # a list always names its vendor or buyer
    sql = " AND ".join(where) + " ORDER BY placed_at DESC, order_id DESC LIMIT ?"
    params.append(limit)
    return sql, tuple(params)


_RANGE = "vendor_id = ? AND placed_at >= ? AND placed_at < ?"


_MEDIANS = f"""
WITH d AS MATERIALIZED (
    SELECT first_shipped_at - placed_at AS ship, delivered_at - placed_at AS delivery
    FROM orders WHERE {_RANGE} AND status != 'cancelled' AND first_shipped_at IS NOT NULL
),
s AS (SELECT ship AS v, ROW_NUMBER() OVER (ORDER BY ship) AS n, COUNT(*) OVER () AS c FROM d),
t AS (
    SELECT delivery AS v, ROW_NUMBER() OVER (ORDER BY delivery) AS n, COUNT(*) OVER () AS c
    FROM d WHERE delivery IS NOT NULL
)
SELECT 0, c, v FROM s WHERE n IN ((c + 1) / 2, (c + 2) / 2)
UNION ALL
SELECT 1, c, v FROM t WHERE n IN ((c + 1) / 2, (c + 2) / 2)
"""


def _medians(
    tx: SqliteTransaction, params: tuple[Any, ...]
) -> tuple[tuple[int, int | None], tuple[int, int | None]]:
    """(count, median) of the times to ship and to delivery over the kept orders of the
    range, from one scan (an order delivered has shipped); the median of an even count is
    the floor of the mean of the middle two."""
    middles: tuple[list[int], list[int]] = ([], [])
    counts = [0, 0]
    for which, count, value in tx.execute(_MEDIANS, params).fetchall():
        middles[which].append(int(value))
        counts[which] = int(count)
    ship, delivery = ((counts[i], sum(m) // len(m) if m else None) for i, m in enumerate(middles))
    return ship, delivery


def performance_totals(
    tx: SqliteTransaction, vendor_id: str, since: _dt.datetime, until: _dt.datetime
) -> PerformanceTotals:
    """:func:`~asolora_core.reports.performance.fold_performance`, in SQL."""
    params = (vendor_id, micros(since), micros(until))
    # one pass for the counts and sums, per currency; then one per median
    per_currency = tx.execute(
        "SELECT currency, sum(status = 'cancelled'), sum(status != 'cancelled'), "
        "sum(CASE WHEN status != 'cancelled' THEN paid_minor ELSE 0 END), "
        "sum(status != 'cancelled' AND refunded_minor > 0), "
        f"sum(status != 'cancelled' AND issues > 0) FROM orders WHERE {_RANGE} "
        "GROUP BY currency ORDER BY currency",
        params,
    ).fetchall()
    (shipped, ship), (delivered, delivery) = _medians(tx, params)
    return PerformanceTotals(
        orders=sum(int(r[2]) for r in per_currency),
        cancelled=sum(int(r[1]) for r in per_currency),
        value=tuple((str(r[0]), int(r[2]), int(r[3])) for r in per_currency if r[2]),
        refunded_orders=sum(int(r[4]) for r in per_currency),
        orders_with_issues=sum(int(r[5]) for r in per_currency),
        shipped_orders=shipped,
        median_ship_micros=ship,
        delivered_orders=delivered,
        median_delivery_micros=delivery,
    )
