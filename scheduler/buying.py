"""Covert purchases through a real browser: sign in as the persona, add to cart, check out.

:func:`buy` drives Chromium (Playwright) through a platform's checkout with the persona's
account, records the order number and the price paid, and captures the listing at purchase
time and the order confirmation page after it as evidence (``evidence.capture`` with the
persona's logged-in browser context).  The steps are data (:class:`CheckoutProfile`, from
``Platform.profile["checkout"]``); the sandbox's is shipped.

A batch of orders (:func:`buy_many`, the scheduler's buy job) shares one Chromium and gives
each order a fresh browser context: the personas are as isolated as with a browser each (no
cookie, cart or storage crosses from one order to the next) without a launch per order.

**At most once.**  A duplicated covert purchase costs real money, so before the browser starts
an attempt is *claimed* with a unique ``job_run`` row ``buy:<purchase key>:<attempt>``; a
second buyer (another scheduler, a retry) finds the claim and stops.  The attempt records its
stage before the irreversible click on "place order": an attempt that failed *before* it may
be retried (the next attempt number); one that died *after* it (or whose process was killed)
is uncertain — the order may exist — and blocks further attempts until a person has checked
the persona's orders on the platform and released it (:func:`release_attempt`), or recorded
the order by hand (``spotcheck purchase ordered``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urljoin

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from scheduler import purchases
from scheduler.page_reading import read_availability
from scheduler.personas import PersonaSecrets, secrets_of
from store.db import Database
from store.errors import Conflict, InvalidInput, NotFound, SpotcheckError
from store.models import JobRun, Platform, Purchase, PurchaseStatus, utcnow
from store.settings import Settings
from store.vocabulary import UNBUYABLE, Availability

log = logging.getLogger("spotcheck.scheduler.buying")
JOB_RUNS = cast(Table, JobRun.__table__)


@dataclass(frozen=True)
class CheckoutProfile:
    """CSS selectors and paths of one platform's purchase flow (the sandbox's by default)."""

    add_to_cart: str = "#add-to-cart"
    #: The platform's cookie-consent "accept" button: a covert buyer accepts it as a
    #: consumer would (an overlay left open intercepts every click on the page).
    consent_accept: str = "#consent-accept"
    login_path: str = "/login?next=/checkout"
    account_field: str = "#account"
    password_field: str = "#password"
    login_submit: str = "#login-submit"
    checkout_path: str = "/checkout"
    name_field: str = "#ship-name"
    phone_field: str = "#ship-phone"
    address_field: str = "#ship-address"
    payment_field: str = "#payment-ref"
    place_order: str = "#place-order"
    order_number: str = "#order-no"
    price_paid: str = "#order-paid"
    price_attr: str = "data-amount"
    currency_attr: str = "data-currency"
    #: Seconds each step may take.
    step_timeout: float = 20.0

    @classmethod
    def for_platform(cls, platform: Platform) -> CheckoutProfile:
        data = (platform.profile or {}).get("checkout") or {}
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidInput("buying.platform_unknown_checkout_keys",
                               platform_code=platform.code,
                               join_sorted_unknown=', '.join(sorted(unknown)))
        return cls(**data)


@dataclass
class BuyResult:
    purchase_id: int
    status: str
    order_number: str | None = None
    price_paid: Decimal | None = None
    currency: str | None = None
    listing_capture_id: int | None = None
    order_capture_id: int | None = None
    attempt: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["price_paid"] = str(self.price_paid) if self.price_paid is not None else None
        return d


class CheckoutFailed(SpotcheckError):
    """The platform refused or the flow broke before the order was placed (safe to retry)."""


class NotAvailable(CheckoutFailed):
    """The listing page says the item cannot be bought now (out of stock, discontinued)."""


def unbuyable_availability(html: str, url: str) -> str | None:
    """``out_of_stock`` or ``discontinued`` when the listing page at *url* says so, else None
    (a page that says nothing is tried: the add-to-cart step decides).

    Read as the crawl reads a page's availability (crawlers.extract: schema.org markup, then
    visible cues such as a stock note or a disabled buy button in the shop's language), so
    a page the crawl would record as sold out is not bought as if it were in stock."""
    state = read_availability(html, url)["availability"]
    return state if state in {a.value for a in UNBUYABLE} else None


class CheckoutUncertain(SpotcheckError):
    """The flow broke after "place order" was clicked: the order may exist."""

    exit_code = 4


# --- claims -----------------------------------------------------------------------------------


def _attempt_prefix(p: Purchase) -> str:
    return f"buy:{p.idempotency_key}:"


def _claim(db: Database, p: Purchase, holder: str) -> str:
    """Claim the next attempt, or raise Conflict when an order may already exist."""
    t = JOB_RUNS
    prefix = _attempt_prefix(p)
    with db.engine.connect() as conn:
        rows = list(conn.execute(select(t.c.key, t.c.outcome, t.c.result, t.c.started_at)
                                 .where(t.c.key.like(prefix + "%"))))
    for r in rows:
        if r.outcome == "running":
            raise Conflict("buying.purchase_checkout_attempt_started_has", p_id=p.id, r_key=r.key,
                           r_started_at=r.started_at)
        if r.outcome == "ok":
            raise Conflict("buying.purchase_was_already_ordered", p_id=p.id, r_key=r.key)
        if r.outcome == "error" and not (r.result or {}).get("safe_to_retry"):
            raise Conflict("buying.purchase_attempt_failed_after_order", p_id=p.id, r_key=r.key)
    key = f"{prefix}{len(rows) + 1}"
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(t).values(key=key, job="buy", holder=holder, outcome="running",
                                          started_at=utcnow(), attempts=1,
                                          result={"stage": "claimed", "purchase_id": p.id}))
    except IntegrityError as exc:
        raise Conflict("buying.purchase_being_bought_another_process", p_id=p.id) \
            from exc
    return key


def _stage(db: Database, key: str, stage: str, **extra: Any) -> None:
    t = JOB_RUNS
    with db.engine.begin() as conn:
        conn.execute(update(t).where(t.c.key == key)
                     .values(result={"stage": stage, **extra}))


def _finish(db: Database, key: str, outcome: str, result: dict[str, Any],
            error: str | None = None) -> None:
    t = JOB_RUNS
    with db.engine.begin() as conn:
        conn.execute(update(t).where(t.c.key == key).values(
            outcome=outcome, finished_at=utcnow(), result=result,
            error=error[-2000:] if error else None))


def release_attempt(db: Database, purchase_id: int, reason: str, *, actor: str) -> list[str]:
    """After a person checked the platform: mark uncertain attempts released (retry allowed)."""
    if not reason.strip():
        raise InvalidInput("buying.releasing_checkout_attempt_needs_reason")
    with db.session() as s:
        p = purchases.get_purchase(s, purchase_id)
        prefix = _attempt_prefix(p)
    t = JOB_RUNS
    released = []
    with db.engine.begin() as conn:
        for r in conn.execute(select(t.c.key, t.c.outcome, t.c.result)
                              .where(t.c.key.like(prefix + "%"))):
            if r.outcome == "running" or (r.outcome == "error" and
                                          not (r.result or {}).get("safe_to_retry")):
                conn.execute(update(t).where(t.c.key == r.key).values(
                    outcome="released", finished_at=utcnow(),
                    result={**(r.result or {}), "released_by": actor,
                            "released_because": reason[:500], "safe_to_retry": True}))
                released.append(r.key)
    return released


# --- the browser flow -------------------------------------------------------------------------


@dataclass
class _Job:
    purchase_id: int
    listing_id: int
    listing_url: str
    base_url: str
    persona_id: int
    profile: CheckoutProfile
    secrets: PersonaSecrets = field(repr=False)


async def _checkout(page: Any, job: _Job, on_submit: Any) -> tuple[str, Decimal | None,
                                                                     str | None, str]:
    """Drive the flow in *page*; returns (order number, price paid, currency, order URL)."""
    prof = job.profile
    ms = prof.step_timeout * 1000
    resp = await page.goto(job.listing_url, wait_until="domcontentloaded", timeout=ms)
    if resp is not None and resp.status >= 400:
        raise CheckoutFailed("buying.listing_page_answered_http", resp_status=resp.status)
    state = unbuyable_availability(await page.content(), page.url)
    if state is not None:
        raise NotAvailable("buying.listing_page_says", state=Availability(state))
    button = page.locator(prof.add_to_cart).first
    try:
        await button.wait_for(state="visible", timeout=ms)
    except Exception as exc:
        raise CheckoutFailed("buying.add_cart_button_listing_page") from exc
    consent = page.locator(prof.consent_accept).first
    if await consent.count() and await consent.is_visible():
        await consent.click(timeout=ms)
        await consent.wait_for(state="hidden", timeout=ms)
    try:
        async with page.expect_navigation(wait_until="domcontentloaded", timeout=ms) as nav:
            await button.click(timeout=ms)
        cart = await nav.value
    except Exception as exc:  # nothing was ordered yet: safe to retry
        raise CheckoutFailed("buying.could_add_item_cart", error_type=type(exc).__name__
                             ) from exc
    if cart is not None and cart.status >= 400:
        raise CheckoutFailed("buying.adding_cart_refused_http_item", cart_status=cart.status)
    await page.goto(urljoin(job.base_url, prof.login_path), wait_until="domcontentloaded",
                    timeout=ms)
    if await page.locator(prof.account_field).count():
        await page.fill(prof.account_field, job.secrets.account, timeout=ms)
        await page.fill(prof.password_field, job.secrets.password or "", timeout=ms)
        async with page.expect_navigation(wait_until="domcontentloaded", timeout=ms):
            await page.click(prof.login_submit, timeout=ms)
    if not await page.locator(prof.place_order).count():
        await page.goto(urljoin(job.base_url, prof.checkout_path),
                        wait_until="domcontentloaded", timeout=ms)
    if not await page.locator(prof.place_order).count():
        raise CheckoutFailed("buying.sign_failed_checkout_form_missing")
    addr = job.secrets.address
    await page.fill(prof.name_field, addr.name, timeout=ms)
    await page.fill(prof.phone_field, addr.phone, timeout=ms)
    await page.fill(prof.address_field, addr.address, timeout=ms)
    await page.fill(prof.payment_field, job.secrets.payment_ref, timeout=ms)
    await asyncio.to_thread(on_submit)  # recorded before the irreversible click
    try:
        async with page.expect_navigation(wait_until="domcontentloaded", timeout=ms) as nav2:
            await page.click(prof.place_order, timeout=ms)
        done = await nav2.value
        if done is not None and done.status == 409:
            raise CheckoutUncertain("buying.platform_refused_order_item_unavailable")
        number = (await page.locator(prof.order_number).first.inner_text(timeout=ms)).strip()
        paid = page.locator(prof.price_paid).first
        amount = await paid.get_attribute(prof.price_attr, timeout=ms)
        currency = await paid.get_attribute(prof.currency_attr, timeout=ms)
    except CheckoutUncertain:
        raise
    except Exception as exc:
        raise CheckoutUncertain("buying.order_confirmation_after_placing_order",
                                error_type=type(exc).__name__) from exc
    price = None
    if amount:
        try:
            price = Decimal(amount.replace(",", "").strip())
        except Exception:
            price = None
    return number, price, (currency or None), page.url


async def _order(browser: Any, db: Database, settings: Settings, job: _Job, key: str,
                 actor: str, capture: bool) -> BuyResult:
    """One order in a fresh context of *browser*: the persona's cookies, cart and storage
    live and die with it, so nothing of one covert buyer reaches the next order of a batch."""
    result = BuyResult(job.purchase_id, "planned", attempt=key)
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                        viewport={"width": 1366, "height": 900},
                                        accept_downloads=False, service_workers="block")
    try:
        if capture:
            result.listing_capture_id = await _capture(
                db, settings, context, job, job.listing_url, "listing", actor, result,
                "listing at purchase time")
        page = await context.new_page()
        try:
            number, price, currency, order_url = await _checkout(
                page, job, lambda: _stage(db, key, "submitting", safe_to_retry=False))
        finally:
            await page.close()
        result.order_number, result.price_paid, result.currency = number, price, currency
        _stage(db, key, "placed", order_number=number)
        with db.session() as s:
            purchases.mark_ordered(s, job.purchase_id, number, price, currency, actor=actor)
        result.status = PurchaseStatus.ORDERED.value
        if capture:
            result.order_capture_id = await _capture(
                db, settings, context, job, order_url, "order", actor, result,
                "order confirmation page after the purchase")
    finally:
        await context.close()
    return result


async def _capture(db: Database, settings: Settings, context: Any, job: _Job, url: str,
                   kind: str, actor: str, result: BuyResult, purpose: str) -> int | None:
    """Capture with the persona's context; a failed capture is noted, not fatal."""
    from evidence.capture import CaptureRequest, capture_in_context

    req = CaptureRequest(url=url, kind=kind, listing_id=job.listing_id,
                         persona_id=job.persona_id, purchase_id=job.purchase_id,
                         purpose=purpose, page_reader=read_availability)
    res = await capture_in_context(context, db, req, operator=actor, settings=settings)
    if not res.ok:
        result.notes.append(f"{kind} capture #{res.capture_id} failed: {res.error}")
        log.warning("purchase #%d: %s capture failed: %s", job.purchase_id, kind, res.error)
    else:
        # The copy investigators and packs get: the persona's secrets masked (evidence.redact).
        from evidence.redact import redact_capture_async

        try:
            await redact_capture_async(db, settings, context.browser, res.capture_id,
                                       [*job.secrets.values(), job.secrets.alias], actor=actor)
        except Exception as exc:  # the original stands; the copy can be made later
            result.notes.append(f"{kind} capture #{res.capture_id}: no redacted copy ({exc})")
            log.warning("purchase #%d: redacting capture %s failed: %s", job.purchase_id,
                        res.capture_id, exc)
    with db.session() as s:
        p = s.get(Purchase, job.purchase_id)
        assert p is not None
        purchases.append_history(s, p, {"at": utcnow().isoformat(), "by": actor,
                                        "event": f"{kind}_capture",
                                        "capture": res.capture_id, "ok": res.ok})
    return res.capture_id if res.ok else None


