"""Anthropic Admin API: ``GET /v1/organizations/cost_report`` (spend, not a balance).

Needs an Admin API key (``sk-ant-admin…``), sent as ``x-api-key`` with
``anthropic-version: 2023-06-01``. Documented answer (platform.claude.com, cost report)::

    {"data": [{"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z",
               "results": [{"amount": "123.45", "currency": "USD", "cost_type": null, ...}]}],
     "has_more": false, "next_page": null}

``amount`` is a decimal string in the **lowest currency unit** (cents): "123.45" is
$1.2345. Buckets are daily only, at most 31 per page; keyz follows ``next_page``
and sums the buckets into this month and the last 30 days (marked derived).
Anthropic has no public balance endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError
from keyz.fields import format_time
from keyz.money import parse_amount
from keyz.providers._buckets import Cost, collect, query_start, windows
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    Provider,
    Report,
)
from keyz.sidecar import parse_time

COST_REPORT = Endpoint(
    "cost report", "/v1/organizations/cost_report", KeyKind.ADMIN, Capability.SPEND
)
CENTS: Final = Decimal(100)
VERSION: Final = "2023-06-01"


def parse_page(payload: Any) -> tuple[list[Cost], str | None]:
    """The costs of one page and the next page's cursor (None when there is none)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ParseError("the answer has no data list")
    costs: list[Cost] = []
    for bucket in payload["data"]:
        if not isinstance(bucket, dict) or not isinstance(bucket.get("starting_at"), str):
            raise ParseError("a bucket has no starting_at")
        day = _day(bucket["starting_at"])
        for result in bucket.get("results") or []:
            if not isinstance(result, dict):
                raise ParseError("a result is not an object")
            currency = result.get("currency")
            if not isinstance(currency, str):
                raise ParseError("a result has no currency")
            amount = parse_amount(result.get("amount"), field="amount", scale=CENTS)
            costs.append(Cost(day, currency.strip().upper(), amount))
    cursor = payload.get("next_page") if payload.get("has_more") is True else None
    if cursor is not None and not isinstance(cursor, str):
        raise ParseError("next_page is not a string")
    return costs, cursor


def _day(text: str) -> Any:
    try:
        return parse_time(text.replace(".000Z", "Z").replace("+00:00", "Z"))
    except ValueError:
        raise ParseError(f"{text[:40]!r} is not a UTC time") from None


class Anthropic(Provider):
    id = "anthropic"
    title = "Anthropic"
    short_name = "an"
    key_kind = KeyKind.ADMIN
    default_base_url = "https://api.anthropic.com"
    endpoints = (COST_REPORT,)
    key_help: ClassVar[str] = (
        "an Admin API key (sk-ant-admin…) from console.anthropic.com → Settings → Admin keys; "
        "organisation admins only"
    )
    path_words = ("anthropic", "claude")
    key_prefixes = (
        KeyPrefix("sk-ant-admin", KeyKind.ADMIN, True, "an Anthropic Admin API key"),
        KeyPrefix("sk-ant-", KeyKind.REGULAR, False, "an Anthropic API key (not an admin key)"),
    )
    key_shapes = (r"sk-ant-(?:api\d\d|admin\d\d)-[A-Za-z0-9_\-]{20,}",)
    demo_key = "sk-ant-admin01-" + "demo" * 12

    async def fetch(self, ctx: FetchContext) -> Report:
        headers = {"x-api-key": ctx.secret.value, "anthropic-version": VERSION}
        query = {
            "starting_at": format_time(query_start(ctx.now)),
            "bucket_width": "1d",
            "limit": "31",
        }
        costs = await collect(ctx, COST_REPORT, query, headers=headers, parse_page=parse_page)
        return Report(available=None, spend=windows(costs, ctx.now, COST_REPORT.path))

    def examples(
        self, now: datetime, *, daily_cents: Sequence[str] = ("412.50", "1380", "977.25")
    ) -> dict[str, Example]:
        """One cost-report page: ``daily_cents[i]`` was spent i days ago (strings in cents)."""
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        buckets = [
            {
                "starting_at": format_time(today - timedelta(days=i)),
                "ending_at": format_time(today - timedelta(days=i - 1)),
                "results": [
                    {
                        "amount": cents,
                        "currency": "USD",
                        "cost_type": None,
                        "description": None,
                        "model": None,
                        "service_tier": None,
                        "context_window": None,
                        "token_type": None,
                        "workspace_id": None,
                    }
                ],
            }
            for i, cents in reversed(list(enumerate(daily_cents)))
        ]
        body = {"data": buckets, "has_more": False, "next_page": None}
        return {COST_REPORT.path: Example(body)}


PROVIDER = Anthropic()
