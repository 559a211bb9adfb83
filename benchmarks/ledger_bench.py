"""Ledger benchmarks (release sweeps, refunds, payouts), used by ``run.py``'s ``ledger`` section.

* ``release_*_per_s``: one ``run_due`` sweep over N due orders (default config: batches of
  ``sweep_batch`` timers per transaction), half the vendors paid in GBP (a conversion and a
  conversion-fee posting), half in EUR. The holds, their capture and fee transactions and the
  release timers are seeded in bulk through the stores' repositories (1,000 per transaction);
  the releases themselves go through ``Marketplace.run_due``.
* ``raw_sqlite_rows_per_s``: the release transactions' journal rows (one ``ledger_txns`` row
  plus its ``ledger_entries`` rows each) inserted with plain ``executemany`` in one
  transaction into a fresh database: the limit of this disk for these rows.
* ``release_sqlite_replay_per_s``: the SQL of one such SQLite sweep, recorded statement by
  statement with its parameters (a ``sqlite3.Connection`` subclass), replayed on a database
  seeded the same way with no library code (every query's rows fetched): the limit of the
  sweep's own SQL; ``release_sqlite_statements_per_release`` is the count of those
  statements (an ``executemany`` counts once) per release.
* ``one_vendor_growth``: one SQLite sweep over due orders that all belong to ONE vendor
  (5,000 with ``--quick``, 30,000 in the full run): the per-release cost of the sweep
  batches of the last tenth over those of the first tenth (1.0: flat); with the first and
  last figures in µs, and ``one_vendor_growth_memory`` for the in-memory store.
* ``balance_ms``: one vendor's balance plus statement on a SQLite journal of 100,000 entries,
  almost all of other vendors; ``balance_ms_10k_journal`` is the same vendor on a journal of
  10,000 entries, to show the figure follows the vendor's rows, not the journal's size.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InMemoryStore,
    Marketplace,
    MarketplaceConfig,
    SequentialIds,
    SqliteStore,
)
from asolora_core.adapters.sqlite_ledger import LEDGER_MIGRATION
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger import core
from asolora_core.ledger.integrity import sealed
from asolora_core.ledger.model import (
    GENESIS_HASH,
    FeeSchedule,
    JournalTransaction,
    MoneyConfig,
    VendorAccount,
    seal,
)
from asolora_core.ports import Store, Timer

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOLD = dt.timedelta(hours=168)
VENDORS = 1_000
FEES = FeeSchedule(
    commission_bp=1000,
    processing_bp=290,
    processing_fixed={"EUR": Money("0.30", "EUR")},
    conversion_bp=200,
)


def _market(store: Store, clock: FakeClock) -> Marketplace:
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    config = MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates))
    return Marketplace(store, clock=clock, ids=SequentialIds(), config=config)


def seed_due_orders(store: Store, n: int, *, vendors: int = VENDORS) -> None:
    """N completed orders, due at START + 168 h, seeded in bulk through the repositories."""
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
        uow.commit()
    for first in range(0, n, 1000):
        with store.unit_of_work() as uow:
            for i in range(first, min(n, first + 1000)):
                hold, capture = core.capture(
                    order_id=f"o-{i}",
                    vendor_id=f"v-{i % vendors}",
                    currency="EUR",
                    paid_minor=10_000 + i % 500,
                    at=START,
                )
                hold, fees = core.complete(hold, fees=FEES, completed_at=START, hold_period=HOLD)
                uow.ledger.add_hold(sealed(hold, None))  # sealed as the facade stores it (R42)
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


def release_rate(store: Store, n: int) -> tuple[float, int]:
    """(releases per second of one sweep over N due orders, releases done)."""
    seed_due_orders(store, n)
    clock = FakeClock(START + HOLD)
    market = _market(store, clock)
    started = time.perf_counter()
    report = market.run_due()
    elapsed = time.perf_counter() - started
    done = report.timers.get("release", 0)
    return done / elapsed, done


class _RecordingConnection(sqlite3.Connection):
    """A connection that records every statement and its parameters while ``log`` is set."""

    log: list[tuple[str, Any, bool]] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if _RecordingConnection.log is not None:
            _RecordingConnection.log.append((sql, parameters, False))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        if _RecordingConnection.log is not None:
            parameters = list(parameters)
            _RecordingConnection.log.append((sql, parameters, True))
        return super().executemany(sql, parameters)


def recorded_sweep(path: Path, n: int) -> list[tuple[str, Any, bool]]:
    """The statements (and parameters) of one ``run_due`` over N due orders on a SQLite file
    seeded as in :func:`release_rate`, in the order the library ran them."""
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real(*args, factory=_RecordingConnection, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        store = SqliteStore(path)
        seed_due_orders(store, n)
        market = _market(store, FakeClock(START + HOLD))
        log: list[tuple[str, Any, bool]] = []
        _RecordingConnection.log = log
        try:
            done = market.run_due().timers.get("release", 0)
        finally:
            _RecordingConnection.log = None
        store.close()
    finally:
        sqlite3.connect = real
    assert done == n
    return log


def replay_rate(path: Path, n: int, log: list[tuple[str, Any, bool]]) -> float:
    """Releases per second of replaying ``log`` (every row of every query fetched) on a
    SQLite file seeded as the recorded one was, with the store's settings and no library
    code: the limit of the sweep's own SQL."""
    store = SqliteStore(path)
    seed_due_orders(store, n)
    store.close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    started = time.perf_counter()
    for sql, params, many in log:
        if many:
            conn.executemany(sql, params)
        else:
            conn.execute(sql, params).fetchall()
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


