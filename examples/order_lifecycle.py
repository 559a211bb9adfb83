"""The vendor guide's order flow on the embedded SQLite store, as a plain script.

Run: ``python examples/order_lifecycle.py``. It writes ``example-shop.db`` in a temporary
folder and prints what happened.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    Item,
    LoggingNotifier,
    Marketplace,
    SqliteStore,
)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "example-shop.db")
        clock = FakeClock(dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC))
        market = Marketplace(store, clock=clock, notifier=LoggingNotifier())
        buyer, vendor = Actor.buyer("ada"), Actor.vendor("anna")

        (order,) = market.place_checkout(
            buyer=buyer,
            customer_name="Ada Lovelace",
            items=[
                Item(vendor_id="anna", product_id="mug", quantity=2, unit_price=Money("18", "EUR")),
                Item(
                    vendor_id="anna", product_id="bowl", quantity=1, unit_price=Money("32.5", "EUR")
                ),
            ],
            paid=Money("68.50", "EUR"),
        )
        print(f"new order {order.order_id}: {order.status.value}")
        mug, bowl = (line.line_id for line in order.lines)
        order = market.ship(
            order.order_id, by=vendor, items={mug: 2}, carrier="DHL", tracking_number="JD01"
        )
        order = market.ship(
            order.order_id, by=vendor, items={bowl: 1}, carrier="DHL", tracking_number="JD02"
        )
        for shipment in order.shipments:
            clock.advance(days=1)
            market.update_tracking(
                order.order_id, shipment.shipment_id, by=vendor, note="out for delivery"
            )
            order = market.mark_delivered(order.order_id, shipment.shipment_id, by=vendor)
        print(f"fulfilment: {order.fulfilment.state}")
        try:
            market.complete_order(order.order_id, by=vendor)
        except AsoloraError as refusal:
            print(f"manual completion refused: {refusal.code}")
        for shipment in order.shipments:
            order = market.confirm_receipt(order.order_id, shipment.shipment_id, by=buyer)
        print(f"order {order.order_id} is {order.status.value} at {order.completed_at}")
        report = market.run_due()
        print(f"notifications delivered: {report.notifications.delivered}")
        for event in market.order_history(order.order_id, by=vendor):
            print(f"  {event.at:%Y-%m-%d %H:%M}  {event.actor}  {event.name}")
        store.close()


if __name__ == "__main__":
    main()
