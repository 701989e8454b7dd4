"""StepFun: ``GET /v1/accounts`` with the ordinary API key (Bearer).

Reference: platform.stepfun.com/docs/zh/api-reference/accounts/get (English:
platform.stepfun.ai/docs/en/api-reference/accounts/get). Documented example::

    {"object": "account", "type": "prepaid", "balance": 0.00,
     "total_cash_balance": 0.00, "total_voucher_balance": 26.00}

The reference's fields: ``type`` is ``prepaid`` (预付费) or ``postpaid`` (后付费);
``balance`` is 当前账户可用余额, the available balance; ``total_cash_balance`` is
当前账户总充值金额, "total deposited amount"; ``total_voucher_balance`` is 当前账户总赠送金额,
"total promotional/bonus amount". The two totals are amounts over the account's life
(金额, not 余额; the example's 26 granted beside a balance of 0 shows it), not what is left
of each, so they are not ``topped_up`` / ``granted`` (which are what is left):
``total_cash_balance`` → ``purchased`` (everything ever paid in), and the voucher total
has no field of the sidecar's and is not copied. The answer names no currency; the
api.stepfun.com account is billed in CNY (yuan). The international site
(api.stepfun.ai) documents no currency, so keyz does not send a key there.

A postpaid account is billed after use: its balance is reported as StepFun gives it, with
a note that it is not what limits requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from keyz.errors import ConfigError, ParseError, ProviderError
from keyz.money import optional_amount, parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Provider,
    Report,
)
from keyz.sidecar import Balance

ACCOUNTS = Endpoint("accounts", "/v1/accounts", KeyKind.REGULAR, Capability.BALANCE)
POSTPAID_NOTE: Final = (
    "postpaid account: StepFun bills usage afterwards, so this balance is not what limits requests"
)
INTERNATIONAL_HOST: Final = "api.stepfun.ai"


def parse_account(payload: Any) -> Report:
    """Normalize a /v1/accounts answer (CNY)."""
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    if "error" in payload and "balance" not in payload:  # an error sent with HTTP 200
        from keyz.providers.http import payload_detail  # imported late: see providers/hosts.py

        raise ProviderError(f"StepFun answered an error ({payload_detail(payload) or 'no reason'})")
    kind = payload.get("object")
    if kind is not None and kind != "account":
        raise ParseError("the answer is not an account object")
    balance = Balance(
        currency="CNY",
        remaining=parse_amount(payload.get("balance"), field="balance"),
        purchased=optional_amount(payload.get("total_cash_balance"), field="total_cash_balance"),
        source=ACCOUNTS.path,
    )
    notes = [POSTPAID_NOTE] if payload.get("type") == "postpaid" else []
    return Report(available=None, balances=[balance], notes=notes)


class StepFun(Provider):
    id = "stepfun"
    title = "StepFun"
    short_name = "st"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.stepfun.com"
    endpoints = (ACCOUNTS,)
    key_help: ClassVar[str] = (
        "any API key from platform.stepfun.com → 账号管理 → 接口密钥 (interface keys)"
    )
    path_words = ("stepfun",)  # its keys have no documented prefix
    demo_key = "demo0000stepfun000000000000000000000000"

    def check_base_url(self, base_url: str, options: Mapping[str, str]) -> None:
        """Refuse the international host, whose balance currency is not documented."""
        if urlsplit(base_url).hostname == INTERNATIONAL_HOST:
            raise ConfigError(
                f"stepfun: {INTERNATIONAL_HOST} documents no currency for its balance, and keyz "
                "will not guess one; nothing was sent (keyz reads api.stepfun.com, in CNY)"
            )

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(ACCOUNTS, headers=ctx.bearer())
        return parse_account(payload)

    def examples(
        self,
        now: datetime,
        *,
        account_type: str = "prepaid",
        balance: str = "0.00",
        total_cash: str = "0.00",
        total_voucher: str = "26.00",
    ) -> dict[str, Example]:
        """The reference's example account; figures are yuan, sent as JSON numbers."""
        body = {
            "object": "account",
            "type": account_type,
            "balance": Decimal(balance),
            "total_cash_balance": Decimal(total_cash),
            "total_voucher_balance": Decimal(total_voucher),
        }
        return {ACCOUNTS.path: Example(body)}


PROVIDER = StepFun()
