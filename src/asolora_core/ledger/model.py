"""The ledger's values: accounts, journal transactions, fees, holds, vendors, payouts and
statements (R15-R25, R39, R41, R42).

Everything here is a frozen attrs value with integer minor units inside; ``Money`` appears
only in :class:`MoneyConfig` and :class:`FeeSchedule` (what users configure) and at the facade.

**Sign convention.** An :class:`Entry` amount is positive for a debit and negative for a
credit; the entries of one :class:`JournalTransaction` sum to zero per currency (R24). What
the platform owes a vendor (``held``, ``balance``) and what it earned (``commission``, fees) are
credit accounts, so their *shown* balance is minus the fold (see :func:`shown`).

**Accounts.** Per vendor and currency: ``vendor:<id>:held`` (proceeds held until release,
R15), ``vendor:<id>:balance`` (released, may go negative, R22), ``vendor:<id>:paid_out``
(R18). Platform: ``platform:buyer_funds`` (money received from buyers, less refunds),
``platform:commission``, ``platform:processing_fees``, ``platform:conversion_fees``,
``platform:fx_position`` (both legs of every conversion, R24), ``platform:adjustments`` (the
other side of every staff adjustment); per vendor also ``vendor:<id>:reserve`` (the rolling
reserve kept back from releases, R41).
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
from moneyed import Money

from asolora_core import _codec, money
from asolora_core._values import value_repr
from asolora_core.errors import InvalidInputError, InvalidMoneyError
from asolora_core.fx import RateProvider
from asolora_core.money import Rounding

__all__ = [
    "ADJUSTMENTS",
    "BUYER_FUNDS",
    "COMMISSION",
    "CONVERSION_FEES",
    "FX_POSITION",
    "GENESIS_HASH",
    "PROCESSING_FEES",
    "RESERVE",
    "Chargeback",
    "Entry",
    "FeeSchedule",
    "Hold",
    "HoldState",
    "JournalTransaction",
    "MoneyConfig",
    "Payout",
    "RefundRate",
    "Statement",
    "StatementLine",
    "VendorAccount",
    "VendorBalance",
    "seal",
    "shown",
    "statement_kind",
    "vendor_account",
]

BUYER_FUNDS = "platform:buyer_funds"
COMMISSION = "platform:commission"
PROCESSING_FEES = "platform:processing_fees"
CONVERSION_FEES = "platform:conversion_fees"
FX_POSITION = "platform:fx_position"
ADJUSTMENTS = "platform:adjustments"

HELD, BALANCE, PAID_OUT = "held", "balance", "paid_out"
RESERVE = "reserve"

GENESIS_HASH = "0" * 64


def vendor_account(vendor_id: str, kind: str) -> str:
    """``vendor:<id>:<kind>`` for kind ``held``, ``balance`` or ``paid_out``."""
    return f"vendor:{vendor_id}:{kind}"


#: The memo key a release carries when chargebacks taken before release (amount and
#: provider fee, less what a win gave back) left the order's proceeds negative: its value is
#: what they took from the held proceeds (R39, R41).
CHARGEBACK_HELD = "chargeback_held"

#: The memo key a release carries when refunds before release (and no chargeback) left the
#: order's proceeds negative: the processing fee a refund does not give back (R21) exceeded
#: what the buyer kept paid, less commission. Its value is the refunded amount (R20, R41).
REFUND_FEE_HELD = "refund_fee_held"

#: The memo key a chargeback after release (and a win after release that gives the fee back)
#: carries: the currency of its ``processing_fee`` (the provider's fee, in the order currency),
#: so that the earnings count the fee in that currency and not in the payout currency of the
#: debit (R31, R39). One booked before this key existed keeps its old presentation, so that
#: stored reports still verify.
FEE_CURRENCY = "fee_currency"


def statement_kind(kind: str, memo: Mapping[str, str]) -> str:
    """What a journal transaction of ``kind`` with ``memo`` is on the vendor's statement and
    earnings (R39, R41): its kind, except for a release that a chargeback before release left
    negative (memo :data:`CHARGEBACK_HELD`), which moved no proceeds to the vendor and
    debited the balance: a ``chargeback``; and a release that refunds before release left
    negative (memo :data:`REFUND_FEE_HELD`: an order refunded in full keeps its processing
    fee, R21), which moved no proceeds either and debited the fees the refunds left: a
    ``fee``."""
    if kind == "release":
        if CHARGEBACK_HELD in memo:
            return "chargeback"
        if REFUND_FEE_HELD in memo:
            return "fee"
    return kind


def shown(fold: int) -> int:
    """The balance a person reads for a credit account (vendor accounts, platform income):
    minus the fold of its debit-positive entries."""
    return -fold


# --- the journal -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Entry:
    """One posting: ``amount_minor`` of ``currency`` debited (positive) or credited (negative)."""

    __repr__ = value_repr

    account: str
    currency: str
    amount_minor: int

    @property
    def amount(self) -> Money:
        """The posting as ``Money`` (positive: debit, negative: credit)."""
        return money.money_of(self.amount_minor, self.currency)

    @property
    def vendor_id(self) -> str | None:
        """The vendor whose account this is, or None for a platform account."""
        if not self.account.startswith("vendor:"):
            return None
        return self.account[7 : self.account.rindex(":")]

    @property
    def kind(self) -> str:
        """``held``, ``balance``, ``paid_out`` or the platform account's name."""
        return self.account[self.account.rindex(":") + 1 :]


