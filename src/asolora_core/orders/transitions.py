"""The lifecycle table: (state, action, actor kind) -> next state (R1, R4-R14, R37, R40).

One table for the order, its shipments, its issues and its return requests. The four state
enums are distinct types, so their members never collide as keys. A command first checks the
order's own entry (the order must be in a state where the action is possible) and then, for
shipment, issue and return actions, the entry of the shipment, issue or return request it
acts on.

Staff powers (R40's "every order reaches an ending") are entries for ``STAFF``: mark delivered
on carrier proof, confirm receipt on the buyer's behalf, resolve an issue for the vendor,
refund outside an issue, cancel after shipping. The system's own steps are entries for
``SYSTEM``: the R40 timers (remind, cancel or refund the unshipped rest, escalate, expire a
return request) and closing a fully refunded order.

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
from asolora_core.orders.model import IssueStatus, OrderStatus, ReturnStatus, ShipmentStatus

__all__ = ["TRANSITIONS", "Action", "State", "step"]

State = OrderStatus | ShipmentStatus | IssueStatus | ReturnStatus
"""Any state the table knows: of an order, a shipment, an issue or a return request."""


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
    # --- R40 timers and the endings -------------------------------------------------------
    REMIND = "remind"  #: a reminder timer (vendor to ship, buyer to confirm)
    ESCALATE_ISSUE = "escalate_issue"  #: an issue still open after N days goes to staff
    RESOLVE_FOR_VENDOR = "resolve_for_vendor"  #: staff close an issue for the vendor
    CANCEL_AFTER_SHIPPING = "cancel_after_shipping"  #: staff end a shipped order, refunded
    CLOSE_REFUNDED = "close_refunded"  #: the system ends a fully refunded order
    # --- R37 returns and exchanges ----------------------------------------------------------
    REQUEST_RETURN = "request_return"
    ACCEPT_RETURN = "accept_return"
    DECLINE_RETURN = "decline_return"
    EXPIRE_RETURN = "expire_return"
    SHIP_RETURN = "ship_return"
    RECEIVE_RETURN = "receive_return"
    REFUND_RETURN = "refund_return"
    SHIP_EXCHANGE = "ship_exchange"


V, B, S, Y = ActorKind.VENDOR, ActorKind.BUYER, ActorKind.STAFF, ActorKind.SYSTEM
P, C, X = OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.CANCELLED
T, D, K = ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED, ShipmentStatus.CONFIRMED
OPEN, CLOSED = IssueStatus.OPEN, IssueStatus.CLOSED
RQ, RA, RD, RE = (
    ReturnStatus.REQUESTED,
    ReturnStatus.ACCEPTED,
    ReturnStatus.DECLINED,
    ReturnStatus.EXPIRED,
)
RS, RR, RF, RX = (
    ReturnStatus.SHIPPED_BACK,
    ReturnStatus.RECEIVED,
    ReturnStatus.REFUNDED,
    ReturnStatus.EXCHANGED,
)


def _table() -> dict[tuple[State, Action, ActorKind], State]:
    rows: list[tuple[State, Action, tuple[ActorKind, ...], State]] = [
        # the order
        (P, Action.SHIP, (V,), P),
        (P, Action.UPDATE_TRACKING, (V,), P),
        (P, Action.MARK_DELIVERED, (V, S), P),  # staff: on the carrier's proof
        (P, Action.CONFIRM_RECEIPT, (B, Y, S), P),  # staff: on the buyer's behalf
        (P, Action.AUTO_COMPLETE, (Y,), C),
        (P, Action.CANCEL, (B, V, S, Y), X),
        (P, Action.REPORT_ISSUE, (B,), P),
        (P, Action.RESPOND_TO_ISSUE, (V,), P),
        (P, Action.OFFER_SETTLEMENT, (V,), P),
        (P, Action.ANSWER_SETTLEMENT, (B,), P),
        (P, Action.WITHDRAW_ISSUE, (B,), P),
        (P, Action.MEDIATE_ISSUE, (S,), P),
        (P, Action.REFUND, (V, S, Y), P),  # staff: outside an issue; system: unshipped rest
        (C, Action.REFUND, (V, S), C),  # R20: the vendor may refund at any time
        (P, Action.REMIND, (Y,), P),  # R40
        (P, Action.ESCALATE_ISSUE, (Y,), P),  # R40
        (P, Action.RESOLVE_FOR_VENDOR, (S,), P),
        (P, Action.CANCEL_AFTER_SHIPPING, (S,), X),
        (P, Action.CLOSE_REFUNDED, (Y,), X),
        # R37: returns live on confirmed items, while the order is processing or completed
        *(
            (state, action, kinds, state)
            for state in (P, C)
            for action, kinds in (
                (Action.REQUEST_RETURN, (B,)),
                (Action.ACCEPT_RETURN, (V,)),
                (Action.DECLINE_RETURN, (V,)),
                (Action.EXPIRE_RETURN, (Y,)),
                (Action.SHIP_RETURN, (B,)),
                (Action.RECEIVE_RETURN, (V,)),
                (Action.REFUND_RETURN, (V,)),
                (Action.SHIP_EXCHANGE, (V,)),
            )
        ),
        # a request left unanswered on an order cancelled meanwhile still expires
        (X, Action.EXPIRE_RETURN, (Y,), X),
        # a shipment
        (T, Action.UPDATE_TRACKING, (V,), T),
        (T, Action.MARK_DELIVERED, (V, S), D),
        (D, Action.CONFIRM_RECEIPT, (B, Y, S), K),
        # an issue
        (OPEN, Action.RESPOND_TO_ISSUE, (V,), OPEN),
        (OPEN, Action.OFFER_SETTLEMENT, (V,), OPEN),
        (OPEN, Action.ANSWER_SETTLEMENT, (B,), OPEN),  # accepted: the command then closes it
        (OPEN, Action.WITHDRAW_ISSUE, (B,), CLOSED),
        (OPEN, Action.MEDIATE_ISSUE, (S,), CLOSED),
        (OPEN, Action.ESCALATE_ISSUE, (Y,), OPEN),
        (OPEN, Action.RESOLVE_FOR_VENDOR, (S,), CLOSED),
        # a return or exchange request (R37)
        (RQ, Action.ACCEPT_RETURN, (V,), RA),
        (RQ, Action.DECLINE_RETURN, (V,), RD),
        (RQ, Action.EXPIRE_RETURN, (Y,), RE),
        (RA, Action.SHIP_RETURN, (B,), RS),
        (RS, Action.RECEIVE_RETURN, (V,), RR),
        (RR, Action.REFUND_RETURN, (V,), RF),
        (RR, Action.SHIP_EXCHANGE, (V,), RX),
    ]
    table: dict[tuple[State, Action, ActorKind], State] = {}
    for state, action, kinds, nxt in rows:
        for kind in kinds:
            table[(state, action, kind)] = nxt
    return table


#: The whole lifecycle, read-only. Tests walk every entry.
_TABLE = _table()
TRANSITIONS: Mapping[tuple[State, Action, ActorKind], State] = MappingProxyType(_TABLE)
"""The lifecycle table, read-only: ``(state, action, actor kind) -> next state``. Read it with
:func:`step`, which names the error of a missing entry; the "Lifecycle" page of the docs
draws it."""

_KINDS_BY_ACTION: dict[Action, frozenset[ActorKind]] = {}
#: (kind of state, action, actor kind) -> the states in which that actor may take it
_ALLOWED_IN: dict[tuple[type, Action, ActorKind], tuple[str, ...]] = {}
for _state, _action, _kind in TRANSITIONS:
    _KINDS_BY_ACTION[_action] = _KINDS_BY_ACTION.get(_action, frozenset()) | {_kind}
    _key = (type(_state), _action, _kind)
    _ALLOWED_IN[_key] = (*_ALLOWED_IN.get(_key, ()), _state.value)

_SUBJECT = {
    OrderStatus: "the order",
    ShipmentStatus: "the shipment",
    IssueStatus: "the issue",
    ReturnStatus: "the return request",
}


def _not_now(state: State, action: Action, actor: ActorKind) -> str:
    """R2: what was refused, why (the state), and when it would be possible instead."""
    verb = action.value.replace("_", " ")
    subject = _SUBJECT[type(state)]
    said = f"cannot {verb}: {subject} is {state.value.replace('_', ' ')}"
    allowed = _ALLOWED_IN.get((type(state), action, actor), ())
    if not allowed:
        return said
    when = " or ".join(value.replace("_", " ") for value in allowed)
    return f"{said}; a {actor.value} can {verb} only while it is {when}"


_WHO = {ActorKind.BUYER: "the buyer", ActorKind.VENDOR: "the vendor", ActorKind.STAFF: "staff"}


def _not_yours(action: Action, actor: ActorKind) -> str:
    """R1, R2: the kind of actor refused, and who can take the action instead."""
    verb = action.value.replace("_", " ")
    said = f"a {actor.value} cannot {verb}"
    who = [_WHO[kind] for kind in _WHO if kind in _KINDS_BY_ACTION.get(action, frozenset())]
    if not who:  # only the system's sweeps take it
        return f"{said}: it happens by itself when its timer is due"
    return f"{said}; only {' or '.join(who)} can"


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
            _not_yours(action, actor),
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
        _not_now(state, action, actor),
        action=action.value,
        state=state.value,
        actor=actor.value,
    )
