"""Text as a page means it: the page's encoding, entities escaped twice, whitespace.

Why: real shops declare GBK and serve GB18030 (or the other way round), put a BOM before a
``<meta charset>`` that contradicts it, and escape names twice in their markup
(``Salt &amp;amp; Pepper``).  A listing's title is evidence an inspector reads, so it has to
be the text the shopper saw.
"""

from __future__ import annotations

import html
import re

from w3lib.encoding import html_to_unicode, http_content_type_encoding, read_bom

#: An entity left in text that was already unescaped once: the page escaped it twice.
_ENTITY = re.compile(r"&(?:#\d{2,7}|#x[0-9a-fA-F]{2,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_SPACE = re.compile(r"\s+")
#: Encodings pages declare for what is really their superset.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
             "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252",
             "big5": "big5hkscs", "shift_jis": "cp932", "euc-kr": "cp949"}


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, encoding) of an HTML *body*: BOM first, then the HTTP ``Content-Type``
    charset, then valid UTF-8, then ``<meta>``, then a guess; declared encodings widened to
    their supersets (a GBK page is decoded as GB18030, which contains it)."""
    encoding, text = html_to_unicode(content_type, body)
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8") and \
            http_content_type_encoding(content_type) is None and read_bom(body) == (None, None):
        # Only the page's own <meta> (or a guess) names a legacy encoding, and the bytes
        # are valid UTF-8 with characters beyond ASCII: the page was saved or re-encoded
        # as UTF-8 and kept its old <meta> (a browser's "save as", a CMS migration).
        # Legacy-encoded text of any length is practically never valid UTF-8 by accident.
        try:
            utf8 = body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if len(utf8) < len(body):
                return utf8, "utf-8"
    wide = _SUPERSET.get(encoding.lower().replace("-", "_").replace("_", "-"),
                         _SUPERSET.get(encoding.lower()))
    if wide and wide != encoding:
        try:
            return body.decode(wide), wide
        except UnicodeDecodeError:
            pass
    return text, encoding


def unescape_again(text: str) -> str:
    """*text* with entities that survived unescaping decoded again (markup escaped twice;
    JSON-LD, whose script text HTML does not decode, escaped once or twice); text without
    leftover entities comes back as it is."""
    for _ in range(2):  # JSON-LD is script text: HTML never decoded its entities once
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return text


def clean_text(value: object, limit: int = 1000) -> str:
    """One line of text: entities decoded once more if needed, whitespace collapsed,
    bounded."""
    if value is None:
        return ""
    text = unescape_again(str(value))
    return _SPACE.sub(" ", text).strip()[:limit]
