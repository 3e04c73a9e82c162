"""Generator inference speed: images/s at several batch sizes, and peak memory.

    python benchmarks/bench_generator.py                       # CPU, 64 px, batches 1 and 64
    python benchmarks/bench_generator.py --device cuda --size 256 --amp bf16 --channels-last
    python benchmarks/bench_generator.py --device cuda --size 256 --compile

Times `G.synthesis(G.mapping(z))` in eval mode under `torch.no_grad()` (constant noise),
after warm-up iterations. Peak memory: CUDA max_memory_allocated, or the process peak RSS on CPU.
Prints one line per batch size and a JSON summary (no timing asserts: figures only).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_mib() -> float:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(args: argparse.Namespace) -> dict:
    import torch

    from emoget_cli.gan.networks import Generator
    from emoget_cli.gan.ops import enable_tf32, maybe_compile

    device = torch.device(args.device)
    if device.type == "cuda":
        enable_tf32(not args.no_tf32)
    torch.manual_seed(0)
    G = Generator(args.size, 512, 8, channel_multiplier=args.channel_multiplier,
                  channel_max=args.channel_max).to(device).eval()
    for p in G.parameters():
        p.requires_grad_(False)
    if args.fused is not None:
        for m in G.modules():
            if hasattr(m, "fused"):
                m.fused = args.fused == "grouped"
    synth = maybe_compile(G.synthesis, enabled=args.compile, mode="max-autotune-no-cudagraphs")
    amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.amp]

    def step(batch: int) -> torch.Tensor:
        z = torch.randn(batch, 512, device=device)
        with torch.no_grad(), torch.autocast(device.type, dtype=amp_dtype or torch.float32,
                                             enabled=amp_dtype is not None):
            w = G.mapping(z).unsqueeze(1).repeat(1, G.n_latent, 1)
            return synth(w)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    results = []
    for batch in args.batch:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        # big batches: fewer repetitions (one batch of 64 at 64 px takes minutes on a small CPU)
        for _ in range(args.warmup if batch == 1 else min(args.warmup, 1)):
            step(batch)
        sync()
        iters = args.iters if batch == 1 else max(1, args.iters // 8)
        t0 = time.perf_counter()
        for _ in range(iters):
            img = step(batch)
        sync()
        dt = time.perf_counter() - t0
        peak = (torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else _rss_mib()
        row = {"batch": batch, "img_per_s": round(batch * iters / dt, 2),
               "ms_per_batch": round(1000 * dt / iters, 2), "peak_mib": round(peak, 1),
               "out_shape": list(img.shape)}
        results.append(row)
        print(f"batch {batch:4d}: {row['img_per_s']:9.2f} img/s  {row['ms_per_batch']:9.2f} ms/batch  "
              f"peak {row['peak_mib']:8.1f} MiB ({'CUDA alloc' if device.type == 'cuda' else 'process RSS'})")
    info = {"device": str(device), "size": args.size, "channel_multiplier": args.channel_multiplier,
            "channel_max": args.channel_max, "amp": args.amp, "compile": args.compile,
            "modconv": args.fused or "auto", "torch": torch.__version__,
            "threads": torch.get_num_threads(), "results": results}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channel-multiplier", type=int, default=2)
    p.add_argument("--channel-max", type=int, default=512)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    p.add_argument("--iters", type=int, default=8, help="timed iterations at batch 1 (batch>1: iters/8, at least 1)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none")
    p.add_argument("--fused", choices=["grouped", "modulate-input"], default=None,
                   help="force one modulated-conv path (default: grouped in eval mode)")
    p.add_argument("--compile", action="store_true", help="torch.compile the synthesis network")
    p.add_argument("--no-tf32", action="store_true")
    args = p.parse_args(argv)
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
