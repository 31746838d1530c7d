"""Static vocabulary of the synthetic marketplace: sectors, categories, brands, words.

Kept apart from the generator so the tables can be read (and extended) without reading
the generation logic. Brand names are invented on purpose: planted "counterfeits" must
not name real trademark owners.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTORS: tuple[str, ...] = ("light_industry", "textiles", "electrical")
SECTOR_ZH = {"light_industry": "轻工", "textiles": "纺织", "electrical": "电子电器"}
PLATFORMS: tuple[str, ...] = ("mall", "spa", "shop")


@dataclass(frozen=True, slots=True)
class Category:
    """A product category; `supervision` is the default class of its listings."""

    slug: str
    zh: str
    en: str
    sector: str
    supervision: str  # "key" or "general" (prohibited is decided per listing)
    requires_ccc: bool
    price_lo: int  # typical price range in CNY
    price_hi: int
    nouns: tuple[tuple[str, str], ...]  # (zh, en) product nouns
    specs: tuple[tuple[str, str], ...]  # (zh, en) spec fragments


CATEGORIES: tuple[Category, ...] = (
    # light industry
    Category("kitchenware", "厨房用具", "Kitchenware", "light_industry", "general", False, 30, 600,
             (("不锈钢炒锅", "Stainless Wok"), ("陶瓷汤碗", "Ceramic Soup Bowl"), ("保温杯", "Vacuum Flask")),
             (("32厘米", "32cm"), ("500毫升", "500ml"), ("两件套", "2-piece set"))),
    Category("toys", "儿童玩具", "Toys", "light_industry", "key", True, 20, 500,
             (("遥控赛车", "RC Racing Car"), ("毛绒玩偶", "Plush Doll"), ("积木套装", "Building Blocks Set")),
             (("3岁以上", "Ages 3+"), ("120片", "120 pcs"), ("带电池", "with battery"))),
    Category("child-car-seats", "儿童安全座椅", "Child Car Seats", "light_industry", "key", True, 300, 2500,
             (("儿童安全座椅", "Child Car Seat"), ("增高垫", "Booster Seat")),
             (("ISOFIX接口", "ISOFIX"), ("0-4岁", "0-4 years"), ("360度旋转", "360° rotation"))),
    Category("stationery", "文具", "Stationery", "light_industry", "general", False, 5, 200,
             (("中性笔", "Gel Pen"), ("笔记本", "Notebook"), ("彩色铅笔", "Coloured Pencils")),
             (("12支装", "pack of 12"), ("A5", "A5"), ("36色", "36 colours"))),
    Category("household-cleaning", "家用清洁", "Household Cleaning", "light_industry", "general", False, 10, 150,
             (("厨房清洁剂", "Kitchen Cleaner"), ("洗衣凝珠", "Laundry Pods"), ("除垢剂", "Descaler")),
             (("500毫升", "500ml"), ("30颗", "30 pods"), ("柠檬香", "lemon scent"))),
    Category("lighters", "打火机", "Lighters", "light_industry", "key", False, 10, 800,
             (("防风打火机", "Windproof Lighter"), ("充电点烟器", "Rechargeable Lighter")),
             (("金属外壳", "metal case"), ("USB充电", "USB charging"))),
    # textiles
    Category("womens-clothing", "女装", "Women's Clothing", "textiles", "general", False, 60, 1200,
             (("连衣裙", "Dress"), ("羊毛大衣", "Wool Coat"), ("真丝衬衫", "Silk Blouse")),
             (("S-XL", "S-XL"), ("100%羊毛", "100% wool"), ("2026春季", "Spring 2026"))),
    Category("childrens-clothing", "童装", "Children's Clothing", "textiles", "key", False, 40, 400,
             (("儿童卫衣", "Kids Hoodie"), ("婴儿连体衣", "Baby Bodysuit"), ("儿童羽绒服", "Kids Down Jacket")),
             (("100-140码", "100-140cm"), ("A类", "Class A"), ("纯棉", "pure cotton"))),
    Category("bedding", "床上用品", "Bedding", "textiles", "general", False, 80, 1500,
             (("四件套", "Duvet Cover Set"), ("蚕丝被", "Silk Duvet"), ("乳胶枕", "Latex Pillow")),
             (("1.8米床", "king size"), ("60支长绒棉", "60s long-staple cotton"))),
    Category("towels", "毛巾浴巾", "Towels", "textiles", "general", False, 15, 200,
             (("纯棉毛巾", "Cotton Towel"), ("浴巾", "Bath Towel")),
             (("3条装", "pack of 3"), ("70x140厘米", "70x140cm"))),
    Category("shoes", "鞋靴", "Shoes", "textiles", "general", False, 100, 2000,
             (("跑步鞋", "Running Shoes"), ("真皮短靴", "Leather Ankle Boots")),
             (("36-44码", "EU 36-44"), ("透气网面", "breathable mesh"))),
    Category("handbags", "箱包", "Handbags", "textiles", "general", False, 150, 15000,
             (("真皮手提包", "Leather Tote Bag"), ("斜挎包", "Crossbody Bag"), ("钱包", "Wallet")),
             (("头层牛皮", "full-grain leather"), ("中号", "medium"))),
    # electrical & electronic
    Category("phone-chargers", "手机充电器", "Phone Chargers", "electrical", "key", True, 20, 300,
             (("快充充电器", "Fast Charger"), ("氮化镓充电头", "GaN Charger")),
             (("65W", "65W"), ("双口", "dual port"), ("PD3.0", "PD3.0"))),
    Category("power-banks", "移动电源", "Power Banks", "electrical", "key", True, 50, 500,
             (("移动电源", "Power Bank"), ("磁吸充电宝", "Magnetic Power Bank")),
             (("20000毫安", "20000mAh"), ("10000毫安", "10000mAh"), ("22.5W", "22.5W"))),
    Category("hair-dryers", "电吹风", "Hair Dryers", "electrical", "key", True, 80, 3500,
             (("负离子吹风机", "Ionic Hair Dryer"), ("高速吹风机", "High-speed Hair Dryer")),
             (("1800W", "1800W"), ("恒温护发", "heat control"))),
    Category("headphones", "耳机", "Headphones", "electrical", "general", False, 50, 2500,
             (("蓝牙耳机", "Bluetooth Earbuds"), ("降噪头戴耳机", "Noise-cancelling Headphones")),
             (("主动降噪", "ANC"), ("30小时续航", "30h battery"))),
    Category("smartphones", "手机", "Smartphones", "electrical", "key", True, 800, 9000,
             (("智能手机", "Smartphone"), ("折叠屏手机", "Foldable Phone")),
             (("256GB", "256GB"), ("5G", "5G"), ("12GB+512GB", "12GB+512GB"))),
    Category("kettles", "电热水壶", "Electric Kettles", "electrical", "key", True, 60, 800,
             (("电热水壶", "Electric Kettle"), ("恒温烧水壶", "Temperature-control Kettle")),
             (("1.7升", "1.7L"), ("304不锈钢", "304 stainless steel"))),
)
CATEGORY_BY_SLUG = {c.slug: c for c in CATEGORIES}
CATEGORIES_BY_SECTOR: dict[str, tuple[Category, ...]] = {
    s: tuple(c for c in CATEGORIES if c.sector == s) for s in SECTORS
}
PER_SECTOR = 6
assert all(len(v) == PER_SECTOR for v in CATEGORIES_BY_SECTOR.values())


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand; `famous` brands have a price norm (`factor` x category midpoint) worth faking."""

    slug: str
    en: str
    zh: str
    sector: str
    famous: bool
    factor: float
    origin: str  # ISO 3166 alpha-2 of the brand's home


