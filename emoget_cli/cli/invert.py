"""`emoget invert`: find the W/W+ latent of one or more faces in a generator (+ optional PTI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated, Literal

from ..core.choices import DEFAULT_INVERT_STEPS
from .common import (ConfigOpt, DeviceOpt, JsonOpt, PerceptualOpt, QuietOpt, Reporter, SeedOpt,
                     handle_errors)


@dataclass(frozen=True)
class InvertCliConfig:
    faces: tuple[Path, ...]
    ckpt: Path
    output: Optional[Path]
    class_name: Optional[str]
    space: str
    steps: int
    lr: float
    pti: bool
    pti_steps: int
    perceptual: str
    noise: str
    mse: float
    align: bool
    seed: int
    device: str


def register(app: typer.Typer) -> None:
    app.command("invert")(invert_cmd)


def latent_base(latent_path: Path) -> Path:
    """FACE.latent.pt -> FACE (the stem shared by the latent's side files)."""
    name = latent_path.name
    for suffix in (".latent.pt", ".pt"):
        if name.endswith(suffix):
            return latent_path.with_name(name[: -len(suffix)])
    return latent_path


def output_paths(faces: tuple[Path, ...], output: Optional[Path]) -> list[Path]:
    """Latent file per face: -o FILE.pt for one face, -o FOLDER for several; default: next to
    each input as <stem>.latent.pt."""
    from ..core.errors import UsageError

    if output is not None and output.suffix == ".pt":
        if len(faces) > 1:
            raise UsageError("several faces need -o FOLDER (one <stem>.latent.pt per face)")
        return [output]
    paths = [(output if output is not None else f.parent) / f"{f.stem}.latent.pt" for f in faces]
    if len(set(paths)) != len(paths):
        raise UsageError("two input faces have the same file name; their latents would collide")
    return paths


def _load_faces(config: InvertCliConfig, size: int) -> tuple[list, list[int], list[str]]:
    """(uint8 images, indices of the faces that loaded, one error line per face that did not).
    A bad file among good ones is reported and skipped, like `make` and `landmarks` do."""
    from ..core.errors import InputError, NoFaceError
    from ..core.image_io import read_image

    images, kept, failed = [], [], []
    for i, path in enumerate(config.faces):
        try:
            rgb = read_image(path).rgb
            if config.align:
                from ..face import detect_faces
                from ..face.align import align_face

                face = detect_faces(rgb, where=str(path))[0]
                rgb, _ = align_face(rgb, face.points, size=size)
        except (InputError, NoFaceError) as exc:
            if len(config.faces) == 1:
                raise
            failed.append(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}")
            continue
        images.append(rgb)
        kept.append(i)
    if not images:
        from ..core.errors import InputError

        raise InputError(f"none of the {len(config.faces)} faces could be used: {failed[0]}")
    return images, kept, failed


@handle_errors
def invert_cmd(
    faces: Annotated[List[Path], typer.Argument(help="Face images (aligned like FFHQ, or use --align).",
                                                show_default=False)],
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Generator checkpoint to invert into.")],
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Latent file (one face, FILE.latent.pt) or folder (several faces); "
                               "default: next to each input.")] = None,
    class_name: Annotated[Optional[str], typer.Option(
        "--class", help="Class of a conditional generator (start at its mean w).")] = None,
    space: Annotated[Literal["w", "w+"], typer.Option(
        "--space", help="Optimise one w for all layers, or one per layer (w+).")] = "w+",
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.", min=1)] = DEFAULT_INVERT_STEPS,
    lr: Annotated[float, typer.Option("--lr", help="Peak Adam learning rate (ramped up/down).")] = 0.1,
    pti: Annotated[bool, typer.Option(
        "--pti", help="Pivotal tuning: also fine-tune the generator around the latent(s) and "
                      "save it next to them (<stem>.pti.pt; pti.pt for several faces).")] = False,
    pti_steps: Annotated[int, typer.Option("--pti-steps", help="PTI steps (with --pti).", min=1)] = 200,
    perceptual: PerceptualOpt = "auto",
    noise: Annotated[Literal["optimize", "fixed"], typer.Option(
        "--noise", help="Optimise per-face noise maps (projector default) or keep the generator's "
                        "constant noise.")] = "optimize",
    mse: Annotated[float, typer.Option("--mse", help="Weight of the pixel MSE loss.", min=0.0)] = 1.0,
    align: Annotated[bool, typer.Option("--align", help="Detect and FFHQ-align each face first.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Invert faces into a generator: writes FACE.latent.pt + FACE.recon.png per face."""
    config = InvertCliConfig(tuple(faces), ckpt, output, class_name, space, steps, lr, pti,
                             pti_steps, perceptual, noise, mse, align, seed, device)
    rep = Reporter(json_output, quiet)
    latent_paths = output_paths(config.faces, config.output)
    recon_paths = [latent_base(p).with_name(latent_base(p).name + ".recon.png") for p in latent_paths]
    pti_path = None
    if config.pti:
        base = latent_base(latent_paths[0])
        pti_path = base.with_name(base.name + ".pti.pt") if len(latent_paths) == 1 else \
            latent_paths[0].parent / "pti.pt"
    _check_targets([*latent_paths, *recon_paths, *([pti_path] if pti_path else [])],
                   [*config.faces, config.ckpt])

    from ..core.device import resolve_device
    from ..core.latent import file_sha256
    from ..gan.checkpoint import load_generator
    from ..gan.invert import InvertConfig, invert

    inv_config = InvertConfig(space=config.space, steps=config.steps, lr=config.lr,
                              optimize_noise=config.noise == "optimize", mse_weight=config.mse,
                              perceptual=config.perceptual, class_name=config.class_name,
                              pti_steps=config.pti_steps if config.pti else 0, seed=config.seed)
    inv_config.validate()
    G = load_generator(config.ckpt, device=resolve_device(config.device))
    sha = file_sha256(config.ckpt)
    images, kept, failed = _load_faces(config, G.size)
    if failed:
        import dataclasses

        config = dataclasses.replace(config, faces=tuple(config.faces[i] for i in kept))
        latent_paths = [latent_paths[i] for i in kept]
        recon_paths = [recon_paths[i] for i in kept]
    total = inv_config.steps + inv_config.pti_steps
    with rep.progress(f"inverting {len(images)} face(s)", total=total) as update:
        result = invert(images, G, inv_config, progress=update, warn=rep.warn)

    latents = result.latent_files(sha, [f.name for f in config.faces])
    from ..core.atomic import all_or_nothing

    with all_or_nothing():
        rows = _write_outputs(config, G, sha, inv_config, result, latents, latent_paths,
                              recon_paths, pti_path)
    report = {"faces": rows, "perceptual": result.perceptual, "space": result.space,
              "steps": inv_config.steps, "seconds": round(result.seconds, 3),
              "seconds_per_step": round(result.step_seconds, 5),
              "pti_checkpoint": None if pti_path is None else str(pti_path)}

    def human(console) -> None:
        for row in rows:
            extra = f", after PTI {row['pti_psnr']:.2f} dB" if "pti_psnr" in row else ""
            console.print(f"{row['input']} -> {row['latent']}  PSNR {row['psnr']:.2f} dB{extra}")
        if pti_path is not None:
            console.print(f"tuned generator: {pti_path}")
        console.print(f"{len(rows)} face(s), {result.perceptual} perceptual loss, "
                      f"{result.seconds:.1f} s ({result.step_seconds * 1000:.0f} ms/step)")

    report["failed"] = failed
    rep.result(report, human)
    if failed:
        from ..core.errors import PartialFailure
        from .common import print_error

        for line in failed:
            print_error(line)
        raise PartialFailure(f"{len(failed)} of {len(failed) + len(rows)} faces failed (the others "
                             "were written)")


def _check_targets(paths: list[Path], inputs: list[Path]) -> None:
    """Fail before the (long) optimisation when an output cannot be written (core.atomic)."""
    from ..core.atomic import check_output

    for path in paths:
        check_output(path, inputs)


def _write_outputs(config: InvertCliConfig, G, sha: str, inv_config, result, latents,
                   latent_paths: list[Path], recon_paths: list[Path],
                   pti_path: Optional[Path]) -> list[dict]:
    """PTI generator, latents and reconstructions (called inside one all_or_nothing block)."""
    from ..core.image_io import write_image
    from ..core.latent import file_sha256, save_latent
    from ..gan.invert import to_uint8

    if result.pti and pti_path is not None:
        from ..gan.checkpoint import Checkpoint, save_checkpoint

        tuned = Checkpoint.from_modules(result.generator, latent_avg=getattr(G, "latent_avg", None),
                                        training={"pti": {"base_sha256": sha, "steps": inv_config.pti_steps,
                                                          "lr": inv_config.pti_lr,
                                                          "faces": [f.name for f in config.faces]}})
        from ..core.atomic import staged_path

        save_checkpoint(tuned, pti_path)
        pti_sha = file_sha256(staged_path(pti_path))
        for lat in latents:
            lat.extra.update({"pti_checkpoint": pti_path.name, "pti_sha256": pti_sha})
    rows = []
    for face, lat, path, recon, rgb in zip(config.faces, latents, latent_paths, recon_paths,
                                           to_uint8(result.images)):
        save_latent(lat, path)
        write_image(recon, rgb)
        rows.append({"input": str(face), "latent": str(path), "reconstruction": str(recon),
                     **{k: round(v, 6) for k, v in lat.losses.items()}})
    return rows
