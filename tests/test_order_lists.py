"""Order lists for the vendor dashboard and the buyer's orders (R1, R2, R4, R7, R12, R33, R34).

``Marketplace.list_orders`` / ``buyer_orders``: filters, keyset pages newest first, stable
under concurrent inserts, cursors bound to their query and actor, the authorization rules
and every refusal, on every store.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    InMemoryStore,
    InvalidCursorError,
    InvalidInputError,
    IssueKind,
    Item,
    Marketplace,
    NaiveDatetimeError,
    NotFoundError,
    NotPermitted,
    Order,
    OrderPage,
    OrderStatus,
    SequentialIds,
    SqliteStore,
    _codec,
)
from asolora_core.adapters.sqlite import MIGRATIONS
from asolora_core.adapters.sqlite_orders import ORDER_FACTS_MIGRATION, fact_columns
from asolora_core.orders.listing import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    OrderQuery,
    customer_key,
    matches,
    order_facts,
    order_key,
)
from asolora_core.ports import Store
from asolora_core.reports.performance import fold_performance, performance_row
from asolora_core.testing import strategies as ast
from conftest import START

VENDOR = Actor.vendor("v-1")
OTHER_VENDOR = Actor.vendor("v-2")
BUYER = Actor.buyer("b-1")
OTHER_BUYER = Actor.buyer("b-2")
STAFF = Actor.staff("st-1")

#: What happens to an order after it is placed (facade commands, in this order).
STORIES: tuple[tuple[str, ...], ...] = (
    (),
    ("ship_one",),
    ("ship_all", "deliver"),
    ("ship_all", "deliver", "confirm"),
    ("cancel",),
    ("ship_all", "deliver", "issue"),
    ("refund",),
    ("ship_one", "issue"),
    ("ship_one", "deliver", "ship_all"),
)


def place(
    market: Marketplace,
    *,
    vendor_id: str = "v-1",
    buyer_id: str = "b-1",
    customer_name: str = "Ada Lovelace",
    quantity: int = 2,
) -> Order:
    (order,) = market.place_checkout(
        buyer=Actor.buyer(buyer_id),
        customer_name=customer_name,
        items=[
            Item(
                vendor_id=vendor_id,
                product_id="p-1",
                quantity=quantity,
                unit_price=Money("5.00", "EUR"),
            )
        ],
        paid=Money(5 * quantity, "EUR"),
    )
    return order


def play(market: Marketplace, order: Order, story: Sequence[str]) -> Order:
    """Run ``story`` on ``order`` through the facade; the latest version."""
    vendor, buyer = Actor.vendor(order.vendor_id), Actor.buyer(order.buyer_id)
    oid, line = order.order_id, order.lines[0].line_id
    for step in story:
        last = order.shipments[-1].shipment_id if order.shipments else ""
        tracking = f"T-{oid}-{len(order.shipments)}"
        if step in ("ship_one", "ship_all"):
            units = 1 if step == "ship_one" else order.unshipped()[line]
            order = market.ship(
                oid, by=vendor, items={line: units}, carrier="DHL", tracking_number=tracking
            )
        elif step == "deliver":
            order = market.mark_delivered(oid, last, by=vendor)
        elif step == "confirm":
            order = market.confirm_receipt(oid, last, by=buyer)
        elif step == "cancel":
            order = market.cancel_order(oid, by=buyer)
        elif step == "issue":
            order = market.report_issue(oid, by=buyer, kind=IssueKind.DAMAGED, description="x")
        elif step == "refund":
            order = market.refund(oid, by=vendor, amount=Money("1.00", "EUR"))
        else:  # pragma: no cover - a typo in STORIES
            raise AssertionError(step)
    return order


def every_page(fetch: Callable[[str | None], OrderPage]) -> list[Order]:
    out: list[Order] = []
    page = fetch(None)
    while True:
        out.extend(page.items)
        if page.next_cursor is None:
            return out
        page = fetch(page.next_cursor)


def open_store(kind: str, tmp_path: Path | None = None) -> Store:
    if kind == "memory":
        return InMemoryStore()
    return SqliteStore(":memory:" if tmp_path is None else tmp_path / "lists.db")


# --- the property: pages are exactly the filtered set, whatever is inserted meanwhile ------

ORDER_SPECS = st.tuples(
    st.sampled_from(["v-1", "v-1", "v-2"]),
    st.sampled_from(["b-1", "b-1", "b-2"]),
    st.sampled_from(["Ada Lovelace", "ADA lovelace", "Grace Hopper"]),
    st.integers(0, 2),  # minutes after the previous placement: 0 makes ties
    st.sampled_from(STORIES),
)
FILTER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from(list(OrderStatus)),
    "needs_shipping": st.booleans(),
    "awaiting_confirmation": st.booleans(),
    "open_issue": st.booleans(),
    "customer_name": st.sampled_from([" ada LOVELACE ", "Grace Hopper", "Nobody"]),
    "range": st.tuples(st.integers(0, 25), st.integers(0, 25)).map(sorted),
}
#: Up to two filters at once (more mostly select nothing).
FILTERS = st.lists(st.sampled_from(sorted(FILTER_VALUES)), max_size=2, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({k: FILTER_VALUES[k] for k in keys})
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["memory", "sqlite"]),
    specs=st.lists(ORDER_SPECS, max_size=14),
    filters=FILTERS,
    page_size=st.integers(1, 4),
    inserts=st.integers(0, 2),
    as_buyer=st.booleans(),
)
def test_paging_yields_exactly_the_filtered_orders_newest_first_under_inserts(
    kind: str,
    specs: list[tuple[str, str, str, int, tuple[str, ...]]],
    filters: dict[str, Any],
    page_size: int,
    inserts: int,
    as_buyer: bool,
) -> None:
    """R4, R33: for random orders in every state, any filter and any page size, paging to the
    end yields exactly the orders the filter selects, newest first ((placed_at, order_id)
    descending), each once, even when new orders arrive between page fetches (they are
    newer than the cursor, so they never shift or repeat what later pages show); the same on
    every store."""
    store = open_store(kind)
    clock = FakeClock(START)
    market = Marketplace(store, clock=clock, ids=SequentialIds())
    placed = []
    for vendor_id, buyer_id, name, gap, _ in specs:
        clock.advance(minutes=gap)
        placed.append(place(market, vendor_id=vendor_id, buyer_id=buyer_id, customer_name=name))
    clock.advance(hours=1)
    latest = []
    for order, (*_, story) in zip(placed, specs, strict=True):
        clock.advance(seconds=30)
        latest.append(play(market, order, story))

    args: dict[str, Any] = {k: v for k, v in filters.items() if k != "range"}
    if "range" in filters:
        lo, hi = filters["range"]
        args["placed_from"] = START + dt.timedelta(minutes=lo)
        args["placed_until"] = START + dt.timedelta(minutes=hi)
    query = OrderQuery(
        vendor_id=None if as_buyer else "v-1",
        buyer_id="b-1" if as_buyer else None,
        status=args.get("status"),
        needs_shipping=args.get("needs_shipping"),
        awaiting_confirmation=args.get("awaiting_confirmation"),
        open_issue=args.get("open_issue"),
        placed_from=args.get("placed_from"),
        placed_until=args.get("placed_until"),
        customer=None if as_buyer else customer_key(args.get("customer_name") or "") or None,
    )
    expected = sorted(
        (o for o in latest if matches(query, o, order_facts(o))), key=order_key, reverse=True
    )
    if as_buyer:
        args.pop("customer_name", None)

    def fetch(cursor: str | None) -> OrderPage:
        for _ in range(inserts if cursor is not None else 0):  # arriving between pages
            place(market, vendor_id="v-1", buyer_id="b-1", customer_name="Grace Hopper")
        if as_buyer:
            return market.buyer_orders(by=BUYER, cursor=cursor, page_size=page_size, **args)
        return market.list_orders(
            by=VENDOR, vendor_id="v-1", cursor=cursor, page_size=page_size, **args
        )

    got = every_page(fetch)
    assert [o.order_id for o in got] == [o.order_id for o in expected]
    assert got == expected
    store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(ORDER_SPECS, max_size=10), lo=st.integers(0, 20), span=st.integers(0, 20))
def test_store_performance_totals_are_the_fold_on_every_store(
    specs: list[tuple[str, str, str, int, tuple[str, ...]]], lo: int, span: int
) -> None:
    """R33: for random histories the performance totals of the in-memory and the SQLite
    store both equal the reference fold over the orders placed in the range."""
    results = []
    for kind in ("memory", "sqlite"):
        store = open_store(kind)
        clock = FakeClock(START)
        market = Marketplace(store, clock=clock, ids=SequentialIds())
        placed = []
        for vendor_id, buyer_id, name, gap, _ in specs:
            clock.advance(minutes=gap)
            placed.append(place(market, vendor_id=vendor_id, buyer_id=buyer_id, customer_name=name))
        latest = []
        for order, (*_, story) in zip(placed, specs, strict=True):
            clock.advance(minutes=7)
            latest.append(play(market, order, story))
        since = START + dt.timedelta(minutes=lo)
        until = since + dt.timedelta(minutes=span)
        expected = fold_performance(
            performance_row(o)
            for o in latest
            if o.vendor_id == "v-1" and since <= o.placed_at < until
        )
        with store.unit_of_work() as uow:
            results.append(uow.orders.performance_totals("v-1", since, until))
        assert results[-1] == expected, kind
        store.close()


# --- worked examples -------------------------------------------------------------------------


@pytest.fixture
def shop(market: Marketplace, clock: FakeClock) -> dict[str, Order]:
    """Vendor v-1's orders: ``new`` (unshipped), ``part`` (1 of 2 shipped), ``delivered``
    (awaiting confirmation), ``issue`` (delivered, open issue, Grace Hopper, buyer b-2),
    ``done`` (completed), ``cancelled``; and ``other`` of vendor v-2. One minute apart, in
    that order."""
    stories = {
        "new": (),
        "part": ("ship_one",),
        "delivered": ("ship_all", "deliver"),
        "issue": ("ship_all", "deliver", "issue"),
        "done": ("ship_all", "deliver", "confirm"),
        "cancelled": ("cancel",),
        "other": ("ship_one",),
    }
    placed = {}
    for name in stories:
        clock.advance(minutes=1)
        placed[name] = place(
            market,
            vendor_id="v-2" if name == "other" else "v-1",
            buyer_id="b-2" if name == "issue" else "b-1",
            customer_name="Grace Hopper" if name == "issue" else "Ada Lovelace",
        )
    clock.advance(hours=1)
    return {name: play(market, placed[name], story) for name, story in stories.items()}


def ids(page: OrderPage) -> list[str]:
    return [o.order_id for o in page.items]


def test_each_dashboard_filter_selects_its_orders_newest_first(
    market: Marketplace, shop: dict[str, Order]
) -> None:
    """R4, R7, R9, R12: the vendor's lists, written out: everything newest first; "needs
    shipping" is processing with units left to ship; "awaiting confirmation" has a
    delivered, unconfirmed shipment; "open issue"; by status; by customer name in any
    case; by placement range (from inclusive, until exclusive)."""
    s = {name: o.order_id for name, o in shop.items()}

    def listed(**filters: Any) -> list[str]:
        return ids(market.list_orders(by=VENDOR, vendor_id="v-1", **filters))

    everything = ["cancelled", "done", "issue", "delivered", "part", "new"]
    assert listed() == [s[n] for n in everything]
    assert listed(needs_shipping=True) == [s["part"], s["new"]]
    assert listed(awaiting_confirmation=True) == [s["issue"], s["delivered"]]
    assert listed(open_issue=True) == [s["issue"]]
    assert listed(open_issue=False, awaiting_confirmation=True) == [s["delivered"]]
    assert listed(status=OrderStatus.COMPLETED) == [s["done"]]
    assert listed(status="cancelled") == [s["cancelled"]]
    assert listed(status="processing", needs_shipping=False) == [
        s["issue"],
        s["delivered"],
    ]
    assert listed(customer_name="  grace HOPPER") == [s["issue"]]
    assert listed(customer_name="Grace") == []  # the whole name, not a part of it
    second = shop["part"].placed_at
    assert listed(placed_from=second, placed_until=shop["issue"].placed_at) == [
        s["delivered"],
        s["part"],
    ]
    paris = dt.timezone(dt.timedelta(hours=1))
    assert listed(placed_until=second.astimezone(paris)) == [s["new"]]  # any zone, same instant


def test_default_page_size_and_the_maximum(market: Marketplace, clock: FakeClock) -> None:
    """The default page is 50 orders, the largest 200; the last page has no cursor."""
    assert (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) == (50, 200)
    for _ in range(205):
        place(market)
    first = market.list_orders(by=VENDOR, vendor_id="v-1")
    assert len(first.items) == 50
    assert first.next_cursor is not None
    big = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=200)
    assert len(big.items) == 200
    assert big.next_cursor is not None
    rest = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=200, cursor=big.next_cursor)
    assert len(rest.items) == 5
    assert rest.next_cursor is None
    assert ids(big)[:50] == ids(first)


def test_a_page_that_ends_exactly_at_the_last_order_has_no_cursor(
    market: Marketplace, shop: dict[str, Order]
) -> None:
    """There is no empty page to fetch at the end: 6 orders in pages of 3 are 2 pages."""
    first = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=3)
    assert first.next_cursor is not None
    second = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=3, cursor=first.next_cursor)
    assert len(second.items) == 3
    assert second.next_cursor is None


def test_an_order_that_changes_between_pages_is_shown_as_it_is_now(
    market: Marketplace, shop: dict[str, Order]
) -> None:
    """Pages read the store as it is at each fetch: an order shipped after the first page
    leaves the "needs shipping" list; nothing on the next page repeats the first one."""
    first = market.list_orders(by=VENDOR, vendor_id="v-1", needs_shipping=True, page_size=1)
    assert ids(first) == [shop["part"].order_id]
    new = shop["new"]
    market.ship(
        new.order_id,
        by=VENDOR,
        items={new.lines[0].line_id: 2},
        carrier="DHL",
        tracking_number="NEW",
    )
    rest = market.list_orders(
        by=VENDOR, vendor_id="v-1", needs_shipping=True, page_size=1, cursor=first.next_cursor
    )
    assert rest == OrderPage(items=(), next_cursor=None)


def test_buyer_orders_are_the_buyers_own_with_the_same_filters(
    market: Marketplace, shop: dict[str, Order]
) -> None:
    """R1, R7: a buyer's "my orders" holds its orders of every vendor, newest first; with
    ``awaiting_confirmation=True`` the ones waiting for its "Order Received"; staff read
    any buyer's by naming it."""
    s = {name: o.order_id for name, o in shop.items()}
    mine = ["other", "cancelled", "done", "delivered", "part", "new"]
    assert ids(market.buyer_orders(by=BUYER)) == [s[n] for n in mine]
    assert ids(market.buyer_orders(by=BUYER, awaiting_confirmation=True)) == [s["delivered"]]
    assert ids(market.buyer_orders(by=OTHER_BUYER)) == [s["issue"]]
    assert ids(market.buyer_orders(by=STAFF, buyer_id="b-2", open_issue=True)) == [s["issue"]]


