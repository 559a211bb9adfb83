"""The web examples, driven through a real HTTP client over real sockets.

Both apps (FastAPI under uvicorn, Flask under werkzeug) serve one scenario of the guide: the
buyer checks out with an ``Idempotency-Key`` (R35), the vendor ships and tracks (R5, R6), an
issue blocks the confirmation (R14), a settlement refunds (R38), "Order Received" completes
the order (R9), the sweep releases (R15) and chat redacts contact details (R27). Refusals
come back as their HTTP status with a problem body (R2). Another reads the vendor's order
list with the dashboard's filters (an ``OrderPage``) and its reports (R30-R32). A last test
runs the FastAPI app under uvicorn with several worker processes on one SQLite file.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from asolora_core import FakeClock, Marketplace, RecordingNotifier, SqliteStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import fastapi_app  # noqa: E402
import flask_app  # noqa: E402
import uvicorn  # noqa: E402
import web_common  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

ADA, ANNA, KENJI, STAFF = "buyer:ada", "vendor:anna", "vendor:kenji", "staff:mia"
PROBLEM = "application/problem+json"


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def _serve_fastapi(market: Marketplace) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Uvicorn(
        uvicorn.Config(fastapi_app.create_app(market), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert server.ready.wait(30)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()
    sock.close()


def _serve_flask(market: Marketplace) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, flask_app.create_app(market), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


SERVERS: dict[str, Callable[[Marketplace], Iterator[str]]] = {
    "fastapi": _serve_fastapi,
    "flask": _serve_flask,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(web_common.START)


@pytest.fixture
def market(tmp_path: Path, clock: FakeClock) -> Iterator[Marketplace]:
    store = SqliteStore(tmp_path / "shop.db")
    yield web_common.build_market(store, clock=clock, notifier=RecordingNotifier())
    store.close()


@pytest.fixture(params=sorted(SERVERS))
def client(request: pytest.FixtureRequest, market: Marketplace) -> Iterator[httpx.Client]:
    serve = SERVERS[request.param]
    gen = serve(market)
    base = next(gen)
    with httpx.Client(base_url=base, timeout=30) as http:
        yield http
    for _ in gen:
        pass


def _as(actor: str, key: str | None = None) -> dict[str, str]:
    headers = {"X-Actor": actor}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


CHECKOUT = {
    "customer_name": "Ada Lovelace",
    "items": [
        {
            "vendor_id": "anna",
            "product_id": "mug",
            "title": "Blue mug",
            "quantity": 2,
            "unit_price": {"amount": "18.00", "currency": "EUR"},
        },
        {
            "vendor_id": "kenji",
            "product_id": "tea",
            "quantity": 1,
            "unit_price": {"amount": "9.90", "currency": "EUR"},
        },
    ],
    "shipping": {"anna": {"amount": "4.50", "currency": "EUR"}},
    "paid": {"amount": "50.40", "currency": "EUR"},
}


def test_the_guide_through_http(
    client: httpx.Client, market: Marketplace, clock: FakeClock
) -> None:
    """R3, R5-R9, R14, R15, R27, R35, R38 through the web app, amounts as decimal strings."""
    placed = client.post("/checkout", json=CHECKOUT, headers=_as(ADA, "checkout-1"))
    assert placed.status_code == 201, placed.text
    anna_order, kenji_order = placed.json()
    assert anna_order["paid"] == {"amount": "40.50", "currency": "EUR"}
    assert anna_order["status"] == "processing"
    assert anna_order["placed_at"] == "2026-10-01T09:00:00Z"
    # R35: the retried POST returns the first result and creates nothing more ...
    again = client.post("/checkout", json=CHECKOUT, headers=_as(ADA, "checkout-1"))
    assert again.json() == placed.json()
    page = client.get("/vendor/orders", headers=_as(ANNA)).json()  # an OrderPage
    assert [o["order_id"] for o in page["items"]] == [anna_order["order_id"]]
    assert page["next_cursor"] is None
    # ... and the same key with another body is refused, naming what differs.
    changed = {**CHECKOUT, "customer_name": "Ada L."}
    reused = client.post("/checkout", json=changed, headers=_as(ADA, "checkout-1"))
    assert _problem(reused, 422, "idempotency_key_reused")["fields"]["field"] == "customer_name"

    order_id, line_id = anna_order["order_id"], anna_order["lines"][0]["line_id"]
    _problem(client.get(f"/vendor/orders/{order_id}", headers=_as(KENJI)), 403, "not_permitted")
    _problem(client.get("/vendor/orders/o-none", headers=_as(ANNA)), 404, "not_found")
    _problem(client.get("/vendor/orders"), 401, "not_permitted")

    shipped = client.post(
        f"/vendor/orders/{order_id}/shipments",
        json={"items": {line_id: 2}, "carrier": "DHL", "tracking_number": "JD01"},
        headers=_as(ANNA, "ship-1"),
    )
    assert shipped.status_code == 201, shipped.text
    shipment_id = shipped.json()["shipments"][0]["shipment_id"]
    parcel = f"/vendor/orders/{order_id}/shipments/{shipment_id}"
    tracked = client.post(parcel + "/tracking", json={"note": "in transit"}, headers=_as(ANNA))
    assert tracked.json()["shipments"][0]["tracking"][-1]["note"] == "in transit"
    delivered = client.post(parcel + "/delivered", headers=_as(ANNA))
    assert delivered.json()["fulfilment"]["state"] == "delivered"

    received = f"/orders/{order_id}/shipments/{shipment_id}/received"
    _problem(client.post(received, headers=_as(ANNA)), 403, "not_permitted")
    issue = client.post(
        f"/orders/{order_id}/issues",
        json={"kind": "damaged", "description": "one mug chipped", "line_ids": [line_id]},
        headers=_as(ADA),
    )
    assert issue.status_code == 201, issue.text
    issue_id = issue.json()["issues"][0]["issue_id"]
    _problem(client.post(received, headers=_as(ADA)), 409, "issue_open")  # R14
    client.post(
        f"/vendor/orders/{order_id}/issues/{issue_id}/responses",
        json={"message": "So sorry!"},
        headers=_as(ANNA),
    )
    offer = client.post(
        f"/vendor/orders/{order_id}/issues/{issue_id}/offers",
        json={"resolution": "refund", "amount": {"amount": "9.00", "currency": "EUR"}},
        headers=_as(ANNA),
    )
    assert offer.json()["issues"][0]["offers"][0]["amount"]["amount"] == "9.00"
    settled = client.post(
        f"/orders/{order_id}/issues/{issue_id}/answer", json={"accept": True}, headers=_as(ADA)
    )
    assert settled.json()["refunded"] == {"amount": "9.00", "currency": "EUR"}
    done = client.post(received, headers=_as(ADA, "received-1"))
    assert done.json()["status"] == "completed"
    assert done.json()["completed_at"] == "2026-10-01T09:00:00Z"

    # Completion is automatic (R8): there is no route to complete, and R11 cancels Kenji's.
    cancelled = client.post(f"/orders/{kenji_order['order_id']}/cancel", headers=_as(ADA))
    assert cancelled.json()["status"] == "cancelled"

    # The sweep releases after the hold (R15); the balance is Money as text (R25).
    assert client.get("/vendor/holds", headers=_as(ANNA)).json()[0]["state"] == "held"
    clock.advance(days=7, seconds=1)
    assert market.run_due().timers.get("release") == 1
    balance = client.get("/vendor/balance", headers=_as(ANNA)).json()
    assert balance["balance"]["currency"] == "EUR"
    assert (
        balance["balance"]["amount"]
        == client.get("/vendor/statement", headers=_as(ANNA)).json()["lines"][0]["amount"]["amount"]
    )

    # Chat (R26, R27): started from the order's customer name; contact details redacted.
    started = client.post(
        "/conversations",
        json={"customer_name": "Ada Lovelace", "text": "Thanks for your order!"},
        headers=_as(ANNA),
    )
    assert started.status_code == 201, started.text
    conversation_id = started.json()["conversation"]["conversation_id"]
    posted = client.post(
        f"/conversations/{conversation_id}/messages",
        json={"text": "mail me: ada@example.com"},
        headers=_as(ADA),
    )
    assert "ada@example.com" not in posted.text
    messages = client.get(f"/conversations/{conversation_id}/messages", headers=_as(ANNA)).json()
    assert len(messages) == 2
    assert client.get("/conversations", headers=_as(ADA)).json()["items"]

    verified = client.get("/staff/journal/verify", headers=_as(STAFF)).json()
    assert verified["problems"] == []
    _problem(client.post("/checkout", content=b"{not json", headers=_as(ADA)), 422, "invalid_input")


def test_the_worker_releases_on_its_schedule(market: Marketplace, clock: FakeClock) -> None:
    """R15, R40: the sweep loop runs until stopped; a completed order's proceeds are released
    by it once the hold has passed."""
    stop = threading.Event()
    stop.set()
    assert web_common.sweep_forever(market, every=0, stop=stop) == 0

    runs: list[int] = []

    class Once(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            runs.append(1)
            self.set()
            return True

    assert web_common.sweep_forever(market, every=60, stop=Once()) == 1
    assert runs == [1]


def _free_uds(tmp_path: Path) -> str:
    return str(tmp_path / "web.sock")


def test_uvicorn_with_several_worker_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    """R17, R35, R36: three uvicorn worker processes share one SQLite file. Concurrent
    checkouts all land once; a retried request with the same key creates nothing more,
    whichever process it reaches; the journal stays balanced and verifies."""
    uds, workers = _free_uds(tmp_path), 3
    env = {**os.environ, "ASOLORA_DB": str(tmp_path / "shop.db"), "PYTHONPATH": str(EXAMPLES)}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "fastapi_app:create_app", "--factory",
            "--app-dir", str(EXAMPLES), "--workers", str(workers), "--uds", uds,
            "--log-level", "info", "--no-access-log",
        ],
        env=env,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for_startup(proc, workers)
        # no keep-alive: every request is a new connection, accepted by any worker process
        transport = httpx.HTTPTransport(uds=uds, limits=httpx.Limits(max_keepalive_connections=0))
        with httpx.Client(transport=transport, base_url="http://shop", timeout=60) as http:

            def checkout(n: int) -> dict[str, Any]:
                key = f"checkout-{n % 12}"  # 12 distinct checkouts, each sent three times
                body = {**CHECKOUT, "customer_name": f"Customer {n % 12}"}
                response = http.post("/checkout", json=body, headers=_as(f"buyer:b{n % 12}", key))
                assert response.status_code == 201, response.text
                return {"n": n % 12, "orders": response.json()}

            def pid(_: int) -> int:
                return int(http.get("/health").json()["pid"])

            with ThreadPoolExecutor(max_workers=8) as pool:
                results = list(pool.map(checkout, range(36)))
                pids: set[int] = set()
                for _ in range(20):  # until two processes answered (almost always at once)
                    pids |= set(pool.map(pid, range(24)))
                    if len(pids) >= 2:
                        break
            assert len(pids) >= 2  # the requests really went to several processes
            first: dict[int, Any] = {}
            for result in results:
                assert first.setdefault(result["n"], result["orders"]) == result["orders"]
            page = http.get("/vendor/orders", headers=_as(ANNA)).json()
            assert len(page["items"]) == 12
            assert page["next_cursor"] is None
            verified = http.get("/staff/journal/verify", headers=_as(STAFF)).json()
            assert verified["problems"] == []
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def _wait_for_startup(proc: subprocess.Popen[bytes], workers: int) -> None:
    """Read uvicorn's log until every worker said it started (no sleeping). Reads the raw
    pipe: a buffered reader could hold lines that select() no longer sees."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    log = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while log.count(b"Application startup complete") < workers:
            if not selector.select(timeout=120):
                pytest.fail("uvicorn did not start: " + log.decode())
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail("uvicorn exited: " + log.decode())
            log += chunk


