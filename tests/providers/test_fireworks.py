"""Fireworks billing summary: google.type.Money read exactly, daily buckets, account_id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError, UsageError
from keyz.providers import get_provider
from keyz.providers._buckets import Cost
from keyz.providers.fireworks import MAX_ITEMS, parse_money, parse_summary
from tests.providers.helpers import doc, fetch

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BASE = "https://api.fireworks.ai"
URL = f"{BASE}/v1/accounts/my-account/billing/summary"
KEY = "fw_" + "3ZkQ9vLp2XbN7mRt" * 2
ACCOUNT = {"account_id": "my-account"}

# The documented shape (see the module docstring): line items with a google.type.Money
# totalCost, and with granularity=DAILY one bucket per day. units is an int64 (a JSON string
# in proto3 JSON); zero fields are left out.
SUMMARY_TEXT = """{"lineItems": [{"category": "Serverless inference",
    "totalCost": {"currencyCode": "USD", "units": "3", "nanos": 150000000}}],
  "usageBuckets": [
    {"bucketStartTime": "2026-10-31T00:00:00Z",
     "lineItems": [{"category": "Serverless inference",
                    "totalCost": {"currencyCode": "USD", "units": "1"}}]},
    {"bucketStartTime": "2026-11-22T00:00:00Z",
     "lineItems": [{"category": "Serverless inference",
                    "totalCost": {"currencyCode": "USD", "nanos": 900000000}}]},
    {"bucketStartTime": "2026-11-23T00:00:00Z",
     "lineItems": [{"category": "Serverless inference",
                    "totalCost": {"currencyCode": "USD", "units": "1", "nanos": 250000000}},
                   {"category": "On-demand deployments",
                    "totalCost": {"currencyCode": "USD", "nanos": 5}}]}]}"""


def spend(report: Any) -> dict[tuple[str, str], Decimal]:
    return {(s.period, s.currency): s.amount for s in report.spend}


# --- google.type.Money ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "amount"),
    [
        ({"currencyCode": "USD", "units": "1", "nanos": 250000000}, Decimal("1.25")),
        ({"currencyCode": "USD", "units": "3", "nanos": 150000000}, Decimal("3.15")),
        ({"currencyCode": "USD", "units": 5}, Decimal(5)),  # a number is read too
        ({"currencyCode": "USD", "units": "12"}, Decimal(12)),  # nanos left out: 0
        ({"currencyCode": "USD", "nanos": 500000000}, Decimal("0.5")),  # units left out: 0
        ({"currencyCode": "USD"}, Decimal(0)),  # both left out: a zero cost, as proto3 writes it
        ({"currencyCode": "USD", "units": None, "nanos": None}, Decimal(0)),  # null: default
        ({"currencyCode": "USD", "units": "-1", "nanos": -750000000}, Decimal("-1.75")),  # Google's
        ({"currencyCode": "USD", "units": "0", "nanos": -500000000}, Decimal("-0.5")),
        ({"currencyCode": "USD", "nanos": 999999999}, Decimal("0.999999999")),
        ({"currencyCode": "USD", "nanos": 1}, Decimal("1E-9")),
        ({"currencyCode": "USD", "nanos": "250000000"}, Decimal("0.25")),  # int32 as a string
        ({"currencyCode": "USD", "units": "999999999999999"}, Decimal("999999999999999")),
        ({"currencyCode": "eur", "units": "2"}, Decimal(2)),  # upper-cased below
    ],
)
def test_money_is_units_plus_nanos_exactly(money: dict[str, Any], amount: Decimal) -> None:
    currency, value = parse_money(money)
    assert currency == money["currencyCode"].upper()
    assert value == amount and isinstance(value, Decimal)


def test_money_keeps_no_trailing_zeros_of_the_nanos() -> None:
    _, value = parse_money({"currencyCode": "USD", "units": "1", "nanos": 250000000})
    assert str(value) == "1.25"
    _, whole = parse_money({"currencyCode": "USD", "units": "100"})
    assert format(whole, "f") == "100"


@pytest.mark.parametrize(
    ("money", "why"),
    [
        ({"currencyCode": "USD", "units": "1", "nanos": -1}, "opposite signs"),
        ({"currencyCode": "USD", "units": "-1", "nanos": 1}, "opposite signs"),
        ({"currencyCode": "USD", "units": -2, "nanos": 500000000}, "opposite signs"),
        ({"currencyCode": "USD", "nanos": 1000000000}, "out of range"),
        ({"currencyCode": "USD", "nanos": -1000000000}, "out of range"),
        ({"currencyCode": "USD", "units": "9223372036854775808"}, "out of range"),  # past int64
        ({"currencyCode": "USD", "units": "9223372036854775807"}, "digits"),  # int64, past 15
        ({"currencyCode": "USD", "units": "1000000000000000"}, "digits"),  # 16 digits
        ({"currencyCode": "USD", "units": "-1000000000000000"}, "digits"),
        ({"currencyCode": "USD", "units": "9" * 400}, "integer"),
        ({"currencyCode": "USD", "units": "1e999"}, "integer"),
        ({"currencyCode": "USD", "units": "1E3"}, "integer"),
        ({"currencyCode": "USD", "units": "NaN"}, "integer"),
        ({"currencyCode": "USD", "units": "Infinity"}, "integer"),
        ({"currencyCode": "USD", "units": "١٢"}, "integer"),  # Arabic-Indic digits
        ({"currencyCode": "USD", "units": "１２"}, "integer"),  # full-width digits
        ({"currencyCode": "USD", "units": "1.5"}, "integer"),
        ({"currencyCode": "USD", "units": Decimal("1.5")}, "integer"),
        ({"currencyCode": "USD", "units": " 7"}, "integer"),
        ({"currencyCode": "USD", "units": "1_000"}, "integer"),
        ({"currencyCode": "USD", "units": ""}, "integer"),
        ({"currencyCode": "USD", "units": True}, "expected an integer"),
        ({"currencyCode": "USD", "units": False}, "expected an integer"),
        ({"currencyCode": "USD", "nanos": 0.5}, "integer"),
        ({"currencyCode": "USD", "units": [1]}, "integer"),
        ({"currencyCode": "USD", "units": {"val": 1}}, "integer"),
        ({"units": "1"}, "currencyCode"),
        ({"currencyCode": None, "units": "1"}, "currencyCode"),
        ({"currencyCode": "US", "units": "1"}, "currencyCode"),
        ({"currencyCode": "DOLLARS", "units": "1"}, "currencyCode"),
        ({"currencyCode": "ÙSD", "units": "1"}, "currencyCode"),
        ("3.15", "not a Money object"),
        (None, "not a Money object"),
        ([{"currencyCode": "USD"}], "not a Money object"),
    ],
)
def test_unreadable_money_is_an_error_never_zero(money: Any, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_money(money)


# --- the summary ------------------------------------------------------------------------------


def test_documented_daily_buckets_become_costs_per_day() -> None:
    costs = parse_summary(doc(SUMMARY_TEXT))
    assert costs == [
        Cost(datetime(2026, 10, 31, tzinfo=UTC), "USD", Decimal(1)),
        Cost(datetime(2026, 11, 22, tzinfo=UTC), "USD", Decimal("0.9")),
        Cost(datetime(2026, 11, 23, tzinfo=UTC), "USD", Decimal("1.25")),
        Cost(datetime(2026, 11, 23, tzinfo=UTC), "USD", Decimal("5E-9")),
    ]


def test_the_modules_examples_are_the_documented_shape() -> None:
    (body,) = [e.body for e in get_provider("fireworks").examples(NOW).values()]
    assert set(body) == {"lineItems", "usageBuckets"}
    units = [i["totalCost"].get("units") for b in body["usageBuckets"] for i in b["lineItems"]]
    assert all(u is None or isinstance(u, str) for u in units)  # int64 as proto3 JSON writes it
    assert [c.amount for c in parse_summary(body)] == [Decimal(3), Decimal("0.4"), Decimal("1.25")]
    assert parse_money(body["lineItems"][0]["totalCost"]) == ("USD", Decimal("4.65"))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-23T00:00:00Z", datetime(2026, 11, 23, tzinfo=UTC)),
        ("2026-11-23T00:00:00.000Z", datetime(2026, 11, 23, tzinfo=UTC)),
        ("2026-11-23T00:00:00.123456789Z", datetime(2026, 11, 23, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-23T01:00:00+01:00", datetime(2026, 11, 23, tzinfo=UTC)),
    ],
)
def test_bucket_times_are_rfc3339_read_as_utc(text: str, day: datetime) -> None:
    payload: dict[str, Any] = {"usageBuckets": [{"bucketStartTime": text, "lineItems": []}]}
    assert parse_summary(payload) == []  # an empty day: read, and nothing to add
    payload["usageBuckets"][0]["lineItems"] = [{"totalCost": {"currencyCode": "USD", "units": 2}}]
    assert parse_summary(payload) == [Cost(day, "USD", Decimal(2))]


@pytest.mark.parametrize(
    "payload",
    [
        {},  # nothing at all: nothing spent
        {"lineItems": [], "usageBuckets": []},
        {"lineItems": [{"totalCost": {"currencyCode": "USD"}}]},  # no buckets, but a $0 total
        {"usageBuckets": [{"bucketStartTime": "2026-11-23T00:00:00Z"}]},  # a day, no items
    ],
)
def test_no_costs_is_nothing_spent(payload: Any) -> None:
    assert parse_summary(payload) == []


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({"lineItems": [{"totalCost": {"currencyCode": "USD", "units": "3"}}]}, "no daily"),
        ([], "not a billing summary"),
        ("lineItems", "not a billing summary"),
        ({"usageBuckets": {"2026-11-23": []}}, "not a list"),
        ({"usageBuckets": ["2026-11-23"]}, "not an object"),
        ({"usageBuckets": [{"lineItems": []}]}, "bucketStartTime"),
        ({"usageBuckets": [{"bucketStartTime": 1763856000}]}, "bucketStartTime"),
        ({"usageBuckets": [{"bucketStartTime": "yesterday"}]}, "bucketStartTime"),
        ({"usageBuckets": [{"bucketStartTime": "2026-11-23"}]}, "bucketStartTime"),
        ({"usageBuckets": [{"bucketStartTime": "2026-13-01T00:00:00Z"}]}, "not a time"),
        ({"usageBuckets": [{"bucketStartTime": "２０２６-11-23T00:00:00Z"}]}, "bucketStartTime"),
        (
            {"usageBuckets": [{"bucketStartTime": "2026-11-23T00:00:00Z", "lineItems": [{}]}]},
            "no totalCost",
        ),
        (
            {"usageBuckets": [{"bucketStartTime": "2026-11-23T00:00:00Z", "lineItems": ["x"]}]},
            "no totalCost",
        ),
        (
            {"usageBuckets": [{"bucketStartTime": "2026-11-23T00:00:00Z", "lineItems": "x"}]},
            "not a list",
        ),
        (
            {
                "usageBuckets": [
                    {
                        "bucketStartTime": "2026-11-23T00:00:00Z",
                        "lineItems": [{"totalCost": {"currencyCode": "USD", "units": "NaN"}}],
                    }
                ]
            },
            "integer",
        ),
        (
            {"usageBuckets": [{"bucketStartTime": "2026-11-23T00:00:00Z"}] * (MAX_ITEMS + 1)},
            "not a list of daily buckets",
        ),
        (
            {
                "usageBuckets": [
                    {
                        "bucketStartTime": "2026-11-23T00:00:00Z",
                        "lineItems": [{"totalCost": {"currencyCode": "USD"}}] * (MAX_ITEMS + 1),
                    }
                ]
            },
            "more than",
        ),
    ],
)
def test_wrong_shapes_are_errors(payload: Any, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_summary(payload)


# --- through the HTTP edge --------------------------------------------------------------------


@respx.mock
def test_one_daily_request_from_the_first_day_needed_to_tomorrow_exclusive() -> None:
    route = respx.get(URL).respond(text=SUMMARY_TEXT)
    report = fetch("fireworks", KEY, options=ACCOUNT, now=NOW)
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert dict(request.url.params) == {
        "granularity": "DAILY",
        "startTime": "2026-10-25T00:00:00Z",  # the last 30 days, today included, start here
        "endTime": "2026-11-24T00:00:00Z",  # exclusive: today is in
    }
    assert spend(report) == {
        ("today", "USD"): Decimal("1.250000005"),  # two line items today, to the nano
        ("this_month", "USD"): Decimal("2.150000005"),  # + 0.90 yesterday
        ("last_30_days", "USD"): Decimal("3.150000005"),  # + 1 on Oct 31, not this month
    }
    assert all(s.derived == ["amount"] for s in report.spend)
    assert {s.source for s in report.spend} == {"/v1/accounts/{account_id}/billing/summary"}
    assert report.balances == []  # spend is not a balance


@respx.mock
def test_on_the_31st_the_month_starts_before_the_last_30_days() -> None:
    route = respx.get(URL).respond(json={"usageBuckets": []})
    report = fetch("fireworks", KEY, options=ACCOUNT, now=datetime(2026, 12, 31, 8, tzinfo=UTC))
    params = route.calls.last.request.url.params
    assert (params["startTime"], params["endTime"]) == (
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    )
    assert spend(report) == {
        ("today", "USD"): Decimal(0),
        ("this_month", "USD"): Decimal(0),
        ("last_30_days", "USD"): Decimal(0),
    }


@respx.mock
def test_each_currency_gets_its_own_windows() -> None:
    def day(when: str, currency: str, units: str) -> dict[str, Any]:
        money = {"currencyCode": currency, "units": units}
        return {"bucketStartTime": when, "lineItems": [{"totalCost": money}]}

    body = {
        "usageBuckets": [
            day("2026-11-02T00:00:00Z", "EUR", "4"),
            day("2026-11-23T00:00:00Z", "USD", "2"),
        ]
    }
    respx.get(URL).respond(json=body)
    assert spend(fetch("fireworks", KEY, options=ACCOUNT, now=NOW)) == {
        ("today", "EUR"): Decimal(0),
        ("today", "USD"): Decimal(2),
        ("this_month", "EUR"): Decimal(4),
        ("last_30_days", "EUR"): Decimal(4),
        ("this_month", "USD"): Decimal(2),
        ("last_30_days", "USD"): Decimal(2),
    }


@respx.mock(assert_all_called=False)
def test_without_account_id_nothing_is_sent(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(url__regex=r".*").respond(json={})
    with pytest.raises(
        ConfigError, match=r"needs the account_id option.*-o account_id=.*nothing was sent"
    ):
        fetch("fireworks", KEY, options={})
    assert route.call_count == 0


@respx.mock
def test_account_id_from_the_entry_or_the_option() -> None:
    from_entry = respx.get(f"{BASE}/v1/accounts/from-entry/billing/summary").respond(json={})
    from_option = respx.get(f"{BASE}/v1/accounts/from-option/billing/summary").respond(json={})
    fetch("fireworks", KEY, hints={"account_id": "from-entry"})
    fetch("fireworks", KEY, options={"account_id": "from-option"})
    assert from_entry.call_count == 1 and from_option.call_count == 1
    # the entry's own line wins over config.toml, as for every option
    fetch(
        "fireworks", KEY, options={"account_id": "from-option"}, hints={"account_id": "from-entry"}
    )
    assert from_entry.call_count == 2


@pytest.mark.parametrize("value", ["../../x", "accounts/my-account", "a b", "", "a" * 129, "-x"])
def test_account_id_must_be_a_plain_id(value: str) -> None:
    with pytest.raises(UsageError, match="account_id"):
        get_provider("fireworks").check_options({"account_id": value})


# Fireworks' Gateway errors: a google.rpc.Status-like {code, message} (the account's own status
# object mimics it), or an {"error": {...}} envelope; neither is documented on the page.
@pytest.mark.parametrize(
    ("status", "body", "error", "said"),
    [
        (401, {"code": 16, "message": "unauthenticated"}, AuthError, "rejected.*unauthenticated"),
        (403, {"code": 7, "message": "permission denied"}, AuthError, "permission denied"),
        (
            404,
            {"code": 5, "message": "account not found"},
            ProviderError,
            "account not found; no such account for this key: check account_id",
        ),
        (429, {"error": {"message": "rate limited"}}, ProviderError, "HTTP 429.*rate limited"),
        (500, {"code": 13, "message": "internal"}, ProviderError, "HTTP 500"),
    ],
)
@respx.mock
def test_documented_error_shapes_are_quoted(
    status: int, body: Any, error: type[Exception], said: str
) -> None:
    respx.get(URL).respond(status, json=body)
    with pytest.raises(error, match=said) as caught:
        fetch("fireworks", KEY, options=ACCOUNT)
    assert str(caught.value).startswith("fireworks billing summary:")


@respx.mock
def test_a_key_echoed_in_an_error_is_never_shown() -> None:
    respx.get(URL).respond(401, json={"code": 16, "message": f"invalid API key {KEY}"})
    with pytest.raises(AuthError) as caught:
        fetch("fireworks", KEY, options=ACCOUNT)
    assert KEY not in str(caught.value) and "[REDACTED]" in str(caught.value)


@respx.mock
def test_a_huge_answer_is_refused_not_read() -> None:
    bucket = {"bucketStartTime": "2026-11-23T00:00:00Z", "lineItems": []}
    respx.get(URL).respond(
        content=json.dumps({"usageBuckets": [bucket] * 30_000}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(ProviderError):
        fetch("fireworks", KEY, options=ACCOUNT)


@respx.mock
def test_a_compressed_answer_reads_like_a_plain_one() -> None:
    import gzip

    respx.get(URL).mock(
        return_value=httpx.Response(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            content=gzip.compress(SUMMARY_TEXT.encode()),
        )
    )
    assert spend(fetch("fireworks", KEY, options=ACCOUNT, now=NOW))[("today", "USD")] == Decimal(
        "1.250000005"
    )
