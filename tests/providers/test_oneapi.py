"""oneapi: the shapes one-api and new-api answer on /dashboard/billing/* (read from their source).

songquanpeng/one-api and QuantumNous/new-api ``controller/billing.go``: ``hard_limit_usd`` is
remaining + used quota in the site's display unit, or the ``100000000`` placeholder for an
unlimited token; ``total_usage`` is the used quota times 100; errors come as HTTP 200 with
``{"error": {"message", "type"}}``, or 401/403 of that shape from ``TokenAuth``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError, UsageError
from keyz.providers.oneapi import UNLIMITED_NOTE, parse_subscription, parse_usage, usage_window
from keyz.redact import REDACTOR
from tests.conftest import CANARY
from tests.providers.helpers import doc, fetch

RELAY = "https://relay.example"
SUBSCRIPTION = f"{RELAY}/dashboard/billing/subscription"
USAGE = f"{RELAY}/dashboard/billing/usage"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# what GetSubscription / GetUsage marshal (OpenAISubscriptionResponse, OpenAIUsageResponse)
SUBSCRIPTION_TEXT = """{"object":"billing_subscription","has_payment_method":true,
"soft_limit_usd":20,"hard_limit_usd":20,"system_hard_limit_usd":20,"access_until":0}"""
USAGE_TEXT = """{"object":"list","total_usage":750}"""
# quota 1234567 of 500000 per dollar, times 100, as Go's float64 prints it
NOISY_USAGE = """{"object":"list","total_usage":246.91340000000002}"""


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def relay(
    mock: respx.MockRouter,
    subscription: str | httpx.Response = SUBSCRIPTION_TEXT,
    usage: str | httpx.Response = USAGE_TEXT,
) -> tuple[respx.Route, respx.Route]:
    def answer(value: str | httpx.Response) -> httpx.Response:
        return value if isinstance(value, httpx.Response) else httpx.Response(200, text=value)

    return (
        mock.get(SUBSCRIPTION).mock(return_value=answer(subscription)),
        mock.get(url__startswith=USAGE).mock(return_value=answer(usage)),
    )


def ask(**options: str) -> Any:
    return fetch("oneapi", CANARY, hints={"base_url": RELAY}, options=options, now=NOW)


def test_the_documented_answers_give_the_tokens_limit_usage_and_what_is_left(
    mock: respx.MockRouter,
) -> None:
    subscription, usage = relay(mock)
    report = ask()
    cap = report.key_limit
    assert (cap.limit, cap.usage, cap.remaining) == (Decimal(20), Decimal("7.5"), Decimal("12.5"))
    assert cap.currency == "USD" and cap.derived == ["remaining"]
    assert cap.source == "/dashboard/billing/subscription"
    assert report.balances == [] and report.notes == []  # the token's figures, not a balance
    for route in (subscription, usage):
        assert route.calls.last.request.headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in str(usage.calls.last.request.url)  # the key only in the header
    assert [(t.figure, t.source, t.raw) for t in report.trace] == [
        ("key_limit.limit", "hard_limit_usd", "20"),
        ("key_limit.usage", "total_usage / 100", "750"),
        ("key_limit.remaining", "limit - usage (derived)", ""),
    ]


def test_usage_is_sent_a_utc_date_window_the_relays_ignore(mock: respx.MockRouter) -> None:
    _, usage = relay(mock)
    ask()
    query = dict(usage.calls.last.request.url.params)
    assert query == {"start_date": "2026-08-16", "end_date": "2026-11-24"}
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC).astimezone()  # any zone: UTC days
    assert usage_window(late) == {"start_date": "2026-08-16", "end_date": "2026-11-24"}


def test_an_unlimited_token_is_no_limit_never_a_hundred_million(mock: respx.MockRouter) -> None:
    unlimited = SUBSCRIPTION_TEXT.replace("20", "100000000")
    relay(mock, subscription=unlimited)
    report = ask()
    cap = report.key_limit
    assert cap.limit is None and cap.remaining is None  # no cap: nothing 'left' to compute
    assert cap.usage == Decimal("7.5") and cap.derived == []
    assert UNLIMITED_NOTE in report.notes
    assert [t.figure for t in report.trace] == ["key_limit.limit", "key_limit.usage"]


def test_the_placeholder_is_recognised_however_the_number_is_written() -> None:
    for text in ("100000000", "100000000.0", "1e8", "1E+8"):
        limit, traced, _ = parse_subscription(doc(f'{{"hard_limit_usd": {text}}}'))
        assert limit is None, text
        assert Decimal(traced.raw) == 100000000, text
    limit, _, _ = parse_subscription({"hard_limit_usd": 99999999})
    assert limit == Decimal(99999999)  # only the placeholder itself means unlimited


def test_go_float_noise_in_cents_is_rounded_away_exactly() -> None:
    used, traced = parse_usage(doc(NOISY_USAGE))
    assert used == Decimal("2.469134")
    assert traced.raw == "246.9134"


def test_the_currency_option_names_the_display_unit(mock: respx.MockRouter) -> None:
    relay(mock)
    assert ask(currency="CNY").key_limit.currency == "CNY"
    assert ask(currency="TOKENS").key_limit.currency == "TOKENS"


def test_a_currency_option_that_is_no_unit_is_refused() -> None:
    from keyz.providers import get_provider

    with pytest.raises(UsageError, match="does not look like a currency"):
        get_provider("oneapi").check_options({"currency": "usd; rm"})


def test_an_expiry_becomes_a_note(mock: respx.MockRouter) -> None:
    relay(
        mock,
        subscription=SUBSCRIPTION_TEXT.replace('"access_until":0', '"access_until":1798761600'),
    )
    assert "the token expires at 2027-01-01T00:00:00Z" in ask().notes


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": f"invalid token {CANARY}", "type": "one_api_error"}},
        {"error": {"message": "record not found", "type": "upstream_error"}},
        {"error": "plain"},
    ],
)
def test_an_error_envelope_with_http_200_is_an_error_and_never_shows_the_key(
    body: dict[str, Any], mock: respx.MockRouter
) -> None:
    REDACTOR.add(CANARY)  # as the store does when it decrypts the entry
    relay(mock, subscription=httpx.Response(200, json=body))
    with pytest.raises(ProviderError) as caught:
        ask()
    said = str(caught.value)
    assert said.startswith("oneapi subscription: the relay answered an error")
    assert CANARY not in said
    if isinstance(body["error"], dict):
        assert body["error"]["type"] in said


def test_the_usage_endpoints_error_envelope_fails_too(mock: respx.MockRouter) -> None:
    relay(mock, usage=httpx.Response(200, json={"error": {"message": "db down", "type": "x"}}))
    with pytest.raises(ProviderError, match=r"^oneapi usage: the relay answered an error: x: db"):
        ask()


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "无效的令牌"), (401, "该令牌额度已用尽"), (403, "用户已被封禁")],
)
def test_the_token_check_refusals_are_quoted(
    status: int, message: str, mock: respx.MockRouter
) -> None:
    body = {"error": {"message": message, "type": "one_api_error"}}
    relay(mock, subscription=httpx.Response(status, json=body))
    with pytest.raises(AuthError) as caught:
        ask()
    assert caught.value.status == status
    assert f"one_api_error: {message}" in str(caught.value)


def test_a_relay_without_the_usage_route_still_gives_the_limit(mock: respx.MockRouter) -> None:
    relay(mock, usage=httpx.Response(404, text="404 page not found"))
    report = ask()
    assert report.key_limit.limit == Decimal(20)
    assert report.key_limit.remaining is None and report.key_limit.usage is None
    assert any("no usage endpoint" in note for note in report.notes)


def test_another_usage_failure_fails_the_entry(mock: respx.MockRouter) -> None:
    relay(mock, usage=httpx.Response(429, headers={"Retry-After": "0"}))
    with pytest.raises(ProviderError, match=r"oneapi usage: .*HTTP 429"):
        ask()


@pytest.mark.parametrize(
    "subscription",
    [
        "{}",
        '{"hard_limit_usd": null}',
        '{"hard_limit_usd": "1e999"}',
        '{"hard_limit_usd": "NaN"}',
        '{"hard_limit_usd": "١٢"}',
        '{"hard_limit_usd": true}',
        '{"hard_limit_usd": -5}',
        '{"hard_limit_usd": [20]}',
        "[]",
        '"20"',
    ],
)
def test_a_limit_keyz_cannot_read_is_an_error_never_zero(
    subscription: str, mock: respx.MockRouter
) -> None:
    relay(mock, subscription=subscription)
    with pytest.raises(ParseError):
        ask()


@pytest.mark.parametrize(
    "usage",
    ["{}", '{"total_usage": "lots"}', '{"total_usage": -1}', '{"total_usage": 1e400}'],
)
def test_a_usage_keyz_cannot_read_is_an_error_never_zero(
    usage: str, mock: respx.MockRouter
) -> None:
    relay(mock, usage=usage)
    with pytest.raises(ParseError):
        ask()


def test_a_huge_answer_is_refused(mock: respx.MockRouter) -> None:
    padding = '{"pad": [' + ",".join(["1"] * 600_000) + '], "hard_limit_usd": 1}'
    relay(mock, subscription=padding)
    with pytest.raises(ParseError, match="larger than"):
        ask()


def test_a_redirect_is_not_followed(mock: respx.MockRouter) -> None:
    relay(
        mock, subscription=httpx.Response(302, headers={"Location": "https://elsewhere.example/"})
    )
    elsewhere = mock.get(url__startswith="https://elsewhere.example").respond(text="{}")
    with pytest.raises(ProviderError, match="does not follow redirects"):
        ask()
    assert not elsewhere.called


def test_without_a_base_url_line_nothing_is_sent(mock: respx.MockRouter) -> None:
    with respx.mock(assert_all_called=False) as mock:
        anywhere = mock.route().respond(text=SUBSCRIPTION_TEXT)
        with pytest.raises(ConfigError, match="add a line 'base_url: https://") as caught:
            fetch("oneapi", CANARY, now=NOW)
        assert not anywhere.called
    assert "pass edit api/test" in str(caught.value)


@pytest.mark.parametrize(
    "line", ["http://relay.example", "ftp://relay.example", "https://user:pw@relay.example"]
)
def test_a_base_url_line_must_be_https_except_loopback(line: str, mock: respx.MockRouter) -> None:
    with respx.mock(assert_all_called=False) as mock:
        anywhere = mock.route().respond(text=SUBSCRIPTION_TEXT)
        with pytest.raises(ConfigError):
            fetch("oneapi", CANARY, hints={"base_url": line}, now=NOW)
        assert not anywhere.called


def test_a_loopback_relay_may_be_plain_http(mock: respx.MockRouter) -> None:
    mock.get("http://127.0.0.1:3000/dashboard/billing/subscription").respond(text=SUBSCRIPTION_TEXT)
    mock.get(url__startswith="http://127.0.0.1:3000/dashboard/billing/usage").respond(
        text=USAGE_TEXT
    )
    report = fetch("oneapi", CANARY, hints={"base_url": "http://127.0.0.1:3000"}, now=NOW)
    assert report.key_limit is not None and report.key_limit.remaining == Decimal("12.5")


def test_a_configured_base_url_cannot_stand_in_for_the_line() -> None:
    """resolve() itself refuses it (sync refuses it earlier, before decrypting)."""
    from keyz import sync
    from keyz.config import EntryConfig
    from keyz.store import Secret

    with pytest.raises(ConfigError, match=r"\[providers.oneapi\] base_url cannot be used"):
        sync.resolve(
            EntryConfig("api/relay", "oneapi"),
            Secret(CANARY, {"base_url": RELAY}),
            http=None,  # type: ignore[arg-type]  # refused before any request
            now=NOW,
            configured_base_url="https://attacker.example",
        )


def test_an_environment_base_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, mock: respx.MockRouter
) -> None:
    monkeypatch.setenv("KEYZ_ONEAPI_BASE_URL", "https://attacker.example")
    with respx.mock(assert_all_called=False) as mock:
        anywhere = mock.route().respond(text=SUBSCRIPTION_TEXT)
        with pytest.raises(ConfigError, match="KEYZ_ONEAPI_BASE_URL is set"):
            fetch("oneapi", CANARY, hints={"base_url": RELAY}, now=NOW)
        assert not anywhere.called
