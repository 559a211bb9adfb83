"""Versioned schema migrations, one call for every store: :func:`migrate`.

Each store keeps an append-only list of schema steps (``asolora_core.adapters.sqlite.MIGRATIONS``,
``asolora_core.adapters.postgres.MIGRATIONS``); step N brings a database to version N, and
every step applied is recorded in the table ``asolora_schema_version``. :func:`migrate`
applies the steps a database has not had yet, safely from several processes at once (SQLite:
one ``BEGIN IMMEDIATE`` transaction per step; PostgreSQL: one transaction under an advisory
lock). Stores also migrate when they open, so calling it is only needed when you deploy with
``migrate=False`` (PostgreSQL) or want the schema ready before the first request. From a
shell: ``python -m asolora_core migrate --dsn postgresql://app@db/shop`` (or ``--dsn shop.db``);
``--grant-to ROLE`` also grants a PostgreSQL application role what the library needs.
"""

from __future__ import annotations

import re

__all__ = ["migrate"]


def migrate(dsn: str, *, schema: str | None = None, grant_to: str | None = None) -> int:
    """Bring the database named by ``dsn`` to the latest schema version and return it.

    ``dsn`` is a PostgreSQL URL or key/value string (``postgresql://...``, ``postgres://...``,
    ``host=... dbname=...``; needs the ``postgres`` extra) or a SQLite file path (optionally
    ``sqlite:///path``). ``schema`` (PostgreSQL only) puts the tables in that schema.
    ``grant_to`` (PostgreSQL only) names the application's login role: in the same
    transaction it gets exactly the privileges the library needs at run time and no more
    (``asolora_core.adapters.postgres.APP_PRIVILEGES``). Run this as the tables' owner at
    every deploy and the application as that role (the "Deploy with a least-privilege role"
    section of the docs' PostgreSQL page).

    >>> migrate(":memory:") >= 4
    True
    """
    text = dsn.strip()
    if _is_postgres_dsn(text):
        from asolora_core.adapters.postgres import PostgresStore

        store = PostgresStore(text, schema=schema, migrate=False)
        try:
            return store.migrate(grant_to=grant_to)
        finally:
            store.close()
    if schema is not None or grant_to is not None:
        raise ValueError("schema= and grant_to= apply to PostgreSQL only")
    from asolora_core.adapters.sqlite import SqliteStore

    path = text.removeprefix("sqlite:///")
    sqlite_store = SqliteStore(path)  # migrates on open
    try:
        return sqlite_store.schema_version()
    finally:
        sqlite_store.close()


#: The start of a libpq key/value connection string (``host=db user=app``).
_CONNINFO = re.compile(
    r"\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options"
    r"|application_name|connect_timeout|target_session_attrs)\s*=",
    re.IGNORECASE,
)


def _is_postgres_dsn(dsn: str) -> bool:
    """Whether :func:`migrate` reads ``dsn`` as PostgreSQL's (a ``postgresql://`` or
    ``postgres://`` URL, or a libpq key/value string such as ``host=db dbname=shop``) rather
    than as a SQLite file path."""
    text = dsn.strip()
    return (
        text.startswith(("postgresql://", "postgres://"))
        or "dbname=" in text
        or _CONNINFO.match(text) is not None
    )
