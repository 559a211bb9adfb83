"""Where several PostgreSQL sweep workers lose time (``release_4w_vs_2w``). Not
part of ``run.py``; run it by hand::

    python benchmarks/postgres_workers_check.py --orders 4000 --rounds 3 --workers 2 4

For each round and worker count (interleaved: 2, 4, 2, 4, ...), N due orders are seeded as
``postgres_bench`` seeds them and released by that many worker processes at once. Reported per
figure, medians over the rounds:

* ``rel/s``: releases per second (wall clock: noisy on a shared machine);
* ``cpu ms/rel``: worker Python CPU plus the workers' server backends' CPU (``/proc``, so the
  server must run on this machine) per release, and the two parts;
* ``put-back %``: releases put back because another worker held their vendor, of those claimed;
* ``head wait`` / ``head held``: seconds in all, over the workers, spent waiting for the
  journal head's ``FOR UPDATE`` and holding it (from its lock to the end of the ``COMMIT``),
  and the mean time held per batch;
* ``waits``: ``pg_stat_activity`` samples (every 10 ms) of the workers' backends by wait event.

The DSN is the one ``postgres_bench`` uses.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import postgres_bench as pb


def _cpu(pid: int) -> float:
    """Seconds of CPU the process ``pid`` has run (``/proc``'s scheduler statistics, in ns)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def _worker(schema: str, ready: Any, go: Any, out: Any) -> None:
    from ledger_bench import FEES, HOLD, START

    from asolora_core import FakeClock, Marketplace, MarketplaceConfig, UuidIds
    from asolora_core.adapters import postgres_ledger as pl
    from asolora_core.adapters.postgres import PostgresStore, PostgresUnitOfWork
    from asolora_core.fx import FixedRateProvider
    from asolora_core.ledger.model import MoneyConfig

    stats = {"wait": 0.0, "held": 0.0, "held_cpu": 0.0, "batches": 0, "claimed": 0, "deferred": 0}
    locked_at: list[tuple[float, float]] = []
    backend: list[int] = []
    lock_head = pl.PostgresLedger._lock_head

    def timed_lock(self: Any) -> tuple[int, str]:
        if self._head is None:
            t0 = time.perf_counter()
            got = lock_head(self)
            t1 = time.perf_counter()
            stats["wait"] += t1 - t0
            locked_at.append((t1, time.thread_time() + _cpu(backend[0])))
            return got
        return lock_head(self)

    commit = PostgresUnitOfWork.commit

    def timed_commit(self: Any) -> None:
        try:
            commit(self)
        finally:
            if locked_at:
                t1, c1 = locked_at.pop()
                stats["held"] += time.perf_counter() - t1
                stats["held_cpu"] += time.thread_time() + _cpu(backend[0]) - c1
                stats["batches"] += 1

    pl.PostgresLedger._lock_head = timed_lock  # type: ignore[method-assign]
    PostgresUnitOfWork.commit = timed_commit  # type: ignore[method-assign]

    store = PostgresStore(pb.dsn(), schema=schema, migrate=False)
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=START)
    market = Marketplace(
        store,
        clock=FakeClock(START + HOLD),
        ids=UuidIds(),
        config=MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates)),
    )
    run_timers = market._run_timers

    def counted(uow: Any, timers: Any, at: Any) -> Any:
        done, deferred = run_timers(uow, timers, at)
        stats["claimed"] += len(timers)
        stats["deferred"] += deferred
        return done, deferred

    market._run_timers = counted  # type: ignore[method-assign]
    with store.connection() as conn:
        pid = conn.info.backend_pid
    backend.append(pid)
    with store.unit_of_work() as uow:
        uow.ledger.head()
    ready.put(pid)
    go.wait()
    server, python = _cpu(pid), time.process_time()
    while market.run_due().timers:
        pass
    stats["server"] = _cpu(pid) - server
    stats["python"] = time.process_time() - python
    store.close()
    out.put(stats)


def one(n: int, workers: int) -> dict[str, Any]:
    import psycopg

    schema = pb._schema()
    pb.seed(schema, n)
    try:
        ctx = mp.get_context("fork")
        ready, out = ctx.Queue(), ctx.Queue()
        go = ctx.Barrier(workers + 1)
        procs = [ctx.Process(target=_worker, args=(schema, ready, go, out)) for _ in range(workers)]
        for p in procs:
            p.start()
        pids = [ready.get() for _ in procs]
        waits: collections.Counter[str] = collections.Counter()
        stop = threading.Event()

        def sample() -> None:
            with psycopg.connect(pb.dsn(), autocommit=True) as conn:
                while not stop.is_set():
                    for ev, state in conn.execute(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu'), state "
                        "FROM pg_stat_activity WHERE pid = ANY(%s)",
                        (pids,),
                    ):
                        waits[ev if state != "idle" else "idle(worker side)"] += 1
                    time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        go.wait()
        started = time.perf_counter()
        stats = [out.get() for _ in procs]
        elapsed = time.perf_counter() - started
        for p in procs:
            p.join()
        stop.set()
        sampler.join()
    finally:
        pb._drop(schema)
    total = {k: sum(s[k] for s in stats) for k in stats[0]}
    return {
        "rate": n / elapsed,
        "cpu": (total["server"] + total["python"]) / n * 1e3,
        "server": total["server"] / n * 1e3,
        "python": total["python"] / n * 1e3,
        "putback": 100 * total["deferred"] / max(1, total["claimed"]),
        "wait": total["wait"],
        "held": total["held"],
        "held_per_batch": total["held"] / max(1, total["batches"]) * 1e3,
        "held_cpu_per_batch": total["held_cpu"] / max(1, total["batches"]) * 1e3,
        "batches": total["batches"],
        "elapsed": elapsed,
        "waits": dict(waits.most_common(6)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args(argv)
    results: dict[int, list[dict[str, Any]]] = {w: [] for w in args.workers}
    for r in range(args.rounds):
        for w in args.workers:
            res = one(args.orders, w)
            results[w].append(res)
            print(
                f"round {r} {w}w: "
                + ", ".join(
                    f"{k}={v}" if isinstance(v, dict) else f"{k}={v:.2f}" for k, v in res.items()
                ),
                flush=True,
            )
    for w, rs in results.items():
        med = {k: statistics.median(x[k] for x in rs) for k in rs[0] if k != "waits"}
        print(
            f"{w}w median: rel/s {med['rate']:.0f}  cpu ms/rel {med['cpu']:.3f} "
            f"(server {med['server']:.3f}, python {med['python']:.3f})  "
            f"put-back {med['putback']:.1f} %  head wait {med['wait']:.2f} s  "
            f"held {med['held']:.2f} s ({med['held_per_batch']:.1f} ms/batch, "
            f"{med['batches']:.0f} batches; CPU under it {med['held_cpu_per_batch']:.1f} ms/batch)"
            f"  elapsed {med['elapsed']:.2f} s"
        )


if __name__ == "__main__":
    main()
