"""R40: one sweep, ``run_due(now)``, drives every timer; a failing timer blocks no other."""

from __future__ import annotations

import datetime as dt

from asolora_core import InMemoryStore, Marketplace, SqliteStore
from asolora_core.clock import FakeClock
from asolora_core.ports import Store, Timer, UnitOfWork

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _timer(timer_id: str, kind: str, minutes: int) -> Timer:
    return Timer(
        timer_id=timer_id,
        kind=kind,
        aggregate_id="x",
        ref="",
        due_at=START + dt.timedelta(minutes=minutes),
    )


def _run(store: Store) -> None:
    market = Marketplace(store, clock=FakeClock(START))
    ran: list[str] = []

    def good(uow: UnitOfWork, timer: Timer, now: dt.datetime) -> bool:
        ran.append(timer.timer_id)
        return True

    def bad(uow: UnitOfWork, timer: Timer, now: dt.datetime) -> bool:
        raise RuntimeError("handler bug")

    market._timer_handlers["good"] = good
    market._timer_handlers["bad"] = bad
    with store.unit_of_work() as uow:
        uow.timers.schedule(_timer("g1", "good", 1))
        uow.timers.schedule(_timer("b1", "bad", 2))
        uow.timers.schedule(_timer("g2", "good", 3))
        uow.commit()
    now = START + dt.timedelta(minutes=10)
    report = market.run_due(now)
    assert report.timers == {"good": 2, "failed": 1}
    # the first batch rolled back when b1 raised, so g1 ran twice; only the committed run counts
    assert set(ran) == {"g1", "g2"}
    with store.unit_of_work() as uow:
        assert uow.timers.claim_due(now, 10) == ()  # the bad one is set aside, not lost
        (later,) = uow.timers.claim_due(now + dt.timedelta(hours=1), 10)
    assert later.timer_id == "b1"
    assert later.due_at == now + dt.timedelta(hours=1)


def test_a_failing_timer_is_set_aside_and_the_others_run_memory() -> None:
    """R40: a handler that raises does not block the sweep; its timer is retried later."""
    _run(InMemoryStore())


def test_a_failing_timer_is_set_aside_and_the_others_run_sqlite(tmp_path: object) -> None:
    """R40, R33: the same on SQLite."""
    _run(SqliteStore(":memory:"))
