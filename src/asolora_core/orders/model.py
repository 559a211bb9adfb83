"""The order aggregate's values (R3-R14, R19, R20).

An :class:`Order` is one vendor's part of a buyer's checkout. Its ``status`` is only ever
``processing``, ``completed`` or ``cancelled`` (R4); shipping progress lives on its
:class:`Shipment` values and in the derived :class:`Fulfilment` view. Amounts are ``int``
minor units of ``Order.currency`` (convert at the facade with :mod:`asolora_core.money`).

Everything here is a frozen attrs value; commands in :mod:`asolora_core.orders.commands`
return new values.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterator

import attrs
from moneyed import Money

from asolora_core._values import value_repr
from asolora_core.money import money_of

__all__ = [
    "Fulfilment",
    "Issue",
    "IssueKind",
    "IssueOutcome",
    "IssueStatus",
    "Line",
    "Order",
    "OrderStatus",
    "Refund",
    "Resolution",
    "ReturnKind",
    "ReturnPolicy",
    "ReturnRequest",
    "ReturnStatus",
    "SettlementOffer",
    "Shipment",
    "ShipmentStatus",
    "TrackingEvent",
]


class OrderStatus(enum.Enum):
    """An order's status (R4): nothing else, ever."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ShipmentStatus(enum.Enum):
    """A shipment's progress (R5-R9)."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"


class IssueStatus(enum.Enum):
    """An issue (dispute) is open until withdrawn, settled or mediated (R13)."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    OPEN = "open"
    CLOSED = "closed"


class IssueKind(enum.Enum):
    """What the buyer reports (R12)."""

    NOT_RECEIVED = "not_received"
    DAMAGED = "damaged"
    NOT_AS_DESCRIBED = "not_as_described"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEMS = "missing_items"
    OTHER = "other"


class Resolution(enum.Enum):
    """What a settlement offer or a mediation decides (R13, R38)."""

    REFUND = "refund"
    REPLACEMENT = "replacement"
    NO_ACTION = "no_action"


class IssueOutcome(enum.Enum):
    """How an issue closed (R13)."""

    WITHDRAWN = "withdrawn"
    SETTLED_REFUND = "settled_refund"
    SETTLED_REPLACEMENT = "settled_replacement"
    SETTLED_NO_ACTION = "settled_no_action"
    MEDIATED_REFUND = "mediated_refund"
    MEDIATED_REPLACEMENT = "mediated_replacement"
    REJECTED = "rejected"  #: staff ruled for the vendor (mediation or resolve_for_vendor)
    ORDER_ENDED = "order_ended"  #: the order was cancelled or fully refunded while it was open


class ReturnStatus(enum.Enum):
    """A return or exchange request after confirmation (R37)."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  #: the vendor did not answer in time (R40)
    SHIPPED_BACK = "shipped_back"
    RECEIVED = "received"
    REFUNDED = "refunded"
    EXCHANGED = "exchanged"


class ReturnKind(enum.Enum):
    """What the buyer asks for (R37)."""

    RETURN = "return"  #: money back, less any restocking fee
    EXCHANGE = "exchange"  #: the same items again


@attrs.frozen(kw_only=True)
class ReturnPolicy:
    """The vendor's own return, exchange and refund policy for a listing (R19).

    An order line keeps a snapshot of the policy in force at purchase.
    """

    __repr__ = value_repr

    returns_accepted: bool = False
    exchanges_accepted: bool = False
    window_days: int = 0
    buyer_pays_return_shipping: bool = True
    restocking_fee_bp: int = 0
    condition: str = ""
    text: str = ""


@attrs.frozen(kw_only=True)
class Line:
    """One product line of an order. ``paid_minor`` is this line's exact share of the
    buyer's payment (R3); ``cancelled`` counts units refunded before they shipped (R9)."""

    __repr__ = value_repr

    line_id: str
    product_id: str
    title: str
    quantity: int
    unit_price_minor: int
    paid_minor: int
    policy: ReturnPolicy
    cancelled: int = 0
    refunded_quantity: int = 0
    currency: str = ""  #: the order's currency (set by checkout)

    @property
    def unit_price(self) -> Money:
        """The unit price, as ``Money`` (R25)."""
        return money_of(self.unit_price_minor, self.currency)

    @property
    def paid(self) -> Money:
        """This line's share of the payment (R3)."""
        return money_of(self.paid_minor, self.currency)

    @property
    def to_ship(self) -> int:
        """Units that must ship for the order to complete."""
        return self.quantity - self.cancelled


