"""``python -m asolora_core demo [--db PATH]``: run the demo (see :mod:`asolora_core._demo`)."""

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
    args = parser.parse_args(argv)
    from asolora_core._demo import run_demo

    run_demo(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
