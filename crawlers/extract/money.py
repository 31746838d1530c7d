"""Prices and currencies as a page means them: its locale's separators, its symbols.

Why: a German shop's ``1.299`` is one thousand two hundred and ninety-nine euros, a ``¥`` is
yuan on a Chinese page and yen on a Japanese one, and some shops still write withdrawn ISO
codes (``RUR``).  ``price-parser`` reads the number; this module tells it what the page's
conventions are and maps what it finds to an ISO 4217 code.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from urllib.parse import urlsplit

from babel.core import get_global
from babel.numbers import get_territory_currencies
from price_parser import Price

#: Withdrawn or informal codes → the current ISO 4217 code.
WITHDRAWN = {"RUR": "RUB", "BYR": "BYN", "VEF": "VES", "TRL": "TRY", "ROL": "RON", "MXP": "MXN",
             "GHC": "GHS", "ZMK": "ZMW", "MRO": "MRU", "STD": "STN", "LTL": "EUR", "LVL": "EUR",
             "EEK": "EUR", "SKK": "EUR", "HRK": "EUR", "RMB": "CNY", "NTD": "TWD",
             "YEN": "JPY", "EURO": "EUR", "CNH": "CNY"}
#: Symbols that name one currency wherever they are written.
SYMBOLS = {"€": "EUR", "£": "GBP", "₩": "KRW", "₹": "INR", "₽": "RUB", "₺": "TRY", "₫": "VND",
           "đ": "VND", "฿": "THB", "₱": "PHP", "₴": "UAH", "zł": "PLN", "R$": "BRL", "US$": "USD",
           "C$": "CAD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "HK$": "HKD",
           "S$": "SGD", "NT$": "TWD", "RM": "MYR", "Rp": "IDR", "Kč": "CZK", "Ft": "HUF",
           "лв": "BGN", "руб": "RUB", "р.": "RUB", "元": "CNY", "人民币": "CNY", "円": "JPY",
           "원": "KRW", "CHF": "CHF", "Fr.": "CHF", "TL": "TRY", "₪": "ILS", "lei": "RON",
           "kn": "EUR", "Dhs": "AED", "AED": "AED", "SAR": "SAR", "﷼": "SAR"}
#: Symbols shared by several currencies: the page's language or region decides.
AMBIGUOUS = {
    "$": {"": "USD", "US": "USD", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "HK": "HKD", "SG": "SGD",
          "TW": "TWD", "MX": "MXN", "AR": "ARS", "CL": "CLP", "CO": "COP", "zh-TW": "TWD"},
    "¥": {"": "CNY", "CN": "CNY", "ja": "JPY", "JP": "JPY"},
    "￥": {"": "CNY", "CN": "CNY", "ja": "JPY", "JP": "JPY"},
    "kr": {"": "SEK", "da": "DKK", "DK": "DKK", "nb": "NOK", "no": "NOK", "NO": "NOK",
           "is": "ISK"},
}
#: Languages whose shops write a decimal comma (``12,99``).
DECIMAL_COMMA = {"de", "fr", "es", "it", "pt", "ru", "nl", "pl", "tr", "vi", "id", "cs", "sk",
                 "da", "sv", "nb", "no", "fi", "ro", "hu", "uk", "el", "bg", "hr", "sl", "lt",
                 "lv", "et", "sr", "be"}
_ISO = re.compile(r"^[A-Z]{3}$")
_PLAIN_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
_ONE_GROUP = re.compile(r"^\s*\d{1,3}\.\d{3}\s*$")


def iso_currency(code: object) -> str | None:
    """An ISO 4217 code from a markup value (``"usd"``, ``"RUR"``, ``"€"``), else None."""
    if code is None:
        return None
    text = str(code).strip()
    upper = text.upper()
    if upper in WITHDRAWN:
        return WITHDRAWN[upper]
    if _ISO.match(upper):
        return upper
    return currency_from_symbol(text, "")


#: Country-code domains whose country is not their code's upper case.
_TLD_REGION = {"uk": "GB"}
#: Country-code domains sold worldwide as generic names: they say nothing of a shop's country.
_VANITY_TLD = frozenset({"ai", "cc", "co", "fm", "gg", "im", "io", "la", "ly", "me", "nu",
                         "sh", "so", "st", "to", "tv", "vc", "ws"})
#: Languages spoken as a first language in many countries with different currencies: the
#: language alone names no country (``en`` is not the United States, ``es`` not Spain).
_SPREAD_LANGUAGES = frozenset({"ar", "en", "es", "fr", "pt", "sw"})


def url_region(url: str) -> str:
    """The country a shop's address names (``www.amazon.co.jp`` → ``JP``), else ``""``:
    the region a page's language leaves open (an English page of a Japanese shop)."""
    host = urlsplit(url).hostname or ""
    tld = host.rsplit(".", 1)[-1].lower()
    if len(tld) != 2 or not tld.isalpha() or tld in _VANITY_TLD:
        return ""
    return _TLD_REGION.get(tld, tld.upper())


