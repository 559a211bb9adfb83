"""Benchmark harness: ``python benchmarks/run.py [--quick] [--json]``.

Without ``--json`` it prints a readable table; with ``--json`` stdout carries exactly one JSON
object and nothing else (progress and notes go to stderr):

    {"lifecycle": {"memory_per_s": ..., "memory_idem_per_s": ..., "sqlite_per_s": ...,
                   "sqlite_commits_per_s": ..., "sqlite_replay_commits_per_s": ...,
                   "dict_baseline_per_s": ..., "transitions_per_s": ...,
                   "transitions_shared_per_s": ..., "statemachine_per_s": ...,
                   "statements_per_lifecycle": ..., "sqlite_bytes_per_order": ...,
                   "memory_bytes_per_order": ..., ...,
                   "ratios": {"memory_vs_transitions": ..., "memory_vs_transitions_shared": ...,
                              "memory_idem_vs_memory": ..., "sqlite_commits_vs_replay": ...,
                              ...},
                   "aims": {"memory_vs_transitions": {"measured": ..., "aim": ">= 3",
                                                      "met": bool}, ...}},
     "reports": {"rollup_rebuild_s": ..., "sales_s": ..., "bestsellers_s": ...,
                 "sales_raw_sql_s": ..., "bestsellers_raw_sql_s": ..., "sales_memory_s": ...,
                 "sales_python_loop_s": ..., "lifecycle_with_rollups_per_s": ...,
                 "lifecycle_without_rollups_per_s": ..., "ratios": {...}},
     "ledger": {"release_memory_per_s": ..., "release_sqlite_per_s": ...,
                "raw_sqlite_release_txns_per_s": ..., "release_sqlite_replay_per_s": ...,
                "release_sqlite_statements_per_release": ..., "one_vendor_growth": ...,
                "one_vendor_growth_memory": ..., "balance_ms": ..., "ratios": {...}},
     "web": {"commands_per_s": ..., "lock_wait_p50_ms": ..., "lock_wait_p99_ms": ...,
             "lock_wait_max_ms": ..., "unfair_lock_wait_p99_ms": ...,
             "bytes_per_lifecycle": ..., "bytes_per_lifecycle_before_retention": ..., ...},
     "import_ms": ..., "import_cpu_ms": ..., "aims": {"lifecycle.memory_vs_transitions": {...}, ...,
                                "import_ms": {...}},
     "python": "3.11.x", "quick": bool}

Every lifecycle key is described in ``lifecycle_section`` and in docs/benchmarks.md.

A figure that cannot be measured (facade not written yet, package not importable) is ``null``.

Timing: each candidate is calibrated (batch size grown until one batch takes about
``target_s``; those runs double as warm-up), then warmed up once more at the final batch size,
then timed over ``repeats`` batches with ``time.perf_counter``; the reported rate is the best
batch (``n / min(elapsed)``), the median goes to stderr as a noise indicator. No figure is
asserted against a threshold anywhere: these are measurements, not tests.

Sections are functions ``(quick: bool) -> dict`` registered in ``SECTIONS``; a new section
(e.g. a "ledger" one) is one function plus one line there. In the table, every ``*_per_s`` key
of a section is a row and its ``ratios`` dict is listed below it.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

BENCH_DIR = Path(__file__).resolve().parent
SRC_DIR = Path(__file__).resolve().parents[1] / "src"
for _p in (str(SRC_DIR), str(BENCH_DIR)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import baselines  # noqa: E402  (needs BENCH_DIR on sys.path)

if TYPE_CHECKING:
    import sqlite_replay

Json: TypeAlias = "bool | int | float | str | list[Json] | dict[str, Json] | None"
Section: TypeAlias = Callable[[bool], dict[str, Json]]


def note(message: str) -> None:
    """Progress and notes: always stderr, so ``--json`` keeps stdout to one JSON object."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    target_s: float  # wanted duration of one timed batch
    repeats: int  # timed batches per candidate; the best one is reported
    max_n: int  # cap on the batch size


QUICK = Budget(target_s=0.2, repeats=5, max_n=200_000)
FULL = Budget(target_s=0.5, repeats=7, max_n=5_000_000)

# A timed run: does ``n`` units of work and returns the seconds that count.
TimedRun: TypeAlias = Callable[[int], float]


