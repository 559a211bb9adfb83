"""The in-memory store: for tests, examples and the pure speed of the core.

Transactions are real: a unit of work holds the store's lock from start to end (so units of
work from several threads run one after the other) and keeps an undo log, so that leaving the
``with`` block without ``commit()`` puts every dict back as it was. Values are immutable, so
nothing is copied.
"""

from __future__ import annotations

import bisect
import collections
import datetime as _dt
import functools
import heapq
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import attrs

from asolora_core.actors import Actor, ActorKind
from asolora_core.adapters.memory_codec import Codec
from asolora_core.adapters.memory_ledger import InMemoryLedger
from asolora_core.adapters.memory_reports import InMemoryReports
from asolora_core.errors import ConcurrencyConflictError, NotFoundError, _unknown_order
from asolora_core.events import DomainEvent, Notification
from asolora_core.ledger.model import Hold, JournalTransaction
from asolora_core.messaging.conversations import Conversation, Message
from asolora_core.orders.listing import (
    OrderFacts,
    OrderKey,
    OrderQuery,
    customer_key,
    matches,
    order_facts,
)
from asolora_core.orders.model import Order
from asolora_core.ports import IdempotencyRecord, OutboxMessage, Timer
from asolora_core.reports.performance import (
    PerformanceRow,
    PerformanceTotals,
    fold_performance,
    performance_row,
)

__all__ = ["InMemoryStore"]

_MISSING: Any = object()


#: Orders written most recently that the store keeps as objects; older ones (and their
#: history) are kept encoded (see :meth:`InMemoryStore._settle`) and rebuilt when read.
HOT_ORDERS = 16


class _Tables:
    def __init__(self) -> None:
        # an order, or once it left the hot set (see InMemoryStore._settle) the encoded pair
        # (order, history), the same bytes in both tables
        self.orders: dict[str, Order | bytes] = {}
        self.events: dict[str, list[DomainEvent] | bytes] = {}
        self.outbox: dict[str, tuple[Any, ...] | bytes] = {}  # message id -> row (see _row)
        self.pending: dict[str, None] = {}  # ids of outbox messages not delivered nor failed
        # scope -> key -> the record as a flat tuple (see _key_row): no (scope, key) pair
        # built per command nor kept per record for the collector to walk
        self.idempotency: dict[str, dict[str, _KeyRow]] = {}
        self.timers: dict[str, Timer] = {}
        self.timer_heap: list[tuple[_dt.datetime, str]] = []
        # heap entries made stale (timer cancelled or moved) since the heap was last swept;
        # a heuristic count (a rolled-back cancel still counts), see InMemoryStore._settle
        self.timer_stale = 0
        self.extra: dict[str, dict[Any, Any]] = {}  # tables other packages add (ledger, chat)
        # retention queues, oldest first: (delivered_at, message id), idempotency records
        self.delivered: collections.deque[tuple[_dt.datetime, str]] = collections.deque()
        self.keys_by_age: collections.deque[_KeyRow] = collections.deque()


