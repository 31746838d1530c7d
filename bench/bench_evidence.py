"""Benchmark: sustained evidence captures per minute, and evidence-pack verification MB/s.

1. Captures: N sandbox listing pages (mall style, obstacles off) captured with every artifact
   (screenshots, DOM, WARC; the PDF only with ``--pdf``, as a capture prints it only when asked; metadata, provenance, Ed25519 signature, RFC 3161 token from
   a local ``openssl ts`` TSA, database rows, custody event) on the capture pool.  Baseline in
   the same process: the same pages with bare Playwright (goto + one full-page screenshot) on
   the same number of parallel pages.  Target ≥ 30 captures/min.
2. Real pages: saved product pages of real shops (Zyte's product-extraction-benchmark, MIT:
   150 snapshots of Amazon, eBay, Walmart, Etsy, small shops in many languages), served from
   127.0.0.1 with their own URLs' paths; every external host they name (images, CSS,
   scripts, trackers) is unreachable here, so the capture proxy refuses or fails them.  Every
   capture must end as evidence (complete or partial).  Target ≥ 30 captures/min.  The pages
   are read from a ``fetch``ed snapshot (``--real-pages GIT_DIR``), never committed.
3. Verification: a real pack of captures whose pages fetch large incompressible blobs (so
   the WARCs, and the WACZ holding them again, make up ≈ SIZE MB), verified completely by
   ``evidence.verify.verify_pack``; baseline: SHA-256 of the same zip file read in one pass
   (what ``sha256sum`` does).  Target ≥ 200 MB/s on a 1 GB pack.

    .venv/bin/python bench/bench_evidence.py [--captures 30] [--pack-mb 1024] [--quick]
        [--real-pages /work/.mirror/scrapinghub+product-extraction-benchmark/repo]
        [--only-captures] [--only-real --real-count 30] [--concurrency N] [--pdf]

Each capture figure is printed with the load average at its start and end and the CPU
seconds per capture (this process and every browser process it started: it is their
subreaper, so renderers that outlive Chromium's main process are counted), so a figure taken
on a shared machine can be read against one taken on a quiet one; the last lines are a
summary.  The coordinator's one-line run of the capture parts:

    flock /tmp/spotcheck-browser.lock .venv/bin/python bench/bench_evidence.py --only-captures
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import record
from evidence.capture import CaptureRequest, capture_many
from evidence.capture_browser import VIEWPORT
from evidence.capture_steps import MAX_SCREENSHOT_HEIGHT
from evidence.localtsa import LocalTSA
from evidence.packs import export_pack
from evidence.steps import DEFAULT_BUDGETS
from evidence.trust import TrustAnchors
from evidence.verify import verify_pack
from store import chromium
from store.db import Database
from store.settings import Settings


async def bare_playwright(urls: list[str], settings: Settings, concurrency: int) -> float:
    """The same pages with bare Playwright: goto (load) + one full-page screenshot on
    *concurrency* parallel contexts of one browser; no proxy, no artifacts.

    Bounded as a capture is: the capture's viewport, its load budget (a page whose load
    event never fires is shot as far as it got after it, as the capture does; this waited
    30 s, twice the capture's bound) and its screenshot budget and height bound."""
    from playwright.async_api import async_playwright

    budgets = {**DEFAULT_BUDGETS, **settings.capture_step_timeouts}
    t0 = time.perf_counter()
    async with async_playwright() as pw:
        # external hosts fail at once here too (a closed proxy port; loopback goes direct),
        # as the capture proxy refuses them
        browser = await chromium.launch(pw, settings, ["--proxy-server=http://127.0.0.1:9"])
        sem = asyncio.Semaphore(concurrency)

        async def one(url: str) -> None:
            async with sem:
                ctx = await browser.new_context(viewport=VIEWPORT)
                page = await ctx.new_page()
                with contextlib.suppress(Exception):  # load never fired: as far as it got
                    await page.goto(url, wait_until="load", timeout=budgets["load"] * 1000)
                with contextlib.suppress(Exception):
                    height = await page.evaluate("document.documentElement.scrollHeight")
                    await page.screenshot(
                        full_page=True, timeout=budgets["screenshots"] * 1000,
                        clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                              "height": min(height, MAX_SCREENSHOT_HEIGHT)})
                await ctx.close()

        await asyncio.gather(*(one(u) for u in urls))
        await browser.close()
    return time.perf_counter() - t0


