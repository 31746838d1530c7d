"""Availability (in stock / out of stock / pre-order / discontinued) from markup and from
what the page says, in the languages of the shops we crawl.

Why: a listing that cannot be bought cannot be sampled, and a change of availability is a
change an inspector wants in a listing's history.  Markup says it with schema.org values;
pages without markup say it in words ("缺货", "在庫切れ", "품절", "ausverkauft") or by a buy
button that is missing or disabled.
"""

from __future__ import annotations

import re

IN_STOCK = "in_stock"
OUT_OF_STOCK = "out_of_stock"
PRE_ORDER = "pre_order"
DISCONTINUED = "discontinued"
VALUES = (IN_STOCK, OUT_OF_STOCK, PRE_ORDER, DISCONTINUED)

#: schema.org ItemAvailability (and the spellings shops use for it), by its last word.
_MARKUP = {
    "instock": IN_STOCK, "in_stock": IN_STOCK, "in stock": IN_STOCK, "available": IN_STOCK,
    "limitedavailability": IN_STOCK, "instoreonly": IN_STOCK, "onlineonly": IN_STOCK,
    "backorder": IN_STOCK, "madetoorder": IN_STOCK, "true": IN_STOCK, "1": IN_STOCK,
    "outofstock": OUT_OF_STOCK, "out_of_stock": OUT_OF_STOCK, "out of stock": OUT_OF_STOCK,
    "soldout": OUT_OF_STOCK, "sold_out": OUT_OF_STOCK, "sold out": OUT_OF_STOCK,
    "oos": OUT_OF_STOCK, "unavailable": OUT_OF_STOCK, "false": OUT_OF_STOCK, "0": OUT_OF_STOCK,
    "preorder": PRE_ORDER, "pre_order": PRE_ORDER, "presale": PRE_ORDER, "pre-order": PRE_ORDER,
    "discontinued": DISCONTINUED,
}

