"""Ledger rules one by one, on each store (R15-R25, R39, R41, R42): refusals that write
nothing, idempotent replays, freeze and lift, cancellations, chargebacks after release,
notifications, and journal verification finding tampering."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    CurrencyMismatchError,
    FakeClock,
    InMemoryStore,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    Marketplace,
    NotFoundError,
    NotPermittedError,
    RateUnavailableError,
    ReasonRequiredError,
    RecordingNotifier,
    RefundExceedsPaidError,
    SequentialIds,
    SqliteStore,
)
from asolora_core.fx import EcbRateProvider, FixedRateProvider
from asolora_core.ledger.model import FeeSchedule, HoldState, MoneyConfig
from asolora_core.ports import Store
from pg_support import dsn
from store_digest import digest
from test_ledger_support import STAFF, START, SYSTEM, money_market, place, sell

EUR_GBP = {("EUR", "GBP"): "0.85"}


def snapshot(market: Marketplace) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was: journal, holds, outbox, payouts."""
    return (
        market.journal(by=STAFF),
        market.holds("v-1", by=STAFF),
        market.outbox(by=STAFF),
        market.payouts("v-1", by=STAFF),
    )


@pytest.fixture
def market(store: Store, clock: FakeClock) -> Marketplace:
    built = money_market(store, clock, FixedRateProvider(EUR_GBP, as_of=START))
    built.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    return built


# --- bad input: refused with its documented error, nothing written ---------------------------

BAD: list[tuple[str, type[AsoloraError], Callable[[Marketplace, str], object]]] = [
    (
        "refund above the refundable amount",
        RefundExceedsPaidError,
        lambda m, o: m.refund(o, by=Actor.vendor("v-1"), amount=Money("100.01", "EUR")),
    ),
    (
        "refund in the wrong currency",
        CurrencyMismatchError,
        lambda m, o: m.refund(o, by=Actor.vendor("v-1"), amount=Money("1.00", "GBP")),
    ),
    (
        "chargeback with a negative fee",
        InvalidMoneyError,
        lambda m, o: m.report_chargeback(
            o, amount=Money("1.00", "EUR"), fee=Money("-0.01", "EUR"), by=SYSTEM
        ),
    ),
    (
        "chargeback in the wrong currency",
        CurrencyMismatchError,
        lambda m, o: m.report_chargeback(o, amount=Money("1.00", "GBP"), by=SYSTEM),
    ),
    (
        "release of an unknown order",
        NotFoundError,
        lambda m, o: m.release("o-unknown", by=STAFF),
    ),
    (
        "release before release_at",
        InvalidTransitionError,
        lambda m, o: m.release(o, by=STAFF),
    ),
    (
        "a vendor freezing a release",
        NotPermittedError,
        lambda m, o: m.freeze_release(o, by=Actor.vendor("v-1")),
    ),
    (
        "a buyer reporting a chargeback",
        NotPermittedError,
        lambda m, o: m.report_chargeback(o, amount=Money("1.00", "EUR"), by=Actor.buyer("b-1")),
    ),
    (
        "lifting a freeze that is not there",
        InvalidTransitionError,
        lambda m, o: m.lift_freeze(o, by=STAFF, reason="resolved"),
    ),
    (
        "a vendor with an unknown payout currency",
        InvalidInputError,
        lambda m, o: m.register_vendor("v-1", payout_currency="XXY", by=STAFF),
    ),
]


@pytest.mark.parametrize(("case", "error", "command"), BAD, ids=[c for c, _, _ in BAD])
def test_bad_input_is_refused_and_writes_nothing(
    market: Marketplace,
    case: str,
    error: type[AsoloraError],
    command: Callable[[Marketplace, str], object],
) -> None:
    """R2, R20, R25, R39: each refusal raises its documented error and leaves the journal,
    the holds, the outbox and the payouts as they were."""
    order = sell(market, "v-1", Money("100.00", "EUR"))
    before = snapshot(market)
    with pytest.raises(error):
        command(market, order.order_id)
    assert snapshot(market) == before


