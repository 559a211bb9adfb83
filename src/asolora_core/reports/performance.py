"""Store performance for the vendor dashboard (R12, R20, R28, R33): the pure fold and its
result types.

For a vendor and a range ``[since, until)`` of placement instants, over the orders placed in
it that were not cancelled (cancelled orders are counted apart; a cancellation is not a
refund of a sale):

* **average order value**: the amount paid (lines and shipping, before refunds) summed and
  divided by the number of orders, per currency, rounded half-even to the minor unit once;
* **refund rate**: orders with any refund / orders; **issue rate**: orders on which the buyer
  reported an issue / orders (exact fractions);
* **median time to ship**: placement to the first regular shipment, over the orders shipped;
* **median time to delivery**: placement to the moment the last unit was delivered, over the
  orders fully delivered;
* **median first response in chat** (R28): the vendor's first answer in each conversation
  whose buyer's first awaiting message falls in the range.

A median of an even count is the mean of the middle two, rounded down to the microsecond
(the rule :class:`~asolora_core.messaging.service.ResponseTimes` uses).

:func:`fold_performance` over :class:`PerformanceRow` values is the reference; a store may
compute the same :class:`PerformanceTotals` its own way (SQLite does it in SQL), and the
contract suite checks they agree.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import NamedTuple

import attrs
from moneyed import Money

from asolora_core._values import value_eq, value_hash, value_repr
from asolora_core.money import divide, money_of
from asolora_core.orders.listing import OrderFacts, order_facts
from asolora_core.orders.model import Order, OrderStatus

__all__ = [
    "PerformanceRow",
    "PerformanceTotals",
    "StorePerformance",
    "fold_performance",
    "median_micros",
    "performance_row",
    "store_performance",
]


class PerformanceRow(NamedTuple):
    """One order's part in the fold: integers only (microseconds for durations)."""

    cancelled: bool
    currency: str
    paid_minor: int
    refunded_minor: int
    issues: int
    ship_micros: int | None  #: placement to first regular shipment
    delivery_micros: int | None  #: placement to the last unit's delivery


def _micros(delta: _dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def performance_row(order: Order, facts: OrderFacts | None = None) -> PerformanceRow:
    """The :class:`PerformanceRow` of ``order`` (with its ``facts``, when already known)."""
    f = order_facts(order) if facts is None else facts
    shipped, delivered = f.first_shipped_at, f.delivered_at
    return PerformanceRow(
        cancelled=order.status is OrderStatus.CANCELLED,
        currency=order.currency,
        paid_minor=order.paid_minor,
        refunded_minor=f.refunded_minor,
        issues=f.issues,
        ship_micros=None if shipped is None else _micros(shipped - order.placed_at),
        delivery_micros=None if delivered is None else _micros(delivered - order.placed_at),
    )


@attrs.frozen(kw_only=True)
class PerformanceTotals:
    """What a store computes for a vendor and range: counts, sums and medians, as integers.

    ``value`` is ``(currency, orders, paid_minor)`` for each currency, sorted by currency.
    """

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    orders: int
    cancelled: int
    value: tuple[tuple[str, int, int], ...]
    refunded_orders: int
    orders_with_issues: int
    shipped_orders: int
    median_ship_micros: int | None
    delivered_orders: int
    median_delivery_micros: int | None


def median_micros(values: Sequence[int]) -> int | None:
    """The median of ``values``: the middle one, or the floor of the mean of the middle two;
    ``None`` for none."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) // 2


def fold_performance(rows: Iterable[PerformanceRow]) -> PerformanceTotals:
    """The reference fold: :class:`PerformanceTotals` of ``rows`` (the orders of one vendor
    placed in the range)."""
    orders = cancelled = refunded = with_issues = 0
    value: dict[str, list[int]] = {}
    ship: list[int] = []
    delivery: list[int] = []
    for row in rows:
        if row.cancelled:
            cancelled += 1
            continue
        orders += 1
        per = value.setdefault(row.currency, [0, 0])
        per[0] += 1
        per[1] += row.paid_minor
        refunded += row.refunded_minor > 0
        with_issues += row.issues > 0
        if row.ship_micros is not None:
            ship.append(row.ship_micros)
        if row.delivery_micros is not None:
            delivery.append(row.delivery_micros)
    return PerformanceTotals(
        orders=orders,
        cancelled=cancelled,
        value=tuple((c, n, total) for c, (n, total) in sorted(value.items())),
        refunded_orders=refunded,
        orders_with_issues=with_issues,
        shipped_orders=len(ship),
        median_ship_micros=median_micros(ship),
        delivered_orders=len(delivery),
        median_delivery_micros=median_micros(delivery),
    )


@attrs.frozen(kw_only=True)
class StorePerformance:
    """A vendor's store performance over ``[since, until)`` (see the module docstring).

    Rates and medians are ``None`` when there is nothing to measure (no orders, nothing
    shipped, no conversation answered). Rates are exact fractions: format them with
    ``f"{float(rate):.1%}"``.
    """

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str
    since: _dt.datetime
    until: _dt.datetime
    orders: int  #: placed in the range and not cancelled
    cancelled_orders: int
    average_order_value: tuple[Money, ...]  #: one per currency, sorted by currency code
    refunded_orders: int
    orders_with_issues: int
    shipped_orders: int
    median_time_to_ship: _dt.timedelta | None
    delivered_orders: int
    median_time_to_delivery: _dt.timedelta | None
    conversations: int  #: conversations awaiting the vendor's first answer in the range
    answered_conversations: int
    median_first_response: _dt.timedelta | None

    @property
    def refund_rate(self) -> Fraction | None:
        return Fraction(self.refunded_orders, self.orders) if self.orders else None

    @property
    def issue_rate(self) -> Fraction | None:
        return Fraction(self.orders_with_issues, self.orders) if self.orders else None


def _delta(micros: int | None) -> _dt.timedelta | None:
    return None if micros is None else _dt.timedelta(microseconds=micros)


def store_performance(
    totals: PerformanceTotals,
    *,
    vendor_id: str,
    since: _dt.datetime,
    until: _dt.datetime,
    response_micros: Sequence[int | None],
) -> StorePerformance:
    """The :class:`StorePerformance` of ``totals`` and the first-response times of the
    conversations in the range (``None``: not answered yet) (pure)."""
    answered = [m for m in response_micros if m is not None]
    return StorePerformance(
        vendor_id=vendor_id,
        since=since,
        until=until,
        orders=totals.orders,
        cancelled_orders=totals.cancelled,
        average_order_value=tuple(
            money_of(divide(total, n), currency) for currency, n, total in totals.value
        ),
        refunded_orders=totals.refunded_orders,
        orders_with_issues=totals.orders_with_issues,
        shipped_orders=totals.shipped_orders,
        median_time_to_ship=_delta(totals.median_ship_micros),
        delivered_orders=totals.delivered_orders,
        median_time_to_delivery=_delta(totals.median_delivery_micros),
        conversations=len(response_micros),
        answered_conversations=len(answered),
        median_first_response=_delta(median_micros(answered)),
    )
