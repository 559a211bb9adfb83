"""Time as a parameter (R34).

Only :class:`SystemClock` reads the wall clock. Everything else takes ``now`` from a
:class:`Clock`; tests move a :class:`FakeClock` forward. Every instant inside the library is a
time-zone aware ``datetime`` in UTC; :func:`utc` normalises what callers pass and refuses a
naive datetime.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol, runtime_checkable

from asolora_core.errors import InvalidInputError, NaiveDatetimeError

__all__ = ["Clock", "FakeClock", "SystemClock", "utc"]

UTC = _dt.UTC


def utc(value: object, *, field: str = "at") -> _dt.datetime:
    """``value`` as an aware stdlib ``datetime`` in UTC; a naive one is refused.

    Accepts any ``datetime`` subclass (pendulum's included) and returns a plain stdlib
    ``datetime`` so that comparisons stay cheap.
    """
    if not isinstance(value, _dt.datetime):
        raise InvalidInputError(
            f"{field} must be a datetime, not {type(value).__name__}", field=field
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(
            f"{field} {value.isoformat()} has no time zone; pass an aware datetime "
            "(for example datetime(..., tzinfo=timezone.utc))",
            field=field,
        )
    if value.tzinfo is not UTC or type(value) is not _dt.datetime:
        try:
            v = value.astimezone(UTC)
        except OverflowError:
            v = _dt.datetime.min.replace(tzinfo=UTC)  # refused just below
        value = _dt.datetime(
            v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=UTC
        )
    if not 1 < value.year < 9999:  # room for every interval added to or taken from it
        raise InvalidInputError(
            f"{field} {value.isoformat()} is outside the years 0002 to 9998 (UTC) this "
            "library computes with",
            field=field,
        )
    return value


@runtime_checkable
class Clock(Protocol):
    """Where ``now`` comes from."""

    def now(self) -> _dt.datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    """The wall clock. The only place in the library that reads it."""

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(UTC)


class FakeClock:
    """A clock that stands still until a test moves it.

    >>> clock = FakeClock(_dt.datetime(2026, 1, 1, tzinfo=UTC))
    >>> clock.advance(days=7).isoformat()
    '2026-01-08T00:00:00+00:00'
    """

    def __init__(self, start: _dt.datetime) -> None:
        self._now = utc(start, field="start")

    def now(self) -> _dt.datetime:
        return self._now

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> _dt.datetime:
        """Move forward (never back) and return the new ``now``."""
        step = _dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < _dt.timedelta(0):
            raise InvalidInputError("a clock only moves forward", field="step")
        self._now = self._now + step
        return self._now

    def set(self, at: _dt.datetime) -> _dt.datetime:
        """Jump to ``at``, which must not be earlier than ``now``."""
        at = utc(at)
        if at < self._now:
            raise InvalidInputError("a clock only moves forward", field="at")
        self._now = at
        return self._now
