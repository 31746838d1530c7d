"""The demo's progress and summary read in the person's language (issue 24): every step
has a label, and the zh-CN summary shows labels, not the codes its JSON keeps."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from spotcheck.commands import demo as demo_command
from spotcheck.demo_steps import Demo
from store.labels import TEXT_LABELS


def test_every_demo_step_has_a_label_in_both_languages() -> None:
    steps = Demo(None, None, Console())  # type: ignore[arg-type]
    codes = [code for code, _ in steps.steps]
    assert len(codes) == len(set(codes)) >= 11
    missing = [c for c in codes if c not in TEXT_LABELS["demo_step"]]
    assert not missing, missing
    assert "done" in TEXT_LABELS["demo_step"]


def _summary() -> dict[str, Any]:
    return {
        "listings_by_class": {"key": 3, "prohibited": 1},
        "listings_by_platform": {"mall": 4},
        "top_risks": [{"listing": 7, "platform": "mall", "score": 0.9, "title": "<b>x</b>",
                       "reasons": ["recall notice matched"], "reasons_zh": ["匹配到召回通报"]}],
        "platform_names": {"mall": "Sandbox Mall 沙盒商城"},
        "plan": {"id": 2, "by_stratum": {"light_industry/general": 5, "mall/textiles/key": 2}},
        "estimate": {"overall": {"n": 5, "failures": 1, "ht_rate": 0.2,
                                 "ht_rate_ci": [0.01, 0.6], "hajek_rate": 0.2,
                                 "hajek_rate_ci": [0.01, 0.6], "interval_method": "beta",
                                 "ht_count": 3, "deff_kish": 1.1}},
        "purchases_in_browser": [],
        "propagation": {"lines": []},
        "case": "C-1", "pack": "p.zip", "reports": ["r.pdf"], "console": "spotcheck serve",
        "database": "sqlite:///x.db", "seconds": 12.5,
    }


def test_the_summary_reads_in_chinese(monkeypatch: Any) -> None:
    from spotcheck import context
    from store.settings import Settings

    out = Console(record=True, width=200)
    monkeypatch.setattr(demo_command, "console", out)
    saved = context.current()
    # A zh-CN reader, whatever command context an earlier test in this process left behind.
    context.reset(context.AppContext(settings=Settings(locale="zh-CN")))
    try:
        demo_command._print(_summary())
    finally:
        context.reset(saved)
    text = out.export_text()
    for zh in ("按监管类别的商品数", "重点", "禁止", "结果在哪里", "用时", "匹配到召回通报", "总体",
               "Korn–Graubard 区间", "Sandbox Mall 沙盒商城/纺织/重点"):
        assert zh in text, zh
    for raw in ("listings by supervision class", "where things are", "prohibited",
                "recall notice matched", "light_industry/general", "finished in", "mall"):
        assert raw not in text, raw


def test_the_console_line_names_users_and_roles_in_the_reader_s_language() -> None:
    from spotcheck import context, demo_steps
    from store.settings import Settings

    saved = context.current()
    try:
        context.reset(context.AppContext(settings=Settings(locale="zh-CN")))
        zh = demo_steps._console_line()
        context.reset(context.AppContext(settings=Settings(locale="en")))
        en = demo_steps._console_line()
    finally:
        context.reset(saved)
    assert "用户：li.na（抽样员），wang.qiang（审核人）" in zh and "密码 demo-password-2026" in zh
    assert "users" not in zh and "password" not in zh.replace("demo-password", "")
    assert "users: li.na (sampler), wang.qiang (supervisor)" in en
