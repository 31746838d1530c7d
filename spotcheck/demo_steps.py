"""The main job end to end, on the sandbox marketplace: ``spotcheck demo``.

The run is an ordered list of named steps (like a web capture in Harvard LIL's Scoop): each
step is logged with its timing and outcome, progress is shown throughout, and a failed step
stops the run with its name and reason.  There is one pipeline: what the scheduler does at a
campaign's fire times (crawl, score, draw, purchase tasks, buy, offers) the demo does by
running the very same job bodies through :func:`scheduler.runs.execute` (each recorded as a
job run, as a manual run would be); what people do (approve a plan, enter lab results, open
a case, export a pack) it does through the same calls the CLI and the console make.  So the
demo is also the widest smoke test of the project.

Running it twice works: users, platforms and the campaign are found again, listings are
updated in place (new snapshots only where the sandbox changed them), a new plan version is
drawn that avoids listings bought in the last 30 days, and new purchases get new keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import resource
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from spotcheck.output import reader_locale, said
from store import models as m
from store.db import Database
from store.errors import SpotcheckError, VerificationFailed
from store.jsonio import jsonable as store_jsonable
from store.labels import label, text_label
from store.platformnames import platform_names
from store.settings import Settings
from store.vocabulary import Role

#: The sandbox's seed and size for the demo: big enough to be interesting, small enough for
#: the three-minute budget on a 2-core machine.
SEED = 2026
LISTINGS = 1500
#: Fixed ports keep the listings' URLs stable between runs; free ones are used if taken.
BASE_PORT = 18760
#: The sandbox's feeds are fetched from here on: every notice they publish.
NOTICES_SINCE = "2000-01-01"
CAMPAIGN = "2026年下半年 跨境电商消费品线上抽检 (demo)"
PLAN_SEED = 20261127
SAMPLE_SIZE = 30
#: How many plan items are really bought through Chromium with a persona; the rest of the
#: plan's purchases are recorded as ordered by the demo so the estimate covers the whole plan.
BROWSER_PURCHASES = 3
USERS = (("li.na", "sampler"), ("wang.qiang", "supervisor"), ("zhao.min", "investigator"),
         ("admin", "admin"))
#: The demo users' documented password (a demo database is not a production one).
DEMO_PASSWORD = "demo-password-2026"


def _console_line() -> str:
    """Where to open the console and as whom, in the reader's language (roles by label)."""
    lang = reader_locale()
    zh = lang == "zh-CN"
    users = ("，" if zh else ", ").join(
        f"{u}（{label(Role, r, lang)}）" if zh else f"{u} ({label(Role, r, lang)})"
        for u, r in USERS)
    return said("demo.console", users=users, password=DEMO_PASSWORD)


#: What the demo's lab finds wrong with a failed sample, by what the product is: the
#: standard a bureau would test it against (a toy standard for a descaler reads as nonsense).
DEMO_DEFECTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("玩具", "积木", "娃娃", "毛绒", "toy"), "GB 6675.2-2014 §4.3", "可触及锐利边缘"),
    (("除垢", "清洁", "清洗", "洗涤", "消毒"), "GB 38508-2020 §4",
     "挥发性有机化合物含量超出限值"),
    (("奶瓶", "餐具", "水杯", "保温杯"), "GB 4806.1-2016 §4.1",
     "食品接触材料迁移物超出限值"),
)
SECTOR_DEFECTS = {
    "electrical": ("GB 4706.1-2005 §8.1", "对触及带电部件的防护不符合要求"),
    "textiles": ("GB 18401-2010 §5", "pH 值超出限值"),
}
#: Anything else: the instructions every consumer product must carry.
GENERAL_DEFECT = ("GB 5296.1-2012 §5", "产品使用说明缺少中文警示")


def demo_defect(listing: Any) -> tuple[str, str]:
    """(clause, defect) the demo's lab reports for *listing*'s failed sample."""
    text = f"{listing.title or ''} {listing.category or ''}".lower()
    for words, clause, defect in DEMO_DEFECTS:
        if any(w in text for w in words):
            return clause, defect
    sector = getattr(listing.sector, "value", listing.sector)
    return SECTOR_DEFECTS.get(str(sector), GENERAL_DEFECT)