@dataclass
class Measured:
    """Wall seconds, CPU seconds (this process + the browser processes it started and
    reaped) and the 1-minute load average before and after."""

    wall: float
    cpu: float
    load: tuple[float, float]


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux).

    When Playwright closes Chromium, the browser process exits before its zygote and
    renderers; they are re-parented to init, and their CPU never reaches this process's
    ``os.times()`` children figures.  Measured on 8 real pages: 13.0 CPU s counted against
    35.4 s sampled from the live process tree, so earlier figures counted well under half
    of the browser's CPU.  As their subreaper, this process reaps them (``reap_orphans``)
    and their CPU is counted."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    return bool(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
                == 0)


def reap_orphans(keep: set[int], wait: float = 10.0) -> None:
    """Reap exited descendants re-parented to this process, waiting up to *wait* seconds
    for every child not in *keep* (the children before the measured run) to exit."""
    import psutil

    deadline = time.monotonic() + wait
    while True:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        left = {p.pid for p in psutil.Process().children()} - keep
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def measure(run: Callable[[], Any]) -> tuple[Any, Measured]:
    import psutil

    keep = {p.pid for p in psutil.Process().children()}
    load0, t0, c0 = os.getloadavg()[0], time.perf_counter(), os.times()
    out = run()
    took = time.perf_counter() - t0
    reap_orphans(keep)  # the browser's last processes exit after it: their CPU counts
    c1 = os.times()
    cpu = (c1.user - c0.user + c1.system - c0.system + c1.children_user - c0.children_user
           + c1.children_system - c0.children_system)
    return out, Measured(took, cpu, (load0, os.getloadavg()[0]))


SUMMARY: list[str] = []


def summarize(name: str, results: list[Any], m: Measured, base: Measured | None,
              n_base: int) -> float:
    """One summary line per capture figure; returns captures (as evidence) per minute."""
    failed = [r for r in results if not r.ok]
    partial = [r for r in results if r.ok and r.status == "partial"]
    rate = (len(results) - len(failed)) / m.wall * 60
    line = (f"{name}: {len(results) - len(failed)}/{len(results)} as evidence "
            f"({len(results) - len(failed) - len(partial)} complete, {len(partial)} partial, "
            f"{len(failed)} failed) at {rate:.1f}/min; CPU {m.cpu / max(1, len(results)):.2f} "
            f"s/capture; load {m.load[0]:.1f}->{m.load[1]:.1f}")
    if base is not None:
        brate = n_base / base.wall * 60
        line += (f" | bare Playwright same pages: {brate:.1f}/min, CPU "
                 f"{base.cpu / max(1, n_base):.2f} s/page, load {base.load[0]:.1f}->"
                 f"{base.load[1]:.1f}; ratio {rate / brate:.2f} (rate), "
                 f"{(m.cpu / max(1, len(results))) / (base.cpu / max(1, n_base)):.2f} (CPU)")
    SUMMARY.append(line)
    print(line, flush=True)
    return rate


#: Chromium keeps at most ~10 MB per response and ~100 MB per page for DevTools to read back,
#: so a page fetches several 8 MB blobs rather than one huge one.
BLOBS_PER_PAGE, BLOB_MB = 10, 8


