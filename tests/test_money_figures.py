"""Money figures a vendor paid in another currency reads, worked out by hand from the rules
(R17, R22, R31, R39, R41), on every store.

Fees (``FEES`` of the ledger stories): commission 10 % of the net, processing 2.9 % of the
amount paid + 0.30 EUR, conversion 2 % of the converted amount, all half-even.
"""

from __future__ import annotations

import datetime as dt

from moneyed import Money

from asolora_core import Actor, FakeClock
from asolora_core.fx import FixedRateProvider
from asolora_core.ports import Store
from test_ledger_support import STAFF, START, money_market, sell

D = dt.date


def test_r31_r39_a_chargeback_fee_after_release_is_reported_in_the_order_currency(
    store: Store, clock: FakeClock
) -> None:
    """R31, R39, R41: the provider's fee of a chargeback after release is charged in the order
    currency (EUR); the earnings show it in the EUR processing fees, never as that many GBP.

    100.00 EUR: commission 10.00, processing 2.90 + 0.30 = 3.20, held 86.80. Released at
    0.85: 86.80 x 0.85 = 73.78 GBP, less 2 % (1.4756 -> 1.48) = 72.30 GBP. The rate moves to
    0.90; a chargeback of 20.00 EUR with a 15.00 EUR fee: the net is 80.00, commission 8.00,
    so 2.00 comes back; 20.00 + 15.00 - 2.00 = 33.00 EUR is debited: 33.00 x 0.90 = 29.70 GBP
    + 2 % (0.594 -> 0.59) = 30.29 GBP. Balance 72.30 - 30.29 = 42.01 GBP.

    Earnings for March: EUR commission 10.00 and processing fees 3.20 + 15.00 = 18.20; GBP
    released 72.30, conversion fees 1.48 + 0.59 = 2.07, chargebacks debited 30.29, no
    processing fee (nothing was charged in GBP), closing 42.01."""
    rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    vendor = Actor.vendor("v-1")
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    rates.set_rate("EUR", "GBP", "0.90", as_of=clock.now())
    clock.advance(hours=1)
    market.report_chargeback(
        order.order_id,
        amount=Money("20.00", "EUR"),
        fee=Money("15.00", "EUR"),
        by=Actor.system(),
        reference="cb-1",
    )
    assert market.balance("v-1", by=vendor).balance == Money("42.01", "GBP")
    (line,) = market.statement("v-1", by=vendor).lines[1:]
    assert (line.kind, line.amount, line.processing_fee, line.commission) == (
        "chargeback",
        Money("-30.29", "GBP"),
        Money("15.00", "EUR"),
        Money("2.00", "EUR"),
    )

    report = market.earnings_report(
        "v-1", start=D(2026, 3, 1), end=D(2026, 3, 31), by=vendor, granularity="month"
    )
    eur, gbp = report.periods[0].figures
    assert (eur.currency, eur.commission, eur.processing_fees) == (
        "EUR",
        Money("10.00", "EUR"),
        Money("18.20", "EUR"),
    )
    assert (
        gbp.currency,
        gbp.released,
        gbp.processing_fees,
        gbp.conversion_fees,
        gbp.chargebacks_debited,
        gbp.closing,
    ) == (
        "GBP",
        Money("72.30", "GBP"),
        Money("0.00", "GBP"),
        Money("2.07", "GBP"),
        Money("30.29", "GBP"),
        Money("42.01", "GBP"),
    )
    assert market.verify_reports("v-1", by=STAFF).ok


def test_r33_a_chargeback_booked_without_its_fee_currency_keeps_its_old_presentation() -> None:
    """R33: a chargeback after release stored before its memo named the fee's currency folds
    into the earnings as it always did (the fee beside the debit), so the rollups stored then
    still verify; one that names it counts the fee in that currency (R31, R39)."""
    from asolora_core.ledger.model import FEE_CURRENCY, Entry, JournalTransaction
    from asolora_core.reports.core import local_day, on_posting, zone

    memo = {"processing_fee": "1500", "conversion_fee": "59", "order_currency": "EUR"}
    old = JournalTransaction(
        key="chargeback:o-1:cb-1",
        kind="chargeback",
        at=START,
        vendor_id="v-1",
        order_id="o-1",
        ref="cb-1",
        entries=(
            Entry(account="vendor:v-1:balance", currency="GBP", amount_minor=3029),
            Entry(account="platform:conversion_fees", currency="GBP", amount_minor=-3029),
        ),
        memo=memo,
    )
    utc = zone("UTC")
    new = JournalTransaction(
        key=old.key,
        kind=old.kind,
        at=old.at,
        vendor_id=old.vendor_id,
        order_id=old.order_id,
        ref=old.ref,
        entries=old.entries,
        memo={**memo, FEE_CURRENCY: "EUR"},
    )
    day = local_day(START, utc)
    assert on_posting(old, utc) == [(day, "GBP", (0, 0, 1500, 59, 0, 3029, 0, 0))]
    assert on_posting(new, utc) == [
        (day, "EUR", (0, 0, 1500, 0, 0, 0, 0, 0)),
        (day, "GBP", (0, 0, 0, 59, 0, 3029, 0, 0)),
    ]
