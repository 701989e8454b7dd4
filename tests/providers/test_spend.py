"""Anthropic and OpenAI cost reports: documented shapes, cents vs dollars, pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ProviderError
from keyz.providers import anthropic, openai
from keyz.providers._buckets import query_start, windows
from tests.providers.helpers import doc, fetch

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)

ANTHROPIC_TEXT = """{"data": [{"starting_at": "2026-11-21T00:00:00Z",
  "ending_at": "2026-11-22T00:00:00Z",
  "results": [{"amount": "123.45", "currency": "USD", "cost_type": null, "description": null,
    "model": null, "service_tier": null, "context_window": null, "token_type": null,
    "workspace_id": null, "inference_geo": null}]}],
 "has_more": false, "next_page": null}"""
OPENAI_TEXT = """{"object": "page", "data": [{"object": "bucket", "start_time": 1763683200,
  "end_time": 1763769600, "results": [{"object": "organization.costs.result",
  "amount": {"value": 0.06, "currency": "usd"}, "line_item": null, "project_id": null,
  "api_key_id": null, "quantity": null}]}], "has_more": false, "next_page": null}"""


def test_anthropic_amounts_are_cents_as_decimal_strings() -> None:
    costs, cursor = anthropic.parse_page(doc(ANTHROPIC_TEXT))
    assert cursor is None
    assert [(c.day, c.currency, c.amount) for c in costs] == [
        (datetime(2026, 11, 21, tzinfo=UTC), "USD", Decimal("1.2345"))
    ]


def test_openai_amounts_are_dollars_number_or_string() -> None:
    costs, _ = openai.parse_page(doc(OPENAI_TEXT))
    assert [(c.day, c.currency, c.amount) for c in costs] == [
        (datetime(2025, 11, 21, tzinfo=UTC), "USD", Decimal("0.06"))
    ]
    as_string = doc(OPENAI_TEXT.replace("0.06", '"12.50"'))
    assert openai.parse_page(as_string)[0][0].amount == Decimal("12.50")


@pytest.mark.parametrize(
    ("module", "payload"),
    [
        (anthropic, {"data": [{"results": []}]}),
        (anthropic, {"data": [{"starting_at": "x", "results": []}]}),
        (anthropic, {"data": [{"starting_at": "2026-11-21T00:00:00Z", "results": [{}]}]}),
        (openai, {"data": [{"start_time": 1763683200, "results": [{"amount": {"value": 1}}]}]}),
        (openai, {"data": [{"results": []}]}),
        (openai, {"object": "page"}),
    ],
)
def test_wrong_shapes_are_errors(module: Any, payload: Any) -> None:
    with pytest.raises(ProviderError):
        module.parse_page(payload)


def test_windows_sum_this_month_and_the_last_30_days() -> None:
    from keyz.providers._buckets import Cost

    costs = [
        Cost(datetime(2026, 10, 23, tzinfo=UTC), "USD", Decimal("9")),  # 31 days ago: neither
        Cost(datetime(2026, 10, 24, tzinfo=UTC), "USD", Decimal("1")),  # last 30 days only
        Cost(datetime(2026, 11, 1, tzinfo=UTC), "USD", Decimal("2.5")),  # both
        Cost(datetime(2026, 11, 22, tzinfo=UTC), "USD", Decimal("0.25")),  # today: both
    ]
    spend = {s.period: s for s in windows(costs, NOW, "/x")}
    assert spend["this_month"].amount == Decimal("2.75")
    assert spend["last_30_days"].amount == Decimal("3.75")
    assert spend["this_month"].start == datetime(2026, 11, 1, tzinfo=UTC)
    assert spend["last_30_days"].start == datetime(2026, 10, 24, tzinfo=UTC)
    assert all(s.derived == ["amount"] and s.end is None for s in spend.values())
    assert query_start(NOW) == datetime(2026, 10, 24, tzinfo=UTC)


def test_no_buckets_means_nothing_spent_not_unknown() -> None:
    spend = windows([], NOW, "/x")
    assert {(s.period, s.currency, s.amount) for s in spend} == {
        ("this_month", "USD", Decimal(0)),
        ("last_30_days", "USD", Decimal(0)),
    }


@respx.mock
def test_anthropic_follows_next_page_with_admin_headers() -> None:
    url = "https://api.anthropic.com/v1/organizations/cost_report"
    first = doc(ANTHROPIC_TEXT)
    first.update(has_more=True, next_page="page_2")
    second = doc(ANTHROPIC_TEXT.replace("2026-11-21", "2026-11-20").replace("123.45", "10"))
    route = respx.get(url).mock(
        side_effect=lambda request: respx.MockResponse(
            200,
            json=_jsonable(second if request.url.params.get("page") == "page_2" else first),
        )
    )
    report = fetch("anthropic", "sk-ant-admin01-test")
    spend = {s.period: s.amount for s in report.spend}
    assert spend["last_30_days"] == Decimal("1.3345")
    assert route.call_count == 2
    request = route.calls[0].request
    assert request.headers["x-api-key"] == "sk-ant-admin01-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.url.params["bucket_width"] == "1d" and request.url.params["limit"] == "31"
    assert route.calls[1].request.url.params["page"] == "page_2"


@respx.mock
def test_a_cursor_that_repeats_is_an_error_not_a_loop() -> None:
    looping = doc(ANTHROPIC_TEXT)
    looping.update(has_more=True, next_page="same")
    respx.get("https://api.anthropic.com/v1/organizations/cost_report").respond(
        json=_jsonable(looping)
    )
    with pytest.raises(ProviderError, match="same next_page"):
        fetch("anthropic", "sk-ant-admin01-test")


@respx.mock
def test_openai_project_key_is_told_an_admin_key_is_needed() -> None:
    respx.get("https://api.openai.com/v1/organization/costs").respond(
        403, json={"error": {"message": "You have insufficient permissions"}}
    )
    with pytest.raises(AuthError, match="needs an admin key: an admin key"):
        fetch("openai", "sk-proj-test")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
