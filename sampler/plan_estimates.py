"""Non-compliance estimates of a plan: lab results → y, plan items → π, frame → N_h.

The pure statistics are in :mod:`sampler.estimation`; this module only gathers the data:
PlanItem → Purchase → Sample → LabResult (y = 1 when the lab says *fail*).

Items still without a result are treated as missing at random within their stratum: the
stratum's results carry the weight of the whole stratum (a weighting-class adjustment,
π*_k = π_k · r_h with r_h = Σ_results 1/π / Σ_items 1/π).  Strata without any result are
left out and listed, so the overall figures then cover only the strata that have results.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sampler.calibration import calibrate, category_matrix
from sampler.domains import DOMAIN_FIELDS, estimate_domains, poststratify
from sampler.estimation import RateEstimate, estimate
from sampler.replicates import REPLICATE_TYPES, bootstrap, jackknife, replicate_estimate
from store import messages
from store.errors import InvalidInput, NotFound
from store.models import (
    LabOutcome,
    LabResult,
    Listing,
    Plan,
    PlanItem,
    Platform,
    Purchase,
    Sample,
    Seller,
)
from store.settings import Settings

#: Choices of ``variance``; ``auto`` is ``wr`` for a seller-capped plan, else ``deville``.
PLAN_VARIANCES: tuple[str, ...] = ("auto", "deville", "hajek", "wr", "ht", "syg")
#: Controlled roundings used to estimate the capped design's cell-pair probabilities.
JOINT_REPS = 2000


#: One note on an estimate: ``{"code": "estimate_notes.summary", "params": {...}}``, read in
#: either language with :func:`note_text` (texts in store/messages.toml).
Note = dict[str, Any]


def note(name: str, **params: Any) -> Note:
    """A coded note on how an estimate was made (parameters plain JSON values)."""
    return {"code": f"estimate_notes.{name}", "params": params}


def note_text(item: Note, locale: str = "en") -> str:
    """The note in *locale*; parameters named after a label domain (``variance_method``,
    ``estimate_domain``) read as their labels."""
    return messages.render(item["code"], item["params"], locale)


def notes_in(est: Mapping[str, Any], locale: str) -> list[str]:
    """Every note of an :func:`estimate_plan` answer in *locale* (the console's estimates
    page, the reports, the CLI)."""
    return [note_text(n, locale) for n in est.get("note_codes", ())]


def is_seller_capped(plan: Plan) -> bool:
    """Whether the plan's draw went through the seller-cap scheme with cells that matter."""
    cap = (plan.parameters or {}).get("seller_cap") or {}
    return bool(cap.get("sellers_that_could_exceed"))


def plan_joint(plan: Plan, items: list[PlanItem], settings: Settings,
               reps: int = JOINT_REPS) -> tuple[np.ndarray, Note, str]:
    """(π_kl of *items*, how they were obtained as a :func:`note`, scope) from the plan's
    frozen frame.

    Seller-capped plans: :func:`sampler.seller_cap.capped_joint` (within cells the method's
    joint π, cell pairs from *reps* roundings of the plan's own table, seeded by the plan's
    seed so the estimate is reproducible), scope ``design``.  Otherwise strata are
    independent: Sampford exact, SRS exact, the others Brewer's approximation, scope
    ``strata``.
    """
    from sampler.joint import brewer_joint, sampford_joint
    from sampler.registration import frame_pi
    from sampler.seller_cap import capped_joint

    frame, pik_all, _alloc = frame_pi(plan, settings)
    where = {int(i): k for k, i in enumerate(frame.ids.tolist())}
    try:
        idx = np.array([where[it.listing_id] for it in items], dtype=np.intp)
    except KeyError as exc:
        raise InvalidInput("plan_estimates.listing_plan_frozen_frame", exc=exc) from exc
    if is_seller_capped(plan) and frame.sellers is not None:
        limit = int((plan.parameters or {})["seller_cap"]["max_per_seller"])
        cj = capped_joint(pik_all, frame.strata, frame.sellers, limit, plan.method, idx,
                          np.random.default_rng(plan.seed), reps=reps)
        return cj.matrix, note("joint_capped" if cj.matrix.min() > 0 else "joint_capped_zero",
                               joint_method=cj.within.split(" + "), reps=cj.rounding_reps,
                               se=cj.rounding_se), "design"
    out = np.zeros((idx.size, idx.size))
    how: set[str] = set()
    strata = np.asarray(frame.strata)
    for h in np.unique(strata[idx]).tolist():
        rows = np.flatnonzero(strata[idx] == h)
        units = np.flatnonzero(strata == h)
        p_h = pik_all[units]
        pos = np.searchsorted(units, idx[rows])
        n_h = round(float(p_h[p_h < 1 - 1e-9].sum()))
        if plan.method == "sampford":
            try:
                out[np.ix_(rows, rows)] = sampford_joint(p_h, pos)
                how.add("sampford exact")
                continue
            except InvalidInput:
                pass
        out[np.ix_(rows, rows)] = brewer_joint(p_h[pos], n=n_h)
        how.add("srs exact" if plan.method == "srs" else "Brewer approximation")
    return out, note("joint_strata", joint_method=sorted(how)), "strata"


