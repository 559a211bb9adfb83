"""What the SQL stores share of reading their rows: an idempotency record's JSON body, as a
PostgreSQL row keeps it and an older SQLite row kept it whole."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from asolora_core import _codec
from asolora_core.ports import IdempotencyRecord

__all__ = ["idempotency_record"]


def idempotency_record(scope: str, key: str, data: Any) -> IdempotencyRecord:
    """The idempotency record of ``scope`` and ``key`` whose JSON body is ``data``."""
    return IdempotencyRecord(
        scope=scope,
        key=key,
        command=data["command"],
        request=bytes.fromhex(data.get("request", "")),
        arguments=data.get("arguments", {}),
        result=_codec.load_any(data.get("result")),
        error=data.get("error"),
        at=_dt.datetime.fromisoformat(data["at"]),
    )
