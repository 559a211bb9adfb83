"""The reports' pure core (R30-R33): what each order change and ledger posting adds to the
rollups, the same fold over a whole order (what ``verify`` and ``rebuild`` recompute), and
periods in a vendor's time zone.

**Rollup rows** are integer tuples keyed by tuples, so the hot path is a few integer adds:

* sales, per (vendor, local day, currency): ``(orders, items, gross, refunds,
  refunded_items)``; an order counts on the day it was placed, a refund on the day it was
  made (R30, R20);
* products, per (vendor, local day, product, currency): ``(units, revenue, refunded_units,
  refunded_revenue)``; a line's revenue is its exact share of the payment, a refunded unit
  takes back the same per-unit share the refund charged (R32); amount-only and shipping
  refunds are order-level (in sales, not per product);
* money, per (vendor, local day, currency): the balance movements of
  :class:`~asolora_core.reports.model.EarningsFigures` (R31), from each journal transaction
  that touches the vendor's balance account.

A local day is a date ordinal (:meth:`datetime.date.toordinal`) in the vendor's zone,
computed with :mod:`zoneinfo` (cached zones; no pendulum on the hot path). Periods (days, ISO
weeks, months) are built with pendulum, off the hot path (imported on the first call).
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asolora_core.errors import InvalidDateRangeError, UnknownTimeZoneError
from asolora_core.ledger.model import (
    BALANCE,
    FEE_CURRENCY,
    JournalTransaction,
    statement_kind,
    vendor_account,
)
from asolora_core.orders.commands import unit_share
from asolora_core.orders.model import Order, OrderStatus
from asolora_core.reports.model import Granularity, Period

__all__ = [
    "MoneyDelta",
    "ProductDelta",
    "SalesDelta",
    "add_into",
    "check_range",
    "local_day",
    "on_cancelled",
    "on_placed",
    "on_posting",
    "on_refund",
    "order_fold",
    "periods",
    "zone",
]

SalesDelta = tuple[int, str, tuple[int, int, int, int, int]]
ProductDelta = tuple[int, str, str, tuple[int, int, int, int]]
MoneyDelta = tuple[int, str, tuple[int, int, int, int, int, int, int, int]]

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z"})


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`UnknownTimeZoneError` for anything else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise UnknownTimeZoneError(
            f"time zone {name!r} is not an IANA time zone name such as 'Europe/Paris' or "
            "'Asia/Tokyo'",
            field="timezone",
            timezone=str(name),
        ) from exc


def local_day(at: _dt.datetime, tz: ZoneInfo) -> int:
    """The ordinal of the local date of the UTC instant ``at`` in ``tz`` (R30)."""
    if tz.key in _UTC_NAMES:
        return at.toordinal()
    return at.astimezone(tz).toordinal()


def check_range(first_day: _dt.date, last_day: _dt.date) -> None:
    for name, value in (("start", first_day), ("end", last_day)):
        if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
            raise InvalidDateRangeError(
                f"{name} must be a datetime.date (a local date in the vendor's time zone), "
                f"not {value!r}",
                field=name,
            )
    if last_day < first_day:
        raise InvalidDateRangeError(
            f"the range ends ({last_day.isoformat()}) before it starts "
            f"({first_day.isoformat()}); pass start <= end (both included)",
            field="end",
        )


# --- what one change adds ---------------------------------------------------------------------


def on_placed(order: Order, tz: ZoneInfo) -> tuple[list[SalesDelta], list[ProductDelta]]:
    """R30, R32: a placed order counts once, on its local day: every unit and the payment."""
    day = local_day(order.placed_at, tz)
    cur = order.currency
    items = 0
    products: list[ProductDelta] = []
    for line in order.lines:
        items += line.quantity
        products.append((day, line.product_id, cur, (line.quantity, line.paid_minor, 0, 0)))
    return [(day, cur, (1, items, order.paid_minor, 0, 0))], products


def on_refund(
    order: Order, refund_id: str, tz: ZoneInfo
) -> tuple[list[SalesDelta], list[ProductDelta]]:
    """R20, R30, R32: a refund counts on its own local day; each refunded unit takes back the
    share of the line's payment that the refund charged for it (the line's units are
    refunded in order, see :func:`~asolora_core.orders.commands.unit_share`)."""
    before: dict[str, int] = {}
    for row in order.refunds:
        if row.refund_id == refund_id:
            break
        for line_id, qty in row.items:
            before[line_id] = before.get(line_id, 0) + qty
    else:
        return [], []
    day = local_day(row.at, tz)
    cur = order.currency
    units = 0
    products: list[ProductDelta] = []
    for line_id, qty in row.items:
        line = order.line(line_id)
        if line is None:  # pragma: no cover - a refund names the order's own lines
            continue
        units += qty
        share = unit_share(line, before.get(line_id, 0), qty)
        products.append((day, line.product_id, cur, (0, 0, qty, share)))
    return [(day, cur, (0, 0, 0, row.amount_minor, units))], products


def on_cancelled(order: Order, tz: ZoneInfo) -> tuple[list[SalesDelta], list[ProductDelta]]:
    """R11: a cancelled order's units are all refunded. The cancellation's refund (if any)
    names them; units it could not name (nothing left to refund) count here, with no
    money, on the day of the cancellation."""
    if order.status is not OrderStatus.CANCELLED or order.cancelled_at is None:
        return [], []
    named: dict[str, int] = {}
    for row in order.refunds:
        for line_id, qty in row.items:
            named[line_id] = named.get(line_id, 0) + qty
    day = local_day(order.cancelled_at, tz)
    cur = order.currency
    units = 0
    products: list[ProductDelta] = []
    for line in order.lines:
        rest = line.refunded_quantity - named.get(line.line_id, 0)
        if rest > 0:
            units += rest
            products.append((day, line.product_id, cur, (0, 0, rest, 0)))
    if not units:
        return [], []
    return [(day, cur, (0, 0, 0, 0, units))], products


def order_fold(order: Order, tz: ZoneInfo) -> tuple[list[SalesDelta], list[ProductDelta]]:
    """Everything an order adds to the rollups, from its final state: what ``verify`` and
    ``rebuild`` compute, equal to the sum of what each change added."""
    sales, products = on_placed(order, tz)
    for row in order.refunds:
        s, p = on_refund(order, row.refund_id, tz)
        sales += s
        products += p
    s, p = on_cancelled(order, tz)
    return sales + s, products + p


def _memo_int(txn: JournalTransaction, key: str) -> int:
    return int(txn.memo.get(key, "0"))


def on_posting(txn: JournalTransaction, tz: ZoneInfo) -> list[MoneyDelta]:
    """R31: a journal transaction's effect on the vendor's earnings rollup. Only
    transactions that move the vendor's balance count (releases, refund and chargeback
    debits after release, won chargebacks, payouts, staff adjustments, the rolling reserve);
    each column in the currency it is in. A won chargeback is a negative chargeback debit;
    a release that chargebacks before release left negative is a chargeback debit too (R39,
    R41: it released nothing), its commission and fees still in their columns; a release
    that refunds before release left negative (a ``fee`` line) is a refund debit (R21: the
    processing fee a refund does not give back), its fees still in their columns; other
    credits (a goodwill adjustment, a reserve coming back) count as released and other
    debits (a fine, a reserve kept back) as debited, so the closing balance is always the
    ledger's."""
    account = vendor_account(txn.vendor_id, BALANCE)
    moved: dict[str, int] = {}
    for e in txn.entries:
        if e.account == account:
            moved[e.currency] = moved.get(e.currency, 0) + e.amount_minor
    if not moved:
        return []
    day = local_day(txn.at, tz)
    kind = statement_kind(txn.kind, txn.memo)
    out: list[MoneyDelta] = []
    for cur, fold in moved.items():
        released = refunds = chargebacks = payouts = 0
        if txn.kind == "payout":
            payouts = fold
        elif kind in ("chargeback", "chargeback_won"):
            chargebacks = fold
        elif kind == "fee":
            refunds = fold  # R21: the processing fee refunds before release left, debited
        elif txn.kind == "release" or (txn.kind != "refund" and fold < 0):
            released = -fold  # a credit (a release whose fees exceed its proceeds: negative)
        else:
            refunds = fold
        offsets = _memo_int(txn, "offset") if txn.kind == "release" else 0
        fees = 0 if txn.kind == "release" else _memo_int(txn, "processing_fee")
        fee_currency = txn.memo.get(FEE_CURRENCY, cur)
        if fees and fee_currency != cur:
            # R39: a chargeback's provider fee is in the order currency, not the debit's
            out.append((day, fee_currency, (0, 0, fees, 0, 0, 0, 0, 0)))
            fees = 0
        conversion = _memo_int(txn, "conversion_fee")
        out.append(
            (day, cur, (released, 0, fees, conversion, refunds, chargebacks, offsets, payouts))
        )
    if txn.kind == "release":
        # commission and processing fee of the released order, in the order currency
        cur = txn.memo.get("order_currency", next(iter(moved)))
        commission = _memo_int(txn, "commission")
        processing = _memo_int(txn, "processing_fee")
        if commission or processing:
            out.append((day, cur, (0, commission, processing, 0, 0, 0, 0, 0)))
    return out


