"""Exact money (R25): minor units, refusal of inexact input, the one rounding rule, allocation."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from asolora_core.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    InvalidMoneyError,
    UnknownCurrencyError,
)
from asolora_core.limits import MAX_AMOUNT_MINOR
from asolora_core.money import (
    Rounding,
    allocate,
    divide,
    exponent,
    format_minor,
    from_minor,
    money_of,
    parse_money,
    percent_bp,
    to_minor,
)
from asolora_core.testing import strategies as ast

EXPONENT_CURRENCIES = [("JPY", 0), ("EUR", 2), ("KWD", 3)]

# --- allocation --------------------------------------------------------------------------

weights_st = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)


@given(total=st.integers(min_value=-(10**12), max_value=10**12), weights=weights_st)
def test_r25_allocation_sums_to_total_and_is_fair(total: int, weights: list[int]) -> None:
    """R25: the parts sum to the total; each part is within one minor unit of its exact share
    (floor or ceiling of it); a zero weight gets nothing."""
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    wsum = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Fraction(total * w, wsum)
        assert math.floor(exact) <= part <= math.ceil(exact)
        if w == 0:
            assert part == 0


@given(total=st.integers(min_value=0, max_value=10**9), weights=weights_st)
def test_r25_allocation_gives_leftovers_to_largest_remainders(
    total: int, weights: list[int]
) -> None:
    """R25: the units above the floors go to the largest remainders, ties to the larger
    weight, then to the earlier item (checked against a Fraction-based reference)."""
    wsum = sum(weights)
    floors = [total * w // wsum for w in weights]
    ranked = sorted(
        range(len(weights)),
        key=lambda i: (-(Fraction(total * weights[i], wsum) % 1), -weights[i], i),
    )
    expected = list(floors)
    for i in ranked[: total - sum(floors)]:
        expected[i] += 1
    assert allocate(total, weights) == tuple(expected)


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], (34, 33, 33)),  # equal remainders and weights: the earlier item
        (10, [1, 2], (3, 7)),  # exact shares 3.33 / 6.67: the larger remainder
        (1, [1, 2], (0, 1)),  # 0.33 / 0.67
        (3, [1, 1, 2, 2], (1, 0, 1, 1)),  # shares .5 .5 1 1: equal tie, the earlier item
        (5, [3, 1, 1, 3], (2, 1, 0, 2)),  # 1.875 .625 .625 1.875: 3 left, both .875 then idx 1
        (1, [1, 3, 3, 1], (0, 1, 0, 0)),  # shares .125 .375 .375 .125: tie, earlier item
        (2, [1, 1, 2], (1, 0, 1)),  # shares .5 .5 1: the earlier of the tied halves
        (-100, [1, 1, 1], (-34, -33, -33)),  # a negative total is the negated split
        (0, [5, 0], (0, 0)),
        (7, [0, 3], (0, 7)),
    ],
)
def test_r25_allocation_literal_cases(
    total: int, weights: list[int], expected: tuple[int, ...]
) -> None:
    """R25: worked splits, every figure written out."""
    assert allocate(total, weights) == expected


def test_r25_allocation_tie_prefers_the_larger_weight() -> None:
    """R25: equal remainders go to the larger weight before the earlier item.

    total 5 over weights (1, 3): exact shares 1.25 and 3.75, floors 1 and 3, one unit left;
    remainders .25 and .75 -> the second (plain largest remainder). Total 2 over (1, 3):
    shares .5 and 1.5, floors 0 and 1, the remainders tie at .5, and the larger weight (3)
    wins although it is the later item. Total 3 over (1, 2, 1, 2): shares .5 1 .5 1, the
    two halves tie with equal weights: the earlier one.
    """
    assert allocate(5, [1, 3]) == (1, 4)
    assert allocate(2, [1, 3]) == (0, 2)
    assert allocate(3, [1, 2, 1, 2]) == (1, 1, 0, 1)


def test_r2_r25_allocation_refuses_bad_weights_inside_the_error_family() -> None:
    """R2: bad arguments to allocate are InvalidInputError (code invalid_input)."""
    for total, weights, match in [
        (1, [], "at least one"),
        (1, [1, -1], "negative"),
        (1, [0, 0], "zero"),
        (10.5, [1, 1], "int"),
        (1, [1.5, 1], "ints"),
        (1, "11", "sequence"),
        (True, [1], "int"),
    ]:
        with pytest.raises(InvalidInputError, match=match) as info:
            allocate(total, weights)  # type: ignore[arg-type]
        assert info.value.code == "invalid_input"


# --- parsing and round trips ----------------------------------------------------------------


@given(m=ast.money())
def test_r25_minor_units_round_trip(m: Money) -> None:
    """R25: from_minor(to_minor(m)) == m, same currency, same number of decimals."""
    code = m.currency.code
    back = from_minor(to_minor(m), code)
    assert back == m
    assert back.currency.code == code
    assert back.amount.as_tuple().exponent == -exponent(code)


@given(currency=ast.currencies(), minor=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR))
def test_r25_parse_money_round_trips_its_string(currency: str, minor: int) -> None:
    """R25: parse_money(str(amount)) gives the same Money back, for every currency, up to
    the documented maximum amount."""
    m = from_minor(minor, currency)
    assert parse_money(str(m.amount), currency) == m
    assert to_minor(parse_money(str(m.amount), currency)) == minor
    text = format_minor(minor, currency)
    assert parse_money(text.split(" ")[0], currency) == m


@pytest.mark.parametrize(("currency", "exp"), EXPONENT_CURRENCIES)
@given(minor=st.integers(min_value=-(10**12), max_value=10**12), extra=st.integers(1, 9))
def test_r25_inexact_input_refused_for_every_exponent(
    currency: str, exp: int, minor: int, extra: int
) -> None:
    """R25: one decimal more than the currency has is refused (JPY 0, EUR 2, KWD 3), whether
    the amount comes as Money, a string or a Decimal; never rounded."""
    assert exponent(currency) == exp
    inexact = Decimal(minor).scaleb(-exp) + Decimal(extra).scaleb(-exp - 1)
    with pytest.raises(InvalidMoneyError) as info:
        to_minor(Money(inexact, currency))
    assert info.value.code == "invalid_money"
    with pytest.raises(InvalidMoneyError):
        parse_money(str(inexact), currency)
    with pytest.raises(InvalidMoneyError):
        parse_money(inexact, currency)


@pytest.mark.parametrize(("currency", "exp"), EXPONENT_CURRENCIES)
def test_r25_more_places_than_the_currency_are_refused_even_as_zeros(
    currency: str, exp: int
) -> None:
    """R25: an amount written with more decimal places than its currency has is refused,
    zeros included ('5.000000'): such a Decimal comes from arithmetic or from a float
    (``Money(18.0, "JPY")`` is ``Decimal('18.0')``), and is quantized by the caller, never
    here. Exactly the currency's places, or fewer, are accepted."""
    with pytest.raises(InvalidMoneyError):
        parse_money("5.000000", currency)
    with pytest.raises(InvalidMoneyError):
        to_minor(Money(Decimal("5." + "0" * (exp + 1)), currency))
    assert to_minor(parse_money("5" + ("." + "0" * exp if exp else ""), currency)) == 5 * 10**exp
    assert to_minor(parse_money("5", currency)) == 5 * 10**exp


