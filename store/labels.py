"""The one table of what people read for each code of the vocabulary, in zh-CN and en.

A code (``key``, ``sent_to_lab``, ``takedown``) is stored and exchanged; a person reads its
label.  The console, the reports (plan report, half-year report) and the CLI all take labels
from here, so a supervision class reads the same on a page, in a PDF and in a terminal.  The
table lives in the bottom layer beside :mod:`store.vocabulary` (whose enumerations it labels);
``tests/store/test_labels.py`` fails when a code of those enumerations has no label.
"""

from __future__ import annotations

import enum

from store import vocabulary as v

__all__ = ["HEADING_DOMAINS", "LABELS", "LOCALES", "TEXT_LABELS", "label", "labels_of", "stratum_label",
           "text_label", "text_labels_of"]

LOCALES = ("zh-CN", "en")

#: Enumeration → code → (zh-CN, en).
LABELS: dict[type[enum.StrEnum], dict[str, tuple[str, str]]] = {
    v.Sector: {
        "light_industry": ("轻工", "light industry"),
        "textiles": ("纺织", "textiles"),
        "electrical": ("电子电器", "electrical and electronic"),
        "other": ("其他", "other"),
    },
    v.SupervisionClass: {
        "prohibited": ("禁止入境类", "prohibited"),
        "key": ("重点监管类", "key supervision"),
        "general": ("一般监管类", "general supervision"),
    },
    v.ListingStatus: {
        "active": ("在售", "active"),
        "possibly_removed": ("疑似下架", "possibly removed"),
        "removed": ("已下架", "removed"),
    },
    v.PlanStatus: {
        "draft": ("草稿", "draft"),
        "submitted": ("待审核", "submitted"),
        "approved": ("已批准", "approved"),
        "rejected": ("已退回", "rejected"),
        "superseded": ("已作废", "superseded"),
    },
    v.PurchaseStatus: {
        "planned": ("待购买", "planned"),
        "ordered": ("已下单", "ordered"),
        "received": ("已收货", "received"),
        "sent_to_lab": ("已送检", "sent to lab"),
        "result": ("已出结果", "result"),
        "closed": ("已结案", "closed"),
        "cancelled": ("已取消", "cancelled"),
        "failed": ("失败", "failed"),
    },
    v.LabOutcome: {
        "pass": ("合格", "pass"),
        "fail": ("不合格", "fail"),
    },
    v.Role: {
        "sampler": ("抽样员", "sampler"),
        "supervisor": ("审核人", "supervisor"),
        "investigator": ("调查员", "investigator"),
        "admin": ("管理员", "administrator"),
    },
    v.CaseStatus: {
        "open": ("已立案", "open"),
        "notified": ("已通报", "notified"),
        "measures": ("处置中", "measures taken"),
        "closed": ("已结案", "closed"),
    },
    v.MeasureKind: {
        "interview": ("约谈", "compliance interview"),
        "rectification": ("责令整改", "rectification order"),
        "stricter_inspection": ("加严检验", "stricter inspection"),
        "risk_warning": ("风险预警", "risk warning"),
        "takedown": ("下架", "takedown"),
        "return": ("退运", "return"),
        "destruction": ("销毁", "destruction"),
        "recall": ("强制召回", "compulsory recall"),
    },
    v.CaptureStatus: {
        "ok": ("完整", "complete"),
        "partial": ("部分（有时限截断）", "partial (a bound cut a step off)"),
        "failed": ("失败", "failed"),
    },
    v.Availability: {
        "in_stock": ("有货", "in stock"),
        "out_of_stock": ("缺货", "out of stock"),
        "pre_order": ("预售", "pre-order"),
        "discontinued": ("已停售", "discontinued"),
    },
}


def label(kind: type[enum.StrEnum], code: str | enum.StrEnum | None,
          locale: str = "zh-CN") -> str:
    """What a person reads for *code* of enumeration *kind* (an unknown code reads as itself,
    ``—`` for none)."""
    if code is None:
        return "—"
    value = code.value if isinstance(code, enum.Enum) else str(code)
    pair = LABELS.get(kind, {}).get(value)
    if pair is None:
        return value
    return pair[0] if locale == "zh-CN" else pair[1]


def labels_of(kind: type[enum.StrEnum], locale: str = "zh-CN") -> dict[str, str]:
    """Every code of *kind* with its label, in the enumeration's order."""
    return {member.value: label(kind, member, locale) for member in kind}


