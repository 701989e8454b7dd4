"""OpenRouter: payloads shaped like openrouter.ai's /credits and /key reference examples."""

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from keyz.config import EntryConfig
from keyz.errors import AuthError, ProviderError
from keyz.providers import get_provider
from keyz.providers.base import FetchContext, KeyKind, Report
from keyz.providers.http import HttpClient
from keyz.providers.openrouter import (
    MAX_PAGES,
    NEEDS_MANAGEMENT_KEY,
    PAGE,
    parse_credits,
    parse_key,
    parse_keys,
)
from keyz.redact import REDACTOR
from keyz.sidecar import MAX_ACCOUNT_KEYS, AccountKey, dumps
from keyz.store import Secret
from keyz.sync import normalize

from . import helpers
from .helpers import doc

CREDITS_EXAMPLE = {"data": {"total_credits": Decimal("100.5"), "total_usage": Decimal("25.75")}}
KEY_EXAMPLE = {
    "data": {
        "label": "sk-or-v1-au7...890",
        "limit": 100,
        "limit_reset": "monthly",
        "limit_remaining": Decimal("74.5"),
        "include_byok_in_limit": False,
        "usage": Decimal("25.5"),
        "usage_daily": Decimal("25.5"),
        "usage_weekly": Decimal("25.5"),
        "usage_monthly": Decimal("25.5"),
        "byok_usage": Decimal("17.38"),
        "is_free_tier": False,
        "is_management_key": False,
        "is_provisioning_key": False,
        "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
        "expires_at": "2027-12-31T23:59:59Z",
        "rate_limit": {
            "requests": 1000,
            "interval": "1h",
            "note": "This field is deprecated and safe to ignore.",
        },
    }
}
BASE = "https://openrouter.ai"
NOW = datetime(2026, 11, 19, 15, 30, tzinfo=UTC)  # a Thursday


def test_key_usage_windows_are_reported_spend_in_utc_periods() -> None:
    payload = {
        "data": {
            **KEY_EXAMPLE["data"],
            "usage_daily": Decimal("0.5"),
            "usage_weekly": Decimal("3.25"),
            "usage_monthly": 12,
        }
    }
    spend = {s.period: s for s in parse_key(payload, NOW).spend}
    assert {p: s.amount for p, s in spend.items()} == {
        "today": Decimal("0.5"),
        "this_week": Decimal("3.25"),
        "this_month": Decimal(12),
    }
    assert spend["today"].start == datetime(2026, 11, 19, tzinfo=UTC)
    assert spend["this_week"].start == datetime(2026, 11, 16, tzinfo=UTC)  # Monday
    assert spend["this_month"].start == datetime(2026, 11, 1, tzinfo=UTC)
    assert all(s.end is None and s.derived == [] and s.currency == "USD" for s in spend.values())
    later = parse_key(payload, NOW.replace(hour=23)).spend  # same day, same figures:
    assert later == parse_key(payload, NOW).spend  # the same sidecar, so no rewrite
    without = {"data": {k: v for k, v in KEY_EXAMPLE["data"].items() if k != "usage_daily"}}
    assert "today" not in {s.period for s in parse_key(without, NOW).spend}


def test_credits_example_gives_a_derived_remaining() -> None:
    (usd,) = parse_credits(CREDITS_EXAMPLE).balances
    assert (usd.currency, usd.remaining, usd.purchased, usd.used) == (
        "USD",
        Decimal("74.75"),
        Decimal("100.5"),
        Decimal("25.75"),
    )
    assert usd.derived == ["remaining"]


def test_key_example_gives_the_key_limit_and_no_invented_balance() -> None:
    report = parse_key(KEY_EXAMPLE, NOW)
    assert report.balances == []
    limit = report.key_limit
    assert limit is not None
    assert (limit.limit, limit.remaining, limit.usage, limit.reset) == (
        Decimal("100"),
        Decimal("74.5"),
        Decimal("25.5"),
        "monthly",
    )
    assert report.notes == [NEEDS_MANAGEMENT_KEY]


