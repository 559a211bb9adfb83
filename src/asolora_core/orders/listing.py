"""Order lists for the vendor dashboard and the buyer's "my orders" (R1, R4, R9, R12, R33).

A pure module: what a list asks for (:class:`OrderQuery`), the per-order facts a list filters
on and a report folds over (:class:`OrderFacts`, derived from an order by
:func:`order_facts`), the page a list returns (:class:`OrderPage`) and its opaque cursor.

Lists are newest first: by ``placed_at`` descending, ties by ``order_id`` descending. They
page by key (the position of the last order shown), never by offset, so an order placed
while someone pages never shifts or repeats what later pages show. The cursor carries that
key and a MAC over the key, the query and the actor: a cursor altered by hand, or handed to
another query or another actor, is refused (:class:`~asolora_core.errors.InvalidCursorError`).
The MAC key is fixed in the library; a cursor only says *where* to resume a query the actor
may run anyway, so forging one reveals nothing the actor could not list.

Stores keep these facts where a query can use them (SQLite: columns of the order row, set
in the same statement as every save, with indexes; memory: per-vendor, per-buyer and
per-checkout indexes); :func:`matches` is the reference filter both agree with (R33).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import json

import attrs

from asolora_core._values import value_eq, value_hash, value_repr
from asolora_core.clock import utc
from asolora_core.errors import InvalidCursorError, InvalidInputError
from asolora_core.orders.model import IssueStatus, Order, OrderStatus, ShipmentStatus

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "OrderFacts",
    "OrderKey",
    "OrderPage",
    "OrderQuery",
    "checked_query",
    "customer_key",
    "decode_cursor",
    "encode_cursor",
    "matches",
    "order_facts",
    "order_key",
]

#: Orders per page when the caller does not say.
DEFAULT_PAGE_SIZE = 50
#: The largest page a caller may ask for.
MAX_PAGE_SIZE = 200

#: A position in a list: ``(placed_at, order_id)``; lists run from the largest key down.
OrderKey = tuple[_dt.datetime, str]

_MAC_KEY = b"asolora_core/order-list-cursor/v1"
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def customer_key(name: str) -> str:
    """How a customer name is compared: stripped and case-folded."""
    return name.strip().casefold()


def order_key(order: Order) -> OrderKey:
    return (order.placed_at, order.order_id)


@attrs.frozen(kw_only=True)
class OrderFacts:
    """What lists filter on and reports fold over, derived from one order version.

    * ``needs_shipping``: the order is processing and has units to ship: units of its lines
      not cancelled and not yet in a shipment, or a replacement an issue decided and not yet
      shipped (R5, R9, R13).
    * ``awaiting_confirmation``: a shipment is delivered and its receipt not confirmed (R7).
    * ``open_issue``: an issue is open (R12, R13); ``issues``: issues ever reported.
    * ``refunded_minor``: everything refunded so far, in the order currency (R20).
    * ``first_shipped_at``: the first regular shipment's instant (``None``: none yet).
    * ``delivered_at``: when the last unit arrived: every unit to ship shipped and every
      regular shipment delivered, at the latest delivery (``None``: not yet).
    """

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    needs_shipping: bool
    awaiting_confirmation: bool
    open_issue: bool
    issues: int
    refunded_minor: int
    first_shipped_at: _dt.datetime | None
    delivered_at: _dt.datetime | None


def order_facts(order: Order) -> OrderFacts:
    """The :class:`OrderFacts` of ``order`` (pure)."""
    regular = [s for s in order.shipments if s.replacement_for is None]
    to_ship = sum(line.to_ship for line in order.lines)
    shipped = sum(qty for s in regular for _, qty in s.items)
    processing = order.status is OrderStatus.PROCESSING
    awaits_replacement = any(i.awaits_replacement for i in order.issues)
    delivered_at = None
    if (
        regular
        and shipped >= to_ship
        and all(s.delivered_at is not None for s in regular)
        and order.status is not OrderStatus.CANCELLED
    ):
        delivered_at = max(s.delivered_at for s in regular if s.delivered_at is not None)
    return OrderFacts(
        needs_shipping=processing and (shipped < to_ship or awaits_replacement),
        awaiting_confirmation=any(s.status is ShipmentStatus.DELIVERED for s in order.shipments),
        open_issue=any(i.status is IssueStatus.OPEN for i in order.issues),
        issues=len(order.issues),
        refunded_minor=sum(r.amount_minor for r in order.refunds),
        first_shipped_at=min((s.shipped_at for s in regular), default=None),
        delivered_at=delivered_at,
    )


@attrs.frozen(kw_only=True)
class OrderQuery:
    """Which orders a list shows. Exactly one of ``vendor_id`` and ``buyer_id`` is set.

    Each flag filter is ``None`` (either way), ``True`` (only orders with it) or ``False``
    (only orders without it). ``placed_from`` is inclusive, ``placed_until`` exclusive; both
    are aware UTC instants. ``customer`` is a :func:`customer_key`.
    """

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str | None = None
    buyer_id: str | None = None
    status: OrderStatus | None = None
    needs_shipping: bool | None = None
    awaiting_confirmation: bool | None = None
    open_issue: bool | None = None
    placed_from: _dt.datetime | None = None
    placed_until: _dt.datetime | None = None
    customer: str | None = None

    def digest(self) -> str:
        """A stable digest of the query, bound into its cursors."""
        fields = attrs.asdict(self, recurse=False)
        canon = {
            k: (
                v.value
                if isinstance(v, OrderStatus)
                else v.isoformat()
                if isinstance(v, _dt.datetime)
                else v
            )
            for k, v in fields.items()
        }
        text = json.dumps(canon, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def matches(query: OrderQuery, order: Order, facts: OrderFacts) -> bool:
    """Whether ``order`` (with its ``facts``) belongs in ``query``'s list: the reference
    every store's list agrees with (R33)."""
    q = query
    if q.vendor_id is not None and order.vendor_id != q.vendor_id:
        return False
    if q.buyer_id is not None and order.buyer_id != q.buyer_id:
        return False
    if q.status is not None and order.status is not q.status:
        return False
    if q.needs_shipping is not None and facts.needs_shipping is not q.needs_shipping:
        return False
    if (
        q.awaiting_confirmation is not None
        and facts.awaiting_confirmation is not q.awaiting_confirmation
    ):
        return False
    if q.open_issue is not None and facts.open_issue is not q.open_issue:
        return False
    if q.placed_from is not None and order.placed_at < q.placed_from:
        return False
    if q.placed_until is not None and order.placed_at >= q.placed_until:
        return False
    return q.customer is None or customer_key(order.customer_name) == q.customer


