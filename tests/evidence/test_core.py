"""Storage, keys, timestamps, custody chain, address policy, WARC writing — no browser."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from evidence import custody
from evidence.facts import extract_facts
from evidence.keys import load_or_create, load_public, verify_signature
from evidence.localtsa import LocalTSA
from evidence.netguard import AddressPolicy, check_url, host_matches
from evidence.tsa import check_response, timestamp, timestamp_all
from evidence.warc import Resource, WireExchange, write_warc
from store.artifacts import ArtifactStore
from store.db import Database
from store.errors import InvalidInput, ServiceUnavailable, VerificationFailed
from store.models import CustodyEvent


def test_store_is_content_addressed_and_deduplicated(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    a = store.put(b"screenshot bytes")
    b = store.put(b"screenshot bytes")
    assert a.sha256 == hashlib.sha256(b"screenshot bytes").hexdigest()
    assert a.path == tmp_path / a.sha256[:2] / a.sha256
    assert a.new and not b.new
    assert store.read(a.sha256) == b"screenshot bytes"
    assert not list(a.path.parent.glob(".tmp-*"))
    a.path.chmod(0o644)
    a.path.write_bytes(b"altered")
    with pytest.raises(VerificationFailed):
        store.read(a.sha256)


def test_key_is_created_once_signs_and_verifies(tmp_path: Path) -> None:
    keys = [None, None]

    def make(i: int) -> None:
        keys[i] = load_or_create(tmp_path)  # type: ignore[call-overload]

    threads = [threading.Thread(target=make, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    k1, k2 = keys
    assert k1 is not None and k2 is not None
    assert k1.fingerprint == k2.fingerprint
    assert (tmp_path / "installation-ed25519.pem").stat().st_mode & 0o077 == 0
    sig = k1.sign(b"manifest")
    pub = load_public(k1.public_pem())
    assert verify_signature(pub, b"manifest", sig)
    assert not verify_signature(pub, b"manifesT", sig)
    assert not verify_signature(pub, b"manifest", "not base64!")
    with pytest.raises(InvalidInput):
        load_public(b"garbage")


def test_timestamp_from_local_tsa_verifies_here_and_with_openssl(
        local_tsa: LocalTSA, tmp_path: Path) -> None:
    data = "证据清单 manifest".encode()
    token = timestamp(data, local_tsa.url)
    assert abs((token.gen_time - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    ok = check_response(token.response, hashlib.sha256(data).digest())
    assert ok.ok, ok.reason
    assert "local TSA" in ok.tsa_name and ok.root_fingerprint
    assert b"BEGIN CERTIFICATE" in ok.chain_pem
    other = check_response(token.response, hashlib.sha256(b"other").digest())
    assert not other.ok and "message imprint" in other.reason
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "r.tsr").write_bytes(token.response)
    proc = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "data"), "-in",
                           str(tmp_path / "r.tsr"), "-CAfile", str(local_tsa.ca_file)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr
    # the signed TSTInfo altered (a byte of the generation time) must not verify
    tampered = bytearray(token.response)
    idx = tampered.find(token.gen_time.strftime("%Y%m%d%H%M%S").encode())
    assert idx > 0
    tampered[idx + 3] ^= 0x01
    bad = check_response(bytes(tampered), hashlib.sha256(data).digest())
    assert not bad.ok and bad.reason


def test_local_tsa_in_a_relative_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    """The default data folder is relative (./spotcheck-data): the TSA must still answer."""
    monkeypatch.chdir(tmp_path)
    with LocalTSA(Path("spotcheck-data") / "keys" / "local-tsa") as tsa:
        token = timestamp(b"relative", tsa.url)
    assert check_response(token.response, hashlib.sha256(b"relative").digest()).ok


def test_unreachable_tsa_is_a_service_error(local_tsa: LocalTSA) -> None:
    with pytest.raises(ServiceUnavailable):
        timestamp_all(b"x", ["http://127.0.0.1:9/tsa"])
    tokens = timestamp_all(b"x", ["http://127.0.0.1:9/tsa", local_tsa.url])
    assert len(tokens) == 1 and tokens[0].tsa_url == local_tsa.url


def test_custody_chain_appends_and_detects_edits(any_db: Database) -> None:
    with any_db.session() as s:
        for i in range(4):
            custody.record(s, "viewed", f"user{i}", detail={"i": i, "备注": "查看"})
    with any_db.session() as s:
        assert custody.check_database(s).ok
        events = [custody.as_dict(e) for e in
                  s.scalars(select(CustodyEvent).order_by(CustodyEvent.seq))]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[0]["prev_hash"] == custody.GENESIS
    assert custody.check_chain(events).ok
    edited = [dict(e) for e in events]
    edited[2]["actor"] = "mallory"
    res = custody.check_chain(edited)
    assert not res.ok and "seq 3" in res.problems[0] and "edited" in res.problems[0]
    swapped = [events[0], events[2], events[1], events[3]]
    res = custody.check_chain(swapped)
    assert not res.ok and any("reordered" in p for p in res.problems)
    dropped = [events[0], events[1], events[3]]
    assert not custody.check_chain(dropped).ok
    # an edit in the database itself is caught too
    with any_db.session() as s:
        s.execute(update(CustodyEvent).where(CustodyEvent.seq == 2)
                  .values(action="annotated"))
    with any_db.session() as s:
        res = custody.check_database(s)
        assert not res.ok and "seq 2" in res.problems[0]


def test_custody_appends_from_many_threads_never_fork(any_db: Database) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                with any_db.session() as s:
                    custody.record(s, "annotated", f"w{n}", detail={"i": i})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    with any_db.session() as s:
        seqs = list(s.scalars(select(CustodyEvent.seq).order_by(CustodyEvent.seq)))
        assert seqs == list(range(1, 33))
        assert custody.check_database(s).ok


def test_address_policy_refuses_private_networks_unless_allowed() -> None:
    strict = AddressPolicy([])
    assert not strict.address_allowed("127.0.0.1")
    assert not strict.address_allowed("10.1.2.3")
    assert not strict.address_allowed("169.254.169.254")
    assert not strict.address_allowed("::1")
    assert not strict.address_allowed("::ffff:192.168.0.1")
    assert strict.address_allowed("93.184.216.34")
    loose = AddressPolicy(["127.0.0.0/8"])
    assert loose.address_allowed("127.0.0.5") and not loose.address_allowed("10.0.0.1")
    with pytest.raises(InvalidInput):
        check_url("file:///etc/passwd")
    with pytest.raises(InvalidInput):
        check_url("javascript:alert(1)")
    assert check_url("https://Shop.Example.com/x") == "shop.example.com"
    assert host_matches("img.shop.example.com", ["shop.example.com"])
    assert not host_matches("evilshop.example.com", ["shop.example.com"])


def _wire(url: str, request_headers: list[tuple[str, str]], status_line: str,
          response_headers: list[tuple[str, str]], body: bytes) -> WireExchange:
    req = "GET / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request_headers)
    head = (status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in response_headers)
            + "\r\n").encode()
    return WireExchange(url=url, method="GET", request=(req + "\r\n").encode(),
                        response=head + body, payload_offset=len(head),
                        status=int(status_line.split()[1]), at=dt.datetime.now(dt.UTC),
                        server_ip="127.0.0.1")


def test_warc_keeps_the_bytes_from_the_wire_and_passes_warcio(tmp_path: Path) -> None:
    import gzip

    body = gzip.compress("<html>价格 ¥89</html>".encode())
    ex = _wire("http://shop.test/item/1", [("User-Agent", "x"), ("Host", "shop.test")],
               "HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                   ("Content-Length", str(len(body)))], body)
    data = write_warc([ex], [Resource("urn:x:shot", "image/png", b"\x89PNG...")],
                      {"uuid": "u"}, software="test", started=dt.datetime.now(dt.UTC))
    path = tmp_path / "t.warc.gz"
    path.write_bytes(data)
    check = subprocess.run([str(Path(__import__("sys").executable).with_name("warcio")),
                            "check", "-v", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no digest to check" not in check.stdout
    index = subprocess.run([str(Path(__import__("sys").executable).with_name("warcio")),
                            "index", "-f", "warc-type,warc-target-uri", str(path)],
                           capture_output=True, text=True, check=True).stdout
    assert '"warc-type": "response"' in index and '"warc-type": "resource"' in index
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        rec = next(r for r in ArchiveIterator(fh) if r.rec_type == "response")
        assert rec.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
        assert rec.http_headers.protocol == "HTTP/1.1"
        assert rec.http_headers.get_header("Content-Encoding") == "gzip"
        assert rec.raw_stream.read() == body  # encoded as it came


def test_warc_redacts_session_credentials(tmp_path: Path) -> None:
    """An order page captured in a persona's logged-in browser: its session stays out."""
    from warcio.archiveiterator import ArchiveIterator

    secret = "sid=persona-session-7f3a9c"
    ex = _wire("http://shop.test/order/1", [("Cookie", secret), ("Authorization", "Bearer tok-123"),
                                            ("Accept", "text/html")],
               "HTTP/1.1 200 OK", [("Set-Cookie", f"{secret}; HttpOnly"),
                                   ("Content-Type", "text/html")], b"<html>order SBX-1</html>")
    data = write_warc([ex], [], {"uuid": "u"}, software="test",
                      started=dt.datetime.now(dt.UTC))
    path = tmp_path / "o.warc.gz"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        records = list(ArchiveIterator(fh))
        headers = {r.rec_type: r.http_headers for r in records if r.http_headers}
    assert headers["request"].get_header("Cookie") == "[redacted]"
    assert headers["request"].get_header("Authorization") == "[redacted]"
    assert headers["request"].get_header("Accept") == "text/html"
    assert headers["response"].get_header("Set-Cookie") == "[redacted]"
    import gzip

    raw = gzip.decompress(data)
    assert b"persona-session" not in raw and b"tok-123" not in raw