def test_an_unlimited_key_has_null_limit_and_remaining() -> None:
    payload = {
        "data": {**KEY_EXAMPLE["data"], "limit": None, "limit_remaining": None, "limit_reset": None}
    }
    limit = parse_key(payload, NOW).key_limit
    assert (
        limit is not None
        and limit.limit is None
        and limit.remaining is None
        and limit.reset is None
    )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"data": []},
        {"data": {"total_credits": "x", "total_usage": 1}},
        {"data": {"total_usage": 1}},
    ],
)
def test_wrong_credit_shapes_are_errors(payload: Any) -> None:
    with pytest.raises(ProviderError):
        parse_credits(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {}},  # read as 'no cap' before: the last good figures were wiped
        {"data": {"limit": None}},
        {"data": {"usage": 1}},
    ],
)
@respx.mock
def test_a_key_answer_without_its_figures_is_an_error(payload: Any) -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(403)
    respx.get(f"{BASE}/api/v1/key").respond(json=payload)
    with pytest.raises(ProviderError, match=r"^openrouter key: the answer has no"):
        fetch()  # named by the endpoint asked last, not the one refused before it


def fetch() -> Any:
    async def go() -> Any:
        async with HttpClient.make_async_client() as client:
            ctx = FetchContext(HttpClient(client), Secret("sk-or-v1-" + "a" * 64), BASE)
            return await get_provider("openrouter").report(ctx)  # as sync calls it

    return asyncio.run(go())


@respx.mock
def test_a_management_key_reads_the_account_credits() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(
        json={"data": {"total_credits": 100.5, "total_usage": 25.75}}
    )
    respx.get(f"{BASE}/api/v1/keys").respond(json={"data": []})
    key_route = respx.get(f"{BASE}/api/v1/key")
    report = fetch()
    assert report.balances[0].remaining == Decimal("74.75")
    assert not key_route.called


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_an_ordinary_key_falls_back_to_its_own_limit(status: int) -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(
        status, json={"error": {"code": status, "message": "Management key required"}}
    )
    respx.get(f"{BASE}/api/v1/key").respond(
        json={
            "data": {"limit": 20, "limit_remaining": 12.5, "limit_reset": "monthly", "usage": 7.5}
        }
    )
    report = fetch()
    assert report.key_limit.remaining == Decimal("12.5")
    assert report.balances == []


@respx.mock
def test_a_rejected_key_is_an_auth_error() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(401)
    respx.get(f"{BASE}/api/v1/key").respond(
        401, json={"error": {"message": "No auth credentials found"}}
    )
    with pytest.raises(AuthError, match="openrouter key: the key was rejected") as caught:
        fetch()
    # /key takes any valid key: a 401 there means this key is invalid, not of the wrong kind
    assert "invalid or revoked" in str(caught.value) and caught.value.status == 401
    assert "management key" not in str(caught.value)


@respx.mock
def test_a_key_refused_only_by_credits_and_key_forbidden_still_names_the_key_needed() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(401)
    respx.get(f"{BASE}/api/v1/key").respond(403)
    with pytest.raises(AuthError, match="OpenRouter needs a management key"):
        fetch()


def test_declares_management_key_for_balance() -> None:
    provider = get_provider("openrouter")
    kinds = {e.path: e.key_kind for e in provider.endpoints}
    assert kinds == {
        "/api/v1/credits": KeyKind.MANAGEMENT,
        "/api/v1/key": KeyKind.REGULAR,
        "/api/v1/keys": KeyKind.MANAGEMENT,
    }


# --- which key spends: GET /api/v1/keys with a management key ------------------------------

# openrouter.ai's "List API keys" reference example (api-reference/api-keys/list-api-keys)
KEYS_TEXT = """{"data": [{
      "hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
      "name": "My Production Key", "label": "sk-or-v1-0e6...1c96", "disabled": false,
      "limit": 100, "limit_remaining": 74.5, "limit_reset": "monthly",
      "include_byok_in_limit": false, "usage": 25.5, "usage_daily": 25.5,
      "usage_weekly": 25.5, "usage_monthly": 25.5, "byok_usage": 17.38,
      "byok_usage_daily": 17.38, "byok_usage_weekly": 17.38, "byok_usage_monthly": 17.38,
      "created_at": "2025-08-24T10:30:00Z", "updated_at": "2025-08-24T15:45:00Z",
      "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
      "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11"}]}"""
KEYS_EXAMPLE = doc(KEYS_TEXT)  # decoded as keyz decodes answers
KEYS_SENT = json.loads(KEYS_TEXT)  # what respx sends
HASH = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"
MANAGEMENT_KEY = "sk-or-v1-" + "9e" * 32
CREDITS_ANSWER = {"data": {"total_credits": 100.5, "total_usage": 25.75}}


