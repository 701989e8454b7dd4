"""Providers people ask about that keyz cannot check, each with the reason and where to look.

Listed by ``keyz providers``; ``keyz track X --provider <id>`` explains and exits 2.
Sources: ../shared/docs/providers-reference.md §9-§10 (no API-key balance endpoint found;
Alibaba, Volcengine, Baidu and Tencent bill through signed cloud APIs), and each provider's docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Unsupported:
    id: str
    title: str
    reason: str  # why there is nothing to call with an API key
    instead: str  # where the user can see the figure


# Their billing APIs exist (QueryAccountBalance, QueryBalanceAcct, cash/balance,
# DescribeAccountBalance) but take no inference key.
SIGNED: Final = (
    "its billing API needs signed cloud access keys (each request signed with an AccessKey ID "
    "and secret pair), not a bearer API key"
)

UNSUPPORTED: Final = {
    u.id: u
    for u in (
        Unsupported(
            "alibaba",
            "Alibaba Cloud (DashScope / Qwen)",
            SIGNED,
            "the Alibaba Cloud console → Expenses and Costs",
        ),
        Unsupported(
            "baidu",
            "Baidu AI Cloud (Qianfan)",
            SIGNED,
            "console.bce.baidu.com → Finance Center",
        ),
        Unsupported(
            "cerebras", "Cerebras", "no balance or usage endpoint for API keys", "cloud.cerebras.ai"
        ),
        Unsupported(
            "cohere", "Cohere", "no balance or usage endpoint for API keys", "dashboard.cohere.com"
        ),
        Unsupported(
            "gemini",
            "Google Gemini",
            "billing lives in Google Cloud Billing, which needs OAuth, not an API key",
            "console.cloud.google.com/billing",
        ),
        Unsupported(
            "groq",
            "Groq",
            "postpaid billing with spend limits; usage only in the console",
            "console.groq.com/settings/billing",
        ),
        Unsupported(
            "huggingface",
            "Hugging Face",
            "whoami-v2 reports the billing mode but no credit balance",
            "huggingface.co/settings/billing",
        ),
        Unsupported(
            "mistral",
            "Mistral",
            "billing is in the web console, and its Enterprise-only Admin API needs an admin "
            "key from the Backoffice, not an API key",
            "admin.mistral.ai/organization/billing",
        ),
        Unsupported(
            "perplexity",
            "Perplexity",
            "credits are only shown in the web console",
            "perplexity.ai/settings/api",
        ),
        Unsupported(
            "replicate",
            "Replicate",
            "no balance or usage endpoint for API tokens",
            "replicate.com/account/billing",
        ),
        Unsupported(
            "tencent",
            "Tencent Cloud (Hunyuan)",
            SIGNED,
            "console.cloud.tencent.com → Billing Center",
        ),
        Unsupported(
            "together",
            "Together AI",
            "the account is fully prepaid, but its credit balance is only in the console "
            "(no balance API)",
            "api.together.ai/settings/billing",
        ),
        Unsupported(
            "volcengine",
            "Volcengine (Doubao / Ark)",
            SIGNED,
            "console.volcengine.com → Billing Center",
        ),
        Unsupported(
            "xiaomi-mimo",
            "Xiaomi MiMo",
            "balance and token-plan figures exist only in the console",
            "platform.xiaomimimo.com",
        ),
    )
}


__all__ = ["UNSUPPORTED", "Unsupported"]
