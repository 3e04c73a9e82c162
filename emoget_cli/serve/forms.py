"""Web form fields → the `make` configuration, and the option lists the page offers.

A make job's form fields are named as `emoget make`'s options (`style`, `expr`, `preset`,
`format`, `pack`, ...) and become a `pipeline.MakeConfig` that is validated by
`MakeConfig.validate`, the code the CLI runs. Options that name files on the server
(`--generator`, `--motion`, `--keep-intermediate`, `-o`) and machine settings (`--device`,
`--jobs`) are not accepted from a request: no path from a request reaches the file system.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..core import choices
from ..core.errors import UsageError


def _to_int(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise UsageError(f"{name} must be a whole number, got {text!r}") from None


def _to_float(name: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise UsageError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {text!r}")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _to_bool(name: str, text: str) -> bool:
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise UsageError(f"{name} must be true or false, got {text!r}")


def _to_choice(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        value = text.strip()
        if value not in allowed:
            raise UsageError(f"{name} must be one of {', '.join(allowed)}, got {text!r}")
        return value
    return parse


def _to_text(name: str, text: str) -> str:
    value = text.strip()
    if not value or len(value) > 200 or not value.isprintable():
        raise UsageError(f"{name}: give a short name, got {text[:40]!r}")
    return value


#: form field → (MakeConfig field, parser). `expr` is handled apart (repeatable, comma lists);
#: the fields of core.animation_spec.AnimationSpec go into MakeConfig.animation.
MAKE_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "style": ("style", _to_text),
    "engine": ("engine", _to_choice(choices.ENGINES)),
    "strength": ("strength", _to_float),
    "format": ("fmt", _to_text),
    "preset": ("preset", _to_text),
    "pack": ("pack", _to_bool),
    "frames": ("frames", _to_int),
    "fps": ("fps", _to_float),
    "duration": ("duration", _to_float),
    "size": ("size", _to_text),
    "intensity": ("intensity", _to_float),
    "head": ("head", _to_choice(choices.HEAD_MOTIONS)),
    "background": ("background", _to_choice(choices.BACKGROUNDS)),
    "seed": ("seed", _to_int),
}
#: make options a request may not set, with the reason given to the caller
REFUSED_FIELDS = {
    "output": "the server chooses where results go", "o": "the server chooses where results go",
    "generator": "checkpoints are chosen by style name", "base": "checkpoints are chosen by style name",
    "motion": "files on the server cannot be named", "keep-intermediate": "files on the server cannot be named",
    "device": "the server assigns devices", "jobs": "the server schedules jobs",
    "config": "files on the server cannot be named", "sample": "upload the photo as `image`",
}
MAX_EXPRESSIONS = 16


def make_config_from_form(fields: Sequence[tuple[str, str]], output: Path):
    """(name, value) pairs of a multipart form (the `image` part removed) → a validated
    MakeConfig writing into the folder `output`. UsageError names the first bad field."""
    from ..pipeline import MakeConfig

    kwargs: dict[str, Any] = {}
    exprs: list[str] = []
    for name, value in fields:
        if name == "expr":
            exprs.extend(x.strip() for x in value.split(",") if x.strip())
            continue
        if name in REFUSED_FIELDS:
            raise UsageError(f"{name}: not accepted here ({REFUSED_FIELDS[name]})")
        if name not in MAKE_FIELDS:
            raise UsageError(f"unknown field {name[:40]!r}; accepted: image, expr, "
                             f"{', '.join(MAKE_FIELDS)}")
        target, parse = MAKE_FIELDS[name]
        if target in kwargs:
            raise UsageError(f"{name} given twice")
        value = parse(name, value)
        if target in ("fmt", "preset"):
            value = value.lower()
        kwargs[target] = value
    if len(exprs) > MAX_EXPRESSIONS:
        raise UsageError(f"expr: at most {MAX_EXPRESSIONS} expressions per job, got {len(exprs)}")
    if exprs:
        kwargs["expressions"] = tuple(exprs)
    from dataclasses import fields as dataclass_fields

    from ..core.animation_spec import AnimationSpec

    animated = {f.name for f in dataclass_fields(AnimationSpec)}
    kwargs["animation"] = AnimationSpec(**{k: kwargs.pop(k) for k in list(kwargs) if k in animated})
    # a folder: pack/several expressions write several files; one file is named by make too
    config = MakeConfig(output=output, output_is_folder=True, device="auto", jobs=1, **kwargs)
    config.validate(1)
    return config


def options() -> dict[str, Any]:
    """What the page (and any API client) may choose: the names from `core.choices`, with the
    descriptions and limits of the modules that implement them."""
    from ..motion import EXPRESSIONS
    from ..render.export import FORMAT_NAMES, PRESETS
    from ..style import list_styles

    return {
        "styles": [s for s in list_styles() if s["available"]],
        "default_style": choices.DEFAULT_STYLE,
        "expressions": [{"name": name, "description": EXPRESSIONS[name].description}
                        for name in choices.EXPRESSION_NAMES],
        "default_expression": choices.DEFAULT_EXPRESSION,
        "pack_expressions": list(choices.PACK_EXPRESSIONS),
        "presets": [{"name": name, "format": PRESETS[name].format, "width": PRESETS[name].width,
                     "height": PRESETS[name].height, "max_bytes": PRESETS[name].max_bytes,
                     "description": PRESETS[name].describe()} for name in choices.PRESET_NAMES],
        "formats": [{"name": f, "label": FORMAT_NAMES[f]} for f in choices.FORMATS],
        "default_format": choices.DEFAULT_FORMAT,
        "heads": list(choices.HEAD_MOTIONS),
        "backgrounds": list(choices.BACKGROUNDS),
        "fields": ["image", "expr", *MAKE_FIELDS],
    }


def form_pairs(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Starlette FormData → (name, text) pairs, files (other than `image`) refused."""
    pairs = []
    for name, value in form.multi_items():
        if name == "image":
            continue
        if not isinstance(value, str):
            raise UsageError(f"{name[:40]}: only `image` may be a file")
        pairs.append((name, value))
    return pairs
