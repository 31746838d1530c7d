"""An audit event's details read in the page's language: names, permissions, refusals."""

from __future__ import annotations

from spotcheck.web.auditview import detail_text
from store.errors import Conflict


def test_a_refused_access_names_the_permission_by_its_label() -> None:
    assert detail_text({"permission": "audit.view"}) == "所需权限：查看审计日志"
    assert detail_text({"permission": "audit.view"}, "en") == "permission needed: view the audit log"


def test_a_coded_refusal_reads_in_either_language_and_an_old_english_one_stays() -> None:
    stored = Conflict("plans.four_eyes_drew_submitted_plan", actor="sam", plan_id=3).stored()
    assert stored == {"code": "plans.four_eyes_drew_submitted_plan",
                      "params": {"actor": "sam", "plan_id": 3}}
    zh, en = detail_text({"reason": stored}), detail_text({"reason": stored}, "en")
    assert zh.startswith("原因：") and "sam" in zh and "plan" not in zh
    assert en == "reason: " + str(Conflict("plans.four_eyes_drew_submitted_plan", actor="sam",
                                           plan_id=3))
    # a review refused before it reached the domain keeps the rule's code
    assert detail_text({"reason": "four_eyes"}) == "原因：四眼原则：抽取或提交人不得审核本方案"
    # recorded before refusals were coded: its English, as stored
    assert detail_text({"reason": "plan 3 is approved"}) == "原因：plan 3 is approved"
    assert Conflict("a sentence nobody coded").stored() == "a sentence nobody coded"


def test_codes_among_the_details_read_by_label_and_the_rest_as_stored() -> None:
    text = detail_text({"role": "supervisor", "rows": 12, "ok": True, "name": "2026下半年",
                        "by": ["platform", "sector"], "unknown_key": "x"})
    assert text == ("角色：审核人；行数：12；结果正常：是；名称：2026下半年；"
                    "分组：平台、行业；unknown_key：x")
    assert detail_text({"role": "screenshot_full"}) == "文件用途：整页截图"
    assert detail_text({}) == "" and detail_text(None) == ""


def test_a_platform_reads_by_its_name_when_its_name_is_known() -> None:
    names = {"platform": {"mall": "跨境商城"}}
    assert detail_text({"alias": "小王", "platform": "mall"}, "zh-CN", names) == \
        "化名：小王；平台：跨境商城"
    # a code of no known platform (one since removed) stays as stored
    assert detail_text({"platform": "gone"}, "zh-CN", names) == "平台：gone"
