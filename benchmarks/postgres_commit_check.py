"""What the journal's COMMIT-time balance check costs the PostgreSQL server, the schema's
last step against the one before (step 12, the check in one statement, against step 11, two
statements per journal transaction), interleaved round by round on the same server. Not part
of ``run.py``; run it by hand::

    python benchmarks/postgres_commit_check.py              # raw batches
    python benchmarks/postgres_commit_check.py --sweep 4000 # sweep batches via the facade

* raw batches: on a schema at each step (and one at the last step with the noting triggers
  switched off: the cost of the journal rows alone), ``--batches`` transactions each inserting
  ``--size`` journal transactions of 4 balanced entries in two ``INSERT ... SELECT``
  statements, then ``COMMIT``. Reported: the backend's CPU time per transaction (user +
  system, from ``/proc``, so the server must run on this machine) and the part of it spent in
  the ``COMMIT`` (the deferred check), medians over ``--rounds`` rounds.
* ``--sweep N``: N due orders seeded as ``postgres_bench`` seeds them, released by one
  ``run_due`` worker on a connection of this process; the backend's CPU time and this
  process's CPU time per sweep batch of 200 releases, medians over the rounds.

The DSN is the one ``postgres_bench`` uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import postgres_bench as pb

from asolora_core.adapters import postgres as pg

_TICK = os.sysconf("SC_CLK_TCK")
_ALL = list(pg.MIGRATIONS)
_TXNS = (
    "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, prev_hash, "
    "hash) SELECT s, 'k' || s, 'release', now(), 'v', 'o' || s, NULL, '{}', 'x', 'h' || s "
    "FROM generate_series(%(a)s::bigint, %(b)s) s"
)
_ENTRIES = (
    "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor) "
    "SELECT s, n, 'acct:' || n, NULL, 'k', 'EUR', (ARRAY[100, -60, -30, -10])[n + 1] "
    "FROM generate_series(%(a)s::bigint, %(b)s) s, generate_series(0, 3) n"
)


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _schema_at(steps: int, *, noting: bool = True) -> str:
    import psycopg

    name = pb._schema()
    with psycopg.connect(pb.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
        conn.execute(f'SET search_path = "{name}"')
        with conn.transaction():
            for script in _ALL[:steps]:
                for statement in pg._statements(script):
                    conn.execute(statement)
            if not noting:
                conn.execute("ALTER TABLE ledger_txns DISABLE TRIGGER ledger_txns_noted")
                conn.execute("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_noted")
    return name


def raw_batches(schema: str, start: int, size: int, batches: int) -> tuple[float, float]:
    """(server ms per transaction, of which in the COMMIT)."""
    import psycopg

    with psycopg.connect(pb.dsn(), autocommit=True, options=f"-c search_path={schema}") as conn:
        pid = conn.info.backend_pid
        begun, in_commit = _cpu(pid), 0.0
        for b in range(batches):
            a = start + b * size
            conn.execute("BEGIN")
            conn.execute(_TXNS, {"a": a, "b": a + size - 1})
            conn.execute(_ENTRIES, {"a": a, "b": a + size - 1})
            before = _cpu(pid)
            conn.execute("COMMIT")
            in_commit += _cpu(pid) - before
        return (_cpu(pid) - begun) / batches * 1e3, in_commit / batches * 1e3


def sweep(steps: int, n: int) -> tuple[float, float]:
    """(server ms, worker Python ms) per sweep batch of 200 releases of ``n`` due orders."""
    import psycopg
    from ledger_bench import FEES, HOLD, START

    from asolora_core import FakeClock, Marketplace, MarketplaceConfig, UuidIds
    from asolora_core.fx import FixedRateProvider
    from asolora_core.ledger.model import MoneyConfig

    pg.MIGRATIONS[:] = _ALL[:steps]  # seed() migrates the schema it creates this far
    schema = pb._schema()
    try:
        pb.seed(schema, n)
        options = f"-c search_path={schema} -c timezone=UTC"
        with psycopg.connect(pb.dsn(), autocommit=True, options=options) as conn:
            store = pg.PostgresStore(connection=conn, migrate=False)
            rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
            market = Marketplace(
                store,
                clock=FakeClock(START + HOLD),
                ids=UuidIds(),
                config=MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates)),
            )
            pid = conn.info.backend_pid
            server, python = _cpu(pid), time.process_time()
            while market.run_due().timers:
                pass
            batches = -(-n // pb.SWEEP_BATCH)
            return (
                (_cpu(pid) - server) / batches * 1e3,
                (time.process_time() - python) / batches * 1e3,
            )
    finally:
        pg.MIGRATIONS[:] = _ALL
        pb._drop(schema)


def _report(results: dict[str, list[tuple[float, float]]], labels: tuple[str, str]) -> None:
    for variant, rows in results.items():
        first = statistics.median(r[0] for r in rows)
        second = statistics.median(r[1] for r in rows)
        spread = sorted(round(r[0], 1) for r in rows)
        print(f"{variant:22} {labels[0]} {first:7.2f} ms {spread}; {labels[1]} {second:7.2f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=200, help="journal transactions a batch")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--sweep", type=int, default=0, help="due orders (sweep mode)")
    args = parser.parse_args(argv)
    last = len(_ALL)
    results: dict[str, list[tuple[float, float]]] = {}
    if args.sweep:
        for r in range(args.rounds):
            for steps in (last - 1, last) if r % 2 else (last, last - 1):
                results.setdefault(f"step {steps}", []).append(sweep(steps, args.sweep))
        _report(results, ("server/batch", "worker Python/batch"))
        return
    schemas = {
        "no noting triggers": _schema_at(last, noting=False),
        f"step {last - 1}": _schema_at(last - 1),
        f"step {last}": _schema_at(last),
    }
    try:
        for r in range(args.rounds):
            for variant, schema in schemas.items():
                start = 1_000_000 * (r + 1)
                row = raw_batches(schema, start, args.size, args.batches)
                results.setdefault(variant, []).append(row)
    finally:
        for schema in schemas.values():
            pb._drop(schema)
    _report(results, ("server/txn", "of which COMMIT"))


if __name__ == "__main__":
    main()