@dataclass
class StepLog:
    #: The step's English name (``demo_step`` label) and its code.
    name: str
    code: str = ""
    seconds: float = 0.0
    #: CPU seconds of this process and of the children it reaped during the step (crawlers,
    #: the browser driver with its Chromium): what a step costs on a loaded machine.
    cpu_seconds: float = 0.0
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoOptions:
    """The demo's size: the defaults fit the three-minute budget; tests use smaller ones."""

    listings: int = LISTINGS
    sample_size: int = SAMPLE_SIZE
    browser_purchases: int = BROWSER_PURCHASES
    #: Crawl listing photos (copies of a product are found by their pictures).
    photos: bool = True


@dataclass
class DemoState:
    """What the steps hand to each other and what the summary prints."""

    settings: Settings
    db: Database
    options: DemoOptions = field(default_factory=DemoOptions)
    sandbox: Any = None
    tsa: Any = None
    truth: dict[str, Any] = field(default_factory=dict)
    campaign_id: int | None = None
    plan_id: int | None = None
    purchases: list[int] = field(default_factory=list)
    bought: list[dict[str, Any]] = field(default_factory=list)
    case_id: int | None = None
    case_number: str | None = None
    pack: Path | None = None
    report_files: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    steps: list[StepLog] = field(default_factory=list)


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its reaped children so far."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _sandbox_ports() -> dict[str, int] | None:
    ports = {"mall": BASE_PORT, "spa": BASE_PORT + 1, "shop": BASE_PORT + 2,
             "feeds": BASE_PORT + 3}
    return ports if all(_port_free(p) for p in ports.values()) else None


