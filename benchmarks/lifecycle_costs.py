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
  statements it ran, replayed on another such database with no library code
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

import facade_lifecycle

from asolora_core import InMemoryStore, SqliteStore

__all__ = ["memory_bytes_per_order", "record", "replay_s", "sqlite_costs"]


class _TracedStore(SqliteStore):
    """A SqliteStore whose connections report every statement once ``recording`` is set."""

    recording: list[str] | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.set_trace_callback(self._trace)
        return conn

    def _trace(self, statement: str) -> None:
        # A trigger's program is traced again with the text of the statement that fired it
        # (or as a "-- TRIGGER" comment): it is part of that statement, not one of its own.
        out = self.recording
        if out is None or statement.startswith("--") or (out and out[-1] == statement):
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


def record(n: int, path: str) -> list[str]:
    """The statements ``n`` lifecycles run on a migrated database at ``path``."""
    _migrated(path)
    statements: list[str] = []
    store = _TracedStore(path)
    store.recording = statements
    try:
        facade_lifecycle.run_on(store, n)
    finally:
        store.recording = None
        store.close()
    return statements


def replay_s(statements: list[str], path: str) -> float:
    """Seconds to run ``statements`` on a migrated database at ``path``, no library code."""
    _migrated(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        execute = conn.execute
        start = time.perf_counter()
        for statement in statements:
            execute(statement)
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
        statements = record(n, recorded)
        used = _pages_in_use(recorded)
        facade: list[float] = []
        replay: list[float] = []
        for i in range(repeats):
            gc.collect()
            facade.append(_facade_s(n, str(Path(tmp) / f"facade-{i}.sqlite3")))
            gc.collect()
            replay.append(replay_s(statements, str(Path(tmp) / f"replay-{i}.sqlite3")))
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
