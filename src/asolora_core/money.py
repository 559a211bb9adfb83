"""Exact money: minor units, validation, the one rounding rule, allocation (R25).

Inside the library every amount is an ``int`` of its currency's minor units next to an ISO
4217 code (cents for EUR, yen for JPY, fils for KWD). py-moneyed ``Money`` appears only at the
public boundary, converted here and nowhere else:

* :func:`to_minor` turns a ``Money`` into minor units and refuses what is not exact money
  (float-born amounts, NaN, infinity, more decimals than the currency has) instead of rounding.
* :func:`from_minor` builds an amount to pass in, :func:`to_minor` and :func:`parse_money`
  take one: all three hold it to :data:`~asolora_core.limits.MAX_AMOUNT_MINOR`. A figure the
  library computes (a balance, a converted release, a report total) may be larger and is
  built with the internal :func:`money_of`, up to ``2**63 - 1`` minor units.
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

from moneyed import CurrencyDoesNotExist, Money

from asolora_core._iso4217 import ISO_4217_PUBLISHED, MINOR_UNITS
from asolora_core.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    InvalidMoneyError,
    UnknownCurrencyError,
)
from asolora_core.limits import MAX_AMOUNT_MINOR, MAX_AMOUNT_TEXT, check_amount_minor

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
    "in_currency",
    "money_of",
    "parse_money",
    "percent_bp",
    "split_money",
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
        shown = repr(code)[:20]  # a hostile 10 MB "code" is not copied into the error
        raise UnknownCurrencyError(
            f"{shown} is not an ISO 4217 currency code this library knows "
            f"(table of {ISO_4217_PUBLISHED.isoformat()}); use an upper-case code such as 'EUR'",
            field=field,
            currency=shown,
        )
    return code


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (JPY 0, EUR 2, KWD 3)."""
    return MINOR_UNITS[check_currency(currency)]


def _minor_from_decimal(amount: Decimal, currency: str, field: str) -> int:
    """Exact minor units of ``amount``, with integer arithmetic bounded before it starts.

    A Decimal's exponent can be anything (``1e-100000000``); the exponent and digit count are
    checked first, so refusing an absurd amount costs the same as accepting a normal one.
    """
    if not amount.is_finite():
        raise InvalidMoneyError(
            f"{field} is {amount}, which is not an amount; pass a finite decimal",
            field=field,
        )
    places = MINOR_UNITS[currency]
    _sign, digits, exp = amount.as_tuple()
    assert isinstance(exp, int)  # finite
    if exp < -places:
        raise InvalidMoneyError(
            f"{field} {amount} {currency} has more decimal places than {currency} allows "
            f"({places}); pass an exact amount with at most {places}: it is never rounded "
            "for you (a float-born amount shows up this way too)",
            field=field,
            currency=currency,
        )
    # adjusted() is the power of ten of the leading digit: bound it before scaling.
    if len(digits) + exp + places > _MAX_DIGITS:
        raise InvalidMoneyError(
            f"{field} is larger than the largest amount this library takes "
            f"({MAX_AMOUNT_MINOR} minor units); check it is right",
            field=field,
            limit=MAX_AMOUNT_MINOR,
        )
    minor = int(amount.scaleb(places, MONEY_CONTEXT))
    return check_amount_minor(minor, field)


#: Digits of the largest amount in minor units: anything longer is refused unscaled.
_MAX_DIGITS = len(str(MAX_AMOUNT_MINOR))


