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

__all__ = ["EPOCH", "SqliteTransaction", "compact_json", "dumps_compact", "instant", "micros"]

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


def _compact_encoder(*, sort_keys: bool) -> Callable[[Any], str]:
    """``json.dumps(data, separators=(",", ":"), sort_keys=sort_keys)``, with the C encoder
    built once rather than on every call (``JSONEncoder.encode`` builds one per call).
    Stateless: no circular-reference markers (the stored forms are trees), so one encoder
    serves every thread."""
    encoder = json.JSONEncoder(separators=(",", ":"), sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return encoder.encode
    iterencode = make(
        None,  # no markers
        encoder.default,
        json.encoder.encode_basestring_ascii,
        None,  # no indent
        ":",
        ",",
        sort_keys,
        False,  # skipkeys
        True,  # allow_nan, as json.dumps
    )
    join = "".join

    def dumps(data: Any) -> str:
        return join(iterencode(data, 0))

    return dumps


#: compact JSON text of ``data`` (see :func:`_compact_encoder`)
dumps_compact = _compact_encoder(sort_keys=False)
_dumps_sorted = _compact_encoder(sort_keys=True)


def compact_json(data: Any, *, sort_keys: bool = False) -> str:
    return _dumps_sorted(data) if sort_keys else dumps_compact(data)


class SqliteTransaction(Protocol):
    """An open SQLite transaction: the connection and a statement runner."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor: ...
