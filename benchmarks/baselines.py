"""Bare baselines of one marketplace order lifecycle: state moves only, no money, no I/O.

Every baseline is driven by the same 13 moves per lifecycle, one per command of the facade
lifecycle (``facade_lifecycle.py``), so that a lifecycle here and there is the same work order:

    place (1), ship (2, one shipment each), update_tracking (3 per shipment = 6),
    deliver (2), confirm (2).

The order completes inside the last confirmation, as ``Marketplace.confirm_receipt`` completes
it inside the same command: after each confirmation the baseline checks whether every
shipment is confirmed, and only then moves the order to ``completed`` (one more table lookup,
or one more library transition fired from the shipment's ``after`` callback). No baseline fires
a trigger that its guard refuses: that would be work the facade does not do.

Each ``run_<name>(n)`` runs ``n`` full lifecycles and checks, at the end of every lifecycle,
that the order reached ``"completed"``; a broken baseline raises ``RuntimeError`` instead of
being timed. The check is an ``if``/``raise``, not ``assert``, so it survives ``python -O``.

What each one measures:

* ``dict_baseline``: plain ``{(state, action): next_state}`` tables, the Python floor;
* ``transitions``: ``transitions.Machine``, one machine built per order and per shipment (3 per
  lifecycle): the way its README starts, and building the machines is a large share of its
  time (compare ``transitions_shared``);
* ``transitions_shared``: two machines built once, each order and shipment joins with
  ``add_model`` and leaves with ``remove_model`` once its lifecycle is over (the way to use
  the library for many aggregates);
* ``statemachine``: python-statemachine, one machine instance per order and per shipment (its
  machines are classes; an instance is its model).
"""

from __future__ import annotations

from collections.abc import Callable

from statemachine import State, StateMachine
from transitions import Machine

__all__ = [
    "BASELINES",
    "MOVES_PER_LIFECYCLE",
    "SHIPMENTS_PER_ORDER",
    "TRACKING_UPDATES_PER_SHIPMENT",
    "run_dict_baseline",
    "run_statemachine",
    "run_transitions",
    "run_transitions_shared",
]

SHIPMENTS_PER_ORDER = 2
TRACKING_UPDATES_PER_SHIPMENT = 3
#: place + ship x2 + update_tracking x6 + deliver x2 + confirm x2 = 13, the facade's 13 commands
#: (the completion rides on the last confirm)
MOVES_PER_LIFECYCLE = 1 + SHIPMENTS_PER_ORDER * (1 + TRACKING_UPDATES_PER_SHIPMENT + 1 + 1)

_PROCESSING = "processing"
_COMPLETED = "completed"
_IN_TRANSIT = "in_transit"
_DELIVERED = "delivered"
_CONFIRMED = "confirmed"


def _fail(name: str, state: object) -> None:
    raise RuntimeError(f"{name}: lifecycle ended in state {state!r}, expected 'completed'")


# ---------------------------------------------------------------------------------------------
# 1. dict table: "the Python limit"
# ---------------------------------------------------------------------------------------------

_ORDER_TABLE: dict[tuple[str, str], str] = {
    ("new", "place"): _PROCESSING,
    (_PROCESSING, "ship"): _PROCESSING,
    (_PROCESSING, "complete"): _COMPLETED,
}
_SHIPMENT_TABLE: dict[tuple[str, str], str] = {
    (_IN_TRANSIT, "update_tracking"): _IN_TRANSIT,
    (_IN_TRANSIT, "deliver"): _DELIVERED,
    (_DELIVERED, "confirm"): _CONFIRMED,
}


