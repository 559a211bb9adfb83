"""The reports' values (R30-R33): periods, sales, earnings, bestsellers, rollup checks.

Every value is a frozen attrs class holding integer minor units and a currency code; the
``Money`` properties are the public reading. Each report converts to rows
(:meth:`SalesReport.to_rows`, a header row first, ready for :func:`to_csv`) and to a
JSON-ready dict (:meth:`SalesReport.to_dict`: amounts as decimal strings next to their
currency code, dates and instants in ISO 8601).
"""

from __future__ import annotations

import csv
import datetime as _dt
import enum
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
from moneyed import Money

from asolora_core._values import value_eq, value_hash, value_repr
from asolora_core.money import money_of

__all__ = [
    "Bestseller",
    "BestsellersReport",
    "EarningsFigures",
    "EarningsPeriod",
    "EarningsReport",
    "Granularity",
    "HeldPart",
    "Period",
    "RateUsed",
    "RebuildProgress",
    "RollupCheck",
    "RollupDifference",
    "SalesFigures",
    "SalesPeriod",
    "SalesReport",
    "to_csv",
]

Cell = str | int
Row = tuple[Cell, ...]

# --- rollup rows, as the stores return them (see asolora_core.ports.ReportRollups) -------------

#: One day of a vendor's sales in one currency: ``(day, currency, orders, items, gross_minor,
#: refunds_minor, refunded_items)``; ``day`` is the local date's ordinal
#: (:meth:`datetime.date.toordinal`) in the vendor's time zone.
SalesRow = tuple[int, str, int, int, int, int, int]
#: A product's figures over a range in one currency: ``(product_id, currency, day, units,
#: revenue_minor, refunded_units, refunded_minor)``; ``day`` is 0 when summed over the range.
ProductRow = tuple[str, str, int, int, int, int, int]
#: One day of a vendor's balance movements in one currency: ``(day, currency, released,
#: commission, processing_fees, conversion_fees, refunds_debited, chargebacks_debited,
#: offsets, payouts)``, all minor units.
MoneyRow = tuple[int, str, int, int, int, int, int, int, int, int]


def month_of(day: int) -> int:
    """The month key of a local day ordinal: ``year * 12 + month - 1``."""
    date = _dt.date.fromordinal(day)
    return date.year * 12 + date.month - 1


def _amount(minor: int, currency: str) -> str:
    """A JSON-ready amount: the exact decimal string (``"12.30"``)."""
    return str(money_of(minor, currency).amount)


def to_csv(rows: Sequence[Row]) -> str:
    """The rows of a report's ``to_rows()`` as CSV text (header first, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


class Granularity(enum.Enum):
    """How a report's range is cut into periods, in the vendor's time zone (R30, R31)."""

    DAY = "day"
    WEEK = "week"  #: ISO weeks, Monday to Sunday
    MONTH = "month"


@attrs.frozen(kw_only=True)
class Period:
    """One period of a report: the local dates ``first_day``..``last_day`` (inclusive) in the
    vendor's zone, and the UTC instants they span: ``start_at`` (local midnight of the first
    day) up to ``end_at`` (local midnight after the last day, exclusive). A day that crosses
    a daylight-saving change is one calendar day of 23 or 25 hours."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    label: str  #: ``2026-03-29``, ``2026-W13`` or ``2026-03``
    first_day: _dt.date
    last_day: _dt.date
    start_at: _dt.datetime
    end_at: _dt.datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "label": self.label,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
        }