def test_r1_each_actor_lists_only_what_it_may(market: Marketplace, shop: dict[str, Order]) -> None:
    """R1: a vendor lists only its own orders, a buyer only its own, staff any vendor's or
    buyer's; every other combination (another vendor, a buyer, the system) is NotPermitted."""
    v2 = ids(market.list_orders(by=OTHER_VENDOR, vendor_id="v-2"))
    assert v2 == [shop["other"].order_id]
    assert ids(market.list_orders(by=STAFF, vendor_id="v-2")) == v2
    assert all(o.vendor_id == "v-1" for o in market.list_orders(by=STAFF, vendor_id="v-1").items)
    refused: list[Callable[[], object]] = [
        lambda: market.list_orders(by=OTHER_VENDOR, vendor_id="v-1"),
        lambda: market.list_orders(by=BUYER, vendor_id="v-1"),
        lambda: market.list_orders(by=Actor.system(), vendor_id="v-1"),
        lambda: market.buyer_orders(by=OTHER_BUYER, buyer_id="b-1"),
        lambda: market.buyer_orders(by=VENDOR, buyer_id="b-1"),
        lambda: market.buyer_orders(by=Actor.system(), buyer_id="b-1"),
    ]
    for call in refused:
        with pytest.raises(NotPermitted) as info:
            call()
        assert info.value.code == "not_permitted"