def test_the_vendor_reports_and_the_dashboard_list_through_http(
    client: httpx.Client, market: Marketplace, clock: FakeClock
) -> None:
    """R30-R32 and the dashboard's filters through the web app: sales, earnings,
    bestsellers and store performance for the signed-in vendor only (R1)."""
    placed = client.post("/checkout", json=CHECKOUT, headers=_as(ADA)).json()
    anna_order = placed[0]
    order_id, line_id = anna_order["order_id"], anna_order["lines"][0]["line_id"]
    to_ship = client.get("/vendor/orders?needs_shipping=true", headers=_as(ANNA)).json()
    assert [o["order_id"] for o in to_ship["items"]] == [order_id]
    shipped = client.post(
        f"/vendor/orders/{order_id}/shipments",
        json={"items": {line_id: 2}, "carrier": "DHL", "tracking_number": "JD01"},
        headers=_as(ANNA),
    ).json()
    assert client.get("/vendor/orders?needs_shipping=true", headers=_as(ANNA)).json() == {
        "items": [],
        "next_cursor": None,
    }
    parcel = f"/vendor/orders/{order_id}/shipments/{shipped['shipments'][0]['shipment_id']}"
    client.post(parcel + "/delivered", headers=_as(ANNA))
    client.post(parcel.removeprefix("/vendor") + "/received", headers=_as(ADA))
    clock.advance(days=7, seconds=1)
    market.run_due()

    days = "start=2026-10-01&end=2026-10-31"
    sales = client.get(f"/vendor/reports/sales?{days}&granularity=month", headers=_as(ANNA))
    assert sales.status_code == 200, sales.text
    (october,) = sales.json()["periods"]
    (figures,) = october["figures"]
    assert figures["gross"] == {"amount": "40.50", "currency": "EUR"}  # 2 x 18.00 + 4.50
    best = client.get(f"/vendor/reports/bestsellers?{days}&limit=5", headers=_as(ANNA)).json()
    assert [(b["product_id"], b["units"]) for b in best["products"]] == [("mug", 2)]
    earnings = client.get(f"/vendor/reports/earnings?{days}&granularity=month", headers=_as(ANNA))
    assert earnings.status_code == 200, earnings.text
    (figures,) = earnings.json()["periods"][0]["figures"]
    assert figures["released"] == client.get("/vendor/balance", headers=_as(ANNA)).json()["balance"]
    since, until = "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"
    performance = client.get(
        f"/vendor/reports/performance?since={since}&until={until}", headers=_as(ANNA)
    ).json()
    assert (performance["orders"], performance["shipped_orders"]) == (1, 1)

    # refusals: a staff or buyer has no vendor dashboard; a bad day is a 422 naming the field
    _problem(client.get(f"/vendor/reports/sales?{days}", headers=_as(ADA)), 403, "not_permitted")
    bad = client.get("/vendor/reports/sales?start=10/01/2026&end=2026-10-31", headers=_as(ANNA))
    assert _problem(bad, 422, "invalid_input")["fields"]["field"] == "start"
    flag = client.get("/vendor/orders?open_issue=yes", headers=_as(ANNA))
    assert _problem(flag, 422, "invalid_input")["fields"]["field"] == "open_issue"


