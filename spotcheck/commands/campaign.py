"""``spotcheck campaign``: create and list spot-check campaigns (scope and sampling design).

The scheduler adds schedules to campaigns later; this module keeps to what a plan needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from sampler.campaign_scope import campaign_dict, create_campaign, get_campaign, list_campaigns
from sampler.risk.weights import read_weights_file
from spotcheck.context import current
from spotcheck.output import console, heading, print_json, said, say, table, yes_no
from store.errors import InvalidInput
from store.labels import label, text_label
from store.vocabulary import PlanStatus

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
    max_per_seller: int | None = typer.Option(None, "--max-per-seller", help="Most purchases from one seller in a plan."),
    exclude_bought_days: int | None = typer.Option(None, "--exclude-bought-days",
                                                   help="Leave out listings bought in the "
                                                   "last D days."),
    exclude_out_of_stock: bool = typer.Option(
        False, "--exclude-out-of-stock", help="Leave out listings last seen out of stock or "
        "discontinued."),
    take_all_failed: bool = typer.Option(
        False, "--take-all-failed-products", help="Buy every copy of a product that failed "
        "elsewhere (lab result, confirmed notice) with certainty, in a take-all stratum "
        "reported apart (spotcheck products)."),
    min_per_stratum: int = typer.Option(2, "--min-per-stratum", help="Fewest purchases in any stratum."),
    category: list[str] = typer.Option([], "--category", help="Listing category in scope "
                                       "(repeatable; none: all)."),
    team: str = typer.Option("", "--team", help="The owning sampling team."),
    floor_ratio: float = typer.Option(0.1, "--floor-ratio", help="Every listing keeps at "
                                      "least this share of the mean inclusion probability."),
    prior_rate: list[str] = typer.Option([], "--prior-rate", help="STRATUM=RATE, an expected "
                                         "non-compliance rate for Neyman allocation "
                                         "(repeatable)."),
    prn_shift: float = typer.Option(0.0, "--prn-shift", help="Shift of the permanent random "
                                    "numbers in [0, 1) for Pareto sampling: a shifted "
                                    "campaign avoids the listings an earlier one bought."),
    weights: Path | None = typer.Option(None, "--weights", help="Risk weights file (TOML, "
                                        "as for 'risk score --weights') for this campaign."),
    json_out: bool = JSON,
) -> None:
    """Create a campaign; its design is checked now so that drawing cannot fail on it later."""
    rates: dict[str, float] = {}
    for item in prior_rate:
        stratum, sep, value = item.rpartition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not stratum or not 0 < rate < 1:
            raise InvalidInput("campaign.prior_rate_give_stratum_rate", item=item)
        rates[stratum] = rate
    overrides = read_weights_file(weights) if weights is not None else None
    ctx = current()
    with ctx.db.session() as s:
        c = create_campaign(s, name, actor=ctx.actor(), platforms=platform, sectors=sector,
                            classes=klass, categories=category, n=n, budget=budget,
                            method=method, allocation=allocation, strata=strata or None,
                            max_per_seller=max_per_seller,
                            exclude_bought_days=exclude_bought_days,
                            min_per_stratum=min_per_stratum, floor_ratio=floor_ratio,
                            prior_rates=rates, team=team, prn_shift=prn_shift,
                            risk_weights=overrides,
                            exclude_out_of_stock=exclude_out_of_stock,
                            take_all_failed_products=take_all_failed)
        data = campaign_dict(c)
    if json_out:
        print_json(data)
    else:
        say("cli_said.campaign_created", id=data["id"], name=data["name"],
            sampling_method=method, allocation=allocation,
            size=said("cli_said.sample_size", n=n) if n is not None
            else said("cli_said.budget", budget=budget))


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
                          len(r["plans"])) for r in rows],
                        codes={"method": "sampling_method", "allocation": "allocation"}))


@app.command("show")
def show_cmd(campaign: str = typer.Argument(..., help="Campaign name or id."),
             json_out: bool = JSON) -> None:
    """Show a campaign's scope, design and plans."""
    with current().db.session() as s:
        data = campaign_dict(get_campaign(s, campaign))
    if json_out:
        print_json(data)
        return
    console.print("[bold]" + escape(said("cli_said.campaign_heading", id=data["id"],
                                         name=data["name"])) + "[/bold]")
    lang = current().reader_locale()
    for key, domain in (("scope", "scope_key"), ("design", "design_key")):
        # each setting by its label, its own name beside it (what campaign create takes)
        console.print(escape(f"{heading(key)}: " + ("；" if lang == "zh-CN" else "; ").join(
            f"{_name(domain, k, lang)} = {_setting(k, v, lang)}"
            for k, v in data[key].items() if v not in (None, [], {}))))
    say("cli_said.campaign_size_budget", n=data["sample_size"] or "—", budget=data["budget"] or "—")
    if data["plans"]:
        console.print(table("plans", ["id", "version", "status"],
                            [(p["id"], p["version"], p["status"]) for p in data["plans"]],
                            codes={"status": PlanStatus}))


