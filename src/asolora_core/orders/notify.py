"""Which order events notify whom (R3, R5-R7, R12, R29).

One table: event class -> (recipient side, notification kind, sentence). The facade writes the
notifications to the outbox in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from asolora_core.actors import STAFF_DESK, Actor, ActorKind
from asolora_core.events import (
    ConfirmationReminded,
    DomainEvent,
    ExchangeShipped,
    IssueClosed,
    IssueEscalated,
    IssueReported,
    IssueResponded,
    Notification,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    ReceiptConfirmed,
    RefundIssued,
    ReturnAnswered,
    ReturnExpired,
    ReturnReceived,
    ReturnRefunded,
    ReturnRequested,
    ReturnShippedBack,
    SettlementAnswered,
    SettlementOffered,
    ShipmentCreated,
    ShipmentDelivered,
    ShippingCancelled,
    ShippingReminded,
    StaffActionTaken,
    TrackingUpdated,
)
from asolora_core.money import format_minor
from asolora_core.orders.model import WON_CHARGEBACK_REFUND, Order

__all__ = ["ALSO", "IF_AUTOMATIC", "NOTIFICATIONS", "STAFF_DESK", "notifications_for"]

VENDOR, BUYER, BOTH, OTHER = "vendor", "buyer", "both", "other"
STAFF = "staff"  #: the staff desk (:data:`STAFF_DESK`)
#: The buyer, only when the system acted for it (R10: a parcel confirmed by the timer closes
#: the buyer's dispute window for it, so the buyer must hear of it).
BUYER_IF_AUTOMATIC = "buyer if automatic"
#: The vendor, when the buyer acted itself / when the system acted for the buyer (R9, R10): the
#: vendor's sentence must say who confirmed the parcel.
VENDOR_UNLESS_AUTOMATIC = "vendor unless automatic"
VENDOR_IF_AUTOMATIC = "vendor if automatic"
#: The vendor, when someone else than the vendor or the buyer (staff, or a timer) took money
#: from its order: a refund decided by staff (R13, R20) or by a timer (R40). The vendor's own
#: refunds need no word, and a refund the buyer's acceptance of the vendor's own offer made
#: (R38) is told by ``issue.offer_answered`` and ``issue.closed``.
VENDOR_IF_BY_MARKETPLACE = "vendor if by the marketplace"

#: event class -> (who hears of it, kind, text); OTHER is the side that did not act.
NOTIFICATIONS: dict[type[DomainEvent], tuple[str, str, str]] = {
    OrderPlaced: (VENDOR, "order.placed", "New order {order}: start preparing it for shipment."),
    ShipmentCreated: (BUYER, "shipment.created", "Your order {order} has shipped."),
    TrackingUpdated: (BUYER, "shipment.tracking_updated", "Tracking for order {order} changed."),
    ShipmentDelivered: (
        BUYER,
        "shipment.delivered",
        "Order {order} was delivered: please confirm Order Received if it matches the listing.",
    ),
    ReceiptConfirmed: (
        VENDOR_UNLESS_AUTOMATIC,
        "shipment.confirmed",
        "The buyer confirmed receipt on {order}.",
    ),
    OrderCompleted: (BOTH, "order.completed", "Order {order} is completed."),
    OrderCancelled: (OTHER, "order.cancelled", "Order {order} was cancelled."),
    IssueReported: (VENDOR, "issue.reported", "The buyer reported an issue on {order}: respond."),
    IssueResponded: (BUYER, "issue.responded", "The vendor responded to your issue on {order}."),
    SettlementOffered: (BUYER, "issue.offer", "The vendor offered a settlement on {order}."),
    SettlementAnswered: (
        VENDOR,
        "issue.offer_answered",
        "The buyer answered your offer on {order}.",
    ),
    IssueClosed: (
        BOTH,
        "issue.closed",
        "The issue on order {order} is closed ({event.outcome}): see the order for its details.",
    ),
    RefundIssued: (BUYER, "refund.issued", "A refund of {amount} was issued on order {order}."),
    # R40 timers and staff powers
    ShippingReminded: (
        VENDOR,
        "order.ship_reminder",
        "Order {order} still has {event.units_unshipped} unit(s) to ship.",
    ),
    ShippingCancelled: (
        BOTH,
        "order.unshipped_cancelled",
        "Units of order {order} were not shipped in time: they are cancelled and refunded.",
    ),
    ConfirmationReminded: (
        BUYER,
        "shipment.confirm_reminder",
        "Order {order} was delivered: please confirm Order Received or report an issue.",
    ),
    IssueEscalated: (
        BOTH,
        "issue.escalated",
        "The issue on order {order} was handed to the marketplace's staff.",
    ),
    StaffActionTaken: (
        BOTH,
        "order.staff_action",
        "Staff acted on order {order} ({event.action}): {event.reason}",
    ),
    # R37 returns and exchanges
    ReturnRequested: (
        VENDOR,
        "return.requested",
        "The buyer asked for a {event.kind} on order {order}: accept or decline it.",
    ),
    ReturnAnswered: (BUYER, "return.answered", "The vendor answered your request on {order}."),
    ReturnExpired: (BOTH, "return.expired", "The return request on {order} expired unanswered."),
    ReturnShippedBack: (VENDOR, "return.shipped", "The buyer shipped the return of {order}."),
    ReturnReceived: (BUYER, "return.received", "The vendor received your return of {order}."),
    ReturnRefunded: (BUYER, "return.refunded", "Your return of order {order} was refunded."),
    ExchangeShipped: (BUYER, "return.exchange_shipped", "Your exchange on {order} has shipped."),
}

#: A second notification some events produce: the buyer's receipt on placement (R29), the
#: staff desk's copy of an escalation (R40), and the buyer's word that the auto-confirm timer
#: confirmed a parcel for it (R10, R14).
ALSO: dict[type[DomainEvent], tuple[str, str, str]] = {
    OrderPlaced: (
        BUYER,
        "order.receipt",
        "Thank you for your order {order}: {paid} paid. This is your receipt.",
    ),
    IssueEscalated: (STAFF, "issue.escalated", "An issue on order {order} needs a decision."),
    ReceiptConfirmed: (
        BUYER_IF_AUTOMATIC,
        "shipment.auto_confirmed",
        "A parcel of order {order} ({event.shipment_id}) was confirmed received automatically: "
        "the platform's dispute window for its items is closed; returns now go to the vendor.",
    ),
    # R20, R37: a return staff closed with the order's cancellation after shipping
    ReturnRefunded: (
        VENDOR_IF_BY_MARKETPLACE,
        "return.refunded",
        "The marketplace cancelled order {order}: the return under way on it is closed, "
        "refunded with the cancellation.",
    ),
    # R13, R20, R29: money taken from the vendor's order by staff or a timer, with the amount
    RefundIssued: (
        VENDOR_IF_BY_MARKETPLACE,
        "refund.issued",
        "The marketplace refunded {amount} to the buyer on your order {order}: it comes out "
        "of your proceeds of the order.",
    ),
}

#: What the vendor is told instead of its usual sentence when the system, not the buyer,
#: acted (R10): the auto-confirm timer confirmed a parcel the buyer did not confirm in time.
IF_AUTOMATIC: dict[type[DomainEvent], tuple[str, str, str]] = {
    ReceiptConfirmed: (
        VENDOR_IF_AUTOMATIC,
        "shipment.confirmed",
        "A parcel of order {order} ({event.shipment_id}) was confirmed received automatically: "
        "the buyer did not confirm it within the auto-confirm period.",
    ),
}


@lru_cache(maxsize=4096)
def _party(kind: ActorKind, actor_id: str) -> Actor:
    return Actor(kind, actor_id)


def notifications_for(order: Order, events: Sequence[DomainEvent]) -> list[Notification]:
    """The notifications the events of one command on ``order`` produce."""
    out: list[Notification] = []
    for event in events:
        plan = _PLANS.get(type(event))
        if plan is None:
            plan = _PLANS[type(event)] = _plan(type(event))
        for side, kind, text, parts in plan:
            if parts is not None and side in (BUYER, VENDOR):
                # the usual entry: one recipient, a sentence around the order id
                order_id = order.order_id
                out.append(
                    Notification(
                        recipient=_party(ActorKind.BUYER, order.buyer_id)
                        if side == BUYER
                        else _party(ActorKind.VENDOR, order.vendor_id),
                        kind=kind,
                        subject_id=order_id,
                        text=parts[0] + order_id + parts[1],
                        event_at=event.at,
                    )
                )
            else:
                _notifications(out, order, event, side, kind, text, parts)
    return out


#: A notification an event class produces: (side, kind, text, the text around its one
#: ``{order}`` when that is all it formats, see :func:`_split`).
_Entry = tuple[str, str, str, "tuple[str, str] | None"]
#: Each event class's entries of :data:`NOTIFICATIONS`, :data:`IF_AUTOMATIC` then
#: :data:`ALSO`, looked up once
#: (the first time an event of that class is met; the tables are constants).
_PLANS: dict[type[DomainEvent], tuple[_Entry, ...]] = {}


def _plan(event_type: type[DomainEvent]) -> tuple[_Entry, ...]:
    entries = [
        table[event_type] for table in (NOTIFICATIONS, IF_AUTOMATIC, ALSO) if event_type in table
    ]
    return tuple((side, kind, text, _split(text)) for side, kind, text in entries)


#: A conditional side -> the side it names when its condition holds.
_CONDITIONAL = {
    BUYER_IF_AUTOMATIC: BUYER,
    VENDOR_IF_AUTOMATIC: VENDOR,
    VENDOR_UNLESS_AUTOMATIC: VENDOR,
    VENDOR_IF_BY_MARKETPLACE: VENDOR,
}


@lru_cache(maxsize=256)
def _split(text: str) -> tuple[str, str] | None:
    """``text`` around its one ``{order}`` when that is all it formats: the sentence is then
    ``before + order_id + after`` (what ``str.format`` gives, without parsing it each time)."""
    before, found, after = text.partition("{order}")
    if not found or any(c in before + after for c in "{}"):
        return None
    return before, after


def _notifications(
    out: list[Notification],
    order: Order,
    event: DomainEvent,
    side: str,
    kind: str,
    text: str,
    parts: tuple[str, str] | None,
) -> None:
    """Append to ``out`` the notifications of one entry of a plan (see :func:`_plan`)."""
    order_id = order.order_id
    if side in _CONDITIONAL:
        if side == VENDOR_IF_BY_MARKETPLACE:
            if event.actor.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
                return
            if isinstance(event, RefundIssued) and event.reason.startswith(WON_CHARGEBACK_REFUND):
                return  # not from its proceeds: ``chargeback.won`` tells the vendor (R39)
        elif getattr(event, "automatic", False) != (side != VENDOR_UNLESS_AUTOMATIC):
            return
        side = _CONDITIONAL[side]
    if parts is not None:
        sentence = parts[0] + order_id + parts[1]
    elif "{event." in text or "{paid}" in text or "{amount}" in text:
        paid = format_minor(order.paid_minor, order.currency) if "{paid}" in text else ""
        amount = ""
        if isinstance(event, RefundIssued):  # the money going back, in the order currency
            amount = format_minor(event.amount_minor, event.currency)
        sentence = text.format(order=order_id, event=event, paid=paid, amount=amount)
    else:
        sentence = text.format(order=order_id)
    at = event.at
    if side == VENDOR:
        recipient = _party(ActorKind.VENDOR, order.vendor_id)
    elif side == BUYER:
        recipient = _party(ActorKind.BUYER, order.buyer_id)
    elif side == STAFF:
        recipient = STAFF_DESK
    else:
        for r in (
            _party(ActorKind.VENDOR, order.vendor_id),
            _party(ActorKind.BUYER, order.buyer_id),
        ):
            if side == BOTH or r != event.actor:
                out.append(
                    Notification(
                        recipient=r, kind=kind, subject_id=order_id, text=sentence, event_at=at
                    )
                )
        return
    out.append(
        Notification(
            recipient=recipient, kind=kind, subject_id=order_id, text=sentence, event_at=at
        )
    )
