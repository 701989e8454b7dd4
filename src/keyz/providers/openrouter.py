"""OpenRouter: account credits with a management key, else the key's own cap.

``GET /api/v1/credits`` (management key required, per OpenRouter's docs)::

    {"data": {"total_credits": 100.5, "total_usage": 25.75}}

remaining = total_credits - total_usage, marked as derived. Ordinary keys get
401/403 there; keyz then reads ``GET /api/v1/key``, which describes the key's
own spending cap (``limit`` null = no cap), never the account balance; it
answers any valid key, so a 401 there means the key itself is invalid::

    {"data": {"limit": 100, "limit_remaining": 74.5, "limit_reset": "monthly",
              "usage": 25.5, "is_management_key": false, ...}}

The key's ``usage_daily`` / ``usage_weekly`` / ``usage_monthly`` (UTC day, week
from Monday, month) become spend windows next to the cap. All figures are USD numbers.

Which key spends: once /credits has answered (so the key is a management key), keyz lists
every key of the account with ``GET /api/v1/keys?include_disabled=true`` ("List API keys",
management key required; openrouter.ai/docs/api/api-reference/api-keys/list-api-keys). A page
holds the most recent 100 keys; ``offset`` (number of keys to skip) pages on. Its documented
example::

    {"data": [{"hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
               "name": "My Production Key", "label": "sk-or-v1-0e6...1c96",
               "disabled": false, "limit": 100, "limit_remaining": 74.5,
               "limit_reset": "monthly", "include_byok_in_limit": false, "usage": 25.5,
               "usage_daily": 25.5, "usage_weekly": 25.5, "usage_monthly": 25.5,
               "byok_usage": 17.38, ..., "created_at": "2025-08-24T10:30:00Z",
               "updated_at": "2025-08-24T15:45:00Z", "workspace_id": "0df9e665-..."}]}

Each key becomes an ``account_keys`` item, sorted by ``hash`` (OpenRouter's id of the key, not
the key). ``label`` is the key as OpenRouter masks it; a label, name or hash holding a key is
withheld. BYOK usage (billed by the user's own provider, not OpenRouter credits) is left out.
Only the default workspace's keys are listed (``workspace_id`` is not sent). A failure of
/keys never loses the balance: the breakdown is left out with a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import AuthError, ParseError, ProviderError
from keyz.money import optional_amount, parse_amount
from keyz.periods import day_start, month_start, week_start
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    KeyRejected,
    Provider,
    Report,
)
from keyz.redact import REDACTOR, clean
from keyz.sidecar import MAX_ACCOUNT_KEYS, MAX_TEXT, AccountKey, Balance, KeyLimit, Spend

CREDITS = Endpoint("credits", "/api/v1/credits", KeyKind.MANAGEMENT, Capability.BALANCE)
KEY = Endpoint("key", "/api/v1/key", KeyKind.REGULAR, Capability.KEY_LIMIT | Capability.SPEND)
KEYS = Endpoint(
    "keys",
    "/api/v1/keys",
    KeyKind.MANAGEMENT,
    Capability.KEY_SPEND,
    (("include_disabled", "true"),),  # a disabled key may have spent this month
)
NEEDS_MANAGEMENT_KEY = "account balance needs a management key"
_RESETS = ("daily", "weekly", "monthly")
PAGE: Final = 100  # documented: a page holds the most recent 100 keys, ``offset`` pages on
MAX_PAGES: Final = 20  # pages asked at most
MAX_READ: Final = MAX_PAGES * PAGE  # keys read at most, however the answers are paged
TRUNCATED: Final = f"more than {MAX_READ} keys: only the most recent {MAX_READ} were read"
_HASH: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _data(payload: Any) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ParseError("the answer has no data object")
    return data


def parse_credits(payload: Any) -> Report:
    """Normalize a /credits answer: the account's balance in USD."""
    data = _data(payload)
    purchased = parse_amount(data.get("total_credits"), field="total_credits")
    used = parse_amount(data.get("total_usage"), field="total_usage")
    balance = Balance(
        currency="USD",
        remaining=purchased - used,
        purchased=purchased,
        used=used,
        derived=["remaining"],
        source=CREDITS.path,
    )
    return Report(available=None, balances=[balance])


