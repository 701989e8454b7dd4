"""z.ai / Zhipu GLM Coding Plan: ``GET /api/monitor/usage/quota/limit`` (quota windows).

Hosts: ``api.z.ai`` (region ``global``) and ``open.bigmodel.cn`` (``cn``). The
official usage plugin (zai-org/zai-coding-plugins) sends the key as the bare
``Authorization`` value, without "Bearer"; keyz does the same. Answer shape::

    {"success": true, "code": 200, "msg": "Operation successful",
     "data": {"limits": [{"type": "TOKENS_LIMIT", "unit": 3, "number": 5,
                          "usage": 40000000, "currentValue": 11200000,
                          "remaining": 28800000, "percentage": 28,
                          "nextResetTime": 1763474400000}]}}

HTTP 200 with ``success: false`` (or ``code != 200``) is an error. ``percentage`` is
the **used** percent, so remaining = 100 - percentage (derived). ``unit``:
1 = day, 3 = hour, 5 = month, 6 = week, with ``number`` of them per window: a
plan has a 5-hour (3/5) and a weekly (6/1) ``TOKENS_LIMIT`` row and a monthly (5/1)
``TIME_LIMIT`` row (MCP tool calls; the official plugin labels it "1 Month").
Newer plans send ``CREDIT_LIMIT`` rows (same shape, counted in credits) instead
of ``TOKENS_LIMIT``. ``nextResetTime`` is epoch milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.money import optional_amount, parse_amount
from keyz.periods import from_epoch
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Option,
    Provider,
    Region,
    Report,
)
from keyz.redact import clean
from keyz.sidecar import Quota

QUOTA = Endpoint("quota", "/api/monitor/usage/quota/limit", KeyKind.REGULAR, Capability.QUOTA)
REGIONS = {
    r.name: r
    for r in (
        Region("global", "https://api.z.ai", "USD"),
        Region("cn", "https://open.bigmodel.cn", "CNY"),
    )
}
# unit code -> (days or hours per unit, window suffix, label prefix); a window of hours
# keeps the bare label, longer ones are named so two rows of one type never share a label
UNITS: Final = {
    1: (1, "d", "daily "),
    3: (1, "h", ""),
    5: (1, "mo", "monthly "),
    6: (7, "d", "weekly "),
}
LABELS: Final = {"TOKENS_LIMIT": "tokens", "CREDIT_LIMIT": "credits", "TIME_LIMIT": "mcp calls"}


def parse_limits(payload: Any) -> Report:
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    if payload.get("success") is not True or payload.get("code", 200) != 200:
        message = payload.get("msg")
        said = f": {clean(message, 100)}" if isinstance(message, str) else ""
        raise ProviderError(f"the provider reported an error (code {payload.get('code')!r}){said}")
    data = payload.get("data")
    limits = data.get("limits") if isinstance(data, dict) else None
    if not isinstance(limits, list):
        raise ParseError("the answer has no data.limits list")
    quotas = [_quota(item) for item in limits]
    if not quotas:
        raise ParseError("the plan reports no limits")
    unknown = sorted({q.label for q in quotas if q.window is None})
    notes = [f"unknown window unit, length not shown: {label}" for label in unknown]
    return Report(available=None, quotas=quotas, notes=notes)


def _quota(item: Any) -> Quota:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise ParseError("a limit has no type")
    used_percent = parse_amount(item.get("percentage"), field="percentage")
    # a type keyz does not know keeps its name: masked before it is cut, never stored raw
    label = LABELS.get(item["type"]) or clean(item["type"].lower().replace("_", " "), 40)
    raw_unit, number = item.get("unit"), item.get("number")
    known = UNITS.get(raw_unit) if type(raw_unit) is int else None
    if known and type(number) is int and number > 0:
        size, suffix, prefix = known
        window: str | None = f"{size * number}{suffix}"
        label = prefix + label
    else:  # never guess a length: the row stays, without one, under a label of its own
        window = None
        label += f" (unit {repr(raw_unit)[:12]}, number {repr(number)[:12]})"
    return Quota(
        label=label,
        window=window,
        remaining_percent=100 - used_percent,
        limit=optional_amount(item.get("usage"), field="usage"),
        used=optional_amount(item.get("currentValue"), field="currentValue"),
        remaining=optional_amount(item.get("remaining"), field="remaining"),
        resets_at=from_epoch(item.get("nextResetTime")),
        derived=["remaining_percent"],
        source=QUOTA.path,
    )


class Zai(Provider):
    id = "zai"
    title = "z.ai (Zhipu GLM Coding Plan)"
    short_name = "zai"
    key_kind = KeyKind.REGULAR
    default_base_url = REGIONS["global"].base_url
    endpoints = (QUOTA,)
    regions = REGIONS
    options: ClassVar = {
        "region": Option("global (api.z.ai; default) or cn (open.bigmodel.cn)", ("global", "cn"))
    }
    key_help: ClassVar[str] = (
        "the GLM Coding Plan API key from z.ai/manage-apikey, or open.bigmodel.cn with region=cn"
    )
    path_words = ("zai", "zhipu", "bigmodel", "glm", "z.ai")
    demo_key = "demo0000zai00000000000000000000.demo0000"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(QUOTA, headers={"Authorization": ctx.secret.value})
        return parse_limits(payload)

    def examples(self, now: datetime, *, used_percent: int = 28) -> dict[str, Example]:
        reset = int(now.timestamp() * 1000) + 2 * 3_600_000
        limits = [
            {
                "type": "TOKENS_LIMIT",
                "unit": 3,
                "number": 5,
                "usage": 40_000_000,
                "currentValue": 11_200_000,
                "remaining": 28_800_000,
                "percentage": used_percent,
                "nextResetTime": reset,
            },
            {
                "type": "TOKENS_LIMIT",
                "unit": 6,
                "number": 1,
                "usage": 400_000_000,
                "currentValue": 236_000_000,
                "remaining": 164_000_000,
                "percentage": 59,
                "nextResetTime": reset + 3 * 86_400_000,
            },
            {
                "type": "TIME_LIMIT",
                "unit": 5,
                "number": 1,
                "usage": 1000,
                "currentValue": 10,
                "remaining": 990,
                "percentage": 1,
                "usageDetails": [{"modelCode": "search-prime", "usage": 10}],
            },
        ]
        body = {
            "success": True,
            "code": 200,
            "msg": "Operation successful",
            "data": {"limits": limits, "planName": "Pro"},
        }
        return {QUOTA.path: Example(body)}


PROVIDER = Zai()
