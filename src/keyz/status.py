"""``keyz status``: what the sidecars and local state say. No network, no gpg."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from keyz import sidecar as sc
from keyz.config import Config
from keyz.errors import KeyzError
from keyz.fields import utc_now
from keyz.money import format_amount
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
    stale: bool = False  # figures older than STALE_AFTER, or the last check failed

    def spendable(self) -> list[dict[str, Any]]:
        """What can be spent, per currency or unit, and whether keyz derived it."""
        if self.sidecar is None:
            return []
        return [
            {
                "unit": b.currency,
                "unit_kind": b.unit_kind,
                "amount": None if b.remaining is None else format_amount(b.remaining),
                "derived": "remaining" in b.derived,
            }
            for b in self.sidecar.balances
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "provider": self.provider,
            "spendable": self.spendable(),
            "observed_at": sc.format_time(self.sidecar.observed_at) if self.sidecar else None,
            "stale": self.stale,
            "problem": self.problem,
            "last_checked": self.state.last_checked,
            "last_success": self.state.last_success,
            "last_error": self.state.last_error,
            "sidecar": sc.json_ready(self.sidecar) if self.sidecar else None,
        }


def collect_status(
    store: PassStore, config: Config, now: datetime | None = None
) -> list[StatusRow]:
    now = now or utc_now()
    states = load_state(store.keyz_dir)
    rows = []
    for name in sorted(config.entries):
        entry = config.entries[name]
        state = states.get(name, EntryState())
        problem: str | None = None
        stale = False
        try:
            current = sc.read_entry(store.keyz_dir, name)
        except KeyzError as exc:
            current, problem = None, str(exc)
        if problem is None:
            if state.last_error:
                problem, stale = f"last sync failed: {state.last_error}", current is not None
            elif current is None:
                problem = "never synced; run keyz sync"
            elif now - last_seen(current, state) > STALE_AFTER:
                problem, stale = "stale: not checked for over 2 days", True
        rows.append(StatusRow(name, entry.provider, current, state, problem, stale))
    return rows


def last_seen(current: sc.Sidecar, state: EntryState) -> datetime:
    """When these figures were last confirmed: the last successful check here, else the file's."""
    if state.last_success:
        return sc.parse_time(state.last_success)
    return current.observed_at  # synced on another machine: the sidecar's own time is what we know


__all__ = ["STALE_AFTER", "StatusRow", "collect_status", "last_seen"]
