"""The code cites only documents that are in the repository (docs/design.md, READMEs, ...)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("store", "crawlers", "sampler", "evidence", "scheduler", "spotcheck", "sandbox")
CITED = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.md)\b")


def test_every_cited_document_is_in_the_repository() -> None:
    present = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.md")
               if ".venv" not in p.parts and ".git" not in p.parts}
    names = {Path(p).name for p in present}
    assert {"docs/design.md", "docs/architecture.md"} <= present
    missing = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for cited in CITED.findall(path.read_text(encoding="utf-8")):
                if cited not in present and not ("/" not in cited and cited in names) \
                        and f"{path.parent.relative_to(ROOT).as_posix()}/{cited}" not in present:
                    missing.append(f"{path.relative_to(ROOT)} cites {cited}")
    assert missing == []


DOCS = ("docs/design.md", "docs/architecture.md")
PATH_LIKE = re.compile(r"^[\w.-]+(?:/[\w.-]+)*(?:/|\.py|\.toml|\.md)$")
DOTTED = re.compile(r"^((?:" + "|".join(PACKAGES) + r")(?:\.\w+)+)(?:\(.*\))?$")


def _quoted(doc: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", (ROOT / doc).read_text(encoding="utf-8"))


def test_every_path_the_design_docs_name_exists() -> None:
    """A module, folder or file docs/design.md or docs/architecture.md names (``store/prn.py``,
    ``sampler/templates/``) is in the repository: a page that sends a newcomer to a file
    that moved is worse than none."""
    named = [q for doc in DOCS for q in _quoted(doc) if "/" in q and PATH_LIKE.match(q)
             and not q.startswith("/")]
    assert len(named) > 30
    assert sorted(q for q in named if not (ROOT / q).exists()) == []


def test_every_dotted_name_the_design_docs_use_resolves() -> None:
    """``sampler.plans.plan_diff``, ``store.templating.environment(package)``: the module
    exists and defines the name."""
    import importlib

    named = [m.group(1) for doc in DOCS for q in _quoted(doc) if (m := DOTTED.match(q))]
    assert named
    missing = []
    for name in named:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: object = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
            if obj is None:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert missing == []


def test_each_rule_home_defines_the_names_it_is_given() -> None:
    """In architecture.md's table, a name quoted beside a rule's home (``CrawlRuns``,
    ``one_instance``) is defined in one of the modules that cell names (or is a table)."""
    rows = [line.split("|")[1:-1] for line in
            (ROOT / "docs/architecture.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| rule") and "---" not in line]
    assert len(rows) > 15
    tables = set(re.findall(r'__tablename__ = "(\w+)"',
                            (ROOT / "store/models.py").read_text(encoding="utf-8")))
    wrong = []
    for _rule, home, _used in rows:
        quoted = re.findall(r"`([^`]+)`", home)
        sources = "\n".join((ROOT / q).read_text(encoding="utf-8") for q in quoted
                            if q.endswith(".py") and (ROOT / q).is_file())
        for name in quoted:
            if re.fullmatch(r"[A-Za-z_]\w*", name) and name not in tables and not re.search(
                    rf"^\s*(?:async def|def|class)\s+{name}\b|^\s*{name}\s*[:=]", sources,
                    re.MULTILINE):
                wrong.append(f"{name} (home: {home.strip()})")
    assert wrong == []
