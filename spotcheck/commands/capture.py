"""``spotcheck capture URL...``: capture pages as signed, timestamped evidence."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from spotcheck.context import current
from spotcheck.output import console, err_console, print_json, table, yes_no
from store.errors import InvalidInput, NotFound, SpotcheckError


class CapturesFailed(SpotcheckError):
    """Some captures failed; the exit code is the most telling of their codes."""

    def __init__(self, failed: int, total: int, exit_code: int) -> None:
        super().__init__("capture.some_failed", failed=failed, total=total)
        self.exit_code = exit_code


def _persona_id(ref: str | None) -> int | None:
    from store.models import BuyerPersona

    if ref is None:
        return None
    with current().db.session() as s:
        row = s.scalar(select(BuyerPersona).where(BuyerPersona.alias == ref))
        if row is None and ref.isdigit():
            row = s.get(BuyerPersona, int(ref))
        if row is None:
            raise NotFound("capture.buyer_persona", ref=ref)
        return int(row.id)


def _case_id(ref: str | None) -> int | None:
    from evidence.packs import find_case

    if ref is None:
        return None
    with current().db.session() as s:
        return int(find_case(s, ref).id)


def capture(
    urls: list[str] = typer.Argument(..., help="Pages to capture (http or https)."),
    kind: str = typer.Option("listing", "--kind", help="listing | seller | order | search"),
    case: str | None = typer.Option(None, "--case", help="Case number or id."),
    persona: str | None = typer.Option(None, "--persona", help="Buyer persona alias or id."),
    purpose: str | None = typer.Option(None, "--purpose", help="Why the capture is made."),
    listing: int | None = typer.Option(None, "--listing", help="Listing id (one URL only)."),
    json_out: bool = typer.Option(False, "--json", help="Print each capture's id and hashes."),
    pdf: bool | None = typer.Option(None, "--pdf/--no-pdf",
                                    help="Also print each page to a PDF (default: the "
                                         "setting capture_pdf, off)."),
) -> None:
    """Capture each URL (screenshots, DOM, WARC, metadata; a PDF with --pdf), sign and
    timestamp it.

    Needs a logged-in user whose role may capture (the console's captures.run: sampler,
    investigator or admin); that user is the operator in the custody log.
    """
    from evidence.capture import KINDS, CaptureRequest, CaptureResult, capture_many

    ctx = current()
    lang = ctx.reader_locale()
    # Evidence is signed in the bureau's name: the operator is who logged in, not a claim.
    operator, _role = ctx.require("captures.run", authenticated=True)
    if kind not in KINDS:
        raise InvalidInput("capture.kind_one", join_kinds=', '.join(KINDS))
    if listing is not None and len(urls) != 1:
        raise InvalidInput("capture.listing_goes_exactly_one_url")
    reqs = [CaptureRequest(url=u, kind=kind, listing_id=listing, case_id=_case_id(case),
                           persona_id=_persona_id(persona), purpose=purpose, pdf=pdf)
            for u in urls]
    import asyncio

    with Progress(TextColumn("[bold]capturing"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=json_out) as progress:
        task = progress.add_task("capture", total=len(reqs))

        def done(res: CaptureResult) -> None:
            progress.advance(task)
            if not res.ok:
                progress.console.print(f"[red]{'失败' if lang == 'zh-CN' else 'failed'}[/red] "
                                       f"{escape(res.url[:200])}: {escape(res.reason(lang) or '')}",
                                       markup=True, highlight=False)

        # Availability read as the crawl reads it (a visible "sold out"), not markup only.
        from scheduler.page_reading import read_availability

        results = asyncio.run(capture_many(ctx.db, reqs, operator=operator,
                                           settings=ctx.settings, on_done=done,
                                           page_reader=read_availability))
    if json_out:
        print_json([{"id": r.capture_id, "url": r.url, "ok": r.ok, "error": r.error,
                     "failure": r.failure,
                     "manifest_sha256": r.manifest_sha256, "artifacts": r.artifacts}
                    for r in results])
    else:
        console.print(table("captures", ["id", "ok", "url", "manifest SHA-256 / error"],
                            [(r.capture_id, yes_no(r.ok), r.url,
                              r.manifest_sha256 if r.ok else r.reason(lang))
                             for r in results]))
    failed = [r for r in results if not r.ok]
    if failed:
        raise CapturesFailed(len(failed), len(results), max(r.exit_code for r in failed) or 1)


#: A single command (``spotcheck capture URL…``), not a group: it has no subcommands.
command = capture
