"""Cancelling an order a chargeback already touched (R11, R20, R39, R40), every figure by hand.

The rules: a cancellation gives the buyer back what is still refundable, paid - refunded -
charged back (R20, R39: the same money never reaches the buyer twice), so a chargeback
taken while the order is processing no longer blocks its ending. The chargeback's own
booking stays as it was: its amount and provider fee came out of the vendor's held
proceeds (R39), so the cancelled order's hold is left with minus the fee, which is settled
to the vendor's balance at once as a ``chargeback`` line (R41): nothing stays held for an
order that ended, and the vendor is not debited the amount a second time. Fees as in the
other stories; none is charged before completion (R15), so only the provider's fee shows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    InMemoryStore,
    InvalidTransitionError,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    OrderStatus,
    RecordingNotifier,
    ReturnKind,
    ReturnPolicy,
    ReturnStatus,
    SequentialIds,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import BUYER_FUNDS, HoldState
from asolora_core.money import from_minor
from asolora_core.ports import Store
from test_ledger_support import BUYER, FEES, STAFF, START, complete, money_market, place

VENDOR = Actor.vendor("v-eu")


def _market(store: Store, clock: FakeClock, *, fee_returned: bool = False) -> Marketplace:
    market = money_market(
        store,
        clock,
        FixedRateProvider(as_of=START),
        chargeback_fee_returned_on_win=fee_returned,
    )
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    return market


def _chargeback(market: Marketplace, order_id: str, amount: str, fee: str, ref: str) -> None:
    market.report_chargeback(
        order_id,
        amount=Money(amount, "EUR"),
        fee=Money(fee, "EUR"),
        by=STAFF,
        reference=ref,
    )


def test_r39_r11_vendor_cancels_after_a_partial_chargeback(store: Store, clock: FakeClock) -> None:
    """R11, R39, R41: 100.00 EUR paid, nothing shipped. A chargeback of 40.00 with a 15.00
    provider fee: held 100.00 - 40.00 - 15.00 = 45.00, frozen. The vendor cancels: the
    refund is 100.00 - 0.00 - 40.00 = 60.00 (not 100.00), the order is cancelled, and the
    hold, 45.00 - 60.00 = -15.00, is settled at once: the vendor's balance is -15.00, one
    ``chargeback`` line of -15.00 (processing fee 15.00). The buyer got 60.00 + 40.00 =
    100.00 back, exactly what it paid."""
    market = _market(store, clock)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_1")
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.frozen, hold.held_minor) == (True, 4500)

    clock.advance(hours=2)
    cancelled = market.cancel_order(order.order_id, by=VENDOR, reason="disputed")
    assert cancelled.status is OrderStatus.CANCELLED
    assert [r.amount_minor for r in cancelled.refunds] == [6000]
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.refunded_minor) == (HoldState.CANCELLED, 0, 6000)
    assert hold.released_minor == -1500
    assert cancelled.refunded_minor + hold.chargeback_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == -1500
    (line,) = market.statement("v-eu", by=VENDOR).lines
    assert (line.kind, line.amount_minor, line.processing_fee_minor) == ("chargeback", -1500, 1500)
    report = market.verify_journal(by=STAFF)
    assert report.ok, report.problems
    # nothing left to run for it: no timer will ever touch the order again
    clock.advance(days=400)
    assert market.run_due().timers == {}
    assert market.balance("v-eu", by=VENDOR).balance_minor == -1500


def test_r39_r11_staff_cancel_after_a_full_chargeback_refunds_nothing(
    store: Store, clock: FakeClock
) -> None:
    """R1, R11, R39: 80.00 EUR charged back in full with a 15.00 fee: held 80.00 - 80.00 -
    15.00 = -15.00. Staff cancel (with a reason): nothing is left to refund, so there is no
    refund at all; the order is cancelled and the -15.00 settled to the balance; the buyer
    got 80.00 back, once (by the chargeback)."""
    market = _market(store, clock)
    order = place(market, "v-eu", Money("80.00", "EUR"))
    _chargeback(market, order.order_id, "80.00", "15.00", "dp_2")
    cancelled = market.cancel_order(order.order_id, by=STAFF, reason="charged back in full")
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.refunds == ()
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.refunded_minor, hold.chargeback_minor) == (
        HoldState.CANCELLED,
        0,
        0,
        8000,
    )
    assert market.balance("v-eu", by=VENDOR).balance_minor == -1500
    assert market.verify_journal(by=STAFF).ok


def _buyer_funds(market: Marketplace) -> int:
    return sum(
        e.amount_minor
        for t in market.journal(by=STAFF)
        for e in t.entries
        if e.account == BUYER_FUNDS
    )


def test_r39_r11_won_after_the_cancellation_goes_to_the_buyer(
    store: Store, clock: FakeClock
) -> None:
    """R11, R39: after the cancellation of the first story (refund 60.00, balance -15.00),
    the platform wins the dispute: the provider gives the 40.00 back (it keeps its 15.00 fee
    by default). A cancelled order owes the vendor nothing, so the 40.00 is refunded to the
    buyer: refunds 60.00 + 40.00 = 100.00, what it paid, and nothing is charged back any
    more. The vendor ends where the cancellation left it, -15.00 (the fee it bears), with no
    new statement line. Money is conserved: the buyer's funds are 100.00 - 55.00 - 60.00 +
    40.00 - 40.00 = -15.00, exactly the vendor's balance. The buyer is told of the refund,
    the vendor of the outcome; a second win and any further refund are refused."""
    notifier = RecordingNotifier()
    market = money_market(store, clock, FixedRateProvider(as_of=START), notifier=notifier)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_3")
    market.cancel_order(order.order_id, by=BUYER)
    market.deliver_notifications()
    notifier.sent.clear()
    clock.advance(days=30)
    hold = market.chargeback_won(order.order_id, reference="dp_3", by=STAFF)
    assert (hold.state, hold.held_minor, hold.chargeback_minor) == (HoldState.CANCELLED, 0, 0)
    assert (hold.refunded_minor, hold.released_minor) == (10000, -1500)
    order_now = market.get_order(order.order_id, by=STAFF)
    assert order_now.status is OrderStatus.CANCELLED
    assert [r.amount_minor for r in order_now.refunds] == [6000, 4000]
    assert order_now.refunded_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == -1500
    kinds = [line.kind for line in market.statement("v-eu", by=VENDOR).lines]
    assert kinds == ["chargeback"]
    assert _buyer_funds(market) == -1500
    assert market.verify_journal(by=STAFF).ok
    market.deliver_notifications()
    told = {(n.recipient, n.kind): n.text for _, n in notifier.sent}
    assert told[(BUYER, "refund.issued")] == (
        f"A refund of 40.00 EUR was issued on order {order.order_id}."
    )
    assert told[(VENDOR, "chargeback.won")] == (
        f"The payment dispute on order {order.order_id} was decided in your favour: the order "
        "is cancelled, so the 40.00 EUR given back was refunded to the buyer; nothing more is "
        "owed on the order."
    )
    assert (VENDOR, "refund.issued") not in told  # not out of its proceeds
    with pytest.raises(InvalidTransitionError):
        market.chargeback_won(order.order_id, reference="dp_3", by=STAFF)
    with pytest.raises(InvalidTransitionError):
        market.refund(order.order_id, by=VENDOR, amount=Money("0.01", "EUR"))
    assert market.get_order(order.order_id, by=STAFF).refunded_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == -1500


def test_r39_r11_won_after_the_cancellation_with_the_fee_returned(
    store: Store, clock: FakeClock
) -> None:
    """R11, R39, R41: the same story with ``chargeback_fee_returned_on_win``: the provider
    gives back 40.00 and its 15.00 fee. The 40.00 is refunded to the buyer (100.00 back in
    all); the fee goes back to the vendor, who bore it: -15.00 + 15.00 = 0.00, where a plain
    cancellation leaves it. The statement shows a ``chargeback_won`` line of +15.00 mirroring
    the ``chargeback`` line of -15.00 (gross 0.00, processing fee -15.00). The buyer's funds
    are 100.00 - 55.00 - 60.00 + 55.00 - 40.00 = 0.00."""
    market = _market(store, clock, fee_returned=True)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_8")
    market.cancel_order(order.order_id, by=VENDOR)
    clock.advance(days=30)
    hold = market.chargeback_won(order.order_id, reference="dp_8", by=STAFF)
    assert (hold.held_minor, hold.refunded_minor, hold.chargeback_minor) == (0, 10000, 0)
    assert hold.chargebacks[0].reinstated_minor == 5500
    assert market.get_order(order.order_id, by=STAFF).refunded_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == 0
    lines = market.statement("v-eu", by=VENDOR).lines
    assert [(x.kind, x.amount_minor) for x in lines] == [
        ("chargeback", -1500),
        ("chargeback_won", 1500),
    ]
    assert (lines[1].gross_minor, lines[1].processing_fee_minor) == (0, -1500)
    assert _buyer_funds(market) == 0
    assert market.verify_journal(by=STAFF).ok


def test_r39_r17_won_after_the_settled_cancellation_of_a_gbp_vendor(
    store: Store, clock: FakeClock
) -> None:
    """R11, R17, R39: a GBP vendor, EUR/GBP 0.8000, the fee returned on a win. The
    cancellation settles -15.00 EUR: -12.00 GBP and the 2 % conversion fee 0.24, balance
    -12.24 GBP. Won: 40.00 EUR is refunded to the buyer (no conversion: it never reaches the
    vendor) and the 15.00 EUR fee is credited like a release: 12.00 GBP less 0.24, +11.76.
    Balance -0.48 GBP: the two conversion fees, as for any money moved to and from a balance
    in another currency."""
    rates = FixedRateProvider(as_of=START)
    rates.set_rate("EUR", "GBP", Decimal("0.8000"), as_of=START)
    market = money_market(store, clock, rates, chargeback_fee_returned_on_win=True)
    market.register_vendor("v-gb", payout_currency="GBP", by=STAFF)
    vendor = Actor.vendor("v-gb")
    order = place(market, "v-gb", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_9")
    market.cancel_order(order.order_id, by=BUYER)
    assert market.balance("v-gb", by=vendor).balance_minor == -1224
    clock.advance(days=30)
    market.chargeback_won(order.order_id, reference="dp_9", by=STAFF)
    assert market.get_order(order.order_id, by=STAFF).refunded_minor == 10000
    assert market.balance("v-gb", by=vendor).balance_minor == -48
    won = market.statement("v-gb", by=vendor).lines[-1]
    assert (won.kind, won.amount_minor, won.converted_minor, won.conversion_fee_minor) == (
        "chargeback_won",
        1176,
        1200,
        24,
    )
    report = market.verify_journal(by=STAFF)
    assert report.ok, report.problems


def test_r39_r17_won_while_the_cancelled_hold_waits_for_a_rate(
    store: Store, clock: FakeClock
) -> None:
    """R11, R17, R39: a GBP vendor and no EUR/GBP rate: the cancellation leaves -15.00 EUR
    in the hold, waiting. Won with the fee returned, before any rate: the 40.00 is refunded
    to the buyer and the 15.00 fills the hold back to 0.00, so nothing is left to settle and
    no rate is needed: the balance stays 0.00 GBP, once a rate comes too."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates, chargeback_fee_returned_on_win=True)
    market.register_vendor("v-gb", payout_currency="GBP", by=STAFF)
    order = place(market, "v-gb", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_10")
    market.cancel_order(order.order_id, by=BUYER)
    hold = market.chargeback_won(order.order_id, reference="dp_10", by=STAFF)
    assert (hold.held_minor, hold.released_at, hold.refunded_minor) == (0, None, 10000)
    rates.set_rate("EUR", "GBP", Decimal("0.8000"), as_of=clock.now())
    clock.advance(hours=1)
    market.run_due()
    assert market.balance("v-gb", by=Actor.vendor("v-gb")).balance_minor == 0
    assert market.verify_journal(by=STAFF).ok


def test_r39_r20_won_after_a_staff_cancel_after_shipping(store: Store, clock: FakeClock) -> None:
    """R20, R39: the shipped story (refund 75.00, balance -5.00). Won, the fee kept: the
    25.00 is refunded to the buyer, 100.00 back in all; the balance stays -5.00."""
    market = _market(store, clock)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    market.ship(
        order.order_id,
        by=VENDOR,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="T-1",
    )
    _chargeback(market, order.order_id, "25.00", "5.00", "dp_11")
    market.cancel_after_shipping(order.order_id, by=STAFF, reason="lost parcel")
    market.chargeback_won(order.order_id, reference="dp_11", by=STAFF)
    ended = market.get_order(order.order_id, by=STAFF)
    assert [r.amount_minor for r in ended.refunds] == [7500, 2500]
    assert market.balance("v-eu", by=VENDOR).balance_minor == -500
    assert market.verify_journal(by=STAFF).ok


def test_r40_r39_cancel_unshipped_at_the_due_instant_after_a_chargeback(
    store: Store, clock: FakeClock
) -> None:
    """R39, R40: cancel-unshipped after 72 hours; 50.00 EUR paid and a chargeback of 30.00
    with no fee. At exactly placement + 72 hours the sweep cancels the order with a refund
    of 50.00 - 30.00 = 20.00 (held 50.00 - 30.00 - 20.00 = 0.00: nothing to settle). Won
    later, the 30.00 is refunded to the buyer (R11): 50.00 back in all, balance 0.00."""
    config = MarketplaceConfig(
        cancel_unshipped_after=dt.timedelta(hours=72),
        money=MoneyConfig(fees=FEES, rates=FixedRateProvider(as_of=START)),
    )
    market = Marketplace(store, clock=clock, ids=SequentialIds(), config=config)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    order = place(market, "v-eu", Money("50.00", "EUR"))
    _chargeback(market, order.order_id, "30.00", "0.00", "dp_4")
    clock.set(START + dt.timedelta(hours=72) - dt.timedelta(microseconds=1))
    market.run_due()
    assert market.get_order(order.order_id, by=STAFF).status is OrderStatus.PROCESSING
    clock.set(START + dt.timedelta(hours=72))
    market.run_due()
    ended = market.get_order(order.order_id, by=STAFF)
    assert ended.status is OrderStatus.CANCELLED
    assert [r.amount_minor for r in ended.refunds] == [2000]
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.released_at) == (HoldState.CANCELLED, 0, None)
    assert market.balance("v-eu", by=VENDOR).balance_minor == 0

    market.chargeback_won(order.order_id, reference="dp_4", by=STAFF)
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.held_minor, hold.released_at, hold.refunded_minor) == (0, None, 5000)
    ended = market.get_order(order.order_id, by=STAFF)
    assert [r.amount_minor for r in ended.refunds] == [2000, 3000]
    assert market.balance("v-eu", by=VENDOR).balance_minor == 0
    assert market.verify_journal(by=STAFF).ok


