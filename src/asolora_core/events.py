"""Domain events and the notifications derived from them (R29, R42).

Every state change returns events (past tense, immutable). They are appended to the
aggregate's history in the same transaction as the change (R42), and the notifications
derived from them are written to the outbox in that same transaction (R29), then delivered
to the pluggable notifier at least once.

Event classes register themselves by name so that stores can keep them as rows and read them
back (see :func:`event_type`).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, ClassVar

import attrs

from asolora_core._values import value_eq, value_hash, value_repr
from asolora_core.actors import Actor

__all__ = [
    "ConfirmationReminded",
    "DomainEvent",
    "ExchangeShipped",
    "IssueClosed",
    "IssueEscalated",
    "IssueReported",
    "IssueResponded",
    "Notification",
    "OrderCancelled",
    "OrderCompleted",
    "OrderPlaced",
    "ReceiptConfirmed",
    "RefundIssued",
    "ReturnAnswered",
    "ReturnExpired",
    "ReturnReceived",
    "ReturnRefunded",
    "ReturnRequested",
    "ReturnShippedBack",
    "ShippingCancelled",
    "ShippingReminded",
    "StaffActionTaken",
    "SettlementAnswered",
    "SettlementOffered",
    "ShipmentCreated",
    "ShipmentDelivered",
    "TrackingUpdated",
    "event_type",
]

_EVENT_TYPES: dict[str, type[DomainEvent]] = {}


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Something that happened to an aggregate: what (the class), who (``actor``), when
    (``at``), and to which aggregate (``aggregate_id``)."""

    name: ClassVar[str] = "DomainEvent"

    aggregate_id: str
    at: _dt.datetime
    actor: Actor

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__
        _EVENT_TYPES[cls.__name__] = cls
        # Each event class gets its own ``__repr__``, ``__eq__`` and ``__hash__`` before
        # ``@attrs.frozen`` sees it, so attrs (auto_detect) compiles none of them for each of
        # the dozens of events at import time; they behave as attrs' generated ones
        # (:mod:`asolora_core._values`; the project's tests compare them).
        cls.__repr__ = value_repr  # type: ignore[assignment,method-assign]
        cls.__eq__ = value_eq  # type: ignore[assignment,method-assign]
        cls.__hash__ = value_hash  # type: ignore[assignment,method-assign]


def event_type(name: str) -> type[DomainEvent]:
    """The event class registered under ``name`` (used by stores to read history back)."""
    return _EVENT_TYPES[name]


@attrs.frozen(kw_only=True)
class Notification:
    """A message for one actor, derived from an event; what the notifier receives."""

    __repr__ = value_repr

    recipient: Actor
    kind: str  #: stable, e.g. ``"order.placed"``
    subject_id: str  #: the order (or conversation, payout) it is about
    text: str  #: a short human sentence
    event_at: _dt.datetime


# --- orders ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrderPlaced(DomainEvent):
    """A vendor's order was created by a checkout (R3) and is in ``processing``; the vendor is
    notified. ``aggregate_id`` is the order, ``checkout_id`` the checkout that split into it,
    ``paid_minor`` what the buyer paid for it, in minor units of ``currency``."""

    checkout_id: str
    vendor_id: str
    buyer_id: str
    currency: str
    paid_minor: int


@attrs.frozen(kw_only=True)
class ShipmentCreated(DomainEvent):
    """The vendor shipped units of the order (``Marketplace.ship``): ``items`` is a tuple of
    ``(line_id, quantity)`` pairs, sent with ``carrier`` under ``tracking_number``."""

    shipment_id: str
    carrier: str
    tracking_number: str
    items: tuple[tuple[str, int], ...]


@attrs.frozen(kw_only=True)
class TrackingUpdated(DomainEvent):
    """The vendor added a tracking update to a shipment in transit
    (``Marketplace.update_tracking``); ``note`` is the update's text."""

    shipment_id: str
    carrier: str
    tracking_number: str
    note: str


@attrs.frozen(kw_only=True)
class ShipmentDelivered(DomainEvent):
    """The shipment was marked delivered (``Marketplace.mark_delivered``, by its vendor or
    staff); the buyer's confirmation timer starts (R10)."""

    shipment_id: str


@attrs.frozen(kw_only=True)
class ReceiptConfirmed(DomainEvent):
    """The buyer selected "Order Received" for a delivered shipment
    (``Marketplace.confirm_receipt``); ``automatic`` is true when the system confirmed it
    after the timer ran out (R10). The last confirmation completes the order."""

    shipment_id: str
    automatic: bool


@attrs.frozen(kw_only=True)
class OrderCompleted(DomainEvent):
    """The last confirmation completed the order (R9); ``at`` is ``completed_at``."""


@attrs.frozen(kw_only=True)
class OrderCancelled(DomainEvent):
    """The order was cancelled (``Marketplace.cancel_order``, or by the system when it was
    fully refunded); ``refund_minor`` is what went back to the buyer with the cancellation,
    in minor units of ``currency``, and ``reason`` says why."""

    reason: str
    refund_minor: int
    currency: str


