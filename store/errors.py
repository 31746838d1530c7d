"""Errors a user can act on.  The CLI prints their message as one line and exits with
their exit code; anything else is a bug and shows a traceback under ``--verbose``."""

from __future__ import annotations


class SpotcheckError(Exception):
    """An error with a message meant for the operator, not a traceback."""

    #: Process exit code (see README "Exit codes").
    exit_code = 1


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