@settings(max_examples=40, deadline=None)
@given(actor=ast.actors())
def test_r1_any_other_actor_is_refused_every_list(actor: Actor) -> None:
    """R1: for any actor, the vendor list of v-1 is open only to v-1 and staff, the buyer
    list of b-1 only to b-1 and staff, and the store performance of v-1 only to v-1 and
    staff; every refusal is NotPermitted."""
    market = Marketplace(InMemoryStore(), clock=FakeClock(START), ids=SequentialIds())
    place(market)
    week = (START, START + dt.timedelta(days=7))
    cases: list[tuple[bool, Callable[[], object]]] = [
        (
            actor == VENDOR or actor.kind.value == "staff",
            lambda: market.list_orders(by=actor, vendor_id="v-1"),
        ),
        (
            actor == BUYER or actor.kind.value == "staff",
            lambda: market.buyer_orders(by=actor, buyer_id="b-1"),
        ),
        (
            actor == VENDOR or actor.kind.value == "staff",
            lambda: market.store_performance("v-1", by=actor, since=week[0], until=week[1]),
        ),
    ]
    for allowed, call in cases:
        if allowed:
            call()
        else:
            with pytest.raises(NotPermitted):
                call()


# --- cursors ---------------------------------------------------------------------------------


def test_a_cursor_only_resumes_its_own_list_for_its_own_actor(
    market: Marketplace, shop: dict[str, Order]
) -> None:
    """A cursor is bound to its filters and its actor: altered, made up, or handed to other
    filters, another vendor list, a buyer list or another actor, it is refused with
    ``invalid_cursor``; unchanged, it resumes."""
    page = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=2)
    cursor = page.next_cursor
    assert cursor is not None
    resumed = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=4, cursor=cursor)
    assert len(resumed.items) == 4  # another page size is fine
    body, mac = cursor.split(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    forged_position = _forge(cursor)
    bad: list[Callable[[], object]] = [
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor=flipped + "." + mac),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor=forged_position),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor="not-a-cursor"),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor="a.b.c"),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor="!!.??"),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor=""),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor=cursor, open_issue=True),
        lambda: market.list_orders(by=VENDOR, vendor_id="v-1", cursor=cursor, status="completed"),
        lambda: market.list_orders(by=STAFF, vendor_id="v-1", cursor=cursor),
        lambda: market.list_orders(by=OTHER_VENDOR, vendor_id="v-2", cursor=cursor),
        lambda: market.buyer_orders(by=BUYER, cursor=cursor),
    ]
    for call in bad:
        with pytest.raises(InvalidCursorError) as info:
            call()
        assert info.value.code == "invalid_cursor"
        assert isinstance(info.value, InvalidInputError)
        assert info.value.fields["field"] == "cursor"


