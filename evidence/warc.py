"""Writing what a capture's proxy saw as a WARC 1.1 file (``warcio``): bytes from the wire.

Every exchange that crossed the recording proxy becomes a response record holding the
status line, headers and body exactly as the server sent them (Content-Encoding and chunked
framing kept, so a replay tool decodes what the browser decoded) and a request record with
the request as the proxy sent it; both carry WARC-Date, target URI, the address actually
connected to (WARC-IP-Address) and digests.  What the browser made of the page (DOM,
screenshots, PDF, the provenance page) follows as resource records, the capture metadata as a
metadata record.

Each record is its own gzip member, as warcio writes them, but not always at warcio's fixed
level 9: a payload that is compressed already (the PNG screenshots, the PDF, a response sent
with a Content-Encoding, images and fonts) gains nothing from it and cost about a tenth of a
real page's capture CPU, so it is written at level 1; text at zlib's default level 6.  Both are
lossless: the bytes read back are the same.

Session credentials are not evidence: the values of Cookie, Set-Cookie and Authorization
headers are replaced by ``[redacted]`` (the header names stay, so a reader sees that a session
was used).  An order page is captured in a buyer persona's logged-in browser, and a pack handed
to a court or a platform must not carry the covert account's session.  That is the one change
made to the bytes as received (the record says so in its warcinfo).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zlib
from dataclasses import dataclass
from typing import Any

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.warcwriter import WARCWriter

#: Headers whose values are credentials (see the module docstring).
REDACTED_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
REDACTED = "[redacted]"


@dataclass
class WireExchange:
    """One request and its response as they crossed the proxy (raw bytes)."""

    url: str
    method: str
    request: bytes           # request line, headers and body as sent to the server
    response: bytes          # status line, headers and body as received (maybe only the head)
    payload_offset: int      # where the response body starts in *response*
    status: int
    at: dt.datetime
    server_ip: str | None = None
    truncated: str | None = None


@dataclass
class Resource:
    """A record the browser side produced (screenshot, DOM, PDF, provenance page)."""

    uri: str
    media_type: str
    data: bytes
    record_type: str = "resource"


#: Payloads compressed already (gzip level 1 for them; everything else at level 6).
_COMPRESSED_TYPES = ("image/", "video/", "audio/", "font/", "application/pdf",
                     "application/zip", "application/gzip", "application/font",
                     "application/x-font", "application/octet-stream", "application/wasm")


class _Gzip:
    """warcio's ``GzippingWrapper`` with a chosen level (one gzip member per record)."""

    def __init__(self, out: Any, level: int) -> None:
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self.out = out

    def write(self, buff: bytes) -> None:
        self.out.write(self.compressor.compress(buff))

    def flush(self) -> None:
        self.out.write(self.compressor.flush())
        self.out.flush()


def gzip_level(media_type: str | None, content_encoding: str | None = None) -> int:
    """1 for a payload that is compressed already, else 6 (see the module docstring)."""
    if content_encoding and content_encoding.strip().lower() not in ("", "identity"):
        return 1
    media = (media_type or "").lower()
    return 1 if media.startswith(_COMPRESSED_TYPES) else 6


class _Writer(WARCWriter):
    """A WARC writer that gzips each record at :func:`gzip_level` of its payload."""

    def _write_warc_record(self, out: Any, record: Any) -> None:
        if record.http_headers is not None:
            level = gzip_level(record.http_headers.get_header("Content-Type"),
                               record.http_headers.get_header("Content-Encoding"))
        else:
            level = gzip_level(record.content_type)
        self.gzip = False  # ours instead of warcio's level-9 wrapper
        try:
            super()._write_warc_record(_Gzip(out, level), record)
        finally:
            self.gzip = True


def _warc_date(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _redact(headers: StatusAndHeaders) -> StatusAndHeaders:
    headers.headers = [(k, REDACTED if k.lower() in REDACTED_HEADERS else v)
                       for k, v in headers.headers]
    return headers


def _split_request(raw: bytes) -> tuple[bytes, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    return (head + sep, body) if sep else (raw, b"")


def _parse(head: bytes, *, request: bool) -> StatusAndHeaders:
    parser = StatusAndHeadersParser([] if request else ["HTTP/1.0", "HTTP/1.1", "HTTP/2"],
                                    verify=False)
    return parser.parse(io.BytesIO(head))


def write_warc(exchanges: list[WireExchange], resources: list[Resource],
               metadata: dict[str, Any], *, software: str, started: dt.datetime) -> bytes:
    """The gzipped WARC bytes."""
    out = io.BytesIO()
    writer = _Writer(out, gzip=True, warc_version="1.1")
    info = writer.create_warcinfo_record("capture.warc.gz", {
        "software": software, "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                      "warc-format/warc-1.1/",
        "isPartOf": str(metadata.get("uuid", "")),
        "description": "responses as received by the capture's recording proxy (warcprox); "
                       "values of Cookie, Set-Cookie and Authorization headers redacted",
    })
    info.rec_headers.replace_header("WARC-Date", _warc_date(started))
    writer.write_record(info)
    for ex in exchanges:
        warc_date = _warc_date(ex.at)
        head, body = ex.response[:ex.payload_offset], ex.response[ex.payload_offset:]
        warc_headers: dict[str, str] = {"WARC-Date": warc_date}
        if ex.server_ip:
            warc_headers["WARC-IP-Address"] = ex.server_ip
        if ex.truncated:
            warc_headers["WARC-Truncated"] = ex.truncated
        resp = writer.create_warc_record(
            ex.url, "response", payload=io.BytesIO(body), length=len(body),
            http_headers=_redact(_parse(head, request=False)),
            warc_headers_dict=warc_headers)
        req_head, req_body = _split_request(ex.request)
        req = writer.create_warc_record(
            ex.url, "request", payload=io.BytesIO(req_body), length=len(req_body),
            http_headers=_redact(_parse(req_head, request=True)),
            warc_headers_dict={"WARC-Date": warc_date})
        req.rec_headers.add_header("WARC-Concurrent-To",
                                   resp.rec_headers.get_header("WARC-Record-ID"))
        writer.write_record(resp)
        writer.write_record(req)
    now = _warc_date(dt.datetime.now(dt.UTC))
    for res in resources:
        rec = writer.create_warc_record(res.uri, res.record_type, payload=io.BytesIO(res.data),
                                        length=len(res.data), warc_content_type=res.media_type,
                                        warc_headers_dict={"WARC-Date": now})
        writer.write_record(rec)
    meta_bytes = json.dumps(metadata, ensure_ascii=False, sort_keys=True,
                            default=str).encode("utf-8")
    rec = writer.create_warc_record(f"urn:spotcheck:capture:{metadata.get('uuid', '')}:meta",
                                    "metadata", payload=io.BytesIO(meta_bytes),
                                    length=len(meta_bytes), warc_content_type="application/json",
                                    warc_headers_dict={"WARC-Date": now})
    writer.write_record(rec)
    return out.getvalue()
