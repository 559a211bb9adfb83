"""The authorization matrix (R1, R2, R8): every public facade command by every kind of
actor, on every store. Each cell is allowed or refused with ``NotPermitted``; a refused
command leaves the order, its history and the outbox exactly as they were."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    CompletionIsAutomaticError,
    FakeClock,
    InMemoryStore,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    NotPermitted,
    Order,
    Resolution,
    ReturnKind,
    ReturnPolicy,
    SequentialIds,
)
from asolora_core.testing import strategies as ast
from conftest import START, Snapshot

OWNER_VENDOR = Actor.vendor("v-1")
OTHER_VENDOR = Actor.vendor("v-2")
OWNER_BUYER = Actor.buyer("b-1")
OTHER_BUYER = Actor.buyer("b-2")
STAFF = Actor.staff("st-1")
SYSTEM = Actor.system()
ACTORS = {
    "owner_vendor": OWNER_VENDOR,
    "other_vendor": OTHER_VENDOR,
    "owner_buyer": OWNER_BUYER,
    "other_buyer": OTHER_BUYER,
    "staff": STAFF,
    "system": SYSTEM,
}

A = "allowed"
N = "not_permitted"  # NotPermitted (R1)
AUTO = "completion_is_automatic"  # R8: nobody completes by hand

# fmt: off
#: The expected matrix, written out (R1). Columns in the order of ACTORS.
MATRIX: dict[str, tuple[str, str, str, str, str, str]] = {
    #                     owner_v other_v owner_b other_b staff system
    "place_checkout":    (N,      N,      A,      A,      N,    N),
    "ship":              (A,      N,      N,      N,      N,    N),
    "update_tracking":   (A,      N,      N,      N,      N,    N),
    "mark_delivered":    (A,      N,      N,      N,      A,    N),  # staff: carrier proof
    "confirm_receipt":   (N,      N,      A,      N,      A,    A),  # system: R10
    "cancel_order":      (A,      N,      A,      N,      A,    A),  # staff/system: R40
    "report_issue":      (N,      N,      A,      N,      N,    N),
    "respond_to_issue":  (A,      N,      N,      N,      N,    N),
    "offer_settlement":  (A,      N,      N,      N,      N,    N),
    "answer_settlement": (N,      N,      A,      N,      N,    N),
    "withdraw_issue":    (N,      N,      A,      N,      N,    N),
    "mediate_issue":     (N,      N,      N,      N,      A,    N),
    "refund":            (A,      N,      N,      N,      A,    A),  # system: R40 timer
    "resolve_for_vendor": (N,     N,      N,      N,      A,    N),
    "cancel_after_shipping": (N,  N,      N,      N,      A,    N),
    "request_return":    (N,      N,      A,      N,      N,    N),  # R37
    "accept_return":     (A,      N,      N,      N,      N,    N),  # R37
    "complete_order":    (AUTO,   AUTO,   AUTO,   AUTO,   AUTO, AUTO),
    "get_order":         (A,      N,      A,      N,      A,    A),
    "order_history":     (A,      N,      A,      N,      A,    A),
    "outbox":            (N,      N,      N,      N,      A,    A),
    "list_orders":       (A,      N,      N,      N,      A,    N),  # the vendor dashboard
    "buyer_orders":      (N,      N,      A,      N,      A,    N),  # "my orders"
}
# fmt: on

#: Commands that only read: allowed or not, they change nothing.
READS = {"get_order", "order_history", "outbox", "list_orders", "buyer_orders"}

Call = Callable[[Actor], object]


def _shipped(m: Marketplace, o: Order, *, delivered: bool = False) -> str:
    items = {ln.line_id: ln.quantity for ln in o.lines}
    sid = m.ship(o.order_id, by=OWNER_VENDOR, items=items, carrier="DHL", tracking_number="T-1")
    shipment_id = sid.shipments[-1].shipment_id
    if delivered:
        m.mark_delivered(o.order_id, shipment_id, by=OWNER_VENDOR)
    return shipment_id


def _issue(m: Marketplace, o: Order, *, offer: bool = False) -> str:
    reported = m.report_issue(
        o.order_id, by=OWNER_BUYER, kind=IssueKind.NOT_RECEIVED, description="where is it?"
    )
    iid = reported.issues[-1].issue_id
    if offer:
        m.offer_settlement(
            o.order_id,
            iid,
            by=OWNER_VENDOR,
            resolution=Resolution.REFUND,
            amount=Money("2.00", "EUR"),
        )
    return iid


def prepare(command: str, m: Marketplace, o: Order) -> Call:
    """Bring the order to a state where ``command`` is possible, and return the call."""
    oid = o.order_id
    if command == "place_checkout":
        item = Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=Money("1.00", "EUR"))
        return lambda by: m.place_checkout(
            buyer=by, customer_name="Someone", items=[item], paid=Money("1.00", "EUR")
        )
    if command == "ship":
        line = o.lines[0].line_id
        return lambda by: m.ship(oid, by=by, items={line: 1}, carrier="DHL", tracking_number="T")
    if command == "update_tracking":
        sid = _shipped(m, o)
        return lambda by: m.update_tracking(oid, sid, by=by, note="in hub")
    if command == "mark_delivered":
        sid = _shipped(m, o)
        return lambda by: m.mark_delivered(oid, sid, by=by, reason="carrier proof")
    if command == "confirm_receipt":
        sid = _shipped(m, o, delivered=True)
        return lambda by: m.confirm_receipt(oid, sid, by=by, reason="buyer confirmed by phone")
    if command == "resolve_for_vendor":
        _shipped(m, o, delivered=True)
        iid = _issue(m, o)
        return lambda by: m.resolve_for_vendor(oid, iid, by=by, reason="tracking shows delivery")
    if command == "cancel_after_shipping":
        _shipped(m, o)
        return lambda by: m.cancel_after_shipping(oid, by=by, reason="lost by the carrier")
    if command in ("request_return", "accept_return"):
        policy = ReturnPolicy(returns_accepted=True, window_days=30)
        item = Item(
            vendor_id="v-1",
            product_id="p-cup",
            quantity=1,
            unit_price=Money("4.00", "EUR"),
            policy=policy,
        )
        (o,) = m.place_checkout(
            buyer=OWNER_BUYER, customer_name="Ada Buyer", items=[item], paid=Money("4.00", "EUR")
        )
        oid = o.order_id
        sid = _shipped(m, o, delivered=True)
        m.confirm_receipt(oid, sid, by=OWNER_BUYER)
        line = o.lines[0].line_id
        if command == "request_return":
            return lambda by: m.request_return(
                oid, by=by, kind=ReturnKind.RETURN, items={line: 1}, reason="too small"
            )
        rid = (
            m.request_return(
                oid, by=OWNER_BUYER, kind=ReturnKind.RETURN, items={line: 1}, reason="too small"
            )
            .returns[-1]
            .return_id
        )
        return lambda by: m.accept_return(oid, rid, by=by)
    if command == "cancel_order":
        return lambda by: m.cancel_order(oid, by=by, reason="buyer asked")
    if command == "report_issue":
        return lambda by: m.report_issue(oid, by=by, kind=IssueKind.OTHER, description="?")
    if command == "respond_to_issue":
        iid = _issue(m, o)
        return lambda by: m.respond_to_issue(oid, iid, by=by, message="looking into it")
    if command == "offer_settlement":
        iid = _issue(m, o)
        return lambda by: m.offer_settlement(oid, iid, by=by, resolution=Resolution.REPLACEMENT)
    if command == "answer_settlement":
        iid = _issue(m, o, offer=True)
        return lambda by: m.answer_settlement(oid, iid, by=by, accept=True)
    if command == "withdraw_issue":
        iid = _issue(m, o)
        return lambda by: m.withdraw_issue(oid, iid, by=by)
    if command == "mediate_issue":
        iid = _issue(m, o)
        return lambda by: m.mediate_issue(
            oid, iid, by=by, outcome=IssueOutcome.REJECTED, reason="no evidence"
        )
    if command == "refund":
        return lambda by: m.refund(
            oid, by=by, amount=Money("1.00", "EUR"), reason="goodwill for a late parcel"
        )
    if command == "complete_order":
        return lambda by: m.complete_order(oid, by=by)
    if command == "get_order":
        return lambda by: m.get_order(oid, by=by)
    if command == "order_history":
        return lambda by: m.order_history(oid, by=by)
    if command == "outbox":
        return lambda by: m.outbox(by=by)
    if command == "list_orders":
        return lambda by: m.list_orders(by=by, vendor_id="v-1")
    if command == "buyer_orders":
        return lambda by: m.buyer_orders(by=by, buyer_id="b-1")
    raise AssertionError(command)  # pragma: no cover


def test_r1_matrix_rows_are_the_facades_order_commands() -> None:
    """Every row is a public Marketplace method, and every public order command has a row
    (commands of other aggregates get their own matrix)."""
    public = {
        name
        for name in dir(Marketplace)
        if not name.startswith("_") and callable(getattr(Marketplace, name))
    }
    assert set(MATRIX) <= public
    order_methods = {
        name
        for name in public
        if getattr(getattr(Marketplace, name), "__qualname__", "").startswith("_OrderCommands.")
    }
    assert order_methods - {"orders_of_checkout"} <= set(MATRIX)


CELLS = [
    (command, who, expected)
    for command, row in MATRIX.items()
    for who, expected in zip(ACTORS, row, strict=True)
]


@pytest.mark.parametrize(("command", "who", "expected"), CELLS, ids=lambda v: str(v))
def test_r1_authorization_matrix(
    market: Marketplace,
    order: Order,
    snapshot: Callable[[str], Snapshot],
    command: str,
    who: str,
    expected: str,
) -> None:
    """R1: each command by each kind of actor is allowed, or refused with NotPermitted (R8:
    completion is refused for everyone) and then nothing changed (R2)."""
    call = prepare(command, market, order)
    before = snapshot(order.order_id)
    if expected == A:
        call(ACTORS[who])
        if command not in READS:
            assert snapshot(order.order_id) != before  # the change, or its outbox message
        return
    error: type[AsoloraError] = NotPermitted if expected == N else CompletionIsAutomaticError
    with pytest.raises(AsoloraError) as info:
        call(ACTORS[who])
    assert type(info.value) is error
    assert info.value.code == expected
    assert snapshot(order.order_id) == before


def test_r1_only_the_checkouts_buyer_and_staff_list_its_orders(
    market: Marketplace, order: Order
) -> None:
    """R1: a checkout's orders are listed for its buyer and staff, not another buyer or a
    vendor who is not on it."""
    checkout = order.checkout_id
    assert market.orders_of_checkout(checkout, by=OWNER_BUYER) == (order,)
    assert market.orders_of_checkout(checkout, by=STAFF) == (order,)
    for outsider in (OTHER_BUYER, OTHER_VENDOR):
        with pytest.raises(NotPermitted):
            market.orders_of_checkout(checkout, by=outsider)


@settings(max_examples=30, deadline=None)
@given(actor=ast.actors())
def test_r1_only_the_owner_vendor_ships(actor: Actor) -> None:
    """R1: any actor but the order's own vendor is refused with NotPermitted, and the order
    is unchanged."""
    market = Marketplace(InMemoryStore(), clock=FakeClock(START), ids=SequentialIds())
    item = Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=Money("1.00", "EUR"))
    (order,) = market.place_checkout(
        buyer=OWNER_BUYER, customer_name="Ada", items=[item], paid=Money("1.00", "EUR")
    )
    line = order.lines[0].line_id

    def ship() -> Order:
        return market.ship(
            order.order_id, by=actor, items={line: 1}, carrier="DHL", tracking_number="T"
        )

    if actor == OWNER_VENDOR:
        assert ship().version == 2
        return
    with pytest.raises(NotPermitted):
        ship()
    assert market.get_order(order.order_id, by=STAFF) == order
