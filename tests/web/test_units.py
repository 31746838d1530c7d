"""Charts, users and languages without a server."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import argon2
import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError
from sqlalchemy import select

from spotcheck import users
from spotcheck.web import charts, i18n
from store.db import Database
from store.errors import Conflict, InvalidInput, NotFound
from store.models import User
from store.settings import Settings

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[float]:
    root = ET.fromstring(svg)
    return [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")
            if "bar" in (r.get("class") or "")]


def test_bar_chart_is_proportional_and_escapes_labels() -> None:
    svg = str(charts.bar_chart([("<script>x</script>", 10), ("b", 5), ("c", 0)], title="t&t"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    widths = _bars(svg)
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == 0


def test_histogram_counts_and_progress() -> None:
    root = ET.fromstring(str(charts.histogram([0.05, 0.05, 0.95, 2.0], title="h", bins=10,
                                              lo=0, hi=1)))
    titles = [t.text for r in root.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert "0.00–0.10: 2" in titles and "0.90–1.00: 1" in titles  # 2.0 is outside [0, 1]
    svg = str(charts.progress([("a", 3), ("b", 1)], total=8, title="p", width=400))
    assert "4 / 8 (50%)" in svg
    assert sum(_bars(svg)) == pytest.approx(200)
    ET.fromstring(str(charts.line_chart([("d1", 1.0), ("d2", 3.0)], title="l")))


def test_passwords(sqlite_db: Database) -> None:
    with pytest.raises(InvalidInput):
        users.add_user(sqlite_db, "x", "sampler", "short", actor="t")
    with pytest.raises(InvalidInput):
        users.add_user(sqlite_db, "bad name!", "sampler", "long enough pw", actor="t")
    with pytest.raises(InvalidInput):
        users.add_user(sqlite_db, "x", "boss", "long enough pw", actor="t")
    users.add_user(sqlite_db, "lee", "investigator", "long enough pw", actor="t")
    with pytest.raises(Conflict):
        users.add_user(sqlite_db, "lee", "admin", "long enough pw", actor="t")
    assert users.authenticate(sqlite_db, "lee", "long enough pw") is not None
    assert users.authenticate(sqlite_db, "lee", "wrong password") is None
    assert users.authenticate(sqlite_db, "nobody", "long enough pw") is None
    with pytest.raises(NotFound):
        users.set_password(sqlite_db, "nobody", "long enough pw", actor="t")
    users.set_active(sqlite_db, "lee", False, actor="t")
    assert users.authenticate(sqlite_db, "lee", "long enough pw") is None


def _stored_hash(db: Database, name: str) -> str:
    with db.session() as s:
        stored = s.scalars(select(User.password_hash).where(User.name == name)).one()
    assert stored is not None
    return stored


def test_password_cost_defaults_are_argon2s_strong_ones(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """Production keeps argon2-cffi's own cost (RFC 9106 low memory), whatever the test
    suite's environment lowers: the settings' defaults, and a hash made with them."""
    for var in ("SPOTCHECK_PASSWORD_HASH_TIME_COST", "SPOTCHECK_PASSWORD_HASH_MEMORY_KIB",
                "SPOTCHECK_PASSWORD_HASH_PARALLELISM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPOTCHECK_CONFIG", str(tmp_path / "absent.toml"))
    settings = Settings()
    strong = argon2.profiles.RFC_9106_LOW_MEMORY
    assert strong == argon2.profiles.get_default_parameters()
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib,
            settings.password_hash_parallelism) == (strong.time_cost, strong.memory_cost,
                                                    strong.parallelism) == (3, 65536, 4)
    made = argon2.extract_parameters(users.hash_password("long enough pw", settings))
    assert made == strong
    with pytest.raises(ValidationError):  # argon2 needs 8 KiB a lane: refused at start
        Settings(password_hash_memory_kib=16, password_hash_parallelism=4)


def test_password_rehashed_at_login_when_cost_changed(sqlite_db: Database) -> None:
    """A bureau raising the cost: old hashes still verify, and each is re-made at the new
    cost at its user's next successful login (not at a failed one)."""
    users.add_user(sqlite_db, "lee", "investigator", "long enough pw", actor="t")
    old = _stored_hash(sqlite_db, "lee")
    assert argon2.extract_parameters(old).time_cost == 1  # the suite's cheapest cost
    # A hash from elsewhere, at yet another cost, verifies too.
    foreign = PasswordHasher(time_cost=2, memory_cost=64, parallelism=2).hash("long enough pw")
    assert users.password_matches(foreign, "long enough pw")
    assert not users.password_matches(foreign, "wrong password")

    raised = Settings(home=sqlite_db.settings.home if sqlite_db.settings else Path("."),
                      password_hash_time_cost=2, password_hash_memory_kib=32,
                      password_hash_parallelism=2)
    db = Database.open(str(sqlite_db.engine.url), settings=raised)
    try:
        assert users.authenticate(db, "lee", "wrong password") is None
        assert _stored_hash(db, "lee") == old
        assert users.authenticate(db, "lee", "long enough pw") is not None
        new = _stored_hash(db, "lee")
        assert new != old and new.startswith("$argon2id$")
        params = argon2.extract_parameters(new)
        assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 32, 2)
        assert users.authenticate(db, "lee", "long enough pw") is not None
        assert _stored_hash(db, "lee") == new  # at the configured cost: left alone
    finally:
        db.dispose()