def test_facts_from_json_ld_and_markup() -> None:
    dom = ('<html><head><script type="application/ld+json">{"@type":"Product","name":"保温杯",'
           '"offers":{"price":"89.00","priceCurrency":"CNY",'
           '"availability":"https://schema.org/InStock"}}</script></head></html>')
    assert extract_facts(dom, "http://x/") == {"title": "保温杯", "price": "89.00",
                                               "currency": "CNY", "availability": "in_stock",
                                               "sources": {"availability": "markup"}}
    plain = '<html><title>T</title><h1>标题</h1><span class="price">¥1,299.50</span></html>'
    f = extract_facts(plain, "http://x/")
    assert f["title"] == "标题" and f["price"] == "1299.50"
    assert extract_facts("<<<not html", "http://x/")["price"] is None


SOLD_OUT_PAGE = ('<html><title>Lamp</title><h1>Lamp</h1><span class="price">$24.00</span>'
                 '<p>Sold out</p></html>')


def test_a_page_readers_availability_is_recorded_with_its_source() -> None:
    """Markup-only facts read nothing on a page saying "Sold out" in its text; the reading a
    caller hands in (the crawl's extractor, in the scheduler) is recorded with its source."""
    from evidence.facts import read_with, with_reading

    facts = extract_facts(SOLD_OUT_PAGE, "http://x/")
    assert facts["availability"] is None and "sources" not in facts
    seen: list[tuple[str, str]] = []

    def reader(dom: str, url: str) -> dict[str, Any]:
        seen.append((dom, url))
        return {"availability": "out_of_stock", "source": "dom:stock-text"}

    read = with_reading(facts, read_with(reader, SOLD_OUT_PAGE, "http://x/"))
    assert seen == [(SOLD_OUT_PAGE, "http://x/")]
    assert read["availability"] == "out_of_stock"
    assert read["sources"] == {"availability": "reader:dom:stock-text"}
    assert read["title"] == "Lamp" and facts["availability"] is None  # a new dict
    # The reader's word beats the markup's (it reads the visible page as well).
    marked = extract_facts('<html><script type="application/ld+json">{"@type":"Product",'
                           '"name":"Lamp","offers":{"availability":"InStock"}}</script></html>',
                           "http://x/")
    assert with_reading(marked, {"availability": "out_of_stock", "source": "dom:button"})[
        "availability"] == "out_of_stock"
    # A reading without a value, or an unknown one, leaves the facts as they were.
    assert with_reading(marked, {"availability": None, "source": None}) == marked
    assert with_reading(marked, {"availability": "maybe", "source": "x"}) == marked
    assert with_reading(marked, None) == marked


