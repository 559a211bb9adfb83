"""The sweep worker: releases due proceeds, auto-confirms, relays notifications (R15-R17,
R29, R40), on a schedule, next to the web processes.

    python examples/sweep_worker.py --db shop.db --every 60

Run one such process per database (several are safe: each due timer is claimed by one sweep
in its own transaction, so an order is released once however many workers sweep, R17).
Without ``--db`` it runs a self-check: one order through a simulated week, in memory.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from moneyed import Money
from web_common import START, build_market, sweep_forever

from asolora_core import Actor, FakeClock, Item, LoggingNotifier, SqliteStore


def _self_check() -> None:
    clock = FakeClock(START)
    market = build_market(clock=clock)
    anna, ada = Actor.vendor("anna"), Actor.buyer("ada")
    (order,) = market.place_checkout(
        buyer=ada,
        customer_name="Ada",
        items=[Item(vendor_id="anna", product_id="mug", quantity=1, unit_price=Money("20", "EUR"))],
        paid=Money("20.00", "EUR"),
    )
    order = market.ship(
        order.order_id,
        by=anna,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="T1",
    )
    shipment = order.shipments[0].shipment_id
    market.mark_delivered(order.order_id, shipment, by=anna)
    market.confirm_receipt(order.order_id, shipment, by=ada)
    clock.advance(days=7, seconds=1)  # past the 168-hour hold (R15)
    report = market.run_due()
    assert report.timers.get("release") == 1, report
    balance = market.balance("anna", by=anna).balance
    print(f"released {report.timers['release']} order; balance {balance}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="the SQLite file the web processes use")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between sweeps")
    args = parser.parse_args(argv)
    if args.db is None:
        _self_check()
        return 0
    logging.basicConfig(level=logging.INFO)
    market = build_market(SqliteStore(args.db), notifier=LoggingNotifier())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sweeps = sweep_forever(market, every=args.every, stop=stop)
    logging.info("stopped after %d sweeps", sweeps)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