#: Codes kept as plain strings, not enumerations: domain → code → (zh-CN, en).
TEXT_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "capture_kind": {
        "listing": ("商品页面", "listing page"),
        "seller": ("店铺页面", "seller page"),
        "order": ("订单页面", "order page"),
        "search": ("搜索结果页", "search results"),
    },
    "artifact_role": {
        "screenshot_full": ("整页截图", "full-page screenshot"),
        "screenshot_viewport": ("首屏截图", "first-screen screenshot"),
        "screenshot_before_overlays": ("关闭弹窗前截图", "screenshot before overlays closed"),
        "screenshot_after_overlays": ("关闭弹窗后截图", "screenshot after overlays closed"),
        "screenshot_clipped": ("截断的整页截图", "clipped full-page screenshot"),
        "dom": ("页面源码（DOM）", "page source (DOM)"),
        "pdf": ("PDF 打印件", "PDF print"),
        "warc": ("网页存档（WARC）", "web archive (WARC)"),
        "wacz": ("网页存档包（WACZ）", "web archive package (WACZ)"),
        "meta": ("取证元数据", "capture metadata"),
        "provenance": ("取证来源说明", "provenance page"),
        "tls": ("TLS 证书链", "TLS certificate chain"),
        "tls_chain": ("TLS 证书链", "TLS certificate chain"),
        "dns": ("DNS 解析记录", "DNS answers"),
        "network": ("网络请求记录", "network log"),
        "redacted": ("脱敏副本", "redacted copy"),
        "seal_photo": ("封样照片", "seal photo"),
        "lab_report": ("检测报告", "lab report"),
        "banner": ("带时间标注的截图", "screenshot with URL and time banner"),
    },
    #: What an audit event records (AuditEvent.action): every action the code writes
    #: (tests/store/test_audit_labels.py walks the code for them).
    "audit_action": {
        "access.denied": ("越权访问被拒绝", "access denied"),
        "artifact.download": ("下载取证文件", "evidence file downloaded"),
        "audit.export": ("导出审计日志", "audit log exported"),
        "campaign.create": ("创建抽检活动", "campaign created"),
        "campaign.schedules": ("设置抽检活动日程", "campaign schedules set"),
        "campaign.take_all": ("加入必抽层", "take-all stratum updated"),
        "campaigns.export": ("导出抽检活动列表", "campaigns exported"),
        "capture.requested": ("申请取证", "capture requested"),
        "captures.export": ("导出取证记录列表", "captures exported"),
        "case.acknowledged": ("通报已确认收到", "notification acknowledged"),
        "case.close": ("结案", "case closed"),
        "case.copies": ("关联同款商品", "copies linked to case"),
        "case.measure": ("采取处置措施", "measure taken"),
        "case.measure_done": ("处置措施完成", "measure done"),
        "case.notify": ("通报属地主管部门", "bureau notified"),
        "case.open": ("立案", "case opened"),
        "cases.export": ("导出案件列表", "cases exported"),
        "evidence.export": ("导出证据包", "evidence pack exported"),
        "evidence.export_refused": ("导出证据包被拒绝", "evidence export refused"),
        "evidence.view": ("查看取证记录", "capture viewed"),
        "listing.changed": ("商品信息变更", "listing changed"),
        "listing.taken_down": ("商品已下架", "listing taken down"),
        "listings.export": ("导出商品列表", "listings exported"),
        "login": ("登录", "signed in"),
        "login.cli": ("命令行登录", "signed in (CLI)"),
        "login.failed": ("登录失败", "sign-in failed"),
        "login.throttled": ("登录受限（失败次数过多）", "sign-in throttled (too many failures)"),
        "logout": ("退出登录", "signed out"),
        "logout.cli": ("命令行退出登录", "signed out (CLI)"),
        "pack.download": ("下载证据包", "pack downloaded"),
        "pack.verify": ("核验证据包", "pack verified"),
        "persona.create": ("创建买家身份", "persona created"),
        "persona.disable": ("停用买家身份", "persona disabled"),
        "persona.enable": ("启用买家身份", "persona enabled"),
        "persona.reveal": ("查看买家身份信息", "persona revealed"),
        "persona.rotate_key": ("更换买家身份密钥", "persona key rotated"),
        "plan.approve.denied": ("批准抽样方案被拒绝（无权限）", "plan approval denied (no right)"),
        "plan.approve.refused": ("批准抽样方案未成功", "plan approval refused"),
        "plan.approved": ("批准抽样方案", "plan approved"),
        "plan.draw": ("抽取抽样方案", "plan drawn"),
        "plan.draw.refused": ("抽取抽样方案未成功", "plan draw refused"),
        "plan.estimates.export": ("导出不合格率估计", "estimates exported"),
        "plan.export": ("导出抽样方案", "plan exported"),
        "plan.registered": ("抽样方案预登记", "plan pre-registered"),
        "plan.reject.denied": ("退回抽样方案被拒绝（无权限）", "plan rejection denied (no right)"),
        "plan.reject.refused": ("退回抽样方案未成功", "plan rejection refused"),
        "plan.rejected": ("退回抽样方案", "plan rejected"),
        "plan.submit": ("提交抽样方案", "plan submitted"),
        "plan.submit.refused": ("提交抽样方案未成功", "plan submission refused"),
        "products.build": ("识别同款商品", "products built"),
        "products.confirm": ("确认同款关联", "product link confirmed"),
        "products.link": ("人工关联同款商品", "product link added"),
        "products.pictures": ("比对商品图片", "product pictures compared"),
        "products.reject": ("否定同款关联", "product link rejected"),
        "products.split": ("拆分同款商品", "product split"),
        "purchase.cancel.refused": ("取消购买任务未成功", "purchase cancellation refused"),
        "purchase.cancelled": ("取消购买任务", "purchase cancelled"),
        "purchase.close.refused": ("购买任务结案未成功", "purchase closing refused"),
        "purchase.closed": ("购买任务结案", "purchase closed"),
        "purchase.failed": ("购买失败", "purchase failed"),
        "purchase.lab_report.download": ("下载检测报告", "lab report downloaded"),
        "purchase.ordered": ("登记下单", "order recorded"),
        "purchase.ordered.refused": ("登记下单未成功", "order recording refused"),
        "purchase.planned": ("生成购买任务", "purchase planned"),
        "purchase.receive.refused": ("登记收货未成功", "receipt recording refused"),
        "purchase.received": ("登记收货", "receipt recorded"),
        "purchase.result": ("登记检测结果", "lab result recorded"),
        "purchase.result.refused": ("登记检测结果未成功", "lab result recording refused"),
        "purchase.seal_photo.download": ("下载封样照片", "seal photo downloaded"),
        "purchase.send.refused": ("登记送检未成功", "sending to lab refused"),
        "purchase.sent_to_lab": ("登记送检", "sent to lab"),
        "purchase.tasks": ("生成购买任务", "purchase tasks created"),
        "purchases.export": ("导出购买任务列表", "purchases exported"),
        "report.download": ("下载报告", "report downloaded"),
        "risk.score": ("风险评分", "risk scored"),
        "seller.filing": ("更新卖家备案信息", "seller filing updated"),
        "sessions.revoke": ("注销命令行会话", "CLI sessions revoked"),
        "signals.confirm": ("确认通报匹配", "notice match confirmed"),
        "signals.fetch": ("获取境外通报", "foreign notices fetched"),
        "signals.import": ("导入风险信息", "signals imported"),
        "signals.match": ("匹配境外通报", "notices matched"),
        "signals.reject": ("否定通报匹配", "notice match rejected"),
        "user.add": ("添加用户", "user added"),
        "user.disable": ("停用用户", "user disabled"),
        "user.enable": ("启用用户", "user enabled"),
        "user.locale": ("更改用户语言", "user language changed"),
        "user.passwd": ("更改用户密码", "user password changed"),
    },
    #: What an audit event is about (AuditEvent.object_type).
    "audit_object": {
        "artifact": ("取证文件", "evidence file"),
        "audit": ("审计日志", "audit log"),
        "buyer_persona": ("买家身份", "buyer persona"),
        "campaign": ("抽检活动", "campaign"),
        "capture": ("取证记录", "capture"),
        "capture_request": ("取证申请", "capture request"),
        "case": ("案件", "case"),
        "file": ("文件", "file"),
        "listing": ("商品", "listing"),
        "notice_match": ("通报匹配", "notice match"),
        "pack": ("证据包", "evidence pack"),
        "persona": ("买家身份", "buyer persona"),
        "plan": ("抽样方案", "plan"),
        "product_link": ("同款关联", "product link"),
        "purchase": ("购买任务", "purchase"),
        "report": ("报告", "report"),
        "route": ("页面", "page"),
        "seller": ("卖家", "seller"),
        "source": ("数据来源", "source"),
        "user": ("用户", "user"),
    },
    #: What a role may do (spotcheck.permissions.PERMISSIONS), as a refused access names it
    #: in the audit log (tests/spotcheck/test_permission_labels.py checks every one).
    "permission": {
        "campaigns.view": ("查看抽检活动", "view campaigns"),
        "campaigns.schedule": ("设置抽检活动日程", "schedule campaigns"),
        "listings.view": ("查看商品", "view listings"),
        "matches.view": ("查看通报匹配", "view notice matches"),
        "matches.review": ("审核通报匹配", "review notice matches"),
        "plans.view": ("查看抽样方案", "view plans"),
        "plans.review": ("审核抽样方案", "review plans"),
        "plans.draw": ("抽取抽样方案", "draw plans"),
        "plans.submit": ("提交抽样方案", "submit plans"),
        "evidence.view": ("查看取证记录", "view evidence"),
        "evidence.export": ("导出证据包", "export evidence packs"),
        "captures.run": ("网页取证", "capture pages"),
        "purchases.view": ("查看购买任务", "view purchases"),
        "purchases.work": ("办理购买任务", "work on purchases"),
        "personas.view": ("查看买家身份", "view buyer personas"),
        "personas.secrets": ("查看买家身份的账号、地址和支付信息", "see buyer personas' secrets"),
        "cases.view": ("查看案件", "view cases"),
        "cases.work": ("办理案件", "work on cases"),
        "reports.view": ("查看报告", "view reports"),
        "audit.view": ("查看审计日志", "view the audit log"),
        "users.view": ("查看用户", "view users"),
    },
    #: Why a plan may not be reviewed or submitted (sampler.plans.review_refusal and
    #: submit_refusal), as an audit event's reason keeps it.
    "plan_refusal": {
        "role": ("无审核权限（须由审核人审核）", "no right to review (a supervisor reviews)"),
        "status": ("方案当前状态不允许此操作", "the plan's status does not allow it"),
        "four_eyes": ("四眼原则：抽取或提交人不得审核本方案", "four eyes: who drew or submitted it may not review it"),
        "rejected": ("已退回的方案不能原样再次提交", "a rejected plan is not sent again as it is"),
        "unchanged": ("与被退回的版本完全相同", "the same as the rejected version"),
    },
    #: The names of an audit event's details (AuditEvent.detail keys; tests/store/
    #: test_audit_labels.py walks the code for the keys it writes).
    "audit_detail": {
        "added": ("新增", "added"),
        "alias": ("化名", "alias"),
        "bundle_sha256": ("登记包 SHA-256", "bundle SHA-256"),
        "bureau": ("属地主管部门", "bureau"),
        "by": ("分组", "by"),
        "campaign": ("抽检活动", "campaign"),
        "captures": ("取证记录", "captures"),
        "capture": ("取证记录", "capture"),
        "changed_pixels": ("变化像素比例", "changed pixels"),
        "changes": ("变化", "changes"),
        "after": ("之后", "after"),
        "before": ("之前", "before"),
        "cluster": ("同款商品组", "product cluster"),
        "comment": ("意见", "comment"),
        "count": ("数量", "count"),
        "created": ("新建", "created"),
        "errors": ("错误", "errors"),
        "expires_at": ("到期时间", "expires at"),
        "failed": ("失败", "failed"),
        "failed_tsas": ("无应答的时间戳服务", "time-stamping authorities that failed"),
        "fields": ("字段", "fields"),
        "flags": ("违规提示", "flags"),
        "format": ("格式", "format"),
        "frame_sha256": ("抽样框 SHA-256", "frame SHA-256"),
        "kept": ("保留", "kept"),
        "kept_reviewed": ("保留（已人工审核）", "kept (reviewed)"),
        "key_fingerprint": ("签名密钥指纹", "key fingerprint"),
        "kind": ("类型", "kind"),
        "line": ("行号", "line"),
        "listing": ("商品", "listing"),
        "listing_id": ("商品", "listing"),
        "listings": ("商品", "listings"),
        "locale": ("语言", "language"),
        "manifest_sha256": ("清单 SHA-256", "manifest SHA-256"),
        "matches": ("匹配数", "matches"),
        "measure": ("处置措施", "measure"),
        "measures_completed": ("已完成的处置措施", "measures completed"),
        "n": ("样本量", "sample size"),
        "name": ("名称", "name"),
        "note": ("备注", "note"),
        "notice_id": ("境外通报", "foreign notice"),
        "notices": ("境外通报", "notices"),
        "notification": ("通报", "notification"),
        "ok": ("结果正常", "ok"),
        "origin": ("来源", "origin"),
        "pack": ("证据包", "pack"),
        "pending_since": ("待处理起始时间", "pending since"),
        "permission": ("所需权限", "permission needed"),
        "persona": ("买家身份", "buyer persona"),
        "personas": ("买家身份", "buyer personas"),
        "platform": ("平台", "platform"),
        "previous": ("原状态", "previous status"),
        "proposed": ("待确认", "proposed"),
        "q": ("搜索词", "search"),
        "reason": ("原因", "reason"),
        "rejected": ("已否定", "rejected"),
        "removed": ("已移除", "removed"),
        "role": ("角色", "role"),
        "artifact_role": ("文件用途", "file role"),
        "rows": ("行数", "rows"),
        "schedules": ("日程", "schedules"),
        "scored": ("已评分", "scored"),
        "seed": ("随机种子", "seed"),
        "sha256": ("SHA-256", "SHA-256"),
        "signal_id": ("风险信息", "signal"),
        "skipped": ("跳过", "skipped"),
        "source": ("来源", "source"),
        "status": ("状态", "status"),
        "take_all_failed_products": ("不合格商品的同款全部纳入必抽层", "take all copies of failed products"),
        "threshold": ("阈值", "threshold"),
        "timestamps": ("时间戳", "timestamps"),
        "updated": ("已更新", "updated"),
        "url": ("网址", "address"),
        "version": ("版本", "version"),
        "weights": ("权重文件", "weights"),
        "why": ("原因", "why"),
    },
    #: The named steps of a capture (evidence.capture.STEPS), as a failed capture names them.
    "capture_step": {
        "check_url": ("检查网址", "address check"),
        "open": ("打开页面", "page opening"),
        "load": ("加载页面", "page load"),
        "dismiss_overlays": ("关闭弹窗", "overlay dismissal"),
        "scroll": ("滚动页面", "scrolling"),
        "settle": ("等待网络静止", "network settling"),
        "dom": ("保存页面源码", "page source"),
        "facts": ("提取页面信息", "page facts"),
        "screenshots": ("截图", "screenshots"),
        "pdf": ("打印 PDF", "PDF print"),
        "network": ("收集网络记录", "network record"),
        "warc": ("写入网页存档", "web archive"),
    },
    "custody_action": {
        "created": ("取证", "captured"),
        "viewed": ("查看", "viewed"),
        "exported": ("导出证据包", "pack exported"),
        "export_failed": ("导出失败", "export failed"),
        "annotated": ("添加备注", "annotated"),
        "capture_failed": ("取证失败", "capture failed"),
        "key_rotated": ("更换签名密钥", "signing key rotated"),
        "key_exported": ("导出公钥", "public key exported"),
    },
    "chain_step": {
        "purchase": ("购买任务", "purchase"),
        "order": ("下单确认", "order confirmation"),
        "receipt": ("收货", "receipt"),
        "seal": ("封样", "seal"),
        "lab": ("送检", "sent to lab"),
        "lab_result": ("检测结果", "lab result"),
        "seal_photo": ("封样照片", "seal photo"),
        "lab_report": ("检测报告", "lab report"),
    },
    "case_kind": {
        "failed_sample": ("样品不合格", "failed sample"),
        "counterfeit": ("假冒伪劣", "counterfeit"),
        "prohibited": ("禁止入境类商品", "prohibited goods"),
        "recall": ("召回", "recall"),
    },
    "notification_channel": {
        "letter": ("函件", "letter"),
        "email": ("电子邮件", "email"),
        "phone": ("电话", "phone"),
        "system": ("系统", "system"),
    },
    "campaign_status": {
        "active": ("进行中", "active"),
        "paused": ("已暂停", "paused"),
        "closed": ("已结束", "closed"),
        "archived": ("已归档", "archived"),
    },
    "match_status": {
        "proposed": ("待确认", "proposed"),
        "confirmed": ("已确认", "confirmed"),
        "rejected": ("已否决", "rejected"),
    },
    #: Entries of a purchase's history that are not status changes.
    "purchase_event": {
        "assigned": ("已分配买家身份", "persona assigned"),
        "listing_capture": ("商品页面取证", "listing page captured"),
        "order_capture": ("订单页面取证", "order page captured"),
    },
    #: Sampling designs (sampler.methods.METHODS).
    "sampling_method": {
        "systematic": ("系统 πps 抽样", "systematic πps"),
        "pivotal": ("枢轴抽样（Deville–Tillé）", "pivotal (Deville–Tillé)"),
        "sampford": ("Sampford 抽样", "Sampford"),
        "brewer": ("Brewer 抽样", "Brewer"),
        "pareto": ("Pareto πps 抽样", "Pareto πps"),
        "srs": ("简单随机抽样", "simple random sampling"),
    },
    #: Scheduled job kinds of a campaign (scheduler.schedules.JOB_KINDS).
    "job_kind": {
        "crawl": ("抓取", "crawl"),
        "signals": ("获取境外通报", "fetch foreign notices"),
        "score": ("风险评分", "risk scoring"),
        "draw": ("抽取计划", "draw a plan"),
        "purchase": ("生成购买任务", "create purchase tasks"),
        "buy": ("下单购买", "place orders"),
        "recapture": ("重新取证", "re-capture"),
        "leads": ("线索", "leads"),
        "stats": ("统计报告", "statistics report"),
        "capture": ("按需取证", "capture on request"),
        "timezone": ("时区", "time zone"),
    },
    #: Domains of non-compliance estimates (sampler.domains.DOMAIN_FIELDS).
    "estimate_domain": {
        "platform": ("平台", "platform"),
        "sector": ("行业", "sector"),
        "origin": ("原产地", "origin"),
        "seller-network": ("卖家网络", "seller network"),
    },
    #: Kinds of evidence that two listings (or a listing and a notice) are one product
    #: (store.models.ProductLink.kind, sampler.products).
    "product_link_kind": {
        "gtin": ("相同商品条码（GTIN）", "same barcode (GTIN)"),
        "brand_model": ("相同品牌和型号", "same brand and model"),
        "photo": ("相同或近似商品图片", "same or near-identical photo"),
        "title": ("相似商品标题", "similar title"),
        "notice_match": ("境外通报匹配", "foreign notice match"),
        "manual": ("人工关联", "linked by an inspector"),
    },
    #: Strata with a meaning of their own (sampler.design.TAKE_ALL).
    "stratum": {
        "take-all": ("必抽层（同一商品在别处不合格）", "take-all (the same product failed elsewhere)"),
    },
    #: A product link's review status.
    "product_link_status": {
        "proposed": ("待确认", "proposed"),
        "confirmed": ("已确认", "confirmed"),
        "rejected": ("已否定", "rejected"),
    },
    #: Variance estimators of a plan's estimates (sampler.plan_estimates.PLAN_VARIANCES).
    "variance_method": {
        "deville": ("Deville 方差（1999，R sampling::varest）", "Deville 1999, R sampling::varest"),
        "hajek": ("Hájek 近似方差（1964，n/(n−1) 形式）", "Hájek 1964 approximation, n/(n−1) form"),
        "ht": ("含联合 π 的 Horvitz–Thompson 方差", "Horvitz–Thompson with joint π"),
        "syg": ("含联合 π 的 Sen–Yates–Grundy 方差", "Sen–Yates–Grundy with joint π"),
        "wr": ("有放回（Hansen–Hurwitz）形式，R survey 仅用入样概率",
               "with-replacement (Hansen–Hurwitz) form, R survey with probs only"),
    },
    #: Confidence intervals of a rate (sampler.intervals.INTERVAL_METHODS).
    "interval_method": {
        "beta": ("Korn–Graubard 区间（R svyciprop beta）", "Korn–Graubard (R svyciprop beta)"),
        "clopper-pearson": ("Clopper–Pearson 精确二项区间", "Clopper–Pearson (exact binomial)"),
        "logit": ("logit 区间（R svyciprop logit）", "logit (R svyciprop logit)"),
        "xlogit": ("xlogit 区间（R svyciprop xlogit）", "xlogit (R svyciprop xlogit)"),
    },
    #: What is done with a stratum of one non-certainty unit (sampler.estimation.LONELY_OPTIONS).
    "lonely_stratum": {
        "bound": ("取 0/1 结果可能的最大方差", "bound (the largest variance a 0/1 outcome allows)"),
        "fail": ("报错", "fail"),
        "remove": ("不计入方差", "remove (no contribution)"),
        "certainty": ("视为必抽（不计入方差）", "certainty (no contribution)"),
        "adjust": ("以总体估计为中心", "adjust (centred at the overall estimate)"),
        "average": ("按其他层的平均计入", "average of the other strata"),
    },
    #: How joint inclusion probabilities were obtained (sampler.plan_estimates.plan_joint).
    "joint_method": {
        "sampford exact": ("Sampford 精确值", "sampford exact"),
        "srs exact": ("简单随机抽样精确值", "srs exact"),
        "Brewer approximation": ("Brewer 近似", "Brewer approximation"),
        "none": ("无", "none"),
    },
    #: Columns of an estimate table (spotcheck plan estimate).
    "estimate_column": {
        "domain": ("范围", "domain"),
        "overall": ("总体", "overall"),
        "n": ("结果", "n"),
        "fail": ("不合格", "fail"),
        "hajek_rate": ("Hájek 率 [区间]", "Hájek rate [CI]"),
        "ht_count": ("HT 件数 [区间]", "HT count [CI]"),
        "deff": ("设计效应", "deff (Kish)"),
    },
    #: Columns of the weight calibration's table (spotcheck risk calibrate).
    "calibration_column": {
        "factor": ("风险因子", "factor"),
        "coefficient": ("系数", "coefficient"),
        "note": ("说明", "note"),
    },
    #: Replicate-weight schemes (sampler.replicates.REPLICATE_TYPES).
    "replicate_type": {
        "bootstrap": ("自助法（bootstrap）", "bootstrap"),
        "jkn": ("分层刀切法（JKn）", "stratified jackknife (JKn)"),
    },
    #: Publishers of foreign notices and other risk sources (ForeignNotice.source).
    "notice_source": {
        "cpsc": ("美国 CPSC 召回", "CPSC recall"),
        "safety-gate": ("欧盟 Safety Gate 通报", "EU Safety Gate alert"),
        "health-canada": ("加拿大卫生部召回", "Health Canada recall"),
        "report": ("企业自主报告", "enterprise self-report"),
        "csv": ("风险通报", "notice"),
        "complaints": ("消费者投诉数据", "consumer complaints file"),
    },
    #: Kinds of risk signals other than notices (sampler.risk.importers).
    "signal_kind": {
        "complaint": ("消费者投诉", "consumer complaint"),
        "platform_seller": ("平台报送的卖家信息", "platform's seller submission"),
        "platform_listing": ("平台报送的商品信息", "platform's listing submission"),
    },
    #: How a notice match was found (sampler.risk.matching), as a risk reason says it.
    "match_method": {
        "exact-key": ("精确标识", "exact key"),
        "brand+model": ("品牌+型号", "brand + model"),
        "model": ("型号", "model"),
        "text": ("文本相似", "text similarity"),
    },
    #: A notice match's review state, as a risk reason says it.
    "match_state": {
        "confirmed": ("已确认", "confirmed"),
        "proposed": ("疑似匹配，尚未人工确认", "proposed, not yet confirmed"),
    },
    #: How a product's failure reached a copy (sampler.products.Carried.source).
    "failure_via": {
        "lab_fail": ("商品抽检不合格，商品", "failed lab test of listing"),
        "notice": ("已确认的通报", "confirmed notice"),
    },
    #: Factors of the risk score (sampler/risk/weights.toml).
    "risk_factor": {
        "base": ("基础权重", "base weight"),
        "notice_match": ("匹配境外通报", "foreign notice match"),
        "price_low": ("价格明显偏低", "price far below the brand's"),
        "new_seller": ("新卖家", "new seller"),
        "unfiled_seller": ("卖家未备案", "seller not filed"),
        "filing_unknown": ("备案号不在记录中", "filing number not on record"),
        "no_licence": ("未公示营业执照", "no business licence shown"),
        "key_class": ("重点监管类", "key supervision class"),
        "key_without_ccc": ("重点监管商品无 CCC 标志", "key product without CCC mark"),
        "sector_rate": ("行业基础不合格率", "sector base rate"),
        "churn": ("频繁修改价格/标题", "frequent price/title edits"),
        "seller_failed": ("卖家抽检不合格", "seller failed lab tests"),
        "seller_cases": ("卖家执法案件", "seller enforcement cases"),
        "brand_failed": ("品牌抽检不合格", "brand failed lab tests"),
        "network": ("关联店铺网络", "linked storefront network"),
        "product_failed": ("同一商品在别处不合格", "same product failed elsewhere"),
        "complaints": ("消费者投诉", "consumer complaints"),
        "counterfeit_words": ("假货暗语", "counterfeit slang"),
        "prohibited": ("禁止入境类", "prohibited class"),
    },
    #: Calibration distances (sampler.calibration.CALIBRATION_METHODS), as ``--calfun``.
    "calfun": {
        "linear": ("线性（GREG）", "linear (GREG)"),
        "raking": ("迭代比例（raking）", "raking"),
    },
    #: Headings of the half-year report (scheduler.reports): its PDF, HTML and XLSX.
    "half_year": {
        "title": ("跨境电商消费品网购抽检半年统计",
                 "Online spot checks of cross-border consumer goods — half-year statistics"),
        "period": ("统计期间", "Period"),
        "generated": ("生成时间", "Generated"),
        "summary": ("概况", "Summary"),
        "samples": ("样品", "Samples"),
        "ordered": ("已下单", "ordered"),
        "results": ("已出检测结果", "with lab result"),
        "failed": ("不合格", "failed"),
        "fail_share": ("不合格样品占比", "share of samples failed"),
        "by_platform": ("按平台", "By platform"),
        "by_sector": ("按行业", "By sector"),
        "by_class": ("按监管类别", "By supervision class"),
        "platform": ("平台", "Platform"),
        "sector": ("行业", "Sector"),
        "class": ("监管类别", "Class"),
        "estimates": ("不合格率估计（抽样设计加权）",
                     "Non-compliance estimates (design-weighted)"),
        "plan": ("抽样方案", "Plan"),
        "campaign": ("抽检任务", "Campaign"),
        "n": ("结果数", "results"),
        "ht": ("HT 估计", "HT estimate"),
        "hajek": ("Hájek 估计", "Hájek estimate"),
        "ci": ("95% 置信区间", "95% interval"),
        "method": ("区间方法", "interval method"),
        "cases": ("案件", "Cases"),
        "opened": ("新立案件", "cases opened"),
        "kind": ("类型", "Kind"),
        "status": ("状态", "Status"),
        "bureau": ("属地主管部门", "Jurisdiction bureau"),
        "notifications": ("通报", "Notifications"),
        "measures": ("处置措施", "Measures"),
        "measure": ("措施", "Measure"),
        "done": ("已完成", "done"),
        "count": ("数量", "Count"),
        "none": ("无", "none"),
        "note_estimates": (
            "风险加权抽样使高风险商品被抽中的概率更高，因此不合格率须按入样概率加权估计；样品中的不合格"
            "占比不代表总体不合格率。",
            "Risk-weighted sampling over-represents risky listings, so the rate of non-"
            "compliance is estimated with the inclusion probabilities; the share of failed "
            "samples is not the population rate.",
        ),
        "case_number": ("案件编号", "Case number"),
        "case_title": ("案件名称", "Title"),
        "opened_on": ("立案日期", "Opened"),
    },
    #: Sheet names of the half-year workbook (Excel allows 31 characters).
    "half_year_sheet": {
        "summary": ("概况", "Summary"),
        "samples": ("样品", "Samples"),
        "estimates": ("不合格率估计", "Estimates"),
        "cases": ("案件", "Cases"),
        "measures": ("处置措施", "Measures"),
        "notifications": ("通报", "Notifications"),
        "charts": ("图表", "Charts"),
    },
    #: Where a classification rule found its word (crawlers.classify).
    "class_field": {
        "category": ("类目", "category"),
        "title": ("标题", "title"),
    },
    #: How a sample is spread over strata (sampler.allocation.ALLOCATIONS).
    "allocation": {
        "proportional": ("按比例分配", "proportional"),
        "neyman": ("Neyman 最优分配", "Neyman"),
        "risk": ("按风险分配", "by risk"),
    },
    #: Titles and column headers of the CLI's list tables (spotcheck.output.table).
    "cli_heading": {
        "plans": ("抽样方案", "plans"),
        "cases": ("案件", "cases"),
        "purchases": ("购买任务", "purchases"),
        "campaigns": ("抽检活动", "campaigns"),
        "id": ("编号", "id"),
        "campaign": ("抽检活动", "campaign"),
        "version": ("版本", "version"),
        "status": ("状态", "status"),
        "method": ("抽样方法", "method"),
        "n": ("样本量", "n"),
        "N": ("抽样框", "N"),
        "drawn by": ("抽取人", "drawn by"),
        "reviewed by": ("审核人", "reviewed by"),
        "number": ("案件编号", "number"),
        "kind": ("类型", "kind"),
        "bureau": ("属地主管部门", "bureau"),
        "opened": ("立案日期", "opened"),
        "title": ("名称", "title"),
        "persona": ("买家身份", "persona"),
        "scheduled": ("计划时间", "scheduled"),
        "order": ("订单号", "order"),
        "paid": ("实付", "paid"),
        "listing": ("商品", "listing"),
        "name": ("名称", "name"),
        "budget": ("预算", "budget"),
        "allocation": ("分配方式", "allocation"),
    },
    #: What 'spotcheck doctor' checks, and its table's columns.
    "doctor_check": {
        "data folder": ("数据文件夹", "data folder"),
        "database": ("数据库", "database"),
        "browser": ("浏览器", "browser"),
        "CJK fonts": ("中文字体", "CJK fonts"),
        "signing key": ("签名密钥", "signing key"),
        "TSA": ("时间戳服务（TSA）", "TSA"),
        "trusted TSA CA": ("受信任的 TSA 根证书", "trusted TSA CA"),
        "redis": ("Redis", "redis"),
    },
    "doctor_column": {
        "title": ("spotcheck 自检", "spotcheck doctor"),
        "check": ("检查项", "check"),
        "ok": ("正常", "ok"),
        "detail": ("详情", "detail"),
        "yes": ("是", "yes"),
        "no": ("否", "NO"),
    },
    #: Rotation rules of covert buying (scheduler.rotation), as flagged when broken.
    "rotation_rule": {
        "persona_per_day": ("每个买家身份每天最多购买次数", "purchases per persona a day"),
        "persona_per_period": ("每个买家身份周期内最多购买次数", "purchases per persona in the period"),
        "seller_per_day": ("每个卖家每天最多隐蔽订单数", "covert orders per seller a day"),
        "lockout": ("同一卖家锁定期", "lockout from the same seller"),
    },
    #: The evidence pages: a capture's provenance page and an evidence pack's report (evidence.render).
    "evidence_report": {
        "provenance": ("取证来源说明", "Capture provenance"),
        "report": ("证据包报告", "Evidence pack report"),
        "what": ("内容", "What"),
        "when": ("时间（UTC）", "When (UTC)"),
        "when_local": ("时间（本局时区及 UTC）", "When (bureau time and UTC)"),
        "where": ("来源", "From where"),
        "with": ("取证工具", "With what"),
        "who": ("人员", "Who"),
        "hashes": ("全部文件及其 SHA-256", "Every file and its SHA-256"),
        "requested": ("请求网址", "Requested URL"),
        "final": ("最终网址", "Final URL"),
        "redirects": ("重定向", "Redirects"),
        "status": ("HTTP 状态", "HTTP status"),
        "server_ip": ("服务器 IP", "Server IP"),
        "dns": ("DNS 解析结果", "DNS answer"),
        "tls": ("TLS 证书", "TLS certificate"),
        "browser": ("浏览器", "Browser"),
        "tools": ("软件版本", "Tools"),
        "viewport": ("视口", "Viewport"),
        "timezone": ("时区", "Time zone"),
        "ua": ("用户代理", "User agent"),
        "operator": ("操作人员", "Operator"),
        "persona": ("买家身份", "Buyer persona"),
        "purpose": ("取证目的", "Purpose"),
        "case": ("案件", "Case"),
        "kind": ("类型", "Kind"),
        "start": ("开始", "Start"),
        "end": ("结束", "End"),
        "overlays": ("已关闭的弹窗", "Overlays dismissed"),
        "blocked": ("已拦截的请求", "Requests blocked"),
        "resources": ("已记录的资源", "Resources recorded"),
        "role": ("用途", "Role"),
        "file": ("文件", "File"),
        "size": ("大小", "Size"),
        "capture": ("取证记录", "Capture"),
        "captures": ("取证记录", "Captures"),
        "facts": ("页面信息", "Page facts"),
        "title": ("标题", "Title"),
        "price": ("价格", "Price"),
        "availability": ("库存状态", "Availability"),
        "pack": ("证据包", "Pack"),
        "created": ("生成时间", "Created"),
        "exported_by": ("导出人", "Exported by"),
        "key": ("签名密钥（Ed25519）指纹", "Signing key (Ed25519) fingerprint"),
        "how": ("如何核验本证据包", "How to verify this pack"),
        "timestamp": ("可信时间戳（RFC 3161）", "Trusted timestamps (RFC 3161)"),
        "manifest": ("清单 SHA-256", "Manifest SHA-256"),
        "none": ("无", "none"),
        "steps": ("取证步骤", "Capture steps"),
        "network_settled": ("网络已静止", "Network settled"),
        "yes": ("是", "yes"),
        "no": ("否", "no"),
        "withheld": ("未随本证据包导出的取证记录", "Captures withheld from this pack"),
        "withheld_text": (
            '以下记录在暗访买家身份的浏览器中取得，含该身份的账号、收货地址和支付账户，故未导出；此处列出其已签名清单的哈希，日后如需披露可据此核验。',
            "Made in a covert buyer persona's browser, these show the persona's account, drop "
            'address and payment reference. Their signed manifests are listed here, so a copy '
            'disclosed later can be checked.',
        ),
        "how_text": (
            '运行 `spotcheck evidence verify pack.zip`，或手工核验：按 manifest.json 逐一核对每个文件的 SHA-256；用 '
            'public_key.pem（Ed25519）核验 manifest.json.sig；用 `openssl ts -verify` 核验每个 .tsr '
            '时间戳。详见 VERIFY.txt。',
            "Run `spotcheck evidence verify pack.zip`, or check by hand: every file's SHA-256 "
            'against manifest.json; manifest.json.sig against public_key.pem (Ed25519); each '
            '.tsr with `openssl ts -verify`. See VERIFY.txt.',
        ),
        "tsa_roots": (
            '时间戳机构根证书指纹（SHA-256）',
            "Time-stamping authorities' root certificates (SHA-256)",
        ),
        "not_stated": ("页面未标明", "not stated on the page"),
        "same_bytes": (
            '与下列文件逐字节相同（SHA-256 相同：页面渲染结果一致，例如无需关闭弹窗）：',
            'Byte for byte the same file as (same SHA-256: the page rendered identically, e.g. '
            'no overlay to dismiss):',
        ),
        "wacz_ca": ("WACZ 签名 CA 指纹（SHA-256）", "WACZ signing CA (SHA-256)"),
        "redacted_copy": ("本证据包中的脱敏副本：取证记录", "Its redacted copy in this pack: capture"),
        "redacted_from": ("脱敏副本，原取证记录", "Redacted copy of capture"),
        "redacted_text": (
            '暗访买家的账号、收货地址、支付账户及会话 Cookie 已遮蔽（截图中以黑框遮盖，DOM 与 WARC 中替换为 [已遮蔽 REDACTED]；PDF 由脱敏后的 '
            'DOM 打印）。本副本本身已签名并加盖时间戳；列出原记录清单的哈希，原记录如经披露可据此核对。',
            "The covert buyer's account, drop address, payment reference and session cookies "
            'are masked (black boxes on the screenshots, [已遮蔽 REDACTED] in the DOM and WARC; '
            'the PDF is printed from the redacted DOM). This copy is signed and time-stamped '
            "itself; the original's manifest hash is given to check it if it is disclosed.",
        ),
        "chain": ("样品流转记录", "Sample chain"),
        "step": ("环节", "Step"),
        "by": ("经办人", "By"),
        "at": ("时间", "When"),
        "chain_text": (
            '从所购抽样计划条目到检测报告，每一环节均记载经办人和时间。chain/sample-chain.json 载有全部记录（单独签名并加盖可信时间戳），其所列文件见 '
            'chain/ 目录。',
            "From the plan item bought to the lab's report, each step with who recorded it and "
            'when. chain/sample-chain.json holds it (signed and time-stamped on its own); the '
            'files it names are in chain/.',
        ),
        "not_recorded": ("未登记", "Not recorded"),
        "case_kind": ("案件类型", "Case kind"),
        "d_purchase_id": ("购买任务", "Purchase"),
        "d_plan_id": ("抽样计划", "Plan"),
        "d_plan_version": ("计划版本", "Plan version"),
        "d_plan_approved_by": ("计划批准人", "Plan approved by"),
        "d_plan_approved_at": ("计划批准时间", "Plan approved at"),
        "d_plan_item_seq": ("计划条目序号", "Plan item"),
        "d_stratum": ("层", "Stratum"),
        "d_inclusion_probability": ("入样概率 π", "Inclusion probability π"),
        "d_listing_id": ("商品", "Listing"),
        "d_listing_url": ("商品网址", "Listing URL"),
        "d_listing_title": ("商品标题", "Listing title"),
        "d_platform": ("平台", "Platform"),
        "d_bought_by": ("购买方式", "Bought"),
        "d_order_number": ("订单号", "Order number"),
        "d_price_paid": ("实付金额", "Price paid"),
        "d_currency": ("币种", "Currency"),
        "d_order_captures": ("订单页面取证记录", "Order page captures"),
        "d_sample_code": ("样品编号", "Sample code"),
        "d_seal_number": ("封样编号", "Seal number"),
        "d_photo": ("封样照片", "Seal photo"),
        "d_lab": ("检测机构", "Laboratory"),
        "d_outcome": ("检测结论", "Outcome"),
        "d_defects": ("不合格项", "Defects"),
        "d_clauses": ("标准条款", "Standard clauses"),
        "d_third_party": ("第三方检测结果", "Third-party result"),
        "d_verified": ("已核实", "Verified"),
        "d_report": ("检测报告文件", "Lab report file"),
        "covert": ("由暗访买家身份购买（证据包中不列明身份）", "by a covert buyer persona (not named in packs)"),
        "by_hand": ("人工购买", "by hand"),
        "fp_check": ("请先核对指纹", "Check these fingerprints first"),
        "fp_text": (
            '证据包不能自证来源：任何人都可以自制密钥和时间戳根证书。信任本证据包之前，请将上列指纹与签发机关公布的指纹（其系统中 `spotcheck evidence '
            'key show` 的输出）核对一致。用 openssl 自行计算：`openssl pkey -pubin -in public_key.pem '
            '-outform DER | tail -c 32 | sha256sum` 得签名公钥指纹；`openssl x509 -in ROOT.pem -noout '
            '-fingerprint -sha256` 得根证书指纹（大写、以冒号分隔）。`spotcheck evidence verify` '
            '只信任核验方本机的密钥与根证书，以及用 --trust-key / --trust-tsa-ca 明确指定的。',
            'A pack cannot vouch for itself: anyone can make a key and a TSA root of their '
            'own. Compare the fingerprints above with the ones the issuing office publishes '
            '(`spotcheck evidence key show` on its installation) before trusting this pack. '
            'With plain openssl: `openssl pkey -pubin -in public_key.pem -outform DER | tail '
            "-c 32 | sha256sum` gives the signing key's; `openssl x509 -in ROOT.pem -noout "
            "-fingerprint -sha256` a root's (upper case, with colons). `spotcheck evidence "
            'verify` trusts only the keys and roots of the verifying installation and those '
            'given with --trust-key / --trust-tsa-ca.',
        ),
    },
    #: The purchase plan's report (sampler.export): headings, columns and notes.
    "plan_report": {
        "title": ("购买计划", "Purchase plan"),
        "campaign": ("抽检活动", "Campaign"),
        "version": ("版本", "Version"),
        "status": ("状态", "Status"),
        "method": ("抽样方法", "Method"),
        "allocation": ("样本分配", "Allocation"),
        "seed": ("随机种子", "Seed"),
        "frame": ("抽样框", "Frame"),
        "frame_hash": ("抽样框 SHA-256", "Frame SHA-256"),
        "listings": ("个商品", "listings"),
        "sample": ("样本量", "Sample size"),
        "expected_cost": ("预期费用（元）", "Expected cost (CNY)"),
        "sample_cost": ("样本按标价合计（元）", "Cost of the sample at listed prices (CNY)"),
        "strata": ("分层", "Strata"),
        "stratum": ("层", "Stratum"),
        "N_h": ("N_h（抽样框）", "N_h (frame)"),
        "n_h": ("n_h（样本）", "n_h (sample)"),
        "rate": ("抽样比", "Sampling rate"),
        "pi_range": ("入样概率范围", "π range"),
        "certainty": ("必抽", "Certainty"),
        "risk_mean": ("平均风险", "Mean risk"),
        "chart": ("各层样本分配", "Allocation by stratum"),
        "items": ("计划明细", "Plan items"),
        "seq": ("序号", "#"),
        "listing": ("商品", "Listing"),
        "pi": ("入样概率 π", "π"),
        "price": ("预计价格", "Expected price"),
        "reasons": ("入选理由", "Why"),
        "created": ("抽取人", "Drawn by"),
        "submitted": ("提交人", "Submitted by"),
        "reviewed": ("审核人", "Reviewed by"),
        "comment": ("审核意见", "Comment"),
        "excluded": ("未纳入抽样框", "Left out of the frame"),
        "risk_dist": ("样本风险评分分布", "Risk scores of the sample"),
        "none": ("无", "none"),
        "generated": ("生成时间", "Generated"),
        "frame_units": ("抽样框", "frame"),
        "sample_units": ("样本", "sample"),
        "proportional": ("按比例分配应抽数", "proportional allocation"),
        "registration": ("预登记", "Pre-registration"),
        "registered": (
            '清单 SHA-256 {sha}，由密钥 {key} 签名，时间戳 {time}',
            'manifest SHA-256 {sha}, signed by key {key}, time-stamped {time}',
        ),
        "not_registered": ("未预登记", "not pre-registered"),
        "registered_on_approval": (
            '审核人批准时写入清单、签名并加盖时间戳',
            'written, signed and time-stamped when a supervisor approves the plan',
        ),
        "no_token": ("—（时间戳服务均无应答）", "— (no time-stamping authority answered)"),
    },
}


