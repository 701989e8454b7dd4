"""One keyz at a time per store: an flock that dies with its process (never stale)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keyz.errors import BusyError, StoreError

DEFAULT_WAIT = 5.0  # seconds a second keyz waits before giving up with exit 75; env KEYZ_LOCK_WAIT


def lock_wait() -> float:
    raw = os.environ.get("KEYZ_LOCK_WAIT", "")
    try:
        return min(max(float(raw), 0.0), 3600.0) if raw else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


@contextmanager
def store_lock(path: Path, *, wait: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (kept outside the work tree) or raise BusyError."""
    wait = lock_wait() if wait is None else wait
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # not inheritable (PEP 446): gpg/git never hold it
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        # StoreError (exit 1), not a usage error: the command was right, the store cannot take
        # it; and not busy (75): waiting will not help
        raise StoreError(
            f"the store is not writable: cannot open the lock file {path} "
            f"({exc.strerror or type(exc).__name__}); keyz writes .keyz/ and .git/, so check "
            "their permissions, the owner, and that the file system is not read-only"
        ) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BusyError(
                        f"another keyz is working on this store (lock {path}); try again later"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


__all__ = ["DEFAULT_WAIT", "lock_wait", "store_lock"]
