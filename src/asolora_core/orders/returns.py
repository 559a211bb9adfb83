"""Pure commands for returns and exchanges after confirmation (R19, R20, R37, R40).

The buyer asks to return (money back) or exchange (the same items again) units of lines it
has confirmed receiving. Each line's policy snapshot (R19, copied from the listing when the
order was placed) decides: returns or exchanges accepted at all, the window in days counted
from the latest confirmation of that line's units, the condition the items must be in (the
buyer states their condition; the vendor judges it when answering), who pays the return
shipping and the restocking fee (both copied onto the request). The vendor accepts or
declines; the buyer ships the items back with tracking; the vendor records their receipt,
then refunds (R20-R22) less the restocking fee, or ships the replacement. An unanswered
request expires after the configured time (R40). The platform does not mediate returns (the
dispute window is closed, R14); every step is recorded and notified.

State and ``now`` in, new state and events out; no I/O.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping

from asolora_core._values import evolve
from asolora_core.actors import Actor
from asolora_core.errors import InvalidInputError, NotFoundError, ReturnNotAllowedError
from asolora_core.events import (
    DomainEvent,
    ExchangeShipped,
    ReturnAnswered,
    ReturnExpired,
    ReturnReceived,
    ReturnRefunded,
    ReturnRequested,
    ReturnShippedBack,
)
from asolora_core.money import percent_bp
from asolora_core.orders import commands as core
from asolora_core.orders.commands import Decision
from asolora_core.orders.model import (
    Order,
    Refund,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
)
from asolora_core.orders.transitions import Action, step

__all__ = [
    "accept_return",
    "decline_return",
    "expire_return",
    "receive_return",
    "refund_return",
    "request_return",
    "ship_exchange",
    "ship_return",
]

SYSTEM = Actor.system()


def _request(order: Order, return_id: str) -> ReturnRequest:
    found = order.return_request(return_id)
    if found is None:
        raise NotFoundError(
            f"order {order.order_id} has no return request {return_id!r}",
            order_id=order.order_id,
            return_id=return_id,
        )
    return found


def _step(
    order: Order, return_id: str, action: Action, by: Actor
) -> tuple[ReturnRequest, ReturnStatus]:
    core._authorize(order, by, action)
    request = _request(order, return_id)
    nxt = step(request.status, action, by.kind)
    assert isinstance(nxt, ReturnStatus)
    return request, nxt


def _replace(order: Order, old: ReturnRequest, new: ReturnRequest, **changes: object) -> Order:
    returns = tuple(new if r is old else r for r in order.returns)
    return evolve(order, version=order.version + 1, returns=returns, **changes)


def returnable_units(order: Order, line_id: str) -> int:
    """Units of the line the buyer may still return or exchange: confirmed units, less
    units refunded after they shipped, less units in active requests."""
    line = order.line(line_id)
    if line is None:
        return 0
    confirmed, _ = order.confirmed_quantity(line_id)
    refunded_after_shipping = line.refunded_quantity - line.cancelled
    return max(0, confirmed - refunded_after_shipping - order.returned_quantity(line_id))


def request_return(
    order: Order,
    *,
    return_id: str,
    kind: ReturnKind,
    items: Mapping[str, int],
    reason: str,
    condition: str = "",
    by: Actor,
    now: _dt.datetime,
) -> Decision:
    """R37: the buyer asks to return or exchange units of confirmed lines. Refused with
    :class:`~asolora_core.errors.ReturnNotAllowedError` (``fields["reason"]`` says which
    rule) when a line's policy snapshot does not accept it, its window has passed, its units
    are not confirmed yet, or more units are asked than were delivered and are left."""
    core._authorize(order, by, Action.REQUEST_RETURN)
    if not isinstance(kind, ReturnKind):
        raise InvalidInputError("kind must be a ReturnKind", field="kind")
    reason = core._text(reason, "reason")
    condition = core._text(condition, "condition", required=False)
    if not items:
        raise InvalidInputError("a return names at least one line and its units", field="items")
    if order.return_request(return_id) is not None:  # pragma: no cover - ids from the service
        raise InvalidInputError(f"return id {return_id} exists", field="return_id")
    clean: list[tuple[str, int]] = []
    fee_bp = 0
    buyer_pays = False
    for line_id, qty in items.items():
        line = order.line(line_id)
        if line is None:
            raise NotFoundError(f"order {order.order_id} has no line {line_id!r}", field="items")
        core._positive_int(qty, f"items[{line_id}]")
        policy = line.policy
        if kind is ReturnKind.RETURN and not policy.returns_accepted:
            raise ReturnNotAllowedError(
                f"the policy of line {line_id} ({line.title}) does not accept returns; the "
                "vendor may still refund the buyer directly",
                reason="returns_not_accepted",
                line_id=line_id,
            )
        if kind is ReturnKind.EXCHANGE and not policy.exchanges_accepted:
            raise ReturnNotAllowedError(
                f"the policy of line {line_id} ({line.title}) does not accept exchanges; ask "
                "for a return instead if the policy accepts returns",
                reason="exchanges_not_accepted",
                line_id=line_id,
            )
        confirmed, last = order.confirmed_quantity(line_id)
        if not confirmed or last is None:
            raise ReturnNotAllowedError(
                f"no unit of line {line_id} is confirmed received yet; confirm receipt "
                "first, or report an issue while the order is open",
                reason="not_confirmed",
                line_id=line_id,
            )
        deadline = last + _dt.timedelta(days=policy.window_days)
        if now > deadline:
            raise ReturnNotAllowedError(
                f"the return window of line {line_id} ({policy.window_days} days from "
                f"confirmation) closed at {deadline.isoformat()}; the vendor may still refund "
                "the buyer directly",
                reason="window_closed",
                line_id=line_id,
                closed_at=deadline.isoformat(),
            )
        left = returnable_units(order, line_id)
        if qty > left:
            raise ReturnNotAllowedError(
                f"cannot return {qty} unit(s) of line {line_id}: only {left} delivered, "
                "confirmed and not already refunded or in a return",
                reason="too_many_units",
                line_id=line_id,
                left=left,
            )
        if policy.condition and not condition:
            raise InvalidInputError(
                f"the policy of line {line_id} asks for items in this condition: "
                f"{policy.condition!r}; describe the items' condition",
                field="condition",
            )
        fee_bp = max(fee_bp, policy.restocking_fee_bp)
        buyer_pays = buyer_pays or policy.buyer_pays_return_shipping
        clean.append((line_id, qty))
    request = ReturnRequest(
        return_id=return_id,
        kind=kind,
        items=tuple(clean),
        reason=reason,
        condition=condition,
        status=ReturnStatus.REQUESTED,
        requested_at=now,
        buyer_pays_return_shipping=buyer_pays,
        restocking_fee_bp=fee_bp if kind is ReturnKind.RETURN else 0,
        currency=order.currency,
    )
    event = ReturnRequested(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        return_id=return_id,
        kind=kind.value,
        items=tuple(clean),
    )
    new = evolve(order, version=order.version + 1, returns=(*order.returns, request))
    return new, (event,)


def accept_return(
    order: Order, return_id: str, *, message: str = "", by: Actor, now: _dt.datetime
) -> Decision:
    """R37: the vendor accepts; the buyer may now ship the items back."""
    request, status = _step(order, return_id, Action.ACCEPT_RETURN, by)
    message = core._text(message, "message", required=False)
    new = evolve(request, status=status, answered_at=now, answer=message)
    event = ReturnAnswered(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        return_id=return_id,
        accepted=True,
        message=message,
    )
    return _replace(order, request, new), (event,)


def decline_return(
    order: Order, return_id: str, *, reason: str, by: Actor, now: _dt.datetime
) -> Decision:
    """R37: the vendor declines, saying why (e.g. the items' condition does not meet the
    policy); the units are free for another request."""
    request, status = _step(order, return_id, Action.DECLINE_RETURN, by)
    reason = core._text(reason, "reason")
    new = evolve(request, status=status, answered_at=now, answer=reason, closed_at=now)
    event = ReturnAnswered(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        return_id=return_id,
        accepted=False,
        message=reason,
    )
    return _replace(order, request, new), (event,)


def expire_return(order: Order, return_id: str, *, now: _dt.datetime) -> Decision | None:
    """R40: a request the vendor has not answered in time expires (None if answered)."""
    request = order.return_request(return_id)
    if request is None or request.status is not ReturnStatus.REQUESTED:
        return None
    request, status = _step(order, return_id, Action.EXPIRE_RETURN, SYSTEM)
    new = evolve(request, status=status, closed_at=now)
    event = ReturnExpired(aggregate_id=order.order_id, at=now, actor=SYSTEM, return_id=return_id)
    return _replace(order, request, new), (event,)


def ship_return(
    order: Order,
    return_id: str,
    *,
    carrier: str,
    tracking_number: str,
    by: Actor,
    now: _dt.datetime,
) -> Decision:
    """R37: the buyer ships the accepted return back, with tracking."""
    request, status = _step(order, return_id, Action.SHIP_RETURN, by)
    carrier = core._text(carrier, "carrier", limit=100)
    tracking_number = core._text(tracking_number, "tracking_number", limit=100)
    new = evolve(
        request,
        status=status,
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_back_at=now,
    )
    event = ReturnShippedBack(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        return_id=return_id,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    return _replace(order, request, new), (event,)


def receive_return(order: Order, return_id: str, *, by: Actor, now: _dt.datetime) -> Decision:
    """R37: the vendor received the returned items."""
    request, status = _step(order, return_id, Action.RECEIVE_RETURN, by)
    new = evolve(request, status=status, received_at=now)
    event = ReturnReceived(aggregate_id=order.order_id, at=now, actor=by, return_id=return_id)
    return _replace(order, request, new), (event,)


def return_amounts(order: Order, request: ReturnRequest) -> tuple[int, int]:
    """(refund, restocking fee) of a return, in minor units of the order currency: the
    units' share of what was paid for their lines (R3's exact split, unit by unit), less the
    restocking fee of the snapshot, rounded once half-even (R25)."""
    gross = 0
    for line_id, qty in request.items:
        line = order.line(line_id)
        assert line is not None
        gross += core.unit_share(line, line.refunded_quantity, qty)
    fee = percent_bp(gross, request.restocking_fee_bp)
    return gross - fee, fee


def refund_return(
    order: Order,
    return_id: str,
    *,
    refund_id: str,
    by: Actor,
    now: _dt.datetime,
    charged_back_minor: int = 0,
) -> Decision:
    """R37, R20-R22: the vendor refunds the received return, less the restocking fee. The
    refund goes through the refund rules: before release it reduces the held proceeds, after
    release it is debited from the vendor's balance. It never exceeds what is still
    refundable: paid, less refunds, less ``charged_back_minor`` (chargebacks not won, which
    already gave the buyer that money back, R39); the return closes all the same."""
    request, status = _step(order, return_id, Action.REFUND_RETURN, by)
    if request.kind is not ReturnKind.RETURN:
        raise InvalidInputError(
            f"return request {return_id} is an exchange: ship the replacement instead",
            field="return_id",
        )
    amount, fee = return_amounts(order, request)
    # R20, R39: never more than what is left of the payment once chargebacks are counted
    amount = min(amount, core.still_refundable(order, charged_back_minor))
    lines = list(order.lines)
    for line_id, qty in request.items:
        line = order.line(line_id)
        assert line is not None
        lines[lines.index(line)] = evolve(line, refunded_quantity=line.refunded_quantity + qty)
    new_request = evolve(
        request,
        status=status,
        closed_at=now,
        refund_id=refund_id if amount else None,
        refund_minor=amount,
        restocking_fee_minor=fee,
    )
    new = _replace(order, request, new_request, lines=tuple(lines))
    events: list[DomainEvent] = [
        ReturnRefunded(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            return_id=return_id,
            refund_id=refund_id,
            refund_minor=amount,
            restocking_fee_minor=fee,
        )
    ]
    if amount:
        row = Refund(
            refund_id=refund_id,
            amount_minor=amount,
            shipping_minor=0,
            items=request.items,
            before_shipping=False,
            reason=f"return {return_id}" + (f", restocking fee {fee}" if fee else ""),
            issue_id=None,
            at=now,
        )
        new = evolve(new, refunds=(*new.refunds, row))
        events.append(core._refund_event(new, row, by))
        new = core.with_ending(new, now, events, charged_back_minor)
    return new, tuple(events)


#: A request the buyer or the vendor still has a step to take on, besides an unanswered one
#: (which the expiry timer ends, R40): it ends with an order cancelled after shipping.
_UNDER_WAY = frozenset({ReturnStatus.ACCEPTED, ReturnStatus.SHIPPED_BACK, ReturnStatus.RECEIVED})


def close_with_cancellation(
    order: Order,
    *,
    refund_id: str,
    refund_minor: int,
    by: Actor,
    now: _dt.datetime,
    events: list[DomainEvent],
) -> tuple[ReturnRequest, ...]:
    """R20, R37: staff cancel an order after shipping while returns are under way (accepted,
    shipped back or received): no step on them is possible any more, so each closes with
    the cancellation, ``refunded`` by the cancellation's refund ``refund_id``. Its share is
    the units' share of the payment, capped at what is left of the cancellation's
    ``refund_minor`` (what was still refundable, chargebacks counted, R39), returns in
    request order; no restocking fee, as the whole order is refunded. ``ReturnRefunded`` is
    appended to ``events`` for each (the buyer and the vendor are told)."""
    left = refund_minor
    returns = []
    for request in order.returns:
        if request.status in _UNDER_WAY:
            gross = sum(return_amounts(order, request))
            share = min(gross, left)
            left -= share
            request = evolve(
                request,
                status=ReturnStatus.REFUNDED,
                closed_at=now,
                refund_id=refund_id if share else None,
                refund_minor=share,
                restocking_fee_minor=0,
            )
            events.append(
                ReturnRefunded(
                    aggregate_id=order.order_id,
                    at=now,
                    actor=by,
                    return_id=request.return_id,
                    refund_id=refund_id if share else "",
                    refund_minor=share,
                    restocking_fee_minor=0,
                )
            )
        returns.append(request)
    return tuple(returns)


def ship_exchange(
    order: Order,
    return_id: str,
    *,
    carrier: str,
    tracking_number: str,
    by: Actor,
    now: _dt.datetime,
) -> Decision:
    """R37: the vendor ships the replacement of a received exchange, with tracking."""
    request, status = _step(order, return_id, Action.SHIP_EXCHANGE, by)
    if request.kind is not ReturnKind.EXCHANGE:
        raise InvalidInputError(
            f"return request {return_id} is a return: refund it instead", field="return_id"
        )
    carrier = core._text(carrier, "carrier", limit=100)
    tracking_number = core._text(tracking_number, "tracking_number", limit=100)
    new = evolve(
        request,
        status=status,
        closed_at=now,
        replacement_carrier=carrier,
        replacement_tracking_number=tracking_number,
    )
    event = ExchangeShipped(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        return_id=return_id,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    return _replace(order, request, new), (event,)
