"""A digest of every row a store holds, for tests that a refusal wrote nothing (R2, R33).

``digest(store)`` reads the whole store: every SQLite table through its own connection, every
table of the in-memory store, or every table of a PostgresStore's schema. Two digests are
equal exactly when no row was added, changed or removed in between.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from asolora_core import InMemoryStore, SqliteStore
from asolora_core.ports import Store, UnitOfWork


def _rows(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((repr(k), _rows(v)) for k, v in value.items())
    if isinstance(value, list):
        return sorted(repr(v) for v in value)
    return repr(value)


def digest(store: Store) -> str:
    """SHA-256 over every row of ``store`` (an InMemoryStore, SqliteStore or PostgresStore,
    or a :class:`CountingStore` around one)."""
    if isinstance(store, CountingStore):
        store = store.inner
    h = hashlib.sha256()
    if type(store).__module__ != InMemoryStore.__module__ and hasattr(store, "schema"):
        return _pg_digest(store, h)
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for table in tables:
                h.update(table.encode())
                for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                    h.update(repr(row).encode())
        finally:
            conn.close()
        return h.hexdigest()
    assert isinstance(store, InMemoryStore)
    for name, table in sorted(vars(store._tables).items()):
        h.update(name.encode())
        h.update(repr(_rows(table)).encode())
    return h.hexdigest()


def _pg_digest(store: Any, h: Any) -> str:
    import psycopg

    with psycopg.connect(store.dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                (store.schema,),
            )
        ]
        for table in tables:
            h.update(table.encode())
            rows = conn.execute(f'SELECT * FROM "{store.schema}"."{table}"').fetchall()
            for row in sorted(repr(r) for r in rows):
                h.update(row.encode())
    return str(h.hexdigest())


class CountingStore:
    """A store that counts the units of work opened on it: input refused before any store
    is touched opens none."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.opened = 0

    def unit_of_work(self) -> UnitOfWork:
        self.opened += 1
        return self.inner.unit_of_work()

    def reader(self) -> UnitOfWork:
        self.opened += 1
        return self.inner.reader()

    def close(self) -> None:
        self.inner.close()
