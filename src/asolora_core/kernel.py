"""The shared machinery below the features: transactions, idempotency, outbox, timers, sweeps.

Every command of every feature runs through :meth:`_Kernel._execute`: one unit of work, an
optional idempotency record scoped to the actor (R35), commit or nothing (R2). Order changes
are recorded by :meth:`_Kernel._record` (history, R42) and every reaction a feature registers
(notifications to the outbox, R29; timers, R10/R40; ledger postings, R15-R24). Sweeps
(:meth:`_Kernel.run_due`) claim due timers in batches and relay the outbox.

Feature services import this module; it imports no feature service (imports run one way).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Self, TypeVar

import attrs
from moneyed import Money

from asolora_core import _codec
from asolora_core._values import value_repr
from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.clock import Clock, SystemClock, utc
from asolora_core.config import MarketplaceConfig
from asolora_core.errors import (
    AsoloraError,
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    LedgerIntegrityError,
    NotPermittedError,
    StoreMisconfiguredError,
    error_from_dict,
)
from asolora_core.events import DomainEvent, Notification
from asolora_core.ledger.model import JournalTransaction
from asolora_core.limits import check_count, check_key, storable_text
from asolora_core.orders.model import Order
from asolora_core.ports import (
    IdempotencyRecord,
    IdGenerator,
    Notifier,
    OutboxMessage,
    StaleRead,
    Store,
    Timer,
    UnitOfWork,
)

__all__ = [
    "DeliveryReport",
    "PostingReactor",
    "BatchTimerHandler",
    "Reactor",
    "SequentialIds",
    "SweepReport",
    "TimerHandler",
    "UuidIds",
]

log = logging.getLogger("asolora_core")
#: Most outbox messages one ``deliver_notifications`` call relays.
MAX_DELIVERY_BATCH = 10_000
T = TypeVar("T")


#: The bits :func:`uuid.uuid4` fixes in a random 128-bit number: version 4, RFC 4122 variant.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (4 << 76) | (0x8000 << 48)


class UuidIds:
    """Random ids: ``prefix-<32 hex digits>``, the digits those of ``uuid.uuid4().hex``
    (16 random bytes with the version and variant bits set; built without a ``UUID``
    object, which costs more than the rest of the id). The default."""

    def new_id(self, prefix: str) -> str:
        bits = int.from_bytes(os.urandom(16)) & _UUID4_CLEAR | _UUID4_SET
        return f"{prefix}-{bits:032x}"


class SequentialIds:
    """Readable, deterministic ids for tests and demos: ``o-000001``, ``s-000002``, ..."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-{next(self._counter):06d}"


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """What one outbox relay did."""

    __repr__ = value_repr

    delivered: int = 0
    retried: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class SweepReport:
    """What one :meth:`Marketplace.run_due` did: timers that acted, by kind (``"failed"``
    counts timers whose handler raised: they are retried an hour later, unless another worker
    or a command took them meanwhile), and the notifications relayed."""

    __repr__ = value_repr

    timers: Mapping[str, int]
    notifications: DeliveryReport
    #: rows deleted by retention: ``"idempotency"`` (expired keys), ``"outbox"`` (delivered)
    purged: Mapping[str, int] = attrs.field(factory=dict)


#: A sweep runs retention (:meth:`_Kernel.purge`) at most this often per process.
PURGE_EVERY = _dt.timedelta(minutes=1)

Reactor = Callable[[UnitOfWork, Order, Sequence[DomainEvent], _dt.datetime], None]


class _Reactors(list[Reactor]):
    """The registered reactors, in order (``Marketplace._reactors``): a list that forgets
    the kernel's reactor plans (see :meth:`_Kernel._record`) whenever it changes, so a
    script may drop or add a reactor as with any list."""

    def __init__(self, plans: dict[Any, tuple[Reactor, ...]]) -> None:
        super().__init__()
        self._plans = plans

    def _changed(self) -> None:
        self._plans.clear()

    def append(self, reactor: Reactor) -> None:
        super().append(reactor)
        self._changed()

    def extend(self, reactors: Any) -> None:
        super().extend(reactors)
        self._changed()

    def insert(self, index: Any, reactor: Reactor) -> None:
        super().insert(index, reactor)
        self._changed()

    def remove(self, reactor: Reactor) -> None:
        super().remove(reactor)
        self._changed()

    def pop(self, index: Any = -1) -> Reactor:
        reactor = super().pop(index)
        self._changed()
        return reactor

    def clear(self) -> None:
        super().clear()
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        super().reverse()
        self._changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, reactors: Any) -> Self:  # type: ignore[misc,override]
        super().__iadd__(reactors)
        self._changed()
        return self

    def __imul__(self, n: Any) -> Self:  # type: ignore[misc]
        super().__imul__(n)
        self._changed()
        return self


