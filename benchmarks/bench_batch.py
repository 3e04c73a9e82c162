"""Benchmark batch `make`: local worker processes (--jobs) against Ray actors (--ray) on the
same machine, same inputs, same options.

    python benchmarks/bench_batch.py                 # 200 selfies, --jobs 2 vs --ray (local, 2 CPUs)
    python benchmarks/bench_batch.py --n 40 --size 128 --frames 12

The selfies are variants of the bundled portrait (crops, flips, colour shifts, rescales), so
every input is a real face at a different framing. Each mode runs in a fresh process (`emoget
make DIR -o OUT/ --json`), so start-up (spawning workers, starting the local Ray cluster) is
counted. Prints per mode: wall time, throughput, per-file latency (median / p95 of the worker's
own time), and the Ray/--jobs throughput ratio (Ray's overhead on one machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"


def write_selfies(folder: Path, n: int, seed: int = 0) -> None:
    """n variants of the sample portrait as PNGs: random crop around the face, flip, colour
    shift and rescale (320..512 px on the long side)."""
    import cv2

    sys.path.insert(0, str(ROOT))
    from emoget_cli.core.image_io import read_image, write_image

    rgb = read_image(SAMPLE).rgb
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    for i in range(n):
        x0, y0 = rng.integers(0, 90, size=2)
        x1, y1 = w - rng.integers(0, 60), h - rng.integers(0, 120)
        img = rgb[y0:y1, x0:x1]
        if rng.random() < 0.5:
            img = img[:, ::-1]
        img = np.clip(img.astype(np.int16) + rng.integers(-20, 21, size=3), 0, 255).astype(np.uint8)
        side = int(rng.integers(320, 513))
        scale = side / max(img.shape[:2])
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
        write_image(folder / f"selfie{i:04d}.png", np.ascontiguousarray(img))


def run_mode(inputs: Path, out: Path, extra: list[str], args) -> dict:
    cmd = [sys.executable, "-m", "emoget_cli", "make", str(inputs), "-o", f"{out}/", "--json",
           "--size", str(args.size), "--frames", str(args.frames), *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 9):
        raise SystemExit(f"{' '.join(extra)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    results = json.loads(proc.stdout)["results"]
    lat = sorted(r["seconds"] for r in results if r["ok"])
    return {"mode": " ".join(extra), "files": len(results), "ok": sum(r["ok"] for r in results),
            "wall_s": wall, "files_per_s": len(results) / wall,
            "latency_median_s": statistics.median(lat),
            "latency_p95_s": lat[min(len(lat) - 1, int(0.95 * len(lat)))]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        write_selfies(inputs, args.n)
        rows = [run_mode(inputs, Path(tmp) / "jobs", ["--jobs", str(args.jobs)], args),
                run_mode(inputs, Path(tmp) / "ray", ["--ray", "local"], args)]
    print(f"{args.n} selfies, {args.size} px, {args.frames} frames, {os.cpu_count()} CPUs")
    print(f"{'mode':<12} {'ok':>5} {'wall s':>8} {'files/s':>8} {'lat med':>8} {'lat p95':>8}")
    for r in rows:
        print(f"{r['mode']:<12} {r['ok']:>5} {r['wall_s']:>8.1f} {r['files_per_s']:>8.2f} "
              f"{r['latency_median_s']:>8.2f} {r['latency_p95_s']:>8.2f}")
    print(f"Ray / --jobs throughput: {rows[1]['files_per_s'] / rows[0]['files_per_s']:.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
