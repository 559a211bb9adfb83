"""PostgreSQL benchmarks (sweep workers sharing one server), used by ``run.py``'s
``postgres`` section.

* ``release_{1,2,4}w_per_s``: due releases per second when 1, 2 or 4 worker processes run
  ``Marketplace.run_due`` at once over N due orders (100,000; 2,000 with ``--quick``), half
  the vendors paid in GBP. Each figure on a fresh schema, seeded in bulk with ``COPY`` (holds,
  their capture and fee transactions, the release timers); the clock starts when every worker
  is connected and stops when the last one is done. With ``--quick`` each figure is the best
  of three interleaved rounds (1, 2, 4 workers, three times). The seeded tables are
  analyzed (``ANALYZE``) after the load, as autovacuum would (the test server runs without it).
* ``release_1w_growth``: with one worker, the mean time of the last tenth of its sweep
  batches over that of the first tenth (the median over the rounds): 1.0 when a release
  costs the same at the end of the sweep as at its start. With ``--quick`` (ten batches) it
  compares one batch with one, so it is noisy; the full run's is the figure to read.
* ``raw_rows_per_s``: the journal rows those releases wrote (one ``ledger_txns`` row plus its
  ``ledger_entries`` rows each) loaded with a plain ``COPY`` into tables without indexes or
  triggers: the server's limit for these rows.
* ``lifecycle_per_s``: the 13-command order lifecycle of the ``lifecycle`` section through the
  facade on PostgreSQL; ``raw_commits_per_s``: a loop of one-row ``INSERT`` transactions on
  the same server; ``lifecycle_commit_share`` is (lifecycles x 13) / raw commits.

The DSN is ``ASOLORA_BENCH_POSTGRES_DSN``, else ``ASOLORA_TEST_POSTGRES_DSN``, else the local
test server; with no server reachable every figure is ``null``.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import time
import uuid
from typing import Any

from asolora_core import FakeClock
from asolora_core.ledger import core
from asolora_core.ledger.integrity import sealed as sealed_record
from asolora_core.ledger.model import GENESIS_HASH, VendorAccount, seal

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
COMMANDS_PER_LIFECYCLE = 13
QUICK_ROUNDS = 3
SWEEP_BATCH = 200  # MarketplaceConfig.sweep_batch's default, which the workers use


def dsn() -> str:
    return (
        os.environ.get("ASOLORA_BENCH_POSTGRES_DSN")
        or os.environ.get("ASOLORA_TEST_POSTGRES_DSN")
        or DEFAULT_DSN
    )


def _reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn(), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _schema() -> str:
    return f"bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def seed(schema: str, n: int, vendors: int = 1_000) -> None:
    """N completed orders due at START + 168 h, loaded with COPY (the journal's own triggers
    are switched off for the load: the rows are built and sealed by the library's core)."""
    import psycopg
    from ledger_bench import FEES, HOLD, START
    from psycopg.types.json import Jsonb

    from asolora_core.adapters import postgres_ledger as pl
    from asolora_core.adapters.postgres import PostgresStore, _enc_timer
    from asolora_core.ports import Timer

    PostgresStore(dsn(), schema=schema).close()  # creates and migrates the schema
    txn_rows: list[tuple[Any, ...]] = []
    entry_rows: list[tuple[Any, ...]] = []
    hold_rows: list[tuple[Any, ...]] = []
    timer_rows: list[tuple[Any, ...]] = []
    totals: dict[tuple[str, str], list[Any]] = {}
    seq, prev = 0, GENESIS_HASH
    for i in range(n):
        hold, capture = core.capture(
            order_id=f"o-{i}",
            vendor_id=f"v-{i % vendors}",
            currency="EUR",
            paid_minor=10_000 + i % 500,
            at=START,
        )
        hold, fees = core.complete(hold, fees=FEES, completed_at=START, hold_period=HOLD)
        hold = sealed_record(hold, None)  # sealed as the facade stores it (R42)
        for txn in (capture, fees):
            if txn is None:
                continue
            seq += 1
            sealed = seal(txn, seq, prev)
            prev = sealed.hash
            txn_rows.append(
                (
                    seq,
                    sealed.key,
                    sealed.kind,
                    sealed.at,
                    sealed.vendor_id,
                    sealed.order_id,
                    sealed.ref,
                    Jsonb(sealed.memo),
                    sealed.prev_hash,
                    sealed.hash,
                )
            )
            for k, e in enumerate(sealed.entries):
                entry_rows.append(
                    (seq, k, e.account, e.vendor_id, e.kind, e.currency, e.amount_minor)
                )
                t = totals.setdefault((e.account, e.currency), [e.vendor_id, e.kind, 0, 0, 0])
                t[2] += e.amount_minor
                t[3 if e.amount_minor > 0 else 4] += e.amount_minor
        assert hold.release_at is not None
        hold_rows.append(
            (
                hold.order_id,
                hold.version,
                hold.vendor_id,
                hold.currency,
                hold.paid_minor,
                hold.refunded_minor,
                False,
                hold.release_at,
                Jsonb(pl._enc_hold(hold)),
            )
        )
        timer = Timer(
            timer_id=f"release:{hold.order_id}",
            kind="release",
            aggregate_id=hold.order_id,
            ref="",
            due_at=hold.release_at,
        )
        timer_rows.append((timer.timer_id, timer.kind, timer.due_at, Jsonb(_enc_timer(timer))))
    vendor_rows = []
    for v in range(vendors):
        account = sealed_record(
            VendorAccount(
                vendor_id=f"v-{v}",
                version=1,
                payout_currency="GBP" if v % 2 else "EUR",
                registered_at=START,
                updated_at=START,
            ),
            None,
        )
        vendor_rows.append(
            (account.vendor_id, 1, account.payout_currency, Jsonb(pl._enc_vendor(account)))
        )
    tables: list[tuple[str, list[tuple[Any, ...]]]] = [
        ("ledger_vendors (vendor_id, version, payout_currency, body)", vendor_rows),
        (
            "ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, prev_hash, hash)",
            txn_rows,
        ),
        (
            "ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor)",
            entry_rows,
        ),
        (
            "ledger_holds (order_id, version, vendor_id, currency, paid_minor, refunded_minor, "
            "released, release_at, body)",
            hold_rows,
        ),
        ("timers (timer_id, kind, due_at, body)", timer_rows),
        (
            "ledger_totals (account, currency, vendor_id, kind, total_minor, debits_minor, "
            "credits_minor)",
            [(a, c, *v) for (a, c), v in totals.items()],
        ),
    ]
    with psycopg.connect(dsn(), options=f"-c search_path={schema} -c timezone=UTC") as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        with conn.cursor() as cur:
            for target, rows in tables:
                with cur.copy(f"COPY {target} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.execute("UPDATE ledger_head SET seq = %s, hash = %s", (seq, prev))
        conn.commit()
        # statistics for the loaded tables, as autovacuum gathers them after a bulk load (the
        # test server runs with autovacuum off): without them the planner guesses the journal
        # is a few rows and joins it whole on every batch, so a batch costs in proportion to
        # the journal's size (about 3x slower a release at 100,000 orders than at 20,000)
        for target, _ in tables:
            conn.execute(f"ANALYZE {target.split()[0]}")
        conn.commit()


def _worker(schema: str, ready: Any, go: Any, marks: Any = None) -> None:
    from ledger_bench import FEES, HOLD, START

    from asolora_core import Marketplace, MarketplaceConfig, UuidIds
    from asolora_core.adapters.postgres import PostgresStore, PostgresUnitOfWork
    from asolora_core.fx import FixedRateProvider
    from asolora_core.ledger.model import MoneyConfig

    started: list[float] = []

    class _MarkedStore(PostgresStore):
        """Notes when each unit of work starts (a sweep batch each, after the start)."""

        def unit_of_work(self) -> PostgresUnitOfWork:
            started.append(time.perf_counter())
            return super().unit_of_work()

    store = _MarkedStore(dsn(), schema=schema, migrate=False)
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    market = Marketplace(
        store,
        clock=FakeClock(START + HOLD),
        ids=UuidIds(),  # workers in parallel: ids that never collide
        config=MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates)),
    )
    with store.unit_of_work() as uow:  # connect before the clock starts
        uow.ledger.head()
    ready.wait()
    go.wait()
    started.clear()
    while market.run_due().timers:
        pass
    store.close()
    if marks is not None:
        marks.send(started)


