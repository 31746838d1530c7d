"""Chinese must render — as glyphs, not as empty boxes — in screenshots and in the PDFs the
project prints (reports, evidence packs; see test_cjk_pdf.py).  Without a CJK font every character falls back to
the same "tofu" box, so a one-stroke character (一) and a many-stroke one (龍) would leave the
same number of dark pixels; with the font the second leaves many times more."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset="utf-8"><style>body{margin:0}
div{font:120px/1 sans-serif;width:160px;height:160px;display:inline-block}</style>
<div id="a">一</div><div id="b">龍</div>"""


def ink(img: Image.Image) -> int:
    """Dark pixels: how much a glyph drew."""
    return int((np.asarray(img.convert("L")) < 128).sum())


def test_chinese_glyphs_in_a_screenshot(browser_page: Any) -> None:
    browser_page.set_content(PAGE)
    one = ink(Image.open(io.BytesIO(browser_page.locator("#a").screenshot())))
    dragon = ink(Image.open(io.BytesIO(browser_page.locator("#b").screenshot())))
    assert one > 0 and dragon > 3 * one, (one, dragon)
