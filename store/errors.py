"""Errors a user can act on.  The CLI prints their message as one line and exits with
their exit code; anything else is a bug and shows a traceback under ``--verbose``."""

from __future__ import annotations


class SpotcheckError(Exception):
    """An error with a message meant for the operator, not a traceback.

    Raised with a message code of :mod:`store.messages` and its parameters
    (``NotFound("plans.plan", plan_id=3)``), it can be read in either language:
    :meth:`message` renders it for a reader, ``str()`` is its English text (logs, audit).
    A plain sentence is still accepted (code None) for the places not yet coded.
    """

    #: Process exit code (see README "Exit codes").
    exit_code = 1

    def __init__(self, message: object = "", /, **params: object) -> None:
        from store import messages

        self.code: str | None = message if isinstance(message, str) and messages.known(message) \
            else None
        self.params: dict[str, object] = dict(params)
        if self.code is not None:
            super().__init__(messages.render(self.code, self.params, "en"))
        else:
            super().__init__(message)

    def message(self, locale: str = "en") -> str:
        """What the reader of *locale* (``zh-CN``, ``en``) reads: the coded text in that
        language, vocabulary codes among the parameters shown by their label."""
        if self.code is None:
            return str(self)
        from store import messages

        return messages.render(self.code, self.params, locale)

    def stored(self) -> dict[str, object] | str:
        """What a record keeps of this refusal (an audit event's reason): its code and
        parameters as JSON, ``{"code", "params"}``, which :func:`store.messages.render` reads
        in either language later; its English text when it is not coded."""
        if self.code is None:
            return str(self)[:500]
        from store import messages

        return {"code": self.code, "params": messages.plain(self.params)}


class InvalidInput(SpotcheckError):
    """Bad arguments or a malformed file; the message names the line or field."""

    exit_code = 2


class NotFound(SpotcheckError):
    """A named thing (campaign, plan, listing, capture, ...) does not exist."""

    exit_code = 3


class Conflict(SpotcheckError):
    """The action is not allowed in the current state (approving one's own plan, editing
    an approved plan, a second scheduler on the same database, ...)."""

    exit_code = 4


class VerificationFailed(SpotcheckError):
    """An integrity check failed (tampered evidence pack, bad signature, bad timestamp)."""

    exit_code = 5


class ServiceUnavailable(SpotcheckError):
    """A service we need (database, Redis, browser, TSA) cannot be reached."""

    exit_code = 6


class ConfigError(SpotcheckError):
    """A setting is missing or wrong in a way the operator must fix; the message says how."""

    exit_code = 2
