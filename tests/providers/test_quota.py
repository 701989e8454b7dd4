"""MiniMax, z.ai and ElevenLabs quota windows: documented shapes and error envelopes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ProviderError
from keyz.providers import elevenlabs, minimax, zai
from tests.providers.helpers import doc, fetch

MINIMAX_TEXT = """{"base_resp": {"status_code": 0, "status_msg": "success"},
 "model_remains": [
  {"model_name": "video", "current_interval_total_count": 0,
   "current_interval_usage_count": 0, "current_interval_remaining_percent": 100,
   "current_interval_status": 3},
  {"model_name": "MiniMax-M2", "start_time": 1763452800000, "end_time": 1763470800000,
   "remains_time": 9000000, "current_interval_total_count": 1500,
   "current_interval_usage_count": 151, "current_interval_remaining_percent": 89.93,
   "current_interval_status": 1, "weekly_start_time": 1763337600000,
   "weekly_end_time": 1763942400000, "current_weekly_total_count": 15000,
   "current_weekly_usage_count": 1349, "current_weekly_remaining_percent": 91,
   "current_weekly_status": 1}]}"""
ZAI_TEXT = """{"success": true, "code": 200, "msg": "Operation successful",
 "data": {"limits": [
  {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "usage": 40000000, "currentValue": 11200000,
   "remaining": 28800000, "percentage": 28, "nextResetTime": 1763474400000},
  {"type": "TOKENS_LIMIT", "unit": 6, "number": 1, "usage": 400000000,
   "currentValue": 236000000, "remaining": 164000000, "percentage": 59,
   "nextResetTime": 1763942400000},
  {"type": "TIME_LIMIT", "unit": 5, "number": 1, "usage": 1000, "currentValue": 10,
   "remaining": 990, "percentage": 1,
   "usageDetails": [{"modelCode": "search-prime", "usage": 10}]}]}}"""
ZAI_CREDIT_TEXT = """{"success": true, "code": 200, "data": {"level": "lite", "limits": [
  {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 2000, "currentValue": 71,
   "remaining": 1929, "percentage": 3, "nextResetTime": 1763474400000},
  {"type": "CREDIT_LIMIT", "unit": 6, "number": 1, "usage": 10000, "currentValue": 71,
   "remaining": 9929, "percentage": 1, "nextResetTime": 1763942400000}]}}"""
ELEVEN_TEXT = """{"tier": "starter", "character_count": 17231, "character_limit": 100000,
 "can_extend_character_limit": true, "allowed_to_extend_character_limit": true,
 "next_character_count_reset_unix": 1766188800, "voice_slots_used": 1, "voice_limit": 10,
 "professional_voice_slots_used": 0, "professional_voice_limit": 1, "status": "active",
 "currency": "usd", "billing_period": "monthly_period",
 "character_refresh_period": "monthly_period"}"""


def test_minimax_prefers_remaining_percent_and_picks_the_chat_row() -> None:
    report = minimax.parse_remains(doc(MINIMAX_TEXT))
    quotas = {q.label: q for q in report.quotas}
    interval, weekly = quotas["interval"], quotas["weekly"]
    # usage_count 151 of 1500 would be 89.93% left if "used", 10.07% if "remaining": the
    # percent decides, never the count
    assert interval.remaining_percent == Decimal("89.93") and interval.derived == []
    assert interval.used is None and interval.window == "5h"
    assert interval.resets_at == datetime(2025, 11, 18, 13, 0, tzinfo=UTC)
    assert weekly.remaining_percent == Decimal(91) and weekly.window == "7d"
    assert report.notes == ["plan quota of MiniMax-M2"]


def test_minimax_counts_only_without_a_percent_and_then_as_used() -> None:
    payload = doc(MINIMAX_TEXT)
    row = payload["model_remains"][1]
    del row["current_interval_remaining_percent"]
    quota = {q.label: q for q in minimax.parse_remains(payload).quotas}["interval"]
    assert quota.remaining_percent == Decimal("89.93")
    assert (quota.used, quota.limit, quota.derived) == (
        Decimal(151),
        Decimal(1500),
        ["remaining_percent"],
    )


def test_minimax_status_3_is_unlimited_and_general_wins() -> None:
    payload = doc(MINIMAX_TEXT)
    payload["model_remains"].append(
        {"model_name": "general", "current_interval_status": 3, "current_weekly_status": 3}
    )
    quotas = minimax.parse_remains(payload).quotas
    assert all(q.unlimited and q.remaining_percent is None for q in quotas)


@pytest.mark.parametrize(
    ("code", "error", "text"),
    [
        (1004, AuthError, "Token Plan key"),
        (2049, AuthError, "region=cn"),
        (2062, ProviderError, "no active Token Plan"),
        (1234, ProviderError, "error 1234"),
    ],
)
def test_minimax_errors_arrive_as_200_with_a_status_code(
    code: int, error: type[Exception], text: str
) -> None:
    payload = {"base_resp": {"status_code": code, "status_msg": "x"}, "model_remains": []}
    with pytest.raises(error, match=text):
        minimax.parse_remains(payload)


def test_minimax_without_a_chat_row_is_an_error() -> None:
    payload = doc(MINIMAX_TEXT)
    payload["model_remains"] = payload["model_remains"][:1]
    with pytest.raises(ProviderError, match="MiniMax-M"):
        minimax.parse_remains(payload)


def test_zai_percentage_is_used_percent() -> None:
    quotas = {q.label: q for q in zai.parse_limits(doc(ZAI_TEXT)).quotas}
    tokens = quotas["tokens"]
    assert tokens.remaining_percent == Decimal(72) and tokens.window == "5h"
    assert (tokens.used, tokens.limit, tokens.remaining) == (
        Decimal(11200000),
        Decimal(40000000),
        Decimal(28800000),
    )
    assert tokens.resets_at == datetime(2025, 11, 18, 14, 0, tzinfo=UTC)


def test_zai_windows_are_5h_weekly_and_monthly_under_distinct_labels() -> None:
    report = zai.parse_limits(doc(ZAI_TEXT))
    windows = {q.label: (q.window, q.remaining_percent) for q in report.quotas}
    # unit 6 is a week and unit 5 a month (the MCP row is "1 Month" in z.ai's own plugin)
    assert windows == {
        "tokens": ("5h", Decimal(72)),
        "weekly tokens": ("7d", Decimal(41)),
        "monthly mcp calls": ("1mo", Decimal(99)),
    }
    assert report.notes == []


def test_zai_credit_limit_rows_read_like_token_rows() -> None:
    quotas = {q.label: q for q in zai.parse_limits(doc(ZAI_CREDIT_TEXT)).quotas}
    assert set(quotas) == {"credits", "weekly credits"}
    weekly = quotas["weekly credits"]
    assert (weekly.window, weekly.remaining_percent, weekly.used, weekly.limit) == (
        "7d",
        Decimal(99),
        Decimal(71),
        Decimal(10000),
    )
    assert quotas["credits"].window == "5h"
    assert weekly.resets_at == datetime(2025, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("unit", "number"), [(9, 1), (None, 1), (True, 1), (3, 0), (6, "1"), ("6", 1)]
)
def test_zai_an_unknown_window_is_kept_without_a_length(unit: Any, number: Any) -> None:
    payload = doc(ZAI_TEXT)
    payload["data"]["limits"][1].update(unit=unit, number=number)
    payload["data"]["limits"].append({"type": "NEW_LIMIT", "unit": 3, "number": 1, "percentage": 5})
    report = zai.parse_limits(payload)
    labels = [q.label for q in report.quotas]
    odd = next(q for q in report.quotas if q.window is None)
    assert odd.label.startswith("tokens (unit ") and odd.remaining_percent == Decimal(41)
    assert len(set(labels)) == len(labels) == 4 and "new limit" in labels
    assert report.notes == [f"unknown window unit, length not shown: {odd.label}"]


@pytest.mark.parametrize(
    "payload",
    [
        {"success": False, "code": 1001, "msg": "token expired"},
        {"success": True, "code": 500, "msg": "busy", "data": {"limits": []}},
        {"success": True, "code": 200, "data": {}},
        {"success": True, "code": 200, "data": {"limits": [{"type": "TOKENS_LIMIT"}]}},
    ],
)
def test_zai_error_envelopes_and_wrong_shapes(payload: Any) -> None:
    with pytest.raises(ProviderError):
        zai.parse_limits(payload)


def test_elevenlabs_characters_used_of_the_limit() -> None:
    (quota,) = elevenlabs.parse_subscription(doc(ELEVEN_TEXT)).quotas
    assert (quota.used, quota.limit, quota.remaining) == (
        Decimal(17231),
        Decimal(100000),
        Decimal(82769),
    )
    assert quota.remaining_percent == Decimal("82.77")
    assert quota.resets_at == datetime(2025, 12, 20, tzinfo=UTC)
    assert quota.unit == "characters"
    with pytest.raises(ProviderError):
        elevenlabs.parse_subscription({"character_count": 1})


@respx.mock
def test_each_sends_its_documented_auth_header() -> None:
    mm = respx.get("https://api.minimaxi.com/v1/token_plan/remains").respond(text=MINIMAX_TEXT)
    za = respx.get("https://api.z.ai/api/monitor/usage/quota/limit").respond(text=ZAI_TEXT)
    el = respx.get("https://api.elevenlabs.io/v1/user/subscription").respond(text=ELEVEN_TEXT)
    fetch("minimax", "sk-cp-test", options={"region": "cn"})
    fetch("zai", "zai-test")
    fetch("elevenlabs", "el-test")
    assert mm.calls.last.request.headers["authorization"] == "Bearer sk-cp-test"
    assert za.calls.last.request.headers["authorization"] == "zai-test"
    assert el.calls.last.request.headers["xi-api-key"] == "el-test"
    assert "authorization" not in el.calls.last.request.headers
