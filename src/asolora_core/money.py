"""Exact money: minor units, validation, the one rounding rule, allocation (R25).

Inside the library every amount is an ``int`` of its currency's minor units next to an ISO
4217 code (cents for EUR, yen for JPY, fils for KWD). py-moneyed ``Money`` appears only at the
public boundary, converted here and nowhere else:

* :func:`to_minor` turns a ``Money`` into minor units and refuses what is not exact money
  (float-born amounts, NaN, infinity, more decimals than the currency has) instead of rounding.
* :func:`from_minor` builds the ``Money`` a caller sees.
* :func:`divide` is the single place where a computed amount (a percent fee, a conversion) is
  rounded: integer arithmetic, half-even unless the caller names another :class:`Rounding`.
* :func:`allocate` splits an amount by weights with largest remainders (ties to the larger
  weight, then the earlier item); the parts always sum to the whole.

py-moneyed pitfalls this module wraps: ``Money`` stores whatever ``Decimal`` it is given (so
``Money("1.005", "USD")`` exists), compares across currencies by raising ``TypeError``, and
``get_amount_in_sub_unit`` truncates. None of that reaches the core.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from moneyed import CurrencyDoesNotExist, Money

from asolora_core._iso4217 import ISO_4217_PUBLISHED, MINOR_UNITS
from asolora_core.errors import CurrencyMismatchError, InvalidMoneyError, UnknownCurrencyError

__all__ = [
    "ISO_4217_PUBLISHED",
    "MONEY_CONTEXT",
    "Rounding",
    "allocate",
    "check_currency",
    "divide",
    "exponent",
    "format_minor",
    "from_minor",
    "parse_money",
    "percent_bp",
    "to_minor",
]

#: The fixed decimal context for every Decimal operation on money: enough precision for any
#: amount, and inexact or invalid operations trap instead of rounding silently.
MONEY_CONTEXT = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)


class Rounding(enum.Enum):
    """How a computed amount is rounded to a whole minor unit."""

    HALF_EVEN = "half_even"  #: banker's rounding; the default (R25)
    HALF_UP = "half_up"  #: halves away from zero
    DOWN = "down"  #: towards zero (never pays out more than is there)
    UP = "up"  #: away from zero


def check_currency(code: object, *, field: str = "currency") -> str:
    """Return ``code`` if it is an ISO 4217 currency with a minor unit, else refuse it."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise UnknownCurrencyError(
            f"{code!r} is not an ISO 4217 currency code this library knows "
            f"(table of {ISO_4217_PUBLISHED.isoformat()}); use an upper-case code such as 'EUR'",
            field=field,
            currency=str(code),
        )
    return code


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (JPY 0, EUR 2, KWD 3)."""
    return MINOR_UNITS[check_currency(currency)]


def _minor_from_decimal(amount: Decimal, currency: str, field: str) -> int:
    if not amount.is_finite():
        raise InvalidMoneyError(
            f"{field} is {amount}, which is not an amount; pass a finite decimal",
            field=field,
        )
    # Fraction is exact: a Decimal context (of any precision) would round long inputs.
    scaled = Fraction(amount) * 10 ** exponent(currency)
    if scaled.denominator != 1:
        raise InvalidMoneyError(
            f"{field} {amount} {currency} has more decimals than {currency} allows "
            f"({exponent(currency)}); pass an exact amount, it is never rounded for you",
            field=field,
            currency=currency,
        )
    return int(scaled)


def to_minor(amount: Money, *, currency: str | None = None, field: str = "amount") -> int:
    """The exact number of minor units in ``amount``.

    ``currency``, when given, is the currency the amount must be in. Refuses anything that is
    not a ``Money`` with an exact, finite amount.
    """
    if not isinstance(amount, Money):
        raise InvalidMoneyError(
            f"{field} must be a moneyed.Money, not {type(amount).__name__}; "
            "build one with Money('12.34', 'EUR')",
            field=field,
        )
    code = check_currency(amount.currency.code, field=field)
    if currency is not None and code != currency:
        raise CurrencyMismatchError(
            f"{field} is in {code} but must be in {currency}; convert it explicitly first",
            field=field,
            expected=currency,
            got=code,
        )
    return _minor_from_decimal(amount.amount, code, field)


def parse_money(value: object, currency: str, *, field: str = "amount") -> Money:
    """Build exact ``Money`` from a ``str``, ``int`` or ``Decimal`` (never a float).

    >>> parse_money("12.30", "EUR")
    Money('12.30', 'EUR')
    """
    check_currency(currency, field="currency")
    if isinstance(value, bool | float):
        raise InvalidMoneyError(
            f"{field} must not be a {type(value).__name__}; pass a string such as '12.30'",
            field=field,
        )
    if isinstance(value, Money):
        return from_minor(to_minor(value, currency=currency, field=field), currency)
    if isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, Decimal):
        dec = value
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidMoneyError(
                f"{field} {value!r} is not a decimal number; write it like '12.30'", field=field
            ) from None
    else:
        raise InvalidMoneyError(
            f"{field} must be a str, int or Decimal, not {type(value).__name__}", field=field
        )
    return from_minor(_minor_from_decimal(dec, currency, field), currency)


def from_minor(minor: int, currency: str) -> Money:
    """The ``Money`` for ``minor`` minor units of ``currency`` (exact, with the currency's
    number of decimals)."""
    amount = Decimal(f"{int(minor)}e-{exponent(currency)}")  # exact: scaleb would round
    try:
        return Money(amount, currency)
    except CurrencyDoesNotExist as exc:  # newer ISO codes py-moneyed does not know yet
        raise UnknownCurrencyError(
            f"{currency} is in ISO 4217 but py-moneyed cannot represent it as Money",
            field="currency",
            currency=currency,
        ) from exc


def format_minor(minor: int, currency: str) -> str:
    """``'12.30 EUR'``: a plain, locale-free rendering for logs, statements and the demo."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    body = f"{whole}.{frac:0{exp}d}" if exp else str(whole)
    return f"{sign}{body} {currency}"


