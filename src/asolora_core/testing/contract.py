"""The contract every store passes (R2, R29, R33, R35, R36, R40, R42).

Ships in the package so that the author of another adapter runs the very checks
:class:`~asolora_core.adapters.memory.InMemoryStore`,
:class:`~asolora_core.adapters.sqlite.SqliteStore` and
:class:`~asolora_core.adapters.postgres.PostgresStore` pass (with
:class:`~asolora_core.testing.ledger_contract.LedgerContract` and
:class:`~asolora_core.testing.reports_contract.ReportsContract` for the ledger and the
reports' rollups). Subclass :class:`StoreContract` in a
test module whose class name pytest collects, and say how to open a fresh, empty store::

    from asolora_core.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self) -> Store:
            return MyStore(dsn=...)          # a fresh, empty database each time

        def make_second_store(self) -> Store | None:
            return MyStore(dsn=...)          # optional: a 2nd handle on the SAME database

The tests are plain methods that call :meth:`StoreContract.make_store` and close what they
open; no fixture is required. They exercise the Protocols of :mod:`asolora_core.ports`
directly and through :class:`~asolora_core.service.Marketplace`, and run one end-to-end
scenario whose every observable result must equal the in-memory reference (R33). The
dashboard's order lists are checked against the reference filter
(:func:`~asolora_core.orders.listing.matches`) for every filter and several page sizes, and
the store-performance totals against the reference fold
(:func:`~asolora_core.reports.performance.fold_performance`), over
:func:`order_histories`. Tests that
need two handles on one database skip when :meth:`StoreContract.make_second_store` returns
``None``.

Needs the ``testing`` extra (pytest).
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, cast

import attrs
import pytest
from moneyed import Money

from asolora_core.actors import Actor
from asolora_core.adapters.memory import InMemoryStore
from asolora_core.adapters.notifiers import RecordingNotifier
from asolora_core.clock import FakeClock
from asolora_core.errors import AsoloraError, ConcurrencyConflictError, NotFoundError
from asolora_core.events import DomainEvent, Notification
from asolora_core.orders import commands as core
from asolora_core.orders.commands import CheckoutItem
from asolora_core.orders.listing import (
    OrderQuery,
    customer_key,
    matches,
    order_facts,
    order_key,
)
from asolora_core.orders.model import IssueKind, Order, OrderStatus, Resolution
from asolora_core.ports import IdempotencyRecord, OrderRepository, OutboxMessage, Store, Timer
from asolora_core.reports.performance import fold_performance, performance_row
from asolora_core.service import Item, Marketplace, MarketplaceConfig, SequentialIds

__all__ = ["T0", "StoreContract", "lifecycle_scenario", "make_order", "order_histories"]

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)
"""The instant the contract's scenarios start at."""

VENDOR = Actor.vendor("v-1")
OTHER_VENDOR = Actor.vendor("v-2")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("staff-1")


def make_order(
    order_id: str,
    *,
    vendor_id: str = "v-1",
    customer_name: str = "Ada Lovelace",
    checkout_id: str | None = None,
    placed_at: _dt.datetime = T0,
    quantity: int = 3,
    buyer_id: str = "b-1",
    currency: str = "EUR",
) -> tuple[Order, tuple[DomainEvent, ...]]:
    """A new order (version 1) and its events, built by the pure core: one line of
    ``quantity`` units at 10.00 (of ``currency``)."""
    ((order, events),) = core.place_checkout(
        checkout_id=checkout_id or f"c-{order_id}",
        buyer=Actor.buyer(buyer_id),
        customer_name=customer_name,
        currency=currency,
        items=[
            CheckoutItem(
                vendor_id=vendor_id,
                product_id="p-1",
                title="Teapot",
                quantity=quantity,
                unit_price_minor=1000,
            )
        ],
        shipping_minor={},
        paid_minor=1000 * quantity,
        order_ids={vendor_id: order_id},
        line_ids=[f"{order_id}-l1"],
        now=placed_at,
    )
    return order, events


def _shipped(order: Order, n: int = 1) -> tuple[Order, tuple[DomainEvent, ...]]:
    """``order`` with its ``n``-th shipment of one unit: the next version."""
    return core.ship(
        order,
        shipment_id=f"{order.order_id}-s{n}",
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number=f"TN-{order.order_id}-{n}",
        by=Actor.vendor(order.vendor_id),
        now=T0 + _dt.timedelta(hours=n),
    )


def _message(
    n: int, *, at: _dt.datetime, next_attempt_at: _dt.datetime | None = None
) -> OutboxMessage:
    return OutboxMessage(
        message_id=f"n-{n:03d}",
        notification=Notification(
            recipient=VENDOR, kind="order.placed", subject_id=f"o-{n}", text=f"#{n}", event_at=at
        ),
        created_at=at,
        next_attempt_at=next_attempt_at or at,
    )


def _timer(timer_id: str, due_at: _dt.datetime) -> Timer:
    return Timer(timer_id=timer_id, kind="test", aggregate_id="o-1", ref=timer_id, due_at=due_at)


