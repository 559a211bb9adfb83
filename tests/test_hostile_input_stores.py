"""Hostile input on every store, PostgreSQL included (R2, R33).

Text no store can keep: a NUL character (PostgreSQL ``text`` and ``jsonb`` refuse it) or an
unpaired surrogate (not encodable as UTF-8, which SQLite and PostgreSQL need) in any id, key,
name or free text is refused with ``invalid_input`` naming the field, and leaves every row as
it was, on every store. Before the fix the in-memory store (and SQLite, for NUL) kept such text
while PostgreSQL raised a driver error outside the error family. A time zone name naming a
folder of the tz database is ``unknown_time_zone`` (it was ``IsADirectoryError``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

import test_hostile_input
from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    IssueKind,
    Item,
    Marketplace,
    Resolution,
    ReturnKind,
    SequentialIds,
)
from asolora_core.limits import check_storable
from conftest import START, open_store
from store_digest import digest
from test_hostile_input import World

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")
#: a NUL character, and an unpaired (high) surrogate
BAD = {"nul": "a\x00b", "surrogate": "a\ud800b"}
#: the fixture of test_hostile_input: the same world on every store
world = test_hostile_input.world


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def _checkout(w: World, s: str, **change: Any) -> object:
    item: dict[str, Any] = {"vendor_id": "v-1", "product_id": "p", "quantity": 1}
    item.update(change.pop("item", {}))
    args: dict[str, Any] = {
        "buyer": BUYER,
        "customer_name": "Ada",
        "items": [Item(unit_price=eur("4.00"), **item)],
        "paid": eur("4.00"),
    }
    args.update(change)
    return w.m.place_checkout(**args)


class Case(NamedTuple):
    name: str
    call: Callable[[World, str], object]


# fmt: off
CASES: list[Case] = [
    Case("checkout: customer_name", lambda w, s: _checkout(w, s, customer_name=s)),
    Case("checkout: product_id", lambda w, s: _checkout(w, s, item={"product_id": s})),
    Case("checkout: title", lambda w, s: _checkout(w, s, item={"title": s})),
    Case("checkout: vendor_id", lambda w, s: _checkout(w, s, item={"vendor_id": s})),
    Case("checkout: idempotency_key", lambda w, s: _checkout(w, s, idempotency_key=s)),
    Case("register_vendor: vendor_id", lambda w, s: w.m.register_vendor(
        s, payout_currency="EUR", by=STAFF)),
    Case("ship: carrier", lambda w, s: w.m.ship(
        w.oid, by=VENDOR, items={w.line: 1}, carrier=s, tracking_number="2")),
    Case("ship: tracking_number", lambda w, s: w.m.ship(
        w.oid, by=VENDOR, items={w.line: 1}, carrier="DHL", tracking_number=s)),
    Case("ship: line id", lambda w, s: w.m.ship(
        w.oid, by=VENDOR, items={s: 1}, carrier="DHL", tracking_number="2")),
    Case("update_tracking: note", lambda w, s: w.m.update_tracking(
        w.oid, w.sid, by=VENDOR, note=s)),
    Case("update_tracking: tracking_number", lambda w, s: w.m.update_tracking(
        w.oid, w.sid, by=VENDOR, tracking_number=s)),
    Case("report_issue: description", lambda w, s: w.m.report_issue(
        w.oid, by=BUYER, kind=IssueKind.OTHER, description=s)),
    Case("respond_to_issue: message", lambda w, s: w.m.respond_to_issue(
        w.oid, w.iid, by=VENDOR, message=s)),
    Case("respond_to_issue: issue_id", lambda w, s: w.m.respond_to_issue(
        w.oid, s, by=VENDOR, message="ok")),
    Case("cancel_order: reason", lambda w, s: w.m.cancel_order(w.oid, by=BUYER, reason=s)),
    Case("request_return: reason", lambda w, s: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: 1}, reason=s)),
    Case("request_return: condition", lambda w, s: w.m.request_return(
        w.oid, by=BUYER, kind=ReturnKind.RETURN, items={w.line: 1}, reason="size",
        condition=s)),
    Case("offer_settlement: message", lambda w, s: w.m.offer_settlement(
        w.oid, w.iid, by=VENDOR, resolution=Resolution.REFUND, amount=eur("1.00"), message=s)),
    Case("freeze_release: reason", lambda w, s: w.m.freeze_release(w.oid, by=STAFF, reason=s)),
    Case("report_chargeback: reference", lambda w, s: w.m.report_chargeback(
        w.oid, by=STAFF, amount=eur("1.00"), reference=s)),
    Case("set_payout_terms: reason", lambda w, s: w.m.set_payout_terms(
        "v-1", by=STAFF, reason=s, reserve_days=3)),
    Case("adjust_balance: reason", lambda w, s: w.m.adjust_balance(
        "v-1", by=STAFF, amount=eur("1.00"), reason=s)),
    Case("start_conversation: text", lambda w, s: w.m.start_conversation(
        by=BUYER, vendor_id="v-1", text=s)),
    Case("start_conversation: order_id", lambda w, s: w.m.start_conversation(
        by=BUYER, vendor_id="v-1", order_id=s)),
    Case("post_message: text", lambda w, s: w.m.post_message(w.cid, by=BUYER, text=s)),
    Case("post_message: attachment", lambda w, s: w.m.post_message(
        w.cid, by=BUYER, text="see", attachments=[s])),
    Case("post_message: idempotency_key", lambda w, s: w.m.post_message(
        w.cid, by=BUYER, text="hi", idempotency_key=s)),
    Case("get_order: order_id", lambda w, s: w.m.get_order(s, by=STAFF)),
    Case("list_orders: vendor_id", lambda w, s: w.m.list_orders(by=STAFF, vendor_id=s)),
    Case("get_conversation: conversation_id", lambda w, s: w.m.get_conversation(s, by=STAFF)),
    Case("messages: conversation_id", lambda w, s: w.m.messages(s, by=STAFF)),
    Case("conversation_history: conversation_id", lambda w, s: w.m.conversation_history(
        s, by=STAFF)),
    Case("conversations_for_vendor: vendor_id", lambda w, s: w.m.conversations_for_vendor(
        s, by=STAFF)),
    Case("order_history: order_id", lambda w, s: w.m.order_history(s, by=STAFF)),
    Case("orders_of_checkout: checkout_id", lambda w, s: w.m.orders_of_checkout(s, by=STAFF)),
    Case("buyer_orders: buyer_id", lambda w, s: w.m.buyer_orders(by=STAFF, buyer_id=s)),
    Case("get_vendor: vendor_id", lambda w, s: w.m.get_vendor(s, by=STAFF)),
    Case("balance: vendor_id", lambda w, s: w.m.balance(s, by=STAFF)),
    Case("statement: vendor_id", lambda w, s: w.m.statement(s, by=STAFF)),
    Case("get_hold: order_id", lambda w, s: w.m.get_hold(s, by=STAFF)),
    Case("holds: vendor_id", lambda w, s: w.m.holds(s, by=STAFF)),
    Case("payouts: vendor_id", lambda w, s: w.m.payouts(s, by=STAFF)),
    Case("lift_freeze: reason", lambda w, s: w.m.lift_freeze(w.oid, by=STAFF, reason=s)),
    Case("mark_delivered: reason", lambda w, s: w.m.mark_delivered(
        w.oid, w.sid, by=STAFF, reason=s)),
    Case("resolve_for_vendor: reason", lambda w, s: w.m.resolve_for_vendor(
        w.oid, w.iid, by=STAFF, reason=s)),
    Case("chargeback_won: reference", lambda w, s: w.m.chargeback_won(
        w.oid, by=STAFF, reference=s)),
    Case("pay_out: vendor_id", lambda w, s: w.m.pay_out(s, by=STAFF)),
    Case("rebuild_reports: vendor_id", lambda w, s: w.m.rebuild_reports(s, by=STAFF)),
    Case("sales_report: vendor_id", lambda w, s: w.m.sales_report(
        s, by=STAFF, start=START.date(), end=START.date())),
    Case("bestsellers: vendor_id", lambda w, s: w.m.bestsellers(
        s, by=STAFF, start=START.date(), end=START.date())),
    Case("earnings_report: vendor_id", lambda w, s: w.m.earnings_report(
        s, by=STAFF, start=START.date(), end=START.date())),
    Case("store_performance: vendor_id", lambda w, s: w.m.store_performance(
        s, by=STAFF, since=START, until=START + dt.timedelta(days=1))),
    Case("response_times: vendor_id", lambda w, s: w.m.response_times(
        s, by=STAFF, since=START, until=START + dt.timedelta(days=1))),
]
# fmt: on


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_r2_r33_unstorable_text_is_refused_on_every_store_and_changes_nothing(
    world: World, case: Case, bad: str
) -> None:
    """R2, R33: ``invalid_input`` (never a driver error), the same on every store, judged
    before any unit of work or reader opens, and every row (orders, journal, outbox,
    idempotency records) identical before and after."""
    before = digest(world.store)
    opened = world.store.opened
    with pytest.raises(AsoloraError) as info:
        case.call(world, BAD[bad])
    assert info.value.code == "invalid_input", repr(info.value)
    assert "NUL" in str(info.value) or "surrogate" in str(info.value), str(info.value)
    assert world.store.opened == opened, "judged inside a unit of work"
    assert digest(world.store) == before


@pytest.mark.parametrize("bad", sorted(BAD))
def test_r2_an_actor_with_unstorable_id_is_refused(bad: str) -> None:
    with pytest.raises(AsoloraError) as info:
        Actor.buyer(BAD[bad])
    assert info.value.code == "invalid_input"
    assert info.value.fields["field"] == "actor.id"


@given(st.text(max_size=20))
def test_check_storable_refuses_exactly_what_utf8_and_postgresql_cannot_hold(text: str) -> None:
    """The invariant behind the check: text is refused exactly when it holds a NUL or does
    not encode as UTF-8."""
    try:
        text.encode("utf-8")
        storable = "\x00" not in text
    except UnicodeEncodeError:
        storable = False
    if storable:
        assert check_storable(text, "f") == text
    else:
        with pytest.raises(AsoloraError) as info:
            check_storable(text, "f")
        assert info.value.code == "invalid_input"


@pytest.mark.postgres
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(name=st.text(min_size=1, max_size=30).filter(lambda t: t.strip() != ""))
def test_r33_any_customer_name_is_kept_or_refused_alike_on_every_store(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    """R33, differential: whatever text a caller sends as a name, every store either keeps it
    and reads the same text back, or refuses it with the same code."""
    outcomes: list[object] = []
    for kind in ("memory", "sqlite", "postgres"):
        store = open_store(kind, tmp_path_factory.mktemp(kind))
        try:
            m = Marketplace(store, clock=FakeClock(START), ids=SequentialIds())
            m.register_vendor("v-1", payout_currency="EUR", by=STAFF)
            try:
                (order,) = m.place_checkout(
                    buyer=BUYER,
                    customer_name=name,
                    items=[Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=eur("1"))],
                    paid=eur("1"),
                )
            except AsoloraError as error:
                outcomes.append(error.code)
            else:
                outcomes.append(m.get_order(order.order_id, by=STAFF).customer_name)
        finally:
            store.close()
    assert len(set(outcomes)) == 1, outcomes


@pytest.mark.parametrize("name", ["Europe", "America/Argentina", "Etc"])
def test_r2_r33_a_time_zone_name_that_is_a_folder_is_refused_in_the_family(
    world: World, name: str
) -> None:
    """R2: a time zone name naming a folder of the tz database (``Europe``) made ``ZoneInfo``
    raise ``IsADirectoryError``, outside the error family; it is ``unknown_time_zone`` like
    any other unknown name, on every store, and writes nothing."""
    before = digest(world.store)
    with pytest.raises(AsoloraError) as info:
        world.m.register_vendor("v-2", payout_currency="EUR", by=STAFF, timezone=name)
    assert info.value.code == "unknown_time_zone"
    assert info.value.fields["field"] == "timezone"
    assert digest(world.store) == before
