"""What the SQL stores share of reading their rows: an idempotency record's JSON body, as a
PostgreSQL row keeps it and an older SQLite row kept it whole; outbox and timer rows, which
may have been edited by hand into something the relay or the sweep cannot use."""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from asolora_core import _codec
from asolora_core.actors import Actor
from asolora_core.errors import LedgerIntegrityError
from asolora_core.events import Notification
from asolora_core.ports import IdempotencyRecord, OutboxMessage, Timer

__all__ = [
    "claimed_timers",
    "due_messages",
    "idempotency_record",
    "outbox_message",
    "set_aside_if_claimed",
]

#: How long a timer row that no longer decodes is set aside, like a timer whose work fails.
TIMER_SET_ASIDE = _dt.timedelta(hours=1)

log = logging.getLogger("asolora_core")

Row = TypeVar("Row")


def idempotency_record(scope: str, key: str, data: Any) -> IdempotencyRecord:
    """The idempotency record of ``scope`` and ``key`` whose JSON body is ``data``."""
    return IdempotencyRecord(
        scope=scope,
        key=key,
        command=data["command"],
        request=bytes.fromhex(data.get("request", "")),
        arguments=data.get("arguments", {}),
        result=_codec.load_any(data.get("result")),
        error=data.get("error"),
        at=_dt.datetime.fromisoformat(data["at"]),
    )


def _instant(value: object) -> bool:
    return isinstance(value, _dt.datetime) and value.tzinfo is not None


def _whole(m: object) -> bool:
    """Whether ``m`` is an outbox message with every field of its type (a row edited by
    hand decodes into anything: a text where a count was, a recipient of no known kind)."""
    if type(m) is not OutboxMessage:
        return False
    n = m.notification
    return (
        type(n) is Notification
        and type(n.recipient) is Actor
        and isinstance(m.message_id, str)
        and isinstance(n.kind, str)
        and isinstance(n.subject_id, str)
        and isinstance(n.text, str)
        and type(m.attempts) is int
        and m.attempts >= 0
        and type(m.failed) is bool
        and isinstance(m.last_error, str)
        and _instant(m.created_at)
        and _instant(m.next_attempt_at)
        and _instant(n.event_at)
        and (m.delivered_at is None or _instant(m.delivered_at))
    )


def outbox_message(
    decode: Callable[[Row], OutboxMessage], message_id: str, row: Row
) -> OutboxMessage:
    """``decode(row)``, the outbox message ``message_id``; a row that no longer decodes into
    a whole message (edited by hand) is :class:`~asolora_core.errors.LedgerIntegrityError`
    naming the message, never a ``TypeError`` or a ``ValueError`` (R29, R42)."""
    try:
        m = decode(row)
    except Exception as exc:
        reason = type(exc).__name__
    else:
        if _whole(m):
            return m
        reason = "a field of the wrong type"
    raise LedgerIntegrityError(
        f"outbox message {message_id!r} does not decode ({reason}): it was changed outside "
        "the library; it is not sent: restore the row from a backup, or delete it",
        row="outbox message",
        message_id=message_id,
    )


def due_messages(
    rows: Sequence[Row],
    decode: Callable[[Row], OutboxMessage],
    message_id: Callable[[Row], str],
    set_aside: Callable[[list[str]], None],
) -> tuple[OutboxMessage, ...]:
    """The due messages of ``rows`` for the relay. A row that no longer decodes is handed to
    ``set_aside`` (which marks it failed, for staff) and logged, and the others go on: one
    row edited by hand never stops the delivery of every other notification (R29)."""
    out: list[OutboxMessage] = []
    bad: list[str] = []
    for row in rows:
        try:
            out.append(outbox_message(decode, message_id(row), row))
        except LedgerIntegrityError as exc:
            log.error("%s; it is kept as failed", exc)
            bad.append(message_id(row))
    if bad:
        set_aside(bad)
    return tuple(out)


def claimed_timers(
    rows: Sequence[Row],
    decode: Callable[[Row], Timer],
    timer_id: Callable[[Row], str],
    set_aside: Callable[[list[Row]], None],
) -> list[Timer]:
    """The timers of the claimed ``rows``. A row that no longer decodes into a whole timer
    (edited by hand) is logged and handed to ``set_aside``, which puts it back as it is,
    due :data:`TIMER_SET_ASIDE` later, for staff to restore or delete: one damaged row never
    stops the sweep of every other timer (R40)."""
    timers: list[Timer] = []
    bad: list[Row] = []
    for row in rows:
        try:
            timer = decode(row)
        except Exception as exc:
            reason = type(exc).__name__
        else:
            if (
                type(timer) is Timer
                and isinstance(timer.timer_id, str)
                and isinstance(timer.kind, str)
                and isinstance(timer.aggregate_id, str)
                and isinstance(timer.ref, str)
                and _instant(timer.due_at)
            ):
                timers.append(timer)
                continue
            reason = "a field of the wrong type"
        log.error(
            "timer %r does not decode (%s): it was changed outside the library; it is set "
            "aside for an hour: restore the row from a backup, or delete it",
            timer_id(row),
            reason,
        )
        bad.append(row)
    if bad:
        set_aside(bad)
    return timers


def set_aside_if_claimed(
    row: Row | None,
    decode: Callable[[Row], Timer],
    timer: Timer,
    due_at: _dt.datetime,
    schedule: Callable[[Timer], None],
) -> bool:
    """Schedule ``timer`` again at ``due_at`` when ``row``, its stored row read under the unit
    of work's lock (``None``: there is none, or another transaction holds it), still decodes
    into exactly ``timer``; return whether it did. Anything else (claimed by another sweep,
    cancelled, scheduled again, edited by hand) is left as it is (R40)."""
    if row is None:
        return False
    try:
        stored = decode(row)
    except Exception:  # edited into something else: not the timer claimed
        return False
    if stored != timer:
        return False
    schedule(attrs.evolve(timer, due_at=due_at))
    return True
