"""What one order lifecycle costs besides time (issue 12): SQL statements, bytes of file and
of memory per order, and the SQLite facade against a replay of its own SQL.

* ``statements``: every statement the SQLite facade runs for ``n`` lifecycles (the lifecycles
  of ``facade_lifecycle``), as SQLite expands them (parameters inlined; one per row of an
  ``executemany``; ``BEGIN``/``COMMIT`` included; a trigger's program counted with the
  statement that fires it), recorded with a trace callback on a database
  migrated beforehand.
* ``sqlite_bytes_per_order``: pages in use after those lifecycles, less those of the empty
  migrated database, per order (the WAL checkpointed into the file first).
* ``memory_bytes_per_order``: what ``tracemalloc`` sees an ``InMemoryStore`` keep per order
  after ``n`` lifecycles (the marketplace itself is gone by then).
* ``commits``: the facade on a database migrated beforehand (``sqlite_commits``) and the very
  calls it made on its connection (the same SQL text and parameters, so the same prepared
  statements), replayed on another such database with no library code
  (``sqlite_replay_commits``): same pragmas (WAL, ``synchronous=NORMAL``), one transaction
  per command as the facade commits them.
"""

from __future__ import annotations

import gc
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, TypeAlias, cast

import facade_lifecycle

from asolora_core import InMemoryStore, SqliteStore

__all__ = ["memory_bytes_per_order", "record", "replay_s", "sqlite_costs"]

#: One call the facade made on a connection: SQL text, parameters, ``executemany`` or not.
Call: TypeAlias = tuple[str, Any, bool]


class _Recorder:
    """A connection that records every ``execute``/``executemany`` with its parameters."""

    def __init__(self, conn: sqlite3.Connection, calls: list[Call]) -> None:
        self._conn = conn
        self._calls = calls

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self._calls.append((sql, tuple(params), False))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = [tuple(r) for r in rows]
        self._calls.append((sql, rows, True))
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _TracedStore(SqliteStore):
    """A SqliteStore whose connections report every statement (``statements``) and every
    call with its parameters (``calls``) while ``recording`` is set."""

    recording = False

    def __init__(self, path: str) -> None:
        self.statements: list[str] = []
        self.calls: list[Call] = []
        super().__init__(path)

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.set_trace_callback(self._trace)
        recorder: Any = _Recorder(conn, self.calls)
        self._all[-1] = recorder
        return cast(sqlite3.Connection, recorder)

    def _trace(self, statement: str) -> None:
        # A trigger's program is traced again with the text of the statement that fired it
        # (or as a "-- TRIGGER" comment): it is part of that statement, not one of its own.
        out = self.statements
        if not self.recording or statement.startswith("--") or (out and out[-1] == statement):
            return
        out.append(statement)


def _migrated(path: str) -> None:
    SqliteStore(path).close()


def _pages_in_use(path: str) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)
    finally:
        conn.close()


def record(n: int, path: str) -> tuple[list[str], list[Call]]:
    """The statements ``n`` lifecycles run on a migrated database at ``path`` (as SQLite
    expands them) and the calls that ran them (SQL text and parameters)."""
    _migrated(path)
    store = _TracedStore(path)
    store.calls.clear()
    store.recording = True
    try:
        facade_lifecycle.run_on(store, n)
    finally:
        store.recording = False
        store.close()
    return store.statements, store.calls


def replay_s(calls: list[Call], path: str) -> float:
    """Seconds to make ``calls`` on a migrated database at ``path``, no library code."""
    _migrated(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        execute, executemany = conn.execute, conn.executemany
        start = time.perf_counter()
        for sql, params, many in calls:
            if many:
                executemany(sql, params)
            else:
                execute(sql, params)
        return time.perf_counter() - start
    finally:
        conn.close()


def _facade_s(n: int, path: str) -> float:
    _migrated(path)
    store = SqliteStore(path)
    try:
        start = time.perf_counter()
        facade_lifecycle.run_on(store, n)
        return time.perf_counter() - start
    finally:
        store.close()


def sqlite_costs(n: int, repeats: int) -> dict[str, float]:
    """Statements and bytes per lifecycle on SQLite; best facade and replay rates of ``n``
    lifecycles over ``repeats`` alternating runs (each on a fresh file)."""
    with tempfile.TemporaryDirectory(prefix="asolora-costs-") as tmp:
        empty = str(Path(tmp) / "empty.sqlite3")
        _migrated(empty)
        base = _pages_in_use(empty)
        recorded = str(Path(tmp) / "recorded.sqlite3")
        statements, calls = record(n, recorded)
        used = _pages_in_use(recorded)
        facade: list[float] = []
        replay: list[float] = []
        for i in range(repeats):
            gc.collect()
            facade.append(_facade_s(n, str(Path(tmp) / f"facade-{i}.sqlite3")))
            gc.collect()
            replay.append(replay_s(calls, str(Path(tmp) / f"replay-{i}.sqlite3")))
    return {
        "statements_per_lifecycle": round(len(statements) / n, 2),
        "sqlite_bytes_per_order": round((used - base) / n),
        "sqlite_commits_per_s": round(n / min(facade), 1),
        "sqlite_replay_commits_per_s": round(n / min(replay), 1),
    }


def memory_bytes_per_order(n: int) -> int:
    """Bytes an ``InMemoryStore`` holds per order after ``n`` lifecycles."""
    gc.collect()
    tracemalloc.start()
    try:
        store = InMemoryStore()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        facade_lifecycle.run_on(store, n)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del store
    return round((after - before) / n)
