"""Multi-process data-parallel training over torch.distributed (NCCL on GPUs, gloo on CPU).

Two ways in:

* `torchrun --nproc-per-node N -m emoget_cli train stylegan ...`: the RANK / WORLD_SIZE /
  LOCAL_RANK / MASTER_ADDR variables are set; `init_from_env` joins that group.
* `--gpus N` from a plain `emoget` call: `spawn` starts N processes itself and rendezvouses
  through a file in a private temporary folder (no port to pick).

Data parallelism: every rank holds full copies of G, D and G_ema, draws its own latents and its
own shard of the data (`DistributedSampler`), and the gradients are averaged across ranks after
every backward pass before the optimiser step -- exactly what `DistributedDataParallel`'s
reducer does, done explicitly (`DataParallelGrads`) because StyleGAN2's phases don't fit DDP's
one-forward-one-backward contract: D runs twice (fakes, reals) before one backward, G is driven
through `mapping`/`synthesis` rather than `forward`, lazy regularisers touch a subset of the
outputs, and the network not being trained must not register reducer hooks. NVlabs' StyleGAN3
trainer averages gradients the same way.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the group."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def backend_for(device_kind: str) -> str:
    return "nccl" if device_kind == "cuda" and torch.distributed.is_nccl_available() else "gloo"


def init_from_env(device_kind: str) -> DistInfo:
    """Join the process group torchrun prepared (env:// rendezvous)."""

    info = DistInfo(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                    int(os.environ["LOCAL_RANK"]))
    if info.world > 1 and not dist.is_initialized():
        dist.init_process_group(backend_for(device_kind), init_method="env://",
                                rank=info.rank, world_size=info.world)
    return info


def _worker(local_rank: int, world: int, init_file: str, device_kind: str,
            fn: Callable[..., Any], args: tuple) -> None:
    dist.init_process_group(backend_for(device_kind), init_method=f"file://{init_file}",
                            rank=local_rank, world_size=world)
    if device_kind == "cpu":  # share the cores instead of oversubscribing them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    try:
        fn(DistInfo(local_rank, world, local_rank), *args)
    finally:
        dist.destroy_process_group()
    # Everything is written and the group is gone. Skip the interpreter's C++ static teardown:
    # with gloo on CPU it intermittently aborts a finished rank ("terminate called without an
    # active exception", SIGABRT about 1 run in 10), which would turn a good run into a crash.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@contextlib.contextmanager
def spawn_context(fn: Callable[..., Any], world: int, device_kind: str, args: tuple = ()):
    """Start fn(DistInfo, *args) in `world` new processes on this machine; yield torch's
    ProcessContext (poll it with .join(timeout)). Leaving the block early (an error, Ctrl-C)
    terminates the processes still running.

    fn must be a module-level function (it is pickled into the children). The processes
    rendezvous through a file in a private temporary folder, so no port has to be free."""

    with tempfile.TemporaryDirectory(prefix="emoget-dist-") as tmp:
        init_file = str(Path(tmp) / "rendezvous")
        ctx = mp.start_processes(_worker, args=(world, init_file, device_kind, fn, args),
                                 nprocs=world, join=False, start_method="spawn")
        try:
            yield ctx
        finally:
            for proc in ctx.processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in ctx.processes:
                proc.join(timeout=10)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over all ranks (in place; a no-op on one process)."""
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def all_reduce_mean(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        all_reduce_sum(values, info)
        values /= info.world
    return values


def broadcast_module(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank (identical starting points)."""
    if not info.enabled:
        return

    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """[obj of rank 0, obj of rank 1, ...] on every rank (small picklable objects only)."""
    if not info.enabled:
        return [obj]

    out: list[Any] = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


class DataParallelGrads:
    """Average the .grad of `params` over ranks, in one flat bucket (the DDP reducer's job).

    Parameters without a gradient this pass (frozen layers, a class head outside R1) join as
    zeros so every rank contributes tensors of the same size; they stay without .grad after."""

    def __init__(self, params: Iterable[torch.nn.Parameter], info: DistInfo):
        self.params = list(params)
        self.info = info

    def __call__(self) -> None:
        if not self.info.enabled:
            return

        live = [p for p in self.params if p.requires_grad]
        if not live:
            return
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in live])
        # the same ranks have a grad for the same params (same code path), so None stays None
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.info.world
        offset = 0
        for p in live:
            n = p.numel()
            if p.grad is not None:
                p.grad.copy_(flat[offset:offset + n].view_as(p))
            offset += n


def local_device(device: torch.device, info: DistInfo) -> torch.device:
    """cuda -> cuda:LOCAL_RANK on multi-process runs; cpu stays cpu."""
    if device.type == "cuda" and info.enabled:
        return torch.device("cuda", info.local_rank)
    return device


def rank_seed(seed: int, info: DistInfo) -> int:
    """Per-rank seed (ranks must draw different latents): seed * world + rank."""
    return seed * info.world + info.rank
