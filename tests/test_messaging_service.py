"""Conversations through the facade, on every store (R1, R2, R26-R29, R35).

Every test runs once on InMemoryStore and once on SqliteStore (the ``market`` fixture), with
a FakeClock: time only moves when a test moves it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    AmbiguousCustomerError,
    ContactDetailsRefusedError,
    FakeClock,
    IdempotencyKeyReusedError,
    InvalidInputError,
    Item,
    Marketplace,
    MarketplaceConfig,
    NotFoundError,
    NotPermittedError,
    Order,
    RecordingNotifier,
)
from asolora_core.messaging.contact_policy import ContactPolicy
from asolora_core.messaging.conversations import (
    ConversationRead,
    ConversationStarted,
    MessageFlagged,
    MessagePosted,
)
from asolora_core.messaging.service import median_delta
from conftest import MarketFactory

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")
OTHER_VENDOR = Actor.vendor("v-2")
OTHER_BUYER = Actor.buyer("b-2")


def _buy(market: Marketplace, buyer: str, name: str, vendor: str = "v-1") -> Order:
    (placed,) = market.place_checkout(
        buyer=Actor.buyer(buyer),
        customer_name=name,
        items=[Item(vendor_id=vendor, product_id="p-1", quantity=1, unit_price=Money("5", "EUR"))],
        paid=Money("5", "EUR"),
    )
    return placed


def _chat(market: Marketplace) -> str:
    """A conversation of buyer b-1 with vendor v-1, with no message."""
    return market.start_conversation(by=BUYER, vendor_id="v-1").conversation.conversation_id


# --- starting ----------------------------------------------------------------------------


def test_vendor_starts_with_the_customer_found_by_name(market: Marketplace, order: Order) -> None:
    """R26: a vendor starts a conversation with the customer of one of its orders, found by
    the customer name on that order (case-insensitive)."""
    started = market.start_conversation(by=VENDOR, customer_name="  ada BUYER ", text="Hello!")
    c = started.conversation
    assert started.created
    assert (c.vendor_id, c.buyer_id, c.order_id) == ("v-1", "b-1", None)
    assert c.started_by == VENDOR
    assert started.message is not None
    assert started.message.text == "Hello!"
    assert started.notice is None
    assert c.message_count == 1
    assert c.buyer_unread == 1
    assert c.vendor_unread == 0


def test_unknown_customer_name_is_a_clear_not_found(market: Marketplace, order: Order) -> None:
    """R26, R2: an unknown name is refused, says which name, and writes nothing."""
    with pytest.raises(NotFoundError, match="no order from a customer named 'Bob Nobody'"):
        market.start_conversation(by=VENDOR, customer_name="Bob Nobody", text="Hi")
    assert market.conversations_for_vendor("v-1", by=VENDOR).items == ()


def test_a_name_two_customers_share_needs_the_order_id(market: Marketplace) -> None:
    """R26: when two customers of the vendor share a name, the order disambiguates."""
    first = _buy(market, "b-1", "Sam Lee")
    second = _buy(market, "b-9", "sam lee")
    with pytest.raises(AmbiguousCustomerError, match="pass order_id") as refused:
        market.start_conversation(by=VENDOR, customer_name="Sam Lee")
    assert refused.value.code == "ambiguous_customer"
    assert set(refused.value.fields["order_ids"]) == {first.order_id, second.order_id}
    started = market.start_conversation(
        by=VENDOR, customer_name="Sam Lee", order_id=second.order_id
    )
    assert started.conversation.buyer_id == "b-9"
    assert started.conversation.order_id == second.order_id


def test_vendor_cannot_start_about_another_vendors_order(market: Marketplace) -> None:
    """R1: a vendor acts only on its own orders."""
    theirs = _buy(market, "b-1", "Ada Buyer", vendor="v-2")
    with pytest.raises(NotPermittedError):
        market.start_conversation(by=VENDOR, order_id=theirs.order_id)
    with pytest.raises(NotPermittedError):
        market.start_conversation(by=VENDOR, vendor_id="v-2", customer_name="Ada Buyer")


def test_order_and_name_must_agree(market: Marketplace, order: Order) -> None:
    with pytest.raises(InvalidInputError, match="not placed by a customer named"):
        market.start_conversation(by=VENDOR, customer_name="Someone", order_id=order.order_id)
    with pytest.raises(InvalidInputError, match="names the customer"):
        market.start_conversation(by=VENDOR)


def test_buyer_starts_with_a_vendor_and_about_its_own_order(
    market: Marketplace, order: Order
) -> None:
    """R26: a buyer may start a conversation with a vendor, optionally about its order."""
    general = market.start_conversation(by=BUYER, vendor_id="v-7", text="Do you ship to Oslo?")
    assert (general.conversation.vendor_id, general.conversation.order_id) == ("v-7", None)
    about = market.start_conversation(by=BUYER, order_id=order.order_id, text="Where is it?")
    assert about.conversation.vendor_id == "v-1"
    assert about.conversation.order_id == order.order_id
    with pytest.raises(NotPermittedError):
        market.start_conversation(by=OTHER_BUYER, order_id=order.order_id)
    with pytest.raises(InvalidInputError):
        market.start_conversation(by=BUYER, order_id=order.order_id, vendor_id="v-2")
    with pytest.raises(InvalidInputError, match="vendor_id"):
        market.start_conversation(by=BUYER)
    with pytest.raises(InvalidInputError, match="for vendors"):
        market.start_conversation(by=BUYER, vendor_id="v-1", customer_name="x")


def test_starting_again_reuses_the_conversation(market: Marketplace, order: Order) -> None:
    """One conversation per vendor, buyer and order (or no order): both sides land in it."""
    first = market.start_conversation(by=BUYER, vendor_id="v-1", text="Hi")
    again = market.start_conversation(by=VENDOR, customer_name="Ada Buyer", text="Hello")
    assert not again.created
    assert again.conversation.conversation_id == first.conversation.conversation_id
    assert again.conversation.message_count == 2


def test_staff_and_system_do_not_start_conversations(market: Marketplace) -> None:
    with pytest.raises(NotPermittedError):
        market.start_conversation(by=STAFF, vendor_id="v-1")
    with pytest.raises(NotPermittedError):
        market.start_conversation(by=Actor.system(), vendor_id="v-1")


# --- access ------------------------------------------------------------------------------


def test_third_parties_can_neither_read_nor_post(market: Marketplace) -> None:
    """R1, R26: only the two participants (and staff) can read or post."""
    cid = _chat(market)
    market.post_message(cid, by=BUYER, text="Is the mug dishwasher safe?")
    for stranger in (OTHER_VENDOR, OTHER_BUYER):
        with pytest.raises(NotPermittedError):
            market.get_conversation(cid, by=stranger)
        with pytest.raises(NotPermittedError):
            market.messages(cid, by=stranger)
        with pytest.raises(NotPermittedError):
            market.post_message(cid, by=stranger, text="let me in")
        with pytest.raises(NotPermittedError):
            market.mark_read(cid, by=stranger)
        with pytest.raises(NotPermittedError):
            market.conversation_history(cid, by=stranger)
    with pytest.raises(NotPermittedError):
        market.conversations_for_vendor("v-1", by=OTHER_VENDOR)
    with pytest.raises(NotPermittedError):
        market.conversations_for_buyer("b-1", by=OTHER_BUYER)
    with pytest.raises(NotPermittedError):
        market.response_times(
            "v-1",
            by=OTHER_VENDOR,
            since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            until=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        )
    with pytest.raises(NotPermittedError):
        market.post_message(cid, by=Actor.system(), text="automated")
    # nothing the strangers tried changed anything
    assert market.get_conversation(cid, by=STAFF).message_count == 1


def test_staff_read_and_post_and_both_sides_hear_of_it(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R26, R29: staff can read and post; a staff message is news to both sides."""
    cid = _chat(market)
    market.post_message(cid, by=BUYER, text="The parcel never came.")
    assert [m.text for m in market.messages(cid, by=STAFF)] == ["The parcel never came."]
    posted = market.post_message(cid, by=STAFF, text="We are looking into it.")
    assert (posted.conversation.vendor_unread, posted.conversation.buyer_unread) == (2, 1)
    market.run_due()
    last_two = notifier.sent[-2:]
    assert {n.recipient for _, n in last_two} == {VENDOR, BUYER}
    assert market.conversations_for_vendor("v-1", by=STAFF).items[0].conversation_id == cid
    with pytest.raises(NotPermittedError, match="read markers"):
        market.mark_read(cid, by=STAFF)