class InMemoryStore:
    """A store in process memory. ``InMemoryStore()`` is all it takes.

    Units of work run one at a time (the store's lock is held from ``__enter__`` to
    ``__exit__``); do not open a second one inside the first on the same store.

    ``keep_recent``: how many of the orders written last are kept as objects; the others are
    kept encoded with their history, hold, journal transactions and never-tried outbox
    messages (about a third of the memory) and rebuilt when read. ``None`` keeps every order
    as objects: commands run faster (encoding costs 10-20 % of a lifecycle), at about three
    times the memory per order.
    """

    def __init__(self, *, keep_recent: int | None = HOT_ORDERS) -> None:
        if keep_recent is not None and keep_recent < 0:
            raise ValueError(f"keep_recent must be None or at least 0, not {keep_recent}")
        self._tables = _Tables()
        self._lock = threading.RLock()
        # The repositories are built once: they write through the current unit of work's
        # undo log, and only one unit of work runs at a time.
        self._undo: list[Any] = []
        # ids of the orders (and histories) written by the running unit of work; at commit
        # they join ``_hot``, the most recently written first kept as objects
        self._touched: list[str] = []
        self._hot: dict[str, None] = {}
        self._hot_limit = keep_recent  # 0: every order encoded at its commit; None: never
        # order id -> ids of outbox messages about it added since it was last encoded (the
        # never-tried ones join its encoded form); not undo-logged: ids of rolled-back
        # messages find no row and are skipped
        self._messages: dict[str, list[str]] = {}
        self._codec = Codec()
        self.orders = _Orders(self)
        self.events = _Events(self)
        self.outbox = _Outbox(self)
        self.idempotency = _Idempotency(self)
        self.timers = _Timers(self)
        self.conversations = _Conversations(self)
        self.ledger = InMemoryLedger(self)
        self.reports = InMemoryReports(self)
        self.reports.bind_orders(self.orders.load, self._tables.extra["orders_by_vendor"])
        # a unit of work holds no state of its own (the undo log is the store's, and one
        # runs at a time under the lock), so one object serves every transaction
        self._unit = InMemoryUnitOfWork(self)

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return self._unit

    def close(self) -> None:
        """Nothing to release."""

    def reader(self) -> InMemoryUnitOfWork:
        """A unit of work for queries (in memory, a plain unit of work: reads are fast)."""
        return self._unit

    # the undo log of the running unit of work --------------------------------------------

    def set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        old = table.pop(key, _MISSING)
        if old is not _MISSING:
            self._undo.append((table, key, old))

    def on_rollback(self, fn: Callable[[], object]) -> None:
        self._undo.append(fn)

    def table(self, name: str) -> dict[Any, Any]:
        """A named extra table (for the ledger and conversations), created on first use."""
        return self._tables.extra.setdefault(name, {})

    # compact storage of the orders nobody wrote lately -------------------------------------

    def _settle(self) -> None:
        """After a commit: the orders the unit of work wrote become the most recent of the
        hot set; the orders (and histories) pushed out of it are encoded. Encoding changes
        how a value is kept, never the value, so it is not undo-logged (the commit is done)."""
        t = self._tables
        if t.timer_stale >= 16 and t.timer_stale * 4 > len(t.timer_heap):
            _sweep_heap(t)
        touched, hot = self._touched, self._hot
        self._touched = []
        if self._hot_limit is None:
            return
        for order_id in touched:
            hot.pop(order_id, None)
            hot[order_id] = None
        while len(hot) > self._hot_limit:
            order_id = next(iter(hot))
            del hot[order_id]
            self._encode(order_id)

    def _encode(self, order_id: str) -> None:
        """Keep the order ``order_id``, its history, its hold and its journal transactions
        as one encoded value ``(order, history, hold, transactions)``: the same bytes in
        each of those tables (values written since it was last encoded are folded in)."""
        t = self._tables
        order = t.orders.get(order_id)
        if order is None:
            return  # a history of something else
        extra = t.extra
        history = t.events.get(order_id)
        holds = extra["ledger_holds"]
        hold = holds.get(order_id)
        journal = extra["ledger_journal"]
        seqs = extra["ledger_orders"].get(order_id, ())
        txns = [journal[s] for s in seqs]
        outbox = t.outbox
        # the never-tried outbox messages about the order (short rows, see _row); a row kept
        # encoded is bytes, a tried one is longer
        sent_ids: list[str] = []
        sent: list[tuple[Any, ...]] = []
        for m in self._messages.pop(order_id, ()):
            row = outbox.get(m)
            if row is not None and len(row) == _SHORT and type(row) is tuple:
                sent_ids.append(m)
                sent.append(row)
        # every encoded row of the order is the same value: the first one found
        blob = next((r for r in (order, history, hold, *txns) if type(r) is bytes), None)
        if blob is None:
            old: tuple[Any, ...] | None = None
        elif not sent and all(r is None or type(r) is bytes for r in (order, history, hold, *txns)):
            return  # encoded already
        else:
            old = self._codec.decode(blob)
        if isinstance(order, bytes):
            order = old[0]  # type: ignore[index]
        events = tuple(history) if isinstance(history, list) else old[1] if history else ()  # type: ignore[index]
        if isinstance(hold, bytes):
            hold = old[2]  # type: ignore[index]
        posted = (
            tuple(txns)
            if old is None
            else tuple(
                _posted(old, seq) if isinstance(txn, bytes) else txn
                for seq, txn in zip(seqs, txns, strict=True)
            )
        )
        blob = self._codec.encode((order, events, hold, posted, tuple(sent)))
        t.orders[order_id] = blob
        if history is not None:
            t.events[order_id] = blob
        if hold is not None:
            holds[order_id] = blob
        for seq in seqs:
            journal[seq] = blob
        for message_id in sent_ids:
            outbox[message_id] = blob

    def decode_order(self, blob: bytes) -> Order:
        order: Order = self._codec.decode(blob)[0]
        return order

    def decode_history(self, blob: bytes) -> tuple[DomainEvent, ...]:
        history: tuple[DomainEvent, ...] = self._codec.decode(blob)[1]
        return history

    def cold_hold(self, blob: bytes) -> Hold:
        hold: Hold = self._codec.decode(blob)[2]
        return hold

    def cold_txn(self, blob: bytes, seq: int) -> JournalTransaction:
        return _posted(self._codec.decode(blob), seq)

    def cold_rows(self, blob: bytes) -> dict[str, _Row]:
        """The outbox rows kept in an encoded order, by message id."""
        return {row[0]: row for row in self._codec.decode(blob)[4]}

    def _history(self, aggregate_id: str) -> list[DomainEvent] | None:
        """The history of ``aggregate_id`` as a list it may append to (decoded and put back,
        undo-logged, if it was encoded)."""
        rows = self._tables.events.get(aggregate_id)
        if isinstance(rows, bytes):
            decoded = list(self.decode_history(rows))
            self.set(self._tables.events, aggregate_id, decoded)
            self._touched.append(aggregate_id)  # encoded again once it leaves the hot set
            return decoded
        return rows


