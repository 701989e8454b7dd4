"""MiniMax Token Plan / Coding Plan: ``GET /v1/token_plan/remains`` (quota windows).

Needs the plan key (``sk-cp-…``), Bearer; pay-as-you-go keys (``sk-api-…``) do not
work. Hosts: ``api.minimax.io`` (region ``global``) and ``api.minimaxi.com`` (``cn``).
Answer shape (fields per MiniMax's official CLI and the Token Plan FAQ)::

    {"base_resp": {"status_code": 0, "status_msg": "success"},
     "model_remains": [{"model_name": "MiniMax-M2", "start_time": 1763452800000,
                        "end_time": 1763470800000, "current_interval_total_count": 1500,
                        "current_interval_usage_count": 151,
                        "current_interval_remaining_percent": 89.93,
                        "current_interval_status": 1, "weekly_start_time": ...,
                        "weekly_end_time": ..., "current_weekly_remaining_percent": 97, ...}]}

Quirks, handled once here:
- errors arrive as HTTP 200 with ``base_resp.status_code != 0`` (1004, 2049, 2062);
- ``current_*_remaining_percent`` is used whenever present; the ``*_usage_count``
  fields mean "remaining" on the older coding_plan endpoint but "used" on this one,
  so a count is only read when no percent is given, and then as **used** (as
  MiniMax's own CLI reads this endpoint), marked derived;
- ``*_status == 3`` is an unlimited window;
- the ``general`` or ``MiniMax-M*`` row is the text/coding quota.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import AuthError, ParseError, ProviderError
from keyz.money import optional_amount
from keyz.periods import from_epoch
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    Option,
    Provider,
    Region,
    Report,
)
from keyz.redact import clean
from keyz.sidecar import Quota

REMAINS = Endpoint("remains", "/v1/token_plan/remains", KeyKind.REGULAR, Capability.QUOTA)
REGIONS = {
    r.name: r
    for r in (
        Region("global", "https://api.minimax.io", "USD"),
        Region("cn", "https://api.minimaxi.com", "CNY"),
    )
}
UNLIMITED: Final = 3
_ERRORS: Final = {
    1004: "the key was not accepted (MiniMax 1004: not logged in); use the Token Plan key "
    "(sk-cp-…), not a pay-as-you-go key",
    2049: "the key is not valid on this MiniMax site (2049); a key from minimaxi.com needs "
    "region=cn, one from minimax.io region=global",
    2062: "this account has no active Token Plan subscription (2062)",
}
_WINDOWS: Final = (
    # label, count/percent prefix, start field, end field
    ("interval", "current_interval", "start_time", "end_time"),
    ("weekly", "current_weekly", "weekly_start_time", "weekly_end_time"),
)


def parse_remains(payload: Any) -> Report:
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    base = payload.get("base_resp")
    code = base.get("status_code") if isinstance(base, dict) else None
    if code != 0:
        known = _ERRORS.get(code) if isinstance(code, int) else None
        message = base.get("status_msg") if isinstance(base, dict) else None
        said = f": {clean(message, 100)}" if isinstance(message, str) else ""
        text = known or f"the provider reported error {code!r}{said}"
        raise (AuthError if code in (1004, 2049) else ProviderError)(text)
    rows = payload.get("model_remains")
    if not isinstance(rows, list):
        raise ParseError("the answer has no model_remains list")
    row = _chat_row(rows)
    quotas = [q for q in (_window(row, *spec) for spec in _WINDOWS) if q is not None]
    if not quotas:
        raise ParseError("the plan row has no interval or weekly figures")
    # the model name is stored only when it is a model name (it is free text from outside)
    name = str(row.get("model_name"))
    shown = name if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}", name) else "the chat models"
    return Report(available=None, quotas=quotas, notes=[f"plan quota of {shown}"])


def _chat_row(rows: list[Any]) -> dict[str, Any]:
    named = [r for r in rows if isinstance(r, dict) and isinstance(r.get("model_name"), str)]
    for row in named:
        if row["model_name"].lower() == "general":
            return row
    for row in named:
        if row["model_name"].lower().startswith("minimax-m"):
            return row
    raise ParseError("no 'general' or 'MiniMax-M*' row in model_remains")


def _window(row: dict[str, Any], label: str, prefix: str, start: str, end: str) -> Quota | None:
    percent = optional_amount(row.get(f"{prefix}_remaining_percent"), field="remaining_percent")
    total = optional_amount(row.get(f"{prefix}_total_count"), field="total_count")
    used = optional_amount(row.get(f"{prefix}_usage_count"), field="usage_count")
    begins, resets = from_epoch(row.get(start)), from_epoch(row.get(end))
    window = _length(begins, resets)
    if row.get(f"{prefix}_status") == UNLIMITED:
        return Quota(
            label=label, window=window, remaining_percent=None, unlimited=True, source=REMAINS.path
        )
    if percent is not None:  # the one unambiguous figure: never second-guessed from counts
        return Quota(
            label=label,
            window=window,
            remaining_percent=percent,
            resets_at=resets,
            source=REMAINS.path,
        )
    if total and used is not None:
        left = (total - used) / total * 100
        return Quota(
            label=label,
            window=window,
            remaining_percent=left.quantize(Decimal("0.01")),
            used=used,
            limit=total,
            resets_at=resets,
            derived=["remaining_percent"],
            source=REMAINS.path,
        )
    return None


def _length(start: Any, end: Any) -> str | None:
    if start is None or end is None or end <= start:
        return None
    hours = int((end - start).total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 and hours >= 24 else f"{hours}h"


class MiniMax(Provider):
    id = "minimax"
    title = "MiniMax"
    short_name = "mm"
    key_kind = KeyKind.REGULAR
    default_base_url = REGIONS["global"].base_url
    endpoints = (REMAINS,)
    regions = REGIONS
    options: ClassVar = {
        "region": Option(
            "global (api.minimax.io; default) or cn (api.minimaxi.com)", ("global", "cn")
        )
    }
    key_help: ClassVar[str] = (
        "the Token Plan / Coding Plan key (sk-cp-…) from platform.minimax.io, or "
        "platform.minimaxi.com with region=cn"
    )
    path_words = ("minimax",)
    key_prefixes = (
        KeyPrefix("sk-cp-", KeyKind.REGULAR, True, "a MiniMax Token Plan key"),
        KeyPrefix("sk-api-", KeyKind.REGULAR, False, "a MiniMax pay-as-you-go key (no plan)"),
    )
    key_shapes = (r"sk-cp-[A-Za-z0-9_\-]{16,}",)
    demo_key = "sk-cp-" + "demo" * 10

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(REMAINS, headers=ctx.bearer())
        return parse_remains(payload)

    def examples(
        self,
        now: datetime,
        *,
        interval_percent: str = "89.93",
        weekly_percent: str = "97",
        status_code: int = 0,
    ) -> dict[str, Example]:
        """``status_code``: 0, or one of the errors MiniMax sends with HTTP 200."""
        ms = int(now.timestamp() * 1000)
        row = {
            "model_name": "MiniMax-M2",
            "start_time": ms - 3_600_000,
            "end_time": ms + 4 * 3_600_000,
            "remains_time": 4 * 3_600_000,
            "current_interval_total_count": 1500,
            "current_interval_usage_count": 151,
            "current_interval_remaining_percent": Decimal(interval_percent),
            "current_interval_status": 1,
            "weekly_start_time": ms - 86_400_000,
            "weekly_end_time": ms + 6 * 86_400_000,
            "current_weekly_total_count": 15000,
            "current_weekly_usage_count": 450,
            "current_weekly_remaining_percent": Decimal(weekly_percent),
            "current_weekly_status": 1,
        }
        messages = {0: "success", 1004: "login fail", 2049: "invalid api key", 2062: "no plan"}
        body = {
            "base_resp": {"status_code": status_code, "status_msg": messages[status_code]},
            "model_remains": [row, {**row, "model_name": "video"}],
        }
        return {REMAINS.path: Example(body)}


PROVIDER = MiniMax()
