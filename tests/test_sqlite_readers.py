"""Queries never wait behind a writer (R33): they run in read transactions (``Store.reader``).

A second process opens a write transaction on the file, writes, and signals through an Event
that it holds the write lock; it keeps it until the parent says it is done. Meanwhile the
parent runs every query of the facade on a store whose busy timeout is zero, so a query that
asked for the write lock (or waited for it) would fail at once with "database is locked".
No sleeps: the two processes meet on Events.
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing as mp
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from moneyed import Money

from asolora_core import Actor, FakeClock, Item, Marketplace, SqliteStore
from asolora_core.adapters.sqlite_gate import FifoLock

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)
VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("staff-1")
TIMEOUT = 60.0


def _hold_write_lock(path: str, holding: Event, done: Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE orders SET customer_key = customer_key")
    holding.set()
    done.wait(TIMEOUT)
    conn.execute("ROLLBACK")
    conn.close()


def test_queries_do_not_wait_behind_another_process_writing(tmp_path: Path) -> None:
    """R33: while another process holds the write lock, every query still answers."""
    path = str(tmp_path / "m.db")
    market = Marketplace(SqliteStore(path), clock=FakeClock(T0))
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[
            Item(
                vendor_id="v-1",
                product_id="p-1",
                quantity=1,
                unit_price=Money(Decimal("10.00"), "EUR"),
            )
        ],
        paid=Money(Decimal("10.00"), "EUR"),
    )
    conversation = market.start_conversation(
        vendor_id="v-1", by=BUYER, order_id=order.order_id
    ).conversation
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    market.store.close()

    ctx = mp.get_context("spawn")
    holding, done = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_hold_write_lock, args=(path, holding, done))
    writer.start()
    try:
        assert holding.wait(TIMEOUT)
        reader = Marketplace(SqliteStore(path, busy_timeout_ms=0), clock=FakeClock(T0))
        # the control: a write transaction does need the lock, and fails at once
        with pytest.raises(sqlite3.OperationalError, match="locked"), reader.store.unit_of_work():
            pass
        assert reader.get_order(order.order_id, by=BUYER).order_id == order.order_id
        assert reader.order_history(order.order_id, by=STAFF)
        assert reader.orders_of_checkout(order.checkout_id, by=BUYER)
        assert reader.journal(by=STAFF)
        assert reader.verify_journal(by=STAFF).ok
        assert reader.balance("v-1", by=VENDOR).balance_minor == 0
        assert reader.statement("v-1", by=VENDOR).paid_minor == 0
        assert reader.get_hold(order.order_id, by=VENDOR).paid_minor == 1000
        assert len(reader.holds("v-1", by=VENDOR)) == 1
        assert reader.payouts("v-1", by=VENDOR) == ()
        assert reader.get_vendor("v-1", by=VENDOR).payout_currency == "EUR"
        assert reader.outbox(by=STAFF)
        assert reader.get_conversation(conversation.conversation_id, by=BUYER)
        assert reader.messages(conversation.conversation_id, by=BUYER) == ()
        assert reader.conversation_history(conversation.conversation_id, by=BUYER)
        assert reader.conversations_for_vendor("v-1", by=VENDOR).items
        assert reader.conversations_for_buyer("b-1", by=BUYER).items
        reader.store.close()
    finally:
        done.set()
        writer.join(TIMEOUT)
    assert writer.exitcode == 0


def test_fifo_lock_grants_in_request_order() -> None:
    """R33: writers of one process get the write lock in the order they asked for it."""
    import threading

    lock = FifoLock()
    lock.acquire()
    order: list[int] = []
    queued = threading.Semaphore(0)
    threads = []
    for k in range(5):

        def take(k: int = k) -> None:
            queued.release()
            lock.acquire()
            order.append(k)
            lock.release()

        t = threading.Thread(target=take)
        t.start()
        queued.acquire()  # the thread is about to queue; wait until it is in the queue
        while len(lock._queue) != k + 1:
            pass
        threads.append(t)
    lock.release()
    for t in threads:
        t.join(TIMEOUT)
    assert order == [0, 1, 2, 3, 4]


#: The report and dashboard queries (R28, R30-R33): each ran in a write unit of work (SQLite
#: ``BEGIN IMMEDIATE``) before, so it queued behind every writer and blocked writers; now
#: each runs in ``Store.reader()``. With the vendor's order lists and chat response times.
DASHBOARD_QUERIES: dict[str, Callable[[Marketplace], object]] = {
    "sales_report": lambda m: m.sales_report("v-1", start=T0.date(), end=T0.date(), by=VENDOR),
    "earnings_report": lambda m: m.earnings_report(
        "v-1", start=T0.date(), end=T0.date(), by=VENDOR
    ),
    "bestsellers": lambda m: m.bestsellers("v-1", start=T0.date(), end=T0.date(), by=VENDOR),
    "store_performance": lambda m: m.store_performance(
        "v-1", by=VENDOR, since=T0, until=T0 + _dt.timedelta(days=1)
    ),
    "verify_reports": lambda m: m.verify_reports("v-1", by=STAFF),
    "list_orders": lambda m: m.list_orders(by=VENDOR, vendor_id="v-1").items,
    "buyer_orders": lambda m: m.buyer_orders(by=BUYER).items,
    "response_times": lambda m: m.response_times(
        "v-1", by=VENDOR, since=T0, until=T0 + _dt.timedelta(days=1)
    ),
}


@pytest.fixture
def sold(tmp_path: Path) -> str:
    """A SQLite file with a registered vendor that sold one order; its path."""
    path = str(tmp_path / "m.db")
    market = Marketplace(SqliteStore(path), clock=FakeClock(T0))
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    market.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[
            Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=Money("5.00", "EUR"))
        ],
        paid=Money("10.00", "EUR"),
    )
    market.store.close()
    return path


@pytest.mark.parametrize("query", sorted(DASHBOARD_QUERIES))
def test_r33_report_and_dashboard_queries_answer_while_another_connection_writes(
    sold: str, query: str
) -> None:
    """R33: while another connection holds the write lock (``BEGIN IMMEDIATE``), each report
    and dashboard query answers at once on a store whose busy timeout is zero, with the same
    answer as when nobody writes: it takes no write lock and waits for none."""
    quiet = Marketplace(SqliteStore(sold), clock=FakeClock(T0))
    expected = DASHBOARD_QUERIES[query](quiet)
    quiet.store.close()
    market = Marketplace(SqliteStore(sold, busy_timeout_ms=0), clock=FakeClock(T0))
    blocker = sqlite3.connect(sold, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        # the control: a write unit of work needs the lock, and fails at once
        with pytest.raises(sqlite3.OperationalError, match="locked"), market.store.unit_of_work():
            pass
        assert DASHBOARD_QUERIES[query](market) == expected
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        market.store.close()
