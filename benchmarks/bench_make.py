"""Benchmark `emoget make`: wall time and peak RSS of a fresh process (imports included), the
in-process stage breakdown, and the gan engine (inversion included) when asked / on a GPU.

    python benchmarks/bench_make.py                      # classic engine, 256², 24 frames, CPU
    python benchmarks/bench_make.py --styles baby,cartoon,painting --repeat 3
    python benchmarks/bench_make.py --gan [--generator G.pt] [--invert-steps 300] [--device cuda]

Goals (issue 5): classic ≤ 2 s and ≤ 1.5 GiB on CPU; gan ≤ 10 s on a GPU (inversion included).
Without --generator the gan run uses a randomly initialised full-size 256 px generator (the
timing of a real one of the same architecture; its picture is noise, its landmarks fall back).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from emoget_cli.pipeline import MakeConfig, make
cfg = MakeConfig(**json.loads(sys.argv[1]))
t1 = time.perf_counter()
(r,) = make([Path(sys.argv[2])], cfg)
t2 = time.perf_counter()
print(json.dumps({"ok": r.ok, "error": r.error, "import_s": t1 - t0, "make_s": t2 - t1,
                  "stages": r.stages, "bytes": r.bytes,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def fresh_process(config: dict, image: Path) -> dict:
    """One `make` in a new interpreter: wall time from exec to exit, peak RSS of the child."""
    env = {**os.environ, "EMOGET_NO_PROGRESS": "1"}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), str(image)],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {proc.stderr.strip().splitlines()[-1:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["wall_s"] = wall
    return data


def in_process(config: dict, image: Path, repeat: int) -> list[dict]:
    from emoget_cli.pipeline import MakeConfig, make

    cfg = MakeConfig(**config)
    make([image], cfg)  # warm: model files loaded, caches filled
    out = []
    for _ in range(repeat):
        (r,) = make([image], cfg)
        if not r.ok:
            raise SystemExit(f"make failed: {r.error}")
        out.append({"seconds": r.seconds, **r.stages})
    return out


def random_generator(folder: Path, size: int) -> Path:
    import torch

    from emoget_cli.gan import Generator, save_checkpoint
    from emoget_cli.gan.checkpoint import Checkpoint

    torch.manual_seed(0)
    G = Generator(size).eval()
    return save_checkpoint(Checkpoint.from_modules(G), folder / f"random-{size}.pt")


def fmt_stages(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k != "seconds"]
    med = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in keys}
    total = statistics.median(r["seconds"] for r in rows)
    return "  ".join(f"{k} {v * 1000:.0f}" for k, v in med.items()) + f"  | total {total * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", type=Path, default=SAMPLE)
    ap.add_argument("--styles", default="cartoon",
                    help="comma-separated classic styles; none: only the gan engine (--gan)")
    ap.add_argument("--expr", default="happiness")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fresh", type=int, default=2, help="fresh-process runs per style")
    ap.add_argument("--backend", default="dlib", help="landmark backend (auto may load torch)")
    ap.add_argument("--gan", action="store_true", help="also time the gan engine")
    ap.add_argument("--generator", type=Path, default=None)
    ap.add_argument("--invert-steps", type=int, default=300)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"emoget make benchmark: {args.image.name}, {args.size}², {args.frames} frames, "
              f"expr {args.expr}, landmarks {args.backend}, python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        for style in ([] if args.styles == "none" else args.styles.split(",")):
            config = {"output": str(tmp / f"{style}.gif"), "style": style, "engine": "classic",
                      "expressions": [args.expr],
                      "animation": {"frames": args.frames, "size": args.size},
                      "landmark_backend": args.backend, "device": "cpu"}
            runs = [fresh_process(config, args.image) for _ in range(args.fresh)]
            best = min(runs, key=lambda r: r["wall_s"])
            print(f"[classic/{style}] fresh process: wall {best['wall_s']:.2f} s (imports "
                  f"{best['import_s']:.2f} s, make {best['make_s']:.2f} s), peak RSS "
                  f"{max(r['rss_mib'] for r in runs):.0f} MiB, output {best['bytes'] / 1024:.0f} KiB")
            cfg = {**config, "output": Path(config["output"]), "expressions": (args.expr,)}
            rows = in_process(cfg, args.image, args.repeat)
            print(f"[classic/{style}] in-process stages (median of {args.repeat}, ms): {fmt_stages(rows)}")
        if args.gan:
            import torch

            from recorded_landmarks import install_if_dlib_missing

            install_if_dlib_missing()  # a GPU machine without dlib's model replays the sample's points
            gen = args.generator or random_generator(tmp, args.size)
            device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
            config = {"output": tmp / "gan.gif", "generator": Path(gen), "engine": "gan",
                      "expressions": (args.expr,),
                      "animation": {"frames": args.frames, "size": args.size},
                      "invert_steps": args.invert_steps, "landmark_backend": args.backend,
                      "device": device}
            rows = in_process(config, args.image, 1)
            name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU"
            print(f"[gan] {Path(gen).name}, {args.invert_steps} inversion steps on {name}: "
                  f"{fmt_stages(rows)}")
            if device.startswith("cuda"):
                print(f"[gan] peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
        print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
