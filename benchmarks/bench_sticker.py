"""Benchmark die-cut stickers and platform packs: the cut-out alone, one sticker (`make --sticker`
and a LINE sticker), and a whole pack (16 LINE stickers by default), with the stage breakdown.

    python benchmarks/bench_sticker.py                    # cut-out, one sticker, a LINE pack
    python benchmarks/bench_sticker.py --preset whatsapp --repeat 3
    python benchmarks/bench_sticker.py --threads 2        # OpenCV threads (2 cores: the goal)

Goals (issue 10): one sticker <= 2 s on 2 CPU cores; a 16-sticker pack's time is reported.
Each sticker is timed in-process after one warm-up (model loads excluded, like bench_make's
stage figures); the pack is timed whole (style once, then every expression).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _time(fn, repeat: int) -> tuple[float, float, object]:
    """(median wall seconds, median CPU seconds of this process, last result). On a shared
    machine the CPU seconds are the steadier figure: wall / CPU shows the contention."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="line", help="platform of the pack (default line)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="OpenCV threads (default 2)")
    parser.add_argument("--no-pack", action="store_true", help="skip the pack")
    args = parser.parse_args()

    import cv2

    cv2.setNumThreads(args.threads)
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces
    from emoget_cli.pipeline import SAMPLE_FACE, STICKER_ZOOM, MakeConfig, make
    from emoget_cli.render import matting

    rgb = read_image(SAMPLE_FACE).rgb
    face = detect_faces(rgb, backend="dlib")[0]
    print(f"cv2 threads {cv2.getNumThreads()}; figures are medians of {args.repeat}")
    for side in (256, 512):
        aligned, info = align_face(rgb, face.points, size=side, zoom=STICKER_ZOOM)

        def cut():
            matting._CACHE.clear()
            return matting.cut_out_head(aligned, info.points)

        sec, cpu, _ = _time(cut, args.repeat)
        print(f"cut-out (prior + GrabCut + guided filter + chin cut + decontamination), "
              f"{side}²: {sec * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")

    with tempfile.TemporaryDirectory() as tmp:
        runs = [("make --sticker, 256², 24 frames, GIF",
                 dict(output=Path(tmp) / "s.gif",
                      animation=AnimationSpec(sticker=True, size=256))),
                ("LINE sticker (270², APNG fitted to 300 KB)",
                 dict(output=Path(tmp) / "l.png", preset="line")),
                ("WhatsApp sticker (512², WebP)",
                 dict(output=Path(tmp) / "w.webp", preset="whatsapp"))]
        make([SAMPLE_FACE], MakeConfig(**runs[0][1]))                  # warm-up: model loads
        for label, kw in runs:
            matting._CACHE.clear()
            sec, cpu, res = _time(lambda: make([SAMPLE_FACE], MakeConfig(**kw))[0], args.repeat)
            stages = ", ".join(f"{k} {v * 1000:.0f}" for k, v in res.stages.items())
            print(f"{label}: {sec:.2f} s wall, {cpu:.2f} s CPU ({res.bytes / 1000:.0f} KB) "
                  f"[wall ms: {stages}]")
        if not args.no_pack:
            from emoget_cli.pack import choose_pack_expressions
            from emoget_cli.render.presets import get_preset

            n = len(choose_pack_expressions(get_preset(args.preset)))
            out = Path(tmp) / "pack"
            t, c = time.perf_counter(), time.process_time()
            (res,) = make([SAMPLE_FACE], MakeConfig(output=out, pack=True, preset=args.preset))
            sec, cpu = time.perf_counter() - t, time.process_time() - c
            if not res.ok:
                print(f"pack failed: {res.error}")
                return
            stages = ", ".join(f"{k} {v:.2f}" for k, v in res.stages.items())
            print(f"{args.preset} pack of {n} stickers (validated, manifest, sheet, zip): "
                  f"{sec:.1f} s wall, {cpu:.1f} s CPU, {sec / n:.2f} s wall per sticker, "
                  f"{res.bytes / 1e6:.2f} MB [wall s: {stages}]")


if __name__ == "__main__":
    main()
