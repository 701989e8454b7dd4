"""``keyz history``: a sidecar's versions from git, as series, burn rate, runway and top-ups.

A series per figure (balance currency, key limit, spend period, quota window); burn and
runway for money only, and only from enough history (``Burn.confident``).

One ``git log`` and one ``git cat-file --batch`` read every version, however many
commits there are (GitPython's iter_commits plus a blob read per commit is about
ten times slower). Both run without textconv: pass installs a gpg diff driver for
``*.gpg``, and a history read must never start gpg.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from keyz import sidecar as sc
from keyz.errors import KeyzError
from keyz.fields import in_future, utc_now
from keyz.git_ops import GitRepo
from keyz.money import WIDE, display_amount, format_amount
from keyz.render import PERIODS

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
    remaining: Decimal  # the figure's value then: money left, spend, or percent left


KINDS: Final = ("balance", "key_limit", "spend", "quota")
MONEY: Final = frozenset({"balance", "key_limit"})  # the kinds that burn and have a runway


@dataclass(frozen=True)
class Figure:
    """One series of an entry's history: a balance currency, the key limit, spend over a
    period, or a quota window's percent left."""

    kind: str  # one of KINDS
    unit: str | None = None  # the currency (every kind but quota)
    period: str | None = None  # spend: today, this_week, ...
    label: str | None = None  # quota: what the window counts
    window: str | None = None  # quota: 5h, 7d, ...

    @property
    def money(self) -> bool:
        return self.kind in MONEY

    @property
    def name(self) -> str:
        """'CNY', 'key limit USD', 'spent USD this month', 'interval (5h) % left'."""
        if self.kind == "balance":
            return str(self.unit)
        if self.kind == "key_limit":
            return f"key limit {self.unit}"
        if self.kind == "spend":
            return f"spent {self.unit} {_period(self)}"
        return f"{self.quota_name} % left"

    @property
    def quota_name(self) -> str:
        return f"{self.label} ({self.window})" if self.window else str(self.label)

    def order(self) -> tuple[int, str, int, str, str]:
        period = list(PERIODS).index(self.period) if self.period in PERIODS else len(PERIODS)
        return (
            KINDS.index(self.kind),
            self.unit or "",
            period,
            self.label or "",
            self.window or "",
        )


def balance(currency: str) -> Figure:
    return Figure("balance", currency)


@dataclass(frozen=True)
class Burn:
    """Spend per day over a window, from the steps between observations that were not top-ups."""

    per_day: Decimal | None  # None when those steps cover no time at all
    steps: int  # steps between consecutive observations in the window that were not top-ups
    days: Decimal  # the time those steps cover, in days

    @property
    def confident(self) -> bool:
        """At least 3 observations (2 steps) over at least 24 hours, top-ups excluded."""
        return self.steps >= MIN_STEPS and self.days >= 1


MIN_STEPS: Final = 2
NOT_ENOUGH: Final = "not enough history yet (needs 3 observations over 24 hours, top-ups excluded)"


@dataclass(frozen=True)
class Summary:
    figure: Figure
    latest: Decimal  # the last value: money or percent left, or spend in the period
    observations: int
    burn_7d: Decimal | None = None  # per day; None without enough history (money only)
    burn_30d: Decimal | None = None
    runway_days: Decimal | None = None  # at the 7-day rate (30-day when 7 has none)
    runs_out: date | None = None  # the day the runway ends, counted from the last observation
    reason: str | None = None  # why a money figure has no runway
    top_ups: list[tuple[datetime, Decimal]] = field(default_factory=list)

    @property
    def currency(self) -> str | None:
        return self.figure.unit


