"""fal: ``GET /v1/account/billing?expand=credits`` with an admin key.

Documented example (fal.ai/docs/platform-apis/v1/account/billing)::

    {"username": "my-team", "credits": {"current_balance": 24.5, "currency": "USD"}}

The header is ``Authorization: Key <ADMIN_API_KEY>`` (not Bearer). ``credits``
is present only when expanded. The username is not copied.
"""

from __future__ import annotations

import re
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

BILLING = Endpoint(
    "billing", "/v1/account/billing", KeyKind.ADMIN, Capability.BALANCE, (("expand", "credits"),)
)


def parse_billing(payload: Any) -> Report:
    credits = payload.get("credits") if isinstance(payload, dict) else None
    if not isinstance(credits, dict):
        raise ParseError("the answer has no credits object")
    currency = credits.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
        raise ParseError("credits.currency is not a currency code")
    balance = Balance(
        currency=currency.strip().upper(),
        remaining=parse_amount(credits.get("current_balance"), field="current_balance"),
        source=BILLING.path,
    )
    return Report(available=None, balances=[balance])


class Fal(Provider):
    id = "fal"
    title = "fal"
    short_name = "fal"
    key_kind = KeyKind.ADMIN
    default_base_url = "https://api.fal.ai"
    endpoints = (BILLING,)
    key_help: ClassVar[str] = "an ADMIN API key from fal.ai/dashboard/keys (scope: ADMIN)"
    path_words = ("fal",)  # its keys are '<uuid>:<secret>': no prefix
    demo_key = "demo0000-fal0-0000-0000-000000000000:demo0000fal"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(BILLING, headers={"Authorization": f"Key {ctx.secret.value}"})
        return parse_billing(payload)

    def examples(
        self, now: datetime, *, balance: str = "24.5", currency: str = "USD"
    ) -> dict[str, Example]:
        body = {
            "username": "my-team",
            "credits": {"current_balance": Decimal(balance), "currency": currency},
        }
        return {BILLING.path: Example(body)}


PROVIDER = Fal()
