"""Rows edited by hand in a SQL store (SQLite, PostgreSQL) that no longer decode: the damaged
row is refused by name where it is read and set aside where a sweep meets it, and every other
row goes on as before (R29, R35, R40, R42; docs/ledger-integrity.md has the whole table)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    Item,
    LedgerIntegrityError,
    Marketplace,
    MarketplaceConfig,
    NotPermittedError,
    RecordingNotifier,
    SequentialIds,
)
from asolora_core.ports import Store
from conftest import open_store
from pg_support import dsn, postgres

STAFF = Actor.staff("ops")


def _place(market: Marketplace, n: int) -> None:
    for _ in range(n):
        market.place_checkout(
            buyer=Actor.buyer("ada"),
            customer_name="Ada",
            items=[
                Item(vendor_id="anna", product_id="mug", quantity=1, unit_price=Money("18", "EUR"))
            ],
            paid=Money("18", "EUR"),
        )


def _raw_sql(store: Store, kind: str) -> Callable[[str], None]:
    """Runs one statement on the store's database as someone with database access."""
    if kind == "sqlite":
        path = store.path  # type: ignore[attr-defined]

        def run_sqlite(statement: str) -> None:
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                assert conn.execute(statement).rowcount == 1, statement
            finally:
                conn.close()

        return run_sqlite

    schema = store.schema  # type: ignore[attr-defined]

    def run_postgres(statement: str) -> None:
        import psycopg

        with psycopg.connect(dsn(), options=f"-c search_path={schema}", autocommit=True) as conn:
            assert conn.execute(statement).rowcount == 1, statement

    return run_postgres


_FIRST = "WHERE seq = (SELECT min(seq) FROM outbox)"
_UNREADABLE = {
    "sqlite": [
        f"UPDATE outbox SET recipient = 'nobody' {_FIRST}",
        f"UPDATE outbox SET recipient = 'vendor:' {_FIRST}",
        f"UPDATE outbox SET attempts = 'x' {_FIRST}",
    ],
    "postgres": [
        f"UPDATE outbox SET body = '{{}}' {_FIRST}",
        f"UPDATE outbox SET body = '[1, 2]' {_FIRST}",
        "UPDATE outbox SET body = jsonb_set(body, '{notification,recipient}', '\"nobody\"') "
        + _FIRST,
        "UPDATE outbox SET body = jsonb_set(body, '{attempts}', '\"x\"') " + _FIRST,
    ],
}


@pytest.mark.parametrize(
    ("kind", "tamper"),
    [("sqlite", t) for t in _UNREADABLE["sqlite"]]
    + [pytest.param("postgres", t, marks=postgres) for t in _UNREADABLE["postgres"]],
)
def test_an_outbox_row_edited_into_nonsense_holds_back_no_other_notification(
    kind: str, tamper: str, tmp_path: Path, clock: FakeClock
) -> None:
    """R29, R42: an outbox row edited by hand so that it no longer decodes is kept as failed
    and not sent; every other notification is still delivered, once, by the relay and by
    the sweep (which no longer raises); staff reading the outbox are told which message is
    damaged (``LedgerIntegrityError``), until it is restored or deleted."""
    store = open_store(kind, tmp_path)
    try:
        notifier = RecordingNotifier()
        market = Marketplace(store, clock=clock, notifier=notifier, ids=SequentialIds())
        _place(market, 3)
        with store.reader() as uow:
            damaged = uow.outbox.all()[0].message_id
        _raw_sql(store, kind)(tamper)
        assert market.deliver_notifications().delivered == 5
        with pytest.raises(LedgerIntegrityError, match=damaged) as refused:
            market.outbox(by=STAFF)
        assert refused.value.code == "ledger_integrity"
        _place(market, 1)
        clock.advance(hours=2)
        assert market.run_due().notifications.delivered == 2
        assert damaged not in [m for m, _ in notifier.sent]
        assert len(notifier.sent) == len(set(notifier.sent)) == 7
        _raw_sql(store, kind)(f"DELETE FROM outbox WHERE message_id = '{damaged}'")
        assert all(m.delivered_at is not None for m in market.outbox(by=STAFF))
        assert len(market.outbox(by=STAFF)) == 7
    finally:
        store.close()


