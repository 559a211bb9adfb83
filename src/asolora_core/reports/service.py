"""The reports facade (R30-R33), mixed into ``Marketplace``.

:class:`_ReportCommands` plugs into the kernel of :mod:`asolora_core.kernel`:

* a reactor adds each order change's effect to the rollups (sales per vendor, local day and
  currency; products per vendor, local day and product) in the order change's transaction,
  and a posting reactor adds each journal transaction's effect on the vendor's balance
  (earnings per vendor, local day and currency) in the posting's transaction: the rollups
  are never stale and never drift;
* the reports (:meth:`sales_report`, :meth:`earnings_report`, :meth:`bestsellers`) read
  rollups only, never order lines;
* :meth:`verify_reports` recomputes a vendor's rollups from its orders and journal and lists
  every difference; :meth:`rebuild_reports` rebuilds one vendor or all, in batches, each in
  its own transaction, resuming from a checkpoint after an interruption; while a vendor is
  being rebuilt, changes to orders the rebuild has not reached yet are left to it;
* a vendor's time zone (``register_vendor(..., timezone=...)``) decides its local days;
  changing it rebuilds that vendor's rollups.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from asolora_core import fx
from asolora_core.actors import Actor, ActorKind
from asolora_core.errors import (
    InvalidInputError,
    NotPermittedError,
    RateUnavailableError,
    ReportsRebuildingError,
    UnknownCurrencyError,
    UnknownVendorError,
    UnsupportedReportingCurrencyError,
)
from asolora_core.events import DomainEvent, OrderCancelled, OrderPlaced, RefundIssued
from asolora_core.ledger.model import BALANCE, HoldState, JournalTransaction, VendorAccount
from asolora_core.ledger.service import _MoneyCommands
from asolora_core.money import check_currency
from asolora_core.orders.model import Order
from asolora_core.ports import UnitOfWork
from asolora_core.reports import core
from asolora_core.reports.model import (
    Bestseller,
    BestsellersReport,
    EarningsFigures,
    EarningsPeriod,
    EarningsReport,
    Granularity,
    HeldPart,
    ProductRow,
    RateUsed,
    RebuildProgress,
    RollupCheck,
    RollupDifference,
    SalesFigures,
    SalesPeriod,
    SalesReport,
    month_of,
)

__all__ = ["MAX_BESTSELLERS", "_ReportCommands"]

#: The largest ``limit`` :meth:`_ReportCommands.bestsellers` accepts.
MAX_BESTSELLERS = 1000
_ALL = "rebuild:*"
_LAST_DAY = _dt.date.max.toordinal()
_LAST_MONTH = month_of(_LAST_DAY)
_SHARE = Decimal("0.0001")


def _rebuild_key(vendor_id: str) -> str:
    return f"rebuild:{vendor_id}"


def _encode_after(key: tuple[_dt.datetime, str] | None) -> str:
    return json.dumps(None if key is None else [key[0].isoformat(), key[1]])


def _decode_after(text: str) -> tuple[_dt.datetime, str] | None:
    data = json.loads(text)
    return None if data is None else (_dt.datetime.fromisoformat(data[0]), str(data[1]))


def _reader(by: Actor, vendor_id: str) -> None:
    """R1: a vendor reads its own reports; staff (and the system) any vendor's."""
    if not isinstance(by, Actor):
        raise InvalidInputError("by must be an Actor, e.g. Actor.vendor('v-1')", field="by")
    if by.kind in (ActorKind.STAFF, ActorKind.SYSTEM):
        return
    if by.kind is ActorKind.VENDOR and by.id == vendor_id:
        return
    raise NotPermittedError(
        f"only vendor {vendor_id} or staff may read this vendor's reports", actor=by.key
    )


def _granularity(value: object) -> Granularity:
    if isinstance(value, Granularity):
        return value
    try:
        return Granularity(value)
    except ValueError:
        raise InvalidInputError(
            f"granularity must be 'day', 'week' or 'month' (a Granularity), not {value!r}",
            field="granularity",
        ) from None