def test_r39_staff_cancel_after_shipping_after_a_chargeback(store: Store, clock: FakeClock) -> None:
    """R20, R39: 100.00 EUR shipped (not delivered), a chargeback of 25.00 with a 5.00 fee.
    Staff cancel after shipping: the refund is 100.00 - 25.00 = 75.00; the hold, 100.00 -
    30.00 - 75.00 = -5.00, is settled: balance -5.00."""
    market = _market(store, clock)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    market.ship(
        order.order_id,
        by=VENDOR,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="T-1",
    )
    _chargeback(market, order.order_id, "25.00", "5.00", "dp_5")
    ended = market.cancel_after_shipping(order.order_id, by=STAFF, reason="lost parcel")
    assert ended.status is OrderStatus.CANCELLED
    assert [r.amount_minor for r in ended.refunds] == [7500]
    assert market.get_hold(order.order_id, by=STAFF).held_minor == 0
    assert market.balance("v-eu", by=VENDOR).balance_minor == -500
    assert market.verify_journal(by=STAFF).ok


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("chargeback"), st.integers(1, 12_000), st.integers(0, 2_000)),
        st.tuples(st.just("refund"), st.integers(1, 12_000), st.just(0)),
        st.tuples(st.just("cancel"), st.just(0), st.just(0)),
        st.tuples(st.just("win"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("ship"), st.just(0), st.just(0)),
        st.tuples(st.just("confirm"), st.just(0), st.just(0)),
        st.tuples(st.just("end"), st.just(0), st.just(0)),
    ),
    max_size=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_STEPS, returned=st.booleans())
