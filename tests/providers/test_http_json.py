"""http-json: a declarative mapping (JMESPath) of any JSON balance answer, host from the entry."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from keyz.errors import ParseError, ProviderError, UsageError
from keyz.providers import get_provider
from keyz.providers.base import Report
from keyz.providers.http_json import parse_answer
from keyz.redact import REDACTOR
from tests.conftest import CANARY
from tests.providers.helpers import doc, fetch

SITE = "https://site.example/v2"
ANSWER = """{"success": true, "data": {"balance": "12.50", "used": 7.5, "total": 20,
"currency": "usd", "wallets": [{"kind": "grant", "left": 1.25}, {"kind": "paid", "left": "3"}]}}"""
BASE = {"path": "/api/balance", "remaining": "data.balance", "spend": "data.used"}
PROVIDER = get_provider("http-json")


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def ask(mock: respx.MockRouter, body: Any = ANSWER, **options: str) -> tuple[Report, respx.Route]:
    """Fetch with BASE's options changed by ``options`` (an empty value drops one)."""
    response = httpx.Response(200, text=body) if isinstance(body, str) else body
    route = mock.get(url__startswith=f"{SITE}/").mock(return_value=response)
    mapping = {k: v for k, v in {**BASE, **options}.items() if v}
    report = fetch("http-json", CANARY, hints={"base_url": SITE}, options=mapping)
    return report, route


def test_the_mapping_gives_a_balance_exactly(mock: respx.MockRouter) -> None:
    report, route = ask(mock)
    (balance,) = report.balances
    assert (balance.currency, balance.unit_kind) == ("USD", "currency")
    assert (balance.remaining, balance.used, balance.purchased) == (
        Decimal("12.50"),
        Decimal("7.5"),
        None,
    )
    assert balance.derived == [] and balance.source == "/api/balance"
    request = route.calls.last.request
    assert str(request.url) == f"{SITE}/api/balance"  # the entry's host and prefix, the path
    assert request.headers["authorization"] == f"Bearer {CANARY}"
    assert [(t.figure, t.source, t.raw) for t in report.trace] == [
        ("balance.remaining", "remaining = data.balance", '"12.50"'),
        ("balance.used", "spend = data.used", "7.5"),
        ("currency", "currency (as set)", "USD"),
    ]


def test_remaining_is_derived_from_limit_and_spend(mock: respx.MockRouter) -> None:
    report, _ = ask(mock, remaining="", limit="data.total")
    (balance,) = report.balances
    assert balance.remaining == Decimal("12.5") and balance.derived == ["remaining"]
    assert balance.purchased == Decimal(20)


def test_a_key_limit_report(mock: respx.MockRouter) -> None:
    report, _ = ask(mock, report="key_limit", remaining="", limit="data.total")
    assert report.balances == []
    cap = report.key_limit
    assert cap is not None
    assert (cap.limit, cap.usage, cap.remaining) == (Decimal(20), Decimal("7.5"), Decimal("12.5"))
    assert cap.derived == ["remaining"]


def test_the_divisor_divides_exactly_and_is_traced(mock: respx.MockRouter) -> None:
    body = '{"quota": 1234567, "used_quota": 1}'
    report, _ = ask(
        mock, body, remaining="quota", spend="used_quota", divisor="500000", currency="TOKENS"
    )
    (balance,) = report.balances
    assert balance.remaining == Decimal("2.469134") and balance.used == Decimal("0.000002")
    assert (balance.currency, balance.unit_kind) == ("TOKENS", "provider")  # not money
    assert report.trace[0].source == "remaining = quota / 500000"


def test_the_currency_can_be_read_from_the_answer(mock: respx.MockRouter) -> None:
    report, _ = ask(mock, currency="data.currency")
    assert report.balances[0].currency == "USD"  # 'usd' upper-cased
    assert report.trace[-1].source == "currency = data.currency"


@pytest.mark.parametrize("found", ['"US Dollars"', "12", "null", '"$"', '["USD"]'])
def test_a_currency_expression_that_finds_no_unit_fails(found: str) -> None:
    with pytest.raises(ParseError, match="not a unit like USD"):
        parse_answer(doc(f'{{"b": 1, "c": {found}}}'), {**BASE, "remaining": "b", "currency": "c"})


