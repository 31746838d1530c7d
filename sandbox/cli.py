"""Command line: ``spotcheck sandbox serve|truth`` (mounted by the shell) or ``python -m sandbox``."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from sandbox.app import STYLES

app = typer.Typer(help="A synthetic cross-border marketplace (three platform styles) for demos and tests.",
                  no_args_is_help=True)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Base port: mall on P, spa on P+1, shop on P+2, feeds on P+3.")] = 8700,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 7,
    listings: Annotated[int, typer.Option(help="Number of listings on day 0.")] = 5000,
    day: Annotated[int, typer.Option(help="Initial clock day.")] = 0,
    host: Annotated[str, typer.Option(help="Interface to listen on (keep 127.0.0.1).")] = "127.0.0.1",
    obstacles: Annotated[bool, typer.Option(help="Random 5xx/slow/429 obstacles.")] = True,
) -> None:
    """Serve the sandbox until interrupted."""
    from sandbox.runner import Sandbox

    ports = {name: port + k for k, name in enumerate((*STYLES, "feeds"))}
    with Sandbox(seed=seed, listings=listings, day=day, obstacles=obstacles, host=host, ports=ports,
                 log_level="info") as sb:
        for name, url in sb.urls.items():
            typer.echo(f"{name:5} {url}")
        typer.echo(f"feeds {sb.feeds_url}  (CPSC: {sb.cpsc_url}, Safety Gate: {sb.safety_gate_url})")
        typer.echo("Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@app.command()
def truth(
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 7,
    day: Annotated[int, typer.Option(help="Clock day.")] = 0,
    listings: Annotated[int, typer.Option(help="Number of listings on day 0.")] = 5000,
    platform: Annotated[str | None, typer.Option(help="Only this style: mall, spa or shop.")] = None,
    port: Annotated[int | None, typer.Option(help="Base port of a served sandbox, for absolute URLs.")] = None,
    host: Annotated[str, typer.Option(help="Host of a served sandbox, for absolute URLs.")] = "127.0.0.1",
    indent: Annotated[int | None, typer.Option(help="Pretty-print with this indent.")] = None,
) -> None:
    """Print the ground truth as JSON (listings, sellers, notices, planted cases)."""
    from sandbox.truth import build_truth

    if platform is not None and platform not in STYLES:
        raise typer.BadParameter(f"platform must be one of {', '.join(STYLES)}")
    base_urls = {name: f"http://{host}:{port + k}" for k, name in enumerate(STYLES)} if port else None
    data = build_truth(seed, listings, day, platform=platform, base_urls=base_urls)
    json.dump(data, sys.stdout, ensure_ascii=False, indent=indent)
    sys.stdout.write("\n")


def main() -> None:
    app()
