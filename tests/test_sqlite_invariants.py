"""What SQLite itself refuses, bypassing the library with raw SQL (R17, R20, R24, R42): as far
as SQLite allows (it has no deferred constraints, so an unbalanced journal transaction is
refused by the library and found by ``verify_journal``, not at COMMIT)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from moneyed import Money

from asolora_core import FakeClock, FixedRateProvider, SqliteStore
from test_ledger_support import START, money_market, sell


@pytest.fixture
def released(tmp_path: Path) -> Path:
    """A SQLite file with one order of v-1 completed and released."""
    path = tmp_path / "shop.db"
    store = SqliteStore(path)
    clock = FakeClock(START)
    market = money_market(store, clock, FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START))
    sell(market, "v-1", Money("40.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    store.close()
    return path


def _refused(path: Path, sql: str) -> str:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(sql)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    raise AssertionError(f"SQLite accepted {sql}")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE seq = 1 AND n = 0",
        "DELETE FROM ledger_entries WHERE seq = 1",
        "UPDATE ledger_txns SET memo = '{}' WHERE seq = 1",
        "DELETE FROM ledger_txns",
    ],
)
def test_journal_rows_cannot_be_changed(released: Path, sql: str) -> None:
    """R24, R42: the journal is append-only, whoever writes."""
    assert "append-only" in _refused(released, sql)


def test_an_order_is_released_once(released: Path) -> None:
    """R17: a second release transaction of one order is refused, even under a new key."""
    message = _refused(
        released,
        "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, prev_hash, "
        "hash) SELECT 99, 'release:again', 'release', at, vendor_id, order_id, ref, memo, "
        "'x', 'h99' FROM ledger_txns WHERE kind = 'release'",
    )
    assert "UNIQUE" in message


def test_a_hold_never_records_more_refunded_than_paid(released: Path) -> None:
    """R20: the hold row refuses refunds above its paid amount."""
    message = _refused(
        released,
        "UPDATE ledger_holds SET body = json_set(body, '$.refunded_minor', "
        "json_extract(body, '$.paid_minor') + 1)",
    )
    assert "refunds above the paid amount" in message
