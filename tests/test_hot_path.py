"""Shortcuts of the command path that must not change a result (R29, R35, R42).

A hold read back equal to one the marketplace sealed lately is not hashed again; one that
differs is. The ledger hashes JSON text it builds with a C encoder made once
(:func:`asolora_core._codec.compact_encoder`): the text, so every seal and journal hash,
must be the one ``json.dumps`` gives, or stored seals would stop matching.
"""

from __future__ import annotations

import datetime as dt
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
from asolora_core.ledger import core
from asolora_core.ledger.integrity import record_seal, seal_fresh, seal_ok, sealed
from asolora_core.ledger.model import Chargeback, MoneyConfig, keyed_hash
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


def _generic_seal_body(value: Any) -> list[Any]:
    """What a seal hashes, written out the slow, obvious way: the class name, then every field
    but ``seal`` in field order, instants as ISO 8601 and attrs values as field lists."""

    def plain(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.isoformat()
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if attrs.has(type(v)):
            return [plain(getattr(v, f.name)) for f in attrs.fields(type(v)) if f.name != "seal"]
        return v

    names = [f.name for f in attrs.fields(type(value)) if f.name != "seal"]
    return [type(value).__name__, *(plain(getattr(value, n)) for n in names)]


@given(
    chargebacks=st.lists(
        st.builds(
            Chargeback,
            chargeback_id=st.text(max_size=5),
            reported_minor=st.integers(0, 10**6),
            applied_minor=st.integers(0, 10**6),
            fee_minor=st.integers(0, 10**4),
            at=st.just(START),
            after_release=st.booleans(),
        ),
        max_size=2,
    ),
    key=st.none() | st.binary(min_size=1, max_size=8),
)
def test_a_hold_seal_hashes_every_field_and_sealing_in_place_gives_the_same_hold(
    chargebacks: list[Chargeback], key: bytes | None
) -> None:
    """The generated seal body (no call for scalars, instants and empty tuples) is the
    obvious one, so seals stored before still match; ``seal_fresh`` (the release sweep's
    in-place seal of a hold it has just built) gives what ``sealed`` gives."""
    hold, _ = core.capture(
        order_id="o-1", vendor_id="v-1", currency="EUR", paid_minor=5000, at=START
    )
    hold = attrs.evolve(hold, chargebacks=tuple(chargebacks))
    text = json.dumps(_generic_seal_body(hold), separators=(",", ":"))
    assert record_seal(hold, key) == keyed_hash(text, key)
    copy = sealed(hold, key)
    fresh = seal_fresh(attrs.evolve(hold), key)
    assert fresh == copy
    assert fresh.seal == copy.seal
    assert seal_ok(fresh, key)
