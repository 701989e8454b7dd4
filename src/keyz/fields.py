"""Field types shared by every sidecar version: exact money, UTC seconds, units.

Kept apart from the models so that a frozen old version (sidecar_v1) and the
current one validate figures the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

from keyz.clock import utc_now  # the clock's home; kept importable from here
from keyz.money import FRACTION_DIGITS, INTEGER_DIGITS, format_amount

DECIMAL_PATTERN: Final = rf"^-?[0-9]{{1,{INTEGER_DIGITS}}}(\.[0-9]{{1,{FRACTION_DIGITS}}})?$"
_DECIMAL: Final = re.compile(DECIMAL_PATTERN)
_BOUNDS: Final = f"at most {INTEGER_DIGITS} digits before the point and {FRACTION_DIGITS} after it"
_TIME_PATTERN: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _decimal_in(value: Any) -> Any:
    """Figures within the bounds only, so that every display and sum of them is exact and total."""
    if isinstance(value, float | bool):
        raise ValueError("figures are decimal strings, never floats")  # pydantic wants ValueError
    if isinstance(value, int):
        raise ValueError("figures are decimal strings, never numbers")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"
        raise ValueError(f"{shown} is not a plain decimal string with {_BOUNDS}")
    if isinstance(value, Decimal) and not _within_bounds(value):
        raise ValueError(f"{value:.3E} is not a figure with {_BOUNDS}")
    return value


def _within_bounds(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return (
        value.is_finite()
        and isinstance(exponent, int)
        and exponent >= -FRACTION_DIGITS
        and (value.is_zero() or value.adjusted() < INTEGER_DIGITS)
    )


def _time_in(value: Any) -> Any:
    if isinstance(value, str):
        if not _TIME_PATTERN.fullmatch(value):
            raise ValueError("times are UTC to the second, like 2026-11-22T10:15:00Z")
        return datetime.fromisoformat(value)  # C code; strptime was the slowest part of history
    return value


def _time_out(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# An exact figure written as a decimal string: money in the unit's major unit, or a count.
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_in),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
]
UtcTime = Annotated[
    datetime,
    BeforeValidator(_time_in),
    PlainSerializer(_time_out, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": r"Z$"}),
]
# An ISO 4217 code (USD, CNY) or a provider's own unit (POINTS, DIEM).
Unit = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]


class Model(BaseModel):
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


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time` (state files use the same format)."""
    parsed: datetime = _time_in(text)
    return parsed


def format_time(value: datetime) -> str:
    """UTC, seconds, 'Z': the one time format of sidecars and state."""
    return _time_out(value)


CLOCK_SKEW: Final = timedelta(minutes=5)  # two machines' clocks may differ by this much


def in_future(when: datetime, now: datetime | None = None) -> bool:
    """Observed after now (beyond ordinary clock skew): a clock that ran ahead wrote it."""
    return when > (now or utc_now()) + CLOCK_SKEW


__all__ = [
    "CLOCK_SKEW",
    "DECIMAL_PATTERN",
    "Model",
    "Money",
    "Unit",
    "UtcTime",
    "format_time",
    "in_future",
    "parse_time",
    "utc_now",
]
