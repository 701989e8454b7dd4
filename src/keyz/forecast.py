"""Honest forecasts: month-end spend, runway as a date, and whether a quota window lasts.

Every forecast is keyz's own arithmetic on what providers reported, so every one is
``derived`` (``*`` in tables, ``"derived": true`` in JSON). None is ever shown from too
little data: below its rule a forecast carries a ``reason`` and no number.

- **Month-end spend** (:func:`month_end`): only for a ``this_month`` spend that keyz summed
  from the provider's own daily cost buckets (Anthropic, OpenAI: ``derived`` names
  ``amount``), and only once the month has run :data:`MIN_BUCKET_DAYS` days. Spent so far,
  divided by the days elapsed (today's partial bucket counted as the part of today that
  elapsed), times the days of the month.
- **Runway** (:func:`runways`): the git ledger's burn rate and its confidence rule
  (:class:`keyz.history.Burn`), told as days and the day money runs out.
- **Quota until the reset** (:func:`quota_outlooks`): the fall of a window's percent left
  since it last reset, from the ledger, against the time left until ``resets_at``. It needs
  at least 3 observations since the window last reset, spanning at least a quarter of the
  window's length and never more than 24 hours (:data:`QUOTA_RULE`).
"""

from __future__ import annotations

import calendar
import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

from keyz import history as hist
from keyz import sidecar as sc
from keyz.errors import KeyzError
from keyz.money import WIDE, display_amount, format_amount
from keyz.periods import month_start
from keyz.render import DERIVED_MARK

MIN_BUCKET_DAYS: Final = 7  # days of this month's daily buckets before a month-end projection
NOT_ENOUGH_BUCKETS: Final = (
    f"not enough days of buckets yet (needs {MIN_BUCKET_DAYS} days of this month)"
)
QUOTA_MIN_STEPS: Final = 2  # 3 observations
QUOTA_MAX_SPAN: Final = timedelta(hours=24)
QUOTA_RULE: Final = (
    "at least 3 observations since the window last reset, spanning at least a quarter of "
    "the window (24 hours at most)"
)
NOT_ENOUGH_QUOTA: Final = f"not enough history yet (needs {QUOTA_RULE})"
NO_LEDGER: Final = "needs the git ledger (pass git init, then keyz sync --commit)"
_WINDOW: Final = re.compile(r"([0-9]{1,4})(h|d|w|mo)")
_UNIT: Final = {
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "mo": timedelta(days=28),  # the shortest month: a window start never earlier than it is
}

Kind = Literal["month_end_spend", "runway", "quota_until_reset"]


@dataclass(frozen=True)
class Forecast:
    """One forecast of one figure; ``reason`` instead of a number when the rule does not hold."""

    kind: Kind
    name: str  # the figure: 'USD', 'key limit USD', 'spent USD this month', 'interval (5h)'
    currency: str | None = None
    figure: str | None = None  # runway: 'balance' or 'key_limit'
    label: str | None = None  # quota windows
    window: str | None = None
    amount: Decimal | None = None  # month_end_spend: projected spend this month
    month: str | None = None  # month_end_spend: '2026-11'
    days: Decimal | None = None  # runway: days left at the burn rate
    runs_out: date | None = None  # runway: the day it runs out
    lasts: bool | None = None  # quota: enough left until the reset at the recent rate
    resets_at: datetime | None = None  # quota
    empty_at: datetime | None = None  # quota: when it runs out at that rate, if before the reset
    reason: str | None = None  # why there is no number
    derived: bool = True  # always: keyz's own arithmetic

    @property
    def known(self) -> bool:
        return self.reason is None

    def text(self, *, short: bool = False) -> str:
        """'~USD 41.20* by month end (2026-11)', 'CNY runway 13.0 days*, runs out around
        2026-11-18', 'interval (5h) lasts until the reset*', or the figure and its reason
        (``short``: the reason without its parenthesis, for a table)."""
        mark = DERIVED_MARK
        reason = self.reason or ""
        if short:
            reason = reason.split(" (", 1)[0]
        if self.kind == "month_end_spend":
            if self.amount is None:
                return f"month-end {self.currency}: {reason}"
            return (
                f"~{self.currency} {display_amount(self.amount)}{mark} by month end ({self.month})"
            )
        if self.kind == "runway":
            if self.days is None:
                return f"{self.name} runway: {reason}"
            around = f", runs out around {self.runs_out}" if self.runs_out else ""
            return f"{self.name} runway {hist.rounded(self.days, hist.TENTH)} days{mark}{around}"
        if self.lasts is None:
            return f"{self.name} until the reset: {reason}"
        if self.lasts:
            return f"{self.name} lasts until the reset{mark}"
        when = f" around {sc.format_time(self.empty_at)}" if self.empty_at else ""
        return f"{self.name} runs out before the reset{mark}{when}"

    def to_json(self) -> dict[str, object]:
        def amount(value: Decimal | None, step: Decimal = hist.CENT) -> str | None:
            return None if value is None else format_amount(hist.rounded(value, step))

        def time(value: datetime | None) -> str | None:
            return None if value is None else sc.format_time(value)

        return {
            "kind": self.kind,
            "name": self.name,
            "currency": self.currency,
            "figure": self.figure,
            "label": self.label,
            "window": self.window,
            "amount": amount(self.amount),
            "month": self.month,
            "runway_days": amount(self.days, hist.TENTH),
            "runs_out_around": None if self.runs_out is None else self.runs_out.isoformat(),
            "lasts_until_reset": self.lasts,
            "resets_at": time(self.resets_at),
            "runs_out_at": time(self.empty_at),
            "reason": self.reason,
            "derived": self.derived,
        }


