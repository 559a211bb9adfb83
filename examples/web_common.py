"""What every web framework example shares: one route table over ``Marketplace``.

The FastAPI app (``fastapi_app.py``) and the Flask app (``flask_app.py``) are thin adapters
around the table below; each route is a plain function ``(market, call) -> value``, and the
adapter does the four web-specific things:

1. **who acts** comes from the request (:func:`actor_from_header`; here an ``X-Actor: kind:id``
   header stands in for your session or token check: never trust it from a browser as is);
2. the ``Idempotency-Key`` header goes to the command's ``idempotency_key`` (R35), so a retried
   POST returns the first result (or the first refusal) and changes nothing more;
3. the value returned goes out through :func:`asolora_core.to_json` (amounts as decimal
   strings with their currency, instants in ISO 8601 UTC);
4. an :class:`~asolora_core.AsoloraError` becomes its ``http_status`` with
   ``error.to_problem()`` as an ``application/problem+json`` body.

:func:`sweep_forever` is the worker loop that runs the timers and relays notifications
(``python examples/sweep_worker.py`` runs it on its own).

Run as a script, this module checks its route table against a marketplace in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from moneyed import Money

from asolora_core import (
    Actor,
    ActorKind,
    AsoloraError,
    FakeClock,
    FeeSchedule,
    FixedRateProvider,
    InMemoryStore,
    InvalidInputError,
    IssueKind,
    Item,
    Marketplace,
    MarketplaceConfig,
    MoneyConfig,
    NotPermittedError,
    RecordingNotifier,
    Resolution,
    SequentialIds,
    SqliteStore,
    StoreUnavailableError,
    from_json,
)
from asolora_core.ports import Notifier, Store

__all__ = [
    "ROUTES",
    "Call",
    "Route",
    "actor_from_header",
    "build_market",
    "parse_body",
    "pooled_postgres",
    "run_route",
    "store_from_env",
    "sweep_forever",
]

log = logging.getLogger("asolora_core.examples")
START = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
PROBLEM_JSON = "application/problem+json"


class MissingActorError(NotPermittedError):
    """Raised when a request names no actor: 401, sign in first (code ``not_permitted``)."""

    http_status = 401


def actor_from_header(value: str | None) -> Actor:
    """``"vendor:anna"`` -> ``Actor.vendor("anna")``. In a real app, derive the actor from the
    authenticated session instead; the library then checks what that actor may do (R1)."""
    if not value or ":" not in value:
        raise MissingActorError("send X-Actor: <vendor|buyer|staff>:<id> (your login)")
    kind, _, actor_id = value.partition(":")
    if kind not in {k.value for k in ActorKind} or kind == ActorKind.SYSTEM.value:
        raise MissingActorError(f"unknown actor kind {kind!r}: use vendor, buyer or staff")
    return Actor(ActorKind(kind), actor_id)


@attrs.frozen(kw_only=True)
class Call:
    """One request as the route functions see it, whatever the framework."""

    actor: Actor
    path: Mapping[str, str]
    body: Mapping[str, Any]
    query: Mapping[str, str]
    idempotency_key: str | None


Handler = Callable[[Marketplace, Call], Any]


@attrs.frozen
class Route:
    method: str
    path: str  #: ``{name}`` segments are path parameters (both frameworks' syntax)
    handler: Handler
    status: int = 200


def _money(call: Call, name: str) -> Money | None:
    value = call.body.get(name)
    return None if value is None else from_json(Money, value)


def parse_body(raw: bytes) -> dict[str, Any]:
    """A request body: empty, or one JSON object. Anything else (not JSON, not UTF-8, a list,
    ``NaN`` or ``Infinity``, which are not JSON) is a 422 naming the field ``body``."""
    if not raw:
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError("the body must be JSON", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInputError("the body must be a JSON object", field="body")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _required(call: Call, name: str) -> Any:
    if call.body.get(name) is None:
        raise InvalidInputError(f"the JSON body needs {name!r}", field=name)
    return call.body[name]


def _typed(value: Any, kind: type | tuple[type, ...], name: str, what: str) -> Any:
    """``value`` if it is a ``kind`` (never a ``bool`` for a number), else a 422 naming
    ``name``: a wrong type is refused, not converted (``str({...})`` would be stored)."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise InvalidInputError(f"{name} is {what}", field=name)
    return value


def _text(call: Call, name: str, default: str | None = None) -> str:
    """A text field; required unless it has a default."""
    value = _required(call, name) if default is None else call.body.get(name, default)
    return str(_typed(value, str, name, "text"))


