"""Settings: environment, spotcheck.toml, defaults, and browser detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.errors import ConfigError
from store.settings import BrowserNotFound, Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SPOTCHECK_HOME", "SPOTCHECK_DB", "SPOTCHECK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.home == Path("spotcheck-data")
    assert s.database_url == f"sqlite:///{(tmp_path / 'spotcheck-data' / 'spotcheck.db')}"
    assert s.rate_to_cny("usd") is not None


def test_environment_beats_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "spotcheck.toml"
    cfg.write_text('db = "sqlite:///from-file.db"\nlocale = "en"\n'
                   'capture_allow_networks = ["127.0.0.0/8"]\n[rates]\nUSD = 7.0\n',
                   encoding="utf-8")
    monkeypatch.setenv("SPOTCHECK_CONFIG", str(cfg))
    monkeypatch.setenv("SPOTCHECK_DB", "postgresql+psycopg://root@127.0.0.1:5432/test")
    s = Settings()
    assert s.database_url.startswith("postgresql")
    assert s.locale == "en"
    assert s.capture_allow_networks == ["127.0.0.0/8"]
    assert str(s.rates["USD"]) == "7.0"


def test_comma_separated_env_lists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPOTCHECK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SPOTCHECK_CAPTURE_ALLOW_NETWORKS", "127.0.0.0/8, 10.0.0.0/8")
    assert Settings().capture_allow_networks == ["127.0.0.0/8", "10.0.0.0/8"]


def test_bad_network_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPOTCHECK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SPOTCHECK_CAPTURE_ALLOW_NETWORKS", "not-a-net")
    with pytest.raises(ValueError, match="CAPTURE_ALLOW_NETWORKS"):
        Settings()


def test_browser_setting_must_exist(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFound, match="does not exist"):
        Settings(browser=str(tmp_path / "no-chrome")).chromium_path()


def test_browser_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    import store.settings as mod

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(mod, "playwright_chromium_installed", lambda: False)
    monkeypatch.setattr(mod.Path, "exists", lambda self: False)
    with pytest.raises(ConfigError, match="apt-get install"):
        Settings().chromium_path()
