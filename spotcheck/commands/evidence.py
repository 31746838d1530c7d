"""``spotcheck evidence``: packs (export, verify), the signing key, diffs and the custody log."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from sqlalchemy import select

from spotcheck.context import current
from spotcheck.output import (
    check_code,
    check_name,
    console,
    err_console,
    heading,
    print_json,
    reader_locale,
    said,
    say,
    table,
)
from store.errors import InvalidInput, NotFound, VerificationFailed
from store.labels import label, text_label
from store.vocabulary import CaptureStatus

app = typer.Typer(help="Evidence packs, the signing key, capture diffs and the custody log.",
                  no_args_is_help=True)
key_app = typer.Typer(help="The installation's Ed25519 signing key.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@app.command("export")
def export_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="The pack to write (.zip)."),
    case: str | None = typer.Option(None, "--case", help="Every capture of this case (its "
                                    "own, its listing's, its sample's purchase's) and, for a "
                                    "failed sample, its sample chain; exports with no capture."),
    plan_item: int | None = typer.Option(None, "--plan-item",
                                         help="Every capture of this plan item's listing "
                                              "and purchases."),
    capture: list[int] = typer.Option([], "--capture", help="A capture id (repeatable)."),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip the PDF reports."),
    include_persona: bool = typer.Option(
        False, "--include-persona-captures",
        help="Also put in captures made with a buyer persona (order pages show its account, "
             "drop address and payment reference; sampler or admin, logged in); by default "
             "they are withheld, their signed hashes listed and their redacted copies "
             "(spotcheck evidence redact) put in."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Export a self-verifying evidence pack (zip) and record it in the custody log."""
    from evidence.hashing import sha256_file
    from evidence.packs import export_pack, find_case

    ctx = current()
    if include_persona:  # the originals show the persona: only those who may see it, proven
        ctx.require("personas.secrets", authenticated=True)
    case_id = None
    if case is not None:
        with ctx.db.session() as s:
            case_id = find_case(s, case).id
    with err_console.status("building the evidence pack…"):
        path = export_pack(ctx.db, case_id=case_id, plan_item_id=plan_item,
                           capture_ids=capture or None, out=out, actor=ctx.actor(),
                           settings=ctx.settings, pdf=not no_pdf,
                           include_persona_captures=include_persona)
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    info = {"pack": str(path), "sha256": sha256_file(path), "size": path.stat().st_size,
            "captures": [c["id"] for c in manifest["captures"]],
            "withheld_captures": [w["id"] for w in manifest.get("withheld_captures", [])],
            "sample_chain": bool(manifest.get("sample_chain"))}
    if json_out:
        print_json(info)
    else:
        say("cli_said.pack_written", path=path, size=info["size"], sha=info["sha256"])
        if info["sample_chain"]:
            say("cli_said.pack_sample_chain")
        if info["withheld_captures"]:
            say("cli_said.pack_withheld",
                ids=", ".join(str(w["id"]) for w in manifest["withheld_captures"]))