@dataclass(frozen=True)
class Measurement:
    n: int
    best_s: float
    median_s: float

    @property
    def best_per_s(self) -> float:
        return self.n / self.best_s

    @property
    def median_per_s(self) -> float:
        return self.n / self.median_s


def timed(fn: Callable[[int], None]) -> TimedRun:
    """Time the whole call ``fn(n)``."""

    def run(n: int) -> float:
        start = time.perf_counter()
        fn(n)
        return time.perf_counter() - start

    return run


def _calibrate(run: TimedRun, budget: Budget) -> int:
    """Grow ``n`` until one batch takes a good share of ``target_s``; these runs warm up too."""
    n = 1
    while True:
        elapsed = run(n)
        if elapsed >= budget.target_s / 4 or n >= budget.max_n:
            break
        n = min(budget.max_n, n * 4 if elapsed < budget.target_s / 40 else n * 2)
    scaled = int(n * budget.target_s / elapsed) if elapsed > 0 else budget.max_n
    return max(1, min(budget.max_n, scaled))


def measure(run: TimedRun, budget: Budget) -> Measurement:
    n = _calibrate(run, budget)
    run(n)  # warm-up at the final batch size
    times: list[float] = []
    for _ in range(budget.repeats):
        gc.collect()  # same starting heap for each batch; the collector stays on while timing
        times.append(run(n))
    return Measurement(n=n, best_s=min(times), median_s=statistics.median(times))


def _rate(name: str, run: TimedRun, budget: Budget) -> float:
    m = measure(run, budget)
    spread = (m.best_per_s / m.median_per_s - 1.0) * 100.0
    note(
        f"  {name:<24} n={m.n:<8} best {m.best_per_s:>12,.1f}/s"
        f"  median {m.median_per_s:>12,.1f}/s  (best is {spread:.1f}% above median)"
    )
    return round(m.best_per_s, 1)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 4)


# ---------------------------------------------------------------------------------------------
# section: lifecycle
# ---------------------------------------------------------------------------------------------

#: Lifecycles behind the per-order sizes (``sqlite_bytes_per_order``, ``memory_bytes_per_order``).
_SIZE_ORDERS = {True: 500, False: 2_000}


def _facade_rate(name: str, make_run: Callable[[], TimedRun], budget: Budget) -> float | None:
    """Rate of a facade candidate, or None (with a note) while it is not written yet."""
    try:
        run = make_run()
        return _rate(name, run, budget)
    except (NotImplementedError, ImportError) as exc:
        note(f"  {name:<24} null: not available yet ({type(exc).__name__}: {exc})")
        return None


def _memory_run(keys: bool) -> TimedRun:
    """Lifecycles on a new ``InMemoryStore``; building the marketplace is not timed."""
    import facade_lifecycle

    from asolora_core import InMemoryStore

    def run(n: int) -> float:
        lifecycles = facade_lifecycle.Lifecycles(InMemoryStore(), keys=keys)
        start = time.perf_counter()
        lifecycles.run(n)
        return time.perf_counter() - start

    return run


@dataclass(frozen=True)
class _SqlitePair:
    """The facade on a SQLite file and the replay of its own SQL, timed in the same batches."""

    n: int  # lifecycles per batch
    facade_per_s: float  # lifecycles per second, best batch
    replay_per_s: float
    commits_per_lifecycle: float
    statements_per_lifecycle: float
    calls_per_lifecycle: float
    statements_by_kind: dict[str, float]


