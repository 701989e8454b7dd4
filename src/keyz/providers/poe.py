"""Poe: ``GET /usage/current_balance``.

Documented example (creator.poe.com/docs/resources/usage-api)::

    {"current_point_balance": 1500}

Points are Poe's own unit, not money: the balance is written in unit ``POINTS``
with ``unit_kind: provider``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from keyz.errors import ParseError
from keyz.money import parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Provider,
    Report,
)
from keyz.sidecar import Balance

BALANCE = Endpoint("balance", "/usage/current_balance", KeyKind.REGULAR, Capability.BALANCE)


def parse_balance(payload: Any) -> Report:
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    points = parse_amount(payload.get("current_point_balance"), field="current_point_balance")
    balance = Balance(
        currency="POINTS", unit_kind="provider", remaining=points, source=BALANCE.path
    )
    return Report(available=None, balances=[balance])


class Poe(Provider):
    id = "poe"
    title = "Poe"
    short_name = "poe"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.poe.com"
    endpoints = (BALANCE,)
    key_help: ClassVar[str] = "an API key from poe.com/api_key"
    path_words = ("poe",)
    demo_key = "demo0000poe0000000000000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(BALANCE, headers=ctx.bearer())
        return parse_balance(payload)

    def examples(self, now: datetime, *, points: int = 1500) -> dict[str, Example]:
        return {BALANCE.path: Example({"current_point_balance": points})}


PROVIDER = Poe()