def to_minor(amount: Money, *, currency: str | None = None, field: str = "amount") -> int:
    """The exact number of minor units in ``amount``.

    ``currency``, when given, is the currency the amount must be in. Refuses anything that is
    not a ``Money`` with an exact, finite amount, or whose size is above
    :data:`~asolora_core.limits.MAX_AMOUNT_MINOR` (``InvalidMoneyError``, ``invalid_money``,
    ``fields["limit"]``): this is how every amount enters a command.
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


def split_money(amount: Money | None, *, field: str = "amount") -> tuple[int, str] | None:
    """``(minor units, currency)`` of ``amount`` (``None`` stays ``None``), checked as
    :func:`to_minor` checks it: done before a command's transaction, so that inside it only
    the currency is compared (:func:`in_currency`)."""
    if amount is None:
        return None
    minor = to_minor(amount, field=field)
    return minor, amount.currency.code


def in_currency(parsed: tuple[int, str] | None, currency: str, *, field: str = "amount") -> int:
    """The minor units of an amount :func:`split_money` parsed, which must be in
    ``currency`` (``None`` is 0)."""
    if parsed is None:
        return 0
    minor, code = parsed
    if code != currency:
        raise CurrencyMismatchError(
            f"{field} is in {code} but must be in {currency}; convert it explicitly first",
            field=field,
            expected=currency,
            got=code,
        )
    return minor


def parse_money(value: object, currency: str, *, field: str = "amount") -> Money:
    """Build exact, non-negative ``Money`` from a ``str``, ``int`` or ``Decimal`` (never a
    float: a float has already lost the amount's digits before it gets here).

    Text is at most :data:`~asolora_core.limits.MAX_AMOUNT_TEXT` ASCII characters; the amount
    has at most the currency's decimal places and is at most
    :data:`~asolora_core.limits.MAX_AMOUNT_MINOR` minor units. Every check runs before any
    arithmetic, so a hostile ``"1e-100000000"`` is refused at once.

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
        minor = to_minor(value, currency=currency, field=field)
    else:
        if isinstance(value, int):
            if not -MAX_AMOUNT_MINOR <= value <= MAX_AMOUNT_MINOR:
                check_amount_minor(value, field)
            dec = Decimal(value)
        elif isinstance(value, Decimal):
            dec = value
        elif isinstance(value, str):
            text = value.strip()
            if len(text) > MAX_AMOUNT_TEXT or not text.isascii() or "_" in text:
                raise InvalidMoneyError(
                    f"{field} must be a plain decimal number of at most {MAX_AMOUNT_TEXT} "
                    "characters, written like '12.30'",
                    field=field,
                )
            try:
                dec = Decimal(text)
            except decimal.InvalidOperation:
                raise InvalidMoneyError(
                    f"{field} {value!r} is not a decimal number; write it like '12.30'",
                    field=field,
                ) from None
        else:
            raise InvalidMoneyError(
                f"{field} must be a str, int or Decimal, not {type(value).__name__}", field=field
            )
        minor = _minor_from_decimal(dec, currency, field)
    if minor < 0:
        raise InvalidMoneyError(
            f"{field} must not be negative; amounts are positive and the command says which "
            "way the money moves",
            field=field,
        )
    return from_minor(minor, currency)


def from_minor(minor: int, currency: str) -> Money:
    """The ``Money`` for ``minor`` minor units of ``currency`` (exact, with the currency's
    number of decimals), to pass to a command: ``minor`` is an ``int`` (never a bool, a float
    or a string) of size at most :data:`~asolora_core.limits.MAX_AMOUNT_MINOR`, the limit every
    amount a command takes is held to, so an amount no command would accept is refused here
    already (``invalid_money``) instead of when it is passed in.

    A figure the library returns (a balance, a report total) may be larger than one amount;
    read it as ``Money`` through its own property (``VendorBalance.balance``) or as text with
    :func:`format_minor`.

    >>> from_minor(1230, "EUR")
    Money('12.30', 'EUR')
    """
    if type(minor) is not int:
        raise InvalidMoneyError(
            f"minor must be a whole number of minor units (an int), not {type(minor).__name__}",
            field="minor",
        )
    if not -MAX_AMOUNT_MINOR <= minor <= MAX_AMOUNT_MINOR:
        check_amount_minor(minor, "minor")
    return money_of(minor, currency)


def money_of(minor: int, currency: str) -> Money:
    """The ``Money`` of a figure the library computed (``minor`` an ``int``; a balance or a
    total may be larger than one amount): what the models' ``Money`` properties return. Not
    public: a caller builds amounts with :func:`from_minor`, which holds them to the limit."""
    amount = Decimal(f"{minor}e-{exponent(currency)}")  # exact: scaleb would round
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
    if type(minor) is not int:
        raise InvalidMoneyError("minor must be a whole number of minor units", field="minor")
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    body = f"{whole}.{frac:0{exp}d}" if exp else str(whole)
    return f"{sign}{body} {currency}"


def divide(numerator: int, denominator: int, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """``numerator / denominator`` rounded to a whole number: the one rounding rule.

    Pure integer arithmetic (exact for any size; no Decimal context involved).
    """
    if type(numerator) is not int or type(denominator) is not int or denominator == 0:
        raise InvalidInputError(
            "divide takes whole numbers (ints) and a non-zero denominator", field="denominator"
        )
    if not isinstance(rounding, Rounding):
        raise InvalidInputError("rounding must be a Rounding", field="rounding")
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
    if type(total) is not int:
        raise InvalidInputError(
            f"total must be a whole number of minor units (an int), not {type(total).__name__}",
            field="total",
        )
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence) or not weights:
        raise InvalidInputError("allocate needs a sequence of at least one weight", field="weights")
    for w in weights:
        if type(w) is not int or w < 0:
            raise InvalidInputError(
                "weights must be whole numbers (ints), none negative", field="weights"
            )
    wsum = sum(weights)
    if wsum == 0:
        raise InvalidInputError("weights must not all be zero", field="weights")
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
