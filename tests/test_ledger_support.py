"""Helpers shared by the ledger tests (no tests here): a money-configured market on each
store, and an order walked from checkout to completion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    Item,
    Marketplace,
    MarketplaceConfig,
    Order,
    RecordingNotifier,
    SequentialIds,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import FeeSchedule, MoneyConfig
from asolora_core.ports import Store

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STAFF = Actor.staff("s-1")
SYSTEM = Actor.system()
BUYER = Actor.buyer("b-1")

#: The fee schedule of the worked stories: 10 % commission; 2.9 % + a fixed part processing;
#: 2 % conversion fee. Every figure in the stories follows from it.
FEES = FeeSchedule(
    commission_bp=1000,
    processing_bp=290,
    processing_fixed={"EUR": Money("0.30", "EUR"), "JPY": Money("30", "JPY")},
    conversion_bp=200,
)

MoneyMarket = Callable[..., Marketplace]


def money_market(
    store: Store,
    clock: FakeClock,
    rates: FixedRateProvider,
    *,
    fees: FeeSchedule = FEES,
    notifier: RecordingNotifier | None = None,
    ids: SequentialIds | None = None,
    **money: object,
) -> Marketplace:
    config = MarketplaceConfig(
        money=MoneyConfig(fees=fees, rates=rates, **money)  # type: ignore[arg-type]
    )
    return Marketplace(
        store, clock=clock, notifier=notifier, ids=ids or SequentialIds(), config=config
    )


def place(market: Marketplace, vendor_id: str, paid: Money) -> Order:
    """One order of one unit priced ``paid``."""
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ann",
        items=[Item(vendor_id=vendor_id, product_id="p-1", quantity=1, unit_price=paid)],
        paid=paid,
    )
    return order


def complete(market: Marketplace, order: Order) -> Order:
    """Ship everything, deliver, confirm: the order completes at the clock's now (R9)."""
    vendor = Actor.vendor(order.vendor_id)
    order = market.ship(
        order.order_id,
        by=vendor,
        items={line.line_id: line.to_ship for line in order.lines},
        carrier="DHL",
        tracking_number="T-1",
    )
    shipment = order.shipments[-1].shipment_id
    market.mark_delivered(order.order_id, shipment, by=vendor)
    return market.confirm_receipt(order.order_id, shipment, by=BUYER)


def sell(market: Marketplace, vendor_id: str, paid: Money) -> Order:
    return complete(market, place(market, vendor_id, paid))
