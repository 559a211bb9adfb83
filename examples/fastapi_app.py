"""The vendor dashboard and the buyer's side as a FastAPI app (routes: ``web_common.ROUTES``).

Serve it (one ``Marketplace`` per worker process, all on one SQLite file)::

    ASOLORA_DB=shop.db uvicorn fastapi_app:create_app --factory --app-dir examples --workers 4

and run the sweeps in one separate process (``python examples/sweep_worker.py --db shop.db``),
or set ``ASOLORA_SWEEP_EVERY=60`` to run them in a thread of every worker process (safe: each
timer is claimed by one sweep, but one worker process is enough).

Handlers are ``async``: each ``Marketplace`` call blocks on the database, so it runs in the
thread pool (``run_in_threadpool``), never on the event loop. The marketplace is thread-safe
(the SQLite store keeps one connection per thread).

Run as a script, it serves nothing: it checks a few requests through FastAPI's test client.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from web_common import (
    PROBLEM_JSON,
    ROUTES,
    Call,
    Route,
    actor_from_header,
    build_market,
    parse_body,
    run_route,
    store_from_env,
    sweep_forever,
)

from asolora_core import (
    AsoloraError,
    LoggingNotifier,
    Marketplace,
    to_json,
)

__all__ = ["create_app"]


def _problem(error: AsoloraError) -> JSONResponse:
    return JSONResponse(error.to_problem(), status_code=error.http_status, media_type=PROBLEM_JSON)


def _endpoint(market: Marketplace, route: Route) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        call = Call(
            actor=actor_from_header(request.headers.get("x-actor")),
            path=dict(request.path_params),
            body=parse_body(await request.body()),
            query=dict(request.query_params),
            idempotency_key=request.headers.get("idempotency-key"),
        )
        value = await run_in_threadpool(run_route, route, market, call)
        return JSONResponse(to_json(value), status_code=route.status)

    # a unique, readable operation id for the OpenAPI schema: "post_vendor_orders_shipments"
    words = [w for w in route.path.split("/") if w and not w.startswith("{")]
    endpoint.__name__ = "_".join([route.method.lower(), *words]).replace("-", "_")
    return endpoint


def create_app(market: Marketplace | None = None, *, sweep_every: float | None = None) -> FastAPI:
    """The app around ``market`` (default: the store ``web_common.store_from_env`` picks:
    PostgreSQL if ``ASOLORA_PG_DSN`` is set, else the SQLite file ``ASOLORA_DB``)."""
    if market is None:
        market = build_market(store_from_env(), notifier=LoggingNotifier())
    if sweep_every is None and os.environ.get("ASOLORA_SWEEP_EVERY"):
        sweep_every = float(os.environ["ASOLORA_SWEEP_EVERY"])
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if sweep_every:
            worker = threading.Thread(
                target=sweep_forever,
                args=(market,),
                kwargs={"every": sweep_every, "stop": stop},
                daemon=True,
            )
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join()

    app = FastAPI(title="asolora_core marketplace (example)", lifespan=lifespan)
    app.state.market = market

    @app.exception_handler(AsoloraError)
    async def refusal(request: Request, error: AsoloraError) -> JSONResponse:
        return _problem(error)

    @app.get("/health")
    async def health() -> dict[str, int]:
        return {"pid": os.getpid()}

    for route in ROUTES:
        app.add_api_route(
            route.path, _endpoint(market, route), methods=[route.method], status_code=route.status
        )
    return app


async def _self_check() -> None:
    import httpx

    transport = httpx.ASGITransport(app=create_app(build_market()))
    async with httpx.AsyncClient(transport=transport, base_url="http://example") as client:
        assert (await client.get("/health")).status_code == 200
        assert len((await client.get("/openapi.json")).json()["paths"]) > 10
        refused = await client.get("/vendor/orders")
        assert refused.status_code == 401
        assert refused.json()["code"] == "not_permitted"
        mine = await client.get("/vendor/orders", headers={"X-Actor": "vendor:anna"})
        assert mine.json()["items"] == []  # an OrderPage: items and next_cursor
    print("fastapi app ok")


if __name__ == "__main__":
    import asyncio

    asyncio.run(_self_check())
