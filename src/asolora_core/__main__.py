"""``python -m asolora_core demo``: a month of a marketplace (see :mod:`asolora_core._demo`).

Options: ``--orders N`` (default 80), ``--seed S`` (default 7; the same seed gives the same
month), ``--db PATH`` (the SQLite file, replaced; ``:memory:`` for none) and ``--json``
(print the figures as JSON instead of the report). The progress bar goes to stderr.

``python -m asolora_core migrate --dsn DSN [--schema S] [--grant-to ROLE]``: bring a
database's schema up to date and (PostgreSQL) grant the application's role what it needs
(see :func:`asolora_core.migrations.migrate`).

The ``asolora-demo`` command the package installs is ``python -m asolora_core demo``: it takes
the demo's options (``asolora-demo --orders 20 --quiet``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


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

    parser = argparse.ArgumentParser(prog="python -m asolora_core")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="simulate a month of a marketplace on a SQLite file", prog=demo_prog
    )
    demo.add_argument(
        "--db",
        default="asolora-demo.db",
        help="SQLite file to write (replaced if it exists; ':memory:' for none)",
    )
    demo.add_argument(
        "--orders",
        type=int,
        default=DEFAULT_ORDERS,
        help="orders to simulate (default %(default)s)",
    )
    demo.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)"
    )
    demo.add_argument(
        "--json", action="store_true", help="print the month's figures as JSON (stable bytes)"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    mig = sub.add_parser("migrate", help="apply the schema steps a database has not had yet")
    mig.add_argument(
        "--dsn", required=True, help="postgresql://user@host/db, or a SQLite file path"
    )
    mig.add_argument("--schema", default=None, help="PostgreSQL schema (default: search_path)")
    mig.add_argument(
        "--grant-to",
        default=None,
        metavar="ROLE",
        help="PostgreSQL: grant this application role exactly what the library needs",
    )
    args = parser.parse_args(argv)
    if args.command == "migrate":
        from asolora_core.migrations import migrate

        version = migrate(args.dsn, schema=args.schema, grant_to=args.grant_to)
        granted = "" if args.grant_to is None else f"; {args.grant_to} granted"
        print(f"schema at version {version}{granted}")
        return 0
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    from asolora_core._demo import main_json, run_demo

    lines: list[str] = []
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


if __name__ == "__main__":
    sys.exit(main())
