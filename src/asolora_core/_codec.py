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
import threading
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "IncrementalEncoder",
    "compact_encoder",
    "decoder",
    "dump_any",
    "dumps",
    "encoder",
    "incremental_encoder",
    "load_any",
    "loads",
    "register",
]

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


#: held while a codec is built: a thread that finds one half built waits for it (a web
#: server's threads all encode and decode their first values at once)
_BUILD_LOCK = threading.RLock()


def _cached(cache: dict[Any, Fn], build: Callable[..., Fn], tp: Any, *, encode: bool) -> Fn:
    """``cache[tp]``, built by ``build(tp, encode=...)`` on first use."""
    fn = cache.get(tp)
    if fn is None:
        with _BUILD_LOCK:  # one builder at a time; see _build_attrs for the others
            fn = cache.get(tp)
            if fn is None:
                fn = cache[tp] = build(tp, encode=encode)
    return fn


def encoder(tp: Any) -> Fn:
    """A function turning a value of type ``tp`` into JSON-ready data."""
    return _cached(_ENC, _build, tp, encode=True)


def decoder(tp: Any) -> Fn:
    """A function turning JSON-ready data back into a value of type ``tp``."""
    return _cached(_DEC, _build, tp, encode=False)


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
        if not cell:  # another thread is still building it (under the lock): wait for it
            with _BUILD_LOCK:
                pass
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