def _check_entries(instance: JournalTransaction, attribute: Any, value: tuple[Entry, ...]) -> None:
    totals: dict[str, int] = {}
    for e in value:
        if e.amount_minor.__class__ is not int or e.amount_minor == 0:
            raise InvalidInputError(f"entry {e} must be a non-zero int", field="entries")
        totals[e.currency] = totals.get(e.currency, 0) + e.amount_minor
    unbalanced = {c: t for c, t in totals.items() if t}
    if unbalanced:
        raise InvalidInputError(
            f"a journal transaction must balance per currency; off by {unbalanced}",
            field="entries",
        )


@attrs.frozen(kw_only=True)
class JournalTransaction:
    """One balanced, immutable journal transaction (R24).

    ``key`` is its unique idempotency key (``release:<order>``, ``refund:<refund id>``...);
    ``order_id`` and ``ref`` (refund, chargeback or payout id) trace it to its cause;
    ``memo`` keeps the figures behind it (gross, fees, the conversion's rate, source and
    time) as text. ``seq``, ``prev_hash`` and ``hash`` are set by :func:`seal` when the
    transaction is appended: ``hash`` covers every field and the previous hash (R42).
    """

    __repr__ = value_repr

    key: str
    kind: str  #: capture, fees, refund, release, chargeback, payout
    at: _dt.datetime
    vendor_id: str
    order_id: str | None = None
    ref: str | None = None
    entries: tuple[Entry, ...] = attrs.field(validator=_check_entries)
    memo: dict[str, str] = attrs.field(factory=dict, hash=False)
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""

    def entries_for(self, account: str, currency: str) -> int:
        """The sum of this transaction's entries on ``account`` in ``currency``."""
        total = 0  # a loop, not a generator summed: a release sweep calls this per release
        for e in self.entries:
            if e.account == account and e.currency == currency:
                total += e.amount_minor
        return total


def keyed_hash(text: str, key: bytes | None) -> str:
    """SHA-256 of ``text`` (hex), or its HMAC-SHA-256 under ``key`` when one is configured:
    without the key nobody can compute it, so nobody can re-seal what it covers (R42)."""
    if key is None:
        return hashlib.sha256(text.encode()).hexdigest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


#: ``json.dumps(body, separators=(",", ":"), ensure_ascii=True)`` with the encoder built once
#: (``json.dumps`` builds a new encoder on every call that passes options)
_encode_digest_body = _codec.compact_encoder()

_UTC = _dt.UTC
#: ISO 8601 texts of UTC instants, by instant (bounded: cleared when full)
_ISO: dict[_dt.datetime, str] = {}
_ISO_MAX = 4096


def iso(at: _dt.datetime) -> str:
    """``at.isoformat()``, remembered for UTC instants: a release formats the same instants
    (its ``now``, the hold's own) for the hold's seal, its stored text and the journal
    digest, and an aware ``isoformat`` costs more than a dict look-up. Only instants in
    ``UTC`` itself are remembered: two equal ones then have equal fields, so the same text."""
    if at.tzinfo is not _UTC:
        return at.isoformat()
    text = _ISO.get(at)
    if text is None:
        if len(_ISO) >= _ISO_MAX:
            _ISO.clear()
        text = _ISO[at] = at.isoformat()
    return text


def digest(txn: JournalTransaction, seq: int, prev_hash: str, key: bytes | None = None) -> str:
    """The SHA-256 (HMAC-SHA-256 under ``key``) of a transaction at position ``seq`` after
    ``prev_hash`` (R42)."""
    return keyed_hash(_encode_digest_body([seq, *_digest_fields(txn), prev_hash]), key)


