"""Sidecar files: models, deterministic bytes, atomic writes, version checks.

One JSON file per tracked entry at ``.keyz/entries/<entry>.json``. Keys sorted,
2-space indent, UTF-8, trailing newline, money as decimal strings in the
currency's major unit, no floats. Unknown figures are absent (or ``null`` where
the field is required), never ``0``.

Version log:
    1  first format: balances, key_limit, notes
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_serializer,
)

from keyz.errors import SidecarError
from keyz.fsutil import atomic_write
from keyz.money import format_amount

SCHEMA_VERSION: Final = 1
_DECIMAL_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"


def _money_in(value: Any) -> Any:
    if isinstance(value, float | bool):
        raise ValueError(
            "money must be a decimal string, never a float"
        )  # pydantic wants ValueError
    if isinstance(value, str) and not value.lstrip("-").replace(".", "", 1).isdigit():
        raise ValueError(f"{value!r} is not a plain decimal string")
    return value


_TIME_PATTERN: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _time_in(value: Any) -> Any:
    if isinstance(value, str):
        if not _TIME_PATTERN.fullmatch(value):
            raise ValueError("times are UTC to the second, like 2026-11-22T10:15:00Z")
        return datetime.fromisoformat(value)  # C code; strptime was the slowest part of history
    return value


def _time_out(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN}),
]
UtcTime = Annotated[
    datetime,
    BeforeValidator(_time_in),
    PlainSerializer(_time_out, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": r"Z$"}),
]
Unit = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]


class _Model(BaseModel):
    """Frozen, strict, and drops unknown (None) optional fields when written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _keep_null: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_unknown(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {
            key: value
            for key, value in data.items()
            if key in self._keep_null or (value is not None and value != [])
        }


class Balance(_Model):
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


class KeyLimit(_Model):
    """A spending cap on the key itself (OpenRouter /key). ``limit`` null means no cap."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"limit", "remaining", "reset"})

    currency: Unit = "USD"
    limit: Money | None
    remaining: Money | None
    usage: Money | None = None
    reset: Literal["daily", "weekly", "monthly"] | None = None


class SidecarV1(_Model):
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

    def same_values(self, other: SidecarV1) -> bool:
        """Equal but for the time of observation."""
        return self.model_copy(update={"observed_at": other.observed_at}) == other


Sidecar = SidecarV1


def sidecar_path(keyz_dir: Path, entry: str) -> Path:
    return keyz_dir / "entries" / f"{entry}.json"


def dumps(sidecar: Sidecar) -> bytes:
    """The one byte representation of a sidecar (independent of dict order, clock and locale)."""
    data = sidecar.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def json_ready(sidecar: Sidecar) -> dict[str, Any]:
    """The sidecar as the JSON object it is written as (for --json output)."""
    result: dict[str, Any] = sidecar.model_dump(mode="json")
    return result


def loads(data: bytes, *, source: str = "sidecar") -> Sidecar:
    """Parse and check a sidecar; older versions are migrated in memory, newer refused."""
    try:  # fast path: pydantic-core parses and validates a good current file in one step
        return SidecarV1.model_validate_json(data)
    except ValidationError:
        pass  # the slow path below says exactly what is wrong
    try:  # numbers stay numbers here, so money written as a number is refused
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{source} is not valid JSON ({exc}); {_FIX}") from None
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
    try:
        return SidecarV1.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SidecarError(
            f"{source} does not match the sidecar format ({problems}); {_FIX}"
        ) from None


_FIX: Final = "fix or delete it (keyz will not overwrite a file it cannot read)"


def read(path: Path) -> Sidecar | None:
    """The sidecar at ``path``, or None when there is none yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SidecarError(f"cannot read {path}: {exc.strerror}") from None
    return loads(data, source=str(path))


def write_if_changed(path: Path, new: Sidecar, old: Sidecar | None) -> Sidecar:
    """Write ``new`` unless its values equal ``old``'s; returns what is on disk afterwards.

    Unchanged values leave the file alone: same bytes, same mtime, same observed_at.
    """
    if old is not None and old.same_values(new):
        current = old
        if path.read_bytes() == dumps(current):
            return current
    else:
        current = new
    atomic_write(path, dumps(current))
    return current


def json_schema() -> dict[str, Any]:
    """JSON Schema of the current sidecar version, as checked into schema/."""
    # Validation mode describes every file keyz accepts; what it writes is a subset
    # (unknown optional figures are left out rather than written as null).
    schema = SidecarV1.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://keyz.invalid/schema/sidecar-v{SCHEMA_VERSION}.json"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time` (state files use the same format)."""
    parsed: datetime = _time_in(text)
    return parsed


def format_time(value: datetime) -> str:
    """UTC, seconds, 'Z': the one time format of sidecars and state."""
    return _time_out(value)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


__all__ = [
    "SCHEMA_VERSION",
    "Balance",
    "KeyLimit",
    "Sidecar",
    "SidecarV1",
    "dumps",
    "format_time",
    "json_ready",
    "json_schema",
    "json_schema_text",
    "loads",
    "parse_time",
    "read",
    "sidecar_path",
    "utc_now",
    "write_if_changed",
]
