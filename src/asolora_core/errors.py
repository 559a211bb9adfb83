"""One exception family for every refusal (R2).

Every error the library raises on purpose derives from :class:`AsoloraError`. Each leaf has a
stable, machine-readable ``code`` (part of the public API: never renamed), structured
``fields`` for programs, and a message for people that says what was refused, why, and what
to do instead. A refused command leaves every aggregate, ledger and outbox as it was.

Every class also says how it maps to HTTP: ``http_status`` (the status a web handler should
answer with) and ``retryable`` (whether sending the same request again, unchanged, can
succeed: true only for a version conflict and a missing exchange rate). Both are inherited, so
a new leaf gets its parent's values unless it sets its own; :func:`error_classes` lists them
all (the docs' table is generated from it).

Errors round-trip through :meth:`AsoloraError.to_dict` / :func:`error_from_dict`, which is how
a refusal stored under an idempotency key (R35) is raised again on replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AmbiguousCustomerError",
    "AsoloraError",
    "CompletionIsAutomaticError",
    "ContactDetailsRefusedError",
    "ConcurrencyConflictError",
    "CurrencyMismatchError",
    "DisputeWindowClosedError",
    "IdempotencyKeyReusedError",
    "InvalidCursorError",
    "InvalidInputError",
    "InvalidMoneyError",
    "InvalidTransitionError",
    "IssueOpenError",
    "LedgerIntegrityError",
    "NaiveDatetimeError",
    "NotFoundError",
    "NotPermitted",
    "NotPermittedError",
    "RateUnavailableError",
    "ReasonRequiredError",
    "RefundExceedsPaidError",
    "ReturnNotAllowedError",
    "StoreBusyError",
    "StoreMisconfiguredError",
    "StoreUnavailableError",
    "UnknownCurrencyError",
    "error_classes",
    "error_from_dict",
    # reports (R30-R33)
    "InvalidDateRangeError",
    "ReportsRebuildingError",
    "UnknownTimeZoneError",
    "UnknownVendorError",
    "UnsupportedReportingCurrencyError",
]

_REGISTRY: dict[str, type[AsoloraError]] = {}


class AsoloraError(Exception):
    """Root of every error asolora_core raises on purpose.

    ``code`` is stable and machine-readable; ``fields`` carries the structured details
    (which field, which order, which state); ``str(error)`` is the human message.
    """

    code: ClassVar[str] = "asolora_error"
    #: The HTTP status a web handler answers with (inherited; leaves override).
    http_status: ClassVar[int] = 400
    #: Whether the same request, sent again unchanged, can succeed (a conflict, an outage):
    #: a retryable refusal is never stored under an idempotency key (R35).
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Any] = fields

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            if cls.code in _REGISTRY:  # pragma: no cover - a programming error in this package
                raise RuntimeError(f"duplicate error code {cls.code!r}")
            _REGISTRY[cls.code] = cls

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``{"code", "message", "fields"}``."""
        return {"code": self.code, "message": self.message, "fields": dict(self.fields)}

    def to_problem(self) -> dict[str, Any]:
        """An RFC 9457 problem body for an HTTP response (``application/problem+json``):
        ``type`` (``urn:asolora:error:<code>``), ``title``, ``status``, ``detail``, plus
        ``code``, ``retryable`` and ``fields`` (JSON-ready: text, numbers, lists)."""
        return {
            "type": f"urn:asolora:error:{self.code}",
            "title": type(self).__name__,
            "status": self.http_status,
            "detail": self.message,
            "code": self.code,
            "retryable": self.retryable,
            "fields": {str(k): _plain(v) for k, v in self.fields.items()},
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def error_classes() -> tuple[type[AsoloraError], ...]:
    """Every error class with a code (the root first), as registered: the source of the HTTP
    table in the docs."""
    return (AsoloraError, *_REGISTRY.values())


def error_from_dict(data: Mapping[str, Any]) -> AsoloraError:
    """Rebuild an error from :meth:`AsoloraError.to_dict` output (unknown codes give the root)."""
    cls = _REGISTRY.get(str(data["code"]), AsoloraError)
    return cls(str(data["message"]), **dict(data.get("fields", {})))


# --- bad input -------------------------------------------------------------------------


class InvalidInputError(AsoloraError):
    """Raised when an argument is malformed: wrong type, out of range, unknown option.

    ``fields["field"]`` names the argument.
    """

    code = "invalid_input"
    http_status = 422


class InvalidMoneyError(InvalidInputError):
    """Raised for an amount that is not exact money: a float, NaN, infinity, more decimals
    than the currency has (R25), or a negative amount where only positive ones make sense."""

    code = "invalid_money"


class UnknownCurrencyError(InvalidInputError):
    """Raised for a currency code that is not in the bundled ISO 4217 table."""

    code = "unknown_currency"


class CurrencyMismatchError(InvalidInputError):
    """Raised when amounts of two currencies meet where one currency is required
    (money never mixes currencies implicitly; convert explicitly with a rate)."""

    code = "currency_mismatch"


class NaiveDatetimeError(InvalidInputError):
    """Raised for a datetime without a time zone (R34)."""

    code = "naive_datetime"


# --- who may act ----------------------------------------------------------------------


class NotPermittedError(AsoloraError):
    """Raised when the actor may not do this: not its order, listing or conversation, or not
    an action its kind of actor can take (R1)."""

    code = "not_permitted"
    http_status = 403


NotPermitted = NotPermittedError
"""The rules' name for :class:`NotPermittedError` (R1)."""


class NotFoundError(AsoloraError):
    """Raised when an id names nothing the store holds."""

    code = "not_found"
    http_status = 404


# --- lifecycle -------------------------------------------------------------------------


class InvalidTransitionError(AsoloraError):
    """Raised when the transitions table has no entry for (state, action, actor): the action
    is not possible in the current state."""

    code = "invalid_transition"
    http_status = 409


class CompletionIsAutomaticError(InvalidTransitionError):
    """Raised on any attempt to mark an order completed by hand (R8): completion happens by
    itself when the buyer has confirmed every shipment."""

    code = "completion_is_automatic"


class DisputeWindowClosedError(InvalidTransitionError):
    """Raised when an issue is reported on items whose receipt is confirmed, or on a completed
    order (R14)."""

    code = "dispute_window_closed"


class IssueOpenError(InvalidTransitionError):
    """Raised when a shipment with an open issue on its items is confirmed (R14)."""

    code = "issue_open"


class RefundExceedsPaidError(AsoloraError):
    """Raised when a refund would take the total refunded above the amount paid (R20)."""

    code = "refund_exceeds_paid"
    http_status = 422


class ReturnNotAllowedError(InvalidTransitionError):
    """Raised when a return or exchange request falls outside the line's policy snapshot
    (R19, R37): ``fields["reason"]`` is ``returns_not_accepted``, ``exchanges_not_accepted``,
    ``not_confirmed``, ``window_closed`` or ``too_many_units``."""

    code = "return_not_allowed"


class ReasonRequiredError(InvalidInputError):
    """Raised when a staff power (or a staff adjustment) is used without a reason: every
    staff action is recorded with the reason it was taken."""

    code = "reason_required"


# --- conversations ---------------------------------------------------------------------


class ContactDetailsRefusedError(AsoloraError):
    """Raised when a message carries contact details (an email address, a phone number, an
    outside messaging channel) and the contact policy is ``REFUSE`` (R27). Nothing is posted;
    ``fields["findings"]`` names what was found."""

    code = "contact_details_refused"
    http_status = 422


class AmbiguousCustomerError(InvalidInputError):
    """Raised when a vendor starts a conversation by customer name and two or more of its
    customers share that name (R26); ``fields["order_ids"]`` lists candidate orders: pass one
    as ``order_id``."""

    code = "ambiguous_customer"


# --- storage and idempotency -------------------------------------------------------------


class ConcurrencyConflictError(AsoloraError):
    """Raised when saving over a newer version of an aggregate (R36). Reload and retry."""

    code = "version_conflict"
    http_status = 409
    retryable = True


class IdempotencyKeyReusedError(AsoloraError):
    """Raised when an idempotency key is used again with a different command (R35), or a
    chargeback's reference with another amount or fee (R39); ``fields["field"]`` names the
    first argument that differs."""

    code = "idempotency_key_reused"
    http_status = 422


# --- outside world ---------------------------------------------------------------------


class RateUnavailableError(AsoloraError):
    """Raised when no exchange rate is known for a currency pair at a date."""

    code = "rate_unavailable"
    http_status = 503
    retryable = True


# --- order lists (the vendor dashboard) ------------------------------------------------


class InvalidCursorError(InvalidInputError):
    """Raised when a list's ``cursor`` is not one the library returned for the same filters
    and the same actor: altered, made up, or taken from another list or another actor. Pass
    a page's ``next_cursor`` back unchanged, or start again without a cursor."""

    code = "invalid_cursor"


# --- reports (R30-R33) ----------------------------------------------------------------------


class InvalidDateRangeError(InvalidInputError):
    """Raised when a report's range is not two dates, or ends before it starts."""

    code = "invalid_date_range"


class UnknownTimeZoneError(InvalidInputError):
    """Raised when a time zone is not an IANA name (``Europe/Paris``, ``Asia/Tokyo``)."""

    code = "unknown_time_zone"


class UnsupportedReportingCurrencyError(InvalidInputError):
    """Raised when a report cannot be converted into the reporting currency asked for: not
    an ISO 4217 currency, or no exchange rate for a day of the range."""

    code = "unsupported_reporting_currency"


class UnknownVendorError(NotFoundError):
    """Raised when a report names a vendor that is neither registered nor has sold anything."""

    code = "unknown_vendor"


class ReportsRebuildingError(AsoloraError):
    """Raised when a report is asked for a vendor whose rollups are being rebuilt; finish
    with ``rebuild_reports`` (it resumes where it stopped), then ask again."""

    code = "reports_rebuilding"
    http_status = 503
    retryable = True


class StoreUnavailableError(AsoloraError):
    """Raised when the database did not answer in time or at all (a lost PostgreSQL
    connection, a server restarting; see :class:`StoreBusyError` for a busy one, and
    :class:`StoreMisconfiguredError` for a connection refused for its settings). Nothing was
    stored, under the idempotency key or otherwise, unless the connection was lost during the
    COMMIT: then ``fields["outcome_unknown"]`` is true and the commit may have landed. Either
    way, send the same command again with the same idempotency key (a landed commit replays
    its stored result), or answer 503 and let the client retry. The example web layer turns a
    store's ``transient_errors`` into this error."""

    code = "store_unavailable"
    http_status = 503
    retryable = True


class StoreBusyError(StoreUnavailableError):
    """Raised when the store stayed busy longer than its timeout (SQLite: another writer held
    the database's write lock past ``busy_timeout_ms``). A :class:`StoreUnavailableError` of
    its own code: nothing was written; send the same command again, or answer 503 and let the
    client retry."""

    code = "store_busy"
    http_status = 503
    retryable = True


class StoreMisconfiguredError(AsoloraError):
    """Raised when the store cannot be used as it is configured, not because it is down: the
    database refused the connection for its settings (a wrong password, an unknown role or
    database, a role that may not log in or lacks ``CONNECT``, an authentication method or
    SSL mode the two sides do not share, a setting it does not know), the connection string
    is malformed, or an SQLite file cannot be opened or written where it is named. Sending
    the command again cannot help until the configuration is fixed: the message says what
    to check, ``fields["reason"]`` names it (``authentication``,
    ``unknown_role``, ``role_cannot_login``, ``unknown_database``, ``no_connect_privilege``,
    ``host_not_allowed``, ``auth_method``, ``ssl``, ``options``, ``dsn``; for an SQLite
    file, ``path``: its folder does not exist, ``read_only``, ``not_a_database``). No
    connection was opened: nothing was stored."""

    code = "store_misconfigured"
    http_status = 500
    retryable = False


# --- integrity ---------------------------------------------------------------------------


class LedgerIntegrityError(AsoloraError):
    """Raised when money would be computed from stored data that fails its integrity check
    (R24, R42): a hold or vendor account whose seal does not match, a hold that disagrees
    with the journal, a vendor balance whose running total disagrees with the journal at
    payout, or a stored hold, vendor account, payout, order, idempotency record or outbox
    message that no longer decodes. Nothing is released or paid from it; staff run
    ``verify_journal`` and restore the store from a backup taken before the damage."""

    code = "ledger_integrity"
    http_status = 500


def _unknown_order(order_id: str) -> NotFoundError:
    """The refusal every store gives for an order id it does not hold (one message for all)."""
    return NotFoundError(
        f"no order {order_id!r}: pass an order_id as place_checkout returned it "
        "(Order.order_id), or find the order with list_orders",
        order_id=order_id,
    )
