"""The in-memory reports rollups (R30-R33), attached to the in-memory unit of work as
``uow.reports``.

Each rollup is a dict from a key tuple to a list of ints, one of the store's undo-logged
extra tables: an add that creates a row is undo-logged as a new key, an add to an existing
row logs the old values, so a rollback undoes the rollups with the rest of the command.
Range reads scan a per-vendor index of days kept sorted.
"""

from __future__ import annotations

import bisect
import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from asolora_core.orders.model import Order
from asolora_core.reports.model import MoneyRow, ProductRow, SalesRow, month_of

__all__ = ["InMemoryReports"]


class UndoLog(Protocol):
    def set(self, table: dict[Any, Any], key: Any, value: Any) -> None: ...

    def on_rollback(self, fn: Callable[[], None]) -> None: ...

    def table(self, name: str) -> dict[Any, Any]: ...


def _restore_row(row: list[int], old: list[int]) -> Callable[[], None]:
    def undo() -> None:
        row[:] = old

    return undo


def _no_orders(order_id: str) -> Order:
    raise KeyError(order_id)


class InMemoryReports:
    def __init__(self, uow: UndoLog) -> None:
        self._uow = uow
        # vendor -> {(day, currency): [5 ints]}, {(day, product, currency): [4]}, {(day, c): [8]}
        self._sales: dict[str, dict[tuple[int, str], list[int]]] = uow.table("reports_sales")
        self._products: dict[str, dict[tuple[int, str, str], list[int]]] = uow.table(
            "reports_products"
        )
        self._months: dict[str, dict[tuple[int, str, str], list[int]]] = uow.table(
            "reports_product_months"
        )
        self._money: dict[str, dict[tuple[int, str], list[int]]] = uow.table("reports_money")
        self._checkpoints: dict[str, str] = uow.table("reports_checkpoints")
        self._load: Callable[[str], Order] = _no_orders
        self._by_vendor: dict[str, list[tuple[_dt.datetime, str]]] = {}

    def bind_orders(
        self, load: Callable[[str], Order], by_vendor: dict[str, list[tuple[_dt.datetime, str]]]
    ) -> None:
        """How to read the store's orders, and its per-vendor index of their keys
        ``(placed_at, order_id)``, kept sorted (for rebuild batches)."""
        self._load = load
        self._by_vendor = by_vendor

    def _add(
        self, tables: dict[str, dict[Any, list[int]]], vendor_id: str, key: Any, deltas: Any
    ) -> None:
        rows = tables.get(vendor_id)
        if rows is None:
            rows = {}
            self._uow.set(tables, vendor_id, rows)
        row = rows.get(key)
        if row is None:
            self._uow.set(rows, key, list(deltas))
            return
        self._uow.on_rollback(_restore_row(row, row[:]))
        for i, d in enumerate(deltas):
            row[i] += d

    def add_sales(
        self, vendor_id: str, day: int, currency: str, deltas: tuple[int, int, int, int, int]
    ) -> None:
        self._add(self._sales, vendor_id, (day, currency), deltas)

    def add_product(
        self,
        vendor_id: str,
        day: int,
        product_id: str,
        currency: str,
        deltas: tuple[int, int, int, int],
    ) -> None:
        self._add(self._products, vendor_id, (day, product_id, currency), deltas)
        self._add(self._months, vendor_id, (month_of(day), product_id, currency), deltas)

    def add_money(
        self,
        vendor_id: str,
        day: int,
        currency: str,
        deltas: tuple[int, int, int, int, int, int, int, int],
    ) -> None:
        self._add(self._money, vendor_id, (day, currency), deltas)

    def add_money_many(
        self, rows: Sequence[tuple[str, int, str, tuple[int, int, int, int, int, int, int, int]]]
    ) -> None:
        for vendor_id, day, currency, deltas in rows:
            self._add(self._money, vendor_id, (day, currency), deltas)

    def sales(self, vendor_id: str, first_day: int, last_day: int) -> tuple[SalesRow, ...]:
        rows = self._sales.get(vendor_id, {})
        out = [
            (day, cur, r[0], r[1], r[2], r[3], r[4])
            for (day, cur), r in rows.items()
            if first_day <= day <= last_day
        ]
        out.sort()
        return tuple(out)

    def products(
        self, vendor_id: str, first_day: int, last_day: int, *, by_day: bool = False
    ) -> tuple[ProductRow, ...]:
        return self._sum(self._products.get(vendor_id, {}), first_day, last_day, by_day)

    def product_months(
        self, vendor_id: str, first_month: int, last_month: int, *, by_month: bool = False
    ) -> tuple[ProductRow, ...]:
        return self._sum(self._months.get(vendor_id, {}), first_month, last_month, by_month)

    @staticmethod
    def _sum(
        rows: dict[tuple[int, str, str], list[int]], first_day: int, last_day: int, by_day: bool
    ) -> tuple[ProductRow, ...]:
        acc: dict[tuple[str, str, int], list[int]] = {}
        for (day, product, cur), r in rows.items():
            if first_day <= day <= last_day:
                key = (product, cur, day if by_day else 0)
                row = acc.get(key)
                if row is None:
                    acc[key] = r[:]
                else:
                    row[0] += r[0]
                    row[1] += r[1]
                    row[2] += r[2]
                    row[3] += r[3]
        return tuple((p, c, d, r[0], r[1], r[2], r[3]) for (p, c, d), r in sorted(acc.items()))

    def money(self, vendor_id: str, first_day: int, last_day: int) -> tuple[MoneyRow, ...]:
        rows = self._money.get(vendor_id, {})
        out = [(day, cur, *r) for (day, cur), r in rows.items() if first_day <= day <= last_day]
        out.sort()
        return tuple(out)  # type: ignore[arg-type]

    def money_before(self, vendor_id: str, day: int) -> tuple[MoneyRow, ...]:
        acc: dict[str, list[int]] = {}
        for (d, cur), r in self._money.get(vendor_id, {}).items():
            if d < day:
                row = acc.setdefault(cur, [0] * 8)
                for i, v in enumerate(r):
                    row[i] += v
        return tuple((0, cur, *r) for cur, r in sorted(acc.items()))  # type: ignore[misc]

    def clear(self, vendor_id: str) -> None:
        for tables in (self._sales, self._products, self._months, self._money):
            if vendor_id in tables:
                self._uow.set(tables, vendor_id, {})

    def has_vendor(self, vendor_id: str) -> bool:
        return any(
            bool(tables.get(vendor_id)) for tables in (self._sales, self._products, self._money)
        )

    def vendor_orders(
        self, vendor_id: str, *, after: tuple[_dt.datetime, str] | None, limit: int
    ) -> tuple[Order, ...]:
        keys = self._by_vendor.get(vendor_id, [])
        start = 0 if after is None else bisect.bisect_right(keys, after)
        return tuple(self._load(order_id) for _, order_id in keys[start : start + limit])

    def vendors(self, *, after: str, limit: int) -> tuple[str, ...]:
        ids = {v for v, keys in self._by_vendor.items() if keys}
        ids.update(self._uow.table("ledger_vendors"))
        ids.update(self._sales)
        ordered = sorted(v for v in ids if v > after)
        return tuple(ordered[:limit])

    def get_checkpoint(self, name: str) -> str | None:
        return self._checkpoints.get(name)

    def get_checkpoints(self, names: Sequence[str]) -> dict[str, str]:
        found = self._checkpoints
        return {n: found[n] for n in names if n in found}

    def put_checkpoint(self, name: str, value: str | None) -> None:
        if value is None:
            if name in self._checkpoints:
                old = self._checkpoints.pop(name)
                self._uow.on_rollback(lambda: self._checkpoints.__setitem__(name, old))
            return
        self._uow.set(self._checkpoints, name, value)
