"""The tamper audit (R16-R18, R20, R24, R42): raw SQL behind the library's back, on SQLite and on
PostgreSQL, for the tampers the other tamper tests (test_ledger_tamper, test_sqlite_invariants,
test_postgres, test_postgres_roles) do not cover; docs/ledger-integrity.md has the whole table.

The scene: vendors v-1 and v-2 sold and were released (nothing paid out yet); a last order of
v-1 is still held. The marketplace runs with a ``ledger_key``, as production should. On SQLite
the tamperer drops every trigger first (whoever can write the file can); on PostgreSQL the
tamperer connects as the superuser of the test server but leaves the triggers on: what follows
are tampers of rows the database does not guard. For each one, what a user relies on: no money
moves on the tampered row (no payout of forged money, no release before its time), the
library says so with an error of its family (``LedgerIntegrityError``, code
``ledger_integrity``), and ``verify_journal`` reports it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    LedgerIntegrityError,
    Marketplace,
    MarketplaceConfig,
    SequentialIds,
    SqliteStore,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger import core
from asolora_core.ledger.model import Entry, JournalTransaction, MoneyConfig
from asolora_core.ports import Store
from pg_support import dsn, make_store, postgres
from test_ledger_support import FEES, STAFF, START, sell

KEY = b"k" * 32
RELEASED_V1 = 8680  # 100.00 less 10 % commission and 2.9 % + 0.30 processing
RELEASED_V2 = 4325  # 50.00, the same fees

Raw = Callable[..., None]


@attrs.define
class Scene:
    market: Marketplace
    clock: FakeClock
    held: str  #: the order of v-1 still held (due in 168 hours)
    raw: Raw  #: runs SQL statements as the tamperer
    kind: str


def _sqlite_raw(path: Path) -> Raw:
    def run(*statements: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
                conn.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                assert conn.execute(statement).rowcount != 0, statement
        finally:
            conn.close()

    return run


def _postgres_raw(schema: str) -> Raw:
    def run(*statements: str) -> None:
        import psycopg

        with psycopg.connect(
            dsn(), options=f"-c search_path={schema} -c timezone=UTC", autocommit=True
        ) as conn:
            for statement in statements:
                assert conn.execute(statement).rowcount != 0, statement

    return run


def _market(store: Store, clock: FakeClock) -> Marketplace:
    return Marketplace(
        store,
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(
            money=MoneyConfig(fees=FEES, rates=FixedRateProvider({}, as_of=START)),
            ledger_key=KEY,
        ),
    )


def _scene(kind: str, tmp_path: Path) -> tuple[Scene, Store]:
    store: Store
    if kind == "sqlite":
        store = SqliteStore(tmp_path / "m.db")
        raw = _sqlite_raw(tmp_path / "m.db")
    else:
        store = make_store()
        raw = _postgres_raw(str(store.schema))  # type: ignore[attr-defined]
    clock = FakeClock(START)
    market = _market(store, clock)
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    market.register_vendor("v-2", payout_currency="EUR", by=STAFF)
    sell(market, "v-1", Money("100.00", "EUR"))
    sell(market, "v-2", Money("50.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    held = sell(market, "v-1", Money("20.00", "EUR")).order_id
    assert market.verify_journal(by=STAFF).ok
    return Scene(market=market, clock=clock, held=held, raw=raw, kind=kind), store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=postgres)])
def scene(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scene]:
    made, store = _scene(request.param, tmp_path)
    yield made
    store.close()


def _paid(market: Marketplace, vendor_id: str) -> int:
    return sum(p.amount_minor for p in market.payouts(vendor_id, by=STAFF))


def _micros(at: dt.datetime) -> int:
    return (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _instant(s: Scene, at: dt.datetime) -> str:
    """``at`` as the store's timers keep it, as SQL."""
    return str(_micros(at)) if s.kind == "sqlite" else f"'{at.isoformat()}'::timestamptz"


def _json(s: Scene, text: str) -> str:
    return f"'{text}'" if s.kind == "sqlite" else f"'{text}'::jsonb"


# --- the running totals (ledger_totals): what balances and payouts read ---------------------


