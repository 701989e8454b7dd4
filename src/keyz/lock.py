"""One keyz at a time per store: an flock that dies with its process (never stale)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keyz.errors import BusyError

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(
        path, os.O_RDWR | os.O_CREAT, 0o600
    )  # not inheritable (PEP 446): gpg/git never hold it
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
