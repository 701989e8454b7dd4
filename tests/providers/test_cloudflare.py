"""Cloudflare AI Gateway credits: the API reference's example, cents, the error envelope, and
the required account id."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError, UsageError
from keyz.providers import get_provider
from keyz.providers.cloudflare import UNIT_NOTE, parse_credit_balance
from keyz.redact import REDACTOR
from tests.providers.helpers import doc, fetch

# developers.cloudflare.com/api/resources/ai_gateway/subresources/billing/methods/credit_balance/
DOC_TEXT = """{"errors": [{"code": 0, "message": "message"}],
"messages": [{"code": 0, "message": "message"}],
"result": {"balance": 0, "has_default_payment_method": true,
 "payment_method": {"brand": "brand", "last4": "last4"},
 "topup_config": {"amount": 0, "disabledReason": "disabledReason", "error": "error",
  "lastFailedAt": 0, "threshold": 0},
 "first_topup_success": true},
"success": true,
"result_info": {"has_more": true, "page": 0, "per_page": 0, "total_count": 0}}"""
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
BASE = "https://api.cloudflare.com"
URL = f"{BASE}/client/v4/accounts/{ACCOUNT}/ai-gateway/billing/credit-balance"
KEY = "cf-token-test-" + "Zx9" * 10
AUTH_ERROR = {
    "success": False,
    "errors": [{"code": 10000, "message": "Authentication error"}],
    "messages": [],
    "result": None,
}


def envelope(balance: Any) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": {"balance": balance}}


def test_the_documented_example_is_zero_dollars_with_the_unit_note() -> None:
    report = parse_credit_balance(doc(DOC_TEXT))
    (usd,) = report.balances
    assert (usd.currency, usd.unit_kind, usd.remaining) == ("USD", "currency", Decimal(0))
    assert usd.source == "/client/v4/accounts/{account_id}/ai-gateway/billing/credit-balance"
    assert usd.derived == [] and report.available is None
    assert report.notes == [UNIT_NOTE]
    assert "cents" in UNIT_NOTE and "not document" in UNIT_NOTE


@pytest.mark.parametrize(
    ("cents", "dollars"),
    [
        (1000, Decimal(10)),
        (910, Decimal("9.1")),
        (1, Decimal("0.01")),
        (Decimal("12345.5"), Decimal("123.455")),
        (Decimal("0.5"), Decimal("0.005")),
        (-250, Decimal("-2.5")),  # metered after the request: a balance can dip below zero
    ],
)
def test_the_balance_is_read_as_cents(cents: Any, dollars: Decimal) -> None:
    assert parse_credit_balance(envelope(cents)).balances[0].remaining == dollars


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        "ok",
        {"success": True},
        {"success": True, "result": None},
        {"success": True, "result": []},
        envelope(None),
        envelope(True),
        envelope("NaN"),
        envelope("1e999"),
        envelope("١٢"),
        envelope("12 dollars"),
        envelope({"val": 5}),
        envelope(10**60),
    ],
)
def test_a_balance_keyz_cannot_read_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ProviderError):
        parse_credit_balance(payload)


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (AUTH_ERROR, "10000: Authentication error"),
        (
            {"success": False, "errors": [{"code": 7003, "message": "Could not route"}]},
            "7003: Could not route",
        ),
        ({"success": False, "errors": []}, "no reason given"),
        ({"success": "true", "result": {"balance": 100}}, "success: false"),  # not the boolean
        ({"result": {"balance": 100}}, "success: false"),
    ],
)
def test_success_other_than_true_is_an_error_in_cloudflares_words(
    payload: dict[str, Any], said: str
) -> None:
    with pytest.raises(ProviderError, match=said) as info:
        parse_credit_balance(payload)
    assert not isinstance(info.value, ParseError)


def test_error_messages_are_cut_and_masked() -> None:
    REDACTOR.add(KEY)
    noisy = {
        "success": False,
        "errors": [{"code": 9109, "message": f"Invalid access token {KEY}\x1b[31m" + "x" * 500}],
    }
    with pytest.raises(ProviderError) as info:
        parse_credit_balance(noisy)
    assert KEY not in str(info.value)
    assert "\x1b" not in str(info.value) and len(str(info.value)) < 300


@respx.mock
def test_the_account_id_option_picks_the_url_and_the_token_is_bearer() -> None:
    route = respx.get(URL).respond(json=envelope(2550))
    report = fetch("cloudflare", KEY, options={"account_id": ACCOUNT})
    assert report.balances[0].remaining == Decimal("25.5")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
def test_the_account_id_can_be_a_line_of_the_entry() -> None:
    route = respx.get(URL).respond(json=envelope(100))
    assert fetch("cloudflare", KEY, options={}, hints={"account_id": ACCOUNT}).balances
    assert route.call_count == 1


def test_without_an_account_id_nothing_is_sent_and_the_error_says_how_to_set_it() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__regex=r".*").respond(json=envelope(100))
        with pytest.raises(ConfigError) as info:
            fetch("cloudflare", KEY, options={})
    assert route.call_count == 0
    message = str(info.value)
    assert "cloudflare needs the account_id option" in message and "nothing was sent" in message
    assert "-o account_id=" in message and "'account_id: …'" in message


@pytest.mark.parametrize("value", ["../../x", "abc", ACCOUNT + "0", ACCOUNT[:-1] + "g", ""])
def test_an_account_id_must_be_32_hex_digits(value: str) -> None:
    with pytest.raises(UsageError, match="account_id"):
        get_provider("cloudflare").check_options({"account_id": value})


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_gets_cloudflares_reason_and_the_permission_needed(status: int) -> None:
    echo = {**AUTH_ERROR, "errors": [{"code": 10000, "message": f"bad token {KEY}"}]}
    REDACTOR.add(KEY)
    respx.get(URL).respond(status, json=echo)
    with pytest.raises(AuthError) as info:
        fetch("cloudflare", KEY, options={"account_id": ACCOUNT})
    message = str(info.value)
    assert message.startswith("cloudflare credit balance: ")
    assert "10000: bad token" in message and "AI Gateway Read" in message
    assert KEY not in message


@respx.mock
@pytest.mark.parametrize(("status", "code"), [(404, 7003), (429, 971), (400, 7000)])
def test_other_http_errors_quote_the_envelope(status: int, code: int) -> None:
    body = {"success": False, "errors": [{"code": code, "message": "nope"}], "result": None}
    respx.get(URL).respond(status, json=body)
    with pytest.raises(ProviderError, match=rf"HTTP {status}.*{code}: nope") as info:
        fetch("cloudflare", KEY, options={"account_id": ACCOUNT})
    assert not isinstance(info.value, AuthError)


@respx.mock
def test_an_error_envelope_with_http_200_is_an_error() -> None:
    respx.get(URL).respond(200, json=AUTH_ERROR)
    with pytest.raises(ProviderError, match=r"^cloudflare credit balance: .*10000"):
        fetch("cloudflare", KEY, options={"account_id": ACCOUNT})


def test_keyz_providers_says_the_account_id_is_required() -> None:
    from keyz.providers.catalog import describe

    options = describe(get_provider("cloudflare"))["options"]
    assert isinstance(options, dict)
    assert options["account_id"]["required"] is True
    assert describe(get_provider("xai"))["options"] == {
        "team_id": {
            "help": get_provider("xai").options["team_id"].help,
            "choices": [],
            "required": False,
        }
    }
