"""UTC periods for spend windows: where today, this week, this month and the last 30 days start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

LAST_DAYS: Final = 30


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC, as OpenRouter's weekly windows."""
    return day_start(now) - timedelta(days=now.weekday())


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def last_days_start(now: datetime, days: int = LAST_DAYS) -> datetime:
    """The start of the last ``days`` UTC days, today included."""
    return day_start(now) - timedelta(days=days - 1)


def from_epoch(value: object) -> datetime | None:
    """A provider's epoch time in seconds or milliseconds (> 1e11 means ms), else None."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    if not number.is_finite() or number <= 0:
        return None
    seconds = number / 1000 if number > Decimal("1e11") else number
    return datetime.fromtimestamp(int(seconds), UTC)


__all__ = ["LAST_DAYS", "day_start", "from_epoch", "last_days_start", "month_start", "week_start"]
