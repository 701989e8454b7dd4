"""xAI Management API: ``GET /v1/billing/teams/{team_id}/prepaid/balance``.

Needs a management key (console.x.ai → Settings → Management Keys), not an
``xai-`` inference key. Answer shape (xAI's billing docs list the endpoint; the
field semantics come from well-kept clients)::

    {"changes": [{"topupStatus": "SUCCEEDED", "amount": {"val": "-1000"}}],
     "total": {"val": "-250"}}

``total.val`` is a string of USD cents on an inverted ledger: a top-up is
negative, so remaining dollars = -val / 100 ("-250" → 2.50). A total keyz
cannot read is an error, never $0.

The team id comes from the ``team_id`` option, a ``team_id:`` line in the pass
entry, or ``GET /auth/management-keys/validation`` (``teamId``, or ``scopeId`` when
``scope`` is ``SCOPE_TEAM``), in that order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.money import parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    Option,
    Provider,
    Report,
)
from keyz.sidecar import Balance

VALIDATION = Endpoint(
    "key validation", "/auth/management-keys/validation", KeyKind.MANAGEMENT, Capability(0)
)
BALANCE = Endpoint(
    "balance", "/v1/billing/teams/{team_id}/prepaid/balance", KeyKind.MANAGEMENT, Capability.BALANCE
)
CENTS: Final = Decimal(-100)  # inverted ledger in cents


def parse_team(payload: Any) -> str:
    """The team id from a management-key validation answer: ``teamId``, else the team scope."""
    if not isinstance(payload, dict):
        payload = {}
    team = payload.get("teamId")
    if not isinstance(team, str) or not team.strip():
        # a team-scoped key names its team as the scope; any other scope is not a team
        team = payload.get("scopeId") if payload.get("scope") == "SCOPE_TEAM" else None
    if not isinstance(team, str) or not team.strip():
        raise ParseError("the answer names no teamId; set it with --option team_id=…")
    return team.strip()


def parse_balance(payload: Any) -> Report:
    """Normalize a prepaid/balance answer: remaining USD = -total.val / 100."""
    total = payload.get("total") if isinstance(payload, dict) else None
    value = total.get("val") if isinstance(total, dict) else None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ParseError("the answer has no readable total.val")
    balance = Balance(
        currency="USD",
        remaining=parse_amount(value, field="total.val", scale=CENTS),
        source=BALANCE.path,
    )
    return Report(available=None, balances=[balance])


class XAI(Provider):
    id = "xai"
    title = "xAI"
    short_name = "xai"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://management-api.x.ai"
    endpoints = (VALIDATION, BALANCE)
    options: ClassVar = {
        "team_id": Option(
            "the team id (console.x.ai/team/<team_id>); found from the key when unset",
            pattern=r"[A-Za-z0-9_-]{1,128}",
        )
    }
    key_help: ClassVar[str] = (
        "a management key from console.x.ai → Settings → Management Keys (an xai- inference "
        "key cannot read billing)"
    )
    path_words = ("xai", "grok", "x.ai")
    key_prefixes = (
        KeyPrefix("xai-", KeyKind.REGULAR, False, "an xAI inference key (not a management key)"),
    )
    key_shapes = (r"xai-[0-9A-Za-z_]{40,}",)
    demo_key = "xai-token-demo0000" + "0" * 40
    round_trips = 2  # the key's team (when no team_id is given), then its balance

    async def fetch(self, ctx: FetchContext) -> Report:
        headers = ctx.bearer()
        team = ctx.options.get("team_id")
        if team is None:
            team = parse_team(await ctx.get_json(VALIDATION, headers=headers))
        try:
            payload = await ctx.get_json(BALANCE, headers=headers, path={"team_id": team})
        except ProviderError as exc:
            if exc.status == 404:
                raise ProviderError(
                    f"{exc}; no prepaid balance for that team: check team_id (postpaid "
                    "teams have no prepaid balance)",
                    status=404,
                ) from None
            raise
        return parse_balance(payload)

    def examples(
        self, now: datetime, *, team_id: str = "team-1234", total_cents: str = "-250"
    ) -> dict[str, Example]:
        """A management key of team ``team_id``; ``total_cents`` on xAI's inverted ledger."""
        validation = {
            "apiKeyId": "key-1",
            "teamId": team_id,
            "scope": "SCOPE_TEAM",
            "scopeId": team_id,
            "name": "keyz",
        }
        body = {
            "changes": [{"topupStatus": "SUCCEEDED", "amount": {"val": "-1000"}}],
            "total": {"val": total_cents},
        }
        return {
            VALIDATION.path: Example(validation),
            BALANCE.path.format(team_id=team_id): Example(body),
        }


PROVIDER = XAI()
