"""Keeping the reports' rollups (R30-R33), mixed into ``Marketplace`` below the reports.

:class:`_RollupUpkeep` plugs into the kernel of :mod:`asolora_core.kernel`:

* a reactor adds each order change's effect to the rollups (sales per vendor, local day and
  currency; products per vendor, local day or month, and product) in the order change's
  transaction, and a posting reactor adds each journal transaction's effect on the vendor's
  balance (earnings per vendor, local day and currency) in the posting's transaction: the
  rollups are never stale and never drift;
* :meth:`~_RollupUpkeep.verify_reports` recomputes a vendor's rollups from its orders and
  journal and lists every difference; :meth:`~_RollupUpkeep.rebuild_reports` rebuilds one
  vendor or all, in batches, each in its own transaction, resuming from a checkpoint after
  an interruption; while a vendor is being rebuilt, changes to orders the rebuild has not
  reached yet are left to it;
* a vendor's time zone (``register_vendor(..., timezone=...)``) decides its local days;
  changing it rebuilds that vendor's rollups.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.errors import NotPermittedError
from asolora_core.events import DomainEvent, OrderCancelled, OrderPlaced, RefundIssued
from asolora_core.ledger.model import BALANCE, JournalTransaction, VendorAccount
from asolora_core.ledger.service import _MoneyCommands
from asolora_core.limits import check_count, check_id, check_name
from asolora_core.money import check_currency
from asolora_core.orders.model import Order
from asolora_core.ports import UnitOfWork
from asolora_core.reports import core
from asolora_core.reports.model import RebuildProgress, RollupCheck, RollupDifference, month_of

__all__ = ["_RollupUpkeep"]

_ALL = "rebuild:*"
_LAST_DAY = _dt.date.max.toordinal()
_LAST_MONTH = month_of(_LAST_DAY)
#: The largest ``batch_size`` (orders per transaction) verify and rebuild take.
_MAX_BATCH = 100_000


def _rebuild_key(vendor_id: str) -> str:
    return f"rebuild:{vendor_id}"


def _money_deltas(row: list[int]) -> tuple[int, int, int, int, int, int, int, int]:
    a, b, c, d, e, f, g, h = row
    return (a, b, c, d, e, f, g, h)


def _encode_after(key: tuple[_dt.datetime, str] | None) -> str:
    return json.dumps(None if key is None else [key[0].isoformat(), key[1]])


def _decode_after(text: str) -> tuple[_dt.datetime, str] | None:
    data = json.loads(text)
    return None if data is None else (_dt.datetime.fromisoformat(data[0]), str(data[1]))


def _reader(by: Actor, vendor_id: str) -> None:
    """R1: a vendor reads its own reports; staff (and the system) any vendor's. The actor
    and the vendor id are checked (R2) before any store is touched."""
    check_actor(by)
    check_id(vendor_id, "vendor_id")
    if by.kind in (ActorKind.STAFF, ActorKind.SYSTEM):
        return
    if by.kind is ActorKind.VENDOR and by.id == vendor_id:
        return
    raise NotPermittedError(
        f"only vendor {vendor_id} or staff may read this vendor's reports", actor=by.key
    )


class _RollupUpkeep(_MoneyCommands):
    """The rollups kept on write, their verification and rebuild (R30-R33)."""

    def _install(self) -> None:
        self._react_on(self._roll_up_order_events, OrderPlaced, RefundIssued, OrderCancelled)
        self._posting_reactors.append(self._roll_up_posting)
        self._batch_posting_reactors[self._roll_up_posting] = self._roll_up_postings
        # a rollup reads the kind, vendor, time, entries and memo, never the seal: the sweep
        # writes it before locking the journal head
        self._unsealed_batch_posting_reactors.add(self._roll_up_posting)

    # --- keeping the rollups (the hot path) -------------------------------------------------

    def _zone_name(self, uow: UnitOfWork, vendor_id: str) -> str:
        account = uow.ledger.get_vendor(vendor_id)
        return "UTC" if account is None else account.timezone

    @staticmethod
    def _left_to_rebuild(mark: str | None, order: Order) -> bool:
        """Whether a running rebuild of the order's vendor (its checkpoint ``mark``) will
        fold this order itself."""
        if mark is None:
            return False
        after = _decode_after(mark)
        return after is None or (order.placed_at, order.order_id) > after

    def _roll_up_order_events(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        tz: ZoneInfo | None = None
        for event in events:
            if not isinstance(event, OrderPlaced | RefundIssued | OrderCancelled):
                continue
            if tz is None:
                key, vendor_id = _rebuild_key(order.vendor_id), order.vendor_id
                both = getattr(uow.reports, "checkpoint_and_zone", None)
                if both is not None:  # a store's one read of both (see ReportRollups)
                    mark, zone_name = both(key, vendor_id)
                    if self._left_to_rebuild(mark, order):
                        return
                else:
                    if self._left_to_rebuild(uow.reports.get_checkpoint(key), order):
                        return
                    zone_name = self._zone_name(uow, vendor_id)
                tz = core.zone(zone_name)
            if isinstance(event, OrderPlaced):
                sales, products = core.on_placed(order, tz)
            elif isinstance(event, RefundIssued):
                sales, products = core.on_refund(order, event.refund_id, tz)
            else:
                sales, products = core.on_cancelled(order, tz)
            self._add_rows(uow, order.vendor_id, sales, products)

    @staticmethod
    def _add_rows(
        uow: UnitOfWork,
        vendor_id: str,
        sales: Sequence[core.SalesDelta],
        products: Sequence[core.ProductDelta],
    ) -> None:
        rollups = uow.reports
        for day, cur, deltas in sales:
            rollups.add_sales(vendor_id, day, cur, deltas)
        for day, product, cur, pdeltas in products:
            rollups.add_product(vendor_id, day, product, cur, pdeltas)

    def _roll_up_posting(self, uow: UnitOfWork, txn: JournalTransaction) -> None:
        if txn.kind in ("capture", "fees"):
            return  # captures and fees move held proceeds only, not the balance
        if uow.reports.get_checkpoint(_rebuild_key(txn.vendor_id)) is not None:
            return  # the rebuild folds the journal in its last batch
        tz = core.zone(self._zone_name(uow, txn.vendor_id))
        for day, cur, deltas in core.on_posting(txn, tz):
            uow.reports.add_money(txn.vendor_id, day, cur, deltas)

    def _roll_up_postings(self, uow: UnitOfWork, txns: Sequence[JournalTransaction]) -> None:
        """:meth:`_roll_up_posting` of each of ``txns`` (a sweep batch's releases), with the
        vendors, rebuild marks and rows read and written at once: the deltas of one vendor,
        day and currency are summed first (the rollups only add)."""
        mine = [t for t in txns if t.kind not in ("capture", "fees")]
        if not mine:
            return
        vendors = sorted({t.vendor_id for t in mine})
        rebuilding = uow.reports.get_checkpoints([_rebuild_key(v) for v in vendors])
        accounts = uow.ledger.get_vendors(vendors)
        # each vendor's zone, None for a vendor being rebuilt (the rebuild folds the journal
        # in its last batch)
        zones: dict[str, ZoneInfo | None] = {}
        for vendor_id in vendors:
            account = accounts.get(vendor_id)
            zones[vendor_id] = (
                None
                if _rebuild_key(vendor_id) in rebuilding
                else core.zone("UTC" if account is None else account.timezone)
            )
        rows: dict[tuple[str, int, str], list[int]] = {}
        for txn in mine:
            vendor_id = txn.vendor_id
            tz = zones[vendor_id]
            if tz is None:
                continue
            for day, cur, deltas in core.on_posting(txn, tz):
                row = rows.get((vendor_id, day, cur))
                if row is None:
                    rows[(vendor_id, day, cur)] = list(deltas)
                else:
                    for i, d in enumerate(deltas):
                        row[i] += d
        uow.reports.add_money_many(
            [(v, day, cur, _money_deltas(row)) for (v, day, cur), row in rows.items()]
        )

    # --- verify and rebuild (R33) -----------------------------------------------------------------

    @staticmethod
    def _fold_orders(
        orders: Sequence[Order],
        tz: ZoneInfo,
        sales: dict[tuple[object, ...], list[int]],
        products: dict[tuple[object, ...], list[int]],
    ) -> None:
        for order in orders:
            s, p = core.order_fold(order, tz)
            for day, cur, deltas in s:
                core.add_into(sales, (day, cur), deltas)
            for day, product, cur, pdeltas in p:
                core.add_into(products, (day, product, cur), pdeltas)

    @staticmethod
    def _fold_journal(
        uow: UnitOfWork, vendor_id: str, tz: ZoneInfo, money: dict[tuple[object, ...], list[int]]
    ) -> int:
        seen: set[int] = set()
        for cur in uow.ledger.vendor_currencies(vendor_id):
            for txn in uow.ledger.vendor_transactions(vendor_id, cur, BALANCE):
                if txn.seq in seen:
                    continue
                seen.add(txn.seq)
                for day, c, deltas in core.on_posting(txn, tz):
                    core.add_into(money, (day, c), deltas)
        return len(seen)

    def verify_reports(self, vendor_id: str, *, by: Actor, batch_size: int = 1000) -> RollupCheck:
        """R33: recompute the vendor's rollups from its orders and journal and list every
        row that differs from what is stored (an empty list: the reports are exact)."""
        _reader(by, vendor_id)
        check_count(batch_size, "batch_size", low=1, high=_MAX_BATCH)
        sales: dict[tuple[object, ...], list[int]] = {}
        products: dict[tuple[object, ...], list[int]] = {}
        money: dict[tuple[object, ...], list[int]] = {}
        count = 0
        with self.store.reader() as uow:  # a query: one snapshot, no write lock
            tz = core.zone(self._zone_name(uow, vendor_id))
            rebuilding = uow.reports.get_checkpoint(_rebuild_key(vendor_id)) is not None
            after: tuple[_dt.datetime, str] | None = None
            while True:
                orders = uow.reports.vendor_orders(vendor_id, after=after, limit=batch_size)
                self._fold_orders(orders, tz, sales, products)
                count += len(orders)
                if len(orders) < batch_size:
                    break
                after = (orders[-1].placed_at, orders[-1].order_id)
            txns = self._fold_journal(uow, vendor_id, tz, money)
            stored_sales = {
                (r[0], r[1]): list(r[2:]) for r in uow.reports.sales(vendor_id, 0, _LAST_DAY)
            }
            stored_products = {
                (r[2], r[0], r[1]): list(r[3:])
                for r in uow.reports.products(vendor_id, 0, _LAST_DAY, by_day=True)
            }
            stored_months = {
                (-r[2] - 1, r[0], r[1]): list(r[3:])
                for r in uow.reports.product_months(vendor_id, 0, _LAST_MONTH, by_month=True)
            }
            stored_money = {
                (r[0], r[1]): list(r[2:]) for r in uow.reports.money(vendor_id, 0, _LAST_DAY)
            }
        differences = [
            *_compare("sales", stored_sales, sales, 5),  # type: ignore[arg-type]
            *_compare("products", stored_products, products, 4),  # type: ignore[arg-type]
            *_compare("product_months", stored_months, _by_month(products), 4),  # type: ignore[arg-type]
            *_compare("money", stored_money, money, 8),  # type: ignore[arg-type]
        ]
        return RollupCheck(
            vendor_id=vendor_id,
            orders=count,
            transactions=txns,
            differences=tuple(differences),
            rebuilding=rebuilding,
        )

    def rebuild_reports(
        self,
        vendor_id: str | None = None,
        *,
        by: Actor,
        batch_size: int = 1000,
        max_batches: int | None = None,
    ) -> RebuildProgress:
        """R33: rebuild the rollups of ``vendor_id`` (or of every vendor) from the orders and
        the journal, ``batch_size`` orders per transaction. Each batch saves a checkpoint, so
        a call stopped by ``max_batches`` (or a crash) resumes where it stopped when called
        again. Staff or the system; ``batch_size`` is 1 to 100,000, ``max_batches`` at
        least 1."""
        check_actor(by)
        if by.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
            raise NotPermittedError("only staff or the system may rebuild reports", actor=by.key)
        check_count(batch_size, "batch_size", low=1, high=_MAX_BATCH)
        if max_batches is not None:
            check_count(max_batches, "max_batches", low=1, high=2**31)
        if vendor_id is not None:
            check_id(vendor_id, "vendor_id")
        budget = [max_batches if max_batches is not None else -1]
        finished: list[str] = []
        counts = [0, 0, 0]  # orders, transactions, batches
        if vendor_id is not None:
            done = self._rebuild_vendor(vendor_id, batch_size, budget, counts)
            if done:
                finished.append(vendor_id)
            return RebuildProgress(
                vendors=tuple(finished),
                orders=counts[0],
                transactions=counts[1],
                batches=counts[2],
                done=done,
            )
        while True:
            with self.store.unit_of_work() as uow:
                after = uow.reports.get_checkpoint(_ALL)
                if after is None:
                    uow.reports.put_checkpoint(_ALL, "")
                    after = ""
                vendors = uow.reports.vendors(after=after, limit=100)
                uow.commit()
            for v in vendors:
                if not self._rebuild_vendor(v, batch_size, budget, counts):
                    return RebuildProgress(
                        vendors=tuple(finished),
                        orders=counts[0],
                        transactions=counts[1],
                        batches=counts[2],
                        done=False,
                    )
                finished.append(v)
                with self.store.unit_of_work() as uow:
                    uow.reports.put_checkpoint(_ALL, v)
                    uow.commit()
            if len(vendors) < 100:
                break
        with self.store.unit_of_work() as uow:
            uow.reports.put_checkpoint(_ALL, None)
            uow.commit()
        return RebuildProgress(
            vendors=tuple(finished),
            orders=counts[0],
            transactions=counts[1],
            batches=counts[2],
            done=True,
        )

    def _rebuild_vendor(
        self, vendor_id: str, batch_size: int, budget: list[int], counts: list[int]
    ) -> bool:
        """Fold the vendor's next batches; True once its rebuild is complete."""
        name = _rebuild_key(vendor_id)
        while True:
            if budget[0] == 0:
                return False
            with self.store.unit_of_work() as uow:
                mark = uow.reports.get_checkpoint(name)
                if mark is None:  # a fresh start: clear, then fold from the first order
                    uow.reports.clear(vendor_id)
                    mark = _encode_after(None)
                after = _decode_after(mark)
                tz = core.zone(self._zone_name(uow, vendor_id))
                orders = uow.reports.vendor_orders(vendor_id, after=after, limit=batch_size)
                sales: dict[tuple[object, ...], list[int]] = {}
                products: dict[tuple[object, ...], list[int]] = {}
                self._fold_orders(orders, tz, sales, products)
                for (day, cur), r in sales.items():
                    uow.reports.add_sales(vendor_id, day, cur, tuple(r))  # type: ignore[arg-type]
                for (day, product, cur), r in products.items():
                    uow.reports.add_product(vendor_id, day, product, cur, tuple(r))  # type: ignore[arg-type]
                counts[0] += len(orders)
                last = len(orders) < batch_size
                if last:
                    money: dict[tuple[object, ...], list[int]] = {}
                    counts[1] += self._fold_journal(uow, vendor_id, tz, money)
                    for (day, cur), r in money.items():
                        uow.reports.add_money(vendor_id, day, cur, tuple(r))  # type: ignore[arg-type]
                    uow.reports.put_checkpoint(name, None)
                else:
                    tail = orders[-1]
                    uow.reports.put_checkpoint(name, _encode_after((tail.placed_at, tail.order_id)))
                uow.commit()
            counts[2] += 1
            if budget[0] > 0:
                budget[0] -= 1
            if last:
                return True

    # --- the vendor's time zone -------------------------------------------------------------------

    def register_vendor(
        self,
        vendor_id: str,
        *,
        payout_currency: str,
        by: Actor,
        name: str = "",
        timezone: str = "UTC",
        idempotency_key: str | None = None,
    ) -> VendorAccount:
        """Set (or change) the vendor's payout currency (R17, R18) and time zone (an IANA
        name, default UTC: the zone its reports' days, weeks and months are in, R30); staff
        or system. Changing the zone of a vendor with rollups rebuilds them in the new zone."""
        # every argument is checked before any store is touched (R2)
        check_actor(by)
        if by.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):  # R1, before any store read
            raise NotPermittedError("only staff or the system may register a vendor", actor=by.key)
        check_id(vendor_id, "vendor_id")
        check_name(name, "name")
        check_name(timezone, "timezone")
        check_currency(payout_currency, field="payout_currency")
        core.zone(timezone)  # UnknownTimeZoneError before anything changes
        with self.store.reader() as uow:
            old = uow.ledger.get_vendor(vendor_id)
            had = uow.reports.has_vendor(vendor_id)
        changed = had and (old.timezone if old is not None else "UTC") != timezone
        staff = isinstance(by, Actor) and by.kind in (ActorKind.STAFF, ActorKind.SYSTEM)
        if not changed or not staff:  # (a refusal for anyone else comes from the ledger)
            return super().register_vendor(
                vendor_id,
                payout_currency=payout_currency,
                by=by,
                name=name,
                timezone=timezone,
                idempotency_key=idempotency_key,
            )
        # start the rebuild first (R33): orders changing meanwhile are left to it
        with self.store.unit_of_work() as uow:
            uow.reports.clear(vendor_id)
            uow.reports.put_checkpoint(_rebuild_key(vendor_id), _encode_after(None))
            uow.commit()
        try:
            return super().register_vendor(
                vendor_id,
                payout_currency=payout_currency,
                by=by,
                name=name,
                timezone=timezone,
                idempotency_key=idempotency_key,
            )
        finally:
            self._rebuild_vendor(vendor_id, 1000, [-1], [0, 0, 0])


