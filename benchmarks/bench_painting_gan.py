"""Benchmark `emoget make --style painting-gan` end to end, as a user gets it after
`emoget weights fetch ffhq metfaces`: register two generators (the fetch code path with --from:
hash, check, safetensors, pin), build the painting-gan blend (the recipe), then time `make`.

    # the issue-12 GPU figure: 1024-px config-f generators, 300 steps, 256-px output
    python benchmarks/bench_painting_gan.py --device cuda
    # a quick CPU proof that the script works
    python benchmarks/bench_painting_gan.py --device cpu --gen-size 64 --steps 3 --frames 4

The generators are randomly initialised with the real architecture (config-f: style_dim 512,
8 mapping layers, channel multiplier 2), so every figure equals a real checkpoint's cost; the
machine needs no internet. Without the VGG16 file in the torch hub cache the inversion uses the
fallback perceptual loss; `--perceptual lpips` times LPIPS with a randomly initialised VGG16
written to a temporary torch hub folder (the real one's cost).
Printed: registration + conversion, recipe build, each `make` run (first = cold: CUDA context,
cuDNN autotuning), its stages, seconds per inversion step, and peak GPU memory.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda | cpu (default cuda)")
    ap.add_argument("--gen-size", type=int, default=1024, help="generator resolution (1024)")
    ap.add_argument("--steps", type=int, default=300, help="inversion steps (300)")
    ap.add_argument("--size", type=int, default=256, help="output side in px (256)")
    ap.add_argument("--frames", type=int, default=24, help="animation frames (24)")
    ap.add_argument("--runs", type=int, default=3, help="make runs (the first is cold)")
    ap.add_argument("--perceptual", choices=("auto", "lpips"), default="auto",
                    help="auto: LPIPS when this machine has VGG16's weights, else the fallback loss; "
                         "lpips: LPIPS with a random VGG16 (same cost)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="emoget-bench-painting-"))
    os.environ["EMOGET_WEIGHTS_DIR"] = str(tmp / "weights")
    os.environ.setdefault("EMOGET_NO_PROGRESS", "1")

    import torch

    from emoget_cli.catalogue import build_recipes, fetch, load_catalogue
    from emoget_cli.gan import Generator, save_checkpoint
    from emoget_cli.gan.checkpoint import Checkpoint
    from emoget_cli.pipeline import MakeConfig, make, sample_input
    from emoget_cli.weights import load_registry
    from recorded_landmarks import install_if_dlib_missing

    install_if_dlib_missing()  # a GPU machine without dlib's model replays the sample's points
    if args.perceptual == "lpips":
        from bench_invert import write_random_vgg16

        write_random_vgg16()

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU visible (use --device cpu)")
    print(f"device {args.device}"
          + (f" ({torch.cuda.get_device_name(0)})" if cuda else f" ({torch.get_num_threads()} threads)")
          + f", torch {torch.__version__}; generators {args.gen_size} px config-f (random weights)",
          flush=True)

    t = time.perf_counter()
    files = {}
    for seed, name in enumerate(("ffhq", "metfaces")):
        torch.manual_seed(seed)
        G = Generator(args.gen_size, 512, 8, channel_multiplier=2).eval()
        files[name] = save_checkpoint(Checkpoint.from_modules(G), tmp / f"{name}-random.pt")
        del G
    print(f"random generators written: {time.perf_counter() - t:.1f} s", flush=True)

    cat = load_catalogue()
    t = time.perf_counter()
    for name, path in files.items():
        fetch(cat.get(name), accept_licence=True, from_file=path)
    t_fetch = time.perf_counter() - t
    t = time.perf_counter()
    built = build_recipes(cat)
    t_recipe = time.perf_counter() - t
    assert [s.name for s in built] == ["painting-gan"], built
    entry = load_registry().get("painting-gan")
    print(f"weights fetch --from (hash, check, safetensors, pin) x2: {t_fetch:.1f} s; "
          f"painting-gan recipe (blend at swap_res {entry.swap_res}): {t_recipe:.1f} s", flush=True)

    sample = sample_input()
    for run in range(args.runs):
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        config = MakeConfig(output=tmp / f"painting-{run}.gif", style="painting-gan",
                            expressions=("happiness",), invert_steps=args.steps,
                            animation={"size": args.size, "frames": args.frames}, device=args.device)
        warnings: list[str] = []
        t = time.perf_counter()
        (result,) = make([sample], config, warn=warnings.append)
        wall = time.perf_counter() - t
        if not result.ok:
            raise SystemExit(f"make failed: {result.error}")
        stages = "  ".join(f"{k} {v:.2f}" for k, v in result.stages.items())
        peak = (f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if cuda else "")
        print(f"make run {run + 1}{' (cold)' if run == 0 else ''}: {wall:.2f} s wall; stages (s): "
              f"{stages}; ≈ {result.stages.get('style', wall) / args.steps * 1000:.0f} ms per "
              f"inversion step (style stage / steps){peak}", flush=True)
        for w in warnings:
            print(f"  warning: {w}")
    print(f"goal: ≤ 10 s per selfie on one H100-class GPU ({args.steps} steps, {args.size} px); "
          f"files in {tmp}")


if __name__ == "__main__":
    main()
