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
    AmbiguousCustomerError,
    AsoloraError,
    CompletionIsAutomaticError,
    ConcurrencyConflictError,
    ContactDetailsRefusedError,
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
from asolora_core.fx import EcbRateProvider, FixedRateProvider, RateProvider, RateSnapshot
from asolora_core.ledger.model import (
    Chargeback,
    FeeSchedule,
    Hold,
    HoldState,
    JournalTransaction,
    MoneyConfig,
    Payout,
    Statement,
    StatementLine,
    VendorAccount,
    VendorBalance,
)
from asolora_core.ledger.service import JournalReport
from asolora_core.messaging.contact_policy import ContactPolicy
from asolora_core.messaging.conversations import Conversation, Message
from asolora_core.messaging.service import (
    ConversationPage,
    ConversationResponse,
    PostedMessage,
    ResponseTimes,
    StartedConversation,
)
from asolora_core.migrations import migrate
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
    "AmbiguousCustomerError",
    "AsoloraError",
    "CallableNotifier",
    "Chargeback",
    "Clock",
    "CompletionIsAutomaticError",
    "ConcurrencyConflictError",
    "ContactDetailsRefusedError",
    "ContactPolicy",
    "Conversation",
    "ConversationPage",
    "ConversationResponse",
    "CurrencyMismatchError",
    "DeliveryReport",
    "DisputeWindowClosedError",
    "DomainEvent",
    "EcbRateProvider",
    "FakeClock",
    "FeeSchedule",
    "FixedRateProvider",
    "Fulfilment",
    "Hold",
    "HoldState",
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
    "JournalReport",
    "JournalTransaction",
    "Line",
    "LoggingNotifier",
    "Marketplace",
    "MarketplaceConfig",
    "Message",
    "MoneyConfig",
    "NaiveDatetimeError",
    "NotFoundError",
    "NotPermitted",
    "NotPermittedError",
    "Notification",
    "Order",
    "OrderStatus",
    "Payout",
    "PostedMessage",
    "RateProvider",
    "RateSnapshot",
    "RateUnavailableError",
    "RecordingNotifier",
    "Refund",
    "RefundExceedsPaidError",
    "Resolution",
    "ResponseTimes",
    "ReturnPolicy",
    "Rounding",
    "SequentialIds",
    "Shipment",
    "ShipmentStatus",
    "SqliteStore",
    "PostgresStore",
    "migrate",
    "StartedConversation",
    "Statement",
    "StatementLine",
    "SweepReport",
    "SystemClock",
    "UnknownCurrencyError",
    "UuidIds",
    "VendorAccount",
    "VendorBalance",
    "__version__",
    "allocate",
    "from_minor",
    "parse_money",
    "to_minor",
]


def __getattr__(name: str) -> object:
    # PostgresStore needs the optional ``postgres`` extra (psycopg): imported on first use
    if name == "PostgresStore":
        try:
            from asolora_core.adapters.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "PostgresStore needs psycopg: pip install 'asolora-core[postgres]'"
            ) from exc
        return PostgresStore
    raise AttributeError(f"module 'asolora_core' has no attribute {name!r}")
