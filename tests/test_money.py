import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyz.errors import ProviderError
from keyz.money import display_amount, format_amount, optional_amount, parse_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("110.00", "110.00"),
        ("5.25", "5.25"),
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


@pytest.mark.parametrize(
    "raw",
    [
        "١٠٠",  # Arabic-Indic digits: Decimal() reads them as 100
        "１２３",  # full-width digits
        "1_000",  # Python's digit separator
        " 7 ",
        "+5",
        "7\n",
        "0x10",
        "1e",
        "1e1000",  # an exponent of four digits is refused before any arithmetic
    ],
)
def test_only_ascii_decimal_notation_is_a_figure(raw: str) -> None:
    with pytest.raises(ProviderError, match="'x'"):
        parse_amount(raw, field="x")


@pytest.mark.parametrize(
    "raw",
    [
        "1e99999999",
        "-1e9999999",
        "1e999999999",
        Decimal("1e99999999"),
        Decimal("-1e9999999"),
        "1e30",
        "1000000000000000",  # 16 digits before the point
        "-1000000000000000",
        10**15,
        pytest.param(10**100000, id="10**100000"),  # str() of it would even raise
        1e300,
        pytest.param("1" * 5000, id="5000 digits"),
    ],
)
def test_figures_beyond_15_integer_digits_are_refused_without_computing(raw: object) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderError, match="'x'"):
        parse_amount(raw, field="x")
    assert time.monotonic() - started < 0.5


def test_the_bounds_hold_after_the_scale() -> None:
    assert parse_amount("99999999999999999", field="x", scale=Decimal(100)) == Decimal(
        "999999999999999.99"
    )
    with pytest.raises(ProviderError, match="15 digits"):
        parse_amount("100000000000000000", field="x", scale=Decimal(100))
    # 1/10000 units: 12 places after the conversion are still exact
    assert parse_amount("0.00000001", field="x", scale=Decimal(10000)) == Decimal("1E-12")


def test_largest_and_smallest_figures_are_kept_exactly() -> None:
    top = "999999999999999.999999999999"
    assert format_amount(parse_amount(top, field="x")) == top
    assert format_amount(parse_amount("-" + top, field="x")) == "-" + top
    assert format_amount(parse_amount("0.000000000001", field="x")) == "0.000000000001"


def test_float_noise_beyond_12_places_is_rounded_not_refused() -> None:
    assert format_amount(parse_amount(Decimal("0.30000000000000004"), field="x")) == "0.3"
    assert format_amount(parse_amount("0.06308160000000001", field="x")) == "0.0630816"
    assert parse_amount("1e-999", field="x") == 0
    assert parse_amount("123", field="x", scale=Decimal(10**14)) == Decimal("1E-12")
    assert format_amount(parse_amount("0E-20", field="x")) == "0"
    with pytest.raises(ProviderError, match="15 digits"):  # rounded up past the bound
        parse_amount("999999999999999.9999999999999", field="x")
    assert format_amount(parse_amount("0E+20", field="x")) == "0"


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(alphabet="0123456789.eE+-_ ١１", max_size=30)
    | st.integers(),
    st.sampled_from([None, Decimal(100), Decimal(-100), Decimal(10000)]),
)
def test_any_parsed_figure_is_within_the_bounds(raw: object, scale: Decimal | None) -> None:
    try:
        amount = parse_amount(raw, field="x", scale=scale)
    except ProviderError:
        return
    assert amount.is_finite() and amount.adjusted() < 15
    text = format_amount(amount)
    integer, _, fraction = text.lstrip("-").partition(".")
    assert len(integer) <= 15 and len(fraction) <= 12
    display_amount(amount)  # never raises
