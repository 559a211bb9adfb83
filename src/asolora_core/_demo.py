"""The demo: a small store simulated through the public API on a SQLite file.

``python -m asolora_core demo`` runs it. Time is simulated with a :class:`FakeClock`, so the
run is the same every time, and takes well under a second.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from moneyed import Money

from asolora_core.actors import Actor
from asolora_core.adapters.notifiers import RecordingNotifier
from asolora_core.adapters.sqlite import SqliteStore
from asolora_core.clock import FakeClock
from asolora_core.errors import AsoloraError
from asolora_core.fx import FixedRateProvider
from asolora_core.ledger.model import FeeSchedule, MoneyConfig
from asolora_core.money import format_minor
from asolora_core.orders.model import IssueKind, Order, Resolution, ReturnPolicy
from asolora_core.service import Item, Marketplace, MarketplaceConfig, SequentialIds

__all__ = ["run_demo"]

START = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)

ANNA, KENJI, OMAR = (
    Actor.vendor("anna-ceramics"),
    Actor.vendor("kenji-tea"),
    Actor.vendor("omar-rugs"),
)
ADA, GRACE, LINUS = Actor.buyer("ada"), Actor.buyer("grace"), Actor.buyer("linus")
STAFF = Actor.staff("mia")

POLICY = ReturnPolicy(returns_accepted=True, window_days=30, text="30-day returns, unused items")


def _eur(amount: str) -> Money:
    return Money(amount, "EUR")


def run_demo(db: str = "asolora-demo.db", *, say: Callable[[str], None] = print) -> dict[str, int]:
    """Run the demo on a fresh database at ``db`` and return a few counts (for tests)."""
    if db != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    store = SqliteStore(db)
    clock = FakeClock(START)
    notifier = RecordingNotifier()
    market = Marketplace(
        store,
        clock=clock,
        notifier=notifier,
        ids=SequentialIds(),
        config=MarketplaceConfig(
            auto_confirm_after=dt.timedelta(days=14),
            money=MoneyConfig(
                fees=FeeSchedule(commission_bp=1000, processing_bp=290, conversion_bp=150),
                rates=FixedRateProvider(
                    {("EUR", "GBP"): "0.8675", ("EUR", "JPY"): "162.35"}, as_of=START
                ),
            ),
        ),
    )
    # Vendors are paid out in their local currency (R17).
    for vendor, currency in ((ANNA, "EUR"), (KENJI, "JPY"), (OMAR, "GBP")):
        market.register_vendor(vendor.id, payout_currency=currency, by=STAFF)
    step = 0

    def progress(text: str) -> None:
        nonlocal step
        step += 1
        say(f"[{step:02d}] {clock.now():%Y-%m-%d %H:%M} {text}")

    say(f"asolora_core demo on SQLite file {os.path.abspath(db) if db != ':memory:' else db}")

    # 1. A checkout across two vendors becomes two orders (R3).
    orders = market.place_checkout(
        buyer=ADA,
        customer_name="Ada Lovelace",
        items=[
            Item(
                vendor_id=ANNA.id,
                product_id="mug-blue",
                title="Blue mug",
                quantity=3,
                unit_price=_eur("18.00"),
                policy=POLICY,
            ),
            Item(
                vendor_id=ANNA.id,
                product_id="bowl",
                title="Bowl",
                quantity=1,
                unit_price=_eur("32.50"),
                policy=POLICY,
            ),
            Item(
                vendor_id=KENJI.id,
                product_id="sencha",
                title="Sencha 100g",
                quantity=2,
                unit_price=_eur("9.90"),
            ),
        ],
        shipping={ANNA.id: _eur("6.90"), KENJI.id: _eur("3.50")},
        paid=_eur("112.70"),
    )
    anna_order, kenji_order = orders
    progress(
        f"Ada checked out {format_minor(sum(o.paid_minor for o in orders), 'EUR')}: "
        + ", ".join(
            f"{o.order_id} for {o.vendor_id} ({format_minor(o.paid_minor, 'EUR')})" for o in orders
        )
    )

    # 2. Anna ships in two parcels, with tracking updates (R5, R6).
    mugs, bowl = (line.line_id for line in anna_order.lines)
    order = market.ship(
        anna_order.order_id, by=ANNA, items={mugs: 3}, carrier="DHL", tracking_number="JD0146000062"
    )
    order = market.ship(
        order.order_id, by=ANNA, items={bowl: 1}, carrier="PostNL", tracking_number="3SABCD1234567"
    )
    progress(
        f"Anna shipped {order.order_id} in {len(order.shipments)} parcels: "
        f"fulfilment is {order.fulfilment.state}"
    )
    clock.advance(days=1)
    for shipment in order.shipments:
        market.update_tracking(order.order_id, shipment.shipment_id, by=ANNA, note="in transit")
    clock.advance(days=1)
    for shipment in order.shipments:
        order = market.mark_delivered(order.order_id, shipment.shipment_id, by=ANNA)
    progress(
        f"Both parcels delivered; Ada is asked to confirm Order Received ({order.fulfilment.state})"
    )

    # 3. Nobody can mark an order completed by hand (R8).
    try:
        market.complete_order(order.order_id, by=ANNA)
    except AsoloraError as refusal:
        progress(f"Anna tried to mark it completed: refused ({refusal.code})")

    # 4. Ada confirms both; the last confirmation completes the order (R9).
    clock.advance(hours=5)
    for shipment in order.shipments:
        order = market.confirm_receipt(order.order_id, shipment.shipment_id, by=ADA)
    progress(
        f"Ada confirmed both parcels: {order.order_id} is {order.status.value} "
        f"at {order.completed_at:%Y-%m-%d %H:%M}"
    )

    # Payments are released 7 days (168 h) after completion (R15).
    hold = market.get_hold(order.order_id, by=STAFF)
    progress(
        f"{format_minor(hold.held_minor, 'EUR')} of {order.order_id} is held for Anna after "
        f"commission and fees, due {hold.release_at:%Y-%m-%d %H:%M}"
    )

    # 5. Kenji ships; the parcel arrives damaged; an issue, an offer, a settlement (R12, R38).
    (tea,) = (line.line_id for line in kenji_order.lines)
    kenji = market.ship(
        kenji_order.order_id,
        by=KENJI,
        items={tea: 2},
        carrier="JP Post",
        tracking_number="EJ123456789JP",
    )
    clock.advance(days=3)
    kenji = market.mark_delivered(kenji.order_id, kenji.shipments[0].shipment_id, by=KENJI)
    kenji = market.report_issue(
        kenji.order_id,
        by=ADA,
        kind=IssueKind.DAMAGED,
        description="One tin arrived dented and open",
        line_ids=[tea],
    )
    issue = kenji.issues[-1]
    progress(
        f"Ada reported {issue.kind.value} on {kenji.order_id} before confirming ({issue.issue_id})"
    )
    try:
        market.confirm_receipt(kenji.order_id, kenji.shipments[0].shipment_id, by=ADA)
    except AsoloraError as refusal:
        progress(f"Confirming that parcel is blocked while the issue is open ({refusal.code})")
    clock.advance(hours=2)
    kenji = market.respond_to_issue(
        kenji.order_id, issue.issue_id, by=KENJI, message="So sorry! May I refund one tin?"
    )
    kenji = market.offer_settlement(
        kenji.order_id, issue.issue_id, by=KENJI, resolution=Resolution.REFUND, amount=_eur("9.90")
    )
    kenji = market.answer_settlement(kenji.order_id, issue.issue_id, by=ADA, accept=True)
    progress(
        f"Kenji answered in 2 h and refunded {format_minor(kenji.refunded_minor, 'EUR')}; "
        f"issue {kenji.issues[-1].outcome.value if kenji.issues[-1].outcome else '?'}"
    )
    kenji = market.confirm_receipt(kenji.order_id, kenji.shipments[0].shipment_id, by=ADA)
    progress(f"Ada confirmed: {kenji.order_id} is {kenji.status.value}")

    # 6. Grace cancels before anything ships: full refund (R11).
    (omar_order,) = market.place_checkout(
        buyer=GRACE,
        customer_name="Grace Hopper",
        items=[
            Item(
                vendor_id=OMAR.id,
                product_id="kilim",
                title="Kilim rug",
                quantity=1,
                unit_price=_eur("240.00"),
            )
        ],
        paid=_eur("240.00"),
    )
    omar_order = market.cancel_order(omar_order.order_id, by=GRACE, reason="ordered the wrong size")
    progress(
        f"Grace cancelled {omar_order.order_id} before shipping: refunded "
        f"{format_minor(omar_order.refunded_minor, 'EUR')}"
    )

    # 7. Linus never confirms; the marketplace auto-confirms after 14 days (R10, configured).
    (linus_order,) = market.place_checkout(
        buyer=LINUS,
        customer_name="Linus T.",
        items=[
            Item(
                vendor_id=ANNA.id,
                product_id="mug-blue",
                title="Blue mug",
                quantity=1,
                unit_price=_eur("18.00"),
                policy=POLICY,
            )
        ],
        paid=_eur("18.00"),
    )
    linus_order = market.ship(
        linus_order.order_id,
        by=ANNA,
        items={linus_order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="JD0146000099",
    )
    linus_order = market.mark_delivered(
        linus_order.order_id, linus_order.shipments[0].shipment_id, by=ANNA
    )
    clock.advance(days=15)
    report = market.run_due()
    linus_order = market.get_order(linus_order.order_id, by=STAFF)
    progress(
        f"15 days later the sweep auto-confirmed {report.timers.get('auto_confirm', 0)} "
        f"shipment(s): {linus_order.order_id} is {linus_order.status.value}; "
        f"{report.notifications.delivered} notifications delivered"
    )

    # 8. Released proceeds are converted to the vendor's currency (R17), then paid out (R18).
    clock.advance(days=8)
    report = market.run_due()
    progress(
        f"8 days later the sweep released {report.timers.get('release', 0)} more order(s) "
        "to the vendors' balances, in their local currencies"
    )
    # A refund after release is debited from the vendor's balance (R22) ...
    market.refund(kenji.order_id, by=KENJI, amount=_eur("12.60"), reason="goodwill")
    kenji_balance = market.balance(KENJI.id, by=KENJI)
    progress(f"Kenji refunded 12.60 EUR after release: his balance is {kenji_balance.balance}")
    payouts = market.run_payouts()
    for payout in payouts:
        st = payout.statement
        progress(
            f"Payout {payout.payout_id} to {payout.vendor_id}: {payout.amount} "
            f"({len(st.lines)} statement lines, reconciles: {st.reconciles})"
        )
    journal = market.verify_journal(by=STAFF)
    progress(f"Journal: {journal.transactions} balanced transactions, hash chain ok={journal.ok}")

    # 9. Chat stays on the platform; contact details are redacted and flagged (R26-R28).
    started = market.start_conversation(
        by=ANNA, customer_name="Ada Lovelace", text="Hi Ada, thanks for your order!"
    )
    conversation = started.conversation
    clock.advance(minutes=20)
    posted = market.post_message(
        conversation.conversation_id,
        by=ADA,
        text="Love the mugs! Call me on +44 7700 900123 for more?",
    )
    progress(f"Ada wrote: {posted.message.text!r}")
    if posted.notice:
        progress(f"Ada was told: {posted.notice}")
    clock.advance(minutes=7)
    market.post_message(
        conversation.conversation_id,
        by=ANNA,
        text="Happy to help here in the chat: order #A-1002 ships Monday.",
    )
    times = market.response_times(ANNA.id, by=STAFF, since=START, until=clock.now())
    progress(f"Anna's median first response: {times.median}")
    market.run_due()

    all_orders: list[Order] = [order, kenji, omar_order, linus_order]
    all_orders = [market.get_order(o.order_id, by=STAFF) for o in all_orders]
    history = sum(len(market.order_history(o.order_id, by=STAFF)) for o in all_orders)
    say("")
    say("Orders")
    for o in all_orders:
        say(
            f"  {o.order_id}  {o.vendor_id:<14} {o.buyer_id:<6} {o.status.value:<10} "
            f"paid {format_minor(o.paid_minor, o.currency):>11}  "
            f"refunded {format_minor(o.refunded_minor, o.currency):>10}"
        )
    say("Vendor balances")
    for vendor in (ANNA, KENJI, OMAR):
        b = market.balance(vendor.id, by=STAFF)
        say(
            f"  {vendor.id:<14} balance {b.balance!s:>12}  held {b.held!s:>12}  "
            f"paid out {b.paid_out!s:>12}"
        )
    say(
        f"{history} events in the order histories; {len(notifier.sent)} notifications sent; "
        f"{len(payouts)} payouts"
    )
    store.close()
    return {
        "orders": len(all_orders),
        "events": history,
        "notifications": len(notifier.sent),
        "payouts": len(payouts),
    }
