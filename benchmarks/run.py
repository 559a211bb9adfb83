"""Benchmark harness: ``python benchmarks/run.py [--quick] [--json]``.

Without ``--json`` it prints a readable table; with ``--json`` stdout carries exactly one JSON
object and nothing else (progress and notes go to stderr):

    {"lifecycle": {"memory_per_s": ..., "sqlite_per_s": ..., "dict_baseline_per_s": ...,
                   "transitions_per_s": ..., "statemachine_per_s": ...,
                   "ratios": {"memory_vs_transitions": ..., "memory_vs_dict": ...,
                              "sqlite_vs_transitions": ...}},
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
     "import_ms": ..., "python": "3.11.x", "quick": bool}

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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

BENCH_DIR = Path(__file__).resolve().parent
SRC_DIR = Path(__file__).resolve().parents[1] / "src"
for _p in (str(SRC_DIR), str(BENCH_DIR)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import baselines  # noqa: E402  (needs BENCH_DIR on sys.path)

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


def _sqlite_run(fn: Callable[[int, str], None]) -> TimedRun:
    """A fresh database file in a fresh temporary directory per call, made outside the timing."""

    def run(n: int) -> float:
        with tempfile.TemporaryDirectory(prefix="asolora-bench-") as tmp:
            path = str(Path(tmp) / "lifecycle.sqlite3")
            start = time.perf_counter()
            fn(n, path)
            return time.perf_counter() - start

    return run


def _facade_rate(name: str, make_run: Callable[[], TimedRun], budget: Budget) -> float | None:
    """Rate of a facade candidate, or None (with a note) while it is not written yet."""
    try:
        run = make_run()
        return _rate(name, run, budget)
    except (NotImplementedError, ImportError) as exc:
        note(f"  {name:<24} null: not available yet ({type(exc).__name__}: {exc})")
        return None


def lifecycle_section(quick: bool) -> dict[str, Json]:
    """Order lifecycles per second: the facade (memory, sqlite) against the bare baselines."""
    budget = QUICK if quick else FULL
    note(f"lifecycle ({baselines.MOVES_PER_LIFECYCLE} state moves per lifecycle):")

    def memory() -> TimedRun:
        import facade_lifecycle

        return timed(facade_lifecycle.run_memory)

    def sqlite() -> TimedRun:
        import facade_lifecycle

        return _sqlite_run(facade_lifecycle.run_sqlite)

    def memory_idem() -> TimedRun:
        import facade_lifecycle

        return timed(facade_lifecycle.run_memory_idem)

    memory_per_s = _facade_rate("memory", memory, budget)
    memory_idem_per_s = _facade_rate("memory_idem", memory_idem, budget)
    sqlite_per_s = _facade_rate("sqlite", sqlite, budget)
    base: dict[str, float] = {
        name: _rate(name, timed(fn), budget) for name, fn in baselines.BASELINES.items()
    }
    return {
        "memory_per_s": memory_per_s,
        "memory_idem_per_s": memory_idem_per_s,
        "sqlite_per_s": sqlite_per_s,
        "dict_baseline_per_s": base["dict_baseline"],
        "transitions_per_s": base["transitions"],
        "transitions_shared_per_s": base["transitions_shared"],
        "statemachine_per_s": base["statemachine"],
        "ratios": {
            "memory_vs_transitions": _ratio(memory_per_s, base["transitions"]),
            "memory_vs_transitions_shared": _ratio(memory_per_s, base["transitions_shared"]),
            "memory_idem_vs_memory": _ratio(memory_idem_per_s, memory_per_s),
            "memory_vs_dict": _ratio(memory_per_s, base["dict_baseline"]),
            "sqlite_vs_transitions": _ratio(sqlite_per_s, base["transitions"]),
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


def import_ms(repeats: int = 5) -> float | None:
    """Milliseconds ``import asolora_core`` adds to a fresh interpreter (best of ``repeats``).

    Best ``-c "import asolora_core"`` subprocess minus best ``-c "pass"`` subprocess, with
    ``src/`` first on PYTHONPATH. None (and a note) when the package does not import, or is
    only a namespace package (no ``__init__.py`` yet), where the figure would mean nothing.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SRC_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    _, first = _subprocess_s(_IMPORT_CODE, env)  # also warms the bytecode cache
    if first.returncode == 3:
        note("import_ms: null: asolora_core is only a namespace package (no __init__.py yet)")
        return None
    if first.returncode != 0:
        last = (first.stderr.strip().splitlines() or ["?"])[-1]
        note(f"import_ms: null: `import asolora_core` failed: {last}")
        return None
    _subprocess_s("pass", env)
    with_import = min(_subprocess_s(_IMPORT_CODE, env)[0] for _ in range(repeats))
    bare = min(_subprocess_s("pass", env)[0] for _ in range(repeats))
    return round(max(0.0, with_import - bare) * 1000.0, 2)


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
        lines.append(f"  {'candidate':<16} {'per second':>14} {'us each':>12} {'us/move':>10}")
        for key, value in section.items():
            if not key.endswith("_per_s"):
                continue
            label = key.removesuffix("_per_s")
            if isinstance(value, int | float) and value > 0:
                each = 1e6 / value
                per_move = f"{each / moves:>10.2f}" if name == "lifecycle" else f"{'':>10}"
                lines.append(f"  {label:<16} {value:>14,.1f} {each:>12.2f} {per_move}")
            else:
                lines.append(f"  {label:<16} {'n/a':>14}")
        ratios = section.get("ratios")
        if isinstance(ratios, dict):
            lines.append("  ratios (higher = the first one is faster):")
            for key, value in ratios.items():
                lines.append(f"    {key:<28} {_fmt(value, 'x')}")
        lines.append("")
    lines.append(f"import asolora_core: {_fmt(result.get('import_ms'), ' ms')}")
    lines.append(f"python {result.get('python')}, quick={result.get('quick')}")
    if "lifecycle" in result:
        lines.append(f"(lifecycle = {moves} state moves; us/move = us per lifecycle / {moves})")
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
    result["import_ms"] = import_ms()
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
