"""Worked money stories of the endings, every figure written out (R21, R22, R37, R39, R41).

Fees as in the other stories (``FEES``): commission 10 % of the net, processing 2.9 % of the
amount paid + 0.30 EUR, conversion fee 2 % of the converted amount, all half-even. Each story
runs on the in-memory store and on SQLite (R33).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    Item,
    Marketplace,
    ReasonRequiredError,
    RefundRate,
    ReturnKind,
    ReturnPolicy,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ports import Store
from test_ledger_support import BUYER, STAFF, START, complete, money_market, sell

HOLD = dt.timedelta(hours=168)
MUG_POLICY = ReturnPolicy(returns_accepted=True, window_days=30, restocking_fee_bp=1500)


def _return_one_mug(market: Marketplace, order_id: str, line_id: str) -> str:
    vendor = Actor.vendor("v-gb")
    requested = market.request_return(
        order_id, by=BUYER, kind=ReturnKind.RETURN, items={line_id: 1}, reason="too big"
    )
    rid = requested.returns[-1].return_id
    market.accept_return(order_id, rid, by=vendor)
    market.ship_return(order_id, rid, by=BUYER, carrier="DHL", tracking_number="RET-1")
    market.receive_return(order_id, rid, by=vendor)
    market.refund_return(order_id, rid, by=vendor)
    return rid


def _sell_two_mugs(market: Marketplace) -> tuple[str, str]:
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ann",
        items=[
            Item(
                vendor_id="v-gb",
                product_id="mug",
                quantity=2,
                unit_price=Money("50.00", "EUR"),
                policy=MUG_POLICY,
            )
        ],
        paid=Money("100.00", "EUR"),
    )
    order = complete(market, order)
    return order.order_id, order.lines[0].line_id


@pytest.mark.parametrize(
    ("refund_rate", "rate_used", "converted", "fee", "balance"),
    [
        # the vendor bears the remainder: the rate in force at the refund
        (RefundRate.VENDOR_BEARS, "0.9000", 3442, 69, 3719),
        # the platform bears it: the release's rate
        (RefundRate.PLATFORM_BEARS, "0.8500", 3251, 65, 3914),
    ],
    ids=["vendor_bears", "platform_bears"],
)
def test_r37_r22_return_with_restocking_fee_after_release_in_gbp(
    store: Store,
    clock: FakeClock,
    refund_rate: RefundRate,
    rate_used: str,
    converted: int,
    fee: int,
    balance: int,
) -> None:
    """R37, R21, R22, R25: 2 mugs at 50.00 EUR (paid 100.00), vendor paid in GBP; the mug's
    policy takes returns for 30 days with a 15 % restocking fee.

    Completion: commission 10.00, processing 2.90 + 0.30 = 3.20, held 86.80 EUR. Release
    after 168 hours at 0.8500: 86.80 x 0.85 = 73.78 GBP, conversion fee 2 % = 1.4756 ->
    1.48, credited 72.30 GBP. On day 8 the rate is 0.9000; the buyer returns one mug: its
    share is 50.00, the restocking fee 15 % = 7.50, the buyer gets 42.50 EUR back (in its
    own currency, exactly). The net is now 57.50, so the commission is 5.75 and 4.25 comes
    back (the same rule as before release); the processing fee stays. The vendor is debited
    42.50 - 4.25 = 38.25 EUR converted: at 0.9000 (vendor bears the remainder) 34.425 ->
    34.42 GBP + fee 0.6884 -> 0.69 = 35.11, balance 37.19 GBP; at the release's 0.8500
    (platform bears it) 32.5125 -> 32.51 + fee 0.6502 -> 0.65 = 33.16, balance 39.14 GBP.
    """
    rates = FixedRateProvider({("EUR", "GBP"): "0.8500"}, as_of=START)
    market = money_market(store, clock, rates, refund_rate=refund_rate)
    market.register_vendor("v-gb", payout_currency="GBP", by=STAFF)
    vendor = Actor.vendor("v-gb")
    order_id, line_id = _sell_two_mugs(market)
    hold = market.get_hold(order_id, by=vendor)
    assert (hold.commission_minor, hold.processing_fee_minor, hold.held_minor) == (1000, 320, 8680)

    clock.advance(hours=168)
    market.run_due()
    assert market.balance("v-gb", by=vendor).balance_minor == 7230

    rates.set_rate("EUR", "GBP", "0.9000", as_of=START + dt.timedelta(days=8))
    clock.set(START + dt.timedelta(days=8))
    rid = _return_one_mug(market, order_id, line_id)

    order = market.get_order(order_id, by=vendor)
    request = order.return_request(rid)
    assert request is not None
    assert (request.refund_minor, request.restocking_fee_minor) == (4250, 750)
    assert order.refunds[-1].amount_minor == 4250  # what the buyer gets, in EUR
    assert order.lines[0].refunded_quantity == 1
    hold = market.get_hold(order_id, by=vendor)
    assert (hold.refunded_minor, hold.commission_minor, hold.processing_fee_minor) == (
        4250,
        575,
        320,
    )
    assert market.balance("v-gb", by=vendor).balance_minor == balance
    release_line, refund_line = market.statement("v-gb", by=vendor).lines
    assert (release_line.kind, release_line.amount_minor) == ("release", 7230)
    assert refund_line.kind == "refund"
    assert (refund_line.gross_minor, refund_line.commission_minor) == (4250, 425)
    assert refund_line.rate == Decimal(rate_used)
    assert (refund_line.converted_minor, refund_line.conversion_fee_minor) == (converted, fee)
    assert refund_line.amount_minor == -(converted + fee)
    assert market.verify_journal(by=STAFF).ok


def test_r21_r22_a_refund_costs_the_vendor_the_same_before_and_after_release(
    store: Store, clock: FakeClock
) -> None:
    """R21, R22: two 150.00 EUR orders (commission 15.00, processing 4.35 + 0.30 = 4.65),
    each refunded 75.00. Before release the held proceeds drop by 75.00 - 7.50 commission
    back = 67.50: 150.00 - 75.00 - 7.50 - 4.65 = 62.85 released. After release 130.35 was
    released and the balance is debited 75.00 - 7.50 = 67.50: 62.85 again. One rule."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    early = sell(market, "v-eu", Money("150.00", "EUR"))
    late = sell(market, "v-eu", Money("150.00", "EUR"))
    market.refund(early.order_id, by=vendor, amount=Money("75.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(early.order_id, by=vendor).released_minor == 6285
    assert market.get_hold(late.order_id, by=vendor).released_minor == 13035
    market.refund(late.order_id, by=vendor, amount=Money("75.00", "EUR"))
    lines = market.statement("v-eu", by=vendor).lines
    assert [(ln.kind, ln.amount_minor) for ln in lines] == [
        ("release", 6285),
        ("release", 13035),
        ("refund", -6750),
    ]
    assert market.balance("v-eu", by=vendor).balance_minor == 6285 + 6285


def test_r39_chargeback_won_before_release_is_reinstated_and_released(
    store: Store, clock: FakeClock
) -> None:
    """R16, R39: 100.00 EUR completed (held 86.80). The provider reports a chargeback of
    100.00 with a 15.00 fee: the commission drops to 0.00, held 100.00 - 100.00 - 15.00 -
    3.20 = -18.20 EUR and the release is frozen. The platform wins: the 100.00 comes back
    (the provider keeps its 15.00 fee by default), the commission is 10.00 again, held
    100.00 - 15.00 - 10.00 - 3.20 = 71.80, the freeze is lifted, and the sweep at 168 hours
    releases 71.80."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    order = sell(market, "v-eu", Money("100.00", "EUR"))
    clock.advance(days=1)
    market.report_chargeback(
        order.order_id,
        amount=Money("100.00", "EUR"),
        fee=Money("15.00", "EUR"),
        by=STAFF,
        reference="dp_1",
    )
    hold = market.get_hold(order.order_id, by=vendor)
    assert (hold.frozen, hold.commission_minor, hold.held_minor) == (True, 0, -1820)

    clock.advance(days=2)
    hold = market.chargeback_won(order.order_id, reference="dp_1", by=STAFF)
    assert (hold.frozen, hold.commission_minor, hold.held_minor) == (False, 1000, 7180)
    assert hold.chargebacks[0].reinstated_minor == 10000
    clock.set(START + HOLD)
    assert market.run_due().timers == {"release": 1}
    assert market.balance("v-eu", by=vendor).balance_minor == 7180
    assert market.verify_journal(by=STAFF).ok


def test_r39_chargeback_won_after_release_credits_the_balance_again(
    store: Store, clock: FakeClock
) -> None:
    """R21, R22, R39: 100.00 EUR released (86.80). A chargeback of 40.00 with a 15.00 fee
    after release is debited as a refund is: the commission on the 40.00 (4.00) comes back,
    so 55.00 - 4.00 = 51.00 is debited: balance 35.80. Won, with the fee returned by this
    marketplace's provider (``chargeback_fee_returned_on_win``): 55.00 comes back and the
    restored net carries its 4.00 commission again, so 51.00 is credited: balance 86.80,
    and the statement shows both lines."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates, chargeback_fee_returned_on_win=True)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    order = sell(market, "v-eu", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    market.report_chargeback(
        order.order_id,
        amount=Money("40.00", "EUR"),
        fee=Money("15.00", "EUR"),
        by=STAFF,
        reference="dp_2",
    )
    assert market.balance("v-eu", by=vendor).balance_minor == 3580
    market.chargeback_won(order.order_id, reference="dp_2", by=STAFF)
    assert market.balance("v-eu", by=vendor).balance_minor == 8680
    kinds = [(ln.kind, ln.amount_minor) for ln in market.statement("v-eu", by=vendor).lines]
    assert kinds == [("release", 8680), ("chargeback", -5100), ("chargeback_won", 5100)]
    with pytest.raises(Exception, match="already won"):
        market.chargeback_won(order.order_id, reference="dp_2", by=STAFF)


def test_r41_adjustments_reserve_and_minimum_balance_on_the_statement(
    store: Store, clock: FakeClock
) -> None:
    """R23, R41: vendor v-eu keeps a 10 % rolling reserve for 30 days and a 5.00 EUR minimum
    balance. 100.00 EUR released: +86.80, reserve -8.68 (10 % of 86.80) -> 78.12. Staff fine
    it 10.00 for late shipping and credit 2.50 goodwill -> 70.62. The payout leaves 5.00 in
    place and pays 65.62; its statement: release +86.80, reserve -8.68, adjustment -10.00,
    adjustment +2.50, minimum balance (0, 5.00 kept), paid 65.62, closing 5.00. Thirty days
    later the reserve comes back (+8.68, balance 13.68) and the next payout pays 8.68."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    market.set_payout_terms(
        "v-eu",
        by=STAFF,
        reason="new seller: reserve for 30 days",
        reserve_bp=1000,
        reserve_days=30,
        minimum_balance=Money("5.00", "EUR"),
    )
    sell(market, "v-eu", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    balance = market.balance("v-eu", by=vendor)
    assert (balance.balance_minor, balance.reserved_minor) == (7812, 868)
    market.adjust_balance(
        "v-eu", amount=Money("-10.00", "EUR"), reason="fine: late shipping", by=STAFF
    )
    market.adjust_balance(
        "v-eu", amount=Money("2.50", "EUR"), reason="goodwill: support delay", by=STAFF
    )
    with pytest.raises(ReasonRequiredError):
        market.adjust_balance("v-eu", amount=Money("1.00", "EUR"), reason=" ", by=STAFF)
    assert market.balance("v-eu", by=vendor).balance_minor == 7062

    (payout,) = market.run_payouts()
    statement = payout.statement
    assert payout.amount_minor == 6562
    assert [(ln.kind, ln.amount_minor, ln.reason) for ln in statement.lines] == [
        ("release", 8680, ""),
        ("reserve", -868, "rolling reserve kept back"),
        ("adjustment", -1000, "fine: late shipping"),
        ("adjustment", 250, "goodwill: support delay"),
        ("minimum_balance", 0, "minimum balance kept for refunds and debits"),
    ]
    assert statement.lines[-1].gross_minor == 500
    assert (statement.opening_minor, statement.paid_minor, statement.closing_minor) == (
        0,
        6562,
        500,
    )
    assert statement.reconciles

    clock.advance(days=30)
    assert market.run_due().timers == {"reserve_release": 1}
    (note,) = [
        m.notification
        for m in market.outbox(by=STAFF)
        if m.notification.kind == ("reserve.released")
    ]
    assert note.text.endswith("came back to your balance: 8.68 EUR.")
    balance = market.balance("v-eu", by=vendor)
    assert (balance.balance_minor, balance.reserved_minor) == (1368, 0)
    (second,) = market.run_payouts()
    assert second.amount_minor == 868
    assert [(ln.kind, ln.amount_minor) for ln in second.statement.lines] == [
        ("reserve_released", 868),
        ("minimum_balance", 0),
    ]
    assert (second.statement.opening_minor, second.statement.closing_minor) == (500, 500)
    assert second.statement.reconciles
    assert market.verify_journal(by=STAFF).ok
