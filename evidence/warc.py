"""Writing what a capture saw as a WARC 1.1 file (``warcio``).

Every request and response the page made becomes a request/response record pair with its
WARC-Date, target URI, server IP and payload digest; screenshots and the capture metadata
follow as resource/metadata records.  Playwright hands us *decoded* bodies, so the
Content-Encoding and Transfer-Encoding headers are dropped and Content-Length is set to the
bytes we actually store, or replay tools would try to decompress plain bytes.

Session credentials are not evidence: the values of Cookie, Set-Cookie and Authorization
headers are replaced by ``[redacted]`` (the header names stay, so a reader sees that a session
was used).  An order page is captured in a buyer persona's logged-in browser, and a pack handed
to a court or a platform must not carry the covert account's session.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

_DROP = {"content-encoding", "transfer-encoding", "content-length"}
#: Headers whose values are credentials (see the module docstring).
REDACTED_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
REDACTED = "[redacted]"


def _redact(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, REDACTED if k.lower() in REDACTED_HEADERS else v) for k, v in headers]


@dataclass
class Exchange:
    """One request and its response as the capture browser saw them."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    post_data: bytes | None
    status: int
    status_text: str
    response_headers: list[tuple[str, str]]
    body: bytes
    at: dt.datetime
    server_ip: str | None = None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _warc_date(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reason(status: int, text: str) -> str:
    from http import HTTPStatus

    if text:
        return text
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def write_warc(exchanges: list[Exchange], resources: list[tuple[str, str, bytes]],
               metadata: dict[str, Any], *, software: str, started: dt.datetime) -> bytes:
    """The gzipped WARC bytes.  *resources*: (uri, media type, bytes) resource records."""
    import json
    from urllib.parse import urlsplit

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    info = writer.create_warcinfo_record("capture.warc.gz", {
        "software": software, "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                      "warc-format/warc-1.1/",
        "isPartOf": str(metadata.get("uuid", "")),
        "description": "values of Cookie, Set-Cookie and Authorization headers redacted",
    })
    info.rec_headers.replace_header("WARC-Date", _warc_date(started))
    writer.write_record(info)
    for ex in exchanges:
        warc_date = _warc_date(ex.at)
        headers = [(k, v) for k, v in _redact(ex.response_headers) if k.lower() not in _DROP]
        headers.append(("Content-Length", str(len(ex.body))))
        http_headers = StatusAndHeaders(f"{ex.status} {_reason(ex.status, ex.status_text)}",
                                        headers, protocol="HTTP/1.1")
        warc_headers: dict[str, str] = {"WARC-Date": warc_date}
        if ex.server_ip:
            warc_headers["WARC-IP-Address"] = ex.server_ip
        resp = writer.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body),
                                         length=len(ex.body), http_headers=http_headers,
                                         warc_headers_dict=warc_headers)
        parts = urlsplit(ex.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_headers = [(k, v) for k, v in _redact(ex.request_headers) if not k.startswith(":")]
        if not any(k.lower() == "host" for k, _ in req_headers):
            req_headers.insert(0, ("Host", parts.netloc))
        body = ex.post_data or b""
        req = writer.create_warc_record(
            ex.url, "request", payload=io.BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders(f"{ex.method} {path} HTTP/1.1", req_headers,
                                          is_http_request=True),
            warc_headers_dict={"WARC-Date": warc_date})
        req.rec_headers.add_header("WARC-Concurrent-To",
                                   resp.rec_headers.get_header("WARC-Record-ID"))
        writer.write_record(resp)
        writer.write_record(req)
    now = _warc_date(dt.datetime.now(dt.UTC))
    for uri, media_type, data in resources:
        rec = writer.create_warc_record(uri, "resource", payload=io.BytesIO(data),
                                        length=len(data), warc_content_type=media_type,
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