def test_jmespath_functions_work_on_exact_decimals() -> None:
    options = {**BASE, "remaining": "sum(data.wallets[].to_number(left))", "spend": "data.used"}
    (balance,) = parse_answer(doc(ANSWER), options).balances
    assert balance.remaining == Decimal("4.25")  # 1.25 + "3", exactly
    options["remaining"] = "max(data.wallets[?kind=='grant'].left)"
    assert parse_answer(doc(ANSWER), options).balances[0].remaining == Decimal("1.25")


@pytest.mark.parametrize("text", ["1e999", "NaN", "١٢", " 12", "0x10", "Infinity", "1_000"])
def test_to_number_is_strict(text: str) -> None:
    answer = doc(f'{{"v": {{"x": "{text}"}}, "b": 1}}')
    options = {**BASE, "remaining": "to_number(v.x)", "spend": "b"}
    assert parse_answer(answer, options).balances[0].remaining is None  # unknown, never 0


@pytest.mark.parametrize(
    "value", ['"1e999"', '"NaN"', '"١٢"', "true", '"12 USD"', '"-"', '"1,000"', "1e400"]
)
def test_a_figure_that_is_no_strict_number_fails_never_zero(value: str) -> None:
    with pytest.raises(ParseError):
        parse_answer(doc(f'{{"b": {value}}}'), {**BASE, "remaining": "b", "spend": "nothing"})


@pytest.mark.parametrize(("found", "kind"), [("[1, 2]", "a list"), ('{"a": 1}', "an object")])
def test_an_expression_that_finds_a_structure_fails(found: str, kind: str) -> None:
    with pytest.raises(ParseError, match=f"found {kind}, not a number"):
        parse_answer(doc(f'{{"b": {found}}}'), {**BASE, "remaining": "b"})


def test_expressions_that_find_nothing_leave_figures_unknown_and_all_nothing_fails() -> None:
    (balance,) = parse_answer(doc('{"b": 3}'), {**BASE, "remaining": "b", "spend": "x.y"}).balances
    assert balance.remaining == Decimal(3) and balance.used is None
    with pytest.raises(ParseError, match=r"no figure found in the answer \(remaining = nope"):
        parse_answer(doc('{"b": 3}'), {**BASE, "remaining": "nope", "spend": "x"})


def test_an_expression_failing_on_this_answer_is_a_parse_error_that_masks_the_key() -> None:
    REDACTOR.add(CANARY)
    answer = {"items": [Decimal(1), f"echo {CANARY}"]}
    with pytest.raises(ParseError) as caught:
        parse_answer(answer, {**BASE, "remaining": "sum(items)"})
    assert "the expression for remaining fails on this answer" in str(caught.value)
    assert CANARY not in str(caught.value)
    with pytest.raises(ParseError, match=r"fails on this answer \(TypeError\)"):
        parse_answer({"a": [Decimal(1), 1.5]}, {**BASE, "remaining": "sum(a)"})


@pytest.mark.parametrize(
    ("scheme", "header", "value"),
    [
        ("bearer", "authorization", f"Bearer {CANARY}"),
        ("raw", "authorization", CANARY),
        ("header:X-Api-Key", "x-api-key", CANARY),
    ],
)
def test_the_key_goes_only_in_the_chosen_header(
    mock: respx.MockRouter, scheme: str, header: str, value: str
) -> None:
    _, route = ask(mock, auth=scheme)
    request = route.calls.last.request
    assert request.headers[header] == value
    assert CANARY not in str(request.url)
    if header != "authorization":
        assert "authorization" not in request.headers


