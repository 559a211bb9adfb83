"""Versioned migrations (R22, R23, R33): one call, recorded in ``asolora_schema_version``, an
upgrade of a SQLite file written by release 0.1 keeps every figure, and two processes
migrating at once both succeed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from moneyed import Money

from asolora_core import (
    FakeClock,
    Marketplace,
    MarketplaceConfig,
    RecordingNotifier,
    SequentialIds,
    SqliteStore,
    _codec,
    migrate,
    to_minor,
)
from asolora_core.adapters.sqlite import MIGRATIONS
from asolora_core.adapters.sqlite_base import micros
from asolora_core.events import DomainEvent, event_type
from asolora_core.orders.model import Order
from asolora_core.ports import OutboxMessage, Timer
from pg_support import dsn, new_schema, postgres
from test_ledger_support import STAFF, START
from upgrade_fixture import journal_rows, load_v0_1

#: The SQLite schema version of release 0.1 (no running totals, no version table).
RELEASE_0_1 = 3


def _raw_folds(path: Path) -> dict[tuple[str, str], int]:
    """The fold of every (account, currency) of the journal, summed from the entry rows."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT account, currency, sum(amount_minor) FROM ledger_entries "
            "GROUP BY account, currency"
        ).fetchall()
    finally:
        conn.close()
    return {(a, c): int(t) for a, c, t in rows}