def _forge(cursor: str) -> str:
    """The cursor with its position moved (base64 re-encoded properly), MAC kept."""
    import base64

    body, mac = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload[1] += 1
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


# --- bad input -------------------------------------------------------------------------------

NAIVE = dt.datetime(2026, 3, 2, 9, 0)

# (label, call, error class, code, field)
BAD: list[tuple[str, Callable[[Marketplace], object], type[AsoloraError], str, str]] = [
    ("page size 0", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", page_size=0),
     InvalidInputError, "invalid_input", "page_size"),
    ("page size above 200", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", page_size=201),
     InvalidInputError, "invalid_input", "page_size"),
    ("page size negative", lambda m: m.buyer_orders(by=BUYER, page_size=-1),
     InvalidInputError, "invalid_input", "page_size"),
    ("page size a bool", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", page_size=True),
     InvalidInputError, "invalid_input", "page_size"),
    ("page size text", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", page_size="10"),  # type: ignore[arg-type]
     InvalidInputError, "invalid_input", "page_size"),
    ("range ends before it starts",
     lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", placed_from=START,
                             placed_until=START - dt.timedelta(seconds=1)),
     InvalidInputError, "invalid_input", "placed_until"),
    ("naive placed_from", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", placed_from=NAIVE),
     NaiveDatetimeError, "naive_datetime", "placed_from"),
    ("naive placed_until", lambda m: m.buyer_orders(by=BUYER, placed_until=NAIVE),
     NaiveDatetimeError, "naive_datetime", "placed_until"),
    ("placed_from not a datetime",
     lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", placed_from="2026-03-02"),  # type: ignore[arg-type]
     InvalidInputError, "invalid_input", "placed_from"),
    ("unknown status", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", status="shipped"),
     InvalidInputError, "invalid_input", "status"),
    ("flag not a bool",
     lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", needs_shipping="yes"),  # type: ignore[arg-type]
     InvalidInputError, "invalid_input", "needs_shipping"),
    ("flag 1 is not True",
     lambda m: m.buyer_orders(by=BUYER, open_issue=1),  # type: ignore[arg-type]
     InvalidInputError, "invalid_input", "open_issue"),
    ("blank customer name", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", customer_name=" "),
     InvalidInputError, "invalid_input", "customer_name"),
    ("empty vendor id", lambda m: m.list_orders(by=STAFF, vendor_id=""),
     InvalidInputError, "invalid_input", "vendor_id"),
    ("staff without a buyer id", lambda m: m.buyer_orders(by=STAFF),
     InvalidInputError, "invalid_input", "buyer_id"),
    ("by is not an actor", lambda m: m.list_orders(by="v-1", vendor_id="v-1"),  # type: ignore[arg-type]
     InvalidInputError, "invalid_input", "by"),
    ("forged cursor", lambda m: m.list_orders(by=VENDOR, vendor_id="v-1", cursor="eyJ4Ijox.AAAA"),
     InvalidCursorError, "invalid_cursor", "cursor"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "call", "error", "code", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_a_clear_error(
    market: Marketplace,
    order: Order,
    label: str,
    call: Callable[[Marketplace], object],
    error: type[AsoloraError],
    code: str,
    field: str,
) -> None:
    """R2, R34: each malformed list call gets its error class, a stable ``code`` and the
    argument's name, and a message that says what to do."""
    with pytest.raises(error) as info:
        call(market)
    assert type(info.value) is error
    assert info.value.code == code
    assert info.value.fields["field"] == field
    assert len(str(info.value)) > 20


def test_an_unknown_vendor_is_told_apart_from_one_without_orders(market: Marketplace) -> None:
    """Staff naming a vendor that has no order and is not registered get ``not_found``; a
    registered vendor without orders, or a vendor reading its own empty list, get an empty
    page."""
    with pytest.raises(NotFoundError) as info:
        market.list_orders(by=STAFF, vendor_id="v-typo")
    assert info.value.fields["vendor_id"] == "v-typo"
    market.register_vendor("v-new", payout_currency="EUR", by=STAFF)
    assert market.list_orders(by=STAFF, vendor_id="v-new") == OrderPage(items=(), next_cursor=None)
    empty = market.list_orders(by=Actor.vendor("v-fresh"), vendor_id="v-fresh")
    assert empty == OrderPage(items=(), next_cursor=None)
    assert market.buyer_orders(by=Actor.buyer("b-new")).items == ()


def test_an_equal_start_and_end_is_an_empty_range(market: Marketplace, order: Order) -> None:
    """``placed_from == placed_until`` selects nothing (until is exclusive); not an error."""
    page = market.list_orders(
        by=VENDOR, vendor_id="v-1", placed_from=order.placed_at, placed_until=order.placed_at
    )
    assert page.items == ()


# --- storage ---------------------------------------------------------------------------------


def test_sqlite_schema_step_fills_the_facts_of_orders_stored_before_it(
    tmp_path: Path, market: Marketplace, shop: dict[str, Order]
) -> None:
    """R33: a database made before the order-facts schema step is migrated: the step adds
    the columns and fills them from each stored order, so the lists see old orders at
    once."""
    path = tmp_path / "old.db"
    step = MIGRATIONS.index(ORDER_FACTS_MIGRATION)
    conn = sqlite3.connect(path, isolation_level=None)
    for version, script in enumerate(MIGRATIONS[:step], start=1):
        for statement in (s.strip() for s in script.split(";")):
            if statement:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    encode = _codec.encoder(Order)
    for o in shop.values():
        conn.execute(
            "INSERT INTO orders (order_id, version, checkout_id, vendor_id, buyer_id, "
            "customer_key, status, currency, placed_at, completed_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                o.order_id,
                o.version,
                o.checkout_id,
                o.vendor_id,
                o.buyer_id,
                customer_key(o.customer_name),
                o.status.value,
                o.currency,
                _micros(o.placed_at),
                None if o.completed_at is None else _micros(o.completed_at),
                json.dumps(encode(o)),
            ),
        )
    conn.close()

    store = SqliteStore(path)
    assert store.schema_version() == len(MIGRATIONS)
    rows = store.connection().execute(
        "SELECT order_id, paid_minor, refunded_minor, needs_shipping, awaiting_confirmation, "
        "open_issue, issues, first_shipped_at, delivered_at FROM orders"
    )
    stored = {r[0]: tuple(r[1:]) for r in rows}
    assert stored == {o.order_id: fact_columns(o) for o in shop.values()}
    migrated = Marketplace(store, clock=FakeClock(START + dt.timedelta(days=1)))
    assert ids(migrated.list_orders(by=VENDOR, vendor_id="v-1", needs_shipping=True)) == ids(
        market.list_orders(by=VENDOR, vendor_id="v-1", needs_shipping=True)
    )
    store.close()


def _micros(at: dt.datetime) -> int:
    return (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