def _digest_fields(txn: JournalTransaction) -> list[Any]:
    """What :func:`digest` hashes of ``txn`` itself, between its ``seq`` and ``prev_hash``."""
    return [
        txn.key,
        txn.kind,
        iso(txn.at),
        txn.vendor_id,
        txn.order_id,
        txn.ref,
        [[e.account, e.currency, e.amount_minor] for e in txn.entries],
        sorted(txn.memo.items()),
    ]


def digest_middle(txn: JournalTransaction) -> str:
    """The part of :func:`digest`'s text that is the same wherever ``txn`` is placed: all of it
    but the ``seq`` in front and the ``prev_hash`` at the end. A batch encodes it before the
    journal head is locked (``seal_chain``'s ``middles``), so that what is left under the head
    is the hashing itself."""
    text = _encode_digest_body([0, *_digest_fields(txn), ""])
    return text[3:-4]  # '[0,' ... ',""]'


_new = object.__new__
_set = object.__setattr__


def stored_transaction(
    *,
    key: str,
    kind: str,
    at: _dt.datetime,
    vendor_id: str,
    order_id: str | None,
    ref: str | None,
    entries: tuple[Entry, ...],
    memo: dict[str, str],
    seq: int,
    prev_hash: str,
    hash: str,
) -> JournalTransaction:
    """A :class:`JournalTransaction` built as it was stored, without the balance check of
    ``__init__``: for a transaction that was checked when it was made (sealing it) and for
    rows read back (a tampered, unbalanced row set must still load, for ``verify`` to report
    it; ``verify`` re-checks every balance)."""
    txn = _new(JournalTransaction)
    _set(txn, "key", key)
    _set(txn, "kind", kind)
    _set(txn, "at", at)
    _set(txn, "vendor_id", vendor_id)
    _set(txn, "order_id", order_id)
    _set(txn, "ref", ref)
    _set(txn, "entries", entries)
    _set(txn, "memo", memo)
    _set(txn, "seq", seq)
    _set(txn, "prev_hash", prev_hash)
    _set(txn, "hash", hash)
    return txn


def seal(
    txn: JournalTransaction,
    seq: int,
    prev_hash: str,
    key: bytes | None = None,
    *,
    middle: str | None = None,
) -> JournalTransaction:
    """``txn`` placed at ``seq`` after the transaction hashed ``prev_hash``, hashed (with the
    HMAC ``key`` when the marketplace configures one). ``txn`` was balance-checked when it
    was made (a ``JournalTransaction`` cannot be built unbalanced), so the sealed copy is
    built directly (as :func:`stored_transaction` builds it), not through ``__init__`` again.
    ``middle``, when given, is :func:`digest_middle` of ``txn`` (encoded earlier); the hash is
    the same."""
    sealed = _new(JournalTransaction)
    _set(sealed, "key", txn.key)
    _set(sealed, "kind", txn.kind)
    _set(sealed, "at", txn.at)
    _set(sealed, "vendor_id", txn.vendor_id)
    _set(sealed, "order_id", txn.order_id)
    _set(sealed, "ref", txn.ref)
    _set(sealed, "entries", txn.entries)
    _set(sealed, "memo", txn.memo)
    _set(sealed, "seq", seq)
    _set(sealed, "prev_hash", prev_hash)
    if middle is None:
        _set(sealed, "hash", digest(txn, seq, prev_hash, key))
    else:
        text = f"[{seq:d},{middle},{_encode_digest_body(prev_hash)}]"
        _set(sealed, "hash", keyed_hash(text, key))
    return sealed


def seal_chain(
    txns: Sequence[JournalTransaction],
    seq: int,
    prev_hash: str,
    key: bytes | None = None,
    *,
    middles: Sequence[str] | None = None,
) -> list[JournalTransaction]:
    """``txns`` sealed one after the other after the head ``(seq, prev_hash)``: each placed at
    the next ``seq`` and chained to the hash of the one before (R42). ``middles``, when given,
    is :func:`digest_middle` of each of ``txns``, encoded before the head was locked."""
    out: list[JournalTransaction] = []
    for i, txn in enumerate(txns):
        seq += 1
        sealed = seal(txn, seq, prev_hash, key, middle=None if middles is None else middles[i])
        prev_hash = sealed.hash
        out.append(sealed)
    return out


# --- configuration ---------------------------------------------------------------------------


