"""Many processes on one PostgreSQL database (R17, R18, R20, R29, R35, R36, R40, R24): real
processes, real faults (SIGKILL mid-transaction). Skips without ``ASOLORA_TEST_POSTGRES_DSN``.

The processes are forked; each opens its own :class:`PostgresStore` on the test's schema.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    ConcurrencyConflictError,
    FakeClock,
    IdempotencyKeyReusedError,
    Item,
    Marketplace,
    MarketplaceConfig,
    RefundExceedsPaidError,
)
from asolora_core.events import Notification
from asolora_core.orders.listing import OrderQuery
from pg_support import dsn, make_store, postgres

pytestmark = postgres

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("s-1")
FORK = mp.get_context("fork")


@pytest.fixture
def schema() -> Iterator[str]:
    store = make_store()
    assert store.schema is not None
    name: str = store.schema
    yield name
    store.close()


#: Timers a worker claims per transaction here (the default is 200).
SWEEP_BATCH = 10


def _market(schema: str, clock: FakeClock, notifier: Any = None) -> Marketplace:
    from asolora_core.adapters.postgres import PostgresStore

    store = PostgresStore(dsn(), schema=schema, migrate=False)
    # small sweep batches: every worker has timers of its own to release (none is left idle,
    # done early), and the batches of different workers interleave
    config = MarketplaceConfig(sweep_batch=SWEEP_BATCH)
    return Marketplace(store, clock=clock, notifier=notifier, config=config)


def _run_all(target: Callable[..., None], args: list[tuple[Any, ...]]) -> None:
    procs = [FORK.Process(target=target, args=a, daemon=True) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def _items(vendor: str, price: str) -> list[Item]:
    return [Item(vendor_id=vendor, product_id="p-1", quantity=1, unit_price=Money(price, "EUR"))]


# --- one idempotency key from sixteen processes (R35) -----------------------------------------


def _send_once(schema: str, barrier: Any, results: Any) -> None:
    market = _market(schema, FakeClock(START))
    barrier.wait()
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=_items("v-1", "9.00"),
        paid=Money("9.00", "EUR"),
        idempotency_key="checkout-1",
    )
    results.put(order.order_id)


def test_sixteen_processes_send_one_key_and_it_takes_effect_once(schema: str) -> None:
    """R35: sixteen processes send one checkout with the same key at once: one order is
    placed, every process gets it back; the key with another command is refused."""
    barrier = FORK.Barrier(16)
    results = FORK.Queue()
    _run_all(_send_once, [(schema, barrier, results)] * 16)
    ids = {results.get(timeout=10) for _ in range(16)}
    assert len(ids) == 1
    market = _market(schema, FakeClock(START))
    try:
        with market.store.unit_of_work() as uow:
            found = uow.orders.page(OrderQuery(vendor_id="v-1"), after=None, limit=100)
            assert [o.order_id for o in found] == list(ids)
        with pytest.raises(IdempotencyKeyReusedError):
            market.place_checkout(
                buyer=BUYER,
                customer_name="Ada",
                items=_items("v-1", "5.00"),
                paid=Money("5.00", "EUR"),
                idempotency_key="checkout-1",
            )
    finally:
        market.store.close()


# --- concurrent refunds and updates (R20, R36) -------------------------------------------------


def _refund_until_refused(schema: str, order_id: str, barrier: Any, results: Any) -> None:
    market = _market(schema, FakeClock(START))
    barrier.wait()
    refunded = 0
    for _ in range(200):  # bounded: a broken store fails, not hangs
        try:
            market.refund(order_id, by=Actor.vendor("v-1"), amount=Money("7.00", "EUR"))
            refunded += 700
        except ConcurrencyConflictError:
            continue
        except RefundExceedsPaidError:
            break
    results.put(refunded)


def test_concurrent_refunds_never_exceed_what_was_paid(schema: str) -> None:
    """R20, R36: four processes refund 7.00 of a 100.00 order again and again: together they
    refund 98.00 (14 refunds), never more; order, hold and journal agree."""
    market = _market(schema, FakeClock(START))
    try:
        (order,) = market.place_checkout(
            buyer=BUYER,
            customer_name="Ada",
            items=_items("v-1", "100.00"),
            paid=Money("100.00", "EUR"),
        )
        barrier = FORK.Barrier(4)
        results = FORK.Queue()
        _run_all(_refund_until_refused, [(schema, order.order_id, barrier, results)] * 4)
        total = sum(results.get(timeout=10) for _ in range(4))
        final = market.get_order(order.order_id, by=STAFF)
        assert total == final.refunded_minor == 9800
        assert market.get_hold(order.order_id, by=STAFF).refunded_minor == 9800
        assert market.verify_journal(by=STAFF).ok
    finally:
        market.store.close()


def _track(schema: str, order_id: str, shipment_id: str, name: str, barrier: Any) -> None:
    market = _market(schema, FakeClock(START))
    barrier.wait()
    for k in range(10):
        for _ in range(500):
            try:
                market.update_tracking(
                    order_id, shipment_id, by=Actor.vendor("v-1"), note=f"{name}-{k}"
                )
                break
            except ConcurrencyConflictError:
                continue


def test_concurrent_updates_of_one_order_lose_no_write(schema: str) -> None:
    """R36: four processes update one order ten times each, retrying on conflicts: all
    forty updates are kept, each once, and the version counts them."""
    market = _market(schema, FakeClock(START))
    try:
        (order,) = market.place_checkout(
            buyer=BUYER, customer_name="Ada", items=_items("v-1", "3.00"), paid=Money("3.00", "EUR")
        )
        order = market.ship(
            order.order_id,
            by=Actor.vendor("v-1"),
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="T",
        )
        shipment = order.shipments[0].shipment_id
        barrier = FORK.Barrier(4)
        _run_all(_track, [(schema, order.order_id, shipment, n, barrier) for n in "abcd"])
        final = market.get_order(order.order_id, by=STAFF)
        notes = sorted(e.note for e in final.shipments[0].tracking[1:])
        assert notes == sorted(f"{n}-{k}" for n in "abcd" for k in range(10))
        assert final.version == order.version + 40
    finally:
        market.store.close()


# --- four workers, SIGKILL: due releases and payouts exactly once (R17, R18, R24, R29, R40) ----

ORDERS = 300
VENDORS = ("v-1", "v-2", "v-3", "v-4", "v-5")


class _TableNotifier:
    """Records every send in the ``sent`` table (the dedupe key is the message id)."""

    def __init__(self, schema: str) -> None:
        import psycopg

        self._dsn, self._options = dsn(), f"-c search_path={schema}"
        self._conn = psycopg.connect(self._dsn, autocommit=True, options=self._options)

    def close(self) -> None:
        self._conn.close()

    def send(self, message_id: str, notification: Notification) -> None:
        import psycopg

        if self._conn.broken or self._conn.closed:  # the server restarted: a new connection
            self._conn = psycopg.connect(self._dsn, autocommit=True, options=self._options)
        self._conn.execute("INSERT INTO sent (message_id) VALUES (%s)", (message_id,))


def _sweeper(schema: str, at: dt.datetime) -> None:
    import psycopg

    market = _market(schema, FakeClock(at), notifier=_TableNotifier(schema))
    while True:
        try:
            report = market.run_due()
            paid = market.run_payouts()
        except ConcurrencyConflictError:
            continue
        except psycopg.OperationalError:  # the server is restarting: try again shortly
            time.sleep(0.2)
            continue
        if not report.timers and not paid and not report.notifications.delivered:
            return


def _placed_and_completed(market: Marketplace, n: int) -> None:
    for i in range(n):
        vendor = VENDORS[i % len(VENDORS)]
        (order,) = market.place_checkout(
            buyer=BUYER,
            customer_name="Ada",
            items=_items(vendor, "10.00"),
            paid=Money("10.00", "EUR"),
        )
        v = Actor.vendor(vendor)
        order = market.ship(
            order.order_id,
            by=v,
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="T",
        )
        shipment = order.shipments[0].shipment_id
        market.mark_delivered(order.order_id, shipment, by=v)
        market.confirm_receipt(order.order_id, shipment, by=BUYER)


def _seeded(market: Marketplace, orders: int) -> dt.datetime:
    """``orders`` completed orders and the ``sent`` table; the instant they are all due."""
    _placed_and_completed(market, orders)
    with market.store.unit_of_work() as uow:
        uow.run("CREATE TABLE IF NOT EXISTS sent (message_id text NOT NULL)")  # type: ignore[attr-defined]
        uow.commit()
    return START + dt.timedelta(hours=169)


def _check_released_and_paid_once(
    market: Marketplace, schema: str, due: dt.datetime, orders: int
) -> None:
    """Every due order released once, every balance paid once, the journal verifies, every
    notification in the outbox once and delivered under its key."""
    # messages leased by a killed worker come back when the lease ends (R29): a relay
    # after it delivers them
    relay = _TableNotifier(schema)
    later = _market(schema, FakeClock(due), notifier=relay)
    while later.deliver_notifications(now=due + dt.timedelta(minutes=6)).delivered:
        pass
    later.store.close()
    relay.close()

    journal = market.journal(by=STAFF)
    releases = [t.order_id for t in journal if t.kind == "release"]
    assert len(releases) == len(set(releases)) == orders
    payouts = [t for t in journal if t.kind == "payout"]
    for vendor in VENDORS:
        balance = market.balance(vendor, by=STAFF)
        assert balance.balance_minor == 0
        paid = [p.amount_minor for p in market.payouts(vendor, by=STAFF)]
        assert sum(paid) == balance.paid_out_minor == balance.released_minor
    assert len(payouts) == sum(len(market.payouts(v, by=STAFF)) for v in VENDORS)
    report = market.verify_journal(by=STAFF)
    assert report.ok, report.problems
    outbox = market.outbox(by=STAFF)
    money = [
        (m.notification.kind, m.notification.subject_id)
        for m in outbox
        if m.notification.kind in ("proceeds.released", "payout.paid")
    ]
    assert len(money) == len(set(money))
    assert sum(k == "proceeds.released" for k, _ in money) == orders
    assert sum(k == "payout.paid" for k, _ in money) == len(payouts)
    with market.store.unit_of_work() as uow:
        sent = {r[0] for r in uow.fetchall("SELECT message_id FROM sent")}  # type: ignore[attr-defined]
    assert sent == {m.message_id for m in outbox}
    assert all(m.delivered_at is not None for m in outbox)


def test_four_workers_killed_at_random_release_and_pay_exactly_once(schema: str) -> None:
    """R17, R18, R24, R29, R40: four worker processes sweep due releases and run payouts at
    once while the test SIGKILLs random workers (mid-transaction) and starts new ones. Every
    due order is released once, every vendor paid once per balance, the journal verifies,
    every notification is in the outbox once and delivered under its key."""
    market = _market(schema, FakeClock(START))
    try:
        due = _seeded(market, ORDERS)
        rng = random.Random(7)
        workers = [FORK.Process(target=_sweeper, args=(schema, due)) for _ in range(4)]
        for w in workers:
            w.start()
        kills = 0
        while kills < 8 and any(w.is_alive() for w in workers):
            victim = rng.randrange(len(workers))
            workers[victim].join(timeout=rng.uniform(0.05, 0.3))  # let it run a little
            if workers[victim].is_alive():
                os.kill(workers[victim].pid or 0, signal.SIGKILL)
                workers[victim].join()
                kills += 1
                workers[victim] = FORK.Process(target=_sweeper, args=(schema, due))
                workers[victim].start()
        for w in workers:
            w.join(timeout=300)
        assert all(w.exitcode == 0 for w in workers)
        assert kills > 0  # the faults did happen
        _check_released_and_paid_once(market, schema, due, ORDERS)
    finally:
        market.store.close()


def test_a_sweep_claims_the_vendors_another_sweep_is_not_releasing_to_first(
    schema: str,
) -> None:
    """R40: while one sweep holds a vendor (it is releasing to its balance), another sweep's
    claim takes the due releases of other vendors first, earliest first, and the held
    vendor's only to fill its batch; nothing is claimed twice and nothing is lost."""
    from asolora_core.adapters.postgres import PostgresStore

    market = _market(schema, FakeClock(START))
    other = PostgresStore(dsn(), schema=schema, migrate=False)
    try:
        due = _seeded(market, 10)  # two due orders for each of the five vendors
        with market.store.unit_of_work() as uow:
            vendor_of = {
                t.timer_id: hold.vendor_id
                for t in uow.timers.claim_due(due, 100)
                if (hold := uow.ledger.get_hold(t.aggregate_id)) is not None
            }
            # rolled back: every timer stays due
        assert len(vendor_of) == 10
        with other.unit_of_work() as holder:
            holder.ledger.lock_vendors(["v-1"])
            with market.store.unit_of_work() as uow:
                first = uow.timers.claim_due(due, 8)
                rest = uow.timers.claim_due(due, 8)
        assert [vendor_of[t.timer_id] for t in first].count("v-1") == 0
        assert len(first) == 8
        assert sorted(vendor_of[t.timer_id] for t in rest) == ["v-1", "v-1"]
        assert first == tuple(sorted(first, key=lambda t: (t.due_at, t.timer_id)))
    finally:
        other.close()
        market.store.close()


