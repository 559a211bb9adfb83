"""Shared fixtures: a fake clock, a recording notifier, readable ids, and a ``market`` facade
run once on each repository (R33: the same scenarios hold whatever store holds the data)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    DomainEvent,
    FakeClock,
    InMemoryStore,
    Item,
    Marketplace,
    MarketplaceConfig,
    Order,
    RecordingNotifier,
    SequentialIds,
    SqliteStore,
)
from asolora_core.ports import OutboxMessage, Store
from pg_support import DSN, HOW_TO_ENABLE, drop_schemas, make_store

#: Where every test's FakeClock starts: a Monday morning, UTC.
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

MarketFactory = Callable[..., Marketplace]
#: What a refused command must leave as it was: the order, its history, the whole outbox.
Snapshot = tuple[Order, tuple[DomainEvent, ...], tuple[OutboxMessage, ...]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def ids() -> SequentialIds:
    return SequentialIds()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` skip without ``ASOLORA_TEST_POSTGRES_DSN``; CI sets
    ``ASOLORA_REQUIRE_POSTGRES=1`` so that they can never skip there."""
    if DSN is not None:
        return
    if os.environ.get("ASOLORA_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError(f"ASOLORA_REQUIRE_POSTGRES=1 but {HOW_TO_ENABLE}")
    skip = pytest.mark.skip(reason=HOW_TO_ENABLE)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line, not one per test, when the PostgreSQL tests were skipped."""
    if DSN is None:
        terminalreporter.write_line(HOW_TO_ENABLE)


_skipped_postgres: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_schemas()
    if _skipped_postgres and os.environ.get("ASOLORA_REQUIRE_POSTGRES") == "1":
        print(f"\n{len(_skipped_postgres)} PostgreSQL tests skipped, e.g. {_skipped_postgres[0]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def open_store(kind: str, tmp_path: Path) -> Store:
    """A new, empty store of ``kind`` (``memory``, ``sqlite``: a file in ``tmp_path``, or
    ``postgres``: a fresh schema of this run)."""
    if kind == "memory":
        return InMemoryStore()
    if kind == "sqlite":
        return SqliteStore(tmp_path / "m.db")
    made: Store = make_store()
    return made


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each repository in turn: InMemoryStore, SqliteStore on a file, PostgresStore on a
    fresh schema (when ``ASOLORA_TEST_POSTGRES_DSN`` is set)."""
    made = open_store(request.param, tmp_path)
    yield made
    made.close()


@pytest.fixture
def make_market(
    store: Store, clock: FakeClock, notifier: RecordingNotifier, ids: SequentialIds
) -> MarketFactory:
    """Build a Marketplace on the test's store, clock, notifier and ids with a given config."""

    def build(config: MarketplaceConfig | None = None) -> Marketplace:
        return Marketplace(store, clock=clock, notifier=notifier, ids=ids, config=config)

    return build


@pytest.fixture
def market(make_market: MarketFactory) -> Marketplace:
    """The facade with the default configuration, on each repository."""
    return make_market()


@pytest.fixture
def snapshot(market: Marketplace) -> Callable[[str], Snapshot]:
    """``snapshot(order_id)``: the order, its history and the outbox, read as staff."""
    staff = Actor.staff("snapshot")

    def take(order_id: str) -> Snapshot:
        return (
            market.get_order(order_id, by=staff),
            market.order_history(order_id, by=staff),
            market.outbox(by=staff),
        )

    return take


@pytest.fixture
def order(market: Marketplace) -> Order:
    """A placed order of vendor ``v-1`` for buyer ``b-1`` ("Ada Buyer"), in EUR: line 0 is
    2 x 10.00, line 1 is 1 x 5.00, shipping 3.00, paid 28.00 in full."""
    (placed,) = market.place_checkout(
        buyer=Actor.buyer("b-1"),
        customer_name="Ada Buyer",
        items=[
            Item(vendor_id="v-1", product_id="p-mug", quantity=2, unit_price=Money("10.00", "EUR")),
            Item(vendor_id="v-1", product_id="p-tea", quantity=1, unit_price=Money("5.00", "EUR")),
        ],
        paid=Money("28.00", "EUR"),
        shipping={"v-1": Money("3.00", "EUR")},
    )
    return placed
