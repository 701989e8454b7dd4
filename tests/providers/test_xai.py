"""xAI: management API shapes (total.val in USD cents, inverted ledger; teamId discovery)."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ProviderError, UsageError
from keyz.providers import get_provider
from keyz.providers.xai import parse_balance, parse_team
from tests.providers.helpers import doc, fetch

BALANCE_TEXT = """{"changes":[{"topupStatus":"SUCCEEDED","amount":{"val":"-1000"}}],
"total":{"val":"-250"}}"""
VALIDATION_TEXT = """{"apiKeyId":"ak-1","teamId":"team-abc","scope":"SCOPE_TEAM",
"scopeId":"team-abc","name":"billing"}"""
BASE = "https://management-api.x.ai"
KEY = "xai-mgmt-test-0001"


@pytest.mark.parametrize(
    ("val", "remaining"),
    [
        ("-250", Decimal("2.5")),
        ("-1500", Decimal(15)),
        ("0", Decimal(0)),
        ("125", Decimal("-1.25")),
    ],
)
def test_inverted_cents_become_dollars(val: str, remaining: Decimal) -> None:
    (usd,) = parse_balance({"total": {"val": val}}).balances
    assert (usd.currency, usd.remaining) == ("USD", remaining)


def test_documented_shape() -> None:
    assert parse_balance(doc(BALANCE_TEXT)).balances[0].remaining == Decimal("2.50")
    assert parse_team(doc(VALIDATION_TEXT)) == "team-abc"


@pytest.mark.parametrize(
    "payload",
    [{}, {"total": {}}, {"total": {"val": "n/a"}}, {"total": {"val": None}}, {"total": 5}],
)
def test_an_unparsable_total_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ProviderError):
        parse_balance(payload)


@respx.mock
def test_team_id_is_discovered_from_the_key_when_not_given() -> None:
    validation = respx.get(f"{BASE}/auth/management-keys/validation").respond(text=VALIDATION_TEXT)
    balance = respx.get(f"{BASE}/v1/billing/teams/team-abc/prepaid/balance").respond(
        text=BALANCE_TEXT
    )
    assert fetch("xai", KEY).balances[0].remaining == Decimal("2.5")
    assert validation.call_count == 1 and balance.call_count == 1
    assert balance.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
def test_a_team_scoped_key_without_team_id_uses_its_scope_id() -> None:
    respx.get(f"{BASE}/auth/management-keys/validation").respond(
        json={"apiKeyId": "ak-1", "scope": "SCOPE_TEAM", "scopeId": "team-xyz", "name": "b"}
    )
    balance = respx.get(f"{BASE}/v1/billing/teams/team-xyz/prepaid/balance").respond(
        text=BALANCE_TEXT
    )
    assert fetch("xai", KEY).balances[0].remaining == Decimal("2.5")
    assert balance.call_count == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"scope": "SCOPE_USER", "scopeId": "user-1"},  # not a team: never used as one
        {"scope": "SCOPE_TEAM"},
        {"scope": "SCOPE_TEAM", "scopeId": " "},
        {"teamId": 7, "scope": "SCOPE_TEAM", "scopeId": 7},
    ],
)
def test_no_team_in_the_validation_answer_asks_for_team_id(payload: Any) -> None:
    with pytest.raises(ProviderError, match="team_id="):
        parse_team(payload)


@respx.mock
def test_team_id_from_the_option_or_the_entry_skips_discovery() -> None:
    validation = respx.get(f"{BASE}/auth/management-keys/validation").respond(text=VALIDATION_TEXT)
    respx.get(f"{BASE}/v1/billing/teams/t-option/prepaid/balance").respond(text=BALANCE_TEXT)
    respx.get(f"{BASE}/v1/billing/teams/t-entry/prepaid/balance").respond(text=BALANCE_TEXT)
    fetch("xai", KEY, options={"team_id": "t-option"}, hints={"team_id": "t-entry"})
    fetch("xai", KEY, hints={"team_id": "t-entry"})
    assert validation.call_count == 0


@respx.mock
def test_an_inference_key_is_told_which_key_is_needed() -> None:
    respx.get(f"{BASE}/auth/management-keys/validation").respond(401, json={"error": "bad"})
    with pytest.raises(AuthError, match=r"needs a management key: .*Management Keys"):
        fetch("xai", KEY)


@respx.mock
def test_a_wrong_team_says_so() -> None:
    respx.get(f"{BASE}/v1/billing/teams/nope/prepaid/balance").respond(404, json={})
    with pytest.raises(ProviderError, match="check team_id"):
        fetch("xai", KEY, options={"team_id": "nope"})


def test_team_id_must_be_a_plain_token() -> None:
    with pytest.raises(UsageError, match="team_id"):
        get_provider("xai").check_options({"team_id": "../../x"})
