"""JSON codec for the library's frozen attrs values (used by the SQL stores).

Type-hint driven: each attrs class gets an encoder and a decoder built once from its field
types and cached. Supported field types: ``int``, ``str``, ``bool``, ``Decimal`` (as a
string), aware ``datetime`` (ISO 8601, UTC), enums (by value), ``X | None``,
``tuple[X, ...]``, fixed tuples, ``dict[str, X]``, ``frozenset[str]`` and nested attrs
classes. Anything else is a programming error caught by the contract tests.

:func:`dump_any` / :func:`load_any` add a type tag for values whose class is not known up
front (idempotent command results, R35); classes opt in with :func:`register`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["decoder", "dump_any", "dumps", "encoder", "load_any", "loads", "register"]

Fn = Callable[[Any], Any]
_ENC: dict[Any, Fn] = {}
_DEC: dict[Any, Fn] = {}
_TAGGED: dict[str, type[Any]] = {}


def _ident(x: Any) -> Any:
    return x


def _enc_dt(x: _dt.datetime) -> str:
    return x.isoformat()


def _dec_dt(x: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(x)


def encoder(tp: Any) -> Fn:
    """A function turning a value of type ``tp`` into JSON-ready data."""
    fn = _ENC.get(tp)
    if fn is None:
        fn = _build(tp, encode=True)
        _ENC[tp] = fn
    return fn


def decoder(tp: Any) -> Fn:
    """A function turning JSON-ready data back into a value of type ``tp``."""
    fn = _DEC.get(tp)
    if fn is None:
        fn = _build(tp, encode=False)
        _DEC[tp] = fn
    return fn


def _build(tp: Any, *, encode: bool) -> Fn:
    get = encoder if encode else decoder
    if tp in (int, str, bool, type(None), Any):
        return _ident
    if tp is Decimal:
        return str if encode else Decimal
    if tp is _dt.datetime:
        return _enc_dt if encode else _dec_dt
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return (lambda x: x.value) if encode else tp
    if isinstance(tp, type) and attrs.has(tp):
        return _build_attrs(tp, encode=encode)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) != 1:
            raise TypeError(f"unsupported union {tp!r}")
        inner = get(non_none[0])
        return lambda x: None if x is None else inner(x)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = get(args[0])
            if item is _ident:
                return list if encode else tuple
            if encode:
                return lambda x: [item(v) for v in x]
            return lambda x: tuple(item(v) for v in x)
        fns = [get(a) for a in args]
        if encode:
            return lambda x: [f(v) for f, v in zip(fns, x, strict=True)]
        return lambda x: tuple(f(v) for f, v in zip(fns, x, strict=True))
    if origin is frozenset:
        return sorted if encode else frozenset
    if origin is dict:
        val = get(args[1])
        return lambda x: {k: val(v) for k, v in x.items()}
    raise TypeError(f"the codec does not know how to handle {tp!r}")


def _build_attrs(cls: type[Any], *, encode: bool) -> Fn:
    # Placeholder first, so that recursive types resolve to the finished function.
    cell: list[Fn] = []

    def late(x: Any) -> Any:
        return cell[0](x)

    (_ENC if encode else _DEC)[cls] = late
    hints = typing.get_type_hints(cls)
    names = [f.name for f in attrs.fields(cls)]
    fns = [encoder(hints[n]) if encode else decoder(hints[n]) for n in names]
    pairs = list(zip(names, fns, strict=True))
    if encode:

        def enc(x: Any) -> Any:
            return {n: f(getattr(x, n)) for n, f in pairs}

        cell.append(enc)
        return enc

    def dec(x: Any) -> Any:
        return cls(**{n: f(x[n]) for n, f in pairs if n in x})

    cell.append(dec)
    return dec


def dumps(value: Any, tp: Any | None = None) -> str:
    """``value`` as compact JSON text."""
    return json.dumps(encoder(tp or type(value))(value), separators=(",", ":"))


def loads(text: str | bytes, tp: Any) -> Any:
    """The value of type ``tp`` in JSON ``text``."""
    return decoder(tp)(json.loads(text))


def register(cls: type[Any]) -> type[Any]:
    """Let :func:`dump_any` tag values of ``cls`` by class name."""
    _TAGGED[cls.__name__] = cls
    return cls


def dump_any(value: Any) -> Any:
    """Tagged JSON-ready data for a registered attrs value, a tuple of them, or None."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return {"$list": [dump_any(v) for v in value]}
    name = type(value).__name__
    if _TAGGED.get(name) is not type(value):
        raise TypeError(f"{name} is not registered with the codec")
    return {"$type": name, "value": encoder(type(value))(value)}


def load_any(data: Any) -> Any:
    """The inverse of :func:`dump_any`."""
    if data is None:
        return None
    if "$list" in data:
        return tuple(load_any(v) for v in data["$list"])
    return decoder(_TAGGED[data["$type"]])(data["value"])