def _optional_text(call: Call, name: str) -> str | None:
    value = call.body.get(name)
    return None if value is None else str(_typed(value, str, name, "text"))


def _list(call: Call, name: str, *, required: bool = True) -> list[Any]:
    value = _required(call, name) if required else call.body.get(name, [])
    return list(_typed(value, list, name, "a JSON list"))


def _object(call: Call, name: str, *, required: bool = True) -> dict[str, Any]:
    value = _required(call, name) if required else call.body.get(name, {})
    return dict(_typed(value, dict, name, "a JSON object"))


def _units(call: Call, name: str) -> dict[str, int]:
    """``{"<line id>": <whole number of units>}``."""
    return {
        str(line): int(_typed(n, int, name, "an object of line ids to whole numbers"))
        for line, n in _object(call, name).items()
    }


def _vendor_only(call: Call) -> str:
    if call.actor.kind is not ActorKind.VENDOR:
        raise NotPermittedError("only a vendor has a vendor dashboard")
    return call.actor.id


def _flag(call: Call, name: str) -> bool | None:
    """``?needs_shipping=true`` / ``false``; absent: no filter."""
    text = call.query.get(name)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise InvalidInputError(f"{name} is true or false, not {text[:40]!r}", field=name)
    return text == "true"


def _day(call: Call, name: str) -> dt.date:
    """``?start=2026-10-01``: a calendar day in the vendor's time zone (R30)."""
    text = call.query.get(name)
    if text is None:
        raise InvalidInputError(f"send ?{name}=YYYY-MM-DD", field=name)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{name} is a day written YYYY-MM-DD, not {text[:40]!r}", field=name
        ) from None


def _instant(call: Call, name: str) -> dt.datetime | None:
    """``?placed_from=2026-10-01T00:00:00Z``: an instant with its time zone (R34; a naive
    one is refused by the library)."""
    text = call.query.get(name)
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text[:40])
    except ValueError:
        raise InvalidInputError(
            f"{name} is an ISO 8601 instant such as 2026-10-01T09:00:00Z, not {text[:40]!r}",
            field=name,
        ) from None


def _vendor_orders(market: Marketplace, call: Call) -> Any:
    """The vendor dashboard's order list, one page, newest first (R1: only the actor's own
    orders). Filters: ``?status=``,
    ``?needs_shipping=true``, ``?awaiting_confirmation=true``, ``?open_issue=true``,
    ``?placed_from=`` / ``?placed_until=`` (instants), ``?customer_name=``; ``?cursor=`` from
    the previous page's ``next_cursor``, ``?page_size=`` up to 200."""
    q = call.query
    return market.list_orders(
        by=call.actor,
        vendor_id=_vendor_only(call),
        status=q.get("status"),
        needs_shipping=_flag(call, "needs_shipping"),
        awaiting_confirmation=_flag(call, "awaiting_confirmation"),
        open_issue=_flag(call, "open_issue"),
        placed_from=_instant(call, "placed_from"),
        placed_until=_instant(call, "placed_until"),
        customer_name=q.get("customer_name"),
        cursor=q.get("cursor"),
        page_size=_page_size(q.get("page_size")),
    )


def _sales(market: Marketplace, call: Call) -> Any:
    """R30: ``?start=&end=`` (days, both included), ``?granularity=day|week|month``,
    ``?currency=`` to convert everything to one reporting currency."""
    return market.sales_report(
        _vendor_only(call),
        by=call.actor,
        start=_day(call, "start"),
        end=_day(call, "end"),
        granularity=call.query.get("granularity", "day"),
        currency=call.query.get("currency"),
    )


def _earnings(market: Marketplace, call: Call) -> Any:
    """R31: ``?start=&end=``, ``?granularity=``; with the amount still held and when due."""
    return market.earnings_report(
        _vendor_only(call),
        by=call.actor,
        start=_day(call, "start"),
        end=_day(call, "end"),
        granularity=call.query.get("granularity", "day"),
    )


def _bestsellers(market: Marketplace, call: Call) -> Any:
    """R32: ``?start=&end=``, ``?limit=`` (10), ``?currency=`` for the revenue column."""
    return market.bestsellers(
        _vendor_only(call),
        by=call.actor,
        start=_day(call, "start"),
        end=_day(call, "end"),
        limit=_whole(call.query.get("limit"), 10),
        currency=call.query.get("currency"),
    )


def _performance(market: Marketplace, call: Call) -> Any:
    """Store performance over ``[since, until)`` (instants; both required)."""
    since, until = _instant(call, "since"), _instant(call, "until")
    if since is None or until is None:
        raise InvalidInputError("send ?since= and ?until= (ISO 8601 instants)", field="since")
    return market.store_performance(_vendor_only(call), by=call.actor, since=since, until=until)