def month_end(sidecar: sc.Sidecar) -> list[Forecast]:
    """This month's spend projected to its end, per currency summed from daily buckets."""
    found = []
    for spend in sidecar.spend:
        if spend.period != "this_month" or "amount" not in spend.derived:
            continue  # a provider's own monthly figure: no daily buckets to project from
        at = sidecar.observed_at
        start = spend.start or month_start(at)
        month = f"{start:%Y-%m}"
        elapsed = WIDE.divide(Decimal((at - start).total_seconds()), Decimal(86400))
        base = Forecast(
            "month_end_spend",
            f"spent {spend.currency} this month",
            currency=spend.currency,
            month=month,
        )
        if elapsed < MIN_BUCKET_DAYS:
            found.append(replace(base, reason=NOT_ENOUGH_BUCKETS))
            continue
        days = Decimal(calendar.monthrange(start.year, start.month)[1])
        projected = WIDE.divide(WIDE.multiply(spend.amount, days), elapsed)
        projected = max(projected, spend.amount)  # never less than already spent
        found.append(replace(base, amount=hist.rounded(projected)))
    return found


def runways(history: hist.History) -> list[Forecast]:
    """Runway of every money figure (balances, key limit), by the ledger's confidence rule."""
    found = []
    for summary in hist.summaries(history, []):
        figure = summary.figure
        if not figure.money:
            continue
        found.append(
            Forecast(
                "runway",
                figure.name,
                currency=figure.unit,
                figure=figure.kind,
                days=summary.runway_days,
                runs_out=summary.runs_out,
                reason=None if summary.runway_days is not None else summary.reason,
            )
        )
    return found


def window_length(window: str | None) -> timedelta | None:
    """'5h', '7d', '1w', '1mo' as a duration ('mo' as 28 days); None when unknown."""
    match = _WINDOW.fullmatch(window or "")
    return int(match.group(1)) * _UNIT[match.group(2)] if match else None


def quota_outlooks(
    history: hist.History | None, sidecar: sc.Sidecar, now: datetime
) -> list[Forecast]:
    """Whether each quota window with a reset time lasts until it resets, at the recent rate."""
    found = []
    for quota in sidecar.quotas:
        if quota.unlimited or quota.remaining_percent is None:
            continue
        figure = hist.Figure("quota", label=quota.label, window=quota.window)
        base = Forecast(
            "quota_until_reset",
            figure.quota_name,
            label=quota.label,
            window=quota.window,
            resets_at=quota.resets_at,
        )
        reason = None
        if quota.resets_at is None:
            reason = "the provider reports no reset time"
        elif quota.resets_at <= max(sidecar.observed_at, now):
            reason = "the window has reset since it was last checked"
        elif history is None:
            reason = NO_LEDGER
        if reason is not None:
            found.append(replace(base, reason=reason))
            continue
        assert quota.resets_at is not None and history is not None
        points = hist.series(history, figure, now)
        if not points or points[-1].at < sidecar.observed_at:  # not committed yet
            points = [*points, hist.Point(sidecar.observed_at, quota.remaining_percent)]
        found.append(_outlook(points, quota.resets_at, window_length(quota.window), base))
    return found