def _check_bp(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise InvalidInputError(
            f"{attribute.name} must be a whole number of basis points from 0 to 10,000 "
            f"(250 = 2.5 %), not {value!r}; a fee is never negative",
            field=attribute.name,
        )


def _check_fixed(
    instance: object, attribute: attrs.Attribute[Mapping[str, Money]], value: Mapping[str, Money]
) -> None:
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{attribute.name} maps a currency to a Money, e.g. {{'EUR': Money('0.30', 'EUR')}}",
            field=attribute.name,
        )
    for currency, amount in value.items():
        minor = money.to_minor(amount, currency=currency, field=attribute.name)
        if minor < 0:
            raise InvalidMoneyError(
                f"{attribute.name} for {currency} is negative; a fee is never negative",
                field=attribute.name,
            )


def _fixed_minor(table: Mapping[str, Money], currency: str) -> int:
    amount = table.get(currency)
    return 0 if amount is None else money.to_minor(amount, currency=currency)


@attrs.frozen(kw_only=True)
class FeeSchedule:
    """What the platform charges (R15, R17, R21, R22). Every fee is ``bp`` basis points of
    its base, rounded once with its own :class:`~asolora_core.money.Rounding` (half-even by
    default, R25), plus a fixed amount per currency (``{"EUR": Money("0.30", "EUR")}``;
    none for a currency not listed). Defaults: no fees at all.

    * commission: of the order's net amount (paid minus refunds and chargebacks), charged at
      completion; with ``commission_refunded_on_refund`` (default True) it is recomputed on
      the new net after a refund or chargeback, so the commission on the refunded part comes
      back (R21): the same rule before release (the held proceeds) and after it (netted from
      the balance debit, R22). A net of zero carries no commission, fixed part included.
    * processing fee: of the amount paid, charged at completion; not refunded on a refund
      (R21) unless ``processing_fee_refunded_on_refund``. A cancelled order (R11) never
      completes, so it is charged nothing: the platform bears the processor's fee.
    * refund processing fee: of the converted refund, in the payout currency, on each refund
      debited after release (R22); default none.
    * conversion fee: of the converted amount, in the payout currency, on each release or
      debit that changes currency (R17, R22), booked as its own posting.
    """

    __repr__ = value_repr

    commission_bp: int = attrs.field(default=0, validator=_check_bp)
    commission_fixed: Mapping[str, Money] = attrs.field(factory=dict, validator=_check_fixed)
    commission_rounding: Rounding = Rounding.HALF_EVEN
    commission_refunded_on_refund: bool = True
    processing_bp: int = attrs.field(default=0, validator=_check_bp)
    processing_fixed: Mapping[str, Money] = attrs.field(factory=dict, validator=_check_fixed)
    processing_rounding: Rounding = Rounding.HALF_EVEN
    processing_fee_refunded_on_refund: bool = False
    refund_fee_bp: int = attrs.field(default=0, validator=_check_bp)
    refund_fee_fixed: Mapping[str, Money] = attrs.field(factory=dict, validator=_check_fixed)
    refund_fee_rounding: Rounding = Rounding.HALF_EVEN
    conversion_bp: int = attrs.field(default=0, validator=_check_bp)
    conversion_rounding: Rounding = Rounding.HALF_EVEN

    def commission(self, net_minor: int, currency: str) -> int:
        if net_minor <= 0:
            return 0
        return money.percent_bp(
            net_minor, self.commission_bp, self.commission_rounding
        ) + _fixed_minor(self.commission_fixed, currency)

    def processing_fee(self, base_minor: int, currency: str) -> int:
        if base_minor <= 0:
            return 0
        return money.percent_bp(
            base_minor, self.processing_bp, self.processing_rounding
        ) + _fixed_minor(self.processing_fixed, currency)

    def refund_fee(self, converted_minor: int, currency: str) -> int:
        return money.percent_bp(
            converted_minor, self.refund_fee_bp, self.refund_fee_rounding
        ) + _fixed_minor(self.refund_fee_fixed, currency)

    def conversion_fee(self, converted_minor: int) -> int:
        return money.percent_bp(abs(converted_minor), self.conversion_bp, self.conversion_rounding)


class RefundRate(enum.Enum):
    """Who bears the currency remainder of a refund after release (R22, R25): the vendor was
    credited at the rate in force at release, and the refund is debited from its balance at
    some rate; the difference between the two rates is the remainder. The buyer never bears
    it: it is always refunded exactly what it paid, in its own currency (R25)."""

    VENDOR_BEARS = "vendor_bears"  #: debited at the rate in force at the refund (default)
    PLATFORM_BEARS = "platform_bears"  #: debited at the release's rate; the FX position
    #: (the platform) takes the difference


