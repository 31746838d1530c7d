"""``spotcheck purchase``: covert purchases and their samples, from task to lab result.

planned → ordered → received → sent to lab → result → closed; every step records its user.
``tasks PLAN`` creates the tasks of an approved plan (idempotent), ``buy ID`` orders through
the browser with the persona's account, the other commands record what happens by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select

from scheduler import purchases
from spotcheck.context import current
from spotcheck.output import console, err_console, heading, moment, print_json, say, table
from store.errors import InvalidInput
from store.labels import label, text_label
from store.models import Plan, PlanItem, Purchase, PurchaseStatus
from store.vocabulary import LabOutcome

app = typer.Typer(help="Covert purchases and samples: tasks, buy, receive, lab, result.",
                  no_args_is_help=True)


def _read_document(path: Path) -> bytes:
    """A seal photo or lab report from disk, refused before reading when over the limit."""
    if path.stat().st_size > purchases.MAX_DOCUMENT_BYTES:
        raise InvalidInput("purchase.larger_than_mb", path_name=path.name)
    return path.read_bytes()


def _status(value: str) -> PurchaseStatus | str:
    """A purchase status as a code to label (an unknown one shows as it is)."""
    try:
        return PurchaseStatus(value)
    except ValueError:
        return value


def _outcome(value: str) -> LabOutcome | str:
    try:
        return LabOutcome(value)
    except ValueError:
        return value


def _done(json_out: bool, data: dict[str, Any], code: str, **params: Any) -> None:
    """--json: *data*; else the message *code* with *params* in the reader's language."""
    if json_out:
        print_json(data)
    else:
        say(code, **params)


