"""Merge Gateway: the organization's credit, ``GET https://api-gateway.merge.dev/v1/credits``.

Official reference: https://docs.merge.dev/merge-gateway/management-api/lookups/get-credits
("Get Credits"). It needs a **management key** (``mgmt_…``, made only in the dashboard under
API keys → Management keys, https://docs.merge.dev/merge-gateway/management-api) with the
``view_billing`` or ``manage_billing`` scope, sent as ``Authorization: Bearer``. A management
key cannot call models, and a gateway API key cannot read credits. The 200 answer has five
required doubles, all in US dollars:

- ``balance_usd``: "Credit left. Only an enterprise contract balance can be negative."
- ``credits_expired_usd``: "Credit that lapsed before it was used."
- ``credits_purchased_usd``: "Credit bought or added by coupon."
- ``free_credits_usd``: "The free credit granted at signup."
- ``total_spend_usd``: "Spend drawn from credit to date."

The reference lists the fields without example values; the example here uses its field names
with figures of our own. Errors: 401 (missing or invalid key) and 403 (the key lacks the
scope), each ``{"detail": …}`` where detail is "a message, or an object with a ``code`` to
branch on and a ``message``".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from keyz.errors import ParseError
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
from keyz.sidecar import Balance

CREDITS = Endpoint("credits", "/v1/credits", KeyKind.MANAGEMENT, Capability.BALANCE)


def _credit(data: dict[str, Any], name: str) -> Decimal | None:
    """An amount of credit: unknown when absent, never negative (only the balance can be)."""
    amount = optional_amount(data.get(name), field=name)
    if amount is not None and amount < 0:
        raise ParseError(f"field {name!r} is negative, which an amount of credit cannot be")
    return amount


def parse_credits(payload: Any) -> Report:
    """Normalize a /v1/credits answer: one USD balance, each figure as Merge reports it."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    balance = Balance(
        currency="USD",
        remaining=parse_amount(payload.get("balance_usd"), field="balance_usd"),
        purchased=_credit(payload, "credits_purchased_usd"),
        granted=_credit(payload, "free_credits_usd"),
        used=_credit(payload, "total_spend_usd"),
        source=CREDITS.path,
    )
    return Report(available=None, balances=[balance])


class Merge(Provider):
    id = "merge"
    title = "Merge Gateway"
    short_name = "mg"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://api-gateway.merge.dev"
    endpoints = (CREDITS,)
    key_help: ClassVar[str] = (
        "a management key (mgmt_…) with view_billing or manage_billing, from "
        "gateway.merge.dev → API keys → Management keys"
    )
    path_words = ("merge", "merge.dev")
    key_prefixes = (KeyPrefix("mgmt_", KeyKind.MANAGEMENT, True, "a Merge Gateway management key"),)
    demo_key = "mgmt_demo0000merge" + "0f1e" * 6

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(CREDITS, headers=ctx.bearer())
        return parse_credits(payload)

    def examples(
        self,
        now: datetime,
        *,
        balance_usd: str = "37.5",
        credits_expired_usd: str = "0",
        credits_purchased_usd: str = "50",
        free_credits_usd: str = "5",
        total_spend_usd: str = "17.5",
    ) -> dict[str, Example]:
        """The documented fields, with figures of our own (sent as JSON numbers)."""
        body = {
            "balance_usd": Decimal(balance_usd),
            "credits_expired_usd": Decimal(credits_expired_usd),
            "credits_purchased_usd": Decimal(credits_purchased_usd),
            "free_credits_usd": Decimal(free_credits_usd),
            "total_spend_usd": Decimal(total_spend_usd),
        }
        return {CREDITS.path: Example(body)}


PROVIDER = Merge()