def plan_outcomes(session: Session, plan_id: int) -> dict[int, int]:
    """plan item id → 1 (fail) / 0 (pass), from the newest lab result of each item."""
    rows = session.execute(
        select(PlanItem.id, LabResult.outcome, LabResult.reported_at)
        .join(Purchase, Purchase.plan_item_id == PlanItem.id)
        .join(Sample, Sample.purchase_id == Purchase.id)
        .join(LabResult, LabResult.sample_id == Sample.id)
        .where(PlanItem.plan_id == plan_id)
        .order_by(LabResult.reported_at, LabResult.id))
    out: dict[int, int] = {}
    for item_id, outcome, _ in rows:
        out[item_id] = 1 if outcome == LabOutcome.FAIL else 0
    return out


def estimate_plan(session: Session, plan_id: int, confidence: float = 0.95, *,
                  interval: str = "beta", variance: str = "auto",
                  lonely: str = "bound", by: str | None = None,
                  post_stratify: str | None = None,
                  calibrate_to: Sequence[str] | None = None, calfun: str = "linear",
                  replicates: str | None = None, replicate_reps: int = 500,
                  joint_reps: int = JOINT_REPS,
                  settings: Settings | None = None) -> dict[str, Any]:
    """HT and Hájek rate and count of non-compliance, by stratum and overall.

    *by* (one of :data:`~sampler.domains.DOMAIN_FIELDS`: platform, sector, origin,
    seller-network) adds ``"by_domain": {"field", "domains": [RateEstimate dict, …]}``,
    domains estimated over the whole design (:func:`sampler.domains.estimate_domains`).
    With *settings* the plan's frozen frame is read and each domain's frame count N_d is
    known, so the domain's HT rate is t̂_d/N_d.  *post_stratify* (a domain field, needs
    *settings*) adds ``"post_stratified"``: the overall rate with weights scaled to the
    frame's counts per value of that field (:func:`sampler.domains.poststratify`).

    *calibrate_to* (domain fields, needs *settings*) adds ``"calibrated"``: weights
    calibrated (*calfun* ``linear`` or ``raking``, :mod:`sampler.calibration`, R
    ``calibrate``) to the frame's counts of every level of each field.  *replicates*
    (``jkn`` or ``bootstrap`` with *replicate_reps* replicates, seeded by the plan's seed)
    adds ``"replicates"``: the rate with replicate-weight variance
    (:mod:`sampler.replicates`, R ``as.svrepdesign``); certainty items form a stratum taken
    whole.

    *interval*, *lonely*: see :func:`sampler.estimation.estimate`.  *variance*: one of
    :data:`PLAN_VARIANCES`; ``auto`` takes ``wr`` for a seller-capped plan (its design has
    pairs that are never drawn together, so HT/SYG and Deville run low; measured in
    ``tests/sampler/test_capped_joint.py``) and ``deville`` otherwise; ``ht``/``syg`` use the
    joint π of :func:`plan_joint` (needs *settings*: the frozen frame; *joint_reps*
    roundings for a seller-capped plan's cell pairs).  The answer names the
    variance actually used and how its joint π were obtained.
    Returns ``{"plan", "confidence", "interval", "variance", "lonely", "items", "results",
    "pending", "failures",
    "adjusted_for_pending", "strata_without_results", "overall", "by_stratum", "notes"}``;
    ``overall`` and each ``by_stratum`` entry are :class:`~sampler.estimation.RateEstimate`
    dictionaries.  Raises :class:`~store.errors.InvalidInput` when no result exists yet.
    """
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("plan_estimates.plan", plan_id=plan_id)
    asked = variance
    variance, capped = _resolve_variance(plan, variance, settings)
    outcomes = plan_outcomes(session, plan_id)
    sizes: dict[str, int] = (plan.parameters or {}).get("stratum_sizes", {})
    _check_options(by, post_stratify, calibrate_to, replicates, settings)
    resp = responses(plan, outcomes)
    if not resp.y:
        raise InvalidInput("plan_estimates.plan_has_lab_result_yet", plan_id=plan_id)
    joint, joint_note, scope = _response_joint(plan, resp, variance, settings, joint_reps)
    result = estimate(np.array(resp.y), np.array(resp.pik), strata=np.array(resp.labels),
                      population_sizes={h: float(sizes[h]) for h in sizes},
                      confidence=confidence, interval=interval, variance=variance,
                      lonely=lonely, joint=joint, joint_scope=scope)
    notes = _design_notes(result.overall, asked, variance, capped, interval, lonely,
                          joint_note, resp)
    out: dict[str, Any] = {
        "plan": plan.id, "campaign": plan.campaign.name, "version": plan.version,
        "confidence": confidence, "interval": interval, "variance": variance,
        "variance_requested": asked, "seller_capped": capped,
        "joint": note_text(joint_note, "en") if joint_note else None,
        "lonely": lonely, "items": len(plan.items), "results": len(resp.y),
        "pending": len(plan.items) - len(resp.y), "failures": int(sum(resp.y)),
        "adjusted_for_pending": resp.adjusted, "strata_without_results": resp.without,
        "overall": result.overall.as_dict(),
        "by_stratum": [e.as_dict() for e in result.by_stratum], "note_codes": notes}
    dvar = variance if variance in ("hajek", "wr") else "deville"
    if (by is not None or post_stratify is not None) and dvar != variance:
        notes.append(note("domains_variance", variance_method=dvar))
    if by is not None:
        out["by_domain"] = _by_domain(session, plan, resp, by, settings, confidence,
                                      interval, dvar, notes)
    if post_stratify is not None and settings is not None:
        out["post_stratified"] = _post_stratified(session, plan, resp, post_stratify,
                                                  settings, confidence, interval, dvar, notes)
    if calibrate_to and settings is not None:
        out["calibrated"] = _calibrated(session, plan, resp.used, resp.y, resp.pik,
                                        resp.labels, calibrate_to, calfun, settings,
                                        confidence, interval, dvar, notes)
    if replicates is not None:
        out["replicates"] = _replicated(plan, resp.used, resp.y, resp.pik, resp.labels,
                                        sizes, replicates, replicate_reps, confidence,
                                        interval, notes)
    out["notes"] = [note_text(n, "en") for n in notes]  # the English text, for JSON readers
    return out


