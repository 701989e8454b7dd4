"""Sidecar schema version 2, frozen: read version-2 files and upgrade them to version 3.

Never change these models: they describe files already in people's git history, and
schema/sidecar-v2.json is generated from them. The upgrade is pure and deterministic, so a
v2 file always becomes the same v3 bytes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from keyz.fields import Model, Money, Unit, UtcTime

_ISO_CURRENCY: Final = re.compile(r"[A-Z]{3}")
UnitKind = Literal["currency", "provider"]
Period = Literal["today", "this_week", "this_month", "last_30_days", "all_time"]


def _canonical(value: list[str]) -> list[str]:
    return sorted(set(value))


DerivedNames = Annotated[list[str], AfterValidator(_canonical)]


def _derived(description: str = "") -> Any:
    return Field(
        default_factory=list,
        description=description
        or "figures keyz computed from reported ones (e.g. remaining = purchased - used); "
        "every other figure is as the provider reported it",
    )


def _source() -> Any:
    return Field(
        default=None,
        description="the documented endpoint path the figures came from, e.g. /user/balance",
    )


class _Item(Model):
    """An item with provenance: which endpoint its figures came from, and which keyz derived."""

    FIGURES: ClassVar[tuple[str, ...]] = ()  # the fields ``derived`` may name

    derived: DerivedNames = _derived()
    source: str | None = _source()

    @model_validator(mode="after")
    def _derived_are_present_figures(self) -> Self:
        if not self.derived:
            return self  # the common case, on every version a history read validates
        unknown = [name for name in self.derived if name not in self.FIGURES]
        if unknown:
            raise ValueError(f"derived names unknown figures: {', '.join(unknown)}")
        missing = [name for name in self.derived if getattr(self, name) is None]
        if missing:
            raise ValueError(f"derived figures must be present: {', '.join(missing)}")
        return self


class Balance(_Item):
    """Money (or a provider's own unit) left on the account. ``remaining`` is spendable."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"remaining"})
    FIGURES: ClassVar[tuple[str, ...]] = (
        "remaining",
        "granted",
        "topped_up",
        "cash",
        "voucher",
        "credit_limit",
        "pending",
        "outstanding",
        "purchased",
        "used",
    )

    currency: Unit = Field(description="ISO 4217 code, or the provider's unit (POINTS, DIEM)")
    unit_kind: UnitKind = Field(
        default="currency",
        description="currency: an ISO 4217 currency; provider: a unit only this provider uses",
    )
    remaining: Money | None
    granted: Money | None = None  # free credit granted by the provider
    topped_up: Money | None = None  # paid in by the user, not yet spent
    cash: Money | None = None  # cash balance; negative when the user owes money
    voucher: Money | None = None  # voucher balance
    credit_limit: Money | None = None  # how much the provider lets the user owe
    pending: Money | None = None  # charges not yet settled
    outstanding: Money | None = None  # invoiced and unpaid
    purchased: Money | None = None  # all credit ever bought
    used: Money | None = None  # all credit ever used

    @model_validator(mode="after")
    def _currency_is_iso(self) -> Balance:
        if self.unit_kind == "currency" and not _ISO_CURRENCY.fullmatch(self.currency):
            raise ValueError(
                f"{self.currency!r} is not an ISO 4217 code; use unit_kind 'provider' for "
                "a provider's own unit"
            )
        return self


class KeyLimit(_Item):
    """A spending cap on the key itself (OpenRouter /key). ``limit`` null means no cap."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"limit", "remaining", "reset"})
    FIGURES: ClassVar[tuple[str, ...]] = ("limit", "remaining", "usage")

    currency: Unit = "USD"
    limit: Money | None
    remaining: Money | None
    usage: Money | None = None
    reset: Literal["daily", "weekly", "monthly"] | None = None


class SpendLine(Model):
    """One line of a spend breakdown (a model, a cost type, a project)."""

    label: str
    amount: Money


class Spend(_Item):
    """Provider-reported cost over a period. Never an estimate."""

    FIGURES: ClassVar[tuple[str, ...]] = ("amount",)

    period: Period = Field(
        description="today, this_week (from Monday), this_month, last_30_days (today included), "
        "all_time; all UTC"
    )
    start: UtcTime | None = None
    end: UtcTime | None = Field(
        default=None, description="exclusive end; absent when the period runs up to observed_at"
    )
    currency: Unit
    amount: Money
    breakdown: list[SpendLine] = Field(default_factory=list, max_length=10)
    derived: DerivedNames = _derived(
        "['amount'] when keyz summed the provider's own daily buckets for this period"
    )


class Quota(_Item):
    """A plan's allowance in a window that resets: how much of it is left, and when it resets."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"remaining_percent"})
    FIGURES: ClassVar[tuple[str, ...]] = ("remaining_percent", "used", "limit", "remaining")

    label: str = Field(description="what the window counts, as the provider names it")
    window: str | None = Field(default=None, description="length of the window: 5h, 1d, 7d, 1mo")
    remaining_percent: Money | None = Field(description="0-100; null when unknown or unlimited")
    used: Money | None = None
    limit: Money | None = None
    remaining: Money | None = None
    unit: str | None = Field(default=None, description="what used/limit count: tokens, ...")
    resets_at: UtcTime | None = None
    unlimited: bool = False


class SidecarV2(Model):
    # The docstring is the schema's description, kept as it was when version 2 was current.
    """Schema version 2 of a sidecar (the current one)."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"available", "balances"})

    schema_version: Literal[2] = 2
    entry: str
    provider: str
    observed_at: UtcTime
    available: bool | None
    balances: list[Balance] = Field(default_factory=list)
    key_limit: KeyLimit | None = None
    spend: list[Spend] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @field_validator("balances")
    @classmethod
    def _one_per_unit(cls, value: list[Balance]) -> list[Balance]:
        units = [b.currency for b in value]
        if len(set(units)) != len(units):
            raise ValueError("one balance per currency")
        return sorted(value, key=lambda b: b.currency)

    @field_validator("spend")
    @classmethod
    def _sorted_spend(cls, value: list[Spend]) -> list[Spend]:
        return sorted(value, key=lambda s: (s.currency, s.period))

    @field_validator("quotas")
    @classmethod
    def _sorted_quotas(cls, value: list[Quota]) -> list[Quota]:
        return sorted(value, key=lambda q: (q.label, q.window or ""))


def upgrade(old: SidecarV2) -> dict[str, Any]:
    """The version-3 document for a version-2 sidecar (validated by the caller).

    v3 only adds the optional ``account_keys`` list, so every v2 field is kept as it is.
    """
    data = old.model_dump(mode="json")
    data["schema_version"] = 3
    return data


__all__ = ["Balance", "KeyLimit", "Quota", "SidecarV2", "Spend", "SpendLine", "upgrade"]
