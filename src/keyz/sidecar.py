"""Sidecar files: models, deterministic bytes, atomic writes, version checks.

One JSON file per tracked entry at ``.keyz/entries/<entry>.json``. Keys sorted,
2-space indent, UTF-8, trailing newline, figures as decimal strings in the
unit's major unit, no floats. Unknown figures are absent (or ``null`` where
the field is required), never ``0``.

Version log (docs/sidecar-format.md has the field reference):
    1  balances, key_limit, notes                     (frozen in sidecar_v1)
    2  provenance on every item (``source``, ``derived``, ``unit_kind``),
       more balance breakdown fields, ``spend`` and ``quotas`` sections (frozen in sidecar_v2)
    3  ``account_keys``: every key of the account with what it spent (OpenRouter /keys)
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from keyz.errors import SidecarError
from keyz.fields import Model, Money, Unit, UtcTime, format_time, parse_time, utc_now
from keyz.fsutil import atomic_write, read_capped, safe_path
from keyz.redact import Redactor

SCHEMA_VERSION: Final = 3
MAX_ACCOUNT_KEYS: Final = 200  # keys listed per sidecar: a few hundred bytes each
MAX_TEXT: Final = 100  # characters of a key's name or label
MAX_SIDECAR_BYTES: Final = 1 << 20  # a real one is a few KiB
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


_KEY_SHAPES: Final = Redactor()  # no secret registered: masks known key shapes only
Reset = Literal["daily", "weekly", "monthly"]


def _no_key(value: str | None) -> str | None:
    if value is not None and _KEY_SHAPES(value) != value:
        raise ValueError("holds something shaped like an API key; keys are never written")
    return value


KeyText = Annotated[str | None, AfterValidator(_no_key)]


class AccountKey(_Item):
    """One key of the account as the provider lists it (OpenRouter /keys): which key spends.

    Never the key itself: the provider's id of it (``hash``), its name and its masked label.
    """

    FIGURES: ClassVar[tuple[str, ...]] = (
        "limit",
        "remaining",
        "usage",
        "usage_today",
        "usage_this_week",
        "usage_this_month",
    )

    hash: KeyText = Field(
        default=None,
        max_length=128,
        description="the provider's id of the key (not the key); absent when it was withheld",
    )
    name: KeyText = Field(
        default=None, max_length=MAX_TEXT, description="the key's name, as the provider lists it"
    )
    label: KeyText = Field(
        default=None,
        max_length=MAX_TEXT,
        description="the key as the provider masks it, e.g. sk-or-v1-0e6...1c96; absent when "
        "withheld (keyz never writes a label that holds a key)",
    )
    disabled: bool | None = None
    currency: Unit = "USD"
    limit: Money | None = Field(default=None, description="the key's own cap; absent = none")
    remaining: Money | None = Field(default=None, description="what it may still spend under it")
    reset: Reset | None = Field(default=None, description="when the cap resets (UTC)")
    usage: Money | None = Field(default=None, description="what the key spent, all time")
    usage_today: Money | None = Field(default=None, description="spent in the current UTC day")
    usage_this_week: Money | None = Field(
        default=None, description="spent in the current UTC week (from Monday)"
    )
    usage_this_month: Money | None = Field(
        default=None, description="spent in the current UTC month"
    )
    created_at: UtcTime | None = None

    def order(self) -> tuple[bool, str, str, str]:
        """The sidecar's order: by hash (a stable id), keys without one last."""
        return (self.hash is None, self.hash or "", self.name or "", self.label or "")


