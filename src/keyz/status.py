"""``keyz status``: what the sidecars and local state say. No network, no gpg."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from keyz import sidecar as sc
from keyz.config import Config
from keyz.errors import KeyzError
from keyz.state import EntryState, load_state
from keyz.store import PassStore

STALE_AFTER: Final = timedelta(days=2)  # a sidecar not refreshed for this long is marked stale


@dataclass
class StatusRow:
    entry: str
    provider: str
    sidecar: sc.Sidecar | None
    state: EntryState
    problem: str | None  # why the figures may not be current

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "provider": self.provider,
            "sidecar": sc.json_ready(self.sidecar) if self.sidecar else None,
            "last_checked": self.state.last_checked,
            "last_success": self.state.last_success,
            "last_error": self.state.last_error,
            "problem": self.problem,
        }


def collect_status(
    store: PassStore, config: Config, now: datetime | None = None
) -> list[StatusRow]:
    now = now or datetime.now(UTC)
    states = load_state(store.keyz_dir)
    rows = []
    for name in sorted(config.entries):
        entry = config.entries[name]
        state = states.get(name, EntryState())
        problem: str | None = None
        try:
            current = sc.read(sc.sidecar_path(store.keyz_dir, name))
        except KeyzError as exc:
            current, problem = None, str(exc)
        if problem is None:
            if state.last_error:
                problem = f"last sync failed: {state.last_error}"
            elif current is None:
                problem = "never synced; run keyz sync"
            elif now - _last_seen(current, state) > STALE_AFTER:
                problem = "stale: not checked for over 2 days"
        rows.append(StatusRow(name, entry.provider, current, state, problem))
    return rows


def _last_seen(current: sc.Sidecar, state: EntryState) -> datetime:
    if state.last_success:
        return sc.parse_time(state.last_success)
    return current.observed_at  # synced on another machine: the sidecar's own time is what we know


__all__ = ["STALE_AFTER", "StatusRow", "collect_status"]
