"""zh-CN and en for the console: gettext catalogues (Babel) chosen per request.

Templates use ``{{ _("...") }}``; the catalogues live in
``spotcheck/web/locale/<lang>/LC_MESSAGES/messages.po`` and are compiled to ``.mo`` in the repo.
After changing messages: ``python -m spotcheck.web.i18n update`` (extracts from the code and
templates, merges into the .po files), translate the empty ``msgstr`` in zh_CN, then
``python -m spotcheck.web.i18n compile``.  The language comes from the user's
preference, else the browser's Accept-Language, else the ``locale`` setting.
"""

from __future__ import annotations

import contextvars
import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

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


def choose(preference: str | None, accept_language: str | None, default: str | None) -> str:
    """The request's language: the stored preference, else the browser's, else *default*."""
    return (normalise(preference) or from_accept_language(accept_language)
            or normalise(default) or DEFAULT)


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


def refusal(exc: BaseException) -> str:
    """A refusal of the domain (:class:`store.errors.SpotcheckError`) in the reader's
    language: its message code rendered from store/messages.toml, not its English text."""
    render = getattr(exc, "message", None)
    return str(render(active())) if callable(render) else str(exc)


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


def extract() -> Catalog:
    """Every message of the console's Python code and templates (the .pot)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[2]
    catalog = Catalog(project="spotcheck")
    method_map = [("spotcheck/web/**.py", "python"),
                  ("spotcheck/web/templates/console/**.html", "jinja2")]
    options = {"spotcheck/web/templates/console/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, comments, context in extract_from_dir(
            root, method_map, options, keywords={"_": None, "gettext": None,
                                                 "ngettext": (1, 2)}):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def update_catalogues() -> None:
    """Merge newly extracted messages into every ``messages.po`` (obsolete ones dropped)."""
    from babel.messages.pofile import read_po, write_po

    template = extract()
    for lang in LANGUAGES.values():
        po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, no_location=True)
        missing = [m.id for m in catalog if m.id and not m.string and lang != "en"]
        print(f"updated {po}: {len(missing)} untranslated")


if __name__ == "__main__":
    {"compile": compile_catalogues, "update": update_catalogues}[sys.argv[1]]()
