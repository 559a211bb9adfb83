"""The kinds of notification a notifier receives, and what each carries (R29).

Every :class:`~asolora_core.Notification` has the same payload: ``recipient`` (the
:class:`~asolora_core.Actor` to tell), ``kind`` (one of :class:`NotificationKind`),
``subject_id`` (the id the notification is about: see the table), ``text`` (a short sentence
for a person) and ``event_at`` (when it happened, UTC). ``NotificationKind`` members are
strings, so ``notification.kind == NotificationKind.ORDER_PLACED`` and
``notification.kind == "order.placed"`` both hold; the values never change.

:data:`NOTIFICATION_KINDS` says, for each kind, who receives it, what ``subject_id`` names and
when it is sent; the docs' table is generated from it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["NOTIFICATION_KINDS", "KindInfo", "NotificationKind"]


class NotificationKind(enum.StrEnum):
    """Every ``Notification.kind`` the library sends (stable strings)."""

    ORDER_PLACED = "order.placed"
    SHIPMENT_CREATED = "shipment.created"
    SHIPMENT_TRACKING_UPDATED = "shipment.tracking_updated"
    SHIPMENT_DELIVERED = "shipment.delivered"
    SHIPMENT_CONFIRMED = "shipment.confirmed"
    ORDER_COMPLETED = "order.completed"
    ORDER_CANCELLED = "order.cancelled"
    ISSUE_REPORTED = "issue.reported"
    ISSUE_RESPONDED = "issue.responded"
    ISSUE_OFFER = "issue.offer"
    ISSUE_OFFER_ANSWERED = "issue.offer_answered"
    ISSUE_CLOSED = "issue.closed"
    REFUND_ISSUED = "refund.issued"
    PROCEEDS_RELEASED = "proceeds.released"
    CHARGEBACK_REPORTED = "chargeback.reported"
    PAYOUT_PAID = "payout.paid"
    MESSAGE_POSTED = "message.posted"


@attrs.frozen(kw_only=True)
class KindInfo:
    """Who receives a kind of notification, what its ``subject_id`` names, and when."""

    recipient: str  #: ``vendor``, ``buyer``, ``both``, ``the other side``
    subject: str  #: what ``subject_id`` is: ``order``, ``payout``, ``conversation``
    when: str
    rule: str  #: the rule id that asks for it


_K = NotificationKind
NOTIFICATION_KINDS: Mapping[NotificationKind, KindInfo] = MappingProxyType(
    {
        _K.ORDER_PLACED: KindInfo(
            recipient="vendor", subject="order", when="a new order arrives", rule="R3"
        ),
        _K.SHIPMENT_CREATED: KindInfo(
            recipient="buyer", subject="order", when="the vendor ships a parcel", rule="R5"
        ),
        _K.SHIPMENT_TRACKING_UPDATED: KindInfo(
            recipient="buyer", subject="order", when="the vendor updates tracking", rule="R6"
        ),
        _K.SHIPMENT_DELIVERED: KindInfo(
            recipient="buyer",
            subject="order",
            when="a parcel is marked delivered: please confirm Order Received",
            rule="R7",
        ),
        _K.SHIPMENT_CONFIRMED: KindInfo(
            recipient="vendor",
            subject="order",
            when="the buyer (or the auto-confirm timer) confirms a parcel",
            rule="R9",
        ),
        _K.ORDER_COMPLETED: KindInfo(
            recipient="both", subject="order", when="the order completes by itself", rule="R9"
        ),
        _K.ORDER_CANCELLED: KindInfo(
            recipient="the other side",
            subject="order",
            when="the order is cancelled before shipping",
            rule="R11",
        ),
        _K.ISSUE_REPORTED: KindInfo(
            recipient="vendor", subject="order", when="the buyer reports an issue", rule="R12"
        ),
        _K.ISSUE_RESPONDED: KindInfo(
            recipient="buyer", subject="order", when="the vendor responds to an issue", rule="R12"
        ),
        _K.ISSUE_OFFER: KindInfo(
            recipient="buyer", subject="order", when="the vendor offers a settlement", rule="R38"
        ),
        _K.ISSUE_OFFER_ANSWERED: KindInfo(
            recipient="vendor", subject="order", when="the buyer answers an offer", rule="R38"
        ),
        _K.ISSUE_CLOSED: KindInfo(
            recipient="both",
            subject="order",
            when="an issue is withdrawn, settled or mediated",
            rule="R13",
        ),
        _K.REFUND_ISSUED: KindInfo(
            recipient="buyer", subject="order", when="money goes back to the buyer", rule="R20"
        ),
        _K.PROCEEDS_RELEASED: KindInfo(
            recipient="vendor",
            subject="order",
            when="held proceeds are credited to the balance",
            rule="R17",
        ),
        _K.CHARGEBACK_REPORTED: KindInfo(
            recipient="vendor",
            subject="order",
            when="the payment provider reports a card dispute",
            rule="R39",
        ),
        _K.PAYOUT_PAID: KindInfo(
            recipient="vendor", subject="payout", when="a payout is sent", rule="R18"
        ),
        _K.MESSAGE_POSTED: KindInfo(
            recipient="the other side",
            subject="conversation",
            when="a chat message is posted",
            rule="R26",
        ),
    }
)
