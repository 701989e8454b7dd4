"""GitHub billing usage: premium requests (quota, used only) and this month's net spend (USD)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError, UsageError
from keyz.providers import get_provider
from keyz.providers.base import KeyRejected
from keyz.providers.github import (
    API_VERSION,
    USER_PREMIUM,
    USER_USAGE,
    account_of,
    parse_premium_requests,
    parse_usage,
)
from keyz.redact import MASK
from keyz.render import quota_text, summarize
from keyz.sidecar import Sidecar
from tests.providers.helpers import doc, fetch

# GitHub's REST reference, "Billing usage" (docs.github.com/rest/billing/usage), verbatim
USER_PREMIUM_TEXT = """{
  "timePeriod": {"year": 2025},
  "user": "monalisa",
  "usageItems": [
    {"product": "Copilot", "sku": "Copilot Premium Request", "model": "GPT-5",
     "unitType": "requests", "pricePerUnit": 0.04, "grossQuantity": 100, "grossAmount": 4,
     "discountQuantity": 0, "discountAmount": 0, "netQuantity": 100, "netAmount": 4}
  ]
}"""
ORG_PREMIUM_TEXT = """{
  "timePeriod": {"year": 2025},
  "organization": "GitHub",
  "usageItems": [
    {"product": "Copilot", "sku": "Copilot Premium Request", "model": "GPT-5",
     "unitType": "requests", "pricePerUnit": 0.04, "grossQuantity": 100, "grossAmount": 4,
     "discountQuantity": 0, "discountAmount": 0, "netQuantity": 100, "netAmount": 4}
  ]
}"""
USER_USAGE_TEXT = """{
  "usageItems": [
    {"date": "2023-08-01", "product": "Actions", "sku": "Actions Linux", "quantity": 100,
     "unitType": "minutes", "pricePerUnit": 0.008, "grossAmount": 0.8, "discountAmount": 0,
     "netAmount": 0.8, "repositoryName": "user/example"}
  ]
}"""
ORG_USAGE_TEXT = """{
  "usageItems": [
    {"date": "2023-08-01", "product": "Actions", "sku": "Actions Linux", "quantity": 100,
     "unitType": "minutes", "pricePerUnit": 0.008, "grossAmount": 0.8, "discountAmount": 0,
     "netAmount": 0.8, "organizationName": "GitHub", "repositoryName": "github/example"}
  ]
}"""

BASE = "https://api.github.com"
KEY = "github_pat_11AAAAAAA0test0token0_" + "x1Y2z3" * 10  # a fine-grained token's look
CLASSIC = "ghp_" + "T0k3n" * 8
NOW = datetime(2025, 11, 23, 12, 0, tzinfo=UTC)
AUG_2023 = datetime(2023, 8, 20, 9, 30, tzinfo=UTC)
USER_P = f"{BASE}/users/monalisa/settings/billing/premium_request/usage"
USER_U = f"{BASE}/users/monalisa/settings/billing/usage"
ORG_P = f"{BASE}/organizations/GitHub/settings/billing/premium_request/usage"
ORG_U = f"{BASE}/organizations/GitHub/settings/billing/usage"


def github_error(status: int, message: str) -> dict[str, str]:
    """GitHub's documented error shape (basic-error)."""
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": f"{status}",
    }


# --- the documented payloads, parsed exactly ---------------------------------------------------


@pytest.mark.parametrize("text", [USER_PREMIUM_TEXT, ORG_PREMIUM_TEXT])
def test_documented_premium_requests_are_used_with_no_invented_allowance(text: str) -> None:
    report = parse_premium_requests(doc(text), now=NOW, source=USER_PREMIUM.path)
    (quota,) = report.quotas
    assert (quota.label, quota.window, quota.unit) == ("premium requests", "1mo", "requests")
    assert quota.used == Decimal(100) and isinstance(quota.used, Decimal)
    assert (quota.limit, quota.remaining, quota.remaining_percent) == (None, None, None)
    assert quota.resets_at == datetime(2025, 12, 1, tzinfo=UTC)  # counters reset on the 1st
    assert quota.derived == ["used"] and quota.source == USER_PREMIUM.path
    assert report.spend == [] and report.balances == []  # requests are not money
    assert report.notes == []


