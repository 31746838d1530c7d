"""The data model: one typed declarative class per word of the vocabulary (docs/design.md).

The database is the single source of truth.  Unique constraints carry the idempotency of
re-runs: a crawl that sees a listing again updates the same row (platform + external id), an
import that sees a notice again finds it (source + reference), a purchase retried with the same
idempotency key finds the first one.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.vocabulary import (
    CaptureStatus,
    CaseStatus,
    LabOutcome,
    ListingStatus,
    MeasureKind,
    PlanStatus,
    PurchaseStatus,
    Role,
    Sector,
    SupervisionClass,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Aware UTC now: every timestamp spotcheck writes is UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
        dt.datetime: DateTime(timezone=True),
        Decimal: Numeric(14, 2),
    }


def _enum(cls: type[enum.Enum]) -> Enum:
    """Enums stored as their values in a VARCHAR (portable, readable, easy to migrate)."""
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


# --- platforms, filings, sellers, listings ------------------------------------------------


class Platform(Base):
    """A cross-border e-commerce platform, supervised by the bureau where its company sits."""

    __tablename__ = "platform"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500), default="")
    company_name: Mapped[str] = mapped_column(String(200), default="")
    #: 属地: the inspection bureau of the place where the platform company sits.
    jurisdiction_bureau: Mapped[str] = mapped_column(String(200), default="")
    filing_number: Mapped[str | None] = mapped_column(String(64))
    #: The crawl profile (see crawlers.profiles), as data.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    sellers: Mapped[list[Seller]] = relationship(back_populates="platform")
    listings: Mapped[list[Listing]] = relationship(back_populates="platform")


class EnterpriseFiling(Base):
    """备案: a merchant, platform or logistics company filed with the authority."""

    __tablename__ = "enterprise_filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="merchant")
    name: Mapped[str] = mapped_column(String(300))
    licence_number: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(100), default="")
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    status: Mapped[str] = mapped_column(String(32), default="valid")


class Seller(Base):
    """A storefront on one platform; storefronts sharing contacts form a seller network."""

    __tablename__ = "seller"
    __table_args__ = (UniqueConstraint("platform_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    filing_number: Mapped[str | None] = mapped_column(String(64))
    licence_number: Mapped[str | None] = mapped_column(String(64))
    #: Contacts as published (phone, email, wechat, whatsapp, address) for network detection.
    contacts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Seller-network cluster (sellers linked through shared normalised contacts).
    cluster_id: Mapped[str | None] = mapped_column(String(64), index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="sellers")
    listings: Mapped[list[Listing]] = relationship(back_populates="seller")


class Listing(Base):
    """A product listing as last seen; its history is in listing snapshots."""

    __tablename__ = "listing"
    __table_args__ = (
        UniqueConstraint("platform_id", "external_id"),
        Index("ix_listing_platform_sector", "platform_id", "sector"),
        Index("ix_listing_brand", "brand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    #: The price converted to CNY with the settings' rates, for comparisons across currencies.
    price_cny: Mapped[Decimal | None]
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("seller.id", ondelete="SET NULL"),
                                                  index=True)
    category: Mapped[str | None] = mapped_column(String(200))
    sector: Mapped[Sector] = mapped_column(_enum(Sector), default=Sector.OTHER)
    supervision_class: Mapped[SupervisionClass] = mapped_column(
        _enum(SupervisionClass), default=SupervisionClass.GENERAL, index=True)
    #: Why the classifier chose the class (rule ids and matched words).
    class_reasons: Mapped[list[Any]] = mapped_column(default=list)
    origin: Mapped[str | None] = mapped_column(String(100))
    cert_marks: Mapped[list[str]] = mapped_column(default=list)
    image_urls: Mapped[list[str]] = mapped_column(default=list)
    #: The raw structured data the crawler saw (bounded in size by the crawler).
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[ListingStatus] = mapped_column(_enum(ListingStatus),
                                                  default=ListingStatus.ACTIVE, index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None]
    last_crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_run.id", ondelete="SET NULL"))
    #: Permanent random number in (0, 1), fixed at first sight, for coordinated Pareto samples.
    prn: Mapped[float | None] = mapped_column(Float)
    #: An :class:`Availability` value as the page last said it; None when it said nothing.
    availability: Mapped[str | None] = mapped_column(String(16))
    #: The GTIN (EAN/UPC barcode) the page showed, as 14 digits with a valid check digit
    #: (store.gtin.normalise_gtin); indexed: listings and notices are matched by it.
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)

    platform: Mapped[Platform] = relationship(back_populates="listings")
    seller: Mapped[Seller | None] = relationship(back_populates="listings")
    snapshots: Mapped[list[ListingSnapshot]] = relationship(
        back_populates="listing", order_by="ListingSnapshot.version",
        cascade="all, delete-orphan")
    #: The latest risk score (None until the listing is first scored).  Loaded with the listing:
    #: one primary-key join, and every reader of a listing wants its score.
    risk: Mapped[ListingRisk | None] = relationship(
        back_populates="listing", lazy="joined", cascade="all, delete-orphan")

    # The score lives in listing_risk so that a scoring run rewrites narrow rows, not the wide
    # crawled ones; these read (and, for fixtures and imports, write) through to it.
    @property
    def risk_score(self) -> float | None:
        return self.risk.score if self.risk is not None else None

    @risk_score.setter
    def risk_score(self, value: float | None) -> None:
        self._risk_row().score = value

    @property
    def risk_reasons(self) -> list[Any]:
        if self.risk is None or self.risk.reason_set is None:
            return []
        return list(self.risk.reason_set.reasons)

    @risk_reasons.setter
    def risk_reasons(self, value: list[Any]) -> None:
        self._risk_row().reason_set = RiskReasonSet(reasons=list(value)) if value else None

    @property
    def risk_scored_at(self) -> dt.datetime | None:
        return self.risk.scored_at if self.risk is not None else None

    def _risk_row(self) -> ListingRisk:
        if self.risk is None:
            self.risk = ListingRisk()
        return self.risk


class RiskReasonSet(Base):
    """The top reasons of a score, as ``[{code, points, params, en, zh}]``, shared by every
    listing with the same reasons: a million listings carry a few thousand sets."""

    __tablename__ = "risk_reason_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    reasons: Mapped[list[Any]] = mapped_column(default=list)


class ListingRisk(Base):
    """A listing's latest risk score: the size measure of πps sampling.

    ``score`` is NULL for prohibited listings (enforcement leads, never drawn), which still carry
    their reasons.  ``scored_at`` is when the score or reasons last *changed*: a re-score that
    finds the same values writes nothing.
    """

    __tablename__ = "listing_risk"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"),
                                            primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    #: No foreign key on purpose: the scorer deletes the sets no row uses any more, and a
    #: foreign key would make the database search the million rows once per deleted set.
    reason_set_id: Mapped[int | None]
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="risk")
    reason_set: Mapped[RiskReasonSet | None] = relationship(
        primaryjoin="foreign(ListingRisk.reason_set_id) == RiskReasonSet.id")


class RiskRun(Base):
    """One scoring run: when, over what (every listing, or the listings a review touched) and
    with exactly which weights, so a re-score of a few listings (a person confirming or
    rejecting a match) uses the weights the other listings were scored with."""

    __tablename__ = "risk_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    #: "all" (a scoring run) or "listings" (a re-score of some listings).
    scope: Mapped[str] = mapped_column(String(16), default="all")
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="SET NULL"))
    #: ``RiskWeights.as_dict()``: weights, params, sector rates, lexicon, source.
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    listings: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)


# The console lists by risk, highest first and unscored last.  On SQLite a DESC index already
# puts NULLs last (and cannot say NULLS LAST), so migration 0004 leaves that out there.  Text
# search has its own structures: store/search.py.
RISK_ORDER = (ListingRisk.score.desc().nulls_last(), ListingRisk.listing_id.desc())
Index("ix_listing_risk_score", *RISK_ORDER)


class ListingSnapshot(Base):
    """One version of a listing: written only when its content changes."""

    __tablename__ = "listing_snapshot"
    __table_args__ = (UniqueConstraint("listing_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_run.id", ondelete="SET NULL"))
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: What changed against the previous version ("price", "title", "status", ...).
    changes: Mapped[list[str]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    listing: Mapped[Listing] = relationship(back_populates="snapshots")


class CrawlRun(Base):
    """One crawl of one platform, with its counts and errors by kind."""

    __tablename__ = "crawl_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    #: A crawl resumed after a kill keeps its key, so it continues the same run.
    job_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(32), default="running")
    full: Mapped[bool] = mapped_column(Boolean, default=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    new_listings: Mapped[int] = mapped_column(Integer, default=0)
    changed_listings: Mapped[int] = mapped_column(Integer, default=0)
    removed_listings: Mapped[int] = mapped_column(Integer, default=0)
    rejected_items: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: A bounded crawl's bounds and what stopped it (``max_pages``, ``max_duration``,
    #: ``products_only``, ``stopped_by``); NULL for an unbounded crawl.  A bounded crawl
    #: never marks unseen listings as removed.
    bounds: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --- risk -----------------------------------------------------------------------------------


class ForeignNotice(Base):
    """A notification from a foreign authority (US CPSC recall, EU Safety Gate alert, ...)."""

    __tablename__ = "foreign_notice"
    __table_args__ = (UniqueConstraint("source", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # cpsc | safety-gate | csv | report
    reference: Mapped[str] = mapped_column(String(100))
    published: Mapped[dt.date | None]
    title: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(Text)
    models: Mapped[list[str]] = mapped_column(default=list)
    hazard: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Matching keys and split fields (Safety Gate, CPSC): valid GTINs as 14 digits, batch
    #: numbers, marketplaces [{marketplace, asin, url, item, text}], picture URLs, measures
    #: [{operator, measure, date}], risk types.
    gtins: Mapped[list[str]] = mapped_column(default=list)
    batches: Mapped[list[str]] = mapped_column(default=list)
    online: Mapped[list[Any]] = mapped_column(default=list)
    pictures: Mapped[list[str]] = mapped_column(default=list)
    measures: Mapped[list[Any]] = mapped_column(default=list)
    risk_types: Mapped[list[str]] = mapped_column(default=list)
    #: Fields cut to their bound on import: {field: original length in characters}.
    truncated: Mapped[dict[str, Any]] = mapped_column(default=dict)


class NoticeKey(Base):
    """An exact matching key of a notice (gtin, asin, url, model), indexed for look-up."""

    __tablename__ = "notice_key"
    __table_args__ = (UniqueConstraint("notice_id", "kind", "value"),
                      Index("ix_notice_key_kind_value", "kind", "value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("foreign_notice.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(300))


class NoticeMatch(Base):
    """A notice matched to a listing, with a score; a person may confirm or reject it."""

    __tablename__ = "notice_match"
    __table_args__ = (UniqueConstraint("notice_id", "listing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("foreign_notice.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"),
                                            index=True)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # confirmed | rejected
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RiskSignal(Base):
    """One piece of risk information about a listing, seller or brand."""

    __tablename__ = "risk_signal"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Natural key for idempotent imports (e.g. "complaint:<sha256 of the row>").
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    source: Mapped[str] = mapped_column(String(50))
    listing_id: Mapped[int | None] = mapped_column(
        ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    seller_id: Mapped[int | None] = mapped_column(
        ForeignKey("seller.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    brand: Mapped[str | None] = mapped_column(String(200))
    observed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    value: Mapped[float] = mapped_column(Float, default=1.0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- campaigns, plans -----------------------------------------------------------------------


class Campaign(Base):
    """A spot-check campaign: scope, period, budget, design and schedules."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team: Mapped[str] = mapped_column(String(200), default="")
    #: platforms, sectors, categories, supervision classes in scope.
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    period_start: Mapped[dt.date | None]
    period_end: Mapped[dt.date | None]
    budget: Mapped[Decimal | None]
    sample_size: Mapped[int | None]
    #: Sampling design: method, strata, allocation, constraints.
    design: Mapped[dict[str, Any]] = mapped_column(default=dict)
    risk_weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Cron expressions for crawls, draws, re-captures.
    schedules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    plans: Mapped[list[Plan]] = relationship(back_populates="campaign", order_by="Plan.version")