#: Visible cues, strongest first: (availability, phrases).  Matched case-insensitively in
#: short texts of the product's area (labels, buttons, stock notes), never in scripts.
CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (DISCONTINUED, (
        "discontinued", "no longer available", "no longer sold", "已停产", "停止销售", "已下架",
        "販売終了", "生産終了", "판매종료", "단종", "nicht mehr erhältlich",
        "nicht mehr verfügbar", "plus disponible", "n'est plus disponible", "descatalogado",
        "fuori produzione", "fora de linha", "снят с производства", "снято с продажи",
        "niet meer leverbaar", "wycofany", "üretimi durdu", "ngừng kinh doanh",
        "เลิกผลิต", "tidak diproduksi lagi")),
    (OUT_OF_STOCK, (
        "out of stock", "sold out", "currently unavailable", "temporarily unavailable",
        "not available", "缺货", "无货", "售罄", "已售完", "暂时缺货", "已抢光", "無庫存", "缺貨",
        "在庫切れ", "売り切れ", "品切れ", "在庫なし", "품절", "일시품절", "재고 없음", "재고없음",
        "ausverkauft", "nicht auf lager", "nicht lieferbar", "nicht verfügbar", "vergriffen",
        "rupture de stock", "épuisé", "indisponible", "agotado", "sin stock", "sin existencias",
        "no disponible", "esaurito", "non disponibile", "esgotado", "indisponível",
        "sem estoque", "fora de estoque", "нет в наличии", "распродано", "закончился",
        "uitverkocht", "niet op voorraad", "niet leverbaar", "brak w magazynie",
        "niedostępny", "wyprzedany", "stokta yok", "tükendi", "hết hàng", "tạm hết hàng",
        "สินค้าหมด", "หมดสต็อก", "stok habis", "habis", "tidak tersedia",
        # Central and Northern Europe, Greek, Hebrew, Arabic
        "vypredané", "nedostupné", "nie je skladom", "vyprodáno", "není skladem",
        "nincs készleten", "elfogyott", "stoc epuizat", "indisponibil", "nema na zalihi",
        "rasprodano", "ni na zalogi", "razprodano", "εξαντλήθηκε", "μη διαθέσιμο",
        "slut i lager", "tillfälligt slut", "udsolgt", "ikke på lager", "utsolgt",
        "loppuunmyyty", "ei varastossa", "אזל מהמלאי", "נגמר המלאי", "نفذت الكمية",
        "غير متوفر")),
    (PRE_ORDER, (
        "pre-order", "preorder", "pre order", "预售", "預購", "予約受付", "予約注文", "예약판매",
        "예약주문", "vorbestellen", "vorbestellung", "précommande", "précommander", "preventa",
        "reservar", "preordina", "prenota", "pré-venda", "pré-encomenda", "предзаказ",
        "pre-bestellen", "przedsprzedaż", "ön sipariş", "đặt trước", "สั่งจองล่วงหน้า",
        "pre-pesan")),
    (IN_STOCK, (
        "in stock", "available now", "ships today", "有货", "现货", "有貨", "現貨", "在庫あり",
        "在庫有り", "재고 있음", "재고있음", "auf lager", "sofort lieferbar", "lieferbar",
        "en stock", "disponible", "disponibile", "em estoque", "disponível", "в наличии",
        "op voorraad", "dostępny", "w magazynie", "stokta var", "còn hàng", "มีสินค้า",
        "stok tersedia", "tersedia", "skladom", "skladem", "raktáron", "în stoc",
        "na zalihi", "na zalogi", "i lager", "på lager", "varastossa", "σε απόθεμα",
        "במלאי", "متوفر")),
)
#: Labels of a buy control: its presence (enabled) says the product can be bought.
BUY = (
    "add to cart", "add to bag", "add to basket", "add to trolley", "buy now", "buy it now",
    "加入购物车", "立即购买", "马上抢", "加入購物車", "立即購買", "カートに入れる", "カートに追加",
    "今すぐ購入", "購入手続き", "장바구니", "바로구매", "구매하기", "in den warenkorb",
    "jetzt kaufen", "ajouter au panier", "acheter", "añadir al carrito", "agregar al carrito",
    "añadir a la cesta", "comprar", "aggiungi al carrello", "acquista", "adicionar ao carrinho",
    "adicionar à sacola", "в корзину", "купить", "in winkelwagen", "in winkelmand",
    "do koszyka", "kup teraz", "sepete ekle", "hemen al", "thêm vào giỏ", "mua ngay",
    "หยิบใส่ตะกร้า", "ใส่ตะกร้า", "ซื้อเลย", "ซื้อทันที", "tambah ke keranjang",
    "masukkan keranjang", "beli sekarang", "beli", "do košíka", "do košíku",
    "přidat do košíku", "pridať do košíka", "kúpiť", "koupit", "kosárba", "adaugă în coș",
    "u košaricu", "v košarico", "kupi", "в количката", "στο καλάθι", "lägg i varukorg",
    "læg i kurv", "legg i handlekurv", "lisää ostoskoriin", "הוסף לסל", "أضف إلى السلة")
_BUY_RE = re.compile("|".join(re.escape(b) for b in sorted(BUY, key=len, reverse=True)),
                     re.IGNORECASE)
#: The labels above, lower case: a link whose whole label is one is a buy control.
BUY_LABELS = frozenset(b.lower() for b in BUY)
#: Class/id/name words of a buy control, for buttons that are icons ("buy_btn", "buyBtn").
BUY_ATTR = re.compile(r"add[-_ ]?to[-_ ]?(cart|bag|basket)|buy[-_ ]?(now|button|box|btn)|addtocart|"
                      r"cart[-_]?(add(?!ress)|button|btn)|btn[-_]?(buy|cart)|purchase", re.IGNORECASE)
