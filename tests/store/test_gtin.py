"""GTINs have one normal form (14 digits, valid GS1 check digit) for listings and notices."""

from __future__ import annotations

import pytest

from store.gtin import gtin_valid, normalise_gtin


@pytest.mark.parametrize("written, expected", [
    ("4006381333931", "04006381333931"),  # EAN-13
    ("4 006381 333931", "04006381333931"),  # as printed under the bars
    ("036000291452", "00036000291452"),  # UPC-A
    ("0036000291452", "00036000291452"),  # the same product as EAN-13
    ("96385074", "00000096385074"),  # EAN-8
    ("10614141000415", "10614141000415"),  # GTIN-14 (case)
    ("4006-381-33393-1", "04006381333931"),
    (4006381333931, "04006381333931"),  # a JSON-LD number
    ("\u00a04006381333931 ", "04006381333931"),
])
def test_valid_codes_in_every_length_share_one_form(written: object, expected: str) -> None:
    assert normalise_gtin(written) == expected
    assert normalise_gtin(expected) == expected  # idempotent: the writer may normalise again


@pytest.mark.parametrize("written", [
    "4006381333932",  # wrong check digit
    "400638133393",  # 12 digits, wrong check digit
    "12345",  # no GTIN length
    "00000000",  # all zeros passes the check digit but is no product
    "ABC4006381333931", "４００６３８１３３３９３１",  # letters; full-width digits
    "", None, True, 4.0, ["4006381333931"], "4" * 100,
])
def test_anything_else_is_no_gtin(written: object) -> None:
    assert normalise_gtin(written) is None


def test_check_digit() -> None:
    assert gtin_valid("4006381333931") and not gtin_valid("4006381333930")
    assert not gtin_valid("400638133393")  # 12 digits must carry their own check digit