def test_r39_property_the_buyer_never_gets_back_more_than_paid(
    steps: list[tuple[str, int, int]], returned: bool
) -> None:
    """R20, R24, R39: across any interleaving of chargebacks, refunds, a cancellation
    (before or after shipping), shipping, completion and release, and wins on a 100.00 EUR
    order, what the buyer has back (refunds plus chargebacks not won)
    never exceeds what it paid, the journal stays balanced and verified, and a cancelled
    order keeps nothing held."""
    clock = FakeClock(START)
    market = _market(InMemoryStore(), clock, fee_returned=returned)
    order_id = place(market, "v-eu", Money("100.00", "EUR")).order_id
    refs: list[str] = []
    for kind, amount, fee in steps:
        clock.advance(hours=1)
        try:
            if kind == "chargeback":
                refs.append(f"dp_{len(refs)}")
                market.report_chargeback(
                    order_id,
                    amount=from_minor(amount, "EUR"),
                    fee=from_minor(fee, "EUR"),
                    by=STAFF,
                    reference=refs[-1],
                )
            elif kind == "refund":
                market.refund(order_id, by=VENDOR, amount=from_minor(amount, "EUR"))
            elif kind == "cancel":
                market.cancel_order(order_id, by=BUYER)
            elif kind == "ship":
                line = market.get_order(order_id, by=STAFF).lines[0]
                market.ship(
                    order_id,
                    by=VENDOR,
                    items={line.line_id: 1},
                    carrier="DHL",
                    tracking_number="T-1",
                )
            elif kind == "confirm":  # delivered, confirmed, and past the hold: released
                shipments = market.get_order(order_id, by=STAFF).shipments
                if not shipments:
                    continue
                shipment = shipments[0].shipment_id
                market.mark_delivered(order_id, shipment, by=VENDOR)
                market.confirm_receipt(order_id, shipment, by=BUYER)
                clock.advance(hours=200)
                market.run_due()
            elif kind == "end":
                market.cancel_after_shipping(order_id, by=STAFF, reason="ended by staff")
            elif refs:
                market.chargeback_won(order_id, reference=refs[amount % len(refs)], by=STAFF)
        except AsoloraError:
            pass  # refused (more than refundable, won twice, ended, ...): changes nothing
        order = market.get_order(order_id, by=STAFF)
        hold = market.get_hold(order_id, by=STAFF)
        assert order.refunded_minor == hold.refunded_minor
        assert 0 <= order.refunded_minor + hold.chargeback_minor <= 10000
        if order.status is OrderStatus.CANCELLED:
            assert hold.state == HoldState.CANCELLED
            assert hold.held_minor == 0
            # R11: a cancelled order gives the buyer all it paid back, won or not
            assert order.refunded_minor + hold.chargeback_minor == 10000
    report = market.verify_journal(by=STAFF)
    assert report.ok, report.problems
    for txn in market.journal(by=STAFF):
        totals: dict[str, int] = {}
        for e in txn.entries:
            totals[e.currency] = totals.get(e.currency, 0) + e.amount_minor
        assert set(totals.values()) <= {0}


