"""The facade lifecycle on a SQLite file next to its own SQL replayed with plain ``sqlite3``.

Used by the ``lifecycle`` section of ``run.py``:

* :class:`Template` is one created and migrated (empty) database file; every timed batch,
  of the facade or of the replay, starts from a copy of it, made outside the timing, so no
  figure times database creation or migrations.
* :class:`Recorder` runs the facade lifecycles (``facade_lifecycle.Lifecycles``) on a copy
  through a connection that records every ``execute``/``executemany`` with its parameters,
  lifecycle by lifecycle, and counts what SQLite itself runs (``set_trace_callback``). The
  lifecycles are deterministic, so the k-th recorded lifecycle is the k-th lifecycle of every
  timed facade batch, statement for statement.
* :func:`replay` runs recorded statements with plain ``sqlite3`` and no library code: the same
  statements and parameters in the same order (``BEGIN IMMEDIATE``/``COMMIT`` included, so
  the same commits), every result fetched in full, on a connection opened as the store opens
  its own (autocommit, the same pragmas: :func:`settings`, :func:`apply_settings`).
* :func:`bytes_per_order` is the file growth per order after ``n`` lifecycles.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from facade_lifecycle import Lifecycles

from asolora_core import SqliteStore

__all__ = [
    "Recorder",
    "Template",
    "apply_settings",
    "bytes_in_use",
    "bytes_per_order",
    "open_plain",
    "replay",
    "settings",
    "table_counts",
]

#: One recorded call: the SQL, its parameters (a row, or the list of rows of an
#: ``executemany``), and whether it was an ``executemany``.
Statement: TypeAlias = tuple[str, Any, bool]

#: Connection and file settings copied from the store's own connection to the replay's.
#: ``journal_mode`` and ``page_size`` belong to the file (the copy keeps them; checked).
PRAGMAS = (
    "journal_mode",
    "page_size",
    "synchronous",
    "foreign_keys",
    "busy_timeout",
    "cache_size",
    "temp_store",
    "mmap_size",
    "automatic_index",
    "recursive_triggers",
    "secure_delete",
    "wal_autocheckpoint",
    "locking_mode",
)
_FILE_PRAGMAS = frozenset({"journal_mode", "page_size"})


def settings(conn: sqlite3.Connection) -> dict[str, Any]:
    """The values of :data:`PRAGMAS` on ``conn``."""
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}


def apply_settings(conn: sqlite3.Connection, wanted: dict[str, Any]) -> None:
    """Give ``conn`` the connection settings ``wanted``; raise if any setting differs after."""
    for name, value in wanted.items():
        if name not in _FILE_PRAGMAS:
            conn.execute(f"PRAGMA {name} = {value}")
    got = settings(conn)
    if got != wanted:
        diff = {k: (got.get(k), v) for k, v in wanted.items() if got.get(k) != v}
        raise RuntimeError(f"replay connection settings differ from the store's: {diff}")


def open_plain(path: str, wanted: dict[str, Any]) -> sqlite3.Connection:
    """A plain connection opened as ``SqliteStore`` opens its own: autocommit (the statements
    carry their own ``BEGIN``/``COMMIT``), usable from any thread, the store's settings."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    apply_settings(conn, wanted)
    return conn


