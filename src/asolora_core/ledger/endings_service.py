"""The money paths around an order's endings (R22, R39, R41), mixed into ``Marketplace`` on
top of :class:`~asolora_core.ledger.service._MoneyCommands`:

* a chargeback the platform wins is reinstated to the vendor (R39);
* staff adjustments: a credit or a debit of a vendor's balance with a reason (a goodwill
  credit, a fine), a line of the next statement (R41);
* per-vendor payout terms: a rolling reserve (a share of each release kept back for some
  days) and a minimum balance a payout leaves in place; each shows on the statement (R41).

Every one is staff-only, recorded, notified to the vendor and a journal transaction (R24).
"""

from __future__ import annotations

import datetime as _dt

import attrs
from moneyed import Money

from asolora_core import money as _money
from asolora_core.actors import Actor
from asolora_core.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    InvalidMoneyError,
    NotFoundError,
    ReasonRequiredError,
)
from asolora_core.ledger import core
from asolora_core.ledger.events import BalanceAdjusted, ChargebackWon, PayoutTermsSet
from asolora_core.ledger.integrity import sealed
from asolora_core.ledger.integrity_service import _staff
from asolora_core.ledger.model import Hold, JournalTransaction, VendorAccount
from asolora_core.ledger.service import _MoneyCommands
from asolora_core.limits import MAX_RESERVE_DAYS, check_count, check_id, check_text
from asolora_core.orders import commands as ocore
from asolora_core.orders.model import Order, OrderStatus
from asolora_core.ports import UnitOfWork

__all__: list[str] = []


def _reason(reason: object, what: str) -> str:
    """Money moved by hand always says why (staff, or the system acting for them)."""
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequiredError(
            f"give a reason to {what}; it is recorded, sent to the vendor and shown on its "
            "statement",
            field="reason",
        )
    return check_text(reason, "reason").strip()


def _known_vendor(uow: UnitOfWork, vendor_id: str, currency: str | None = None) -> None:
    """Refuse a vendor the store knows nothing of (not registered, no order, no entry): money
    booked to a mistyped id would sit on an account nobody reads, and be paid out to it (R1).
    With ``currency``: a registered vendor's balance is kept and paid in its payout currency
    (R23), so money booked in another one would sit on a balance no payout reads."""
    ledger = uow.ledger
    account = ledger.get_vendor(vendor_id)
    if account is not None and currency is not None and currency != account.payout_currency:
        raise CurrencyMismatchError(
            f"vendor {vendor_id!r} is paid in {account.payout_currency}: adjust its balance in "
            f"{account.payout_currency}, not {currency} (convert the amount first)",
            field="amount",
            currency=currency,
            payout_currency=account.payout_currency,
        )
    if account is not None:
        return
    currencies = set(ledger.vendor_currencies(vendor_id))
    holds = ledger.holds_for_vendor(vendor_id)
    if not currencies and not holds:
        raise NotFoundError(
            f"vendor {vendor_id!r} is not registered and has no orders; check the id, or "
            "register_vendor() it first",
            vendor_id=vendor_id,
        )
    # an unregistered vendor keeps a balance per currency it trades in (R23)
    currencies.update(h.payout_currency or h.currency for h in holds)
    if currency is not None and currency not in currencies:
        raise CurrencyMismatchError(
            f"vendor {vendor_id!r} has no balance in {currency}: adjust it in "
            f"{' or '.join(sorted(currencies))}, or register_vendor() it with a payout currency",
            field="amount",
            currency=currency,
        )


def _to_buyer(order: Order, hold: Hold, reference: str) -> int:
    """R11, R39: what a win of chargeback ``reference`` gives on to the buyer: on a cancelled
    order, its amount, capped at what the buyer still has paid once the win is undone (paid,
    less refunds, less the other chargebacks not won); elsewhere nothing."""
    if not hold.cancelled or order.status is not OrderStatus.CANCELLED:
        return 0
    row = next((c for c in hold.chargebacks if c.chargeback_id == reference), None)
    if row is None or row.won_at is not None:
        return 0  # refused by the core: no such chargeback, or won already
    others = hold.chargeback_minor - row.open_applied_minor
    return max(0, min(row.applied_minor, order.refundable_minor - others))


def _to_vendor(hold: Hold, reference: str, fee_returned: bool, to_buyer: int) -> int:
    """What of the win is the vendor's once ``to_buyer`` went to the buyer (R39)."""
    row = next(c for c in hold.chargebacks if c.chargeback_id == reference)
    return row.applied_minor + (row.fee_minor if fee_returned else 0) - to_buyer