def test_a_rate_for_an_unknown_currency_is_refused(store: Store, clock: FakeClock) -> None:
    """R17, R22, R25: a refund after release to a vendor paid in KWD with no EUR/KWD rate is
    refused with RateUnavailableError and writes nothing; the release sweep keeps the hold
    held and retries an hour later."""
    rates = FixedRateProvider(EUR_GBP, as_of=START)
    market = money_market(store, clock, rates)
    market.register_vendor("v-1", payout_currency="KWD", by=STAFF)
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    with pytest.raises(RateUnavailableError):
        market.release(order.order_id, by=STAFF)
    assert market.run_due().timers == {}
    assert market.get_hold(order.order_id, by=STAFF).state == HoldState.HELD
    rates.set_rate("EUR", "KWD", "0.33", as_of=clock.now())
    clock.advance(minutes=59)
    assert market.run_due().timers == {}  # the retry is an hour after the failed attempt
    clock.advance(minutes=1)
    assert market.run_due().timers == {"release": 1}
    # 86.80 EUR x 0.33 = 28.644 KWD; fee 2 % = 0.57288 -> 0.573; credited 28.071 KWD
    assert market.balance("v-1", by=STAFF).balance_minor == 28071

    rates2 = FixedRateProvider(EUR_GBP, as_of=START)
    market.register_vendor("v-1", payout_currency="CHF", by=STAFF)
    market._rates = rates2
    before = snapshot(market)
    with pytest.raises(RateUnavailableError):
        market.refund(order.order_id, by=Actor.vendor("v-1"), amount=Money("1.00", "EUR"))
    assert snapshot(market) == before


def test_a_rate_for_an_unknown_date_is_refused(store: Store) -> None:
    """R25: the ECB data ends on 2026-10-30; a release after that date is refused with
    RateUnavailableError, and nothing is written."""
    clock = FakeClock(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC))
    config = MoneyConfig(rates=EcbRateProvider())
    from asolora_core import MarketplaceConfig, SequentialIds

    market = Marketplace(
        store, clock=clock, ids=SequentialIds(), config=MarketplaceConfig(money=config)
    )
    market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    before = snapshot(market)
    with pytest.raises(RateUnavailableError):
        market.release(order.order_id, by=STAFF)
    assert snapshot(market) == before


def test_a_negative_fee_is_refused() -> None:
    """R2, R25: fee schedules refuse negative or out-of-range fees and inexact amounts."""
    with pytest.raises(InvalidInputError):
        FeeSchedule(commission_bp=-1)
    with pytest.raises(InvalidInputError):
        FeeSchedule(processing_bp=10_001)
    with pytest.raises(InvalidMoneyError):
        FeeSchedule(processing_fixed={"EUR": Money("-0.30", "EUR")})
    with pytest.raises(InvalidMoneyError):
        FeeSchedule(processing_fixed={"EUR": Money("0.305", "EUR")})
    with pytest.raises(CurrencyMismatchError):
        FeeSchedule(processing_fixed={"EUR": Money("0.30", "GBP")})
    with pytest.raises(InvalidMoneyError):
        MoneyConfig(payout_quantum={"EUR": Money("0", "EUR")})


# --- idempotency -------------------------------------------------------------------------------