def test_a_raised_running_total_pays_out_nothing(scene: Scene) -> None:
    """R18, R42: balances are running totals, a table neither store guards (the application
    role updates it). One UPDATE that raises v-1's balance by 1,000.00 used to be paid out;
    now the payout checks the total against the journal's entries and pays nothing, the run
    pays every other vendor, and verify_journal reports the total."""
    scene.raw(
        "UPDATE ledger_totals SET total_minor = total_minor - 100000, "
        "credits_minor = credits_minor - 100000 WHERE account = 'vendor:v-1:balance'"
    )
    market = scene.market
    with pytest.raises(LedgerIntegrityError) as refused:
        market.pay_out("v-1", by=STAFF)
    assert refused.value.code == "ledger_integrity"
    paid = market.run_payouts()
    assert [(p.vendor_id, p.amount_minor) for p in paid] == [("v-2", RELEASED_V2)]
    assert _paid(market, "v-1") == 0
    problems = market.verify_journal(by=STAFF).problems
    assert any("vendor:v-1:balance" in p.problem for p in problems)


def test_a_forged_running_total_row_pays_out_nothing(scene: Scene) -> None:
    """R18, R42: a running-total row inserted for a vendor the journal never credited."""
    scene.raw(
        "INSERT INTO ledger_totals (account, currency, vendor_id, kind, total_minor, "
        "debits_minor, credits_minor) VALUES ('vendor:v-9:balance', 'EUR', 'v-9', 'balance', "
        "-50000, 0, -50000)"
    )
    market = scene.market
    with pytest.raises(LedgerIntegrityError):
        market.pay_out("v-9", by=STAFF, currency="EUR")
    paid = market.run_payouts()
    assert {p.vendor_id for p in paid} == {"v-1", "v-2"}
    assert _paid(market, "v-9") == 0
    if scene.kind == "postgres":  # PostgreSQL lists balances from the totals
        problems = market.verify_journal(by=STAFF).problems
        assert any("vendor:v-9:balance" in p.problem for p in problems)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    vendor=st.sampled_from(["v-1", "v-2"]),
    kind=st.sampled_from(["balance", "held"]),
    delta=st.integers(min_value=-(10**9), max_value=10**9).filter(bool),
)
def test_no_edit_of_a_running_total_pays_more_than_the_journal(
    tmp_path_factory: pytest.TempPathFactory, vendor: str, kind: str, delta: int
) -> None:
    """R18, R42: whatever running total is moved by whatever amount, the payout run pays each
    vendor at most what the journal's entries hold for it, and verify_journal reports it."""
    made, store = _scene("sqlite", tmp_path_factory.mktemp("t"))
    try:
        made.raw(
            f"UPDATE ledger_totals SET total_minor = total_minor + {delta} "
            f"WHERE account = 'vendor:{vendor}:{kind}'"
        )
        made.market.run_payouts()
        assert _paid(made.market, "v-1") <= RELEASED_V1
        assert _paid(made.market, "v-2") <= RELEASED_V2
        assert not made.market.verify_journal(by=STAFF).ok
    finally:
        store.close()


# --- the journal: a forged transaction with a valid-looking hash ------------------------------


def test_a_forged_journal_transaction_is_not_paid_out(scene: Scene) -> None:
    """R18, R24, R42: the tamperer appends a balanced transaction crediting v-1 with 500.00,
    written as the library writes one (entries, running totals, the head) but hashed without
    the key. The journal balances and the totals agree with it, so only the hash gives it
    away: the payout checks the hash of every transaction it pays for and pays nothing."""
    market = scene.market
    forged = JournalTransaction(
        key="adjustment:forged",
        kind="adjustment",
        at=START,
        vendor_id="v-1",
        entries=(
            Entry(account="vendor:v-1:balance", currency="EUR", amount_minor=-50000),
            Entry(account="platform:commission", currency="EUR", amount_minor=50000),
        ),
        memo={"reason": "goodwill"},
    )
    with market.store.unit_of_work() as uow:
        uow.ledger.post(forged)  # no key: the tamperer does not hold it
        uow.commit()
    assert market.balance("v-1", by=STAFF).balance_minor == RELEASED_V1 + 50000
    with pytest.raises(LedgerIntegrityError):
        market.pay_out("v-1", by=STAFF)
    assert {p.vendor_id for p in market.run_payouts()} == {"v-2"}
    assert _paid(market, "v-1") == 0
    problems = market.verify_journal(by=STAFF).problems
    assert any("hash mismatch" in p.problem for p in problems)