class Demo:
    """The demo's steps, in order."""

    def __init__(self, settings: Settings, db: Database, console: Console,
                 options: DemoOptions | None = None) -> None:
        self.state = DemoState(settings=settings, db=db, options=options or DemoOptions())
        self.console = console
        self.steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [  # (demo_step code, body)
            ("start", self.start),
            ("people", self.people),
            ("campaign", self.campaign),
            ("crawl", self.crawl),
            ("notices", self.notices),
            ("score", self.score),
            ("plan", self.plan),
            ("buy", self.buy),
            ("lab", self.lab),
            ("copies", self.copies),
            # The plan's approval captures run in the background from the plan step on; what
            # does not need them (the lead's case and pack, the reports) runs beside them, and
            # they are waited for only by the offers step, before the failed sample's pack.
            ("case", self.case),
            ("pack", self.pack),
            ("reports", self.reports),
            ("offers", self.offers),
            ("sample_pack", self.sample_pack),
        ]

    # -- running -----------------------------------------------------------------------------

    def run(self) -> DemoState:
        locale = reader_locale()
        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                            console=self.console, transient=False)
        try:
            with progress:
                overall = progress.add_task("spotcheck demo", total=len(self.steps))
                for code, fn in self.steps:
                    # The person reads the step in their language; the summary keeps its
                    # code and its English name (machine output).
                    name = text_label("demo_step", code, locale)
                    progress.update(overall, description=name)
                    started, cpu = time.perf_counter(), _cpu_seconds()
                    log = StepLog(text_label("demo_step", code, "en"), code=code)
                    self.state.steps.append(log)
                    try:
                        log.detail = fn() or {}
                    except Exception as exc:
                        log.outcome = f"failed: {exc}"
                        log.seconds = time.perf_counter() - started
                        raise
                    finally:
                        log.cpu_seconds = _cpu_seconds() - cpu
                    log.seconds = time.perf_counter() - started
                    progress.console.log(f"[green]✓[/green] {name} "
                                         f"[dim]({log.seconds:.1f} s)[/dim]")
                    progress.advance(overall)
                progress.update(overall, description=text_label("demo_step", "done", locale))
        finally:
            self.stop()
        return self.state

    def stop(self) -> None:
        st = self.state
        if st.sandbox is not None:
            with contextlib.suppress(Exception):
                st.sandbox.stop()
        if st.tsa is not None:
            with contextlib.suppress(Exception):
                st.tsa.stop()

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        with self.state.db.session() as s:
            yield s

    def job(self, kind: str, **options: Any) -> dict[str, Any]:
        """Run the scheduler's job body *kind* for the demo's campaign now, recorded as a job
        run; a failed run stops the demo with the job's error."""
        from scheduler.runs import execute, load_jobs

        st = self.state
        load_jobs()
        info = execute(st.db, st.settings, kind, st.campaign_id, None, holder="demo",
                       options=options)
        if info.outcome == "error":
            from store.messages import Said, known

            refusal = (info.result or {}).get("refusal") or {}
            if known(refusal.get("code")):  # said in the reader's language
                raise SpotcheckError("demo.job_failed", job_kind=kind,
                                     reason=Said(refusal["code"], refusal.get("params") or {}))
            first = (info.error or "").strip().splitlines()[:1]
            raise SpotcheckError("demo.job_failed", job_kind=kind,
                                 reason=(first[0] if first else "?")[:300])
        return info.result

    # -- steps -------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        from evidence.localtsa import LocalTSA
        from sandbox import Sandbox

        st = self.state
        st.sandbox = Sandbox(seed=SEED, listings=st.options.listings, day=0, obstacles=True,
                             ports=_sandbox_ports()).start()
        st.tsa = LocalTSA(st.settings.keys_dir / "local-tsa")
        tsa_url = st.tsa.start()
        st.settings.tsa_urls = [tsa_url]
        # The installation trusts its local TSA's root from now on (keys/trusted-tsa/), so
        # `spotcheck evidence verify` accepts the demo's packs and no other TSA's.
        from evidence.trust import trust_local_tsa

        trust_local_tsa(st.settings, st.tsa.ca_file)
        # Listing photos are crawled, so that copies of a product on other platforms are
        # found by their pictures (issue 25's propagation step below).
        st.settings.crawl_photos = st.options.photos
        allow = set(st.settings.capture_allow_networks) | {"127.0.0.0/8"}
        st.settings.capture_allow_networks = sorted(allow)
        st.truth = st.sandbox.truth()
        return {"sandbox": dict(st.sandbox.urls), "tsa": tsa_url}

    def people(self) -> dict[str, Any]:
        from crawlers.platforms import register_sandbox_platforms
        from scheduler.personas import create_persona
        from spotcheck.users import add_user

        st = self.state
        created_users = []
        with self.session() as s:
            existing = set(s.scalars(select(m.User.name)))
        for name, role in USERS:
            if name not in existing:
                add_user(st.db, name, role, DEMO_PASSWORD, actor="demo")
                created_users.append(name)
        personas = 0
        with self.session() as s:
            platforms = register_sandbox_platforms(s, dict(st.sandbox.urls))
            s.flush()
            for platform in platforms:
                have = set(s.scalars(select(m.BuyerPersona.alias)
                                     .where(m.BuyerPersona.platform_id == platform.id)))
                for k, (alias, city) in enumerate((("小李", "杭州市西湖区"),
                                                   ("阿强", "宁波市鄞州区"),
                                                   ("Mia", "上海市浦东新区"))):
                    full_alias = f"{platform.code}-{alias}"
                    if full_alias in have:
                        continue
                    create_persona(
                        s, platform.id, full_alias, account=f"buyer{k + 1}.{platform.code}",
                        password="sandbox",
                        address={"name": alias, "phone": f"1380000{k:04d}",
                                 "address": f"{city} 文三路 {100 + k} 号"},
                        payment_ref=f"PAY-DEMO-{platform.code.upper()}-{k + 1:03d}",
                        settings=st.settings, actor="demo")
                    personas += 1
        return {"users_created": created_users, "personas_created": personas}

    def campaign(self) -> dict[str, Any]:
        from sampler.campaign_scope import create_campaign

        st = self.state
        with self.session() as s:
            camp = s.scalar(select(m.Campaign).where(m.Campaign.name == CAMPAIGN))
            created = camp is None
            if camp is None:
                camp = create_campaign(
                    s, CAMPAIGN, actor="li.na", platforms=["mall", "spa", "shop"],
                    n=st.options.sample_size, method="systematic", allocation="risk",
                    max_per_seller=2, exclude_bought_days=30, team="浙江省 跨境电商抽检组")
                camp.period_start = dt.date(2026, 7, 1)
                camp.period_end = dt.date(2026, 12, 31)
                s.flush()
            st.campaign_id = camp.id
        return {"campaign": st.campaign_id, "created": created}

    def crawl(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for code, run in self.job("crawl", timeout=300)["platforms"].items():
            out[code] = {"items": run["items"], "new": run["new_listings"],
                         "changed": run["changed_listings"],
                         "removed": run["removed_listings"],
                         "rejected": run["rejected_items"], "errors": run["errors"],
                         "seconds": run["seconds"]}
        return out

    def notices(self) -> dict[str, Any]:
        """The scheduler's ``signals`` job, with the installation's notice sources pointed at
        the sandbox's CPSC and Safety Gate feeds (and no other: the demo reaches nothing
        outside this machine), every notice they publish."""
        st = self.state
        st.settings.signals_cpsc_url = f"{st.sandbox.feeds_url}/RestWebServices/Recall"
        st.settings.signals_safety_gate_url = st.sandbox.safety_gate_index_url
        st.settings.signals_health_canada_url = ""
        return self.job("signals", since=NOTICES_SINCE)

    def score(self) -> dict[str, Any]:
        r = self.job("score")
        return {"networks": r["networks"], "product_links": r["product_links"],
                "scored": r["scored"], "prohibited": r["prohibited"], "median": r["median"],
                "max": r["max"]}

    def plan(self) -> dict[str, Any]:
        from scheduler.preregistration import approve_and_register

        st = self.state
        drawn = self.job("draw", seed=PLAN_SEED)
        if "plan" not in drawn:
            raise SpotcheckError("demo.no_plan_drawn", reason=str(drawn.get("reason", drawn))[:300])
        plan_id = int(drawn["plan"])
        with self.session() as s:
            approve_and_register(s, plan_id, "wang.qiang", "supervisor",
                                 "风险权重合理，同意执行 / risk weights reasonable, approved",
                                 st.settings)
        st.plan_id = plan_id
        with self.session() as s:
            plan = s.get(m.Plan, plan_id)
            assert plan is not None
            return {"plan": plan_id, "version": plan.version, "items": len(plan.items),
                    "frame": plan.frame_size, "status": plan.status.value}

    def buy(self) -> dict[str, Any]:
        """The purchase job makes the plan's tasks; the buy job, as an operator's "buy now",
        places the first orders through Chromium (the rest are recorded in the lab step)."""
        st = self.state
        tasks = self.job("purchase", seed=PLAN_SEED)
        mine = [p for p in tasks.get("plans", []) if p["plan"] == st.plan_id]
        st.purchases = mine[0]["tasks"] if mine else []
        results: list[dict[str, Any]] = []
        if st.options.browser_purchases > 0:
            results = self.job("buy", limit=st.options.browser_purchases,
                               now=True).get("purchases", [])
        st.bought = results
        return {"tasks": len(st.purchases), "bought_in_browser": len(results),
                "skipped": mine[0]["skipped"] if mine else []}

    def lab(self) -> dict[str, Any]:
        from sampler.plans import estimate_plan
        from scheduler.purchases import (
            mark_ordered,
            receive_sample,
            record_lab_result,
            send_to_lab,
        )

        st = self.state
        truth = {(row["platform"], row["external_id"]): row for row in st.truth["listings"]}
        failed = 0
        simulated = 0
        for pid in st.purchases:
            with self.session() as s:
                p = s.get(m.Purchase, pid)
                assert p is not None
                listing = p.plan_item.listing
                platform = s.get(m.Platform, listing.platform_id)
                assert platform is not None
                row = truth.get((platform.code, listing.external_id))
                if row is None:
                    continue
                if p.status == m.PurchaseStatus.PLANNED:
                    # Not bought in the browser (to keep the demo short): recorded as ordered
                    # so that the whole plan has outcomes to estimate from.
                    mark_ordered(s, pid, f"DEMO-{pid:05d}", listing.price, listing.currency,
                                 actor="li.na")
                    simulated += 1
                if p.status == m.PurchaseStatus.ORDERED:
                    receive_sample(s, pid, f"S{st.plan_id:03d}-{pid:05d}", actor="li.na")
                if p.status == m.PurchaseStatus.RECEIVED:
                    send_to_lab(s, pid, "浙江省质检院 (demo lab)", actor="li.na")
                if p.status == m.PurchaseStatus.SENT_TO_LAB:
                    bad = bool(row["flags"].get("noncompliant"))
                    clause, defect = demo_defect(listing)
                    record_lab_result(s, pid, "fail" if bad else "pass",
                                      defects=[{"code": clause, "text": defect}] if bad else [],
                                      clauses=[clause.split(" §")[0]] if bad else [],
                                      lab_name="浙江省质检院 (demo lab)", actor="li.na")
                    failed += int(bad)
        with self.session() as s:
            est = estimate_plan(s, st.plan_id or 0)
        st.summary["estimate"] = est
        return {"results": len(st.purchases), "failed": failed,
                "recorded_without_browser": simulated}

    def copies(self) -> dict[str, Any]:
        """What a sampler does once lab results are in: carry each failure to every listing
        of the same product (identifiers, photos, titles; on any platform), re-scored with
        the reason, and draw the campaign's next plan version with those copies in a take-all
        stratum (π = 1, reported apart) — a draft, for the next half year's review."""
        from scheduler.propagation import carry_failures, draw_with_take_all

        st = self.state
        with self.session() as s:
            carried = carry_failures(s, settings=st.settings)
        with self.session() as s:
            nxt = draw_with_take_all(s, st.campaign_id or 0, seed=PLAN_SEED + 1,
                                     actor="li.na", settings=st.settings)
        lang = reader_locale()
        st.summary["propagation"] = {"lines": carried.lines(lang) + nxt.lines(lang),
                                     "carried": carried.as_dict(), "next_plan": nxt.as_dict()}
        return {"copies": carried.copies, "other_platform": carried.other_platform,
                "failed_listings": carried.failed_listings, "next_plan": nxt.plan_id,
                "take_all": len(nxt.take_all)}

    def offers(self) -> dict[str, Any]:
        """Every case has evidence of what was offered: approving the plan queued captures of
        every item's listing (they run beside the buying, lab and case steps).  The browser
        purchases captured their listing when buying; of the items the demo records as bought
        without a browser, those that failed (each a case) get their capture "when bought"
        here, so the demo stays short (the scheduled ``offers`` job takes all): on a browser
        of their own while the approval captures go on, which are then waited for."""
        from scheduler.offers import APPROVAL_PURPOSE, capture_offers
        from scheduler.runs import wait_for_queued_runs

        st = self.state
        with self.session() as s:
            failed = list(s.scalars(
                select(m.Sample.purchase_id).join(m.LabResult, m.LabResult.sample_id == m.Sample.id)
                .where(m.Sample.purchase_id.in_(st.purchases),
                       m.LabResult.outcome == m.LabOutcome.FAIL)))
        bought = capture_offers(st.db, st.settings, approvals=False, purchase_ids=failed,
                                plan_id=st.plan_id, actor="li.na")
        finished = wait_for_queued_runs(timeout=600)
        with self.session() as s:
            at_approval = s.scalar(select(func.count()).select_from(m.Capture).where(
                m.Capture.purpose == APPROVAL_PURPOSE.format(plan=st.plan_id),
                m.Capture.status.in_(m.CaptureStatus.evidence())))
        return {"at_approval": at_approval, "approval_captures_finished": finished,
                "when_bought": len(bought.get("when_bought", [])),
                "failed": bought.get("failed", [])}

    def case(self) -> dict[str, Any]:
        from evidence.capture import CaptureRequest, capture_many
        from scheduler.cases import notify, open_case

        st = self.state
        truth = {(row["platform"], row["external_id"]): row for row in st.truth["listings"]}
        # The riskiest active listing whose reasons say "counterfeit-like" (famous brand at a
        # fraction of its price); the sandbox's truth confirms it for the summary.
        with self.session() as s:
            rows = s.execute(
                select(m.Listing, m.Platform.code)
                .join(m.Platform, m.Platform.id == m.Listing.platform_id)
                .join(m.ListingRisk, m.ListingRisk.listing_id == m.Listing.id)
                .where(m.Listing.status == m.ListingStatus.ACTIVE,
                       m.Listing.supervision_class != m.SupervisionClass.PROHIBITED)
                .order_by(*m.RISK_ORDER).limit(200)).all()
            lead = None
            for listing, code in rows:
                codes = {r.get("code") for r in listing.risk_reasons or []
                         if isinstance(r, dict)}
                if codes & {"price_anomaly", "price_low"}:
                    lead = (listing, code)
                    break
            if lead is None and rows:
                lead = rows[0]
            if lead is None:
                return {"case": None}
            listing, code = lead
            listing_id, url = listing.id, listing.url
            seller_url = listing.seller.url if listing.seller else None
            confirmed = bool(truth.get((code, listing.external_id), {})
                             .get("flags", {}).get("counterfeit"))
        # The listing and its seller's page together, on one browser.
        purpose = "counterfeit lead / 疑似假冒线索"
        requests = [CaptureRequest(url=url, kind="listing", listing_id=listing_id,
                                   purpose=purpose)]
        if seller_url:
            requests.append(CaptureRequest(url=seller_url, kind="seller", purpose=purpose))
        capture_ids = [r.capture_id for r in asyncio.run(capture_many(
            st.db, requests, operator="zhao.min", settings=st.settings))]
        with self.session() as s:
            case = open_case(s, "counterfeit", listing_id=listing_id,
                             title="疑似假冒：知名品牌远低于市场价 / suspected counterfeit",
                             summary="Famous brand sold far below its usual price by a seller "
                                     "not authorised for it.",
                             capture_ids=capture_ids, actor="zhao.min")
            notify(s, case.id, content="请核查该平台商家销售的疑似假冒商品。", actor="zhao.min")
            st.case_id, st.case_number = case.id, case.number
            bureau = case.jurisdiction_bureau
        return {"case": st.case_number, "listing": listing_id, "captures": capture_ids,
                "bureau": bureau, "truth_counterfeit": confirmed}

    def pack(self) -> dict[str, Any]:
        from evidence.packs import export_pack
        from evidence.trust import TrustAnchors
        from evidence.verify import verify_pack

        st = self.state
        if st.case_id is None:
            return {"pack": None}
        out = st.settings.packs_dir / f"case-{st.case_number}.zip"
        st.pack = export_pack(st.db, case_id=st.case_id, out=out, actor="zhao.min",
                              settings=st.settings)
        report = verify_pack(st.pack, anchors=TrustAnchors.for_installation(st.settings))
        if not report.ok:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failures[:3])
            raise VerificationFailed("demo.pack_failed_verification", failed=failed[:500])
        return {"pack": str(st.pack), "verified": True, "bytes": st.pack.stat().st_size}

    def sample_pack(self) -> dict[str, Any]:
        """A failed sample's case too: its pack carries the sample chain and the listing as
        offered at approval and when bought (so it comes after the offers step)."""
        from evidence.packs import export_pack
        from evidence.trust import TrustAnchors
        from evidence.verify import verify_pack

        st = self.state
        with self.session() as s:
            sample_case = s.scalar(select(m.Case).where(m.Case.kind == "failed_sample")
                                   .order_by(m.Case.id).limit(1))
            number = sample_case.number if sample_case else None
            sample_case_id = sample_case.id if sample_case else None
        if sample_case_id is None:
            return {"failed_sample_pack": None}
        path = export_pack(st.db, case_id=sample_case_id, actor="zhao.min",
                           out=st.settings.packs_dir / f"case-{number}.zip",
                           settings=st.settings)
        chk = verify_pack(path, anchors=TrustAnchors.for_installation(st.settings))
        if not chk.ok:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in chk.failures[:3])
            raise VerificationFailed("demo.sample_pack_failed_verification",
                                     failed=failed[:500])
        return {"failed_sample_pack": {"pack": str(path), "verified": True,
                                       "captures": chk.captures}}

    def reports(self) -> dict[str, Any]:
        from sampler.export import export_plan

        st = self.state
        files: list[str] = []
        out = st.settings.reports_dir
        assert st.plan_id is not None
        with self.session() as s:
            for fmt in ("pdf", "xlsx", "csv"):
                path = out / f"plan-{st.plan_id}.{fmt}"
                export_plan(s, st.plan_id, fmt, path)
                files.append(str(path))
        from scheduler.reports import half_year_report

        with self.session() as s:
            made = half_year_report(s, "2026H2", out, ["xlsx", "pdf"], settings=st.settings)
        files += [str(p) for p in made.get("files", [])]
        st.report_files = files
        return {"files": files}