class SidecarV3(Model):
    """Schema version 3 of a sidecar (the current one)."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"available", "balances"})

    schema_version: Literal[3] = 3
    entry: str
    provider: str
    observed_at: UtcTime
    available: bool | None
    balances: list[Balance] = Field(default_factory=list)
    key_limit: KeyLimit | None = None
    spend: list[Spend] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    account_keys: list[AccountKey] = Field(
        default_factory=list,
        max_length=MAX_ACCOUNT_KEYS,
        description="every key of the account with what it spent, sorted by hash",
    )
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

    @field_validator("account_keys")
    @classmethod
    def _sorted_keys(cls, value: list[AccountKey]) -> list[AccountKey]:
        hashes = [k.hash for k in value if k.hash is not None]
        if len(set(hashes)) != len(hashes):
            raise ValueError("one item per key hash")
        return sorted(value, key=AccountKey.order)

    def same_values(self, other: SidecarV3) -> bool:
        """Equal but for the time of observation."""
        return self.model_copy(update={"observed_at": other.observed_at}) == other


Sidecar = SidecarV3
VERSIONS: Final = (1, 2, 3)  # every version keyz reads; the last is SCHEMA_VERSION


def model(version: int) -> type[Model]:
    """The model of ``version``: the frozen older ones are imported only when a file of
    theirs is met (building their pydantic models is ~25 ms of every command's start-up)."""
    if version == SCHEMA_VERSION:
        return SidecarV3
    if version == 1:
        from keyz.sidecar_v1 import SidecarV1

        return SidecarV1
    if version == 2:
        from keyz.sidecar_v2 import SidecarV2

        return SidecarV2
    raise ValueError(f"no sidecar format version {version}")


def sidecar_path(keyz_dir: Path, entry: str) -> Path:
    return keyz_dir / "entries" / f"{entry}.json"


def checked_path(keyz_dir: Path, entry: str) -> Path:
    """Where entry's sidecar is, once no part of that path under ``.keyz/`` is a symlink."""
    return safe_path(keyz_dir, sidecar_path(keyz_dir, entry), SidecarError)


def read_entry(keyz_dir: Path, entry: str) -> Sidecar | None:
    """Entry's sidecar, or None when there is none yet."""
    return read(checked_path(keyz_dir, entry))


def dumps(sidecar: Sidecar) -> bytes:
    """The one byte representation of a sidecar (independent of dict order, clock and locale)."""
    data = sidecar.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def json_ready(sidecar: Sidecar) -> dict[str, object]:
    """The sidecar as the JSON object it is written as (for --json output)."""
    result: dict[str, object] = sidecar.model_dump(mode="json")
    return result


def loads(data: bytes, *, source: str = "sidecar") -> Sidecar:
    """Parse and check a sidecar; older versions are migrated in memory, newer refused."""
    return loads_checked(data, source=source)[0]


def loads_checked(data: bytes, *, source: str = "sidecar") -> tuple[Sidecar, bool]:
    """Like :func:`loads`, and whether ``data`` already is a valid current-version document."""
    try:  # fast path: pydantic-core parses and validates a good current file in one step
        return SidecarV3.model_validate_json(data), True
    except ValidationError:
        pass  # the slow path below says exactly what is wrong
    raw, version = _raw(data, source)
    try:
        if version == 1:
            from keyz.sidecar_v1 import SidecarV1
            from keyz.sidecar_v1 import upgrade as upgrade_v1

            raw = upgrade_v1(SidecarV1.model_validate(raw))
        if version <= 2:
            from keyz.sidecar_v2 import SidecarV2
            from keyz.sidecar_v2 import upgrade as upgrade_v2

            raw = upgrade_v2(SidecarV2.model_validate(raw))
        return SidecarV3.model_validate(raw), False
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SidecarError(
            f"{source} does not match sidecar format version {version} ({problems}); {_FIX}"
        ) from None


def version_of(data: bytes, *, source: str = "sidecar") -> int:
    """The schema_version a sidecar's bytes declare (checked, but not the rest of the file)."""
    return _raw(data, source)[1]


def _raw(data: bytes, source: str) -> tuple[dict[str, Any], int]:
    try:  # numbers stay numbers here, so money written as a number is refused
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{source} is not valid JSON ({exc}); {_FIX}") from None
    except (ValueError, RecursionError):  # a number past Python's digit limit, or deep nesting
        raise SidecarError(
            f"{source} is not a sidecar (a number too long, or nesting too deep); {_FIX}"
        ) from None
    if not isinstance(raw, dict):
        raise SidecarError(f"{source} is not a JSON object; {_FIX}")
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SidecarError(f"{source} has no valid schema_version; {_FIX}")
    if version > SCHEMA_VERSION:
        raise SidecarError(
            f"{source} has schema_version {version}, written by a newer keyz; upgrade keyz "
            f"(this one knows up to version {SCHEMA_VERSION}). The file was left untouched."
        )
    return raw, version


_FIX: Final = "fix or delete it (keyz will not overwrite a file it cannot read)"


def read(path: Path) -> Sidecar | None:
    """The sidecar at ``path``, or None when there is none yet (never through a symlink)."""
    try:
        data = read_capped(path, MAX_SIDECAR_BYTES, SidecarError)
    except FileNotFoundError:
        return None
    return loads(data, source=str(path))


def write_if_changed(path: Path, new: Sidecar, old: Sidecar | None) -> Sidecar:
    """Write ``new`` unless its values equal ``old``'s; returns what is on disk afterwards.

    Unchanged values leave the file alone: same bytes, same mtime, same observed_at.
    (An older-version file with unchanged values is rewritten in the current
    version, keeping its observed_at.) Under ``.keyz/``, ``path`` is a :func:`checked_path`.
    """
    if old is not None and old.same_values(new):
        current = old
        with contextlib.suppress(FileNotFoundError):  # gone meanwhile: written again below
            if read_capped(path, MAX_SIDECAR_BYTES, SidecarError) == dumps(current):
                return current
    else:
        current = new
    atomic_write(path, dumps(current), SidecarError)
    return current


def json_schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """JSON Schema of one sidecar version, as checked into schema/sidecar-v<N>.json."""
    # Validation mode describes every file keyz accepts; what it writes is a subset
    # (unknown optional figures are left out rather than written as null).
    schema = model(version).model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://keyz.invalid/schema/sidecar-v{version}.json"
    return schema


def json_schema_text(version: int = SCHEMA_VERSION) -> str:
    return json.dumps(json_schema(version), indent=2, sort_keys=True) + "\n"


__all__ = [
    "MAX_ACCOUNT_KEYS",
    "MAX_SIDECAR_BYTES",
    "SCHEMA_VERSION",
    "VERSIONS",
    "AccountKey",
    "Balance",
    "KeyLimit",
    "Quota",
    "Sidecar",
    "SidecarV3",
    "Spend",
    "SpendLine",
    "checked_path",
    "dumps",
    "format_time",
    "json_ready",
    "json_schema",
    "json_schema_text",
    "loads",
    "loads_checked",
    "parse_time",
    "read",
    "read_entry",
    "sidecar_path",
    "utc_now",
    "version_of",
    "write_if_changed",
]
