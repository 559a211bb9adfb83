"""The in-memory store: for tests, examples and the pure speed of the core.

Transactions are real: a unit of work holds the store's lock from start to end (so units of
work from several threads run one after the other) and keeps an undo log, so that leaving the
``with`` block without ``commit()`` puts every dict back as it was. Values are immutable, so
nothing is copied.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from asolora_core.errors import ConcurrencyConflictError, NotFoundError
from asolora_core.events import DomainEvent
from asolora_core.orders.model import Order
from asolora_core.ports import IdempotencyRecord, OutboxMessage, Timer

__all__ = ["InMemoryStore"]

_MISSING: Any = object()


class _Tables:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.events: dict[str, list[DomainEvent]] = {}
        self.outbox: dict[str, OutboxMessage] = {}
        self.pending: dict[str, None] = {}  # ids of outbox messages not delivered nor failed
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.timers: dict[str, Timer] = {}
        self.timer_heap: list[tuple[_dt.datetime, str]] = []
        self.extra: dict[str, dict[Any, Any]] = {}  # tables other packages add (ledger, chat)


class InMemoryStore:
    """A store in process memory. ``InMemoryStore()`` is all it takes."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = threading.RLock()

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self._tables, self._lock)

    def close(self) -> None:
        """Nothing to release."""


class InMemoryUnitOfWork:
    def __init__(self, tables: _Tables, lock: threading.RLock) -> None:
        self._t = tables
        self._lock = lock
        self._undo: list[Callable[[], None]] = []
        self.orders = _Orders(self)
        self.events = _Events(self)
        self.outbox = _Outbox(self)
        self.idempotency = _Idempotency(self)
        self.timers = _Timers(self)

    # the transaction --------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._lock.acquire()
        self._undo = []
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
            self._lock.release()

    def commit(self) -> None:
        self._undo = []

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    # helpers for the repositories ---------------------------------------------------------

    def set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        old = table.get(key, _MISSING)
        table[key] = value
        self._undo.append(lambda: _restore(table, key, old))

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        old = table.pop(key, _MISSING)
        if old is not _MISSING:
            self._undo.append(lambda: _restore(table, key, old))

    def on_rollback(self, fn: Callable[[], None]) -> None:
        self._undo.append(fn)

    def table(self, name: str) -> dict[Any, Any]:
        """A named extra table (for the ledger and conversations), created on first use."""
        return self._t.extra.setdefault(name, {})


def _restore(table: dict[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old


class _Orders:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._t.orders

    def get(self, order_id: str) -> Order:
        try:
            return self._rows[order_id]
        except KeyError:
            raise NotFoundError(f"no order {order_id!r}", order_id=order_id) from None

    def add(self, order: Order) -> None:
        if order.order_id in self._rows:
            raise ConcurrencyConflictError(
                f"order {order.order_id} already exists", order_id=order.order_id
            )
        self._uow.set(self._rows, order.order_id, order)

    def save(self, order: Order) -> None:
        current = self._rows.get(order.order_id)
        if current is None or current.version != order.version - 1:
            raise ConcurrencyConflictError(
                f"order {order.order_id} changed since it was read; reload it and retry",
                order_id=order.order_id,
            )
        self._uow.set(self._rows, order.order_id, order)

    def for_checkout(self, checkout_id: str) -> tuple[Order, ...]:
        return tuple(o for o in self._rows.values() if o.checkout_id == checkout_id)

    def for_vendor(self, vendor_id: str) -> tuple[Order, ...]:
        return tuple(o for o in self._rows.values() if o.vendor_id == vendor_id)

    def for_customer_name(self, vendor_id: str, customer_name: str) -> tuple[Order, ...]:
        name = customer_name.strip().casefold()
        found = [
            o
            for o in self._rows.values()
            if o.vendor_id == vendor_id and o.customer_name.casefold() == name
        ]
        return tuple(sorted(found, key=lambda o: (o.placed_at, o.order_id), reverse=True))


class _Events:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._t.events

    def append(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            rows = self._rows.setdefault(event.aggregate_id, [])
            rows.append(event)
            self._uow.on_rollback(rows.pop)

    def history(self, aggregate_id: str) -> tuple[DomainEvent, ...]:
        return tuple(self._rows.get(aggregate_id, ()))


class _Outbox:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._t.outbox
        self._pending = uow._t.pending

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        for m in messages:
            self._uow.set(self._rows, m.message_id, m)
            self._uow.set(self._pending, m.message_id, None)

    def due(self, now: _dt.datetime, limit: int) -> tuple[OutboxMessage, ...]:
        out: list[OutboxMessage] = []
        for message_id in self._pending:
            m = self._rows[message_id]
            if m.next_attempt_at <= now:
                out.append(m)
                if len(out) >= limit:
                    break
        return tuple(out)

    def update(self, message: OutboxMessage) -> None:
        self._uow.set(self._rows, message.message_id, message)
        if message.delivered_at is not None or message.failed:
            self._uow.delete(self._pending, message.message_id)

    def all(self) -> tuple[OutboxMessage, ...]:
        return tuple(self._rows.values())


class _Idempotency:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._t.idempotency

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self._rows.get((scope, key))

    def put(self, record: IdempotencyRecord) -> None:
        self._uow.set(self._rows, (record.scope, record.key), record)


class _Timers:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._t.timers
        self._heap = uow._t.timer_heap

    def schedule(self, timer: Timer) -> None:
        self._uow.set(self._rows, timer.timer_id, timer)
        entry = (timer.due_at, timer.timer_id)
        heapq.heappush(self._heap, entry)
        # a stale heap entry is harmless: claim_due checks it against the current timer

    def cancel(self, timer_id: str) -> None:
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