@pytest.mark.parametrize("text", [USER_USAGE_TEXT, ORG_USAGE_TEXT])
def test_documented_usage_is_this_months_net_spend_in_usd(text: str) -> None:
    report = parse_usage(doc(text), now=AUG_2023, source=USER_USAGE.path)
    (spend,) = report.spend
    assert (spend.period, spend.currency, spend.amount) == ("this_month", "USD", Decimal("0.8"))
    assert spend.start == datetime(2023, 8, 1, tzinfo=UTC) and spend.end is None
    assert [(line.label, line.amount) for line in spend.breakdown] == [("Actions", Decimal("0.8"))]
    assert spend.derived == ["amount"] and spend.source == USER_USAGE.path
    assert report.quotas == [] and report.notes == []


def test_usage_dated_in_another_month_is_left_out_and_said() -> None:
    report = parse_usage(doc(USER_USAGE_TEXT), now=NOW, source=USER_USAGE.path)
    (spend,) = report.spend
    assert spend.amount == Decimal(0) and spend.breakdown == []
    assert report.notes == ["1 usage item(s) dated outside 2025-11 were left out"]


def test_net_amounts_sum_exactly_by_product_gross_and_discount_ignored() -> None:
    items = [
        {"date": "2025-11-01", "product": "Copilot", "netAmount": Decimal("0.1"),
         "grossAmount": Decimal("4"), "discountAmount": Decimal("3.9")},
        {"date": "2025-11-02", "product": "Copilot", "netAmount": Decimal("0.2")},
        {"date": "2025-11-02T00:00:00Z", "product": "Actions", "netAmount": "0.3"},
        {"date": "2025-11-03", "product": "Packages", "netAmount": 0},
    ]  # fmt: skip
    (spend,) = parse_usage({"usageItems": items}, now=NOW, source="s").spend
    assert spend.amount == Decimal("0.6")  # never 0.6000000000000001
    assert [(line.label, line.amount) for line in spend.breakdown] == [
        ("Actions", Decimal("0.3")),
        ("Copilot", Decimal("0.3")),
        ("Packages", Decimal(0)),
    ]


def test_an_empty_month_is_zero_spent_and_zero_requests_as_github_reports_it() -> None:
    (spend,) = parse_usage({"usageItems": []}, now=NOW, source="s").spend
    (quota,) = parse_premium_requests(
        {"timePeriod": {"year": 2025, "month": 11}, "usageItems": []}, now=NOW, source="s"
    ).quotas
    assert spend.amount == 0 and quota.used == 0 and quota.remaining_percent is None


def test_more_than_ten_products_keep_nine_lines_and_the_rest_summed() -> None:
    items = [
        {"date": "2025-11-01", "product": f"P{i:02}", "netAmount": str(i)} for i in range(1, 13)
    ]
    (spend,) = parse_usage({"usageItems": items}, now=NOW, source="s").spend
    assert len(spend.breakdown) == 10
    assert spend.breakdown[0].label == "P12" and spend.breakdown[-1].label == "other products"
    assert spend.breakdown[-1].amount == Decimal(1 + 2 + 3)  # P01-P03 after the top nine
    assert sum(line.amount for line in spend.breakdown) == spend.amount == Decimal(78)


def test_the_status_line_shows_spend_and_requests_used_never_a_percent() -> None:
    report = parse_premium_requests(doc(USER_PREMIUM_TEXT), now=NOW, source="s")
    (quota,) = report.quotas
    assert quota_text(quota).startswith("premium requests (1mo): 100 requests used, resets ")
    usage = parse_usage(
        {"usageItems": [{"date": "2025-11-02", "product": "Copilot", "netAmount": 4}]},
        now=NOW,
        source="s",
    )
    sidecar = Sidecar(
        entry="api/github",
        provider="github",
        observed_at=NOW,
        available=None,
        spend=usage.spend,
        quotas=report.quotas,
    )
    line = summarize(sidecar)
    assert "spent USD 4.00* this month" in line and "100 requests used" in line
    assert "%" not in line
    unknown = quota.model_copy(update={"used": None})
    assert quota_text(unknown) == "premium requests (1mo): unknown"  # nothing known: said so