def _sqlite_pair(template: sqlite_replay.Template, budget: Budget) -> _SqlitePair:
    """Batches of ``n`` lifecycles, each on a fresh copy of a migrated empty file (copied and
    opened outside the timing): the facade (``SqliteStore``, its defaults), then the replay of
    the statements the facade ran for the same ``n`` lifecycles (``sqlite_replay``), one after
    the other in every round so that load on the machine hits both alike. ``n`` is calibrated
    on the facade; best batch of ``repeats`` for each."""
    import facade_lifecycle
    import sqlite_replay

    from asolora_core import SqliteStore

    recorder = sqlite_replay.Recorder(template)
    last_facade: list[str] = []

    def facade(n: int) -> float:
        path = template.fresh()
        store = SqliteStore(path)
        try:
            lifecycles = facade_lifecycle.Lifecycles(store)
            start = time.perf_counter()
            lifecycles.run(n)
            return time.perf_counter() - start
        finally:
            store.close()
            last_facade[:] = [path]

    last_replay: list[str] = []

    def replay(n: int) -> float:
        statements = recorder.first(n)
        path = template.fresh()
        conn = sqlite_replay.open_plain(path, template.settings)
        try:
            start = time.perf_counter()
            sqlite_replay.replay(conn, statements)
            return time.perf_counter() - start
        finally:
            conn.close()
            last_replay[:] = [path]

    n = _calibrate(facade, budget)
    facade(n)  # warm-up at the final batch size
    replay(n)  # (records the n lifecycles first)
    facade_rows = sqlite_replay.table_counts(last_facade[0])
    replay_rows = sqlite_replay.table_counts(last_replay[0])
    if facade_rows != replay_rows:
        raise RuntimeError(f"replay rows {replay_rows} differ from the facade's {facade_rows}")
    facade_s: list[float] = []
    replay_s: list[float] = []
    for _ in range(budget.repeats):
        gc.collect()
        facade_s.append(facade(n))
        gc.collect()
        replay_s.append(replay(n))
    recorded = recorder.statements[:n]
    traced = recorder.traced[:n]
    recorder.close()

    calls = sum(len(s) for s in recorded) / n
    executed = sum(len(params) if many else 1 for lc in recorded for _, params, many in lc) / n
    statements = sum(len(t) for t in traced) / n
    commits = sum(1 for lc in traced for sql in lc if sql.lstrip().upper().startswith("COMMIT"))
    kinds: dict[str, float] = {}
    for lc in traced:
        for sql in lc:
            word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            kinds[word] = kinds.get(word, 0.0) + 1.0 / n
    if statements != executed:
        note(
            f"  note: SQLite traced {statements:.1f} statements a lifecycle for {executed:.1f}"
            " executed rows (trigger programs are traced too)"
        )
    for name, times in (("sqlite (facade)", facade_s), ("sqlite replay", replay_s)):
        best, median = n / min(times), n / statistics.median(times)
        note(
            f"  {name:<24} n={n:<8} best {best:>12,.1f}/s  median {median:>12,.1f}/s"
            f"  (best is {(best / median - 1) * 100:.1f}% above median)"
        )
    return _SqlitePair(
        n=n,
        facade_per_s=n / min(facade_s),
        replay_per_s=n / min(replay_s),
        commits_per_lifecycle=commits / n,
        statements_per_lifecycle=statements,
        calls_per_lifecycle=calls,
        statements_by_kind={k: round(v, 2) for k, v in sorted(kinds.items())},
    )


def _num(value: Json) -> float | None:
    """A JSON figure as a float, or None when it was not measured."""
    return float(value) if isinstance(value, int | float) else None


def _aim(value: float | None, op: str, target: float) -> dict[str, Json]:
    """One aim (docs/benchmarks.md, "Aims"): the measured figure, the aim, and whether it is
    met (reported, never asserted)."""
    met = None if value is None else (value >= target if op == ">=" else value <= target)
    return {"measured": value, "aim": f"{op} {target:g}", "met": met}