def test_a_takedown_notice_stays_removed_and_a_failing_reader_changes_nothing() -> None:
    from evidence.facts import read_with, with_reading

    removed = extract_facts("<html><h1>此商品已下架</h1></html>", "http://x/")
    assert removed["availability"] == "discontinued"
    assert removed["sources"] == {"availability": "removal-notice"}
    assert with_reading(removed, {"availability": "in_stock", "source": "dom:price-shown"}
                        ) == removed

    def broken(dom: str, url: str) -> dict[str, Any]:
        raise ValueError("a reader's bug")

    assert read_with(broken, SOLD_OUT_PAGE, "http://x/") is None
    assert read_with(None, SOLD_OUT_PAGE, "http://x/") is None


def test_sold_out_is_a_change_not_a_takedown_and_spellings_compare_alike() -> None:
    from evidence.diff import fact, page_gone
    from store.vocabulary import availability_code

    assert not page_gone({"status": 200}, {"availability": "out_of_stock"})
    assert not page_gone({"status": 200}, {"availability": "OutOfStock"})
    assert page_gone({"status": 200}, {"availability": "discontinued"})
    assert page_gone({"status": 200}, {"availability": "Discontinued"})  # recorded before
    assert page_gone({"status": 404}, {"availability": "in_stock"})
    # A capture recorded before facts spoke codes compares with a newer one by its code.
    assert fact({"availability": "InStock"}, "availability") == \
        fact({"availability": "in_stock"}, "availability") == "in_stock"
    assert fact({"availability": "LimitedEdition"}, "availability") == "LimitedEdition"
    assert fact({"price": "9.90"}, "price") == "9.90"
    assert [availability_code(v) for v in (
        "https://schema.org/OutOfStock", "SoldOut", "PreOrder", "pre_order", "weird", None)] == [
        "out_of_stock", "out_of_stock", "pre_order", "pre_order", None, None]


