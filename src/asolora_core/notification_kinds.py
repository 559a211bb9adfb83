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
    SHIPMENT_AUTO_CONFIRMED = "shipment.auto_confirmed"
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
    MESSAGE_FLAGGED = "message.flagged"
    # the buyer's receipt, R40 timers and staff powers
    ORDER_RECEIPT = "order.receipt"
    ORDER_SHIP_REMINDER = "order.ship_reminder"
    ORDER_UNSHIPPED_CANCELLED = "order.unshipped_cancelled"
    SHIPMENT_CONFIRM_REMINDER = "shipment.confirm_reminder"
    ISSUE_ESCALATED = "issue.escalated"
    ORDER_STAFF_ACTION = "order.staff_action"
    # R37 returns and exchanges
    RETURN_REQUESTED = "return.requested"
    RETURN_ANSWERED = "return.answered"
    RETURN_EXPIRED = "return.expired"
    RETURN_SHIPPED = "return.shipped"
    RETURN_RECEIVED = "return.received"
    RETURN_REFUNDED = "return.refunded"
    RETURN_EXCHANGE_SHIPPED = "return.exchange_shipped"
    # money paths of the endings (R39, R41) and staff adjustments
    CHARGEBACK_WON = "chargeback.won"
    RESERVE_RELEASED = "reserve.released"
    BALANCE_ADJUSTED = "balance.adjusted"
    PAYOUT_TERMS = "payout.terms"


@attrs.frozen(kw_only=True)
class KindInfo:
    """Who receives a kind of notification, what its ``subject_id`` names, and when."""

    recipient: str  #: ``vendor``, ``buyer``, ``both``, ``the other side``, ... (in words)
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
            when="the buyer confirms a parcel, or the auto-confirm timer does (the text then "
            "says it was confirmed automatically)",
            rule="R9",
        ),
        _K.SHIPMENT_AUTO_CONFIRMED: KindInfo(
            recipient="buyer",
            subject="order",
            when="the auto-confirm timer confirms a parcel for the buyer: its dispute window "
            "for those items is closed",
            rule="R10",
        ),
        _K.ORDER_COMPLETED: KindInfo(
            recipient="both", subject="order", when="the order completes by itself", rule="R9"
        ),
        _K.ORDER_CANCELLED: KindInfo(
            recipient="the other side",
            subject="order",
            when="the order is cancelled: before shipping, by staff after shipping, or "
            "because everything paid went back",
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
            recipient="buyer; the vendor too when staff or a timer made the refund",
            subject="order",
            when="money goes back to the buyer (the text names how much); the vendor is told "
            "when someone else than the vendor took it from its order (a staff refund, "
            "mediation or cancellation after shipping, a timer's cancellation)",
            rule="R20",
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
        _K.MESSAGE_FLAGGED: KindInfo(
            recipient="the staff desk",
            subject="conversation",
            when="the contact policy flags a chat message (the text names the kinds found, "
            "never the details)",
            rule="R27",
        ),
        _K.ORDER_RECEIPT: KindInfo(
            recipient="buyer",
            subject="order",
            when="the order is placed: the buyer's receipt, with the amount paid",
            rule="R29",
        ),
        _K.ORDER_SHIP_REMINDER: KindInfo(
            recipient="vendor",
            subject="order",
            when="units are still unshipped after `remind_unshipped_after`",
            rule="R40",
        ),
        _K.ORDER_UNSHIPPED_CANCELLED: KindInfo(
            recipient="both",
            subject="order",
            when="units still unshipped after `cancel_unshipped_after` are cancelled and refunded",
            rule="R40",
        ),
        _K.SHIPMENT_CONFIRM_REMINDER: KindInfo(
            recipient="buyer",
            subject="order",
            when="a delivered parcel is still unconfirmed after `remind_confirm_after`",
            rule="R40",
        ),
        _K.ISSUE_ESCALATED: KindInfo(
            recipient="both, and the staff desk",
            subject="order",
            when="an issue still open after `escalate_issue_after` is handed to staff",
            rule="R40",
        ),
        _K.ORDER_STAFF_ACTION: KindInfo(
            recipient="both",
            subject="order",
            when="staff use a power on the order (the text carries the reason)",
            rule="R42",
        ),
        _K.RETURN_REQUESTED: KindInfo(
            recipient="vendor",
            subject="order",
            when="the buyer asks for a return or an exchange",
            rule="R37",
        ),
        _K.RETURN_ANSWERED: KindInfo(
            recipient="buyer",
            subject="order",
            when="the vendor accepts or declines a return request",
            rule="R37",
        ),
        _K.RETURN_EXPIRED: KindInfo(
            recipient="both",
            subject="order",
            when="a return request expires unanswered (`expire_return_after`)",
            rule="R37",
        ),
        _K.RETURN_SHIPPED: KindInfo(
            recipient="vendor",
            subject="order",
            when="the buyer ships the return back",
            rule="R37",
        ),
        _K.RETURN_RECEIVED: KindInfo(
            recipient="buyer",
            subject="order",
            when="the vendor receives the returned items",
            rule="R37",
        ),
        _K.RETURN_REFUNDED: KindInfo(
            recipient="buyer; the vendor too when staff closed it",
            subject="order",
            when="a return is refunded (less any restocking fee), or closed refunded when staff "
            "cancel the order after shipping",
            rule="R37",
        ),
        _K.RETURN_EXCHANGE_SHIPPED: KindInfo(
            recipient="buyer",
            subject="order",
            when="the vendor ships an exchange's replacement",
            rule="R37",
        ),
        _K.CHARGEBACK_WON: KindInfo(
            recipient="vendor",
            subject="order",
            when="a card dispute is decided for the vendor: the debit is reinstated (on a "
            "cancelled order the amount is refunded to the buyer instead, and only a returned "
            "provider fee comes back)",
            rule="R39",
        ),
        _K.RESERVE_RELEASED: KindInfo(
            recipient="vendor",
            subject="order",
            when="the rolling reserve kept back from an order's release comes back",
            rule="R41",
        ),
        _K.BALANCE_ADJUSTED: KindInfo(
            recipient="vendor",
            subject="adjustment",
            when="staff credit or debit the balance (the text carries the reason)",
            rule="R42",
        ),
        _K.PAYOUT_TERMS: KindInfo(
            recipient="vendor",
            subject="vendor",
            when="staff change the payout terms (reserve, minimum balance)",
            rule="R41",
        ),
    }
)
"""Every notification kind the library sends, with who receives it, what its ``subject_id``
names, when it is sent and the rule that asks for it (read-only). A notifier may use it to
route or render a :class:`~asolora_core.events.Notification` by its ``kind``."""