def test_upgrade_of_a_0_1_sqlite_file_keeps_every_figure(tmp_path: Path) -> None:
    """R22, R23, R42: a database written by release 0.1 (schema 3: a released, refunded and
    paid-out order) migrates in one call; every step is recorded, the journal rows are kept
    as they were, the running totals are filled from them (the vendor's balance reads the
    same as the sum of its entries), the append-only triggers guard the rebuilt journal
    tables, and the next posting carries the totals on."""
    path = load_v0_1(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == RELEASE_0_1
    conn.close()
    journal = journal_rows(path)
    folds = _raw_folds(path)
    assert folds[("vendor:v-1:paid_out", "GBP")] != 0  # released and paid out

    assert migrate(str(path)) == len(MIGRATIONS)

    conn = sqlite3.connect(path)
    versions = [r[0] for r in conn.execute("SELECT version FROM asolora_schema_version")]
    totals = {
        (a, c): int(t)
        for a, c, t in conn.execute("SELECT account, currency, total_minor FROM ledger_totals")
    }
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE ledger_entries SET amount_minor = 1 WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM ledger_txns WHERE seq = 1")
    conn.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert journal_rows(path) == journal
    assert totals == folds

    store = SqliteStore(path)
    try:
        market = Marketplace(store, clock=FakeClock(START), ids=SequentialIds(start=100))
        before = market.balance("v-1", by=STAFF).balance
        assert to_minor(before) == -folds[("vendor:v-1:balance", "GBP")]
        market.seal_ledger(by=STAFF)  # the 0.1 holds predate seals
        assert market.verify_journal(by=STAFF).problems == ()
        market.adjust_balance("v-1", amount=Money("1.00", "GBP"), reason="goodwill", by=STAFF)
        assert market.balance("v-1", by=STAFF).balance == before + Money("1.00", "GBP")
        assert market.verify_journal(by=STAFF).ok
    finally:
        store.close()


def test_migrate_from_the_command_line_twice_at_once(tmp_path: Path) -> None:
    """Two processes run ``python -m asolora_core migrate`` on one 0.1 file at once: both
    succeed, each step is applied once."""
    path = load_v0_1(tmp_path / "old.db")
    command = [sys.executable, "-m", "asolora_core", "migrate", "--dsn", str(path)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert all(f"schema at version {len(MIGRATIONS)}" in out for out in outputs)
    conn = sqlite3.connect(path)
    (count,) = conn.execute("SELECT count(*) FROM ledger_totals").fetchone()
    versions = [r[0] for r in conn.execute("SELECT version FROM asolora_schema_version")]
    conn.close()
    assert count > 0
    assert versions == list(range(1, len(MIGRATIONS) + 1))


@postgres
def test_postgres_migrate_from_two_processes_at_once() -> None:
    """The advisory lock: two processes migrating one new schema at once both succeed and
    every step is recorded once."""
    from asolora_core.adapters.postgres import MIGRATIONS as PG_MIGRATIONS
    from asolora_core.adapters.postgres import PostgresStore

    schema = new_schema()
    command = [
        sys.executable,
        "-m",
        "asolora_core",
        "migrate",
        "--dsn",
        dsn(),
        "--schema",
        schema,
    ]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    store = PostgresStore(dsn(), schema=schema, migrate=False)
    try:
        with store.unit_of_work() as uow:
            rows = uow.fetchall("SELECT version FROM asolora_schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(PG_MIGRATIONS) + 1))
    finally:
        store.close()


def test_upgrade_keeps_every_notification_and_idempotency_record(tmp_path: Path) -> None:
    """R29, R35: after the upgrade of a 0.1 file, the outbox holds every message exactly as
    0.1 wrote it (delivered, failed, pending with its retries), in order; the pending one is
    delivered with its id and text; a 0.1 idempotency record (canonical text per argument)
    still reads back."""
    path = load_v0_1(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    bodies = [json.loads(b) for (b,) in conn.execute("SELECT body FROM outbox ORDER BY seq")]
    waiting = attrs.evolve(
        _codec.decoder(OutboxMessage)(bodies[0]),
        message_id="n-000900",
        attempts=2,
        delivered_at=None,
        next_attempt_at=START + dt.timedelta(days=8, microseconds=7),
        last_error="ConnectionError: down",
    )
    failed = attrs.evolve(waiting, message_id="n-000901", attempts=8, failed=True)
    for message, state in ((waiting, "pending"), (failed, "failed")):
        conn.execute(
            "INSERT INTO outbox (message_id, state, next_attempt_at, body) VALUES (?, ?, ?, ?)",
            (
                message.message_id,
                state,
                micros(message.next_attempt_at),
                json.dumps(_codec.encoder(OutboxMessage)(message)),
            ),
        )
    conn.commit()
    conn.close()
    before = (*(_codec.decoder(OutboxMessage)(b) for b in bodies), waiting, failed)

    migrate(str(path))

    store = SqliteStore(path)
    try:
        notifier = RecordingNotifier()
        market = Marketplace(
            store,
            clock=FakeClock(START + dt.timedelta(days=9)),
            notifier=notifier,
            ids=SequentialIds(start=1000),
            config=MarketplaceConfig(idempotency_ttl=None),
        )
        assert market.outbox(by=STAFF) == before
        assert market.deliver_notifications().delivered == 1
        assert notifier.sent == [(waiting.message_id, waiting.notification)]
        with store.reader() as uow:
            record = uow.idempotency.get("buyer:b-1", "checkout-1")
        assert record is not None
        assert record.command == "place_checkout"
        assert record.request == b""  # compared by its canonical texts (test_idempotency_http)
        assert sorted(record.arguments) == ["customer_name", "items", "paid", "shipping"]
        assert [o.order_id for o in record.result] == ["o-000002", "o-000003"]
    finally:
        store.close()


def test_upgrade_to_compact_rows_reads_every_row_the_same(tmp_path: Path) -> None:
    """Schema step 12: the upgrade rewrites every order, history and timer body in
    the positional form, the history without a rowid (``seq`` counting each order's events
    from 1, in the old order) and the outbox with shared texts; each order, history, timer
    and message reads back equal to what 0.1 wrote, ``outbox_messages`` shows the texts whole,
    and the upgraded store carries on (new events numbered after the old ones)."""
    path = load_v0_1(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    timer = Timer(
        timer_id="autoconfirm:o-000002:s-1",
        kind="autoconfirm",
        aggregate_id="o-000002",
        ref="s-1",
        due_at=START + dt.timedelta(days=30, microseconds=3),
    )
    conn.execute(
        "INSERT INTO timers (timer_id, kind, due_at, body) VALUES (?, ?, ?, ?)",
        (timer.timer_id, timer.kind, micros(timer.due_at), _codec.dumps(timer)),
    )
    conn.commit()
    orders = {
        order_id: _codec.loads(body, Order)
        for order_id, body in conn.execute("SELECT order_id, body FROM orders")
    }
    histories: dict[str, list[DomainEvent]] = {}
    for aggregate_id, name, body in conn.execute(
        "SELECT aggregate_id, type, body FROM events ORDER BY seq"
    ):
        histories.setdefault(aggregate_id, []).append(_codec.loads(body, event_type(name)))
    outbox = [
        _codec.loads(b, OutboxMessage)
        for (b,) in conn.execute("SELECT body FROM outbox ORDER BY seq")
    ]
    conn.close()
    assert orders
    assert histories
    assert outbox

    migrate(str(path))

    conn = sqlite3.connect(path)
    for table in ("orders", "events", "timers"):
        bodies = [json.loads(b) for (b,) in conn.execute(f"SELECT body FROM {table}")]
        assert bodies
        assert all(isinstance(b, list) for b in bodies), table
    seqs = conn.execute(
        "SELECT aggregate_id, seq FROM events ORDER BY aggregate_id, seq"
    ).fetchall()
    for aggregate_id, history in histories.items():
        assert [s for a, s in seqs if a == aggregate_id] == list(range(1, len(history) + 1))
    texts = [r[0] for r in conn.execute("SELECT text FROM outbox_messages ORDER BY seq")]
    assert texts == [m.notification.text for m in outbox]
    conn.close()

    store = SqliteStore(path)
    try:
        with store.reader() as uow:
            for order_id, order in orders.items():
                assert uow.orders.get(order_id) == order
            for aggregate_id, history in histories.items():
                assert uow.events.history(aggregate_id) == tuple(history)
            assert uow.outbox.all() == tuple(outbox)
        with store.unit_of_work() as uow:
            assert uow.timers.claim_due(timer.due_at, 10) == (timer,)
            uow.rollback()
        aggregate_id, history = next(iter(histories.items()))
        later = attrs.evolve(history[-1], at=history[-1].at + dt.timedelta(days=1))
        with store.unit_of_work() as uow:
            uow.events.append((later,))
            uow.commit()
        with store.reader() as uow:
            assert uow.events.history(aggregate_id) == (*history, later)
    finally:
        store.close()


def test_upgrade_to_the_holds_check_keeps_every_hold_and_refuses_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema step 13: the hold table is rebuilt with its refunds check as a CHECK
    constraint instead of two triggers; every hold row (rowid included) is kept, the table
    still refuses a hold recording more refunded than paid, and the store carries on."""
    import asolora_core.adapters.sqlite as sqlite_adapter
    from test_ledger_support import BUYER, complete, place

    path = tmp_path / "step12.db"
    monkeypatch.setattr(sqlite_adapter, "MIGRATIONS", MIGRATIONS[:12])
    store = SqliteStore(path)
    market = Marketplace(store, clock=FakeClock(START), ids=SequentialIds())
    eur = Money("30.00", "EUR")
    kept = [complete(market, place(market, v, eur)) for v in ("v-1", "v-2", "v-1")]
    refunded = place(market, "v-2", eur)
    market.refund(refunded.order_id, by=STAFF, amount=Money("5.00", "EUR"), reason="goodwill")
    open_one = place(market, "v-1", eur)
    store.close()
    monkeypatch.undo()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 12
    before = conn.execute("SELECT rowid, * FROM ledger_holds ORDER BY rowid").fetchall()
    conn.close()
    assert len(before) == 5
    assert any(json.loads(row[5])["refunded_minor"] == 500 for row in before)

    store = SqliteStore(path)  # opening migrates
    try:
        assert store.schema_version() == len(MIGRATIONS) >= 13
        conn = store.connection()
        assert conn.execute("SELECT rowid, * FROM ledger_holds ORDER BY rowid").fetchall() == before
        triggers = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'ledger_holds'"
        ).fetchall()
        assert triggers == []
        assert conn.execute(
            "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = 'ledger_holds_vendor'"
        ).fetchone()
        for refused in (
            "UPDATE ledger_holds SET body = json_set(body, '$.refunded_minor', "
            "json_extract(body, '$.paid_minor') + 1)",
            "INSERT INTO ledger_holds (order_id, version, vendor_id, released, body) "
            "SELECT 'o-x', 1, vendor_id, 0, json_set(body, '$.refunded_minor', "
            "json_extract(body, '$.paid_minor') + 1) FROM ledger_holds LIMIT 1",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="refunds above the paid amount"):
                conn.execute(refused)
        market = Marketplace(store, clock=FakeClock(START), ids=SequentialIds(start=1000))
        done = complete(market, market.get_order(open_one.order_id, by=BUYER))
        assert done.status.value == "completed"
        with store.reader() as uow:
            assert [h.order_id for h in uow.ledger.holds_for_vendor("v-1")] == [
                kept[0].order_id,
                kept[2].order_id,
                open_one.order_id,
            ]
    finally:
        store.close()


def test_upgrade_to_the_lean_outbox_keeps_every_message_and_delivers_the_pending_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema step 14 (R29): the outbox is rebuilt without the message id's UNIQUE index;
    every row is kept exactly (``seq`` included), the messages read back the same, and the
    relay then delivers the pending ones and marks them delivered, once each."""
    import asolora_core.adapters.sqlite as sqlite_adapter
    from test_ledger_support import complete, place

    path = tmp_path / "step13.db"
    monkeypatch.setattr(sqlite_adapter, "MIGRATIONS", MIGRATIONS[:13])
    store = SqliteStore(path)
    notifier = RecordingNotifier()
    market = Marketplace(store, clock=FakeClock(START), ids=SequentialIds(), notifier=notifier)
    eur = Money("30.00", "EUR")
    complete(market, place(market, "v-1", eur))
    market.deliver_notifications()  # some rows delivered before the upgrade ...
    delivered_before = len(notifier.sent)
    place(market, "v-2", eur)  # ... and some pending
    with store.reader() as uow:
        messages = uow.outbox.all()
    store.close()
    monkeypatch.undo()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 13
    rows = conn.execute("SELECT * FROM outbox ORDER BY seq").fetchall()
    shown = conn.execute("SELECT * FROM outbox_messages ORDER BY seq").fetchall()
    conn.close()
    assert delivered_before > 0
    assert {r[2] for r in rows} == {0, 1}  # pending and delivered rows

    store = SqliteStore(path)  # opening migrates
    try:
        assert store.schema_version() == len(MIGRATIONS) >= 14
        conn = store.connection()
        assert conn.execute("SELECT * FROM outbox ORDER BY seq").fetchall() == rows
        assert conn.execute("SELECT * FROM outbox_messages ORDER BY seq").fetchall() == shown
        indexes = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'outbox' "
            "ORDER BY name"
        ).fetchall()
        assert indexes == [("outbox_delivered",), ("outbox_pending",)]
        with store.reader() as uow:
            assert uow.outbox.all() == messages
        market = Marketplace(
            store, clock=FakeClock(START), ids=SequentialIds(start=1000), notifier=notifier
        )
        pending = [m.message_id for m in messages if m.delivered_at is None]
        report = market.deliver_notifications()
        assert report.delivered == len(pending) > 0
        assert [message_id for message_id, _ in notifier.sent[delivered_before:]] == pending
        with store.reader() as uow:
            assert all(m.delivered_at is not None for m in uow.outbox.all())
        assert market.deliver_notifications().delivered == 0
    finally:
        store.close()
