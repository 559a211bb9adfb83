"""Random command sequences by random actors against one order, through the facade on the
in-memory store (R1, R2, R4, R8, R9, R14, R20, R36, R37, R40, R42).

The machine also drives the staff powers (with and without their mandatory reason), returns
and exchanges (R37), and the R40 timers through ``run_due``. At the end of every run the
buyer goes silent: the vendor only marks its parcels delivered and ships owed replacements,
staff only resolve escalated issues, and the clock runs past every configured timer; the
order must then be completed or cancelled (every order reaches an ending).

After every step: the status moved only along TRANSITIONS; a refused command changed nothing
(order, history, outbox); a successful one bumped the version by exactly one; the order is
completed exactly when the R9 condition holds; no issue was opened on confirmed items (R14);
refunds never exceed what was paid (R20).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moneyed import Money

from asolora_core import (
    Actor,
    ActorKind,
    AsoloraError,
    CompletionIsAutomaticError,
    DisputeWindowClosedError,
    FakeClock,
    InMemoryStore,
    InvalidInputError,
    InvalidMoneyError,
    IssueKind,
    IssueOutcome,
    IssueStatus,
    Item,
    Marketplace,
    MarketplaceConfig,
    NotPermittedError,
    Order,
    OrderStatus,
    ReasonRequiredError,
    Resolution,
    ReturnKind,
    ReturnNotAllowedError,
    ReturnPolicy,
    ReturnStatus,
    SequentialIds,
    ShipmentStatus,
)
from asolora_core.money import from_minor
from asolora_core.orders.transitions import TRANSITIONS, Action
from asolora_core.ports import Store
from pg_support import make_store as make_pg_store
from pg_support import postgres

STAFF_POWERS = {
    Action.MARK_DELIVERED,
    Action.CONFIRM_RECEIPT,
    Action.REFUND,
    Action.RESOLVE_FOR_VENDOR,
    Action.CANCEL_AFTER_SHIPPING,
}

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
DAY = dt.timedelta(days=1)
#: R40: every timer on, short enough for a run to cross them.
CONFIG = MarketplaceConfig(
    remind_vendor_to_ship_after=2 * DAY,
    cancel_unshipped_after=5 * DAY,
    auto_confirm_after=4 * DAY,
    remind_buyer_to_confirm_after=2 * DAY,
    escalate_issue_after=3 * DAY,
    expire_return_after=3 * DAY,
)
#: The longest configured timer: after it, everything the timers can do is done.
HORIZON = 5 * DAY
MUG_POLICY = ReturnPolicy(returns_accepted=True, window_days=10, restocking_fee_bp=1000)
TEA_POLICY = ReturnPolicy(exchanges_accepted=True, window_days=5, condition="unopened")
reasons = st.sampled_from(["carrier proof", "buyer called", "", ""])

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
        self.market = Marketplace(self.store, clock=self.clock, ids=SequentialIds(), config=CONFIG)
        (order,) = self.market.place_checkout(
            buyer=OWNER_BUYER,
            customer_name="Ada Buyer",
            items=[
                Item(
                    vendor_id="v-1",
                    product_id="mug",
                    quantity=3,
                    unit_price=Money("2.00", "EUR"),
                    policy=MUG_POLICY,
                ),
                Item(
                    vendor_id="v-1",
                    product_id="tea",
                    quantity=2,
                    unit_price=Money("3.50", "EUR"),
                    policy=TEA_POLICY,
                ),
            ],
            paid=Money("13.50", "EUR"),  # gross 14.00, a 0.50 discount
            shipping={"v-1": Money("1.00", "EUR")},
        )
        self.order_id = order.order_id
        self.lines = [ln.line_id for ln in order.lines]
        self.successes = 0  #: versions added by commands and by timers
        self.tracking_serial = 0
        self.last_refusal: AsoloraError | None = None
        self.last_reason = ""

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
                # R1, R2: not its order; a malformed argument (a negative quantity) is refused
                # as such before the order is read, whoever sends it.
                malformed = type(refusal) in (InvalidInputError, InvalidMoneyError)
                assert isinstance(refusal, NotPermittedError) or malformed, "R1: not its order"
            return False
        after, history_after, _ = self._state()
        if after == before:
            # R10: a buyer confirming what the system already auto-confirmed gets the order
            # back; nothing changes
            assert action is Action.CONFIRM_RECEIPT, f"{action} succeeded and changed nothing"
            assert by.kind is ActorKind.BUYER
            assert any(s.confirmed_automatically for s in after.shipments)
            assert history_after == history_before
            return False
        if by.kind is ActorKind.STAFF and action in STAFF_POWERS:
            assert self.last_reason, "a staff power is refused without a reason"
        self.successes += 1
        assert after.version == before.version + 1, "R36: one version per command"
        assert history_after > history_before, "R42: every change is in the history"
        assert by not in (OTHER_VENDOR, OTHER_BUYER), "R1: only owners act on an order"
        assert (before.status, action, by.kind) in TRANSITIONS
        if after.status is not before.status:
            via_table = TRANSITIONS[(before.status, action, by.kind)] is after.status
            automatic = (before.status, after.status) == (P, C) or (
                (before.status, after.status) == (P, X)
                and after.refundable_minor == 0
                and TRANSITIONS[(P, Action.CLOSE_REFUNDED, ActorKind.SYSTEM)] is X
            )
            assert via_table or automatic, f"{before.status} -> {after.status} by {action}"
        if after.status is C and before.status is P:
            assert after.completed_at == self.clock.now(), "R9: completed_at is that moment"
        for old in before.shipments:
            new = after.shipment(old.shipment_id)
            assert new is not None
            if new.status is not old.status and action is Action.RESOLVE_FOR_VENDOR:
                assert new.status is ShipmentStatus.CONFIRMED  # delivered, then confirmed
            elif new.status is not old.status:
                assert TRANSITIONS.get((old.status, action, by.kind)) is new.status
        for old_issue in before.issues:
            new_issue = after.issue(old_issue.issue_id)
            assert new_issue is not None
            if old_issue.status is IssueStatus.CLOSED:
                # R13: a closed issue never changes, except that the replacement a
                # REPLACEMENT outcome decided is marked shipped once (never un-shipped)
                shipped_now = old_issue.replacement_shipped or new_issue.replacement_shipped
                assert new_issue == attrs.evolve(old_issue, replacement_shipped=shipped_now), (
                    "a closed issue never changes"
                )
                assert new_issue.replacement_shipped >= old_issue.replacement_shipped
        for old_return in before.returns:
            new_return = after.return_request(old_return.return_id)
            assert new_return is not None
            if new_return.status is not old_return.status:
                assert TRANSITIONS.get((old_return.status, action, by.kind)) is new_return.status
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
                self.order_id, iid, by=by, outcome=outcome, refund=refund, reason="r"
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
        ok = self.run(
            Action.CANCEL, by, lambda: self.market.cancel_order(self.order_id, by=by, reason="r")
        )
        if ok:
            after = self.current()
            assert not before.shipments, "R11: only before anything ships"
            assert after.refunded_minor == after.paid_minor, "R11: full refund"

    @rule(by=actors)
    def complete_order(self, by: Actor) -> None:
        assert not self.run(
            Action.COMPLETE, by, lambda: self.market.complete_order(self.order_id, by=by)
        ), "R8: never by hand"

    @rule(by=buyer_mostly, ship_rest=st.booleans())
    def deliver_and_confirm_everything(self, by: Actor, ship_rest: bool) -> None:
        """The happy path in one go, so that runs reach confirmed lines (and returns)."""
        if ship_rest:
            self.ship_everything_left(OWNER_VENDOR)
        for shipment in self.current().shipments:
            if shipment.status is ShipmentStatus.IN_TRANSIT:
                sid = shipment.shipment_id
                self.run(
                    Action.MARK_DELIVERED,
                    OWNER_VENDOR,
                    lambda sid=sid: self.market.mark_delivered(  # type: ignore[misc]
                        self.order_id, sid, by=OWNER_VENDOR
                    ),
                )
        for shipment in self.current().shipments:
            if shipment.status is ShipmentStatus.DELIVERED:
                sid = shipment.shipment_id
                self.run(
                    Action.CONFIRM_RECEIPT,
                    by,
                    lambda sid=sid: self.market.confirm_receipt(  # type: ignore[misc]
                        self.order_id, sid, by=by
                    ),
                )

    # --- staff powers (each with a mandatory reason) ----------------------------------------

    @rule(by=mostly(STAFF), pick=picks, reason=reasons)
    def staff_mark_delivered(self, by: Actor, pick: int, reason: str) -> None:
        sid = self.shipment_id(pick, ShipmentStatus.IN_TRANSIT)
        self.last_reason = reason
        ok = self.run(
            Action.MARK_DELIVERED,
            by,
            lambda: self.market.mark_delivered(self.order_id, sid, by=by, reason=reason),
        )
        if by == STAFF and not reason:
            assert not ok
            if self.current().status is P and sid != "s-missing":
                assert isinstance(self.last_refusal, ReasonRequiredError) or (
                    self.last_refusal is not None and self.last_refusal.code == "invalid_transition"
                )

    @rule(by=mostly(STAFF), pick=picks, reason=reasons)
    def staff_confirm(self, by: Actor, pick: int, reason: str) -> None:
        sid = self.shipment_id(pick, ShipmentStatus.DELIVERED)
        self.last_reason = reason
        self.run(
            Action.CONFIRM_RECEIPT,
            by,
            lambda: self.market.confirm_receipt(self.order_id, sid, by=by, reason=reason),
        )

    @rule(by=mostly(STAFF), pick=picks, reason=reasons)
    def resolve_for_vendor(self, by: Actor, pick: int, reason: str) -> None:
        iid = self.issue_id(pick)
        self.last_reason = reason
        self.run(
            Action.RESOLVE_FOR_VENDOR,
            by,
            lambda: self.market.resolve_for_vendor(self.order_id, iid, by=by, reason=reason),
        )

    @rule(by=mostly(STAFF), amount=cents, reason=reasons)
    def staff_refund(self, by: Actor, amount: int, reason: str) -> None:
        self.last_reason = reason
        self.run(
            Action.REFUND,
            by,
            lambda: self.market.refund(
                self.order_id,
                by=by,
                amount=None if amount == 0 else cents_to_eur(amount),
                reason=reason,
            ),
        )

    @precondition(lambda self: self.successes % 7 == 6)  # rarely, or nothing else runs
    @rule(by=mostly(STAFF), reason=reasons)
    def cancel_after_shipping(self, by: Actor, reason: str) -> None:
        before = self.current()
        self.last_reason = reason
        ok = self.run(
            Action.CANCEL_AFTER_SHIPPING,
            by,
            lambda: self.market.cancel_after_shipping(self.order_id, by=by, reason=reason),
        )
        if ok:
            after = self.current()
            assert before.shipments, "only after something shipped"
            assert after.refunded_minor == after.paid_minor, "everything refunded"

    # --- R37 returns and exchanges ----------------------------------------------------------

    def return_id(self, pick: int) -> str:
        requests = self.current().returns
        if pick == 7 or not requests:
            return "ret-missing"
        return requests[pick % len(requests)].return_id

    @precondition(
        lambda self: any(s.status is ShipmentStatus.CONFIRMED for s in self.current().shipments)
    )
    @rule(
        by=buyer_mostly,
        kind_line=st.sampled_from(
            [(ReturnKind.RETURN, 0)] * 2
            + [(ReturnKind.EXCHANGE, 1)] * 2
            + [(ReturnKind.RETURN, 1), (ReturnKind.EXCHANGE, 0)]
        ),
        units=st.sampled_from([1, 1, 2, 4]),
    )
    def request_return(self, by: Actor, kind_line: tuple[ReturnKind, int], units: int) -> None:
        kind, line = kind_line
        before = self.current()
        lid = self.lines[line]
        ok = self.run(
            Action.REQUEST_RETURN,
            by,
            lambda: self.market.request_return(
                self.order_id,
                by=by,
                kind=kind,
                items={lid: units},
                reason="changed my mind",
                condition="unopened",
            ),
        )
        if ok:
            confirmed, last = before.confirmed_quantity(lid)
            policy = before.line(lid).policy  # type: ignore[union-attr]
            accepted = (
                policy.returns_accepted
                if kind is ReturnKind.RETURN
                else (policy.exchanges_accepted)
            )
            assert accepted, "R37: only what the line's policy accepts"
            assert last is not None
            assert self.clock.now() <= last + dt.timedelta(days=policy.window_days), "R37"
            assert units <= confirmed, "R37: never more units than delivered"
        elif by == OWNER_BUYER and before.status is not X and kind is ReturnKind.RETURN and line:
            assert isinstance(self.last_refusal, ReturnNotAllowedError), "R19: tea: no returns"

    @precondition(lambda self: bool(self.current().returns))
    @rule(
        vendor=vendor_mostly,
        buyer=buyer_mostly,
        pick=picks,
        step=st.sampled_from(["accept", "accept", "decline", "ship", "receive", "settle"]),
    )
    def return_step(self, vendor: Actor, buyer: Actor, pick: int, step: str) -> None:
        """R37: one step of a return request: the vendor answers, the buyer ships it back,
        the vendor receives it, then refunds it (a return) or ships the exchange."""
        rid = self.return_id(pick)
        oid, market = self.order_id, self.market
        request = self.current().return_request(rid)
        exchange = request is not None and request.kind is ReturnKind.EXCHANGE
        steps: dict[str, tuple[Action, Actor, Callable[[], object]]] = {
            "accept": (
                Action.ACCEPT_RETURN,
                vendor,
                lambda: market.accept_return(oid, rid, by=vendor),
            ),
            "decline": (
                Action.DECLINE_RETURN,
                vendor,
                lambda: market.decline_return(oid, rid, by=vendor, reason="worn"),
            ),
            "ship": (
                Action.SHIP_RETURN,
                buyer,
                lambda: market.ship_return(
                    oid, rid, by=buyer, carrier="DHL", tracking_number="RET-1"
                ),
            ),
            "receive": (
                Action.RECEIVE_RETURN,
                vendor,
                lambda: market.receive_return(oid, rid, by=vendor),
            ),
            "settle": (
                (
                    Action.SHIP_EXCHANGE,
                    vendor,
                    lambda: market.ship_exchange(
                        oid, rid, by=vendor, carrier="UPS", tracking_number="EX-1"
                    ),
                )
                if exchange
                else (
                    Action.REFUND_RETURN,
                    vendor,
                    lambda: market.refund_return(oid, rid, by=vendor),
                )
            ),
        }
        action, by, command = steps[step]
        before = self.current()
        if self.run(action, by, command) and action is Action.REFUND_RETURN:
            after = self.current()
            done = after.return_request(rid)
            assert done is not None
            paid = {ln.line_id: ln.paid_minor for ln in before.lines}
            share = sum(paid[lid] for lid, _ in done.items)
            assert done.refund_minor + done.restocking_fee_minor <= share, "R37: the share"

    # --- R40 timers ----------------------------------------------------------------------------

    @rule(days=st.sampled_from([0, 0, 1, 1, 2, 3, 6]))
    def sweep(self, days: int) -> None:
        """R40: the clock moves and the timers run; whatever they change follows the table."""
        self.clock.advance(days=days)
        before = self.current()
        self.market.run_due()
        after = self.current()
        self.successes += after.version - before.version
        if after.status is not before.status:
            assert (before.status, after.status) in {(P, C), (P, X)}, "R40: only endings"
        if after.status is X and before.status is P and not before.shipments:
            assert after.refunded_minor == after.paid_minor, "R11, R40: full refund"

    def teardown(self) -> None:
        """R40: the buyer goes silent. The vendor only marks its parcels delivered and ships
        replacements it owes, staff only resolve escalated issues; past the timers every
        order is completed or cancelled."""
        market, vendor = self.market, OWNER_VENDOR
        for _ in range(8):
            order = self.current()
            if order.status is not P:
                break
            for issue in order.issues:
                if issue.awaits_replacement:
                    lines = issue.line_ids or (self.lines[0],)
                    self.tracking_serial += 1
                    market.ship(
                        self.order_id,
                        by=vendor,
                        items=dict.fromkeys(lines, 1),
                        carrier="DHL",
                        tracking_number=f"T-{self.tracking_serial}",
                        replacement_for=issue.issue_id,
                    )
            for shipment in self.current().shipments:
                if shipment.status is ShipmentStatus.IN_TRANSIT:
                    market.mark_delivered(self.order_id, shipment.shipment_id, by=vendor)
            self.clock.advance(days=HORIZON.days + 1)
            market.run_due()
            for issue in self.current().open_issues():
                if issue.escalated_at is not None and self.current().status is P:
                    market.resolve_for_vendor(
                        self.order_id, issue.issue_id, by=STAFF, reason="no reply from buyer"
                    )
            market.run_due()
        self.clock.advance(days=HORIZON.days + 1)
        market.run_due()
        order = self.current()
        assert order.status in (C, X), f"R40: no ending: {order}"
        if order.status is C:
            assert completion_expected(order), "R9"
        for request in order.returns:
            if request.status is ReturnStatus.REQUESTED:
                raise AssertionError("R40: an unanswered return request expires")

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
    def returns_never_exceed_confirmed_units(self) -> None:
        """R37: units in returns never exceed the confirmed units of their line."""
        order = self.current()
        for line in order.lines:
            confirmed, _ = order.confirmed_quantity(line.line_id)
            assert order.returned_quantity(line.line_id) <= confirmed, "R37"

    @invariant()
    def no_open_issue_on_a_closed_order(self) -> None:
        order = self.current()
        if order.status is C:
            assert not any(i.status is IssueStatus.OPEN for i in order.issues), "R14"


OrderLifecycle.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=60,
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
