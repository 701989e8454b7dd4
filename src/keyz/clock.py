"""keyz's one clock: UTC to the second, chosen once by whoever starts keyz.

The core asks :func:`utc_now` and never reads the environment for the time. The
command line sets the clock at start-up: :func:`frozen_at` the time in ``KEYZ_NOW``
when that is set (``keyz demo`` shows days of history in a minute with it; tests age
figures with it), else the system's. A test running keyz in-process may call
:func:`set_clock` itself. Not meant for real stores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from keyz.errors import UsageError

Clock = Callable[[], datetime]
_SECONDS: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def system_clock() -> datetime:
    """The machine's time, UTC, to the second (what sidecars store)."""
    return datetime.now(UTC).replace(microsecond=0)


_clock: Clock = system_clock


def set_clock(clock: Clock | None) -> None:
    """Use ``clock`` from now on; None goes back to the system's."""
    global _clock  # one process, one clock: set at start-up, read everywhere
    _clock = clock or system_clock


def utc_now() -> datetime:
    """Now, by the clock keyz was started with."""
    return _clock()


def frozen_at(text: str, name: str) -> Clock:
    """A clock that always says ``text`` (``2026-11-20T09:00:00Z``); UsageError naming ``name``
    (where the text came from) if it is not such a time."""
    if not _SECONDS.fullmatch(text):
        raise UsageError(f"{name}={text!r} is not a UTC time like 2026-11-20T09:00:00Z")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:  # the right shape, not a date (2026-02-30)
        raise UsageError(f"{name}={text!r} is not a UTC time like 2026-11-20T09:00:00Z") from None
    return lambda: when


__all__ = ["Clock", "frozen_at", "set_clock", "system_clock", "utc_now"]