def _check_period(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.timedelta) or value < _dt.timedelta(0):
        raise InvalidInputError("hold_period must be a timedelta of zero or more", field="hold")


@attrs.frozen(kw_only=True)
class MoneyConfig:
    """Money settings (R15, R17, R18, R22); pass as ``MarketplaceConfig(money=...)``.

    * ``fees``: the :class:`FeeSchedule` (default: no fees).
    * ``hold_period``: how long proceeds are held after ``completed_at`` (R15; default 168
      hours, an exact duration in UTC, never a calendar week in some zone).
    * ``payout_minimum``, ``payout_quantum``: per currency; a payout is the positive balance
      rounded DOWN to a multiple of the quantum (default 1 minor unit), paid only when it
      reaches the minimum (default: any positive amount). The remainder stays (R18).
    * ``rates``: where exchange rates come from (default
      :class:`~asolora_core.fx.EcbRateProvider`).
    * ``refund_rate``: who bears the currency remainder of a refund after release
      (:class:`RefundRate`; default ``VENDOR_BEARS``, R22).
    * ``chargeback_fee_returned_on_win``: when the platform wins a chargeback (R39) the
      amount is reinstated to the vendor; the provider's fee too only when True (default
      False: providers such as Stripe keep the dispute fee).
    """

    __repr__ = value_repr

    fees: FeeSchedule = attrs.field(factory=FeeSchedule)
    hold_period: _dt.timedelta = attrs.field(
        default=_dt.timedelta(hours=168), validator=_check_period
    )
    payout_minimum: Mapping[str, Money] = attrs.field(factory=dict, validator=_check_fixed)
    payout_quantum: Mapping[str, Money] = attrs.field(factory=dict, validator=_check_fixed)
    rates: RateProvider | None = attrs.field(default=None, eq=False)
    refund_rate: RefundRate = RefundRate.VENDOR_BEARS
    chargeback_fee_returned_on_win: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.refund_rate, RefundRate):
            raise InvalidInputError("refund_rate must be a RefundRate", field="refund_rate")
        for currency, amount in self.payout_quantum.items():
            if money.to_minor(amount, currency=currency) < 1:
                raise InvalidMoneyError(
                    f"payout_quantum for {currency} must be at least one minor unit",
                    field="payout_quantum",
                )

    def minimum_minor(self, currency: str) -> int:
        return max(1, _fixed_minor(self.payout_minimum, currency))

    def quantum_minor(self, currency: str) -> int:
        return max(1, _fixed_minor(self.payout_quantum, currency))


# --- vendors ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VendorAccount:
    """A vendor as the ledger knows it: the payout (local) currency releases, debits and
    payouts are in (R17, R18, R22). ``version`` goes up with every change (R36)."""

    __repr__ = value_repr

    vendor_id: str
    version: int
    payout_currency: str
    name: str = ""
    timezone: str = "UTC"
    registered_at: _dt.datetime
    updated_at: _dt.datetime
    #: The account's seal (R42), set when it is stored: see ``asolora_core.ledger.integrity``.
    seal: str = attrs.field(default="", eq=False, repr=False)
    #: R41 payout terms (see ``set_payout_terms``): the rolling reserve keeps ``reserve_bp``
    #: of each release back for ``reserve_days``; the payout leaves ``minimum_balance_minor``
    #: (payout currency) in the balance.
    reserve_bp: int = 0
    reserve_days: int = 0
    minimum_balance_minor: int = 0

    @property
    def minimum_balance(self) -> Money:
        """What a payout leaves in the balance (R41), in the payout currency."""
        return money.money_of(self.minimum_balance_minor, self.payout_currency)


# --- holds -----------------------------------------------------------------------------------


