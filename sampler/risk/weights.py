"""Risk weights: the documented defaults (weights.toml), a file, or a campaign's overrides.

Weights are data, not code, so a supervisor can read and change them and a plan can record
exactly which weights produced its size measures.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from store.errors import InvalidInput, NotFound

DEFAULT_FILE = Path(__file__).with_name("weights.toml")

FACTORS: tuple[str, ...] = (
    "base", "notice_match", "price_low", "new_seller", "unfiled_seller", "filing_unknown",
    "no_licence", "key_class", "key_without_ccc", "sector_rate", "churn", "seller_failed",
    "seller_cases", "brand_failed", "network", "product_failed", "complaints",
    "counterfeit_words", "prohibited",
)


@dataclass(frozen=True)
class RiskWeights:
    """Factor weights, their parameters, sector prior rates and the counterfeit lexicon."""

    weights: dict[str, float]
    params: dict[str, float]
    sector_rates: dict[str, float]
    counterfeit_words: tuple[str, ...] = ()
    source: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)

    def w(self, factor: str) -> float:
        return float(self.weights.get(factor, 0.0))

    def p(self, name: str) -> float:
        return float(self.params[name])

    def as_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "params": dict(self.params),
                "sector_rates": dict(self.sector_rates),
                "lexicon": {"counterfeit_words": list(self.counterfeit_words)},
                "source": self.source}

    def merged(self, overrides: dict[str, Any], source: str) -> RiskWeights:
        """These weights with *overrides* applied (nested tables, or a flat factor→weight map)."""
        if not overrides:
            return self
        weights, params, rates = dict(self.weights), dict(self.params), dict(self.sector_rates)
        words = list(self.counterfeit_words)
        for key, value in overrides.items():
            if key == "weights" and isinstance(value, dict):
                weights.update(value)
            elif key == "params" and isinstance(value, dict):
                params.update(value)
            elif key == "sector_rates" and isinstance(value, dict):
                rates.update(value)
            elif key == "lexicon" and isinstance(value, dict):
                words = list(value.get("counterfeit_words", words))
            elif key in FACTORS:
                weights[key] = value
            elif key in params:
                params[key] = value
            elif key == "source":
                continue
            else:
                raise InvalidInput("risk_weights.unknown_weight", source=source,
                                   key=_shown(key), known=", ".join(FACTORS))
        return validate(RiskWeights(weights, params, rates, tuple(words), source))

    def to_toml(self) -> str:
        """The weights as a TOML file that :func:`load_weights` reads back."""
        lines = [f"# risk weights ({self.source})", "", "[weights]"]
        lines += [f"{k} = {float(v):.4g}" for k, v in self.weights.items()]
        lines += ["", "[params]"]
        lines += [f"{k} = {float(v):.6g}" for k, v in self.params.items()]
        lines += ["", "[sector_rates]"]
        lines += [f"{k} = {float(v):.4g}" for k, v in self.sector_rates.items()]
        words = ", ".join(_toml_str(w) for w in self.counterfeit_words)
        lines += ["", "[lexicon]", f"counterfeit_words = [{words}]", ""]
        return "\n".join(lines)


def _shown(value: object) -> str:
    """A value from the operator's file as a refusal quotes it: its repr, cut at 60
    characters so a runaway value cannot flood the message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def validate(rw: RiskWeights) -> RiskWeights:
    """Reject weights that would break the size measure: unknown factors, negatives, base <= 0."""
    clean: dict[str, float] = {}
    for key, value in rw.weights.items():
        if key not in FACTORS:
            raise InvalidInput("risk_weights.unknown_factor", source=rw.source, key=_shown(key),
                               known=", ".join(FACTORS))
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise InvalidInput("risk_weights.weight_not_number", source=rw.source, key=key,
                               value=_shown(value)) from None
        if num != num or num < 0:
            raise InvalidInput("risk_weights.weight_negative", source=rw.source, key=key,
                               value=_shown(value))
        clean[key] = num
    if clean.get("base", 0.0) <= 0:
        raise InvalidInput("risk_weights.base_not_positive", source=rw.source)
    params: dict[str, float] = {}
    for key, value in rw.params.items():
        try:
            params[key] = float(value)
        except (TypeError, ValueError):
            raise InvalidInput("risk_weights.parameter_not_number", source=rw.source, key=key,
                               value=_shown(value)) from None
    rates: dict[str, float] = {}
    for key, value in rw.sector_rates.items():
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise InvalidInput("risk_weights.sector_rate_not_number", source=rw.source, key=key,
                               value=_shown(value)) from None
        if not 0 <= rate <= 1:
            raise InvalidInput("risk_weights.sector_rate_out_of_range", source=rw.source,
                               key=key, rate=rate)
        rates[key] = rate
    return RiskWeights(clean, params, rates, tuple(str(w) for w in rw.counterfeit_words),
                       rw.source, rw.extra)


def _from_table(data: dict[str, Any], source: str) -> RiskWeights:
    lex = data.get("lexicon") or {}
    return validate(RiskWeights(
        weights=dict(data.get("weights") or {}), params=dict(data.get("params") or {}),
        sector_rates=dict(data.get("sector_rates") or {}),
        counterfeit_words=tuple(lex.get("counterfeit_words") or ()), source=source))


def weights_from(data: dict[str, Any]) -> RiskWeights:
    """Weights back from ``RiskWeights.as_dict()`` (as ``risk_run`` records them)."""
    return _from_table(data, str(data.get("source") or "recorded"))


_default: RiskWeights | None = None


def default_weights() -> RiskWeights:
    """The documented defaults shipped in weights.toml."""
    global _default
    if _default is None:
        _default = _from_table(tomllib.loads(DEFAULT_FILE.read_text("utf-8")), "default")
    return _default


def read_weights_file(path: str | Path) -> dict[str, Any]:
    """The overrides a TOML weights file sets (not yet checked against the known factors)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise NotFound("risk_weights.no_file", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput("risk_weights.not_toml", path=str(path), detail=str(exc)[:200]) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput("risk_weights.not_utf8", path=str(path), reason=exc.reason) from None


def load_weights(path: str | Path | None = None) -> RiskWeights:
    """Weights from a TOML file: the defaults, with whatever the file sets replaced."""
    if path is None:
        return default_weights()
    return default_weights().merged(read_weights_file(path), str(path))


def campaign_weights(session: Session, campaign: int | str, base: RiskWeights | None = None
                     ) -> RiskWeights:
    """The weights of a campaign (id or name): *base* (default: the defaults) + its overrides."""
    from sqlalchemy import select

    from store.models import Campaign

    row = None
    if isinstance(campaign, int) or str(campaign).isdigit():
        row = session.get(Campaign, int(campaign))
    if row is None:
        row = session.scalar(select(Campaign).where(Campaign.name == str(campaign)))
    if row is None:
        raise NotFound("risk_weights.no_campaign", campaign=_shown(campaign))
    return (base or default_weights()).merged(row.risk_weights or {}, f"campaign {row.name}")