def test_r37_r39_return_after_a_chargeback_refunds_only_the_rest_and_closes(
    store: Store, clock: FakeClock
) -> None:
    """R22, R37, R39: 100.00 EUR completed and released (held 100.00 - 10.00 commission -
    3.20 processing = 86.80). A chargeback of 60.00 (no fee) after release: the commission
    on 40.00 is 4.00, so 6.00 comes back and 54.00 is debited: balance 32.80. The buyer
    returns the mug, asking exactly at the end of its 30-day window: the return's refund,
    100.00 for the unit, is capped at 100.00 - 60.00 = 40.00 (the chargeback already gave
    60.00 back) and the return closes; 40.00 less the 4.00 commission back is debited:
    balance -3.20, the processing fee the vendor keeps bearing. The buyer got 60.00 + 40.00 =
    100.00 back, once."""
    market = _market(store, clock)
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ann",
        items=[
            Item(
                vendor_id="v-eu",
                product_id="mug",
                quantity=1,
                unit_price=Money("100.00", "EUR"),
                policy=ReturnPolicy(returns_accepted=True, window_days=30),
            )
        ],
        paid=Money("100.00", "EUR"),
    )
    order = complete(market, order)
    assert order.completed_at is not None
    clock.advance(hours=168)
    assert market.run_due().timers == {"release": 1}
    assert market.balance("v-eu", by=VENDOR).balance_minor == 8680
    _chargeback(market, order.order_id, "60.00", "0.00", "dp_6")
    assert market.balance("v-eu", by=VENDOR).balance_minor == 3280

    line_id = order.lines[0].line_id
    clock.set(order.completed_at + dt.timedelta(days=30))  # the window's last instant
    asked = market.request_return(
        order.order_id, by=BUYER, kind=ReturnKind.RETURN, items={line_id: 1}, reason="too big"
    )
    rid = asked.returns[-1].return_id
    market.accept_return(order.order_id, rid, by=VENDOR)
    market.ship_return(order.order_id, rid, by=BUYER, carrier="DHL", tracking_number="R-1")
    market.receive_return(order.order_id, rid, by=VENDOR)
    done = market.refund_return(order.order_id, rid, by=VENDOR)
    assert done.returns[-1].status is ReturnStatus.REFUNDED
    assert done.returns[-1].refund_minor == 4000
    assert done.refunded_minor + market.get_hold(order.order_id, by=STAFF).chargeback_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == -320
    assert market.verify_journal(by=STAFF).ok