def listed(**changes: Any) -> dict[str, Any]:
    """The documented key with some fields changed (None deletes one)."""
    item = {**KEYS_SENT["data"][0], **changes}
    return {k: v for k, v in item.items() if v is not None}


def test_the_documented_key_list_is_read_exactly() -> None:
    keys, notes = parse_keys([KEYS_EXAMPLE])
    assert notes == []
    (key,) = keys
    assert key == AccountKey(
        hash=HASH,
        name="My Production Key",
        label="sk-or-v1-0e6...1c96",
        disabled=False,
        currency="USD",
        limit=Decimal(100),
        remaining=Decimal("74.5"),
        reset="monthly",
        usage=Decimal("25.5"),
        usage_today=Decimal("25.5"),
        usage_this_week=Decimal("25.5"),
        usage_this_month=Decimal("25.5"),
        created_at=datetime(2025, 8, 24, 10, 30, tzinfo=UTC),
        source="/api/v1/keys",
    )
    assert key.derived == []  # every figure as reported; BYOK usage is not OpenRouter's spend


def test_unknown_figures_stay_unknown_never_zero() -> None:
    bare = {"hash": "ab12", "name": "cap-less", "limit": None, "limit_remaining": None}
    keys, notes = parse_keys([{"data": [bare]}])
    (key,) = keys
    assert (key.limit, key.remaining, key.usage, key.usage_this_month) == (None, None, None, None)
    assert (key.label, key.disabled, key.reset, key.created_at) == (None, None, None, None)
    assert notes == []


@respx.mock
def test_a_management_key_lists_every_key_of_the_account_after_the_balance() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    keys_route = respx.get(f"{BASE}/api/v1/keys").respond(json=KEYS_SENT)
    key_route = respx.get(f"{BASE}/api/v1/key")
    report = fetch()
    assert report.balances[0].remaining == Decimal("74.75")
    assert [k.hash for k in report.account_keys] == [HASH]
    assert report.notes == []
    assert not key_route.called
    (call,) = keys_route.calls
    assert call.request.url.params["include_disabled"] == "true"
    assert "offset" not in call.request.url.params


@respx.mock
def test_an_ordinary_key_never_asks_for_the_key_list() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(403)
    respx.get(f"{BASE}/api/v1/key").respond(json={"data": {"limit": None, "usage": 2}})
    keys_route = respx.get(f"{BASE}/api/v1/keys")
    report = fetch()
    assert report.account_keys == [] and not keys_route.called


def paged(total: int, *, page: int = 100, honour_offset: bool = True) -> Any:
    """An account of ``total`` keys, served ``page`` at a time as /keys pages them."""

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", "0")) if honour_offset else 0
        items = [
            {"hash": f"{i:064x}", "name": f"key {i}", "usage": i, "usage_monthly": i % 7}
            for i in range(offset, min(offset + page, total))
        ]
        return httpx.Response(200, json={"data": items})

    return answer


@respx.mock
def test_pages_are_followed_with_offset_until_a_short_page() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    route = respx.get(f"{BASE}/api/v1/keys").mock(side_effect=paged(130))
    report = fetch()
    offsets = [c.request.url.params.get("offset") for c in route.calls]
    assert offsets == [None, "100"]
    assert len(report.account_keys) == 130 and report.notes == []
    hashes = [k.hash for k in report.account_keys]
    assert hashes == sorted(hashes)  # a stable order: by hash


@respx.mock
def test_paging_stops_at_the_hard_cap_and_says_so() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    route = respx.get(f"{BASE}/api/v1/keys").mock(side_effect=paged(1_000_000))
    report = fetch()
    assert route.call_count == MAX_PAGES
    assert len(report.account_keys) == MAX_ACCOUNT_KEYS
    assert report.notes == [
        f"{MAX_PAGES * PAGE - MAX_ACCOUNT_KEYS} more keys not listed (those that spent least "
        "this month)",
        f"more than {MAX_PAGES * PAGE} keys: only the most recent {MAX_PAGES * PAGE} were read",
    ]
    kept = {k.usage_this_month for k in report.account_keys}
    assert kept == {Decimal(6)}  # the biggest spenders this month are the ones kept


@respx.mock
def test_a_server_ignoring_offset_is_not_paged_forever() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    route = respx.get(f"{BASE}/api/v1/keys").mock(side_effect=paged(500, honour_offset=False))
    report = fetch()
    assert route.call_count == 2  # the second page added no key: the end
    assert len(report.account_keys) == 100 and report.notes == []


