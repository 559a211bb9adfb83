"""The batched release sweep, on every store.

A sweep batch releases its due orders with a few statements (``_release_timers``); these tests
check it does exactly what releasing the same orders one by one does (R17, R23, R41), that one
failing order never holds the others back (R40), and, on PostgreSQL, that workers sweeping at
once release every order once with every offset of a negative balance right (R23).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InMemoryStore,
    Marketplace,
    MarketplaceConfig,
    SequentialIds,
    SqliteStore,
    StoreMisconfiguredError,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger import core
from asolora_core.ledger.events import ProceedsReleased
from asolora_core.ledger.integrity import hold_problems, hold_problems_in, journal_facts, sealed
from asolora_core.ledger.model import (
    BALANCE,
    GENESIS_HASH,
    FeeSchedule,
    JournalTransaction,
    MoneyConfig,
    VendorAccount,
    digest,
    digest_middle,
    seal_chain,
)
from asolora_core.ports import Store, Timer
from pg_support import make_store, postgres

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOLD = dt.timedelta(hours=168)
DUE = START + HOLD
STAFF = Actor.staff("s-1")
FEES = FeeSchedule(
    commission_bp=1000,
    processing_bp=290,
    processing_fixed={"EUR": Money("0.30", "EUR")},
    conversion_bp=200,
)
FORK = mp.get_context("fork")


def _config(batch: int = 200) -> MarketplaceConfig:
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    return MarketplaceConfig(sweep_batch=batch, money=MoneyConfig(fees=FEES, rates=rates))


def _market(store: Store, batch: int = 200) -> Marketplace:
    return Marketplace(store, clock=FakeClock(DUE), ids=SequentialIds(), config=_config(batch))


def _seed(store: Store, n: int, vendors: int) -> None:
    """``n`` completed orders due at DUE (order ``o-i`` of vendor ``v-(i % vendors)``),
    vendors ``v-1``, ``v-3``, ... paid in GBP, the others in EUR."""
    with store.unit_of_work() as uow:
        for v in range(vendors):
            uow.ledger.put_vendor(
                sealed(
                    VendorAccount(
                        vendor_id=f"v-{v}",
                        version=1,
                        payout_currency="GBP" if v % 2 else "EUR",
                        registered_at=START,
                        updated_at=START,
                    ),
                    None,
                )
            )
        for i in range(n):
            hold, capture = core.capture(
                order_id=f"o-{i:04d}",
                vendor_id=f"v-{i % vendors}",
                currency="EUR",
                paid_minor=10_000 + 37 * i,
                at=START,
            )
            hold, fees = core.complete(hold, fees=FEES, completed_at=START, hold_period=HOLD)
            uow.ledger.add_hold(sealed(hold, None))
            for txn in (capture, fees):
                if txn is not None:
                    uow.ledger.post(txn)
            assert hold.release_at is not None
            uow.timers.schedule(
                Timer(
                    timer_id=f"release:{hold.order_id}",
                    kind="release",
                    aggregate_id=hold.order_id,
                    ref="",
                    due_at=hold.release_at,
                )
            )
        uow.commit()


def _owe(market: Marketplace, vendor_id: str, currency: str, minor: int) -> None:
    """The vendor's balance goes ``minor`` below zero (a fine), to be offset (R23)."""
    market.adjust_balance(
        vendor_id,
        amount=Money(Decimal(-minor) / 100, currency),
        reason="fine",
        by=STAFF,
    )


def _offsets_follow_the_journal(journal: tuple[JournalTransaction, ...]) -> int:
    """R23, replayed in journal order: every release offsets exactly the part of its credit
    that covered the balance before it (shown negative). Returns how many releases."""
    balance: dict[tuple[str, str], int] = {}
    releases = 0
    for txn in journal:
        if txn.kind == "release":
            releases += 1
            credit = -sum(e.amount_minor for e in txn.entries if e.kind == BALANCE and e.vendor_id)
            (currency,) = {e.currency for e in txn.entries if e.kind == BALANCE}
            before = -balance.get((txn.vendor_id, currency), 0)
            expected = min(credit, -before) if credit > 0 and before < 0 else 0
            assert int(txn.memo["offset"]) == expected, (txn.key, before, credit)
        for e in txn.entries:
            if e.kind == BALANCE and e.vendor_id is not None:
                key = (e.vendor_id, e.currency)
                balance[key] = balance.get(key, 0) + e.amount_minor
    return releases


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=postgres)])
def new_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Any] = []

    def make() -> Any:
        if request.param == "memory":
            store: Any = InMemoryStore()
        elif request.param == "sqlite":
            store = SqliteStore(":memory:")
        else:
            store = make_store()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def _comparable(journal: tuple[JournalTransaction, ...]) -> list[Any]:
    return [(t.key, t.kind, t.entries, t.memo) for t in journal]


