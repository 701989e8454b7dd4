"""one-api / new-api relays: the OpenAI-style billing endpoints they answer a token with.

There is no public host: each relay is someone's own deployment, so the host comes from a
``base_url: https://relay.example`` line in the pass entry (bound to the key; config.toml
and ``KEYZ_ONEAPI_BASE_URL`` cannot set or move it).

Read from the relays' own source (no API reference is published):
github.com/songquanpeng/one-api ``controller/billing.go`` and ``router/dashboard.go``;
github.com/QuantumNous/new-api (formerly Calcium-Ion/new-api) ``controller/billing.go``.
Both routes sit behind ``TokenAuth`` (``Authorization: Bearer <token>``), also under ``/v1``::

    GET /dashboard/billing/subscription
    {"object": "billing_subscription", "has_payment_method": true,
     "soft_limit_usd": 20, "hard_limit_usd": 20, "system_hard_limit_usd": 20,
     "access_until": 0}

    GET /dashboard/billing/usage?start_date=2026-08-16&end_date=2026-11-24
    {"object": "list", "total_usage": 750}

- ``hard_limit_usd`` is the token's remaining + used quota (the user's, when the site turns
  token statistics off), in the site's display unit; an unlimited token answers the
  placeholder ``100000000``: no limit, never a balance of 100 million.
- ``total_usage`` is the used quota in the same unit times 100 ("cents"). Both relays ignore
  ``start_date``/``end_date`` and report everything used; keyz sends a window anyway, as
  OpenAI-style clients do, for relays that insist on one.
- The display unit is a site setting the answer does not name: USD (the default), CNY, or
  raw quota (new-api ``TOKENS``, one-api with currency display off). The ``currency``
  option says which. Errors come as HTTP 200 ``{"error": {"message", "type"}}``, or as 401/403
  with the same shape from the token check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.fields import format_time
from keyz.money import format_amount, parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Option,
    Provider,
    Report,
    Traced,
)
from keyz.redact import clean
from keyz.sidecar import KeyLimit

SUBSCRIPTION = Endpoint(
    "subscription", "/dashboard/billing/subscription", KeyKind.REGULAR, Capability.KEY_LIMIT
)
USAGE = Endpoint("usage", "/dashboard/billing/usage", KeyKind.REGULAR, Capability.KEY_LIMIT)
UNLIMITED: Final = Decimal(100000000)  # what both relays answer for an unlimited token
CENTS: Final = Decimal(100)
USAGE_DAYS: Final = 99  # OpenAI's old usage endpoint refused spans over 100 days
NO_USAGE_ENDPOINT: Final = "the relay has no usage endpoint; what is left is unknown"
UNLIMITED_NOTE: Final = "unlimited token (the relay's 100000000 placeholder)"


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    error = payload.get("error")
    if error is not None:  # both relays answer errors with HTTP 200 and this envelope
        parts = [error.get(k) for k in ("type", "message")] if isinstance(error, dict) else []
        said = clean(": ".join(p for p in parts if isinstance(p, str) and p))
        raise ProviderError(f"the relay answered an error{f': {said}' if said else ''}")
    return payload


def parse_subscription(payload: Any) -> tuple[Decimal | None, Traced, datetime | None]:
    """(the token's limit, None when unlimited; how it was read; when the token expires)."""
    data = _object(payload)
    limit = parse_amount(data.get("hard_limit_usd"), field="hard_limit_usd")
    if limit < 0:
        raise ParseError("field 'hard_limit_usd' is negative, which no limit is")
    expires: datetime | None = None
    until = data.get("access_until")
    if isinstance(until, int) and not isinstance(until, bool) and 0 < until < 253402300800:
        expires = datetime.fromtimestamp(until, UTC)
    traced = Traced("key_limit.limit", "hard_limit_usd", format_amount(limit))
    return (None if limit == UNLIMITED else limit), traced, expires


def parse_usage(payload: Any) -> tuple[Decimal, Traced]:
    """The used amount in the display unit (``total_usage`` is in hundredths of it)."""
    data = _object(payload)
    cents = parse_amount(data.get("total_usage"), field="total_usage")
    if cents < 0:
        raise ParseError("field 'total_usage' is negative, which no usage is")
    used = parse_amount(cents, field="total_usage", scale=CENTS)
    return used, Traced("key_limit.usage", "total_usage / 100", format_amount(cents))


def usage_window(now: datetime) -> dict[str, str]:
    """start_date and end_date (UTC days) as OpenAI-style clients send them."""
    today = now.astimezone(UTC).date()
    return {
        "start_date": (today - timedelta(days=USAGE_DAYS)).isoformat(),
        "end_date": (today + timedelta(days=1)).isoformat(),
    }


def key_limit(limit: Decimal | None, used: Decimal | None, currency: str) -> KeyLimit:
    """The KeyLimit: remaining = limit - used (derived) when both are known."""
    remaining = limit - used if limit is not None and used is not None else None
    return KeyLimit(
        currency=currency,
        limit=limit,
        remaining=remaining,
        usage=used,
        derived=["remaining"] if remaining is not None else [],
        source=SUBSCRIPTION.path,
    )


class OneApi(Provider):
    id = "oneapi"
    title = "one-api / new-api relay"
    short_name = "oap"
    key_kind = KeyKind.REGULAR
    default_base_url = ""  # none: the entry's base_url line is the host
    host_from_entry = True
    endpoints = (SUBSCRIPTION, USAGE)
    options: ClassVar[dict[str, Option]] = {
        "currency": Option(
            "the relay's display unit: USD (default), CNY, or TOKENS for raw quota",
            pattern=r"[A-Z][A-Z0-9_]{1,15}",
        )
    }
    key_help: ClassVar[str] = (
        "the relay token (sk-…) from the relay's Tokens page, with a 'base_url: https://…' "
        "line under it in the pass entry"
    )
    path_words = ("oneapi", "one-api", "new-api", "newapi")
    demo_key = "sk-" + "demo0ne4pi" * 4 + "relay123"
    round_trips = 2  # subscription, then usage

    async def fetch(self, ctx: FetchContext) -> Report:
        currency = ctx.options.get("currency", "USD")
        headers = ctx.bearer()
        payload = await ctx.get_json(SUBSCRIPTION, headers=headers)
        limit, traced_limit, expires = parse_subscription(payload)
        trace, notes = [traced_limit], []
        used: Decimal | None = None
        try:
            usage = await ctx.get_json(USAGE, headers=headers, query=usage_window(ctx.now))
        except ProviderError as exc:
            if exc.status != 404:
                raise
            notes.append(NO_USAGE_ENDPOINT)
        else:
            used, traced_used = parse_usage(usage)
            trace.append(traced_used)
        cap = key_limit(limit, used, currency)
        if limit is None:
            notes.append(UNLIMITED_NOTE)
        elif cap.remaining is not None:
            trace.append(Traced("key_limit.remaining", "limit - usage (derived)", ""))
        if expires is not None:
            notes.append(f"the token expires at {format_time(expires)}")
        return Report(available=None, key_limit=cap, notes=notes, trace=trace)

    def examples(
        self,
        now: datetime,
        *,
        hard_limit: float | int = 20,
        total_usage: float | int = 750,
        access_until: int = 0,
    ) -> dict[str, Example]:
        """A token with a $20 limit of which $7.50 is used (``hard_limit=100000000``:
        unlimited), as the relays send them (Go float64s)."""
        subscription = {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": hard_limit,
            "hard_limit_usd": hard_limit,
            "system_hard_limit_usd": hard_limit,
            "access_until": access_until,
        }
        usage = {"object": "list", "total_usage": total_usage}
        return {SUBSCRIPTION.path: Example(subscription), USAGE.path: Example(usage)}


PROVIDER = OneApi()