def test_user_cli(tmp_path: Path) -> None:
    """Users from the CLI, in-process (tests.clirun; the entry point's subprocess test is in
    tests/shell), prompts answered on stdin."""
    from tests.clirun import Ran
    from tests.clirun import spotcheck as spotcheck_in_process

    env = {"SPOTCHECK_HOME": str(tmp_path / "d"),
           "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           "SPOTCHECK_SESSION_FILE": str(tmp_path / "session.json")}

    def run(*args: str, stdin: str | None = None) -> Ran:
        return spotcheck_in_process(*args, env=env, unset=("SPOTCHECK_DB",), stdin=stdin)

    # The first administrator is added from the server's shell, without a login.
    assert run("user", "add", "boss", "--role", "admin", "--password", "long enough pw",
               "--json").returncode == 0
    # From then on, managing users needs an administrator who proves it (--user is a label).
    claim = run("-u", "boss", "user", "add", "sam", "--role", "sampler", "-p", "long enough pw")
    assert claim.returncode == 4 and "已登录的用户" in claim.stderr
    login = run("login", "boss", "--password-stdin", "--json", stdin="long enough pw\n")
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout)["user"] == "boss"
    assert (os.stat(env["SPOTCHECK_SESSION_FILE"]).st_mode & 0o777) == 0o600
    assert run("user", "add", "boss", "--role", "admin", "--password",
               "long enough pw").returncode == 4
    assert run("user", "add", "x", "--role", "king", "--password",
               "long enough pw").returncode == 2
    r = run("user", "add", "sam", "--role", "sampler", stdin="typed password\ntyped password\n")
    assert r.returncode == 0, r.stderr
    # The prompt is the default and confirms: two different typings add nobody.
    r = run("user", "add", "tom", "--role", "sampler", stdin="typed password\ntyped passwrd\n"
            "x\n")
    assert r.returncode != 0
    # --password stays for scripts; its help says who else can read it.
    helped = run("user", "add", "--help").stdout
    assert "本机其他用户可以看到" in helped and "--password-stdin" in helped, helped
    # --password-stdin for scripts (nothing on the command line); not with --password too.
    r = run("user", "add", "sid", "--role", "sampler", "--password-stdin", "--json",
            stdin="piped password 1\n")
    assert r.returncode == 0, r.stderr
    assert run("user", "add", "zed", "--role", "sampler", "--password-stdin", "-p",
               "long enough pw", stdin="piped password 2\n").returncode == 2
    r = run("user", "passwd", "sid", "--password-stdin", stdin="piped password 3\n")
    assert r.returncode == 0, r.stderr
    assert run("user", "add", "amy", "--role", "sampler", "--password-stdin",
               stdin="\n").returncode == 2  # an empty line is too short, as any password
    assert run("user", "disable", "sam").returncode == 0
    assert run("user", "passwd", "ghost", "-p", "long enough pw").returncode == 3
    # The audit log credits the authenticated administrator, not a label.
    audit = json.loads(run("whoami", "--json").stdout)
    assert audit["authenticated"] == "boss" and audit["actor"] == "boss"
    assert run("logout").returncode == 0
    assert run("user", "disable", "boss").returncode == 4  # logged out: refused again
    listed = json.loads(run("user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["active"]) for u in listed] == [
        ("boss", "admin", True), ("sam", "sampler", False), ("sid", "sampler", True)]
    assert all("hash" not in json.dumps(u) for u in listed)
    db = Database.open(Settings(home=tmp_path / "d").database_url)
    try:
        assert users.authenticate(db, "sam", "typed password") is None  # disabled
        assert users.authenticate(db, "sid", "piped password 3") is not None  # stdin, passwd
        from sqlalchemy import select

        from store.models import AuditEvent
        with db.session() as s:
            actions = [(e.actor, e.action) for e in s.scalars(select(AuditEvent)
                                                             .order_by(AuditEvent.id))]
        assert ("boss", "user.disable") in actions and actions[0][1] == "user.add"
    finally:
        db.dispose()


def test_accept_language() -> None:
    assert i18n.from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert i18n.from_accept_language("fr-FR, zh-TW;q=0.5, en;q=0.4") == "zh-CN"
    assert i18n.from_accept_language("en;q=0.2, zh;q=0.9") == "zh-CN"
    assert i18n.from_accept_language("de, fr") is None
    assert i18n.from_accept_language("xx-;q=abc") is None


def test_every_message_is_translated_to_chinese() -> None:
    """Every string of the console's code and templates has a zh-CN translation."""
    from babel.messages.pofile import read_po

    po = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in i18n.extract() if m.id and not (
        catalog.get(m.id) and catalog.get(m.id).string)]
    assert missing == []
    assert len(list(i18n.extract())) > 200
    i18n.activate("zh-CN")
    assert i18n.gettext("Campaigns") == "抽检活动"
    i18n.activate("en")
    assert i18n.gettext("Campaigns") == "Campaigns"


