"""The conversation commands of the facade (R26-R29).

:class:`_ChatCommands` is mixed into :class:`~asolora_core.service.Marketplace`; each command
runs in one unit of work through the kernel: load -> pure core
(:mod:`asolora_core.messaging.conversations`) -> save with a version check (R36) -> history
(R42) and outbox (R29) -> commit. A refused command writes nothing (R2) and, with an
idempotency key, replays the same refusal (R35).

The contact policy (R27) screens every message before it is stored: ``REFUSE`` raises
:class:`~asolora_core.errors.ContactDetailsRefusedError`; the redacting and flagging policies
store the screened text and return the notice for the sender in :class:`PostedMessage`.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from asolora_core import _codec
from asolora_core._values import value_eq, value_hash, value_repr
from asolora_core.actors import STAFF_DESK, Actor, ActorKind, check_actor
from asolora_core.clock import utc
from asolora_core.errors import (
    AmbiguousCustomerError,
    ContactDetailsRefusedError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
)
from asolora_core.events import Notification
from asolora_core.kernel import _Kernel
from asolora_core.limits import (
    MAX_NAME_LENGTH,
    check_count,
    check_id,
    check_name,
    check_optional_id,
    check_text,
)
from asolora_core.messaging import conversations as core
from asolora_core.messaging.contact_policy import ContactKind, ContactPolicy, describe_kinds, screen
from asolora_core.messaging.conversations import Conversation, Message, Side
from asolora_core.ports import UnitOfWork

__all__ = [
    "ConversationPage",
    "ConversationResponse",
    "PostedMessage",
    "ResponseTimes",
    "StartedConversation",
]

MAX_PAGE = 200


@attrs.frozen(kw_only=True)
class PostedMessage:
    """What :meth:`_ChatCommands.post_message` returns: the conversation after the post, the
    stored message and, when the contact policy changed or flagged it, the ``notice`` to show
    the sender (R27)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    conversation: Conversation
    message: Message
    notice: str | None = None


@attrs.frozen(kw_only=True)
class StartedConversation:
    """What :meth:`_ChatCommands.start_conversation` returns. ``created`` is false when the
    two already had a conversation about the same order (or about no order): it is reused.
    ``message`` is the opening message, when ``text`` was given."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    conversation: Conversation
    created: bool
    message: Message | None = None
    notice: str | None = None


@attrs.frozen(kw_only=True)
class ConversationPage:
    """One page of conversations, most recent activity first; pass ``next_cursor`` back as
    ``cursor`` for the next page (``None``: this was the last)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    items: tuple[Conversation, ...]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class ConversationResponse:
    """One conversation's first-response figures (R28)."""

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    conversation_id: str
    awaited_at: _dt.datetime  #: the buyer's first message awaiting the vendor
    responded_at: _dt.datetime | None  #: the vendor's first answer; ``None``: none yet

    @property
    def response_time(self) -> _dt.timedelta | None:
        return None if self.responded_at is None else self.responded_at - self.awaited_at


@attrs.frozen(kw_only=True)
class ResponseTimes:
    """A vendor's first-response times over ``[since, until)`` (R28).

    A conversation counts in the period when the buyer's first message awaiting a reply was
    posted in it. ``median`` is over the answered ones (``None`` when none was answered);
    ``unanswered`` counts those still waiting (at the time of the query).
    """

    __repr__ = value_repr
    __eq__ = value_eq
    __hash__ = value_hash

    vendor_id: str
    since: _dt.datetime
    until: _dt.datetime
    conversations: tuple[ConversationResponse, ...]
    median: _dt.timedelta | None

    @property
    def answered(self) -> int:
        return sum(1 for c in self.conversations if c.responded_at is not None)

    @property
    def unanswered(self) -> int:
        return len(self.conversations) - self.answered


for _cls in (Conversation, Message, PostedMessage, StartedConversation):
    _codec.register(_cls)


