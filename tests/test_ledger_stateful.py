"""A state machine over orders, refunds, chargebacks, rate changes, clock advances, sweeps,
freezes and payouts, with the ledger invariants checked after every step (R15-R25, R39,
R41, R42).

Invariants: every transaction balances per currency and the hash chain verifies; the journal
only grows (its old prefix never changes); for each vendor and currency, paid out = released
- debited - balance; refunds and chargebacks per order never exceed the amount paid; no order
is released twice, before ``release_at`` or while frozen; a payout never leaves a negative
balance; every payout statement sums to its payout.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    InMemoryStore,
    Marketplace,
    OrderStatus,
    RefundExceedsPaidError,
    SqliteStore,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import FeeSchedule, HoldState, JournalTransaction
from asolora_core.money import from_minor
from asolora_core.ports import Store
from pg_support import make_store as make_pg_store
from pg_support import postgres
from test_ledger_support import STAFF, START, SYSTEM, money_market, place
from test_ledger_support import complete as complete_order

VENDORS = {"v-gb": "GBP", "v-eu": "EUR", "v-kw": "KWD"}
CURRENCIES = ("EUR", "JPY")
FEES = FeeSchedule(
    commission_bp=1000,
    processing_bp=290,
    processing_fixed={"EUR": Money("0.30", "EUR")},
    conversion_bp=150,
    refund_fee_bp=100,
)


def _currency_list(market: Marketplace, vendor_id: str) -> tuple[str, ...]:
    with market.store.unit_of_work() as uow:
        return uow.ledger.vendor_currencies(vendor_id)


class LedgerMachine(RuleBasedStateMachine):
    store_kind = "memory"

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.rates = FixedRateProvider(
            {
                ("EUR", "GBP"): "0.85",
                ("EUR", "KWD"): "0.33",
                ("JPY", "EUR"): "0.0062",
                ("JPY", "GBP"): "0.0053",
                ("JPY", "KWD"): "0.002051",
            },
            as_of=START,
        )
        if self.store_kind == "memory":
            self.store: Store = InMemoryStore()
        elif self.store_kind == "sqlite":
            self.store = SqliteStore(":memory:")
        else:
            self.store = make_pg_store()
        self.market: Marketplace = money_market(
            self.store,
            self.clock,
            self.rates,
            fees=FEES,
            payout_quantum={"GBP": Money("0.05", "GBP")},
            payout_minimum={"EUR": Money("5.00", "EUR")},
        )
        self.frozen: set[str] = set()
        self.seen: tuple[JournalTransaction, ...] = ()
        self.paid: dict[str, int] = {}

    @initialize()
    def vendors(self) -> None:
        for vendor_id, currency in VENDORS.items():
            self.market.register_vendor(vendor_id, payout_currency=currency, by=STAFF)

    # --- rules --------------------------------------------------------------------------

    @rule(
        target=orders,
        vendor=st.sampled_from(sorted(VENDORS)),
        currency=st.sampled_from(CURRENCIES),
        minor=st.integers(1, 50_000),
        completed=st.booleans(),
    )
    def place_order(self, vendor: str, currency: str, minor: int, completed: bool) -> str:
        order = place(self.market, vendor, from_minor(minor, currency))
        self.paid[order.order_id] = minor
        if completed:
            complete_order(self.market, order)
        return order.order_id

    @rule(order_id=orders)
    def complete(self, order_id: str) -> None:
        order = self.market.get_order(order_id, by=STAFF)
        if order.status is OrderStatus.PROCESSING and not order.shipments:
            complete_order(self.market, order)

    @rule(order_id=orders, minor=st.integers(1, 60_000))
    def refund(self, order_id: str, minor: int) -> None:
        order = self.market.get_order(order_id, by=STAFF)
        hold = self.market.get_hold(order_id, by=STAFF)
        left = order.paid_minor - order.refunded_minor - hold.chargeback_minor
        try:
            self.market.refund(
                order_id, by=Actor.vendor(order.vendor_id), amount=from_minor(minor, order.currency)
            )
        except RefundExceedsPaidError:
            assert minor > left
        except AsoloraError:
            pass  # e.g. a refund that would leave nothing to ship: cancel instead
        else:
            assert minor <= left

    @rule(order_id=consumes(orders))
    def cancel(self, order_id: str) -> None:
        with contextlib.suppress(AsoloraError):
            self.market.cancel_order(order_id, by=Actor.buyer("b-1"))

    @rule(order_id=orders, minor=st.integers(1, 60_000), fee=st.integers(0, 2_000))
    def chargeback(self, order_id: str, minor: int, fee: int) -> None:
        order = self.market.get_order(order_id, by=STAFF)
        before = self.market.get_hold(order_id, by=STAFF)
        hold = self.market.report_chargeback(
            order_id,
            amount=from_minor(minor, order.currency),
            fee=from_minor(fee, order.currency),
            by=SYSTEM,
        )
        if before.released_at is None and not before.cancelled:
            assert hold.frozen
            self.frozen.add(order_id)

    @rule(order_id=orders)
    def freeze(self, order_id: str) -> None:
        hold = self.market.get_hold(order_id, by=STAFF)
        if hold.state in (HoldState.OPEN, HoldState.HELD):
            self.market.freeze_release(order_id, by=STAFF, reason="check")
            self.frozen.add(order_id)

    @rule(order_id=orders)
    def lift(self, order_id: str) -> None:
        if self.market.get_hold(order_id, by=STAFF).state == HoldState.FROZEN:
            self.market.lift_freeze(order_id, by=STAFF, reason="ok")
            self.frozen.discard(order_id)

    @rule(
        pair=st.sampled_from([("EUR", "GBP"), ("EUR", "KWD"), ("JPY", "GBP"), ("JPY", "EUR")]),
        rate=st.decimals(Decimal("0.001"), Decimal("2"), places=4),
    )
    def change_rate(self, pair: tuple[str, str], rate: Decimal) -> None:
        self.clock.advance(seconds=1)
        self.rates.set_rate(pair[0], pair[1], rate, as_of=self.clock.now())

    @rule(hours=st.integers(1, 400), sweep=st.booleans())
    def advance(self, hours: int, sweep: bool) -> None:
        self.clock.advance(hours=hours)
        if sweep:
            self.sweep()

    @rule()
    def sweep(self) -> None:
        frozen_before = set(self.frozen)
        self.market.run_due()
        now = self.clock.now()
        for vendor in VENDORS:
            for hold in self.market.holds(vendor, by=STAFF):
                # a cancelled order's hold is settled at its cancellation, frozen or not
                # (R11, R39), not by the sweep
                if hold.released_at == now and not hold.cancelled:
                    assert hold.order_id not in frozen_before
                    assert hold.release_at is not None
                    assert hold.release_at <= now

    @rule()
    def payouts(self) -> None:
        for payout in self.market.run_payouts():
            assert payout.amount_minor > 0
            assert payout.statement.closing_minor >= 0
            assert payout.statement.reconciles
            balance = self.market.balance(payout.vendor_id, by=STAFF, currency=payout.currency)
            assert balance.balance_minor == payout.statement.closing_minor

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def journal_is_balanced_chained_and_only_grows(self) -> None:
        journal = self.market.journal(by=STAFF)
        assert journal[: len(self.seen)] == self.seen
        self.seen = journal
        assert self.market.verify_journal(by=STAFF).ok
        releases = Counter(t.order_id for t in journal if t.kind == "release")
        assert all(n == 1 for n in releases.values())

    @invariant()
    def paid_out_is_released_minus_debited_minus_balance(self) -> None:
        journal = self.market.journal(by=STAFF)
        for vendor in VENDORS:
            for currency in _currency_list(self.market, vendor):
                account = f"vendor:{vendor}:balance"
                released = debited = 0
                for t in journal:
                    amount = t.entries_for(account, currency)
                    if t.kind == "release":
                        released -= amount
                    elif t.kind in ("refund", "chargeback"):
                        debited += amount
                paid = sum(
                    p.amount_minor
                    for p in self.market.payouts(vendor, by=STAFF)
                    if p.currency == currency
                )
                balance = self.market.balance(vendor, by=STAFF, currency=currency)
                assert paid == released - debited - balance.balance_minor
                assert balance.paid_out_minor == paid

    @invariant()
    def refunds_never_exceed_what_was_paid(self) -> None:
        for vendor in VENDORS:
            for hold in self.market.holds(vendor, by=STAFF):
                order = self.market.get_order(hold.order_id, by=STAFF)
                assert order.refunded_minor + hold.chargeback_minor <= order.paid_minor
                assert hold.refunded_minor == order.refunded_minor

    def teardown(self) -> None:
        self.store.close()


class SqliteLedgerMachine(LedgerMachine):
    store_kind = "sqlite"


class PostgresLedgerMachine(LedgerMachine):
    store_kind = "postgres"


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestSqliteLedgerMachine = SqliteLedgerMachine.TestCase
TestSqliteLedgerMachine.settings = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPostgresLedgerMachine = postgres(PostgresLedgerMachine.TestCase)
TestPostgresLedgerMachine.settings = settings(
    max_examples=10,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
