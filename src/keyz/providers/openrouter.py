"""OpenRouter: account credits with a management key, else the key's own cap.

``GET /api/v1/credits`` (management key required, per OpenRouter's docs)::

    {"data": {"total_credits": 100.5, "total_usage": 25.75}}

remaining = total_credits - total_usage, marked as derived. Ordinary keys get
401/403 there; keyz then reads ``GET /api/v1/key``, which describes the key's
own spending cap (``limit`` null = no cap), never the account balance::

    {"data": {"limit": 100, "limit_remaining": 74.5, "limit_reset": "monthly",
              "usage": 25.5, "is_management_key": false, ...}}

All figures are USD numbers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from keyz.errors import AuthError, ProviderError
from keyz.money import optional_amount, parse_amount
from keyz.providers.base import Capability, Endpoint, FetchContext, KeyKind, Provider, Report
from keyz.sidecar import Balance, KeyLimit

CREDITS = Endpoint("/api/v1/credits", KeyKind.MANAGEMENT, Capability.BALANCE)
KEY = Endpoint("/api/v1/key", KeyKind.REGULAR, Capability.KEY_LIMIT)
NEEDS_MANAGEMENT_KEY = "account balance needs a management key"
_RESETS = ("daily", "weekly", "monthly")


def _data(payload: Any, what: str) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ProviderError(f"{what}: the answer has no data object")
    return data


def parse_credits(payload: Any) -> Report:
    """Normalize a /credits answer: the account's balance in USD."""
    data = _data(payload, "openrouter credits")
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


def parse_key(payload: Any) -> Report:
    """Normalize a /key answer: the key's own cap, and no invented account balance."""
    data = _data(payload, "openrouter key")
    reset = data.get("limit_reset")
    limit = KeyLimit(
        currency="USD",
        limit=optional_amount(data.get("limit"), field="limit"),
        remaining=optional_amount(data.get("limit_remaining"), field="limit_remaining"),
        usage=optional_amount(data.get("usage"), field="usage"),
        reset=reset if reset in _RESETS else None,
        source=KEY.path,
    )
    return Report(available=None, key_limit=limit, notes=[NEEDS_MANAGEMENT_KEY])


class OpenRouter(Provider):
    id = "openrouter"
    title = "OpenRouter"
    capabilities = Capability.BALANCE | Capability.KEY_LIMIT
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://openrouter.ai"
    endpoints = (CREDITS, KEY)
    key_help: ClassVar[str] = (
        "a management key from openrouter.ai/settings/management-keys for the account balance; "
        "an ordinary key shows only its own limit"
    )

    async def fetch(self, ctx: FetchContext) -> Report:
        headers = {"Authorization": f"Bearer {ctx.secret.value}"}
        try:
            payload = await ctx.http.get_json(
                ctx.url(CREDITS), headers=headers, what="openrouter credits"
            )
        except AuthError:
            # Ordinary keys are refused by /credits; the key's own cap is still worth having.
            payload = await ctx.http.get_json(ctx.url(KEY), headers=headers, what="openrouter key")
            return parse_key(payload)
        return parse_credits(payload)


PROVIDER = OpenRouter()
