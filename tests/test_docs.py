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