def test_a_failed_timer_another_sweep_holds_is_left_to_it_without_waiting(schema: str) -> None:
    """R40: a sweep setting a failed timer aside while another sweep holds that timer
    (claimed, its transaction still open) leaves it to that sweep at once (``SKIP LOCKED``)
    instead of waiting for it: that sweep runs it, or sets it aside itself if it fails
    too. Once nobody holds it, the set-aside moves it."""
    from asolora_core.ports import Timer

    timer = Timer(timer_id="t-1", kind="test", aggregate_id="o-1", ref="", due_at=START)
    first, second = make_store(schema), make_store(schema)
    try:
        with first.unit_of_work() as uow:
            uow.timers.schedule(timer)
            uow.commit()
        with second.unit_of_work() as held:
            assert held.timers.claim_due(START, 10) == (timer,)
            with first.unit_of_work() as uow:
                uow.run("SET LOCAL lock_timeout = '10s'")  # waiting fails the test, not hangs
                assert uow.timers.set_aside(timer, START + dt.timedelta(hours=1)) is False
                uow.commit()
            held.rollback()  # that sweep failed too: the timer is back as it was
        with first.unit_of_work() as uow:
            assert uow.timers.set_aside(timer, START + dt.timedelta(hours=1)) is True
            uow.commit()
        with first.unit_of_work() as uow:
            assert uow.timers.claim_due(START + dt.timedelta(hours=2), 10) == (
                Timer(
                    timer_id="t-1",
                    kind="test",
                    aggregate_id="o-1",
                    ref="",
                    due_at=START + dt.timedelta(hours=1),
                ),
            )
    finally:
        second.close()
        first.close()


