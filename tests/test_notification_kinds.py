"""Notification kinds are public constants (R29): every kind the library sends is a
``NotificationKind`` with its documented recipient and subject."""

from __future__ import annotations

import pytest

from asolora_core import NOTIFICATION_KINDS, Actor, FakeClock, NotificationKind
from asolora_core.orders.notify import ALSO, IF_AUTOMATIC, NOTIFICATIONS, _split
from samples import START, build_market, scenario


def test_every_kind_sent_in_the_guide_scenario_is_a_public_constant() -> None:
    """R29: the whole guide (orders, issues, release, chargeback, payout, chat) sends only
    documented kinds, and the recipient matches the documented side."""
    clock = FakeClock(START)
    market = build_market(clock)
    scenario(market, clock)
    sent = market.outbox(by=Actor.staff("ops"))
    kinds = {m.notification.kind for m in sent}
    assert kinds <= set(NotificationKind)
    assert {"order.placed", "proceeds.released", "payout.paid", "message.posted"} <= kinds
    for message in sent:
        info = NOTIFICATION_KINDS[NotificationKind(message.notification.kind)]
        if info.recipient in ("vendor", "buyer"):
            assert message.notification.recipient.kind.value == info.recipient


def test_the_order_table_uses_only_public_kinds() -> None:
    """R29: the table of order notifications names only documented kinds."""
    assert {kind for _, kind, _ in NOTIFICATIONS.values()} <= set(NotificationKind)
    assert set(NOTIFICATION_KINDS) == set(NotificationKind)


@pytest.mark.parametrize(
    "text",
    sorted(
        {text for table in (NOTIFICATIONS, IF_AUTOMATIC, ALSO) for _, _, text in table.values()}
    ),
)
def test_r29_a_sentence_is_what_str_format_makes_of_its_template(text: str) -> None:
    """R29: the sentences built from a template's split around ``{order}`` are exactly what
    ``str.format`` makes of it (templates that format more are left to ``str.format``)."""
    parts = _split(text)
    if parts is not None:
        assert parts[0] + "o-1{x}" + parts[1] == text.format(order="o-1{x}")
    else:
        assert text.count("{") > 1 or "{order}" not in text