def _posted(encoded: tuple[Any, ...], seq: int) -> JournalTransaction:
    """The journal transaction ``seq`` of an encoded order."""
    for txn in encoded[3]:
        if txn.seq == seq:
            found: JournalTransaction = txn
            return found
    raise KeyError(seq)


def _sweep_heap(t: _Tables) -> None:
    """Drop the heap entries of timers cancelled or moved: after a commit they can never be
    due again (a timer scheduled again pushes its own entry)."""
    timers = t.timers
    t.timer_heap[:] = [
        e for e in t.timer_heap if (timer := timers.get(e[1])) is not None and timer.due_at == e[0]
    ]
    heapq.heapify(t.timer_heap)
    t.timer_stale = 0


class InMemoryUnitOfWork:
    """One transaction on an :class:`InMemoryStore`; rolls back unless committed."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._t = store._tables
        self.orders = store.orders
        self.events = store.events
        self.outbox = store.outbox
        self.idempotency = store.idempotency
        self.timers = store.timers
        self.conversations = store.conversations
        self.ledger = store.ledger
        self.reports = store.reports

    def __enter__(self) -> Self:
        self._store._lock.acquire()
        self._store._undo = []
        self._store._touched = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._store._lock.release()

    def commit(self) -> None:
        store = self._store
        store._undo = []
        if store._touched:  # so a unit of work that wrote no order changes nothing here
            store._settle()

    def rollback(self) -> None:
        undo = self._store._undo
        while undo:
            entry = undo.pop()
            if callable(entry):
                entry()
            else:
                _restore(*entry)

    # the helpers, for repositories written against a unit of work -------------------------

    def set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._store.set(table, key, value)

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        self._store.delete(table, key)

    def on_rollback(self, fn: Callable[[], object]) -> None:
        self._store.on_rollback(fn)

    def table(self, name: str) -> dict[Any, Any]:
        """A named extra table (for the ledger and conversations), created on first use."""
        return self._store.table(name)


def _forget(tables: tuple[dict[Any, Any], ...], keys: list[Any]) -> None:
    """Undo the writes of rows new to ``tables`` (each key was in none of them before)."""
    for table in tables:
        for key in keys:
            table.pop(key, None)


def _restore(table: dict[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old


class _Orders:
    """Orders by id, with indexes so that no query scans every order: per checkout (ids in
    insertion order), and per vendor, per buyer and per (vendor, customer name) the keys
    ``(placed_at, order_id)`` kept sorted. Every index change is undone with its unit of
    work."""

    def __init__(self, uow: InMemoryStore) -> None:
        self._uow = uow
        self._rows = uow._tables.orders
        self._decode = uow.decode_order
        self._by_checkout: dict[str, list[str]] = uow.table("orders_by_checkout")
        self._by_vendor: dict[str, list[OrderKey]] = uow.table("orders_by_vendor")
        self._by_buyer: dict[str, list[OrderKey]] = uow.table("orders_by_buyer")
        self._by_customer: dict[tuple[str, str], list[OrderKey]] = uow.table("orders_by_customer")
        # derived facts of the stored row (order or its encoded form) last seen; checked by
        # identity, so never stale
        self._facts: dict[str, tuple[object, OrderFacts]] = {}
        self._performance: dict[str, tuple[object, PerformanceRow]] = {}

    def get(self, order_id: str) -> Order:
        try:
            row = self._rows[order_id]
        except KeyError:
            raise _unknown_order(order_id) from None
        if isinstance(row, bytes):
            return self._decode(row)
        return row

    def load(self, order_id: str) -> Order:
        """The order ``order_id`` (which exists), decoded if it is kept encoded."""
        row = self._rows[order_id]
        if isinstance(row, bytes):
            return self._decode(row)
        return row

    def add(self, order: Order) -> None:
        if order.order_id in self._rows:
            raise ConcurrencyConflictError(
                f"order {order.order_id} already exists", order_id=order.order_id
            )
        self._uow.set(self._rows, order.order_id, order)
        self._uow._touched.append(order.order_id)
        self._index(order)

    def _index(self, order: Order) -> None:
        ids = self._by_checkout.setdefault(order.checkout_id, [])
        ids.append(order.order_id)
        self._uow.on_rollback(lambda: ids.remove(order.order_id))
        key = (order.placed_at, order.order_id)
        for keys in self._key_lists(order):
            bisect.insort(keys, key)
            self._uow.on_rollback(functools.partial(keys.remove, key))

    def _unindex(self, order: Order) -> None:
        ids = self._by_checkout[order.checkout_id]
        at = ids.index(order.order_id)
        del ids[at]
        self._uow.on_rollback(lambda: ids.insert(at, order.order_id))
        key = (order.placed_at, order.order_id)
        for keys in self._key_lists(order):
            keys.remove(key)
            self._uow.on_rollback(functools.partial(bisect.insort, keys, key))

    def _key_lists(self, order: Order) -> tuple[list[OrderKey], ...]:
        name = (order.vendor_id, customer_key(order.customer_name))
        return (
            self._by_vendor.setdefault(order.vendor_id, []),
            self._by_buyer.setdefault(order.buyer_id, []),
            self._by_customer.setdefault(name, []),
        )

    def save(self, order: Order) -> None:
        order_id = order.order_id
        stored = current = self._rows.get(order_id)
        if isinstance(current, bytes):
            current = self._decode(current)
        if current is None or current.version != order.version - 1:
            raise ConcurrencyConflictError(
                f"order {order_id} changed since it was read; reload it and retry",
                order_id=order_id,
            )
        store = self._uow
        store._undo.append((self._rows, order_id, stored))  # set() inlined
        self._rows[order_id] = order
        store._touched.append(order_id)
        if (  # what the indexes hold of it: no command changes it; a repository may
            order.placed_at != current.placed_at
            or order.vendor_id != current.vendor_id
            or order.buyer_id != current.buyer_id
            or order.checkout_id != current.checkout_id
            or order.customer_name != current.customer_name
        ):
            self._unindex(current)
            self._index(order)

    def for_checkout(self, checkout_id: str) -> tuple[Order, ...]:
        return tuple(map(self.load, self._by_checkout.get(checkout_id, ())))

    def for_customer_name(self, vendor_id: str, customer_name: str) -> tuple[Order, ...]:
        keys = self._by_customer.get((vendor_id, customer_key(customer_name)), [])
        return tuple(self.load(order_id) for _, order_id in reversed(keys))

    def facts(self, order: Order) -> OrderFacts:
        return self._facts_of(order, order)

    def _facts_of(self, order: Order, row: object) -> OrderFacts:
        """The facts of ``order``, cached against ``row``, the value the table holds for it."""
        hit = self._facts.get(order.order_id)
        if hit is not None and hit[0] is row:
            return hit[1]
        facts = order_facts(order)
        self._facts[order.order_id] = (row, facts)
        return facts

    def page(self, query: OrderQuery, *, after: OrderKey | None, limit: int) -> tuple[Order, ...]:
        if query.vendor_id is not None and query.customer is not None:
            keys = self._by_customer.get((query.vendor_id, query.customer), [])
        elif query.vendor_id is not None:
            keys = self._by_vendor.get(query.vendor_id, [])
        elif query.buyer_id is not None:
            keys = self._by_buyer.get(query.buyer_id, [])
        else:
            return ()
        lo, hi = _span(keys, query.placed_from, query.placed_until)
        if after is not None:
            hi = min(hi, bisect.bisect_left(keys, after))
        out: list[Order] = []
        for i in range(hi - 1, lo - 1, -1):
            row = self._rows[keys[i][1]]
            order = self._decode(row) if isinstance(row, bytes) else row
            if matches(query, order, self._facts_of(order, row)):
                out.append(order)
                if len(out) >= limit:
                    break
        return tuple(out)

    def performance_totals(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> PerformanceTotals:
        keys = self._by_vendor.get(vendor_id, [])
        lo, hi = _span(keys, since, until)
        return fold_performance(self._performance_row(keys[i][1]) for i in range(lo, hi))

    def _performance_row(self, order_id: str) -> PerformanceRow:
        row = self._rows[order_id]
        hit = self._performance.get(order_id)
        if hit is not None and hit[0] is row:
            return hit[1]
        order = self._decode(row) if isinstance(row, bytes) else row
        performance = performance_row(order, self._facts_of(order, row))
        self._performance[order_id] = (row, performance)
        return performance


def _span(
    keys: list[OrderKey], since: _dt.datetime | None, until: _dt.datetime | None
) -> tuple[int, int]:
    """The index range of ``keys`` placed in ``[since, until)``."""
    lo = 0 if since is None else bisect.bisect_left(keys, (since, ""))
    hi = len(keys) if until is None else bisect.bisect_left(keys, (until, ""))
    return lo, max(lo, hi)


class _Events:
    def __init__(self, uow: InMemoryStore) -> None:
        self._uow = uow
        self._rows = uow._tables.events

    def append(self, events: Sequence[DomainEvent]) -> None:
        store, table = self._uow, self._rows
        undo = store._undo  # on_rollback() inlined: one call fewer per event
        for event in events:
            rows = table.get(event.aggregate_id)
            if rows is None:
                rows = table[event.aggregate_id] = []
            elif isinstance(rows, bytes):
                rows = store._history(event.aggregate_id)
                assert rows is not None
            rows.append(event)
            undo.append(rows.pop)

    def history(self, aggregate_id: str) -> tuple[DomainEvent, ...]:
        rows = self._rows.get(aggregate_id, ())
        if isinstance(rows, bytes):
            return self._uow.decode_history(rows)
        return tuple(rows)


#: An outbox message as the memory store keeps it: a flat tuple of text, instants and numbers
#: (no objects the garbage collector must track), rebuilt into an :class:`OutboxMessage` when
#: read. A message never tried keeps only its first eight fields
#: (``attempts`` 0, ``next_attempt_at`` = ``created_at``, not delivered, not failed).
_Row = tuple[Any, ...]


#: Stands for the subject id in a kept notification text (see :func:`_text_of`).
_SUBJECT = "\x00"
#: Most distinct texts a memory store shares between its outbox rows.
_MAX_SHARED_TEXTS = 4096


def _text_of(texts: dict[str, str], subject_id: str, text: str) -> str | tuple[str]:
    """The text kept in a row: with the subject id written as :data:`_SUBJECT`, the texts of
    one kind of notification are one shared string (``"Order \\x00 was delivered..."``);
    :func:`_render` puts the subject id back. A text already holding ``\\x00`` is kept as
    it is, in a 1-tuple."""
    if _SUBJECT in text:
        return (text,)
    if not subject_id or subject_id not in text:
        return text
    shape = text.replace(subject_id, _SUBJECT)
    shared = texts.get(shape)
    if shared is None:
        if len(texts) >= _MAX_SHARED_TEXTS:
            return shape
        shared = texts[shape] = shape
    return shared


def _render(subject_id: str, kept: str | tuple[str]) -> str:
    if isinstance(kept, tuple):
        return kept[0]
    return kept.replace(_SUBJECT, subject_id) if _SUBJECT in kept else kept


def _row(m: OutboxMessage, texts: dict[str, str]) -> _Row:
    n = m.notification
    recipient = n.recipient
    subject_id = n.subject_id
    head = (
        m.message_id,
        recipient.kind._value_,  # the enum's value, without the descriptor's cost
        recipient.id,
        n.kind,
        subject_id,
        _text_of(texts, subject_id, n.text),
        n.event_at,
        m.created_at,
    )
    if (
        m.next_attempt_at is m.created_at  # as the kernel enqueues; equal ones take the long row
        and m.attempts == 0
        and m.delivered_at is None
        and not m.failed
        and not m.last_error
    ):
        return head
    return (*head, m.attempts, m.next_attempt_at, m.delivered_at, m.failed, m.last_error)


@functools.lru_cache(maxsize=4096)
def _actor(kind: str, actor_id: str) -> Actor:
    return Actor(ActorKind(kind), actor_id)


def _message(row: _Row) -> OutboxMessage:
    notification = Notification(
        recipient=_actor(row[1], row[2]),
        kind=row[3],
        subject_id=row[4],
        text=_render(row[4], row[5]),
        event_at=row[6],
    )
    if len(row) == 8:
        return OutboxMessage(
            message_id=row[0], notification=notification, created_at=row[7], next_attempt_at=row[7]
        )
    return OutboxMessage(
        message_id=row[0],
        notification=notification,
        created_at=row[7],
        attempts=row[8],
        next_attempt_at=row[9],
        delivered_at=row[10],
        failed=row[11],
        last_error=row[12],
    )


#: The length of a never-tried row.
_SHORT = 8


def _next_attempt_at(row: _Row) -> _dt.datetime:
    at: _dt.datetime = row[7] if len(row) == 8 else row[9]
    return at


def _delivered_at(row: _Row | bytes) -> _dt.datetime | None:
    return None if len(row) == 8 or isinstance(row, bytes) else row[10]


class _Outbox:
    def __init__(self, uow: InMemoryStore) -> None:
        self._uow = uow
        self._rows = uow._tables.outbox
        self._pending = uow._tables.pending
        self._texts: dict[str, str] = {}  # the notification texts rows share (see _text_of)
        self._orders = uow._tables.orders
        # the rows of the encoded order read last (a relay reads an order's messages in turn)
        self._cold: tuple[bytes, dict[str, _Row]] = (b"", {})

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        uow, rows, pending, texts = self._uow, self._rows, self._pending, self._texts
        about, orders = uow._messages, self._orders
        track = uow._hot_limit is not None  # None: orders are never encoded
        new: list[str] = []  # ids written here for the first time: one undo entry for all
        for m in messages:
            message_id = m.message_id
            if message_id in rows or message_id in pending:  # not a new id: undo each write
                uow.set(rows, message_id, _row(m, texts))
                uow.set(pending, message_id, None)
            else:
                rows[message_id] = _row(m, texts)
                pending[message_id] = None
                new.append(message_id)
            subject_id = m.notification.subject_id
            if subject_id in orders and track:
                ids = about.get(subject_id)
                if ids is None:
                    about[subject_id] = [m.message_id]
                else:
                    ids.append(m.message_id)
        if new:
            uow.on_rollback(functools.partial(_forget, (rows, pending), new))

    def _row(self, message_id: str) -> _Row:
        """The row of ``message_id``, read from its order's encoded form if it is kept there."""
        row = self._rows[message_id]
        if isinstance(row, bytes):
            if self._cold[0] is not row:
                self._cold = (row, self._uow.cold_rows(row))
            cold: _Row = self._cold[1][message_id]
            return cold
        return row

    def due(self, now: _dt.datetime, limit: int) -> tuple[OutboxMessage, ...]:
        out: list[OutboxMessage] = []
        for message_id in self._pending:
            row = self._row(message_id)
            if _next_attempt_at(row) <= now:
                out.append(_message(row))
                if len(out) >= limit:
                    break
        return tuple(out)

    def update(self, message: OutboxMessage) -> None:
        self._uow.set(self._rows, message.message_id, _row(message, self._texts))
        if message.delivered_at is not None and message.message_id in self._pending:
            _queue(
                self._uow, self._uow._tables.delivered, (message.delivered_at, message.message_id)
            )
        if (message.delivered_at is not None or message.failed) and (
            message.message_id in self._pending
        ):
            # registered first so that it runs after the id is put back (undo runs in reverse)
            self._uow.on_rollback(self._restore_order)
            self._uow.delete(self._pending, message.message_id)

    def _restore_order(self) -> None:
        """After a rolled-back delivery: pending ids oldest first again, as SQL's ``seq``
        keeps them (R33); a plain restore would put the id at the end."""
        ordered = [k for k in self._rows if k in self._pending]
        self._pending.clear()
        self._pending.update(dict.fromkeys(ordered))

    def all(self) -> tuple[OutboxMessage, ...]:
        return tuple(_message(self._row(message_id)) for message_id in self._rows)

    def purge_delivered(self, before: _dt.datetime, limit: int) -> int:
        def still(message_id: str, at: _dt.datetime) -> bool:
            row = self._rows.get(message_id)
            return row is not None and _delivered_at(row) == at

        return _purge(self._uow, self._uow._tables.delivered, self._rows, before, limit, still)


