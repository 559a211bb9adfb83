"""One Marketplace shared by the threads of a web app (R33, R42).

On PostgreSQL, commands of different threads run in transactions of their own at the same
time (a pool's connections), so whatever the Marketplace remembers between commands is
touched by several threads at once. These tests stop one thread at the worst moment (with
events, never a sleep) and let another run its whole command meanwhile.
"""

from __future__ import annotations

import builtins
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from moneyed import Money

from asolora_core import Actor, FakeClock, Item, Marketplace, MarketplaceConfig, Order
from asolora_core.ledger.integrity_service import _HOLDS_CHECKED_MAX, _IntegrityCommands
from asolora_core.ports import Store
from pg_support import make_store, postgres

STAFF = Actor.staff("ops")


@pytest.fixture
def pg_store() -> Iterator[Store]:
    made: Store = make_store()
    yield made
    made.close()


def _place(market: Marketplace, vendor: str) -> Order:
    (order,) = market.place_checkout(
        buyer=Actor.buyer("ada"),
        customer_name="Ada",
        items=[Item(vendor_id=vendor, product_id="mug", quantity=1, unit_price=Money("18", "EUR"))],
        paid=Money("18", "EUR"),
    )
    return order


@postgres
def test_two_threads_checking_seals_at_once_both_succeed(pg_store: Store, clock: FakeClock) -> None:
    """R42, R33: a thread stopped inside the memory of checked hold seals, just after it
    picked the oldest entry to forget, while another thread's command forgets that same
    entry, still completes its command (no ``KeyError`` out of a shared Marketplace)."""
    market = Marketplace(pg_store, clock=clock, config=MarketplaceConfig(order_receipts=False))
    first = _place(market, "anna")
    second = _place(market, "bob")
    for _ in range(_HOLDS_CHECKED_MAX + 2):  # the two holds above are forgotten by now
        _place(market, "carl")
    paused, go = threading.Event(), threading.Event()
    remember = _IntegrityCommands._remember_hold.__code__

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        # stop once, inside the memory's upkeep: after the oldest entry was looked up (the
        # builtin ``next``), or at its end if it looks it up some other way
        if paused.is_set() or frame.f_code is not remember:
            return
        if (event == "c_return" and arg is builtins.next) or event == "return":
            paused.set()
            go.wait()

    outcome: list[object] = []

    def stopped_thread() -> None:
        sys.setprofile(profile)
        try:
            outcome.append(market.freeze_release(first.order_id, by=STAFF, reason="audit"))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            sys.setprofile(None)
            paused.set()

    worker = threading.Thread(target=stopped_thread)
    worker.start()
    paused.wait()
    try:
        other = market.freeze_release(second.order_id, by=STAFF, reason="audit")
    finally:
        go.set()
        worker.join()
    assert other.frozen
    (hold,) = outcome
    assert not isinstance(hold, BaseException), hold
    assert market.get_hold(first.order_id, by=STAFF).frozen
    assert market.verify_journal(by=STAFF).ok