def _eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def lifecycle_scenario(store: Store) -> dict[str, Any]:
    """Run one deterministic marketplace story on ``store`` and return everything it can
    observe: orders, histories, outbox, notifications sent, sweep reports, refusals and the
    query results. Two stores agree (R33) when this returns equal values for both.

    The story: a checkout across two vendors; partial shipments, tracking updates, an issue
    settled by a partial refund, confirmations and automatic completion; a cancellation;
    an auto-confirmation by the timer sweep (R10); an idempotent replay (R35); refused
    commands (R2); a notifier that fails and is retried (R29).
    """
    clock = FakeClock(T0)
    notifier = RecordingNotifier()
    market = Marketplace(
        store,
        clock=clock,
        notifier=notifier,
        ids=SequentialIds(),
        config=MarketplaceConfig(auto_confirm_after=_dt.timedelta(days=3)),
    )
    refusals: list[str] = []

    def refused(fn: Callable[[], object]) -> None:
        try:
            fn()
        except AsoloraError as exc:
            refusals.append(exc.code)
        else:  # pragma: no cover - the contract is broken
            raise AssertionError("the command should have been refused")

    v2 = OTHER_VENDOR
    first = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada Lovelace",
        items=[
            Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=_eur("10.00")),
            Item(vendor_id="v-1", product_id="p-2", quantity=1, unit_price=_eur("5.50")),
            Item(vendor_id="v-2", product_id="p-3", quantity=1, unit_price=_eur("20.00")),
        ],
        paid=_eur("49.50"),
        shipping={"v-1": _eur("4.00")},
        idempotency_key="checkout-1",
    )
    replay = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada Lovelace",
        items=[
            Item(vendor_id="v-1", product_id="p-1", quantity=2, unit_price=_eur("10.00")),
            Item(vendor_id="v-1", product_id="p-2", quantity=1, unit_price=_eur("5.50")),
            Item(vendor_id="v-2", product_id="p-3", quantity=1, unit_price=_eur("20.00")),
        ],
        paid=_eur("49.50"),
        shipping={"v-1": _eur("4.00")},
        idempotency_key="checkout-1",
    )
    o1, o2 = first
    l1, l2 = (line.line_id for line in o1.lines)
    market.deliver_notifications()

    refused(
        lambda: market.ship(o1.order_id, by=v2, items={l1: 2}, carrier="X", tracking_number="1")
    )
    o = market.ship(o1.order_id, by=VENDOR, items={l1: 2}, carrier="DHL", tracking_number="TN-1")
    s1 = o.shipments[-1].shipment_id
    clock.advance(hours=1)
    market.update_tracking(o1.order_id, s1, by=VENDOR, note="left the depot", idempotency_key="t")
    market.update_tracking(o1.order_id, s1, by=VENDOR, note="left the depot", idempotency_key="t")
    refused(lambda: market.update_tracking(o1.order_id, s1, by=VENDOR, note="left the depot"))
    o = market.ship(o1.order_id, by=VENDOR, items={l2: 1}, carrier="UPS", tracking_number="TN-2")
    s2 = o.shipments[-1].shipment_id
    notifier.fail_next = 2
    market.deliver_notifications()
    clock.advance(days=1)
    market.mark_delivered(o1.order_id, s1, by=VENDOR)
    o = market.report_issue(
        o1.order_id, by=BUYER, kind=IssueKind.DAMAGED, description="chipped", line_ids=[l2]
    )
    issue = o.issues[-1].issue_id
    clock.advance(hours=5)
    market.respond_to_issue(o1.order_id, issue, by=VENDOR, message="Sorry! A partial refund?")
    market.offer_settlement(
        o1.order_id, issue, by=VENDOR, resolution=Resolution.REFUND, amount=_eur("2.00")
    )
    market.answer_settlement(o1.order_id, issue, by=BUYER, accept=True)
    market.confirm_receipt(o1.order_id, s1, by=BUYER)
    clock.advance(hours=1)
    market.mark_delivered(o1.order_id, s2, by=VENDOR)
    market.confirm_receipt(o1.order_id, s2, by=BUYER)
    refused(lambda: market.complete_order(o1.order_id, by=STAFF))
    market.cancel_order(o2.order_id, by=BUYER, reason="changed my mind")
    refused(lambda: market.cancel_order(o2.order_id, by=BUYER, reason="again"))

    (o3,) = market.place_checkout(
        buyer=Actor.buyer("b-2"),
        customer_name="ADA lovelace",
        items=[Item(vendor_id="v-1", product_id="p-1", quantity=1, unit_price=_eur("10.00"))],
        paid=_eur("10.00"),
    )
    o = market.ship(
        o3.order_id,
        by=VENDOR,
        items={o3.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="TN-3",
    )
    market.mark_delivered(o3.order_id, o.shipments[0].shipment_id, by=VENDOR)
    early = market.run_due()
    clock.advance(days=3, seconds=1)
    late = market.run_due()
    again = market.run_due()

    order_ids = [o1.order_id, o2.order_id, o3.order_id]
    with store.unit_of_work() as uow:
        by_vendor = sorted(o.order_id for o in _all(uow.orders, OrderQuery(vendor_id="v-1")))
        by_name = [o.order_id for o in uow.orders.for_customer_name("v-1", " ada LOVELACE ")]
        by_checkout = sorted(o.order_id for o in uow.orders.for_checkout(o1.checkout_id))
    return {
        "first": first,
        "replay": replay,
        "orders": [market.get_order(i, by=STAFF) for i in order_ids],
        "histories": [market.order_history(i, by=STAFF) for i in order_ids],
        "outbox": market.outbox(by=STAFF),
        "sent": list(notifier.sent),
        "sweeps": [early, late, again],
        "refusals": refusals,
        "vendor_orders": by_vendor,
        "list_orders": [
            [o.order_id for o in market.list_orders(by=STAFF, vendor_id=v, **f).items]
            for v in ("v-1", "v-2")
            for f in _LIST_FILTERS
        ],
        "buyer_orders": [o.order_id for o in market.buyer_orders(by=BUYER).items],
        "for_customer_name": by_name,
        "for_checkout": by_checkout,
    }


def order_histories(start: _dt.datetime = T0) -> list[list[Order]]:
    """Orders in every state a dashboard list tells apart, each as the list of its versions
    (built by the pure core): two vendors, two buyers, placement ties, several days, two
    currencies; unshipped, partly shipped, delivered, confirmed (completed), cancelled, with
    an open issue, refunded. Add each first version, then save the others in order."""
    hour = _dt.timedelta(hours=1)
    out: list[list[Order]] = []

    def story(order: Order, *steps: str) -> None:
        versions = [order]
        at = order.placed_at + _dt.timedelta(minutes=17 * len(out))  # durations differ
        vendor = Actor.vendor(order.vendor_id)
        buyer = Actor.buyer(order.buyer_id)
        line = order.lines[0].line_id
        for n, step in enumerate(steps, start=1):
            at += _dt.timedelta(hours=n)
            o = versions[-1]
            sid = f"{o.order_id}-s{len(o.shipments)}"
            last = o.shipments[-1].shipment_id if o.shipments else ""
            if step == "ship_one":
                new, _ = core.ship(
                    o, shipment_id=sid, items={line: 1}, carrier="DHL", tracking_number=sid,
                    by=vendor, now=at,
                )  # fmt: skip
            elif step == "ship_rest":
                rest = o.unshipped()[line]
                new, _ = core.ship(
                    o, shipment_id=sid, items={line: rest}, carrier="DHL", tracking_number=sid,
                    by=vendor, now=at,
                )  # fmt: skip
            elif step == "deliver":
                new, _ = core.mark_delivered(o, last, by=vendor, now=at)
            elif step == "confirm":
                new, _ = core.confirm_receipt(o, last, by=buyer, now=at)
            elif step == "cancel":
                new, _ = core.cancel(o, refund_id=f"{o.order_id}-r", reason="", by=buyer, now=at)
            elif step == "issue":
                new, _ = core.report_issue(
                    o, issue_id=f"{o.order_id}-i", kind=IssueKind.DAMAGED, description="chipped",
                    by=buyer, now=at,
                )  # fmt: skip
            elif step == "refund":
                new, _ = core.refund(
                    o, refund_id=f"{o.order_id}-r{len(o.refunds)}", amount_minor=250,
                    items=None, shipping_minor=0, reason="", by=vendor, now=at,
                )  # fmt: skip
            else:  # pragma: no cover - a typo in this table
                raise AssertionError(step)
            versions.append(new)
        out.append(versions)

    def placed(i: int, **kw: Any) -> Order:
        return make_order(f"o-{i:02d}", placed_at=start + (i // 2) * hour, **kw)[0]

    story(placed(1))
    story(placed(2), "ship_one")
    story(placed(3), "ship_rest", "deliver")
    story(placed(4), "ship_rest", "deliver", "confirm")
    story(placed(5), "cancel")
    story(placed(6, customer_name="Grace Hopper", buyer_id="b-2"), "ship_rest", "deliver", "issue")
    story(placed(7, vendor_id="v-2"), "ship_one")
    story(placed(8, customer_name="ADA lovelace"), "refund")
    story(placed(9, currency="JPY", quantity=2), "ship_one", "deliver", "ship_rest", "deliver")
    story(placed(10, buyer_id="b-2", customer_name="Grace Hopper"), "ship_one", "issue")
    story(placed(11, vendor_id="v-2", buyer_id="b-2"), "cancel")
    story(placed(31), "ship_rest", "deliver", "refund", "confirm")
    story(make_order("o-40", placed_at=start + _dt.timedelta(days=2))[0], "ship_one")
    return out


class StoreContract:
    """The contract suite. Subclass it (as ``TestSomething``) and implement
    :meth:`make_store`; implement :meth:`make_second_store` to run the two-handle tests."""

    # --- what the adapter author provides ------------------------------------------------

    def make_store(self) -> Store:
        """A new store on a fresh, empty database."""
        raise NotImplementedError("subclass StoreContract and implement make_store()")

    def make_second_store(self) -> Store | None:
        """Another handle (its own connections) on the database that the last
        :meth:`make_store` call opened, or ``None`` when the store cannot have one. Returning
        the same store is fine for a store meant to be shared between threads: the two-handle
        tests then run it from two threads at once."""
        return None

    # --- helpers -------------------------------------------------------------------------

    @contextmanager
    def opened(self) -> Iterator[Store]:
        """A fresh store, closed at the end."""
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def two_handles(self) -> Iterator[tuple[Store, Store]]:
        """A fresh store and a second handle on it; skips when there is none."""
        with self.opened() as first:
            second = self.make_second_store()
            if second is None:
                pytest.skip("the store offers no second handle on one database")
            try:
                yield first, second
            finally:
                second.close()

    @staticmethod
    def add_order(store: Store, order: Order, events: tuple[DomainEvent, ...] = ()) -> None:
        with store.unit_of_work() as uow:
            uow.orders.add(order)
            uow.events.append(events)
            uow.commit()

    # --- orders (R36) --------------------------------------------------------------------

    def test_add_then_get_returns_an_equal_order(self) -> None:
        """R33: what is added is read back equal, in the same and in a later unit of work."""
        order, _ = make_order("o-1")
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.orders.add(order)
                assert uow.orders.get("o-1") == order
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.orders.get("o-1") == order
                with pytest.raises(NotFoundError):
                    uow.orders.get("o-unknown")

    def test_add_of_an_existing_id_is_refused(self) -> None:
        """R36: adding an order whose id exists is a conflict; the stored one stays."""
        order, _ = make_order("o-1")
        other, _ = make_order("o-1", customer_name="Someone Else")
        with self.opened() as store:
            self.add_order(store, order)
            with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflictError):
                uow.orders.add(other)
            with store.unit_of_work() as uow:
                assert uow.orders.get("o-1") == order

    def test_save_stores_the_next_version(self) -> None:
        """R36: saving version n+1 over version n replaces the order."""
        order, _ = make_order("o-1")
        v2, _ = _shipped(order, 1)
        v3, _ = _shipped(v2, 2)
        assert (v2.version, v3.version) == (2, 3)
        with self.opened() as store:
            self.add_order(store, order)
            for new in (v2, v3):
                with store.unit_of_work() as uow:
                    uow.orders.save(new)
                    uow.commit()
                with store.unit_of_work() as uow:
                    assert uow.orders.get("o-1") == new

    def test_save_over_a_newer_version_is_refused_and_writes_nothing(self) -> None:
        """R36: a stale writer (or one skipping a version, or saving an unknown order) gets
        ConcurrencyConflictError and the stored order is unchanged."""
        order, _ = make_order("o-1")
        v2, _ = _shipped(order, 1)
        stale_v2 = attrs.evolve(v2, customer_name="Stale Writer")
        v3, _ = _shipped(v2, 2)
        v4, _ = _shipped(v3, 3)
        with self.opened() as store:
            self.add_order(store, order)
            with store.unit_of_work() as uow:
                uow.orders.save(v2)
                uow.commit()
            for bad in (stale_v2, order, v4, make_order("o-2")[0]):
                with store.unit_of_work() as uow:
                    with pytest.raises(ConcurrencyConflictError):
                        uow.orders.save(bad)
                    uow.commit()  # whatever a caller does next, nothing was written
                with store.unit_of_work() as uow:
                    assert uow.orders.get("o-1") == v2
                    with pytest.raises(NotFoundError):
                        uow.orders.get("o-2")

    def test_rollback_leaves_nothing(self) -> None:
        """R2, R29: leaving a unit of work by an exception, by rollback() or without commit
        undoes the order, its events, the outbox, the idempotency record and the timers."""
        order, events = make_order("o-1")
        record = IdempotencyRecord(
            scope="buyer:b-1", key="k", command="c", arguments={}, result=order, at=T0
        )

        def write_all(uow: Any) -> None:
            uow.orders.add(order)
            uow.events.append(events)
            uow.outbox.add([_message(1, at=T0)])
            uow.idempotency.put(record)
            uow.timers.schedule(_timer("t-1", T0))

        class Boom(Exception):
            pass

        with self.opened() as store:

            def write_then_fail() -> None:
                with store.unit_of_work() as uow:
                    write_all(uow)
                    raise Boom

            with pytest.raises(Boom):
                write_then_fail()
            with store.unit_of_work() as uow:
                write_all(uow)
                uow.rollback()
            with store.unit_of_work() as uow:
                write_all(uow)  # and no commit
            with store.unit_of_work() as uow:
                with pytest.raises(NotFoundError):
                    uow.orders.get("o-1")
                assert uow.events.history("o-1") == ()
                assert uow.outbox.all() == ()
                assert uow.outbox.due(T0, 10) == ()
                assert uow.idempotency.get("buyer:b-1", "k") is None
                assert uow.timers.claim_due(T0 + _dt.timedelta(days=1), 10) == ()
            # the same writes commit cleanly afterwards: nothing half-written was left behind
            with store.unit_of_work() as uow:
                write_all(uow)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.orders.get("o-1") == order
                assert uow.events.history("o-1") == events
                assert uow.idempotency.get("buyer:b-1", "k") == record
                assert [m.message_id for m in uow.outbox.all()] == ["n-001"]

    # --- history (R42) -------------------------------------------------------------------

    def test_history_is_every_event_in_order_and_decodes_equal(self) -> None:
        """R42: the history of an aggregate is every appended event, oldest first, equal to
        what was appended; other aggregates' events are not mixed in."""
        order, placed = make_order("o-1")
        _, other_placed = make_order("o-2")
        v2, shipped = _shipped(order, 1)
        v3, tracked = core.update_tracking(
            v2, "o-1-s1", by=VENDOR, now=T0 + _dt.timedelta(hours=2), note="in transit"
        )
        v4, delivered = core.mark_delivered(
            v3, "o-1-s1", by=VENDOR, now=T0 + _dt.timedelta(hours=3)
        )
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.events.append(placed)
                uow.events.append(other_placed)
                uow.commit()
            with store.unit_of_work() as uow:
                uow.events.append((*shipped, *tracked))
                uow.commit()
            with store.unit_of_work() as uow:
                uow.events.append(delivered)
                uow.events.append(())
                uow.commit()
            with store.unit_of_work() as uow:
                history = uow.events.history("o-1")
                assert history == (*placed, *shipped, *tracked, *delivered)
                assert [type(e) for e in history] == [
                    type(e) for e in (*placed, *shipped, *tracked, *delivered)
                ]
                assert uow.events.history("o-2") == other_placed
                assert uow.events.history("o-unknown") == ()
        assert v4.version == 4

    def test_history_read_in_a_unit_of_work_shows_what_it_appended(self) -> None:
        """R42: a unit of work reads its own appends (a store may write them late, but never
        after a read of the history in it), and events appended after that read follow
        them in order once committed."""
        order, placed = make_order("o-1")
        v2, shipped = _shipped(order, 1)
        _, delivered = core.mark_delivered(v2, "o-1-s1", by=VENDOR, now=T0 + _dt.timedelta(hours=3))
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.events.append(placed)
                uow.commit()
            with store.unit_of_work() as uow:
                uow.events.append(shipped)
                assert uow.events.history("o-1") == (*placed, *shipped)
                uow.events.append(delivered)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.events.history("o-1") == (*placed, *shipped, *delivered)

    # --- outbox (R29) --------------------------------------------------------------------

    def test_outbox_due_is_pending_messages_whose_time_has_come_oldest_first(self) -> None:
        """R29: due() returns undelivered, not failed messages with next_attempt_at <= now,
        oldest first, at most ``limit``; all() returns every message, equal to what was
        stored."""
        minute = _dt.timedelta(minutes=1)
        messages = [_message(i, at=T0 + i * minute) for i in range(1, 6)]
        later = _message(6, at=T0 + 6 * minute, next_attempt_at=T0 + _dt.timedelta(hours=1))
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.outbox.add(messages[:2])
                uow.outbox.add([*messages[2:], later])
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.outbox.due(T0, 10) == ()
                assert uow.outbox.due(T0 + 3 * minute, 10) == tuple(messages[:3])
                assert uow.outbox.due(T0 + 10 * minute, 2) == tuple(messages[:2])
                assert uow.outbox.due(T0 + 10 * minute, 10) == tuple(messages)
                assert uow.outbox.due(T0 + _dt.timedelta(hours=1), 10) == (*messages, later)
                assert sorted(uow.outbox.all(), key=lambda m: m.message_id) == [*messages, later]

    def test_outbox_add_keeps_a_large_batch_whole_and_in_order(self) -> None:
        """R29: one add() of more messages than a store writes per statement keeps every
        message, oldest first, each exactly as given."""
        messages = [
            _message(i, at=T0 + _dt.timedelta(microseconds=i), next_attempt_at=T0)
            for i in range(1, 1203)
        ]
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.outbox.add(messages)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.outbox.due(T0, 2000) == tuple(messages)

    def test_outbox_update_moves_messages_out_of_and_back_into_due(self) -> None:
        """R29: a delivered or failed message is never due again; a rescheduled (leased or
        backed-off) one is due from its new next_attempt_at; updates are kept."""
        minute = _dt.timedelta(minutes=1)
        m1, m2, m3, m4 = (_message(i, at=T0 + i * minute) for i in range(1, 5))
        now = T0 + 10 * minute
        delivered = attrs.evolve(m1, attempts=1, delivered_at=now)
        failed = attrs.evolve(m2, attempts=8, failed=True, last_error="ConnectionError: down")
        leased = attrs.evolve(m3, next_attempt_at=now + 5 * minute)
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.outbox.add([m1, m2, m3, m4])
                uow.commit()
            with store.unit_of_work() as uow:
                for m in (delivered, failed, leased):
                    uow.outbox.update(m)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.outbox.due(now, 10) == (m4,)
                assert uow.outbox.due(now + 5 * minute, 10) == (leased, m4)
                assert sorted(uow.outbox.all(), key=lambda m: m.message_id) == [
                    delivered,
                    failed,
                    leased,
                    m4,
                ]
            with store.unit_of_work() as uow:  # an update that is rolled back is not kept
                uow.outbox.update(attrs.evolve(m4, delivered_at=now))
            with store.unit_of_work() as uow:
                assert uow.outbox.due(now, 10) == (m4,)

    def test_outbox_rolled_back_delivery_keeps_the_message_in_its_place(self) -> None:
        """R29, R33: a relay whose "delivered" transaction rolls back leaves every message
        due in the same order as before (oldest first), not moved to the back."""
        messages = [_message(i, at=T0 + i * _dt.timedelta(seconds=1)) for i in range(1, 5)]
        now = T0 + _dt.timedelta(minutes=1)
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.outbox.add(messages)
                uow.commit()
            with store.unit_of_work() as uow:
                uow.outbox.update(attrs.evolve(messages[0], attempts=1, delivered_at=now))
                uow.outbox.update(attrs.evolve(messages[2], attempts=8, failed=True))
                uow.rollback()
            with store.unit_of_work() as uow:
                assert uow.outbox.due(now, 10) == tuple(messages)

    # --- idempotency (R35) ---------------------------------------------------------------

    def test_idempotency_records_round_trip(self) -> None:
        """R35: a record comes back equal, whether it holds an Order, a tuple of Orders,
        nothing, or a refusal; keys are scoped to the actor."""
        order, _ = make_order("o-1")
        other, _ = make_order("o-2", vendor_id="v-2")
        at = T0 + _dt.timedelta(seconds=1, microseconds=7)
        records = [
            IdempotencyRecord(
                scope="vendor:v-1",
                key="k1",
                command="ship",
                arguments={"order_id": '"o-1"'},
                result=order,
                at=at,
            ),
            IdempotencyRecord(
                scope="buyer:b-1",
                key="k1",
                command="place_checkout",
                arguments={"paid": '"30.00 EUR"'},
                result=(order, other),
                at=at,
            ),
            IdempotencyRecord(
                scope="buyer:b-1",
                key="k2",
                command="cancel_order",
                arguments={},
                result=None,
                at=at,
            ),
            IdempotencyRecord(
                scope="buyer:b-2",
                key="k1",
                command="cancel_order",
                arguments={"reason": '""'},
                error={"code": "not_permitted", "message": "no", "fields": {"actor": "buyer"}},
                at=at,
            ),
        ]
        with self.opened() as store:
            with store.unit_of_work() as uow:
                for record in records:
                    uow.idempotency.put(record)
                uow.commit()
            with store.unit_of_work() as uow:
                for record in records:
                    assert uow.idempotency.get(record.scope, record.key) == record
                assert uow.idempotency.get("vendor:v-2", "k1") is None
                assert uow.idempotency.get("vendor:v-1", "k2") is None

    def test_idempotency_purge_deletes_records_older_than_the_instant(self) -> None:
        """R35: retention deletes records whose ``at`` is before the instant, up to the limit;
        a record put again under the same key is as new as its new ``at``."""
        hour = _dt.timedelta(hours=1)
        records = [
            IdempotencyRecord(
                scope="vendor:v-1", key=f"k{i}", command="c", arguments={}, at=T0 + i * hour
            )
            for i in range(4)
        ]
        with self.opened() as store:
            with store.unit_of_work() as uow:
                for record in records:
                    uow.idempotency.put(record)
                uow.idempotency.put(attrs.evolve(records[0], at=T0 + 5 * hour))  # renewed
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.idempotency.purge(T0 + 3 * hour, 1) == 1
                assert uow.idempotency.purge(T0 + 3 * hour, 10) == 1
                assert uow.idempotency.purge(T0 + 3 * hour, 10) == 0
                uow.commit()
            with store.reader() as uow:
                left = [r.key for r in records if uow.idempotency.get(r.scope, r.key)]
            assert left == ["k0", "k3"]

    def test_outbox_purge_deletes_only_delivered_messages_past_the_instant(self) -> None:
        """R29: retention deletes delivered messages delivered before the instant; pending
        and failed ones stay."""
        hour = _dt.timedelta(hours=1)
        with self.opened() as store:
            messages = [_message(i, at=T0) for i in range(4)]
            with store.unit_of_work() as uow:
                uow.outbox.add(messages)
                uow.outbox.update(attrs.evolve(messages[0], delivered_at=T0 + hour))
                uow.outbox.update(attrs.evolve(messages[1], delivered_at=T0 + 3 * hour))
                uow.outbox.update(attrs.evolve(messages[2], failed=True))
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.outbox.purge_delivered(T0 + 2 * hour, 10) == 1
                uow.commit()
            with store.reader() as uow:
                assert [m.message_id for m in uow.outbox.all()] == ["n-001", "n-002", "n-003"]

    def test_reader_sees_committed_data_and_leaves_nothing_open(self) -> None:
        """R33: a reader (the queries' unit of work) sees what was committed; after it, a
        command's unit of work runs as usual."""
        order, events = make_order("o-1")
        with self.opened() as store:
            self.add_order(store, order, events)
            with store.reader() as uow:
                assert uow.orders.get("o-1") == order
                assert uow.events.history("o-1") == events
            with store.reader() as uow:
                assert uow.orders.for_checkout(order.checkout_id) == (order,)
                uow.commit()  # ending a reader either way is fine
            with store.unit_of_work() as uow:
                uow.orders.save(attrs.evolve(order, version=2))
                uow.commit()
            with store.reader() as uow:
                assert uow.orders.get("o-1").version == 2

    # --- timers (R10, R40) ---------------------------------------------------------------

    def test_timers_are_claimed_earliest_first_up_to_the_limit(self) -> None:
        """R40: claim_due returns due timers earliest first (ties by id), at most ``limit``,
        and never one not yet due; claimed timers are gone once committed."""
        hour = _dt.timedelta(hours=1)
        with self.opened() as store:
            with store.unit_of_work() as uow:
                for timer in (
                    _timer("t-c", T0 + 3 * hour),
                    _timer("t-a", T0 + hour),
                    _timer("t-b", T0 + hour),
                    _timer("t-d", T0 + 9 * hour),
                ):
                    uow.timers.schedule(timer)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0, 10) == ()
                claimed = uow.timers.claim_due(T0 + 5 * hour, 2)
                assert claimed == (_timer("t-a", T0 + hour), _timer("t-b", T0 + hour))
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + 5 * hour, 10) == (_timer("t-c", T0 + 3 * hour),)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + 5 * hour, 10) == ()
                assert uow.timers.claim_due(T0 + 9 * hour, 10) == (_timer("t-d", T0 + 9 * hour),)

    def test_timers_schedule_again_replaces_and_cancel_removes(self) -> None:
        """R40: scheduling a timer id again replaces it (earlier or later); cancel removes it
        (and cancelling an unknown id does nothing)."""
        hour = _dt.timedelta(hours=1)
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.timers.schedule(_timer("t-1", T0 + hour))
                uow.timers.schedule(_timer("t-2", T0 + hour))
                uow.timers.schedule(_timer("t-3", T0 + 5 * hour))
                uow.commit()
            with store.unit_of_work() as uow:
                uow.timers.schedule(_timer("t-1", T0 + 4 * hour))  # later
                uow.timers.schedule(_timer("t-3", T0 + 2 * hour))  # earlier
                uow.timers.cancel("t-2")
                uow.timers.cancel("t-unknown")
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + 3 * hour, 10) == (_timer("t-3", T0 + 2 * hour),)
                assert uow.timers.claim_due(T0 + 9 * hour, 10) == (_timer("t-1", T0 + 4 * hour),)

    def test_claimed_timers_come_back_after_rollback(self) -> None:
        """R40: a sweep that fails hands its timers to the next one."""
        hour = _dt.timedelta(hours=1)
        timers = (_timer("t-1", T0), _timer("t-2", T0 + hour))
        with self.opened() as store:
            with store.unit_of_work() as uow:
                for timer in timers:
                    uow.timers.schedule(timer)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + hour, 10) == timers
                uow.rollback()

            def claim_then_die() -> None:
                with store.unit_of_work() as uow:
                    assert uow.timers.claim_due(T0 + hour, 1) == timers[:1]
                    raise RuntimeError("the sweep died")

            with pytest.raises(RuntimeError):
                claim_then_die()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + hour, 10) == timers

    def test_a_failed_timer_is_set_aside_only_while_it_is_as_claimed(self) -> None:
        """R40: ``set_aside(timer, due_at)`` moves a timer that a failed sweep claimed (and
        rolled back) to ``due_at`` only while the stored timer is still the one claimed.
        Once another sweep has claimed it, or a command has cancelled it or scheduled it
        again, it changes nothing and returns False: a timer set aside never runs twice, a
        cancelled one never comes back, a rescheduled one keeps its new instant and ref."""
        hour, minute = _dt.timedelta(hours=1), _dt.timedelta(minutes=1)
        ran = _timer("t-ran", T0 - minute)
        kept, cancelled, moved, edited = (
            _timer(name, T0) for name in ("t-kept", "t-cancelled", "t-moved", "t-edited")
        )
        with self.opened() as store:
            with store.unit_of_work() as uow:
                for timer in (ran, kept, cancelled, moved, edited):
                    uow.timers.schedule(timer)
                uow.commit()
            with store.unit_of_work() as uow:  # a sweep whose work fails
                claimed = uow.timers.claim_due(T0, 10)
                uow.rollback()
            assert claimed == (ran, cancelled, edited, kept, moved)
            with store.unit_of_work() as uow:  # meanwhile another sweep runs t-ran ...
                assert uow.timers.claim_due(T0 - minute, 10) == (ran,)
                uow.commit()
            with store.unit_of_work() as uow:  # ... and commands change three others
                uow.timers.cancel("t-cancelled")
                uow.timers.schedule(_timer("t-moved", T0 + 3 * hour))
                uow.timers.schedule(attrs.evolve(edited, ref="scheduled again"))
                uow.commit()
            with store.unit_of_work() as uow:
                moved_aside = [uow.timers.set_aside(t, T0 + hour) for t in claimed]
                uow.commit()
            assert moved_aside == [False, False, False, True, False]
            with store.unit_of_work() as uow:  # set aside already: no longer as claimed
                assert uow.timers.set_aside(kept, T0 + 2 * hour) is False
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + 9 * hour, 10) == (
                    attrs.evolve(edited, ref="scheduled again"),
                    attrs.evolve(kept, due_at=T0 + hour),
                    _timer("t-moved", T0 + 3 * hour),
                )

    def test_a_set_aside_that_is_rolled_back_moves_nothing(self) -> None:
        """R40: a set-aside commits with its unit of work; rolled back, the timer is due as
        it was."""
        with self.opened() as store:
            with store.unit_of_work() as uow:
                uow.timers.schedule(_timer("t-1", T0))
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.timers.set_aside(_timer("t-1", T0), T0 + _dt.timedelta(hours=1))
                uow.rollback()
            with store.unit_of_work() as uow:
                assert uow.timers.claim_due(T0, 10) == (_timer("t-1", T0),)

    def _sweep_failing_while(
        self, first: Store, second: Store, meanwhile: Callable[[Marketplace], object]
    ) -> tuple[dict[str, int], list[str]]:
        """Sweep ``first`` at T0 for one timer, ``t-1``, whose work fails there; after that
        transaction is rolled back and before the sweep sets the timer aside, ``meanwhile``
        runs with a marketplace on ``second`` (another worker, whose handler works). Returns
        the sweep's timer counts and which workers ran the timer."""
        with first.unit_of_work() as uow:
            uow.timers.schedule(_timer("t-1", T0))
            uow.commit()
        runs: list[str] = []
        hooked = _BetweenTransactions(first)
        here = Marketplace(
            hooked.as_store(), clock=FakeClock(T0), config=MarketplaceConfig(sweep_batch=1)
        )
        there = Marketplace(second, clock=FakeClock(T0))

        def fails(uow: Any, timer: Timer, now: _dt.datetime) -> bool:
            runs.append("here")
            hooked.pending.append(lambda: meanwhile(there))  # at the next transaction
            raise RuntimeError("the timer's work failed on this worker")

        def works(uow: Any, timer: Timer, now: _dt.datetime) -> bool:
            runs.append("there")
            return True

        here._timer_handlers["test"] = fails
        there._timer_handlers["test"] = works
        counts = dict(here.run_due(T0).timers)
        assert hooked.pending == []  # ``meanwhile`` ran
        return counts, runs

    def test_a_failed_timer_another_sweep_ran_meanwhile_is_not_put_back(self) -> None:
        """R40: a timer whose work failed on one worker and that another worker claimed and
        ran before the first could set it aside is not put back for an hour later: it runs
        once, not twice (a reminder or a release sent again)."""
        with self.two_handles() as (first, second):
            counts, runs = self._sweep_failing_while(first, second, lambda m: m.run_due(T0))
            assert counts == {"failed": 1}
            assert runs == ["here", "there"]
            with first.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + _dt.timedelta(days=30), 10) == ()

    def test_a_failed_timer_a_command_cancelled_meanwhile_stays_cancelled(self) -> None:
        """R40: a timer cancelled by a command between a failed run and its set-aside is not
        brought back."""

        def cancel(market: Marketplace) -> None:
            with market.store.unit_of_work() as uow:
                uow.timers.cancel("t-1")
                uow.commit()

        with self.two_handles() as (first, second):
            counts, runs = self._sweep_failing_while(first, second, cancel)
            assert (counts, runs) == ({"failed": 1}, ["here"])
            with first.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + _dt.timedelta(days=30), 10) == ()

    def test_a_failed_timer_a_command_scheduled_again_meanwhile_keeps_its_new_form(
        self,
    ) -> None:
        """R40: a timer scheduled again by a command between a failed run and its set-aside
        keeps the instant and reference the command gave it."""
        again = attrs.evolve(_timer("t-1", T0 + _dt.timedelta(hours=3)), ref="again")

        def reschedule(market: Marketplace) -> None:
            with market.store.unit_of_work() as uow:
                uow.timers.schedule(again)
                uow.commit()

        with self.two_handles() as (first, second):
            counts, runs = self._sweep_failing_while(first, second, reschedule)
            assert (counts, runs) == ({"failed": 1}, ["here"])
            with first.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + _dt.timedelta(days=30), 10) == (again,)

    def test_a_failed_timer_nobody_touched_is_set_aside_for_an_hour(self) -> None:
        """R40: with nothing in between, the failed timer is set aside: due an hour after
        the sweep's instant, everything else as it was."""
        with self.two_handles() as (first, second):
            counts, runs = self._sweep_failing_while(first, second, lambda m: None)
            assert (counts, runs) == ({"failed": 1}, ["here"])
            with first.unit_of_work() as uow:
                assert uow.timers.claim_due(T0 + _dt.timedelta(minutes=59), 10) == ()
                assert uow.timers.claim_due(T0 + _dt.timedelta(hours=1), 10) == (
                    _timer("t-1", T0 + _dt.timedelta(hours=1)),
                )

    # --- queries -------------------------------------------------------------------------

    def test_orders_by_checkout_vendor_and_customer_name(self) -> None:
        """R26, R33: for_checkout and for_vendor find exactly their orders (latest version);
        for_customer_name is one vendor's orders under a name, case-insensitive, newest
        first."""
        hour = _dt.timedelta(hours=1)
        a, _ = make_order("o-a", customer_name="Ada Lovelace", checkout_id="c-1")
        b, _ = make_order("o-b", vendor_id="v-2", customer_name="Ada Lovelace", checkout_id="c-1")
        c, _ = make_order("o-c", customer_name="ada LOVELACE", placed_at=T0 + 2 * hour)
        d, _ = make_order("o-d", customer_name="Grace Hopper", placed_at=T0 + hour)
        e, _ = make_order("o-e", customer_name="ADA Lovelace", placed_at=T0 + hour)
        with self.opened() as store:
            for order in (c, a, b, e, d):
                self.add_order(store, order)
            a2, _ = _shipped(a)
            with store.unit_of_work() as uow:
                uow.orders.save(a2)
                uow.commit()
            with store.unit_of_work() as uow:
                assert sorted(uow.orders.for_checkout("c-1"), key=_oid) == [a2, b]
                assert uow.orders.for_checkout("c-unknown") == ()
                assert sorted(_all(uow.orders, OrderQuery(vendor_id="v-1")), key=_oid) == [
                    a2,
                    c,
                    d,
                    e,
                ]
                assert _all(uow.orders, OrderQuery(vendor_id="v-2")) == (b,)
                assert _all(uow.orders, OrderQuery(vendor_id="v-unknown")) == ()
                assert uow.orders.for_customer_name("v-1", "ADA LOVELACE") == (c, e, a2)
                assert uow.orders.for_customer_name("v-1", "  ada lovelace ") == (c, e, a2)
                assert uow.orders.for_customer_name("v-2", "ada lovelace") == (b,)
                assert uow.orders.for_customer_name("v-1", "Ada") == ()

    # --- order lists and store performance (the vendor dashboard) ----------------------

    def stored_histories(self, store: Store) -> list[Order]:
        """Store every :func:`order_histories` order, version by version; the latest
        versions."""
        latest = []
        for versions in order_histories():
            self.add_order(store, versions[0])
            for new in versions[1:]:
                with store.unit_of_work() as uow:
                    uow.orders.save(new)
                    uow.commit()
            latest.append(versions[-1])
        return latest

    def test_order_pages_are_the_filtered_orders_newest_first(self) -> None:
        """R4, R33: for every filter a dashboard uses, paging with any page size gives
        exactly the orders :func:`~asolora_core.orders.listing.matches` selects, by
        ``(placed_at, order_id)`` descending, each once."""
        day = _dt.timedelta(days=1)
        queries = [
            OrderQuery(vendor_id="v-1"),
            OrderQuery(vendor_id="v-2"),
            OrderQuery(vendor_id="v-unknown"),
            OrderQuery(buyer_id="b-2"),
            OrderQuery(vendor_id="v-1", status=OrderStatus.PROCESSING),
            OrderQuery(vendor_id="v-1", status=OrderStatus.CANCELLED),
            OrderQuery(vendor_id="v-1", needs_shipping=True),
            OrderQuery(vendor_id="v-1", needs_shipping=False),
            OrderQuery(vendor_id="v-1", awaiting_confirmation=True),
            OrderQuery(vendor_id="v-1", open_issue=True),
            OrderQuery(vendor_id="v-1", open_issue=False, needs_shipping=False),
            OrderQuery(vendor_id="v-1", customer=customer_key(" ada LOVELACE")),
            OrderQuery(vendor_id="v-1", customer="ada lovelace", needs_shipping=True),
            OrderQuery(vendor_id="v-1", placed_from=T0 + _dt.timedelta(hours=2)),
            OrderQuery(vendor_id="v-1", placed_until=T0 + _dt.timedelta(hours=2)),
            OrderQuery(vendor_id="v-1", placed_from=T0 + day, placed_until=T0 + 3 * day),
            OrderQuery(buyer_id="b-1", awaiting_confirmation=True, status=OrderStatus.PROCESSING),
        ]
        with self.opened() as store:
            latest = self.stored_histories(store)
            for query in queries:
                expected = sorted(
                    (o for o in latest if matches(query, o, order_facts(o))),
                    key=order_key,
                    reverse=True,
                )
                with store.unit_of_work() as uow:
                    for size in (1, 2, 3, 100):
                        got: list[Order] = []
                        after = None
                        while True:
                            page = uow.orders.page(query, after=after, limit=size)
                            got.extend(page)
                            if len(page) < size:
                                break
                            after = order_key(page[-1])
                        assert got == expected, (query, size)

    def test_order_facts_follow_every_save(self) -> None:
        """R33: a list filter sees each saved version at once (the facts are updated in the
        same transaction as the order), and a rolled-back save changes no list."""
        order, _ = make_order("o-1")
        shipped, _ = core.ship(
            order,
            shipment_id="s-1",
            items={order.lines[0].line_id: 3},
            carrier="DHL",
            tracking_number="T",
            by=VENDOR,
            now=T0,
        )
        delivered, _ = core.mark_delivered(shipped, "s-1", by=VENDOR, now=T0)
        to_ship = OrderQuery(vendor_id="v-1", needs_shipping=True)
        to_confirm = OrderQuery(vendor_id="v-1", awaiting_confirmation=True)
        with self.opened() as store:
            self.add_order(store, order)
            with store.unit_of_work() as uow:
                assert uow.orders.page(to_ship, after=None, limit=5) == (order,)
                uow.orders.save(shipped)
                assert uow.orders.page(to_ship, after=None, limit=5) == ()
                uow.rollback()
            with store.unit_of_work() as uow:
                assert uow.orders.page(to_ship, after=None, limit=5) == (order,)
                uow.orders.save(shipped)
                uow.orders.save(delivered)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.orders.page(to_ship, after=None, limit=5) == ()
                assert uow.orders.page(to_confirm, after=None, limit=5) == (delivered,)

    def test_a_version_with_other_fixed_fields_is_listed_by_them(self) -> None:
        """R33, R36: no command changes an order's vendor, buyer, customer name or placement,
        but a store saves whatever version it is given: the lists then find the order under
        its new values only, and a stale save is still refused."""
        hour = _dt.timedelta(hours=1)
        order, _ = make_order("o-1")
        moved = attrs.evolve(
            order,
            version=2,
            vendor_id="v-2",
            buyer_id="b-2",
            customer_name="Grace Hopper",
            placed_at=T0 + hour,
        )
        with self.opened() as store:
            self.add_order(store, order)
            with store.unit_of_work() as uow:
                uow.orders.save(moved)
                uow.commit()
            with store.unit_of_work() as uow:
                with pytest.raises(ConcurrencyConflictError):
                    uow.orders.save(attrs.evolve(order, version=2))
                assert _all(uow.orders, OrderQuery(vendor_id="v-1")) == ()
                assert _all(uow.orders, OrderQuery(buyer_id="b-1")) == ()
                assert _all(uow.orders, OrderQuery(vendor_id="v-2")) == (moved,)
                assert _all(uow.orders, OrderQuery(buyer_id="b-2")) == (moved,)
                grace = OrderQuery(vendor_id="v-2", customer="grace hopper", placed_from=T0 + hour)
                assert _all(uow.orders, grace) == (moved,)
                assert uow.orders.for_customer_name("v-2", "GRACE hopper") == (moved,)
                assert uow.orders.for_customer_name("v-1", "Ada Lovelace") == ()
                assert uow.orders.for_checkout(order.checkout_id) == (moved,)

    def test_performance_totals_equal_the_reference_fold(self) -> None:
        """R33: the store's performance totals for a vendor and a range equal
        :func:`~asolora_core.reports.performance.fold_performance` over the orders placed in
        the range, for several ranges (empty ones included)."""
        day = _dt.timedelta(days=1)
        ranges = [
            ("v-1", T0, T0 + 3 * day),
            ("v-1", T0 + _dt.timedelta(hours=1), T0 + _dt.timedelta(hours=5)),
            ("v-1", T0 + day, T0 + 3 * day),
            ("v-2", T0, T0 + day),
            ("v-1", T0 - day, T0),
            ("v-unknown", T0, T0 + day),
        ]
        with self.opened() as store:
            latest = self.stored_histories(store)
            for vendor_id, since, until in ranges:
                expected = fold_performance(
                    performance_row(o)
                    for o in latest
                    if o.vendor_id == vendor_id and since <= o.placed_at < until
                )
                with store.unit_of_work() as uow:
                    got = uow.orders.performance_totals(vendor_id, since, until)
                assert got == expected, (vendor_id, since, until)

    def test_order_lists_through_the_facade_are_stable_under_inserts(self) -> None:
        """R33: a vendor pages through its orders two at a time while new orders keep
        arriving between page fetches; it sees every order that existed when it started,
        once each, newest first, and none of the new ones (they are newer than its
        cursor)."""
        with self.opened() as store:
            clock = FakeClock(T0)
            market = Marketplace(store, clock=clock, ids=SequentialIds())

            def place(n: int) -> Order:
                clock.advance(minutes=n % 3)  # some orders share an instant
                (order,) = market.place_checkout(
                    buyer=BUYER,
                    customer_name="Ada",
                    items=[
                        Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=_eur("2.00"))
                    ],
                    paid=_eur("2.00"),
                )
                return order

            existing = [place(n) for n in range(7)]
            seen: list[Order] = []
            page = market.list_orders(by=VENDOR, vendor_id="v-1", page_size=2)
            while True:
                seen.extend(page.items)
                place(0)  # same instant as the last one: the order id breaks the tie
                place(1)
                if page.next_cursor is None:
                    break
                page = market.list_orders(
                    by=VENDOR, vendor_id="v-1", page_size=2, cursor=page.next_cursor
                )
            assert seen == sorted(existing, key=order_key, reverse=True)

    # --- through the facade --------------------------------------------------------------

    def test_lifecycle_scenario_matches_the_in_memory_reference(self) -> None:
        """R33: the whole marketplace story gives identical results on this store and on the
        in-memory reference (orders, histories, outbox, notifications, sweeps, refusals,
        queries)."""
        reference_store = InMemoryStore()
        reference = lifecycle_scenario(reference_store)
        with self.opened() as store:
            result = lifecycle_scenario(store)
        for key, expected in reference.items():
            assert result[key] == expected, key
        # and the story did what it says
        o1, o2, o3 = result["orders"]
        assert [o.status.value for o in (o1, o2, o3)] == ["completed", "cancelled", "completed"]
        assert result["replay"] == result["first"]
        assert result["sweeps"][1].timers == {"auto_confirm": 1}
        assert all(m.delivered_at is not None for m in result["outbox"])

    def test_refused_command_changes_nothing(self) -> None:
        """R1, R2: a refused command leaves the order, its history and the outbox as they
        were."""
        with self.opened() as store:
            market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
            (order,) = market.place_checkout(
                buyer=BUYER,
                customer_name="Ada",
                items=[
                    Item(vendor_id="v-1", product_id="p-1", quantity=1, unit_price=_eur("3.00"))
                ],
                paid=_eur("3.00"),
            )

            def snapshot() -> tuple[object, ...]:
                return (
                    market.get_order(order.order_id, by=STAFF),
                    market.order_history(order.order_id, by=STAFF),
                    market.outbox(by=STAFF),
                )

            before = snapshot()
            with pytest.raises(AsoloraError):
                market.ship(
                    order.order_id,
                    by=OTHER_VENDOR,
                    items={order.lines[0].line_id: 1},
                    carrier="DHL",
                    tracking_number="TN",
                )
            with pytest.raises(AsoloraError):
                market.ship(
                    order.order_id,
                    by=VENDOR,
                    items={order.lines[0].line_id: 2},
                    carrier="DHL",
                    tracking_number="TN",
                    idempotency_key="k",
                )
            assert snapshot() == before

    # --- two handles on one database (R36, R40) ----------------------------------------

    def test_second_handle_sees_committed_changes_only(self) -> None:
        """R33: a change committed on one handle is visible on the other; an open unit of
        work's changes are not (or the other handle waits for them)."""
        order, events = make_order("o-1")
        with self.two_handles() as (first, second):
            self.add_order(first, order, events)
            with second.unit_of_work() as uow:
                assert uow.orders.get("o-1") == order
                assert uow.events.history("o-1") == events

    def test_stale_writer_on_another_handle_is_refused(self) -> None:
        """R36: two handles read version 1; the first save wins, the second is a conflict
        and writes nothing."""
        order, _ = make_order("o-1")
        with self.two_handles() as (first, second):
            self.add_order(first, order)
            with first.unit_of_work() as uow:
                read_by_first = uow.orders.get("o-1")
            with second.unit_of_work() as uow:
                read_by_second = uow.orders.get("o-1")
            winner, _ = _shipped(read_by_second, 1)
            loser = attrs.evolve(_shipped(read_by_first, 1)[0], customer_name="Loser")
            with second.unit_of_work() as uow:
                uow.orders.save(winner)
                uow.commit()
            with first.unit_of_work() as uow, pytest.raises(ConcurrencyConflictError):
                uow.orders.save(loser)
            with first.unit_of_work() as uow:
                assert uow.orders.get("o-1") == winner

    def test_a_rolled_back_version_is_never_read_back(self) -> None:
        """R36: one handle saves version 2, reads it, and rolls back; the other handle then
        commits a different version 2. The first handle reads the committed one (a cache of
        decoded orders must not serve the rolled-back one, or the next save would lose the
        other writer's change)."""
        order, _ = make_order("o-1")
        with self.two_handles() as (first, second):
            self.add_order(first, order)
            phantom, _ = _shipped(order, 1)
            with first.unit_of_work() as uow:
                uow.orders.save(phantom)
                assert uow.orders.get("o-1") == phantom
                assert phantom in _all(uow.orders, OrderQuery(vendor_id="v-1"))
                uow.rollback()
            committed, _ = _shipped(order, 2)
            with second.unit_of_work() as uow:
                uow.orders.save(committed)
                uow.commit()
            with first.unit_of_work() as uow:
                assert uow.orders.get("o-1") == committed
                assert _all(uow.orders, OrderQuery(vendor_id="v-1")) == (committed,)

    def test_concurrent_commands_on_two_handles_lose_no_update(self) -> None:
        """R36: two threads, one per handle, update the same order through the facade,
        retrying on conflicts; every update is kept exactly once."""
        per_worker = 15
        with self.two_handles() as (first, second):
            setup = Marketplace(first, clock=FakeClock(T0))
            (order,) = setup.place_checkout(
                buyer=BUYER,
                customer_name="Ada",
                items=[
                    Item(vendor_id="v-1", product_id="p-1", quantity=1, unit_price=_eur("3.00"))
                ],
                paid=_eur("3.00"),
            )
            order = setup.ship(
                order.order_id,
                by=VENDOR,
                items={order.lines[0].line_id: 1},
                carrier="DHL",
                tracking_number="TN",
            )
            shipment_id = order.shipments[0].shipment_id
            barrier = threading.Barrier(2, timeout=30)
            errors: list[BaseException] = []

            def worker(store: Store, name: str) -> None:
                market = Marketplace(store, clock=FakeClock(T0))
                try:
                    barrier.wait()
                    for k in range(per_worker):
                        for _attempt in range(1000):  # bounded: a broken store fails, not hangs
                            try:
                                market.update_tracking(
                                    order.order_id, shipment_id, by=VENDOR, note=f"{name}-{k}"
                                )
                                break
                            except ConcurrencyConflictError:
                                continue
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=worker, args=(s, n), daemon=True)
                for s, n in ((first, "a"), (second, "b"))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert not any(t.is_alive() for t in threads), "a worker hung"
            assert errors == []
            final = setup.get_order(order.order_id, by=STAFF)
            notes = [e.note for e in final.shipments[0].tracking[1:]]
            expected = {f"{n}-{k}" for n in "ab" for k in range(per_worker)}
            assert final.version == order.version + 2 * per_worker
            assert sorted(notes) == sorted(expected)
            history = setup.order_history(order.order_id, by=STAFF)
            assert sorted(getattr(e, "note", "") for e in history[2:]) == sorted(expected)

    def test_concurrent_claims_on_two_handles_hand_out_each_timer_once(self) -> None:
        """R40: sweeps claiming from two handles at once never both get a timer."""
        timers = [_timer(f"t-{i:03d}", T0 + _dt.timedelta(seconds=i)) for i in range(60)]
        with self.two_handles() as (first, second):
            with first.unit_of_work() as uow:
                for timer in timers:
                    uow.timers.schedule(timer)
                uow.commit()
            barrier = threading.Barrier(2, timeout=30)
            claimed: dict[str, list[Timer]] = {"a": [], "b": []}
            errors: list[BaseException] = []

            def worker(store: Store, name: str) -> None:
                try:
                    barrier.wait()
                    for _round in range(len(timers)):  # bounded: a broken store fails, not hangs
                        with store.unit_of_work() as uow:
                            batch = uow.timers.claim_due(T0 + _dt.timedelta(hours=1), 4)
                            uow.commit()
                        if not batch:
                            return
                        claimed[name].extend(batch)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=worker, args=(s, n), daemon=True)
                for s, n in ((first, "a"), (second, "b"))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert not any(t.is_alive() for t in threads), "a worker hung"
            assert errors == []
            everything = claimed["a"] + claimed["b"]
            assert sorted(everything, key=lambda t: t.timer_id) == timers


