from decimal import Decimal

import pytest

from keyz.errors import ProviderError
from keyz.money import display_amount, format_amount, optional_amount, parse_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("110.00", "110.00"),
        (" 5.25 ", "5.25"),
        (Decimal("100.5"), "100.5"),
        (7, "7"),
        ("-250", "-250"),
    ],
)
def test_parse_amount_keeps_exact_digits(raw: object, expected: str) -> None:
    assert format_amount(parse_amount(raw, field="x")) == expected


@pytest.mark.parametrize("raw", [None, True, "", "abc", "NaN", "Infinity", "-inf", "1e", {}, []])
def test_parse_amount_refuses_what_is_not_a_finite_number(raw: object) -> None:
    with pytest.raises(ProviderError, match="'x'"):
        parse_amount(raw, field="x")


def test_scale_converts_minor_units_exactly() -> None:
    assert parse_amount("-250", field="cents", scale=Decimal(100)) == Decimal("-2.5")
    assert format_amount(parse_amount("1000000", field="x", scale=Decimal(10000))) == "100"


def test_unknown_stays_unknown_never_zero() -> None:
    assert optional_amount(None, field="x") is None


def test_format_never_uses_exponents_or_negative_zero() -> None:
    assert format_amount(Decimal("1E+2")) == "100"
    assert format_amount(Decimal("-0.00")) == "0.00"
    assert format_amount(Decimal("0.000001")) == "0.000001"


def test_display_shows_cents_and_keeps_extra_reported_precision() -> None:
    assert display_amount(Decimal("110")) == "110.00"
    assert display_amount(Decimal("5.5")) == "5.50"
    assert display_amount(Decimal("49.58894")) == "49.58894"
