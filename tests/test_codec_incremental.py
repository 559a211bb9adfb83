"""The compact, incremental order encoding the SQLite store writes.

Every order version the guide's scenario returns is encoded three ways: from scratch, reusing
the data of the version before it, and reusing the data of an unrelated order. All three
must be the same data, and that data (and the full form older databases hold) must decode
back to the very same order.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest

from asolora_core import (
    Actor,
    FakeClock,
    Marketplace,
    Order,
    RecordingNotifier,
    SequentialIds,
    SqliteStore,
    _codec,
)
from asolora_core._codec import dumps
from asolora_core.adapters.sqlite import _ORDER_COLUMNS, _order, _order_form
from asolora_core.adapters.sqlite_base import micros
from asolora_core.events import OrderPlaced, ShipmentDelivered
from samples import START, build_market, scenario

_compact = _codec.incremental_encoder(Order)
_full = _codec.encoder(Order)
_decode = _codec.decoder(Order)


class _Orders:
    """Wraps a marketplace; keeps every order its calls return, in call order."""

    def __init__(self, market: Any) -> None:
        self._market = market
        self.seen: list[Order] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._market, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            for value in result if isinstance(result, tuple) else (result,):
                if isinstance(value, Order):
                    self.seen.append(value)
            return result

        return call


def _scenario_orders() -> list[Order]:
    clock = FakeClock(START)
    recorder = _Orders(build_market(clock))
    scenario(recorder, clock)
    return recorder.seen


def _round_trip(data: dict[str, Any]) -> Order:
    decoded: Order = _decode(json.loads(json.dumps(data)))
    return decoded


def test_every_order_version_encodes_the_same_from_scratch_or_incrementally() -> None:
    orders = _scenario_orders()
    assert len({o.order_id for o in orders}) >= 3
    assert any(o.shipments for o in orders)
    assert any(o.issues for o in orders)
    last: dict[str, tuple[Order, dict[str, Any]]] = {}
    reused = 0
    for order in orders:
        fresh = _compact.encode(order)
        assert _round_trip(fresh) == order
        assert _decode(_full(order)) == order  # the full form stored before stays readable
        before = last.get(order.order_id)
        if before is not None:
            incremental = _compact.encode(order, before[0], before[1])
            assert incremental == fresh
            reused += sum(
                incremental.get(name) is before[1].get(name) for name in ("lines", "shipments")
            )
            # the full form as the previous data: reuse from it decodes the same
            from_full = _compact.encode(order, before[0], _full(before[0]))
            assert _round_trip(from_full) == order
        unrelated = next(o for o in orders if o.order_id != order.order_id)
        assert _compact.encode(order, unrelated, _compact.encode(unrelated)) == fresh
        last[order.order_id] = (order, fresh)
    assert reused > 0  # unchanged parts were reused, not re-encoded


def test_defaults_are_left_out_and_read_back() -> None:
    order = next(o for o in _scenario_orders() if not o.issues and not o.refunds)
    data = _compact.encode(order)
    for field in ("issues", "refunds", "returns", "cancelled_at"):
        assert field not in data
    # what is kept is in the form earlier releases read (instants as ISO 8601)
    assert data["placed_at"] == order.placed_at.isoformat()
    assert data["lines"][0]["policy"] == {
        f.name: v
        for f in attrs.fields(type(order.lines[0].policy))
        if (v := getattr(order.lines[0].policy, f.name)) != f.default
    }
    assert _round_trip(data) == order


def test_sqlite_history_rows_leave_out_their_columns_and_old_rows_still_read(
    tmp_path: Path,
) -> None:
    at = dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
    events = (
        OrderPlaced(
            aggregate_id="o-1",
            at=at,
            actor=Actor.buyer("b-1"),
            checkout_id="c-1",
            vendor_id="v-1",
            buyer_id="b-1",
            currency="EUR",
            paid_minor=1998,
        ),
        ShipmentDelivered(aggregate_id="o-1", at=at, actor=Actor.vendor("v-1"), shipment_id="s-1"),
    )
    store = SqliteStore(str(tmp_path / "h.sqlite3"))
    try:
        with store.unit_of_work() as uow:
            uow.events.append(events)
            uow.commit()
        conn = store.connection()
        for (body,) in conn.execute("SELECT body FROM events").fetchall():
            data = json.loads(body)  # positional (schema step 12): the fields after ``at``
            assert isinstance(data, list)
            assert "o-1" not in data
        with store.reader() as uow:
            assert uow.events.history("o-1") == events
        # a row written whole (before the compact encoding) reads as it did
        conn.execute("UPDATE events SET body = ? WHERE type = 'OrderPlaced'", (dumps(events[0]),))
        with store.reader() as uow:
            assert uow.events.history("o-1") == events
    finally:
        store.close()


def test_sqlite_rows_written_column_by_column_match_their_orders(tmp_path: Path) -> None:
    """Saves set only the columns that changed since the row was read: after the whole guide
    every column of every order row is what the order says, as a full write would set it."""
    clock = FakeClock(START)
    store = SqliteStore(str(tmp_path / "rows.sqlite3"))
    try:
        memory = build_market(clock)  # the guide's marketplace, on SQLite
        market = Marketplace(
            store,
            clock=clock,
            notifier=RecordingNotifier(),
            ids=SequentialIds(),
            config=memory.config,
        )
        scenario(market, clock)
        columns = ", ".join(_ORDER_COLUMNS)
        rows = store.connection().execute(f"SELECT order_id, {columns} FROM orders").fetchall()
        assert len(rows) >= 3
        with store.reader() as uow:
            for order_id, *stored in rows:
                order = _order(order_id, stored[0], json.loads(stored[9]))
                assert order == uow.orders.get(order_id)
                expected = list(uow.orders._row(order)[:-1])
                assert json.loads(expected[9]) == _order_form.encode(order)
                expected[9] = stored[9]
                assert stored == expected, order_id
    finally:
        store.close()


def test_every_order_version_round_trips_in_the_positional_form() -> None:
    """Schema step 12: the positional body (no names, instants as microseconds, actors as
    keys, defaults at the end left out) of every scenario order reads back as that order,
    and the id and version, kept in the row's columns, are not in it."""
    form = _codec.positional(Order, frozenset({"order_id", "version"}))
    for order in _scenario_orders():
        data = json.loads(json.dumps(form.encode(order)))
        assert order.order_id not in data
        assert form.decode(data, order_id=order.order_id, version=order.version) == order
        whole = _codec.positional(Order)
        assert whole.decode(json.loads(json.dumps(whole.encode(order)))) == order


