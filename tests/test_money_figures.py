"""Money figures a vendor paid in another currency reads, worked out by hand from the rules
(R17, R22, R31, R39, R41), on every store.

Fees (``FEES`` of the ledger stories): commission 10 % of the net, processing 2.9 % of the
amount paid + 0.30 EUR, conversion 2 % of the converted amount, all half-even.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    Marketplace,
    NotFoundError,
    to_json,
    to_minor,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ports import Store
from pg_support import postgres
from test_ledger_support import FEES, STAFF, START, money_market, sell
from test_reports_properties import opened

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


def test_r23_a_vendor_that_owes_in_its_order_currency_is_not_registered_in_another(
    store: Store, clock: FakeClock
) -> None:
    """R18, R22, R23: a vendor that is not registered is released and paid in the order
    currency. Sold 100.00 EUR: commission 10.00, processing 3.20, 86.80 EUR released and paid
    out; then 50.00 refunded after release, commission 5.00 back: 45.00 EUR debited, balance
    -45.00 EUR. Registering it to be paid in GBP now would send the next releases (and
    payouts) to GBP and leave the EUR debt for ever: refused, nothing changes. Once a staff
    adjustment covers the debt, the registration goes through."""
    rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START)
    market = money_market(store, clock, rates)
    vendor = Actor.vendor("v-1")
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    (paid,) = market.run_payouts()
    assert paid.amount == Money("86.80", "EUR")
    market.refund(order.order_id, by=vendor, amount=Money("50.00", "EUR"))
    assert market.balance("v-1", by=vendor).balance == Money("-45.00", "EUR")

    with pytest.raises(InvalidTransitionError) as refused:
        market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    assert refused.value.code == "invalid_transition"
    assert "owes 45.00 EUR" in str(refused.value)
    with pytest.raises(NotFoundError):
        market.get_vendor("v-1", by=STAFF)  # nothing was registered

    # paid in EUR, its currency, is fine: the next EUR releases offset the debt
    market.adjust_balance("v-1", amount=Money("45.00", "EUR"), reason="debt settled", by=STAFF)
    assert market.register_vendor("v-1", payout_currency="GBP", by=STAFF).payout_currency == ("GBP")


def test_r31_r39_a_provider_fee_returned_on_a_win_is_no_fee_before_or_after_release(
    store: Store, clock: FakeClock
) -> None:
    """R31, R39, R41: with ``chargeback_fee_returned_on_win`` a won dispute gives the
    provider's fee back, so the vendor bore no fee; its earnings say so whether the dispute
    came before or after release.

    Two vendors paid in GBP each sell 100.00 EUR (commission 10.00, processing 3.20, held
    86.80). v-1: a chargeback of 20.00 with a 15.00 fee before release, won: the fee and the
    amount go back into the held proceeds (86.80 again), released at 0.85: 73.78 GBP less
    1.48 = 72.30. v-2: released at 0.85 (72.30 GBP); at 0.90 the same chargeback debits
    35.00 - 2.00 commission back = 33.00 EUR, 29.70 + 0.59 = 30.29 GBP; won, 35.00 comes back
    less the 2.00 commission the restored net carries again: 33.00 EUR, 29.70 - 0.59 = 29.11
    GBP (balance 72.30 - 30.29 + 29.11 = 71.12). Each vendor's EUR processing fees: 3.20, the
    order's own; the won line shows the fee given back (gross 20.00, commission 2.00,
    processing fee -15.00: 20.00 - 2.00 + 15.00 = 33.00 EUR credited)."""
    rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START)
    market = money_market(store, clock, rates, chargeback_fee_returned_on_win=True)

    def chargeback(order_id: str) -> None:
        market.report_chargeback(
            order_id,
            amount=Money("20.00", "EUR"),
            fee=Money("15.00", "EUR"),
            by=Actor.system(),
            reference="cb-1",
        )
        market.chargeback_won(order_id, reference="cb-1", by=STAFF)

    for vendor_id in ("v-1", "v-2"):
        market.register_vendor(vendor_id, payout_currency="GBP", by=STAFF)
    first = sell(market, "v-1", Money("100.00", "EUR"))
    second = sell(market, "v-2", Money("100.00", "EUR"))
    chargeback(first.order_id)
    clock.advance(hours=168)
    market.run_due()
    rates.set_rate("EUR", "GBP", "0.90", as_of=clock.now())
    clock.advance(hours=1)
    chargeback(second.order_id)

    assert market.balance("v-1", by=STAFF).balance == Money("72.30", "GBP")
    assert market.balance("v-2", by=STAFF).balance == Money("71.12", "GBP")
    won = market.statement("v-2", by=STAFF).lines[-1]
    assert (won.kind, won.gross, won.commission, won.processing_fee, won.amount) == (
        "chargeback_won",
        Money("20.00", "EUR"),
        Money("2.00", "EUR"),
        Money("-15.00", "EUR"),
        Money("29.11", "GBP"),
    )
    for vendor_id in ("v-1", "v-2"):
        report = market.earnings_report(
            vendor_id, start=D(2026, 3, 1), end=D(2026, 3, 31), by=STAFF, granularity="month"
        )
        eur = next(f for f in report.periods[0].figures if f.currency == "EUR")
        assert eur.processing_fees == Money("3.20", "EUR"), vendor_id
        assert market.verify_reports(vendor_id, by=STAFF).ok


def test_r30_r31_the_json_of_the_reports_carries_net_sales_and_the_closing_balance(
    store: Store, clock: FakeClock
) -> None:
    """R30, R31: ``to_json`` of a sales report carries each figure's ``net`` and of an
    earnings report each figure's ``closing``, as ``to_dict`` does: 100.00 EUR sold and
    released (86.80), 40.00 refunded after release (commission 4.00 back: 36.00 debited):
    net sales 60.00, closing balance 50.80."""
    market = money_market(store, clock, FixedRateProvider(as_of=START))
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    market.refund(order.order_id, by=Actor.vendor("v-1"), amount=Money("40.00", "EUR"))
    span = {"start": D(2026, 3, 1), "end": D(2026, 3, 31), "by": STAFF, "granularity": "month"}
    sales = to_json(market.sales_report("v-1", **span))  # type: ignore[arg-type]
    earnings = to_json(market.earnings_report("v-1", **span))  # type: ignore[arg-type]
    (sold,) = sales["periods"][0]["figures"]
    (eur,) = earnings["periods"][0]["figures"]
    assert sold["net"] == {"amount": "60.00", "currency": "EUR"}
    assert sales["totals"][0]["net"] == {"amount": "60.00", "currency": "EUR"}
    assert eur["closing"] == {"amount": "50.80", "currency": "EUR"}


def test_r35_r39_a_chargeback_reported_again_with_other_figures_is_refused(
    store: Store, clock: FakeClock
) -> None:
    """R35, R39: the provider's dispute id makes a repeated report change nothing; a report
    under the same id with another amount or another stated fee is not a repeat and is
    refused (naming the field), never silently dropped: the ledger would keep figures the
    provider no longer states. 100.00 EUR completed (held 86.80); a chargeback of 20.00
    with a 15.00 fee: commission 8.00 on the 80.00 net, held 100.00 - 35.00 - 8.00 - 3.20 =
    53.80."""
    market = money_market(store, clock, FixedRateProvider(as_of=START))
    order = sell(market, "v-1", Money("100.00", "EUR"))

    def report(amount: str, fee: str) -> object:
        return market.report_chargeback(
            order.order_id,
            amount=Money(amount, "EUR"),
            fee=Money(fee, "EUR"),
            by=Actor.system(),
            reference="dp_1",
        )

    first = report("20.00", "15.00")
    assert report("20.00", "15.00") == first  # a repeat: nothing more
    same = market.report_chargeback(
        order.order_id, amount=Money("20.00", "EUR"), by=Actor.system(), reference="dp_1"
    )
    assert same == first  # a repeat that does not restate the fee
    for amount, fee, field in (("30.00", "15.00", "amount"), ("20.00", "5.00", "fee")):
        with pytest.raises(IdempotencyKeyReusedError) as refused:
            report(amount, fee)
        assert refused.value.fields["field"] == field
        assert "dp_1" in str(refused.value)
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.chargeback, hold.held) == (Money("20.00", "EUR"), Money("53.80", "EUR"))


# --- invariants over random histories ----------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
RATES = ("0.8567", "0.9012", "0.7755")

money_op = st.one_of(
    st.tuples(st.just("sell"), st.sampled_from(["EUR", "EUR", "GBP"]), st.integers(1, 40_000)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("rate"), st.sampled_from(RATES)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 20_000)),
    st.tuples(
        st.just("chargeback"), st.integers(0, 20), st.integers(1, 20_000), st.integers(0, 2_000)
    ),
    st.tuples(st.just("won"), st.integers(0, 20)),
    st.tuples(st.just("lift"), st.integers(0, 20)),
    st.tuples(st.just("adjust"), st.integers(-5_000, 5_000)),
    st.tuples(st.just("payout")),
)


def _cents(currency: str, minor: int) -> Money:
    return Money(f"{minor // 100}.{minor % 100:02d}", currency)


def _money_step(
    market: Marketplace,
    clock: FakeClock,
    rates: FixedRateProvider,
    step: tuple[Any, ...],
    orders: list[str],
    chargebacks: list[tuple[str, str]],
) -> None:
    kind = step[0]
    vendor = Actor.vendor("v-1")
    try:
        if kind == "sell":
            orders.append(sell(market, "v-1", _cents(step[1], step[2])).order_id)
        elif kind == "sweep":
            clock.advance(hours=169)
            market.run_due()
        elif kind == "rate":
            clock.advance(hours=1)
            rates.set_rate("EUR", "GBP", step[1], as_of=clock.now())
        elif kind == "adjust" and step[1]:
            market.adjust_balance(
                "v-1", amount=Money(Decimal(step[1]).scaleb(-2), "GBP"), reason="staff", by=STAFF
            )
        elif kind == "payout":
            market.run_payouts()
        elif orders:
            order = market.get_order(orders[step[1] % len(orders)], by=STAFF)
            if kind == "refund":
                key = f"refund-{len(orders)}-{step[2]}"
                first = market.refund(
                    order.order_id,
                    by=vendor,
                    amount=_cents(order.currency, step[2]),
                    idempotency_key=key,
                )
                before = market.balance("v-1", by=STAFF)
                again = market.refund(
                    order.order_id,
                    by=vendor,
                    amount=_cents(order.currency, step[2]),
                    idempotency_key=key,
                )
                # R35: a retry returns the first result and moves no money
                assert again == first
                assert market.balance("v-1", by=STAFF) == before
            elif kind == "chargeback":
                reference = f"cb-{len(chargebacks)}"
                market.report_chargeback(
                    order.order_id,
                    amount=_cents(order.currency, step[2]),
                    fee=_cents(order.currency, step[3]),
                    by=Actor.system(),
                    reference=reference,
                )
                chargebacks.append((order.order_id, reference))
            elif kind == "won" and chargebacks:
                order_id, reference = chargebacks[step[1] % len(chargebacks)]
                market.chargeback_won(order_id, reference=reference, by=STAFF)
            elif kind == "lift":
                market.lift_freeze(order.order_id, by=STAFF, reason="dispute lost")
    except AsoloraError:
        pass  # a refusal changes nothing (R2); the history goes on


@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("postgres", marks=postgres)])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(money_op, min_size=2, max_size=30), fee_returned=st.booleans())
def test_earnings_agree_with_the_statements_currency_by_currency(
    kind: str, steps: list[tuple[Any, ...]], fee_returned: bool
) -> None:
    """R24, R31, R33, R35, R41: a vendor paid in GBP selling in EUR and GBP (two orders
    released first, then anything), through
    releases, refunds and chargebacks (with provider fees) before and after release, won
    chargebacks, rate changes, staff adjustments and payouts. Whatever happened, in each
    currency: the earnings' processing and conversion fees are the statement lines' (every
    payout's statement and the next one), each line's fee counted in its own currency; the
    earnings' closing is the balance; the payouts sum to what the balance says was paid out;
    every statement sums to its payout; a refund retried under its key changes nothing; the
    journal and the rollups verify."""
    with opened(kind) as store:
        clock = FakeClock(T0)
        rates = FixedRateProvider({("EUR", "GBP"): RATES[0]}, as_of=T0)
        market = money_market(
            store,
            clock,
            rates,
            fees=attrs.evolve(FEES, refund_fee_bp=100),
            chargeback_fee_returned_on_win=fee_returned,
        )
        market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
        orders: list[str] = []
        chargebacks: list[tuple[str, str]] = []
        opening = [("sell", "EUR", 10_000), ("sell", "GBP", 5_000), ("sweep",)]
        for step in [*opening, *steps]:
            _money_step(market, clock, rates, step, orders, chargebacks)

        payouts = market.payouts("v-1", by=STAFF)
        lines = [line for p in payouts for line in p.statement.lines]
        lines += market.statement("v-1", by=STAFF).lines
        for p in payouts:
            assert p.statement.reconciles
        want_fees: dict[str, int] = {}
        want_conversion: dict[str, int] = {}
        for line in lines:
            fee = line.processing_fee
            want_fees[fee.currency.code] = want_fees.get(fee.currency.code, 0) + to_minor(fee)
            want_conversion[line.currency] = (
                want_conversion.get(line.currency, 0) + line.conversion_fee_minor
            )
        report = market.earnings_report(
            "v-1",
            start=T0.date(),
            end=(clock.now() + dt.timedelta(days=1)).date(),
            by=STAFF,
            granularity="month",
        )
        got_fees: dict[str, int] = {}
        got_conversion: dict[str, int] = {}
        for period in report.periods:
            for f in period.figures:
                got_fees[f.currency] = got_fees.get(f.currency, 0) + f.processing_fees_minor
                got_conversion[f.currency] = (
                    got_conversion.get(f.currency, 0) + f.conversion_fees_minor
                )
        assert {c: v for c, v in got_fees.items() if v} == {c: v for c, v in want_fees.items() if v}
        assert {c: v for c, v in got_conversion.items() if v} == {
            c: v for c, v in want_conversion.items() if v
        }

        balance = market.balance("v-1", by=STAFF)
        for last in report.periods[-1].figures:
            if last.currency == "GBP":
                assert last.closing_minor == balance.balance_minor
        assert sum(p.amount_minor for p in payouts) == balance.paid_out_minor
        assert market.verify_journal(by=STAFF).ok
        check = market.verify_reports("v-1", by=STAFF)
        assert check.ok, check.differences
