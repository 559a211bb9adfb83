"""The reports contract (asolora_core.testing.reports_contract) on every store we ship (R33)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asolora_core import InMemoryStore, SqliteStore
from asolora_core.ports import Store
from asolora_core.testing.reports_contract import ReportsContract


class TestInMemoryReports(ReportsContract):
    """R33: the in-memory reference passes its own reports contract."""

    def make_store(self) -> Store:
        return InMemoryStore()


class TestSqliteReports(ReportsContract):
    """R33: SQLite on a file passes the reports contract."""

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.files = 0

    def make_store(self) -> Store:
        self.files += 1
        return SqliteStore(self.directory / f"reports-{self.files}.db")


class TestSqliteMemoryReports(ReportsContract):
    """R33: SQLite ``:memory:`` passes the reports contract."""

    def make_store(self) -> Store:
        return SqliteStore(":memory:")
