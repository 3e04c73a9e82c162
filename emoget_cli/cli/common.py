"""What every subcommand shares: option definitions, error → exit-code mapping, output.

Subcommand modules only parse options, build a config dataclass, call the core and print.
Heavy libraries are never imported at module level here, so `emoget --help` stays instant.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer
from typer.core import TyperGroup
from typing_extensions import Annotated, Literal

try:  # typer >= 0.2x vendors click; older releases depend on it
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException

from ..core import animation_spec as spec_limits
from ..core import choices
from ..core.errors import EmogetError

STATE: dict[str, Any] = {"debug": bool(os.environ.get("EMOGET_DEBUG")),
                         "debug_env": bool(os.environ.get("EMOGET_DEBUG"))}


def _stderr():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def _stdout():
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def print_error(message: str, *, prefix: str = "error") -> None:
    """One line on stderr, whatever the message contains."""
    from rich.markup import escape

    line = " ".join(str(message).split())
    _stderr().print(f"[bold red]{prefix}:[/] {escape(line)}")


def print_warning(message: str) -> None:
    from rich.markup import escape

    _stderr().print(f"[yellow]warning:[/] {escape(' '.join(str(message).split()))}")


def interrupted_exit(exc: BaseException) -> "typer.Exit":
    """Report an interruption in one line (what was left on disk) and give the exit code
    128 + signal number (130 for Ctrl-C, 143 for SIGTERM)."""
    import signal

    from ..core.atomic import completed_outputs
    from ..core.signals import ignore_further_signals, signal_name

    ignore_further_signals()
    signum = getattr(exc, "signum", signal.SIGINT)
    name = signal_name(signum)
    done = completed_outputs()
    if done:
        shown = ", ".join(str(p) for p in done[:3]) + (f" and {len(done) - 3} more" if len(done) > 3 else "")
        what = (f"{len(done)} complete file(s) were written before it ({shown}); nothing partial "
                "was left")
    else:
        what = "no output had been completed; nothing partial was left"
    print_error(f"interrupted by {name}: {what}")
    return typer.Exit(128 + int(signum))


def _print_traceback() -> None:
    import traceback

    traceback.print_exc(file=sys.stderr)


def handle_errors(fn: Callable) -> Callable:
    """Turn EmogetError into a one-line message + its exit code; bugs into exit 1. --debug adds
    the traceback and keeps the exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except EmogetError as exc:
            if STATE["debug"]:
                _print_traceback()
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            raise interrupted_exit(exc) from None
        except RecursionError:
            if STATE["debug"]:
                _print_traceback()
            print_error("input nested too deeply to process (internal error: RecursionError)")
            raise typer.Exit(1) from None
        except Exception as exc:  # a bug: keep the user's terminal clean, point to --debug
            if STATE["debug"]:
                _print_traceback()
            print_error(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                        + ("" if STATE["debug"] else " (rerun with --debug for the traceback)"))
            raise typer.Exit(1) from None

    return wrapper


def _config_path_for(ctx: typer.Context) -> str:
    parts = ctx.command_path.split()[1:]
    return ".".join(parts) or "emoget"


def _apply_config(ctx: typer.Context, value: Optional[Path]) -> Optional[Path]:
    """Eager callback: load YAML defaults before the other options are resolved."""
    if value is None:
        return value
    from ..core.config import defaults_for, load_config

    try:
        config = load_config(value)
    except EmogetError as exc:
        raise typer.BadParameter(str(exc)) from None
    # A key is a parameter name (json_output) or a long option name (json, all-faces).
    names: dict[str, str] = {}
    for param in ctx.command.params:
        names[param.name] = param.name
        for opt in getattr(param, "opts", ()):
            if opt.startswith("--"):
                names[opt[2:].replace("-", "_")] = param.name
    command = _config_path_for(ctx)
    # Keys of this command's own section must exist: a typo must not be silently ignored.
    # ('common' and a parent group's section hold keys meant for other commands too.)
    own = config.get(command) or {}
    unknown = sorted(str(k) for k in own if str(k).replace("-", "_") not in names)
    if unknown:
        raise typer.BadParameter(f"config file {value}: unknown option(s) for {command}: "
                                 f"{', '.join(unknown)}")
    defaults = {names[k]: v for k, v in defaults_for(config, command).items() if k in names}
    # `expr: surprise` means `expr: [surprise]` for an option that may be given several times
    for param in ctx.command.params:
        if (getattr(param, "multiple", False) or getattr(param, "nargs", 1) == -1) \
                and isinstance(defaults.get(param.name), (str, int, float)):
            defaults[param.name] = [defaults[param.name]]
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