def _resolve_variance(plan: Plan, variance: str, settings: Settings | None,
                      ) -> tuple[str, bool]:
    """(the variance to use, whether the plan is seller-capped).

    ``auto`` is resolved here because the right default depends on the design: a capped
    draw has pairs never drawn together, so only ``wr`` stays honest for it.  ``ht``/``syg``
    need the frozen frame (*settings*) for their joint π, so they are refused early.
    """
    if variance not in PLAN_VARIANCES:
        raise InvalidInput("plan_estimates.unknown_variance_choose_one", variance=variance,
                           join_plan_variances=', '.join(PLAN_VARIANCES))
    capped = is_seller_capped(plan)
    if variance == "auto":
        variance = "wr" if capped else "deville"
    if variance in ("ht", "syg") and settings is None:
        raise InvalidInput("plan_estimates.variance_needs_plan_s_frame", variance=variance)
    return variance, capped


def _check_options(by: str | None, post_stratify: str | None,
                   calibrate_to: Sequence[str] | None, replicates: str | None,
                   settings: Settings | None) -> None:
    """Refuse unknown domain fields and replicate types, and the options that need the
    frozen frame when no *settings* are given, before any estimate is computed (a request
    fails whole rather than answering half of what was asked)."""
    for field_ in (by, post_stratify, *(calibrate_to or ())):
        if field_ is not None and field_ not in DOMAIN_FIELDS:
            raise InvalidInput("plan_estimates.unknown_domain_choose_one", field_=field_,
                               join_domain_fields=', '.join(DOMAIN_FIELDS))
    if calibrate_to and settings is None:
        raise InvalidInput("plan_estimates.calibration_needs_plan_s_frame")
    if replicates is not None and replicates not in REPLICATE_TYPES:
        raise InvalidInput("plan_estimates.unknown_replicates_choose_one", replicates=replicates,
                           join_replicate_types=', '.join(REPLICATE_TYPES))
    if post_stratify is not None and settings is None:
        raise InvalidInput("plan_estimates.post_stratification_needs_plan_s")