def lifecycle_section(quick: bool) -> dict[str, Json]:
    """One order lifecycle (13 commands: ``baselines.MOVES_PER_LIFECYCLE``) through the facade
    against bare state-machine baselines, the facade on SQLite against its own SQL replayed,
    and what one order costs in statements, file and memory.

    Rates (``*_per_s``, best batch; set-up such as building the marketplace, creating and
    migrating the SQLite file is never timed):

    * ``memory_per_s``: lifecycles/s through ``Marketplace`` on ``InMemoryStore``;
    * ``memory_idem_per_s``: the same, every command with its own idempotency key;
    * ``sqlite_per_s``: lifecycles/s on a SQLite file (``SqliteStore`` defaults: WAL,
      ``synchronous=NORMAL``), one commit per command, on a fresh copy of an empty migrated
      file per batch;
    * ``sqlite_commits_per_s``: the same batches counted in commits/s (``sqlite_per_s`` x
      ``commits_per_lifecycle``, commits counted by SQLite's trace);
    * ``sqlite_replay_commits_per_s``: commits/s of the very statements the facade ran for
      those lifecycles, with their parameters, replayed with plain ``sqlite3`` and no library
      code: the same commits, the same file settings and pragmas, every result fetched; timed
      in the same rounds as the facade on the same number of lifecycles;
    * ``dict_baseline_per_s``, ``transitions_per_s``, ``transitions_shared_per_s``,
      ``statemachine_per_s``: lifecycles/s of the bare baselines (``baselines.py``: 13 moves,
      no money, no I/O).

    Sizes and counts:

    * ``statements_per_lifecycle``: statements SQLite runs for one lifecycle
      (``set_trace_callback``; ``BEGIN``/``COMMIT`` included, one per row of an
      ``executemany``), mean over the timed lifecycles; ``statements_by_kind`` splits it by
      first word; ``commits_per_lifecycle``;
    * ``sqlite_bytes_per_order``: file growth per order, ``(page_count - freelist_count) *
      page_size`` after ``sqlite_size_orders`` lifecycles minus the empty migrated file, over
      the orders; ``sqlite_bytes_by_table`` splits it (``dbstat``). State: completed orders,
      holds not released, notifications pending in the outbox, no idempotency records, no
      retention run;
    * ``memory_bytes_per_order``: Python heap each order keeps in ``InMemoryStore``
      (``tracemalloc``, after ``gc.collect()``), same state, ``memory_size_orders`` orders.

    ``ratios`` divide two rates of this run; ``aims`` holds this section's aims with the
    measured figure and whether it is met (nothing is asserted).
    """
    budget = QUICK if quick else FULL
    note(f"lifecycle ({baselines.MOVES_PER_LIFECYCLE} commands = state moves per lifecycle):")
    memory_per_s = _facade_rate("memory", lambda: _memory_run(False), budget)
    memory_idem_per_s = _facade_rate("memory_idem", lambda: _memory_run(True), budget)
    base: dict[str, float] = {
        name: _rate(name, timed(fn), budget) for name, fn in baselines.BASELINES.items()
    }

    import facade_lifecycle
    import sqlite_replay

    size_orders = _SIZE_ORDERS[quick]
    with tempfile.TemporaryDirectory(prefix="asolora-bench-") as tmp:
        template = sqlite_replay.Template(tmp)
        pair = _sqlite_pair(template, budget)
        bytes_per_order, bytes_by_table = sqlite_replay.bytes_per_order(template, size_orders)
    memory_bytes = facade_lifecycle.memory_bytes_per_order(size_orders)
    sqlite_per_s = round(pair.facade_per_s, 1)
    commits_per_s = round(pair.facade_per_s * pair.commits_per_lifecycle, 1)
    replay_commits_per_s = round(pair.replay_per_s * pair.commits_per_lifecycle, 1)
    note(
        f"  statements {pair.statements_per_lifecycle:.1f} a lifecycle"
        f" ({pair.calls_per_lifecycle:.1f} execute calls, {pair.commits_per_lifecycle:g} commits)"
        f"; file {bytes_per_order:,.0f} B and memory {memory_bytes:,.0f} B per order"
    )
    ratios: dict[str, Json] = {
        "memory_vs_transitions": _ratio(memory_per_s, base["transitions"]),
        "memory_vs_transitions_shared": _ratio(memory_per_s, base["transitions_shared"]),
        "memory_idem_vs_memory": _ratio(memory_idem_per_s, memory_per_s),
        "memory_vs_dict": _ratio(memory_per_s, base["dict_baseline"]),
        "sqlite_vs_transitions": _ratio(sqlite_per_s, base["transitions"]),
        "sqlite_commits_vs_replay": _ratio(commits_per_s, replay_commits_per_s),
    }

    def ratio(key: str) -> float | None:
        value = ratios[key]
        return value if isinstance(value, float) else None

    statements = round(pair.statements_per_lifecycle, 1)
    file_bytes = round(bytes_per_order, 1)
    memory_bytes_r = round(memory_bytes, 1)
    return {
        "memory_per_s": memory_per_s,
        "memory_idem_per_s": memory_idem_per_s,
        "sqlite_per_s": sqlite_per_s,
        "sqlite_commits_per_s": commits_per_s,
        "sqlite_replay_commits_per_s": replay_commits_per_s,
        "dict_baseline_per_s": base["dict_baseline"],
        "transitions_per_s": base["transitions"],
        "transitions_shared_per_s": base["transitions_shared"],
        "statemachine_per_s": base["statemachine"],
        "commands_per_lifecycle": baselines.MOVES_PER_LIFECYCLE,
        "commits_per_lifecycle": round(pair.commits_per_lifecycle, 2),
        "sqlite_batch_lifecycles": pair.n,
        "statements_per_lifecycle": statements,
        "statements_by_kind": dict(pair.statements_by_kind),
        "sqlite_bytes_per_order": file_bytes,
        "sqlite_bytes_by_table": dict(bytes_by_table) if bytes_by_table else None,
        "sqlite_size_orders": size_orders,
        "memory_bytes_per_order": memory_bytes_r,
        "memory_size_orders": size_orders,
        "ratios": ratios,
        "aims": {
            "memory_vs_transitions": _aim(ratio("memory_vs_transitions"), ">=", 3),
            "memory_vs_transitions_shared": _aim(ratio("memory_vs_transitions_shared"), ">=", 2),
            "memory_idem_vs_memory": _aim(ratio("memory_idem_vs_memory"), ">=", 0.8),
            "sqlite_commits_vs_replay": _aim(ratio("sqlite_commits_vs_replay"), ">=", 0.7),
            "statements_per_lifecycle": _aim(statements, "<=", 30),
            "sqlite_bytes_per_order": _aim(file_bytes, "<=", 5 * 1024),
            "memory_bytes_per_order": _aim(memory_bytes_r, "<=", 4 * 1024),
        },
    }


