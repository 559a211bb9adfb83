"""The order commands of the facade (R3-R14, R20, R29, R38, R10), mixed into ``Marketplace``.

Each command runs in one unit of work through the kernel (:mod:`asolora_core.kernel`): load ->
pure core (:mod:`asolora_core.orders.commands`) -> save with a version check (R36) -> history
(R42) and every registered reaction (the order's notifications, its auto-confirm timer, the
ledger's postings) -> commit.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import attrs
from moneyed import Money

from asolora_core import _codec
from asolora_core._values import value_repr
from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    InvalidMoneyError,
    NotFoundError,
    NotPermittedError,
)
from asolora_core.events import DomainEvent, IssueClosed, ReceiptConfirmed, ShipmentDelivered
from asolora_core.kernel import _Kernel
from asolora_core.limits import (
    MAX_AMOUNT_MINOR,
    MAX_CHECKOUT_ITEMS,
    check_id,
    check_name,
    check_optional_id,
    check_quantity,
    check_text,
)
from asolora_core.money import check_currency, in_currency, split_money, to_minor
from asolora_core.orders import commands as core
from asolora_core.orders.commands import CheckoutItem, Decision
from asolora_core.orders.listing import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    OrderPage,
    OrderQuery,
    checked_query,
    customer_key,
    decode_cursor,
    encode_cursor,
    order_key,
)
from asolora_core.orders.model import (
    IssueKind,
    IssueOutcome,
    Order,
    OrderStatus,
    Resolution,
    ReturnPolicy,
    ShipmentStatus,
)
from asolora_core.orders.notify import notifications_for
from asolora_core.orders.transitions import Action, step
from asolora_core.ports import Timer, UnitOfWork

__all__ = ["AUTO_CONFIRM", "Item"]

_codec.register(Order)

AUTO_CONFIRM = "auto_confirm"
#: The events :meth:`_OrderCommands._schedule_order_timers` arms or drops a timer on.
_TIMER_EVENTS = frozenset({ReceiptConfirmed, ShipmentDelivered, IssueClosed})


def _auto_confirm_id(order_id: str, shipment_id: str) -> str:
    return f"{AUTO_CONFIRM}:{order_id}:{shipment_id}"


@attrs.frozen(kw_only=True)
class Item:
    """One line of a checkout, as the facade takes it (R3, R19)."""

    __repr__ = value_repr

    vendor_id: str
    product_id: str
    quantity: int
    unit_price: Money
    title: str = ""
    policy: ReturnPolicy = attrs.field(factory=ReturnPolicy)


def _quantities(items: object, field: str = "items") -> dict[str, int]:
    """A copy of ``items`` (line id -> units), every id and quantity within its limit."""
    if not isinstance(items, Mapping) or len(items) > MAX_CHECKOUT_ITEMS:
        raise InvalidInputError(
            f"{field} must be a mapping of line id to units, at most {MAX_CHECKOUT_ITEMS} lines",
            field=field,
        )
    return {
        check_id(line_id, field): check_quantity(qty, f"{field}[{line_id}]")
        for line_id, qty in items.items()
    }


def charged_back(uow: UnitOfWork, order_id: str) -> int:
    """R39: what chargebacks not won already returned to the buyer of the order (0 when the
    order has no hold). The ledger checks the refund against its sealed hold again."""
    hold = uow.ledger.get_hold(order_id)
    return 0 if hold is None else hold.chargeback_minor


class _OrderCommands(_Kernel):
    """The order lifecycle (R3-R14, R20, R38)."""

    def _install(self) -> None:
        # Registered first, so an order's own notifications precede any other reaction's.
        self._reactors.append(self._notify_order_events)
        self._react_on(self._schedule_order_timers, *_TIMER_EVENTS)
        self._timer_handlers[AUTO_CONFIRM] = self._auto_confirm

    def _notify_order_events(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        """R29: the notifications an order change derives go to the outbox in its
        transaction."""
        notes = notifications_for(order, events)
        if not self.config.order_receipts:
            notes = [n for n in notes if n.kind != "order.receipt"]
        self._enqueue(uow, notes, now)

    def _order_command(
        self,
        order_id: str,
        by: Actor,
        command: str,
        idempotency_key: str | None,
        arguments: Mapping[str, Any],
        decide: Callable[[Order, _dt.datetime], Decision],
    ) -> Order:
        return self._order_command_in(
            order_id,
            by,
            command,
            idempotency_key,
            arguments,
            lambda _uow, order, now: decide(order, now),
        )

    def _order_command_in(
        self,
        order_id: str,
        by: Actor,
        command: str,
        idempotency_key: str | None,
        arguments: Mapping[str, Any],
        decide: Callable[[UnitOfWork, Order, _dt.datetime], Decision],
    ) -> Order:
        """:meth:`_order_command` for a decision that reads more of the unit of work (the
        order's hold, for what chargebacks already returned to the buyer, R39)."""
        check_id(order_id, "order_id")

        def work(uow: UnitOfWork, now: _dt.datetime) -> Order:
            current = uow.orders.get(order_id)
            # R1 first: an outsider learns nothing of the order (not even its currency from
            # a mismatching amount) before being refused
            core._owner_check(current, by)
            order, events = decide(uow, current, now)
            if order is current and not events:
                return order  # nothing to do (e.g. confirming what was auto-confirmed, R10)
            uow.orders.save(order)
            self._record(uow, order, events, now)
            return order

        if idempotency_key is not None:  # the arguments are only fingerprinted for a key
            arguments = {"order_id": order_id, **arguments}
        return self._execute(by, command, idempotency_key, arguments, work)

    # --- timers and sweeps --------------------------------------------------------------

    # --- timers -----------------------------------------------------------------------------

    def _schedule_order_timers(
        self, uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], now: _dt.datetime
    ) -> None:
        """R10: arm auto-confirmation when a shipment is delivered, re-arm it when an issue
        closes, and drop it once the shipment is confirmed."""
        after = self.config.auto_confirm_after
        if after is None:
            return
        for event in events:
            if type(event) not in _TIMER_EVENTS:
                continue  # most events: no timer to arm or drop
            if isinstance(event, ReceiptConfirmed):
                uow.timers.cancel(_auto_confirm_id(order.order_id, event.shipment_id))
                continue
            if isinstance(event, ShipmentDelivered):
                shipments = [order.shipment(event.shipment_id)]
            elif isinstance(event, IssueClosed):
                shipments = list(order.shipments)
            else:
                continue
            for shipment in shipments:
                if shipment is None or shipment.status is not ShipmentStatus.DELIVERED:
                    continue
                assert shipment.delivered_at is not None
                uow.timers.schedule(
                    Timer(
                        timer_id=_auto_confirm_id(order.order_id, shipment.shipment_id),
                        kind=AUTO_CONFIRM,
                        aggregate_id=order.order_id,
                        ref=shipment.shipment_id,
                        due_at=max(shipment.delivered_at + after, now),
                    )
                )

    def _auto_confirm(self, uow: UnitOfWork, timer: Timer, now: _dt.datetime) -> bool:
        """R10: confirm a delivered shipment with no open issue on its items."""
        order = uow.orders.get(timer.aggregate_id)
        shipment = order.shipment(timer.ref)
        if order.status is not OrderStatus.PROCESSING:
            return False  # ended meanwhile (cancelled after shipping, fully refunded)
        if shipment is None or shipment.status is not ShipmentStatus.DELIVERED:
            return False
        if any(i.covers(shipment.line_ids) for i in order.open_issues()):
            return False  # re-armed when the issue closes
        new, events = core.confirm_receipt(order, timer.ref, by=Actor.system(), now=now)
        uow.orders.save(new)
        self._record(uow, new, events, now)
        return True

    # --- checkout --------------------------------------------------------------------------

    def place_checkout(
        self,
        *,
        buyer: Actor,
        customer_name: str,
        items: Sequence[Item],
        paid: Money,
        shipping: Mapping[str, Money] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Order, ...]:
        """R3: one order per vendor, sharing a checkout reference, with ``paid`` split exactly
        across them. Each vendor is notified of its new order."""
        check_actor(buyer, "buyer")
        check_name(customer_name, "customer_name")
        if not isinstance(paid, Money):
            raise InvalidMoneyError("paid must be a moneyed.Money, not a float", field="paid")
        currency = check_currency(paid.currency.code, field="paid")
        paid_minor = to_minor(paid, field="paid")
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise InvalidInputError("items must be a list of Item", field="items")
        if len(items) > MAX_CHECKOUT_ITEMS:
            raise InvalidInputError(
                f"a checkout may have at most {MAX_CHECKOUT_ITEMS} items", field="items"
            )
        core_items = []
        gross = 0
        for index, item in enumerate(items):
            if not isinstance(item, Item):
                raise InvalidInputError(f"items[{index}] must be an Item", field="items")
            field = f"items[{index}]"
            quantity = check_quantity(item.quantity, f"{field}.quantity")
            price = item.unit_price
            if isinstance(price, Money) and price.currency.code != currency:
                raise CurrencyMismatchError(
                    f"{field}.unit_price is in {price.currency.code} but paid is in {currency}: "
                    "a checkout is in one currency; price every item in the currency the buyer "
                    "paid in (convert explicitly with a rate), or pass paid in "
                    f"{price.currency.code}",
                    field=f"{field}.unit_price",
                    expected=currency,
                    got=price.currency.code,
                )
            unit_price_minor = to_minor(
                item.unit_price, currency=currency, field=f"{field}.unit_price"
            )
            if not isinstance(item.policy, ReturnPolicy):
                raise InvalidInputError(f"{field}.policy must be a ReturnPolicy", field=field)
            core_items.append(
                CheckoutItem(
                    vendor_id=check_id(item.vendor_id, f"{field}.vendor_id"),
                    product_id=check_id(item.product_id, f"{field}.product_id"),
                    title=check_name(item.title, f"{field}.title") or item.product_id,
                    quantity=quantity,
                    unit_price_minor=unit_price_minor,
                    policy=item.policy,
                )
            )
            gross += quantity * max(unit_price_minor, 0)
        if shipping is not None and not isinstance(shipping, Mapping):
            raise InvalidInputError("shipping must map vendor ids to Money", field="shipping")
        shipping_minor = {
            check_id(v, "shipping"): to_minor(m, currency=currency, field="shipping")
            for v, m in (shipping or {}).items()
        }
        gross += sum(max(m, 0) for m in shipping_minor.values())
        if gross > MAX_AMOUNT_MINOR:
            raise InvalidMoneyError(
                f"a checkout may cost at most {MAX_AMOUNT_MINOR} minor units in all; split it",
                field="items",
                limit=MAX_AMOUNT_MINOR,
            )

        def work(uow: UnitOfWork, now: _dt.datetime) -> tuple[Order, ...]:
            vendors = list(dict.fromkeys(i.vendor_id for i in core_items))
            decisions = core.place_checkout(
                checkout_id=self.ids.new_id("c"),
                buyer=buyer,
                customer_name=customer_name,
                currency=currency,
                items=core_items,
                shipping_minor=shipping_minor,
                paid_minor=paid_minor,
                order_ids={v: self.ids.new_id("o") for v in vendors},
                line_ids=[self.ids.new_id("l") for _ in core_items],
                now=now,
            )
            for order, events in decisions:
                uow.orders.add(order)
                self._record(uow, order, events, now)
            return tuple(order for order, _ in decisions)

        arguments = {
            "customer_name": customer_name,
            "items": list(items),
            "paid": paid,
            "shipping": shipping or {},
        }
        return self._execute(buyer, "place_checkout", idempotency_key, arguments, work)

    # --- shipping -------------------------------------------------------------------------

    def ship(
        self,
        order_id: str,
        *,
        by: Actor,
        items: Mapping[str, int],
        carrier: str,
        tracking_number: str,
        replacement_for: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """R5: create a shipment of ``items`` (line id -> units); the buyer is notified."""
        items = _quantities(items)
        check_name(carrier, "carrier")
        check_name(tracking_number, "tracking_number")
        check_optional_id(replacement_for, "replacement_for")
        shipment_id = self.ids.new_id("s")
        return self._order_command(
            order_id,
            by,
            "ship",
            idempotency_key,
            {
                "items": items,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "replacement_for": replacement_for,
            },
            lambda order, now: core.ship(
                order,
                shipment_id=shipment_id,
                items=items,
                carrier=carrier,
                tracking_number=tracking_number,
                replacement_for=replacement_for,
                by=by,
                now=now,
            ),
        )

    def update_tracking(
        self,
        order_id: str,
        shipment_id: str,
        *,
        by: Actor,
        note: str = "",
        carrier: str | None = None,
        tracking_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """R6: add a tracking event or correct the number or carrier, until delivered."""
        check_id(shipment_id, "shipment_id")
        check_text(note, "note")
        if carrier is not None:
            check_name(carrier, "carrier")
        if tracking_number is not None:
            check_name(tracking_number, "tracking_number")
        return self._order_command(
            order_id,
            by,
            "update_tracking",
            idempotency_key,
            {
                "shipment_id": shipment_id,
                "note": note,
                "carrier": carrier,
                "tracking_number": tracking_number,
            },
            lambda order, now: core.update_tracking(
                order,
                shipment_id,
                note=note,
                carrier=carrier,
                tracking_number=tracking_number,
                by=by,
                now=now,
            ),
        )

    def mark_delivered(
        self,
        order_id: str,
        shipment_id: str,
        *,
        by: Actor,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R7: the shipment is delivered; the buyer is asked to confirm Order Received.
        Staff may mark it on the carrier's proof, with a mandatory ``reason``."""
        check_id(shipment_id, "shipment_id")
        check_text(reason, "reason")
        return self._order_command(
            order_id,
            by,
            "mark_delivered",
            idempotency_key,
            {"shipment_id": shipment_id, **({"reason": reason} if reason else {})},
            lambda order, now: core.mark_delivered(
                order, shipment_id, by=by, now=now, reason=reason
            ),
        )

    def confirm_receipt(
        self,
        order_id: str,
        shipment_id: str,
        *,
        by: Actor,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R9, R14: the buyer confirms Order Received; the last confirmation completes the
        order. Staff may confirm on the buyer's behalf, with a mandatory ``reason``."""
        check_id(shipment_id, "shipment_id")
        return self._order_command(
            order_id,
            by,
            "confirm_receipt",
            idempotency_key,
            {"shipment_id": shipment_id, **({"reason": reason} if reason else {})},
            lambda order, now: core.confirm_receipt(
                order, shipment_id, by=by, now=now, reason=reason
            ),
        )

    def complete_order(self, order_id: str, *, by: Actor) -> NoReturn:
        """R8: always refused. Completion is automatic on the last confirmation."""
        check_actor(by)
        check_id(order_id, "order_id")
        with self.store.reader() as uow:
            order = uow.orders.get(order_id)
        step(order.status, Action.COMPLETE, by.kind)
        raise AssertionError("unreachable: COMPLETE has no table entry")  # pragma: no cover

    def cancel_order(
        self,
        order_id: str,
        *,
        by: Actor,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R11: cancel before anything ships, with a full refund to the buyer (R39: less what
        chargebacks not won already returned to the buyer; nothing when charged back in
        full, and the order still ends). The buyer or
        the vendor may give a ``reason``; staff must (a missing or blank one is refused with
        ``ReasonRequiredError`` and nothing changes), and a staff cancel is recorded as
        ``StaffActionTaken`` with it and notified to both sides."""
        check_text(reason, "reason")
        refund_id = self.ids.new_id("r")
        return self._order_command_in(
            order_id,
            by,
            "cancel_order",
            idempotency_key,
            {"reason": reason},
            lambda uow, order, now: core.cancel(
                order,
                refund_id=refund_id,
                reason=reason,
                by=by,
                now=now,
                charged_back_minor=charged_back(uow, order_id),
            ),
        )

    # --- issues ----------------------------------------------------------------------------

    def report_issue(
        self,
        order_id: str,
        *,
        by: Actor,
        kind: IssueKind,
        description: str,
        line_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> Order:
        """R12, R14: report a problem on some lines (or the whole order) before confirming
        their receipt. The new issue is the last of ``Order.issues``."""
        check_text(description, "description")
        if isinstance(line_ids, str | bytes) or not isinstance(line_ids, Sequence):
            raise InvalidInputError("line_ids must be a list of line ids", field="line_ids")
        if len(line_ids) > MAX_CHECKOUT_ITEMS:
            raise InvalidInputError("too many line_ids", field="line_ids")
        line_ids = [check_id(line_id, "line_ids") for line_id in line_ids]
        issue_id = self.ids.new_id("i")
        return self._order_command(
            order_id,
            by,
            "report_issue",
            idempotency_key,
            {"kind": kind, "description": description, "line_ids": list(line_ids)},
            lambda order, now: core.report_issue(
                order,
                issue_id=issue_id,
                kind=kind,
                description=description,
                line_ids=line_ids,
                by=by,
                now=now,
            ),
        )

    def respond_to_issue(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        message: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """R12: the vendor responds; the first response time is recorded."""
        check_id(issue_id, "issue_id")
        check_text(message, "message")
        return self._order_command(
            order_id,
            by,
            "respond_to_issue",
            idempotency_key,
            {"issue_id": issue_id, "message": message},
            lambda order, now: core.respond_to_issue(
                order, issue_id, message=message, by=by, now=now
            ),
        )

    def offer_settlement(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        resolution: Resolution,
        amount: Money | None = None,
        message: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R13, R38: the vendor offers a refund (partial or full), a replacement or nothing."""
        check_id(issue_id, "issue_id")
        check_text(message, "message")
        parsed = split_money(amount)

        def decide(order: Order, now: _dt.datetime) -> Decision:
            minor = in_currency(parsed, order.currency)
            return core.offer_settlement(
                order,
                issue_id,
                resolution=resolution,
                amount_minor=minor,
                message=message,
                by=by,
                now=now,
            )

        return self._order_command(
            order_id,
            by,
            "offer_settlement",
            idempotency_key,
            {"issue_id": issue_id, "resolution": resolution, "amount": amount, "message": message},
            decide,
        )

    def answer_settlement(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        accept: bool,
        idempotency_key: str | None = None,
    ) -> Order:
        """R38: the buyer accepts (the issue settles; a refund is made) or declines."""
        check_id(issue_id, "issue_id")
        refund_id = self.ids.new_id("r")
        return self._order_command_in(
            order_id,
            by,
            "answer_settlement",
            idempotency_key,
            {"issue_id": issue_id, "accept": accept},
            lambda uow, order, now: core.answer_settlement(
                order,
                issue_id,
                accept=accept,
                refund_id=refund_id,
                by=by,
                now=now,
                charged_back_minor=charged_back(uow, order_id),
            ),
        )

    def withdraw_issue(
        self, order_id: str, issue_id: str, *, by: Actor, idempotency_key: str | None = None
    ) -> Order:
        """R13: the buyer withdraws the issue."""
        check_id(issue_id, "issue_id")
        return self._order_command(
            order_id,
            by,
            "withdraw_issue",
            idempotency_key,
            {"issue_id": issue_id},
            lambda order, now: core.withdraw_issue(order, issue_id, by=by, now=now),
        )

    def mediate_issue(
        self,
        order_id: str,
        issue_id: str,
        *,
        by: Actor,
        outcome: IssueOutcome,
        refund: Money | None = None,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R13: staff decide: a refund, a replacement, or rejected, saying why. ``reason``
        is required, as for every staff power: a missing or blank one is refused with
        ``ReasonRequiredError`` (``reason_required``) and nothing changes; it is recorded as
        ``StaffActionTaken`` in the order's history and notified to both sides."""
        check_id(issue_id, "issue_id")
        check_text(reason, "reason")
        parsed = split_money(refund, field="refund")
        refund_id = self.ids.new_id("r")

        def decide(uow: UnitOfWork, order: Order, now: _dt.datetime) -> Decision:
            minor = in_currency(parsed, order.currency, field="refund")
            return core.mediate_issue(
                order,
                issue_id,
                outcome=outcome,
                amount_minor=minor,
                refund_id=refund_id,
                by=by,
                now=now,
                reason=reason,
                charged_back_minor=charged_back(uow, order_id),
            )

        return self._order_command_in(
            order_id,
            by,
            "mediate_issue",
            idempotency_key,
            {"issue_id": issue_id, "outcome": outcome, "refund": refund, "reason": reason},
            decide,
        )

    # --- refunds --------------------------------------------------------------------------

    def refund(
        self,
        order_id: str,
        *,
        by: Actor,
        amount: Money | None = None,
        items: Mapping[str, int] | None = None,
        shipping: Money | None = None,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """R20: refund an amount, line quantities (line id -> units), shipping, or a mix; in
        the order currency, never above what was paid. Staff may refund outside an issue,
        with a mandatory ``reason``. A refund of everything paid ends a processing order
        (cancelled, its open issues closed); chargebacks not won count as paid back (R39)."""
        parsed_amount = split_money(amount)
        parsed_shipping = split_money(shipping, field="shipping")
        quantities = None if items is None else _quantities(items)
        check_text(reason, "reason")
        refund_id = self.ids.new_id("r")

        def decide(uow: UnitOfWork, order: Order, now: _dt.datetime) -> Decision:
            return core.refund(
                order,
                refund_id=refund_id,
                amount_minor=in_currency(parsed_amount, order.currency),
                items=quantities,
                shipping_minor=in_currency(parsed_shipping, order.currency, field="shipping"),
                reason=reason,
                by=by,
                now=now,
                charged_back_minor=charged_back(uow, order_id),
            )

        return self._order_command_in(
            order_id,
            by,
            "refund",
            idempotency_key,
            {"amount": amount, "items": items or {}, "shipping": shipping, "reason": reason},
            decide,
        )

    # --- queries ----------------------------------------------------------------------------

    @staticmethod
    def _may_read(order: Order, by: Actor) -> None:
        """R1: an allow-list: staff and the system, the order's vendor, the order's buyer."""
        core._owner_check(order, by)

    def get_order(self, order_id: str, *, by: Actor) -> Order:
        """The order, for its vendor, its buyer or staff (R1)."""
        check_actor(by)
        check_id(order_id, "order_id")
        with self.store.reader() as uow:
            order = uow.orders.get(order_id)
        self._may_read(order, by)
        return order

    def order_history(self, order_id: str, *, by: Actor) -> tuple[DomainEvent, ...]:
        """Every event of the order, oldest first: who, what, when (R42)."""
        check_actor(by)
        check_id(order_id, "order_id")
        with self.store.reader() as uow:
            order = uow.orders.get(order_id)
            self._may_read(order, by)
            return uow.events.history(order_id)

    def orders_of_checkout(self, checkout_id: str, *, by: Actor) -> tuple[Order, ...]:
        """The orders a checkout became (R3) that ``by`` may read (R1), in the order
        :meth:`place_checkout` returned them:

        * its buyer and staff (and the system) get every order of the checkout;
        * a vendor gets only its own order(s) of it: the other vendors' orders, their ids
          and amounts stay hidden;
        * anyone with no order in it (another buyer, a vendor not in the checkout) is
          refused with :class:`~asolora_core.errors.NotPermittedError`, whose message and
          fields name only the checkout, never an order, and read the same whether the
          checkout exists or not.

        Staff naming an unknown checkout get an empty tuple."""
        check_actor(by)
        check_id(checkout_id, "checkout_id")
        with self.store.reader() as uow:
            orders = uow.orders.for_checkout(checkout_id)
        kind = by.kind
        if kind is ActorKind.STAFF or kind is ActorKind.SYSTEM:
            return orders
        if kind is ActorKind.VENDOR:
            mine = tuple(o for o in orders if o.vendor_id == by.id)
        elif kind is ActorKind.BUYER:
            mine = tuple(o for o in orders if o.buyer_id == by.id)
        else:  # pragma: no cover - check_actor admits only the four kinds
            mine = ()
        if not mine:
            raise NotPermittedError(
                f"{by.kind.value} {by.id} has no order in checkout {checkout_id}: a buyer "
                "reads its own checkouts, a vendor its own orders of a checkout; find yours "
                "with buyer_orders or list_orders",
                checkout_id=checkout_id,
            )
        return mine

    # --- order lists (the vendor dashboard, the buyer's orders) ----------------------------

    def list_orders(
        self,
        *,
        by: Actor,
        vendor_id: str,
        status: OrderStatus | str | None = None,
        needs_shipping: bool | None = None,
        awaiting_confirmation: bool | None = None,
        open_issue: bool | None = None,
        placed_from: _dt.datetime | None = None,
        placed_until: _dt.datetime | None = None,
        customer_name: str | None = None,
        cursor: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> OrderPage:
        """A page of the vendor's orders for its dashboard, newest first (``placed_at``, then
        ``order_id``, descending), for the vendor itself or staff (R1).

        Filters combine (all must hold); each flag is ``True`` (only orders with it),
        ``False`` (only orders without it) or ``None`` (either):

        * ``status``: ``OrderStatus`` (or its value, ``"processing"``...) (R4);
        * ``needs_shipping``: processing with units still to ship, a replacement included;
        * ``awaiting_confirmation``: a delivered shipment the buyer has not confirmed (R7);
        * ``open_issue``: an issue is open (R12);
        * ``placed_from`` (inclusive) / ``placed_until`` (exclusive): aware datetimes;
        * ``customer_name``: the name on the order, case-insensitive, whole name.

        ``page_size`` is 1 to :data:`~asolora_core.orders.listing.MAX_PAGE_SIZE` (200;
        default 50). Pass the page's ``next_cursor`` back as ``cursor``, with the same
        filters, for the next page: orders placed meanwhile never shift or repeat later
        pages. A cursor from other filters or another actor is refused
        (:class:`~asolora_core.errors.InvalidCursorError`). Staff naming a vendor that is
        neither registered nor has any order get :class:`~asolora_core.errors.NotFoundError`.
        """
        check_actor(by)
        check_id(vendor_id, "vendor_id")
        if by.kind is not ActorKind.STAFF and not (
            by.kind is ActorKind.VENDOR and by.id == vendor_id
        ):
            raise NotPermittedError(
                f"{by} cannot list the orders of vendor {vendor_id}: only that vendor and "
                "staff can",
                vendor_id=vendor_id,
            )
        if customer_name is not None and (not check_name(customer_name, "customer_name").strip()):
            raise InvalidInputError(
                "customer_name must be a non-empty name, as on the order", field="customer_name"
            )
        query = checked_query(
            vendor_id=vendor_id,
            status=status,
            needs_shipping=needs_shipping,
            awaiting_confirmation=awaiting_confirmation,
            open_issue=open_issue,
            placed_from=placed_from,
            placed_until=placed_until,
            customer=None if customer_name is None else customer_key(customer_name),
        )
        page = self._order_page(query, by, cursor, page_size)
        if not page.items and cursor is None and by.kind is ActorKind.STAFF:
            with self.store.reader() as uow:
                known = uow.ledger.get_vendor(vendor_id) is not None or bool(
                    uow.orders.page(OrderQuery(vendor_id=vendor_id), after=None, limit=1)
                )
            if not known:
                raise NotFoundError(
                    f"vendor {vendor_id!r} has no orders and is not registered; check the id",
                    vendor_id=vendor_id,
                )
        return page

    def buyer_orders(
        self,
        *,
        by: Actor,
        buyer_id: str | None = None,
        status: OrderStatus | str | None = None,
        needs_shipping: bool | None = None,
        awaiting_confirmation: bool | None = None,
        open_issue: bool | None = None,
        placed_from: _dt.datetime | None = None,
        placed_until: _dt.datetime | None = None,
        cursor: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> OrderPage:
        """A page of a buyer's own orders ("my orders"), newest first, paged and filtered
        as :meth:`list_orders` (``awaiting_confirmation=True``: the orders waiting for the
        buyer's "Order Received"). ``buyer_id`` defaults to the acting buyer; staff name it
        (R1)."""
        check_actor(by)
        if buyer_id is None and by.kind is ActorKind.BUYER:
            buyer_id = by.id
        buyer_id = check_id(buyer_id, "buyer_id")
        if by.kind is not ActorKind.STAFF and not (
            by.kind is ActorKind.BUYER and by.id == buyer_id
        ):
            raise NotPermittedError(
                f"{by} cannot list the orders of buyer {buyer_id}: only that buyer and staff can",
                buyer_id=buyer_id,
            )
        query = checked_query(
            buyer_id=buyer_id,
            status=status,
            needs_shipping=needs_shipping,
            awaiting_confirmation=awaiting_confirmation,
            open_issue=open_issue,
            placed_from=placed_from,
            placed_until=placed_until,
        )
        return self._order_page(query, by, cursor, page_size)

    def _order_page(
        self, query: OrderQuery, by: Actor, cursor: str | None, page_size: int
    ) -> OrderPage:
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= MAX_PAGE_SIZE
        ):
            raise InvalidInputError(
                f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE} "
                f"(default {DEFAULT_PAGE_SIZE})",
                field="page_size",
            )
        after = None if cursor is None else decode_cursor(cursor, query=query, actor_key=by.key)
        with self.store.reader() as uow:  # a read: never waits behind a writer (SQLite WAL)
            rows = uow.orders.page(query, after=after, limit=page_size + 1)
        items = rows[:page_size]
        more = len(rows) > page_size
        return OrderPage(
            items=items,
            next_cursor=(
                encode_cursor(order_key(items[-1]), query=query, actor_key=by.key) if more else None
            ),
        )