def test_replays_with_an_idempotency_key_post_nothing_new(
    market: Marketplace, clock: FakeClock
) -> None:
    """R24, R35: replaying a refund, a chargeback, a release and a payout with its key
    returns the first result and posts nothing new."""
    vendor = Actor.vendor("v-1")
    a = sell(market, "v-1", Money("100.00", "EUR"))
    b = sell(market, "v-1", Money("50.00", "EUR"))
    clock.advance(hours=168)
    first = market.release(a.order_id, by=STAFF, idempotency_key="rel-1")
    count = len(market.journal(by=STAFF))
    assert market.release(a.order_id, by=STAFF, idempotency_key="rel-1") == first
    market.refund(a.order_id, by=vendor, amount=Money("5.00", "EUR"), idempotency_key="r-1")
    market.refund(a.order_id, by=vendor, amount=Money("5.00", "EUR"), idempotency_key="r-1")
    market.report_chargeback(
        b.order_id, amount=Money("5.00", "EUR"), by=SYSTEM, idempotency_key="cb-1"
    )
    market.report_chargeback(
        b.order_id, amount=Money("5.00", "EUR"), by=SYSTEM, idempotency_key="cb-1"
    )
    # the provider's reference also makes a repeated report a no-op
    market.report_chargeback(b.order_id, amount=Money("1.00", "EUR"), by=SYSTEM, reference="d")
    market.report_chargeback(b.order_id, amount=Money("1.00", "EUR"), by=SYSTEM, reference="d")
    assert len(market.journal(by=STAFF)) == count + 3
    paid = market.pay_out("v-1", by=STAFF, idempotency_key="po-1")
    assert market.pay_out("v-1", by=STAFF, idempotency_key="po-1") == paid
    assert market.pay_out("v-1", by=STAFF) == ()  # and without a key: nothing left to pay
    assert len(market.journal(by=STAFF)) == count + 4
    assert market.verify_journal(by=STAFF).ok


# --- hold, freeze, release ------------------------------------------------------------------


def test_freeze_and_lift(market: Marketplace, clock: FakeClock) -> None:
    """R16: a frozen order is not released at its due time; once lifted it is released at
    the next sweep. Each order is released once (R17)."""
    order = sell(market, "v-1", Money("100.00", "EUR"))
    frozen = market.freeze_release(order.order_id, by=STAFF, reason="issue reported to us")
    assert frozen.state == HoldState.FROZEN
    assert frozen.frozen_reason == "issue reported to us"
    clock.advance(hours=200)
    assert market.run_due().timers == {}
    assert market.balance("v-1", by=STAFF).balance_minor == 0
    market.lift_freeze(order.order_id, by=STAFF, reason="issue resolved")
    assert market.run_due().timers == {"release": 1}
    assert market.run_due().timers == {}
    hold = market.get_hold(order.order_id, by=STAFF)
    assert hold.released_at == clock.now()
    # 86.80 EUR x 0.85 = 73.78 GBP; fee 2 % = 1.4756 -> 1.48; credited 72.30 GBP
    assert hold.released_minor == 7230
    with pytest.raises(InvalidTransitionError):
        market.freeze_release(order.order_id, by=STAFF, reason="too late")
    with pytest.raises(InvalidTransitionError):
        market.release(order.order_id, by=STAFF)


#: no reason at all (the parameter's default), empty, or only whitespace
BLANK_REASONS = [None, "", "   ", "\t\n"]


def _with_reason(reason: str | None) -> dict[str, str]:
    return {} if reason is None else {"reason": reason}


@pytest.mark.parametrize("reason", BLANK_REASONS, ids=repr)
def test_r16_freezing_a_release_without_a_reason_is_refused_and_changes_nothing(
    market: Marketplace, store: Store, reason: str | None
) -> None:
    """R16 (a staff power, R1): staff freeze a release only with a reason, recorded with the
    freeze; without one (or a blank one) ``ReasonRequiredError`` (``reason_required``, like
    every other staff power) and nothing is written, on every store."""
    order = sell(market, "v-1", Money("100.00", "EUR"))
    before = digest(store)
    with pytest.raises(ReasonRequiredError) as info:
        market.freeze_release(order.order_id, by=STAFF, **_with_reason(reason))
    assert (info.value.code, info.value.fields["field"]) == ("reason_required", "reason")
    assert digest(store) == before
    assert market.get_hold(order.order_id, by=STAFF).state == HoldState.HELD