# ---------------------------------------------------------------------------------------------
# section: ledger
# ---------------------------------------------------------------------------------------------


def ledger_section(quick: bool) -> dict[str, Json]:
    """Releases per second of one sweep over 100,000 due orders (5,000 with --quick) on each
    store, the raw SQLite insert rate of the same journal rows, the sweep's own recorded SQL
    replayed with no library code, the growth of the per-release cost when one vendor has
    every due order, and one vendor's balance and statement time on a 100,000-entry journal.
    Single timed runs (a sweep consumes its timers), not calibrated batches; see
    ``ledger_bench``."""
    import ledger_bench

    note("ledger:")
    result: dict[str, Json] = dict(ledger_bench.run(quick))
    for key, value in result.items():
        note(f"  {key:<32} {value}")
    ratios = result.get("ratios")
    if isinstance(ratios, dict):  # the sweep's aims
        result["aims"] = {
            "sqlite_release_vs_replay": _aim(
                _num(ratios.get("sqlite_release_vs_replay")), ">=", 0.7
            ),
            "sqlite_release_vs_raw_txns": _aim(
                _num(ratios.get("sqlite_release_vs_raw_txns")), ">=", 0.35
            ),
            "one_vendor_growth": _aim(_num(result.get("one_vendor_growth")), "<=", 1.2),
        }
    return result


# ---------------------------------------------------------------------------------------------
# section: reports
# ---------------------------------------------------------------------------------------------


def reports_section(quick: bool) -> dict[str, Json]:
    """One vendor with 1,000,000 order lines over a year (20,000 with --quick) on a SQLite
    file: the library's rollup rebuild, sales and bestsellers against a hand-written GROUP BY
    with covering indexes; the in-memory report against a plain loop; the lifecycle with and
    without rollup upkeep. Single runs and best-of-N, not calibrated batches; see
    ``reports_bench``."""
    import reports_bench

    note("reports:")
    result: dict[str, Json] = dict(reports_bench.run(quick))
    for key, value in result.items():
        note(f"  {key:<32} {value}")
    return result


# ---------------------------------------------------------------------------------------------
# section: postgres
# ---------------------------------------------------------------------------------------------


def postgres_section(quick: bool) -> dict[str, Json]:
    """The release sweep on PostgreSQL with 1, 2 and 4 worker processes over 100,000 due
    orders (2,000 with --quick) next to a plain COPY of the same journal rows, and the facade
    lifecycle next to the server's raw one-row commit rate; see ``postgres_bench``."""
    import postgres_bench

    note("postgres:")
    result: dict[str, Json] = dict(postgres_bench.run(quick))
    for key, value in result.items():
        note(f"  {key:<32} {value}")
    ratios = result.get("ratios")
    if isinstance(ratios, dict):  # the PostgreSQL workers' aims
        result["aims"] = {
            "release_1w_rows_vs_raw_rows": _aim(
                _num(ratios.get("release_1w_rows_vs_raw_rows")), ">=", 0.2
            ),
            "release_2w_vs_1w": _aim(_num(ratios.get("release_2w_vs_1w")), ">=", 1.5),
            "release_4w_vs_2w": _aim(_num(ratios.get("release_4w_vs_2w")), ">=", 1.0),
        }
    return result