def _reporting_currency(code: object) -> str:
    try:
        return check_currency(code, field="currency")
    except UnknownCurrencyError as exc:
        raise UnsupportedReportingCurrencyError(
            f"reporting currency {code!r} is not an ISO 4217 currency code such as 'EUR'",
            field="currency",
        ) from exc


class _ReportCommands(_MoneyCommands):
    """Sales, earnings and bestsellers from rollups kept on write (R30-R33)."""

    def _install(self) -> None:
        self._reactors.append(self._roll_up_order_events)
        self._posting_reactors.append(self._roll_up_posting)

    # --- keeping the rollups (the hot path) -------------------------------------------------

    def _zone_name(self, uow: UnitOfWork, vendor_id: str) -> str:
        account = uow.ledger.get_vendor(vendor_id)
        return "UTC" if account is None else account.timezone

    def _left_to_rebuild(self, uow: UnitOfWork, order: Order) -> bool:
        """Whether a running rebuild of the order's vendor will fold this order itself."""
        mark = uow.reports.get_checkpoint(_rebuild_key(order.vendor_id))
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
                if self._left_to_rebuild(uow, order):
                    return
                tz = core.zone(self._zone_name(uow, order.vendor_id))
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
        if txn.kind not in ("release", "refund", "chargeback", "payout"):
            return  # captures and fees move held proceeds only, not the balance
        if uow.reports.get_checkpoint(_rebuild_key(txn.vendor_id)) is not None:
            return  # the rebuild folds the journal in its last batch
        tz = core.zone(self._zone_name(uow, txn.vendor_id))
        for day, cur, deltas in core.on_posting(txn, tz):
            uow.reports.add_money(txn.vendor_id, day, cur, deltas)

    # --- shared by the reports ----------------------------------------------------------------

    def _open(self, uow: UnitOfWork, vendor_id: str) -> tuple[VendorAccount | None, str]:
        account = uow.ledger.get_vendor(vendor_id)
        if account is None and not uow.reports.has_vendor(vendor_id):
            raise UnknownVendorError(
                f"vendor {vendor_id!r} is not registered and has sold nothing; check the id, "
                "or register_vendor() it first",
                vendor_id=vendor_id,
            )
        if uow.reports.get_checkpoint(_rebuild_key(vendor_id)) is not None:
            raise ReportsRebuildingError(
                f"the reports of vendor {vendor_id!r} are being rebuilt; call "
                "rebuild_reports() to finish (it resumes where it stopped), then ask again",
                vendor_id=vendor_id,
            )
        return account, "UTC" if account is None else account.timezone

    def _day_rate(
        self,
        base: str,
        quote: str,
        day: int,
        tz_name: str,
        used: dict[tuple[int, str], RateUsed],
    ) -> fx.RateSnapshot:
        """The rate in force at the end of the local ``day`` (R30: each day's rate)."""
        date = _dt.date.fromordinal(day)
        end = core.periods(date, date, Granularity.DAY, tz_name)[0].end_at
        try:
            snapshot = self._rates.rate(base, quote, end - _dt.timedelta(microseconds=1))
        except RateUnavailableError as exc:
            raise UnsupportedReportingCurrencyError(
                f"no {base}/{quote} exchange rate for {date.isoformat()}: the report cannot be "
                f"converted into {quote}; ask per currency (currency=None) or configure rates",
                field="currency",
                day=date.isoformat(),
            ) from exc
        if base != quote:
            used[(day, base)] = RateUsed(
                day=date,
                base=base,
                quote=quote,
                rate=snapshot.rate,
                source=snapshot.source,
                as_of=snapshot.as_of,
            )
        return snapshot

    # --- sales (R30) ------------------------------------------------------------------------

    def sales_report(
        self,
        vendor_id: str,
        *,
        start: _dt.date,
        end: _dt.date,
        by: Actor,
        granularity: Granularity | str = Granularity.DAY,
        currency: str | None = None,
    ) -> SalesReport:
        """R30: the vendor's sales from ``start`` to ``end`` (local dates in its zone, both
        included) per day, ISO week or month: orders placed, items, gross, refunds, net. Per
        currency, or with ``currency`` converted into it at each day's rate (the rates used
        are listed). Reads the rollups only."""
        _reader(by, vendor_id)
        grain = _granularity(granularity)
        core.check_range(start, end)
        target = None if currency is None else _reporting_currency(currency)
        with self.store.unit_of_work() as uow:
            _, tz_name = self._open(uow, vendor_id)
            rows = uow.reports.sales(vendor_id, start.toordinal(), end.toordinal())
        periods = core.periods(start, end, grain, tz_name)
        starts = [p.first_day.toordinal() for p in periods]
        acc: list[dict[str, list[int]]] = [{} for _ in periods]
        used: dict[tuple[int, str], RateUsed] = {}
        index = 0
        for day, cur, orders, items, gross, refunds, refunded_items in rows:
            while index + 1 < len(starts) and starts[index + 1] <= day:
                index += 1
            if target is not None and cur != target:
                snapshot = self._day_rate(cur, target, day, tz_name, used)
                gross, refunds, cur = (
                    fx.convert(gross, snapshot),
                    fx.convert(refunds, snapshot),
                    target,
                )
            row = acc[index].setdefault(cur, [0, 0, 0, 0, 0])
            row[0] += orders
            row[1] += items
            row[2] += refunded_items
            row[3] += gross
            row[4] += refunds
        totals: dict[str, list[int]] = {target: [0] * 5} if target is not None else {}
        out: list[SalesPeriod] = []
        for period, per_currency in zip(periods, acc, strict=True):
            figures = []
            for cur in sorted(per_currency):
                r = per_currency[cur]
                t = totals.setdefault(cur, [0] * 5)
                for i in range(5):
                    t[i] += r[i]
                figures.append(_sales_figures(cur, r))
            if target is not None and not figures:
                figures.append(SalesFigures(currency=target))
            out.append(SalesPeriod(period=period, figures=tuple(figures)))
        return SalesReport(
            vendor_id=vendor_id,
            timezone=tz_name,
            granularity=grain,
            first_day=start,
            last_day=end,
            reporting_currency=target,
            periods=tuple(out),
            totals=tuple(_sales_figures(c, totals[c]) for c in sorted(totals)),
            rates=tuple(used[k] for k in sorted(used)),
        )

    # --- earnings (R31) -----------------------------------------------------------------------

    def earnings_report(
        self,
        vendor_id: str,
        *,
        start: _dt.date,
        end: _dt.date,
        by: Actor,
        granularity: Granularity | str = Granularity.DAY,
    ) -> EarningsReport:
        """R31: per period and currency, proceeds released, commission, processing and
        conversion fees, refunds and chargebacks debited after release, offsets, payouts,
        and the opening and closing balance (the closing balance is the ledger balance at the
        period's end); plus the proceeds still held now, soonest due first."""
        _reader(by, vendor_id)
        grain = _granularity(granularity)
        core.check_range(start, end)
        with self.store.unit_of_work() as uow:
            _, tz_name = self._open(uow, vendor_id)
            before = uow.reports.money_before(vendor_id, start.toordinal())
            rows = uow.reports.money(vendor_id, start.toordinal(), end.toordinal())
            holds = uow.ledger.holds_for_vendor(vendor_id)
        periods = core.periods(start, end, grain, tz_name)
        starts = [p.first_day.toordinal() for p in periods]
        balance: dict[str, int] = {}
        for _, cur, released, _c, _p, _f, refunds, chargebacks, _o, payouts in before:
            balance[cur] = released - refunds - chargebacks - payouts
        for row in rows:
            balance.setdefault(row[1], 0)
        acc: list[dict[str, list[int]]] = [{} for _ in periods]
        index = 0
        for day, cur, *columns in rows:
            while index + 1 < len(starts) and starts[index + 1] <= day:
                index += 1
            r = acc[index].setdefault(cur, [0] * 8)
            for i, value in enumerate(columns):
                r[i] += value
        out: list[EarningsPeriod] = []
        for period, per_currency in zip(periods, acc, strict=True):
            figures = []
            for cur in sorted(balance):
                r = per_currency.get(cur, [0] * 8)
                f = EarningsFigures(
                    currency=cur,
                    opening_minor=balance[cur],
                    released_minor=r[0],
                    commission_minor=r[1],
                    processing_fees_minor=r[2],
                    conversion_fees_minor=r[3],
                    refunds_debited_minor=r[4],
                    chargebacks_debited_minor=r[5],
                    offsets_minor=r[6],
                    payouts_minor=r[7],
                )
                balance[cur] = f.closing_minor
                figures.append(f)
            out.append(EarningsPeriod(period=period, figures=tuple(figures)))
        held = sorted(
            (
                HeldPart(
                    order_id=h.order_id,
                    currency=h.currency,
                    held_minor=h.held_minor,
                    release_at=h.release_at,
                    frozen=h.frozen,
                )
                for h in holds
                if h.state in (HoldState.OPEN, HoldState.HELD, HoldState.FROZEN) and h.held_minor
            ),
            key=lambda h: (
                h.release_at is None,
                h.release_at or _dt.datetime.min.replace(tzinfo=_dt.UTC),
                h.order_id,
            ),
        )
        return EarningsReport(
            vendor_id=vendor_id,
            timezone=tz_name,
            granularity=grain,
            first_day=start,
            last_day=end,
            periods=tuple(out),
            held=tuple(held),
        )

    # --- bestsellers (R32) ----------------------------------------------------------------------

    def bestsellers(
        self,
        vendor_id: str,
        *,
        start: _dt.date,
        end: _dt.date,
        by: Actor,
        limit: int = 10,
        currency: str | None = None,
    ) -> BestsellersReport:
        """R32: the top ``limit`` products from ``start`` to ``end`` (local dates, both
        included) by units sold net of refunded units; ties by net revenue, then product id.
        Net revenue is in ``currency`` (default: the one currency sold in, else the vendor's
        payout currency), other currencies converted at each day's rate."""
        _reader(by, vendor_id)
        core.check_range(start, end)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_BESTSELLERS
        ):
            raise InvalidInputError(
                f"limit must be a whole number from 1 to {MAX_BESTSELLERS}, not {limit!r}",
                field="limit",
            )
        target = None if currency is None else _reporting_currency(currency)
        first, last = start.toordinal(), end.toordinal()
        with self.store.unit_of_work() as uow:
            account, tz_name = self._open(uow, vendor_id)
            rows = self._product_rows(uow, vendor_id, start, end)
            currencies = sorted({r[1] for r in rows})
            if target is None:
                if len(currencies) <= 1:
                    target = (
                        currencies[0]
                        if currencies
                        else (account.payout_currency if account is not None else "EUR")
                    )
                elif account is not None:
                    target = account.payout_currency
                else:
                    raise InvalidInputError(
                        f"vendor {vendor_id!r} sold in {currencies} and has no payout currency: "
                        "name the currency to rank net revenue in",
                        field="currency",
                    )
            daily = (
                uow.reports.products(vendor_id, first, last, by_day=True)
                if any(c != target for c in currencies)
                else ()
            )
        # product -> [sold, refunded, net revenue in target]
        acc: dict[str, list[int]] = {}
        for product, cur, _day, units, revenue, ref_units, ref_revenue in rows:
            r = acc.setdefault(product, [0, 0, 0])
            r[0] += units
            r[1] += ref_units
            if cur == target:
                r[2] += revenue - ref_revenue
        used: dict[tuple[int, str], RateUsed] = {}
        for product, cur, day, _units, revenue, _ref_units, ref_revenue in daily:
            if cur != target:
                snapshot = self._day_rate(cur, target, day, tz_name, used)
                acc[product][2] += fx.convert(revenue - ref_revenue, snapshot)
        total = sum(r[0] - r[1] for r in acc.values())
        ranked = sorted(acc.items(), key=lambda kv: (-(kv[1][0] - kv[1][1]), -kv[1][2], kv[0]))
        products = tuple(
            Bestseller(
                rank=i,
                product_id=product,
                units=r[0] - r[1],
                units_sold=r[0],
                units_refunded=r[1],
                net_revenue_minor=r[2],
                currency=target,
                share=(
                    (Decimal(r[0] - r[1]) / Decimal(total)).quantize(_SHARE)
                    if total
                    else Decimal(0).quantize(_SHARE)
                ),
            )
            for i, (product, r) in enumerate(ranked[:limit], start=1)
        )
        return BestsellersReport(
            vendor_id=vendor_id,
            first_day=start,
            last_day=end,
            currency=target,
            limit=limit,
            products=products,
            total_units=total,
            rates=tuple(used[k] for k in sorted(used)),
        )

    @staticmethod
    def _product_rows(
        uow: UnitOfWork, vendor_id: str, start: _dt.date, end: _dt.date
    ) -> list[ProductRow]:
        """The range's product rows: whole months from the monthly rollup, the days before
        the first and after the last whole month from the daily one."""
        one = _dt.timedelta(days=1)
        first_full = start if start.day == 1 else _next_month(start)
        last_full = end if _next_month(end) - one == end else end.replace(day=1) - one
        if first_full > last_full:
            return list(uow.reports.products(vendor_id, start.toordinal(), end.toordinal()))
        rows = list(
            uow.reports.product_months(
                vendor_id, month_of(first_full.toordinal()), month_of(last_full.toordinal())
            )
        )
        if start < first_full:
            rows += uow.reports.products(
                vendor_id, start.toordinal(), (first_full - one).toordinal()
            )
        if last_full < end:
            rows += uow.reports.products(vendor_id, (last_full + one).toordinal(), end.toordinal())
        return rows

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
        sales: dict[tuple[object, ...], list[int]] = {}
        products: dict[tuple[object, ...], list[int]] = {}
        money: dict[tuple[object, ...], list[int]] = {}
        count = 0
        with self.store.unit_of_work() as uow:
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
        again. Staff or the system."""
        if not isinstance(by, Actor):
            raise InvalidInputError("by must be an Actor, e.g. Actor.staff('s-1')", field="by")
        if by.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
            raise NotPermittedError("only staff or the system may rebuild reports", actor=by.key)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(
                "batch_size must be a positive whole number", field="batch_size"
            )
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
        core.zone(timezone)  # UnknownTimeZoneError before anything changes
        with self.store.unit_of_work() as uow:
            old = uow.ledger.get_vendor(vendor_id) if isinstance(vendor_id, str) else None
            had = isinstance(vendor_id, str) and uow.reports.has_vendor(vendor_id)
        changed = had and (old.timezone if old is not None else "UTC") != timezone
        if not changed:
            return super().register_vendor(
                vendor_id,
                payout_currency=payout_currency,
                by=by,
                name=name,
                timezone=timezone,
                idempotency_key=idempotency_key,
            )
        if by.kind in (ActorKind.STAFF, ActorKind.SYSTEM):  # start the rebuild first (R33)
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
            if by.kind in (ActorKind.STAFF, ActorKind.SYSTEM):
                self._rebuild_vendor(vendor_id, 1000, [-1], [0, 0, 0])


def _next_month(day: _dt.date) -> _dt.date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=1) + _dt.timedelta(days=32)).replace(day=1)


def _sales_figures(currency: str, r: list[int]) -> SalesFigures:
    return SalesFigures(
        currency=currency,
        orders=r[0],
        items=r[1],
        refunded_items=r[2],
        gross_minor=r[3],
        refunds_minor=r[4],
    )


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
