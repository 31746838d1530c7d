"""Benchmark: sandbox pages/s on one uvicorn worker, against a hello-world baseline.

The server runs in a child process pinned to one core (``taskset`` when available, obstacles
off); the load generator is a minimal keep-alive HTTP/1.1 client on asyncio streams in this
process (several concurrent connections), so client overhead stays well below the server's.
Prints pages/s per page kind and each as a percentage of ``/admin/hello`` on the same server.

    .venv/bin/python bench/bench_sandbox.py [--seconds 3] [--conns 8] [--listings 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import record

TARGET = 1000.0  # pages/s the issue asks for


def free_base_port(n: int = 4) -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65535:
            continue
        ok = True
        for k in range(1, n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + k))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


async def worker(host: str, port: int, paths: list[str], deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    k = 0
    try:
        while time.perf_counter() < deadline:
            path = paths[k % len(paths)]
            k += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: sbx_consent=all\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            counts[0] += 1
    finally:
        writer.close()


async def measure(host: str, port: int, paths: list[str], seconds: float, conns: int) -> float:
    counts = [0]
    await asyncio.gather(*(worker(host, port, paths[c:] + paths[:c], time.perf_counter() + 0.3, [0])
                           for c in range(conns)))  # warm-up
    t0 = time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(*(worker(host, port, paths[c:] + paths[:c], deadline, counts) for c in range(conns)))
    return counts[0] / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--listings", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    base = free_base_port()
    cmd = [sys.executable, "-m", "sandbox", "serve", "--port", str(base), "--seed", str(args.seed),
           "--listings", str(args.listings), "--no-obstacles"]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "0", *cmd]
        os.sched_setaffinity(0, {1})
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{base}/admin/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("server did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))
        n = args.listings
        per = n // 3

        def spread(count: int, offset: int) -> list[int]:
            """Platform positions spread over the whole catalogue, none repeated."""
            return [(offset + k * 7919) % per for k in range(count)]

        warm = spread(2000, 0)  # revisited: served from the generator's LRU cache
        cold = spread(min(per, 60_000), 1)  # each listing visited once: generated on demand
        cases = {
            "hello-world baseline": (base, ["/admin/hello"]),
            "mall detail page (warm)": (base, [f"/item/{10_000_000 + j}.html" for j in warm]),
            "mall detail page (cold)": (base, [f"/item/{10_000_000 + j}.html" for j in cold]),
            "mall category page (20 items)": (base, [f"/c/toys?page={k % 50 + 1}" for k in range(200)]),
            "spa item API JSON (cold)": (base + 1, [f"/api/v1/items/SP{j:07d}" for j in cold]),
            "shop product JSON-LD (cold)": (base + 2, [f"/products/p-{7_000_000 + j}" for j in cold]),
        }
        results: dict[str, float] = {}
        for name, (port, paths) in cases.items():
            results[name] = asyncio.run(measure("127.0.0.1", port, paths, args.seconds, args.conns))
        hello = results["hello-world baseline"]
        load = os.getloadavg()[0]
        print(f"sandbox benchmark: {n} listings, one uvicorn worker on one core, {args.conns} connections, "
              f"{args.seconds:.0f} s per case, load average {load:.1f} (other work on the machine skews figures)")
        for name, rate in results.items():
            if name.startswith("hello"):
                continue
            record(f"sandbox {name}, {n:,} listings, one core", rate, "pages/s",
                   baseline=hello, baseline_label="hello-world on the same server",
                   target=f"≥ {TARGET:.0f}", ok=rate >= TARGET)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
