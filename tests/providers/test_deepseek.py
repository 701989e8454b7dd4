"""DeepSeek: payloads shaped exactly like api-docs.deepseek.com's get-user-balance example."""

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import ProviderError
from keyz.providers import get_provider
from keyz.providers.base import Capability, FetchContext, KeyKind
from keyz.providers.deepseek import parse_balance
from keyz.providers.http import HttpClient
from keyz.store import Secret
from tests.providers.helpers import fetch

DOC_EXAMPLE = {
    "is_available": True,
    "balance_infos": [
        {
            "currency": "CNY",
            "total_balance": "110.00",
            "granted_balance": "10.00",
            "topped_up_balance": "100.00",
        }
    ],
}


def test_documented_example() -> None:
    report = parse_balance(DOC_EXAMPLE)
    assert report.available is True
    (cny,) = report.balances
    assert (cny.currency, cny.remaining, cny.granted, cny.topped_up) == (
        "CNY",
        Decimal("110.00"),
        Decimal("10.00"),
        Decimal("100.00"),
    )
    assert cny.derived == []


def test_both_currencies_and_unavailable_account() -> None:
    payload = {
        "is_available": False,
        "balance_infos": [
            {
                "currency": "usd ",
                "total_balance": "0.00",
                "granted_balance": "0.00",
                "topped_up_balance": "0.00",
            },
            {
                "currency": "CNY",
                "total_balance": "42.50",
                "granted_balance": "12.00",
                "topped_up_balance": "30.50",
            },
        ],
    }
    report = parse_balance(payload)
    assert report.available is False
    assert [(b.currency, b.remaining) for b in report.balances] == [
        ("USD", Decimal("0.00")),
        ("CNY", Decimal("42.50")),
    ]


def test_missing_breakdown_stays_unknown() -> None:
    report = parse_balance({"balance_infos": [{"currency": "CNY", "total_balance": "1.5"}]})
    assert report.available is None
    assert report.balances[0].granted is None and report.balances[0].topped_up is None


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"balance_infos": None},
        {"balance_infos": [{"total_balance": "1"}]},
        {"balance_infos": [{"currency": "CNY", "total_balance": "lots"}]},
        {"balance_infos": [{"currency": "CNY"}]},
        [],
        {"is_available": True, "balance_infos": []},  # no figures: not a wipe of the last ones
    ],
)
def test_wrong_shapes_are_errors_never_zero(payload: Any) -> None:
    with pytest.raises(ProviderError):
        parse_balance(payload)


def test_declares_what_it_reports_and_the_key_it_needs() -> None:
    provider = get_provider("deepseek")
    assert provider.capabilities == Capability.BALANCE
    assert provider.key_kind is KeyKind.REGULAR
    assert [e.path for e in provider.endpoints] == ["/user/balance"]


@respx.mock
def test_fetch_sends_the_key_as_bearer_to_the_documented_path() -> None:
    route = respx.get("https://api.deepseek.com/user/balance").respond(json=DOC_EXAMPLE)

    async def go() -> Any:
        async with HttpClient.make_async_client() as client:
            ctx = FetchContext(
                HttpClient(client), Secret("sk-deepseek-test-0000"), "https://api.deepseek.com"
            )
            return await get_provider("deepseek").fetch(ctx)

    report = asyncio.run(go())
    assert report.balances[0].remaining == Decimal("110.00")
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-deepseek-test-0000"


@respx.mock
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (  # the parser's own words
            {"balance_infos": []},
            "deepseek balance: the answer lists no balance (balance_infos is empty)",
        ),
        (  # money.parse_amount's, which named neither the provider nor the call before
            {"balance_infos": [{"currency": "CNY", "total_balance": None}]},
            "deepseek balance: field 'total_balance' is None, expected a number",
        ),
    ],
)
def test_every_error_names_the_provider_and_endpoint_once(answer: Any, message: str) -> None:
    respx.get("https://api.deepseek.com/user/balance").respond(json=answer)
    with pytest.raises(ProviderError) as caught:
        fetch("deepseek", "sk-deepseek-test-0000")
    assert str(caught.value) == message
