"""Shared by every benchmark: print figures and record them for ``bench/run``'s table.

A benchmark calls :func:`record` once per figure; the figures are printed as they come and
written to ``bench/results/<bench>.json`` at exit, which ``bench/run`` turns into one markdown
table.  Each figure carries its baseline measured in the same process, so the ratio means
something on whatever machine runs it.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
_rows: list[dict[str, Any]] = []
_name = Path(sys.argv[0]).stem


def record(metric: str, value: float, unit: str, *, baseline: float | None = None,
           baseline_label: str = "", target: str = "", higher_is_better: bool = True,
           ok: bool | None = None) -> None:
    """Print one figure (with its ratio to the baseline) and keep it for the table."""
    ratio = None
    if baseline:
        ratio = value / baseline if higher_is_better else baseline / value if value else None
    row = {"bench": _name, "metric": metric, "value": value, "unit": unit,
           "baseline": baseline, "baseline_label": baseline_label, "ratio": ratio,
           "target": target, "ok": ok}
    _rows.append(row)
    text = f"{metric}: {value:,.3f} {unit}"
    if baseline is not None:
        text += f"  (baseline {baseline_label}: {baseline:,.3f} {unit}"
        text += f", ratio {ratio:.2f})" if ratio is not None else ")"
    if target:
        text += f"  target {target}" + ("" if ok is None else (" ✓" if ok else " ✗"))
    print(text, flush=True)


def _write() -> None:
    if not _rows:
        return
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{os.environ.get('BENCH_NAME', _name)}.json"
    out.write_text(json.dumps(_rows, indent=2, ensure_ascii=False), encoding="utf-8")


atexit.register(_write)
