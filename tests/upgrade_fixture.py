"""A database as asolora_core 0.1 left it (schema 3, made by the released code): upgrade
tests load it and open it with the current store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

DUMP = Path(__file__).parent / "data" / "schema3_v0_1.sql"


def load_v0_1(path: Path) -> Path:
    """Write the 0.1 database to ``path`` and return it."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(DUMP.read_text())
    finally:
        conn.close()
    return path


def journal_rows(path: Path) -> list[tuple[object, ...]]:
    """Every journal transaction and entry row, as stored."""
    conn = sqlite3.connect(path)
    try:
        txns = conn.execute("SELECT * FROM ledger_txns ORDER BY seq").fetchall()
        entries = conn.execute("SELECT * FROM ledger_entries ORDER BY seq, n").fetchall()
    finally:
        conn.close()
    return [*txns, *entries]
