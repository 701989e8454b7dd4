"""GitHub billing usage: Copilot premium requests (a quota) and this month's billed spend.

Official references (GitHub REST API, "Billing usage"; API versions 2022-11-28 and
2026-03-10 document the same answers for these endpoints):

- https://docs.github.com/rest/billing/usage (formerly /rest/billing/enhanced-billing)
- https://docs.github.com/billing/tutorials/automate-usage-reporting

One account per entry, the ``user`` or the ``org`` option (exactly one)::

    GET /users/{username}/settings/billing/premium_request/usage?year=Y&month=M
    GET /users/{username}/settings/billing/usage?year=Y&month=M
    GET /organizations/{org}/settings/billing/premium_request/usage?year=Y&month=M
    GET /organizations/{org}/settings/billing/usage?year=Y&month=M

Headers ``Authorization: Bearer <token>``, ``Accept: application/vnd.github+json`` and
``X-GitHub-Api-Version``. The reference lets fine-grained personal access tokens call the
user endpoints with the "Plan" user permission (read), and the organization endpoints
with the "Administration" organization permission (read); the tutorial says to use a
classic personal access token. The user endpoints cover only Copilot plans the user
pays for personally.

Documented answers (the user's; an organization's names ``"organization": "GitHub"``
instead of ``user``, and its usage items add ``"organizationName": "GitHub"``)::

    premium_request/usage:
    {"timePeriod": {"year": 2025}, "user": "monalisa",
     "usageItems": [{"product": "Copilot", "sku": "Copilot Premium Request",
                     "model": "GPT-5", "unitType": "requests", "pricePerUnit": 0.04,
                     "grossQuantity": 100, "grossAmount": 4, "discountQuantity": 0,
                     "discountAmount": 0, "netQuantity": 100, "netAmount": 4}]}

    usage:
    {"usageItems": [{"date": "2023-08-01", "product": "Actions", "sku": "Actions Linux",
                     "quantity": 100, "unitType": "minutes", "pricePerUnit": 0.008,
                     "grossAmount": 0.8, "discountAmount": 0, "netAmount": 0.8,
                     "repositoryName": "user/example"}]}

keyz reports:

- a ``premium requests`` quota for this month: ``used`` = the sum of ``grossQuantity``
  over the items counted in ``requests`` (derived). The plan's included allowance is not
  in the answer, so ``limit``, ``remaining`` and the percentage stay unknown, never
  guessed. GitHub resets premium request counters on the 1st of each month at 00:00 UTC
  (Copilot billing docs): that is ``resets_at``.
- ``this_month`` spend: the sum of ``netAmount`` (what is billed, after included usage
  and discounts) over this month's items, in USD (GitHub bills in US dollars; the answer
  names no currency), broken down by ``product``. Premium requests billed beyond the
  allowance are in this report too, so they are not added twice.

No personal data (user, organization, repository names) is copied.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError
from keyz.money import parse_amount
from keyz.periods import month_start
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    KeyPrefix,
    KeyRejected,
    Option,
    Provider,
    Report,
)
from keyz.redact import clean
from keyz.sidecar import Quota, Spend, SpendLine

API_VERSION: Final = "2026-03-10"  # the current documented version (2022-11-28 answers alike)
ACCEPT: Final = "application/vnd.github+json"
USER_PREMIUM = Endpoint(
    "premium requests",
    "/users/{user}/settings/billing/premium_request/usage",
    KeyKind.MANAGEMENT,
    Capability.QUOTA,
)
USER_USAGE = Endpoint(
    "usage", "/users/{user}/settings/billing/usage", KeyKind.MANAGEMENT, Capability.SPEND
)
ORG_PREMIUM = Endpoint(
    "org premium requests",
    "/organizations/{org}/settings/billing/premium_request/usage",
    KeyKind.MANAGEMENT,
    Capability.QUOTA,
)
ORG_USAGE = Endpoint(
    "org usage", "/organizations/{org}/settings/billing/usage", KeyKind.MANAGEMENT, Capability.SPEND
)
REQUESTS: Final = "requests"  # the documented unitType of premium request items
MAX_BREAKDOWN: Final = 10  # the sidecar keeps at most 10 spend lines
_LOGIN: Final = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}"  # GitHub logins and organization names
_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")

USER_NEEDS: Final = (
    'a fine-grained personal access token with the "Plan" user permission (read), made by '
    "the account holder at github.com/settings/personal-access-tokens, or their classic "
    "personal access token (ghp_…)"
)
ORG_NEEDS: Final = (
    "a token of an organization owner or billing manager: a fine-grained personal access "
    'token with the "Administration" organization permission (read) '
    "(github.com/settings/personal-access-tokens), or a classic personal access token (ghp_…)"
)


def missing_account(options: Mapping[str, str]) -> str | None:
    """What is wrong with the account options (exactly one of user and org), or None."""
    user, org = options.get("user"), options.get("org")
    if user and org:
        return (
            "github reports on one account per entry: set user or org, not both (an entry "
            "line and config.toml may each name one)"
        )
    if not user and not org:
        return (
            "github needs the account to report on: a 'user: <login>' (a personal account) or "
            "'org: <name>' (an organization) line in the pass entry, or keyz track ENTRY -p "
            "github -o user=<login> (or -o org=<name>)"
        )
    return None


def account_of(options: Mapping[str, str]) -> tuple[str, str]:
    """('user', login) or ('org', name): exactly one of the two options, else ConfigError."""
    missing = missing_account(options)
    if missing:
        raise ConfigError(f"{missing}; nothing was sent")
    user = options.get("user")
    return ("user", user) if user else ("org", options["org"])


def _items(payload: Any) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("usageItems"), list):
        raise ParseError("the answer has no usageItems list")
    items: list[Any] = payload["usageItems"]
    return items


def _non_negative(value: Any, *, field: str) -> Decimal:
    amount = parse_amount(value, field=field)
    if amount < 0:
        raise ParseError(f"field {field!r} is negative, which a usage report cannot be")
    return amount


def _check_period(payload: dict[str, Any], year: int, month: int) -> None:
    """An answer naming another year or month than asked is not this month's."""
    period = payload.get("timePeriod")
    if not isinstance(period, dict):
        return  # documented as always there, but it says nothing keyz needs
    for name, asked in (("year", year), ("month", month)):
        said = period.get(name)
        if said is not None and (isinstance(said, bool) or said != asked):
            raise ParseError(
                f"the answer is for another period (timePeriod.{name} is not {asked}); "
                "is the base_url right?"
            )