@dataclass
class Responses:
    """The items with a lab result, in stratum order, with what every estimator needs:
    y (1 = fail), the response-adjusted π*, the stratum label; plus the strata left out
    (no result at all) and whether any stratum was weighted up for pending items."""

    used: list[PlanItem] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    pik: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    adjusted: bool = False


def responses(plan: Plan, outcomes: Mapping[int, int]) -> Responses:
    """The plan's responding items with π*_k = π_k · r_h (the weighting-class adjustment of
    the module docstring): pending items are taken as missing at random within their
    stratum, so the stratum's results carry its whole weight."""
    by_stratum: dict[str, list[PlanItem]] = defaultdict(list)
    for it in plan.items:
        by_stratum[it.stratum].append(it)
    resp = Responses()
    for stratum, items in sorted(by_stratum.items()):
        done = [it for it in items if it.id in outcomes]
        if not done:
            resp.without.append(stratum)
            continue
        w_all = sum(1.0 / it.inclusion_probability for it in items)
        w_done = sum(1.0 / it.inclusion_probability for it in done)
        r = w_done / w_all
        resp.adjusted = resp.adjusted or len(done) < len(items)
        for it in done:
            resp.y.append(float(outcomes[it.id]))
            resp.pik.append(it.inclusion_probability * r)
            resp.labels.append(stratum)
            resp.used.append(it)
    return resp


def _response_joint(plan: Plan, resp: Responses, variance: str, settings: Settings | None,
                    joint_reps: int) -> tuple[np.ndarray | None, Note | None, str]:
    """(joint π* of the responding items, how they were obtained, scope) for ``ht``/``syg``;
    (None, None, "strata") for the variances that need none.

    The design's π_kl come from :func:`plan_joint`; response is taken as independent within
    strata, so π*_kl = π_kl r_k r_l, with π*_k on the diagonal.
    """
    if variance not in ("ht", "syg") or settings is None:
        return None, None, "strata"
    joint, joint_note, scope = plan_joint(plan, resp.used, settings, joint_reps)
    ratio = np.array(resp.pik) / np.array([it.inclusion_probability for it in resp.used])
    joint = joint * np.outer(ratio, ratio)
    np.fill_diagonal(joint, np.array(resp.pik))
    return joint, joint_note, scope


