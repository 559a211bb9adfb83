"""Shared fixtures: a fake clock, a recording notifier, readable ids, and a ``market`` facade
run once on each repository (R33: the same scenarios hold whatever store holds the data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each repository in turn: InMemoryStore, then SqliteStore on a file."""
    made: Store = InMemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "m.db")
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