def _name(domain: str, key: str, lang: str) -> str:
    """A setting's label with its own name beside it when they differ."""
    name = text_label(domain, key, lang)
    return key if name == key else f"{name} ({key})"


def _setting(key: str, value: Any, lang: str) -> str:
    """A scope or design setting's value as the reader reads it: codes by their labels,
    lists joined, switches yes/no."""
    from store.vocabulary import Sector, SupervisionClass

    domains: dict[str, Any] = {"sectors": Sector, "classes": SupervisionClass,
                               "method": "sampling_method", "allocation": "allocation",
                               "strata": "estimate_domain"}

    def one(v: Any) -> str:
        domain = domains.get(key)
        if isinstance(domain, str):
            return text_label(domain, str(v), lang)
        if domain is not None:
            return label(domain, str(v), lang)
        return str(v)

    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list | tuple):
        return ("、" if lang == "zh-CN" else ", ").join(one(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return one(value)


@app.command("schedule")
def schedule_cmd(
    campaign: str = typer.Argument(..., help="Campaign name or id."),
    crawl: str | None = typer.Option(None, "--crawl", help='Cron, e.g. "0 2 * * *".'),
    signals: str | None = typer.Option(None, "--signals",
                                       help="Cron for fetching new foreign notices (Safety "
                                            "Gate, CPSC, Health Canada)."),
    score: str | None = typer.Option(None, "--score", help="Cron for risk scoring."),
    draw: str | None = typer.Option(None, "--draw", help="Cron for drawing a plan."),
    purchase: str | None = typer.Option(None, "--purchase",
                                        help="Cron for creating purchase tasks."),
    buy: str | None = typer.Option(None, "--buy", help="Cron for placing due orders."),
    recapture: str | None = typer.Option(None, "--recapture", help="Cron for re-captures."),
    stats: str | None = typer.Option(None, "--stats", help='Cron, e.g. "0 6 1 1,7 *".'),
    timezone: str | None = typer.Option(None, "--timezone", help="Default Asia/Shanghai."),
    clear: list[str] = typer.Option([], "--clear", help="Remove a job kind's schedule."),
    period_start: str | None = typer.Option(None, "--period-start", help="YYYY-MM-DD"),
    period_end: str | None = typer.Option(None, "--period-end", help="YYYY-MM-DD"),
    status: str | None = typer.Option(None, "--status", help="active | paused | closed"),
    json_out: bool = JSON,
) -> None:
    """Set the campaign's schedules (cron per job kind), period and status."""
    import datetime as dt

    from scheduler.campaign_schedules import set_schedules
    from store.errors import InvalidInput

    def day(value: str | None) -> dt.date | None:
        try:
            return dt.date.fromisoformat(value) if value else None
        except ValueError as exc:
            raise InvalidInput("campaign.date_yyyy_mm_dd", value=value) from exc

    given = {"crawl": crawl, "signals": signals, "score": score, "draw": draw, "purchase": purchase, "buy": buy,
             "recapture": recapture, "stats": stats, "timezone": timezone}
    changes: dict[str, str | None] = {k: v for k, v in given.items() if v is not None}
    changes.update({k: None for k in clear})
    ctx = current()
    ctx.require("campaigns.schedule")
    with ctx.db.session() as s:
        data = set_schedules(s, get_campaign(s, campaign), changes, actor=ctx.actor(),
                             period_start=day(period_start), period_end=day(period_end),
                             status=status)
    if json_out:
        print_json(data)
        return
    console.print(table(f"{heading('schedules')}: {data['name']} "
                        f"({text_label('campaign_status', data['status'], current().reader_locale())})",
                        ["job", "cron"], sorted(data["schedules"].items()),
                        codes={"job": "job_kind"}))