class _BetweenTransactions:
    """A store that runs its ``pending`` actions just before it opens its next unit of work:
    another worker's move at an exact point between two transactions of a sweep (no
    threads, no sleeping). Everything else is the wrapped store's."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.pending: list[Callable[[], object]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def unit_of_work(self) -> Any:
        while self.pending:
            self.pending.pop(0)()
        return self._inner.unit_of_work()

    def as_store(self) -> Store:
        return cast(Store, self)


def _oid(order: Order) -> str:
    return order.order_id


def _all(orders: OrderRepository, query: OrderQuery) -> tuple[Order, ...]:
    """Every order ``query`` selects, read a page of 2 at a time (newest first)."""
    out: list[Order] = []
    after = None
    while True:
        page = orders.page(query, after=after, limit=2)
        out.extend(page)
        if len(page) < 2:
            return tuple(out)
        after = order_key(page[-1])


#: Filters the lifecycle scenario lists each vendor's orders with.
_LIST_FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"status": "completed"},
    {"status": OrderStatus.CANCELLED},
    {"needs_shipping": True},
    {"awaiting_confirmation": False},
    {"open_issue": False},
    {"customer_name": "ada lovelace", "page_size": 1},
    {"placed_from": T0, "placed_until": T0 + _dt.timedelta(days=1)},
)