class Plan(Base):
    """A drawn purchase plan: frozen frame, design, seed; immutable once approved."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus), default=PlanStatus.DRAFT)
    seed: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    design: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: SHA-256 of the frozen frame (listing ids, sizes, strata), stored as an artifact.
    frame_sha256: Mapped[str] = mapped_column(String(64))
    frame_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    expected_cost: Mapped[Decimal | None]
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="plans")
    items: Mapped[list[PlanItem]] = relationship(back_populates="plan", order_by="PlanItem.seq",
                                                 cascade="all, delete-orphan")


class PlanItem(Base):
    """A listing chosen for covert purchase, with its inclusion probability and why."""

    __tablename__ = "plan_item"
    __table_args__ = (UniqueConstraint("plan_id", "listing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="RESTRICT"),
                                            index=True)
    seq: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str] = mapped_column(String(200))
    inclusion_probability: Mapped[float] = mapped_column(Float)
    certainty: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[float] = mapped_column(Float, default=1.0)
    expected_price: Mapped[Decimal | None]
    reasons: Mapped[list[Any]] = mapped_column(default=list)

    plan: Mapped[Plan] = relationship(back_populates="items")
    listing: Mapped[Listing] = relationship()


# --- purchases, samples, lab results -------------------------------------------------------


class BuyerPersona(Base):
    """A covert buyer identity on one platform; secret fields are Fernet-encrypted."""

    __tablename__ = "buyer_persona"
    __table_args__ = (UniqueConstraint("platform_id", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(100))
    account_enc: Mapped[str] = mapped_column(Text)
    password_enc: Mapped[str | None] = mapped_column(Text)
    address_enc: Mapped[str] = mapped_column(Text)
    payment_ref_enc: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Purchase(Base):
    """A covert purchase of one plan item; the idempotency key prevents buying twice."""

    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="RESTRICT"),
                                              index=True)
    persona_id: Mapped[int | None] = mapped_column(
        ForeignKey("buyer_persona.id", ondelete="SET NULL"))
    status: Mapped[PurchaseStatus] = mapped_column(_enum(PurchaseStatus),
                                                   default=PurchaseStatus.PLANNED, index=True)
    deadline: Mapped[dt.datetime | None]
    scheduled_for: Mapped[dt.datetime | None]
    order_number: Mapped[str | None] = mapped_column(String(100))
    price_paid: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    ordered_at: Mapped[dt.datetime | None]
    #: Every status transition: [{"status", "at", "by", "note"}].
    history: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    plan_item: Mapped[PlanItem] = relationship()
    persona: Mapped[BuyerPersona | None] = relationship()


class Sample(Base):
    """A received, sealed sample on its way to the lab."""

    __tablename__ = "sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id", ondelete="RESTRICT"),
                                             unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_by: Mapped[str | None] = mapped_column(String(100))
    seal_photo_sha256: Mapped[str | None] = mapped_column(String(64))
    lab_name: Mapped[str | None] = mapped_column(String(200))
    sent_to_lab_at: Mapped[dt.datetime | None]

    purchase: Mapped[Purchase] = relationship()


class LabResult(Base):
    """A lab's verdict on a sample: our own, or a third party's adopted (and maybe verified)."""

    __tablename__ = "lab_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="RESTRICT"),
                                           unique=True)
    outcome: Mapped[LabOutcome] = mapped_column(_enum(LabOutcome))
    defects: Mapped[list[Any]] = mapped_column(default=list)
    clauses: Mapped[list[str]] = mapped_column(default=list)
    lab_name: Mapped[str | None] = mapped_column(String(200))
    third_party: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    entered_by: Mapped[str | None] = mapped_column(String(100))

    sample: Mapped[Sample] = relationship()


# --- evidence -------------------------------------------------------------------------------


class Capture(Base):
    """One capture of a web page as evidence; its manifest is signed and timestamped."""

    __tablename__ = "capture"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="listing")  # listing|seller|order|search
    url: Mapped[str] = mapped_column(String(2000))
    final_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[CaptureStatus] = mapped_column(_enum(CaptureStatus), default=CaptureStatus.OK)
    listing_id: Mapped[int | None] = mapped_column(
        ForeignKey("listing.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"),
                                                index=True)
    persona_id: Mapped[int | None] = mapped_column(
        ForeignKey("buyer_persona.id", ondelete="SET NULL"))
    #: The purchase this capture documents (listing at purchase time, order page after it).
    purchase_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase.id", ondelete="SET NULL"), index=True)
    operator: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    manifest_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    signature: Mapped[str | None] = mapped_column(Text)
    timestamp_token_sha256: Mapped[str | None] = mapped_column(String(64))
    #: Requested/final URL, redirects, headers, server IP, TLS chain, versions, ...
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Page facts extracted at capture time (title, price, availability) for re-capture diffs.
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    previous_capture_id: Mapped[int | None] = mapped_column(
        ForeignKey("capture.id", ondelete="SET NULL"))

    artifacts: Mapped[list[Artifact]] = relationship(back_populates="capture",
                                                     cascade="all, delete-orphan")


class Artifact(Base):
    """A file of a capture (screenshot, WARC, DOM, PDF, metadata), stored by its SHA-256."""

    __tablename__ = "artifact"
    __table_args__ = (UniqueConstraint("capture_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("capture.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64))  # screenshot_full, warc, dom, pdf, meta, ...
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    capture: Mapped[Capture | None] = relationship(back_populates="artifacts")


class CustodyEvent(Base):
    """Append-only chain of custody: each event hashes the one before it."""

    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))  # created|viewed|annotated|exported|...
    capture_id: Mapped[int | None] = mapped_column(
        ForeignKey("capture.id", ondelete="RESTRICT"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- cases ----------------------------------------------------------------------------------


class Case(Base):
    """An enforcement case: a failed sample, a counterfeit or a prohibited-goods lead."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # failed_sample|counterfeit|prohibited|recall
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.OPEN)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id", ondelete="SET NULL"))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("seller.id", ondelete="SET NULL"))
    platform_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform.id", ondelete="SET NULL"))
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id", ondelete="SET NULL"))
    jurisdiction_bureau: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]

    measures: Mapped[list[Measure]] = relationship(back_populates="case",
                                                   cascade="all, delete-orphan")
    notifications: Mapped[list[Notification]] = relationship(back_populates="case",
                                                             cascade="all, delete-orphan")