#: An idempotency record as the memory store keeps it (one per keyed command, kept until
#: purged): a flat tuple ``(scope, key, command, request, at, ref_id, ref_version, result,
#: arguments, error)`` holding no object the garbage collector must track when the result is
#: an :class:`OrderRef` (kept as ``ref_id`` and ``ref_version``, ``result`` None) and the
#: arguments are the empty default (kept as None); rebuilt into an equal
#: :class:`IdempotencyRecord` when read.
_KeyRow = tuple[Any, ...]


def _key_row(r: IdempotencyRecord, ref: type[Any]) -> _KeyRow:
    result = r.result
    arguments = r.arguments or None
    if type(result) is ref:
        return (r.scope, r.key, r.command, r.request, r.at, result.order_id, result.version,
                None, arguments, r.error)  # fmt: skip
    return (r.scope, r.key, r.command, r.request, r.at, None, None, result, arguments, r.error)


def _record(row: _KeyRow, ref: type[Any]) -> IdempotencyRecord:
    result = row[7] if row[5] is None else ref(row[5], row[6])
    if row[8] is None:
        return IdempotencyRecord(
            scope=row[0], key=row[1], command=row[2], request=row[3], at=row[4],
            result=result, error=row[9],
        )  # fmt: skip
    return IdempotencyRecord(
        scope=row[0], key=row[1], command=row[2], request=row[3], at=row[4],
        result=result, error=row[9], arguments=row[8],
    )  # fmt: skip


