"""Deepgram: project balances as developers.deepgram.com's reference lists them (usd is
money, other units kept apart, one unit summed), its two error shapes, the project id."""

from decimal import Decimal
from typing import Any

import pytest
import respx

from keyz.errors import AuthError, ConfigError, ParseError, ProviderError, UsageError
from keyz.providers import get_provider
from keyz.providers.deepgram import NO_BALANCE_NOTE, parse_balances
from keyz.redact import REDACTOR
from tests.providers.helpers import doc, fetch

# developers.deepgram.com/reference/manage/billing/list: the fields it lists, these values
DOC_TEXT = """{"balances": [{"balance_id": "b6f8e0a2-1111-4c8e-9d55-7a0f9e1f2a3b",
"amount": 200.0, "units": "usd", "purchase_order_id": "po-2026-0001"}]}"""
PROJECT = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
URL = f"https://api.deepgram.com/v1/projects/{PROJECT}/balances"
KEY = "deepgram-test-" + "a1b2c3d4" * 5


def item(amount: Any = Decimal(10), units: Any = "usd", **more: Any) -> dict[str, Any]:
    return {"balance_id": "b-1", "amount": amount, "units": units, **more}


def test_the_documented_shape() -> None:
    report = parse_balances(doc(DOC_TEXT))
    (usd,) = report.balances
    assert (usd.currency, usd.unit_kind, usd.remaining) == ("USD", "currency", Decimal("200.0"))
    assert usd.derived == [] and usd.source == "/v1/projects/{project_id}/balances"
    assert report.notes == [] and report.available is None
    assert "po-2026-0001" not in repr(report) and "b6f8e0a2" not in repr(report)


def test_several_balances_in_one_unit_are_summed_and_marked_derived() -> None:
    report = parse_balances(
        {"balances": [item(Decimal("150.25")), item(Decimal("49.75"), "USD"), item(0, " Usd ")]}
    )
    (usd,) = report.balances
    assert (usd.currency, usd.remaining, usd.derived) == ("USD", Decimal("200.00"), ["remaining"])


def test_a_unit_that_is_not_money_is_its_own_balance_never_dollars() -> None:
    report = parse_balances(
        {"balances": [item(Decimal(25)), item(Decimal("12.5"), "hour"), item(3, "hour")]}
    )
    by_unit = {b.currency: b for b in report.balances}
    assert set(by_unit) == {"USD", "HOUR"}
    assert (by_unit["USD"].unit_kind, by_unit["USD"].remaining) == ("currency", Decimal(25))
    hours = by_unit["HOUR"]
    assert (hours.unit_kind, hours.remaining, hours.derived) == (
        "provider",
        Decimal("15.5"),
        ["remaining"],
    )


@pytest.mark.parametrize("units", ["eur", "credits"])
def test_only_usd_is_read_as_money(units: str) -> None:
    (balance,) = parse_balances({"balances": [item(units=units)]}).balances
    assert (balance.currency, balance.unit_kind) == (units.upper(), "provider")


@pytest.mark.parametrize(
    ("units", "note"),
    [
        (None, "a balance without units was left out"),
        ("", "a balance without units was left out"),
        (5, "a balance without units was left out"),
        ("ドル", "a balance in a unit keyz cannot name was left out"),
        ("u s d", "a balance in a unit keyz cannot name was left out"),
        ("x" * 40, "a balance in a unit keyz cannot name was left out"),
        ("1hour", "a balance in a unit keyz cannot name was left out"),
    ],
)
def test_a_unit_keyz_cannot_name_is_left_out_with_a_note(units: Any, note: str) -> None:
    report = parse_balances({"balances": [item(Decimal(7)), item(Decimal(99), units)]})
    assert [(b.currency, b.remaining) for b in report.balances] == [("USD", Decimal(7))]
    assert report.notes == [note]


def test_an_empty_list_is_no_figure_never_zero() -> None:
    report = parse_balances({"balances": []})
    assert report.balances == [] and report.notes == [NO_BALANCE_NOTE]


