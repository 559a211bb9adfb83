"""Shortcuts of the command path that must not change a result (R29, R35, R42).

A hold read back equal to one the marketplace sealed lately is not hashed again; one that
differs is. The ledger hashes JSON text it builds with a C encoder made once
(:func:`asolora_core._codec.compact_encoder`): the text, so every seal and journal hash,
must be the one ``json.dumps`` gives, or stored seals would stop matching.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    FakeClock,
    InMemoryStore,
    LedgerIntegrityError,
    Marketplace,
    MarketplaceConfig,
    SequentialIds,
)
from asolora_core._codec import compact_encoder
from asolora_core.fx import FixedRateProvider
from asolora_core.kernel import UuidIds
from asolora_core.ledger.model import MoneyConfig
from test_ledger_support import FEES, STAFF, START, sell

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_TREES)
def test_compact_json_is_the_text_json_dumps_gives(value: Any) -> None:
    assert compact_encoder()(value) == json.dumps(value, separators=(",", ":"))
    assert compact_encoder(sort_keys=True)(value) == json.dumps(
        value, separators=(",", ":"), sort_keys=True
    )


def test_default_ids_are_uuid4_hex_after_the_prefix() -> None:
    """``UuidIds`` builds ``uuid.uuid4().hex`` without a ``UUID`` object: the same form."""
    ids = UuidIds()
    seen = set()
    for _ in range(2000):
        prefix, _, digits = ids.new_id("o").partition("-")
        parsed = uuid.UUID(hex=digits)
        assert prefix == "o"
        assert parsed.hex == digits  # 32 lower-case hex digits
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        seen.add(digits)
    assert len(seen) == 2000


@pytest.mark.parametrize("edit", ["release_at", "paid_minor", "frozen"])
def test_a_hold_replaced_in_memory_after_it_was_sealed_is_refused(edit: str) -> None:
    """R42: the marketplace remembers the holds it sealed lately, so that reading one back
    does not hash it again; a stored hold that differs from the one sealed (its seal kept)
    is still checked, and refused."""
    store = InMemoryStore()
    clock = FakeClock(START)
    market = Marketplace(
        store,
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(
            money=MoneyConfig(fees=FEES, rates=FixedRateProvider({}, as_of=START))
        ),
    )
    held = sell(market, "v-1", Money("20.00", "EUR"))  # completed: held, sealed, remembered
    holds = store.table("ledger_holds")
    hold = holds[held.order_id]
    changed = {
        "release_at": {"release_at": START},
        "paid_minor": {"paid_minor": hold.paid_minor + 1},
        "frozen": {"frozen": True},
    }[edit]
    holds[held.order_id] = attrs.evolve(hold, **changed)  # the seal kept as it was
    with pytest.raises(LedgerIntegrityError):
        market.release(held.order_id, by=STAFF)
    holds[held.order_id] = hold  # the hold as sealed: released once due
    clock.advance(hours=168)
    assert market.release(held.order_id, by=STAFF).released_at == clock.now()
