"""OpenRouter: account credits with a management key, else the key's own cap.

``GET /api/v1/credits`` (management key required, per OpenRouter's docs)::

    {"data": {"total_credits": 100.5, "total_usage": 25.75}}

remaining = total_credits - total_usage, marked as derived. Ordinary keys get
401/403 there; keyz then reads ``GET /api/v1/key``, which describes the key's
own spending cap (``limit`` null = no cap), never the account balance; it
answers any valid key, so a 401 there means the key itself is invalid::

    {"data": {"limit": 100, "limit_remaining": 74.5, "limit_reset": "monthly",
              "usage": 25.5, "is_management_key": false, ...}}

The key's ``usage_daily`` / ``usage_weekly`` / ``usage_monthly`` (UTC day, week
from Monday, month) become spend windows next to the cap. All figures are USD numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

from keyz.errors import AuthError, ParseError
from keyz.money import optional_amount, parse_amount
from keyz.periods import day_start, month_start, week_start
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    KeyRejected,
    Provider,
    Report,
)
from keyz.sidecar import Balance, KeyLimit, Spend

CREDITS = Endpoint("credits", "/api/v1/credits", KeyKind.MANAGEMENT, Capability.BALANCE)
KEY = Endpoint("key", "/api/v1/key", KeyKind.REGULAR, Capability.KEY_LIMIT | Capability.SPEND)
NEEDS_MANAGEMENT_KEY = "account balance needs a management key"
_RESETS = ("daily", "weekly", "monthly")


def _data(payload: Any) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ParseError("the answer has no data object")
    return data


def parse_credits(payload: Any) -> Report:
    """Normalize a /credits answer: the account's balance in USD."""
    data = _data(payload)
    purchased = parse_amount(data.get("total_credits"), field="total_credits")
    used = parse_amount(data.get("total_usage"), field="total_usage")
    balance = Balance(
        currency="USD",
        remaining=purchased - used,
        purchased=purchased,
        used=used,
        derived=["remaining"],
        source=CREDITS.path,
    )
    return Report(available=None, balances=[balance])


_WINDOWS: Final = (
    ("today", "usage_daily", day_start),
    ("this_week", "usage_weekly", week_start),
    ("this_month", "usage_monthly", month_start),
)


def parse_key(payload: Any, now: datetime) -> Report:
    """Normalize a /key answer: the key's own cap and spend windows, no invented balance."""
    data = _data(payload)
    if "limit" not in data or data.get("usage") is None:  # both always sent; limit null = no cap
        raise ParseError("the answer has no limit and usage figures")
    spend = [
        Spend(
            period=period,  # type: ignore[arg-type]  # the names above are valid periods
            start=start(now),
            currency="USD",
            amount=parse_amount(data[name], field=name),
            source=KEY.path,
        )
        for period, name, start in _WINDOWS
        if data.get(name) is not None
    ]
    reset = data.get("limit_reset")
    limit = KeyLimit(
        currency="USD",
        limit=optional_amount(data.get("limit"), field="limit"),
        remaining=optional_amount(data.get("limit_remaining"), field="limit_remaining"),
        usage=optional_amount(data.get("usage"), field="usage"),
        reset=reset if reset in _RESETS else None,
        source=KEY.path,
    )
    return Report(available=None, key_limit=limit, spend=spend, notes=[NEEDS_MANAGEMENT_KEY])


class OpenRouter(Provider):
    id = "openrouter"
    title = "OpenRouter"
    short_name = "or"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://openrouter.ai"
    endpoints = (CREDITS, KEY)
    key_help: ClassVar[str] = (
        "a management key from openrouter.ai/settings/management-keys for the account balance; "
        "an ordinary key shows only its own limit"
    )
    path_words = ("openrouter",)
    key_prefixes = (KeyPrefix("sk-or-v1-", KeyKind.REGULAR, True, "an OpenRouter key"),)
    key_shapes = (r"sk-or-v1-[0-9a-f]{32,}",)
    demo_key = "sk-or-v1-" + "0123456789abcdef" * 4

    async def fetch(self, ctx: FetchContext) -> Report:
        headers = ctx.bearer()
        try:
            payload = await ctx.get_json(CREDITS, headers=headers)
        except AuthError:
            # Ordinary keys are refused by /credits; the key's own cap is still worth having.
            try:
                payload = await ctx.get_json(KEY, headers=headers)
            except AuthError as exc:
                if exc.status != 401:
                    raise
                # /key answers any valid key, so a 401 here is a bad key, not the wrong kind
                raise KeyRejected(
                    f"{exc}; the key is invalid or revoked: make a new one at "
                    "openrouter.ai/settings/keys",
                    status=401,
                ) from None
            return parse_key(payload, ctx.now)
        return parse_credits(payload)

    def examples(
        self,
        now: datetime,
        *,
        management: bool = True,
        total_credits: float = 100.5,
        total_usage: float = 25.75,
        limit: float | None = 100,
        limit_remaining: float | None = 74.5,
        limit_reset: str | None = "monthly",
        usage: float = 25.5,
    ) -> dict[str, Example]:
        """A management key's account; an ordinary key (``management=False``) gets its credits
        refused, as OpenRouter does, and only its own cap."""
        if management:
            body: Any = {"data": {"total_credits": total_credits, "total_usage": total_usage}}
            credits = Example(body)
        else:
            forbidden = {
                "error": {"code": 403, "message": "Only management keys can fetch credits"}
            }
            credits = Example(forbidden, 403)
        key = {
            "label": "sk-or-v1-au7...890",
            "limit": limit,
            "limit_reset": limit_reset,
            "limit_remaining": limit_remaining,
            "include_byok_in_limit": False,
            "usage": usage,
            "usage_daily": usage,
            "usage_weekly": usage,
            "usage_monthly": usage,
            "byok_usage": 0,
            "byok_usage_daily": 0,
            "byok_usage_weekly": 0,
            "byok_usage_monthly": 0,
            "is_free_tier": False,
            "is_management_key": management,
            "is_provisioning_key": management,
            "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
            "expires_at": None,
            "rate_limit": {
                "requests": 1000,
                "interval": "1h",
                "note": "This field is deprecated and safe to ignore.",
            },
        }
        return {CREDITS.path: credits, KEY.path: Example({"data": key})}


PROVIDER = OpenRouter()