def test_a_tsa_that_is_down_is_retried_recorded_and_costs_only_its_token(
        local_tsa: LocalTSA, tmp_path: Path) -> None:
    """Several TSAs: each is asked (with retries); one that stays down is recorded in the
    capture's metadata and the capture keeps the tokens obtained (even none)."""
    from evidence.manifest import sign_and_timestamp
    from store.settings import Settings

    dead = "http://127.0.0.1:9/tsa"
    meta = {"uuid": "u", "kind": "listing", "requested_url": "http://x/", "operator": "o",
            "started_at": "2026-12-07T00:00:00+00:00"}
    settings = Settings(home=tmp_path, db="", tsa_urls=[dead, local_tsa.url])
    files = {"meta": b"{}"}
    _sig, tokens = sign_and_timestamp(files, meta, settings)
    assert len(tokens) == 1
    digest = hashlib.sha256(files["manifest"]).digest()
    assert check_response(tokens[0], digest).ok
    [failure] = meta["tsa_failures"]
    assert failure["tsa_url"] == dead and failure["attempts"] == 3
    meta.pop("tsa_failures")
    _sig, tokens = sign_and_timestamp({"meta": b"{}"}, meta,
                                      settings.model_copy(update={"tsa_urls": [dead]}))
    assert tokens == [] and meta["tsa_failures"][0]["tsa_url"] == dead


def test_wacz_signing_ca_is_created_once_by_racing_starters(tmp_path: Path) -> None:
    """Starters racing to create the WACZ signing CA all end up with the same one (the first
    creator wins; the others read its files, waiting while its certificate is written)."""
    from evidence.waczsign import CA_KEY, load_or_create_ca

    cas: list[object] = [None] * 4
    errors: list[BaseException] = []

    def make(i: int) -> None:
        try:
            cas[i] = load_or_create_ca(tmp_path, "test")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(len(cas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    prints = {ca.fingerprint for ca in cas}  # type: ignore[attr-defined]
    assert len(prints) == 1
    assert (tmp_path / CA_KEY).stat().st_mode & 0o077 == 0