def _page_size(text: str | None) -> Any:
    return _whole(text, 50)


def _whole(text: str | None, default: int) -> Any:
    """A whole number as an int; anything else is passed on for the library to refuse."""
    if text is None:
        return default
    return int(text) if text.isdigit() and len(text) <= 9 else text


def _checkout(market: Marketplace, call: Call) -> Any:
    items = [from_json(Item, item) for item in _list(call, "items")]
    shipping = _object(call, "shipping", required=False)
    return market.place_checkout(
        buyer=call.actor,
        customer_name=_text(call, "customer_name"),
        items=items,
        paid=from_json(Money, _required(call, "paid")),
        shipping={k: from_json(Money, v) for k, v in shipping.items()} or None,
        idempotency_key=call.idempotency_key,
    )


def _ship(market: Marketplace, call: Call) -> Any:
    return market.ship(
        call.path["order_id"],
        by=call.actor,
        items=_units(call, "items"),
        carrier=_text(call, "carrier"),
        tracking_number=_text(call, "tracking_number"),
        idempotency_key=call.idempotency_key,
    )


def _tracking(market: Marketplace, call: Call) -> Any:
    return market.update_tracking(
        call.path["order_id"],
        call.path["shipment_id"],
        by=call.actor,
        note=_text(call, "note", ""),
        carrier=_optional_text(call, "carrier"),
        tracking_number=_optional_text(call, "tracking_number"),
        idempotency_key=call.idempotency_key,
    )


def _refund(market: Marketplace, call: Call) -> Any:
    return market.refund(
        call.path["order_id"],
        by=call.actor,
        amount=_money(call, "amount"),
        items=None if call.body.get("items") is None else _units(call, "items"),
        shipping=_money(call, "shipping"),
        reason=_text(call, "reason", ""),
        idempotency_key=call.idempotency_key,
    )


def _report_issue(market: Marketplace, call: Call) -> Any:
    return market.report_issue(
        call.path["order_id"],
        by=call.actor,
        kind=from_json(IssueKind, _required(call, "kind")),
        description=_text(call, "description"),
        line_ids=[
            _typed(x, str, "line_ids", "a list of line ids")
            for x in _list(call, "line_ids", required=False)
        ],
        idempotency_key=call.idempotency_key,
    )


def _offer(market: Marketplace, call: Call) -> Any:
    return market.offer_settlement(
        call.path["order_id"],
        call.path["issue_id"],
        by=call.actor,
        resolution=from_json(Resolution, _required(call, "resolution")),
        amount=_money(call, "amount"),
        message=_text(call, "message", ""),
        idempotency_key=call.idempotency_key,
    )


def _start_conversation(market: Marketplace, call: Call) -> Any:
    return market.start_conversation(
        by=call.actor,
        vendor_id=call.body.get("vendor_id"),
        customer_name=call.body.get("customer_name"),
        order_id=call.body.get("order_id"),
        text=call.body.get("text"),
        idempotency_key=call.idempotency_key,
    )


def _conversations(market: Marketplace, call: Call) -> Any:
    if call.actor.kind is ActorKind.VENDOR:
        return market.conversations_for_vendor(
            call.actor.id, by=call.actor, cursor=call.query.get("cursor")
        )
    return market.conversations_for_buyer(
        call.actor.id, by=call.actor, cursor=call.query.get("cursor")
    )


ORDER, SHIP, ISSUE = "/orders/{order_id}", "/shipments/{shipment_id}", "/issues/{issue_id}"

