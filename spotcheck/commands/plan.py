"""``spotcheck plan``: draw purchase plans, review them (four eyes), export, estimate.

Plans are referred to by id, by campaign name (its newest version) or as ``CAMPAIGN@vN``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from sampler import export as export_api
from sampler import plans as plan_api
from sampler.sizes import detection_probability, discovery_sample_size, precision_sample_size
from spotcheck.context import current
from spotcheck.output import (
    bar_chart,
    check_code,
    check_name,
    console,
    err_console,
    heading,
    local_time,
    print_json,
    reader_locale,
    said,
    say,
    table,
)
from store.labels import stratum_label, text_label
from store.messages import render
from store.platformnames import platform_names
from store.vocabulary import PlanStatus

app = typer.Typer(help="Purchase plans: draw, show, review, export, diff, estimate.",
                  no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


@app.command("draw")
def draw_cmd(campaign: str = typer.Argument(..., help="Campaign name or id."),
             seed: int | None = typer.Option(None, "--seed", help="Random seed (default: a new "
                                             "random one, recorded in the plan)."),
             json_out: bool = JSON) -> None:
    """Freeze the campaign's frame and draw a new plan version (a draft)."""
    from sampler.campaign_scope import get_campaign

    ctx = current()
    ctx.require("plans.draw")
    seed = secrets.randbits(62) if seed is None else seed
    with ctx.db.session() as s:
        camp = get_campaign(s, campaign)
        with console.status("drawing…") if not json_out else _null():
            plan = plan_api.draw_plan(s, camp.id, seed=seed, actor=ctx.actor(),
                                      settings=ctx.settings)
        summary = plan_api.plan_summary(s, plan.id)
        names = platform_names(s)
    if json_out:
        print_json(summary)
        return
    _print_summary(summary, names)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _print_summary(summary: dict[str, Any], names: Mapping[str, str]) -> None:
    """A plan's heading, frame and strata table; a stratum names its platform from *names*
    (:func:`store.platformnames.platform_names`; ``--json`` keeps the codes)."""
    p = summary["plan"]
    console.print("[bold]" + escape(said(
        "cli_said.plan_heading", id=p["id"], campaign=p["campaign"], version=p["version"],
        plan_status=PlanStatus(p["status"]), sampling_method=p["method"], seed=p["seed"]))
        + "[/bold]")
    say("cli_said.plan_frame", frame=p["frame_size"], sha=p["frame_sha256"][:16],
        n=p["sample_size"], cost=p["expected_cost"] or "—")
    if summary["totals"]["excluded"]:
        say("cli_said.left_out", what=", ".join(
            f"{text_label('frame_exclusion', k, reader_locale())} {v}"
            for k, v in summary["totals"]["excluded"].items()))
    console.print(table("strata", ["stratum", "N_h", "n_h", "rate", "π min", "π max", "certain",
                                   "cost", "risk"],
                        [(r["stratum"], r["N_h"], r["n_h"], _pct(r["sampling_rate"]),
                          f"{r['pi_min']:.4f}" if r["pi_min"] is not None else "—",
                          f"{r['pi_max']:.4f}" if r["pi_max"] is not None else "—",
                          r["certainty"], f"{r['sample_cost']:.2f}",
                          f"{r['risk_mean']:.3f}" if r["risk_mean"] is not None else "—")
                         for r in summary["strata"]], codes={"stratum": "stratum"},
                        platforms=names))
    console.print(bar_chart("allocation (n_h)",
                            {stratum_label(r["stratum"], reader_locale(), names): r["n_h"]
                             for r in summary["strata"]}))


@app.command("list")
def list_cmd(campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign."),
             json_out: bool = JSON) -> None:
    """List plans (all campaigns, or one)."""
    from sampler.campaign_scope import get_campaign

    with current().db.session() as s:
        cid = get_campaign(s, campaign).id if campaign else None
        rows = [plan_api.plan_dict(p, items=False) for p in plan_api.list_plans(s, cid)]
    if json_out:
        print_json(rows)
        return
    console.print(table("plans", ["id", "campaign", "version", "status", "method", "n", "N",
                                  "drawn by", "reviewed by"],
                        [(r["id"], r["campaign"], r["version"], r["status"], r["method"],
                          r["sample_size"], r["frame_size"], r["created_by"], r["reviewed_by"])
                         for r in rows],
                        codes={"status": PlanStatus, "method": "sampling_method"}))


