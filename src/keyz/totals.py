"""``keyz status --total``: money summed per currency, and across currencies only at your rates.

Three sums, kept apart because they answer different questions:

- **balances**: money left on prepaid accounts (``balances[].remaining``), per ISO currency.
  A provider's own unit (POINTS, DIEM) is never summed: one provider's points are not another's.
- **key limits left**: what capped keys may still spend (``key_limit.remaining``). A key's cap
  is drawn from an account's money, often one already counted in balances, so adding the two
  would count the same money twice.
- **spent this month**: ``spend`` over ``this_month``, per currency.

Every total is keyz's arithmetic, so ``derived``. A figure that is unknown is left out and
named (``unknown``), never counted as 0; entries whose figures may be out of date are named
(``stale``). A total in one currency across several is made only with the rates the user
set in ``[rates]`` (never fetched), and only when every currency summed has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from keyz.config import Rate
from keyz.money import WIDE, display_amount, format_amount
from keyz.render import DERIVED_MARK
from keyz.status import StatusRow

TotalKind = Literal["balances", "key_limits", "spend_this_month"]
KINDS: Final[dict[TotalKind, str]] = {
    "balances": "balances",
    "key_limits": "key limits left",
    "spend_this_month": "spent this month",
}


@dataclass
class Total:
    kind: TotalKind
    currency: str
    amount: Decimal = Decimal(0)
    entries: list[str] = field(default_factory=list)  # the entries summed
    unknown: list[str] = field(default_factory=list)  # had the currency, amount unknown
    stale: list[str] = field(default_factory=list)  # summed, but may be out of date

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "currency": self.currency,
            "amount": format_amount(self.amount),
            "entries": self.entries,
            "unknown": self.unknown,
            "stale": self.stale,
            "derived": True,
        }


@dataclass
class Converted:
    """One kind's totals in the rates' target currency; None when a currency has no rate."""

    kind: TotalKind
    currency: str
    amount: Decimal | None
    missing: list[str] = field(default_factory=list)  # currencies summed without a rate

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "currency": self.currency,
            "amount": None if self.amount is None else format_amount(self.amount),
            "missing_rates": self.missing,
            "derived": True,
        }


@dataclass
class Totals:
    totals: list[Total]
    converted: list[Converted]
    rates: list[Rate]
    not_summed: list[str]  # 'api/poe: POINTS (a provider's own unit)'

    def to_json(self) -> dict[str, object]:
        return {
            "by_currency": [t.to_json() for t in self.totals],
            "converted": [c.to_json() for c in self.converted],
            "rates": [
                {"currency": r.currency, "amount": format_amount(r.amount), "target": r.target}
                for r in self.rates
            ],
            "not_summed": self.not_summed,
        }

    def lines(self) -> list[str]:
        """'total balances: CNY 110.00* · USD 5.25*; in USD at your [rates]: 20.65*'."""
        found = []
        for kind, title in KINDS.items():
            mine = [t for t in self.totals if t.kind == kind]
            if not mine:
                continue
            parts = " · ".join(
                f"{t.currency} {display_amount(t.amount)}{DERIVED_MARK}" for t in mine
            )
            notes = [f"{t.currency} unknown for {', '.join(t.unknown)}" for t in mine if t.unknown]
            stale = sorted({e for t in mine for e in t.stale})
            if stale:
                notes.append(f"includes figures that may be out of date: {', '.join(stale)}")
            line = f"total {title}: {parts}"
            for c in self.converted:
                if c.kind != kind:
                    continue
                if c.amount is None:
                    line += (
                        f"; in {c.currency}: no rate for {', '.join(c.missing)} "
                        f'(set [rates] {c.missing[0]} = "AMOUNT {c.currency}")'
                    )
                else:
                    line += f"; in {c.currency} at your [rates]: {display_amount(c.amount)}{DERIVED_MARK}"
            if notes:
                line += f" ({'; '.join(notes)})"
            found.append(line)
        return found + [f"not summed: {item}" for item in self.not_summed]


def total(rows: Sequence[StatusRow], rates: dict[str, Rate]) -> Totals:
    """The totals of ``rows``' current figures, converted with ``rates`` where they allow."""
    sums: dict[tuple[TotalKind, str], Total] = {}
    not_summed = []

    def add(kind: TotalKind, currency: str, amount: Decimal | None, row: StatusRow) -> None:
        item = sums.setdefault((kind, currency), Total(kind, currency))
        if amount is None:
            item.unknown.append(row.entry)
            return
        item.amount = WIDE.add(item.amount, amount)  # exact: 27 digits and more, never rounded
        item.entries.append(row.entry)
        if row.stale:
            item.stale.append(row.entry)

    for row in rows:
        sidecar = row.sidecar
        if sidecar is None:
            continue
        for balance in sidecar.balances:
            if balance.unit_kind != "currency":
                not_summed.append(f"{row.entry}: {balance.currency} (a provider's own unit)")
                continue
            add("balances", balance.currency, balance.remaining, row)
        cap = sidecar.key_limit
        if cap is not None and cap.limit is not None:  # no cap: nothing to sum
            add("key_limits", cap.currency, cap.remaining, row)
        for spend in sidecar.spend:
            if spend.period == "this_month":
                add("spend_this_month", spend.currency, spend.amount, row)
    order = list(KINDS)
    totals = sorted(sums.values(), key=lambda t: (order.index(t.kind), t.currency))
    converted = _convert(totals, rates)
    return Totals(totals, converted, sorted(rates.values(), key=lambda r: r.currency), not_summed)


def _convert(totals: Iterable[Total], rates: dict[str, Rate]) -> list[Converted]:
    if not rates:
        return []  # no rates set: nothing is ever converted
    target = next(iter(rates.values())).target  # config checks they all name one
    found = []
    for kind in KINDS:
        mine = [t for t in totals if t.kind == kind and t.entries]
        if not mine:
            continue
        missing = sorted(
            t.currency for t in mine if t.currency != target and t.currency not in rates
        )
        if missing:
            found.append(Converted(kind, target, None, missing))
            continue
        amount = Decimal(0)
        for t in mine:
            rate = Decimal(1) if t.currency == target else rates[t.currency].amount
            amount = WIDE.add(amount, WIDE.multiply(t.amount, rate))
        found.append(Converted(kind, target, amount))
    return found


__all__ = ["KINDS", "Converted", "Total", "Totals", "total"]
