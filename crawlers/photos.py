"""Downloading listing photos during a crawl: Scrapy's files pipeline, bounded and content-addressed.

Why a ``FilesPipeline`` subclass: Scrapy schedules the photo requests through the crawl's own
downloader (its politeness, robots.txt, retries and proxies apply), waits for them per item
and hands the item on when they are done.  What we change is what happens to a file:

* at most :data:`store.images.MAX_PHOTOS` photos of a listing are fetched, each cut off at
  ``MAX_LISTING_PHOTO_BYTES / count`` bytes (Scrapy's ``download_maxsize``), so one listing
  costs at most :data:`store.images.MAX_LISTING_PHOTO_BYTES`;
* a listing whose photo URLs are the ones already stored is not fetched again (photos are
  refreshed when the page shows other ones);
* the file is not written under a name of the URL but kept by its SHA-256 in the data folder's
  artifacts (store.artifacts), its perceptual hashes computed (store.photos) and carried on
  the item (``item.photos``) to the store writer, which links them to the listing in the
  listing's own batch transaction;
* a photo that is not an image, too large or unreachable is recorded with its error, never
  fatal to the listing.

Enabled by the setting ``crawl_photos`` (SPOTCHECK_CRAWL_PHOTOS=1).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import MediaPipeline
from twisted.python.failure import Failure

from crawlers.items import ListingItem
from store.artifacts import ArtifactStore
from store.images import MAX_LISTING_PHOTO_BYTES, MAX_PHOTO_BYTES, MAX_PHOTOS, Photo, keep_photo

log = logging.getLogger(__name__)


class PhotoFailed(Exception):
    """A photo that could not be fetched (its reason is recorded on the listing)."""


def photo_requests(urls: list[str]) -> list[Request]:
    """The bounded requests for a listing's photo URLs (first :data:`MAX_PHOTOS`, each
    within its share of the listing's byte budget)."""
    wanted = list(dict.fromkeys(urls))[:MAX_PHOTOS]
    if not wanted:
        return []
    each = min(MAX_PHOTO_BYTES, MAX_LISTING_PHOTO_BYTES // len(wanted))
    return [Request(u, meta={"kind": "photo", "download_maxsize": each,
                             "download_warnsize": 0}, dont_filter=True) for u in wanted]


class PhotosPipeline(FilesPipeline):
    """Listing photos into the artifacts store, with their hashes on the item."""

    def __init__(self, store_uri: str, *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        self.artifacts = ArtifactStore(crawler.settings["SPOTCHECK_ARTIFACTS"])

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PhotosPipeline:
        if not crawler.settings.getbool("SPOTCHECK_PHOTOS"):
            raise NotConfigured("photos are not fetched (crawl_photos is off)")
        return cls(crawler.settings["SPOTCHECK_ARTIFACTS"], crawler=crawler)

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        if not isinstance(item, ListingItem) or item.rejection is not None:
            return []
        urls = list(dict.fromkeys(item.image_urls))[:MAX_PHOTOS]
        session = getattr(self.crawler.spider, "session", None)
        if session is not None and urls == session.writer.stored_photo_urls(item.external_id):
            item.photos = None  # unchanged: the stored photos stand
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value("spotcheck/photos_unchanged")
            return []
        item.photos = []
        return photo_requests(urls)

    def media_to_download(self, request: Request, info: MediaPipeline.SpiderInfo, *,
                          item: Any = None) -> None:
        return None  # always fetched when asked: unchanged listings ask for nothing

    async def media_downloaded(self, response: Response, request: Request,
                               info: MediaPipeline.SpiderInfo, *, item: Any = None
                               ) -> Any:
        if response.status != 200:
            raise PhotoFailed(f"http {response.status}")
        if not response.body:
            raise PhotoFailed("empty")
        photo = keep_photo(self.artifacts, request.url, response.body)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("spotcheck/photos_refused" if photo.error else "spotcheck/photos_kept")
        return {"url": request.url, "photo": photo}

    def media_failed(self, failure: Failure, request: Request,
                     info: MediaPipeline.SpiderInfo) -> Any:
        raise PhotoFailed(_reason(failure))

    def item_completed(self, results: list[Any], item: Any,
                       info: MediaPipeline.SpiderInfo) -> Any:
        if not isinstance(item, ListingItem) or item.photos is None:
            return item
        urls = list(dict.fromkeys(item.image_urls))[:MAX_PHOTOS]
        photos = []
        for url, (ok, value) in zip(urls, results, strict=False):
            if ok:
                photos.append(value["photo"].as_dict())
            else:
                photos.append(Photo(url=url, error=_reason(value)).as_dict())
        item.photos = photos
        return item


def _reason(failure: Any) -> str:
    value = getattr(failure, "value", failure)
    text = str(value) or type(value).__name__
    return text[:200]
