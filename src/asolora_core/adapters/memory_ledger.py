"""The in-memory ledger repository (R15-R25, R41, R42), attached to
:class:`~asolora_core.adapters.memory.InMemoryUnitOfWork` as ``uow.ledger``.

Every table is one of the unit of work's undo-logged extra tables, so a rollback undoes the
journal, the indexes and the folds with the rest of the transaction. The folds kept per
account are a cache: ``verify_journal`` checks them against a fold of the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from asolora_core.errors import ConcurrencyConflictError
from asolora_core.ledger.integrity import JournalFacts, journal_facts
from asolora_core.ledger.model import (
    BALANCE,
    GENESIS_HASH,
    Entry,
    Hold,
    JournalTransaction,
    Payout,
    VendorAccount,
    seal,
)


class UndoLog(Protocol):
    """What the ledger needs of the in-memory store: undo-logged writes and named tables."""

    def set(self, table: dict[Any, Any], key: Any, value: Any) -> None: ...

    def on_rollback(self, fn: Callable[[], None]) -> None: ...

    def table(self, name: str) -> dict[Any, Any]: ...

    def cold_hold(self, blob: bytes) -> Hold:
        """The hold kept in an encoded order (see ``InMemoryStore._settle``)."""
        ...

    def cold_txn(self, blob: bytes, seq: int) -> JournalTransaction:
        """The journal transaction ``seq`` kept in an encoded order."""
        ...


__all__ = ["InMemoryLedger"]


class InMemoryLedger:
    """The journal and holds of an order nobody wrote lately are kept in the order's encoded
    form (the same bytes in each table, see ``InMemoryStore._settle``) and rebuilt when
    read."""

    def __init__(self, uow: UndoLog) -> None:
        self._uow = uow
        self._journal: dict[int, JournalTransaction | bytes] = uow.table("ledger_journal")
        self._keys: dict[str, int] = uow.table("ledger_keys")
        self._head: dict[str, tuple[int, str]] = uow.table("ledger_head")
        self._folds: dict[tuple[str, str], int] = uow.table("ledger_folds")
        # (vendor, currency, kind) -> [(seq, amount)], append-only
        self._index: dict[tuple[str, str, str], list[tuple[int, int]]] = uow.table("ledger_index")
        # (vendor, currency, kind) -> (total, debits, credits): running totals, so that a
        # balance is one look-up however long the vendor's history (R22, R23)
        self._totals: dict[tuple[str, str, str], tuple[int, int, int]] = uow.table(
            "ledger_vendor_totals"
        )
        self._holds: dict[str, Hold | bytes] = uow.table("ledger_holds")
        self._vendor_holds: dict[str, dict[str, None]] = uow.table("ledger_vendor_holds")
        self._payouts: dict[str, list[Payout]] = uow.table("ledger_payouts")
        self._vendors: dict[str, VendorAccount] = uow.table("ledger_vendors")
        self._orders: dict[str, list[int]] = uow.table("ledger_orders")

    def _txn(self, seq: int) -> JournalTransaction:
        txn = self._journal[seq]
        return self._uow.cold_txn(txn, seq) if isinstance(txn, bytes) else txn

    def _hold(self, order_id: str) -> Hold | None:
        hold = self._holds.get(order_id)
        return self._uow.cold_hold(hold) if isinstance(hold, bytes) else hold

    def _append(self, table: dict[Any, list[Any]], key: Any, item: Any) -> None:
        rows = table.get(key)
        if rows is None:
            self._uow.set(table, key, [item])
        else:
            rows.append(item)
            self._uow.on_rollback(rows.pop)

    # journal ------------------------------------------------------------------------------

    def post(self, txn: JournalTransaction, *, key: bytes | None = None) -> JournalTransaction:
        if txn.key in self._keys:
            raise ConcurrencyConflictError(
                f"journal transaction {txn.key!r} is already posted", key=txn.key
            )
        seq, prev = self.head()
        sealed = seal(txn, seq + 1, prev, key)
        uow = self._uow
        uow.set(self._journal, sealed.seq, sealed)
        uow.set(self._keys, sealed.key, sealed.seq)
        uow.set(self._head, "head", (sealed.seq, sealed.hash))
        if sealed.order_id is not None:
            self._append(self._orders, sealed.order_id, sealed.seq)
        for e in sealed.entries:
            k = (e.account, e.currency)
            uow.set(self._folds, k, self._folds.get(k, 0) + e.amount_minor)
            vendor = e.vendor_id
            if vendor is not None:
                vk = (vendor, e.currency, e.kind)
                self._append(self._index, vk, (sealed.seq, e.amount_minor))
                total, debits, credits = self._totals.get(vk, (0, 0, 0))
                a = e.amount_minor
                uow.set(
                    self._totals,
                    vk,
                    (total + a, debits + a, credits) if a > 0 else (total + a, debits, credits + a),
                )
        return sealed

    def by_key(self, key: str) -> JournalTransaction | None:
        seq = self._keys.get(key)
        return None if seq is None else self._txn(seq)

    def journal(self, *, after_seq: int = 0) -> tuple[JournalTransaction, ...]:
        last = self.head()[0]
        journal = self._journal
        return tuple(self._txn(s) for s in range(after_seq + 1, last + 1) if s in journal)

    def head(self) -> tuple[int, str]:
        return self._head.get("head", (0, GENESIS_HASH))

    def fold(self, account: str, currency: str) -> int:
        return self._folds.get((account, currency), 0)

    def journal_fold(self, account: str, currency: str) -> int:
        # a vendor's account: its entries (the index), not the running totals
        parsed = Entry(account=account, currency=currency, amount_minor=1)
        if parsed.vendor_id is None:
            return self.fold(account, currency)
        rows = self._index.get((parsed.vendor_id, currency, parsed.kind), ())
        return sum(amount for _, amount in rows)

    def vendor_fold(self, vendor_id: str, currency: str, kind: str, *, sign: int = 0) -> int:
        total, debits, credits = self._totals.get((vendor_id, currency, kind), (0, 0, 0))
        return total if sign == 0 else debits if sign > 0 else credits

    def vendor_transactions(
        self, vendor_id: str, currency: str, kind: str, *, after_seq: int = 0
    ) -> tuple[JournalTransaction, ...]:
        rows = self._index.get((vendor_id, currency, kind), ())
        seqs = sorted({s for s, _ in rows if s > after_seq})
        return tuple(map(self._txn, seqs))

    def vendor_currencies(self, vendor_id: str) -> tuple[str, ...]:
        return tuple(sorted(c for (v, c, k) in self._index if v == vendor_id and k == "balance"))

    def balance_accounts(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((v, c) for (v, c, k) in self._index if k == "balance"))

    # holds --------------------------------------------------------------------------------

    def get_hold(self, order_id: str) -> Hold | None:
        return self._hold(order_id)

    def add_hold(self, hold: Hold) -> None:
        if hold.order_id in self._holds:
            raise ConcurrencyConflictError(
                f"hold of order {hold.order_id} already exists", order_id=hold.order_id
            )
        self._uow.set(self._holds, hold.order_id, hold)
        mine = self._vendor_holds.get(hold.vendor_id)
        if mine is None:
            self._uow.set(self._vendor_holds, hold.vendor_id, {hold.order_id: None})
        else:
            self._uow.set(mine, hold.order_id, None)

    def save_hold(self, hold: Hold) -> None:
        current = self._hold(hold.order_id)
        if current is None or current.version != hold.version - 1:
            raise ConcurrencyConflictError(
                f"hold of order {hold.order_id} changed since it was read; reload and retry",
                order_id=hold.order_id,
            )
        self._uow.set(self._holds, hold.order_id, hold)

    def holds_for_vendor(self, vendor_id: str) -> tuple[Hold, ...]:
        hold = self._hold
        return tuple(hold(o) for o in self._vendor_holds.get(vendor_id, {}))  # type: ignore[misc]

    # payouts and vendors ------------------------------------------------------------------

    def add_payout(self, payout: Payout) -> None:
        self._append(self._payouts, payout.vendor_id, payout)

    def payouts(self, vendor_id: str) -> tuple[Payout, ...]:
        return tuple(self._payouts.get(vendor_id, ()))

    def last_payout_seq(self, vendor_id: str, currency: str) -> int:
        # from the journal's payout postings, like every other store (R42)
        rows = self._index.get((vendor_id, currency, "paid_out"), ())
        return rows[-1][0] if rows else 0

    def get_vendor(self, vendor_id: str) -> VendorAccount | None:
        return self._vendors.get(vendor_id)

    def put_vendor(self, account: VendorAccount) -> None:
        current = self._vendors.get(account.vendor_id)
        expected = 0 if current is None else current.version
        if account.version != expected + 1:
            raise ConcurrencyConflictError(
                f"vendor {account.vendor_id} changed since it was read; reload and retry",
                vendor_id=account.vendor_id,
            )
        self._uow.set(self._vendors, account.vendor_id, account)

    def for_order(self, order_id: str) -> tuple[JournalTransaction, ...]:
        return tuple(map(self._txn, self._orders.get(order_id, ())))

    # batched forms (the release sweep): the one-item methods in turn --------------------

    def post_many(
        self, txns: Sequence[JournalTransaction], *, key: bytes | None = None
    ) -> tuple[JournalTransaction, ...]:
        return tuple(self.post(t, key=key) for t in txns)

    def get_holds(self, order_ids: Sequence[str]) -> dict[str, Hold]:
        holds, hold = self._holds, self._hold
        return {o: hold(o) for o in order_ids if o in holds}  # type: ignore[misc]

    def save_holds(self, holds: Sequence[Hold]) -> None:
        for hold in holds:
            self.save_hold(hold)

    def get_vendors(self, vendor_ids: Sequence[str]) -> dict[str, VendorAccount]:
        vendors = self._vendors
        return {v: vendors[v] for v in vendor_ids if v in vendors}

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, tuple[JournalTransaction, ...]]:
        return {o: self.for_order(o) for o in order_ids}

    def journal_facts(self, order_ids: Sequence[str]) -> dict[str, Sequence[JournalFacts]]:
        return {o: journal_facts(self.for_order(o)) for o in order_ids}

    def claim_vendors(self, vendor_ids: Sequence[str]) -> tuple[str, ...]:
        """Every one: the memory store runs one writing transaction at a time."""
        return tuple(dict.fromkeys(vendor_ids))

    def vendor_balances(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return {(v, c): self.vendor_fold(v, c, BALANCE) for v, c in pairs}

    def lock_vendors(self, vendor_ids: Sequence[str]) -> None:
        """Nothing to do: the memory store runs one writing unit of work at a time."""
