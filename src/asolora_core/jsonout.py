"""JSON out (and back): every value the library returns as JSON-ready data (R25, R34).

:func:`to_json` turns any value the public API returns (an :class:`~asolora_core.Order`, a
:class:`~asolora_core.Hold`, a :class:`~asolora_core.Statement`, an event, a tuple of them...)
into plain ``dict`` / ``list`` / ``str`` / ``int`` / ``bool`` / ``None`` data that
``json.dumps`` (or a web framework) serialises as is. :func:`from_json` reads it back into the
type named, for values a program sends in again (an :class:`~asolora_core.Item`, a
:class:`~asolora_core.ReturnPolicy`, an :class:`~asolora_core.Actor`...).

The format is stable across versions (``FORMAT_VERSION``); it only ever gains keys:

* an amount is ``{"amount": "18.00", "currency": "EUR"}``: a decimal string with exactly the
  currency's minor digits (never a float), next to its ISO 4217 code;
* a field ``x_minor`` of a value that knows its currency is written as the amount ``x``
  (``paid_minor`` becomes ``"paid": {"amount": ..., "currency": ...}``); :func:`from_json`
  accepts either form back;
* an instant is ISO 8601 in UTC with a ``Z`` (``"2026-10-01T09:00:00Z"``); a duration is ISO
  8601 seconds (``"PT604800S"``); a ``Decimal`` (an exchange rate) is a string;
* an enum is its value (``"processing"``); a tuple or set is a list (sets sorted); a mapping is
  an object with string keys; a frozen attrs value is an object of its fields;
* a domain event carries its class name under ``"type"``, so a list of events reads back;
* a few derived views ride along, output only (ignored on the way back): an order's
  ``fulfilment``, ``refunded`` and ``refundable``, a hold's ``state``, ``held`` and ``net``, a
  shipment's ``carrier`` and ``tracking_number``, a statement's ``reconciles``.

Everything is generic over attrs fields and type hints, so a new value type needs nothing
here; :func:`register_view` adds derived output keys to a class.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import threading
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs
from moneyed import Money

from asolora_core.errors import AsoloraError, InvalidInputError, InvalidMoneyError
from asolora_core.events import DomainEvent, event_type
from asolora_core.money import exponent, from_minor, money_of, parse_money, to_minor

__all__ = ["FORMAT_VERSION", "from_json", "register_view", "to_json"]

FORMAT_VERSION = 1
"""Bumped only if a key ever changes meaning (it never has); new keys do not bump it."""

T = TypeVar("T")
_VIEWS: dict[type[Any], tuple[str, ...]] = {}


def register_view(cls: type[Any], *names: str) -> None:
    """Add the derived attributes ``names`` of ``cls`` to its JSON form (output only)."""
    _VIEWS[cls] = (*_VIEWS.get(cls, ()), *names)


# --- out ------------------------------------------------------------------------------------


def _money(value: Money) -> dict[str, str]:
    code = value.currency.code
    places = exponent(code)
    amount = value.amount.quantize(Decimal(1).scaleb(-places)) if places else value.amount
    return {"amount": f"{amount:f}", "currency": code}


def _instant(value: _dt.datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat()  # naive values never come out of the library (R34)
    text = value.astimezone(_dt.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _duration(value: _dt.timedelta) -> str:
    seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds).scaleb(-6)
    return f"PT{seconds.normalize():f}S"


def _currency_of(value: Any) -> str | None:
    code = getattr(value, "currency", None)
    return code if isinstance(code, str) and code else None


def _attrs_out(value: Any) -> dict[str, Any]:
    cls = type(value)
    out: dict[str, Any] = {}
    if isinstance(value, DomainEvent):
        out["type"] = cls.__name__
    for field in attrs.fields(cls):
        name = field.name
        if not field.eq:  # not part of the value (a live rate provider, say)
            continue
        raw = getattr(value, name)
        if name.endswith("_minor") and (raw is None or isinstance(raw, int)):
            short = name.removesuffix("_minor")
            shown = getattr(cls, short, None)
            if isinstance(shown, property):
                try:
                    amount = getattr(value, short)
                except AsoloraError:  # no currency known (a value built by hand): keep minor
                    amount = raw
                if amount is None or isinstance(amount, Money):
                    out[short] = None if amount is None else _money(amount)
                    continue
            currency = _currency_of(value)
            if currency is not None and not hasattr(cls, short) and raw is not None:
                try:
                    out[short] = _money(money_of(raw, currency))
                except AsoloraError:  # not a currency this library knows: keep minor units
                    pass
                else:
                    continue
        out[name] = to_json(raw)
    for name in _VIEWS.get(cls, ()):
        out[name] = to_json(getattr(value, name))
    return out


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data (see the module docstring for the format).

    >>> from moneyed import Money
    >>> to_json(Money("0.10", "EUR"))
    {'amount': '0.10', 'currency': 'EUR'}
    """
    if value is None or isinstance(value, bool | int | str | float):
        return value  # floats: counts and ratios only; amounts are never floats
    if isinstance(value, Money):
        return _money(value)
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, _dt.datetime):
        return _instant(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return _duration(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    if attrs.has(type(value)):
        return _attrs_out(value)
    if isinstance(value, Mapping):
        return {_key(k): to_json(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_json(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):  # an AsoloraError
        return to_dict()
    raise TypeError(f"to_json does not know {type(value).__name__}")


def _key(key: Any) -> str:
    out = to_json(key)
    return out if isinstance(out, str) else str(out)


# --- back -----------------------------------------------------------------------------------

Fn = Callable[[Any], Any]
_DEC: dict[Any, Fn] = {}
#: Decoders being built (under ``_DEC_LOCK``): a class's forward reference (for recursive
#: types) and whatever was built with it, published to ``_DEC`` together once complete, so
#: another thread never reads a decoder that is not finished.
_BUILDING: dict[Any, Fn] = {}
_DEC_LOCK = threading.RLock()
_depth = [0]


def from_json(tp: type[T], data: Any) -> T:
    """The value of type ``tp`` that :func:`to_json` wrote as ``data``.

    Refuses malformed data with :class:`~asolora_core.InvalidInputError` (a missing field, an
    amount with too many decimals, a naive instant).
    """
    try:
        result: T = _decoder(tp)(data)
    except (KeyError, TypeError, ValueError, decimal.InvalidOperation) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(
            f"cannot read {getattr(tp, '__name__', tp)} from this JSON ({exc!r}); "
            "send what to_json writes",
            field="json",
        ) from exc
    return result


def _ident(x: Any) -> Any:
    return x


def _money_in(x: Any) -> Money:
    """An amount as ``to_json`` writes it. Values carry signed amounts (a journal entry, a
    statement line's debit), so one leading minus is read here; the digits go through the
    same bounded :func:`parse_money` as every command's input."""
    if isinstance(x, Money):
        return x
    if not isinstance(x["amount"], str):  # a JSON number: 18.1 may have been 18.099999 (R25)
        raise InvalidMoneyError(
            'an amount is a decimal string such as "18.00", never a JSON number', field="amount"
        )
    text, currency = x["amount"], str(x["currency"])
    if text.startswith("-"):
        return from_minor(-to_minor(parse_money(text[1:], currency)), currency)
    return parse_money(text, currency)


def _instant_in(x: str) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(x)
    if value.tzinfo is None:
        from asolora_core.errors import NaiveDatetimeError

        raise NaiveDatetimeError(f"{x!r} has no time zone: send UTC with a Z", field="json")
    return value.astimezone(_dt.UTC)


def _duration_in(x: str) -> _dt.timedelta:
    if not (isinstance(x, str) and x.startswith("PT") and x.endswith("S")):
        raise ValueError(f"not an ISO 8601 duration in seconds: {x!r}")
    text = x[2:-1]
    seconds = Decimal(text) if len(text) <= 40 else Decimal("NaN")
    # exact to the microsecond (a float would lose digits of a long duration), and bounded
    # before any conversion so a hostile exponent costs nothing
    if not seconds.is_finite() or abs(seconds) > 10**14:
        raise ValueError(f"not a duration in seconds this library writes: {x[:48]!r}")
    micros = seconds.scaleb(6)
    if micros != micros.to_integral_value():
        raise ValueError(f"a duration is whole microseconds: {x[:48]!r}")
    try:
        return _dt.timedelta(microseconds=int(micros))
    except OverflowError:
        raise ValueError(f"a duration longer than timedelta allows: {x[:48]!r}") from None


def _decoder(tp: Any) -> Fn:
    fn = _DEC.get(tp)
    if fn is not None:
        return fn
    with _DEC_LOCK:
        fn = _DEC.get(tp) or _BUILDING.get(tp)
        if fn is not None:
            return fn
        _depth[0] += 1
        done = False
        try:
            fn = _BUILDING[tp] = _build(tp)
            done = True
        finally:
            _depth[0] -= 1
            if _depth[0] == 0:
                if done:
                    _DEC.update(_BUILDING)
                _BUILDING.clear()
        return fn


def _build(tp: Any) -> Fn:
    if tp in (int, str, bool, type(None), Any, object):
        return _ident
    if tp is Money:
        return _money_in
    if tp is Decimal:
        return lambda x: Decimal(str(x))
    if tp is _dt.datetime:
        return _instant_in
    if tp is _dt.date:
        return _dt.date.fromisoformat
    if tp is _dt.timedelta:
        return _duration_in
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if tp is DomainEvent:
        return lambda x: _decoder(event_type(x["type"]))(x)
    if isinstance(tp, type) and attrs.has(tp):
        return _build_attrs(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) != 1:
            return _ident
        inner = _decoder(non_none[0])
        return lambda x: None if x is None else inner(x)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda x: tuple(item(v) for v in x)
        fns = [_decoder(a) for a in args]
        return lambda x: tuple(f(v) for f, v in zip(fns, x, strict=True))
    if origin in (frozenset, set):
        item = _decoder(args[0]) if args else _ident
        return lambda x: frozenset(item(v) for v in x)
    if origin is list:
        item = _decoder(args[0]) if args else _ident
        return lambda x: [item(v) for v in x]
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        key = _decoder(args[0]) if args else _ident
        val = _decoder(args[1]) if args else _ident
        return lambda x: {key(k): val(v) for k, v in x.items()}
    raise TypeError(f"from_json does not know how to read {tp!r}")


def _build_attrs(cls: type[Any]) -> Fn:
    cell: list[Fn] = []

    def late(x: Any) -> Any:
        return cell[0](x)

    _BUILDING[cls] = late
    hints = typing.get_type_hints(cls)
    plan: list[tuple[str, str, Fn, bool]] = []  # (init name, field, decoder, is minor)
    for field in attrs.fields(cls):
        if not field.init:
            continue
        alias = field.alias or field.name
        minor = field.name.endswith("_minor") and hints[field.name] in (int, int | None)
        plan.append((alias, field.name, _decoder(hints[field.name]), minor))

    def dec(x: Any) -> Any:
        if isinstance(x, cls):
            return x
        kwargs: dict[str, Any] = {}
        for alias, name, fn, minor in plan:
            if name in x:
                kwargs[alias] = fn(x[name])
            elif minor and name.removesuffix("_minor") in x:
                amount = x[name.removesuffix("_minor")]
                kwargs[alias] = None if amount is None else to_minor(_money_in(amount))
        return cls(**kwargs)

    cell.append(dec)
    return dec


def _register_views() -> None:
    from asolora_core.ledger.model import Hold, Statement
    from asolora_core.orders.model import Order, Shipment
    from asolora_core.reports.model import EarningsFigures, SalesFigures

    register_view(Order, "fulfilment", "refunded", "refundable")
    register_view(Hold, "state", "held", "net")
    register_view(Shipment, "carrier", "tracking_number")
    register_view(Statement, "reconciles")
    register_view(SalesFigures, "net")  # R30: what a sales report is read for
    register_view(EarningsFigures, "closing")  # R31: the ledger balance at the period's end


_register_views()
