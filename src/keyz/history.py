"""``keyz history``: a sidecar's versions from git, as series, burn rate, runway and top-ups.

One ``git log`` and one ``git cat-file --batch`` read every version, however many
commits there are (GitPython's iter_commits plus a blob read per commit is about
ten times slower). Both run without textconv: pass installs a gpg diff driver for
``*.gpg``, and a history read must never start gpg.
"""

from __future__ import annotations

import bisect
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from keyz import sidecar as sc
from keyz.errors import KeyzError
from keyz.fields import in_future, utc_now
from keyz.git_ops import GitRepo
from keyz.money import WIDE, display_amount, format_amount

SPARKS: Final = "▁▂▃▄▅▆▇█"
DAY: Final = timedelta(days=1)
CENT: Final = Decimal("0.01")
TENTH: Final = Decimal("0.1")


@dataclass(frozen=True)
class Version:
    commit: str
    sidecar: sc.Sidecar
    document: bytes | None = None  # the file's bytes when they already are a valid v-current doc


@dataclass
class History:
    entry: str
    versions: list[Version] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # corrupt, future or out-of-order, reported


@dataclass(frozen=True)
class Point:
    at: datetime
    remaining: Decimal


@dataclass(frozen=True)
class Summary:
    currency: str
    remaining: Decimal
    burn_7d: Decimal | None  # per day; None when the history is too short to tell
    burn_30d: Decimal | None
    runway_days: Decimal | None  # at the 7-day rate (30-day when 7 has none); None = not burning
    top_ups: list[tuple[datetime, Decimal]]


