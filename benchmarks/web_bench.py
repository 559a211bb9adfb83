"""The ``web`` section: SQLite under a web server's load, and storage per lifecycle (R33).

* Load: 4 worker processes x 8 threads on one SQLite file, as four uvicorn workers with eight
  request threads each would run. Every thread runs order lifecycles (13 commands, each with
  an idempotency key as an HTTP client sends it, and a read of the order after each
  lifecycle). Each process records how long every writer waited for the write lock
  (``SqliteStore(on_write_wait=...)``: the in-process queue plus the file lock) and the
  parent reports p50/p99/max of all waits and commands per second over the wall time from
  the common start to the last finish.
* Storage: ``n`` lifecycles with keys on one file, every notification delivered, then the
  clock moves past the key expiry and the outbox retention and one sweep (``run_due``)
  releases the orders and purges; ``bytes_per_lifecycle`` is the bytes of pages in use
  (``page_count - freelist_count``) divided by ``n``, before and after retention.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import sqlite3
import statistics
import tempfile
import threading
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    Item,
    Marketplace,
    OrderStatus,
    RecordingNotifier,
    SqliteStore,
)

__all__ = ["run"]

_START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
PROCESSES, THREADS = 4, 8
COMMANDS_PER_LIFECYCLE = 13


def _lifecycle(market: Marketplace, vendor_id: str, tag: str) -> int:
    """One lifecycle with a key on every command (13 commands); returns the commands run."""
    buyer, vendor = Actor.buyer(f"b-{tag}"), Actor.vendor(vendor_id)
    items = [
        Item(vendor_id=vendor_id, product_id="p-1", quantity=2, unit_price=Money("9.99", "EUR"))
    ]
    (order,) = market.place_checkout(
        buyer=buyer,
        customer_name="Ada",
        items=items,
        paid=Money("19.98", "EUR"),
        idempotency_key=f"{tag}-place",
    )
    oid, line = order.order_id, order.lines[0].line_id
    for k in ("A", "B"):
        order = market.ship(
            oid,
            by=vendor,
            items={line: 1},
            carrier="DHL",
            tracking_number=f"{k}{tag}",
            idempotency_key=f"{tag}-ship-{k}",
        )
    for shipment in order.shipments:
        sid = shipment.shipment_id
        for hop in ("sorted", "in transit", "out for delivery"):
            market.update_tracking(
                oid, sid, by=vendor, note=hop, idempotency_key=f"{tag}-{sid}-{hop}"
            )
        market.mark_delivered(oid, sid, by=vendor, idempotency_key=f"{tag}-{sid}-delivered")
    for shipment in order.shipments:
        sid = shipment.shipment_id
        order = market.confirm_receipt(oid, sid, by=buyer, idempotency_key=f"{tag}-{sid}-ok")
    if order.status is not OrderStatus.COMPLETED:
        raise RuntimeError(f"order {oid} ended {order.status}")
    market.get_order(oid, by=buyer)
    return COMMANDS_PER_LIFECYCLE


def _worker(path: str, proc: int, lifecycles: int, fair: bool, barrier: Barrier, out: Any) -> None:
    waits: list[float] = []
    store = SqliteStore(path, on_write_wait=waits.append, fair_writers=fair)
    market = Marketplace(store, clock=FakeClock(_START))
    done = [0] * THREADS
    errors: list[str] = []

    def thread(t: int) -> None:
        try:
            for i in range(lifecycles):
                done[t] += _lifecycle(market, f"v-{proc}-{t}", f"{proc}-{t}-{i}")
        except Exception as exc:  # reported to the parent
            errors.append(repr(exc))

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(THREADS)]
    barrier.wait()
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.put((proc, start, time.perf_counter(), sum(done), waits, errors))
    store.close()


def _load(lifecycles: int, *, fair: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="asolora-web-") as tmp:
        path = str(Path(tmp) / "web.sqlite3")
        SqliteStore(path).close()  # the schema, before the workers race
        ctx = mp.get_context("fork")
        barrier = ctx.Barrier(PROCESSES + 1)
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(path, p, lifecycles, fair, barrier, out))
            for p in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        results = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(60)
    errors = [e for r in results for e in r[5]]
    if errors:
        raise RuntimeError(f"web load failed: {errors[:3]}")
    start = min(r[1] for r in results)
    end = max(r[2] for r in results)
    commands = sum(r[3] for r in results)
    waits = sorted(w for r in results for w in r[4])
    q = statistics.quantiles(waits, n=100, method="inclusive")
    return {
        "processes": PROCESSES,
        "threads_per_process": THREADS,
        "commands": commands,
        "commands_per_s": round(commands / (end - start), 1),
        "lock_wait_p50_ms": round(q[49] * 1000, 3),
        "lock_wait_p99_ms": round(q[98] * 1000, 3),
        "lock_wait_max_ms": round(waits[-1] * 1000, 3),
    }


def _bytes_in_use(path: str) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return int((pages - free) * size)


def _drain(market: Marketplace) -> None:
    """Deliver every pending notification (a sweep relays at most 1000 at a time)."""
    while market.deliver_notifications().delivered:
        pass


def _storage(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="asolora-bytes-") as tmp:
        path = str(Path(tmp) / "bytes.sqlite3")
        store = SqliteStore(path)
        clock = FakeClock(_START)
        market = Marketplace(store, clock=clock, notifier=RecordingNotifier())
        for i in range(n):
            _lifecycle(market, "v-1", str(i))
        _drain(market)
        before = _bytes_in_use(path)
        clock.advance(days=8)  # past the 24-hour key expiry and the 7-day outbox retention
        report = market.run_due()  # releases the holds (R15), then purges
        _drain(market)
        clock.advance(days=8)
        report2 = market.run_due()  # the release notifications age out too
        store.close()
        after = _bytes_in_use(path)
    return {
        "lifecycles": n,
        "bytes_per_lifecycle_before_retention": round(before / n),
        "bytes_per_lifecycle": round(after / n),
        "purged": {k: report.purged.get(k, 0) + report2.purged.get(k, 0) for k in report.purged},
    }


def run(quick: bool) -> dict[str, Any]:
    lifecycles = 2 if quick else 10
    load = _load(lifecycles)
    # the same load without the fair queue: SQLite's own busy handler decides who writes next
    unfair = _load(lifecycles, fair=False)
    storage = _storage(100 if quick else 1000)
    return {
        **load,
        "unfair_lock_wait_p99_ms": unfair["lock_wait_p99_ms"],
        "unfair_commands_per_s": unfair["commands_per_s"],
        **storage,
    }
