"""Raw-SQL tampering with everything money is computed from (R24, R42), on SQLite.

The scene: vendors v-1 and v-2 each sold, were released and paid out; v-1 then sold again
(released), and a last order of v-1 is still held. One column of one table is then edited
with raw SQL, as an intruder with write access to the file would. For every column money is
computed from, either the money figures do not move (nothing money reads comes from that
column) or the release refuses to act on it and ``verify_journal`` reports it; never "money
moved and verification says ok". Then: a chain re-sealed with the library's own digest while
a key is configured, and a removed tail found against a published checkpoint.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    FileCheckpointSink,
    InvalidInputError,
    LedgerIntegrityError,
    Marketplace,
    MarketplaceConfig,
    NotPermittedError,
    Order,
    RecordingCheckpointSink,
    SequentialIds,
    SqliteStore,
    _codec,
)
from asolora_core.adapters.sqlite import _order
from asolora_core.adapters.sqlite_base import micros
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.integrity import record_seal
from asolora_core.ledger.model import Entry, JournalTransaction, MoneyConfig, seal
from test_ledger_support import FEES, STAFF, START, sell

KEY = b"k" * 32
HOUR = dt.timedelta(hours=1)


def _market(path: Path, clock: FakeClock, **config: Any) -> Marketplace:
    return Marketplace(
        SqliteStore(path),
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(
            money=MoneyConfig(fees=FEES, rates=FixedRateProvider({}, as_of=START)), **config
        ),
    )


def _scene(path: Path, **config: Any) -> tuple[Marketplace, FakeClock, str]:
    clock = FakeClock(START)
    market = _market(path, clock, **config)
    market.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    market.register_vendor("v-2", payout_currency="EUR", by=STAFF)
    sell(market, "v-1", Money("100.00", "EUR"))
    sell(market, "v-2", Money("50.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    market.run_payouts()
    sell(market, "v-1", Money("30.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    held = sell(market, "v-1", Money("20.00", "EUR"))  # completes now, due in 168 hours
    assert market.verify_journal(by=STAFF).ok
    return market, clock, held.order_id


def _money(market: Marketplace) -> tuple[Any, ...]:
    """Every figure money is computed from or paid on, as the facade reports it."""
    return tuple(
        (
            market.balance(v, by=STAFF),
            market.statement(v, by=STAFF).lines,
            tuple((p.payout_id, p.amount_minor, p.seq) for p in market.payouts(v, by=STAFF)),
        )
        for v in ("v-1", "v-2")
    )


def _intruder(path: Path) -> sqlite3.Connection:
    """A raw connection to the file, as an intruder with write access has: the schema's
    append-only triggers stop mistakes and careless scripts, not someone who can write the
    file, so the intruder drops them first (what follows must hold without them)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP INDEX IF EXISTS ledger_one_release_per_order")
    return conn


def _unpost_totals(seq: int) -> str:
    """The statement that takes transaction ``seq``'s entries back out of the running
    totals (an intruder removing a transaction does this too, or the totals betray it)."""
    part = "FROM ledger_entries e WHERE e.seq = {seq} AND e.account = ledger_totals.account "
    part += "AND e.currency = ledger_totals.currency"
    part = part.format(seq=seq)
    return (
        f"UPDATE ledger_totals SET total_minor = total_minor - (SELECT sum(amount_minor) {part}), "
        f"debits_minor = debits_minor - (SELECT sum(max(amount_minor, 0)) {part}), "
        f"credits_minor = credits_minor - (SELECT sum(min(amount_minor, 0)) {part}) "
        f"WHERE (account, currency) IN (SELECT account, currency FROM ledger_entries "
        f"WHERE seq = {seq})"
    )


def _sql(path: Path, *statements: str) -> None:
    conn = _intruder(path)
    for statement in statements:
        assert conn.execute(statement).rowcount >= 1, statement
    conn.close()


