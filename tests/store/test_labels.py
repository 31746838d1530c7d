"""Every code of the vocabulary has a label in every locale (store.labels)."""

from __future__ import annotations

import enum

from store import vocabulary
from store.labels import LABELS, LOCALES, label, labels_of


def _enums() -> list[type[enum.StrEnum]]:
    return [obj for obj in vars(vocabulary).values()
            if isinstance(obj, type) and issubclass(obj, enum.StrEnum)
            and obj.__module__ == vocabulary.__name__]


def test_every_vocabulary_code_has_a_label_in_every_locale() -> None:
    kinds = _enums()
    assert len(kinds) >= 10
    missing = [f"{kind.__name__}.{member.value}" for kind in kinds for member in kind
               if member.value not in LABELS.get(kind, {})]
    assert missing == []
    stray = [f"{kind.__name__}.{code}" for kind, codes in LABELS.items() for code in codes
             if code not in {m.value for m in kind}]
    assert stray == []
    for kind in kinds:
        for locale in LOCALES:
            assert all(text and text != "—" for text in labels_of(kind, locale).values())


def test_label_reads_the_locale() -> None:
    assert label(vocabulary.SupervisionClass, "key") == "重点监管类"
    assert label(vocabulary.SupervisionClass, vocabulary.SupervisionClass.KEY, "en") \
        == "key supervision"
    assert label(vocabulary.Sector, "unknown-code", "en") == "unknown-code"
    assert label(vocabulary.Sector, None) == "—"



def test_every_plain_code_has_both_texts() -> None:
    from store.labels import TEXT_LABELS

    for domain, codes in TEXT_LABELS.items():
        for code, pair in codes.items():
            assert len(pair) == 2 and all(t.strip() for t in pair), (domain, code)


def test_a_numbered_code_reads_as_its_kind_with_the_number() -> None:
    from store.labels import text_label

    assert text_label("artifact_role", "timestamp_0") == "RFC 3161 时间戳令牌 0"
    assert text_label("artifact_role", "timestamp_1", "en") == "RFC 3161 time-stamp token 1"
    assert text_label("artifact_role", "manifest") == "取证清单"
    assert text_label("artifact_role", "nothing_2") == "nothing_2"  # unknown kind: as it is


def test_yes_and_no_read_from_one_label() -> None:
    """是 / 否: the CLI's cells, message parameters and audit details all read a truth value
    through store.labels.yes_no."""
    from spotcheck.web.auditview import detail_text
    from store.labels import yes_no
    from store.messages import _shown

    assert (yes_no(True), yes_no(0, "en")) == ("是", "no")
    assert _shown("anything", False, "zh-CN") == "否"
    assert detail_text({"pdf": True}, "en").endswith("yes")


def test_a_stratum_names_its_platform_and_labels_its_coded_parts() -> None:
    from store.labels import stratum_label

    names = {"mall": "跨境商城", "shop": "Shop 小店"}
    assert stratum_label("mall/electrical", "zh-CN", names) == "跨境商城/电子电器"
    assert stratum_label("shop/electrical/key", "en", names).startswith("Shop 小店/")
    # a code no platform has, and no mapping at all, stay as they are
    assert stratum_label("mall/electrical", "zh-CN") == "mall/电子电器"
    assert stratum_label("tmall/electrical", "zh-CN", names) == "tmall/电子电器"


def test_a_reason_quoting_a_stratum_reads_it_as_it_reads_now() -> None:
    """A plan item's reason is written when drawn ("层 mall/纺织：…"); shown, its stratum
    reads labelled with the platform named, also in a plan drawn before reasons labelled it."""
    from store.labels import stratum_in_text

    names = {"mall": "跨境商城"}
    assert stratum_in_text("层 mall/纺织：65 个商品中抽 3 个", "mall/textiles", "zh-CN",
                           names) == "层 跨境商城/纺织：65 个商品中抽 3 个"
    assert stratum_in_text("stratum mall/textiles: 3 of 65", "mall/textiles", "en",
                           names) == "stratum 跨境商城/textiles: 3 of 65"
    assert stratum_in_text("层 textiles/key", "textiles/key", "zh-CN") == "层 纺织/重点监管类"
    assert stratum_in_text("nothing quoted", "mall/textiles", "zh-CN", names) == "nothing quoted"