# ---------------------------------------------------------------------------------------------
# section: web
# ---------------------------------------------------------------------------------------------


def web_section(quick: bool) -> dict[str, Json]:
    """SQLite under a web server's load: 4 processes x 8 threads on one file, lock waits
    (p50/p99/max) and commands per second, with and without the fair writer queue; then bytes
    per lifecycle before and after retention. See ``web_bench``."""
    import web_bench

    note("web:")
    result: dict[str, Json] = dict(web_bench.run(quick))
    for key, value in result.items():
        note(f"  {key:<40} {value}")
    return result


# Add a section here: name -> function(quick) -> dict. Each becomes a top-level JSON key.
SECTIONS: dict[str, Section] = {
    "lifecycle": lifecycle_section,
    "ledger": ledger_section,
    "reports": reports_section,
    "web": web_section,
    "postgres": postgres_section,
}


# ---------------------------------------------------------------------------------------------
# import time
# ---------------------------------------------------------------------------------------------

_IMPORT_CODE = (
    "import sys, asolora_core\n"
    "sys.exit(0 if getattr(asolora_core, '__file__', None) else 3)\n"  # 3: namespace package
)


def _subprocess_s(code: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, proc


def _child_cpu_s() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_figures(repeats: int = 11) -> dict[str, Json]:
    """``import_ms`` and ``import_cpu_ms``: what ``import asolora_core`` adds to a fresh
    interpreter, bytecode cache warm.

    Each sample is a fresh subprocess: ``-c "import asolora_core"`` against ``-c "pass"``,
    ``repeats`` runs of each, the two kinds interleaved so that a burst of load on the shared
    machine hits both; ``src/`` is first on PYTHONPATH. ``import_ms`` is best wall time minus
    best wall time; ``import_cpu_ms`` the same with the children's CPU time (user + system),
    which other processes on a busy machine disturb less.

    The bytecode cache is what an installed package has (pip compiles on install), so it is
    warm here: ``PYTHONDONTWRITEBYTECODE`` is dropped from the children's environment and
    ``PYTHONPYCACHEPREFIX`` points at a private temporary directory (the source tree is not
    written to), filled by one run of each kind before the timed ones. Without that, an
    environment with ``PYTHONDONTWRITEBYTECODE=1`` recompiles every module of the package on
    every run and times the compiler (about 70 ms more), not the import.

    Both are None (and a note) when the package does not import, or is only a namespace
    package (no ``__init__.py`` yet), where the figure would mean nothing.
    """
    nothing: dict[str, Json] = {"import_ms": None, "import_cpu_ms": None}
    with tempfile.TemporaryDirectory(prefix="asolora-pyc-") as pycache:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(SRC_DIR), os.environ.get("PYTHONPATH", "")) if p
        )
        _, first = _subprocess_s(_IMPORT_CODE, env)  # fills the bytecode cache
        if first.returncode == 3:
            note("import_ms: null: asolora_core is only a namespace package (no __init__.py yet)")
            return nothing
        if first.returncode != 0:
            last = (first.stderr.strip().splitlines() or ["?"])[-1]
            note(f"import_ms: null: `import asolora_core` failed: {last}")
            return nothing
        _subprocess_s("pass", env)
        wall: dict[str, list[float]] = {"import": [], "pass": []}
        cpu: dict[str, list[float]] = {"import": [], "pass": []}
        for _ in range(repeats):
            for kind, code in (("import", _IMPORT_CODE), ("pass", "pass")):
                cpu_before = _child_cpu_s()
                wall[kind].append(_subprocess_s(code, env)[0])
                cpu[kind].append(_child_cpu_s() - cpu_before)
    best = max(0.0, min(wall["import"]) - min(wall["pass"])) * 1000.0
    median = max(0.0, statistics.median(wall["import"]) - statistics.median(wall["pass"])) * 1000
    best_cpu = max(0.0, min(cpu["import"]) - min(cpu["pass"])) * 1000.0
    note(
        f"import_ms: best {best:.1f} ms, median {median:.1f} ms, CPU {best_cpu:.1f} ms"
        " (warm bytecode cache)"
    )
    return {"import_ms": round(best, 2), "import_cpu_ms": round(best_cpu, 2)}


