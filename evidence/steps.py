"""The loop that runs a capture's named steps, each within its own budget (Scoop's model).

Harvard LIL's Scoop captures a page as an ordered list of named steps run by one loop,
every step's outcome logged.  Here each step has a budget of seconds (a setting may change
it: ``capture_step_timeouts``) and the capture a total ceiling (``capture_timeout``): a step
whose budget runs out is cut off and noted.  A *required* step that fails fails the capture
(its error names the step); any other step that fails or runs out leaves the capture
*partial*, with the reason, and the loop goes on, so a page whose load event never fires
is still captured as it stands after the bound.  Steps marked *keep* (what the page shows:
DOM, screenshots) get their own budget even when the ceiling is spent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from store import messages
from store.errors import SpotcheckError

#: Seconds per step unless ``settings.capture_step_timeouts`` says otherwise.
DEFAULT_BUDGETS: dict[str, float] = {
    "check_url": 5, "open": 10, "load": 15, "dismiss_overlays": 8, "scroll": 5, "settle": 3,
    "dom": 5, "facts": 5, "screenshots": 10, "pdf": 10, "network": 5, "warc": 30,
}

C = TypeVar("C")


class StepFailed(Exception):
    """A required step failed, or a decision (a refused address, a page that left the
    platform) stopped the capture: the step's name and why, as a message code of
    ``store/messages.toml`` with its parameters.  ``str()`` is the English text kept in the
    logs and the custody detail; :meth:`failure` is what a failed capture stores, so the
    console and the CLI say it in their reader's language (:func:`failure_text`)."""

    def __init__(self, step: str, code: str, params: Mapping[str, Any] | None = None,
                 exit_code: int = 6) -> None:
        self.step = step
        self.code = code
        self.params = messages.plain(params or {})
        self.exit_code = exit_code
        super().__init__(f"{step}: {messages.render(code, self.params, 'en')}")

    @classmethod
    def of(cls, step: str, exc: SpotcheckError) -> StepFailed:
        """A refusal of the domain (coded or not) that stopped the capture at *step*."""
        if exc.code is not None:
            return cls(step, exc.code, exc.params, exc.exit_code)
        return cls(step, "capture.step_error", {"error": type(exc).__name__,
                                                "detail": str(exc)[:300]}, exc.exit_code)

    def failure(self) -> dict[str, Any]:
        """The stored form: ``{"step": ..., "code": ..., "params": {...}}`` (JSON)."""
        return {"step": self.step, "code": self.code, "params": dict(self.params)}


def failure_text(failure: Mapping[str, Any] | None, locale: str = "zh-CN") -> str | None:
    """Why a capture failed, in *locale*, from what :meth:`StepFailed.failure` stored
    (None when nothing was stored: a capture recorded before reasons were coded)."""
    if not failure or not messages.known(failure.get("code")):
        return None
    reason = messages.render(str(failure["code"]), failure.get("params") or {}, locale)
    return messages.render("capture.step_failed",
                           {"capture_step": str(failure.get("step") or ""), "reason": reason},
                           locale)


def note_text(entry: Mapping[str, Any], locale: str = "zh-CN") -> str:
    """A step's note in *locale*, from its message code (``note_code``); a capture recorded
    before notes were coded keeps its English note."""
    coded = entry.get("note_code") or {}
    if messages.known(coded.get("code")):
        return messages.render(str(coded["code"]), coded.get("params") or {}, locale)
    return str(entry.get("note") or "")


def partial_text(reasons: Any, fallback: Any = None, locale: str = "zh-CN") -> str | None:
    """Why a capture is partial, in *locale*, from the coded reasons (``meta
    ["partial_reasons"]``: step, code, params); else the stored English *fallback* (a list
    of reasons or one text), None when there is none."""
    said = [messages.render("capture.step_partial",
                            {"capture_step": str(r.get("step") or ""),
                             "reason": {"code": r["code"], "params": r.get("params") or {}}},
                            locale)
            for r in (reasons or []) if isinstance(r, Mapping) and messages.known(r.get("code"))]
    if said:
        return ("；" if locale.startswith("zh") else "; ").join(said)
    if isinstance(fallback, list | tuple):
        return "; ".join(map(str, fallback)) or None
    return str(fallback) if fallback else None


