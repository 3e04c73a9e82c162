"""`emoget render`: draw a latent file with any compatible generator (the Toonify trick:
invert in the photo model, render with the blended one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from .common import ConfigOpt, DeviceOpt, JsonOpt, QuietOpt, Reporter, handle_errors


@dataclass(frozen=True)
class RenderConfig:
    latent: Path
    ckpt: Path
    output: Path
    class_name: Optional[str]
    use_noise: bool
    size: Optional[int]
    device: str


def register(app: typer.Typer) -> None:
    app.command("render")(render_cmd)


def check_compatible(G, latent, where: str) -> None:
    """CheckpointError unless G takes this latent's W+ shape."""
    from ..core.errors import CheckpointError

    if latent.n_latent != G.n_latent or latent.style_dim != G.style_dim:
        raise CheckpointError(
            f"{where}: the latent is [{latent.n_latent}, {latent.style_dim}] (W+ rows, style_dim) "
            f"but the generator takes [{G.n_latent}, {G.style_dim}]; invert the face in a "
            "generator of the same resolution and style size")


@handle_errors
def render_cmd(
    latent: Annotated[Path, typer.Argument(help="Latent file written by `emoget invert`.",
                                           show_default=False)],
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Generator to render with (e.g. a blended one).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Image to write (.png, .jpg, .webp).")],
    class_name: Annotated[Optional[str], typer.Option(
        "--class", help="Conditional generator: move the face to this class "
                        "(w + mean_w(class) - mean_w(latent's class)).")] = None,
    noise: Annotated[bool, typer.Option(
        "--latent-noise/--constant-noise", help="Use the noise maps saved with the latent (when "
        "they fit) or the generator's constant noise. (`invert --noise` chooses whether those maps "
        "are optimised.)")] = True,
    size: Annotated[Optional[int], typer.Option(
        "--size", help="Side of the written picture: the render is resized to N x N pixels "
        "(default: the generator's resolution).", min=8, max=4096, show_default=False)] = None,
    device: DeviceOpt = "auto",
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a latent with a generator: [bold]emoget render face.latent.pt --ckpt toon.pt -o toon.png[/]."""
    config = RenderConfig(latent, ckpt, output, class_name, noise, size, device)
    rep = Reporter(json_output, quiet)

    from ..core.atomic import check_output
    from ..core.image_io import WRITE_SUFFIXES

    check_output(config.output, [config.latent, config.ckpt], suffixes=WRITE_SUFFIXES,
                 what="rendered image")

    from ..core.device import resolve_device
    from ..core.image_io import write_image
    from ..core.latent import file_sha256, load_latent
    from ..gan.checkpoint import load_generator
    from ..gan.invert import render_latent, to_uint8

    lat = load_latent(config.latent)
    G = load_generator(config.ckpt, device=resolve_device(config.device))
    check_compatible(G, lat, config.ckpt.name)
    sha = file_sha256(config.ckpt)
    known = {lat.generator_sha256, lat.extra.get("pti_sha256")} - {"", None}
    same = sha in known
    if not same:
        rep.warn(f"{config.latent.name} was inverted in a different generator than "
                 f"{config.ckpt.name} (expected for the Toonify trick: invert in the base model, "
                 "render with the blended one)")
    if lat.resolution and lat.resolution != G.size and config.use_noise and lat.noise:
        rep.info(f"latent noise is {lat.resolution}px, generator is {G.size}px: using the "
                 "generator's constant noise")
    image = render_latent(G, lat, class_name=config.class_name, use_noise=config.use_noise)
    rgb = to_uint8(image)[0]
    if config.size is not None and config.size != rgb.shape[0]:
        import numpy as np
        from PIL import Image

        rgb = np.asarray(Image.fromarray(rgb).resize((config.size, config.size), Image.LANCZOS))
    write_image(config.output, rgb)
    report = {"output": str(config.output), "latent": str(config.latent), "ckpt": str(config.ckpt),
              "same_generator": same, "size": int(rgb.shape[0]), "class": config.class_name}
    rep.result(report, lambda console: console.print(f"wrote {config.output}"))