@pytest.mark.parametrize("reason", BLANK_REASONS, ids=repr)
def test_r16_lifting_a_freeze_without_a_reason_is_refused_and_changes_nothing(
    market: Marketplace, store: Store, reason: str | None
) -> None:
    """R16 (a staff power, R1): lifting a freeze also says why; without a reason (or a blank
    one) ``ReasonRequiredError`` (``reason_required``), nothing is written and the order
    stays frozen, on every store."""
    order = sell(market, "v-1", Money("100.00", "EUR"))
    market.freeze_release(order.order_id, by=STAFF, reason="issue reported to us")
    before = digest(store)
    with pytest.raises(ReasonRequiredError) as info:
        market.lift_freeze(order.order_id, by=STAFF, **_with_reason(reason))
    assert (info.value.code, info.value.fields["field"]) == ("reason_required", "reason")
    assert digest(store) == before
    assert market.get_hold(order.order_id, by=STAFF).state == HoldState.FROZEN


def test_r16_a_freeze_is_refused_like_the_other_staff_powers(market: Marketplace) -> None:
    """R16, R1: a blank reason gets the same error and code from freeze_release and
    lift_freeze as from the order staff powers and the balance adjustment."""
    order = sell(market, "v-1", Money("100.00", "EUR"))
    refusals: list[AsoloraError] = []
    for call in (
        lambda: market.freeze_release(order.order_id, by=STAFF, reason=" "),
        lambda: market.lift_freeze(order.order_id, by=STAFF, reason=" "),
        lambda: market.cancel_after_shipping(order.order_id, by=STAFF, reason=" "),
        lambda: market.adjust_balance("v-1", amount=Money("1.00", "GBP"), by=STAFF, reason=" "),
    ):
        with pytest.raises(AsoloraError) as info:
            call()
        refusals.append(info.value)
    assert {(type(e), e.code) for e in refusals} == {(ReasonRequiredError, "reason_required")}


def test_a_cancelled_order_holds_nothing_and_is_never_released(
    market: Marketplace, clock: FakeClock
) -> None:
    """R11, R15: a cancellation refunds everything before any fee is charged: the platform
    bears the processing fee; nothing is held or released."""
    order = place(market, "v-1", Money("100.00", "EUR"))
    market.cancel_order(order.order_id, by=Actor.buyer("b-1"))
    hold = market.get_hold(order.order_id, by=STAFF)
    assert (hold.state, hold.held_minor, hold.processing_fee_minor) == (HoldState.CANCELLED, 0, 0)
    clock.advance(days=30)
    assert market.run_due().timers == {}
    assert market.balance("v-1", by=STAFF, currency="EUR").held_minor == 0


def test_chargeback_after_release_is_debited_like_a_refund(
    market: Marketplace, clock: FakeClock
) -> None:
    """R21, R22, R39: after release a chargeback of 40.00 EUR with a 15.00 EUR fee debits
    the vendor as a refund is: the net drops to 60.00, so the commission is 6.00 and 4.00
    comes back; 55.00 - 4.00 = 51.00 x 0.85 = 43.35 GBP plus the 2 % conversion fee 0.867
    -> 0.87 = 44.22 GBP."""
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    before = market.balance("v-1", by=STAFF).balance_minor
    hold = market.report_chargeback(
        order.order_id, amount=Money("40.00", "EUR"), fee=Money("15.00", "EUR"), by=SYSTEM
    )
    assert hold.state == HoldState.RELEASED  # nothing to freeze any more
    after = market.balance("v-1", by=STAFF)
    assert before - after.balance_minor == 4422
    assert after.debited_minor == 4422
    # the remaining refundable amount is 60.00: a refund of 60.01 is refused
    with pytest.raises(RefundExceedsPaidError):
        market.refund(order.order_id, by=Actor.vendor("v-1"), amount=Money("60.01", "EUR"))
    market.refund(order.order_id, by=Actor.vendor("v-1"), amount=Money("60.00", "EUR"))
    # a chargeback reported when everything went back already books nothing
    count = len(market.journal(by=STAFF))
    hold = market.report_chargeback(
        order.order_id, amount=Money("10.00", "EUR"), fee=Money("15.00", "EUR"), by=SYSTEM
    )
    assert (hold.chargebacks[-1].applied_minor, hold.chargebacks[-1].fee_minor) == (0, 0)
    assert len(market.journal(by=STAFF)) == count


