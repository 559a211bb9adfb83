"""The conversation aggregate: pure values and commands (R26, R28; events for R29, R42).

A :class:`Conversation` is one vendor talking to one buyer, optionally about one order. It
holds only constant-size counters (message count, read markers, unread counts, response-time
instants); each :class:`Message` is its own immutable row, keyed by ``(conversation_id,
seq)``. Posting therefore writes one new message row and a small conversation update with
a version check (R36), however long the conversation grows: no growing document is rewritten.

Unread counts (R28): a message is unread for a participant side until that side marks the
conversation read, or posts in it (replying implies having read what came before). A staff
message is unread for both sides; a side's own messages are never unread for it.

Response times (R28): the conversation is *awaiting the vendor* from the first buyer message
the vendor has not answered yet (``awaiting_since``); the vendor's next message answers it and
records its response time on that message (``Message.response_time``). The conversation's
first-response time runs from the buyer's first such message (``first_awaited_at``) to the
vendor's first answer (``first_response_at``). Staff messages do not count either way.

Commands take the state and ``now`` and return ``(new value, events)``; no I/O.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import attrs

from asolora_core._values import value_repr
from asolora_core.actors import Actor, ActorKind
from asolora_core.errors import InvalidInputError, NotPermittedError
from asolora_core.events import DomainEvent
from asolora_core.limits import (
    MAX_REFERENCE_LENGTH,
    MAX_TEXT_LENGTH,
    check_plain,
    check_storable,
)

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_MESSAGE_LENGTH",
    "Conversation",
    "ConversationRead",
    "ConversationStarted",
    "Message",
    "MessageFlagged",
    "MessagePosted",
    "Side",
    "check_attachments",
    "check_text",
    "mark_read",
    "may_post",
    "may_read",
    "post_message",
    "side_of",
    "start_conversation",
]

#: Default longest message text, in characters (configurable on ``MarketplaceConfig``).
MAX_MESSAGE_LENGTH = MAX_TEXT_LENGTH
#: Most attachment references one message may carry.
MAX_ATTACHMENTS = 10
_MAX_REFERENCE = MAX_REFERENCE_LENGTH


class Side:
    """The two participant sides of a conversation, as they appear in fields and events."""

    VENDOR = "vendor"
    BUYER = "buyer"


# --- values ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Message:
    """One message, immutable once posted.

    ``text`` is what was stored, after the contact policy (R27): when ``redacted`` is true the
    contact details were replaced; when ``flagged`` is true staff are asked to look at it;
    ``findings`` names what the policy found (e.g. ``("email", "phone")``).
    ``awaited_since`` is set on a vendor message that answered the buyer: the instant the
    buyer's unanswered message was posted, so :attr:`response_time` is ``at - awaited_since``.
    """

    __repr__ = value_repr

    message_id: str
    conversation_id: str
    seq: int  #: 1, 2, 3, ... within the conversation
    sender: Actor
    at: _dt.datetime
    text: str
    attachments: tuple[str, ...] = ()
    flagged: bool = False
    redacted: bool = False
    findings: tuple[str, ...] = ()
    awaited_since: _dt.datetime | None = None

    @property
    def response_time(self) -> _dt.timedelta | None:
        """For a vendor answer, how long the buyer waited for it (R28)."""
        return None if self.awaited_since is None else self.at - self.awaited_since


@attrs.frozen(kw_only=True)
class Conversation:
    """A vendor and a buyer talking inside the platform (R26), with unread counts per side and
    the vendor's response-time instants (R28). Messages are stored apart (see the module
    docstring); ``message_count`` is the ``seq`` of the last one."""

    __repr__ = value_repr

    conversation_id: str
    version: int
    vendor_id: str
    buyer_id: str
    order_id: str | None
    started_by: Actor
    started_at: _dt.datetime
    last_activity_at: _dt.datetime
    message_count: int = 0
    vendor_read_seq: int = 0  #: the last message the vendor side has read
    buyer_read_seq: int = 0
    vendor_unread: int = 0  #: messages not from the vendor after ``vendor_read_seq``
    buyer_unread: int = 0
    awaiting_since: _dt.datetime | None = None  #: oldest buyer message the vendor owes a reply
    first_awaited_at: _dt.datetime | None = None
    first_response_at: _dt.datetime | None = None

    @property
    def vendor(self) -> Actor:
        return Actor.vendor(self.vendor_id)

    @property
    def buyer(self) -> Actor:
        return Actor.buyer(self.buyer_id)

    @property
    def first_response_time(self) -> _dt.timedelta | None:
        """From the buyer's first message awaiting a reply to the vendor's first answer."""
        if self.first_awaited_at is None or self.first_response_at is None:
            return None
        return self.first_response_at - self.first_awaited_at

    def unread_for(self, side: str) -> int:
        """Unread messages for ``"vendor"`` or ``"buyer"``."""
        if side == Side.VENDOR:
            return self.vendor_unread
        if side == Side.BUYER:
            return self.buyer_unread
        raise InvalidInputError(f"side must be 'vendor' or 'buyer', not {side!r}", field="side")

    def is_participant(self, actor: Actor) -> bool:
        return side_of(self, actor) is not None


# --- events ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ConversationStarted(DomainEvent):
    """A buyer and a vendor started a conversation (``Marketplace.start_conversation``);
    ``order_id`` is the order it is about, or ``None`` when it is about no order."""

    vendor_id: str
    buyer_id: str
    order_id: str | None


@attrs.frozen(kw_only=True)
class MessagePosted(DomainEvent):
    """A message was posted. The text stays in the message row, not in the history."""

    message_id: str
    seq: int
    attachments: int
    response_ms: int | None = None  #: a vendor answer's response time, in milliseconds


@attrs.frozen(kw_only=True)
class MessageFlagged(DomainEvent):
    """The contact policy flagged a message for staff (R27)."""

    message_id: str
    findings: tuple[str, ...]
    redacted: bool


@attrs.frozen(kw_only=True)
class ConversationRead(DomainEvent):
    """One participant read every message so far (``Marketplace.mark_read``): ``side`` is
    ``"buyer"`` or ``"vendor"``, ``read_seq`` the last message read; that side's unread
    count is zero (R28)."""

    side: str
    read_seq: int


# --- access ----------------------------------------------------------------------------


def side_of(conversation: Conversation, actor: Actor) -> str | None:
    """``"vendor"`` or ``"buyer"`` when ``actor`` is that participant, else ``None``."""
    if actor.kind is ActorKind.VENDOR and actor.id == conversation.vendor_id:
        return Side.VENDOR
    if actor.kind is ActorKind.BUYER and actor.id == conversation.buyer_id:
        return Side.BUYER
    return None


def may_read(conversation: Conversation, actor: Actor) -> None:
    """R1, R26: only the two participants, staff (and the system, for reports) read."""
    if actor.kind in (ActorKind.STAFF, ActorKind.SYSTEM) or side_of(conversation, actor):
        return
    raise NotPermittedError(
        f"{actor} cannot read conversation {conversation.conversation_id}: only its vendor, "
        "its buyer and staff can",
        conversation_id=conversation.conversation_id,
    )


def may_post(conversation: Conversation, actor: Actor) -> None:
    if actor.kind is ActorKind.STAFF or side_of(conversation, actor):
        return
    raise NotPermittedError(
        f"{actor} cannot post in conversation {conversation.conversation_id}: only its vendor, "
        "its buyer and staff can",
        conversation_id=conversation.conversation_id,
    )


# --- input checks ----------------------------------------------------------------------


def check_text(text: object, *, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """The message text, stripped; empty or longer than ``limit`` is refused."""
    if not isinstance(text, str):
        raise InvalidInputError("text must be a string", field="text")
    stripped = text.strip()
    if not stripped:
        raise InvalidInputError(
            "a message needs some text; empty messages are refused", field="text"
        )
    if len(stripped) > limit:
        raise InvalidInputError(
            f"a message may have at most {limit} characters (this one has {len(stripped)}); "
            "split it into several messages",
            field="text",
            limit=limit,
        )
    return check_plain(check_storable(stripped, "text"), "text", one_line=False)


def check_attachments(attachments: object) -> tuple[str, ...]:
    """Attachment references (ids or URLs of files stored elsewhere), at most ten."""
    if isinstance(attachments, str) or not isinstance(attachments, Sequence):
        raise InvalidInputError(
            "attachments must be a sequence of reference strings", field="attachments"
        )
    refs = tuple(attachments)
    if len(refs) > MAX_ATTACHMENTS:
        raise InvalidInputError(
            f"a message may carry at most {MAX_ATTACHMENTS} attachments", field="attachments"
        )
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip() or len(ref) > _MAX_REFERENCE:
            raise InvalidInputError(
                f"each attachment must be a non-empty reference of at most {_MAX_REFERENCE} "
                "characters",
                field="attachments",
            )
        check_plain(check_storable(ref, "attachments"), "attachments", one_line=True)
    return refs


# --- commands --------------------------------------------------------------------------


def start_conversation(
    *,
    conversation_id: str,
    vendor_id: str,
    buyer_id: str,
    order_id: str | None,
    by: Actor,
    now: _dt.datetime,
) -> tuple[Conversation, list[DomainEvent]]:
    """R26: a new, empty conversation between ``vendor_id`` and ``buyer_id``, started by one
    of them."""
    conversation = Conversation(
        conversation_id=conversation_id,
        version=1,
        vendor_id=vendor_id,
        buyer_id=buyer_id,
        order_id=order_id,
        started_by=by,
        started_at=now,
        last_activity_at=now,
    )
    if side_of(conversation, by) is None:
        raise NotPermittedError(
            f"{by} cannot start a conversation between vendor {vendor_id} and buyer "
            f"{buyer_id}: only one of the two can",
        )
    event = ConversationStarted(
        aggregate_id=conversation_id,
        at=now,
        actor=by,
        vendor_id=vendor_id,
        buyer_id=buyer_id,
        order_id=order_id,
    )
    return conversation, [event]


def post_message(
    conversation: Conversation,
    *,
    message_id: str,
    text: str,
    attachments: tuple[str, ...] = (),
    flagged: bool = False,
    redacted: bool = False,
    findings: tuple[str, ...] = (),
    by: Actor,
    now: _dt.datetime,
) -> tuple[Conversation, Message, list[DomainEvent]]:
    """Post ``text`` (already checked and screened by the contact policy, R27).

    Returns the new conversation, the new message and the events. The sender's side has read
    everything up to its own message; the other side (both sides, for staff) has one more
    unread message. A vendor message answers a buyer message awaiting a reply (R28).
    """
    may_post(conversation, by)
    side = side_of(conversation, by)
    seq = conversation.message_count + 1
    c = conversation
    vendor_read, buyer_read = c.vendor_read_seq, c.buyer_read_seq
    vendor_unread, buyer_unread = c.vendor_unread, c.buyer_unread
    awaiting, first_awaited, first_response = (
        c.awaiting_since,
        c.first_awaited_at,
        c.first_response_at,
    )
    answered: _dt.datetime | None = None
    if side == Side.VENDOR:
        vendor_read, vendor_unread = seq, 0
        buyer_unread += 1
        if awaiting is not None:
            answered, awaiting = awaiting, None
            if first_response is None:
                first_response = now
    elif side == Side.BUYER:
        buyer_read, buyer_unread = seq, 0
        vendor_unread += 1
        if awaiting is None:
            awaiting = now
        if first_awaited is None:
            first_awaited = now
    else:  # staff: news for both sides, no effect on response times
        vendor_unread += 1
        buyer_unread += 1
    message = Message(
        message_id=message_id,
        conversation_id=c.conversation_id,
        seq=seq,
        sender=by,
        at=now,
        text=text,
        attachments=attachments,
        flagged=flagged,
        redacted=redacted,
        findings=findings,
        awaited_since=answered,
    )
    new = Conversation(
        conversation_id=c.conversation_id,
        version=c.version + 1,
        vendor_id=c.vendor_id,
        buyer_id=c.buyer_id,
        order_id=c.order_id,
        started_by=c.started_by,
        started_at=c.started_at,
        last_activity_at=now,
        message_count=seq,
        vendor_read_seq=vendor_read,
        buyer_read_seq=buyer_read,
        vendor_unread=vendor_unread,
        buyer_unread=buyer_unread,
        awaiting_since=awaiting,
        first_awaited_at=first_awaited,
        first_response_at=first_response,
    )
    response = message.response_time
    events: list[DomainEvent] = [
        MessagePosted(
            aggregate_id=c.conversation_id,
            at=now,
            actor=by,
            message_id=message_id,
            seq=seq,
            attachments=len(attachments),
            response_ms=None if response is None else response // _dt.timedelta(milliseconds=1),
        )
    ]
    if flagged:
        events.append(
            MessageFlagged(
                aggregate_id=c.conversation_id,
                at=now,
                actor=by,
                message_id=message_id,
                findings=findings,
                redacted=redacted,
            )
        )
    return new, message, events


def mark_read(
    conversation: Conversation, *, by: Actor, now: _dt.datetime
) -> tuple[Conversation, list[DomainEvent]]:
    """The participant ``by`` has read every message so far: its unread count drops to zero.

    Marking an already-read conversation changes nothing and returns no events. Staff read
    without markers, so staff are refused here.
    """
    side = side_of(conversation, by)
    if side is None:
        if by.kind is ActorKind.STAFF:
            raise NotPermittedError(
                "staff read conversations without read markers; only its vendor or buyer can "
                "mark a conversation read",
                conversation_id=conversation.conversation_id,
            )
        may_read(conversation, by)
        raise NotPermittedError(  # pragma: no cover - may_read refused already
            f"{by} cannot mark conversation {conversation.conversation_id} read"
        )
    seq = conversation.message_count
    if side == Side.VENDOR:
        if conversation.vendor_read_seq == seq and conversation.vendor_unread == 0:
            return conversation, []
        new = attrs.evolve(
            conversation, version=conversation.version + 1, vendor_read_seq=seq, vendor_unread=0
        )
    else:
        if conversation.buyer_read_seq == seq and conversation.buyer_unread == 0:
            return conversation, []
        new = attrs.evolve(
            conversation, version=conversation.version + 1, buyer_read_seq=seq, buyer_unread=0
        )
    event = ConversationRead(
        aggregate_id=conversation.conversation_id, at=now, actor=by, side=side, read_seq=seq
    )
    return new, [event]