@attrs.frozen(kw_only=True)
class IssueReported(DomainEvent):
    """The buyer reported an issue before confirming (``Marketplace.report_issue``): ``kind``
    is an ``IssueKind`` value, ``line_ids`` the lines it concerns; the vendor is notified and
    must respond (R12)."""

    issue_id: str
    kind: str
    line_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class IssueResponded(DomainEvent):
    """The vendor answered an issue (``Marketplace.respond_to_issue``); ``first_response``
    is true for the answer that sets the issue's first response time."""

    issue_id: str
    message: str
    first_response: bool


@attrs.frozen(kw_only=True)
class SettlementOffered(DomainEvent):
    """The vendor offered a settlement on an issue (``Marketplace.offer_settlement``):
    ``resolution`` is a ``Resolution`` value, ``amount_minor`` the refund offered, in minor
    units of the order currency."""

    issue_id: str
    resolution: str
    amount_minor: int


@attrs.frozen(kw_only=True)
class SettlementAnswered(DomainEvent):
    """The buyer accepted or declined a settlement offer (``Marketplace.answer_settlement``);
    an accepted offer closes the issue (an ``IssueClosed`` follows)."""

    issue_id: str
    accepted: bool


@attrs.frozen(kw_only=True)
class IssueClosed(DomainEvent):
    """An issue was closed: withdrawn, settled, mediated by staff, resolved for the vendor, or
    ended with the order; ``outcome`` is an ``IssueOutcome`` value."""

    issue_id: str
    outcome: str


@attrs.frozen(kw_only=True)
class RefundIssued(DomainEvent):
    """Money goes back to the buyer in the order currency (R20); the ledger books it."""

    refund_id: str
    amount_minor: int
    currency: str
    shipping_minor: int
    items: tuple[tuple[str, int], ...]
    before_shipping: bool
    issue_id: str | None
    reason: str


# --- R40 timers and staff powers -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class ShippingReminded(DomainEvent):
    """R40: the vendor was reminded that units of the order are still unshipped."""

    units_unshipped: int


@attrs.frozen(kw_only=True)
class ShippingCancelled(DomainEvent):
    """R40: units still unshipped when the cancel timer fired (some had shipped) will not
    ship: they are refunded (a ``RefundIssued`` follows when anything is left to refund)."""

    items: tuple[tuple[str, int], ...]


@attrs.frozen(kw_only=True)
class ConfirmationReminded(DomainEvent):
    """R40: the buyer was reminded to confirm a delivered shipment."""

    shipment_id: str


@attrs.frozen(kw_only=True)
class IssueEscalated(DomainEvent):
    """R40: an issue still open after the configured time was handed to staff;
    ``unanswered`` says whether the vendor never responded."""

    issue_id: str
    unanswered: bool


@attrs.frozen(kw_only=True)
class StaffActionTaken(DomainEvent):
    """A staff power was used (mark delivered, confirm for the buyer, resolve for the vendor,
    refund outside an issue, cancel before or after shipping, mediate an issue), with its
    mandatory reason. It comes with the ordinary events of the change
    (``ShipmentDelivered``, ``RefundIssued``, ``IssueClosed``...)."""

    action: str
    reason: str
    ref: str  #: the shipment, issue or refund acted on ("" for the whole order)


# --- R37 returns and exchanges --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReturnRequested(DomainEvent):
    """The buyer asked to return units after confirming (R37, ``Marketplace.request_return``):
    ``kind`` is a ``ReturnKind`` value (a return for money back, or an exchange), ``items`` a
    tuple of ``(line_id, quantity)`` pairs."""

    return_id: str
    kind: str
    items: tuple[tuple[str, int], ...]


@attrs.frozen(kw_only=True)
class ReturnAnswered(DomainEvent):
    """The vendor accepted or declined a return request (``Marketplace.accept_return`` or
    ``decline_return``), with ``message`` for the buyer."""

    return_id: str
    accepted: bool
    message: str


@attrs.frozen(kw_only=True)
class ReturnExpired(DomainEvent):
    """R40: the vendor did not answer the request in time."""

    return_id: str


@attrs.frozen(kw_only=True)
class ReturnShippedBack(DomainEvent):
    """The buyer sent the returned units back (``Marketplace.ship_return``) with ``carrier``
    under ``tracking_number``."""

    return_id: str
    carrier: str
    tracking_number: str


@attrs.frozen(kw_only=True)
class ReturnReceived(DomainEvent):
    """The vendor received the returned units (``Marketplace.receive_return``); a refund or
    an exchange shipment follows."""

    return_id: str


@attrs.frozen(kw_only=True)
class ReturnRefunded(DomainEvent):
    """R37: the returned units were refunded (a ``RefundIssued`` books it), less the
    restocking fee of the policy snapshot."""

    return_id: str
    refund_id: str
    refund_minor: int
    restocking_fee_minor: int


@attrs.frozen(kw_only=True)
class ExchangeShipped(DomainEvent):
    """The vendor shipped replacement units for an accepted exchange
    (``Marketplace.ship_exchange``) with ``carrier`` under ``tracking_number``."""

    return_id: str
    carrier: str
    tracking_number: str
