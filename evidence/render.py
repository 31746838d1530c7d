"""Jinja2 rendering of evidence pages for people (provenance summary, pack report).

Everything crawled is escaped (autoescape on), and labels come in zh-CN and en.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, pass_context

from store.templating import environment as _environment

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "provenance": "Capture provenance", "report": "Evidence pack report",
        "what": "What", "when": "When (UTC)", "when_local": "When (bureau time and UTC)", "where": "From where", "with": "With what",
        "who": "Who", "hashes": "Every file and its SHA-256", "requested": "Requested URL",
        "final": "Final URL", "redirects": "Redirects", "status": "HTTP status",
        "server_ip": "Server IP", "dns": "DNS answer", "tls": "TLS certificate",
        "browser": "Browser", "tools": "Tools", "viewport": "Viewport", "timezone": "Time zone",
        "ua": "User agent", "operator": "Operator", "persona": "Buyer persona",
        "purpose": "Purpose", "case": "Case", "kind": "Kind", "start": "Start",
        "end": "End", "overlays": "Overlays dismissed", "blocked": "Requests blocked",
        "resources": "Resources recorded", "role": "Role", "file": "File", "size": "Size",
        "capture": "Capture", "captures": "Captures", "facts": "Page facts",
        "title": "Title", "price": "Price", "availability": "Availability",
        "pack": "Pack", "created": "Created", "exported_by": "Exported by",
        "key": "Signing key (Ed25519) fingerprint", "how": "How to verify this pack",
        "timestamp": "Trusted timestamps (RFC 3161)", "manifest": "Manifest SHA-256",
        "none": "none", "steps": "Capture steps", "network_settled": "Network settled",
        "yes": "yes", "no": "no",
        "withheld": "Captures withheld from this pack",
        "withheld_text": "Made in a covert buyer persona's browser, these show the persona's "
                         "account, drop address and payment reference. Their signed manifests "
                         "are listed here, so a copy disclosed later can be checked.",
        "how_text": "Run `spotcheck evidence verify pack.zip`, or check by hand: every file's "
                    "SHA-256 against manifest.json; manifest.json.sig against public_key.pem "
                    "(Ed25519); each .tsr with `openssl ts -verify`. See VERIFY.txt.",
        "tsa_roots": "Time-stamping authorities' root certificates (SHA-256)",
        "not_stated": "not stated on the page",
        "same_bytes": "Byte for byte the same file as (same SHA-256: the page rendered "
                      "identically, e.g. no overlay to dismiss):",
        "wacz_ca": "WACZ signing CA (SHA-256)",
        "redacted_copy": "Its redacted copy in this pack: capture",
        "redacted_from": "Redacted copy of capture",
        "redacted_text": "The covert buyer's account, drop address, payment reference and "
                         "session cookies are masked (black boxes on the screenshots, "
                         "[已遮蔽 REDACTED] in the DOM and WARC; the PDF is printed from the "
                         "redacted DOM). This copy is signed and time-stamped itself; the "
                         "original's manifest hash is given to check it if it is disclosed.",
        "chain": "Sample chain", "step": "Step", "by": "By", "at": "When",
        "chain_text": "From the plan item bought to the lab's report, each step with who "
                      "recorded it and when. chain/sample-chain.json holds it (signed and "
                      "time-stamped on its own); the files it names are in chain/.",
        "not_recorded": "Not recorded", "case_kind": "Case kind",
        "d_purchase_id": "Purchase", "d_plan_id": "Plan", "d_plan_version": "Plan version",
        "d_plan_approved_by": "Plan approved by", "d_plan_approved_at": "Plan approved at",
        "d_plan_item_seq": "Plan item", "d_stratum": "Stratum",
        "d_inclusion_probability": "Inclusion probability π", "d_listing_id": "Listing",
        "d_listing_url": "Listing URL", "d_listing_title": "Listing title",
        "d_platform": "Platform", "d_bought_by": "Bought", "d_order_number": "Order number",
        "d_price_paid": "Price paid", "d_currency": "Currency",
        "d_order_captures": "Order page captures", "d_sample_code": "Sample code",
        "d_seal_number": "Seal number", "d_photo": "Seal photo", "d_lab": "Laboratory",
        "d_outcome": "Outcome", "d_defects": "Defects", "d_clauses": "Standard clauses",
        "d_third_party": "Third-party result", "d_verified": "Verified",
        "d_report": "Lab report file",
        "covert": "by a covert buyer persona (not named in packs)", "by_hand": "by hand",
        "fp_check": "Check these fingerprints first",
        "fp_text": "A pack cannot vouch for itself: anyone can make a key and a TSA root of "
                   "their own. Compare the fingerprints above with the ones the issuing office "
                   "publishes (`spotcheck evidence key show` on its installation) before "
                   "trusting this pack. With plain openssl: `openssl pkey -pubin -in "
                   "public_key.pem -outform DER | tail -c 32 | sha256sum` gives the signing "
                   "key's; `openssl x509 -in ROOT.pem -noout -fingerprint -sha256` a root's "
                   "(upper case, with colons). `spotcheck evidence verify` trusts only the "
                   "keys and roots of the verifying installation and those given with "
                   "--trust-key / --trust-tsa-ca.",
    },
    "zh-CN": {
        "provenance": "取证来源说明", "report": "证据包报告",
        "what": "内容", "when": "时间（UTC）", "when_local": "时间（本局时区及 UTC）", "where": "来源", "with": "取证工具",
        "who": "人员", "hashes": "全部文件及其 SHA-256", "requested": "请求网址",
        "final": "最终网址", "redirects": "重定向", "status": "HTTP 状态",
        "server_ip": "服务器 IP", "dns": "DNS 解析结果", "tls": "TLS 证书",
        "browser": "浏览器", "tools": "软件版本", "viewport": "视口", "timezone": "时区",
        "ua": "用户代理", "operator": "操作人员", "persona": "买家身份",
        "purpose": "取证目的", "case": "案件", "kind": "类型", "start": "开始",
        "end": "结束", "overlays": "已关闭的弹窗", "blocked": "已拦截的请求",
        "resources": "已记录的资源", "role": "用途", "file": "文件", "size": "大小",
        "capture": "取证记录", "captures": "取证记录", "facts": "页面信息",
        "title": "标题", "price": "价格", "availability": "库存状态",
        "pack": "证据包", "created": "生成时间", "exported_by": "导出人",
        "key": "签名密钥（Ed25519）指纹", "how": "如何核验本证据包",
        "timestamp": "可信时间戳（RFC 3161）", "manifest": "清单 SHA-256",
        "none": "无", "steps": "取证步骤", "network_settled": "网络已静止",
        "yes": "是", "no": "否",
        "withheld": "未随本证据包导出的取证记录",
        "withheld_text": "以下记录在暗访买家身份的浏览器中取得，含该身份的账号、收货地址和支付账户，"
                         "故未导出；此处列出其已签名清单的哈希，日后如需披露可据此核验。",
        "how_text": "运行 `spotcheck evidence verify pack.zip`，或手工核验：按 manifest.json "
                    "逐一核对每个文件的 SHA-256；用 public_key.pem（Ed25519）核验 "
                    "manifest.json.sig；用 `openssl ts -verify` 核验每个 .tsr 时间戳。"
                    "详见 VERIFY.txt。",
        "tsa_roots": "时间戳机构根证书指纹（SHA-256）",
        "not_stated": "页面未标明",
        "same_bytes": "与下列文件逐字节相同（SHA-256 相同：页面渲染结果一致，例如无需关闭弹窗）：",
        "wacz_ca": "WACZ 签名 CA 指纹（SHA-256）",
        "redacted_copy": "本证据包中的脱敏副本：取证记录",
        "redacted_from": "脱敏副本，原取证记录",
        "redacted_text": "暗访买家的账号、收货地址、支付账户及会话 Cookie 已遮蔽（截图中以黑框遮盖，"
                         "DOM 与 WARC 中替换为 [已遮蔽 REDACTED]；PDF 由脱敏后的 DOM 打印）。"
                         "本副本本身已签名并加盖时间戳；列出原记录清单的哈希，原记录如经披露可据此核对。",
        "chain": "样品流转记录", "step": "环节", "by": "经办人", "at": "时间",
        "chain_text": "从所购抽样计划条目到检测报告，每一环节均记载经办人和时间。"
                      "chain/sample-chain.json 载有全部记录（单独签名并加盖可信时间戳），"
                      "其所列文件见 chain/ 目录。",
        "not_recorded": "未登记", "case_kind": "案件类型",
        "d_purchase_id": "购买任务", "d_plan_id": "抽样计划", "d_plan_version": "计划版本",
        "d_plan_approved_by": "计划批准人", "d_plan_approved_at": "计划批准时间",
        "d_plan_item_seq": "计划条目序号", "d_stratum": "层",
        "d_inclusion_probability": "入样概率 π", "d_listing_id": "商品",
        "d_listing_url": "商品网址", "d_listing_title": "商品标题",
        "d_platform": "平台", "d_bought_by": "购买方式", "d_order_number": "订单号",
        "d_price_paid": "实付金额", "d_currency": "币种",
        "d_order_captures": "订单页面取证记录", "d_sample_code": "样品编号",
        "d_seal_number": "封样编号", "d_photo": "封样照片", "d_lab": "检测机构",
        "d_outcome": "检测结论", "d_defects": "不合格项", "d_clauses": "标准条款",
        "d_third_party": "第三方检测结果", "d_verified": "已核实",
        "d_report": "检测报告文件",
        "covert": "由暗访买家身份购买（证据包中不列明身份）", "by_hand": "人工购买",
        "fp_check": "请先核对指纹",
        "fp_text": "证据包不能自证来源：任何人都可以自制密钥和时间戳根证书。信任本证据包之前，"
                   "请将上列指纹与签发机关公布的指纹（其系统中 `spotcheck evidence key show` "
                   "的输出）核对一致。用 openssl 自行计算：`openssl pkey -pubin -in "
                   "public_key.pem -outform DER | tail -c 32 | sha256sum` 得签名公钥指纹；"
                   "`openssl x509 -in ROOT.pem -noout -fingerprint -sha256` 得根证书指纹"
                   "（大写、以冒号分隔）。`spotcheck evidence verify` 只信任核验方本机的密钥与"
                   "根证书，以及用 --trust-key / --trust-tsa-ca 明确指定的。",
    },
}


@functools.cache
def environment() -> Environment:
    """The evidence package's environment, made once: a fresh one compiled the template again
    on every render (the provenance page is rendered twice per capture)."""
    env = _environment("evidence")
    env.filters["size"] = human_size
    env.filters["localtime"] = localtime
    env.filters["textlabel"] = _text_label
    return env


@pass_context
def localtime(ctx: Any, value: Any) -> str:
    """An ISO time (or datetime) as the bureau reads it, to the second, and in UTC: a report
    is compared with clocks on the wall and with other zones' records."""
    import datetime as dt

    from store.clock import local_and_utc

    if value in (None, "", "None"):
        return "—"
    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return local_and_utc(when, str(ctx.get("locale") or "zh-CN"))


