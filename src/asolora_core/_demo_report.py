"""The demo's report: the month's story, its figures, one vendor's sales and payout
statement as tables, and the journal check (see :mod:`asolora_core._demo`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from asolora_core.ledger.model import Payout, Statement, VendorAccount, VendorBalance
from asolora_core.ledger.service import JournalReport
from asolora_core.money import format_minor
from asolora_core.orders.model import Order, OrderStatus
from asolora_core.reports.model import BestsellersReport, SalesReport

__all__ = ["render"]


def _table(rows: list[list[str]], header: list[str], say: Callable[[str], None]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    say("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    say("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        cells = [
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        say("  " + "  ".join(cells))


def _statement_rows(statement: Statement) -> list[list[str]]:
    rows = []
    cur = statement.currency
    for line in statement.lines:
        oc = line.order_currency
        rows.append(
            [
                line.kind,
                line.order_id or "-",
                format_minor(line.gross_minor, oc),
                f"{line.commission.amount + line.processing_fee.amount} "
                f"{line.processing_fee.currency.code}",
                f"{line.rate}" if line.rate is not None else "-",
                format_minor(line.conversion_fee_minor, cur),
                format_minor(line.offset_minor, cur) if line.offset_minor else "",
                format_minor(line.amount_minor, cur),
            ]
        )
    return rows


EARNINGS = ["payout", "paid on", "releases", "released", "debits", "debited", "offset", "paid"]


def _earnings_row(payout: Payout) -> list[str]:
    """One payout's statement folded into an earnings line."""
    lines, cur = payout.statement.lines, payout.currency
    credits = [line for line in lines if line.amount_minor > 0]
    debits = [line for line in lines if line.amount_minor < 0]
    return [
        payout.payout_id,
        f"{payout.at:%Y-%m-%d}",
        str(len(credits)),
        format_minor(sum(line.amount_minor for line in credits), cur),
        str(len(debits)),
        format_minor(sum(line.amount_minor for line in debits), cur),
        format_minor(sum(line.offset_minor for line in lines), cur),
        format_minor(payout.amount_minor, cur),
    ]


def render(
    say: Callable[[str], None],
    *,
    db: str,
    figures: dict[str, Any],
    story: Sequence[str],
    account: VendorAccount,
    orders: Sequence[Order],
    balance: VendorBalance,
    payouts: Sequence[Payout],
    journal: JournalReport,
    balanced: bool,
    sales: SalesReport | None = None,
    bestsellers: BestsellersReport | None = None,
) -> None:
    """Print the report, line by line, through ``say``."""
    path = os.path.abspath(db) if db != ":memory:" else db
    say(f"asolora_core demo: a month of a marketplace on SQLite ({path})")
    say("")
    say("What happened")
    for line in story:
        say(f"  {line}")
    say("")
    say("The month in figures")
    _table(
        [[k.replace("_", " "), str(v)] for k, v in figures.items() if not isinstance(v, dict)],
        ["figure", "value"],
        say,
    )
    vendor, mine = account.vendor_id, orders
    say("")
    say(f"{account.name} ({vendor}), paid out in {account.payout_currency}")
    by_currency: dict[str, list[Order]] = {}
    for o in mine:
        by_currency.setdefault(o.currency, []).append(o)
    _table(
        [
            [
                currency,
                str(len(os_)),
                str(sum(o.status is OrderStatus.COMPLETED for o in os_)),
                format_minor(sum(o.paid_minor for o in os_), currency),
                format_minor(sum(o.refunded_minor for o in os_), currency),
                format_minor(sum(o.paid_minor - o.refunded_minor for o in os_), currency),
            ]
            for currency, os_ in sorted(by_currency.items())
        ],
        ["sales in", "orders", "completed", "gross", "refunds", "net"],
        say,
    )
    say(
        f"  balance {balance.balance}, still held {balance.held} "
        "(released 168 hours after completion), "
        f"paid out {balance.paid_out}"
    )
    if payouts:
        say("")
        say("Earnings, payout by payout (R31)")
        _table([_earnings_row(p) for p in payouts], EARNINGS, say)
        last = payouts[-1]
        say("")
        say(f"Payout {last.payout_id} of {last.at:%Y-%m-%d}: statement (R41)")
        _table(
            _statement_rows(last.statement),
            ["line", "order", "gross", "fees", "rate", "conv. fee", "offset", "amount"],
            say,
        )
        st = last.statement
        say(
            f"  opening {format_minor(st.opening_minor, st.currency)} + lines - closing "
            f"{format_minor(st.closing_minor, st.currency)} = paid "
            f"{format_minor(st.paid_minor, st.currency)}; reconciles: {st.reconciles}"
        )
    if sales is not None:
        _sales(sales, say)
    if bestsellers is not None:
        _bestsellers(bestsellers, say)
    say("")
    say(
        f"Journal: {journal.transactions} transactions, hash chain verified: {journal.ok}, "
        f"balanced in every currency: {balanced}"
    )


def _sales(report: SalesReport, say: Callable[[str], None]) -> None:
    """R30: the vendor's sales, week by week in its time zone, one row per currency."""
    say("")
    say(
        f"Sales report (R30), {report.first_day} to {report.last_day}, by "
        f"{report.granularity.value} ({report.timezone})"
    )
    rows = [
        [
            period.period.label,
            f.currency,
            str(f.orders),
            str(f.items),
            str(f.refunded_items),
            format_minor(f.gross_minor, f.currency),
            format_minor(f.refunds_minor, f.currency),
            format_minor(f.net_minor, f.currency),
        ]
        for period in report.periods
        for f in period.figures
    ]
    rows += [
        [
            "total",
            f.currency,
            str(f.orders),
            str(f.items),
            str(f.refunded_items),
            format_minor(f.gross_minor, f.currency),
            format_minor(f.refunds_minor, f.currency),
            format_minor(f.net_minor, f.currency),
        ]
        for f in report.totals
    ]
    header = ["period", "currency", "orders", "items", "refunded", "gross", "refunds", "net"]
    _table(rows, header, say)


def _bestsellers(report: BestsellersReport, say: Callable[[str], None]) -> None:
    """R32: the top products by units sold net of refunded units."""
    say("")
    say(f"Bestselling products (R32), {report.first_day} to {report.last_day}")
    _table(
        [
            [
                str(b.rank),
                b.product_id,
                str(b.units_sold),
                str(b.units_refunded),
                str(b.units),
                format_minor(b.net_revenue_minor, b.currency),
                f"{b.share:.1%}",
            ]
            for b in report.products
        ],
        ["#", "product", "sold", "refunded", "net units", "net revenue", "share"],
        say,
    )