def test_positional_form_leaves_out_trailing_defaults_and_refuses_a_longer_list() -> None:
    order = next(o for o in _scenario_orders() if not o.issues and not o.refunds)
    form = _codec.positional(Order)
    data = form.encode(order)
    names = [f.name for f in attrs.fields(Order)]
    assert len(data) < len(names)  # issues, refunds, returns ... at their defaults
    assert data[names.index("placed_at")] == micros(order.placed_at)
    with pytest.raises(ValueError, match="positional"):
        form.decode([*data, *([None] * len(names))])
    with pytest.raises(ValueError, match="positional"):
        form.decode({"order_id": order.order_id})


def test_positional_encoding_from_an_earlier_version_is_the_same_data() -> None:
    """``encode_from`` (what the SQLite store writes) gives the data ``encode`` gives, from
    the version before, from an unrelated order and from data read back; unchanged parts are
    reused, not encoded again."""
    form = _codec.positional(Order, frozenset({"order_id", "version"}))
    orders = _scenario_orders()
    last: dict[str, tuple[Order, list[Any]]] = {}
    reused = 0
    for order in orders:
        fresh = form.encode(order)
        before = last.get(order.order_id)
        if before is not None:
            again = form.encode_from(order, before[0], before[1])
            assert again == fresh
            reused += sum(a is b for a, b in zip(again, before[1], strict=False))
            read = json.loads(json.dumps(before[1]))
            assert form.encode_from(order, before[0], read) == fresh
        unrelated = next(o for o in orders if o.order_id != order.order_id)
        assert form.encode_from(order, unrelated, form.encode(unrelated)) == fresh
        last[order.order_id] = (order, fresh)
    assert reused > 0


def test_a_codec_built_by_one_thread_is_waited_for_by_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A web worker's threads decode their first order at once: a thread that asks while
    another is still building the positional codec waits for it instead of decoding with
    the codec half built ("not a positional Order", a 500 under load)."""
    order = _scenario_orders()[-1]
    data = _order_form.encode(order)
    fresh = _codec.Positional(Order, frozenset({"order_id", "version"}))
    building, other_asked = threading.Event(), threading.Event()
    build_field = _codec._positional_fn

    def slow_field(tp: Any, *, encode: bool) -> Any:
        if threading.current_thread().name == "builder" and not building.is_set():
            building.set()
            assert other_asked.wait(30)  # the other thread is in _ready while this builds
        return build_field(tp, encode=encode)

    monkeypatch.setattr(_codec, "_positional_fn", slow_field)
    ready = fresh._ready

    def announced_ready() -> None:
        if threading.current_thread().name == "reader":
            other_asked.set()
        ready()

    monkeypatch.setattr(fresh, "_ready", announced_ready)
    known = {"order_id": order.order_id, "version": order.version}
    builder = threading.Thread(target=fresh._ready, name="builder")
    builder.start()
    assert building.wait(30)
    decoded: list[Any] = []
    reader = threading.Thread(
        target=lambda: decoded.append(fresh.decode(data, **known)), name="reader"
    )
    reader.start()
    reader.join(30)
    builder.join(30)
    assert decoded == [order]


@attrs.frozen
class _Inner:
    n: int


@attrs.frozen
class _Outer:
    inner: _Inner
    label: str


def test_an_encoder_half_built_by_one_thread_is_waited_for_by_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The JSON encoders too: a thread that finds another's encoder still being built (its
    placeholder in the cache) waits for it instead of failing (an IndexError, a 500 on the
    first checkouts of a PostgreSQL worker)."""
    building, other_asked = threading.Event(), threading.Event()
    build_attrs = _codec._build_attrs

    def slow(cls: Any, *, encode: bool) -> Any:
        if cls is _Inner and threading.current_thread().name == "builder":
            building.set()
            assert other_asked.wait(30)  # the other thread has the placeholder of _Outer
        return build_attrs(cls, encode=encode)

    monkeypatch.setattr(_codec, "_build_attrs", slow)
    monkeypatch.setattr(_codec, "_ENC", {})
    builder = threading.Thread(target=_codec.encoder, args=(_Outer,), name="builder")
    builder.start()
    assert building.wait(30)
    encoded: list[Any] = []

    def read() -> None:
        placeholder = _codec._ENC[_Outer]
        other_asked.set()
        encoded.append(placeholder(_Outer(_Inner(1), "x")))

    reader = threading.Thread(target=read, name="reader")
    reader.start()
    reader.join(30)
    builder.join(30)
    assert encoded == [{"inner": {"n": 1}, "label": "x"}]