class _Idempotency:
    def __init__(self, uow: InMemoryStore) -> None:
        self._uow = uow
        self._rows = uow._tables.idempotency
        self._queue = uow._tables.keys_by_age
        from asolora_core.kernel import OrderRef  # here: the kernel imports this package

        self._ref = OrderRef

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        rows = self._rows.get(scope)
        row = None if rows is None else rows.get(key)
        return None if row is None else _record(row, self._ref)

    def put(self, record: IdempotencyRecord) -> None:
        self._add(_key_row(record, self._ref))

    def put_order(
        self,
        scope: str,
        key: str,
        command: str,
        request: bytes,
        at: _dt.datetime,
        order_id: str,
        version: int,
    ) -> None:
        """As :meth:`put` of a record whose result is ``OrderRef(order_id, version)``, with
        neither object built: the row :func:`_key_row` makes of it (the kernel's fast path
        for a keyed command that returned one order, R35)."""
        self._add((scope, key, command, request, at, order_id, version, None, None, None))

    def _add(self, row: _KeyRow) -> None:
        # set() and _queue() inlined: one call per command sent with a key
        key, queue, undo = row[1], self._queue, self._uow._undo
        rows = self._rows.get(row[0])
        if rows is None:  # a scope's first record (its table stays, empty, if rolled back)
            rows = self._rows[row[0]] = {}
        undo.append((rows, key, rows.get(key, _MISSING)))
        rows[key] = row
        queue.append(row)
        undo.append(queue.pop)

    def purge(self, before: _dt.datetime, limit: int) -> int:
        queue = self._uow._tables.keys_by_age
        done = 0
        while queue and done < limit and queue[0][4] < before:
            row = queue.popleft()
            self._uow.on_rollback(functools.partial(queue.appendleft, row))
            rows = self._rows[row[0]]
            if rows.get(row[1]) is row:  # not put again since
                self._uow.delete(rows, row[1])
                done += 1
        return done