def test_a_query_in_the_path_is_sent_as_given(mock: respx.MockRouter) -> None:
    _, route = ask(mock, path="/api/balance?currency=usd&full=1")
    url = route.calls.last.request.url
    assert url.path == "/v2/api/balance" and dict(url.params) == {"currency": "usd", "full": "1"}


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("remaining", "data.[", "is not a JMESPath expression"),
        ("remaining", "foo(bar", "is not a JMESPath expression"),
        ("spend", "", "does not look like a spend"),
        ("remaining", "a" * 513, "does not look like a remaining"),
        ("currency", "data.(", "is not a JMESPath expression"),
        ("path", "api/balance", "must be a path like /api/user/balance"),
        ("path", "//evil.example/x", "must be a path"),
        ("path", "/a/../b", "must be a path"),
        ("path", "/a b", "must be a path"),
        ("path", "/a#frag", "must be a path"),
        ("path", "/@evil.example", "must be a path"),
        ("auth", "basic", "must be bearer, raw or header:<Name>"),
        ("auth", "header:Host", "is a header keyz must not put a key in"),
        ("auth", "header:cookie", "is a header keyz must not put a key in"),
        ("auth", "header:X Y", "must be bearer, raw or header:<Name>"),
        ("auth", "query:key", "must be bearer, raw or header:<Name>"),
        ("divisor", "0", "must be a positive decimal number"),
        ("divisor", "-1", "must be a positive decimal number"),
        ("divisor", "1e3", "must be a positive decimal number"),
        ("report", "spend", "is not one of balance, key_limit"),
        ("color", "red", "has no option color"),
    ],
)
def test_options_are_checked_when_they_are_set(name: str, value: str, said: str) -> None:
    with pytest.raises(UsageError, match=said.replace("(", r"\(").replace("[", r"\[")):
        PROVIDER.check_options({name: value})


def test_a_bad_value_from_the_pass_entry_is_never_echoed() -> None:
    with pytest.raises(UsageError) as caught:
        PROVIDER.check_options({"remaining": "secret.[stuff"}, origin="the pass entry's line")
    assert "secret" not in str(caught.value) and "stuff" not in str(caught.value)


def test_good_options_pass() -> None:
    PROVIDER.check_options(
        {
            **BASE,
            "auth": "header:X-Api-Key",
            "limit": "data.items[?currency=='USD'] | [0].total",
            "currency": "CREDITS",
            "divisor": "100",
            "report": "key_limit",
            "path": "/api/v1/balance?x=1",
        }
    )


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"remaining": "a"}, 'path = "/api/balance"'),
        ({"path": "/b"}, 'remaining = "data.balance"'),
    ],
)
def test_an_incomplete_mapping_is_refused_before_anything_is_sent(
    mock: respx.MockRouter, options: dict[str, str], missing: str
) -> None:
    anywhere = mock.route().respond(text=ANSWER)
    with pytest.raises(UsageError, match=missing):
        fetch("http-json", CANARY, hints={"base_url": SITE}, options=options)
    assert not anywhere.called


def test_an_answer_that_is_not_json_or_an_error_is_told(mock: respx.MockRouter) -> None:
    with pytest.raises(ParseError, match="not JSON"):
        ask(mock, httpx.Response(200, text="<<not json>>", headers={"Content-Type": "text/plain"}))
    REDACTOR.add(CANARY)
    with pytest.raises(ProviderError) as caught:
        ask(mock, httpx.Response(401, json={"message": f"bad key {CANARY}"}))
    assert caught.value.status == 401 and CANARY not in str(caught.value)


def test_a_redirect_and_a_huge_answer_are_refused(mock: respx.MockRouter) -> None:
    elsewhere = mock.get(url__startswith="https://elsewhere.example").respond(text=ANSWER)
    moved = httpx.Response(301, headers={"Location": "https://elsewhere.example/api/balance"})
    with pytest.raises(ProviderError, match="does not follow redirects"):
        ask(mock, moved)
    assert not elsewhere.called
    huge = '{"data": {"balance": 1}, "pad": "' + "x" * (1 << 20) + '"}'
    with pytest.raises(ParseError, match="larger than"):
        ask(mock, huge)


def test_without_a_base_url_line_nothing_is_sent(mock: respx.MockRouter) -> None:
    anywhere = mock.route().respond(text=ANSWER)
    with pytest.raises(UsageError, match="http-json has no default host"):
        fetch("http-json", CANARY, options=BASE)
    assert not anywhere.called