def test_a_classification_reason_reads_as_a_sentence_not_as_its_fields() -> None:
    """crawlers.classify stores {"rule", "class", "field", "matched", "reason_zh",
    "reason_en"}; the listing page shows the rule's sentence and the matched word, in the
    reader's language, never ``rule=…, class=…``."""
    from spotcheck.web.routes.campaigns import reason_text

    reason = {"rule": "ccc-household-appliances", "class": "key", "field": "title",
              "matched": "电水壶", "reason_zh": "家用电器，须 CCC 认证",
              "reason_en": "household appliance, CCC certification required"}
    i18n.activate("zh-CN")
    assert reason_text(reason) == "家用电器，须 CCC 认证（标题：“电水壶”）"
    assert reason_text({"rule": "ccc", "matched": "充电"}) == "分类规则 ccc（“充电”）"
    # a row that names only its rule reads the rule's reason from the rules file
    assert reason_text({"rule": "ccc-toys", "field": "title", "matched": "玩具"}) == \
        "强制性产品认证（CCC）目录：玩具（标题：“玩具”）"
    i18n.activate("en")
    try:
        assert reason_text(reason) == \
            "household appliance, CCC certification required (title: “电水壶”)"
    finally:
        i18n.activate("zh-CN")


def test_a_time_kept_as_iso_text_reads_in_the_bureau_s_zone() -> None:
    from spotcheck.web.deps import when

    i18n.activate("zh-CN")
    assert when("2026-12-07T17:30:00+00:00") == "2026-12-08 01:30:00 北京时间"
    assert when("not a time") == "not a time"


def test_a_risk_reason_reads_from_its_code_as_the_catalogue_says_it_now() -> None:
    """A plan drawn before the match keys were labelled kept "model:ME-R2484" in its text:
    the page reads the reason from its code and parameters (the points beside it)."""
    from spotcheck.web.routes.campaigns import reason_text

    stored = {"code": "risk:notice_match", "points": 7.04, "params": {
        "source": "cpsc", "reference": "26104", "score": 0.88, "status": "proposed",
        "method": "brand+model", "keys": ["model:ME-R2484", "brand:meiju"]},
        "en": "matches CPSC recall 26104 (… brand + model model:ME-R2484)",
        "zh": "与美国 CPSC 召回 26104 匹配（… 品牌+型号 model:ME-R2484）"}
    i18n.activate("zh-CN")
    assert reason_text(stored) == ("与美国 CPSC 召回 26104 匹配（0.88，疑似匹配，尚未人工确认；"
                                   "品牌+型号：型号 ME-R2484） (+7.04)")
    # parameters that no longer fill the sentence: the stored text
    assert reason_text({**stored, "params": {"x": 1}}).startswith("与美国 CPSC 召回 26104 匹配（…")


def test_bar_chart_labels_fit_beside_their_bars() -> None:
    """The console's bars name a persona as "SBX Boutique 精品店 (sandbox shop) · shop-Mia":
    shown whole (the label column grows) and never running off the chart's left edge."""
    import re

    from spotcheck.web.charts import bar_chart
    from store.chartlabels import text_width

    name = "SBX Boutique 精品店 (sandbox shop) · shop-Mia"
    svg = str(bar_chart([(name, 4.0), ("mall · 小李", 3.0), ("某" * 60, 1.0)], title="t",
                        width=720))  # as the personas page draws it
    shown = re.findall(r'<text class="lbl" x="(\d+)" y="[\d.]+" text-anchor="end">([^<]*)<',
                       svg)
    assert [t for _x, t in shown][:2] == [name, "mall · 小李"]
    assert shown[2][1].endswith("…")
    assert all(int(x) - text_width(t, 11) >= 0 for x, t in shown)