def _queue(store: InMemoryStore, queue: collections.deque[Any], item: Any) -> None:
    queue.append(item)
    store.on_rollback(queue.pop)


def _purge(
    store: InMemoryStore,
    queue: collections.deque[tuple[_dt.datetime, Any]],
    rows: dict[Any, Any],
    before: _dt.datetime,
    limit: int,
    still: Callable[[Any, _dt.datetime], bool],
) -> int:
    """Delete rows queued (oldest first) before ``before``, skipping queue entries whose row
    changed since it was queued; undone with the unit of work."""
    done = 0
    while queue and done < limit and queue[0][0] < before:
        item = queue.popleft()
        store.on_rollback(functools.partial(queue.appendleft, item))
        at, key = item
        if still(key, at):
            store.delete(rows, key)
            done += 1
    return done


class _Timers:
    def __init__(self, uow: InMemoryStore) -> None:
        self._uow = uow
        self._rows = uow._tables.timers
        self._heap = uow._tables.timer_heap

    def schedule(self, timer: Timer) -> None:
        if timer.timer_id in self._rows:
            self._uow._tables.timer_stale += 1  # its heap entry, unless due at the same time
        self._uow.set(self._rows, timer.timer_id, timer)
        entry = (timer.due_at, timer.timer_id)
        heapq.heappush(self._heap, entry)
        # a stale heap entry is harmless: claim_due checks it against the current timer

    def cancel(self, timer_id: str) -> None:
        if timer_id in self._rows:
            self._uow._tables.timer_stale += 1
        self._uow.delete(self._rows, timer_id)

    def claim_due(self, now: _dt.datetime, limit: int) -> tuple[Timer, ...]:
        out: list[Timer] = []
        popped: list[tuple[_dt.datetime, str]] = []
        heap = self._heap
        while heap and heap[0][0] <= now and len(out) < limit:
            entry = heapq.heappop(heap)
            popped.append(entry)
            timer = self._rows.get(entry[1])
            if timer is not None and timer.due_at == entry[0]:
                out.append(timer)
                self._uow.delete(self._rows, timer.timer_id)

        def push_back() -> None:
            for e in popped:
                heapq.heappush(heap, e)

        self._uow.on_rollback(push_back)
        return tuple(out)

    def set_aside(self, timer: Timer, due_at: _dt.datetime) -> bool:
        if self._rows.get(timer.timer_id) != timer:
            return False  # claimed by another sweep since, cancelled or scheduled again
        self.schedule(attrs.evolve(timer, due_at=due_at))
        return True