def test_a_batch_releases_exactly_what_one_by_one_releases(new_store: Any) -> None:
    """R17, R23, R41: one sweep batch (offsets of a negative balance across several releases
    of one vendor in the batch, a rolling reserve) books the same journal, holds, events and
    notifications as staff releasing the same orders one by one in order."""
    results = []
    for batched in (True, False):
        store = new_store()
        _seed(store, 24, vendors=3)
        market = _market(store)
        _owe(market, "v-0", "EUR", 15_000)  # about two releases' worth
        _owe(market, "v-1", "GBP", 4_000)
        market.set_payout_terms("v-2", by=STAFF, reason="new", reserve_bp=1000, reserve_days=30)
        if batched:
            report = market.run_due()
            assert report.timers == {"release": 24}
        else:
            for i in range(24):
                market.release(f"o-{i:04d}", by=STAFF)
        journal = market.journal(by=STAFF)
        assert _offsets_follow_the_journal(journal) == 24
        assert market.verify_journal(by=STAFF).ok
        with store.reader() as uow:
            holds = [uow.ledger.get_hold(f"o-{i:04d}") for i in range(24)]
            history = [uow.events.history(f"o-{i:04d}") for i in range(24)]
        outbox = [
            (m.notification.kind, m.notification.subject_id, m.notification.text)
            for m in market.outbox(by=STAFF)
        ]
        balances = [market.balance(f"v-{v}", by=STAFF) for v in range(3)]
        # each release's event names its journal transaction (R17, R42); on PostgreSQL a
        # batch's events are encoded before the journal append and numbered by the server
        seq_of = {t.key: t.seq for t in journal}
        released = [e for h in history for e in h if isinstance(e, ProceedsReleased)]
        assert len(released) == 24
        assert all(e.seq == seq_of[f"release:{e.aggregate_id}"] for e in released)
        # the earnings rollups (written before the journal head is locked on a batch) are
        # the journal's
        for v in range(3):
            assert market.verify_reports(f"v-{v}", by=STAFF).differences == ()
        results.append((_comparable(journal), holds, outbox, balances, history))
    batch, single = results
    assert batch[0] == single[0]
    assert batch[1] == single[1]
    assert batch[2] == single[2]
    assert batch[3] == single[3]
    # the history differs only in the actor: the sweep releases as the system
    assert [[e.name for e in h] for h in batch[4]] == [[e.name for e in h] for h in single[4]]
    offsets = [int(t.memo["offset"]) for t in market.journal(by=STAFF) if t.kind == "release"]
    assert sum(o > 0 for o in offsets) >= 3  # several releases offset in one batch


def test_one_failing_order_does_not_hold_back_its_batch(new_store: Any) -> None:
    """R40, R42: a hold changed outside the library fails its release; the batch it was in
    is retried one order per transaction, every other order is released, and the failing
    one's timer is set aside for an hour, not lost."""
    store = new_store()
    _seed(store, 30, vendors=4)
    with store.unit_of_work() as uow:
        hold = uow.ledger.get_hold("o-0007")
        assert hold is not None
        # its held amount changed behind the library's back: the seal no longer matches
        uow.ledger.save_hold(attrs.evolve(hold, version=hold.version + 1, commission_minor=1))
        uow.commit()
    market = _market(store, batch=8)
    report = market.run_due()
    assert report.timers == {"release": 29, "failed": 1}
    released = [str(t.order_id) for t in market.journal(by=STAFF) if t.kind == "release"]
    assert sorted(released) == sorted(f"o-{i:04d}" for i in range(30) if i != 7)
    with store.unit_of_work() as uow:
        assert uow.timers.claim_due(DUE, 100) == ()
        (later,) = uow.timers.claim_due(DUE + dt.timedelta(hours=1), 100)
    assert later.aggregate_id == "o-0007"


def test_a_release_is_never_booked_twice_across_batches(new_store: Any) -> None:
    """R17: a second sweep over the same instant finds nothing; a timer scheduled again for
    a released order releases nothing."""
    store = new_store()
    _seed(store, 12, vendors=2)
    market = _market(store, batch=5)
    assert market.run_due().timers == {"release": 12}
    with store.unit_of_work() as uow:
        uow.timers.schedule(
            Timer(
                timer_id="release:o-0003", kind="release", aggregate_id="o-0003", ref="", due_at=DUE
            )
        )
        uow.commit()
    assert market.run_due().timers == {}
    assert sum(t.kind == "release" for t in market.journal(by=STAFF)) == 12


