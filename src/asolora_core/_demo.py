"""The demo: a month of a marketplace, simulated through the public API on a SQLite file.

``python -m asolora_core demo`` runs it. Four vendors are paid out in their own currencies
(EUR, JPY, GBP, USD) while buyers pay in others; orders ship in one or two parcels, buyers
confirm "Order Received" or the system does after 14 days (R10), issues are settled or
mediated (R12-R14, R38), refunds happen before and after release (R21, R22), a refund after a
payout leaves a negative balance that later releases offset (R23), a card payment is charged
back (R39), buyers and vendors chat with contact details redacted (R27), a sweep runs every
night (R15-R17, R40) and payouts go out every Monday (R18, R41). It ends with one vendor's
figures and payout statement as tables, and a check of the whole journal (R24, R42).

Time is a :class:`FakeClock`, ids are sequential and every choice comes from
``random.Random(seed)``, so a seed always gives the same month (``--json`` is byte-identical).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs
from moneyed import Money

from asolora_core._demo_report import render
from asolora_core.actors import Actor
from asolora_core.adapters.notifiers import RecordingNotifier
from asolora_core.adapters.sqlite import SqliteStore
from asolora_core.clock import FakeClock
from asolora_core.errors import AsoloraError
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import FeeSchedule, MoneyConfig, Payout
from asolora_core.money import from_minor
from asolora_core.orders.model import (
    IssueKind,
    IssueOutcome,
    Order,
    OrderStatus,
    Resolution,
    ReturnPolicy,
)
from asolora_core.service import Item, Marketplace, MarketplaceConfig, SequentialIds

__all__ = ["DEFAULT_ORDERS", "DEFAULT_SEED", "run_demo"]

START = dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC)
DAYS = 30
DEFAULT_ORDERS = 80
DEFAULT_SEED = 7
STAFF = Actor.staff("mia")

#: vendor id -> (payout currency, name, catalogue of (product, title, price in EUR))
VENDORS: dict[str, tuple[str, str, tuple[tuple[str, str, str], ...]]] = {
    "anna-ceramics": (
        "EUR",
        "Anna's Ceramics",
        (("mug", "Blue mug", "18.00"), ("bowl", "Bowl", "32.50"), ("vase", "Vase", "54.00")),
    ),
    "kenji-tea": (
        "JPY",
        "Kenji Tea",
        (("sencha", "Sencha 100g", "9.90"), ("matcha", "Matcha 30g", "21.00")),
    ),
    "omar-rugs": (
        "GBP",
        "Omar Rugs",
        (("kilim", "Kilim rug", "240.00"), ("cushion", "Cushion cover", "35.00")),
    ),
    "lena-prints": (
        "USD",
        "Lena Prints",
        (("print-a3", "A3 print", "28.00"), ("print-a2", "A2 print", "45.00")),
    ),
}
#: buyer id -> (customer name, the currency the buyer pays in)
BUYERS: dict[str, tuple[str, str]] = {
    "ada": ("Ada Lovelace", "EUR"),
    "grace": ("Grace Hopper", "USD"),
    "linus": ("Linus Torvalds", "EUR"),
    "alan": ("Alan Turing", "GBP"),
    "edsger": ("Edsger Dijkstra", "EUR"),
    "barbara": ("Barbara Liskov", "USD"),
    "donald": ("Donald Knuth", "USD"),
    "margaret": ("Margaret Hamilton", "GBP"),
}
#: price multipliers from the EUR catalogue price into the buyer's currency (list prices)
PRICE_IN = {"EUR": "1", "USD": "1.1", "GBP": "0.87"}
RATES = {
    ("EUR", "GBP"): "0.8675",
    ("EUR", "JPY"): "162.35",
    ("EUR", "USD"): "1.0825",
    ("GBP", "JPY"): "187.15",
    ("GBP", "USD"): "1.2478",
    ("USD", "JPY"): "149.98",
}
POLICY = ReturnPolicy(returns_accepted=True, window_days=30, text="30-day returns, unused items")
CHAT_LINES = (
    "Hello! Is this still in stock?",
    "Could you ship before the weekend? Call me on +44 7700 900123 if easier.",
    "Thanks, it arrived safely.",
    "Can you gift wrap it? Write to me at buyer@example.com",
)


def vendor_orders(market: Marketplace, vendor_id: str) -> list[Order]:
    """Every order of a vendor, newest first, page by page through the dashboard's list."""
    out: list[Order] = []
    cursor: str | None = None
    while True:
        page = market.list_orders(by=STAFF, vendor_id=vendor_id, cursor=cursor, page_size=200)
        out.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out


