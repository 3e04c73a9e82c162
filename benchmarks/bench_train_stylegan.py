"""Training throughput and peak memory of `emoget train stylegan`.

    python benchmarks/bench_train_stylegan.py                 # GPU: 256 px; CPU: 64 px
    python benchmarks/bench_train_stylegan.py --size 128 --batch 8 --steps 32 --mixed-precision

Runs the real training step (D step + lazy R1 every 16 + G step + lazy path length every 4 +
EMA, ADA on) on a procedurally drawn dataset; the timed window is a whole number of R1
periods when --steps allows, so the regulariser cost is included in its real proportion.
Prints img/s and peak memory (CUDA: torch.cuda.max_memory_allocated; CPU: peak RSS).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=None, help="default 256 on GPU, 64 on CPU")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--channel-multiplier", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default GPU 64, CPU 4)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (GPU 2, CPU 1)")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from emoget_cli.core.device import resolve_device
    from emoget_cli.gan.dataset import write_synthetic_dataset
    from emoget_cli.gan.distributed import DistInfo
    from emoget_cli.gan.train import Trainer, TrainConfig, resolve_config

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    size = args.size or (256 if gpu else 64)
    steps = args.steps or (64 if gpu else 4)
    warmup = args.warmup if args.warmup is not None else (2 if gpu else 1)
    with tempfile.TemporaryDirectory(prefix="emoget-bench-") as tmp:
        data = write_synthetic_dataset(Path(tmp) / "data", n_per_class=32, size=size)
        cfg = resolve_config(TrainConfig(
            data=str(data), out=str(Path(tmp) / "run"), size=size, batch=args.batch, kimg=1e6,
            channel_multiplier=args.channel_multiplier, device=str(device), workers=0,
            mixed_precision=args.mixed_precision, aug="ada", aug_p=0.2))
        trainer = Trainer(DistInfo(), cfg)
        for _ in range(warmup):  # includes step 0: both regularisers, allocator warm-up
            trainer.train_step()
        if gpu:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        if gpu:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        n_params = {name: sum(p.numel() for p in m.parameters())
                    for name, m in (("G", trainer.G), ("D", trainer.D))}
    if gpu:
        peak = torch.cuda.max_memory_allocated(device) / 2 ** 20
        peak_kind = "cuda_max_memory_allocated_MiB"
    else:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = rss / (2 ** 20 if sys.platform == "darwin" else 2 ** 10)
        peak_kind = "peak_rss_MiB"
    report = {
        "device": torch.cuda.get_device_name(device) if gpu else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "size": size, "batch": args.batch, "channel_multiplier": args.channel_multiplier,
        "mixed_precision": args.mixed_precision, "timed_steps": steps,
        "r1_steps": sum(1 for s in range(warmup, warmup + steps) if s % 16 == 0),
        "pl_steps": sum(1 for s in range(warmup, warmup + steps) if s % 4 == 0),
        "seconds": round(seconds, 3), "img_per_s": round(steps * args.batch / seconds, 2),
        "s_per_step": round(seconds / steps, 4), peak_kind: round(peak, 1),
        "params_G_M": round(n_params["G"] / 1e6, 2), "params_D_M": round(n_params["D"] / 1e6, 2),
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>32}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
