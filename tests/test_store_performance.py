"""Store performance for the vendor dashboard (R1, R2, R12, R20, R28, R33, R34): a worked week
with every figure written out, on every store, and the refusals."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    InvalidInputError,
    IssueKind,
    Item,
    Marketplace,
    NaiveDatetimeError,
    NotFoundError,
    NotPermitted,
    Order,
    StorePerformance,
)

VENDOR = Actor.vendor("v-1")
STAFF = Actor.staff("st-1")
MON = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # Monday 2 March 2026, 00:00 UTC
WEEK = (MON, MON + dt.timedelta(days=7))


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Day 0 is Monday."""
    return MON + dt.timedelta(days=day, hours=hour, minutes=minute)


def buy(
    market: Marketplace,
    buyer: str,
    name: str,
    unit: Money,
    quantity: int = 1,
    *,
    shipping: Money | None = None,
    vendor_id: str = "v-1",
) -> Order:
    (order,) = market.place_checkout(
        buyer=Actor.buyer(buyer),
        customer_name=name,
        items=[Item(vendor_id=vendor_id, product_id="p", quantity=quantity, unit_price=unit)],
        paid=unit * quantity + (shipping or Money(0, unit.currency)),
        shipping=None if shipping is None else {vendor_id: shipping},
    )
    return order


def ship_all(market: Marketplace, order: Order) -> str:
    shipped = market.ship(
        order.order_id,
        by=VENDOR,
        items={ln.line_id: ln.quantity for ln in order.lines},
        carrier="DHL",
        tracking_number=f"T-{order.order_id}",
    )
    return shipped.shipments[-1].shipment_id


@pytest.fixture
def week(market: Marketplace, clock: FakeClock) -> StorePerformance:
    """Vendor v-1's week, in the order things happen (UTC):

    * A  Mon 09:00, 2 x 10.00 EUR + 3.00 shipping = 23.00; shipped Mon 13:00 (4 h), delivered
      Wed 09:00 (48 h), confirmed Fri.
    * B  Mon 10:00, 15.00 EUR; shipped Tue 10:00 (24 h), delivered Thu 10:00 (72 h); the buyer
      reports it damaged Thu 11:00 and the vendor refunds 5.00.
    * C  Tue 09:00, 40.00 EUR; cancelled Tue 10:00 (counted apart).
    * D  Tue 12:00, 3 x 1000 JPY = 3000 JPY; shipped Wed 00:00 (12 h); not delivered.
    * E  Wed 09:00, 9.99 EUR; not shipped.
    * G  Tue 11:00, another vendor's order (not counted).
    * F  next Monday 09:00, after the week (not counted).

    Chat: A's buyer writes Mon 11:00, answered 11:30 (30 min); B's buyer writes Tue 08:00,
    answered 10:00 (2 h); E's buyer writes Wed 10:00, not answered.
    """
    m = market
    clock.set(at(0, 9))
    a = buy(m, "b-a", "Ada", Money("10.00", "EUR"), 2, shipping=Money("3.00", "EUR"))
    clock.set(at(0, 10))
    b = buy(m, "b-b", "Grace", Money("15.00", "EUR"))
    clock.set(at(0, 11))
    chat_a = m.start_conversation(by=Actor.buyer("b-a"), vendor_id="v-1", text="Gift wrap?")
    clock.set(at(0, 11, 30))
    m.post_message(chat_a.conversation.conversation_id, by=VENDOR, text="Yes, free.")
    clock.set(at(0, 13))
    ship_a = ship_all(m, a)
    clock.set(at(1, 8))
    chat_b = m.start_conversation(by=Actor.buyer("b-b"), vendor_id="v-1", text="When?")
    clock.set(at(1, 9))
    c = buy(m, "b-c", "Carl", Money("40.00", "EUR"))
    clock.set(at(1, 10))
    ship_b = ship_all(m, b)
    m.post_message(chat_b.conversation.conversation_id, by=VENDOR, text="Shipped today.")
    m.cancel_order(c.order_id, by=Actor.buyer("b-c"))
    clock.set(at(1, 11))
    buy(m, "b-a", "Ada", Money("7.00", "EUR"), vendor_id="v-2")
    clock.set(at(1, 12))
    d = buy(m, "b-d", "Kenji", Money(1000, "JPY"), 3)
    clock.set(at(2, 0))
    ship_all(m, d)
    clock.set(at(2, 9))
    m.mark_delivered(a.order_id, ship_a, by=VENDOR)
    buy(m, "b-e", "Eve", Money("9.99", "EUR"))
    clock.set(at(2, 10))
    m.start_conversation(by=Actor.buyer("b-e"), vendor_id="v-1", text="Still in stock?")
    clock.set(at(3, 10))
    m.mark_delivered(b.order_id, ship_b, by=VENDOR)
    clock.set(at(3, 11))
    m.report_issue(b.order_id, by=Actor.buyer("b-b"), kind=IssueKind.DAMAGED, description="dent")
    m.refund(b.order_id, by=VENDOR, amount=Money("5.00", "EUR"))
    clock.set(at(4, 9))
    m.confirm_receipt(a.order_id, ship_a, by=Actor.buyer("b-a"))
    clock.set(at(7, 9))
    buy(m, "b-a", "Ada", Money("1.00", "EUR"))
    return m.store_performance("v-1", by=VENDOR, since=WEEK[0], until=WEEK[1])


