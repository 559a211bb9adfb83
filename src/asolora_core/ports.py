"""The ports: small Protocols the facade talks to (R29, R33, R35, R36, R40).

A store hands out units of work. A unit of work is one transaction: everything a command
changes (the aggregate, its history, the outbox, the idempotency record, timers) is written
in it or not at all. Adapters in :mod:`asolora_core.adapters` implement these; the contract
suite in :mod:`asolora_core.testing.contract` checks any implementation.

Shaped for a server database: explicit units of work, sweeps that claim work in bounded
batches (``claim_due(now, limit)``), and a store that may run on a connection the caller
owns.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Protocol, Self

import attrs

from asolora_core._values import value_repr
from asolora_core.events import DomainEvent, Notification
from asolora_core.ledger.integrity import Checkpoint, JournalFacts
from asolora_core.ledger.model import Hold, JournalTransaction, Payout, VendorAccount
from asolora_core.messaging.conversations import Conversation, Message
from asolora_core.orders.listing import OrderKey, OrderQuery
from asolora_core.orders.model import Order
from asolora_core.reports.model import MoneyRow, ProductRow, SalesRow
from asolora_core.reports.performance import PerformanceTotals

__all__ = [
    "CheckpointSink",
    "ConversationRepository",
    "EventLog",
    "IdGenerator",
    "IdempotencyRecord",
    "IdempotencyStore",
    "LedgerRepository",
    "Notifier",
    "OrderRepository",
    "Outbox",
    "OutboxMessage",
    "ReportRollups",
    "StaleRead",
    "Store",
    "Timer",
    "TimerStore",
    "UnitOfWork",
]


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """A notification waiting for (or past) delivery (R29)."""

    __repr__ = value_repr

    message_id: str
    notification: Notification
    created_at: _dt.datetime
    attempts: int = 0
    next_attempt_at: _dt.datetime
    delivered_at: _dt.datetime | None = None
    failed: bool = False  #: gave up after the last retry; kept for staff to see
    last_error: str = ""


@attrs.frozen(kw_only=True)
class IdempotencyRecord:
    """The first outcome of a command sent with an idempotency key (R35)."""

    __repr__ = value_repr

    scope: str  #: the actor's key, e.g. ``vendor:v-1``
    key: str
    command: str
    #: the command's arguments as a fingerprint: a version byte, then 8 bytes of BLAKE2b per
    #: argument (its name and canonical text), by argument name (see
    #: ``asolora_core.kernel.fingerprint``; without the version byte: the first form)
    request: bytes = b""
    #: records written before the fingerprint: canonical text per argument (still compared)
    arguments: Mapping[str, str] = attrs.field(default=MappingProxyType({}))
    result: Any = None  #: the value returned the first time
    error: dict[str, Any] | None = None  #: or the refusal raised the first time
    at: _dt.datetime


@attrs.frozen(kw_only=True)
class Timer:
    """Work due at an instant (R10, R15, R40): auto-confirm a shipment, release an order..."""

    __repr__ = value_repr

    timer_id: str  #: stable per purpose, e.g. ``autoconfirm:o-1:s-1``; scheduling again replaces
    kind: str
    aggregate_id: str
    ref: str
    due_at: _dt.datetime


class OrderRepository(Protocol):
    """The orders of a unit of work (``uow.orders``): load, save with optimistic versions, and
    the queries of the vendor dashboard. A custom store implements it; the contract suite in
    :mod:`asolora_core.testing.contract` checks it."""

    def get(self, order_id: str) -> Order:
        """The order, or :class:`~asolora_core.errors.NotFoundError`."""
        ...

    def add(self, order: Order) -> None:
        """Store a new order (version 1)."""
        ...

    def save(self, order: Order) -> None:
        """Store ``order`` over version ``order.version - 1``; anything else stored is a
        :class:`~asolora_core.errors.ConcurrencyConflictError` and nothing is written."""
        ...

    def for_checkout(self, checkout_id: str) -> tuple[Order, ...]:
        """The orders of a checkout (through an index, never a scan of every order)."""
        ...

    # --- the dashboard's lists and store performance -------------------------------------

    def page(self, query: OrderQuery, *, after: OrderKey | None, limit: int) -> tuple[Order, ...]:
        """Up to ``limit`` orders ``query`` selects (the reference is
        :func:`asolora_core.orders.listing.matches`), newest first: ``(placed_at, order_id)``
        descending, strictly below ``after`` when it is given. Reads the query's vendor's or
        buyer's orders through an index, never every order, and never more of them than the
        filters make it step over."""
        ...

    def performance_totals(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> PerformanceTotals:
        """:func:`asolora_core.reports.performance.fold_performance` over the vendor's orders
        placed in ``[since, until)``, computed where the data is (in SQL on SQLite)."""
        ...

    def for_customer_name(self, vendor_id: str, customer_name: str) -> tuple[Order, ...]:
        """A vendor's orders placed under ``customer_name`` (case-insensitive), newest first."""
        ...