class Measure(Base):
    """A measure taken in a case (interview, rectification order, takedown, recall, ...)."""

    __tablename__ = "measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    kind: Mapped[MeasureKind] = mapped_column(_enum(MeasureKind))
    ordered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due: Mapped[dt.date | None]
    done_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(String(100))

    case: Mapped[Case] = relationship(back_populates="measures")


class Notification(Base):
    """A risk notified to the platform's jurisdiction bureau (属地) for investigation."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    bureau: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(50), default="letter")
    reference: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[dt.datetime | None]
    by: Mapped[str | None] = mapped_column(String(100))

    case: Mapped[Case] = relationship(back_populates="notifications")


# --- people and audit -----------------------------------------------------------------------


class User(Base):
    """A console/CLI user with one role."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CliSession(Base):
    """A command-line login: a short-lived, revocable token for one user.

    Only the token's SHA-256 is stored, so a copy of the database does not let anyone act as
    a logged-in user; the token itself lives in the user's own session file (mode 0600).
    """

    __tablename__ = "cli_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    #: Where the login came from (operating-system user and host), for the audit trail.
    origin: Mapped[str | None] = mapped_column(String(200))


class LoginAttempt(Base):
    """Login attempts counted per key ("name:…" or "ip:…") in a fixed window.

    A slot is taken with one atomic upsert *before* the password is checked, so concurrent
    guesses cannot all read a count under the limit: at most the limit of password checks
    happen per window, however many requests arrive at once.
    """

    __tablename__ = "login_attempt"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """Who did what, when: every action of the console and CLI."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class JobRun(Base):
    """One run of a scheduled job: idempotent by key, recorded with its outcome."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    job: Mapped[str] = mapped_column(String(100))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(32), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The fire time of the schedule this run belongs to (None for runs started by hand).
    scheduled_for: Mapped[dt.datetime | None]
    #: Which scheduler process ran it ("host:pid:token"), to find runs orphaned by a kill.
    holder: Mapped[str | None] = mapped_column(String(200))
    #: 1, plus one for each time an orphaned run was resumed after its scheduler died.
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class SchedulerLease(Base):
    """The lock keeping one active scheduler per database: a row its holder keeps renewing.

    A second scheduler (started by mistake, or one per web worker) finds the lease held and
    refuses to run; a scheduler killed with SIGKILL stops renewing, and the lease expires.
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)



class ListingPrnLegacy(Base):
    """A listing whose permanent random number came from a formula other than :mod:`store.prn`.

    Before one rule, the sampler gave listings the crawler left without a PRN its own number
    (``prn:{platform_id}:{external_id}``).  Past plans were drawn and coordinated on those
    numbers, so they are kept (a PRN never changes); this row records the difference: the
    number kept and the one the single rule would give.
    """

    __tablename__ = "listing_prn_legacy"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"),
                                            primary_key=True)
    prn: Mapped[float] = mapped_column(Float)
    canonical_prn: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

class ProductImage(Base):
    """A product photo, once per content: its file is the artifact ``sha256`` (the data
    folder's content-addressed store), its perceptual hashes are here (store.photos).

    Listings and notices showing the same bytes share one row; near-identical photos (another
    size, a recompression, a crop, a watermark) are found by the hashes (store.hashindex)."""

    __tablename__ = "product_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    #: PDQ (256 bits as 64 hex digits) of the whole photo, its quality (0-100), and the PDQ
    #: of its 3 × 3 crop variants (a list of hex), for copies cut at the edges.
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int] = mapped_column(Integer)
    pdq_crops: Mapped[list[str]] = mapped_column(default=list)
    #: pHash (64 bits as 16 hex digits).
    phash: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ListingImage(Base):
    """A photo a listing shows, at its position; ``image_id`` None with ``error`` when the
    crawl could not fetch or read it (it is tried again when the listing's photos change)."""

    __tablename__ = "listing_image"
    __table_args__ = (UniqueConstraint("listing_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_image.id", ondelete="SET NULL"), index=True)
    error: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NoticeImage(Base):
    """A picture a foreign notice publishes (Safety Gate ``pictures``, CPSC ``Images``)."""

    __tablename__ = "notice_image"
    __table_args__ = (UniqueConstraint("notice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("foreign_notice.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_image.id", ondelete="SET NULL"), index=True)
    error: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PhotoPair(Base):
    """Two stored photos that are copies of each other (store.photopairs): their smallest PDQ
    distance over crop variants, and the pHash distance when the second stage vouched for it.

    Kept between link builds so that a build searches only the photos added since the last
    one (:class:`PhotoPass`): photos never change (one row per content), so a pair once found
    stays a pair."""

    __tablename__ = "photo_pair"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("product_image.id", ondelete="CASCADE"), primary_key=True)
    #: Always larger than ``image_id``.
    other_image_id: Mapped[int] = mapped_column(
        ForeignKey("product_image.id", ondelete="CASCADE"), primary_key=True, index=True)
    distance: Mapped[int] = mapped_column(Integer)
    phash_distance: Mapped[int | None] = mapped_column(Integer)


class PhotoPass(Base):
    """One search of the stored photos for copies: up to which photo (``upto_image_id``), with
    which parameters (a pass with others is not continued incrementally), what it found."""

    __tablename__ = "photo_pass"

    id: Mapped[int] = mapped_column(primary_key=True)
    upto_image_id: Mapped[int] = mapped_column(Integer)
    #: ``full`` or ``incremental``.
    mode: Mapped[str] = mapped_column(String(16))
    #: The join's parameters (store.photopairs): flips per substring, giant-bucket size, radii.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    searched: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProductLink(Base):
    """Evidence that a listing is the same product as another listing (any platform) or as a
    foreign notice: an exact identifier (GTIN, brand + model), a near-identical photo, or a
    similar title, with its strength (0-1) and what made it (``evidence``).

    Links are proposed by the link builder (sampler.products); an inspector confirms or
    rejects one, and that decision is kept when links are built again (a rejected link never
    comes back by itself).  Product clusters are the connected parts of the accepted links.
    """

    __tablename__ = "product_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``<kind>:L<listing>:L<listing>`` or ``<kind>:L<listing>:N<notice>`` (the smaller
    #: listing id first): one link per pair and kind.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    #: gtin | brand_model | photo | title | notice_match | manual (labels: store.labels).
    kind: Mapped[str] = mapped_column(String(16), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"),
                                            index=True)
    other_listing_id: Mapped[int | None] = mapped_column(
        ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("foreign_notice.id", ondelete="CASCADE"), index=True)
    strength: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: proposed | confirmed | rejected
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


#: APScheduler's SQLAlchemyJobStore table (its own column layout), created by our migrations so
#: that the schema has one owner and autogenerate does not propose to drop it.
scheduler_job = Table(
    "scheduler_job",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