#: (route, body, field named in the 422): wrong types are refused, never converted
WRONG_TYPES = [
    ("/checkout", {**CHECKOUT, "items": None}, "items"),
    ("/checkout", {**CHECKOUT, "items": "mug"}, "items"),
    ("/checkout", {**CHECKOUT, "shipping": [1]}, "shipping"),
    ("/checkout", {**CHECKOUT, "customer_name": {"first": "Ada"}}, "customer_name"),
    ("/checkout", {**CHECKOUT, "paid": {"amount": 50.4, "currency": "EUR"}}, "amount"),
    ("SHIP", {"items": "all", "carrier": "DHL", "tracking_number": "T"}, "items"),
    ("SHIP", {"items": {"LINE": "two"}, "carrier": "DHL", "tracking_number": "T"}, "items"),
    ("SHIP", {"items": {"LINE": True}, "carrier": "DHL", "tracking_number": "T"}, "items"),
    ("SHIP", {"items": {"LINE": 1.0}, "carrier": "DHL", "tracking_number": "T"}, "items"),
    ("SHIP", {"items": {"LINE": 1}, "carrier": ["DHL"], "tracking_number": "T"}, "carrier"),
    ("REFUND", {"items": [1]}, "items"),
    ("REFUND", {"amount": {"amount": 1.5, "currency": "EUR"}}, "amount"),
    ("REFUND", {"amount": {"amount": "1.00", "currency": "EUR"}, "reason": {"a": 1}}, "reason"),
    ("ISSUE", {"kind": "damaged", "description": "chipped", "line_ids": 7}, "line_ids"),
    ("ISSUE", {"kind": "damaged", "description": "chipped", "line_ids": [7]}, "line_ids"),
]


