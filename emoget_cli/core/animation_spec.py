"""The animation options of `make` and `animate`, validated once: `AnimationSpec`.

    spec = AnimationSpec(frames=24, fps=12, size=(256, 256), background="transparent")
    spec.n_frames        # 24 (or round(duration x fps) when a duration is given)
    spec.check_format("mp4")   # UsageError: MP4 has no alpha channel

One set of limits (the constants below) and one rounding rule (`frames_for`) for every command.
Constructing a spec validates it (UsageError naming the option), so a bad value fails before any
image is read or model loaded. Pure Python: the CLI imports it to print the ranges in --help.

Adding an option: a field with its default, a check in `__post_init__`, a `*_RANGE` constant
when it is numeric, and the CLI flag in cli/common.py (shared by both commands).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional

from . import choices
from .errors import UsageError

#: Frames per loop, inclusive.
FRAMES_RANGE = (2, 1000)
#: Frames per second: (0, FPS_MAX].
FPS_MAX = 100.0
#: Seconds per loop: (0, DURATION_MAX].
DURATION_MAX = 60.0
#: Output side in pixels, inclusive, per side.
SIZE_RANGE = (32, 2048)
#: Expression strength: 0 = the photo as it is, 1 = the emoticon apex, above 1 exaggerates.
INTENSITY_RANGE = (0.0, choices.MAX_INTENSITY)


def frames_for(duration: float, fps: float) -> int:
    """The one rounding rule: frames = duration x fps rounded half up (0.25 s at 10 fps → 3)."""
    return int(math.floor(float(duration) * float(fps) + 0.5))


def parse_size(value: Any, option: str = "--size") -> Optional[tuple[int, int]]:
    """None, N, (W, H), 'N' or 'WxH' → (width, height) or None; UsageError when malformed or
    outside SIZE_RANGE."""
    if value is None:
        return None
    lo, hi = SIZE_RANGE
    if isinstance(value, str):
        text = value.strip().lower().replace("×", "x")
        try:
            parts = [int(v) for v in text.split("x", 1)] if "x" in text else [int(text)] * 2
        except ValueError:
            raise UsageError(f"{option} must be N or WxH, got {value!r}") from None
    elif _is_int(value):
        parts = [int(value)] * 2
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        parts = [int(v) for v in value]
    else:
        raise UsageError(f"{option} must be N or WxH, got {value!r}")
    if not all(lo <= v <= hi for v in parts):
        raise UsageError(f"{option} must be N or WxH with {lo}..{hi} pixels per side, got {value!r}")
    return parts[0], parts[1]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy ints too


def _is_number(value: Any) -> bool:
    try:
        return not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class AnimationSpec:
    """How an expression is animated, whichever command asks.

    frames: frames per loop, unless `duration` (seconds per loop) is given: then
      frames = frames_for(duration, fps). fps: frames per second.
    size: output (width, height) in pixels, or None = the command's default (make: 256 or the
      preset's side; animate: the input's size). N or 'WxH' are accepted and normalised.
    intensity: expression strength (INTENSITY_RANGE). head: head motion (choices.HEAD_MOTIONS;
      auto = the expression's own).
    background: choices.BACKGROUNDS; "transparent" cuts the head out (needs an alpha format);
      None = the command's default (make: transparent when the preset's platform asks for it
      or with `sticker`, else keep; animate: keep).
    crop: what a cut-out keeps (choices.CROPS: head = face and hair, cut below the chin; bust).
    sticker: the die-cut look, a white border and a soft shadow around the cut-out (implies a
      transparent background; render/sticker.py).
    effects: emoticon effects drawn over the face (render/effects.py): "auto" (each
      expression's own), "none", or choices.EFFECT_NAMES joined with '+'.
    """

    frames: int = 24
    fps: float = 12.0
    duration: Optional[float] = None
    size: Optional[tuple[int, int]] = None
    intensity: float = 1.0
    head: str = choices.DEFAULT_HEAD
    background: Optional[str] = None
    effects: str = choices.DEFAULT_EFFECTS
    crop: str = choices.DEFAULT_CROP
    sticker: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", parse_size(self.size))
        object.__setattr__(self, "effects", _checked_effects(self.effects))
        if not _is_number(self.fps) or not 0 < float(self.fps) <= FPS_MAX:
            raise UsageError(f"--fps must be a number in (0, {FPS_MAX:g}], got {self.fps!r}")
        if self.duration is not None and (not _is_number(self.duration)
                                          or not 0 < float(self.duration) <= DURATION_MAX):
            raise UsageError(f"--duration must be in (0, {DURATION_MAX:g}] seconds, "
                             f"got {self.duration!r}")
        if self.duration is None and not _is_int(self.frames):
            raise UsageError(f"--frames must be an integer, got {self.frames!r}")
        lo, hi = FRAMES_RANGE
        if not lo <= self.n_frames <= hi:
            raise UsageError(f"an animation needs {lo}..{hi} frames, got {self.n_frames} "
                             "(check --frames / --duration / --fps)")
        lo, hi = INTENSITY_RANGE
        if not _is_number(self.intensity) or not lo <= float(self.intensity) <= hi:
            raise UsageError(f"--intensity must be in {lo:g}..{hi:g}, got {self.intensity!r}")
        _check_choice("--head", self.head, choices.HEAD_MOTIONS)
        if self.background is not None:
            _check_choice("--background", self.background, choices.BACKGROUNDS)
        _check_choice("--crop", self.crop, choices.CROPS)
        if not isinstance(self.sticker, bool):
            raise UsageError(f"--sticker is a flag (true or false), got {self.sticker!r}")
        if self.sticker:
            if self.background == "keep":
                raise UsageError("--sticker cuts the head out: it cannot keep the background "
                                 "(drop --background keep)")
            object.__setattr__(self, "background", "transparent")

    @property
    def n_frames(self) -> int:
        """Frames per loop (the rounding rule applied to a duration)."""
        if self.duration is not None:
            return frames_for(self.duration, self.fps)
        return int(self.frames)

    @property
    def seconds(self) -> float:
        """Length of one loop."""
        return self.n_frames / float(self.fps)

    def check_format(self, fmt: str) -> None:
        """UsageError when the output format cannot hold what the spec asks for (alpha)."""
        if self.background == "transparent" and fmt not in choices.ALPHA_FORMATS:
            alpha = ", ".join(sorted(choices.ALPHA_FORMATS))
            raise UsageError(f"{fmt.upper()} has no alpha channel: use one of {alpha} "
                             "with --background transparent")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "AnimationSpec":
        """From a plain dict (JSON, YAML); unknown keys are a UsageError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"unknown animation option(s): {', '.join(unknown)}")
        return cls(**dict(values))


def _checked_effects(text: Any) -> str:
    """--effects normalised (stripped, lower case); UsageError naming the valid words."""
    valid = (f"auto, none, or names joined with '+': {', '.join(choices.EFFECT_NAMES)}")
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"no effects given (--effects {valid})")
    text = text.strip().lower()
    if text in choices.EFFECT_MODES:
        return text
    for term in text.split("+"):
        if term.strip() not in choices.EFFECT_NAMES:
            raise UsageError(f"unknown effect {term.strip()!r} in --effects {text!r} (valid: {valid})")
    return text


def _check_choice(option: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{option} must be one of {', '.join(allowed)}, got {value!r}")
