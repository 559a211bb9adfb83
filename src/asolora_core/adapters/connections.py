"""Connections opened per thread by the SQL stores: closed when their thread ends, and never
used by a process forked from the one that opened them."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Protocol

__all__ = ["ClosedWithThread", "renew_in_forked_children"]


class _Renewable(Protocol):
    def _forget_inherited(self) -> list[Any]: ...


#: Stores to renew in a forked child (see :func:`renew_in_forked_children`).
_STORES: weakref.WeakSet[Any] = weakref.WeakSet()
#: In a forked child, what its stores held of the parent's connections: kept referenced, so
#: that they are never closed (or finalised) here, which would end the parent's sessions.
_INHERITED: list[Any] = []


def renew_in_forked_children(store: _Renewable) -> None:
    """In a process forked from this one (a server's ``--preload``, a ``multiprocessing``
    worker), ``store`` drops the connections it inherited, without closing them (they are
    the parent's: SQLite forbids using one across ``fork``, and two processes on one
    PostgreSQL socket mix their messages), and opens its own as it goes."""
    _STORES.add(store)


def _after_fork_in_child() -> None:
    for store in list(_STORES):
        _INHERITED.append(store._forget_inherited())


if hasattr(os, "register_at_fork"):  # (not on Windows, which does not fork)
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ClosedWithThread:
    """Kept in a store's thread-local storage beside that thread's connection. When the
    thread ends, Python frees its thread-local values and this closes the connection and
    removes it from the store's list of open connections (``conns``, guarded by ``lock``).

    Without it a server that starts and stops threads (a thread per request; anyio's worker
    threads end after ten idle seconds) would keep one open connection per thread it ever
    ran: open files on SQLite, the server's ``max_connections`` on PostgreSQL."""

    __slots__ = ("_conn", "_conns", "_lock", "_pid")

    def __init__(self, conn: Any, conns: list[Any], lock: threading.RLock) -> None:
        self._conn = conn
        self._conns = conns
        self._lock = lock
        self._pid = os.getpid()

    def __del__(self) -> None:
        if os.getpid() != self._pid:
            return  # freed in a forked child: the connection is the parent's
        conn = self._conn
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        # (no contextlib here: this may run while the interpreter shuts down)
        try:  # noqa: SIM105
            conn.close()
        except Exception:  # a connection that cannot close is gone anyway
            pass
