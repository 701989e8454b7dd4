"""Run a provider's fetch through the real HttpClient (HTTP mocked by respx in the tests)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from keyz.config import EntryConfig
from keyz.fields import utc_now
from keyz.providers.base import Report
from keyz.store import Secret

ACCOUNT_KEY = "sk-compressed-" + "ab12" * 8  # simulator.account(provider_id, ACCOUNT_KEY)


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
    and fetch steps, ``base_url`` standing in for config.toml's — or, for a relay (its host is
    the entry's own line), for the entry's ``base_url:`` line, and its demo options by default."""
    from keyz import sync
    from keyz.providers import get_provider
    from keyz.providers.http import HttpClient

    provider = get_provider(provider_id)
    if options is None:
        options = dict(provider.example_options)
    if provider.host_from_entry and base_url is not None:
        hints = {"base_url": base_url, **(hints or {})}
        base_url = None
    entry = EntryConfig("api/test", provider_id, options)

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
