"""The facade for every way an order leaves the happy path (R37, R40 and the staff powers),
mixed into ``Marketplace`` on top of :class:`~asolora_core.orders.service._OrderCommands`.

* The R40 timers, each armed by a reaction to the order's events in the command's
  transaction and run by ``run_due(now)``: remind the vendor of unshipped units, cancel an
  unshipped order (or refund its unshipped rest), remind the buyer to confirm, escalate an
  issue still open to staff, expire an unanswered return request. Auto-confirmation (R10)
  lives with the order commands. Each handler re-reads the order and does nothing when the
  reason for it has gone (shipped, confirmed, answered, ended).
* Staff powers, each with a mandatory reason, recorded (``StaffActionTaken``) and notified:
  resolve an issue for the vendor, cancel after shipping. Marking delivered, confirming for
  the buyer and refunding outside an issue are the ordinary commands taken by staff.
* Returns and exchanges after confirmation (R37): request, accept or decline, ship back,
  receive, refund less the restocking fee, or ship the exchange.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence

from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.errors import InvalidInputError, NotPermittedError, ReasonRequiredError
from asolora_core.events import (
    DomainEvent,
    IssueReported,
    OrderPlaced,
    ReceiptConfirmed,
    ReturnAnswered,
    ReturnRequested,
    ShipmentDelivered,
)
from asolora_core.limits import check_id, check_name, check_text
from asolora_core.orders import endings
from asolora_core.orders import returns as rcore
from asolora_core.orders.commands import Decision
from asolora_core.orders.model import Order, ReturnKind
from asolora_core.orders.service import _OrderCommands, _quantities, charged_back
from asolora_core.ports import Timer, UnitOfWork

__all__ = [
    "CANCEL_UNSHIPPED",
    "ESCALATE_ISSUE",
    "EXPIRE_RETURN",
    "REMIND_BUYER",
    "REMIND_VENDOR",
]

REMIND_VENDOR = "remind_vendor_to_ship"
CANCEL_UNSHIPPED = "cancel_unshipped"
REMIND_BUYER = "remind_buyer_to_confirm"
ESCALATE_ISSUE = "escalate_issue"
EXPIRE_RETURN = "expire_return"


def _staff_power(
    by: object, order_id: object, ref: object, ref_field: str, reason: object, what: str
) -> None:
    """R1, R2, before any store is touched: a valid actor, staff only (an allow-list), ids
    within their limits and a reason (every staff power says why)."""
    actor = check_actor(by)
    if actor.kind is not ActorKind.STAFF:
        raise NotPermittedError(f"only staff may {what}", actor=actor.key)
    check_id(order_id, "order_id")
    if ref_field:
        check_id(ref, ref_field)
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequiredError(
            f"staff must give a reason to {what}; it is recorded with the action and sent "
            "to both sides",
            field="reason",
        )
    check_text(reason, "reason")


def _return_args(by: object, order_id: object, return_id: object) -> None:
    """R1, R2: a valid actor and ids within their limits, before any store is touched."""
    check_actor(by)
    check_id(order_id, "order_id")
    check_id(return_id, "return_id")


class _OrderEndings(_OrderCommands):
    """R37 returns, R40 timers and the staff powers."""

    def _install(self) -> None:
        config = self.config
        if any(
            after is not None
            for after in (
                config.remind_vendor_to_ship_after,
                config.cancel_unshipped_after,
                config.remind_buyer_to_confirm_after,
                config.escalate_issue_after,
                config.expire_return_after,
            )
        ):  # with every R40 timer off (the default) nothing is armed: no reaction at all
            self._react_on(
                self._schedule_ending_timers,
                OrderPlaced,
                ShipmentDelivered,
                ReceiptConfirmed,
                IssueReported,
                ReturnRequested,
                ReturnAnswered,
            )
        self._timer_handlers[REMIND_VENDOR] = self._remind_vendor
        self._timer_handlers[CANCEL_UNSHIPPED] = self._cancel_unshipped
        self._timer_handlers[REMIND_BUYER] = self._remind_buyer
        self._timer_handlers[ESCALATE_ISSUE] = self._escalate
        self._timer_handlers[EXPIRE_RETURN] = self._expire_return

    # --- R40 timers ------------------------------------------------------------------------

    def _schedule_ending_timers(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        config = self.config

        def arm(kind: str, after: _dt.timedelta | None, ref: str, since: _dt.datetime) -> None:
            if after is None:
                return
            uow.timers.schedule(
                Timer(
                    timer_id=f"{kind}:{order.order_id}:{ref}",
                    kind=kind,
                    aggregate_id=order.order_id,
                    ref=ref,
                    due_at=max(since + after, now),
                )
            )

        for event in events:
            if isinstance(event, OrderPlaced):
                arm(REMIND_VENDOR, config.remind_vendor_to_ship_after, "", event.at)
                arm(CANCEL_UNSHIPPED, config.cancel_unshipped_after, "", event.at)
            elif isinstance(event, ShipmentDelivered):
                arm(REMIND_BUYER, config.remind_buyer_to_confirm_after, event.shipment_id, now)
            elif isinstance(event, ReceiptConfirmed):
                uow.timers.cancel(f"{REMIND_BUYER}:{order.order_id}:{event.shipment_id}")
            elif isinstance(event, IssueReported):
                arm(ESCALATE_ISSUE, config.escalate_issue_after, event.issue_id, event.at)
            elif isinstance(event, ReturnRequested):
                arm(EXPIRE_RETURN, config.expire_return_after, event.return_id, event.at)
            elif isinstance(event, ReturnAnswered):
                uow.timers.cancel(f"{EXPIRE_RETURN}:{order.order_id}:{event.return_id}")

    def _apply(
        self, uow: UnitOfWork, order: Order, decision: Decision | None, now: _dt.datetime
    ) -> bool:
        if decision is None:
            return False
        new, events = decision
        uow.orders.save(new)
        self._record(uow, new, events, now)
        return True

    def _remind_vendor(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R40: remind the vendor while units are unshipped."""
        order = uow.orders.get(timer.aggregate_id)
        events = endings.remind_shipping(order, now=now)
        if events:
            self._record(uow, order, events, now)
        return bool(events)

    def _cancel_unshipped(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R40: cancel an unshipped order with a full refund, or refund the unshipped rest."""
        order = uow.orders.get(timer.aggregate_id)
        decision = endings.cancel_unshipped(
            order,
            refund_id=self.ids.new_id("r"),
            now=now,
            charged_back_minor=charged_back(uow, order.order_id),
        )
        return self._apply(uow, order, decision, now)

    def _remind_buyer(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R40: remind the buyer to confirm a delivered shipment."""
        order = uow.orders.get(timer.aggregate_id)
        events = endings.remind_confirmation(order, timer.ref, now=now)
        if events:
            self._record(uow, order, events, now)
        return bool(events)

    def _escalate(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R40: hand an issue still open to staff."""
        order = uow.orders.get(timer.aggregate_id)
        return self._apply(uow, order, endings.escalate_issue(order, timer.ref, now=now), now)

    def _expire_return(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R40: expire a return request the vendor did not answer."""
        order = uow.orders.get(timer.aggregate_id)
        return self._apply(uow, order, rcore.expire_return(order, timer.ref, now=now), now)

    # --- staff powers ------------------------------------------------------------------------

    def resolve_for_vendor(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """Staff close an issue in the vendor's favour and confirm receipt of the shipments
        it covers, so the order completes when nothing else is left (R9, R13)."""
        _staff_power(by, order_id, issue_id, "issue_id", reason, "resolve an issue for the vendor")
        return self._order_command(
            order_id,
            by,
            "resolve_for_vendor",
            idempotency_key,
            {"issue_id": issue_id, "reason": reason},
            lambda order, now: endings.resolve_for_vendor(
                order, issue_id, reason=reason, by=by, now=now
            ),
        )

    def cancel_after_shipping(
        self, order_id: str, *, by: Actor, reason: str, idempotency_key: str | None = None
    ) -> Order:
        """Staff cancel an order that has shipped: everything still refundable goes back to
        the buyer, open issues close, nothing is owed to the vendor (R20)."""
        _staff_power(by, order_id, None, "", reason, "cancel an order after shipping")
        refund_id = self.ids.new_id("r")
        return self._order_command_in(
            order_id,
            by,
            "cancel_after_shipping",
            idempotency_key,
            {"reason": reason},
            lambda uow, order, now: endings.cancel_after_shipping(
                order,
                refund_id=refund_id,
                reason=reason,
                by=by,
                now=now,
                charged_back_minor=charged_back(uow, order_id),
            ),
        )

    # --- returns and exchanges (R37) ---------------------------------------------------------

    def request_return(
        self,
        order_id: str,
        *,
        by: Actor,
        kind: ReturnKind,
        items: Mapping[str, int],
        reason: str,
        condition: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R37: the buyer asks to return or exchange confirmed units (line id -> units),
        checked against each line's policy snapshot (R19). The new request is the last of
        ``Order.returns``."""
        check_actor(by)
        check_id(order_id, "order_id")
        if not isinstance(kind, ReturnKind):
            raise InvalidInputError("kind must be a ReturnKind", field="kind")
        items = _quantities(items)
        if not items:
            raise InvalidInputError("a return names at least one line and its units", field="items")
        check_text(reason, "reason")
        check_text(condition, "condition")
        return_id = self.ids.new_id("ret")
        return self._order_command(
            order_id,
            by,
            "request_return",
            idempotency_key,
            {"kind": kind, "items": dict(items), "reason": reason, "condition": condition},
            lambda order, now: rcore.request_return(
                order,
                return_id=return_id,
                kind=kind,
                items=items,
                reason=reason,
                condition=condition,
                by=by,
                now=now,
            ),
        )

    def _return_command(
        self,
        order_id: str,
        return_id: str,
        by: Actor,
        command: str,
        idempotency_key: str | None,
        arguments: Mapping[str, object],
        decide: Callable[[Order, _dt.datetime], Decision],
    ) -> Order:
        return self._order_command(
            order_id, by, command, idempotency_key, {"return_id": return_id, **arguments}, decide
        )

    def accept_return(
        self,
        order_id: str,
        return_id: str,
        *,
        by: Actor,
        message: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R37: the vendor accepts the request; the buyer may ship the items back."""
        _return_args(by, order_id, return_id)
        check_text(message, "message")
        return self._return_command(
            order_id,
            return_id,
            by,
            "accept_return",
            idempotency_key,
            {"message": message},
            lambda o, now: rcore.accept_return(o, return_id, message=message, by=by, now=now),
        )

    def decline_return(
        self,
        order_id: str,
        return_id: str,
        *,
        by: Actor,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """R37: the vendor declines the request, saying why."""
        _return_args(by, order_id, return_id)
        check_text(reason, "reason")
        return self._return_command(
            order_id,
            return_id,
            by,
            "decline_return",
            idempotency_key,
            {"reason": reason},
            lambda o, now: rcore.decline_return(o, return_id, reason=reason, by=by, now=now),
        )

    def ship_return(
        self,
        order_id: str,
        return_id: str,
        *,
        by: Actor,
        carrier: str,
        tracking_number: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """R37: the buyer ships the accepted return back, with tracking."""
        _return_args(by, order_id, return_id)
        check_name(carrier, "carrier")
        check_name(tracking_number, "tracking_number")
        return self._return_command(
            order_id,
            return_id,
            by,
            "ship_return",
            idempotency_key,
            {"carrier": carrier, "tracking_number": tracking_number},
            lambda o, now: rcore.ship_return(
                o, return_id, carrier=carrier, tracking_number=tracking_number, by=by, now=now
            ),
        )

    def receive_return(
        self, order_id: str, return_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Order:
        """R37: the vendor received the returned items."""
        _return_args(by, order_id, return_id)
        return self._return_command(
            order_id,
            return_id,
            by,
            "receive_return",
            idempotency_key,
            {},
            lambda o, now: rcore.receive_return(o, return_id, by=by, now=now),
        )

    def refund_return(
        self, order_id: str, return_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Order:
        """R37, R20-R22: the vendor refunds the received return, less the restocking fee of
        the policy snapshot; never more than is still refundable (R39: chargebacks not won
        count as given back), so the return closes even when a chargeback took it all."""
        _return_args(by, order_id, return_id)
        refund_id = self.ids.new_id("r")
        return self._order_command_in(
            order_id,
            by,
            "refund_return",
            idempotency_key,
            {"return_id": return_id},
            lambda uow, o, now: rcore.refund_return(
                o,
                return_id,
                refund_id=refund_id,
                by=by,
                now=now,
                charged_back_minor=charged_back(uow, order_id),
            ),
        )

    def ship_exchange(
        self,
        order_id: str,
        return_id: str,
        *,
        by: Actor,
        carrier: str,
        tracking_number: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """R37: the vendor ships the replacement of a received exchange, with tracking."""
        _return_args(by, order_id, return_id)
        check_name(carrier, "carrier")
        check_name(tracking_number, "tracking_number")
        return self._return_command(
            order_id,
            return_id,
            by,
            "ship_exchange",
            idempotency_key,
            {"carrier": carrier, "tracking_number": tracking_number},
            lambda o, now: rcore.ship_exchange(
                o, return_id, carrier=carrier, tracking_number=tracking_number, by=by, now=now
            ),
        )
