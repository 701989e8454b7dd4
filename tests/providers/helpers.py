"""Run a provider's fetch through the real HttpClient (HTTP mocked by respx in the tests)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from keyz.providers import get_provider
from keyz.providers.base import FetchContext, Report
from keyz.store import Secret


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
    """What sync does for one entry once the key is decrypted, minus the store."""
    from keyz.providers.http import HttpClient

    provider = get_provider(provider_id)
    merged = {**(hints or {}), **(options or {})}
    url = base_url or provider.documented_base_url(merged)

    async def go() -> Report:
        async with HttpClient.make_async_client() as client:
            ctx = FetchContext(
                HttpClient(client, retries=0),
                Secret(key, hints or {}),
                url,
                merged,
                **({"now": now} if now else {}),
            )
            return await provider.report(ctx)

    return asyncio.run(go())
