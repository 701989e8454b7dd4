"""The provider registry: explicit, one line per provider (like pipx's backends).

A provider is one spec, its class: everything else (discover's path words and key
prefixes, status's short names, ``keyz providers``, the simulator's and the demo's
accounts) is read from it through here. To add one: write ``keyz/providers/<id>.py``
with a Provider subclass (its fetch, examples and demo key), add its module to
``_MODULES``, and add its tests (tests/providers/test_contract.py says what else it
needs).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Final

from keyz.errors import UsageError
from keyz.providers.unsupported import UNSUPPORTED

if TYPE_CHECKING:
    from keyz.providers.base import Provider
    from keyz.providers.unsupported import Unsupported

# id -> module; modules are imported only when their provider is used
_MODULES: Final = {
    "anthropic": "keyz.providers.anthropic",
    "cloudflare": "keyz.providers.cloudflare",
    "deepgram": "keyz.providers.deepgram",
    "deepseek": "keyz.providers.deepseek",
    "elevenlabs": "keyz.providers.elevenlabs",
    "fal": "keyz.providers.fal",
    "fireworks": "keyz.providers.fireworks",
    "github": "keyz.providers.github",
    "http-json": "keyz.providers.http_json",
    "merge": "keyz.providers.merge",
    "minimax": "keyz.providers.minimax",
    "moonshot": "keyz.providers.moonshot",
    "ngrok": "keyz.providers.ngrok",
    "novita": "keyz.providers.novita",
    "oneapi": "keyz.providers.oneapi",
    "openai": "keyz.providers.openai",
    "openrouter": "keyz.providers.openrouter",
    "poe": "keyz.providers.poe",
    "siliconflow": "keyz.providers.siliconflow",
    "stepfun": "keyz.providers.stepfun",
    "venice": "keyz.providers.venice",
    "xai": "keyz.providers.xai",
    "zai": "keyz.providers.zai",
    "zenmux": "keyz.providers.zenmux",
}
KNOWN: Final = tuple(sorted(_MODULES))


@cache
def get_provider(provider_id: str) -> Provider:
    """The provider with this id, or a UsageError that lists the known ones."""
    module_name = _MODULES.get(provider_id)
    if module_name is None and provider_id in UNSUPPORTED:
        known = UNSUPPORTED[provider_id]
        raise UsageError(
            f"cannot check {known.title} with an API key: {known.reason}. Look at {known.instead} "
            "instead (keyz providers lists what keyz can check)"
        )
    if module_name is None:
        raise UsageError(
            f"unknown provider {provider_id!r}. Known: {', '.join(KNOWN)} (see keyz providers)"
        )
    module = importlib.import_module(module_name)
    provider: Provider = module.PROVIDER
    return provider


def all_providers() -> list[Provider]:
    """Every provider keyz can check (imports each module: not for a start-up path)."""
    return [get_provider(pid) for pid in KNOWN]


def all_specs() -> list[Provider | Unsupported]:
    """Every provider keyz knows of, checkable or not: their ids, path words and keys' looks."""
    return [*all_providers(), *UNSUPPORTED.values()]


__all__ = ["KNOWN", "all_providers", "all_specs", "get_provider"]
