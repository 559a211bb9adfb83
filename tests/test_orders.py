"""Worked order stories through the facade, on every store, with every figure written out
(R3, R5-R14, R20, R29, R35, R38, R42)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    CompletionIsAutomaticError,
    DisputeWindowClosedError,
    FakeClock,
    IdempotencyKeyReusedError,
    InMemoryStore,
    InvalidInputError,
    InvalidTransitionError,
    IssueKind,
    IssueOpenError,
    IssueOutcome,
    IssueStatus,
    Item,
    Marketplace,
    MarketplaceConfig,
    Order,
    OrderStatus,
    RecordingNotifier,
    RefundExceedsPaidError,
    Resolution,
    SequentialIds,
    ShipmentStatus,
    from_minor,
    to_minor,
)
from asolora_core.testing import strategies as ast
from conftest import START, MarketFactory, Snapshot

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")
SnapshotOf = Callable[[str], Snapshot]


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def at(**delta: float) -> dt.datetime:
    return START + dt.timedelta(**delta)


def line_ids(order: Order) -> tuple[str, str]:
    first, second = order.lines
    return first.line_id, second.line_id


def ship_all_in_one(market: Marketplace, order: Order) -> Order:
    l0, l1 = line_ids(order)
    return market.ship(
        order.order_id, by=VENDOR, items={l0: 2, l1: 1}, carrier="DHL", tracking_number="T-ALL"
    )


# --- R3 checkout ----------------------------------------------------------------------------


def test_r3_checkout_split_across_three_vendors_with_a_discount(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R3: one order per vendor; the payment (150.00, below the 174.37 gross) is split to the
    cent by largest remainders, first across orders, then within each order.

    Gross: v-a 2 x 19.99 + 5.00 + shipping 4.90 = 49.88; v-b 3 x 7.33 = 21.99;
    v-c 100.00 + shipping 2.50 = 102.50; total 174.37 = 17437 cents; paid 15000.
    Orders: 15000 x 4988 / 17437 = 4290.876, x 2199 / 17437 = 1891.667,
    x 10250 / 17437 = 8817.457; floors 4290 + 1891 + 8817 = 14998, the 2 cents left go to
    the largest remainders (.876 v-a, .667 v-b): 4291, 1892, 8817.
    v-a within: 4291 x (3998, 500, 490) / 4988 = 3439.338, 430.132, 421.530; floors 4290,
    1 cent to shipping (.530): 3439, 430, 422.
    v-b: 1892 all on its line (no shipping).
    v-c: 8817 x (10000, 250) / 10250 = 8601.951, 215.049; 1 cent to the line: 8602, 215.
    """
    orders = market.place_checkout(
        buyer=Actor.buyer("b-1"),
        customer_name="Ada Buyer",
        items=[
            Item(vendor_id="v-a", product_id="a1", quantity=2, unit_price=eur("19.99")),
            Item(vendor_id="v-b", product_id="b1", quantity=3, unit_price=eur("7.33")),
            Item(vendor_id="v-a", product_id="a2", quantity=1, unit_price=eur("5.00")),
            Item(vendor_id="v-c", product_id="c1", quantity=1, unit_price=eur("100.00")),
        ],
        paid=eur("150.00"),
        shipping={"v-a": eur("4.90"), "v-c": eur("2.50")},
    )
    assert [o.vendor_id for o in orders] == ["v-a", "v-b", "v-c"]
    assert [o.paid_minor for o in orders] == [4291, 1892, 8817]
    assert [[ln.paid_minor for ln in o.lines] for o in orders] == [[3439, 430], [1892], [8602]]
    assert [[ln.product_id for ln in o.lines] for o in orders] == [["a1", "a2"], ["b1"], ["c1"]]
    assert [o.shipping_paid_minor for o in orders] == [422, 0, 215]
    assert sum(o.paid_minor for o in orders) == 15000
    assert len({o.checkout_id for o in orders}) == 1
    assert all(o.status is OrderStatus.PROCESSING and o.version == 1 for o in orders)
    assert all(o.currency == "EUR" and o.buyer_id == "b-1" for o in orders)
    assert all(o.placed_at == START for o in orders)
    assert market.orders_of_checkout(orders[0].checkout_id, by=Actor.buyer("b-1")) == orders

    market.deliver_notifications()
    placed = [(n.recipient.key, n.kind, n.subject_id) for _, n in notifier.sent]
    assert placed == [
        ("vendor:v-a", "order.placed", orders[0].order_id),
        ("buyer:b-1", "order.receipt", orders[0].order_id),
        ("vendor:v-b", "order.placed", orders[1].order_id),
        ("buyer:b-1", "order.receipt", orders[1].order_id),
        ("vendor:v-c", "order.placed", orders[2].order_id),
        ("buyer:b-1", "order.receipt", orders[2].order_id),
    ]
    receipt = notifier.sent[1][1]
    assert receipt.text == (
        f"Thank you for your order {orders[0].order_id}: 42.91 EUR paid. This is your receipt."
    )


