"""Many processes on one SQLite file, with real faults (R17, R18, R20, R24, R29, R33, R35, R36,
R40): worker processes SIGKILLed at random moments and mid-transaction, processes migrating a
new file at once, eight processes writing at once.

The processes are forked after the test has closed its own store (no SQLite connection
crosses a fork); each opens its own :class:`SqliteStore` on the file, with the store's
defaults (WAL, ``synchronous=NORMAL``, the fair writer queue). A worker reports through a
file, never a queue (a process killed while writing to a queue breaks the queue). Kill times
are random; every assertion holds whatever the timing.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import random
import signal
import sqlite3
import sys
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    ConcurrencyConflictError,
    FakeClock,
    Item,
    Marketplace,
    MarketplaceConfig,
    SqliteStore,
    StoreBusyError,
)
from asolora_core.adapters import sqlite as sqlite_adapter
from asolora_core.adapters.sqlite import MIGRATIONS
from asolora_core.adapters.sqlite_gate import WriteGate
from asolora_core.events import (
    Notification,
    OrderPlaced,
    RefundIssued,
    ShipmentCreated,
)
from asolora_core.money import from_minor
from asolora_core.orders.listing import OrderQuery

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("fork and SIGKILL are POSIX", allow_module_level=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("s-1")
FORK = mp.get_context("fork")
#: the bound of every wait for a child process (a broken store fails the test, not hangs it)
DEADLINE_S = 60.0
VENDORS = ("v-1", "v-2", "v-3", "v-4")
CURRENCIES = ("EUR", "USD")
#: timers a worker claims per transaction (the default is 200): the batches interleave
SWEEP_BATCH = 4


def _market(path: Path, at: dt.datetime, notifier: Any = None, **store: Any) -> Marketplace:
    config = MarketplaceConfig(sweep_batch=SWEEP_BATCH)
    return Marketplace(
        SqliteStore(path, **store), clock=FakeClock(at), notifier=notifier, config=config
    )


def _item(vendor: str, product: str, quantity: int, price: Money) -> list[Item]:
    return [Item(vendor_id=vendor, product_id=product, quantity=quantity, unit_price=price)]


def _complete(market: Marketplace, vendor: str, price: Money) -> str:
    """One order of one unit, placed, shipped, delivered and confirmed: its hold is due for
    release 168 hours later."""
    (order,) = market.place_checkout(
        buyer=BUYER, customer_name="Ada", items=_item(vendor, "p-1", 1, price), paid=price
    )
    v = Actor.vendor(vendor)
    order = market.ship(
        order.order_id, by=v, items={order.lines[0].line_id: 1}, carrier="DHL", tracking_number="T"
    )
    shipment = order.shipments[0].shipment_id
    market.mark_delivered(order.order_id, shipment, by=v)
    market.confirm_receipt(order.order_id, shipment, by=BUYER)
    return order.order_id


def _start(target: Callable[..., None], *args: Any) -> Any:
    # a daemon: a test that fails before killing a stalled worker does not hang the session
    process = FORK.Process(target=target, args=args, daemon=True)
    process.start()
    return process


def _kill(process: Any) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(DEADLINE_S)


def _join_all(processes: list[Any]) -> None:
    for p in processes:
        p.join(DEADLINE_S)
    hung = [p for p in processes if p.is_alive()]
    for p in hung:
        _kill(p)
    assert not hung, "a worker did not finish in time (deadlock?)"
    assert [p.exitcode for p in processes] == [0] * len(processes)


def _stall_first_commit(signal_to: Connection) -> None:
    """In this (forked) process only: the first commit of a unit of work that wrote something
    tells ``signal_to`` and waits there, inside its transaction, holding the write lock, for
    the SIGKILL the parent sends."""
    uow_class = sqlite_adapter.SqliteUnitOfWork
    commit = uow_class.commit

    def stalled(self: Any) -> None:
        if self.conn.total_changes or self.events.pending:
            signal_to.send("in a transaction")
            signal_to.recv()  # never answered: the parent kills this process
        commit(self)

    uow_class.commit = stalled  # type: ignore[method-assign]


def _wait_in_transaction(process: Any, reader: Connection) -> None:
    assert reader.poll(DEADLINE_S), "the stalled worker never reached its commit"
    assert reader.recv() == "in a transaction"
    _kill(process)


def _chaos(
    workers: list[Any],
    restart: Callable[[int], Any],
    rng: random.Random,
    kills: int,
) -> int:
    """Kill random workers at random moments and start new ones in their place, ``kills``
    times or until every worker is done; return how many were killed."""
    done = 0
    while done < kills and any(w.is_alive() for w in workers):
        victim = rng.randrange(len(workers))
        workers[victim].join(timeout=rng.uniform(0.0, 0.08))  # let it run a little
        if workers[victim].is_alive():
            _kill(workers[victim])
            done += 1
            workers[victim] = restart(victim)
    return done


# --- 1. four sweeping workers, SIGKILL: released once, paid once (R17, R18, R24, R29, R40) --

ORDERS = 200
#: after-release refunds (vendor, currency, minor): these balances go negative before the
#: sweep, and the sweep's releases offset them
DEBTS = {("v-1", "EUR"): 4_000, ("v-2", "EUR"): 2_500, ("v-3", "USD"): 3_000}


class _FileNotifier:
    """Records every send as a line of a file opened for appending (one ``write`` a line)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def send(self, message_id: str, notification: Notification) -> None:
        os.write(self._fd, f"{message_id}\n".encode())

    def close(self) -> None:
        os.close(self._fd)


