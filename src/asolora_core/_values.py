"""A faster ``attrs.evolve`` for the hot path of every command, and one shared ``__repr__``.

``attrs.evolve`` looks the class's fields up and loops over them on every call. Here each
class gets a generated function (the way attrs generates ``__init__``) that reads the old
fields as plain attribute loads and calls the class, so validators still run. Measured with
the project's benchmarks: it took the in-memory lifecycle from 0.80x to the figure in the
project notes.

:func:`value_repr` is the ``__repr__`` of the package's frozen values: attrs would otherwise
compile one per class at import time, and those f-string methods were about a sixth of what
``import asolora_core`` executed (callgrind instruction counts). It
returns exactly what attrs' generated ``__repr__`` returns. :func:`value_eq` and
:func:`value_hash` do the same for ``__eq__`` and ``__hash__`` of the event classes (dozens of
them) and of the report, listing and messaging values: all compared and hashed off the hot
path only (orders, holds and the like keep attrs' generated methods).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs

__all__ = ["evolve", "replacer", "value_eq", "value_hash", "value_repr"]

T = TypeVar("T")
_EVOLVERS: dict[type[Any], Callable[..., Any]] = {}


class _Keep:
    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"


_KEEP: Any = _Keep()


def _build(cls: type[Any]) -> Callable[..., Any]:
    fields = [(f.name, f.alias or f.name) for f in attrs.fields(cls) if f.init]
    params = ", ".join(f"{alias}=_KEEP" for _, alias in fields)
    args = ", ".join(
        f"{alias}=inst.{name} if {alias} is _KEEP else {alias}" for name, alias in fields
    )
    source = f"def evolve(inst, *, {params}):\n    return cls({args})\n"
    namespace: dict[str, Any] = {"cls": cls, "_KEEP": _KEEP}
    exec(compile(source, f"<evolve {cls.__qualname__}>", "exec"), namespace)
    fn: Callable[..., Any] = namespace["evolve"]
    return fn


def evolve(inst: T, **changes: Any) -> T:
    """A copy of the frozen attrs value ``inst`` with ``changes`` applied."""
    cls = type(inst)
    fn = _EVOLVERS.get(cls)
    if fn is None:
        fn = _EVOLVERS[cls] = _build(cls)
    result: T = fn(inst, **changes)
    return result


def replacer(cls: type[T], *names: str) -> Callable[..., T]:
    """A generated function ``f(inst, v1, v2, ...)``: a copy of ``inst`` (an instance of the
    frozen attrs class ``cls``) with the fields ``names`` set to ``v1, v2, ...`` in that order
    and every other field kept. It calls the class (validators run), like :func:`evolve`,
    without looking the class up or testing each field on every call: for the few changes a
    hot command makes (a new version and shipments)."""
    fields = {f.name: f.alias or f.name for f in attrs.fields(cast(Any, cls)) if f.init}
    unknown = [n for n in names if n not in fields]
    if unknown or len(set(names)) != len(names):
        raise TypeError(f"{cls.__qualname__} has no init fields {unknown or names}")
    args = ", ".join(
        f"{alias}={'_' + name if name in names else 'inst.' + name}"
        for name, alias in fields.items()
    )
    params = ", ".join(f"_{name}" for name in names)
    source = f"def replace(inst, {params}):\n    return cls({args})\n"
    namespace: dict[str, Any] = {"cls": cls}
    label = f"<replace {cls.__qualname__}: {', '.join(names)}>"
    exec(compile(source, label, "exec"), namespace)
    fn: Callable[..., T] = namespace["replace"]
    return fn


#: class -> (field name, formatter or None for ``repr``) of each field attrs would show
_REPR_FIELDS: dict[type[Any], tuple[tuple[str, Callable[[Any], str] | None], ...]] = {}
_REPRING = threading.local()  # ids of the values being repr'd on this thread (cycles)


def _repr_fields(cls: type[Any]) -> tuple[tuple[str, Callable[[Any], str] | None], ...]:
    fields = tuple(
        (f.name, None if f.repr is True else cast(Callable[[Any], str], f.repr))
        for f in attrs.fields(cls)
        if f.repr is not False
    )
    _REPR_FIELDS[cls] = fields
    return fields


def value_repr(self: Any) -> str:
    """``Name(field=value, ...)``, what attrs' generated ``__repr__`` returns (fields with
    ``repr=False`` left out, a field's own ``repr`` callable honoured, ``...`` for a value
    met again inside itself). Used as ``__repr__ = value_repr`` in a class body, which
    attrs (``auto_detect``) takes as the class's own and does not generate one."""
    cls = type(self)
    fields = _REPR_FIELDS.get(cls) or _repr_fields(cls)
    seen: set[int] | None = getattr(_REPRING, "ids", None)
    if seen is None:
        seen = _REPRING.ids = set()
    if id(self) in seen:
        return "..."
    seen.add(id(self))
    try:
        parts = []
        for name, fmt in fields:
            value = getattr(self, name, attrs.NOTHING)
            parts.append(f"{name}={value!r}" if fmt is None else f"{name}={fmt(value)}")
        return f"{cls.__qualname__.rsplit('>.', 1)[-1]}({', '.join(parts)})"
    finally:
        seen.discard(id(self))


_Keyed = tuple[tuple[str, Callable[[Any], Any] | None], ...]
#: class -> (name, eq_key) of each field that takes part in ``==``
_EQ_FIELDS: dict[type[Any], _Keyed] = {}
#: class -> (a number of the class, (name, eq_key) of each field that takes part in ``hash``)
_HASH_FIELDS: dict[type[Any], tuple[int, _Keyed]] = {}


def _eq_fields(cls: type[Any]) -> _Keyed:
    fields = tuple((f.name, f.eq_key) for f in attrs.fields(cls) if f.eq)
    _EQ_FIELDS[cls] = fields
    return fields


def _hash_fields(cls: type[Any]) -> tuple[int, _Keyed]:
    fields = tuple(
        (f.name, f.eq_key)
        for f in attrs.fields(cls)
        if f.hash is True or (f.hash is None and f.eq is True)
    )
    entry = _HASH_FIELDS[cls] = (hash(f"<value hash {cls.__module__}.{cls.__qualname__}>"), fields)
    return entry


def value_eq(self: Any, other: object) -> Any:
    """``self == other`` as attrs' generated ``__eq__``: ``NotImplemented`` for another class,
    else the fields taking part in equality compared in order (``eq_key`` honoured), the first
    false comparison (or the last one) being the result."""
    if other.__class__ is not self.__class__:
        return NotImplemented
    result: Any = True
    for name, key in _EQ_FIELDS.get(self.__class__) or _eq_fields(self.__class__):
        mine, theirs = getattr(self, name), getattr(other, name)
        result = key(mine) == key(theirs) if key is not None else mine == theirs
        if not result:
            return result
    return result


def value_hash(self: Any) -> int:
    """``hash(self)`` as attrs' generated ``__hash__``: a number of the class and the fields
    taking part in hashing (``eq_key`` honoured), so equal values hash alike."""
    cls = self.__class__
    number, fields = _HASH_FIELDS.get(cls) or _hash_fields(cls)
    return hash(
        (number, *(getattr(self, n) if k is None else k(getattr(self, n)) for n, k in fields))
    )