def test_r25_figures_are_exact_beyond_the_default_decimal_precision() -> None:
    """R25: a figure of 10**30 + 1 cents (a balance may exceed one amount) is shown as
    10000000000000000000000000000.01 EUR, not rounded to 28 digits; to_minor refuses it, and
    so does from_minor, the public way to build an amount: above the maximum amount."""
    big = 10**30 + 1
    assert money_of(big, "EUR").amount == Decimal("10000000000000000000000000000.01")
    with pytest.raises(InvalidMoneyError) as info:
        to_minor(money_of(big, "EUR"))
    assert info.value.fields["limit"] == MAX_AMOUNT_MINOR
    with pytest.raises(InvalidMoneyError) as info:
        from_minor(big, "EUR")
    assert info.value.fields["limit"] == MAX_AMOUNT_MINOR


@pytest.mark.parametrize("minor", [2**63, -(2**63), 2**70, 10**30 + 1])
def test_r2_r25_from_minor_refuses_what_no_command_takes(minor: int) -> None:
    """R2, R25: beyond MAX_AMOUNT_MINOR (and far beyond 2**63 - 1 minor units, what SQLite
    and PostgreSQL store) from_minor refuses the amount with the amounts' own error,
    ``invalid_money``, naming the field and the limit, where it is built."""
    with pytest.raises(InvalidMoneyError) as info:
        from_minor(minor, "EUR")
    assert info.value.code == "invalid_money"
    assert info.value.fields["field"] == "minor"
    assert info.value.fields["limit"] == MAX_AMOUNT_MINOR


