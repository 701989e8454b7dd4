"""Novita AI: ``GET /openapi/v1/billing/balance/detail``.

Documented example (novita.ai/docs/api-reference/basic-get-user-balance)::

    {"availableBalance": "1000000", "cashBalance": "800000", "creditLimit": "200000",
     "pendingCharges": "0", "outstandingInvoices": "0"}

Every amount is a string in 1/10000 USD (10000 = $1.00): keyz divides by 10000.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

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

BALANCE = Endpoint(
    "balance", "/openapi/v1/billing/balance/detail", KeyKind.REGULAR, Capability.BALANCE
)
SCALE: Final = Decimal(10000)  # the answer is in 1/10000 USD


def parse_balance(payload: Any) -> Report:
    """Normalize a balance/detail answer into USD."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")

    def figure(name: str) -> Decimal | None:
        return optional_amount(payload.get(name), field=name, scale=SCALE)

    balance = Balance(
        currency="USD",
        remaining=parse_amount(
            payload.get("availableBalance"), field="availableBalance", scale=SCALE
        ),
        cash=figure("cashBalance"),
        credit_limit=figure("creditLimit"),
        pending=figure("pendingCharges"),
        outstanding=figure("outstandingInvoices"),
        source=BALANCE.path,
    )
    return Report(available=None, balances=[balance])


class Novita(Provider):
    id = "novita"
    title = "Novita AI"
    short_name = "nv"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.novita.ai"
    endpoints = (BALANCE,)
    key_help: ClassVar[str] = "an API key from novita.ai/settings/key-management"
    path_words = ("novita",)
    demo_key = "sk_demo0000novita0000000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        return parse_balance(payload)

    def examples(
        self,
        now: datetime,
        *,
        available: str = "1000000",
        cash: str = "800000",
        credit_limit: str = "200000",
    ) -> dict[str, Example]:
        """Strings in 1/10000 USD."""
        body = {
            "availableBalance": available,
            "cashBalance": cash,
            "creditLimit": credit_limit,
            "pendingCharges": "0",
            "outstandingInvoices": "0",
        }
        return {BALANCE.path: Example(body)}


PROVIDER = Novita()
