"""ZenMux: the Pay As You Go balance, ``GET /api/v1/management/payg/balance``, with a
Management API key.

Official reference: https://docs.zenmux.ai/api/platform/payg-balance.html (Get PAYG
Balance). Only a Management API Key (created in the ZenMux console, Management page) is
accepted; standard API keys are not. Documented example::

    {"success": true,
     "data": {"currency": "usd", "total_credits": 482.74,
              "top_up_credits": 35.00, "bonus_credits": 447.74}}

``currency`` is "always usd"; the credits are numbers in US dollars (1 credit = $1, says
https://docs.zenmux.ai/guide/pay-as-you-go.html), and ``total_credits = top_up_credits +
bonus_credits`` up to floating-point error. Each endpoint has its own per-minute limit;
past it ZenMux answers **HTTP 422**, not 429. Errors come in ZenMux's envelope
(https://docs.zenmux.ai/guide/advanced/error-codes.html)::

    {"error": {"code": "403", "type": "access_denied",
               "message": "You have no permission to access this resource"}}

Inference keys are documented as ``sk-ai-v1-…`` (Pay As You Go: docs.zenmux.ai's Cursor
and Dify guides) and ``sk-ss-v1-…`` (Builder Plan subscription: the zenmux-setup skill of
ZenMux's own github.com/ZenMux/skills); neither can read the balance. The Management key's
look is not documented, so keyz declares no prefix for it.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.money import optional_amount, parse_amount
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
from keyz.redact import clean
from keyz.sidecar import Balance

BALANCE = Endpoint(
    "payg balance", "/api/v1/management/payg/balance", KeyKind.MANAGEMENT, Capability.BALANCE
)
RATE_LIMITED: Final = 422  # ZenMux's status for "over the per-minute limit"
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")


def _refusal(payload: dict[str, Any]) -> str:
    """ZenMux's own reason from its error envelope, masked and cut, or ''."""
    error = payload.get("error")
    if not isinstance(error, dict):
        return ""
    parts = [error.get(name) for name in ("type", "message")]
    return clean(": ".join(p for p in parts if isinstance(p, str) and p), 200)


def parse_balance(payload: Any) -> Report:
    """Normalize a payg/balance answer: one balance in the answer's currency (USD)."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    if payload.get("success") is not True:
        reason = _refusal(payload)
        raise ProviderError(
            "the answer says the request did not succeed" + (f": {reason}" if reason else "")
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ParseError("the answer has no data object")
    currency = data.get("currency", "usd")  # documented as always "usd"
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ParseError("data.currency is not a currency code")
    balance = Balance(
        currency=currency.upper(),
        remaining=parse_amount(data.get("total_credits"), field="total_credits"),
        topped_up=optional_amount(data.get("top_up_credits"), field="top_up_credits"),
        granted=optional_amount(data.get("bonus_credits"), field="bonus_credits"),
        source=BALANCE.path,
    )
    return Report(available=None, balances=[balance])


class ZenMux(Provider):
    id = "zenmux"
    title = "ZenMux"
    short_name = "zm"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://zenmux.ai"
    endpoints = (BALANCE,)
    key_help: ClassVar[str] = (
        "a Management API key from zenmux.ai/platform/management (an sk-ai-v1- or sk-ss-v1- "
        "API key cannot read the balance)"
    )
    path_words = ("zenmux",)
    key_prefixes = (
        KeyPrefix(
            "sk-ai-v1-", KeyKind.REGULAR, False, "a ZenMux Pay As You Go API key (not management)"
        ),
        KeyPrefix(
            "sk-ss-v1-", KeyKind.REGULAR, False, "a ZenMux subscription API key (not management)"
        ),
    )
    demo_key = "zenmux-demo-mgmt-" + "0a1b2c3d" * 4

    async def fetch(self, ctx: FetchContext) -> Report:
        try:
            payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        except ProviderError as exc:
            if exc.status == RATE_LIMITED:
                raise ProviderError(
                    f"{exc}; ZenMux answers 422 when its per-minute limit for this endpoint is "
                    "passed: try again in a minute",
                    status=exc.status,
                ) from None
            raise
        return parse_balance(payload)

    def examples(
        self,
        now: datetime,
        *,
        total_credits: str = "482.74",
        top_up_credits: str = "35.00",
        bonus_credits: str = "447.74",
    ) -> dict[str, Example]:
        """A Management key's account, with the documented figures (sent as JSON numbers)."""
        body = {
            "success": True,
            "data": {
                "currency": "usd",
                "total_credits": Decimal(total_credits),
                "top_up_credits": Decimal(top_up_credits),
                "bonus_credits": Decimal(bonus_credits),
            },
        }
        return {BALANCE.path: Example(body)}


PROVIDER = ZenMux()
