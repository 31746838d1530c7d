"""Deterministic catalogue: every seller and listing is computed from (seed, index) on demand.

Nothing large is stored: listing i is generated in O(1) from `random.Random(f"{seed}:L:{i}")`,
and the layout is arithmetic so that category pages, seller pages and API pages can be sliced
without scanning the catalogue (200,000 listings serve as fast as 5,000).

Layout. Listing index i belongs to platform ``PLATFORMS[i % 3]`` at position ``j = i // 3``.
Each platform has ``S`` sellers; position j is sold by seller ``s = j % S``; seller s works in
sector ``s % 3``; the listing's category is sub-category ``(j // S) % 6`` of that sector. So a
seller's listings are ``j = s + S*k`` and a category's listings are ``j(t)`` below, both
enumerable in order.

Clock. Listings ``i < N`` exist from day 0; ``new_per_day`` more are born each day. A listing may
be removed on a given day, have its title edited on a given day, and change price every
``price_period`` days.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from sandbox import data
from sandbox.data import (
    CATEGORIES_BY_SECTOR,
    CITIES_ZH,
    FAMOUS_BY_SECTOR,
    GENERIC_BY_SECTOR,
    PER_SECTOR,
    PLATFORMS,
    SECTORS,
    Brand,
    Category,
)
from sandbox.money import format_price, price_str, shape_price

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Planting rates (per listing unless said otherwise); documented in README.md.
RATE_FAMOUS = 0.25
RATE_COUNTERFEIT_GIVEN_UNAUTH_FAMOUS = 0.25
RATE_COUNTERFEIT_NETWORK = 0.8
RATE_HAZARDOUS_LIGHT = 0.025
RATE_USED = 0.012
RATE_MISSING_CCC = 0.15
RATE_HOSTILE = 0.006
RATE_QUIRK = 0.006
RATE_REMOVED = 0.08
RATE_REMOVED_PROHIBITED = 0.3
RATE_TITLE_EDIT = 0.10
RATE_DYNAMIC_PRICE = 0.3
RATE_SELLER_UNFILED = 0.15
RATE_SELLER_NO_LICENCE = 0.08
RATE_FLAGSHIP = 0.15
_NON_SLUG = re.compile(r"[^a-z0-9]+")
QUIRKS = {"mall": ("truncated", "gb18030"), "spa": ("sparse_json",), "shop": ("broken_jsonld", "gb18030")}


def uscc(rng: random.Random, region: str) -> str:
    """A unified social credit code (统一社会信用代码) with a valid GB 32100-2015 check character."""
    body = "91" + region + "".join(rng.choice(USCC_CHARS) for _ in range(9))
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_CHARS[(31 - total % 31) % 31]


@dataclass(frozen=True, slots=True)
class Seller:
    """A seller (shop) on one platform."""

    platform: str
    index: int
    seller_id: str
    name: str
    name_en: str
    sector: str
    filing_number: str | None
    licence_number: str | None
    phone: str
    email: str
    wechat: str
    address: str
    authorised_brands: tuple[str, ...]
    network: int | None

    def as_truth(self) -> dict[str, object]:
        return {
            "platform": self.platform, "seller_id": self.seller_id, "name": self.name,
            "name_en": self.name_en, "sector": self.sector,
            "filing_number": self.filing_number, "licence_number": self.licence_number,
            "contacts": {"phone": self.phone, "email": self.email, "wechat": self.wechat,
                         "address": self.address},
            "authorised_brands": list(self.authorised_brands), "network": self.network,
            "unfiled": self.filing_number is None,
        }


@dataclass(frozen=True, slots=True)
class ListingBase:
    """The day-independent part of a listing."""

    index: int
    platform: str
    pos: int
    external_id: str
    seller: Seller
    category: Category
    brand: Brand
    model: str
    title_zh: str
    title_en: str
    lang: str
    base_price: Decimal
    price_ending: int
    price_variant: int
    currency: str
    origin: str
    cert_marks: tuple[str, ...]
    supervision_class: str
    counterfeit: bool
    hazardous: bool
    used_goods: bool
    missing_ccc: bool
    hostile: bool
    quirk: str | None
    images: int
    born_day: int
    removed_day: int | None
    title_edit_day: int | None
    price_period: int
    dynamic_price: bool
    slug: str
    nc_u: float  # uniform draw deciding the hidden lab result
    norm_price_cny: float

    @property
    def base_title(self) -> str:
        return self.title_zh if self.lang == "zh" else self.title_en


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing as it is on a given day."""

    base: ListingBase
    day: int
    title: str
    price: Decimal
    status: str
    recalled: tuple[str, ...] = field(default=())

    @property
    def price_display(self) -> str:
        return format_price(self.price, self.base.currency, self.base.price_variant)

    @property
    def noncompliant(self) -> bool:
        b = self.base
        p = 0.04
        p += 0.55 if b.counterfeit else 0.0
        p += 0.6 if self.recalled else 0.0
        p += 0.4 if b.missing_ccc else 0.0
        p += 0.7 if (b.hazardous or b.used_goods) else 0.0
        p += 0.1 if b.seller.filing_number is None else 0.0
        return b.nc_u < min(p, 0.95)


