"""The reads of a command on SQLite.

A command's unit of work on SQLite serves an order this process committed without reading
it (``SqliteStore.command_unit_of_work``), and checks it when it writes: another store (a
process) that changed the order meanwhile makes the command run again from a fresh read,
with nothing of the stale attempt kept and no refusal of a state the order has left (R36).
The rollups read a vendor's rebuild mark and time zone in one statement.
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
    InvalidTransitionError,
    Item,
    Marketplace,
    Order,
    OrderStatus,
    SqliteStore,
)
from asolora_core.ports import StaleRead

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)
VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two stores on one file: two processes, as far as their caches go."""
    a, b = SqliteStore(tmp_path / "m.db"), SqliteStore(tmp_path / "m.db")
    yield a, b
    a.close()
    b.close()


def _markets(stores: tuple[SqliteStore, SqliteStore]) -> tuple[Marketplace, Marketplace]:
    clock = FakeClock(T0)
    return (
        Marketplace(stores[0], clock=clock),
        Marketplace(stores[1], clock=clock),
    )


def _place(market: Marketplace) -> Order:
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=Money(5, "EUR"))],
        paid=Money(Decimal(10), "EUR"),
    )
    return order


def _ship_one_elsewhere(market: Marketplace, order: Order) -> None:
    """One unit of ``order`` shipped through ``market`` (the other connection): what the
    first store served unread is now stale."""
    market.ship(
        order.order_id,
        by=VENDOR,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="B1",
    )


def _counts(path: str) -> tuple[int, int]:
    store = SqliteStore(path)
    try:
        conn = store.connection()
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return int(events), int(outbox)
    finally:
        store.close()


def test_a_command_on_a_stale_order_runs_again_and_loses_no_write(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    a, b = _markets(stores)
    order = _place(a)  # a's store now holds the order as committed
    line = order.lines[0].line_id
    b.ship(order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="B1")
    # a's copy has no shipment: shipping the other unit from it must not drop b's shipment
    shipped = a.ship(
        order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="A1"
    )
    assert [s.tracking_number for s in shipped.shipments] == ["B1", "A1"]
    assert shipped.version == order.version + 2
    with stores[0].reader() as uow:
        names = [e.name for e in uow.events.history(order.order_id)]
    assert names.count("ShipmentCreated") == 2


def test_a_refusal_is_not_made_on_a_stale_order(stores: tuple[SqliteStore, SqliteStore]) -> None:
    a, b = _markets(stores)
    order = _place(a)
    line = order.lines[0].line_id
    shipped = b.ship(order.order_id, by=VENDOR, items={line: 2}, carrier="DHL", tracking_number="B")
    sid = shipped.shipments[0].shipment_id
    # a's copy does not know the shipment: the command runs again on the stored order
    delivered = a.mark_delivered(order.order_id, sid, by=VENDOR)
    assert delivered.shipment(sid) is not None
    # and a refusal stands when the stored order refuses too
    b.confirm_receipt(order.order_id, sid, by=BUYER)
    with pytest.raises(InvalidTransitionError):
        a.mark_delivered(order.order_id, sid, by=VENDOR)
    assert a.get_order(order.order_id, by=BUYER).status is OrderStatus.COMPLETED


def test_the_stale_attempt_leaves_nothing_behind(
    stores: tuple[SqliteStore, SqliteStore], tmp_path: Path
) -> None:
    a, b = _markets(stores)
    order = _place(a)
    line = order.lines[0].line_id
    b.ship(order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="B1")
    before = _counts(str(tmp_path / "m.db"))
    shipped = a.ship(
        order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="A1"
    )
    after = _counts(str(tmp_path / "m.db"))
    # what one ship writes: its event and its notification, once
    with stores[0].unit_of_work() as uow:
        last = uow.events.history(order.order_id)[-1]
    assert last.name == "ShipmentCreated"
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == 1
    assert shipped.version == 3


def test_an_order_served_unread_and_not_saved_is_checked_at_commit(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    a, b = _markets(stores)
    order = _place(a)
    _ship_one_elsewhere(b, order)
    with stores[0].command_unit_of_work() as uow:
        assert uow.orders.get(order.order_id) == order  # served as committed: stale
        with pytest.raises(StaleRead):
            uow.commit()
    with stores[0].command_unit_of_work() as uow:  # forgotten: read from the file now
        assert uow.orders.get(order.order_id).version == order.version + 1
        uow.commit()


def test_a_failure_on_a_stale_order_becomes_a_stale_read(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    a, b = _markets(stores)
    order = _place(a)
    _ship_one_elsewhere(b, order)

    def decide_on(order_id: str, refusal: str) -> None:
        with stores[0].command_unit_of_work() as uow:
            uow.orders.get(order_id)
            raise InvalidTransitionError(refusal)

    with pytest.raises(StaleRead):
        decide_on(order.order_id, "decided on the stale order")
    # on an order still as served, the failure stands
    current = a.get_order(order.order_id, by=BUYER)
    a.update_tracking(order.order_id, current.shipments[0].shipment_id, by=VENDOR, note="x")
    with pytest.raises(InvalidTransitionError):
        decide_on(order.order_id, "decided on the stored order")


def test_the_rebuild_mark_and_the_time_zone_in_one_read(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    market = Marketplace(store, clock=FakeClock(T0))
    staff = Actor.staff("s-1")
    try:
        with store.unit_of_work() as uow:
            assert uow.reports.checkpoint_and_zone("rebuild:v-1", "v-1") == (None, "UTC")
        market.register_vendor("v-1", payout_currency="EUR", timezone="Europe/Berlin", by=staff)
        with store.unit_of_work() as uow:
            uow.reports.put_checkpoint("rebuild:v-1", "mark")
            for name, vendor in (("rebuild:v-1", "v-1"), ("rebuild:v-2", "v-2")):
                account = uow.ledger.get_vendor(vendor)
                assert uow.reports.checkpoint_and_zone(name, vendor) == (
                    uow.reports.get_checkpoint(name),
                    "UTC" if account is None else account.timezone,
                )
            assert uow.reports.checkpoint_and_zone("rebuild:v-1", "v-1") == (
                "mark",
                "Europe/Berlin",
            )
    finally:
        store.close()
