"""``keyz status``: what the sidecars and local state say. No network, no gpg."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from keyz import sidecar as sc
from keyz.config import Config
from keyz.fields import utc_now
from keyz.health import Problem, Tone, health, is_stale, max_age_of, read_sidecar, tone
from keyz.money import format_amount
from keyz.state import EntryState, load_state
from keyz.store import PassStore


@dataclass
class StatusRow:
    entry: str
    provider: str
    sidecar: sc.Sidecar | None
    state: EntryState
    problems: list[Problem]  # keyz check's own verdict on these figures (keyz.health)

    @property
    def problem(self) -> str | None:
        """Why the figures may not be current: the most telling problem, as the "!" mark."""
        return self.problems[0].mark if self.problems else None

    @property
    def stale(self) -> bool:
        """There are figures, and they are too old or their last sync failed."""
        return is_stale(self.sidecar, self.problems)

    @property
    def tone(self) -> Tone | None:
        return tone(self.problems)

    def spendable(self) -> list[dict[str, object]]:
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

    def to_json(self) -> dict[str, object]:
        state = self.state.model_dump(mode="json")
        return {
            "entry": self.entry,
            "provider": self.provider,
            "spendable": self.spendable(),
            "observed_at": sc.format_time(self.sidecar.observed_at) if self.sidecar else None,
            "stale": self.stale,
            "problem": self.problem,
            "last_checked": state["last_checked"],
            "last_success": state["last_success"],
            "last_error": state["last_error"],
            "sidecar": sc.json_ready(self.sidecar) if self.sidecar else None,
        }


def collect_status(
    store: PassStore,
    config: Config,
    now: datetime | None = None,
    only: Collection[str] | None = None,
) -> list[StatusRow]:
    """A row per tracked entry (only those in ``only`` when given), sorted by name."""
    now = now or utc_now()
    max_age = max_age_of(config)
    states = load_state(store.keyz_dir)
    rows = []
    for name in sorted(config.entries):
        if only is not None and name not in only:
            continue
        state = states.get(name, EntryState())
        read = read_sidecar(store.keyz_dir, name)
        problems = health(name, read, state, now, max_age)
        current = read if isinstance(read, sc.Sidecar) else None
        rows.append(StatusRow(name, config.entries[name].provider, current, state, problems))
    return rows


__all__ = ["StatusRow", "collect_status"]
