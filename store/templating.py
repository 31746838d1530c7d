"""The one Jinja2 environment factory every package renders its pages with.

Templates live inside the package that owns them (``<package>/templates/``) and are loaded
through the package, not a path from the repository root, so an installed wheel renders the
same pages as a checkout. Every environment autoescapes every template, whatever its name or
source: crawled text is hostile and reaches plan reports, evidence reports and the console.
"""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import Environment, PackageLoader, StrictUndefined, Undefined

__all__ = ["environment"]


def environment(package: str, *, strict: bool = True,
                extensions: Iterable[str] = ()) -> Environment:
    """A fresh environment loading ``<package>/templates``.

    ``strict`` makes a misspelt variable an error instead of an empty string (a report that
    silently lacks a figure is worse than one that fails). Callers add their own filters and
    globals to the returned environment, so it is never shared between packages.
    """
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined if strict else Undefined,
        extensions=list(extensions),
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
