"""`generate_motion`: a photo's landmarks + expression → a looping landmark track (FACS library).

The photo's own expression is estimated (estimate.estimate_units) and REPLACED: at the apex the
face shows the target's units and none of the photo's (a smiling selfie asked for sadness loses
its smile). Frame 0 is the photo as it is, so the loop starts and ends on the real picture.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..core.choices import MAX_INTENSITY
from ..core.errors import UsageError
from .estimate import estimate_units
from .expressions import ExpressionSpec, expression_activity, parse_expression
from .facs import deform
from .geometry import FaceFrame, check_points
from .head import HEAD_CHOICES, head_motion

MAX_FRAMES = 10_000


@dataclass(frozen=True)
class MotionConfig:
    """frames T ≥ 2 per loop at `fps`; intensity in [0, MAX_INTENSITY] scales every expression;
    head motion (head.HEAD_CHOICES; auto = the expression's own); seed varies the timing of idle
    blinks; replace: undo the photo's own expression (estimate.py) instead of adding to it."""

    frames: int = 24
    fps: float = 12.0
    intensity: float = 1.0
    head: str = "auto"
    seed: int = 0
    replace: bool = True
    #: how far (IOD) the chin may drop before the picture ends (None: no limit); the jaw units
    #: are scaled down to fit, so the mouth opens less instead of the warp squashing the chin
    chin_room: float | None = None

    def __post_init__(self) -> None:
        for name in ("frames", "seed"):  # accept numpy integers, store plain ints
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, name, int(value))
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or not 2 <= self.frames <= MAX_FRAMES:
            raise UsageError(f"frames must be an integer in 2..{MAX_FRAMES}, got {self.frames!r}")
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) \
                or not math.isfinite(self.fps) or self.fps <= 0:
            raise UsageError(f"fps must be a positive number, got {self.fps!r}")
        if isinstance(self.intensity, bool) or not isinstance(self.intensity, (int, float)) \
                or not 0.0 <= self.intensity <= MAX_INTENSITY:
            raise UsageError(f"intensity must be in 0..{MAX_INTENSITY:g}, got {self.intensity!r}")
        if self.head not in HEAD_CHOICES:
            raise UsageError(f"unknown head motion {self.head!r} (choose from {', '.join(HEAD_CHOICES)})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise UsageError(f"seed must be an integer, got {self.seed!r}")

    @property
    def duration(self) -> float:
        """Seconds per loop."""
        return self.frames / self.fps


def displacements_to_track(l0: np.ndarray, frame: FaceFrame, face_disp: np.ndarray) -> np.ndarray:
    """l0 [68, 2] pixels + face-unit displacements [T, 68, 2] → float32 [T, 68, 2] pixels.

    Adding displacement vectors (not re-projecting points) keeps frame 0 bit-exact when its
    displacement is zero.
    """
    out = l0[None] + frame.vectors_to_pixels(face_disp)
    out[np.all(face_disp == 0, axis=(1, 2))] = l0
    return out.astype(np.float32)


#: Units that drop the jaw (and the lower lip with it).
JAW_UNITS = ("26", "27")


def _fit_jaw(n0: np.ndarray, units: dict, room: float) -> None:
    """Scale the jaw units in `units` (in place) so the chin drops at most `room` IOD."""
    from .facs import unit_field

    drop = np.zeros(len(next(iter(units.values()))[0])) if units else np.zeros(0)
    for code in JAW_UNITS:
        if code in units:
            drop = drop - 0.5 * (units[code][0] + units[code][1]) * unit_field(code, n0)[8, 1]
    worst = float(drop.max(initial=0.0))
    if worst > max(room, 0.0) and worst > 1e-9:
        scale = max(room, 0.0) / worst
        for code in JAW_UNITS:
            if code in units:
                units[code] = (units[code][0] * scale, units[code][1] * scale)


@dataclass(frozen=True)
class MotionPlan:
    """A generated motion and what went into it: points float32 [T, 68, 2] pixels; photo_units:
    the photo's estimated units (code → intensity); head: the head motion used; effects: the
    expression's effect names (for `--effects auto`); envelope [T]: the main envelope."""

    points: np.ndarray
    photo_units: dict
    head: str
    effects: tuple
    envelope: np.ndarray


def plan_motion(l0: np.ndarray, expr: "str | ExpressionSpec",
                config: MotionConfig = MotionConfig()) -> MotionPlan:
    """FACS-driven landmark motion with the photo's own expression replaced (see module doc)."""
    points = check_points(l0)
    spec = parse_expression(expr)
    frame = FaceFrame.of(points)
    n0 = frame.to_face(points)
    act = expression_activity(spec, config.frames, intensity=float(config.intensity), seed=config.seed)
    photo = estimate_units(points) if config.replace else {}
    units = {code: (r.copy(), l.copy()) for code, (r, l) in act.units.items()}
    for code, value in photo.items():  # undo the photo's units as the target's come in
        undo = -value * act.replace
        right, left = units.setdefault(code, (np.zeros(config.frames), np.zeros(config.frames)))
        right += undo
        left += undo
    if config.chin_room is not None:
        _fit_jaw(n0, units, float(config.chin_room))
    shapes = deform(n0, units) if units else np.repeat(n0[None], config.frames, axis=0)
    head = act.head if config.head == "auto" else config.head
    shapes = head_motion(shapes, n0, head, act.envelope, min(float(config.intensity), 1.2))
    return MotionPlan(displacements_to_track(points, frame, shapes - n0), photo, head, act.effects,
                      act.envelope)


def generate_motion(l0: np.ndarray, expr: "str | ExpressionSpec",
                    config: MotionConfig = MotionConfig()) -> np.ndarray:
    """FACS-driven landmark motion.

    l0: [68, 2] landmarks of the photo (pixels, any roll and scale). expr: e.g.
    'happiness+wink:0.5'. Returns float32 [T, 68, 2] in l0's pixel frame, T = config.frames;
    frame 0 == l0, the motion is smooth and loops (frame T-1 flows into frame 0).
    """
    return plan_motion(l0, expr, config).points
