"""Tamper evidence in the money facade (R24, R42), mixed into ``Marketplace`` below the money
commands (:class:`~asolora_core.ledger.service._MoneyCommands` subclasses it).

Every journal post, hold and vendor-account write of the money commands goes through
:class:`_IntegrityCommands`: posts are sealed with the configured ``ledger_key`` (an HMAC
chain), holds and vendor accounts are sealed when stored and checked when read for a money
decision, a hold is cross-checked against the journal before it is released, and checkpoints
are published through ``config.checkpoint_sink`` after payout runs and every
``config.checkpoint_every`` transactions. ``verify_journal`` checks all of it. The pure checks
live in :mod:`asolora_core.ledger.integrity`; the threat model is the
"Ledger integrity" page of the docs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence

import attrs

from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.errors import InvalidInputError, LedgerIntegrityError, NotPermittedError
from asolora_core.kernel import _Kernel
from asolora_core.ledger import core
from asolora_core.ledger.integrity import (
    Checkpoint,
    checkpoint_problems,
    hold_problems,
    hold_problems_in,
    seal_fresh,
    seal_ok,
    sealed,
    sign_checkpoint,
)
from asolora_core.ledger.model import (
    BALANCE,
    PAID_OUT,
    Hold,
    JournalTransaction,
    Payout,
    VendorAccount,
    digest,
    vendor_account,
)
from asolora_core.ports import UnitOfWork

__all__ = ["JournalReport", "_IntegrityCommands", "_staff"]

log = logging.getLogger("asolora_core.ledger")


@attrs.frozen(kw_only=True)
class JournalReport:
    """What :meth:`_IntegrityCommands.verify_journal` found (R24, R42)."""

    transactions: int
    head_hash: str  #: anchor it elsewhere to detect a removed tail
    problems: tuple[core.JournalProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _staff(by: Actor, what: str) -> None:
    """R1, an allow-list: staff and the system only."""
    kind = check_actor(by).kind
    if kind is not ActorKind.STAFF and kind is not ActorKind.SYSTEM:
        raise NotPermittedError(f"only staff or the system may {what}", actor=by.key)


def _refuse_disagreeing(hold: Hold, txns: Sequence[JournalTransaction]) -> None:
    """``LedgerIntegrityError`` when ``hold`` disagrees with its order's journal (R42)."""
    problems = hold_problems(hold, txns)
    if problems:
        _refuse(hold, problems)


def _refuse(hold: Hold, problems: Sequence[str]) -> None:
    raise LedgerIntegrityError(
        f"the hold of order {hold.order_id} disagrees with the journal "
        f"({'; '.join(problems)}); it is not released: run verify_journal",
        order_id=hold.order_id,
    )


#: At most this many vendor accounts are remembered as checked (then the memory starts again).
_VENDORS_CHECKED_MAX = 4096
#: The holds sealed or checked last that are remembered (the oldest is forgotten first).
_HOLDS_CHECKED_MAX = 32