def _edit_body(path: Path, table: str, key: str, value: str, edit: Callable[[Any], None]) -> None:
    conn = _intruder(path)
    (body,) = conn.execute(f"SELECT body FROM {table} WHERE {key} = ?", (value,)).fetchone()
    data = json.loads(body)
    if table == "orders":  # positional (schema step 12): edited in the object form it reads
        (version,) = conn.execute(
            "SELECT version FROM orders WHERE order_id = ?", (value,)
        ).fetchone()
        data = _codec.encoder(Order)(_order(value, version, data))
    edit(data)
    conn.execute(f"UPDATE {table} SET body = ? WHERE {key} = ?", (json.dumps(data), value))
    conn.close()


# Journal columns: every one a balance, a release or a payout reads is hashed (so verification
# finds it), and the denormalised ones (entries' vendor_id and kind) are read by nothing. A
# payout row moved to another vendor leaves a payout transaction without its row.
JOURNAL = {
    "entry amount": "UPDATE ledger_entries SET amount_minor = amount_minor - 500 "
    "WHERE account = 'vendor:v-1:balance' AND amount_minor < 0",
    "entry account": "UPDATE ledger_entries SET account = 'vendor:v-2:balance' "
    "WHERE account = 'vendor:v-1:balance'",
    "entry currency": "UPDATE ledger_entries SET currency = 'GBP' "
    "WHERE account = 'vendor:v-1:balance'",
    "transaction vendor": "UPDATE ledger_txns SET vendor_id = 'v-2' WHERE vendor_id = 'v-1'",
    "transaction kind": "UPDATE ledger_txns SET kind = 'refund' WHERE kind = 'release'",
    "transaction order": "UPDATE ledger_txns SET order_id = 'o-000009' WHERE kind = 'release'",
    "transaction memo": "UPDATE ledger_txns SET memo = '{}' WHERE kind = 'payout'",
    "transaction time": "UPDATE ledger_txns SET at = at - 1 WHERE kind = 'payout'",
    "a removed entry": "DELETE FROM ledger_entries WHERE account = 'platform:commission' "
    "AND seq = (SELECT max(seq) FROM ledger_entries WHERE account = 'platform:commission')",
    "entry moved to another transaction": "UPDATE ledger_entries SET seq = seq + 1, n = n + 50 "
    "WHERE account = 'vendor:v-1:balance' AND seq = (SELECT min(seq) FROM ledger_entries "
    "WHERE account = 'vendor:v-1:balance')",
    "transaction hash": "UPDATE ledger_txns SET hash = upper(hash) WHERE kind = 'payout'",
    "payout row's vendor_id": "UPDATE ledger_payouts SET vendor_id = 'v-9' WHERE vendor_id = 'v-1'",
}
UNREAD = {
    "entry vendor_id": "UPDATE ledger_entries SET vendor_id = 'v-2' WHERE vendor_id = 'v-1'",
    "entry kind": "UPDATE ledger_entries SET kind = 'paid_out' WHERE kind = 'balance'",
    "hold vendor_id column": "UPDATE ledger_holds SET vendor_id = 'v-2'",
    "hold released column": "UPDATE ledger_holds SET released = 1 - released",
    "payout amount column": "UPDATE ledger_payouts SET amount_minor = 1",
    "payout seq column": "UPDATE ledger_payouts SET seq = seq + 1000",
    "payout currency column": "UPDATE ledger_payouts SET currency = 'GBP'",
    "vendor payout_currency column": "UPDATE ledger_vendors SET payout_currency = 'GBP'",
}


@pytest.mark.parametrize("column", sorted(JOURNAL))
def test_an_edited_journal_column_is_found(tmp_path: Path, column: str) -> None:
    """R24, R42: a hashed journal column edited with SQL fails verification."""
    path = tmp_path / "m.db"
    market, _, _ = _scene(path)
    _sql(path, JOURNAL[column])
    assert not market.verify_journal(by=STAFF).ok