def run_dict_baseline(n: int) -> None:
    """``n`` lifecycles on plain ``{(state, action): next_state}`` tables.

    An order is ``{"state": str}`` with its shipments as a list of states. A move is one dict
    lookup; an action that is not in the table raises ``KeyError`` (that is the guard).
    """
    order_table = _ORDER_TABLE
    ship_table = _SHIPMENT_TABLE
    shipment_range = range(SHIPMENTS_PER_ORDER)
    tracking_range = range(TRACKING_UPDATES_PER_SHIPMENT)
    for _ in range(n):
        order = {"state": "new"}
        shipments: list[str] = []
        order["state"] = order_table[(order["state"], "place")]
        for _ in shipment_range:
            order["state"] = order_table[(order["state"], "ship")]
            shipments.append(_IN_TRANSIT)
        for i in shipment_range:
            for _ in tracking_range:
                shipments[i] = ship_table[(shipments[i], "update_tracking")]
        for i in shipment_range:
            shipments[i] = ship_table[(shipments[i], "deliver")]
        for i in shipment_range:
            shipments[i] = ship_table[(shipments[i], "confirm")]
            if all(s == _CONFIRMED for s in shipments):
                order["state"] = order_table[(order["state"], "complete")]
        if order["state"] != _COMPLETED:
            _fail("dict_baseline", order["state"])


# ---------------------------------------------------------------------------------------------
# 2. transitions: one Machine per order + one per shipment (3 per lifecycle), driven by triggers
# ---------------------------------------------------------------------------------------------

_T_ORDER_STATES = ["new", _PROCESSING, _COMPLETED]
_T_ORDER_TRANSITIONS = [
    {"trigger": "place", "source": "new", "dest": _PROCESSING},
    {"trigger": "ship", "source": _PROCESSING, "dest": _PROCESSING},
    {"trigger": "complete", "source": _PROCESSING, "dest": _COMPLETED},
]
_T_SHIPMENT_STATES = [_IN_TRANSIT, _DELIVERED, _CONFIRMED]
_T_SHIPMENT_TRANSITIONS = [
    {"trigger": "update_tracking", "source": _IN_TRANSIT, "dest": _IN_TRANSIT},
    {"trigger": "deliver", "source": _IN_TRANSIT, "dest": _DELIVERED},
    {"trigger": "confirm", "source": _DELIVERED, "dest": _CONFIRMED, "after": "notify_order"},
]


class _TOrder:
    # set on the instance by transitions.Machine
    state: str
    place: Callable[[], bool]
    ship: Callable[[], bool]
    complete: Callable[[], bool]

    def __init__(self) -> None:
        self.shipments: list[_TShipment] = []

    def all_confirmed(self) -> bool:
        return all(s.state == _CONFIRMED for s in self.shipments)


class _TShipment:
    # set on the instance by transitions.Machine
    state: str
    update_tracking: Callable[[], bool]
    deliver: Callable[[], bool]
    confirm: Callable[[], bool]

    def __init__(self, order: _TOrder) -> None:
        self.order = order

    def notify_order(self) -> None:
        # the order completes inside the last confirmation (as confirm_receipt does)
        if self.order.all_confirmed():
            self.order.complete()


def run_transitions(n: int) -> None:
    """``n`` lifecycles on ``transitions.Machine``: one machine built per order and per
    shipment, 3 per lifecycle (building them is a large share of the time: see
    :func:`run_transitions_shared` for the machines built once)."""
    for _ in range(n):
        order = _TOrder()
        Machine(
            model=order,
            states=_T_ORDER_STATES,
            transitions=_T_ORDER_TRANSITIONS,
            initial="new",
            auto_transitions=False,
            send_event=False,
        )
        order.place()
        for _ in range(SHIPMENTS_PER_ORDER):
            order.ship()
            shipment = _TShipment(order)
            Machine(
                model=shipment,
                states=_T_SHIPMENT_STATES,
                transitions=_T_SHIPMENT_TRANSITIONS,
                initial=_IN_TRANSIT,
                auto_transitions=False,
                send_event=False,
            )
            order.shipments.append(shipment)
        for shipment in order.shipments:
            for _ in range(TRACKING_UPDATES_PER_SHIPMENT):
                shipment.update_tracking()
        for shipment in order.shipments:
            shipment.deliver()
        for shipment in order.shipments:
            shipment.confirm()
        if order.state != _COMPLETED:
            _fail("transitions", order.state)


