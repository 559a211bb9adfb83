"""The command line (``python -m asolora_core``): its help says what the docs say, and a
wrong argument or a database that cannot be used ends with one error line and exit status 2,
never a traceback, and changes nothing.

Deploy scripts run ``migrate`` and read its exit status and its stderr: a traceback of 30
lines hides the one that says what to fix, and exit status 1 is what a crash gives too.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asolora_core.__main__ import main
from asolora_core._demo import DEFAULT_ORDERS, DEFAULT_SEED
from asolora_core.adapters.sqlite import MIGRATIONS, SqliteMisconfiguredError, SqliteStore
from asolora_core.errors import StoreMisconfiguredError
from pg_support import dsn, new_schema, postgres

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: ``python -m asolora_core COMMAND --flag ...`` as the pages write it
COMMAND = re.compile(r"python -m asolora_core (demo|migrate)\b([^`\n]*)")


def _help(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line ``argv`` ends with (exit status 2)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err
    # argparse's own refusals print the usage first; the error itself is the last line
    assert re.match(r"python -m asolora_core( \w+)?: error: \S", lines[-1]), captured.err
    assert all(line.startswith(("usage:", " ")) for line in lines[:-1]), captured.err
    return lines[-1]


def test_the_help_names_every_command_and_flag_the_docs_use(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every ``python -m asolora_core COMMAND --flag`` of README.md and docs/ is in that
    command's help, and so is every command."""
    top = _help(capsys=capsys)
    helps = {command: _help(command, capsys=capsys) for command in ("demo", "migrate")}
    used: set[tuple[str, str]] = set()
    for page in PAGES:
        for command, rest in COMMAND.findall(page.read_text()):
            used |= {(command, flag) for flag in re.findall(r"--[a-z][\w-]*", rest)}
    assert ("migrate", "--grant-to") in used  # the docs' deploy line is found
    for command, flag in sorted(used):
        assert command in top
        assert flag in helps[command], (command, flag)
    # the README's row for the demo, and the defaults docs/index.md writes out
    for flag in ("--orders", "--seed", "--db", "--json", "--quiet"):
        assert flag in helps["demo"]
    assert f"default {DEFAULT_ORDERS}" in helps["demo"]
    assert f"default {DEFAULT_SEED}" in helps["demo"]
    assert "default asolora-demo.db" in helps["demo"]
    index = (ROOT / "docs" / "index.md").read_text()
    assert f"--orders {DEFAULT_ORDERS} --seed {DEFAULT_SEED} --db asolora-demo.db" in index


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["migrate"],
        ["migrate", "--dsn"],
        ["demo", "--orders", "0"],
        ["demo", "--orders", "many"],
        ["migrate", "--dsn", "shop.db", "--schema", "shop"],
        ["migrate", "--dsn", "shop.db", "--grant-to", "shop_app"],
    ],
    ids=lambda argv: " ".join(argv) or "nothing",
)
def test_a_wrong_argument_is_one_error_line_and_status_2(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    _refused(argv, capsys)
    assert list(tmp_path.iterdir()) == []  # no database file was made


@pytest.mark.parametrize("command", ["migrate --dsn", "demo --quiet --orders 1 --db"])
def test_a_sqlite_file_in_a_folder_that_does_not_exist(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line names the folder to create; the folder is not created."""
    missing = tmp_path / "no-such-folder"
    line = _refused([*command.split(), str(missing / "shop.db")], capsys)
    assert f"create the folder {str(missing)!r}" in line
    assert not missing.exists()


@pytest.mark.parametrize("command", ["migrate --dsn", "demo --quiet --orders 1 --db"])
def test_a_folder_where_the_sqlite_file_should_be(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused([*command.split(), str(tmp_path)], capsys)
    assert str(tmp_path) in line


def test_a_file_that_is_not_a_database_is_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, and long enough to fill SQLite's header\n" * 4)
    before = notes.read_bytes()
    line = _refused(["migrate", "--dsn", str(notes)], capsys)
    assert "not a database" in line
    assert notes.read_bytes() == before


def _read_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``path`` (and its folder) read-only to this process. The superuser writes to
    read-only files anyway, so then SQLite itself is told to open the file read-only."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return
    real: Callable[..., sqlite3.Connection] = sqlite3.connect

    def read_only(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)


def test_a_read_only_file_to_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that still needs schema steps, read-only: one line that says so, and the file
    is as it was (a file already up to date needs no write: migrate says its version)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    old = folder / "old.db"
    sqlite3.connect(old).close()  # an empty database: every step still to apply
    before = old.read_bytes()
    _read_only(old, monkeypatch)
    try:
        line = _refused(["migrate", "--dsn", str(old)], capsys)
        assert "readonly" in line.replace("-", "").replace(" ", ""), line
        assert old.read_bytes() == before
        with pytest.raises(StoreMisconfiguredError) as refused:
            SqliteStore(old)
        assert refused.value.fields["reason"] == "read_only"
        assert isinstance(refused.value, SqliteMisconfiguredError)
        assert isinstance(refused.value, sqlite3.DatabaseError)  # as SQLite's error was
    finally:
        folder.chmod(0o755)
        old.chmod(0o644)


def test_a_read_only_file_already_up_to_date_migrates_as_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    current = folder / "shop.db"
    SqliteStore(current).close()
    _read_only(current, monkeypatch)
    try:
        assert main(["migrate", "--dsn", str(current)]) == 0
        assert capsys.readouterr().out == f"schema at version {len(MIGRATIONS)}\n"
    finally:
        folder.chmod(0o755)
        current.chmod(0o644)


def _closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_postgresql_server_that_is_down_from_a_real_process() -> None:
    """``migrate`` against a server that does not answer: exit status 2, one line on stderr
    that says the database is unavailable and nothing was stored, no traceback."""
    pytest.importorskip("psycopg")
    target = f"postgresql://app@127.0.0.1:{_closed_port()}/shop?connect_timeout=5"
    done = subprocess.run(
        [sys.executable, "-m", "asolora_core", "migrate", "--dsn", target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("python -m asolora_core migrate: error: the database is unavailable")
    assert "nothing was stored" in line


def test_a_key_value_dsn_is_postgresql_not_a_sqlite_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--dsn 'host=... port=...'`` without ``dbname``: read as PostgreSQL's (the server
    is down here), not as the name of a new SQLite file in the current folder."""
    pytest.importorskip("psycopg")
    monkeypatch.chdir(tmp_path)
    line = _refused(
        ["migrate", "--dsn", f"host=127.0.0.1 port={_closed_port()} connect_timeout=5"], capsys
    )
    assert "the database is unavailable" in line
    assert list(tmp_path.iterdir()) == []


@postgres
def test_postgresql_refusals_are_one_line_and_migrate_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An unknown login role, a setting the server does not know, and ``--grant-to`` a role
    that does not exist: one line each; the last one's schema is not even created (the
    grant is in the migration's transaction)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    unknown_user = make_conninfo(dsn(), user="no_such_login_role")
    assert "no such role" in _refused(["migrate", "--dsn", unknown_user], capsys)
    bad_option = make_conninfo(dsn(), options="-c no_such_setting=1")
    assert "check the options" in _refused(["migrate", "--dsn", bad_option], capsys)
    schema = new_schema()
    line = _refused(
        ["migrate", "--dsn", dsn(), "--schema", schema, "--grant-to", "no_such_app_role"], capsys
    )
    assert "no role 'no_such_app_role'" in line
    assert "nothing was migrated" in line
    with psycopg.connect(dsn()) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        assert found.fetchone() is None
