"""``python -m asolora_core demo [--db PATH]``: run the demo (see :mod:`asolora_core._demo`).
``python -m asolora_core migrate --dsn DSN``: bring a database's schema up to date (see
:func:`asolora_core.migrations.migrate`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asolora_core")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a store's orders through the whole lifecycle")
    demo.add_argument(
        "--db",
        default="asolora-demo.db",
        help="SQLite file to write (replaced if it exists; ':memory:' for none)",
    )
    mig = sub.add_parser("migrate", help="apply the schema steps a database has not had yet")
    mig.add_argument(
        "--dsn", required=True, help="postgresql://user@host/db, or a SQLite file path"
    )
    mig.add_argument("--schema", default=None, help="PostgreSQL schema (default: search_path)")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        from asolora_core.migrations import migrate

        version = migrate(args.dsn, schema=args.schema)
        print(f"schema at version {version}")
        return 0
    from asolora_core._demo import run_demo

    run_demo(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
