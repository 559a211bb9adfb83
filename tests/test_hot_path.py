"""Shortcuts of the command path that must not change a result (R29, R42).

The ledger hashes JSON text it builds with a C encoder made once
(:func:`asolora_core.ledger.model.compact_json`): the text, so every seal and journal hash,
must be the one ``json.dumps`` gives, or stored seals would stop matching.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

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