@pytest.mark.parametrize("column", sorted(UNREAD))
def test_a_column_money_does_not_read_changes_no_figure(tmp_path: Path, column: str) -> None:
    """R24, R42: denormalised columns (the entries' vendor_id and kind, the hold, payout and
    vendor index columns) are not what balances, releases or payouts are computed from."""
    path = tmp_path / "m.db"
    market, clock, held = _scene(path)
    before = _money(market)
    _sql(path, UNREAD[column])
    assert _money(market) == before
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(held, by=STAFF).state == "released"
    market.run_payouts()
    # 30.00 and 20.00 less 10 % commission and 2.9 % + 0.30 processing: 25.83 + 17.12
    assert market.payouts("v-1", by=STAFF)[-1].amount_minor == 2583 + 1712


HOLD_EDITS: dict[str, Callable[[Any], None]] = {
    "release_at a week earlier": lambda h: h.update(release_at=h["completed_at"]),
    "paid_minor": lambda h: h.update(paid_minor=h["paid_minor"] + 10_000),
    "commission_minor": lambda h: h.update(commission_minor=0),
    "processing_fee_minor": lambda h: h.update(processing_fee_minor=0),
    "vendor_id": lambda h: h.update(vendor_id="v-2"),
    "frozen lifted": lambda h: h.update(frozen=False, frozen_reason=""),
    "currency": lambda h: h.update(currency="GBP"),
}


@pytest.mark.parametrize("field", sorted(HOLD_EDITS))
def test_an_edited_hold_is_not_released_and_is_found(tmp_path: Path, field: str) -> None:
    """R15, R16, R42: a hold edited with SQL (release_at moved a week earlier, amounts, the
    vendor, a freeze lifted) is refused at release and reported by verify_journal."""
    path = tmp_path / "m.db"
    market, clock, held = _scene(path)
    if field == "frozen lifted":
        market.freeze_release(held, by=STAFF, reason="fraud check")
    before = _money(market)
    _edit_body(path, "ledger_holds", "order_id", held, HOLD_EDITS[field])
    # the intruder also moves the release timer to now
    _sql(path, f"UPDATE timers SET due_at = {micros(clock.now())} WHERE kind = 'release'")
    market.run_due()
    assert _money(market) == before
    assert not market.verify_journal(by=STAFF).ok
    with pytest.raises(LedgerIntegrityError):
        market.release(held, by=STAFF)


def test_a_hold_that_disagrees_with_the_journal_is_not_released(tmp_path: Path) -> None:
    """R15, R42: even correctly sealed (a key-less store re-sealed by an intruder), a hold
    whose amounts disagree with the journal is not released."""
    path = tmp_path / "m.db"
    market, clock, held = _scene(path)

    def richer(h: Any) -> None:
        h.update(paid_minor=h["paid_minor"] + 10_000, commission_minor=0)

    _edit_body(path, "ledger_holds", "order_id", held, richer)
    with market.store.reader() as uow:
        hold = uow.ledger.get_hold(held)
    assert hold is not None
    _edit_body(
        path, "ledger_holds", "order_id", held, lambda h: h.update(seal=record_seal(hold, None))
    )
    clock.advance(hours=168)
    before = _money(market)
    market.run_due()
    assert _money(market) == before
    assert any("journal" in p.problem for p in market.verify_journal(by=STAFF).problems)


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p.update(amount_minor=p["amount_minor"] * 2),
        lambda p: p.update(currency="GBP"),
        lambda p: p.update(seq=1),
    ],
    ids=["amount", "currency", "seq"],
)
def test_an_edited_payout_is_found(tmp_path: Path, edit: Callable[[Any], None]) -> None:
    """R18, R41, R42: a payout row is checked against its journal transaction."""
    path = tmp_path / "m.db"
    market, _, _ = _scene(path)
    payout_id = market.payouts("v-1", by=STAFF)[0].payout_id
    _edit_body(path, "ledger_payouts", "payout_id", payout_id, edit)
    assert not market.verify_journal(by=STAFF).ok