@pytest.mark.parametrize(("route", "body", "field"), WRONG_TYPES)
def test_a_wrong_type_in_a_body_is_a_422_naming_the_field_and_changes_nothing(
    client: httpx.Client, route: str, body: dict[str, Any], field: str
) -> None:
    """R2: a body field of the wrong type (a list for an object, text for a count, a JSON
    number for an amount, R25) is a 422 problem naming it, not a 500; the order is unchanged."""
    (order, _) = client.post("/checkout", json=CHECKOUT, headers=_as(ADA)).json()
    oid, line = order["order_id"], order["lines"][0]["line_id"]
    paths = {
        "SHIP": (f"/vendor/orders/{oid}/shipments", ANNA),
        "REFUND": (f"/vendor/orders/{oid}/refunds", ANNA),
        "ISSUE": (f"/orders/{oid}/issues", ADA),
    }
    path, actor = paths.get(route, (route, ADA))
    text = json.dumps(body).replace("LINE", line)
    refused = client.post(path, content=text, headers=_as(actor, "k-1"))
    assert _problem(refused, 422, refused.json()["code"])["fields"]["field"] == field
    assert refused.json()["code"] in {"invalid_input", "invalid_money"}
    assert client.get(f"/orders/{oid}", headers=_as(ADA)).json() == order


