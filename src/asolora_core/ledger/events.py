"""Ledger events (R15-R18, R22, R23, R39, R42): past tense, kept in the history of the order
they concern (``aggregate_id`` is the order id; for payouts and vendor changes, the vendor id).
"""

from __future__ import annotations

import datetime as _dt

import attrs

from asolora_core.events import DomainEvent

__all__ = [
    "BalanceAdjusted",
    "ChargebackReported",
    "ChargebackWon",
    "PayoutPaid",
    "PayoutTermsSet",
    "ProceedsHeld",
    "ProceedsReleased",
    "RefundDebited",
    "ReleaseFrozen",
    "ReleaseUnfrozen",
    "VendorRegistered",
]


@attrs.frozen(kw_only=True)
class ProceedsHeld(DomainEvent):
    """R15: the order completed; its proceeds are held until ``release_at``."""

    vendor_id: str
    currency: str
    held_minor: int
    commission_minor: int
    processing_fee_minor: int
    release_at: _dt.datetime


@attrs.frozen(kw_only=True)
class ReleaseFrozen(DomainEvent):
    """R16, R39: the release is stopped until staff lift the freeze."""

    reason: str


@attrs.frozen(kw_only=True)
class ReleaseUnfrozen(DomainEvent):
    """R16: staff lifted the freeze."""

    reason: str


@attrs.frozen(kw_only=True)
class ProceedsReleased(DomainEvent):
    """R17: the proceeds were credited to the vendor's balance in its payout currency."""

    vendor_id: str
    currency: str
    amount_minor: int
    offset_minor: int
    seq: int


@attrs.frozen(kw_only=True)
class RefundDebited(DomainEvent):
    """R22: a refund after release was debited from the vendor's balance."""

    vendor_id: str
    refund_id: str
    currency: str
    amount_minor: int
    seq: int


@attrs.frozen(kw_only=True)
class ChargebackReported(DomainEvent):
    """R39: the payment provider reported a chargeback on the order."""

    chargeback_id: str
    reported_minor: int
    applied_minor: int
    fee_minor: int
    after_release: bool


@attrs.frozen(kw_only=True)
class PayoutPaid(DomainEvent):
    """R18: a payout was sent to the vendor (``aggregate_id`` is the vendor id)."""

    payout_id: str
    currency: str
    amount_minor: int
    seq: int


@attrs.frozen(kw_only=True)
class VendorRegistered(DomainEvent):
    """A vendor's payout currency was set or changed (``aggregate_id`` is the vendor id)."""

    payout_currency: str
    vendor_name: str


@attrs.frozen(kw_only=True)
class ChargebackWon(DomainEvent):
    """R39: the platform won the dispute; ``reinstated_minor`` (order currency) went back to
    the vendor, into the held proceeds or, after release, its balance."""

    chargeback_id: str
    reinstated_minor: int
    after_release: bool


@attrs.frozen(kw_only=True)
class BalanceAdjusted(DomainEvent):
    """Staff credited (positive) or debited (negative) the vendor's balance, with a reason
    (``aggregate_id`` is the vendor id)."""

    adjustment_id: str
    currency: str
    amount_minor: int
    reason: str
    seq: int


@attrs.frozen(kw_only=True)
class PayoutTermsSet(DomainEvent):
    """Staff set the vendor's rolling reserve and minimum balance (R41; ``aggregate_id`` is
    the vendor id)."""

    reserve_bp: int
    reserve_days: int
    minimum_balance_minor: int
    reason: str