def test_a_hold_row_swapped_for_another_orders_is_not_released(tmp_path: Path) -> None:
    """R15, R42: a hold's body replaced by another order's (validly sealed) body is refused."""
    path = tmp_path / "m.db"
    market, clock, held = _scene(path)
    conn = _intruder(path)
    (other,) = conn.execute(
        "SELECT body FROM ledger_holds WHERE order_id <> ? AND vendor_id = 'v-1' LIMIT 1", (held,)
    ).fetchone()
    conn.execute("UPDATE ledger_holds SET body = ? WHERE order_id = ?", (other, held))
    conn.close()
    with pytest.raises(LedgerIntegrityError):
        market.release(held, by=STAFF)
    clock.advance(hours=168)
    before = _money(market)
    market.run_due()
    assert _money(market) == before


def test_a_removed_payout_row_is_found(tmp_path: Path) -> None:
    """R18, R42: a payout transaction without its payout row is reported."""
    path = tmp_path / "m.db"
    market, _, _ = _scene(path)
    _sql(path, "DELETE FROM ledger_payouts WHERE vendor_id = 'v-1'")
    assert not market.verify_journal(by=STAFF).ok


def test_an_edited_vendor_currency_stops_the_release(tmp_path: Path) -> None:
    """R17, R42: the payout currency a release converts into is sealed."""
    path = tmp_path / "m.db"
    market, clock, held = _scene(path)
    _edit_body(
        path, "ledger_vendors", "vendor_id", "v-1", lambda v: v.update(payout_currency="GBP")
    )
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(held, by=STAFF).state == "held"
    assert not market.verify_journal(by=STAFF).ok


@pytest.mark.parametrize("field", ["paid_minor", "refunds"])
def test_an_order_edited_to_allow_a_larger_refund_books_none(tmp_path: Path, field: str) -> None:
    """R20, R42: the order document is not sealed, so the refund limit is checked again
    against the sealed hold: an order whose paid amount was raised, or whose refunds were
    erased, cannot refund more than the buyer paid."""
    path = tmp_path / "m.db"
    market, _, held = _scene(path)
    market.refund(held, by=Actor.vendor("v-1"), amount=Money("15.00", "EUR"))

    def edit(order: Any) -> None:
        if field == "paid_minor":
            order["paid_minor"] += 10_000
            order["lines"][0]["paid_minor"] += 10_000
        else:
            order["refunds"] = []

    _edit_body(path, "orders", "order_id", held, edit)
    before = _money(market)
    with pytest.raises(LedgerIntegrityError):
        market.refund(held, by=Actor.vendor("v-1"), amount=Money("10.00", "EUR"))
    assert _money(market) == before


def test_rows_stored_before_seals_are_refused_until_sealed(tmp_path: Path) -> None:
    """R42, upgrading: a hold or vendor account stored without a seal (by an earlier version)
    is refused at release until staff run ``seal_ledger``, which seals only rows that agree
    with the journal."""
    path = tmp_path / "m.db"
    market, clock, held = _scene(path)
    _edit_body(path, "ledger_holds", "order_id", held, lambda h: h.update(seal=""))
    _edit_body(path, "ledger_vendors", "vendor_id", "v-1", lambda v: v.update(seal=""))
    clock.advance(hours=168)
    market.run_due()
    assert market.get_hold(held, by=STAFF).state == "held"
    assert market.seal_ledger(by=STAFF) == 2
    assert market.seal_ledger(by=STAFF) == 0
    assert market.verify_journal(by=STAFF).ok
    clock.advance(hours=1)  # the failed timer was moved an hour later
    market.run_due()
    assert market.get_hold(held, by=STAFF).state == "released"


# --- with a secret key: re-sealing is found; checkpoints find a removed tail ----------------


