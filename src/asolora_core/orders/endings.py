"""Pure commands by which every order reaches an ending (R10, R11, R13, R20, R40).

The R40 timers' own steps (remind the vendor of unshipped units, cancel an unshipped order or
refund its unshipped rest, remind the buyer to confirm, escalate an issue still open to
staff) and the staff powers that end what the buyer or the vendor leaves open (resolve an
issue for the vendor so the order completes; cancel after shipping with a refund). Marking
delivered, confirming for the buyer and refunding outside an issue are the ordinary commands
of :mod:`asolora_core.orders.commands` taken by staff with a reason.

Like every core command: state and ``now`` in, new state and events out; no I/O.
"""

from __future__ import annotations

import datetime as _dt

from asolora_core._values import evolve
from asolora_core.actors import Actor, ActorKind
from asolora_core.errors import InvalidTransitionError, NotPermittedError
from asolora_core.events import (
    ConfirmationReminded,
    DomainEvent,
    IssueClosed,
    IssueEscalated,
    OrderCancelled,
    ReceiptConfirmed,
    ShipmentDelivered,
    ShippingCancelled,
    ShippingReminded,
)
from asolora_core.orders import commands as core
from asolora_core.orders import returns as rcore
from asolora_core.orders.commands import Decision
from asolora_core.orders.model import (
    IssueOutcome,
    IssueStatus,
    Order,
    OrderStatus,
    Refund,
    ShipmentStatus,
)
from asolora_core.orders.transitions import Action, step

__all__ = [
    "cancel_after_shipping",
    "cancel_unshipped",
    "escalate_issue",
    "remind_confirmation",
    "remind_shipping",
    "resolve_for_vendor",
]

SYSTEM = Actor.system()


def _staff_only(by: Actor, what: str) -> None:
    if by.kind is not ActorKind.STAFF:
        raise NotPermittedError(f"only staff can {what}", actor=by.kind.value)


# --- R40: the system's own steps ------------------------------------------------------------


def remind_shipping(order: Order, *, now: _dt.datetime) -> tuple[DomainEvent, ...]:
    """R40: remind the vendor of units still unshipped; nothing when all shipped or the
    order ended. The order itself does not change (the reminder is in its history)."""
    if order.status is not OrderStatus.PROCESSING:
        return ()
    step(order.status, Action.REMIND, ActorKind.SYSTEM)
    left = sum(v for v in order.unshipped().values() if v > 0)
    if not left:
        return ()
    return (
        ShippingReminded(aggregate_id=order.order_id, at=now, actor=SYSTEM, units_unshipped=left),
    )


def remind_confirmation(
    order: Order, shipment_id: str, *, now: _dt.datetime
) -> tuple[DomainEvent, ...]:
    """R40: remind the buyer to confirm a delivered shipment it has not confirmed yet."""
    shipment = order.shipment(shipment_id)
    if order.status is not OrderStatus.PROCESSING or shipment is None:
        return ()
    if shipment.status is not ShipmentStatus.DELIVERED:
        return ()
    step(order.status, Action.REMIND, ActorKind.SYSTEM)
    return (
        ConfirmationReminded(
            aggregate_id=order.order_id, at=now, actor=SYSTEM, shipment_id=shipment_id
        ),
    )


def cancel_unshipped(
    order: Order, *, refund_id: str, now: _dt.datetime, charged_back_minor: int = 0
) -> Decision | None:
    """R40: the vendor did not ship in time. Nothing shipped: the order is cancelled with a
    full refund (R11). Some units shipped: the unshipped rest is refunded, so it no longer
    has to ship (R9) and the order can complete. Either refund is capped by what is still
    refundable once ``charged_back_minor`` (chargebacks not won, R39) is counted. None when
    everything shipped or the order ended."""
    if order.status is not OrderStatus.PROCESSING:
        return None
    if not order.shipments:
        return core.cancel(
            order,
            refund_id=refund_id,
            reason="not shipped in time",
            by=SYSTEM,
            now=now,
            charged_back_minor=charged_back_minor,
        )
    rest = {lid: qty for lid, qty in order.unshipped().items() if qty > 0}
    if not rest:
        return None
    step(order.status, Action.REFUND, ActorKind.SYSTEM)
    # the units' share of the payment, capped by what is still refundable (R20): an earlier
    # refund by amount may already have given part of it back
    lines = []
    value = 0
    for line in order.lines:
        units = rest.get(line.line_id, 0)
        if units:
            value += core.unit_share(line, line.refunded_quantity, units)
            line = evolve(
                line,
                cancelled=line.cancelled + units,
                refunded_quantity=line.refunded_quantity + units,
            )
        lines.append(line)
    amount = min(value, core.still_refundable(order, charged_back_minor))
    new = evolve(order, version=order.version + 1, lines=tuple(lines))
    events: list[DomainEvent] = [
        ShippingCancelled(
            aggregate_id=order.order_id, at=now, actor=SYSTEM, items=tuple(rest.items())
        )
    ]
    if amount:
        row = Refund(
            refund_id=refund_id,
            amount_minor=amount,
            shipping_minor=0,
            items=tuple(rest.items()),
            before_shipping=False,  # as every refund once something shipped
            reason="unshipped units not shipped in time",
            issue_id=None,
            at=now,
        )
        new = evolve(new, refunds=(*new.refunds, row))
        events.append(core._refund_event(new, row, SYSTEM))
        new = core.with_ending(new, now, events, charged_back_minor)
    new = core._with_completion(new, now, events)
    return new, tuple(events)


