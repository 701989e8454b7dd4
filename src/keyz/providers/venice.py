"""Venice: ``GET /api/v1/billing/balance`` with an admin key.

Documented example (docs.venice.ai/api-reference/endpoint/billing/balance)::

    {"canConsume": true, "consumptionCurrency": "DIEM",
     "balances": {"diem": 90.5, "usd": 25}, "diemEpochAllocation": 100}

``balances.usd`` is a USD balance; ``balances.diem`` is Venice's own unit (DIEM,
``unit_kind: provider``), so it is its own balance, never added to USD.
``canConsume`` ("whether the user has sufficient balance to make API requests")
→ available.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from keyz.errors import ParseError
from keyz.money import parse_amount
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

BALANCE = Endpoint("balance", "/api/v1/billing/balance", KeyKind.ADMIN, Capability.BALANCE)


def parse_balance(payload: Any) -> Report:
    balances = payload.get("balances") if isinstance(payload, dict) else None
    if not isinstance(balances, dict):
        raise ParseError("the answer has no balances object")
    found: list[Balance] = []
    if balances.get("usd") is not None:
        usd = parse_amount(balances["usd"], field="balances.usd")
        found.append(Balance(currency="USD", remaining=usd, source=BALANCE.path))
    if balances.get("diem") is not None:
        diem = parse_amount(balances["diem"], field="balances.diem")
        found.append(
            Balance(currency="DIEM", unit_kind="provider", remaining=diem, source=BALANCE.path)
        )
    if not found:
        raise ParseError("the answer has neither a usd nor a diem balance")
    available = payload.get("canConsume")
    return Report(available=available if isinstance(available, bool) else None, balances=found)


class Venice(Provider):
    id = "venice"
    title = "Venice"
    short_name = "vn"
    key_kind = KeyKind.ADMIN
    default_base_url = "https://api.venice.ai"
    endpoints = (BALANCE,)
    key_help: ClassVar[str] = (
        "an admin API key from venice.ai/settings/api (inference keys cannot read billing)"
    )
    path_words = ("venice",)
    demo_key = "demo0000venice000000000000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        return parse_balance(payload)

    def examples(
        self, now: datetime, *, usd: str = "25", diem: str = "90.5", can_consume: bool = True
    ) -> dict[str, Example]:
        body = {
            "canConsume": can_consume,
            "consumptionCurrency": "DIEM",
            "balances": {"diem": Decimal(diem), "usd": Decimal(usd)},
            "diemEpochAllocation": 100,
        }
        return {BALANCE.path: Example(body)}


PROVIDER = Venice()
