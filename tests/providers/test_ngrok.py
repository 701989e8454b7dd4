"""ngrok AI Gateway: GET /credits/balance as ngrok's OpenAPI documents it (int64 cents)."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ParseError, ProviderError
from keyz.providers.ngrok import parse_balance
from keyz.redact import REDACTOR
from tests.providers.helpers import doc, fetch

URL = "https://api.ngrok.ai/credits/balance"
KEY = "ngrok-ai-api-key-test-" + "3c4d" * 8
DOC_TEXT = '{"balanceCents": 123}'


def error(status: int, msg: str) -> dict[str, Any]:
    """ngrok's documented Error schema."""
    return {"errorCode": "ERR_NGROK_3401", "statusCode": status, "msg": msg, "details": {}}


def test_the_documented_example_is_cents_made_dollars_exactly() -> None:
    report = parse_balance(doc(DOC_TEXT))
    (usd,) = report.balances
    assert (usd.currency, usd.remaining, usd.source) == ("USD", Decimal("1.23"), "/credits/balance")
    assert usd.derived == [] and report.available is None


@pytest.mark.parametrize(
    ("cents", "dollars"),
    [(0, "0"), (1, "0.01"), (250000, "2500"), (-42, "-0.42"), (9_223_372_036_854_775_807, None)],
)
def test_whole_cents_of_any_size(cents: int, dollars: str | None) -> None:
    if dollars is None:  # int64's maximum is more money than keyz believes
        with pytest.raises(ParseError, match="digits"):
            parse_balance({"balanceCents": cents})
        return
    assert parse_balance({"balanceCents": cents}).balances[0].remaining == Decimal(dollars)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        "123",
        {"balanceCents": None},
        {"balanceCents": "123"},
        {"balanceCents": "1e999"},
        {"balanceCents": "NaN"},
        {"balanceCents": "١٢"},
        {"balanceCents": True},
        {"balanceCents": Decimal("1.5")},
        {"balanceCents": [123]},
        {"balance": 123},
    ],
)
def test_anything_but_whole_cents_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_balance(payload)


@respx.mock
def test_fetch_sends_the_api_key_as_bearer() -> None:
    route = respx.get(URL).respond(text=DOC_TEXT)
    assert fetch("ngrok", KEY).balances[0].remaining == Decimal("1.23")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_told_which_key_is_needed_without_echoing_it(status: int) -> None:
    REDACTOR.add(KEY)
    respx.get(URL).respond(
        status, json=error(status, f"Your request lacks valid credentials {KEY}")
    )
    with pytest.raises(AuthError) as info:
        fetch("ngrok", KEY)
    text = str(info.value)
    assert "lacks valid credentials" in text and f"HTTP {status}" in text
    assert "needs a management key" in text and "app.ngrok.ai" in text
    assert KEY not in text and info.value.context == "ngrok credit balance"


@respx.mock
@pytest.mark.parametrize("status", [404, 429, 503])
def test_other_errors_quote_msg(status: int) -> None:
    respx.get(URL).respond(status, json=error(status, "something went wrong"))
    with pytest.raises(ProviderError, match=f"HTTP {status}.*something went wrong") as info:
        fetch("ngrok", KEY)
    assert not isinstance(info.value, AuthError)


@respx.mock
def test_a_huge_answer_is_refused() -> None:
    body = '{"balanceCents": 5, "pad": "' + "x" * (2 << 20) + '"}'
    respx.get(URL).respond(text=body)
    with pytest.raises(ParseError, match="larger than"):
        fetch("ngrok", KEY)