def median_delta(values: Sequence[_dt.timedelta]) -> _dt.timedelta | None:
    """The median of ``values`` (the mean of the middle two for an even count, to the
    microsecond, rounded down); ``None`` for none."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    micro = _dt.timedelta(microseconds=1)
    total = ordered[mid - 1] // micro + ordered[mid] // micro
    return _dt.timedelta(microseconds=total // 2)


def _finding_kind(finding: object) -> str:
    kind: Any = getattr(finding, "kind", finding)
    if isinstance(kind, enum.Enum):
        kind = kind.value
    return str(kind)


def _encode_cursor(c: Conversation) -> str:
    return f"{c.last_activity_at.isoformat()}|{c.conversation_id}"


def _decode_cursor(cursor: str | None) -> tuple[_dt.datetime, str] | None:
    if cursor is None:
        return None
    try:
        check_text(cursor, "cursor", limit=2 * MAX_NAME_LENGTH)
        at_text, conversation_id = cursor.split("|", 1)
        at = utc(_dt.datetime.fromisoformat(at_text), field="cursor")
    except (ValueError, AttributeError, InvalidInputError) as exc:
        raise InvalidInputError(
            "cursor is not one this API returned; pass a page's next_cursor unchanged",
            field="cursor",
        ) from exc
    return at, conversation_id


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_PAGE}", field="limit")
    return limit


class _Screened(NamedTuple):
    """A message text after the contact policy (R27), computed before the transaction."""

    stored: str
    flagged: bool
    redacted: bool
    findings: tuple[str, ...]
    notice: str | None
    refusal: ContactDetailsRefusedError | None


class _ChatCommands(_Kernel):
    """Conversations between buyers and vendors (R26-R29)."""

    # --- helpers ---------------------------------------------------------------------------

    def _screen(self, text: str) -> _Screened:
        """R27: the contact policy on ``text``. Run before the command's unit of work opens
        (it is the costliest check of a command); a ``REFUSE`` is raised by :meth:`_post`,
        after the sender's permission is checked."""
        policy: ContactPolicy = self.config.contact_policy
        screening = screen(text, policy)
        findings = tuple(dict.fromkeys(_finding_kind(f) for f in screening.findings))
        refusal = None
        if screening.refused:
            refusal = ContactDetailsRefusedError(
                screening.notice
                or "the message carries contact details (an email address, a phone number or "
                "an outside channel); keep the conversation on the platform and send it "
                "without them",
                findings=list(findings),
            )
        stored = screening.text.strip() or "[removed]"
        return _Screened(
            stored, screening.flagged, screening.redacted, findings, screening.notice, refusal
        )

    def _post(
        self,
        uow: UnitOfWork,
        conversation: Conversation,
        screened: _Screened,
        attachments: tuple[str, ...],
        by: Actor,
        now: _dt.datetime,
    ) -> PostedMessage:
        core.may_post(conversation, by)
        if screened.refusal is not None:
            raise screened.refusal
        new, message, events = core.post_message(
            conversation,
            message_id=self.ids.new_id("m"),
            text=screened.stored,
            attachments=attachments,
            flagged=screened.flagged,
            redacted=screened.redacted,
            findings=screened.findings,
            by=by,
            now=now,
        )
        uow.conversations.save(new)
        uow.conversations.add_message(message)
        uow.events.append(events)
        self._enqueue(uow, _message_notifications(new, message), now)
        return PostedMessage(conversation=new, message=message, notice=screened.notice)

    def _load_readable(self, uow: UnitOfWork, conversation_id: str, by: Actor) -> Conversation:
        check_actor(by)
        check_id(conversation_id, "conversation_id")
        conversation = uow.conversations.get(conversation_id)
        core.may_read(conversation, by)
        return conversation

    # --- commands --------------------------------------------------------------------------

    def start_conversation(
        self,
        *,
        by: Actor,
        vendor_id: str | None = None,
        customer_name: str | None = None,
        order_id: str | None = None,
        text: str | None = None,
        attachments: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> StartedConversation:
        """R26: start (or reopen) a conversation, optionally with an opening message.

        * A vendor names the customer of one of its orders by ``customer_name`` as it appears
          on the order (case-insensitive); when two of its customers share the name, it
          passes the ``order_id`` (then the conversation is about that order). An unknown
          name is :class:`~asolora_core.errors.NotFoundError`; a shared one is
          :class:`~asolora_core.errors.AmbiguousCustomerError`.
        * A buyer names the ``vendor_id`` and optionally one of its own orders with it.

        The same vendor, buyer and order (or no order) always share one conversation: starting
        it again reuses it (``created`` false) and posts ``text`` in it.
        """
        check_actor(by)
        check_optional_id(vendor_id, "vendor_id")
        check_optional_id(order_id, "order_id")
        if customer_name is not None:
            check_name(customer_name, "customer_name")
        limit = self.config.message_max_length
        body = None if text is None else core.check_text(text, limit=limit)
        refs = core.check_attachments(attachments)
        if refs and body is None:
            raise InvalidInputError("attachments need a message text", field="text")
        screened = None if body is None else self._screen(body)

        def work(uow: UnitOfWork, now: _dt.datetime) -> StartedConversation:
            vendor, buyer, about = self._parties(
                uow, by, vendor_id=vendor_id, customer_name=customer_name, order_id=order_id
            )
            conversation = uow.conversations.find(vendor, buyer, about)
            created = conversation is None
            if conversation is None:
                conversation, events = core.start_conversation(
                    conversation_id=self.ids.new_id("cv"),
                    vendor_id=vendor,
                    buyer_id=buyer,
                    order_id=about,
                    by=by,
                    now=now,
                )
                uow.conversations.add(conversation)
                uow.events.append(events)
            if screened is None:
                return StartedConversation(conversation=conversation, created=created)
            posted = self._post(uow, conversation, screened, refs, by, now)
            return StartedConversation(
                conversation=posted.conversation,
                created=created,
                message=posted.message,
                notice=posted.notice,
            )

        arguments = {
            "vendor_id": vendor_id,
            "customer_name": customer_name,
            "order_id": order_id,
            "text": text,
            "attachments": list(refs),
        }
        return self._execute(by, "start_conversation", idempotency_key, arguments, work)

    @staticmethod
    def _parties(
        uow: UnitOfWork,
        by: Actor,
        *,
        vendor_id: str | None,
        customer_name: str | None,
        order_id: str | None,
    ) -> tuple[str, str, str | None]:
        """(vendor id, buyer id, order id or None) of the conversation ``by`` asks for."""
        if by.kind is ActorKind.VENDOR:
            if vendor_id is not None and vendor_id != by.id:
                raise NotPermittedError(
                    f"vendor {by.id} cannot start a conversation for vendor {vendor_id}",
                    vendor_id=vendor_id,
                )
            if order_id is not None:
                order = uow.orders.get(order_id)
                if order.vendor_id != by.id:
                    raise NotPermittedError(
                        f"vendor {by.id} cannot start a conversation about order {order_id}: "
                        "it belongs to another vendor",
                        order_id=order_id,
                    )
                if (
                    customer_name is not None
                    and customer_name.strip().casefold() != order.customer_name.casefold()
                ):
                    raise InvalidInputError(
                        f"order {order_id} was not placed by a customer named "
                        f"{customer_name!r}; check the name or the order id",
                        field="customer_name",
                    )
                return by.id, order.buyer_id, order.order_id
            if customer_name is None or not customer_name.strip():
                raise InvalidInputError(
                    "to start a conversation a vendor names the customer (customer_name, as "
                    "on the order) or the order (order_id)",
                    field="customer_name",
                )
            orders = uow.orders.for_customer_name(by.id, customer_name)
            if not orders:
                raise NotFoundError(
                    f"vendor {by.id} has no order from a customer named {customer_name!r}; "
                    "use the name exactly as it appears on the order, or pass order_id",
                    customer_name=customer_name,
                )
            buyers = dict.fromkeys(o.buyer_id for o in orders)
            if len(buyers) > 1:
                raise AmbiguousCustomerError(
                    f"{len(buyers)} different customers named {customer_name!r} have ordered "
                    f"from vendor {by.id}; pass order_id to say which one you mean",
                    field="order_id",
                    order_ids=[o.order_id for o in orders],
                )
            return by.id, orders[0].buyer_id, None
        if by.kind is ActorKind.BUYER:
            if customer_name is not None:
                raise InvalidInputError(
                    "customer_name is for vendors; a buyer names the vendor_id",
                    field="customer_name",
                )
            if order_id is not None:
                order = uow.orders.get(order_id)
                if order.buyer_id != by.id:
                    raise NotPermittedError(
                        f"buyer {by.id} cannot start a conversation about order {order_id}: "
                        "it is another buyer's order",
                        order_id=order_id,
                    )
                if vendor_id is not None and vendor_id != order.vendor_id:
                    raise InvalidInputError(
                        f"order {order_id} is not from vendor {vendor_id}", field="vendor_id"
                    )
                return order.vendor_id, by.id, order.order_id
            if vendor_id is None or not vendor_id.strip():
                raise InvalidInputError(
                    "to start a conversation a buyer names the vendor_id", field="vendor_id"
                )
            return vendor_id, by.id, None
        raise NotPermittedError(
            "only a vendor or a buyer starts a conversation; staff read and post in existing ones"
        )

    def post_message(
        self,
        conversation_id: str,
        *,
        by: Actor,
        text: str,
        attachments: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> PostedMessage:
        """Post a message (R26) after the contact policy (R27); the other side is notified
        (R29). Only the two participants and staff may post. ``PostedMessage.notice`` tells
        the sender what the policy removed or flagged."""
        check_id(conversation_id, "conversation_id")
        body = core.check_text(text, limit=self.config.message_max_length)
        refs = core.check_attachments(attachments)
        screened = self._screen(body)

        def work(uow: UnitOfWork, now: _dt.datetime) -> PostedMessage:
            conversation = uow.conversations.get(conversation_id)
            return self._post(uow, conversation, screened, refs, by, now)

        arguments = {"conversation_id": conversation_id, "text": text, "attachments": list(refs)}
        return self._execute(by, "post_message", idempotency_key, arguments, work)

    def mark_read(
        self, conversation_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Conversation:
        """R28: the vendor or the buyer has read every message so far; its unread count is
        zero. Reading an already-read conversation changes nothing."""
        check_id(conversation_id, "conversation_id")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Conversation:
            conversation = self._load_readable(uow, conversation_id, by)
            new, events = core.mark_read(conversation, by=by, now=now)
            if events:
                uow.conversations.save(new)
                uow.events.append(events)
            return new

        return self._execute(
            by, "mark_read", idempotency_key, {"conversation_id": conversation_id}, work
        )

    # --- queries ---------------------------------------------------------------------------

    def get_conversation(self, conversation_id: str, *, by: Actor) -> Conversation:
        """The conversation, for its vendor, its buyer or staff (R26)."""
        _check_read(conversation_id, by)
        with self.store.reader() as uow:
            return self._load_readable(uow, conversation_id, by)

    def messages(
        self, conversation_id: str, *, by: Actor, after: int | None = None, limit: int = 50
    ) -> tuple[Message, ...]:
        """Up to ``limit`` messages after message number ``after`` (``Message.seq``), oldest
        first; pass the last one's ``seq`` to read on (a whole number from 0 to ``2**63 - 1``,
        what every store keeps). Reading does not mark read: call :meth:`mark_read`."""
        limit = _check_limit(limit)
        if after is not None:  # a seq every store keeps: a signed 64-bit integer (R33)
            check_count(after, "after", low=0, high=2**63 - 1)
        _check_read(conversation_id, by)
        with self.store.reader() as uow:
            self._load_readable(uow, conversation_id, by)
            return uow.conversations.messages(conversation_id, after_seq=after or 0, limit=limit)

    def conversation_history(self, conversation_id: str, *, by: Actor) -> tuple[Any, ...]:
        """Every event of the conversation, oldest first (R42)."""
        _check_read(conversation_id, by)
        with self.store.reader() as uow:
            self._load_readable(uow, conversation_id, by)
            return uow.events.history(conversation_id)

    def conversations_for_vendor(
        self, vendor_id: str, *, by: Actor, limit: int = 20, cursor: str | None = None
    ) -> ConversationPage:
        """The vendor's conversations, most recent activity first, a page at a time."""
        _may_list(by, ActorKind.VENDOR, vendor_id)
        limit = _check_limit(limit)
        before = _decode_cursor(cursor)
        with self.store.reader() as uow:
            rows = uow.conversations.for_vendor(vendor_id, limit=limit + 1, before=before)
        return _page(rows, limit)

    def conversations_for_buyer(
        self, buyer_id: str, *, by: Actor, limit: int = 20, cursor: str | None = None
    ) -> ConversationPage:
        """The buyer's conversations, most recent activity first, a page at a time."""
        _may_list(by, ActorKind.BUYER, buyer_id)
        limit = _check_limit(limit)
        before = _decode_cursor(cursor)
        with self.store.reader() as uow:
            rows = uow.conversations.for_buyer(buyer_id, limit=limit + 1, before=before)
        return _page(rows, limit)

    def response_times(
        self, vendor_id: str, *, by: Actor, since: _dt.datetime, until: _dt.datetime
    ) -> ResponseTimes:
        """R28: the vendor's first-response time in each conversation where the buyer's first
        message awaiting a reply falls in ``[since, until)``, and their median."""
        _may_list(by, ActorKind.VENDOR, vendor_id)
        start, end = utc(since, field="since"), utc(until, field="until")
        if end <= start:
            raise InvalidInputError("until must be after since", field="until")
        with self.store.reader() as uow:
            rows = uow.conversations.awaited_between(vendor_id, start, end)
        items = tuple(
            ConversationResponse(
                conversation_id=c.conversation_id,
                awaited_at=c.first_awaited_at,
                responded_at=c.first_response_at,
            )
            for c in rows
            if c.first_awaited_at is not None
        )
        times = [t for i in items if (t := i.response_time) is not None]
        return ResponseTimes(
            vendor_id=vendor_id,
            since=start,
            until=end,
            conversations=items,
            median=median_delta(times),
        )


def _check_read(conversation_id: object, by: object) -> None:
    """The arguments of a read, judged before any reader opens (R2, R33)."""
    check_actor(by)
    check_id(conversation_id, "conversation_id")


def _may_list(by: Actor, kind: ActorKind, party_id: str) -> None:
    """R1, an allow-list: staff, the system, and the party itself."""
    check_actor(by)
    check_id(party_id, f"{kind.value}_id")
    if by.kind is ActorKind.STAFF or by.kind is ActorKind.SYSTEM:
        return
    if by.kind is kind and by.id == party_id:
        return
    raise NotPermittedError(
        f"{by} cannot see the conversations of {kind.value} {party_id}: only that "
        f"{kind.value} and staff can",
    )


def _page(rows: tuple[Conversation, ...], limit: int) -> ConversationPage:
    items = rows[:limit]
    more = len(rows) > limit
    return ConversationPage(
        items=items, next_cursor=_encode_cursor(items[-1]) if more and items else None
    )


_SENDER = {
    ActorKind.VENDOR: "the vendor",
    ActorKind.BUYER: "the buyer",
    ActorKind.STAFF: "platform staff",
}


def _message_notifications(conversation: Conversation, message: Message) -> list[Notification]:
    """R29: a new message notifies the other side (both sides for a staff message). The text
    is not copied into the notification, which leaves the platform. R27: a flagged message
    is also the staff desk's to review; it is told which kinds were found, never the
    details themselves."""
    side = core.side_of(conversation, message.sender)
    recipients = [
        actor
        for s, actor in ((Side.VENDOR, conversation.vendor), (Side.BUYER, conversation.buyer))
        if s != side
    ]
    who = _SENDER.get(message.sender.kind, str(message.sender))
    text = f"New message from {who} in conversation {conversation.conversation_id}."
    out = [
        Notification(
            recipient=r,
            kind="message.posted",
            subject_id=conversation.conversation_id,
            text=text,
            event_at=message.at,
        )
        for r in recipients
    ]
    if message.flagged:
        found = describe_kinds([ContactKind(kind) for kind in message.findings])
        out.append(
            Notification(
                recipient=STAFF_DESK,
                kind="message.flagged",
                subject_id=conversation.conversation_id,
                text=f"A message from {who} in conversation {conversation.conversation_id} "
                f"was flagged for review: it carried {found}.",
                event_at=message.at,
            )
        )
    return out