BRANDS: tuple[Brand, ...] = (
    Brand("maison-lumiere", "Maison Lumière", "卢米埃之家", "light_industry", True, 2.6, "FR"),
    Brand("nordvik", "Nordvik", "诺德维克", "light_industry", True, 2.2, "DE"),
    Brand("kaito-kogei", "Kaito Kogei", "海人工艺", "light_industry", True, 2.0, "JP"),
    Brand("meiju", "Meiju", "美居", "light_industry", False, 1.0, "CN"),
    Brand("tongle", "Tongle", "童乐", "light_industry", False, 0.9, "CN"),
    Brand("hanil-living", "Hanil Living", "韩一生活", "light_industry", False, 1.1, "KR"),
    Brand("aurelia", "Aurelia", "奥蕾莉亚", "textiles", True, 3.0, "IT"),
    Brand("velmont", "Velmont", "维尔蒙", "textiles", True, 2.4, "FR"),
    Brand("stride-co", "Stride & Co.", "步履", "textiles", True, 2.0, "US"),
    Brand("senyu", "Senyu", "森语", "textiles", False, 1.0, "CN"),
    Brand("mianmian", "Mianmian", "棉棉", "textiles", False, 0.8, "CN"),
    Brand("seoul-knit", "Seoul Knit", "首尔针织", "textiles", False, 1.1, "KR"),
    Brand("voltaris", "Voltaris", "沃特瑞斯", "electrical", True, 2.5, "US"),
    Brand("kazehana", "Kazehana Denki", "风花电机", "electrical", True, 2.2, "JP"),
    Brand("brightwell", "Brightwell", "布莱威尔", "electrical", True, 2.0, "DE"),
    Brand("tuoke", "Tuoke", "拓客", "electrical", False, 0.9, "CN"),
    Brand("xinyue", "Xinyue", "欣悦", "electrical", False, 0.8, "CN"),
    Brand("daehan-tech", "Daehan Tech", "大韩科技", "electrical", False, 1.0, "KR"),
)
BRAND_BY_SLUG = {b.slug: b for b in BRANDS}
BRANDS_BY_SECTOR: dict[str, tuple[Brand, ...]] = {s: tuple(b for b in BRANDS if b.sector == s) for s in SECTORS}
FAMOUS_BY_SECTOR: dict[str, tuple[Brand, ...]] = {
    s: tuple(b for b in BRANDS_BY_SECTOR[s] if b.famous) for s in SECTORS
}
GENERIC_BY_SECTOR: dict[str, tuple[Brand, ...]] = {
    s: tuple(b for b in BRANDS_BY_SECTOR[s] if not b.famous) for s in SECTORS
}

