"""The money facade (R15-R25, R39, R41, R42), mixed into ``Marketplace``.

:class:`_MoneyCommands` plugs into the kernel of :mod:`asolora_core.kernel`:

* a reactor books every order event in the same transaction as the order change: the
  capture on ``OrderPlaced``, the fees and the hold (with a ``release`` timer at
  ``release_at``) on ``OrderCompleted``, refunds before or after release on ``RefundIssued``
  (refused with ``RefundExceedsPaidError`` when a chargeback already returned that money, R39);
* the ``release`` timer handler releases due, unfrozen holds in ``run_due`` (R16, R17),
  converting at the rate in force then; a rate that is not available leaves the hold held
  and retries an hour later;
* commands for staff and the payment provider (freeze, lift, chargeback, payouts) and
  queries (balance, statement, holds, payouts, the journal).

Every post, hold and vendor-account write goes through the sealing helpers of
:class:`~asolora_core.ledger.integrity_service._IntegrityCommands` (its base class), which
also owns checkpoints and ``verify_journal`` (R42).

Vendors without a registered payout currency are released in the order currency (their
balance is then kept per currency; payouts pay each currency's balance).
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from moneyed import Money

from asolora_core import _codec
from asolora_core import money as _money
from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    LedgerIntegrityError,
    NotFoundError,
    NotPermittedError,
    RateUnavailableError,
    ReasonRequiredError,
    RefundExceedsPaidError,
)
from asolora_core.events import (
    DomainEvent,
    Notification,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    RefundIssued,
)
from asolora_core.fx import EcbRateProvider, RateProvider, RateSnapshot
from asolora_core.ledger import core
from asolora_core.ledger.events import (
    ChargebackReported,
    PayoutPaid,
    ProceedsHeld,
    ProceedsReleased,
    RefundDebited,
    ReleaseFrozen,
    ReleaseUnfrozen,
    VendorRegistered,
)
from asolora_core.ledger.integrity import (
    sealed,
)
from asolora_core.ledger.integrity_service import JournalReport, _IntegrityCommands, _staff
from asolora_core.ledger.model import (
    BALANCE,
    HELD,
    PAID_OUT,
    RESERVE,
    Chargeback,
    Hold,
    HoldState,
    JournalTransaction,
    MoneyConfig,
    Payout,
    RefundRate,
    Statement,
    VendorAccount,
    VendorBalance,
    shown,
    vendor_account,
)
from asolora_core.limits import (
    check_count,
    check_id,
    check_name,
    check_optional_id,
    check_text,
)
from asolora_core.orders.model import Order
from asolora_core.ports import Timer, UnitOfWork

__all__ = ["RELEASE", "RESERVE_RELEASE", "JournalReport", "_MoneyCommands"]

log = logging.getLogger("asolora_core.ledger")

RELEASE = "release"
RESERVE_RELEASE = "reserve_release"
#: How long a release waits before trying again when no exchange rate is available.
RATE_RETRY = _dt.timedelta(hours=1)

for _cls in (Hold, JournalTransaction, Payout, VendorAccount):
    _codec.register(_cls)


#: One validated vendor ``Actor`` per vendor id (frozen values), for the release sweep's
#: notifications: the same vendors batch after batch. Bounded (least recently used).
_vendor_actor = functools.lru_cache(maxsize=4096)(Actor.vendor)


def _released_text(order_id: str, currency: str, credit: int, offset: int, kept: int) -> str:
    """The vendor's notification of a release (R17, R23, R41)."""
    if credit < 0:  # what was taken from the order before release exceeded its proceeds
        return (
            f"Order {order_id} had no proceeds to release: what came out of them before "
            "release (a chargeback or refund, and fees) exceeded them, so "
            f"{_money.format_minor(-credit, currency)} was debited from your balance."
        )
    text = (
        f"The proceeds of order {order_id} were released: {_money.format_minor(credit, currency)}"
    )
    if offset:
        text += f", of which {_money.format_minor(offset, currency)} offset a negative balance"
    if kept:
        text += f"; {_money.format_minor(kept, currency)} kept in your rolling reserve"
    return text + "."


def _reserve_kept(
    vendor: VendorAccount | None, hold: Hold, currency: str, credit: int, now: _dt.datetime
) -> tuple[int, JournalTransaction | None, Timer | None]:
    """R41: what the vendor's rolling reserve keeps back from a release of ``credit``: the
    amount, its journal transaction and the ``reserve_release`` timer that brings it back
    after ``reserve_days`` (``0, None, None`` when nothing is kept)."""
    if vendor is None or not vendor.reserve_bp or credit <= 0:
        return 0, None, None
    kept = _money.percent_bp(credit, vendor.reserve_bp)
    if kept <= 0:
        return 0, None, None
    txn = core.reserve(
        vendor_id=hold.vendor_id,
        order_id=hold.order_id,
        currency=currency,
        amount_minor=kept,
        at=now,
    )
    timer = Timer(
        timer_id=f"{RESERVE_RELEASE}:{hold.order_id}",
        kind=RESERVE_RELEASE,
        aggregate_id=hold.order_id,
        ref=hold.vendor_id,
        due_at=now + _dt.timedelta(days=vendor.reserve_days),
    )
    return kept, txn, timer


def _released_events(
    done: Sequence[tuple[Hold, Hold, str, int, int]], now: _dt.datetime, seqs: Mapping[str, int]
) -> list[ProceedsReleased]:
    """The events of a sweep batch's releases (R17): ``seqs`` gives each release's journal
    sequence number (or its position in the batch) by its key."""
    actor = Actor.system()
    return [
        ProceedsReleased(
            aggregate_id=hold.order_id,
            at=now,
            actor=actor,
            vendor_id=hold.vendor_id,
            currency=currency,
            amount_minor=new.released_minor or 0,
            offset_minor=offset,
            seq=seqs.get(f"release:{hold.order_id}", 0),
        )
        for hold, new, currency, offset, _ in done
    ]