def _text_label(code: Any, domain: str, locale: str) -> str:
    """``{{ code|textlabel("chain_step", locale) }}``: a plain-string code's label."""
    from store.labels import text_label

    return text_label(domain, None if code is None else str(code), locale)


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def chain_rows(document: dict[str, Any] | None, locale: str) -> list[dict[str, Any]]:
    """The sample chain's steps as the report shows them: each step's label (store.labels),
    when and by whom, and its facts with labels; codes read as words, never raw."""
    from store.labels import label, text_label
    from store.vocabulary import LabOutcome

    if not document:
        return []
    t = LABELS.get(locale, LABELS["en"])
    rows = []
    for step in document.get("steps") or []:
        facts: list[tuple[str, str]] = []
        for key, value in (step.get("detail") or {}).items():
            if value in (None, "", []):
                continue
            if key == "bought_by":
                value = t["covert"] if "persona" in str(value) else t["by_hand"]
            elif key == "outcome":
                value = label(LabOutcome, str(value), locale)
            elif isinstance(value, bool):
                value = t["yes"] if value else t["no"]
            elif isinstance(value, dict) and "file" in value:
                value = f"{value['file']} · SHA-256 {value['sha256']}"
            elif isinstance(value, list):
                value = "; ".join(str(v.get("text") or v.get("code") or v)
                                  if isinstance(v, dict) else str(v) for v in value)
            facts.append((t.get(f"d_{key}", key), str(value)))
        rows.append({"label": text_label("chain_step", step.get("step"), locale),
                     "at": step.get("at"), "by": step.get("by"), "facts": facts})
    return rows


def render(template: str, locale: str, **context: Any) -> str:
    labels = LABELS.get(locale, LABELS["en"])
    context.setdefault("chain", None)
    return environment().get_template(template).render(
        t=labels, locale=locale, chain_rows=chain_rows(context["chain"], locale), **context)
