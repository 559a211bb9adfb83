"""SQLite (stdlib) storage: the embedded default (R33, R35, R36).

* One connection per thread, in autocommit mode; each unit of work is ``BEGIN IMMEDIATE`` ...
  ``COMMIT``. ``IMMEDIATE`` takes the write lock up front: with Python's default deferred
  transactions two writers could both pass a read-then-write check. Writers queue for it
  fairly (:mod:`asolora_core.adapters.sqlite_gate`).
* Queries run in :meth:`SqliteStore.reader`: ``BEGIN DEFERRED``, a WAL snapshot that never
  waits behind a writer and never blocks one.
* WAL journal, ``synchronous=NORMAL`` by default (durable across a crash of the process; a
  power cut may lose the last commits), or ``FULL`` with ``durable=True``.
* The schema migrates itself by version (``PRAGMA user_version``), in one transaction per step.
* Aggregates are JSON documents with a version column and the columns queries need; saving
  is ``UPDATE ... WHERE version = ?``, so a stale writer changes nothing (R36).
* Pass ``connection=`` to run on a connection you own: a unit of work then joins your open
  transaction as a ``SAVEPOINT`` and leaves the commit to you.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, cast

from asolora_core import _codec
from asolora_core.actors import Actor, ActorKind
from asolora_core.adapters.connections import ClosedWithThread, renew_in_forked_children
from asolora_core.adapters.records import (
    TIMER_SET_ASIDE,
    claimed_timers,
    due_messages,
    idempotency_record,
    outbox_message,
    set_aside_if_claimed,
)
from asolora_core.adapters.sqlite_base import dumps_compact, instant, loads_json, micros
from asolora_core.adapters.sqlite_gate import WriteGate
from asolora_core.adapters.sqlite_ledger import (
    HOLDS_CHECK_MIGRATION,
    LEDGER_INVARIANTS_MIGRATION,
    LEDGER_KINDS_MIGRATION,
    LEDGER_MIGRATION,
    LEDGER_TOTALS_MIGRATION,
    SqliteLedger,
)
from asolora_core.adapters.sqlite_orders import (
    ORDER_FACTS_MIGRATION,
    backfill_order_facts,
    fact_columns,
    order_page,
    performance_totals,
)
from asolora_core.adapters.sqlite_reports import REPORTS_MIGRATION, SqliteReports
from asolora_core.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    StoreBusyError,
    StoreMisconfiguredError,
    _unknown_order,
)
from asolora_core.events import DomainEvent, Notification, event_type
from asolora_core.ledger.integrity import readable
from asolora_core.messaging.conversations import Conversation, Message
from asolora_core.orders.listing import OrderKey, OrderQuery
from asolora_core.orders.model import Order
from asolora_core.ports import IdempotencyRecord, OutboxMessage, StaleRead, Timer
from asolora_core.reports.performance import PerformanceTotals

__all__ = ["MIGRATIONS", "SqliteBusyError", "SqliteMisconfiguredError", "SqliteStore", "micros"]


class SqliteBusyError(StoreBusyError, sqlite3.OperationalError):
    """The database stayed locked by another writer past ``busy_timeout_ms``: the library's
    :class:`~asolora_core.errors.StoreBusyError` (code ``store_busy``), still an
    ``sqlite3.OperationalError`` for code written when that was what surfaced."""


class SqliteMisconfiguredError(StoreMisconfiguredError, sqlite3.DatabaseError):
    """The store's file cannot be used as given: its folder does not exist or cannot be
    written (``fields["reason"]`` ``path``), the file or its folder is read-only
    (``read_only``), or the file is not an SQLite database (``not_a_database``). The
    library's :class:`~asolora_core.errors.StoreMisconfiguredError` (code
    ``store_misconfigured``, not retryable), still an ``sqlite3.DatabaseError``; the
    original error is its ``__cause__``. Nothing was written."""


def _misconfigured(exc: Exception, path: str) -> SqliteMisconfiguredError | None:
    """``exc``, raised while opening the file at ``path``, as a
    :class:`SqliteMisconfiguredError` if it is one of a path that cannot be used, else
    None."""
    text = str(exc).lower()
    folder = os.path.dirname(os.path.abspath(path))
    if isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text:
        reason, fix = "read_only", "make the file and its folder writable, or name another"
    elif isinstance(exc, OSError) or "unable to open" in text:
        reason = "path"
        fix = (
            f"create the folder {folder!r} first, or name a file in an existing folder"
            if not os.path.isdir(folder)
            else "name a file (not a folder) in a folder you may write to"
        )
    elif "not a database" in text:
        reason, fix = "not_a_database", "name an SQLite database file, or a new file"
    else:
        return None
    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return SqliteMisconfiguredError(
        f"the SQLite database {path!r} cannot be opened ({cause}): {fix}; nothing was written",
        reason=reason,
        path=path,
    )


#: the message of :class:`SqliteBusyError` (it starts as SQLite's own did)
_BUSY = (
    "database is locked: other writers held it longer than busy_timeout_ms; nothing was "
    "written, send the command again"
)


def _busy(exc: sqlite3.OperationalError) -> SqliteBusyError | None:
    """``exc`` as a :class:`SqliteBusyError` if it is SQLite's SQLITE_BUSY ("database is
    locked"), else None."""
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    busy = "locked" in str(exc) if code is None else code & 0xFF == sqlite3.SQLITE_BUSY
    if busy:
        return SqliteBusyError(_BUSY)
    return None


def _execute_or_busy(conn: sqlite3.Connection, sql: str) -> None:
    """``conn.execute(sql)``, SQLITE_BUSY raised as :class:`SqliteBusyError`."""
    try:
        conn.execute(sql)
    except sqlite3.OperationalError as exc:
        busy = _busy(exc)
        if busy is None:
            raise
        raise busy from exc


#: Outbox rows as typed columns (smaller rows, and indexed by state): a pending row is in
#: ``outbox_due``, a delivered one in ``outbox_delivered`` (retention purges by it);
#: ``_compact_outbox`` moves old rows.
OUTBOX_COLUMNS_MIGRATION = """
DROP INDEX outbox_due;
ALTER TABLE outbox RENAME TO outbox_json;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    next_attempt_at INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    text TEXT NOT NULL,
    event_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    failed INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 0;
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE state = 1;
"""

#: Idempotency records as typed columns (smaller rows): the fingerprint as a BLOB, the result
#: (by reference) and the refusal as compact JSON, keyed by (scope, key) without a rowid. A
#: record written before keeps its whole JSON body in ``legacy`` (and is read from it).
IDEMPOTENCY_COLUMNS_MIGRATION = """
DROP INDEX idempotency_at;
ALTER TABLE idempotency RENAME TO idempotency_json;
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL,
    command TEXT NOT NULL,
    request BLOB NOT NULL,
    result TEXT,
    error TEXT,
    legacy TEXT,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
INSERT INTO idempotency (scope, key, at, command, request, legacy)
    SELECT scope, key, at, json_extract(body, '$.command'), X'', body FROM idempotency_json;
DROP TABLE idempotency_json;
CREATE INDEX idempotency_at ON idempotency (at);
"""

#: Compact rows, so that the database file grows less per order. The outbox keeps each
#: notification's kind and text once per shape
#: in ``outbox_texts`` (the subject id written as ``{subject}``; a text that already holds
#: ``{subject}`` stays whole in ``outbox.text``), and its instants only where they differ:
#: ``created_at`` NULL is ``next_attempt_at``, ``event_at`` NULL is ``created_at``
#: (``outbox_messages`` shows every message whole). Pending rows are found by a partial index
#: in ``seq`` order. The history is keyed by ``(aggregate_id, seq)`` without a rowid, ``seq``
#: counting each aggregate's events from 1 (no second index); timers are keyed by their id
#: without a rowid too. Bodies become positional
#: (``_codec.positional``): the step's hook (:func:`_compact_rows`) rewrites every row.
COMPACT_ROWS_MIGRATION = """
DROP INDEX outbox_due;
DROP INDEX outbox_delivered;
ALTER TABLE outbox RENAME TO outbox_columns;
CREATE TABLE outbox_texts (
    text_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    shape TEXT NOT NULL,
    UNIQUE (kind, shape)
);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    next_attempt_at INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    text_id INTEGER NOT NULL REFERENCES outbox_texts (text_id),
    text TEXT,
    created_at INTEGER,
    event_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    failed INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (state) WHERE state = 0;
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE state = 1;
CREATE VIEW outbox_messages AS
    SELECT o.seq, o.message_id, o.state, o.next_attempt_at, o.recipient, t.kind, o.subject_id,
        coalesce(o.text, replace(t.shape, '{subject}', o.subject_id)) AS text,
        coalesce(o.event_at, o.created_at, o.next_attempt_at) AS event_at,
        coalesce(o.created_at, o.next_attempt_at) AS created_at,
        o.attempts, o.delivered_at, o.failed, o.last_error
    FROM outbox AS o JOIN outbox_texts AS t USING (text_id);
DROP INDEX events_aggregate;
ALTER TABLE events RENAME TO events_rowid;
CREATE TABLE events (
    aggregate_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, seq)
) WITHOUT ROWID;
DROP INDEX timers_due;
ALTER TABLE timers RENAME TO timers_rowid;
CREATE TABLE timers (
    timer_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due_at, timer_id);
"""