@app.command("show")
def show_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
             items: bool = typer.Option(True, "--items/--no-items", help="List the items."),
             json_out: bool = JSON) -> None:
    """Show a plan: strata, allocation, and its items with π and reasons."""
    current().read_as("plans.view")  # as the console's role matrix
    locale = current().settings.locale
    with current().db.session() as s:
        p = plan_api.resolve_plan(s, plan)
        summary = plan_api.plan_summary(s, p.id)
        data = plan_api.plan_dict(p, items=items)
        names = platform_names(s)
    if json_out:
        print_json({**data, "summary": summary})
        return
    _print_summary(summary, names)
    if items:
        key = "zh" if locale == "zh-CN" else "en"
        console.print(table("items", ["#", "listing", "stratum", "π", "price", "why"],
                            [(it["seq"], f"{it['platform']}:{it['external_id']} "
                              f"{(it['title'] or '')[:40]}", it["stratum"],
                              f"{it['inclusion_probability']:.4f}" + (" ★" if it["certainty"]
                                                                      else ""),
                              it["expected_price"] or "—",
                              ("；" if key == "zh" else "; ").join(
                                  _reason(r, locale, names) for r in it["reasons"][:2]))
                             for it in data["items"]], codes={"stratum": "stratum"},
                            platforms=names))


def _reason(reason: dict[str, Any], locale: str, names: Mapping[str, str]) -> str:
    """An item's reason in *locale* as drawn, its stratum (if it quotes one) as it reads
    now: labelled, its platform named from *names*."""
    from store.labels import stratum_in_text

    key = "zh" if locale == "zh-CN" else "en"
    text = str(reason.get(key) or reason.get("en", ""))
    stratum = (reason.get("params") or {}).get("stratum")
    if reason.get("code") == "stratum" and isinstance(stratum, str):
        text = stratum_in_text(text, stratum, locale, names)
    return text


@app.command("export")
def export_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
               fmt: str = typer.Option("pdf", "--format", "-f", help="csv, xlsx, json, pdf, or form "
                                                     "(the bureau's sampling form 抽样单, XLSX)."),
               out: Path | None = typer.Option(None, "--output", "-o",
                                               help="File to write (default: reports folder)."),
               locale: str | None = typer.Option(None, "--locale", help="zh-CN or en."),
               json_out: bool = JSON) -> None:
    """Export a plan for reviewers and buyers (PDF: bilingual report with a chart); those
    who may read plans (not investigators), as in the console."""
    ctx = current()
    ctx.require("plans.view")
    with ctx.db.session() as s:
        p = plan_api.resolve_plan(s, plan)
        name = (f"plan-{p.id}-v{p.version}-form.xlsx" if fmt == "form"
                else f"plan-{p.id}-v{p.version}.{fmt}")
        path = out or (ctx.settings.reports_dir / name)
        with console.status(f"writing {fmt}…") if not json_out else _null():
            written = export_api.export_plan(s, p.id, fmt, path,
                                           locale=locale or ctx.settings.locale,
                                           settings=ctx.settings)
    if json_out:
        print_json({"plan": p.id, "format": fmt, "path": str(written),
                    "bytes": written.stat().st_size})
    else:
        say("cli_said.wrote", path=written, size=written.stat().st_size)


@app.command("submit")
def submit_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
               json_out: bool = JSON) -> None:
    """Send a draft plan for review (a rejected plan is not sent again: draw a new version
    that answers the comment)."""
    ctx = current()
    ctx.require("plans.submit")
    with ctx.db.session() as s:
        p = plan_api.submit_plan(s, plan_api.resolve_plan(s, plan).id, ctx.actor())
        data = plan_api.plan_dict(p, items=False)
    _done(data, json_out)


