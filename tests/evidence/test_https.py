"""Capturing a page served over TLS: the certificate chain the server presented is evidence.

A small CA and a leaf certificate for 127.0.0.1 are made here (cryptography); a real TLS
server (``tests.conftest.serve_http`` with a TLS context) presents leaf + CA.  Chromium refuses the unknown issuer
unless the leaf's SubjectPublicKeyInfo is pinned in ``capture_trusted_spki``; with the pin the
capture's metadata carries the chain as PEM, and its fingerprints are those of the served
certificates.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from sqlalchemy import select

from evidence.capture import capture_urls
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import Artifact, Capture, CaptureStatus
from store.settings import Settings
from tests.conftest import SiteHandler, serve_http
from tests.evidence.conftest import TEST_BUDGETS

pytestmark = pytest.mark.browser

PAGE = "<!doctype html><html><head><meta charset=utf-8><title>加密页面</title></head>" \
       "<body><h1>跨境直邮 保温杯</h1><p class=price>¥59.00</p></body></html>"


@dataclass
class TLSSite:
    url: str
    leaf: x509.Certificate
    ca: x509.Certificate

    @property
    def leaf_spki(self) -> str:
        der = self.leaf.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _certificates() -> tuple[x509.Certificate, x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spotcheck test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return leaf, ca, leaf_key


class _Handler(SiteHandler):
    def do_GET(self) -> None:
        found = self.path == "/"
        self.send(200 if found else 404, PAGE.encode() if found else b"not here",
                  "text/html; charset=utf-8")


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSSite]:
    leaf, ca, key = _certificates()
    folder = tmp_path_factory.mktemp("tls")
    chain = folder / "chain.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM)
                      + ca.public_bytes(serialization.Encoding.PEM))
    key_file = folder / "key.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key_file)
    with serve_http(_Handler, tls=ctx) as url:
        yield TLSSite(url, leaf, ca)


def _settings(home: Path, **extra: object) -> Settings:
    s = Settings(home=home, db="", capture_allow_networks=["127.0.0.0/8"],
                 capture_timeout=60.0, capture_step_timeouts=TEST_BUDGETS,
                 **extra)  # type: ignore[arg-type]
    s.ensure_home()
    return s


def test_capture_over_tls_records_the_served_chain(tls_site: TLSSite, tmp_path: Path,
                                                   chromium_path: str | None) -> None:
    settings = _settings(tmp_path / "home", capture_trusted_spki=[tls_site.leaf_spki])
    db = Database.open(settings.database_url, settings=settings)
    try:
        [cid] = capture_urls(db, [tls_site.url], operator="调查员乙", settings=settings)
        with db.session() as s:
            cap = s.get(Capture, cid)
            assert cap is not None
            assert cap.status == CaptureStatus.OK, cap.meta.get("error")
            arts = {a.role: a.sha256 for a in s.scalars(
                select(Artifact).where(Artifact.capture_id == cid))}
            facts = cap.facts
    finally:
        db.dispose()
    assert facts["title"] == "跨境直邮 保温杯" and facts["price"] == "59.00"
    store = ArtifactStore(settings.artifacts_dir)
    meta = json.loads(store.read(arts["meta"]))  # the signed metadata file, not the row
    tls = meta["tls"]
    assert tls["protocol"].startswith("TLS") and tls["subject"] == "127.0.0.1"
    assert tls["issuer"] == "spotcheck test CA"
    served = [c.fingerprint(hashes.SHA256()).hex() for c in (tls_site.leaf, tls_site.ca)]
    recorded = [x509.load_pem_x509_certificate(p.encode()).fingerprint(hashes.SHA256()).hex()
                for p in tls["chain_pem"]]
    assert recorded == served
    assert tls["chain_fingerprints_sha256"] == served
    pem_file = store.read(arts["tls_chain"])
    assert pem_file == "".join(tls["chain_pem"]).encode()
    assert hashlib.sha256(pem_file).hexdigest() == tls["chain_sha256"]
    assert tls["trusted"] == "pinned"  # the proxy met the certificate, by its pinned key
    assert list(meta["tls_origins"]) == [tls_site.url.split("/")[2]]


def test_unpinned_self_signed_certificate_is_refused(tls_site: TLSSite, tmp_path: Path,
                                                     chromium_path: str | None) -> None:
    settings = _settings(tmp_path / "home")
    db = Database.open(settings.database_url, settings=settings)
    try:
        [cid] = capture_urls(db, [tls_site.url], operator="调查员乙", settings=settings)
        with db.session() as s:
            cap = s.get(Capture, cid)
            assert cap is not None and cap.status == CaptureStatus.FAILED
            # the capture's proxy refused the certificate before any request went out
            assert "not trusted" in cap.meta["error"], cap.meta["error"]
            assert any("not trusted" in b["reason"] for b in cap.meta["blocked"])
            assert s.scalar(select(Artifact.id).where(Artifact.capture_id == cid,
                                                      Artifact.role != "screenshot_viewport")
                            ) is None
    finally:
        db.dispose()


@pytest.mark.parametrize("pin", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_pin_is_a_clear_settings_error(pin: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SPOTCHECK_CAPTURE_TRUSTED_SPKI"):
        Settings(home=tmp_path, capture_trusted_spki=[pin])