def test_an_item_without_amount_holds_the_documented_default_zero() -> None:
    (usd,) = parse_balances({"balances": [{"balance_id": "b", "units": "usd"}]}).balances
    assert usd.remaining == Decimal(0)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {},
        {"balances": None},
        {"balances": {"usd": 5}},
        {"balances": ["usd"]},
        {"balances": [item(None)]},
        {"balances": [item(True)]},
        {"balances": [item("NaN")]},
        {"balances": [item("1e999")]},
        {"balances": [item("١٢")]},
        {"balances": [item("5 USD")]},
        {"balances": [item(10**40)]},
        {"balances": [item(Decimal("999999999999999")), item(Decimal("999999999999999"))]},
    ],
)
def test_an_answer_keyz_cannot_read_is_an_error_never_zero(payload: Any) -> None:
    with pytest.raises(ParseError):
        parse_balances(payload)


def test_a_huge_list_is_summed_exactly() -> None:
    items = [item(Decimal("0.01")) for _ in range(20_000)]
    (usd,) = parse_balances({"balances": items}).balances
    assert usd.remaining == Decimal("200.00")


@respx.mock
def test_the_key_is_sent_with_deepgrams_token_scheme() -> None:
    route = respx.get(URL).respond(text=DOC_TEXT)
    report = fetch("deepgram", KEY, options={"project_id": PROJECT})
    assert report.balances[0].remaining == Decimal(200)
    assert route.calls.last.request.headers["authorization"] == f"Token {KEY}"


@respx.mock
def test_the_project_id_can_be_a_line_of_the_entry() -> None:
    route = respx.get(URL).respond(text=DOC_TEXT)
    assert fetch("deepgram", KEY, options={}, hints={"project_id": PROJECT}).balances
    assert route.call_count == 1


def test_without_a_project_id_nothing_is_sent_and_the_error_says_how_to_set_it() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__regex=r".*").respond(text=DOC_TEXT)
        with pytest.raises(ConfigError) as info:
            fetch("deepgram", KEY, options={})
    assert route.call_count == 0
    message = str(info.value)
    assert "deepgram needs the project_id option" in message and "nothing was sent" in message
    assert "-o project_id=" in message and "'project_id: …'" in message


@pytest.mark.parametrize("value", ["../x", "a/b", "x" * 65, "id with space"])
def test_a_project_id_must_look_like_one(value: str) -> None:
    with pytest.raises(UsageError, match="project_id"):
        get_provider("deepgram").check_options({"project_id": value})


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (
            401,
            {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "r"},
            "INVALID_AUTH: Invalid credentials.",
        ),
        (
            403,
            {
                "err_code": "INSUFFICIENT_PERMISSIONS",
                "err_msg": "User does not have sufficient permissions.",
                "request_id": "r",
            },
            "INSUFFICIENT_PERMISSIONS: User does not have sufficient permissions.",
        ),
    ],
)
def test_a_refused_key_is_told_in_deepgrams_words(
    status: int, body: dict[str, str], said: str
) -> None:
    respx.get(URL).respond(status, json=body)
    with pytest.raises(AuthError) as info:
        fetch("deepgram", KEY, options={"project_id": PROJECT})
    message = str(info.value)
    assert message.startswith("deepgram balances: ") and said in message


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (
            404,
            {
                "category": "NOT_FOUND",
                "message": "Project not found.",
                "details": "",
                "request_id": "r",
            },
            "NOT_FOUND: Project not found.",
        ),
        (400, {"err_code": "Bad Request", "err_msg": "Invalid project id"}, "Bad Request: Invalid"),
        (429, {"err_code": "TOO_MANY_REQUESTS", "err_msg": "slow down"}, "TOO_MANY_REQUESTS"),
    ],
)
def test_other_errors_quote_either_documented_shape(
    status: int, body: dict[str, str], said: str
) -> None:
    respx.get(URL).respond(status, json=body)
    with pytest.raises(ProviderError, match=rf"HTTP {status}") as info:
        fetch("deepgram", KEY, options={"project_id": PROJECT})
    assert said in str(info.value) and not isinstance(info.value, AuthError)


@respx.mock
def test_the_key_echoed_in_an_error_is_never_shown() -> None:
    REDACTOR.add(KEY)
    body = {"err_code": "INVALID_AUTH", "err_msg": f"Invalid credentials: Token {KEY}"}
    respx.get(URL).respond(401, json=body)
    with pytest.raises(AuthError) as info:
        fetch("deepgram", KEY, options={"project_id": PROJECT})
    assert KEY not in str(info.value) and "INVALID_AUTH" in str(info.value)
