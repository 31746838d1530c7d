"""Normalising names, model codes and contacts so that different spellings compare equal.

Foreign notices, crawled listings and seller pages spell the same thing differently: full-width
characters, "LE-A1234" vs "LEA 1234", "Stride & Co." vs "STRIDE AND CO", "+86 138-0013-8000" vs
"13800138000".  Matching and seller networks compare these normalised keys, never raw text.
"""

from __future__ import annotations

import re
import unicodedata

from store.text import strip_format

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: Legal-form and shop words that do not distinguish one brand from another.
_BRAND_NOISE = {
    "inc", "incorporated", "co", "corp", "corporation", "company", "ltd", "limited", "llc", "gmbh",
    "ag", "sa", "sas", "srl", "spa", "bv", "kk", "plc", "the", "and", "official", "store", "shop",
    "flagship", "brand", "trading",
}
_BRAND_NOISE_ZH = ("官方旗舰店", "旗舰店", "专营店", "专卖店", "有限公司", "股份", "集团", "公司", "品牌")
#: A model-code-like token: letters and digits, at least one digit, optionally separated.
_MODEL_RUN = re.compile(r"[A-Za-z0-9]+(?:[-_./][A-Za-z0-9]+)*")

#: Bounds: crawled text is hostile, and normalising a megabyte title helps nobody.
MAX_TEXT = 2000


def fold(text: str | None) -> str:
    """NFKC, case-folded, punctuation to single spaces: the base of every comparison."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", strip_format(text[:MAX_TEXT])).casefold()
    text = text.replace("&", " and ")
    return _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()


def has_cjk(text: str | None) -> bool:
    """Whether *text* contains Chinese characters (zh text is compared with zh text)."""
    return bool(text and _CJK.search(text))


def brand_key(brand: str | None) -> str:
    """A brand's blocking key: folded, legal-form words dropped, no spaces ("stridecompany"→"stride")."""
    folded = fold(brand)
    if not folded:
        return ""
    for word in _BRAND_NOISE_ZH:
        folded = folded.replace(word, " ")
    words = [w for w in folded.split() if w not in _BRAND_NOISE]
    return "".join(words) or folded.replace(" ", "")


def model_key(model: str | None) -> str:
    """A model code without separators or case ("LE-A1234" and "le a1234" give "lea1234")."""
    if not model:
        return ""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", model[:200]).casefold())


def is_model_code(key: str) -> bool:
    """Whether a model key is specific enough to match on: letters and digits, length >= 4.

    Bare numbers ("2024", "500") and words are too common in titles to identify a product.
    """
    return (len(key) >= 4 and any(c.isdigit() for c in key) and any(c.isalpha() for c in key)) \
        or (len(key) >= 6 and key.isdigit())


def model_codes(text: str | None) -> set[str]:
    """The model-code-like keys in a free text (title, notice description), separators removed."""
    if not text:
        return set()
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT])
    out: set[str] = set()
    for run in _MODEL_RUN.findall(text):
        key = model_key(run)
        if is_model_code(key):
            out.add(key)
    return out


def split_models(text: str | None) -> list[str]:
    """Model numbers as notices write them ("Model 1234, 5678 and AB-12") as a clean list."""
    if not text:
        return []
    text = re.sub(r"(?i)\b(model|models|model numbers?|item|items|type|no\.?|numbers?)\b[:#]?",
                  " ", text[:MAX_TEXT])
    parts = re.split(r"[,;/\n]|\band\b|、|，|；", text)
    out: list[str] = []
    for part in parts:
        part = part.strip(" .:-")
        if part and len(part) <= 100 and part not in out:
            out.append(part)
    return out


# --- contacts (seller networks) -------------------------------------------------------------


def norm_phone(value: str | None) -> str:
    """Digits only, without the Chinese country prefix, so "+86 138-0013-8000" == "13800138000"."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value or ""))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) >= 7 else ""


def norm_email(value: str | None) -> str:
    value = unicodedata.normalize("NFKC", value or "").strip().lower()
    return value if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) else ""


def norm_handle(value: str | None) -> str:
    """WeChat/WhatsApp ids: case-insensitive, without spaces or a leading '@'."""
    value = unicodedata.normalize("NFKC", value or "").strip().lower().lstrip("@")
    value = re.sub(r"\s+", "", value)
    return value if len(value) >= 4 else ""


def norm_address(value: str | None) -> str:
    """Addresses without punctuation and spaces; short ones ("N/A", "China") identify nobody."""
    key = fold(value).replace(" ", "")
    return key if len(key) >= 8 else ""


def norm_licence(value: str | None) -> str:
    key = re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKC", value or "")).upper()
    return key if len(key) >= 8 else ""


CONTACT_NORMALISERS = {
    "phone": norm_phone, "mobile": norm_phone, "tel": norm_phone, "whatsapp": norm_phone,
    "email": norm_email, "wechat": norm_handle, "weixin": norm_handle, "qq": norm_handle,
    "address": norm_address, "licence": norm_licence, "license": norm_licence,
}


def contact_keys(contacts: dict[str, object] | None, licence: str | None = None) -> set[str]:
    """Typed, normalised contact keys ("phone:13800138000") of one seller.

    A WhatsApp id is a phone number, so it shares the "phone" space: a shop listing its WhatsApp
    and another listing the same number as phone are linked.
    """
    keys: set[str] = set()
    items: list[tuple[str, object]] = list((contacts or {}).items())
    if licence:
        items.append(("licence", licence))
    for kind, raw in items:
        kind = str(kind).lower()
        norm = CONTACT_NORMALISERS.get(kind)
        if norm is None:
            continue
        values = raw if isinstance(raw, list) else [raw]
        space = {"mobile": "phone", "tel": "phone", "whatsapp": "phone", "weixin": "wechat",
                 "license": "licence"}.get(kind, kind)
        for value in values[:20]:
            key = norm(str(value)) if value is not None else ""
            if key:
                keys.add(f"{space}:{key}")
    return keys
