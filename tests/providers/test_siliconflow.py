"""SiliconFlow: payloads shaped like docs.siliconflow.cn's get-user-info example."""

import json
from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz import sidecar as sc
from keyz.errors import ProviderError
from keyz.providers.siliconflow import parse_user_info
from tests.providers.helpers import doc, fetch

DOC_TEXT = """{"code":20000,"message":"OK","status":true,
 "data":{"id":"userid","name":"username","image":"https://img.example/u.png",
         "email":"someone@example.com","isAdmin":false,"balance":"0.88","status":"normal",
         "introduction":"","role":"","chargeBalance":"88.00","totalBalance":"88.88"}}"""


def test_documented_example() -> None:
    report = parse_user_info(doc(DOC_TEXT), "CNY")
    (cny,) = report.balances
    assert (cny.currency, cny.remaining, cny.granted, cny.topped_up) == (
        "CNY",
        Decimal("88.88"),
        Decimal("0.88"),
        Decimal("88.00"),
    )


def test_no_personal_data_reaches_the_sidecar() -> None:
    report = parse_user_info(doc(DOC_TEXT), "CNY")
    written = sc.dumps(
        sc.Sidecar(
            entry="api/sf",
            provider="siliconflow",
            observed_at=sc.utc_now(),
            available=report.available,
            balances=report.balances,
            notes=report.notes,
        )
    ).decode()
    for personal in ("userid", "username", "someone@example.com", "img.example", "normal"):
        assert personal not in written


@pytest.mark.parametrize(
    "payload",
    [
        {"code": 50000, "message": "Internal error", "status": False, "data": None},
        {"status": True, "data": None},
        {"status": True, "data": {"balance": "1"}},
        [],
    ],
)
def test_errors_and_wrong_shapes(payload: Any) -> None:
    with pytest.raises(ProviderError):
        parse_user_info(payload, "CNY")


@respx.mock
def test_region_picks_host_and_currency() -> None:
    cn = respx.get("https://api.siliconflow.cn/v1/user/info").respond(text=DOC_TEXT)
    com = respx.get("https://api.siliconflow.com/v1/user/info").respond(text=DOC_TEXT)
    assert fetch("siliconflow", "sk-sf").balances[0].currency == "CNY"
    assert fetch("siliconflow", "sk-sf", options={"region": "com"}).balances[0].currency == "USD"
    assert cn.call_count == 1 and com.call_count == 1
    assert json.loads(DOC_TEXT)["data"]["totalBalance"] == "88.88"
