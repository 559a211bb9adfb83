"""Compact, private encoding of the values :class:`~asolora_core.adapters.memory.InMemoryStore`
keeps for orders nobody has touched lately (an order and its history).

A value is pickled with a private dispatch table, so that a frozen attrs value is written as
its class and the tuple of its fields (no field names, no ``__getstate__`` dict) and an enum
member as its class and name, then compressed with zlib against a preset dictionary: the first
value the store encoded of that kind. Orders of one marketplace share their shape, field
names and most texts, so most of an order's bytes are found in the dictionary.

Decoding rebuilds every value through its slots, as attrs's own ``__init__`` sets them (the
values were validated when first built; they are immutable), so a value read back equals the
one written. This is in-process memory only: nothing encoded here is ever read from outside.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import io
import operator
import pickle
import zlib
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["Codec"]

_Reduce = Callable[[Any], tuple[Any, ...]]

#: index -> function rebuilding a value from its one argument; a value is pickled as
#: ``(_build, (index, argument))``, so the only global a blob names is ``_build`` (naming a
#: class in a pickle costs more than the rest of an order)
_BUILDERS: list[Callable[[Any], Any]] = []


def _build(index: int, argument: Any) -> Any:
    """Rebuild a value (called by ``pickle.loads``)."""
    return _BUILDERS[index](argument)


def _register(builder: Callable[[Any], Any]) -> int:
    _BUILDERS.append(builder)
    return len(_BUILDERS) - 1


def _builder(cls: type[Any]) -> Callable[[tuple[Any, ...]], Any]:
    """A function setting each slot of a new ``cls`` from the tuple of its fields, in order."""
    names = [a.name for a in attrs.fields(cls)]
    ns: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = ["def build(v):", "    o = new(cls)"]
    for i, name in enumerate(names):
        ns[f"s{i}"] = getattr(cls, name).__set__  # the slot's descriptor
        lines.append(f"    s{i}(o, v[{i}])")
    lines.append("    return o")
    exec("\n".join(lines), ns)  # generated from the class's own field names
    build: Callable[[tuple[Any, ...]], Any] = ns["build"]
    return build


def _attrs_reducer(cls: type[Any]) -> _Reduce:
    names = [a.name for a in attrs.fields(cls)]
    get = operator.attrgetter(*names)
    index = _register(_builder(cls))
    if len(names) == 1:
        return lambda value: (_build, (index, (get(value),)))
    return lambda value: (_build, (index, get(value)))


def _enum_reducer(cls: type[enum.Enum]) -> _Reduce:
    index = _register(functools.partial(getattr, cls))
    return lambda value: (_build, (index, value._name_))


#: ``datetime(state, tzinfo)``: how pickle rebuilds a datetime from its state bytes
_FROM_STATE: Callable[[bytes, _dt.tzinfo], _dt.datetime] = _dt.datetime  # type: ignore[assignment]


def _utc(state: bytes) -> _dt.datetime:
    return _FROM_STATE(state, _dt.UTC)


_UTC = _register(_utc)


def _datetime_reducer(value: _dt.datetime) -> tuple[Any, ...]:
    if value.tzinfo is _dt.UTC:
        return (_build, (_UTC, value.__reduce__()[1][0]))
    reduced = value.__reduce__()
    assert isinstance(reduced, tuple)
    return reduced


def _encodable(cls: type[Any]) -> bool:
    """Slotted attrs classes: every field is a slot of the class."""
    return attrs.has(cls) and all(
        type(getattr(cls, a.name, None)).__name__ == "member_descriptor" for a in attrs.fields(cls)
    )


_DEFAULT = operator.methodcaller("__reduce_ex__", pickle.HIGHEST_PROTOCOL)


class _Table(dict[type[Any], Any]):
    """The dispatch table: filled on first sight of each attrs or enum class."""

    def __missing__(self, cls: type[Any]) -> Any:
        if issubclass(cls, type):  # a metaclass (an enum's class): pickled by name
            raise KeyError(cls)
        reduce: Any
        if issubclass(cls, enum.Enum):
            reduce = _enum_reducer(cls)
        elif cls is _dt.datetime:
            reduce = _datetime_reducer
        elif _encodable(cls):
            reduce = _attrs_reducer(cls)
        else:  # anything else as pickle would; kept, so no KeyError on every sight
            reduce = _DEFAULT
        self[cls] = reduce
        return reduce


_TABLE = _Table()


#: raw deflate with an 8 KB window (the preset dictionary's last 8 KB count): small streams
#: start faster with smaller tables
_WBITS = 13
#: deflate level 2 with the default hash size (memLevel 8): the fastest setting measured on
#: encoded orders (about 14 µs for ~2.3 KB of pickle), and slightly smaller than memLevel 3
_LEVEL = 2
_MEM_LEVEL = 8


class Codec:
    """Encodes values of one kind (say, orders) to compressed bytes and back. The preset
    dictionary is the first value encoded (fixed from then on: every blob is decoded with
    it).

    One pickler and its buffer are kept and reused (its memo cleared per value): encoding
    runs under the store's lock, one value at a time."""

    __slots__ = ("_buf", "_pickler", "_zdict")

    def __init__(self) -> None:
        self._zdict: bytes | None = None
        self._buf = io.BytesIO()
        self._pickler = pickle.Pickler(self._buf, pickle.HIGHEST_PROTOCOL)
        self._pickler.dispatch_table = _TABLE

    def encode(self, value: Any) -> bytes:
        buf, pickler = self._buf, self._pickler
        buf.seek(0)
        buf.truncate()
        pickler.clear_memo()
        pickler.dump(value)
        raw = buf.getvalue()
        if self._zdict is None:
            self._zdict = raw
        c = zlib.compressobj(
            _LEVEL, zlib.DEFLATED, -_WBITS, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, self._zdict
        )
        return c.compress(raw) + c.flush()

    def decode(self, blob: bytes) -> Any:
        assert self._zdict is not None
        d = zlib.decompressobj(-_WBITS, zdict=self._zdict)
        return pickle.loads(d.decompress(blob) + d.flush())