def _by_month(
    products: dict[tuple[object, ...], list[int]],
) -> dict[tuple[object, ...], list[int]]:
    """The daily product fold summed per month: what the monthly rollup must hold."""
    out: dict[tuple[object, ...], list[int]] = {}
    for (day, product, cur), row in products.items():
        assert isinstance(day, int)
        core.add_into(out, (-month_of(day) - 1, product, cur), row)
    return out


def _render(key: tuple[object, ...]) -> tuple[str, ...]:
    """A row key for people: the day as an ISO date (a month key, stored negative, as
    ``YYYY-MM``)."""
    day = key[0]
    assert isinstance(day, int)
    if day < 0:
        year, month = divmod(-day - 1, 12)
        return (f"{year:04d}-{month + 1:02d}", *(str(k) for k in key[1:]))
    return (_dt.date.fromordinal(day).isoformat(), *(str(k) for k in key[1:]))


def _compare(
    table: str,
    stored: dict[tuple[object, ...], list[int]],
    expected: dict[tuple[object, ...], list[int]],
    width: int,
) -> list[RollupDifference]:
    zero = [0] * width
    out = []
    for key in sorted(set(stored) | set(expected), key=repr):
        s = stored.get(key, zero)
        e = expected.get(key, zero)
        if s != e:
            out.append(
                RollupDifference(table=table, key=_render(key), stored=tuple(s), expected=tuple(e))
            )
    return out