@app.command("tasks")
def tasks_cmd(
    plan: int = typer.Argument(..., help="An approved plan's id."),
    deadline_days: int = typer.Option(14, min=1, max=365, help="Days to place each order."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create purchase tasks for an approved plan and assign personas (safe to repeat)."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        report = purchases.create_purchase_tasks(s, plan, actor=ctx.actor(),
                                                 deadline_days=deadline_days)
    _done(json_out, report.as_dict(),
          "cli_said.tasks_created", created=len(report.created),
          existing=len(report.existing), skipped=len(report.skipped),
          unassigned=len(report.unassigned))
    if not json_out:
        lang = ctx.reader_locale()
        for flag in report.flags:
            err_console.print(("警告：" if lang == "zh-CN" else "warning: ")
                              + breach_text(flag, lang), markup=False, highlight=False)


def breach_text(flag: dict[str, Any], lang: str = "zh-CN") -> str:
    """One rotation-rule breach (scheduler.purchases.breach_dict) for a person reading the
    terminal, in *lang*; the rule by its label (store.labels ``rotation_rule``)."""
    from store.messages import render

    persona = flag["persona_id"] is not None
    return render("purchase_cli.breach_persona" if persona else "purchase_cli.breach_seller", {
        "who": flag["persona_id"] if persona else flag["seller_id"], "count": flag["count"],
        "limit": flag["limit"], "rotation_rule": flag["rule"], "day": flag["day"],
        "ids": ", ".join(f"#{i}" for i in flag["purchases"])}, lang)


@app.command("list")
def list_cmd(
    plan: int | None = typer.Option(None, "--plan", help="Only purchases of this plan."),
    status: str | None = typer.Option(None, "--status", help="Only purchases in this status."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List purchases (persona by alias only)."""
    current().read_as("purchases.view")  # as the console's role matrix
    with current().db.session() as s:
        q = select(Purchase).order_by(Purchase.id)
        if plan is not None:
            q = q.join(PlanItem).join(Plan).where(Plan.id == plan)
        if status:
            try:
                q = q.where(Purchase.status == PurchaseStatus(status))
            except ValueError:
                raise InvalidInput("purchase.status_one",
                                   statuses=', '.join(x.value for x in PurchaseStatus)) from None
        rows = [purchases.purchase_summary(p) for p in s.scalars(q)]
    if json_out:
        print_json(rows)
        return
    console.print(table("purchases", ["id", "status", "persona", "scheduled", "order",
                                      "paid", "listing"],
                        [(r["id"], r["status"], r["persona"] or "", r["scheduled_for"] or "",
                          r["order_number"] or "", r["price_paid"] or "",
                          r["listing_title"][:60]) for r in rows],
                        codes={"status": PurchaseStatus}))


@app.command("show")
def show_cmd(purchase: str = typer.Argument(...),
             json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """One purchase with its history."""
    current().read_as("purchases.view")  # as the console's role matrix
    with current().db.session() as s:
        p = purchases.get_purchase(s, purchase)
        data = purchases.purchase_summary(p)
        data["history"] = p.history
    if json_out:
        print_json(data)
        return
    lang = current().reader_locale()
    shown = {**data, "status": label(PurchaseStatus, data["status"], lang)}
    console.print(table(f"{heading('purchase')} {data['id']}", ["field", "value"],
                        [(k, v) for k, v in shown.items() if k != "history"], fields=True))
    console.print(table("history", ["at", "by", "status/event", "note"],
                        [(moment(h.get("at")), h.get("by"),
                          label(PurchaseStatus, h["status"], lang) if h.get("status")
                          else text_label("purchase_event", h.get("event"), lang),
                          h.get("note", "")) for h in data["history"]]))


@app.command("buy")
def buy_cmd(
    purchase: int = typer.Argument(...),
    no_capture: bool = typer.Option(False, "--no-capture", help="Skip evidence captures."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Place the order now through Chromium with the assigned persona (at most once)."""
    from scheduler.buying import buy

    ctx = current()
    ctx.require("purchases.work")
    result = buy(ctx.db, purchase, ctx.settings, actor=ctx.actor(), holder=f"cli:{ctx.actor()}",
                 capture=not no_capture)
    _done(json_out, result.as_dict(),
          "cli_said.bought", purchase=purchase, purchase_status=_status(result.status),
          detail=result.order_number or result.error or "")
    if result.status == "failed":
        raise typer.Exit(1)


@app.command("release")
def release_cmd(
    purchase: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="What you checked on the platform."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """After checking the platform: release an interrupted checkout so it may be retried."""
    from scheduler.buying import release_attempt

    ctx = current()
    ctx.require("purchases.work")
    keys = release_attempt(ctx.db, purchase, reason, actor=ctx.actor())
    _done(json_out, {"released": keys}, "cli_said.released", count=len(keys))


@app.command("ordered")
def ordered_cmd(
    purchase: int = typer.Argument(...),
    order_number: str = typer.Option(..., "--order", help="The platform's order number."),
    price: str = typer.Option(..., "--price", help="Price paid, as shown on the order."),
    currency: str | None = typer.Option(None, "--currency", help="Currency of the price (default: the listing's)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record an order placed by hand."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        p = purchases.mark_ordered(s, purchase, order_number, price, currency,
                                   actor=ctx.actor())
        data = purchases.purchase_summary(p)
    _done(json_out, data, "cli_said.ordered", purchase=purchase, order=order_number)


@app.command("receive")
def receive_cmd(
    purchase: int = typer.Argument(...),
    sample: str = typer.Option(..., "--sample", help="Sample code on the seal."),
    seal_photo: Path | None = typer.Option(None, "--seal-photo", exists=True, dir_okay=False,
                                           help="Photo of the sealed sample (stored by hash)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The parcel arrived: register the sample and its seal photo."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        sha = None
        if seal_photo is not None:
            sha = purchases.store_document(s, _read_document(seal_photo),
                                           ctx.settings.artifacts_dir, "seal_photo")
        smp = purchases.receive_sample(s, purchase, sample, seal_photo_sha256=sha,
                                       actor=ctx.actor())
        out = {"purchase": purchase, "sample": smp.code, "seal_photo_sha256": sha}
    _done(json_out, out, "cli_said.received", sample=sample, purchase=purchase)


@app.command("send")
def send_cmd(purchase: int = typer.Argument(...),
             lab: str = typer.Option(..., "--lab", help="Laboratory name."),
             json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The sample went to the lab."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        smp = purchases.send_to_lab(s, purchase, lab, actor=ctx.actor())
        out = {"purchase": purchase, "sample": smp.code, "lab": lab}
    _done(json_out, out, "cli_said.sent", sample=out["sample"], lab=lab)


@app.command("result")
def result_cmd(
    purchase: int = typer.Argument(...),
    outcome: str = typer.Option(..., "--outcome", help="pass | fail"),
    defect: list[str] | None = typer.Option(None, "--defect", help="A defect (repeatable)."),
    clause: list[str] | None = typer.Option(None, "--clause",
                                            help="A standard clause failed (repeatable)."),
    lab: str | None = typer.Option(None, "--lab", help="Laboratory that tested the sample."),
    third_party: bool = typer.Option(False, "--third-party", help="A third party's result."),
    verified: bool = typer.Option(False, "--verified", help="The third-party result was "
                                                            "verified."),
    report: Path | None = typer.Option(None, "--report", exists=True, dir_okay=False,
                                       help="The lab's report (PDF, PNG or JPEG; stored by "
                                            "hash)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record the lab result; a failure opens the case for the platform's bureau."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        sha = (purchases.store_document(s, _read_document(report), ctx.settings.artifacts_dir,
                                        "lab_report") if report is not None else None)
        res, case = purchases.record_lab_result(
            s, purchase, outcome, defects=defect or [], clauses=clause or [], lab_name=lab,
            third_party=third_party, verified=verified, actor=ctx.actor(), report_sha256=sha)
        out = {"purchase": purchase, "outcome": res.outcome.value,
               "case": case.number if case else None, "report_sha256": sha}
    _done(json_out, out, "cli_said.result_case" if out["case"] else "cli_said.result",
          purchase=purchase, outcome=_outcome(str(out["outcome"])), case=out["case"])


@app.command("close")
def close_cmd(purchase: int = typer.Argument(..., help="Purchase id."),
              json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
              ) -> None:
    """Close a purchase whose sample has its lab result (nothing more to do)."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        purchases.close_purchase(s, purchase, actor=ctx.actor())
    _done(json_out, {"purchase": purchase, "status": "closed"}, "cli_said.purchase_closed", purchase=purchase)


@app.command("cancel")
def cancel_cmd(purchase: int = typer.Argument(..., help="Purchase id."),
               reason: str = typer.Option(..., "--reason", help="Why the purchase is cancelled."),
               json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
               ) -> None:
    """Cancel a purchase (not bought, or given up), with the reason; it stays on record."""
    ctx = current()
    ctx.require("purchases.work")
    with ctx.db.session() as s:
        purchases.cancel_purchase(s, purchase, reason, actor=ctx.actor())
    _done(json_out, {"purchase": purchase, "status": "cancelled"},
          "cli_said.purchase_cancelled", purchase=purchase)


@app.command("overdue")
def overdue_cmd(
    at: str | None = typer.Option(None, "--at", help="As of this time (ISO; default now)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Purchases whose current stage is past its deadline."""
    now = None
    if at:
        try:
            now = dt.datetime.fromisoformat(at)
        except ValueError as exc:
            raise InvalidInput("purchase.iso_date_time", at=at) from exc
        now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    with current().db.session() as s:
        rows = [o.as_dict() for o in purchases.overdue(s, now=now)]
    if json_out:
        print_json(rows)
        return
    console.print(table("overdue purchases", ["purchase", "status", "stage", "due", "days over"],
                        [(r["purchase_id"], r["status"], r["stage"], r["due"], r["days_over"])
                         for r in rows],
                        codes={"status": PurchaseStatus}))