class _IntegrityCommands(_Kernel):
    """Sealed posts, holds and vendor accounts; checkpoints; verification (R24, R42)."""

    def _install(self) -> None:
        self._key = self.config.ledger_key
        # vendor accounts whose seal was checked, by seal: an account equal in every field
        # to one checked with the same seal (and this marketplace's key) has the same seal
        # hash, so it is not hashed again (a sweep reads the same vendors batch after batch)
        self._vendors_checked: dict[str, VendorAccount] = {}
        # the same for the holds this marketplace sealed or checked last, by seal: a hold read
        # back equal to one of them (the memory store gives the very object; a completion or
        # a refund reads the hold the order's previous command sealed) is not hashed again
        self._holds_checked: dict[str, Hold] = {}
        self._checkpoint_due = threading.local()
        self._after_commit.append(self._publish_due_checkpoint)
        self._posting_reactors.append(self._mark_checkpoint_due)

    # --- integrity (R24, R42): every post, hold and vendor write goes through these ----------

    def _mark_checkpoint_due(self, uow: UnitOfWork, posted: JournalTransaction) -> None:
        """Every ``checkpoint_every``-th transaction (posted by the kernel's
        ``_post_journal``, sealed with ``config.ledger_key``) asks for a checkpoint."""
        if posted.seq % self.config.checkpoint_every == 0:
            self._checkpoint_due.flag = True  # published once the transaction commits

    def _vendor_seal_ok(self, account: VendorAccount) -> bool:
        """:func:`seal_ok` of a vendor account, remembered for the next read of it."""
        checked = self._vendors_checked.get(account.seal)
        if checked is not None and (checked is account or checked == account):
            return True
        if not seal_ok(account, self._key):
            return False
        if len(self._vendors_checked) >= _VENDORS_CHECKED_MAX:
            self._vendors_checked.clear()
        self._vendors_checked[account.seal] = account
        return True

    def _hold_seal_ok(self, hold: Hold) -> bool:
        """:func:`seal_ok` of a hold, remembered for the next read of it (a hold equal in
        every field, its seal included, to one sealed or checked under this marketplace's key
        has a matching seal: the seal is a function of the other fields and the key)."""
        checked = self._holds_checked.get(hold.seal)
        if checked is not None and (checked is hold or checked == hold):
            return True
        if not seal_ok(hold, self._key):
            return False
        self._remember_hold(hold)
        return True

    def _remember_hold(self, hold: Hold) -> None:
        # threads of a web app share this memory (on PostgreSQL their commands run at once):
        # another thread may forget the same oldest entry, or add one, between the look-up
        # and the removal, so neither may raise (the memory may then briefly hold a few more)
        checked = self._holds_checked
        if len(checked) >= _HOLDS_CHECKED_MAX:
            with contextlib.suppress(RuntimeError, StopIteration):  # changed meanwhile
                checked.pop(next(iter(checked)), None)
        checked[hold.seal] = hold

    def _add_hold(self, uow: UnitOfWork, hold: Hold) -> None:
        stored = sealed(hold, self._key)
        uow.ledger.add_hold(stored)
        self._remember_hold(stored)

    def _save_hold(self, uow: UnitOfWork, hold: Hold) -> None:
        stored = sealed(hold, self._key)
        uow.ledger.save_hold(stored)
        self._remember_hold(stored)

    def _get_hold(self, uow: UnitOfWork, order_id: str) -> Hold | None:
        """The hold, refused with ``LedgerIntegrityError`` if its seal does not match."""
        hold = uow.ledger.get_hold(order_id)
        if hold is not None and (hold.order_id != order_id or not self._hold_seal_ok(hold)):
            raise LedgerIntegrityError(
                f"the hold of order {order_id} was changed outside the library (its seal does "
                "not match); nothing is computed from it: run verify_journal and restore it",
                order_id=order_id,
            )
        return hold

    def _get_vendor(self, uow: UnitOfWork, vendor_id: str) -> VendorAccount | None:
        account = uow.ledger.get_vendor(vendor_id)
        if account is not None and not self._vendor_seal_ok(account):
            raise LedgerIntegrityError(
                f"vendor {vendor_id}'s account was changed outside the library (its seal does "
                "not match); nothing is computed from it: run verify_journal and restore it",
                vendor_id=vendor_id,
            )
        return account

    def _get_holds(self, uow: UnitOfWork, order_ids: Sequence[str]) -> dict[str, Hold]:
        """:meth:`_get_hold` of many orders in one read (locked for this unit of work on a
        server store); the first hold whose seal does not match is refused."""
        holds = uow.ledger.get_holds(order_ids)
        for order_id, hold in holds.items():
            if hold.order_id != order_id or not seal_ok(hold, self._key):
                raise LedgerIntegrityError(
                    f"the hold of order {order_id} was changed outside the library (its seal "
                    "does not match); nothing is computed from it: run verify_journal and "
                    "restore it",
                    order_id=order_id,
                )
        return holds

    def _save_fresh_holds(self, uow: UnitOfWork, holds: Sequence[Hold]) -> None:
        """:meth:`_save_hold` of many holds the caller has just built and shared with no one
        (a sweep batch's released holds): each sealed in place (``seal_fresh``), no copy."""
        key = self._key
        uow.ledger.save_holds([seal_fresh(h, key) for h in holds])

    def _get_vendors(self, uow: UnitOfWork, vendor_ids: Sequence[str]) -> dict[str, VendorAccount]:
        """:meth:`_get_vendor` of many vendors in one read."""
        accounts = uow.ledger.get_vendors(vendor_ids)
        for vendor_id, account in accounts.items():
            if account.vendor_id != vendor_id or not self._vendor_seal_ok(account):
                raise LedgerIntegrityError(
                    f"vendor {vendor_id}'s account was changed outside the library (its seal "
                    "does not match); nothing is computed from it: run verify_journal and "
                    "restore it",
                    vendor_id=vendor_id,
                )
        return accounts

    def _check_many_against_journal(self, uow: UnitOfWork, holds: Sequence[Hold]) -> None:
        """:meth:`_check_against_journal` of many holds, what it reads of their orders'
        transactions (``journal_facts``) read at once."""
        journal = uow.ledger.journal_facts([h.order_id for h in holds])
        for hold in holds:
            problems = hold_problems_in(hold, journal.get(hold.order_id, ()))
            if problems:
                _refuse(hold, problems)

    def _check_against_journal(self, uow: UnitOfWork, hold: Hold) -> None:
        """Before a release: the hold must agree with the order's journal transactions."""
        _refuse_disagreeing(hold, uow.ledger.for_order(hold.order_id))

    def _check_payout_against_journal(
        self,
        uow: UnitOfWork,
        vendor_id: str,
        currency: str,
        total: int,
        last: int,
        window: Sequence[JournalTransaction],
    ) -> None:
        """Before a payout (R18, R42): the running total it pays from (``total``, the fold of
        the vendor's balance account) must be what the journal says: the balance the last
        payout (at ``last``) left, as its sealed memo records it (0 before the first payout),
        plus every transaction since (``window``). Each of those, and that payout, must carry
        its own hash (an HMAC under ``ledger_key``). A payout stored before the memo recorded
        the balance left is checked against the sum of the account's entries instead. A
        running total raised with SQL, an entry edited (with its running total) before the
        last payout, or a transaction appended or edited without the key: nothing is paid,
        ``LedgerIntegrityError``."""
        ledger = uow.ledger
        key = self._key
        account = vendor_account(vendor_id, BALANCE)
        checked = list(window)
        opening: int | None = 0
        if last:
            before = ledger.vendor_transactions(vendor_id, currency, PAID_OUT, after_seq=last - 1)
            previous = next((t for t in before if t.seq == last), None)
            left = None if previous is None else previous.memo.get("remaining")
            opening = int(left) if isinstance(left, str) and left.lstrip("-").isdigit() else None
            if previous is not None:
                checked.append(previous)
        forged = [t.seq for t in checked if digest(t, t.seq, t.prev_hash, key) != t.hash]
        if opening is None:
            expected = ledger.journal_fold(account, currency)
        else:
            expected = opening - sum(t.entries_for(account, currency) for t in window)
            expected = -expected  # the fold: a credit account's balance is minus its fold
        if expected != total or forged:
            found = (
                f"transactions {sorted(forged)[:5]} do not match their hash"
                if forged
                else f"its running total {total} differs from the journal's {expected}"
            )
            raise LedgerIntegrityError(
                f"the balance of vendor {vendor_id} in {currency} disagrees with the journal "
                f"({found}); nothing is paid out: run verify_journal",
                vendor_id=vendor_id,
                currency=currency,
            )

    def _publish_due_checkpoint(self) -> None:
        """After a commit: publish the checkpoint a post asked for (see ``_post``)."""
        if not getattr(self._checkpoint_due, "flag", False):
            return
        self._checkpoint_due.flag = False
        try:
            self.publish_checkpoint(by=Actor.system())
        except Exception:  # the commit stands; the next checkpoint covers it
            log.exception("publishing a journal checkpoint failed")

    def seal_ledger(self, *, by: Actor) -> int:
        """R42, once after upgrading from a version without seals: seal every hold and vendor
        account stored without one (``seal == ""``), if it agrees with the journal; returns
        how many were sealed. Until then such a row is refused at release like an altered
        one. A hold that disagrees with the journal is left unsealed (and reported by
        ``verify_journal``)."""
        _staff(by, "seal the ledger")
        done = 0
        with self.store.unit_of_work() as uow:
            ledger = uow.ledger
            txns = ledger.journal()
            vendors = sorted({t.vendor_id for t in txns})
            for vendor_id in vendors:
                account = ledger.get_vendor(vendor_id)
                if account is not None and not account.seal:
                    ledger.put_vendor(
                        sealed(attrs.evolve(account, version=account.version + 1), self._key)
                    )
                    done += 1
                for hold in ledger.holds_for_vendor(vendor_id):
                    if hold.seal or hold_problems(hold, ledger.for_order(hold.order_id)):
                        continue
                    self._save_hold(uow, attrs.evolve(hold, version=hold.version + 1))
                    done += 1
            uow.commit()
        return done

    def publish_checkpoint(self, *, by: Actor) -> Checkpoint:
        """R42: the journal's position and head hash now, signed with ``ledger_key``, sent to
        ``config.checkpoint_sink`` (if any) and returned. Run by itself after every payout
        run and every ``checkpoint_every`` transactions; staff or system may run it any
        time. Keep checkpoints outside the database: ``verify_journal(checkpoint=...)``
        then finds a removed tail."""
        _staff(by, "publish a checkpoint")
        now = self._now()
        with self.store.reader() as uow:
            seq, head = uow.ledger.head()
        checkpoint = sign_checkpoint(seq, head, now, self._key)
        sink = self.config.checkpoint_sink
        if sink is not None:
            sink.publish(checkpoint)
        return checkpoint

    def verify_journal(self, *, by: Actor, checkpoint: Checkpoint | None = None) -> JournalReport:
        """R24, R42: check everything money is computed from.

        * the hash chain (HMAC under ``ledger_key`` when configured), that every transaction
          balances, and that every account fold the store keeps matches a fold of the journal;
        * every hold: its seal, and its vendor, paid and held amounts and released state
          against the order's journal transactions; every order in the journal has its hold;
        * every vendor account's seal;
        * every payout row against its journal transaction (vendor, currency, amount), and
          every payout transaction has its row;
        * with ``checkpoint`` (one published earlier, see :meth:`publish_checkpoint`): its
          signature, and that the journal still holds it (a removed tail is found).
        """
        _staff(by, "verify the journal")
        if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
            raise InvalidInputError(
                "checkpoint must be a Checkpoint (as publish_checkpoint returns it)",
                field="checkpoint",
            )
        key = self._key
        with self.store.reader() as uow:
            ledger = uow.ledger
            txns = ledger.journal()
            count, head, problems = core.verify(txns, key)
            found = list(problems)

            def problem(seq: int, text: str) -> None:
                found.append(core.JournalProblem(seq=seq, problem=text))

            folds: dict[tuple[str, str], int] = {}
            by_order: dict[str, list[JournalTransaction]] = {}
            by_seq: dict[int, JournalTransaction] = {}
            vendors: set[str] = set()
            for t in txns:
                by_seq[t.seq] = t
                vendors.add(t.vendor_id)
                if t.order_id is not None:
                    by_order.setdefault(t.order_id, []).append(t)
                for e in t.entries:
                    k = (e.account, e.currency)
                    folds[k] = folds.get(k, 0) + e.amount_minor
            for (account, cur), total in sorted(folds.items()):
                if ledger.fold(account, cur) != total:
                    problem(0, f"cached fold of {account} {cur} differs")
            for vendor_id, cur in ledger.balance_accounts():
                account = vendor_account(vendor_id, BALANCE)
                if (account, cur) not in folds and ledger.fold(account, cur) != 0:
                    problem(0, f"cached fold of {account} {cur} has no journal entries")
            holds: dict[str, Hold] = {}
            unreadable: set[str] = set()
            for v in sorted(vendors):
                try:
                    holds.update((h.order_id, h) for h in ledger.holds_for_vendor(v))
                except LedgerIntegrityError as exc:  # a body edited so that it does not decode
                    unreadable.add(v)
                    problem(0, f"holds of vendor {v}: {exc}")
            for order_id in sorted(by_order):
                if order_id not in holds:
                    if by_order[order_id][0].vendor_id in unreadable:
                        continue
                    hold = ledger.get_hold(order_id)
                    if hold is None:
                        problem(by_order[order_id][0].seq, f"order {order_id} has no hold")
                        continue
                    holds[order_id] = hold
            for order_id, hold in sorted(holds.items()):
                if not seal_ok(hold, key):
                    problem(0, f"hold of order {order_id}: seal does not match (altered)")
                for text in hold_problems(hold, by_order.get(order_id, ())):
                    problem(0, f"hold of order {order_id}: {text}")
            for vendor_id in sorted(vendors):
                registered = ledger.get_vendor(vendor_id)
                if registered is not None and not seal_ok(registered, key):
                    problem(0, f"vendor {vendor_id}: seal does not match (altered)")
            rows: dict[str, Payout] = {}
            for v in sorted(vendors):
                try:
                    rows.update((p.payout_id, p) for p in ledger.payouts(v))
                except LedgerIntegrityError as exc:  # a row edited so that it does not decode
                    problem(0, f"payouts of vendor {v}: {exc}")
            for p in rows.values():
                txn = by_seq.get(p.seq)
                paid = (
                    None
                    if txn is None
                    else -txn.entries_for(vendor_account(p.vendor_id, PAID_OUT), p.currency)
                )
                if txn is None or txn.kind != "payout" or txn.ref != p.payout_id:
                    problem(p.seq, f"payout {p.payout_id} has no transaction")
                elif txn.vendor_id != p.vendor_id or paid != p.amount_minor:
                    problem(p.seq, f"payout {p.payout_id} differs from its transaction")
            for t in txns:
                if t.kind == "payout" and t.ref not in rows:
                    problem(t.seq, f"payout transaction {t.seq} has no payout {t.ref}")
            if checkpoint is not None:
                for text in checkpoint_problems(checkpoint, txns, key):
                    problem(checkpoint.seq, text)
        return JournalReport(transactions=count, head_hash=head, problems=tuple(found))