def read_history(repo: GitRepo, entry: str, now: datetime | None = None) -> History:
    """Every readable version in git's commit order, but for those whose time cannot be right.

    One wrong clock must not decide the burn rate: a version observed in the future is left
    out, and so is every version out of line with the longest run of commits whose
    observation times only go forward (one odd commit, not all that follow it).
    """
    path = sc.sidecar_path(repo.root / ".keyz", entry).relative_to(repo.root).as_posix()
    history = History(entry)
    if not repo.has_commits():
        return history  # unborn: nothing committed yet
    log = repo.read(
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
    commits = log.decode().split()
    if not commits:
        return history
    batch = repo.read(
        "cat-file", "--batch", stdin="".join(f"{c}:{path}\n" for c in commits).encode()
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


def figures_of(sidecar: sc.Sidecar) -> Iterator[tuple[Figure, Decimal]]:
    """Every figure a version reports: balances, the key limit left, spend, quota percent left."""
    for item in sidecar.balances:
        if item.remaining is not None:
            yield Figure("balance", item.currency), item.remaining
    cap = sidecar.key_limit
    if cap is not None and cap.limit is not None and cap.remaining is not None:
        yield Figure("key_limit", cap.currency), cap.remaining
    for spend in sidecar.spend:
        yield Figure("spend", spend.currency, period=spend.period), spend.amount
    for quota in sidecar.quotas:
        if quota.remaining_percent is not None and not quota.unlimited:
            yield Figure("quota", label=quota.label, window=quota.window), quota.remaining_percent


def all_series(history: History, now: datetime | None = None) -> dict[Figure, list[Point]]:
    """Every figure's values in order, figures in display order; never a future observation."""
    now = now or utc_now()
    found: dict[Figure, list[Point]] = {}
    for version in history.versions:
        at = version.sidecar.observed_at
        if in_future(at, now):
            continue
        for figure, value in figures_of(version.sidecar):
            found.setdefault(figure, []).append(Point(at, value))
    return {figure: found[figure] for figure in sorted(found, key=Figure.order)}


def series(history: History, figure: Figure, now: datetime | None = None) -> list[Point]:
    return all_series(history, now).get(figure, [])


def figures(history: History) -> list[Figure]:
    return list(all_series(history))


def select(found: list[Figure], wanted: list[str]) -> list[Figure]:
    """The figures in the wanted currencies (all of them when none is named)."""
    return [f for f in found if not wanted or f.unit in wanted]


def units(found: list[Figure]) -> list[str]:
    return sorted({f.unit for f in found if f.unit is not None})


def burn(points: list[Point], days: int) -> Burn:
    """Spend per day over the last ``days`` days of the series.

    A step in which the figure went up (a top-up, a key limit reset) says nothing about
    spending: neither its change nor its time counts. A step straddling the start of the
    window counts the part inside it, pro rata.
    """
    if len(points) < 2:
        return Burn(None, 0, Decimal(0))
    end = points[-1].at
    # not max(end - days, first): near datetime.min, end - days is out of range
    start = points[0].at if end - points[0].at <= days * DAY else end - days * DAY
    spent = seconds = Decimal(0)
    steps = 0
    for before, after in itertools.pairwise(points):
        if after.at <= start or after.remaining > before.remaining:
            continue
        drop = before.remaining - after.remaining
        inside = Decimal((after.at - max(before.at, start)).total_seconds())
        if before.at < start:  # the pair straddles the window: count the part inside it
            drop = drop * inside / Decimal((after.at - before.at).total_seconds())
        spent += drop
        seconds += inside
        steps += inside > 0
    covered = seconds / Decimal(86400)
    return Burn(spent / covered if covered > 0 else None, steps, covered)


def burn_per_day(points: list[Point], days: int) -> Decimal | None:
    """The rate of :func:`burn`, whether or not there is enough history to trust it."""
    return burn(points, days).per_day


def summarize(
    history: History, figure: Figure, points: list[Point] | None = None
) -> Summary | None:
    points = series(history, figure) if points is None else points
    if not points:
        return None
    last = points[-1]
    if not figure.money:
        return Summary(figure, last.remaining, len(points))
    burns = [burn(points, days) for days in (7, 30)]
    burn_7d, burn_30d = (b.per_day if b.confident else None for b in burns)
    rate = burn_7d if burn_7d else burn_30d
    runway = runs_out = reason = None
    if burn_7d is None and burn_30d is None:
        reason = NOT_ENOUGH
    elif not rate:
        reason = "not spending"
    elif last.remaining <= 0:
        reason = "nothing left"
    else:
        runway = last.remaining / rate
        with contextlib.suppress(OverflowError):  # centuries away: no date, the days say it
            runs_out = (last.at + timedelta(days=float(runway))).date()
    top_ups = [
        (after.at, after.remaining - before.remaining)
        for before, after in itertools.pairwise(points)
        if after.remaining > before.remaining
    ]
    return Summary(
        figure, last.remaining, len(points), burn_7d, burn_30d, runway, runs_out, reason, top_ups
    )


def summaries(history: History, wanted: list[str]) -> list[Summary]:
    """A summary per figure in the wanted currencies (every figure when none is named)."""
    found = all_series(history)
    chosen = select(list(found), wanted)
    return [s for s in (summarize(history, f, found[f]) for f in chosen) if s is not None]


def rounded(value: Decimal, step: Decimal = CENT) -> Decimal:
    """``value`` to ``step``; a runway from a trillionth a month has more digits than 28."""
    return WIDE.quantize(value, step)


def _amount(value: Decimal | None, step: Decimal = CENT) -> str | None:
    return None if value is None else format_amount(rounded(value, step))


def summary_dict(s: Summary) -> dict[str, object]:
    """Burn to the cent and runway to a tenth of a day, as the human line shows them."""
    f = s.figure
    common: dict[str, object] = {"kind": f.kind, "name": f.name, "currency": f.unit}
    common["observations"] = s.observations
    if f.kind == "spend":
        return {**common, "period": f.period, "amount": _amount(s.latest)}
    if f.kind == "quota":
        return {
            **common,
            "label": f.label,
            "window": f.window,
            "remaining_percent": format_amount(s.latest.normalize(WIDE)),
        }
    return {
        **common,
        "remaining": _amount(s.latest),
        "burn_per_day_7d": _amount(s.burn_7d),
        "burn_per_day_30d": _amount(s.burn_30d),
        "runway_days": _amount(s.runway_days, TENTH),
        "runs_out_around": None if s.runs_out is None else s.runs_out.isoformat(),
        "reason": s.reason,
        "top_ups": [{"at": sc.format_time(at), "amount": _amount(a)} for at, a in s.top_ups],
    }


def summary_json(history: History, wanted: list[str]) -> dict[str, object]:
    return {
        "entry": history.entry,
        "observations": len(history.versions),
        "summaries": [summary_dict(s) for s in summaries(history, wanted)],
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


def _percent(value: Decimal) -> str:
    return f"{format_amount(value.normalize(WIDE))}%"


def value_text(figure: Figure, value: Decimal) -> str:
    return _percent(value) if figure.kind == "quota" else display_amount(value)


def summary_line(summary: Summary) -> str:
    """'CNY 130.00 · burn 10.00/day (7d) · 10.00/day (30d) · runway 13.0 days, runs out
    around 2026-11-18 · top-ups: +50.00 on 2026-11-04', 'spent USD 4.50 this month',
    'interval (5h): 62% left'."""
    f = summary.figure
    if f.kind == "spend":
        return f"spent {f.unit} {display_amount(summary.latest)} {_period(f)}"
    if f.kind == "quota":
        return f"{f.quota_name}: {_percent(summary.latest)} left"
    parts = [f"{f.name} {display_amount(summary.latest)}"]
    rates = [
        f"{display_amount(rounded(rate))}/day ({days}d)"
        for rate, days in ((summary.burn_7d, 7), (summary.burn_30d, 30))
        if rate is not None
    ]
    if rates:
        parts.append("burn " + " · ".join(rates))
    if summary.runway_days is not None:
        around = f", runs out around {summary.runs_out}" if summary.runs_out else ""
        parts.append(f"runway {rounded(summary.runway_days, TENTH)} days{around}")
    elif summary.reason:
        parts.append(summary.reason)
    if summary.top_ups:
        ups = ", ".join(
            f"+{display_amount(amount)} on {at:%Y-%m-%d}" for at, amount in summary.top_ups[-3:]
        )
        parts.append(f"{'top-ups' if f.kind == 'balance' else 'went up'}: {ups}")
    return " · ".join(parts)


def _period(figure: Figure) -> str:
    return PERIODS.get(str(figure.period), str(figure.period))


def overview_line(found: list[Summary]) -> str:
    """Every figure of one entry on one line; spend in a currency grouped as status shows it."""
    parts: list[str] = []
    for (kind, unit), group in itertools.groupby(found, lambda s: (s.figure.kind, s.figure.unit)):
        items = list(group)
        if kind == "spend":
            amounts = (f"{display_amount(s.latest)} {_period(s.figure)}" for s in items)
            parts.append(f"spent {unit} " + " · ".join(amounts))
        else:
            parts.extend(summary_line(s) for s in items)
    return "; ".join(parts)


def span_text(since: datetime | None, until: datetime | None) -> str:
    """'since 2026-11-01T00:00:00Z until ...': the range asked for, '' for all of it."""
    parts = (
        f"since {sc.format_time(since)}" if since else "",
        f"until {sc.format_time(until)}" if until else "",
    )
    return " ".join(part for part in parts if part)


def why_empty(whole: History, span: str) -> str:
    """Why there is nothing to show for an entry: nothing committed, or nothing in ``span``."""
    if not whole.versions:
        return "nothing committed yet (keyz sync --commit)"
    count = len(whole.versions)
    first, last = whole.versions[0].sidecar, whole.versions[-1].sidecar
    return (
        f"no commits {span}; its {count} commit{'s' * (count != 1)} run from "
        f"{first.observed_at:%Y-%m-%d} to {last.observed_at:%Y-%m-%d}"
    )


def entry_overview(whole: History, shown: History, wanted: list[str], span: str) -> str:
    """One entry's line of ``keyz history`` without ENTRY: its figures, or why there are none.

    ``whole`` is everything committed, ``shown`` the part within ``span``."""
    line = overview_line(summaries(shown, wanted)) if shown.versions else why_empty(whole, span)
    if line:
        return line
    count = len(shown.versions)
    what = f"{' or '.join(wanted)} " if wanted else ""
    return f"no {what}figures in {count} commit{'s' * (count != 1)}"


def require_units(history: History, wanted: list[str]) -> None:
    """A KeyzError when the entry never had figures in one of the ``wanted`` units."""
    if not wanted or not history.versions:
        return
    had = units(figures(history))
    missing = [unit for unit in wanted if unit not in had]
    if missing:
        has = f"it has {', '.join(had)}" if had else "it has no money figures"
        raise KeyzError(
            f"{history.entry} has no {', '.join(missing)} figures in its history ({has}); "
            "leave out --currency or name one of those"
        )


def entry_detail(history: History, wanted: list[str]) -> tuple[list[tuple[str, ...]], list[str]]:
    """``keyz history ENTRY``: the table of changes, and a sparkline and summary per figure."""
    found = all_series(history)
    chosen = select(list(found), wanted)
    lines = []
    for figure in chosen:
        summary = summarize(history, figure, found[figure])
        if summary is not None:
            spark = sparkline([p.remaining for p in found[figure]])
            lines.append(f"{spark}  {summary_line(summary)}")
    if not chosen:
        count = len(history.versions)
        lines.append(
            f"no figures in {count} commit{'s' * (count != 1)} (notes or availability only)"
        )
    return changes_table(history, chosen), lines


def changes_table(history: History, chosen: list[Figure]) -> list[tuple[str, ...]]:
    """One row per version: time, commit, and per figure its value and its change."""
    rows: list[tuple[str, ...]] = [("OBSERVED", "COMMIT", *[f.name for f in chosen])]
    last: dict[Figure, Decimal] = {}
    wanted = set(chosen)
    for version in history.versions:
        values = {f: v for f, v in figures_of(version.sidecar) if f in wanted}
        cells = []
        for figure in chosen:
            value = values.get(figure)
            if value is None:
                cells.append("-")
                continue
            delta = value - last[figure] if figure in last else None
            last[figure] = value
            change = ""
            if delta:
                change = f"  ({'+' if delta > 0 else ''}{value_text(figure, delta)})"
            cells.append(f"{value_text(figure, value)}{change}")
        rows.append((f"{version.sidecar.observed_at:%Y-%m-%d %H:%M}Z", version.commit[:10], *cells))
    return rows


# v1's columns first, where they were, so a script reading those keeps working
CSV_FIELDS: Final = (
    "commit",
    "observed_at",
    "currency",
    "remaining",
    "granted",
    "topped_up",
    "purchased",
    "used",
    "kind",
    "unit_kind",
    "cash",
    "voucher",
    "credit_limit",
    "pending",
    "outstanding",
    "limit",
    "usage",
    "reset",
    "period",
    "start",
    "end",
    "amount",
    "label",
    "window",
    "remaining_percent",
    "unit",
    "resets_at",
    "unlimited",
    "derived",
    "source",
    "available",
    "provider",
    "entry",
    "note",
    # version 3's account keys (new columns go last: a reader by position keeps working)
    "hash",
    "name",
    "disabled",
    "usage_today",
    "usage_this_week",
    "usage_this_month",
    "created_at",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime):
        return sc.format_time(value)
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def _csv_items(sidecar: sc.Sidecar) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, fields) for every item of a version, in the sidecar's own field names."""
    for item in sidecar.balances:
        yield "balance", item.model_dump()
    if sidecar.key_limit is not None:
        yield "key_limit", sidecar.key_limit.model_dump()
    for spend in sidecar.spend:
        fields = spend.model_dump(exclude={"breakdown"})
        yield "spend", fields
        for line in spend.breakdown:
            yield (
                "spend_line",
                {**fields, "derived": [], "label": line.label, "amount": line.amount},
            )
    for quota in sidecar.quotas:
        yield "quota", quota.model_dump()
    for key in sidecar.account_keys:
        yield "account_key", key.model_dump()
    for note in sidecar.notes:
        yield "note", {"note": note}


def csv_rows(history: History, wanted: list[str]) -> list[list[str]]:
    """One row per item of every version (balance, key_limit, spend, spend_line, quota,
    account_key, note),
    every field of the format in its own column; only the wanted currencies' when named."""
    rows = [list(CSV_FIELDS)]
    for version in history.versions:
        sidecar = version.sidecar
        top = {
            "commit": version.commit,
            "observed_at": sidecar.observed_at,
            "available": sidecar.available,
            "provider": sidecar.provider,
            "entry": sidecar.entry,
        }
        items = list(_csv_items(sidecar)) or [("observation", {})]
        for kind, fields in items:
            if wanted and fields.get("currency") not in wanted:
                continue
            row = {**fields, **top, "kind": kind}
            rows.append([_cell(row.get(name)) for name in CSV_FIELDS])
    return rows


def csv_text(history: History, wanted: list[str]) -> str:
    """``keyz history ENTRY --csv``: one row per observation and item, with a header."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(csv_rows(history, wanted))
    return buffer.getvalue()


def version_json(version: Version) -> dict[str, object]:
    # a validated current-version file is already the JSON we would write: skip re-dumping
    data: dict[str, object] = (
        json.loads(version.document)
        if version.document is not None
        else sc.json_ready(version.sidecar)
    )
    data["commit"] = version.commit
    return data


__all__ = [
    "NOT_ENOUGH",
    "Burn",
    "Figure",
    "History",
    "Point",
    "Summary",
    "Version",
    "all_series",
    "balance",
    "burn",
    "burn_per_day",
    "changes_table",
    "csv_rows",
    "csv_text",
    "entry_detail",
    "entry_overview",
    "figures",
    "figures_of",
    "in_range",
    "overview_line",
    "read_history",
    "require_units",
    "select",
    "series",
    "span_text",
    "sparkline",
    "summaries",
    "summarize",
    "summary_dict",
    "summary_json",
    "summary_line",
    "units",
    "value_text",
    "version_json",
    "why_empty",
]
