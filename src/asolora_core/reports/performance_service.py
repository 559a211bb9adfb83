"""Store performance on the facade (R1, R28, R33): :class:`_PerformanceQueries`, mixed into
:class:`~asolora_core.service.Marketplace`.

Reads the store's :meth:`~asolora_core.ports.OrderRepository.performance_totals` (a fold over
per-order facts the store keeps up to date with every order change; SQL on SQLite) and the
first-response times of the vendor's conversations in the range (R28), in one unit of work,
then shapes them with the pure :func:`~asolora_core.reports.performance.store_performance`.
"""

from __future__ import annotations

import datetime as _dt

from asolora_core.actors import Actor, ActorKind, check_actor
from asolora_core.clock import utc
from asolora_core.errors import InvalidInputError, NotFoundError, NotPermittedError
from asolora_core.kernel import _Kernel
from asolora_core.limits import check_id
from asolora_core.orders.listing import OrderQuery
from asolora_core.reports.performance import StorePerformance, store_performance

__all__: list[str] = []


def _micros(delta: _dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _PerformanceQueries(_Kernel):
    """The vendor dashboard's store performance figures."""

    def store_performance(
        self, vendor_id: str, *, by: Actor, since: _dt.datetime, until: _dt.datetime
    ) -> StorePerformance:
        """The vendor's store performance over the orders placed in ``[since, until)``:
        average order value per currency, refund and issue rates, median time to ship and to
        delivery, and the median first response in chat (R28) of the conversations whose
        buyer's first awaiting message falls in the range. For the vendor itself or staff
        (R1); see :class:`~asolora_core.reports.performance.StorePerformance`.

        ``since`` and ``until`` are aware datetimes (R34), ``until`` not before ``since``.
        Staff naming a vendor that is neither registered nor has any order get
        :class:`~asolora_core.errors.NotFoundError`.
        """
        check_actor(by)
        check_id(vendor_id, "vendor_id")
        if by.kind is not ActorKind.STAFF and not (
            by.kind is ActorKind.VENDOR and by.id == vendor_id
        ):
            raise NotPermittedError(
                f"{by} cannot see the store performance of vendor {vendor_id}: only that "
                "vendor and staff can",
                vendor_id=vendor_id,
            )
        start, end = utc(since, field="since"), utc(until, field="until")
        if end < start:
            raise InvalidInputError(
                f"until ({end.isoformat()}) is before since ({start.isoformat()}); swap them",
                field="until",
            )
        with self.store.reader() as uow:  # a query: no write lock
            if (
                by.kind is ActorKind.STAFF
                and uow.ledger.get_vendor(vendor_id) is None
                and not uow.orders.page(OrderQuery(vendor_id=vendor_id), after=None, limit=1)
            ):
                raise NotFoundError(
                    f"vendor {vendor_id!r} has no orders and is not registered; check the id",
                    vendor_id=vendor_id,
                )
            totals = uow.orders.performance_totals(vendor_id, start, end)
            awaited = uow.conversations.awaited_between(vendor_id, start, end)
        responses = [
            None
            if c.first_awaited_at is None or c.first_response_at is None
            else _micros(c.first_response_at - c.first_awaited_at)
            for c in awaited
        ]
        return store_performance(
            totals, vendor_id=vendor_id, since=start, until=end, response_micros=responses
        )
