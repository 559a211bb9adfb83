"""Connections of threads that end (R33): web servers start and stop threads (a thread per
request; anyio's worker threads, which FastAPI runs plain ``def`` handlers on, end after ten
idle seconds). A store that opens one connection per thread closes it when the thread ends,
so a long-running server does not gather open files or database connections."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from asolora_core import Actor, FakeClock, Item, Marketplace, RecordingNotifier, SqliteStore
from asolora_core.ports import Store
from pg_support import dsn, new_schema, postgres

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _requests(store: Store, own: Any, n: int) -> list[Any]:
    """``n`` threads, one after the other, each placing an order (a request) and ending; the
    connection each used, as ``own(store)`` reads it in that thread."""
    market = Marketplace(store, clock=FakeClock(START), notifier=RecordingNotifier())
    used: list[Any] = []

    def request() -> None:
        market.place_checkout(
            buyer=Actor.buyer("ada"),
            customer_name="Ada",
            items=[Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=Money("5", "EUR"))],
            paid=Money("5", "EUR"),
        )
        used.append(own(store))

    for _ in range(n):
        thread = threading.Thread(target=request)
        thread.start()
        thread.join()
    return used


def test_sqlite_closes_the_connection_of_a_thread_that_ended(tmp_path: Path) -> None:
    """R33: each ended thread's SQLite connection is closed; the store still serves the
    threads that live on, and the next thread opens its own."""
    store = SqliteStore(tmp_path / "m.db")
    try:
        used = _requests(store, lambda s: s.connection(), 20)
        assert len({id(c) for c in used}) == 20
        for conn in used:
            with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                conn.execute("SELECT 1")
        with store.reader() as uow:
            assert len(uow.outbox.all()) == 40  # each order's two notifications
        _requests(store, lambda s: s.connection(), 1)
    finally:
        store.close()


@postgres
def test_postgres_closes_the_connection_of_a_thread_that_ended() -> None:
    """R33: ``PostgresStore(dsn)`` closes each ended thread's connection, so the server's
    connections (``max_connections``) are not used up by threads that are gone."""
    from asolora_core.adapters.postgres import PostgresStore

    app = f"asolora_threads_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(f"{dsn()}?application_name={app}", schema=new_schema())

    def own(s: PostgresStore) -> Any:
        with s.connection() as conn:
            return conn

    try:
        used = _requests(store, own, 20)
        assert len({id(c) for c in used}) == 20
        assert all(conn.closed for conn in used)
        with store.reader() as uow:
            assert len(uow.outbox.all()) == 40  # each order's two notifications
        _requests(store, own, 1)
    finally:
        store.close()


def _in_forked_child(store: Store, own: Any) -> tuple[Any, ...]:
    """Place an order in a child forked after this process used ``store`` (a server's
    ``--preload``, a ``multiprocessing`` worker): what identifies the connection it used
    (``own``), and its error, if any."""
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            _requests_here(store)
            writer.send((own(store), None))
        except BaseException as exc:  # reported to the parent
            writer.send((None, repr(exc)))

    process = ctx.Process(target=child)
    process.start()
    result: tuple[Any, ...] = reader.recv()
    process.join()
    assert process.exitcode == 0
    return result


def _requests_here(store: Store) -> None:
    Marketplace(store, clock=FakeClock(START), notifier=RecordingNotifier()).place_checkout(
        buyer=Actor.buyer("ada"),
        customer_name="Ada",
        items=[Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=Money("5", "EUR"))],
        paid=Money("5", "EUR"),
    )


def test_sqlite_in_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    """R33: a process forked after the parent used the store (SQLite's own rule: never use a
    connection across ``fork``) opens its own connection; parent and child both write."""

    def own(s: Any) -> Any:
        return (os.getpid(), id(s.connection()))

    store = SqliteStore(tmp_path / "m.db")
    try:
        _requests_here(store)
        parent = (os.getpid(), id(store.connection()))
        (pid, conn_id), error = _in_forked_child(store, own)
        assert error is None
        assert pid != parent[0]
        assert conn_id != parent[1]  # not the connection inherited from the parent
        _requests_here(store)
        with store.reader() as uow:
            assert len(uow.outbox.all()) == 6
    finally:
        store.close()


@postgres
def test_postgres_in_a_forked_child_opens_its_own_connection() -> None:
    """R33: ``PostgresStore(dsn)`` in a process forked after the parent used it opens its own
    server connection (two processes on one socket would mix their protocol messages), and
    leaves the parent's alone: the parent's next command still runs on its own."""
    from asolora_core.adapters.postgres import PostgresStore

    def backend(s: PostgresStore) -> int:
        with s.connection() as conn:
            return int(conn.info.backend_pid)

    store = PostgresStore(dsn(), schema=new_schema())
    try:
        _requests_here(store)
        parent = backend(store)
        child, error = _in_forked_child(store, backend)
        assert error is None
        assert child != parent
        _requests_here(store)
        assert backend(store) == parent
        with store.reader() as uow:
            assert len(uow.outbox.all()) == 6
    finally:
        store.close()
