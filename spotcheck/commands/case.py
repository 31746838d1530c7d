"""``spotcheck case``: cases for the platform's jurisdiction bureau (属地), with
notifications and measures (interview, rectification, risk warning, takedown, return,
destruction, recall)."""

from __future__ import annotations

import datetime as dt

import typer

from scheduler import cases
from spotcheck.context import current
from spotcheck.output import console, heading, print_json, said, say, table
from store import clock
from store.errors import InvalidInput
from store.labels import label, text_label
from store.vocabulary import CaseStatus, MeasureKind

app = typer.Typer(help="Cases: open, list, show, notify the bureau, record measures, close.",
                  no_args_is_help=True)


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("case.date_yyyy_mm_dd", value=value) from exc


@app.command("open")
def open_cmd(
    kind: str = typer.Option(..., "--kind", help="failed_sample | counterfeit | prohibited | "
                                                 "recall"),
    listing: int | None = typer.Option(None, "--listing", help="Listing id the case is about."),
    sample: int | None = typer.Option(None, "--sample", help="Sample (purchase) id the case is about."),
    seller: int | None = typer.Option(None, "--seller", help="Seller id the case is about."),
    platform: int | None = typer.Option(None, "--platform", help="Platform id (default: the listing's or seller's)."),
    capture: list[int] | None = typer.Option(None, "--capture", help="Capture id (repeatable)."),
    title: str | None = typer.Option(None, "--title", help="Short title (default: made from the listing)."),
    summary: str = typer.Option("", "--summary", help="What the case is about, in a few sentences."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Open a case (or find the open one for the same listing and kind)."""
    ctx = current()
    ctx.require("cases.work")
    with ctx.db.session() as s:
        c = cases.open_case(s, kind, listing_id=listing, sample_id=sample, seller_id=seller,
                            platform_id=platform, title=title, summary=summary,
                            capture_ids=capture or [], actor=ctx.actor())
        data = cases.case_summary(c)
    if json_out:
        print_json(data)
    else:
        say("cli_said.case_opened", number=data["number"], case_kind=data["kind"],
            bureau=data["bureau"] or said("cli_said.no_bureau"))


@app.command("list")
def list_cmd(
    status: str | None = typer.Option(None, "--status", help="open | notified | measures | "
                                                             "closed"),
    kind: str | None = typer.Option(None, "--kind", help="Only cases of this kind."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List cases, newest first."""
    current().read_as("cases.view")  # as the console's role matrix
    if status and status not in ("open", "notified", "measures", "closed"):
        raise InvalidInput("case.status_open_notified_measures_closed")
    with current().db.session() as s:
        rows = [cases.case_summary(c) for c in cases.list_cases(s, status=status, kind=kind)]
    if json_out:
        print_json(rows)
        return
    console.print(table("cases", ["number", "kind", "status", "bureau", "opened", "title"],
                        [(r["number"], r["kind"], r["status"], r["bureau"],
                          clock.local_date(r["opened_at"]), r["title"][:60]) for r in rows],
                        codes={"kind": "case_kind", "status": CaseStatus}))


@app.command("show")
def show_cmd(case: str = typer.Argument(..., help="Number or id."),
             json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """A case with its links, captures, notifications and measures."""
    current().read_as("cases.view")  # as the console's role matrix
    with current().db.session() as s:
        d = cases.case_detail(s, case)
    if json_out:
        print_json(d)
        return
    lang = current().reader_locale()
    console.print(f"{d['number']} · {text_label('case_kind', d['kind'], lang)} · "
                  f"{label(CaseStatus, d['status'], lang)}", markup=False)
    console.print(f"{heading('bureau')}: {d['bureau']}", markup=False)
    console.print(f"{heading('title')}: {d['title']}", markup=False)
    if d["listing"]:
        console.print(f"{heading('listing')}: #{d['listing']['id']} {d['listing']['url']}",
                      markup=False)
    console.print(table("captures", ["id", "kind", "url"],
                        [(c["id"], c["kind"], c["url"]) for c in d["captures"]],
                        codes={"kind": "capture_kind"}))
    console.print(table("notifications", ["sent", "bureau", "channel", "reference"],
                        [(n["sent_at"], n["bureau"], n["channel"], n["reference"] or "")
                         for n in d["notifications"]],
                        codes={"channel": "notification_channel"}))
    console.print(table("measures", ["id", "measure", "ordered", "due", "done", "outcome"],
                        [(m["id"], m["name_zh"] if lang == "zh-CN" else m["name_en"],
                          m["ordered_at"],
                          m["due"] or "", m["done_at"] or "", m["outcome"] or "")
                         for m in d["measures"]]))


@app.command("notify")
def notify_cmd(
    case: str = typer.Argument(...),
    content: str = typer.Option("", "--content", help="Text of the notification."),
    reference: str | None = typer.Option(None, "--reference", help="Letter/file number."),
    channel: str = typer.Option("letter", "--channel", help="How the bureau was notified: letter, email or phone."),
    bureau: str | None = typer.Option(None, "--bureau", help="Default: the case's bureau."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record a notification of the risk to the jurisdiction bureau."""
    ctx = current()
    ctx.require("cases.work")
    with ctx.db.session() as s:
        n = cases.notify(s, case, content=content, channel=channel, reference=reference,
                         bureau=bureau, actor=ctx.actor())
        out = {"notification": n.id, "bureau": n.bureau, "sent_at": n.sent_at}
    if json_out:
        print_json(out)
    else:
        say("cli_said.notified", bureau=out["bureau"])


@app.command("measure")
def measure_cmd(
    case: str = typer.Argument(...),
    kind: str = typer.Option(..., "--kind", help="interview | rectification | "
                                                 "stricter_inspection | risk_warning | "
                                                 "takedown | return | destruction | recall"),
    due: str | None = typer.Option(None, "--due", help="YYYY-MM-DD"),
    outcome: str | None = typer.Option(None, "--outcome", help="Done, with this outcome."),
    complete: int | None = typer.Option(None, "--complete",
                                        help="Complete measure ID with --outcome instead."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record a measure (or complete one with --complete ID --outcome TEXT)."""
    ctx = current()
    ctx.require("cases.work")
    with ctx.db.session() as s:
        if complete is not None:
            if not outcome:
                raise InvalidInput("case.complete_needs_outcome")
            m = cases.complete_measure(s, complete, outcome, actor=ctx.actor())
        else:
            m = cases.add_measure(s, case, kind, due=_date(due), outcome=outcome,
                                  actor=ctx.actor())
        out = {"measure": m.id, "kind": m.kind.value, "done": m.done_at is not None}
    if json_out:
        print_json(out)
    else:
        say("cli_said.measure_done" if out["done"] else "cli_said.measure",
            measure=out["measure"], measure_kind=label(MeasureKind, str(out["kind"]),
                                                       current().reader_locale()))


@app.command("close")
def close_cmd(case: str = typer.Argument(...),
              summary: str | None = typer.Option(None, "--summary", help="What the case is about, in a few sentences."),
              json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Close a case (every measure needs an outcome first)."""
    ctx = current()
    ctx.require("cases.work")
    with ctx.db.session() as s:
        c = cases.close_case(s, case, summary=summary, actor=ctx.actor())
        out = cases.case_summary(c)
    if json_out:
        print_json(out)
    else:
        say("cli_said.case_closed", number=out["number"])