# -- summary ---------------------------------------------------------------------------------


def build_summary(state: DemoState) -> dict[str, Any]:
    """Everything the demo prints, as data (``--json`` prints exactly this)."""
    db = state.db
    with db.session() as s:
        by_class = dict(s.execute(select(m.Listing.supervision_class, func.count())
                                  .where(m.Listing.status != m.ListingStatus.REMOVED)
                                  .group_by(m.Listing.supervision_class)).all())
        by_platform = dict(s.execute(select(m.Platform.code, func.count())
                                     .join(m.Listing, m.Listing.platform_id == m.Platform.id)
                                     .group_by(m.Platform.code)).all())
        top = [(x.id, code, x.title, x.risk_score, x.risk_reasons) for x, code in s.execute(
            select(m.Listing, m.Platform.code)
            .join(m.Platform, m.Platform.id == m.Listing.platform_id)
            .join(m.ListingRisk, m.ListingRisk.listing_id == m.Listing.id)
            .where(m.Listing.status == m.ListingStatus.ACTIVE)
            .order_by(*m.RISK_ORDER).limit(5))]
        names = platform_names(s)
        strata: dict[str, int] = {}
        if state.plan_id:
            strata = dict(s.execute(select(m.PlanItem.stratum, func.count())
                                    .where(m.PlanItem.plan_id == state.plan_id)
                                    .group_by(m.PlanItem.stratum)).all())
    return {
        "database": db.url,
        "data_folder": str(state.settings.home.resolve()),
        "listings_by_class": {getattr(k, "value", k): v for k, v in by_class.items()},
        "listings_by_platform": by_platform,
        # for a person: the summary names each platform (the codes above stay for JSON)
        "platform_names": names,
        "sandbox_truth": {"active": state.truth.get("counts", {}).get("active"),
                          "counterfeit": len(state.truth.get("planted", {})
                                             .get("counterfeit", [])),
                          "prohibited": len(state.truth.get("planted", {})
                                            .get("prohibited", []))},
        "top_risks": [{"listing": i, "platform": p, "title": (t or "")[:80],
                       "score": round(sc or 0, 2),
                       "reasons": [r.get("en") if isinstance(r, dict) else str(r)
                                   for r in (rs or [])[:3]],
                       "reasons_zh": [r.get("zh") or r.get("en") if isinstance(r, dict)
                                      else str(r) for r in (rs or [])[:3]]}
                      for i, p, t, sc, rs in top],
        "plan": {"id": state.plan_id, "by_stratum": strata},
        "purchases_in_browser": state.bought,
        "propagation": state.summary.get("propagation"),
        "estimate": state.summary.get("estimate"),
        "case": state.case_number,
        "pack": str(state.pack) if state.pack else None,
        "reports": state.report_files,
        "console": _console_line(),
        "steps": [{"step": st.name, "code": st.code, "seconds": round(st.seconds, 2),
                   "cpu_seconds": round(st.cpu_seconds, 2), "outcome": st.outcome,
                   "detail": st.detail} for st in state.steps],
    }


def jsonable(data: Any) -> Any:
    """The demo's summary as plain JSON types (store.jsonio, the one serialiser)."""
    return store_jsonable(data)