def test_an_entry_edited_before_the_last_payout_is_not_paid_out(scene: Scene) -> None:
    """R18, R24, R42: with the triggers off (SQLite: dropped; PostgreSQL: a superuser's
    ``session_replication_role = replica``), the tamperer raises v-1's first release by
    1,000.00 in its entry and in the running total, both consistent, in a transaction the
    last payout already covered. The payout starts from the balance that payout left (in its
    sealed memo), adds what came since, and pays nothing."""
    market, clock = scene.market, scene.clock
    market.run_payouts()
    clock.advance(hours=168)
    market.run_due()  # the held order: 20.00 less fees, 17.12, released after the payout
    off = () if scene.kind == "sqlite" else ("SET session_replication_role = replica",)
    scene.raw(
        *off,
        "UPDATE ledger_entries SET amount_minor = amount_minor - 100000 "
        "WHERE account = 'vendor:v-1:balance' AND seq = (SELECT min(seq) FROM ledger_txns "
        "WHERE kind = 'release' AND vendor_id = 'v-1')",
        "UPDATE ledger_totals SET total_minor = total_minor - 100000, "
        "credits_minor = credits_minor - 100000 WHERE account = 'vendor:v-1:balance'",
    )
    with pytest.raises(LedgerIntegrityError):
        market.pay_out("v-1", by=STAFF)
    market.run_payouts()
    assert _paid(market, "v-1") == RELEASED_V1
    assert any("hash mismatch" in p.problem for p in market.verify_journal(by=STAFF).problems)


