"""PostgreSQL storage with psycopg 3: the store for marketplaces on many machines (R24, R33,
R35, R36, R40, R42). Needs the ``postgres`` extra (``pip install 'asolora-core[postgres]'``).

* Three ways in: a DSN (the store keeps one connection per thread and reconnects after the
  server went away), a ``psycopg_pool.ConnectionPool`` (a connection per unit of work), or a
  ``psycopg.Connection`` you own: a unit of work then joins your open transaction as a
  ``SAVEPOINT`` and leaves the commit to you.
* ``READ COMMITTED``, the server's default. Aggregates are saved with
  ``UPDATE ... WHERE version = %s`` (a stale writer changes nothing, R36); new rows are
  ``INSERT ... ON CONFLICT DO NOTHING`` and a row count, so a refused write never aborts the
  transaction. A deadlock or serialization failure is a
  :class:`~asolora_core.errors.ConcurrencyConflictError`: reload and retry.
* Sweeps for many workers: due timers and outbox rows are claimed with
  ``FOR UPDATE SKIP LOCKED`` (a worker never waits for, nor takes, what another holds), in
  batches of ``sweep_batch`` timers per transaction (a failing batch is run again one timer
  per transaction, so a failing item never holds back others), and a crashed worker's claim
  returns the moment its connection drops.
* Queries run in :meth:`PostgresStore.reader`: a ``REPEATABLE READ READ ONLY`` transaction,
  one snapshot that takes no row lock (a balance read there never waits for the journal
  head) and can write nothing.
* An idempotency key (R35) is serialized by a transaction-scoped advisory lock on
  (actor scope, key): sixteen processes sending one key run the command once; the others
  wait and replay the stored outcome.
* Typed columns where queries need them (``bigint`` minor units, ``timestamptz`` instants),
  ``jsonb`` bodies for the rest. The schema is versioned (:data:`MIGRATIONS`, recorded in
  ``asolora_schema_version``) and :meth:`PostgresStore.migrate` applies missing steps under
  an advisory lock, so two processes can migrate at once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from asolora_core import _codec
from asolora_core.adapters.connections import ClosedWithThread, renew_in_forked_children
from asolora_core.adapters.postgres_ledger import (
    BALANCE_BY_KEY_MIGRATION,
    BALANCE_NOTES_MIGRATION,
    BALANCE_ONCE_MIGRATION,
    BALANCE_SET_MIGRATION,
    CLAIMED_VENDOR_LOCK_SQL,
    HELD_VENDOR_TIMER_SQL,
    HELD_VENDORS_SQL,
    INVARIANTS_MIGRATION,
    LEDGER_KINDS_MIGRATION,
    LEDGER_MIGRATION,
    TEXTS,
    PostgresLedger,
    ints,
    stamps,
    texts,
)
from asolora_core.adapters.postgres_orders import (
    ORDER_FACTS_MIGRATION,
    backfill_order_facts,
    fact_columns,
    order_page,
    performance_totals,
)
from asolora_core.adapters.postgres_reports import REPORTS_MIGRATION, PostgresReports
from asolora_core.adapters.records import (
    TIMER_SET_ASIDE,
    claimed_timers,
    due_messages,
    idempotency_record,
    outbox_message,
    set_aside_if_claimed,
)
from asolora_core.errors import (
    ConcurrencyConflictError,
    InvalidInputError,
    NotFoundError,
    StoreMisconfiguredError,
    StoreUnavailableError,
    _unknown_order,
)
from asolora_core.events import DomainEvent, event_type
from asolora_core.ledger.integrity import readable
from asolora_core.messaging.conversations import Conversation, Message
from asolora_core.orders.listing import OrderKey, OrderQuery
from asolora_core.orders.model import Order
from asolora_core.ports import IdempotencyRecord, OutboxMessage, Timer
from asolora_core.reports.performance import PerformanceTotals

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = [
    "APP_PRIVILEGES",
    "MIGRATIONS",
    "PgMisconfiguredError",
    "PgUnavailableError",
    "PostgresStore",
    "PostgresUnitOfWork",
]


class PgUnavailableError(StoreUnavailableError, psycopg.OperationalError):
    """The server or the connection failed, not the work (a lost connection, a server
    restarting or shutting down, a server that cannot be reached, a timeout): the
    library's :class:`~asolora_core.errors.StoreUnavailableError` (code
    ``store_unavailable``, HTTP 503, retryable), still a ``psycopg.OperationalError`` for code
    written when that was what surfaced. psycopg's own error is its ``__cause__``.

    Before the ``COMMIT`` the transaction was rolled back: nothing was stored. A connection
    lost *during* the ``COMMIT`` leaves the outcome unknown (the commit may have landed):
    ``fields["outcome_unknown"]`` is then true, and the safe retry is the same command with
    the same idempotency key (it replays the stored result if the commit landed, and runs the
    command once if it did not)."""


class PgMisconfiguredError(StoreMisconfiguredError, psycopg.OperationalError):
    """A connection the server (or libpq) refused for how it is configured, not for an
    outage: a wrong or missing password, an unknown role or database, a role without
    ``LOGIN`` or ``CONNECT``, no ``pg_hba.conf`` line for this user and host, an
    authentication method or SSL mode the DSN does not allow, a setting the server does not
    know, a malformed DSN. The library's
    :class:`~asolora_core.errors.StoreMisconfiguredError` (code ``store_misconfigured``, HTTP
    500, not retryable): the message says what to fix. Still a ``psycopg.OperationalError``,
    as it was before it was told apart from an outage (a DSN psycopg cannot parse at all is
    also a ``psycopg.ProgrammingError``, as it was); psycopg's own error is its
    ``__cause__``. No connection was opened: nothing was stored.

    psycopg gives no SQLSTATE for a connection that failed to open, so the failure is
    recognised from PostgreSQL's and libpq's English messages (and from the SQLSTATE, should
    one be given); under a server whose ``lc_messages`` is another language it stays a
    :class:`PgUnavailableError`."""


class _PgDsnError(PgMisconfiguredError, psycopg.ProgrammingError):
    """A :class:`PgMisconfiguredError` psycopg raised as a ``psycopg.ProgrammingError`` (a
    DSN it cannot parse), and still one."""


_CHECK_AUTH = (
    "check the user and password in the DSN (or in PGPASSWORD, the password file): retrying "
    "with the same ones will not help"
)
_CHECK_DSN = "fix the DSN (a libpq connection string or a postgresql:// URI)"

#: How a connection refused for its configuration reads: a pattern of the (lowercased)
#: message of PostgreSQL or libpq, the ``reason`` field and what to fix; first match wins.
_MISCONFIGURED: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), reason, fix)
    for pattern, reason, fix in (
        (r"password authentication failed|no password supplied", "authentication", _CHECK_AUTH),
        (
            r"is not permitted to log in",
            "role_cannot_login",
            "the DSN's user is a role without LOGIN: use a login role, or ALTER ROLE ... LOGIN",
        ),
        (
            r'role ".*" does not exist',
            "unknown_role",
            "check the user in the DSN: the server has no such role",
        ),
        (
            r'database ".*" does not exist',
            "unknown_database",
            "check the database name in the DSN (dbname), or create the database",
        ),
        (
            r"permission denied for database",
            "no_connect_privilege",
            "the DSN's user may not connect to that database: check the user and database in "
            "the DSN, or GRANT CONNECT ON DATABASE ... TO that user",
        ),
        (
            r"no pg_hba\.conf entry|pg_hba\.conf rejects connection",
            "host_not_allowed",
            "the server's pg_hba.conf lets no such connection in: check the host, user, "
            "database and sslmode in the DSN, or ask for a pg_hba.conf line",
        ),
        (
            r"authentication method requirement|channel binding",
            "auth_method",
            "the server authenticates with a method the DSN's require_auth or channel_binding "
            "refuses: change those, or the server's pg_hba.conf",
        ),
        (r"authentication failed for user", "authentication", _CHECK_AUTH),
        (
            r"server does not support ssl, but ssl was required",
            "ssl",
            "the DSN requires SSL and the server does not offer it: change sslmode in the "
            "DSN, or enable SSL on the server",
        ),
        (
            r"unrecognized configuration parameter|invalid value for parameter"
            r"|requires a value|invalid command-line argument",
            "options",
            "the server refused a setting sent when connecting: check the options in the DSN "
            "and the store's schema name",
        ),
        (
            r"for connection option|invalid \S+ value|invalid port number|could not match"
            r"|connection info string|invalid connection option|invalid uri",
            "dsn",
            _CHECK_DSN,
        ),
    )
)

#: SQLSTATEs of a connection refused for its configuration, should psycopg give one.
_MISCONFIGURED_STATES = {
    "28000": "host_not_allowed",
    "28P01": "authentication",
    "3D000": "unknown_database",
    "42501": "no_connect_privilege",
}


#: A password in a DSN: ``password=...`` (quoted or not, in a URI's query too) or ``user:...@``.
_DSN_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)|://[^/@\s:]*:([^@]*)@")


def _redacted(text: str, dsn: str | None) -> str:
    """``text`` without the password of ``dsn`` (a malformed DSN is quoted in psycopg's
    message, and the message may reach a log or an HTTP problem body)."""
    for match in _DSN_PASSWORD.finditer(dsn or ""):
        secret = (match.group(1) or match.group(2) or "").strip("'")
        for piece in sorted({secret, *secret.split()}, key=len, reverse=True):
            if len(piece) >= 3:
                text = text.replace(piece, "***")
    return text


def _misconfigured(exc: psycopg.Error, dsn: str | None = None) -> PgMisconfiguredError | None:
    """The :class:`PgMisconfiguredError` (raise it ``from exc``) of a connection that could
    not be opened because of its configuration, or None (then it is an outage); the
    password of ``dsn`` is left out of its message."""
    text = _redacted(" ".join(str(exc).split()), dsn)
    lowered = text.lower()
    state = getattr(exc, "sqlstate", None) or ""
    by_state = _MISCONFIGURED_STATES.get(state, "authentication" if state[:2] == "28" else "")
    found = next(
        (
            (reason, fix)
            for pattern, reason, fix in _MISCONFIGURED
            if pattern.search(lowered) or reason == by_state
        ),
        None,
    )
    programming = isinstance(exc, psycopg.ProgrammingError)
    if found is None and programming and not state:
        found = ("dsn", _CHECK_DSN)  # psycopg could not parse the DSN
    if found is None:
        return None
    kind = _PgDsnError if programming else PgMisconfiguredError
    return kind(_misconfigured_message(text, found[1]), reason=found[0])


def _misconfigured_message(cause: str, fix: str) -> str:
    return (
        f"the database connection could not be opened as configured ({cause}): {fix}; "
        "sending the command again will not help until that is fixed (nothing was stored)"
    )


def _connection_lost(exc: psycopg.OperationalError, conn: psycopg.Connection[Any] | None) -> bool:
    """Whether ``exc`` means the connection is gone: no SQLSTATE (the socket closed, the
    connection could not be opened), class 08 (connection exception), 57P (the server shut
    down or crashed, cannot accept connections yet, the database was dropped), or a
    connection psycopg now marks broken."""
    state = exc.sqlstate
    if state is None or state.startswith(("08", "57P")):
        return True
    return conn is not None and conn.broken


def _unavailable(
    exc: psycopg.OperationalError,
    conn: psycopg.Connection[Any] | None = None,
    *,
    at_commit: bool = False,
) -> PgUnavailableError:
    """``exc`` as a :class:`PgUnavailableError` (raise it ``from exc``). ``at_commit``: it
    was raised by the statements sent with, or by, the ``COMMIT`` of the store's own
    transaction, where a lost connection leaves the outcome unknown."""
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if at_commit and _connection_lost(exc, conn):
        return PgUnavailableError(
            f"the database connection was lost during COMMIT ({cause}): the outcome is "
            "unknown, the transaction may or may not have been stored; send the same command "
            "again with the same idempotency key (it replays the stored result if the commit "
            "landed, and runs the command once if it did not); without a key, check what was "
            "stored before sending it again",
            outcome_unknown=True,
        )
    return PgUnavailableError(
        f"the database is unavailable ({cause}): the transaction was rolled back and nothing "
        "was stored; send the same command again (with the same idempotency key, if any)",
        outcome_unknown=False,
    )


#: Schema steps; step N brings the database to version N (a row in ``asolora_schema_version``).
#: Never edit a released step: append one.
MIGRATIONS: list[str] = [
    # 1: orders, history, outbox, idempotency, timers
    """
    CREATE TABLE orders (
        order_id text PRIMARY KEY,
        version integer NOT NULL CHECK (version >= 1),
        checkout_id text NOT NULL,
        vendor_id text NOT NULL,
        buyer_id text NOT NULL,
        customer_key text NOT NULL,
        status text NOT NULL CHECK (status IN ('processing', 'completed', 'cancelled')),
        currency text NOT NULL CHECK (length(currency) = 3),
        paid_minor bigint NOT NULL CHECK (paid_minor >= 0),
        refunded_minor bigint NOT NULL CHECK (refunded_minor >= 0),
        placed_at timestamptz NOT NULL,
        completed_at timestamptz,
        body jsonb NOT NULL,
        seq bigserial NOT NULL,
        CONSTRAINT order_refunds_within_paid CHECK (refunded_minor <= paid_minor)
    );
    CREATE INDEX orders_checkout ON orders (checkout_id, seq);
    CREATE INDEX orders_vendor ON orders (vendor_id, placed_at, order_id);
    CREATE INDEX orders_customer ON orders (vendor_id, customer_key, placed_at);
    CREATE TABLE events (
        seq bigserial PRIMARY KEY,
        aggregate_id text NOT NULL,
        type text NOT NULL,
        at timestamptz NOT NULL,
        body jsonb NOT NULL
    );
    CREATE INDEX events_aggregate ON events (aggregate_id, seq);
    CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        message_id text NOT NULL UNIQUE,
        state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        next_attempt_at timestamptz NOT NULL,
        body jsonb NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (next_attempt_at, seq) WHERE state = 'pending';
    CREATE TABLE idempotency (
        scope text NOT NULL,
        key text NOT NULL,
        command text NOT NULL,
        at timestamptz NOT NULL,
        body jsonb NOT NULL,
        CONSTRAINT idempotency_key_per_actor PRIMARY KEY (scope, key)
    );
    CREATE TABLE timers (
        timer_id text PRIMARY KEY,
        kind text NOT NULL,
        due_at timestamptz NOT NULL,
        body jsonb NOT NULL
    );
    CREATE INDEX timers_due ON timers (due_at, timer_id);
    """,
    # 2: conversations (R26, R28): small versioned rows + one row per message
    """
    CREATE TABLE conversations (
        conversation_id text PRIMARY KEY,
        version integer NOT NULL CHECK (version >= 1),
        vendor_id text NOT NULL,
        buyer_id text NOT NULL,
        order_id text,
        last_activity_at timestamptz NOT NULL,
        first_awaited_at timestamptz,
        body jsonb NOT NULL
    );
    CREATE UNIQUE INDEX conversations_pair
        ON conversations (vendor_id, buyer_id, coalesce(order_id, ''));
    CREATE INDEX conversations_vendor_activity
        ON conversations (vendor_id, last_activity_at, conversation_id);
    CREATE INDEX conversations_buyer_activity
        ON conversations (buyer_id, last_activity_at, conversation_id);
    CREATE INDEX conversations_vendor_awaited
        ON conversations (vendor_id, first_awaited_at) WHERE first_awaited_at IS NOT NULL;
    CREATE TABLE conversation_messages (
        conversation_id text NOT NULL REFERENCES conversations (conversation_id),
        seq integer NOT NULL CHECK (seq >= 1),
        message_id text NOT NULL UNIQUE,
        at timestamptz NOT NULL,
        body jsonb NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    );
    """,
    # 3: the money ledger (R15-R25, R41, R42): journal, running totals, holds, payouts, vendors
    LEDGER_MIGRATION,
    # 4: what the database itself refuses, whoever writes (R17, R20, R24, R35, R42)
    INVARIANTS_MIGRATION,
    # 5: order lists and store performance (the vendor dashboard): per-order facts as columns
    ORDER_FACTS_MIGRATION,
    # 6: the reports' rollups (R30-R33): sales, products and balance movements per vendor/day
    REPORTS_MIGRATION,
    # 7: the endings' journal kinds (R39, R41); vendor reads by the hashed account (R42)
    LEDGER_KINDS_MIGRATION,
    # 8: retention (R29, R35): idempotency records by age; a delivered outbox row keeps its
    # delivery instant in next_attempt_at, so both purge by index
    """
    CREATE INDEX idempotency_at ON idempotency (at);
    UPDATE outbox SET next_attempt_at = (body ->> 'delivered_at')::timestamptz
        WHERE state = 'delivered' AND body ->> 'delivered_at' IS NOT NULL;
    CREATE INDEX outbox_delivered ON outbox (next_attempt_at) WHERE state = 'delivered';
    """,
    # 9: the journal's balance checked once per database transaction at COMMIT, not once per
    # inserted row (R24; less work while the journal head is locked)
    BALANCE_ONCE_MIGRATION,
    # 10: that check looks each noted journal transaction up by its key, whatever the
    # tables' statistics (without them the planner could read the whole journal at commit)
    BALANCE_BY_KEY_MIGRATION,
    # 11: the noted journal transactions kept in a guarded table, not a setting any SQL can
    # overwrite (with set_config the list could be emptied and an unbalanced COMMIT pass)
    BALANCE_NOTES_MIGRATION,
    # 12: that check is one statement for all the noted journal transactions, not two per
    # transaction (still by key, whatever the statistics): a sweep batch's commit is cheaper
    BALANCE_SET_MIGRATION,
]

#: What the application's role may do to each table (``PostgresStore.migrate(grant_to=...)``,
#: ``python -m asolora_core migrate --grant-to ROLE``): the statements the library runs and
#: no more. The journal (``ledger_txns``, ``ledger_entries``) and the payouts are
#: ``SELECT, INSERT`` only; ``ledger_head`` is updated, never inserted or deleted;
#: ``ledger_unchecked`` and ``ledger_unchecked_seqs`` are written by the journal's triggers,
#: which run with the privileges of the role that writes the journal (their guards refuse any
#: write made outside a trigger); ``UPDATE`` is also what ``SELECT ... FOR UPDATE`` and
#: ``INSERT ... ON CONFLICT DO UPDATE`` need. A schema step that adds a table adds it here
#: (a test compares this with the tables of a migrated schema).
APP_PRIVILEGES: dict[str, str] = {
    "asolora_schema_version": "SELECT",
    "orders": "SELECT, INSERT, UPDATE",
    "events": "SELECT, INSERT",
    "outbox": "SELECT, INSERT, UPDATE, DELETE",
    "idempotency": "SELECT, INSERT, UPDATE, DELETE",
    "timers": "SELECT, INSERT, UPDATE, DELETE",
    "conversations": "SELECT, INSERT, UPDATE",
    "conversation_messages": "SELECT, INSERT",
    "ledger_head": "SELECT, UPDATE",
    "ledger_txns": "SELECT, INSERT",
    "ledger_entries": "SELECT, INSERT",
    "ledger_payouts": "SELECT, INSERT",
    "ledger_totals": "SELECT, INSERT, UPDATE",
    "ledger_holds": "SELECT, INSERT, UPDATE",
    "ledger_vendors": "SELECT, INSERT, UPDATE",
    "ledger_unchecked": "SELECT, INSERT, DELETE",
    "ledger_unchecked_seqs": "SELECT, INSERT, DELETE",
    "report_sales": "SELECT, INSERT, UPDATE, DELETE",
    "report_products": "SELECT, INSERT, UPDATE, DELETE",
    "report_product_months": "SELECT, INSERT, UPDATE, DELETE",
    "report_money": "SELECT, INSERT, UPDATE, DELETE",
    "report_checkpoints": "SELECT, INSERT, UPDATE, DELETE",
}

#: Python work a schema step needs, run right after its SQL in the same transaction.
_MIGRATION_HOOKS: dict[str, Callable[[PostgresUnitOfWork], None]] = {
    ORDER_FACTS_MIGRATION: backfill_order_facts,
}

_enc_order = _codec.incremental_encoder(Order).encode
_dec_order = readable(_codec.decoder(Order), "order")  # R42: a body that does not decode
_enc_outbox = _codec.encoder(OutboxMessage)
_dec_outbox = _codec.decoder(OutboxMessage)


def _dec_outbox_row(row: Sequence[Any]) -> OutboxMessage:
    message: OutboxMessage = _dec_outbox(row[0])
    return message


def _row_id(row: Sequence[Any]) -> str:
    return str(row[1])


_enc_timer = _codec.encoder(Timer)
_dec_timer = _codec.decoder(Timer)


def _dec_timer_row(row: Sequence[Any]) -> Timer:
    timer: Timer = _dec_timer(row[0])
    return timer


def _timer_id(row: Sequence[Any]) -> str:
    return str(row[2])


_enc_conversation = _codec.encoder(Conversation)
_dec_conversation = _codec.decoder(Conversation)
_enc_message = _codec.encoder(Message)
_dec_message = _codec.decoder(Message)

_READ_ONLY_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_READ_ONLY_SET = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"

#: Errors that mean "another transaction got in the way": reload and retry (R36).
_CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def _statements(script: str) -> list[str]:
    """The statements of a schema step (split on ``;`` at the end of a line, so function
    bodies in ``$$ ... $$`` may hold their own semicolons)."""
    out: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        current.append(line)
        if line.count("$$") % 2 == 1:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            out.append("\n".join(current).strip().rstrip(";"))
            current = []
    tail = "\n".join(current).strip()
    if tail:
        out.append(tail)
    return [s for s in out if s.strip()]


def _grant(uow: PostgresUnitOfWork, role: str) -> None:
    """Give ``role`` exactly :data:`APP_PRIVILEGES` on the tables of the current schema (see
    :meth:`PostgresStore.migrate`); other tables of the schema are left as they are."""
    from psycopg.sql import Identifier

    if uow.fetchone("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) is None:
        raise InvalidInputError(
            f"the server has no role {role!r} to grant to: create it first (CREATE ROLE ... "
            "LOGIN, as a superuser) or name an existing one; nothing was migrated",
            field="grant_to",
        )
    conn = uow._conn()
    row = uow.fetchone("SELECT current_schema()")
    assert row is not None
    schema = str(row[0])
    who = Identifier(role).as_string(conn)
    quoted = Identifier(schema).as_string(conn)
    found = uow.fetchall(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
        "AND relkind IN ('r', 'p') AND relname = ANY(%s)",
        (quoted, list(APP_PRIVILEGES)),
    )
    present = {str(r[0]) for r in found}
    names = [name for name in APP_PRIVILEGES if name in present]

    def listed(tables: Sequence[str]) -> str:
        return ", ".join(Identifier(schema, name).as_string(conn) for name in tables)

    uow.run(f"GRANT USAGE ON SCHEMA {quoted} TO {who}")
    uow.run(f"REVOKE ALL ON TABLE {listed(names)} FROM {who}")
    for name in names:
        uow.run(f"GRANT {APP_PRIVILEGES[name]} ON TABLE {listed([name])} TO {who}")
    sequences = [
        str(r[0])
        for r in uow.fetchall(
            "SELECT s.relname FROM pg_class s JOIN pg_depend d "
            "ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype = 'a' "
            "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' "
            "AND t.relnamespace = %s::regnamespace AND t.relname = ANY(%s) ORDER BY s.relname",
            (quoted, names),
        )
    ]
    if sequences:
        uow.run(f"REVOKE ALL ON SEQUENCE {listed(sequences)} FROM {who}")
        uow.run(f"GRANT USAGE ON SEQUENCE {listed(sequences)} TO {who}")
    creates = [
        str(r[0])
        for r in uow.fetchall(
            "SELECT nspname FROM pg_namespace WHERE nspname IN ('public', current_schema()) "
            "AND has_schema_privilege(%s, oid, 'CREATE') ORDER BY nspname",
            (role,),
        )
    ]
    if creates:
        # PostgreSQL 14 and older grant CREATE on public to every role; not ours to revoke
        warnings.warn(
            f"the application role {role!r} may create objects in schema "
            f"{', '.join(creates)}: tables, or functions other roles' queries may resolve "
            "to. As the schema's owner or a superuser, run REVOKE CREATE ON SCHEMA public "
            "FROM PUBLIC (granted to every role before PostgreSQL 15), and revoke CREATE from "
            "the role itself if it was granted",
            stacklevel=4,
        )


class PostgresStore:
    """A store in one PostgreSQL database (one schema of it).

    Give exactly one of ``dsn`` (e.g. ``"postgresql://app@db.internal/shop"``), ``pool`` (a
    ``psycopg_pool.ConnectionPool``) or ``connection`` (a ``psycopg.Connection`` you own).
    ``schema`` (DSN only) puts the tables in that schema, created if missing. The schema is
    migrated on open unless ``migrate=False`` (then call :meth:`migrate` yourself, e.g. from
    ``python -m asolora_core migrate --dsn ...`` at deploy time).
    """

    #: Errors of the server or the connection, not of the work: ``run_due`` raises them (its
    #: transaction rolled back) instead of setting a timer aside, for the caller to retry.
    #: Every ``psycopg.OperationalError`` of the store's own statements reaches the caller as
    #: a :class:`PgUnavailableError` (a deadlock or a serialization failure as a
    #: :class:`~asolora_core.errors.ConcurrencyConflictError`; a connection refused for its
    #: settings as a :class:`PgMisconfiguredError`, which is not transient: ``run_due``
    #: raises it all the same).
    transient_errors: tuple[type[Exception], ...] = (PgUnavailableError,)

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: ConnectionPool[Any] | None = None,
        connection: psycopg.Connection[Any] | None = None,
        schema: str | None = None,
        migrate: bool = True,
    ) -> None:
        if sum(x is not None for x in (dsn, pool, connection)) != 1:
            raise ValueError("PostgresStore needs exactly one of dsn, pool or connection")
        if schema is not None and dsn is None:
            raise ValueError("schema= works with dsn= only: set search_path on your connections")
        self.dsn = dsn
        self.schema = schema
        self._pool = pool
        self._shared = connection
        self._shared_lock = threading.RLock()
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._all_lock = threading.RLock()
        renew_in_forked_children(self)
        if migrate:
            try:
                self.migrate()
            except BaseException:
                self.close()
                raise

    # connections ---------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        assert self.dsn is not None
        conn = psycopg.connect(
            self.dsn, autocommit=True, options=self.connection_options(self.dsn, schema=self.schema)
        )
        with self._all_lock:
            self._all.append(conn)
        return conn

    @staticmethod
    def connection_options(dsn: str, *, schema: str | None = None) -> str:
        """The libpq ``options`` the store's connections to ``dsn`` are opened with; pass
        them to a pool of yours (``ConnectionPool(dsn, kwargs={"options": ...})``) so that
        its connections are set up as the store's own.

        They are the DSN's ``options`` (or, when it has none, the ``PGOPTIONS`` environment
        variable, which an ``options`` keyword would otherwise silently replace), then the
        store's settings. The server applies them in order, so where both set a parameter
        the store's wins: ``timezone`` is always UTC (the store reads and writes instants as
        UTC), and ``search_path`` is ``schema`` when one is given (without one, a
        ``search_path`` of the DSN stands). Every other setting of the DSN
        (``statement_timeout``, ``lock_timeout``, ``application_name``, ...) is kept."""
        mine = "-c timezone=UTC"
        if schema is not None:
            mine += f" -c search_path={_search_path_option(schema)}"
        try:
            theirs = conninfo_to_dict(dsn).get("options")
        except psycopg.Error:
            theirs = None  # a malformed DSN: connecting reports it
        if theirs is None:
            theirs = os.environ.get("PGOPTIONS")
        theirs = str(theirs or "").strip()
        return f"{theirs} {mine}" if theirs else mine

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one unit of work: this thread's, the pool's, or yours."""
        if self._shared is not None:
            with self._shared_lock:
                yield self._shared
            return
        if self._pool is not None:
            with self._pool.connection() as pooled:
                yield pooled
            return
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                with self._all_lock:
                    if conn in self._all:
                        self._all.remove(conn)
                conn.close()
            conn = self._connect()
            self._local.conn = conn
            # closed when this thread ends (see ClosedWithThread)
            self._local.closer = ClosedWithThread(conn, self._all, self._all_lock)
        yield conn

    def _forget_inherited(self) -> list[Any]:
        """In a forked child: start afresh, without the parent's connections (never closed
        here: that would end the parent's sessions) and locks; returns what was dropped."""
        dropped = [self._local, self._all]
        self._local = threading.local()
        self._all = []
        self._all_lock = threading.RLock()
        self._shared_lock = threading.RLock()
        return dropped

    def close(self) -> None:
        """Close the connections this store opened (never a pool or connection you passed)."""
        with self._all_lock:
            conns = list(self._all)
            self._all.clear()
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # schema ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The number of :data:`MIGRATIONS` steps applied (0 for an empty database)."""
        with self.unit_of_work() as uow:
            row = uow.fetchone("SELECT to_regclass('asolora_schema_version') IS NOT NULL")
            if row is None or not row[0]:
                return 0
            found = uow.fetchone("SELECT coalesce(max(version), 0) FROM asolora_schema_version")
            return 0 if found is None else int(found[0])

    def migrate(self, *, grant_to: str | None = None) -> int:
        """Apply every missing :data:`MIGRATIONS` step in one transaction, under an advisory
        lock (two processes migrating at once: the second waits, then finds nothing to do).
        Returns the schema version.

        A schema already up to date is left alone without any DDL, so a store opened by the
        application's role (which may not create tables) migrates on open as a no-op.
        ``grant_to`` names that role: in the same transaction, after the steps, it is given
        exactly :data:`APP_PRIVILEGES` on the store's tables (any other privilege it had on
        them revoked), ``USAGE`` on the schema and on the tables' sequences. Run it as the
        tables' owner at every deploy, so the tables a new step adds are granted too. When
        that role may still create objects in ``public`` or in the store's schema (PostgreSQL
        14 and older let every role create in ``public``), it warns (``UserWarning``): the
        migration does not revoke what it did not grant."""
        if grant_to is None:
            current = self.schema_version()
            if current >= len(MIGRATIONS):
                return len(MIGRATIONS)
            try:
                return self._migrate(None)
            except pg_errors.InsufficientPrivilege as exc:
                exc.add_note(
                    f"the schema is at version {current} of {len(MIGRATIONS)} and this role may "
                    "not migrate it: run `python -m asolora_core migrate --dsn ... --grant-to "
                    "ROLE` as the tables' owner first"
                )
                raise
        return self._migrate(grant_to)

    def _migrate(self, grant_to: str | None) -> int:
        with self.unit_of_work() as uow:
            uow.run("SELECT pg_advisory_xact_lock(hashtext('asolora_core:migrate'))")
            if self.schema is not None:
                quoted = '"' + self.schema.replace('"', '""') + '"'  # any name, as typed
                uow.run(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
            uow.run(
                "CREATE TABLE IF NOT EXISTS asolora_schema_version ("
                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = uow.fetchone("SELECT coalesce(max(version), 0) FROM asolora_schema_version")
            current = 0 if row is None else int(row[0])
            for target, script in enumerate(MIGRATIONS, start=1):
                if target <= current:
                    continue
                for statement in _statements(script):
                    uow.run(statement)
                hook = _MIGRATION_HOOKS.get(script)
                if hook is not None:
                    hook(uow)
                uow.run("INSERT INTO asolora_schema_version (version) VALUES (%s)", (target,))
            if grant_to is not None:
                _grant(uow, grant_to)
            uow.commit()
        return len(MIGRATIONS)

    def unit_of_work(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self)

    def reader(self) -> PostgresUnitOfWork:
        """A unit of work for queries: a ``REPEATABLE READ READ ONLY`` transaction, one
        snapshot of the database that takes no row lock and writes nothing (inside a
        caller's open transaction: a savepoint of it)."""
        return PostgresUnitOfWork(self, read_only=True)


class PostgresUnitOfWork:
    """One PostgreSQL transaction (see :class:`PostgresStore`)."""

    def __init__(self, store: PostgresStore, *, read_only: bool = False) -> None:
        self.store = store
        self._read_only = read_only
        self._context: Any = None
        self.conn: psycopg.Connection[Any] | None = None
        self._savepoint = False
        self._explicit = False
        self._open = False
        #: statements left to send with the COMMIT (see :meth:`_run_with_commit`)
        self._with_commit: list[tuple[str, Sequence[Any]]] = []
        self.orders = _Orders(self)
        self.events = _Events(self)
        self.outbox = _Outbox(self)
        self.idempotency = _Idempotency(self)
        self.timers = _Timers(self)
        self.conversations = _Conversations(self)
        self.ledger = PostgresLedger(self)
        self.reports = PostgresReports(self)

    @property
    def read_only(self) -> bool:
        """True for a reader (:meth:`PostgresStore.reader`)."""
        return self._read_only

    def __enter__(self) -> Self:
        # A connection of the store's own (DSN) that the server dropped since its last use (a
        # restart, a failover) fails at BEGIN, before anything was done: it is replaced once.
        attempts = 2 if self.store.dsn is not None else 1
        for attempt in range(attempts):
            self._context = self.store.connection()
            try:
                conn = self._context.__enter__()
            except psycopg.OperationalError as exc:
                self._context = None  # the server refused or the pool timed out: no connection
                raise (_misconfigured(exc, self.store.dsn) or _unavailable(exc)) from exc
            except psycopg.ProgrammingError as exc:
                self._context = None  # e.g. a DSN psycopg cannot parse
                dsn = self.store.dsn
                misconfigured = _misconfigured(exc, dsn) if dsn is not None else None
                if misconfigured is None:
                    raise
                raise misconfigured from exc
            try:
                status = conn.info.transaction_status
                if status == TransactionStatus.INTRANS:
                    conn.execute("SAVEPOINT asolora_uow")
                    self._savepoint = True
                elif conn.autocommit:
                    conn.execute(_READ_ONLY_BEGIN if self._read_only else "BEGIN")
                    self._explicit = True
                elif self._read_only:
                    # a connection not in autocommit mode begins on this first statement
                    conn.execute(_READ_ONLY_SET)
                # else: a connection not in autocommit mode begins on the first statement
            except psycopg.OperationalError as exc:
                self._release(exc)
                if attempt + 1 < attempts and conn.broken:
                    continue
                raise _unavailable(exc, conn) from exc
            except BaseException as exc:
                self._release(exc)
                raise
            self.conn = conn
            self._open = True
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _release(self, exc: BaseException | None = None) -> None:
        context, self._context = self._context, None
        if context is not None:
            context.__exit__(
                None if exc is None else type(exc), exc, None if exc is None else exc.__traceback__
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._open:
            # a connection that is gone was rolled back by the server
            with contextlib.suppress(psycopg.Error):
                self.rollback()
        self._release()

    def _conn(self) -> psycopg.Connection[Any]:
        if self.conn is None or not self._open:
            raise RuntimeError("the unit of work is not open: use it in a with block")
        return self.conn

    def commit(self) -> None:
        conn = self._conn()
        if self._with_commit and not (self._explicit and psycopg.Pipeline.is_supported()):
            self._send_with_commit()  # run them first, one round trip each
        self._open = False
        try:
            if self._with_commit:
                self._commit_pipelined(conn)
            elif self._savepoint:
                conn.execute("RELEASE SAVEPOINT asolora_uow")
            elif self._explicit:
                conn.execute("COMMIT")
            else:
                conn.commit()
        except _CONFLICTS as exc:
            raise ConcurrencyConflictError(
                f"the transaction lost a race ({exc.sqlstate}); reload and retry"
            ) from exc
        except psycopg.OperationalError as exc:
            # a savepoint's release commits nothing: the caller's transaction is lost with it
            raise _unavailable(exc, conn, at_commit=not self._savepoint) from exc
        finally:
            self._release()

    def _commit_pipelined(self, conn: psycopg.Connection[Any]) -> None:
        """The statements left for the commit and the ``COMMIT`` itself, sent at once (libpq's
        pipeline mode): one round trip. A sweep's last statements run while it holds the
        journal head, and every round trip there is a wait for other workers."""
        statements, self._with_commit = self._with_commit, []
        try:
            with conn.pipeline():
                for sql, params in statements:
                    conn.execute(sql, params or None)
                conn.execute("COMMIT")
        except BaseException:
            # a statement failed (or the wait was interrupted), so the COMMIT may not have run:
            # end the transaction (after a COMMIT that ran, the ROLLBACK only warns)
            if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
            raise

    def _run_with_commit(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run ``sql`` (a write whose result nobody reads) at the latest with the ``COMMIT``,
        in the same round trip, or before the next statement of the unit of work, whichever
        comes first: the order of the statements is the order of the calls."""
        self._conn()
        self._with_commit.append((sql, params))

    def _send_with_commit(self) -> None:
        statements, self._with_commit = self._with_commit, []
        for sql, params in statements:
            self._cursor(sql, params)

    def rollback(self) -> None:
        self._with_commit = []
        if not self._open:
            return
        self._open = False
        conn = self._conn_unchecked()
        if conn.broken or conn.closed:
            self._release()  # the server ended the transaction with the connection
            return
        try:
            if self._savepoint:
                conn.execute("ROLLBACK TO SAVEPOINT asolora_uow")
                conn.execute("RELEASE SAVEPOINT asolora_uow")
            elif self._explicit:
                conn.execute("ROLLBACK")
            else:
                conn.rollback()
        except psycopg.OperationalError as exc:
            raise _unavailable(exc, conn) from exc
        finally:
            self._release()

    def _conn_unchecked(self) -> psycopg.Connection[Any]:
        assert self.conn is not None
        return self.conn

    # statement runners (the ledger sees the unit of work as a PgTransaction) ---------------

    def _cursor(self, sql: str, params: Sequence[Any]) -> psycopg.Cursor[Any]:
        if self._with_commit:
            self._send_with_commit()
        conn = self._conn()
        try:
            return conn.execute(sql, params or None)
        except _CONFLICTS as exc:
            raise ConcurrencyConflictError(
                f"the transaction lost a race ({exc.sqlstate}); reload and retry"
            ) from exc
        except psycopg.OperationalError as exc:
            raise _unavailable(exc, conn) from exc

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor(sql, params).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._cursor(sql, params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._cursor(sql, params).rowcount

    def fetchone_after(
        self, first: str, first_params: Sequence[Any], sql: str, params: Sequence[Any] = ()
    ) -> tuple[Any, ...] | None:
        """Run ``first`` (a write whose result nobody reads), then ``sql``, and return
        ``sql``'s first row: both sent at once (libpq's pipeline mode), one round trip (two
        where the driver has no pipeline). The sweep sends its last write before the journal
        head with the head's lock, so that it waits for the head once, not after a round trip."""
        if not psycopg.Pipeline.is_supported():
            self.run(first, first_params)
            return self.fetchone(sql, params)
        conn = self._conn()
        statements, self._with_commit = self._with_commit, []
        statements.append((first, first_params))
        try:
            with conn.pipeline():
                for s, p in statements:
                    conn.execute(s, p or None)
                cur = conn.execute(sql, params or None)
        except _CONFLICTS as exc:
            raise ConcurrencyConflictError(
                f"the transaction lost a race ({exc.sqlstate}); reload and retry"
            ) from exc
        except psycopg.OperationalError as exc:
            raise _unavailable(exc, conn) from exc
        row: tuple[Any, ...] | None = cur.fetchone()
        return row

    def run_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """Run ``INSERT ... VALUES (%s, ...) [ON CONFLICT ...]`` for every row of ``params``
        as ONE multi-row statement: one round trip to the server, not one per row."""
        if not params:
            return
        head, _, tail = sql.partition("VALUES (")
        group, _, rest = tail.partition(")")
        rows = ", ".join([f"({group})"] * len(params))
        self.run(f"{head}VALUES {rows}{rest}", [v for row in params for v in row])


class _Orders:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _row(order: Order) -> tuple[Any, ...]:
        return (
            order.version,
            order.checkout_id,
            order.vendor_id,
            order.buyer_id,
            order.customer_name.casefold(),
            order.status.value,
            order.currency,
            order.paid_minor,
            order.refunded_minor,
            order.placed_at,
            order.completed_at,
            Jsonb(_enc_order(order)),
            *fact_columns(order),
            order.order_id,
        )

    def get(self, order_id: str) -> Order:
        row = self._uow.fetchone("SELECT body FROM orders WHERE order_id = %s", (order_id,))
        if row is None:
            raise _unknown_order(order_id)
        order: Order = _dec_order(row[0])
        return order

    def add(self, order: Order) -> None:
        inserted = self._uow.run(
            "INSERT INTO orders (version, checkout_id, vendor_id, buyer_id, customer_key, "
            "status, currency, paid_minor, refunded_minor, placed_at, completed_at, body, "
            "needs_shipping, awaiting_confirmation, open_issue, issues, first_shipped_at, "
            "delivered_at, order_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (order_id) DO NOTHING",
            self._row(order),
        )
        if inserted != 1:
            raise ConcurrencyConflictError(
                f"order {order.order_id} already exists", order_id=order.order_id
            )

    def save(self, order: Order) -> None:
        changed = self._uow.run(
            "UPDATE orders SET version = %s, checkout_id = %s, vendor_id = %s, buyer_id = %s, "
            "customer_key = %s, status = %s, currency = %s, paid_minor = %s, refunded_minor = %s, "
            "placed_at = %s, completed_at = %s, body = %s, needs_shipping = %s, "
            "awaiting_confirmation = %s, open_issue = %s, issues = %s, first_shipped_at = %s, "
            "delivered_at = %s WHERE order_id = %s AND version = %s",
            (*self._row(order), order.version - 1),
        )
        if changed != 1:
            raise ConcurrencyConflictError(
                f"order {order.order_id} changed since it was read; reload it and retry",
                order_id=order.order_id,
            )

    def _many(self, where: str, params: Sequence[Any]) -> tuple[Order, ...]:
        rows = self._uow.fetchall(f"SELECT body FROM orders WHERE {where}", params)
        return tuple(_dec_order(r[0]) for r in rows)

    def for_checkout(self, checkout_id: str) -> tuple[Order, ...]:
        return self._many("checkout_id = %s ORDER BY seq", (checkout_id,))

    def for_customer_name(self, vendor_id: str, customer_name: str) -> tuple[Order, ...]:
        return self._many(
            "vendor_id = %s AND customer_key = %s ORDER BY placed_at DESC, order_id DESC",
            (vendor_id, customer_name.strip().casefold()),
        )

    def page(self, query: OrderQuery, *, after: OrderKey | None, limit: int) -> tuple[Order, ...]:
        where, params = order_page(query, after, limit)
        return self._many(where, params)

    def performance_totals(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> PerformanceTotals:
        return performance_totals(self._uow, vendor_id, since, until)


#: ``_Events.append_posting``'s statement: the ``seq`` of a body whose position is not 0 is the
#: position plus the journal's sequence number before the append.
_POSTING_EVENTS_SQL = (
    "INSERT INTO events (aggregate_id, type, at, body) SELECT a, t, w, CASE WHEN r > 0 "
    "THEN jsonb_set(b::jsonb, '{seq}', to_jsonb(r + %s::bigint)) ELSE b::jsonb END "
    f"FROM unnest({TEXTS}, {TEXTS}, %s::timestamptz[], {TEXTS}, %s::bigint[]) "
    "WITH ORDINALITY AS v(a, t, w, b, r, ord) ORDER BY ord"
)


class _Events:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def append(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        if len(events) == 1:
            (e,) = events
            self._uow.run(
                "INSERT INTO events (aggregate_id, type, at, body) VALUES (%s, %s, %s, %s)",
                (e.aggregate_id, e.name, e.at, Jsonb(_codec.encoder(type(e))(e))),
            )
            return
        # a batch (a sweep's): four arrays, one statement whose text never changes (psycopg
        # parses it once), the bodies as JSON text
        encoders: dict[type[DomainEvent], Callable[[Any], Any]] = {}
        bodies = []
        for e in events:
            encode = encoders.get(type(e))
            if encode is None:
                encode = encoders[type(e)] = _codec.encoder(type(e))
            bodies.append(_json_text(encode(e)))
        # sent with the COMMIT when it is the batch's last statement (a sweep's, under the
        # journal head): one round trip less while the head is held
        self._uow._run_with_commit(
            "INSERT INTO events (aggregate_id, type, at, body) SELECT a, t, w, b::jsonb "
            f"FROM unnest({TEXTS}, {TEXTS}, %s::timestamptz[], {TEXTS}) "
            "WITH ORDINALITY AS v(a, t, w, b, ord) ORDER BY ord",
            (
                *texts([e.aggregate_id for e in events]),
                *texts([e.name for e in events]),
                stamps([e.at for e in events]),
                *texts(bodies),
            ),
        )

    def append_posting(self, events: Sequence[DomainEvent]) -> None:
        """Append ``events``, whose ``seq`` fields are positions (from 1; 0 for none) among the
        journal transactions the next ``ledger.post_many`` of the unit of work posts: they are
        encoded now, before the journal head is locked, and written after that append with
        the sequence numbers it gave (the server adds them up), with the ``COMMIT``. Under
        the head that leaves one number to send, not the events to build and encode."""
        if not events:
            return
        encoders: dict[type[DomainEvent], Callable[[Any], Any]] = {}
        bodies = []
        positions = []
        for e in events:
            encode = encoders.get(type(e))
            if encode is None:
                encode = encoders[type(e)] = _codec.encoder(type(e))
            bodies.append(_json_text(encode(e)))
            positions.append(getattr(e, "seq", 0))
        params = (
            *texts([e.aggregate_id for e in events]),
            *texts([e.name for e in events]),
            stamps([e.at for e in events]),
            *texts(bodies),
            ints(positions),
        )

        def write(base: int) -> None:
            self._uow._run_with_commit(_POSTING_EVENTS_SQL, (base, *params))

        self._uow.ledger.after_post_many(write)

    def history(self, aggregate_id: str) -> tuple[DomainEvent, ...]:
        rows = self._uow.fetchall(
            "SELECT type, body FROM events WHERE aggregate_id = %s ORDER BY seq", (aggregate_id,)
        )
        return tuple(_codec.decoder(event_type(name))(body) for name, body in rows)


class _Outbox:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _state(m: OutboxMessage) -> str:
        if m.delivered_at is not None:
            return "delivered"
        return "failed" if m.failed else "pending"

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        if len(messages) == 1:
            (m,) = messages
            self._uow.run(
                "INSERT INTO outbox (message_id, state, next_attempt_at, body) "
                "VALUES (%s, %s, %s, %s)",
                (m.message_id, self._state(m), m.next_attempt_at, Jsonb(_enc_outbox(m))),
            )
            return
        # a batch (a sweep's): arrays, one statement whose text never changes (see _Events)
        self._uow.run(
            "INSERT INTO outbox (message_id, state, next_attempt_at, body) "
            f"SELECT i, s, n, b::jsonb FROM unnest({TEXTS}, {TEXTS}, %s::timestamptz[], "
            f"{TEXTS}) WITH ORDINALITY AS v(i, s, n, b, ord) ORDER BY ord",
            (
                *texts([m.message_id for m in messages]),
                *texts([self._state(m) for m in messages]),
                stamps([m.next_attempt_at for m in messages]),
                *texts([_json_text(_enc_outbox(m)) for m in messages]),
            ),
        )

    def due(self, now: _dt.datetime, limit: int) -> tuple[OutboxMessage, ...]:
        # SKIP LOCKED: a relay never waits for, nor leases, messages another relay holds
        rows = self._uow.fetchall(
            "SELECT body, message_id FROM outbox WHERE state = 'pending' "
            "AND next_attempt_at <= %s ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, limit),
        )
        return due_messages(rows, _dec_outbox_row, _row_id, self._set_aside)

    def _set_aside(self, message_ids: list[str]) -> None:
        """Rows that no longer decode (edited by hand) are kept as failed, for staff."""
        self._uow.run(
            "UPDATE outbox SET state = 'failed' WHERE message_id = ANY(%s)", (message_ids,)
        )

    def update(self, message: OutboxMessage) -> None:
        # a delivered row keeps its delivery instant in next_attempt_at (purged by it)
        self._uow.run(
            "UPDATE outbox SET state = %s, next_attempt_at = %s, body = %s WHERE message_id = %s",
            (
                self._state(message),
                message.delivered_at or message.next_attempt_at,
                Jsonb(_enc_outbox(message)),
                message.message_id,
            ),
        )

    def all(self) -> tuple[OutboxMessage, ...]:
        rows = self._uow.fetchall("SELECT body, message_id FROM outbox ORDER BY seq")
        return tuple(outbox_message(_dec_outbox_row, r[1], r) for r in rows)

    def purge_delivered(self, before: _dt.datetime, limit: int) -> int:
        return self._uow.run(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state = 'delivered' "
            "AND next_attempt_at < %s ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)",
            (before, limit),
        )


#: JSON text as psycopg's ``Jsonb`` writes it (compact), for bodies sent in text arrays.
_json_text = json.JSONEncoder(separators=(",", ":")).encode


def _search_path_option(schema: str) -> str:
    """``schema`` as the value of a libpq ``-c search_path=`` option: a name that is not a
    plain lower-case identifier is double-quoted (a comma or an upper-case letter would
    otherwise read as another schema or be folded), and a space or a backslash is escaped
    with a backslash (libpq splits ``options`` at unescaped spaces)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_$]*", schema):
        schema = '"' + schema.replace('"', '""') + '"'
    return schema.replace("\\", "\\\\").replace(" ", "\\ ")


def _record_body(record: IdempotencyRecord) -> dict[str, Any]:
    """An idempotency record as JSON (R35): the fingerprint of the arguments in hex; the
    result (by reference) or the refusal only when there is one; the canonical argument texts
    of a record written before fingerprints. Both shapes read back."""
    body: dict[str, Any] = {"command": record.command, "at": record.at.isoformat()}
    if record.request:
        body["request"] = record.request.hex()
    if record.arguments:
        body["arguments"] = dict(record.arguments)
    if record.result is not None:
        body["result"] = _codec.dump_any(record.result)
    if record.error is not None:
        body["error"] = record.error
    return body


_read_record = readable(idempotency_record, "idempotency record")


class _Idempotency:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        # R35: concurrent commands with one key queue here; the first one's outcome is
        # committed (or rolled back) before the next one looks.
        self._uow.run(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{scope}\x1f{key}",)
        )
        row = self._uow.fetchone(
            "SELECT body FROM idempotency WHERE scope = %s AND key = %s", (scope, key)
        )
        if row is None:
            return None
        return _read_record(scope, key, row[0])  # a body edited so that it does not decode: R42

    def put(self, record: IdempotencyRecord) -> None:
        body = _record_body(record)
        self._uow.run(
            "INSERT INTO idempotency (scope, key, command, at, body) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (scope, key) DO UPDATE SET command = excluded.command, "
            "at = excluded.at, body = excluded.body",
            (record.scope, record.key, record.command, record.at, Jsonb(body)),
        )

    def purge(self, before: _dt.datetime, limit: int) -> int:
        return self._uow.run(
            "DELETE FROM idempotency WHERE (scope, key) IN (SELECT scope, key FROM idempotency "
            "WHERE at < %s ORDER BY at LIMIT %s FOR UPDATE SKIP LOCKED)",
            (before, limit),
        )


class _Timers:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def schedule(self, timer: Timer) -> None:
        self._uow.run(
            "INSERT INTO timers (timer_id, kind, due_at, body) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (timer_id) DO UPDATE SET kind = excluded.kind, "
            "due_at = excluded.due_at, body = excluded.body",
            (timer.timer_id, timer.kind, timer.due_at, Jsonb(_enc_timer(timer))),
        )

    def cancel(self, timer_id: str) -> None:
        self._uow.run("DELETE FROM timers WHERE timer_id = %s", (timer_id,))

    def claim_due(self, now: _dt.datetime, limit: int) -> tuple[Timer, ...]:
        # SKIP LOCKED: timers another sweep holds are left to it; the delete commits (or rolls
        # back, when the worker dies) with the unit of work (R40). Release timers of vendors
        # another sweep is releasing to now are taken last: that sweep holds the vendor's lock
        # to its commit, and this batch would only put them back (concurrent sweeps take
        # disjoint vendors; the vendors of the claimed releases are tried at once, so that
        # the next claim sees them held). The batch is still filled with held vendors' timers
        # when nothing else is due.
        rows = self._uow.fetchall(
            f"WITH held AS MATERIALIZED ({HELD_VENDORS_SQL}), "
            "c AS (DELETE FROM timers WHERE timer_id IN (SELECT t.timer_id FROM timers t, held "
            f"WHERE t.due_at <= %s AND NOT {HELD_VENDOR_TIMER_SQL} "
            "ORDER BY t.due_at, t.timer_id LIMIT %s FOR UPDATE OF t SKIP LOCKED) "
            "RETURNING timer_id, kind, body) "
            f"SELECT c.body, {CLAIMED_VENDOR_LOCK_SQL}, c.timer_id, c.kind FROM c",
            (now, limit),
        )
        if len(rows) < limit:
            rows += self._uow.fetchall(
                "DELETE FROM timers WHERE timer_id IN (SELECT timer_id FROM timers "
                "WHERE due_at <= %s ORDER BY due_at, timer_id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING body, NULL, timer_id, kind",
                (now, limit - len(rows)),
            )

        def set_aside(bad: list[Any]) -> None:  # rows that no longer decode: put back as is
            for r in bad:
                self._uow.run(
                    "INSERT INTO timers (timer_id, kind, due_at, body) VALUES (%s, %s, %s, %s)",
                    (r[2], r[3], now + TIMER_SET_ASIDE, Jsonb(r[0])),
                )

        # the vendor locks the claim took (their keys): held to the commit, as if taken by
        # ``claim_vendors``, which then needs no round trip for them
        self._uow.ledger.adopt_vendor_locks([r[1] for r in rows if r[1] is not None])
        timers = claimed_timers(rows, _dec_timer_row, _timer_id, set_aside)
        timers.sort(key=lambda t: (t.due_at, t.timer_id))
        return tuple(timers)

    def set_aside(self, timer: Timer, due_at: _dt.datetime) -> bool:
        # SKIP LOCKED: a timer another sweep holds (claimed, so about to run or be set aside
        # by that sweep) or a command is changing is left to it, never waited for
        rows = self._uow.fetchall(
            "SELECT body FROM timers WHERE timer_id = %s FOR UPDATE SKIP LOCKED",
            (timer.timer_id,),
        )
        row = rows[0] if rows else None
        return set_aside_if_claimed(row, _dec_timer_row, timer, due_at, self.schedule)


class _Conversations:
    """Conversations (R26, R28): one small versioned row each (R36), one row per message."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _row(c: Conversation) -> tuple[Any, ...]:
        return (
            c.version,
            c.vendor_id,
            c.buyer_id,
            c.order_id,
            c.last_activity_at,
            c.first_awaited_at,
            Jsonb(_enc_conversation(c)),
            c.conversation_id,
        )

    def _many(self, where: str, params: Sequence[Any]) -> tuple[Conversation, ...]:
        rows = self._uow.fetchall(f"SELECT body FROM conversations WHERE {where}", params)
        return tuple(_dec_conversation(r[0]) for r in rows)

    def get(self, conversation_id: str) -> Conversation:
        found = self._many("conversation_id = %s", (conversation_id,))
        if not found:
            raise NotFoundError(
                f"no conversation {conversation_id!r}", conversation_id=conversation_id
            )
        return found[0]

    def add(self, conversation: Conversation) -> None:
        inserted = self._uow.run(
            "INSERT INTO conversations (version, vendor_id, buyer_id, order_id, "
            "last_activity_at, first_awaited_at, body, conversation_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            self._row(conversation),
        )
        if inserted != 1:
            raise ConcurrencyConflictError(
                f"conversation {conversation.conversation_id} already exists",
                conversation_id=conversation.conversation_id,
            )

    def save(self, conversation: Conversation) -> None:
        changed = self._uow.run(
            "UPDATE conversations SET version = %s, vendor_id = %s, buyer_id = %s, "
            "order_id = %s, last_activity_at = %s, first_awaited_at = %s, body = %s "
            "WHERE conversation_id = %s AND version = %s",
            (*self._row(conversation), conversation.version - 1),
        )
        if changed != 1:
            raise ConcurrencyConflictError(
                f"conversation {conversation.conversation_id} changed since it was read; "
                "reload it and retry",
                conversation_id=conversation.conversation_id,
            )

    def find(self, vendor_id: str, buyer_id: str, order_id: str | None) -> Conversation | None:
        found = self._many(
            "vendor_id = %s AND buyer_id = %s AND coalesce(order_id, '') = %s",
            (vendor_id, buyer_id, order_id or ""),
        )
        return found[0] if found else None

    def add_message(self, message: Message) -> None:
        inserted = self._uow.run(
            "INSERT INTO conversation_messages (conversation_id, seq, message_id, at, body) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                message.conversation_id,
                message.seq,
                message.message_id,
                message.at,
                Jsonb(_enc_message(message)),
            ),
        )
        if inserted != 1:
            raise ConcurrencyConflictError(
                f"message {message.seq} of conversation {message.conversation_id} exists",
                conversation_id=message.conversation_id,
            )

    def messages(self, conversation_id: str, *, after_seq: int, limit: int) -> tuple[Message, ...]:
        rows = self._uow.fetchall(
            "SELECT body FROM conversation_messages WHERE conversation_id = %s AND seq > %s "
            "ORDER BY seq LIMIT %s",
            (conversation_id, after_seq, limit),
        )
        return tuple(_dec_message(r[0]) for r in rows)

    def _page(
        self, column: str, party: str, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        if before is None:
            return self._many(
                f"{column} = %s ORDER BY last_activity_at DESC, conversation_id DESC LIMIT %s",
                (party, limit),
            )
        return self._many(
            f"{column} = %s AND (last_activity_at, conversation_id) < (%s, %s) "
            "ORDER BY last_activity_at DESC, conversation_id DESC LIMIT %s",
            (party, before[0], before[1], limit),
        )

    def for_vendor(
        self, vendor_id: str, *, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        return self._page("vendor_id", vendor_id, limit, before)

    def for_buyer(
        self, buyer_id: str, *, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        return self._page("buyer_id", buyer_id, limit, before)

    def awaited_between(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> tuple[Conversation, ...]:
        return self._many(
            "vendor_id = %s AND first_awaited_at >= %s AND first_awaited_at < %s "
            "ORDER BY first_awaited_at, conversation_id",
            (vendor_id, since, until),
        )
