"""What a capture is asked, what it answers, and the capture in progress.

The request and the result are the public face of :mod:`evidence.capture`; :class:`Run` is
what the named steps (:mod:`evidence.capture_steps`) read and write while one capture runs.
Kept apart from the steps and the runner so that every capture module can name them without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evidence.facts import PageReader
from evidence.proxy import CaptureNet
from evidence.steps import StepLog, failure_text, partial_text
from store.errors import SpotcheckError
from store.settings import Settings

KINDS = ("listing", "seller", "order", "search")


@dataclass
class CaptureRequest:
    """What to capture and why."""

    url: str
    kind: str = "listing"
    listing_id: int | None = None
    case_id: int | None = None
    persona_id: int | None = None
    purchase_id: int | None = None
    purpose: str | None = None
    #: Domains the main frame may navigate to; default: the requested URL's host.
    platform_domains: list[str] | None = None
    #: The capture this one repeats (for diffs); default: the last capture of the same URL.
    previous_capture_id: int | None = None
    #: Print the page to a PDF as well; None: as the setting ``capture_pdf`` says.
    pdf: bool | None = None
    #: Reads the rendered page as the caller's extractor does (the crawl's: markup and the
    #: visible page), recorded in the capture's facts with its source
    #: (:func:`evidence.facts.with_reading`); None: the markup reading of evidence.facts.
    page_reader: PageReader | None = field(default=None, repr=False, compare=False)


def wants_pdf(req: CaptureRequest, settings: Settings) -> bool:
    """Whether *req* prints a PDF: the request's own choice, else the setting."""
    return settings.capture_pdf if req.pdf is None else bool(req.pdf)


@dataclass
class CaptureResult:
    """The outcome of one capture (the row exists in every case).  *ok* is true for a
    complete or a partial capture (both are evidence); *status* says which."""

    capture_id: int
    url: str
    ok: bool
    error: str | None = None
    exit_code: int = 0
    manifest_sha256: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    status: str = "ok"
    #: Why a failed capture failed, coded (:meth:`evidence.steps.StepFailed.failure`).
    failure: dict[str, Any] | None = None
    #: Why a partial capture is partial, coded (:attr:`evidence.steps.StepLog.partial_reasons`).
    partial: list[dict[str, Any]] = field(default_factory=list)

    def reason(self, locale: str = "zh-CN") -> str | None:
        """Why it failed (or was partial) as the reader of *locale* reads it."""
        return failure_text(self.failure, locale) or partial_text(self.partial, self.error,
                                                                  locale)


class CaptureFailed(SpotcheckError):
    """The page could not be captured as evidence (exit 6: the site, not us); raised with a
    ``capture.*`` message code, stored with the failed capture (``meta["failure"]``)."""

    exit_code = 6


@dataclass
class Run:
    """One capture in progress: what the steps read and write."""

    req: CaptureRequest
    settings: Settings
    context: Any
    net: CaptureNet
    log: StepLog
    meta: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    page: Any = None
    response: Any = None
    domains: list[str] = field(default_factory=list)
    height: int = 0
    popups: list[Any] = field(default_factory=list)
    cdp: Any = None
    #: The first main-frame navigation the guard refused (URL, reason).
    refused_navigation: tuple[str, str] | None = None
    #: The load step ended early: the page only re-requests URLs that keep failing.
    looping: bool = False

