"""Which order events notify whom (R3, R5-R7, R12, R29).

One table: event class -> (recipient side, notification kind, sentence). The facade writes the
notifications to the outbox in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from asolora_core.actors import Actor, ActorKind
from asolora_core.events import (
    DomainEvent,
    IssueClosed,
    IssueReported,
    IssueResponded,
    Notification,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    ReceiptConfirmed,
    RefundIssued,
    SettlementAnswered,
    SettlementOffered,
    ShipmentCreated,
    ShipmentDelivered,
    TrackingUpdated,
)
from asolora_core.orders.model import Order

__all__ = ["NOTIFICATIONS", "notifications_for"]

VENDOR, BUYER, BOTH, OTHER = "vendor", "buyer", "both", "other"

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
    ReceiptConfirmed: (VENDOR, "shipment.confirmed", "The buyer confirmed receipt on {order}."),
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
    IssueClosed: (BOTH, "issue.closed", "The issue on order {order} is closed."),
    RefundIssued: (BUYER, "refund.issued", "A refund was issued on order {order}."),
}


@lru_cache(maxsize=4096)
def _party(kind: ActorKind, actor_id: str) -> Actor:
    return Actor(kind, actor_id)


def notifications_for(order: Order, events: Sequence[DomainEvent]) -> list[Notification]:
    """The notifications the events of one command on ``order`` produce."""
    out: list[Notification] = []
    for event in events:
        entry = NOTIFICATIONS.get(type(event))
        if entry is None:
            continue
        side, kind, text = entry
        vendor, buyer = (
            _party(ActorKind.VENDOR, order.vendor_id),
            _party(ActorKind.BUYER, order.buyer_id),
        )
        if side == VENDOR:
            recipients = [vendor]
        elif side == BUYER:
            recipients = [buyer]
        elif side == BOTH:
            recipients = [vendor, buyer]
        else:
            recipients = [r for r in (vendor, buyer) if r != event.actor]
        sentence = text.format(order=order.order_id)
        for r in recipients:
            out.append(
                Notification(
                    recipient=r,
                    kind=kind,
                    subject_id=order.order_id,
                    text=sentence,
                    event_at=event.at,
                )
            )
    return out
