"""Platform profiles: a platform is data (a TOML file or a ``Platform.profile`` row), not code.

A profile says where a crawl starts (paths relative to the platform's base URL, so a platform
that moves host or port — the sandbox picks random ports — keeps its profile), which links to
follow, how to extract listings and sellers (CSS/XPath field rules, a JSON-API mapping, or
schema.org structured data), how polite to be, and which bureau supervises the platform (属地).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from store.errors import InvalidInput, NotFound

ExtractKind = Literal["css", "api", "structured-data"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Politeness(_Strict):
    """How hard a crawl may press the platform."""

    concurrency: int = Field(default=8, ge=1, le=64)
    delay: float = Field(default=0.0, ge=0, le=60)
    autothrottle: bool = False
    #: Retries on 5xx/timeouts (with exponential backoff) before a page counts as an error.
    retries: int = Field(default=3, ge=0, le=10)
    #: Longest Retry-After (seconds) a 429 may ask us to wait before we give up on the page.
    max_retry_after: float = Field(default=30.0, ge=0, le=600)
    #: Requests at once to one host (default: ``concurrency``); with subdomains followed, a
    #: shop's image or API host gets its own share.
    domain_concurrency: int | None = Field(default=None, ge=1, le=64)
    #: AutoThrottle's first and largest delay (seconds).  Scrapy starts at 5 s; a shop
    #: answering in 50 ms gets there in a few pages either way.
    start_delay: float = Field(default=1.0, ge=0, le=60)
    max_delay: float = Field(default=30.0, ge=0, le=600)
    #: Obey the shop's robots.txt (Scrapy's RobotsTxtMiddleware).
    robots_txt: bool = False


class Limits(_Strict):
    """Bounds on one crawl: pages fetched, time, link depth, bytes per page (0 = no limit).

    A crawl with a page or time bound, or one that skips seller pages, is *bounded*: it is
    recorded as such on its crawl run and never marks the listings it did not see as
    removed (it did not look everywhere)."""

    max_pages: int = Field(default=0, ge=0)
    #: Seconds (or "30m", "2h", "90s") after which the crawl stops.
    max_duration: float = Field(default=0.0, ge=0)
    #: Index listings only: seller pages are not fetched.
    products_only: bool = False
    max_depth: int = Field(default=0, ge=0)
    max_page_bytes: int = Field(default=5_000_000, ge=1024)
    timeout: float = Field(default=30.0, gt=0, le=300)

    @field_validator("max_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_duration(value)
        except InvalidInput as exc:  # pydantic reports ValueErrors with the field's name
            raise ValueError(str(exc)) from None

    @property
    def bounded(self) -> bool:
        return bool(self.max_pages or self.max_duration or self.products_only)


class Links(_Strict):
    """Which links a crawl follows (CSS selectors yielding hrefs; regexes on absolute URLs).

    ``navigate``: listing/category/next pages; ``product``: listing pages; ``seller``: seller
    pages.  For structured-data profiles, every same-site link not denied is followed and
    product pages are recognised by their structured data, so the selectors may stay empty.
    """

    navigate: list[str] = Field(default_factory=list)
    product: list[str] = Field(default_factory=list)
    seller: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    #: (regex, replacement) pairs applied to absolute URLs before dedup, so aliases of one
    #: page (``/i/1`` and ``/item/1.html``) are fetched once.
    rewrite: list[tuple[str, str]] = Field(default_factory=list)
    #: Read the site's robots.txt ``Sitemap:`` lines (else ``/sitemap.xml``), sitemap
    #: indexes and gzipped sitemaps, and fetch the pages they list.
    sitemaps: bool = False
    #: Follow links to subdomains of the shop's hosts (``img.shop.example``); off, the crawl
    #: stays on the hosts it starts on (and their ``www.`` twins).
    subdomains: bool = False


class Api(_Strict):
    """A JSON API mapping: pages of listings at ``list_url`` (``{page}`` is substituted)."""

    list_url: str
    #: One listing's record (``{id}`` substituted); empty = the list records are complete.
    item_url: str = ""
    #: Dotted path to the list of items in a page, and to the next page URL (or empty).
    items_path: str = "items"
    next_path: str = ""
    #: Listing field -> dotted path in an item.
    fields: dict[str, str] = Field(default_factory=dict)
    #: Seller API (``{id}`` substituted) and its field paths; empty = no seller details.
    seller_url: str = ""
    seller_fields: dict[str, str] = Field(default_factory=dict)


class Extract(_Strict):
    """How listings and sellers are read from pages."""

    kind: ExtractKind = "css"
    #: Listing field -> CSS selector (``::text``/``::attr()``) or ``xpath:`` expression.
    fields: dict[str, str] = Field(default_factory=dict)
    #: Seller field -> selector, applied on seller pages.
    seller_fields: dict[str, str] = Field(default_factory=dict)
    #: Listing cards on navigation pages: the card, its link, and fields read from the card
    #: as fallbacks for the listing page (a truncated page still gets its seller).
    card: str = ""
    card_link: str = "a::attr(href)"
    card_fields: dict[str, str] = Field(default_factory=dict)
    #: Regexes (first group) taking ids from URLs when the page does not state them.
    id_from_url: str = ""
    seller_id_from_url: str = ""
    #: Structured data: take the external id from productID/identifier (else the URL).
    id_from_data: bool = False
    #: Text showing a listing page says "this listing was removed" (besides 404/410).
    removed_markers: list[str] = Field(default_factory=lambda: [
        "已下架", "商品已删除", "no longer available", "has been removed"])
    api: Api | None = None
    #: Currency assumed when a price carries only an ambiguous symbol ("¥" is CNY or JPY).
    default_currency: str = "CNY"


class Browser(_Strict):
    """Whether pages need a browser (scrapy-playwright) and how it renders them."""

    enabled: bool = False
    #: CSS selector to wait for before the DOM is read (the app has rendered).
    wait_for: str = ""
    #: Pages rendered per browser context before the context is closed and a fresh one opened.
    pages_per_context: int = Field(default=200, ge=1)
    #: Resource types the browser never loads while indexing.
    block: list[str] = Field(default_factory=lambda: ["image", "font", "media"])


class Profile(_Strict):
    """A platform profile."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str
    company_name: str = ""
    #: 属地: the inspection bureau where the platform company sits.
    jurisdiction_bureau: str = ""
    filing_number: str | None = None
    #: Where the platform lives now; start URLs are resolved against it.
    base_url: str = ""
    start_urls: list[str] = Field(default_factory=lambda: ["/"])
    #: Extra domains links may lead to (the base URL's host is always allowed).
    allowed_domains: list[str] = Field(default_factory=list)
    politeness: Politeness = Field(default_factory=Politeness)
    limits: Limits = Field(default_factory=Limits)
    links: Links = Field(default_factory=Links)
    extract: Extract = Field(default_factory=Extract)
    browser: Browser = Field(default_factory=Browser)

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/") + "/" if value else value

    # -- derived ----------------------------------------------------------------------------

    def with_base_url(self, base_url: str) -> Profile:
        """This profile pointed at *base_url* (validated)."""
        return Profile.model_validate({**self.model_dump(), "base_url": base_url})

    def absolute(self, url: str) -> str:
        """*url* resolved against the base URL."""
        return urljoin(self.base_url, url) if self.base_url else url

    def resolved_start_urls(self) -> list[str]:
        urls = [self.absolute(u) for u in self.start_urls]
        bad = [u for u in urls if urlsplit(u).scheme not in {"http", "https"}]
        if bad:
            raise InvalidInput("profile.platform_start_url_absolute_set", self_code=self.code,
                               bad_0=bad[0])
        return urls

    def domains(self) -> list[str]:
        hosts = {urlsplit(u).hostname or "" for u in self.resolved_start_urls()}
        if self.base_url:
            hosts.add(urlsplit(self.base_url).hostname or "")
        return sorted(h for h in hosts | set(self.allowed_domains) if h)

    def to_row(self) -> dict[str, Any]:
        """The profile as stored in ``Platform.profile`` (JSON)."""
        return self.model_dump(mode="json")


