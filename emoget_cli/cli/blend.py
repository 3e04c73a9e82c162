"""`emoget blend`: mix StyleGAN2 generators layer by layer (Toonify layer swapping, α recipes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated, Literal

from .common import ConfigOpt, JsonOpt, QuietOpt, Reporter, handle_errors


@dataclass(frozen=True)
class BlendConfig:
    checkpoints: tuple[Path, ...]
    output: Path
    swap_res: Optional[int] = None
    width: Optional[float] = None
    coarse_from: str = "style"
    alpha: tuple[str, ...] = ()
    recipe: Optional[Path] = None
    mapping_from: Optional[str] = None


def register(app: typer.Typer) -> None:
    app.command("blend")(blend)


def _mapping_index(value: Optional[str], n: int) -> Optional[int]:
    from ..core.errors import UsageError

    if value is None:
        return None
    named = {"base": 0, "style": 1} if n == 2 else {}
    if value in named:
        return named[value]
    try:
        index = int(value)
    except ValueError:
        raise UsageError(f"--mapping-from must be base, style or a model index, got {value!r}") from None
    if not 0 <= index < n:
        raise UsageError(f"--mapping-from {index} is out of range (0..{n - 1})")
    return index


def build_recipe(config: BlendConfig):
    """Turn the CLI options into a BlendRecipe (UsageError on contradictory options)."""
    from ..core.errors import UsageError
    from ..gan.blend import BlendRecipe, load_recipe_file, parse_alpha_rows

    n = len(config.checkpoints)
    given = [name for name, on in (("--swap-res", config.swap_res is not None),
                                   ("--alpha", bool(config.alpha)),
                                   ("--recipe", config.recipe is not None)) if on]
    if len(given) != 1:
        raise UsageError("give exactly one of --swap-res, --alpha or --recipe"
                         + (f" (got {', '.join(given)})" if given else ""))
    if config.width is not None and config.swap_res is None:
        raise UsageError("--width only applies to --swap-res")
    mapping = _mapping_index(config.mapping_from, n)
    if config.swap_res is not None:
        if n != 2:
            raise UsageError(f"--swap-res blends exactly two checkpoints (BASE STYLE), got {n}")
        return BlendRecipe.swap(config.swap_res, config.width,
                                coarse_from=0 if config.coarse_from == "base" else 1,
                                mapping_from=mapping)
    if config.alpha:
        return BlendRecipe.from_alpha(parse_alpha_rows(config.alpha, n), n, mapping_from=mapping)
    recipe = load_recipe_file(config.recipe, n)
    if mapping is not None:
        recipe = BlendRecipe.from_dict({**recipe.to_dict(), "mapping_from": mapping})
    return recipe


@handle_errors
def blend(
    checkpoints: Annotated[List[Path], typer.Argument(
        help="Generator checkpoints: BASE STYLE for --swap-res, or any number for --alpha/--recipe.",
        show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Blended checkpoint to write (.pt or .safetensors).")],
    swap_res: Annotated[Optional[int], typer.Option(
        "--swap-res", help="Toonify swap: layers up to this resolution from the coarse model "
                           "(STYLE by default), finer ones from the other.")] = None,
    width: Annotated[Optional[float], typer.Option(
        "--width", help="Smooth logistic transition of this width (in layer positions) instead of "
                        "the hard swap.")] = None,
    coarse_from: Annotated[Literal["style", "base"], typer.Option(
        "--coarse-from", help="Which model gives the coarse layers with --swap-res.")] = "style",
    alpha: Annotated[Optional[List[str]], typer.Option(
        "--alpha", help="α row RES:a1,a2,... (one weight per checkpoint); repeat for several "
                        "resolutions, interpolated in between; rows are normalised to sum 1.")] = None,
    recipe: Annotated[Optional[Path], typer.Option(
        "--recipe", help="YAML recipe: 'alpha: {4: [1, 0], 64: [0.5, 0.5]}' or 'swap_res: 32'.",
        dir_okay=False)] = None,
    mapping_from: Annotated[Optional[str], typer.Option(
        "--mapping-from", help="Model giving the mapping network, noise buffers and latent_avg: "
                               "base, style or an index (default: the model of the coarsest layer).")] = None,
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Blend generators: θ = Σ αᵢ(layer)·θᵢ (Toonify: [bold]emoget blend ffhq.pt toon.pt --swap-res 32 -o toonify.pt[/])."""
    config = BlendConfig(tuple(checkpoints), output, swap_res, width, coarse_from,
                         tuple(alpha or ()), recipe, mapping_from)
    rep = Reporter(json_output, quiet)
    run_recipe = build_recipe(config)
    from ..core.atomic import check_output

    check_output(config.output, [*config.checkpoints, *([config.recipe] if config.recipe else [])],
                 suffixes=(".pt", ".safetensors"), what="blended checkpoint")

    from ..gan.blend import blend_checkpoints
    from ..gan.checkpoint import save_checkpoint

    ckpt = blend_checkpoints(config.checkpoints, run_recipe)
    for note in run_recipe.notes:
        rep.warn(note)
    save_checkpoint(ckpt, config.output)
    entry = ckpt.blend
    report = {"output": str(config.output), "models": entry["models"],
              "mapping_from": entry["mapping_from"], "recipe": entry["recipe"],
              "layers": entry["layers"]}

    def human(console) -> None:
        from rich.table import Table

        names = [m["file"] for m in entry["models"]]
        table = Table("pos", "res", "level", *names, title="α per layer position")
        for row in entry["layers"]:
            table.add_row(str(row["position"]), str(row["resolution"]), str(row["level"]),
                          *(f"{a:.3f}" for a in row["alpha"]))
        console.print(table)
        console.print(f"mapping network, noise and latent_avg from {names[entry['mapping_from']]}")
        console.print(f"wrote {config.output}")

    rep.result(report, human)
