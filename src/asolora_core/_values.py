"""A faster ``attrs.evolve`` for the hot path of every command.

``attrs.evolve`` looks the class's fields up and loops over them on every call. Here each
class gets a generated function (the way attrs generates ``__init__``) that reads the old
fields as plain attribute loads and calls the class, so validators still run. Measured with
``python benchmarks/run.py``: it took the in-memory lifecycle from 0.80x to the figure in the
project notes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["evolve"]

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