# --- messages ------------------------------------------------------------------------------


def test_empty_and_too_long_text_are_refused(make_market: MarketFactory) -> None:
    market = make_market(MarketplaceConfig(message_max_length=20))
    cid = _chat(market)
    for bad in ("", "   \n\t "):
        with pytest.raises(InvalidInputError, match="empty"):
            market.post_message(cid, by=BUYER, text=bad)
    with pytest.raises(InvalidInputError, match="at most 20 characters"):
        market.post_message(cid, by=BUYER, text="x" * 21)
    assert market.post_message(cid, by=BUYER, text="x" * 20).message.text == "x" * 20
    with pytest.raises(InvalidInputError, match="attachment"):
        market.post_message(cid, by=BUYER, text="pic", attachments=[""])
    with pytest.raises(InvalidInputError, match="at most 10"):
        market.post_message(cid, by=BUYER, text="pics", attachments=[f"f-{i}" for i in range(11)])
    with pytest.raises(InvalidInputError):
        MarketplaceConfig(message_max_length=0)


def test_attachments_are_kept_as_references(market: Marketplace) -> None:
    cid = _chat(market)
    posted = market.post_message(cid, by=BUYER, text="See photos", attachments=["img-1", "img-2"])
    assert posted.message.attachments == ("img-1", "img-2")
    assert market.messages(cid, by=VENDOR)[0].attachments == ("img-1", "img-2")