@pytest.mark.parametrize("sign", [1, -1])
def test_r25_to_minor_takes_amounts_up_to_the_maximum_only(sign: int) -> None:
    """R25, R2: to_minor, the way every amount enters a command, takes MAX_AMOUNT_MINOR
    (10,000,000,000.00 EUR) and refuses one cent more with ``invalid_money`` and the limit,
    whichever the sign."""
    assert to_minor(Money(sign * Decimal("10000000000.00"), "EUR")) == sign * MAX_AMOUNT_MINOR
    with pytest.raises(InvalidMoneyError) as info:
        to_minor(Money(sign * Decimal("10000000000.01"), "EUR"))
    assert (info.value.code, info.value.fields["limit"]) == ("invalid_money", MAX_AMOUNT_MINOR)


def test_r25_very_long_inexact_amount_is_refused_not_rounded() -> None:
    """R25: an amount with more significant digits than any decimal context (85 of them, the
    last a thousandth) is refused in EUR, not rounded to a whole cent; so is the exact one,
    as it is above the maximum amount."""
    text = "1" * 83 + ".001"
    with pytest.raises(InvalidMoneyError):
        parse_money(text, "EUR")
    with pytest.raises(InvalidMoneyError):
        to_minor(Money(Decimal(text), "EUR"))
    with pytest.raises(InvalidMoneyError):
        to_minor(Money(Decimal("1" * 83 + ".01"), "EUR"))


@pytest.mark.parametrize(
    "value",
    [1.5, 0.1, float("nan"), float("inf"), float("-inf"), True],
    ids=["float", "float-0.1", "nan", "inf", "-inf", "bool"],
)
def test_r25_floats_nan_inf_are_refused(value: object) -> None:
    """R25: floats (even exact ones like 1.5), NaN and infinity are never money."""
    with pytest.raises(InvalidMoneyError) as info:
        parse_money(value, "EUR")
    assert info.value.fields["field"] == "amount"


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_r25_nan_and_infinite_decimals_are_refused(text: str) -> None:
    """R25: non-finite Decimals are refused whether parsed or wrapped in Money."""
    with pytest.raises(InvalidMoneyError):
        parse_money(text, "EUR")
    with pytest.raises(InvalidMoneyError):
        parse_money(Decimal(text), "EUR")
    if text != "sNaN":  # py-moneyed itself chokes on signalling NaN
        with pytest.raises(InvalidMoneyError):
            to_minor(Money(Decimal(text), "EUR"))


@pytest.mark.parametrize("value", ["", "12,30", "twelve", "1e", None, [1]])
def test_r25_unparseable_input_is_refused(value: object) -> None:
    with pytest.raises(InvalidMoneyError):
        parse_money(value, "EUR")


