"""Idempotency keys as an HTTP client uses them, and retention (R10, R29, R35), on each store.

A client retries a request with its key until it gets a final answer: a transient refusal
(no exchange rate yet, a version conflict) must not be remembered under the key; the same
amount written two ways is the same command; a buyer confirming what the system already
auto-confirmed gets the order. Records are slim (arguments as a fingerprint, orders by
reference), expire after ``idempotency_ttl``, and the sweep deletes them together with
delivered notifications past ``delivered_retention``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    IdempotencyKeyReusedError,
    InvalidMoneyError,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    RateUnavailableError,
    RecordingNotifier,
    ReturnPolicy,
    SequentialIds,
    SqliteStore,
    kernel,
)
from asolora_core.adapters.sqlite_base import micros
from asolora_core.fx import FixedRateProvider
from asolora_core.kernel import (
    FINGERPRINT_BYTES,
    OrderRef,
    OrderResult,
    _canon,
    _canonical_text,
    _fingerprint_v1,
    _legacy_arguments,
    fingerprint,
)
from asolora_core.ports import IdempotencyRecord, Store
from test_ledger_support import BUYER, STAFF, START, complete, place, sell

VENDOR = Actor.vendor("v-1")


def _market(store: Store, clock: FakeClock, **config: object) -> Marketplace:
    rates = FixedRateProvider({}, as_of=START)
    return Marketplace(
        store,
        clock=clock,
        notifier=RecordingNotifier(),
        ids=SequentialIds(),
        config=MarketplaceConfig(money=MoneyConfig(rates=rates), **config),  # type: ignore[arg-type]
    )


def test_r35_a_transient_refusal_is_not_replayed(store: Store, clock: FakeClock) -> None:
    """R35: ``rate_unavailable`` is transient: the same key succeeds once the rate is known."""
    market = _market(store, clock)
    market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    order = sell(market, "v-1", Money("100.00", "EUR"))
    clock.advance(hours=168)
    with pytest.raises(RateUnavailableError):
        market.release(order.order_id, by=STAFF, idempotency_key="release-1")
    rates = market._rates
    assert isinstance(rates, FixedRateProvider)
    rates.set_rate("EUR", "GBP", "0.85", as_of=START)
    hold = market.release(order.order_id, by=STAFF, idempotency_key="release-1")
    assert hold.state == "released"
    again = market.release(order.order_id, by=STAFF, idempotency_key="release-1")
    assert again == hold


def test_r35_amounts_are_compared_by_value(store: Store, clock: FakeClock) -> None:
    """R35: ``Money("10")`` and ``Money("10.00")`` under one key are the same command."""
    market = _market(store, clock)
    order = complete(market, place(market, "v-1", Money("100.00", "EUR")))
    first = market.refund(
        order.order_id, by=VENDOR, amount=Money("10", "EUR"), idempotency_key="refund-1"
    )
    again = market.refund(
        order.order_id, by=VENDOR, amount=Money("10.00", "EUR"), idempotency_key="refund-1"
    )
    also = market.refund(
        order.order_id, by=VENDOR, amount=Money(Decimal("10.0"), "EUR"), idempotency_key="refund-1"
    )
    assert first == again == also
    # R25: more decimals than EUR has is refused before the key is even looked at
    with pytest.raises(InvalidMoneyError):
        market.refund(
            order.order_id,
            by=VENDOR,
            amount=Money(Decimal("10.000"), "EUR"),
            idempotency_key="refund-1",
        )
    assert first.refunded_minor == 1000
    with pytest.raises(IdempotencyKeyReusedError) as other:
        market.refund(
            order.order_id, by=VENDOR, amount=Money("10.01", "EUR"), idempotency_key="refund-1"
        )
    assert other.value.fields["field"] == "amount"


def test_r10_confirming_an_auto_confirmed_shipment_returns_the_order(
    store: Store, clock: FakeClock
) -> None:
    """R10: the system confirmed the delivered shipment first; the buyer's late confirmation
    returns the order (with or without a key) and changes nothing."""
    market = _market(store, clock, auto_confirm_after=dt.timedelta(days=3))
    order = place(market, "v-1", Money("20.00", "EUR"))
    order = market.ship(
        order.order_id,
        by=VENDOR,
        items={line.line_id: line.to_ship for line in order.lines},
        carrier="DHL",
        tracking_number="T-1",
    )
    shipment = order.shipments[-1].shipment_id
    market.mark_delivered(order.order_id, shipment, by=VENDOR)
    clock.advance(days=3)
    market.run_due()
    done = market.get_order(order.order_id, by=BUYER)
    assert done.shipments[-1].confirmed_automatically
    history = market.order_history(order.order_id, by=STAFF)
    assert market.confirm_receipt(order.order_id, shipment, by=BUYER) == done
    assert market.confirm_receipt(order.order_id, shipment, by=BUYER, idempotency_key="c") == done
    assert market.order_history(order.order_id, by=STAFF) == history


def test_r35_records_are_slim(store: Store, clock: FakeClock) -> None:
    """R35: the arguments are kept as a fingerprint (a version byte, then 8 bytes per
    argument, however long the argument), an order result by reference; a reuse with another
    argument names it."""
    market = _market(store, clock)
    order = place(market, "v-1", Money("20.00", "EUR"))
    reason = "the buyer changed their mind " * 20
    market.cancel_order(order.order_id, by=VENDOR, reason=reason, idempotency_key="cancel-1")
    with store.reader() as uow:
        record = uow.idempotency.get(VENDOR.key, "cancel-1")
    assert record is not None
    assert len(record.request) == 1 + 8 * 2  # version, order_id, reason
    assert not record.arguments
    assert record.result == OrderRef(order.order_id, order.version + 1)  # cancelled
    replay = market.cancel_order(
        order.order_id, by=VENDOR, reason=reason, idempotency_key="cancel-1"
    )
    assert replay == market.get_order(order.order_id, by=STAFF)
    with pytest.raises(IdempotencyKeyReusedError) as reused:
        market.cancel_order(
            order.order_id, by=VENDOR, reason=reason + ".", idempotency_key="cancel-1"
        )
    assert reused.value.fields["field"] == "reason"


def test_r35_a_key_expires_after_its_ttl(store: Store, clock: FakeClock) -> None:
    """R35: after ``idempotency_ttl`` the same key is a new key, purged or not."""
    market = _market(store, clock, idempotency_ttl=dt.timedelta(hours=1))
    order = complete(market, place(market, "v-1", Money("100.00", "EUR")))
    market.refund(order.order_id, by=VENDOR, amount=Money("1", "EUR"), idempotency_key="r")
    clock.advance(minutes=59)
    with pytest.raises(IdempotencyKeyReusedError):
        market.refund(order.order_id, by=VENDOR, amount=Money("2", "EUR"), idempotency_key="r")
    clock.advance(minutes=1)
    again = market.refund(order.order_id, by=VENDOR, amount=Money("2", "EUR"), idempotency_key="r")
    assert again.refunded_minor == 300


def test_r29_r35_the_sweep_purges_expired_keys_and_delivered_notifications(
    store: Store, clock: FakeClock
) -> None:
    """R29, R35: ``run_due`` deletes expired keys and notifications delivered longer ago than
    ``delivered_retention``; pending and failed notifications are kept."""
    market = _market(
        store,
        clock,
        idempotency_ttl=dt.timedelta(hours=24),
        delivered_retention=dt.timedelta(days=7),
    )
    order = place(market, "v-1", Money("20.00", "EUR"))
    market.cancel_order(order.order_id, by=VENDOR, idempotency_key="cancel-1")
    first = market.run_due()
    delivered = first.notifications.delivered
    assert delivered >= 2
    assert first.purged == {"idempotency": 0, "outbox": 0}
    clock.advance(days=1, minutes=1)
    assert market.run_due().purged == {"idempotency": 1, "outbox": 0}
    notifier = market.notifier
    assert isinstance(notifier, RecordingNotifier)
    notifier.fail_next = 1
    place(market, "v-1", Money("5.00", "EUR"))  # its notification will fail once: pending
    clock.advance(days=6)
    report = market.run_due()
    assert report.purged == {"idempotency": 0, "outbox": delivered}
    left = market.outbox(by=STAFF)
    assert left
    assert all(m.delivered_at is None or m.delivered_at >= clock.now() for m in left)
    with store.reader() as uow:
        assert uow.idempotency.get(VENDOR.key, "cancel-1") is None


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False),
    st.integers(min_value=0, max_value=6),
)
def test_r35_the_canonical_amount_ignores_trailing_zeros(amount: Decimal, zeros: int) -> None:
    """R35 (property): an amount written with more trailing zeros is the same argument, and
    two different amounts never are."""
    padded = amount.quantize(Decimal(1).scaleb(-(4 + zeros)))
    assert _canon(Money(padded, "EUR")) == _canon(Money(amount, "EUR"))
    assert _canon(Money(amount + Decimal("0.0001"), "EUR")) != _canon(Money(amount, "EUR"))


def test_r35_a_record_written_before_fingerprints_still_replays(
    store: Store, clock: FakeClock
) -> None:
    """R35: a record that keeps canonical text per argument (written by a version before
    fingerprints) replays the first outcome, and a different argument is still refused by
    name."""
    market = _market(store, clock)
    order = place(market, "v-1", Money("20.00", "EUR"))
    arguments = {"order_id": order.order_id, "reason": "out of stock"}
    legacy = IdempotencyRecord(
        scope=VENDOR.key,
        key="old-key",
        command="cancel_order",
        arguments=_legacy_arguments(arguments),
        result=OrderResult(order_ids=(order.order_id,), versions=(order.version,), many=False),
        at=clock.now(),
    )
    with store.unit_of_work() as uow:
        uow.idempotency.put(legacy)
        uow.commit()
    with store.reader() as uow:
        assert uow.idempotency.get(VENDOR.key, "old-key") == legacy
    replay = market.cancel_order(
        order.order_id, by=VENDOR, reason="out of stock", idempotency_key="old-key"
    )
    assert replay == order  # the first outcome: nothing cancelled now
    with pytest.raises(IdempotencyKeyReusedError) as other:
        market.cancel_order(order.order_id, by=VENDOR, reason="gone", idempotency_key="old-key")
    assert other.value.fields["field"] == "reason"


def test_r35_a_record_with_a_first_form_fingerprint_still_replays(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R35: a record whose fingerprint is in the first form (8 bytes of BLAKE2b per argument
    over its JSON text, no version byte: schema step 11) replays the first outcome, amounts
    by value, and a different argument is still refused by name."""
    market = _market(store, clock)
    order = complete(market, place(market, "v-1", Money("100.00", "EUR")))
    with monkeypatch.context() as older:  # the record as the code before wrote it
        older.setattr(kernel, "fingerprint", _fingerprint_v1)
        first = market.refund(
            order.order_id, by=VENDOR, amount=Money("10", "EUR"), idempotency_key="old-key"
        )
    with store.reader() as uow:
        old = uow.idempotency.get(VENDOR.key, "old-key")
    assert old is not None
    assert old.request
    assert len(old.request) % FINGERPRINT_BYTES == 0
    replay = market.refund(
        order.order_id, by=VENDOR, amount=Money("10.00", "EUR"), idempotency_key="old-key"
    )
    assert replay == first
    with pytest.raises(IdempotencyKeyReusedError) as other:
        market.refund(
            order.order_id, by=VENDOR, amount=Money("10.01", "EUR"), idempotency_key="old-key"
        )
    assert other.value.fields["field"] == "amount"
    with pytest.raises(IdempotencyKeyReusedError) as reason:
        market.refund(
            order.order_id,
            by=VENDOR,
            amount=Money("10", "EUR"),
            reason="other",
            idempotency_key="old-key",
        )
    assert reason.value.fields["field"] == "reason"


