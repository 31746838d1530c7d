"""``spotcheck sample FRAME.csv``: draw a πps sample from any CSV frame.

A tool for statisticians that needs nothing else of spotcheck: read a frame, compute π
(proportional to a size column, within strata if asked), draw, write the sample with its π
and weight columns.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
import typer
from rich.markup import escape

from sampler import METHODS, Design, Frame, run_design
from spotcheck.output import err_console, print_json, said, say
from store.errors import InvalidInput, NotFound

MAX_ROWS = 20_000_000


def sample(
    frame: Path = typer.Argument(..., help="CSV file with a header row."),
    size: str | None = typer.Option(None, "--size", help="Size column (π ∝ size); "
                                    "none: equal probabilities."),
    n: int = typer.Option(..., "--n", help="Sample size."),
    strata: str | None = typer.Option(None, "--strata", help="Stratum column."),
    method: str = typer.Option("pivotal", "--method", help=f"One of {', '.join(METHODS)}."),
    allocation: str = typer.Option("proportional", "--allocation",
                                   help="proportional, neyman or risk (∝ Σ size)."),
    floor_ratio: float = typer.Option(0.0, "--floor-ratio", help="Minimum π as a fraction "
                                      "of the stratum's n_h/N_h."),
    min_per_stratum: int = typer.Option(2, "--min-per-stratum", help="Fewest units drawn in any stratum."),
    seed: int = typer.Option(..., "--seed", help="Random seed (same seed, same sample)."),
    out: Path | None = typer.Option(None, "--output", "-o", help="Output CSV (default stdout)."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary (with -o)."),
) -> None:
    """Draw a sample of N rows from FRAME.csv and write them with pi and weight columns."""
    if not frame.is_file():
        raise NotFound("sample.such_file", frame=frame)
    from sampler.textfile import read_text

    # A frame saved by Excel on a Chinese Windows machine is GBK: decode it, don't crash.
    with io.StringIO(read_text(frame), newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for col in (size, strata):
            if col and col not in header:
                raise InvalidInput("sample.column_columns", frame=frame, col=col,
                                   join_header=', '.join(header))
        rows: list[dict[str, str]] = []
        for line, row in enumerate(reader, start=2):
            if len(rows) >= MAX_ROWS:
                raise InvalidInput("sample.more_than_rows", frame=frame, MAX_ROWS=MAX_ROWS)
            if None in row:
                raise InvalidInput("sample.more_fields_than_header", frame=frame, line=line)
            rows.append(row)
    if not rows:
        raise InvalidInput("sample.data_rows", frame=frame)
    sizes = np.ones(len(rows))
    if size:
        try:
            sizes = np.array([float(r[size]) for r in rows])
        except (TypeError, ValueError) as exc:
            bad = next(i for i, r in enumerate(rows) if not _is_number(r[size]))
            raise InvalidInput("sample.column_number", frame=frame, bad_2=bad + 2, size=size,
                               rows_bad_size=rows[bad][size]) from exc
    labels = np.array([r[strata] if strata else "all" for r in rows], dtype=str)
    design = Design(method=method, allocation=allocation if strata else "proportional", n=n,
                    floor_ratio=floor_ratio, min_per_stratum=min_per_stratum if strata else 0)
    prn = np.random.default_rng(seed ^ 0x5EED).random(len(rows)) if method == "pareto" else None
    result = run_design(Frame(ids=np.arange(len(rows)), strata=labels, sizes=sizes, prn=prn),
                        design, np.random.default_rng(seed))
    fields = [*header, "pi", "weight"]
    fh_out = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        writer = csv.DictWriter(fh_out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for k in result.selected:
            writer.writerow({**rows[k], "pi": repr(float(result.pik[k])),
                             "weight": repr(1.0 / float(result.pik[k]))})
    finally:
        if out:
            fh_out.close()
    summary = {"frame": str(frame), "rows": len(rows), "n": int(result.selected.size),
               "method": method, "seed": seed,
               "allocation": {str(k): v for k, v in result.allocation.items()},
               "output": str(out) if out else None}
    if json_out and out:
        print_json(summary)
    elif out:
        say("cli_said.drew_to", n=summary["n"], rows=len(rows), method=method, seed=seed,
            path=out)
    else:
        err_console.print(escape(said("cli_said.drew", n=summary["n"], rows=len(rows),
                                      method=method, seed=seed)))


def _is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


#: A single command (``spotcheck sample FRAME.csv …``), not a group: it has no subcommands.
command = sample