def buy(db: Database, purchase_id: int, settings: Settings, *, actor: str = "scheduler",
        holder: str = "buyer", capture: bool = True) -> BuyResult:
    """Place the covert order for a planned purchase with its persona, at most once.

    Returns the result (status ``ordered`` with order number, price and captures; or
    ``failed`` with the reason when the platform refused before the order was placed).
    Raises :class:`Conflict` when the purchase is not buyable or an earlier attempt may have
    ordered already, and :class:`CheckoutUncertain` when this attempt may have.
    """
    [outcome] = buy_many(db, [purchase_id], settings, actor=actor, holder=holder,
                         capture=capture)
    if isinstance(outcome, SpotcheckError):
        raise outcome
    return outcome


def buy_many(db: Database, purchase_ids: list[int], settings: Settings, *,
             actor: str = "scheduler", holder: str = "buyer", capture: bool = True
             ) -> list[BuyResult | SpotcheckError]:
    """Place several covert orders one after the other, each at most once, with one Chromium.

    Launching Chromium for every order was most of a batch's time; the batch now shares one
    browser (launched when the first order needs it) and gives each order a fresh context
    of its own, so the personas stay as isolated as with a browser each: no cookie, cart or
    storage of one order is seen by the next.  Returns one outcome per purchase, in order:
    its :class:`BuyResult`, or the :class:`SpotcheckError` that :func:`buy` would raise
    (not buyable, claimed elsewhere, uncertain); the batch goes on after those.  Any other
    error is recorded on its attempt and raised, ending the batch.
    """
    return asyncio.run(_buy_batch(db, purchase_ids, settings, actor, holder, capture))


