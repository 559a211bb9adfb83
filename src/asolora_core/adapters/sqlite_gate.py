"""Fair queueing of SQLite writers (R33): who gets the write lock next, and how long they wait.

SQLite lets one writer at a time into a database file. Its own busy handler makes a waiting
connection sleep 1, 2, 5, 10 ... up to 100 ms between attempts, so under load a writer that
has already waited keeps losing the lock to newcomers: p50 waits of a few milliseconds come
with p99 waits of seconds. :class:`WriteGate` puts an order on it:

* within a process, a FIFO ticket lock: threads get the write lock in the order they asked
  for it, and only the first in line contends for the file at all;
* across processes (POSIX, file databases), an advisory ``flock`` on a sidecar file
  ``<database>-writer``, polled every 0.1-1 ms instead of SQLite's 100 ms sleeps, so a process
  whose turn comes gets the file within a millisecond of its release.

``BEGIN IMMEDIATE`` then finds the SQLite lock free (unless a process that does not use this
gate, such as the ``sqlite3`` shell, writes), and its own busy timeout stays as the ceiling.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable

try:  # POSIX only; elsewhere the in-process queue alone orders writers
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["FifoLock", "WriteGate"]

#: Forks of this process so far, counted in each child: a gate opened before a fork opens its
#: own file in the child (checked per write without a ``getpid`` system call).
_forks = 0


def _count_fork() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_count_fork)


class FifoLock:
    """A lock granted in the order it was asked for (a ticket lock), not reentrant."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        turn.acquire()  # released by the holder handing the lock over to us

    def release(self) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().release()  # handed over: still held, by the next one
            else:
                self._held = False


class WriteGate:
    """The in-process FIFO queue plus the cross-process file lock (see the module)."""

    def __init__(self, path: str | None, timeout_s: float) -> None:
        self._fifo = FifoLock()
        self._timeout_s = timeout_s
        self._path = path
        self._fork = _forks
        self._fd: int | None = None
        if path is not None and fcntl is not None:
            self._fd = os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)

    def _reopen(self) -> int:
        # A forked child shares the parent's open file (and so its flock): open its own.
        assert self._path is not None
        self._fd = fd = os.open(self._path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
        self._fork = _forks
        return fd

    def acquire(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Wait for our turn; raise ``TimeoutError`` after the timeout (the lock not taken)."""
        self._fifo.acquire()
        fd = self._fd
        if fd is None:
            return
        if self._fork != _forks:
            fd = self._reopen()
        try:  # the common case: free at once (no clock read)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        deadline = clock() + self._timeout_s
        delay = 0.0001
        while True:
            time.sleep(delay)
            delay = min(delay * 2, 0.001)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if clock() >= deadline:
                    self._fifo.release()
                    raise TimeoutError("the database's write lock is busy") from None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._fifo.release()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