#: One b-tree less per notification: ``outbox.message_id`` loses its UNIQUE index, which every
#: command's ``INSERT`` wrote a page of (the ids come from the marketplace's ``IdGenerator``:
#: random, unique by construction, with the default one; PostgreSQL keeps its UNIQUE
#: constraint). A message is updated through its ``seq``, read with it by ``due`` (the
#: store keeps it), else found among the pending rows by ``outbox_pending``, else by a scan
#: (an update of a message already delivered or failed, which the library never makes).
#: Every row is kept as it was, ``seq`` included.
OUTBOX_LEAN_MIGRATION = """
DROP VIEW outbox_messages;
DROP INDEX outbox_pending;
DROP INDEX outbox_delivered;
ALTER TABLE outbox RENAME TO outbox_unique;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    next_attempt_at INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    text_id INTEGER NOT NULL REFERENCES outbox_texts (text_id),
    text TEXT,
    created_at INTEGER,
    event_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    failed INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
INSERT INTO outbox SELECT * FROM outbox_unique ORDER BY seq;
DROP TABLE outbox_unique;
CREATE INDEX outbox_pending ON outbox (state) WHERE state = 0;
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE state = 1;
CREATE VIEW outbox_messages AS
    SELECT o.seq, o.message_id, o.state, o.next_attempt_at, o.recipient, t.kind, o.subject_id,
        coalesce(o.text, replace(t.shape, '{subject}', o.subject_id)) AS text,
        coalesce(o.event_at, o.created_at, o.next_attempt_at) AS event_at,
        coalesce(o.created_at, o.next_attempt_at) AS created_at,
        o.attempts, o.delivered_at, o.failed, o.last_error
    FROM outbox AS o JOIN outbox_texts AS t USING (text_id);
"""

#: Schema steps; step N brings the database to ``user_version`` N. Never edit a released step:
#: add one.
MIGRATIONS: list[str] = [
    # 1: orders, history, outbox, idempotency, timers
    """
    CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        checkout_id TEXT NOT NULL,
        vendor_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        customer_key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('processing', 'completed', 'cancelled')),
        currency TEXT NOT NULL,
        placed_at INTEGER NOT NULL,
        completed_at INTEGER,
        body TEXT NOT NULL
    );
    CREATE INDEX orders_checkout ON orders (checkout_id);
    CREATE INDEX orders_vendor ON orders (vendor_id, placed_at);
    CREATE INDEX orders_customer ON orders (vendor_id, customer_key, placed_at);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        aggregate_id TEXT NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX events_aggregate ON events (aggregate_id, seq);
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        next_attempt_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at, seq);
    CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE timers (
        timer_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX timers_due ON timers (due_at, timer_id);
    """,
    # 2: conversations (R26, R28): small versioned rows + one row per message
    """
    CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        vendor_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        order_id TEXT,
        last_activity_at INTEGER NOT NULL,
        first_awaited_at INTEGER,
        body TEXT NOT NULL
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
        conversation_id TEXT NOT NULL REFERENCES conversations (conversation_id),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        message_id TEXT NOT NULL UNIQUE,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    ) WITHOUT ROWID;
    """,
    # the money ledger (R15-R25, R41, R42): journal, entries, holds, payouts, vendors
    LEDGER_MIGRATION,
    # order lists and store performance (the vendor dashboard): per-order facts as columns
    ORDER_FACTS_MIGRATION,
    # the reports' rollups (R30-R33): sales, products and balance movements per vendor and day
    REPORTS_MIGRATION,
    # retention (R29, R35): idempotency records by age (backfilled from the body); delivered
    # outbox rows keep their delivery instant in next_attempt_at, so both purge by index
    """
    ALTER TABLE idempotency ADD COLUMN at INTEGER NOT NULL DEFAULT 0;
    UPDATE idempotency SET at = CAST(
        (julianday(json_extract(body, '$.at')) - 2440587.5) * 86400000000 AS INTEGER);
    CREATE INDEX idempotency_at ON idempotency (at);
    """,
    # the endings' journal kinds: won chargebacks, adjustments, rolling reserve (R39, R41)
    LEDGER_KINDS_MIGRATION,
    # running per-account totals, filled from the journal: balances in O(1) (R22, R23)
    LEDGER_TOTALS_MIGRATION,
    # what the database itself refuses, as far as SQLite allows (R17, R20, R24, R42)
    LEDGER_INVARIANTS_MIGRATION,
    # compact outbox rows (R29): typed columns instead of a JSON body (see _compact_outbox)
    OUTBOX_COLUMNS_MIGRATION,
    # compact idempotency records (R35): typed columns, no rowid
    IDEMPOTENCY_COLUMNS_MIGRATION,
    # compact rows: shared outbox texts, history without a rowid, positional bodies
    COMPACT_ROWS_MIGRATION,
    # 13: a hold's refunds within its paid amount as a CHECK constraint, not two triggers
    # (no trigger program on each write of a hold)
    HOLDS_CHECK_MIGRATION,
    # 14: outbox rows without the message id's UNIQUE index (one page less per notification)
    OUTBOX_LEAN_MIGRATION,
]


#: Python work a schema step needs, run right after its SQL in the same transaction.
def _compact_outbox(conn: sqlite3.Connection) -> None:
    """Move every outbox row from its JSON body to the typed columns, keeping its ``seq``
    (delivery order) and every field exactly, then drop the old table."""
    rows = conn.execute("SELECT seq, body FROM outbox_json ORDER BY seq")
    while batch := rows.fetchmany(1000):
        conn.executemany(
            _INSERT_OUTBOX_V10,
            [(seq, *_outbox_columns_v10(_dec_outbox(json.loads(body)))) for seq, body in batch],
        )
    conn.execute("DROP TABLE outbox_json")


def _compact_rows(conn: sqlite3.Connection) -> None:
    """Schema step 12's data: every outbox row into the shared-text form (same ``seq``, every
    field exact), every history row into the new table (``seq`` renumbered per aggregate in
    the old order) and every order, event and timer body into the positional form."""
    texts = _TextIds(conn)
    rows = conn.execute(f"{_SELECT_OUTBOX_V10} ORDER BY seq")
    while batch := rows.fetchmany(1000):
        conn.executemany(
            _INSERT_OUTBOX_WITH_SEQ,
            [(r[0], *_outbox_columns(_outbox_message_v10(r[1:]), texts)) for r in batch],
        )
    conn.execute("DROP TABLE outbox_columns")
    rows = conn.execute(
        "SELECT aggregate_id, type, at, body FROM events_rowid ORDER BY aggregate_id, seq"
    )
    last, n = None, 0
    while batch := rows.fetchmany(1000):
        out = []
        for aggregate_id, name, at, body in batch:
            n = n + 1 if aggregate_id == last else 1
            last = aggregate_id
            event = _event(name, aggregate_id, at, body)
            out.append((aggregate_id, n, name, at, _event_body(event)))
        conn.executemany(
            "INSERT INTO events (aggregate_id, seq, type, at, body) VALUES (?, ?, ?, ?, ?)", out
        )
    conn.execute("DROP TABLE events_rowid")
    after = -1  # orders in rowid batches: no statement reads the table it rewrites
    while orders := conn.execute(
        "SELECT rowid, order_id, version, body FROM orders WHERE rowid > ? ORDER BY rowid "
        "LIMIT 1000",
        (after,),
    ).fetchall():
        conn.executemany(
            "UPDATE orders SET body = ? WHERE rowid = ?",
            [(_dumps(_order_form.encode(_order(i, v, json.loads(b)))), r) for r, i, v, b in orders],
        )
        after = orders[-1][0]
    rows = conn.execute("SELECT timer_id, kind, due_at, body FROM timers_rowid")
    while batch := rows.fetchmany(1000):
        conn.executemany(
            "INSERT INTO timers (timer_id, kind, due_at, body) VALUES (?, ?, ?, ?)",
            [(*r[:3], _dumps(_timer_form.encode(_timer(*r)))) for r in batch],
        )
    conn.execute("DROP TABLE timers_rowid")