def region_currency(locale: str, region: str = "") -> str | None:
    """The currency of the country a page names, when it shows a price with no currency
    markup and no currency sign (``Giá: 53.400``, ``ราคา 1,290``), else None.

    Why: a shop's address often names no country (``.com``) and a profile's default currency
    is one country's; the page itself still says where it sells, and that beats any default.
    The same order as :func:`currency_from_symbol`: the locale's own region (``th-TH``,
    ``zh-TW``), then the shop's country by its address (*region*, :func:`url_region`), then
    the country a language is mostly spoken in (``th`` → Thailand, ``vi`` → Vietnam,
    ``zh-Hant`` → Taiwan), never for languages of many countries (``en``, ``es``, ``ar`` …).
    """
    parts = [part for part in locale.replace("_", "-").split("-") if part]
    lang = parts[0].lower() if parts else ""
    own = next((part.upper() for part in parts[1:] if len(part) == 2 and part.isalpha()), "")
    for country in (own, region.upper()):
        code = _territory_currency(country)
        if code:
            return code
    if not lang or lang in _SPREAD_LANGUAGES:
        return None
    script = next((part.title() for part in parts[1:] if len(part) == 4), "")
    likely = _likely_subtags().get(f"{lang}_{script}" if script else lang) or \
        _likely_subtags().get(lang) or ""
    return _territory_currency(likely.rsplit("_", 1)[-1]) if likely.count("_") == 2 else None


@lru_cache(maxsize=1)
def _likely_subtags() -> dict[str, str]:
    """CLDR's likely subtags (``th`` → ``th_Thai_TH``), through Babel."""
    return dict(get_global("likely_subtags"))


@lru_cache(maxsize=512)
def _territory_currency(territory: str) -> str | None:
    """The legal tender a country uses today (CLDR through Babel), else None."""
    if len(territory) != 2 or not territory.isalpha():
        return None
    try:
        codes = get_territory_currencies(territory.upper(), tender=True)
    except (KeyError, ValueError):
        return None
    return codes[0] if codes else None


def currency_from_symbol(symbol: str | None, locale: str, region: str = "") -> str | None:
    """The ISO code a currency *symbol* means on a page of *locale* (``zh-CN``, ``ja``);
    *region*: the shop's country by its address, asked when the locale's own region does
    not decide (``¥`` on an ``en-US`` page of ``amazon.co.jp`` is yen)."""
    if not symbol:
        return None
    symbol = symbol.strip()
    upper = symbol.upper()
    if upper in WITHDRAWN:
        return WITHDRAWN[upper]
    if _ISO.match(upper) and symbol.isupper():
        return upper
    if symbol in SYMBOLS:
        return SYMBOLS[symbol]
    for key, by_locale in AMBIGUOUS.items():
        if symbol == key or (key in symbol and len(symbol) <= 3):
            lang, _, own = locale.partition("-")
            return ((by_locale.get(locale) if locale else None)
                    or (by_locale.get(own.upper()) if own else None)
                    or (by_locale.get(region.upper()) if region else None)
                    or (by_locale.get(lang.lower()) if lang else None) or by_locale[""])
    return None


def markup_amount(value: object, locale: str = "") -> Decimal | None:
    """A markup price (a number, or a string that should be one) as a Decimal.  schema.org
    asks for a dot as the decimal mark; a comma-decimal page writing ``1.299`` means 1299."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _finite(Decimal(str(value)))
    text = str(value)
    if _ONE_GROUP.match(text) and locale.split("-")[0].lower() in DECIMAL_COMMA:
        return _finite(Decimal(text.replace(".", "")))
    if _PLAIN_NUMBER.match(text):
        try:
            return _finite(Decimal(text.strip()))
        except InvalidOperation:
            return None
    amount, _ = parse_price(text, locale)
    return amount


def parse_price(text: str, locale: str = "") -> tuple[Decimal | None, str | None]:
    """(amount, currency symbol as written) of a price as a page shows it.  price-parser
    reads it; a single separator followed by exactly three digits is a thousands separator
    (``1.299`` €, ``¥1,299``), one followed by one or two digits a decimal mark."""
    if not text:
        return None, None
    return _parse_price(str(text)[:200])


@lru_cache(maxsize=8192)
def _parse_price(text: str) -> tuple[Decimal | None, str | None]:
    """price-parser's reading of *text* (memoised: a page repeats its prices, a shop its
    price formats, and price-parser runs a dozen regexes per text)."""
    price = Price.fromstring(text)
    return (_positive(price.amount) if price.amount is not None else None), price.currency


def _finite(amount: Decimal) -> Decimal | None:
    """A markup amount as it is (a negative one too: the pipeline rejects it with its
    reason), zero as no price."""
    if not amount.is_finite() or amount == 0:
        return None
    return _positive(amount) if amount > 0 else amount


def _positive(amount: Decimal | None) -> Decimal | None:
    if amount is None or not amount.is_finite() or amount <= 0 or amount > Decimal(10) ** 12:
        return None
    if amount == amount.to_integral():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def format_amount(amount: Decimal | None) -> str | None:
    """*amount* as plain decimal text (``1299``, ``12.99``), never in exponent form."""
    if amount is None:
        return None
    return format(amount, "f")
