"""Banner renderings: each screenshot of a pack again, under a banner that says what it shows.

A screenshot file carries no URL and no time; printed or pasted into a file note it is just a
picture.  The pack therefore holds, beside each capture's (signed, unchanged) screenshot, a
rendering with a banner on top: the URL, the capture time in the bureau's time zone to the
second and in UTC, the capture id and the SHA-256 of the screenshot it shows, so the picture
can always be traced to its file.  Byte-identical screenshots of one capture (e.g. before and
after overlays when there was none) get one rendering that says so.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from store.clock import local_and_utc

#: Where CJK fonts usually are (Debian/Ubuntu fonts-noto-cjk); the first found is used.
FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
         "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
_MAX_URL = 300


@lru_cache(maxsize=4)
def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def banner_lines(url: str, started_at: str | dt.datetime, capture_id: int, sha256: str,
                 note: str | None = None) -> list[str]:
    """What the banner says (zh-CN and en on each line: the reader may be either)."""
    when = started_at if isinstance(started_at, dt.datetime) else \
        dt.datetime.fromisoformat(str(started_at))
    url = url if len(url) <= _MAX_URL else url[:_MAX_URL] + "…"
    lines = [f"网址 URL: {url}",
             f"取证时间 Captured: {local_and_utc(when, 'zh-CN')}",
             f"取证记录 Capture #{capture_id} · 截图 SHA-256 {sha256}"]
    if note:
        lines.append(note)
    return lines


def _wrap(line: str, fits: Callable[[str], bool]) -> list[str]:
    """*line* cut where the next character would not fit, each later piece indented.

    The longest piece that fits is found by galloping then bisecting (a text's width grows
    with every character added), not by measuring the piece again for every character it
    takes: a few measures a piece instead of one per character (a URL line is up to 300)."""
    out: list[str] = []
    current, i = "", 0
    while i < len(line):
        lo, hi, step = i, 0, 1  # line[i:lo] fits after current (none at first)
        while not hi:
            k = min(len(line), lo + step)
            if not fits(current + line[i:k]):
                hi = k
            elif k == len(line):
                break
            else:
                lo, step = k, step * 2
        if not hi:  # the rest of the line fits
            current, i = current + line[i:], len(line)
            break
        while hi - lo > 1:  # line[i:hi] is too long
            mid = (lo + hi) // 2
            if fits(current + line[i:mid]):
                lo = mid
            else:
                hi = mid
        out.append(current + line[i:lo])
        current, i = "    " + line[lo], lo + 1  # a character wider than the line goes alone
    out.append(current)
    return out


def render_banner(png: bytes, lines: list[str]) -> bytes:
    """*png* under a banner of *lines* (wrapped to the image's width), as PNG."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(png)) as src:
        shot = src.convert("RGB")
    size = max(14, min(28, shot.width // 60))
    font = _font(size)
    pad = size // 2
    draw_probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    limit = shot.width - 2 * pad
    wrapped: list[str] = []
    for line in lines:
        wrapped += _wrap(line, lambda text: draw_probe.textlength(text, font=font) <= limit)
    height = pad * 2 + len(wrapped) * int(size * 1.4)
    out = Image.new("RGB", (shot.width, height + shot.height), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, shot.width, height), fill=(255, 244, 204))
    draw.line((0, height - 1, shot.width, height - 1), fill=(120, 100, 40), width=2)
    for i, line in enumerate(wrapped):
        draw.text((pad, pad + i * int(size * 1.4)), line, fill=(0, 0, 0), font=font)
    out.paste(shot, (0, height))
    buf = io.BytesIO()
    # zlib's default level, not optimize=True: on a pack's screenshots that was ~4 times the
    # CPU (0.19 s against 0.04 s a 1366x900 shot) for files 2% smaller.
    out.save(buf, "PNG")
    return buf.getvalue()


def capture_banners(root: Path, entry: dict[str, Any], roles: tuple[str, ...]
                    ) -> dict[str, str]:
    """Write ``renderings/capture-<id>-<role>.png`` for each screenshot of a pack entry;
    returns role → path (a byte-identical screenshot points to the first one's rendering)."""
    import hashlib

    out: dict[str, str] = {}
    made: dict[str, str] = {}
    url = entry.get("final_url") or entry.get("url") or ""
    for role in roles:
        rel = (entry.get("files") or {}).get(role)
        if not rel:
            continue
        data = (root / rel).read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if sha in made:
            out[role] = made[sha]
            continue
        same = [r for r in roles if r != role and (entry.get("files") or {}).get(r)
                and hashlib.sha256((root / entry["files"][r]).read_bytes()).hexdigest() == sha]
        note = ("同一截图文件（SHA-256 相同，页面渲染一致）Same bytes as: " + ", ".join(same)
                if same else None)
        png = render_banner(data, banner_lines(url, entry["started_at"], int(entry["id"]),
                                               sha, note))
        path = f"renderings/capture-{entry['id']}-{role}.png"
        (root / "renderings").mkdir(exist_ok=True)
        (root / path).write_bytes(png)
        out[role] = made[sha] = path
    return out


def pdf_header_template(url: str, started_at: str | dt.datetime) -> str:
    """Chromium's ``headerTemplate`` for a capture's ``page.pdf``: the URL and the capture
    time (bureau time to the second, and UTC) stamped on every page, so a printed page says
    what it is; the footer numbers the pages.  Everything is escaped (the URL is hostile)."""
    import html

    when = started_at if isinstance(started_at, dt.datetime) else \
        dt.datetime.fromisoformat(str(started_at))
    url = url if len(url) <= _MAX_URL else url[:_MAX_URL] + "…"
    text = (f"网址 URL: {html.escape(url)} · 取证时间 Captured: "
            f"{html.escape(local_and_utc(when, 'zh-CN'))}")
    return ('<div style="font-size:7px;width:100%;padding:0 8mm;font-family:\'Noto Sans CJK SC\','
            f'sans-serif;word-break:break-all;">{text}</div>')


#: The footer: page numbers (Chromium fills the spans).
PDF_FOOTER = ('<div style="font-size:7px;width:100%;text-align:center;">'
              '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