async def _buy_batch(db: Database, purchase_ids: list[int], settings: Settings, actor: str,
                     holder: str, capture: bool) -> list[BuyResult | SpotcheckError]:
    from playwright.async_api import async_playwright

    from evidence.capture import browser_args
    from store import chromium

    outcomes: list[BuyResult | SpotcheckError] = []
    pw: Any = None
    browser: Any = None
    try:
        for purchase_id in purchase_ids:
            try:
                prepared = _prepare(db, purchase_id, settings, holder)
                if isinstance(prepared, BuyResult):
                    outcomes.append(prepared)
                    continue
                job, key = prepared
                if browser is None or not browser.is_connected():
                    pw = pw or await async_playwright().start()
                    # captures in this browser go through their recording proxy, whose key
                    # it must accept
                    browser = await chromium.launch(
                        pw, settings, browser_args(settings) if capture else [])
                outcomes.append(await _attempt(browser, db, settings, job, key, actor,
                                               capture))
            except SpotcheckError as exc:
                outcomes.append(exc)
    finally:
        if browser is not None:
            await browser.close()
        if pw is not None:
            await pw.stop()
    return outcomes


def _prepare(db: Database, purchase_id: int, settings: Settings, holder: str
             ) -> BuyResult | tuple[_Job, str]:
    """The job of a buyable purchase and its claimed attempt key; the result as it stands
    when it was ordered already.  Raises :class:`Conflict` when it cannot be bought."""
    with db.session() as s:
        p = purchases.get_purchase(s, purchase_id)
        if p.status == PurchaseStatus.ORDERED or p.order_number:
            return BuyResult(p.id, p.status.value, p.order_number, p.price_paid, p.currency,
                             notes=["already ordered"])
        if p.status != PurchaseStatus.PLANNED:
            raise Conflict("buying.purchase_only_planned_purchase_bought", p_id=p.id,
                           p_status=p.status)
        if p.persona_id is None:
            raise Conflict("buying.purchase_has_buyer_persona_assigned", p_id=p.id)
        listing = p.plan_item.listing
        platform = s.get(Platform, listing.platform_id)
        if platform is None:
            raise NotFound("buying.platform_listing_missing", listing_id=listing.id)
        base = platform.base_url or listing.url
        job = _Job(p.id, listing.id, listing.url, base, p.persona_id,
                   CheckoutProfile.for_platform(platform), secrets_of(s, p.persona_id, settings))
        key = _claim(db, p, holder)
    return job, key


