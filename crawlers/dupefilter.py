"""The scheduler's duplicate filter, keyed by canonical URL where that is the same thing.

Scrapy's ``RFPDupeFilter`` hashes a JSON document of each request (method, canonicalised URL,
body) with SHA-1.  For a GET without a body, under Scrapy's default fingerprinter, that
fingerprint is a function of the canonical URL alone; the crawl's links are canonical
already (``crawlers.normalise.canonical_url``), so the URL itself is the key and neither the
canonicalisation nor the hash is needed.  Every other request keeps Scrapy's fingerprint.
Duplicates are exactly the ones Scrapy would find.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.request import RequestFingerprinter
from w3lib.url import canonicalize_url

from crawlers.normalise import already_canonical


class CanonicalURLDupeFilter(RFPDupeFilter):
    """``RFPDupeFilter`` with GET requests keyed by their canonical URL."""

    def request_seen(self, request: Request) -> bool:
        key = self._key(request)
        if key in self._fingerprints:
            return True
        self._fingerprints.add(key)
        if self.file:
            self.file.write(len(key).to_bytes(2, "big") + key)
        return False

    def _key(self, request: Request) -> bytes:
        if request.method == "GET" and not request.body \
                and type(self.fingerprinter) is RequestFingerprinter:
            url = request.url
            canonical = url if already_canonical(url) else canonicalize_url(url)
            # A fingerprint is 20 bytes of SHA-1; this key is longer, and marked.
            return b"GET\x00" + canonical.encode("utf-8")
        return self.fingerprinter.fingerprint(request)