def test_r35_a_sqlite_record_in_the_old_json_shape_reads_back(tmp_path: Path) -> None:
    """R35: a SQLite record written before fingerprints (its JSON body holding
    ``arguments``, ``result``, ``error`` and ``at``, kept whole by schema step 11) decodes to
    the record it was."""
    store = SqliteStore(tmp_path / "old.db")
    body = {
        "command": "ship",
        "arguments": {"order_id": '"o-1"', "carrier": '"DHL"'},
        "result": {
            "$type": "OrderResult",
            "value": {"order_ids": ["o-1"], "versions": [2], "many": False},
        },
        "error": None,
        "at": START.isoformat(),
    }
    conn = store.connection()
    conn.execute(  # where schema step 11 moves a record written before it
        "INSERT INTO idempotency (scope, key, at, command, request, legacy) "
        "VALUES (?, ?, ?, ?, X'', ?)",
        ("vendor:v-1", "k", micros(START), "ship", json.dumps(body)),
    )
    with store.reader() as uow:
        record = uow.idempotency.get("vendor:v-1", "k")
    store.close()
    assert record == IdempotencyRecord(
        scope="vendor:v-1",
        key="k",
        command="ship",
        arguments={"order_id": '"o-1"', "carrier": '"DHL"'},
        result=OrderResult(order_ids=("o-1",), versions=(2,), many=False),
        at=START,
    )
    assert record.request == b""