@attrs.frozen(kw_only=True)
class TrackingEvent:
    """One tracking update, kept in order (R6)."""

    __repr__ = value_repr

    at: _dt.datetime
    carrier: str
    tracking_number: str
    note: str


@attrs.frozen(kw_only=True)
class Shipment:
    """Some or all unshipped units of an order's lines, with a carrier and tracking (R5)."""

    __repr__ = value_repr

    shipment_id: str
    items: tuple[tuple[str, int], ...]  #: (line_id, quantity)
    status: ShipmentStatus
    shipped_at: _dt.datetime
    tracking: tuple[TrackingEvent, ...]
    delivered_at: _dt.datetime | None = None
    confirmed_at: _dt.datetime | None = None
    confirmed_automatically: bool = False
    replacement_for: str | None = None  #: the issue this shipment replaces items for

    @property
    def carrier(self) -> str:
        return self.tracking[-1].carrier

    @property
    def tracking_number(self) -> str:
        return self.tracking[-1].tracking_number

    @property
    def line_ids(self) -> frozenset[str]:
        return frozenset(line_id for line_id, _ in self.items)


@attrs.frozen(kw_only=True)
class SettlementOffer:
    """A vendor's proposal to settle an issue (R13, R38); the buyer accepts or declines."""

    __repr__ = value_repr

    resolution: Resolution
    amount_minor: int
    offered_at: _dt.datetime
    message: str
    accepted: bool | None = None  #: None while pending
    currency: str = ""  #: the order's currency

    @property
    def amount(self) -> Money:
        """The refund offered, as ``Money`` (zero for other resolutions)."""
        return money_of(self.amount_minor, self.currency)


@attrs.frozen(kw_only=True)
class Issue:
    """A problem the buyer reported before confirming receipt (R12-R14, R38)."""

    __repr__ = value_repr

    issue_id: str
    kind: IssueKind
    line_ids: tuple[str, ...]  #: empty means the whole order
    description: str
    status: IssueStatus
    reported_at: _dt.datetime
    first_response_at: _dt.datetime | None = None
    offers: tuple[SettlementOffer, ...] = ()
    outcome: IssueOutcome | None = None
    closed_at: _dt.datetime | None = None
    replacement_shipped: bool = False
    escalated_at: _dt.datetime | None = None  #: handed to staff by the R40 timer

    @property
    def pending_offer(self) -> SettlementOffer | None:
        if self.offers and self.offers[-1].accepted is None:
            return self.offers[-1]
        return None

    @property
    def awaits_replacement(self) -> bool:
        return (
            self.outcome in (IssueOutcome.SETTLED_REPLACEMENT, IssueOutcome.MEDIATED_REPLACEMENT)
            and not self.replacement_shipped
        )

    def covers(self, line_ids: frozenset[str]) -> bool:
        """Whether this issue is about any of ``line_ids`` (a whole-order issue covers all)."""
        return not self.line_ids or not line_ids.isdisjoint(self.line_ids)


