"""``pass keyz ...``: a pass extension that runs this keyz on pass's own store.

pass sources ``<dir>/keyz.bash`` with the remaining arguments and ``$PREFIX`` set
to the store. Store extensions live in ``$PASSWORD_STORE_EXTENSIONS_DIR`` (default
``<store>/.extensions``) and run only with ``PASSWORD_STORE_ENABLE_EXTENSIONS=true``
and the executable bit; system ones live in pass's ``extensions`` directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from keyz.errors import KeyzError
from keyz.fsutil import atomic_write
from keyz.program import keyz_shell_command

SYSTEM_DIRS: Final = (
    "/usr/lib/password-store/extensions",
    "/usr/local/lib/password-store/extensions",
)


def script() -> str:
    command = keyz_shell_command()
    return f"""\
#!/usr/bin/env bash
# pass extension written by 'keyz install-pass-extension': pass keyz ARGS... runs keyz on
# this store. Remove this file to remove the extension.
exec {command} --store "$PREFIX" "$@"
"""


def target(store: Path, *, system: bool) -> Path:
    if system:
        for directory in SYSTEM_DIRS:
            if Path(directory).is_dir():
                return Path(directory) / "keyz.bash"
        raise KeyzError(
            "pass's system extensions directory was not found "
            f"({' or '.join(SYSTEM_DIRS)}); install into the store instead (without --system)"
        )
    configured = os.environ.get("PASSWORD_STORE_EXTENSIONS_DIR")
    return (Path(configured) if configured else store / ".extensions") / "keyz.bash"


def install(store: Path, *, system: bool = False) -> Path:
    path = target(store, system=system)
    atomic_write(path, script().encode())
    path.chmod(0o755)  # pass runs only executable extensions
    return path


__all__ = ["install", "script", "target"]