@respx.mock
def test_ten_thousand_keys_in_one_answer_are_bounded() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    items = [{"hash": f"k{i}", "usage_monthly": i % 100} for i in range(10_000)]
    route = respx.get(f"{BASE}/api/v1/keys").respond(json={"data": items})
    report = fetch()
    assert route.call_count == 1  # past what keyz reads at most: no more pages
    assert len(report.account_keys) == MAX_ACCOUNT_KEYS
    assert report.notes == [
        "1800 more keys not listed (those that spent least this month)",
        "more than 2000 keys: only the most recent 2000 were read",
    ]
    # the first 2000 read: 20 keys for each figure 0-99; kept: the 200 that spent most
    assert {k.usage_this_month for k in report.account_keys} == {Decimal(n) for n in range(90, 100)}


@respx.mock
def test_a_key_list_too_big_to_read_keeps_the_balance() -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    huge = [listed(hash=f"{i:064x}") for i in range(10_000)]  # ~7 MB: past the answer cap
    respx.get(f"{BASE}/api/v1/keys").respond(json={"data": huge})
    report = fetch()
    assert report.balances[0].remaining == Decimal("74.75")
    assert report.account_keys == []
    (note,) = report.notes
    assert note.startswith("per-key spend left out: ")


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500])
@respx.mock
def test_a_failed_key_list_keeps_the_balance_with_a_note(status: int) -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    echoed = {"error": {"code": status, "message": f"Nope for {MANAGEMENT_KEY}"}}
    respx.get(f"{BASE}/api/v1/keys").respond(status, json=echoed)
    REDACTOR.add(MANAGEMENT_KEY)
    report = helpers.fetch("openrouter", MANAGEMENT_KEY, base_url=BASE)  # no retries
    assert report.balances[0].remaining == Decimal("74.75")
    assert report.account_keys == []
    (note,) = report.notes
    assert note.startswith("per-key spend left out: ") and f"HTTP {status}" in note
    assert MANAGEMENT_KEY not in note


@pytest.mark.parametrize(
    "answer",
    [{}, {"data": None}, {"data": {"hash": "x"}}, [], "keys", {"data": "[]"}],
)
@respx.mock
def test_a_key_list_of_the_wrong_shape_keeps_the_balance(answer: Any) -> None:
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    respx.get(f"{BASE}/api/v1/keys").respond(json=answer)
    report = fetch()
    assert report.balances[0].remaining == Decimal("74.75")
    assert report.notes == ["per-key spend left out: the answer has no data list"]


@pytest.mark.parametrize(
    "field", ["usage", "usage_daily", "usage_weekly", "usage_monthly", "limit", "limit_remaining"]
)
@pytest.mark.parametrize(
    "value",
    ["abc", "1e999", "NaN", "١٢", "１２", True, [1], {"usd": 1}, "Infinity", "1_000"],
)
def test_a_key_with_figures_that_are_not_numbers_is_left_out_and_counted(
    field: str, value: Any
) -> None:
    good = listed(hash="a" * 64)
    bad = listed(**{field: value})
    keys, notes = parse_keys([{"data": [bad, good]}])
    assert [k.hash for k in keys] == ["a" * 64]
    assert notes == ["1 key left out: not a key object, or figures that are not numbers"]


@pytest.mark.parametrize("field", ["usage", "usage_daily", "usage_weekly", "usage_monthly"])
def test_negative_spend_is_impossible_and_left_out(field: str) -> None:
    keys, notes = parse_keys([{"data": [listed(**{field: -1})]}])
    assert keys == [] and notes == [
        "1 key left out: not a key object, or figures that are not numbers"
    ]


def test_items_that_are_not_keys_are_counted_not_fatal() -> None:
    keys, notes = parse_keys([{"data": [None, 3, "key", [], listed()]}])
    assert [k.hash for k in keys] == [HASH]
    assert notes == ["4 keys left out: not a key object, or figures that are not numbers"]


def test_a_key_listed_twice_is_counted_once() -> None:
    again = listed(usage_monthly=99)  # the second sighting never replaces the first
    keys, notes = parse_keys([KEYS_EXAMPLE, {"data": [again, listed()]}])
    assert len(keys) == 1 and keys[0].usage_this_month == Decimal("25.5")
    assert notes == []


