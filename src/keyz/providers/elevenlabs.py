"""ElevenLabs: ``GET /v1/user/subscription`` (a character quota window).

Header ``xi-api-key``; a key restricted by permissions needs ``user_read``
(User → Read), or the endpoint refuses it. Documented fields (ElevenLabs API reference, get subscription)
include ``tier``, ``character_count`` (used in this period), ``character_limit``,
``next_character_count_reset_unix`` (seconds), ``status`` and ``currency``.
keyz reports one quota window: characters used of the limit, remaining and the
percentage left (derived), and the reset time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from keyz.errors import ParseError
from keyz.money import parse_amount
from keyz.periods import from_epoch
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Provider,
    Report,
)
from keyz.sidecar import Quota

SUBSCRIPTION = Endpoint("subscription", "/v1/user/subscription", KeyKind.REGULAR, Capability.QUOTA)


def parse_subscription(payload: Any) -> Report:
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    used = parse_amount(payload.get("character_count"), field="character_count")
    limit = parse_amount(payload.get("character_limit"), field="character_limit")
    remaining = max(limit - used, Decimal(0))
    percent = (remaining / limit * 100).quantize(Decimal("0.01")) if limit > 0 else Decimal(0)
    quota = Quota(
        label="characters",
        remaining_percent=percent,
        used=used,
        limit=limit,
        remaining=remaining,
        unit="characters",
        resets_at=from_epoch(payload.get("next_character_count_reset_unix")),
        derived=["remaining", "remaining_percent"],
        source=SUBSCRIPTION.path,
    )
    return Report(available=None, quotas=[quota])


class ElevenLabs(Provider):
    id = "elevenlabs"
    title = "ElevenLabs"
    short_name = "el"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.elevenlabs.io"
    endpoints = (SUBSCRIPTION,)
    key_help: ClassVar[str] = (
        "an API key from elevenlabs.io/app/settings/api-keys with the User → Read permission "
        "(user_read)"
    )
    path_words = ("elevenlabs", "eleven")
    demo_key = "sk_demo0000elevenlabs00000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(SUBSCRIPTION, headers={"xi-api-key": ctx.secret.value})
        return parse_subscription(payload)

    def examples(
        self, now: datetime, *, used: int = 6200, limit: int = 10000
    ) -> dict[str, Example]:
        body = {
            "tier": "starter",
            "character_count": used,
            "character_limit": limit,
            "can_extend_character_limit": False,
            "allowed_to_extend_character_limit": False,
            "next_character_count_reset_unix": int(now.timestamp()) + 12 * 86400,
            "voice_slots_used": 1,
            "voice_limit": 10,
            "status": "active",
            "currency": "usd",
            "billing_period": "monthly_period",
            "character_refresh_period": "monthly_period",
        }
        return {SUBSCRIPTION.path: Example(body)}


PROVIDER = ElevenLabs()