class _Conversations:
    """Conversations (R26, R28): one dict of conversations, one of messages keyed by
    ``(conversation_id, seq)`` and per-vendor / per-buyer indexes. ``tx`` is whatever offers
    the undo-logged ``set`` and ``table`` helpers (the store or its unit of work)."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx
        self._rows: dict[str, Conversation] = tx.table("conversations")
        self._messages: dict[tuple[str, int], Message] = tx.table("conversation_messages")
        self._pairs: dict[tuple[str, str, str | None], str] = tx.table("conversation_pairs")
        self._by_vendor: dict[str, dict[str, None]] = tx.table("conversations_by_vendor")
        self._by_buyer: dict[str, dict[str, None]] = tx.table("conversations_by_buyer")

    def get(self, conversation_id: str) -> Conversation:
        try:
            return self._rows[conversation_id]
        except KeyError:
            raise NotFoundError(
                f"no conversation {conversation_id!r}", conversation_id=conversation_id
            ) from None

    def add(self, conversation: Conversation) -> None:
        c = conversation
        pair = (c.vendor_id, c.buyer_id, c.order_id)
        if c.conversation_id in self._rows or pair in self._pairs:
            raise ConcurrencyConflictError(
                f"conversation {c.conversation_id} already exists",
                conversation_id=c.conversation_id,
            )
        tx = self._tx
        tx.set(self._rows, c.conversation_id, c)
        tx.set(self._pairs, pair, c.conversation_id)
        tx.set(self._by_vendor.setdefault(c.vendor_id, {}), c.conversation_id, None)
        tx.set(self._by_buyer.setdefault(c.buyer_id, {}), c.conversation_id, None)

    def save(self, conversation: Conversation) -> None:
        current = self._rows.get(conversation.conversation_id)
        if current is None or current.version != conversation.version - 1:
            raise ConcurrencyConflictError(
                f"conversation {conversation.conversation_id} changed since it was read; "
                "reload it and retry",
                conversation_id=conversation.conversation_id,
            )
        self._tx.set(self._rows, conversation.conversation_id, conversation)

    def find(self, vendor_id: str, buyer_id: str, order_id: str | None) -> Conversation | None:
        conversation_id = self._pairs.get((vendor_id, buyer_id, order_id))
        return None if conversation_id is None else self._rows[conversation_id]

    def add_message(self, message: Message) -> None:
        key = (message.conversation_id, message.seq)
        if key in self._messages:
            raise ConcurrencyConflictError(
                f"message {message.seq} of conversation {message.conversation_id} exists",
                conversation_id=message.conversation_id,
            )
        self._tx.set(self._messages, key, message)

    def messages(self, conversation_id: str, *, after_seq: int, limit: int) -> tuple[Message, ...]:
        out: list[Message] = []
        seq = after_seq + 1
        while len(out) < limit:
            message = self._messages.get((conversation_id, seq))
            if message is None:
                break
            out.append(message)
            seq += 1
        return tuple(out)

    def _page(
        self, ids: dict[str, None], limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        rows = [self._rows[i] for i in ids if i in self._rows]
        keyed = [((c.last_activity_at, c.conversation_id), c) for c in rows]
        if before is not None:
            keyed = [kc for kc in keyed if kc[0] < before]
        keyed.sort(key=lambda kc: kc[0], reverse=True)
        return tuple(c for _, c in keyed[:limit])

    def for_vendor(
        self, vendor_id: str, *, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        return self._page(self._by_vendor.get(vendor_id, {}), limit, before)

    def for_buyer(
        self, buyer_id: str, *, limit: int, before: tuple[_dt.datetime, str] | None
    ) -> tuple[Conversation, ...]:
        return self._page(self._by_buyer.get(buyer_id, {}), limit, before)

    def awaited_between(
        self, vendor_id: str, since: _dt.datetime, until: _dt.datetime
    ) -> tuple[Conversation, ...]:
        found = [
            c
            for i in self._by_vendor.get(vendor_id, {})
            if (c := self._rows.get(i)) is not None
            and c.first_awaited_at is not None
            and since <= c.first_awaited_at < until
        ]
        found.sort(key=lambda c: (c.first_awaited_at or since, c.conversation_id))
        return tuple(found)
