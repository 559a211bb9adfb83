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
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self

import attrs

from asolora_core.events import DomainEvent, Notification
from asolora_core.orders.model import Order

__all__ = [
    "EventLog",
    "IdGenerator",
    "IdempotencyRecord",
    "IdempotencyStore",
    "Notifier",
    "OrderRepository",
    "Outbox",
    "OutboxMessage",
    "Store",
    "Timer",
    "TimerStore",
    "UnitOfWork",
]


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """A notification waiting for (or past) delivery (R29)."""

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

    scope: str  #: the actor's key, e.g. ``vendor:v-1``
    key: str
    command: str
    arguments: dict[str, str]  #: the command's arguments, canonical text per field
    result: Any = None  #: the value returned the first time
    error: dict[str, Any] | None = None  #: or the refusal raised the first time
    at: _dt.datetime


@attrs.frozen(kw_only=True)
class Timer:
    """Work due at an instant (R10, R15, R40): auto-confirm a shipment, release an order..."""

    timer_id: str  #: stable per purpose, e.g. ``autoconfirm:o-1:s-1``; scheduling again replaces
    kind: str
    aggregate_id: str
    ref: str
    due_at: _dt.datetime


class OrderRepository(Protocol):
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

    def for_checkout(self, checkout_id: str) -> tuple[Order, ...]: ...

    def for_vendor(self, vendor_id: str) -> tuple[Order, ...]: ...

    def for_customer_name(self, vendor_id: str, customer_name: str) -> tuple[Order, ...]:
        """A vendor's orders placed under ``customer_name`` (case-insensitive), newest first."""
        ...


class EventLog(Protocol):
    def append(self, events: Sequence[DomainEvent]) -> None: ...

    def history(self, aggregate_id: str) -> tuple[DomainEvent, ...]:
        """Every event of the aggregate, oldest first (R42)."""
        ...


class Outbox(Protocol):
    def add(self, messages: Sequence[OutboxMessage]) -> None: ...

    def due(self, now: _dt.datetime, limit: int) -> tuple[OutboxMessage, ...]:
        """Undelivered, not failed messages whose ``next_attempt_at <= now``, oldest first."""
        ...

    def update(self, message: OutboxMessage) -> None: ...

    def all(self) -> tuple[OutboxMessage, ...]: ...


class IdempotencyStore(Protocol):
    def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    def put(self, record: IdempotencyRecord) -> None: ...


class TimerStore(Protocol):
    def schedule(self, timer: Timer) -> None:
        """Add, or replace the timer with the same ``timer_id``."""
        ...

    def cancel(self, timer_id: str) -> None: ...

    def claim_due(self, now: _dt.datetime, limit: int) -> tuple[Timer, ...]:
        """Remove and return up to ``limit`` timers due at ``now``, earliest first. The removal
        commits with the unit of work, so a timer is handled once."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``with`` block without :meth:`commit` rolls back."""

    orders: OrderRepository
    events: EventLog
    outbox: Outbox
    idempotency: IdempotencyStore
    timers: TimerStore

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Store(Protocol):
    """Where the marketplace's state lives: :class:`~asolora_core.adapters.memory.InMemoryStore`,
    :class:`~asolora_core.adapters.sqlite.SqliteStore`."""

    def unit_of_work(self) -> UnitOfWork: ...

    def close(self) -> None: ...


class Notifier(Protocol):
    """Delivers one notification (R29). Raising means "not delivered": it is retried."""

    def send(self, message_id: str, notification: Notification) -> None: ...


class IdGenerator(Protocol):
    """New ids for orders, shipments, issues, refunds, messages."""

    def new_id(self, prefix: str) -> str: ...
