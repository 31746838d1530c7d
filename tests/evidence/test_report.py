"""The pack report as people read it (rendered without a browser): fingerprints to compare on
its first page, times in the bureau's zone to the second with UTC, a fact the page did not
state is not printed as 无, byte-identical files say so."""

from __future__ import annotations

from evidence.render import render

META = {"requested_url": "http://shop/item/1", "final_url": "http://shop/item/1",
        "started_at": "2026-12-07T14:51:12.5+00:00", "finished_at": "2026-12-07T14:51:19+00:00",
        "operator": "调查员甲", "server_ip": None, "purpose": None}
PACK = {"title": "AJ-1", "created_at": "2026-12-07T14:52:00+00:00", "actor": "a",
        "key_fingerprint": "ab" * 32, "case": None, "wacz_ca": "ef" * 32,
        "tsa_roots": {"cd" * 32: {"subject": "CN=Test Root", "chain": "tsa/0-chain.pem"}}}


def _report(locale: str, availability: str | None = None) -> str:
    cap = {"id": 1, "kind": "listing", "meta": META, "manifest_sha256": "m" * 64,
           "facts": {"title": "保温杯", "price": "99", "currency": "CNY",
                     "availability": availability},
           "timestamps": [{"gen_time": "2026-12-07 14:51:20+00:00", "tsa": "CN=TSA"}],
           "thumbnail": None,
           "files": [{"path": "captures/1/a.png", "sha256": "s" * 64, "size": 9, "same_as": None},
                     {"path": "captures/1/b.png", "sha256": "s" * 64, "size": 9,
                      "same_as": "captures/1/a.png"}]}
    return render("evidence_report.html", locale, pack=PACK, captures=[cap], withheld=[])


def test_report_for_people() -> None:
    zh, en = _report("zh-CN"), _report("en")
    first = zh.split("<h2>", 2)
    assert "ab" * 32 in first[0] and "cd" * 32 in first[0] and "ef" * 32 in first[0]
    assert "请先核对指纹" in first[1] and "tail -c 32 | sha256sum" in first[1]
    assert "2026-12-07 22:51:12 北京时间 (2026-12-07 14:51:12 UTC)" in zh
    assert "2026-12-07 22:51:20 Beijing time (2026-12-07 14:51:20 UTC)" in en
    assert "页面未标明" in zh and "not stated on the page" in en
    assert "库存状态</th><td>页面未标明</td>" in zh and "库存状态</th><td>无" not in zh
    assert "与下列文件逐字节相同" in zh and "Byte for byte the same file" in en


def test_availability_reads_as_words_in_the_report_and_the_provenance_page() -> None:
    """A recorded availability code (or an older capture's schema.org name) is a word for
    the reader, never the raw code (the provenance page: the re-capture end-to-end test)."""
    assert "库存状态</th><td>缺货</td>" in _report("zh-CN", "out_of_stock")
    assert "<td>out of stock</td>" in _report("en", "OutOfStock")
    assert "<td>LimitedEdition</td>" in _report("en", "LimitedEdition")  # unknown: as is
