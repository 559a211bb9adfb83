"""The shared ``__repr__`` of the package's values and ``__eq__`` / ``__hash__`` of its events
and report values (``asolora_core._values``).

They replace the methods attrs would generate per class (to keep ``import asolora_core``
cheap), so they must behave exactly as attrs' own: each class is compared with an
attrs-generated twin holding the same field values.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import asolora_core
from asolora_core._values import value_eq, value_hash, value_repr


def _own(cls: type[Any], name: str) -> object:
    """The method ``name`` of ``cls`` (its own, as attrs' auto_detect sees it)."""
    return cls.__dict__.get(name)


def _package_classes() -> list[type[Any]]:
    """Every attrs class of the package whose ``__repr__`` is :func:`value_repr` (each module
    of the package imported, so lazily loaded ones count too)."""
    return [c for c in _ATTRS_CLASSES if _own(c, "__repr__") is value_repr]


def _all_attrs_classes() -> list[type[Any]]:
    for info in pkgutil.walk_packages(asolora_core.__path__, "asolora_core."):
        if ".testing" in info.name or info.name.endswith(("__main__", "_demo", "_docgen")):
            continue
        importlib.import_module(info.name)
    seen: dict[type[Any], None] = {}
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("asolora_core"):
            continue
        for value in vars(module).values():
            if isinstance(value, type) and attrs.has(value):
                seen[value] = None
    return sorted(seen, key=lambda c: f"{c.__module__}.{c.__qualname__}")


_ATTRS_CLASSES = _all_attrs_classes()
CLASSES = _package_classes()
SHARED_EQ_CLASSES = [c for c in _ATTRS_CLASSES if _own(c, "__eq__") is value_eq]


_TWINS: dict[type[Any], type[Any]] = {}


def _twin(cls: type[Any]) -> type[Any]:
    """An attrs class named like ``cls`` with its fields (and their ``repr`` settings) and an
    attrs-generated ``__repr__``."""
    if cls in _TWINS:
        return _TWINS[cls]
    fields = {
        f.name: attrs.field(repr=f.repr, eq=f.eq_key or f.eq, hash=f.hash)
        for f in attrs.fields(cls)
    }
    twin = attrs.make_class(cls.__name__, fields, frozen=True, kw_only=True)
    twin.__qualname__ = cls.__qualname__
    _TWINS[cls] = twin
    return twin


def _filled(cls: type[Any], values: dict[str, object]) -> Any:
    """An instance of ``cls`` holding ``values`` as they are (no validators: the repr is
    what is under test, and it must print anything a field holds)."""
    inst = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(inst, name, value)
    return inst


def test_the_values_of_every_feature_use_the_shared_repr() -> None:
    """Guards the import-time saving: the events and the models keep the shared repr."""
    names = {c.__qualname__ for c in CLASSES}
    assert {"Order", "Shipment", "OrderPlaced", "ProceedsHeld", "Notification", "Actor"} <= names
    assert {"SalesReport", "Conversation", "Message", "RateSnapshot", "OutboxMessage"} <= names
    assert {"Hold", "JournalTransaction", "VendorAccount", "MoneyConfig"} <= names


_field_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3).map(tuple) | st.lists(inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
@settings(max_examples=20)
@given(data=st.data())
def test_it_prints_what_attrs_prints(cls: type[Any], data: st.DataObject) -> None:
    values: dict[str, object] = {
        f.name: data.draw(_field_values, label=f.name) for f in attrs.fields(cls)
    }
    assert repr(_filled(cls, values)) == repr(_filled(_twin(cls), values))


def test_events_and_report_values_use_the_shared_eq_and_hash() -> None:
    events = set(SHARED_EQ_CLASSES)
    assert {
        asolora_core.OrderPlaced,
        asolora_core.ProceedsHeld,
        asolora_core.MessagePosted,
        asolora_core.SalesReport,
        asolora_core.StorePerformance,
        asolora_core.OrderPage,
    } <= events
    assert all(_own(c, "__hash__") is value_hash for c in events)
    assert _own(asolora_core.Order, "__eq__") is not value_eq  # hot-path values keep attrs' own


_hashable_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3).map(tuple),
    max_leaves=6,
)


@pytest.mark.parametrize("cls", SHARED_EQ_CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
@settings(max_examples=20)
@given(data=st.data())
def test_it_compares_and_hashes_as_attrs_does(cls: type[Any], data: st.DataObject) -> None:
    names = [f.name for f in attrs.fields(cls)]
    first: dict[str, object] = {n: data.draw(_hashable_values, label=n) for n in names}
    second = dict(first)
    for name in data.draw(st.lists(st.sampled_from(names), max_size=2), label="changed"):
        second[name] = data.draw(_hashable_values, label=f"new {name}")
    mine = (_filled(cls, first), _filled(cls, second))
    theirs = (_filled(_twin(cls), first), _filled(_twin(cls), second))
    assert (mine[0] == mine[1]) == (theirs[0] == theirs[1])
    assert (mine[0] != mine[1]) == (theirs[0] != theirs[1])
    if mine[0] == mine[1]:
        assert hash(mine[0]) == hash(mine[1])
    assert mine[0].__eq__(theirs[0]) is NotImplemented  # another class: not equal
    assert mine[0] != theirs[0]


def test_a_value_met_again_inside_itself_prints_as_dots_like_attrs() -> None:
    cls = asolora_core.Actor
    twin = _twin(cls)
    mine_box: list[object] = []
    mine = _filled(cls, {"kind": mine_box, "id": "v-1"})
    mine_box.append(mine)
    theirs_box: list[object] = []
    theirs = _filled(twin, {"kind": theirs_box, "id": "v-1"})
    theirs_box.append(theirs)
    assert repr(mine) == repr(theirs) == "Actor(kind=[...], id='v-1')"
    assert repr(mine) == "Actor(kind=[...], id='v-1')"  # the guard is released after a repr


def test_a_field_left_out_of_the_repr_stays_out() -> None:
    @attrs.frozen
    class Secretive:
        __repr__ = value_repr

        shown: int
        hidden: str = attrs.field(repr=False)
        custom: int = attrs.field(default=7, repr=lambda v: f"<{v}>")

    assert Secretive.__qualname__.endswith("<locals>.Secretive")
    assert repr(Secretive(1, "s")) == "Secretive(shown=1, custom=<7>)"