@app.command("approve")
def approve_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
                comment: str | None = typer.Option(None, "--comment", "-m", help="Comment kept with the approval."),
                json_out: bool = JSON) -> None:
    """Approve a submitted plan (a supervisor or admin who did not draw or submit it) and
    pre-register it: its manifest (frame hash, design, seed, every π, the items) is signed and
    time-stamped before anything can be bought."""
    from scheduler.preregistration import approve_and_register

    ctx = current()
    name, role = ctx.require_user(authenticated=True)
    from scheduler.purchases import open_purchases_elsewhere

    with ctx.db.session() as s:
        p, reg = approve_and_register(s, plan_api.resolve_plan(s, plan).id, name, role, comment,
                                      ctx.settings)
        data = {**plan_api.plan_dict(p, items=False), "registration": reg}
        others = open_purchases_elsewhere(s, p.id)
    data["warnings"] = [  # English for scripts (--json); the reader's language below
        render("cli_said.two_plans_one_budget",
               {"version": o["version"], "count": o["open_purchases"]}, "en") for o in others]
    for o in others:
        err_console.print(f"[yellow]{escape(said('cli_said.warning'))}[/yellow]"
                          + escape(said("cli_said.two_plans_one_budget", version=o["version"],
                                        count=o["open_purchases"])))
    _done(data, json_out)
    if not json_out:
        if reg["failed_tsas"]:
            say("cli_said.pre_registered_failed_tsas", sha=reg["manifest_sha256"],
                count=len(reg["timestamps"]), tsas=", ".join(reg["failed_tsas"]))
        else:
            say("cli_said.pre_registered", sha=reg["manifest_sha256"],
                count=len(reg["timestamps"]))


@app.command("verify")
def verify_cmd(
    plan: str = typer.Argument(..., help="Plan id, CAMPAIGN, CAMPAIGN@vN, or a registration "
                                         "bundle file (plan registration -o FILE)."),
    trust_key: list[str] = typer.Option([], "--trust-key", help="Also trust this signing key "
                                        "(PEM file or fingerprint), e.g. another office's."),
    trust_tsa_ca: list[Path] = typer.Option([], "--trust-tsa-ca",
                                            help="Also trust this TSA CA certificate (PEM)."),
    json_out: bool = JSON,
) -> None:
    """Check a plan's pre-registration offline: signature, RFC 3161 time-stamps against the
    trusted anchors, the manifest; for a plan in the database also that it is unchanged, its
    frame file intact and the time-stamp earlier than every purchase. Exit 5 if a check fails,
    3 if the plan was never registered."""
    from evidence.trust import TrustAnchors
    from scheduler.preregistration import bundle_of, is_bundle, verify_bundle
    from store.errors import InvalidInput, NotFound, VerificationFailed

    ctx = current()
    anchors = TrustAnchors.for_installation(ctx.settings, trust_keys=trust_key,
                                            trust_tsa_cas=trust_tsa_ca)
    path = Path(plan)
    if path.is_file():
        data = path.read_bytes()
        # Exit 5 says "this registration was tampered with": a file that is no bundle at all
        # is the caller's mistake (2), as a path naming no file is (3).
        if not is_bundle(data):
            raise InvalidInput("plan.bundle_file_not_bundle", path=str(path))
        report = verify_bundle(data, anchors)
        label = path.name
    elif path.suffix.lower() == ".json" or os.sep in plan:
        if path.exists():
            raise InvalidInput("plan.bundle_file_not_bundle", path=str(path))
        raise NotFound("plan.bundle_file_missing", path=str(path))
    else:
        with ctx.db.session() as s:
            pid = plan_api.resolve_plan(s, plan).id
            report = verify_bundle(bundle_of(s, pid, ctx.settings), anchors, session=s,
                                   settings=ctx.settings)
        label = f"{heading('plan')} {pid}"  # 抽样方案 3 for a Chinese reader
    if json_out:
        print_json(report.as_dict())
    else:
        console.print(table(f"{heading('pre-registration of')} {label}", ["check", "ok", "detail"],
                            [(check_name(n), "✔" if ok else "✘ " + heading("failed"), d)
                             for n, ok, d in report.details(reader_locale())]))
        for w in report.warning_texts(reader_locale()):
            console.print(f"[yellow]{escape(said('cli_said.warning'))}[/yellow]{escape(w)}")
        say("cli_said.registration_digest", sha=report.manifest_sha256,
            when=report.registered_at or said("cli_said.no_trusted_token"))
    if not report.ok:
        first = next(((n, report.said_detail(i)) for i, (n, ok, _d) in
                      enumerate(report.checks) if not ok), None)
        if first is None:
            raise VerificationFailed("plan.registration_nothing_checked", registration=label)
        raise VerificationFailed("plan.registration_check_failed", registration=label,
                                 check=check_code(first[0]), detail=first[1])
    if not json_out:
        console.print("[green]" + escape(said("cli_said.registration_verifies")) + "[/green]")


