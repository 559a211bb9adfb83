"""Versioned migrations (R22, R23, R33): one call, recorded in ``asolora_schema_version``, an
upgrade of a SQLite file made by the previous schema keeps every figure, and two processes
migrating at once both succeed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from moneyed import Money

from asolora_core import FakeClock, FixedRateProvider, Marketplace, SqliteStore, migrate
from asolora_core.adapters.sqlite import MIGRATIONS, _statements
from pg_support import dsn, new_schema, postgres
from test_ledger_support import STAFF, START, money_market, place, sell

#: The SQLite schema version before running totals (the schema of the first release).
BEFORE_TOTALS = 3


def _figures(market: Marketplace) -> tuple[object, ...]:
    return (
        market.balance("v-1", by=STAFF),
        market.balance("v-2", by=STAFF),
        market.journal(by=STAFF),
        market.verify_journal(by=STAFF).ok,
    )


def _old_schema_with_data(path: Path) -> tuple[object, ...]:
    """A SQLite file at schema version 3 (no running totals, no version table) holding
    orders, releases and a payout; returns the figures read from it."""
    store = SqliteStore(path)
    clock = FakeClock(START)
    market = money_market(store, clock, FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START))
    for _ in range(3):
        sell(market, "v-1", Money("40.00", "EUR"))
    sell(market, "v-2", Money("15.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    market.run_payouts()
    sell(market, "v-1", Money("12.00", "EUR"))
    place(market, "v-2", Money("7.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    figures = _figures(market)
    store.close()
    # back to schema 3: drop whatever later steps created (names found by building schema 3
    # alone), so the upgrade runs every later step on this data
    old = sqlite3.connect(":memory:")
    for script in MIGRATIONS[:BEFORE_TOTALS]:
        for statement in _statements(script):
            old.execute(statement)
    kept = {r[0] for r in old.execute("SELECT name FROM sqlite_master")}
    old.close()
    conn = sqlite3.connect(path)
    later = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "ORDER BY type = 'table'"
    ).fetchall()
    for kind, name in later:
        if name not in kept:
            conn.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    conn.execute(f"PRAGMA user_version = {BEFORE_TOTALS}")
    conn.commit()
    conn.close()
    return figures


def test_upgrade_of_a_sqlite_file_with_data_keeps_every_figure(tmp_path: Path) -> None:
    """R22, R23: the running-totals step fills the totals from the journal already there:
    balances, journal and verification read the same after the upgrade, and the next
    posting carries on from them."""
    path = tmp_path / "old.db"
    before = _old_schema_with_data(path)
    assert migrate(str(path)) == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    versions = [r[0] for r in conn.execute("SELECT version FROM asolora_schema_version")]
    conn.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    store = SqliteStore(path)
    try:
        clock = FakeClock(START)
        market = money_market(
            store, clock, FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START)
        )
        assert _figures(market) == before
        assert market.verify_journal(by=STAFF).problems == ()
    finally:
        store.close()


def test_migrate_from_the_command_line_twice_at_once(tmp_path: Path) -> None:
    """Two processes run ``python -m asolora_core migrate`` on one old file at once: both
    succeed, each step is applied once."""
    path = tmp_path / "old.db"
    _old_schema_with_data(path)
    command = [sys.executable, "-m", "asolora_core", "migrate", "--dsn", str(path)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert all(f"schema at version {len(MIGRATIONS)}" in out for out in outputs)
    conn = sqlite3.connect(path)
    (count,) = conn.execute("SELECT count(*) FROM ledger_totals").fetchone()
    conn.close()
    assert count > 0


@postgres
def test_postgres_migrate_from_two_processes_at_once() -> None:
    """The advisory lock: two processes migrating one new schema at once both succeed and
    every step is recorded once."""
    from asolora_core.adapters.postgres import MIGRATIONS as PG_MIGRATIONS
    from asolora_core.adapters.postgres import PostgresStore

    schema = new_schema()
    command = [
        sys.executable,
        "-m",
        "asolora_core",
        "migrate",
        "--dsn",
        dsn(),
        "--schema",
        schema,
    ]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    store = PostgresStore(dsn(), schema=schema, migrate=False)
    try:
        with store.unit_of_work() as uow:
            rows = uow.fetchall("SELECT version FROM asolora_schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(PG_MIGRATIONS) + 1))
    finally:
        store.close()
