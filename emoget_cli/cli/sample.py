"""`emoget sample`: draw images from (blended) generators into a labelled dataset folder that
`emoget train stylegan --conditional` reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from .common import ConfigOpt, DeviceOpt, JsonOpt, QuietOpt, Reporter, SeedOpt, handle_errors


@dataclass(frozen=True)
class SampleCliConfig:
    checkpoints: tuple[Path, ...]
    output: Path
    n: int
    labels: tuple[str, ...]
    truncation: float
    class_name: Optional[str]
    size: Optional[int]
    batch: int
    seed: int
    device: str


def register(app: typer.Typer) -> None:
    app.command("sample")(sample_cmd)


def resolve_labels(checkpoints: tuple[Path, ...], labels: tuple[str, ...]) -> list[str]:
    """One label per checkpoint: as given, one label for all, or each checkpoint's file stem."""
    from ..core.errors import UsageError
    from ..gan.sample import check_label

    if not labels:
        out = [p.stem for p in checkpoints]
    elif len(labels) == 1:
        out = list(labels) * len(checkpoints)
    elif len(labels) == len(checkpoints):
        out = list(labels)
    else:
        raise UsageError(f"give one --label, or one per checkpoint ({len(checkpoints)}), "
                         f"not {len(labels)}")
    return [check_label(x) for x in out]


@handle_errors
def sample_cmd(
    checkpoints: Annotated[List[Path], typer.Argument(help="Generator checkpoints to sample.",
                                                      show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder (created, or appended to).")],
    n: Annotated[int, typer.Option("--n", help="Images per checkpoint.", min=1)] = 100,
    label: Annotated[Optional[List[str]], typer.Option(
        "--label", help="Class label: one for all checkpoints or one per checkpoint "
                        "(default: the checkpoint's file name).")] = None,
    truncation: Annotated[float, typer.Option(
        "--truncation", help="Truncation ψ toward the mean w (1 = none; 0.7 = typical).")] = 1.0,
    class_name: Annotated[Optional[str], typer.Option(
        "--class", help="Sample this class of a conditional generator.")] = None,
    size: Annotated[Optional[int], typer.Option(
        "--size", help="Side of each saved sample: resized to N x N (power of two; default: the "
        "generator's resolution).", show_default=False)] = None,
    batch: Annotated[int, typer.Option("--batch", help="Images per forward pass.", min=1)] = 8,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Sample generators into a labelled dataset: [bold]emoget sample toon.pt --n 500 --label toon -o data/[/]."""
    config = SampleCliConfig(tuple(checkpoints), output, n, tuple(label or ()), truncation,
                             class_name, size, batch, seed, device)
    rep = Reporter(json_output, quiet)
    labels = resolve_labels(config.checkpoints, config.labels)

    from ..core.device import resolve_device
    from ..gan.checkpoint import load_generator
    from ..gan.sample import SampleConfig, existing_count, sample_images, write_dataset

    sconf = SampleConfig(n=config.n, truncation=config.truncation, seed=config.seed,
                         batch=config.batch, class_name=config.class_name, size=config.size)
    sconf.validate()
    dev = resolve_device(config.device)
    gens = [load_generator(p, device=dev) for p in config.checkpoints]  # fail before writing
    start = existing_count(config.output)  # appending: continue the streams, no duplicates
    groups = [(lab, sample_images(G, sconf, seed_offset=1000 * i, start=start))
              for i, (lab, G) in enumerate(zip(labels, gens))]
    total = config.n * len(gens)
    with rep.progress("sampling", total=total) as update:
        report = write_dataset(config.output, groups, progress=update, total=total)

    def human(console) -> None:
        counts = ", ".join(f"{k}: {v}" for k, v in zip(report["class_names"], report["class_counts"]))
        console.print(f"wrote {report['written']} images to {report['path']} "
                      f"({report['images_total']} in total; {counts})")

    rep.result(report, human)