class IncrementalEncoder:
    """A compact encoder for one attrs class, which reuses what it encoded before.

    Compact: a field equal to its (literal) attrs default is left out, in nested attrs values
    too; :func:`decoder` reads it back (a missing field takes its default), and it reads the
    full form as before. Incremental: ``encode(value, previous, previous_data)`` reuses the
    encoded data of every field (and every item of a tuple of attrs values) that is the very
    same object in ``previous``, whose encoded data is ``previous_data`` (either form). Values
    are frozen, so the same object encodes the same: a command that changes one shipment
    re-encodes that shipment only.
    """

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls)
        self._fields: list[tuple[str, Fn, Any, IncrementalEncoder | None]] = []
        self._inline: list[str | None] = []
        for f in attrs.fields(cls):
            tp = hints[f.name]
            default = f.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = attrs.NOTHING
            items: IncrementalEncoder | None = None
            args = typing.get_args(tp)
            if (
                typing.get_origin(tp) is tuple
                and len(args) == 2
                and args[1] is Ellipsis
                and isinstance(args[0], type)
                and attrs.has(args[0])
            ):
                items = _incremental(args[0])
            inline: str | None = None
            if isinstance(tp, type) and attrs.has(tp):
                fn: Fn = _incremental(tp).fresh
            elif items is not None:
                fn = _list_of(items)
            else:
                fn = encoder(tp)
                if fn is _ident:
                    inline = "v"
                elif fn is _enc_dt:
                    inline = "v.isoformat()"
                elif isinstance(tp, type) and issubclass(tp, enum.Enum):
                    inline = "v.value"
            self._fields.append((f.name, fn, default, items))
            self._inline.append(inline)
        self.fresh: Fn = self._build_fresh(cls)

    def _build_fresh(self, cls: type[Any]) -> Fn:
        """The encoder of a value with nothing to reuse, generated for the class (one
        attribute load and, for a field with a default, one comparison per field)."""
        lines = ["def fresh(x):", "    out = {}"]
        namespace: dict[str, Any] = {}
        for i, ((name, fn, default, _), inline) in enumerate(
            zip(self._fields, self._inline, strict=True)
        ):
            namespace[f"F{i}"], namespace[f"D{i}"] = fn, default
            lines.append(f"    v = x.{name}")
            expr = inline or f"F{i}(v)"
            if default is attrs.NOTHING:
                lines.append(f"    out[{name!r}] = {expr}")
            else:
                lines.append(f"    if not (v is D{i} or v == D{i}):")
                lines.append(f"        out[{name!r}] = {expr}")
        lines.append("    return out")
        code = compile("\n".join(lines) + "\n", f"<compact encoder {cls.__qualname__}>", "exec")
        exec(code, namespace)
        fresh: Fn = namespace["fresh"]
        return fresh

    def encode(
        self, value: Any, previous: Any = None, previous_data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The JSON-ready data of ``value`` (see the class)."""
        if previous is None or previous_data is None:
            data: dict[str, Any] = self.fresh(value)
            return data
        out: dict[str, Any] = {}
        for name, fn, default, items in self._fields:
            v = getattr(value, name)
            if default is not attrs.NOTHING and (v is default or v == default):
                continue
            old = getattr(previous, name)
            if name in previous_data:
                if v is old:
                    out[name] = previous_data[name]
                    continue
                if items is not None:
                    out[name] = _reuse_items(v, old, previous_data[name], items)
                    continue
            out[name] = fn(v)
        return out


def _list_of(items: IncrementalEncoder) -> Fn:
    encode = items.fresh
    return lambda x: [encode(v) for v in x]


def _reuse_items(
    values: tuple[Any, ...], old: Any, old_data: Any, items: IncrementalEncoder
) -> list[Any]:
    """Encoded ``values``, reusing the data of the items that are the same objects in ``old``
    (encoded as ``old_data``, position by position); an item that changed is encoded
    incrementally against the old item at its position (a shipment with one more tracking
    update re-encodes that update only)."""
    if not (isinstance(old, tuple) and isinstance(old_data, list) and len(old) == len(old_data)):
        return [items.fresh(v) for v in values]
    # ``old`` keeps every item alive while this runs, so an id seen here is that item's
    done = {id(o): d for o, d in zip(old, old_data, strict=True)}
    out: list[Any] = []
    for i, v in enumerate(values):
        hit = done.get(id(v), _MISS)
        if hit is not _MISS:
            out.append(hit)
        elif i < len(old) and type(old[i]) is type(v) and isinstance(old_data[i], dict):
            out.append(items.encode(v, old[i], old_data[i]))
        else:
            out.append(items.fresh(v))
    return out


_MISS = object()


_INCREMENTAL: dict[type[Any], IncrementalEncoder] = {}


def _incremental(cls: type[Any]) -> IncrementalEncoder:
    enc = _INCREMENTAL.get(cls)
    if enc is None:
        enc = IncrementalEncoder(cls)
        _INCREMENTAL[cls] = enc
    return enc


def incremental_encoder(cls: type[Any]) -> IncrementalEncoder:
    """The :class:`IncrementalEncoder` of ``cls`` (built once)."""
    return _incremental(cls)


# positional form ---------------------------------------------------------------------------
#
# The smallest JSON the codec writes (for compact rows): an attrs value is a list of its fields'
# values in field order (no names), the fields at the end that equal their defaults left out;
# an instant is an integer of microseconds since the epoch (read back in UTC); an actor is its
# key (``"vendor:v-1"``); nested values take the same form. A class may only gain fields, with
# defaults, at its end (a stored list is read field by field from the start).

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _enc_micros(x: _dt.datetime) -> int:
    delta = x - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _dec_micros(x: int) -> _dt.datetime:
    if type(x) is not int:
        raise TypeError(f"an instant must be an integer, not {type(x).__name__}")
    return _EPOCH + _dt.timedelta(microseconds=x)


_P_ENC: dict[Any, Fn] = {}
_P_DEC: dict[Any, Fn] = {}


def _positional_fn(tp: Any, *, encode: bool) -> Fn:
    return _cached(_P_ENC if encode else _P_DEC, _build_positional, tp, encode=encode)


def _enc_actor(x: Any) -> str:
    return f"{x.kind.value}:{x.id}"


def _build_positional(tp: Any, *, encode: bool) -> Fn:
    from asolora_core.actors import Actor, ActorKind  # here: actors need not load the codec

    if tp is _dt.datetime:
        return _enc_micros if encode else _dec_micros
    if tp is Actor:  # its key, ``"vendor:v-1"``

        def dec_actor(x: str) -> Actor:
            kind, colon, actor_id = x.partition(":")
            if not colon:
                raise ValueError(f"not an actor key: {x!r}")
            return Actor(ActorKind(kind), actor_id)

        return _enc_actor if encode else dec_actor
    if isinstance(tp, type) and attrs.has(tp):
        codec = positional(tp)
        codec._ready()  # its generated encoder (late-bound while a class contains itself)
        return codec.encode if encode else codec.decode
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) != 1:
            raise TypeError(f"unsupported union {tp!r}")
        inner = _positional_fn(non_none[0], encode=encode)
        if inner is _ident:
            return _ident
        return lambda x: None if x is None else inner(x)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _positional_fn(args[0], encode=encode)
            if item is _ident:
                return list if encode else tuple
            if encode:
                return lambda x: [item(v) for v in x]
            return lambda x: tuple(item(v) for v in x)
        fns = [_positional_fn(a, encode=encode) for a in args]
        if encode:
            return lambda x: [f(v) for f, v in zip(fns, x, strict=True)]
        return lambda x: tuple(f(v) for f, v in zip(fns, x, strict=True))
    if origin is dict:
        val = _positional_fn(args[1], encode=encode)
        return lambda x: {k: val(v) for k, v in x.items()}
    return encoder(tp) if encode else decoder(tp)


class Positional:
    """The positional form of one attrs class (see above), leaving out the fields ``omit``
    (kept elsewhere, such as in a row's columns): :meth:`decode` takes them as keywords."""

    def __init__(self, cls: type[Any], omit: frozenset[str] = frozenset()) -> None:
        self._cls = cls
        hints = typing.get_type_hints(cls)
        fields = [f for f in attrs.fields(cls) if f.name not in omit]
        self._names = [f.name for f in fields]
        defaults: list[Any] = []
        required = 0
        for i, f in enumerate(fields):
            default = f.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = attrs.NOTHING if default.takes_self else default.factory()
            if default is attrs.NOTHING:
                required = i + 1
            defaults.append(default)
        self._required = required
        self._defaults = defaults
        # filled in after the fields' own codecs exist (a class may contain itself)
        self._enc: list[Fn] = []
        self._dec: list[tuple[str, Fn]] = []
        self.encode: Fn = self._encode_late
        #: ``encode_from(x, previous, previous_data)``: see :meth:`_encode_from_any`
        self.encode_from: Callable[[Any, Any, Any], list[Any]] = self._encode_from_late
        self._hints = [hints[n] for n in self._names]
        self._building = False
        self._done = False
        #: per field: the codec of its items when it is a tuple of attrs values, else None
        self._items: list[Positional | None] = []

    def _ready(self) -> None:
        if self._done:
            return
        # one builder at a time: another thread returning early would read the empty lists
        # (a web server's threads all decode their first order at once); the same thread
        # re-enters while building a class that contains itself, and returns
        with _BUILD_LOCK:
            if self._building:
                return
            self._build()

    def _build(self) -> None:
        self._building = True
        try:
            self._enc = [_positional_fn(tp, encode=True) for tp in self._hints]
            self._dec = [
                (n, _positional_fn(tp, encode=False))
                for n, tp in zip(self._names, self._hints, strict=True)
            ]
            self.encode = self._build_encode()
            self._items = []
            for tp in self._hints:
                args = typing.get_args(tp)
                tuple_of_attrs = (
                    typing.get_origin(tp) is tuple
                    and len(args) == 2
                    and args[1] is Ellipsis
                    and isinstance(args[0], type)
                    and attrs.has(args[0])
                )
                self._items.append(positional(args[0]) if tuple_of_attrs else None)
            self.encode_from = self._build_encode_from()
        except BaseException:
            self._building = False  # an unsupported field type: raise again on the next use
            raise
        self._done = True

    def _encode_late(self, x: Any) -> list[Any]:
        self._ready()
        out: list[Any] = self.encode(x)
        return out

    def _build_encode(self) -> Fn:
        """The encoder, generated for the class: one list display, then the defaults at
        its end dropped."""
        namespace: dict[str, Any] = {"NOTHING": attrs.NOTHING}
        items = []
        for i, (name, fn) in enumerate(zip(self._names, self._enc, strict=True)):
            namespace[f"F{i}"] = fn
            if fn is _ident:
                items.append(f"x.{name}")
            elif fn is _enc_micros:
                items.append(f"_m(x.{name})")
            else:
                items.append(f"F{i}(x.{name})")
        namespace["_m"] = _enc_micros
        namespace["_D"] = self._defaults
        lines = ["def encode(x):", f"    out = [{', '.join(items)}]", *self._trim_lines()]
        namespace["NAMES"] = self._names
        code = compile("\n".join(lines) + "\n", f"<positional {self._cls.__qualname__}>", "exec")
        exec(code, namespace)
        built: Fn = namespace["encode"]
        return built

    def _trim_lines(self) -> list[str]:
        """The end of a generated encoder: ``out`` without its trailing fields that equal
        their defaults (``x`` the value, ``_D`` the defaults, ``NAMES`` the field names)."""
        return [
            f"    n = {len(self._names)}",
            f"    while n > {self._required}:",
            "        d = _D[n - 1]",
            "        v = getattr(x, NAMES[n - 1])",
            "        if not (v is d or (type(v) is type(d) and v == d)):",
            "            break",
            "        n -= 1",
            f"    return out if n == {len(self._names)} else out[:n]",
        ]

    def _encode_from_late(self, x: Any, previous: Any, previous_data: Any) -> list[Any]:
        self._ready()
        return self.encode_from(x, previous, previous_data)

    def _build_encode_from(self) -> Callable[[Any, Any, Any], list[Any]]:
        """:meth:`_encode_from_any`, generated for the class: one identity test per field and
        one list display (the generic loop costs a ``getattr`` pair and a branch per field).
        Data that left out its trailing defaults is completed with the defaults' own data
        (the same data: a field is left out only when it equals its default)."""
        namespace: dict[str, Any] = {
            "NOTHING": attrs.NOTHING,
            "CLS": self._cls,
            "ANY": self._encode_from_any,
            "NAMES": self._names,
            "_D": self._defaults,
            "_m": _enc_micros,
        }
        padding: list[Any] = []
        try:
            for i in range(self._required, len(self._names)):
                padding.append(self._enc[i](self._defaults[i]))
        except Exception:  # a default its field's codec cannot encode: the generic path
            return self._encode_from_any
        namespace["PAD"] = padding
        lines = [
            "def encode_from(x, p, pd):",
            "    if type(p) is not CLS or type(pd) is not list:",
            "        return ANY(x, p, pd)",
            "    k = len(pd)",
            f"    if k != {len(self._names)}:",
            f"        if k < {self._required} or k > {len(self._names)}:",
            "            return ANY(x, p, pd)",
            f"        pd = pd + PAD[k - {self._required}:]",
        ]
        for i, (name, fn, items) in enumerate(
            zip(self._names, self._enc, self._items, strict=True)
        ):
            namespace[f"F{i}"] = fn
            if items is not None:
                namespace[f"I{i}"] = items
                fresh = (
                    f"(I{i}._reuse_items(v, o, pd[{i}]) if type(pd[{i}]) is list "
                    f"and len(o) == len(pd[{i}]) else F{i}(v))"
                )
            elif fn is _ident:
                fresh = "v"
            elif fn is _enc_micros:
                fresh = "_m(v)"
            else:
                fresh = f"F{i}(v)"
            lines.append(f"    v = x.{name}; o = p.{name}")
            lines.append(f"    a{i} = pd[{i}] if v is o else {fresh}")
        lines.append(f"    out = [{', '.join(f'a{i}' for i in range(len(self._names)))}]")
        lines += self._trim_lines()
        code = compile(
            "\n".join(lines) + "\n", f"<positional from {self._cls.__qualname__}>", "exec"
        )
        exec(code, namespace)
        built: Callable[[Any, Any, Any], list[Any]] = namespace["encode_from"]
        return built

    def _encode_from_any(self, x: Any, previous: Any, previous_data: Any) -> list[Any]:
        """``encode(x)``, reusing the data of every field (and every item of a tuple of attrs
        values) that is the very same object in ``previous``, whose positional data (as
        encoded, or as read) is ``previous_data``; an item that changed is encoded against
        the item at its position (a shipment with one more tracking update re-encodes that
        update only). Values are frozen, so the same object has the same data."""
        self._ready()
        if type(previous) is not type(x) or not isinstance(previous_data, list):
            return list(self.encode(x))
        out: list[Any] = []
        kept = len(previous_data)
        for i, name in enumerate(self._names):
            v = getattr(x, name)
            if i < kept:
                old = getattr(previous, name)
                if v is old:
                    out.append(previous_data[i])
                    continue
                items = self._items[i]
                old_data = previous_data[i]
                if items is not None and isinstance(old_data, list) and len(old) == len(old_data):
                    out.append(items._reuse_items(v, old, old_data))
                    continue
            out.append(self._enc[i](v))
        n = len(out)
        while n > self._required:
            d = self._defaults[n - 1]
            v = getattr(x, self._names[n - 1])
            if not (v is d or (type(v) is type(d) and v == d)):
                break
            n -= 1
        return out[:n]

    def _reuse_items(self, values: Any, old: Any, old_data: list[Any]) -> list[Any]:
        out: list[Any] = []
        for i, v in enumerate(values):
            if i < len(old):
                if v is old[i]:
                    out.append(old_data[i])
                    continue
                if type(v) is type(old[i]) and isinstance(old_data[i], list):
                    out.append(self.encode_from(v, old[i], old_data[i]))
                    continue
            out.append(self.encode(v))
        return out

    def decode(self, data: Any, **known: Any) -> Any:
        """The value of ``data`` (a list in positional form), with the fields left out."""
        self._ready()
        if not isinstance(data, list) or len(data) > len(self._dec):
            raise ValueError(f"not a positional {self._cls.__name__}")
        for (name, fn), v in zip(self._dec, data, strict=False):
            known[name] = fn(v)
        return self._cls(**known)


_POSITIONAL: dict[tuple[type[Any], frozenset[str]], Positional] = {}


def positional(cls: type[Any], omit: frozenset[str] = frozenset()) -> Positional:
    """The :class:`Positional` form of ``cls`` without the fields ``omit`` (built once)."""
    codec = _POSITIONAL.get((cls, omit))
    if codec is None:
        codec = Positional(cls, omit)
        _POSITIONAL[(cls, omit)] = codec
    return codec


def compact_encoder(*, sort_keys: bool = False) -> Callable[[Any], str]:
    """``json.dumps(data, separators=(",", ":"), sort_keys=sort_keys)`` (ASCII only), with
    the C encoder built once rather than on every call (``JSONEncoder.encode`` builds one
    per call, which showed in the release sweep's and the command path's profiles).
    Stateless: no circular-reference markers (what the library encodes are trees), so one
    encoder serves every thread."""
    encoder = json.JSONEncoder(separators=(",", ":"), sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return encoder.encode
    iterencode = make(
        None,  # no markers
        encoder.default,
        json.encoder.encode_basestring_ascii,
        None,  # no indent
        ":",
        ",",
        sort_keys,
        False,  # skipkeys
        True,  # allow_nan, as json.dumps
    )
    join = "".join

    def dumps(data: Any) -> str:
        return join(iterencode(data, 0))

    return dumps