@attrs.frozen(kw_only=True)
class RateUsed:
    """An exchange rate a report converted with: ``base`` to ``quote`` for the local ``day``."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    day: _dt.date
    base: str
    quote: str
    rate: Decimal
    source: str
    as_of: _dt.datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "day": self.day.isoformat(),
            "base": self.base,
            "quote": self.quote,
            "rate": str(self.rate),
            "source": self.source,
            "as_of": self.as_of.isoformat(),
        }


# --- sales (R30) ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SalesFigures:
    """Sales in one currency over one period (R30). ``orders`` and ``items`` count orders
    placed in the period and their units; ``gross`` is what their buyers paid (shipping
    included); ``refunds`` is what was refunded in the period (whichever order it belongs
    to); ``net = gross - refunds``."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    currency: str
    orders: int = 0
    items: int = 0
    refunded_items: int = 0
    gross_minor: int = 0
    refunds_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunds_minor

    @property
    def gross(self) -> Money:
        return money_of(self.gross_minor, self.currency)

    @property
    def refunds(self) -> Money:
        return money_of(self.refunds_minor, self.currency)

    @property
    def net(self) -> Money:
        return money_of(self.net_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        c = self.currency
        return {
            "currency": c,
            "orders": self.orders,
            "items": self.items,
            "refunded_items": self.refunded_items,
            "gross": _amount(self.gross_minor, c),
            "refunds": _amount(self.refunds_minor, c),
            "net": _amount(self.net_minor, c),
        }


@attrs.frozen(kw_only=True)
class SalesPeriod:
    """One period's sales: one :class:`SalesFigures` per currency sold in (none for a period
    without sales), or a single one in the reporting currency."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    period: Period
    figures: tuple[SalesFigures, ...]


@attrs.frozen(kw_only=True)
class SalesReport:
    """A vendor's sales over a range, per period (R30)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str
    timezone: str
    granularity: Granularity
    first_day: _dt.date
    last_day: _dt.date
    reporting_currency: str | None  #: None: per currency, unconverted
    periods: tuple[SalesPeriod, ...]
    totals: tuple[SalesFigures, ...]  #: the whole range, per currency
    rates: tuple[RateUsed, ...] = ()  #: every rate a conversion used, by day

    HEADER = (
        "period",
        "first_day",
        "last_day",
        "currency",
        "orders",
        "items",
        "refunded_items",
        "gross",
        "refunds",
        "net",
    )

    def to_rows(self) -> tuple[Row, ...]:
        """A header row, then one row per period and currency (periods without sales too,
        with zeros, in the reporting currency or the currencies of the range)."""
        rows: list[Row] = [self.HEADER]
        currencies = [t.currency for t in self.totals]
        for p in self.periods:
            by_currency = {f.currency: f for f in p.figures}
            for c in currencies:
                f = by_currency.get(c, SalesFigures(currency=c))
                rows.append(
                    (
                        p.period.label,
                        p.period.first_day.isoformat(),
                        p.period.last_day.isoformat(),
                        c,
                        f.orders,
                        f.items,
                        f.refunded_items,
                        _amount(f.gross_minor, c),
                        _amount(f.refunds_minor, c),
                        _amount(f.net_minor, c),
                    )
                )
        return tuple(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "sales",
            "vendor_id": self.vendor_id,
            "timezone": self.timezone,
            "granularity": self.granularity.value,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "reporting_currency": self.reporting_currency,
            "periods": [
                {**p.period.to_dict(), "figures": [f.to_dict() for f in p.figures]}
                for p in self.periods
            ],
            "totals": [t.to_dict() for t in self.totals],
            "rates": [r.to_dict() for r in self.rates],
        }


# --- earnings (R31) -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EarningsFigures:
    """A vendor's balance movements in one currency over one period (R31), minor units.

    ``released`` is what releases credited (after commission, processing and conversion
    fees); ``refunds_debited`` and ``chargebacks_debited`` what refunds and chargebacks after
    release took from the balance (their fees included), ``chargebacks_debited`` also what
    chargebacks before release took beyond the order's proceeds, debited at its release
    (R39, R41); ``payouts`` what was paid out. So
    ``closing = opening + released - refunds_debited - chargebacks_debited - payouts``, and
    ``closing`` equals the ledger balance at the period's end (R31, R41).

    The fee columns say what was charged, each in the currency it was charged in:
    ``commission`` and ``processing_fees`` of the orders released in the period (in the
    order currency), refund processing fees (payout currency), the provider's fees of
    chargebacks after release (order currency), and ``conversion_fees`` of releases and
    debits (payout currency). ``offsets`` is the part of the releases that covered a negative
    balance (R23)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    currency: str
    opening_minor: int = 0
    released_minor: int = 0
    commission_minor: int = 0
    processing_fees_minor: int = 0
    conversion_fees_minor: int = 0
    refunds_debited_minor: int = 0
    chargebacks_debited_minor: int = 0
    offsets_minor: int = 0
    payouts_minor: int = 0

    @property
    def closing_minor(self) -> int:
        return (
            self.opening_minor
            + self.released_minor
            - self.refunds_debited_minor
            - self.chargebacks_debited_minor
            - self.payouts_minor
        )

    @property
    def closing(self) -> Money:
        return money_of(self.closing_minor, self.currency)

    @property
    def released(self) -> Money:
        return money_of(self.released_minor, self.currency)

    @property
    def opening(self) -> Money:
        """The balance at the period's start."""
        return money_of(self.opening_minor, self.currency)

    @property
    def commission(self) -> Money:
        """Commission of the orders released in the period."""
        return money_of(self.commission_minor, self.currency)

    @property
    def processing_fees(self) -> Money:
        """Processing fees charged in the period."""
        return money_of(self.processing_fees_minor, self.currency)

    @property
    def conversion_fees(self) -> Money:
        """Conversion fees of releases and debits."""
        return money_of(self.conversion_fees_minor, self.currency)

    @property
    def refunds_debited(self) -> Money:
        """What refunds after release took from the balance (fees included)."""
        return money_of(self.refunds_debited_minor, self.currency)

    @property
    def chargebacks_debited(self) -> Money:
        """What chargebacks after release took from the balance (fees included)."""
        return money_of(self.chargebacks_debited_minor, self.currency)

    @property
    def offsets(self) -> Money:
        """The part of the releases that covered a negative balance (R23)."""
        return money_of(self.offsets_minor, self.currency)

    @property
    def payouts(self) -> Money:
        """What was paid out."""
        return money_of(self.payouts_minor, self.currency)

    _COLUMNS = (
        "opening",
        "released",
        "commission",
        "processing_fees",
        "conversion_fees",
        "refunds_debited",
        "chargebacks_debited",
        "offsets",
        "payouts",
        "closing",
    )

    def minors(self) -> tuple[int, ...]:
        """The columns of :attr:`_COLUMNS`, in order."""
        return (
            self.opening_minor,
            self.released_minor,
            self.commission_minor,
            self.processing_fees_minor,
            self.conversion_fees_minor,
            self.refunds_debited_minor,
            self.chargebacks_debited_minor,
            self.offsets_minor,
            self.payouts_minor,
            self.closing_minor,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"currency": self.currency}
        for name, minor in zip(self._COLUMNS, self.minors(), strict=True):
            out[name] = _amount(minor, self.currency)
        return out


@attrs.frozen(kw_only=True)
class EarningsPeriod:
    """One period's earnings: one :class:`EarningsFigures` per currency of the vendor's
    ledger (R31)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    period: Period
    figures: tuple[EarningsFigures, ...]  #: one per currency of the vendor's ledger


@attrs.frozen(kw_only=True)
class HeldPart:
    """Proceeds still held for one order (R15, R16): due at ``release_at`` (None while the
    order is not completed yet), unless ``frozen``."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    order_id: str
    currency: str
    held_minor: int
    release_at: _dt.datetime | None
    frozen: bool

    @property
    def held(self) -> Money:
        return money_of(self.held_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "currency": self.currency,
            "held": _amount(self.held_minor, self.currency),
            "release_at": None if self.release_at is None else self.release_at.isoformat(),
            "frozen": self.frozen,
        }


@attrs.frozen(kw_only=True)
class EarningsReport:
    """A vendor's earnings per period (R31), and what is held now, soonest due first."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str
    timezone: str
    granularity: Granularity
    first_day: _dt.date
    last_day: _dt.date
    periods: tuple[EarningsPeriod, ...]
    held: tuple[HeldPart, ...]

    def held_total(self, currency: str) -> Money:
        return money_of(sum(h.held_minor for h in self.held if h.currency == currency), currency)

    def to_rows(self) -> tuple[Row, ...]:
        header: Row = ("period", "first_day", "last_day", "currency", *EarningsFigures._COLUMNS)
        rows: list[Row] = [header]
        for p in self.periods:
            for f in p.figures:
                rows.append(
                    (
                        p.period.label,
                        p.period.first_day.isoformat(),
                        p.period.last_day.isoformat(),
                        f.currency,
                        *(_amount(m, f.currency) for m in f.minors()),
                    )
                )
        return tuple(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "earnings",
            "vendor_id": self.vendor_id,
            "timezone": self.timezone,
            "granularity": self.granularity.value,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "periods": [
                {**p.period.to_dict(), "figures": [f.to_dict() for f in p.figures]}
                for p in self.periods
            ],
            "held": [h.to_dict() for h in self.held],
        }


# --- bestsellers (R32) ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Bestseller:
    """One product of the top N (R32): ``units`` = units sold - units refunded; ``net
    revenue`` = the lines' paid amounts less the refunded units' share, in the report's
    currency; ``share`` = ``units`` / the sum of every product's positive net units in the
    range (4 places; 0 for a product with no positive net units, e.g. one whose refunds in
    the range are of units sold before it), split with largest remainders over every product
    of the range, so that the shares of the full list sum to exactly 1 whenever any product
    is net positive, else all are 0 (a ``limit`` that cuts the list shows shares that sum to
    at most 1: they stay fractions of every product's units, not only those shown)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    rank: int
    product_id: str
    units: int
    units_sold: int
    units_refunded: int
    net_revenue_minor: int
    currency: str
    share: Decimal

    @property
    def net_revenue(self) -> Money:
        return money_of(self.net_revenue_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "product_id": self.product_id,
            "units": self.units,
            "units_sold": self.units_sold,
            "units_refunded": self.units_refunded,
            "currency": self.currency,
            "net_revenue": _amount(self.net_revenue_minor, self.currency),
            "share": str(self.share),
        }


@attrs.frozen(kw_only=True)
class BestsellersReport:
    """The top ``limit`` products of a vendor over a range (R32). ``total_units`` is every
    product's net units summed, negative ones included; the shares are fractions of the
    positive net units, the same figure unless a product is net negative in the range."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str
    first_day: _dt.date
    last_day: _dt.date
    currency: str
    limit: int
    products: tuple[Bestseller, ...]
    total_units: int
    rates: tuple[RateUsed, ...] = ()

    def to_rows(self) -> tuple[Row, ...]:
        header: Row = (
            "rank",
            "product_id",
            "units",
            "units_sold",
            "units_refunded",
            "currency",
            "net_revenue",
            "share",
        )
        return (
            header,
            *(
                (
                    b.rank,
                    b.product_id,
                    b.units,
                    b.units_sold,
                    b.units_refunded,
                    b.currency,
                    _amount(b.net_revenue_minor, b.currency),
                    str(b.share),
                )
                for b in self.products
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "bestsellers",
            "vendor_id": self.vendor_id,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "currency": self.currency,
            "limit": self.limit,
            "total_units": self.total_units,
            "products": [b.to_dict() for b in self.products],
            "rates": [r.to_dict() for r in self.rates],
        }


# --- verify and rebuild (R33) ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RollupDifference:
    """One rollup row that differs from the fold of the source data: ``table`` is
    ``sales``, ``products`` or ``money``; ``key`` the row's key (local day as ISO date);
    ``stored`` and ``expected`` its integer columns (zeros for a missing row)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    table: str
    key: tuple[str, ...]
    stored: tuple[int, ...]
    expected: tuple[int, ...]


@attrs.frozen(kw_only=True)
class RollupCheck:
    """What :meth:`~asolora_core.Marketplace.verify_reports` found for one vendor."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str
    orders: int  #: orders folded
    transactions: int  #: journal transactions folded
    differences: tuple[RollupDifference, ...]
    rebuilding: bool = False  #: a rebuild of this vendor is under way (unfinished)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.rebuilding


@attrs.frozen(kw_only=True)
class RebuildProgress:
    """What one :meth:`~asolora_core.Marketplace.rebuild_reports` call did. ``done`` False
    means it stopped after ``max_batches``: call again to resume from its checkpoint."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendors: tuple[str, ...]  #: vendors finished by this call
    orders: int
    transactions: int
    batches: int
    done: bool
