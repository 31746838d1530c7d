"""The CLI's tables for a person read in the reader's language: every title, column and
field name a command prints has a label (store.labels ``cli_heading``), and a run shows them
in zh-CN or en.  ``--json`` keeps the codes."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from store.labels import TEXT_LABELS
from tests.clirun import spotcheck

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ROOT / "spotcheck" / "commands"


def _literals(node: ast.expr) -> list[str]:
    """The headings a table's title or columns name literally: plain strings, and the
    ``heading("...")`` parts of an f-string title."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        return [x for item in node.elts for x in _literals(item)]
    if isinstance(node, ast.JoinedStr):
        return [x for part in node.values if isinstance(part, ast.FormattedValue)
                for x in _literals(part.value)]
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "heading":
        return _literals(node.args[0])
    return []


def unlabelled(folder: Path = COMMANDS) -> dict[str, list[str]]:
    """Every literal table title, column and ``heading()`` text of the commands without a
    ``cli_heading`` label (by file)."""
    heads = TEXT_LABELS["cli_heading"]
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", "")
            texts: list[str] = []
            if name == "table":
                for arg in node.args[:2]:
                    texts += _literals(arg)
            elif name == "heading":
                texts += _literals(node.args[0]) if node.args else []
            if name == "table" and any(k.arg == "fields" for k in node.keywords) \
                    and len(node.args) > 2 and isinstance(node.args[2], ast.List):
                texts += [t.elts[0].value for t in node.args[2].elts  # a field's name
                          if isinstance(t, ast.Tuple) and isinstance(t.elts[0], ast.Constant)]
            for text in texts:
                if text and text not in heads and text not in found.get(path.name, []):
                    found.setdefault(path.name, []).append(text)
    return found


def test_every_table_heading_of_the_commands_has_a_label() -> None:
    assert unlabelled() == {}


def test_the_walk_finds_an_unlabelled_heading(tmp_path: Path) -> None:
    """A broken walk would pass with nothing found: an English-only table must fail it."""
    (tmp_path / "x.py").write_text('table("a brand new table", ["id", "frobs"], rows)\n'
                                   'table(f"{heading(\'never labelled\')} 3", [], rows)\n',
                                   encoding="utf-8")
    assert unlabelled(tmp_path) == {"x.py": ["a brand new table", "frobs", "never labelled"]}


def _run(home: Path, *args: str, locale: str) -> str:
    env = {"SPOTCHECK_HOME": str(home), "SPOTCHECK_CONFIG": str(home / "none.toml"),
           "SPOTCHECK_LOCALE": locale, "COLUMNS": "300"}
    ran = spotcheck(*args, env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_a_table_reads_in_the_reader_s_language_and_json_keeps_codes(tmp_path: Path) -> None:
    _run(tmp_path, "platform", "add", "mall", "--start-url", "http://mall.test/",
         "--profile", "mall", "--company", "某商城有限公司", locale="zh-CN")
    zh = _run(tmp_path, "platform", "list", locale="zh-CN")
    assert "平台" in zh and "代码" in zh and "属地主管部门" in zh
    assert "base URL" not in zh and "bureau" not in zh
    en = _run(tmp_path, "platform", "list", locale="en")
    assert "base URL" in en and "代码" not in en
    assert json.loads(_run(tmp_path, "platform", "list", "--json", locale="zh-CN"))[0][
        "code"] == "mall"
    shown = _run(tmp_path, "platform", "show", "mall", locale="zh-CN")
    assert "企业名称" in shown and "company_name" not in shown and "抓取记录" in shown
    # a crawl run's status by its label, its start in the bureau's zone
    import datetime as dt

    from sqlalchemy import select

    from store.db import Database
    from store.models import CrawlRun, Platform
    from store.settings import Settings

    db = Database.open(Settings(home=tmp_path).database_url)
    try:
        with db.session() as s:
            pid = s.scalar(select(Platform.id))
            assert pid is not None
            s.add(CrawlRun(platform_id=pid, status="bounded",
                           started_at=dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)))
    finally:
        db.dispose()
    shown = _run(tmp_path, "platform", "show", "mall", locale="zh-CN")
    assert "达到页数或时间上限后停止" in shown and "bounded" not in shown, shown
    assert "2026-12-08 01:00:00 北京时间" in shown


