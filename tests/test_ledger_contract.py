"""The ledger contract (asolora_core.testing.ledger_contract) on every store we ship (R33)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asolora_core import InMemoryStore, SqliteStore
from asolora_core.ports import Store
from asolora_core.testing.ledger_contract import LedgerContract
from pg_support import make_store as make_pg_store
from pg_support import postgres


class TestInMemoryLedger(LedgerContract):
    """R33: the in-memory reference passes its own ledger contract."""

    def make_store(self) -> Store:
        return InMemoryStore()


class TestSqliteLedger(LedgerContract):
    """R33: SQLite on a file passes the ledger contract."""

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.files = 0

    def make_store(self) -> Store:
        self.files += 1
        return SqliteStore(self.directory / f"ledger-{self.files}.db")


@postgres
class TestPostgresLedger(LedgerContract):
    """R33: PostgreSQL passes the ledger contract."""

    def make_store(self) -> Store:
        store: Store = make_pg_store()
        return store
