"""The demo (`python -m asolora_core demo`): a month of a marketplace on SQLite.

It is the README's first command, so it must run quickly, end with a verified journal, and
give byte-identical ``--json`` for a seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asolora_core.__main__ import main
from asolora_core._demo import DEFAULT_ORDERS, run_demo

KEYS = {
    "orders",
    "completed",
    "released",
    "refunds_after_release",
    "negative_balances_offset",
    "journal_verified",
    "journal_balanced",
}


def test_a_month_on_a_sqlite_file(tmp_path: Path) -> None:
    """R8, R14, R22-R24, R27, R39, R41, R42: the month's story and its figures."""
    lines: list[str] = []
    figures = run_demo(str(tmp_path / "demo.db"), say=lines.append)
    text = "\n".join(lines)
    assert (tmp_path / "demo.db").exists()
    assert set(figures) >= KEYS
    assert figures["orders"] == DEFAULT_ORDERS
    assert 0 < figures["released"] <= figures["completed"] <= figures["orders"]
    assert figures["refunds_after_release"] >= 1  # R22
    assert figures["negative_balances_offset"] >= 1  # R23
    assert figures["chargebacks"] == 1  # R39
    assert figures["multi_shipment_orders"] >= 1  # R5
    assert figures["auto_confirmed"] >= 1  # R10
    assert figures["journal_verified"] is True  # R42
    assert figures["journal_balanced"] is True  # R24
    assert "completion_is_automatic" in text  # R8
    assert "issue_open" in text  # R14
    assert "[contact removed]" in text  # R27
    assert "reconciles: True" in text  # R41
    assert "hash chain verified: True" in text
    assert "Earnings, payout by payout (R31)" in text
    # the story vendor's reports end the month: sales week by week and its bestsellers
    assert "Sales report (R30), 2026-10-01 to 2026-10-31, by week" in text
    assert "Bestselling products (R32)" in text
    assert text.index("Sales report (R30)") > text.index("statement (R41)")


def test_the_same_seed_gives_byte_identical_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deterministic: FakeClock, sequential ids and one seeded random source."""
    outputs = []
    for n, seed in enumerate((3, 3, 4)):
        db = str(tmp_path / f"demo{n}.db")
        assert main(["demo", "--db", db, "--json", "--seed", str(seed), "--orders", "40"]) == 0
        captured = capsys.readouterr()
        outputs.append(captured.out)
        assert "day 30/30" in captured.err  # the progress bar is on stderr
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    figures = json.loads(outputs[0])
    assert set(figures) >= KEYS
    assert figures["orders"] == 40


def test_the_demo_replaces_its_previous_database(tmp_path: Path) -> None:
    """Running twice on one file starts afresh instead of failing on old ids."""
    db = str(tmp_path / "demo.db")
    first = run_demo(db, orders=12, say=lambda _: None)
    assert run_demo(db, orders=12, say=lambda _: None) == first


def test_orders_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--orders", "0", "--db", ":memory:"])
    assert "--orders" in capsys.readouterr().err


def test_the_installed_demo_command_runs_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`asolora-demo` (the script pyproject.toml installs) takes the demo's options itself,
    not the `demo` sub-command a user would not think to type after it."""
    import importlib
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    module, _, name = scripts["asolora-demo"].partition(":")
    command = getattr(importlib.import_module(module), name)
    db = tmp_path / "demo.db"
    assert command(["--orders", "5", "--db", str(db), "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["orders"] == 5
    with pytest.raises(SystemExit):
        command(["--help"])
    assert capsys.readouterr().out.startswith("usage: asolora-demo [-h]")


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`python -m asolora_core demo | head -3` ends quietly: no BrokenPipeError traceback."""
    import subprocess
    import sys

    run = [sys.executable, "-m", "asolora_core", "demo", "--db", ":memory:", "--quiet"]
    with subprocess.Popen(
        run, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader goes away after one line
        err = proc.stderr.read().decode()
    assert first.startswith(b"asolora_core demo")
    assert "Traceback" not in err, err
