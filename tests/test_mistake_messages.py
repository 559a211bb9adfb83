"""The mistakes a new integration makes first, and what the refusal tells it to do (R1-R3,
R5, R7, R8, R20): each is the documented error with its stable code, its message names the way
out, and nothing changes (order, history, outbox), on every store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    CompletionIsAutomaticError,
    CurrencyMismatchError,
    InvalidInputError,
    InvalidTransitionError,
    Item,
    Marketplace,
    NotFoundError,
    NotPermittedError,
    Order,
    RefundExceedsPaidError,
)
from conftest import Snapshot

VENDOR, OTHER, BUYER = Actor.vendor("v-1"), Actor.vendor("v-2"), Actor.buyer("b-1")
STAFF = Actor.staff("s-1")
Mistake = Callable[[Marketplace, Order], object]


def _ship_all(market: Marketplace, order: Order) -> Order:
    return market.ship(
        order.order_id,
        by=VENDOR,
        items={line.line_id: line.quantity for line in order.lines},
        carrier="DHL",
        tracking_number="T-1",
    )


def _ship(qty: int) -> Mistake:
    return lambda m, o: m.ship(
        o.order_id, by=VENDOR, items={o.lines[0].line_id: qty}, carrier="DHL", tracking_number="T"
    )


MISTAKES: dict[str, tuple[Mistake, type[AsoloraError], str, tuple[str, ...]]] = {
    # name: (the call, the error, its code, what the message must say)
    "another vendor ships": (
        lambda m, o: m.ship(
            o.order_id, by=OTHER, items={o.lines[0].line_id: 1}, carrier="D", tracking_number="T"
        ),
        NotPermittedError,
        "not_permitted",
        ("belongs to another vendor",),
    ),
    "the buyer ships": (
        lambda m, o: m.ship(
            o.order_id, by=BUYER, items={o.lines[0].line_id: 1}, carrier="D", tracking_number="T"
        ),
        NotPermittedError,
        "not_permitted",
        ("a buyer cannot ship", "only the vendor"),
    ),
    "shipping more than ordered": (
        _ship(3),
        InvalidInputError,
        "invalid_input",
        ("only 2 left to ship", "ship at most 2"),
    ),
    "an unknown order id": (
        lambda m, o: m.ship("o-404", by=VENDOR, items={}, carrier="D", tracking_number="T"),
        NotFoundError,
        "not_found",
        ("no order 'o-404'", "list_orders"),
    ),
    "an unknown shipment id": (
        lambda m, o: m.confirm_receipt(o.order_id, "s-404", by=BUYER),
        NotFoundError,
        "not_found",
        ("no shipment 's-404'", "not shipped yet"),
    ),
    "paying in another currency than the prices": (
        lambda m, o: m.place_checkout(
            buyer=BUYER,
            customer_name="Ada Buyer",
            items=[Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=Money("5", "EUR"))],
            paid=Money("5.00", "USD"),
        ),
        CurrencyMismatchError,
        "currency_mismatch",
        ("unit_price is in EUR but paid is in USD", "one currency"),
    ),
    "a refund in another currency": (
        lambda m, o: m.refund(o.order_id, by=VENDOR, amount=Money("1.00", "USD"), reason="r"),
        CurrencyMismatchError,
        "currency_mismatch",
        ("must be in EUR",),
    ),
    "a refund above what was paid": (
        lambda m, o: m.refund(o.order_id, by=VENDOR, amount=Money("30.00", "EUR"), reason="r"),
        RefundExceedsPaidError,
        "refund_exceeds_paid",
        ("at most 28.00 EUR", "refund that much or less"),
    ),
    "completing by hand": (
        lambda m, o: m.complete_order(o.order_id, by=VENDOR),
        CompletionIsAutomaticError,
        "completion_is_automatic",
        ("completes by itself",),
    ),
    "the vendor confirms receipt": (
        lambda m, o: m.confirm_receipt(o.order_id, o.shipments[0].shipment_id, by=VENDOR),
        NotPermittedError,
        "not_permitted",
        ("only the buyer",),
    ),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_common_mistake_says_what_to_do(
    name: str, market: Marketplace, order: Order, snapshot: Callable[[str], Snapshot]
) -> None:
    call, error, code, says = MISTAKES[name]
    if name == "the vendor confirms receipt":
        order = _ship_all(market, order)
    before = snapshot(order.order_id)
    with pytest.raises(error) as refused:
        call(market, order)
    assert refused.value.code == code
    for words in says:
        assert words in str(refused.value), str(refused.value)
    assert snapshot(order.order_id) == before


def test_confirming_before_delivery_says_when_it_can(market: Marketplace, order: Order) -> None:
    """R7: a shipment is confirmed once delivered; the refusal names that state."""
    shipped = _ship_all(market, order)
    with pytest.raises(InvalidTransitionError, match="only while it is delivered"):
        market.confirm_receipt(order.order_id, shipped.shipments[0].shipment_id, by=BUYER)


def test_shipping_a_line_again_says_it_has_shipped(market: Marketplace, order: Order) -> None:
    _ship_all(market, order)
    with pytest.raises(InvalidInputError, match="every unit of it has shipped already"):
        _ship(1)(market, order)
