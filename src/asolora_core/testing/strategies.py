"""Hypothesis strategies for asolora_core's own types, for users' property tests (R25, R1, R3).

Needs the ``testing`` extra (hypothesis). Every strategy builds valid values only: exact
amounts in a currency's minor units, actors with non-empty ids, checkout items whose unit price
is in the checkout currency. Build invalid input by hand in the test that expects the refusal.

>>> from hypothesis import given
>>> from asolora_core.testing import strategies as ast
>>> @given(ast.money(currency="JPY"))
... def test_yen_is_whole(m): ...
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from moneyed import CurrencyDoesNotExist, Money, get_currency

from asolora_core._iso4217 import MINOR_UNITS
from asolora_core.actors import Actor, ActorKind
from asolora_core.limits import MAX_AMOUNT_MINOR
from asolora_core.money import from_minor
from asolora_core.service import Item

__all__ = ["actors", "currencies", "items", "minor_units", "money"]

#: The largest amount the library takes (``asolora_core.limits.MAX_AMOUNT_MINOR``).
MAX_MINOR = MAX_AMOUNT_MINOR


def _money_can_hold(code: str) -> bool:
    try:
        get_currency(code)
    except CurrencyDoesNotExist:
        return False
    return True


def currencies(exponents: Sequence[int] | None = None) -> st.SearchStrategy[str]:
    """ISO 4217 codes of the bundled table that py-moneyed can represent (the newest codes,
    such as XCG, are not in py-moneyed 3.0), optionally only those whose minor unit has one of
    ``exponents`` decimals (``currencies([0])`` gives JPY, KRW, ...)."""
    codes = sorted(
        c
        for c, e in MINOR_UNITS.items()
        if (exponents is None or e in exponents) and _money_can_hold(c)
    )
    if not codes:
        raise ValueError(f"no currency has an exponent in {list(exponents or [])}")
    return st.sampled_from(codes)


def minor_units(min_value: int = 0, max_value: int = MAX_MINOR) -> st.SearchStrategy[int]:
    """A whole number of minor units (the library's internal representation of an amount)."""
    return st.integers(min_value=min_value, max_value=max_value)


def money(
    *,
    currency: str | st.SearchStrategy[str] | None = None,
    min_minor: int = 0,
    max_minor: int = MAX_MINOR,
) -> st.SearchStrategy[Money]:
    """Exact ``Money``: a whole number of the currency's minor units, with the currency's
    number of decimals (what :func:`asolora_core.money.to_minor` accepts)."""
    codes: st.SearchStrategy[str]
    if currency is None:
        codes = currencies()
    elif isinstance(currency, str):
        codes = st.just(currency)
    else:
        codes = currency
    return st.builds(from_minor, minor_units(min_minor, max_minor), codes)


_ACTOR_IDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12
).filter(lambda s: s.strip("-") != "")


def actors(
    kinds: Sequence[ActorKind] | None = None,
    ids: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Actor]:
    """Actors of the given kinds (default: all four) with non-empty ids."""
    return st.builds(
        Actor,
        st.sampled_from(list(kinds) if kinds is not None else list(ActorKind)),
        ids if ids is not None else _ACTOR_IDS,
    )


def items(
    *,
    currency: str,
    vendor_ids: Sequence[str] = ("v-1", "v-2", "v-3"),
    max_quantity: int = 5,
    max_unit_minor: int = 10**6,
) -> st.SearchStrategy[Item]:
    """Checkout items (:class:`asolora_core.service.Item`) priced exactly in ``currency``,
    for ``Marketplace.place_checkout`` (R3). Unit prices are at least one minor unit."""
    return st.builds(
        Item,
        vendor_id=st.sampled_from(list(vendor_ids)),
        product_id=st.from_regex(r"\Ap-[0-9]{1,4}\Z"),
        quantity=st.integers(min_value=1, max_value=max_quantity),
        unit_price=money(currency=currency, min_minor=1, max_minor=max_unit_minor),
    )
