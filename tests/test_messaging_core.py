"""The pure conversation core and the conversation repositories of both stores (R26, R28,
R36)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from asolora_core import (
    Actor,
    ConcurrencyConflictError,
    InMemoryStore,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    SqliteStore,
)
from asolora_core.adapters.sqlite import micros
from asolora_core.messaging import conversations as core
from asolora_core.messaging.conversations import (
    Conversation,
    ConversationRead,
    Message,
    MessageFlagged,
    MessagePosted,
)
from asolora_core.ports import Store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
VENDOR, BUYER, STAFF = Actor.vendor("v-1"), Actor.buyer("b-1"), Actor.staff("st")


def _new(cid: str = "cv-1", *, buyer: str = "b-1", order_id: str | None = None) -> Conversation:
    conversation, _ = core.start_conversation(
        conversation_id=cid, vendor_id="v-1", buyer_id=buyer, order_id=order_id, by=VENDOR, now=T0
    )
    return conversation


def _post(
    c: Conversation, by: Actor, minutes: int, text: str = "hi"
) -> tuple[Conversation, Message]:
    new, message, _ = core.post_message(
        c,
        message_id=f"m-{c.message_count + 1}",
        text=text,
        by=by,
        now=T0 + dt.timedelta(minutes=minutes),
    )
    return new, message


# --- the pure core ---------------------------------------------------------------------------


def test_only_a_participant_starts() -> None:
    """R26: the vendor or the buyer of the conversation starts it."""
    with pytest.raises(NotPermittedError):
        core.start_conversation(
            conversation_id="cv", vendor_id="v-1", buyer_id="b-1", order_id=None, by=STAFF, now=T0
        )


def test_post_bumps_version_activity_and_unread() -> None:
    """R28, R36: each post is a new version; the other side has one more unread."""
    c = _new()
    c2, m = _post(c, BUYER, 5)
    assert (c2.version, c2.message_count, m.seq) == (2, 1, 1)
    assert c2.last_activity_at == T0 + dt.timedelta(minutes=5)
    assert (c2.vendor_unread, c2.buyer_unread, c2.buyer_read_seq) == (1, 0, 1)
    assert c.version == 1  # the old value is untouched


def test_events_of_a_flagged_post() -> None:
    c = _new()
    _, message, events = core.post_message(
        c,
        message_id="m-1",
        text="[contact removed]",
        flagged=True,
        redacted=True,
        findings=("email",),
        by=BUYER,
        now=T0,
    )
    assert [type(e) for e in events] == [MessagePosted, MessageFlagged]
    assert message.flagged
    assert message.redacted


def test_vendor_answer_records_the_response_time() -> None:
    """R28: from the oldest unanswered buyer message to the vendor's answer."""
    c = _new()
    c, _ = _post(c, VENDOR, 0)  # the vendor's opener is not a response
    c, _ = _post(c, BUYER, 10)
    c, _ = _post(c, BUYER, 20)
    c, answer = _post(c, VENDOR, 70)
    assert answer.response_time == dt.timedelta(minutes=60)
    assert c.first_response_time == dt.timedelta(minutes=60)
    assert c.awaiting_since is None
    c, _ = _post(c, BUYER, 100)
    c, second = _post(c, VENDOR, 105)
    assert second.response_time == dt.timedelta(minutes=5)
    assert c.first_response_time == dt.timedelta(minutes=60)  # the first stays the first
    _, unprompted = _post(c, VENDOR, 200)
    assert unprompted.response_time is None


def test_mark_read_is_idempotent_and_staff_have_no_marker() -> None:
    c, _ = _post(_new(), BUYER, 1)
    read, events = core.mark_read(c, by=VENDOR, now=T0)
    assert [type(e) for e in events] == [ConversationRead]
    assert (read.vendor_unread, read.vendor_read_seq, read.version) == (0, 1, c.version + 1)
    again, none = core.mark_read(read, by=VENDOR, now=T0)
    assert again is read
    assert none == []
    with pytest.raises(NotPermittedError):
        core.mark_read(c, by=STAFF, now=T0)
    with pytest.raises(NotPermittedError):
        core.mark_read(c, by=Actor.vendor("v-2"), now=T0)


