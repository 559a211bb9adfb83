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
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["EPOCH", "SqliteTransaction", "compact_json", "instant", "micros"]

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def micros(at: _dt.datetime) -> int:
    """An instant as integer microseconds since the epoch: what SQL columns compare."""
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def instant(value: int) -> _dt.datetime:
    """The UTC instant of ``value`` microseconds since the epoch."""
    return EPOCH + _dt.timedelta(microseconds=value)


def compact_json(data: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=sort_keys)


class SqliteTransaction(Protocol):
    """An open SQLite transaction: the connection and a statement runner."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor: ...
