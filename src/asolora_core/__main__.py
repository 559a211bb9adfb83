"""``python -m asolora_core demo``: a month of a marketplace (see :mod:`asolora_core._demo`).

Options: ``--orders N`` (default 80), ``--seed S`` (default 7; the same seed gives the same
month), ``--db PATH`` (the SQLite file, replaced; ``:memory:`` for none), ``--json`` (print
the figures as JSON instead of the report) and ``--quiet`` (no progress bar on stderr).

``python -m asolora_core migrate --dsn DSN [--schema S] [--grant-to ROLE]``: bring a
database's schema up to date and (PostgreSQL) grant the application's role what it needs
(see :func:`asolora_core.migrations.migrate`).

A wrong argument, or a database that cannot be used (a server that is down or refuses the
connection, an SQLite file in a folder that does not exist, read-only, or not a database, a
role to grant to that does not exist), ends the command with one line on stderr,
``python -m asolora_core COMMAND: error: ...``, and exit status 2; nothing was changed.

The ``asolora-demo`` command the package installs is ``python -m asolora_core demo``: it takes
the demo's options (``asolora-demo --orders 20 --quiet``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; a reader that stops early (``| head``) ends it quietly."""
    return _quiet_on_closed_pipe(argv, demo_prog=None)


def demo_main(argv: Sequence[str] | None = None) -> int:
    """The ``asolora-demo`` command: ``python -m asolora_core demo`` with the same options."""
    args = sys.argv[1:] if argv is None else list(argv)
    return _quiet_on_closed_pipe(["demo", *args], demo_prog="asolora-demo")


def _quiet_on_closed_pipe(argv: Sequence[str] | None, *, demo_prog: str | None) -> int:
    try:
        return _main(argv, demo_prog=demo_prog)
    except BrokenPipeError:
        # the reader went away: say nothing more, and keep Python's exit flush from failing too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None, *, demo_prog: str | None) -> int:
    from asolora_core._demo import DEFAULT_ORDERS, DEFAULT_SEED

    parser = argparse.ArgumentParser(
        prog="python -m asolora_core",
        description="asolora_core from a shell: a demo, and schema migrations at deploy time.",
        epilog="Run 'python -m asolora_core COMMAND --help' for a command's options. A wrong "
        "argument, or a database that cannot be reached or opened, ends with one error line "
        "and exit status 2.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="simulate a month of a marketplace on a SQLite file",
        description="Simulate a month of a marketplace on a SQLite file and print its report: "
        "one vendor's earnings payout by payout, its last payout statement, its sales week by "
        "week, its bestselling products and the journal check. The same seed gives the same "
        "month.",
        prog=demo_prog,
    )
    demo.add_argument(
        "--db",
        default="asolora-demo.db",
        metavar="PATH",
        help="SQLite file to write, replaced if it exists; its folder must exist "
        "(default %(default)s; ':memory:' for none)",
    )
    demo.add_argument(
        "--orders",
        type=int,
        default=DEFAULT_ORDERS,
        metavar="N",
        help="orders to simulate, at least 1 (default %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="S",
        help="random seed (default %(default)s)",
    )
    demo.add_argument(
        "--json",
        action="store_true",
        help="print the month's figures as JSON (stable bytes) instead of the report",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    mig = sub.add_parser(
        "migrate",
        help="apply the schema steps a database has not had yet",
        description="Apply the schema steps a database has not had yet, in one transaction "
        "(PostgreSQL: under an advisory lock, so two deploys at once are safe), and print the "
        "schema version. Run it as the tables' owner at every deploy.",
    )
    mig.add_argument(
        "--dsn",
        required=True,
        help="a PostgreSQL URL (postgresql://user@host/db) or key=value string "
        "('host=... dbname=...'; needs the postgres extra), or a SQLite file path "
        "(sqlite:///PATH too) in an existing folder",
    )
    mig.add_argument(
        "--schema",
        default=None,
        help="PostgreSQL only: the schema of the tables, created if missing "
        "(default: the connection's search_path)",
    )
    mig.add_argument(
        "--grant-to",
        default=None,
        metavar="ROLE",
        help="PostgreSQL only: give this existing application role exactly the privileges "
        "the library needs at run time",
    )
    args = parser.parse_args(argv)
    if args.command == "migrate":
        from asolora_core.migrations import _is_postgres_dsn, migrate

        if not _is_postgres_dsn(args.dsn) and (args.schema or args.grant_to) is not None:
            mig.error("--schema and --grant-to apply to a PostgreSQL --dsn only")
        with _one_line_errors(mig):
            version = migrate(args.dsn, schema=args.schema, grant_to=args.grant_to)
        granted = "" if args.grant_to is None else f"; {args.grant_to} granted"
        print(f"schema at version {version}{granted}")
        return 0
    if args.orders < 1:
        demo.error("--orders must be at least 1")
    from asolora_core._demo import main_json, run_demo

    lines: list[str] = []
    with _one_line_errors(demo):
        figures = run_demo(
            args.db,
            orders=args.orders,
            seed=args.seed,
            say=lines.append if args.json else print,
            progress=None if args.quiet else sys.stderr,
        )
    if args.json:
        print(main_json(figures))
    return 0


@contextmanager
def _one_line_errors(command: argparse.ArgumentParser) -> Iterator[None]:
    """End the command with one line, ``PROG: error: MESSAGE``, and exit status 2 (as for a
    wrong argument) when the database it names cannot be used: the library's own errors
    (a server that is down or refuses the connection, an SQLite file that cannot be opened,
    a role that does not exist), the file system's (a folder that does not exist) and the
    PostgreSQL server's refusal of a statement (a role that may not migrate)."""
    from asolora_core.errors import AsoloraError

    try:
        yield
    except AsoloraError as exc:
        _fail(command, exc.message)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _fail(command, f"{exc.strerror or exc}{where}")
    except Exception as exc:
        # the server's own refusal of a statement (migrating as a role that may not, e.g.):
        # its message and the note the store added say what to do
        if not type(exc).__module__.startswith("psycopg"):
            raise
        _fail(command, "; ".join([str(exc), *getattr(exc, "__notes__", [])]))


def _fail(command: argparse.ArgumentParser, message: str) -> NoReturn:
    command.exit(2, f"{command.prog}: error: {' '.join(message.split())}\n")


if __name__ == "__main__":
    sys.exit(main())