def _reseal_without_key(path: Path) -> None:
    """Add 5.00 to v-1's last balance credit and to the buyer funds, then re-seal the whole
    chain with the library's own (key-less) digest: every hash and link is self-consistent,
    and the running totals are moved to match."""
    store = SqliteStore(path)
    with store.reader() as uow:
        txns = uow.ledger.journal()
    store.close()
    conn = _intruder(path)
    target = max(t.seq for t in txns if t.kind == "release" and t.vendor_id == "v-1")
    prev = "0" * 64
    conn.execute("BEGIN")
    for t in txns:
        entries = t.entries
        if t.seq == target:
            richer = [
                Entry(account=e.account, currency=e.currency, amount_minor=e.amount_minor - 500)
                if e.account == "vendor:v-1:balance"
                else e
                for e in entries
            ]
            richer.append(Entry(account="platform:fx_position", currency="EUR", amount_minor=500))
            entries = tuple(richer)
            conn.execute("DELETE FROM ledger_entries WHERE seq = ?", (t.seq,))
            conn.execute(
                "UPDATE ledger_totals SET total_minor = total_minor - 500, "
                "credits_minor = credits_minor - 500 "
                "WHERE account = 'vendor:v-1:balance' AND currency = 'EUR'"
            )
            conn.execute(
                "INSERT INTO ledger_totals (account, currency, vendor_id, kind, total_minor, "
                "debits_minor, credits_minor) "
                "VALUES ('platform:fx_position', 'EUR', NULL, 'fx_position', 500, 500, 0) "
                "ON CONFLICT DO UPDATE SET total_minor = total_minor + 500, "
                "debits_minor = debits_minor + 500"
            )
            conn.executemany(
                "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
                "amount_minor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (t.seq, n, e.account, e.vendor_id, e.kind, e.currency, e.amount_minor)
                    for n, e in enumerate(entries)
                ],
            )
        unsealed = JournalTransaction(
            key=t.key,
            kind=t.kind,
            at=t.at,
            vendor_id=t.vendor_id,
            order_id=t.order_id,
            ref=t.ref,
            entries=entries,
            memo=t.memo,
        )
        resealed = seal(unsealed, t.seq, prev)
        conn.execute(
            "UPDATE ledger_txns SET prev_hash = ?, hash = ? WHERE seq = ?",
            (resealed.prev_hash, resealed.hash, t.seq),
        )
        prev = resealed.hash
    conn.execute("COMMIT")
    conn.close()


def test_a_chain_resealed_without_the_key_is_found(tmp_path: Path) -> None:
    """R42: with ``ledger_key`` the chain is an HMAC; an intruder who edits an entry and
    re-seals every link with the library's own digest is found."""
    path = tmp_path / "m.db"
    market, _, _ = _scene(path, ledger_key=KEY)
    _reseal_without_key(path)
    report = market.verify_journal(by=STAFF)
    assert any("hash mismatch" in p.problem for p in report.problems)


def test_without_a_key_a_resealed_chain_passes_the_chain_check(tmp_path: Path) -> None:
    """R42, the documented limit: without a key, whoever can write the file can re-seal the
    chain; only the cross-checks and an outside checkpoint can still catch it."""
    path = tmp_path / "m.db"
    market, _, _ = _scene(path)
    checkpoint = market.publish_checkpoint(by=STAFF)
    _reseal_without_key(path)
    report = market.verify_journal(by=STAFF)
    assert not any("hash mismatch" in p.problem for p in report.problems)
    assert not market.verify_journal(by=STAFF, checkpoint=checkpoint).ok


