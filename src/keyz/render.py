"""Human-readable lines for sidecars: one place, used by tables and commit messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from keyz.fields import utc_now
from keyz.money import WIDE, display_amount, format_amount
from keyz.sidecar import AccountKey, Balance, KeyLimit, Quota, Sidecar, Spend, parse_time

DERIVED_MARK = "*"
DERIVED_NOTE = "* derived by keyz from figures the provider reported (e.g. credits - usage)"


def amount_text(amount: Decimal, unit_kind: str = "currency") -> str:
    """Money with two decimals at least; a provider's own unit (POINTS) as reported."""
    return display_amount(amount) if unit_kind == "currency" else format_amount(amount.normalize())


def balance_text(balance: Balance) -> str:
    """'CNY 110.00', 'USD 74.75*' (derived), 'POINTS 1500', 'USD unknown'."""
    if balance.remaining is None:
        return f"{balance.currency} unknown"
    mark = DERIVED_MARK if "remaining" in balance.derived else ""
    return f"{balance.currency} {amount_text(balance.remaining, balance.unit_kind)}{mark}"


def has_derived(sidecar: Sidecar) -> bool:
    """Whether summarize() marks a figure with DERIVED_MARK (so the note must go with it)."""
    return (
        any("remaining" in b.derived for b in sidecar.balances)
        or any(s.derived for s in sidecar.spend)
        or any("remaining_percent" in q.derived for q in sidecar.quotas)
    )


def summarize(sidecar: Sidecar) -> str:
    """'CNY 110.00 · USD 5.25', or the key limit, plus what could not be known."""
    return "; ".join(summary_parts(sidecar)) or "no figures reported"


def summary_parts(sidecar: Sidecar) -> list[str]:
    """What summarize() joins: balances, key limit, spend per currency, quotas, notes."""
    parts: list[str] = []
    if sidecar.balances:
        parts.append(" · ".join(balance_text(b) for b in sidecar.balances))
    if sidecar.key_limit is not None:
        parts.append(key_limit_text(sidecar.key_limit))
    parts.extend(spend_texts(sidecar.spend))
    for quota in sidecar.quotas:
        parts.append(quota_text(quota))
    if sidecar.available is False:
        parts.append("not available for API calls")
    return parts + list(sidecar.notes)


def key_limit_text(limit: KeyLimit) -> str:
    """'key limit: 12.50 of 20.00 USD left (monthly)', 'key limit: none, 7.50 USD used'."""
    reset = f" ({limit.reset})" if limit.reset else ""
    if limit.limit is None:
        used = (
            f", {display_amount(limit.usage)} {limit.currency} used"
            if limit.usage is not None
            else ""
        )
        return f"key limit: none{used}"
    if limit.remaining is not None:
        return (
            f"key limit: {display_amount(limit.remaining)} of {display_amount(limit.limit)} "
            f"{limit.currency} left{reset}"
        )
    return f"key limit: {display_amount(limit.limit)} {limit.currency}{reset}"


PERIODS = {
    "today": "today",
    "this_week": "this week",
    "this_month": "this month",
    "last_30_days": "in 30 days",
    "all_time": "in all",
}


def spend_texts(spend: Sequence[Spend]) -> list[str]:
    """One part per currency: 'spent USD 0.50 today · 3.25 this week · 12.40 this month'.

    '*' marks sums keyz made of the provider's daily figures.
    """
    order = list(PERIODS)
    by_currency: dict[str, list[Spend]] = {}
    for item in sorted(spend, key=lambda s: order.index(s.period)):
        by_currency.setdefault(item.currency, []).append(item)
    return [
        f"spent {currency} "
        + " · ".join(
            f"{display_amount(s.amount)}{DERIVED_MARK if s.derived else ''} {PERIODS[s.period]}"
            for s in items
        )
        for currency, items in sorted(by_currency.items())
    ]


