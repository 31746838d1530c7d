"""Test sites are served one way: ``tests.conftest.serve_http`` with a ``SiteHandler``.

A module writing its own ``BaseHTTPRequestHandler`` repeats the response plumbing (status,
headers, length, quiet logging) that :class:`tests.conftest.SiteHandler` holds once; this
test fails on a new one.  A module that needs what SiteHandler should not do (a raw socket
answer, a broken response on purpose) is listed in ``ALLOWED`` with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: Modules that may subclass BaseHTTPRequestHandler themselves, and why.
ALLOWED: dict[str, str] = {
    "conftest.py": "the home of SiteHandler",
}


def _own_handlers(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name == "BaseHTTPRequestHandler":
                    found.append(f"{path.relative_to(TESTS).as_posix()}:{node.lineno}")
        elif isinstance(node, ast.Attribute) and node.attr == "send_response":
            found.append(f"{path.relative_to(TESTS).as_posix()}:{node.lineno} send_response")
    return found


def test_every_test_site_builds_on_site_handler() -> None:
    offenders = [hit for path in sorted(TESTS.rglob("*.py"))
                 if path.relative_to(TESTS).as_posix() not in ALLOWED
                 for hit in _own_handlers(path)]
    assert not offenders, f"serve test sites with tests.conftest.SiteHandler: {offenders}"
