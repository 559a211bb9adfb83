"""Which reactors an order change runs (the kernel's reactor plans, R29, R42).

A reactor registered with the event classes it acts on is skipped by a change with no event
of those classes; the plan of each tuple of event classes is worked out once and forgotten
when ``Marketplace._reactors`` changes. Skipping must never change what runs: the plan is
every reactor, in order, that has no classes of its own or an event of one of them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import Actor, FakeClock, InMemoryStore, Item, Marketplace, SequentialIds
from asolora_core import events as events_module
from asolora_core.events import (
    DomainEvent,
    IssueClosed,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    ReceiptConfirmed,
    RefundIssued,
    ShipmentCreated,
    ShipmentDelivered,
    TrackingUpdated,
)
from asolora_core.orders.model import Order
from asolora_core.ports import UnitOfWork

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)


EVENT_CLASSES: list[type[DomainEvent]] = [
    OrderPlaced,
    OrderCompleted,
    OrderCancelled,
    RefundIssued,
    ShipmentCreated,
    ShipmentDelivered,
    ReceiptConfirmed,
    TrackingUpdated,
    IssueClosed,
]


def _market() -> Marketplace:
    return Marketplace(InMemoryStore(), clock=FakeClock(T0), ids=SequentialIds())


def _expected(market: Marketplace, kinds: Sequence[type[DomainEvent]]) -> list[object]:
    """Every reactor that would do anything: no classes of its own, or an event of one."""
    out: list[object] = []
    for react in market._reactors:
        wanted = market._reactor_events.get(react)
        if wanted is None or any(issubclass(k, wanted) for k in kinds):
            out.append(react)
    return out


@given(st.lists(st.sampled_from(EVENT_CLASSES), max_size=4))
def test_a_plan_is_every_reactor_with_work_to_do_in_order(
    kinds: list[type[DomainEvent]],
) -> None:
    market = _market()
    plan = market._plan_reactors(tuple(kinds))
    assert list(plan) == _expected(market, kinds)
    # the reactors that act on every change are always in it, in registration order
    assert [r for r in plan if r not in market._reactor_events] == [
        r for r in market._reactors if r not in market._reactor_events
    ]


def test_a_reactor_runs_exactly_on_the_changes_with_its_events() -> None:
    market = _market()
    seen: dict[str, list[tuple[type[DomainEvent], ...]]] = {"delivery": [], "all": []}

    def on_delivery(
        uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        seen["delivery"].append(tuple(map(type, events)))

    def on_everything(
        uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        seen["all"].append(tuple(map(type, events)))

    market._react_on(on_delivery, ShipmentDelivered)
    market._reactors.append(on_everything)
    buyer, vendor = Actor.buyer("b-1"), Actor.vendor("v-1")
    items = [Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=Money("5", "EUR"))]
    (order,) = market.place_checkout(
        buyer=buyer, customer_name="Ada", items=items, paid=Money("10", "EUR")
    )
    oid, line = order.order_id, order.lines[0].line_id
    for number in ("A1", "B1"):
        order = market.ship(oid, by=vendor, items={line: 1}, carrier="DHL", tracking_number=number)
    for shipment in order.shipments:
        market.update_tracking(oid, shipment.shipment_id, by=vendor, note="sorted")
        market.mark_delivered(oid, shipment.shipment_id, by=vendor)
    for shipment in order.shipments:
        order = market.confirm_receipt(oid, shipment.shipment_id, by=buyer)
    assert seen["all"] == [
        (OrderPlaced,),
        (ShipmentCreated,),
        (ShipmentCreated,),
        (TrackingUpdated,),
        (ShipmentDelivered,),
        (TrackingUpdated,),
        (ShipmentDelivered,),
        (ReceiptConfirmed,),
        (ReceiptConfirmed, OrderCompleted),
    ]
    assert seen["delivery"] == [(ShipmentDelivered,), (ShipmentDelivered,)]


def test_a_subclass_of_an_event_a_reactor_names_runs_it() -> None:
    """As the reactors' own ``isinstance`` tests: an event of a subclass concerns them too."""

    class LateDelivery(ShipmentDelivered):
        pass

    try:
        market = _market()
        plan = market._plan_reactors((LateDelivery,))
        assert market._schedule_order_timers in plan
        assert market._book_order_events not in plan
    finally:  # event classes register themselves by name (see events.event_type)
        events_module._EVENT_TYPES.pop("LateDelivery", None)


def test_changing_the_reactors_forgets_the_plans() -> None:
    market = _market()
    lifecycle = (OrderPlaced,)
    first = market._plan_reactors(lifecycle)
    market._reactor_plans[lifecycle] = first
    market._reactors.remove(market._book_order_events)
    assert market._reactor_plans == {}
    assert market._book_order_events not in market._plan_reactors(lifecycle)
    market._reactors[:] = []
    assert market._plan_reactors(lifecycle) == ()


def test_a_dropped_reactor_no_longer_runs_on_commands() -> None:
    """What a benchmark does to time the rest: drop a reaction from ``_reactors``."""
    market = _market()
    buyer = Actor.buyer("b-1")
    items = [Item(vendor_id="v-1", product_id="p-1", quantity=1, unit_price=Money("5", "EUR"))]
    market.place_checkout(buyer=buyer, customer_name="Ada", items=items, paid=Money("5", "EUR"))
    market._reactors.remove(market._book_order_events)
    (order,) = market.place_checkout(
        buyer=buyer, customer_name="Ada", items=items, paid=Money("5", "EUR")
    )
    with market.store.reader() as uow:
        assert uow.ledger.get_hold(order.order_id) is None  # the ledger's reaction was skipped
