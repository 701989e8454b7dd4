"""Sidecar schema version 1, frozen: read old files and upgrade them to version 2.

Never change these models: they describe files already in people's git history.
The upgrade is pure and deterministic, so a v1 file always becomes the same v2 bytes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import Field, field_validator

from keyz.fields import Model, Money, Unit, UtcTime


class Balance(Model):
    """Money left in one currency. ``remaining`` is what can still be spent."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"remaining"})

    currency: Unit
    remaining: Money | None
    granted: Money | None = None
    topped_up: Money | None = None
    purchased: Money | None = None
    used: Money | None = None
    derived: list[str] = Field(
        default_factory=list,
        description="fields keyz computed from others (e.g. remaining = purchased - used)",
    )

    @field_validator("derived")
    @classmethod
    def _canonical_derived(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class KeyLimit(Model):
    """A spending cap on the key itself (OpenRouter /key). ``limit`` null means no cap."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"limit", "remaining", "reset"})

    currency: Unit = "USD"
    limit: Money | None
    remaining: Money | None
    usage: Money | None = None
    reset: Literal["daily", "weekly", "monthly"] | None = None


class SidecarV1(Model):
    """Schema version 1 of a sidecar."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"available", "balances"})

    schema_version: Literal[1] = 1
    entry: str
    provider: str
    observed_at: UtcTime
    available: bool | None
    balances: list[Balance] = Field(default_factory=list)
    key_limit: KeyLimit | None = None
    notes: list[str] = Field(default_factory=list)

    @field_validator("balances")
    @classmethod
    def _one_per_currency(cls, value: list[Balance]) -> list[Balance]:
        currencies = [b.currency for b in value]
        if len(set(currencies)) != len(currencies):
            raise ValueError("one balance per currency")
        return sorted(value, key=lambda b: b.currency)


# Where version-1 figures came from: only DeepSeek and OpenRouter wrote version 1.
_V1_SOURCES: Final[dict[str, dict[str, str]]] = {
    "deepseek": {"balances": "/user/balance"},
    "openrouter": {"balances": "/api/v1/credits", "key_limit": "/api/v1/key"},
}


def upgrade(old: SidecarV1) -> dict[str, Any]:
    """The version-2 document for a version-1 sidecar (validated by the caller).

    v2 adds per-item provenance (``source``, and ``unit_kind`` saying whether the
    unit is a currency) and room for spend and quota windows; every v1 figure
    keeps its value and its ``derived`` marks.
    """
    data = old.model_dump(mode="json")
    sources = _V1_SOURCES.get(old.provider, {})
    data["schema_version"] = 2
    for balance in data.get("balances", []):
        balance["unit_kind"] = "currency"  # v1 only ever held ISO 4217 currencies
        if "balances" in sources:
            balance["source"] = sources["balances"]
    if data.get("key_limit") is not None and "key_limit" in sources:
        data["key_limit"]["source"] = sources["key_limit"]
    return data


__all__ = ["Balance", "KeyLimit", "SidecarV1", "upgrade"]
