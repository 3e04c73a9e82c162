"""`emoget train stylegan`: train or fine-tune a (conditional) StyleGAN2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated, Literal

from .common import ConfigOpt, DeviceOpt, JsonOpt, QuietOpt, Reporter, SeedOpt, handle_errors


def register(app: typer.Typer) -> None:
    from .train import train_app

    train_app.command("stylegan")(stylegan)


@handle_errors
def stylegan(
    data: Annotated[Path, typer.Option(
        "--data", help="Training images: a folder (searched recursively) or a zip. Classes from "
        "sub-folders or an NVlabs dataset.json.", show_default=False)],
    out: Annotated[Path, typer.Option(
        "--output", "-o", help="Run folder: checkpoints, sample grids, metrics.jsonl, "
        "training_options.json.", show_default=False)],
    size: Annotated[Optional[int], typer.Option(
        "--size", help="Training resolution of the networks (power of two). Default: the resumed "
        "checkpoint's, else 256.",
        show_default=False)] = None,
    batch: Annotated[Optional[int], typer.Option(
        "--batch", help="Total batch size (all GPUs together). Default: the resumed run's, else 16.",
        show_default=False)] = None,
    kimg: Annotated[float, typer.Option(
        "--kimg", help="Train until D has seen this many thousand real images.")] = 1000.0,
    resume: Annotated[Optional[str], typer.Option(
        "--resume", help="'auto' (or a checkpoint inside --output) continues that run exactly; a "
        "checkpoint from elsewhere (emoget/rosinality .pt, .safetensors, NVlabs .pkl) starts a "
        "new run from its weights (fine-tuning, kimg from 0).",
        show_default=False)] = None,
    reset_progress: Annotated[bool, typer.Option(
        "--reset-progress", help="With --resume: keep the weights and optimisers but start "
        "counting at kimg 0 (implied for checkpoints from outside --output).")] = False,
    conditional: Annotated[bool, typer.Option(
        "--conditional", help="Class-conditional G and D (+ auxiliary classifier) on the "
        "dataset's labels.")] = False,
    aug: Annotated[Literal["ada", "diffaug", "none"], typer.Option(
        "--aug", help="Discriminator augmentation: ada (adaptive p, for small datasets), "
        "diffaug (DiffAugment color/translation/cutout) or none.")] = "ada",
    aug_p: Annotated[float, typer.Option(
        "--aug-p", help="ADA: starting probability (kept fixed with --ada-target 0).")] = 0.0,
    ada_target: Annotated[float, typer.Option(
        "--ada-target", help="ADA: target E[sign(D(real))].")] = 0.6,
    xflip: Annotated[bool, typer.Option(
        "--xflip/--no-xflip", help="Mirror the dataset (random horizontal flips of the reals).")] = False,
    freeze_d: Annotated[int, typer.Option(
        "--freeze-d", help="Freeze D's first N (highest-resolution) blocks, for few-shot "
        "transfer.")] = 0,
    mixed_precision: Annotated[bool, typer.Option(
        "--mixed-precision", help="Autocast the main G/D passes (bf16; fp16 + loss scaling on "
        "GPUs without bf16). Regularisers stay fp32.")] = False,
    snapshot_every: Annotated[float, typer.Option(
        "--snapshot-every", help="kimg between numbered snapshots and sample grids (0: only at "
        "the end).")] = 20.0,
    channel_multiplier: Annotated[Optional[int], typer.Option(
        "--channel-multiplier", help="Network width multiplier (default 2).", show_default=False)] = None,
    channel_max: Annotated[Optional[int], typer.Option(
        "--channel-max", help="Cap on channels per layer (default 512; small = small nets).",
        show_default=False)] = None,
    style_dim: Annotated[Optional[int], typer.Option(
        "--style-dim", help="Latent / style size (default 512).", show_default=False)] = None,
    n_mlp: Annotated[Optional[int], typer.Option(
        "--n-mlp", help="Mapping network layers (default 8).", show_default=False)] = None,
    r1_gamma: Annotated[float, typer.Option("--r1-gamma", help="R1 weight gamma.")] = 10.0,
    ac_weight: Annotated[float, typer.Option(
        "--ac-weight", help="Conditional runs: weight of the auxiliary-classifier loss.")] = 1.0,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate (before the lazy-"
                                      "regularisation ratio).")] = 0.002,
    ema_kimg: Annotated[float, typer.Option(
        "--ema-kimg", help="Half-life of the G_ema average, in thousands of images.")] = 10.0,
    gpus: Annotated[int, typer.Option(
        "--gpus", help="Data-parallel processes to start (one per GPU; gloo on CPU). Not needed "
        "under torchrun.")] = 1,
    workers: Annotated[int, typer.Option("--workers", help="Data-loading processes.")] = 2,
    log_every: Annotated[int, typer.Option(
        "--log-every", help="Steps between metrics lines and progress updates.")] = 20,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check the options, print the resolved configuration and stop.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Train a StyleGAN2 (optionally class-conditional) on a folder or zip of images.

    StyleGAN2's losses and schedule: logistic loss, lazy R1, path length, style mixing, EMA.

    Kill it at any time; [bold]--resume auto[/] continues exactly from the last checkpoint.

    [dim]emoget train stylegan --data faces/ --output runs/faces --size 256 --kimg 5000[/]
    [dim]emoget train stylegan --data toons.zip --output runs/toon --resume ffhq.pt --freeze-d 2 --kimg 200[/]
    [dim]emoget train stylegan --data mix/ --output runs/cond --conditional --resume auto[/]
    [dim]torchrun --nproc-per-node 4 -m emoget_cli train stylegan --data faces/ --output runs/f --batch 64[/]
    """
    from ..gan.train import TrainConfig, resolve_config, train

    cfg = TrainConfig(
        data=str(data), out=str(out), size=size, batch=batch, kimg=kimg, resume=resume,
        reset_progress=reset_progress, conditional=conditional, aug=aug, aug_p=aug_p,
        ada_target=ada_target, xflip=xflip, freeze_d=freeze_d, mixed_precision=mixed_precision,
        snapshot_every=snapshot_every, channel_multiplier=channel_multiplier,
        channel_max=channel_max, style_dim=style_dim, n_mlp=n_mlp, r1_gamma=r1_gamma,
        ac_weight=ac_weight, lr=lr, ema_kimg=ema_kimg, seed=seed, gpus=gpus, device=device,
        workers=workers, log_every=log_every)
    if os.environ.get("RANK", "0") != "0":  # torchrun: only rank 0 talks
        quiet, json_output = True, False
    rep = Reporter(json_output, quiet)
    resolved = resolve_config(cfg)
    if dry_run:
        data_out = {"dry_run": True, "config": resolved.to_dict(),
                    "total_steps": resolved.total_steps}
        rep.result(data_out, lambda console: _print_config(console, data_out))
        return
    with rep.progress("train stylegan", total=resolved.total_steps) as update:
        def on_progress(status) -> None:
            m = status.metrics
            fields = {"kimg": round(status.kimg, 3), "img/s": round(status.img_per_s, 1),
                      "D": m.get("d_loss", float("nan")), "G": m.get("g_loss", float("nan"))}
            if "ada_p" in m and aug == "ada":
                fields["p"] = m["ada_p"]
            fields["eta"] = _eta(status.eta_s)
            update(status.step, **fields)

        result = train(resolved, progress=on_progress, log=rep.info)
    report = {"out": str(result.out), "steps": result.steps, "kimg": result.kimg,
              "latest": str(result.latest), "snapshots": [str(p) for p in result.snapshots],
              "seconds": round(result.seconds, 2), "metrics": result.metrics}

    def human(console) -> None:
        m = result.metrics
        console.print(f"trained {result.kimg:g} kimg ({result.steps} steps) in "
                      f"{result.seconds:.1f} s → {result.latest}", markup=False)
        if m:
            console.print("  " + "  ".join(f"{k}={m[k]:.4g}" for k in
                                           ("d_loss", "g_loss", "img_per_s", "ada_p", "ac_acc")
                                           if isinstance(m.get(k), (int, float))), markup=False)

    rep.result(report, human)


def _eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


def _print_config(console, data: dict) -> None:
    console.print(f"resolved configuration ({data['total_steps']} steps):", markup=False)
    for key, value in data["config"].items():
        console.print(f"  {key}: {value}", markup=False)