class _Tag(StrEnum):
    A = "a"


_ARGUMENT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from(["", "a", "1", "true", "null", "10", '"a"', "sa", _Tag.A]),
    st.sampled_from([Decimal("10"), Decimal("10.00"), Decimal("1")]),
    st.sampled_from([Money("10", "EUR"), Money("10.00", "EUR"), Money("10", "USD")]),
    st.lists(st.sampled_from(["a", 1, None]), max_size=2),
    st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(["a", 1]), max_size=2),
)


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _ARGUMENT, max_size=3),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _ARGUMENT, max_size=3),
)
def test_r35_fingerprints_tell_apart_what_canonical_texts_tell_apart(
    first: dict[str, object], second: dict[str, object]
) -> None:
    """R35 (property): two argument sets have the same fingerprint exactly when they have the
    same canonical texts (the comparison before fingerprints), in both forms of the
    fingerprint, whatever their order; each argument has its own slice."""
    same = _legacy_arguments(first) == _legacy_arguments(second)
    assert (fingerprint(first) == fingerprint(second)) == same
    assert (_fingerprint_v1(first) == _fingerprint_v1(second)) == same
    assert fingerprint(dict(reversed(list(first.items())))) == fingerprint(first)
    assert len(fingerprint(first)) == 1 + FINGERPRINT_BYTES * len(first)
    assert len(_fingerprint_v1(first)) == FINGERPRINT_BYTES * len(first)
    for name, value in first.items():  # the canonical text: repr of _canon's JSON value
        assert _canonical_text(value) == _json_repr(value), name


