"""Notifiers: where outbox messages go (R29).

* :class:`RecordingNotifier` keeps what it was sent (tests; can be told to fail).
* :class:`LoggingNotifier` writes each notification to a :mod:`logging` logger.
* :class:`CallableNotifier` adapts any ``fn(message_id, notification)`` (a webhook poster,
  an email sender, a task queue).

A notifier raises to say "not delivered"; the facade retries with backoff. Delivery is at
least once, so a notifier should use ``message_id`` to drop duplicates downstream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from asolora_core.events import Notification

__all__ = ["CallableNotifier", "LoggingNotifier", "RecordingNotifier"]


class RecordingNotifier:
    """Keeps ``(message_id, notification)`` pairs in ``sent``; ``fail_next`` makes the next
    sends raise (to test retries)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Notification]] = []
        self.fail_next = 0

    def send(self, message_id: str, notification: Notification) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("recording notifier told to fail")
        self.sent.append((message_id, notification))

    def kinds(self) -> list[str]:
        return [n.kind for _, n in self.sent]


class LoggingNotifier:
    """Logs each notification at INFO on ``logger`` (default ``asolora_core.notify``)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("asolora_core.notify")

    def send(self, message_id: str, notification: Notification) -> None:
        self.logger.info(
            "%s to %s about %s: %s",
            notification.kind,
            notification.recipient,
            notification.subject_id,
            notification.text,
            extra={"message_id": message_id},
        )


class CallableNotifier:
    """Adapts a plain function ``fn(message_id, notification)``."""

    def __init__(self, fn: Callable[[str, Notification], None]) -> None:
        self._fn = fn

    def send(self, message_id: str, notification: Notification) -> None:
        self._fn(message_id, notification)
