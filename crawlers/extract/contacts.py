"""Seller facts from free text, for shops no profile describes: contacts, filing, licence.

Seller networks are found through shared contacts, and "unfiled seller" is a risk signal, so
even a generic crawl reads them.  Patterns follow how Chinese storefronts publish them.
"""

from __future__ import annotations

import re

PHONE = re.compile(r"(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
WECHAT = re.compile(r"(?:微信|WeChat|wechat|VX|vx)\s*[:：]?\s*([A-Za-z][-_A-Za-z0-9]{5,19})")
#: Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters.
USCC = re.compile(r"\b[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}\b")
FILING = re.compile(r"(?:备案(?:编号|号)?|[Ff]iling(?: number| no\.?)?)\s*[:：]?\s*([A-Z0-9]{6,20})")
ADDRESS = re.compile(r"(?:地址|Address)\s*[:：]?\s*([^\n<·|]{4,120})")


def facts_from_text(text: str) -> dict[str, str]:
    """Phone, email, wechat, address, filing and licence numbers found in *text*."""
    out: dict[str, str] = {}
    if m := PHONE.search(text):
        out["phone"] = m.group(0)
    if m := EMAIL.search(text):
        out["email"] = m.group(0)
    if m := WECHAT.search(text):
        out["wechat"] = m.group(1)
    if m := ADDRESS.search(text):
        out["address"] = m.group(1).strip()
    if m := FILING.search(text):
        out["filing_number"] = m.group(1)
    if m := USCC.search(text):
        out["licence_number"] = m.group(0)
    return out
