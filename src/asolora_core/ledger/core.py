"""The pure ledger core: the journal transactions of every money move (R15-R25, R39, R41, R42).

Each function takes the current :class:`~asolora_core.ledger.model.Hold` (or balance), the
fee schedule and, where currencies change, a rate snapshot, and returns the new hold and the
(unsealed) :class:`~asolora_core.ledger.model.JournalTransaction`. No I/O, no clock: the
facade looks up rates and balances, seals and stores.

Rounding, in one place: every fee is rounded once by its own rule in
:class:`~asolora_core.ledger.model.FeeSchedule`; every conversion once by
:func:`asolora_core.fx.convert` (half-even); a payout is rounded DOWN to the quantum.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from asolora_core import fx
from asolora_core._values import evolve, replacer, value_repr
from asolora_core.errors import InvalidTransitionError, NotFoundError
from asolora_core.fx import RateSnapshot
from asolora_core.ledger.model import (
    ADJUSTMENTS,
    BALANCE,
    BUYER_FUNDS,
    CHARGEBACK_HELD,
    COMMISSION,
    CONVERSION_FEES,
    FEE_CURRENCY,
    FX_POSITION,
    GENESIS_HASH,
    HELD,
    PAID_OUT,
    PROCESSING_FEES,
    REFUND_FEE_HELD,
    RESERVE,
    Chargeback,
    Entry,
    FeeSchedule,
    Hold,
    JournalTransaction,
    Statement,
    StatementLine,
    digest,
    iso,
    statement_kind,
    vendor_account,
)

__all__ = [
    "JournalProblem",
    "adjustment",
    "capture",
    "chargeback",
    "chargeback_won",
    "complete",
    "payout",
    "payout_amount",
    "refund",
    "release",
    "reserve",
    "reserve_release",
    "statement",
    "verify",
    "with_minimum_balance",
]

Posting = tuple[str, str, int]


def _entries(postings: Iterable[Posting]) -> tuple[Entry, ...]:
    """Merge postings per (account, currency), in first-seen order, and drop zeros."""
    totals: dict[tuple[str, str], int] = {}
    for account, currency, amount in postings:
        totals[(account, currency)] = totals.get((account, currency), 0) + amount
    # a list display, then a tuple: faster than a generator for a handful of entries
    return tuple(
        [Entry(account=a, currency=c, amount_minor=m) for (a, c), m in totals.items() if m]
    )


def _next(hold: Hold, **changes: object) -> Hold:
    return evolve(hold, version=hold.version + 1, **changes)


#: the released hold: the next version with its release (one generated call, see ``release``)
_released = replacer(Hold, "version", "released_at", "released_minor", "payout_currency")


# --- capture and completion ------------------------------------------------------------------


def capture(
    *, order_id: str, vendor_id: str, currency: str, paid_minor: int, at: _dt.datetime
) -> tuple[Hold, JournalTransaction | None]:
    """The buyer's payment: buyer funds in, the vendor's held proceeds up (R15)."""
    hold = Hold(
        order_id=order_id,
        vendor_id=vendor_id,
        currency=currency,
        version=1,
        paid_minor=paid_minor,
        placed_at=at,
    )
    entries = _entries(
        [
            (BUYER_FUNDS, currency, paid_minor),
            (vendor_account(vendor_id, HELD), currency, -paid_minor),
        ]
    )
    if not entries:
        return hold, None
    txn = JournalTransaction(
        key=f"capture:{order_id}",
        kind="capture",
        at=at,
        vendor_id=vendor_id,
        order_id=order_id,
        entries=entries,
        memo={"paid": str(paid_minor)},
    )
    return hold, txn


def _fees_now(hold: Hold, fees: FeeSchedule) -> tuple[int, int]:
    """The commission and processing fee the schedule gives the order's current net: the
    one rule for refunds before and after release (R21, and ``commission_refunded_on_refund``
    applied the same once released). A cancelled order is never charged fees (R11): a
    chargeback or a win after its cancellation leaves them as they are."""
    if hold.cancelled:
        return hold.commission_minor, hold.processing_fee_minor
    net = max(hold.net_minor, 0)
    base = net if fees.commission_refunded_on_refund else (hold.commission_base_minor or 0)
    commission = fees.commission(base, hold.currency) if net else 0
    processing_base = net if fees.processing_fee_refunded_on_refund else hold.paid_minor
    processing = fees.processing_fee(processing_base, hold.currency)
    return commission, processing


#: the changes :func:`complete` and :func:`_fee_postings` make, generated once (see
#: :func:`asolora_core._values.replacer`)
_completing = replacer(Hold, "version", "completed_at", "release_at", "commission_base_minor")
_with_fees = replacer(Hold, "commission_minor", "processing_fee_minor")


def _fee_postings(hold: Hold, fees: FeeSchedule) -> tuple[Hold, list[Posting]]:
    """Bring the booked commission and processing fee to what the schedule says they are now
    (R15, R21): both are recomputed on the current net while the order is held."""
    if hold.completed_at is None or hold.released_at is not None:
        return hold, []
    commission, processing = _fees_now(hold, fees)
    held = vendor_account(hold.vendor_id, HELD)
    dc = commission - hold.commission_minor
    dp = processing - hold.processing_fee_minor
    postings: list[Posting] = [
        (held, hold.currency, dc),
        (COMMISSION, hold.currency, -dc),
        (held, hold.currency, dp),
        (PROCESSING_FEES, hold.currency, -dp),
    ]
    return _with_fees(hold, commission, processing), postings


def complete(
    hold: Hold, *, fees: FeeSchedule, completed_at: _dt.datetime, hold_period: _dt.timedelta
) -> tuple[Hold, JournalTransaction | None]:
    """R15: at completion the commission and the processing fee are charged, and the proceeds
    are held until ``completed_at + hold_period`` (exact UTC arithmetic)."""
    if hold.completed_at is not None:
        return hold, None
    hold = _completing(
        hold, hold.version + 1, completed_at, completed_at + hold_period, max(hold.net_minor, 0)
    )
    hold, postings = _fee_postings(hold, fees)
    entries = _entries(postings)
    if not entries:
        return hold, None
    txn = JournalTransaction(
        key=f"fees:{hold.order_id}",
        kind="fees",
        at=completed_at,
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        entries=entries,
        memo={
            "commission": str(hold.commission_minor),
            "processing_fee": str(hold.processing_fee_minor),
        },
    )
    return hold, txn


# --- conversion legs -------------------------------------------------------------------------


def _conversion_postings(
    amount_minor: int, snapshot: RateSnapshot, fees: FeeSchedule
) -> tuple[list[Posting], int, int, dict[str, str]]:
    """``amount_minor`` of the snapshot's base into its quote through the FX position, with
    the conversion fee when the currency changes (R17, R24, R25).

    Returns the FX postings (base leg in, quote leg out), the converted amount, the fee, and
    the memo of the conversion."""
    base, quote = snapshot.base, snapshot.quote
    converted = fx.convert(amount_minor, snapshot)
    fee = fees.conversion_fee(converted) if base != quote else 0
    postings: list[Posting] = [
        (FX_POSITION, base, -amount_minor),
        (FX_POSITION, quote, converted),
        (CONVERSION_FEES, quote, -fee),
    ]
    memo = {
        "order_currency": base,
        "payout_currency": quote,
        "rate": str(snapshot.rate),
        "rate_source": snapshot.source,
        "rate_as_of": iso(snapshot.as_of),
        "converted": str(converted),
        "conversion_fee": str(fee),
    }
    return postings, converted, fee, memo


def _debit_postings(
    hold: Hold, amount_minor: int, snapshot: RateSnapshot, fees: FeeSchedule
) -> tuple[list[Posting], int, dict[str, str]]:
    """R22: ``amount_minor`` (order currency) leaves through the FX position; the vendor's
    balance is debited its conversion at ``snapshot`` plus the conversion fee."""
    converted = fx.convert(amount_minor, snapshot)
    fee = fees.conversion_fee(converted) if snapshot.base != snapshot.quote else 0
    postings: list[Posting] = [
        (FX_POSITION, snapshot.base, amount_minor),
        (FX_POSITION, snapshot.quote, -converted),
        (CONVERSION_FEES, snapshot.quote, -fee),
        (vendor_account(hold.vendor_id, BALANCE), snapshot.quote, converted + fee),
    ]
    memo = {
        "order_currency": snapshot.base,
        "payout_currency": snapshot.quote,
        "rate": str(snapshot.rate),
        "rate_source": snapshot.source,
        "rate_as_of": iso(snapshot.as_of),
        "converted": str(converted),
        "conversion_fee": str(fee),
    }
    return postings, fee, memo


# --- release ---------------------------------------------------------------------------------


def release(
    hold: Hold,
    *,
    fees: FeeSchedule,
    snapshot: RateSnapshot,
    balance_before_minor: int,
    now: _dt.datetime,
) -> tuple[Hold, JournalTransaction | None, int]:
    """R17, R23: credit the held proceeds to the vendor's balance in ``snapshot.quote``,
    converted at the snapshot's rate, less the conversion fee (its own posting). Returns the
    released hold, the transaction (None when the proceeds are zero) and the offset: the part
    of the credit that covered a negative balance (``balance_before_minor``, as shown)."""
    if not hold.is_due(now):
        raise InvalidTransitionError(
            f"order {hold.order_id} is not releasable now (state {hold.state}, release_at "
            f"{hold.release_at.isoformat() if hold.release_at else 'not set'}); a hold is "
            "released once, after release_at, when not frozen",
            order_id=hold.order_id,
            state=hold.state,
        )
    proceeds = hold.held_minor
    payout_currency = snapshot.quote
    postings, converted, fee, memo = _conversion_postings(proceeds, snapshot, fees)
    credit = converted - fee
    offset = min(credit, -balance_before_minor) if credit > 0 and balance_before_minor < 0 else 0
    postings = [
        (vendor_account(hold.vendor_id, HELD), hold.currency, proceeds),
        *postings,
        (vendor_account(hold.vendor_id, BALANCE), payout_currency, -credit),
    ]
    # R39, R41: a provider's fee a chargeback took from the held proceeds (and a win did not
    # give back) is a processing fee of this release, so that the line explains itself:
    # gross - commission - processing fee == proceeds
    chargeback_fees = hold.chargeback_held_minor - sum(
        c.open_applied_minor for c in hold.chargebacks if not c.after_release
    )
    memo.update(
        gross=str(hold.net_minor),
        commission=str(hold.commission_minor),
        processing_fee=str(hold.processing_fee_minor + chargeback_fees),
        proceeds=str(proceeds),
        offset=str(offset),
    )
    if chargeback_fees:
        memo["chargeback_fee"] = str(chargeback_fees)
    if proceeds < 0 and hold.chargeback_held_minor > 0:
        # R39, R41: chargebacks before release took more than the order's proceeds; the
        # release moves no proceeds and debits the balance, so the statement and earnings
        # show it as a chargeback (statement_kind), not as a negative release
        memo[CHARGEBACK_HELD] = str(hold.chargeback_held_minor)
    elif proceeds < 0 and hold.refunded_before_release_minor > 0:
        # R21, R41: refunds before release left only fees (the processing fee a refund does
        # not give back); the release moves no proceeds and debits those fees, so the
        # statement and earnings show a ``fee`` line (statement_kind), not a negative release
        memo[REFUND_FEE_HELD] = str(hold.refunded_before_release_minor)
    new = _released(hold, hold.version + 1, now, credit, payout_currency)
    entries = _entries(postings)
    if not entries:
        return new, None, 0
    txn = JournalTransaction(
        key=f"release:{hold.order_id}",
        kind="release",
        at=now,
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        entries=entries,
        memo=memo,
    )
    return new, txn, offset


# --- refunds and chargebacks -----------------------------------------------------------------


def refund(
    hold: Hold,
    *,
    refund_id: str,
    amount_minor: int,
    at: _dt.datetime,
    fees: FeeSchedule,
    snapshot: RateSnapshot | None,
) -> tuple[Hold, JournalTransaction]:
    """R20-R22: the buyer gets ``amount_minor`` back in the order currency.

    Before release (``snapshot`` unused) the held proceeds drop by the refund and the fees are
    recomputed (commission back, processing fee kept, R21). After release ``snapshot``
    (order currency -> payout currency, in force now) converts the refund, and the vendor's
    balance is debited the converted refund, the conversion fee and the refund processing fee
    (R22); it may go negative.
    """
    held = vendor_account(hold.vendor_id, HELD)
    postings: list[Posting] = [(BUYER_FUNDS, hold.currency, -amount_minor)]
    memo = {"gross": str(amount_minor), "order_currency": hold.currency}
    if hold.released_at is None:
        hold = evolve(
            hold,
            refunded_minor=hold.refunded_minor + amount_minor,
            refunded_before_release_minor=hold.refunded_before_release_minor + amount_minor,
        )
        hold, fee_postings = _fee_postings(hold, fees)
        postings += [(held, hold.currency, amount_minor), *fee_postings]
    else:
        if snapshot is None:  # pragma: no cover - the facade always passes one
            raise ValueError("a refund after release needs a rate snapshot")
        # The same fee rule as before release: the fees are recomputed on the new net, and
        # what they drop by goes back to the vendor, netted from the debit.
        hold = evolve(hold, refunded_minor=hold.refunded_minor + amount_minor)
        commission, processing = _fees_now(hold, fees)
        commission_back = hold.commission_minor - commission
        processing_back = hold.processing_fee_minor - processing
        debit_minor = amount_minor - commission_back - processing_back
        debit, _, conv_memo = _debit_postings(hold, debit_minor, snapshot, fees)
        # the refund processing fee stays a fee on the converted refund itself (R22)
        refund_fee = fees.refund_fee(fx.convert(amount_minor, snapshot), snapshot.quote)
        postings += [
            (COMMISSION, hold.currency, commission_back),
            (PROCESSING_FEES, hold.currency, processing_back),
            *debit,
            (PROCESSING_FEES, snapshot.quote, -refund_fee),
            (vendor_account(hold.vendor_id, BALANCE), snapshot.quote, refund_fee),
        ]
        conv_memo["processing_fee"] = str(refund_fee)
        conv_memo["commission"] = str(commission_back)
        conv_memo["processing_fee_back"] = str(processing_back)
        conv_memo["debited"] = str(debit_minor)
        memo.update(conv_memo)
        hold = evolve(hold, commission_minor=commission, processing_fee_minor=processing)
    hold = _next(hold)
    txn = JournalTransaction(
        key=f"refund:{refund_id}",
        kind="refund",
        at=at,
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        ref=refund_id,
        entries=_entries(postings),
        memo=memo,
    )
    return hold, txn


def chargeback(
    hold: Hold,
    *,
    chargeback_id: str,
    reported_minor: int,
    fee_minor: int,
    at: _dt.datetime,
    fees: FeeSchedule,
    snapshot: RateSnapshot | None,
) -> tuple[Hold, JournalTransaction | None, Chargeback]:
    """R39: the provider took ``reported_minor`` back from the platform for the buyer and
    charged ``fee_minor``. Only what the buyer still has paid (not refunded, not already
    charged back) is booked (``applied_minor``): a refund and a chargeback of the same money
    never both reach the buyer. Before release it comes out of the held proceeds (and the
    facade freezes the release, R16); after release it is debited from the balance as a
    refund is (R22), without the refund processing fee. When nothing is left to charge back
    (the buyer was refunded in full) neither the amount nor the fee is booked: the platform
    contests such a chargeback with the provider."""
    applied = max(0, min(reported_minor, hold.net_minor))
    if applied == 0:
        fee_minor = 0  # the buyer already has it all back: the platform contests it
    after = hold.released_at is not None
    row = Chargeback(
        chargeback_id=chargeback_id,
        reported_minor=reported_minor,
        applied_minor=applied,
        fee_minor=fee_minor,
        at=at,
        after_release=after,
        currency=hold.currency,
    )
    total = applied + fee_minor
    postings: list[Posting] = [(BUYER_FUNDS, hold.currency, -total)]
    memo = {
        "gross": str(applied),
        "reported": str(reported_minor),
        "processing_fee": str(fee_minor),
        "order_currency": hold.currency,
    }
    new = evolve(hold, chargebacks=(*hold.chargebacks, row))
    if not after:
        new, fee_postings = _fee_postings(new, fees)
        postings += [(vendor_account(hold.vendor_id, HELD), hold.currency, total), *fee_postings]
    else:
        if snapshot is None:  # pragma: no cover - the facade always passes one
            raise ValueError("a chargeback after release needs a rate snapshot")
        # the one fee rule of refunds (R21, R22): the commission on what the buyer took
        # back comes back to the vendor, netted from the debit
        commission, processing = _fees_now(new, fees)
        commission_back = hold.commission_minor - commission
        processing_back = hold.processing_fee_minor - processing
        debit_minor = total - commission_back - processing_back
        debit, _, conv_memo = _debit_postings(hold, debit_minor, snapshot, fees)
        postings += [
            (COMMISSION, hold.currency, commission_back),
            (PROCESSING_FEES, hold.currency, processing_back),
            *debit,
        ]
        conv_memo["commission"] = str(commission_back)
        memo.update(conv_memo)
        # R31, R39: the provider's fee is in the order currency, not the debit's
        memo[FEE_CURRENCY] = hold.currency
        new = evolve(new, commission_minor=commission, processing_fee_minor=processing)
    new = _next(new)
    entries = _entries(postings)
    if not entries:
        return new, None, row
    txn = JournalTransaction(
        key=f"chargeback:{hold.order_id}:{chargeback_id}",
        kind="chargeback",
        at=at,
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        ref=chargeback_id,
        entries=entries,
        memo=memo,
    )
    return new, txn, row


def chargeback_won(
    hold: Hold,
    *,
    chargeback_id: str,
    at: _dt.datetime,
    fees: FeeSchedule,
    snapshot: RateSnapshot | None,
    fee_returned: bool,
    to_buyer_minor: int = 0,
) -> tuple[Hold, JournalTransaction | None]:
    """R39: the platform won the dispute; the provider gave the money back, and it is
    reinstated to the vendor: the applied amount, and the provider's fee when
    ``fee_returned``. Before release it goes back into the held proceeds (the fees are
    recomputed on the restored net); after release it is credited to the balance, converted
    at ``snapshot`` less the conversion fee, as a release is (R17). Winning twice is refused.

    R11: on a cancelled order ``to_buyer_minor`` of it is the buyer's, not the vendor's: it
    stays in the held account, even once the cancelled hold was settled, for
    :func:`won_refund` to give it to the buyer; only the rest is credited to the balance.
    """
    row = next((c for c in hold.chargebacks if c.chargeback_id == chargeback_id), None)
    if row is None:
        raise NotFoundError(
            f"order {hold.order_id} has no chargeback {chargeback_id!r}",
            order_id=hold.order_id,
            chargeback_id=chargeback_id,
        )
    if row.won_at is not None:
        raise InvalidTransitionError(
            f"chargeback {chargeback_id} was already won on {row.won_at.isoformat()}",
            chargeback_id=chargeback_id,
        )
    amount = row.applied_minor + (row.fee_minor if fee_returned else 0)
    won = evolve(row, won_at=at, reinstated_minor=amount)
    new = evolve(hold, chargebacks=tuple(won if c is row else c for c in hold.chargebacks))
    postings: list[Posting] = [(BUYER_FUNDS, hold.currency, amount)]
    memo = {
        "gross": str(amount),
        "reported": str(row.reported_minor),
        "order_currency": hold.currency,
    }
    if hold.released_at is None:
        new, fee_postings = _fee_postings(new, fees)
        postings += [(vendor_account(hold.vendor_id, HELD), hold.currency, -amount), *fee_postings]
    else:
        if snapshot is None:  # pragma: no cover - the facade always passes one
            raise ValueError("a chargeback won after release needs a rate snapshot")
        # the fee rule again: the restored net carries its commission again
        commission, processing = _fees_now(new, fees)
        commission_up = commission - hold.commission_minor
        processing_up = processing - hold.processing_fee_minor
        credit_minor = amount - to_buyer_minor - commission_up - processing_up
        legs, converted, fee, conv_memo = _conversion_postings(credit_minor, snapshot, fees)
        postings += [
            (COMMISSION, hold.currency, -commission_up),
            (PROCESSING_FEES, hold.currency, -processing_up),
            (vendor_account(hold.vendor_id, HELD), hold.currency, -to_buyer_minor),
            *legs,
            (vendor_account(hold.vendor_id, BALANCE), snapshot.quote, -(converted - fee)),
        ]
        conv_memo["commission"] = str(commission_up)
        memo.update(conv_memo)
        if to_buyer_minor:
            memo.update(gross=str(amount - to_buyer_minor), refunded=str(to_buyer_minor))
        if fee_returned and row.fee_minor:
            # R31, R39, R41: the provider's fee given back is a negative fee, as before
            # release, so the line mirrors the chargeback's: gross - commission - fee
            gross = row.applied_minor - to_buyer_minor
            memo.update(gross=str(gross), processing_fee=str(-row.fee_minor))
            memo[FEE_CURRENCY] = hold.currency
        new = evolve(new, commission_minor=commission, processing_fee_minor=processing)
    new = _next(new)
    entries = _entries(postings)
    if not entries:
        return new, None
    txn = JournalTransaction(
        key=f"chargeback_won:{hold.order_id}:{chargeback_id}",
        kind="chargeback_won",
        at=at,
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        ref=chargeback_id,
        entries=entries,
        memo=memo,
    )
    return new, txn


def won_refund(
    hold: Hold, *, refund_id: str, chargeback_id: str, amount_minor: int, at: _dt.datetime
) -> tuple[Hold, JournalTransaction]:
    """R11, R39: what a chargeback won on a cancelled order gave back (``amount_minor``, put
    in the held account by :func:`chargeback_won`) goes on to the buyer as a refund. A
    cancelled order is charged no fees and owes the vendor nothing, so the vendor's balance
    does not move: the refund leaves the held account, settled or not."""
    before = hold.released_at is None
    hold = _next(
        hold,
        refunded_minor=hold.refunded_minor + amount_minor,
        refunded_before_release_minor=hold.refunded_before_release_minor
        + (amount_minor if before else 0),
    )
    txn = JournalTransaction(
        key=f"refund:{refund_id}",
        kind="refund",
        at=at,
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        ref=refund_id,
        entries=_entries(
            [
                (BUYER_FUNDS, hold.currency, -amount_minor),
                (vendor_account(hold.vendor_id, HELD), hold.currency, amount_minor),
            ]
        ),
        memo={
            "gross": str(amount_minor),
            "order_currency": hold.currency,
            "reason": f"chargeback {chargeback_id} won on the cancelled order",
        },
    )
    return hold, txn


def adjustment(
    *,
    vendor_id: str,
    currency: str,
    amount_minor: int,
    adjustment_id: str,
    reason: str,
    at: _dt.datetime,
) -> JournalTransaction:
    """A staff adjustment of the vendor's balance: a credit (positive, e.g. a goodwill
    credit) or a debit (negative, e.g. a fine), against ``platform:adjustments``, with its
    reason in the memo; a line of the next statement (R41)."""
    return JournalTransaction(
        key=f"adjustment:{adjustment_id}",
        kind="adjustment",
        at=at,
        vendor_id=vendor_id,
        ref=adjustment_id,
        entries=_entries(
            [
                (vendor_account(vendor_id, BALANCE), currency, -amount_minor),
                (ADJUSTMENTS, currency, amount_minor),
            ]
        ),
        memo={"gross": str(amount_minor), "reason": reason},
    )


def reserve(
    *, vendor_id: str, order_id: str, currency: str, amount_minor: int, at: _dt.datetime
) -> JournalTransaction:
    """The rolling reserve: part of a release moves from the balance to
    ``vendor:<id>:reserve`` until it is released back (R41 shows both moves)."""
    return JournalTransaction(
        key=f"reserve:{order_id}",
        kind="reserve",
        at=at,
        vendor_id=vendor_id,
        order_id=order_id,
        entries=_entries(
            [
                (vendor_account(vendor_id, BALANCE), currency, amount_minor),
                (vendor_account(vendor_id, RESERVE), currency, -amount_minor),
            ]
        ),
        memo={"gross": str(amount_minor), "reason": "rolling reserve kept back"},
    )


def reserve_release(kept: JournalTransaction, *, at: _dt.datetime) -> JournalTransaction:
    """The reserve ``kept`` back from a release comes back to the balance."""
    assert kept.order_id is not None
    (entry,) = [e for e in kept.entries if e.kind == BALANCE]
    return JournalTransaction(
        key=f"reserve_released:{kept.order_id}",
        kind="reserve_released",
        at=at,
        vendor_id=kept.vendor_id,
        order_id=kept.order_id,
        entries=tuple(evolve(e, amount_minor=-e.amount_minor) for e in kept.entries),
        memo={"gross": str(entry.amount_minor), "reason": "rolling reserve released"},
    )


# --- payouts and statements ------------------------------------------------------------------


def payout_amount(balance_minor: int, *, minimum_minor: int, quantum_minor: int) -> int:
    """R18: the positive balance rounded DOWN to the quantum, or 0 below the minimum."""
    if balance_minor <= 0:
        return 0
    amount = balance_minor - balance_minor % quantum_minor
    return amount if amount >= minimum_minor and amount > 0 else 0


def payout(
    *,
    vendor_id: str,
    currency: str,
    payout_id: str,
    amount_minor: int,
    after_seq: int,
    at: _dt.datetime,
    remaining_minor: int | None = None,
) -> JournalTransaction:
    """R18: the balance goes down by the amount paid. The key names the last journal
    position the payout saw, so two runs computing a payout from the same state cannot both
    post it. ``remaining_minor``, the balance the payout leaves, goes into the (hashed) memo:
    the next payout starts from it (R42)."""
    return JournalTransaction(
        key=f"payout:{vendor_id}:{currency}:after:{after_seq}",
        kind="payout",
        at=at,
        vendor_id=vendor_id,
        ref=payout_id,
        entries=_entries(
            [
                (vendor_account(vendor_id, BALANCE), currency, amount_minor),
                (vendor_account(vendor_id, PAID_OUT), currency, -amount_minor),
            ]
        ),
        memo={"amount": str(amount_minor)}
        if remaining_minor is None
        else {"amount": str(amount_minor), "remaining": str(remaining_minor)},
    )


def _int(memo: dict[str, str], key: str) -> int:
    return int(memo.get(key, "0"))


def statement_line(txn: JournalTransaction, currency: str, running_minor: int) -> StatementLine:
    """The statement line of one journal transaction on the vendor's balance (R41)."""
    amount = -txn.entries_for(vendor_account(txn.vendor_id, BALANCE), currency)
    m = txn.memo
    offset = min(amount, -running_minor) if amount > 0 and running_minor < 0 else 0
    return StatementLine(
        kind=statement_kind(txn.kind, m),
        seq=txn.seq,
        at=txn.at,
        order_id=txn.order_id,
        ref=txn.ref,
        amount_minor=amount,
        order_currency=m.get("order_currency", currency),
        gross_minor=_int(m, "gross"),
        commission_minor=_int(m, "commission"),
        processing_fee_minor=_int(m, "processing_fee"),
        proceeds_minor=_int(m, "proceeds"),
        rate=Decimal(m["rate"]) if "rate" in m else None,
        rate_source=m.get("rate_source", ""),
        rate_as_of=_dt.datetime.fromisoformat(m["rate_as_of"]) if "rate_as_of" in m else None,
        converted_minor=_int(m, "converted"),
        conversion_fee_minor=_int(m, "conversion_fee"),
        offset_minor=offset,
        reason=m.get("reason", ""),
        currency=currency,
    )