def test_messages_page_by_seq(market: Marketplace, clock: FakeClock) -> None:
    cid = _chat(market)
    for i in range(7):
        clock.advance(minutes=1)
        market.post_message(cid, by=BUYER if i % 2 else VENDOR, text=f"m{i}")
    first = market.messages(cid, by=BUYER, limit=3)
    assert [m.text for m in first] == ["m0", "m1", "m2"]
    assert [m.seq for m in first] == [1, 2, 3]
    rest = market.messages(cid, by=BUYER, after=first[-1].seq, limit=50)
    assert [m.text for m in rest] == ["m3", "m4", "m5", "m6"]
    assert market.messages(cid, by=BUYER, after=7) == ()
    with pytest.raises(InvalidInputError):
        market.messages(cid, by=BUYER, limit=0)
    with pytest.raises(InvalidInputError):
        market.messages(cid, by=BUYER, after=-1)


def test_history_records_who_did_what(market: Marketplace) -> None:
    """R42: every change of a conversation is an event in its history."""
    cid = _chat(market)
    market.post_message(cid, by=BUYER, text="Hi")
    market.mark_read(cid, by=VENDOR)
    market.mark_read(cid, by=VENDOR)  # already read: no change, no event
    history = market.conversation_history(cid, by=STAFF)
    assert [type(e) for e in history] == [ConversationStarted, MessagePosted, ConversationRead]
    assert [e.actor for e in history] == [BUYER, BUYER, VENDOR]


def test_unknown_conversation_is_not_found(market: Marketplace) -> None:
    with pytest.raises(NotFoundError):
        market.post_message("cv-404", by=BUYER, text="hello?")
    with pytest.raises(NotFoundError):
        market.get_conversation("cv-404", by=STAFF)


# --- contact policy (R27) ------------------------------------------------------------------


def test_refuse_policy_raises_and_writes_nothing(
    make_market: MarketFactory, notifier: RecordingNotifier
) -> None:
    """R27, R2: under REFUSE a message with contact details is refused with a clear error,
    and the conversation, its messages, its history and the outbox stay as they were."""
    market = make_market(MarketplaceConfig(contact_policy=ContactPolicy.REFUSE))
    cid = _chat(market)
    before = (
        market.get_conversation(cid, by=STAFF),
        market.conversation_history(cid, by=STAFF),
        market.outbox(by=STAFF),
    )
    with pytest.raises(ContactDetailsRefusedError, match="email address") as refused:
        market.post_message(cid, by=BUYER, text="write to me: ada@example.com")
    assert refused.value.code == "contact_details_refused"
    assert refused.value.fields["findings"] == ["email"]
    after = (
        market.get_conversation(cid, by=STAFF),
        market.conversation_history(cid, by=STAFF),
        market.outbox(by=STAFF),
    )
    assert after == before
    assert market.messages(cid, by=STAFF) == ()
    # the refusal is remembered under an idempotency key (R35)
    for _ in range(2):
        with pytest.raises(ContactDetailsRefusedError):
            market.post_message(cid, by=BUYER, text="call +44 20 7946 0958", idempotency_key="k-1")
    assert market.messages(cid, by=STAFF) == ()
    with pytest.raises(ContactDetailsRefusedError):
        market.start_conversation(by=BUYER, vendor_id="v-3", text="ada@example.com")
    assert market.conversations_for_buyer("b-1", by=BUYER).items[0].conversation_id == cid
    assert len(market.conversations_for_buyer("b-1", by=BUYER).items) == 1


