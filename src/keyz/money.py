"""Exact money: Decimal in, decimal strings out; never a float, never a made-up zero."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from keyz.errors import ProviderError


def parse_amount(value: Any, *, field: str, scale: Decimal | None = None) -> Decimal:
    """Turn a provider's number or numeric string into an exact Decimal.

    ``scale`` divides the value, e.g. ``Decimal(100)`` for cents. Booleans, NaN,
    infinities and anything non-numeric are errors: a figure we cannot read is
    unknown, and unknown is never 0.
    """
    if isinstance(value, bool) or value is None:
        raise ProviderError(f"field {field!r} is {value!r}, expected a number")
    if isinstance(value, float):
        # json.loads(..., parse_float=Decimal) keeps floats out; this is a last guard.
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ProviderError(f"field {field!r} is not a number") from None
    if not amount.is_finite():
        raise ProviderError(f"field {field!r} is not a finite number")
    if scale is not None:
        amount = amount / scale
    return amount


def optional_amount(value: Any, *, field: str, scale: Decimal | None = None) -> Decimal | None:
    """Like :func:`parse_amount`, but a missing (``None``) value stays unknown."""
    if value is None:
        return None
    return parse_amount(value, field=field, scale=scale)


def format_amount(amount: Decimal) -> str:
    """Plain positional notation, never an exponent: Decimal('1E+2') -> '100'."""
    text = format(amount, "f")
    if text.startswith("-") and amount.is_zero():
        text = text[1:]  # "-0.00" reads as a debt; it is nothing
    return text


def display_amount(amount: Decimal) -> str:
    """Two decimals at least, more only when the provider reported them."""
    if amount.as_tuple().exponent in range(-2, 1) or amount == amount.quantize(Decimal("0.01")):
        return format_amount(amount.quantize(Decimal("0.01")))
    return format_amount(amount.normalize())


__all__ = ["display_amount", "format_amount", "optional_amount", "parse_amount"]