def next_month_start(now: datetime) -> datetime:
    start = month_start(now)
    return (start + timedelta(days=32)).replace(day=1)


def parse_premium_requests(payload: Any, *, now: datetime, source: str) -> Report:
    """This month's premium requests used: the sum of ``grossQuantity`` of ``requests`` items."""
    items = _items(payload)
    _check_period(payload, now.year, now.month)
    used = Decimal(0)
    other_units: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise ParseError("a usage item is not an object")
        unit = item.get("unitType")
        if not isinstance(unit, str):
            raise ParseError("a usage item has no unitType")
        if unit.strip().lower() != REQUESTS:
            other_units.add(unit)
            continue
        used += _non_negative(item.get("grossQuantity"), field="grossQuantity")
    notes: list[str] = []
    if other_units:
        notes.append(
            f"premium request items counted in another unit than {REQUESTS} were left out "
            f"({len(other_units)} unit{'s' if len(other_units) > 1 else ''})"
        )
    quota = Quota(
        label="premium requests",
        window="1mo",
        remaining_percent=None,  # the allowance depends on the plan and is not in the answer
        used=used,
        unit=REQUESTS,
        resets_at=next_month_start(now),
        derived=["used"],
        source=source,
    )
    return Report(available=None, quotas=[quota], notes=notes)


def _day(value: Any) -> date:
    match = _DATE.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ParseError("a usage item has no readable date (YYYY-MM-DD)") from None