def quota_text(quota: Quota) -> str:
    """'tokens (5h): 62% left, resets in 2h', 'tokens (5h): unlimited', or, when the provider
    tells only what was used (no allowance), 'premium requests (1mo): 100 requests used'."""
    label = f"{quota.label} ({quota.window})" if quota.window else quota.label
    if quota.unlimited:
        return f"{label}: unlimited"
    left, used = quota.remaining_percent, quota.used
    if left is not None:
        mark = DERIVED_MARK if "remaining_percent" in quota.derived else ""
        text = f"{label}: {format_amount(left.normalize())}%{mark} left"
    elif used is not None:
        unit = f" {quota.unit}" if quota.unit else ""
        text = f"{label}: {format_amount(used.normalize(WIDE))}{unit} used"
    else:
        return f"{label}: unknown"
    if quota.resets_at is not None:
        text += f", resets {until(quota.resets_at)}"
    return text


def account_key_lines(sidecar: Sidecar) -> list[str]:
    """Which key spends: a heading, then one line per key, the biggest spender this month first.

    'My Production Key (sk-or-v1-0e6...1c96): USD 25.50 this month · 25.50 in all;
    cap 74.50 of 100.00 left (monthly)'. Nothing when the sidecar lists no keys.
    """
    keys = sidecar.account_keys
    if not keys:
        return []
    ranked = sorted(keys, key=AccountKey.order)
    zero = Decimal(0)
    ranked.sort(key=lambda k: (k.usage_this_month or zero, k.usage or zero), reverse=True)
    noun = "key" if len(keys) == 1 else "keys"
    return [f"{len(keys)} {noun} of the account, most spent this month first:"] + [
        f"  {account_key_text(k)}" for k in ranked
    ]


def account_key_text(key: AccountKey) -> str:
    """One key: who it is (name, masked label), what it spent, its own cap."""
    who = " ".join(
        printable(part)
        for part in (key.name, f"({key.label})" if key.label and key.name else key.label)
        if part
    ) or (f"key {key.hash[:12]}" if key.hash else "a key (name withheld)")
    if key.disabled:
        who += " [disabled]"
    spent = [
        f"{display_amount(amount)} {period}"
        for amount, period in (
            (key.usage_today, "today"),
            (key.usage_this_week, "this week"),
            (key.usage_this_month, "this month"),
            (key.usage, "in all"),
        )
        if amount is not None
    ]
    parts = [f"{key.currency} " + " · ".join(spent)] if spent else ["spend unknown"]
    if key.limit is not None:
        reset = f" ({key.reset})" if key.reset else ""
        left = f"{display_amount(key.remaining)} of " if key.remaining is not None else ""
        parts.append(f"cap {left}{display_amount(key.limit)}{' left' if left else ''}{reset}")
    return f"{who}: {'; '.join(parts)}"


SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "JPY": "¥"}


def short_amount(amount: Decimal, unit: str, *, spent: bool = False) -> str:
    """'$74', '¥98', '<$1', '1500 POINTS': whole units, on the cautious side.

    Money left is rounded down (never more than is left; '<$1' while cents remain, so a
    few cents never read as nothing), money spent is rounded up (never less than was spent).
    """
    whole = amount.quantize(Decimal(1), ROUND_CEILING if spent else ROUND_FLOOR, WIDE)
    below_one = not spent and 0 < amount < 1
    text = "1" if below_one else format_amount(whole)
    symbol = SYMBOLS.get(unit)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    shown = f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {unit}"
    return f"<{shown}" if below_one else shown


def short_figure(sidecar: Sidecar | None) -> str:
    """The one figure that matters most: money left, else quota left, else key cap, else spend."""
    if sidecar is None:
        return "?"
    money = [b for b in sidecar.balances if b.remaining is not None]
    if money:
        return "/".join(
            short_amount(b.remaining, b.currency) for b in money if b.remaining is not None
        )
    left = [q.remaining_percent for q in sidecar.quotas if q.remaining_percent is not None]
    if left:
        lowest = min(left)
        if 0 < lowest < 1:
            return "<1%"
        return f"{format_amount(lowest.quantize(Decimal(1), ROUND_FLOOR, WIDE))}%"
    limit = sidecar.key_limit
    if limit is not None and limit.remaining is not None:
        return short_amount(limit.remaining, limit.currency)
    for spend in sidecar.spend:
        if spend.period == "this_month":
            return f"{short_amount(spend.amount, spend.currency, spent=True)}/mo"
    return "?"


