"""Two workers at once on one SQLite file (R17, R18, R40): the release sweep and the payout
run each post every release and payout once.

Each worker is a thread with its own ``SqliteStore`` (its own connection) on the same file,
started together at a barrier, the way two job workers would run.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from moneyed import Money

from asolora_core import FakeClock, Marketplace, SequentialIds, SqliteStore
from asolora_core.fx import FixedRateProvider
from test_ledger_support import STAFF, START, money_market, sell

ORDERS = 30


def _both_at_once(work: list[threading.Thread]) -> None:
    for t in work:
        t.start()
    for t in work:
        t.join(timeout=120)
        assert not t.is_alive()


def test_sweep_and_payout_run_twice_at_once_post_each_once(tmp_path: Path) -> None:
    """R17, R18: two workers sweeping and paying out at the same instant release each order
    once and pay each balance once; the journal verifies."""
    path = tmp_path / "ledger.db"
    clock = FakeClock(START)
    rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=START)
    setup_store = SqliteStore(path)
    market = money_market(setup_store, clock, rates)
    for v in ("v-1", "v-2", "v-3"):
        market.register_vendor(v, payout_currency="GBP" if v != "v-3" else "EUR", by=STAFF)
    orders = [sell(market, f"v-{i % 3 + 1}", Money(f"{10 + i}.00", "EUR")) for i in range(ORDERS)]
    clock.advance(hours=168)

    stores = [SqliteStore(path) for _ in range(2)]
    workers: list[Marketplace] = [
        money_market(s, clock, rates, ids=SequentialIds(start=(n + 1) * 1_000_000))
        for n, s in enumerate(stores)
    ]
    barrier = threading.Barrier(2)
    swept: list[int] = []
    paid: list[int] = []
    errors: list[BaseException] = []

    def sweep_then_pay(worker: Marketplace) -> None:
        try:
            barrier.wait()
            swept.append(worker.run_due().timers.get("release", 0))
            barrier.wait()
            paid.append(len(worker.run_payouts()))
        except BaseException as exc:  # reported below
            errors.append(exc)

    _both_at_once([threading.Thread(target=sweep_then_pay, args=(w,)) for w in workers])
    assert errors == []
    assert sum(swept) == ORDERS
    assert sum(paid) == 3

    journal = market.journal(by=STAFF)
    kinds = Counter(t.kind for t in journal)
    assert kinds["release"] == ORDERS
    assert kinds["payout"] == 3
    assert Counter(t.order_id for t in journal if t.kind == "release") == Counter(
        o.order_id for o in orders
    )
    assert market.verify_journal(by=STAFF).ok
    for v in ("v-1", "v-2", "v-3"):
        balance = market.balance(v, by=STAFF)
        assert balance.balance_minor == 0
        (payout,) = market.payouts(v, by=STAFF)
        assert payout.statement.reconciles
        assert payout.amount_minor == balance.paid_out_minor == balance.released_minor
    for s in [setup_store, *stores]:
        s.close()