@attrs.frozen(kw_only=True)
class ReturnRequest:
    """A buyer's return or exchange of confirmed line units (R37), checked against each
    line's policy snapshot (R19). The terms (who pays return shipping, the restocking fee)
    are copied from the snapshot when the request is made."""

    __repr__ = value_repr

    return_id: str
    kind: ReturnKind
    items: tuple[tuple[str, int], ...]  #: (line_id, units)
    reason: str
    condition: str  #: the buyer's description of the items' condition
    status: ReturnStatus
    requested_at: _dt.datetime
    buyer_pays_return_shipping: bool
    restocking_fee_bp: int
    answered_at: _dt.datetime | None = None
    answer: str = ""  #: the vendor's message (a decline's reason)
    carrier: str = ""  #: the buyer's return shipment
    tracking_number: str = ""
    shipped_back_at: _dt.datetime | None = None
    received_at: _dt.datetime | None = None
    closed_at: _dt.datetime | None = None
    refund_id: str | None = None
    refund_minor: int = 0
    restocking_fee_minor: int = 0
    replacement_carrier: str = ""
    replacement_tracking_number: str = ""
    currency: str = ""  #: the order's currency

    @property
    def refund(self) -> Money:
        """What the return's refund gave back (0 until refunded)."""
        return money_of(self.refund_minor, self.currency)

    @property
    def restocking_fee(self) -> Money:
        """The restocking fee kept from the refund (R37)."""
        return money_of(self.restocking_fee_minor, self.currency)

    @property
    def holds_units(self) -> bool:
        """Its units cannot be asked for again: not declined nor expired, and not refunded
        (refunded units count in the line's ``refunded_quantity`` instead)."""
        return self.status not in (
            ReturnStatus.DECLINED,
            ReturnStatus.EXPIRED,
            ReturnStatus.REFUNDED,
        )


#: The reason of the refund a chargeback won on a cancelled order gives the buyer (R11, R39):
#: the vendor is told of it by ``chargeback.won``, not as money taken from its proceeds.
WON_CHARGEBACK_REFUND = "chargeback won on the cancelled order"


@attrs.frozen(kw_only=True)
class Refund:
    """Money given back to the buyer in the order currency (R20)."""

    __repr__ = value_repr

    refund_id: str
    amount_minor: int  #: everything refunded, shipping included
    shipping_minor: int
    items: tuple[tuple[str, int], ...]
    before_shipping: bool
    reason: str
    issue_id: str | None
    at: _dt.datetime
    currency: str = ""  #: the order's currency

    @property
    def amount(self) -> Money:
        """Everything refunded, shipping included."""
        return money_of(self.amount_minor, self.currency)

    @property
    def shipping(self) -> Money:
        """The shipping part of the refund."""
        return money_of(self.shipping_minor, self.currency)


@attrs.frozen(kw_only=True)
class Fulfilment:
    """The derived shipping view of an order (R4): never stored, always computed."""

    __repr__ = value_repr

    state: str  #: unshipped, partially_shipped, shipped, partially_delivered, delivered,
    #: partially_confirmed, confirmed, cancelled
    units_to_ship: int
    units_shipped: int
    shipments_delivered: int
    shipments_confirmed: int
    shipments: int


