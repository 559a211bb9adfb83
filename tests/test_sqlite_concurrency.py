"""Two processes on one SQLite file (R17, R35, R36, R40).

Each test starts two worker processes ('spawn', so nothing is inherited but the arguments),
lines them up on a barrier, lets them race, and then checks the file from the parent: no lost
update, no duplicate effect of an idempotency key, each timer handled once, and no
"database is locked" error surfacing. Every worker uses a FakeClock at the instant it is given.
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing as mp
import queue
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from moneyed import Money

from asolora_core import (
    Actor,
    ConcurrencyConflictError,
    FakeClock,
    Item,
    Marketplace,
    MarketplaceConfig,
    Order,
    SqliteStore,
)
from asolora_core.adapters.sqlite import MIGRATIONS
from asolora_core.events import ReceiptConfirmed, ShipmentCreated, TrackingUpdated
from asolora_core.orders import commands as core
from asolora_core.orders.listing import OrderQuery

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)
VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("staff-1")
JOIN_TIMEOUT = 60.0
AUTO_CONFIRM_AFTER = _dt.timedelta(days=3)


def _eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def _place(market: Marketplace, quantity: int = 1) -> Order:
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada Lovelace",
        items=[
            Item(vendor_id="v-1", product_id="p-1", quantity=quantity, unit_price=_eur("10.00"))
        ],
        paid=_eur("10.00") * quantity,
    )
    return order


# --- workers (top level, so that 'spawn' can import them) ---------------------------------


def _tracking_worker(
    path: str,
    now: _dt.datetime,
    barrier: Barrier,
    name: str,
    order_id: str,
    shipment_id: str,
    updates: int,
) -> dict[str, Any]:
    market = Marketplace(SqliteStore(path), clock=FakeClock(now))
    conflicts = 0
    for k in range(updates):
        if k % 10 == 0:
            barrier.wait()  # start together again, so that the two really interleave
        while True:
            try:
                market.update_tracking(order_id, shipment_id, by=VENDOR, note=f"{name}-{k}")
                break
            except ConcurrencyConflictError:
                conflicts += 1
    return {"conflicts": conflicts}


def _stale_writer_worker(
    path: str,
    now: _dt.datetime,
    barrier: Barrier,
    name: str,
    order_id: str,
    shipment_id: str,
    rounds: int,
) -> dict[str, Any]:
    """Read in one transaction, save in another: the read-then-write a web handler does."""
    store = SqliteStore(path)
    won = lost = 0
    for r in range(rounds):
        with store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
        barrier.wait()  # both hold the same version now
        new, events = core.update_tracking(
            order, shipment_id, by=VENDOR, now=now, note=f"stale-{name}-{r}"
        )
        with store.unit_of_work() as uow:
            try:
                uow.orders.save(new)
            except ConcurrencyConflictError:
                lost += 1
            else:
                uow.events.append(events)
                uow.commit()
                won += 1
        barrier.wait()  # both are done before the next read
    store.close()
    return {"won": won, "lost": lost}


def _open_worker(
    path: str, now: _dt.datetime, barrier: Barrier, name: str, files: int
) -> dict[str, Any]:
    """Open brand-new files at the same moment as the other process."""
    versions = []
    for i in range(files):
        barrier.wait()
        store = SqliteStore(Path(path) / f"new-{i}.db")
        versions.append(store.schema_version())
        store.close()
    return {"versions": versions}


def _idempotent_worker(
    path: str,
    now: _dt.datetime,
    barrier: Barrier,
    name: str,
    order_id: str,
    line_id: str,
    rounds: int,
) -> dict[str, Any]:
    market = Marketplace(SqliteStore(path), clock=FakeClock(now))
    shipments: list[str] = []
    checkouts: list[list[str]] = []
    for r in range(rounds):
        barrier.wait()
        order = market.ship(
            order_id,
            by=VENDOR,
            items={line_id: 1},
            carrier="DHL",
            tracking_number=f"TN-{r}",
            idempotency_key=f"ship-{r}",
        )
        shipments.append(order.shipments[-1].shipment_id)
        barrier.wait()
        orders = market.place_checkout(
            buyer=BUYER,
            customer_name="Ada Lovelace",
            items=[Item(vendor_id="v-1", product_id="p-9", quantity=1, unit_price=_eur("1.00"))],
            paid=_eur("1.00"),
            idempotency_key=f"checkout-{r}",
        )
        checkouts.append([o.order_id for o in orders])
    return {"shipments": shipments, "checkouts": checkouts}


def _sweep_worker(
    path: str,
    now: _dt.datetime,
    barrier: Barrier,
    name: str,
    batch: int,
    rounds: int,
    step: _dt.timedelta,
) -> dict[str, Any]:
    """Round after round, sweep at the same instant as the other process; each round makes
    a few more timers due (SQLite lets one writer in at a time: per round, either may win)."""
    clock = FakeClock(now)
    market = Marketplace(
        SqliteStore(path),
        clock=clock,
        config=MarketplaceConfig(auto_confirm_after=AUTO_CONFIRM_AFTER, sweep_batch=batch),
    )
    handled = []
    for _ in range(rounds):
        barrier.wait()
        handled.append(market.run_due().timers.get("auto_confirm", 0))
        clock.advance(seconds=step.total_seconds())
    barrier.wait()
    again = market.run_due(clock.now() + AUTO_CONFIRM_AFTER)
    return {"handled": handled, "again": dict(again.timers)}


def _run(
    target: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    results: mp.Queue[Any],
) -> None:
    try:
        results.put(("ok", args[3], target(*args)))
    except BaseException:  # every failure goes back to the parent
        results.put(("error", args[3], traceback.format_exc()))


def _race(
    target: Callable[..., dict[str, Any]],
    path: Path,
    now: _dt.datetime,
    *extra: Any,
) -> dict[str, dict[str, Any]]:
    """Run ``target(path, now, barrier, name, *extra)`` in two spawned processes; return
    each one's result by name, or fail with the worker's traceback."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2, timeout=JOIN_TIMEOUT)
    results: mp.Queue[Any] = ctx.Queue()
    procs = [
        ctx.Process(target=_run, args=(target, (str(path), now, barrier, name, *extra), results))
        for name in ("a", "b")
    ]
    for p in procs:
        p.start()
    out: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    try:
        for _ in procs:
            try:
                status, name, value = results.get(timeout=JOIN_TIMEOUT)
            except queue.Empty:
                errors.append("a worker gave no result in time (deadlock?)")
                break
            if status == "ok":
                out[name] = value
            else:
                errors.append(f"worker {name} failed:\n{value}")
    finally:
        for p in procs:
            p.join(timeout=JOIN_TIMEOUT)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
                errors.append(f"worker {p.name} hung")
    assert not errors, "\n".join(errors)
    assert all(p.exitcode == 0 for p in procs)
    return out


