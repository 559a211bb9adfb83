"""REGISTRATION POINT for the asolora_core facade candidates of the lifecycle benchmark.

To be filled against the library's facade. ``benchmarks/run.py`` calls these two functions;
while they raise ``NotImplementedError`` (or this module raises ``ImportError``, e.g. because
the facade it imports does not exist yet), run.py reports ``null`` for ``memory_per_s`` /
``sqlite_per_s`` and their ratios, with a note on stderr. Any other exception is a real failure
and stops the run.

Contract for both functions (the same one the bare baselines in ``baselines.py`` follow):

* run ``n`` full lifecycles of one marketplace order each, in this order: place the order;
  create two shipments; three tracking updates on each shipment; mark both delivered; the
  buyer confirms both; the order completes automatically on the second confirmation
  (13 state moves: place 1, ship 2, update_tracking 6, mark_delivered 2, confirm 2);
* at the end of every lifecycle check cheaply that the order is ``completed`` and raise
  ``RuntimeError`` otherwise (``if``/``raise``, not ``assert``, so ``python -O`` still checks);
* print nothing to stdout (``run.py --json`` must print exactly one JSON object);
* it is timed as a whole, set-up included: build the facade / store inside the function.
  Only the temporary directory of the sqlite file is made (and removed) outside the timing.
"""

from __future__ import annotations

__all__ = ["run_memory", "run_sqlite"]


def run_memory(n: int) -> None:
    """``n`` order lifecycles through the facade on the in-memory store."""
    raise NotImplementedError("facade lifecycle (memory) not written yet")


def run_sqlite(n: int, path: str) -> None:
    """``n`` order lifecycles through the facade on a SQLite store at ``path``.

    ``path`` is a file that does not exist yet, in a fresh temporary directory made by run.py
    for this call alone; the function creates the database there (and may leave it: run.py
    removes the directory afterwards).
    """
    raise NotImplementedError("facade lifecycle (sqlite) not written yet")
