"""asolora_core: the day-to-day operations of a multi-vendor marketplace.

The public API is what ``__all__`` lists; everything else may change. Start with
:class:`Marketplace` around a store (:class:`SqliteStore`, the embedded default, or
:class:`InMemoryStore`), and name who acts with :class:`Actor`.
"""

import importlib
from typing import TYPE_CHECKING

from asolora_core.actors import Actor, ActorKind
from asolora_core.adapters.memory import InMemoryStore
from asolora_core.clock import Clock, FakeClock, SystemClock
from asolora_core.errors import (  # reports (R30-R33)
    AmbiguousCustomerError,
    AsoloraError,
    CompletionIsAutomaticError,
    ConcurrencyConflictError,
    ContactDetailsRefusedError,
    CurrencyMismatchError,
    DisputeWindowClosedError,
    IdempotencyKeyReusedError,
    InvalidCursorError,
    InvalidDateRangeError,
    InvalidInputError,
    InvalidMoneyError,
    InvalidTransitionError,
    IssueOpenError,
    LedgerIntegrityError,
    NaiveDatetimeError,
    NotFoundError,
    NotPermitted,
    NotPermittedError,
    RateUnavailableError,
    ReasonRequiredError,
    RefundExceedsPaidError,
    ReportsRebuildingError,
    ReturnNotAllowedError,
    StoreBusyError,
    StoreMisconfiguredError,
    StoreUnavailableError,
    UnknownCurrencyError,
    UnknownTimeZoneError,
    UnknownVendorError,
    UnsupportedReportingCurrencyError,
)
from asolora_core.events import DomainEvent, Notification
from asolora_core.fx import EcbRateProvider, FixedRateProvider, RateProvider, RateSnapshot
from asolora_core.ledger.integrity import Checkpoint
from asolora_core.ledger.model import (
    Chargeback,
    FeeSchedule,
    Hold,
    HoldState,
    JournalTransaction,
    MoneyConfig,
    Payout,
    RefundRate,
    Statement,
    StatementLine,
    VendorAccount,
    VendorBalance,
)
from asolora_core.ledger.service import JournalReport
from asolora_core.limits import (
    MAX_AMOUNT_MINOR,
    MAX_ID_LENGTH,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    MAX_TEXT_LENGTH,
)
from asolora_core.messaging.contact_policy import ContactPolicy
from asolora_core.messaging.conversations import Conversation, Message
from asolora_core.messaging.service import (
    ConversationPage,
    ConversationResponse,
    PostedMessage,
    ResponseTimes,
    StartedConversation,
)
from asolora_core.money import Rounding, allocate, from_minor, parse_money, to_minor
from asolora_core.orders.listing import OrderPage
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
    ReturnKind,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
)
from asolora_core.ports import CheckpointSink
from asolora_core.reports import (
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
from asolora_core.reports.performance import StorePerformance
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
    "InvalidCursorError",
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
    "OrderPage",
    "OrderStatus",
    "Payout",
    "PostedMessage",
    "RateProvider",
    "RateSnapshot",
    "RateUnavailableError",
    "ReasonRequiredError",
    "RecordingNotifier",
    "Refund",
    "RefundExceedsPaidError",
    "RefundRate",
    "ReturnKind",
    "ReturnNotAllowedError",
    "Resolution",
    "ResponseTimes",
    "ReturnPolicy",
    "ReturnRequest",
    "ReturnStatus",
    "Rounding",
    "SequentialIds",
    "Shipment",
    "ShipmentStatus",
    "StoreBusyError",
    "SqliteStore",
    "PostgresStore",
    "migrate",
    "StartedConversation",
    "Statement",
    "StatementLine",
    "StorePerformance",
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
    # reports (R30-R33)
    "Bestseller",
    "BestsellersReport",
    "EarningsFigures",
    "EarningsPeriod",
    "EarningsReport",
    "Granularity",
    "HeldPart",
    "InvalidDateRangeError",
    "Period",
    "RateUsed",
    "RebuildProgress",
    "ReportsRebuildingError",
    "StoreUnavailableError",
    "StoreMisconfiguredError",
    "RollupCheck",
    "RollupDifference",
    "SalesFigures",
    "SalesPeriod",
    "SalesReport",
    "UnknownTimeZoneError",
    "UnknownVendorError",
    "UnsupportedReportingCurrencyError",
    "to_csv",
    # input limits (the "Input limits" page of the docs)
    "MAX_AMOUNT_MINOR",
    "MAX_ID_LENGTH",
    "MAX_KEY_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_QUANTITY",
    "MAX_TEXT_LENGTH",
    # ledger integrity (R42)
    "Checkpoint",
    "CheckpointSink",
    "FileCheckpointSink",
    "LedgerIntegrityError",
    "RecordingCheckpointSink",
]