def import_ms(repeats: int = 11) -> float | None:
    """``import_ms`` of :func:`import_figures`."""
    return _num(import_figures(repeats)["import_ms"])


#: The aim for ``import_ms`` (docs/benchmarks.md, "Aims").
IMPORT_MS_AIM = 150.0


def collect_aims(result: dict[str, Json]) -> dict[str, Json]:
    """Every section's ``aims`` under ``"<section>.<aim>"``, plus ``import_ms``: one place to
    read which of the aims (docs/benchmarks.md) this run meets (figures only; nothing is
    asserted)."""
    aims: dict[str, Json] = {}
    for name in SECTIONS:
        section = result.get(name)
        section_aims = section.get("aims") if isinstance(section, dict) else None
        if isinstance(section_aims, dict):
            aims.update({f"{name}.{key}": value for key, value in section_aims.items()})
    measured = _num(result.get("import_ms"))
    aims["import_ms"] = {
        "measured": measured,
        "aim": f"<= {IMPORT_MS_AIM:g}",
        "met": None if measured is None else measured <= IMPORT_MS_AIM,
    }
    return aims


# ---------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------


def _fmt(value: Json, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}" if abs(value) >= 100 else f"{value:,.3f}{suffix}"
    return f"{value}{suffix}"


def render_table(result: dict[str, Json]) -> str:
    moves = baselines.MOVES_PER_LIFECYCLE
    lines: list[str] = []
    for name in SECTIONS:
        section = result.get(name)
        if not isinstance(section, dict):
            continue
        lines.append(f"[{name}]")
        lines.append(f"  {'candidate':<24} {'per second':>14} {'us each':>12} {'us/move':>10}")
        for key, value in section.items():
            if not key.endswith("_per_s"):
                continue
            label = key.removesuffix("_per_s")
            if isinstance(value, int | float) and value > 0:
                each = 1e6 / value
                # lifecycle rates are lifecycles/s, except the commit rates (commits/s)
                per_lifecycle = name == "lifecycle" and "commits" not in key
                per_move = f"{each / moves:>10.2f}" if per_lifecycle else f"{'':>10}"
                lines.append(f"  {label:<24} {value:>14,.1f} {each:>12.2f} {per_move}")
            else:
                lines.append(f"  {label:<24} {'n/a':>14}")
        ratios = section.get("ratios")
        if isinstance(ratios, dict):
            lines.append("  ratios (higher = the first one is faster):")
            for key, value in ratios.items():
                lines.append(f"    {key:<28} {_fmt(value, 'x')}")
        lines.append("")
    aims = result.get("aims")
    if isinstance(aims, dict):
        lines.append("[aims] (reported, never asserted)")
        for key, aim in aims.items():
            if isinstance(aim, dict):
                flag = aim.get("met")
                met = "n/a" if not isinstance(flag, bool) else "met" if flag else "NOT met"
                lines.append(
                    f"  {key:<40} {_fmt(aim.get('measured')):>12}  {aim.get('aim')}: {met}"
                )
        lines.append("")
    lines.append(
        f"import asolora_core: {_fmt(result.get('import_ms'), ' ms')}"
        f" (CPU {_fmt(result.get('import_cpu_ms'), ' ms')})"
    )
    lines.append(f"python {result.get('python')}, quick={result.get('quick')}")
    if "lifecycle" in result:
        lines.append(
            f"(lifecycle = {moves} commands = state moves; us/move = us per lifecycle / {moves};"
            " the sqlite_*commits rows are per commit)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="asolora_core benchmarks")
    parser.add_argument("--quick", action="store_true", help="small counts (< 20 s in all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    quick: bool = args.quick
    # The facades here run without a notifier on purpose (delivery is not measured): keep the
    # construction-time warning about it out of the output.
    logging.getLogger("asolora_core").setLevel(logging.ERROR)

    started = time.perf_counter()
    result: dict[str, Json] = {}
    for name, section in SECTIONS.items():
        result[name] = section(quick)
    result.update(import_figures())
    result["aims"] = collect_aims(result)
    result["python"] = platform.python_version()
    result["quick"] = quick
    note(f"done in {time.perf_counter() - started:.1f} s")

    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        print(render_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