class HoldState:
    """The states of a :class:`Hold` (strings, as ``Hold.state`` returns them)."""

    OPEN = "open"  #: paid, not completed yet
    HELD = "held"  #: completed, waiting for ``release_at``
    FROZEN = "frozen"  #: staff or a chargeback stopped the release (R16, R39)
    RELEASED = "released"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Chargeback:
    """A payment dispute the provider reported (R39). ``applied_minor`` is the part that had
    not already gone back to the buyer as a refund (the rest, ``reported - applied``, is not
    booked: the same money never reaches the buyer twice); ``fee_minor`` is the provider's
    fee, in the order currency."""

    __repr__ = value_repr

    chargeback_id: str
    reported_minor: int
    applied_minor: int
    fee_minor: int
    at: _dt.datetime
    after_release: bool
    won_at: _dt.datetime | None = None  #: the platform won the dispute (R39)
    reinstated_minor: int = 0  #: given back to the vendor on the win (amount, maybe fee)

    @property
    def open_applied_minor(self) -> int:
        """What this chargeback still takes from the buyer's payment (0 once won)."""
        return 0 if self.won_at is not None else self.applied_minor

    currency: str = ""  #: the order's currency

    @property
    def reported(self) -> Money:
        """What the provider reported."""
        return money.money_of(self.reported_minor, self.currency)

    @property
    def applied(self) -> Money:
        """The part booked (not already refunded)."""
        return money.money_of(self.applied_minor, self.currency)

    @property
    def fee(self) -> Money:
        """The provider's fee."""
        return money.money_of(self.fee_minor, self.currency)

    @property
    def reinstated(self) -> Money:
        """What the win gave back to the vendor (R39)."""
        return money.money_of(self.reinstated_minor, self.currency)


@attrs.frozen(kw_only=True)
class Hold:
    """One order's proceeds as the ledger holds them (R15-R17, R21, R39), in the order
    currency. Created when the order is placed; ``release_at`` is set at completion.

    ``held_minor`` is what the release would credit before conversion; it equals the fold of
    the order's entries on ``vendor:<id>:held``.
    """

    __repr__ = value_repr

    order_id: str
    vendor_id: str
    currency: str
    version: int
    paid_minor: int
    placed_at: _dt.datetime
    refunded_minor: int = 0
    refunded_before_release_minor: int = 0
    chargebacks: tuple[Chargeback, ...] = ()
    commission_minor: int = 0
    processing_fee_minor: int = 0
    commission_base_minor: int | None = None
    completed_at: _dt.datetime | None = None
    release_at: _dt.datetime | None = None
    frozen: bool = False
    frozen_reason: str = ""
    cancelled: bool = False
    released_at: _dt.datetime | None = None
    released_minor: int | None = None  #: credited to the balance, payout currency
    payout_currency: str | None = None
    #: The hold's seal (R42), set when it is stored: a hash (HMAC under the marketplace's
    #: key) of every other field, checked before the hold is used; see
    #: ``asolora_core.ledger.integrity``. Not part of equality.
    seal: str = attrs.field(default="", eq=False, repr=False)

    @property
    def paid(self) -> Money:
        """What the buyer paid for the order."""
        return money.money_of(self.paid_minor, self.currency)

    @property
    def refunded(self) -> Money:
        """Everything refunded."""
        return money.money_of(self.refunded_minor, self.currency)

    @property
    def refunded_before_release(self) -> Money:
        """Refunded while held (R21)."""
        return money.money_of(self.refunded_before_release_minor, self.currency)

    @property
    def commission(self) -> Money:
        """The platform commission (R15)."""
        return money.money_of(self.commission_minor, self.currency)

    @property
    def processing_fee(self) -> Money:
        """The payment processing fee (R15)."""
        return money.money_of(self.processing_fee_minor, self.currency)

    @property
    def commission_base(self) -> Money | None:
        """What the commission was computed on, once completed."""
        if self.commission_base_minor is None:
            return None
        return money.money_of(self.commission_base_minor, self.currency)

    @property
    def chargeback(self) -> Money:
        """Chargebacks booked (R39)."""
        return money.money_of(self.chargeback_minor, self.currency)

    @property
    def net(self) -> Money:
        """Paid minus refunds and chargebacks."""
        return money.money_of(self.net_minor, self.currency)

    @property
    def held(self) -> Money:
        """Proceeds held: what the release would credit before conversion (R15)."""
        return money.money_of(self.held_minor, self.currency)

    @property
    def released(self) -> Money | None:
        """What the release credited, in the payout currency (R17); None until released."""
        if self.released_minor is None or self.payout_currency is None:
            return None
        return money.money_of(self.released_minor, self.payout_currency)

    @property
    def chargeback_minor(self) -> int:
        """Chargebacks not won: what they took back for the buyer."""
        if not self.chargebacks:  # almost every hold (no generator to sum)
            return 0
        return sum(c.open_applied_minor for c in self.chargebacks)

    @property
    def chargeback_held_minor(self) -> int:
        """Chargebacks (amount and fee) taken from the held proceeds before release, less
        what a win reinstated."""
        if not self.chargebacks:
            return 0
        return sum(
            c.applied_minor + c.fee_minor - c.reinstated_minor
            for c in self.chargebacks
            if not c.after_release
        )

    @property
    def net_minor(self) -> int:
        """Paid minus refunds and chargebacks: what the buyer keeps paid."""
        return self.paid_minor - self.refunded_minor - self.chargeback_minor

    @property
    def held_minor(self) -> int:
        """Proceeds held: paid, less refunds and chargebacks before release, less fees."""
        if self.released_at is not None:
            return 0
        return (
            self.paid_minor
            - self.refunded_before_release_minor
            - self.chargeback_held_minor
            - self.commission_minor
            - self.processing_fee_minor
        )

    @property
    def state(self) -> str:
        if self.cancelled:  # settled or not (R11, R39): the order ended cancelled
            return HoldState.CANCELLED
        if self.released_at is not None:
            return HoldState.RELEASED
        if self.frozen:
            return HoldState.FROZEN
        return HoldState.OPEN if self.completed_at is None else HoldState.HELD

    def is_due(self, now: _dt.datetime) -> bool:
        """Releasable now: completed, ``release_at`` reached, not frozen nor released (R16).

        A cancelled order's hold is due at once, frozen or not, when something is left in it
        to settle: what a chargeback before the cancellation took beyond the buyer's
        payment (its provider fee), or what a chargeback won after it gave back (R11, R39).
        Nothing stays held for an order that ended."""
        if self.cancelled:
            return self.released_at is None and self.held_minor != 0
        return (
            self.release_at is not None
            and self.release_at <= now
            and not self.frozen
            and not self.cancelled
            and self.released_at is None
        )