def text_label(domain: str, code: str | None, locale: str = "zh-CN") -> str:
    """The label of a plain-string *code* of *domain*; an unknown code is shown as it is
    (crawled or imported data may carry codes nobody listed) but never as nothing."""
    if code is None or code == "":
        return "—"
    pair = TEXT_LABELS.get(domain, {}).get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if locale.startswith("zh") else pair[1]


#: Domains of TEXT_LABELS that are a document's headings and notes (keyed by a name the
#: template uses), not codes stored in the database: a page may well show the word "price".
HEADING_DOMAINS = frozenset({"half_year", "half_year_sheet", "evidence_report", "plan_report"})


def text_labels_of(domain: str, locale: str = "zh-CN") -> dict[str, str]:
    """Every code of the plain-string *domain* with its label in *locale* (a report's
    headings: ``text_labels_of("half_year", "en")["title"]``)."""
    return {code: text_label(domain, code, locale) for code in TEXT_LABELS[domain]}


def stratum_label(value: str, locale: str = "zh-CN") -> str:
    """A stratum or domain label ("mall/electrical/key") with each coded part labelled (a
    sector, a supervision class, the take-all stratum); platform codes and other parts stay
    as they are."""
    sectors = {m.value for m in v.Sector}
    classes = {m.value for m in v.SupervisionClass}
    parts = []
    for part in str(value).split("/"):
        if part in sectors:
            part = label(v.Sector, part, locale)
        elif part in classes:
            part = label(v.SupervisionClass, part, locale)
        elif part in TEXT_LABELS["stratum"]:  # sampler.design.TAKE_ALL: copies of a failure
            part = text_label("stratum", part, locale)
        parts.append(part)
    return "/".join(parts)
