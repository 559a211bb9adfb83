"""JSON out and back (R25 amounts stay exact, R34 instants stay UTC).

Every exported value type goes to JSON text and back equal: the types the public API returns
are sampled from one scenario walking the guide (``samples.collect``); the few that no call
returns (inputs, configuration) are built here. Generic on purpose: a new exported attrs type
fails :func:`test_every_exported_value_type_has_a_sample` until it is returned or built here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies._internal import types as hypothesis_types
from moneyed import Money

import asolora_core
from asolora_core import (
    Actor,
    FeeSchedule,
    Fulfilment,
    InvalidInputError,
    InvalidMoneyError,
    Item,
    JournalProblem,
    KindInfo,
    NaiveDatetimeError,
    Order,
    PayoutPaid,
    RateSnapshot,
    ReturnPolicy,
    VendorRegistered,
    from_json,
    to_json,
)
from asolora_core.testing import strategies
from samples import START, collect

#: Exported value types no public call returns and hypothesis cannot build from their type
#: hints alone (validators refuse random values): built by hand. Others are generated.
BUILT: dict[type[Any], Any] = {
    Item: Item(
        vendor_id="v-1",
        product_id="mug",
        quantity=2,
        unit_price=Money("18.00", "EUR"),
        title="Mug",
        policy=ReturnPolicy(returns_accepted=True, window_days=14),
    ),
    FeeSchedule: FeeSchedule(commission_bp=1000, processing_fixed={"EUR": Money("0.30", "EUR")}),
    Fulfilment: Fulfilment(
        state="shipped",
        units_to_ship=2,
        units_shipped=2,
        shipments_delivered=0,
        shipments_confirmed=0,
        shipments=1,
    ),
    JournalProblem: JournalProblem(seq=3, problem="hash chain broken"),
    RateSnapshot: RateSnapshot("EUR", "JPY", "162.35", "fixed", START),
    KindInfo: asolora_core.NOTIFICATION_KINDS[asolora_core.NotificationKind.ORDER_PLACED],
    PayoutPaid: PayoutPaid(
        aggregate_id="v-1",
        at=START,
        actor=Actor.system(),
        payout_id="p-1",
        currency="JPY",
        amount_minor=1200,
        seq=9,
    ),
    VendorRegistered: VendorRegistered(
        aggregate_id="v-1",
        at=START,
        actor=Actor.staff("s-1"),
        payout_currency="KWD",
        vendor_name="Anna",
    ),
}
#: Exported attrs types that are not values (configuration holding a live rate provider).
NOT_VALUES = {"MarketplaceConfig", "MoneyConfig"}


def _generated(cls: type[Any]) -> list[Any]:
    """Up to five values of ``cls`` that hypothesis builds from its type hints (so a new
    plain value type is covered with no change here); none when validators refuse them."""
    found: list[Any] = []
    with st_types():

        @settings(
            max_examples=5, database=None, deadline=None, suppress_health_check=list(HealthCheck)
        )
        @given(st.from_type(cls))
        def gather(value: Any) -> None:
            found.append(value)

        try:
            gather()
        except Exception:
            return []
    return found


@contextlib.contextmanager
def st_types() -> Iterator[None]:
    """Strategies for the library's leaf types while generating (exact money, UTC instants)."""
    registered = {
        Money: strategies.money(),
        dt.datetime: st.datetimes(timezones=st.just(dt.UTC)),
        Decimal: st.decimals(allow_nan=False, allow_infinity=False, places=4),
        Actor: strategies.actors(),
    }
    lookup = hypothesis_types._global_type_lookup  # to restore what was there before
    before = {tp: lookup[tp] for tp in registered if tp in lookup}
    for tp, strategy in registered.items():
        st.register_type_strategy(tp, strategy)
    try:
        yield
    finally:
        for tp in registered:
            lookup.pop(tp, None)
        lookup.update(before)
        st.from_type.__clear_cache()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def samples() -> dict[type[Any], list[Any]]:
    found = collect()
    for cls, value in BUILT.items():
        found.setdefault(cls, []).append(value)
    for cls in _exported_value_types():
        if cls not in found and attrs.has(cls) and cls is not asolora_core.DomainEvent:
            found[cls] = _generated(cls)
    for cls in _exported_value_types():
        if issubclass(cls, enum.Enum):
            found[cls] = list(cls)  # every member of every enum
    return found


