"""``keyz check``: thresholds, failed and stale syncs, said once per crossing.

Reads sidecars and local state only (``--sync`` syncs first, in cli). Every
problem is one line naming the entry, the figure and the threshold. An alert is
said once per destination; it is said again after the figure went up (a top-up)
while still below, after it cleared and crossed again, or on every run with ``repeat``.
A destination is where the lines go: the terminal, or an unattended run (cron,
systemd, a pipe), so a look by hand never uses up what cron would have mailed.
A later notification channel is one more destination name. What was said is kept
in ``.keyz/state/alerts.json`` (local, never committed; see keyz.state).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from keyz import sidecar as sc
from keyz.alerts import Alerts, Threshold
from keyz.config import Config, EntryConfig
from keyz.errors import KeyzError
from keyz.fields import utc_now
from keyz.health import Kind, Problem, health, max_age_of, read_sidecar
from keyz.money import display_amount, format_amount
from keyz.render import DERIVED_MARK
from keyz.state import UNATTENDED, EntryState, Said, SaidTo, load_said, load_state, save_said
from keyz.store import PassStore

TERMINAL: Final = "terminal"  # a look by hand; UNATTENDED is cron, systemd, a pipe


def run_check(
    store: PassStore,
    config: Config,
    *,
    below: Sequence[Threshold] = (),
    below_percent: Decimal | None = None,
    max_age: timedelta | None = None,
    now: datetime | None = None,
    destination: str = UNATTENDED,
) -> list[Problem]:
    """Every problem of every tracked entry, each marked new or already said to ``destination``."""
    now = now or utc_now()
    limit = max_age_of(config, max_age)
    states = load_state(store.keyz_dir)
    problems: list[Problem] = []
    for name in sorted(config.entries):
        entry = config.entries[name]
        problems.extend(
            _entry_problems(
                store,
                config,
                entry,
                states.get(name, EntryState()),
                below,
                below_percent,
                limit,
                now,
            )
        )
    said = load_said(store.keyz_dir).get(destination, {})
    for problem in problems:
        before = said.get(problem.entry, {}).get(problem.key)
        if before is not None:  # said already: again only after a top-up
            problem.new = (
                problem.value is not None
                and before.value is not None
                and problem.value > before.value
            )
    return problems


def remember(store: PassStore, problems: Sequence[Problem], destination: str = UNATTENDED) -> None:
    """Keep what is wrong now, as said to ``destination`` (the others' records stay as they
    were); alerts that cleared are forgotten, so they speak when they return."""
    every = load_said(store.keyz_dir)
    said: SaidTo = {}
    for problem in problems:
        said.setdefault(problem.entry, {})[problem.key] = Said(value=problem.value)
    every[destination] = said
    save_said(store.keyz_dir, every)


def _entry_problems(
    store: PassStore,
    config: Config,
    entry: EntryConfig,
    state: EntryState,
    below: Sequence[Threshold],
    below_percent: Decimal | None,
    max_age: timedelta,
    now: datetime,
) -> list[Problem]:
    name = entry.name
    current = read_sidecar(store.keyz_dir, name)
    problems = health(name, current, state, now, max_age)  # what keyz status marks with "!"
    if not isinstance(current, sc.Sidecar):
        return problems
    alerts = config.alerts_for(entry)
    if below_percent is not None:  # ad hoc --below-percent wins
        alerts = Alerts(below_percent=below_percent).over(alerts)
    problems.extend(_below(name, current, alerts, below))
    problems.extend(_quotas(name, current, alerts))
    if alerts.runway_days is not None:
        problems.extend(_runway(store, name, alerts.runway_days))
    return problems


def _below(
    name: str, current: sc.Sidecar, alerts: Alerts, extra: Sequence[Threshold]
) -> list[Problem]:
    thresholds = {t.unit: t for t in alerts.below or ()}
    thresholds.update({t.unit: t for t in extra})  # ad hoc --below wins for its unit
    found = []
    for balance in current.balances:
        threshold = thresholds.get(balance.currency)
        if threshold is None or balance.remaining is None:
            continue
        if balance.remaining < threshold.amount:
            derived = "remaining" in balance.derived
            found.append(
                Problem(
                    name,
                    Kind.BELOW,
                    f"{name}: {balance.currency} {format_amount(balance.remaining)}"
                    f"{DERIVED_MARK * derived} left, below {threshold}",
                    f"below:{balance.currency}",
                    balance.remaining,
                    derived=derived,
                )
            )
    cap = current.key_limit  # a capped key stops working at 0 whatever the account holds
    if cap is not None and cap.limit is not None and cap.remaining is not None:
        threshold = thresholds.get(cap.currency)
        if threshold is not None and cap.remaining < threshold.amount:
            found.append(
                Problem(
                    name,
                    Kind.BELOW,
                    f"{name}: key limit {cap.currency} {display_amount(cap.remaining)} left of "
                    f"{display_amount(cap.limit)}, below {threshold}",
                    f"key_limit:{cap.currency}",
                    cap.remaining,
                )
            )
    return found


def _quotas(name: str, current: sc.Sidecar, alerts: Alerts) -> list[Problem]:
    if alerts.below_percent is None:
        return []
    found = []
    for quota in current.quotas:
        left = quota.remaining_percent
        if quota.unlimited or left is None or left >= alerts.below_percent:
            continue
        label = f"{quota.label} ({quota.window})" if quota.window else quota.label
        resets = f", resets {sc.format_time(quota.resets_at)}" if quota.resets_at else ""
        derived = "remaining_percent" in quota.derived
        found.append(
            Problem(
                name,
                Kind.BELOW_PERCENT,
                f"{name}: {label} {format_amount(left.normalize())}%{DERIVED_MARK * derived} "
                f"left, below {format_amount(alerts.below_percent.normalize())}%{resets}",
                f"quota:{label}",
                left,
                derived=derived,
            )
        )
    return found


def is_low(config: Config, entry: EntryConfig, current: sc.Sidecar) -> bool:
    """Whether a balance, key limit or quota window is below its configured threshold."""
    alerts = config.alerts_for(entry)
    return bool(_below(entry.name, current, alerts, ()) or _quotas(entry.name, current, alerts))


def _runway(store: PassStore, name: str, days: Decimal) -> list[Problem]:
    from keyz import history
    from keyz.git_ops import GitRepo

    repo = GitRepo.find(store.root)
    if repo is None:
        return [
            Problem(
                name,
                Kind.RUNWAY,
                f"{name}: alert_runway_days needs the git "
                "ledger (pass git init, then keyz sync --commit)",
            )
        ]
    found = []
    try:
        one = history.read_history(repo, name)
    except KeyzError as exc:
        return [Problem(name, Kind.RUNWAY, f"{name}: cannot read the history: {exc}")]
    for summary in history.summaries(one, []):
        runway = summary.runway_days  # None without enough history: no alert from a guess
        if not summary.figure.money or runway is None or runway >= days:
            continue
        around = f" (around {summary.runs_out})" if summary.runs_out else ""
        key = "runway" if summary.figure.kind == "balance" else "runway:key_limit"
        found.append(
            Problem(
                name,
                Kind.RUNWAY,
                f"{name}: {summary.figure.name} runs out in "
                f"{history.rounded(runway, history.TENTH)} days{around} at the recent burn "
                f"rate, below alert_runway_days {days}",
                f"{key}:{summary.currency}",
                summary.latest,
            )
        )
    return found


__all__ = [
    "TERMINAL",
    "UNATTENDED",
    "Problem",
    "is_low",
    "remember",
    "run_check",
]