LEAKS = [
    "sk-or-v1-" + "ab" * 32,  # a whole OpenRouter key
    "prod sk-or-v1-" + "ab" * 32 + " backup",  # one inside a name
    "sk-ant-api03-" + "x" * 40,  # any provider's key shape
    MANAGEMENT_KEY,  # the very key keyz sent
    MANAGEMENT_KEY[:20] + "\u200b" + MANAGEMENT_KEY[20:],  # split by an invisible character
    MANAGEMENT_KEY.upper(),
]


@pytest.mark.parametrize("leak", LEAKS)
@pytest.mark.parametrize("field", ["label", "name"])
@respx.mock
def test_a_label_or_name_holding_a_key_is_withheld(field: str, leak: str) -> None:
    REDACTOR.add(MANAGEMENT_KEY)  # as the store does when it decrypts the entry
    respx.get(f"{BASE}/api/v1/credits").respond(json=CREDITS_ANSWER)
    respx.get(f"{BASE}/api/v1/keys").respond(json={"data": [listed(**{field: leak})]})
    report = helpers.fetch("openrouter", MANAGEMENT_KEY, base_url=BASE)
    (key,) = report.account_keys
    assert getattr(key, field) is None
    assert key.hash == HASH and key.usage == Decimal("25.5")  # the key is still listed
    assert report.notes == ["key names, labels or hashes withheld as they held a key: 1"]
    sidecar = normalize(EntryConfig("api/or", "openrouter"), report, NOW)
    written = dumps(sidecar).decode()
    assert "ab" * 32 not in written and MANAGEMENT_KEY[12:40] not in written.lower()


def test_a_hash_that_is_a_key_is_withheld_and_the_key_still_listed() -> None:
    # an older OpenRouter SDK example showed a whole key as the hash
    whole = "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"
    keys, notes = parse_keys([{"data": [listed(hash=whole), listed(hash=whole, name="B")]}])
    assert sorted((k.hash, k.name) for k in keys) == [(None, "B"), (None, "My Production Key")]
    assert notes == ["key names, labels or hashes withheld as they held a key: 2"]


def test_labels_are_shown_safely() -> None:
    odd = listed(name="evil\x1b[2J\u202ename " + "n" * 300, label="  sk-or-v1-0e6...1c96 ")
    ((key,), _) = parse_keys([{"data": [odd]}])
    assert key.name is not None and "\x1b" not in key.name and "\u202e" not in key.name
    assert len(key.name) <= 100 and key.name.endswith("…")
    assert key.label == "sk-or-v1-0e6...1c96"


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2025-08-24T10:30:00Z", datetime(2025, 8, 24, 10, 30, tzinfo=UTC)),
        ("2025-08-24T12:30:00.123+02:00", datetime(2025, 8, 24, 10, 30, tzinfo=UTC)),
        ("2025-08-24T10:30:00", None),  # no zone: unknown, not guessed
        ("yesterday", None),
        (1724495400, None),
        ("0001-01-01T00:00:00+14:00", None),  # before year 1 in UTC
        ("0005-01-01T00:00:00Z", None),  # would be written '5-01-01...', which no one reads
        ("9999-12-31T23:59:59-14:00", None),  # after year 9999 in UTC
    ],
)
def test_creation_times_are_utc_seconds_or_unknown(created: Any, expected: Any) -> None:
    ((key,), _) = parse_keys([{"data": [listed(created_at=created)]}])
    assert key.created_at == expected


def test_the_sidecar_lists_keys_in_the_same_order_whatever_the_answer_order() -> None:
    items = [listed(hash=f"{i:02x}" * 32, usage=i) for i in (3, 1, 2)]
    one, _ = parse_keys([{"data": items}])
    other, _ = parse_keys([{"data": list(reversed(items))}])
    entry = EntryConfig("api/or", "openrouter")
    a = dumps(normalize(entry, Report(None, account_keys=one), NOW))
    b = dumps(normalize(entry, Report(None, account_keys=other), NOW))
    assert a == b


def test_provider_test_names_every_figure_of_every_listed_key() -> None:
    from keyz.probe import figure_rows

    keys, _ = parse_keys([KEYS_EXAMPLE])
    sidecar = normalize(EntryConfig("api/or", "openrouter"), Report(None, account_keys=keys), NOW)
    rows = {r.figure: r.value for r in figure_rows(sidecar)}
    assert rows["account_key f01d52606dc8.usage_this_month"] == "25.5"
    assert rows["account_key f01d52606dc8.remaining"] == "74.5"
    assert len([f for f in rows if f.startswith("account_key ")]) == 6