def test_a_worked_week_with_every_figure(week: StorePerformance) -> None:
    """R12, R20, R28, R33: the week's figures, each written out (same on every store).

    Orders: A, B, D, E (4); C cancelled (1).
    Average order value: EUR (23.00 + 15.00 + 9.99) / 3 = 47.99 / 3 = 15.9966... -> 16.00
    (half-even, once); JPY 3000 / 1 = 3000.
    Refund rate: B of 4 = 1/4. Issue rate: B of 4 = 1/4.
    Time to ship: A 4 h, D 12 h, B 24 h -> median 12 h (3 shipped).
    Time to delivery: A 48 h, B 72 h -> median (48 + 72) / 2 = 60 h (2 delivered).
    First response in chat: 30 min and 2 h -> median 75 min; 3 conversations, 2 answered.
    """
    assert week.vendor_id == "v-1"
    assert (week.since, week.until) == WEEK
    assert week.orders == 4
    assert week.cancelled_orders == 1
    assert week.average_order_value == (Money("16.00", "EUR"), Money(3000, "JPY"))
    assert week.refunded_orders == 1
    assert week.refund_rate == Fraction(1, 4)
    assert week.orders_with_issues == 1
    assert week.issue_rate == Fraction(1, 4)
    assert week.shipped_orders == 3
    assert week.median_time_to_ship == dt.timedelta(hours=12)
    assert week.delivered_orders == 2
    assert week.median_time_to_delivery == dt.timedelta(hours=60)
    assert week.conversations == 3
    assert week.answered_conversations == 2
    assert week.median_first_response == dt.timedelta(minutes=75)


def test_staff_see_the_same_figures_and_a_day_range_narrows_them(
    market: Marketplace, week: StorePerformance
) -> None:
    """R1: staff read any vendor's figures. Monday alone: A and B (2 orders, EUR 38.00 / 2 =
    19.00), ship 4 h and 24 h (median 14 h), delivery 48 h and 72 h (median 60 h), no
    refund rate B of 2 = 1/2; chat: A's 30 min only."""
    assert market.store_performance("v-1", by=STAFF, since=WEEK[0], until=WEEK[1]) == week
    monday = market.store_performance("v-1", by=VENDOR, since=MON, until=at(1, 0))
    assert monday.orders == 2
    assert monday.average_order_value == (Money("19.00", "EUR"),)
    assert monday.refund_rate == Fraction(1, 2)
    assert monday.median_time_to_ship == dt.timedelta(hours=14)
    assert monday.median_time_to_delivery == dt.timedelta(hours=60)
    assert monday.conversations == 1
    assert monday.median_first_response == dt.timedelta(minutes=30)


def test_a_range_with_nothing_in_it_has_no_rates_or_medians(
    market: Marketplace, week: StorePerformance
) -> None:
    """Nothing to measure is ``None``, never zero or a division error."""
    empty = market.store_performance("v-1", by=VENDOR, since=at(-7, 0), until=MON)
    assert (empty.orders, empty.cancelled_orders, empty.average_order_value) == (0, 0, ())
    assert empty.refund_rate is None
    assert empty.issue_rate is None
    assert empty.median_time_to_ship is None
    assert empty.median_time_to_delivery is None
    assert empty.median_first_response is None


def test_r1_only_the_vendor_and_staff_see_its_performance(
    market: Marketplace, week: StorePerformance
) -> None:
    """R1: another vendor, a buyer or the system is refused with NotPermitted."""
    for actor in (Actor.vendor("v-2"), Actor.buyer("b-a"), Actor.system()):
        with pytest.raises(NotPermitted):
            market.store_performance("v-1", by=actor, since=WEEK[0], until=WEEK[1])


@pytest.mark.parametrize(
    ("since", "until", "error", "field"),
    [
        (WEEK[1], WEEK[0], InvalidInputError, "until"),
        (dt.datetime(2026, 3, 2), WEEK[1], NaiveDatetimeError, "since"),
        (WEEK[0], dt.datetime(2026, 3, 9), NaiveDatetimeError, "until"),
        (WEEK[0], "2026-03-09", InvalidInputError, "until"),
    ],
    ids=["ends before it starts", "naive since", "naive until", "until not a datetime"],
)
def test_bad_ranges_are_refused(
    market: Marketplace,
    since: dt.datetime,
    until: dt.datetime,
    error: type[InvalidInputError],
    field: str,
) -> None:
    """R2, R34: a range ending before it starts, a naive datetime or a non-datetime is
    refused, naming the argument."""
    with pytest.raises(error) as info:
        market.store_performance("v-1", by=VENDOR, since=since, until=until)
    assert info.value.fields["field"] == field


def test_an_unknown_vendor_is_not_found_for_staff(market: Marketplace) -> None:
    """Staff naming a vendor with no order that is not registered get ``not_found``."""
    with pytest.raises(NotFoundError):
        market.store_performance("v-typo", by=STAFF, since=WEEK[0], until=WEEK[1])