def blob_server(mb_per_blob: int) -> tuple[ThreadingHTTPServer, str]:
    """Pages that each fetch one incompressible blob (random bytes, made once)."""
    blob = os.urandom(mb_per_blob << 20)

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/blob"):
                body, ctype = blob, "application/octet-stream"
            else:
                fetches = "".join(f"fetch('/blob?{self.path[1:]}-{i}');"
                                  for i in range(BLOBS_PER_PAGE))
                body = (f"<html><body><h1>大文件 {self.path}</h1><script>{fetches}"
                        "</script></body></html>").encode()
                ctype = "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


REAL_PAGES = Path("/work/.mirror/scrapinghub+product-extraction-benchmark/repo")


def real_pages_server(git_dir: Path, n: int) -> tuple[ThreadingHTTPServer, list[str]]:
    """Serve *n* saved product pages of the benchmark snapshot (read with git) locally."""
    import gzip
    import subprocess

    names = [line for line in subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "--name-only", "HEAD", "dataset/html/"],
        capture_output=True, text=True, check=True).stdout.split() if line.endswith(".gz")][:n]
    pages = {}
    for name in names:
        raw = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"HEAD:{name}"],
                             capture_output=True, check=True).stdout
        pages["/p/" + Path(name).name.removesuffix(".gz")] = gzip.decompress(raw)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if body is not None
                             else "text/plain")
            body = body if body is not None else b"not saved"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    return srv, [base + path for path in pages]


