"""DeepSeek: ``GET /user/balance`` with the ordinary API key.

Documented example (api-docs.deepseek.com, get-user-balance)::

    {"is_available": true,
     "balance_infos": [{"currency": "CNY", "total_balance": "110.00",
                        "granted_balance": "10.00", "topped_up_balance": "100.00"}]}

Amounts are strings in the currency's major unit; one item per currency (CNY, USD).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from keyz.errors import ParseError
from keyz.money import optional_amount, parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Provider,
    Report,
)
from keyz.sidecar import Balance

BALANCE = Endpoint("balance", "/user/balance", KeyKind.REGULAR, Capability.BALANCE)


def parse_balance(payload: Any) -> Report:
    """Normalize a /user/balance answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("balance_infos"), list):
        raise ParseError("the answer has no balance_infos list")
    available = payload.get("is_available")
    balances = []
    for info in payload["balance_infos"]:
        if not isinstance(info, dict) or not isinstance(info.get("currency"), str):
            raise ParseError("a balance_infos item has no currency")
        balances.append(
            Balance(
                currency=info["currency"].strip().upper(),
                remaining=parse_amount(info.get("total_balance"), field="total_balance"),
                granted=optional_amount(info.get("granted_balance"), field="granted_balance"),
                topped_up=optional_amount(info.get("topped_up_balance"), field="topped_up_balance"),
                source=BALANCE.path,
            )
        )
    if not balances:  # DeepSeek always lists its currencies: an empty list says nothing
        raise ParseError("the answer lists no balance (balance_infos is empty)")
    return Report(available=available if isinstance(available, bool) else None, balances=balances)


class DeepSeek(Provider):
    id = "deepseek"
    title = "DeepSeek"
    short_name = "ds"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.deepseek.com"
    endpoints = (BALANCE,)
    key_help: ClassVar[str] = "any API key from platform.deepseek.com/api_keys"
    path_words = ("deepseek",)  # its keys are plain sk-<hex>: no prefix of their own
    demo_key = "sk-demo0000deepseek0000000000000000"
    # "DeepSeek API does NOT constrain user's rate limit" (api-docs.deepseek.com/quick_start/
    # rate_limit); a 429/503 under load is retried. 16 entries in flight, not the default 8.
    concurrency = 16

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        return parse_balance(payload)

    def examples(
        self,
        now: datetime,
        *,
        balances: Sequence[tuple[str, str, str, str]] = (("CNY", "110.00", "10.00", "100.00"),),
        available: bool = True,
    ) -> dict[str, Example]:
        """balances: (currency, total, granted, topped_up) as the decimal strings DeepSeek sends."""
        infos = [
            {"currency": c, "total_balance": t, "granted_balance": g, "topped_up_balance": u}
            for c, t, g, u in balances
        ]
        return {BALANCE.path: Example({"is_available": available, "balance_infos": infos})}


PROVIDER = DeepSeek()
