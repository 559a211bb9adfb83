"""Idempotency keys as an HTTP client uses them, and retention (R10, R29, R35), on each store.

A client retries a request with its key until it gets a final answer: a transient refusal
(no exchange rate yet, a version conflict) must not be remembered under the key; the same
amount written two ways is the same command; a buyer confirming what the system already
auto-confirmed gets the order. Records are slim (long arguments as digests, orders by
reference), expire after ``idempotency_ttl``, and the sweep deletes them together with
delivered notifications past ``delivered_retention``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    IdempotencyKeyReusedError,
    InvalidMoneyError,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    RateUnavailableError,
    RecordingNotifier,
    SequentialIds,
)
from asolora_core.fx import FixedRateProvider
from asolora_core.kernel import OrderResult, _canon
from asolora_core.ports import Store
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
    """R35: a long argument is kept as a digest, an order result by reference."""
    market = _market(store, clock)
    order = place(market, "v-1", Money("20.00", "EUR"))
    reason = "the buyer changed their mind " * 20
    market.cancel_order(order.order_id, by=VENDOR, reason=reason, idempotency_key="cancel-1")
    with store.reader() as uow:
        record = uow.idempotency.get(VENDOR.key, "cancel-1")
    assert record is not None
    assert record.arguments["reason"].startswith("sha256:")
    assert len(record.arguments["reason"]) < 50
    assert isinstance(record.result, OrderResult)
    assert record.result.order_ids == (order.order_id,)
    replay = market.cancel_order(
        order.order_id, by=VENDOR, reason=reason, idempotency_key="cancel-1"
    )
    assert replay == market.get_order(order.order_id, by=STAFF)
    with pytest.raises(IdempotencyKeyReusedError):
        market.cancel_order(
            order.order_id, by=VENDOR, reason=reason + ".", idempotency_key="cancel-1"
        )


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
