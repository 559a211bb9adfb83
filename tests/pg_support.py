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
_roles: list[str] = []
#: Set to 1 to open every ``make_store()`` store as the run's application role (migrated and
#: granted by the superuser of the DSN): the whole suite under a least-privilege role.
AS_APP = os.environ.get("ASOLORA_TEST_POSTGRES_AS_APP") == "1"


def new_schema() -> str:
    """A new, unique schema name, dropped at the end of the session."""
    name = f"t_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    _created.append(name)
    return name


def dsn() -> str:
    if DSN is None:  # pragma: no cover - such tests are skipped
        pytest.skip(HOW_TO_ENABLE)
    return DSN


def app_role() -> str:
    """This run's application role: a login role that neither owns the tables nor is a
    superuser, created on first use and dropped at the end of the session."""
    if not _roles:
        import psycopg

        name = f"asolora_app_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        _roles.append(name)
    return _roles[0]


def app_dsn() -> str:
    """The test DSN, logged in as :func:`app_role` (the test server trusts local logins)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn(), user=app_role())


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

    name = schema if schema is not None else _free.pop() if _free else new_schema()
    if AS_APP:
        from asolora_core.migrations import migrate

        migrate(dsn(), schema=name, grant_to=app_role())
    store = _TestStore(app_dsn() if AS_APP else dsn(), schema=name, **kwargs)
    store.owner = schema is None
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
    """Drop this run's schemas and its application role."""
    if DSN is None or not (_created or _roles):
        return
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        for name in _created:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        for role in _roles:
            conn.execute(f'DROP OWNED BY "{role}"')  # its privileges
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    _created.clear()
    _free.clear()
    _roles.clear()