def test_default_policy_redacts_flags_and_tells_the_sender(market: Marketplace) -> None:
    """R27: by default contact details are removed, the message is flagged for staff, and the
    sender is told what was removed and why."""
    cid = _chat(market)
    posted = market.post_message(cid, by=BUYER, text="Mail me at ada@example.com thanks")
    message = posted.message
    assert "ada@example.com" not in message.text
    assert message.text.startswith("Mail me at ")
    assert message.text.endswith(" thanks")
    assert message.redacted
    assert message.flagged
    assert message.findings == ("email",)
    assert posted.notice is not None
    assert "email address" in posted.notice
    assert market.messages(cid, by=VENDOR)[0].text == message.text
    history = market.conversation_history(cid, by=STAFF)
    flagged = [e for e in history if isinstance(e, MessageFlagged)]
    assert [(e.message_id, e.findings) for e in flagged] == [(message.message_id, ("email",))]


def test_flag_policy_keeps_the_text_and_flags(make_market: MarketFactory) -> None:
    """R27: FLAG posts the text as written and asks staff to look."""
    market = make_market(MarketplaceConfig(contact_policy=ContactPolicy.FLAG))
    cid = _chat(market)
    posted = market.post_message(cid, by=VENDOR, text="ring 020 7946 0958")
    assert posted.message.text == "ring 020 7946 0958"
    assert posted.message.flagged
    assert not posted.message.redacted
    assert posted.notice is not None
    assert "flagged" in posted.notice


def test_redact_policy_removes_without_flagging(make_market: MarketFactory) -> None:
    market = make_market(MarketplaceConfig(contact_policy=ContactPolicy.REDACT))
    cid = _chat(market)
    posted = market.post_message(cid, by=VENDOR, text="ring 020 7946 0958")
    assert "7946" not in posted.message.text
    assert posted.message.redacted
    assert not posted.message.flagged
    history = market.conversation_history(cid, by=STAFF)
    assert not any(isinstance(e, MessageFlagged) for e in history)


def test_innocent_text_passes_untouched(market: Marketplace) -> None:
    """R27: order numbers, tracking numbers, prices, dates and quantities are not contact
    details."""
    cid = _chat(market)
    text = (
        "Order o-000123 shipped on 2026-03-02, tracking 1Z999AA10123456784; "
        "total 28.00 EUR for 3 units."
    )
    posted = market.post_message(cid, by=VENDOR, text=text)
    assert posted.message.text == text
    assert not posted.message.flagged
    assert not posted.message.redacted
    assert posted.notice is None
    assert posted.message.findings == ()


# --- notifications (R29) ---------------------------------------------------------------------


