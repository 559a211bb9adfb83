"""A vendor's dashboard on the embedded SQLite store, as a plain script.

Run: ``python examples/vendor_dashboard.py``. It fills a shop with a few days of orders in a
temporary folder, then prints what the vendor's dashboard shows: the orders to ship, those
waiting for the buyer's "Order Received", the whole list a page at a time, and the week's
store performance.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from moneyed import Money

from asolora_core import Actor, FakeClock, Item, Marketplace, Order, SequentialIds, SqliteStore

MONDAY = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)


def fill(market: Marketplace, clock: FakeClock) -> None:
    vendor = Actor.vendor("anna")
    customers = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra"]
    placed: list[Order] = []
    for n in range(10):
        name = customers[n % len(customers)]
        (order,) = market.place_checkout(
            buyer=Actor.buyer(name.split()[0].lower()),
            customer_name=name,
            items=[
                Item(
                    vendor_id="anna",
                    product_id="mug",
                    quantity=1 + n % 3,
                    unit_price=Money("12.50", "EUR"),
                )
            ],
            paid=Money("12.50", "EUR") * (1 + n % 3),
        )
        placed.append(order)
        clock.advance(hours=5)
    for order in placed[:6]:  # the six oldest ship; four of them arrive
        clock.advance(hours=3)
        shipped = market.ship(
            order.order_id,
            by=vendor,
            items={line.line_id: line.quantity for line in order.lines},
            carrier="DHL",
            tracking_number=f"JD-{order.order_id}",
        )
        if order in placed[:4]:
            clock.advance(days=1)
            market.mark_delivered(order.order_id, shipped.shipments[0].shipment_id, by=vendor)


def show(title: str, orders: tuple[Order, ...]) -> None:
    print(f"{title} ({len(orders)})")
    for o in orders:
        print(f"  {o.placed_at:%a %H:%M}  {o.order_id}  {o.customer_name:<16} {o.status.value}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "dashboard.db")
        clock = FakeClock(MONDAY)
        market = Marketplace(store, clock=clock, ids=SequentialIds())
        fill(market, clock)
        anna = Actor.vendor("anna")

        to_ship = market.list_orders(by=anna, vendor_id="anna", needs_shipping=True)
        show("To ship", to_ship.items)
        waiting = market.list_orders(by=anna, vendor_id="anna", awaiting_confirmation=True)
        show("Waiting for the buyer's confirmation", waiting.items)

        page = market.list_orders(by=anna, vendor_id="anna", page_size=4)
        number = 1
        while True:
            show(f"All orders, page {number}", page.items)
            if page.next_cursor is None:
                break
            page = market.list_orders(
                by=anna, vendor_id="anna", page_size=4, cursor=page.next_cursor
            )
            number += 1

        week = market.store_performance(
            "anna", by=anna, since=MONDAY, until=MONDAY + dt.timedelta(days=7)
        )
        print("This week")
        print(f"  orders                 {week.orders}")
        print(f"  average order value    {', '.join(str(m) for m in week.average_order_value)}")
        print(f"  median time to ship    {week.median_time_to_ship}")
        print(f"  median time to deliver {week.median_time_to_delivery}")
        print(f"  refund rate            {float(week.refund_rate or 0):.1%}")
        store.close()


if __name__ == "__main__":
    main()
