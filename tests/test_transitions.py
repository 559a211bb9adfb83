"""The lifecycle table (R1, R4-R14, R20, R37, R40), walked whole: every entry, and every
(state, action, actor kind) that is not an entry gets its named error."""

from __future__ import annotations

import itertools

import pytest

from asolora_core.actors import ActorKind
from asolora_core.errors import (
    AsoloraError,
    CompletionIsAutomaticError,
    DisputeWindowClosedError,
    InvalidTransitionError,
    NotPermittedError,
)
from asolora_core.orders.model import IssueStatus, OrderStatus, ReturnStatus, ShipmentStatus
from asolora_core.orders.transitions import TRANSITIONS, Action, State, step

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
#: R37: each return action, who takes it, and the request's move.
RETURN_MOVES = {
    Action.REQUEST_RETURN: (frozenset({B}), None, None),
    Action.ACCEPT_RETURN: (frozenset({V}), RQ, RA),
    Action.DECLINE_RETURN: (frozenset({V}), RQ, RD),
    Action.EXPIRE_RETURN: (frozenset({Y}), RQ, RE),  # R40
    Action.SHIP_RETURN: (frozenset({B}), RA, RS),
    Action.RECEIVE_RETURN: (frozenset({V}), RS, RR),
    Action.REFUND_RETURN: (frozenset({V}), RR, RF),
    Action.SHIP_EXCHANGE: (frozenset({V}), RR, RX),
}

#: The table as the rules read, written out by hand: (state, action) -> (kinds, next state).
EXPECTED: dict[tuple[State, Action], tuple[frozenset[ActorKind], State]] = {
    # the order (R4-R14, R20)
    (P, Action.SHIP): (frozenset({V}), P),  # R5
    (P, Action.UPDATE_TRACKING): (frozenset({V}), P),  # R6
    (P, Action.MARK_DELIVERED): (frozenset({V, S}), P),  # R7; staff on carrier proof
    (P, Action.CONFIRM_RECEIPT): (frozenset({B, Y, S}), P),  # R9, R10; staff for the buyer
    (P, Action.AUTO_COMPLETE): (frozenset({Y}), C),  # R9
    (P, Action.CANCEL): (frozenset({B, V, S, Y}), X),  # R11 (staff, system: R40 timers)
    (P, Action.REPORT_ISSUE): (frozenset({B}), P),  # R12
    (P, Action.RESPOND_TO_ISSUE): (frozenset({V}), P),  # R12
    (P, Action.OFFER_SETTLEMENT): (frozenset({V}), P),  # R38
    (P, Action.ANSWER_SETTLEMENT): (frozenset({B}), P),  # R38
    (P, Action.WITHDRAW_ISSUE): (frozenset({B}), P),  # R13
    (P, Action.MEDIATE_ISSUE): (frozenset({S}), P),  # R13
    (P, Action.REFUND): (frozenset({V, S, Y}), P),  # R20; staff outside an issue; R40 timer
    (C, Action.REFUND): (frozenset({V, S}), C),  # R20: at any time
    (P, Action.REMIND): (frozenset({Y}), P),  # R40
    (P, Action.ESCALATE_ISSUE): (frozenset({Y}), P),  # R40
    (P, Action.RESOLVE_FOR_VENDOR): (frozenset({S}), P),
    (P, Action.CANCEL_AFTER_SHIPPING): (frozenset({S}), X),
    (P, Action.CLOSE_REFUNDED): (frozenset({Y}), X),  # a fully refunded order ends
    # R37: returns on confirmed items, while processing or completed
    **{
        (state, action): (kinds, state)
        for state in (P, C)
        for action, (kinds, _, _) in RETURN_MOVES.items()
    },
    (X, Action.EXPIRE_RETURN): (frozenset({Y}), X),  # R40: even once the order ended
    # a shipment
    (T, Action.UPDATE_TRACKING): (frozenset({V}), T),  # R6: until delivered
    (T, Action.MARK_DELIVERED): (frozenset({V, S}), D),  # R7
    (D, Action.CONFIRM_RECEIPT): (frozenset({B, Y, S}), K),  # R9, R10
    # an issue
    (OPEN, Action.RESPOND_TO_ISSUE): (frozenset({V}), OPEN),
    (OPEN, Action.OFFER_SETTLEMENT): (frozenset({V}), OPEN),
    (OPEN, Action.ANSWER_SETTLEMENT): (frozenset({B}), OPEN),
    (OPEN, Action.WITHDRAW_ISSUE): (frozenset({B}), CLOSED),
    (OPEN, Action.MEDIATE_ISSUE): (frozenset({S}), CLOSED),
    (OPEN, Action.ESCALATE_ISSUE): (frozenset({Y}), OPEN),  # R40
    (OPEN, Action.RESOLVE_FOR_VENDOR): (frozenset({S}), CLOSED),
    # a return request (R37)
    **{
        (before, action): (kinds, after)
        for action, (kinds, before, after) in RETURN_MOVES.items()
        if before is not None and after is not None
    },
}