def test_a_new_message_notifies_the_other_side_through_the_outbox(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R29: the other side is notified, through the outbox, without the message text."""
    cid = _chat(market)
    market.post_message(cid, by=BUYER, text="secret question")
    pending = [m for m in market.outbox(by=STAFF) if m.notification.kind == "message.posted"]
    assert [m.notification.recipient for m in pending] == [VENDOR]
    assert pending[0].delivered_at is None
    market.post_message(cid, by=VENDOR, text="answer")
    report = market.run_due()
    assert report.notifications.delivered >= 2
    sent = [(n.recipient, n.subject_id) for _, n in notifier.sent if n.kind == "message.posted"]
    assert sent == [(VENDOR, cid), (BUYER, cid)]
    assert all("secret" not in n.text for _, n in notifier.sent)


def test_a_failing_notifier_loses_no_message(
    market: Marketplace, notifier: RecordingNotifier, clock: FakeClock
) -> None:
    """R29: a failing notifier never loses a notification and never undoes the post."""
    cid = _chat(market)
    notifier.fail_next = 1
    market.post_message(cid, by=BUYER, text="hello")
    assert market.run_due().notifications.retried == 1
    assert market.get_conversation(cid, by=STAFF).message_count == 1
    clock.advance(minutes=5)
    market.run_due()
    assert notifier.kinds() == ["message.posted"]


# --- unread counts and listing -------------------------------------------------------------


def test_unread_counts_per_side(market: Marketplace) -> None:
    """R28: each side's unread count; posting or marking read clears one's own."""
    cid = _chat(market)
    market.post_message(cid, by=BUYER, text="one")
    c = market.post_message(cid, by=BUYER, text="two").conversation
    assert (c.vendor_unread, c.buyer_unread) == (2, 0)
    c = market.mark_read(cid, by=VENDOR)
    assert (c.vendor_unread, c.vendor_read_seq) == (0, 2)
    c = market.post_message(cid, by=VENDOR, text="three").conversation
    assert (c.vendor_unread, c.buyer_unread) == (0, 1)
    c = market.post_message(cid, by=BUYER, text="four").conversation
    assert (c.vendor_unread, c.buyer_unread) == (1, 0)
    assert c.unread_for("vendor") == 1
    assert c.unread_for("buyer") == 0


def test_vendor_conversations_page_by_most_recent_activity(
    market: Marketplace, clock: FakeClock
) -> None:
    """Listing a vendor's conversations, most recent activity first, by cursor."""
    ids = []
    for n in range(5):
        clock.advance(minutes=1)
        started = market.start_conversation(by=Actor.buyer(f"b-{n}"), vendor_id="v-1", text="hi")
        ids.append(started.conversation.conversation_id)
    clock.advance(minutes=1)
    market.post_message(ids[1], by=VENDOR, text="bump")  # b-1's conversation is now the latest
    expected = [ids[1], ids[4], ids[3], ids[2], ids[0]]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = market.conversations_for_vendor("v-1", by=VENDOR, limit=2, cursor=cursor)
        seen.extend(c.conversation_id for c in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3
    mine = market.conversations_for_buyer("b-3", by=Actor.buyer("b-3"))
    assert [c.conversation_id for c in mine.items] == [ids[3]]
    assert mine.next_cursor is None
    with pytest.raises(InvalidInputError, match="cursor"):
        market.conversations_for_vendor("v-1", by=VENDOR, cursor="garbage")
    with pytest.raises(InvalidInputError):
        market.conversations_for_vendor("v-1", by=VENDOR, limit=1000)


def test_same_instant_activity_pages_without_loss(market: Marketplace) -> None:
    """Ties on last activity are broken by conversation id, so no page skips or repeats."""
    for n in range(5):
        market.start_conversation(by=Actor.buyer(f"b-{n}"), vendor_id="v-1")
    seen: list[str] = []
    cursor = None
    while True:
        page = market.conversations_for_vendor("v-1", by=VENDOR, limit=2, cursor=cursor)
        seen.extend(c.conversation_id for c in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen, reverse=True) == seen
    assert len(set(seen)) == 5


# --- idempotency (R35) -----------------------------------------------------------------------


def test_replaying_a_post_with_its_key_posts_once(
    market: Marketplace, notifier: RecordingNotifier
) -> None:
    """R35: the same key and command returns the first result and posts nothing more; the
    same key with different text is refused, naming the field."""
    cid = _chat(market)
    first = market.post_message(cid, by=BUYER, text="Hello", idempotency_key="post-1")
    again = market.post_message(cid, by=BUYER, text="Hello", idempotency_key="post-1")
    assert again == first
    assert market.get_conversation(cid, by=BUYER).message_count == 1
    assert len(market.messages(cid, by=BUYER)) == 1
    with pytest.raises(IdempotencyKeyReusedError, match="text differs"):
        market.post_message(cid, by=BUYER, text="Hello!", idempotency_key="post-1")
    market.run_due()
    assert notifier.kinds() == ["message.posted"]


def test_replaying_a_start_with_its_key_starts_once(market: Marketplace, order: Order) -> None:
    a = market.start_conversation(
        by=VENDOR, customer_name="Ada Buyer", text="Hi", idempotency_key="k"
    )
    b = market.start_conversation(
        by=VENDOR, customer_name="Ada Buyer", text="Hi", idempotency_key="k"
    )
    assert a == b
    assert a.created
    assert market.get_conversation(a.conversation.conversation_id, by=VENDOR).message_count == 1


# --- response times (R28) ----------------------------------------------------------------------


def test_response_times_and_their_median(market: Marketplace, clock: FakeClock) -> None:
    """R28, worked example: three buyers write on Monday 2 March 2026.

    * b-1 writes at 09:00, writes again at 09:10; the vendor answers at 11:30: 2 h 30 min
      (from the first unanswered message);
    * b-2 writes at 10:00; the vendor answers at 10:30: 30 min;
    * b-3 writes at 12:00 and is not answered.
    Median over the answered ones: (2 h 30 + 0 h 30) / 2 = 1 h 30 min. A conversation the
    vendor opened counts only from the buyer's first message.
    """
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    clock.set(at)
    c1 = market.start_conversation(by=Actor.buyer("b-1"), vendor_id="v-1", text="q1")
    c1_id = c1.conversation.conversation_id
    clock.set(at.replace(minute=10))
    market.post_message(c1_id, by=Actor.buyer("b-1"), text="q1 again?")
    clock.set(at.replace(hour=10))
    c2 = market.start_conversation(by=Actor.buyer("b-2"), vendor_id="v-1", text="q2")
    c2_id = c2.conversation.conversation_id
    clock.set(at.replace(hour=10, minute=30))
    answer2 = market.post_message(c2_id, by=VENDOR, text="a2")
    clock.set(at.replace(hour=11, minute=30))
    answer1 = market.post_message(c1_id, by=VENDOR, text="a1")
    clock.set(at.replace(hour=12))
    c3 = market.start_conversation(by=Actor.buyer("b-3"), vendor_id="v-1", text="q3")
    assert answer1.message.response_time == dt.timedelta(hours=2, minutes=30)
    assert answer2.message.response_time == dt.timedelta(minutes=30)
    assert answer1.conversation.first_response_time == dt.timedelta(hours=2, minutes=30)

    report = market.response_times(
        "v-1", by=VENDOR, since=at.replace(hour=0), until=at + dt.timedelta(days=1)
    )
    rows = {r.conversation_id: r.response_time for r in report.conversations}
    assert rows == {
        c1_id: dt.timedelta(hours=2, minutes=30),
        c2_id: dt.timedelta(minutes=30),
        c3.conversation.conversation_id: None,
    }
    assert report.median == dt.timedelta(hours=1, minutes=30)
    assert (report.answered, report.unanswered) == (2, 1)

    # the period is [since, until): only b-2's conversation started in 10:00-11:00
    window = market.response_times(
        "v-1", by=STAFF, since=at.replace(hour=10), until=at.replace(hour=11)
    )
    assert [r.conversation_id for r in window.conversations] == [c2_id]
    assert window.median == dt.timedelta(minutes=30)
    empty = market.response_times("v-2", by=STAFF, since=at, until=at + dt.timedelta(days=1))
    assert empty.conversations == ()
    assert empty.median is None
    with pytest.raises(InvalidInputError):
        market.response_times("v-1", by=VENDOR, since=at, until=at)


def test_vendor_opened_conversation_counts_from_the_buyers_first_message(
    market: Marketplace, order: Order, clock: FakeClock
) -> None:
    """R28: a vendor's own opening message is not a response; the clock starts when the
    buyer writes."""
    started = market.start_conversation(by=VENDOR, customer_name="Ada Buyer", text="Thanks!")
    cid = started.conversation.conversation_id
    clock.advance(hours=1)
    market.post_message(cid, by=VENDOR, text="Shipping tomorrow")
    clock.advance(hours=1)
    market.post_message(cid, by=BUYER, text="Great, which carrier?")
    clock.advance(minutes=20)
    market.post_message(cid, by=STAFF, text="(staff note)")  # staff do not answer for vendors
    clock.advance(minutes=25)
    answer = market.post_message(cid, by=VENDOR, text="DHL")
    assert answer.message.response_time == dt.timedelta(minutes=45)
    assert answer.conversation.first_response_time == dt.timedelta(minutes=45)


def test_median_of_durations() -> None:
    minutes = [dt.timedelta(minutes=m) for m in (7, 1, 3)]
    assert median_delta(minutes) == dt.timedelta(minutes=3)
    assert median_delta(minutes[:2]) == dt.timedelta(minutes=4)
    assert median_delta([dt.timedelta(microseconds=1), dt.timedelta(microseconds=2)]) == (
        dt.timedelta(microseconds=1)
    )
    assert median_delta([]) is None
