"""``keyz check``: thresholds, budgets, failed and stale syncs, said once per crossing.

Reads sidecars and local state only (``--sync`` syncs first, in cli). Every
problem is one line naming the entry, the figure and the threshold. An alert is
said once per destination; it is said again after the figure went up (a top-up)
while still below, after it cleared and crossed again, or on every run with ``repeat``.
A destination is where the lines go: the terminal, an unattended run (cron,
systemd, a pipe), or a notification channel (keyz.alerting), so a look by hand never
uses up what cron would have mailed. Besides problems, a destination that keeps the
figures it last heard of is told of events (:func:`events`): an alert that cleared,
a window that reset, a balance that went up. What was said is kept in
``.keyz/state/alerts.json`` (local, never committed; see keyz.state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from keyz import sidecar as sc
from keyz.alerts import BUDGET_STEPS, DEFAULT_FAILING_RUNS, Alerts, Budget, Threshold
from keyz.config import Config, EntryConfig
from keyz.errors import KeyzError
from keyz.fields import utc_now
from keyz.health import Kind, Problem, health, max_age_of, read_sidecar
from keyz.money import WIDE, display_amount, format_amount
from keyz.render import DERIVED_MARK
from keyz.state import (
    UNATTENDED,
    EntryState,
    Said,
    SaidTo,
    Told,
    load_said,
    load_state,
    save_said,
)
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
    said = load_said(store.keyz_dir).get(destination, Told()).alerts
    for problem in problems:
        problem.new = is_new(problem, said)
    return problems


def is_new(problem: Problem, said: SaidTo) -> bool:
    """Not said yet to the destination whose record is ``said``, or said again after a top-up."""
    before = said.get(problem.entry, {}).get(problem.key)
    if before is None:
        return True
    return problem.value is not None and before.value is not None and problem.value > before.value


def told(problems: Sequence[Problem], figures: SaidTo | None, before: Told) -> Told:
    """The record of a destination once ``problems`` were said there (and ``figures`` shown)."""
    said: SaidTo = {}
    for problem in problems:
        said.setdefault(problem.entry, {})[problem.key] = Said(
            value=problem.value, resets_at=problem.resets_at
        )
    return Told(alerts=said, figures=before.figures if figures is None else figures)


def remember(store: PassStore, problems: Sequence[Problem], destination: str = UNATTENDED) -> None:
    """Keep what is wrong now, as said to ``destination`` (the others' records stay as they
    were); alerts that cleared are forgotten, so they speak when they return."""
    every = load_said(store.keyz_dir)
    every[destination] = told(problems, None, every.get(destination, Told()))
    save_said(store.keyz_dir, every)


@dataclass(frozen=True)
class Event:
    """Something that changed since a destination last heard, that is not a problem."""

    entry: str
    kind: str  # recovered | reset | topped_up
    message: str

    def to_json(self) -> dict[str, object]:
        return {"entry": self.entry, "kind": self.kind, "message": self.message}


def figures(store: PassStore, config: Config) -> SaidTo:
    """The figures a destination is told of, to notice top-ups and window resets next time."""
    found: SaidTo = {}
    for name in sorted(config.entries):
        current = read_sidecar(store.keyz_dir, name)
        if not isinstance(current, sc.Sidecar):
            continue
        seen = found.setdefault(name, {})
        for balance in current.balances:
            if balance.remaining is not None:
                seen[f"balance:{balance.currency}"] = Said(value=balance.remaining)
        cap = current.key_limit
        if cap is not None and cap.remaining is not None and cap.limit is not None:
            seen[f"key_limit:{cap.currency}"] = Said(value=cap.remaining)
        for quota in current.quotas:
            label = f"{quota.label} ({quota.window})" if quota.window else quota.label
            seen[f"quota:{label}"] = Said(value=quota.remaining_percent, resets_at=quota.resets_at)
    return found


def events(before: Told, problems: Sequence[Problem], now_seen: SaidTo) -> list[Event]:
    """What changed since the destination whose record is ``before`` last heard: alerts that
    cleared (a quota window's because it reset), and balances or key caps that went up."""
    found: list[Event] = []
    current = {(p.entry, p.key) for p in problems}
    for entry, keys in sorted(before.alerts.items()):
        if entry not in now_seen and not any(p.entry == entry for p in problems):
            continue  # untracked or unreadable now: nothing to say it recovered
        for key, said in sorted(keys.items()):
            if (entry, key) not in current:
                event = _cleared(entry, key, said, now_seen.get(entry, {}))
                if event is not None:
                    found.append(event)
    low = {
        (p.entry, p.key.replace("below:", "balance:", 1))
        for p in problems
        if is_new(p, before.alerts)
    }
    for entry, keys in sorted(now_seen.items()):
        for key, seen in sorted(keys.items()):
            old = before.figures.get(entry, {}).get(key)
            if key.startswith("quota:") or old is None or old.value is None or seen.value is None:
                continue
            if seen.value > old.value and (entry, key) not in low:  # the alert says it already
                what = key.replace("balance:", "", 1).replace("key_limit:", "key limit ", 1)
                found.append(
                    Event(
                        entry,
                        "topped_up",
                        f"{entry}: topped up, {what} {display_amount(old.value)} -> "
                        f"{display_amount(seen.value)}",
                    )
                )
    return found


def _cleared(entry: str, key: str, said: Said, seen: Mapping[str, Said]) -> Event | None:
    kind, _, what = key.partition(":")
    if kind == "below":
        now = seen.get(f"balance:{what}")
        left = f", {what} {display_amount(now.value)} left" if now and now.value is not None else ""
        return Event(entry, "recovered", f"{entry}: {what} balance no longer low{left}")
    if kind == "key_limit":
        return Event(entry, "recovered", f"{entry}: key limit {what} no longer low")
    if kind == "quota":
        now = seen.get(key)
        left = ""
        if now is not None and now.value is not None:
            left = f", {format_amount(now.value.normalize())}% left"
        reset = (
            now is not None
            and now.resets_at is not None
            and said.resets_at is not None
            and now.resets_at > said.resets_at
        )
        if reset:
            return Event(entry, "reset", f"{entry}: {what} window reset{left}")
        return Event(entry, "recovered", f"{entry}: {what} no longer low{left}")
    words = {
        Kind.FAILED.value: "syncing works again",
        Kind.STALE.value: "figures are fresh again",
        Kind.NEVER.value: "synced for the first time",
        Kind.UNREADABLE.value: "figures are readable again",
        "runway": "runway no longer below alert_runway_days",
    }
    said_words = words.get(kind)
    return None if said_words is None else Event(entry, "recovered", f"{entry}: {said_words}")


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
        return problems  # a first sync failing once already says all there is
    alerts = config.alerts_for(entry)
    if below_percent is not None:  # ad hoc --below-percent wins
        alerts = Alerts(below_percent=below_percent).over(alerts)
    problems = _failing(problems, state, alerts.failing_runs or DEFAULT_FAILING_RUNS)
    problems.extend(_below(name, current, alerts, below))
    problems.extend(_quotas(name, current, alerts))
    if alerts.spend_above is not None:
        problems.extend(_spend(name, current, alerts.spend_above))
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
                resets_at=quota.resets_at,
            )
        )
    return found