@app.command("redact")
def redact_cmd(
    capture: int | None = typer.Option(None, "--capture",
                                       help="This buyer persona capture (its id)."),
    all_missing: bool = typer.Option(False, "--all-missing",
                                     help="Every buyer persona capture that has no redacted "
                                          "copy yet."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Make the redacted copy of buyer persona captures that lack one (sampler or admin,
    logged in: it reads the persona's secrets to mask them).

    Each copy is a capture of its own, hashed, signed and time-stamped, naming the
    original's manifest hash; packs and the console then show the copy instead of nothing.
    A capture that has its copy is left alone (idempotent)."""
    from scheduler import redaction
    from store.errors import SpotcheckError

    if (capture is None) == (not all_missing):
        raise InvalidInput("evidence.give_capture_id_all_missing")
    ctx = current()
    actor, _role = ctx.require("personas.secrets", authenticated=True)
    with ctx.db.session() as s:
        if capture is not None:
            redaction.check_one(s, capture)
            ids = [capture]
        else:
            ids = redaction.missing(s)
    if json_out or not ids:
        results = redaction.redact_captures(ctx.db, ctx.settings, ids, actor=actor)
    else:
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("redacting / 脱敏", total=len(ids))
            results = redaction.redact_captures(
                ctx.db, ctx.settings, ids, actor=actor,
                on_done=lambda _r: progress.advance(task))
    made = [r for r in results if r.made]
    failed = [r for r in results if r.error]
    if json_out:
        print_json({"made": len(made), "existing": len(results) - len(made) - len(failed),
                    "failed": len(failed), "captures": [r.as_dict() for r in results]})
    else:
        for r in results:
            if r.made:
                say("cli_said.redacted_made", capture=r.capture_id, copy=r.copy_id)
            elif r.copy_id is not None:
                say("cli_said.redacted_exists", capture=r.capture_id, copy=r.copy_id)
            else:
                console.print(f"[red]{escape(said('cli_said.redacted_failed', capture=r.capture_id))}"
                              f"[/red]{escape(r.error or '')}")
        if not results:
            say("cli_said.redacted_all")
    if failed:
        err = SpotcheckError(f"{len(failed)} of {len(results)} capture(s) could not be "
                             f"redacted; the first: {failed[0].error}")
        err.exit_code = failed[0].exit_code
        raise err


@app.command("verify")
def verify_cmd(
    pack: Path = typer.Argument(..., help="The pack (.zip) to check."),
    trust_key: list[str] = typer.Option(
        [], "--trust-key", metavar="FILE|FINGERPRINT",
        help="Also trust this signing key (a PEM public key, or its SHA-256 fingerprint as "
             "shown by 'spotcheck evidence key show' on the issuing installation); "
             "repeatable. By default only this installation's keys (current and retired) "
             "are trusted."),
    trust_tsa_ca: list[Path] = typer.Option(
        [], "--trust-tsa-ca", metavar="FILE",
        help="Also trust time-stamps issued under this CA certificate (PEM); repeatable. "
             "By default only SPOTCHECK_TRUSTED_TSA_CAS and keys/trusted-tsa/ are trusted."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a pack without the database, against trusted keys and TSA roots; exit 5 if
    any check fails (including a key or a TSA root that is not trusted)."""
    import zipfile

    from evidence.trust import TrustAnchors
    from evidence.verify import verify_pack

    # Exit 5 means "this pack was tampered with": a path that names no file, or a file that
    # is no zip at all, is a mistake of the caller (3, 2), not evidence of tampering.
    if pack.is_dir():
        raise InvalidInput("evidence.zip_file_so_evidence_pack", pack=pack)
    if not pack.is_file():
        raise NotFound("evidence.such_file", pack=pack)
    if not zipfile.is_zipfile(pack):
        raise InvalidInput("evidence.zip_file_so_evidence_pack", pack=pack)
    anchors = TrustAnchors.for_installation(current().settings, trust_keys=trust_key,
                                            trust_tsa_cas=trust_tsa_ca)
    report = verify_pack(pack, anchors=anchors)
    if json_out:
        print_json(report.as_dict())
    else:
        console.print(table(f"{heading('verify')} {pack.name}", ["check", "ok", "detail"],
                            [(check_name(c.name), "✔" if c.ok else "✘ " + heading("failed"),
                              c.text(reader_locale()))
                             for c in report.checks]))
        for w in report.warning_texts(reader_locale()):
            console.print(f"[yellow]{escape(said('cli_said.warning'))}[/yellow]{escape(w)}")
        status = said({"current": "cli_said.key_current", "retired": "cli_said.key_retired",
                       "given": "cli_said.key_given"}.get(report.key_status,
                                                          "cli_said.key_untrusted"))
        say("cli_said.pack_signed", fingerprint=report.key_fingerprint, status=status,
            captures=report.captures, bytes=report.bytes_hashed)
        for fp in sorted(report.retired_keys - {report.key_fingerprint}):
            say("cli_said.captures_retired_key", fingerprint=fp)
    if not report.ok:
        first = report.failures[0] if report.failures else None
        fingerprint = report.key_fingerprint or "—"
        if first is None:
            raise VerificationFailed("evidence.pack_nothing_checked", pack=pack.name,
                                     fingerprint=fingerprint)
        raise VerificationFailed("evidence.pack_check_failed", pack=pack.name, check=check_code(first.name),
                                 detail=first.said(), fingerprint=fingerprint)
    if not json_out:
        console.print("[green]" + escape(said(
            "cli_said.pack_verifies_retired" if report.key_status == "retired"
            else "cli_said.pack_verifies")) + "[/green]")


@key_app.command("show")
def key_show(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
             ) -> None:
    """Show the public key and its fingerprint (created on first use)."""
    from evidence.keys import load_or_create
    from evidence.trust import RETIRED, TrustAnchors

    settings = current().settings
    key = load_or_create(settings.keys_dir)
    anchors = TrustAnchors.for_installation(settings)
    retired = [k.fingerprint for k in anchors.keys.values() if k.status == RETIRED]
    tsa = {fp: c.subject.rfc4514_string() for fp, c in anchors.tsa_cas.items()}
    from evidence.waczsign import load_or_create_ca

    wacz_ca = load_or_create_ca(settings.keys_dir, f"spotcheck-{key.fingerprint[:16]}")
    if json_out:
        print_json({"algorithm": "Ed25519", "fingerprint": key.fingerprint,
                    "public_key_pem": key.public_pem().decode(), "retired": retired,
                    "trusted_tsa_cas": tsa, "wacz_signing_ca": wacz_ca.fingerprint})
    else:
        say("cli_said.key_fingerprint", fingerprint=key.fingerprint)
        console.print(key.public_pem().decode(), end="")
        say("cli_said.key_check_openssl")
        for fp in retired:
            say("cli_said.key_retired_one", fingerprint=fp)
        for fp, subject in tsa.items():
            say("cli_said.trusted_tsa_ca", fingerprint=fp, subject=subject)
        say("cli_said.wacz_ca", fingerprint=wacz_ca.fingerprint)


@key_app.command("export")
def key_export(out: Path = typer.Option(..., "--out", "-o",
                                        help="Where to write the public key (PEM).")) -> None:
    """Write the public key (never the private one) to a file, and log it."""
    from evidence import custody
    from evidence.keys import load_or_create

    ctx = current()
    key = load_or_create(ctx.settings.keys_dir)
    out.write_bytes(key.public_pem())
    with ctx.db.session() as s:
        custody.record(s, "key_exported", ctx.actor(), detail={"fingerprint": key.fingerprint})
    say("cli_said.key_written", path=out, fingerprint=key.fingerprint)


@key_app.command("rotate")
def key_rotate(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
               ) -> None:
    """Retire the signing key for a new one (admin); old packs keep verifying.

    The old key signs a statement naming the new public key before it is retired
    (keys/retired/), and the rotation is a custody event.
    """
    from evidence import custody
    from evidence.keys import rotate

    ctx = current()
    actor, _role = ctx.require_user("admin", authenticated=True)
    old, new, _statement = rotate(ctx.settings.keys_dir)
    with ctx.db.session() as s:
        custody.record(s, "key_rotated", actor, detail={"old_fingerprint": old.fingerprint,
                                                        "new_fingerprint": new.fingerprint})
    if json_out:
        print_json({"old_fingerprint": old.fingerprint, "new_fingerprint": new.fingerprint})
    else:
        say("cli_said.key_rotated", old=old.fingerprint, new=new.fingerprint)


@app.command("diff")
def diff_cmd(
    capture_a: int = typer.Argument(..., help="The earlier capture."),
    capture_b: int = typer.Argument(..., help="The later capture."),
    image: Path | None = typer.Option(None, "--image", help="Write the visual diff (PNG)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """What changed between two captures: price, title, availability, and the screenshot."""
    from evidence.diff import diff_captures

    ctx = current()
    d = diff_captures(ctx.db, capture_a, capture_b, ctx.settings)
    if image is not None:
        image.write_bytes(d.diff_png)
    if json_out:
        print_json(d.as_dict())
        return
    # Availability codes read as words (缺货 / out of stock), the facts by their labels.
    from store.labels import label
    from store.vocabulary import Availability

    def shown(key: str, value: Any) -> Any:
        if key == "availability" and value in Availability._value2member_map_:
            return label(Availability, value, current().reader_locale())
        return value

    rows = [(k, shown(k, before), shown(k, after)) for k, (before, after) in d.changes.items()]
    console.print(table(f"{heading('capture')} {capture_a} → {capture_b}",
                        ["fact", "before", "after"],
                        rows or [(heading("(no change in facts)"), "", "")],
                        codes={"fact": "listing_field"}))
    say("cli_said.pixels_changed_box" if d.bbox else "cli_said.pixels_changed",
        share=f"{d.changed_pixels:.2%}", box=d.bbox)
    if d.removed:
        say("cli_said.listing_gone", capture=capture_b, status=d.status[1])


@app.command("log")
def log_cmd(
    capture: int | None = typer.Option(None, "--capture", help="Only this capture's events."),
    limit: int = typer.Option(100, "--limit", min=1, help="The newest N events."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The custody log, newest last, and whether its hash chain is intact."""
    from evidence import custody
    from store.models import CustodyEvent

    ctx = current()
    with ctx.db.session() as s:
        q = select(CustodyEvent).order_by(CustodyEvent.seq.desc()).limit(limit)
        if capture is not None:
            q = q.where(CustodyEvent.capture_id == capture)
        events = [custody.as_dict(e) for e in reversed(s.scalars(q).all())]
        chain = custody.check_database(s)
    if json_out:
        print_json({"chain_ok": chain.ok, "problems": chain.problems, "events": events})
    else:
        console.print(table("custody log", ["seq", "at", "actor", "action", "capture", "case",
                                            "hash"],
                            [(e["seq"], dt.datetime.fromisoformat(e["at"]), e["actor"], e["action"], e["capture_id"],
                              e["case_id"], e["hash"][:16]) for e in events],
                            codes={"action": "custody_action"}))
        console.print("[green]" + escape(said("cli_said.chain_intact")) + "[/green]"
                      if chain.ok else "[red]" + escape(said("cli_said.chain_broken")) + "[/red]"
                      + escape(said("verify_said.problems", problems=chain.said[:5])))
    if not chain.ok:
        from store.messages import Said

        first = chain.said[0]
        raise VerificationFailed("evidence.custody_chain_broken",
                                 problem=Said(first["code"], first["params"]))


def facts_text(facts: Any, locale: str) -> str:
    """A capture's page facts (title, price, availability) as ``名称：…；价格：…``, each
    field by its label and the availability code by its (the JSON keeps the dict)."""
    from store.vocabulary import Availability

    if not isinstance(facts, dict):
        return "" if facts is None else str(facts)
    zh = locale.startswith("zh")
    shown = []
    for key, value in facts.items():
        if value is None or value == "":
            continue
        if key == "availability" and value in {a.value for a in Availability}:
            value = label(Availability, value, locale)
        shown.append(f"{text_label('listing_field', key, locale)}{'：' if zh else ': '}{value}")
    return ("；" if zh else "; ").join(shown)


@app.command("show")
def show_cmd(
    capture_id: int = typer.Argument(..., help="The capture."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a capture and its artifacts (recorded as 'viewed' in the custody log)."""
    current().read_as("evidence.view")  # as the console's role matrix
    from evidence import custody
    from store.models import Artifact, Capture

    ctx = current()
    with ctx.db.session() as s:
        cap = s.get(Capture, capture_id)
        if cap is None:
            raise NotFound("evidence.capture", capture_id=capture_id)
        arts = s.scalars(select(Artifact).where(Artifact.capture_id == capture_id)
                         .order_by(Artifact.role)).all()
        data: dict[str, Any] = {"id": cap.id, "kind": cap.kind, "url": cap.url, "final_url": cap.final_url,
                "status": cap.status.value, "operator": cap.operator,
                "started_at": cap.started_at, "finished_at": cap.finished_at,
                "manifest_sha256": cap.manifest_sha256, "facts": cap.facts,
                "error": cap.meta.get("error"), "failure": cap.meta.get("failure"),
                "partial": cap.meta.get("partial") or [],
                "partial_reasons": cap.meta.get("partial_reasons") or [],
                "artifacts": [{"role": a.role, "sha256": a.sha256, "size": a.size}
                              for a in arts]}
        custody.record(s, "viewed", ctx.actor(), capture_id=cap.id, case_id=cap.case_id)
    if json_out:
        print_json(data)
        return
    from evidence.steps import failure_text, partial_text

    # why it failed or is partial, as the reader reads it (the JSON keeps the stored codes
    # and texts)
    locale = ctx.reader_locale()
    data["error"] = failure_text(data.pop("failure"), locale) or data["error"]
    data["partial"] = partial_text(data.pop("partial_reasons"), data["partial"], locale) or ""
    data["kind"] = text_label("capture_kind", data["kind"], locale)
    data["facts"] = facts_text(data["facts"], locale)
    data["status"] = label(CaptureStatus, data["status"], locale)
    console.print(table(f"{heading('capture')} {capture_id}", ["field", "value"],
                        [(k, v) for k, v in data.items() if k != "artifacts"], fields=True))
    console.print(table("artifacts", ["file role", "sha256", "size"],
                        [(a["role"], a["sha256"], a["size"]) for a in data["artifacts"]],
                        codes={"file role": "artifact_role"}))