_MIGRATION_HOOKS: dict[str, Callable[[sqlite3.Connection], None]] = {
    ORDER_FACTS_MIGRATION: backfill_order_facts,
    OUTBOX_COLUMNS_MIGRATION: _compact_outbox,
    COMPACT_ROWS_MIGRATION: _compact_rows,
}

#: an order's body: every field but the id and version (its row's columns), positional
_order_form = _codec.positional(Order, frozenset({"order_id", "version"}))
_dec_order = _codec.decoder(Order)
_enc_outbox = _codec.encoder(OutboxMessage)
_dec_outbox = _codec.decoder(OutboxMessage)
_dec_timer = _codec.decoder(Timer)
#: a timer's body: what its columns do not hold (positional)
_timer_form = _codec.positional(Timer, frozenset({"timer_id", "kind", "due_at"}))
_enc_conversation = _codec.encoder(Conversation)
_dec_conversation = _codec.decoder(Conversation)
_enc_message = _codec.encoder(Message)
_dec_message = _codec.decoder(Message)


#: Orders whose positional data a store keeps for ``encode_from`` (the recently used ones).
_ENCODED_KEPT = 1_000

#: What an event's row columns hold, left out of its body.
_EVENT_COLUMNS = frozenset({"aggregate_id", "at"})


#: event class -> its positional form without :data:`_EVENT_COLUMNS`
_event_forms: dict[type[DomainEvent], _codec.Positional] = {}


def _event_body(event: DomainEvent) -> str:
    form = _event_forms.get(type(event))
    if form is None:
        form = _event_forms[type(event)] = _codec.positional(type(event), _EVENT_COLUMNS)
    return _dumps(form.encode(event))


def _event(name: str, aggregate_id: str, at: int, body: str) -> DomainEvent:
    """The event of a history row: a positional body (schema step 12), or a JSON object
    written before it (whole, or without the columns' fields)."""
    cls = event_type(name)
    data = json.loads(body)
    if isinstance(data, list):
        event: DomainEvent = _codec.positional(cls, _EVENT_COLUMNS).decode(
            data, aggregate_id=aggregate_id, at=instant(at)
        )
        return event
    if "aggregate_id" not in data:
        data["aggregate_id"] = aggregate_id
    if "at" not in data:
        data["at"] = instant(at).isoformat()
    return _codec.decoder(cls)(data)  # type: ignore[no-any-return]


def _order(order_id: str, version: int, data: Any) -> Order:
    """An order from its row: a positional body (schema step 12) or a JSON object."""
    if isinstance(data, list):
        order: Order = _order_form.decode(data, order_id=order_id, version=version)
        return order
    return _dec_order(data)  # type: ignore[no-any-return]


_order_json = readable(json.loads, "order")
_read_order = readable(_order, "order")


def _timer(timer_id: str, kind: str, due_at: int, body: str) -> Timer:
    data = loads_json(body)  # (a sweep claims a batch of timers: the C scanner at once)
    if isinstance(data, list):
        timer: Timer = _timer_form.decode(
            data, timer_id=timer_id, kind=kind, due_at=instant(due_at)
        )
        return timer
    return _dec_timer(data)  # type: ignore[no-any-return]


def _timer_row(row: Sequence[Any]) -> Timer:
    return _timer(*row)


def _first(row: Sequence[Any]) -> str:
    return str(row[0])


#: ``json.dumps(data, separators=(",", ":"))`` without building an encoder per call.
_dumps: Callable[[Any], str] = dumps_compact


