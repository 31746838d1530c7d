"""GTINs (EAN/UPC barcodes): one normal form for every place that stores or compares them.

Why here: listings (the crawl writer) and foreign notices (Safety Gate ``barcode``, CPSC
``UPCs``) are matched by their GTINs, so both must write a barcode the same way.  The normal
form is the GS1 one: 14 digits, shorter GTIN-8/12/13 left-padded with zeros, which puts every
length in one key space (UPC-A ``036000291452`` and EAN-13 ``0036000291452`` are one product).
Only codes with a correct check digit are kept: a lot number, a date or an internal SKU
written in a "barcode" field must never link two products.
"""

from __future__ import annotations

import re

#: The lengths of GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14.
GTIN_LENGTHS = frozenset({8, 12, 13, 14})
#: What may separate the digits of one code as printed ("4 006381 333931", "4006-381-33393-1").
_SEPARATORS = re.compile(r"[\s\-.\u00a0\u2009\u202f]")
#: Longer than any GTIN as written with separators: bounds the work on hostile input.
_MAX_TEXT = 64


def gtin_valid(code: str) -> bool:
    """Whether *code* (digits only) is a GTIN-8/12/13/14 with a correct GS1 check digit."""
    if not code.isascii() or not code.isdigit() or len(code) not in GTIN_LENGTHS:
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def normalise_gtin(value: object) -> str | None:
    """The 14-digit GTIN of *value* (a code as a page or a notice writes it), or None when it
    is not a valid GTIN.

    Spaces, hyphens and dots inside the code are dropped; a number (JSON-LD ``"gtin13":
    4006381333931``) is read as its digits.  All zeros is not a product."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        return None
    code = _SEPARATORS.sub("", value.strip())
    if not gtin_valid(code) or not code.strip("0"):
        return None
    return code.zfill(14)
