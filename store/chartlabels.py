"""Row labels of the SVG bar charts (console pages and PDF reports) that fit beside the bars.

A label right-aligned against its bars runs off the chart's left edge when it is wider than
the label column, and a fixed cut by characters (``label[:28]``) still left a Chinese label
too wide while cutting a short Latin one.  Both chart makers size their label column and cut
their labels here, by an estimate of the rendered width.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = ["fit_labels", "text_width"]


def text_width(text: str, font_px: float = 12.0) -> float:
    """Rough width in pixels at *font_px*: a CJK character is a square, others about 0.57 of
    one (proportional Latin in Noto Sans)."""
    return sum(font_px if unicodedata.east_asian_width(ch) in "WF" else font_px * 0.57
               for ch in text)


def fit_labels(names: Iterable[Any], chart_width: float, *, minimum: float = 170.0,
               font_px: float = 12.0, share: float = 0.45) -> tuple[int, dict[str, str]]:
    """The label column's width (the longest label's, at least *minimum* and at most *share*
    of the chart) and each label as it fits there: whole, or cut with "…"."""
    texts = [str(n) for n in names]
    longest = max((text_width(t, font_px) for t in texts), default=0.0)
    left = int(min(max(minimum, longest + 16), chart_width * share))
    room = left - 12
    shown: dict[str, str] = {}
    for text in texts:
        cut = text
        while cut and text_width(cut, font_px) > room:
            cut = cut[:-1]
        shown[text] = text if cut == text else cut[:-1] + "…"
    return left, shown