#: Runs on each journal transaction posted by :meth:`_Kernel._post_journal`, in its transaction.
PostingReactor = Callable[[UnitOfWork, JournalTransaction], None]
#: A :data:`PostingReactor`'s form for many transactions at once (see ``_post_journal_many``):
#: the same effects as the reactor run on each in turn.
BatchPostingReactor = Callable[[UnitOfWork, Sequence[JournalTransaction]], None]
#: Runs one due timer inside the sweep's transaction; returns whether it did anything.
TimerHandler = Callable[[UnitOfWork, Timer, _dt.datetime], bool]
#: Runs every claimed timer of one kind of a sweep batch inside the sweep's transaction, with a
#: few statements for the whole batch; returns how many did anything and how many it put back,
#: still due, for a later batch (a server store's release sweep leaves the timers of vendors
#: another worker is releasing to rather than wait for them). Apart from the ones put back, it
#: must have the same effects as its kind's :data:`TimerHandler` run on each timer in turn.
BatchTimerHandler = Callable[[UnitOfWork, Sequence[Timer], _dt.datetime], tuple[int, int]]


#: Longest error message kept with a failed outbox message (``OutboxMessage.last_error``).
_LAST_ERROR_LENGTH = 500


def _failure_text(exc: BaseException) -> str:
    """What a notifier's exception is recorded as: its type and message, storable on every
    store whatever the message holds (a NUL, a lone surrogate) and even when ``str(exc)``
    itself raises, so that recording the failure never fails the relay (R29)."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = f"{type(exc).__name__} (its message could not be read)"
    return storable_text(text, _LAST_ERROR_LENGTH)


def _stored_refusal(record: IdempotencyRecord) -> AsoloraError:
    """The refusal ``record`` remembers (R35); one edited by hand into something that is not
    a refusal is :class:`~asolora_core.errors.LedgerIntegrityError` (R42), never a
    ``KeyError`` or a ``TypeError``."""
    try:
        return error_from_dict(record.error)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError):
        return LedgerIntegrityError(
            f"the idempotency record of key {record.key!r} does not decode (its stored "
            "refusal): it was changed outside the library; the command is not run: restore "
            "the record, or send the command with a new key",
            row="idempotency record",
        )


def _plain(amount: Decimal) -> str:
    """A decimal by value: ``10``, ``10.0`` and ``10.00`` are all ``"10"`` (R35)."""
    if not amount.is_finite():
        return str(amount)
    return format(amount.normalize(), "f")


#: Argument texts longer than this are kept in an idempotency record as a digest (R35).
#: (Records written before :func:`fingerprint`; still compared through :func:`_legacy_arguments`.)
_ARG_TEXT_MAX = 40


def _slim(text: str) -> str:
    if len(text) <= _ARG_TEXT_MAX:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


#: Compact JSON with sorted keys: the canonical text of a structured argument in the first
#: form of the fingerprint (:func:`_fingerprint_v1`).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
#: Bytes of BLAKE2b kept per argument in an idempotency record's fingerprint (R35).
FINGERPRINT_BYTES = 8


def _arg_text(value: Any) -> str:
    """The canonical text of one command argument in the first form of the fingerprint (R35),
    tagged by its JSON type: the same for equal arguments (amounts by value, mappings in any
    order), different otherwise. (The second form: :func:`_canonical_text`.)"""
    if type(value) is str:
        return f"s{value}"
    if value is None:
        return "n"
    if type(value) is int:
        return f"i{value}"
    if type(value) is dict and not value:
        return "j{}"
    value = _canon(value)
    if type(value) is str:
        return f"s{value}"
    if type(value) is int:
        return f"i{value}"
    return "j" + _CANONICAL_JSON.encode(value)


#: Recent fingerprint slices of plain arguments (text, whole numbers, None) by name and
#: value, for :func:`_fingerprint_v1` (records written before :func:`fingerprint`'s second
#: form). Emptied when it grows past :data:`_SLICE_CACHE_MAX` entries.
_SLICES: dict[tuple[str, str | int | None], bytes] = {}
_SLICE_CACHE_MAX = 4096
_CACHED_TYPES = (str, int, type(None))


def _slice(name: str, value: Any) -> bytes:
    text = f"{name}\x00{_arg_text(value)}"
    return hashlib.blake2b(text.encode(), digest_size=FINGERPRINT_BYTES).digest()


def _fingerprint_v1(arguments: Mapping[str, Any]) -> bytes:
    """The first form of :func:`fingerprint` (schema step 11): for each argument, by name,
    :data:`FINGERPRINT_BYTES` bytes of BLAKE2b over its name and canonical value. Records
    written in this form (a multiple of 8 bytes) are still compared with it."""
    parts = []
    for name in sorted(arguments):
        value = arguments[name]
        if type(value) not in _CACHED_TYPES:
            parts.append(_slice(name, value))
            continue
        key = (name, value)
        part = _SLICES.get(key)
        if part is None:
            if len(_SLICES) >= _SLICE_CACHE_MAX:
                _SLICES.clear()
            part = _SLICES[key] = _slice(name, value)
        parts.append(part)
    return b"".join(parts)


#: The first byte of a :func:`fingerprint` in its second form: 1 + 8 bytes per argument, so
#: never the length of one in the first form (8 bytes per argument).
_FINGERPRINT_V2 = b"\x02"
#: Recent fingerprint slices (second form) of plain arguments (text, whole numbers, None),
#: by argument name, then value: an order id or a carrier recurs across commands. A name's
#: slices are emptied when they grow past :data:`_SLICES_PER_NAME`.
_SLICES_V2: dict[str, dict[str | int | None, bytes]] = {}
_SLICES_PER_NAME = 1024


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=FINGERPRINT_BYTES).digest()


def fingerprint(arguments: Mapping[str, Any]) -> bytes:
    """What an idempotency record keeps of a command's arguments (R35): a version byte, then
    for each argument, by name, :data:`FINGERPRINT_BYTES` bytes of BLAKE2b over its name and
    canonical text (:func:`_canonical_text`). A replay recomputes it; the first differing
    slice names the argument that differs."""
    parts = [_FINGERPRINT_V2]
    append, slices, cached = parts.append, _SLICES_V2, _CACHED_TYPES
    for name in sorted(arguments):
        value = arguments[name]
        if type(value) not in cached:
            append(_digest(f"{name}={_argument_text(name, value)}"))
            continue
        try:  # subscripts, not .get(): the usual case is a hit
            append(slices[name][value])
        except KeyError:
            append(_new_slice(name, value))
    return b"".join(parts)


def _argument_text(name: str, value: Any) -> str:
    """:func:`_canonical_text` of argument ``name``; a value with no canonical form (an
    object of a type no command takes, a list that contains itself, an int too long to write)
    is refused in the error family, naming the argument, before anything is written (R2):
    it can only be an argument the command itself would refuse."""
    try:
        return _canonical_text(value)
    except (TypeError, ValueError, RecursionError):
        raise InvalidInputError(
            f"{name} cannot be a {type(value).__name__}; pass a value of the type the "
            "command documents",
            field=name,
        ) from None


def _new_slice(name: str, value: str | int | None) -> bytes:
    """The slice of a plain argument :func:`fingerprint` has not cached, cached."""
    cache = _SLICES_V2.get(name)
    if cache is None:
        cache = _SLICES_V2[name] = {}
    elif len(cache) >= _SLICES_PER_NAME:
        cache.clear()
    part = cache[value] = _digest(f"{name}={_argument_text(name, value)}")
    return part


def _differing_argument(
    recorded: bytes, arguments: Mapping[str, Any], request: bytes
) -> str | None:
    """The argument a replay (``arguments``, fingerprinted as ``request``) differs in from a
    record's fingerprint (R35): ``None`` when it is the same request, ``"arguments"`` when
    no single argument can be named. A record in the first form is compared in that form."""
    if recorded == request:
        return None
    if len(recorded) % FINGERPRINT_BYTES == 1 and recorded[:1] == _FINGERPRINT_V2:
        first = 1
    else:  # the first form: one slice per argument, no version byte
        request = _fingerprint_v1(arguments)
        if recorded == request:
            return None
        first = 0
    step = FINGERPRINT_BYTES
    for i, name in enumerate(sorted(arguments)):
        at = first + i * step
        if recorded[at : at + step] != request[at : at + step]:
            return name
    return "arguments"


def _legacy_arguments(arguments: Mapping[str, Any]) -> dict[str, str]:
    """Canonical text per argument, as records written before :func:`fingerprint` keep it."""
    return {k: _slim(json.dumps(_canon(v), sort_keys=True)) for k, v in arguments.items()}


@attrs.frozen(kw_only=True)
class OrderResult:
    """What an idempotency record keeps of a command that returned orders (R35): their ids
    and versions. A replay returns the orders as they are now (the same as the first time
    unless they changed since)."""

    __repr__ = value_repr

    order_ids: tuple[str, ...]
    versions: tuple[int, ...]
    many: bool


#: Types :func:`_canon` returns as they are.
_PLAIN_TYPES = frozenset({str, int, bool, float, type(None)})
#: Field names of each attrs class :func:`_canon` has met.
_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _canon(value: Any) -> Any:
    """A JSON-ready, order-independent form of a command argument (R35); amounts by value."""
    tp = type(value)
    if tp in _PLAIN_TYPES:
        return value
    plain = _PLAIN_TYPES
    if tp is dict:
        return {
            str(k): v if type(v) in plain else _canon(v)
            for k, v in sorted(value.items(), key=_by_text_key)
        }
    if tp is list or tp is tuple:
        return [v if type(v) in plain else _canon(v) for v in value]
    names = _FIELD_NAMES.get(tp)  # an attrs class met before (never Actor: see below)
    if names is not None:
        fields = [getattr(value, name) for name in names]
        return {
            name: v if type(v) in plain else _canon(v)
            for name, v in zip(names, fields, strict=True)
        }
    if tp is Money or isinstance(value, Money):
        return f"{_plain(value.amount)} {value.currency.code}"
    if isinstance(value, Decimal):
        return _plain(value)
    if isinstance(value, Actor):
        return value.key
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if hasattr(value, "value") and hasattr(tp, "__members__"):
        return value.value
    if attrs.has(tp):
        names = _FIELD_NAMES[tp] = tuple(f.name for f in attrs.fields(tp))
        return {name: _canon(getattr(value, name)) for name in names}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canon(v) for k, v in sorted(value.items(), key=_by_text_key)}
    return value


def _by_text_key(item: tuple[Any, Any]) -> str:
    return str(item[0])


#: How :func:`_canonical_text` writes each type met so far, by exact type.
_WRITERS: dict[type[Any], Callable[[Any], str]] = {}


def _canonical_text(value: Any) -> str:
    """The canonical text of one argument (R35): the ``repr`` of :func:`_canon`'s plain form
    (``str``, ``int``, ``bool``, ``float``, ``None``, lists, dicts with text keys in sorted
    order), written directly by a function chosen once per type (generated once per attrs
    class). It tells apart exactly what :func:`_canon`'s JSON tells apart (amounts by value,
    mappings in any order, a list and a tuple alike); a type JSON cannot hold is a
    ``TypeError``."""
    tp = type(value)
    if tp in _PLAIN_TYPES:
        return repr(value)
    write = _WRITERS.get(tp)
    if write is None:
        write = _WRITERS[tp] = _writer(tp)
    return write(value)


def _dict_text(value: Mapping[Any, Any]) -> str:
    if not value:
        return "{}"
    plain, text = _PLAIN_TYPES, _canonical_text
    if len(value) == 1:  # e.g. a shipment's one line
        ((k, v),) = value.items()
        k = k if type(k) is str else str(k)
        return f"{{{k!r}: {v!r}}}" if type(v) in plain else f"{{{k!r}: {text(v)}}}"
    # as _canon: keys as text, sorted; of two keys with one text, the later value is kept
    pairs = {k if type(k) is str else str(k): v for k, v in sorted(value.items(), key=_by_text_key)}
    body = ", ".join(
        [f"{k!r}: {v!r}" if type(v) in plain else f"{k!r}: {text(v)}" for k, v in pairs.items()]
    )
    return f"{{{body}}}"


def _list_text(value: Sequence[Any]) -> str:
    plain, text = _PLAIN_TYPES, _canonical_text
    body = ", ".join([repr(v) if type(v) in plain else text(v) for v in value])
    return f"[{body}]"


def _money_text(value: Money) -> str:
    return repr(f"{_plain(value.amount)} {value.currency.code}")


def _attrs_text(tp: type[Any]) -> Callable[[Any], str]:
    """A generated function: the fields of attrs class ``tp`` as the text of a dict, by
    sorted name (the text :func:`_dict_text` writes for the same fields in a dict)."""
    names = sorted(f.name for f in attrs.fields(tp))
    if not names:
        return lambda value: "{}"
    body = ", ".join(
        f"{name!r}: {{(repr(_v) if type(_v := value.{name}) in plain else text(_v))}}"
        for name in names
    )
    source = f"def write(value):\n    return f{('{{' + body + '}}')!r}\n"
    namespace: dict[str, Any] = {"plain": _PLAIN_TYPES, "text": _canonical_text}
    exec(compile(source, f"<canonical {tp.__qualname__}>", "exec"), namespace)
    fn: Callable[[Any], str] = namespace["write"]
    return fn


def _writer(tp: type[Any]) -> Callable[[Any], str]:
    """How :func:`_canonical_text` writes a value of type ``tp`` (the cases of
    :func:`_canon`, in its order)."""
    if tp is dict:
        return _dict_text
    if tp is list or tp is tuple:
        return _list_text
    if issubclass(tp, Money):
        return _money_text
    if issubclass(tp, Decimal):
        return lambda value: repr(_plain(value))
    if issubclass(tp, Actor):
        return lambda value: repr(value.key)
    if issubclass(tp, _dt.datetime):
        return lambda value: repr(value.isoformat())
    if issubclass(tp, _dt.timedelta):
        return lambda value: repr(value.total_seconds())
    if hasattr(tp, "__members__"):  # an enum: by its value
        return lambda value: _canonical_text(value.value)
    if attrs.has(tp):
        return _attrs_text(tp)
    if issubclass(tp, list | tuple):
        return _list_text
    if issubclass(tp, Mapping):
        return _dict_text
    if issubclass(tp, str):
        return lambda value: repr(str.__str__(value))
    if issubclass(tp, int):
        return lambda value: repr(int.__index__(value))
    if issubclass(tp, float):
        return lambda value: repr(float.__float__(value))

    def unknown(value: Any) -> str:
        raise TypeError(f"an argument of type {tp.__name__} has no canonical form (R35)")

    return unknown


@attrs.frozen
class OrderRef:
    """What an idempotency record keeps of a command that returned one order (R35): its id
    and version (a replay returns the order as it is now)."""

    __repr__ = value_repr

    order_id: str
    version: int


def _by_reference(result: Any) -> Any:
    """What an idempotency record keeps of a result: orders by id and version (R35)."""
    if type(result) is Order:
        return OrderRef(result.order_id, result.version)
    if isinstance(result, tuple) and result and all(isinstance(o, Order) for o in result):
        return OrderResult(
            order_ids=tuple(o.order_id for o in result),
            versions=tuple(o.version for o in result),
            many=True,
        )
    return result


_codec.register(OrderResult)
_codec.register(OrderRef)


class _Kernel:
    """The shared machinery: transactions, idempotency, outbox, timers, sweeps.

    Feature services (orders, ledger, messaging, reports) subclass it and are composed into
    :class:`~asolora_core.service.Marketplace`."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        ids: IdGenerator | None = None,
        config: MarketplaceConfig | None = None,
    ) -> None:
        for name, value, method in (
            ("store", store, "unit_of_work"),
            ("clock", clock, "now"),
            ("notifier", notifier, "send"),
            ("ids", ids, "new_id"),
        ):
            if (value is not None or name == "store") and not callable(
                getattr(value, method, None)
            ):
                raise InvalidInputError(
                    f"{name} must provide {method}() (see asolora_core.ports), "
                    f"not {type(value).__name__}",
                    field=name,
                )
        if config is not None and not isinstance(config, MarketplaceConfig):
            raise InvalidInputError("config must be a MarketplaceConfig", field="config")
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.notifier = notifier
        if notifier is None:  # say so once, at construction, instead of silence
            log.warning(
                "Marketplace built without a notifier: notifications wait in the outbox and "
                "nobody is told (R29); pass notifier=LoggingNotifier() or your own Notifier"
            )
        self.ids: IdGenerator = ids or UuidIds()
        self.config = config or MarketplaceConfig()
        #: which reactors each tuple of event classes runs (see :meth:`_record`), worked
        #: out on first sight; forgotten when the reactors or their event classes change
        self._reactor_plans: dict[tuple[type[DomainEvent], ...], tuple[Reactor, ...]] = {}
        self._reactors: list[Reactor] = _Reactors(self._reactor_plans)
        #: the event classes a reactor acts on (by the reactor; see :meth:`_react_on`): a
        #: change with no event of those classes (or their subclasses) skips it; a reactor
        #: not named here runs on every change
        self._reactor_events: dict[Reactor, tuple[type[DomainEvent], ...]] = {}
        #: Run after every command's or sweep batch's commit (e.g. publish a checkpoint).
        self._after_commit: list[Callable[[], None]] = []
        self._last_purge: _dt.datetime | None = None
        self._timer_handlers: dict[str, TimerHandler] = {}
        self._batch_timer_handlers: dict[str, BatchTimerHandler] = {}
        self._posting_reactors: list[PostingReactor] = []
        #: a posting reactor's batch form, if it has one (by the reactor)
        self._batch_posting_reactors: dict[PostingReactor, BatchPostingReactor] = {}
        #: the posting reactors whose batch form reads none of what sealing adds (``seq``,
        #: ``prev_hash``, ``hash``): ``_post_journal_many`` runs those batch forms before the
        #: journal head is locked, so that their statements are not what other writers wait for
        self._unsealed_batch_posting_reactors: set[PostingReactor] = set()
        # Each feature's service registers its reactions and timer handlers in ``_install``,
        # base classes first (orders, then chat, then money: see ``Marketplace``'s bases).
        for cls in reversed(type(self).__mro__):
            install = cls.__dict__.get("_install")
            if install is not None:
                install(self)

    # --- running commands ----------------------------------------------------------------

    def _now(self) -> _dt.datetime:
        now = self.clock.now()
        if type(now) is _dt.datetime and now.tzinfo is _dt.UTC and 1 < now.year < 9999:
            return now  # what utc() returns it as (a clock's usual answer, checked cheaply)
        return utc(now, field="clock.now()")

    def _execute(
        self,
        by: Actor,
        command: str,
        idempotency_key: str | None,
        arguments: Mapping[str, Any],
        work: Callable[[UnitOfWork, _dt.datetime], T],
    ) -> T:
        check_actor(by)
        now = self._now()
        if idempotency_key is None:
            optimistic = getattr(self.store, "command_unit_of_work", None)
            if optimistic is None:
                with self.store.unit_of_work() as uow:
                    result = work(uow, now)
                    uow.commit()
            else:
                # A store that serves an order from what this process last committed checks
                # it when it writes (or commits, or fails): a stale read rolls the whole
                # command back (StaleRead), which then runs again from fresh reads.
                try:
                    with optimistic() as uow:
                        result = work(uow, now)
                        uow.commit()
                except StaleRead:
                    with self.store.unit_of_work() as uow:
                        result = work(uow, now)
                        uow.commit()
            for hook in self._after_commit:  # self._committed(), one call fewer per command
                hook()
            return result
        check_key(idempotency_key)
        request = fingerprint(arguments)
        scope = sys.intern(by.key)  # one string per actor in a memory store's records
        with self.store.unit_of_work() as uow:
            record = uow.idempotency.get(scope, idempotency_key)
            if record is not None and self._live(record, now):
                replayed: T = self._replay(uow, record, command, arguments, request)
                return replayed
            try:
                result = work(uow, now)
            except AsoloraError as refusal:
                uow.rollback()
                if refusal.retryable:
                    raise  # R35, R36: transient ("retry"), not a final outcome for this key
                error = refusal
            else:
                store = uow.idempotency
                if type(result) is Order and (put_order := getattr(store, "put_order", None)):
                    # a store's fast path: the record of one order's id and version, built
                    # as its row directly (see IdempotencyStore)
                    put_order(
                        scope, idempotency_key, command, request, now,
                        result.order_id, result.version,  # type: ignore[attr-defined]
                    )  # fmt: skip
                else:
                    store.put(
                        IdempotencyRecord(
                            scope=scope,
                            key=idempotency_key,
                            command=command,
                            request=request,
                            result=_by_reference(result),
                            at=now,
                        )
                    )
                uow.commit()
                for hook in self._after_commit:  # self._committed()
                    hook()
                return result
        # R35: a refusal is remembered too, in its own transaction (the command's was undone).
        with self.store.unit_of_work() as uow:
            record = self._live_record(uow, scope, idempotency_key, now)
            if record is not None:
                first: T = self._replay(uow, record, command, arguments, request)
                return first
            uow.idempotency.put(
                IdempotencyRecord(
                    scope=scope,
                    key=idempotency_key,
                    command=command,
                    request=request,
                    error=error.to_dict(),
                    at=now,
                )
            )
            uow.commit()
        raise error

    def _committed(self) -> None:
        for hook in self._after_commit:
            hook()

    def _live_record(
        self, uow: UnitOfWork, scope: str, key: str, now: _dt.datetime
    ) -> IdempotencyRecord | None:
        """The key's record, unless it expired (``config.idempotency_ttl``): an expired key
        is a new key, whether or not the sweep has purged it yet."""
        record = uow.idempotency.get(scope, key)
        return record if record is not None and self._live(record, now) else None

    def _live(self, record: IdempotencyRecord, now: _dt.datetime) -> bool:
        """Whether ``record`` has not expired (``config.idempotency_ttl``)."""
        ttl = self.config.idempotency_ttl
        return ttl is None or now < record.at + ttl

    @staticmethod
    def _replay(
        uow: UnitOfWork,
        record: IdempotencyRecord,
        command: str,
        arguments: Mapping[str, Any],
        request: bytes,
    ) -> Any:
        differs = None
        if record.command != command:
            differs = "command"
        elif record.request or not record.arguments:
            differs = _differing_argument(record.request, arguments, request)
        else:  # a record written before fingerprints: canonical text per argument
            args = _legacy_arguments(arguments)
            for name in sorted(set(record.arguments) | set(args)):
                if record.arguments.get(name) != args.get(name):
                    differs = name
                    break
        if differs is not None:
            raise IdempotencyKeyReusedError(
                f"idempotency key {record.key!r} was used for a different command "
                f"({differs} differs); use a new key for a new command",
                field=differs,
                key=record.key,
            )
        if record.error is not None:
            raise _stored_refusal(record)
        result = record.result
        if isinstance(result, OrderRef):
            return uow.orders.get(result.order_id)
        if isinstance(result, OrderResult):
            orders = tuple(uow.orders.get(order_id) for order_id in result.order_ids)
            return orders if result.many else orders[0]
        return result

    def _record(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        """History and every registered reaction of one order change, in its transaction:
        the order's notifications, its timers, the ledger's postings (see ``_install`` of
        each feature's service)."""
        uow.events.append(events)
        kinds = tuple(map(type, events))
        plan = self._reactor_plans.get(kinds)
        if plan is None:
            plan = self._reactor_plans[kinds] = self._plan_reactors(kinds)
        for react in plan:
            react(uow, order, events, now)

    def _react_on(self, reactor: Reactor, *events: type[DomainEvent]) -> None:
        """Register ``reactor`` to run on the order changes with an event of one of the
        classes ``events`` (or of a subclass): the others have nothing for it to do."""
        self._reactor_events[reactor] = events
        self._reactors.append(reactor)

    def _plan_reactors(self, kinds: tuple[type[DomainEvent], ...]) -> tuple[Reactor, ...]:
        """The reactors, in order, that act on an order change whose events are of the
        classes ``kinds``: every reactor with no event classes of its own, and every one
        with an event of its classes among them."""
        interests = self._reactor_events
        plan = []
        for react in self._reactors:
            wanted = interests.get(react)
            if wanted is None or any(issubclass(kind, wanted) for kind in kinds):
                plan.append(react)
        return tuple(plan)

    def _post_journal(self, uow: UnitOfWork, txn: JournalTransaction) -> JournalTransaction:
        """Append ``txn`` to the journal, sealed with ``config.ledger_key`` (R42), and run every
        posting reactor on the sealed transaction, in the same unit of work (the reports'
        rollups, R31; the checkpoint schedule)."""
        posted = uow.ledger.post(txn, key=self.config.ledger_key)
        for react in self._posting_reactors:
            react(uow, posted)
        return posted

    def _post_journal_many(
        self, uow: UnitOfWork, txns: Sequence[JournalTransaction]
    ) -> tuple[JournalTransaction, ...]:
        """:meth:`_post_journal` of each of ``txns`` in turn, appended with one
        ``post_many`` (the journal head is locked once, as late as the caller can). The batch
        reactors that need no seal (``_unsealed_batch_posting_reactors``: the reports'
        rollups) run first, on ``txns`` as given, before the head is locked: the caller holds
        the locks of the vendors whose balances ``txns`` post to (as the sweep does), so their
        rows are written in the order every writer takes them (vendor, then rows, then head)."""
        late: list[PostingReactor] = []
        for react in self._posting_reactors:
            many = self._batch_posting_reactors.get(react)
            if many is not None and react in self._unsealed_batch_posting_reactors:
                many(uow, txns)
            else:
                late.append(react)
        posted = uow.ledger.post_many(txns, key=self.config.ledger_key)
        for react in late:
            many = self._batch_posting_reactors.get(react)
            if many is not None:
                many(uow, posted)
                continue
            for txn in posted:
                react(uow, txn)
        return posted

    def _enqueue(
        self, uow: UnitOfWork, notifications: Sequence[Notification], now: _dt.datetime
    ) -> None:
        if notifications:
            new_id = self.ids.new_id
            uow.outbox.add(
                [
                    OutboxMessage(
                        message_id=new_id("n"), notification=n, created_at=now, next_attempt_at=now
                    )
                    for n in notifications
                ]
            )

    # --- timers and sweeps --------------------------------------------------------------

    def run_due(self, now: _dt.datetime | None = None) -> SweepReport:
        """Run every timer due at ``now`` (default: the clock's now), then relay the outbox.

        Timers are claimed in batches of ``config.sweep_batch`` (on PostgreSQL with ``FOR
        UPDATE SKIP LOCKED``: workers never wait for each other's timers), each batch in one
        transaction with the work it causes, so a timer runs once however many workers sweep
        at once. A batch that fails is rolled back and its timers are run again one per
        transaction, so one failing timer never holds the others back: it alone is set aside
        for an hour, if it is still the timer claimed (another worker may have run it, or a
        command cancelled or scheduled it again, since its transaction rolled back: it is then
        left as it is, see ``TimerStore.set_aside``). An error of the store itself (its
        ``transient_errors``: on PostgreSQL a lost connection or a restarting server) sets
        nothing aside: it is raised, with the batch rolled back, for the caller to sweep
        again; so is a :class:`~asolora_core.errors.StoreMisconfiguredError` (fix the
        configuration first).
        """
        at = self._now() if now is None else utc(now, field="now")
        counts: dict[str, int] = {}
        full = self.config.sweep_batch
        singly = 0  # timers left to run one per transaction after a failed batch
        while True:
            batch = 1 if singly else full
            claimed: Sequence[Timer] = ()
            try:
                with self.store.unit_of_work() as uow:
                    timers = claimed = uow.timers.claim_due(at, batch)
                    done, deferred = self._run_timers(uow, timers, at)
                    uow.commit()
                self._committed()
            except ConcurrencyConflictError:
                if batch > 1:
                    singly = len(claimed) or 1  # the others' work goes on, one by one
                    continue
                raise  # another worker changed the aggregate: the next sweep retries
            except Exception as exc:
                transient = getattr(self.store, "transient_errors", ())
                if isinstance(exc, (StoreMisconfiguredError, *transient)):
                    # the store, not a timer, failed (a server restart, a lost connection, a
                    # wrong password): the transaction was rolled back, so nothing is set
                    # aside; the caller's next sweep runs these timers (every claim returns
                    # with the rollback)
                    raise
                if batch > 1:
                    # find the failing timer: this batch's timers one per transaction
                    singly = len(claimed) or 1
                    continue
                singly = max(0, singly - 1)
                self._set_aside_failing_timer(at, exc, claimed)
                counts["failed"] = counts.get("failed", 0) + 1
                continue
            for kind in done:
                counts[kind] = counts.get(kind, 0) + 1
            if singly:
                singly -= 1
                if not timers:
                    break
            elif len(timers) < batch and not deferred:
                break  # nothing left due (timers put back for another batch are run next)
        delivered = self.deliver_notifications(now=at)
        purged: dict[str, int] = {}
        last = self._last_purge
        # once a minute; and again whenever ``at`` is before the last purge (a sweep run for
        # a later instant, a clock stepped back), which would otherwise stop retention
        if last is None or not _dt.timedelta(0) <= at - last < PURGE_EVERY:
            self._last_purge = at
            purged = self.purge(at)
        return SweepReport(timers=counts, notifications=delivered, purged=purged)

    def purge(self, now: _dt.datetime) -> dict[str, int]:
        """Retention (R29, R35), run by :meth:`run_due`: delete idempotency records older than
        ``config.idempotency_ttl`` and delivered notifications older than
        ``config.delivered_retention``, ``sweep_batch`` rows per transaction."""
        at = utc(now, field="now")
        done: dict[str, int] = {}
        for name, keep in (
            ("idempotency", self.config.idempotency_ttl),
            ("outbox", self.config.delivered_retention),
        ):
            if keep is None:
                continue
            total = 0
            while True:
                with self.store.unit_of_work() as uow:
                    if name == "idempotency":
                        n = uow.idempotency.purge(at - keep, self.config.sweep_batch)
                    else:
                        n = uow.outbox.purge_delivered(at - keep, self.config.sweep_batch)
                    uow.commit()
                total += n
                if n < self.config.sweep_batch:
                    break
            done[name] = total
        return done

    def _run_timers(
        self, uow: UnitOfWork, timers: Sequence[Timer], at: _dt.datetime
    ) -> tuple[list[str], int]:
        done: list[str] = []
        deferred = 0
        # kinds with a batch handler first, each kind's timers at once (a batch handler takes
        # its locks before anything else in the transaction: see ``lock_vendors``)
        grouped: dict[str, list[Timer]] = {}
        single: list[Timer] = []
        for timer in timers:
            if timer.kind in self._batch_timer_handlers:
                grouped.setdefault(timer.kind, []).append(timer)
            else:
                single.append(timer)
        for kind, group in grouped.items():
            acted, put_back = self._batch_timer_handlers[kind](uow, group, at)
            done.extend([kind] * acted)
            deferred += put_back
        for timer in single:
            handler = self._timer_handlers.get(timer.kind)
            if handler is None:
                log.warning("no handler for timer kind %s; dropped", timer.kind)
                continue
            if handler(uow, timer, at):
                done.append(timer.kind)
        return done, deferred

    def _set_aside_failing_timer(
        self, at: _dt.datetime, exc: Exception, failing: Sequence[Timer] = ()
    ) -> None:
        """A timer whose handler raises is moved an hour later and logged, so one bad timer
        never blocks the others (the batch it was in is retried one timer at a time).

        Its transaction was rolled back, so until this one the timer was free for others:
        it is moved only if it is still the one this sweep claimed
        (``TimerStore.set_aside``). Another worker may have claimed and run it meanwhile,
        or a command cancelled or scheduled it again: it is then left as it is, never run a
        second time nor brought back (R40). When the claim itself failed, so that the timer
        is not known, the next due timer is claimed and moved in this transaction."""
        later = at + _dt.timedelta(hours=1)
        with self.store.unit_of_work() as uow:
            if failing:
                for timer in failing:
                    if uow.timers.set_aside(timer, later):
                        log.error(
                            "timer %s failed (%r); retrying it in an hour", timer.timer_id, exc
                        )
                    else:
                        log.error(
                            "timer %s failed (%r); left as it is: another worker or a command "
                            "has claimed, cancelled or scheduled it since",
                            timer.timer_id,
                            exc,
                        )
            else:
                for timer in uow.timers.claim_due(at, 1):
                    log.error("timer %s failed (%r); retrying it in an hour", timer.timer_id, exc)
                    uow.timers.schedule(attrs.evolve(timer, due_at=later))
            uow.commit()

    def deliver_notifications(
        self, *, now: _dt.datetime | None = None, limit: int = 1000
    ) -> DeliveryReport:
        """Relay due outbox messages to the notifier, at least once (R29).

        Messages are leased before sending (another worker skips them until the lease ends),
        then marked delivered, or rescheduled with backoff when the notifier raises. A failing
        notifier never loses a message and never undoes the change that produced it.

        The lease is one instant: ``config.outbox_lease`` after the later of ``now`` and the
        clock's now, stored as the messages' next attempt. No relay, at the clock's now or at
        ``now``, takes them before it; once the clock reaches it (a slow notifier), this relay
        sends nothing more of its batch and leaves the rest to the next relay, which may
        already have sent them.
        """
        check_count(limit, "limit", low=1, high=MAX_DELIVERY_BATCH)
        at = self._now() if now is None else utc(now, field="now")
        if self.notifier is None:
            return DeliveryReport()
        # one time base for the lease: the instant it ends, checked against the clock here and
        # against their own instants by other relays (a lease counted from an ``at`` before
        # the clock would have ended already; one after it, outlived its check here)
        lease_until = max(at, self._now()) + self.config.outbox_lease
        with self.store.unit_of_work() as uow:
            due = uow.outbox.due(at, limit)
            for m in due:
                uow.outbox.update(attrs.evolve(m, next_attempt_at=lease_until))
            uow.commit()
        delivered = retried = failed = 0
        outcomes: list[OutboxMessage] = []
        try:
            for i, m in enumerate(due):
                if i and self._now() >= lease_until:
                    # the lease ran out while the notifier worked: another relay may hold these
                    # messages now, so they are not sent again from here
                    break
                attempts = m.attempts + 1
                try:
                    self.notifier.send(m.message_id, m.notification)
                except Exception as exc:
                    gave_up = attempts >= self.config.outbox_max_attempts
                    backoff = min(
                        self.config.outbox_retry_after * 2 ** (attempts - 1), _dt.timedelta(hours=1)
                    )
                    outcomes.append(
                        attrs.evolve(
                            m,
                            attempts=attempts,
                            next_attempt_at=at + backoff,
                            failed=gave_up,
                            last_error=_failure_text(exc),
                        )
                    )
                    failed += gave_up
                    retried += not gave_up
                else:
                    outcomes.append(attrs.evolve(m, attempts=attempts, delivered_at=at))
                    delivered += 1
        finally:
            # also when the notifier lets through what is not an Exception (a cancelled
            # task, an interrupt): what was sent is recorded, so it is not sent again
            if outcomes:
                with self.store.unit_of_work() as uow:
                    for m in outcomes:
                        uow.outbox.update(m)
                    uow.commit()
        return DeliveryReport(delivered=delivered, retried=retried, failed=failed)

    def outbox(self, *, by: Actor) -> tuple[OutboxMessage, ...]:
        """Every outbox message, for staff and operations."""
        if check_actor(by).kind is not ActorKind.STAFF and by.kind is not ActorKind.SYSTEM:
            raise NotPermittedError("only staff can read the outbox")
        with self.store.reader() as uow:
            return uow.outbox.all()
