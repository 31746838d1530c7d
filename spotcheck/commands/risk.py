"""``spotcheck risk``: score listings, explain a score, list enforcement leads, calibrate."""

from __future__ import annotations

from pathlib import Path

import typer

from spotcheck.context import current
from spotcheck.output import bar_chart, console, err_console, print_json, say, table
from store.labels import text_label
from store.messages import render
from store.models import AuditEvent

app = typer.Typer(help="Risk scores: score, explain, enforcement leads, calibration.",
                  no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")


def _lang(lang: str | None) -> str:
    return lang or current().settings.locale


@app.command("score")
def score_cmd(
    campaign: str | None = typer.Option(None, "--campaign", "-c",
                                        help="Use this campaign's weights (id or name)."),
    weights: Path | None = typer.Option(None, "--weights", "-w", help="A weights TOML file."),
    networks: bool = typer.Option(True, "--networks/--no-networks",
                                  help="Rebuild seller networks before scoring."),
    json_out: bool = JSON_OPT,
) -> None:
    """Score every listing (not removed) and store its score and top reasons."""
    from sampler.risk.networks import build_seller_networks
    from sampler.risk.scoring import score_listings
    from sampler.risk.weights import load_weights

    ctx = current()
    rw = load_weights(weights) if weights else None
    with ctx.db.session() as s, err_console.status("scoring listings…"):
        net = build_seller_networks(s).as_dict() if networks else None
        summary = score_listings(s, weights=rw, campaign_id=campaign, settings=ctx.settings)
        s.add(AuditEvent(actor=ctx.actor(), action="risk.score", object_type="listing",
                         object_id="*", detail={"weights": summary.weights_source,
                                                "scored": summary.scored}))
    data = summary.as_dict() | {"networks": net}
    if json_out:
        print_json(data)
        return
    say("cli_said.scored", scored=summary.scored, weights=summary.weights_source,
        seconds=f"{summary.timings.get('total', 0):.2f}", prohibited=summary.prohibited)
    if summary.scored:
        say("cli_said.score_range", low=summary.min_score, median=summary.median_score,
            high=summary.max_score)


@app.command("explain")
def explain_cmd(
    listing: str = typer.Argument(..., help="Listing id, URL or platform:external_id."),
    lang: str | None = typer.Option(None, "--lang", help="zh-CN or en (default: settings)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Why a listing has its risk score: each reason and the points it adds."""
    from sampler.risk.explain import explanation

    with current().db.session() as s:
        data = explanation(s, listing)
    if json_out:
        print_json(data)
        return
    loc = _lang(lang)
    zh = loc.lower().startswith("zh")
    score = data["risk_score"]
    shown = (f"{score:.2f}" if score is not None
             else render("cli_said.risk_score_none", {}, loc))
    console.print(render("cli_said.risk_explain_head", {
        "listing_id": data["listing_id"], "platform": data["platform"],
        "external_id": data["external_id"], "score": shown}, loc), markup=False)
    if not data["reasons"]:
        console.print(render("cli_said.risk_not_scored_yet", {}, loc))
        return
    console.print(bar_chart(text_label("cli_heading", "reasons", loc),
                            {(r["zh"] if zh else r["en"]): r["points"]
                             for r in data["reasons"]}))


@app.command("leads")
def leads_cmd(
    limit: int | None = typer.Option(None, "--limit", help="Show at most this many."),
    json_out: bool = JSON_OPT,
) -> None:
    """Prohibited-class listings: enforcement leads to capture and case, never to buy."""
    from sampler.risk.leads import leads

    with current().db.session() as s:
        rows = leads(s, limit=limit)
    if json_out:
        print_json([r.as_dict() for r in rows])
        return
    console.print(table("enforcement leads (prohibited class)",
                        ["listing", "platform", "bureau", "seller", "title", "score", "cases"],
                        [(r.listing_id, r.platform, r.jurisdiction_bureau, r.seller,
                          r.title[:60], f"{r.lead_score:.1f}", ", ".join(r.case_numbers))
                         for r in rows]))


@app.command("calibrate")
def calibrate_cmd(
    weights: Path | None = typer.Option(None, "--weights", "-w",
                                        help="Weights to start from (default: the defaults)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write the proposed weights to this TOML file."),
    min_outcomes: int = typer.Option(40, "--min-outcomes", help="Fewest lab results needed before weights are fitted."),
    json_out: bool = JSON_OPT,
) -> None:
    """Fit weights to lab outcomes (logistic regression) and report AUC and Brier score."""
    from sampler.risk.calibrate import calibrate
    from sampler.risk.weights import load_weights

    rw = load_weights(weights) if weights else None
    with current().db.session() as s:
        report = calibrate(s, rw, min_outcomes=min_outcomes)
    if output and report.proposed:
        output.write_text(report.proposed.to_toml(), "utf-8")
    data = report.as_dict() | {"written": str(output) if output else None}
    if json_out:
        print_json(data)
        return
    from store.labels import text_label
    from store.messages import render

    lang = current().reader_locale()
    console.print(render("risk_notes.calibration_summary", {
        "outcomes": report.outcomes, "failures": report.failures,
        "auc_cv": f"{report.auc_cv:.3f}", "auc_current": f"{report.auc_current:.3f}",
        "brier_cv": f"{report.brier_cv:.4f}",
        "brier_prevalence": f"{report.brier_prevalence:.4f}"}, lang), markup=False)
    console.print(table(render("risk_notes.coefficients_table", {}, lang),
                        [text_label("calibration_column", c, lang)
                         for c in ("factor", "coefficient", "note")],
                        [(text_label("risk_factor", k, lang), v, report.why_dropped(k, lang))
                         for k, v in report.coefficients.items()]))
    if output:
        console.print(render("risk_notes.weights_written", {"path": str(output)}, lang),
                      markup=False)
