"""A load test of the web examples as a deployment runs them: real server processes, many clients.

``serve()`` starts ``fastapi_app`` under uvicorn (``--workers N``) or ``flask_app`` under
gunicorn (``--workers N --threads 8``) on a Unix socket, on the SQLite file ``ASOLORA_DB`` or
on PostgreSQL (``ASOLORA_PG_DSN``, ``ASOLORA_PG_SCHEMA``). ``run_load()`` then sends, from
``clients`` threads at once, each as its own buyer:

* checkouts over three vendors, each sent three times at once with one ``Idempotency-Key``
  (all three must get the same 201);
* two vendor clients shipping the same order at once (one 201, the other 409);
* tracking, delivered, two refunds at once, "Order Received", chat messages;
* list and report reads;
* hostile bodies (wrong types, huge numbers, floats for money, unknown currencies, NUL
  bytes, very long strings, missing fields), each of which must be refused with a 4xx.

Every answer must be a 2xx or a 4xx problem (``application/problem+json``) with a ``code``:
a 5xx or a 4xx without a code is a failure. ``check_state()`` then reads the store directly:
the journal verifies, and for every order the figures the clients computed (what was paid,
what the 201 refunds added up to) match the order, its history, its journal transactions and
its outbox notifications.

Run as a script, it serves the FastAPI app with 2 workers on a temporary SQLite file and
prints a short report; ``--kind``, ``--workers``, ``--clients``, ``--rounds`` and ``--pg DSN``
change that (see docs/web.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx

from asolora_core import Actor, Marketplace
from asolora_core.errors import error_classes
from asolora_core.ports import Store

__all__ = ["LoadResult", "check_state", "run_load", "serve"]

EXAMPLES = Path(__file__).resolve().parent
CODES = frozenset(cls.code for cls in error_classes())
PRICES = {"anna": Decimal("18.00"), "kenji": Decimal("9.90"), "omar": Decimal("12.35")}


@contextlib.contextmanager
def serve(
    kind: str, workers: int, env: Mapping[str, str], folder: Path, *, start_within: float = 60
) -> Iterator[httpx.HTTPTransport]:
    """Start ``kind`` (``fastapi`` or ``flask``) with ``workers`` processes on a Unix socket
    in ``folder``; yield a transport to it; stop the server. Polls ``/health`` until every
    worker answers or ``start_within`` seconds pass."""
    sock = str(folder / f"{kind}.sock")
    if kind == "fastapi":
        argv = [
            sys.executable, "-m", "uvicorn", "fastapi_app:create_app", "--factory",
            "--app-dir", str(EXAMPLES), "--workers", str(workers), "--uds", sock,
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
    else:
        argv = [
            sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "8",
            "--bind", f"unix:{sock}", "--chdir", str(EXAMPLES), "--log-level", "warning",
            "flask_app:create_app()",
        ]  # fmt: skip
    full_env = {**os.environ, **env, "PYTHONPATH": str(EXAMPLES)}
    log = (folder / f"{kind}.log").open("wb")
    proc = subprocess.Popen(argv, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    transport = httpx.HTTPTransport(uds=sock, limits=httpx.Limits(max_keepalive_connections=0))
    try:
        deadline = time.monotonic() + start_within
        while not _accepts(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start: {_tail(folder / f'{kind}.log')}")
            time.sleep(0.05)  # polling for the server to start
        yield transport
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _accepts(path: str) -> bool:
    """Whether a server listens on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


@attrs.define
class LoadResult:
    """What the clients saw, and what they expect the store to hold."""

    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = attrs.field(factory=Counter)
    codes: Counter[str] = attrs.field(factory=Counter)
    failures: list[str] = attrs.field(factory=list)
    #: order id -> (vendor, paid, refunded as the clients computed them, in EUR)
    orders: dict[str, list[Any]] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _eur(value: Decimal) -> dict[str, str]:
    return {"amount": f"{value:.2f}", "currency": "EUR"}


