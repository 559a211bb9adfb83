"""The facade users call: :class:`Marketplace`, composed of the feature services.

Every command runs: load -> pure core -> save + history + outbox -> commit, in one unit of work
(see :mod:`asolora_core.kernel`). The features live in their packages, each with the same inner
shape (model, pure core, service):

* :mod:`asolora_core.orders.service`: checkout, shipping, confirmation, issues, refunds;
* :mod:`asolora_core.orders.endings_service`: returns, the R40 timers, staff powers;
* :mod:`asolora_core.ledger.service`: hold, release, refunds after release, payouts;
* :mod:`asolora_core.ledger.endings_service`: won chargebacks, adjustments, payout terms;
* :mod:`asolora_core.messaging.service`: buyer-vendor conversations;
* :mod:`asolora_core.reports.performance_service`: the dashboard's store performance;
* :mod:`asolora_core.reports.service`: sales, earnings, bestsellers from rollups.

This module only composes them; nothing below imports it.
"""

from __future__ import annotations

from asolora_core.config import MarketplaceConfig
from asolora_core.kernel import DeliveryReport, SequentialIds, SweepReport, UuidIds
from asolora_core.ledger.endings_service import _MoneyEndings
from asolora_core.messaging.service import _ChatCommands
from asolora_core.orders.endings_service import _OrderEndings
from asolora_core.orders.service import Item
from asolora_core.reports.performance_service import _PerformanceQueries
from asolora_core.reports.service import _ReportCommands

__all__ = [
    "DeliveryReport",
    "Item",
    "Marketplace",
    "MarketplaceConfig",
    "SequentialIds",
    "SweepReport",
    "UuidIds",
]


class Marketplace(
    _PerformanceQueries, _ReportCommands, _MoneyEndings, _ChatCommands, _OrderEndings
):
    """The marketplace facade. Build one per process around a store:

    >>> from asolora_core import InMemoryStore, Marketplace
    >>> market = Marketplace(InMemoryStore())
    """
