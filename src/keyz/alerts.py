"""Alert thresholds and durations: the vocabulary of ``keyz check`` and ``keyz cron``.

    alert_below = "5 USD"            # or a list: ["5 USD", "30 CNY"]
    alert_below_percent = 10         # quota windows: remaining percent
    alert_runway_days = 7            # days left at the burn rate from the history
    alert_spend_above = "200 USD/month"  # a month's spend: said at 80 % and at 100 %
    alert_failing_runs = 2           # a sync failing this many runs in a row (default 1)
    max_age = "12h"                  # [defaults] only: older figures are stale

They can be set in ``[defaults]``, ``[providers.ID]`` and ``[entries."NAME"]``; the
most specific one wins, key by key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from decimal import Decimal
from typing import Final

from keyz.errors import UsageError

ALERT_KEYS: Final = (
    "alert_below",
    "alert_below_percent",
    "alert_runway_days",
    "alert_spend_above",
    "alert_failing_runs",
)
# A failed sync is said at once, so check and status (which marks it at once) agree; set
# alert_failing_runs = 2 or 3 to ride out one-off blips of an unattended run.
DEFAULT_FAILING_RUNS: Final = 1
BUDGET_STEPS: Final = (80, 100)  # percent of a spend budget at which check speaks
_DURATION: Final = re.compile(r"\s*([0-9]+)\s*([mhdw])\s*")  # ASCII: \d takes '١٢'
_UNITS: Final = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION: Final = timedelta(days=3650)  # timedelta itself overflows near 2.7 million years


@dataclass(frozen=True)
class Threshold:
    amount: Decimal
    unit: str  # ISO 4217 code or a provider unit (POINTS)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


@dataclass(frozen=True)
class Budget:
    """A spend budget: at most ``amount`` ``unit`` per calendar month (UTC)."""

    amount: Decimal
    unit: str
    period: str = "month"

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}/{self.period}"


@dataclass(frozen=True)
class Alerts:
    below: tuple[Threshold, ...] | None = None
    below_percent: Decimal | None = None
    runway_days: Decimal | None = None
    spend_above: Budget | None = None
    failing_runs: int | None = None

    def over(self, general: Alerts) -> Alerts:
        """These settings, with ``general``'s for what these leave unset."""
        return replace(
            general,
            **{
                f.name: getattr(self, f.name)
                for f in fields(self)
                if getattr(self, f.name) is not None
            },
        )


def parse_threshold(text: str) -> Threshold:
    """'5 USD' → Threshold(5, 'USD')."""
    parts = text.split()
    # ASCII decimal notation only, bounded: Decimal() alone takes Arabic digits, '1_000', '1e9999'
    if len(parts) == 2 and re.fullmatch(r"[0-9]{1,15}(\.[0-9]{1,12})?", parts[0]):
        amount = Decimal(parts[0])
        unit = parts[1].upper()
        if amount.is_finite() and amount >= 0 and re.fullmatch(r"[A-Z][A-Z0-9_]{1,15}", unit):
            return Threshold(amount, unit)
    raise UsageError(f"{text!r} is not a threshold like '5 USD' or '1000 POINTS'")


def parse_budget(text: str) -> Budget:
    """'200 USD/month' → Budget(200, 'USD'); only monthly budgets (the month providers bill)."""
    amount, slash, period = text.rpartition("/")
    if slash and period.strip().lower() == "month":
        try:
            threshold = parse_threshold(amount)
        except UsageError:
            pass
        else:
            if threshold.amount > 0:
                return Budget(threshold.amount, threshold.unit)
    raise UsageError(f"{text[:40]!r} is not a spend budget like '200 USD/month'")


def parse_duration(text: str, *, name: str = "duration") -> timedelta:
    """'30m', '6h', '2d', '1w', up to MAX_DURATION; ``name`` says where it was given."""
    match = _DURATION.fullmatch(text)
    shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}..."
    if not match or not match.group(1).strip("0"):
        raise UsageError(f"{name} {shown} is not a duration like 30m, 6h, 2d or 1w")
    digits = match.group(1).lstrip("0")
    # the length first: int() of thousands of digits is slow, or refused
    seconds = int(digits) * _UNITS[match.group(2)] if len(digits) <= 12 else None
    if seconds is None or seconds > MAX_DURATION.total_seconds():
        raise UsageError(
            f"{name} {shown} is longer than the maximum, {format_duration(MAX_DURATION)}"
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds // 60}m"


__all__ = [
    "ALERT_KEYS",
    "BUDGET_STEPS",
    "DEFAULT_FAILING_RUNS",
    "MAX_DURATION",
    "Alerts",
    "Budget",
    "Threshold",
    "format_duration",
    "parse_budget",
    "parse_duration",
    "parse_threshold",
]