class Template:
    """A created and migrated, empty database file in ``directory``; :meth:`fresh` copies it.

    ``settings`` are the store connection's :data:`PRAGMAS`, read from a ``SqliteStore``
    opened on the file with its defaults (WAL, ``synchronous=NORMAL``)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.path = str(self.directory / "template.sqlite3")
        store = SqliteStore(self.path)
        try:
            self.settings = settings(store.connection())
        finally:
            store.close()  # the last connection out checkpoints the WAL into the file
        self.bytes_in_use = bytes_in_use(self.path)
        self._names = itertools.count()

    def fresh(self) -> str:
        """A new copy of the template, under a name of its own."""
        path = str(self.directory / f"db-{next(self._names)}.sqlite3")
        shutil.copyfile(self.path, path)
        return path


class _RecordingConnection(sqlite3.Connection):
    """Records every ``execute`` and ``executemany`` before running it."""

    log: list[Statement]

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.log.append((sql, parameters, False))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        rows = list(parameters)
        self.log.append((sql, rows, True))
        return super().executemany(sql, rows)

    def cursor(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:  # type: ignore[override]
        # a statement run through a cursor would escape the log: refuse rather than lie
        raise RuntimeError("the lifecycle used Connection.cursor(): the recording is incomplete")


class Recorder:
    """The facade lifecycles on a copy of ``template`` through a recording connection.

    ``statements[k]`` are the calls of lifecycle ``k``; ``traced[k]`` the number of statements
    SQLite reported running for it (``set_trace_callback``: one per statement, one per row of
    an ``executemany``, and one more per trigger program a statement starts)."""

    def __init__(self, template: Template) -> None:
        self.path = template.fresh()
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            factory=_RecordingConnection,
        )
        conn.log = []
        apply_settings(conn, template.settings)
        self._traced: list[str] = []
        conn.set_trace_callback(self._traced.append)
        self._conn = conn
        self.store = SqliteStore(self.path, connection=conn)
        self._lifecycles = Lifecycles(self.store)
        self.statements: list[list[Statement]] = []
        self.traced: list[list[str]] = []

    def ensure(self, n: int) -> None:
        """Record lifecycles until there are at least ``n``."""
        while len(self.statements) < n:
            self._conn.log = []
            self._traced.clear()
            self._lifecycles.run(1)
            self.statements.append(self._conn.log)
            self.traced.append(list(self._traced))

    def first(self, n: int) -> list[Statement]:
        """The calls of lifecycles ``0 .. n-1``, in order."""
        self.ensure(n)
        return [s for lifecycle in self.statements[:n] for s in lifecycle]

    def close(self) -> None:
        self.store.close()


def replay(conn: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    """Run ``statements`` on ``conn`` as recorded, fetching every result in full."""
    execute, executemany = conn.execute, conn.executemany
    for sql, parameters, many in statements:
        if many:
            executemany(sql, parameters)
        else:
            execute(sql, parameters).fetchall()


def bytes_in_use(path: str) -> int:
    """Bytes of the pages in use, ``(page_count - freelist_count) * page_size``, after a WAL
    checkpoint (no other connection may be open on ``path``)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return int((pages - free) * size)


def _bytes_by_table(path: str) -> dict[str, int] | None:
    """Bytes of pages per table or index (``dbstat``), or None where SQLite lacks it."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return {str(name): int(size) for name, size in rows}


def bytes_per_order(template: Template, n: int) -> tuple[float, dict[str, float] | None]:
    """File growth per order after ``n`` facade lifecycles on a copy of the template.

    State measured: ``n`` completed orders (one vendor, one line, two shipments each) with
    their history, ledger holds (not released: no sweep has run), notifications pending in
    the outbox (no notifier, nothing delivered), no idempotency records (no keys); no
    retention or purge has run. Growth is :func:`bytes_in_use` after minus that of the empty
    migrated template, divided by ``n``; the second value splits it per table and index
    (``dbstat``), tables that grew by less than 1 byte per order left out."""
    path = template.fresh()
    before = _bytes_by_table(path)
    store = SqliteStore(path)
    try:
        Lifecycles(store).run(n)
    finally:
        store.close()
    total = (bytes_in_use(path) - template.bytes_in_use) / n
    after = _bytes_by_table(path)
    if before is None or after is None:
        return total, None
    split = {name: (size - before.get(name, 0)) / n for name, size in after.items()}
    return total, {
        k: round(v, 1) for k, v in sorted(split.items(), key=lambda kv: -kv[1]) if v >= 1
    }


def table_counts(path: str) -> dict[str, int]:
    """Rows per table: the replay must leave what the facade leaves."""
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()