def bench_real_pages(db: Database, settings: Settings, git_dir: Path, n: int,
                     concurrency: int) -> None:
    if not (git_dir / "HEAD").exists():
        print(f"real pages skipped: no snapshot at {git_dir} "
              "(fetch github:scrapinghub/product-extraction-benchmark)")
        return
    srv, urls = real_pages_server(git_dir, n)
    try:
        results, m = measure(lambda: asyncio.run(capture_many(
            db, [CaptureRequest(url=u) for u in urls], operator="bench", settings=settings,
            concurrency=concurrency)))
        _, base = measure(lambda: asyncio.run(bare_playwright(urls, settings, concurrency)))
    finally:
        srv.shutdown()
    failed = [r for r in results if not r.ok]
    for r in failed[:5]:
        print(f"  failed: {r.url[-40:]}: {r.error}")
    reasons: dict[str, int] = {}
    for r in results:
        if r.ok and r.status == "partial":
            for why in (r.error or "").split("; "):
                key = why.split(" within")[0].split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
    if reasons:
        print(f"  partial because: {reasons}")
    rate = summarize(f"real saved product pages ({len(urls)}, {concurrency} at a time)",
                     results, m, base, len(urls))
    record(f"real saved product pages captured as evidence ({len(urls)} pages, "
           f"{len(results) - len(failed)} as evidence, load {m.load[0]:.0f}, "
           f"{m.cpu / len(urls):.2f} CPU s/capture)", rate, "captures/min",
           baseline=len(urls) / base.wall * 60,
           baseline_label="bare Playwright goto+full-page screenshot, same pages",
           target="≥ 30, none failed", ok=rate >= 30 and not failed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--captures", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1),
                    help="captures at a time (default: two per core)")
    ap.add_argument("--pack-mb", type=int, default=1024)
    ap.add_argument("--quick", action="store_true", help="10 captures, a 200 MB pack")
    ap.add_argument("--real-pages", type=Path, default=REAL_PAGES,
                    help="git dir of a product-extraction-benchmark snapshot")
    ap.add_argument("--real-count", type=int, default=30)
    ap.add_argument("--only-real", action="store_true", help="only the real-pages part")
    ap.add_argument("--only-captures", action="store_true",
                    help="the capture parts (real pages, sandbox), not the pack")
    ap.add_argument("--pdf", action="store_true",
                    help="print every capture to a PDF too (the setting capture_pdf)")
    args = ap.parse_args()
    if args.quick:
        args.captures, args.pack_mb = 10, 200
    from sandbox.runner import Sandbox

    if not become_subreaper():
        print("not Linux: CPU figures miss the browser processes that outlive Chromium's "
              "main process")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{args.concurrency} captures at a time", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp, \
            LocalTSA(Path(tmp) / "tsa") as tsa, \
            Sandbox(seed=7, listings=5000, obstacles=False) as sb:
        settings = Settings(home=Path(tmp) / "data", db="", tsa_urls=[tsa.url],
                            trusted_tsa_cas=[str(tsa.ca_file)],
                            capture_allow_networks=["127.0.0.0/8"],
                            capture_concurrency=args.concurrency,
                            capture_max_bytes=400 << 20, capture_pdf=args.pdf)
        settings.ensure_home()
        db = Database.open(settings.database_url, settings=settings)
        urls = [f"{sb.urls['mall']}/item/{i}.html" for i in range(1, args.captures + 1)]
        # warm-up (browser start, fonts, first page) so both runs are measured warm
        measure(lambda: asyncio.run(capture_many(db, [CaptureRequest(url=urls[0])],
                                                 operator="bench", settings=settings)))
        bench_real_pages(db, settings, args.real_pages, args.real_count, args.concurrency)
        if not args.only_real:
            _, base = measure(lambda: asyncio.run(
                bare_playwright(urls, settings, args.concurrency)))
            results, m = measure(lambda: asyncio.run(capture_many(
                db, [CaptureRequest(url=u) for u in urls], operator="bench",
                settings=settings)))
            rate = summarize(f"sandbox listing pages ({len(urls)}, every artifact, through "
                             "the recording proxy)", results, m, base, len(urls))
            failed = [r for r in results if not r.ok]
            if failed:
                print(f"{len(failed)} captures failed, e.g. {failed[0].error}")
            record(f"captures per minute, all artifacts, through the recording proxy (load "
                   f"{m.load[0]:.0f}, {m.cpu / len(urls):.2f} CPU s/capture)", rate,
                   "captures/min", baseline=len(urls) / base.wall * 60,
                   baseline_label="bare Playwright goto+screenshot", target="≥ 30",
                   ok=rate >= 30)
        print("\nSUMMARY (captures/min counts complete + partial captures; CPU includes "
              "the browser's processes)")
        for line in SUMMARY:
            print("  " + line)
        if args.only_real or args.only_captures:
            db.dispose()
            return

        # -- a large pack ---------------------------------------------------------------
        per_page = BLOBS_PER_PAGE * BLOB_MB * 1.048576
        pages = max(1, round(args.pack_mb / 2 / per_page))  # WARC + the WACZ copy
        srv, burl = blob_server(BLOB_MB)
        try:
            big = asyncio.run(capture_many(
                db, [CaptureRequest(url=f"{burl}/p{i}") for i in range(pages)],
                operator="bench", settings=settings, concurrency=1))
        finally:
            srv.shutdown()
        ids = [r.capture_id for r in big if r.ok]
        if not ids:
            raise SystemExit(f"large captures failed: {big[0].error}")
        pack = export_pack(db, capture_ids=ids, out=Path(tmp) / "big.zip", actor="bench",
                           settings=settings, pdf=False)
        size_mb = pack.stat().st_size / 1e6
        # baseline: one pass of SHA-256 over the file (sha256sum), page cache warm for both
        t0 = time.perf_counter()
        h = hashlib.sha256()
        with open(pack, "rb") as fh:
            while chunk := fh.read(8 << 20):
                h.update(chunk)
        raw = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = verify_pack(pack, anchors=TrustAnchors.for_installation(settings))
        ver = time.perf_counter() - t0
        assert report.ok, report.failures
        record(f"pack verification ({size_mb:,.0f} MB pack)", size_mb / ver, "MB/s",
               baseline=size_mb / raw, baseline_label="sha256 of the zip, one pass",
               target="≥ 200", ok=size_mb / ver >= 200)
        db.dispose()


if __name__ == "__main__":
    main()