def growth(starts: list[float], batches: int) -> float:
    """The mean time of the last tenth of ``batches`` sweep batches over that of the first
    tenth (at least one each), from the start times of the worker's units of work (each
    batch's ends where the next unit of work starts): 1.0 when a release costs the same at
    the end of the sweep as at its start."""
    times = [b - a for a, b in itertools.pairwise(starts)][:batches]
    k = max(1, len(times) // 10)
    return (sum(times[-k:]) / k) / (sum(times[:k]) / k)


def release_rate(n: int, workers: int) -> tuple[float, str, float | None]:
    """(releases per second with ``workers`` processes, the schema they ran on, and with one
    worker the growth of its batches' time over the sweep: see :func:`growth`)."""
    schema = _schema()
    seed(schema, n)
    ctx = mp.get_context("fork")
    ready, go = ctx.Barrier(workers + 1), ctx.Barrier(workers + 1)
    receiver, sender = ctx.Pipe(duplex=False)
    procs = [
        ctx.Process(target=_worker, args=(schema, ready, go, sender if workers == 1 else None))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    ready.wait()
    go.wait()
    started = time.perf_counter()
    starts: list[float] | None = receiver.recv() if workers == 1 else None
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    receiver.close()
    sender.close()
    import psycopg

    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        row = conn.execute("SELECT count(*) FROM ledger_txns WHERE kind = 'release'").fetchone()
    done = int(row[0]) if row else 0
    if done != n:
        raise RuntimeError(f"{done} of {n} orders released")
    batches = -(-n // SWEEP_BATCH)
    return done / elapsed, schema, None if starts is None else growth(starts, batches)


def raw_rows_rate(schema: str) -> tuple[float, float]:
    """(journal rows per second for a plain COPY of the release transactions of ``schema``,
    rows per release)."""
    import psycopg

    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        txns = conn.execute(
            "SELECT seq, key, kind, at, vendor_id, order_id, ref, memo::text, prev_hash, hash "
            "FROM ledger_txns WHERE kind = 'release'"
        ).fetchall()
        entries = conn.execute(
            "SELECT e.seq, e.n, e.account, e.vendor_id, e.kind, e.currency, e.amount_minor "
            "FROM ledger_entries e JOIN ledger_txns t USING (seq) WHERE t.kind = 'release'"
        ).fetchall()
        conn.execute(
            "CREATE TABLE raw_txns (seq bigint, key text, kind text, at timestamptz, "
            "vendor_id text, order_id text, ref text, memo jsonb, prev_hash text, hash text)"
        )
        conn.execute(
            "CREATE TABLE raw_entries (seq bigint, n integer, account text, vendor_id text, "
            "kind text, currency text, amount_minor bigint)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY raw_txns FROM STDIN") as copy:
                for row in txns:
                    copy.write_row(row)
            with cur.copy("COPY raw_entries FROM STDIN") as copy:
                for row in entries:
                    copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
    rows = len(txns) + len(entries)
    return rows / elapsed, rows / max(1, len(txns))


def lifecycle_rate(n: int) -> float:
    from facade_lifecycle import _lifecycles

    from asolora_core.adapters.postgres import PostgresStore

    schema = _schema()
    store = PostgresStore(dsn(), schema=schema)
    try:
        started = time.perf_counter()
        _lifecycles(store, n)
        return n / (time.perf_counter() - started)
    finally:
        store.close()
        _drop(schema)


def raw_commit_rate(n: int) -> float:
    import psycopg

    schema = _schema()
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".t (id bigint PRIMARY KEY, body text)')
        started = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN")
            conn.execute(f'INSERT INTO "{schema}".t VALUES (%s, %s)', (i, "x"))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
    _drop(schema)
    return n / elapsed


def run(quick: bool) -> dict[str, Any]:
    n = 2_000 if quick else 100_000
    if not _reachable():
        return {"note": f"no PostgreSQL at {dsn()}: figures not measured", "due_orders": n}
    rates: dict[int, float] = {}
    growths: list[float] = []
    raw = rows_per_release = 0.0
    # a quick run's sweeps last a second or two, a busy machine's hiccup is a large part of
    # that: each figure is the best of three rounds, the rounds interleaved (1, 2, 4 workers,
    # then again) so that a slow spell slows every worker count alike
    for _ in range(QUICK_ROUNDS if quick else 1):
        for workers in (1, 2, 4):
            rate, schema, grew = release_rate(n, workers)
            rates[workers] = max(rates.get(workers, 0.0), rate)
            if grew is not None:
                growths.append(grew)
            if workers == 1 and not raw:
                raw, rows_per_release = raw_rows_rate(schema)
            _drop(schema)
    lifecycles = lifecycle_rate(30 if quick else 300)
    commits = raw_commit_rate(2_000 if quick else 20_000)
    return {
        "due_orders": n,
        "note": (
            "quick: 2,000 due orders (the full run uses 100,000)" if quick else "100,000 due orders"
        ),
        "release_1w_per_s": round(rates[1], 1),
        "release_2w_per_s": round(rates[2], 1),
        "release_4w_per_s": round(rates[4], 1),
        "raw_rows_per_s": round(raw, 1),
        "lifecycle_per_s": round(lifecycles, 2),
        "raw_commits_per_s": round(commits, 1),
        "ratios": {
            "release_1w_rows_vs_raw_rows": round(rates[1] * rows_per_release / raw, 4),
            "release_4w_rows_vs_raw_rows": round(rates[4] * rows_per_release / raw, 4),
            "release_2w_vs_1w": round(rates[2] / rates[1], 3),
            "release_4w_vs_2w": round(rates[4] / rates[2], 3),
            "release_1w_growth": round(sorted(growths)[len(growths) // 2], 3),
            "lifecycle_commit_share": round(lifecycles * COMMANDS_PER_LIFECYCLE / commits, 4),
        },
    }
