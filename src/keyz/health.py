"""Whether an entry's figures can be trusted: one verdict for ``keyz status`` and ``keyz check``.

:func:`health` says what is wrong with one tracked entry's figures (unreadable, last
sync failed, never synced, stale beyond ``max_age``). ``status`` marks the entry
with ``!`` and a colour from it, ``check`` says it as alerts, so the two cannot
disagree. Thresholds (below, quota, runway) are check's own, on top of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from keyz import sidecar as sc
from keyz.alerts import format_duration
from keyz.errors import KeyzError
from keyz.money import format_amount
from keyz.render import age

if TYPE_CHECKING:
    from keyz.config import Config
    from keyz.state import EntryState

DEFAULT_MAX_AGE: Final = timedelta(days=2)  # [defaults] max_age when config.toml sets none
Tone = Literal["warn", "bad"]


class Kind(StrEnum):
    UNREADABLE = "unreadable"  # the sidecar cannot be read
    FAILED = "failed"  # the last sync of this entry failed
    NEVER = "never"  # tracked, never synced
    STALE = "stale"  # not checked for longer than max_age
    BELOW = "below"  # a balance or key limit below its threshold (check)
    BELOW_PERCENT = "below_percent"  # a quota window below its threshold (check)
    RUNWAY = "runway"  # money runs out sooner than alert_runway_days (check)
    SPEND = "spend"  # a month's spend reached 80 % or 100 % of alert_spend_above (check)

    @property
    def tone(self) -> Tone:
        """Yellow for figures that may be out of date, red for the rest."""
        return "warn" if self in (Kind.STALE, Kind.NEVER) else "bad"


@dataclass
class Problem:
    entry: str
    kind: Kind
    message: str  # one line, names the entry, the figure and the threshold
    key: str = ""  # what identifies this alert within the entry, e.g. "below:USD"; else kind
    value: Decimal | None = None  # the figure, to notice a top-up
    new: bool = True  # not said before (or said again after a top-up)
    derived: bool = False  # the figure is keyz's own sum (marked DERIVED_MARK in the message)
    mark: str = ""  # what status shows after "!"; else the message without the entry
    resets_at: datetime | None = None  # a quota window's reset: a later one is a new window

    def __post_init__(self) -> None:
        self.key = self.key or self.kind.value
        self.mark = self.mark or self.message.removeprefix(f"{self.entry}: ")

    def to_json(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "kind": self.kind.value,
            "message": self.message,
            "value": None if self.value is None else format_amount(self.value),
            "new": self.new,
            "derived": self.derived,
        }


Read = sc.Sidecar | KeyzError | None  # what reading a sidecar gave: figures, why not, none yet


def read_sidecar(keyz_dir: Path, entry: str) -> Read:
    """The entry's sidecar, None before its first sync, or the error that stops reading it."""
    try:
        return sc.read_entry(keyz_dir, entry)
    except KeyzError as exc:  # that entry's problem, never the others'
        return exc


def max_age_of(config: Config, given: timedelta | None = None) -> timedelta:
    """--max-age, else [defaults] max_age, else DEFAULT_MAX_AGE."""
    return given or config.max_age or DEFAULT_MAX_AGE


def health(
    entry: str, sidecar: Read, state: EntryState, now: datetime, max_age: timedelta
) -> list[Problem]:
    """What is wrong with ``entry``'s figures, the most telling first (status shows that one)."""
    if isinstance(sidecar, KeyzError):
        return [Problem(entry, Kind.UNREADABLE, f"{entry}: {sidecar}")]
    problems = []
    if state.last_error:
        problems.append(
            Problem(entry, Kind.FAILED, f"{entry}: last sync failed: {state.last_error}")
        )
    if sidecar is None:
        if not state.last_error:
            problems.append(Problem(entry, Kind.NEVER, f"{entry}: never synced; run keyz sync"))
        return problems
    seen = last_seen(sidecar, state)
    if now - seen > max_age:
        problems.append(
            Problem(
                entry,
                Kind.STALE,
                f"{entry}: figures are from {age(seen, now)}, older than max_age "
                f"{format_duration(max_age)}",
                mark=f"stale: not checked for over {_spelled(max_age)}",
            )
        )
    return problems


def is_stale(sidecar: Read, problems: list[Problem]) -> bool:
    """There are figures, and they may be out of date: too old, or the last sync failed."""
    return isinstance(sidecar, sc.Sidecar) and any(
        p.kind in (Kind.FAILED, Kind.STALE) for p in problems
    )


def tone(problems: list[Problem]) -> Tone | None:
    """The colour of the worst problem: red over yellow; None when there is none."""
    tones = {p.kind.tone for p in problems}
    return "bad" if "bad" in tones else "warn" if tones else None


def last_seen(current: sc.Sidecar, state: EntryState) -> datetime:
    """When these figures were last confirmed: the last successful check here, else the file's."""
    # synced on another machine only: the sidecar's own time is what we know
    return state.last_success or current.observed_at


_WORDS: Final = {"m": "minute", "h": "hour", "d": "day", "w": "week"}


def _spelled(duration: timedelta) -> str:
    """'2 days', '1 week', '90 minutes': format_duration in words."""
    short = format_duration(duration)
    count = int(short[:-1])
    return f"{count} {_WORDS[short[-1]]}{'s' * (count != 1)}"


__all__ = [
    "DEFAULT_MAX_AGE",
    "Kind",
    "Problem",
    "Read",
    "health",
    "is_stale",
    "last_seen",
    "max_age_of",
    "read_sidecar",
    "tone",
]
