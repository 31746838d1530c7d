"""Banner renderings (evidence.banner): the screenshot again under the URL, the capture time
in Beijing time to the second and in UTC, the capture id and the screenshot's SHA-256; one
rendering for byte-identical screenshots, which says so."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from PIL import Image

from evidence.banner import banner_lines, capture_banners, render_banner


def _png(color: tuple[int, int, int], size: tuple[int, int] = (1366, 300)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def test_banner_says_url_time_and_hash() -> None:
    lines = banner_lines("http://shop/item/1?q=<x>", "2026-12-07T14:51:12.5+00:00", 7,
                         "ab" * 32)
    assert lines[0] == "网址 URL: http://shop/item/1?q=<x>"
    assert "2026-12-07 22:51:12 北京时间 (2026-12-07 14:51:12 UTC)" in lines[1]
    assert "#7" in lines[2] and "ab" * 32 in lines[2]
    shot = _png((10, 200, 10))
    out = Image.open(io.BytesIO(render_banner(shot, lines)))
    assert out.width == 1366 and out.height > 300
    # the screenshot itself is below the banner, unchanged
    assert out.getpixel((5, out.height - 5)) == (10, 200, 10)
    assert out.getpixel((5, 5)) != (10, 200, 10)


def test_identical_screenshots_share_one_rendering(tmp_path: Path) -> None:
    same, other = _png((1, 2, 3)), _png((200, 0, 0))
    (tmp_path / "c").mkdir()
    for name, data in (("a.png", same), ("b.png", same), ("c.png", other)):
        (tmp_path / "c" / name).write_bytes(data)
    entry = {"id": 3, "url": "http://x/", "final_url": None,
             "started_at": "2026-12-07T00:00:00+00:00",
             "files": {"screenshot_before_overlays": "c/a.png",
                       "screenshot_after_overlays": "c/b.png",
                       "screenshot_full": "c/c.png"}}
    out = capture_banners(tmp_path, entry, ("screenshot_full", "screenshot_before_overlays",
                                            "screenshot_after_overlays"))
    assert out["screenshot_before_overlays"] == out["screenshot_after_overlays"]
    assert out["screenshot_full"] != out["screenshot_before_overlays"]
    assert len(list((tmp_path / "renderings").iterdir())) == 2
    assert hashlib.sha256(same).hexdigest() not in json.dumps(out)