def _variance_used(said: str, chosen: str) -> tuple[str, list[Note]]:
    """(the variance's code, notes on what qualifies it) from the variance an estimate says
    it used ("wr+lonely-bound", "syg (joint π across strata) (negative estimate set to 0)"):
    a person reads the method by its label and each qualifier as a sentence, never the
    estimator's own text (which ``--json`` keeps)."""
    from sampler.estimation import JOINT_ACROSS, NEGATIVE_ZERO
    from store.labels import TEXT_LABELS

    qualifiers: list[Note] = []
    if NEGATIVE_ZERO in said:
        said = said.replace(NEGATIVE_ZERO, "")
        qualifiers.append(note("variance_negative_zero"))
    if JOINT_ACROSS in said:
        said = said.replace(JOINT_ACROSS, "")
        qualifiers.append(note("variance_joint_design"))
    said, lonely, how = said.partition("+lonely-")
    if lonely:
        qualifiers.append(note("lonely_strata_present", lonely_stratum=how))
    return (said if said in TEXT_LABELS["variance_method"] else chosen), qualifiers


def _interval_used(said: str, chosen: str) -> str:
    """The interval's code from the one an estimate says it used: itself when labelled
    ("beta, p̂=0: n*=n/deff_Kish"), the method a logit interval fell back to
    ("logit→beta, …"), else the one chosen."""
    from store.labels import TEXT_LABELS

    for code in (said, said.rpartition("→")[2]):
        if code in TEXT_LABELS["interval_method"]:
            return code
    return chosen


def _design_notes(overall: RateEstimate, asked: str, variance: str, capped: bool, interval: str,
                  lonely: str, joint_note: Note | None, resp: Responses) -> list[Note]:
    """The notes that say how the overall estimate was made: estimator, variance and
    interval, why ``auto`` chose what it chose (or that the chosen variance runs low on a
    capped design), the joint π, the weighting-up for pending items, the strata left out."""
    used, qualifiers = _variance_used(overall.variance_method, variance)
    notes = [note("design", estimator=overall.estimator, variance_method=used,
                  interval_method=_interval_used(overall.interval_method, interval),
                  df=overall.df, lonely_stratum=lonely), *qualifiers]
    if asked == "auto":
        notes.append(note("auto_wr_capped" if capped else "auto_deville", variance_method=variance))
    elif capped and variance in ("deville", "hajek"):
        notes.append(note("capped_runs_low", variance_method=variance))
    if joint_note:
        notes.append(joint_note)
    if resp.adjusted:
        notes.append(note("pending_weighted_up"))
    if resp.without:
        notes.append(note("strata_without_results", count=len(resp.without)))
    return notes


def _by_domain(session: Session, plan: Plan, resp: Responses, by: str,
               settings: Settings | None, confidence: float, interval: str, variance: str,
               notes: list[Note]) -> dict[str, Any]:
    """Rates per value of the domain field *by*, over the whole design; with *settings*
    each domain's frame count N_d is read from the frozen frame so its HT rate is t̂_d/N_d."""
    values = [domain_value(it.listing, by) for it in resp.used]
    sizes_d = frame_counts(session, plan, by, settings) if settings is not None else None
    domains = estimate_domains(np.array(resp.y), np.array(resp.pik), np.array(values),
                               strata=np.array(resp.labels), domain_sizes=sizes_d,
                               confidence=confidence, interval=interval, variance=variance)
    notes.append(note("domains_by_counts" if sizes_d else "domains_by", estimate_domain=by))
    return {"field": by, "domains": [e.as_dict() for e in domains]}


def _post_stratified(session: Session, plan: Plan, resp: Responses, post_stratify: str,
                     settings: Settings, confidence: float, interval: str, variance: str,
                     notes: list[Note]) -> dict[str, Any]:
    """The overall rate with weights scaled to the frozen frame's counts per value of
    *post_stratify*; responding items in a value the frame lacks are left out (no count to
    scale to)."""
    counts = frame_counts(session, plan, post_stratify, settings)
    post = [domain_value(it.listing, post_stratify) for it in resp.used]
    kept = [k for k, v in enumerate(post) if counts.get(v)]
    ps = poststratify(np.array(resp.y)[kept], np.array(resp.pik)[kept], np.array(post)[kept],
                      counts, strata=np.array(resp.labels)[kept], confidence=confidence,
                      interval=interval, variance=variance)
    notes.append(note("post_stratified", estimate_domain=post_stratify))
    return {"field": post_stratify, "counts": counts, "estimate": ps.as_dict()}