def one_vendor_growth(store: Store, n: int) -> tuple[float, float, float]:
    """(growth, first-10 % µs per release, last-10 % µs per release) of one sweep over N due
    orders that all belong to ONE vendor: the per-release cost of the sweep batches of the
    last tenth over those of the first tenth (1.0: the cost does not grow with the vendor's
    history)."""
    seed_due_orders(store, n, vendors=1)
    market = _market(store, FakeClock(START + HOLD))
    stamps: list[float] = []
    market._after_commit.append(lambda: stamps.append(time.perf_counter()))
    stamps.append(time.perf_counter())
    report = market.run_due()
    assert report.timers.get("release", 0) == n
    batch = market.config.sweep_batch
    per = [(b - a) / batch for a, b in itertools.pairwise(stamps[: n // batch + 1])]
    tenth = max(1, len(per) // 10)
    first = statistics.median(per[:tenth])
    last = statistics.median(per[-tenth:])
    return last / first, first * 1e6, last * 1e6


def release_transactions(store: SqliteStore) -> list[JournalTransaction]:
    with store.unit_of_work() as uow:
        return [t for t in uow.ledger.journal() if t.kind == "release"]


def raw_rows_rate(txns: list[JournalTransaction], directory: str) -> tuple[float, float]:
    """(rows per second, transactions per second) of plain executemany in one transaction."""
    conn = sqlite3.connect(str(Path(directory) / "raw.sqlite3"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for statement in LEDGER_MIGRATION.split(";"):
        if statement.strip():
            conn.execute(statement)
    txn_rows = [
        (t.seq, t.key, t.kind, 0, t.vendor_id, t.order_id, t.ref, "{}", t.prev_hash, t.hash)
        for t in txns
    ]
    entry_rows = [
        (t.seq, n, e.account, e.vendor_id, e.kind, e.currency, e.amount_minor)
        for t in txns
        for n, e in enumerate(t.entries)
    ]
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, prev_hash, "
        "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        txn_rows,
    )
    conn.executemany(
        "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        entry_rows,
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    rows = len(txn_rows) + len(entry_rows)
    return rows / elapsed, len(txn_rows) / elapsed


def _bulk_journal(store: SqliteStore, entries: int, *, target: str, target_txns: int) -> None:
    """A journal of about ``entries`` entries: ``target_txns`` releases of vendor ``target``
    (5 entries each), the rest captures of 999 other vendors (2 entries each), sealed and
    chained, inserted with executemany."""
    txns: list[JournalTransaction] = []
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    snapshot = rates.rate("EUR", "GBP", START)
    every = max(1, (entries - 5 * target_txns) // 2 // max(1, target_txns))
    i = 0
    made = 0
    while made < entries:
        if i % (every + 1) == 0 and target_txns > 0:
            hold, _ = core.capture(
                order_id=f"t-{i}", vendor_id=target, currency="EUR", paid_minor=10_000, at=START
            )
            hold, _ = core.complete(hold, fees=FEES, completed_at=START, hold_period=HOLD)
            _, txn, _ = core.release(
                hold, fees=FEES, snapshot=snapshot, balance_before_minor=0, now=START + HOLD
            )
            assert txn is not None
            target_txns -= 1
        else:
            _, maybe = core.capture(
                order_id=f"o-{i}",
                vendor_id=f"v-{i % 999}",
                currency="EUR",
                paid_minor=10_000,
                at=START,
            )
            assert maybe is not None
            txn = maybe
        txns.append(txn)
        made += len(txn.entries)
        i += 1
    sealed: list[JournalTransaction] = []
    prev = GENESIS_HASH
    for seq, txn in enumerate(txns, start=1):
        s = seal(txn, seq, prev)
        prev = s.hash
        sealed.append(s)
    conn = store.connection()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, prev_hash, "
        "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (t.seq, t.key, t.kind, 0, t.vendor_id, t.order_id, t.ref, "{}", t.prev_hash, t.hash)
            for t in sealed
        ],
    )
    conn.executemany(
        "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (t.seq, n, e.account, e.vendor_id, e.kind, e.currency, e.amount_minor)
            for t in sealed
            for n, e in enumerate(t.entries)
        ],
    )
    # the running totals a posting keeps (ledger_totals), filled the way the migration does
    conn.execute(
        "INSERT INTO ledger_totals (account, currency, vendor_id, kind, total_minor, "
        "debits_minor, credits_minor) SELECT account, currency, vendor_id, kind, "
        "sum(amount_minor), sum(max(amount_minor, 0)), sum(min(amount_minor, 0)) "
        "FROM ledger_entries GROUP BY account, currency"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


def balance_ms(entries: int, directory: str, *, repeats: int = 20) -> float:
    """Best time (ms) of one vendor's balance + statement, with 40 releases of that vendor
    in a journal of ``entries`` entries."""
    store = SqliteStore(Path(directory) / f"balance-{entries}.sqlite3")
    try:
        _bulk_journal(store, entries, target="v-target", target_txns=40)
        market = _market(store, FakeClock(START + HOLD))
        staff = Actor.staff("bench")
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            balance = market.balance("v-target", by=staff, currency="GBP")
            statement = market.statement("v-target", by=staff, currency="GBP")
            best = min(best, time.perf_counter() - started)
        assert len(statement.lines) == 40
        assert balance.balance_minor > 0
        return best * 1000.0
    finally:
        store.close()


def run(quick: bool) -> dict[str, Any]:
    n = 5_000 if quick else 100_000
    memory_per_s, _ = release_rate(InMemoryStore(), n)
    with tempfile.TemporaryDirectory(prefix="asolora-ledger-") as tmp:
        store = SqliteStore(Path(tmp) / "release.sqlite3")
        sqlite_per_s, done = release_rate(store, n)
        txns = release_transactions(store)
        store.close()
        rows_per_s, raw_txns_per_s = raw_rows_rate(txns, tmp)
        log = recorded_sweep(Path(tmp) / "recorded.sqlite3", n)
        replay_per_s = replay_rate(Path(tmp) / "replay.sqlite3", n, log)
        growth_n = 5_000 if quick else 30_000
        growth, first_us, last_us = one_vendor_growth(
            SqliteStore(Path(tmp) / "one-vendor.sqlite3"), growth_n
        )
        memory_growth, _, _ = one_vendor_growth(InMemoryStore(), growth_n)
        ms = balance_ms(100_000, tmp)
        ms_small = balance_ms(10_000, tmp)
    return {
        "due_orders": n,
        "note": (
            "quick: sweep over 5,000 due orders (the full run uses 100,000)"
            if quick
            else "sweep over 100,000 due orders"
        ),
        "releases_done": done,
        "release_memory_per_s": round(memory_per_s, 1),
        "release_sqlite_per_s": round(sqlite_per_s, 1),
        "raw_sqlite_rows_per_s": round(rows_per_s, 1),
        "raw_sqlite_release_txns_per_s": round(raw_txns_per_s, 1),
        "release_sqlite_replay_per_s": round(replay_per_s, 1),
        "release_sqlite_statements_per_release": round(len(log) / n, 3),
        "one_vendor_orders": growth_n,
        "one_vendor_growth": round(growth, 3),
        "one_vendor_first_us_per_release": round(first_us, 1),
        "one_vendor_last_us_per_release": round(last_us, 1),
        "one_vendor_growth_memory": round(memory_growth, 3),
        "balance_ms": round(ms, 3),
        "balance_ms_10k_journal": round(ms_small, 3),
        "ratios": {
            "sqlite_release_vs_raw_txns": round(sqlite_per_s / raw_txns_per_s, 4),
            "sqlite_release_vs_replay": round(sqlite_per_s / replay_per_s, 4),
            "memory_vs_sqlite_release": round(memory_per_s / sqlite_per_s, 4),
        },
    }