async def _attempt(browser: Any, db: Database, settings: Settings, job: _Job, key: str,
                   actor: str, capture: bool) -> BuyResult:
    """Run the claimed attempt *key* and record how it ended (retry-safe or not)."""
    purchase_id = job.purchase_id
    log.info("purchase #%d: checkout as %s (attempt %s)", purchase_id, job.secrets, key)
    try:
        result = await _order(browser, db, settings, job, key, actor, capture)
    except NotAvailable as exc:
        # Nothing was ordered; the item is a non-response of the plan, never replaced.
        _finish(db, key, "error", {"stage": "before_submit", "safe_to_retry": False}, str(exc))
        with db.session() as s:
            purchases.record_nonresponse(s, purchase_id, str(exc), actor=actor)
        return BuyResult(purchase_id, PurchaseStatus.CANCELLED.value, attempt=key,
                         error=str(exc), notes=["non-response"])
    except CheckoutFailed as exc:
        _finish(db, key, "error", {"stage": "before_submit", "safe_to_retry": True}, str(exc))
        with db.session() as s:
            purchases.fail_purchase(s, purchase_id, f"checkout failed: {exc}", actor=actor)
        return BuyResult(purchase_id, PurchaseStatus.FAILED.value, attempt=key, error=str(exc))
    except BaseException as exc:
        t = JOB_RUNS
        with db.engine.connect() as conn:
            stage = (conn.execute(select(t.c.result).where(t.c.key == key)).scalar() or {}
                     ).get("stage")
        safe = stage in ("claimed",)
        _finish(db, key, "error", {"stage": stage, "safe_to_retry": safe},
                f"{type(exc).__name__}: {exc}")
        raise
    _finish(db, key, "ok", {"stage": "done", "order_number": result.order_number,
                            "listing_capture": result.listing_capture_id,
                            "order_capture": result.order_capture_id})
    log.info("purchase #%d ordered: %s", purchase_id, result.order_number)
    return result


def due_purchases(db: Database, now: dt.datetime, campaign_id: int | None = None
                  ) -> list[int]:
    """Planned purchases with a persona whose order time has come (oldest first)."""
    from store.models import Plan, PlanItem

    with db.session() as s:
        q = (select(Purchase.id, Purchase.scheduled_for)
             .join(PlanItem, Purchase.plan_item_id == PlanItem.id)
             .join(Plan, PlanItem.plan_id == Plan.id)
             .where(Purchase.status == PurchaseStatus.PLANNED,
                    Purchase.persona_id.is_not(None)))
        if campaign_id is not None:
            q = q.where(Plan.campaign_id == campaign_id)
        out = []
        for pid, when in s.execute(q.order_by(Purchase.scheduled_for, Purchase.id)):
            if when is None:
                continue
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            if when <= now:
                out.append(pid)
        return out
