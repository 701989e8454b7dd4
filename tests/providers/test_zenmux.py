"""ZenMux: Get PAYG Balance as docs.zenmux.ai documents it (Management API key, USD credits)."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ParseError, ProviderError
from keyz.providers import get_provider
from keyz.providers.zenmux import parse_balance
from keyz.redact import REDACTOR
from tests.providers.helpers import doc, fetch

URL = "https://zenmux.ai/api/v1/management/payg/balance"
KEY = "zenmux-mgmt-test-" + "7a6b" * 8
DOC_TEXT = """{"success": true,
 "data": {"currency": "usd", "total_credits": 482.74,
          "top_up_credits": 35.00, "bonus_credits": 447.74}}"""
# docs.zenmux.ai/guide/advanced/error-codes.html: one envelope for every error
ACCESS_DENIED = {
    "error": {
        "code": "403",
        "type": "access_denied",
        "message": "You have no permission to access this resource",
    }
}


def test_the_documented_example_is_read_exactly() -> None:
    report = parse_balance(doc(DOC_TEXT))
    (usd,) = report.balances
    assert (usd.currency, usd.unit_kind) == ("USD", "currency")
    assert (usd.remaining, usd.topped_up, usd.granted) == (
        Decimal("482.74"),
        Decimal("35.00"),
        Decimal("447.74"),
    )
    assert usd.derived == [] and usd.source == "/api/v1/management/payg/balance"
    assert report.available is None


def test_missing_parts_stay_unknown_never_zero() -> None:
    (usd,) = parse_balance({"success": True, "data": {"total_credits": "0.5"}}).balances
    assert (usd.currency, usd.remaining) == ("USD", Decimal("0.5"))  # "always usd"
    assert usd.topped_up is None and usd.granted is None


def test_an_overdue_account_keeps_its_negative_total() -> None:
    (usd,) = parse_balance(
        {"success": True, "data": {"currency": "usd", "total_credits": -1.25}}
    ).balances
    assert usd.remaining == Decimal("-1.25")


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "ok",
        {"success": True},
        {"success": True, "data": []},
        {"success": True, "data": {"currency": "usd"}},
        {"success": True, "data": {"total_credits": None}},
        {"success": True, "data": {"total_credits": "1e999"}},
        {"success": True, "data": {"total_credits": "NaN"}},
        {"success": True, "data": {"total_credits": "١٢"}},
        {"success": True, "data": {"total_credits": True}},
        {"success": True, "data": {"total_credits": [1, 2]}},
        {"success": True, "data": {"total_credits": "9" * 39}},
        {"success": True, "data": {"total_credits": 1, "bonus_credits": "lots"}},
        {"success": True, "data": {"total_credits": 1, "currency": 840}},
        {"success": True, "data": {"total_credits": 1, "currency": "US dollars"}},
    ],
)
def test_an_unreadable_answer_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_balance(payload)


@pytest.mark.parametrize("success", [False, None, "true", 1, "absent"])
def test_anything_but_success_true_is_an_error(success: object) -> None:
    payload: dict[str, Any] = {"data": {"currency": "usd", "total_credits": 5}}
    if success != "absent":
        payload["success"] = success
    with pytest.raises(ProviderError, match="did not succeed"):
        parse_balance(payload)


def test_a_failed_answer_quotes_zenmux_masked_and_cut() -> None:
    REDACTOR.add(KEY)
    error = {"type": "access_denied", "message": f"bad key {KEY} " + "x" * 500}
    with pytest.raises(ProviderError) as info:
        parse_balance({"success": False, "error": error})
    text = str(info.value)
    assert "access_denied: bad key [REDACTED]" in text
    assert KEY not in text and len(text) < 300


@respx.mock
def test_fetch_sends_the_management_key_as_bearer() -> None:
    route = respx.get(URL).respond(text=DOC_TEXT)
    assert fetch("zenmux", KEY).balances[0].remaining == Decimal("482.74")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_told_a_management_key_is_needed(status: int) -> None:
    REDACTOR.add(KEY)
    body = {"error": {**ACCESS_DENIED["error"], "message": f"no permission for {KEY}"}}
    respx.get(URL).respond(status, json=body)
    with pytest.raises(AuthError) as info:
        fetch("zenmux", KEY)
    text = str(info.value)
    assert f"HTTP {status}" in text and "access_denied: no permission for" in text
    assert "needs a management key" in text and "zenmux.ai/platform/management" in text
    assert KEY not in text and info.value.context == "zenmux payg balance"


@respx.mock
def test_its_422_rate_limit_says_to_wait() -> None:
    body = {"error": {"code": "422", "type": "rate_limit", "message": "Rate limit exceeded"}}
    route = respx.get(URL).respond(422, json=body)
    with pytest.raises(ProviderError, match=r"per-minute limit .* try again in a minute") as info:
        fetch("zenmux", KEY)
    assert not isinstance(info.value, AuthError) and info.value.status == 422
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize("status", [404, 429, 500])
def test_other_errors_say_the_status(status: int) -> None:
    respx.get(URL).respond(status, json={"error": {"type": "x", "message": "y"}})
    with pytest.raises(ProviderError, match=f"HTTP {status}") as info:
        fetch("zenmux", KEY)
    assert "per-minute" not in str(info.value)


def test_its_inference_keys_are_named_as_not_the_key_needed() -> None:
    from keyz.discover import prefix_of

    for key, label in (("sk-ai-v1-", "Pay As You Go"), ("sk-ss-v1-", "subscription")):
        found = prefix_of(key + "ab12" * 12)
        assert found is not None and found.provider == "zenmux"
        assert not found.usable and label in found.label
    assert get_provider("zenmux").key_kind.value == "management"
