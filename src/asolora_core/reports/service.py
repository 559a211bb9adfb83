"""The reports facade (R30-R32), mixed into ``Marketplace``.

:class:`_ReportCommands` reads the rollups that :mod:`asolora_core.reports.rollups` keeps
(never order lines): :meth:`~_ReportCommands.sales_report` (R30),
:meth:`~_ReportCommands.earnings_report` (R31) and :meth:`~_ReportCommands.bestsellers`
(R32), per day, ISO week or month in the vendor's time zone, each a typed value with
``to_rows()`` and ``to_dict()``.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from asolora_core import fx
from asolora_core.actors import Actor
from asolora_core.errors import (
    InvalidDateRangeError,
    InvalidInputError,
    RateUnavailableError,
    ReportsRebuildingError,
    UnknownCurrencyError,
    UnknownVendorError,
    UnsupportedReportingCurrencyError,
)
from asolora_core.ledger.model import HoldState, VendorAccount
from asolora_core.money import allocate, check_currency
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
    SalesFigures,
    SalesPeriod,
    SalesReport,
    month_of,
)
from asolora_core.reports.rollups import _reader, _rebuild_key, _RollupUpkeep

__all__ = ["MAX_BESTSELLERS", "_ReportCommands"]

#: The largest ``limit`` :meth:`_ReportCommands.bestsellers` accepts.
MAX_BESTSELLERS = 1000
_SHARE_PLACES = 4
_SHARE = Decimal(1).scaleb(-_SHARE_PLACES)  # 0.0001
_WHOLE = 10**_SHARE_PLACES  # a share of 1, in ten-thousandths
#: The local dates a report may cover: calendar arithmetic on the range (week and month
#: ends, the next day in the vendor's zone) never leaves the dates Python represents.
FIRST_REPORT_DAY = _dt.date(1900, 1, 1)
LAST_REPORT_DAY = _dt.date(9998, 12, 31)
#: The most periods one sales or earnings report has (ten years of days), so one call's
#: work is bounded (R25); ask by week or month, or a shorter range, for more.
MAX_REPORT_PERIODS = 3660


def _check_span(start: _dt.date, end: _dt.date, grain: Granularity | None) -> None:
    """R30-R32, before any store is touched: dates, in order, within the reportable
    years, and (for ``grain``) at most :data:`MAX_REPORT_PERIODS` periods."""
    core.check_range(start, end)
    if start < FIRST_REPORT_DAY or end > LAST_REPORT_DAY:
        raise InvalidDateRangeError(
            f"a report covers dates from {FIRST_REPORT_DAY.isoformat()} to "
            f"{LAST_REPORT_DAY.isoformat()}; narrow the range",
            field="start" if start < FIRST_REPORT_DAY else "end",
        )
    if grain is None:
        return
    days = end.toordinal() - start.toordinal() + 1
    if grain is Granularity.DAY:
        count = days
    elif grain is Granularity.WEEK:
        count = days // 7 + 2
    else:
        count = (end.year - start.year) * 12 + end.month - start.month + 1
    if count > MAX_REPORT_PERIODS:
        raise InvalidDateRangeError(
            f"the range has {count} {grain.value}s; a report has at most "
            f"{MAX_REPORT_PERIODS} periods: ask by week or month, or a shorter range",
            field="end",
            limit=MAX_REPORT_PERIODS,
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


class _ReportCommands(_RollupUpkeep):
    """Sales, earnings and bestsellers from rollups kept on write (R30-R32)."""

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
        _check_span(start, end, grain)
        target = None if currency is None else _reporting_currency(currency)
        with self.store.reader() as uow:  # a query: no write lock
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
        _check_span(start, end, grain)
        with self.store.reader() as uow:  # a query: no write lock
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
        payout currency), other currencies converted at each day's rate. Each ``share`` is
        the product's net units over the sum of every product's positive net units (a
        product net negative, its refunds in the range being of units sold before it, has
        share 0): over the full list the shares sum to exactly 1 whenever any product is
        net positive (largest remainders), else all are 0; the top ``limit`` shown sum to at
        most 1."""
        _reader(by, vendor_id)
        _check_span(start, end, None)
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
        with self.store.reader() as uow:  # a query: no write lock
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
        shares = _shares([r[0] - r[1] for _, r in ranked])
        products = tuple(
            Bestseller(
                rank=i,
                product_id=product,
                units=r[0] - r[1],
                units_sold=r[0],
                units_refunded=r[1],
                net_revenue_minor=r[2],
                currency=target,
                share=shares[i - 1],
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


def _shares(units: list[int]) -> list[Decimal]:
    """Each product's share of the range's sales, to 4 places, for the whole ranked list
    (R32): its net ``units`` over the sum of every product's *positive* net units. A product
    is net negative only when the range holds refunds of units sold before it; it sold
    nothing in the range, so its share is 0, as is the share of a product whose refunds
    cancel its sales. The 10,000 ten-thousandths are split with largest remainders
    (:func:`~asolora_core.money.allocate`, ties to the larger count, then the better rank),
    so whenever any product is net positive the shares sum to exactly 1 and each is within
    0.0001 of its exact ratio; with none, every share is 0."""
    counted = [max(u, 0) for u in units]
    if not any(counted):
        return [Decimal(0).quantize(_SHARE)] * len(units)
    return [Decimal(part).scaleb(-_SHARE_PLACES) for part in allocate(_WHOLE, counted)]


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
