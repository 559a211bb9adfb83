"""Hostile input at the public API (R2, R25, R33, R35): each case is refused inside the error
family with its stable code, quickly, and leaves every row of the store as it was, on every
store. Input that can be judged without the store is refused before any unit of work opens
(so no parsing or validation runs inside a write transaction, and the stores cannot disagree).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

import pg_support
from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    FixedRateProvider,
    InMemoryStore,
    IssueKind,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    Resolution,
    ReturnKind,
    SequentialIds,
    SqliteStore,
    allocate,
    from_minor,
    parse_money,
    to_minor,
)
from asolora_core.limits import (
    MAX_AMOUNT_MINOR,
    MAX_ID_LENGTH,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    MAX_RESERVE_DAYS,
    MAX_TEXT_LENGTH,
)
from asolora_core.orders.listing import MAX_PAGE_SIZE
from asolora_core.ports import Store
from asolora_core.reports.service import (
    FIRST_REPORT_DAY,
    LAST_REPORT_DAY,
    MAX_BESTSELLERS,
    MAX_REPORT_PERIODS,
)
from conftest import START, open_store
from pg_support import make_store as make_pg_store
from store_digest import CountingStore, digest

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")
BOMB = "1e-100000000"  # a minute of CPU for Fraction/as_integer_ratio before the fix
HUGE = "x" * 10_000_000  # 10 MB


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def eur_minor(minor: int) -> Money:
    """``minor`` cents as Money, beyond the maximum too (``from_minor`` refuses those)."""
    return Money(Decimal(f"{minor}e-2"), "EUR")


class LooksLikeAnActor(NamedTuple):
    kind: str
    id: str


@attrs.frozen
class World:
    """A placed order (one line of 2 x 10.00 EUR, paid 20.00) of vendor v-1 (registered,
    payout in EUR) for buyer b-1, with one shipment, one open issue and a conversation."""

    m: Marketplace
    store: CountingStore
    oid: str
    line: str
    sid: str
    iid: str
    cid: str


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    inner = open_store(request.param, tmp_path)
    store = CountingStore(inner)
    m = Marketplace(store, clock=FakeClock(START), ids=SequentialIds())
    m.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    (order,) = m.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[Item(vendor_id="v-1", product_id="p", quantity=2, unit_price=eur("10.00"))],
        paid=eur("20.00"),
    )
    line = order.lines[0].line_id
    shipped = m.ship(order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="1")
    issue = m.report_issue(order.order_id, by=BUYER, kind=IssueKind.OTHER, description="late")
    cid = m.start_conversation(by=BUYER, vendor_id="v-1").conversation.conversation_id
    yield World(
        m,
        store,
        order.order_id,
        line,
        shipped.shipments[0].shipment_id,
        issue.issues[0].issue_id,
        cid,
    )
    inner.close()


def _checkout(w: World, **change: Any) -> object:
    args: dict[str, Any] = {
        "buyer": BUYER,
        "customer_name": "Ada",
        "items": [Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=eur("4.00"))],
        "paid": eur("4.00"),
    }
    args.update(change)
    return w.m.place_checkout(**args)


def _item(**change: Any) -> Item:
    args: dict[str, Any] = {
        "vendor_id": "v-1",
        "product_id": "p",
        "quantity": 1,
        "unit_price": eur("4.00"),
    }
    args.update(change)
    return Item(**args)


class Case(NamedTuple):
    name: str
    call: Callable[[World], object]
    code: str
    #: refused before any unit of work opens (judged on the arguments alone)
    early: bool = True


BIG = Money(Decimal(10**30), "EUR")
NAIVE = START.replace(tzinfo=None)
DAY = dt.timedelta(days=1)
TODAY = START.date()
HALF_MAX = eur_minor(2**62)

# fmt: off
CASES: list[Case] = [
    # 1. amounts are parsed with bounded work, before the transaction
    Case("refund: exponent bomb", lambda w: w.m.refund(w.oid, by=VENDOR,
         amount=Money(Decimal(BOMB), "EUR")), "invalid_money"),
    Case("refund: huge exponent", lambda w: w.m.refund(w.oid, by=VENDOR,
         amount=Money(Decimal("1e100000000"), "EUR")), "invalid_money"),
    Case("offer: exponent bomb", lambda w: w.m.offer_settlement(w.oid, w.iid, by=VENDOR,
         resolution=Resolution.REFUND, amount=Money(Decimal(BOMB), "EUR")), "invalid_money"),
    Case("chargeback: exponent bomb", lambda w: w.m.report_chargeback(w.oid, by=STAFF,
         amount=Money(Decimal(BOMB), "EUR")), "invalid_money"),
    Case("checkout: exponent bomb", lambda w: _checkout(w, paid=Money(Decimal(BOMB), "EUR")),
         "invalid_money"),
    # 2. one maximum amount and quantity, the same on every store
    Case("checkout: unit price 10**30", lambda w: _checkout(
        w, items=[_item(unit_price=BIG)], paid=BIG), "invalid_money"),
    Case("checkout: unit price 2**62 cents", lambda w: _checkout(
        w, items=[_item(unit_price=HALF_MAX)], paid=HALF_MAX), "invalid_money"),
    Case("checkout: total above the maximum", lambda w: _checkout(
        w, items=[_item(unit_price=from_minor(MAX_AMOUNT_MINOR, "EUR"), quantity=2)],
        paid=eur("1.00")), "invalid_money"),
    Case("checkout: quantity above the maximum", lambda w: _checkout(
        w, items=[_item(quantity=MAX_QUANTITY + 1, unit_price=eur("0.01"))]), "invalid_input"),
    Case("ship: quantity above the maximum", lambda w: w.m.ship(
        w.oid, by=VENDOR, items={w.line: MAX_QUANTITY + 1}, carrier="DHL", tracking_number="2"),
        "invalid_input"),
    Case("refund: amount above the maximum", lambda w: w.m.refund(
        w.oid, by=VENDOR, amount=eur_minor(MAX_AMOUNT_MINOR + 1)), "invalid_money"),
    # 3. every argument checked, inside the family
    Case("deliver: limit not a number", lambda w: w.m.deliver_notifications(limit="x"),  # type: ignore[arg-type]
         "invalid_input"),
    Case("deliver: limit zero", lambda w: w.m.deliver_notifications(limit=0), "invalid_input"),
    Case("deliver: limit a float", lambda w: w.m.deliver_notifications(limit=1.5),  # type: ignore[arg-type]
         "invalid_input"),
    Case("run_due: now a string", lambda w: w.m.run_due("2026-03-09"),  # type: ignore[arg-type]
         "invalid_input"),
    Case("journal: after_seq a string", lambda w: w.m.journal(by=STAFF, after_seq="0"),  # type: ignore[arg-type]
         "invalid_input"),
    Case("messages: limit a string", lambda w: w.m.messages(w.cid, by=BUYER, limit="9"),  # type: ignore[arg-type]
         "invalid_input"),
    Case("get_order: by is a string", lambda w: w.m.get_order(w.oid, by="staff:st-1"),  # type: ignore[arg-type]
         "invalid_input"),
    Case("order_history: by looks like an actor", lambda w: w.m.order_history(
        w.oid, by=LooksLikeAnActor("staff", "x")), "invalid_input"),  # type: ignore[arg-type]
    Case("orders_of_checkout: by is None", lambda w: w.m.orders_of_checkout(
        "c-000001", by=None), "invalid_input"),  # type: ignore[arg-type]
    Case("checkout: buyer looks like an actor", lambda w: _checkout(
        w, buyer=LooksLikeAnActor("buyer", "b-1")), "invalid_input"),
    Case("balance: by is a dict", lambda w: w.m.balance(
        "v-1", by={"kind": "staff", "id": "x"}), "invalid_input"),  # type: ignore[arg-type]
    Case("checkout: items a dict", lambda w: _checkout(w, items={"a": 1}), "invalid_input"),
    Case("checkout: shipping a list", lambda w: _checkout(w, shipping=[1]), "invalid_input"),
    Case("refund: items a list", lambda w: w.m.refund(w.oid, by=VENDOR, items=[w.line]),  # type: ignore[arg-type]
         "invalid_input"),
    Case("report: line_ids a string", lambda w: w.m.report_issue(
        w.oid, by=BUYER, kind=IssueKind.OTHER, description="x", line_ids="l-1"), "invalid_input"),
    # 4. one limit per kind of id and text
    Case("idempotency key of 10 MB", lambda w: w.m.refund(
        w.oid, by=VENDOR, amount=eur("1.00"), idempotency_key=HUGE), "invalid_input"),
    Case("idempotency key one too long", lambda w: w.m.mark_read(
        w.cid, by=BUYER, idempotency_key="k" * (MAX_KEY_LENGTH + 1)), "invalid_input"),
    Case("register_vendor: vendor id of 10 MB", lambda w: w.m.register_vendor(
        HUGE, payout_currency="EUR", by=STAFF), "invalid_input"),
    Case("register_vendor: name too long", lambda w: w.m.register_vendor(
        "v-9", payout_currency="EUR", by=STAFF, name="n" * (MAX_NAME_LENGTH + 1)),
        "invalid_input"),
    Case("start_conversation: vendor id of 10 MB", lambda w: w.m.start_conversation(
        by=BUYER, vendor_id=HUGE), "invalid_input"),
    Case("start_conversation: customer name of 10 MB", lambda w: w.m.start_conversation(
        by=VENDOR, customer_name=HUGE), "invalid_input"),
    Case("checkout: customer name too long", lambda w: _checkout(
        w, customer_name="a" * (MAX_NAME_LENGTH + 1)), "invalid_input"),
    Case("checkout: product id too long", lambda w: _checkout(
        w, items=[_item(product_id="p" * (MAX_ID_LENGTH + 1))]), "invalid_input"),
    Case("checkout: vendor id not a string", lambda w: _checkout(
        w, items=[_item(vendor_id=7)]), "invalid_input"),
    Case("report: description too long", lambda w: w.m.report_issue(
        w.oid, by=BUYER, kind=IssueKind.OTHER, description="d" * (MAX_TEXT_LENGTH + 1)),
        "invalid_input"),
    Case("tracking: note too long", lambda w: w.m.update_tracking(
        w.oid, w.sid, by=VENDOR, note="n" * (MAX_TEXT_LENGTH + 1)), "invalid_input"),
    Case("ship: carrier too long", lambda w: w.m.ship(
        w.oid, by=VENDOR, items={w.line: 1}, carrier="c" * (MAX_NAME_LENGTH + 1),
        tracking_number="2"), "invalid_input"),
    Case("get_order: order id of 10 MB", lambda w: w.m.get_order(HUGE, by=STAFF),
         "invalid_input"),
    Case("chargeback: reference too long", lambda w: w.m.report_chargeback(
        w.oid, by=STAFF, amount=eur("1.00"), reference="r" * (MAX_ID_LENGTH + 1)),
        "invalid_input"),
    Case("post: conversation id too long", lambda w: w.m.post_message(
        "c" * (MAX_ID_LENGTH + 1), by=BUYER, text="hi"), "invalid_input"),
    Case("cancel: reason too long", lambda w: w.m.cancel_order(
        w.oid, by=BUYER, reason="r" * (MAX_TEXT_LENGTH + 1)), "invalid_input"),
    # 5. float-born and over-precise Money
    Case("refund: float-born Money with more places", lambda w: w.m.refund(
        w.oid, by=VENDOR, amount=Money(1.50000001, "EUR")), "invalid_money"),
    Case("refund: more places than EUR, even zeros", lambda w: w.m.refund(
        w.oid, by=VENDOR, amount=eur("1.000")), "invalid_money"),
    Case("refund: a float, not Money", lambda w: w.m.refund(w.oid, by=VENDOR, amount=1.5),  # type: ignore[arg-type]
         "invalid_money"),
    # judged against the order, inside the transaction (a string compare), still nothing written
    Case("refund: amount in USD", lambda w: w.m.refund(
        w.oid, by=VENDOR, amount=Money("1.00", "USD")), "currency_mismatch", early=False),
    # 6. order lists and store performance (R1, R2, R34): bounded ids, pages, cursors, ranges
    Case("list_orders: vendor id of 10 MB", lambda w: w.m.list_orders(
        by=STAFF, vendor_id=HUGE), "invalid_input"),
    Case("list_orders: vendor id not a string", lambda w: w.m.list_orders(
        by=STAFF, vendor_id=7), "invalid_input"),  # type: ignore[arg-type]
    Case("list_orders: page size 0", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", page_size=0), "invalid_input"),
    Case("list_orders: page size above the maximum", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", page_size=MAX_PAGE_SIZE + 1), "invalid_input"),
    Case("list_orders: page size a float", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", page_size=10.0), "invalid_input"),  # type: ignore[arg-type]
    Case("list_orders: forged cursor", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", cursor="eyJ4IjoxfQ.AAAA"), "invalid_cursor"),
    Case("list_orders: cursor of 10 MB", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", cursor=HUGE), "invalid_cursor"),
    Case("list_orders: naive placed_from", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", placed_from=NAIVE), "naive_datetime"),
    Case("list_orders: range ending before it starts", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", placed_from=START, placed_until=START - DAY),
        "invalid_input"),
    Case("list_orders: customer name too long", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", customer_name="a" * (MAX_NAME_LENGTH + 1)),
        "invalid_input"),
    Case("list_orders: unknown status", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", status="lost"), "invalid_input"),
    Case("list_orders: flag a string", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1", needs_shipping="yes"), "invalid_input"),  # type: ignore[arg-type]
    Case("buyer_orders: buyer id too long", lambda w: w.m.buyer_orders(
        by=STAFF, buyer_id="b" * (MAX_ID_LENGTH + 1)), "invalid_input"),
    Case("buyer_orders: staff without a buyer id", lambda w: w.m.buyer_orders(by=STAFF),
         "invalid_input"),
    Case("buyer_orders: page size above the maximum", lambda w: w.m.buyer_orders(
        by=BUYER, page_size=MAX_PAGE_SIZE + 1), "invalid_input"),
    Case("buyer_orders: naive placed_until", lambda w: w.m.buyer_orders(
        by=BUYER, placed_until=NAIVE), "naive_datetime"),
    Case("store_performance: naive since", lambda w: w.m.store_performance(
        "v-1", by=VENDOR, since=NAIVE, until=START), "naive_datetime"),
    Case("store_performance: until before since", lambda w: w.m.store_performance(
        "v-1", by=VENDOR, since=START, until=START - DAY), "invalid_input"),
    Case("store_performance: vendor id of 10 MB", lambda w: w.m.store_performance(
        HUGE, by=STAFF, since=START, until=START), "invalid_input"),
    # 7. reports (R30-R33): dates, granularity, currency, limits, batches, time zones
    Case("sales_report: range ending before it starts", lambda w: w.m.sales_report(
        "v-1", start=TODAY, end=TODAY - DAY, by=VENDOR), "invalid_date_range"),
    Case("sales_report: start a datetime", lambda w: w.m.sales_report(
        "v-1", start=START, end=TODAY, by=VENDOR), "invalid_date_range"),
    Case("sales_report: unknown granularity", lambda w: w.m.sales_report(
        "v-1", start=TODAY, end=TODAY, by=VENDOR, granularity="year"), "invalid_input"),
    Case("sales_report: unknown reporting currency", lambda w: w.m.sales_report(
        "v-1", start=TODAY, end=TODAY, by=VENDOR, currency="EURO"),
        "unsupported_reporting_currency"),
    Case("sales_report: vendor id of 10 MB", lambda w: w.m.sales_report(
        HUGE, start=TODAY, end=TODAY, by=STAFF), "invalid_input"),
    Case("earnings_report: vendor id too long", lambda w: w.m.earnings_report(
        "v" * (MAX_ID_LENGTH + 1), start=TODAY, end=TODAY, by=STAFF), "invalid_input"),
    Case("earnings_report: end a string", lambda w: w.m.earnings_report(
        "v-1", start=TODAY, end="2026-03-09", by=VENDOR), "invalid_date_range"),  # type: ignore[arg-type]
    Case("sales_report: ten thousand years by day", lambda w: w.m.sales_report(
        "v-1", start=dt.date(1, 1, 1), end=dt.date(9999, 12, 30), by=STAFF),
        "invalid_date_range"),
    Case("sales_report: one day more than the most periods", lambda w: w.m.sales_report(
        "v-1", start=TODAY, end=TODAY + dt.timedelta(days=MAX_REPORT_PERIODS), by=VENDOR),
        "invalid_date_range"),
    Case("sales_report: the last date Python has", lambda w: w.m.sales_report(
        "v-1", start=dt.date.max, end=dt.date.max, by=VENDOR, granularity="month"),
        "invalid_date_range"),
    Case("earnings_report: before the first reportable day", lambda w: w.m.earnings_report(
        "v-1", start=dt.date.min, end=dt.date.min, by=VENDOR), "invalid_date_range"),
    Case("bestsellers: the last date Python has", lambda w: w.m.bestsellers(
        "v-1", start=TODAY, end=dt.date.max, by=VENDOR), "invalid_date_range"),
    Case("bestsellers: limit 0", lambda w: w.m.bestsellers(
        "v-1", start=TODAY, end=TODAY, by=VENDOR, limit=0), "invalid_input"),
    Case("bestsellers: limit above the maximum", lambda w: w.m.bestsellers(
        "v-1", start=TODAY, end=TODAY, by=VENDOR, limit=MAX_BESTSELLERS + 1), "invalid_input"),
    Case("verify_reports: batch size 0", lambda w: w.m.verify_reports(
        "v-1", by=STAFF, batch_size=0), "invalid_input"),
    Case("verify_reports: vendor id of 10 MB", lambda w: w.m.verify_reports(HUGE, by=STAFF),
         "invalid_input"),
    Case("rebuild_reports: batch size a float", lambda w: w.m.rebuild_reports(
        "v-1", by=STAFF, batch_size=1.5), "invalid_input"),  # type: ignore[arg-type]
    Case("rebuild_reports: max_batches 0", lambda w: w.m.rebuild_reports(
        "v-1", by=STAFF, max_batches=0), "invalid_input"),
    Case("rebuild_reports: vendor id too long", lambda w: w.m.rebuild_reports(
        "v" * (MAX_ID_LENGTH + 1), by=STAFF), "invalid_input"),
    Case("register_vendor: unknown time zone", lambda w: w.m.register_vendor(
        "v-1", payout_currency="EUR", by=STAFF, timezone="Mars/Olympus"), "unknown_time_zone"),
    Case("register_vendor: unknown payout currency", lambda w: w.m.register_vendor(
        "v-1", payout_currency="ZZZ", by=STAFF, timezone="Europe/Paris"), "unknown_currency"),
    # 8. returns and exchanges (R37): quantities, kinds, ids and texts
    Case("request_return: negative quantity", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: -1}, reason="r"),
        "invalid_input"),
    Case("request_return: zero quantity", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: 0}, reason="r"),
        "invalid_input"),
    Case("request_return: quantity a float", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: 1.0}, reason="r"),  # type: ignore[dict-item]
        "invalid_input"),
    Case("request_return: no items", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={}, reason="r"), "invalid_input"),
    Case("request_return: items a list", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items=[w.line], reason="r"),  # type: ignore[arg-type]
        "invalid_input"),
    Case("request_return: line id too long", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={"l" * (MAX_ID_LENGTH + 1): 1},
        reason="r"), "invalid_input"),
    Case("request_return: kind a string", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind="return", items={w.line: 1}, reason="r"),  # type: ignore[arg-type]
        "invalid_input"),
    Case("request_return: reason of 10 MB", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: 1}, reason=HUGE),
        "invalid_input"),
    Case("request_return: condition too long", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.EXCHANGE, items={w.line: 1}, reason="r",
        condition="c" * (MAX_TEXT_LENGTH + 1)), "invalid_input"),
    Case("request_return: idempotency key too long", lambda w: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: 1}, reason="r",
        idempotency_key="k" * (MAX_KEY_LENGTH + 1)), "invalid_input"),
    Case("accept_return: return id of 10 MB", lambda w: w.m.accept_return(
        w.oid, HUGE, by=VENDOR), "invalid_input"),
    Case("accept_return: message too long", lambda w: w.m.accept_return(
        w.oid, "ret-1", by=VENDOR, message="m" * (MAX_TEXT_LENGTH + 1)), "invalid_input"),
    Case("decline_return: reason not a string", lambda w: w.m.decline_return(
        w.oid, "ret-1", by=VENDOR, reason=7), "invalid_input"),  # type: ignore[arg-type]
    Case("ship_return: carrier too long", lambda w: w.m.ship_return(
        w.oid, "ret-1", by=BUYER, carrier="c" * (MAX_NAME_LENGTH + 1), tracking_number="1"),
        "invalid_input"),
    Case("ship_exchange: tracking number of 10 MB", lambda w: w.m.ship_exchange(
        w.oid, "ret-1", by=VENDOR, carrier="DHL", tracking_number=HUGE), "invalid_input"),
    Case("receive_return: return id not a string", lambda w: w.m.receive_return(
        w.oid, 7, by=VENDOR), "invalid_input"),  # type: ignore[arg-type]
    Case("refund_return: order id too long", lambda w: w.m.refund_return(
        "o" * (MAX_ID_LENGTH + 1), "ret-1", by=VENDOR), "invalid_input"),
    # retention (R29, R35): a system operation like run_due, with an aware instant
    Case("purge: naive now", lambda w: w.m.purge(NAIVE), "naive_datetime"),
    Case("purge: now a string", lambda w: w.m.purge("2026-03-09"),  # type: ignore[arg-type]
         "invalid_input"),
    Case("purge: the first instant Python has", lambda w: w.m.purge(
        dt.datetime.min.replace(tzinfo=dt.UTC)), "invalid_input"),
    Case("run_due: an instant past the last UTC year", lambda w: w.m.run_due(
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(-dt.timedelta(hours=5)))),
        "invalid_input"),
    Case("list_orders: placed_from before the first UTC instant", lambda w: w.m.list_orders(
        by=VENDOR, vendor_id="v-1",
        placed_from=dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))),
        "invalid_input"),
    Case("store_performance: until the last instant Python has", lambda w: w.m.store_performance(
        "v-1", by=VENDOR, since=START, until=dt.datetime.max.replace(tzinfo=dt.UTC)),
        "invalid_input"),
    # 9. staff powers (R1, R39, R41): each needs a reason; money is Money, never a float
    Case("resolve_for_vendor: no reason", lambda w: w.m.resolve_for_vendor(
        w.oid, w.iid, by=STAFF, reason=""), "reason_required"),
    Case("resolve_for_vendor: a blank reason", lambda w: w.m.resolve_for_vendor(
        w.oid, w.iid, by=STAFF, reason="   "), "reason_required"),
    Case("resolve_for_vendor: issue id too long", lambda w: w.m.resolve_for_vendor(
        w.oid, "i" * (MAX_ID_LENGTH + 1), by=STAFF, reason="proof"), "invalid_input"),
    Case("cancel_after_shipping: reason None", lambda w: w.m.cancel_after_shipping(
        w.oid, by=STAFF, reason=None), "reason_required"),  # type: ignore[arg-type]
    Case("cancel_after_shipping: reason too long", lambda w: w.m.cancel_after_shipping(
        w.oid, by=STAFF, reason="r" * (MAX_TEXT_LENGTH + 1)), "invalid_input"),
    Case("adjust_balance: no reason", lambda w: w.m.adjust_balance(
        "v-1", amount=eur("5.00"), reason="", by=STAFF), "reason_required"),
    Case("adjust_balance: a float amount", lambda w: w.m.adjust_balance(
        "v-1", amount=5.0, reason="goodwill", by=STAFF), "invalid_money"),  # type: ignore[arg-type]
    Case("adjust_balance: float-born Money with more places", lambda w: w.m.adjust_balance(
        "v-1", amount=Money(0.1 + 0.2, "EUR"), reason="goodwill", by=STAFF), "invalid_money"),
    Case("adjust_balance: exponent bomb", lambda w: w.m.adjust_balance(
        "v-1", amount=Money(Decimal(BOMB), "EUR"), reason="goodwill", by=STAFF),
        "invalid_money"),
    Case("adjust_balance: above the maximum", lambda w: w.m.adjust_balance(
        "v-1", amount=eur_minor(MAX_AMOUNT_MINOR + 1), reason="fine", by=STAFF),
        "invalid_money"),
    Case("adjust_balance: zero", lambda w: w.m.adjust_balance(
        "v-1", amount=eur("0.00"), reason="nothing", by=STAFF), "invalid_money"),
    Case("adjust_balance: vendor id of 10 MB", lambda w: w.m.adjust_balance(
        HUGE, amount=eur("5.00"), reason="goodwill", by=STAFF), "invalid_input"),
    Case("adjust_balance: reason of 10 MB", lambda w: w.m.adjust_balance(
        "v-1", amount=eur("5.00"), reason=HUGE, by=STAFF), "invalid_input"),
    Case("set_payout_terms: no reason", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason=" ", reserve_bp=1000, reserve_days=30), "reason_required"),
    Case("set_payout_terms: reserve above 100 %", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_bp=10_001, reserve_days=30), "invalid_input"),
    Case("set_payout_terms: reserve a float", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_bp=10.5, reserve_days=30),  # type: ignore[arg-type]
        "invalid_input"),
    Case("set_payout_terms: negative reserve days", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_days=-1), "invalid_input"),
    Case("set_payout_terms: reserve days past any date", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_bp=1000, reserve_days=10**12), "invalid_input"),
    Case("set_payout_terms: reserve days one above the maximum", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_bp=1000, reserve_days=MAX_RESERVE_DAYS + 1),
        "invalid_input"),
    Case("set_payout_terms: minimum balance a float", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", minimum_balance=50.0),  # type: ignore[arg-type]
        "invalid_money"),
    Case("set_payout_terms: negative minimum balance", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", minimum_balance=eur("-1.00")), "invalid_money"),
    Case("set_payout_terms: vendor id too long", lambda w: w.m.set_payout_terms(
        "v" * (MAX_ID_LENGTH + 1), by=STAFF, reason="risk"), "invalid_input"),
    Case("chargeback_won: reference too long", lambda w: w.m.chargeback_won(
        w.oid, reference="r" * (MAX_ID_LENGTH + 1), by=STAFF), "invalid_input"),
    Case("chargeback_won: order id not a string", lambda w: w.m.chargeback_won(
        None, reference="cb-1", by=STAFF), "invalid_input"),  # type: ignore[arg-type]
    # judged against the vendor's payout currency, inside the transaction: nothing written
    Case("set_payout_terms: minimum balance in USD", lambda w: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", minimum_balance=Money("5.00", "USD")),
        "currency_mismatch", early=False),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_r2_r33_hostile_input_is_refused_with_its_code_and_no_row_changes(
    world: World, case: Case
) -> None:
    """R2, R33: the case's stable code; every row of the store identical before and after;
    refused before any unit of work when the arguments alone say it is wrong (R25: parsing
    is bounded and never runs inside a write transaction)."""
    before = digest(world.store)
    opened = world.store.opened
    with pytest.raises(AsoloraError) as info:
        case.call(world)
    assert info.value.code == case.code, repr(info.value)
    assert str(info.value)
    assert digest(world.store) == before
    if case.early:
        assert world.store.opened == opened, "validated inside a unit of work"


# --- the module-level functions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: allocate(10.5, [1, 1]), "invalid_input"),  # type: ignore[arg-type]
        (lambda: allocate(100, []), "invalid_input"),
        (lambda: from_minor(1.9, "EUR"), "invalid_money"),  # type: ignore[arg-type]
        (lambda: from_minor("12", "EUR"), "invalid_money"),  # type: ignore[arg-type]
        (lambda: from_minor(True, "EUR"), "invalid_money"),
        (lambda: parse_money("-5.00", "EUR"), "invalid_money"),
        (lambda: parse_money(BOMB, "EUR"), "invalid_money"),
        (lambda: parse_money("1e100000000", "EUR"), "invalid_money"),
        (lambda: parse_money("9" * 100, "EUR"), "invalid_money"),
        (lambda: parse_money("١٢", "EUR"), "invalid_money"),  # Arabic-Indic digits
        (lambda: parse_money("1_000", "EUR"), "invalid_money"),
        (lambda: parse_money(18.0, "EUR"), "invalid_money"),
        (lambda: parse_money(Decimal(BOMB), "EUR"), "invalid_money"),
        (lambda: parse_money(10**30, "EUR"), "invalid_money"),
        (lambda: to_minor(Money(Decimal(BOMB), "EUR")), "invalid_money"),
        (lambda: to_minor(Money(10**30, "EUR")), "invalid_money"),
        (lambda: to_minor(Money(18.0, "JPY")), "invalid_money"),  # Decimal('18.0'): a float
        (lambda: to_minor(Money(70368744177664.01, "EUR")), "invalid_money"),
        (lambda: Actor("buyer", "eve"), "invalid_input"),  # type: ignore[arg-type]
        (lambda: Actor(None, "x"), "invalid_input"),  # type: ignore[arg-type]
        (lambda: Actor.vendor("v" * (MAX_ID_LENGTH + 1)), "invalid_input"),
        (lambda: Actor.vendor(" "), "invalid_input"),
        (lambda: Marketplace("shop.db"), "invalid_input"),  # type: ignore[arg-type]
        (lambda: Marketplace(InMemoryStore(), config={}), "invalid_input"),  # type: ignore[arg-type]
        (lambda: Marketplace(InMemoryStore(), clock="now"), "invalid_input"),  # type: ignore[arg-type]
    ],
    ids=lambda v: "" if callable(v) else str(v),
)
def test_r2_public_functions_refuse_inside_the_error_family(
    call: Callable[[], object], code: str
) -> None:
    """R2: every public function validates its arguments and raises an AsoloraError with a
    stable code (never TypeError, ValueError, OverflowError or a silent truncation)."""
    with pytest.raises(AsoloraError) as info:
        call()
    assert info.value.code == code


@given(
    minor=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_r25_every_amount_up_to_the_maximum_round_trips(minor: int, currency: str) -> None:
    """R25: the maximum is inclusive; every amount up to it is accepted exactly."""
    assert to_minor(parse_money(str(from_minor(minor, currency).amount), currency)) == minor


@given(cents=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR))
def test_r25_a_float_literal_within_the_maximum_is_never_a_cent_off(cents: int) -> None:
    """R25, documented in docs/money.md: py-moneyed builds Money from a float through its
    shortest repr, and a float keeps 15 significant digits; every amount up to the maximum
    (13 digits) written as a float literal is the amount written, so ``Money(x, "EUR")``
    with a float is either exact or refused as having too many places, never a cent off."""
    text = f"{cents // 100}.{cents % 100:02d}"
    assert to_minor(Money(float(text), "EUR")) == cents


def test_r13_balance_of_a_registered_vendor_with_nothing_released_is_zero(world: World) -> None:
    """R22: a registered vendor with nothing released has a zero balance
    in its payout currency; an unregistered one with a held order, in the order's currency;
    one the store knows nothing of is not_found."""
    w = world
    w.m.register_vendor("v-new", payout_currency="GBP", by=STAFF)
    balance = w.m.balance("v-new", by=STAFF)
    assert (balance.currency, balance.balance_minor, balance.held_minor) == ("GBP", 0, 0)
    _checkout(w, items=[_item(vendor_id="v-unreg")])
    unregistered = w.m.balance("v-unreg", by=STAFF)
    assert (unregistered.currency, unregistered.balance_minor) == ("EUR", 0)
    with pytest.raises(AsoloraError) as info:
        w.m.balance("v-unknown", by=STAFF)
    assert info.value.code == "not_found"


def test_the_digest_sees_every_write(world: World) -> None:
    """The table above is only as good as its digest: an accepted command changes it."""
    before = digest(world.store)
    world.m.refund(world.oid, by=VENDOR, amount=eur("1.00"))
    assert digest(world.store) != before


def test_r24_r33_orders_at_the_maximum_release_and_verify_on_every_store(
    tmp_path: Path,
) -> None:
    """R24, R33: three checkouts of exactly MAX_AMOUNT_MINOR are held,
    released into a currency worth more minor units, and folded, on memory and SQLite alike;
    verify_journal passes and the balance is the exact sum (no 64-bit overflow anywhere)."""
    top = from_minor(MAX_AMOUNT_MINOR, "EUR")
    balances = []
    for store in (InMemoryStore(), SqliteStore(tmp_path / "max.db")):
        clock = FakeClock(START)
        rates = FixedRateProvider({("EUR", "JPY"): "160"}, as_of=START)
        config = MarketplaceConfig(money=MoneyConfig(rates=rates))
        m = Marketplace(store, clock=clock, ids=SequentialIds(), config=config)
        m.register_vendor("v-1", payout_currency="JPY", by=STAFF)
        for _ in range(3):
            (order,) = m.place_checkout(
                buyer=BUYER,
                customer_name="Ada",
                items=[Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=top)],
                paid=top,
            )
            line = order.lines[0].line_id
            shipped = m.ship(
                order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="1"
            )
            sid = shipped.shipments[0].shipment_id
            m.mark_delivered(order.order_id, sid, by=VENDOR)
            m.confirm_receipt(order.order_id, sid, by=BUYER)
        clock.advance(hours=169)
        m.run_due()
        assert m.verify_journal(by=STAFF).ok
        balances.append(m.balance("v-1", by=STAFF).balance_minor)
        store.close()
    # 10**12 cents = 10**10 EUR -> 1.6 * 10**12 JPY each
    assert balances == [3 * MAX_AMOUNT_MINOR * 160 // 100] * 2


@settings(max_examples=40, deadline=None)
@given(
    unit_minor=st.integers(min_value=0, max_value=4 * MAX_AMOUNT_MINOR),
    quantity=st.integers(min_value=1, max_value=4),
)
def test_r33_every_store_accepts_and_refuses_the_same_amounts(
    tmp_path_factory: pytest.TempPathFactory, unit_minor: int, quantity: int
) -> None:
    """R33: around the maximum, memory, SQLite and (when the tests have a
    database) PostgreSQL give the same outcome for the same checkout: the same orders, or the
    same error code."""
    outcomes = []
    path = tmp_path_factory.mktemp("agree") / "s.db"
    stores: list[Store] = [InMemoryStore(), SqliteStore(path)]
    if pg_support.DSN is not None:
        stores.append(make_pg_store())
    for store in stores:
        m = Marketplace(store, clock=FakeClock(START), ids=SequentialIds())
        price = eur_minor(unit_minor)
        try:
            (order,) = m.place_checkout(
                buyer=BUYER,
                customer_name="Ada",
                items=[Item(vendor_id="v-1", product_id="p", quantity=quantity, unit_price=price)],
                paid=from_minor(min(unit_minor * quantity, MAX_AMOUNT_MINOR), "EUR"),
            )
            outcomes.append(("placed", order.paid_minor, order.lines[0].unit_price_minor))
        except AsoloraError as error:
            outcomes.append((error.code, 0, 0))
        store.close()
    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert (outcomes[0][0] == "placed") == (0 < unit_minor * quantity <= MAX_AMOUNT_MINOR)


# --- junk in any argument of the commands added with the lists, reports and endings -------


def _built() -> tuple[Marketplace, Store, dict[str, str]]:
    """The world of the fixture above, on the in-memory store (for hypothesis)."""
    store = InMemoryStore()
    m = Marketplace(store, clock=FakeClock(START), ids=SequentialIds())
    m.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    (order,) = m.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[Item(vendor_id="v-1", product_id="p", quantity=2, unit_price=eur("10.00"))],
        paid=eur("20.00"),
    )
    line = order.lines[0].line_id
    shipped = m.ship(order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="1")
    issue = m.report_issue(order.order_id, by=BUYER, kind=IssueKind.OTHER, description="late")
    ids = {"oid": order.order_id, "line": line, "iid": issue.issues[0].issue_id}
    assert shipped.shipments
    return m, store, ids


#: command -> (a call that takes the changed arguments, the arguments junk may replace)
# fmt: off
FUZZED: dict[str, tuple[Callable[[Marketplace, dict[str, str], dict[str, Any]], object],
                        tuple[str, ...]]] = {
    "list_orders": (lambda m, i, k: m.list_orders(**{"by": VENDOR, "vendor_id": "v-1", **k}),
                    ("by", "vendor_id", "status", "needs_shipping", "placed_from",
                     "placed_until", "customer_name", "cursor", "page_size")),
    "buyer_orders": (lambda m, i, k: m.buyer_orders(**{"by": BUYER, **k}),
                     ("by", "buyer_id", "status", "open_issue", "placed_from", "cursor",
                      "page_size")),
    "store_performance": (lambda m, i, k: m.store_performance(**{
        "vendor_id": "v-1", "by": VENDOR, "since": START, "until": START, **k}),
        ("by", "vendor_id", "since", "until")),
    "sales_report": (lambda m, i, k: m.sales_report(**{
        "vendor_id": "v-1", "by": VENDOR, "start": TODAY, "end": TODAY, **k}),
        ("by", "vendor_id", "start", "end", "granularity", "currency")),
    "bestsellers": (lambda m, i, k: m.bestsellers(**{
        "vendor_id": "v-1", "by": VENDOR, "start": TODAY, "end": TODAY, **k}),
        ("vendor_id", "start", "end", "limit", "currency")),
    "verify_reports": (lambda m, i, k: m.verify_reports(**{"vendor_id": "v-1", "by": STAFF, **k}),
                       ("by", "vendor_id", "batch_size")),
    "rebuild_reports": (lambda m, i, k: m.rebuild_reports(**{
        "vendor_id": "v-1", "by": STAFF, **k}), ("vendor_id", "batch_size", "max_batches")),
    "resolve_for_vendor": (lambda m, i, k: m.resolve_for_vendor(**{
        "order_id": i["oid"], "issue_id": i["iid"], "by": STAFF, "reason": "proof", **k}),
        ("by", "order_id", "issue_id", "reason", "idempotency_key")),
    "cancel_after_shipping": (lambda m, i, k: m.cancel_after_shipping(**{
        "order_id": i["oid"], "by": STAFF, "reason": "fraud", **k}), ("order_id", "reason")),
    "request_return": (lambda m, i, k: m.request_return(**{
        "order_id": i["oid"], "by": BUYER, "kind": ReturnKind.RETURN, "items": {i["line"]: 1},
        "reason": "small", **k}), ("by", "order_id", "kind", "items", "reason", "condition")),
    "decline_return": (lambda m, i, k: m.decline_return(**{
        "order_id": i["oid"], "return_id": "ret-1", "by": VENDOR, "reason": "worn", **k}),
        ("return_id", "reason")),
    "ship_exchange": (lambda m, i, k: m.ship_exchange(**{
        "order_id": i["oid"], "return_id": "ret-1", "by": VENDOR, "carrier": "DHL",
        "tracking_number": "1", **k}), ("carrier", "tracking_number")),
    "chargeback_won": (lambda m, i, k: m.chargeback_won(**{
        "order_id": i["oid"], "reference": "cb-1", "by": STAFF, **k}), ("order_id", "reference")),
    "adjust_balance": (lambda m, i, k: m.adjust_balance(**{
        "vendor_id": "v-1", "amount": eur("1.00"), "reason": "goodwill", "by": STAFF, **k}),
        ("vendor_id", "amount", "reason")),
    "set_payout_terms": (lambda m, i, k: m.set_payout_terms(**{
        "vendor_id": "v-1", "by": STAFF, "reason": "risk", **k}),
        ("vendor_id", "reason", "reserve_bp", "reserve_days", "minimum_balance")),
    "register_vendor": (lambda m, i, k: m.register_vendor(**{
        "vendor_id": "v-2", "payout_currency": "EUR", "by": STAFF, **k}),
        ("vendor_id", "payout_currency", "name", "timezone")),
    "purge": (lambda m, i, k: m.purge(**{"now": START, **k}), ("now",)),
}
# fmt: on

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["x" * (MAX_TEXT_LENGTH + 1), " ", "Mars/Olympus", "ZZZ", "day"]),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.dates(),
    st.builds(Money, st.decimals(allow_nan=False, allow_infinity=False), st.just("EUR")),
    st.just(LooksLikeAnActor("staff", "st-1")),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), command=st.sampled_from(sorted(FUZZED)))
def test_r2_junk_in_any_argument_stays_in_the_error_family(
    data: st.DataObject, command: str
) -> None:
    """R2, R33: anything at all in any argument of the order lists, reports and endings
    commands is either accepted or refused with an ``AsoloraError`` (never a TypeError,
    KeyError, OverflowError...), and a refusal leaves every row as it was."""
    call, arguments = FUZZED[command]
    argument = data.draw(st.sampled_from(arguments), label="argument")
    value = data.draw(JUNK, label="value")
    m, store, ids = _built()
    before = digest(store)
    refusal: AsoloraError | None = None
    try:
        call(m, ids, {argument: value})
    except AsoloraError as error:
        refusal = error
    store.close()
    if refusal is not None:
        assert str(refusal)
        assert digest(store) == before, refusal.code


def test_r41_a_reserve_of_the_maximum_days_still_releases(world: World) -> None:
    """R41: a rolling reserve of MAX_RESERVE_DAYS is accepted and the
    vendor's orders still release (the reserve's end is a representable date); a longer
    one is refused up front (above), so it can never stall every release of the vendor."""
    w = world
    w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_bp=1000, reserve_days=MAX_RESERVE_DAYS
    )
    w.m.withdraw_issue(w.oid, w.iid, by=BUYER)
    shipped = w.m.ship(w.oid, by=VENDOR, items={w.line: 1}, carrier="DHL", tracking_number="2")
    for shipment in shipped.shipments:
        w.m.mark_delivered(w.oid, shipment.shipment_id, by=VENDOR)
        w.m.confirm_receipt(w.oid, shipment.shipment_id, by=BUYER)
    report = w.m.run_due(START + dt.timedelta(days=30))
    assert "failed" not in report.timers
    assert w.m.get_hold(w.oid, by=STAFF).released_at is not None


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_r30_r32_reports_at_the_edges_of_the_reportable_dates(
    world: World, granularity: str
) -> None:
    """R30-R32, R25: the first and last reportable days, and a range of exactly
    MAX_REPORT_PERIODS days, are reported (no date arithmetic overflows there); only
    beyond them is a range refused (the table above)."""
    w = world
    for start, end in (
        (FIRST_REPORT_DAY, FIRST_REPORT_DAY + dt.timedelta(days=40)),
        (LAST_REPORT_DAY - dt.timedelta(days=40), LAST_REPORT_DAY),
    ):
        sales = w.m.sales_report("v-1", start=start, end=end, by=STAFF, granularity=granularity)
        assert sales.periods[0].period.first_day == start
        assert sales.periods[-1].period.last_day == end
        w.m.earnings_report("v-1", start=start, end=end, by=STAFF, granularity=granularity)
        assert w.m.bestsellers("v-1", start=start, end=end, by=STAFF).vendor_id == "v-1"
    last = TODAY + dt.timedelta(days=MAX_REPORT_PERIODS - 1)
    daily = w.m.sales_report("v-1", start=TODAY, end=last, by=STAFF, granularity=granularity)
    assert daily.totals[0].orders == 1