@app.command("registration")
def registration_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
                     out: Path | None = typer.Option(None, "--out", "-o",
                                                     help="Write the registration bundle "
                                                          "(JSON) here, for anyone to verify."),
                     json_out: bool = JSON) -> None:
    """Show a plan's pre-registration (key, time-stamps) or write its bundle to a file."""
    from scheduler.preregistration import bundle_of, registration_of
    from store.errors import NotFound

    ctx = current()
    with ctx.db.session() as s:
        pid = plan_api.resolve_plan(s, plan).id
        reg = registration_of(s, pid)
        if reg is None:
            raise NotFound("plan.plan_has_pre_registration", pid=pid)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(bundle_of(s, pid, ctx.settings))
            reg = {**reg, "written": str(out)}
    if json_out:
        print_json({"plan": pid, **reg})
        return
    stamps = ", ".join(f"{local_time(t['gen_time'])} ({t['tsa_url']})"
                       for t in reg.get("timestamps", []))
    say("cli_said.plan_registration", id=pid, sha=reg["manifest_sha256"],
        key=reg["key_fingerprint"][:16], stamps=stamps or said("cli_said.no_timestamps"))
    if out is not None:
        say("cli_said.bundle_written", path=out)


@app.command("reject")
def reject_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
               comment: str = typer.Option(..., "--comment", "-m", help="What to change."),
               json_out: bool = JSON) -> None:
    """Send a submitted plan back with a comment (same four-eyes rule as approval)."""
    ctx = current()
    name, role = ctx.require_user(authenticated=True)
    with ctx.db.session() as s:
        p = plan_api.reject_plan(s, plan_api.resolve_plan(s, plan).id, name, role, comment)
        data = plan_api.plan_dict(p, items=False)
    _done(data, json_out)