@pytest.mark.parametrize("raw", [b'{"items": NaN}', b'{"paid": Infinity}', b"[1]", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_a_422(client: httpx.Client, raw: bytes) -> None:
    """NaN and Infinity are not JSON (Python's parser reads them as floats): refused."""
    refused = client.post("/checkout", content=raw, headers=_as(ADA))
    assert _problem(refused, 422, "invalid_input")["fields"]["field"] == "body"


def test_a_settlement_answer_is_true_or_false_not_text(client: httpx.Client) -> None:
    """R38: ``"accept": "false"`` was read as true (``bool("false")``) and refunded; now a
    422, and the offer stays open until a real ``false`` declines it."""
    (order, _) = client.post("/checkout", json=CHECKOUT, headers=_as(ADA)).json()
    oid = order["order_id"]
    issue = client.post(
        f"/orders/{oid}/issues", json={"kind": "damaged", "description": "chipped"},
        headers=_as(ADA),
    ).json()["issues"][0]["issue_id"]  # fmt: skip
    client.post(
        f"/vendor/orders/{oid}/issues/{issue}/offers",
        json={"resolution": "refund", "amount": {"amount": "9.00", "currency": "EUR"}},
        headers=_as(ANNA),
    )
    answer = f"/orders/{oid}/issues/{issue}/answer"
    text = client.post(answer, json={"accept": "false"}, headers=_as(ADA))
    assert _problem(text, 422, "invalid_input")["fields"]["field"] == "accept"
    declined = client.post(answer, json={"accept": False}, headers=_as(ADA))
    assert declined.status_code == 200, declined.text
    assert declined.json()["refunded"] == {"amount": "0.00", "currency": "EUR"}
