"""Providers people ask about that keyz cannot check, each with the reason and where to look.

Listed by ``keyz providers``; ``keyz track X --provider <id>`` explains and exits 2.
Sources: ../shared/docs/providers-reference.md §9-§10 (no API-key balance endpoint found).
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


UNSUPPORTED: Final = {
    u.id: u
    for u in (
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
            "billing is only in the web console (session cookies), not the API",
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
            "together",
            "Together AI",
            "prepaid credits, but no balance endpoint",
            "api.together.ai/settings/billing",
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