def _json_repr(value: object) -> str:
    return repr(json.loads(json.dumps(_canon(value), sort_keys=True)))


def test_r35_the_canonical_text_of_structured_arguments() -> None:
    """R35: the canonical text of attrs values, mappings, sequences, amounts, instants and
    actors is the ``repr`` of their canonical JSON value (a value and the mapping of its
    fields alike, a list and a tuple alike, keys in any order); a type JSON cannot hold is
    refused."""
    item = Item(
        vendor_id="v-1",
        product_id="p-1",
        quantity=2,
        unit_price=Money("9.90", "EUR"),
        policy=ReturnPolicy(returns_accepted=True, window_days=14, text="30 days"),
    )
    values: list[object] = [
        item,
        [item, item],
        (item,),
        {"b": Money("1.0", "EUR"), "a": [1, None, True, 1.5], 3: {"z": Decimal("2.50")}},
        {2: "x", 10: "y"},
        START,
        dt.timedelta(hours=1),
        VENDOR,
        _Tag.A,
        {},
        [],
    ]
    for value in values:
        assert _canonical_text(value) == _json_repr(value), value
    assert _canonical_text((item,)) == _canonical_text([item])
    assert _canonical_text(item) == _canonical_text(attrs.asdict(item, recurse=False))
    assert _canonical_text({"a": 1, "b": 2}) == _canonical_text({"b": 2, "a": 1})
    assert _canonical_text(Money("10", "EUR")) == _canonical_text(Money("10.00", "EUR"))
    assert _canonical_text([1]) != _canonical_text([True])
    with pytest.raises(TypeError):
        _canonical_text({1, 2})
