"""The PostgreSQL reports rollups (R30-R33), attached to
:class:`~asolora_core.adapters.postgres.PostgresUnitOfWork` as ``uow.reports``.

The same shape as the SQLite rollups (:mod:`asolora_core.adapters.sqlite_reports`): tables
whose primary keys start with (vendor, day), so a report over a range is one index range
scan, and an add is one ``INSERT ... ON CONFLICT DO UPDATE`` in the command's transaction.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from asolora_core import _codec
from asolora_core.adapters.postgres_ledger import TEXTS, PgTransaction, ints, texts
from asolora_core.ledger.integrity import readable
from asolora_core.orders.model import Order
from asolora_core.reports.model import MoneyRow, ProductRow, SalesRow, month_of

__all__ = ["REPORTS_MIGRATION", "PostgresReports"]

#: The schema step that adds the reports' rollups (see ``postgres.MIGRATIONS``).
REPORTS_MIGRATION = """
    CREATE TABLE report_sales (
        vendor_id text NOT NULL,
        day integer NOT NULL,
        currency text NOT NULL,
        orders bigint NOT NULL,
        items bigint NOT NULL,
        gross bigint NOT NULL,
        refunds bigint NOT NULL,
        refunded_items bigint NOT NULL,
        PRIMARY KEY (vendor_id, day, currency)
    );
    CREATE TABLE report_products (
        vendor_id text NOT NULL,
        day integer NOT NULL,
        product_id text NOT NULL,
        currency text NOT NULL,
        units bigint NOT NULL,
        revenue bigint NOT NULL,
        refunded_units bigint NOT NULL,
        refunded_revenue bigint NOT NULL,
        PRIMARY KEY (vendor_id, day, product_id, currency)
    );
    CREATE TABLE report_product_months (
        vendor_id text NOT NULL,
        month integer NOT NULL,
        product_id text NOT NULL,
        currency text NOT NULL,
        units bigint NOT NULL,
        revenue bigint NOT NULL,
        refunded_units bigint NOT NULL,
        refunded_revenue bigint NOT NULL,
        PRIMARY KEY (vendor_id, month, product_id, currency)
    );
    CREATE TABLE report_money (
        vendor_id text NOT NULL,
        day integer NOT NULL,
        currency text NOT NULL,
        released bigint NOT NULL,
        commission bigint NOT NULL,
        processing_fees bigint NOT NULL,
        conversion_fees bigint NOT NULL,
        refunds_debited bigint NOT NULL,
        chargebacks_debited bigint NOT NULL,
        offsets bigint NOT NULL,
        payouts bigint NOT NULL,
        PRIMARY KEY (vendor_id, day, currency)
    );
    CREATE TABLE report_checkpoints (
        name text PRIMARY KEY,
        value text NOT NULL
    );