# --- options: exactly one of user and org --------------------------------------------------------


def test_exactly_one_account_option() -> None:
    assert account_of({"user": "octocat"}) == ("user", "octocat")
    assert account_of({"org": "my-org"}) == ("org", "my-org")
    with pytest.raises(ConfigError, match=r"needs the account.*user=<login>.*org=<name>"):
        account_of({})
    with pytest.raises(ConfigError, match="not both"):
        account_of({"user": "octocat", "org": "my-org"})


@pytest.mark.parametrize("value", ["-octocat", "a" * 40, "octo/../cat", "octo cat", "ä", ""])
def test_a_user_or_org_must_look_like_a_github_login(value: str) -> None:
    for name in ("user", "org"):
        with pytest.raises(UsageError, match=name):
            get_provider("github").check_options({name: value})


@respx.mock
def test_neither_or_both_fail_before_anything_is_sent() -> None:
    route = respx.get(url__startswith=BASE).respond(200, json={"usageItems": []})
    with pytest.raises(ConfigError, match="needs the account"):
        fetch("github", KEY, options={}, now=NOW)
    with pytest.raises(ConfigError, match="not both"):
        fetch("github", KEY, options={"org": "GitHub"}, hints={"user": "monalisa"}, now=NOW)
    assert route.call_count == 0


# --- through the HTTP edge ------------------------------------------------------------------------


@respx.mock
def test_a_user_is_asked_for_this_month_with_githubs_headers() -> None:
    premium = respx.get(USER_P).respond(text=USER_PREMIUM_TEXT)
    usage = respx.get(USER_U).respond(
        json={"usageItems": [{"date": "2025-11-20", "product": "Copilot", "netAmount": 4}]}
    )
    report = fetch("github", KEY, hints={"user": "monalisa"}, now=NOW)  # a 'user:' line
    assert report.quotas[0].used == 100 and report.spend[0].amount == 4
    for route in (premium, usage):
        request = route.calls.last.request
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == API_VERSION == "2026-03-10"
        assert dict(request.url.params) == {"year": "2025", "month": "11"}


@respx.mock
def test_an_org_is_asked_at_the_organization_endpoints() -> None:
    premium = respx.get(ORG_P).respond(text=ORG_PREMIUM_TEXT)
    usage = respx.get(ORG_U).respond(text=ORG_USAGE_TEXT)
    report = fetch("github", CLASSIC, options={"org": "GitHub"}, now=AUG_2023.replace(year=2025))
    assert report.quotas[0].used == 100
    assert report.spend[0].amount == 0  # the documented item is dated 2023-08
    assert premium.call_count == usage.call_count == 1
    assert premium.calls.last.request.headers["authorization"] == f"Bearer {CLASSIC}"


@respx.mock
def test_the_login_is_sent_as_one_path_segment() -> None:
    route = respx.get(f"{BASE}/users/octo-cat/settings/billing/premium_request/usage").respond(
        json={"usageItems": []}
    )
    respx.get(f"{BASE}/users/octo-cat/settings/billing/usage").respond(json={"usageItems": []})
    fetch("github", KEY, options={"user": "octo-cat"}, now=NOW)
    assert route.call_count == 1


# --- GitHub's documented error shapes -------------------------------------------------------------


@respx.mock
def test_401_quotes_github_and_names_the_token_needed() -> None:
    respx.get(USER_P).respond(401, json=github_error(401, "Bad credentials"))
    with pytest.raises(KeyRejected) as caught:
        fetch("github", KEY, options={"user": "monalisa"}, now=NOW)
    text = str(caught.value)
    assert "HTTP 401" in text and "Bad credentials" in text and "expired or revoked" in text
    assert '"Plan" user permission (read)' in text
    assert "docs.github.com" not in text  # the message, not the envelope
    assert caught.value.context == "github premium requests"
    assert "management key" not in text  # GitHub's own words for its token, said once


