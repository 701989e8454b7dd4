"""SiliconFlow: ``GET /v1/user/info``.

Documented example (docs.siliconflow.cn, get-user-info)::

    {"code": 20000, "message": "OK", "status": true,
     "data": {"id": "userid", "name": "username", "image": "...", "email": "...",
              "isAdmin": false, "balance": "0.88", "status": "normal", "introduction": "",
              "role": "", "chargeBalance": "88.00", "totalBalance": "88.88"}}

``totalBalance`` → remaining, ``balance`` (gift credit) → granted, ``chargeBalance``
→ topped_up; strings in major units. The answer does not name a currency: it
follows the site (``region`` cn: api.siliconflow.cn, CNY; com: api.siliconflow.com,
USD). Personal data in the answer (id, name, email, image) is never copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

from keyz.errors import ParseError, ProviderError
from keyz.money import optional_amount, parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Option,
    Provider,
    Region,
    Report,
)
from keyz.redact import clean
from keyz.sidecar import Balance

USER_INFO = Endpoint("user info", "/v1/user/info", KeyKind.REGULAR, Capability.BALANCE)
REGIONS = {
    r.name: r
    for r in (
        Region("cn", "https://api.siliconflow.cn", "CNY"),
        Region("com", "https://api.siliconflow.com", "USD"),
    )
}
CURRENCY_NOTE: Final = "currency follows the site (the answer does not name it)"


def parse_user_info(payload: Any, currency: str) -> Report:
    if not isinstance(payload, dict):
        raise ParseError("the answer is not a JSON object")
    if payload.get("status") is not True:
        message = payload.get("message")
        said = f": {clean(message, 100)}" if isinstance(message, str) else ""
        raise ProviderError(f"the provider reported an error (code {payload.get('code')!r}){said}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ParseError("the answer has no data object")
    balance = Balance(
        currency=currency,
        remaining=parse_amount(data.get("totalBalance"), field="totalBalance"),
        granted=optional_amount(data.get("balance"), field="balance"),
        topped_up=optional_amount(data.get("chargeBalance"), field="chargeBalance"),
        source=USER_INFO.path,
    )
    return Report(available=None, balances=[balance], notes=[CURRENCY_NOTE])


class SiliconFlow(Provider):
    id = "siliconflow"
    title = "SiliconFlow"
    short_name = "sf"
    key_kind = KeyKind.REGULAR
    default_base_url = REGIONS["cn"].base_url
    endpoints = (USER_INFO,)
    regions = REGIONS
    options: ClassVar = {
        "region": Option(
            "cn (api.siliconflow.cn, CNY; default) or com (api.siliconflow.com, USD)",
            ("cn", "com"),
        )
    }
    key_help: ClassVar[str] = (
        "an API key from cloud.siliconflow.cn/account/ak, or cloud.siliconflow.com with region=com"
    )
    path_words = ("siliconflow",)  # its keys are plain sk-…: no prefix of their own
    demo_key = "sk-demo0000siliconflow00000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        payload = await ctx.get_json(USER_INFO, headers=ctx.bearer())
        assert ctx.region is not None  # Provider.report resolves it
        return parse_user_info(payload, ctx.region.currency)

    def examples(
        self, now: datetime, *, total: str = "88.88", gift: str = "0.88", charged: str = "88.00"
    ) -> dict[str, Example]:
        data = {
            "id": "userid",
            "name": "username",
            "image": "",
            "email": "user@example.com",
            "isAdmin": False,
            "balance": gift,
            "status": "normal",
            "introduction": "",
            "role": "",
            "chargeBalance": charged,
            "totalBalance": total,
        }
        body = {"code": 20000, "message": "OK", "status": True, "data": data}
        return {USER_INFO.path: Example(body)}


PROVIDER = SiliconFlow()