@attrs.frozen(kw_only=True)
class OrderPage:
    """One page of an order list, newest first. Pass ``next_cursor`` back as ``cursor`` (with
    the same filters, as the same actor) for the next page; ``None``: this was the last."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    items: tuple[Order, ...]
    next_cursor: str | None


# --- the cursor ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(actor_key: str, query: OrderQuery, payload: bytes) -> bytes:
    message = b"\x00".join((actor_key.encode(), query.digest().encode(), payload))
    return hmac.new(_MAC_KEY, message, hashlib.sha256).digest()[:16]


def encode_cursor(key: OrderKey, *, query: OrderQuery, actor_key: str) -> str:
    """The opaque cursor that resumes ``query`` for ``actor_key`` after ``key``."""
    at, order_id = key
    delta = at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    payload = json.dumps([1, micros, order_id], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(actor_key, query, payload))}"


def decode_cursor(cursor: object, *, query: OrderQuery, actor_key: str) -> OrderKey:
    """The key ``cursor`` resumes after; :class:`~asolora_core.errors.InvalidCursorError` for
    anything :func:`encode_cursor` did not make for this very query and actor."""
    refusal = InvalidCursorError(
        "cursor is not one this list returned for these filters and this actor; pass a "
        "page's next_cursor unchanged with the same filters, or start again without a cursor",
        field="cursor",
    )
    if not isinstance(cursor, str) or cursor.count(".") != 1:
        raise refusal
    body, mac = cursor.split(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError) as exc:
        raise refusal from exc
    if not hmac.compare_digest(given, _mac(actor_key, query, payload)):
        raise refusal
    try:
        version, micros, order_id = json.loads(payload)
        if version != 1 or not isinstance(micros, int) or not isinstance(order_id, str):
            raise ValueError("unexpected cursor content")
        at = _EPOCH + _dt.timedelta(microseconds=micros)
    except (ValueError, TypeError, OverflowError) as exc:  # pragma: no cover - MAC checked
        raise refusal from exc
    return at, order_id


def _flag(value: object, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInputError(f"{name} must be True, False or None", field=name)


def checked_query(
    *,
    vendor_id: str | None = None,
    buyer_id: str | None = None,
    status: object,
    needs_shipping: object,
    awaiting_confirmation: object,
    open_issue: object,
    placed_from: object,
    placed_until: object,
    customer: str | None = None,
) -> OrderQuery:
    """The :class:`OrderQuery` of a list's arguments, checked: an unknown status, a flag that
    is not a bool, a naive or non-datetime instant (R34), or a range ending before it starts
    is refused with a clear error."""
    if status is not None and not isinstance(status, OrderStatus):
        try:
            status = OrderStatus(status)
        except ValueError:
            raise InvalidInputError(
                f"status must be an OrderStatus or one of "
                f"{', '.join(s.value for s in OrderStatus)}, not {status!r}",
                field="status",
            ) from None
    start = None if placed_from is None else utc(placed_from, field="placed_from")
    end = None if placed_until is None else utc(placed_until, field="placed_until")
    if start is not None and end is not None and end < start:
        raise InvalidInputError(
            f"placed_until ({end.isoformat()}) is before placed_from ({start.isoformat()}); "
            "swap them or widen the range",
            field="placed_until",
        )
    return OrderQuery(
        vendor_id=vendor_id,
        buyer_id=buyer_id,
        status=status,
        needs_shipping=_flag(needs_shipping, "needs_shipping"),
        awaiting_confirmation=_flag(awaiting_confirmation, "awaiting_confirmation"),
        open_issue=_flag(open_issue, "open_issue"),
        placed_from=start,
        placed_until=end,
        customer=customer,
    )