@attrs.define
class _Tally:
    orders: int = 0
    checkouts: int = 0
    shipments: int = 0
    cancelled: int = 0
    issues: int = 0
    mediated: int = 0
    refunds_before_release: int = 0
    refunds_after_release: int = 0
    chargebacks: int = 0
    auto_confirmed: int = 0
    messages: int = 0
    redacted: int = 0
    refusals: dict[str, int] = attrs.field(factory=dict)


class _Progress:
    """A progress bar on stderr (only its last state stays on screen)."""

    def __init__(self, total: int, out: TextIO | None) -> None:
        self.total, self.out = total, out

    def show(self, done: int, text: str) -> None:
        if self.out is None or (done, text) == getattr(self, "_last", None):
            return
        self._last = (done, text)
        width = 30
        filled = width * done // self.total
        bar = "#" * filled + "." * (width - filled)
        self.out.write(f"\r[{bar}] day {done:2d}/{self.total} {text:<40}")
        if done == self.total:
            self.out.write("\n")
        self.out.flush()


def _price(eur: str, currency: str) -> Money:
    amount = (Money(eur, "EUR").amount * Money(PRICE_IN[currency], "EUR").amount).quantize(
        Money("0.01", "EUR").amount
    )
    return Money(amount, currency)


class _Month:
    """The simulation: an agenda of (instant, seq, action) worked through in time order."""

    def __init__(self, db: str, orders: int, seed: int, say: Callable[[str], None]) -> None:
        self.rng = random.Random(seed)
        self.target = orders
        self.say = say
        self.clock = FakeClock(START)
        self.notifier = RecordingNotifier()
        self.rates = FixedRateProvider(RATES, as_of=START - dt.timedelta(days=1))
        self.store = SqliteStore(db)
        self.market = Marketplace(
            self.store,
            clock=self.clock,
            notifier=self.notifier,
            ids=SequentialIds(),
            config=MarketplaceConfig(
                auto_confirm_after=dt.timedelta(days=14),
                money=MoneyConfig(
                    fees=FeeSchedule(
                        commission_bp=1000,
                        processing_bp=290,
                        processing_fixed={
                            "EUR": Money("0.30", "EUR"),
                            "USD": Money("0.30", "USD"),
                            "GBP": Money("0.20", "GBP"),
                        },
                        conversion_bp=150,
                        refund_fee_bp=100,
                    ),
                    rates=self.rates,
                ),
            ),
        )
        self.tally = _Tally()
        self.agenda: list[tuple[dt.datetime, int, str, Callable[[], None]]] = []
        self.seq = 0
        self.released: dict[str, dt.datetime] = {}  # order id -> released at
        self.story: list[str] = []
        self.payouts: list[Payout] = []
        self.story_vendor = "lena-prints"
        self.negative_done = False
        self.chargeback_done = False

    # --- the agenda ------------------------------------------------------------------------

    def at(self, when: dt.datetime, label: str, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.agenda, (when, self.seq, label, action))

    def note(self, text: str) -> None:
        self.story.append(f"{self.clock.now():%m-%d %H:%M}  {text}")

    def attempt(self, action: Callable[[], Any]) -> Any:
        """Run a command; a refusal is counted by code (R2) and the month goes on."""
        try:
            return action()
        except AsoloraError as refusal:
            self.tally.refusals[refusal.code] = self.tally.refusals.get(refusal.code, 0) + 1
            return None

    # --- orders ----------------------------------------------------------------------------

    def checkout(self) -> None:
        rng, market = self.rng, self.market
        left = self.target - self.tally.orders
        if left <= 0:
            return
        buyer_id = rng.choice(sorted(BUYERS))
        name, currency = BUYERS[buyer_id]
        vendors = rng.sample(sorted(VENDORS), k=min(left, rng.choice((1, 1, 1, 2))))
        items: list[Item] = []
        shipping: dict[str, Money] = {}
        for vendor in vendors:
            catalogue = VENDORS[vendor][2]
            for product, title, eur in rng.sample(catalogue, k=rng.choice((1, 1, 2))):
                items.append(
                    Item(
                        vendor_id=vendor,
                        product_id=product,
                        title=title,
                        quantity=rng.choice((1, 1, 2, 3)),
                        unit_price=_price(eur, currency),
                        policy=POLICY,
                    )
                )
            shipping[vendor] = _price(rng.choice(("3.50", "4.90", "6.90")), currency)
        total = sum((i.unit_price * i.quantity for i in items), Money(0, currency))
        total += sum(shipping.values(), Money(0, currency))
        placed = market.place_checkout(
            buyer=Actor.buyer(buyer_id),
            customer_name=name,
            items=items,
            shipping=shipping,
            paid=total,
            idempotency_key=f"checkout-{self.tally.checkouts}",
        )
        self.tally.checkouts += 1
        for order in placed:
            self.tally.orders += 1
            self.plan(order)

    def plan(self, order: Order) -> None:
        """Choose this order's future: cancelled, shipped in parcels, confirmed or not..."""
        rng, now = self.rng, self.clock.now()
        roll = rng.random()
        if roll < 0.05:
            self.at(
                now + dt.timedelta(hours=rng.randint(1, 20)), "cancel", lambda: self.cancel(order)
            )
            return
        ship_at = now + dt.timedelta(days=rng.randint(0, 2), hours=rng.randint(2, 8))
        self.at(ship_at, "ship", lambda: self.ship(order.order_id))

    def cancel(self, order: Order) -> None:
        done = self.attempt(
            lambda: self.market.cancel_order(
                order.order_id, by=Actor.buyer(order.buyer_id), reason="ordered by mistake"
            )
        )
        if done is not None:
            self.tally.cancelled += 1

    def ship(self, order_id: str) -> None:
        rng, market = self.rng, self.market
        vendor = Actor.vendor(market.get_order(order_id, by=STAFF).vendor_id)
        order = market.get_order(order_id, by=vendor)
        units = [(line.line_id, line.quantity) for line in order.lines]
        parcels: list[dict[str, int]]
        split = rng.random() < 0.4
        if split and len(units) > 1:  # one line now, the rest later (R5)
            parcels = [dict(units[:1]), dict(units[1:])]
        elif split and units[0][1] > 1:  # half the units now, half later
            line_id, qty = units[0]
            parcels = [{line_id: qty // 2}, {line_id: qty - qty // 2}]
        else:
            parcels = [dict(units)]
        for n, parcel in enumerate(parcels):
            carrier = rng.choice(("DHL", "UPS", "Royal Mail", "JP Post"))
            shipped = self.attempt(
                functools.partial(
                    market.ship,
                    order_id,
                    by=vendor,
                    items=parcel,
                    carrier=carrier,
                    tracking_number=f"TN{order_id[-6:]}{n}",
                )
            )
            if shipped is None:
                return
            order = shipped
            self.tally.shipments += 1
            shipment = order.shipments[-1].shipment_id
            travel = dt.timedelta(days=rng.randint(2, 5), hours=rng.randint(0, 6))
            mid = self.clock.now() + travel / 2
            self.at(mid, "tracking", functools.partial(self.track, order_id, shipment))
            self.at(
                self.clock.now() + travel,
                "delivered",
                functools.partial(self.deliver, order_id, shipment),
            )

    def track(self, order_id: str, shipment_id: str) -> None:
        vendor = Actor.vendor(self.market.get_order(order_id, by=STAFF).vendor_id)
        self.attempt(
            lambda: self.market.update_tracking(order_id, shipment_id, by=vendor, note="in transit")
        )

    def deliver(self, order_id: str, shipment_id: str) -> None:
        rng, market = self.rng, self.market
        order = market.get_order(order_id, by=STAFF)
        delivered = self.attempt(
            lambda: market.mark_delivered(order_id, shipment_id, by=Actor.vendor(order.vendor_id))
        )
        if delivered is None:
            return
        roll = rng.random()
        if roll < 0.12 and not any(i.status.value == "open" for i in order.issues):
            self.at(
                self.clock.now() + dt.timedelta(hours=rng.randint(2, 30)),
                "issue",
                lambda: self.issue(order_id, shipment_id),
            )
        elif roll < 0.22:
            return  # the buyer never confirms: the system does after 14 days (R10)
        else:
            self.at(
                self.clock.now() + dt.timedelta(hours=rng.randint(3, 72)),
                "confirm",
                lambda: self.confirm(order_id, shipment_id),
            )

    def confirm(self, order_id: str, shipment_id: str) -> None:
        order = self.market.get_order(order_id, by=STAFF)
        self.attempt(
            lambda: self.market.confirm_receipt(
                order_id, shipment_id, by=Actor.buyer(order.buyer_id)
            )
        )

    def issue(self, order_id: str, shipment_id: str) -> None:
        rng, market = self.rng, self.market
        order = market.get_order(order_id, by=STAFF)
        buyer, vendor = Actor.buyer(order.buyer_id), Actor.vendor(order.vendor_id)
        line = order.lines[0]
        kind = rng.choice((IssueKind.DAMAGED, IssueKind.NOT_AS_DESCRIBED, IssueKind.MISSING_ITEMS))
        reported = self.attempt(
            lambda: market.report_issue(
                order_id,
                by=buyer,
                kind=kind,
                description="not what I expected",
                line_ids=[line.line_id],
            )
        )
        if reported is None:  # e.g. the buyer had confirmed that parcel already (R14)
            return
        order = reported
        self.tally.issues += 1
        issue_id = order.issues[-1].issue_id
        if self.tally.issues == 1:  # R14: the parcel cannot be confirmed while it is open
            refused = self.attempt(lambda: market.confirm_receipt(order_id, shipment_id, by=buyer))
            if refused is None:
                self.note(f"{order_id}: confirming is refused while an issue is open (issue_open)")
        later = self.clock.now() + dt.timedelta(hours=rng.randint(1, 20))
        refund = max(1, line.paid_minor // 4)
        amount = from_minor(refund, order.currency)
        if rng.random() < 0.7:

            def settle() -> None:
                market.respond_to_issue(order_id, issue_id, by=vendor, message="Sorry about that!")
                offered = self.attempt(
                    lambda: market.offer_settlement(
                        order_id, issue_id, by=vendor, resolution=Resolution.REFUND, amount=amount
                    )
                )
                if offered is not None:
                    market.answer_settlement(order_id, issue_id, by=buyer, accept=True)
                    self.tally.refunds_before_release += 1

            self.at(later, "settle", settle)
        else:

            def mediate() -> None:
                mediated = self.attempt(
                    lambda: market.mediate_issue(
                        order_id,
                        issue_id,
                        by=STAFF,
                        outcome=IssueOutcome.MEDIATED_REFUND,
                        refund=amount,
                        reason="the photos show the damage",
                    )
                )
                if mediated is not None:
                    self.tally.mediated += 1
                    self.tally.refunds_before_release += 1

            self.at(later + dt.timedelta(days=1), "mediate", mediate)
        self.at(
            later + dt.timedelta(days=1, hours=6),
            "confirm",
            lambda: self.confirm(order_id, shipment_id),
        )

    # --- money set pieces ------------------------------------------------------------------

    def refund_after_release(self, order_id: str, share: int) -> None:
        market = self.market
        order = market.get_order(order_id, by=STAFF)
        refund = order.refundable_minor * share // 100
        if refund <= 0:
            return
        amount = from_minor(refund, order.currency)
        done = self.attempt(
            lambda: market.refund(
                order_id, by=Actor.vendor(order.vendor_id), amount=amount, reason="returned (R22)"
            )
        )
        if done is not None:
            self.tally.refunds_after_release += 1
            balance = market.balance(order.vendor_id, by=STAFF)
            self.note(
                f"{order.vendor_id} refunded {amount} on released {order_id}: "
                f"balance {balance.balance}"
            )

    def nightly(self) -> None:
        """The sweep (R15-R17, R40), then the month's set pieces once their moment came."""
        market, rng = self.market, self.rng
        report = market.run_due()
        self.tally.auto_confirmed += report.timers.get("auto_confirm", 0)
        for hold in (h for v in sorted(VENDORS) for h in market.holds(v, by=STAFF)):
            if hold.released_at is not None and hold.order_id not in self.released:
                self.released[hold.order_id] = hold.released_at
                if rng.random() < 0.08:
                    self.at(
                        self.clock.now() + dt.timedelta(days=rng.randint(1, 3)),
                        "refund-after-release",
                        functools.partial(self.refund_after_release, hold.order_id, 50),
                    )
                elif not self.chargeback_done and hold.vendor_id != self.story_vendor:
                    self.chargeback_done = True
                    self.at(
                        self.clock.now() + dt.timedelta(days=1),
                        "chargeback",
                        functools.partial(self.chargeback, hold.order_id),
                    )

    def chargeback(self, order_id: str) -> None:
        order = self.market.get_order(order_id, by=STAFF)
        amount = from_minor(order.refundable_minor, order.currency)
        fee = Money("15", order.currency)
        done = self.attempt(
            lambda: self.market.report_chargeback(
                order_id, amount=amount, fee=fee, by=STAFF, reference="cb-demo"
            )
        )
        if done is not None:
            self.tally.chargebacks += 1
            self.note(f"the card issuer charged back {amount} on released {order_id} (R39)")

    def monday(self) -> None:
        """Payouts (R18), then the negative-balance set piece once (R22, R23)."""
        paid = self.market.run_payouts(by=STAFF)
        self.payouts.extend(paid)
        if paid:
            self.note(f"payout run: {len(paid)} payouts, statements reconcile (R41)")
        if not self.negative_done:
            vendor = self.story_vendor
            mine = [o for o, _ in sorted(self.released.items()) if o in self._orders_of(vendor)]
            if mine:
                self.negative_done = True
                self.at(
                    self.clock.now() + dt.timedelta(hours=2),
                    "refund-after-payout",
                    lambda: self.refund_after_release(mine[0], 100),
                )

    def _orders_of(self, vendor_id: str) -> set[str]:
        return {o.order_id for o in vendor_orders(self.market, vendor_id)}

    def chat(self) -> None:
        rng, market = self.rng, self.market
        buyer_id = rng.choice(sorted(BUYERS))
        vendor_id = rng.choice(sorted(VENDORS))
        started = market.start_conversation(
            by=Actor.buyer(buyer_id), vendor_id=vendor_id, text=rng.choice(CHAT_LINES)
        )
        posted = started.message
        self.tally.messages += 1
        if posted is not None and started.notice is not None:
            self.tally.redacted += 1
            if self.tally.redacted == 1:
                self.note(f"{buyer_id} wrote to {vendor_id}: {posted.text!r} (R27)")
        conversation = started.conversation.conversation_id
        self.at(
            self.clock.now() + dt.timedelta(minutes=rng.randint(5, 240)),
            "reply",
            lambda: self.reply(conversation, vendor_id),
        )

    def reply(self, conversation_id: str, vendor_id: str) -> None:
        self.market.post_message(
            conversation_id, by=Actor.vendor(vendor_id), text="Happy to help, here in the chat!"
        )
        self.tally.messages += 1

    # --- the month -------------------------------------------------------------------------

    def run(self, progress: _Progress) -> None:
        market = self.market
        for vendor, (currency, name, _) in VENDORS.items():
            market.register_vendor(vendor, payout_currency=currency, name=name, by=STAFF)
        for n in range(self.target):  # checkouts spread over the first three weeks
            minute = n * 21 * 24 * 60 // max(1, self.target)
            self.at(START + dt.timedelta(minutes=minute + 9 * 60), "checkout", self.checkout)
        for day in range(DAYS):
            midnight = START + dt.timedelta(days=day)
            self.at(midnight + dt.timedelta(hours=23, minutes=30), "sweep", self.nightly)
            if midnight.weekday() == 0:
                self.at(midnight + dt.timedelta(hours=6), "payouts", self.monday)
            if day % 3 == 1:
                self.at(midnight + dt.timedelta(hours=14), "chat", self.chat)
            if day % 7 == 3:  # rates move weekly: releases and refunds use the rate in force
                drift = self.rng.choice(("0.995", "1.004", "1.008", "0.991"))
                for (base, quote), rate in RATES.items():
                    moved = (Money(rate, "EUR").amount * Money(drift, "EUR").amount).quantize(
                        Money("0.0001", "EUR").amount
                    )
                    self.rates.set_rate(base, quote, moved, as_of=midnight)
        self.at(START + dt.timedelta(days=1, hours=10), "complete", self.manual_completion)
        end = START + dt.timedelta(days=DAYS)
        while self.agenda and self.agenda[0][0] < end:
            when, _, _label, action = heapq.heappop(self.agenda)
            if when > self.clock.now():
                self.clock.set(when)
            day = (when - START).days
            action()
            if _label == "sweep":
                progress.show(day + 1, f"{self.tally.orders} orders")
        self.clock.set(end)
        self.payouts.extend(market.run_payouts(by=STAFF))
        progress.show(DAYS, f"{self.tally.orders} orders")

    def manual_completion(self) -> None:
        """R8: nobody can mark an order completed by hand."""
        order = next(iter(vendor_orders(self.market, "anna-ceramics")), None)
        if order is None:
            return
        try:
            self.market.complete_order(order.order_id, by=Actor.vendor(order.vendor_id))
        except AsoloraError as refusal:
            self.note(f"marking {order.order_id} completed by hand is refused ({refusal.code})")


def run_demo(
    db: str = "asolora-demo.db",
    *,
    orders: int = DEFAULT_ORDERS,
    seed: int = DEFAULT_SEED,
    say: Callable[[str], None] = print,
    progress: TextIO | None = None,
) -> dict[str, Any]:
    """Simulate a month on a fresh database at ``db``; return the figures ``--json`` prints.

    ``say`` receives the human-readable report, line by line; ``progress`` (e.g.
    ``sys.stderr``) receives the progress bar.
    """
    if db != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    month = _Month(db, orders, seed, say)
    try:
        month.run(_Progress(DAYS, progress))
        return _report(month, db, say)
    finally:
        month.store.close()


def _report(month: _Month, db: str, say: Callable[[str], None]) -> dict[str, Any]:
    """The month's figures (what ``--json`` prints), after printing the report."""
    market, tally = month.market, month.tally
    all_orders = [o for v in sorted(VENDORS) for o in vendor_orders(market, v)]
    completed = sum(o.status is OrderStatus.COMPLETED for o in all_orders)
    journal = market.verify_journal(by=STAFF)
    totals: dict[str, int] = {}
    for txn in market.journal(by=STAFF):
        for entry in txn.entries:
            totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount_minor
    balanced = all(v == 0 for v in totals.values())
    offsets = [line for p in month.payouts for line in p.statement.lines if line.offset_minor > 0]
    figures: dict[str, Any] = {
        "orders": tally.orders,
        "checkouts": tally.checkouts,
        "completed": completed,
        "cancelled": sum(o.status is OrderStatus.CANCELLED for o in all_orders),
        "shipments": tally.shipments,
        "multi_shipment_orders": sum(len(o.shipments) > 1 for o in all_orders),
        "auto_confirmed": sum(s.confirmed_automatically for o in all_orders for s in o.shipments),
        "issues": tally.issues,
        "mediated": tally.mediated,
        "released": len(month.released),
        "refunds_before_release": tally.refunds_before_release,
        "refunds_after_release": tally.refunds_after_release,
        "negative_balances_offset": len(offsets),
        "chargebacks": tally.chargebacks,
        "messages": tally.messages,
        "messages_redacted": tally.redacted,
        "payouts": len(month.payouts),
        "notifications": len(month.notifier.sent),
        "refusals": dict(sorted(tally.refusals.items())),
        "journal_transactions": journal.transactions,
        "journal_verified": journal.ok,
        "journal_balanced": balanced,
    }

    vendor = month.story_vendor
    first, last = START.date(), (START + dt.timedelta(days=DAYS)).date()  # the whole month
    render(
        say,
        db=db,
        figures=figures,
        story=month.story,
        account=market.get_vendor(vendor, by=STAFF),
        orders=[o for o in all_orders if o.vendor_id == vendor],
        balance=market.balance(vendor, by=STAFF),
        payouts=[p for p in month.payouts if p.vendor_id == vendor],
        journal=journal,
        balanced=balanced,
        sales=market.sales_report(vendor, by=STAFF, start=first, end=last, granularity="week"),
        bestsellers=market.bestsellers(vendor, by=STAFF, start=first, end=last, limit=5),
    )
    return figures


def main_json(figures: dict[str, Any]) -> str:
    """The ``--json`` text: sorted keys, so the same seed gives the same bytes."""
    return json.dumps(figures, sort_keys=True, indent=2)


if __name__ == "__main__":  # pragma: no cover
    run_demo(progress=sys.stderr)