def divide(numerator: int, denominator: int, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """``numerator / denominator`` rounded to a whole number: the one rounding rule.

    Pure integer arithmetic (exact for any size; no Decimal context involved).
    """
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    q, r = divmod(numerator, denominator)  # floor division: 0 <= r < denominator
    if r == 0:
        return q
    if rounding is Rounding.DOWN:
        return q + 1 if numerator < 0 else q
    if rounding is Rounding.UP:
        return q if numerator < 0 else q + 1
    twice = 2 * r
    if twice < denominator:
        return q
    if twice > denominator:
        return q + 1
    # exactly half
    if rounding is Rounding.HALF_EVEN:
        return q if q % 2 == 0 else q + 1
    return q if numerator < 0 else q + 1  # HALF_UP: away from zero


def percent_bp(minor: int, basis_points: int, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """``basis_points`` / 10,000 of ``minor`` (250 bp = 2.5 %), rounded once."""
    return divide(minor * basis_points, 10_000, rounding)


def allocate(total: int, weights: Sequence[int]) -> tuple[int, ...]:
    """Split ``total`` minor units in proportion to ``weights`` by largest remainders.

    Each part gets the floor of its exact share; the units left over go one each to the
    largest remainders, ties to the larger weight, then to the earlier item. The parts always
    sum to ``total``; a zero weight gets zero. ``total`` may be negative (the split of the
    absolute value, negated).
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    wsum = sum(weights)
    if wsum == 0:
        raise ValueError("weights must not all be zero")
    if total < 0:
        return tuple(-p for p in allocate(-total, weights))
    parts = []
    remainders = []
    for i, w in enumerate(weights):
        q, r = divmod(total * w, wsum)
        parts.append(q)
        remainders.append((-r, -w, i))
    left = total - sum(parts)
    for _, _, i in sorted(remainders)[:left]:
        parts[i] += 1
    return tuple(parts)
