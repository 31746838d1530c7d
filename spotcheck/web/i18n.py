"""zh-CN and en for the console: gettext catalogues (Babel) chosen per request.

Templates use ``{{ _("...") }}`` / ``{% trans %}``; the catalogues live in
``spotcheck/web/locale/<lang>/LC_MESSAGES/messages.po`` and are compiled to ``.mo`` in the repo
(``python -m spotcheck.web.i18n compile`` after editing).  The language comes from the user's
preference, else the browser's Accept-Language, else the ``locale`` setting.
"""

from __future__ import annotations

import contextvars
import functools
import sys
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
#: Console languages: URL/preference code -> gettext catalogue name.
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT = "zh-CN"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("spotcheck_locale",
                                                              default=DEFAULT)


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue for *lang* (English source strings when absent)."""
    catalogue = LANGUAGES.get(lang)
    if catalogue is None:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [catalogue], domain="messages")


def normalise(code: str | None) -> str | None:
    """Map ``zh``, ``zh-cn``, ``zh_Hans_CN``, ``en-GB`` ... to a console language, or None."""
    if not code:
        return None
    try:
        loc = Locale.parse(code.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if loc.language == "zh":
        return "zh-CN"
    if loc.language == "en":
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best console language for an Accept-Language header (q-values respected)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, index, tag))
    for _q, _i, tag in sorted(ranked):
        lang = normalise(tag)
        if lang:
            return lang
    return None


def activate(lang: str) -> None:
    """Make *lang* the language of this request's rendering (a context variable)."""
    _current.set(lang if lang in LANGUAGES else DEFAULT)


def active() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def compile_catalogues() -> None:
    """Compile every ``messages.po`` to ``messages.mo`` (run after editing translations)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        with po.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)
        print(f"compiled {po.with_suffix('.mo')}")


if __name__ == "__main__" and sys.argv[1:] == ["compile"]:
    compile_catalogues()