ORIGIN_CURRENCY = {"CN": "CNY", "US": "USD", "DE": "EUR", "FR": "EUR", "IT": "EUR", "JP": "JPY", "KR": "KRW"}
# CNY per unit of currency: fixed so the truth is reproducible.
CNY_PER = {"CNY": 1.0, "USD": 7.2, "EUR": 7.8, "JPY": 0.048, "KRW": 0.0052}
COUNTRY_NAME = {"CN": "China", "US": "United States", "DE": "Germany", "FR": "France",
                "IT": "Italy", "JP": "Japan", "KR": "South Korea"}

# Prohibited goods planted into ordinary categories (禁止入境类).
HAZARDOUS_ITEMS: tuple[tuple[str, str], ...] = (
    ("工业级过氧化氢 50%浓度 清洗消毒", "Industrial Hydrogen Peroxide 50% Cleaner"),
    ("浓硫酸 98% 管道疏通剂 强力", "Sulfuric Acid 98% Drain Opener"),
    ("氰化钠 电镀用 分析纯", "Sodium Cyanide Electroplating Grade"),
    ("水银 汞 实验用 高纯", "Mercury Metal Lab Grade High Purity"),
    ("氢氟酸 玻璃蚀刻液 55%", "Hydrofluoric Acid Glass Etching 55%"),
)
USED_ITEMS: dict[str, tuple[tuple[str, str], ...]] = {
    "textiles": (("二手旧衣服 按斤打包 外贸", "Used Clothing Bulk Bale by kg"),
                 ("旧鞋 二手 批发 按包", "Second-hand Shoes Wholesale Bale")),
    "electrical": (("二手拆机主板 废旧电路板", "Used Salvaged Circuit Boards Scrap"),
                   ("旧手机 拆机 翻新 按台", "Used Refurbished Phones Scrap Lot"),
                   ("废旧锂电池 拆机电芯", "Used Salvaged Lithium Cells")),
    "light_industry": (("二手旧玩具 按箱", "Used Toys by the Box"),),
}

HOSTILE_SNIPPETS: tuple[str, ...] = (
    '<script>alert("sbx")</script>',
    '"><img src=x onerror=alert(1)>',
    "\u202e" + "عرض خاص" + " \u05de\u05d1\u05e6\u05e2",  # RTL override + Arabic + Hebrew
    "🔥🔥限时特价🔥💯✅👍",
    "LONG",  # replaced by a very long string
    "'; DROP TABLE listings; --",
)

CITIES_ZH = ("深圳", "广州", "义乌", "杭州", "上海", "宁波", "厦门", "东莞", "苏州", "青岛")
CITY_EN = {"深圳": "Shenzhen", "广州": "Guangzhou", "义乌": "Yiwu", "杭州": "Hangzhou", "上海": "Shanghai",
           "宁波": "Ningbo", "厦门": "Xiamen", "东莞": "Dongguan", "苏州": "Suzhou", "青岛": "Qingdao"}
CITY_REGION = {"深圳": "440300", "广州": "440100", "义乌": "330782", "杭州": "330100", "上海": "310000",
               "宁波": "330200", "厦门": "350200", "东莞": "441900", "苏州": "320500", "青岛": "370200"}
SHOP_WORDS_ZH = ("优选", "海淘", "环球", "精品", "直邮", "汇", "好物", "臻品", "尚品", "全球购")
SHOP_SUFFIX_ZH = ("专营店", "海外专营店", "旗舰店", "小店", "进口馆")
SHOP_WORDS_EN = ("Global", "Direct", "Select", "Prime", "Lucky", "Golden", "Star", "Ocean", "Trend", "Bright")
SHOP_SUFFIX_EN = ("Store", "Trading Co.", "Outlet", "Shop", "Official Store")
ADJ_ZH = ("正品", "新款", "热卖", "进口", "包邮", "官方", "跨境直邮", "")
ADJ_EN = ("Genuine", "New", "Hot Sale", "Imported", "Free Shipping", "Official", "")
