"""PostgreSQL for the tests: on when ``ASOLORA_TEST_POSTGRES_DSN`` names a database.

Every test run works in schemas of its own (``t_<pid>_<random>``), so runs in parallel
(several processes, several machines sharing one server) never see each other's rows; the
schemas are dropped at the end of the session. Creating and migrating a schema costs about
0.2 s of catalog work, so a store's schema is emptied when the store is closed (every row
deleted, with triggers off: the journal's own triggers refuse deletes) and handed to the next
``make_store()`` of the same run: each store still starts on an empty, fully migrated schema.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

DSN_VAR = "ASOLORA_TEST_POSTGRES_DSN"
DSN = os.environ.get(DSN_VAR) or None
#: The one line a run without PostgreSQL prints.
HOW_TO_ENABLE = (
    f"PostgreSQL tests skipped: set {DSN_VAR}=postgresql://postgres@127.0.0.1:5432/test to run them"
)
#: Marks a test (or class) that needs PostgreSQL: it skips without a DSN.
postgres = pytest.mark.postgres

_created: list[str] = []
_free: list[str] = []


def new_schema() -> str:
    """A new, unique schema name, dropped at the end of the session."""
    name = f"t_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    _created.append(name)
    return name


def dsn() -> str:
    if DSN is None:  # pragma: no cover - such tests are skipped
        pytest.skip(HOW_TO_ENABLE)
    return DSN


def make_store(schema: str | None = None, **kwargs: Any) -> Any:
    """A PostgresStore on an empty, migrated schema of this run; or, given ``schema``, a
    second handle on that schema (closing it leaves the rows alone)."""
    from asolora_core.adapters.postgres import PostgresStore

    class _TestStore(PostgresStore):
        owner = False

        def close(self) -> None:
            super().close()
            if self.owner and self.schema is not None:
                self.owner = False
                _recycle(self.schema)

    if schema is not None:
        return _TestStore(dsn(), schema=schema, **kwargs)
    store = _TestStore(dsn(), schema=_free.pop() if _free else new_schema(), **kwargs)
    store.owner = True
    return store


def _recycle(schema: str) -> None:
    """Empty ``schema`` and hand it to the next store (or drop it, if that fails)."""
    import psycopg

    from asolora_core.ledger.model import GENESIS_HASH

    try:
        with psycopg.connect(dsn(), autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                    "AND tablename NOT IN ('asolora_schema_version', 'ledger_head')",
                    (schema,),
                )
            ]
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    conn.execute(f'DELETE FROM "{schema}"."{table}"')
                conn.execute(
                    f'UPDATE "{schema}".ledger_head SET seq = 0, hash = %s', (GENESIS_HASH,)
                )
    except psycopg.Error:
        return  # dropped at the end of the session
    _free.append(schema)


def drop_schemas() -> None:
    if DSN is None or not _created:
        return
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        for name in _created:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    _created.clear()
    _free.clear()
