"""Run a provider's fetch through the real HttpClient (HTTP mocked by respx in the tests)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from keyz.config import EntryConfig
from keyz.fields import utc_now
from keyz.providers.base import Report
from keyz.simulator import Simulator
from keyz.store import Secret

ACCOUNT_KEY = "sk-compressed-" + "ab12" * 8
# one simulator account per registered provider, in its documented shape
ACCOUNTS: dict[str, Callable[[Simulator], None]] = {
    "anthropic": lambda s: s.anthropic(ACCOUNT_KEY, ["125", "250.5", "1000"]),
    "deepseek": lambda s: s.deepseek(ACCOUNT_KEY, [("CNY", "110.00", "10.00", "100.00")]),
    "elevenlabs": lambda s: s.elevenlabs(ACCOUNT_KEY),
    "fal": lambda s: s.fal(ACCOUNT_KEY),
    "minimax": lambda s: s.minimax(ACCOUNT_KEY),
    "moonshot": lambda s: s.moonshot(ACCOUNT_KEY),
    "novita": lambda s: s.novita(ACCOUNT_KEY),
    "openai": lambda s: s.openai(ACCOUNT_KEY, ["0.06", "1.5"]),
    "openrouter": lambda s: s.openrouter(ACCOUNT_KEY, management=True),
    "poe": lambda s: s.poe(ACCOUNT_KEY),
    "siliconflow": lambda s: s.siliconflow(ACCOUNT_KEY),
    "venice": lambda s: s.venice(ACCOUNT_KEY),
    "xai": lambda s: s.xai(ACCOUNT_KEY),
    "zai": lambda s: s.zai(ACCOUNT_KEY),
}


def doc(text: str) -> Any:
    """A documented JSON example, decoded the way keyz decodes answers (numbers exact)."""
    return json.loads(text, parse_float=Decimal)


def fetch(
    provider_id: str,
    key: str,
    *,
    options: dict[str, str] | None = None,
    hints: dict[str, str] | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> Report:
    """What sync does for one entry once the key is decrypted, minus the store: its resolve
    and fetch steps, ``base_url`` standing in for config.toml's."""
    from keyz import sync
    from keyz.providers.http import HttpClient

    entry = EntryConfig("api/test", provider_id, options or {})

    async def go() -> Report:
        async with HttpClient.make_async_client() as client:
            ctx = sync.resolve(
                entry,
                Secret(key, hints or {}),
                http=HttpClient(client, retries=0),
                now=now or utc_now(),
                configured_base_url=base_url,
            )
            return await sync.fetch(entry, ctx)

    return asyncio.run(go())
