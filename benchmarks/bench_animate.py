"""Speed of `emoget animate` at 256x256, 24 frames: motion, warp (OpenCV / torch CPU / CUDA)
and encoding, plus bytes per frame per format.

    python benchmarks/bench_animate.py [--expr surprise] [--repeats 5]

Prints milliseconds per frame (median over repeats). The goal for the CPU warp is <= 10 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def aligned_astronaut(size: int = 256):
    from skimage import data

    from emoget_cli.face import align_face, detect_faces

    rgb = data.astronaut()
    pts = detect_faces(rgb, backend="dlib")[0].points
    img, info = align_face(rgb, pts, size=size)
    return img, info.points.astype(np.float32)


def per_frame_ms(fn, frames: int, repeats: int) -> float:
    fn()  # warm-up (imports, caches, CUDA context)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000 / frames)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expr", default="surprise")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch CPU threads (0 = torch's default). On a busy machine 1 avoids "
                        "OpenMP stalls that make small tensor ops 100x slower.")
    args = parser.parse_args()

    import torch

    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)

    from emoget_cli.motion import MotionConfig, generate_motion
    from emoget_cli.render.export import export_animation
    from emoget_cli.render.warp import FaceWarper

    img, pts = aligned_astronaut(args.size)
    cfg = MotionConfig(frames=args.frames)
    n, r = args.frames, args.repeats
    print(f"# emoget animate benchmark: {args.size}x{args.size}, {n} frames, expr={args.expr}, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    motion = generate_motion(pts, args.expr, cfg)
    rows = [("motion (FACS library)", per_frame_ms(lambda: generate_motion(pts, args.expr, cfg), n, r))]

    def warp_all(warper):
        return lambda: [warper.render(d) for d in motion]

    rows.append(("warp setup (mesh, once per face)",
                 per_frame_ms(lambda: FaceWarper(img, pts), 1, r)))
    limiter = FaceWarper(img, pts)
    rows.append(("motion limiting (whole loop, per frame)",
                 per_frame_ms(lambda: limiter.limit_motion(motion), n, r)))
    motion = limiter.limit_motion(motion)  # what animate() renders
    rows.append(("warp opencv, geometry only", per_frame_ms(warp_all(FaceWarper(img, pts, fill=False)), n, r)))
    rows.append(("warp opencv + mouth/eyelid fill", per_frame_ms(warp_all(FaceWarper(img, pts)), n, r)))
    rows.append(("warp torch cpu + fill",
                 per_frame_ms(warp_all(FaceWarper(img, pts, backend="torch", device="cpu")), n, r)))
    if torch.cuda.is_available():
        warper = FaceWarper(img, pts, backend="torch", device="cuda")
        rows.append(("warp torch cuda + fill", per_frame_ms(warp_all(warper), n, r)))
    else:
        rows.append(("warp torch cuda", float("nan")))
    frames = [FaceWarper(img, pts).render(d) for d in motion]
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, suffix in (("gif", ".gif"), ("apng", ".png"), ("webp", ".webp"),
                            ("webm", ".webm"), ("mp4", ".mp4")):
            path = Path(tmp) / f"a{suffix}"
            try:
                ms = per_frame_ms(lambda: export_animation(frames, path, fps=12.0, fmt=fmt), n,
                                  max(1, r // 2))
                sizes.append((fmt, path.stat().st_size))
            except Exception as exc:  # e.g. no ffmpeg: report and go on
                print(f"# {fmt}: {type(exc).__name__}: {exc}")
                ms = float("nan")
            rows.append((f"encode {fmt}", ms))
    width = max(len(k) for k, _ in rows)
    print(f"{'stage':<{width}}  ms/frame")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:8.2f}" if ms == ms else f"{name:<{width}}       n/a")
    print(f"\n{'format':<8} {'bytes':>9} {'bytes/frame':>12}")
    for fmt, size in sizes:
        print(f"{fmt:<8} {size:>9} {size / n:>12.0f}")


if __name__ == "__main__":
    main()
