"""An adversarial audit of the public API on every store (R1, R2, R25, R33, R35).

Hypotheses a hostile caller tests, each on the in-memory store, SQLite and PostgreSQL:

1. Every argument of every facade command refuses hostile values (wrong types, bools where
   numbers go, amounts beyond ``MAX_AMOUNT_MINOR``, NaN and infinities, over-precise money,
   unknown currencies, naive datetimes, NUL, lone surrogates, control characters, bidi
   overrides, megabyte strings, objects of no known type) with an ``AsoloraError`` of the
   right code, never a ``TypeError``/``OverflowError``/driver error, and changes nothing:
   every row of the store, and what the public reads show (the order, its history, the
   outbox, the journal and its verification, the balance, the conversation), is the same
   before and after.
2. Nobody acts outside their scope: another vendor or buyer, a buyer doing a vendor's or
   staff's work, a vendor doing a buyer's or staff's work, staff without a reason.
3. Idempotency keys cannot be abused: another argument, another command or another
   actor with the same key never gets the first result, and hostile keys are refused.

Defects this audit found (each has a test below): ``from_minor`` built amounts beyond the
maximum any command takes; ``mediate_issue`` raised ``TypeError`` for an unhashable or
signalling-NaN outcome; an argument of a type no command takes raised ``TypeError`` when an
idempotency key was given; ``adjust_balance`` booked money to a vendor the store knew
nothing of (which ``run_payouts`` then paid out); ``messages(after=2**70)`` raised
``OverflowError`` on SQLite; ``adjust_balance`` with an idempotency key raised
``TypeError`` on SQLite and PostgreSQL (its result could not be kept with the key); control
characters and bidi overrides were kept in ids, keys, names and texts.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

import test_hostile_input
from asolora_core import (
    MAX_AMOUNT_MINOR,
    MAX_ID_LENGTH,
    MAX_KEY_LENGTH,
    Actor,
    AsoloraError,
    IssueKind,
    IssueOutcome,
    Item,
    Marketplace,
    Resolution,
    from_minor,
    to_minor,
)
from asolora_core.limits import check_plain
from conftest import START
from store_digest import digest
from test_hostile_input import World

VENDOR = Actor.vendor("v-1")
BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("st-1")
OTHER_VENDOR = Actor.vendor("v-2")
OTHER_BUYER = Actor.buyer("b-2")
#: the world of test_hostile_input on every store: a placed order (2 x 10.00 EUR) of v-1 for
#: b-1 with one shipment in transit, one open issue, and a conversation
world = test_hostile_input.world

#: every refusal below is judged on unchanged state, so one world serves every example
AUDIT = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def observed(w: World) -> tuple[object, ...]:
    """What the public API shows of the world, read as staff: the order, its history, the
    outbox, the journal, whether it verifies, the balance and holds, the conversation."""
    return (
        w.m.get_order(w.oid, by=STAFF),
        w.m.order_history(w.oid, by=STAFF),
        w.m.outbox(by=STAFF),
        w.m.journal(by=STAFF),
        w.m.verify_journal(by=STAFF).ok,
        w.m.balance("v-1", by=STAFF),
        w.m.holds("v-1", by=STAFF),
        w.m.get_conversation(w.cid, by=STAFF),
        w.m.messages(w.cid, by=STAFF),
    )


def refused(
    w: World, call: Callable[[], object], before: tuple[str, tuple[object, ...]] | None = None
) -> AsoloraError:
    """Run ``call``, which must be refused inside the error family, and check that nothing
    changed: every row of the store and every public read (``before``: the two, when the
    caller already has them)."""
    rows, shown = before or (digest(w.store), observed(w))
    with pytest.raises(AsoloraError) as info:
        call()
    error = info.value
    assert error.code, repr(error)
    assert str(error), repr(error)
    assert digest(w.store) == rows, f"{error.code}: a refusal changed the store"
    assert observed(w) == shown, f"{error.code}: a refusal changed what the API shows"
    return error


def unchanged(w: World) -> tuple[str, tuple[object, ...]]:
    """The rows and public reads of a world that only refusals touch, read once per world
    (each example checks it is still so)."""
    kept: tuple[str, tuple[object, ...]] | None = getattr(w.store, "audit_baseline", None)
    if kept is None:
        kept = (digest(w.store), observed(w))
        w.store.audit_baseline = kept  # type: ignore[attr-defined]
    return kept


# --- 1. hostile values in every argument -----------------------------------------------------

MEGA = "x" * 1_000_000


class Weird:
    """An object of a type no command takes."""


#: values no id, key or name takes (the kinds of argument below add their own)
_NOT_TEXT: list[Any] = [None, True, 7, 1.5, b"v-1", [], {}, Weird()]
_BAD_IDS = [
    *_NOT_TEXT,
    "",
    "   ",
    "a\x00b",
    "a\ud800b",
    "a\u202eb",
    "a\x1b[31mb",
    "a\nb",
    "a\tb",
    "\x7f",
    "\x85",
    "x" * (MAX_ID_LENGTH + 1),
    MEGA,
]
_BAD_NAMES = [True, 7, 1.5, b"DHL", Weird(), "a\x00", "a\ud800", "a\u202e", "\x07", "a\nb", MEGA]
_BAD_TEXTS = [True, 7, b"text", Weird(), "a\x00b", "a\ud800b", "a\x1b[2Jb", "a\x08b", MEGA]
_BAD_KEYS = [
    True,
    7,
    b"k",
    Weird(),
    "",
    " ",
    "k\x00",
    "k\ud800",
    "k\u202e",
    "k\n",
    "k" * (MAX_KEY_LENGTH + 1),
    MEGA,
]
_BAD_ACTORS = [None, "staff:st-1", ("staff", "st-1"), Weird(), Actor.vendor("v-1\x1b[0m")]
_BAD_MONEY = [
    None,
    1,
    1.5,
    "1.00",
    True,
    Decimal("1.00"),
    Weird(),
    Money(Decimal("NaN"), "EUR"),
    Money(Decimal("sNaN"), "EUR"),
    Money(Decimal("Infinity"), "EUR"),
    Money(Decimal("-Infinity"), "EUR"),
    eur("1.001"),
    Money(1.0000001, "EUR"),
    Money(Decimal(2**70), "EUR"),
    Money(Decimal(MAX_AMOUNT_MINOR + 1).scaleb(-2), "EUR"),
    Money(Decimal("1e-100000000"), "EUR"),
    Money("1.5", "JPY"),
    Money("1.00", "USD"),
]
#: an amount that must be positive (a refund, a chargeback) also refuses these
_BAD_POSITIVE = [*_BAD_MONEY, eur("0.00"), eur("-1.00"), Money(Decimal("-0"), "EUR")]
_BAD_ENUMS: list[Any] = [None, "other", "OTHER", 1, [], {}, Decimal("sNaN"), Weird(), START]
_BAD_QUANTITIES = [0, -1, True, 1.0, Decimal(1), "1", None, 2**70, 10**5000]
_BAD_INSTANTS = [
    START.replace(tzinfo=None),
    "2026-03-09T12:00:00+00:00",
    START.date(),
    1.5,
    dt.datetime.max.replace(tzinfo=dt.UTC),
]

#: codes a refusal of each kind of argument may have: judged on the argument, whatever the
#: state of the order
KINDS: dict[str, tuple[list[Any], frozenset[str]]] = {
    "id": (_BAD_IDS, frozenset({"invalid_input"})),
    "name": (_BAD_NAMES, frozenset({"invalid_input"})),
    "text": (_BAD_TEXTS, frozenset({"invalid_input"})),
    # a staff reason is mandatory: what is no text at all is no reason
    "reason": (_BAD_TEXTS, frozenset({"invalid_input", "reason_required"})),
    "key": (_BAD_KEYS, frozenset({"invalid_input"})),
    "actor": (_BAD_ACTORS, frozenset({"invalid_input"})),
    "money": (_BAD_MONEY, frozenset({"invalid_money", "unknown_currency", "currency_mismatch"})),
    "positive": (
        _BAD_POSITIVE,
        frozenset({"invalid_money", "unknown_currency", "currency_mismatch"}),
    ),
    "enum": (_BAD_ENUMS, frozenset({"invalid_input"})),
    "instant": (_BAD_INSTANTS, frozenset({"invalid_input", "naive_datetime"})),
}


class Command(NamedTuple):
    """A facade command, a call of it that the world accepts, and the kind of each argument."""

    call: Callable[[World, dict[str, Any]], object]
    kinds: dict[str, str]


def _checkout(w: World, k: dict[str, Any]) -> object:
    item = Item(vendor_id="v-1", product_id="p", quantity=1, unit_price=eur("4.00"))
    return w.m.place_checkout(
        **{"buyer": BUYER, "customer_name": "Ada", "items": [item], "paid": eur("4.00"), **k}
    )


def _item(w: World, k: dict[str, Any]) -> object:
    fields: dict[str, Any] = {
        "vendor_id": "v-1",
        "product_id": "p",
        "quantity": 1,
        "unit_price": eur("4.00"),
        "title": "Mug",
    }
    fields.update(k)
    price = fields["unit_price"]
    # the payment is in EUR: an item priced in another currency (USD) is then the hostile
    # value, not a valid checkout in that currency
    paid = price if isinstance(price, Money) and price.currency.code == "EUR" else eur("4.00")
    return w.m.place_checkout(buyer=BUYER, customer_name="Ada", items=[Item(**fields)], paid=paid)


# fmt: off
COMMANDS: dict[str, Command] = {
    "place_checkout": Command(_checkout, {
        "buyer": "actor", "customer_name": "name", "paid": "money", "idempotency_key": "key"}),
    "place_checkout item": Command(_item, {
        "vendor_id": "id", "product_id": "id", "unit_price": "money", "title": "name"}),
    "ship": Command(lambda w, k: w.m.ship(**{
        "order_id": w.oid, "by": VENDOR, "items": {w.line: 1}, "carrier": "DHL",
        "tracking_number": "2", **k}), {
        "order_id": "id", "by": "actor", "carrier": "name", "tracking_number": "name",
        "replacement_for": "id", "idempotency_key": "key"}),
    "update_tracking": Command(lambda w, k: w.m.update_tracking(**{
        "order_id": w.oid, "shipment_id": w.sid, "by": VENDOR, "note": "n", **k}), {
        "shipment_id": "id", "note": "text", "carrier": "name", "tracking_number": "name"}),
    "mark_delivered": Command(lambda w, k: w.m.mark_delivered(**{
        "order_id": w.oid, "shipment_id": w.sid, "by": VENDOR, **k}), {
        "order_id": "id", "shipment_id": "id", "by": "actor", "idempotency_key": "key"}),
    "refund": Command(lambda w, k: w.m.refund(**{
        "order_id": w.oid, "by": VENDOR, "amount": eur("1.00"), **k}), {
        "order_id": "id", "amount": "positive", "reason": "text", "idempotency_key": "key"}),
    "report_issue": Command(lambda w, k: w.m.report_issue(**{
        "order_id": w.oid, "by": BUYER, "kind": IssueKind.DAMAGED, "description": "d", **k}), {
        "kind": "enum", "description": "text", "by": "actor", "idempotency_key": "key"}),
    "respond_to_issue": Command(lambda w, k: w.m.respond_to_issue(**{
        "order_id": w.oid, "issue_id": w.iid, "by": VENDOR, "message": "m", **k}), {
        "issue_id": "id", "message": "text"}),
    "offer_settlement": Command(lambda w, k: w.m.offer_settlement(**{
        "order_id": w.oid, "issue_id": w.iid, "by": VENDOR, "resolution": Resolution.REFUND,
        "amount": eur("1.00"), **k}), {
        "resolution": "enum", "amount": "positive", "message": "text"}),
    "mediate_issue": Command(lambda w, k: w.m.mediate_issue(**{
        "order_id": w.oid, "issue_id": w.iid, "by": STAFF, "reason": "evidence",
        "outcome": IssueOutcome.MEDIATED_REFUND, "refund": eur("1.00"), **k}), {
        "outcome": "enum", "refund": "positive", "issue_id": "id", "idempotency_key": "key"}),
    "withdraw_issue": Command(lambda w, k: w.m.withdraw_issue(**{
        "order_id": w.oid, "issue_id": w.iid, "by": BUYER, **k}), {
        "issue_id": "id", "by": "actor", "idempotency_key": "key"}),
    "freeze_release": Command(lambda w, k: w.m.freeze_release(**{
        "order_id": w.oid, "by": STAFF, "reason": "fraud check", **k}), {
        "order_id": "id", "reason": "reason", "idempotency_key": "key"}),
    "report_chargeback": Command(lambda w, k: w.m.report_chargeback(**{
        "order_id": w.oid, "amount": eur("1.00"), "by": STAFF, **k}), {
        "amount": "positive", "fee": "money", "reference": "id"}),
    "post_message": Command(lambda w, k: w.m.post_message(**{
        "conversation_id": w.cid, "by": BUYER, "text": "hi", **k}), {
        "conversation_id": "id", "text": "text", "by": "actor", "idempotency_key": "key"}),
    "start_conversation": Command(lambda w, k: w.m.start_conversation(**{
        "by": VENDOR, "customer_name": "Ada", "text": "hello", **k}), {
        "customer_name": "name", "text": "text", "order_id": "id"}),
    "mark_read": Command(lambda w, k: w.m.mark_read(**{
        "conversation_id": w.cid, "by": VENDOR, **k}), {
        "conversation_id": "id", "idempotency_key": "key"}),
    "adjust_balance": Command(lambda w, k: w.m.adjust_balance(**{
        "vendor_id": "v-1", "amount": eur("1.00"), "reason": "goodwill", "by": STAFF, **k}), {
        "vendor_id": "id", "amount": "money", "reason": "reason", "idempotency_key": "key"}),
    "set_payout_terms": Command(lambda w, k: w.m.set_payout_terms(**{
        "vendor_id": "v-1", "by": STAFF, "reason": "risk", "minimum_balance": eur("1.00"),
        **k}), {"vendor_id": "id", "minimum_balance": "money", "reason": "reason"}),
    "register_vendor": Command(lambda w, k: w.m.register_vendor(**{
        "vendor_id": "v-2", "payout_currency": "EUR", "by": STAFF, "name": "Shop", **k}), {
        "vendor_id": "id", "name": "name", "by": "actor", "idempotency_key": "key"}),
    "get_order": Command(lambda w, k: w.m.get_order(**{"order_id": w.oid, "by": BUYER, **k}), {
        "order_id": "id", "by": "actor"}),
    "run_due": Command(lambda w, k: w.m.run_due(**{"now": START, **k}), {"now": "instant"}),
    "purge": Command(lambda w, k: w.m.purge(**{"now": START, **k}), {"now": "instant"}),
    "response_times": Command(lambda w, k: w.m.response_times(**{
        "vendor_id": "v-1", "by": VENDOR, "since": START - dt.timedelta(days=1),
        "until": START, **k}), {"since": "instant", "until": "instant", "vendor_id": "id"}),
}
# fmt: on
#: arguments for which ``None`` is a documented value
OPTIONAL = {
    ("report_chargeback", "fee"),
    ("report_chargeback", "reference"),
    ("set_payout_terms", "minimum_balance"),
    ("ship", "replacement_for"),
    ("start_conversation", "order_id"),
}
ARGUMENTS = sorted((name, arg) for name, command in COMMANDS.items() for arg in command.kinds)


def test_every_base_call_is_accepted(world: World) -> None:
    """The audit's calls are ones the world accepts, so a refusal below is the hostile
    value's doing and not the order's state (each on a world of its own)."""
    assert observed(world)  # the reads work as staff
    for name in ("ship", "refund", "mediate_issue", "post_message", "adjust_balance"):
        COMMANDS[name].call(world, {})


@AUDIT
@given(data=st.data(), target=st.sampled_from(ARGUMENTS))
def test_r2_r25_r33_hostile_values_in_any_argument_are_refused_and_change_nothing(
    world: World, data: st.DataObject, target: tuple[str, str]
) -> None:
    """R2, R25, R33: any hostile value in any argument of a facade command is refused with
    the code its kind of argument has (``invalid_input``, ``invalid_money``...; judged on
    the value, before the order's state), on every store, and nothing changes."""
    name, argument = target
    command = COMMANDS[name]
    values, codes = KINDS[command.kinds[argument]]
    if target in OPTIONAL:  # None means "none" there
        values = [v for v in values if v is not None]
    value = data.draw(st.sampled_from(values), label="value")
    error = refused(world, lambda: command.call(world, {argument: value}), unchanged(world))
    assert error.code in codes, (name, argument, repr(value)[:60], repr(error))


@AUDIT
@given(data=st.data(), target=st.sampled_from(ARGUMENTS))
def test_r2_r35_a_value_of_no_known_type_with_a_key_is_refused_in_the_family(
    world: World, data: st.DataObject, target: tuple[str, str]
) -> None:
    """R2, R35 (defect: with an idempotency key the arguments were fingerprinted first, and an
    object of a type no command takes, a date where an enum goes, a list that holds itself,
    raised ``TypeError``): refused in the family and nothing (no idempotency record
    either) is written."""
    name, argument = target
    if argument == "idempotency_key" or name not in KEYED:
        return
    looped: list[Any] = []
    looped.append(looped)
    value = data.draw(st.sampled_from([Weird(), START.date(), looped, {1, 2}]), label="value")
    error = refused(
        world, lambda: COMMANDS[name].call(world, {argument: value, **_KEY}), unchanged(world)
    )
    assert error.code in {"invalid_input", "invalid_money", "reason_required"}, repr(error)


_KEY = {"idempotency_key": "audit-key"}
#: the commands of the audit that take an idempotency key
KEYED = {
    name
    for name in COMMANDS
    if " " not in name
    and "idempotency_key" in inspect.signature(getattr(Marketplace, name)).parameters
}


@pytest.mark.parametrize(
    "outcome", [[], {}, {"x": 1}, Decimal("sNaN"), Money(Decimal("sNaN"), "EUR"), "rejected"]
)
def test_r2_r13_mediation_with_an_unhashable_or_snan_outcome_is_invalid_input(
    world: World, outcome: object
) -> None:
    """R2, R13 (defect: ``outcome not in _MEDIATED`` hashed the value, raising
    ``TypeError`` for a list or a signalling NaN): ``invalid_input`` naming ``outcome``."""
    error = refused(
        world,
        lambda: world.m.mediate_issue(
            world.oid,
            world.iid,
            by=STAFF,
            reason="evidence",
            outcome=outcome,  # type: ignore[arg-type]
        ),
    )
    assert (error.code, error.fields["field"]) == ("invalid_input", "outcome")


@pytest.mark.parametrize("after", [2**63, 2**70, 10**30])
def test_r2_r33_reading_messages_after_a_seq_no_store_holds_is_invalid_input(
    world: World, after: int
) -> None:
    """R2, R33 (defect: SQLite raised ``OverflowError`` for a seq beyond 64 bits while the
    in-memory store answered): ``invalid_input`` naming ``after`` on every store."""
    error = refused(world, lambda: world.m.messages(world.cid, by=BUYER, after=after))
    assert (error.code, error.fields["field"]) == ("invalid_input", "after")
    assert world.m.messages(world.cid, by=BUYER, after=2**63 - 1) == ()


# --- the maximum amount, held to everywhere money enters (R25) ------------------------------


@given(minor=st.integers(min_value=-MAX_AMOUNT_MINOR, max_value=MAX_AMOUNT_MINOR))
def test_r25_from_minor_builds_every_amount_up_to_the_maximum(minor: int) -> None:
    """R25: every amount from minus to plus the maximum is built exactly and round-trips."""
    assert to_minor(from_minor(minor, "EUR")) == minor


@given(
    minor=st.one_of(
        st.integers(min_value=MAX_AMOUNT_MINOR + 1),
        st.integers(max_value=-MAX_AMOUNT_MINOR - 1),
    ),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_r25_from_minor_refuses_what_no_command_would_take(minor: int, currency: str) -> None:
    """R25 (defect: ``from_minor(2**70, "EUR")`` built an amount every command then refused):
    the limit every command holds amounts to is held to where amounts are built, with the
    same code and limit."""
    with pytest.raises(AsoloraError) as info:
        from_minor(minor, currency)
    assert info.value.code == "invalid_money"
    assert info.value.fields["limit"] == MAX_AMOUNT_MINOR


def test_r25_figures_above_one_amount_still_show_as_money(world: World) -> None:
    """R25: a balance may exceed the maximum amount; the library's own figures are shown as
    Money whatever their size (only amounts passed in are limited)."""
    w = world
    for _ in range(2):
        w.m.adjust_balance("v-1", amount=from_minor(MAX_AMOUNT_MINOR, "EUR"), reason="r", by=STAFF)
    balance = w.m.balance("v-1", by=STAFF)
    assert balance.balance_minor == 2 * MAX_AMOUNT_MINOR
    assert balance.balance == Money(Decimal(2 * MAX_AMOUNT_MINOR).scaleb(-2), "EUR")


# --- control characters and bidi overrides (R2, R33) ------------------------------------------


@given(text=st.text(max_size=12))
def test_r2_plain_text_refuses_exactly_control_characters(text: str) -> None:
    """R2: free text keeps tabs and line breaks and refuses every other control character
    (C0, DEL, C1); an id, key or name, also tabs, line breaks and bidi controls."""
    controls = {c for c in text if c < " " or "\x7f" <= c <= "\x9f"}
    bidi = {c for c in text if c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"}
    for one_line, bad in ((False, controls - set("\t\n\r")), (True, controls | bidi)):
        if bad:
            with pytest.raises(AsoloraError) as info:
                check_plain(text, "f", one_line=one_line)
            assert info.value.code == "invalid_input"
        else:
            assert check_plain(text, "f", one_line=one_line) == text


def test_r26_free_text_keeps_line_breaks_and_right_to_left_text(world: World) -> None:
    """R26: what a person types in a message (several lines, Arabic with its marks, an
    emoji built with joiners) is kept as written; only control characters are refused."""
    arabic = "\u200f\u0645\u0631\u062d\u0628\u0627\u200e"  # "marhaba" between RLM and LRM
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # three emoji and two joiners
    text = f"Hello,\n\tthe mug arrived {arabic} {family}\r\nthanks"
    posted = world.m.post_message(world.cid, by=BUYER, text=text)
    assert posted.message.text == text


# --- 2. authorization (R1) ----------------------------------------------------------------------

#: (actor, command) pairs that must be refused with not_permitted
# fmt: off
FORBIDDEN: dict[str, Callable[[World, Actor], object]] = {
    "get_order": lambda w, a: w.m.get_order(w.oid, by=a),
    "order_history": lambda w, a: w.m.order_history(w.oid, by=a),
    "ship": lambda w, a: w.m.ship(w.oid, by=a, items={w.line: 1}, carrier="D",
                                  tracking_number="2"),
    "update_tracking": lambda w, a: w.m.update_tracking(w.oid, w.sid, by=a, note="n"),
    "mark_delivered": lambda w, a: w.m.mark_delivered(w.oid, w.sid, by=a),
    "refund": lambda w, a: w.m.refund(w.oid, by=a, amount=eur("1.00")),
    "respond_to_issue": lambda w, a: w.m.respond_to_issue(w.oid, w.iid, by=a, message="m"),
    "offer_settlement": lambda w, a: w.m.offer_settlement(
        w.oid, w.iid, by=a, resolution=Resolution.NO_ACTION),
    "withdraw_issue": lambda w, a: w.m.withdraw_issue(w.oid, w.iid, by=a),
    "report_issue": lambda w, a: w.m.report_issue(
        w.oid, by=a, kind=IssueKind.OTHER, description="d"),
    "cancel_order": lambda w, a: w.m.cancel_order(w.oid, by=a),
    "get_hold": lambda w, a: w.m.get_hold(w.oid, by=a),
    "balance": lambda w, a: w.m.balance("v-1", by=a),
    "statement": lambda w, a: w.m.statement("v-1", by=a),
    "payouts": lambda w, a: w.m.payouts("v-1", by=a),
    "list_orders": lambda w, a: w.m.list_orders(by=a, vendor_id="v-1"),
    "buyer_orders": lambda w, a: w.m.buyer_orders(by=a, buyer_id="b-1"),
    "sales_report": lambda w, a: w.m.sales_report(
        "v-1", by=a, start=START.date(), end=START.date()),
    "get_conversation": lambda w, a: w.m.get_conversation(w.cid, by=a),
    "messages": lambda w, a: w.m.messages(w.cid, by=a),
    "post_message": lambda w, a: w.m.post_message(w.cid, by=a, text="hi"),
    "mark_read": lambda w, a: w.m.mark_read(w.cid, by=a),
    "start_conversation about the order": lambda w, a: w.m.start_conversation(
        by=a, order_id=w.oid),
    "mediate_issue": lambda w, a: w.m.mediate_issue(
        w.oid, w.iid, by=a, outcome=IssueOutcome.REJECTED, reason="r"),
    "resolve_for_vendor": lambda w, a: w.m.resolve_for_vendor(w.oid, w.iid, by=a, reason="r"),
    "cancel_after_shipping": lambda w, a: w.m.cancel_after_shipping(w.oid, by=a, reason="r"),
    "freeze_release": lambda w, a: w.m.freeze_release(w.oid, by=a, reason="r"),
    "report_chargeback": lambda w, a: w.m.report_chargeback(w.oid, by=a, amount=eur("1.00")),
    "adjust_balance": lambda w, a: w.m.adjust_balance(
        "v-1", amount=eur("1.00"), reason="r", by=a),
    "set_payout_terms": lambda w, a: w.m.set_payout_terms("v-1", by=a, reason="r"),
    "pay_out": lambda w, a: w.m.pay_out("v-1", by=a),
    "register_vendor": lambda w, a: w.m.register_vendor("v-9", payout_currency="EUR", by=a),
    "journal": lambda w, a: w.m.journal(by=a),
    "outbox": lambda w, a: w.m.outbox(by=a),
}
_STAFF_ONLY = {"mediate_issue", "resolve_for_vendor", "cancel_after_shipping", "freeze_release",
               "report_chargeback", "adjust_balance", "set_payout_terms", "pay_out",
               "register_vendor", "journal", "outbox"}
_VENDOR_ONLY = {"ship", "update_tracking", "mark_delivered", "refund", "respond_to_issue",
                "offer_settlement", "get_hold", "balance", "statement", "payouts", "list_orders",
                "sales_report"}
_BUYER_ONLY = {"withdraw_issue", "report_issue", "buyer_orders"}
# fmt: on
PAIRS = sorted(
    [(a, c) for a in ("other vendor", "other buyer") for c in FORBIDDEN]
    + [("buyer", c) for c in sorted(_STAFF_ONLY | _VENDOR_ONLY)]
    + [("vendor", c) for c in sorted(_STAFF_ONLY | _BUYER_ONLY)]
)
ACTORS = {
    "other vendor": OTHER_VENDOR,
    "other buyer": OTHER_BUYER,
    "buyer": BUYER,
    "vendor": VENDOR,
}


@AUDIT
@given(pair=st.sampled_from(PAIRS))
def test_r1_nobody_acts_outside_their_scope(world: World, pair: tuple[str, str]) -> None:
    """R1: another vendor or buyer acting on v-1's order, shipment, issue, conversation,
    money or reports, a buyer doing a vendor's or staff's work, a vendor doing a buyer's or
    staff's work: ``not_permitted``, and nothing changes (no event, no notification)."""
    who, name = pair
    error = refused(world, lambda: FORBIDDEN[name](world, ACTORS[who]), unchanged(world))
    assert error.code == "not_permitted", (who, name, repr(error))


# fmt: off
STAFF_POWERS: dict[str, Callable[[World, str], object]] = {
    "refund": lambda w, r: w.m.refund(w.oid, by=STAFF, amount=eur("1.00"), reason=r),
    "mark_delivered": lambda w, r: w.m.mark_delivered(w.oid, w.sid, by=STAFF, reason=r),
    "resolve_for_vendor": lambda w, r: w.m.resolve_for_vendor(w.oid, w.iid, by=STAFF, reason=r),
    "cancel_after_shipping": lambda w, r: w.m.cancel_after_shipping(w.oid, by=STAFF, reason=r),
    "freeze_release": lambda w, r: w.m.freeze_release(w.oid, by=STAFF, reason=r),
    "lift_freeze": lambda w, r: w.m.lift_freeze(w.oid, by=STAFF, reason=r),
    "adjust_balance": lambda w, r: w.m.adjust_balance(
        "v-1", amount=eur("1.00"), reason=r, by=STAFF),
    "set_payout_terms": lambda w, r: w.m.set_payout_terms("v-1", by=STAFF, reason=r),
}
# fmt: on


@AUDIT
@given(
    name=st.sampled_from(sorted(STAFF_POWERS)),
    reason=st.sampled_from(["", " ", "\t\n", "\u3000"]),
)
def test_r1_staff_powers_need_a_reason(world: World, name: str, reason: str) -> None:
    """R1, R16, R41: staff acting on someone else's order or money says why; no reason, or a
    blank one, is ``reason_required`` and changes nothing."""
    error = refused(world, lambda: STAFF_POWERS[name](world, reason), unchanged(world))
    assert error.code == "reason_required", (name, repr(error))


def test_r1_r41_adjusting_a_vendor_the_store_does_not_know_is_not_found(world: World) -> None:
    """R1, R41 (defect: staff could credit a mistyped vendor id; the money sat on an account
    nobody reads and ``run_payouts`` paid it out to that id): ``not_found`` and nothing
    booked; a vendor with orders but no registration can still be adjusted."""
    w = world
    error = refused(
        w, lambda: w.m.adjust_balance("v-l", amount=eur("5.00"), reason="goodwill", by=STAFF)
    )
    assert error.code == "not_found"
    assert w.m.run_payouts(by=STAFF) == ()
    _item(w, {"vendor_id": "v-unregistered"})
    w.m.adjust_balance("v-unregistered", amount=eur("-1.00"), reason="fine", by=STAFF)
    assert w.m.balance("v-unregistered", by=STAFF).balance_minor == -100


def test_r23_r41_an_adjustment_in_a_currency_the_vendor_has_no_balance_in_is_refused(
    world: World,
) -> None:
    """R23, R41 (defect: a USD adjustment of a vendor trading in EUR opened a USD balance no
    payout in EUR reads): ``currency_mismatch`` naming the currencies, nothing booked; a
    registered vendor is adjusted in its payout currency only."""
    w = world
    error = refused(
        w, lambda: w.m.adjust_balance("v-1", amount=usd("1.00"), reason="goodwill", by=STAFF)
    )
    assert (error.code, error.fields["field"]) == ("currency_mismatch", "amount")
    assert "EUR" in str(error)
    w.m.register_vendor("v-9", payout_currency="GBP", by=STAFF)
    error = refused(
        w, lambda: w.m.adjust_balance("v-9", amount=eur("1.00"), reason="goodwill", by=STAFF)
    )
    assert (error.code, error.fields["payout_currency"]) == ("currency_mismatch", "GBP")
    w.m.adjust_balance("v-9", amount=Money("1.00", "GBP"), reason="goodwill", by=STAFF)
    assert w.m.balance("v-9", by=STAFF).balance_minor == 100


# --- 3. idempotency keys (R35) -------------------------------------------------------------------


@settings(AUDIT, max_examples=8)
@given(
    change=st.sampled_from(
        [
            ("amount", {"amount": eur("2.00")}),
            ("reason", {"reason": "other"}),
            ("order_id", {"order_id": "o-unknown"}),
            ("items", {"items": {"l-000003": 1}}),
        ]
    ),
    key=st.sampled_from(["k-1", "ü" * MAX_KEY_LENGTH, "k/../../etc", "'; DROP TABLE x;--"]),
)
def test_r35_a_key_never_returns_its_first_result_to_another_request(
    world: World, change: tuple[str, dict[str, Any]], key: str
) -> None:
    """R35: after a refund under a key, the same key with another argument is
    ``idempotency_key_reused`` naming the argument; with another command it names
    ``command``; the same request replays the first result; another vendor using the key is
    judged as its own request (``not_permitted``), never handed v-1's order. Keys with any
    storable characters are keys like any other. Nothing changes after the first call."""
    w = world
    first: dict[str, Any] = {"order_id": w.oid, "by": VENDOR, "amount": eur("1.00"), "reason": "r"}
    done = w.m.refund(**first, idempotency_key=key)  # or its replay, after an earlier example
    field, changed = change
    reused = refused(w, lambda: w.m.refund(**{**first, **changed}, idempotency_key=key))
    assert (reused.code, reused.fields["field"]) == ("idempotency_key_reused", field)
    other = refused(w, lambda: w.m.cancel_order(w.oid, by=VENDOR, idempotency_key=key))
    assert (other.code, other.fields["field"]) == ("idempotency_key_reused", "command")
    # (a refusal under a key is that key's first result, R35: only its record is written)
    shown = observed(w)
    with pytest.raises(AsoloraError) as info:
        w.m.refund(**{**first, "by": OTHER_VENDOR}, idempotency_key=key)
    assert info.value.code == "not_permitted"
    assert observed(w) == shown
    rows = digest(w.store)
    again = w.m.refund(**first, idempotency_key=key)
    assert (again.order_id, again.version, again.refunded_minor) == (
        done.order_id,
        done.version,
        done.refunded_minor,
    )
    assert digest(w.store) == rows


#: commands that return each kind of result, each called once under a key
# fmt: off
KEYED_RESULTS: dict[str, Callable[[World, str], object]] = {
    "adjust_balance": lambda w, k: w.m.adjust_balance(
        "v-1", amount=eur("-1.00"), reason="fine", by=STAFF, idempotency_key=k),
    "set_payout_terms": lambda w, k: w.m.set_payout_terms(
        "v-1", by=STAFF, reason="risk", reserve_bp=100, reserve_days=7, idempotency_key=k),
    "register_vendor": lambda w, k: w.m.register_vendor(
        "v-2", payout_currency="GBP", by=STAFF, idempotency_key=k),
    "freeze_release": lambda w, k: w.m.freeze_release(
        w.oid, by=STAFF, reason="check", idempotency_key=k),
    "report_chargeback": lambda w, k: w.m.report_chargeback(
        w.oid, amount=eur("1.00"), by=STAFF, reference="cb-1", idempotency_key=k),
    "pay_out": lambda w, k: w.m.pay_out("v-1", by=STAFF, idempotency_key=k),
    "post_message": lambda w, k: w.m.post_message(w.cid, by=BUYER, text="hi", idempotency_key=k),
    "start_conversation": lambda w, k: w.m.start_conversation(
        by=VENDOR, customer_name="Ada", text="hello", idempotency_key=k),
    "mark_read": lambda w, k: w.m.mark_read(w.cid, by=VENDOR, idempotency_key=k),
}
# fmt: on


def test_r33_r35_every_kind_of_result_is_kept_with_its_key_on_every_store(world: World) -> None:
    """R33, R35 (defect: ``adjust_balance`` under a key raised ``TypeError`` on SQLite and
    PostgreSQL, its journal transaction being a result the store could not keep, so staff
    could not adjust a balance safely at all there): each command runs under a key, and the
    same request again returns an equal result and writes nothing."""
    w = world
    for name, call in KEYED_RESULTS.items():
        first = call(w, f"key-{name}")
        rows = digest(w.store)
        assert call(w, f"key-{name}") == first, name
        assert digest(w.store) == rows, name
