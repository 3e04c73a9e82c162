"""`emoget weights list|fetch|add|verify|forget`: named styles, their checkpoints, and the
catalogue of public checkpoints that `fetch` downloads (core: emoget_cli/catalogue.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from .common import EmogetGroup, JsonOpt, PerceptualOpt, QuietOpt, Reporter, handle_errors

weights_app = typer.Typer(
    cls=EmogetGroup,
    name="weights", help="Named styles → generator checkpoints (+ sha256): list, fetch, add, verify, forget.",
    no_args_is_help=True, rich_markup_mode="rich")

RegistryOpt = Annotated[Optional[Path], typer.Option(
    "--registry", help="Registry file to use instead of the shipped + user registries "
    "(add: the file to write; default ~/.cache/emoget/weights/registry.yaml or "
    "$EMOGET_WEIGHTS_DIR/registry.yaml).", show_default=False)]


CatalogueOpt = Annotated[Optional[Path], typer.Option(
    "--catalogue", help="Catalogue file instead of the shipped weights/catalogue.yaml.",
    show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")


def _registry(path: Optional[Path]):
    """The merged registries, or only `path` (which must exist: a typo must not read as empty)."""
    from ..core.errors import UsageError
    from ..style import load_style_registry

    if path is not None and not path.is_file():
        raise UsageError(f"--registry {path}: no such file")
    return load_style_registry(None if path is None else [path])


@weights_app.command("list")
@handle_errors
def list_cmd(registry: RegistryOpt = None, catalogue: CatalogueOpt = None,
             json_output: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Every style with its engine and checkpoint, and the catalogue: what can be fetched, what is
    here."""
    from ..catalogue import entry_status, env_summary, load_catalogue
    from ..weights import read_fetched, user_registry_path

    reg = _registry(registry)
    cat = load_catalogue(catalogue)
    pins = read_fetched(user_registry_path())
    files = [entry_status(cat.files[n], pins) for n in sorted(cat.files)]
    recipes = [{"name": r.name, "needs": [r.base, r.coarse], "built": r.name in reg.entries
                and reg.get(r.name).available} for r in cat.recipes.values()]
    where = env_summary()
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
        files_table = Table("fetchable", "kind", "px", "≈MB", "licence", "status")
        for f in files:
            status = "[green]installed[/]" if f["status"] == "installed" else f"[yellow]{f['status']}[/]"
            lic = f["licence"] + ("" if f["commercial"] else " [red](non-commercial)[/]")
            files_table.add_row(f["name"], f["kind"], str(f["resolution"] or ""),
                                f"{f['approx_mb']:g}" if f["approx_mb"] else "", lic, status)
        console.print(files_table)
        for r in recipes:
            console.print(f"recipe {r['name']}: " + ("[green]built[/]" if r["built"] else
                          f"needs `emoget weights fetch {' '.join(r['needs'])}`"))
        console.print(f"fetched files: {where['weights_dir']} (generators), {where['torch_hub_dir']} "
                      f"(FAN, VGG16){'; mirror ' + where['mirror'] if where['mirror'] else ''}")

    Reporter(json_output, quiet).result({"styles": rows, "registries": [str(f) for f in reg.files],
                                         "catalogue": files, "recipes": recipes, **where}, human)


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
        help="Styles or fetched files to check (default: all).", show_default=False)] = None,
    registry: RegistryOpt = None, json_output: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Recheck that every gan style's checkpoint, and every fetched file, exists and matches its
    sha256 (exit 5 if not)."""
    from ..core.errors import CheckpointError
    from ..weights import verify_entry, verify_fetched

    reg = _registry(registry)
    fetched = {r.name: r for r in verify_fetched()} if registry is None else {}
    results = [fetched[n] if n in fetched and n not in reg.entries else verify_entry(reg.get(n))
               for n in (names or reg.names())]
    if not names:
        results += list(fetched.values())
    bad = [r for r in results if not r.ok]

    def human(console) -> None:
        for r in results:
            mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
            console.print(f"{mark} {r.name} ({r.engine}): {r.message}")

    Reporter(json_output, quiet).result({"ok": not bad, "results": [r.__dict__ for r in results]}, human)
    if bad:
        raise CheckpointError(f"{len(bad)} style(s) failed verification: "
                              + "; ".join(r.message for r in bad))


@weights_app.command("fetch")
@handle_errors
def fetch_cmd(
    names: Annotated[list[str], typer.Argument(
        help="Catalogue names (`emoget weights list`), e.g. ffhq metfaces fan-2d vgg16, or a "
        "recipe (painting-gan: its generators).",
        show_default=False)],
    accept_license: Annotated[bool, typer.Option(
        "--accept-license", help="Accept non-commercial licences (NVIDIA's for the StyleGAN2 "
        "generators) without a prompt.")] = False,
    from_file: Annotated[Optional[Path], typer.Option(
        "--from", help="Register this file already on disk instead of downloading (one NAME).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Download again even when the installed file matches its pin.")] = False,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.01, help="Seconds to wait for a connection or for data.")] = 30.0,
    retries: Annotated[int, typer.Option(
        "--retries", min=0, max=100, help="Further attempts after a dropped connection, a "
        "timeout or a server error (each resumes the partial file).")] = 4,
    catalogue: CatalogueOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Download public checkpoints, check them (hash pinned on first use, file contents),
    convert NVlabs pickles to safetensors, and build recipes such as painting-gan.

    [bold]emoget weights fetch painting-gan --accept-license[/] · [bold]emoget weights fetch
    vgg16 fan-2d fan-sfd[/] · [bold]emoget weights fetch ffhq --from ~/Downloads/ffhq.pkl[/].
    EMOGET_WEIGHTS_MIRROR=URL/ replaces each URL's folder; http(s)_proxy are honoured.
    """
    import sys

    from rich.markup import escape

    from ..catalogue import build_recipes, fetch, load_catalogue
    from ..core.errors import UsageError
    from ..fetch import FetchOptions

    rep = Reporter(json_output, quiet)
    cat = load_catalogue(catalogue)
    wanted: list[str] = []
    for n in names:  # a recipe's name stands for the files it is built from
        r = cat.recipes.get(n)
        wanted += [r.base, r.coarse] if r is not None and n not in cat.files else [n]
    entries = [cat.get(n) for n in dict.fromkeys(wanted)]
    if from_file is not None and len(entries) != 1:
        raise UsageError("--from registers one file: give exactly one NAME")
    options = FetchOptions(timeout=timeout, retries=retries)
    options.validate()
    interactive = sys.stdin.isatty() and not json_output

    def confirm(question: str) -> bool:
        return interactive and typer.confirm(question, default=False, err=True)

    results = []
    for entry in entries:
        with _download_bar(rep, entry.name) as progress:
            result = fetch(entry, accept_licence=accept_license, from_file=from_file, force=force,
                           options=options, confirm=confirm, progress=progress)
        for w in result.warnings:
            rep.warn(w)
        if result.pinned_now:
            rep.info(f"{entry.name}: sha256 {result.source_sha256} pinned (trust on first use: a "
                     "later download with another hash is refused)")
        results.append(result)
    built = build_recipes(cat)
    data = {"files": [r.to_dict() for r in results],
            "styles_built": [{"name": s.name, "checkpoint": str(s.checkpoint), "sha256": s.sha256}
                             for s in built]}

    def human(console) -> None:
        for r in results:
            console.print(f"[green]{r.status}[/] {r.name} → {escape(str(r.path))} "
                          f"(sha256 {r.sha256[:12]}…)")
        for s in built:
            console.print(f"[green]built[/] style {s.name} → {escape(str(s.checkpoint))}: "
                          f"`emoget make me.jpg --style {s.name}`")

    rep.result(data, human)