# --- every returned type, JSON out, notification kinds ------------------------------------
from asolora_core.events import (
    ConfirmationReminded,
    ExchangeShipped,
    IssueClosed,
    IssueEscalated,
    IssueReported,
    IssueResponded,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    ReceiptConfirmed,
    RefundIssued,
    ReturnAnswered,
    ReturnExpired,
    ReturnReceived,
    ReturnRefunded,
    ReturnRequested,
    ReturnShippedBack,
    SettlementAnswered,
    SettlementOffered,
    ShipmentCreated,
    ShipmentDelivered,
    ShippingCancelled,
    ShippingReminded,
    StaffActionTaken,
    TrackingUpdated,
)
from asolora_core.ledger.core import JournalProblem
from asolora_core.ledger.events import (
    BalanceAdjusted,
    ChargebackReported,
    ChargebackWon,
    PayoutPaid,
    PayoutTermsSet,
    ProceedsHeld,
    ProceedsReleased,
    RefundDebited,
    ReleaseFrozen,
    ReleaseUnfrozen,
    VendorRegistered,
)
from asolora_core.ledger.model import Entry
from asolora_core.messaging.conversations import (
    ConversationRead,
    ConversationStarted,
    MessageFlagged,
    MessagePosted,
)
from asolora_core.orders.model import SettlementOffer, TrackingEvent
from asolora_core.ports import OutboxMessage

__all__ += [
    "NOTIFICATION_KINDS",
    "ChargebackReported",
    "ConversationRead",
    "ConversationStarted",
    "Entry",
    "IssueClosed",
    "IssueReported",
    "IssueResponded",
    "JournalProblem",
    "KindInfo",
    "MessageFlagged",
    "MessagePosted",
    "NotificationKind",
    "OrderCancelled",
    "OrderCompleted",
    "OrderPlaced",
    "OutboxMessage",
    "PayoutPaid",
    "ProceedsHeld",
    "ProceedsReleased",
    "ReceiptConfirmed",
    "RefundDebited",
    "RefundIssued",
    "ReleaseFrozen",
    "ReleaseUnfrozen",
    "SettlementAnswered",
    "SettlementOffer",
    "SettlementOffered",
    "ShipmentCreated",
    "ShipmentDelivered",
    "TrackingEvent",
    "TrackingUpdated",
    "VendorRegistered",
    "from_json",
    "to_json",
]

# --- events of the lifecycle endings (returns, timers, staff powers, money paths) ---------
__all__ += [
    "BalanceAdjusted",
    "ChargebackWon",
    "ConfirmationReminded",
    "ExchangeShipped",
    "IssueEscalated",
    "PayoutTermsSet",
    "ReturnAnswered",
    "ReturnExpired",
    "ReturnReceived",
    "ReturnRefunded",
    "ReturnRequested",
    "ReturnShippedBack",
    "ShippingCancelled",
    "ShippingReminded",
    "StaffActionTaken",
]


# --- exported names imported on first use ----------------------------------------------------
# A lifecycle never needs these modules, so ``import asolora_core`` does not pay for them (PEP
# 562); ``from asolora_core import X`` works for each of them as for any other name, and type
# checkers see them through the TYPE_CHECKING imports. The SQLite store is among them: an
# in-memory or PostgreSQL user does not load ``sqlite3``, the SQLite adapter modules and
# their generated codecs (about a tenth of the package's import time); the first
# ``SqliteStore`` name look-up loads them.
if TYPE_CHECKING:
    from asolora_core.adapters.checkpoints import FileCheckpointSink, RecordingCheckpointSink
    from asolora_core.adapters.notifiers import (
        CallableNotifier,
        LoggingNotifier,
        RecordingNotifier,
    )
    from asolora_core.adapters.postgres import PostgresStore
    from asolora_core.adapters.sqlite import SqliteStore
    from asolora_core.jsonout import from_json, to_json
    from asolora_core.migrations import migrate
    from asolora_core.notification_kinds import NOTIFICATION_KINDS, KindInfo, NotificationKind

_LAZY: dict[str, str] = {
    "CallableNotifier": "asolora_core.adapters.notifiers",
    "FileCheckpointSink": "asolora_core.adapters.checkpoints",
    "KindInfo": "asolora_core.notification_kinds",
    "LoggingNotifier": "asolora_core.adapters.notifiers",
    "NOTIFICATION_KINDS": "asolora_core.notification_kinds",
    "NotificationKind": "asolora_core.notification_kinds",
    "PostgresStore": "asolora_core.adapters.postgres",
    "RecordingCheckpointSink": "asolora_core.adapters.checkpoints",
    "RecordingNotifier": "asolora_core.adapters.notifiers",
    "SqliteStore": "asolora_core.adapters.sqlite",
    "from_json": "asolora_core.jsonout",
    "migrate": "asolora_core.migrations",
    "to_json": "asolora_core.jsonout",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'asolora_core' has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if name == "PostgresStore":  # needs the optional ``postgres`` extra (psycopg)
            raise ImportError(
                "PostgresStore needs psycopg: pip install 'asolora-core[postgres]'"
            ) from exc
        raise
    value: object = getattr(module, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
