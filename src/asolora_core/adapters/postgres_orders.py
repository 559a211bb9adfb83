"""PostgreSQL side of the dashboard's order lists and store performance (R33).

As on SQLite (:mod:`asolora_core.adapters.sqlite_orders`): each order row carries its
:class:`~asolora_core.orders.listing.OrderFacts` as columns, set by the same
``INSERT``/``UPDATE`` that stores the order, with indexes shaped for the lists (newest first
per vendor, per buyer, per status, per customer, and partial ones per vendor for the three
flags a dashboard filters on). Store performance is two statements over the vendor's orders in
the range; no order is decoded for either.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from asolora_core import _codec
from asolora_core.adapters.postgres_ledger import PgTransaction
from asolora_core.ledger.integrity import readable
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

#: The schema step: fact columns on ``orders`` and the indexes the lists use; its Python hook
#: (:func:`backfill_order_facts`) fills the columns of orders stored before it.
ORDER_FACTS_MIGRATION = """
    ALTER TABLE orders
        ADD COLUMN needs_shipping boolean NOT NULL DEFAULT false,
        ADD COLUMN awaiting_confirmation boolean NOT NULL DEFAULT false,
        ADD COLUMN open_issue boolean NOT NULL DEFAULT false,
        ADD COLUMN issues integer NOT NULL DEFAULT 0 CHECK (issues >= 0),
        ADD COLUMN first_shipped_at timestamptz,
        ADD COLUMN delivered_at timestamptz;
    DROP INDEX orders_vendor;
    DROP INDEX orders_customer;
    CREATE INDEX orders_vendor_key ON orders (vendor_id, placed_at, order_id);
    CREATE INDEX orders_vendor_customer_key
        ON orders (vendor_id, customer_key, placed_at, order_id);
    CREATE INDEX orders_vendor_status_key ON orders (vendor_id, status, placed_at, order_id);
    CREATE INDEX orders_buyer_key ON orders (buyer_id, placed_at, order_id);
    CREATE INDEX orders_vendor_to_ship
        ON orders (vendor_id, placed_at, order_id) WHERE needs_shipping;
    CREATE INDEX orders_vendor_to_confirm
        ON orders (vendor_id, placed_at, order_id) WHERE awaiting_confirmation;
    CREATE INDEX orders_vendor_open_issue
        ON orders (vendor_id, placed_at, order_id) WHERE open_issue;
"""

_decode = readable(_codec.decoder(Order), "order")  # R42: a body that does not decode


def fact_columns(order: Order) -> tuple[Any, ...]:
    """``needs_shipping, awaiting_confirmation, open_issue, issues, first_shipped_at,
    delivered_at`` of ``order``, as stored (``paid_minor`` and ``refunded_minor`` are columns
    since the first schema step)."""
    f = order_facts(order)
    return (
        f.needs_shipping,
        f.awaiting_confirmation,
        f.open_issue,
        f.issues,
        f.first_shipped_at,
        f.delivered_at,
    )


def backfill_order_facts(tx: PgTransaction) -> None:
    """Fill the fact columns of orders stored before the schema step (inside its
    transaction)."""
    rows = tx.fetchall("SELECT order_id, body FROM orders")
    for order_id, body in rows:
        tx.run(
            "UPDATE orders SET needs_shipping = %s, awaiting_confirmation = %s, "
            "open_issue = %s, issues = %s, first_shipped_at = %s, delivered_at = %s "
            "WHERE order_id = %s",
            (*fact_columns(_decode(body)), order_id),
        )


def order_page(
    query: OrderQuery, after: OrderKey | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """The ``WHERE ... ORDER BY ... LIMIT`` of one page of ``query`` and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("vendor_id", query.vendor_id),
        ("buyer_id", query.buyer_id),
        ("customer_key", query.customer),
        ("status", None if query.status is None else query.status.value),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    for flag, wanted in (
        ("needs_shipping", query.needs_shipping),
        ("awaiting_confirmation", query.awaiting_confirmation),
        ("open_issue", query.open_issue),
    ):
        if wanted is not None:
            # a literal: the planner uses a partial index only when it sees its WHERE implied
            where.append(flag if wanted else f"NOT {flag}")
    if query.placed_from is not None:
        where.append("placed_at >= %s")
        params.append(query.placed_from)
    if query.placed_until is not None:
        where.append("placed_at < %s")
        params.append(query.placed_until)
    if after is not None:
        where.append("(placed_at, order_id) < (%s, %s)")
        params.extend((after[0], after[1]))
    if not where:
        where.append("false")  # a list always names its vendor or buyer
    sql = " AND ".join(where) + " ORDER BY placed_at DESC, order_id DESC LIMIT %s"
    params.append(limit)
    return sql, tuple(params)


_RANGE = "vendor_id = %s AND placed_at >= %s AND placed_at < %s"

#: microseconds between two instants, exactly (``extract`` returns numeric)
_SHIP = "(extract(epoch FROM first_shipped_at - placed_at) * 1000000)::bigint"
_DELIVERY = "(extract(epoch FROM delivered_at - placed_at) * 1000000)::bigint"

_MEDIANS = f"""
WITH d AS MATERIALIZED (
    SELECT {_SHIP} AS ship, {_DELIVERY} AS delivery
    FROM orders WHERE {_RANGE} AND status <> 'cancelled' AND first_shipped_at IS NOT NULL
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


def performance_totals(
    tx: PgTransaction, vendor_id: str, since: _dt.datetime, until: _dt.datetime
) -> PerformanceTotals:
    """:func:`~asolora_core.reports.performance.fold_performance`, in SQL."""
    params = (vendor_id, since, until)
    kept = "status <> 'cancelled'"
    per_currency = tx.fetchall(
        f"SELECT currency, count(*) FILTER (WHERE NOT ({kept})), count(*) FILTER (WHERE {kept}), "
        f"coalesce(sum(paid_minor) FILTER (WHERE {kept}), 0), "
        f"count(*) FILTER (WHERE {kept} AND refunded_minor > 0), "
        f"count(*) FILTER (WHERE {kept} AND issues > 0) FROM orders WHERE {_RANGE} "
        "GROUP BY currency ORDER BY currency",
        params,
    )
    middles: tuple[list[int], list[int]] = ([], [])
    counts = [0, 0]
    for which, count, value in tx.fetchall(_MEDIANS, params):
        middles[which].append(int(value))
        counts[which] = int(count)
    (shipped, ship), (delivered, delivery) = (
        (counts[i], sum(m) // len(m) if m else None) for i, m in enumerate(middles)
    )
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