def _reschedule_early(uow: UnitOfWork, timer: Timer, hold: Hold | None, now: _dt.datetime) -> None:
    """A release timer that fired before its hold's (sealed) ``release_at``, say one whose
    ``due_at`` was moved earlier with SQL, is put back at ``release_at`` (R16, R42): the hold
    is released on time, not early and not never."""
    if (
        hold is not None
        and hold.release_at is not None
        and hold.release_at > now
        and not hold.frozen
        and not hold.cancelled
        and hold.released_at is None
    ):
        uow.timers.schedule(attrs.evolve(timer, due_at=hold.release_at))


def _reader(by: Actor, vendor_id: str) -> None:
    """R1, an allow-list: staff, the system, and the vendor itself."""
    kind = check_actor(by).kind
    check_id(vendor_id, "vendor_id")
    if kind is ActorKind.STAFF or kind is ActorKind.SYSTEM:
        return
    if kind is ActorKind.VENDOR and by.id == vendor_id:
        return
    raise NotPermittedError(
        f"only vendor {vendor_id} or staff may read this vendor's money", actor=by.key
    )


def _staff_reason(reason: object, what: str) -> None:
    """Every staff power says why (R16 with R1): the reason is recorded with the action;
    refused, before any store is touched, when empty or only whitespace."""
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequiredError(
            f"staff must give a reason to {what}; it is recorded with the action",
            field="reason",
        )
    check_text(reason, "reason")


