"""OpenRouter: payloads shaped like openrouter.ai's /credits and /key reference examples."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ProviderError
from keyz.providers import get_provider
from keyz.providers.base import FetchContext, KeyKind
from keyz.providers.http import HttpClient
from keyz.providers.openrouter import NEEDS_MANAGEMENT_KEY, parse_credits, parse_key
from keyz.store import Secret

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
    assert kinds == {"/api/v1/credits": KeyKind.MANAGEMENT, "/api/v1/key": KeyKind.REGULAR}
