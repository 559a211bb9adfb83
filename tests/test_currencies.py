"""The bundled ISO 4217 table (R25) against independent sources: the ``iso4217`` package (a
dev dependency, built from the SIX list) and py-moneyed's own currency table."""

from __future__ import annotations

import iso4217
import moneyed
import pytest

from asolora_core._iso4217 import ISO_4217_PUBLISHED, MINOR_UNITS
from asolora_core.money import exponent

#: Codes in ISO 4217 that py-moneyed 3.0 does not know yet (added to the list after its
#: release): XAD (Arab Accounting Dinar), XCG (Caribbean guilder, replacing ANG), ZWG
#: (Zimbabwe Gold). Our table is right to have them; py-moneyed cannot build Money in them.
NOT_IN_PY_MONEYED = frozenset({"XAD", "XCG", "ZWG"})

#: Codes whose minor unit ISO 4217 gives as "N.A." (metals, SDR, test and settlement units):
#: deliberately left out of our table, since a buyer cannot pay with them.
NO_MINOR_UNIT = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


def _iso_package() -> dict[str, int | None]:
    return {c.code: c.exponent for c in iso4217.Currency}


def test_r25_table_matches_the_iso4217_package() -> None:
    """R25: every code with a minor unit in the iso4217 package is in our table with the same
    number of decimals, and we have no code it lacks."""
    iso = _iso_package()
    with_unit = {code: exp for code, exp in iso.items() if exp is not None}
    assert with_unit == MINOR_UNITS
    assert {code for code, exp in iso.items() if exp is None} == NO_MINOR_UNIT


def test_r25_table_is_the_same_publication_as_the_iso4217_package() -> None:
    """The iso4217 package's version carries its list's date (1.16.20260101)."""
    version = iso4217.__version__ if hasattr(iso4217, "__version__") else None
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("iso4217")
    assert version.endswith(ISO_4217_PUBLISHED.strftime("%Y%m%d"))


def test_r25_table_matches_py_moneyed_sub_units() -> None:
    """R25: py-moneyed's sub_unit (10 ** decimals) agrees wherever py-moneyed defines the
    code; the codes it lacks are exactly the allow-listed newer ones."""
    missing = set()
    differs = {}
    for code, exp in MINOR_UNITS.items():
        try:
            currency = moneyed.get_currency(code)
        except moneyed.CurrencyDoesNotExist:
            missing.add(code)
            continue
        if currency.sub_unit != 10**exp:
            differs[code] = (exp, currency.sub_unit)
    assert differs == {}
    assert missing == NOT_IN_PY_MONEYED


@pytest.mark.parametrize(
    ("code", "decimals"),
    [("JPY", 0), ("KRW", 0), ("EUR", 2), ("USD", 2), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_r25_known_exponents(code: str, decimals: int) -> None:
    """R25: the exponents the rules name, written out."""
    assert MINOR_UNITS[code] == decimals
    assert exponent(code) == decimals