def _breakdown(by_product: Mapping[str, Decimal]) -> list[SpendLine]:
    ranked = sorted(by_product.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > MAX_BREAKDOWN:
        rest = sum((amount for _, amount in ranked[MAX_BREAKDOWN - 1 :]), Decimal(0))
        ranked = [*ranked[: MAX_BREAKDOWN - 1], ("other products", rest)]
    return [SpendLine(label=label, amount=amount) for label, amount in ranked]


def parse_usage(payload: Any, *, now: datetime, source: str) -> Report:
    """This month's net spend in USD, by product; items dated in another month are left out."""
    total = Decimal(0)
    by_product: dict[str, Decimal] = defaultdict(Decimal)
    outside = 0
    for item in _items(payload):
        if not isinstance(item, dict):
            raise ParseError("a usage item is not an object")
        day = _day(item.get("date"))
        amount = _non_negative(item.get("netAmount"), field="netAmount")
        if (day.year, day.month) != (now.year, now.month):
            outside += 1
            continue
        product = item.get("product")
        label = clean(product, 60) if isinstance(product, str) else ""
        total += amount
        by_product[label or "(no product)"] += amount
    notes: list[str] = []
    if outside:
        notes.append(f"{outside} usage item(s) dated outside {now:%Y-%m} were left out")
    spend = Spend(
        period="this_month",
        start=month_start(now),
        currency="USD",
        amount=total,
        breakdown=_breakdown(by_product),
        derived=["amount"],
        source=source,
    )
    return Report(available=None, spend=[spend], notes=notes)


class GitHub(Provider):
    id = "github"
    title = "GitHub"
    short_name = "gh"
    key_kind = KeyKind.MANAGEMENT
    default_base_url = "https://api.github.com"
    endpoints = (USER_PREMIUM, USER_USAGE, ORG_PREMIUM, ORG_USAGE)
    options: ClassVar = {
        "user": Option(
            "the GitHub login whose own Copilot plan and billed usage to report (the "
            "token's account); not with org",
            pattern=_LOGIN,
        ),
        "org": Option(
            "the organization whose premium requests and billed usage to report (the token "
            "of an owner or billing manager); not with user",
            pattern=_LOGIN,
        ),
    }
    key_help: ClassVar[str] = (
        'a fine-grained personal access token with the "Plan" user permission (read) for '
        'user, or the "Administration" organization permission (read) for org '
        "(github.com/settings/personal-access-tokens); a classic personal access token "
        "works too"
    )
    path_words = ("github", "copilot")
    key_prefixes = (
        KeyPrefix("github_pat_", KeyKind.MANAGEMENT, True, "a GitHub fine-grained token"),
        KeyPrefix("ghp_", KeyKind.MANAGEMENT, True, "a GitHub classic personal access token"),
    )
    key_shapes = (r"github_pat_[A-Za-z0-9_]{36,}", r"gh[pousr]_[A-Za-z0-9_]{36,}")
    demo_key = "github_pat_" + "11KEYZDEMO0" * 8
    round_trips = 2  # premium requests, then this month's usage
    example_options: ClassVar[Mapping[str, str]] = {"user": "monalisa"}

    def missing_options(self, options: Mapping[str, str]) -> str | None:
        return missing_account(options)

    async def fetch(self, ctx: FetchContext) -> Report:
        kind, name = account_of(ctx.options)  # before anything is sent
        premium, usage = (USER_PREMIUM, USER_USAGE) if kind == "user" else (ORG_PREMIUM, ORG_USAGE)
        headers = {**ctx.bearer(), "Accept": ACCEPT, "X-GitHub-Api-Version": API_VERSION}
        query = {"year": str(ctx.now.year), "month": str(ctx.now.month)}
        path = {kind: name}
        answers = []
        for endpoint in (premium, usage):
            try:
                answers.append(
                    await ctx.get_json(endpoint, headers=headers, query=query, path=path)
                )
            except ProviderError as exc:
                raise self._explained(exc, kind) from None
        quota = parse_premium_requests(answers[0], now=ctx.now, source=premium.path)
        spend = parse_usage(answers[1], now=ctx.now, source=usage.path)
        return Report(
            available=None,
            spend=spend.spend,
            quotas=quota.quotas,
            notes=[*quota.notes, *spend.notes],
        )

    @staticmethod
    def _explained(exc: ProviderError, kind: str) -> ProviderError:
        """GitHub's own message (already quoted by the HTTP edge), and what to do about it."""
        needed = USER_NEEDS if kind == "user" else ORG_NEEDS
        if exc.status == 401:
            # a wrong token whatever its kind: naming another kind of key would mislead
            return KeyRejected(
                f"{exc}; the token may be expired or revoked: GitHub needs {needed}", status=401
            )
        if isinstance(exc, AuthError):
            return KeyRejected(f"{exc}; GitHub needs {needed}", status=exc.status)
        if exc.status == 404 and kind == "user":
            return ProviderError(
                f"{exc}; check that the user option names the token's own account, and that "
                "it pays for its own Copilot plan on GitHub's enhanced billing platform (a "
                "Copilot licence paid by an organization is reported there: use org=<name> "
                "with an owner's or billing manager's token)",
                status=404,
            )
        if exc.status == 404:
            return ProviderError(
                f"{exc}; check the org option's name, that the token's account is an owner "
                "or billing manager of it, and that the organization is on GitHub's enhanced "
                "billing platform",
                status=404,
            )
        return exc

    def examples(
        self,
        now: datetime,
        *,
        user: str = "monalisa",
        org: str = "GitHub",
        requests: int = 100,
        net_dollars: str = "0.8",
    ) -> dict[str, Example]:
        """The documented answers for ``user`` and ``org`` at ``now``: ``requests`` premium
        requests at $0.04, none included; one usage item of ``net_dollars``, dated today."""
        price = Decimal("0.04")
        premium_item = {
            "product": "Copilot",
            "sku": "Copilot Premium Request",
            "model": "GPT-5",
            "unitType": REQUESTS,
            "pricePerUnit": price,
            "grossQuantity": requests,
            "grossAmount": price * requests,
            "discountQuantity": 0,
            "discountAmount": 0,
            "netQuantity": requests,
            "netAmount": price * requests,
        }
        usage_item = {
            "date": f"{now:%Y-%m-%d}",
            "product": "Actions",
            "sku": "Actions Linux",
            "quantity": 100,
            "unitType": "minutes",
            "pricePerUnit": Decimal("0.008"),
            "grossAmount": Decimal(net_dollars),
            "discountAmount": 0,
            "netAmount": Decimal(net_dollars),
        }
        period = {"year": now.year}
        return {
            USER_PREMIUM.path.format(user=user): Example(
                {"timePeriod": period, "user": user, "usageItems": [premium_item]}
            ),
            USER_USAGE.path.format(user=user): Example(
                {"usageItems": [{**usage_item, "repositoryName": "user/example"}]}
            ),
            ORG_PREMIUM.path.format(org=org): Example(
                {"timePeriod": period, "organization": org, "usageItems": [premium_item]}
            ),
            ORG_USAGE.path.format(org=org): Example(
                {
                    "usageItems": [
                        {
                            **usage_item,
                            "organizationName": org,
                            "repositoryName": "github/example",
                        }
                    ]
                }
            ),
        }


PROVIDER = GitHub()