_WINDOWS: Final = (
    ("today", "usage_daily", day_start),
    ("this_week", "usage_weekly", week_start),
    ("this_month", "usage_monthly", month_start),
)


def parse_key(payload: Any, now: datetime) -> Report:
    """Normalize a /key answer: the key's own cap and spend windows, no invented balance."""
    data = _data(payload)
    if "limit" not in data or data.get("usage") is None:  # both always sent; limit null = no cap
        raise ParseError("the answer has no limit and usage figures")
    spend = [
        Spend(
            period=period,  # type: ignore[arg-type]  # the names above are valid periods
            start=start(now),
            currency="USD",
            amount=parse_amount(data[name], field=name),
            source=KEY.path,
        )
        for period, name, start in _WINDOWS
        if data.get(name) is not None
    ]
    reset = data.get("limit_reset")
    limit = KeyLimit(
        currency="USD",
        limit=optional_amount(data.get("limit"), field="limit"),
        remaining=optional_amount(data.get("limit_remaining"), field="limit_remaining"),
        usage=optional_amount(data.get("usage"), field="usage"),
        reset=reset if reset in _RESETS else None,
        source=KEY.path,
    )
    return Report(available=None, key_limit=limit, spend=spend, notes=[NEEDS_MANAGEMENT_KEY])


_KEY_FIGURES: Final = (
    ("limit", "limit"),
    ("remaining", "limit_remaining"),
    ("usage", "usage"),
    ("usage_today", "usage_daily"),
    ("usage_this_week", "usage_weekly"),
    ("usage_this_month", "usage_monthly"),
)
_SPENT: Final = frozenset({"usage", "usage_today", "usage_this_week", "usage_this_month"})


def _withheld(value: str) -> bool:
    """The text holds a key: one decrypted in this process, or one of a known key shape."""
    return REDACTOR(value) != value or REDACTOR.loosely_contains(value)


def _text(value: Any) -> tuple[str | None, bool]:
    """(text fit to show, whether a key made keyz withhold it)."""
    if not isinstance(value, str) or not value.strip():
        return None, False
    if _withheld(value):
        return None, True
    return clean(value, MAX_TEXT), False


def _hash(value: Any) -> tuple[str | None, bool]:
    """OpenRouter's id of the key; (None, True) when it is the key itself."""
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        return None, False
    if _withheld(value):
        return None, True
    return value, False


