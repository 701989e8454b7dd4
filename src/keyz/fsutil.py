"""Files under ``.keyz/``: atomic, durable writes (see :func:`atomic_write`), and no way out.

``.keyz/`` travels with the store's git repository, and git carries symlinks, FIFOs
are one ``mkfifo`` away: nothing under it is trusted to be what its name says.
Every path keyz reads, writes or deletes there goes through :func:`safe_path`
(no symlink from ``.keyz`` itself down), every read through :func:`read_capped`
(a regular file of bounded size, opened without following or blocking).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Final

from keyz.errors import KeyzError

# What atomic_write leaves when killed: ".<target>.<8 of mkstemp's [a-z0-9_]>.tmp", for a
# target keyz writes under .keyz/ (sidecars and state *.json, config.toml, the init files).
_TEMP_NAME: Final = re.compile(
    r"\.(?:.+\.json|config\.toml|\.gitignore|\.gitattributes|README\.md)\.[a-z0-9_]{8}\.tmp"
)
STALE_TEMP_AGE: Final = 60.0  # seconds: a younger temp file may be another keyz's write in flight


def safe_path(keyz_dir: Path, path: Path, error: type[KeyzError] = KeyzError) -> Path:
    """``path`` (under ``keyz_dir``), once no part of it from ``keyz_dir`` down is a symlink.

    What does not exist yet is fine: keyz creates it as a real file or directory.
    """
    current = os.fspath(keyz_dir)  # strings: pathlib's joins were most of its cost
    for part in ("", *path.relative_to(keyz_dir).parts):
        current = os.path.join(current, part) if part else current
        try:
            mode = os.lstat(current).st_mode
        except OSError:  # missing, or not a directory: nothing below exists to follow
            break  # (and the open or write that follows reports any other problem)
        if stat.S_ISLNK(mode):
            raise error(not_followed(Path(current)))
    return path


def not_followed(path: Path) -> str:
    """The one message for a symlink under ``.keyz/``."""
    return (
        f"{path} is a symlink, keyz will not follow it (nothing under .keyz/ may lead "
        "elsewhere); replace it with the real file or directory"
    )


def read_capped(path: Path, limit: int, error: type[KeyzError] = KeyzError) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them; FileNotFoundError if none.

    Opened with O_NOFOLLOW and O_NONBLOCK, so that a symlink, a FIFO or a device is
    refused at once instead of followed, waited on or read forever.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        if exc.errno == errno.ELOOP:
            raise error(not_followed(path)) from None
        raise error(cannot_read(path, exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(
                f"{path} is not a regular file (a directory, FIFO or device), keyz will not "
                "read it; put the real file there, or remove it"
            )
        if info.st_size > limit:
            raise error(_too_large(path, limit))
        chunks, size = [], 0
        while chunk := os.read(fd, min(limit + 1 - size, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while we read
                raise error(_too_large(path, limit))
        return b"".join(chunks)
    except OSError as exc:
        raise error(cannot_read(path, exc)) from None
    finally:
        os.close(fd)


def cannot_read(path: Path, exc: OSError) -> str:
    """'cannot read PATH: Permission denied; check ...': what went wrong, and where to look."""
    denied = exc.errno in (errno.EACCES, errno.EPERM)
    fix = "; check the owner and permissions of it and its folders (ls -ld)" if denied else ""
    return f"cannot read {path}: {exc.strerror}{fix}"


def _too_large(path: Path, limit: int) -> str:
    return f"{path} is larger than {limit} bytes, far more than keyz writes; is it the right file?"


def remove(keyz_dir: Path, path: Path) -> bool:
    """Delete ``path`` under ``keyz_dir`` (never through a symlink); False if it was not there."""
    try:
        safe_path(keyz_dir, path).unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise KeyzError(f"cannot remove {path}: {exc.strerror}") from None
    return True


def clean_stale_temp_files(keyz_dir: Path, now: float | None = None) -> list[Path]:
    """Remove what killed writes left under ``keyz_dir``: keyz's own temp names, and only old ones.

    Called with the store's lock held; the age rule spares writes by keyz commands that
    take no lock (track, check). Symlinked directories are not entered.
    """
    now = time.time() if now is None else now
    removed = []
    safe_path(keyz_dir, keyz_dir)
    for dirpath, _dirnames, filenames in os.walk(keyz_dir):  # never follows symlinks
        for name in filenames:
            path = Path(dirpath, name)
            if not _TEMP_NAME.fullmatch(name):
                continue
            with contextlib.suppress(OSError):
                info = os.lstat(path)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TEMP_AGE:
                    path.unlink()
                    removed.append(path)
    return removed


def atomic_write(path: Path, data: bytes, error: type[KeyzError] = KeyzError) -> None:
    """Write ``data`` to ``path`` so readers see the old bytes or the new, never a mix.

    Temp file in the same directory (same filesystem, so the rename is atomic),
    fsync it, ``os.replace``, then fsync the directory so the rename survives a
    crash. The temp name starts with a dot and ends in ``.tmp``: keyz never
    stages such a name. Under ``.keyz/``, ``path`` comes from :func:`safe_path`.
    """
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise error(
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
        raise error(
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


__all__ = [
    "STALE_TEMP_AGE",
    "atomic_write",
    "clean_stale_temp_files",
    "fsync_directory",
    "not_followed",
    "read_capped",
    "remove",
    "safe_path",
]