# --- balances, payouts, statements -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class VendorBalance:
    """A vendor's figures in one currency, folded from the journal (minor units)."""

    __repr__ = value_repr

    vendor_id: str
    currency: str
    held_minor: int
    balance_minor: int  #: may be negative (R22)
    paid_out_minor: int
    released_minor: int  #: every release credited (net of fees), ever
    debited_minor: int  #: every refund or chargeback debited after release, ever
    reserved_minor: int = 0  #: kept back in the rolling reserve now (R41)

    @property
    def balance(self) -> Money:
        return money.money_of(self.balance_minor, self.currency)

    @property
    def held(self) -> Money:
        return money.money_of(self.held_minor, self.currency)

    @property
    def paid_out(self) -> Money:
        return money.money_of(self.paid_out_minor, self.currency)

    @property
    def released(self) -> Money:
        """Every release credited (net of fees), ever."""
        return money.money_of(self.released_minor, self.currency)

    @property
    def debited(self) -> Money:
        """Every refund or chargeback debited after release, ever (R22)."""
        return money.money_of(self.debited_minor, self.currency)

    @property
    def reserved(self) -> Money:
        """Kept back in the rolling reserve now (R41)."""
        return money.money_of(self.reserved_minor, self.currency)


@attrs.frozen(kw_only=True)
class StatementLine:
    """One line of a statement (R41). ``amount_minor`` is its effect on the balance, in the
    payout currency (positive for a release, negative for a debit).

    For a release: ``gross_minor`` (paid less refunds and chargebacks), ``commission_minor``,
    ``processing_fee_minor``, ``proceeds_minor`` (all in ``order_currency``), then the
    ``rate`` (with its ``rate_source`` and ``rate_as_of``), ``converted_minor`` and
    ``conversion_fee_minor`` in the payout currency, and ``offset_minor``: the part of the
    credit that covered a negative balance (R23). For a refund or chargeback debit:
    ``gross_minor`` is the amount returned to the buyer, ``processing_fee_minor`` the refund or
    provider fee, ``commission_minor`` the commission given back with it (the same rule
    before and after release), then the conversion as above. For chargebacks before release
    that left the order's proceeds negative (the dispute lost), the order's release is a
    ``chargeback`` line, not a negative release: the release's figures (``gross`` what the
    buyer kept paid, ``commission``, ``processing_fee`` with the provider's fee,
    ``proceeds`` negative), the conversion, and ``amount`` the debit. Likewise an order whose
    refunds before release left only the processing fee it owes (R21) is a ``fee`` line, with
    the same figures. For a won chargeback:
    ``gross_minor`` is the amount reinstated; after release, when the provider's fee comes back
    too, ``gross_minor`` is the amount won back and ``processing_fee_minor`` minus the fee
    (R39). For an adjustment: ``reason``. For the rolling
    reserve: ``reserve`` (negative) when kept back, ``reserve_released`` when it comes back.
    For the minimum balance: ``minimum_balance``, amount 0, ``gross_minor`` what the payout
    left in the balance.
    """

    __repr__ = value_repr

    kind: str  #: release, refund, chargeback, chargeback_won, adjustment, reserve,
    #: reserve_released, minimum_balance (informational: amount 0, ``gross_minor`` kept)
    seq: int  #: the journal transaction
    at: _dt.datetime
    order_id: str | None
    ref: str | None
    amount_minor: int
    order_currency: str
    gross_minor: int = 0
    commission_minor: int = 0
    processing_fee_minor: int = 0
    proceeds_minor: int = 0
    rate: Decimal | None = None
    rate_source: str = ""
    rate_as_of: _dt.datetime | None = None
    converted_minor: int = 0
    conversion_fee_minor: int = 0
    offset_minor: int = 0
    reason: str = ""  #: a staff adjustment's reason; what a reserve or minimum balance is
    currency: str = ""  #: the payout currency (``amount``, ``converted``, ``offset``...)

    @property
    def amount(self) -> Money:
        """The effect on the balance, payout currency."""
        return money.money_of(self.amount_minor, self.currency)

    @property
    def converted(self) -> Money:
        """The converted amount, payout currency."""
        return money.money_of(self.converted_minor, self.currency)

    @property
    def conversion_fee(self) -> Money:
        """The conversion fee, payout currency."""
        return money.money_of(self.conversion_fee_minor, self.currency)

    @property
    def offset(self) -> Money:
        """The part that covered a negative balance (R23)."""
        return money.money_of(self.offset_minor, self.currency)

    @property
    def gross(self) -> Money:
        """Order currency: paid less refunds and chargebacks (or the amount returned)."""
        return money.money_of(self.gross_minor, self.order_currency)

    @property
    def commission(self) -> Money:
        """Order currency."""
        return money.money_of(self.commission_minor, self.order_currency)

    @property
    def processing_fee(self) -> Money:
        """The processing fee of a release or the provider fee of a chargeback (negative:
        given back on a won one) in the order currency, or the refund processing fee of a
        refund (payout currency: it is computed on the converted refund, R22)."""
        currency = self.currency if self.kind == "refund" else self.order_currency
        return money.money_of(self.processing_fee_minor, currency)

    @property
    def proceeds(self) -> Money:
        """Order currency."""
        return money.money_of(self.proceeds_minor, self.order_currency)