# --- PostgreSQL: workers at once ---------------------------------------------------------------


def _sweep(schema: str, batch: int) -> None:
    from asolora_core.errors import ConcurrencyConflictError

    store = make_store(schema, migrate=False)
    market = Marketplace(store, clock=FakeClock(DUE), config=_config(batch))
    while True:
        try:
            if not market.run_due().timers:
                break
        except ConcurrencyConflictError:
            continue
    store.close()


@postgres
def test_two_workers_release_every_order_once_with_offsets_right() -> None:
    """R17, R23, R24: two worker processes sweep 400 due orders of 6 vendors, three of them
    with a negative balance, in batches of 25 at once: every order is released once, the
    journal verifies and balances, and every offset equals the part of its credit that
    covered the balance just before it in the journal (concurrent batches never offset the
    same debt twice)."""
    store = make_store()
    try:
        _seed(store, 400, vendors=6)
        market = _market(store)
        for v, currency in (("v-0", "EUR"), ("v-1", "GBP"), ("v-3", "GBP")):
            _owe(market, v, currency, 120_000)
        schema = store.schema
        workers = [FORK.Process(target=_sweep, args=(schema, 25)) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=300)
        assert [w.exitcode for w in workers] == [0, 0]
        journal = market.journal(by=STAFF)
        releases = [t.order_id for t in journal if t.kind == "release"]
        assert len(releases) == len(set(releases)) == 400
        assert _offsets_follow_the_journal(journal) == 400
        report = market.verify_journal(by=STAFF)
        assert report.ok, report.problems
        for k in range(6):
            balance = market.balance(f"v-{k}", by=STAFF)
            released = sum(h.released_minor or 0 for h in market.holds(f"v-{k}", by=STAFF))
            debt = 120_000 if k in (0, 1, 3) else 0
            assert balance.balance_minor == released - debt
    finally:
        store.close()


def _pay(schema: str, barrier: Any) -> None:
    store = make_store(schema, migrate=False)
    market = Marketplace(store, clock=FakeClock(DUE), config=_config())
    barrier.wait()
    market.run_payouts()
    store.close()


@postgres
def test_payout_runs_from_three_workers_pay_each_vendor_once() -> None:
    """R18, R41: three workers run the payout run at once over 40 vendors: each vendor's
    balance is paid exactly once, the journal verifies, every balance ends at zero."""
    store = make_store()
    try:
        _seed(store, 80, vendors=40)
        market = _market(store)
        assert market.run_due().timers == {"release": 80}
        barrier = FORK.Barrier(3)
        workers = [FORK.Process(target=_pay, args=(store.schema, barrier)) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=300)
        assert [w.exitcode for w in workers] == [0, 0, 0]
        for k in range(40):
            payouts = market.payouts(f"v-{k}", by=STAFF)
            assert len(payouts) == 1
            balance = market.balance(f"v-{k}", by=STAFF)
            assert balance.balance_minor == 0
            assert payouts[0].amount_minor == balance.released_minor
        assert market.verify_journal(by=STAFF).ok
    finally:
        store.close()


@postgres
def test_a_vendor_held_by_one_worker_is_skipped_by_another() -> None:
    """``claim_vendors`` on PostgreSQL: a vendor whose lock another transaction holds is
    skipped, the others are claimed; once that transaction ends, the vendor is free."""
    first = make_store()
    second = make_store(first.schema, migrate=False)
    try:
        with first.unit_of_work() as a:
            a.ledger.lock_vendors(["v-1"])
            with second.unit_of_work() as b:
                assert b.ledger.claim_vendors(["v-2", "v-1", "v-3"]) == ("v-2", "v-3")
                b.rollback()
            a.rollback()
        with second.unit_of_work() as b:
            assert b.ledger.claim_vendors(["v-1"]) == ("v-1",)
            b.rollback()
    finally:
        second.close()
        first.close()