def _exported_value_types() -> list[type[Any]]:
    return sorted(
        (
            value
            for name, value in vars(asolora_core).items()
            if name in asolora_core.__all__
            and isinstance(value, type)
            and (attrs.has(value) or issubclass(value, enum.Enum))
            and name not in NOT_VALUES
        ),
        key=lambda t: t.__name__,
    )


def test_every_exported_value_type_has_a_sample(samples: dict[type[Any], list[Any]]) -> None:
    """Every exported type is covered by the round trip below."""
    missing = [t.__name__ for t in _exported_value_types() if t not in samples]
    abstract = {"DomainEvent"}  # only its subclasses exist as values
    assert sorted(set(missing) - abstract) == []


@pytest.mark.parametrize("cls", _exported_value_types(), ids=lambda t: t.__name__)
def test_round_trip_through_json_text(cls: type[Any], samples: dict[type[Any], list[Any]]) -> None:
    """R25, R34: value -> to_json -> json text -> from_json is the same value."""
    for value in samples.get(cls, []):
        text = json.dumps(to_json(value), sort_keys=True)
        assert from_json(cls, json.loads(text)) == value


def test_amounts_are_decimal_strings_with_their_currency() -> None:
    """R25: never a float; the currency's own number of digits (JPY 0, EUR 2, KWD 3)."""
    assert to_json(Money("0.10", "EUR")) == {"amount": "0.10", "currency": "EUR"}
    assert to_json(Money("1", "EUR")) == {"amount": "1.00", "currency": "EUR"}
    assert to_json(Money("1200", "JPY")) == {"amount": "1200", "currency": "JPY"}
    assert to_json(Money("1.5", "KWD")) == {"amount": "1.500", "currency": "KWD"}
    assert from_json(Money, {"amount": "0.10", "currency": "EUR"}) == Money("0.10", "EUR")


@pytest.mark.parametrize("amount", [18.1, 18.0, 18, 0.30000000000000004, True, None, ["1"]])
def test_an_amount_sent_as_a_json_number_is_refused(amount: Any) -> None:
    """R25: an amount in is a decimal string; a JSON number (a float in every parser) is
    refused with ``invalid_money`` naming the field, also inside an item."""
    with pytest.raises(InvalidMoneyError) as refused:
        from_json(Money, {"amount": amount, "currency": "EUR"})
    assert refused.value.fields["field"] == "amount"
    item = {"vendor_id": "anna", "product_id": "mug", "quantity": 1}
    with pytest.raises(InvalidMoneyError):
        from_json(Item, {**item, "unit_price": {"amount": amount, "currency": "EUR"}})


def test_order_amounts_are_money_and_instants_utc(
    samples: dict[type[Any], list[Any]],
) -> None:
    """R25 at the public boundary: ``paid_minor`` is written as ``paid`` with its currency;
    R34: instants are ISO 8601 in UTC with a Z."""
    order: Order = samples[Order][0]
    data = to_json(order)
    assert data["paid"] == {"amount": str(order.paid.amount), "currency": order.currency}
    assert "paid_minor" not in data
    assert data["lines"][0]["unit_price"]["currency"] == order.currency
    assert data["placed_at"].endswith("Z")
    assert dt.datetime.fromisoformat(data["placed_at"]) == order.placed_at
    assert data["status"] == "processing" or data["status"] in {"completed", "cancelled"}
    assert data["fulfilment"]["state"] == order.fulfilment.state  # a derived view, output only
    json.dumps(data)  # no float, no datetime, nothing json cannot write


