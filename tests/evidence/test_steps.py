"""A capture's step notes and partial reasons are stored coded and read in either language
(evidence.steps): the evidence page, ``evidence show`` and the capture queue show them in
Chinese, the English text stays in the metadata for the logs."""

from __future__ import annotations

import asyncio

from evidence.steps import Step, StepCutShort, StepLog, note_text, partial_text, run_steps


async def _slow(_c: object) -> None:
    await asyncio.sleep(5)


async def _looping(_c: object) -> None:
    raise StepCutShort("capture.load_looping", urls=2, requests=7, seconds="2.0")


async def _broken(_c: object) -> None:
    raise ValueError("no such element\nsecond line")


def test_step_notes_and_partial_reasons_read_in_the_readers_language() -> None:
    log = StepLog()
    steps = [Step("scroll", _slow), Step("load", _looping), Step("pdf", _broken)]
    asyncio.run(run_steps(steps, object(), log, budgets={"scroll": 0.05, "load": 1, "pdf": 1},
                          ceiling=10))
    scroll, load, pdf = log.steps
    assert note_text(scroll, "zh-CN") == "超过该步骤的时限 0.1 秒，已截断"
    assert scroll["note"] == "cut off after its budget of 0.1 s"  # English kept for the logs
    assert note_text(load, "zh-CN").startswith("页面加载事件始终未触发：页面反复请求 2 个失败的网址")
    assert note_text(pdf, "zh-CN") == "出错（ValueError）：no such element"
    zh = partial_text(log.partial_reasons, log.partial, "zh-CN") or ""
    assert zh.split("；") == ["滚动页面：超过了该步骤的时限 0.1 秒",
                             "加载页面：" + note_text(load, "zh-CN"),
                             "打印 PDF：出错（ValueError）：no such element"]
    assert (partial_text(log.partial_reasons, None, "en") or "").startswith(
        "scrolling: took longer than its budget of 0.1 s; page load: the load event never")


def test_the_time_ceiling_skips_a_step_and_says_so() -> None:
    log = StepLog()
    asyncio.run(run_steps([Step("pdf", _broken)], object(), log, budgets={}, ceiling=0))
    assert note_text(log.steps[0], "zh-CN") == "已跳过：已达到本次取证的总时限"
    assert partial_text(log.partial_reasons, None, "zh-CN") == "打印 PDF：已跳过：已达到本次取证的总时限"


def test_a_capture_recorded_before_notes_were_coded_keeps_its_english() -> None:
    assert note_text({"note": "cut off after its budget of 3.0 s"}, "zh-CN") \
        == "cut off after its budget of 3.0 s"
    assert partial_text(None, ["load did not finish within 15.0 s"], "zh-CN") \
        == "load did not finish within 15.0 s"
    assert partial_text([], None) is None
