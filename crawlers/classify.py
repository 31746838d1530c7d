"""Sector and supervision class of a listing, by the rules file (zh + en), with reasons.

The rules are data (``crawlers/rules/classification.toml``) so that inspectors can follow
catalogue revisions without a release.  Every decision carries the rule id and the word that
triggered it, because a supervisor must be able to ask why a listing was called prohibited.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from store.errors import InvalidInput
from store.vocabulary import Sector, SupervisionClass

_RANK = {SupervisionClass.GENERAL: 0, SupervisionClass.KEY: 1, SupervisionClass.PROHIBITED: 2}


def _en_pattern(words: list[str]) -> re.Pattern[str] | None:
    parts = []
    for word in words:
        stem = re.escape(word.rstrip("*")).replace(r"\ ", r"[\s-]+")
        parts.append(stem + (r"\w*" if word.endswith("*") else "") )
    if not parts:
        return None
    return re.compile(r"(?<![\w])(" + "|".join(parts) + r")(?![\w'])", re.IGNORECASE)


@dataclass(frozen=True)
class _Matcher:
    zh: tuple[str, ...]
    en: re.Pattern[str] | None

    def first(self, text: str) -> int | None:
        """Position of the earliest match in *text*, or None."""
        positions = [p for p in (text.find(w) for w in self.zh) if p >= 0]
        if self.en is not None:
            match = self.en.search(text)
            if match:
                positions.append(match.start())
        return min(positions) if positions else None

    def find(self, text: str) -> str | None:
        for word in self.zh:
            if word in text:
                return word
        if self.en is not None:
            match = self.en.search(text)
            if match:
                return match.group(0)
        return None


@dataclass(frozen=True)
class Rule:
    id: str
    supervision_class: SupervisionClass
    reason_zh: str
    reason_en: str
    matcher: _Matcher


@dataclass
class Classification:
    """The outcome for one listing."""

    sector: Sector = Sector.OTHER
    supervision_class: SupervisionClass = SupervisionClass.GENERAL
    reasons: list[dict[str, Any]] = field(default_factory=list)


class Classifier:
    """Applies a rules file; build one per process (``default_classifier()``)."""

    def __init__(self, data: dict[str, Any], source: str = "rules") -> None:
        try:
            self.sectors = [(Sector(s["sector"]), _Matcher(tuple(s.get("zh", [])),
                                                            _en_pattern(s.get("en", []))))
                            for s in data.get("sector", [])]
            self.rules = [Rule(r["id"], SupervisionClass(r["class"]), r["reason_zh"],
                               r["reason_en"],
                               _Matcher(tuple(r.get("zh", [])), _en_pattern(r.get("en", []))))
                          for r in data.get("rule", [])]
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput("classify.bad_rule", source=source, exc=exc) from exc
        self._categories: dict[str, tuple[Sector | None, tuple[str | None, ...]]] = {}

    @classmethod
    def from_file(cls, path: Path) -> Classifier:
        try:
            return cls(tomllib.loads(path.read_text("utf-8")), str(path))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput("classify.error", path=path, exc=exc) from exc

    def _by_category(self, category: str) -> tuple[Sector | None, tuple[str | None, ...]]:
        """The sector a category names and the word each rule finds in it, remembered: a
        platform has a few hundred categories and many thousand listings."""
        found = self._categories.get(category)
        if found is None:
            sector = next((s for s, m in self.sectors if category and m.find(category)), None)
            found = (sector, tuple(r.matcher.find(category) if category else None
                                   for r in self.rules))
            if len(self._categories) < 4096:
                self._categories[category] = found
        return found

    def rule(self, rule_id: str) -> Rule | None:
        """The rule of this id (a listing classified before reasons carried their text names
        only its rule: the page reads the rule's reason from here)."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def category_sector(self, category: str | None) -> Sector | None:
        """The sector of ours a shop's category names by these rules (``童装`` → textiles),
        or None when the rules do not map it (``kids``): a page shows the shop's own text
        beside it, never as a code of ours."""
        return self._by_category(category or "")[0]

    def classify(self, title: str, category: str = "") -> Classification:
        """Classify by category first (the platform's own grouping), then by title."""
        out = Classification()
        category_sector, category_words = self._by_category(category)
        if category_sector is not None:
            out.sector = category_sector
        else:
            # From the title, the sector whose word comes first: titles name the product
            # before its specs ("毛绒玩偶 带电池" is a toy with a battery, not electronics).
            hits = [(pos, i, sector) for i, (sector, matcher) in enumerate(self.sectors)
                    if (pos := matcher.first(title)) is not None]
            if hits:
                out.sector = min(hits)[2]
        for rule, category_word in zip(self.rules, category_words, strict=True):
            for where, text in (("category", category), ("title", title)):
                if where == "category":
                    word = category_word
                else:
                    word = rule.matcher.find(text) if text else None
                if word is None:
                    continue
                out.reasons.append({"rule": rule.id, "class": rule.supervision_class.value,
                                    "field": where, "matched": word,
                                    "reason_zh": rule.reason_zh, "reason_en": rule.reason_en})
                if _RANK[rule.supervision_class] > _RANK[out.supervision_class]:
                    out.supervision_class = rule.supervision_class
                break
        if out.supervision_class is SupervisionClass.PROHIBITED:
            # A prohibited listing's reasons lead with what makes it prohibited.
            out.reasons.sort(key=lambda r: r["class"] != "prohibited")
        return out


@cache
def default_classifier() -> Classifier:
    """The classifier of the shipped rules file."""
    text = resources.files("crawlers").joinpath("rules", "classification.toml").read_text("utf-8")
    return Classifier(tomllib.loads(text), "crawlers/rules/classification.toml")