class ConversationRepository(Protocol):
    """Conversations and their messages (R26, R28). A conversation is a small row saved with
    a version check; each message is its own row keyed by ``(conversation_id, seq)``."""

    def get(self, conversation_id: str) -> Conversation:
        """The conversation, or :class:`~asolora_core.errors.NotFoundError`."""
        ...

    def add(self, conversation: Conversation) -> None:
        """Store a new conversation (version 1)."""
        ...

    def save(self, conversation: Conversation) -> None:
        """Store over version ``conversation.version - 1``, else
        :class:`~asolora_core.errors.ConcurrencyConflictError` and nothing is written."""
        ...

    def find(self, vendor_id: str, buyer_id: str, order_id: str | None) -> Conversation | None:
        """The conversation of this vendor and buyer about ``order_id`` (``None``: about no
        order), if one exists."""
        ...

    def add_message(self, message: Message) -> None:
        """Store a new message; its ``seq`` is new in its conversation."""
        ...

    def messages(self, conversation_id: str, *, after_seq: int, limit: int) -> tuple[Message, ...]:
        """Up to ``limit`` messages with ``seq > after_seq``, oldest first."""
        ...

    def for_vendor(
        self, vendor_id: str, *, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        """A vendor's conversations, most recent activity first (ties: larger id first),
        strictly after the ``(last_activity_at, conversation_id)`` key ``before``."""
        ...

    def for_buyer(
        self, buyer_id: str, *, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        """As :meth:`for_vendor`, for a buyer."""
        ...

    def awaited_between(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> tuple[Conversation, ...]:
        """A vendor's conversations whose ``first_awaited_at`` is in ``[since, until)``,
        oldest first (R28 response-time metrics)."""
        ...


class LedgerRepository(Protocol):
    """The money ledger (R15-R25, R39, R41, R42): the append-only, hash-chained journal, the
    holds of orders, payouts and vendor accounts. Folds over one vendor read that vendor's
    rows only. Everything money is computed from is read from what the hash chain covers:
    an entry's ``account``, ``currency`` and amount (never a denormalised copy of them), and
    the journal's payout transactions (never the payout rows)."""

    def post(self, txn: JournalTransaction, *, key: bytes | None = None) -> JournalTransaction:
        """Seal ``txn`` at the end of the journal (next ``seq``, chained to the last hash, see
        :func:`asolora_core.ledger.model.seal`; an HMAC under ``key`` when given), append it
        and return it. A key already in the journal is a
        :class:`~asolora_core.errors.ConcurrencyConflictError` and nothing is written."""
        ...

    def by_key(self, key: str) -> JournalTransaction | None: ...

    def journal(self, *, after_seq: int = 0) -> tuple[JournalTransaction, ...]:
        """Every transaction after ``after_seq``, in journal order."""
        ...

    def head(self) -> tuple[int, str]:
        """The last ``seq`` and hash (``0`` and the genesis hash for an empty journal)."""
        ...

    def fold(self, account: str, currency: str) -> int:
        """The sum of every entry on ``account`` in ``currency`` (debits positive)."""
        ...

    def journal_fold(self, account: str, currency: str) -> int:
        """The sum of every entry on ``account`` in ``currency``, added up from the journal's
        entries themselves (never from running totals): what a payout checks the running
        total it pays from against (R18, R42)."""
        ...

    def vendor_fold(self, vendor_id: str, currency: str, kind: str, *, sign: int = 0) -> int:
        """The sum of the vendor's entries of account ``kind`` in ``currency``; ``sign`` 1 (or
        -1) sums only the positive (negative) entries."""
        ...

    def vendor_transactions(
        self, vendor_id: str, currency: str, kind: str, *, after_seq: int = 0
    ) -> tuple[JournalTransaction, ...]:
        """Transactions after ``after_seq`` with an entry on the vendor's ``kind`` account in
        ``currency``, in journal order."""
        ...

    def vendor_currencies(self, vendor_id: str) -> tuple[str, ...]:
        """Currencies of the vendor's balance accounts, sorted."""
        ...

    def balance_accounts(self) -> tuple[tuple[str, str], ...]:
        """Every (vendor id, currency) with a balance account, sorted."""
        ...

    def get_hold(self, order_id: str) -> Hold | None: ...

    def add_hold(self, hold: Hold) -> None: ...

    def save_hold(self, hold: Hold) -> None:
        """Store over version ``hold.version - 1``, else ConcurrencyConflictError."""
        ...

    def holds_for_vendor(self, vendor_id: str) -> tuple[Hold, ...]: ...

    def add_payout(self, payout: Payout) -> None: ...

    def payouts(self, vendor_id: str) -> tuple[Payout, ...]:
        """The vendor's payouts, oldest first."""
        ...

    def last_payout_seq(self, vendor_id: str, currency: str) -> int:
        """The journal position of the vendor's last payout in ``currency`` (0: none)."""
        ...

    def get_vendor(self, vendor_id: str) -> VendorAccount | None: ...

    def put_vendor(self, account: VendorAccount) -> None:
        """Add (version 1) or store over version ``account.version - 1``."""
        ...

    def for_order(self, order_id: str) -> tuple[JournalTransaction, ...]:
        """The order's transactions (``order_id``), in journal order: what a hold is
        cross-checked against before a release (R42)."""
        ...

    # Batched forms, for the release sweep: one round trip for many items where the store can
    # (a server store's sweep is bound by round trips); the same results as the one-item
    # methods called in turn.

    def post_many(
        self, txns: Sequence[JournalTransaction], *, key: bytes | None = None
    ) -> tuple[JournalTransaction, ...]:
        """:meth:`post` each of ``txns`` in order (consecutive ``seq``, each chained to the
        one before). A key already in the journal is a
        :class:`~asolora_core.errors.ConcurrencyConflictError`; the unit of work must then be
        rolled back."""
        ...

    def get_holds(self, order_ids: Sequence[str]) -> dict[str, Hold]:
        """The holds of ``order_ids`` that exist, by order id. In a writing unit of work of a
        server store they are also locked for it (in order id order)."""
        ...

    def save_holds(self, holds: Sequence[Hold]) -> None:
        """:meth:`save_hold` each (at most one per order); any stale one is a
        ConcurrencyConflictError (the unit of work must then be rolled back)."""
        ...

    def get_vendors(self, vendor_ids: Sequence[str]) -> dict[str, VendorAccount]:
        """The registered vendors among ``vendor_ids``, by vendor id."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, tuple[JournalTransaction, ...]]:
        """:meth:`for_order` of each order id (an order with no transaction maps to ``()``)."""
        ...

    def journal_facts(self, order_ids: Sequence[str]) -> dict[str, Sequence[JournalFacts]]:
        """What a hold's cross-check reads of each order's transactions, in journal order:
        :func:`~asolora_core.ledger.integrity.journal_facts` of :meth:`for_order`, read
        without building the transactions (a release sweep checks every hold it releases)."""
        ...

    def claim_vendors(self, vendor_ids: Sequence[str]) -> tuple[str, ...]:
        """:meth:`lock_vendors` for those of ``vendor_ids`` no other unit of work holds now,
        skipping the others (like ``SKIP LOCKED``); returns the ones locked, in the order
        given. Call it before anything else in the unit of work."""
        ...

    def vendor_balances(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """``vendor_fold(vendor_id, currency, "balance")`` of each ``(vendor_id, currency)``
        pair, read at once (a balance to act on: lock the vendors first)."""
        ...

    def lock_vendors(self, vendor_ids: Sequence[str]) -> None:
        """Make this unit of work the only one that may read-and-act-on, or post to, these
        vendors' balances until it ends (a release's offset, a payout's amount, R18, R23).
        Stores whose writing transactions run one at a time do nothing. A server store takes
        the vendors' locks in one fixed order, before the journal head's lock, so workers
        that lock several vendors never deadlock."""
        ...


class EventLog(Protocol):
    """The history of every aggregate (``uow.events``, R42): events are only ever appended, in
    the transaction of the change they record, and read back oldest first."""

    def append(self, events: Sequence[DomainEvent]) -> None: ...

    def history(self, aggregate_id: str) -> tuple[DomainEvent, ...]:
        """Every event of the aggregate, oldest first (R42)."""
        ...


class Outbox(Protocol):
    """The transactional outbox (``uow.outbox``, R29): notifications are added in the
    transaction of the change, then claimed by ``deliver_notifications`` and marked delivered
    or retried."""

    def add(self, messages: Sequence[OutboxMessage]) -> None: ...

    def due(self, now: _dt.datetime, limit: int) -> tuple[OutboxMessage, ...]:
        """Undelivered, not failed messages whose ``next_attempt_at <= now``, oldest first."""
        ...

    def update(self, message: OutboxMessage) -> None: ...

    def all(self) -> tuple[OutboxMessage, ...]: ...

    def purge_delivered(self, before: _dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` delivered messages whose ``delivered_at`` is before
        ``before`` (retention, R29); failed and pending ones are kept. Returns how many."""
        ...


class IdempotencyStore(Protocol):
    """Idempotency records (R35). A store may also offer ``put_order(scope, key, command,
    request, at, order_id, version)``: the same as :meth:`put` of a record whose ``result``
    is ``OrderRef(order_id, version)`` (no ``arguments`` nor ``error``), without building
    either object; the kernel uses it, when present, for a command that returned one order
    (the memory store has it)."""

    def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    def put(self, record: IdempotencyRecord) -> None:
        """Store ``record``, replacing an (expired) record under the same scope and key."""
        ...

    def purge(self, before: _dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` records whose ``at`` is before ``before`` (key expiry,
        R35). Returns how many."""
        ...


class TimerStore(Protocol):
    """The timers of the lifecycle (``uow.timers``, R10, R40), such as auto-confirmation,
    reminders and escalations; ``Marketplace.run_due`` claims and runs them when due."""

    def schedule(self, timer: Timer) -> None:
        """Add, or replace the timer with the same ``timer_id``."""
        ...

    def cancel(self, timer_id: str) -> None: ...

    def claim_due(self, now: _dt.datetime, limit: int) -> tuple[Timer, ...]:
        """Remove and return up to ``limit`` timers due at ``now``, earliest first. The removal
        commits with the unit of work, so a timer is handled once."""
        ...

    def set_aside(self, timer: Timer, due_at: _dt.datetime) -> bool:
        """Move ``timer``, claimed by a sweep whose work then failed and was rolled back, to
        ``due_at``, only if the stored timer with its id is still exactly ``timer``; return
        whether it moved. A timer another sweep has claimed since (and run, or holds now:
        never waited for), or a command has cancelled or scheduled again, is left as it is
        (``False``): setting it aside would run it a second time or bring it back (R40)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``with`` block without :meth:`commit` rolls back."""

    # Read-only members (properties), so that an adapter's own repository classes satisfy
    # them: a plain attribute in a Protocol is invariant under mypy.
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def timers(self) -> TimerStore: ...
    @property
    def conversations(self) -> ConversationRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def reports(self) -> ReportRollups: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class StaleRead(Exception):
    """Raised by a store's *optimistic* unit of work (a store may offer
    ``command_unit_of_work()``) when an order it served from what this
    process last committed had changed in the database meanwhile. The transaction is rolled
    back with everything the command did in it; the kernel runs the command again on a plain
    unit of work (fresh reads). It never reaches a caller of the facade."""


class Store(Protocol):
    """Where the marketplace's state lives: :class:`~asolora_core.adapters.memory.InMemoryStore`,
    :class:`~asolora_core.adapters.sqlite.SqliteStore`."""

    def unit_of_work(self) -> UnitOfWork: ...

    def close(self) -> None: ...

    def reader(self) -> UnitOfWork:
        """A read-only unit of work for queries: it sees one consistent snapshot, takes no
        write lock and never waits behind a writer where the database allows it (SQLite WAL:
        ``BEGIN DEFERRED``). Leave it without writing; committing or rolling back ends it."""
        ...


class Notifier(Protocol):
    """Delivers one notification (R29). Raising means "not delivered": it is retried."""

    def send(self, message_id: str, notification: Notification) -> None: ...


class IdGenerator(Protocol):
    """New ids for orders, shipments, issues, refunds, messages."""

    def new_id(self, prefix: str) -> str: ...


# --- reports (R30-R33) -------------------------------------------------------------------------


class ReportRollups(Protocol):
    """The reports' rollups (R30-R33): integer totals per vendor, local day and currency (and
    product), added to in the same transaction as each order change and ledger posting.
    Writes add deltas (an upsert); reads sum rows over a day range with one indexed query.

    A store may also offer ``checkpoint_and_zone(name, vendor_id)``: ``(get_checkpoint(name),
    the time zone of the vendor's ledger account, or "UTC" without one)`` in one read; the
    rollups use it, when present, for an order's change (the SQLite store has it).
    """

    def add_sales(
        self, vendor_id: str, day: int, currency: str, deltas: tuple[int, int, int, int, int]
    ) -> None:
        """Add ``(orders, items, gross, refunds, refunded_items)`` to the day's row."""
        ...

    def add_product(
        self,
        vendor_id: str,
        day: int,
        product_id: str,
        currency: str,
        deltas: tuple[int, int, int, int],
    ) -> None:
        """Add ``(units, revenue, refunded_units, refunded_revenue)`` to the product's day,
        and to its month (``month_of(day)``), which long ranges read instead."""
        ...

    def add_money(
        self,
        vendor_id: str,
        day: int,
        currency: str,
        deltas: tuple[int, int, int, int, int, int, int, int],
    ) -> None:
        """Add the eight balance-movement columns of :data:`MoneyRow` to the day's row."""
        ...

    def add_money_many(
        self, rows: Sequence[tuple[str, int, str, tuple[int, int, int, int, int, int, int, int]]]
    ) -> None:
        """:meth:`add_money` of each ``(vendor_id, day, currency, deltas)`` (at most one row
        per vendor, day and currency), in one statement where the store can."""
        ...

    def sales(self, vendor_id: str, first_day: int, last_day: int) -> tuple[SalesRow, ...]:
        """The vendor's sales rows with ``first_day <= day <= last_day``, by day, currency."""
        ...

    def products(
        self, vendor_id: str, first_day: int, last_day: int, *, by_day: bool = False
    ) -> tuple[ProductRow, ...]:
        """The vendor's product rows in the range, summed per (product, currency) (``day``
        0), or per (product, currency, day) with ``by_day``; sorted by those keys."""
        ...

    def product_months(
        self, vendor_id: str, first_month: int, last_month: int, *, by_month: bool = False
    ) -> tuple[ProductRow, ...]:
        """As :meth:`products`, from the monthly product rollup: months ``first_month`` to
        ``last_month`` (keys of :func:`~asolora_core.reports.model.month_of`), summed per
        (product, currency), or per (product, currency, month) with ``by_month``."""
        ...

    def money(self, vendor_id: str, first_day: int, last_day: int) -> tuple[MoneyRow, ...]:
        """The vendor's balance-movement rows in the range, by day, currency."""
        ...

    def money_before(self, vendor_id: str, day: int) -> tuple[MoneyRow, ...]:
        """Per currency, the columns summed over every day before ``day`` (``day`` 0)."""
        ...

    def clear(self, vendor_id: str) -> None:
        """Delete every rollup row of the vendor (a rebuild starts here)."""
        ...

    def has_vendor(self, vendor_id: str) -> bool:
        """Whether the vendor has any rollup row."""
        ...

    def vendor_orders(
        self, vendor_id: str, *, after: tuple[_dt.datetime, str] | None, limit: int
    ) -> tuple[Order, ...]:
        """Up to ``limit`` of the vendor's orders strictly after the ``(placed_at,
        order_id)`` key ``after``, oldest first: the batches a rebuild folds."""
        ...

    def vendors(self, *, after: str, limit: int) -> tuple[str, ...]:
        """Up to ``limit`` vendor ids greater than ``after``, sorted: every vendor with an
        order or a registered account."""
        ...

    def get_checkpoint(self, name: str) -> str | None:
        """The saved position of a resumable job (a rebuild), if any."""
        ...

    def get_checkpoints(self, names: Sequence[str]) -> dict[str, str]:
        """:meth:`get_checkpoint` of each name, those that are set, by name."""
        ...

    def put_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or with ``None`` forget) the position of a resumable job."""
        ...


class CheckpointSink(Protocol):
    """Where journal checkpoints go (R42): somewhere an intruder in the database cannot
    rewrite (another system, an append-only log, a write-once bucket). Raising means "not
    published": the command that triggered it stands, the next checkpoint tries again."""

    def publish(self, checkpoint: Checkpoint) -> None: ...