def read_history(repo: GitRepo, entry: str, now: datetime | None = None) -> History:
    """Every readable version in git's commit order, but for those whose time cannot be right.

    One wrong clock must not decide the burn rate: a version observed in the future is left
    out, and so is every version out of line with the longest run of commits whose
    observation times only go forward (one odd commit, not all that follow it).
    """
    path = sc.sidecar_path(repo.root / ".keyz", entry).relative_to(repo.root).as_posix()
    history = History(entry)
    if repo.run("rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode != 0:
        return history  # unborn: nothing committed yet
    log = repo.run(
        "log",
        "--no-textconv",
        "--no-ext-diff",
        "--no-renames",
        "--date-order",  # never a parent before its children, whatever the commit dates say
        "--reverse",
        "--format=%H",
        "--",
        path,
    )
    commits = log.stdout.split()
    if not commits:
        return history
    batch = repo.run_bytes(
        ["cat-file", "--batch"], "".join(f"{c}:{path}\n" for c in commits).encode()
    )
    now = now or utc_now()
    offset = 0
    found: list[Version] = []
    found_at: list[int] = []
    skipped: list[tuple[int, str]] = []  # (position in git order, why)
    for position, commit in enumerate(commits):
        newline = batch.index(b"\n", offset)
        header = batch[offset:newline].decode()
        offset = newline + 1
        if header.endswith(" missing"):  # the file was deleted in this commit
            continue
        size = int(header.rsplit(" ", 1)[1])
        data = batch[offset : offset + size]
        offset += size + 1
        where = f"{path} at {commit[:12]}"
        try:
            current, as_is = sc.loads_checked(data, source=where)
        except KeyzError as exc:
            skipped.append((position, str(exc)))
            continue
        when = sc.format_time(current.observed_at)
        if in_future(current.observed_at, now):
            skipped.append(
                (position, f"{where} was observed in the future ({when}; a clock running ahead?)")
            )
            continue
        found.append(Version(commit, current, data if as_is else None))
        found_at.append(position)
    kept = _in_order([v.sidecar.observed_at for v in found])
    for index, version in enumerate(found):
        if index in kept:
            history.versions.append(version)
        else:
            skipped.append(
                (
                    found_at[index],
                    f"{path} at {version.commit[:12]} was observed at "
                    f"{sc.format_time(version.sidecar.observed_at)}, out of order with the "
                    "commits around it (a wrong clock, or rewritten history?)",
                )
            )
    history.skipped = [why for _, why in sorted(skipped, key=lambda item: item[0])]
    return history


def _in_order(times: list[datetime]) -> set[int]:
    """Indexes of the longest run of non-decreasing ``times``; ties keep the later commits."""
    tails: list[datetime] = []  # the smallest last time of a run of each length
    ends: list[int] = []  # the index ending that run
    before: list[int | None] = []
    for index, when in enumerate(times):
        length = bisect.bisect_right(tails, when)
        before.append(ends[length - 1] if length else None)
        if length == len(tails):
            tails.append(when)
            ends.append(index)
        else:
            tails[length], ends[length] = when, index
    kept: set[int] = set()
    cursor = ends[-1] if ends else None
    while cursor is not None:
        kept.add(cursor)
        cursor = before[cursor]
    return kept


def series(history: History, currency: str, now: datetime | None = None) -> list[Point]:
    """The currency's remaining figures in order; never one observed in the future."""
    now = now or utc_now()
    points = []
    for version in history.versions:
        if in_future(version.sidecar.observed_at, now):
            continue
        for balance in version.sidecar.balances:
            if balance.currency == currency and balance.remaining is not None:
                points.append(Point(version.sidecar.observed_at, balance.remaining))
    return points


def currencies(history: History) -> list[str]:
    return sorted({b.currency for v in history.versions for b in v.sidecar.balances})


def burn_per_day(points: list[Point], days: int) -> Decimal | None:
    """Average spend per day over the last ``days`` days of the series; top-ups are not spend."""
    if len(points) < 2:
        return None
    end = points[-1].at
    # not max(end - days, first): near datetime.min, end - days is out of range
    start = points[0].at if end - points[0].at <= days * DAY else end - days * DAY
    span = Decimal((end - start).total_seconds()) / Decimal(86400)
    if span <= 0:
        return None
    spent = Decimal(0)
    for before, after in itertools.pairwise(points):
        if after.at <= start or after.remaining >= before.remaining:
            continue
        drop = before.remaining - after.remaining
        if before.at < start:  # the pair straddles the window: count the part inside it
            whole = Decimal((after.at - before.at).total_seconds())
            drop = drop * Decimal((after.at - start).total_seconds()) / whole
        spent += drop
    return spent / span


def summarize(history: History, currency: str) -> Summary | None:
    points = series(history, currency)
    if not points:
        return None
    burn_7d, burn_30d = burn_per_day(points, 7), burn_per_day(points, 30)
    rate = burn_7d if burn_7d else burn_30d
    runway = points[-1].remaining / rate if rate and rate > 0 and points[-1].remaining > 0 else None
    top_ups = [
        (after.at, after.remaining - before.remaining)
        for before, after in itertools.pairwise(points)
        if after.remaining > before.remaining
    ]
    return Summary(currency, points[-1].remaining, burn_7d, burn_30d, runway, top_ups)


def summaries(history: History, wanted: list[str]) -> list[Summary]:
    """A summary per wanted currency (all of the history's when none is named)."""
    found = (summarize(history, currency) for currency in wanted or currencies(history))
    return [summary for summary in found if summary is not None]


def rounded(value: Decimal, step: Decimal = CENT) -> Decimal:
    """``value`` to ``step``; a runway from a trillionth a month has more digits than 28."""
    return WIDE.quantize(value, step)


def summary_json(history: History, wanted: list[str]) -> dict[str, Any]:
    """Burn to the cent and runway to a tenth of a day, as the human line shows them."""

    def amount(value: Decimal | None, step: Decimal = CENT) -> str | None:
        return None if value is None else format_amount(rounded(value, step))

    return {
        "entry": history.entry,
        "observations": len(history.versions),
        "summaries": [
            {
                "currency": s.currency,
                "remaining": amount(s.remaining),
                "burn_per_day_7d": amount(s.burn_7d),
                "burn_per_day_30d": amount(s.burn_30d),
                "runway_days": amount(s.runway_days, TENTH),
                "top_ups": [{"at": sc.format_time(at), "amount": amount(a)} for at, a in s.top_ups],
            }
            for s in summaries(history, wanted)
        ],
    }


def sparkline(values: list[Decimal]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARKS[3] * len(values)
    scale = (len(SPARKS) - 1) / (high - low)
    return "".join(SPARKS[int((v - low) * scale)] for v in values)


def in_range(history: History, since: datetime | None, until: datetime | None) -> History:
    kept = [
        v
        for v in history.versions
        if (since is None or v.sidecar.observed_at >= since)
        and (until is None or v.sidecar.observed_at <= until)
    ]
    return History(history.entry, kept, history.skipped)


def summary_line(summary: Summary) -> str:
    """'CNY 96.40 · burn 13.60/day (7d) · runway 7.1 days'"""
    parts = [f"{summary.currency} {display_amount(summary.remaining)}"]
    if summary.burn_7d is not None:
        parts.append(f"burn {display_amount(rounded(summary.burn_7d))}/day (7d)")
    if summary.burn_30d is not None:
        parts.append(f"{display_amount(rounded(summary.burn_30d))}/day (30d)")
    if summary.runway_days is not None:
        parts.append(f"runway {rounded(summary.runway_days, TENTH)} days")
    elif summary.burn_7d is not None or summary.burn_30d is not None:
        parts.append("not spending")
    else:
        parts.append("too little history for a burn rate")
    if summary.top_ups:
        ups = ", ".join(
            f"+{display_amount(amount)} on {at:%Y-%m-%d}" for at, amount in summary.top_ups[-3:]
        )
        parts.append(f"top-ups: {ups}")
    return " · ".join(parts)


def changes_table(history: History, wanted: list[str]) -> list[tuple[str, ...]]:
    """One row per version: time, commit, and per currency the remaining amount and its change."""
    rows: list[tuple[str, ...]] = [("OBSERVED", "COMMIT", *[f"{c}  (change)" for c in wanted])]
    last: dict[str, Decimal] = {}
    for version in history.versions:
        cells = []
        by_currency = {b.currency: b.remaining for b in version.sidecar.balances}
        for currency in wanted:
            value = by_currency.get(currency)
            if value is None:
                cells.append("-")
                continue
            delta = value - last[currency] if currency in last else None
            last[currency] = value
            change = f"  ({'+' if delta > 0 else ''}{display_amount(delta)})" if delta else ""
            cells.append(f"{display_amount(value)}{change}")
        rows.append((f"{version.sidecar.observed_at:%Y-%m-%d %H:%M}Z", version.commit[:10], *cells))
    return rows


CSV_FIELDS: Final = (
    "commit",
    "observed_at",
    "currency",
    "remaining",
    "granted",
    "topped_up",
    "purchased",
    "used",
)


def csv_rows(history: History, wanted: list[str]) -> list[list[str]]:
    rows = [list(CSV_FIELDS)]
    for version in history.versions:
        for balance in version.sidecar.balances:
            if balance.currency not in wanted:
                continue
            money = [
                balance.remaining,
                balance.granted,
                balance.topped_up,
                balance.purchased,
                balance.used,
            ]
            rows.append(
                [version.commit, sc.format_time(version.sidecar.observed_at), balance.currency]
                + ["" if m is None else format_amount(m) for m in money]
            )
    return rows


def version_json(version: Version) -> dict[str, Any]:
    # a validated current-version file is already the JSON we would write: skip re-dumping
    data: dict[str, Any] = (
        json.loads(version.document)
        if version.document is not None
        else sc.json_ready(version.sidecar)
    )
    data["commit"] = version.commit
    return data


__all__ = [
    "History",
    "Point",
    "Summary",
    "Version",
    "burn_per_day",
    "changes_table",
    "csv_rows",
    "currencies",
    "in_range",
    "read_history",
    "series",
    "sparkline",
    "summaries",
    "summarize",
    "summary_json",
    "summary_line",
    "version_json",
]
