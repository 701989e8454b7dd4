"""Cloudflare AI Gateway credits (Unified Billing):
``GET /client/v4/accounts/{account_id}/ai-gateway/billing/credit-balance``.

Reference: developers.cloudflare.com/api/resources/ai_gateway/subresources/billing/methods/credit_balance/
("Retrieve the current credit balance, payment method info, and top-up configuration"),
with an API token holding the "AI Gateway Read" (or Write) permission, as
``Authorization: Bearer <token>``. The older ``/ai-gateway/billing/profile`` is deprecated
and not used. Documented example answer (the reference's placeholders)::

    {"errors": [{"code": 0, "message": "message"}],
     "messages": [{"code": 0, "message": "message"}],
     "result": {"balance": 0, "has_default_payment_method": true,
                "payment_method": {"brand": "brand", "last4": "last4"},
                "topup_config": {"amount": 0, "disabledReason": "disabledReason",
                                 "error": "error", "lastFailedAt": 0, "threshold": 0},
                "first_topup_success": true},
     "success": true,
     "result_info": {"has_more": true, "page": 0, "per_page": 0, "total_count": 0}}

Units: the reference gives ``balance`` as a bare ``number``, naming neither unit nor
currency. The sibling endpoint of the same billing API (``POST .../billing/spending-limit``)
documents its ``amount`` as "in cents (min 100)", and clients of this endpoint see cents
(1000 for $10 loaded), so keyz reads ``balance`` as **US cents** (÷ 100) and says so in a
note on every report. Reading cents as dollars would show a hundred times the money.

An answer with ``success`` other than true is an error, told with Cloudflare's
``errors[].code: message``, whatever its HTTP status.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.money import parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Option,
    Provider,
    Report,
)
from keyz.sidecar import Balance

CREDIT_BALANCE = Endpoint(
    "credit balance",
    "/client/v4/accounts/{account_id}/ai-gateway/billing/credit-balance",
    KeyKind.MANAGEMENT,
    Capability.BALANCE,
)
EXAMPLE_ACCOUNT: Final = "023e105f4ecef8ad9ca31a8372d0c353"  # the account of its examples
CENTS: Final = Decimal(100)
UNIT_NOTE: Final = (
    "Cloudflare does not document the unit of the credit balance; keyz reads it as US cents, "
    "like the billing API's spending-limit amounts"
)


def parse_credit_balance(payload: Any) -> Report:
    """Normalize a credit-balance answer: ``result.balance`` in US cents → dollars."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    if payload.get("success") is not True:
        from keyz.providers.http import payload_detail  # imported late: see providers/hosts.py

        detail = payload_detail(payload) or "no reason given"
        raise ProviderError(f"Cloudflare answered success: false ({detail})")
    result = payload.get("result")
    if not isinstance(result, dict):
        raise ParseError("the answer has no result object")
    balance = Balance(
        currency="USD",
        remaining=parse_amount(result.get("balance"), field="result.balance", scale=CENTS),
        source=CREDIT_BALANCE.path,
    )
    return Report(available=None, balances=[balance], notes=[UNIT_NOTE])


class Cloudflare(Provider):
    id = "cloudflare"
    title = "Cloudflare AI Gateway"
    short_name = "cf"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://api.cloudflare.com"
    endpoints = (CREDIT_BALANCE,)
    options: ClassVar = {
        "account_id": Option(
            "the Cloudflare account id: 32 hex digits, in the dashboard URL "
            "dash.cloudflare.com/<account_id> or on the account's overview page",
            pattern=r"[0-9A-Fa-f]{32}",
            required=True,
        )
    }
    example_options: ClassVar = {"account_id": EXAMPLE_ACCOUNT}
    key_help: ClassVar[str] = (
        "a Cloudflare API token with the AI Gateway Read permission "
        "(dash.cloudflare.com → My Profile → API Tokens → Create Token)"
    )
    path_words = ("cloudflare",)  # its API tokens have no documented prefix
    demo_key = "demo0000cloudflare0000000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        account = ctx.options["account_id"]  # required: Provider.report checked it is there
        payload = await ctx.get_json(
            CREDIT_BALANCE, headers=ctx.bearer(), path={"account_id": account}
        )
        return parse_credit_balance(payload)

    def examples(
        self,
        now: datetime,
        *,
        account_id: str = EXAMPLE_ACCOUNT,
        balance: int | str = 1000,
    ) -> dict[str, Example]:
        """The reference's example answer (its placeholders kept), for ``account_id``.

        ``balance`` is in cents; the reference's own placeholder is 0, and the default, 1000
        ($10), stands for an account with credits loaded.
        """
        body = {
            "errors": [{"code": 0, "message": "message"}],
            "messages": [{"code": 0, "message": "message"}],
            "result": {
                "balance": Decimal(balance),
                "has_default_payment_method": True,
                "payment_method": {"brand": "brand", "last4": "last4"},
                "topup_config": {
                    "amount": 0,
                    "disabledReason": "disabledReason",
                    "error": "error",
                    "lastFailedAt": 0,
                    "threshold": 0,
                },
                "first_topup_success": True,
            },
            "success": True,
            "result_info": {"has_more": True, "page": 0, "per_page": 0, "total_count": 0},
        }
        return {CREDIT_BALANCE.path.format(account_id=account_id): Example(body)}


PROVIDER = Cloudflare()