def _market(path: Path, config: MarketplaceConfig | None = None) -> Marketplace:
    return Marketplace(SqliteStore(path), clock=FakeClock(T0), config=config)


def _close(market: Marketplace) -> None:
    market.store.close()


def _of_type(events: Sequence[object], cls: type[object]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


# --- the tests --------------------------------------------------------------------------------


def test_two_processes_updating_one_order_lose_no_update(tmp_path: Path) -> None:
    """R36: two processes update the same order's tracking, retrying on conflicts; the final
    version and history hold every update exactly once."""
    path = tmp_path / "race.db"
    market = _market(path)
    order = _place(market)
    order = market.ship(
        order.order_id,
        by=VENDOR,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="TN-1",
    )
    shipment_id = order.shipments[0].shipment_id
    updates = 100

    _race(_tracking_worker, path, T0 + _dt.timedelta(hours=1), order.order_id, shipment_id, updates)

    final = market.get_order(order.order_id, by=STAFF)
    expected = sorted(f"{n}-{k}" for n in "ab" for k in range(updates))
    assert final.version == order.version + 2 * updates
    assert sorted(t.note for t in final.shipments[0].tracking[1:]) == expected
    history = market.order_history(order.order_id, by=STAFF)
    assert sorted(e.note for e in _of_type(history, TrackingUpdated)) == expected
    for name in "ab":  # each process's own updates are kept in the order it made them
        mine = [t.note for t in final.shipments[0].tracking if t.note.startswith(f"{name}-")]
        assert mine == [f"{name}-{k}" for k in range(updates)]
    _close(market)


def test_stale_writer_in_another_process_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """R36: both processes read the same version, then both save over it; each round exactly
    one save wins and the other is a conflict that writes nothing."""
    path = tmp_path / "stale.db"
    market = _market(path)
    order = _place(market)
    order = market.ship(
        order.order_id,
        by=VENDOR,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="TN-1",
    )
    rounds = 10

    out = _race(
        _stale_writer_worker,
        path,
        T0 + _dt.timedelta(hours=1),
        order.order_id,
        order.shipments[0].shipment_id,
        rounds,
    )

    assert out["a"]["won"] + out["b"]["won"] == rounds
    assert out["a"]["lost"] + out["b"]["lost"] == rounds
    final = market.get_order(order.order_id, by=STAFF)
    assert final.version == order.version + rounds
    history = market.order_history(order.order_id, by=STAFF)
    assert len(_of_type(history, TrackingUpdated)) == rounds
    assert [t.note for t in final.shipments[0].tracking[1:]] == [
        e.note for e in _of_type(history, TrackingUpdated)
    ]
    _close(market)


def test_two_processes_opening_a_new_file_at_once_both_succeed(tmp_path: Path) -> None:
    """R33: two processes creating the same new database at the same moment both get the
    migrated schema; no "database is locked" surfaces (journal_mode=WAL is retried)."""
    out = _race(_open_worker, tmp_path, T0, 4)
    assert out["a"]["versions"] == out["b"]["versions"] == [len(MIGRATIONS)] * 4


def test_two_processes_sending_one_idempotency_key_get_one_effect(tmp_path: Path) -> None:
    """R35: both processes send the same command with the same key and actor at the same
    moment, round after round; each key has exactly one effect (one shipment, one new
    order) and both processes get the same result."""
    path = tmp_path / "idem.db"
    market = _market(path)
    rounds = 6
    order = _place(market, quantity=rounds)

    out = _race(
        _idempotent_worker,
        path,
        T0 + _dt.timedelta(hours=1),
        order.order_id,
        order.lines[0].line_id,
        rounds,
    )

    assert out["a"] == out["b"]
    final = market.get_order(order.order_id, by=STAFF)
    assert [s.shipment_id for s in final.shipments] == out["a"]["shipments"]
    assert [s.tracking_number for s in final.shipments] == [f"TN-{r}" for r in range(rounds)]
    history = market.order_history(order.order_id, by=STAFF)
    assert len(_of_type(history, ShipmentCreated)) == rounds
    with market.store.unit_of_work() as uow:
        every = uow.orders.page(OrderQuery(vendor_id="v-1"), after=None, limit=1000)
        new_orders = [o for o in every if o.order_id != order.order_id]
    assert sorted(o.order_id for o in new_orders) == sorted(
        i for ids in out["a"]["checkouts"] for i in ids
    )
    assert len(new_orders) == rounds
    _close(market)


def test_two_processes_sweeping_at_once_handle_each_timer_once(tmp_path: Path) -> None:
    """R10, R40: two processes run run_due() at the same instants while auto-confirm timers
    fall due; every shipment is confirmed once, by the system, and the counts add up."""
    path = tmp_path / "sweep.db"
    config = MarketplaceConfig(auto_confirm_after=AUTO_CONFIRM_AFTER)
    market = _market(path, config)
    clock = market.clock
    assert isinstance(clock, FakeClock)
    per_round, rounds, step = 3, 12, _dt.timedelta(minutes=1)
    orders = per_round * rounds
    ids = []
    for i in range(orders):
        clock.set(T0 + (i // per_round) * step)  # timers due in groups, one group per round
        order = _place(market)
        order = market.ship(
            order.order_id,
            by=VENDOR,
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="TN-1",
        )
        market.mark_delivered(order.order_id, order.shipments[0].shipment_id, by=VENDOR)
        ids.append(order.order_id)

    out = _race(_sweep_worker, path, T0 + AUTO_CONFIRM_AFTER, 2, rounds, step)

    for r in range(rounds):  # each round's timers were handled once, by one process or both
        assert out["a"]["handled"][r] + out["b"]["handled"][r] == per_round
    assert out["a"]["again"] == out["b"]["again"] == {}
    for order_id in ids:
        final = market.get_order(order_id, by=STAFF)
        assert final.status.value == "completed"
        assert final.shipments[0].confirmed_automatically
        confirmations = _of_type(market.order_history(order_id, by=STAFF), ReceiptConfirmed)
        assert len(confirmations) == 1
    _close(market)