class SqliteStore:
    """A store in one SQLite file (or ``":memory:"`` for a private, single-connection one).

    ``fair_writers`` (default True) queues writers fairly (FIFO within the process, a polled
    file lock ``<path>-writer`` across processes); ``on_write_wait`` is
    called with the seconds each writer waited for the write lock.

    >>> store = SqliteStore(":memory:")
    >>> store.schema_version() == len(MIGRATIONS)
    True
    """

    #: Errors of the store itself, not of a timer: ``run_due`` raises them (the batch rolled
    #: back) instead of setting a timer aside.
    transient_errors: tuple[type[Exception], ...] = (StoreBusyError,)

    def __init__(
        self,
        path: str | os.PathLike[str] = "asolora.db",
        *,
        durable: bool = False,
        busy_timeout_ms: int = 30_000,
        connection: sqlite3.Connection | None = None,
        on_write_wait: Callable[[float], None] | None = None,
        fair_writers: bool = True,
    ) -> None:
        self.path = str(path)
        #: Called with the seconds each writer waited for the write lock (for metrics).
        self.on_write_wait = on_write_wait
        self._durable = durable
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._shared = connection
        self._cache: dict[str, tuple[int, str, Order]] = {}
        #: order id -> the order this store last committed and its row as written (without
        #: the order id): what a command's unit of work (:meth:`command_unit_of_work`) serves
        #: without reading it, checked when it writes
        self._rows: dict[str, tuple[Order, tuple[Any, ...]]] = {}
        #: order id -> an order and its positional data, for ``encode_from`` (recent ones)
        self._encoded: dict[str, tuple[Order, list[Any]]] = {}
        #: (kind, shape) -> id in ``outbox_texts``, of committed rows (see ``_TextIds``)
        self._text_ids: dict[tuple[str, str], int] = {}
        #: message id -> ``seq`` of outbox rows ``due`` read (a row keeps its ``seq``; an
        #: update checks the message id too, so an entry of a row rolled back is harmless)
        self._outbox_seq: dict[str, int] = {}
        self._cache_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.RLock()
        renew_in_forked_children(self)
        if self.path == ":memory:" and connection is None:
            self._shared = self._connect()
        # One connection shared by every thread holds one transaction at a time: without this
        # lock a second thread's unit of work would nest as a SAVEPOINT inside the first's
        # and commit or roll back with it.
        self._shared_lock = threading.RLock()
        self._gate: WriteGate | None = None
        try:
            if fair_writers:
                self._gate = WriteGate(
                    None if self.path == ":memory:" or connection is not None else self.path,
                    busy_timeout_ms / 1000,
                )
            self.migrate()
        except (OSError, sqlite3.DatabaseError) as exc:
            self.close()
            if isinstance(exc, StoreBusyError):
                raise
            refused = _misconfigured(exc, self.path)
            if refused is None:
                raise
            raise refused from exc

    # connections ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        if self.path != ":memory:":
            _set_wal(conn, self._busy_timeout_ms)
        conn.execute(f"PRAGMA synchronous = {'FULL' if self._durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection."""
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            # closed when this thread ends (see ClosedWithThread)
            self._local.closer = ClosedWithThread(conn, self._all, self._all_lock)
        return conn

    def _forget_inherited(self) -> list[Any]:
        """In a forked child: start afresh, without the parent's connections and locks (a
        lock another thread held at the fork would stay held); returns what was dropped."""
        dropped = [self._local, self._all]
        self._local = threading.local()
        self._all = []
        self._all_lock = threading.RLock()
        self._cache_lock = threading.Lock()
        self._shared_lock = threading.RLock()
        return dropped

    def close(self) -> None:
        with self._all_lock:
            conns = list(self._all)
            self._all.clear()
        for conn in conns:
            conn.close()
        self._local = threading.local()
        if self._gate is not None:
            self._gate.close()

    # schema ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        row = self.connection().execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def migrate(self) -> int:
        """Bring the schema up to date, one transaction per step (safe from many processes:
        ``BEGIN IMMEDIATE`` holds the write lock while a step runs). Each step applied is
        recorded in ``asolora_schema_version`` (and ``PRAGMA user_version``). Returns the
        schema version."""
        conn = self.connection()
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= len(MIGRATIONS):
            return len(MIGRATIONS)  # up to date: opening a store takes no write lock
        owns = not conn.in_transaction
        for target, script in enumerate(MIGRATIONS, start=1):
            if owns:
                _execute_or_busy(conn, "BEGIN IMMEDIATE")
            try:
                current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if current < target:
                    for statement in _statements(script):
                        conn.execute(statement)
                    hook = _MIGRATION_HOOKS.get(script)
                    if hook is not None:
                        hook(conn)
                    _record_version(conn, target)
                    conn.execute(f"PRAGMA user_version = {target}")
                if owns:
                    conn.execute("COMMIT")
            except BaseException:
                if owns:
                    conn.execute("ROLLBACK")
                raise
        return len(MIGRATIONS)

    def unit_of_work(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self)

    def command_unit_of_work(self) -> SqliteUnitOfWork:
        """A unit of work for one command of the facade (the kernel uses it when a command
        has no idempotency key): ``orders.get`` of an order this store committed last serves
        that order and row without a ``SELECT``; saving it updates the row only if it still
        has that version and body, and a read never saved is checked at commit, or when the
        command fails. If the row changed meanwhile it raises :class:`StaleRead` and
        everything the command did rolls back; the kernel runs it again on a plain unit of
        work. Anything else is as :meth:`unit_of_work`."""
        return SqliteUnitOfWork(self, optimistic=True)

    def reader(self) -> SqliteUnitOfWork:
        """A read transaction (``BEGIN DEFERRED``) for queries: in WAL mode it reads one
        snapshot, takes no write lock and never waits behind a writer."""
        return SqliteUnitOfWork(self, read_only=True)

    # the decoded-order cache: a decoded order is reused while its stored text is the same.
    # The version alone is not enough (R36): a version read from a transaction that rolled
    # back can be committed with other content by another connection or process.
    def _decode_order(self, order_id: str, version: int, body: str) -> Order:
        hit = self._cache.get(order_id)
        if hit is not None and hit[0] == version and hit[1] == body:
            return hit[2]
        data = _order_json(body)  # a body edited so that it does not decode: R42
        order = _read_order(order_id, version, data)
        with self._cache_lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[order_id] = (version, body, order)
        if isinstance(data, list):
            self._keep_encoded(order, data)
        return order

    def _encode_order(self, order: Order) -> str:
        """``order`` as stored: its positional JSON (schema step 12), re-encoding only the
        parts that are not the very same objects as in the last order of that id this store
        encoded or decoded (a pure function of the values: no database state is involved)."""
        hit = self._encoded.get(order.order_id)
        if hit is None:
            data: list[Any] = _order_form.encode(order)
        else:
            data = _order_form.encode_from(order, hit[0], hit[1])
        self._keep_encoded(order, data)
        return _dumps(data)

    def _keep_encoded(self, order: Order, data: list[Any]) -> None:
        # No lock: each entry is one consistent (order, data) pair, set in one step, and
        # ``encode_from`` is right from any such pair (a lost or older entry only costs a
        # fuller encode).
        encoded = self._encoded
        if len(encoded) > _ENCODED_KEPT:
            encoded.clear()
        encoded[order.order_id] = (order, data)

    def _keep_text_ids(self, new: dict[tuple[str, str], int]) -> None:
        if new:
            with self._cache_lock:
                if len(self._text_ids) > 10_000:
                    self._text_ids.clear()
                self._text_ids.update(new)

    def _remember(self, order: Order, row: tuple[Any, ...]) -> None:
        """After the commit of ``order`` as ``row`` (the order id last)."""
        with self._cache_lock:
            self._cache[order.order_id] = (order.version, row[9], order)
            rows = self._rows
            if len(rows) > 10_000:
                rows.clear()
            rows[order.order_id] = (order, row[:-1])

    def _forget(self, order_ids: Iterable[str]) -> None:
        """Stop serving ``order_ids`` unread: they changed since this store committed them."""
        with self._cache_lock:
            for order_id in order_ids:
                self._rows.pop(order_id, None)


def _set_wal(conn: sqlite3.Connection, timeout_ms: int) -> None:
    """Switch to WAL, waiting up to ``timeout_ms`` for other connections.

    ``PRAGMA journal_mode`` does not go through the busy handler: while another process is
    switching or creating a new file's schema it fails at once with "database is locked".
    Retried with a short backoff so that several processes can open a new file together.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                busy = _busy(exc)
                if busy is None:
                    raise
                raise busy from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _record_version(conn: sqlite3.Connection, version: int) -> None:
    """Record that the schema is at ``version`` (steps before it too: a database made before
    the table existed gets its earlier steps recorded with the first step applied after)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS asolora_schema_version (version INTEGER PRIMARY KEY, "
        "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    )
    conn.executemany(
        "INSERT OR IGNORE INTO asolora_schema_version (version) VALUES (?)",
        [(v,) for v in range(1, version + 1)],
    )


def _statements(script: str) -> list[str]:
    """The statements of a schema step; a trigger's ``BEGIN ... END`` body keeps its own
    semicolons (pieces are joined until SQLite says the statement is complete)."""
    out: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                out.append(buffer.strip().removesuffix(";").strip())
            buffer = ""
    if buffer.strip(" \n;"):
        out.append(buffer.strip().removesuffix(";").strip())
    return out


class _Execute(Protocol):
    def __call__(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor: ...


class SqliteUnitOfWork:
    """One SQLite transaction (see :class:`SqliteStore`)."""

    def __init__(
        self, store: SqliteStore, *, read_only: bool = False, optimistic: bool = False
    ) -> None:
        self.store = store
        #: orders may be served from what this store committed (see ``command_unit_of_work``)
        self.optimistic = optimistic
        self.conn = store.connection()
        #: the connection's own ``execute`` (no Python frame of ours around every statement)
        #: (positional arguments only, as every caller passes them)
        self.execute = cast(_Execute, self.conn.execute)
        self.read_only = read_only
        self._savepoint = False
        self._open = False
        self._gated = False
        self._lock: threading.RLock | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.orders = _Orders(self)
        self.events = _Events(self)
        self.outbox = _Outbox(self)

    # built on first use: most commands touch a few of these
    @functools.cached_property
    def idempotency(self) -> _Idempotency:
        return _Idempotency(self)

    @functools.cached_property
    def timers(self) -> _Timers:
        return _Timers(self)

    @functools.cached_property
    def conversations(self) -> _Conversations:
        return _Conversations(self)

    @functools.cached_property
    def ledger(self) -> SqliteLedger:
        return SqliteLedger(self)

    @functools.cached_property
    def reports(self) -> SqliteReports:
        return SqliteReports(self, self.store._decode_order)

    def __enter__(self) -> Self:
        if self.store._shared is not None:
            self._lock = self.store._shared_lock
            self._lock.acquire()
        try:
            if self.conn.in_transaction:
                self.conn.execute("SAVEPOINT asolora_uow")
                self._savepoint = True
            elif self.read_only:
                _execute_or_busy(self.conn, "BEGIN DEFERRED")
            else:
                self._begin_immediate()
        except BaseException:
            self._unlock()
            raise
        self._open = True
        return self

    def _begin_immediate(self) -> None:
        if self.store._shared is not None:  # the shared lock already orders this store's writers
            _execute_or_busy(self.conn, "BEGIN IMMEDIATE")
            return
        observe = self.store.on_write_wait
        started = 0.0 if observe is None else time.monotonic()
        gate = self.store._gate
        if gate is not None:
            try:
                gate.acquire()
            except TimeoutError as exc:
                raise SqliteBusyError(_BUSY) from exc
            self._gated = True
        _execute_or_busy(self.conn, "BEGIN IMMEDIATE")
        if observe is not None:
            observe(time.monotonic() - started)

    def _unlock(self) -> None:
        if self._gated and self.store._gate is not None:
            self._gated = False
            self.store._gate.release()
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._open:
            return
        if self.orders.assumed and exc is not None and not isinstance(exc, StaleRead):
            # The command failed on an order it did not read: if that order was stale, the
            # failure may be too (a refusal of a state the order has left): run it again.
            try:
                self.orders.check_assumed()
            except StaleRead as stale:
                self.rollback()
                raise stale from exc
            except sqlite3.Error:
                pass  # the transaction is gone with the error; the error stands
        self.rollback()

    def commit(self) -> None:
        if self.orders.assumed:
            self.orders.check_assumed()  # orders it served unread and did not save
        if self.events.pending:
            self.events.flush()
        if self._savepoint:
            self.conn.execute("RELEASE SAVEPOINT asolora_uow")
        else:
            self.conn.execute("COMMIT")
        self._open = False
        try:
            for fn in self._after_commit:
                fn()
            self._after_commit.clear()
        finally:
            self._unlock()

    def rollback(self) -> None:
        if not self._open:
            return
        self._open = False
        self._after_commit.clear()
        try:
            if self._savepoint:
                self.conn.execute("ROLLBACK TO SAVEPOINT asolora_uow")
                self.conn.execute("RELEASE SAVEPOINT asolora_uow")
            else:
                self.conn.execute("ROLLBACK")
        finally:
            self._unlock()

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)


#: The stored columns of an order row, in the order of ``_Orders._row`` (``order_id`` last).
_ORDER_COLUMNS = (
    "version",
    "checkout_id",
    "vendor_id",
    "buyer_id",
    "customer_key",
    "status",
    "currency",
    "placed_at",
    "completed_at",
    "body",
    "paid_minor",
    "refunded_minor",
    "needs_shipping",
    "awaiting_confirmation",
    "open_issue",
    "issues",
    "first_shipped_at",
    "delivered_at",
)
_ROW_POSITIONS = range(len(_ORDER_COLUMNS))
_SELECT_ROW = f"SELECT {', '.join(_ORDER_COLUMNS)} FROM orders WHERE order_id = ?"


@functools.lru_cache(maxsize=256)
def _update_changed(changed: tuple[int, ...], checked: bool = False) -> str:
    """``UPDATE`` of the columns at positions ``changed`` of a row at a known version (and,
    ``checked``, a known body)."""
    sets = ", ".join(f"{_ORDER_COLUMNS[i]} = ?" for i in changed)
    where = (
        "order_id = ? AND version = ? AND body = ?" if checked else "order_id = ? AND version = ?"
    )
    return f"UPDATE orders SET {sets} WHERE {where}"


class _Orders:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow
        #: order id -> the row as read in this transaction (under its write lock), or as
        #: this store committed it (then also in ``assumed``)
        self._read: dict[str, tuple[Any, ...]] = {}
        #: order id -> the row served unread (optimistic units of work), until a write or a
        #: read shows it is still the stored one
        self.assumed: dict[str, tuple[Any, ...]] = {}
        #: ids of the orders added in this transaction
        self._added: set[str] = set()

    def check_assumed(self) -> None:
        """Raise :class:`StaleRead` unless every order served unread is still as stored."""
        execute = self._uow.execute
        stale = [
            order_id
            for order_id, row in self.assumed.items()
            if execute(
                "SELECT 1 FROM orders WHERE order_id = ? AND version = ? AND body = ?",
                (order_id, row[0], row[9]),
            ).fetchone()
            is None
        ]
        self.assumed.clear()
        if stale:
            self._stale(stale)

    def _stale(self, order_ids: list[str]) -> None:
        self._uow.store._forget(order_ids)
        raise StaleRead(f"orders {order_ids} changed since this process committed them")

    def _row(self, order: Order) -> tuple[Any, ...]:
        return (
            order.version,
            order.checkout_id,
            order.vendor_id,
            order.buyer_id,
            order.customer_name.casefold(),
            order.status.value,
            order.currency,
            micros(order.placed_at),
            None if order.completed_at is None else micros(order.completed_at),
            self._uow.store._encode_order(order),
            *fact_columns(order),
            order.order_id,
        )

    def get(self, order_id: str) -> Order:
        uow = self._uow
        if uow.optimistic and order_id not in self._read and order_id not in self._added:
            hit = uow.store._rows.get(order_id)
            if hit is not None:
                self._read[order_id] = self.assumed[order_id] = hit[1]
                return hit[0]
        row = uow.execute(_SELECT_ROW, (order_id,)).fetchone()
        assumed = self.assumed.pop(order_id, None) if self.assumed else None
        if assumed is not None and (row is None or row[0] != assumed[0] or row[9] != assumed[9]):
            self._stale([order_id])
        if row is None:
            raise _unknown_order(order_id)
        if not uow.read_only:
            self._read[order_id] = row
        return uow.store._decode_order(order_id, row[0], row[9])

    def add(self, order: Order) -> None:
        row = self._row(order)
        try:
            self._uow.execute(
                "INSERT INTO orders (version, checkout_id, vendor_id, buyer_id, customer_key, "
                "status, currency, placed_at, completed_at, body, paid_minor, refunded_minor, "
                "needs_shipping, awaiting_confirmation, open_issue, issues, first_shipped_at, "
                "delivered_at, order_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyConflictError(
                f"order {order.order_id} already exists", order_id=order.order_id
            ) from exc
        self._added.add(order.order_id)
        self._uow.after_commit(lambda: self._uow.store._remember(order, row))

    def save(self, order: Order) -> None:
        row = self._row(order)
        read = self._read.get(order.order_id)
        if read is not None and read[0] == order.version - 1:
            # The row this transaction read (it holds the write lock, so the row is still
            # that): set only the columns that differ (the version and the body, and a status
            # or fact that changed), so SQLite leaves every other index alone.
            # (``row`` ends with the order id, which ``read`` does not hold: zip stops first)
            # A row served unread is written only if it still has the version and body this
            # store committed (then every column is as read: each save writes them all from
            # the order): else the command read a stale order and runs again.
            positions = zip(_ROW_POSITIONS, row, read, strict=False)
            changed = tuple([i for i, new, old in positions if new != old])
            params = [row[i] for i in changed]
            params += (order.order_id, order.version - 1)
            assumed = self.assumed.pop(order.order_id, None) if self.assumed else None
            if assumed is None:
                cur = self._uow.execute(_update_changed(changed), params)
            else:
                params.append(assumed[9])
                cur = self._uow.execute(_update_changed(changed, True), params)
                if cur.rowcount != 1:
                    self._stale([order.order_id])
            if cur.rowcount == 1:
                self._read[order.order_id] = row[:-1]
                self._uow.after_commit(lambda: self._uow.store._remember(order, row))
                return
        if order.order_id in self.assumed:
            self.check_assumed()  # a save not from the row served: the row must be as served
        # Set only what a command changes, so SQLite leaves the indexes on the fixed columns
        # alone; the fixed columns are checked in the WHERE instead. A save that changes one
        # of them (no command does) falls back to setting every column.
        version, status, currency, placed = row[0], row[5], row[6], row[7]
        cur = self._uow.execute(
            "UPDATE orders SET version = ?, status = ?, completed_at = ?, body = ?, "
            "paid_minor = ?, refunded_minor = ?, needs_shipping = ?, "
            "awaiting_confirmation = ?, open_issue = ?, issues = ?, first_shipped_at = ?, "
            "delivered_at = ? WHERE order_id = ? AND version = ? AND checkout_id = ? AND "
            "vendor_id = ? AND buyer_id = ? AND customer_key = ? AND currency = ? AND "
            "placed_at = ?",
            (version, status, *row[8:], order.version - 1, *row[1:5], currency, placed),
        )
        if cur.rowcount != 1:
            cur = self._uow.execute(
                "UPDATE orders SET version = ?, checkout_id = ?, vendor_id = ?, buyer_id = ?, "
                "customer_key = ?, status = ?, currency = ?, placed_at = ?, completed_at = ?, "
                "body = ?, paid_minor = ?, refunded_minor = ?, needs_shipping = ?, "
                "awaiting_confirmation = ?, open_issue = ?, issues = ?, first_shipped_at = ?, "
                "delivered_at = ? WHERE order_id = ? AND version = ?",
                (*row, order.version - 1),
            )
        if cur.rowcount != 1:
            raise ConcurrencyConflictError(
                f"order {order.order_id} changed since it was read; reload it and retry",
                order_id=order.order_id,
            )
        self._read.pop(order.order_id, None)
        self._uow.after_commit(lambda: self._uow.store._remember(order, row))

    def _many(self, where: str, params: Sequence[Any]) -> tuple[Order, ...]:
        rows = self._uow.execute(
            f"SELECT order_id, version, body FROM orders WHERE {where}", params
        ).fetchall()
        return tuple(self._uow.store._decode_order(r[0], r[1], r[2]) for r in rows)

    def for_checkout(self, checkout_id: str) -> tuple[Order, ...]:
        return self._many("checkout_id = ? ORDER BY rowid", (checkout_id,))

    def for_customer_name(self, vendor_id: str, customer_name: str) -> tuple[Order, ...]:
        return self._many(
            "vendor_id = ? AND customer_key = ? ORDER BY placed_at DESC, order_id DESC",
            (vendor_id, customer_name.strip().casefold()),
        )

    def page(self, query: OrderQuery, *, after: OrderKey | None, limit: int) -> tuple[Order, ...]:
        where, params = order_page(query, after, limit)
        return self._many(where, params)

    def performance_totals(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> PerformanceTotals:
        return performance_totals(self._uow, vendor_id, since, until)


#: Most events one INSERT writes (5 parameters each; SQLite allows 32766).
_EVENTS_PER_INSERT = 1000


#: ``INSERT`` of one event, given as (aggregate id, j, type, at, body): a plain row whose
#: ``seq`` is a scalar subquery (no row source for SQLite to read and materialize first)
_INSERT_EVENT = (
    "INSERT INTO events (aggregate_id, seq, type, at, body) VALUES (?1, "
    "coalesce((SELECT max(seq) FROM events WHERE aggregate_id = ?1), 0) + ?2, ?3, ?4, ?5)"
)


@functools.lru_cache(maxsize=64)
def _insert_events(n: int) -> str:
    """``INSERT`` of ``n`` events, given as (aggregate id, j, type, at, body): SQLite reads
    the rows (and each aggregate's last ``seq``) before it inserts any of them (one event:
    :data:`_INSERT_EVENT`, the common case)."""
    if n == 1:
        return _INSERT_EVENT
    rows = ",".join(["(?,?,?,?,?)"] * n)
    return (
        "INSERT INTO events (aggregate_id, seq, type, at, body) SELECT v.column1, "
        "coalesce((SELECT max(seq) FROM events WHERE aggregate_id = v.column1), 0) + v.column2, "
        f"v.column3, v.column4, v.column5 FROM (VALUES {rows}) AS v"
    )


class _Events:
    """The history. Appended events are encoded at once and written together when the unit
    of work commits (or before the history is read in it): one statement for all the events
    of a command, its reactions' events included (a sweep batch's too)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow
        #: the parameters of the events not written yet, 5 per event
        self.pending: list[Any] = []
        #: aggregate id -> its events among ``pending``
        self._seen: dict[str, int] = {}

    # The body leaves out what the row's columns hold (the aggregate and the instant) and
    # every field at its default (compact form); bodies written whole before read as they were.
    # Each row numbers its aggregate's events from 1: the j-th event of an aggregate here
    # comes j after its last stored one.
    def append(self, events: Sequence[DomainEvent]) -> None:
        seen, params = self._seen, self.pending
        for e in events:
            j = seen[e.aggregate_id] = seen.get(e.aggregate_id, 0) + 1
            params += (e.aggregate_id, j, e.name, micros(e.at), _event_body(e))

    def flush(self) -> None:
        """Write the pending events (one statement per 1000)."""
        params = self.pending
        self.pending, self._seen = [], {}
        if len(params) <= 5 * _EVENTS_PER_INSERT:  # a command's events: one statement
            self._uow.execute(_insert_events(len(params) // 5), params)
            return
        for start in range(0, len(params), 5 * _EVENTS_PER_INSERT):
            chunk = params[start : start + 5 * _EVENTS_PER_INSERT]
            self._uow.execute(_insert_events(len(chunk) // 5), chunk)

    def history(self, aggregate_id: str) -> tuple[DomainEvent, ...]:
        if self.pending:
            self.flush()
        rows = self._uow.execute(
            "SELECT type, at, body FROM events WHERE aggregate_id = ? ORDER BY seq",
            (aggregate_id,),
        ).fetchall()
        return tuple(_event(name, aggregate_id, at, body) for name, at, body in rows)


#: ``state``: what the due and purge queries select by.
_PENDING, _DELIVERED, _FAILED = 0, 1, 2


@functools.lru_cache(maxsize=4096)
def _recipient(key: str) -> Actor:
    kind, _, actor_id = key.partition(":")
    return Actor(ActorKind(kind), actor_id)


def _state(m: OutboxMessage) -> int:
    return _DELIVERED if m.delivered_at is not None else _FAILED if m.failed else _PENDING


# the outbox of schema steps 10 and 11 (step 12 reads it to move the rows over) ------------

_OUTBOX_COLUMNS_V10 = (
    "message_id, state, next_attempt_at, recipient, kind, subject_id, text, event_at, "
    "created_at, attempts, delivered_at, failed, last_error"
)
_INSERT_OUTBOX_V10 = (
    f"INSERT INTO outbox (seq, {_OUTBOX_COLUMNS_V10}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_SELECT_OUTBOX_V10 = (
    "SELECT seq, message_id, next_attempt_at, recipient, kind, subject_id, text, event_at, "
    "created_at, attempts, delivered_at, failed, last_error FROM outbox_columns"
)


def _outbox_columns_v10(m: OutboxMessage) -> tuple[Any, ...]:
    n = m.notification
    return (
        m.message_id,
        _state(m),
        micros(m.next_attempt_at),
        n.recipient.key,
        n.kind,
        n.subject_id,
        n.text,
        micros(n.event_at),
        micros(m.created_at),
        m.attempts,
        None if m.delivered_at is None else micros(m.delivered_at),
        int(m.failed),
        m.last_error,
    )


def _outbox_message_v10(row: Sequence[Any]) -> OutboxMessage:
    message_id, due, recipient, kind, subject_id, text, event_at, created_at = row[:8]
    attempts, delivered_at, failed, last_error = row[8:]
    return OutboxMessage(
        message_id=message_id,
        notification=Notification(
            recipient=_recipient(recipient),
            kind=kind,
            subject_id=subject_id,
            text=text,
            event_at=instant(event_at),
        ),
        created_at=instant(created_at),
        attempts=attempts,
        next_attempt_at=instant(due),
        delivered_at=None if delivered_at is None else instant(delivered_at),
        failed=bool(failed),
        last_error=last_error,
    )


# the outbox of schema step 12 --------------------------------------------------------------

#: Stands for the subject id in a shared text (``outbox_texts.shape``). No proper suffix of
#: it is a prefix of it, so every occurrence in a shape is one the subject id was made into.
_SUBJECT = "{subject}"

_OUTBOX_COLUMNS = (
    "message_id, state, next_attempt_at, recipient, subject_id, text_id, text, created_at, "
    "event_at, attempts, delivered_at, failed, last_error"
)
_OUTBOX_ROW = ",(?,?,?,?,?,?,?,?,?,?,?,?,?)"
_INSERT_OUTBOX = f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES {_OUTBOX_ROW[1:]}"
_INSERT_OUTBOX_WITH_SEQ = (
    f"INSERT INTO outbox (seq, {_OUTBOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
#: Most outbox rows one INSERT writes (13 parameters each; SQLite allows 32766).
_OUTBOX_ROWS_PER_INSERT = 500


def _shape(subject_id: str, text: str) -> tuple[str, str | None]:
    """``(shape, whole)``: the text with its subject id as :data:`_SUBJECT`, shared by every
    message of its kind, and None; or, for a text that already holds :data:`_SUBJECT`, an
    empty shape and the text whole."""
    if _SUBJECT in text:
        return "", text
    if subject_id and subject_id in text:
        return text.replace(subject_id, _SUBJECT), None
    return text, None


def _render(subject_id: str, shape: str, whole: str | None) -> str:
    if whole is not None:
        return whole
    return shape.replace(_SUBJECT, subject_id) if _SUBJECT in shape else shape


#: Most new texts one upsert writes (2 parameters each).
_TEXTS_PER_INSERT = 1000


class _TextIds:
    """The ``outbox_texts`` id of a (kind, shape): from the store's cache of committed ones,
    else upserted (one statement) and cached once the transaction commits (an id from a
    transaction that rolls back is never cached). Rows of ``outbox_texts`` are never
    deleted, so a cached id stays valid."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        known: dict[tuple[str, str], int] | None = None,
        on_first_new: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self._known = {} if known is None else known
        self.new: dict[tuple[str, str], int] = {}
        self._on_first_new = on_first_new

    def __call__(self, kind: str, shape: str) -> int:
        key = (kind, shape)
        found = self._known.get(key)
        if found is None:
            found = self.new.get(key)
        if found is None:
            self.fetch([key])
            found = self.new[key]
        return found

    def fetch(self, keys: Sequence[tuple[str, str]]) -> None:
        """Make sure every one of ``keys`` has its id: those not known yet are upserted
        together, one statement for them all (a sweep batch's notifications may bring a
        new shape each)."""
        known, new = self._known, self.new
        missing = list(dict.fromkeys(k for k in keys if k not in known and k not in new))
        if not missing:
            return
        if not new and self._on_first_new is not None:
            self._on_first_new()
        for start in range(0, len(missing), _TEXTS_PER_INSERT):
            chunk = missing[start : start + _TEXTS_PER_INSERT]
            rows = self._conn.execute(
                "INSERT INTO outbox_texts (kind, shape) VALUES "
                + ",".join(["(?,?)"] * len(chunk))
                + " ON CONFLICT (kind, shape) DO UPDATE SET shape = excluded.shape "
                "RETURNING kind, shape, text_id",
                [value for key in chunk for value in key],
            ).fetchall()
            for kind, shape, text_id in rows:
                new[(kind, shape)] = text_id


def _outbox_columns(m: OutboxMessage, text_id: Callable[[str, str], int]) -> tuple[Any, ...]:
    """An outbox message as the row's columns (after ``seq``)."""
    n = m.notification
    shape, whole = _shape(n.subject_id, n.text)
    due = micros(m.next_attempt_at)
    created = micros(m.created_at)
    event_at = micros(n.event_at)
    return (
        m.message_id,
        _state(m),
        due,
        n.recipient.key,
        n.subject_id,
        text_id(n.kind, shape),
        whole,
        None if created == due else created,
        None if event_at == created else event_at,
        m.attempts,
        None if m.delivered_at is None else micros(m.delivered_at),
        int(m.failed),
        m.last_error,
    )


_SELECT_OUTBOX = (
    "SELECT o.message_id, o.next_attempt_at, o.recipient, t.kind, o.subject_id, t.shape, "
    "o.text, o.created_at, o.event_at, o.attempts, o.delivered_at, o.failed, o.last_error"
)
_OUTBOX_JOIN = "outbox AS o JOIN outbox_texts AS t USING (text_id)"
_UPDATE_OUTBOX = (
    "UPDATE outbox SET state = ?, next_attempt_at = ?, recipient = ?, subject_id = ?, "
    "text_id = ?, text = ?, created_at = ?, event_at = ?, attempts = ?, delivered_at = ?, "
    "failed = ?, last_error = ? WHERE"
)


def _outbox_message(row: tuple[Any, ...]) -> OutboxMessage:
    message_id, due, recipient, kind, subject_id, shape, whole, created_at, event_at = row[:9]
    attempts, delivered_at, failed, last_error = row[9:13]
    if created_at is None:
        created_at = due
    return OutboxMessage(
        message_id=message_id,
        notification=Notification(
            recipient=_recipient(recipient),
            kind=kind,
            subject_id=subject_id,
            text=_render(subject_id, shape, whole),
            event_at=instant(created_at if event_at is None else event_at),
        ),
        created_at=instant(created_at),
        attempts=attempts,
        next_attempt_at=instant(due),
        delivered_at=None if delivered_at is None else instant(delivered_at),
        failed=bool(failed),
        last_error=last_error,
    )


class _Outbox:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow
        self._texts: _TextIds | None = None

    def _text_ids(self) -> _TextIds:
        if self._texts is None:
            store = self._uow.store
            uow = self._uow

            def keep_after_commit() -> None:
                # A unit of work nested in the caller's transaction (a SAVEPOINT) has not
                # committed when it releases: its new ids are not kept beyond it.
                if not uow._savepoint:
                    uow.after_commit(lambda: store._keep_text_ids(texts.new))

            # (registered only once a text is new: most commands find every id cached)
            texts = self._texts = _TextIds(uow.conn, store._text_ids, keep_after_commit)
        return self._texts

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        # one statement for a command's messages (a few rows each)
        if 0 < len(messages) <= _OUTBOX_ROWS_PER_INSERT:
            self._uow.execute(
                _INSERT_OUTBOX + _OUTBOX_ROW * (len(messages) - 1), self._params(messages)
            )
            return
        for start in range(0, len(messages), _OUTBOX_ROWS_PER_INSERT):
            chunk = messages[start : start + _OUTBOX_ROWS_PER_INSERT]
            self._uow.execute(_INSERT_OUTBOX + _OUTBOX_ROW * (len(chunk) - 1), self._params(chunk))

    def _params(self, messages: Sequence[OutboxMessage]) -> list[Any]:
        """The parameters of one ``INSERT`` of ``messages``: each one's shape looked up in
        the store's cache of committed text ids, and the shapes it does not know fetched
        together (a sweep batch's notifications may bring a new shape each)."""
        known = self._uow.store._text_ids
        shaped = []
        missing = None
        for m in messages:
            n = m.notification
            shape, whole = _shape(n.subject_id, n.text)
            key = (n.kind, shape)
            text_id = known.get(key)
            if text_id is None:
                missing = [] if missing is None else missing
                missing.append(key)
            shaped.append((m, n, key, text_id, whole))
        new: dict[tuple[str, str], int] = {}
        if missing is not None:
            texts = self._text_ids()
            texts.fetch(missing)
            new = texts.new
        params: list[Any] = []
        for m, n, key, text_id, whole in shaped:
            # (instants as :func:`_outbox_columns` writes them)
            due = micros(m.next_attempt_at)
            created = micros(m.created_at)
            event_at = micros(n.event_at)
            delivered = m.delivered_at
            params += (
                m.message_id,
                _state(m),
                due,
                n.recipient.key,
                n.subject_id,
                new[key] if text_id is None else text_id,
                whole,
                None if created == due else created,
                None if event_at == created else event_at,
                m.attempts,
                None if delivered is None else micros(delivered),
                int(m.failed),
                m.last_error,
            )
        return params

    def due(self, now: _dt.datetime, limit: int) -> tuple[OutboxMessage, ...]:
        # the pending rows in seq order (the partial index), those due kept
        rows = self._uow.execute(
            f"{_SELECT_OUTBOX}, o.seq FROM {_OUTBOX_JOIN} WHERE o.state = {_PENDING} "
            "AND o.next_attempt_at <= ? ORDER BY o.seq LIMIT ?",
            (micros(now), limit),
        ).fetchall()
        if rows:
            seqs = self._uow.store._outbox_seq
            if len(seqs) > 10_000:
                seqs.clear()
            for r in rows:
                seqs[r[0]] = r[-1]
        return due_messages(rows, _outbox_message, _first, self._set_aside)

    def _set_aside(self, message_ids: list[str]) -> None:
        """Rows that no longer decode (edited by hand) are kept as failed, for staff."""
        self._uow.conn.executemany(
            f"UPDATE outbox SET state = {_FAILED}, failed = 1, "
            f"last_error = 'the row does not decode' WHERE state = {_PENDING} AND message_id = ?",
            [(m,) for m in message_ids],
        )

    def update(self, message: OutboxMessage) -> None:
        columns = _outbox_columns(message, self._text_ids())
        message_id = message.message_id
        execute = self._uow.execute
        seq = self._uow.store._outbox_seq.get(message_id)
        if seq is not None:  # read by ``due``: by its ``seq``
            cur = execute(
                f"{_UPDATE_OUTBOX} seq = ? AND message_id = ?", (*columns[1:], seq, message_id)
            )
            if cur.rowcount:
                return
        # else among the pending rows (the partial index), else anywhere (a scan)
        cur = execute(
            f"{_UPDATE_OUTBOX} state = {_PENDING} AND message_id = ?", (*columns[1:], message_id)
        )
        if not cur.rowcount:
            execute(f"{_UPDATE_OUTBOX} message_id = ?", (*columns[1:], message_id))

    def all(self) -> tuple[OutboxMessage, ...]:
        rows = self._uow.execute(f"{_SELECT_OUTBOX} FROM {_OUTBOX_JOIN} ORDER BY o.seq").fetchall()
        return tuple(outbox_message(_outbox_message, r[0], r) for r in rows)

    def purge_delivered(self, before: _dt.datetime, limit: int) -> int:
        cur = self._uow.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE "
            f"state = {_DELIVERED} AND delivered_at < ? ORDER BY delivered_at LIMIT ?)",
            (micros(before), limit),
        )
        return cur.rowcount


def _legacy_body(record: IdempotencyRecord) -> str:
    """A record that keeps canonical text per argument (written before fingerprints), as the
    JSON body such records were stored as (R35)."""
    body: dict[str, Any] = {
        "command": record.command,
        "arguments": dict(record.arguments),
        "result": _codec.dump_any(record.result),
        "error": record.error,
        "at": record.at.isoformat(),
    }
    if record.request:
        body["request"] = record.request.hex()
    return _dumps(body)


def _record(
    scope: str,
    key: str,
    command: str,
    request: bytes,
    result: Any,
    error: Any,
    legacy: Any,
    at: int,
) -> IdempotencyRecord:
    if legacy is not None:
        return idempotency_record(scope, key, json.loads(legacy))
    return IdempotencyRecord(
        scope=scope,
        key=key,
        command=command,
        request=bytes(request),
        result=None if result is None else _codec.load_any(json.loads(result)),
        error=None if error is None else json.loads(error),
        at=instant(at),
    )


_read_record = readable(_record, "idempotency record")


class _Idempotency:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = self._uow.execute(
            "SELECT command, request, result, error, legacy, at FROM idempotency "
            "WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return None
        return _read_record(scope, key, *row)  # a row edited so that it does not decode: R42

    def put(self, record: IdempotencyRecord) -> None:
        legacy = _legacy_body(record) if record.arguments else None
        result = None if record.result is None else _dumps(_codec.dump_any(record.result))
        error = None if record.error is None else _dumps(record.error)
        self._uow.execute(
            "INSERT OR REPLACE INTO idempotency "
            "(scope, key, at, command, request, result, error, legacy) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.scope,
                record.key,
                micros(record.at),
                record.command,
                record.request,
                result,
                error,
                legacy,
            ),
        )

    def purge(self, before: _dt.datetime, limit: int) -> int:
        cur = self._uow.execute(
            "DELETE FROM idempotency WHERE (scope, key) IN (SELECT scope, key FROM idempotency "
            "WHERE at < ? ORDER BY at LIMIT ?)",
            (micros(before), limit),
        )
        return cur.rowcount


class _Timers:
    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def schedule(self, timer: Timer) -> None:
        self._uow.execute(
            "INSERT OR REPLACE INTO timers (timer_id, kind, due_at, body) VALUES (?, ?, ?, ?)",
            (timer.timer_id, timer.kind, micros(timer.due_at), _dumps(_timer_form.encode(timer))),
        )

    def cancel(self, timer_id: str) -> None:
        self._uow.execute("DELETE FROM timers WHERE timer_id = ?", (timer_id,))

    def claim_due(self, now: _dt.datetime, limit: int) -> tuple[Timer, ...]:
        rows = self._uow.execute(
            "DELETE FROM timers WHERE timer_id IN (SELECT timer_id FROM timers WHERE due_at <= ? "
            "ORDER BY due_at, timer_id LIMIT ?) RETURNING timer_id, kind, due_at, body",
            (micros(now), limit),
        ).fetchall()
        later = micros(now + TIMER_SET_ASIDE)

        def set_aside(bad: list[Any]) -> None:  # rows that no longer decode: put back as is
            self._uow.conn.executemany(
                "INSERT INTO timers (timer_id, kind, due_at, body) VALUES (?, ?, ?, ?)",
                [(r[0], r[1], later, r[3]) for r in bad],
            )

        timers = claimed_timers(rows, _timer_row, _first, set_aside)
        timers.sort(key=lambda t: (t.due_at, t.timer_id))
        return tuple(timers)

    def set_aside(self, timer: Timer, due_at: _dt.datetime) -> bool:
        # the unit of work holds the write lock (BEGIN IMMEDIATE): read and move are one step
        row = self._uow.execute(
            "SELECT timer_id, kind, due_at, body FROM timers WHERE timer_id = ?",
            (timer.timer_id,),
        ).fetchone()
        return set_aside_if_claimed(row, _timer_row, timer, due_at, self.schedule)


class _Conversations:
    """Conversations (R26, R28): one small row per conversation, saved with a version check
    (R36), with the columns the listing and response-time queries use; one row per message,
    keyed by ``(conversation_id, seq)``, so posting never rewrites earlier messages."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _row(c: Conversation) -> tuple[Any, ...]:
        return (
            c.version,
            c.vendor_id,
            c.buyer_id,
            c.order_id,
            micros(c.last_activity_at),
            None if c.first_awaited_at is None else micros(c.first_awaited_at),
            _dumps(_enc_conversation(c)),
            c.conversation_id,
        )

    def _many(self, where: str, params: Sequence[Any]) -> tuple[Conversation, ...]:
        rows = self._uow.execute(f"SELECT body FROM conversations WHERE {where}", params)
        return tuple(_dec_conversation(json.loads(r[0])) for r in rows.fetchall())

    def get(self, conversation_id: str) -> Conversation:
        found = self._many("conversation_id = ?", (conversation_id,))
        if not found:
            raise NotFoundError(
                f"no conversation {conversation_id!r}", conversation_id=conversation_id
            )
        return found[0]

    def add(self, conversation: Conversation) -> None:
        try:
            self._uow.execute(
                "INSERT INTO conversations (version, vendor_id, buyer_id, order_id, "
                "last_activity_at, first_awaited_at, body, conversation_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self._row(conversation),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyConflictError(
                f"conversation {conversation.conversation_id} already exists",
                conversation_id=conversation.conversation_id,
            ) from exc

    def save(self, conversation: Conversation) -> None:
        cur = self._uow.execute(
            "UPDATE conversations SET version = ?, vendor_id = ?, buyer_id = ?, order_id = ?, "
            "last_activity_at = ?, first_awaited_at = ?, body = ? "
            "WHERE conversation_id = ? AND version = ?",
            (*self._row(conversation), conversation.version - 1),
        )
        if cur.rowcount != 1:
            raise ConcurrencyConflictError(
                f"conversation {conversation.conversation_id} changed since it was read; "
                "reload it and retry",
                conversation_id=conversation.conversation_id,
            )

    def find(self, vendor_id: str, buyer_id: str, order_id: str | None) -> Conversation | None:
        found = self._many(
            "vendor_id = ? AND buyer_id = ? AND coalesce(order_id, '') = ?",
            (vendor_id, buyer_id, order_id or ""),
        )
        return found[0] if found else None

    def add_message(self, message: Message) -> None:
        try:
            self._uow.execute(
                "INSERT INTO conversation_messages (conversation_id, seq, message_id, at, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    message.conversation_id,
                    message.seq,
                    message.message_id,
                    micros(message.at),
                    _dumps(_enc_message(message)),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyConflictError(
                f"message {message.seq} of conversation {message.conversation_id} exists",
                conversation_id=message.conversation_id,
            ) from exc

    def messages(self, conversation_id: str, *, after_seq: int, limit: int) -> tuple[Message, ...]:
        rows = self._uow.execute(
            "SELECT body FROM conversation_messages WHERE conversation_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (conversation_id, after_seq, limit),
        ).fetchall()
        return tuple(_dec_message(json.loads(r[0])) for r in rows)

    def _page(
        self, column: str, party: str, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        # keyset paging on the (party, last_activity_at, conversation_id) index
        if before is None:
            return self._many(
                f"{column} = ? ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ?",
                (party, limit),
            )
        return self._many(
            f"{column} = ? AND (last_activity_at, conversation_id) < (?, ?) "
            "ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ?",
            (party, micros(before[0]), before[1], limit),
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
            "vendor_id = ? AND first_awaited_at >= ? AND first_awaited_at < ? "
            "ORDER BY first_awaited_at, conversation_id",
            (vendor_id, micros(since), micros(until)),
        )