# Shared options: the same names and help everywhere (one name means one thing in every command).
def _check_device(value: Optional[str]) -> Optional[str]:
    """`--device cuda` on a machine without a GPU fails at once, not after the first slow step."""
    if value is not None:
        from ..core.device import check_device_available
        from ..core.errors import DependencyError

        try:
            check_device_available(value)
        except DependencyError as exc:
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
    return value


DeviceOpt = Annotated[Literal[choices.DEVICES], typer.Option(
    "--device", help="Where to compute: auto (GPU when there is one), cpu or cuda.",
    callback=_check_device)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", help="YAML file of option defaults (sections per command, plus 'common').",
    is_eager=True, callback=_apply_config, exists=False, dir_okay=False)]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed, for reproducible results.")]

# Animation options shared by `animate` and `make` (the same flags, help and defaults in both).
FormatOpt = Annotated[Optional[Literal[choices.FORMATS]], typer.Option(
    "--format", help="Output format (default: from the suffix, the preset, else gif).",
    show_default=False)]
# Their limits live in core.animation_spec (validated there, for both commands, once).
FramesOpt = Annotated[int, typer.Option(
    "--frames", help=f"Frames per loop, {spec_limits.FRAMES_RANGE[0]}..{spec_limits.FRAMES_RANGE[1]}.")]
FpsOpt = Annotated[float, typer.Option(
    "--fps", help=f"Frames per second, above 0 and at most {spec_limits.FPS_MAX:g}.")]
DurationOpt = Annotated[Optional[float], typer.Option(
    "--duration", help=f"Seconds per loop, up to {spec_limits.DURATION_MAX:g} (overrides "
    "--frames: frames = duration x fps, rounded half up). Default: --frames.",
    show_default=False)]
IntensityOpt = Annotated[float, typer.Option(
    "--intensity", help="Strength of the expression, "
    f"{spec_limits.INTENSITY_RANGE[0]:g}..{spec_limits.INTENSITY_RANGE[1]:g}: 1 = the emoticon "
    "apex, above 1 exaggerates, 0 = the photo as it is.")]
HeadOpt = Annotated[Literal[choices.HEAD_MOTIONS], typer.Option(
    "--head", help="Head motion: auto = the expression's own (see 'emoget expressions').")]
BackgroundOpt = Annotated[Literal[choices.BACKGROUNDS], typer.Option(
    "--background", help="keep the picture, or cut the head out (alpha; not for MP4).")]
PresetOpt = Annotated[Optional[str], typer.Option(
    "--preset", help=f"Messenger limits, enforced: {', '.join(choices.PRESET_NAMES)}.",
    show_default=False)]
MotionOpt = Annotated[Optional[Path], typer.Option(
    "--motion", help="A learned motion model (from `emoget train motion`) instead of the FACS "
    "library.", show_default=False)]
EffectsOpt = Annotated[str, typer.Option(
    "--effects", help="Emoticon effects drawn over the face: auto (the expression's own), none, "
    f"or names joined with '+': {', '.join(choices.EFFECT_NAMES)}.")]
LandmarkBackendOpt = Annotated[Literal[choices.LANDMARK_BACKEND_CHOICES], typer.Option(
    "--backend", help="Landmark detector: dlib (embedded), fan (face-alignment, needs its "
    "weights) or auto (fan when its weights are present).")]
PerceptualOpt = Annotated[Literal[choices.PERCEPTUAL_CHOICES], typer.Option(
    "--perceptual", help="Perceptual loss of the inversion: LPIPS-VGG (needs its weights), the "
    "structural fallback, none (pixel MSE only), or auto (LPIPS when available).")]