def test_instants_in_other_zones_come_out_in_utc() -> None:
    """R34: whatever zone an instant carries, it is written in UTC."""
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert to_json(dt.datetime(2026, 3, 2, 18, 0, tzinfo=tokyo)) == "2026-03-02T09:00:00Z"
    assert to_json(dt.timedelta(days=7)) == "PT604800S"
    assert from_json(dt.timedelta, "PT604800S") == dt.timedelta(days=7)
    assert to_json(Decimal("0.8675")) == "0.8675"


def test_events_carry_their_type_so_a_history_reads_back(
    samples: dict[type[Any], list[Any]],
) -> None:
    """R42: an order's history (a tuple of events) goes out and back as the same events."""
    events = tuple(
        v for t, vs in samples.items() if issubclass(t, asolora_core.DomainEvent) for v in vs
    )
    data = to_json(events)
    assert all("type" in e for e in data)
    assert from_json(tuple[asolora_core.DomainEvent, ...], data) == events


def test_inputs_read_back_from_either_amount_form() -> None:
    """An input may send ``unit_price`` as an amount object; ``*_minor`` integers are read too."""
    item = from_json(
        Item,
        {
            "vendor_id": "v-1",
            "product_id": "mug",
            "quantity": 1,
            "unit_price": {"amount": "18.00", "currency": "EUR"},
        },
    )
    assert item.unit_price == Money("18.00", "EUR")
    assert from_json(Actor, {"kind": "buyer", "id": "b-1"}) == Actor.buyer("b-1")


def test_bad_json_is_refused_with_a_library_error() -> None:
    """R2, R25, R34: too many decimals, a naive instant, a missing field: named refusals."""
    with pytest.raises(InvalidMoneyError):
        from_json(Money, {"amount": "0.105", "currency": "EUR"})
    with pytest.raises(NaiveDatetimeError):
        from_json(dt.datetime, "2026-03-02T09:00:00")
    with pytest.raises(InvalidInputError):
        from_json(Actor, {"kind": "buyer"})