@pytest.mark.parametrize(
    "path",
    [
        "/..",
        "/a/..",
        "/.",
        "/a/.",
        "/%2e%2e/other/balance",
        "/a/%2E%2e",
        "/a%2fb",
        "/a%5Cb",
        "/a%00",
    ],
)
def test_a_path_cannot_climb_out_of_the_entrys_base_url(path: str) -> None:
    """The entry's base_url may end in a prefix (https://host/tenant): a path from the
    committed config.toml must not move the key out of it (httpx drops a last '..' segment
    itself; many servers decode %2e%2e and %2f before routing)."""
    with pytest.raises(UsageError, match="must be a path"):
        PROVIDER.check_options({"path": path})


@pytest.mark.parametrize(
    "expression",
    [
        "[@,@][]|" * 60 + "length(@)",  # a list that doubles 60 times
        "to_string(" + "[@,@]|" * 60 + "@)",  # a value shared 2^60 times, written out
        "[" + "[@,@]|" * 28 + "@," + "[@,@]|" * 28 + "@]|[0]==[1]",  # compared deeply
        "contains([" + "[@,@]|" * 28 + "@], " + "[@,@]|" * 28 + "@)",
        "join('', [" + "s," * 99 + "s])|" + "join('', [" + "@," * 99 + "@])",  # s 10^4 times
    ],
)
def test_a_pathological_expression_fails_fast_instead_of_hanging(expression: str) -> None:
    """A mapping, not a program: an expression costing far more than the answer is refused
    on that answer (a pushed config.toml must not hang or exhaust every sync)."""
    assert len(expression) <= 512
    PROVIDER.check_options({"remaining": expression})
    with pytest.raises(ParseError, match="costs too much"):
        parse_answer(
            doc(f'{{"b": [1, 2, 3], "s": "{"x" * 4000}"}}'), {**BASE, "remaining": expression}
        )


def test_a_currency_expression_finding_a_huge_shared_value_is_not_written_out() -> None:
    expression = "[@,@]|" * 60 + "@"
    with pytest.raises(ParseError) as caught:
        parse_answer(doc('{"b": 1}'), {**BASE, "remaining": "b", "currency": expression})
    assert len(str(caught.value)) < 400


def test_an_ordinary_expression_over_a_large_answer_still_works() -> None:
    wallets = ", ".join(f'{{"left": "{n}.5"}}' for n in range(20000))
    answer = doc(f'{{"w": [{wallets}]}}')
    options = {**BASE, "remaining": "sum(w[].to_number(left))", "spend": ""}
    (balance,) = parse_answer(answer, {k: v for k, v in options.items() if v}).balances
    assert balance.remaining == Decimal(sum(range(20000))) + Decimal("0.5") * 20000


@pytest.mark.parametrize(
    "header",
    [
        "User-Agent",
        "referer",
        "X-Forwarded-For",
        "x-forwarded-host",
        "Forwarded",
        "Via",
        "Origin",
        "X-Real-IP",
        "Accept",
        "Content-Type",
        "If-None-Match",
        "Range",
        "Expect",
        "Sec-Fetch-Site",
        "Traceparent",
        "X-Request-Id",
    ],
)
def test_the_key_never_goes_in_a_header_that_servers_log_or_proxies_rewrite(header: str) -> None:
    """``auth`` may come from the committed config.toml: a collaborator must not move the key
    into User-Agent or Referer (written to every access log) or a forwarding header."""
    with pytest.raises(UsageError, match="is a header keyz must not put a key in"):
        PROVIDER.check_options({"auth": f"header:{header}"})


@pytest.mark.parametrize("header", ["X-Api-Key", "Api-Key", "X-Auth-Token", "Token", "apikey"])
def test_the_usual_key_headers_are_allowed(header: str) -> None:
    PROVIDER.check_options({"auth": f"header:{header}"})


def test_keyz_providers_says_the_path_is_required() -> None:
    """Without a path nothing is sent (missing_options): --json must not call it optional."""
    from keyz.providers.catalog import describe

    options = describe(PROVIDER)["options"]
    assert isinstance(options, dict)
    assert options["path"]["required"] is True
    assert PROVIDER.missing_options({"remaining": "a"}) is not None