def statement(
    *,
    vendor_id: str,
    currency: str,
    opening_minor: int,
    transactions: Sequence[JournalTransaction],
    paid_minor: int,
    from_seq: int,
) -> Statement:
    """R41: every balance movement after the previous payout (``from_seq``), itemised, with
    each offset of a negative balance (R23); the closing remainder is what stays."""
    lines: list[StatementLine] = []
    running = opening_minor
    to_seq = from_seq
    for txn in transactions:
        if txn.kind == "payout":
            continue
        line = statement_line(txn, currency, running)
        running += line.amount_minor
        to_seq = max(to_seq, txn.seq)
        lines.append(line)
    return Statement(
        vendor_id=vendor_id,
        currency=currency,
        opening_minor=opening_minor,
        lines=tuple(lines),
        paid_minor=paid_minor,
        closing_minor=running - paid_minor,
        from_seq=from_seq,
        to_seq=to_seq,
    )


def with_minimum_balance(statement: Statement, kept_minor: int, at: _dt.datetime) -> Statement:
    """R41: the payout left the vendor's minimum balance in place: an informational line
    (amount 0, ``gross_minor`` the amount kept) so the statement says why it paid less."""
    line = StatementLine(
        kind="minimum_balance",
        seq=statement.to_seq,
        at=at,
        order_id=None,
        ref=None,
        amount_minor=0,
        order_currency=statement.currency,
        gross_minor=kept_minor,
        reason="minimum balance kept for refunds and debits",
    )
    return evolve(statement, lines=(*statement.lines, line))


