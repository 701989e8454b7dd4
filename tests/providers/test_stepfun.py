"""StepFun: /v1/accounts as platform.stepfun.com's reference documents it (CNY; lifetime
totals; postpaid accounts)."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError
from keyz.providers.stepfun import POSTPAID_NOTE, parse_account
from keyz.redact import REDACTOR
from tests.providers.helpers import doc, fetch

# platform.stepfun.com/docs/zh/api-reference/accounts/get
DOC_TEXT = """{"object": "account", "type": "prepaid", "balance": 0.00,
"total_cash_balance": 0.00, "total_voucher_balance": 26.00}"""
URL = "https://api.stepfun.com/v1/accounts"
KEY = "stepfun-test-key-" + "q7" * 16


def account(**fields: Any) -> dict[str, Any]:
    return {
        "object": "account",
        "type": "prepaid",
        "balance": Decimal("150.5"),
        "total_cash_balance": Decimal(200),
        "total_voucher_balance": Decimal(50),
        **fields,
    }


def test_the_documented_example() -> None:
    report = parse_account(doc(DOC_TEXT))
    (cny,) = report.balances
    assert (cny.currency, cny.unit_kind, cny.remaining) == ("CNY", "currency", Decimal("0.00"))
    assert cny.purchased == Decimal("0.00")  # total_cash_balance: everything paid in
    # lifetime totals are not what is left: never granted / topped_up
    assert (cny.granted, cny.topped_up, cny.voucher, cny.cash) == (None, None, None, None)
    assert cny.source == "/v1/accounts" and cny.derived == []
    assert report.notes == [] and report.available is None


def test_figures_are_kept_digit_for_digit() -> None:
    (cny,) = parse_account(account(balance=Decimal("13.7700"))).balances
    assert (cny.remaining, cny.purchased) == (Decimal("13.7700"), Decimal(200))
    assert str(cny.remaining) == "13.7700"


def test_a_postpaid_account_keeps_its_balance_with_a_note() -> None:
    report = parse_account(account(type="postpaid", balance=Decimal("-12.5")))
    assert report.balances[0].remaining == Decimal("-12.5")
    assert report.notes == [POSTPAID_NOTE] and "postpaid" in POSTPAID_NOTE


@pytest.mark.parametrize("kind", ["prepaid", None, "something-new", 3])
def test_other_account_types_get_no_note(kind: Any) -> None:
    assert parse_account(account(type=kind)).notes == []


def test_a_missing_cash_total_is_unknown_never_zero() -> None:
    payload = account()
    del payload["total_cash_balance"]
    assert parse_account(payload).balances[0].purchased is None
    assert parse_account(account(total_cash_balance=None)).balances[0].purchased is None


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "account",
        {},
        {"object": "account"},
        account(balance=None),
        account(balance=True),
        account(balance="NaN"),
        account(balance="1e999"),
        account(balance="١٢"),
        account(balance="12,5"),
        account(balance=[1]),
        account(total_cash_balance="lots"),
        account(total_cash_balance="Infinity"),
        account(object="list"),
    ],
)
def test_an_answer_keyz_cannot_read_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_account(payload)


def test_an_error_sent_with_http_200_is_a_provider_error() -> None:
    payload = {"error": {"type": "invalid_request_error", "message": "Incorrect API key"}}
    with pytest.raises(ProviderError, match="invalid_request_error: Incorrect API key") as info:
        parse_account(payload)
    assert not isinstance(info.value, ParseError)


@respx.mock
def test_the_key_is_sent_as_bearer() -> None:
    route = respx.get(URL).respond(text=DOC_TEXT)
    assert fetch("stepfun", KEY).balances[0].currency == "CNY"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_told_in_stepfuns_words_without_the_key(status: int) -> None:
    REDACTOR.add(KEY)
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "auth_error"}}
    respx.get(URL).respond(status, json=body)
    with pytest.raises(AuthError) as info:
        fetch("stepfun", KEY)
    message = str(info.value)
    assert message.startswith("stepfun accounts: ") and f"HTTP {status}" in message
    assert "auth_error: Incorrect API key provided" in message and KEY not in message


@respx.mock
def test_a_rate_limit_is_a_provider_error() -> None:
    respx.get(URL).respond(429, json={"error": {"message": "too many", "type": "rate_limit"}})
    with pytest.raises(ProviderError, match=r"HTTP 429.*rate_limit: too many") as info:
        fetch("stepfun", KEY)
    assert not isinstance(info.value, AuthError)


def test_the_international_host_is_refused_before_anything_is_sent() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__regex=r".*").respond(text=DOC_TEXT)
        with pytest.raises(ConfigError, match=r"api\.stepfun\.ai documents no currency"):
            fetch("stepfun", KEY, base_url="https://api.stepfun.ai")
    assert route.call_count == 0
