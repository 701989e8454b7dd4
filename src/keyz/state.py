"""``.keyz/state/``: what this machine last did and said (never committed).

Two versioned JSON files, read capped and never through a symlink; either may be
deleted at any time, and keyz starts afresh:

``entries.json``, per entry: when it was last checked, when it last succeeded, the
last error (messages pass through the redactor before they are written), and how many
syncs in a row have failed.
    1  {"entries": {NAME: {"last_checked", "last_success", "last_error"}}}
    2  {"entries": {NAME: {"last_checked", "last_success", "last_error", "failures"}}}
       (from 1: failures is 1 where last_error is set, else 0)

``alerts.json``, per destination (terminal, unattended, a notification channel): which
alerts of ``keyz check`` were already said there and the figure when they were, and the
figures that destination last heard of (to tell it of a top-up or a window reset).
    1  {"alerts": {ENTRY: {KEY: {"value"}}}}                    (an unattended run's)
    2  {"destinations": {DESTINATION: {ENTRY: {KEY: {"value"}}}}}
    3  {"destinations": {DESTINATION: {"alerts": {ENTRY: {KEY: {"value", "resets_at"}}},
                                       "figures": {ENTRY: {KEY: {"value", "resets_at"}}}}}}
       (from 2: each destination's map becomes its "alerts", with no figures yet)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keyz.errors import StoreError
from keyz.fields import Money, UtcTime
from keyz.fsutil import atomic_write, read_capped, safe_path
from keyz.redact import redact

STATE_VERSION: Final = 2  # entries.json; 1 had no failures count
ALERTS_VERSION: Final = 3  # alerts.json; 1 had one "alerts" map, for every destination at once
MAX_STATE_BYTES: Final = 16 << 20  # files of this machine's own making: generous
UNATTENDED: Final = "unattended"  # cron, systemd, a pipe: where a version 1 alerts.json was said


class _File(BaseModel):
    # Unknown keys are ignored (as the loader before these models did): a later keyz may add one.
    model_config = ConfigDict(extra="ignore", frozen=True)


class EntryState(BaseModel):
    """One entry's last sync on this machine. Not frozen: sync fills it in as answers arrive."""

    model_config = ConfigDict(extra="ignore")

    last_checked: UtcTime | None = None
    last_success: UtcTime | None = None
    last_error: str | None = None  # redacted before it is written
    failures: int = Field(default=0, ge=0)  # syncs of this entry that failed in a row


class EntriesV1(_File):
    schema_version: Literal[1]
    entries: dict[str, EntryState] = Field(default_factory=dict)


class EntriesV2(_File):
    schema_version: Literal[2] = 2
    entries: dict[str, EntryState] = Field(default_factory=dict)


class Said(_File):
    value: Money | None = None  # the figure when it was said: a higher one is a top-up
    resets_at: UtcTime | None = None  # a quota window's reset then: a later one is a new window


SaidTo = dict[str, dict[str, Said]]  # entry -> alert key (or figure) -> what was said


class Told(_File):
    """What one destination was told: the alerts, and the figures it last heard of."""

    alerts: SaidTo = Field(default_factory=dict)
    figures: SaidTo = Field(default_factory=dict)


class AlertsV1(_File):
    schema_version: Literal[1]
    alerts: SaidTo


class AlertsV2(_File):
    schema_version: Literal[2]
    destinations: dict[str, SaidTo] = Field(default_factory=dict)


class AlertsV3(_File):
    schema_version: Literal[3] = 3
    destinations: dict[str, Told] = Field(default_factory=dict)


def state_file(keyz_dir: Path) -> Path:
    return safe_path(keyz_dir, keyz_dir / "state" / "entries.json", StoreError)


def alerts_file(keyz_dir: Path) -> Path:
    return safe_path(keyz_dir, keyz_dir / "state" / "alerts.json", StoreError)


def load_state(keyz_dir: Path) -> dict[str, EntryState]:
    path = state_file(keyz_dir)
    models: dict[int, type[_File]] = {1: EntriesV1, STATE_VERSION: EntriesV2}
    document = _load(path, models, "it only holds last check times and errors")
    if isinstance(document, EntriesV1):  # a failed entry had failed once, as far as it knew
        return {
            name: state.model_copy(update={"failures": 1 if state.last_error else 0})
            for name, state in document.entries.items()
        }
    return document.entries if isinstance(document, EntriesV2) else {}


def save_state(keyz_dir: Path, states: dict[str, EntryState]) -> None:
    entries = {
        name: state.model_copy(update={"last_error": redact(state.last_error)})
        if state.last_error
        else state
        for name, state in states.items()
    }
    text = _dumps(EntriesV2(entries=entries))
    atomic_write(state_file(keyz_dir), (redact(text) + "\n").encode())


def load_said(keyz_dir: Path) -> dict[str, Told]:
    """destination -> what was told there; a version 1 file was cron's, so it stays cron's."""
    path = alerts_file(keyz_dir)
    models: dict[int, type[_File]] = {1: AlertsV1, 2: AlertsV2, ALERTS_VERSION: AlertsV3}
    document = _load(path, models, "it only remembers which alerts were already said")
    if isinstance(document, AlertsV1):
        return {UNATTENDED: Told(alerts=document.alerts)}
    if isinstance(document, AlertsV2):
        return {name: Told(alerts=said) for name, said in document.destinations.items()}
    return dict(document.destinations) if isinstance(document, AlertsV3) else {}


def save_said(keyz_dir: Path, every: dict[str, Told]) -> None:
    atomic_write(alerts_file(keyz_dir), (_dumps(AlertsV3(destinations=every)) + "\n").encode())


def _load(path: Path, models: dict[int, type[_File]], holds: str) -> _File | None:
    """The document at ``path`` in its version's model; None when there is none yet."""
    try:
        data = read_capped(path, MAX_STATE_BYTES, StoreError)
    except FileNotFoundError:
        return None
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise StoreError(f"{path} is unreadable; delete it ({holds})") from None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if type(version) is int and version > max(models):  # type(): True is no version
        raise StoreError(
            f"{path} was written by a newer keyz; upgrade keyz, or delete it ({holds})"
        )
    try:
        if type(version) is int and version in models:
            return models[version].model_validate(raw)
    except ValidationError:
        pass
    raise StoreError(f"{path} has an unknown format; delete it ({holds})")


def _dumps(document: _File) -> str:
    return json.dumps(document.model_dump(mode="json"), indent=2, sort_keys=True)


__all__ = [
    "ALERTS_VERSION",
    "MAX_STATE_BYTES",
    "STATE_VERSION",
    "UNATTENDED",
    "EntryState",
    "Said",
    "SaidTo",
    "Told",
    "alerts_file",
    "load_said",
    "load_state",
    "save_said",
    "save_state",
    "state_file",
]
