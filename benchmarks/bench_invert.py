"""Benchmark GAN inversion: time per optimisation step (W+, optimised noise) for a full-width
StyleGAN2 generator, and the perceptual losses alone (forward + backward).

    python benchmarks/bench_invert.py                         # CPU, 64² and 256², fallback loss
    python benchmarks/bench_invert.py --device cuda --sizes 256 1024 --steps 20

The generator is randomly initialised (same architecture and cost as a real one). LPIPS-VGG is
timed with a randomly initialised VGG16 written to a temporary torch hub folder, because the real
backbone weights cannot be downloaded offline (its cost is the same); the inversion is timed with
both losses.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def bench_inversion(size: int, steps: int, device, perceptual: str) -> None:
    import torch

    from emoget_cli.gan import Generator
    from emoget_cli.gan.invert import InvertConfig, invert

    torch.manual_seed(0)
    G = Generator(size, 512, 8, channel_multiplier=2).to(device).eval()
    target = torch.rand(1, 3, size, size, device=device) * 2 - 1
    result = invert(target, G, InvertConfig(steps=steps, perceptual=perceptual, n_mean=1000))
    print(f"inversion {size:>4}²  {perceptual:<8} {result.step_seconds * 1000:8.0f} ms/step   "
          f"({steps} steps, {result.seconds:.1f} s with the mean-w statistics)", flush=True)


def write_random_vgg16() -> None:
    """Point TORCH_HOME at a new temporary folder holding a randomly initialised VGG16 under
    the ImageNet file's name, so that LPIPS runs (and costs what it costs) offline."""
    import torch

    os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="emoget-bench-")
    from emoget_cli.gan import perceptual as P

    vgg = P.LPIPSVGG()  # the plain-torch VGG16 trunk, randomly initialised
    P.vgg16_weights_path().parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"features.{k}": v for k, v in vgg.features.state_dict().items()},
               P.vgg16_weights_path())


def bench_perceptual(sizes: list[int], device) -> None:
    import torch

    from emoget_cli.gan import perceptual as P

    for name in ("fallback", "lpips"):
        loss = P.build_perceptual(name, device)
        for size in sizes:
            x = torch.rand(1, 3, size, size, device=device) * 2 - 1
            y = (torch.rand(1, 3, size, size, device=device) * 2 - 1).requires_grad_()
            loss(x, y).sum().backward()  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(3):
                loss(x, y).sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            print(f"perceptual {name:<8} {size:>4}²  {(time.perf_counter() - start) / 3 * 1000:8.1f} ms "
                  "(forward + backward)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    from emoget_cli.core.device import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    write_random_vgg16()
    bench_perceptual(args.sizes, device)
    for size in args.sizes:
        for perceptual in ("fallback", "lpips"):
            bench_inversion(size, args.steps, device, perceptual)


if __name__ == "__main__":
    main()