def _contains(actual: Any, expected: Any) -> bool:
    """``expected`` is in ``actual``: same values, where ``actual`` may have more keys."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def test_the_format_is_stable() -> None:
    """The JSON of a shipped order, as version 1 wrote it. A later version may add
    keys, never change or remove these."""
    market = asolora_core.Marketplace(
        asolora_core.InMemoryStore(),
        clock=asolora_core.FakeClock(dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)),
        ids=asolora_core.SequentialIds(),
        notifier=asolora_core.RecordingNotifier(),
    )
    (order,) = market.place_checkout(
        buyer=Actor.buyer("ada"),
        customer_name="Ada",
        items=[
            Item(vendor_id="anna", product_id="mug", quantity=2, unit_price=Money("0.10", "EUR"))
        ],
        paid=Money("0.20", "EUR"),
    )
    order = market.ship(
        order.order_id,
        by=Actor.vendor("anna"),
        items={order.lines[0].line_id: 2},
        carrier="DHL",
        tracking_number="T1",
    )
    eur = {"currency": "EUR"}
    expected = {
        "order_id": order.order_id,
        "version": 2,
        "checkout_id": order.checkout_id,
        "vendor_id": "anna",
        "buyer_id": "ada",
        "customer_name": "Ada",
        "currency": "EUR",
        "lines": [
            {
                "line_id": order.lines[0].line_id,
                "product_id": "mug",
                "quantity": 2,
                "unit_price": {"amount": "0.10", **eur},
                "paid": {"amount": "0.20", **eur},
                "policy": {"returns_accepted": False, "window_days": 0},
            }
        ],
        "shipping_paid": {"amount": "0.00", **eur},
        "paid": {"amount": "0.20", **eur},
        "placed_at": "2026-10-01T09:00:00Z",
        "status": "processing",
        "shipments": [
            {
                "shipment_id": order.shipments[0].shipment_id,
                "items": [[order.lines[0].line_id, 2]],
                "status": "in_transit",
                "shipped_at": "2026-10-01T09:00:00Z",
                "tracking": [
                    {
                        "at": "2026-10-01T09:00:00Z",
                        "carrier": "DHL",
                        "tracking_number": "T1",
                        "note": "",
                    }
                ],
                "delivered_at": None,
                "confirmed_at": None,
                "carrier": "DHL",
                "tracking_number": "T1",
            }
        ],
        "issues": [],
        "refunds": [],
        "completed_at": None,
        "cancelled_at": None,
        "fulfilment": {"state": "shipped", "units_to_ship": 2, "units_shipped": 2},
        "refunded": {"amount": "0.00", **eur},
        "refundable": {"amount": "0.20", **eur},
    }
    assert _contains(to_json(order), expected)
    assert asolora_core.jsonout.FORMAT_VERSION == 1


def test_signed_amounts_of_values_read_back() -> None:
    """R25: values carry signed amounts (a journal entry's credit, a statement's debit line);
    one leading minus reads back, through the same bounded parsing as any amount."""
    assert from_json(Money, {"amount": "-14.79", "currency": "EUR"}) == Money("-14.79", "EUR")
    for bad in ("--1.00", "-", "-1.001"):
        with pytest.raises(InvalidMoneyError):
            from_json(Money, {"amount": bad, "currency": "EUR"})


def test_durations_read_back_exactly_and_bad_ones_are_refused() -> None:
    """R34: a duration is whole microseconds and reads back exactly, however long (a float
    would lose the last digits); one too long, too fine or not a number is refused."""
    long = dt.timedelta(days=3526923, seconds=65537, microseconds=372009)
    assert from_json(dt.timedelta, to_json(long)) == long
    assert from_json(dt.timedelta, to_json(-long)) == -long
    for bad in ("PT99999999999999S", "PT1e999999S", "PT0.0000001S", "PTabcS"):
        with pytest.raises(InvalidInputError):
            from_json(dt.timedelta, bad)


def test_from_json_decodes_a_type_first_read_by_two_threads_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R2: the first ``from_json`` of a type builds its decoder; a second thread reading the
    same type meanwhile (a web worker's threads on their first checkout) waits for it and
    decodes, never reaching a half-built decoder (it raised IndexError: a 500)."""
    import threading
    import typing

    from asolora_core import jsonout

    @attrs.frozen
    class Fresh:  # a type no test decoded before
        n: int

    arrived = threading.Event()  # the second thread reached the decoder (or gave up)
    results: dict[str, Any] = {}
    real_lock, real_hints = jsonout._DEC_LOCK, typing.get_type_hints

    class Watched:
        """The decoders' lock; says when the second thread comes to it."""

        def __enter__(self) -> Any:
            if threading.current_thread().name == "second":
                arrived.set()
            return real_lock.__enter__()

        def __exit__(self, *exc: Any) -> Any:
            return real_lock.__exit__(*exc)

    def second() -> None:
        try:
            results["second"] = jsonout.from_json(Fresh, {"n": 2})
        except Exception as exc:  # what the test reports
            results["second"] = exc
        finally:
            arrived.set()

    def hints(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if cls is Fresh and threading.current_thread().name != "second":
            other = threading.Thread(target=second, name="second")
            results["thread"] = other
            other.start()  # while this thread is building Fresh's decoder
            assert arrived.wait(timeout=60)
        return real_hints(cls, *args, **kwargs)

    monkeypatch.setattr(jsonout, "_DEC_LOCK", Watched())
    monkeypatch.setattr(typing, "get_type_hints", hints)
    assert jsonout.from_json(Fresh, {"n": 1}) == Fresh(1)
    results["thread"].join(timeout=60)
    assert results["second"] == Fresh(2)
