"""The facade users call: load -> pure core -> save + history + outbox -> commit.

:class:`Marketplace` is the one entry point a web handler, a job worker or a test calls,
one line per use case. Every command:

1. names who acts (``by``, R1) and may carry an ``idempotency_key`` (R35);
2. loads the aggregate in a unit of work (one transaction);
3. runs the pure command from :mod:`asolora_core.orders.commands` with ``now`` from the
   injected clock (R34);
4. saves it with a version check (R36), appends its events to the history (R42), writes the
   derived notifications to the outbox and schedules timers, all in that transaction (R29);
5. commits, and returns the new value.

A refused command raises an :class:`~asolora_core.errors.AsoloraError` and writes nothing
(R2). Sweeps (:meth:`Marketplace.run_due`) run due timers and relay the outbox; they are safe
to run from many workers at once.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import attrs
from moneyed import Money

from asolora_core import _codec
from asolora_core.actors import Actor, ActorKind
from asolora_core.clock import Clock, SystemClock, utc
from asolora_core.errors import (
    AsoloraError,
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidMoneyError,
    NotPermittedError,
    error_from_dict,
)
from asolora_core.events import (
    DomainEvent,
    IssueClosed,
    Notification,
    ReceiptConfirmed,
    ShipmentDelivered,
)
from asolora_core.ledger.model import MoneyConfig
from asolora_core.ledger.service import _MoneyCommands
from asolora_core.messaging.contact_policy import ContactPolicy
from asolora_core.messaging.service import _ChatCommands
from asolora_core.money import check_currency, to_minor
from asolora_core.orders import commands as core
from asolora_core.orders.commands import CheckoutItem, Decision
from asolora_core.orders.model import (
    IssueKind,
    IssueOutcome,
    Order,
    Resolution,
    ReturnPolicy,
    ShipmentStatus,
)
from asolora_core.orders.notify import notifications_for
from asolora_core.orders.transitions import Action, step
from asolora_core.ports import (
    IdempotencyRecord,
    IdGenerator,
    Notifier,
    OutboxMessage,
    Store,
    Timer,
    UnitOfWork,
)

__all__ = [
    "DeliveryReport",
    "Item",
    "Marketplace",
    "MarketplaceConfig",
    "SequentialIds",
    "SweepReport",
    "UuidIds",
]

log = logging.getLogger("asolora_core")
T = TypeVar("T")

_codec.register(Order)

AUTO_CONFIRM = "auto_confirm"


class UuidIds:
    """Random ids: ``prefix-<32 hex digits>``. The default."""

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex}"


class SequentialIds:
    """Readable, deterministic ids for tests and demos: ``o-000001``, ``s-000002``, ..."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-{next(self._counter):06d}"


def _positive_delta(value: _dt.timedelta | None, name: str) -> None:
    if value is not None and value <= _dt.timedelta(0):
        raise InvalidInputError(f"{name} must be a positive duration", field=name)


@attrs.frozen(kw_only=True)
class MarketplaceConfig:
    """What a marketplace configures. Every default is the one domain-rules.md gives.

    * ``auto_confirm_after`` (R10): confirm a delivered shipment with no open issue after this
      long; ``None`` (default) never does.
    * ``outbox_max_attempts``, ``outbox_retry_after``: a failing notifier is retried with
      exponential backoff from ``outbox_retry_after`` (doubling, at most one hour), and after
      the last attempt the message is kept as failed for staff to see (R29).
    * ``sweep_batch``: how many timers or messages a sweep claims per transaction.
    * ``contact_policy`` (R27): what a message carrying contact details gets; default
      ``ContactPolicy.REDACT_AND_FLAG``. ``message_max_length``: longest message text.
    * ``money`` (R15-R25, R39, R41): fees, hold period (default 168 hours), payout minimum
      and quantum, rate provider; ``None`` means ``MoneyConfig()`` (no fees, ECB rates).
    """

    auto_confirm_after: _dt.timedelta | None = attrs.field(default=None)
    outbox_max_attempts: int = 8
    outbox_retry_after: _dt.timedelta = _dt.timedelta(seconds=30)
    outbox_lease: _dt.timedelta = _dt.timedelta(minutes=5)
    sweep_batch: int = 200
    contact_policy: ContactPolicy = ContactPolicy.REDACT_AND_FLAG
    message_max_length: int = 4000
    money: MoneyConfig | None = None

    def __attrs_post_init__(self) -> None:
        _positive_delta(self.auto_confirm_after, "auto_confirm_after")
        _positive_delta(self.outbox_retry_after, "outbox_retry_after")
        if self.outbox_max_attempts < 1 or self.sweep_batch < 1:
            raise InvalidInputError("attempts and batch sizes must be at least 1", field="config")
        if not isinstance(self.contact_policy, ContactPolicy):
            raise InvalidInputError(
                "contact_policy must be a ContactPolicy", field="contact_policy"
            )
        if self.message_max_length < 1:
            raise InvalidInputError(
                "message_max_length must be at least 1", field="message_max_length"
            )


