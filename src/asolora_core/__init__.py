"""asolora_core: the day-to-day operations of a multi-vendor marketplace.

The public API is what ``__all__`` lists; everything else may change. Start with
:class:`Marketplace` around a store (:class:`SqliteStore`, the embedded default, or
:class:`InMemoryStore`), and name who acts with :class:`Actor`.
"""

from asolora_core.actors import Actor, ActorKind
from asolora_core.adapters.memory import InMemoryStore
from asolora_core.adapters.notifiers import CallableNotifier, LoggingNotifier, RecordingNotifier
from asolora_core.adapters.sqlite import SqliteStore
from asolora_core.clock import Clock, FakeClock, SystemClock
from asolora_core.errors import (
    AsoloraError,
    CompletionIsAutomaticError,
    ConcurrencyConflictError,
    CurrencyMismatchError,
    DisputeWindowClosedError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    IssueOpenError,
    NaiveDatetimeError,
    NotFoundError,
    NotPermitted,
    NotPermittedError,
    RateUnavailableError,
    RefundExceedsPaidError,
    UnknownCurrencyError,
)
from asolora_core.events import DomainEvent, Notification
from asolora_core.money import Rounding, allocate, from_minor, parse_money, to_minor
from asolora_core.orders.model import (
    Fulfilment,
    Issue,
    IssueKind,
    IssueOutcome,
    IssueStatus,
    Line,
    Order,
    OrderStatus,
    Refund,
    Resolution,
    ReturnPolicy,
    Shipment,
    ShipmentStatus,
)
from asolora_core.service import (
    DeliveryReport,
    Item,
    Marketplace,
    MarketplaceConfig,
    SequentialIds,
    SweepReport,
    UuidIds,
)

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "ActorKind",
    "AsoloraError",
    "CallableNotifier",
    "Clock",
    "CompletionIsAutomaticError",
    "ConcurrencyConflictError",
    "CurrencyMismatchError",
    "DeliveryReport",
    "DisputeWindowClosedError",
    "DomainEvent",
    "FakeClock",
    "Fulfilment",
    "IdempotencyKeyReusedError",
    "InMemoryStore",
    "InvalidInputError",
    "InvalidMoneyError",
    "InvalidTransitionError",
    "Issue",
    "IssueKind",
    "IssueOpenError",
    "IssueOutcome",
    "IssueStatus",
    "Item",
    "Line",
    "LoggingNotifier",
    "Marketplace",
    "MarketplaceConfig",
    "NaiveDatetimeError",
    "NotFoundError",
    "NotPermitted",
    "NotPermittedError",
    "Notification",
    "Order",
    "OrderStatus",
    "RateUnavailableError",
    "RecordingNotifier",
    "Refund",
    "RefundExceedsPaidError",
    "Resolution",
    "ReturnPolicy",
    "Rounding",
    "SequentialIds",
    "Shipment",
    "ShipmentStatus",
    "SqliteStore",
    "SweepReport",
    "SystemClock",
    "UnknownCurrencyError",
    "UuidIds",
    "__version__",
    "allocate",
    "from_minor",
    "parse_money",
    "to_minor",
]