def _download_bar(rep: Reporter, name: str):
    """A rich download bar (bytes, speed, time left) on stderr; a no-op when not a terminal."""
    import contextlib
    import os
    import sys

    @contextlib.contextmanager
    def bar():
        if rep.quiet or rep.json_mode or os.environ.get("EMOGET_NO_PROGRESS") or not sys.stderr.isatty():
            yield None
            return
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        from .common import _stderr

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), TimeRemainingColumn(), console=_stderr(),
                      transient=True) as progress:
            task = progress.add_task(name, total=None)

            def update(done: int, total) -> None:
                progress.update(task, completed=done, **({"total": total} if total else {}))

            yield update

    return bar()


@weights_app.command("forget")
@handle_errors
def forget_cmd(
    names: Annotated[list[str], typer.Argument(help="Catalogue names whose pin to drop.",
                                               show_default=False)],
    json_output: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Drop the sha256 pinned at a file's first fetch (the file stays), so a republished file
    can be fetched. Only do this when you trust the new file."""
    from ..weights import forget_fetch

    dropped = [n for n in names if forget_fetch(n)]
    Reporter(json_output, quiet).result(
        {"forgotten": dropped, "not_pinned": [n for n in names if n not in dropped]},
        lambda c: c.print(f"forgot the pin of {', '.join(dropped) or 'nothing'}"))