def _won_text(order_id: str, currency: str, reinstated_minor: int, to_buyer: int) -> str:
    """The vendor's word on a won dispute: what it gets back, and on a cancelled order what
    went to the buyer instead (R11, R39)."""
    head = f"The payment dispute on order {order_id} was decided in your favour: "
    if not to_buyer:
        return head + f"{_money.format_minor(reinstated_minor, currency)} reinstated."
    kept = reinstated_minor - to_buyer
    text = (
        head + f"the order is cancelled, so the {_money.format_minor(to_buyer, currency)} "
        "given back was refunded to the buyer"
    )
    if kept:
        return text + f"; {_money.format_minor(kept, currency)} comes back to you."
    return text + "; nothing more is owed on the order."


class _MoneyEndings(_MoneyCommands):
    """Won chargebacks, staff adjustments, rolling reserves and minimum balances."""

    def chargeback_won(
        self,
        order_id: str,
        *,
        reference: str,
        by: Actor,
        idempotency_key: str | None = None,
    ) -> Hold:
        """R39: the payment provider decided the dispute ``reference`` for the platform: the
        amount goes back to the vendor (the provider's fee too when
        ``MoneyConfig.chargeback_fee_returned_on_win``). Before release it returns to the
        held proceeds and the freeze the chargeback put on the order is lifted; after release
        it is credited to the balance at the rate in force now, less the conversion fee.

        On a cancelled order (R11: nothing is owed to the vendor, the buyer gets back what it
        paid) the amount won goes on to the buyer as a refund, capped at what is still
        refundable, and the buyer is told of it; the vendor keeps only what the provider's
        fee rule gives back (the fee, when returned), settled to its balance at once."""
        _staff(by, "record a won chargeback")
        check_id(order_id, "order_id")
        check_id(reference, "reference")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Hold:
            order = uow.orders.get(order_id)
            hold = self._hold(uow, order)
            fee_returned = self._money.chargeback_fee_returned_on_win
            to_buyer = _to_buyer(order, hold, reference)
            snapshot = None
            if hold.released_at is not None:
                payout_currency = self._payout_currency(uow, hold)
                if to_buyer and not _to_vendor(hold, reference, fee_returned, to_buyer):
                    # everything goes to the buyer: nothing to convert, no rate needed
                    payout_currency = hold.currency
                snapshot = self._rate(hold.currency, payout_currency, now)
            new, txn = core.chargeback_won(
                hold,
                chargeback_id=reference,
                at=now,
                fees=self._money.fees,
                snapshot=snapshot,
                fee_returned=fee_returned,
                to_buyer_minor=to_buyer,
            )
            if new.frozen and new.frozen_reason == f"chargeback {reference}":
                new = attrs.evolve(new, frozen=False, frozen_reason="")
                self._schedule_release(uow, new, now)
            self._save_hold(uow, new)
            self._post_txn(uow, txn)
            row = next(c for c in new.chargebacks if c.chargeback_id == reference)
            if to_buyer:
                refund_id = self.ids.new_id("r")
                new, refund_txn = core.won_refund(
                    new, refund_id=refund_id, chargeback_id=reference, amount_minor=to_buyer, at=now
                )
                self._save_hold(uow, new)
                self._post_txn(uow, refund_txn)
                # the order records the refund and the buyer is told (the ledger finds the
                # refund booked under its key and books nothing more)
                refunded, events = ocore.refund_won_chargeback(
                    order,
                    refund_id=refund_id,
                    amount_minor=to_buyer,
                    chargeback_id=reference,
                    by=by,
                    now=now,
                )
                uow.orders.save(refunded)
                self._record(uow, refunded, events, now)
            uow.events.append(
                [
                    ChargebackWon(
                        aggregate_id=order_id,
                        at=now,
                        actor=by,
                        chargeback_id=reference,
                        reinstated_minor=row.reinstated_minor,
                        after_release=snapshot is not None,
                    )
                ]
            )
            self._notify_vendor(
                uow,
                order.vendor_id,
                "chargeback.won",
                order_id,
                _won_text(order_id, order.currency, row.reinstated_minor, to_buyer),
                now,
            )
            # R11, R39: won after the order was cancelled, it is settled at once
            return self._settle_cancelled(uow, new, now)

        return self._execute(
            by,
            "chargeback_won",
            idempotency_key,
            {"order_id": order_id, "reference": reference},
            work,
        )

    def adjust_balance(
        self,
        vendor_id: str,
        *,
        amount: Money,
        reason: str,
        by: Actor,
        idempotency_key: str | None = None,
    ) -> JournalTransaction:
        """Staff credit (a positive ``amount``, e.g. a goodwill credit) or debit (negative,
        e.g. a fine) the vendor's balance in ``amount``'s currency, with a mandatory
        ``reason``; a line of the next payout statement (R41). The balance may go negative
        and is then offset against the next releases (R23). A vendor the store knows nothing
        of (not registered, no order) is :class:`~asolora_core.errors.NotFoundError`: a
        mistyped id never gets an account of its own. A registered vendor is adjusted in its
        payout currency only (:class:`~asolora_core.errors.CurrencyMismatchError` otherwise,
        R23)."""
        _staff(by, "adjust a vendor's balance")
        check_id(vendor_id, "vendor_id")
        reason = _reason(reason, "adjust a vendor's balance")
        if not isinstance(amount, Money):
            raise InvalidMoneyError("amount must be a moneyed.Money", field="amount")
        currency = _money.check_currency(amount.currency.code, field="amount")
        minor = _money.to_minor(amount, field="amount")
        if minor == 0:
            raise InvalidMoneyError("an adjustment must not be zero", field="amount")

        def work(uow: UnitOfWork, now: _dt.datetime) -> JournalTransaction:
            _known_vendor(uow, vendor_id, currency)
            adjustment_id = self.ids.new_id("adj")
            posted = self._post_journal(
                uow,
                core.adjustment(
                    vendor_id=vendor_id,
                    currency=currency,
                    amount_minor=minor,
                    adjustment_id=adjustment_id,
                    reason=reason,
                    at=now,
                ),
            )
            uow.events.append(
                [
                    BalanceAdjusted(
                        aggregate_id=vendor_id,
                        at=now,
                        actor=by,
                        adjustment_id=adjustment_id,
                        currency=currency,
                        amount_minor=minor,
                        reason=reason,
                        seq=posted.seq,
                    )
                ]
            )
            what = "credited to" if minor > 0 else "debited from"
            self._notify_vendor(
                uow,
                vendor_id,
                "balance.adjusted",
                adjustment_id,
                f"{_money.format_minor(abs(minor), currency)} was {what} your balance: {reason}",
                now,
            )
            return posted

        return self._execute(
            by,
            "adjust_balance",
            idempotency_key,
            {"vendor_id": vendor_id, "amount": amount, "reason": reason},
            work,
        )

    def set_payout_terms(
        self,
        vendor_id: str,
        *,
        by: Actor,
        reason: str,
        reserve_bp: int = 0,
        reserve_days: int = 0,
        minimum_balance: Money | None = None,
        idempotency_key: str | None = None,
    ) -> VendorAccount:
        """R41: the vendor's rolling reserve (``reserve_bp`` basis points of each release
        kept back for ``reserve_days``) and minimum balance (left in the balance by every
        payout, in the payout currency); zero turns each off. Staff only, with a reason."""
        _staff(by, "set payout terms")
        check_id(vendor_id, "vendor_id")
        if (
            minimum_balance is not None
            and _money.to_minor(minimum_balance, field="minimum_balance") < 0
        ):  # parsed (and refused) here, before any store; its currency is checked inside
            raise InvalidMoneyError("minimum_balance must not be negative", field="minimum_balance")
        reason = _reason(reason, "set a vendor's payout terms")
        if isinstance(reserve_bp, bool) or not isinstance(reserve_bp, int):
            raise InvalidInputError("reserve_bp must be a whole number", field="reserve_bp")
        if not 0 <= reserve_bp <= 10_000:
            raise InvalidInputError(
                "reserve_bp is basis points from 0 to 10,000 (1,000 = 10 %)", field="reserve_bp"
            )
        check_count(reserve_days, "reserve_days", low=0, high=MAX_RESERVE_DAYS)
        if reserve_bp and reserve_days < 1:
            raise InvalidInputError(
                "reserve_days must be at least 1 when a reserve is kept", field="reserve_days"
            )

        def work(uow: UnitOfWork, now: _dt.datetime) -> VendorAccount:
            current = self._get_vendor(uow, vendor_id)
            if current is None:
                raise NotFoundError(
                    f"vendor {vendor_id!r} is not registered; register_vendor() it first",
                    vendor_id=vendor_id,
                )
            keep = 0
            if minimum_balance is not None:
                keep = _money.to_minor(
                    minimum_balance, currency=current.payout_currency, field="minimum_balance"
                )
                if keep < 0:
                    raise InvalidMoneyError(
                        "minimum_balance must not be negative", field="minimum_balance"
                    )
            account = attrs.evolve(
                current,
                version=current.version + 1,
                reserve_bp=reserve_bp,
                reserve_days=reserve_days,
                minimum_balance_minor=keep,
                updated_at=now,
            )
            uow.ledger.put_vendor(sealed(account, self._key))
            uow.events.append(
                [
                    PayoutTermsSet(
                        aggregate_id=vendor_id,
                        at=now,
                        actor=by,
                        reserve_bp=reserve_bp,
                        reserve_days=reserve_days,
                        minimum_balance_minor=keep,
                        reason=reason,
                    )
                ]
            )
            self._notify_vendor(
                uow,
                vendor_id,
                "payout.terms",
                vendor_id,
                f"Your payout terms changed: {reason}",
                now,
            )
            return account

        return self._execute(
            by,
            "set_payout_terms",
            idempotency_key,
            {
                "vendor_id": vendor_id,
                "reserve_bp": reserve_bp,
                "reserve_days": reserve_days,
                "minimum_balance": minimum_balance,
                "reason": reason,
            },
            work,
        )
