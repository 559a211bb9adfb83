"""Random command sequences by random actors against one order, through the facade on the
in-memory store (R1, R2, R4, R8, R9, R14, R20, R36, R42).

After every step: the status moved only along TRANSITIONS; a refused command changed nothing
(order, history, outbox); a successful one bumped the version by exactly one; the order is
completed exactly when the R9 condition holds; no issue was opened on confirmed items (R14);
refunds never exceed what was paid (R20).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    CompletionIsAutomaticError,
    DisputeWindowClosedError,
    FakeClock,
    InMemoryStore,
    IssueKind,
    IssueOutcome,
    IssueStatus,
    Item,
    Marketplace,
    NotPermittedError,
    Order,
    OrderStatus,
    Resolution,
    SequentialIds,
    ShipmentStatus,
)
from asolora_core.money import from_minor
from asolora_core.orders.transitions import TRANSITIONS, Action
from asolora_core.ports import Store
from pg_support import make_store as make_pg_store
from pg_support import postgres

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
OWNER_VENDOR = Actor.vendor("v-1")
OTHER_VENDOR = Actor.vendor("v-2")
OWNER_BUYER = Actor.buyer("b-1")
OTHER_BUYER = Actor.buyer("b-2")
STAFF = Actor.staff("st-1")
SYSTEM = Actor.system()
ACTORS = [OWNER_VENDOR, OTHER_VENDOR, OWNER_BUYER, OTHER_BUYER, STAFF, SYSTEM]
P, C, X = OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.CANCELLED
REPLACEMENTS = (IssueOutcome.SETTLED_REPLACEMENT, IssueOutcome.MEDIATED_REPLACEMENT)

actors = st.sampled_from(ACTORS)


def mostly(actor: Actor) -> st.SearchStrategy[Actor]:
    """The actor who may take the action about two times in three (so that the order moves),
    otherwise anyone (to probe R1)."""
    return st.sampled_from([actor] * 10 + ACTORS)


vendor_mostly, buyer_mostly = mostly(OWNER_VENDOR), mostly(OWNER_BUYER)
#: Which shipment or issue a command names; 7 stands for an unknown id.
picks = st.sampled_from([*range(7), *range(7), *range(7), 7])
#: Amounts in cents: mostly valid, some above what was paid (13.50), some negative.
cents = st.sampled_from([0, 0, 1, 50, 99, 250, 400, 1350, 2000, -5])
#: How much of a line a shipment takes: what is left, one unit, none, too many, negative.
takes = st.sampled_from(["rest", "rest", "one", "one", "none", "over", "negative"])


def cents_to_eur(minor: int) -> Money:
    return from_minor(minor, "EUR")


def quantity(take: str, left: int) -> int:
    return {"rest": left, "one": 1, "none": 0, "over": left + 1, "negative": -1}[take]


def completion_expected(order: Order) -> bool:
    """R9, computed from the raw fields: every shipment confirmed, every unit not cancelled
    shipped (replacements do not count), no issue open or owed a replacement shipment."""
    if not order.shipments:
        return False
    if any(s.status is not ShipmentStatus.CONFIRMED for s in order.shipments):
        return False
    for line in order.lines:
        shipped = sum(
            qty
            for s in order.shipments
            if s.replacement_for is None
            for line_id, qty in s.items
            if line_id == line.line_id
        )
        if shipped < line.quantity - line.cancelled:
            return False
    for issue in order.issues:
        if issue.status is IssueStatus.OPEN:
            return False
        replaced = any(s.replacement_for == issue.issue_id for s in order.shipments)
        if issue.outcome in REPLACEMENTS and not replaced:
            return False
    return True


def confirmed_lines(order: Order) -> set[str]:
    """R14: lines whose every unit to ship has shipped, in shipments all confirmed."""
    closed = set()
    for line in order.lines:
        holders = [s for s in order.shipments if line.line_id in dict(s.items)]
        shipped = sum(dict(s.items)[line.line_id] for s in holders if s.replacement_for is None)
        if (
            holders
            and shipped >= line.quantity - line.cancelled
            and all(s.status is ShipmentStatus.CONFIRMED for s in holders)
        ):
            closed.add(line.line_id)
    return closed


class OrderLifecycle(RuleBasedStateMachine):
    def make_store(self) -> Store:
        return InMemoryStore()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.store = self.make_store()
        self.market = Marketplace(self.store, clock=self.clock, ids=SequentialIds())
        (order,) = self.market.place_checkout(
            buyer=OWNER_BUYER,
            customer_name="Ada Buyer",
            items=[
                Item(
                    vendor_id="v-1", product_id="mug", quantity=3, unit_price=Money("2.00", "EUR")
                ),
                Item(
                    vendor_id="v-1", product_id="tea", quantity=2, unit_price=Money("3.50", "EUR")
                ),
            ],
            paid=Money("13.50", "EUR"),  # gross 14.00, a 0.50 discount
            shipping={"v-1": Money("1.00", "EUR")},
        )
        self.order_id = order.order_id
        self.lines = [ln.line_id for ln in order.lines]
        self.successes = 0
        self.tracking_serial = 0
        self.last_refusal: AsoloraError | None = None

    # --- helpers ---------------------------------------------------------------------------

    def current(self) -> Order:
        return self.market.get_order(self.order_id, by=STAFF)

    def _state(self) -> tuple[Order, int, int]:
        return (
            self.current(),
            len(self.market.order_history(self.order_id, by=STAFF)),
            len(self.market.outbox(by=STAFF)),
        )

    def shipment_id(self, pick: int, prefer: ShipmentStatus | None = None) -> str:
        """A shipment of the order, usually one in the ``prefer`` status; sometimes an
        unknown id."""
        shipments = self.current().shipments
        if pick == 7 or not shipments:
            return "s-missing"
        preferred = [s for s in shipments if s.status is prefer]
        pool = preferred if preferred and pick < 5 else shipments
        return pool[pick % len(pool)].shipment_id

    def issue_id(self, pick: int) -> str:
        """An issue of the order, usually an open one; sometimes an unknown id."""
        issues = self.current().issues
        if pick == 7 or not issues:
            return "i-missing"
        open_ones = [i for i in issues if i.status is IssueStatus.OPEN]
        pool = open_ones if open_ones and pick < 5 else issues
        return pool[pick % len(pool)].issue_id

    def run(self, action: Action, by: Actor, command: Callable[[], object]) -> bool:
        """Run one command; check what a refusal or a success must (and must not) change."""
        before, history_before, outbox_before = self._state()
        refusal: AsoloraError | None = None
        try:
            command()
        except AsoloraError as error:
            refusal = error
        if refusal is not None:
            self.last_refusal = refusal
            assert refusal.code  # R2: every refusal has a stable code
            after, history_after, outbox_after = self._state()
            assert after == before, f"refused {action} changed the order"
            assert (history_after, outbox_after) == (history_before, outbox_before)
            if action is Action.COMPLETE:
                assert isinstance(refusal, CompletionIsAutomaticError), "R8"
            elif by in (OTHER_VENDOR, OTHER_BUYER):
                assert isinstance(refusal, NotPermittedError), "R1: not its order"
            return False
        self.successes += 1
        after, history_after, _ = self._state()
        assert after.version == before.version + 1, "R36: one version per command"
        assert history_after > history_before, "R42: every change is in the history"
        assert by not in (OTHER_VENDOR, OTHER_BUYER), "R1: only owners act on an order"
        assert (before.status, action, by.kind) in TRANSITIONS
        if after.status is not before.status:
            via_table = TRANSITIONS[(before.status, action, by.kind)] is after.status
            automatic = (before.status, after.status) == (P, C)
            assert via_table or automatic, f"{before.status} -> {after.status} by {action}"
        if after.status is C and before.status is P:
            assert after.completed_at == self.clock.now(), "R9: completed_at is that moment"
        for old in before.shipments:
            new = after.shipment(old.shipment_id)
            assert new is not None
            if new.status is not old.status:
                assert TRANSITIONS.get((old.status, action, by.kind)) is new.status
        for old_issue in before.issues:
            new_issue = after.issue(old_issue.issue_id)
            assert new_issue is not None
            if old_issue.status is IssueStatus.CLOSED:
                assert new_issue == old_issue, "a closed issue never changes"
        return True

    # --- rules ------------------------------------------------------------------------------

    @rule(seconds=st.integers(min_value=0, max_value=3 * 86_400))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule(
        by=vendor_mostly,
        quantities=st.lists(takes, min_size=2, max_size=2),
        carrier=st.sampled_from(["DHL", "UPS", "DHL", "UPS", ""]),
        reuse_tracking=st.sampled_from([False, False, False, True]),
        replacement=st.sampled_from([False, False, False, True]),
        pick=picks,
    )
    def ship(
        self,
        by: Actor,
        quantities: list[str],
        carrier: str,
        reuse_tracking: bool,
        replacement: bool,
        pick: int,
    ) -> None:
        order = self.current()
        left = order.unshipped()
        items = {
            lid: quantity(take, left[lid])
            for lid, take in zip(self.lines, quantities, strict=True)
            if quantity(take, left[lid])
        }
        if reuse_tracking and order.shipments:
            number = order.shipments[pick % len(order.shipments)].tracking_number
        else:
            self.tracking_serial += 1
            number = f"T-{self.tracking_serial}"
        replacement_for = self.issue_id(pick) if replacement else None
        unshipped = order.unshipped()
        ok = self.run(
            Action.SHIP,
            by,
            lambda: self.market.ship(
                self.order_id,
                by=by,
                items=items,
                carrier=carrier,
                tracking_number=number,
                replacement_for=replacement_for,
            ),
        )
        if ok and replacement_for is None:
            assert all(0 < q <= unshipped[lid] for lid, q in items.items()), "R5: no over-ship"

    @rule(by=vendor_mostly)
    def ship_everything_left(self, by: Actor) -> None:
        self.tracking_serial += 1
        number = f"T-{self.tracking_serial}"
        items = {lid: q for lid, q in self.current().unshipped().items() if q > 0}
        self.run(
            Action.SHIP,
            by,
            lambda: self.market.ship(
                self.order_id, by=by, items=items, carrier="DHL", tracking_number=number
            ),
        )

    @rule(by=vendor_mostly, pick=picks, change=st.sampled_from(["note", "number", "carrier"]))
    def update_tracking(self, by: Actor, pick: int, change: str) -> None:
        self.tracking_serial += 1
        serial = self.tracking_serial
        sid = self.shipment_id(pick, ShipmentStatus.IN_TRANSIT)
        self.run(
            Action.UPDATE_TRACKING,
            by,
            lambda: self.market.update_tracking(
                self.order_id,
                sid,
                by=by,
                note=f"scan {serial}" if change == "note" else "",
                tracking_number=f"T-{serial}" if change == "number" else None,
                carrier=f"C{serial}" if change == "carrier" else None,
            ),
        )

    @rule(by=vendor_mostly, pick=picks)
    def mark_delivered(self, by: Actor, pick: int) -> None:
        sid = self.shipment_id(pick, ShipmentStatus.IN_TRANSIT)
        self.run(
            Action.MARK_DELIVERED, by, lambda: self.market.mark_delivered(self.order_id, sid, by=by)
        )

    @rule(by=buyer_mostly, pick=picks)
    def confirm_receipt(self, by: Actor, pick: int) -> None:
        sid = self.shipment_id(pick, ShipmentStatus.DELIVERED)
        before = self.current()
        ok = self.run(
            Action.CONFIRM_RECEIPT,
            by,
            lambda: self.market.confirm_receipt(self.order_id, sid, by=by),
        )
        if ok:
            shipment = before.shipment(sid)
            assert shipment is not None
            assert shipment.status is ShipmentStatus.DELIVERED
            lines = {lid for lid, _ in shipment.items}
            assert not any(
                i.status is IssueStatus.OPEN and (not i.line_ids or lines & set(i.line_ids))
                for i in before.issues
            ), "R14: an open issue on its items blocks confirmation"

    @precondition(lambda self: sum(1 for _ in self.current().open_issues()) < 2)
    @rule(
        by=buyer_mostly,
        kind=st.sampled_from(list(IssueKind)),
        which=st.sampled_from(["whole", "first", "second", "both"]),
    )
    def report_issue(self, by: Actor, kind: IssueKind, which: str) -> None:
        chosen = {
            "whole": [],
            "first": self.lines[:1],
            "second": self.lines[1:],
            "both": self.lines,
        }[which]
        before = self.current()
        closed = confirmed_lines(before)
        try_it = lambda: self.market.report_issue(  # noqa: E731
            self.order_id, by=by, kind=kind, description="problem", line_ids=chosen
        )
        ok = self.run(Action.REPORT_ISSUE, by, try_it)
        if ok:
            affected = set(chosen) if chosen else set(self.lines)
            assert before.status is P, "R14: nothing is reported on a completed order"
            if chosen:
                assert not affected & closed, "R14: no issue on confirmed items"
            else:
                assert affected - closed, "R14: a whole-order issue needs unconfirmed items"
        elif by == OWNER_BUYER and before.status is P and chosen and set(chosen) <= closed:
            assert isinstance(self.last_refusal, DisputeWindowClosedError), "R14"

    @rule(by=vendor_mostly, pick=picks)
    def respond(self, by: Actor, pick: int) -> None:
        iid = self.issue_id(pick)
        before = self.current()
        ok = self.run(
            Action.RESPOND_TO_ISSUE,
            by,
            lambda: self.market.respond_to_issue(self.order_id, iid, by=by, message="on it"),
        )
        if ok:
            old, new = before.issue(iid), self.current().issue(iid)
            assert old is not None
            assert new is not None
            expected = old.first_response_at or self.clock.now()
            assert new.first_response_at == expected, "R12: the first response time stays"

    @rule(
        by=vendor_mostly,
        pick=picks,
        resolution=st.sampled_from(list(Resolution)),
        amount=cents,
    )
    def offer(self, by: Actor, pick: int, resolution: Resolution, amount: int) -> None:
        iid = self.issue_id(pick)
        money = None if amount == 0 else cents_to_eur(amount)
        self.run(
            Action.OFFER_SETTLEMENT,
            by,
            lambda: self.market.offer_settlement(
                self.order_id, iid, by=by, resolution=resolution, amount=money
            ),
        )

    @rule(by=buyer_mostly, pick=picks, accept=st.booleans())
    def answer(self, by: Actor, pick: int, accept: bool) -> None:
        iid = self.issue_id(pick)
        self.run(
            Action.ANSWER_SETTLEMENT,
            by,
            lambda: self.market.answer_settlement(self.order_id, iid, by=by, accept=accept),
        )

    @rule(by=buyer_mostly, pick=picks)
    def withdraw(self, by: Actor, pick: int) -> None:
        iid = self.issue_id(pick)
        self.run(
            Action.WITHDRAW_ISSUE,
            by,
            lambda: self.market.withdraw_issue(self.order_id, iid, by=by),
        )

    @rule(
        by=mostly(STAFF),
        pick=picks,
        outcome=st.sampled_from(list(IssueOutcome)),
        amount=cents,
    )
    def mediate(self, by: Actor, pick: int, outcome: IssueOutcome, amount: int) -> None:
        iid = self.issue_id(pick)
        refund = None if amount == 0 else cents_to_eur(amount)
        self.run(
            Action.MEDIATE_ISSUE,
            by,
            lambda: self.market.mediate_issue(
                self.order_id, iid, by=by, outcome=outcome, refund=refund
            ),
        )

    @rule(
        by=vendor_mostly,
        amount=cents,
        quantities=st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=2),
        shipping=st.integers(min_value=0, max_value=150),
    )
    def refund(self, by: Actor, amount: int, quantities: list[int], shipping: int) -> None:
        items = {lid: q for lid, q in zip(self.lines, quantities, strict=True) if q}
        self.run(
            Action.REFUND,
            by,
            lambda: self.market.refund(
                self.order_id,
                by=by,
                amount=None if amount == 0 else cents_to_eur(amount),
                items=items or None,
                shipping=cents_to_eur(shipping) if shipping else None,
            ),
        )

    @precondition(lambda self: self.successes % 5 == 4)  # cancel rarely, or nothing else runs
    @rule(by=st.sampled_from([OWNER_VENDOR, OWNER_BUYER] * 3 + ACTORS))
    def cancel(self, by: Actor) -> None:
        before = self.current()
        ok = self.run(Action.CANCEL, by, lambda: self.market.cancel_order(self.order_id, by=by))
        if ok:
            after = self.current()
            assert not before.shipments, "R11: only before anything ships"
            assert after.refunded_minor == after.paid_minor, "R11: full refund"

    @rule(by=actors)
    def complete_order(self, by: Actor) -> None:
        assert not self.run(
            Action.COMPLETE, by, lambda: self.market.complete_order(self.order_id, by=by)
        ), "R8: never by hand"

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def completed_exactly_when_r9_holds(self) -> None:
        order = self.current()
        if order.status is not X:
            assert (order.status is C) == completion_expected(order), "R9"
        assert (order.completed_at is not None) == (order.status is C)

    @invariant()
    def refunds_never_exceed_paid(self) -> None:
        order = self.current()
        assert all(r.amount_minor > 0 for r in order.refunds)
        assert 0 <= order.refunded_minor <= order.paid_minor == 1350, "R20"

    @invariant()
    def version_counts_successes(self) -> None:
        assert self.current().version == 1 + self.successes, "R36"

    @invariant()
    def no_open_issue_on_a_closed_order(self) -> None:
        order = self.current()
        if order.status is C:
            assert not any(i.status is IssueStatus.OPEN for i in order.issues), "R14"


OrderLifecycle.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderLifecycle = OrderLifecycle.TestCase


class PostgresOrderLifecycle(OrderLifecycle):
    """R33: the same machine on PostgreSQL (a fresh schema per example)."""

    def make_store(self) -> Store:
        store: Store = make_pg_store()
        return store

    def teardown(self) -> None:
        self.store.close()


PostgresOrderLifecycle.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPostgresOrderLifecycle = postgres(PostgresOrderLifecycle.TestCase)