def _codes(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _codes(node.body) + _codes(node.orelse)
    return []


def test_every_message_a_command_says_is_in_the_catalogue_in_both_languages() -> None:
    from store import messages

    said: list[str] = []
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("say", "said") \
                    and node.args:
                said += _codes(node.args[0])
    assert {"cli_said.logged_in", "cli_said.user_added", "cli_said.case_closed"} <= set(said)
    texts = messages.catalogue()
    assert sorted(c for c in said if not {"zh-CN", "en"} <= set(texts.get(c, {}))) == []


def test_a_command_says_what_it_did_in_the_reader_s_language(tmp_path: Path) -> None:
    zh = _run(tmp_path, "db", "status", locale="zh-CN")
    assert "结构版本" in zh and "revision" not in zh
    assert "revision" in _run(tmp_path, "db", "status", locale="en")
    assert "未登录；操作记录在" in _run(tmp_path, "whoami", locale="zh-CN")
    assert "not logged in; actions are recorded as" in _run(tmp_path, "whoami", locale="en")


def test_a_verification_s_checks_read_by_label_with_the_files_they_name() -> None:
    from spotcheck import context
    from spotcheck.output import check_name
    from store.settings import Settings

    saved = context.current()
    context.reset(context.AppContext(settings=Settings(locale="zh-CN")))  # a zh-CN reader
    try:
        _check_names(check_name)
    finally:
        context.reset(saved)


def _check_names(check_name: Any) -> None:
    assert check_name("signature") == "签名"
    assert check_name("sample chain timestamp manifest.json.0.tsr") == (
        "样品流转记录 时间戳 manifest.json.0.tsr")
    assert check_name("capture 3") == "取证记录 3"
    assert check_name("capture 3 timestamp manifest.json.0.tsr") == (
        "取证记录 3 时间戳 manifest.json.0.tsr")
    assert check_name("before first order") == "早于首笔下单"
    assert check_name("a check nobody named") == "a check nobody named"  # as it is


def test_every_check_a_verifier_names_reads_in_chinese() -> None:
    """Each check name the verifiers write (``report.said("frame file", …)``, the plan's
    ``before first order``) has its Chinese: no English word is left of it in zh-CN."""
    import re

    from spotcheck import context
    from spotcheck.output import check_name
    from store.settings import Settings

    names: set[str] = set()
    for path in [*sorted((ROOT / "evidence").glob("*.py")),
                 ROOT / "scheduler" / "preregistration.py"]:
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\.said\(\s*\"([^\"{]+)\"", text))
        names |= {n for pair in re.findall(r"check = \"([^\"]+)\" if .*\n\s+\"([^\"]+)\"", text)
                  for n in pair}
    assert {"frame file", "before first order", "sample chain steps"} <= names, names
    saved = context.current()
    context.reset(context.AppContext(settings=Settings(locale="zh-CN")))
    try:
        english = {n: check_name(n) for n in names
                   if re.search(r"[A-Za-z]{3,}", check_name(n).replace("WACZ", ""))}
    finally:
        context.reset(saved)
    assert english == {}


def test_a_table_labels_strata_and_shows_times_in_the_bureau_s_zone() -> None:
    import datetime as dt

    from rich.console import Console

    from spotcheck import context
    from spotcheck.output import table
    from store.settings import Settings

    saved = context.current()
    context.reset(context.AppContext(settings=Settings(locale="zh-CN")))
    try:
        out = Console(record=True, width=200)
        out.print(table(None, ["stratum", "at"],
                        [("mall/light_industry/key", dt.datetime(2026, 12, 7, 17, 30,
                                                                 tzinfo=dt.UTC)),
                         ("take-all", None)], codes={"stratum": "stratum"}))
    finally:
        context.reset(saved)
    text = out.export_text()
    assert "mall/轻工/重点监管类" in text and "必抽层" in text, text
    assert "2026-12-08 01:30:00 北京时间" in text and "light_industry" not in text


def test_a_capture_s_page_facts_read_by_their_labels() -> None:
    from spotcheck.commands.evidence import facts_text

    facts = {"title": "下单成功", "price": 12.5, "currency": None, "availability": "in_stock"}
    assert facts_text(facts, "zh-CN") == "标题：下单成功；价格：12.5；库存状态：有货"
    assert facts_text(facts, "en") == "title: 下单成功; price: 12.5; availability: in stock"
    assert facts_text(None, "zh-CN") == ""


def test_a_design_change_names_the_setting_and_says_yes_or_no() -> None:
    from store.messages import render

    params = {"design_key": "take_all_failed_products", "old": False, "new": True}
    assert render("cli_said.design_change", params, "zh-CN") == \
        "  设计 必抽别处不合格的同款商品：否 → 是"
    assert render("cli_said.design_change", params, "en") == \
        "  design take every copy of a failed product: no → yes"


def test_a_match_s_keys_read_by_their_kind() -> None:
    from spotcheck.commands.signals import _key

    assert _key("model:ME-E7800", "zh-CN") == "型号 ME-E7800"
    assert _key("listing-gtin:04006381333931", "en") == "the listing's own GTIN 04006381333931"
    assert _key("name", "zh-CN") == "名称"


def test_a_campaign_s_settings_read_by_label_with_their_own_names() -> None:
    from spotcheck.commands.campaign import _name, _setting

    assert _name("design_key", "method", "zh-CN") == "抽样方法 (method)"
    assert _name("scope_key", "platforms", "en") == "platforms"
    assert _setting("method", "systematic", "zh-CN") == "系统 πps 抽样"
    assert _setting("strata", ["platform", "supervision_class"], "zh-CN") == "平台、监管类别"
    assert _setting("sectors", ["light_industry"], "en") == "light industry"
