"""Speed of the expression motion and the smooth warp at 256², 24 frames, on the sample face,
for every expression at --intensity 1 and 1.5; then `emoget make --sample` end to end.

    python benchmarks/bench_expressions.py [--repeats 3] [--no-make]

Goals (issue 9): warp ≤ 5 ms/frame (OpenCV, CPU, smooth map included; the mouth/eyelid fill
and the effects are reported apart), `make` ≤ 2 s for 256 px × 24 frames. Figures are medians
over the repeats, in CPU time of this process (time.process_time: on a shared, loaded machine
the wall clock mostly measures the others' load) and wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face.align import align_face
    from emoget_cli.motion import EXPRESSIONS
    from emoget_cli.motion.geometry import SAMPLE_FACE_POINTS
    from emoget_cli.pipeline import sample_input
    from emoget_cli.animation import plan_track
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.render.warp import FaceWarper

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-make", action="store_true")
    args = ap.parse_args(argv)
    img, info = align_face(read_image(sample_input()).rgb, SAMPLE_FACE_POINTS, size=256)
    pts = info.points.astype(np.float32)
    rows = []
    for intensity in (1.0, 1.5):
        motion_ms, warp_ms, flat_ms, fill_ms, wall_ms = [], [], [], [], []
        for expr in EXPRESSIONS:
            spec = AnimationSpec(frames=24, intensity=intensity)
            t = time.perf_counter()
            plan = plan_track(pts, expr, spec, None, 0, (256, 256))
            motion_ms.append((time.perf_counter() - t) * 1000)
            for smooth, fill, out in ((None, False, warp_ms), (0.0, False, flat_ms),
                                      (None, True, fill_ms)):
                warper = FaceWarper(img, pts, fill=fill, smooth=smooth)
                motion = warper.limit_motion(plan.points)
                times, walls = [], []
                for _ in range(args.repeats):
                    t, w = time.process_time(), time.perf_counter()
                    for dst in motion:
                        warper.render(dst)
                    times.append((time.process_time() - t) * 1000 / len(motion))
                    walls.append((time.perf_counter() - w) * 1000 / len(motion))
                out.append(statistics.median(times))
                if out is warp_ms:
                    wall_ms.append(statistics.median(walls))
        rows.append((intensity, statistics.median(motion_ms), statistics.median(warp_ms),
                     max(warp_ms), statistics.median(flat_ms), statistics.median(fill_ms),
                     statistics.median(wall_ms)))
    print("CPU ms (wall ms for the smooth warp in brackets); load average "
          f"{os.getloadavg()[0]:.1f}")
    print("intensity | motion ms/loop | smooth warp ms/frame (median, worst expr) [wall] | "
          "piecewise-affine | smooth + fill")
    for r in rows:
        print(f"{r[0]:9.1f} | {r[1]:14.2f} | {r[2]:6.2f}, {r[3]:6.2f} [{r[6]:6.2f}] | {r[4]:6.2f} "
              f"| {r[5]:6.2f}")
    if not args.no_make:
        import tempfile

        from emoget_cli.pipeline import MakeConfig, make

        with tempfile.TemporaryDirectory() as tmp:
            for expr in ("happiness", "laugh"):
                cfg = MakeConfig(output=Path(tmp) / f"{expr}.gif", expressions=(expr,),
                                 animation=AnimationSpec(size=256, frames=24))
                make([sample_input()], cfg)  # warm-up: models loaded, caches filled
                cpu, wall = [], []
                for _ in range(args.repeats):
                    t, w = time.process_time(), time.perf_counter()
                    (res,) = make([sample_input()], cfg)
                    cpu.append(time.process_time() - t)
                    wall.append(time.perf_counter() - w)
                print(f"make --sample --expr {expr} (cartoon, 256², 24 frames, in-process, warm): "
                      f"CPU {statistics.median(cpu):.2f} s, wall {statistics.median(wall):.2f} s; "
                      f"stages {res.stages}")
        bench = ROOT / "benchmarks" / "bench_make.py"
        out = subprocess.run([sys.executable, str(bench), "--repeat", str(args.repeats)],
                             capture_output=True, text=True, cwd=ROOT)
        print(out.stdout.strip() or out.stderr.strip()[-2000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