@pytest.mark.parametrize(
    ("option", "needed"),
    [
        ({"user": "monalisa"}, '"Plan" user permission (read)'),
        ({"org": "GitHub"}, '"Administration" organization permission (read)'),
    ],
)
@respx.mock
def test_403_says_which_permission_for_the_account_kind(
    option: dict[str, str], needed: str
) -> None:
    message = "Resource not accessible by personal access token"
    respx.get(url__startswith=BASE).respond(403, json=github_error(403, message))
    with pytest.raises(AuthError) as caught:
        fetch("github", KEY, options=option, now=NOW)
    assert caught.value.status == 403
    assert message in str(caught.value) and needed in str(caught.value)
    assert "classic personal access token" in str(caught.value)


@respx.mock
def test_404_for_a_user_says_what_to_do() -> None:
    respx.get(USER_P).respond(404, json=github_error(404, "Not Found"))
    with pytest.raises(ProviderError) as caught:
        fetch("github", KEY, options={"user": "monalisa"}, now=NOW)
    text = str(caught.value)
    assert caught.value.status == 404 and not isinstance(caught.value, AuthError)
    assert "Not Found" in text and "its own Copilot plan" in text and "org=<name>" in text
    assert "enhanced billing" in text


@respx.mock
def test_404_for_an_org_says_what_to_do() -> None:
    respx.get(ORG_P).respond(text=ORG_PREMIUM_TEXT)
    respx.get(ORG_U).respond(404, json=github_error(404, "Not Found"))
    with pytest.raises(ProviderError, match="owner or billing manager") as caught:
        fetch("github", KEY, options={"org": "GitHub"}, now=NOW)
    assert caught.value.context == "github org usage"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "API rate limit exceeded for user ID 1."),
        (500, "Internal Error"),
        (503, "Unavailable"),
    ],
)
@respx.mock
def test_other_errors_quote_githubs_message(status: int, message: str) -> None:
    respx.get(USER_P).respond(status, json=github_error(status, message))
    with pytest.raises(ProviderError) as caught:
        fetch("github", KEY, options={"user": "monalisa"}, now=NOW)
    assert f"HTTP {status}" in str(caught.value) and message in str(caught.value)
    assert not isinstance(caught.value, AuthError)


@pytest.mark.parametrize("key", [KEY, CLASSIC, "ghs_" + "S3rv3r" * 7])
@respx.mock
def test_a_token_echoed_in_githubs_message_is_never_shown(key: str) -> None:
    respx.get(USER_P).respond(401, json=github_error(401, f"Bad credentials: {key}"))
    with pytest.raises(AuthError) as caught:
        fetch("github", KEY, options={"user": "monalisa"}, now=NOW)
    assert key not in str(caught.value) and MASK in str(caught.value)


