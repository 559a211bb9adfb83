"""A job worker: refund jobs from a queue, the timer sweep and the weekly payout run, on one
SQLite file, retrying what the library says may succeed when sent again (R17, R18, R29,
R35, R36).

    python examples/job_worker.py                 # four simulated weeks, on a file in a temp dir
    python examples/job_worker.py --db shop.db --hours 72

It is a worker the way a cron job or a queue consumer is one: each tick it takes the jobs
that are due (here, refunds a support tool queued), runs the timers (``run_due``:
auto-confirmations, releases after the hold, reminders; it also relays the outbox to the
notifier) and, on Monday mornings, the payout run (``run_payouts``). Every call goes through
:func:`with_retries`, which sends it again, with backoff, when the refusal is one whose
``retryable`` is true (docs/errors.md): ``StoreUnavailableError`` (and its ``StoreBusyError``:
another writer held the database) and ``ConcurrencyConflictError`` (another worker saved the
same order first), among others. A refund job carries its own idempotency key, the same on
every retry and every redelivery of the job, so it takes effect once however often it is
sent (R35). A job refused for good (any other error: a refund above what was paid, an order
that is not the vendor's) is set aside with its error's code and message for a person to
read, and the worker carries on.

The loop is bounded and its clock is a ``FakeClock`` that the worker advances, so the script
ends in a second; in production give the ``Marketplace`` the system clock (leave ``clock``
out), sleep with ``time.sleep`` and loop until told to stop (see examples/sweep_worker.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sqlite3
import sys
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import attrs
from moneyed import Money

from asolora_core import (
    Actor,
    AsoloraError,
    FakeClock,
    Item,
    Marketplace,
    Notification,
    SqliteStore,
)

log = logging.getLogger("job_worker")
T = TypeVar("T")

START = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)  # a Thursday
#: four weeks: delivered on day 0, auto-confirmed on day 14 (R10), released after the 7-day
#: hold on day 21 (R15), paid on the Monday after (R18)
HOURS = 28 * 24
STAFF = Actor.staff("job-worker")


class LogNotifier:
    """The notifier protocol: ``send(message_id, notification)``; raising means "retry later".
    Delivery is at least once, so a message seen before (same ``message_id``) is dropped."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def send(self, message_id: str, notification: Notification) -> None:
        if message_id in self.seen:
            return
        self.seen.add(message_id)
        log.info(
            "notify %s:%s %s: %s",
            notification.recipient.kind.value,
            notification.recipient.id,
            notification.kind,
            notification.text,
        )


@attrs.frozen
class RefundJob:
    """A refund a support tool queued. ``job_id`` is the queue's id: it is the idempotency
    key, so a job the queue hands out twice refunds once."""

    job_id: str
    order_id: str
    vendor_id: str
    amount: Money
    reason: str


#: retries taken, by error code (for the summary line and your metrics)
RETRIES: Counter[str] = Counter()


