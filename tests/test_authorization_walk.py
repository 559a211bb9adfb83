"""Access fails closed (R1, R2): EVERY public Marketplace method that takes an actor is called
with every malformed actor (refused ``invalid_input``) and with actors the data does not
belong to (an unknown vendor, an unknown buyer: refused ``not_permitted`` or ``not_found``,
never served another party's data), on every store; each refusal leaves every row as it was.
A new public method without a row here fails ``test_every_public_method_with_an_actor_is_walked``.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
from moneyed import Money

from asolora_core import (
    Actor,
    ActorKind,
    AsoloraError,
    FakeClock,
    InMemoryStore,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    Resolution,
    ReturnKind,
    SequentialIds,
    SqliteStore,
)
from asolora_core.ports import Store
from conftest import START
from store_digest import digest

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")


class LooksLikeAnActor(NamedTuple):
    kind: ActorKind
    id: str


def _forged(kind: object) -> Actor:
    """An Actor whose validated fields were overwritten after construction."""
    actor = Actor.staff("forged")
    object.__setattr__(actor, "kind", kind)
    return actor


#: Everything that is not an Actor, or no longer a valid one.
MALFORMED: dict[str, object] = {
    "string": "staff:st-1",
    "none": None,
    "duck-typed staff": LooksLikeAnActor(ActorKind.STAFF, "st-1"),
    "dict": {"kind": "staff", "id": "st-1"},
    "forged kind 'staff'": _forged("staff"),
    "forged kind None": _forged(None),
}

#: Actors the world's data does not belong to.
FOREIGN: dict[str, Actor] = {
    "unknown vendor": Actor.vendor("v-nobody"),
    "unknown buyer": Actor.buyer("b-nobody"),
}


@attrs.frozen
class World:
    m: Marketplace
    store: Store
    oid: str
    cid: str
    line: str
    sid: str
    iid: str
    checkout: str


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    store: Store = InMemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "a.db")
    m = Marketplace(store, clock=FakeClock(START), ids=SequentialIds())
    m.register_vendor("v-1", payout_currency="EUR", by=STAFF)
    (order,) = m.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[Item(vendor_id="v-1", product_id="p", quantity=2, unit_price=Money("5", "EUR"))],
        paid=Money("10.00", "EUR"),
    )
    line = order.lines[0].line_id
    shipped = m.ship(order.order_id, by=VENDOR, items={line: 1}, carrier="DHL", tracking_number="1")
    m.mark_delivered(order.order_id, shipped.shipments[0].shipment_id, by=VENDOR)
    issue = m.report_issue(order.order_id, by=BUYER, kind=IssueKind.OTHER, description="late")
    m.offer_settlement(
        order.order_id,
        issue.issues[0].issue_id,
        by=VENDOR,
        resolution=Resolution.REFUND,
        amount=Money("1.00", "EUR"),
    )
    cid = m.start_conversation(by=BUYER, vendor_id="v-1", text="hi").conversation.conversation_id
    yield World(
        m,
        store,
        order.order_id,
        cid,
        line,
        shipped.shipments[0].shipment_id,
        issue.issues[0].issue_id,
        order.checkout_id,
    )
    store.close()


Call = Callable[[World, Any], object]
NP, NF, OK = "not_permitted", "not_found", "allowed"
AUTO = "completion_is_automatic"


class Row(NamedTuple):
    call: Call
    #: what an unknown vendor and an unknown buyer get
    vendor: str
    buyer: str


EUR1 = Money("1.00", "EUR")
T0, T1 = START, START + dt.timedelta(days=1)

# fmt: off
ROWS: dict[str, Row] = {
    "place_checkout": Row(lambda w, by: w.m.place_checkout(
        buyer=by, customer_name="X",
        items=[Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=EUR1)], paid=EUR1),
        NP, OK),  # any buyer may buy
    "ship": Row(lambda w, by: w.m.ship(
        w.oid, by=by, items={w.line: 1}, carrier="DHL", tracking_number="9"), NP, NP),
    "update_tracking": Row(lambda w, by: w.m.update_tracking(w.oid, w.sid, by=by, note="n"),
                           NP, NP),
    "mark_delivered": Row(lambda w, by: w.m.mark_delivered(w.oid, w.sid, by=by), NP, NP),
    "confirm_receipt": Row(lambda w, by: w.m.confirm_receipt(w.oid, w.sid, by=by), NP, NP),
    # R8: refused for everyone, owner or not
    "complete_order": Row(lambda w, by: w.m.complete_order(w.oid, by=by), AUTO, AUTO),
    "cancel_order": Row(lambda w, by: w.m.cancel_order(w.oid, by=by, reason="r"), NP, NP),
    "report_issue": Row(lambda w, by: w.m.report_issue(
        w.oid, by=by, kind=IssueKind.OTHER, description="x"), NP, NP),
    "respond_to_issue": Row(lambda w, by: w.m.respond_to_issue(w.oid, w.iid, by=by, message="m"),
                            NP, NP),
    "offer_settlement": Row(lambda w, by: w.m.offer_settlement(
        w.oid, w.iid, by=by, resolution=Resolution.NO_ACTION), NP, NP),
    "answer_settlement": Row(lambda w, by: w.m.answer_settlement(w.oid, w.iid, by=by, accept=True),
                             NP, NP),
    "withdraw_issue": Row(lambda w, by: w.m.withdraw_issue(w.oid, w.iid, by=by), NP, NP),
    "mediate_issue": Row(lambda w, by: w.m.mediate_issue(
        w.oid, w.iid, by=by, outcome=IssueOutcome.REJECTED, reason="r"), NP, NP),
    "refund": Row(lambda w, by: w.m.refund(w.oid, by=by, amount=EUR1), NP, NP),
    "get_order": Row(lambda w, by: w.m.get_order(w.oid, by=by), NP, NP),
    "order_history": Row(lambda w, by: w.m.order_history(w.oid, by=by), NP, NP),
    "orders_of_checkout": Row(lambda w, by: w.m.orders_of_checkout(w.checkout, by=by), NP, NP),
    "outbox": Row(lambda w, by: w.m.outbox(by=by), NP, NP),
    "release": Row(lambda w, by: w.m.release(w.oid, by=by), NP, NP),
    "freeze_release": Row(lambda w, by: w.m.freeze_release(w.oid, by=by), NP, NP),
    "lift_freeze": Row(lambda w, by: w.m.lift_freeze(w.oid, by=by), NP, NP),
    "report_chargeback": Row(lambda w, by: w.m.report_chargeback(w.oid, by=by, amount=EUR1),
                             NP, NP),
    "register_vendor": Row(lambda w, by: w.m.register_vendor(
        "v-1", payout_currency="GBP", by=by), NP, NP),
    "get_vendor": Row(lambda w, by: w.m.get_vendor("v-1", by=by), NP, NP),
    "pay_out": Row(lambda w, by: w.m.pay_out("v-1", by=by), NP, NP),
    "run_payouts": Row(lambda w, by: w.m.run_payouts(by=by), NP, NP),
    "balance": Row(lambda w, by: w.m.balance("v-1", by=by), NP, NP),
    "statement": Row(lambda w, by: w.m.statement("v-1", by=by), NP, NP),
    "get_hold": Row(lambda w, by: w.m.get_hold(w.oid, by=by), NP, NP),
    "holds": Row(lambda w, by: w.m.holds("v-1", by=by), NP, NP),
    "payouts": Row(lambda w, by: w.m.payouts("v-1", by=by), NP, NP),
    "journal": Row(lambda w, by: w.m.journal(by=by), NP, NP),
    "verify_journal": Row(lambda w, by: w.m.verify_journal(by=by), NP, NP),
    # a vendor names a customer of its own orders: an unknown vendor has none
    "start_conversation": Row(lambda w, by: w.m.start_conversation(by=by, **(
        {"customer_name": "Ada"} if isinstance(by, Actor) and by.kind is ActorKind.VENDOR
        else {"vendor_id": "v-1"})), NF, OK),  # any buyer may write to a vendor
    "post_message": Row(lambda w, by: w.m.post_message(w.cid, by=by, text="hello"), NP, NP),
    "mark_read": Row(lambda w, by: w.m.mark_read(w.cid, by=by), NP, NP),
    "get_conversation": Row(lambda w, by: w.m.get_conversation(w.cid, by=by), NP, NP),
    "messages": Row(lambda w, by: w.m.messages(w.cid, by=by), NP, NP),
    "conversation_history": Row(lambda w, by: w.m.conversation_history(w.cid, by=by), NP, NP),
    "conversations_for_vendor": Row(lambda w, by: w.m.conversations_for_vendor("v-1", by=by),
                                    NP, NP),
    "conversations_for_buyer": Row(lambda w, by: w.m.conversations_for_buyer("b-1", by=by),
                                   NP, NP),
    "response_times": Row(lambda w, by: w.m.response_times(
        "v-1", by=by, since=T0, until=T1), NP, NP),
    # order lists (R1): a vendor lists its own orders, a buyer its own; staff any
    "list_orders": Row(lambda w, by: w.m.list_orders(by=by, vendor_id="v-1"), NP, NP),
    "buyer_orders": Row(lambda w, by: w.m.buyer_orders(by=by, buyer_id="b-1"), NP, NP),
    "store_performance": Row(lambda w, by: w.m.store_performance(
        "v-1", by=by, since=T0, until=T1), NP, NP),
    # reports (R30-R33): the vendor itself or staff; rebuilding is staff's
    "sales_report": Row(lambda w, by: w.m.sales_report(
        "v-1", start=T0.date(), end=T1.date(), by=by), NP, NP),
    "earnings_report": Row(lambda w, by: w.m.earnings_report(
        "v-1", start=T0.date(), end=T1.date(), by=by), NP, NP),
    "bestsellers": Row(lambda w, by: w.m.bestsellers(
        "v-1", start=T0.date(), end=T1.date(), by=by), NP, NP),
    "verify_reports": Row(lambda w, by: w.m.verify_reports("v-1", by=by), NP, NP),
    "rebuild_reports": Row(lambda w, by: w.m.rebuild_reports("v-1", by=by), NP, NP),
    # ledger integrity (R42): staff or the system
    "publish_checkpoint": Row(lambda w, by: w.m.publish_checkpoint(by=by), NP, NP),
    "seal_ledger": Row(lambda w, by: w.m.seal_ledger(by=by), NP, NP),
    # staff powers, each with a reason: staff only
    "resolve_for_vendor": Row(lambda w, by: w.m.resolve_for_vendor(
        w.oid, w.iid, by=by, reason="carrier proof"), NP, NP),
    "cancel_after_shipping": Row(lambda w, by: w.m.cancel_after_shipping(
        w.oid, by=by, reason="fraud"), NP, NP),
    "chargeback_won": Row(lambda w, by: w.m.chargeback_won(w.oid, reference="cb-1", by=by),
                          NP, NP),
    "adjust_balance": Row(lambda w, by: w.m.adjust_balance(
        "v-1", amount=EUR1, reason="goodwill", by=by), NP, NP),
    "set_payout_terms": Row(lambda w, by: w.m.set_payout_terms(
        "v-1", by=by, reason="risk", reserve_bp=1000, reserve_days=30), NP, NP),
    # returns and exchanges (R37) on the order: only its own buyer and vendor
    "request_return": Row(lambda w, by: w.m.request_return(
        w.oid, by=by, kind=ReturnKind.RETURN, items={w.line: 1}, reason="too small"), NP, NP),
    "accept_return": Row(lambda w, by: w.m.accept_return(w.oid, "ret-1", by=by), NP, NP),
    "decline_return": Row(lambda w, by: w.m.decline_return(
        w.oid, "ret-1", by=by, reason="worn"), NP, NP),
    "ship_return": Row(lambda w, by: w.m.ship_return(
        w.oid, "ret-1", by=by, carrier="DHL", tracking_number="7"), NP, NP),
    "receive_return": Row(lambda w, by: w.m.receive_return(w.oid, "ret-1", by=by), NP, NP),
    "refund_return": Row(lambda w, by: w.m.refund_return(w.oid, "ret-1", by=by), NP, NP),
    "ship_exchange": Row(lambda w, by: w.m.ship_exchange(
        w.oid, "ret-1", by=by, carrier="DHL", tracking_number="8"), NP, NP),
}
# fmt: on


def _takes_an_actor(name: str) -> bool:
    params = inspect.signature(getattr(Marketplace, name)).parameters
    return "by" in params or "buyer" in params


def test_every_public_method_with_an_actor_is_walked() -> None:
    """R1: the walk covers every public method that takes an actor, and nothing else."""
    public = {n for n in dir(Marketplace) if not n.startswith("_")}
    with_actor = {n for n in public if callable(getattr(Marketplace, n)) and _takes_an_actor(n)}
    assert set(ROWS) == with_actor


#: run_payouts(by=None) is its documented default: the system runs them.
MALFORMED_CELLS = [(m, a) for m in ROWS for a in MALFORMED if (m, a) != ("run_payouts", "none")]


@pytest.mark.parametrize(("method", "actor"), MALFORMED_CELLS, ids=lambda v: str(v))
def test_r1_r2_every_method_refuses_a_malformed_actor(
    world: World, method: str, actor: str
) -> None:
    """R1, R2: anything that is not a valid Actor is refused with invalid_input (never an
    AttributeError, never another party's data), and nothing is written."""
    before = digest(world.store)
    with pytest.raises(AsoloraError) as info:
        ROWS[method].call(world, MALFORMED[actor])
    assert info.value.code == "invalid_input", repr(info.value)
    assert digest(world.store) == before


FOREIGN_CELLS = [(m, a) for m in ROWS for a in FOREIGN]


@pytest.mark.parametrize(("method", "actor"), FOREIGN_CELLS, ids=lambda v: str(v))
def test_r1_every_method_refuses_an_actor_the_data_does_not_belong_to(
    world: World, method: str, actor: str
) -> None:
    """R1: an unknown vendor or buyer is refused (not_permitted, or not_found where it names
    something of its own that does not exist), and nothing is written; only the cells the
    rules allow (a new buyer checks out or writes to a vendor) succeed."""
    row = ROWS[method]
    expected = row.vendor if actor == "unknown vendor" else row.buyer
    before = digest(world.store)
    if expected == OK:
        row.call(world, FOREIGN[actor])
        return
    with pytest.raises(AsoloraError) as info:
        row.call(world, FOREIGN[actor])
    assert info.value.code == expected, repr(info.value)
    assert digest(world.store) == before
