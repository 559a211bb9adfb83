"""The vendor dashboard and the buyer's side as a Flask app (routes: ``web_common.ROUTES``).

Serve it with any WSGI server, one ``Marketplace`` per worker process, all on one SQLite
file, for example::

    ASOLORA_DB=shop.db gunicorn --workers 4 --threads 8 'flask_app:create_app()'

and run the sweeps in one separate process: ``python examples/sweep_worker.py --db shop.db``.
Flask handlers are plain functions on the server's threads; the marketplace is thread-safe
(the SQLite store keeps one connection per thread).

Run as a script, it serves nothing: it checks a few requests through a local server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
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
)

from asolora_core import (
    AsoloraError,
    LoggingNotifier,
    Marketplace,
    to_json,
)

__all__ = ["create_app"]


def _view(market: Marketplace, route: Route) -> Callable[..., Response]:
    def view(**path: str) -> Response:
        call = Call(
            actor=actor_from_header(request.headers.get("X-Actor")),
            path=path,
            body=parse_body(request.get_data()),
            query=dict(request.args),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        response = jsonify(to_json(run_route(route, market, call)))
        response.status_code = route.status
        return response

    return view


def create_app(market: Marketplace | None = None) -> Flask:
    """The app around ``market`` (default: the store ``web_common.store_from_env`` picks:
    PostgreSQL if ``ASOLORA_PG_DSN`` is set, else the SQLite file ``ASOLORA_DB``)."""
    if market is None:
        market = build_market(store_from_env(), notifier=LoggingNotifier())
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["asolora_market"] = market

    @app.errorhandler(AsoloraError)
    def refusal(error: AsoloraError) -> Response:
        response = jsonify(error.to_problem())
        response.status_code = error.http_status
        response.mimetype = PROBLEM_JSON
        return response

    @app.get("/health")
    def health() -> dict[str, int]:
        return {"pid": os.getpid()}

    for index, route in enumerate(ROUTES):
        app.add_url_rule(
            re.sub(r"{(\w+)}", r"<\1>", route.path),
            endpoint=f"route{index}",
            view_func=_view(market, route),
            methods=[route.method],
        )
    return app


def _self_check() -> None:
    client = create_app(build_market()).test_client()
    assert client.get("/health").status_code == 200
    refused = client.get("/vendor/orders")
    assert refused.status_code == 401
    assert refused.json is not None
    assert refused.json["code"] == "not_permitted"
    mine = client.get("/vendor/orders", headers={"X-Actor": "vendor:anna"}).json
    assert mine is not None
    assert mine["items"] == []  # an OrderPage: items and next_cursor
    print("flask app ok")


if __name__ == "__main__":
    _self_check()
