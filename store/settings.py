"""All of spotcheck's settings, in one place.

Settings come, in order of precedence, from keyword arguments, ``SPOTCHECK_*`` environment
variables, a ``spotcheck.toml`` file (in the working directory, or the file named by
``SPOTCHECK_CONFIG``), and the defaults below.  They live at the bottom layer (``store``) so
that every package can read them without importing the shell.
"""

from __future__ import annotations

import functools
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from store import clock
from store.errors import ConfigError

#: Rough conversion rates to CNY, so prices in different currencies can be compared.
#: Operators override them in spotcheck.toml (``[rates]``); exactness does not matter for
#: anomaly detection, the order of magnitude does.
DEFAULT_RATES_TO_CNY: dict[str, Decimal] = {
    "CNY": Decimal("1"),
    "USD": Decimal("7.2"),
    "EUR": Decimal("7.8"),
    "GBP": Decimal("9.1"),
    "JPY": Decimal("0.048"),
    "KRW": Decimal("0.0052"),
    "HKD": Decimal("0.92"),
}


class BrowserNotFound(ConfigError):
    """No Chromium could be found."""


def _config_file() -> Path:
    return Path(os.environ.get("SPOTCHECK_CONFIG", "spotcheck.toml"))


class Settings(BaseSettings):
    """Settings of one spotcheck installation."""

    model_config = SettingsConfigDict(
        env_prefix="SPOTCHECK_",
        extra="ignore",
        validate_default=True,
    )

    #: The data folder: SQLite database, content-addressed artifacts, keys, packs.
    home: Path = Field(default=Path("spotcheck-data"))
    #: SQLAlchemy URL; empty means a SQLite file in the data folder.
    db: str = ""
    #: Path to a Chromium executable; empty means auto-detect.
    browser: str = ""
    #: Redis URL for distributed crawls (scrapy-redis); empty means a local crawl.
    redis_url: str = ""
    #: Fetch listing photos during crawls (crawlers.photos): bounded per listing, kept by
    #: content in the artifacts folder, hashed for near-duplicate search.
    crawl_photos: bool = False
    #: Networks a capture may reach although they are loopback/private (e.g. "127.0.0.0/8"),
    #: optionally one port of them ("127.0.0.1:8080", "[::1]:8080"; see store.netrules).
    capture_allow_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: RFC 3161 time-stamping authorities (URLs), tried in order; empty means none.
    tsa_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Root (or intermediate) CA certificates, as PEM files, under which time-stamp tokens
    #: are trusted when verifying; a token under any other root fails verification.  PEM files
    #: in the data folder's ``keys/trusted-tsa/`` are trusted too (the demo puts its local
    #: TSA's root there).
    trusted_tsa_cas: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Fernet key (urlsafe base64) for persona secrets; empty means a key file in the data folder.
    secret_key: str = ""
    #: Conversion rates to CNY.
    rates: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_RATES_TO_CNY))
    #: Default console language.
    locale: str = "zh-CN"
    #: The bureau's time zone: every time a person reads (console, reports, CLI tables) is
    #: shown in it to the second; stored and machine-readable times stay UTC / ISO 8601.
    timezone: str = clock.DEFAULT_ZONE
    #: Key that signs console session cookies; empty means a key file in the data folder.
    session_secret: str = ""
    #: Mark console cookies Secure even when the request itself looks like plain HTTP
    #: (behind a TLS-terminating proxy); requests over HTTPS always get Secure cookies.
    secure_cookies: bool = False
    #: Scheduler (issue 8): seconds the one-scheduler-per-database lease lasts without a
    #: heartbeat (a scheduler killed with SIGKILL loses it after this), how many seconds late
    #: a missed fire time may still run after a restart (older ones are recorded as missed),
    #: and how often a running scheduler re-reads the campaigns' schedules.
    scheduler_lease_seconds: float = 30.0
    #: Seconds a crawl's hold on its crawl run lasts without a heartbeat: a crawl killed with
    #: SIGKILL on another host frees its run for a resumed crawl after this (on this host, at
    #: once: its process is gone).
    crawl_lease_seconds: float = 30.0
    scheduler_misfire_grace: int = 6 * 3600
    scheduler_sync_seconds: float = 30.0
    #: Capture bounds (issue 7): seconds a page may take to load and settle, and the bytes
    #: and resources one capture may pull, so a hostile page cannot hold or flood us.
    capture_timeout: float = 30.0
    capture_max_bytes: int = 50_000_000
    capture_max_resources: int = 500
    #: Pages captured in parallel, each in its own browser context.
    capture_concurrency: int = 3
    #: Capture every plan item's listing when its plan is approved and when it is bought
    #: (scheduler.offers), so every case has evidence of what was offered.  Off, nothing
    #: starts at approval; the ``offers`` job, when scheduled, still catches up.
    capture_offers: bool = True
    #: Print each captured page to a PDF as well (bounded at MAX_PDF_PAGES).  Off by default:
    #: the screenshots, the DOM and the WARC from the wire are the evidence, and printing
    #: cost a sixth of a real page's capture CPU (0.68 of 4.08 CPU s); a profile that
    #: wants the print (SPOTCHECK_CAPTURE_PDF=1) or one capture (``spotcheck capture --pdf``,
    #: the console's "also print a PDF") asks for it, and the capture records which.
    capture_pdf: bool = False
    #: Seconds each capture step may take (load, settle, scroll, screenshots, pdf, dom, …),
    #: overriding evidence.steps.DEFAULT_BUDGETS; capture_timeout stays the total ceiling.
    capture_step_timeouts: dict[str, float] = Field(default_factory=dict)
    #: Times one URL may fail (error status, refused, unreachable) before the capture's
    #: proxy stops answering it at once (a page re-requesting a missing image forever).
    capture_repeat_limit: int = 3
    #: The capturing machine's public IP address for the provenance record; when empty and
    #: capture_lookup_public_ip is on, it is looked up once per batch (needs the internet).
    capture_public_ip: str = ""
    capture_lookup_public_ip: bool = False
    #: Certificates the capture browser accepts although no trusted CA issued them, named by
    #: the base64 SHA-256 of their SubjectPublicKeyInfo (Chromium's
    #: --ignore-certificate-errors-spki-list): a test server's self-signed certificate, an
    #: internal mirror.  Empty in production; the chain is recorded in the capture either way.
    capture_trusted_spki: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Selectors of consent overlays' accept/close buttons, clicked before the screenshots
    #: (a JSON list in SPOTCHECK_CAPTURE_CONSENT_SELECTORS).
    capture_consent_selectors: list[str] = Field(default_factory=lambda: [
        "#onetrust-accept-btn-handler", "[data-consent=accept]", "[data-testid=consent-accept]",
        ".cookie-consent button.accept", "button:has-text('同意')", "button:has-text('接受')",
        "button:has-text('Accept all')", "button:has-text('Accept')", "button:has-text('I agree')",
    ])
    #: Public endpoints `spotcheck signals fetch` pulls new notices from (issue 22): Safety
    #: Gate's weekly-report index (each entry links its detail XML), the CPSC Recalls API, and
    #: Health Canada's recalls open-data JSON; and how long one download may take.
    signals_safety_gate_url: str = (
        "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en")
    signals_cpsc_url: str = "https://www.saferproducts.gov/RestWebServices/Recall"
    signals_health_canada_url: str = ("https://recalls-rappels.canada.ca/sites/default/files/"
                                      "opendata-donneesouvertes/HCRSAMOpenData.json")
    signals_fetch_timeout: float = 60.0
    #: argon2id cost of the console's and CLI's password hashes: passes over memory, memory
    #: in KiB, and lanes.  The defaults are argon2-cffi's (RFC 9106's low-memory profile:
    #: 3, 64 MiB, 4; about 0.2 CPU s a hash).  Lowering them makes every stored password
    #: cheaper to guess from a stolen database; raising them slows each login.  Hashes made
    #: with other parameters still verify and are re-made with these at the user's next login.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)
    #: Operator name recorded in custody events when no user is logged in.
    operator: str = Field(default_factory=lambda: os.environ.get("USER", "operator"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    @field_validator("capture_allow_networks", "tsa_urls", "capture_trusted_spki",
                     "trusted_tsa_cas", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """Accept ``a,b`` in an environment variable as well as a JSON/TOML list."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                import json

                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("capture_allow_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        from store.netrules import parse_rule

        for net in value:
            try:
                parse_rule(net)
            except ValueError as exc:
                raise ValueError(f"SPOTCHECK_CAPTURE_ALLOW_NETWORKS: {exc}") from exc
        return value

    @field_validator("capture_trusted_spki")
    @classmethod
    def _valid_spki(cls, value: list[str]) -> list[str]:
        import base64
        import binascii

        for pin in value:
            try:
                ok = len(base64.b64decode(pin, validate=True)) == 32
            except (binascii.Error, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"SPOTCHECK_CAPTURE_TRUSTED_SPKI: {pin[:60]!r} is not the "
                                 "base64 SHA-256 of a SubjectPublicKeyInfo")
        return value

    @model_validator(mode="after")
    def _argon2_memory_covers_lanes(self) -> Settings:
        """argon2 needs at least 8 KiB per lane; refuse the settings rather than the first login."""
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError(
                "SPOTCHECK_PASSWORD_HASH_MEMORY_KIB must be at least 8 × "
                f"SPOTCHECK_PASSWORD_HASH_PARALLELISM ({8 * self.password_hash_parallelism})")
        return self

    # -- derived values -------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.db:
            return self.db
        return f"sqlite:///{(self.home / 'spotcheck.db').resolve()}"

    @property
    def zone(self) -> ZoneInfo:
        """The bureau's time zone; a misspelt ``timezone`` is a configuration error."""
        try:
            return clock.zone(self.timezone)
        except clock.UnknownZone as exc:
            raise ConfigError("clock.setting_timezone_unknown_time_zone",
                              name=self.timezone) from exc

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def packs_dir(self) -> Path:
        return self.home / "packs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def ensure_home(self) -> Path:
        """Create the data folder (and its sub-folders) if needed, and return it."""
        for folder in (self.home, self.artifacts_dir, self.keys_dir, self.packs_dir,
                       self.reports_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self.home

    def chromium_path(self) -> str | None:
        """The Chromium executable Playwright should launch, or None for Playwright's own.

        Order: the ``browser`` setting; Playwright's own downloaded Chromium when present
        (None tells Playwright to use it); Debian's ``/usr/bin/chromium``; ``chromium`` or
        ``chromium-browser`` on PATH.  Raises :class:`BrowserNotFound` with install advice.
        """
        if self.browser:
            if not Path(self.browser).exists() and not shutil.which(self.browser):
                raise BrowserNotFound("settings.spotcheck_browser_does_exist",
                                      self_browser=self.browser)
            return self.browser
        if playwright_chromium_installed():
            return None
        for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
            if Path(candidate).exists():
                return candidate
        for name in ("chromium", "chromium-browser", "google-chrome"):
            found = shutil.which(name)
            if found:
                return found
        raise BrowserNotFound(
            "settings.chromium_found_debian_ubuntu_run"
        )

    def rate_to_cny(self, currency: str) -> Decimal | None:
        return self.rates.get(currency.upper())


@functools.cache
def playwright_chromium_installed() -> bool:
    """Whether Playwright's own Chromium build is downloaded (it cannot be on this machine)."""
    base = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache/ms-playwright"))
    if not base.is_dir():
        return False
    return any(p.name.startswith("chromium") and any(p.glob("chrome-linux*/chrome"))
               for p in base.iterdir())


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read once."""
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def configure(**overrides: Any) -> Settings:
    """Replace the process-wide settings (the CLI's global options and tests use this)."""
    global _settings
    _settings = Settings(**overrides)
    return _settings


# Times a person reads are in the process-wide settings' zone (store.clock cannot import this
# module: see its docstring).
clock.use_bureau_zone(lambda: get_settings().zone)
