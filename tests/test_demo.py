"""The demo (`python -m asolora_core demo`) runs the guide's lifecycle end to end on SQLite."""

from __future__ import annotations

from pathlib import Path

from asolora_core.__main__ import main
from asolora_core._demo import run_demo


def test_demo_runs_on_a_sqlite_file(tmp_path: Path) -> None:
    lines: list[str] = []
    counts = run_demo(str(tmp_path / "demo.db"), say=lines.append)
    text = "\n".join(lines)
    assert (tmp_path / "demo.db").exists()
    assert "completion_is_automatic" in text  # R8
    assert "issue_open" in text  # R14
    assert "auto-confirmed 1 shipment(s)" in text  # R10
    assert counts["orders"] == 4
    assert counts["notifications"] > 0
    assert counts["payouts"] >= 1  # R18
    assert "[contact removed]" in text  # R27
    assert "reconciles: True" in text  # R41


def test_demo_runs_twice_on_the_same_file(tmp_path: Path) -> None:
    """The demo replaces its previous database instead of failing on old ids."""
    db = str(tmp_path / "demo.db")
    first = run_demo(db, say=lambda _: None)
    assert run_demo(db, say=lambda _: None) == first


def test_cli_entry_point(tmp_path: Path, capsys: object) -> None:
    assert main(["demo", "--db", str(tmp_path / "cli.db")]) == 0
