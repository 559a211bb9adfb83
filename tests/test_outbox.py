"""The outbox: notifications stored with the change, delivered at least once (R2, R29).

Every test runs on the in-memory store and on a SQLite file, through the facade, with a
FakeClock that the test moves forward and a RecordingNotifier.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InMemoryStore,
    InvalidInputError,
    Item,
    Marketplace,
    MarketplaceConfig,
    NotPermittedError,
    Order,
    RecordingNotifier,
    SequentialIds,
    SqliteStore,
)
from asolora_core.events import Notification
from asolora_core.ports import OutboxMessage, Store

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)
VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("staff-1")
SECOND = _dt.timedelta(seconds=1)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = (
        InMemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "outbox.db")
    )
    yield made
    made.close()


class World:
    """A marketplace on ``store`` with a fake clock and a recording notifier."""

    def __init__(self, store: Store, **config: object) -> None:
        # These tests follow the vendor's messages one by one; the buyer's receipt on
        # placement (R29) is tested with the order notifications.
        config.setdefault("order_receipts", False)
        self.clock = FakeClock(T0)
        self.notifier = RecordingNotifier()
        self.market = Marketplace(
            store,
            clock=self.clock,
            notifier=self.notifier,
            ids=SequentialIds(),
            config=MarketplaceConfig(**config),  # type: ignore[arg-type]
        )

    def place(self) -> Order:
        (order,) = self.market.place_checkout(
            buyer=BUYER,
            customer_name="Ada Lovelace",
            items=[
                Item(
                    vendor_id="v-1",
                    product_id="p-1",
                    quantity=2,
                    unit_price=Money(Decimal("10.00"), "EUR"),
                )
            ],
            paid=Money(Decimal("20.00"), "EUR"),
        )
        return order

    def ship(self, order: Order, units: int = 1, number: str = "TN-1") -> Order:
        return self.market.ship(
            order.order_id,
            by=VENDOR,
            items={order.lines[0].line_id: units},
            carrier="DHL",
            tracking_number=number,
        )

    def outbox(self) -> dict[str, OutboxMessage]:
        return {m.message_id: m for m in self.market.outbox(by=STAFF)}

    def pending(self) -> list[OutboxMessage]:
        return [m for m in self.outbox().values() if m.delivered_at is None and not m.failed]


def test_the_change_and_its_notification_are_stored_together(store: Store) -> None:
    """R3, R29: placing an order stores the order.placed notification for the vendor in the
    same commit, before anything is delivered."""
    world = World(store)
    order = world.place()
    (message,) = world.outbox().values()
    assert message.notification == Notification(
        recipient=VENDOR,
        kind="order.placed",
        subject_id=order.order_id,
        text=f"New order {order.order_id}: start preparing it for shipment.",
        event_at=T0,
    )
    assert (message.attempts, message.delivered_at, message.failed) == (0, None, False)
    assert message.next_attempt_at == message.created_at == T0
    assert world.notifier.sent == []


def test_a_refused_command_adds_nothing_to_the_outbox(store: Store) -> None:
    """R2, R29: a refused command (not permitted, bad input, even with an idempotency key)
    writes no notification."""
    world = World(store)
    order = world.place()
    before = world.outbox()
    with pytest.raises(NotPermittedError):
        world.market.ship(
            order.order_id,
            by=Actor.vendor("v-2"),
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="T",
        )
    with pytest.raises(NotPermittedError):
        world.market.cancel_order(order.order_id, by=Actor.buyer("b-2"), idempotency_key="k")
    with pytest.raises(InvalidInputError, match="only 2 left to ship"):
        world.ship(order, units=3)
    assert world.outbox() == before


def test_a_failing_notifier_never_loses_a_message_nor_undoes_the_change(store: Store) -> None:
    """R29: the notifier fails: the shipment stays, the message stays pending with its
    attempt and error recorded, and it is delivered once the notifier works again."""
    world = World(store)
    order = world.ship(world.place())
    world.notifier.fail_next = 2
    report = world.market.deliver_notifications()
    assert (report.delivered, report.retried, report.failed) == (0, 2, 0)
    assert world.market.get_order(order.order_id, by=STAFF) == order
    pending = world.pending()
    assert [m.notification.kind for m in pending] == ["order.placed", "shipment.created"]
    assert all(m.attempts == 1 and "ConnectionError" in m.last_error for m in pending)
    world.clock.advance(seconds=30)
    report = world.market.deliver_notifications()
    assert (report.delivered, report.retried, report.failed) == (2, 0, 0)
    assert world.notifier.kinds() == ["order.placed", "shipment.created"]
    assert world.pending() == []


def test_retries_back_off_exponentially(store: Store) -> None:
    """R29: after the n-th failure the next attempt is due outbox_retry_after * 2**(n-1)
    later; before that the message is not sent again."""
    world = World(store, outbox_retry_after=_dt.timedelta(seconds=10))
    world.place()
    world.notifier.fail_next = 3
    waits = []
    for expected_wait in (10, 20, 40):
        assert world.market.deliver_notifications().retried == 1
        (message,) = world.pending()
        wait = message.next_attempt_at - world.clock.now()
        waits.append(wait.total_seconds())
        world.clock.advance(seconds=expected_wait - 1)
        assert world.market.deliver_notifications().retried == 0  # not due yet
        world.clock.advance(seconds=1)
    assert waits == [10, 20, 40]
    assert world.market.deliver_notifications().delivered == 1
    (message,) = world.outbox().values()
    assert message.attempts == 4
    assert message.delivered_at == world.clock.now()


def test_gives_up_after_max_attempts_and_keeps_the_message_as_failed(store: Store) -> None:
    """R29: after outbox_max_attempts failures the message is marked failed, kept (with its
    last error) for staff to see, and not retried any more."""
    world = World(store, outbox_max_attempts=3)
    order = world.place()
    world.notifier.fail_next = 100
    reports = []
    for _ in range(5):
        reports.append(world.market.deliver_notifications())
        world.clock.advance(hours=2)
    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    (message,) = world.outbox().values()
    assert message.failed
    assert message.attempts == 3
    assert message.delivered_at is None
    assert message.last_error == "ConnectionError: recording notifier told to fail"
    assert world.notifier.fail_next == 97  # three sends were tried, no more
    assert world.market.get_order(order.order_id, by=STAFF) == order


def test_happy_path_delivers_every_message_exactly_once(store: Store) -> None:
    """R29: with a working notifier each message is sent once, however often the relay
    runs, in the order the changes happened."""
    world = World(store)
    order = world.ship(world.place(), units=2)
    world.market.deliver_notifications()
    shipment = order.shipments[0].shipment_id
    world.clock.advance(hours=1)
    world.market.update_tracking(order.order_id, shipment, by=VENDOR, note="out for delivery")
    world.market.mark_delivered(order.order_id, shipment, by=VENDOR)
    for _ in range(3):
        world.market.deliver_notifications()
        world.market.run_due()
    world.market.confirm_receipt(order.order_id, shipment, by=BUYER)
    world.market.deliver_notifications()
    world.market.deliver_notifications()

    sent_ids = [message_id for message_id, _ in world.notifier.sent]
    assert len(sent_ids) == len(set(sent_ids))
    outbox = world.outbox()
    assert set(sent_ids) == set(outbox)
    assert all(m.delivered_at is not None and m.attempts == 1 for m in outbox.values())
    assert world.notifier.kinds() == [
        "order.placed",
        "shipment.created",
        "shipment.tracking_updated",
        "shipment.delivered",
        "shipment.confirmed",
        "order.completed",
        "order.completed",
    ]
    assert [m.notification for m in outbox.values()] == [n for _, n in world.notifier.sent]


class WorkerDied(BaseException):
    """A relay process killed after the notifier accepted a message (not an Exception, so
    the relay does not treat it as a failed send)."""


def test_a_worker_dying_after_sending_leads_to_redelivery_after_the_lease(store: Store) -> None:
    """R29: at least once: a relay leases the message, sends it, and dies before marking it
    delivered; other relays skip it while the lease lasts, then it is sent again with the
    same message id (so the receiver can drop the duplicate)."""
    world = World(store, outbox_lease=_dt.timedelta(minutes=5))
    world.place()
    sent_before_dying: list[str] = []

    class DyingNotifier:
        def send(self, message_id: str, notification: Notification) -> None:
            sent_before_dying.append(message_id)
            raise WorkerDied

    dying = Marketplace(store, clock=world.clock, notifier=DyingNotifier(), ids=SequentialIds())
    with pytest.raises(WorkerDied):
        dying.deliver_notifications()
    (message,) = world.outbox().values()
    assert sent_before_dying == [message.message_id]
    assert message.delivered_at is None
    assert message.attempts == 0
    assert message.next_attempt_at == T0 + _dt.timedelta(minutes=5)  # leased

    world.clock.set(T0 + _dt.timedelta(minutes=5) - SECOND)
    assert world.market.deliver_notifications().delivered == 0  # still leased
    world.clock.advance(seconds=1)
    assert world.market.deliver_notifications().delivered == 1
    assert [message_id for message_id, _ in world.notifier.sent] == [message.message_id]
    (message,) = world.outbox().values()
    assert message.delivered_at == T0 + _dt.timedelta(minutes=5)
    assert world.market.deliver_notifications().delivered == 0


def test_leased_messages_are_skipped_by_a_second_relay(store: Store) -> None:
    """R29: while one relay holds a lease, a second relay running at the same instant finds
    nothing due, so a working notifier is not sent the message twice."""
    world = World(store)
    world.place()
    with store.unit_of_work() as uow:
        (message,) = uow.outbox.due(T0, 10)
        uow.outbox.update(
            OutboxMessage(
                message_id=message.message_id,
                notification=message.notification,
                created_at=message.created_at,
                next_attempt_at=T0 + _dt.timedelta(minutes=5),
            )
        )
        uow.commit()
    assert world.market.deliver_notifications().delivered == 0
    assert world.notifier.sent == []