def _local_cluster() -> list[str] | None:
    """The command that restarts the local PostgreSQL server the DSN names, if this process
    may run it (root, Debian's pg_ctlcluster, a 127.0.0.1/localhost DSN)."""
    local = any(h in dsn() for h in ("@127.0.0.1", "@localhost", "host=127.0.0.1"))
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not local or not versions or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        return None
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"]


def test_workers_reconnect_and_finish_when_the_server_restarts(schema: str) -> None:
    """R17, R18, R24, R40: the PostgreSQL server restarts while four workers sweep: they
    reconnect and finish; every order is still released once and paid once."""
    restart = _local_cluster()
    if restart is None:
        pytest.skip("needs root and a local Debian PostgreSQL cluster to restart")
    import psycopg

    market = _market(schema, FakeClock(START))
    try:
        due = _seeded(market, ORDERS // 2)
        # the journal head held by this test: every worker's first batch stops at its append,
        # mid-transaction, so the restart lands mid-run however fast the sweep is
        blocker = psycopg.connect(dsn(), options=f"-c search_path={schema}")
        blocker.execute("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE")
        workers = [FORK.Process(target=_sweeper, args=(schema, due)) for _ in range(4)]
        for w in workers:
            w.start()
        workers[0].join(timeout=0.3)  # let them get going
        assert all(w.is_alive() for w in workers)  # the restart lands mid-run
        subprocess.run(restart, check=True, capture_output=True, timeout=120)
        with contextlib.suppress(psycopg.Error):
            blocker.close()  # the restart ended its transaction
        for w in workers:
            w.join(timeout=300)
        assert all(w.exitcode == 0 for w in workers)
        _check_released_and_paid_once(market, schema, due, ORDERS // 2)
    finally:
        market.store.close()
