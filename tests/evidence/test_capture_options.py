"""The PDF is printed only when asked (evidence.capture_request.wants_pdf / capture_steps.steps_for), and the choice
is recorded among the capture's options, so a reader of the provenance knows why a capture
has no PDF.  The printed PDF itself is checked by the browser tests (test_capture.py), whose
settings ask for it."""

from __future__ import annotations

from pathlib import Path

from evidence.capture_meta import new_meta
from evidence.capture_request import CaptureRequest, Run, wants_pdf
from evidence.capture_steps import steps_for
from evidence.steps import StepLog
from store.settings import Settings


def _steps(req: CaptureRequest, settings: Settings) -> tuple[list[str], bool]:
    log = StepLog()
    meta = new_meta(req, settings, "甲", None, None, "1.0", {}, log)
    run = Run(req, settings, None, None, log, meta)  # type: ignore[arg-type]
    return [s.name for s in steps_for(run)], meta["options"]["capture_pdf"]


def test_a_capture_prints_a_pdf_only_when_the_request_or_the_setting_asks(
        tmp_path: Path) -> None:
    off, on = Settings(home=tmp_path, db=""), Settings(home=tmp_path, db="", capture_pdf=True)
    assert Settings(home=tmp_path, db="").capture_pdf is False  # the default
    url = "http://127.0.0.1/item/1"
    names, recorded = _steps(CaptureRequest(url=url), off)
    assert "pdf" not in names and recorded is False
    assert names[-3:] == ["facts", "screenshots", "network"]  # every other step kept
    names, recorded = _steps(CaptureRequest(url=url), on)
    assert names[-3:] == ["screenshots", "pdf", "network"] and recorded is True
    # the request's own choice wins over the setting, either way
    assert _steps(CaptureRequest(url=url, pdf=True), off) == (names, True)
    assert wants_pdf(CaptureRequest(url=url, pdf=False), on) is False
    assert "pdf" not in _steps(CaptureRequest(url=url, pdf=False), on)[0]
