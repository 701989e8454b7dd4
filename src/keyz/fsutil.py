"""Atomic, durable file writes (reliability.md §4.1)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from keyz.errors import KeyzError


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old bytes or the new, never a mix.

    Temp file in the same directory (same filesystem, so the rename is atomic),
    fsync it, ``os.replace``, then fsync the directory so the rename survives a
    crash. The temp name starts with a dot and ends in ``.tmp``: keyz never
    stages such a name.
    """
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise KeyzError(
            f"cannot write in {directory}: {exc.strerror}; check its permissions and free space"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise KeyzError(
            f"cannot write {path}: {exc.strerror}; the previous file is unchanged"
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


__all__ = ["atomic_write", "fsync_directory"]