def add_into(
    table: dict[tuple[object, ...], list[int]], key: tuple[object, ...], deltas: Iterable[int]
) -> None:
    """Add ``deltas`` to the row ``key`` of ``table`` (a fold's accumulator)."""
    row = table.get(key)
    if row is None:
        table[key] = list(deltas)
    else:
        for i, d in enumerate(deltas):
            row[i] += d


# --- periods (pendulum, off the hot path) ------------------------------------------------------


def _midnight(day: _dt.date, tz: ZoneInfo) -> _dt.datetime:
    """Local midnight of ``day`` in ``tz`` as a UTC instant. A midnight that falls in a
    daylight-saving gap is read with the offset before the change, which is the instant the
    day actually starts (the first local time that exists)."""
    local = _dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    return local.astimezone(_dt.UTC)


def periods(
    first_day: _dt.date, last_day: _dt.date, granularity: Granularity, tz_name: str
) -> tuple[Period, ...]:
    """The periods covering ``first_day``..``last_day`` (local dates, both included) in the
    zone: days, ISO weeks (Monday to Sunday) or calendar months, the first and last clipped
    to the range (R30, R31). Calendar arithmetic (week and month ends) is pendulum's; each
    boundary's instant is computed once."""
    check_range(first_day, last_day)
    tz = zone(tz_name)
    one = _dt.timedelta(days=1)
    spans: list[tuple[str, _dt.date, _dt.date]] = []
    if granularity is Granularity.DAY:
        day = first_day
        while day <= last_day:
            spans.append((day.isoformat(), day, day))
            day += one
    else:
        import pendulum  # here, not at module level: about 10 ms that most imports never need

        cursor = pendulum.Date(first_day.year, first_day.month, first_day.day)
        end = pendulum.Date(last_day.year, last_day.month, last_day.day)
        while cursor <= end:
            if granularity is Granularity.WEEK:
                stop = cursor.end_of("week")
                year, week, _ = cursor.isocalendar()
                label = f"{year}-W{week:02d}"
            else:
                stop = cursor.end_of("month")
                label = f"{cursor.year}-{cursor.month:02d}"
            stop = min(stop, end)
            spans.append(
                (
                    label,
                    _dt.date(cursor.year, cursor.month, cursor.day),
                    _dt.date(stop.year, stop.month, stop.day),
                )
            )
            cursor = stop.add(days=1)
    out: list[Period] = []
    start_at = _midnight(first_day, tz)
    for label, first, last in spans:
        end_at = _midnight(last + one, tz)
        out.append(
            Period(label=label, first_day=first, last_day=last, start_at=start_at, end_at=end_at)
        )
        start_at = end_at
    return tuple(out)