class StepCutShort(Exception):
    """A step ends before its budget because waiting longer cannot help (a page that only
    re-requests a failing image never fires ``load``): the capture goes on, partial, with
    the message (a code of ``store/messages.toml``) as the reason."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = messages.plain(params)
        super().__init__(messages.render(code, self.params, "en"))


@dataclass
class Step(Generic[C]):
    """One named step: ``fn(capture)``; *required* failures fail the capture."""

    name: str
    fn: Callable[[C], Awaitable[Any]]
    required: bool = False
    keep: bool = False
    #: Running out of budget is normal for this step (noted, the capture stays complete).
    soft: bool = False
    #: Checked after the step, however it ended (cut off or not); may raise a
    #: ``SpotcheckError`` that fails the capture (e.g. the page never answered).
    after: Callable[[C], None] | None = None


class StepLog:
    """The steps' log as it goes into the metadata: name, ok, ms, budget, note (English,
    for the logs) and its message code (``note_code``, what a reader reads: :func:`note_text`);
    why the capture is partial, likewise in English (``partial``) and coded
    (``partial_reasons``: :func:`partial_text`)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.partial: list[str] = []
        self.partial_reasons: list[dict[str, Any]] = []

    def note(self, code: str, **params: Any) -> None:
        """Note on the current step the message *code* with *params*."""
        if self.steps:
            _note(self.steps[-1], code, params)

    def mark_partial(self, step: str, code: str, params: Mapping[str, Any] | None = None) -> None:
        """The capture is partial: *step* ended for the reason *code* (with *params*)."""
        plain = messages.plain(params or {})
        reason = f"{step}: {messages.render(code, plain, 'en')}"[:300]
        if reason not in self.partial:
            self.partial.append(reason)
            self.partial_reasons.append({"step": step, "code": code, "params": plain})


def _note(entry: dict[str, Any], code: str, params: Mapping[str, Any]) -> None:
    plain = messages.plain(params)
    entry["note"] = messages.render(code, plain, "en")[:300]
    entry["note_code"] = {"code": code, "params": plain}


def _error(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """An exception as a message code: a coded refusal as itself, anything else as
    ``capture.step_error`` with its type and first line."""
    if isinstance(exc, SpotcheckError) and exc.code is not None:
        return exc.code, messages.plain(exc.params)
    first = str(exc).splitlines()[0][:250] if str(exc) else ""
    return "capture.step_error", {"error": type(exc).__name__, "detail": first}


async def run_steps(steps: list[Step[C]], capture: C, log: StepLog, *,
                    budgets: dict[str, float], ceiling: float) -> None:
    """Run *steps* in order.  Raises :class:`StepFailed` when a required step fails."""
    deadline = time.monotonic() + ceiling
    for step in steps:
        budget = budgets.get(step.name, DEFAULT_BUDGETS.get(step.name, 10.0))
        left = deadline - time.monotonic()
        if not step.keep:
            budget = min(budget, left)
        entry: dict[str, Any] = {"name": step.name, "ok": False, "ms": 0,
                                 "budget_s": round(budget, 1), "note": ""}
        log.steps.append(entry)
        if budget <= 0:
            _note(entry, "capture.skipped_ceiling", {})
            if step.required:
                raise StepFailed(step.name, "capture.ceiling_reached")
            log.mark_partial(step.name, "capture.skipped_ceiling")
            continue
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(step.fn(capture), timeout=budget)
            entry["ok"] = True
        except TimeoutError:
            over = {"seconds": round(budget, 1)}
            if not entry["note"]:
                _note(entry, "capture.cut_off", over)
            if step.required:
                raise StepFailed(step.name, "capture.step_over_budget", over) from None
            entry["ok"] = step.soft
            if not step.soft:
                log.mark_partial(step.name, "capture.step_over_budget", over)
        except StepCutShort as exc:
            _note(entry, exc.code, exc.params)
            log.mark_partial(step.name, exc.code, exc.params)
        except SpotcheckError as exc:  # a decision (refused, left the platform): fails it
            _note(entry, *_error(exc))
            raise StepFailed.of(step.name, exc) from exc
        except Exception as exc:
            code, params = _error(exc)
            _note(entry, code, params)
            if step.required:
                raise StepFailed(step.name, code, params) from exc
            log.mark_partial(step.name, code, params)
        finally:
            entry["ms"] = round((time.perf_counter() - t0) * 1000)
        if step.after is not None:
            try:
                step.after(capture)
            except SpotcheckError as exc:
                entry["ok"] = False
                _note(entry, *_error(exc))
                raise StepFailed.of(step.name, exc) from exc
