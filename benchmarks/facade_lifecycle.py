"""The asolora_core facade candidates of the lifecycle benchmark.

Contract (the same one the bare baselines in ``baselines.py`` follow):

* run ``n`` full lifecycles of one marketplace order each: place the order; create two
  shipments; three tracking updates on each shipment; mark both delivered; the buyer confirms
  both; the order completes automatically on the second confirmation. That is 13 commands,
  one per state move of the baselines (``baselines.MOVES_PER_LIFECYCLE``);
* check at the end of every lifecycle that the order is ``completed`` (``if``/``raise``);
* print nothing to stdout.

Set-up is NOT timed: :class:`Lifecycles` builds the marketplace around a store that is already
open (for SQLite: created and migrated), and only :meth:`Lifecycles.run` is timed. Its
lifecycles are deterministic (``FakeClock`` that never moves, ``SequentialIds``): the k-th
lifecycle of any fresh :class:`Lifecycles` issues the same commands with the same ids, which
is what lets ``run.py`` replay the recorded SQL of a run.

The facade does all the real work on every command: authorization (R1), validation, the
transitions table, events and history (R42), notifications to the outbox (R29), the ledger
hold and the version check (R36). On SQLite every command commits in its own transaction on
a file (WAL, ``synchronous=NORMAL``: durable across a process crash). No notifier is set:
notifications stay pending in the outbox (delivery is not measured).
"""

from __future__ import annotations

import datetime as dt

from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InMemoryStore,
    Item,
    Marketplace,
    OrderStatus,
    SequentialIds,
    SqliteStore,
)
from asolora_core.ports import Store

__all__ = ["Lifecycles", "memory_bytes_per_order", "run_memory", "run_memory_idem", "run_sqlite"]

_START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


class Lifecycles:
    """Order lifecycles on one marketplace around ``store``; :meth:`run` continues from where
    the previous call stopped. ``keys``: every command carries its own idempotency key (what
    a web app sends)."""

    def __init__(self, store: Store, *, keys: bool = False) -> None:
        self.market = Marketplace(store, clock=FakeClock(_START), ids=SequentialIds())
        self.keys = keys
        self.done = 0  # lifecycles run so far
        self._counter = iter(range(1 << 62))

    def _key(self) -> str | None:
        return f"k-{next(self._counter)}" if self.keys else None

    def run(self, n: int) -> None:
        """The next ``n`` lifecycles (13 commands each)."""
        market, key = self.market, self._key
        buyer, vendor = Actor.buyer("b-1"), Actor.vendor("v-1")
        items = [
            Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=Money("9.99", "EUR"))
        ]
        paid = Money("19.98", "EUR")
        for i in range(self.done, self.done + n):
            (order,) = market.place_checkout(
                buyer=buyer, customer_name="Ada", items=items, paid=paid, idempotency_key=key()
            )
            oid, line = order.order_id, order.lines[0].line_id
            for tracking in (f"A{i}", f"B{i}"):
                order = market.ship(
                    oid,
                    by=vendor,
                    items={line: 1},
                    carrier="DHL",
                    tracking_number=tracking,
                    idempotency_key=key(),
                )
            for shipment in order.shipments:
                sid = shipment.shipment_id
                for hop in ("sorted", "in transit", "out for delivery"):
                    market.update_tracking(oid, sid, by=vendor, note=hop, idempotency_key=key())
                market.mark_delivered(oid, sid, by=vendor, idempotency_key=key())
            for shipment in order.shipments:
                order = market.confirm_receipt(
                    oid, shipment.shipment_id, by=buyer, idempotency_key=key()
                )
            if order.status is not OrderStatus.COMPLETED:
                raise RuntimeError(f"order {oid} ended {order.status}")
        self.done += n


def _lifecycles(store: Store, n: int, *, keys: bool = False) -> None:
    """``n`` lifecycles on a new marketplace around ``store`` (kept for ``postgres_bench``)."""
    Lifecycles(store, keys=keys).run(n)


def run_memory(n: int) -> None:
    """``n`` order lifecycles through the facade on the in-memory store."""
    _lifecycles(InMemoryStore(), n)


def run_memory_idem(n: int) -> None:
    """As :func:`run_memory`, every command with its own idempotency key (R35)."""
    _lifecycles(InMemoryStore(), n, keys=True)


def run_sqlite(n: int, path: str) -> None:
    """``n`` order lifecycles through the facade on a SQLite file at ``path`` (opening and
    migrating the file included: ``run.py`` times :class:`Lifecycles` on a store it opened)."""
    store = SqliteStore(path)
    try:
        _lifecycles(store, n)
    finally:
        store.close()


def memory_bytes_per_order(n: int, *, warm_up: int = 20) -> float:
    """Bytes of Python heap each order keeps in an ``InMemoryStore`` after ``n`` lifecycles.

    ``warm_up`` lifecycles run first (caches, interned strings, the vendor's accounts), then
    ``tracemalloc`` starts, ``n`` more lifecycles run, the cyclic garbage is collected, and the
    memory still held by blocks allocated since the start is divided by ``n``. State: as in
    ``sqlite_replay.bytes_per_order`` (completed orders, holds not released, notifications
    pending in the outbox, no idempotency records, no retention run). ``tracemalloc`` counts
    the blocks Python allocates, not its own bookkeeping nor allocator slack."""
    import gc
    import tracemalloc

    lifecycles = Lifecycles(InMemoryStore())
    lifecycles.run(warm_up)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        lifecycles.run(n)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    return held / n
