"""Time as a parameter (R34): the fake clock moves only forward, naive datetimes are refused,
and every instant comes out as a stdlib UTC datetime."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from asolora_core.clock import Clock, FakeClock, SystemClock, utc
from asolora_core.errors import InvalidInputError, NaiveDatetimeError

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_r34_fake_clock_stands_still_until_moved() -> None:
    clock = FakeClock(START)
    assert clock.now() == START
    assert clock.now() == START
    assert clock.advance(days=1, hours=2, minutes=3, seconds=4) == dt.datetime(
        2026, 3, 3, 11, 3, 4, tzinfo=dt.UTC
    )
    assert clock.now() == dt.datetime(2026, 3, 3, 11, 3, 4, tzinfo=dt.UTC)
    assert clock.set(dt.datetime(2026, 4, 1, tzinfo=dt.UTC)) == dt.datetime(
        2026, 4, 1, tzinfo=dt.UTC
    )
    assert clock.advance() == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)  # zero step is fine


def test_r34_fake_clock_moves_only_forward() -> None:
    """R34: neither a negative step nor an earlier instant moves the clock back."""
    clock = FakeClock(START)
    with pytest.raises(InvalidInputError) as back:
        clock.advance(seconds=-1)
    assert back.value.code == "invalid_input"
    with pytest.raises(InvalidInputError):
        clock.advance(days=1, hours=-25)
    with pytest.raises(InvalidInputError):
        clock.set(START - dt.timedelta(microseconds=1))
    assert clock.now() == START


def test_r34_naive_datetimes_are_refused() -> None:
    """R34: a naive datetime is refused everywhere the clock takes one."""
    naive = dt.datetime(2026, 3, 2, 9, 0)
    with pytest.raises(NaiveDatetimeError) as info:
        FakeClock(naive)
    assert info.value.code == "naive_datetime"
    assert info.value.fields["field"] == "start"
    clock = FakeClock(START)
    with pytest.raises(NaiveDatetimeError):
        clock.set(dt.datetime(2026, 3, 3))
    assert clock.now() == START
    with pytest.raises(NaiveDatetimeError):
        utc(naive)
    with pytest.raises(InvalidInputError):
        utc("2026-03-02T09:00:00+00:00")
    with pytest.raises(InvalidInputError):
        utc(dt.date(2026, 3, 2))


def test_r34_aware_datetimes_are_normalised_to_stdlib_utc() -> None:
    """R34: an instant in any zone comes back as the same instant, in UTC, stdlib type."""
    paris = dt.timezone(dt.timedelta(hours=1))
    got = utc(dt.datetime(2026, 3, 2, 10, 0, tzinfo=paris))
    assert got == START
    assert got.tzinfo is dt.UTC
    assert type(got) is dt.datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pendulum.datetime(2026, 3, 2, 10, 0, tz="Europe/Paris"), START),
        (pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC"), START),
        # New York is on daylight-saving time from 2026-03-08: UTC-4, not UTC-5
        (
            pendulum.datetime(2026, 3, 9, 5, 0, tz="America/New_York"),
            dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC),
        ),
    ],
)
def test_r34_pendulum_datetimes_accepted_as_stdlib_utc(
    value: dt.datetime, expected: dt.datetime
) -> None:
    """R34: pendulum instants are accepted and come out as plain stdlib datetimes in UTC."""
    got = utc(value)
    assert got == expected
    assert type(got) is dt.datetime
    assert got.tzinfo is dt.UTC
    clock = FakeClock(value)
    assert clock.now() == expected
    assert type(clock.now()) is dt.datetime
    assert clock.now().tzinfo is dt.UTC


def test_r34_clocks_satisfy_the_protocol() -> None:
    assert isinstance(FakeClock(START), Clock)
    assert isinstance(SystemClock(), Clock)
