"""Unread counts and response times under random interleavings (R28), a stateful test.

A hypothesis ``RuleBasedStateMachine`` posts (as the vendor, the buyer or staff), marks read
and moves a FakeClock forward in any order, in two conversations, and checks the facade
against a simple model after every step: a list of ``(sender side, instant)`` per
conversation and the last message each side has read. Run on InMemoryStore and on SqliteStore.
"""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from asolora_core import Actor, FakeClock, InMemoryStore, Marketplace, SequentialIds, SqliteStore
from asolora_core.ports import Store

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SIDES = ("vendor", "buyer", "staff")
STAFF = Actor.staff("st-1")


class _Model:
    """What the counts must be, computed the slow, obvious way."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dt.datetime]] = []
        self.read = {"vendor": 0, "buyer": 0}

    def post(self, side: str, at: dt.datetime) -> None:
        self.messages.append((side, at))
        if side in self.read:
            self.read[side] = len(self.messages)

    def unread(self, side: str) -> int:
        return sum(1 for s, _ in self.messages[self.read[side] :] if s != side)

    def response_times(self) -> list[dt.timedelta | None]:
        """Per message: for a vendor message, the wait since the oldest buyer message after
        the previous vendor message (None when there is none); None for the others."""
        out: list[dt.timedelta | None] = []
        waiting: dt.datetime | None = None
        for side, at in self.messages:
            if side == "buyer" and waiting is None:
                waiting = at
            if side == "vendor" and waiting is not None:
                out.append(at - waiting)
                waiting = None
            else:
                out.append(None)
        return out

    def first_response_time(self) -> dt.timedelta | None:
        return next((t for t in self.response_times() if t is not None), None)


class ConversationMachine(RuleBasedStateMachine):
    def make_store(self) -> Store:
        return InMemoryStore()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.store = self.make_store()
        self.market = Marketplace(self.store, clock=self.clock, ids=SequentialIds())
        self.ids: list[str] = []
        self.models: list[_Model] = []
        for n in range(2):
            started = self.market.start_conversation(by=Actor.buyer(f"b-{n}"), vendor_id="v-1")
            self.ids.append(started.conversation.conversation_id)
            self.models.append(_Model())

    def teardown(self) -> None:
        self.store.close()

    def _actor(self, n: int, side: str) -> Actor:
        if side == "vendor":
            return Actor.vendor("v-1")
        if side == "buyer":
            return Actor.buyer(f"b-{n}")
        return STAFF

    @rule(n=st.integers(0, 1), side=st.sampled_from(SIDES))
    def post(self, n: int, side: str) -> None:
        posted = self.market.post_message(self.ids[n], by=self._actor(n, side), text="hello")
        self.models[n].post(side, self.clock.now())
        expected = self.models[n].response_times()[-1]
        assert posted.message.response_time == expected
        assert posted.message.seq == len(self.models[n].messages)

    @rule(n=st.integers(0, 1), side=st.sampled_from(("vendor", "buyer")))
    def read(self, n: int, side: str) -> None:
        self.market.mark_read(self.ids[n], by=self._actor(n, side))
        self.models[n].read[side] = len(self.models[n].messages)

    @rule(minutes=st.integers(0, 600))
    def wait(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @invariant()
    def counts_match_the_model(self) -> None:
        for cid, model in zip(self.ids, self.models, strict=True):
            c = self.market.get_conversation(cid, by=STAFF)
            assert c.vendor_unread == model.unread("vendor")
            assert c.buyer_unread == model.unread("buyer")
            assert c.message_count == len(model.messages)
            assert c.first_response_time == model.first_response_time()

    @precondition(lambda self: any(m.messages for m in self.models))
    @invariant()
    def stored_messages_carry_the_response_times(self) -> None:
        for cid, model in zip(self.ids, self.models, strict=True):
            stored = self.market.messages(cid, by=STAFF, limit=200)
            assert [m.response_time for m in stored] == model.response_times()[:200]

    @invariant()
    def response_time_report_matches(self) -> None:
        report = self.market.response_times(
            "v-1", by=STAFF, since=START, until=START + dt.timedelta(days=365)
        )
        expected = {
            cid: model.first_response_time()
            for cid, model in zip(self.ids, self.models, strict=True)
            if any(side == "buyer" for side, _ in model.messages)
        }
        assert {r.conversation_id: r.response_time for r in report.conversations} == expected


class SqliteConversationMachine(ConversationMachine):
    def make_store(self) -> Store:
        return SqliteStore(":memory:")


TestConversationsInMemory = ConversationMachine.TestCase
TestConversationsInMemory.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestConversationsOnSqlite = SqliteConversationMachine.TestCase
TestConversationsOnSqlite.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None
)