_UNREADABLE_TIMER = {
    "sqlite": ["UPDATE timers SET body = 'not json' ", "UPDATE timers SET body = '[1]' "],
    "postgres": ["UPDATE timers SET body = '{}' ", "UPDATE timers SET body = '[1]' "],
}


@pytest.mark.parametrize(
    ("kind", "tamper"),
    [("sqlite", t) for t in _UNREADABLE_TIMER["sqlite"]]
    + [pytest.param("postgres", t, marks=postgres) for t in _UNREADABLE_TIMER["postgres"]],
)
def test_a_timer_row_edited_into_nonsense_holds_back_no_other_timer(
    kind: str, tamper: str, tmp_path: Path, clock: FakeClock
) -> None:
    """R40, R29, R42: a timer row edited by hand so that it no longer decodes does not stop
    the sweep: every other due timer runs (once) and the notifications go out; the damaged
    row is kept, for staff to restore or delete, and set aside for an hour like a failing
    timer."""
    store = open_store(kind, tmp_path)
    try:
        notifier = RecordingNotifier()
        market = Marketplace(
            store,
            clock=clock,
            notifier=notifier,
            ids=SequentialIds(),
            config=MarketplaceConfig(
                remind_vendor_to_ship_after=dt.timedelta(hours=1), order_receipts=False
            ),
        )
        _place(market, 3)
        raw = _raw_sql(store, kind)
        raw(tamper + "WHERE timer_id = (SELECT min(timer_id) FROM timers)")
        clock.advance(hours=2)
        report = market.run_due()
        assert report.timers == {"remind_vendor_to_ship": 2}
        assert report.notifications.delivered == 5  # three new orders, two reminders
        assert market.run_due().timers == {}
        clock.advance(hours=1, minutes=1)
        assert market.run_due().timers == {}  # still unreadable: set aside again
        raw("DELETE FROM timers WHERE timer_id = (SELECT min(timer_id) FROM timers)")
        assert len(notifier.sent) == 5
    finally:
        store.close()


_BAD_REFUSAL = {
    "sqlite": ["UPDATE idempotency SET error = '{}'", "UPDATE idempotency SET error = '[1]'"],
    "postgres": [
        "UPDATE idempotency SET body = jsonb_set(body, '{error}', '{}')",
        "UPDATE idempotency SET body = jsonb_set(body, '{error}', "
        """'{"code": "not_found", "message": "m", "fields": {"message": 1}}')""",
    ],
}


@pytest.mark.parametrize(
    ("kind", "tamper"),
    [("sqlite", t) for t in _BAD_REFUSAL["sqlite"]]
    + [pytest.param("postgres", t, marks=postgres) for t in _BAD_REFUSAL["postgres"]],
)
def test_a_stored_refusal_edited_into_nonsense_is_refused_by_name(
    kind: str, tamper: str, tmp_path: Path, clock: FakeClock
) -> None:
    """R35, R42: the refusal an idempotency key remembers, edited by hand into something that
    is not a refusal, is ``LedgerIntegrityError`` when the key is sent again (never a
    ``KeyError``), and the command does not run."""
    store = open_store(kind, tmp_path)
    try:
        market = Marketplace(store, clock=clock, ids=SequentialIds())
        _place(market, 1)
        with store.reader() as uow:
            (message,) = [m for m in uow.outbox.all() if m.notification.kind == "order.placed"]
        order_id = message.notification.subject_id
        nobody = Actor.vendor("someone-else")
        with pytest.raises(NotPermittedError):
            market.cancel_order(order_id, by=nobody, reason="x", idempotency_key="k")
        _raw_sql(store, kind)(tamper)
        with pytest.raises(LedgerIntegrityError, match="idempotency"):
            market.cancel_order(order_id, by=nobody, reason="x", idempotency_key="k")
        assert market.get_order(order_id, by=STAFF).status.value == "processing"  # not cancelled
    finally:
        store.close()