#: Each availability's phrases, matched in a lower-cased text: a case-insensitive
#: alternation costs Python's regex engine several times a case-sensitive one on the lowered
#: text (stock notes and button labels are read on every page).
_CUE_RE = tuple((value, re.compile(
    "|".join((r"(?<![\w-])" if p[0].isascii() and p[0].isalpha() else "") + re.escape(p)
             + (r"(?![\w-])" if p[-1].isascii() and p[-1].isalpha() else "")
             for p in sorted({p.lower() for p in phrases}, key=len, reverse=True))))
                for value, phrases in CUES)


def from_markup(value: object) -> str | None:
    """Availability from a schema.org / OpenGraph value (``https://schema.org/InStock``,
    ``"out of stock"``, ``"oos"``), else None."""
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("name") or value.get("@value")
    text = str(value).strip().lower()
    word = re.split(r"[/#:]", text)[-1].strip()
    return _MARKUP.get(word) or _MARKUP.get(word.replace(" ", "")) or _MARKUP.get(text)


def from_text(text: str) -> str | None:
    """Availability a short visible *text* states (a stock note, a button label), else
    None.  Discontinued is looked for first, then out of stock (so "not in stock" is out,
    although it contains "in stock"), then pre-order, then in stock."""
    if not text:
        return None
    lowered = text.lower()
    if "not in stock" in lowered or "no stock" in lowered:
        return OUT_OF_STOCK
    for value, pattern in _CUE_RE:
        if pattern.search(lowered):
            return value
    return None


#: Words that make a cue a condition, a warning or part of a choice, not a statement of the
#: product's state: "notify me when sizes sell out", "almost sold out", "some colours out
#: of stock", "email me if it is back in stock".
_QUALIFIED = re.compile(
    r"(?<!\w)(?:when|if|once|until|notify|alert|email|e-mail|remind|subscribe|wenn|sobald|"
    r"falls|benachrichtig\w*|quand|lorsque|cuando|avís\w*|avvis\w*|quando|almost|nearly|"
    r"soon|fast|quickly|likely|low|only|few|some|selected|certain|sizes?|colou?rs?|variants?|"
    r"options?|bald|presque|casi|quasi|bientôt|pronto|einige|certaines|"
    r"algunas|alcune|back)(?!\w)|通知|お知らせ|알림|到货|入荷|即将|快要|部分|一部|もうすぐ|곧",
    re.IGNORECASE)
#: How many characters besides the cue a statement may hold ("This item is currently",
#: "Availability:", "该商品"), and how many words.
_STATEMENT_REST = 24
_STATEMENT_WORDS = 4


def states(text: str) -> str | None:
    """The availability a short text states on its own ("Sold out", "This item is out of
    stock", "Availability: 缺货", "품절"), else None.

    Why: a plain paragraph beside a product's heading and price that says it is sold out is
    the page's word on its stock, but the same words inside a sentence ("notify me when
    sizes sell out", "almost sold out", "some colours out of stock") are not.  The cue must
    be most of the text: a few words around it, no word that makes it a condition, a
    warning or part of a choice."""
    if not text or len(text) > 60:
        return None
    value = from_text(text)
    if value is None:
        return None
    lowered = " ".join(text.lower().split())
    if _QUALIFIED.search(lowered):
        return None
    pattern = dict(_CUE_RE)[value]
    found = pattern.search(lowered) or re.search(r"not in stock|no stock", lowered)
    if found is None:
        return None
    rest = f"{lowered[:found.start()]} {lowered[found.end():]}"
    words = re.findall(r"\w+", rest)
    if len(words) > _STATEMENT_WORDS or sum(map(len, words)) > _STATEMENT_REST:
        return None
    return value


def is_buy_label(text: str) -> bool:
    """Whether *text* (a button's label) asks to buy or to put in the cart."""
    return bool(text) and len(text) <= 60 and bool(_BUY_RE.search(text))