def test_a_removed_tail_is_found_against_a_published_checkpoint(tmp_path: Path) -> None:
    """R42: checkpoints are published after every payout run and every N transactions. An
    intruder deletes the last payout (its transaction, entries and row, and takes it out of
    the running totals): the journal is
    consistent in itself and the vendor could be paid that money again, but verification
    against the last published checkpoint finds the removed tail."""
    path = tmp_path / "m.db"
    sink = RecordingCheckpointSink()
    market, _, _ = _scene(path, ledger_key=KEY, checkpoint_sink=sink, checkpoint_every=5)
    # 6: the sweep whose transaction posted seq 5 (two releases, 5 and 6, commit together);
    # 8: the payout run; 10: the commit that posted seq 10
    assert [c.seq for c in sink.published] == [6, 8, 10]
    (payout,) = market.run_payouts()
    latest = sink.latest
    assert latest is not None
    assert latest.seq == payout.seq
    assert latest.signature
    _sql(
        path,
        f"DELETE FROM ledger_payouts WHERE seq = {payout.seq}",
        _unpost_totals(payout.seq),
        f"DELETE FROM ledger_entries WHERE seq = {payout.seq}",
        f"DELETE FROM ledger_txns WHERE seq = {payout.seq}",
    )
    assert market.balance("v-1", by=STAFF).balance_minor == payout.amount_minor  # payable again
    assert market.verify_journal(by=STAFF).ok  # the shortened chain is consistent in itself
    report = market.verify_journal(by=STAFF, checkpoint=latest)
    assert any("removed" in p.problem for p in report.problems)


def test_a_forged_checkpoint_is_found(tmp_path: Path) -> None:
    """R42: with a key, a checkpoint is signed; one made up without the key is refused."""
    path = tmp_path / "m.db"
    market, _, _ = _scene(path, ledger_key=KEY)
    real = market.publish_checkpoint(by=STAFF)
    forged = type(real)(seq=real.seq, head=real.head, at=real.at + HOUR, signature=real.signature)
    assert market.verify_journal(by=STAFF, checkpoint=real).ok
    assert not market.verify_journal(by=STAFF, checkpoint=forged).ok


@pytest.mark.parametrize("who", [Actor.vendor("v-1"), Actor.buyer("b-1")])
def test_only_staff_publish_checkpoints_and_seal(tmp_path: Path, who: Actor) -> None:
    """R1, R42: checkpoints, sealing and verification are staff (or system) operations."""
    market, _, _ = _scene(tmp_path / "m.db")
    with pytest.raises(NotPermittedError):
        market.publish_checkpoint(by=who)
    with pytest.raises(NotPermittedError):
        market.seal_ledger(by=who)
    with pytest.raises(NotPermittedError):
        market.verify_journal(by=who, checkpoint=market.publish_checkpoint(by=STAFF))


@pytest.mark.parametrize(
    "config",
    [
        {"ledger_key": b"too short"},
        {"ledger_key": "a text, not bytes, of some length"},
        {"checkpoint_sink": object()},
        {"checkpoint_every": 0},
        {"checkpoint_every": True},
    ],
    ids=["short key", "text key", "sink without publish", "every 0", "every bool"],
)
def test_integrity_settings_are_checked(config: dict[str, Any]) -> None:
    """R2, R42: a key, sink or checkpoint interval that cannot work is refused up front."""
    with pytest.raises(InvalidInputError):
        MarketplaceConfig(**config)


def test_verify_refuses_what_is_not_a_checkpoint(tmp_path: Path) -> None:
    """R2: ``checkpoint=`` takes a Checkpoint."""
    market, _, _ = _scene(tmp_path / "m.db")
    with pytest.raises(InvalidInputError):
        market.verify_journal(by=STAFF, checkpoint="12:abc")  # type: ignore[arg-type]


def test_a_file_sink_keeps_every_checkpoint_and_reads_the_last_back(tmp_path: Path) -> None:
    """R42: ``FileCheckpointSink`` appends one JSON line per checkpoint; the last one read
    back verifies the journal it came from."""
    sink = FileCheckpointSink(tmp_path / "checkpoints.jsonl")
    assert sink.latest() is None
    market, _, _ = _scene(tmp_path / "m.db", ledger_key=KEY, checkpoint_sink=sink)
    published = market.publish_checkpoint(by=STAFF)
    assert sink.latest() == published
    lines = (tmp_path / "checkpoints.jsonl").read_text().splitlines()
    assert len(lines) == 2  # the scene's payout run, then ours
    assert market.verify_journal(by=STAFF, checkpoint=sink.latest()).ok
