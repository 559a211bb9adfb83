"""The web examples under load as a deployment runs them (``examples/web_load.py``).

Real server processes (uvicorn and gunicorn, four workers each) on one SQLite file and on
PostgreSQL (each worker on a connection pool), sixteen clients at once: checkouts sent three
times at once with one key, two clerks shipping one order at once, concurrent refunds, chat,
reads and hostile bodies. No answer is a 5xx; every refusal is a 4xx problem with its code
(R2); a retried key returns the first result (R35); and the store agrees with what the
clients computed (R24, R29, R36).
A busy SQLite write lock is a 503 ``store_busy`` and the same request sent again lands
once. Each run is bounded: the server must start within 60 s, every request within 60 s.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from asolora_core import Actor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import web_common  # noqa: E402
import web_load  # noqa: E402

from pg_support import dsn, make_store, postgres  # noqa: E402

WORKERS, CLIENTS, ROUNDS = 4, 16, 2


def _load_and_check(kind: str, env: dict[str, str], tmp_path: Path) -> None:
    with web_load.serve(kind, WORKERS, env, tmp_path) as transport:
        result = web_load.run_load(transport, clients=CLIENTS, rounds=ROUNDS)
    assert result.failures == []
    assert not [s for s in result.statuses if s >= 500]
    assert result.statuses[201] > 0  # the happy path ran, not only refusals
    # every checkout of every client landed once, with what the clients computed
    assert len([o for o in result.orders.values() if o[0] == "anna"]) == CLIENTS * ROUNDS
    store = web_common.store_from_env(env)
    try:
        assert web_load.check_state(web_common.build_market(store), result) == []
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["fastapi", "flask"])
def test_four_workers_on_one_sqlite_file(kind: str, tmp_path: Path) -> None:
    if kind == "flask":
        pytest.importorskip("gunicorn")
    _load_and_check(kind, {"ASOLORA_DB": str(tmp_path / "shop.db")}, tmp_path)


@pytest.fixture
def schema() -> Iterator[str]:
    store = make_store()
    assert store.schema is not None
    yield store.schema
    store.close()


@postgres
@pytest.mark.parametrize("kind", ["fastapi", "flask"])
def test_four_workers_on_postgres_each_on_a_connection_pool(
    kind: str, schema: str, tmp_path: Path
) -> None:
    """Each worker process borrows from a ``psycopg_pool.ConnectionPool`` of four connections
    (fewer than gunicorn's eight threads per worker: requests wait for a connection): still no
    5xx, and the store agrees with the clients."""
    if kind == "flask":
        pytest.importorskip("gunicorn")
    env = {"ASOLORA_PG_DSN": dsn(), "ASOLORA_PG_SCHEMA": schema, "ASOLORA_PG_POOL_SIZE": "4"}
    store = web_common.store_from_env(env)
    try:
        pool = getattr(store, "owned_pool", None)
        assert pool is not None  # the pool path, not a connection per thread
        assert pool.max_size == 4
    finally:
        store.close()
    assert pool.closed  # closing the store closed its pool
    _load_and_check(kind, env, tmp_path)


def test_a_busy_sqlite_write_lock_is_a_retryable_503(tmp_path: Path) -> None:
    """A writer that waits past the busy timeout gets 503 ``store_busy``, retryable;
    nothing was stored under its key, so the same request sent again lands once."""
    db = tmp_path / "shop.db"
    env = {"ASOLORA_DB": str(db), "ASOLORA_SQLITE_BUSY_MS": "200"}
    body = web_load.checkout(
        name="Ada", product="mug", price={"amount": "18.00", "currency": "EUR"}
    )
    headers = {"X-Actor": "buyer:ada", "Idempotency-Key": "checkout-1"}
    with (
        web_load.serve("fastapi", 2, env, tmp_path) as transport,
        httpx.Client(transport=transport, base_url="http://shop", timeout=60) as http,
    ):
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            busy = http.post("/checkout", json=body, headers=headers)
            read = http.get("/vendor/orders", headers={"X-Actor": "vendor:anna"})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        placed = http.post("/checkout", json=body, headers=headers)
        again = http.post("/checkout", json=body, headers=headers)
        page = http.get("/vendor/orders", headers={"X-Actor": "vendor:anna"}).json()
    assert busy.status_code == 503, busy.text
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert (busy.json()["code"], busy.json()["retryable"]) == ("store_busy", True)
    assert read.status_code == 200  # readers are not blocked by a writer (WAL)
    assert placed.status_code == 201, placed.text
    assert again.json() == placed.json()
    assert [o["order_id"] for o in page["items"]] == [placed.json()[0]["order_id"]]
    store = web_common.store_from_env(env)
    try:
        market = web_common.build_market(store)
        assert not market.verify_journal(by=Actor.staff("audit")).problems
    finally:
        store.close()