def checkout(
    *,
    name: Any = "X",
    product: Any = "p",
    quantity: Any = 1,
    price: Any = None,
    paid: Any = None,
    **more: Any,
) -> dict[str, Any]:
    """A checkout body of one line sold by ``anna`` (1.00 EUR, paid in full unless told)."""
    price = _eur(Decimal(1)) if price is None else price
    line = {"vendor_id": "anna", "product_id": product, "quantity": quantity, "unit_price": price}
    return {"customer_name": name, "items": [line], "paid": price if paid is None else paid, **more}


HOSTILE_CHECKOUTS: tuple[Any, ...] = (
    {},  # missing everything
    {"customer_name": "X", "items": "mug", "paid": _eur(Decimal(1))},
    {"customer_name": "X", "items": [1, 2], "paid": _eur(Decimal(1))},
    {"customer_name": "X", "items": [{"vendor_id": "anna"}], "paid": _eur(Decimal(1))},
    {"customer_name": "X", "items": [], "paid": _eur(Decimal(1))},
    {"customer_name": "X", "items": None, "paid": None},
    checkout(price={"amount": 18.0, "currency": "EUR"}),  # a JSON number for money
    checkout(quantity=10**40),
    checkout(price={"amount": "1e400", "currency": "EUR"}),
    checkout(price={"amount": "1.00", "currency": "XQQ"}),
    checkout(name="A\x00B", product="p\x00"),
    checkout(name="A" * 200_000, product="p" * 100_000),
    checkout(quantity=-1, paid=_eur(Decimal(0))),
    {"customer_name": ["X"], "items": {"a": 1}, "paid": "1.00", "shipping": [1]},
    checkout(paid=_eur(Decimal(2))),  # not what the items cost
    checkout(shipping={"anna": {"amount": "NaN", "currency": "EUR"}}),
)

HOSTILE_RAW: tuple[bytes, ...] = (
    b"{not json",
    b"[1, 2]",
    b'"text"',
    b'{"items": Infinity}',
    b'{"items": NaN, "paid": -Infinity}',
    b"\x00\x01\x02",
    b'{"a": "\xff\xfe"}',
    b"1" * 5000,
)

#: bodies for the order commands (ship, refund, tracking, message, answer): each refused
HOSTILE_COMMANDS: tuple[Any, ...] = (
    {},
    {"items": "all", "carrier": "DHL", "tracking_number": "T"},
    {"items": [1], "carrier": "DHL", "tracking_number": "T"},
    {"items": {"l-x": "two"}, "carrier": "DHL", "tracking_number": "T"},
    {"items": {"l-x": 1.5}, "carrier": "DHL", "tracking_number": "T"},
    {"items": {"l-x": 10**30}, "carrier": "DHL", "tracking_number": "T"},
    {"items": {"l-x": None}, "carrier": "DHL", "tracking_number": "T"},
    {"items": {"l-x": 1}, "carrier": None, "tracking_number": {"a": 1}},
    {"amount": 1.5},
    {"amount": {"amount": "0.001", "currency": "EUR"}},
    {"amount": {"amount": "-5.00", "currency": "EUR"}},
    {"amount": {"amount": "1" * 400, "currency": "EUR"}},
    {"amount": {"amount": "1.00", "currency": "ZZZ"}},
    {"amount": "1.00"},
    {"amount": [1]},
    {"shipping": {"amount": "1.00"}},
    {"items": {"l-x": True}},
    {"note": "x\x00y", "carrier": "C\x00"},
    {"note": "n" * 300_000},
    {"carrier": 5, "tracking_number": ["x"]},
    {"text": None},
    {"text": "\x00"},
    {"text": "t" * 300_000},
    {"accept": "false"},
    {"accept": None},
    {"reason": {"why": 1}},
)