def _shared_machines() -> tuple[Machine, Machine]:
    order_machine = Machine(
        model=None,
        states=_T_ORDER_STATES,
        transitions=_T_ORDER_TRANSITIONS,
        initial="new",
        auto_transitions=False,
        send_event=False,
    )
    shipment_machine = Machine(
        model=None,
        states=_T_SHIPMENT_STATES,
        transitions=_T_SHIPMENT_TRANSITIONS,
        initial=_IN_TRANSIT,
        auto_transitions=False,
        send_event=False,
    )
    return order_machine, shipment_machine


def run_transitions_shared(n: int) -> None:
    """``n`` lifecycles on two ``transitions.Machine`` objects built once and shared: each
    order and shipment joins with ``add_model`` and leaves with ``remove_model`` (the fair
    way to use the library for many aggregates)."""
    order_machine, shipment_machine = _shared_machines()
    for _ in range(n):
        order = _TOrder()
        order_machine.add_model(order)
        order.place()
        for _ in range(SHIPMENTS_PER_ORDER):
            order.ship()
            shipment = _TShipment(order)
            shipment_machine.add_model(shipment)
            order.shipments.append(shipment)
        for shipment in order.shipments:
            for _ in range(TRACKING_UPDATES_PER_SHIPMENT):
                shipment.update_tracking()
        for shipment in order.shipments:
            shipment.deliver()
        for shipment in order.shipments:
            shipment.confirm()
        if order.state != _COMPLETED:
            _fail("transitions_shared", order.state)
        for shipment in order.shipments:
            shipment_machine.remove_model(shipment)
        order_machine.remove_model(order)


# ---------------------------------------------------------------------------------------------
# 3. python-statemachine 3.x: one StateMachine instance per order + one per shipment
# ---------------------------------------------------------------------------------------------


class _SMOrder(StateMachine):
    new = State(initial=True)
    processing = State()
    completed = State(final=True)

    place = new.to(processing)
    ship = processing.to.itself()  # type: ignore[no-untyped-call]
    complete = processing.to(completed)

    def __init__(self) -> None:
        self.shipments: list[_SMShipment] = []
        super().__init__()

    def all_confirmed(self) -> bool:
        return all(s.confirmed.is_active for s in self.shipments)


class _SMShipment(StateMachine):
    in_transit = State(initial=True)
    delivered = State()
    confirmed = State(final=True)

    update_tracking = in_transit.to.itself()  # type: ignore[no-untyped-call]
    deliver = in_transit.to(delivered)
    confirm = delivered.to(confirmed, after="notify_order")

    def __init__(self, order: _SMOrder) -> None:
        self.order = order
        super().__init__()

    def notify_order(self) -> None:
        # the order completes inside the last confirmation (as confirm_receipt does)
        if self.order.all_confirmed():
            self.order.complete()


def run_statemachine(n: int) -> None:
    """``n`` lifecycles on python-statemachine: one machine instance per order and shipment."""
    for _ in range(n):
        order = _SMOrder()
        order.place()
        for _ in range(SHIPMENTS_PER_ORDER):
            order.ship()
            order.shipments.append(_SMShipment(order))
        for shipment in order.shipments:
            for _ in range(TRACKING_UPDATES_PER_SHIPMENT):
                shipment.update_tracking()
        for shipment in order.shipments:
            shipment.deliver()
        for shipment in order.shipments:
            shipment.confirm()
        if not order.completed.is_active:
            _fail("statemachine", order.configuration_values)


BASELINES: dict[str, Callable[[int], None]] = {
    "dict_baseline": run_dict_baseline,
    "transitions": run_transitions,
    "transitions_shared": run_transitions_shared,
    "statemachine": run_statemachine,
}
