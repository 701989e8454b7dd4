"""The one exception tree of keyz. Every message says what to do next.

    KeyzError                       exit 1 unless a subclass says otherwise
    ├── UsageError                  exit 2: bad arguments, names or options
    │   └── ConfigError             exit 2: config.toml unreadable or invalid
    ├── BusyError                   exit 75: another keyz, or git's index.lock
    ├── Interrupted                 exit 130: Ctrl-C (SIGINT), as a shell reports it
    ├── StoreError                  the pass store or gpg
    │   └── DecryptError            one entry could not be decrypted
    ├── ProviderError               a provider call failed or answered nonsense
    │   └── AuthError               the provider refused the key (wrong kind?)
    ├── SidecarError                a sidecar is corrupt or from a newer keyz
    └── GitError                    a git operation failed
        └── GitSkipped              the commit was skipped on purpose (merge in progress, ...)

The command line turns these into messages and exit codes in one place (cli.py).
"""

from __future__ import annotations

from typing import ClassVar, Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_BUSY: Final = 75  # EX_TEMPFAIL from sysexits.h: try again later
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class KeyzError(Exception):
    """Base of every error keyz reports to the user."""

    exit_code: ClassVar[int] = EXIT_FAILED


class UsageError(KeyzError):
    """The command line or a name given on it is wrong."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """.keyz/config.toml cannot be read or is invalid."""


class BusyError(KeyzError):
    """Something else holds a lock keyz needs; try again later."""

    exit_code = EXIT_BUSY


class Interrupted(KeyzError):
    """The user pressed Ctrl-C; the message says what was done before."""

    exit_code = EXIT_INTERRUPTED


class StoreError(KeyzError):
    """The pass store cannot be used as asked."""


class DecryptError(StoreError):
    """One pass entry could not be decrypted."""


class ProviderError(KeyzError):
    """A provider call failed or its answer could not be understood."""

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


class SidecarError(KeyzError):
    """A sidecar file is unreadable, corrupt, or written by a newer keyz."""


class GitError(KeyzError):
    """A git operation failed."""


class GitSkipped(GitError):
    """keyz deliberately did not commit (e.g. a merge is in progress)."""


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
    "GitError",
    "GitSkipped",
    "Interrupted",
    "KeyzError",
    "ProviderError",
    "SidecarError",
    "StoreError",
    "UsageError",
]
