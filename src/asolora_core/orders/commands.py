"""Pure commands on the order aggregate (R1, R3, R5-R14, R20, R38).

Each command takes the current :class:`~asolora_core.orders.model.Order`, its arguments in
minor units, who acts (``by``) and ``now``, and returns the new order and the events. No I/O,
no clock, no id generation: ids come in as arguments. A refused command raises an
:class:`~asolora_core.errors.AsoloraError` and, being pure, has changed nothing.

Every successful command returns an order whose ``version`` is one higher (R36).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from asolora_core._values import evolve, replacer, value_repr
from asolora_core.actors import Actor, ActorKind
from asolora_core.errors import (
    DisputeWindowClosedError,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    IssueOpenError,
    NotFoundError,
    NotPermittedError,
    ReasonRequiredError,
    RefundExceedsPaidError,
)
from asolora_core.events import (
    DomainEvent,
    IssueClosed,
    IssueReported,
    IssueResponded,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    ReceiptConfirmed,
    RefundIssued,
    SettlementAnswered,
    SettlementOffered,
    ShipmentCreated,
    ShipmentDelivered,
    StaffActionTaken,
    TrackingUpdated,
)
from asolora_core.limits import (
    MAX_AMOUNT_MINOR,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    MAX_TEXT_LENGTH,
    check_storable,
)
from asolora_core.money import allocate, format_minor
from asolora_core.orders.model import (
    WON_CHARGEBACK_REFUND,
    Issue,
    IssueKind,
    IssueOutcome,
    IssueStatus,
    Line,
    Order,
    OrderStatus,
    Refund,
    Resolution,
    ReturnPolicy,
    SettlementOffer,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from asolora_core.orders.transitions import Action, step

__all__ = [
    "CheckoutItem",
    "Decision",
    "answer_settlement",
    "cancel",
    "confirm_receipt",
    "mark_delivered",
    "mediate_issue",
    "offer_settlement",
    "place_checkout",
    "refund",
    "refund_won_chargeback",
    "report_issue",
    "respond_to_issue",
    "ship",
    "update_tracking",
    "withdraw_issue",
]

Decision = tuple[Order, tuple[DomainEvent, ...]]

MAX_TEXT = MAX_TEXT_LENGTH  #: longest free text (descriptions, notes, messages) a command takes
SYSTEM = Actor.system()


@attrs.frozen(kw_only=True)
class CheckoutItem:
    """One product line of a checkout, before it is split per vendor (R3). Amounts are minor
    units of the checkout currency."""

    __repr__ = value_repr

    vendor_id: str
    product_id: str
    title: str
    quantity: int
    unit_price_minor: int
    policy: ReturnPolicy = attrs.field(factory=ReturnPolicy)


# --- small checks ------------------------------------------------------------------------


def _text(value: object, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string", field=field)
    stripped = value.strip()
    if required and not stripped:
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(stripped) > limit:
        raise InvalidInputError(f"{field} is longer than {limit} characters", field=field)
    return check_storable(stripped, field)


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{field} must be a whole number of at least 1", field=field)
    return value


def _owner_check(order: Order, by: Actor) -> None:
    """R1, an allow-list: the order's own vendor, its own buyer, staff and the system pass
    (what each may do is then the transitions table's business); anyone else is refused."""
    kind = by.kind
    if kind is ActorKind.VENDOR:
        if by.id == order.vendor_id:
            return
        raise NotPermittedError(
            f"vendor {by.id} cannot act on order {order.order_id}: it belongs to another vendor",
            order_id=order.order_id,
        )
    if kind is ActorKind.BUYER:
        if by.id == order.buyer_id:
            return
        raise NotPermittedError(
            f"buyer {by.id} cannot act on order {order.order_id}: it is another buyer's order",
            order_id=order.order_id,
        )
    if kind is ActorKind.STAFF or kind is ActorKind.SYSTEM:
        return
    raise NotPermittedError(f"{by!r} may not act on orders", order_id=order.order_id)


def _authorize(order: Order, by: Actor, action: Action) -> OrderStatus:
    _owner_check(order, by)
    nxt = step(order.status, action, by.kind)
    assert isinstance(nxt, OrderStatus)
    return nxt


def _shipment(order: Order, shipment_id: str) -> Shipment:
    found = order.shipment(shipment_id)
    if found is None:
        raise NotFoundError(
            f"order {order.order_id} has no shipment {shipment_id!r}; "
            + (
                "its shipments are " + ", ".join(sh.shipment_id for sh in order.shipments)
                if order.shipments
                else "it has not shipped yet"
            ),
            order_id=order.order_id,
            shipment_id=shipment_id,
        )
    return found


def _issue(order: Order, issue_id: str) -> Issue:
    found = order.issue(issue_id)
    if found is None:
        raise NotFoundError(
            f"order {order.order_id} has no issue {issue_id!r}",
            order_id=order.order_id,
            issue_id=issue_id,
        )
    return found


def _next(order: Order, **changes: Any) -> Order:
    return evolve(order, version=order.version + 1, **changes)


# The few changes the commands of a lifecycle make on every call, generated once (each
# calls the class, like ``evolve``: see :func:`asolora_core._values.replacer`).
_with_shipments = replacer(Order, "version", "shipments")
_with_new_shipment = replacer(Order, "version", "shipments", "issues")
_with_tracking = replacer(Shipment, "tracking")
_delivered = replacer(Shipment, "status", "delivered_at")
_confirmed = replacer(Shipment, "status", "confirmed_at", "confirmed_automatically")


def _with_completion(order: Order, now: _dt.datetime, events: list[DomainEvent]) -> Order:
    """R9: the order completes by itself the moment nothing is left to confirm or ship."""
    if order.is_ready_to_complete:
        step(order.status, Action.AUTO_COMPLETE, ActorKind.SYSTEM)
        order = evolve(order, status=OrderStatus.COMPLETED, completed_at=now)
        events.append(OrderCompleted(aggregate_id=order.order_id, at=now, actor=SYSTEM))
    return order


def staff_reason(by: Actor, reason: object, what: str) -> str:
    """Every staff power carries a reason, recorded with it; refused without one."""
    if by.kind is not ActorKind.STAFF:
        return _text(reason, "reason", required=False)
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequiredError(
            f"staff must give a reason to {what}; "
            "it is recorded with the action and sent to both sides",
            field="reason",
        )
    return _text(reason, "reason")


def staff_event(
    order: Order, by: Actor, action: Action, reason: str, ref: str, now: _dt.datetime
) -> list[DomainEvent]:
    """The record of a staff power, when ``by`` is staff."""
    if by.kind is not ActorKind.STAFF:
        return []
    return [
        StaffActionTaken(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            action=action.value,
            reason=reason,
            ref=ref,
        )
    ]


def close_open_issues(
    order: Order, now: _dt.datetime, by: Actor, events: list[DomainEvent]
) -> tuple[Issue, ...]:
    """The order ends (cancelled or fully refunded): its open issues close with it."""
    issues = []
    for issue in order.issues:
        if issue.status is IssueStatus.OPEN:
            issue = evolve(
                issue, status=IssueStatus.CLOSED, outcome=IssueOutcome.ORDER_ENDED, closed_at=now
            )
            events.append(
                IssueClosed(
                    aggregate_id=order.order_id,
                    at=now,
                    actor=by,
                    issue_id=issue.issue_id,
                    outcome=IssueOutcome.ORDER_ENDED.value,
                )
            )
        issues.append(issue)
    return tuple(issues)


def with_ending(
    order: Order, now: _dt.datetime, events: list[DomainEvent], charged_back_minor: int = 0
) -> Order:
    """A processing order whose every paid minor unit went back to the buyer ends by itself:
    cancelled, its open issues closed, nothing owed to the vendor. This is how a fully
    refunded disputed order reaches a final state. R39: the money ``charged_back_minor``
    (chargebacks not won) gave back counts as refunded, so refunds and chargebacks that
    together cover the payment end it too."""
    if order.status is not OrderStatus.PROCESSING or order.paid_minor <= 0:
        return order
    if still_refundable(order, charged_back_minor) > 0:
        return order
    status = step(order.status, Action.CLOSE_REFUNDED, ActorKind.SYSTEM)
    issues = close_open_issues(order, now, SYSTEM, events)
    events.append(
        OrderCancelled(
            aggregate_id=order.order_id,
            at=now,
            actor=SYSTEM,
            reason="fully refunded",
            refund_minor=0,
            currency=order.currency,
        )
    )
    return evolve(order, status=status, cancelled_at=now, issues=issues)


# --- checkout -----------------------------------------------------------------------------


def place_checkout(
    *,
    checkout_id: str,
    buyer: Actor,
    customer_name: str,
    currency: str,
    items: Sequence[CheckoutItem],
    shipping_minor: Mapping[str, int],
    paid_minor: int,
    order_ids: Mapping[str, str],
    line_ids: Sequence[str],
    now: _dt.datetime,
) -> tuple[Decision, ...]:
    """Split a checkout into one order per vendor (R3), in the order vendors first appear.

    The buyer's payment is allocated to the orders by their gross (lines plus shipping), then
    within each order to its lines and shipping, by largest remainders: no minor unit is lost
    or invented. A payment below the gross (a checkout-level discount) is shared the same way.
    """
    if buyer.kind is not ActorKind.BUYER:
        raise NotPermittedError("only a buyer checks out", actor=buyer.kind.value)
    name = _text(customer_name, "customer_name", limit=MAX_NAME_LENGTH)
    if not items:
        raise InvalidInputError("a checkout needs at least one item", field="items")
    if len(line_ids) != len(items):  # pragma: no cover - the service builds both
        raise InvalidInputError("one line id per item", field="line_ids")
    by_vendor: dict[str, list[tuple[str, CheckoutItem]]] = {}
    for index, (line_id, item) in enumerate(zip(line_ids, items, strict=True)):
        field = f"items[{index}]"
        if not isinstance(item, CheckoutItem):
            raise InvalidInputError(f"{field} must be a CheckoutItem", field=field)
        _text(item.vendor_id, f"{field}.vendor_id", limit=200)
        _text(item.product_id, f"{field}.product_id", limit=200)
        _positive_int(item.quantity, f"{field}.quantity")
        if item.quantity > MAX_QUANTITY:
            raise InvalidInputError(f"{field}.quantity is above {MAX_QUANTITY}", field=field)
        if item.unit_price_minor < 0:
            raise InvalidMoneyError(f"{field}.unit_price must not be negative", field=field)
        by_vendor.setdefault(item.vendor_id, []).append((line_id, item))
    for vendor_id, amount in shipping_minor.items():
        if vendor_id not in by_vendor:
            raise InvalidInputError(
                f"shipping names vendor {vendor_id!r}, which has no item in this checkout",
                field="shipping",
            )
        if amount < 0:
            raise InvalidMoneyError("shipping must not be negative", field="shipping")
    gross = {
        v: sum(i.quantity * i.unit_price_minor for _, i in rows) + shipping_minor.get(v, 0)
        for v, rows in by_vendor.items()
    }
    total = sum(gross.values())
    if total > MAX_AMOUNT_MINOR:
        raise InvalidMoneyError(
            f"a checkout may cost at most {MAX_AMOUNT_MINOR} minor units in all; split it",
            field="items",
        )
    if total <= 0:
        raise InvalidMoneyError("a checkout must cost something", field="items")
    if not 0 <= paid_minor <= total:
        raise InvalidMoneyError(
            "paid must be between zero and the checkout's gross (items plus shipping); "
            "a payment above it would invent money",
            field="paid",
            gross_minor=total,
        )
    vendors = list(by_vendor)
    order_paid = allocate(paid_minor, [gross[v] for v in vendors]) if total else (0,) * len(vendors)
    decisions: list[Decision] = []
    for vendor_id, paid in zip(vendors, order_paid, strict=True):
        rows = by_vendor[vendor_id]
        ship_gross = shipping_minor.get(vendor_id, 0)
        weights = [i.quantity * i.unit_price_minor for _, i in rows] + [ship_gross]
        parts = allocate(paid, weights) if sum(weights) else (0,) * len(weights)
        lines = tuple(
            Line(
                line_id=line_id,
                product_id=item.product_id,
                title=item.title,
                quantity=item.quantity,
                unit_price_minor=item.unit_price_minor,
                paid_minor=part,
                policy=item.policy,
                currency=currency,
            )
            for (line_id, item), part in zip(rows, parts[:-1], strict=True)
        )
        order = Order(
            order_id=order_ids[vendor_id],
            version=1,
            checkout_id=checkout_id,
            vendor_id=vendor_id,
            buyer_id=buyer.id,
            customer_name=name,
            currency=currency,
            lines=lines,
            shipping_paid_minor=parts[-1],
            paid_minor=paid,
            placed_at=now,
        )
        event = OrderPlaced(
            aggregate_id=order.order_id,
            at=now,
            actor=buyer,
            checkout_id=checkout_id,
            vendor_id=vendor_id,
            buyer_id=buyer.id,
            currency=currency,
            paid_minor=paid,
        )
        decisions.append((order, (event,)))
    return tuple(decisions)


# --- shipping -------------------------------------------------------------------------------


def _check_tracking_unique(order: Order, tracking_number: str, shipment_id: str | None) -> None:
    for s in order.shipments:
        if s.shipment_id != shipment_id and s.tracking_number == tracking_number:
            raise InvalidInputError(
                f"tracking number {tracking_number!r} is already used by shipment "
                f"{s.shipment_id} of this order; check the number",
                field="tracking_number",
            )


def ship(
    order: Order,
    *,
    shipment_id: str,
    items: Mapping[str, int],
    carrier: str,
    tracking_number: str,
    by: Actor,
    now: _dt.datetime,
    replacement_for: str | None = None,
) -> Decision:
    """R5: ship some or all unshipped units, with a carrier and a tracking number.

    With ``replacement_for``, ship the replacement an issue was settled or mediated with
    (R13): up to the units of that issue's lines, outside the regular quantities.
    """
    _authorize(order, by, Action.SHIP)
    carrier = _text(carrier, "carrier", limit=MAX_NAME_LENGTH)
    tracking_number = _text(tracking_number, "tracking_number", limit=MAX_NAME_LENGTH)
    if not items:
        raise InvalidInputError("a shipment needs at least one line", field="items")
    issue: Issue | None = None
    if replacement_for is not None:
        issue = _issue(order, replacement_for)
        if not issue.awaits_replacement:
            raise InvalidTransitionError(
                f"issue {replacement_for} does not await a replacement shipment",
                issue_id=replacement_for,
            )
    unshipped = order.unshipped()
    clean: list[tuple[str, int]] = []
    for line_id, qty in items.items():
        line = order.line(line_id)
        if line is None:
            raise NotFoundError(f"order {order.order_id} has no line {line_id!r}", field="items")
        _positive_int(qty, f"items[{line_id}]")
        if issue is not None:
            if issue.line_ids and line_id not in issue.line_ids:
                raise InvalidInputError(
                    f"line {line_id} is not part of issue {issue.issue_id}", field="items"
                )
            limit = line.quantity
        else:
            limit = unshipped[line_id]
        if qty > limit:
            raise InvalidInputError(
                f"cannot ship {qty} of line {line_id}: every unit of it has shipped already"
                if limit == 0
                else f"cannot ship {qty} of line {line_id}: only {limit} left to ship; "
                f"ship at most {limit}",
                field="items",
                line_id=line_id,
                left=limit,
            )
        clean.append((line_id, qty))
    _check_tracking_unique(order, tracking_number, None)
    if order.shipment(shipment_id) is not None:  # pragma: no cover - ids come from the service
        raise InvalidInputError(f"shipment id {shipment_id} exists", field="shipment_id")
    shipment = Shipment(
        shipment_id=shipment_id,
        items=tuple(clean),
        status=ShipmentStatus.IN_TRANSIT,
        shipped_at=now,
        tracking=(
            TrackingEvent(at=now, carrier=carrier, tracking_number=tracking_number, note=""),
        ),
        replacement_for=replacement_for,
    )
    issues = order.issues
    if issue is not None:
        issues = tuple(
            evolve(i, replacement_shipped=True) if i is issue else i for i in order.issues
        )
    new = _with_new_shipment(order, order.version + 1, (*order.shipments, shipment), issues)
    event = ShipmentCreated(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        shipment_id=shipment_id,
        carrier=carrier,
        tracking_number=tracking_number,
        items=tuple(clean),
    )
    return new, (event,)


def _evolve_shipment(order: Order, old: Shipment, new: Shipment) -> Order:
    shipments = tuple([new if s is old else s for s in order.shipments])
    return _with_shipments(order, order.version + 1, shipments)


def update_tracking(
    order: Order,
    shipment_id: str,
    *,
    by: Actor,
    now: _dt.datetime,
    carrier: str | None = None,
    tracking_number: str | None = None,
    note: str = "",
) -> Decision:
    """R6: a new tracking event, a corrected number or carrier; kept in order."""
    _authorize(order, by, Action.UPDATE_TRACKING)
    shipment = _shipment(order, shipment_id)
    step(shipment.status, Action.UPDATE_TRACKING, by.kind)
    last = shipment.tracking[-1]
    new_carrier = (
        last.carrier if carrier is None else _text(carrier, "carrier", limit=MAX_NAME_LENGTH)
    )
    new_number = (
        last.tracking_number
        if tracking_number is None
        else _text(tracking_number, "tracking_number", limit=MAX_NAME_LENGTH)
    )
    note = _text(note, "note", required=False)
    if (new_carrier, new_number, note) == (last.carrier, last.tracking_number, last.note):
        raise InvalidInputError(
            "this tracking update repeats the last one; give a new note, carrier or number",
            field="note",
        )
    if new_number != last.tracking_number:
        _check_tracking_unique(order, new_number, shipment_id)
    event_row = TrackingEvent(at=now, carrier=new_carrier, tracking_number=new_number, note=note)
    new_shipment = _with_tracking(shipment, (*shipment.tracking, event_row))
    event = TrackingUpdated(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        shipment_id=shipment_id,
        carrier=new_carrier,
        tracking_number=new_number,
        note=note,
    )
    return _evolve_shipment(order, shipment, new_shipment), (event,)


def mark_delivered(
    order: Order, shipment_id: str, *, by: Actor, now: _dt.datetime, reason: str = ""
) -> Decision:
    """R7: the vendor marks a shipment delivered; the buyer is asked to confirm receipt.
    Staff may do it on the carrier's proof, with a ``reason`` (recorded and notified)."""
    _authorize(order, by, Action.MARK_DELIVERED)
    reason = staff_reason(by, reason, "mark a shipment delivered")
    shipment = _shipment(order, shipment_id)
    status = step(shipment.status, Action.MARK_DELIVERED, by.kind)
    assert isinstance(status, ShipmentStatus)
    new_shipment = _delivered(shipment, status, now)
    events: list[DomainEvent] = [
        ShipmentDelivered(aggregate_id=order.order_id, at=now, actor=by, shipment_id=shipment_id)
    ]
    events += staff_event(order, by, Action.MARK_DELIVERED, reason, shipment_id, now)
    return _evolve_shipment(order, shipment, new_shipment), tuple(events)


def confirm_receipt(
    order: Order, shipment_id: str, *, by: Actor, now: _dt.datetime, reason: str = ""
) -> Decision:
    """R9, R14: the buyer (or the system, R10) confirms "Order Received" for a delivered
    shipment; on the last confirmation the order completes by itself. Staff may confirm on
    the buyer's behalf, with a ``reason``."""
    current = order.shipment(shipment_id)
    if (
        by.kind is ActorKind.BUYER
        and current is not None
        and current.status is ShipmentStatus.CONFIRMED
        and current.confirmed_automatically
    ):
        # R10: the system confirmed it first; the buyer's confirmation has nothing left to
        # do, so the buyer gets the order back rather than an error
        _owner_check(order, by)
        return order, ()
    _authorize(order, by, Action.CONFIRM_RECEIPT)
    reason = staff_reason(by, reason, "confirm receipt on the buyer's behalf")
    shipment = _shipment(order, shipment_id)
    status = step(shipment.status, Action.CONFIRM_RECEIPT, by.kind)
    assert isinstance(status, ShipmentStatus)
    blocking = [i.issue_id for i in order.open_issues() if i.covers(shipment.line_ids)]
    if blocking:
        raise IssueOpenError(
            f"shipment {shipment_id} has an open issue on its items ({', '.join(blocking)}); "
            "it can be confirmed once the issue is closed",
            shipment_id=shipment_id,
            issue_ids=blocking,
        )
    automatic = by.kind is ActorKind.SYSTEM
    new_shipment = _confirmed(shipment, status, now, automatic)
    events: list[DomainEvent] = [
        ReceiptConfirmed(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            shipment_id=shipment_id,
            automatic=automatic,
        )
    ]
    events += staff_event(order, by, Action.CONFIRM_RECEIPT, reason, shipment_id, now)
    new = _with_completion(_evolve_shipment(order, shipment, new_shipment), now, events)
    return new, tuple(events)


def cancel(
    order: Order,
    *,
    refund_id: str,
    reason: str,
    by: Actor,
    now: _dt.datetime,
    charged_back_minor: int = 0,
) -> Decision:
    """R11: before anything ships, cancel with a full refund; afterwards refunds are the way.
    The buyer and the vendor may say why (``reason`` optional); staff must (R1, R16: every
    staff power carries a reason, recorded as ``StaffActionTaken`` and notified).

    R39: ``charged_back_minor`` (the chargebacks not won, from the order's hold) already went
    back to the buyer through the card issuer, so the refund is only what is still
    refundable, ``paid - refunded - charged back`` (nothing when charged back in full)."""
    status = _authorize(order, by, Action.CANCEL)
    reason = staff_reason(by, reason, "cancel an order")
    if order.shipments:
        raise InvalidTransitionError(
            f"order {order.order_id} has shipped, so it cannot be cancelled; refund it instead",
            order_id=order.order_id,
        )
    amount = still_refundable(order, charged_back_minor)
    refund_row = Refund(
        refund_id=refund_id,
        amount_minor=amount,
        shipping_minor=order.shipping_paid_minor - order.shipping_refunded_minor,
        items=tuple((ln.line_id, ln.to_ship) for ln in order.lines if ln.to_ship),
        before_shipping=True,
        reason=reason or "order cancelled",
        issue_id=None,
        at=now,
        currency=order.currency,
    )
    lines = tuple(
        evolve(ln, cancelled=ln.quantity, refunded_quantity=ln.quantity) for ln in order.lines
    )
    closing: list[DomainEvent] = []  # an issue reported before anything shipped ends too
    new = _next(
        order,
        status=status,
        cancelled_at=now,
        lines=lines,
        refunds=(*order.refunds, refund_row) if amount else order.refunds,
        issues=close_open_issues(order, now, by, closing),
    )
    events: list[DomainEvent] = [
        *closing,
        OrderCancelled(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            reason=reason,
            refund_minor=amount,
            currency=order.currency,
        ),
    ]
    if amount:
        events.append(_refund_event(order, refund_row, by))
    events += staff_event(order, by, Action.CANCEL, reason, refund_id if amount else "", now)
    return new, tuple(events)


def refund_won_chargeback(
    order: Order,
    *,
    refund_id: str,
    amount_minor: int,
    chargeback_id: str,
    by: Actor,
    now: _dt.datetime,
) -> Decision:
    """R11, R39: a chargeback won after the order was cancelled: the card provider gave
    ``amount_minor`` back to the platform, and a cancelled order owes the vendor nothing, so
    it goes on to the buyer as a refund (the buyer ends with what it paid back, never more;
    the caller caps ``amount_minor`` at what is still refundable). Only the order's refunds
    change: it stays cancelled."""
    if order.status is not OrderStatus.CANCELLED:  # pragma: no cover - the caller checks
        raise InvalidTransitionError(
            f"order {order.order_id} is not cancelled", order_id=order.order_id
        )
    if not 0 < amount_minor <= order.refundable_minor:  # pragma: no cover - capped upstream
        raise RefundExceedsPaidError(
            f"the refund would exceed what the buyer paid on order {order.order_id}",
            order_id=order.order_id,
            refundable_minor=order.refundable_minor,
            requested_minor=amount_minor,
        )
    row = Refund(
        refund_id=refund_id,
        amount_minor=amount_minor,
        shipping_minor=0,
        items=(),
        before_shipping=not order.shipments,
        reason=f"{WON_CHARGEBACK_REFUND}: {chargeback_id}",
        issue_id=None,
        at=now,
        currency=order.currency,
    )
    new = _next(order, refunds=(*order.refunds, row))
    return new, (_refund_event(new, row, by),)


# --- issues -----------------------------------------------------------------------------------


def _closed_lines(order: Order) -> frozenset[str]:
    """Lines whose every unit shipped in confirmed shipments: their dispute window is closed
    (R14)."""
    unshipped = order.unshipped()
    closed = set()
    for line in order.lines:
        if unshipped[line.line_id] > 0:
            continue
        holders = [s for s in order.shipments if line.line_id in s.line_ids]
        if holders and all(s.status is ShipmentStatus.CONFIRMED for s in holders):
            closed.add(line.line_id)
    return frozenset(closed)


def report_issue(
    order: Order,
    *,
    issue_id: str,
    kind: IssueKind,
    description: str,
    line_ids: Sequence[str] = (),
    by: Actor,
    now: _dt.datetime,
) -> Decision:
    """R12, R14: the buyer reports a problem on some lines, or the whole order, before
    confirming their receipt."""
    _authorize(order, by, Action.REPORT_ISSUE)
    if not isinstance(kind, IssueKind):
        raise InvalidInputError("kind must be an IssueKind", field="kind")
    description = _text(description, "description")
    ids = tuple(dict.fromkeys(line_ids))
    for line_id in ids:
        if order.line(line_id) is None:
            raise NotFoundError(f"order {order.order_id} has no line {line_id!r}", field="line_ids")
    closed = _closed_lines(order)
    affected = frozenset(ids) if ids else frozenset(ln.line_id for ln in order.lines)
    if affected <= closed:
        raise DisputeWindowClosedError(
            "receipt of these items is confirmed, so the platform's dispute window is closed; "
            "returns and refunds now go directly between buyer and vendor",
            line_ids=sorted(affected),
        )
    if ids and affected & closed:
        raise DisputeWindowClosedError(
            f"receipt of line(s) {', '.join(sorted(affected & closed))} is confirmed; "
            "report the issue on the other lines only",
            line_ids=sorted(affected & closed),
        )
    issue = Issue(
        issue_id=issue_id,
        kind=kind,
        line_ids=ids,
        description=description,
        status=IssueStatus.OPEN,
        reported_at=now,
    )
    event = IssueReported(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        issue_id=issue_id,
        kind=kind.value,
        line_ids=ids,
    )
    return _next(order, issues=(*order.issues, issue)), (event,)


def _evolve_issue(order: Order, old: Issue, new: Issue, **changes: object) -> Order:
    return _next(order, issues=tuple(new if i is old else i for i in order.issues), **changes)


def respond_to_issue(
    order: Order, issue_id: str, *, message: str, by: Actor, now: _dt.datetime
) -> Decision:
    """R12: the vendor responds; the first response time is recorded."""
    _authorize(order, by, Action.RESPOND_TO_ISSUE)
    issue = _issue(order, issue_id)
    step(issue.status, Action.RESPOND_TO_ISSUE, by.kind)
    message = _text(message, "message")
    first = issue.first_response_at is None
    new_issue = evolve(issue, first_response_at=now) if first else issue
    event = IssueResponded(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        issue_id=issue_id,
        message=message,
        first_response=first,
    )
    return _evolve_issue(order, issue, new_issue), (event,)


def offer_settlement(
    order: Order,
    issue_id: str,
    *,
    resolution: Resolution,
    amount_minor: int = 0,
    message: str = "",
    by: Actor,
    now: _dt.datetime,
) -> Decision:
    """R13, R38: the vendor offers to settle (a partial or full refund, a replacement, or
    nothing); the buyer accepts or declines. An offer counts as a response."""
    _authorize(order, by, Action.OFFER_SETTLEMENT)
    issue = _issue(order, issue_id)
    step(issue.status, Action.OFFER_SETTLEMENT, by.kind)
    if not isinstance(resolution, Resolution):
        raise InvalidInputError("resolution must be a Resolution", field="resolution")
    if issue.pending_offer is not None:
        raise InvalidTransitionError(
            "an offer on this issue awaits the buyer's answer; wait for it before offering again",
            issue_id=issue_id,
        )
    if resolution is Resolution.REFUND:
        _check_refund_amount(order, amount_minor, argument="amount", what="a REFUND offer")
    elif amount_minor:
        raise InvalidInputError("only a refund offer carries an amount", field="amount")
    offer = SettlementOffer(
        resolution=resolution,
        amount_minor=amount_minor,
        offered_at=now,
        message=_text(message, "message", required=False),
        currency=order.currency,
    )
    new_issue = evolve(
        issue,
        offers=(*issue.offers, offer),
        first_response_at=issue.first_response_at or now,
    )
    event = SettlementOffered(
        aggregate_id=order.order_id,
        at=now,
        actor=by,
        issue_id=issue_id,
        resolution=resolution.value,
        amount_minor=amount_minor,
    )
    return _evolve_issue(order, issue, new_issue), (event,)


_SETTLED = {
    Resolution.REFUND: IssueOutcome.SETTLED_REFUND,
    Resolution.REPLACEMENT: IssueOutcome.SETTLED_REPLACEMENT,
    Resolution.NO_ACTION: IssueOutcome.SETTLED_NO_ACTION,
}


def answer_settlement(
    order: Order,
    issue_id: str,
    *,
    accept: bool,
    refund_id: str,
    by: Actor,
    now: _dt.datetime,
    charged_back_minor: int = 0,
) -> Decision:
    """R38: the buyer accepts the pending offer (the issue settles; a refund offer is refunded
    now) or declines it (the issue stays open; staff may mediate)."""
    _authorize(order, by, Action.ANSWER_SETTLEMENT)
    issue = _issue(order, issue_id)
    step(issue.status, Action.ANSWER_SETTLEMENT, by.kind)
    offer = issue.pending_offer
    if offer is None:
        raise InvalidTransitionError(
            "there is no pending offer on this issue to answer", issue_id=issue_id
        )
    if not isinstance(accept, bool):
        raise InvalidInputError("accept must be True or False", field="accept")
    answered = evolve(offer, accepted=accept)
    offers = (*issue.offers[:-1], answered)
    events: list[DomainEvent] = [
        SettlementAnswered(
            aggregate_id=order.order_id, at=now, actor=by, issue_id=issue_id, accepted=accept
        )
    ]
    if not accept:
        return _evolve_issue(order, issue, evolve(issue, offers=offers)), tuple(events)
    if offer.resolution is Resolution.REFUND:
        # R20: refunds made since the offer may leave less than it promised.
        _check_refund_amount(order, offer.amount_minor)
    outcome = _SETTLED[offer.resolution]
    return _close_issue(
        order,
        issue,
        evolve(issue, offers=offers),
        outcome,
        offer.amount_minor,
        refund_id,
        by,
        now,
        events,
        charged_back_minor,
    )


def withdraw_issue(order: Order, issue_id: str, *, by: Actor, now: _dt.datetime) -> Decision:
    """R13: the buyer withdraws the issue."""
    _authorize(order, by, Action.WITHDRAW_ISSUE)
    issue = _issue(order, issue_id)
    step(issue.status, Action.WITHDRAW_ISSUE, by.kind)
    return _close_issue(order, issue, issue, IssueOutcome.WITHDRAWN, 0, "", by, now, [])


_MEDIATED = frozenset(
    {IssueOutcome.MEDIATED_REFUND, IssueOutcome.MEDIATED_REPLACEMENT, IssueOutcome.REJECTED}
)


def mediate_issue(
    order: Order,
    issue_id: str,
    *,
    outcome: IssueOutcome,
    amount_minor: int = 0,
    refund_id: str,
    by: Actor,
    now: _dt.datetime,
    reason: str = "",
    charged_back_minor: int = 0,
) -> Decision:
    """R13: staff decide the issue: a refund (through the refund rules), a replacement, or
    rejected, saying why (``reason``: a staff power, refused without one, recorded as
    ``StaffActionTaken`` and notified to both sides)."""
    _authorize(order, by, Action.MEDIATE_ISSUE)
    reason = staff_reason(by, reason, "mediate an issue")
    issue = _issue(order, issue_id)
    step(issue.status, Action.MEDIATE_ISSUE, by.kind)
    # type first: ``in`` hashes, and a list or a signalling NaN cannot be hashed (R2)
    if type(outcome) is not IssueOutcome or outcome not in _MEDIATED:
        raise InvalidInputError(
            "a mediation decides MEDIATED_REFUND, MEDIATED_REPLACEMENT or REJECTED",
            field="outcome",
        )
    if outcome is IssueOutcome.MEDIATED_REFUND:
        _check_refund_amount(order, amount_minor, argument="refund", what="a MEDIATED_REFUND")
    elif amount_minor:
        raise InvalidInputError(
            f"only MEDIATED_REFUND carries a refund; {outcome.name} takes no refund=",
            field="refund",
        )
    events = staff_event(order, by, Action.MEDIATE_ISSUE, reason, issue_id, now)
    new, closed = _close_issue(
        order, issue, issue, outcome, amount_minor, refund_id, by, now, [], charged_back_minor
    )
    return new, (*closed, *events)


def _close_issue(
    order: Order,
    old: Issue,
    issue: Issue,
    outcome: IssueOutcome,
    amount_minor: int,
    refund_id: str,
    by: Actor,
    now: _dt.datetime,
    events: list[DomainEvent],
    charged_back_minor: int = 0,
) -> Decision:
    closed = evolve(issue, status=IssueStatus.CLOSED, outcome=outcome, closed_at=now)
    new = _evolve_issue(order, old, closed)
    events.append(
        IssueClosed(
            aggregate_id=order.order_id,
            at=now,
            actor=by,
            issue_id=issue.issue_id,
            outcome=outcome.value,
        )
    )
    if amount_minor:
        refund_row = Refund(
            refund_id=refund_id,
            amount_minor=amount_minor,
            shipping_minor=0,
            items=(),
            before_shipping=not order.shipments,
            reason=f"issue {issue.issue_id}: {outcome.value}",
            issue_id=issue.issue_id,
            at=now,
            currency=order.currency,
        )
        new = evolve(new, refunds=(*new.refunds, refund_row))
        events.append(_refund_event(new, refund_row, by))
        new = with_ending(new, now, events, charged_back_minor)
    return _with_completion(new, now, events), tuple(events)


# --- refunds ----------------------------------------------------------------------------------


def _check_refund_amount(
    order: Order, amount_minor: int, *, argument: str = "amount", what: str = ""
) -> None:
    """R2, R20: a positive amount no larger than what is still refundable. ``what`` names a
    decision that must carry the amount (the message then says which argument to pass)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 1:
        if what:
            most = format_minor(order.refundable_minor, order.currency)
            raise InvalidMoneyError(
                f"{what} needs the amount to give back: pass {argument}=Money(...) with a "
                f"positive amount of at most {most}",
                field=argument,
            )
        raise InvalidMoneyError("a refund must be a positive amount", field=argument)
    if amount_minor > order.refundable_minor:
        raise RefundExceedsPaidError(
            f"the refund would exceed what the buyer paid: at most "
            f"{format_minor(order.refundable_minor, order.currency)} remain refundable; "
            "refund that much or less",
            order_id=order.order_id,
            refundable_minor=order.refundable_minor,
            requested_minor=amount_minor,
        )


def unit_share(line: Line, first_unit: int, count: int) -> int:
    """The paid amount of ``count`` units of ``line`` starting at unit ``first_unit``.

    The line's ``paid_minor`` is spread over its units by largest remainders (earlier units
    take the extra minor units), so refunding every unit returns exactly ``paid_minor``.
    """
    q, r = divmod(line.paid_minor, line.quantity)

    def cumulative(n: int) -> int:
        return n * q + min(n, r)

    return cumulative(first_unit + count) - cumulative(first_unit)


def still_refundable(order: Order, charged_back_minor: int) -> int:
    """R20, R39: what a cancellation gives back: paid, less refunds, less the chargebacks
    (not won) that already returned money to the buyer; never below zero."""
    return max(0, order.refundable_minor - max(0, charged_back_minor))


def _refund_event(order: Order, row: Refund, by: Actor) -> RefundIssued:
    return RefundIssued(
        aggregate_id=order.order_id,
        at=row.at,
        actor=by,
        refund_id=row.refund_id,
        amount_minor=row.amount_minor,
        currency=order.currency,
        shipping_minor=row.shipping_minor,
        items=row.items,
        before_shipping=row.before_shipping,
        issue_id=row.issue_id,
        reason=row.reason,
    )


def refund(
    order: Order,
    *,
    refund_id: str,
    by: Actor,
    now: _dt.datetime,
    amount_minor: int = 0,
    items: Mapping[str, int] | None = None,
    shipping_minor: int = 0,
    reason: str = "",
    charged_back_minor: int = 0,
) -> Decision:
    """R20: the vendor refunds at any time, in full or in part: an amount, line quantities,
    shipping, or a mix. The total refunded never exceeds what was paid.

    Refunded units come out of a line's unshipped units first: those are no longer to be
    shipped, which may complete the order (R9). Staff may refund outside an issue, with a
    ``reason``; a refund that gives back everything paid ends a processing order
    (:func:`with_ending`).
    """
    _authorize(order, by, Action.REFUND)
    reason = staff_reason(by, reason, "refund outside an issue")
    if isinstance(amount_minor, bool) or amount_minor < 0:
        raise InvalidMoneyError("amount must not be negative", field="amount")
    if shipping_minor < 0:
        raise InvalidMoneyError("shipping must not be negative", field="shipping")
    shipping_left = order.shipping_paid_minor - order.shipping_refunded_minor
    if shipping_minor > shipping_left:
        raise RefundExceedsPaidError(
            f"the shipping refund would exceed the shipping paid: at most "
            f"{format_minor(shipping_left, order.currency)} of shipping remain refundable; "
            "refund at most that much shipping",
            field="shipping",
            refundable_minor=shipping_left,
        )
    unshipped = order.unshipped()
    total = amount_minor + shipping_minor
    lines = list(order.lines)
    rows: list[tuple[str, int]] = []
    cancels_units = False
    for line_id, qty in (items or {}).items():
        line = order.line(line_id)
        if line is None:
            raise NotFoundError(f"order {order.order_id} has no line {line_id!r}", field="items")
        _positive_int(qty, f"items[{line_id}]")
        left = line.quantity - line.refunded_quantity
        if qty > left:
            raise RefundExceedsPaidError(
                f"only {left} unit(s) of line {line_id} remain refundable; refund at most "
                "that many units of it",
                field="items",
                line_id=line_id,
            )
        total += unit_share(line, line.refunded_quantity, qty)
        cancelled = min(qty, unshipped[line_id])
        cancels_units = cancels_units or cancelled > 0
        index = lines.index(line)
        lines[index] = evolve(
            line,
            refunded_quantity=line.refunded_quantity + qty,
            cancelled=line.cancelled + cancelled,
        )
        rows.append((line_id, qty))
    _check_refund_amount(order, total)
    if not order.shipments and all(ln.to_ship == 0 for ln in lines):
        raise InvalidTransitionError(
            "this refund would leave nothing to ship before anything shipped; cancel the order "
            "instead",
            order_id=order.order_id,
        )
    refund_row = Refund(
        refund_id=refund_id,
        amount_minor=total,
        shipping_minor=shipping_minor,
        items=tuple(rows),
        before_shipping=not order.shipments,
        reason=reason,
        issue_id=None,
        at=now,
        currency=order.currency,
    )
    new = _next(order, lines=tuple(lines), refunds=(*order.refunds, refund_row))
    events: list[DomainEvent] = [_refund_event(new, refund_row, by)]
    events += staff_event(order, by, Action.REFUND, reason, refund_id, now)
    new = with_ending(new, now, events, charged_back_minor)
    if cancels_units:
        new = _with_completion(new, now, events)
    return new, tuple(events)