def _done(data: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(data)
    else:
        say("cli_said.plan_status", id=data["id"], campaign=data["campaign"],
            version=data["version"], plan_status=PlanStatus(data["status"]))


@app.command("diff")
def diff_cmd(a: str = typer.Argument(..., help="Older plan."),
             b: str = typer.Argument(..., help="Newer plan."), json_out: bool = JSON) -> None:
    """What changed between two plans: items added, removed, re-weighted; design; frame."""
    with current().db.session() as s:
        d = plan_api.plan_diff(s, plan_api.resolve_plan(s, a).id, plan_api.resolve_plan(s, b).id)
        names = platform_names(s)
    if json_out:
        print_json(d)
        return
    say("cli_said.plan_diff", a=d["a"]["id"], va=d["a"]["version"], b=d["b"]["id"],
        vb=d["b"]["version"], added=len(d["added"]), removed=len(d["removed"]),
        changed=len(d["changed"]), kept=d["kept"],
        frame=said("cli_said.frame_changed" if d["frame_changed"]
                   else "cli_said.frame_unchanged"))
    for key, (old, new) in d["design"].items():
        say("cli_said.design_change", design_key=key, old=old, new=new)
    if d["seed"]:
        say("cli_said.seed_change", old=d["seed"][0], new=d["seed"][1])
    rows = ([("+", it["listing_id"], it["stratum"], f"{it['inclusion_probability']:.4f}")
             for it in d["added"]]
            + [("−", it["listing_id"], it["stratum"], f"{it['inclusion_probability']:.4f}")
               for it in d["removed"]])
    if rows:
        console.print(table(None, ["", "listing", "stratum", "π"], rows,
                            codes={"stratum": "stratum"}, platforms=names))


@app.command("estimate")
def estimate_cmd(plan: str = typer.Argument(..., help="Plan id, CAMPAIGN or CAMPAIGN@vN."),
                 confidence: float = typer.Option(0.95, "--confidence",
                                                  help="Confidence level of the intervals."),
                 interval: str = typer.Option(
                     "beta", "--interval", help="beta (Korn–Graubard as R svyciprop), "
                     "clopper-pearson (SRS only), logit, xlogit."),
                 variance: str = typer.Option(
                     "auto", "--variance", help="auto (wr for a seller-capped plan, else "
                     "deville), deville (R sampling::varest), hajek, wr (with replacement, R "
                     "survey with probs), ht or syg (joint π: Sampford exact, others Brewer's "
                     "approximation; seller-capped plans the capped design's own)."),
                 lonely: str = typer.Option(
                     "bound", "--lonely", help="Strata with one result: bound, fail, remove, "
                     "certainty, adjust, average (R survey.lonely.psu)."),
                 by: str | None = typer.Option(
                     None, "--by", help="Also estimate by domain: platform, sector, origin, "
                     "seller-network (linearised over the whole design, as R svyby)."),
                 post_stratify: str | None = typer.Option(
                     None, "--post-stratify", help="Also the overall rate post-stratified to "
                     "the frame's counts by platform, sector, origin or seller-network."),
                 calibrate: list[str] | None = typer.Option(
                     None, "--calibrate", help="Also the rate with weights calibrated to the "
                     "frame's counts of this field (repeat for several: platform, sector, "
                     "origin, seller-network), as R calibrate."),
                 calfun: str = typer.Option("linear", "--calfun",
                                            help="Calibration: linear (GREG) or raking."),
                 replicates: str | None = typer.Option(
                     None, "--replicates", help="Also the rate with replicate-weight "
                     "variance: jkn (jackknife) or bootstrap (Rao–Wu), as R as.svrepdesign."),
                 replicate_reps: int = typer.Option(500, "--replicate-reps",
                                                    help="Bootstrap replicates."),
                 json_out: bool = JSON) -> None:
    """Non-compliance rate and count (HT and Hájek) with intervals, from the lab results."""
    current().read_as("plans.view")  # as the console's role matrix
    from sampler.plan_estimates import estimate_plan

    ctx = current()
    with ctx.db.session() as s:
        est = estimate_plan(s, plan_api.resolve_plan(s, plan).id, confidence,
                            interval=interval, variance=variance, lonely=lonely, by=by,
                            post_stratify=post_stratify, calibrate_to=calibrate or None,
                            calfun=calfun, replicates=replicates,
                            replicate_reps=replicate_reps, settings=ctx.settings)
        names = platform_names(s)
    if json_out:
        print_json(est)
        return
    _print_estimate(est, confidence, ctx.reader_locale(), names)
    from sampler.plan_estimates import notes_in

    for note in notes_in(est, ctx.reader_locale()):
        console.print(f"[dim]{escape(note)}[/dim]")


#: The columns of an estimate table, labelled from store.labels' ``estimate_column``.  The
#: interval and variance methods are said once, in the notes under the tables, and the HT
#: rate is left to ``--json`` (with every figure), so the table fits an 80-column terminal.
ESTIMATE_COLUMNS = ("domain", "n", "fail", "hajek_rate", "ht_count", "deff")


def _print_estimate(est: dict[str, Any], confidence: float, lang: str,
                    names: Mapping[str, str]) -> None:
    """``plan estimate``'s tables in the reader's language: headers and method codes by their
    labels (store.labels), a stratum's platform by its name from *names*, titles from the
    message catalogue."""
    from store.labels import stratum_label, text_label

    o = est["overall"]
    level = f"{100 * confidence:g}%"
    console.print("[bold]" + escape(render("plan_estimate.heading", {
        "plan": est["plan"], "campaign": est["campaign"], "version": est["version"],
        "results": est["results"], "failures": est["failures"], "pending": est["pending"]},
        lang)) + "[/bold]")

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    def ci(pair: list[float] | tuple[float, float], pct: bool = True) -> str:
        lo, hi = pair
        return f"[{100 * lo:.1f}, {100 * hi:.1f}]" if pct else f"[{lo:.1f}, {hi:.1f}]"

    def row(name: str, e: dict[str, Any]) -> tuple[Any, ...]:
        return (name, e["n"], e["failures"], f"{pct(e['hajek_rate'])} {ci(e['hajek_rate_ci'])}",
                f"{e['ht_count']:.1f} {ci(e['ht_count_ci'], False)}",
                f"{e['deff_kish']:.2f}")

    headers = [text_label("estimate_column", c, lang) for c in ESTIMATE_COLUMNS]
    overall = text_label("estimate_column", "overall", lang)

    def show(code: str, rows: list[tuple[Any, ...]], **params: Any) -> None:
        from rich import box
        from rich.table import Table

        tbl = Table(title=render(f"plan_estimate.{code}", {"level": level, **params}, lang),
                    box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                    show_edge=False)
        for i, head in enumerate(headers):  # figures keep their width; names wrap
            if i:
                tbl.add_column(head, justify="right", no_wrap=True)
            else:
                tbl.add_column(head, max_width=22)
        for r in rows:
            tbl.add_row(*(escape(str(c)) for c in r))
        console.print(tbl)

    show("overall_table", [row(overall, o)]
         + [row(stratum_label(e["stratum"], lang, names), e) for e in est["by_stratum"]])
    if "by_domain" in est:
        dom = est["by_domain"]
        show("by_domain_table", [row(stratum_label(e["stratum"], lang, names), e)
                                 for e in dom["domains"]], estimate_domain=dom["field"])
    if "post_stratified" in est:
        ps = est["post_stratified"]
        show("post_stratified_table", [row(overall, ps["estimate"])],
             estimate_domain=ps["field"])
    if "calibrated" in est:
        cal = est["calibrated"]
        show("calibrated_table", [row(overall, cal["estimate"])],
             calfun=cal["calfun"], estimate_domain=list(cal["fields"]))
    if "replicates" in est:
        rp = est["replicates"]
        show("replicates_table", [row(overall, rp["estimate"])], replicate_type=rp["type"])


@app.command("size")
def size_cmd(rate: float = typer.Option(0.05, "--rate", help="Non-compliance rate to detect "
                                        "(discovery) or expected (precision)."),
             confidence: float = typer.Option(0.95, "--confidence", help="Confidence level of the intervals."),
             population: int | None = typer.Option(None, "--population",
                                                   help="Frame size (finite correction)."),
             margin: float | None = typer.Option(None, "--margin", help="Precision ± margin "
                                                 "(estimation instead of discovery)."),
             json_out: bool = JSON) -> None:
    """How many buys: discovery n = ⌈ln(1−C)/ln(1−p*)⌉, or precision for a rate ± margin."""
    if margin is None:
        n = discovery_sample_size(confidence, rate, population)
        power = detection_probability(n, rate, population)
        data: dict[str, Any] = {"kind": "discovery", "n": n, "rate": rate,
                                "confidence": confidence, "population": population,
                                "detection_probability": power}
        text = (f"{n} buys detect a non-compliance rate of {_pct(rate)} with "
                f"{_pct(power)} probability")
    else:
        n = precision_sample_size(rate, margin, confidence, population)
        data = {"kind": "precision", "n": n, "rate": rate, "margin": margin,
                "confidence": confidence, "population": population}
        text = f"{n} buys estimate a rate near {_pct(rate)} to ± {_pct(margin)}"
    if json_out:
        print_json(data)
    else:
        console.print(text)