@postgres
def test_a_release_batch_leaves_a_held_vendors_orders_for_later_instead_of_waiting() -> None:
    """R17, R40: while another transaction holds vendor ``v-1`` (a worker releasing
    to it), a release batch releases the orders of ``v-0`` and ``v-2`` and puts ``v-1``'s
    timers back, still due, without waiting; once ``v-1`` is free, the next sweep releases
    them, each order once."""
    store = make_store()
    other = make_store(store.schema, migrate=False)
    try:
        _seed(store, 9, vendors=3)
        market = _market(store)
        with other.unit_of_work() as busy:
            busy.ledger.lock_vendors(["v-1"])
            with store.unit_of_work() as uow:
                timers = uow.timers.claim_due(DUE, 9)
                assert len(timers) == 9
                assert market._release_timers(uow, timers, DUE) == (6, 3)
                uow.commit()
            busy.rollback()
        released = {t.order_id for t in market.journal(by=STAFF) if t.kind == "release"}
        assert released == {f"o-{i:04d}" for i in range(9) if i % 3 != 1}
        with store.unit_of_work() as uow:
            left = uow.timers.claim_due(DUE, 10)
            uow.rollback()
        assert sorted(t.aggregate_id for t in left) == ["o-0001", "o-0004", "o-0007"]
        assert market.run_due().timers == {"release": 3}
        journal = market.journal(by=STAFF)
        releases = [t.order_id for t in journal if t.kind == "release"]
        assert len(releases) == len(set(releases)) == 9
        assert market.verify_journal(by=STAFF).ok
    finally:
        other.close()
        store.close()


def test_r15_an_order_whose_fees_take_everything_is_released_at_zero_and_verifies(
    new_store: Any,
) -> None:
    """R15, R19, R42: a 0.34 EUR order pays 0.03 commission and 0.31 processing (2.9 % + 0.30):
    nothing is left to release, so the sweep marks it released with no journal transaction;
    the journal still verifies, and a later refund of that order is not refused as tampering
    (found by the ledger state machine)."""
    from test_ledger_support import money_market, sell

    store = new_store()
    clock = FakeClock(START)
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    market = money_market(store, clock, rates, fees=FEES)
    market.register_vendor("v-eu", payout_currency="EUR", by=STAFF)
    order = sell(market, "v-eu", Money("0.34", "EUR"))
    (hold,) = market.holds("v-eu", by=STAFF)
    assert (hold.commission_minor, hold.processing_fee_minor, hold.held_minor) == (3, 31, 0)
    clock.advance(hours=168)
    assert market.run_due().timers == {"release": 1}
    (hold,) = market.holds("v-eu", by=STAFF)
    assert hold.released_at == DUE
    assert hold.released_minor == 0
    assert [t.kind for t in market.journal(by=STAFF)] == ["capture", "fees"]
    report = market.verify_journal(by=STAFF)
    assert report.ok, report.problems
    market.refund(order.order_id, amount=Money("0.10", "EUR"), reason="late", by=STAFF)
    assert market.verify_journal(by=STAFF).ok


class _RestartingStore(InMemoryStore):
    """A store whose next ``fail`` units of work fail as a restarting server's would."""

    transient_errors = (ConnectionError,)
    fail = 0

    def unit_of_work(self) -> Any:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("the database system is shutting down")
        return super().unit_of_work()


def test_r40_a_store_that_fails_sets_no_timer_aside() -> None:
    """R40: when the store itself fails mid-sweep (a server restart), ``run_due``
    raises its error with the batch rolled back instead of setting a timer aside for an
    hour; the next sweep releases every due order."""
    store = _RestartingStore()
    _seed(store, 3, vendors=2)
    market = _market(store)
    store.fail = 2  # the batch, then its first timer retried alone
    with pytest.raises(ConnectionError):
        market.run_due()
    store.fail = 0  # the server is back
    assert market.journal(by=STAFF)[-1].kind == "fees"  # nothing released, nothing moved
    assert market.run_due().timers == {"release": 3}


class _MisconfiguredStore(InMemoryStore):
    """A store whose next ``fail`` units of work are refused for its configuration (a
    password changed on the server, say), and that lists no transient errors."""

    fail = 0

    def unit_of_work(self) -> Any:
        if self.fail:
            self.fail -= 1
            raise StoreMisconfiguredError("check the user and password in the DSN")
        return super().unit_of_work()


def test_r40_a_misconfigured_store_sets_no_timer_aside() -> None:
    """R40: a store refused for its configuration is not a failing timer: ``run_due`` raises
    StoreMisconfiguredError at once, sets nothing aside for an hour and releases nothing;
    once the configuration is fixed, the next sweep releases every due order."""
    store = _MisconfiguredStore()
    _seed(store, 3, vendors=2)
    market = _market(store)
    store.fail = 2  # before: the batch, its first timer alone, then that timer set aside
    with pytest.raises(StoreMisconfiguredError):
        market.run_due()
    assert store.fail == 1  # raised on the first refusal, not retried timer by timer
    store.fail = 0  # fixed
    assert market.journal(by=STAFF)[-1].kind == "fees"  # nothing released, nothing moved
    assert market.run_due().timers == {"release": 3}


# --- what the sweep's cross-check reads ----------------------------------------

