"""Which spreadsheet column is which: TOML mapping files, shipped for the common layouts.

A mapping names its ``kind``, our fields and the headers that mean each (``[columns]``), the
``required`` fields, the ``distinctive`` fields only this kind of file has (to recognise a file
given as the wrong kind), and headers to ``ignore`` (row numbers, remarks).  The shipped ones are
in ``sampler/risk/mappings/<kind>.toml``; a bureau with another layout writes its own and passes
``--mapping FILE``.

Applying one is strict: a header no field claims and not ignored is an error naming it, a
required field without a column is an error naming it and the headers accepted for it.

Three keys describe layouts that are not a plain table with a header row (files as another
system exported them, e.g. ``mappings/layouts/cqn-unqualified-2019.toml``):

- ``header = ["编号", "标题", …]``: the file has no header row; these are its columns in order
  (every row must then have exactly that many cells, so a cut or shifted row is an error);
- ``[defaults]``: a field's value when the file has no column for it (a table of failed samples
  only: ``result = "不合格"``);
- ``blank_unless = ["product", …]``: a row with none of these cells filled holds no record (an
  announcement listed without its table) and is skipped like a blank line, its line counted in
  the import's ``skipped``, where a row with some of them but not the required ones stays an
  error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import InvalidInput, NotFound

SHIPPED = Path(__file__).resolve().parent.parent / "mappings"


def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    kind: str
    name: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    distinctive: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    #: The columns of a file without a header row, in order (None: the first row is the header).
    header: tuple[str, ...] | None = None
    #: {field: value} for fields the file has no column for.
    defaults: dict[str, str] = field(default_factory=dict)
    #: A row with none of these fields filled is skipped as holding no record.
    blank_unless: tuple[str, ...] = ()

    def field_of(self, header: str) -> str | None:
        """Our field for a header cell, None when no field claims it."""
        key = _norm(header)
        for name, aliases in self.columns.items():
            if key == _norm(name) or key in (_norm(a) for a in aliases):
                return name
        return None

    def ignored(self, header: str) -> bool:
        return _norm(header) in (_norm(i) for i in self.ignore) or not header.strip()

    def resolve(self, header: list[str]) -> tuple[list[str | None], list[str], list[str]]:
        """(field per column (None: ignored), unknown headers, missing required fields)."""
        fields: list[str | None] = []
        unknown: list[str] = []
        for cell in header:
            name = self.field_of(cell)
            if name is None and not self.ignored(cell):
                unknown.append(cell)
            fields.append(name)
        have = {f for f in fields if f} | set(self.defaults)
        missing = [r for r in self.required if r not in have]
        return fields, unknown, missing

    def accepted(self, name: str) -> str:
        return " / ".join(dict.fromkeys((name, *self.columns.get(name, ()))))


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file (InvalidInput naming what is wrong).  A bare name
    (``cqn-unqualified-2019``) is a shipped layout in ``mappings/layouts/``."""
    path = Path(path)
    if not path.exists() and path.parent == Path() and not path.suffix:
        layout = SHIPPED / "layouts" / f"{path.name}.toml"
        if layout.is_file():
            path = layout
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise NotFound("risk_mapping.no_file", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("risk_mapping.not_toml", path_name=path.name,
                           detail=str(exc)[:200]) from None
    columns = data.get("columns")
    if not isinstance(data.get("kind"), str) or not isinstance(columns, dict) or not columns:
        raise InvalidInput("risk_mapping.needs_kind_and_columns", path_name=path.name)
    cols: dict[str, tuple[str, ...]] = {}
    for name, aliases in columns.items():
        if isinstance(aliases, str):
            aliases = [aliases]
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise InvalidInput("risk_mapping.columns_not_list", path_name=path.name,
                               name=str(name)[:60])
        cols[str(name)] = tuple(aliases)
    required = tuple(str(r) for r in data.get("required", []))
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        raise InvalidInput("risk_mapping.defaults_not_text", path_name=path.name)
    for name in defaults:
        cols.setdefault(str(name), ())  # a field given only by default has no header
    unknown = [r for r in required if r not in cols]
    if unknown:
        raise InvalidInput("risk_mapping.required_without_column", path_name=path.name,
                           fields=", ".join(unknown))
    header = data.get("header")
    if header is not None and (not isinstance(header, list) or not header
                               or not all(isinstance(h, str) for h in header)):
        raise InvalidInput("risk_mapping.header_not_list", path_name=path.name)
    blank_unless = tuple(str(b) for b in data.get("blank_unless", []))
    if unclaimed := [b for b in blank_unless if b not in cols]:
        raise InvalidInput("risk_mapping.blank_unless_without_column", path_name=path.name,
                           fields=", ".join(unclaimed))
    known = {"kind", "name", "columns", "required", "distinctive", "ignore", "header",
             "defaults", "blank_unless"}
    return Mapping(kind=data["kind"], name=str(data.get("name", data["kind"])), columns=cols,
                   required=required,
                   distinctive=tuple(str(d) for d in data.get("distinctive", [])),
                   ignore=tuple(str(i) for i in data.get("ignore", [])),
                   extra={k: v for k, v in data.items() if k not in known}, source=path.name,
                   header=tuple(header) if header is not None else None,
                   defaults={str(k): v for k, v in defaults.items()},
                   blank_unless=blank_unless)


def shipped(kind: str) -> Mapping:
    """The shipped mapping of *kind*."""
    return load_mapping(SHIPPED / f"{kind}.toml")


def shipped_kinds() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def looks_like(header: list[str], asked: Mapping) -> Mapping | None:
    """Another shipped kind this header fits better than *asked* (with its distinctive columns),
    or None.  A self-reports file (enterprise, kind defect|recall) given as complaints is one."""
    _, unknown, missing = asked.resolve(header)
    have_own = any(asked.field_of(h) in asked.distinctive for h in header)
    if not unknown and not missing and have_own:
        return None
    best: tuple[int, Mapping] | None = None
    for kind in shipped_kinds():
        if kind == asked.kind:
            continue
        other = shipped(kind)
        _, o_unknown, o_missing = other.resolve(header)
        distinct = any(other.field_of(h) in other.distinctive for h in header)
        if distinct and not o_missing and len(o_unknown) < len(unknown) + (0 if have_own else 1):
            score = len(header) - len(o_unknown)
            if best is None or score > best[0]:
                best = (score, other)
    return best[1] if best else None