def _created(value: Any) -> datetime | None:
    """ISO 8601 with a zone, to the second in UTC; anything else is unknown."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None or when.year < 1970:  # no zone, or no time a key was made
            return None
        return when.astimezone(UTC).replace(microsecond=0)
    except (ValueError, OverflowError):  # OverflowError: year 1 at +14:00 is before year 1
        return None


def parse_account_key(item: Any) -> tuple[AccountKey, int]:
    """One /keys item as an account key, and how many of its texts were withheld."""
    if not isinstance(item, dict):
        raise ParseError("a key is not an object")
    figures: dict[str, Decimal | None] = {
        ours: optional_amount(item.get(theirs), field=theirs) for ours, theirs in _KEY_FIGURES
    }
    for spent in _SPENT:
        amount = figures[spent]
        if amount is not None and amount < 0:
            raise ParseError(f"a key's {spent} is negative")
    key_hash, hash_withheld = _hash(item.get("hash"))
    name, name_withheld = _text(item.get("name"))
    label, label_withheld = _text(item.get("label"))
    disabled = item.get("disabled")
    reset = item.get("limit_reset")
    key = AccountKey(
        hash=key_hash,
        name=name,
        label=label,
        disabled=disabled if isinstance(disabled, bool) else None,
        reset=reset if reset in _RESETS else None,
        created_at=_created(item.get("created_at")),
        source=KEYS.path,
        limit=figures["limit"],
        remaining=figures["remaining"],
        usage=figures["usage"],
        usage_today=figures["usage_today"],
        usage_this_week=figures["usage_this_week"],
        usage_this_month=figures["usage_this_month"],
    )
    return key, hash_withheld + name_withheld + label_withheld


def _spent_most(key: AccountKey) -> tuple[Decimal, Decimal]:
    return (key.usage_this_month or Decimal(0), key.usage or Decimal(0))


def parse_keys(pages: Iterable[Any]) -> tuple[list[AccountKey], list[str]]:
    """Every key of the /keys pages, once each (by hash), and notes on what was left out.

    A key whose figures are not numbers is left out and counted; a page that is not a
    list of keys is an error (the caller keeps the balance and notes it). More keys than a
    sidecar lists: those that spent the most this month are kept.
    """
    keys: list[AccountKey] = []
    seen: set[str] = set()
    unreadable = withheld = 0
    items = [item for payload in pages for item in _items(payload)]
    for item in items[:MAX_READ]:
        given = item.get("hash") if isinstance(item, dict) else None
        if isinstance(given, str) and given in seen:
            continue  # listed twice, e.g. a key created while paging: counted once
        try:
            key, hidden = parse_account_key(item)
        except (ParseError, ValueError):  # ValueError: figures that make no key together
            unreadable += 1
            continue
        withheld += hidden
        if key.hash is not None:
            seen.add(key.hash)
        keys.append(key)
    notes = []
    if len(keys) > MAX_ACCOUNT_KEYS:
        ranked = sorted(keys, key=AccountKey.order)
        ranked.sort(key=_spent_most, reverse=True)  # stable: ties stay in hash order
        more = len(keys) - MAX_ACCOUNT_KEYS
        notes.append(f"{more} more {_keys(more)} not listed (those that spent least this month)")
        keys = ranked[:MAX_ACCOUNT_KEYS]
    if unreadable:
        notes.append(
            f"{unreadable} {_keys(unreadable)} left out: not a key object, or figures that "
            "are not numbers"
        )
    if withheld:
        notes.append(f"key names, labels or hashes withheld as they held a key: {withheld}")
    if len(items) > MAX_READ:
        notes.append(TRUNCATED)
    return keys, notes


def _keys(count: int) -> str:
    return "key" if count == 1 else "keys"


def _items(payload: Any) -> list[Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise ParseError("the answer has no data list")
    return data


class OpenRouter(Provider):
    id = "openrouter"
    title = "OpenRouter"
    short_name = "or"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://openrouter.ai"
    endpoints = (CREDITS, KEY, KEYS)
    key_help: ClassVar[str] = (
        "a management key from openrouter.ai/settings/management-keys for the account balance; "
        "an ordinary key shows only its own limit"
    )
    path_words = ("openrouter",)
    key_prefixes = (KeyPrefix("sk-or-v1-", KeyKind.REGULAR, True, "an OpenRouter key"),)
    key_shapes = (r"sk-or-v1-[0-9a-f]{32,}",)
    demo_key = "sk-or-v1-" + "0123456789abcdef" * 4
    # Its rate limits are per model (free variants) and DDoS protection, "capacity governed
    # globally" (openrouter.ai/docs/api-reference/limits); a management key costs two requests
    # (/credits, then /keys): 16 entries in flight, not the default 8.
    concurrency = 16
    round_trips = 2

    async def fetch(self, ctx: FetchContext) -> Report:
        headers = ctx.bearer()
        try:
            payload = await ctx.get_json(CREDITS, headers=headers)
        except AuthError:
            # Ordinary keys are refused by /credits; the key's own cap is still worth having.
            try:
                payload = await ctx.get_json(KEY, headers=headers)
            except AuthError as exc:
                if exc.status != 401:
                    raise
                # /key answers any valid key, so a 401 here is a bad key, not the wrong kind
                raise KeyRejected(
                    f"{exc}; the key is invalid or revoked: make a new one at "
                    "openrouter.ai/settings/keys",
                    status=401,
                ) from None
            return parse_key(payload, ctx.now)
        report = parse_credits(payload)  # answered: a management key, which may list the keys
        try:
            pages, complete = await self._key_pages(ctx, headers)
            keys, notes = parse_keys(pages)
        except ProviderError as exc:  # the balance stands without the breakdown
            return replace(report, notes=[f"per-key spend left out: {clean(str(exc), 120)}"])
        if not complete and TRUNCATED not in notes:
            notes.append(TRUNCATED)
        return replace(report, account_keys=keys, notes=notes)

    async def _key_pages(
        self, ctx: FetchContext, headers: Mapping[str, str]
    ) -> tuple[list[Any], bool]:
        """/keys page after page, up to MAX_PAGES; and whether that was all of them."""
        pages: list[Any] = []
        offset = 0
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = {"offset": str(offset)} if offset else None
            payload = await ctx.get_json(KEYS, headers=headers, query=query)
            items = _items(payload)
            pages.append(payload)
            ids = {
                i["hash"] for i in items if isinstance(i, dict) and isinstance(i.get("hash"), str)
            }
            if len(items) < PAGE or not ids - seen:  # the last page, or offset not honoured
                return pages, True
            seen |= ids
            offset += len(items)
            if offset >= MAX_READ:
                break
        return pages, False

    def examples(
        self,
        now: datetime,
        *,
        management: bool = True,
        total_credits: float = 100.5,
        total_usage: float = 25.75,
        limit: float | None = 100,
        limit_remaining: float | None = 74.5,
        limit_reset: str | None = "monthly",
        usage: float = 25.5,
        keys: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Example]:
        """A management key's account; an ordinary key (``management=False``) gets its credits
        refused, as OpenRouter does, and only its own cap.

        ``keys``: the account's keys as /keys lists them, each given by what differs from the
        documented example key (None: that one key).
        """
        if management:
            body: Any = {"data": {"total_credits": total_credits, "total_usage": total_usage}}
            credits = Example(body)
        else:
            forbidden = {
                "error": {"code": 403, "message": "Only management keys can fetch credits"}
            }
            credits = Example(forbidden, 403)
        key = {
            "label": "sk-or-v1-au7...890",
            "limit": limit,
            "limit_reset": limit_reset,
            "limit_remaining": limit_remaining,
            "include_byok_in_limit": False,
            "usage": usage,
            "usage_daily": usage,
            "usage_weekly": usage,
            "usage_monthly": usage,
            "byok_usage": 0,
            "byok_usage_daily": 0,
            "byok_usage_weekly": 0,
            "byok_usage_monthly": 0,
            "is_free_tier": False,
            "is_management_key": management,
            "is_provisioning_key": management,
            "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
            "expires_at": None,
            "rate_limit": {
                "requests": 1000,
                "interval": "1h",
                "note": "This field is deprecated and safe to ignore.",
            },
        }
        listed = [{**LISTED_KEY, **one} for one in ([{}] if keys is None else keys)]
        if management:
            keys_answer = Example({"data": listed})
        else:
            keys_answer = Example(
                {"error": {"code": 401, "message": "Management key required"}}, 401
            )
        return {
            CREDITS.path: credits,
            KEY.path: Example({"data": key}),
            KEYS.path: keys_answer,
        }


# The documented example of one /keys item (openrouter.ai's "List API keys" reference).
LISTED_KEY: Final[dict[str, Any]] = {
    "hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
    "name": "My Production Key",
    "label": "sk-or-v1-0e6...1c96",
    "disabled": False,
    "limit": 100,
    "limit_remaining": 74.5,
    "limit_reset": "monthly",
    "include_byok_in_limit": False,
    "usage": 25.5,
    "usage_daily": 25.5,
    "usage_weekly": 25.5,
    "usage_monthly": 25.5,
    "byok_usage": 17.38,
    "byok_usage_daily": 17.38,
    "byok_usage_weekly": 17.38,
    "byok_usage_monthly": 17.38,
    "created_at": "2025-08-24T10:30:00Z",
    "updated_at": "2025-08-24T15:45:00Z",
    "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
    "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11",
}


PROVIDER = OpenRouter()