class Reporter:
    """Prints results as rich text, as JSON (--json), or not at all (--quiet)."""

    def __init__(self, json_mode: bool = False, quiet: bool = False):
        self.json_mode = json_mode
        self.quiet = quiet

    def info(self, message: str) -> None:
        if not (self.quiet or self.json_mode):
            _stderr().print(message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            print_warning(message)

    def result(self, data: dict[str, Any], human: Optional[Callable[[Any], None]] = None) -> None:
        """`data` goes to stdout as JSON in --json mode; otherwise `human(console)` prints it."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, default=_json_default) + "\n")
            sys.stdout.flush()
        elif not self.quiet:
            if human is not None:
                human(_stdout())
            else:
                for key, value in data.items():
                    _stdout().print(f"{key}: {value}")

    @contextlib.contextmanager
    def progress(self, description: str, total: Optional[float] = None) -> Iterator[Callable[..., None]]:
        """Yield `update(done, total=None, **fields)`; a rich bar on stderr unless quiet/json."""
        if self.quiet or self.json_mode or os.environ.get("EMOGET_NO_PROGRESS"):
            yield lambda *a, **k: None
            return
        if not sys.stderr.isatty():
            # no bar in logs and pipes (rich would leave blank lines): a plain line every
            # PLAIN_PROGRESS_S seconds instead, so a long run (train stylegan) is never silent
            yield _plain_progress(description, total)
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=_stderr(), transient=True) as bar:
            task = bar.add_task(description, total=total, info="")

            def update(done: float, total: Optional[float] = None, **fields: Any) -> None:
                info = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in fields.items())
                bar.update(task, completed=done, info=info, **({"total": total} if total else {}))

            yield update


#: Seconds between progress lines when stderr is not a terminal.
PLAIN_PROGRESS_S = 10.0


def _plain_progress(description: str, total: Optional[float]) -> Callable[..., None]:
    import time

    state = {"last": time.monotonic(), "total": total}

    def update(done: float, total: Optional[float] = None, **fields: Any) -> None:
        state["total"] = total or state["total"]
        now = time.monotonic()
        if now - state["last"] < PLAIN_PROGRESS_S:
            return
        state["last"] = now
        info = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in fields.items())
        count = f"{done:g}/{state['total']:g}" if state["total"] else f"{done:g}"
        sys.stderr.write(f"{description}: {count}  {info}".rstrip() + "\n")
        sys.stderr.flush()

    return update


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return str(obj)



# ------------------------------------------------------------------------------ help wording --

def tidy_help(command):
    """Make a command's --help speak the user's language, once per command object: flags show no
    value, a list shows the form of one item, arguments show NAME... rather than {NAME} or
    <list[Path]> (Typer's defaults name Python types)."""
    if getattr(command, "_emoget_tidy", False):
        return command
    for param in command.params:
        desc = getattr(param, "type_descriptor", None)
        is_list = bool(desc is not None and getattr(desc, "is_list", False))
        if type(param).__name__.endswith("Argument"):
            label = (param.metavar or param.name).upper()
            dots = "..." if param.nargs != 1 else ""
            form = "<path>" if desc is not None and getattr(desc, "is_path", False) else ""
            if is_list and desc is not None and "Path" in str(desc.annotation):
                form = "<path>"
            param.metavar = label
            param._rich_display_name = lambda label=label, dots=dots: label + dots
            param._usage_display_name = (lambda label=label, dots=dots, req=param.required:
                                         (label if req else f"[{label}]") + dots)
            param.display_type_rich = lambda ctx, form=form: form or None
        elif getattr(param, "is_flag", False):
            param.metavar = ""
        elif is_list:
            form = "<path>" if "Path" in str(desc.annotation) else "<text>"
            param.metavar = form
        elif desc is not None and param.metavar is None and not desc.is_choice:
            form = param.display_type(None)
            if form in ("<str>", "<Path>"):
                param.metavar = "<text>" if form == "<str>" else "<path>"
    make_help_option = command.get_help_option

    def get_help_option(ctx):
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option
    command._emoget_tidy = True
    return command


class EmogetGroup(TyperGroup):
    """The root (and `train`) group: every subcommand's help is tidied (common.tidy_help)."""

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        return tidy_help(command) if command is not None else None

    def get_params(self, ctx):
        tidy_help(self)
        return super().get_params(ctx)
