"""Fireworks AI Gateway REST API: ``GET /v1/accounts/{account_id}/billing/summary`` (spend).

Official reference: https://docs.fireworks.ai/api-reference/get-billing-summary (operation
``Gateway_GetBillingSummary``, server ``https://api.fireworks.ai``, ``Authorization: Bearer
<API_KEY>``; "any key on the target account works", docs.fireworks.ai/accounts/
exporting-usage-and-costs). Query, as documented:

- ``startTime`` and ``endTime`` (required, RFC 3339 date-time). Costs are aggregated daily and
  only the date part (UTC) is used; ``endTime`` is **exclusive** (costs for Oct 5 and Oct 6:
  ``2025-10-05T00:00:00Z`` to ``2025-10-07T00:00:00Z``).
- ``granularity``: ``GRANULARITY_UNSPECIFIED`` (default, no breakdown) or ``DAILY``.

Answer: ``lineItems`` (individual billing line items, object[]) and ``usageBuckets``
("populated only when the request sets a non-UNSPECIFIED granularity. One bucket per period
at that granularity"). The page names no fields inside them; the ones keyz reads come from a
well-kept client (CodexBar's Fireworks fetcher), as xai's do::

    {"lineItems": [{"category": "...", "totalCost": {"currencyCode": "USD",
                                                     "units": "3", "nanos": 150000000}}],
     "usageBuckets": [{"bucketStartTime": "2026-11-23T00:00:00Z",
                       "lineItems": [{"totalCost": {"currencyCode": "USD", "units": "1",
                                                    "nanos": 250000000}}]}]}

``totalCost`` is a google.type.Money: ``units`` (int64: proto3 JSON sends it as a string;
a number is accepted too) plus ``nanos`` (int32, 10^-9 units, in [-999999999, 999999999],
the same sign as ``units``); proto3 JSON leaves out a field that is 0, so a missing
``units`` or ``nanos`` is 0 by that encoding (a missing ``totalCost`` or ``currencyCode``
is an error). keyz asks once with ``granularity=DAILY`` from the earliest day any window
needs to tomorrow 00:00 UTC (exclusive: today is in) and sums the daily buckets into
``today``, ``this_month`` and ``last_30_days`` (marked derived).

The account id is the ``account_id`` option (``-o account_id=…`` or an ``account_id:`` line
in the entry; ``firectl whoami`` shows it). Without one nothing is sent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.fields import format_time
from keyz.money import parse_amount
from keyz.periods import day_start
from keyz.providers._buckets import Cost, query_start, windows
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    Option,
    Provider,
    Report,
)
from keyz.sidecar import Spend

SUMMARY = Endpoint(
    "billing summary",
    "/v1/accounts/{account_id}/billing/summary",
    KeyKind.REGULAR,
    Capability.SPEND,
    query=(("granularity", "DAILY"),),
)
INT64: Final = range(-(2**63), 2**63)
NANOS: Final = range(-999_999_999, 1_000_000_000)
MAX_ITEMS: Final = 10_000  # line items in one answer: far more than 31 days of any account
_INTEGER: Final = re.compile(r"-?[0-9]{1,19}")  # int64 as proto3 JSON writes it: ASCII only
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")  # ISO 4217; upper-cased
_RFC3339: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
EXAMPLE_ACCOUNT: Final = "my-account"


def _integer(value: Any, *, field: str, allowed: range) -> int:
    """A proto3 JSON integer: a JSON number or a string of ASCII digits, within ``allowed``."""
    if isinstance(value, bool):
        raise ParseError(f"field {field!r} is {value!r}, expected an integer")
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        raise ParseError(f"field {field!r} is not an integer")
    if number not in allowed:
        raise ParseError(f"field {field!r} is out of range")
    return number


def _default(value: Any) -> Any:
    return 0 if value is None else value


def parse_money(value: Any, *, field: str = "totalCost") -> tuple[str, Decimal]:
    """A google.type.Money → (currency, exact amount in the major unit).

    units + nanos / 10^9, exactly; ``nanos`` must have the sign of ``units`` (either sign when
    ``units`` is 0). Amounts past money.py's bounds are errors, never rounded to fit.
    """
    if not isinstance(value, dict):
        raise ParseError(f"{field} is not a Money object")
    currency = value.get("currencyCode")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ParseError(f"{field}.currencyCode is not a three-letter currency code")
    # proto3 JSON: a field left out, or null, is its default value, 0
    units = _integer(_default(value.get("units")), field=f"{field}.units", allowed=INT64)
    nanos = _integer(_default(value.get("nanos")), field=f"{field}.nanos", allowed=NANOS)
    if (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
        raise ParseError(f"{field}: units and nanos have opposite signs")
    exact = Decimal(units) + Decimal(nanos).scaleb(-9)
    amount = parse_amount(exact, field=f"{field} ({currency})")  # bounded: 15 digits at most
    return currency.upper(), amount.normalize() if amount else Decimal(0)


def _when(value: Any) -> datetime:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ParseError("a usage bucket has no RFC 3339 bucketStartTime")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise ParseError(f"bucketStartTime {value[:40]!r} is not a time") from None


def _line_items(items: Any, *, where: str) -> list[tuple[str, Decimal]]:
    if items is None:
        return []  # proto3 JSON leaves out an empty list
    if not isinstance(items, list):
        raise ParseError(f"{where} is not a list")
    if len(items) > MAX_ITEMS:
        raise ParseError(f"{where} has more than {MAX_ITEMS} items")
    costs = []
    for item in items:
        if not isinstance(item, dict) or "totalCost" not in item:
            raise ParseError(f"a line item in {where} has no totalCost")
        costs.append(parse_money(item["totalCost"], field="totalCost"))
    return costs


def parse_summary(payload: Any) -> list[Cost]:
    """The daily costs of a ``granularity=DAILY`` billing summary, one per bucket line item."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a billing summary object")
    buckets = payload.get("usageBuckets")
    if buckets is None:
        # no buckets: fine only when nothing was spent, else keyz cannot place the costs in days
        if any(amount for _, amount in _line_items(payload.get("lineItems"), where="lineItems")):
            raise ParseError("the answer has costs but no daily usageBuckets")
        return []
    if not isinstance(buckets, list) or len(buckets) > MAX_ITEMS:
        raise ParseError("usageBuckets is not a list of daily buckets")
    costs: list[Cost] = []
    for bucket in buckets:
        if not isinstance(bucket, dict):
            raise ParseError("a usage bucket is not an object")
        day = _when(bucket.get("bucketStartTime"))
        for currency, amount in _line_items(bucket.get("lineItems"), where="a bucket's lineItems"):
            costs.append(Cost(day, currency, amount))
        if len(costs) > MAX_ITEMS:
            raise ParseError(f"more than {MAX_ITEMS} line items")
    return costs