def test_text_and_attachment_checks() -> None:
    assert core.check_text("  hi  ") == "hi"
    with pytest.raises(InvalidInputError):
        core.check_text(42)
    with pytest.raises(InvalidInputError):
        core.check_text("abc", limit=2)
    assert core.check_attachments(["a", "b"]) == ("a", "b")
    with pytest.raises(InvalidInputError):
        core.check_attachments("a-string")
    with pytest.raises(InvalidInputError):
        core.check_attachments(["x" * 501])


def test_unread_for_names_a_side() -> None:
    with pytest.raises(InvalidInputError):
        _new().unread_for("staff")


# --- the repositories, on both stores ----------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = InMemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "c.db")
    yield made
    made.close()


def _add(store: Store, c: Conversation) -> None:
    with store.unit_of_work() as uow:
        uow.conversations.add(c)
        uow.commit()


def test_round_trip_and_version_check(store: Store) -> None:
    """R36: saving over a newer version is refused and writes nothing."""
    c = _new(order_id="o-1")
    _add(store, c)
    c2, m = _post(c, BUYER, 1, text="héllo ✓")
    with store.unit_of_work() as uow:
        uow.conversations.save(c2)
        uow.conversations.add_message(m)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.conversations.get("cv-1") == c2
        assert uow.conversations.messages("cv-1", after_seq=0, limit=10) == (m,)
        assert uow.conversations.find("v-1", "b-1", "o-1") == c2
        assert uow.conversations.find("v-1", "b-1", None) is None
        with pytest.raises(ConcurrencyConflictError):
            uow.conversations.save(c2)  # version 2 over version 2
        with pytest.raises(ConcurrencyConflictError):
            uow.conversations.add(c)
        with pytest.raises(ConcurrencyConflictError):
            uow.conversations.add_message(m)
        with pytest.raises(NotFoundError):
            uow.conversations.get("cv-404")
    with store.unit_of_work() as uow:
        assert uow.conversations.get("cv-1") == c2


def test_rollback_leaves_no_conversation(store: Store) -> None:
    c = _new()
    with store.unit_of_work() as uow:
        uow.conversations.add(c)
        uow.conversations.add_message(_post(c, BUYER, 1)[1])
        uow.rollback()
    with store.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            uow.conversations.get("cv-1")
        assert uow.conversations.find("v-1", "b-1", None) is None
        assert uow.conversations.for_vendor("v-1", limit=5, before=None) == ()
        assert uow.conversations.messages("cv-1", after_seq=0, limit=5) == ()


def test_listing_and_response_window_queries(store: Store) -> None:
    """Most recent activity first, keyset pages; the response window is [since, until)."""
    made = []
    for n in range(4):
        c, _ = _post(_new(f"cv-{n}", buyer=f"b-{n}"), Actor.buyer(f"b-{n}"), 10 * n)
        made.append(c)
        _add(store, c)
    with store.unit_of_work() as uow:
        repo = uow.conversations
        page1 = repo.for_vendor("v-1", limit=2, before=None)
        assert [c.conversation_id for c in page1] == ["cv-3", "cv-2"]
        key = (page1[-1].last_activity_at, page1[-1].conversation_id)
        page2 = repo.for_vendor("v-1", limit=2, before=key)
        assert [c.conversation_id for c in page2] == ["cv-1", "cv-0"]
        assert [c.conversation_id for c in repo.for_buyer("b-2", limit=5, before=None)] == ["cv-2"]
        window = repo.awaited_between(
            "v-1", T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=30)
        )
        assert [c.conversation_id for c in window] == ["cv-1", "cv-2"]
        assert repo.awaited_between("v-2", T0, T0 + dt.timedelta(days=1)) == ()


def test_sqlite_listing_uses_an_index(tmp_path: Path) -> None:
    """The vendor listing is an index search, not a scan, on SQLite."""
    store = SqliteStore(tmp_path / "plan.db")
    try:
        plan = (
            store.connection()
            .execute(
                "EXPLAIN QUERY PLAN SELECT body FROM conversations WHERE vendor_id = ? AND "
                "(last_activity_at, conversation_id) < (?, ?) "
                "ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ?",
                ("v-1", micros(T0), "cv-9", 20),
            )
            .fetchall()
        )
        detail = " ".join(str(row[-1]) for row in plan)
        assert "USING INDEX conversations_vendor_activity" in detail
        assert "TEMP B-TREE" not in detail
    finally:
        store.close()