def _calibrated(session: Session, plan: Plan, used: list[PlanItem], y: list[float],
                pik: list[float], labels: list[str], fields: Sequence[str], calfun: str,
                settings: Settings, confidence: float, interval: str, variance: str,
                notes: list[Note]) -> dict[str, Any]:
    counts = {f: frame_counts(session, plan, f, settings) for f in fields}
    values = {f: np.array([domain_value(it.listing, f) for it in used]) for f in fields}
    X, totals, names, dropped = category_matrix(values, counts)
    first = values[fields[0]]
    keep = np.isin(first, [n.split("=", 1)[1] for n in names if n.startswith(f"{fields[0]}=")])
    population = float(sum(counts[fields[0]][v] for v in np.unique(first[keep])))
    res = calibrate(np.array(y)[keep], np.array(pik)[keep], X[keep], totals,
                    strata=np.array(labels)[keep], method=calfun, population=population,
                    confidence=confidence, interval=interval, variance=variance)
    notes.append(note("calibrated", calfun=calfun, estimate_domain=list(fields)))
    if dropped:
        notes.append(note("calibration_levels_dropped", levels=", ".join(dropped)))
    return {"fields": list(fields), "calfun": calfun, "columns": names,
            "totals": totals.tolist(), "dropped_levels": dropped, **res.as_dict()}


def _replicated(plan: Plan, used: list[PlanItem], y: list[float], pik: list[float],
                labels: list[str], sizes: dict[str, int], kind: str, reps: int,
                confidence: float, interval: str, notes: list[Note]) -> dict[str, Any]:
    p = np.array(pik)
    strata = np.array([("~certainty" if pk >= 1 - 1e-9 else h)
                       for h, pk in zip(labels, pik, strict=True)])
    pop = {h: float(v) for h, v in sizes.items()}
    pop["~certainty"] = float(np.sum(strata == "~certainty"))
    rep = (jackknife(strata, pop) if kind == "jkn"
           else bootstrap(strata, reps, np.random.default_rng(plan.seed), pop))
    est = replicate_estimate(np.array(y), p, rep, population=float(sum(sizes.values())),
                             confidence=confidence, interval=interval)
    notes.append(note("replicates_bootstrap" if kind == "bootstrap" else "replicates_jkn",
                      count=int(rep.factors.shape[1])))
    if rep.lonely:
        notes.append(note("replicates_lonely", strata=", ".join(rep.lonely)))
    return {"type": kind, "replicates": int(rep.factors.shape[1]),
            "estimate": est.as_dict()}


def frame_counts(session: Session, plan: Plan, field: str, settings: Settings,
                 ) -> dict[str, float]:
    """How many listings of the plan's frozen frame fall in each value of *field*."""
    from sampler.frame import load_frame_bytes

    text = load_frame_bytes(settings, plan.frame_sha256).decode("utf-8")
    ids = [int(r["listing_id"]) for r in csv.DictReader(io.StringIO(text))]
    counts: dict[str, float] = defaultdict(float)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        rows = session.execute(
            select(Listing.id, Platform.code, Listing.sector, Listing.origin,
                   Listing.seller_id, Seller.cluster_id)
            .join(Platform, Platform.id == Listing.platform_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id)
            .where(Listing.id.in_(chunk)))
        for _id, platform, sector, origin, seller_id, cluster in rows:
            counts[_value(field, platform, sector, origin, seller_id, cluster)] += 1.0
    return dict(counts)


def _value(field: str, platform: Any, sector: Any, origin: str | None,
           seller_id: int | None, cluster: str | None) -> str:
    if field == "platform":
        return str(platform)
    if field == "sector":
        return str(getattr(sector, "value", sector))
    if field == "origin":
        return origin or "unknown"
    if seller_id is None:
        return "no-seller"
    return cluster or f"seller:{seller_id}"


def domain_value(listing: Listing, field: str) -> str:
    """The domain label of a listing: platform code, sector, origin, seller network (a
    seller in no network is a network of its own)."""
    seller = listing.seller
    return _value(field, listing.platform.code, listing.sector, listing.origin,
                  listing.seller_id, None if seller is None else seller.cluster_id)