def test_after_a_payout_without_the_balance_it_left_the_entries_decide(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R18, R42, upgrading: a payout posted by an earlier version has no ``remaining`` in its
    memo; the next payout then checks the running total against the sum of the account's
    journal entries: a raised total pays nothing, the true one pays what was released since."""
    market, clock = scene.market, scene.clock
    made = core.payout

    def earlier(**kwargs: Any) -> JournalTransaction:
        kwargs.pop("remaining_minor")
        return made(**kwargs)

    monkeypatch.setattr(core, "payout", earlier)
    market.run_payouts()
    monkeypatch.undo()
    memos = [t.memo for t in market.journal(by=STAFF) if t.kind == "payout"]
    assert memos == [{"amount": str(RELEASED_V1)}, {"amount": str(RELEASED_V2)}]
    clock.advance(hours=168)
    market.run_due()
    raised = "total_minor = total_minor - 100000, credits_minor = credits_minor - 100000"
    scene.raw(f"UPDATE ledger_totals SET {raised} WHERE account = 'vendor:v-1:balance'")
    with pytest.raises(LedgerIntegrityError):
        market.pay_out("v-1", by=STAFF)
    restored = "total_minor = total_minor + 100000, credits_minor = credits_minor + 100000"
    scene.raw(f"UPDATE ledger_totals SET {restored} WHERE account = 'vendor:v-1:balance'")
    (paid,) = market.pay_out("v-1", by=STAFF)
    assert paid.amount_minor == 1712  # 20.00 less 10 % and 2.9 % + 0.30
    assert paid.statement.opening_minor == 0
    assert market.verify_journal(by=STAFF).ok


def test_a_forged_payout_row_is_found_and_moves_no_money(scene: Scene) -> None:
    """R18, R42: a payout row inserted by hand (pointing at a release) is a payout without its
    transaction; balances and payouts are computed from the journal, not from it."""
    market = scene.market
    body = _json(scene, '{"forged": true}')
    scene.raw(
        "INSERT INTO ledger_payouts (payout_id, vendor_id, currency, seq, amount_minor, body) "
        f"SELECT 'p-forged', 'v-1', 'EUR', seq, 99999, {body} FROM ledger_txns "
        "WHERE kind = 'release' AND vendor_id = 'v-1'"
    )
    with pytest.raises(LedgerIntegrityError):
        market.payouts("v-1", by=STAFF)  # its body does not decode as a payout
    assert market.balance("v-1", by=STAFF).balance_minor == RELEASED_V1
    (paid,) = [p for p in market.run_payouts() if p.vendor_id == "v-1"]
    assert paid.amount_minor == RELEASED_V1
    assert not market.verify_journal(by=STAFF).ok


# --- holds, vendor accounts and timers: the lifecycle -----------------------------------------


def test_a_release_timer_moved_earlier_releases_on_time(scene: Scene) -> None:
    """R16, R42: the release timer's due_at moved to now fires early; the hold's sealed
    release_at decides, so nothing is released, and the timer is put back at release_at (it
    used to be dropped: the order was then never released)."""
    market, clock = scene.market, scene.clock
    scene.raw(f"UPDATE timers SET due_at = {_instant(scene, clock.now())} WHERE kind = 'release'")
    market.run_due()
    assert market.get_hold(scene.held, by=STAFF).state == "held"
    assert market.balance("v-1", by=STAFF).balance_minor == RELEASED_V1
    clock.advance(hours=167)
    market.run_due()
    assert market.get_hold(scene.held, by=STAFF).state == "held"
    clock.advance(hours=1)
    market.run_due()
    assert market.get_hold(scene.held, by=STAFF).state == "released"
    assert market.verify_journal(by=STAFF).ok


@pytest.mark.parametrize("table", ["ledger_holds", "ledger_vendors"])
def test_a_body_that_does_not_decode_stops_the_release(scene: Scene, table: str) -> None:
    """R16, R42: a hold or vendor account whose body no longer decodes (edited with SQL) is a
    LedgerIntegrityError, not a KeyError or a TypeError: the release is refused, the sweep
    retries it later, and verify_journal reports a hold it cannot read."""
    market, clock = scene.market, scene.clock
    key = "order_id" if table == "ledger_holds" else "vendor_id"
    value = scene.held if table == "ledger_holds" else "v-1"
    scene.raw(f"UPDATE {table} SET body = {_json(scene, '{}')} WHERE {key} = '{value}'")
    clock.advance(hours=168)
    assert market.run_due().timers.get("failed") == 1
    with pytest.raises(LedgerIntegrityError):
        market.release(scene.held, by=STAFF)
    assert market.balance("v-1", by=STAFF, currency="EUR").balance_minor == RELEASED_V1
    if table == "ledger_holds":
        assert not market.verify_journal(by=STAFF).ok
    else:
        with pytest.raises(LedgerIntegrityError):
            market.verify_journal(by=STAFF)


def test_a_deleted_hold_is_found_and_moves_no_money(scene: Scene) -> None:
    """R16, R42: without its hold the order is not released (the timer finds nothing), no
    refund is booked, and verify_journal reports an order of the journal without a hold."""
    market, clock = scene.market, scene.clock
    scene.raw(f"DELETE FROM ledger_holds WHERE order_id = '{scene.held}'")
    clock.advance(hours=168)
    market.run_due()
    assert market.balance("v-1", by=STAFF).balance_minor == RELEASED_V1
    problems = market.verify_journal(by=STAFF).problems
    assert any(f"order {scene.held} has no hold" in p.problem for p in problems)


# --- rows read by every command: an order, an idempotency record ------------------------------


def test_an_order_body_that_does_not_decode_is_an_integrity_error(scene: Scene) -> None:
    """R42: an order row edited so that its body no longer decodes is a LedgerIntegrityError
    for every command and query that reads it (it used to leak a JSON error or a TypeError),
    and nothing is booked on it."""
    market = scene.market
    scene.raw(f"UPDATE orders SET body = {_json(scene, '{}')} WHERE order_id = '{scene.held}'")
    with pytest.raises(LedgerIntegrityError):
        market.get_order(scene.held, by=STAFF)
    with pytest.raises(LedgerIntegrityError):
        market.refund(scene.held, by=Actor.vendor("v-1"), amount=Money("5.00", "EUR"))
    assert market.verify_journal(by=STAFF).ok  # the journal and the hold are untouched


def test_an_idempotency_record_that_does_not_decode_is_an_integrity_error(scene: Scene) -> None:
    """R35, R42: a remembered outcome edited so that it no longer decodes is refused as a
    LedgerIntegrityError when the key is replayed, and the command is not run again."""
    market, vendor = scene.market, Actor.vendor("v-1")
    five = Money("5.00", "EUR")
    market.refund(scene.held, by=vendor, amount=five, idempotency_key="refund-1")
    column = "result = 'x{'" if scene.kind == "sqlite" else "body = '{}'::jsonb"
    scene.raw(f"UPDATE idempotency SET {column} WHERE key = 'refund-1'")
    with pytest.raises(LedgerIntegrityError):
        market.refund(scene.held, by=vendor, amount=five, idempotency_key="refund-1")
    assert market.get_hold(scene.held, by=STAFF).refunded_minor == 500


@postgres
def test_a_journal_head_moved_back_is_an_integrity_error(tmp_path: Path) -> None:
    """R24, R42 (PostgreSQL keeps the journal's head in ``ledger_head``): a head moved back
    by hand makes the next post collide with a stored ``seq``; that is a
    LedgerIntegrityError (it used to leak psycopg's UniqueViolation), nothing is posted, the
    sweep retries the release later."""
    s, store = _scene("postgres", tmp_path)
    try:
        s.raw("UPDATE ledger_head SET seq = seq - 1")
        s.clock.advance(hours=168)
        assert s.market.run_due().timers.get("failed") == 1
        with pytest.raises(LedgerIntegrityError):
            s.market.release(s.held, by=STAFF)
        with pytest.raises(LedgerIntegrityError):
            s.market.pay_out("v-1", by=STAFF)
        assert s.market.get_hold(s.held, by=STAFF).state == "held"
    finally:
        store.close()
