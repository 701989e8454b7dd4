"""ngrok AI Gateway: the prepaid credit balance, ``GET https://api.ngrok.ai/credits/balance``.

Official reference: https://ngrok.com/docs/ai-gateway/api-reference/credits/balance (operation
GetCreditBalance of ngrok's ``openapi/ai-gateway.yaml``, github.com/ngrok/ngrok-docs), and the
API overview https://ngrok.com/docs/ai-gateway/api-reference/overview: authenticate with the
**ngrok.ai API key** made on the settings page of app.ngrok.ai, sent as ``Authorization:
Bearer``; the access keys sent to gateway.ngrok.ai are for model requests. Documented answer::

    {"balanceCents": 123}

``balanceCents`` is a required int64, "current credit balance in cents" (US dollars: credits
are bought in USD, https://ngrok.com/docs/ai-gateway/concepts/credits), so 123 → $1.23. The
balance is "eventually consistent with usage events". Errors use the schema ``Error``::

    {"errorCode": "ERR_NGROK_…", "statusCode": 401, "msg": "…", "details": {}}

(``errorCode`` only "when available").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

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

BALANCE = Endpoint("credit balance", "/credits/balance", KeyKind.MANAGEMENT, Capability.BALANCE)
CENTS: Final = Decimal(100)


def parse_balance(payload: Any) -> Report:
    """Normalize a /credits/balance answer: whole cents become dollars, exactly."""
    cents = payload.get("balanceCents") if isinstance(payload, dict) else None
    if cents is None:
        raise ParseError("the answer has no balanceCents")
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise ParseError("balanceCents is not a whole number of cents")
    balance = Balance(
        currency="USD",
        remaining=parse_amount(cents, field="balanceCents", scale=CENTS),
        source=BALANCE.path,
    )
    return Report(available=None, balances=[balance])


class Ngrok(Provider):
    id = "ngrok"
    title = "ngrok AI Gateway"
    short_name = "ng"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://api.ngrok.ai"
    endpoints = (BALANCE,)
    key_help: ClassVar[str] = (
        "an ngrok.ai API key from the settings page of app.ngrok.ai (an access key for "
        "gateway.ngrok.ai, or an ngrok platform API key, is another key)"
    )
    path_words = ("ngrok", "ngrok.ai")
    demo_key = "ngrok-ai-demo-" + "5e7f" * 8  # the API key's look is not documented

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        return parse_balance(payload)

    def examples(self, now: datetime, *, balance_cents: int = 123) -> dict[str, Example]:
        """The documented answer: ``balance_cents`` as the int64 ngrok sends."""
        return {BALANCE.path: Example({"balanceCents": balance_cents})}


PROVIDER = Ngrok()