def _sweeper(path: Path, sent: Path, due: dt.datetime) -> None:
    market = _market(path, due, notifier=_FileNotifier(sent))
    while True:
        try:
            report = market.run_due()
            paid = market.run_payouts()
        except ConcurrencyConflictError:
            continue
        if not report.timers and not paid and not report.notifications.delivered:
            return


def _stalled_sweeper(path: Path, sent: Path, due: dt.datetime, signal_to: Connection) -> None:
    _stall_first_commit(signal_to)
    _sweeper(path, sent, due)


def _price(i: int) -> int:
    return 100 * (i % 7 + 1) + 5 * (i % 3)


def _seeded(path: Path) -> tuple[dt.datetime, dict[tuple[str, str], int], set[str]]:
    """Every vendor sells in both currencies and is released and paid; then refunds after
    release leave the ``DEBTS`` negative. Then ``ORDERS`` more are completed. Returns the
    instant they are all due, what each (vendor, currency) had released by the sweep, and
    the due orders."""
    market = _market(path, START)
    clock = market.clock
    assert isinstance(clock, FakeClock)
    first = {(v, c): _complete(market, v, Money("50.00", c)) for v in VENDORS for c in CURRENCIES}
    clock.advance(hours=169)
    assert market.run_due().timers == {"release": len(first)}
    assert len(market.run_payouts()) == len(first)
    for (vendor, currency), minor in DEBTS.items():
        market.refund(
            first[vendor, currency],
            by=Actor.vendor(vendor),
            amount=from_minor(minor, currency),
            reason="returned after payout",
        )
        assert market.balance(vendor, by=STAFF, currency=currency).balance_minor == -minor
    released: dict[tuple[str, str], int] = {}
    due_orders = set()
    for i in range(ORDERS):
        vendor, currency = VENDORS[i % 4], CURRENCIES[(i // 4) % 2]
        due_orders.add(_complete(market, vendor, from_minor(_price(i), currency)))
        released[vendor, currency] = released.get((vendor, currency), 0) + _price(i)
    market.store.close()
    return clock.now() + dt.timedelta(hours=169), released, due_orders


def _balanced(market: Marketplace) -> None:
    """verify_journal passes and every transaction balances in each of its currencies."""
    report = market.verify_journal(by=STAFF)
    assert report.ok, report.problems
    for txn in market.journal(by=STAFF):
        totals: dict[str, int] = {}
        for entry in txn.entries:
            totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount_minor
        assert set(totals.values()) == {0}, txn


def _integrity(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_four_workers_killed_at_random_release_and_pay_exactly_once(tmp_path: Path) -> None:
    """R17, R18, R24, R29, R40: four processes run run_due and run_payouts on one file while
    the test SIGKILLs workers (one inside its first transaction, the others at random
    moments) and starts new ones. Every due order is released once, each vendor is paid what
    it earned, its debts offset, exactly once; the journal verifies and balances; every
    notification is in the outbox once and delivered."""
    path, sent = tmp_path / "shop.db", tmp_path / "sent.txt"
    due, released, due_orders = _seeded(path)
    rng = random.Random(7)

    reader, writer = FORK.Pipe(duplex=True)
    stalled = _start(_stalled_sweeper, path, sent, due, writer)
    # the others start once it holds the write lock (started together, a loaded machine could
    # let them release everything before it writes at all): they queue behind its batch of
    # releases, written and never committed, until it is killed
    assert reader.poll(DEADLINE_S), "the stalled worker never reached its commit"
    workers = [_start(_sweeper, path, sent, due) for _ in range(3)]
    _wait_in_transaction(stalled, reader)
    workers.append(_start(_sweeper, path, sent, due))
    kills = 1 + _chaos(workers, lambda _: _start(_sweeper, path, sent, due), rng, kills=8)
    _join_all(workers)
    assert kills >= 1

    # messages leased by a killed worker come back when the lease ends (R29)
    relay = _FileNotifier(sent)
    later = _market(path, due, notifier=relay)
    while later.deliver_notifications(now=due + dt.timedelta(minutes=6)).delivered:
        pass
    later.store.close()
    relay.close()

    _integrity(path)
    market = _market(path, due)
    try:
        journal = market.journal(by=STAFF)
        releases = [t.order_id for t in journal if t.kind == "release"]
        assert len(releases) == len(set(releases)) == ORDERS + len(VENDORS) * len(CURRENCIES)
        assert due_orders <= set(releases)
        for order_id in due_orders:
            assert market.get_hold(order_id, by=STAFF).released_at == due
        payouts: dict[tuple[str, str], list[int]] = {
            (v, c): [] for v in VENDORS for c in CURRENCIES
        }
        for vendor in VENDORS:
            for p in market.payouts(vendor, by=STAFF):
                if p.at == due:
                    payouts[vendor, p.currency].append(p.amount_minor)
        for (vendor, currency), amounts in payouts.items():
            owed = released[vendor, currency] - DEBTS.get((vendor, currency), 0)
            assert sum(amounts) == owed  # paid what it earned net of its debts, once
            balance = market.balance(vendor, by=STAFF, currency=currency)
            assert balance.balance_minor == 0
            assert balance.paid_out_minor == 5_000 + owed
            assert balance.released_minor - balance.debited_minor == balance.paid_out_minor
        journal_payouts = [t.ref or "" for t in journal if t.kind == "payout"]
        all_payouts = [p.payout_id for v in VENDORS for p in market.payouts(v, by=STAFF)]
        assert sorted(journal_payouts) == sorted(all_payouts)
        assert len(set(all_payouts)) == len(all_payouts)
        _balanced(market)

        outbox = market.outbox(by=STAFF)
        money = [
            (m.notification.kind, m.notification.subject_id)
            for m in outbox
            if m.notification.kind in ("proceeds.released", "payout.paid")
        ]
        assert len(money) == len(set(money))
        assert {s for k, s in money if k == "proceeds.released"} == set(releases)
        assert {s for k, s in money if k == "payout.paid"} == set(all_payouts)
        assert len({m.message_id for m in outbox}) == len(outbox)
        delivered = set(sent.read_text().split())  # at least once: a killed relay may resend
        assert delivered == {m.message_id for m in outbox}  # the seeding's too: none lost
        assert all(m.delivered_at is not None for m in outbox)
    finally:
        market.store.close()


# --- 2. commands killed mid-command: no partial write, a key takes effect once (R35, R36) ---

SCRIPT_ORDERS = 6
WRITERS = 3
ROUNDS = 3


def _script(w: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Writer ``w``'s commands: per round, on every seeded order, a ship and a refund with a
    key (the key is also the tracking number or the reason: each effect names its key), a
    refund without one; and a checkout with a key (its product id)."""
    for r in range(ROUNDS):
        for o in range(SCRIPT_ORDERS):
            yield "ship", {"order": o, "key": f"ship-{o}-{w}-{r}"}
            yield "refund", {"order": o, "key": f"refund-{o}-{w}-{r}"}
            yield "refund", {"order": o, "key": None}
        yield "place", {"key": f"place-{w}-{r}"}


def _send(market: Marketplace, orders: list[str], command: str, args: dict[str, Any]) -> None:
    key = args["key"]
    if command == "place":
        market.place_checkout(
            buyer=BUYER,
            customer_name="Ada",
            items=_item(VENDORS[int(key.split("-")[1]) % 4], key, 1, Money("3.00", "EUR")),
            paid=Money("3.00", "EUR"),
            idempotency_key=key,
        )
        return
    order = market.get_order(orders[args["order"]], by=STAFF)
    vendor = Actor.vendor(order.vendor_id)
    if command == "ship":
        market.ship(
            order.order_id,
            by=vendor,
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number=key,
            idempotency_key=key,
        )
    else:
        market.refund(
            order.order_id,
            by=vendor,
            amount=Money("0.50", "EUR") if key else Money("0.25", "EUR"),
            reason=key or "unkeyed",
            idempotency_key=key,
        )


def _writer(path: Path, orders: list[str], w: int) -> None:
    market = _market(path, START + dt.timedelta(hours=1))
    for command, args in _script(w):
        for _ in range(100):  # bounded: a broken store fails, not spins
            try:
                _send(market, orders, command, args)
            except ConcurrencyConflictError:
                continue
            except AsoloraError:
                pass  # refused (nothing left to ship, refunds above paid): changes nothing
            break


def _stalled_writer(path: Path, orders: list[str], w: int, signal_to: Connection) -> None:
    _stall_first_commit(signal_to)
    _writer(path, orders, w)


def _agree(market: Marketplace, order_id: str) -> None:
    """The order, its history, its hold's journal and its notifications tell one story."""
    order = market.get_order(order_id, by=STAFF)
    history = market.order_history(order_id, by=STAFF)
    assert order.version == len(history)
    assert isinstance(history[0], OrderPlaced)
    shipped = [e for e in history if isinstance(e, ShipmentCreated)]
    refunds = [e for e in history if isinstance(e, RefundIssued)]
    assert [s.tracking_number for s in order.shipments] == [e.tracking_number for e in shipped]
    assert order.refunded_minor == sum(e.amount_minor for e in refunds)
    assert market.get_hold(order_id, by=STAFF).refunded_minor == order.refunded_minor
    journal = [t for t in market.journal(by=STAFF) if t.order_id == order_id]
    assert [t.kind for t in journal] == ["capture"] + ["refund"] * len(refunds)
    assert sorted(t.ref or "" for t in journal[1:]) == sorted(e.refund_id for e in refunds)
    outbox = market.outbox(by=STAFF)
    mine = [m.notification.kind for m in outbox if m.notification.subject_id == order_id]
    assert mine.count("shipment.created") == len(shipped)
    assert mine.count("refund.issued") == len(refunds)
    assert mine.count("order.placed") == 1


def _keys_in_effect(market: Marketplace, orders: list[str]) -> dict[str, int]:
    """How many effects each key has: shipments by tracking number, refunds by reason, new
    orders by product id."""
    counts: dict[str, int] = {}
    for order_id in orders:
        for event in market.order_history(order_id, by=STAFF):
            if isinstance(event, ShipmentCreated):
                key = event.tracking_number
            elif isinstance(event, RefundIssued) and event.reason != "unkeyed":
                key = event.reason
            else:
                continue
            counts[key] = counts.get(key, 0) + 1
    with market.store.reader() as uow:
        for vendor in VENDORS:
            for order in uow.orders.page(OrderQuery(vendor_id=vendor), after=None, limit=1000):
                product = order.lines[0].product_id
                if product.startswith("place-"):
                    counts[product] = counts.get(product, 0) + 1
    return counts


def test_commands_killed_midway_leave_no_partial_write_and_keys_take_effect_once(
    tmp_path: Path,
) -> None:
    """R20, R35, R36: three processes send ships, refunds (with and without a key) and
    checkouts, several on the same order, while the test SIGKILLs them (one inside a
    command's transaction, the others at random moments) and starts them again from the
    top. No command is half written: each order, its history, its journal and its
    notifications agree. Every keyed command, sent again, has exactly one effect."""
    path = tmp_path / "shop.db"
    market = _market(path, START)
    orders = []
    for o in range(SCRIPT_ORDERS):
        (order,) = market.place_checkout(
            buyer=BUYER,
            customer_name="Ada",
            items=_item(VENDORS[o % len(VENDORS)], "p-1", 4, Money("5.00", "EUR")),
            paid=Money("20.00", "EUR"),
        )
        orders.append(order.order_id)
    market.store.close()
    rng = random.Random(11)

    reader, writer = FORK.Pipe(duplex=True)
    stalled = _start(_stalled_writer, path, orders, 0, writer)
    _wait_in_transaction(stalled, reader)
    workers = [_start(_writer, path, orders, w) for w in range(WRITERS)]
    kills = 1 + _chaos(workers, lambda w: _start(_writer, path, orders, w), rng, kills=6)
    _join_all(workers)
    assert kills >= 1

    _integrity(path)
    market = _market(path, START + dt.timedelta(hours=1))
    try:
        for order_id in orders:
            _agree(market, order_id)
        _balanced(market)
        first = _keys_in_effect(market, orders)
        assert set(first.values()) == {1}  # a key never took effect twice
        retryable = []
        for w in range(WRITERS):  # every keyed command sent again: replayed, not redone
            for command, args in _script(w):
                if args["key"] is not None:
                    try:
                        _send(market, orders, command, args)
                    except AsoloraError as exc:  # the stored refusal, raised again
                        retryable.append(exc.retryable)
        assert not any(retryable)
        assert _keys_in_effect(market, orders) == first
        keys = {args["key"] for w in range(WRITERS) for _, args in _script(w)} - {None}
        # every checkout and refund key took effect (refunds stay below what was paid), and
        # every unit was shipped once, under one key
        assert {k for k in first if not k.startswith("ship-")} == {
            k for k in keys if not k.startswith("ship-")
        }
        for order_id in orders:
            shipped = market.get_order(order_id, by=STAFF).shipments
            assert sum(q for s in shipped for _, q in s.items) == 4
        for order_id in orders:
            _agree(market, order_id)
    finally:
        market.store.close()


# --- 3. many processes migrate a new file, one killed mid-step (R33) ------------------------


def _opener(path: Path, out: Path) -> None:
    store = SqliteStore(path)
    out.write_text(str(store.schema_version()))
    store.close()


def _stalled_opener(path: Path, signal_to: Connection) -> None:
    record = sqlite_adapter._record_version

    def stalled(conn: sqlite3.Connection, version: int) -> None:
        record(conn, version)
        if version == len(MIGRATIONS) // 2:
            signal_to.send("in a transaction")
            signal_to.recv()  # never answered: the parent kills this process

    sqlite_adapter._record_version = stalled
    SqliteStore(path)


def test_processes_migrating_a_new_file_while_one_is_killed_leave_it_migrated(
    tmp_path: Path,
) -> None:
    """R33: one process is killed in the middle of a schema step of a new file (earlier steps
    committed), another at a random moment, while four more open the same file; the
    survivors all get the migrated schema, and the file is whole and usable."""
    path = tmp_path / "new.db"
    reader, writer = FORK.Pipe(duplex=True)
    stalled = _start(_stalled_opener, path, writer)
    assert reader.poll(DEADLINE_S), "the stalled opener never reached its step"
    outs = [tmp_path / f"opened-{i}.txt" for i in range(5)]
    openers = [_start(_opener, path, out) for out in outs]
    rng = random.Random(3)
    victim = openers.pop(rng.randrange(len(openers)))
    victim.join(timeout=rng.uniform(0.0, 0.05))
    if victim.is_alive():
        _kill(victim)
    _kill(stalled)  # mid-step: its step rolls back, the waiting openers apply it
    _join_all(openers)
    assert {out.read_text() for out in outs if out.exists()} == {str(len(MIGRATIONS))}
    assert sum(out.exists() for out in outs) >= len(openers)

    _integrity(path)
    market = _market(path, START)
    try:
        store = market.store
        assert isinstance(store, SqliteStore)
        with store.reader() as uow:
            applied = [r[0] for r in uow.execute("SELECT version FROM asolora_schema_version")]
        assert applied == list(range(1, len(MIGRATIONS) + 1))
        _complete(market, "v-1", Money("9.00", "EUR"))
        assert market.run_due(START + dt.timedelta(hours=169)).timers == {"release": 1}
        _balanced(market)
    finally:
        market.store.close()


# --- 4. eight processes writing at once: only the library's errors (R2, R33) ---------------

PROCESSES = 8
COMMANDS = 12


def _report(out: Path, run: Callable[[], dict[str, Any]]) -> None:
    """Run ``run`` and write what it returned, or the error that escaped it, to ``out``."""
    try:
        result = run()
    except BaseException as exc:  # every escape goes back to the parent
        result = {"escaped": f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"}
        result["traceback"] = traceback.format_exc()
    out.write_text(json.dumps(result))


def _busy_writer(path: Path, out: Path, w: int, barrier: Any) -> None:
    def run() -> dict[str, Any]:
        market = _market(path, START)
        refused: list[str] = []
        barrier.wait()
        for i in range(COMMANDS):
            try:
                (order,) = market.place_checkout(
                    buyer=BUYER,
                    customer_name="Ada",
                    items=_item(VENDORS[w % 4], f"p-{w}-{i}", 2, Money("4.00", "EUR")),
                    paid=Money("8.00", "EUR"),
                    idempotency_key=f"k-{w}-{i}" if i % 2 else None,
                )
                vendor = Actor.vendor(order.vendor_id)
                market.refund(order.order_id, by=vendor, amount=Money("1.00", "EUR"))
                market.run_due(START + dt.timedelta(minutes=i))
            except AsoloraError as exc:
                refused.append(exc.code)
        market.store.close()
        return {"refused": refused}

    _report(out, run)


def test_eight_processes_writing_at_once_see_only_the_library_errors(tmp_path: Path) -> None:
    """R2, R33: eight processes write to one file at the same moment (checkouts with and
    without keys, refunds, sweeps): a busy database is waited for; nothing but the library's
    own errors escapes, and here none at all; every write is kept."""
    path = tmp_path / "shop.db"
    SqliteStore(path).close()
    barrier = FORK.Barrier(PROCESSES, timeout=DEADLINE_S)
    outs = [tmp_path / f"writer-{w}.json" for w in range(PROCESSES)]
    _join_all([_start(_busy_writer, path, outs[w], w, barrier) for w in range(PROCESSES)])
    results = [json.loads(out.read_text()) for out in outs]
    assert [r.get("escaped") for r in results] == [None] * PROCESSES, results
    assert [r["refused"] for r in results] == [[]] * PROCESSES
    market = _market(path, START)
    try:
        with market.store.reader() as uow:
            pages = [
                uow.orders.page(OrderQuery(vendor_id=v), after=None, limit=999) for v in VENDORS
            ]
        every = [o for page in pages for o in page]
        assert len(every) == PROCESSES * COMMANDS
        assert all(o.refunded_minor == 100 for o in every)
        _balanced(market)
    finally:
        market.store.close()


def _held_out(path: Path, out: Path, due: dt.datetime) -> None:
    def run() -> dict[str, Any]:
        market = _market(path, START, busy_timeout_ms=200)
        codes = []
        for attempt in (
            lambda: market.place_checkout(
                buyer=BUYER,
                customer_name="Ada",
                items=_item("v-1", "p-1", 1, Money("1.00", "EUR")),
                paid=Money("1.00", "EUR"),
            ),
            lambda: market.run_due(due),
        ):
            try:
                attempt()
            except StoreBusyError as exc:
                codes.append([exc.code, exc.retryable, exc.http_status])
        market.store.close()
        return {"codes": codes}

    _report(out, run)


class _Foreign:
    """A plain ``sqlite3`` connection holding the write lock while in its ``with``."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, *exc: object) -> None:
        self._conn.execute("ROLLBACK")
        self._conn.close()


@pytest.mark.parametrize("holder", ["library", "foreign"])
def test_a_database_busy_past_the_timeout_is_a_library_error(tmp_path: Path, holder: str) -> None:
    """R2, R33: while another writer holds the file (a process of this library, or one that
    does not queue with it, such as the ``sqlite3`` shell) longer than ``busy_timeout_ms``, a
    command and a sweep are refused with ``StoreBusyError`` (code ``store_busy``, retryable,
    HTTP 503), never SQLite's own "database is locked"; nothing is written, no due timer is
    set aside, and once the writer is done both go through."""
    path = tmp_path / "shop.db"
    market = _market(path, START)
    _complete(market, "v-1", Money("9.00", "EUR"))
    due = START + dt.timedelta(hours=169)
    before = len(market.journal(by=STAFF))
    out = tmp_path / "held-out.json"
    if holder == "library":  # a unit of work of this library, open in this process
        lock: Any = market.store.unit_of_work()
    else:  # a connection that does not queue with the library
        lock = _Foreign(path)
    with lock:
        _join_all([_start(_held_out, path, out, due)])
    result = json.loads(out.read_text())
    assert "escaped" not in result, result
    assert result["codes"] == [["store_busy", True, 503]] * 2
    try:
        assert len(market.journal(by=STAFF)) == before
        assert market.run_due(due).timers == {"release": 1}  # not set aside for an hour
    finally:
        market.store.close()


def test_a_sweep_that_finds_the_store_busy_sets_no_timer_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R40: a busy database is the store's failure, not a timer's: run_due raises
    ``StoreBusyError`` (its batch rolled back) instead of setting the due timer aside for an
    hour, and the next sweep releases it."""
    market = _market(tmp_path / "shop.db", START)
    _complete(market, "v-1", Money("9.00", "EUR"))
    store = market.store
    real = store.unit_of_work
    busy = [True, True]  # the batch and then its timer alone find the store busy

    def unit_of_work() -> Any:
        if busy:
            busy.pop()
            raise sqlite_adapter.SqliteBusyError("the database is busy")
        return real()

    monkeypatch.setattr(store, "unit_of_work", unit_of_work)
    due = START + dt.timedelta(hours=169)
    with pytest.raises(StoreBusyError):
        market.run_due(due)
    busy.clear()
    try:
        assert market.run_due(due).timers == {"release": 1}
    finally:
        store.close()


def test_a_gate_opened_before_a_fork_queues_the_child_behind_the_parent(tmp_path: Path) -> None:
    """R33: a write gate opened before a fork takes its own file lock in the child (the
    inherited one is shared with the parent): while the parent holds the gate, the child
    waits for it and gives up after its timeout instead of writing alongside."""
    gate = WriteGate(str(tmp_path / "shop.db"), timeout_s=0.05)
    held, result = FORK.Event(), FORK.Queue()

    def child() -> None:
        held.wait(10)
        try:
            gate.acquire()
        except TimeoutError:
            result.put("waited")
        else:
            gate.release()
            result.put("acquired")

    process = FORK.Process(target=child)
    process.start()
    gate.acquire()
    try:
        held.set()
        assert result.get(timeout=30) == "waited"
    finally:
        gate.release()
        process.join(30)
        gate.close()
    assert process.exitcode == 0
