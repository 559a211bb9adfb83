"""What the SQLite repositories share: instants as integer microseconds, compact JSON, and the
transaction protocol a repository runs its statements in.

:mod:`asolora_core.adapters.sqlite` (the store and its unit of work) and
:mod:`asolora_core.adapters.sqlite_ledger` (the ledger repository) both build on this module
and never import each other's internals in a circle: the store imports the ledger repository,
the ledger repository knows the unit of work only as :class:`SqliteTransaction`.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from asolora_core import _codec

__all__ = [
    "EPOCH",
    "SqliteTransaction",
    "compact_json",
    "dumps_compact",
    "dumps_sorted",
    "instant",
    "loads_json",
    "micros",
]

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


#: the last instant :func:`micros` converted and its value: a command stamps its order, events
#: and messages with the same instant object (datetimes are immutable; one tuple, swapped
#: whole, so threads see a consistent pair)
_last_micros: tuple[_dt.datetime | None, int] = (None, 0)


def micros(at: _dt.datetime) -> int:
    """An instant as integer microseconds since the epoch: what SQL columns compare."""
    global _last_micros
    last = _last_micros
    if last[0] is at:
        return last[1]
    delta = at - EPOCH
    value = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    _last_micros = (at, value)
    return value


def instant(value: int) -> _dt.datetime:
    """The UTC instant of ``value`` microseconds since the epoch."""
    return EPOCH + _dt.timedelta(microseconds=value)


#: compact JSON text of ``data`` (see :func:`_compact_encoder`)
dumps_compact = _codec.compact_encoder(sort_keys=False)
#: the same with the keys of every object sorted
dumps_sorted = _codec.compact_encoder(sort_keys=True)


_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads_json(text: str) -> Any:
    """``json.loads(text)`` for the stored texts: the C scanner at once (``json.loads`` spends
    more time around the scan than in it on the short texts a row holds: a memo, a timer,
    a hold), and ``json.loads`` itself (its errors) for text that does not scan cleanly to
    the end."""
    try:
        data, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return data


def compact_json(data: Any, *, sort_keys: bool = False) -> str:
    return dumps_sorted(data) if sort_keys else dumps_compact(data)


class SqliteTransaction(Protocol):
    """An open SQLite transaction: the connection and a statement runner."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor: ...
