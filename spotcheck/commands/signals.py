"""``spotcheck signals``: risk information in — foreign notices, self-reports, complaints —
matched to listings, with a person confirming or rejecting each match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from sqlalchemy import func, select

from spotcheck.context import current
from spotcheck.output import console, err_console, print_json, said, say, table
from store.labels import text_label
from store.models import AuditEvent, ForeignNotice, Listing, NoticeMatch, RiskSignal

app = typer.Typer(help="Risk signals: import notices and complaints, match them to listings.",
                  no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")


def _audit(session: Any, action: str, object_type: str, object_id: str,
           detail: dict[str, Any]) -> None:
    session.add(AuditEvent(actor=current().actor(), action=action, object_type=object_type,
                           object_id=object_id, detail=detail))


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="The file to import."),
    fmt: str = typer.Option(..., "--format", "-f",
                            help="cpsc | safety-gate | complaints | reports | csv | spot-check "
                                 "| platform-listings | platform-sellers"),
    mapping: Path | None = typer.Option(None, "--mapping", "-m",
                                        help="Spreadsheets: a TOML file saying which column is "
                                             "which, or the name of a shipped layout "
                                             "(sampler/risk/mappings/layouts/, e.g. "
                                             "cqn-unqualified-2019)."),
    match: bool = typer.Option(True, "--match/--no-match",
                               help="Match the imported notices to listings at once."),
    json_out: bool = JSON_OPT,
) -> None:
    """Import a file atomically (all or nothing); importing it again adds nothing."""
    from sampler.risk.importers import import_file
    from sampler.risk.matching import match_notices

    db = current().db
    with db.session() as s:
        result = import_file(s, file, fmt, mapping)
        _audit(s, "signals.import", "file", file.name[:100], result.as_dict())
        data: dict[str, Any] = result.as_dict()
        if match and result.notice_ids:
            data["matching"] = match_notices(s, notice_ids=result.notice_ids).as_dict()
    if json_out:
        print_json(data)
        return
    console.print(escape(
        said("cli_said.imported", file=file.name, format=fmt, read=result.read,
             added=result.added, updated=result.updated, unchanged=result.unchanged)
        + (said("cli_said.imported_unlinked", count=result.unlinked) if result.unlinked else "")
        + (said("cli_said.imported_duplicates", count=result.duplicates)
           if result.duplicates else "")
        + (said("cli_said.imported_skipped", count=len(result.skipped))
           if result.skipped else "")
        + (said("cli_said.imported_pending", count=result.pending) if result.pending else "")))
    for cut in result.truncated[:20]:
        say("cli_said.truncated", reference=cut["reference"], line=cut["line"],
            field=cut["field"], chars=cut["chars"])
    if len(result.truncated) > 20:
        say("cli_said.more_truncated", count=len(result.truncated) - 20)
    if "matching" in data:
        m = data["matching"]
        say("cli_said.matched_at", matches=m["matches"], threshold=m["threshold"])


@app.command("fetch")
def fetch_cmd(
    source: str = typer.Argument(..., help="safety-gate | cpsc | health-canada"),
    since: str | None = typer.Option(None, "--since",
                                     help="YYYY-MM-DD (default: the newest notice on record "
                                          "of the source, else 90 days back)."),
    match: bool = typer.Option(True, "--match/--no-match",
                               help="Match the new notices to listings at once."),
    json_out: bool = JSON_OPT,
) -> None:
    """Pull new notices from the source's public endpoint (settings signals_*_url) and import
    them like 'signals import' (atomic, idempotent); the downloads stay in <home>/signals/."""
    import datetime as dt

    from sampler.risk.fetch import fetch
    from sampler.risk.matching import match_notices
    from store.errors import InvalidInput

    ctx = current()
    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise InvalidInput("signals.since_give_date_yyyy_mm", since=since) from None
    with ctx.db.session() as s:
        result = fetch(s, source, ctx.settings, day)
        data: dict[str, Any] = result.as_dict()
        _audit(s, "signals.fetch", "source", source, data)
        if match and result.notice_ids:
            data["matching"] = match_notices(s, notice_ids=result.notice_ids).as_dict()
    if json_out:
        print_json(data)
        return
    from store.labels import text_label
    from store.messages import render

    lang = ctx.reader_locale()
    note = result.note_text(lang)
    console.print(render("risk_notes.fetched", {
        "source": text_label("notice_source", source, lang), "since": result.since,
        "downloads": len(result.downloads), "added": result.added, "updated": result.updated,
        "unchanged": result.unchanged}, lang) + (f" — {note}" if note else ""), markup=False)
    if "matching" in data:
        console.print(render("risk_notes.matched", {"matches": data["matching"]["matches"]},
                             lang))


@app.command("list")
def list_cmd(
    limit: int = typer.Option(100, "--limit", help="At most this many notices."),
    json_out: bool = JSON_OPT,
) -> None:
    """Notices on record with their match counts, and counts of other signals."""
    db = current().db
    with db.session() as s:
        counts = dict(s.execute(select(NoticeMatch.notice_id, func.count())
                                .where(NoticeMatch.status != "rejected")
                                .group_by(NoticeMatch.notice_id)).all())
        notices = s.scalars(select(ForeignNotice).order_by(
            ForeignNotice.published.desc(), ForeignNotice.id.desc()).limit(limit)).all()
        kinds = dict(s.execute(select(RiskSignal.kind, func.count())
                               .group_by(RiskSignal.kind)).all())
        rows: list[dict[str, Any]] = [{"id": n.id, "source": n.source, "reference": n.reference,
                 "published": n.published, "brand": n.brand, "product": n.product,
                 "models": n.models, "hazard": (n.hazard or "")[:200], "url": n.url,
                 "gtins": n.gtins, "batches": n.batches, "online": n.online,
                 "pictures": n.pictures, "measures": n.measures, "risk_types": n.risk_types,
                 "truncated": n.truncated,
                 "matches": int(counts.get(n.id, 0))} for n in notices]
    if json_out:
        print_json({"notices": rows, "signals": kinds})
        return
    console.print(table("notices", ["id", "source", "reference", "published", "brand",
                                    "product", "models", "matches"],
                        [(r["id"], r["source"], r["reference"], r["published"], r["brand"],
                          (r["product"] or "")[:60], ", ".join(r["models"])[:40], r["matches"])
                         for r in rows],
                        codes={"source": "notice_source"}))
    if kinds:
        say("cli_said.other_signals", what=", ".join(
            f"{text_label('signal_kind', k, current().reader_locale())} {v}"
            for k, v in kinds.items()))


@app.command("match")
def match_cmd(
    threshold: float = typer.Option(0.6, "--threshold", "-t",
                                    help="Smallest match score recorded (0-1)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Match every notice to the listings on record (reviewed matches are kept as decided)."""
    from sampler.risk.matching import match_notices

    db = current().db
    with db.session() as s, err_console.status("matching notices to listings…"):
        summary = match_notices(s, threshold=threshold)
        _audit(s, "signals.match", "notice_match", "*", {"threshold": threshold,
                                                          "matches": summary.matches})
    if json_out:
        print_json(summary.as_dict())
        return
    say("cli_said.matching_summary", notices=summary.notices, listings=summary.listings,
        candidates=summary.candidates, matches=summary.matches, added=summary.added,
        kept=summary.kept_reviewed, removed=summary.removed_stale)


