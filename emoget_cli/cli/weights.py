"""`emoget weights list|add|verify`: the registry of named styles and their checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from .common import JsonOpt, PerceptualOpt, QuietOpt, Reporter, handle_errors

weights_app = typer.Typer(
    name="weights", help="Named styles → generator checkpoints (+ sha256): list, add, verify.",
    no_args_is_help=True, rich_markup_mode="rich")

RegistryOpt = Annotated[Optional[Path], typer.Option(
    "--registry", help="Registry file to use instead of the shipped + user registries "
    "(add: the file to write; default ~/.cache/emoget/weights/registry.yaml or "
    "$EMOGET_WEIGHTS_DIR/registry.yaml).", show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")


def _registry(path: Optional[Path]):
    """The merged registries, or only `path` (which must exist: a typo must not read as empty)."""
    from ..core.errors import UsageError
    from ..weights import load_registry

    if path is not None and not path.is_file():
        raise UsageError(f"--registry {path}: no such file")
    return load_registry(None if path is None else [path])


@weights_app.command("list")
@handle_errors
def list_cmd(registry: RegistryOpt = None, json_output: JsonOpt = False,
             quiet: QuietOpt = False) -> None:
    """Every style with its engine, checkpoint and whether it can run here."""
    reg = _registry(registry)
    rows = []
    for name in reg.names():
        e = reg.get(name)
        rows.append({"name": name, "engine": e.engine, "available": e.available,
                     "checkpoint": None if e.checkpoint is None else str(e.checkpoint),
                     "base": None if e.base is None else str(e.base),
                     "class_name": e.class_name, "description": e.description})

    def human(console) -> None:
        from rich.table import Table

        table = Table("style", "engine", "available", "checkpoint / description")
        for r in rows:
            table.add_row(r["name"], r["engine"], "[green]yes[/]" if r["available"] else "[yellow]no[/]",
                          r["checkpoint"] or r["description"])
        console.print(table)
        console.print(f"registries: {', '.join(map(str, reg.files)) or '(built-in styles only)'}")

    Reporter(json_output, quiet).result({"styles": rows, "registries": [str(f) for f in reg.files]},
                                        human)


@weights_app.command("add")
@handle_errors
def add_cmd(
    name: Annotated[str, typer.Argument(help="Style name (lowercase, e.g. toon).", show_default=False)],
    checkpoint: Annotated[Path, typer.Argument(help="Style generator checkpoint (.pt/.safetensors).",
                                               show_default=False)],
    base: Annotated[Optional[Path], typer.Option(
        "--base", help="Base generator the photo is inverted into (Toonify: the FFHQ model); "
        "default: the checkpoint itself.", show_default=False)] = None,
    class_name: Annotated[Optional[str], typer.Option(
        "--class", help="Class of a conditional generator.", show_default=False)] = None,
    swap_res: Annotated[Optional[int], typer.Option(
        "--swap-res", min=4, help="Informational: the blend's swap resolution.", show_default=False)] = None,
    invert_steps: Annotated[Optional[int], typer.Option(
        "--invert-steps", min=1, help="Inversion steps for this style.", show_default=False)] = None,
    perceptual: PerceptualOpt = "auto",
    description: Annotated[str, typer.Option("--description", help="One line for `weights list`.")] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing entry.")] = False,
    registry: RegistryOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Register a checkpoint as a gan style: computes its sha256, writes the registry atomically."""
    from ..weights import add_style

    entry = add_style(name, checkpoint, registry_path=registry, base=base, class_name=class_name,
                      swap_res=swap_res, invert_steps=invert_steps, perceptual=perceptual,
                      description=description, force=force)
    Reporter(json_output, quiet).result(
        {"name": entry.name, "engine": entry.engine, "checkpoint": str(entry.checkpoint),
         "sha256": entry.sha256, "base": None if entry.base is None else str(entry.base),
         "registry": str(entry.registry)},
        lambda c: c.print(f"[green]added[/] {entry.name} → {entry.checkpoint} "
                          f"(sha256 {entry.sha256[:12]}…) in {entry.registry}"))


@weights_app.command("verify")
@handle_errors
def verify_cmd(
    names: Annotated[Optional[list[str]], typer.Argument(
        help="Styles to check (default: all).", show_default=False)] = None,
    registry: RegistryOpt = None, json_output: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Recheck that every gan style's checkpoint exists and matches its sha256 (exit 5 if not)."""
    from ..core.errors import CheckpointError
    from ..weights import verify_entry

    reg = _registry(registry)
    results = [verify_entry(reg.get(n)) for n in (names or reg.names())]
    bad = [r for r in results if not r.ok]

    def human(console) -> None:
        for r in results:
            mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
            console.print(f"{mark} {r.name} ({r.engine}): {r.message}")

    Reporter(json_output, quiet).result({"ok": not bad, "results": [r.__dict__ for r in results]}, human)
    if bad:
        raise CheckpointError(f"{len(bad)} style(s) failed verification: "
                              + "; ".join(r.message for r in bad))
