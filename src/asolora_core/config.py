"""What a marketplace configures: :class:`MarketplaceConfig` (R10, R15-R25, R27, R29, R40).

Every default is the one the rules give. The feature packages read their own part of it (the
ledger ``money``, messaging ``contact_policy``); the kernel reads the outbox and sweep settings.
"""

from __future__ import annotations

import datetime as _dt

import attrs

from asolora_core._values import value_repr
from asolora_core.errors import InvalidInputError
from asolora_core.ledger.model import MoneyConfig
from asolora_core.limits import MAX_TEXT_LENGTH
from asolora_core.messaging.contact_policy import ContactPolicy
from asolora_core.ports import CheckpointSink

__all__ = ["MarketplaceConfig"]


def _positive_delta(value: _dt.timedelta | None, name: str) -> None:
    if value is not None and value <= _dt.timedelta(0):
        raise InvalidInputError(f"{name} must be a positive duration", field=name)


@attrs.frozen(kw_only=True)
class MarketplaceConfig:
    """What a marketplace configures. Every default is the one the rules (R1-R42) give,
    except ``auto_confirm_after`` (the rules say off; here 14 days, see below).

    * ``auto_confirm_after`` (R10): confirm a delivered shipment with no open issue after this
      long. Default 14 days (as Sharetribe's default process): a marketplace that holds its
      vendors' money must not let a silent buyer hold it forever. ``None`` never does.
    * the other R40 timers, each off (``None``) by default: ``remind_vendor_to_ship_after``
      (placement -> a reminder to the vendor while units are unshipped),
      ``cancel_unshipped_after`` (placement -> nothing shipped: cancelled with a full refund;
      partly shipped: the unshipped rest refunded), ``remind_buyer_to_confirm_after``
      (delivery -> a reminder to the buyer), ``escalate_issue_after`` (report -> an issue
      still open goes to staff), ``expire_return_after`` (request -> an unanswered return
      request expires).
    * ``outbox_max_attempts``, ``outbox_retry_after``: a failing notifier is retried with
      exponential backoff from ``outbox_retry_after`` (doubling, at most one hour), and after
      the last attempt the message is kept as failed for staff to see (R29).
      ``outbox_lease``: how long a relay holds the messages of one batch, from the later of
      the clock's now and the relay's instant; once it has run out by the clock (a slow
      notifier) the relay sends nothing more of that batch.
    * ``sweep_batch``: how many timers or messages a sweep claims per transaction, on every
      store (PostgreSQL included: ``FOR UPDATE SKIP LOCKED``). Due releases of one batch are
      written with a few statements for the whole batch; a batch that fails is run again one
      timer per transaction. Smaller batches hold each worker's locks for less time.
    * ``contact_policy`` (R27): what a message carrying contact details gets; default
      ``ContactPolicy.REDACT_AND_FLAG``. ``message_max_length``: longest message text.
    * ``order_receipts`` (R29): the buyer is sent an ``order.receipt`` notification when its
      order is placed (default True; False when the host sends its own receipts).
    * ``money`` (R15-R25, R39, R41): fees, hold period (default 168 hours), payout minimum
      and quantum, rate provider; ``None`` means ``MoneyConfig()`` (no fees, ECB rates).
    * ``ledger_key`` (R42): a secret key (at least 16 bytes); with it the journal chain, the
      hold and vendor seals and the checkpoints are HMAC-SHA-256, so whoever can write the
      database but does not hold the key cannot re-seal what they changed. Keep it out of
      the database. ``None`` (default): plain SHA-256, which finds accidents and edits made
      without the library, not a determined intruder (the threat model is on the
      "Ledger integrity" page of the docs).
    * ``checkpoint_sink``, ``checkpoint_every`` (R42): publish a checkpoint (journal position,
      head hash, time; signed with ``ledger_key``) after every payout run and every
      ``checkpoint_every`` journal transactions (default 1000).
    * ``idempotency_ttl`` (R35): how long an idempotency key is remembered (default 24
      hours, as long as a client keeps retrying one request); after it, the same key is a new
      key, and the sweep (``run_due``) deletes the record. ``None`` keeps keys forever.
    * ``delivered_retention`` (R29): how long a delivered notification stays in the outbox
      (default 7 days) before the sweep deletes it; failed ones are kept for staff. ``None``
      keeps them forever.
    """

    __repr__ = value_repr

    auto_confirm_after: _dt.timedelta | None = attrs.field(default=_dt.timedelta(days=14))
    outbox_max_attempts: int = 8
    outbox_retry_after: _dt.timedelta = _dt.timedelta(seconds=30)
    outbox_lease: _dt.timedelta = _dt.timedelta(minutes=5)
    sweep_batch: int = 200
    contact_policy: ContactPolicy = ContactPolicy.REDACT_AND_FLAG
    message_max_length: int = 4000
    money: MoneyConfig | None = None
    ledger_key: bytes | None = attrs.field(default=None, repr=False)
    checkpoint_sink: CheckpointSink | None = attrs.field(default=None, eq=False)
    checkpoint_every: int = 1000
    idempotency_ttl: _dt.timedelta | None = _dt.timedelta(hours=24)
    delivered_retention: _dt.timedelta | None = _dt.timedelta(days=7)
    # --- R40 timers (issue: every order reaches an ending) ---------------------------------
    remind_vendor_to_ship_after: _dt.timedelta | None = None
    cancel_unshipped_after: _dt.timedelta | None = None
    remind_buyer_to_confirm_after: _dt.timedelta | None = None
    escalate_issue_after: _dt.timedelta | None = None
    expire_return_after: _dt.timedelta | None = None
    order_receipts: bool = True

    def __attrs_post_init__(self) -> None:
        if self.ledger_key is not None and (
            not isinstance(self.ledger_key, bytes) or len(self.ledger_key) < 16
        ):
            raise InvalidInputError(
                "ledger_key must be a secret of at least 16 bytes, e.g. os.urandom(32)",
                field="ledger_key",
            )
        if self.checkpoint_sink is not None and not callable(
            getattr(self.checkpoint_sink, "publish", None)
        ):
            raise InvalidInputError(
                "checkpoint_sink must have a publish(checkpoint) method, e.g. "
                "FileCheckpointSink(path)",
                field="checkpoint_sink",
            )
        if isinstance(self.checkpoint_every, bool) or not isinstance(self.checkpoint_every, int):
            raise InvalidInputError("checkpoint_every must be a whole number", field="config")
        if self.checkpoint_every < 1:
            raise InvalidInputError("checkpoint_every must be at least 1", field="config")
        _positive_delta(self.auto_confirm_after, "auto_confirm_after")
        for name in (
            "remind_vendor_to_ship_after",
            "cancel_unshipped_after",
            "remind_buyer_to_confirm_after",
            "escalate_issue_after",
            "expire_return_after",
        ):
            _positive_delta(getattr(self, name), name)
        _positive_delta(self.outbox_retry_after, "outbox_retry_after")
        _positive_delta(self.idempotency_ttl, "idempotency_ttl")
        _positive_delta(self.delivered_retention, "delivered_retention")
        if self.outbox_max_attempts < 1 or self.sweep_batch < 1:
            raise InvalidInputError("attempts and batch sizes must be at least 1", field="config")
        if not isinstance(self.contact_policy, ContactPolicy):
            raise InvalidInputError(
                "contact_policy must be a ContactPolicy", field="contact_policy"
            )
        if (
            type(self.message_max_length) is not int
            or not 1 <= self.message_max_length <= MAX_TEXT_LENGTH
        ):
            raise InvalidInputError(
                f"message_max_length must be a whole number from 1 to {MAX_TEXT_LENGTH}",
                field="message_max_length",
            )
