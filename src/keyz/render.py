"""Human-readable lines for sidecars: one place, used by tables and commit messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from keyz.money import display_amount
from keyz.sidecar import Sidecar, parse_time


def summarize(sidecar: Sidecar) -> str:
    """'CNY 110.00 · USD 5.25', or the key limit, plus what could not be known."""
    parts: list[str] = []
    if sidecar.balances:
        money = " · ".join(
            f"{b.currency} {display_amount(b.remaining)}"
            if b.remaining is not None
            else f"{b.currency} unknown"
            for b in sidecar.balances
        )
        parts.append(money)
    limit = sidecar.key_limit
    if limit is not None:
        reset = f" ({limit.reset})" if limit.reset else ""
        if limit.limit is None:
            used = (
                f", {display_amount(limit.usage)} {limit.currency} used"
                if limit.usage is not None
                else ""
            )
            parts.append(f"key limit: none{used}")
        elif limit.remaining is not None:
            parts.append(
                f"key limit: {display_amount(limit.remaining)} of {display_amount(limit.limit)} "
                f"{limit.currency} left{reset}"
            )
        else:
            parts.append(f"key limit: {display_amount(limit.limit)} {limit.currency}{reset}")
    if sidecar.available is False:
        parts.append("not available for API calls")
    text = "; ".join(parts + list(sidecar.notes))
    return text or "no figures reported"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces (pass-like, no box drawing)."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def age(timestamp: datetime | str | None, now: datetime | None = None) -> str:
    """'3m ago', '5h ago', '2d ago'; 'never' for None."""
    if timestamp is None:
        return "never"
    if isinstance(timestamp, str):
        timestamp = parse_time(timestamp)
    seconds = int(((now or datetime.now(UTC)) - timestamp).total_seconds())
    if seconds < 0:
        return "in the future (clock skew?)"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


__all__ = ["age", "summarize", "table"]