def today_window(costs: Sequence[Cost], now: datetime, source: str) -> list[Spend]:
    """``today`` per currency of the windows, from today's bucket (UTC)."""
    start = day_start(now)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for cost in costs:
        sums[cost.currency] += cost.amount if start <= cost.day <= now else Decimal(0)
    return [
        Spend(
            period="today",
            start=start,
            currency=currency,
            amount=sums[currency],
            derived=["amount"],
            source=source,
        )
        for currency in sorted(sums or {"USD": Decimal(0)})
    ]


class Fireworks(Provider):
    id = "fireworks"
    title = "Fireworks AI"
    short_name = "fw"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.fireworks.ai"
    endpoints = (SUMMARY,)
    options: ClassVar = {
        "account_id": Option(
            "the account id (required): firectl whoami, or the account switcher on "
            "app.fireworks.ai",
            pattern=r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}",
            required=True,
        )
    }
    example_options: ClassVar = {"account_id": EXAMPLE_ACCOUNT}
    key_help: ClassVar[str] = (
        "an API key (fw_…) of the account: app.fireworks.ai, or firectl api-key create"
    )
    path_words = ("fireworks",)
    key_prefixes = (KeyPrefix("fw_", KeyKind.REGULAR, True, "a Fireworks AI API key"),)
    key_shapes = (r"fw_[A-Za-z0-9]{20,}",)
    demo_key = "fw_" + "Demo0Fireworks" * 2

    async def fetch(self, ctx: FetchContext) -> Report:
        account = ctx.options["account_id"]  # required: report() checked it
        tomorrow = day_start(ctx.now) + timedelta(days=1)  # endTime is exclusive: today is in
        query = {"startTime": format_time(query_start(ctx.now)), "endTime": format_time(tomorrow)}
        try:
            payload = await ctx.get_json(
                SUMMARY, headers=ctx.bearer(), query=query, path={"account_id": account}
            )
        except ProviderError as exc:
            if exc.status == 404:
                raise ProviderError(
                    f"{exc}; no such account for this key: check account_id", status=404
                ) from None
            raise
        costs = parse_summary(payload)
        spend = [
            *today_window(costs, ctx.now, SUMMARY.path),
            *windows(costs, ctx.now, SUMMARY.path),
        ]
        return Report(available=None, spend=spend)

    def examples(
        self,
        now: datetime,
        *,
        account_id: str = EXAMPLE_ACCOUNT,
        daily: Sequence[tuple[str, int]] = (("1", 250_000_000), ("0", 400_000_000), ("3", 0)),
    ) -> dict[str, Example]:
        """A DAILY summary: ``daily[i]`` = (units, nanos) in USD spent i days ago, as
        google.type.Money in proto3 JSON (units a string, zero fields left out)."""
        today = day_start(now)

        def money(units: str, nanos: int) -> dict[str, Any]:
            cost: dict[str, Any] = {"currencyCode": "USD"}
            if units != "0":
                cost["units"] = units
            if nanos:
                cost["nanos"] = nanos
            return cost

        def item(units: str, nanos: int) -> dict[str, Any]:
            return {"category": "Serverless inference", "totalCost": money(units, nanos)}

        buckets = [
            {
                "bucketStartTime": format_time(today - timedelta(days=i)),
                "lineItems": [item(units, nanos)],
            }
            for i, (units, nanos) in reversed(list(enumerate(daily)))
        ]
        total = sum((Decimal(u) + Decimal(n).scaleb(-9) for u, n in daily), Decimal(0))
        whole = int(total)
        body = {
            "lineItems": [item(str(whole), int((total - whole).scaleb(9)))],
            "usageBuckets": buckets,
        }
        return {SUMMARY.path.format(account_id=account_id): Example(body)}


PROVIDER = Fireworks()
