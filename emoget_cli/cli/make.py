"""`emoget make INPUT... --style S --expr E -o OUT`: selfie(s) → styled, animated emoticon(s)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated, Literal

from ..core import animation_spec as spec_limits
from ..core import choices
from .common import (BackgroundOpt, ConfigOpt, DeviceOpt, DurationOpt, EffectsOpt, FormatOpt, FpsOpt,
                     FramesOpt, HeadOpt, IntensityOpt, JsonOpt, LandmarkBackendOpt, MotionOpt,
                     PresetOpt, QuietOpt, Reporter, SeedOpt, handle_errors)


def register(app: typer.Typer) -> None:
    app.command("make")(make)


def _raw_path(value: str) -> str:
    """Keep -o as typed: a trailing '/' marks a folder, which `Path` would silently drop."""
    return value


def _split_exprs(values: Optional[List[str]]) -> tuple[str, ...]:
    from ..core.errors import UsageError

    out: list[str] = []
    for v in values or []:
        names = [x.strip() for x in v.split(",")]
        if not all(names):
            raise UsageError(f"--expr {v!r}: an empty expression name (e.g. --expr surprise or "
                             "--expr happiness,wink)")
        out.extend(names)
    return tuple(out)


@handle_errors
def make(
    inputs: Annotated[Optional[List[Path]], typer.Argument(
        help="Selfies (images) or folders of them.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Animation file (one input, one expression) or folder (several "
        "inputs, several --expr, --pack; a trailing / always means a folder).",
        show_default=False, parser=_raw_path)] = None,
    style: Annotated[str, typer.Option(
        "--style", "-s", help=f"Style: {', '.join(choices.CLASSIC_STYLE_NAMES)} (classic engine) "
        "or a gan style from `emoget weights list`.")] = choices.DEFAULT_STYLE,
    expr: Annotated[Optional[List[str]], typer.Option(
        "--expr", "-e", help="Expression (repeat or comma-separate for several): "
        f"{', '.join(choices.EXPRESSION_NAMES)}; combine with '+'. Default: "
        f"{choices.DEFAULT_EXPRESSION}.", show_default=False)] = None,
    engine: Annotated[Literal[choices.ENGINES], typer.Option(
        "--engine", help="auto: gan when the style resolves to a checkpoint, else classic.")] = "auto",
    generator: Annotated[Optional[Path], typer.Option(
        "--generator", help="Style generator checkpoint (overrides the registry; gan engine).",
        show_default=False)] = None,
    base: Annotated[Optional[Path], typer.Option(
        "--base", help="With --generator: the generator the photo is inverted into (Toonify: "
        "the photo model; default: --generator itself).", show_default=False)] = None,
    class_name: Annotated[Optional[str], typer.Option(
        "--class", help="Class of a conditional generator (gan engine).", show_default=False)] = None,
    invert_steps: Annotated[Optional[int], typer.Option(
        "--invert-steps", min=1, help="Inversion steps (gan engine; default from the registry, "
        f"else {choices.DEFAULT_INVERT_STEPS}).", show_default=False)] = None,
    strength: Annotated[Optional[float], typer.Option(
        "--strength", min=0.0, max=3.0, help="Style strength (classic engine): 0..1, default 1; "
        "for caricature styles the exaggeration factor, 0..3, default 1.6.",
        show_default=False)] = None,
    fmt: FormatOpt = None,
    frames: FramesOpt = 24,
    fps: FpsOpt = 12.0,
    duration: DurationOpt = None,
    size: Annotated[Optional[str], typer.Option(
        "--size", help="Output size N or WxH, "
        f"{spec_limits.SIZE_RANGE[0]}..{spec_limits.SIZE_RANGE[1]} px per side: the face is "
        "aligned at the larger side, then cropped to the aspect. Default: 256, or the preset's "
        "side (at most 512).", show_default=False)] = None,
    intensity: IntensityOpt = 1.0,
    head: HeadOpt = "auto",
    effects: EffectsOpt = choices.DEFAULT_EFFECTS,
    background: Annotated[Optional[Literal[choices.BACKGROUNDS]], typer.Option(
        "--background", help="keep the picture, or cut the head out (alpha; not for MP4). "
        "Default: transparent for presets whose platform asks for it (line, whatsapp, "
        "telegram, telegram-emoji, discord-sticker, signal, imessage) and with --sticker, "
        "else keep.", show_default=False)] = None,
    crop: Annotated[Literal[choices.CROPS], typer.Option(
        "--crop", help="What a cut-out keeps: head (face and hair, cut below the chin) or bust "
        "(with neck and shoulders).")] = choices.DEFAULT_CROP,
    sticker: Annotated[bool, typer.Option(
        "--sticker", help="Die-cut sticker look: the cut-out head with a white border and a "
        "soft shadow (implies a transparent background).")] = False,
    preset: PresetOpt = None,
    motion: MotionOpt = None,
    backend: LandmarkBackendOpt = "auto",
    pack: Annotated[bool, typer.Option(
        "--pack", help="One emoticon per expression (all of them unless several --expr are "
        "given), a contact sheet PNG and a zip ready for upload.")] = False,
    keep_intermediate: Annotated[Optional[Path], typer.Option(
        "--keep-intermediate", help="Write every stage's artifact (aligned.png, landmarks, "
        "styled.png, motion tracks, latent.pt) to this folder.", show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64,
                                      help="Inputs processed in parallel (worker processes).")] = 1,
    ray: Annotated[Optional[str], typer.Option(
        "--ray", help="Run on a Ray cluster: --ray alone or --ray local starts one on this "
        "machine, --ray auto joins the running cluster, --ray HOST:PORT joins that one "
        "(pip install -e \".[ray]\").", show_default=False)] = None,
    gpus_per_worker: Annotated[float, typer.Option(
        "--gpus-per-worker", min=0.0, max=8.0, help="With --ray: GPUs per worker, 0..8 "
        "(fractions share a GPU: 0.5 = two workers per GPU).")] = 0.0,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Use the bundled sample portrait (public-domain astronaut photo).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate and print the resolved configuration; process nothing.")] = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Turn selfies into looping animated emoticons: align → style → motion → warp → export.

    [bold]emoget make --sample -o out.gif[/] · [bold]emoget make me.jpg --style baby --expr
    surprise -o me.gif[/] · [bold]emoget make photos/ --pack --preset telegram -o stickers/[/]
    """
    from ..core.animation_spec import AnimationSpec
    from ..core.errors import EmogetError, PartialFailure, UsageError
    from ..pipeline import MakeConfig, check_targets, expand_inputs, make as run_make, sample_input
    from .common import STATE, print_error

    rep = Reporter(json_output, quiet)
    paths = list(inputs or [])
    if sample:
        paths.append(sample_input())
    if not paths:
        raise UsageError("give INPUT images or folders (or --sample)")
    if output is None:
        raise UsageError("give -o/--output (a file, or a folder for several inputs or --pack)")
    exprs = _split_exprs(expr) or (choices.DEFAULT_EXPRESSION,)
    animation = AnimationSpec(frames=frames, fps=fps, duration=duration, size=size,
                              intensity=intensity, head=head, effects=effects,
                              background=background, crop=crop, sticker=sticker)
    cfg = MakeConfig(output=output, style=style, engine=engine, expressions=exprs,
                     animation=animation, preset=preset, fmt=fmt, strength=strength,
                     generator=generator, base_generator=base, class_name=class_name,
                     invert_steps=invert_steps,
                     motion_model=motion, landmark_backend=backend, device=device, seed=seed,
                     keep_intermediate=keep_intermediate, pack=pack, jobs=jobs, ray=ray,
                     gpus_per_worker=gpus_per_worker)
    if dry_run:
        files = expand_inputs(paths)
        cfg.validate(len(files))
        check_targets(files, cfg)
        rep.result({"inputs": [str(f) for f in files], "config": cfg})
        return
    with rep.progress("make", total=None) as update:
        results = run_make(paths, cfg, progress=lambda done, total, name: update(done, total, file=name),
                           warn=rep.warn, debug=bool(STATE["debug"]))
    from ..batch import options_hash

    failed = [r for r in results if not r.ok]
    data = {"ok": not failed, "n_inputs": len(results), "n_failed": len(failed),
            "n_skipped": sum(r.skipped for r in results), "options_hash": options_hash(cfg),
            "results": [r.to_dict() for r in results]}

    def human(console) -> None:
        from rich.markup import escape  # file names and messages are not markup

        if len(results) == 1 and results[0].ok:
            r = results[0]
            for out in r.outputs:
                console.print(f"[green]wrote[/] {escape(out)}  ({escape(r.style)}/{r.engine}, "
                              f"{r.n_frames} frames, {r.seconds:.1f} s)")
            for extra in (r.sheet, r.zip, r.intermediate):
                if extra:
                    console.print(f"[green]wrote[/] {escape(extra)}")
            for adj in r.adjustments:
                console.print(f"[yellow]adjusted[/] {escape(adj)}")
            return
        from rich.table import Table

        table = Table("input", "status", "outputs", "frames", "KiB", "seconds")
        for r in results:
            status = ("[green]ok[/] (already done)" if r.skipped else "[green]ok[/]") if r.ok \
                else f"[red]failed[/] {escape(r.error or '')}"
            table.add_row(escape(Path(r.input).name), status,
                          escape(", ".join(Path(o).name for o in r.outputs)),
                          str(r.n_frames or ""), f"{r.bytes / 1024:.0f}" if r.ok else "",
                          f"{r.seconds:.1f}")
        console.print(table)

    if len(results) == 1 and failed:
        r = failed[0]
        err = EmogetError(r.error or "failed")
        err.exit_code = r.exit_code or 1
        if json_output:
            rep.result(data)
        raise err
    if failed:
        for r in failed:
            # most errors already name their file; --quiet still shows errors
            line = r.error if (r.error or "").startswith(r.input) else f"{r.input}: {r.error}"
            if quiet:
                print_error(line)
            else:
                rep.warn(line)
    rep.result(data, human)
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(results)} inputs failed (the others were "
                             "written)")