# --- verification ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JournalProblem:
    """One thing :func:`verify` found wrong, at journal position ``seq``."""

    __repr__ = value_repr

    seq: int
    problem: str


def verify(
    transactions: Iterable[JournalTransaction], key: bytes | None = None
) -> tuple[int, str, tuple[JournalProblem, ...]]:
    """R24, R42: walk the journal in order, recomputing the hash chain. An altered, removed or
    inserted entry changes its transaction's hash; a removed or inserted transaction breaks
    the sequence or the chain; with the HMAC ``key``, a chain re-sealed without it fails
    everywhere. Returns (count, head hash, problems)."""
    problems: list[JournalProblem] = []
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for txn in transactions:
        count += 1
        if txn.seq != expected_seq:
            problems.append(
                JournalProblem(seq=txn.seq, problem=f"expected position {expected_seq}")
            )
        if txn.prev_hash != expected_prev:
            problems.append(JournalProblem(seq=txn.seq, problem="chain broken: previous hash"))
        if digest(txn, txn.seq, txn.prev_hash, key) != txn.hash:
            problems.append(JournalProblem(seq=txn.seq, problem="hash mismatch: altered"))
        totals: dict[str, int] = {}
        for e in txn.entries:
            totals[e.currency] = totals.get(e.currency, 0) + e.amount_minor
        if any(totals.values()):
            problems.append(JournalProblem(seq=txn.seq, problem="unbalanced"))
        expected_prev = txn.hash
        expected_seq = txn.seq + 1
    return count, expected_prev, tuple(problems)
