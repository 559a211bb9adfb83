"""Shortcuts of the command path that must not change a result (R29, R35, R42).

The ledger hashes JSON text it builds with a C encoder made once
(:func:`asolora_core.ledger.model.compact_json`): the text, so every seal and journal hash,
must be the one ``json.dumps`` gives, or stored seals would stop matching.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from asolora_core.kernel import UuidIds
from asolora_core.ledger.model import compact_json

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
    assert compact_json()(value) == json.dumps(value, separators=(",", ":"))


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
