"""``spotcheck campaign``: create and list spot-check campaigns (scope and sampling design).

The scheduler adds schedules to campaigns later; this module keeps to what a plan needs.
"""

from __future__ import annotations

import typer

from sampler.campaigns import campaign_dict, create_campaign, get_campaign, list_campaigns
from spotcheck.context import current
from spotcheck.output import console, print_json, table

app = typer.Typer(help="Spot-check campaigns: scope and sampling design.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Machine-readable output.")


@app.command("create")
def create_cmd(
    name: str = typer.Argument(..., help="Unique campaign name."),
    platform: list[str] = typer.Option([], "--platform", help="Platform code (repeatable; "
                                       "none: all)."),
    sector: list[str] = typer.Option([], "--sector", help="light_industry, textiles, "
                                     "electrical, other (repeatable)."),
    klass: list[str] = typer.Option([], "--class", help="Supervision class key or general "
                                    "(repeatable; prohibited never)."),
    n: int | None = typer.Option(None, "--n", help="Sample size."),
    budget: str | None = typer.Option(None, "--budget", help="Budget in CNY (instead of --n): "
                                      "the expected cost stays within it."),
    method: str = typer.Option("pivotal", "--method", help="systematic, pivotal, sampford, "
                               "brewer, pareto or srs."),
    allocation: str = typer.Option("risk", "--allocation", help="proportional, neyman or risk."),
    strata: list[str] = typer.Option([], "--strata", help="Stratum field (repeatable; default "
                                     "platform and sector)."),
    max_per_seller: int | None = typer.Option(None, "--max-per-seller"),
    exclude_bought_days: int | None = typer.Option(None, "--exclude-bought-days",
                                                   help="Leave out listings bought in the "
                                                   "last D days."),
    min_per_stratum: int = typer.Option(2, "--min-per-stratum"),
    json_out: bool = JSON,
) -> None:
    """Create a campaign; its design is checked now so that drawing cannot fail on it later."""
    ctx = current()
    with ctx.db.session() as s:
        c = create_campaign(s, name, actor=ctx.actor(), platforms=platform, sectors=sector,
                            classes=klass, n=n, budget=budget, method=method,
                            allocation=allocation, strata=strata or None,
                            max_per_seller=max_per_seller,
                            exclude_bought_days=exclude_bought_days,
                            min_per_stratum=min_per_stratum)
        data = campaign_dict(c)
    if json_out:
        print_json(data)
    else:
        console.print(f"campaign {data['id']} {data['name']!r} created "
                      f"({method}, {allocation}, "
                      f"{'n=' + str(n) if n is not None else 'budget ' + str(budget)})")


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """List campaigns."""
    with current().db.session() as s:
        rows = [campaign_dict(c) for c in list_campaigns(s)]
    if json_out:
        print_json(rows)
        return
    console.print(table("campaigns", ["id", "name", "n", "budget", "method", "allocation",
                                      "plans"],
                        [(r["id"], r["name"], r["sample_size"], r["budget"],
                          r["design"].get("method"), r["design"].get("allocation"),
                          len(r["plans"])) for r in rows]))


@app.command("show")
def show_cmd(campaign: str = typer.Argument(..., help="Campaign name or id."),
             json_out: bool = JSON) -> None:
    """Show a campaign's scope, design and plans."""
    with current().db.session() as s:
        data = campaign_dict(get_campaign(s, campaign))
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]campaign {data['id']}[/bold] {data['name']}")
    for key in ("scope", "design"):
        console.print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in data[key].items()
                                             if v not in (None, [], {})))
    console.print(f"sample size {data['sample_size'] or '—'}, budget {data['budget'] or '—'}")
    if data["plans"]:
        console.print(table("plans", ["id", "version", "status"],
                            [(p["id"], p["version"], p["status"]) for p in data["plans"]]))
