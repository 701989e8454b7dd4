"""Novita: payloads shaped like novita.ai's basic-get-user-balance example (1/10000 USD)."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import ProviderError
from keyz.providers.novita import parse_balance
from tests.providers.helpers import doc, fetch

DOC_TEXT = """{"availableBalance":"1000000","cashBalance":"800000","creditLimit":"200000",
"pendingCharges":"0","outstandingInvoices":"0"}"""


def test_documented_example_converted_from_ten_thousandths() -> None:
    (usd,) = parse_balance(doc(DOC_TEXT)).balances
    assert usd.currency == "USD"
    assert usd.remaining == Decimal(100)
    assert (usd.cash, usd.credit_limit, usd.pending, usd.outstanding) == (
        Decimal(80),
        Decimal(20),
        Decimal(0),
        Decimal(0),
    )


def test_odd_amounts_stay_exact() -> None:
    (usd,) = parse_balance({"availableBalance": "12345"}).balances
    assert usd.remaining == Decimal("1.2345") and usd.cash is None


@pytest.mark.parametrize(
    "payload", [{}, {"availableBalance": None}, {"availableBalance": "1e"}, [], "x"]
)
def test_unreadable_balance_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ProviderError):
        parse_balance(payload)


@respx.mock
def test_fetch_uses_the_documented_path_and_bearer() -> None:
    route = respx.get("https://api.novita.ai/openapi/v1/billing/balance/detail").respond(
        text=DOC_TEXT
    )
    assert fetch("novita", "sk_novita_1").balances[0].remaining == Decimal(100)
    assert route.calls.last.request.headers["authorization"] == "Bearer sk_novita_1"
