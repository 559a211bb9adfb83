"""What a marketplace configures: :class:`MarketplaceConfig` (R10, R15-R25, R27, R29, R40).

Every default is the one the rules give. The feature packages read their own part of it (the
ledger ``money``, messaging ``contact_policy``); the kernel reads the outbox and sweep settings.
"""

from __future__ import annotations

import datetime as _dt

import attrs

from asolora_core.errors import InvalidInputError
from asolora_core.ledger.model import MoneyConfig
from asolora_core.messaging.contact_policy import ContactPolicy

__all__ = ["MarketplaceConfig"]


def _positive_delta(value: _dt.timedelta | None, name: str) -> None:
    if value is not None and value <= _dt.timedelta(0):
        raise InvalidInputError(f"{name} must be a positive duration", field=name)


@attrs.frozen(kw_only=True)
class MarketplaceConfig:
    """What a marketplace configures. Every default is the one the rules (docs/rules.md) give.

    * ``auto_confirm_after`` (R10): confirm a delivered shipment with no open issue after this
      long; ``None`` (default) never does.
    * ``outbox_max_attempts``, ``outbox_retry_after``: a failing notifier is retried with
      exponential backoff from ``outbox_retry_after`` (doubling, at most one hour), and after
      the last attempt the message is kept as failed for staff to see (R29).
    * ``sweep_batch``: how many timers or messages a sweep claims per transaction.
    * ``contact_policy`` (R27): what a message carrying contact details gets; default
      ``ContactPolicy.REDACT_AND_FLAG``. ``message_max_length``: longest message text.
    * ``money`` (R15-R25, R39, R41): fees, hold period (default 168 hours), payout minimum
      and quantum, rate provider; ``None`` means ``MoneyConfig()`` (no fees, ECB rates).
    """

    auto_confirm_after: _dt.timedelta | None = attrs.field(default=None)
    outbox_max_attempts: int = 8
    outbox_retry_after: _dt.timedelta = _dt.timedelta(seconds=30)
    outbox_lease: _dt.timedelta = _dt.timedelta(minutes=5)
    sweep_batch: int = 200
    contact_policy: ContactPolicy = ContactPolicy.REDACT_AND_FLAG
    message_max_length: int = 4000
    money: MoneyConfig | None = None

    def __attrs_post_init__(self) -> None:
        _positive_delta(self.auto_confirm_after, "auto_confirm_after")
        _positive_delta(self.outbox_retry_after, "outbox_retry_after")
        if self.outbox_max_attempts < 1 or self.sweep_batch < 1:
            raise InvalidInputError("attempts and batch sizes must be at least 1", field="config")
        if not isinstance(self.contact_policy, ContactPolicy):
            raise InvalidInputError(
                "contact_policy must be a ContactPolicy", field="contact_policy"
            )
        if self.message_max_length < 1:
            raise InvalidInputError(
                "message_max_length must be at least 1", field="message_max_length"
            )