@dataclass(frozen=True, slots=True)
class Notice:
    """A foreign recall/alert notice naming (usually) one catalogue product."""

    source: str  # "cpsc" or "safetygate"
    notice_id: str  # RecallNumber or Safety Gate reference
    seq: int
    index: int | None  # catalogue listing it names, None for a decoy
    brand: str
    product: str
    model: str
    category: str
    hazard: str
    country: str
    date: str


HAZARDS = {
    "light_industry": ("Choking", "Small parts can detach; choking hazard to young children."),
    "textiles": ("Strangulation", "Drawstrings in the hood pose a strangulation hazard."),
    "electrical": ("Fire", "The product can overheat, posing fire and burn hazards."),
}


class Catalog:
    """The whole synthetic marketplace for one (seed, listings)."""

    def __init__(self, seed: int, listings: int = 5000) -> None:
        if listings < 30:
            raise ValueError("listings must be >= 30")
        self.seed = seed
        self.n = listings
        self.new_per_day = max(1, listings // 200)
        self.sellers_per_platform = max(12, (listings // 3) // 40)
        self._networks = self._make_networks()
        self._base = lru_cache(maxsize=50_000)(self._make_base)
        self._seller = lru_cache(maxsize=20_000)(self._make_seller)
        self._notices: list[Notice] | None = None
        self._recalled: dict[int, tuple[str, ...]] | None = None

    # ---------------------------------------------------------------- layout
    def total(self, day: int) -> int:
        """How many listings exist (born) on `day`, removed ones included."""
        return self.n + self.new_per_day * max(0, day)

    def platform_count(self, platform: str, day: int) -> int:
        p = PLATFORMS.index(platform)
        t = self.total(day)
        return (t - p + 2) // 3 if t > p else 0

    @staticmethod
    def index_of(platform: str, pos: int) -> int:
        return 3 * pos + PLATFORMS.index(platform)

    def category_pos(self, platform: str, cat: int, t: int) -> int:
        """Platform position of the t-th listing (in order) of global category `cat`."""
        S = self.sellers_per_platform
        q, sub = divmod(cat, PER_SECTOR)
        sq = len(range(q, S, 3))
        m, r = divmod(t, sq)
        return S * (sub + PER_SECTOR * m) + q + 3 * r

    def category_count(self, platform: str, cat: int, day: int) -> int:
        """Number of listing slots of category `cat` on `platform` on `day` (binary search)."""
        J = self.platform_count(platform, day)
        lo, hi = 0, J + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.category_pos(platform, cat, mid) < J:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def category_slice(self, platform: str, cat: int, start: int, stop: int, day: int) -> list[int]:
        """Catalogue indices of category slots [start, stop) that exist on `day`."""
        J = self.platform_count(platform, day)
        out = []
        for t in range(start, stop):
            pos = self.category_pos(platform, cat, t)
            if pos >= J:
                break
            out.append(self.index_of(platform, pos))
        return out

    def seller_count(self, platform: str, s: int, day: int) -> int:
        J = self.platform_count(platform, day)
        S = self.sellers_per_platform
        return (J - s + S - 1) // S if s < J else 0

    def seller_slice(self, platform: str, s: int, start: int, stop: int, day: int) -> list[int]:
        J = self.platform_count(platform, day)
        S = self.sellers_per_platform
        return [self.index_of(platform, s + S * k) for k in range(start, stop) if s + S * k < J]

    # ---------------------------------------------------------------- ids
    @staticmethod
    def external_id(platform: str, pos: int) -> str:
        if platform == "mall":
            return str(10_000_000 + pos)
        if platform == "spa":
            return f"SP{pos:07d}"
        return str(7_000_000 + pos)

    def parse_external_id(self, platform: str, ext: str) -> int | None:
        """Catalogue index for a platform id, or None when it names nothing that could exist."""
        try:
            if platform == "mall":
                pos = int(ext) - 10_000_000
            elif platform == "spa":
                if not ext.startswith("SP"):
                    return None
                pos = int(ext[2:])
            else:
                pos = int(ext) - 7_000_000
        except ValueError:
            return None
        if pos < 0 or pos > 10**8:
            return None
        return self.index_of(platform, pos)

    @staticmethod
    def seller_external_id(platform: str, s: int) -> str:
        if platform == "mall":
            return str(100_000 + s)
        if platform == "spa":
            return f"V{s:05d}"
        return f"vendor-{s}"

    def parse_seller_id(self, platform: str, ext: str) -> int | None:
        try:
            if platform == "mall":
                s = int(ext) - 100_000
            elif platform == "spa":
                s = int(ext[1:]) if ext.startswith("V") else -1
            else:
                s = int(ext.removeprefix("vendor-")) if ext.startswith("vendor-") else -1
        except ValueError:
            return None
        return s if 0 <= s < self.sellers_per_platform else None

    # ---------------------------------------------------------------- sellers
    def _make_networks(self) -> dict[tuple[int, int], int]:
        """Planted seller networks: one seller per platform sharing contacts (and bad habits)."""
        S = self.sellers_per_platform
        groups = max(2, (3 * S) // 30)
        out: dict[tuple[int, int], int] = {}
        for g in range(groups):
            for p in range(3):
                s = random.Random(f"{self.seed}:N:{g}:{p}").randrange(S)
                out.setdefault((p, s), g)
        return out

    def seller(self, platform: str, s: int) -> Seller:
        return self._seller(PLATFORMS.index(platform), s)

    def all_sellers(self) -> list[Seller]:
        return [self._seller(p, s) for p in range(3) for s in range(self.sellers_per_platform)]

    def _make_seller(self, p: int, s: int) -> Seller:
        rng = random.Random(f"{self.seed}:S:{p}:{s}")
        platform = PLATFORMS[p]
        sector = SECTORS[s % 3]
        city = rng.choice(CITIES_ZH)
        network = self._networks.get((p, s))
        flagship: Brand | None = None
        if network is None and rng.random() < RATE_FLAGSHIP:
            flagship = rng.choice(FAMOUS_BY_SECTOR[sector])
        if flagship is not None:
            name = f"{flagship.zh}官方旗舰店"
            name_en = f"{flagship.en} Official Store"
            authorised = (flagship.slug, *(b.slug for b in GENERIC_BY_SECTOR[sector][:1]))
        else:
            w = rng.choice(data.SHOP_WORDS_ZH)
            name = f"{city}{w}{rng.choice(data.SHOP_WORDS_ZH)}{rng.choice(data.SHOP_SUFFIX_ZH)}"
            name_en = f"{data.CITY_EN[city]} {rng.choice(data.SHOP_WORDS_EN)} {rng.choice(data.SHOP_SUFFIX_EN)}"
            authorised = tuple(b.slug for b in rng.sample(GENERIC_BY_SECTOR[sector], 2))
        unfiled = network is not None or rng.random() < RATE_SELLER_UNFILED
        no_licence = rng.random() < (0.5 if network is not None else RATE_SELLER_NO_LICENCE)
        region = data.CITY_REGION[city]
        filing = None if unfiled else f"{region[:4]}96{rng.randrange(10)}{rng.choice('ABCDEFGH')}{rng.randrange(10000):04d}"
        licence = None if no_licence else uscc(rng, region)
        if network is not None:
            nr = random.Random(f"{self.seed}:NC:{network}")
            phone = f"+86 13{nr.randrange(10**9):09d}"
            wechat = f"wx_{nr.choice(('haitao', 'daigou', 'yuanzhuang', 'global'))}{nr.randrange(10**5):05d}"
        else:
            phone = f"+86 1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            wechat = f"wx_{platform}{s}_{rng.randrange(10**4):04d}"
        email = f"service{s}@{platform}-seller{rng.randrange(1000)}.example.cn"
        street = rng.choice(("科技园路", "人民路", "建设大道", "中山路", "解放路"))
        address = f"{city}市{street}{rng.randrange(1, 999)}号"
        return Seller(platform, s, self.seller_external_id(platform, s), name, name_en, sector,
                      filing, licence, phone, email, wechat, address, authorised, network)

    # ---------------------------------------------------------------- listings
    def base(self, i: int) -> ListingBase:
        return self._base(i)

    def born_day(self, i: int) -> int:
        return 0 if i < self.n else math.ceil((i - self.n + 1) / self.new_per_day)

    def _make_base(self, i: int) -> ListingBase:
        rng = random.Random(f"{self.seed}:L:{i}")
        p = i % 3
        platform = PLATFORMS[p]
        pos = i // 3
        S = self.sellers_per_platform
        seller = self._seller(p, pos % S)
        sector = seller.sector
        category = CATEGORIES_BY_SECTOR[sector][(pos // S) % PER_SECTOR]
        famous = FAMOUS_BY_SECTOR[sector]
        flagship = [b for b in famous if b.slug in seller.authorised_brands]
        if flagship and rng.random() < 0.85:
            brand = flagship[0]
        elif rng.random() < RATE_FAMOUS:
            brand = rng.choice(famous)
        else:
            brand = rng.choice(GENERIC_BY_SECTOR[sector])
        mid = math.sqrt(category.price_lo * category.price_hi)
        norm = mid * brand.factor
        authorised = brand.slug in seller.authorised_brands
        cf_rate = RATE_COUNTERFEIT_NETWORK if seller.network is not None else RATE_COUNTERFEIT_GIVEN_UNAUTH_FAMOUS
        hazardous = sector == "light_industry" and rng.random() < RATE_HAZARDOUS_LIGHT
        used_goods = not hazardous and rng.random() < RATE_USED
        counterfeit = (brand.famous and not authorised and not (hazardous or used_goods)
                       and rng.random() < cf_rate)
        value = norm * (rng.uniform(0.08, 0.3) if counterfeit else rng.uniform(0.85, 1.2))
        model = f"{brand.slug[:2].upper()}-{rng.choice('ABCDEFGHKMNPRSTX')}{rng.randrange(1000, 10000)}"
        noun_zh, noun_en = rng.choice(category.nouns)
        spec_zh, spec_en = rng.choice(category.specs)
        adj_zh = "原单" if counterfeit and rng.random() < 0.5 else rng.choice(data.ADJ_ZH)
        adj_en = rng.choice(data.ADJ_EN)
        title_zh = " ".join(x for x in (brand.zh, f"{adj_zh}{noun_zh}", spec_zh, model) if x)
        title_en = " ".join(x for x in (brand.en, adj_en, noun_en, spec_en, model) if x)
        if hazardous or used_goods:
            pool = data.HAZARDOUS_ITEMS if hazardous else data.USED_ITEMS[sector]
            hz, he = rng.choice(pool)
            title_zh, title_en = f"{hz} {model}", f"{he} {model}"
            value = rng.uniform(20, 400)
        # origin and currency
        if counterfeit or hazardous or used_goods:
            origin = "CN"
        else:
            origin = brand.origin if rng.random() < 0.8 else "CN"
        if platform == "mall":
            currency = "CNY"
        else:
            currency = data.ORIGIN_CURRENCY[origin]
            if currency == "CNY" and platform == "spa":
                currency = "USD"
        ending = rng.randrange(4)
        base_price = shape_price(value, currency, ending)
        cert: list[str] = []
        missing_ccc = False
        if category.requires_ccc and not (hazardous or used_goods):
            if rng.random() < RATE_MISSING_CCC or (counterfeit and rng.random() < 0.4):
                missing_ccc = True
            else:
                cert.append("CCC")
        if origin in ("DE", "FR", "IT") and category.sector == "electrical":
            cert.append("CE")
        if origin == "US" and category.sector == "electrical":
            cert.append("FCC")
        supervision = "prohibited" if (hazardous or used_goods) else category.supervision
        lang_zh = {"mall": 0.85, "spa": 0.3, "shop": 0.5}[platform]
        lang = "zh" if rng.random() < lang_zh else "en"
        hostile = rng.random() < RATE_HOSTILE
        if hostile:
            snippet = rng.choice(data.HOSTILE_SNIPPETS)
            if snippet == "LONG":
                snippet = (("超长标题" + "Very long title ") * 150).rstrip()
            if lang == "zh":
                title_zh = f"{title_zh} {snippet}"
            else:
                title_en = f"{title_en} {snippet}"
        quirk = rng.choice(QUIRKS[platform]) if rng.random() < RATE_QUIRK else None
        removed_rate = RATE_REMOVED_PROHIBITED if supervision == "prohibited" else RATE_REMOVED
        removed_day = rng.randint(1, 30) if rng.random() < removed_rate else None
        title_edit_day = rng.randint(1, 20) if rng.random() < RATE_TITLE_EDIT else None
        born = self.born_day(i)
        if removed_day is not None:
            removed_day += born
        if title_edit_day is not None:
            title_edit_day += born
        slug = _NON_SLUG.sub("-", f"{brand.slug}-{noun_en}-{model}".lower()).strip("-")
        return ListingBase(
            index=i, platform=platform, pos=pos, external_id=self.external_id(platform, pos),
            seller=seller, category=category, brand=brand, model=model,
            title_zh=title_zh, title_en=title_en, lang=lang, base_price=base_price,
            price_ending=ending, price_variant=rng.randrange(3) if platform != "mall" else int(rng.random() < 0.2),
            currency=currency, origin=origin, cert_marks=tuple(cert),
            supervision_class=supervision, counterfeit=counterfeit, hazardous=hazardous,
            used_goods=used_goods, missing_ccc=missing_ccc, hostile=hostile, quirk=quirk,
            images=rng.randint(1, 5), born_day=born, removed_day=removed_day,
            title_edit_day=title_edit_day, price_period=rng.randint(3, 10),
            dynamic_price=rng.random() < RATE_DYNAMIC_PRICE, slug=slug, nc_u=rng.random(),
            norm_price_cny=round(norm, 2),
        )

    def listing(self, i: int, day: int) -> Listing | None:
        """Listing i as it is on `day`, or None if it does not exist (yet)."""
        if i < 0 or i >= self.total(day):
            return None
        b = self._base(i)
        title = b.base_title
        if b.title_edit_day is not None and day >= b.title_edit_day:
            title = ("【新款升级】" if b.lang == "zh" else "[NEW 2026] ") + title
        price = b.base_price
        if b.dynamic_price and not b.counterfeit:
            k = (day - b.born_day) // b.price_period
            if k > 0:
                f = random.Random(f"{self.seed}:P:{i}:{k}").uniform(-0.15, 0.1)
                cny = float(price) * data.CNY_PER[b.currency] * (1 + f)
                price = shape_price(cny, b.currency, b.price_ending)
        status = "removed" if (b.removed_day is not None and day >= b.removed_day) else "active"
        return Listing(b, day, title, price, status, self.recalled_map().get(i, ()))

    # ---------------------------------------------------------------- notices
    def recalled_map(self) -> dict[int, tuple[str, ...]]:
        if self._recalled is None:
            self._build_notices()
        assert self._recalled is not None
        return self._recalled

    def notices(self) -> list[Notice]:
        if self._notices is None:
            self._build_notices()
        assert self._notices is not None
        return self._notices

    def _build_notices(self) -> None:
        """Pick the recalled listings (O(K), not O(N)) and write the notices that name them."""
        k_count = max(8, self.n // 400)
        notices: list[Notice] = []
        recalled: dict[int, tuple[str, ...]] = {}
        for k in range(k_count):
            rr = random.Random(f"{self.seed}:R:{k}")
            source = "cpsc" if k % 2 == 0 else "safetygate"
            nid = f"26{100 + k:03d}" if source == "cpsc" else f"A12/{100 + k:05d}/26"
            date = f"2026-{1 + k % 11:02d}-{1 + (k * 7) % 27:02d}"
            for _ in range(30):
                i = rr.randrange(self.n)
                b = self._base(i)
                if (b.supervision_class != "prohibited" and not b.counterfeit and i not in recalled
                        and b.removed_day is None):
                    break
            else:
                continue
            recalled[i] = (f"{source}:{nid}",)
            hz = HAZARDS[b.category.sector]
            country = data.COUNTRY_NAME.get(b.origin, "China")
            notices.append(Notice(source, nid, k, i, b.brand.en, f"{b.brand.en} {b.category.nouns[0][1]}",
                                  b.model, b.category.en, hz[1], country, date))
        for d in range(4):  # decoys: notices naming products that are not in the catalogue
            rr = random.Random(f"{self.seed}:D:{d}")
            source = "cpsc" if d % 2 == 0 else "safetygate"
            k = k_count + d
            nid = f"26{100 + k:03d}" if source == "cpsc" else f"A12/{100 + k:05d}/26"
            notices.append(Notice(source, nid, k, None, "Acme Kids", "Acme Kids Night Light",
                                  f"AK-{rr.randrange(1000, 9999)}", "Toys", HAZARDS["electrical"][1],
                                  "China", f"2026-0{1 + d}-15"))
        self._notices = notices
        self._recalled = recalled


@lru_cache(maxsize=8)
def get_catalog(seed: int, listings: int) -> Catalog:
    """Shared catalogue per (seed, listings), so truth and servers agree and share caches."""
    return Catalog(seed, listings)


def price_truth(listing: Listing) -> str:
    return price_str(listing.price, listing.base.currency)
