"""Moonshot / Kimi Open Platform: ``GET /v1/users/me/balance``, region-bound keys.

Documented example (platform.moonshot.ai/docs/api/balance)::

    {"code": 0, "data": {"available_balance": 49.58894, "voucher_balance": 46.58893,
                         "cash_balance": 3.00001}, "scode": "0x0", "status": true}

``available_balance`` = cash + voucher and is what can be spent; ``cash_balance``
is negative when the user owes money (kept as reported). Amounts are numbers in
USD on api.moonshot.ai and in CNY on api.moonshot.cn. Keys are region-bound: the
``region`` option (``ai`` or ``cn``) picks both the host and the currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from keyz.errors import AuthError, ParseError, ProviderError
from keyz.money import optional_amount, parse_amount
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
from keyz.sidecar import Balance

BALANCE = Endpoint("balance", "/v1/users/me/balance", KeyKind.REGULAR, Capability.BALANCE)
REGIONS = {
    r.name: r
    for r in (
        Region("ai", "https://api.moonshot.ai", "USD"),
        Region("cn", "https://api.moonshot.cn", "CNY"),
    )
}


def parse_balance(payload: Any, currency: str) -> Report:
    """Normalize a balance answer; ``currency`` is the region's (the answer does not say)."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    if payload.get("code") != 0 or payload.get("status") is not True:
        raise ProviderError(
            f"the provider reported an error "
            f"(code {payload.get('code')!r}, scode {payload.get('scode')!r})"
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ParseError("the answer has no data object")
    balance = Balance(
        currency=currency,
        remaining=parse_amount(data.get("available_balance"), field="available_balance"),
        voucher=optional_amount(data.get("voucher_balance"), field="voucher_balance"),
        cash=optional_amount(data.get("cash_balance"), field="cash_balance"),
        source=BALANCE.path,
    )
    return Report(available=None, balances=[balance])


class Moonshot(Provider):
    id = "moonshot"
    title = "Moonshot (Kimi)"
    short_name = "ms"
    key_kind = KeyKind.REGULAR
    default_base_url = REGIONS["ai"].base_url
    endpoints = (BALANCE,)
    regions = REGIONS
    options: ClassVar = {
        "region": Option("ai (platform.moonshot.ai, USD; default) or cn (.cn, CNY)", ("ai", "cn"))
    }
    key_help: ClassVar[str] = (
        "an API key from platform.moonshot.ai/console/api-keys, or platform.moonshot.cn with "
        "region=cn"
    )
    path_words = ("moonshot", "kimi")  # its keys are plain sk-…: no prefix of their own
    demo_key = "sk-demo0000moonshot000000000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        region = ctx.region
        assert region is not None  # Provider.report resolves it
        try:
            payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        except AuthError as exc:
            other = "cn" if region.name == "ai" else "ai"
            raise AuthError(
                f"{exc}; Moonshot keys are region-bound: this entry uses region={region.name}; a key "
                f"issued on platform.moonshot.{other} needs region={other} "
                f"(keyz track ENTRY -p moonshot -o region={other}, or a 'region: {other}' line "
                "in the pass entry)",
                status=exc.status,
            ) from None
        return parse_balance(payload, region.currency)

    def examples(
        self,
        now: datetime,
        *,
        available: str = "49.58894",
        voucher: str = "46.58893",
        cash: str = "3.00001",
    ) -> dict[str, Example]:
        """Numbers, as Moonshot sends them (currency depends on the region's host)."""
        data = {
            "available_balance": Decimal(available),
            "voucher_balance": Decimal(voucher),
            "cash_balance": Decimal(cash),
        }
        return {BALANCE.path: Example({"code": 0, "data": data, "scode": "0x0", "status": True})}


PROVIDER = Moonshot()