def escalate_issue(order: Order, issue_id: str, *, now: _dt.datetime) -> Decision | None:
    """R40: an issue still open after the configured time goes to staff, once. None when it
    closed meanwhile or was escalated already."""
    issue = order.issue(issue_id)
    if order.status is not OrderStatus.PROCESSING or issue is None:
        return None
    if issue.status is not IssueStatus.OPEN or issue.escalated_at is not None:
        return None
    step(order.status, Action.ESCALATE_ISSUE, ActorKind.SYSTEM)
    step(issue.status, Action.ESCALATE_ISSUE, ActorKind.SYSTEM)
    new_issue = evolve(issue, escalated_at=now)
    new = evolve(
        order,
        version=order.version + 1,
        issues=tuple(new_issue if i is issue else i for i in order.issues),
    )
    event = IssueEscalated(
        aggregate_id=order.order_id,
        at=now,
        actor=SYSTEM,
        issue_id=issue_id,
        unanswered=issue.first_response_at is None,
    )
    return new, (event,)


# --- staff powers ------------------------------------------------------------------------------


def resolve_for_vendor(
    order: Order, issue_id: str, *, reason: str, by: Actor, now: _dt.datetime
) -> Decision:
    """Staff close an issue in the vendor's favour (outcome ``REJECTED``) and confirm
    receipt of every shipment it covers (an in-transit one is marked delivered first), so
    the order completes when nothing else is left (Sharetribe's mark-received-from-disputed).
    A shipment another open issue still covers stays as it is."""
    core._owner_check(order, by)
    _staff_only(by, "resolve an issue for the vendor")
    step(order.status, Action.RESOLVE_FOR_VENDOR, by.kind)
    reason = core.staff_reason(by, reason, "resolve an issue for the vendor")
    issue = core._issue(order, issue_id)
    closed_status = step(issue.status, Action.RESOLVE_FOR_VENDOR, by.kind)
    closed = evolve(issue, status=closed_status, outcome=IssueOutcome.REJECTED, closed_at=now)
    issues = tuple(closed if i is issue else i for i in order.issues)
    events: list[DomainEvent] = [
        IssueClosed(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            issue_id=issue_id,
            outcome=IssueOutcome.REJECTED.value,
        )
    ]
    still_open = [i for i in issues if i.status is IssueStatus.OPEN]
    shipments = []
    for shipment in order.shipments:
        covered = issue.covers(shipment.line_ids)
        blocked = any(i.covers(shipment.line_ids) for i in still_open)
        if not covered or blocked or shipment.status is ShipmentStatus.CONFIRMED:
            shipments.append(shipment)
            continue
        if shipment.status is ShipmentStatus.IN_TRANSIT:
            status = step(shipment.status, Action.MARK_DELIVERED, by.kind)
            assert isinstance(status, ShipmentStatus)
            shipment = evolve(shipment, status=status, delivered_at=now)
            events.append(
                ShipmentDelivered(
                    aggregate_id=order.order_id,
                    at=now,
                    actor=by,
                    shipment_id=shipment.shipment_id,
                )
            )
        status = step(shipment.status, Action.CONFIRM_RECEIPT, by.kind)
        assert isinstance(status, ShipmentStatus)
        shipment = evolve(shipment, status=status, confirmed_at=now)
        events.append(
            ReceiptConfirmed(
                aggregate_id=order.order_id,
                at=now,
                actor=by,
                shipment_id=shipment.shipment_id,
                automatic=False,
            )
        )
        shipments.append(shipment)
    events += core.staff_event(order, by, Action.RESOLVE_FOR_VENDOR, reason, issue_id, now)
    new = evolve(order, version=order.version + 1, issues=issues, shipments=tuple(shipments))
    new = core._with_completion(new, now, events)
    return new, tuple(events)


def cancel_after_shipping(
    order: Order,
    *,
    refund_id: str,
    reason: str,
    by: Actor,
    now: _dt.datetime,
    charged_back_minor: int = 0,
) -> Decision:
    """Staff end an order that has shipped: everything still refundable goes back to the
    buyer (R20; less what chargebacks already returned, ``charged_back_minor``, R39), open
    issues close, returns under way close refunded by it (R37), the order is cancelled and
    nothing is owed to the vendor. Before anything
    ships, :func:`~asolora_core.orders.commands.cancel` is the way."""
    core._owner_check(order, by)
    status = step(order.status, Action.CANCEL_AFTER_SHIPPING, by.kind)
    reason = core.staff_reason(by, reason, "cancel an order after shipping")
    if not order.shipments:
        raise InvalidTransitionError(
            f"order {order.order_id} has not shipped; cancel it with cancel_order instead",
            order_id=order.order_id,
        )
    amount = core.still_refundable(order, charged_back_minor)
    events: list[DomainEvent] = []
    issues = core.close_open_issues(order, now, by, events)
    returns = rcore.close_with_cancellation(
        order, refund_id=refund_id, refund_minor=amount, by=by, now=now, events=events
    )
    refunds = order.refunds
    if amount:
        refund_row = Refund(
            refund_id=refund_id,
            amount_minor=amount,
            shipping_minor=order.shipping_paid_minor - order.shipping_refunded_minor,
            items=(),
            before_shipping=False,
            reason=f"cancelled after shipping: {reason}",
            issue_id=None,
            at=now,
        )
        refunds = (*refunds, refund_row)
    events.append(
        OrderCancelled(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            reason=reason,
            refund_minor=amount,
            currency=order.currency,
        )
    )
    new = evolve(
        order,
        version=order.version + 1,
        status=status,
        cancelled_at=now,
        issues=issues,
        returns=returns,
        refunds=refunds,
    )
    if amount:
        events.append(core._refund_event(new, refunds[-1], by))
    events += core.staff_event(order, by, Action.CANCEL_AFTER_SHIPPING, reason, refund_id, now)
    return new, tuple(events)
