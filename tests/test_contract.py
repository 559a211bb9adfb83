"""The shipped contract suite (asolora_core.testing.contract) on every store we ship (R33).

Each class is what an adapter author writes: subclass ``StoreContract`` and say how to open
a fresh store (and, when the database can have several handles, a second one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    ConcurrencyConflictError,
    FakeClock,
    InMemoryStore,
    Item,
    Marketplace,
    Notification,
    Order,
    SqliteStore,
)
from asolora_core.ports import OutboxMessage, Store
from asolora_core.testing.contract import T0, StoreContract
from pg_support import make_store as make_pg_store
from pg_support import new_schema, postgres


class TestInMemoryStore(StoreContract):
    """R33: the in-memory reference passes its own contract; a second handle is the same
    object (one process, one lock)."""

    def make_store(self) -> Store:
        self.store = InMemoryStore()
        return self.store

    def make_second_store(self) -> Store:
        return self.store


class TestSqliteFileStore(StoreContract):
    """R33: SQLite on a file, with a second connection pool on the same file."""

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.files = 0

    def make_store(self) -> Store:
        self.files += 1  # a new file each time: a fresh, empty database
        self.path = self.directory / f"contract-{self.files}.db"
        return SqliteStore(self.path)

    def make_second_store(self) -> Store:
        return SqliteStore(self.path)


class TestSqliteMemoryStore(StoreContract):
    """R33: SQLite ``:memory:`` is private to one connection, which every thread shares: the
    "second handle" is the same store, used from another thread."""

    def make_store(self) -> Store:
        self.store = SqliteStore(":memory:")
        return self.store

    def make_second_store(self) -> Store:
        return self.store


def test_contract_is_not_imported_by_the_package() -> None:
    """House style 9: ``import asolora_core`` pulls in neither pytest nor hypothesis, nor the
    testing kit."""
    import subprocess
    import sys

    code = (
        "import sys, asolora_core; "
        "bad = [m for m in ('pytest', 'hypothesis', 'asolora_core.testing.contract') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _ConflictingUnitOfWork:
    """A unit of work whose next order saves lose a race, as they can on a server database
    with row-level optimistic checks."""

    def __init__(self, inner: Any, store: _ConflictingStore) -> None:
        self._inner = inner
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _ConflictingUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._inner.__exit__(*exc_info)

    @property
    def orders(self) -> Any:
        inner_orders, store = self._inner.orders, self._store

        class Orders:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner_orders, name)

            def save(self, order: Order) -> None:
                if store.conflicts > 0:
                    store.conflicts -= 1
                    raise ConcurrencyConflictError("another writer saved first")
                inner_orders.save(order)

        return Orders()


class _ConflictingStore:
    def __init__(self, inner: Store, conflicts: int) -> None:
        self.inner = inner
        self.conflicts = conflicts

    def unit_of_work(self) -> Any:
        return _ConflictingUnitOfWork(self.inner.unit_of_work(), self)

    def close(self) -> None:
        self.inner.close()


def test_a_version_conflict_is_not_remembered_under_the_idempotency_key() -> None:
    """R35, R36: a command that loses a race (ConcurrencyConflictError) is not an outcome to
    replay: the retry with the same key runs, and only then is its result remembered."""
    store = _ConflictingStore(InMemoryStore(), conflicts=0)
    market = Marketplace(cast(Store, store), clock=FakeClock(T0))
    (order,) = market.place_checkout(
        buyer=Actor.buyer("b-1"),
        customer_name="Ada",
        items=[
            Item(vendor_id="v-1", product_id="p-1", quantity=1, unit_price=Money("3.00", "EUR"))
        ],
        paid=Money("3.00", "EUR"),
    )

    def ship() -> Order:
        return market.ship(
            order.order_id,
            by=Actor.vendor("v-1"),
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="TN-1",
            idempotency_key="ship-1",
        )

    store.conflicts = 1
    with pytest.raises(ConcurrencyConflictError):
        ship()
    shipped = ship()
    assert len(shipped.shipments) == 1
    assert ship() == shipped


@postgres
class TestPostgresStore(StoreContract):
    """R33: PostgreSQL on a fresh schema, with a second store (its own connections) on the
    same schema."""

    def make_store(self) -> Store:
        self.schema = new_schema()
        store: Store = make_pg_store(self.schema)
        return store

    def make_second_store(self) -> Store:
        store: Store = make_pg_store(self.schema)
        return store


@pytest.mark.parametrize(
    "text",
    [
        "o-1 shipped",
        "Order o-1 (o-1) shipped",
        "\x00o-1\x00",
        "\x00",
        "",
        "nothing about it",
        "o-1",
    ],
)
@pytest.mark.parametrize("subject_id", ["o-1", "", "\x00"])
def test_r29_the_memory_outbox_gives_back_every_text_exactly(text: str, subject_id: str) -> None:
    """R29: the memory store keeps a notification text with its subject id factored out (one
    shared string per kind); what it gives back is the text it was given, whatever the text
    and the id hold."""
    store = InMemoryStore()
    notification = Notification(
        recipient=Actor.buyer("b-1"), kind="k", subject_id=subject_id, text=text, event_at=T0
    )
    message = OutboxMessage(
        message_id="n-1", notification=notification, created_at=T0, next_attempt_at=T0
    )
    with store.unit_of_work() as uow:
        uow.outbox.add([message])
        uow.commit()
    with store.reader() as uow:
        assert uow.outbox.all() == (message,)
        assert uow.outbox.due(T0, 10) == (message,)