def _outlook(
    points: list[hist.Point],
    resets_at: datetime,
    length: timedelta | None,
    base: Forecast,
) -> Forecast:
    run = [points[-1]]  # the current window: back to the last rise (a reset), never before it
    start = resets_at - length if length is not None else None
    for point in reversed(points[:-1]):
        if point.remaining < run[0].remaining or (start is not None and point.at < start):
            break
        run.insert(0, point)
    need = min(QUOTA_MAX_SPAN, length / 4) if length is not None else QUOTA_MAX_SPAN
    span = run[-1].at - run[0].at
    if len(run) - 1 < QUOTA_MIN_STEPS or span < need:
        return replace(base, reason=NOT_ENOUGH_QUOTA)
    used = run[0].remaining - run[-1].remaining
    left = run[-1].remaining
    if used <= 0:
        return replace(base, lasts=True)
    seconds = Decimal(span.total_seconds())
    to_empty = WIDE.divide(WIDE.multiply(left, seconds), used)  # at the same pace
    until_reset = Decimal((resets_at - run[-1].at).total_seconds())
    if to_empty >= until_reset:
        return replace(base, lasts=True)
    empty_at = None
    with contextlib.suppress(OverflowError):
        empty_at = run[-1].at + timedelta(seconds=float(to_empty))
    return replace(base, lasts=False, empty_at=empty_at)


def forecasts(
    sidecar: sc.Sidecar | None,
    history: hist.History | None,
    now: datetime,
    no_history: str = NO_LEDGER,
) -> list[Forecast]:
    """Every forecast for one entry: month-end spend, runway, quota windows.

    Without ``history`` (no ledger), what needs one says ``no_history`` instead."""
    if sidecar is None:
        return []
    found = month_end(sidecar)
    if history is None:
        money = [f for f, _ in hist.figures_of(sidecar) if f.money]
        found += [
            Forecast("runway", f.name, currency=f.unit, figure=f.kind, reason=no_history)
            for f in money
        ]
        quotas = quota_outlooks(None, sidecar, now)
        return found + [
            replace(q, reason=no_history) if q.reason == NO_LEDGER else q for q in quotas
        ]
    ran = runways(history)
    told = {(f.currency, f.figure) for f in ran}
    ran += [  # in the sidecar, not in the ledger yet (never committed): a reason, not silence
        Forecast("runway", f.name, currency=f.unit, figure=f.kind, reason=hist.NOT_ENOUGH)
        for f, _ in hist.figures_of(sidecar)
        if f.money and (f.unit, f.kind) not in told
    ]
    return found + ran + quota_outlooks(history, sidecar, now)


def for_entries(
    root: Path, sidecars: Iterable[tuple[str, sc.Sidecar | None]], now: datetime
) -> dict[str, list[Forecast]]:
    """The forecasts of each entry, reading the store's git ledger (``git log`` and
    ``git cat-file`` only: no textconv, so no gpg; nothing is written)."""
    from keyz.git_ops import GitRepo

    repo = GitRepo.find(root)
    found: dict[str, list[Forecast]] = {}
    for entry, sidecar in sidecars:
        if sidecar is None:
            found[entry] = []
            continue
        history, why = None, NO_LEDGER
        if repo is not None:
            try:
                history = hist.read_history(repo, entry, now)
            except KeyzError as exc:  # this entry's ledger only
                why = f"cannot read the history: {exc}"
        found[entry] = forecasts(sidecar, history, now, why)
    return found


def texts(found: Iterable[Forecast]) -> list[str]:
    return [f.text() for f in found]


__all__ = [
    "MIN_BUCKET_DAYS",
    "NOT_ENOUGH_BUCKETS",
    "NOT_ENOUGH_QUOTA",
    "NO_LEDGER",
    "QUOTA_RULE",
    "Forecast",
    "for_entries",
    "forecasts",
    "month_end",
    "quota_outlooks",
    "runways",
    "texts",
    "window_length",
]
