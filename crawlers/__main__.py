"""``python -m crawlers crawl CODE``: one crawl in this process (what crawl_platform runs)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

from store.errors import SpotcheckError
from store.jsonio import dumps
from store.settings import get_settings


def _exit_with(parent: int) -> None:
    """Exit (as if killed) when *parent* is gone: a scheduler killed with SIGKILL must not
    leave its crawl running, or the scheduler that resumes the job would wait for it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(137)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers")
    sub = parser.add_subparsers(dest="cmd", required=True)
    crawl = sub.add_parser("crawl", help="crawl one platform")
    crawl.add_argument("platform")
    crawl.add_argument("--base-url")
    crawl.add_argument("--incremental", action="store_true")
    crawl.add_argument("--fresh", action="store_true")
    crawl.add_argument("--quiet", action="store_true")
    crawl.add_argument("--summary", type=Path, help="write the summary (JSON) here")
    crawl.add_argument("--max-pages", type=int, help="stop after this many pages")
    crawl.add_argument("--max-duration", help="stop after this time (90s, 30m, 2h)")
    crawl.add_argument("--products-only", action="store_true", help="no seller pages")
    crawl.add_argument("--exit-with", type=int, metavar="PID",
                       help="exit at once when process PID (the caller) is gone")
    args = parser.parse_args(argv)
    if args.exit_with:
        _exit_with(args.exit_with)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from crawlers.bounds import crawl_bounds
    from crawlers.run import run_crawl_in_process

    try:
        bounds = crawl_bounds(args.max_pages, args.max_duration, args.products_only)
        summary = run_crawl_in_process(args.platform, settings=get_settings(),
                                       base_url=args.base_url, full=not args.incremental,
                                       progress=not args.quiet, fresh=args.fresh,
                                       bounds=bounds)
    except SpotcheckError as exc:
        # The code and parameters travel too, so the caller says it in its reader's language.
        data = {"error": {"kind": type(exc).__name__, "message": str(exc), "code": exc.code,
                          "params": {k: str(v) for k, v in exc.params.items()}}}
        if args.summary:
            args.summary.write_text(json.dumps(data), "utf-8")
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    text = dumps(summary.as_dict(), indent=None)
    if args.summary:
        args.summary.write_text(text, "utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