# --- hostile answers: an error, never a made-up figure ----------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "usage",
        {},
        {"usageItems": None},
        {"usageItems": {"unitType": "requests"}},
        {"usageItems": [None]},
        {"usageItems": [{"grossQuantity": 5}]},  # no unitType
        {"usageItems": [{"unitType": "requests"}]},  # no grossQuantity
        {"usageItems": [{"unitType": "requests", "grossQuantity": "1e999"}]},
        {"usageItems": [{"unitType": "requests", "grossQuantity": "NaN"}]},
        {"usageItems": [{"unitType": "requests", "grossQuantity": "١٢"}]},
        {"usageItems": [{"unitType": "requests", "grossQuantity": True}]},
        {"usageItems": [{"unitType": "requests", "grossQuantity": -3}]},
        {"usageItems": [{"unitType": "requests", "grossQuantity": [1]}]},
        {"timePeriod": {"year": 2024}, "usageItems": []},  # another year than asked
        {"timePeriod": {"year": 2025, "month": 10}, "usageItems": []},
        {"timePeriod": {"year": True}, "usageItems": []},
    ],
)
def test_a_premium_answer_keyz_cannot_read_is_an_error(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_premium_requests(payload, now=NOW, source="s")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"usageItems": "many"},
        {"usageItems": [7]},
        {"usageItems": [{"product": "Actions", "netAmount": 1}]},  # no date
        {"usageItems": [{"date": "yesterday", "netAmount": 1}]},
        {"usageItems": [{"date": "2025-13-01", "netAmount": 1}]},
        {"usageItems": [{"date": "٢٠٢٥-11-01", "netAmount": 1}]},
        {"usageItems": [{"date": 20251101, "netAmount": 1}]},
        {"usageItems": [{"date": "2025-11-01"}]},  # no netAmount
        {"usageItems": [{"date": "2025-11-01", "netAmount": None}]},
        {"usageItems": [{"date": "2025-11-01", "netAmount": "1e999"}]},
        {"usageItems": [{"date": "2025-11-01", "netAmount": "Infinity"}]},
        {"usageItems": [{"date": "2025-11-01", "netAmount": "$4"}]},
        {"usageItems": [{"date": "2025-11-01", "netAmount": "-0.5"}]},
        {"usageItems": [{"date": "2025-11-01", "netAmount": "9" * 20}]},
    ],
)
def test_a_usage_answer_keyz_cannot_read_is_an_error(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_usage(payload, now=NOW, source="s")


def test_items_in_another_unit_are_left_out_and_said() -> None:
    items = [
        {"unitType": "requests", "grossQuantity": 7},
        {"unitType": "ai-credits", "grossQuantity": 1000},
        {"unitType": "Requests", "grossQuantity": Decimal("0.5")},
    ]
    report = parse_premium_requests({"usageItems": items}, now=NOW, source="s")
    assert report.quotas[0].used == Decimal("7.5")
    assert report.notes == [
        "premium request items counted in another unit than requests were left out (1 unit)"
    ]


def test_odd_product_names_stay_labels_cut_and_never_crash() -> None:
    items = [
        {"date": "2025-11-01", "product": None, "netAmount": 1},
        {"date": "2025-11-01", "product": "  ", "netAmount": 1},
        {"date": "2025-11-01", "product": "X" * 500, "netAmount": 2},
        {"date": "2025-11-01", "product": "Co\x1b[31mpilot\n", "netAmount": 3},
        {"date": "2025-11-01", "product": f"leak {KEY}", "netAmount": 4},
    ]
    (spend,) = parse_usage({"usageItems": items}, now=NOW, source="s").spend
    assert [(line.label, line.amount) for line in spend.breakdown] == [
        (f"leak {MASK}", Decimal(4)),
        ("Co\\x1b[31mpilot", Decimal(3)),  # escaped, never a terminal escape
        ("(no product)", Decimal(2)),
        ("X" * 59 + "…", Decimal(2)),
    ]


def test_a_huge_list_is_summed_exactly() -> None:
    items = [{"unitType": "requests", "grossQuantity": Decimal("0.1")}] * 30_000
    (quota,) = parse_premium_requests({"usageItems": items}, now=NOW, source="s").quotas
    assert quota.used == Decimal(3000)
    usage = [{"date": "2025-11-05", "product": "Copilot", "netAmount": "0.01"}] * 30_000
    (spend,) = parse_usage({"usageItems": usage}, now=NOW, source="s").spend
    assert spend.amount == Decimal(300)


@respx.mock
def test_a_non_json_or_html_answer_is_an_error_not_a_figure() -> None:
    respx.get(USER_P).respond(200, text="<html><body>Sign in</body></html>")
    with pytest.raises(ProviderError, match="HTML page"):
        fetch("github", KEY, options={"user": "monalisa"}, now=NOW)


# --- keys ----------------------------------------------------------------------------------------


def test_both_documented_token_kinds_are_usable_and_masked() -> None:
    from keyz import redact
    from keyz.discover import prefix_of

    fine, classic = prefix_of(KEY), prefix_of(CLASSIC)
    assert fine is not None and classic is not None
    assert (fine.provider, fine.usable) == (classic.provider, classic.usable) == ("github", True)
    for token in (KEY, CLASSIC, "gho_" + "a1" * 18, "ghu_" + "b2" * 18):
        assert redact.Redactor()(f"token {token} here") == f"token {MASK} here"