def test_r25_unknown_currency_and_mismatch() -> None:
    """R25: unknown codes and the wrong currency are refused, with their own codes."""
    with pytest.raises(UnknownCurrencyError) as unknown:
        parse_money("1", "XYZ")
    assert unknown.value.code == "unknown_currency"
    with pytest.raises(UnknownCurrencyError):
        parse_money("1", "eur")
    with pytest.raises(UnknownCurrencyError):
        to_minor(Money("1", "XAU"))  # gold has no minor unit: not money a buyer pays with
    with pytest.raises(CurrencyMismatchError) as mismatch:
        to_minor(Money("1.00", "USD"), currency="EUR", field="refund")
    assert mismatch.value.code == "currency_mismatch"
    assert mismatch.value.fields == {"field": "refund", "expected": "EUR", "got": "USD"}
    with pytest.raises(InvalidMoneyError):
        to_minor(Decimal("1.00"))  # type: ignore[arg-type]
    # XCG is in ISO 4217 (2025) but not in py-moneyed 3.0: refused in our family, not moneyed's
    with pytest.raises(UnknownCurrencyError):
        from_minor(100, "XCG")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1230, "EUR", "12.30 EUR"),
        (-5, "EUR", "-0.05 EUR"),
        (1500, "JPY", "1500 JPY"),
        (1, "KWD", "0.001 KWD"),
        (12345, "CLF", "1.2345 CLF"),
    ],
)
def test_r25_format_minor(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text


# --- the one rounding rule ------------------------------------------------------------------


def _reference(numerator: int, denominator: int, rounding: Rounding) -> int:
    """Round numerator/denominator with Fractions, straight from each mode's definition."""
    q = Fraction(numerator, denominator)
    lo, hi = math.floor(q), math.ceil(q)
    if lo == hi:
        return lo
    toward_zero, away = (lo, hi) if q > 0 else (hi, lo)
    if rounding is Rounding.DOWN:
        return toward_zero
    if rounding is Rounding.UP:
        return away
    if q - lo != Fraction(1, 2):
        return lo if q - lo < Fraction(1, 2) else hi
    if rounding is Rounding.HALF_UP:
        return away
    return lo if lo % 2 == 0 else hi


@pytest.mark.parametrize("rounding", list(Rounding))
@given(
    numerator=st.integers(min_value=-(10**15), max_value=10**15),
    denominator=st.integers(min_value=-(10**6), max_value=10**6).filter(lambda d: d != 0),
)
def test_r25_divide_matches_fraction_reference(
    rounding: Rounding, numerator: int, denominator: int
) -> None:
    """R25: divide rounds exactly as the Fraction reference, for every Rounding mode."""
    assert divide(numerator, denominator, rounding) == _reference(numerator, denominator, rounding)


@pytest.mark.parametrize(
    ("n", "d", "rounding", "expected"),
    [
        (5, 2, Rounding.HALF_EVEN, 2),
        (7, 2, Rounding.HALF_EVEN, 4),
        (-5, 2, Rounding.HALF_EVEN, -2),
        (5, 2, Rounding.HALF_UP, 3),
        (-5, 2, Rounding.HALF_UP, -3),
        (7, 3, Rounding.DOWN, 2),
        (-7, 3, Rounding.DOWN, -2),
        (7, 3, Rounding.UP, 3),
        (-7, 3, Rounding.UP, -3),
        (7, -2, Rounding.HALF_EVEN, -4),
    ],
)
def test_r25_divide_literal_cases(n: int, d: int, rounding: Rounding, expected: int) -> None:
    assert divide(n, d, rounding) == expected


def test_r2_divide_by_zero_or_by_a_float_is_invalid_input() -> None:
    """R2: divide refuses a zero denominator and non-int operands inside the error family."""
    for n, d in [(1, 0), (1.0, 2), (1, 2.0)]:
        with pytest.raises(InvalidInputError):
            divide(n, d)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "bp", "rounding", "expected"),
    [
        (10_000, 250, Rounding.HALF_EVEN, 250),  # 2.5 % of 100.00 = 2.50
        (1_999, 1_000, Rounding.HALF_EVEN, 200),  # 10 % of 19.99 = 1.999 -> 2.00
        (1_250, 1_000, Rounding.HALF_EVEN, 125),  # exact
        (125, 1_000, Rounding.HALF_EVEN, 12),  # 12.5 -> 12 (half to even)
        (135, 1_000, Rounding.HALF_EVEN, 14),  # 13.5 -> 14 (half to even)
        (125, 1_000, Rounding.HALF_UP, 13),  # 12.5 -> 13
        (199, 50, Rounding.DOWN, 0),  # 0.995 -> 0
        (199, 50, Rounding.UP, 1),  # 0.995 -> 1
        (4_990, 290, Rounding.HALF_EVEN, 145),  # 2.9 % of 49.90 = 1.4471 -> 1.45
        (-1_250, 1_000, Rounding.HALF_EVEN, -125),
        (0, 9_999, Rounding.UP, 0),
    ],
)
def test_r25_percent_bp_examples(minor: int, bp: int, rounding: Rounding, expected: int) -> None:
    """R25: basis-point fees, rounded once (250 bp = 2.5 %)."""
    assert percent_bp(minor, bp, rounding) == expected