@attrs.frozen(kw_only=True)
class Statement:
    """What a payout reconciles (R41): ``opening_minor`` (the remainder the previous payout
    left in the balance, 0 for the first) plus every line since that payout (releases,
    refund and chargeback debits; a debt shows as its debit lines, and the releases that
    covered it carry ``offset_minor``), minus ``closing_minor`` (the remainder left now: below
    the quantum or the minimum), is exactly ``paid_minor``."""

    __repr__ = value_repr

    vendor_id: str
    currency: str
    opening_minor: int
    lines: tuple[StatementLine, ...]
    paid_minor: int
    closing_minor: int
    from_seq: int  #: lines come from journal transactions after this one
    to_seq: int  #: up to and including this one

    @property
    def opening(self) -> Money:
        """The remainder the previous payout left."""
        return money.money_of(self.opening_minor, self.currency)

    @property
    def paid(self) -> Money:
        """What this payout paid."""
        return money.money_of(self.paid_minor, self.currency)

    @property
    def closing(self) -> Money:
        """The remainder left in the balance."""
        return money.money_of(self.closing_minor, self.currency)

    @property
    def offsets(self) -> tuple[StatementLine, ...]:
        """The releases that offset a negative balance (R23)."""
        return tuple(line for line in self.lines if line.offset_minor)

    @property
    def reconciles(self) -> bool:
        total = self.opening_minor + sum(line.amount_minor for line in self.lines)
        return total - self.closing_minor == self.paid_minor


@attrs.frozen(kw_only=True)
class Payout:
    """Money sent to a vendor in its payout currency (R18), with its statement (R41)."""

    __repr__ = value_repr

    payout_id: str
    vendor_id: str
    currency: str
    amount_minor: int
    at: _dt.datetime
    seq: int  #: the journal transaction that paid it
    statement: Statement

    @property
    def amount(self) -> Money:
        return money.money_of(self.amount_minor, self.currency)
