"""SQLite's compact rows (schema step 12): an outbox message keeps its kind and
text as a shared shape (the subject id factored out) and its instants only where they differ,
yet reads back exactly as written, whatever its text holds; ``outbox_messages`` shows it
whole to raw SQL."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import typing
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from asolora_core import Actor, SqliteStore
from asolora_core.events import _EVENT_TYPES, Notification
from asolora_core.orders.model import Order
from asolora_core.ports import OutboxMessage, Timer

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
_STORE = SqliteStore(":memory:")

_instants = st.integers(min_value=-3, max_value=3).map(lambda d: T0 + dt.timedelta(seconds=d))
_pieces = st.sampled_from(["o-1", "{subject}", "{", "subject}", "Order ", "", "\x00", "é"])
_texts = st.lists(_pieces, max_size=6).map("".join) | st.text(max_size=20)
_subjects = st.sampled_from(["o-1", "", "o", "{subject}", "subject"]) | st.text(max_size=5)


@st.composite
def _messages(draw: st.DrawFn) -> tuple[OutboxMessage, ...]:
    out = []
    for n in range(draw(st.integers(min_value=1, max_value=4))):
        delivered = draw(st.none() | _instants)
        out.append(
            OutboxMessage(
                message_id=f"n-{n}",
                notification=Notification(
                    recipient=draw(st.sampled_from([Actor.vendor("v:1"), Actor.buyer("b-1")])),
                    kind=draw(st.sampled_from(["order.placed", "order.completed"])),
                    subject_id=draw(_subjects),
                    text=draw(_texts),
                    event_at=draw(_instants),
                ),
                created_at=draw(_instants),
                attempts=draw(st.integers(min_value=0, max_value=3)),
                next_attempt_at=draw(_instants),
                delivered_at=delivered,
                failed=draw(st.booleans()),
                last_error=draw(st.sampled_from(["", "down"])),
            )
        )
    return tuple(out)


@settings(max_examples=150, deadline=None)
@given(_messages())
def test_outbox_messages_read_back_exactly_as_written(messages: tuple[OutboxMessage, ...]) -> None:
    with _STORE.unit_of_work() as uow:
        uow.outbox.add(messages)
        assert uow.outbox.all() == messages
        texts = uow.execute("SELECT text, event_at, created_at FROM outbox_messages ORDER BY seq")
        assert [tuple(r) for r in texts.fetchall()] == [
            (
                m.notification.text,
                (m.notification.event_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
                // dt.timedelta(microseconds=1),
                (m.created_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
                // dt.timedelta(microseconds=1),
            )
            for m in messages
        ]
        for m in messages:  # an update rewrites every column, the text included
            uow.outbox.update(m)
        assert uow.outbox.all() == messages
        uow.rollback()


def test_texts_of_one_shape_share_one_row_across_transactions() -> None:
    store = SqliteStore(":memory:")
    try:
        for n in range(3):
            with store.unit_of_work() as uow:
                uow.outbox.add((_completed(n),))
                if n == 0:
                    uow.rollback()  # the shape's id from a rolled-back transaction is not kept
                else:
                    uow.commit()
        conn = store.connection()
        assert conn.execute("SELECT kind, shape FROM outbox_texts").fetchall() == [
            ("order.completed", "Order {subject} is completed.")
        ]
        with store.reader() as uow:
            assert [m.notification.text for m in uow.outbox.all()] == [
                "Order o-1 is completed.",
                "Order o-2 is completed.",
            ]
    finally:
        store.close()


def _persisted_fields() -> dict[str, list[str]]:
    """Field names of every class stored positionally: the order and what it holds, timers,
    every event class (and what they hold)."""
    out: dict[str, list[str]] = {}

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and attrs.has(tp):
            name = f"{tp.__module__}.{tp.__qualname__}"
            if name in out:
                return
            out[name] = [f.name for f in attrs.fields(tp)]
            hints = typing.get_type_hints(tp)
            for f in attrs.fields(tp):
                walk(hints[f.name])
        for arg in typing.get_args(tp):
            walk(arg)

    walk(Order)
    walk(Timer)
    for name in sorted(_EVENT_TYPES):
        walk(_EVENT_TYPES[name])
    return out


def test_stored_classes_only_gain_fields_at_their_end() -> None:
    """Positional bodies name no fields: a stored list is read field by field from the start.
    So a class stored positionally may gain fields (with defaults) only after the ones it had
    when this test's record (``data/positional_fields.json``) was written; renaming, removing
    or reordering one would read old rows wrongly. (A new class needs no entry.)"""
    recorded = json.loads((Path(__file__).parent / "data" / "positional_fields.json").read_text())
    current = _persisted_fields()
    for name, fields in recorded.items():
        assert name in current, f"{name} is stored positionally: keep it (or migrate its rows)"
        assert current[name][: len(fields)] == fields, name


def _completed(n: int) -> OutboxMessage:
    return OutboxMessage(
        message_id=f"n-{n}",
        notification=Notification(
            recipient=Actor.vendor("v-1"),
            kind="order.completed",
            subject_id=f"o-{n}",
            text=f"Order o-{n} is completed.",
            event_at=T0,
        ),
        created_at=T0,
        next_attempt_at=T0,
    )


def test_a_shape_written_in_the_callers_rolled_back_transaction_is_not_reused(
    tmp_path: Path,
) -> None:
    """With ``connection=``, a unit of work is a SAVEPOINT of the caller's transaction: the
    shape it adds is gone when the caller rolls back, and the next message adds it again
    (instead of pointing at a row that does not exist)."""
    conn = sqlite3.connect(tmp_path / "own.db", isolation_level=None)
    store = SqliteStore(tmp_path / "own.db", connection=conn)
    try:
        conn.execute("BEGIN")
        with store.unit_of_work() as uow:
            uow.outbox.add((_completed(1),))
            uow.commit()
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        with store.unit_of_work() as uow:
            uow.outbox.add((_completed(2),))
            uow.commit()
        conn.execute("COMMIT")
        with store.reader() as uow:
            assert uow.outbox.all() == (_completed(2),)
    finally:
        store.close()


def _released(n: int) -> OutboxMessage:
    return OutboxMessage(
        message_id=f"n-{n}",
        notification=Notification(
            recipient=Actor.vendor("v-1"),
            kind="payout.released",
            subject_id=f"o-{n}",
            text=f"{n}.00 EUR of order o-{n} released.",  # a shape of its own: the amount
            event_at=T0,
        ),
        created_at=T0,
        next_attempt_at=T0,
    )


def test_the_new_texts_of_a_batch_are_added_together_and_undone_with_it() -> None:
    """A sweep batch's notifications may bring a new shape each: they are added in one
    statement, read back whole, and not remembered when the batch rolls back (the next
    batch adds them again instead of pointing at rows that do not exist)."""
    store = SqliteStore(":memory:")
    try:
        batch = tuple(_released(n) for n in range(5))
        traced: list[str] = []
        store.connection().set_trace_callback(traced.append)
        with store.unit_of_work() as uow:
            uow.outbox.add(batch)
            uow.rollback()
        assert sum(s.startswith("INSERT INTO outbox_texts") for s in traced) == 1
        with store.unit_of_work() as uow:
            uow.outbox.add((_completed(9), *batch))
            uow.commit()
        store.connection().set_trace_callback(None)
        with store.reader() as uow:
            assert uow.outbox.all() == (_completed(9), *batch)
        with store.unit_of_work() as uow:  # every id committed is known: no statement
            traced.clear()
            store.connection().set_trace_callback(traced.append)
            uow.outbox.add(tuple(attrs.evolve(m, message_id=f"m-{i}") for i, m in enumerate(batch)))
            store.connection().set_trace_callback(None)
            assert not any(s.startswith("INSERT INTO outbox_texts") for s in traced)
            uow.rollback()
    finally:
        store.close()


def test_an_update_finds_its_message_however_the_store_came_to_know_it(tmp_path: Path) -> None:
    """R29, schema step 14 (no index on the message id): an update reaches exactly its own
    message when it was read by ``due`` (by its ``seq``), when it was not (among the pending
    rows), when it is no longer pending (a scan), and when ``due`` read its ``seq`` in a unit
    of work that rolled back and another message has that ``seq`` now."""
    path = tmp_path / "outbox.db"
    store, other = SqliteStore(path), SqliteStore(path)
    try:
        first, second = _completed(1), _completed(2)
        with store.unit_of_work() as uow:
            uow.outbox.add((first,))
            assert uow.outbox.due(T0, 10) == (first,)  # its seq now known to ``store``
            uow.rollback()
        with other.unit_of_work() as uow:  # the same seq, another message
            uow.outbox.add((second,))
            uow.commit()
        leased = attrs.evolve(second, next_attempt_at=T0 + dt.timedelta(minutes=5))
        with store.unit_of_work() as uow:  # ``store`` never read ``second``: pending rows
            uow.outbox.update(leased)
            uow.commit()
        with other.unit_of_work() as uow:
            uow.outbox.add((first,))
            assert uow.outbox.due(T0, 10) == (first,)
            done = attrs.evolve(first, attempts=1, delivered_at=T0)
            uow.outbox.update(done)  # by its seq
            uow.commit()
        failed = attrs.evolve(done, failed=True, last_error="down")
        with store.unit_of_work() as uow:  # stale seq, not pending: found by a scan
            uow.outbox.update(failed)
            uow.commit()
        with store.reader() as uow:
            assert uow.outbox.all() == (leased, failed)
    finally:
        store.close()
        other.close()