@attrs.frozen(kw_only=True)
class Item:
    """One line of a checkout, as the facade takes it (R3, R19)."""

    vendor_id: str
    product_id: str
    quantity: int
    unit_price: Money
    title: str = ""
    policy: ReturnPolicy = attrs.field(factory=ReturnPolicy)


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """What one outbox relay did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class SweepReport:
    """What one :meth:`Marketplace.run_due` did: timers that acted, by kind (``"failed"``
    counts timers whose handler raised: they are retried an hour later), and the
    notifications relayed."""

    timers: Mapping[str, int]
    notifications: DeliveryReport


Reactor = Callable[[UnitOfWork, Order, Sequence[DomainEvent], _dt.datetime], None]
#: Runs one due timer inside the sweep's transaction; returns whether it did anything.
TimerHandler = Callable[[UnitOfWork, Timer, _dt.datetime], bool]


def _auto_confirm_id(order_id: str, shipment_id: str) -> str:
    return f"{AUTO_CONFIRM}:{order_id}:{shipment_id}"


def _canon(value: Any) -> Any:
    """A JSON-ready, order-independent form of a command argument (R35)."""
    if isinstance(value, Money):
        return f"{value.amount} {value.currency.code}"
    if isinstance(value, Actor):
        return value.key
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if hasattr(value, "value") and hasattr(type(value), "__members__"):
        return value.value
    if attrs.has(type(value)):
        return {f.name: _canon(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): _canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


class _Kernel:
    """The shared machinery: transactions, idempotency, outbox, timers."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        ids: IdGenerator | None = None,
        config: MarketplaceConfig | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.notifier = notifier
        self.ids: IdGenerator = ids or UuidIds()
        self.config = config or MarketplaceConfig()
        self._reactors: list[Reactor] = [self._schedule_order_timers]
        self._timer_handlers: dict[str, TimerHandler] = {AUTO_CONFIRM: self._auto_confirm}
        for cls in reversed(type(self).__mro__):
            install = cls.__dict__.get("_install")
            if install is not None:
                install(self)

    # --- running commands ----------------------------------------------------------------

    def _now(self) -> _dt.datetime:
        return utc(self.clock.now(), field="clock.now()")

    def _execute(
        self,
        by: Actor,
        command: str,
        idempotency_key: str | None,
        arguments: Mapping[str, Any],
        work: Callable[[UnitOfWork, _dt.datetime], T],
    ) -> T:
        if not isinstance(by, Actor):
            raise InvalidInputError("by must be an Actor, e.g. Actor.vendor('v-1')", field="by")
        now = self._now()
        if idempotency_key is None:
            with self.store.unit_of_work() as uow:
                result = work(uow, now)
                uow.commit()
            return result
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise InvalidInputError(
                "idempotency_key must be a non-empty string", field="idempotency_key"
            )
        args = {k: json.dumps(_canon(v), sort_keys=True) for k, v in arguments.items()}
        with self.store.unit_of_work() as uow:
            record = uow.idempotency.get(by.key, idempotency_key)
            if record is not None:
                replayed: T = self._replay(record, command, args)
                return replayed
            try:
                result = work(uow, now)
            except AsoloraError as refusal:
                uow.rollback()
                if isinstance(refusal, ConcurrencyConflictError):
                    raise  # R36: "reload and retry", not a refusal to replay for this key
                error = refusal
            else:
                uow.idempotency.put(
                    IdempotencyRecord(
                        scope=by.key,
                        key=idempotency_key,
                        command=command,
                        arguments=args,
                        result=result,
                        at=now,
                    )
                )
                uow.commit()
                return result
        # R35: a refusal is remembered too, in its own transaction (the command's was undone).
        with self.store.unit_of_work() as uow:
            record = uow.idempotency.get(by.key, idempotency_key)
            if record is not None:
                first: T = self._replay(record, command, args)
                return first
            uow.idempotency.put(
                IdempotencyRecord(
                    scope=by.key,
                    key=idempotency_key,
                    command=command,
                    arguments=args,
                    error=error.to_dict(),
                    at=now,
                )
            )
            uow.commit()
        raise error

    @staticmethod
    def _replay(record: IdempotencyRecord, command: str, args: Mapping[str, str]) -> Any:
        differs = None
        if record.command != command:
            differs = "command"
        else:
            for name in sorted(set(record.arguments) | set(args)):
                if record.arguments.get(name) != args.get(name):
                    differs = name
                    break
        if differs is not None:
            raise IdempotencyKeyReusedError(
                f"idempotency key {record.key!r} was used for a different command "
                f"({differs} differs); use a new key for a new command",
                field=differs,
                key=record.key,
            )
        if record.error is not None:
            raise error_from_dict(record.error)
        return record.result

    def _record(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        """History, outbox and reactions of one change, in its transaction."""
        uow.events.append(events)
        self._enqueue(uow, notifications_for(order, events), now)
        for react in self._reactors:
            react(uow, order, events, now)

    def _enqueue(
        self, uow: UnitOfWork, notifications: Sequence[Notification], now: _dt.datetime
    ) -> None:
        if notifications:
            uow.outbox.add(
                [
                    OutboxMessage(
                        message_id=self.ids.new_id("n"),
                        notification=n,
                        created_at=now,
                        next_attempt_at=now,
                    )
                    for n in notifications
                ]
            )

    def _order_command(
        self,
        order_id: str,
        by: Actor,
        command: str,
        idempotency_key: str | None,
        arguments: Mapping[str, Any],
        decide: Callable[[Order, _dt.datetime], Decision],
    ) -> Order:
        def work(uow: UnitOfWork, now: _dt.datetime) -> Order:
            order, events = decide(uow.orders.get(order_id), now)
            uow.orders.save(order)
            self._record(uow, order, events, now)
            return order

        return self._execute(
            by, command, idempotency_key, {"order_id": order_id, **arguments}, work
        )

    # --- timers and sweeps --------------------------------------------------------------

    def _schedule_order_timers(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        """R10: arm auto-confirmation when a shipment is delivered, re-arm it when an issue
        closes, and drop it once the shipment is confirmed."""
        after = self.config.auto_confirm_after
        if after is None:
            return
        for event in events:
            if isinstance(event, ReceiptConfirmed):
                uow.timers.cancel(_auto_confirm_id(order.order_id, event.shipment_id))
                continue
            if isinstance(event, ShipmentDelivered):
                shipments = [order.shipment(event.shipment_id)]
            elif isinstance(event, IssueClosed):
                shipments = list(order.shipments)
            else:
                continue
            for shipment in shipments:
                if shipment is None or shipment.status is not ShipmentStatus.DELIVERED:
                    continue
                assert shipment.delivered_at is not None
                uow.timers.schedule(
                    Timer(
                        timer_id=_auto_confirm_id(order.order_id, shipment.shipment_id),
                        kind=AUTO_CONFIRM,
                        aggregate_id=order.order_id,
                        ref=shipment.shipment_id,
                        due_at=max(shipment.delivered_at + after, now),
                    )
                )

    def _auto_confirm(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R10: confirm a delivered shipment with no open issue on its items."""
        order = uow.orders.get(timer.aggregate_id)
        shipment = order.shipment(timer.ref)
        if shipment is None or shipment.status is not ShipmentStatus.DELIVERED:
            return False
        if any(i.covers(shipment.line_ids) for i in order.open_issues()):
            return False  # re-armed when the issue closes
        new, events = core.confirm_receipt(order, timer.ref, by=Actor.system(), now=now)
        uow.orders.save(new)
        self._record(uow, new, events, now)
        return True

    def run_due(self, now: _dt.datetime | None = None) -> SweepReport:
        """Run every timer due at ``now`` (default: the clock's now), then relay the outbox.

        Timers are claimed in batches of ``config.sweep_batch``, each batch in one transaction
        with the work it causes, so a timer runs once however many workers sweep at once.
        """
        at = self._now() if now is None else utc(now, field="now")
        counts: dict[str, int] = {}
        batch = self.config.sweep_batch
        while True:
            try:
                with self.store.unit_of_work() as uow:
                    timers = uow.timers.claim_due(at, batch)
                    done = self._run_timers(uow, timers, at)
                    uow.commit()
            except ConcurrencyConflictError:
                raise  # another worker changed the aggregate: the next sweep retries
            except Exception as exc:
                if batch > 1:
                    batch = 1  # find the failing timer: one timer per transaction from here
                    continue
                self._set_aside_failing_timer(at, exc)
                counts["failed"] = counts.get("failed", 0) + 1
                continue
            for kind in done:
                counts[kind] = counts.get(kind, 0) + 1
            if len(timers) < batch:
                break
        return SweepReport(timers=counts, notifications=self.deliver_notifications(now=at))

    def _run_timers(self, uow: UnitOfWork, timers: Sequence[Timer], at: _dt.datetime) -> list[str]:
        done: list[str] = []
        for timer in timers:
            handler = self._timer_handlers.get(timer.kind)
            if handler is None:
                log.warning("no handler for timer kind %s; dropped", timer.kind)
                continue
            if handler(uow, timer, at):
                done.append(timer.kind)
        return done

    def _set_aside_failing_timer(self, at: _dt.datetime, exc: Exception) -> None:
        """A timer whose handler raises is moved an hour later and logged, so one bad timer
        never blocks the others (the batch it was in is retried one timer at a time)."""
        with self.store.unit_of_work() as uow:
            for timer in uow.timers.claim_due(at, 1):
                log.error("timer %s failed (%r); retrying it in an hour", timer.timer_id, exc)
                uow.timers.schedule(attrs.evolve(timer, due_at=at + _dt.timedelta(hours=1)))
            uow.commit()

    def deliver_notifications(
        self, *, now: _dt.datetime | None = None, limit: int = 1000
    ) -> DeliveryReport:
        """Relay due outbox messages to the notifier, at least once (R29).

        Messages are leased before sending (another worker skips them until the lease ends),
        then marked delivered, or rescheduled with backoff when the notifier raises. A failing
        notifier never loses a message and never undoes the change that produced it.
        """
        if self.notifier is None:
            return DeliveryReport()
        at = self._now() if now is None else utc(now, field="now")
        lease_until = at + self.config.outbox_lease
        with self.store.unit_of_work() as uow:
            due = uow.outbox.due(at, limit)
            for m in due:
                uow.outbox.update(attrs.evolve(m, next_attempt_at=lease_until))
            uow.commit()
        delivered = retried = failed = 0
        outcomes: list[OutboxMessage] = []
        for m in due:
            attempts = m.attempts + 1
            try:
                self.notifier.send(m.message_id, m.notification)
            except Exception as exc:
                gave_up = attempts >= self.config.outbox_max_attempts
                backoff = min(
                    self.config.outbox_retry_after * 2 ** (attempts - 1), _dt.timedelta(hours=1)
                )
                outcomes.append(
                    attrs.evolve(
                        m,
                        attempts=attempts,
                        next_attempt_at=at + backoff,
                        failed=gave_up,
                        last_error=f"{type(exc).__name__}: {exc}"[:500],
                    )
                )
                failed += gave_up
                retried += not gave_up
            else:
                outcomes.append(attrs.evolve(m, attempts=attempts, delivered_at=at))
                delivered += 1
        if outcomes:
            with self.store.unit_of_work() as uow:
                for m in outcomes:
                    uow.outbox.update(m)
                uow.commit()
        return DeliveryReport(delivered=delivered, retried=retried, failed=failed)

    def outbox(self, *, by: Actor) -> tuple[OutboxMessage, ...]:
        """Every outbox message, for staff and operations."""
        if by.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
            raise NotPermittedError("only staff can read the outbox")
        with self.store.unit_of_work() as uow:
            return uow.outbox.all()


class _OrderCommands(_Kernel):
    """The order lifecycle (R3-R14, R20, R38)."""

    # --- checkout --------------------------------------------------------------------------

    def place_checkout(
        self,
        *,
        buyer: Actor,
        customer_name: str,
        items: Sequence[Item],
        paid: Money,
        shipping: Mapping[str, Money] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Order, ...]:
        """R3: one order per vendor, sharing a checkout reference, with ``paid`` split exactly
        across them. Each vendor is notified of its new order."""
        if not isinstance(paid, Money):
            raise InvalidMoneyError("paid must be a moneyed.Money, not a float", field="paid")
        currency = check_currency(paid.currency.code, field="paid")
        paid_minor = to_minor(paid, field="paid")
        core_items = []
        for index, item in enumerate(items):
            if not isinstance(item, Item):
                raise InvalidInputError(f"items[{index}] must be an Item", field="items")
            core_items.append(
                CheckoutItem(
                    vendor_id=item.vendor_id,
                    product_id=item.product_id,
                    title=item.title or item.product_id,
                    quantity=item.quantity,
                    unit_price_minor=to_minor(
                        item.unit_price, currency=currency, field=f"items[{index}].unit_price"
                    ),
                    policy=item.policy,
                )
            )
        shipping_minor = {
            v: to_minor(m, currency=currency, field="shipping") for v, m in (shipping or {}).items()
        }

        def work(uow: UnitOfWork, now: _dt.datetime) -> tuple[Order, ...]:
            vendors = list(dict.fromkeys(i.vendor_id for i in core_items))
            decisions = core.place_checkout(
                checkout_id=self.ids.new_id("c"),
                buyer=buyer,
                customer_name=customer_name,
                currency=currency,
                items=core_items,
                shipping_minor=shipping_minor,
                paid_minor=paid_minor,
                order_ids={v: self.ids.new_id("o") for v in vendors},
                line_ids=[self.ids.new_id("l") for _ in core_items],
                now=now,
            )
            for order, events in decisions:
                uow.orders.add(order)
                self._record(uow, order, events, now)
            return tuple(order for order, _ in decisions)

        arguments = {
            "customer_name": customer_name,
            "items": list(items),
            "paid": paid,
            "shipping": shipping or {},
        }
        return self._execute(buyer, "place_checkout", idempotency_key, arguments, work)

    # --- shipping -------------------------------------------------------------------------

    def ship(
        self,
        order_id: str,
        *,
        by: Actor,
        items: Mapping[str, int],
        carrier: str,
        tracking_number: str,
        replacement_for: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """R5: create a shipment of ``items`` (line id -> units); the buyer is notified."""
        shipment_id = self.ids.new_id("s")
        return self._order_command(
            order_id,
            by,
            "ship",
            idempotency_key,
            {
                "items": items,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "replacement_for": replacement_for,
            },
            lambda order, now: core.ship(
                order,
                shipment_id=shipment_id,
                items=items,
                carrier=carrier,
                tracking_number=tracking_number,
                replacement_for=replacement_for,
                by=by,
                now=now,
            ),
        )

    def update_tracking(
        self,
        order_id: str,
        shipment_id: str,
        *,
        by: Actor,
        note: str = "",
        carrier: str | None = None,
        tracking_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """R6: add a tracking event or correct the number or carrier, until delivered."""
        return self._order_command(
            order_id,
            by,
            "update_tracking",
            idempotency_key,
            {
                "shipment_id": shipment_id,
                "note": note,
                "carrier": carrier,
                "tracking_number": tracking_number,
            },
            lambda order, now: core.update_tracking(
                order,
                shipment_id,
                note=note,
                carrier=carrier,
                tracking_number=tracking_number,
                by=by,
                now=now,
            ),
        )

    def mark_delivered(
        self, order_id: str, shipment_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Order:
        """R7: the shipment is delivered; the buyer is asked to confirm Order Received."""
        return self._order_command(
            order_id,
            by,
            "mark_delivered",
            idempotency_key,
            {"shipment_id": shipment_id},
            lambda order, now: core.mark_delivered(order, shipment_id, by=by, now=now),
        )

    def confirm_receipt(
        self, order_id: str, shipment_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Order:
        """R9, R14: the buyer confirms Order Received; the last confirmation completes the
        order."""
        return self._order_command(
            order_id,
            by,
            "confirm_receipt",
            idempotency_key,
            {"shipment_id": shipment_id},
            lambda order, now: core.confirm_receipt(order, shipment_id, by=by, now=now),
        )

    def complete_order(self, order_id: str, *, by: Actor) -> NoReturn:
        """R8: always refused. Completion is automatic on the last confirmation."""
        with self.store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
        step(order.status, Action.COMPLETE, by.kind)
        raise AssertionError("unreachable: COMPLETE has no table entry")  # pragma: no cover

    def cancel_order(
        self,
        order_id: str,
        *,
        by: Actor,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R11: cancel before anything ships, with a full refund to the buyer."""
        refund_id = self.ids.new_id("r")
        return self._order_command(
            order_id,
            by,
            "cancel_order",
            idempotency_key,
            {"reason": reason},
            lambda order, now: core.cancel(
                order, refund_id=refund_id, reason=reason, by=by, now=now
            ),
        )

    # --- issues ----------------------------------------------------------------------------

    def report_issue(
        self,
        order_id: str,
        *,
        by: Actor,
        kind: IssueKind,
        description: str,
        line_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> Order:
        """R12, R14: report a problem on some lines (or the whole order) before confirming
        their receipt. The new issue is the last of ``Order.issues``."""
        issue_id = self.ids.new_id("i")
        return self._order_command(
            order_id,
            by,
            "report_issue",
            idempotency_key,
            {"kind": kind, "description": description, "line_ids": list(line_ids)},
            lambda order, now: core.report_issue(
                order,
                issue_id=issue_id,
                kind=kind,
                description=description,
                line_ids=line_ids,
                by=by,
                now=now,
            ),
        )

    def respond_to_issue(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        message: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """R12: the vendor responds; the first response time is recorded."""
        return self._order_command(
            order_id,
            by,
            "respond_to_issue",
            idempotency_key,
            {"issue_id": issue_id, "message": message},
            lambda order, now: core.respond_to_issue(
                order, issue_id, message=message, by=by, now=now
            ),
        )

    def offer_settlement(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        resolution: Resolution,
        amount: Money | None = None,
        message: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R13, R38: the vendor offers a refund (partial or full), a replacement or nothing."""

        def decide(order: Order, now: _dt.datetime) -> Decision:
            minor = 0 if amount is None else to_minor(amount, currency=order.currency)
            return core.offer_settlement(
                order,
                issue_id,
                resolution=resolution,
                amount_minor=minor,
                message=message,
                by=by,
                now=now,
            )

        return self._order_command(
            order_id,
            by,
            "offer_settlement",
            idempotency_key,
            {"issue_id": issue_id, "resolution": resolution, "amount": amount, "message": message},
            decide,
        )

    def answer_settlement(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        accept: bool,
        idempotency_key: str | None = None,
    ) -> Order:
        """R38: the buyer accepts (the issue settles; a refund is made) or declines."""
        refund_id = self.ids.new_id("r")
        return self._order_command(
            order_id,
            by,
            "answer_settlement",
            idempotency_key,
            {"issue_id": issue_id, "accept": accept},
            lambda order, now: core.answer_settlement(
                order, issue_id, accept=accept, refund_id=refund_id, by=by, now=now
            ),
        )

    def withdraw_issue(
        self, order_id: str, issue_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Order:
        """R13: the buyer withdraws the issue."""
        return self._order_command(
            order_id,
            by,
            "withdraw_issue",
            idempotency_key,
            {"issue_id": issue_id},
            lambda order, now: core.withdraw_issue(order, issue_id, by=by, now=now),
        )

    def mediate_issue(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        outcome: IssueOutcome,
        refund: Money | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """R13: staff decide: a refund, a replacement, or rejected."""
        refund_id = self.ids.new_id("r")

        def decide(order: Order, now: _dt.datetime) -> Decision:
            minor = 0 if refund is None else to_minor(refund, currency=order.currency)
            return core.mediate_issue(
                order,
                issue_id,
                outcome=outcome,
                amount_minor=minor,
                refund_id=refund_id,
                by=by,
                now=now,
            )

        return self._order_command(
            order_id,
            by,
            "mediate_issue",
            idempotency_key,
            {"issue_id": issue_id, "outcome": outcome, "refund": refund},
            decide,
        )

    # --- refunds --------------------------------------------------------------------------

    def refund(
        self,
        order_id: str,
        *,
        by: Actor,
        amount: Money | None = None,
        items: Mapping[str, int] | None = None,
        shipping: Money | None = None,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R20: refund an amount, line quantities (line id -> units), shipping, or a mix; in
        the order currency, never above what was paid."""
        refund_id = self.ids.new_id("r")

        def decide(order: Order, now: _dt.datetime) -> Decision:
            return core.refund(
                order,
                refund_id=refund_id,
                amount_minor=0 if amount is None else to_minor(amount, currency=order.currency),
                items=items,
                shipping_minor=(
                    0
                    if shipping is None
                    else to_minor(shipping, currency=order.currency, field="shipping")
                ),
                reason=reason,
                by=by,
                now=now,
            )

        return self._order_command(
            order_id,
            by,
            "refund",
            idempotency_key,
            {"amount": amount, "items": items or {}, "shipping": shipping, "reason": reason},
            decide,
        )

    # --- queries ----------------------------------------------------------------------------

    @staticmethod
    def _may_read(order: Order, by: Actor) -> None:
        if by.kind in (ActorKind.STAFF, ActorKind.SYSTEM):
            return
        core._owner_check(order, by)

    def get_order(self, order_id: str, *, by: Actor) -> Order:
        """The order, for its vendor, its buyer or staff (R1)."""
        with self.store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
        self._may_read(order, by)
        return order

    def order_history(self, order_id: str, *, by: Actor) -> tuple[DomainEvent, ...]:
        """Every event of the order, oldest first: who, what, when (R42)."""
        with self.store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
            self._may_read(order, by)
            return uow.events.history(order_id)

    def orders_of_checkout(self, checkout_id: str, *, by: Actor) -> tuple[Order, ...]:
        """The orders a checkout became, for its buyer or staff."""
        with self.store.unit_of_work() as uow:
            orders = uow.orders.for_checkout(checkout_id)
        for order in orders:
            self._may_read(order, by)
        return orders


class Marketplace(_MoneyCommands, _ChatCommands, _OrderCommands):
    """The marketplace facade. Build one per process around a store:

    >>> from asolora_core import InMemoryStore, Marketplace
    >>> market = Marketplace(InMemoryStore())
    """
