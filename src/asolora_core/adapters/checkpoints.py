"""Checkpoint sinks: where journal checkpoints go (R42), outside the database.

* :class:`RecordingCheckpointSink` keeps them in a list (tests, or to forward yourself).
* :class:`FileCheckpointSink` appends one JSON line per checkpoint to a file; put it on
  another machine's disk, a write-once mount or a log shipper's input, never next to the
  database (an intruder who can rewrite the database must not be able to rewrite it).
"""

from __future__ import annotations

import datetime as _dt
import json
import os

from asolora_core.ledger.integrity import Checkpoint

__all__ = ["FileCheckpointSink", "RecordingCheckpointSink"]


class RecordingCheckpointSink:
    """Keeps every published checkpoint in ``published``, oldest first."""

    def __init__(self) -> None:
        self.published: list[Checkpoint] = []

    def publish(self, checkpoint: Checkpoint) -> None:
        self.published.append(checkpoint)

    @property
    def latest(self) -> Checkpoint | None:
        return self.published[-1] if self.published else None


class FileCheckpointSink:
    """Appends each checkpoint to ``path`` as a JSON line (flushed and fsynced);
    :meth:`latest` reads the last one back."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def publish(self, checkpoint: Checkpoint) -> None:
        line = json.dumps(
            {
                "seq": checkpoint.seq,
                "head": checkpoint.head,
                "at": checkpoint.at.isoformat(),
                "signature": checkpoint.signature,
            }
        )
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def latest(self) -> Checkpoint | None:
        try:
            with open(self.path, encoding="utf-8") as f:
                lines = [line for line in f if line.strip()]
        except FileNotFoundError:
            return None
        if not lines:
            return None
        data = json.loads(lines[-1])
        return Checkpoint(
            seq=int(data["seq"]),
            head=str(data["head"]),
            at=_dt.datetime.fromisoformat(data["at"]),
            signature=str(data["signature"]),
        )
