"""This keyz, to be run again later: by cron, systemd, pass (as an extension) and git (as a
merge driver). One answer for all of them, so they never run different installs."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def keyz_command() -> list[str]:
    """This keyz by absolute path: the ``keyz`` script beside the running interpreter (the
    install that is running now, not the first ``keyz`` on PATH), else ``python -m keyz``.

    Absolute, because cron, systemd and git hooks run with a bare PATH.
    """
    binary = Path(sys.executable).with_name("keyz")
    return [str(binary)] if binary.is_file() else [sys.executable, "-m", "keyz"]


def keyz_shell_command(*args: str) -> str:
    """:func:`keyz_command` and ``args`` as one shell-quoted line."""
    return shlex.join([*keyz_command(), *args])


__all__ = ["keyz_command", "keyz_shell_command"]
