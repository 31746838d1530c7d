"""Printing HTML to PDF with Chromium, for every report spotcheck writes.

The plan report, the evidence-pack report and the half-year report are all Jinja2 → HTML →
PDF; they share this one printer so each prints the same careful way: the configured Chromium
(CJK fonts from the system), JavaScript off and the network offline (a report embeds
crawled text and must not run or fetch anything), one browser for a batch of documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from store.errors import ServiceUnavailable
from store.settings import Settings


@dataclass(frozen=True)
class PrintJob:
    """One document: HTML text, or an HTML file (whose relative links then resolve)."""

    source: str | Path
    pdf: Path
    landscape: bool = False
    margin_mm: tuple[int, int, int, int] = (12, 12, 10, 10)  # top, bottom, left, right


def print_pdfs(jobs: Sequence[PrintJob], settings: Settings) -> list[Path]:
    """Print every job with one headless Chromium; returns the PDF paths in order."""
    if not jobs:
        return []
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from store import chromium

    try:
        with sync_playwright() as pw:
            browser = chromium.launch_sync(pw, settings)
            try:
                context = browser.new_context(java_script_enabled=False, offline=True)
                page = context.new_page()
                for job in jobs:
                    if isinstance(job.source, Path):
                        page.goto(job.source.resolve().as_uri(), wait_until="load",
                                  timeout=60_000)
                    else:
                        page.set_content(job.source, wait_until="load", timeout=60_000)
                    top, bottom, left, right = job.margin_mm
                    page.pdf(path=str(job.pdf), format="A4", landscape=job.landscape,
                             print_background=True,
                             margin={"top": f"{top}mm", "bottom": f"{bottom}mm",
                                     "left": f"{left}mm", "right": f"{right}mm"})
                page.close()
                context.close()
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise ServiceUnavailable("printing.chromium_could_print_pdf", exc=exc) from exc
    return [job.pdf for job in jobs]
