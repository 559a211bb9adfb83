"""A notifier that fails in ways a real one does, on every store (R29, R33).

Each message is delivered at least once, and a message the notifier took is never sent again
by the worker that sent it: whatever the notifier raises, and however long it takes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    Item,
    Marketplace,
    MarketplaceConfig,
    RecordingNotifier,
    SequentialIds,
)
from asolora_core.events import Notification
from asolora_core.ports import Store

STAFF = Actor.staff("ops")


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("this exception cannot be shown")


def _place(market: Marketplace, n: int) -> None:
    for _ in range(n):
        market.place_checkout(
            buyer=Actor.buyer("ada"),
            customer_name="Ada",
            items=[
                Item(vendor_id="anna", product_id="mug", quantity=1, unit_price=Money("18", "EUR"))
            ],
            paid=Money("18", "EUR"),
        )


class FailingOnce:
    """Sends everything, but raises ``error`` the first time it is handed message number
    ``nth`` (1-based, in sending order)."""

    def __init__(self, error: Callable[[], BaseException], nth: int = 2) -> None:
        self.error = error
        self.nth = nth
        self.sent: list[str] = []
        self.raised = False

    def send(self, message_id: str, notification: Notification) -> None:
        self.sent.append(message_id)
        if len(self.sent) == self.nth and not self.raised:
            self.raised = True
            raise self.error()


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(lambda: RuntimeError("host \ud800 refused"), id="lone-surrogate"),
        pytest.param(lambda: RuntimeError("bad byte \x00 in reply"), id="nul"),
        pytest.param(_Unprintable, id="str-raises"),
        pytest.param(lambda: RuntimeError("x" * 100_000), id="long"),
    ],
)
def test_any_notifier_error_is_recorded_and_nothing_is_sent_twice(
    store: Store, clock: FakeClock, error: Callable[[], BaseException]
) -> None:
    """R29: whatever a notifier's exception says (text no store can keep as it is: a lone
    surrogate, a NUL; an exception whose ``str()`` itself raises), the messages sent in the
    same pass are marked delivered and never sent again, and the failed one is retried
    with backoff, its error kept for staff."""
    notifier = FailingOnce(error)
    market = Marketplace(store, clock=clock, notifier=notifier, ids=SequentialIds())
    _place(market, 2)  # four messages: two "new order", two receipts
    report = market.deliver_notifications()
    assert (report.delivered, report.retried, report.failed) == (3, 1, 0)
    failed_id = notifier.sent[1]
    (failed,) = [m for m in market.outbox(by=STAFF) if m.delivered_at is None]
    assert failed.message_id == failed_id
    assert failed.attempts == 1
    assert failed.last_error
    assert len(failed.last_error) <= 500
    clock.advance(minutes=10)  # past the lease and the backoff
    assert market.deliver_notifications().delivered == 1
    assert Counter(notifier.sent) == {m.message_id: 1 for m in market.outbox(by=STAFF)} | {
        failed_id: 2
    }
    assert all(m.delivered_at is not None for m in market.outbox(by=STAFF))


def test_a_relay_whose_lease_ran_out_leaves_the_rest_to_the_next_one(
    store: Store, clock: FakeClock
) -> None:
    """R29: a notifier slower than the lease (``outbox_lease``) makes the lease of the
    messages not yet sent run out, and another worker relays them; the first worker then
    sends none of them again (only the message it was sending when its lease ran out may
    reach the notifier twice, which at-least-once delivery allows)."""
    sent: list[tuple[str, str]] = []
    config = MarketplaceConfig(outbox_lease=dt.timedelta(minutes=5), order_receipts=False)

    class Other:
        def send(self, message_id: str, notification: Notification) -> None:
            sent.append(("b", message_id))

    other = Marketplace(store, clock=clock, notifier=Other(), config=config)

    class Slow:
        def send(self, message_id: str, notification: Notification) -> None:
            sent.append(("a", message_id))
            if len(sent) == 1:
                clock.advance(minutes=6)  # the first send hangs past the lease...
                other.deliver_notifications()  # ...and another worker relays meanwhile

    market = Marketplace(store, clock=clock, notifier=Slow(), ids=SequentialIds(), config=config)
    _place(market, 3)
    market.deliver_notifications()
    first = sent[0][1]
    ids = [m.message_id for m in market.outbox(by=STAFF)]
    assert len(ids) == 3
    assert Counter(m for _, m in sent) == dict.fromkeys(ids, 1) | {first: 2}
    assert [who for who, m in sent if m != first] == ["b", "b"]
    assert all(m.delivered_at is not None for m in market.outbox(by=STAFF))
    clock.advance(hours=2)
    assert market.deliver_notifications().delivered == 0
    assert other.deliver_notifications().delivered == 0
    assert len(sent) == 4


class _Relaying:
    """A notifier that records what it sends as ``name``; on its first send it runs
    ``meanwhile`` (another worker's move while this relay holds its batch)."""

    def __init__(self, sent: list[tuple[str, str]], name: str) -> None:
        self.sent = sent
        self.name = name
        self.meanwhile: Callable[[], None] | None = None

    def send(self, message_id: str, notification: Notification) -> None:
        self.sent.append((self.name, message_id))
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()


def test_a_relay_for_an_earlier_instant_holds_its_batch_for_the_whole_lease(
    store: Store, clock: FakeClock
) -> None:
    """R29: a relay run for an instant before the clock's (``run_due(now=...)`` catching
    up, ``deliver_notifications(now=...)``) holds its batch for ``outbox_lease`` from the
    clock's now, as every relay measures the lease: another worker relaying at the clock's
    now meanwhile takes none of it, and every message is sent once."""
    sent: list[tuple[str, str]] = []
    config = MarketplaceConfig(outbox_lease=dt.timedelta(minutes=5), order_receipts=False)
    here, there = _Relaying(sent, "here"), _Relaying(sent, "there")
    market = Marketplace(store, clock=clock, notifier=here, ids=SequentialIds(), config=config)
    other = Marketplace(store, clock=clock, notifier=there, config=config)
    _place(market, 3)
    placed = clock.now()
    clock.advance(hours=1)
    others: list[int] = []
    here.meanwhile = lambda: others.append(other.deliver_notifications().delivered)
    assert market.deliver_notifications(now=placed).delivered == 3
    assert others == [0]
    ids = [m.message_id for m in market.outbox(by=STAFF)]
    assert sorted(sent) == sorted(("here", i) for i in ids)
    assert all(m.delivered_at == placed for m in market.outbox(by=STAFF))


def test_a_relay_for_a_later_instant_sends_its_batch_while_its_lease_lasts(
    store: Store, clock: FakeClock
) -> None:
    """R29: a relay run for an instant after the clock's holds its batch until
    ``outbox_lease`` after that instant, the first moment another relay may take it; so it
    sends the whole batch until then, however slow the notifier by the clock, instead of
    stopping and leaving messages that nobody may send before the lease ends. Another
    worker relaying meanwhile (at the clock's now or at the same instant) takes none."""
    sent: list[tuple[str, str]] = []
    config = MarketplaceConfig(outbox_lease=dt.timedelta(minutes=5), order_receipts=False)
    here, there = _Relaying(sent, "here"), _Relaying(sent, "there")
    market = Marketplace(store, clock=clock, notifier=here, ids=SequentialIds(), config=config)
    other = Marketplace(store, clock=clock, notifier=there, config=config)
    _place(market, 3)
    ahead = clock.now() + dt.timedelta(days=1)
    others: list[int] = []

    def slow_and_another_relay() -> None:
        clock.advance(minutes=6)  # longer than the lease, by the clock
        others.append(other.deliver_notifications().delivered)
        others.append(other.deliver_notifications(now=ahead).delivered)

    here.meanwhile = slow_and_another_relay
    assert market.deliver_notifications(now=ahead).delivered == 3
    assert others == [0, 0]
    ids = [m.message_id for m in market.outbox(by=STAFF)]
    assert sorted(sent) == sorted(("here", i) for i in ids)


def test_a_notifier_interrupted_mid_batch_keeps_what_it_sent(
    store: Store, clock: FakeClock
) -> None:
    """R29: a notifier interrupted by an exception that is not an ``Exception`` (a
    cancelled task's ``CancelledError``, ``KeyboardInterrupt``) stops the relay, which lets
    it through, but what was sent before it is recorded as delivered: after the lease, only
    the interrupted message and those after it are sent."""
    notifier = FailingOnce(asyncio.CancelledError, nth=3)
    market = Marketplace(store, clock=clock, notifier=notifier, ids=SequentialIds())
    _place(market, 2)
    with pytest.raises(asyncio.CancelledError):
        market.deliver_notifications()
    assert sum(m.delivered_at is not None for m in market.outbox(by=STAFF)) == 2
    clock.advance(minutes=6)  # past the lease of the interrupted message
    assert market.deliver_notifications().delivered == 2
    assert Counter(notifier.sent) == dict.fromkeys(
        [m.message_id for m in market.outbox(by=STAFF)], 1
    ) | {notifier.sent[2]: 2}


def test_retention_goes_on_after_the_clock_stepped_back(store: Store, clock: FakeClock) -> None:
    """R29, R35: a sweep run for a later instant (``run_due(now=...)``, or a system clock
    that an NTP step moves back afterwards) does not stop the retention of the sweeps that
    follow at the clock's own time."""
    market = Marketplace(store, clock=clock, notifier=RecordingNotifier(), ids=SequentialIds())
    market.run_due(now=clock.now() + dt.timedelta(days=30))  # ahead of the clock
    _place(market, 1)
    assert market.run_due().notifications.delivered == 2
    clock.advance(days=7, minutes=5)
    assert market.run_due().purged == {"idempotency": 0, "outbox": 2}
