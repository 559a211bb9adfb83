"""Reports (R30-R33): sales, earnings and bestselling products of a vendor, per day, ISO week
or month in the vendor's time zone, read from rollups kept in the same transaction as each
order change and ledger posting.

* :mod:`asolora_core.reports.model`: the report values (each with ``to_rows()`` and
  ``to_dict()``), :class:`Granularity`, :class:`Period`, verify/rebuild results, :func:`to_csv`;
* :mod:`asolora_core.reports.core`: the pure folds (what each change adds to the rollups, the
  same fold over a whole order) and periods in a zone (pendulum, off the hot path);
* :mod:`asolora_core.reports.rollups`: keeping the rollups (the reactors), ``verify_reports``,
  ``rebuild_reports`` and time-zone changes;
* :mod:`asolora_core.reports.service`: the ``Marketplace`` mixin with the three reports;
* :mod:`asolora_core.reports.performance` and ``performance_service``: the dashboard's store
  performance (R28), folded from per-order facts each store keeps beside the order.
"""

from asolora_core.reports.model import (
    Bestseller,
    BestsellersReport,
    EarningsFigures,
    EarningsPeriod,
    EarningsReport,
    Granularity,
    HeldPart,
    Period,
    RateUsed,
    RebuildProgress,
    RollupCheck,
    RollupDifference,
    SalesFigures,
    SalesPeriod,
    SalesReport,
    to_csv,
)

__all__ = [
    "Bestseller",
    "BestsellersReport",
    "EarningsFigures",
    "EarningsPeriod",
    "EarningsReport",
    "Granularity",
    "HeldPart",
    "Period",
    "RateUsed",
    "RebuildProgress",
    "RollupCheck",
    "RollupDifference",
    "SalesFigures",
    "SalesPeriod",
    "SalesReport",
    "to_csv",
]
