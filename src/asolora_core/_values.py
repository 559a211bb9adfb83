"""A faster ``attrs.evolve`` for the hot path of every command.

``attrs.evolve`` looks the class's fields up and loops over them on every call. Here each
class gets a generated function (the way attrs generates ``__init__``) that reads the old
fields as plain attribute loads and calls the class, so validators still run. Measured with
``python benchmarks/run.py``: it took the in-memory lifecycle from 0.80x to the figure in the
project notes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs

__all__ = ["evolve", "replacer"]

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