@app.command("matches")
def matches_cmd(
    status: str | None = typer.Option(None, "--status",
                                      help="proposed | confirmed | rejected (default: all)."),
    limit: int = typer.Option(200, "--limit", help="Show at most this many."),
    json_out: bool = JSON_OPT,
) -> None:
    """Matches for review, best first."""
    from sampler.risk.matching import list_matches

    with current().db.session() as s:
        rows = list_matches(s, status, limit)
    if json_out:
        print_json(rows)
        return
    lang = current().reader_locale()
    console.print(table("notice matches", ["match", "confidence", "status", "matched on",
                                           "notice", "listing", "title"],
                        [(r["match_id"], f"{r['score']:.2f}",
                          r["status"],
                          text_label('match_method', r['method'], lang)
                          + ("：" if lang == "zh-CN" else ": ")
                          + ("，" if lang == "zh-CN" else ", ").join(
                              _key(k, lang) for k in r["keys"])[:60],
                          f"{text_label('notice_source', r['source'], lang)} {r['reference']}",
                          r["listing_id"],
                          r["listing_title"][:60]) for r in rows],
                        codes={"status": "match_state"}))
    say("cli_said.match_note")


def _key(key: str, lang: str) -> str:
    """A matched key ("model:ME-E7800") with its kind by label ("型号 ME-E7800")."""
    kind, _, value = str(key).partition(":")
    return f"{text_label('match_key', kind, lang)} {value}".strip()


def _review(match_id: int, status: str, note: str | None, json_out: bool) -> None:
    from sampler.risk.matching import review_match

    ctx = current()
    # The console's rule (matches.review in spotcheck.permissions): a sampler may not decide.
    ctx.require("matches.review")
    with ctx.db.session() as s:
        row = review_match(s, match_id, status, ctx.actor(), note)
        _audit(s, f"signals.{status[:-2] if status.endswith('ed') else status}",
               "notice_match", str(match_id), {"note": note})
        listing = s.get(Listing, row.listing_id)
        if listing is not None:
            s.refresh(listing, ["risk"])
        data = {"match_id": row.id, "status": row.status, "reviewed_by": row.reviewed_by,
                "listing_id": row.listing_id, "notice_id": row.notice_id,
                # re-scored at once by review_match: what the listing scores now
                "risk_score": listing.risk_score if listing is not None else None}
    if json_out:
        print_json(data)
    else:
        score = data["risk_score"]
        say("cli_said.match_reviewed", id=match_id, match_status=status,
            by=data["reviewed_by"], listing=data["listing_id"],
            score=said("cli_said.no_score_prohibited") if score is None else f"{score:.2f}")


@app.command("confirm")
def confirm_cmd(match_id: int = typer.Argument(..., help="The match id."),
                note: str | None = typer.Option(None, "--note", help="Why (kept with the decision)."),
                json_out: bool = JSON_OPT) -> None:
    """Confirm a match: the listing is the recalled/alerted product."""
    _review(match_id, "confirmed", note, json_out)


@app.command("reject")
def reject_cmd(match_id: int = typer.Argument(..., help="The match id."),
               note: str | None = typer.Option(None, "--note", help="Why (kept with the decision)."),
               json_out: bool = JSON_OPT) -> None:
    """Reject a match: it is a different product (kept out of later re-matches)."""
    _review(match_id, "rejected", note, json_out)


@app.command("networks")
def networks_cmd(json_out: bool = JSON_OPT) -> None:
    """Group sellers sharing a normalised contact into networks across platforms."""
    from sampler.risk.networks import build_seller_networks

    with current().db.session() as s:
        summary = build_seller_networks(s)
    if json_out:
        print_json(summary.as_dict())
    else:
        say("cli_said.networks", sellers=summary.sellers, networks=summary.networks,
            networked=summary.networked_sellers, largest=summary.largest)
