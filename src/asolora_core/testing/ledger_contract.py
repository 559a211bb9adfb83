"""The ledger part of the store contract (R17, R18, R24, R33, R36, R42).

Subclass :class:`LedgerContract` next to :class:`~asolora_core.testing.contract.StoreContract`
with the same two methods (``make_store``, optionally ``make_second_store``) to check an
adapter's ``uow.ledger`` repository: sealing and chaining, unique keys, rollback, per-vendor
folds and transactions, holds with version checks, payouts, vendors, and one money scenario
whose every figure must equal the in-memory reference.

Needs the ``testing`` extra (pytest).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs
import pytest
from moneyed import Money

from asolora_core.actors import Actor
from asolora_core.adapters.memory import InMemoryStore
from asolora_core.clock import FakeClock
from asolora_core.errors import ConcurrencyConflictError
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger import core
from asolora_core.ledger.integrity import journal_facts
from asolora_core.ledger.model import (
    GENESIS_HASH,
    FeeSchedule,
    MoneyConfig,
    Payout,
    Statement,
    VendorAccount,
)
from asolora_core.ports import Store
from asolora_core.service import Item, Marketplace, MarketplaceConfig, SequentialIds

__all__ = ["LedgerContract", "endings_money_scenario", "money_scenario"]

T0 = _dt.datetime(2026, 3, 1, 10, 0, tzinfo=_dt.UTC)
HOLD = _dt.timedelta(hours=168)
STAFF = Actor.staff("staff-1")
FEES = FeeSchedule(
    commission_bp=1000,
    processing_bp=290,
    processing_fixed={"EUR": Money("0.30", "EUR")},
    conversion_bp=200,
)


def _capture(order_id: str, vendor_id: str = "v-1", paid: int = 10_000) -> Any:
    return core.capture(
        order_id=order_id, vendor_id=vendor_id, currency="EUR", paid_minor=paid, at=T0
    )


def money_scenario(store: Store) -> dict[str, Any]:
    """Two vendors (GBP and EUR), sales, a refund before and one after release, a chargeback,
    a sweep and a payout run; returns every figure a store must agree on (R33)."""
    clock = FakeClock(T0)
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=T0)
    market = Marketplace(
        store,
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates)),
    )
    market.register_vendor("v-1", payout_currency="GBP", by=STAFF)
    market.register_vendor("v-2", payout_currency="EUR", by=STAFF)
    buyer = Actor.buyer("b-1")
    orders = []
    for vendor_id, price in (("v-1", "100.00"), ("v-2", "40.00"), ("v-1", "12.34")):
        (order,) = market.place_checkout(
            buyer=buyer,
            customer_name="Ann",
            items=[
                Item(
                    vendor_id=vendor_id,
                    product_id="p",
                    quantity=1,
                    unit_price=Money(price, "EUR"),
                )
            ],
            paid=Money(price, "EUR"),
        )
        vendor = Actor.vendor(vendor_id)
        line = order.lines[0].line_id
        order = market.ship(
            order.order_id, by=vendor, items={line: 1}, carrier="c", tracking_number="t"
        )
        shipment = order.shipments[0].shipment_id
        market.mark_delivered(order.order_id, shipment, by=vendor)
        orders.append(market.confirm_receipt(order.order_id, shipment, by=buyer))
    market.refund(orders[0].order_id, by=Actor.vendor("v-1"), amount=Money("20.00", "EUR"))
    clock.advance(hours=168)
    market.run_due()
    market.refund(orders[1].order_id, by=Actor.vendor("v-2"), amount=Money("5.00", "EUR"))
    market.report_chargeback(
        orders[2].order_id, amount=Money("12.34", "EUR"), fee=Money("1.00", "EUR"), by=STAFF
    )
    payouts = market.run_payouts()
    journal = market.journal(by=STAFF)
    return {
        "journal": [(t.seq, t.key, t.kind, t.entries, t.memo, t.hash) for t in journal],
        "balances": [market.balance(v, by=STAFF) for v in ("v-1", "v-2")],
        "payouts": [(p.vendor_id, p.currency, p.amount_minor, p.statement) for p in payouts],
        "holds": [market.holds(v, by=STAFF) for v in ("v-1", "v-2")],
        "verified": market.verify_journal(by=STAFF).ok,
    }


def endings_money_scenario(store: Store) -> dict[str, Any]:
    """The journal kinds of an order's endings (R37, R39, R41): a vendor with a rolling
    reserve and a minimum balance, a chargeback won before release, a return refunded after
    release less its restocking fee, a staff adjustment, two payouts around the reserve's
    return; returns every figure a store must agree on (R33)."""
    from asolora_core.orders.model import ReturnKind, ReturnPolicy

    clock = FakeClock(T0)
    rates = FixedRateProvider({("EUR", "GBP"): "0.8567"}, as_of=T0)
    market = Marketplace(
        store,
        clock=clock,
        ids=SequentialIds(),
        config=MarketplaceConfig(money=MoneyConfig(fees=FEES, rates=rates)),
    )
    market.register_vendor("v-3", payout_currency="GBP", by=STAFF)
    market.set_payout_terms(
        "v-3",
        by=STAFF,
        reason="contract",
        reserve_bp=500,
        reserve_days=10,
        minimum_balance=Money("2.00", "GBP"),
    )
    buyer, vendor = Actor.buyer("b-1"), Actor.vendor("v-3")
    policy = ReturnPolicy(returns_accepted=True, window_days=30, restocking_fee_bp=1250)
    (order,) = market.place_checkout(
        buyer=buyer,
        customer_name="Ann",
        items=[
            Item(
                vendor_id="v-3",
                product_id="p",
                quantity=3,
                unit_price=Money("33.33", "EUR"),
                policy=policy,
            )
        ],
        paid=Money("99.99", "EUR"),
    )
    oid, line = order.order_id, order.lines[0].line_id
    order = market.ship(oid, by=vendor, items={line: 3}, carrier="c", tracking_number="t")
    shipment = order.shipments[0].shipment_id
    market.mark_delivered(oid, shipment, by=vendor)
    market.confirm_receipt(oid, shipment, by=buyer)
    market.report_chargeback(
        oid, amount=Money("50.00", "EUR"), fee=Money("1.50", "EUR"), by=STAFF, reference="cb"
    )
    market.chargeback_won(oid, reference="cb", by=STAFF)
    clock.advance(hours=168)
    market.run_due()
    rid = (
        market.request_return(oid, by=buyer, kind=ReturnKind.RETURN, items={line: 2}, reason="r")
        .returns[-1]
        .return_id
    )
    market.accept_return(oid, rid, by=vendor)
    market.ship_return(oid, rid, by=buyer, carrier="c", tracking_number="r")
    market.receive_return(oid, rid, by=vendor)
    market.refund_return(oid, rid, by=vendor)
    market.adjust_balance("v-3", amount=Money("-1.23", "GBP"), reason="fine", by=STAFF)
    payouts = list(market.run_payouts())
    clock.advance(days=10)
    market.run_due()
    payouts += market.run_payouts()
    journal = market.journal(by=STAFF)
    return {
        "journal": [(t.seq, t.key, t.kind, t.entries, t.memo, t.hash) for t in journal],
        "balance": market.balance("v-3", by=STAFF),
        "payouts": [(p.currency, p.amount_minor, p.statement) for p in payouts],
        "holds": market.holds("v-3", by=STAFF),
        "order": market.get_order(oid, by=STAFF),
        "verified": market.verify_journal(by=STAFF).ok,
    }


class LedgerContract:
    """The ledger checks every store passes. Subclass and implement :meth:`make_store`."""

    def make_store(self) -> Store:
        raise NotImplementedError

    def make_second_store(self) -> Store | None:
        return None

    def test_post_seals_and_chains(self) -> None:
        """R24, R42: posts get consecutive ``seq`` and chain their hashes."""
        store = self.make_store()
        try:
            with store.unit_of_work() as uow:
                assert uow.ledger.head() == (0, GENESIS_HASH)
                first = uow.ledger.post(_capture("o-1")[1])
                second = uow.ledger.post(_capture("o-2")[1])
                uow.commit()
            assert (first.seq, second.seq) == (1, 2)
            assert first.prev_hash == GENESIS_HASH
            assert second.prev_hash == first.hash
            with store.unit_of_work() as uow:
                assert uow.ledger.head() == (2, second.hash)
                assert uow.ledger.journal() == (first, second)
                assert uow.ledger.journal(after_seq=1) == (second,)
                assert uow.ledger.by_key("capture:o-1") == first
                assert uow.ledger.by_key("capture:nothing") is None
            assert core.verify((first, second))[2] == ()
        finally:
            store.close()

    def test_a_key_is_posted_once_and_rollback_undoes_posts(self) -> None:
        """R17, R24: a key already posted is refused; a rolled-back post leaves nothing."""
        store = self.make_store()
        try:
            with store.unit_of_work() as uow:
                uow.ledger.post(_capture("o-1")[1])
                uow.commit()
            with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflictError):
                uow.ledger.post(_capture("o-1")[1])
            with store.unit_of_work() as uow:
                uow.ledger.post(_capture("o-2")[1])
                uow.rollback()
            with store.unit_of_work() as uow:
                assert [t.key for t in uow.ledger.journal()] == ["capture:o-1"]
                assert uow.ledger.fold("platform:buyer_funds", "EUR") == 10_000
                assert uow.ledger.vendor_fold("v-1", "EUR", "held") == -10_000
        finally:
            store.close()

    def test_vendor_folds_read_that_vendors_rows(self) -> None:
        """R22, R23: per-vendor folds (signed, positive-only, negative-only) and transactions."""
        store = self.make_store()
        try:
            rates = FixedRateProvider({("EUR", "GBP"): "0.85"}, as_of=T0)
            snap = rates.rate("EUR", "GBP", T0)
            with store.unit_of_work() as uow:
                for i, vendor in enumerate(("v-1", "v-2", "v-1")):
                    hold, txn = _capture(f"o-{i}", vendor)
                    uow.ledger.post(txn)
                    hold, fees = core.complete(hold, fees=FEES, completed_at=T0, hold_period=HOLD)
                    assert fees is not None
                    uow.ledger.post(fees)
                    _, rel, _ = core.release(
                        hold, fees=FEES, snapshot=snap, balance_before_minor=0, now=T0 + HOLD
                    )
                    assert rel is not None
                    uow.ledger.post(rel)
                uow.commit()
            with store.unit_of_work() as uow:
                mine = uow.ledger.vendor_transactions("v-1", "GBP", "balance")
                assert [t.order_id for t in mine] == ["o-0", "o-2"]
                assert uow.ledger.vendor_transactions("v-1", "GBP", "balance", after_seq=3) == (
                    mine[1],
                )
                credit = mine[0].entries_for("vendor:v-1:balance", "GBP")
                assert uow.ledger.vendor_fold("v-1", "GBP", "balance") == 2 * credit
                assert uow.ledger.vendor_fold("v-1", "GBP", "balance", sign=-1) == 2 * credit
                assert uow.ledger.vendor_fold("v-1", "GBP", "balance", sign=1) == 0
                assert uow.ledger.vendor_currencies("v-1") == ("GBP",)
                assert uow.ledger.balance_accounts() == (("v-1", "GBP"), ("v-2", "GBP"))
        finally:
            store.close()

    def test_keyed_posts_and_transactions_of_an_order(self) -> None:
        """R42: with a key, ``post`` seals with the HMAC; ``for_order`` returns the order's
        transactions in journal order, and ``last_payout_seq`` comes from the journal's
        payout postings."""
        key = b"contract-key-0123456789"
        store = self.make_store()
        try:
            with store.unit_of_work() as uow:
                first = uow.ledger.post(_capture("o-1")[1], key=key)
                uow.ledger.post(_capture("o-2")[1], key=key)
                payout = uow.ledger.post(
                    core.payout(
                        vendor_id="v-1",
                        currency="GBP",
                        payout_id="p-1",
                        amount_minor=5,
                        after_seq=2,
                        at=T0,
                    ),
                    key=key,
                )
                uow.commit()
            assert core.verify((first,), key)[2] == ()
            assert core.verify((first,))[2] != ()  # not the key-less digest
            with store.reader() as uow:
                assert uow.ledger.for_order("o-1") == (first,)
                assert uow.ledger.for_order("o-9") == ()
                assert uow.ledger.last_payout_seq("v-1", "GBP") == payout.seq
                assert uow.ledger.last_payout_seq("v-1", "EUR") == 0
        finally:
            store.close()

    def test_batched_forms_agree_with_the_one_item_forms(self) -> None:
        """The batched forms the release sweep uses: ``post_many`` chains like ``post`` in
        turn (a key already posted is a conflict); ``get_holds``, ``get_vendors``,
        ``for_orders``, ``journal_facts``, ``vendor_balances`` read what the one-item reads
        read; ``save_holds`` checks every version; ``lock_vendors``
        and ``claim_vendors`` (uncontended: every vendor) leave the reads alone."""
        key = b"contract-key-0123456789"
        store = self.make_store()
        try:
            with store.unit_of_work() as uow:
                ledger = uow.ledger
                holds = []
                for n, vendor in ((1, "v-1"), (2, "v-2"), (3, "v-1")):
                    hold, txn = _capture(f"o-{n}", vendor)
                    ledger.add_hold(hold)
                    ledger.post(txn, key=key)
                    holds.append(hold)
                ledger.put_vendor(
                    VendorAccount(
                        vendor_id="v-1",
                        version=1,
                        payout_currency="GBP",
                        registered_at=T0,
                        updated_at=T0,
                    )
                )
                assert ledger.claim_vendors(["v-2", "v-1", "v-2"]) == ("v-2", "v-1")
                ledger.lock_vendors(["v-2", "v-1"])
                seq, prev = ledger.head()
                adjustments = [
                    core.adjustment(
                        vendor_id=vendor,
                        currency="EUR",
                        amount_minor=amount,
                        adjustment_id=f"a-{n}",
                        reason="contract",
                        at=T0,
                    )
                    for n, (vendor, amount) in enumerate((("v-1", 70), ("v-2", -30), ("v-1", 5)))
                ]
                posted = ledger.post_many(adjustments, key=key)
                assert [p.seq for p in posted] == [seq + 1, seq + 2, seq + 3]
                assert posted[0].prev_hash == prev
                assert [p.prev_hash for p in posted[1:]] == [p.hash for p in posted[:-1]]
                assert ledger.head() == (posted[-1].seq, posted[-1].hash)
                assert core.verify(ledger.journal(), key)[2] == ()
                assert ledger.vendor_balances([("v-1", "EUR"), ("v-2", "EUR"), ("v-9", "EUR")]) == {
                    ("v-1", "EUR"): -75,
                    ("v-2", "EUR"): 30,
                    ("v-9", "EUR"): 0,
                }
                assert ledger.vendor_fold("v-1", "EUR", "balance") == -75
                found = ledger.get_holds(["o-3", "o-1", "o-9"])
                assert found == {"o-1": holds[0], "o-3": holds[2]}
                assert set(ledger.get_vendors(["v-1", "v-2"])) == {"v-1"}
                assert ledger.for_orders(["o-2", "o-9"]) == {
                    "o-2": ledger.for_order("o-2"),
                    "o-9": (),
                }
                facts = ledger.journal_facts(["o-1", "o-2", "o-9"])
                assert {o: [(*f[:4], tuple(f[4])) for f in fs] for o, fs in facts.items()} == {
                    o: list(journal_facts(ledger.for_order(o))) for o in ("o-1", "o-2", "o-9")
                }
                assert [list(f[4]) for f in facts["o-1"]] == [[("vendor:v-1:held", "EUR", -10_000)]]
                frozen = [attrs.evolve(h, version=h.version + 1, frozen=True) for h in holds]
                ledger.save_holds(frozen)
                assert ledger.get_hold("o-2") == frozen[1]
                uow.commit()
            with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflictError):
                uow.ledger.save_holds(frozen)  # stale: these versions are stored already
            with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflictError):
                uow.ledger.post_many(adjustments[1:], key=key)  # posted already
            with store.reader() as uow:
                assert len(uow.ledger.journal()) == posted[-1].seq
                assert uow.ledger.get_hold("o-2") == frozen[1]
        finally:
            store.close()

    def test_holds_payouts_and_vendors(self) -> None:
        """R36: holds and vendor accounts are saved over their previous version only."""
        store = self.make_store()
        try:
            hold, txn = _capture("o-1")
            with store.unit_of_work() as uow:
                uow.ledger.add_hold(hold)
                uow.ledger.post(txn)
                seq = uow.ledger.post(
                    core.payout(
                        vendor_id="v-1",
                        currency="GBP",
                        payout_id="p-1",
                        amount_minor=5,
                        after_seq=1,
                        at=T0,
                    )
                ).seq
                account = VendorAccount(
                    vendor_id="v-1",
                    version=1,
                    payout_currency="GBP",
                    registered_at=T0,
                    updated_at=T0,
                )
                uow.ledger.put_vendor(account)
                payout = Payout(
                    payout_id="p-1",
                    vendor_id="v-1",
                    currency="GBP",
                    amount_minor=5,
                    at=T0,
                    seq=seq,
                    statement=Statement(
                        vendor_id="v-1",
                        currency="GBP",
                        opening_minor=5,
                        lines=(),
                        paid_minor=5,
                        closing_minor=0,
                        from_seq=0,
                        to_seq=0,
                    ),
                )
                uow.ledger.add_payout(payout)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.ledger.get_hold("o-1") == hold
                assert uow.ledger.get_hold("o-2") is None
                assert uow.ledger.holds_for_vendor("v-1") == (hold,)
                with pytest.raises(ConcurrencyConflictError):
                    uow.ledger.save_hold(hold)  # same version: stale
                with pytest.raises(ConcurrencyConflictError):
                    uow.ledger.add_hold(hold)
                with pytest.raises(ConcurrencyConflictError):
                    uow.ledger.put_vendor(account)
                assert uow.ledger.get_vendor("v-1") == account
                assert uow.ledger.get_vendor("v-2") is None
                assert uow.ledger.payouts("v-1") == (payout,)
                assert uow.ledger.last_payout_seq("v-1", "GBP") == seq
                assert uow.ledger.last_payout_seq("v-1", "EUR") == 0
        finally:
            store.close()

    def test_money_scenario_matches_the_in_memory_reference(self) -> None:
        """R33: every journal entry, hash, balance, hold and statement equals the reference."""
        store = self.make_store()
        try:
            got = money_scenario(store)
        finally:
            store.close()
        assert got["verified"]
        assert got == money_scenario(InMemoryStore())

    def test_endings_money_scenario_matches_the_in_memory_reference(self) -> None:
        """R33, R37, R39, R41: won chargebacks, returns, adjustments and the rolling reserve
        give the same journal, balances and statements on every store."""
        store = self.make_store()
        try:
            got = endings_money_scenario(store)
        finally:
            store.close()
        assert got["verified"]
        assert got == endings_money_scenario(InMemoryStore())