def test_release_and_payout_notify_the_vendor(
    store: Store, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    """R29: the release and the payout are notified to the vendor through the outbox."""
    market = money_market(store, clock, FixedRateProvider(EUR_GBP, as_of=START), notifier=notifier)
    market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    market.run_payouts()
    market.deliver_notifications()
    kinds = [(n.recipient, n.kind) for _, n in notifier.sent]
    assert (Actor.vendor("v-1"), "proceeds.released") in kinds
    assert (Actor.vendor("v-1"), "payout.paid") in kinds


def test_unregistered_vendor_is_released_in_the_order_currency(
    store: Store, clock: FakeClock
) -> None:
    """Decision (rules silent): a vendor with no registered payout currency is released and
    paid in the order currency."""
    market = money_market(store, clock, FixedRateProvider(as_of=START))
    sell(market, "v-9", Money("10.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    balance = market.balance("v-9", by=Actor.vendor("v-9"))
    # 10.00 - commission 1.00 - processing 0.29 + 0.30 = 8.41 EUR
    assert (balance.currency, balance.balance_minor) == ("EUR", 841)
    with pytest.raises(NotFoundError):
        market.get_vendor("v-9", by=STAFF)
    with pytest.raises(NotPermittedError):
        market.balance("v-9", by=Actor.vendor("v-8"))


# --- the journal ------------------------------------------------------------------------------


def _tamper_memory(store: InMemoryStore, how: str) -> None:
    journal = store._tables.extra["ledger_journal"]
    if how == "alter":
        txn = journal[2]
        entries = (
            attrs.evolve(txn.entries[0], amount_minor=txn.entries[0].amount_minor + 1),
            attrs.evolve(txn.entries[1], amount_minor=txn.entries[1].amount_minor - 1),
            *txn.entries[2:],
        )
        journal[2] = attrs.evolve(txn, entries=entries)
    elif how == "remove":
        del journal[2]
    else:
        journal[2] = attrs.evolve(journal[2], memo={**journal[2].memo, "note": "inserted"})


def _tamper_sqlite(store: SqliteStore, how: str) -> None:
    conn = sqlite3.connect(store.path)
    for name in ("ledger_entries_no_update", "ledger_entries_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")  # what a tamperer with the file can do
    with conn:
        if how == "alter":
            conn.execute(
                "UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE seq = 2 AND n = 0"
            )
        elif how == "remove":
            conn.execute("DELETE FROM ledger_entries WHERE seq = 2 AND n = 0")
        else:
            conn.execute(
                "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
                "amount_minor) VALUES (2, 9, 'platform:commission', NULL, 'commission', 'EUR', 1)"
            )
    conn.close()


def _tamper_postgres(store: Store, how: str) -> None:
    """Raw SQL with the journal's triggers switched off (what only a superuser can do: the
    test DSN's role, whatever role the store itself runs as)."""
    from asolora_core.adapters.postgres import PostgresStore

    owner = PostgresStore(dsn(), schema=store.schema, migrate=False)  # type: ignore[attr-defined]
    try:
        with owner.unit_of_work() as uow:
            run = uow.run
            run("SET LOCAL session_replication_role = replica")
            if how == "alter":
                run(
                    "UPDATE ledger_entries SET amount_minor = amount_minor + 1 "
                    "WHERE seq = 2 AND n = 0"
                )
            elif how == "remove":
                run("DELETE FROM ledger_entries WHERE seq = 2 AND n = 0")
            else:
                run(
                    "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
                    "amount_minor) VALUES (2, 9, 'platform:commission', NULL, 'commission', "
                    "'EUR', 1)"
                )
            uow.commit()
    finally:
        owner.close()


@pytest.mark.parametrize("how", ["alter", "remove", "insert"])
def test_verify_journal_finds_tampering(
    market: Marketplace, store: Store, clock: FakeClock, how: str
) -> None:
    """R42: an altered, removed or inserted entry is found by verify_journal."""
    sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    report = market.verify_journal(by=STAFF)
    assert report.ok
    assert report.transactions == 3
    if isinstance(store, InMemoryStore):
        _tamper_memory(store, how)
    elif isinstance(store, SqliteStore):
        _tamper_sqlite(store, how)
    else:
        _tamper_postgres(store, how)
    assert not market.verify_journal(by=STAFF).ok


# --- refunds of every kind, hold period ---------------------------------------------------------


def test_line_quantity_and_issue_outcome_refunds_reduce_the_hold(
    store: Store, clock: FakeClock
) -> None:
    """R13, R20, R21: a refund of line quantities and a refund decided by staff as an issue
    outcome both go through the ledger: 2 x 25.00 EUR paid, one unit refunded (25.00), then
    staff mediate a 5.00 refund. Net 20.00 at completion: commission 2.00, processing
    2.9 % of 50.00 = 1.45 + 0.30 = 1.75; held 50.00 - 30.00 - 2.00 - 1.75 = 16.25 EUR."""
    from asolora_core import IssueKind, IssueOutcome, Item

    market = money_market(store, clock, FixedRateProvider(as_of=START))
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    vendor, buyer = Actor.vendor("v-1"), Actor.buyer("b-1")
    (order,) = market.place_checkout(
        buyer=buyer,
        customer_name="Ann",
        items=[Item(vendor_id="v-1", product_id="p", quantity=2, unit_price=Money("25.00", "EUR"))],
        paid=Money("50.00", "EUR"),
    )
    line = order.lines[0].line_id
    order = market.ship(
        order.order_id, by=vendor, items={line: 2}, carrier="c", tracking_number="t"
    )
    order = market.refund(order.order_id, by=vendor, items={line: 1})
    order = market.report_issue(
        order.order_id, by=buyer, kind=IssueKind.DAMAGED, description="scratched"
    )
    market.mediate_issue(
        order.order_id,
        order.issues[-1].issue_id,
        by=STAFF,
        outcome=IssueOutcome.MEDIATED_REFUND,
        refund=Money("5.00", "EUR"),
        reason="the photos show the scratch",
    )
    shipment = order.shipments[0].shipment_id
    market.mark_delivered(order.order_id, shipment, by=vendor)
    market.confirm_receipt(order.order_id, shipment, by=buyer)
    hold = market.get_hold(order.order_id, by=vendor)
    assert (hold.refunded_minor, hold.commission_minor, hold.processing_fee_minor) == (
        3000,
        200,
        175,
    )
    assert hold.held_minor == 1625


def test_release_at_is_168_hours_in_utc_across_a_dst_change(store: Store) -> None:
    """R15: completed the day before Europe's clocks go forward (2026-03-29), the order is
    due exactly 168 hours later in UTC; a configured hold period is used as given."""
    clock = FakeClock(dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC))
    market = money_market(store, clock, FixedRateProvider(as_of=START))
    order = sell(market, "v-1", Money("10.00", "EUR"))
    hold = market.get_hold(order.order_id, by=STAFF)
    assert hold.release_at == dt.datetime(2026, 4, 4, 12, 0, tzinfo=dt.UTC)

    short = money_market(
        store,
        clock,
        FixedRateProvider(as_of=START),
        ids=SequentialIds(start=1000),
        hold_period=dt.timedelta(hours=1),
    )
    other = sell(short, "v-2", Money("10.00", "EUR"))
    assert short.get_hold(other.order_id, by=STAFF).release_at == clock.now() + dt.timedelta(
        hours=1
    )
