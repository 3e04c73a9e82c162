"""`emoget train motion`: train the learned landmark-motion generator from landmark tracks."""

from __future__ import annotations

from pathlib import Path

import typer
from typing_extensions import Annotated, Literal

from .common import ConfigOpt, DeviceOpt, JsonOpt, QuietOpt, Reporter, SeedOpt, handle_errors


def register(app: typer.Typer) -> None:
    from .train import train_app

    train_app.command("motion")(train_motion)


@handle_errors
def train_motion(
    data: Annotated[Path, typer.Option(
        "--data", help="Folder of *.landmarks.json tracks (from `emoget landmarks video.mp4`); the "
                       "expression is each track's label, else its folder's name.",
        file_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file to write (motion.pt).",
                                         dir_okay=False)],
    arch: Annotated[Literal["best", "seed", "temporal"], typer.Option(
        "--arch", help="Model to save: the seed's linear model, the temporal (GRU) model, or the "
                       "one with the lower held-out error.")] = "best",
    frames: Annotated[int, typer.Option("--frames", min=2, max=1000,
                                        help="Frames per loop the tracks are resampled to.")] = 24,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Training steps (full batch Adam).")] = 400,
    holdout: Annotated[float, typer.Option("--holdout", min=0.01, max=0.9,
                                           help="Fraction of tracks per expression held out.")] = 0.2,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Train the class-conditional landmark-motion model; report held-out errors of both models."""
    from ..motion.learned import TrainMotionConfig, load_tracks_dir, train_motion as run

    cfg = TrainMotionConfig(frames=frames, steps=steps, holdout=holdout, arch=arch, seed=seed,
                            device=device)
    rep = Reporter(json_output, quiet)
    dataset = load_tracks_dir(data, cfg.frames)
    rep.info(f"{len(dataset)} tracks, expressions: {', '.join(dataset.classes)}")
    result = run(dataset, cfg)
    path = result.model.save(output)
    report = {"output": str(path), "arch": result.model.arch, "classes": result.classes,
              "tracks_train": result.n_train, "tracks_heldout": result.n_val, "frames": cfg.frames,
              "heldout_error_iod": result.errors}

    def human(console) -> None:
        e = result.errors
        console.print(f"held-out mean point error / IOD: seed (linear) {e['seed']:.4f}, "
                      f"temporal (GRU) {e['temporal']:.4f}, no-motion baseline {e['still']:.4f}")
        console.print(f"saved {result.model.arch} model ({len(result.classes)} expressions) to {path}")

    rep.result(report, human)
