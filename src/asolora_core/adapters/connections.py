"""Connections opened per thread by the SQL stores, closed when their thread ends."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["ClosedWithThread"]


class ClosedWithThread:
    """Kept in a store's thread-local storage beside that thread's connection. When the
    thread ends, Python frees its thread-local values and this closes the connection and
    removes it from the store's list of open connections (``conns``, guarded by ``lock``).

    Without it a server that starts and stops threads (a thread per request; anyio's worker
    threads end after ten idle seconds) would keep one open connection per thread it ever
    ran: open files on SQLite, the server's ``max_connections`` on PostgreSQL."""

    __slots__ = ("_conn", "_conns", "_lock")

    def __init__(self, conn: Any, conns: list[Any], lock: threading.RLock) -> None:
        self._conn = conn
        self._conns = conns
        self._lock = lock

    def __del__(self) -> None:
        conn = self._conn
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        # (no contextlib here: this may run while the interpreter shuts down)
        try:  # noqa: SIM105
            conn.close()
        except Exception:  # a connection that cannot close is gone anyway
            pass
