"""``.keyz/state/``: what this machine last did (never committed).

``entries.json`` holds, per entry, when it was last checked, when it last
succeeded, and the last error. Messages pass through the redactor before they
are written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from keyz.errors import KeyzError
from keyz.fsutil import atomic_write, read_capped, safe_path
from keyz.redact import redact

STATE_VERSION: Final = 1
MAX_STATE_BYTES: Final = 16 << 20  # files of this machine's own making: generous


@dataclass
class EntryState:
    last_checked: str | None = None
    last_success: str | None = None
    last_error: str | None = None


def state_file(keyz_dir: Path) -> Path:
    return safe_path(keyz_dir, keyz_dir / "state" / "entries.json")


def load_state(keyz_dir: Path) -> dict[str, EntryState]:
    path = state_file(keyz_dir)
    try:
        raw = json.loads(read_capped(path, MAX_STATE_BYTES).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (UnicodeDecodeError, ValueError):
        raise KeyzError(
            f"{path} is unreadable; delete it (it only holds last check times and errors)"
        ) from None
    if not isinstance(raw, dict) or raw.get("schema_version") != STATE_VERSION:
        raise KeyzError(f"{path} has an unknown format; delete it (it only holds last check times)")
    entries = raw.get("entries", {})
    known = set(EntryState.__dataclass_fields__)
    return {
        name: EntryState(**{k: v for k, v in fields.items() if k in known})
        for name, fields in entries.items()
        if isinstance(fields, dict)
    }


def save_state(keyz_dir: Path, states: dict[str, EntryState]) -> None:
    entries: dict[str, Any] = {}
    for name, entry in sorted(states.items()):
        fields = asdict(entry)
        if fields["last_error"]:
            fields["last_error"] = redact(fields["last_error"])
        entries[name] = fields
    text = json.dumps(
        {"schema_version": STATE_VERSION, "entries": entries}, indent=2, sort_keys=True
    )
    atomic_write(state_file(keyz_dir), (redact(text) + "\n").encode())


__all__ = ["MAX_STATE_BYTES", "EntryState", "load_state", "save_state", "state_file"]