def with_retries(
    call: Callable[[], T], *, what: str, sleep: Callable[[float], object], attempts: int = 6
) -> T:
    """``call()``, sent again with exponential backoff (0.5 s, 1 s, 2 s, ...) while it raises
    an error that can succeed when sent again unchanged (``error.retryable``, docs/errors.md).
    Any other refusal is final: it is raised at once, and so is the last retryable one."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except AsoloraError as error:
            # StoreUnavailableError and its StoreBusyError, ConcurrencyConflictError,
            # RateUnavailableError, ReportsRebuildingError: `retryable` says which
            if not error.retryable or attempt == attempts:
                raise
            RETRIES[error.code] += 1
            log.info("%s: %s (%s); retry %d in %.1fs", what, error.code, error, attempt, delay)
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


@attrs.define
class Worker:
    market: Marketplace
    clock: FakeClock
    sleep: Callable[[float], object]
    jobs: deque[RefundJob] = attrs.field(factory=deque)
    #: jobs refused for good: (job, error code, message), for a person to look at
    failed: list[tuple[RefundJob, str, str]] = attrs.field(factory=list)
    refunded: int = 0
    paid_out: list[Money] = attrs.field(factory=list)

    def tick(self) -> None:
        """One round: the queued jobs, the timers, and on Monday 06:00 the payout run."""
        while self.jobs:
            job = self.jobs.popleft()
            try:
                self.refund(job)
            except AsoloraError as error:  # final (or retried in vain): set aside, carry on
                log.warning("refund job %s refused: %s (%s)", job.job_id, error.code, error)
                self.failed.append((job, error.code, str(error)))
        report = with_retries(self.market.run_due, what="sweep", sleep=self.sleep)
        if report.timers:
            log.info("sweep: %s", dict(report.timers))
        now = self.clock.now()
        if now.weekday() == 0 and now.hour == 6:
            # each vendor is paid in its own transaction; a run cut short by an error has paid
            # the vendors before it, and running it again pays only the rest (R18)
            payouts = with_retries(
                lambda: self.market.run_payouts(by=STAFF), what="payouts", sleep=self.sleep
            )
            for payout in payouts:
                log.info("paid %s %s", payout.vendor_id, payout.amount)
                assert payout.statement.reconciles  # R41
                self.paid_out.append(payout.amount)

    def refund(self, job: RefundJob) -> None:
        order = with_retries(
            lambda: self.market.refund(
                job.order_id,
                by=Actor.vendor(job.vendor_id),
                amount=job.amount,
                reason=job.reason,
                idempotency_key=job.job_id,  # the same key on every retry and redelivery
            ),
            what=f"refund job {job.job_id}",
            sleep=self.sleep,
        )
        self.refunded = order.refunded_minor


class HeldLock:
    """Another program (a backup, a migration, a second worker) holding the SQLite write lock
    until the worker's first backoff: the worker's next write waits ``busy_timeout_ms`` and
    gets ``StoreBusyError``, and sending it again then succeeds."""

    def __init__(self, path: Path) -> None:
        self._connection: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)
        self._connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute("COMMIT")
            self._connection.close()
            self._connection = None


def _orders(market: Marketplace) -> list[str]:
    """Two vendors' orders, shipped and delivered on the first day; the buyer of the first
    confirms it, the others are confirmed by the auto-confirmation timer (R10)."""
    buyer = Actor.buyer("ada")
    placed: list[str] = []
    for vendor_id, price in (("anna", "40.00"), ("anna", "25.00"), ("kenji", "60.00")):
        mug = Item(
            vendor_id=vendor_id, product_id="mug", quantity=1, unit_price=Money(price, "EUR")
        )
        (order,) = market.place_checkout(
            buyer=buyer,
            customer_name="Ada Lovelace",
            items=[mug],
            paid=Money(price, "EUR"),
            idempotency_key=f"checkout-{len(placed)}",
        )
        vendor = Actor.vendor(vendor_id)
        order = market.ship(
            order.order_id,
            by=vendor,
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number=f"JD{len(placed)}",
        )
        market.mark_delivered(order.order_id, order.shipments[0].shipment_id, by=vendor)
        placed.append(order.order_id)
    first = market.get_order(placed[0], by=buyer)
    market.confirm_receipt(first.order_id, first.shipments[0].shipment_id, by=buyer)
    return placed


def run(db: Path, *, hours: int) -> Worker:
    """The worker on ``db`` for ``hours`` simulated hours, one tick an hour."""
    clock = FakeClock(START)
    store = SqliteStore(db, busy_timeout_ms=50)  # a worker can afford the default 30 s
    market = Marketplace(store, clock=clock, notifier=LogNotifier())
    lock: HeldLock | None = None

    def sleep(seconds: float) -> None:  # production: time.sleep(seconds)
        if lock is not None:
            lock.release()  # the other program finishes while the worker waits
        clock.advance(seconds=seconds)

    worker = Worker(market, clock, sleep)
    try:
        for vendor_id in ("anna", "kenji"):
            market.register_vendor(vendor_id, payout_currency="EUR", by=STAFF)
        orders = _orders(market)
        refund = RefundJob("job-1", orders[1], "anna", Money("5.00", "EUR"), "scratched mug")
        typo = RefundJob("job-2", orders[2], "kenji", Money("600.00", "EUR"), "one zero too many")
        for hour in range(hours):
            if hour == 2:  # the support tool queues a refund, and the queue delivers it twice
                worker.jobs.extend([refund, refund, typo])
                lock = HeldLock(db)  # ... while another program holds the database
            worker.tick()
            clock.advance(hours=1)
    finally:
        if lock is not None:
            lock.release()
        store.close()
    return worker


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="the SQLite file (default: one in a temp dir)")
    parser.add_argument("--hours", type=int, default=HOURS, help="hours (default %(default)s)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log retries, jobs set aside, notifications"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        worker = run(args.db or Path(tmp) / "shop.db", hours=args.hours)
    # 40.00 + 20.00 (25.00 less the one refund of 5.00, not two) + 60.00, less the fees
    # (none by default): every order confirmed or auto-confirmed, released after the hold, paid
    total = sum(m.amount for m in worker.paid_out)
    print(
        f"paid out {total} EUR in {len(worker.paid_out)} payouts; retries: {dict(RETRIES)}; "
        f"jobs set aside: {[job.job_id for job, _, _ in worker.failed]}"
    )
    if args.hours >= HOURS:
        assert worker.refunded == 500, worker.refunded  # the job delivered twice refunded once
        assert total == 120, total
        assert RETRIES["store_busy"] == 1, RETRIES  # the refund, sent again once the lock went
        assert [(job.job_id, code) for job, code, _ in worker.failed] == [
            ("job-2", "refund_exceeds_paid")
        ]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
