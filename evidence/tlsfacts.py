"""TLS facts of the origins a capture contacted: certificate chains, verification, pins.

The capture browser talks only to its recording proxy, so the proxy is the one that meets
each server's certificate.  It verifies it (system CAs and host name, or a key pinned in
``capture_trusted_spki``) before any request goes out, and records, once per origin, the
whole chain the server presented (pyOpenSSL: Python's ``ssl`` of 3.11 hands back only the
leaf) as PEM with each certificate's SHA-256 fingerprint.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import ipaddress
import select
import socket
import ssl
import time
from typing import Any


class CertificateRefused(Exception):
    """The server's certificate is neither trusted nor pinned."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def spki_sha256(der_cert: bytes) -> str:
    """Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's pin format)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_der_x509_certificate(der_cert).public_key()
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def der_fingerprint(pem: bytes) -> str:
    """SHA-256 of a certificate's DER encoding, hex (what browsers show as its fingerprint)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    """One client context for every upstream connection of every capture (it is
    thread-safe): building one loads the system's CA store, ~30 ms of CPU with OpenSSL 3,
    which a page's dozens of HTTPS connections paid each time."""
    ctx = ssl.create_default_context()
    ctx.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return ctx


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    """For reading a certificate whose key may be pinned (checked by the caller)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return ctx


def wrap_verified(sock: socket.socket, host: str, ip: str, port: int, pins: list[str],
                  timeout: float) -> tuple[ssl.SSLSocket, str]:
    """TLS over *sock* to *host* (connected to *ip*), verified or pinned; (socket, how).

    *how* is ``"verified"`` (a trusted CA, the host name matches) or ``"pinned"`` (the
    leaf's key is in *pins*).  Raises :class:`CertificateRefused` otherwise.
    """
    try:
        return _verifying_context().wrap_socket(sock, server_hostname=host), "verified"
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
        sock.close()
    if pins:
        raw = socket.create_connection((ip, port), timeout=timeout)
        tls = _unverified_context().wrap_socket(raw, server_hostname=None if _is_ip(host) else host)
        der = tls.getpeercert(binary_form=True)
        if der and spki_sha256(der) in pins:
            return tls, "pinned"
        tls.close()
    raise CertificateRefused(f"the certificate of {host}:{port} is not trusted ({reason})")


def served_chain(ip: str, port: int, host: str, timeout: float) -> list[bytes]:
    """The certificate chain the server at *ip* presents for *host*, as PEM.

    A Python socket with a timeout is non-blocking underneath, so pyOpenSSL answers
    ``WantReadError`` instead of waiting: the handshake is driven with ``select`` up to the
    deadline.  SNI is sent for host names only (RFC 6066 forbids IP literals).
    """
    from OpenSSL import SSL, crypto

    deadline = time.monotonic() + timeout
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        sock.setblocking(False)
        conn = SSL.Connection(ctx, sock)
        if not _is_ip(host):
            conn.set_tlsext_host_name(host.encode("idna"))
        conn.set_connect_state()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"TLS handshake with {host}:{port} took too long")
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                select.select([sock], [], [], left)
            except SSL.WantWriteError:
                select.select([], [sock], [], left)
        chain = conn.get_peer_cert_chain() or []
        with contextlib.suppress(SSL.Error):  # the chain is read; a rude close is fine
            conn.shutdown()
    return [crypto.dump_certificate(crypto.FILETYPE_PEM, c) for c in chain]


def origin_facts(tls: ssl.SSLSocket, how: str, ip: str, port: int, host: str,
                 timeout: float) -> dict[str, Any]:
    """What the metadata keeps about one origin's TLS: protocol, subject, issuer, validity,
    how it was trusted, and the chain (PEM, fingerprints, SHA-256 of the PEM file)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    facts: dict[str, Any] = {"host": host, "port": port, "ip": ip, "protocol": tls.version(),
                             "cipher": (tls.cipher() or ("",))[0], "trusted": how}
    der = tls.getpeercert(binary_form=True)
    if der:
        cert = x509.load_der_x509_certificate(der)

        def cn(name: x509.Name) -> str:
            attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
            return str(attrs[0].value) if attrs else name.rfc4514_string()

        facts.update(subject=cn(cert.subject), issuer=cn(cert.issuer),
                     valid_from=cert.not_valid_before_utc.isoformat(),
                     valid_to=cert.not_valid_after_utc.isoformat())
    try:
        pems = served_chain(ip, port, host, timeout)
    except Exception as exc:  # the facts above stay; the chain is noted as missing
        facts["chain_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        pems = []
    facts["chain_pem"] = [p.decode("ascii") for p in pems]
    facts["chain_fingerprints_sha256"] = [der_fingerprint(p) for p in pems]
    facts["chain_sha256"] = hashlib.sha256(b"".join(pems)).hexdigest()
    return facts
