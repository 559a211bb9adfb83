"""The SQLite reports rollups (R30-R33), attached to
:class:`~asolora_core.adapters.sqlite.SqliteUnitOfWork` as ``uow.reports``.

Three ``WITHOUT ROWID`` tables whose primary keys start with (vendor, day): each is its own
covering index, so a report over a range is one index range scan of at most one row per
day, currency (and product), and an add is one ``INSERT ... ON CONFLICT DO UPDATE`` in the
command's transaction.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence

from asolora_core.adapters.sqlite_base import SqliteTransaction, micros
from asolora_core.adapters.sqlite_ledger import _vendor
from asolora_core.orders.model import Order
from asolora_core.reports.model import MoneyRow, ProductRow, SalesRow, month_of

__all__ = ["REPORTS_MIGRATION", "SqliteReports"]

#: The schema step that adds the reports' rollups (appended to ``sqlite.MIGRATIONS``).
REPORTS_MIGRATION = """
    CREATE TABLE report_sales (
        vendor_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        currency TEXT NOT NULL,
        orders INTEGER NOT NULL,
        items INTEGER NOT NULL,
        gross INTEGER NOT NULL,
        refunds INTEGER NOT NULL,
        refunded_items INTEGER NOT NULL,
        PRIMARY KEY (vendor_id, day, currency)
    ) WITHOUT ROWID;
    CREATE TABLE report_products (
        vendor_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        product_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        units INTEGER NOT NULL,
        revenue INTEGER NOT NULL,
        refunded_units INTEGER NOT NULL,
        refunded_revenue INTEGER NOT NULL,
        PRIMARY KEY (vendor_id, day, product_id, currency)
    ) WITHOUT ROWID;
    CREATE TABLE report_product_months (
        vendor_id TEXT NOT NULL,
        month INTEGER NOT NULL,
        product_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        units INTEGER NOT NULL,
        revenue INTEGER NOT NULL,
        refunded_units INTEGER NOT NULL,
        refunded_revenue INTEGER NOT NULL,
        PRIMARY KEY (vendor_id, month, product_id, currency)
    ) WITHOUT ROWID;
    CREATE TABLE report_money (
        vendor_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        currency TEXT NOT NULL,
        released INTEGER NOT NULL,
        commission INTEGER NOT NULL,
        processing_fees INTEGER NOT NULL,
        conversion_fees INTEGER NOT NULL,
        refunds_debited INTEGER NOT NULL,
        chargebacks_debited INTEGER NOT NULL,
        offsets INTEGER NOT NULL,
        payouts INTEGER NOT NULL,
        PRIMARY KEY (vendor_id, day, currency)
    ) WITHOUT ROWID;
    CREATE TABLE report_checkpoints (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
"""

_ADD_SALES = (
    "INSERT INTO report_sales (vendor_id, day, currency, orders, items, gross, refunds, "
    "refunded_items) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
    "orders = orders + excluded.orders, items = items + excluded.items, "
    "gross = gross + excluded.gross, refunds = refunds + excluded.refunds, "
    "refunded_items = refunded_items + excluded.refunded_items"
)
_ADD_PRODUCT = (
    "INSERT INTO report_products (vendor_id, day, product_id, currency, units, revenue, "
    "refunded_units, refunded_revenue) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
    "SET units = units + excluded.units, revenue = revenue + excluded.revenue, "
    "refunded_units = refunded_units + excluded.refunded_units, "
    "refunded_revenue = refunded_revenue + excluded.refunded_revenue"
)
_ADD_PRODUCT_MONTH = _ADD_PRODUCT.replace("report_products", "report_product_months").replace(
    "(vendor_id, day,", "(vendor_id, month,"
)
_MONEY_COLUMNS = (
    "released",
    "commission",
    "processing_fees",
    "conversion_fees",
    "refunds_debited",
    "chargebacks_debited",
    "offsets",
    "payouts",
)
_ADD_MONEY = (
    f"INSERT INTO report_money (vendor_id, day, currency, {', '.join(_MONEY_COLUMNS)}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _MONEY_COLUMNS)
)
_SUM_MONEY = ", ".join(f"SUM({c})" for c in _MONEY_COLUMNS)

OrderDecoder = Callable[[str, int, str], Order]


class SqliteReports:
    def __init__(self, uow: SqliteTransaction, decode: OrderDecoder) -> None:
        self._uow = uow
        self._decode = decode

    def add_sales(
        self, vendor_id: str, day: int, currency: str, deltas: tuple[int, int, int, int, int]
    ) -> None:
        self._uow.execute(_ADD_SALES, (vendor_id, day, currency, *deltas))

    def add_product(
        self,
        vendor_id: str,
        day: int,
        product_id: str,
        currency: str,
        deltas: tuple[int, int, int, int],
    ) -> None:
        self._uow.execute(_ADD_PRODUCT, (vendor_id, day, product_id, currency, *deltas))
        month = month_of(day)
        self._uow.execute(_ADD_PRODUCT_MONTH, (vendor_id, month, product_id, currency, *deltas))

    def add_money(
        self,
        vendor_id: str,
        day: int,
        currency: str,
        deltas: tuple[int, int, int, int, int, int, int, int],
    ) -> None:
        self._uow.execute(_ADD_MONEY, (vendor_id, day, currency, *deltas))

    def add_money_many(
        self, rows: Sequence[tuple[str, int, str, tuple[int, int, int, int, int, int, int, int]]]
    ) -> None:
        if rows:
            self._uow.conn.executemany(_ADD_MONEY, [(v, d, c, *deltas) for v, d, c, deltas in rows])

    def sales(self, vendor_id: str, first_day: int, last_day: int) -> tuple[SalesRow, ...]:
        rows = self._uow.execute(
            "SELECT day, currency, orders, items, gross, refunds, refunded_items "
            "FROM report_sales WHERE vendor_id = ? AND day BETWEEN ? AND ? "
            "ORDER BY day, currency",
            (vendor_id, first_day, last_day),
        ).fetchall()
        return tuple(rows)

    def products(
        self, vendor_id: str, first_day: int, last_day: int, *, by_day: bool = False
    ) -> tuple[ProductRow, ...]:
        return self._sum("report_products", "day", vendor_id, first_day, last_day, by_day)

    def product_months(
        self, vendor_id: str, first_month: int, last_month: int, *, by_month: bool = False
    ) -> tuple[ProductRow, ...]:
        return self._sum(
            "report_product_months", "month", vendor_id, first_month, last_month, by_month
        )

    def _sum(
        self, table: str, column: str, vendor_id: str, first: int, last: int, per: bool
    ) -> tuple[ProductRow, ...]:
        keys = f"product_id, currency, {column}" if per else "product_id, currency"
        rows = self._uow.execute(
            f"SELECT product_id, currency, {column if per else '0'}, SUM(units), "
            f"SUM(revenue), SUM(refunded_units), SUM(refunded_revenue) FROM {table} "
            f"WHERE vendor_id = ? AND {column} BETWEEN ? AND ? "
            f"GROUP BY {keys} ORDER BY {keys}",
            (vendor_id, first, last),
        ).fetchall()
        return tuple(rows)

    def money(self, vendor_id: str, first_day: int, last_day: int) -> tuple[MoneyRow, ...]:
        rows = self._uow.execute(
            f"SELECT day, currency, {', '.join(_MONEY_COLUMNS)} FROM report_money "
            "WHERE vendor_id = ? AND day BETWEEN ? AND ? ORDER BY day, currency",
            (vendor_id, first_day, last_day),
        ).fetchall()
        return tuple(rows)

    def money_before(self, vendor_id: str, day: int) -> tuple[MoneyRow, ...]:
        rows = self._uow.execute(
            f"SELECT 0, currency, {_SUM_MONEY} FROM report_money "
            "WHERE vendor_id = ? AND day < ? GROUP BY currency ORDER BY currency",
            (vendor_id, day),
        ).fetchall()
        return tuple(rows)

    def clear(self, vendor_id: str) -> None:
        for table in ("report_sales", "report_products", "report_product_months", "report_money"):
            self._uow.execute(f"DELETE FROM {table} WHERE vendor_id = ?", (vendor_id,))

    def has_vendor(self, vendor_id: str) -> bool:
        for table in ("report_sales", "report_money"):
            row = self._uow.execute(
                f"SELECT 1 FROM {table} WHERE vendor_id = ? LIMIT 1", (vendor_id,)
            ).fetchone()
            if row is not None:
                return True
        return False

    def vendor_orders(
        self, vendor_id: str, *, after: tuple[_dt.datetime, str] | None, limit: int
    ) -> tuple[Order, ...]:
        if after is None:
            rows = self._uow.execute(
                "SELECT order_id, version, body FROM orders WHERE vendor_id = ? "
                "ORDER BY placed_at, order_id LIMIT ?",
                (vendor_id, limit),
            ).fetchall()
        else:
            at = micros(after[0])
            rows = self._uow.execute(
                "SELECT order_id, version, body FROM orders WHERE vendor_id = ? "
                "AND (placed_at > ? OR (placed_at = ? AND order_id > ?)) "
                "ORDER BY placed_at, order_id LIMIT ?",
                (vendor_id, at, at, after[1], limit),
            ).fetchall()
        return tuple(self._decode(r[0], r[1], r[2]) for r in rows)

    def vendors(self, *, after: str, limit: int) -> tuple[str, ...]:
        rows = self._uow.execute(
            "SELECT vendor_id FROM (SELECT DISTINCT vendor_id FROM orders WHERE vendor_id > ? "
            "UNION SELECT vendor_id FROM ledger_vendors WHERE vendor_id > ?) "
            "ORDER BY vendor_id LIMIT ?",
            (after, after, limit),
        ).fetchall()
        return tuple(r[0] for r in rows)

    def get_checkpoint(self, name: str) -> str | None:
        row = self._uow.execute(
            "SELECT value FROM report_checkpoints WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else str(row[0])

    def checkpoint_and_zone(self, name: str, vendor_id: str) -> tuple[str | None, str]:
        """:meth:`get_checkpoint` of ``name`` and the time zone of ``vendor_id``'s account
        ("UTC" without one) in one statement (see ``ReportRollups``)."""
        mark, body = self._uow.execute(
            "SELECT (SELECT value FROM report_checkpoints WHERE name = ?), "
            "(SELECT body FROM ledger_vendors WHERE vendor_id = ?)",
            (name, vendor_id),
        ).fetchone()
        zone = "UTC" if body is None else _vendor(body).timezone
        return (None if mark is None else str(mark)), zone

    def get_checkpoints(self, names: Sequence[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(names))
        found: dict[str, str] = {}
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            for name, value in self._uow.execute(
                f"SELECT name, value FROM report_checkpoints WHERE name IN ({marks})", chunk
            ).fetchall():
                found[str(name)] = str(value)
        return found

    def put_checkpoint(self, name: str, value: str | None) -> None:
        if value is None:
            self._uow.execute("DELETE FROM report_checkpoints WHERE name = ?", (name,))
        else:
            self._uow.execute(
                "INSERT INTO report_checkpoints (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
