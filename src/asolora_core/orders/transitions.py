"""The lifecycle table: (state, action, actor kind) -> next state (R1, R4-R14).

One table for the order, its shipments and its issues. The three state enums are distinct
types, so their members never collide as keys. A command first checks the order's own entry
(the order must be in a state where the action is possible) and then, for shipment and issue
actions, the entry of the shipment or issue it acts on.

:func:`step` is the only way to read the table. A missing entry is a named error:

* ``Action.COMPLETE`` never has an entry: completion is automatic
  (:class:`~asolora_core.errors.CompletionIsAutomaticError`, R8);
* an actor kind that never takes the action in any state: ``NotPermitted`` (R1);
* otherwise the state does not allow it: :class:`~asolora_core.errors.InvalidTransitionError`.

Ownership (a vendor acts only on its own orders) is checked by the commands; this table
speaks of kinds of actor only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from asolora_core.actors import ActorKind
from asolora_core.errors import (
    CompletionIsAutomaticError,
    DisputeWindowClosedError,
    InvalidTransitionError,
    NotPermittedError,
)
from asolora_core.orders.model import IssueStatus, OrderStatus, ShipmentStatus

__all__ = ["TRANSITIONS", "Action", "State", "step"]

State = OrderStatus | ShipmentStatus | IssueStatus


class Action(enum.Enum):
    """Everything that can be done to an order, its shipments and its issues."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    SHIP = "ship"
    UPDATE_TRACKING = "update_tracking"
    MARK_DELIVERED = "mark_delivered"
    CONFIRM_RECEIPT = "confirm_receipt"
    COMPLETE = "complete"  #: never allowed (R8)
    AUTO_COMPLETE = "auto_complete"  #: the system's own step on the last confirmation (R9)
    CANCEL = "cancel"
    REPORT_ISSUE = "report_issue"
    RESPOND_TO_ISSUE = "respond_to_issue"
    OFFER_SETTLEMENT = "offer_settlement"
    ANSWER_SETTLEMENT = "answer_settlement"
    WITHDRAW_ISSUE = "withdraw_issue"
    MEDIATE_ISSUE = "mediate_issue"
    REFUND = "refund"


V, B, S, Y = ActorKind.VENDOR, ActorKind.BUYER, ActorKind.STAFF, ActorKind.SYSTEM
P, C, X = OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.CANCELLED
T, D, K = ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED, ShipmentStatus.CONFIRMED
OPEN, CLOSED = IssueStatus.OPEN, IssueStatus.CLOSED


def _table() -> dict[tuple[State, Action, ActorKind], State]:
    rows: list[tuple[State, Action, tuple[ActorKind, ...], State]] = [
        # the order
        (P, Action.SHIP, (V,), P),
        (P, Action.UPDATE_TRACKING, (V,), P),
        (P, Action.MARK_DELIVERED, (V,), P),
        (P, Action.CONFIRM_RECEIPT, (B, Y), P),
        (P, Action.AUTO_COMPLETE, (Y,), C),
        (P, Action.CANCEL, (B, V, S, Y), X),
        (P, Action.REPORT_ISSUE, (B,), P),
        (P, Action.RESPOND_TO_ISSUE, (V,), P),
        (P, Action.OFFER_SETTLEMENT, (V,), P),
        (P, Action.ANSWER_SETTLEMENT, (B,), P),
        (P, Action.WITHDRAW_ISSUE, (B,), P),
        (P, Action.MEDIATE_ISSUE, (S,), P),
        (P, Action.REFUND, (V,), P),
        (C, Action.REFUND, (V,), C),  # R20: the vendor may refund at any time
        # a shipment
        (T, Action.UPDATE_TRACKING, (V,), T),
        (T, Action.MARK_DELIVERED, (V,), D),
        (D, Action.CONFIRM_RECEIPT, (B, Y), K),
        # an issue
        (OPEN, Action.RESPOND_TO_ISSUE, (V,), OPEN),
        (OPEN, Action.OFFER_SETTLEMENT, (V,), OPEN),
        (OPEN, Action.ANSWER_SETTLEMENT, (B,), OPEN),  # accepted: the command then closes it
        (OPEN, Action.WITHDRAW_ISSUE, (B,), CLOSED),
        (OPEN, Action.MEDIATE_ISSUE, (S,), CLOSED),
    ]
    table: dict[tuple[State, Action, ActorKind], State] = {}
    for state, action, kinds, nxt in rows:
        for kind in kinds:
            table[(state, action, kind)] = nxt
    return table


#: The whole lifecycle, read-only. Tests walk every entry.
_TABLE = _table()
TRANSITIONS: Mapping[tuple[State, Action, ActorKind], State] = MappingProxyType(_TABLE)

_KINDS_BY_ACTION: dict[Action, frozenset[ActorKind]] = {}
for _state, _action, _kind in TRANSITIONS:
    _KINDS_BY_ACTION[_action] = _KINDS_BY_ACTION.get(_action, frozenset()) | {_kind}


def step(state: State, action: Action, actor: ActorKind) -> State:
    """The state after ``action`` by an ``actor`` kind in ``state``, or the named refusal."""
    nxt = _TABLE.get((state, action, actor))
    if nxt is not None:
        return nxt
    if action is Action.COMPLETE:
        raise CompletionIsAutomaticError(
            "orders cannot be marked completed by hand: an order completes by itself when the "
            "buyer has confirmed receipt of every shipment; leave it in processing",
            action=action.value,
            actor=actor.value,
        )
    if actor not in _KINDS_BY_ACTION.get(action, frozenset()):
        raise NotPermittedError(
            f"a {actor.value} cannot {action.value.replace('_', ' ')}",
            action=action.value,
            actor=actor.value,
        )
    if action is Action.REPORT_ISSUE and state is OrderStatus.COMPLETED:
        raise DisputeWindowClosedError(
            "the order is completed, so the platform's dispute window is closed; returns and "
            "refunds now go directly between buyer and vendor under the vendor's policy",
            state=state.value,
        )
    raise InvalidTransitionError(
        f"cannot {action.value.replace('_', ' ')} while {type(state).__name__} is {state.value}",
        action=action.value,
        state=state.value,
        actor=actor.value,
    )
