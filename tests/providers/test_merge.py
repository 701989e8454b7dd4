"""Merge Gateway: GET /v1/credits as Merge's reference documents it (mgmt_ key, USD doubles)."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ParseError, ProviderError
from keyz.providers import get_provider
from keyz.providers.merge import parse_credits
from keyz.redact import REDACTOR
from tests.providers.helpers import doc, fetch

URL = "https://api-gateway.merge.dev/v1/credits"
KEY = "mgmt_" + "9f8e7d6c" * 5
# the five required fields of the reference, figures of our own (it gives none)
DOC_TEXT = """{"balance_usd": 37.5, "credits_expired_usd": 2.25,
"credits_purchased_usd": 50, "free_credits_usd": 5, "total_spend_usd": 15.25}"""


def test_the_documented_fields_are_read_exactly() -> None:
    report = parse_credits(doc(DOC_TEXT))
    (usd,) = report.balances
    assert usd.currency == "USD" and report.available is None
    assert (usd.remaining, usd.purchased, usd.granted, usd.used) == (
        Decimal("37.5"),
        Decimal(50),
        Decimal(5),
        Decimal("15.25"),
    )
    assert usd.derived == [] and usd.source == "/v1/credits"
    assert usd.topped_up is None and usd.cash is None  # nothing invented


def test_only_the_balance_is_needed_the_rest_stay_unknown() -> None:
    (usd,) = parse_credits({"balance_usd": 0}).balances
    assert usd.remaining == Decimal(0)
    assert (usd.purchased, usd.granted, usd.used) == (None, None, None)


def test_an_enterprise_balance_may_be_negative() -> None:
    (usd,) = parse_credits({"balance_usd": -120.5, "total_spend_usd": 620.5}).balances
    assert usd.remaining == Decimal("-120.5")


@pytest.mark.parametrize("name", ["credits_purchased_usd", "free_credits_usd", "total_spend_usd"])
def test_a_negative_amount_of_credit_is_an_error(name: str) -> None:
    with pytest.raises(ParseError, match=f"{name}.*negative"):
        parse_credits({"balance_usd": 1, name: -0.01})


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        "37.5",
        {"balance_usd": None},
        {"balance_usd": "1e999"},
        {"balance_usd": "NaN"},
        {"balance_usd": "١٢"},
        {"balance_usd": False},
        {"balance_usd": {"value": 1}},
        {"balance_usd": [1] * 10_000},
        {"balance_usd": 1, "total_spend_usd": "a lot"},
        {"data": {"balance_usd": 1}},
    ],
)
def test_an_unreadable_answer_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_credits(payload)


@respx.mock
def test_fetch_sends_the_management_key_as_bearer() -> None:
    route = respx.get(URL).respond(text=DOC_TEXT)
    assert fetch("merge", KEY).balances[0].remaining == Decimal("37.5")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
@pytest.mark.parametrize(
    ("status", "detail", "said"),
    [
        (401, "Invalid management key", "Invalid management key"),
        (401, {"code": "invalid_key", "message": "The key is invalid"}, "The key is invalid"),
        (403, {"code": "missing_scope", "message": "Needs view_billing"}, "Needs view_billing"),
    ],
)
def test_its_documented_errors_name_the_key_and_scope_needed(
    status: int, detail: object, said: str
) -> None:
    respx.get(URL).respond(status, json={"detail": detail})
    with pytest.raises(AuthError) as info:
        fetch("merge", KEY)
    text = str(info.value)
    assert said in text and f"HTTP {status}" in text
    assert "needs a management key" in text and "view_billing" in text
    assert info.value.context == "merge credits"


@respx.mock
def test_an_echoed_key_is_never_shown() -> None:
    REDACTOR.add(KEY)
    respx.get(URL).respond(401, json={"detail": {"code": "bad", "message": f"unknown {KEY}"}})
    with pytest.raises(AuthError) as info:
        fetch("merge", KEY)
    assert KEY not in str(info.value) and "[REDACTED]" in str(info.value)


@respx.mock
@pytest.mark.parametrize("status", [404, 429, 500])
def test_other_errors_say_the_status(status: int) -> None:
    respx.get(URL).respond(status, json={"detail": "nope"})
    with pytest.raises(ProviderError, match=f"HTTP {status}.*nope") as info:
        fetch("merge", KEY)
    assert not isinstance(info.value, AuthError)


def test_its_management_keys_are_recognised() -> None:
    from keyz.discover import prefix_of

    found = prefix_of(KEY)
    assert found is not None and (found.provider, found.usable) == ("merge", True)
    assert found.kind.value == get_provider("merge").key_kind.value == "management"
