"""Daily cost buckets (Anthropic, OpenAI) summed into spend windows; shared by both modules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from keyz.errors import ParseError, ProviderError
from keyz.periods import last_days_start, month_start
from keyz.sidecar import Spend

if TYPE_CHECKING:
    from keyz.providers.base import Endpoint, FetchContext

MAX_PAGES: Final = 20  # 31-day pages: far more than the 31 days keyz asks for


@dataclass(frozen=True)
class Cost:
    """One reported amount in one daily bucket, already in the currency's major unit."""

    day: datetime  # the bucket's start (UTC)
    currency: str
    amount: Decimal


ParsePage = Callable[[Any], tuple[list["Cost"], str | None]]


async def collect(
    ctx: FetchContext,
    endpoint: Endpoint,
    query: Mapping[str, str],
    *,
    headers: Mapping[str, str],
    parse_page: ParsePage,
) -> list[Cost]:
    """Every page of a cost report, following ``next_page`` (as ``page``) until ``has_more`` ends."""
    params = dict(query)
    costs: list[Cost] = []
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        payload = await ctx.get_json(endpoint, headers=headers, query=params)
        page, cursor = parse_page(payload)
        costs.extend(page)
        if cursor is None:
            return costs
        if cursor in seen:
            raise ParseError("the same next_page came back twice")
        seen.add(cursor)
        params["page"] = cursor
    raise ProviderError(f"more than {MAX_PAGES} pages")


def query_start(now: datetime) -> datetime:
    """The earliest day any window needs: the month's first day or 30 days back."""
    return min(month_start(now), last_days_start(now))


def windows(costs: Iterable[Cost], now: datetime, source: str) -> list[Spend]:
    """``this_month`` and ``last_30_days`` per currency, summed by keyz (so marked derived)."""
    periods = {"this_month": month_start(now), "last_30_days": last_days_start(now)}
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    currencies: set[str] = set()
    for cost in costs:
        currencies.add(cost.currency)
        for period, start in periods.items():
            if start <= cost.day <= now:
                sums[(cost.currency, period)] += cost.amount
    if not currencies:
        currencies.add("USD")  # no bucket at all: nothing was spent in the window
    return [
        Spend(
            period=period,  # type: ignore[arg-type]  # the keys above are valid periods
            start=start,
            currency=currency,
            amount=sums[(currency, period)],
            derived=["amount"],
            source=source,
        )
        for currency in sorted(currencies)
        for period, start in periods.items()
    ]


__all__ = ["MAX_PAGES", "Cost", "collect", "query_start", "windows"]