class _MoneyCommands(_IntegrityCommands):
    """Hold, release, refunds, chargebacks, payouts and statements (R15-R25, R39, R41)."""

    _money: MoneyConfig
    _rates: RateProvider

    def _install(self) -> None:
        settings = getattr(self.config, "money", None) or MoneyConfig()
        self._money = settings
        self._rates = settings.rates or EcbRateProvider()
        self._react_on(
            self._book_order_events, OrderPlaced, OrderCompleted, RefundIssued, OrderCancelled
        )
        self._timer_handlers[RELEASE] = self._release_timer
        self._batch_timer_handlers[RELEASE] = self._release_timers
        self._timer_handlers[RESERVE_RELEASE] = self._reserve_release_timer

    # --- helpers --------------------------------------------------------------------------

    def _post_txn(
        self, uow: UnitOfWork, txn: JournalTransaction | None
    ) -> JournalTransaction | None:
        return None if txn is None else self._post_journal(uow, txn)

    def _hold(self, uow: UnitOfWork, order: Order) -> Hold:
        hold = self._get_hold(uow, order.order_id)
        if hold is None:  # an order placed before the ledger was installed: capture it now
            hold, txn = core.capture(
                order_id=order.order_id,
                vendor_id=order.vendor_id,
                currency=order.currency,
                paid_minor=order.paid_minor,
                at=order.placed_at,
            )
            self._add_hold(uow, hold)
            self._post_txn(uow, txn)
        return hold

    def _hold_of(self, uow: UnitOfWork, order_id: str) -> Hold:
        hold = self._get_hold(uow, order_id)
        if hold is None:
            return self._hold(uow, uow.orders.get(order_id))  # NotFoundError for no order
        return hold

    def _payout_currency(self, uow: UnitOfWork, hold: Hold) -> str:
        vendor = self._get_vendor(uow, hold.vendor_id)
        if vendor is not None:
            return vendor.payout_currency
        return hold.payout_currency or hold.currency

    def _rate(self, base: str, quote: str, at: _dt.datetime) -> RateSnapshot:
        return self._rates.rate(base, quote, at)

    def _notify_vendor(
        self, uow: UnitOfWork, vendor_id: str, kind: str, subject: str, text: str, now: _dt.datetime
    ) -> None:
        self._enqueue(
            uow,
            [
                Notification(
                    recipient=Actor.vendor(vendor_id),
                    kind=kind,
                    subject_id=subject,
                    text=text,
                    event_at=now,
                )
            ],
            now,
        )

    def _schedule_release(self, uow: UnitOfWork, hold: Hold, now: _dt.datetime) -> None:
        if hold.release_at is None:
            return
        uow.timers.schedule(
            Timer(
                timer_id=f"{RELEASE}:{hold.order_id}",
                kind=RELEASE,
                aggregate_id=hold.order_id,
                ref="",
                due_at=max(hold.release_at, now),
            )
        )

    # --- the reactor: order events -> journal ------------------------------------------------

    def _book_order_events(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        fees = self._money.fees
        cancelled = False
        for event in events:
            if isinstance(event, OrderPlaced):
                hold, txn = core.capture(
                    order_id=order.order_id,
                    vendor_id=order.vendor_id,
                    currency=order.currency,
                    paid_minor=event.paid_minor,
                    at=event.at,
                )
                self._add_hold(uow, hold)
                # no event of its own: OrderPlaced already says what was paid, and the
                # capture transaction is in the journal
                self._post_txn(uow, txn)
            elif isinstance(event, OrderCompleted):
                hold = self._hold(uow, order)
                new, txn = core.complete(
                    hold, fees=fees, completed_at=event.at, hold_period=self._money.hold_period
                )
                if new is hold:
                    continue
                self._save_hold(uow, new)
                self._post_txn(uow, txn)
                self._schedule_release(uow, new, now)
                assert new.release_at is not None
                uow.events.append(
                    [
                        ProceedsHeld(
                            aggregate_id=order.order_id,
                            at=event.at,
                            actor=Actor.system(),
                            vendor_id=order.vendor_id,
                            currency=order.currency,
                            held_minor=new.held_minor,
                            commission_minor=new.commission_minor,
                            processing_fee_minor=new.processing_fee_minor,
                            release_at=new.release_at,
                        )
                    ]
                )
            elif isinstance(event, RefundIssued):
                self._book_refund(uow, order, event, now)
            elif isinstance(event, OrderCancelled):
                hold = self._hold(uow, order)
                if not hold.cancelled and hold.released_at is None:
                    self._save_hold(
                        uow, attrs.evolve(hold, version=hold.version + 1, cancelled=True)
                    )
                    uow.timers.cancel(f"{RELEASE}:{order.order_id}")
                    cancelled = True
        if cancelled:  # after the cancellation's refund is booked
            self._settle_cancelled(uow, self._hold(uow, order), now)

    def _settle_cancelled(self, uow: UnitOfWork, hold: Hold, now: _dt.datetime) -> Hold:
        """R11, R39: a cancelled order's hold keeps nothing: what is left in it (a chargeback's
        provider fee the vendor bears, or what a chargeback won after the cancellation gave
        back) is settled to the vendor's balance at once, as a release is (converted at the
        rate in force, a ``chargeback`` line when negative). Without a rate it is left to the
        ``release`` timer, due now, which retries."""
        if not (hold.cancelled and hold.is_due(now)):
            return hold
        try:
            snapshot = self._rate(hold.currency, self._payout_currency(uow, hold), now)
        except RateUnavailableError as exc:
            log.warning("settlement of cancelled %s postponed: %s", hold.order_id, exc)
            uow.timers.schedule(
                Timer(
                    timer_id=f"{RELEASE}:{hold.order_id}",
                    kind=RELEASE,
                    aggregate_id=hold.order_id,
                    ref="",
                    due_at=now,
                )
            )
            return hold
        return self._release(uow, hold, snapshot, now, Actor.system())

    def _book_refund(
        self, uow: UnitOfWork, order: Order, event: RefundIssued, now: _dt.datetime
    ) -> None:
        """R20-R22, R39: book a refund; refuse it when chargebacks already gave that money
        back to the buyer."""
        hold = self._hold(uow, order)
        if uow.ledger.by_key(f"refund:{event.refund_id}") is not None:
            return
        if order.refunded_minor + hold.chargeback_minor > order.paid_minor:
            left = order.paid_minor - (order.refunded_minor - event.amount_minor)
            left -= hold.chargeback_minor
            raise RefundExceedsPaidError(
                f"the refund would exceed what the buyer paid: chargebacks already returned "
                f"{_money.format_minor(hold.chargeback_minor, order.currency)} to the buyer, so "
                f"at most {_money.format_minor(max(left, 0), order.currency)} remain refundable",
                order_id=order.order_id,
                refundable_minor=max(left, 0),
                requested_minor=event.amount_minor,
            )
        if (
            order.paid_minor != hold.paid_minor
            or hold.refunded_minor + event.amount_minor + hold.chargeback_minor > hold.paid_minor
        ):
            # the order document is not sealed: the refund limit is checked again against the
            # sealed hold, which agrees with the journal (R20, R42)
            raise LedgerIntegrityError(
                f"order {order.order_id} disagrees with its hold (paid or refunded amounts); "
                "the refund is not booked: run verify_journal",
                order_id=order.order_id,
            )
        snapshot = None
        if hold.released_at is not None:
            snapshot = self._refund_rate(uow, hold, now)
        new, txn = core.refund(
            hold,
            refund_id=event.refund_id,
            amount_minor=event.amount_minor,
            at=event.at,
            fees=self._money.fees,
            snapshot=snapshot,
        )
        self._save_hold(uow, new)
        posted = self._post_journal(uow, txn)
        if snapshot is not None:
            debit = posted.entries_for(vendor_account(hold.vendor_id, BALANCE), snapshot.quote)
            uow.events.append(
                [
                    RefundDebited(
                        aggregate_id=order.order_id,
                        at=event.at,
                        actor=event.actor,
                        vendor_id=hold.vendor_id,
                        refund_id=event.refund_id,
                        currency=snapshot.quote,
                        amount_minor=debit,
                        seq=posted.seq,
                    )
                ]
            )

    def _refund_rate(self, uow: UnitOfWork, hold: Hold, now: _dt.datetime) -> RateSnapshot:
        """R22, R25: the rate a refund after release is debited at: the rate in force now
        (the vendor bears the currency remainder), or with ``RefundRate.PLATFORM_BEARS`` the
        rate of the order's release (the platform's FX position bears it)."""
        payout_currency = self._payout_currency(uow, hold)
        if self._money.refund_rate is RefundRate.PLATFORM_BEARS:
            released = uow.ledger.by_key(f"release:{hold.order_id}")
            if released is not None and released.memo.get("payout_currency") == payout_currency:
                m = released.memo
                return RateSnapshot(
                    hold.currency,
                    payout_currency,
                    m["rate"],
                    f"release:{released.seq}",
                    _dt.datetime.fromisoformat(m["rate_as_of"]),
                )
        return self._rate(hold.currency, payout_currency, now)

    # --- release (R15-R17, R23) --------------------------------------------------------------

    def _release_timer(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """The ``release`` timer (R16, R17); True when it released the order."""
        hold = self._get_hold(uow, timer.aggregate_id)
        if hold is None or not hold.is_due(now):
            _reschedule_early(uow, timer, hold, now)
            return False  # frozen (lifting re-schedules), released, cancelled, or unknown
        try:
            snapshot = self._rate(hold.currency, self._payout_currency(uow, hold), now)
        except RateUnavailableError as exc:
            log.warning("release of %s postponed: %s", hold.order_id, exc)
            uow.timers.schedule(attrs.evolve(timer, due_at=now + RATE_RETRY))
            return False
        self._release(uow, hold, snapshot, now, Actor.system())
        return True

    def _release(
        self, uow: UnitOfWork, hold: Hold, snapshot: RateSnapshot, now: _dt.datetime, by: Actor
    ) -> Hold:
        # no look-up of the release key first: the hold's state says whether it was released,
        # and the journal's UNIQUE key refuses a second release anyway (R17)
        self._check_against_journal(uow, hold)
        currency = snapshot.quote
        before = shown(uow.ledger.vendor_fold(hold.vendor_id, currency, BALANCE))
        new, txn, offset = core.release(
            hold, fees=self._money.fees, snapshot=snapshot, balance_before_minor=before, now=now
        )
        self._save_hold(uow, new)
        posted = self._post_txn(uow, txn)
        credit = new.released_minor or 0
        uow.events.append(
            [
                ProceedsReleased(
                    aggregate_id=hold.order_id,
                    at=now,
                    actor=by,
                    vendor_id=hold.vendor_id,
                    currency=currency,
                    amount_minor=credit,
                    offset_minor=offset,
                    seq=0 if posted is None else posted.seq,
                )
            ]
        )
        kept = self._keep_reserve(uow, hold, currency, credit, now)
        self._notify_vendor(
            uow,
            hold.vendor_id,
            "proceeds.released",
            hold.order_id,
            _released_text(hold.order_id, currency, credit, offset, kept),
            now,
        )
        return new

    def _release_timers(
        self, uow: UnitOfWork, timers: Sequence[Timer], now: _dt.datetime
    ) -> tuple[int, int]:
        """The ``release`` timers of one sweep batch, with the effects of
        :meth:`_release_timer` on each in turn but a few statements for the whole batch
        (fewer round trips): the holds, vendors and journal cross-checks are read at once; every
        release is computed by the pure core first (a vendor's balance before each release
        follows the releases before it in the batch, R23); the batch's vendors are locked in
        one fixed order, and the journal head only at the end, to append every transaction
        with one ``post_many``. On a server store, the timers of vendors another worker is
        releasing to at this moment are put back, still due, for the next batch, instead of
        waiting for that worker's commit (when every vendor of the batch is held, it waits).
        Returns how many orders were released and how many timers were put back."""
        ledger = uow.ledger
        holds = self._get_holds(uow, [t.aggregate_id for t in timers])
        due = []
        for t in timers:
            h = holds.get(t.aggregate_id)
            if h is not None and h.is_due(now):
                due.append((t, h))
            else:
                _reschedule_early(uow, t, h, now)
        if not due:
            return 0, 0  # frozen (lifting re-schedules), released, cancelled, or unknown
        vendors = self._get_vendors(uow, sorted({h.vendor_id for _, h in due}))
        self._check_many_against_journal(uow, [h for _, h in due])
        rates: dict[tuple[str, str], RateSnapshot] = {}
        plans: list[tuple[Timer, Hold, RateSnapshot]] = []
        for timer, hold in due:
            vendor = vendors.get(hold.vendor_id)
            quote = (
                vendor.payout_currency
                if vendor is not None
                else (hold.payout_currency or hold.currency)
            )
            pair = (hold.currency, quote)
            if pair not in rates:
                try:
                    rates[pair] = self._rate(hold.currency, quote, now)
                except RateUnavailableError as exc:
                    log.warning("release of %s postponed: %s", hold.order_id, exc)
                    uow.timers.schedule(attrs.evolve(timer, due_at=now + RATE_RETRY))
                    continue
            plans.append((timer, hold, rates[pair]))
        if not plans:
            return 0, 0
        # the balance before each release, read under the vendors' locks (R23); vendors that
        # another worker holds now are left to a later batch (their timers put back, due as
        # before), so concurrent sweeps do not queue behind each other
        wanted = sorted({h.vendor_id for _, h, _ in plans})
        got = set(ledger.claim_vendors(wanted))
        deferred = 0
        if not got:
            ledger.lock_vendors(wanted)  # every one held elsewhere: wait rather than spin
        elif len(got) < len(wanted):
            kept_plans = []
            for plan in plans:
                if plan[1].vendor_id in got:
                    kept_plans.append(plan)
                else:
                    uow.timers.schedule(plan[0])
                    deferred += 1
            plans = kept_plans
        folds = ledger.vendor_balances(sorted({(h.vendor_id, s.quote) for _, h, s in plans}))
        fees = self._money.fees
        released: list[Hold] = []
        txns: list[JournalTransaction] = []
        done: list[tuple[Hold, Hold, str, int, int]] = []
        reserve_timers: list[Timer] = []
        for _, hold, snapshot in plans:
            currency = snapshot.quote
            account = vendor_account(hold.vendor_id, BALANCE)
            pair = (hold.vendor_id, currency)
            new, txn, offset = core.release(
                hold, fees=fees, snapshot=snapshot, balance_before_minor=shown(folds[pair]), now=now
            )
            released.append(new)
            if txn is not None:
                txns.append(txn)
                folds[pair] += txn.entries_for(account, currency)
            credit = new.released_minor or 0
            kept, reserve, reserve_timer = _reserve_kept(
                vendors.get(hold.vendor_id), hold, currency, credit, now
            )
            if reserve is not None and reserve_timer is not None:
                txns.append(reserve)
                folds[pair] += reserve.entries_for(account, currency)
                reserve_timers.append(reserve_timer)
            done.append((hold, new, currency, offset, kept))
        # everything that needs no journal sequence number first: the holds, the reserve
        # timers, the vendors' notifications
        self._save_fresh_holds(uow, released)
        for timer in reserve_timers:
            uow.timers.schedule(timer)
        self._enqueue(
            uow,
            [
                Notification(
                    recipient=_vendor_actor(hold.vendor_id),
                    kind="proceeds.released",
                    subject_id=hold.order_id,
                    text=_released_text(
                        hold.order_id, currency, new.released_minor or 0, offset, kept
                    ),
                    event_at=now,
                )
                for hold, new, currency, offset, kept in done
            ],
            now,
        )
        # then the short, sealed append: the head is locked there, until the commit, so
        # concurrent sweeps overlap everything else. A store that can (PostgreSQL's
        # ``append_posting``) takes the releases' events before it, each with the position
        # of its journal transaction in the batch, and writes them with the numbers the
        # append gives: nothing is built or encoded under the head.
        append_posting = getattr(uow.events, "append_posting", None)
        if append_posting is not None:
            position = {t.key: i for i, t in enumerate(txns, start=1)}
            append_posting(_released_events(done, now, position))
            self._post_journal_many(uow, txns)
        else:
            posted = {t.key: t.seq for t in self._post_journal_many(uow, txns)}
            uow.events.append(_released_events(done, now, posted))
        return len(done), deferred

    def _keep_reserve(
        self, uow: UnitOfWork, hold: Hold, currency: str, credit: int, now: _dt.datetime
    ) -> int:
        """R41: the vendor's rolling reserve keeps ``reserve_bp`` of a release back for
        ``reserve_days`` (a ``reserve_release`` timer brings it back)."""
        kept, txn, timer = _reserve_kept(
            self._get_vendor(uow, hold.vendor_id), hold, currency, credit, now
        )
        if txn is not None and timer is not None:
            self._post_journal(uow, txn)
            uow.timers.schedule(timer)
        return kept

    def _reserve_release_timer(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R41: the reserve kept back from an order's release comes back to the balance."""
        kept = uow.ledger.by_key(f"reserve:{timer.aggregate_id}")
        if kept is None or uow.ledger.by_key(f"reserve_released:{timer.aggregate_id}"):
            return False
        back = self._post_journal(uow, core.reserve_release(kept, at=now))
        (entry,) = [e for e in back.entries if e.kind == BALANCE]
        self._notify_vendor(
            uow,
            back.vendor_id,
            "reserve.released",
            timer.aggregate_id,
            f"The rolling reserve of order {timer.aggregate_id} came back to your balance: "
            f"{_money.format_minor(-entry.amount_minor, entry.currency)}.",
            now,
        )
        return True

    def release(self, order_id: str, *, by: Actor, idempotency_key: str | None = None) -> Hold:
        """Release one due order now, without waiting for the sweep (staff or system).

        Refused: ``NotFoundError`` for an unknown order, ``InvalidTransitionError`` when it is
        not due, frozen, cancelled or already released (R16, R17)."""
        _staff(by, "release an order")
        check_id(order_id, "order_id")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Hold:
            hold = self._hold_of(uow, order_id)
            if not hold.is_due(now):
                raise InvalidTransitionError(
                    f"order {order_id} cannot be released now: {_not_due_why(hold)}",
                    order_id=order_id,
                    state=hold.state,
                )
            snapshot = self._rate(hold.currency, self._payout_currency(uow, hold), now)
            new = self._release(uow, hold, snapshot, now, by)
            uow.timers.cancel(f"{RELEASE}:{order_id}")
            return new

        return self._execute(by, "release", idempotency_key, {"order_id": order_id}, work)

    def freeze_release(
        self, order_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> Hold:
        """R16: staff stop the release of an order (before it is released), saying why: a
        missing or blank ``reason`` is refused with ``ReasonRequiredError``."""
        _staff(by, "freeze a release")
        check_id(order_id, "order_id")
        _staff_reason(reason, "freeze a release")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Hold:
            hold = self._hold_of(uow, order_id)
            if hold.released_at is not None or hold.cancelled or hold.frozen:
                raise InvalidTransitionError(
                    f"order {order_id} is {hold.state}: only a hold not yet released and not "
                    "frozen can be frozen"
                    + (
                        "; it is frozen already"
                        if hold.state == HoldState.FROZEN
                        else "; after release a refund or chargeback is debited from the "
                        "vendor's balance instead"
                        if hold.released_at is not None
                        else ""
                    ),
                    order_id=order_id,
                    state=hold.state,
                )
            return self._freeze(uow, hold, reason, by, now)

        return self._execute(
            by, "freeze_release", idempotency_key, {"order_id": order_id, "reason": reason}, work
        )

    def _freeze(
        self, uow: UnitOfWork, hold: Hold, reason: str, by: Actor, now: _dt.datetime
    ) -> Hold:
        new = attrs.evolve(hold, version=hold.version + 1, frozen=True, frozen_reason=reason)
        self._save_hold(uow, new)
        uow.events.append(
            [ReleaseFrozen(aggregate_id=hold.order_id, at=now, actor=by, reason=reason)]
        )
        return new

    def lift_freeze(
        self, order_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> Hold:
        """R16: staff lift a freeze, saying why (a missing or blank ``reason`` is refused with
        ``ReasonRequiredError``); the order is released at the next sweep after its due
        time."""
        _staff(by, "lift a freeze")
        check_id(order_id, "order_id")
        _staff_reason(reason, "lift a freeze")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Hold:
            hold = self._hold_of(uow, order_id)
            if not hold.frozen or hold.released_at is not None:
                raise InvalidTransitionError(
                    f"order {order_id} is {hold.state}, not frozen: there is no freeze to lift",
                    order_id=order_id,
                )
            new = attrs.evolve(hold, version=hold.version + 1, frozen=False, frozen_reason="")
            self._save_hold(uow, new)
            self._schedule_release(uow, new, now)
            uow.events.append(
                [ReleaseUnfrozen(aggregate_id=order_id, at=now, actor=by, reason=reason)]
            )
            return new

        return self._execute(
            by, "lift_freeze", idempotency_key, {"order_id": order_id, "reason": reason}, work
        )

    # --- chargebacks (R39) -------------------------------------------------------------------

    def report_chargeback(
        self,
        order_id: str,
        *,
        amount: Money,
        fee: Money | None = None,
        by: Actor,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> Hold:
        """R39: the payment provider reports that the buyer disputed the card payment.

        ``amount`` and the provider's ``fee`` are in the order currency. Before release the
        amount and fee come out of the held proceeds and the release is frozen (R16); after
        release they are debited from the vendor's balance as in R22. Only the part the buyer
        has not already been refunded is booked (a refund and a chargeback of the same money
        never both reach the buyer); a later refund is refused past what remains.
        ``reference`` (the provider's dispute id) makes a repeated report a no-op; a report
        under a known reference with another amount (or another stated fee) is refused with
        ``IdempotencyKeyReusedError`` naming the field, and changes nothing."""
        _staff(by, "report a chargeback")
        check_id(order_id, "order_id")
        check_optional_id(reference, "reference")
        ref = reference if reference is not None else self.ids.new_id("cb")
        if not isinstance(amount, Money):
            raise InvalidMoneyError("amount must be a moneyed.Money", field="amount")
        parsed_amount = _money.split_money(amount, field="amount")
        parsed_fee = _money.split_money(fee, field="fee")
        if parsed_amount is None or parsed_amount[0] <= 0:
            raise InvalidMoneyError("a chargeback amount must be positive", field="amount")
        if parsed_fee is not None and parsed_fee[0] < 0:
            raise InvalidMoneyError("a chargeback fee must not be negative", field="fee")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Hold:
            order = uow.orders.get(order_id)
            amount_minor = _money.in_currency(parsed_amount, order.currency, field="amount")
            fee_minor = _money.in_currency(parsed_fee, order.currency, field="fee")
            hold = self._hold(uow, order)
            for seen in hold.chargebacks:
                if seen.chargeback_id == ref:
                    stated_fee = None if parsed_fee is None else fee_minor
                    _check_repeated_chargeback(seen, amount_minor, stated_fee, order.currency)
                    return hold
            snapshot = None
            if hold.released_at is not None:
                snapshot = self._rate(hold.currency, self._payout_currency(uow, hold), now)
            new, txn, row = core.chargeback(
                hold,
                chargeback_id=ref,
                reported_minor=amount_minor,
                fee_minor=fee_minor,
                at=now,
                fees=self._money.fees,
                snapshot=snapshot,
            )
            self._save_hold(uow, new)
            self._post_txn(uow, txn)
            uow.events.append(
                [
                    ChargebackReported(
                        aggregate_id=order_id,
                        at=now,
                        actor=by,
                        chargeback_id=ref,
                        reported_minor=amount_minor,
                        applied_minor=row.applied_minor,
                        fee_minor=fee_minor,
                        after_release=row.after_release,
                    )
                ]
            )
            if snapshot is None and not new.frozen and not new.cancelled:
                new = self._freeze(uow, new, f"chargeback {ref}", by, now)
            self._notify_vendor(
                uow,
                order.vendor_id,
                "chargeback.reported",
                order_id,
                f"The buyer disputed the payment of order {order_id} with the card issuer.",
                now,
            )
            return self._settle_cancelled(uow, new, now)

        return self._execute(
            by,
            "report_chargeback",
            idempotency_key,
            {"order_id": order_id, "amount": amount, "fee": fee, "reference": reference},
            work,
        )

    # --- vendors ---------------------------------------------------------------------------

    def register_vendor(
        self,
        vendor_id: str,
        *,
        payout_currency: str,
        by: Actor,
        name: str = "",
        timezone: str = "UTC",
        idempotency_key: str | None = None,
    ) -> VendorAccount:
        """Set (or change) the vendor's payout currency (R17, R18); staff or system.

        Refused with ``InvalidTransitionError`` while the vendor owes money in its current
        payout currency (a negative balance, R22): the next releases offset it there (R23).
        The same holds for the first registration of a vendor that traded unregistered (paid
        in each order currency): it may not owe money in another currency than
        ``payout_currency``."""
        _staff(by, "register a vendor")
        check_id(vendor_id, "vendor_id")
        check_name(name, "name")
        check_name(timezone, "timezone")
        _money.check_currency(payout_currency, field="payout_currency")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
            raise InvalidInputError(
                f"timezone {timezone!r} is not an IANA time zone such as 'Europe/Paris'",
                field="timezone",
            ) from exc

        def work(uow: UnitOfWork, now: _dt.datetime) -> VendorAccount:
            current = self._get_vendor(uow, vendor_id)
            if current is None:
                # R23: a vendor that traded unregistered is paid in each order currency; a
                # debt in one of them is offset only by releases in it
                for old in uow.ledger.vendor_currencies(vendor_id):
                    owed = self._balance(uow, vendor_id, old).balance_minor
                    if old != payout_currency and owed < 0:
                        raise InvalidTransitionError(
                            f"vendor {vendor_id} owes {_money.format_minor(-owed, old)} from "
                            f"sales paid out in {old} before it was registered; it cannot be "
                            f"registered to be paid in {payout_currency} until releases in "
                            f"{old} (or a staff adjustment) bring that balance back to zero or "
                            "above",
                            field="payout_currency",
                            vendor_id=vendor_id,
                            balance_minor=owed,
                        )
                account = VendorAccount(
                    vendor_id=vendor_id,
                    version=1,
                    payout_currency=payout_currency,
                    name=name,
                    timezone=timezone,
                    registered_at=now,
                    updated_at=now,
                )
            else:
                old = current.payout_currency
                owed = (
                    self._balance(uow, vendor_id, old).balance_minor
                    if old != payout_currency
                    else 0
                )
                if owed < 0:
                    # R23: releases in the new currency would never offset this debt, and
                    # payouts in it would go out before it is covered
                    raise InvalidTransitionError(
                        f"vendor {vendor_id} owes {_money.format_minor(-owed, old)} in its "
                        f"payout currency {old}; its payout currency cannot change to "
                        f"{payout_currency} until releases (or a staff adjustment) bring that "
                        "balance back to zero or above",
                        field="payout_currency",
                        vendor_id=vendor_id,
                        balance_minor=owed,
                    )
                account = attrs.evolve(
                    current,
                    version=current.version + 1,
                    payout_currency=payout_currency,
                    name=name,
                    timezone=timezone,
                    updated_at=now,
                )
            uow.ledger.put_vendor(sealed(account, self._key))
            uow.events.append(
                [
                    VendorRegistered(
                        aggregate_id=vendor_id,
                        at=now,
                        actor=by,
                        payout_currency=payout_currency,
                        vendor_name=name,
                    )
                ]
            )
            return account

        return self._execute(
            by,
            "register_vendor",
            idempotency_key,
            {
                "vendor_id": vendor_id,
                "payout_currency": payout_currency,
                "name": name,
                "timezone": timezone,
            },
            work,
        )

    def get_vendor(self, vendor_id: str, *, by: Actor) -> VendorAccount:
        """The vendor's account, for itself or staff; ``NotFoundError`` if not registered."""
        _reader(by, vendor_id)
        with self.store.reader() as uow:
            account = uow.ledger.get_vendor(vendor_id)
        if account is None:
            raise NotFoundError(
                f"vendor {vendor_id!r} is not registered; register_vendor() it first",
                vendor_id=vendor_id,
            )
        return account

    # --- payouts (R18, R41) ------------------------------------------------------------------

    def _pay(
        self, uow: UnitOfWork, vendor_id: str, currency: str, now: _dt.datetime, by: Actor
    ) -> Payout | None:
        ledger = uow.ledger
        total = ledger.vendor_fold(vendor_id, currency, BALANCE)
        balance = shown(total)
        keep = self._minimum_balance(uow, vendor_id, currency)
        amount = core.payout_amount(
            balance - keep,
            minimum_minor=self._money.minimum_minor(currency),
            quantum_minor=self._money.quantum_minor(currency),
        )
        if amount <= 0:
            return None
        last = ledger.last_payout_seq(vendor_id, currency)
        txns = ledger.vendor_transactions(vendor_id, currency, BALANCE, after_seq=last)
        self._check_payout_against_journal(uow, vendor_id, currency, total, last, txns)
        moved = sum(-t.entries_for(vendor_account(vendor_id, BALANCE), currency) for t in txns)
        after_seq = max((t.seq for t in txns), default=last)
        payout_id = self.ids.new_id("p")
        posted = self._post_journal(
            uow,
            core.payout(
                vendor_id=vendor_id,
                currency=currency,
                payout_id=payout_id,
                amount_minor=amount,
                after_seq=after_seq,
                remaining_minor=balance - amount,
                at=now,
            ),
        )
        statement = core.statement(
            vendor_id=vendor_id,
            currency=currency,
            opening_minor=balance - moved,
            transactions=txns,
            paid_minor=amount,
            from_seq=last,
        )
        if keep:
            statement = core.with_minimum_balance(statement, keep, now)
        payout = Payout(
            payout_id=payout_id,
            vendor_id=vendor_id,
            currency=currency,
            amount_minor=amount,
            at=now,
            seq=posted.seq,
            statement=statement,
        )
        ledger.add_payout(payout)
        uow.events.append(
            [
                PayoutPaid(
                    aggregate_id=vendor_id,
                    at=now,
                    actor=by,
                    payout_id=payout_id,
                    currency=currency,
                    amount_minor=amount,
                    seq=posted.seq,
                )
            ]
        )
        self._notify_vendor(
            uow,
            vendor_id,
            "payout.paid",
            payout_id,
            f"A payout of {_money.format_minor(amount, currency)} is on its way to you.",
            now,
        )
        return payout

    @staticmethod
    def _minimum_balance(uow: UnitOfWork, vendor_id: str, currency: str) -> int:
        vendor = uow.ledger.get_vendor(vendor_id)
        if vendor is None or vendor.payout_currency != currency:
            return 0
        return vendor.minimum_balance_minor

    def pay_out(
        self,
        vendor_id: str,
        *,
        by: Actor,
        currency: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Payout, ...]:
        """R18, R41: pay the vendor's positive balance (every currency, or ``currency``),
        rounded down to the payout quantum, if it reaches the minimum; the remainder stays.
        A balance at or below zero pays nothing. Repeating pays nothing more."""
        _staff(by, "pay vendors out")
        check_id(vendor_id, "vendor_id")
        if currency is not None:
            _money.check_currency(currency)

        def work(uow: UnitOfWork, now: _dt.datetime) -> tuple[Payout, ...]:
            currencies = (currency,) if currency else uow.ledger.vendor_currencies(vendor_id)
            paid = (self._pay(uow, vendor_id, c, now, by) for c in currencies)
            return tuple(p for p in paid if p is not None)

        paid = self._execute(
            by,
            "pay_out",
            idempotency_key,
            {"vendor_id": vendor_id, "currency": currency},
            work,
        )
        self._checkpoint_due.flag = True  # R42: a checkpoint after every payout run
        self._publish_due_checkpoint()
        return paid

    def run_payouts(self, *, by: Actor | None = None) -> tuple[Payout, ...]:
        """R18: pay every vendor's positive balances, each in its own transaction; safe to
        run from several workers at once and to repeat (nothing is paid twice).

        Each vendor is claimed first (``claim_vendors``: on PostgreSQL a vendor another
        worker is paying, or releasing to, right now is skipped, like ``SKIP LOCKED``), so
        workers running this at once share the vendors instead of queueing on each one; the
        skipped ones are taken again at the end of the run, waiting for them this time, so
        one run still considers every vendor."""
        actor = Actor.system() if by is None else by
        _staff(actor, "run payouts")
        now = self._now()
        with self.store.reader() as uow:
            accounts = uow.ledger.balance_accounts()
        out: list[Payout] = []
        skipped: list[tuple[str, str]] = []
        for waiting, todo in ((False, accounts), (True, skipped)):
            for vendor_id, currency in todo:
                try:
                    with self.store.unit_of_work() as uow:
                        if waiting:
                            uow.ledger.lock_vendors((vendor_id,))
                        elif not uow.ledger.claim_vendors((vendor_id,)):
                            skipped.append((vendor_id, currency))
                            continue
                        payout = self._pay(uow, vendor_id, currency, now, actor)
                        uow.commit()
                except LedgerIntegrityError:  # R42: that balance is not paid; the others are
                    log.exception("payout of %s in %s refused", vendor_id, currency)
                    continue
                if payout is not None:
                    out.append(payout)
        self._checkpoint_due.flag = True  # R42: a checkpoint after every payout run
        self._publish_due_checkpoint()
        return tuple(out)

    # --- queries ---------------------------------------------------------------------------

    def _currency_of(self, uow: UnitOfWork, vendor_id: str, currency: str | None) -> str:
        if currency is not None:
            return _money.check_currency(currency)
        vendor = uow.ledger.get_vendor(vendor_id)
        if vendor is not None:
            return vendor.payout_currency
        found = uow.ledger.vendor_currencies(vendor_id)
        if not found:  # nothing released yet: the currency of its holds, if only one
            found = tuple(dict.fromkeys(h.currency for h in uow.ledger.holds_for_vendor(vendor_id)))
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFoundError(
                f"vendor {vendor_id!r} is not registered and has no orders; register_vendor() "
                "it first, or name the currency",
                vendor_id=vendor_id,
            )
        raise InvalidInputError(
            f"vendor {vendor_id!r} has no payout currency and balances in {list(found)}: "
            "name the currency",
            field="currency",
        )

    def balance(self, vendor_id: str, *, by: Actor, currency: str | None = None) -> VendorBalance:
        """The vendor's figures in one currency (default: its payout currency), folded from
        that vendor's journal entries (R22, R23)."""
        _reader(by, vendor_id)
        with self.store.reader() as uow:
            cur = self._currency_of(uow, vendor_id, currency)
            return self._balance(uow, vendor_id, cur)

    def _balance(self, uow: UnitOfWork, vendor_id: str, currency: str) -> VendorBalance:
        ledger = uow.ledger
        paid_out = shown(ledger.vendor_fold(vendor_id, currency, PAID_OUT))
        credits = -ledger.vendor_fold(vendor_id, currency, BALANCE, sign=-1)
        debits = ledger.vendor_fold(vendor_id, currency, BALANCE, sign=1)
        return VendorBalance(
            vendor_id=vendor_id,
            currency=currency,
            held_minor=shown(ledger.vendor_fold(vendor_id, currency, HELD)),
            balance_minor=credits - debits,
            paid_out_minor=paid_out,
            released_minor=credits,
            debited_minor=debits - paid_out,
            reserved_minor=shown(ledger.vendor_fold(vendor_id, currency, RESERVE)),
        )

    def statement(self, vendor_id: str, *, by: Actor, currency: str | None = None) -> Statement:
        """R41: what the next payout would reconcile: every release, refund and chargeback
        debit and offset since the last payout; ``paid_minor`` 0, ``closing_minor`` the
        balance."""
        _reader(by, vendor_id)
        with self.store.reader() as uow:
            cur = self._currency_of(uow, vendor_id, currency)
            last = uow.ledger.last_payout_seq(vendor_id, cur)
            txns = uow.ledger.vendor_transactions(vendor_id, cur, BALANCE, after_seq=last)
            balance = shown(uow.ledger.vendor_fold(vendor_id, cur, BALANCE))
        moved = sum(-t.entries_for(vendor_account(vendor_id, BALANCE), cur) for t in txns)
        return core.statement(
            vendor_id=vendor_id,
            currency=cur,
            opening_minor=balance - moved,
            transactions=txns,
            paid_minor=0,
            from_seq=last,
        )

    def get_hold(self, order_id: str, *, by: Actor) -> Hold:
        """The order's hold: held amount, fees, ``release_at``, state (R15, R16)."""
        check_actor(by)
        check_id(order_id, "order_id")
        with self.store.reader() as uow:
            order = uow.orders.get(order_id)
            if by.kind is ActorKind.BUYER:
                raise NotPermittedError(
                    "a buyer cannot read the vendor's proceeds", order_id=order_id
                )
            if by.kind is ActorKind.VENDOR and by.id != order.vendor_id:
                # R1: say no, without naming the vendor the order belongs to
                raise NotPermittedError(
                    f"vendor {by.id} cannot read the hold of order {order_id}: it belongs "
                    "to another vendor; holds() lists your own",
                    order_id=order_id,
                )
            _reader(by, order.vendor_id)
            hold = uow.ledger.get_hold(order_id)
        if hold is None:
            raise NotFoundError(f"order {order_id} has no hold", order_id=order_id)
        return hold

    def holds(self, vendor_id: str, *, by: Actor) -> tuple[Hold, ...]:
        """Every hold of the vendor (released ones included)."""
        _reader(by, vendor_id)
        with self.store.reader() as uow:
            return uow.ledger.holds_for_vendor(vendor_id)

    def payouts(self, vendor_id: str, *, by: Actor) -> tuple[Payout, ...]:
        """The vendor's payouts, oldest first, each with its statement (R41)."""
        _reader(by, vendor_id)
        with self.store.reader() as uow:
            return uow.ledger.payouts(vendor_id)

    def journal(self, *, by: Actor, after_seq: int = 0) -> tuple[JournalTransaction, ...]:
        """The journal after ``after_seq``, for staff (R24)."""
        _staff(by, "read the journal")
        check_count(after_seq, "after_seq", low=0, high=2**63 - 1)
        with self.store.reader() as uow:
            return uow.ledger.journal(after_seq=after_seq)


def _check_repeated_chargeback(
    seen: Chargeback, amount_minor: int, fee_minor: int | None, currency: str
) -> None:
    """R35, R39: a chargeback reported again under its reference is a repeat (a no-op) only
    with the same amount and, when the repeat states one, the same fee; other figures are
    refused, naming the field, never dropped in silence. (A chargeback that found nothing
    left to take books no fee: only its amount can be compared.)"""
    differs = None
    if seen.reported_minor != amount_minor:
        differs = "amount"
        was, now = seen.reported_minor, amount_minor
    elif fee_minor is not None and seen.applied_minor and seen.fee_minor != fee_minor:
        differs = "fee"
        was, now = seen.fee_minor, fee_minor
    if differs is None:
        return
    raise IdempotencyKeyReusedError(
        f"chargeback {seen.chargeback_id!r} was reported with {differs} "
        f"{_money.format_minor(was, currency)}, not {_money.format_minor(now, currency)}; "
        "a repeated report changes nothing, so report a different dispute under its own "
        "reference",
        field=differs,
        reference=seen.chargeback_id,
    )


def _not_due_why(hold: Hold) -> str:
    """Why ``hold`` cannot be released now, and what to do instead (R2, R15-R17)."""
    state = hold.state
    if state == HoldState.HELD and hold.release_at is not None:
        return (
            f"it is held until {hold.release_at.isoformat()}; release it then, or let the "
            "run_due sweep release it"
        )
    if state == HoldState.FROZEN:
        return "its release is frozen; lift_freeze it first"
    if state == HoldState.RELEASED:
        return "it was already released, and an order is released only once"
    if state == HoldState.CANCELLED:
        return "it was cancelled, so nothing is held for the vendor"
    return (
        "it is not completed yet; its proceeds are held from the moment it completes (the "
        "buyer's last confirmation) for the hold period"
    )