def test_r39_r17_the_cancelled_hold_waits_for_a_rate_then_settles(
    store: Store, clock: FakeClock
) -> None:
    """R17, R39, R40: a GBP vendor, no EUR/GBP rate yet. The first story's cancellation
    (refund 60.00, -15.00 EUR left in the hold) is not refused for want of a rate: the order
    is cancelled and the settlement waits for the ``release`` sweep, which retries. With a
    rate of 0.8000: -15.00 EUR is -12.00 GBP, plus the 2 % conversion fee 0.24: balance
    -12.24 GBP."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-gb", payout_currency="GBP", by=STAFF)
    order = place(market, "v-gb", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_7")
    ended = market.cancel_order(order.order_id, by=BUYER)
    assert ended.status is OrderStatus.CANCELLED
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.released_at) == (HoldState.CANCELLED, -1500, None)
    clock.advance(minutes=30)
    assert market.run_due().timers == {}  # still no rate: tried again later
    rates.set_rate("EUR", "GBP", Decimal("0.8000"), as_of=clock.now())
    clock.advance(hours=1)
    assert market.run_due().timers == {"release": 1}
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.released_minor) == (HoldState.CANCELLED, 0, -1224)
    assert market.balance("v-gb", by=Actor.vendor("v-gb")).balance_minor == -1224
    assert market.verify_journal(by=STAFF).ok


def test_r39_r20_a_refund_that_covers_the_rest_after_a_chargeback_ends_the_order(
    store: Store, clock: FakeClock
) -> None:
    """R11, R20, R39: 100.00 EUR paid, nothing shipped, a chargeback of 40.00 with a 15.00
    fee (held 45.00, frozen). The vendor refunds 59.99: 0.01 is still paid, the order goes
    on. It refunds the last 0.01: refunds 60.00 + charged back 40.00 = 100.00 paid, so the
    order ends cancelled ("fully refunded") as one refunded in full does, and the hold,
    45.00 - 60.00 = -15.00, is settled at once: balance -15.00, as in the cancellation
    story. Both sides are told the order was cancelled."""
    notifier = RecordingNotifier()
    market = money_market(store, clock, FixedRateProvider(as_of=START), notifier=notifier)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    _chargeback(market, order.order_id, "40.00", "15.00", "dp_12")
    going = market.refund(order.order_id, by=VENDOR, amount=Money("59.99", "EUR"))
    assert going.status is OrderStatus.PROCESSING
    ended = market.refund(order.order_id, by=VENDOR, amount=Money("0.01", "EUR"))
    assert ended.status is OrderStatus.CANCELLED
    assert ended.cancelled_at == START
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.released_minor) == (HoldState.CANCELLED, 0, -1500)
    assert ended.refunded_minor + hold.chargeback_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == -1500
    assert market.verify_journal(by=STAFF).ok
    market.deliver_notifications()
    told = {(n.recipient, n.kind) for _, n in notifier.sent}
    assert {(BUYER, "order.cancelled"), (VENDOR, "order.cancelled")} <= told


def test_r39_r13_a_mediated_refund_of_the_rest_after_a_chargeback_ends_the_order(
    store: Store, clock: FakeClock
) -> None:
    """R13, R39: shipped, 100.00 EUR paid; the buyer reports the parcel missing and a
    chargeback of 30.00 (no fee) follows. Staff mediate a refund of 70.00: refunds plus
    chargebacks cover the payment, so the order ends cancelled; nothing is owed to the
    vendor (held 100.00 - 30.00 - 70.00 = 0.00, balance 0.00)."""
    market = _market(store, clock)
    order = place(market, "v-eu", Money("100.00", "EUR"))
    market.ship(
        order.order_id,
        by=VENDOR,
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="T-1",
    )
    reported = market.report_issue(
        order.order_id, by=BUYER, kind=IssueKind.NOT_RECEIVED, description="never came"
    )
    issue_id = reported.issues[-1].issue_id
    _chargeback(market, order.order_id, "30.00", "0.00", "dp_13")
    ended = market.mediate_issue(
        order.order_id,
        issue_id,
        by=STAFF,
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=Money("70.00", "EUR"),
        reason="carrier lost it",
    )
    assert ended.status is OrderStatus.CANCELLED
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor) == (HoldState.CANCELLED, 0)
    assert market.balance("v-eu", by=VENDOR).balance_minor == 0
    assert market.verify_journal(by=STAFF).ok


def test_r37_r39_staff_cancel_after_shipping_closes_the_return_under_way(
    store: Store, clock: FakeClock
) -> None:
    """R20, R37, R39: a mug (60.00) and a lamp (40.00), 100.00 EUR paid, shipped apart. The
    mug is delivered and confirmed (the lamp is not: the order is still processing); the
    buyer asks to return the mug, the vendor accepts, the buyer ships it back. A chargeback
    of 70.00 (no fee) follows, then staff cancel after shipping: the refund is 100.00 -
    70.00 = 30.00, and the return, which no one can take further on a cancelled order,
    closes ``refunded`` by that refund, its share capped at 30.00 (not the mug's 60.00).
    Both sides are told. Nothing is owed to the vendor: held 100.00 - 70.00 - 30.00 = 0.00."""
    notifier = RecordingNotifier()
    market = money_market(store, clock, FixedRateProvider(as_of=START), notifier=notifier)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    policy = ReturnPolicy(returns_accepted=True, window_days=30)
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ann",
        items=[
            Item(
                vendor_id="v-eu",
                product_id=product,
                quantity=1,
                unit_price=Money(price, "EUR"),
                policy=policy,
            )
            for product, price in (("mug", "60.00"), ("lamp", "40.00"))
        ],
        paid=Money("100.00", "EUR"),
    )
    mug, lamp = (line.line_id for line in order.lines)
    oid = order.order_id
    first = market.ship(oid, by=VENDOR, items={mug: 1}, carrier="DHL", tracking_number="T-1")
    shipment = first.shipments[-1].shipment_id
    market.ship(oid, by=VENDOR, items={lamp: 1}, carrier="DHL", tracking_number="T-2")
    market.mark_delivered(oid, shipment, by=VENDOR)
    market.confirm_receipt(oid, shipment, by=BUYER)
    asked = market.request_return(
        oid, by=BUYER, kind=ReturnKind.RETURN, items={mug: 1}, reason="chipped"
    )
    rid = asked.returns[-1].return_id
    market.accept_return(oid, rid, by=VENDOR)
    market.ship_return(oid, rid, by=BUYER, carrier="DHL", tracking_number="R-1")
    _chargeback(market, oid, "70.00", "0.00", "dp_14")
    market.deliver_notifications()
    notifier.sent.clear()

    ended = market.cancel_after_shipping(oid, by=STAFF, reason="vendor unreachable")
    assert ended.status is OrderStatus.CANCELLED
    (refund,) = ended.refunds
    assert refund.amount_minor == 3000
    (closed,) = ended.returns
    assert (closed.status, closed.refund_id, closed.refund_minor, closed.closed_at) == (
        ReturnStatus.REFUNDED,
        refund.refund_id,
        3000,
        START,
    )
    hold = market.get_hold(oid, by=STAFF)
    assert (hold.state, hold.held_minor) == (HoldState.CANCELLED, 0)
    assert ended.refunded_minor + hold.chargeback_minor == 10000
    assert market.balance("v-eu", by=VENDOR).balance_minor == 0
    assert market.verify_journal(by=STAFF).ok
    market.deliver_notifications()
    told = {(n.recipient, n.kind) for _, n in notifier.sent}
    assert {(BUYER, "return.refunded"), (VENDOR, "return.refunded")} <= told
    # the closed return takes no further step
    with pytest.raises(AsoloraError):
        market.receive_return(oid, rid, by=VENDOR)
