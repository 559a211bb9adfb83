"""Worked money stories, every figure written out (R15-R18, R20-R25, R39, R41).

Fees in every story (``FEES``): commission 10 % of the net, processing 2.9 % of the amount
paid + 0.30 EUR (or + 30 JPY), conversion fee 2 % of the converted amount, all half-even.
Each story runs on the in-memory store and on SQLite (R33).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from moneyed import Money

from asolora_core import Actor, FakeClock, FeeSchedule, RecordingNotifier, RefundExceedsPaidError
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import HoldState
from asolora_core.ports import Store
from test_ledger_support import STAFF, START, SYSTEM, money_market, sell

HOLD = dt.timedelta(hours=168)


def test_eur_order_paid_out_in_gbp(store: Store, clock: FakeClock) -> None:
    """R15, R17, R18, R24, R41: a 100.00 EUR order of a vendor paid in GBP.

    At completion: commission 10.00, processing 2.90 + 0.30 = 3.20, held 86.80 EUR, due
    168 hours later. The rate moves from 0.8567 to 0.8600 before the release, which uses
    the rate in force then: 86.80 x 0.86 = 74.648 -> 74.65 GBP; conversion fee 2 % = 1.493
    -> 1.49 GBP; credited 73.16 GBP. The payout quantum is 1.00 GBP: 73.00 is paid, 0.16 stays.
    """
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    market = money_market(store, clock, rates, payout_quantum={"GBP": Money("1.00", "GBP")})
    market.register_vendor("v-gb", payout_currency="GBP", by=STAFF)
    order = sell(market, "v-gb", Money("100.00", "EUR"))
    vendor = Actor.vendor("v-gb")

    hold = market.get_hold(order.order_id, by=vendor)
    assert (hold.commission_minor, hold.processing_fee_minor, hold.held_minor) == (1000, 320, 8680)
    assert hold.release_at == START + HOLD == dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)
    assert market.balance("v-gb", by=vendor, currency="EUR").held_minor == 8680

    rates.set_rate("EUR", "GBP", "0.8600", as_of=START + dt.timedelta(days=3))
    clock.advance(hours=167, minutes=59)
    assert market.run_due().timers == {}  # one minute early: nothing released
    clock.advance(minutes=1)
    assert market.run_due().timers == {"release": 1}

    balance = market.balance("v-gb", by=vendor)
    assert (balance.currency, balance.balance_minor, balance.released_minor) == ("GBP", 7316, 7316)
    assert market.balance("v-gb", by=vendor, currency="EUR").held_minor == 0

    (payout,) = market.run_payouts()
    assert (payout.currency, payout.amount_minor) == ("GBP", 7300)
    assert payout.amount == Money("73.00", "GBP")
    (line,) = payout.statement.lines
    assert line.kind == "release"
    assert (line.gross_minor, line.commission_minor, line.processing_fee_minor) == (
        10000,
        1000,
        320,
    )
    assert (line.proceeds_minor, line.order_currency) == (8680, "EUR")
    assert (line.rate, line.rate_source) == (Decimal("0.8600"), "fixed")
    assert line.rate_as_of == START + dt.timedelta(days=3)
    assert (line.converted_minor, line.conversion_fee_minor, line.amount_minor) == (7465, 149, 7316)
    assert payout.statement.opening_minor == 0
    assert payout.statement.closing_minor == 16
    assert payout.statement.reconciles
    assert market.balance("v-gb", by=vendor).balance_minor == 16
    assert market.run_payouts() == ()  # R18: repeatable, nothing paid twice
    assert market.verify_journal(by=STAFF).ok


def test_partial_refund_before_release(store: Store, clock: FakeClock) -> None:
    """R15, R21: 200.00 EUR completed: commission 20.00, processing 5.80 + 0.30 = 6.10, held
    173.90. A 50.00 refund before release: the net is 150.00, so the commission is 15.00
    (5.00 comes back to the vendor), the processing fee stays 6.10; held 128.90 EUR,
    released as is (same currency, no conversion fee)."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    order = sell(market, "v-eu", Money("200.00", "EUR"))
    assert market.get_hold(order.order_id, by=vendor).held_minor == 17390

    clock.advance(days=2)
    market.refund(order.order_id, by=vendor, amount=Money("50.00", "EUR"))
    hold = market.get_hold(order.order_id, by=vendor)
    assert (hold.commission_minor, hold.processing_fee_minor) == (1500, 610)
    assert (hold.refunded_minor, hold.held_minor, hold.state) == (5000, 12890, HoldState.HELD)
    assert market.balance("v-eu", by=vendor).balance_minor == 0  # nothing debited

    clock.advance(days=5)
    market.run_due()
    balance = market.balance("v-eu", by=vendor)
    assert (balance.balance_minor, balance.held_minor, balance.debited_minor) == (12890, 0, 0)
    (line,) = market.statement("v-eu", by=vendor).lines
    assert (line.gross_minor, line.commission_minor, line.amount_minor) == (15000, 1500, 12890)
    assert line.conversion_fee_minor == 0


