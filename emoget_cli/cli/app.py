"""The `emoget` Typer application: the root options and the subcommand registry.

Each module in `COMMAND_MODULES` defines `register(app)`, which adds its command(s). The
modules import only Typer and light core modules, so `emoget --help` never loads torch.
"""

from __future__ import annotations

import importlib
from typing import Optional

import typer
from typing_extensions import Annotated

from .. import __version__
from .common import STATE, ClickException, EmogetGroup, print_error

app = typer.Typer(
    name="emoget",
    cls=EmogetGroup,
    help="Turn one selfie into a short animated emoticon.\n\n"
         "Quick start: [bold]emoget make --sample -o out.gif[/]",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Subcommand modules, in the order their commands appear in `--help`.
#: In workflow order: make (the product) first, then its steps one at a time, then the models,
#: then the tools around them.
COMMAND_MODULES: tuple[str, ...] = (
    "make",
    "animate",
    "expressions",
    "effects",
    "landmarks",
    "invert",
    "render",
    "blend",
    "sample",
    "train",
    "train_stylegan",
    "train_motion",
    "weights",
    "serve",
    "doctor",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emoget {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks instead of one-line errors.")] = False,
) -> None:
    """Turn one selfie into a short animated emoticon."""
    STATE["debug"] = debug or STATE["debug_env"]


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.{_name}").register(app)


def _walk_options(typer_app: typer.Typer, path: tuple[str, ...] = ()):
    """(command path, parameter name, value type, [ParameterInfo]) of every option declared
    with Annotated[..., typer.Option(...)], sub-apps included."""
    import typing

    from typer.models import ParameterInfo

    for command in typer_app.registered_commands:
        name = command.name or command.callback.__name__.removesuffix("_cmd").replace("_", "-")
        try:
            hints = typing.get_type_hints(command.callback, include_extras=True)
        except Exception:  # an annotation that cannot be resolved: leave that command as it is
            continue
        # Resolved once and kept: string annotations (`from __future__ import annotations`)
        # would otherwise build new typer.Option objects on every evaluation.
        command.callback.__annotations__.update(hints)
        for pname, hint in hints.items():
            infos = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, ParameterInfo)]
            if not infos:
                continue
            base = typing.get_args(hint)[0]
            inner = ([a for a in typing.get_args(base) if a is not type(None)]
                     if typing.get_origin(base) is typing.Union else [base])
            yield " ".join((*path, name)), pname, inner[0], infos
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            yield from _walk_options(group.typer_instance, (*path, group.name))


def _shared_option_checks(typer_app: typer.Typer) -> None:
    """The checks every option gets, applied once here rather than option by option:
    a fixed set of values (a Literal) matches in any case (`--head NOD` is `--head nod`, as
    `--style Baby` and `--preset Telegram` are: core.choices.match_choice), and a number has
    the range of core.limits unless it declares its own."""
    import typing

    from ..core.limits import limits_for

    for command, pname, kind, infos in _walk_options(typer_app):
        for info in infos:
            if typing.get_origin(kind) is typing.Literal:
                info.case_sensitive = False
            elif kind in (int, float):
                bounds = limits_for(command, pname)
                if bounds is not None:
                    if info.min is None:
                        info.min = kind(bounds[0])
                    if info.max is None:
                        info.max = kind(bounds[1])


_shared_option_checks(app)


def _did_you_mean(message: str) -> str:
    """Add the closest valid value to click's "'x' is not one of 'a', 'b'" message."""
    import re

    from ..core.choices import suggest

    found = re.search(r"'([^']*)' is not one of (.*?)\.?$", message)
    if not found:
        return message
    near = suggest(found.group(1), re.findall(r"'([^']*)'", found.group(2)))
    return f"{message.rstrip('.')}; did you mean '{near}'?" if near else message


def _bare_ray_flag(argv: list[str]) -> list[str]:
    """`--ray` takes an optional address: alone (last, or before another option) it means
    `--ray local` (click options cannot have an optional value)."""
    return [("--ray=local" if tok == "--ray" and (i + 1 == len(argv) or argv[i + 1].startswith("-"))
             else tok) for i, tok in enumerate(argv)]


def main() -> None:
    """The `emoget` console script: like `app()`, but a usage error (bad option value, unknown
    option, missing argument) is one line on stderr with exit code 2, not a framed help box."""
    import sys

    from ..core.signals import install_signal_handlers
    from .common import interrupted_exit

    install_signal_handlers()
    try:
        code = app(args=_bare_ray_flag(sys.argv[1:]), prog_name="emoget", standalone_mode=False)
    except KeyboardInterrupt as exc:  # outside a command (e.g. while parsing options)
        sys.exit(interrupted_exit(exc).exit_code)
    except ClickException as exc:
        message = _did_you_mean(exc.format_message().replace("Value error, ", ""))
        if message:  # empty after `no_args_is_help` has printed the help
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            print_error(message + hint)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print_error("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
