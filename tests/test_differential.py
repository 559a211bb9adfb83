"""Differential test (R33): one hypothesis-generated command sequence replayed on the in-memory
store, SQLite and PostgreSQL gives the same orders, journal, balances and notifications.

The PostgreSQL leg runs when ``ASOLORA_TEST_POSTGRES_DSN`` is set (memory and SQLite are
compared either way).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    FixedRateProvider,
    InMemoryStore,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    SequentialIds,
    SqliteStore,
)
from asolora_core.ledger.model import FeeSchedule
from asolora_core.money import from_minor
from asolora_core.ports import Store
from pg_support import DSN, make_store

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
VENDORS = ("v-1", "v-2", "v-3")
STAFF = Actor.staff("s-1")
BUYER = Actor.buyer("b-1")
FEES = FeeSchedule(commission_bp=1000, processing_bp=290, conversion_bp=200)

Command = tuple[Any, ...]
_place = st.tuples(st.just("place"), st.sampled_from(VENDORS), st.integers(100, 20_000))
_complete = st.tuples(st.just("complete"), st.integers(0, 20))
commands = st.lists(
    st.one_of(
        _place,
        _complete,
        _place,
        _complete,
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 5_000)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.sampled_from([1, 24, 170])),
        st.tuples(st.just("sweep")),
        st.tuples(st.just("week_later")),
        st.tuples(st.just("payouts")),
    ),
    min_size=10,
    max_size=40,
)


def _replay(store: Store, script: list[Command]) -> dict[str, Any]:
    clock = FakeClock(START)
    rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START)
    market = Marketplace(
        store,
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates)),
    )
    market.register_vendor("v-2", payout_currency="GBP", by=STAFF)
    orders: list[str] = []
    outcomes: list[Any] = []
    for command in script:
        try:
            outcomes.append(_step(market, clock, orders, command))
        except AsoloraError as refusal:
            outcomes.append(refusal.code)
    return {
        "outcomes": outcomes,
        "orders": [market.get_order(o, by=STAFF) for o in orders],
        "journal": [(t.seq, t.key, t.entries, t.memo, t.hash) for t in market.journal(by=STAFF)],
        "balances": [
            market.balance(v, by=STAFF, currency=c) for v in VENDORS for c in ("EUR", "GBP")
        ],
        "notifications": [m.notification for m in market.outbox(by=STAFF)],
        "verified": market.verify_journal(by=STAFF).ok,
        **_views(market, clock, {market.get_order(o, by=STAFF).vendor_id for o in orders}),
    }


def _views(market: Marketplace, clock: FakeClock, sellers: set[str]) -> dict[str, Any]:
    """What the dashboard and the reports read (order facts columns, rollups, statements),
    for each vendor that has orders or is registered."""
    since, until = START - dt.timedelta(days=1), clock.now() + dt.timedelta(days=1)
    first, last = since.date(), until.date()
    views: dict[str, Any] = {}
    for v in sorted(sellers | {"v-2"}):
        lists = {}
        for name, flags in (
            ("all", {}),
            ("to_ship", {"needs_shipping": True}),
            ("shipped", {"needs_shipping": False}),
            ("to_confirm", {"awaiting_confirmation": True}),
            ("completed", {"status": "completed"}),
        ):
            page = market.list_orders(by=STAFF, vendor_id=v, page_size=5, **flags)
            ids = [o.order_id for o in page.items]
            while page.next_cursor is not None:  # walk the cursor to the end
                page = market.list_orders(
                    by=STAFF, vendor_id=v, page_size=5, cursor=page.next_cursor, **flags
                )
                ids += [o.order_id for o in page.items]
            lists[name] = ids
        views[f"lists {v}"] = lists
        if lists["all"]:
            views[f"performance {v}"] = market.store_performance(
                v, by=STAFF, since=since, until=until
            )
            views[f"sales {v}"] = market.sales_report(v, start=first, end=last, by=STAFF)
            views[f"earnings {v}"] = market.earnings_report(v, start=first, end=last, by=STAFF)
            views[f"bestsellers {v}"] = market.bestsellers(v, start=first, end=last, by=STAFF)
            views[f"statement {v}"] = market.statement(v, by=STAFF, currency="EUR")
    return views


def _step(market: Marketplace, clock: FakeClock, orders: list[str], command: Command) -> Any:
    name = command[0]
    if name == "place":
        (order,) = market.place_checkout(
            buyer=BUYER,
            customer_name="Ada",
            items=[
                Item(
                    vendor_id=command[1],
                    product_id="p-1",
                    quantity=1,
                    unit_price=from_minor(command[2], "EUR"),
                )
            ],
            paid=from_minor(command[2], "EUR"),
        )
        orders.append(order.order_id)
        return order.order_id
    if name in ("advance", "sweep", "week_later", "payouts"):
        if name == "advance":
            clock.advance(hours=command[1])
            return None
        if name == "week_later":  # past the hold: the release sweep (R15-R17)
            clock.advance(hours=170)
            return dict(market.run_due().timers)
        if name == "sweep":
            return dict(market.run_due().timers)
        return [(p.vendor_id, p.currency, p.amount_minor) for p in market.run_payouts()]
    if not orders:
        return None
    order_id = orders[command[1] % len(orders)]
    order = market.get_order(order_id, by=STAFF)
    vendor = Actor.vendor(order.vendor_id)
    if name == "complete":
        order = market.ship(
            order_id,
            by=vendor,
            items={line.line_id: line.to_ship for line in order.lines},
            carrier="DHL",
            tracking_number="T",
        )
        shipment = order.shipments[-1].shipment_id
        market.mark_delivered(order_id, shipment, by=vendor)
        return market.confirm_receipt(order_id, shipment, by=BUYER).status.value
    if name == "refund":
        return market.refund(order_id, by=vendor, amount=from_minor(command[2], "EUR")).version
    return market.cancel_order(order_id, by=BUYER).status.value


@settings(
    max_examples=12 if DSN else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(script=commands)
def test_one_command_sequence_gives_the_same_results_on_every_store(
    script: list[Command], tmp_path_factory: Any
) -> None:
    """R30-R33: memory, SQLite and (with a DSN) PostgreSQL agree on every outcome, order,
    journal transaction (hashes included), balance and notification, and on what the
    dashboard and reports read: every order list (walked page by page), store performance,
    sales, earnings, bestsellers and the next statement."""
    results = []
    stores: list[Store] = [InMemoryStore(), SqliteStore(":memory:")]
    if DSN is not None:
        stores.append(make_store())
    for store in stores:
        try:
            results.append(_replay(store, script))
        finally:
            store.close()
    reference = results[0]
    assert reference["verified"]
    for other in results[1:]:
        for key in reference:
            assert other[key] == reference[key], key