#: Every route both apps expose. Vendor dashboard under /vendor, the buyer's side under
#: /orders and /checkout, chat under /conversations (either side).
ROUTES: Sequence[Route] = (
    # -- the vendor dashboard ------------------------------------------------------------
    Route("GET", "/vendor/orders", _vendor_orders),
    Route("GET", "/vendor/reports/sales", _sales),
    Route("GET", "/vendor/reports/earnings", _earnings),
    Route("GET", "/vendor/reports/bestsellers", _bestsellers),
    Route("GET", "/vendor/reports/performance", _performance),
    Route("GET", "/vendor" + ORDER, lambda m, c: m.get_order(c.path["order_id"], by=c.actor)),
    Route("POST", "/vendor" + ORDER + "/shipments", _ship, 201),
    Route("POST", "/vendor" + ORDER + SHIP + "/tracking", _tracking),
    Route(
        "POST",
        "/vendor" + ORDER + SHIP + "/delivered",
        lambda m, c: m.mark_delivered(
            c.path["order_id"],
            c.path["shipment_id"],
            by=c.actor,
            idempotency_key=c.idempotency_key,
        ),
    ),
    Route("POST", "/vendor" + ORDER + "/refunds", _refund, 201),
    Route(
        "POST",
        "/vendor" + ORDER + ISSUE + "/responses",
        lambda m, c: m.respond_to_issue(
            c.path["order_id"],
            c.path["issue_id"],
            by=c.actor,
            message=_text(c, "message"),
            idempotency_key=c.idempotency_key,
        ),
    ),
    Route("POST", "/vendor" + ORDER + ISSUE + "/offers", _offer, 201),
    Route("GET", "/vendor/balance", lambda m, c: m.balance(c.actor.id, by=c.actor)),
    Route("GET", "/vendor/statement", lambda m, c: m.statement(c.actor.id, by=c.actor)),
    Route("GET", "/vendor/payouts", lambda m, c: m.payouts(c.actor.id, by=c.actor)),
    Route("GET", "/vendor/holds", lambda m, c: m.holds(c.actor.id, by=c.actor)),
    # -- the buyer's side ----------------------------------------------------------------
    Route("POST", "/checkout", _checkout, 201),
    Route("GET", ORDER, lambda m, c: m.get_order(c.path["order_id"], by=c.actor)),
    Route(
        "POST",
        ORDER + SHIP + "/received",  # the guide's "Order Received" (R7, R9)
        lambda m, c: m.confirm_receipt(
            c.path["order_id"],
            c.path["shipment_id"],
            by=c.actor,
            idempotency_key=c.idempotency_key,
        ),
    ),
    Route("POST", ORDER + "/issues", _report_issue, 201),
    Route(
        "POST",
        ORDER + ISSUE + "/answer",
        lambda m, c: m.answer_settlement(
            c.path["order_id"],
            c.path["issue_id"],
            by=c.actor,
            accept=_typed(_required(c, "accept"), bool, "accept", "true or false"),
            idempotency_key=c.idempotency_key,
        ),
    ),
    Route(
        "POST",
        ORDER + "/cancel",
        lambda m, c: m.cancel_order(
            c.path["order_id"],
            by=c.actor,
            reason=_text(c, "reason", ""),
            idempotency_key=c.idempotency_key,
        ),
    ),
    # -- staff -----------------------------------------------------------------------------
    Route("GET", "/staff/journal/verify", lambda m, c: m.verify_journal(by=c.actor)),
    Route(
        "POST",
        "/staff" + ORDER + "/freeze",
        lambda m, c: m.freeze_release(
            c.path["order_id"],
            by=c.actor,
            reason=_text(c, "reason", ""),
            idempotency_key=c.idempotency_key,
        ),
    ),
    # -- chat, either side (R26-R28) -----------------------------------------------------
    Route("GET", "/conversations", _conversations),
    Route("POST", "/conversations", _start_conversation, 201),
    Route(
        "GET",
        "/conversations/{cid}/messages",
        lambda m, c: m.messages(c.path["cid"], by=c.actor),
    ),
    Route(
        "POST",
        "/conversations/{cid}/messages",
        lambda m, c: m.post_message(
            c.path["cid"],
            by=c.actor,
            text=_text(c, "text"),
            idempotency_key=c.idempotency_key,
        ),
        201,
    ),
)


def run_route(route: Route, market: Marketplace, call: Call) -> Any:
    """``route.handler(market, call)``; a busy database is the library's
    :class:`StoreBusyError` (503, retryable), one that is gone is its
    :class:`StoreUnavailableError` (503, retryable; a lost PostgreSQL connection raises it
    itself, a custom store's ``transient_errors`` become one), never an unhandled 500."""
    try:
        return route.handler(market, call)
    except AsoloraError:
        raise  # the library's own refusals, StoreBusyError (503) included, as they are
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise StoreUnavailableError("the database is busy: send the request again") from exc
    except getattr(market.store, "transient_errors", ()) as exc:
        raise StoreUnavailableError("the database is unavailable: send it again") from exc


