"""The vendor guide page (docs/vendor-guide.md) names only code and tests that exist, and
the one rule no other test names (R19) is proved here."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from moneyed import Money

import asolora_core
from asolora_core import Actor, FakeClock, InMemoryStore, Item, Marketplace, ReturnPolicy

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "vendor-guide.md").read_text()
ROWS = [line for line in PAGE.splitlines() if line.startswith("| ") and "---" not in line]
TICKED = re.compile(r"`([^`]+)`")


def _cells(column: int) -> list[str]:
    return [
        name
        for row in ROWS
        if not row.startswith("| sentence")
        for name in TICKED.findall(row.split(" | ")[column])
    ]


@pytest.mark.parametrize("name", sorted(set(_cells(2))))
def test_every_code_name_on_the_page_exists(name: str) -> None:
    head, *rest = name.split(".")
    value: object = getattr(asolora_core, head)
    for attr in rest:
        value = getattr(value, attr)


@pytest.mark.parametrize("ref", sorted(set(_cells(3))))
def test_every_test_on_the_page_exists(ref: str) -> None:
    path, name = ref.split("::")
    assert re.search(rf"^def {name}\(", (ROOT / "tests" / path).read_text(), re.M), ref


def test_every_section_of_the_guide_is_on_the_page() -> None:
    for section in (
        "Handling Orders",
        "Managing Returns & Refunds",
        "Communicating with Buyers",
        "Store Performance & Analytics",
    ):
        assert f"## {section}" in PAGE
    assert len(ROWS) - 5 >= 37  # every sentence of the guide has a row (5 header rows)


def test_r19_each_line_keeps_the_policy_in_force_at_purchase() -> None:
    """R19: the vendor's own policy travels with the order line as a snapshot; a later change
    of the listing's policy does not touch orders already placed."""
    market = Marketplace(InMemoryStore(), clock=FakeClock(dt.datetime(2026, 10, 1, tzinfo=dt.UTC)))
    strict = ReturnPolicy(returns_accepted=True, window_days=14, text="14 days, unused")
    (order,) = market.place_checkout(
        buyer=Actor.buyer("ada"),
        customer_name="Ada",
        items=[
            Item(
                vendor_id="anna",
                product_id="mug",
                quantity=1,
                unit_price=Money("18.00", "EUR"),
                policy=strict,
            )
        ],
        paid=Money("18.00", "EUR"),
    )
    later = ReturnPolicy(returns_accepted=False, text="no returns")
    (second,) = market.place_checkout(
        buyer=Actor.buyer("ada"),
        customer_name="Ada",
        items=[
            Item(
                vendor_id="anna",
                product_id="mug",
                quantity=1,
                unit_price=Money("18.00", "EUR"),
                policy=later,
            )
        ],
        paid=Money("18.00", "EUR"),
    )
    assert market.get_order(order.order_id, by=Actor.vendor("anna")).lines[0].policy == strict
    assert second.lines[0].policy == later
