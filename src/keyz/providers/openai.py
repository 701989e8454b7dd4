"""OpenAI Administration API: ``GET /v1/organization/costs`` (spend, not a balance).

Needs an admin key (``sk-admin-…``), Bearer; project and service-account keys get
403. Documented answer (OpenAI API reference, usage/costs)::

    {"object": "page",
     "data": [{"object": "bucket", "start_time": 1730419200, "end_time": 1730505600,
               "results": [{"object": "organization.costs.result",
                            "amount": {"value": 0.06, "currency": "usd"}, ...}]}],
     "has_more": false, "next_page": null}

``amount.value`` is in **dollars**; documented as a number but seen as a string in
the wild, so both are accepted. Daily buckets (limit ≤ 180); keyz follows
``next_page`` and sums this month and the last 30 days (marked derived).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from keyz.errors import ParseError
from keyz.money import parse_amount
from keyz.periods import from_epoch
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

COSTS = Endpoint("costs", "/v1/organization/costs", KeyKind.ADMIN, Capability.SPEND)


def parse_page(payload: Any) -> tuple[list[Cost], str | None]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ParseError("the answer has no data list")
    costs: list[Cost] = []
    for bucket in payload["data"]:
        day = from_epoch(bucket.get("start_time")) if isinstance(bucket, dict) else None
        if day is None:
            raise ParseError("a bucket has no start_time")
        for result in bucket.get("results") or []:
            amount = result.get("amount") if isinstance(result, dict) else None
            if not isinstance(amount, dict) or not isinstance(amount.get("currency"), str):
                raise ParseError("a result has no amount with a currency")
            value = parse_amount(amount.get("value"), field="amount.value")
            costs.append(Cost(day, amount["currency"].strip().upper(), value))
    cursor = payload.get("next_page") if payload.get("has_more") is True else None
    if cursor is not None and not isinstance(cursor, str):
        raise ParseError("next_page is not a string")
    return costs, cursor


class OpenAI(Provider):
    id = "openai"
    title = "OpenAI"
    short_name = "oa"
    key_kind = KeyKind.ADMIN
    default_base_url = "https://api.openai.com"
    endpoints = (COSTS,)
    key_help: ClassVar[str] = (
        "an admin key (sk-admin-…) from platform.openai.com/settings/organization/admin-keys; "
        "project keys cannot read organisation costs"
    )
    path_words = ("openai",)
    key_prefixes = (
        KeyPrefix("sk-admin-", KeyKind.ADMIN, True, "an OpenAI admin key"),
        KeyPrefix("sk-proj-", KeyKind.REGULAR, False, "an OpenAI project key (not an admin key)"),
        KeyPrefix("sk-svcacct-", KeyKind.REGULAR, False, "an OpenAI service-account key"),
    )
    key_shapes = (r"sk-(?:proj|svcacct|service|admin)-[A-Za-z0-9_\-]{16,}",)
    demo_key = "sk-admin-" + "demo" * 10

    async def fetch(self, ctx: FetchContext) -> Report:
        headers = ctx.bearer()
        query = {
            "start_time": str(int(query_start(ctx.now).timestamp())),
            "bucket_width": "1d",
            "limit": "31",
        }
        costs = await collect(ctx, COSTS, query, headers=headers, parse_page=parse_page)
        return Report(available=None, spend=windows(costs, ctx.now, COSTS.path))

    def examples(
        self, now: datetime, *, daily_dollars: Sequence[str] = ("12.40", "30.10", "8.75")
    ) -> dict[str, Example]:
        """One costs page: ``daily_dollars[i]`` spent i days ago (sent as numbers)."""
        today = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
        buckets = [
            {
                "object": "bucket",
                "start_time": today - i * 86400,
                "end_time": today - (i - 1) * 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": Decimal(value), "currency": "usd"},
                        "line_item": None,
                        "project_id": None,
                        "api_key_id": None,
                        "quantity": None,
                    }
                ],
            }
            for i, value in reversed(list(enumerate(daily_dollars)))
        ]
        body = {"object": "page", "data": buckets, "has_more": False, "next_page": None}
        return {COSTS.path: Example(body)}


PROVIDER = OpenAI()