@attrs.frozen(kw_only=True)
class Order:
    """One vendor's order within a buyer's checkout (R3, R4).

    ``version`` goes up by one with every change (R36). ``paid_minor`` is what the buyer paid
    for this order: the sum of the lines' ``paid_minor`` and ``shipping_paid_minor``.
    """

    __repr__ = value_repr

    order_id: str
    version: int
    checkout_id: str
    vendor_id: str
    buyer_id: str
    customer_name: str
    currency: str
    lines: tuple[Line, ...]
    shipping_paid_minor: int
    paid_minor: int
    placed_at: _dt.datetime
    status: OrderStatus = OrderStatus.PROCESSING
    shipments: tuple[Shipment, ...] = ()
    issues: tuple[Issue, ...] = ()
    refunds: tuple[Refund, ...] = ()
    completed_at: _dt.datetime | None = None
    cancelled_at: _dt.datetime | None = None
    returns: tuple[ReturnRequest, ...] = ()

    # --- derived views -------------------------------------------------------------------

    @property
    def refunded_minor(self) -> int:
        return sum(r.amount_minor for r in self.refunds)

    # --- amounts as Money (R25) -----------------------------------------------------------

    @property
    def paid(self) -> Money:
        """What the buyer paid for this order."""
        return money_of(self.paid_minor, self.currency)

    @property
    def shipping_paid(self) -> Money:
        """The shipping part of :attr:`paid`."""
        return money_of(self.shipping_paid_minor, self.currency)

    @property
    def refunded(self) -> Money:
        """Everything refunded so far."""
        return money_of(self.refunded_minor, self.currency)

    @property
    def refundable(self) -> Money:
        """What may still be refunded (R20)."""
        return money_of(self.refundable_minor, self.currency)

    @property
    def shipping_refunded(self) -> Money:
        """The shipping refunded so far."""
        return money_of(self.shipping_refunded_minor, self.currency)

    @property
    def refundable_minor(self) -> int:
        """What may still be refunded (R20: never more than was paid)."""
        return self.paid_minor - self.refunded_minor

    @property
    def shipping_refunded_minor(self) -> int:
        return sum(r.shipping_minor for r in self.refunds)

    def line(self, line_id: str) -> Line | None:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        return None

    def shipment(self, shipment_id: str) -> Shipment | None:
        for shipment in self.shipments:
            if shipment.shipment_id == shipment_id:
                return shipment
        return None

    def issue(self, issue_id: str) -> Issue | None:
        for issue in self.issues:
            if issue.issue_id == issue_id:
                return issue
        return None

    def return_request(self, return_id: str) -> ReturnRequest | None:
        for request in self.returns:
            if request.return_id == return_id:
                return request
        return None

    def confirmed_quantity(self, line_id: str) -> tuple[int, _dt.datetime | None]:
        """Units of the line in confirmed regular shipments, and the latest confirmation
        (R37: the return window counts from it)."""
        units, last = 0, None
        for s in self.shipments:
            if s.replacement_for is not None or s.status is not ShipmentStatus.CONFIRMED:
                continue
            for lid, qty in s.items:
                if lid == line_id:
                    units += qty
                    assert s.confirmed_at is not None
                    last = s.confirmed_at if last is None else max(last, s.confirmed_at)
        return units, last

    def returned_quantity(self, line_id: str) -> int:
        """Units of the line held by return or exchange requests (R37)."""
        return sum(
            qty for r in self.returns if r.holds_units for lid, qty in r.items if lid == line_id
        )

    def shipped_quantity(self, line_id: str) -> int:
        """Units of the line in regular (not replacement) shipments."""
        return sum(
            qty
            for s in self.shipments
            if s.replacement_for is None
            for lid, qty in s.items
            if lid == line_id
        )

    def unshipped(self) -> dict[str, int]:
        """line_id -> units still to ship (R5, R9)."""
        return {
            line.line_id: line.to_ship - self.shipped_quantity(line.line_id) for line in self.lines
        }

    def open_issues(self) -> Iterator[Issue]:
        return (i for i in self.issues if i.status is IssueStatus.OPEN)

    @property
    def fulfilment(self) -> Fulfilment:
        to_ship = sum(line.to_ship for line in self.lines)
        shipped = sum(
            qty for s in self.shipments if s.replacement_for is None for _, qty in s.items
        )
        delivered = sum(1 for s in self.shipments if s.status is not ShipmentStatus.IN_TRANSIT)
        confirmed = sum(1 for s in self.shipments if s.status is ShipmentStatus.CONFIRMED)
        n = len(self.shipments)
        if self.status is OrderStatus.CANCELLED:
            state = "cancelled"
        elif n == 0:
            state = "unshipped"
        elif shipped < to_ship:
            state = "partially_shipped"
        elif confirmed == n:
            state = "confirmed"
        elif confirmed:
            state = "partially_confirmed"
        elif delivered == n:
            state = "delivered"
        elif delivered:
            state = "partially_delivered"
        else:
            state = "shipped"
        return Fulfilment(
            state=state,
            units_to_ship=to_ship,
            units_shipped=shipped,
            shipments_delivered=delivered,
            shipments_confirmed=confirmed,
            shipments=n,
        )

    @property
    def is_ready_to_complete(self) -> bool:
        """R9: every shipment confirmed, every unit not cancelled shipped, no issue open or
        awaiting its replacement."""
        if self.status is not OrderStatus.PROCESSING or not self.shipments:
            return False
        if any(s.status is not ShipmentStatus.CONFIRMED for s in self.shipments):
            return False
        if any(v > 0 for v in self.unshipped().values()):
            return False
        return not any(i.status is IssueStatus.OPEN or i.awaits_replacement for i in self.issues)
