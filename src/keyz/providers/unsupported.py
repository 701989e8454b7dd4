"""Providers people ask about that keyz cannot check, each with the reason and where to look.

Listed by ``keyz providers``; ``keyz track X --provider <id>`` explains and exits 2.
Each reason is what the provider's own API documentation shows: no endpoint that an
API key can call for a balance (Alibaba, Volcengine, Baidu and Tencent bill through
signed cloud APIs that need account credentials, not the model key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from keyz.providers.keys import KeyKind, KeyPrefix


@dataclass(frozen=True)
class Unsupported:
    """A provider keyz cannot check, and what its keys look like (as on a Provider): discover
    names it, never tracks it, and the redactor masks its keys."""

    id: str
    title: str
    reason: str  # why there is nothing to call with an API key
    instead: str  # where the user can see the figure
    path_words: tuple[str, ...] = ()
    key_prefixes: tuple[KeyPrefix, ...] = ()
    key_shapes: tuple[str, ...] = ()


def _prefix(text: str, label: str) -> tuple[KeyPrefix]:
    return (KeyPrefix(text, KeyKind.REGULAR, False, label),)


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
            "cerebras",
            "Cerebras",
            "no balance or usage endpoint for API keys",
            "cloud.cerebras.ai",
            path_words=("cerebras",),
            key_prefixes=_prefix("csk-", "a Cerebras key"),
        ),
        Unsupported(
            "cohere",
            "Cohere",
            "no balance or usage endpoint for API keys",
            "dashboard.cohere.com",
            path_words=("cohere",),
        ),
        Unsupported(
            "gemini",
            "Google Gemini",
            "billing lives in Google Cloud Billing, which needs OAuth, not an API key",
            "console.cloud.google.com/billing",
            path_words=("gemini",),
            key_prefixes=_prefix("AIza", "a Google API key"),
            key_shapes=(r"AIza[0-9A-Za-z_\-]{35}",),
        ),
        Unsupported(
            "groq",
            "Groq",
            "postpaid billing with spend limits; usage only in the console",
            "console.groq.com/settings/billing",
            path_words=("groq",),
            key_prefixes=_prefix("gsk_", "a Groq key"),
            key_shapes=(r"gsk_[A-Za-z0-9]{40,}",),
        ),
        Unsupported(
            "huggingface",
            "Hugging Face",
            "whoami-v2 reports the billing mode but no credit balance",
            "huggingface.co/settings/billing",
            path_words=("huggingface", "hf"),
            key_prefixes=_prefix("hf_", "a Hugging Face token"),
            key_shapes=(r"(?:hf_|api_org_)[A-Za-z0-9]{30,}",),
        ),
        Unsupported(
            "mistral",
            "Mistral",
            "its Enterprise-only Admin API (in Preview; an admin key from the Backoffice, not an "
            "API key) has GET /api/admin/usage, but the documented answer states no amount "
            "spent, only per-model usage and a price list, and keyz never computes spend itself",
            "admin.mistral.ai/organization/usage",
            path_words=("mistral",),
        ),
        Unsupported(
            "perplexity",
            "Perplexity",
            "credits are only shown in the web console",
            "perplexity.ai/settings/api",
            path_words=("perplexity", "pplx"),
            key_prefixes=_prefix("pplx-", "a Perplexity key"),
            key_shapes=(r"pplx-[A-Za-z0-9]{40,}",),
        ),
        Unsupported(
            "replicate",
            "Replicate",
            "no balance or usage endpoint for API tokens",
            "replicate.com/account/billing",
            path_words=("replicate",),
            key_prefixes=_prefix("r8_", "a Replicate token"),
            key_shapes=(r"r8_[0-9A-Za-z_\-]{30,}",),
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
            path_words=("together",),
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
            path_words=("mimo", "xiaomi"),
        ),
    )
}


__all__ = ["UNSUPPORTED", "Unsupported"]