def short_name(provider_id: str) -> str:
    """The provider's own 2-3 letters ('ds'), or its id when keyz does not know it.

    Imports only that provider's module: a status bar asks for a few, never for all.
    """
    from keyz.errors import KeyzError
    from keyz.providers import get_provider

    try:
        return get_provider(provider_id).short_name
    except KeyzError:  # a hand-edited config naming an unknown provider
        return provider_id


def short_line(rows: Sequence[tuple[str, str, Sidecar | None, bool]]) -> str:
    """'ds ¥98 · or $74 · mm 62%' for (entry, provider, sidecar, has_problem) rows; '!' marks
    a figure that is stale or whose last check failed."""
    counts: dict[str, int] = {}
    for _, provider, _, _ in rows:
        counts[provider] = counts.get(provider, 0) + 1
    parts = []
    for entry, provider, sidecar, problem in rows:
        name = short_name(provider)
        if counts[provider] > 1:
            name += ":" + entry.rsplit("/", 1)[-1]
        parts.append(f"{name} {short_figure(sidecar)}{'!' if problem else ''}")
    return " · ".join(parts)


def printable(text: str) -> str:
    """``text`` as is, or quoted with escapes when it holds what a terminal would act on."""
    return text if text.isprintable() else repr(text)


def elide(text: str, width: int | None, tail: str = "") -> str:
    """``text + tail`` in ``width`` columns (None: any): ``text`` is cut first, ending in '…',
    so that a marker in ``tail`` ('  ! stale') survives; then ``tail`` itself."""
    if width is None or len(text) + len(tail) <= width:
        return text + tail
    room = width - len(tail)
    if room >= 10 or (room >= 1 and not tail):
        return text[: room - 1] + "…" + tail
    tail = tail.lstrip()
    return tail if len(tail) <= width else tail[: max(width - 1, 0)] + "…"


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of every column but the last (which is never padded)."""
    if not rows:
        return []
    return [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]


def table_line(
    row: Sequence[str], widths: Sequence[int], fit: int | None = None, tail: str = ""
) -> str:
    """One row; with ``fit``, the last cell (then ``tail`` after it) is cut to ``fit`` columns.

    The other cells are never cut: an entry name must stay whole to be typed again. Should
    they alone take the line, the last cell keeps 20 columns and the terminal wraps it.
    """
    cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
    head = "  ".join([*cells, ""]) if cells else ""
    room = None if fit is None else max(fit - len(head), 20)
    return (head + elide(row[-1], room, tail)).rstrip()


def table(rows: Sequence[Sequence[str]], fit: int | None = None) -> str:
    """Left-aligned columns separated by two spaces (pass-like, no box drawing), each line
    cut to ``fit`` columns when given (a terminal), never when None (a pipe)."""
    widths = column_widths(rows)
    return "\n".join(table_line(row, widths, fit) for row in rows)


def age(timestamp: datetime | str | None, now: datetime | None = None) -> str:
    """'3m ago', '5h ago', '2d ago'; 'never' for None."""
    if timestamp is None:
        return "never"
    if isinstance(timestamp, str):
        timestamp = parse_time(timestamp)
    seconds = int(((now or utc_now()) - timestamp).total_seconds())
    if seconds < 0:
        return "in the future (clock skew?)"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def until(timestamp: datetime, now: datetime | None = None) -> str:
    """'in 2h', 'in 3d'; 'now' once passed."""
    seconds = int((timestamp - (now or utc_now())).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"in {seconds // size}{unit}"
    return "in <1m" if seconds > 0 else "now"


__all__ = [
    "DERIVED_NOTE",
    "account_key_lines",
    "account_key_text",
    "age",
    "amount_text",
    "balance_text",
    "column_widths",
    "elide",
    "has_derived",
    "key_limit_text",
    "quota_text",
    "short_line",
    "short_name",
    "spend_texts",
    "summarize",
    "summary_parts",
    "table",
    "table_line",
    "until",
]
