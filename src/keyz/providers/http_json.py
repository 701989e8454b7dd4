"""http-json: any relay or site that answers one GET with its balance as JSON, mapped declaratively.

No provider documents this one: the user says, in options, where the figures are. The host
comes from a ``base_url: https://…`` line in the pass entry (bound to the key, as for
oneapi); config.toml names only the path and the mapping:

    [entries."api/my-relay"]
    provider = "http-json"
    path = "/api/user/balance"          # appended to the entry's base_url (a query may follow)
    auth = "bearer"                     # bearer | raw | header:<Name>
    remaining = "data.balance"          # JMESPath expressions (jmespath.org), each optional,
    spend = "data.used"                 # but at least one of remaining, limit and spend
    currency = "USD"                    # a unit (USD, CNY, CREDITS), or a JMESPath expression
    divisor = "100"                     # the answer counts in hundredths (default 1)

Expressions are JMESPath (the ``jmespath`` library, not a hand-written walker), compiled when
the option is set (``keyz track -o``) and on every sync; only the answer's own JSON is
searched. A figure is a JSON number or a string of ASCII decimals (money.py's rule), divided
exactly by ``divisor``; an expression that finds nothing leaves its figure unknown, never 0.
This module is jmespath's one home.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import parse_qsl

import jmespath
from jmespath import exceptions as jmespath_errors
from jmespath import functions as jmespath_functions
from jmespath import visitor as jmespath_visitor
from jmespath.parser import ParsedResult

from keyz.errors import ParseError, UsageError
from keyz.money import format_amount, parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Option,
    Provider,
    Report,
    Traced,
)
from keyz.redact import clean
from keyz.sidecar import Balance, KeyLimit

if TYPE_CHECKING:
    from jmespath.visitor import _TreeNode

# The declared endpoint: '{path}' is the path option (each entry's own).
BALANCE = Endpoint("balance", "/{path}", KeyKind.REGULAR, Capability.BALANCE | Capability.KEY_LIMIT)
EXPRESSIONS: Final = ("remaining", "limit", "spend")  # the figures, in the order they are read
MAX_EXPRESSION: Final = 512  # characters: a mapping, not a program
# where each figure goes, per kind of report
SLOTS: Final = {
    "balance": {"remaining": "remaining", "limit": "purchased", "spend": "used"},
    "key_limit": {"remaining": "remaining", "limit": "limit", "spend": "usage"},
}
_UNIT: Final = re.compile(r"[A-Z][A-Z0-9_]{1,15}")
_ISO: Final = re.compile(r"[A-Z]{3}")
_PATH: Final = re.compile(r"/[A-Za-z0-9._~%/-]{0,255}(\?[A-Za-z0-9._~%=&+-]{1,255})?")
# escapes a server may decode into a dot segment or a separator (or decode twice)
_CLIMB: Final = re.compile(r"%(2e|2f|5c|00|25)", re.IGNORECASE)
_DIVISOR: Final = re.compile(r"[0-9]{1,13}(\.[0-9]{1,12})?")
_HEADER: Final = re.compile(r"header:([A-Za-z0-9-]{1,64})")
# headers the transport owns: a pushed config must not smuggle the key into one of them
_RESERVED_HEADERS: Final = frozenset(
    {
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
        "accept-encoding",
        "proxy-authorization",
        "proxy-connection",
        "cookie",
        # written to access logs, rewritten or forwarded by proxies, or read as content
        # negotiation: a key there travels further than the site's own check (``auth`` may
        # come from the committed config.toml)
        "user-agent",
        "referer",
        "origin",
        "forwarded",
        "via",
        "x-real-ip",
        "true-client-ip",
        "x-client-ip",
        "x-request-id",
        "x-correlation-id",
        "traceparent",
        "tracestate",
        "range",
        "expect",
        "max-forwards",
        "trailer",
        "keep-alive",
        "pragma",
        "cache-control",
        "dnt",
        "date",
    }
)
_RESERVED_PREFIXES: Final = ("x-forwarded-", "x-original-", "accept", "content-", "if-", "sec-")
_FREE_TEXT: Final = rf"[^\x00-\x1f\x7f]{{1,{MAX_EXPRESSION}}}"


class _DecimalFunctions(jmespath_functions.Functions):
    """JMESPath's functions, with keyz's exact numbers: answers are decoded with Decimal, which
    the stock type checks do not count as a number (sum(), max(), avg() would refuse them)."""

    def _get_allowed_pytypes(self, types: list[str]) -> tuple[list[Any], list[Any]]:
        allowed, subtypes = super()._get_allowed_pytypes(types)  # type: ignore[misc]
        if "float" in allowed:
            allowed = [*allowed, "Decimal"]
        subtypes = [(*sub, "Decimal") if "float" in sub else sub for sub in subtypes]
        return allowed, subtypes

    def _convert_to_jmespath_type(self, pyobject: str) -> str:
        if pyobject == "Decimal":
            return "number"
        converted: str = super()._convert_to_jmespath_type(pyobject)  # type: ignore[misc]
        return converted

    @jmespath_functions.signature({"types": []})
    def _func_to_number(self, arg: Any) -> Any:
        """Strict: ASCII decimals only (money.py), exact; anything else is null."""
        if isinstance(arg, bool) or not isinstance(arg, int | Decimal | str):
            return None
        try:
            return parse_amount(arg, field="to_number")
        except ParseError:
            return None


_FUNCTIONS: Final = _DecimalFunctions()
_OPTIONS: Final = jmespath.Options(custom_functions=_FUNCTIONS)
MAX_COST: Final = 1_000_000  # steps one expression may take on one answer (~1 s at worst)
_CHARS_PER_STEP: Final = 16  # a long string counts as this many characters per step
_DEEP_FUNCTIONS: Final = frozenset({"to_string", "contains", "join"})  # they walk whole values


class _TooCostly(Exception):
    """The expression has done more work than any mapping of one answer needs."""


def _cost(value: Any, cap: int) -> int:
    """The steps walking ``value`` takes (each value once per place it appears, as writing it
    out or comparing it does; long strings by their length), counted no further than ``cap``."""
    steps, stack = 0, [value]
    while stack and steps <= cap:
        item = stack.pop()
        steps += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            steps += len(item) // _CHARS_PER_STEP
    return steps


class _Interpreter(jmespath_visitor.TreeInterpreter):
    """JMESPath's own interpreter, counting its work against MAX_COST: every node visited,
    every element of a list or object it builds, and every value a deep function or an
    equality walks. ``[@,@]`` nested 60 times is 120 nodes but 2^60 values to write out."""

    def __init__(self) -> None:
        super().__init__(_OPTIONS)
        self.left = MAX_COST

    def charge(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise _TooCostly

    def walked(self, node: _TreeNode, value: Any) -> list[Any]:
        """The node's arguments, each charged for the walk of it."""
        resolved = [self.visit(child, value) for child in node["children"]]
        for arg in resolved:
            self.charge(_cost(arg, self.left))
        return resolved

    def visit(self, node: _TreeNode, *args: Any, **kwargs: Any) -> Any:
        self.charge(1)
        result = super().visit(node, *args, **kwargs)
        if isinstance(result, list | dict):
            self.charge(len(result))
        elif isinstance(result, str):
            self.charge(len(result) // _CHARS_PER_STEP)
        return result

    def visit_comparator(self, node: _TreeNode, value: Any) -> Any:
        if node["value"] not in ("eq", "ne"):  # the others compare numbers and strings only
            return super().visit_comparator(node, value)
        equal = self.COMPARATOR_FUNC["eq"](*self.walked(node, value))
        return equal if node["value"] == "eq" else not equal

    def visit_function_expression(self, node: _TreeNode, value: Any) -> Any:
        if node["value"] not in _DEEP_FUNCTIONS:
            return super().visit_function_expression(node, value)
        return _FUNCTIONS.call_function(node["value"], self.walked(node, value))


def compile_expression(text: str) -> ParsedResult:
    """A compiled JMESPath expression, or UsageError saying what is wrong with it."""
    try:
        return jmespath.compile(text)
    except jmespath_errors.JMESPathError as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise UsageError(f"is not a JMESPath expression ({clean(str(reason), 120)})") from None


def is_literal_unit(text: str) -> bool:
    """``currency = "USD"`` is the unit itself; anything else is an expression."""
    return _UNIT.fullmatch(text) is not None


def _shown(value: Any) -> str:
    """A value found in the answer, as JSON, masked and cut (it may echo anything)."""
    if isinstance(value, Decimal):  # a JSON number, as the answer wrote it
        return clean(str(value), 80)
    if isinstance(value, list | dict) and _cost(value, 100) > 100:  # maybe shared 2^60 times
        return f"a large {'list' if isinstance(value, list) else 'object'}"
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(value).__name__
    return clean(text, 80)


def search(name: str, expression: str, data: Any) -> Any:
    """What ``expression`` finds in ``data``; ParseError when it fails on this answer."""
    try:
        return _Interpreter().visit(compile_expression(expression).parsed, data)
    except _TooCostly:
        raise ParseError(
            f"the expression for {name} costs too much on this answer (more than "
            f"{MAX_COST:,} steps: a mapping, not a program)"
        ) from None
    except UsageError as exc:
        raise ParseError(f"option {name} {exc}") from None
    except jmespath_errors.JMESPathError as exc:
        raise ParseError(
            f"the expression for {name} fails on this answer ({clean(str(exc), 120)})"
        ) from None
    except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise ParseError(
            f"the expression for {name} fails on this answer ({type(exc).__name__})"
        ) from None


def figure(name: str, found: Any, divisor: Decimal) -> Decimal | None:
    """The figure an expression found: None when it found nothing, else a strict number."""
    if found is None:
        return None
    if isinstance(found, list | dict):
        kind = "a list" if isinstance(found, list) else "an object"
        raise ParseError(f"the expression for {name} found {kind}, not a number")
    return parse_amount(found, field=name, scale=None if divisor == 1 else divisor)


def unit(options: Mapping[str, str], data: Any) -> tuple[str, Traced]:
    """The unit: the literal option, or what its expression finds (a unit name)."""
    given = options.get("currency", "USD")
    if is_literal_unit(given):
        return given, Traced("currency", "currency (as set)", given)
    found = search("currency", given, data)
    text = found.strip().upper() if isinstance(found, str) else None
    if text is None or not _UNIT.fullmatch(text):
        raise ParseError(
            f"the expression for currency found {_shown(found)}, not a unit like USD; "
            'set it instead (currency = "USD")'
        )
    return text, Traced("currency", f"currency = {given}", _shown(found))


def parse_answer(payload: Any, options: Mapping[str, str]) -> Report:
    """Map one answer to a report with the entry's expressions."""
    divisor = Decimal(options.get("divisor", "1"))
    kind = options.get("report", "balance")
    slots = SLOTS[kind]
    trace: list[Traced] = []
    figures: dict[str, Decimal | None] = {}
    for name in EXPRESSIONS:
        expression = options.get(name)
        if expression is None:
            continue
        found = search(name, expression, payload)
        figures[slots[name]] = figure(name, found, divisor)
        by = f" / {format_amount(divisor)}" if divisor != 1 and found is not None else ""
        trace.append(Traced(f"{kind}.{slots[name]}", f"{name} = {expression}{by}", _shown(found)))
    if all(value is None for value in figures.values()):
        asked = ", ".join(f"{n} = {clean(options[n], 60)}" for n in EXPRESSIONS if n in options)
        raise ParseError(f"no figure found in the answer ({asked} found nothing)")
    currency, traced_unit = unit(options, payload)
    trace.append(traced_unit)
    limit, spend = figures.get(slots["limit"]), figures.get(slots["spend"])
    derived: list[str] = []
    if figures.get("remaining") is None and limit is not None and spend is not None:
        figures["remaining"] = limit - spend
        derived.append("remaining")
        trace.append(Traced(f"{kind}.remaining", "limit - spend (derived)", ""))
    remaining = figures.pop("remaining", None)
    source = options["path"].split("?")[0]
    if kind == "key_limit":
        cap = KeyLimit(
            currency=currency,
            limit=figures.get("limit"),
            remaining=remaining,
            usage=figures.get("usage"),
            derived=derived,
            source=source,
        )
        return Report(available=None, key_limit=cap, trace=trace)
    balance = Balance(
        currency=currency,
        unit_kind="currency" if _ISO.fullmatch(currency) else "provider",
        remaining=remaining,
        purchased=figures.get("purchased"),
        used=figures.get("used"),
        derived=derived,
        source=source,
    )
    return Report(available=None, balances=[balance], trace=trace)


def auth_headers(scheme: str, key: str) -> dict[str, str]:
    if scheme == "bearer":
        return {"Authorization": f"Bearer {key}"}
    if scheme == "raw":
        return {"Authorization": key}
    header = _HEADER.fullmatch(scheme)
    assert header is not None  # checked with the options
    return {header.group(1): key}


def endpoint(path: str, reports: Capability) -> Endpoint:
    """The entry's own endpoint: its path, and the query that follows it as fixed query."""
    bare, _, query = path.partition("?")
    return Endpoint("balance", bare, KeyKind.REGULAR, reports, tuple(parse_qsl(query)))


class HttpJson(Provider):
    id = "http-json"
    title = "Any JSON balance endpoint (declarative)"
    short_name = "hj"
    key_kind = KeyKind.REGULAR
    default_base_url = ""  # none: the entry's base_url line is the host
    host_from_entry = True
    endpoints = (BALANCE,)
    options: ClassVar[dict[str, Option]] = {
        "path": Option(
            "the endpoint's path, appended to the entry's base_url", pattern=r".+", required=True
        ),
        "auth": Option("bearer (default), raw, or header:<Name>", pattern=r".+"),
        "report": Option("balance (default) or key_limit", choices=("balance", "key_limit")),
        "remaining": Option("JMESPath expression of what is left", pattern=_FREE_TEXT),
        "limit": Option("JMESPath expression of the total or the cap", pattern=_FREE_TEXT),
        "spend": Option("JMESPath expression of what is used", pattern=_FREE_TEXT),
        "currency": Option("a unit (USD, CREDITS) or a JMESPath expression", pattern=_FREE_TEXT),
        "divisor": Option("what the figures are divided by (100 for cents)", pattern=r".+"),
    }
    key_help: ClassVar[str] = (
        "the key the site gives you, with a 'base_url: https://…' line under it in the pass "
        "entry, and the mapping as options (path, remaining, ...: keyz providers --json)"
    )
    path_words = ("http-json",)
    demo_key = "demo-http-json-" + "5eed" * 8
    example_options: ClassVar[Mapping[str, str]] = {
        "path": "/balance",
        "remaining": "data.balance",
        "spend": "data.used",
        "currency": "data.currency",
    }

    def check_options(self, options: Mapping[str, str], *, origin: str = "--option") -> None:
        super().check_options(options, origin=origin)
        private = origin == "the pass entry's line"  # never echoed, not even its error
        for name, value in options.items():
            try:
                _check_one(name, value)
            except UsageError as exc:
                why = "is not valid here" if private else str(exc)
                raise UsageError(f"{origin} {name}: {why}") from None

    def missing_options(self, options: Mapping[str, str]) -> str | None:
        missing = []
        if "path" not in options:
            missing.append('path = "/api/balance"')
        if not any(name in options for name in EXPRESSIONS):
            missing.append('remaining = "data.balance" (or limit and spend)')
        if not missing:
            return None
        return (
            f"http-json needs {' and '.join(missing)}: keyz track ENTRY -p http-json "
            "-o path=/api/balance -o remaining=data.balance (expressions are JMESPath), or "
            "those lines in the pass entry"
        )

    async def fetch(self, ctx: FetchContext) -> Report:
        kind = ctx.options.get("report", "balance")
        reports = Capability.KEY_LIMIT if kind == "key_limit" else Capability.BALANCE
        headers = auth_headers(ctx.options.get("auth", "bearer"), ctx.secret.value)
        payload = await ctx.get_json(endpoint(ctx.options["path"], reports), headers=headers)
        return parse_answer(payload, ctx.options)

    def examples(
        self, now: datetime, *, balance: str = "12.50", used: str = "7.50", currency: str = "USD"
    ) -> dict[str, Example]:
        """A made-up site (there is no documented one): what ``example_options`` maps."""
        body = {"success": True, "data": {"balance": balance, "used": used, "currency": currency}}
        return {"/balance": Example(body)}


def _check_one(name: str, value: str) -> None:
    """UsageError (its text follows the option's name) unless the value is usable."""
    if name in EXPRESSIONS or (name == "currency" and not is_literal_unit(value)):
        compile_expression(value)
    elif name == "path":
        bare = value.partition("?")[0]
        segments = bare.split("/")[1:]
        if (
            not _PATH.fullmatch(value)
            or any(s in ("", ".", "..") for s in segments[:-1])
            or segments[-1] in (".", "..")  # the URL drops them: out of the base_url's prefix
            or _CLIMB.search(bare)  # '%2e%2e', '%2f': servers decode them before routing
        ):
            raise UsageError(
                "must be a path like /api/user/balance (letters, digits, . _ ~ % - and /, "
                "no empty, . or .. segments, no escaped . / \\ or %; a ?query may follow)"
            )
    elif name == "auth":
        header = _HEADER.fullmatch(value)
        if value not in ("bearer", "raw") and header is None:
            raise UsageError("must be bearer, raw or header:<Name> (like header:X-Api-Key)")
        named = header.group(1) if header is not None else ""
        if named.lower() in _RESERVED_HEADERS or named.lower().startswith(_RESERVED_PREFIXES):
            raise UsageError(f"header:{named} is a header keyz must not put a key in")
    elif name == "divisor" and (not _DIVISOR.fullmatch(value) or Decimal(value) == 0):
        raise UsageError("must be a positive decimal number like 100 or 500000")


PROVIDER = HttpJson()