# --- R5-R9 shipping, delivery, confirmation, completion ------------------------------------


def test_r5_r6_r7_r9_multi_shipment_order_completes_on_the_last_confirmation(
    market: Marketplace, clock: FakeClock, order: Order
) -> None:
    """R5-R7, R9: two shipments, tracking kept in order, delivered, confirmed one by one;
    the order completes by itself at the instant of the last confirmation."""
    oid = order.order_id
    l0, l1 = line_ids(order)
    assert order.fulfilment.state == "unshipped"

    clock.advance(hours=1)
    o = market.ship(oid, by=VENDOR, items={l0: 1}, carrier="DHL", tracking_number="T-1")
    s1 = o.shipments[0].shipment_id
    assert (o.version, o.fulfilment.state) == (2, "partially_shipped")
    clock.advance(hours=1)
    o = market.ship(oid, by=VENDOR, items={l0: 1, l1: 1}, carrier="UPS", tracking_number="T-2")
    s2 = o.shipments[1].shipment_id
    assert (o.version, o.fulfilment.state) == (3, "shipped")
    assert o.unshipped() == {l0: 0, l1: 0}

    clock.advance(hours=1)
    market.update_tracking(oid, s1, by=VENDOR, note="arrived at hub")
    clock.advance(hours=1)
    market.update_tracking(oid, s1, by=VENDOR, tracking_number="T-1B")
    clock.advance(hours=1)
    o = market.update_tracking(oid, s2, by=VENDOR, carrier="GLS", note="handed over")
    ship1, ship2 = o.shipments
    assert [(e.at, e.carrier, e.tracking_number, e.note) for e in ship1.tracking] == [
        (at(hours=1), "DHL", "T-1", ""),
        (at(hours=3), "DHL", "T-1", "arrived at hub"),
        (at(hours=4), "DHL", "T-1B", ""),
    ]
    assert [(e.at, e.carrier, e.tracking_number, e.note) for e in ship2.tracking] == [
        (at(hours=2), "UPS", "T-2", ""),
        (at(hours=5), "GLS", "T-2", "handed over"),
    ]
    assert (ship1.carrier, ship1.tracking_number, o.version) == ("DHL", "T-1B", 6)

    clock.set(at(days=1))
    o = market.mark_delivered(oid, s1, by=VENDOR)
    assert o.fulfilment.state == "partially_delivered"
    assert o.shipments[0].delivered_at == at(days=1)
    with pytest.raises(InvalidTransitionError):  # R6: only until delivered
        market.update_tracking(oid, s1, by=VENDOR, note="late scan")
    with pytest.raises(InvalidTransitionError):  # R9: only a delivered shipment is confirmed
        market.confirm_receipt(oid, s2, by=BUYER)

    clock.set(at(days=2))
    o = market.confirm_receipt(oid, s1, by=BUYER)
    assert (o.status, o.fulfilment.state, o.completed_at) == (
        OrderStatus.PROCESSING,
        "partially_confirmed",
        None,
    )
    clock.set(at(days=3))
    market.mark_delivered(oid, s2, by=VENDOR)
    clock.set(at(days=4, hours=1, seconds=7))
    o = market.confirm_receipt(oid, s2, by=BUYER)
    assert o.status is OrderStatus.COMPLETED
    assert o.completed_at == at(days=4, hours=1, seconds=7)
    assert [s.status for s in o.shipments] == [ShipmentStatus.CONFIRMED] * 2
    assert [s.confirmed_at for s in o.shipments] == [at(days=2), at(days=4, hours=1, seconds=7)]
    assert (o.version, o.fulfilment.state) == (10, "confirmed")  # 1 + 9 commands
    assert market.get_order(oid, by=BUYER) == o


