"""The asolora_core facade candidates of the lifecycle benchmark.

Contract (the same one the bare baselines in ``baselines.py`` follow):

* run ``n`` full lifecycles of one marketplace order each: place the order; create two
  shipments; three tracking updates on each shipment; mark both delivered; the buyer confirms
  both; the order completes automatically on the second confirmation (13 state moves);
* check at the end of every lifecycle that the order is ``completed`` (``if``/``raise``);
* print nothing to stdout;
* timed as a whole, set-up included.

The facade does all the real work on every move: authorization (R1), validation, the
transitions table, events and history (R42), notifications to the outbox (R29) and the
version check (R36). The SQLite candidate commits every move in its own transaction on a
file (WAL, ``synchronous=NORMAL``: durable across a process crash).
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

__all__ = ["run_memory", "run_memory_idem", "run_on", "run_sqlite"]

_START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _lifecycles(store: Store, n: int, *, keys: bool = False) -> None:
    """``keys``: every command carries its own idempotency key (what a web app sends)."""
    clock = FakeClock(_START)
    market = Marketplace(store, clock=clock, ids=SequentialIds())
    buyer, vendor = Actor.buyer("b-1"), Actor.vendor("v-1")
    items = [Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=Money("9.99", "EUR"))]
    paid = Money("19.98", "EUR")
    counter = iter(range(1 << 62))

    def key() -> str | None:
        return f"k-{next(counter)}" if keys else None

    for i in range(n):
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


def run_on(store: Store, n: int) -> None:
    """``n`` order lifecycles through the facade on ``store`` (left open)."""
    _lifecycles(store, n)


def run_memory(n: int) -> None:
    """``n`` order lifecycles through the facade on the in-memory store."""
    _lifecycles(InMemoryStore(), n)


def run_memory_idem(n: int) -> None:
    """As :func:`run_memory`, every command with its own idempotency key (R35)."""
    _lifecycles(InMemoryStore(), n, keys=True)


def run_sqlite(n: int, path: str) -> None:
    """``n`` order lifecycles through the facade on a SQLite file at ``path``."""
    store = SqliteStore(path)
    try:
        _lifecycles(store, n)
    finally:
        store.close()