_FACT_ACCOUNTS = (
    "vendor:v-1:held",
    "vendor:v-2:held",
    "vendor:v-1:balance",
    "platform:buyer_funds",
    "platform:commission",
)
_FACT_KINDS = ("capture", "fees", "refund", "release", "adjustment")


@st.composite
def _order_journals(draw: st.DrawFn) -> list[JournalTransaction]:
    """Transactions of three orders in any order: any kind (one release per order, as the
    stores enforce), either vendor, entries on any account and currency, captures with a
    ``paid`` memo or none."""
    txns: list[JournalTransaction] = []
    released: set[str] = set()
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        order_id = draw(st.sampled_from(("o-1", "o-2", "o-3")))
        kind = draw(st.sampled_from(_FACT_KINDS))
        if kind == "release" and order_id in released:
            kind = "refund"
        if kind == "release":
            released.add(order_id)
        entries = []
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            debit, credit = draw(
                st.lists(st.sampled_from(_FACT_ACCOUNTS), min_size=2, max_size=2, unique=True)
            )
            currency = draw(st.sampled_from(("EUR", "GBP")))
            amount = draw(st.integers(min_value=1, max_value=10_000))
            entries += [(debit, currency, amount), (credit, currency, -amount)]
        netted = core._entries(entries)
        if not netted:
            # the pairs cancelled out: a journal transaction without entries never commits
            continue
        memo: dict[str, str] = {}
        if kind == "capture" and draw(st.booleans()):
            memo = {"paid": str(draw(st.integers(min_value=0, max_value=10_000)))}
        txns.append(
            JournalTransaction(
                key=f"{kind}:{order_id}:{n}",
                kind=kind,
                at=START,
                vendor_id=draw(st.sampled_from(("v-1", "v-2"))),
                order_id=order_id,
                entries=netted,
                memo=memo,
            )
        )
    return txns


@settings(max_examples=60, deadline=None)
@given(txns=_order_journals(), paid=st.integers(min_value=0, max_value=10_000))
def test_what_a_store_reads_for_the_cross_check_is_what_the_journal_says(
    tmp_path_factory: pytest.TempPathFactory, txns: list[JournalTransaction], paid: int
) -> None:
    """R42: ``journal_facts`` of every store is ``journal_facts`` of the order's
    transactions, so the sweep's cross-check finds what ``hold_problems`` finds in the
    journal itself, whatever the journal holds (other vendors' entries, no capture, two
    captures, any currency)."""
    hold, _ = core.capture(
        order_id="o-1", vendor_id="v-1", currency="EUR", paid_minor=paid, at=START
    )
    path = tmp_path_factory.mktemp("facts") / "s.db"
    for store in (InMemoryStore(), SqliteStore(path)):
        with store.unit_of_work() as uow:
            for txn in txns:
                uow.ledger.post(txn)
            read = uow.ledger.journal_facts(["o-1", "o-2", "o-3", "o-9"])
            for order_id in ("o-1", "o-2", "o-3", "o-9"):
                journal = uow.ledger.for_order(order_id)
                assert [(*f[:4], tuple(f[4])) for f in read[order_id]] == list(
                    journal_facts(journal)
                )
            assert hold_problems_in(hold, read["o-1"]) == hold_problems(
                hold, uow.ledger.for_order("o-1")
            )
        store.close()


@settings(max_examples=60, deadline=None)
@given(
    txns=_order_journals(),
    head=st.integers(min_value=0, max_value=2**40),
    prev=st.just(GENESIS_HASH) | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    key=st.none() | st.binary(min_size=1, max_size=32),
    text=st.text(max_size=12),
)
def test_a_batch_sealed_with_its_digests_encoded_ahead_chains_as_one_sealed_plainly(
    txns: list[JournalTransaction], head: int, prev: str, key: bytes | None, text: str
) -> None:
    """R42: the PostgreSQL sweep encodes each transaction's digest text before it
    locks the journal head and only hashes under it; the chain it seals, under a ledger key
    or none, any vendor or memo text, is the one sealing each transaction plainly gives, so
    ``verify`` and every other store agree with it."""
    txns = [
        attrs.evolve(t, vendor_id=f"{t.vendor_id}{text}", memo={**t.memo, "note": text})
        for t in txns
    ]
    plain = seal_chain(txns, head, prev, key)
    ahead = seal_chain(txns, head, prev, key, middles=[digest_middle(t) for t in txns])
    assert [(t.seq, t.prev_hash, t.hash) for t in ahead] == [
        (t.seq, t.prev_hash, t.hash) for t in plain
    ]
    assert [t.hash for t in plain] == [digest(t, t.seq, t.prev_hash, key) for t in plain]