def test_full_refund_after_release_offset_by_next_two_releases(
    store: Store, clock: FakeClock
) -> None:
    """R18, R21, R22, R23, R41: order A 100.00 EUR is released (86.80) and paid out. A full
    refund of A after release: the net is 0.00, so the commission is 0.00 and its 10.00
    comes back exactly as it would before release (the one commission rule); the processing
    fee 3.20 is kept. The balance is debited 100.00 - 10.00 = 90.00: -90.00, and a payout
    run pays nothing. Order B (60.00: commission 6.00, processing 1.74 + 0.30 = 2.04,
    proceeds 51.96) is released: balance -38.04, all 51.96 offset. Order C (80.00:
    commission 8.00, processing 2.32 + 0.30 = 2.62, proceeds 69.38): balance +31.34, 38.04
    offset. The payout of 31.34 carries a statement: opening 0.00, refund -90.00 (commission
    10.00 back), release +51.96 (offset 51.96), release +69.38 (offset 38.04), paid 31.34,
    closing 0.00."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    a = sell(market, "v-eu", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    (first,) = market.run_payouts()
    assert first.amount_minor == 8680

    clock.advance(days=1)
    market.refund(a.order_id, by=vendor, amount=Money("100.00", "EUR"))
    balance = market.balance("v-eu", by=vendor)
    assert (balance.balance_minor, balance.debited_minor, balance.paid_out_minor) == (
        -9000,
        9000,
        8680,
    )
    assert market.run_payouts() == ()  # R18: a negative balance pays nothing

    b = sell(market, "v-eu", Money("60.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(b.order_id, by=vendor).released_minor == 5196
    assert market.balance("v-eu", by=vendor).balance_minor == -3804
    assert market.run_payouts() == ()

    c = sell(market, "v-eu", Money("80.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(c.order_id, by=vendor).released_minor == 6938
    assert market.balance("v-eu", by=vendor).balance_minor == 3134

    (payout,) = market.run_payouts()
    statement = payout.statement
    assert payout.amount_minor == 3134
    assert statement.opening_minor == 0
    assert [(ln.kind, ln.amount_minor, ln.offset_minor) for ln in statement.lines] == [
        ("refund", -9000, 0),
        ("release", 5196, 5196),
        ("release", 6938, 3804),
    ]
    assert (statement.lines[0].gross_minor, statement.lines[0].commission_minor) == (10000, 1000)
    assert [ln.order_id for ln in statement.offsets] == [b.order_id, c.order_id]
    assert (statement.paid_minor, statement.closing_minor) == (3134, 0)
    assert statement.reconciles
    final = market.balance("v-eu", by=vendor)
    # paid out = released - debited - balance (R18, R22)
    assert final.paid_out_minor == 8680 + 3134
    assert final.released_minor == 8680 + 5196 + 6938
    assert final.paid_out_minor == final.released_minor - final.debited_minor - final.balance_minor


def test_jpy_order_paid_out_in_kwd(store: Store, clock: FakeClock) -> None:
    """R17, R25: 12,345 JPY (0 decimals) paid out in KWD (3 decimals) at 0.002051.

    Commission 10 % = 1,234.5 -> 1,234 JPY (half-even); processing 2.9 % = 358.005 -> 358
    + 30 = 388 JPY; proceeds 10,723 JPY. Converted 10,723 x 0.002051 = 21.992873 -> 21.993
    KWD; conversion fee 2 % = 0.43986 -> 0.440 KWD; credited 21.553 KWD. With a 0.010 KWD
    quantum the payout is 21.550 KWD (rounded down, R18) and 0.003 KWD stays."""
    rates = FixedRateProvider({("JPY", "KWD"): "0.002051"}, as_of=START)
    market = money_market(store, clock, rates, payout_quantum={"KWD": Money("0.010", "KWD")})
    market.register_vendor("v-kw", payout_currency="KWD", by=STAFF)
    vendor = Actor.vendor("v-kw")
    order = sell(market, "v-kw", Money("12345", "JPY"))
    hold = market.get_hold(order.order_id, by=vendor)
    assert (hold.commission_minor, hold.processing_fee_minor, hold.held_minor) == (1234, 388, 10723)

    clock.advance(hours=168)
    market.run_due()
    (line,) = market.statement("v-kw", by=vendor).lines
    assert (line.converted_minor, line.conversion_fee_minor, line.amount_minor) == (
        21993,
        440,
        21553,
    )
    (payout,) = market.run_payouts()
    assert payout.amount == Money("21.550", "KWD")
    assert payout.statement.closing_minor == 3
    assert market.balance("v-kw", by=vendor).balance == Money("0.003", "KWD")


def test_chargeback_after_a_refund(store: Store, clock: FakeClock) -> None:
    """R21, R39: 100.00 EUR completed (held 86.80); a 30.00 refund before release (net
    70.00: commission 7.00, processing 3.20, held 59.80). The provider then reports a
    chargeback of the full 100.00 with a 15.00 fee: only the 70.00 not already refunded is
    booked (the buyer never gets the same money twice), plus the fee; the commission drops to
    0.00; held 100.00 - 30.00 - 70.00 - 15.00 - 3.20 = -18.20 EUR, and the release is
    frozen. A further refund is refused. Staff lift the freeze; the release debits 18.20."""
    rates = FixedRateProvider(as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    order = sell(market, "v-eu", Money("100.00", "EUR"))
    market.refund(order.order_id, by=vendor, amount=Money("30.00", "EUR"))
    assert market.get_hold(order.order_id, by=vendor).held_minor == 5980

    clock.advance(days=1)
    hold = market.report_chargeback(
        order.order_id,
        amount=Money("100.00", "EUR"),
        fee=Money("15.00", "EUR"),
        by=SYSTEM,
        reference="dispute-1",
    )
    (chargeback,) = hold.chargebacks
    assert (chargeback.reported_minor, chargeback.applied_minor, chargeback.fee_minor) == (
        10000,
        7000,
        1500,
    )
    assert (hold.commission_minor, hold.held_minor, hold.state) == (0, -1820, HoldState.FROZEN)

    with pytest.raises(RefundExceedsPaidError):
        market.refund(order.order_id, by=vendor, amount=Money("10.00", "EUR"))

    clock.advance(days=7)
    assert market.run_due().timers == {}  # frozen: not released (R16)
    market.lift_freeze(order.order_id, by=STAFF, reason="chargeback lost, vendor debited")
    market.run_due()
    assert market.balance("v-eu", by=vendor).balance_minor == -1820
    assert market.get_hold(order.order_id, by=vendor).state == HoldState.RELEASED


def test_a_largest_order_released_in_yen_reads_as_money(store: Store, clock: FakeClock) -> None:
    """R17, R25: the largest order a command takes, 10,000,000,000.00 EUR (MAX_AMOUNT_MINOR
    = 10**12 cents), no fees, released to a JPY payout at 160 JPY per EUR: 1,600,000,000,000
    JPY, 1.6 x 10**12 minor units, more than any one amount a command takes. The release,
    the hold, the statement line and the balance still read as Money: from_minor's bound is
    what a store holds (2**63 - 1), not the input maximum."""
    rates = FixedRateProvider({("EUR", "JPY"): "160"}, as_of=START)
    market = money_market(store, clock, rates, fees=FeeSchedule())
    market.register_vendor("v-jp", payout_currency="JPY", by=STAFF)
    vendor = Actor.vendor("v-jp")
    order = sell(market, "v-jp", Money("10000000000.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(order.order_id, by=vendor).released == Money("1600000000000", "JPY")
    (line,) = market.statement("v-jp", by=vendor).lines
    assert (line.amount, line.gross) == (
        Money("1600000000000", "JPY"),
        Money("10000000000.00", "EUR"),
    )
    assert market.balance("v-jp", by=vendor).balance == Money("1600000000000", "JPY")


def test_r39_r41_a_chargeback_lost_before_release_is_a_chargeback_line_not_a_negative_release(
    store: Store, clock: FakeClock
) -> None:
    """R39, R41, R31, R23: order A, 100.00 EUR, completes on day 0 (commission 10.00,
    processing 2.9 % + 0.30 = 3.20, held 86.80). Before release the provider charges back
    the full 100.00 with a 15.00 fee: the net is 0.00, so the commission is 0.00; the
    processing fee stays (R21); held 100.00 - 100.00 - 15.00 - 3.20 = -18.20, frozen. Order
    B, 50.00 EUR, completes on day 1 (commission 5.00, processing 1.45 + 0.30 = 1.75, held
    43.25). Staff lift A's freeze: the dispute is lost.

    On day 7 A's release moves no proceeds and debits 18.20: the statement shows it as a
    ``chargeback`` line (gross 0.00 - commission 0.00 - fees 18.20 = proceeds -18.20,
    amount -18.20), not as a release of -18.20. On day 8 B's release credits 43.25, 18.20
    of which offsets the debt (R23): balance 25.05. The month's earnings: released 43.25,
    commission 5.00, processing fees 1.75 + 18.20 = 19.95, chargebacks debited 18.20,
    offsets 18.20, closing 25.05 = the balance. The vendor is told what was debited."""
    notifier = RecordingNotifier()
    market = money_market(store, clock, FixedRateProvider(as_of=START), notifier=notifier)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    vendor = Actor.vendor("v-eu")
    a = sell(market, "v-eu", Money("100.00", "EUR"))
    hold = market.report_chargeback(
        a.order_id,
        amount=Money("100.00", "EUR"),
        fee=Money("15.00", "EUR"),
        by=SYSTEM,
        reference="dispute-1",
    )
    assert (hold.held_minor, hold.commission_minor, hold.processing_fee_minor) == (-1820, 0, 320)
    clock.advance(days=1)
    b = sell(market, "v-eu", Money("50.00", "EUR"))
    assert market.get_hold(b.order_id, by=vendor).held_minor == 4325
    market.lift_freeze(a.order_id, by=STAFF, reason="the provider decided for the buyer")

    clock.set(START + dt.timedelta(days=7))
    market.run_due()
    (debit,) = market.statement("v-eu", by=vendor).lines
    assert (debit.kind, debit.order_id, debit.amount) == (
        "chargeback",
        a.order_id,
        Money("-18.20", "EUR"),
    )
    assert (debit.gross, debit.commission, debit.processing_fee, debit.proceeds) == (
        Money("0.00", "EUR"),
        Money("0.00", "EUR"),
        Money("18.20", "EUR"),
        Money("-18.20", "EUR"),
    )
    assert market.balance("v-eu", by=vendor).balance == Money("-18.20", "EUR")
    market.deliver_notifications()
    texts = [n.text for _, n in notifier.sent if n.kind == "proceeds.released"]
    assert texts[-1] == (
        f"Order {a.order_id} had no proceeds to release: what came out of them before release "
        "(a chargeback or refund, and fees) exceeded them, so 18.20 EUR was debited from your "
        "balance."
    )

    clock.advance(days=1)
    market.run_due()
    lines = market.statement("v-eu", by=vendor).lines
    assert [(x.kind, x.amount_minor, x.offset_minor) for x in lines] == [
        ("chargeback", -1820, 0),
        ("release", 4325, 1820),
    ]
    assert market.balance("v-eu", by=vendor).balance == Money("25.05", "EUR")
    month = market.earnings_report(
        "v-eu", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), by=vendor, granularity="month"
    )
    (eur,) = month.periods[0].figures
    assert (
        eur.released_minor,
        eur.commission_minor,
        eur.processing_fees_minor,
        eur.chargebacks_debited_minor,
        eur.refunds_debited_minor,
        eur.offsets_minor,
        eur.closing_minor,
    ) == (4325, 500, 1995, 1820, 0, 1820, 2505)
    assert market.verify_reports("v-eu", by=STAFF).ok