def store_from_env(environ: Mapping[str, str] | None = None) -> Store:
    """The store a worker process opens at start-up, chosen by its environment.

    ``ASOLORA_PG_DSN`` (a libpq DSN such as ``postgresql://shop@db/shop``) selects PostgreSQL,
    in the schema ``ASOLORA_PG_SCHEMA`` if set (else the DSN's ``search_path``), through a
    ``psycopg_pool.ConnectionPool`` of at most ``ASOLORA_PG_POOL_SIZE`` connections (8) per
    process (:func:`pooled_postgres`); otherwise ``ASOLORA_DB`` names the SQLite file
    (``asolora-web.db``), and ``ASOLORA_SQLITE_BUSY_MS`` how long a writer waits for the
    write lock before the request is answered 503 (30000). Every worker process migrates at
    start-up; that is safe at once from many processes on either store.
    """
    env = os.environ if environ is None else environ
    dsn = env.get("ASOLORA_PG_DSN")
    if dsn:
        size = int(env.get("ASOLORA_PG_POOL_SIZE") or 8)
        return pooled_postgres(dsn, schema=env.get("ASOLORA_PG_SCHEMA") or None, size=size)
    busy_ms = int(env.get("ASOLORA_SQLITE_BUSY_MS") or 30_000)
    return SqliteStore(env.get("ASOLORA_DB", "asolora-web.db"), busy_timeout_ms=busy_ms)


def pooled_postgres(dsn: str, *, schema: str | None = None, size: int = 8) -> Store:
    """A ``PostgresStore`` on a ``psycopg_pool.ConnectionPool`` of its own (see
    docs/postgres.md): each unit of work borrows one of at most ``size`` connections and
    gives it back, so a worker process holds ``size`` connections however many threads it
    runs. The schema is migrated first (on a connection of its own, which creates the schema
    if missing); the pool's connections then start in that schema, in UTC, as the store's own
    would. A connection that comes back after a failed command was rolled back by the store;
    the pool closes one that comes back broken. ``close()`` closes the pool."""
    from psycopg_pool import ConnectionPool

    from asolora_core.adapters.postgres import PostgresStore

    PostgresStore(dsn, schema=schema).close()  # migrates (and creates the schema) on open
    options = PostgresStore.connection_options(dsn, schema=schema)  # the DSN's options kept
    pool: ConnectionPool[Any] = ConnectionPool(
        dsn, min_size=1, max_size=size, kwargs={"options": options}, open=True
    )

    class PooledStore(PostgresStore):
        #: the pool the store borrows from (closed with the store)
        owned_pool = pool

        def close(self) -> None:
            super().close()
            self.owned_pool.close()

    return PooledStore(pool=pool, migrate=False)


def build_market(
    store: Store | None = None,
    *,
    clock: FakeClock | None = None,
    notifier: Notifier | None = None,
) -> Marketplace:
    """The example's marketplace: fees, fixed rates, three vendors in their payout currencies.

    One per process (it holds the store's connections and caches); every request thread
    shares it. Registering the vendors again is a no-op, so each worker process may run this
    at start-up on the same database file.
    """
    market = Marketplace(
        store or InMemoryStore(),
        clock=clock,
        notifier=notifier or RecordingNotifier(),
        ids=None if clock is None else SequentialIds(),
        config=MarketplaceConfig(
            money=MoneyConfig(
                fees=FeeSchedule(commission_bp=1000, processing_bp=290, conversion_bp=150),
                rates=FixedRateProvider(
                    {("EUR", "GBP"): "0.8675", ("EUR", "JPY"): "162.35"}, as_of=START
                ),
            )
        ),
    )
    staff = Actor.staff("setup")
    for vendor, currency in (("anna", "EUR"), ("kenji", "JPY"), ("omar", "GBP")):
        market.register_vendor(
            vendor, payout_currency=currency, by=staff, idempotency_key=f"register-{vendor}"
        )
    return market


def sweep_forever(market: Marketplace, *, every: float, stop: threading.Event) -> int:
    """The worker: run the due timers (releases, auto-confirmations) and relay notifications
    every ``every`` seconds until ``stop`` is set. Safe to run in several processes at once:
    each timer is claimed by one sweep (R17, R40). Returns the number of sweeps run."""
    sweeps = 0
    while not stop.is_set():
        try:
            report = market.run_due()
        except Exception:  # a worker loop outlives any one failure (the store down, a bug):
            # what the sweep did not finish stays due, and the next tick picks it up (R40)
            log.exception("sweep failed; retrying at the next tick")
        else:
            sweeps += 1
            if report.timers:
                log.info("sweep: %s", dict(report.timers))
        stop.wait(every)
    return sweeps


def _self_check() -> None:
    """Every route's path names the parameters its handler reads; the actor header parses."""
    assert actor_from_header("vendor:anna") == Actor.vendor("anna")
    for route in ROUTES:
        assert route.method in {"GET", "POST"}
        assert route.path.startswith("/")
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)
    market = build_market(clock=FakeClock(START))
    stop = threading.Event()
    stop.set()
    assert sweep_forever(market, every=0, stop=stop) == 0
    print(f"{len(ROUTES)} routes")


if __name__ == "__main__":
    _self_check()