"""

_ADD_SALES = (
    "INSERT INTO report_sales AS r (vendor_id, day, currency, orders, items, gross, refunds, "
    "refunded_items) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (vendor_id, day, currency) DO UPDATE SET "
    "orders = r.orders + excluded.orders, items = r.items + excluded.items, "
    "gross = r.gross + excluded.gross, refunds = r.refunds + excluded.refunds, "
    "refunded_items = r.refunded_items + excluded.refunded_items"
)
_ADD_PRODUCT = (
    "INSERT INTO report_products AS r (vendor_id, day, product_id, currency, units, revenue, "
    "refunded_units, refunded_revenue) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (vendor_id, day, product_id, currency) DO UPDATE "
    "SET units = r.units + excluded.units, revenue = r.revenue + excluded.revenue, "
    "refunded_units = r.refunded_units + excluded.refunded_units, "
    "refunded_revenue = r.refunded_revenue + excluded.refunded_revenue"
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
    f"INSERT INTO report_money AS r (vendor_id, day, currency, {', '.join(_MONEY_COLUMNS)}) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (vendor_id, day, currency) DO UPDATE SET "
    + ", ".join(f"{c} = r.{c} + excluded.{c}" for c in _MONEY_COLUMNS)
)
_SUM_MONEY = ", ".join(f"SUM({c})::bigint" for c in _MONEY_COLUMNS)

_dec_order = readable(_codec.decoder(Order), "order")  # R42: a body that does not decode


def _ints(rows: list[tuple[Any, ...]], text: int) -> tuple[Any, ...]:
    # the first ``text`` columns as they are, the rest as Python ints (sums come back numeric)
    return tuple((*r[:text], *(int(v) for v in r[text:])) for r in rows)


class PostgresReports:
    def __init__(self, uow: PgTransaction) -> None:
        self._uow = uow

    def add_sales(
        self, vendor_id: str, day: int, currency: str, deltas: tuple[int, int, int, int, int]
    ) -> None:
        self._uow.run(_ADD_SALES, (vendor_id, day, currency, *deltas))

    def add_product(
        self,
        vendor_id: str,
        day: int,
        product_id: str,
        currency: str,
        deltas: tuple[int, int, int, int],
    ) -> None:
        self._uow.run(_ADD_PRODUCT, (vendor_id, day, product_id, currency, *deltas))
        month = month_of(day)
        self._uow.run(_ADD_PRODUCT_MONTH, (vendor_id, month, product_id, currency, *deltas))

    def add_money(
        self,
        vendor_id: str,
        day: int,
        currency: str,
        deltas: tuple[int, int, int, int, int, int, int, int],
    ) -> None:
        self._uow.run(_ADD_MONEY, (vendor_id, day, currency, *deltas))

    def add_money_many(
        self, rows: Sequence[tuple[str, int, str, tuple[int, int, int, int, int, int, int, int]]]
    ) -> None:
        if not rows:
            return
        ordered = sorted(rows)  # one order of row locks for every writer
        self._uow.run(
            f"INSERT INTO report_money AS r (vendor_id, day, currency, "
            f"{', '.join(_MONEY_COLUMNS)}) SELECT * FROM unnest({TEXTS}, %s::int[], "
            f"{TEXTS}, " + ", ".join(["%s::bigint[]"] * len(_MONEY_COLUMNS)) + ") "
            "ON CONFLICT (vendor_id, day, currency) DO UPDATE SET "
            + ", ".join(f"{c} = r.{c} + excluded.{c}" for c in _MONEY_COLUMNS),
            [
                *texts([r[0] for r in ordered]),
                ints([r[1] for r in ordered]),
                *texts([r[2] for r in ordered]),
                *(ints([r[3][i] for r in ordered]) for i in range(len(_MONEY_COLUMNS))),
            ],
        )

    def sales(self, vendor_id: str, first_day: int, last_day: int) -> tuple[SalesRow, ...]:
        rows = self._uow.fetchall(
            "SELECT day, currency, orders, items, gross, refunds, refunded_items "
            "FROM report_sales WHERE vendor_id = %s AND day BETWEEN %s AND %s "
            "ORDER BY day, currency",
            (vendor_id, first_day, last_day),
        )
        return tuple((int(r[0]), r[1], *(int(v) for v in r[2:])) for r in rows)

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
        rows = self._uow.fetchall(
            f"SELECT product_id, currency, {column if per else '0'}, SUM(units), "
            f"SUM(revenue), SUM(refunded_units), SUM(refunded_revenue) FROM {table} "
            f"WHERE vendor_id = %s AND {column} BETWEEN %s AND %s "
            f"GROUP BY {keys} ORDER BY {keys}",
            (vendor_id, first, last),
        )
        return _ints(rows, 2)

    def money(self, vendor_id: str, first_day: int, last_day: int) -> tuple[MoneyRow, ...]:
        rows = self._uow.fetchall(
            f"SELECT day, currency, {', '.join(_MONEY_COLUMNS)} FROM report_money "
            "WHERE vendor_id = %s AND day BETWEEN %s AND %s ORDER BY day, currency",
            (vendor_id, first_day, last_day),
        )
        return tuple((int(r[0]), r[1], *(int(v) for v in r[2:])) for r in rows)

    def money_before(self, vendor_id: str, day: int) -> tuple[MoneyRow, ...]:
        rows = self._uow.fetchall(
            f"SELECT 0, currency, {_SUM_MONEY} FROM report_money "
            "WHERE vendor_id = %s AND day < %s GROUP BY currency ORDER BY currency",
            (vendor_id, day),
        )
        return tuple((int(r[0]), r[1], *(int(v) for v in r[2:])) for r in rows)

    def clear(self, vendor_id: str) -> None:
        for table in ("report_sales", "report_products", "report_product_months", "report_money"):
            self._uow.run(f"DELETE FROM {table} WHERE vendor_id = %s", (vendor_id,))

    def has_vendor(self, vendor_id: str) -> bool:
        row = self._uow.fetchone(
            "SELECT EXISTS (SELECT 1 FROM report_sales WHERE vendor_id = %s) "
            "OR EXISTS (SELECT 1 FROM report_money WHERE vendor_id = %s)",
            (vendor_id, vendor_id),
        )
        return bool(row and row[0])

    def vendor_orders(
        self, vendor_id: str, *, after: tuple[_dt.datetime, str] | None, limit: int
    ) -> tuple[Order, ...]:
        if after is None:
            rows = self._uow.fetchall(
                "SELECT body FROM orders WHERE vendor_id = %s "
                "ORDER BY placed_at, order_id LIMIT %s",
                (vendor_id, limit),
            )
        else:
            rows = self._uow.fetchall(
                "SELECT body FROM orders WHERE vendor_id = %s AND (placed_at, order_id) > (%s, %s) "
                "ORDER BY placed_at, order_id LIMIT %s",
                (vendor_id, after[0], after[1], limit),
            )
        return tuple(_dec_order(r[0]) for r in rows)

    def vendors(self, *, after: str, limit: int) -> tuple[str, ...]:
        rows = self._uow.fetchall(
            'SELECT vendor_id FROM (SELECT vendor_id FROM orders WHERE vendor_id COLLATE "C" > %s '
            'UNION SELECT vendor_id FROM ledger_vendors WHERE vendor_id COLLATE "C" > %s) AS v '
            'ORDER BY vendor_id COLLATE "C" LIMIT %s',
            (after, after, limit),
        )
        return tuple(r[0] for r in rows)

    def get_checkpoint(self, name: str) -> str | None:
        row = self._uow.fetchone("SELECT value FROM report_checkpoints WHERE name = %s", (name,))
        return None if row is None else str(row[0])

    def get_checkpoints(self, names: Sequence[str]) -> dict[str, str]:
        rows = self._uow.fetchall(
            "SELECT name, value FROM report_checkpoints WHERE name = ANY(%s)",
            (sorted(set(names)),),
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def put_checkpoint(self, name: str, value: str | None) -> None:
        if value is None:
            self._uow.run("DELETE FROM report_checkpoints WHERE name = %s", (name,))
        else:
            self._uow.run(
                "INSERT INTO report_checkpoints (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
