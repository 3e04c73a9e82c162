"""Landmark-motion speed: ms per generated 24-frame track, FACS library vs learned models.

    python benchmarks/bench_motion.py [--model motion.pt] [--repeats 50]

Without --model, trains the seed and temporal models on synthetic FACS tracks first (and prints
the training time and held-out errors).
"""

from __future__ import annotations

import argparse
import time



def per_call_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) * 1000.0 / repeats


def main() -> None:
    from emoget_cli.motion import (EXPRESSIONS, MotionConfig, TrainMotionConfig, dataset_from_tracks,
                                   generate_motion, load_motion_model, train_motion)
    from emoget_cli.motion.geometry import SAMPLE_FACE_POINTS
    from emoget_cli.motion.synth import synthesize_tracks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a motion.pt from `emoget train motion`")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    l0 = SAMPLE_FACE_POINTS
    config = MotionConfig(frames=24)
    print(f"{'generator':<32}{'ms/track (24 frames)':>22}{'ms/frame':>10}")
    for expr in ("happiness", "surprise+wink", "idle"):
        ms = per_call_ms(lambda: generate_motion(l0, expr, config), args.repeats)
        print(f"{'facs ' + expr:<32}{ms:>22.3f}{ms / 24:>10.4f}")

    models = {}
    if args.model:
        model = load_motion_model(args.model)
        models[model.arch] = model
    else:
        classes = [e for e in EXPRESSIONS if e != "neutral"]
        tracks = synthesize_tracks(classes, 8, frames=24, seed=1)
        data = dataset_from_tracks([(t.label, t.points_array()) for t in tracks], 24)
        for arch in ("seed", "temporal"):
            start = time.perf_counter()
            result = train_motion(data, TrainMotionConfig(arch=arch))
            print(f"train ({len(data)} tracks, both models, {arch} kept): "
                  f"{time.perf_counter() - start:.2f} s; held-out error/IOD "
                  + ", ".join(f"{k} {v:.4f}" for k, v in result.errors.items()))
            models[arch] = result.model
    for arch, model in models.items():
        expr = model.classes[0]
        ms = per_call_ms(lambda: model.generate(l0, expr, config), args.repeats)
        print(f"{'learned ' + arch + ' ' + expr:<32}{ms:>22.3f}{ms / 24:>10.4f}")


if __name__ == "__main__":
    main()
