"""Exact money: Decimal in, decimal strings out; never a float, never a made-up zero."""

from __future__ import annotations

import re
from decimal import Context, Decimal
from typing import Any, Final

from keyz.errors import ParseError

INTEGER_DIGITS: Final = 15  # up to 999 trillion: more than any account holds
FRACTION_DIGITS: Final = 12  # a trillionth: finer than any price; float noise is rounded away
MAX_TEXT: Final = 40  # characters; a JSON double needs at most 24
# ASCII decimal notation only: Decimal() would also read Arabic-Indic and full-width digits,
# '1_000' and ' 7 '.
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?([0-9]+))?")
MAX_EXPONENT: Final = 999
_QUANTUM: Final = Decimal(1).scaleb(-FRACTION_DIGITS)
_EXACT: Final = Context(prec=4 * MAX_TEXT)  # a bounded text divided by a scale: no rounding
WIDE: Final = Context(prec=100)  # rounding for display: figures and rates within the bounds fit


def parse_amount(value: Any, *, field: str, scale: Decimal | None = None) -> Decimal:
    """Turn a provider's number or numeric string into an exact Decimal within the bounds.

    ``scale`` divides the value, e.g. ``Decimal(100)`` for cents. Booleans, NaN,
    infinities and anything non-numeric are errors: a figure we cannot read is
    unknown, and unknown is never 0. The text is checked before any arithmetic (an
    exponent of three digits at most), and the result has at most ``INTEGER_DIGITS``
    digits before the point; past ``FRACTION_DIGITS`` places it is rounded.
    """
    if isinstance(value, bool) or value is None:
        raise ParseError(f"field {field!r} is {value!r}, expected a number")
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_TEXT:  # str() of a huge int is slow, or even refused
            raise ParseError(f"field {field!r} has more than {INTEGER_DIGITS} digits")
        text = str(value)
    elif isinstance(value, float):
        # json.loads(..., parse_float=Decimal) keeps floats out; this is a last guard.
        text = repr(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ParseError(f"field {field!r} is not a finite number")
        text = str(value)  # scientific notation for large exponents: short
    elif isinstance(value, str):
        text = value
    else:
        raise ParseError(f"field {field!r} is not a number")
    match = _NUMBER.fullmatch(text) if len(text) <= MAX_TEXT else None
    if match is None:
        raise ParseError(f"field {field!r} is not a plain decimal number")
    if match.group(1) and int(match.group(1)) > MAX_EXPONENT:  # checked before any arithmetic
        raise ParseError(
            f"field {field!r} has an exponent of more than {len(str(MAX_EXPONENT))} digits; "
            "not a figure keyz can believe"
        )
    amount = Decimal(text)
    if scale is not None:
        amount = _EXACT.divide(amount, scale)
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if amount.is_zero():
        return amount if -FRACTION_DIGITS <= exponent <= 0 else Decimal(0)  # '0E+5' is 0
    if exponent < -FRACTION_DIGITS and amount.adjusted() < INTEGER_DIGITS:
        amount = _EXACT.quantize(amount, _QUANTUM).normalize(_EXACT)
    if amount.adjusted() >= INTEGER_DIGITS:
        raise ParseError(
            f"field {field!r} has more than {INTEGER_DIGITS} digits before the point; "
            "not a figure keyz can believe"
        )
    return amount


def optional_amount(value: Any, *, field: str, scale: Decimal | None = None) -> Decimal | None:
    """Like :func:`parse_amount`, but a missing (``None``) value stays unknown."""
    if value is None:
        return None
    return parse_amount(value, field=field, scale=scale)


CENT: Final = Decimal("0.01")


def format_amount(amount: Decimal) -> str:
    """Plain positional notation, never an exponent: Decimal('1E+2') -> '100'."""
    text = format(amount, "f")
    if text.startswith("-") and amount.is_zero():
        text = text[1:]  # "-0.00" reads as a debt; it is nothing
    return text


def display_amount(amount: Decimal) -> str:
    """Two decimals at least, more only when the provider reported them."""
    cents = WIDE.quantize(amount, CENT)  # a wide context: never InvalidOperation on a big rate
    if amount.as_tuple().exponent in range(-2, 1) or amount == cents:
        return format_amount(cents)
    return format_amount(amount.normalize(WIDE))


__all__ = [
    "CENT",
    "FRACTION_DIGITS",
    "INTEGER_DIGITS",
    "WIDE",
    "display_amount",
    "format_amount",
    "optional_amount",
    "parse_amount",
]
