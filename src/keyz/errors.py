"""The one exception tree of keyz. Every message says what to do next.

                                    kind         exit code
    KeyzError                       other        1 unless a subclass says otherwise
    ├── UsageError                  usage        2: bad arguments, names or options
    │   └── ConfigError             config       2: config.toml unreadable or invalid
    ├── BusyError                   busy         75: another keyz, or git's index.lock
    ├── Interrupted                 interrupted  130: Ctrl-C (SIGINT), as a shell reports it
    ├── InternalError               internal     a bug in keyz, reported for one entry
    ├── StoreError                  store        the pass store, its files, or gpg
    │   └── DecryptError            gpg          one entry could not be read or decrypted
    ├── ProviderError               provider     the provider answered with an error
    │   ├── AuthError               auth         the provider refused the key (wrong kind?)
    │   ├── NetworkError            network      no answer: connection, TLS, proxy, deadline
    │   └── ParseError              parse        an answer keyz cannot use
    ├── SidecarError                sidecar      a sidecar is corrupt, from a newer keyz, unwritable
    ├── NotifyError                 notify       a notification channel refused or did not answer
    └── GitError                    git          a git operation failed
        └── GitSkipped              git          the commit was skipped on purpose (merge, ...)

The command line turns these into messages and exit codes in one place (cli.py); ``kind`` is
what ``--json`` reports (``keyz sync --json``: ``error_kind``), a promise to scripts: the
values are :class:`ErrorKind`'s and only ever grow.
"""

from __future__ import annotations

import enum
import signal
import threading
from typing import ClassVar, Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_BUSY: Final = 75  # EX_TEMPFAIL from sysexits.h: try again later
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class ErrorKind(enum.StrEnum):
    """What went wrong, in one word a script can branch on (``--json``'s ``error_kind``)."""

    AUTH = "auth"  # the provider refused the key: fix the key or its kind
    NETWORK = "network"  # no answer in time, or none at all: try again later
    PROVIDER = "provider"  # the provider answered with an error (HTTP 4xx/5xx, a CDN page)
    PARSE = "parse"  # the provider answered, but not with figures keyz can use
    CONFIG = "config"  # config.toml, or the entry's own options or base_url: fix them
    GPG = "gpg"  # the pass entry is missing or could not be decrypted
    SIDECAR = "sidecar"  # the entry's sidecar is corrupt, from a newer keyz, or unwritable
    GIT = "git"  # git failed, or keyz skipped the commit (a merge in progress)
    BUSY = "busy"  # another keyz, or another git, holds the lock: try again later
    INTERNAL = "internal"  # a bug in keyz: please report it
    USAGE = "usage"  # the command line is wrong
    STORE = "store"  # the pass store or keyz's files in it cannot be used
    INTERRUPTED = "interrupted"  # Ctrl-C
    NOTIFY = "notify"  # a notification could not be delivered: it is retried next run
    OTHER = "other"  # anything else (cron, the pass extension)


class KeyzError(Exception):
    """Base of every error keyz reports to the user."""

    exit_code: ClassVar[int] = EXIT_FAILED
    kind: ClassVar[ErrorKind] = ErrorKind.OTHER


class UsageError(KeyzError):
    """The command line or a name given on it is wrong."""

    exit_code = EXIT_USAGE
    kind = ErrorKind.USAGE


class ConfigError(UsageError):
    """.keyz/config.toml cannot be read or is invalid."""

    kind = ErrorKind.CONFIG


class BusyError(KeyzError):
    """Something else holds a lock keyz needs; try again later."""

    exit_code = EXIT_BUSY
    kind = ErrorKind.BUSY


class Interrupted(KeyzError):
    """The user pressed Ctrl-C; the message says what was done before."""

    exit_code = EXIT_INTERRUPTED
    kind = ErrorKind.INTERRUPTED


class InternalError(KeyzError):
    """A bug in keyz, caught so that it fails one entry only; named by type, never by value."""

    kind = ErrorKind.INTERNAL


class StoreError(KeyzError):
    """The pass store cannot be used as asked."""

    kind = ErrorKind.STORE


class DecryptError(StoreError):
    """One pass entry could not be read or decrypted (missing, gpg failed or is missing)."""

    kind = ErrorKind.GPG


class ProviderError(KeyzError):
    """A provider call failed: the provider answered with an error."""

    kind: ClassVar[ErrorKind] = ErrorKind.PROVIDER

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the provider answered one
        # where it happened ('deepseek balance'): set once, where the provider is called
        # (Provider.report), as httpx attaches the request to its errors
        self.context: str | None = None

    def __str__(self) -> str:
        said = super().__str__()
        return f"{self.context}: {said}" if self.context else said


class AuthError(ProviderError):
    """The provider rejected the key, or the key is of the wrong kind."""

    kind = ErrorKind.AUTH


class NetworkError(ProviderError):
    """No answer: the connection, TLS, a proxy or a deadline failed; nothing to read."""

    kind = ErrorKind.NETWORK


class ParseError(ProviderError):
    """The provider answered, but not with anything keyz can turn into figures."""

    kind = ErrorKind.PARSE


class SidecarError(KeyzError):
    """A sidecar file is unreadable, corrupt, or written by a newer keyz."""

    kind = ErrorKind.SIDECAR


class NotifyError(KeyzError):
    """A notification was not delivered (bad URL, refused, no answer); never names the URL."""

    kind = ErrorKind.NOTIFY


class GitError(KeyzError):
    """A git operation failed."""

    kind = ErrorKind.GIT


class GitSkipped(GitError):
    """keyz deliberately did not commit (e.g. a merge is in progress)."""


def deaf_to_ctrl_c() -> None:
    """Block SIGINT in the calling thread (a thread pool's initializer): see below."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def start_deaf_to_ctrl_c(thread: threading.Thread) -> None:
    """Start ``thread`` with SIGINT blocked in it (and in the threads it starts).

    The kernel gives a process's signal to any thread that does not block it; a Ctrl-C
    taken by a helper thread left the main thread asleep in a wait (up to the wait's end:
    ``keyz demo --serve`` for a minute, a sync until its hung provider answered). Python
    runs the handler in the main thread only, so only the main thread should receive it.
    """
    if threading.current_thread() is not threading.main_thread():
        thread.start()  # this thread already blocks it, or is not keyz's to change
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def is_ctrl_c(exc: BaseException | None) -> bool:
    """Whether ``exc`` is a Ctrl-C, or what Python or a library made of one: a
    KeyboardInterrupt inside a class body's ``__set_name__`` comes out (Python 3.11) as the
    RuntimeError it caused, one inside an ``except`` block as the context of what that block
    raised, one in a task as a member of an exception group."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        one = todo.pop()
        if one is None or id(one) in seen:
            continue
        if isinstance(one, KeyboardInterrupt):
            return True
        seen.add(id(one))
        todo += [one.__cause__, one.__context__]
        if isinstance(one, BaseExceptionGroup):
            todo += one.exceptions
    return False


__all__ = [
    "EXIT_BUSY",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AuthError",
    "BusyError",
    "ConfigError",
    "DecryptError",
    "ErrorKind",
    "GitError",
    "GitSkipped",
    "InternalError",
    "Interrupted",
    "KeyzError",
    "NetworkError",
    "NotifyError",
    "ParseError",
    "ProviderError",
    "SidecarError",
    "StoreError",
    "UsageError",
    "is_ctrl_c",
    "start_deaf_to_ctrl_c",
]