def test_r8_manual_completion_is_refused_for_everyone(
    market: Marketplace, order: Order, snapshot: SnapshotOf
) -> None:
    """R8: no actor marks an order completed; the error says completion is automatic."""
    before = snapshot(order.order_id)
    for actor in (VENDOR, BUYER, STAFF, Actor.system()):
        with pytest.raises(CompletionIsAutomaticError, match="by itself") as info:
            market.complete_order(order.order_id, by=actor)
        assert info.value.code == "completion_is_automatic"
    assert snapshot(order.order_id) == before


# --- R11 cancellation --------------------------------------------------------------------


@pytest.mark.parametrize("canceller", [BUYER, VENDOR], ids=["buyer", "vendor"])
def test_r11_cancel_before_shipping_refunds_in_full(
    market: Marketplace, clock: FakeClock, order: Order, canceller: Actor
) -> None:
    """R11: before anything ships, buyer or vendor cancel; the buyer gets all 28.00 back."""
    clock.advance(minutes=30)
    o = market.cancel_order(order.order_id, by=canceller, reason="changed mind")
    assert o.status is OrderStatus.CANCELLED
    assert o.cancelled_at == at(minutes=30)
    assert o.refunded_minor == 2800 == o.paid_minor
    (refund,) = o.refunds
    assert (refund.amount_minor, refund.shipping_minor, refund.before_shipping) == (2800, 300, True)
    assert [(ln.cancelled, ln.refunded_quantity) for ln in o.lines] == [(2, 2), (1, 1)]
    assert o.fulfilment.state == "cancelled"
    with pytest.raises(InvalidTransitionError):
        market.ship(
            order.order_id,
            by=VENDOR,
            items={o.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="T-9",
        )


def test_r20_r29_the_refund_notification_tells_the_buyer_how_much(
    market: Marketplace, notifier: RecordingNotifier, order: Order
) -> None:
    """R20, R29: the buyer's ``refund.issued`` names the amount going back: a cancel before
    shipping refunds all 28.00 EUR (two units at 10.00, one at 5.00, 3.00 shipping)."""
    market.cancel_order(order.order_id, by=BUYER, reason="changed mind")
    market.deliver_notifications()
    texts = [n.text for _, n in notifier.sent if n.kind == "refund.issued"]
    assert texts == [f"A refund of 28.00 EUR was issued on order {order.order_id}."]


def test_r11_cancel_after_a_shipment_is_refused(
    market: Marketplace, order: Order, snapshot: SnapshotOf
) -> None:
    """R11: once a shipment exists, cancelling is refused (refund instead) and changes
    nothing."""
    l0, _ = line_ids(order)
    market.ship(order.order_id, by=VENDOR, items={l0: 1}, carrier="DHL", tracking_number="T-1")
    before = snapshot(order.order_id)
    for actor in (BUYER, VENDOR):
        with pytest.raises(InvalidTransitionError, match="refund it instead"):
            market.cancel_order(order.order_id, by=actor)
    assert snapshot(order.order_id) == before


# --- R12-R14, R38 issues ---------------------------------------------------------------------


def _two_shipments_delivered(market: Marketplace, order: Order) -> tuple[str, str]:
    """Line 0 ships in s1, line 1 in s2; both delivered."""
    l0, l1 = line_ids(order)
    oid = order.order_id
    s1 = market.ship(oid, by=VENDOR, items={l0: 2}, carrier="DHL", tracking_number="T-1")
    s2 = market.ship(oid, by=VENDOR, items={l1: 1}, carrier="DHL", tracking_number="T-2")
    first, second = s1.shipments[0].shipment_id, s2.shipments[1].shipment_id
    market.mark_delivered(oid, first, by=VENDOR)
    market.mark_delivered(oid, second, by=VENDOR)
    return first, second


def test_r12_r14_r38_issue_response_blocks_confirmation_then_accepted_refund(
    market: Marketplace, clock: FakeClock, order: Order
) -> None:
    """R12: report, vendor notified, first response time recorded; R14: the open issue blocks
    confirming its shipment (not the other one); R38: an accepted partial refund is refunded
    and settles the issue; then the order completes."""
    oid = order.order_id
    l0, _ = line_ids(order)
    s1, s2 = _two_shipments_delivered(market, order)
    clock.set(at(hours=1))
    o = market.report_issue(
        oid, by=BUYER, kind=IssueKind.DAMAGED, description="chipped mug", line_ids=[l0]
    )
    issue = o.issues[-1]
    iid = issue.issue_id
    assert (issue.status, issue.line_ids, issue.reported_at) == (
        IssueStatus.OPEN,
        (l0,),
        at(hours=1),
    )
    with pytest.raises(IssueOpenError) as blocked:
        market.confirm_receipt(oid, s1, by=BUYER)
    assert blocked.value.fields["issue_ids"] == [iid]
    market.confirm_receipt(oid, s2, by=BUYER)  # line 1 is not disputed

    clock.set(at(hours=3, minutes=20))
    o = market.respond_to_issue(oid, iid, by=VENDOR, message="Sorry! Photo please?")
    assert o.issues[-1].first_response_at == at(hours=3, minutes=20)
    clock.set(at(hours=5))
    o = market.respond_to_issue(oid, iid, by=VENDOR, message="Thanks, got it.")
    assert o.issues[-1].first_response_at == at(hours=3, minutes=20)  # the first one stays

    o = market.offer_settlement(
        oid,
        iid,
        by=VENDOR,
        resolution=Resolution.REFUND,
        amount=eur("4.50"),
        message="half of one mug",
    )
    assert o.refunds == ()
    clock.set(at(hours=6))
    o = market.answer_settlement(oid, iid, by=BUYER, accept=True)
    settled = o.issues[-1]
    assert (settled.status, settled.outcome, settled.closed_at) == (
        IssueStatus.CLOSED,
        IssueOutcome.SETTLED_REFUND,
        at(hours=6),
    )
    (refund,) = o.refunds
    assert (refund.amount_minor, refund.issue_id, refund.at) == (450, iid, at(hours=6))
    assert (o.refunded_minor, o.refundable_minor) == (450, 2350)
    assert o.status is OrderStatus.PROCESSING
    clock.set(at(hours=7))
    o = market.confirm_receipt(oid, s1, by=BUYER)
    assert (o.status, o.completed_at) == (OrderStatus.COMPLETED, at(hours=7))


def test_r38_declined_offer_keeps_the_issue_open_then_r13_mediated_refund(
    market: Marketplace, order: Order
) -> None:
    """R38: a declined offer leaves the issue open; R13: staff mediate a 7.50 refund."""
    oid = order.order_id
    s1, _ = _two_shipments_delivered(market, order)
    o = market.report_issue(oid, by=BUYER, kind=IssueKind.NOT_AS_DESCRIBED, description="blue")
    iid = o.issues[-1].issue_id
    market.offer_settlement(oid, iid, by=VENDOR, resolution=Resolution.REFUND, amount=eur("1.00"))
    o = market.answer_settlement(oid, iid, by=BUYER, accept=False)
    issue = o.issues[-1]
    assert (issue.status, issue.offers[-1].accepted, o.refunds) == (IssueStatus.OPEN, False, ())
    with pytest.raises(IssueOpenError):  # a whole-order issue blocks every shipment
        market.confirm_receipt(oid, s1, by=BUYER)
    o = market.mediate_issue(
        oid,
        iid,
        by=STAFF,
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=eur("7.50"),
        reason="the photos show the damage",
    )
    assert (o.issues[-1].status, o.issues[-1].outcome) == (
        IssueStatus.CLOSED,
        IssueOutcome.MEDIATED_REFUND,
    )
    assert [(r.amount_minor, r.issue_id) for r in o.refunds] == [(750, iid)]
    assert o.refundable_minor == 2050


def test_r13_mediated_replacement_must_ship_and_be_confirmed_before_completion(
    market: Marketplace, order: Order
) -> None:
    """R13, R9: a replacement outcome keeps the order open until the replacement ships and
    is confirmed; a rejected issue just closes."""
    oid = order.order_id
    l0, l1 = line_ids(order)
    s1, s2 = _two_shipments_delivered(market, order)
    o = market.report_issue(
        oid, by=BUYER, kind=IssueKind.WRONG_ITEM, description="green tea", line_ids=[l1]
    )
    rejected = o.issues[-1].issue_id
    o = market.mediate_issue(
        oid, rejected, by=STAFF, outcome=IssueOutcome.REJECTED, reason="no evidence"
    )
    assert (o.issues[-1].outcome, o.refunds) == (IssueOutcome.REJECTED, ())
    o = market.report_issue(
        oid, by=BUYER, kind=IssueKind.WRONG_ITEM, description="again", line_ids=[l1]
    )
    iid = o.issues[-1].issue_id
    o = market.mediate_issue(
        oid, iid, by=STAFF, outcome=IssueOutcome.MEDIATED_REPLACEMENT, reason="wrong item sent"
    )
    assert o.issues[-1].awaits_replacement
    market.confirm_receipt(oid, s1, by=BUYER)
    o = market.confirm_receipt(oid, s2, by=BUYER)
    assert o.status is OrderStatus.PROCESSING  # the replacement is still owed
    o = market.ship(
        oid, by=VENDOR, items={l1: 1}, carrier="DHL", tracking_number="T-R", replacement_for=iid
    )
    s3 = o.shipments[-1].shipment_id
    assert (o.shipments[-1].replacement_for, o.issues[-1].awaits_replacement) == (iid, False)
    market.mark_delivered(oid, s3, by=VENDOR)
    o = market.confirm_receipt(oid, s3, by=BUYER)
    assert o.status is OrderStatus.COMPLETED
    assert l0  # line 0 was never disputed


def test_r14_reporting_on_confirmed_items_is_refused(
    market: Marketplace, order: Order, snapshot: SnapshotOf
) -> None:
    """R14: confirming receipt closes the dispute window for that shipment's items; once the
    order is completed nothing can be reported."""
    oid = order.order_id
    l0, l1 = line_ids(order)
    s1, s2 = _two_shipments_delivered(market, order)
    market.confirm_receipt(oid, s1, by=BUYER)
    before = snapshot(oid)
    with pytest.raises(DisputeWindowClosedError):
        market.report_issue(oid, by=BUYER, kind=IssueKind.DAMAGED, description="x", line_ids=[l0])
    with pytest.raises(DisputeWindowClosedError):  # mixing a closed line in is refused too
        market.report_issue(
            oid, by=BUYER, kind=IssueKind.DAMAGED, description="x", line_ids=[l0, l1]
        )
    assert snapshot(oid) == before
    o = market.report_issue(oid, by=BUYER, kind=IssueKind.DAMAGED, description="x", line_ids=[l1])
    market.withdraw_issue(oid, o.issues[-1].issue_id, by=BUYER)
    assert market.confirm_receipt(oid, s2, by=BUYER).status is OrderStatus.COMPLETED
    before = snapshot(oid)
    with pytest.raises(DisputeWindowClosedError):
        market.report_issue(oid, by=BUYER, kind=IssueKind.OTHER, description="whole order")
    assert snapshot(oid) == before


# --- R10 auto-confirmation --------------------------------------------------------------------


def test_r10_r40_auto_confirm_defaults_to_14_days(
    market: Marketplace, clock: FakeClock, order: Order
) -> None:
    """R10, R40: by default a delivered shipment the buyer neither confirms nor disputes is
    confirmed by the system 14 days after delivery, so a silent buyer never holds the
    vendor's money forever."""
    o = ship_all_in_one(market, order)
    market.mark_delivered(order.order_id, o.shipments[0].shipment_id, by=VENDOR)
    clock.advance(days=14, seconds=-1)
    assert "auto_confirm" not in market.run_due().timers
    clock.advance(seconds=1)
    assert market.run_due().timers["auto_confirm"] == 1
    o = market.get_order(order.order_id, by=STAFF)
    assert (o.shipments[0].status, o.status) == (ShipmentStatus.CONFIRMED, OrderStatus.COMPLETED)


def test_r10_auto_confirm_can_be_switched_off(
    make_market: MarketFactory, clock: FakeClock, order: Order
) -> None:
    """R10: ``auto_confirm_after=None`` lets a delivered shipment wait for the buyer."""
    market = make_market(MarketplaceConfig(auto_confirm_after=None))
    o = ship_all_in_one(market, order)
    market.mark_delivered(order.order_id, o.shipments[0].shipment_id, by=VENDOR)
    clock.advance(days=365)
    assert "auto_confirm" not in market.run_due().timers
    o = market.get_order(order.order_id, by=STAFF)
    assert (o.shipments[0].status, o.status) == (ShipmentStatus.DELIVERED, OrderStatus.PROCESSING)


def test_r10_auto_confirm_after_n_days_when_configured(
    make_market: MarketFactory, clock: FakeClock, order: Order
) -> None:
    """R10: with auto_confirm_after=7 days the system confirms a delivered shipment 7 days
    after delivery (not before), which completes the order at the sweep's instant."""
    market = make_market(MarketplaceConfig(auto_confirm_after=dt.timedelta(days=7)))
    oid = order.order_id
    sid = ship_all_in_one(market, order).shipments[0].shipment_id
    clock.set(at(hours=2))
    market.mark_delivered(oid, sid, by=VENDOR)
    clock.set(at(days=7, hours=1, minutes=59))
    assert "auto_confirm" not in market.run_due().timers
    assert market.get_order(oid, by=STAFF).status is OrderStatus.PROCESSING
    clock.set(at(days=7, hours=2))
    assert market.run_due().timers["auto_confirm"] == 1
    o = market.get_order(oid, by=STAFF)
    shipment = o.shipments[0]
    assert (shipment.status, shipment.confirmed_automatically) == (ShipmentStatus.CONFIRMED, True)
    assert (o.status, o.completed_at) == (OrderStatus.COMPLETED, at(days=7, hours=2))
    confirmations = [
        e for e in market.order_history(oid, by=STAFF) if type(e).__name__ == "ReceiptConfirmed"
    ]
    assert [(e.actor, e.at) for e in confirmations] == [(Actor.system(), at(days=7, hours=2))]
    clock.advance(days=30)
    assert "auto_confirm" not in market.run_due().timers  # runs once


def test_r10_auto_confirm_waits_for_an_open_issue(
    make_market: MarketFactory, clock: FakeClock, order: Order
) -> None:
    """R10, R14: a delivered shipment with an open issue is not auto-confirmed."""
    market = make_market(MarketplaceConfig(auto_confirm_after=dt.timedelta(days=3)))
    oid = order.order_id
    sid = ship_all_in_one(market, order).shipments[0].shipment_id
    market.mark_delivered(oid, sid, by=VENDOR)
    market.report_issue(oid, by=BUYER, kind=IssueKind.MISSING_ITEMS, description="one mug")
    clock.advance(days=10)
    market.run_due()
    assert market.get_order(oid, by=STAFF).shipments[0].status is ShipmentStatus.DELIVERED


# --- R35 idempotency ---------------------------------------------------------------------------


def test_r35_same_key_same_command_returns_the_first_result(
    market: Marketplace, clock: FakeClock, order: Order, snapshot: SnapshotOf
) -> None:
    """R35: a repeated command returns the first result and changes nothing more."""
    l0, _ = line_ids(order)
    first = market.ship(
        order.order_id,
        by=VENDOR,
        items={l0: 1},
        carrier="DHL",
        tracking_number="T-1",
        idempotency_key="ship-1",
    )
    before = snapshot(order.order_id)
    clock.advance(hours=1)
    again = market.ship(
        order.order_id,
        by=VENDOR,
        items={l0: 1},
        carrier="DHL",
        tracking_number="T-1",
        idempotency_key="ship-1",
    )
    assert again == first
    assert len(again.shipments) == 1
    assert snapshot(order.order_id) == before


def test_r35_a_refusal_is_replayed_too(
    market: Marketplace, order: Order, snapshot: SnapshotOf
) -> None:
    """R35: the first result may be a refusal: the same key raises it again, even once the
    command would now succeed, and nothing changes."""
    l0, _ = line_ids(order)
    before = snapshot(order.order_id)
    for _ in range(2):
        with pytest.raises(InvalidInputError) as info:
            market.ship(
                order.order_id,
                by=VENDOR,
                items={l0: 3},
                carrier="DHL",
                tracking_number="T-1",
                idempotency_key="k",
            )
        assert info.value.fields["field"] == "items"
    assert snapshot(order.order_id) == before


def test_r35_same_key_different_command_names_the_field(
    market: Marketplace, order: Order, snapshot: SnapshotOf
) -> None:
    """R35: the same key with another argument (or another command) is refused, naming the
    field that differs; a key is scoped to its actor."""
    l0, _ = line_ids(order)
    market.ship(
        order.order_id,
        by=VENDOR,
        items={l0: 1},
        carrier="DHL",
        tracking_number="T-1",
        idempotency_key="k",
    )
    before = snapshot(order.order_id)
    with pytest.raises(IdempotencyKeyReusedError) as carrier:
        market.ship(
            order.order_id,
            by=VENDOR,
            items={l0: 1},
            carrier="UPS",
            tracking_number="T-1",
            idempotency_key="k",
        )
    assert (carrier.value.code, carrier.value.fields["field"]) == (
        "idempotency_key_reused",
        "carrier",
    )
    with pytest.raises(IdempotencyKeyReusedError) as command:
        market.cancel_order(order.order_id, by=VENDOR, idempotency_key="k")
    assert command.value.fields["field"] == "command"
    assert snapshot(order.order_id) == before
    o = market.report_issue(
        order.order_id, by=BUYER, kind=IssueKind.OTHER, description="?", idempotency_key="k"
    )  # another actor's "k" is another key
    assert len(o.issues) == 1


def test_r35_checkout_replay_places_no_second_order(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R35: a checkout retried with its key returns the same orders; no duplicate order."""
    kwargs = {
        "buyer": BUYER,
        "customer_name": "Ada Buyer",
        "items": [Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=eur("9.99"))],
        "paid": eur("9.99"),
        "idempotency_key": "checkout-1",
    }
    first = market.place_checkout(**kwargs)  # type: ignore[arg-type]
    again = market.place_checkout(**kwargs)  # type: ignore[arg-type]
    assert again == first
    market.deliver_notifications()
    assert notifier.kinds() == ["order.placed", "order.receipt"]


# --- R42 history, R29 notifications -------------------------------------------------------------


def test_r42_order_history_lists_who_what_when(
    market: Marketplace, clock: FakeClock, order: Order
) -> None:
    """R42: every event of the order, oldest first, with who acted and when."""
    oid = order.order_id
    clock.set(at(hours=1))
    sid = ship_all_in_one(market, order).shipments[0].shipment_id
    clock.set(at(hours=2))
    market.update_tracking(oid, sid, by=VENDOR, note="out for delivery")
    clock.set(at(hours=3))
    market.mark_delivered(oid, sid, by=VENDOR)
    clock.set(at(hours=4))
    market.confirm_receipt(oid, sid, by=BUYER)
    history = market.order_history(oid, by=VENDOR)
    # the order's own lifecycle events (the ledger adds its money events to the same history)
    lifecycle = [e for e in history if type(e).__module__ == "asolora_core.events"]
    assert [(type(e).__name__, e.actor.key, e.at) for e in lifecycle] == [
        ("OrderPlaced", "buyer:b-1", START),
        ("ShipmentCreated", "vendor:v-1", at(hours=1)),
        ("TrackingUpdated", "vendor:v-1", at(hours=2)),
        ("ShipmentDelivered", "vendor:v-1", at(hours=3)),
        ("ReceiptConfirmed", "buyer:b-1", at(hours=4)),
        ("OrderCompleted", "system:system", at(hours=4)),
    ]
    assert all(e.aggregate_id == oid for e in history)


def test_r29_notifications_go_to_the_right_side(
    market: Marketplace, notifier: RecordingNotifier, order: Order
) -> None:
    """R29: new order -> vendor; shipment, tracking, delivered -> buyer; issue -> vendor."""
    oid = order.order_id
    sid = ship_all_in_one(market, order).shipments[0].shipment_id
    market.update_tracking(oid, sid, by=VENDOR, note="in hub")
    market.mark_delivered(oid, sid, by=VENDOR)
    market.report_issue(oid, by=BUYER, kind=IssueKind.DAMAGED, description="cracked")
    report = market.deliver_notifications()
    assert (report.delivered, report.retried, report.failed) == (6, 0, 0)
    assert [(n.recipient.key, n.kind, n.subject_id) for _, n in notifier.sent] == [
        ("vendor:v-1", "order.placed", oid),
        ("buyer:b-1", "order.receipt", oid),
        ("buyer:b-1", "shipment.created", oid),
        ("buyer:b-1", "shipment.tracking_updated", oid),
        ("buyer:b-1", "shipment.delivered", oid),
        ("vendor:v-1", "issue.reported", oid),
    ]
    assert market.deliver_notifications().delivered == 0  # each sent once when all goes well


def test_r20_r38_accepting_an_offer_never_refunds_above_paid(
    market: Marketplace, order: Order, snapshot: SnapshotOf
) -> None:
    """R20, R38: an offer of 10.00 was fine when made, but the vendor then refunded 20.00 of
    the 28.00 paid; accepting the offer would refund 30.00, so it is refused (only 8.00 is
    left) and nothing changes."""
    oid = order.order_id
    o = market.report_issue(oid, by=BUYER, kind=IssueKind.NOT_RECEIVED, description="late")
    iid = o.issues[-1].issue_id
    market.offer_settlement(oid, iid, by=VENDOR, resolution=Resolution.REFUND, amount=eur("10.00"))
    market.refund(oid, by=VENDOR, amount=eur("20.00"), reason="goodwill")
    before = snapshot(oid)
    with pytest.raises(RefundExceedsPaidError) as info:
        market.answer_settlement(oid, iid, by=BUYER, accept=True)
    assert info.value.fields["refundable_minor"] == 800
    assert snapshot(oid) == before
    o = market.answer_settlement(oid, iid, by=BUYER, accept=False)
    assert (o.refunded_minor, o.issues[-1].status) == (2000, IssueStatus.OPEN)


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(ast.items(currency="EUR"), min_size=1, max_size=6),
    discount=st.integers(min_value=0, max_value=10_000),
)
def test_r3_any_checkout_splits_the_payment_exactly(items: list[Item], discount: int) -> None:
    """R3, R25: for any cart and any discount, one order per vendor in first-seen order, and
    the payment is split across orders and within each order without losing a cent."""
    market = Marketplace(InMemoryStore(), clock=FakeClock(START), ids=SequentialIds())
    gross = sum(to_minor(i.unit_price) * i.quantity for i in items)
    paid = max(gross - discount, 0)
    orders = market.place_checkout(
        buyer=BUYER, customer_name="Ada", items=items, paid=from_minor(paid, "EUR")
    )
    assert [o.vendor_id for o in orders] == list(dict.fromkeys(i.vendor_id for i in items))
    assert sum(o.paid_minor for o in orders) == paid
    for o in orders:
        assert sum(ln.paid_minor for ln in o.lines) + o.shipping_paid_minor == o.paid_minor
        assert all(0 <= ln.paid_minor <= ln.quantity * ln.unit_price_minor for ln in o.lines)