def _failing(problems: list[Problem], state: EntryState, runs: int) -> list[Problem]:
    """A failed sync is an alert once ``runs`` syncs in a row failed; the figures are there."""
    kept = []
    for problem in problems:
        if problem.kind is Kind.FAILED:
            if state.failures < runs:
                continue  # fewer than alert_failing_runs: status shows it, check waits
            if state.failures > 1:
                problem.message = problem.message.replace(
                    "last sync failed:", f"sync failed {state.failures} runs in a row, last:", 1
                )
        kept.append(problem)
    return kept


def _spend(name: str, current: sc.Sidecar, budget: Budget) -> list[Problem]:
    """This month's spend at 80 % and at 100 % of the budget (the highest step reached)."""
    found = []
    for spend in current.spend:
        if spend.period != "this_month" or spend.currency != budget.unit:
            continue
        percent = spend.amount * 100 / budget.amount
        reached = [step for step in BUDGET_STEPS if percent >= step]
        if not reached:
            continue
        month = (spend.start or current.observed_at).strftime("%Y-%m")
        shown = format_amount(WIDE.quantize(percent, Decimal(1)))  # up to 30 digits
        derived = "amount" in spend.derived
        spent = f"{spend.currency} {display_amount(spend.amount)}{DERIVED_MARK * derived}"
        words = (
            f"over the {budget} budget ({shown}%)"
            if reached[-1] >= 100
            else f"{shown}% of the {budget} budget"
        )
        found.append(
            Problem(
                name,
                Kind.SPEND,
                f"{name}: spent {spent} this month, {words}",
                f"spend:{spend.currency}:{month}:{reached[-1]}",
                None,  # spend only grows within a month: a higher figure is no reason to repeat
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
    "Event",
    "Problem",
    "events",
    "figures",
    "is_low",
    "is_new",
    "remember",
    "run_check",
    "told",
]
