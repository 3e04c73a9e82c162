"""Benchmark `emoget serve`: the real server (`python -m emoget_cli serve`) in a subprocess,
driven over HTTP like the page drives it.

    python benchmarks/bench_serve.py                 # --workers 2 (the default), 4 parallel jobs
    python benchmarks/bench_serve.py --workers 4

Prints: start-up until the page answers; upload → first result for the sample face (the style
step's stills, and a GIF straight from POST /api/jobs), the first job after start (workers
warming) and warm; the resident memory (RSS) of the server and its worker processes, idle and
at its peak while 4 jobs are submitted at once (with --workers 2 two of them wait in the queue).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"


def tree_rss_mib(pid: int) -> float:
    """RSS of `pid` and all its descendants, MiB (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def multipart(fields: dict, image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="me.jpg"\r\n'
             f"Content-Type: image/jpeg\r\n\r\n".encode() + image + b"\r\n"]
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def run_job(base: str, path: str, fields: dict) -> float:
    """Upload, poll until done; seconds from the first byte sent to the result listed."""
    body, ctype = multipart(fields, SAMPLE.read_bytes())
    t = time.perf_counter()
    req = urllib.request.Request(base + path, data=body, headers={"content-type": ctype})
    job_id = json.load(urllib.request.urlopen(req))["id"]
    while True:
        job = json.load(urllib.request.urlopen(f"{base}/api/jobs/{job_id}"))
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.02)
    if job["status"] != "done":
        raise SystemExit(f"job failed: {job['error']}")
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "emoget_cli", "serve", "--port", "0",
                               "--workers", str(args.workers)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        match = re.search(r"http://[^/\s]+", line)
        if not match:
            raise SystemExit(f"no address from the server: {line!r}")
        base = match.group(0)
        while True:
            try:
                urllib.request.urlopen(base + "/api/options").read()
                break
            except OSError:
                time.sleep(0.05)
        print(f"server answers after {time.perf_counter() - t0:.2f} s ({os.cpu_count()} CPUs, "
              f"--workers {args.workers})")
        cold = run_job(base, "/api/previews", {})
        print(f"first job after start (style stills, workers warming): {cold:.2f} s")
        stills = [run_job(base, "/api/previews", {}) for _ in range(args.repeat)]
        gifs = [run_job(base, "/api/jobs", {"style": "cartoon", "expr": "happiness"})
                for _ in range(args.repeat)]
        print(f"upload → style stills (4 styles, 192²), warm: best {min(stills):.2f} s, "
              f"median {sorted(stills)[len(stills) // 2]:.2f} s")
        print(f"upload → GIF (cartoon, happiness, 256², 24 frames), warm: best {min(gifs):.2f} s, "
              f"median {sorted(gifs)[len(gifs) // 2]:.2f} s")
        time.sleep(1.0)
        alone = tree_rss_mib(server.pid) - sum(tree_rss_mib(int(c)) for c in Path(
            f"/proc/{server.pid}/task/{server.pid}/children").read_text().split())
        print(f"RSS idle: {tree_rss_mib(server.pid):.0f} MiB (server process {alone:.0f} MiB, the "
              f"rest its warm workers)")
        peak, done = 0.0, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_mib(server.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        exprs = ["happiness", "surprise", "sadness", "anger"]
        t = time.perf_counter()
        threads = [threading.Thread(target=run_job, args=(base, "/api/jobs", {"expr": e})) for e in exprs]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        done.set()
        sampler.join()
        print(f"4 jobs submitted at once: all done in {time.perf_counter() - t:.2f} s, "
              f"peak RSS {peak:.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
