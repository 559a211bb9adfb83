"""Samples of every value the public API returns, collected from one scenario that walks the
whole guide (used by the JSON round-trip and the public-API tests).

:func:`collect` runs the scenario through a recording wrapper around ``Marketplace`` and
walks every returned value (tuples, mappings, attrs fields) down to its leaves, so a new
returned type shows up here with no change to this file once a public method returns it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

import attrs
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    FeeSchedule,
    FixedRateProvider,
    InMemoryStore,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    RecordingNotifier,
    Resolution,
    ReturnPolicy,
    SequentialIds,
)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
VENDOR, OTHER_VENDOR = Actor.vendor("v-1"), Actor.vendor("v-2")
BUYER, STAFF = Actor.buyer("b-1"), Actor.staff("s-1")


def _walk(value: Any, out: dict[type[Any], list[Any]]) -> None:
    if isinstance(value, tuple | list | frozenset | set):
        for v in value:
            _walk(v, out)
        return
    if isinstance(value, dict):
        for v in value.values():
            _walk(v, out)
        return
    cls = type(value)
    if attrs.has(cls) or isinstance(value, enum.Enum | Money):
        bucket = out.setdefault(cls, [])
        if len(bucket) < 8 and value not in bucket:
            bucket.append(value)
    if attrs.has(cls):
        for field in attrs.fields(cls):
            _walk(getattr(value, field.name), out)


class _Recorder:
    def __init__(self, market: Marketplace, out: dict[type[Any], list[Any]]) -> None:
        self._market = market
        self._out = out

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._market, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            _walk(result, self._out)
            return result

        return call


def build_market(clock: FakeClock) -> Marketplace:
    return Marketplace(
        InMemoryStore(),
        clock=clock,
        notifier=RecordingNotifier(),
        ids=SequentialIds(),
        config=MarketplaceConfig(
            auto_confirm_after=dt.timedelta(days=14),
            money=MoneyConfig(
                fees=FeeSchedule(commission_bp=1000, processing_bp=290, conversion_bp=150),
                rates=FixedRateProvider({("EUR", "GBP"): "0.8675"}, as_of=START),
            ),
        ),
    )


def scenario(market: Any, clock: FakeClock) -> None:
    """The guide end to end: checkout, shipping, an issue settled, a cancellation, a release,
    a refund after it, a chargeback, a payout, chat, the journal, the order list and the
    reports."""
    market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    market.register_vendor("v-2", payout_currency="EUR", by=STAFF)
    policy = ReturnPolicy(returns_accepted=True, window_days=30, text="30 days")
    order, other = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada Buyer",
        items=[
            Item(
                vendor_id="v-1",
                product_id="mug",
                quantity=2,
                unit_price=Money("10.00", "EUR"),
                policy=policy,
            ),
            Item(vendor_id="v-2", product_id="tea", quantity=1, unit_price=Money("5.00", "EUR")),
        ],
        paid=Money("18.00", "EUR"),
        shipping={"v-1": Money("3.00", "EUR")},
    )
    line = order.lines[0].line_id
    order = market.ship(
        order.order_id, by=VENDOR, items={line: 2}, carrier="DHL", tracking_number="T1"
    )
    shipment = order.shipments[0].shipment_id
    market.update_tracking(order.order_id, shipment, by=VENDOR, note="in transit")
    market.mark_delivered(order.order_id, shipment, by=VENDOR)
    order = market.report_issue(
        order.order_id, by=BUYER, kind=IssueKind.DAMAGED, description="chipped", line_ids=[line]
    )
    issue = order.issues[0].issue_id
    market.respond_to_issue(order.order_id, issue, by=VENDOR, message="sorry")
    market.offer_settlement(
        order.order_id, issue, by=VENDOR, resolution=Resolution.REFUND, amount=Money("2.00", "EUR")
    )
    market.answer_settlement(order.order_id, issue, by=BUYER, accept=True)
    market.confirm_receipt(order.order_id, shipment, by=BUYER)
    market.cancel_order(other.order_id, by=BUYER, reason="changed my mind")
    (third,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada Buyer",
        items=[
            Item(vendor_id="v-1", product_id="bowl", quantity=1, unit_price=Money("8.00", "EUR"))
        ],
        paid=Money("8.00", "EUR"),
    )
    third = market.report_issue(
        third.order_id, by=BUYER, kind=IssueKind.NOT_RECEIVED, description="where is it?"
    )
    market.mediate_issue(
        third.order_id,
        third.issues[0].issue_id,
        by=STAFF,
        outcome=IssueOutcome.REJECTED,
        reason="tracking shows delivery",
    )
    market.freeze_release(order.order_id, by=STAFF, reason="check")
    market.lift_freeze(order.order_id, by=STAFF, reason="ok")
    clock.advance(days=8)
    market.run_due()
    market.refund(order.order_id, by=VENDOR, amount=Money("1.50", "EUR"), reason="goodwill")
    market.report_chargeback(order.order_id, amount=Money("1.00", "EUR"), by=STAFF)
    market.get_hold(order.order_id, by=STAFF)
    market.holds("v-1", by=STAFF)
    market.balance("v-1", by=VENDOR)
    market.get_vendor("v-1", by=VENDOR)
    market.statement("v-1", by=VENDOR)
    market.run_payouts()
    market.payouts("v-1", by=VENDOR)
    started = market.start_conversation(by=VENDOR, customer_name="Ada Buyer", text="Hello!")
    conversation = started.conversation.conversation_id
    clock.advance(minutes=5)
    market.post_message(conversation, by=BUYER, text="Mail me at ada@example.com")
    market.messages(conversation, by=VENDOR)
    market.mark_read(conversation, by=VENDOR)
    market.get_conversation(conversation, by=STAFF)
    market.conversation_history(conversation, by=STAFF)
    market.conversations_for_vendor("v-1", by=VENDOR)
    market.conversations_for_buyer("b-1", by=BUYER)
    asked = market.start_conversation(by=BUYER, vendor_id="v-2", text="Is the tea fresh?")
    clock.advance(minutes=30)
    market.post_message(asked.conversation.conversation_id, by=OTHER_VENDOR, text="Yes!")
    market.response_times("v-2", by=STAFF, since=START, until=clock.now())
    market.order_history(order.order_id, by=STAFF)
    market.order_history(other.order_id, by=STAFF)
    market.orders_of_checkout(order.checkout_id, by=STAFF)
    market.get_order(order.order_id, by=STAFF)
    market.journal(by=STAFF)
    market.verify_journal(by=STAFF)
    # the vendor's dashboard list and reports (R30-R32)
    market.list_orders(by=VENDOR, vendor_id="v-1", page_size=1)
    market.store_performance("v-1", by=VENDOR, since=START, until=clock.now())
    days = {"start": START.date(), "end": clock.now().date()}
    market.sales_report("v-1", by=VENDOR, **days)
    market.earnings_report("v-1", by=VENDOR, **days)
    market.bestsellers("v-1", by=VENDOR, **days)
    market.deliver_notifications()
    market.outbox(by=STAFF)


def collect() -> dict[type[Any], list[Any]]:
    """Every type the scenario's public calls returned, with up to eight samples each."""
    out: dict[type[Any], list[Any]] = {}
    clock = FakeClock(START)
    scenario(_Recorder(build_market(clock), out), clock)
    return out


Sampler = Callable[[], dict[type[Any], list[Any]]]
