"""The in-memory store keeps an order nobody wrote lately encoded (its history, hold and
journal transactions with it) and rebuilds it when read: the contract suites pass with every
order encoded at its commit, and everything read back equals what a store that keeps every
order as objects returns (R33)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import Actor, InMemoryStore, Item
from asolora_core.adapters.memory_codec import Codec
from asolora_core.kernel import OrderRef
from asolora_core.ports import IdempotencyRecord, Store
from asolora_core.testing.contract import StoreContract
from asolora_core.testing.ledger_contract import LedgerContract
from asolora_core.testing.reports_contract import ReportsContract

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from facade_lifecycle import Lifecycles


def cold_store() -> InMemoryStore:
    """A store that encodes every order at the commit that wrote it."""
    return InMemoryStore(keep_recent=0)


class TestColdInMemoryStore(StoreContract):
    """R33: the store contract with every order kept encoded between commands; a second
    handle is the same object (one process, one lock)."""

    def make_store(self) -> Store:
        self.store = cold_store()
        return self.store

    def make_second_store(self) -> Store:
        return self.store


class TestColdInMemoryLedger(LedgerContract):
    def make_store(self) -> Store:
        return cold_store()


class TestColdInMemoryReports(ReportsContract):
    def make_store(self) -> Store:
        return cold_store()


def _everything(store: InMemoryStore, order_ids: list[str]) -> object:
    with store.reader() as uow:
        return (
            [uow.orders.get(o) for o in order_ids],
            [uow.events.history(o) for o in order_ids],
            [uow.ledger.get_hold(o) for o in order_ids],
            [uow.ledger.for_order(o) for o in order_ids],
            uow.ledger.journal(),
            uow.ledger.holds_for_vendor("v-1"),
            uow.outbox.all(),
            uow.reports.vendor_orders("v-1", after=None, limit=1000),
        )


def test_encoded_orders_read_back_equal_to_orders_kept_as_objects() -> None:
    hot, cold = InMemoryStore(keep_recent=None), cold_store()
    for store in (hot, cold):
        Lifecycles(store).run(25)
    order_ids = list(hot._tables.orders)
    assert all(isinstance(cold._tables.orders[o], bytes) for o in order_ids)
    assert not any(isinstance(hot._tables.orders[o], bytes) for o in order_ids)
    assert _everything(cold, order_ids) == _everything(hot, order_ids)


def _touch_first_order(store: InMemoryStore) -> None:
    """A write on the first order, long encoded in a cold store: a new version and one more
    event in its history, committed."""
    first = next(iter(store._tables.orders))
    with store.unit_of_work() as uow:
        order = uow.orders.get(first)
        history = uow.events.history(first)
        uow.orders.save(attrs.evolve(order, version=order.version + 1))
        uow.events.append(history[-1:])
        uow.commit()


def test_a_write_on_an_encoded_order_continues_from_what_was_encoded() -> None:
    hot, cold = InMemoryStore(keep_recent=None), cold_store()
    for store in (hot, cold):
        Lifecycles(store).run(3)
        _touch_first_order(store)
    order_ids = list(hot._tables.orders)
    assert isinstance(cold._tables.orders[order_ids[0]], bytes)  # encoded again at commit
    assert _everything(cold, order_ids) == _everything(hot, order_ids)


def test_a_write_rolled_back_leaves_encoded_rows_as_they_were() -> None:
    store = cold_store()
    Lifecycles(store).run(2)
    first = next(iter(store._tables.orders))
    before = dict(store._tables.orders), dict(store._tables.events)
    with store.unit_of_work() as uow:
        order = uow.orders.get(first)
        uow.events.append(uow.events.history(first)[:1])
        uow.orders.save(attrs.evolve(order, version=order.version + 1))
        # no commit: rolled back
    assert (dict(store._tables.orders), dict(store._tables.events)) == before


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.datetimes(),
    lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=4).map(tuple),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(first=_values, value=_values)
def test_the_codec_reads_back_what_it_wrote(first: object, value: object) -> None:
    codec = Codec()
    codec.encode(first)  # the preset dictionary
    assert codec.decode(codec.encode(value)) == value


def _deliver_some(store: InMemoryStore) -> None:
    """Deliver every other due message, fail one, and roll a third delivery back."""
    now = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    with store.unit_of_work() as uow:
        due = uow.outbox.due(now, 1000)
        for m in due[::2]:
            uow.outbox.update(attrs.evolve(m, attempts=1, delivered_at=now))
        uow.outbox.update(attrs.evolve(due[1], attempts=5, failed=True, last_error="gone"))
        uow.commit()
    with store.unit_of_work() as uow:
        m = uow.outbox.due(now, 1)[0]
        uow.outbox.update(attrs.evolve(m, attempts=1, delivered_at=now))
        # rolled back


def test_outbox_messages_kept_in_an_encoded_order_relay_as_the_others() -> None:
    hot, cold = InMemoryStore(keep_recent=None), cold_store()
    for store in (hot, cold):
        Lifecycles(store).run(4)
        _deliver_some(store)
    assert any(isinstance(row, bytes) for row in cold._tables.outbox.values())
    order_ids = list(hot._tables.orders)
    assert _everything(cold, order_ids) == _everything(hot, order_ids)
    later = dt.datetime(2026, 10, 3, tzinfo=dt.UTC)
    with hot.reader() as h, cold.reader() as c:
        assert c.outbox.due(later, 1000) == h.outbox.due(later, 1000)
        assert c.outbox.purge_delivered(later, 1000) == h.outbox.purge_delivered(later, 1000)


def test_keep_recent_none_keeps_every_order_as_objects_and_a_negative_one_is_refused() -> None:
    store = InMemoryStore(keep_recent=None)
    Lifecycles(store).run(20)
    assert not any(isinstance(row, bytes) for row in store._tables.orders.values())
    default = InMemoryStore()
    Lifecycles(default).run(20)
    assert sum(isinstance(row, bytes) for row in default._tables.orders.values()) == 4
    with pytest.raises(ValueError, match="keep_recent"):
        InMemoryStore(keep_recent=-1)


_results = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=10),
    st.builds(OrderRef, st.text(min_size=1, max_size=10), st.integers(1, 50)),
    st.tuples(st.text(max_size=5), st.integers()),
)


@settings(max_examples=100, deadline=None)
@given(
    result=_results,
    arguments=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    error=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
def test_an_idempotency_record_reads_back_equal_to_the_one_written(
    result: object, arguments: dict[str, str], error: dict[str, str] | None
) -> None:
    """R35: the store keeps a record as a flat tuple; what a replay reads is what was put."""
    record = IdempotencyRecord(
        scope="buyer:b-1",
        key="k",
        command="place_checkout",
        request=b"\x01fingerprint",
        arguments=arguments,
        result=result,
        error=error,
        at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    )
    store = InMemoryStore()
    with store.unit_of_work() as uow:
        uow.idempotency.put(record)
        uow.commit()
    with store.reader() as uow:
        read = uow.idempotency.get("buyer:b-1", "k")
    assert read == record
    assert read is not None
    assert type(read.result) is type(result)


@settings(max_examples=100, deadline=None)
@given(
    order_id=st.text(min_size=1, max_size=10),
    version=st.integers(1, 50),
    request=st.binary(max_size=20),
    commit=st.booleans(),
)
def test_the_fast_path_for_an_order_result_stores_what_put_stores(
    order_id: str, version: int, request: bytes, commit: bool
) -> None:
    """R35: ``put_order`` (the kernel's fast path for a command that returned one order)
    keeps the record ``put`` keeps for ``OrderRef(order_id, version)``, and a rollback
    leaves nothing of it."""
    at = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    record = IdempotencyRecord(
        scope="vendor:v-1",
        key="k",
        command="ship",
        request=request,
        result=OrderRef(order_id, version),
        at=at,
    )
    slow, fast = InMemoryStore(), InMemoryStore()
    with slow.unit_of_work() as uow:
        uow.idempotency.put(record)
        uow.commit()
    with fast.unit_of_work() as uow:
        uow.idempotency.put_order("vendor:v-1", "k", "ship", request, at, order_id, version)
        if commit:
            uow.commit()
    assert list(fast._tables.keys_by_age) == (list(slow._tables.keys_by_age) if commit else [])
    assert fast._tables.idempotency == (slow._tables.idempotency if commit else {"vendor:v-1": {}})
    with fast.reader() as uow:
        assert uow.idempotency.get("vendor:v-1", "k") == (record if commit else None)


def test_a_keyed_command_replays_from_the_flat_record() -> None:
    """A command sent again with its key returns the order of the first time (R35)."""
    store = InMemoryStore()
    lifecycles = Lifecycles(store, keys=True)
    lifecycles.run(1)
    market, buyer = lifecycles.market, Actor.buyer("b-1")
    items = [Item(vendor_id="v-1", product_id="p-1", quantity=1, unit_price=Money("5", "EUR"))]
    (first,) = market.place_checkout(
        buyer=buyer, customer_name="Ada", items=items, paid=Money("5", "EUR"), idempotency_key="x"
    )
    (again,) = market.place_checkout(
        buyer=buyer, customer_name="Ada", items=items, paid=Money("5", "EUR"), idempotency_key="x"
    )
    assert again == first
    assert all(
        type(row) is tuple for rows in store._tables.idempotency.values() for row in rows.values()
    )
