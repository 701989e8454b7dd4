"""Deepgram: ``GET /v1/projects/{project_id}/balances`` with ``Authorization: Token <key>``.

Reference: developers.deepgram.com/reference/manage/billing/list ("Get Project Balances":
"Generates a list of outstanding balances for the specified project"). Its answer's shape
(the reference gives the fields, not an example; these values are illustrative)::

    {"balances": [{"balance_id": "...", "amount": 200.0, "units": "usd",
                   "purchase_order_id": "..."}]}

each item being ``balance_id`` (string), ``amount`` (double, default 0: an item without
one holds 0), ``units`` ("The units of the balance, such as "USD"") and
``purchase_order_id`` (string); none of the ids is copied.

Units: ``usd`` (any case) is money, a ``USD`` balance. Any other unit is never shown as
money: a word like ``hour`` becomes a balance in that unit, upper-cased (``HOUR``), with
``unit_kind: provider``, as Poe's points are; a unit keyz cannot name, or an item without
one, is left out with a note. Several items in the same unit are added up (the project
draws on all of them): the sum is marked ``derived``. An empty list is no figure, with a
note, never a made-up 0.

The project id is required: the ``project_id`` option or a ``project_id:`` line in the
pass entry (Deepgram console → Settings → Project ID).

Errors come in two documented shapes (developers.deepgram.com/docs/errors):
``{"err_code", "err_msg", "request_id"}`` and ``{"category", "message", "details",
"request_id"}``; http.py quotes either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from keyz.errors import ParseError
from keyz.money import INTEGER_DIGITS, parse_amount
from keyz.providers.base import (
    Capability,
    Endpoint,
    Example,
    FetchContext,
    KeyKind,
    Option,
    Provider,
    Report,
)
from keyz.sidecar import Balance

BALANCES = Endpoint(
    "balances", "/v1/projects/{project_id}/balances", KeyKind.REGULAR, Capability.BALANCE
)
EXAMPLE_PROJECT: Final = "3fa85f64-5717-4562-b3fc-2c963f66afa6"  # the account of its examples
MONEY: Final = frozenset({"USD"})  # the one unit Deepgram documents; anything else is no money
_UNIT_WORD: Final = re.compile(r"[A-Z][A-Z0-9_]{1,15}")  # what a sidecar unit may be
NO_BALANCE_NOTE: Final = "Deepgram lists no balance for this project"


def parse_balances(payload: Any) -> Report:
    """Normalize a balances answer: one balance per unit, summed; only usd is money."""
    items = payload.get("balances") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise ParseError("the answer has no balances list")
    totals: dict[str, list[Decimal]] = {}
    notes: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise ParseError("a balances item is not an object")
        units = item.get("units")
        if not isinstance(units, str) or not units.strip():
            notes.append("a balance without units was left out")
            continue
        unit = units.strip().upper()
        if not _UNIT_WORD.fullmatch(unit):
            notes.append("a balance in a unit keyz cannot name was left out")
            continue
        amount = item.get("amount", 0)  # documented default: 0
        totals.setdefault(unit, []).append(parse_amount(amount, field="balances[].amount"))
    balances = []
    for unit, amounts in totals.items():
        total = sum(amounts, Decimal(0))
        if not total.is_zero() and total.adjusted() >= INTEGER_DIGITS:
            raise ParseError(f"the {unit} balances add up to more than {INTEGER_DIGITS} digits")
        balances.append(
            Balance(
                currency=unit,
                unit_kind="currency" if unit in MONEY else "provider",
                remaining=total,
                derived=["remaining"] if len(amounts) > 1 else [],
                source=BALANCES.path,
            )
        )
    if not items:
        notes.append(NO_BALANCE_NOTE)
    return Report(available=None, balances=balances, notes=sorted(set(notes)))


class Deepgram(Provider):
    id = "deepgram"
    title = "Deepgram"
    short_name = "dg"
    key_kind = KeyKind.REGULAR
    default_base_url = "https://api.deepgram.com"
    endpoints = (BALANCES,)
    options: ClassVar = {
        "project_id": Option(
            "the Deepgram project id (console.deepgram.com → Settings → Project ID)",
            pattern=r"[A-Za-z0-9-]{1,64}",
            required=True,
        )
    }
    example_options: ClassVar = {"project_id": EXAMPLE_PROJECT}
    key_help: ClassVar[str] = (
        "an API key of that project from console.deepgram.com → API Keys (keys get the "
        "Member scope by default; a key limited to narrower scopes may be refused)"
    )
    path_words = ("deepgram",)  # its keys have no documented prefix
    demo_key = "demo0000deepgram00000000000000000000000"

    async def fetch(self, ctx: FetchContext) -> Report:
        project = ctx.options["project_id"]  # required: Provider.report checked it is there
        headers = {"Authorization": f"Token {ctx.secret.value}"}
        payload = await ctx.get_json(BALANCES, headers=headers, path={"project_id": project})
        return parse_balances(payload)

    def examples(
        self,
        now: datetime,
        *,
        project_id: str = EXAMPLE_PROJECT,
        balances: Sequence[tuple[str, str]] = (("200", "usd"),),
    ) -> dict[str, Example]:
        """balances: (amount, units) of each item, as Deepgram lists them (amounts as numbers)."""
        items = [
            {
                "balance_id": f"bal-{n}",
                "amount": Decimal(amount),
                "units": units,
                "purchase_order_id": f"po-{n}",
            }
            for n, (amount, units) in enumerate(balances, 1)
        ]
        return {BALANCES.path.format(project_id=project_id): Example({"balances": items})}


PROVIDER = Deepgram()