#: R1: the kinds of actor that may ever take each action (in some state); the rest are
#: refused with NotPermitted whatever the state.
EVER_ALLOWED: dict[Action, frozenset[ActorKind]] = {
    Action.SHIP: frozenset({V}),
    Action.UPDATE_TRACKING: frozenset({V}),
    Action.MARK_DELIVERED: frozenset({V, S}),
    Action.CONFIRM_RECEIPT: frozenset({B, Y, S}),
    Action.COMPLETE: frozenset(),  # R8: nobody
    Action.AUTO_COMPLETE: frozenset({Y}),
    Action.CANCEL: frozenset({B, V, S, Y}),
    Action.REPORT_ISSUE: frozenset({B}),
    Action.RESPOND_TO_ISSUE: frozenset({V}),
    Action.OFFER_SETTLEMENT: frozenset({V}),
    Action.ANSWER_SETTLEMENT: frozenset({B}),
    Action.WITHDRAW_ISSUE: frozenset({B}),
    Action.MEDIATE_ISSUE: frozenset({S}),
    Action.REFUND: frozenset({V, S, Y}),
    Action.REMIND: frozenset({Y}),
    Action.ESCALATE_ISSUE: frozenset({Y}),
    Action.RESOLVE_FOR_VENDOR: frozenset({S}),
    Action.CANCEL_AFTER_SHIPPING: frozenset({S}),
    Action.CLOSE_REFUNDED: frozenset({Y}),
    **{action: kinds for action, (kinds, _, _) in RETURN_MOVES.items()},
}

ALL_STATES: list[State] = [*OrderStatus, *ShipmentStatus, *IssueStatus, *ReturnStatus]


def _expanded() -> dict[tuple[State, Action, ActorKind], State]:
    return {
        (state, action, kind): nxt
        for (state, action), (kinds, nxt) in EXPECTED.items()
        for kind in kinds
    }


def test_r4_table_is_exactly_the_rules_table() -> None:
    """R4-R14: TRANSITIONS holds exactly the entries written out above, nothing more."""
    assert dict(TRANSITIONS) == _expanded()


def test_r4_order_status_is_only_processing_completed_cancelled() -> None:
    """R4: three statuses, and the order moves only processing -> completed/cancelled."""
    assert {s.value for s in OrderStatus} == {"processing", "completed", "cancelled"}
    moves = {
        (state, nxt)
        for (state, _, _), nxt in TRANSITIONS.items()
        if isinstance(state, OrderStatus) and state is not nxt
    }
    assert moves == {(P, C), (P, X)}
    into_cancelled = {
        (action, kind)
        for (state, action, kind), nxt in TRANSITIONS.items()
        if nxt is X and state is not X
    }
    assert into_cancelled == {
        *((Action.CANCEL, kind) for kind in (B, V, S, Y)),  # R11 (system: the R40 timer)
        (Action.CANCEL_AFTER_SHIPPING, S),  # staff power, with a refund
        (Action.CLOSE_REFUNDED, Y),  # a fully refunded order ends
    }
    # completed and cancelled are never left: from them, only self-loops (a late refund)
    assert all(nxt is state for (state, _, _), nxt in TRANSITIONS.items() if state in (C, X))


def test_r8_nothing_completes_by_hand() -> None:
    """R8: only the system's AUTO_COMPLETE reaches completed; COMPLETE has no entry."""
    into_completed = {
        (state, action, kind)
        for (state, action, kind), nxt in TRANSITIONS.items()
        if nxt is C and state is not C
    }
    assert into_completed == {(P, Action.AUTO_COMPLETE, Y)}
    assert not any(action is Action.COMPLETE for _, action, _ in TRANSITIONS)


@pytest.mark.parametrize(
    ("state", "action", "kind"), sorted(_expanded(), key=str), ids=lambda v: getattr(v, "value", v)
)
def test_r4_every_entry_steps_to_its_next_state(
    state: State, action: Action, kind: ActorKind
) -> None:
    """R4-R14: each entry of the table steps as written."""
    assert step(state, action, kind) is _expanded()[(state, action, kind)]


def _expected_error(state: State, action: Action, kind: ActorKind) -> type[AsoloraError]:
    if action is Action.COMPLETE:
        return CompletionIsAutomaticError  # R8
    if kind not in EVER_ALLOWED[action]:
        return NotPermittedError  # R1
    if action is Action.REPORT_ISSUE and state is C:
        return DisputeWindowClosedError  # R14
    return InvalidTransitionError


MISSING = [
    combo
    for combo in itertools.product(ALL_STATES, list(Action), list(ActorKind))
    if combo not in _expanded()
]


def test_missing_combinations_are_counted() -> None:
    """16 states x 27 actions x 4 kinds, minus the 65 entries."""
    assert len(list(Action)) == 27
    assert len(ALL_STATES) == 16
    assert len(_expanded()) == 65
    assert len(MISSING) == 16 * 27 * 4 - 65


@pytest.mark.parametrize(("state", "action", "kind"), MISSING, ids=str)
def test_r1_r8_r14_every_missing_entry_is_a_named_error(
    state: State, action: Action, kind: ActorKind
) -> None:
    """R1, R2, R8, R14: a combination the table lacks raises the named error (exact class),
    with a stable code, the action in its fields, and a message for people."""
    expected = _expected_error(state, action, kind)
    with pytest.raises(AsoloraError) as info:
        step(state, action, kind)
    assert type(info.value) is expected
    assert info.value.code == expected.code
    assert info.value.message
    if expected is not DisputeWindowClosedError:
        assert info.value.fields["action"] == action.value


def test_r14_report_on_completed_names_the_closed_window() -> None:
    """R14: a buyer reporting on a completed order is told the dispute window is closed."""
    with pytest.raises(DisputeWindowClosedError, match="dispute window is closed"):
        step(C, Action.REPORT_ISSUE, B)
    with pytest.raises(InvalidTransitionError) as cancelled:
        step(X, Action.REPORT_ISSUE, B)
    assert type(cancelled.value) is InvalidTransitionError
