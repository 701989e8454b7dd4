"""fal, Venice and Poe: payloads shaped like each provider's documented example."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ProviderError
from keyz.providers import fal, poe, venice
from tests.providers.helpers import doc, fetch

FAL_TEXT = '{"username":"my-team","credits":{"current_balance":24.5,"currency":"USD"}}'
VENICE_TEXT = """{"canConsume":true,"consumptionCurrency":"DIEM",
"balances":{"diem":90.5,"usd":25},"diemEpochAllocation":100}"""
POE_TEXT = '{"current_point_balance":1500}'


def test_fal_documented_example() -> None:
    (usd,) = fal.parse_billing(doc(FAL_TEXT)).balances
    assert (usd.currency, usd.remaining, usd.source) == (
        "USD",
        Decimal("24.5"),
        "/v1/account/billing",
    )


@pytest.mark.parametrize(
    "payload",
    [{"username": "t"}, {"credits": {"current_balance": 1}}, {"credits": {"currency": "USD"}}],
)
def test_fal_wrong_shapes(payload: Any) -> None:
    with pytest.raises(ProviderError):
        fal.parse_billing(payload)


@respx.mock
def test_fal_sends_key_scheme_and_expands_credits() -> None:
    route = respx.get("https://api.fal.ai/v1/account/billing").respond(text=FAL_TEXT)
    assert fetch("fal", "fal-admin-1").balances[0].remaining == Decimal("24.5")
    request = route.calls.last.request
    assert request.headers["authorization"] == "Key fal-admin-1"
    assert request.url.params["expand"] == "credits"


@respx.mock
def test_fal_ordinary_key_is_told_to_use_an_admin_key() -> None:
    respx.get("https://api.fal.ai/v1/account/billing").respond(403, json={"detail": "no"})
    with pytest.raises(AuthError, match=r"needs an admin key: .*fal\.ai/dashboard/keys"):
        fetch("fal", "fal-plain-1")


def test_venice_documented_example_keeps_diem_apart_from_usd() -> None:
    report = venice.parse_balance(doc(VENICE_TEXT))
    assert report.available is True
    assert [(b.currency, b.unit_kind, b.remaining) for b in report.balances] == [
        ("USD", "currency", Decimal(25)),
        ("DIEM", "provider", Decimal("90.5")),
    ]


def test_venice_cannot_consume_and_missing_balances() -> None:
    report = venice.parse_balance({"canConsume": False, "balances": {"usd": 0, "diem": None}})
    assert report.available is False
    assert [(b.currency, b.remaining) for b in report.balances] == [("USD", Decimal(0))]
    with pytest.raises(ProviderError):
        venice.parse_balance({"canConsume": True, "balances": {}})


@respx.mock
def test_venice_inference_key_is_told_to_use_an_admin_key() -> None:
    respx.get("https://api.venice.ai/api/v1/billing/balance").respond(
        401, json={"error": "Unauthorized"}
    )
    with pytest.raises(AuthError, match="admin key"):
        fetch("venice", "venice-inference-1")


def test_poe_points_are_a_provider_unit() -> None:
    (points,) = poe.parse_balance(doc(POE_TEXT)).balances
    assert (points.currency, points.unit_kind, points.remaining) == (
        "POINTS",
        "provider",
        Decimal(1500),
    )
    with pytest.raises(ProviderError):
        poe.parse_balance({"current_point_balance": "many"})


@respx.mock
def test_poe_fetch() -> None:
    route = respx.get("https://api.poe.com/usage/current_balance").respond(text=POE_TEXT)
    assert fetch("poe", "poe-key-1").balances[0].remaining == 1500
    assert route.calls.last.request.headers["authorization"] == "Bearer poe-key-1"
