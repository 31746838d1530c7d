"""Labels of product facts in the languages of the shops we crawl ("Brand", "品牌",
"Marke", "ブランド", "Artikelnummer", "型号", "EAN" …), mapped to the field they name.

Why: spec tables and "SKU: …" lines are how pages without markup state brand, model and
identifiers; the label is the only thing that says which is which.
"""

from __future__ import annotations

import re
from functools import lru_cache

LABELS: dict[str, tuple[str, ...]] = {
    "brand": ("brand", "brand name", "manufacturer", "品牌", "品牌名称", "品牌名", "牌子",
              "ブランド", "メーカー", "製造元", "브랜드", "제조사", "marke", "hersteller",
              "marque", "fabricant", "marca", "fabricante", "produttore", "merk", "merek",
              "бренд", "производитель", "марка", "producent", "marka", "üretici",
              "thương hiệu", "nhãn hiệu", "ยี่ห้อ", "แบรนด์"),
    "sku": ("sku", "sku#", "sku no", "item #", "item no", "item no.", "item number",
            "item code", "article number", "article no", "art. no.", "art.-nr.", "art.nr.",
            "artikelnummer", "artikel-nr.", "artikelnr.", "product code", "product id",
            "product number", "product no", "stock code", "ref", "ref.", "référence", "réf.",
            "reference", "referencia", "código", "codice", "codice articolo", "asin",
            "商品编号", "商品編號", "货号", "貨號", "商品货号", "商品id", "商品番号", "品番", "商品コード",
            "상품번호", "상품코드", "상품id", "상품 id", "품번", "артикул", "код товара", "kod produktu", "numer katalogowy",
            "ürün kodu", "stok kodu", "mã sản phẩm", "mã hàng", "รหัสสินค้า", "kode produk",
            "sku produk", "web id", "model #", "internet #", "store sku #",
            # the product code as Central, Eastern and Southern European shops label it
            "bestellnummer", "bestell-nr.", "best.-nr.", "artikel-nr", "id produto",
            "código do produto", "referência", "код", "kód produktu", "kód",
            "katalógové číslo", "katalogové číslo", "číslo produktu", "šifra",
            "šifra artikla", "šifra proizvoda", "cikkszám", "termékkód", "cod produs",
            "varenummer", "varenr.", "tuotenumero", "κωδικός", "κωδικός προϊόντος"),
    "mpn": ("model", "model no", "model no.", "model number", "item model number", "mpn",
            "part number", "manufacturer part number", "mfr part number", "型号", "型號",
            "规格型号", "产品型号", "型番", "モデル", "모델명", "모델", "modell", "modellnummer",
            "modèle", "modelo", "modello", "модель", "model numarası", "mẫu", "รุ่น"),
    "seller": ("seller", "sold by", "sold and shipped by", "vendor", "卖家", "商家", "店铺", "賣家",
               "販売元", "出品者", "판매자", "verkäufer", "verkauf durch", "vendu par",
               "vendedor", "venditore", "vendido por", "продавец", "verkoper", "sprzedawca",
               "satıcı", "người bán", "ผู้ขาย", "penjual"),
    "gtin": ("ean", "gtin", "upc", "jan", "isbn", "ean-13", "ean13", "gtin-13", "barcode",
             "条形码", "条码", "商品条码", "jan コード", "janコード", "바코드", "штрихкод",
             "kod ean", "código ean"),
}
_INDEX = {label: name for name, labels in LABELS.items() for label in labels}
_STRIP = re.compile(r"[\s:：#.\-]+$|^[\s•·\-]+")


#: What can follow a label in a text label_of reads as one ("品牌：", "SKU#", "Kód ",
#: "品牌/Brand"): what it strips after a label, and the slash between alternatives.
_AFTER_LABEL = ":：#.-/" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


@lru_cache(maxsize=1)
def label_prefixes() -> frozenset[str]:
    """The first three characters (lower case) of a text that is a label: every label's
    first three, and a label of two characters ("品牌", "型号") alone or followed by what
    label_of strips after it.  Most of a page's texts are told apart from labels by them,
    without normalising (by their first two characters, four in five texts were still
    normalised for nothing)."""
    prefixes = set()
    for label in _INDEX:
        if len(label) >= 3:
            prefixes.add(label[:3])
        else:
            prefixes.add(label)
            prefixes.update(label + c for c in _AFTER_LABEL)
    return frozenset(prefixes)


#: Model labels Chinese and Japanese marketplaces write after the brand's name ("Apple型号",
#: "Canon型番"): Tmall's and Taobao's spec lists label every model so.
BRANDED_MODEL = re.compile(r"^[\w&+./' -]{1,30}?(型号|型號|型番)$")


def label_of(text: str) -> str | None:
    """The field (``brand``, ``sku``, ``mpn``, ``gtin``) a label names, else None."""
    if not text or len(text) > 40:
        return None
    key = text.strip().lower().rstrip(" :：#.-\u00a0").lstrip(" •·-")
    found = _INDEX.get(key)
    if found or not key:
        return found
    key = _STRIP.sub("", key)
    found = _INDEX.get(key) or _INDEX.get(key + ".") or _INDEX.get(key.rstrip("."))
    if found is None and key[-1] in "号號番":
        branded = BRANDED_MODEL.match(key)
        if branded and branded.group(1) != key:
            return _INDEX.get(branded.group(1))
    if found is None and "/" in key:
        # Alternatives under one label ("ISBN/ISSN", "EAN/UPC"): the field its first names,
        # when no other alternative names another field.
        parts = [_INDEX.get(part.strip()) for part in key.split("/")]
        named = {part for part in parts if part}
        if parts[0] and named == {parts[0]}:
            return parts[0]
    return found