_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"30m"``, ``"1.5h"`` (what ``--max-duration`` takes)."""
    value = text.strip().lower()
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(number):].strip()
    try:
        seconds = float(number) * _DURATION_UNITS[unit]
    except (KeyError, ValueError):
        raise InvalidInput("profile.duration_write_seconds_e_g", text=text) from None
    if seconds < 0:
        raise InvalidInput("profile.duration_negative", text=text)
    return seconds


def parse_profile(data: dict[str, Any], source: str = "profile") -> Profile:
    """Validate profile data, naming the first bad field in the error."""
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise InvalidInput("profile.error", source=source, where=where, first_msg=first['msg']) from exc


def load_profile_file(path: Path) -> Profile:
    """Read a TOML profile file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFound("profile.profile_file_does_exist", path=path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("profile.profile_file", path=path, exc=exc) from exc
    return parse_profile(data, str(path))


def shipped_profile_names() -> list[str]:
    """Names of the profiles that ship with spotcheck (``crawlers/profiles/*.toml``)."""
    folder = resources.files("crawlers").joinpath("profiles")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))


def shipped_profile(name: str) -> Profile:
    """A shipped profile by name (``mall``, ``spa``, ``shop``, ``structured-data``)."""
    if name not in shipped_profile_names():
        raise NotFound("profile.shipped_profile_have", name=name,
                       join_shipped_profile_names=', '.join(shipped_profile_names()))
    text = resources.files("crawlers").joinpath("profiles", f"{name}.toml").read_text("utf-8")
    return parse_profile(tomllib.loads(text), f"crawlers/profiles/{name}.toml")