class _Client:
    """One simulated buyer (and, for its own orders, the vendors' dashboard)."""

    def __init__(self, http: httpx.Client, result: LoadResult, n: int, seed: int) -> None:
        self.http, self.result, self.n = http, result, n
        self.rng = random.Random(seed * 1000 + n)
        self.buyer = f"buyer:b{n}"

    def send(
        self,
        method: str,
        path: str,
        actor: str,
        *,
        key: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> httpx.Response:
        headers = {"X-Actor": actor}
        if key is not None:
            headers["Idempotency-Key"] = key
        if raw is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                if raw is not None:
                    response = self.http.request(method, path, content=raw, headers=headers)
                else:
                    response = self.http.request(method, path, json=body, headers=headers)
                break
            except httpx.TransportError:
                # the connection failed under the request (the client's socket, not an HTTP
                # answer): a read, or a command under its idempotency key, is safe to send
                # again, which is what a real client does (R35); anything else is not
                if attempt == 2 or (method != "GET" and key is None):
                    raise
        self._judge(method, path, response, ok)
        return response

    def _judge(self, method: str, path: str, response: httpx.Response, ok: tuple[int, ...]) -> None:
        status, problem = response.status_code, None
        if status >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = None
        with self.result.lock:
            self.result.requests += 1
            self.result.statuses[status] += 1
            code = problem.get("code") if isinstance(problem, dict) else None
            if code is not None:
                self.result.codes[str(code)] += 1
            where = f"{method} {path[:80]} -> {status}"
            is_problem = "problem+json" in response.headers.get("content-type", "")
            if status >= 500:
                self.result.failures.append(f"{where}: {response.text[:300]}")
            elif status >= 400 and (code not in CODES or not is_problem):
                self.result.failures.append(f"{where}, no problem code: {response.text[:200]}")
            elif status not in ok and status < 400:
                self.result.failures.append(f"{where}: expected {ok}")

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            with self.result.lock:
                self.result.failures.append(what)

    def round(self, r: int) -> None:
        tag = f"c{self.n}r{r}"
        order_ids = self._checkout(tag)
        if order_ids is None:
            return
        anna_order = order_ids[0]
        self._fulfil(tag, anna_order)
        self._reads()
        self._chat(tag)
        self._hostile(tag, anna_order)

    def _checkout(self, tag: str) -> list[str] | None:
        vendors = ["anna", *self.rng.sample(["kenji", "omar"], self.rng.randint(0, 2))]
        items, paid, per_vendor = [], Decimal(0), {}
        for vendor in vendors:
            quantity = self.rng.randint(1, 3)
            items.append(
                {
                    "vendor_id": vendor,
                    "product_id": f"{vendor}-p{self.rng.randint(1, 4)}",
                    "quantity": quantity,
                    "unit_price": _eur(PRICES[vendor]),
                }
            )
            per_vendor[vendor] = PRICES[vendor] * quantity
        per_vendor["anna"] += Decimal("4.50")
        paid = sum(per_vendor.values(), Decimal(0))
        body = {
            "customer_name": f"Customer {self.n}",
            "items": items,
            "shipping": {"anna": _eur(Decimal("4.50"))},
            "paid": _eur(paid),
        }
        key = f"{tag}-checkout"
        with ThreadPoolExecutor(3) as pool:  # one request, three copies in flight at once
            answers = list(
                pool.map(lambda _: self.send("POST", "/checkout", self.buyer, key=key, body=body),
                         range(3))
            )  # fmt: skip
        firsts = [a for a in answers if a.status_code == 201]
        self.expect(len(firsts) == 3, f"{tag}: checkout retries {[a.status_code for a in answers]}")
        if not firsts:
            return None
        self.expect(all(a.json() == firsts[0].json() for a in firsts), f"{tag}: retries differ")
        orders = firsts[0].json()
        with self.result.lock:
            for order in orders:
                vendor = order["vendor_id"]
                self.result.orders[order["order_id"]] = [vendor, per_vendor[vendor], Decimal(0)]
        return [o["order_id"] for o in orders]

    def _fulfil(self, tag: str, order_id: str) -> None:
        vendor = "vendor:anna"
        read = self.send("GET", f"/vendor/orders/{order_id}", vendor)
        if read.status_code != 200:
            return  # recorded as a failure by send(), with the status and the problem's code
        line = read.json()["lines"][0]
        ship = {"items": {line["line_id"]: line["quantity"]}, "carrier": "DHL"}
        with ThreadPoolExecutor(2) as pool:  # two clerks ship the same order at once
            answers = list(
                pool.map(
                    lambda k: self.send(
                        "POST", f"/vendor/orders/{order_id}/shipments", vendor,
                        key=f"{tag}-ship-{k}", body={**ship, "tracking_number": f"{tag}{k}"},
                    ),
                    range(2),
                )
            )  # fmt: skip
        statuses = sorted(a.status_code for a in answers)
        # the second sees the first's shipment: nothing left to ship (422), or it lost the race
        # (409, retryable; sent again it gets the 422)
        self.expect(statuses[0] == 201 and statuses[1] in (409, 422), f"{tag}: ship {statuses}")
        shipped = [a for a in answers if a.status_code == 201]
        if not shipped:
            return
        sid = shipped[0].json()["shipments"][0]["shipment_id"]
        parcel = f"/vendor/orders/{order_id}/shipments/{sid}"
        self.send("POST", parcel + "/tracking", vendor, key=f"{tag}-t1", body={"note": "sorted"})
        self.send("POST", parcel + "/delivered", vendor, key=f"{tag}-dl")
        refund = {"amount": _eur(Decimal("1.25")), "reason": "late"}
        with ThreadPoolExecutor(2) as pool:  # two refunds at once, and one retried
            answers = list(
                pool.map(
                    lambda k: self.send("POST", f"/vendor/orders/{order_id}/refunds", vendor,
                                        key=f"{tag}-rf-{k % 2}", body=refund),
                    range(3),
                )
            )  # fmt: skip
        keys = {k % 2 for k, a in enumerate(answers) if a.status_code == 201}
        with self.result.lock:  # each key refunded once, however often it was sent
            self.result.orders[order_id][2] += Decimal("1.25") * len(keys)
        received = f"/orders/{order_id}/shipments/{sid}/received"
        self.send("POST", received, self.buyer, key=f"{tag}-ok")

    def _reads(self) -> None:
        self.send("GET", "/vendor/orders?page_size=20&needs_shipping=true", "vendor:anna")
        self.send("GET", f"/vendor/orders?customer_name=Customer%20{self.n}", "vendor:kenji")
        days = "start=2026-01-01&end=2027-12-31"
        self.send("GET", f"/vendor/reports/sales?{days}&granularity=month", "vendor:anna")
        self.send("GET", f"/vendor/reports/bestsellers?{days}&limit=5", "vendor:omar")
        self.send("GET", "/vendor/balance", "vendor:anna")
        self.send("GET", "/conversations", self.buyer)

    def _chat(self, tag: str) -> None:
        started = self.send(
            "POST", "/conversations", "vendor:anna", key=f"{tag}-chat",
            body={"customer_name": f"Customer {self.n}", "text": "Thanks!"},
        )  # fmt: skip
        if started.status_code != 201:
            self.expect(False, f"{tag}: chat {started.status_code} {started.text[:200]}")
            return
        cid = started.json()["conversation"]["conversation_id"]
        for i in range(2):
            self.send("POST", f"/conversations/{cid}/messages", self.buyer,
                      key=f"{tag}-m{i}", body={"text": f"message {i}"})  # fmt: skip
        self.send("GET", f"/conversations/{cid}/messages", "vendor:anna")

    def _hostile(self, tag: str, order_id: str) -> None:
        refused = (401, 403, 404, 409, 422)
        body = self.rng.choice(HOSTILE_CHECKOUTS)
        self.send("POST", "/checkout", self.buyer, body=body, ok=refused)
        self.send("POST", "/checkout", self.buyer, raw=self.rng.choice(HOSTILE_RAW), ok=refused)
        body = self.rng.choice(HOSTILE_COMMANDS)
        order = f"/vendor/orders/{order_id}"
        path = self.rng.choice(
            [
                order + "/shipments",
                order + "/refunds",
                order + "/shipments/s-x/tracking",
                order + "/issues/i-x/offers",
                "/conversations/c-x/messages",
            ]
        )
        self.send("POST", path, "vendor:anna", body=body, ok=refused)
        self.send("POST", f"/orders/{order_id}/issues/i-x/answer", self.buyer, body=body,
                  ok=refused)  # fmt: skip
        self.send("GET", "/vendor/orders?page_size=-1&status=%00", "vendor:anna", ok=refused)
        self.send("GET", "/vendor/orders", "robot:x", ok=refused)


def run_load(
    transport: httpx.HTTPTransport, *, clients: int, rounds: int, seed: int = 1
) -> LoadResult:
    """``clients`` threads at once, each ``rounds`` rounds; every request bounded by 60 s."""
    result = LoadResult()
    with httpx.Client(transport=transport, base_url="http://shop", timeout=60) as http:
        start = time.perf_counter()

        def one(n: int) -> None:
            client = _Client(http, result, n, seed)
            for r in range(rounds):
                client.round(r)

        with ThreadPoolExecutor(clients) as pool:
            for future in [pool.submit(one, n) for n in range(clients)]:
                future.result()
        result.seconds = time.perf_counter() - start
    return result


def check_state(market: Marketplace, result: LoadResult) -> list[str]:
    """What the store holds agrees with what the clients computed: the journal verifies;
    every order's paid and refunded figures, its history, its journal and its outbox agree."""
    staff = Actor.staff("audit")
    problems = [f"journal: {p}" for p in market.verify_journal(by=staff).problems]
    notified: Counter[tuple[str, str]] = Counter(
        (m.notification.subject_id, m.notification.kind) for m in market.outbox(by=staff)
    )
    store: Store = market.store
    for order_id, (vendor, paid, refunded) in sorted(result.orders.items()):
        order = market.get_order(order_id, by=staff)
        history = market.order_history(order_id, by=staff)
        with store.reader() as uow:
            txns = uow.ledger.for_order(order_id)
        kinds = Counter(type(e).__name__ for e in history)
        txn_kinds = Counter(t.kind for t in txns)
        facts = {
            "paid": (order.paid.amount, paid),
            "refunded": (order.refunded.amount, refunded),
            "placed once": (kinds["OrderPlaced"], 1),
            "refund events": (kinds["RefundIssued"], len(order.refunds)),
            "refund journal": (txn_kinds["refund"], len(order.refunds)),
            "capture journal": (txn_kinds["capture"], 1),
            "shipments": (kinds["ShipmentCreated"], len(order.shipments)),
            "placed notified": (notified[(order_id, "order.placed")], 1),
            "refunds notified": (notified[(order_id, "refund.issued")], len(order.refunds)),
        }
        for what, (found, expected) in facts.items():
            if found != expected:
                problems.append(f"{order_id} ({vendor}): {what} {found} != {expected}")
    return problems


def report(name: str, result: LoadResult, problems: list[str]) -> str:
    errors = sum(n for s, n in result.statuses.items() if s >= 500)
    return (
        f"{name}: {result.requests} requests in {result.seconds:.1f} s = "
        f"{result.per_second:.0f} req/s; statuses {dict(sorted(result.statuses.items()))}; "
        f"codes {dict(result.codes.most_common())}; 5xx {errors}; "
        f"failures {len(result.failures)}; state problems {len(problems)}"
    )


def _market(env: Mapping[str, str]) -> tuple[Marketplace, Callable[[], None]]:
    from web_common import build_market, store_from_env

    store = store_from_env(env)
    return build_market(store), store.close


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["fastapi", "flask"], default="fastapi")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pg", metavar="DSN", help="PostgreSQL instead of SQLite")
    parser.add_argument("--pg-schema", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        env = (
            {"ASOLORA_PG_DSN": args.pg, "ASOLORA_PG_SCHEMA": args.pg_schema or ""}
            if args.pg
            else {"ASOLORA_DB": str(Path(folder) / "shop.db")}
        )
        with serve(args.kind, args.workers, env, Path(folder)) as transport:
            result = run_load(transport, clients=args.clients, rounds=args.rounds)
        market, close = _market(env)
        try:
            problems = check_state(market, result)
        finally:
            close()
    name = f"{args.kind} x{args.workers} {'pg' if args.pg else 'sqlite'}"
    print(report(name, result, problems))
    for line in (result.failures + problems)[:30]:
        print("  ", line)
    return 1 if result.failures or problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(EXAMPLES))
    raise SystemExit(main())
