"""Moonshot: payloads shaped like platform.moonshot.ai/docs/api/balance's example."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ConfigError, ProviderError
from keyz.providers import get_provider
from keyz.providers.moonshot import parse_balance
from tests.providers.helpers import doc, fetch

DOC_TEXT = """{"code": 0, "data": {"available_balance": 49.58894, "voucher_balance": 46.58893,
  "cash_balance": 3.00001}, "scode": "0x0", "status": true}"""
KEY = "sk-moonshot-test-0001"


def test_documented_example_in_the_regions_currency() -> None:
    (usd,) = parse_balance(doc(DOC_TEXT), "USD").balances
    assert (usd.currency, usd.remaining, usd.voucher, usd.cash) == (
        "USD",
        Decimal("49.58894"),
        Decimal("46.58893"),
        Decimal("3.00001"),
    )
    assert usd.source == "/v1/users/me/balance" and usd.derived == []
    assert parse_balance(doc(DOC_TEXT), "CNY").balances[0].currency == "CNY"


def test_negative_cash_is_kept_as_a_debt() -> None:
    payload = doc(DOC_TEXT)
    payload["data"].update(available_balance=Decimal("46.5"), cash_balance=Decimal("-3.25"))
    (usd,) = parse_balance(payload, "USD").balances
    assert usd.cash == Decimal("-3.25") and usd.remaining == Decimal("46.5")


@pytest.mark.parametrize(
    "change",
    [{"code": 1}, {"status": False}, {"data": None}, {"data": {"voucher_balance": 1}}],
)
def test_error_envelopes_and_wrong_shapes_are_errors(change: dict[str, Any]) -> None:
    payload = {**doc(DOC_TEXT), **change}
    with pytest.raises(ProviderError):
        parse_balance(payload, "USD")


@respx.mock
def test_region_picks_host_and_currency() -> None:
    ai = respx.get("https://api.moonshot.ai/v1/users/me/balance").respond(text=DOC_TEXT)
    cn = respx.get("https://api.moonshot.cn/v1/users/me/balance").respond(text=DOC_TEXT)
    assert fetch("moonshot", KEY).balances[0].currency == "USD"
    assert fetch("moonshot", KEY, hints={"region": "cn"}).balances[0].currency == "CNY"
    assert fetch("moonshot", KEY, options={"region": "ai"}).balances[0].currency == "USD"
    assert ai.call_count == 2 and cn.call_count == 1
    assert cn.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
def test_a_rejected_key_explains_the_region_binding_and_never_tries_the_other_host() -> None:
    respx.get("https://api.moonshot.ai/v1/users/me/balance").respond(401, json={"error": {}})
    cn = respx.get("https://api.moonshot.cn/v1/users/me/balance").respond(text=DOC_TEXT)
    with pytest.raises(AuthError, match=r"region-bound.*region=cn"):
        fetch("moonshot", KEY)
    assert cn.call_count == 0


def test_a_key_is_never_sent_to_the_other_regions_host() -> None:
    provider = get_provider("moonshot")
    with pytest.raises(ConfigError, match="region-bound"):
        provider.check_base_url("https://api.moonshot.cn", {"region": "ai"})
    with pytest.raises(ConfigError, match="region-bound"):
        provider.check_base_url("https://api.moonshot.ai/", {"region": "cn"})
    provider.check_base_url("https://api.moonshot.ai/", {})
    provider.check_base_url("https://api.moonshot.cn", {"region": "cn"})
    provider.check_base_url("http://127.0.0.1:9/moonshot", {"region": "cn"})
