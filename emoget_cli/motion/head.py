"""Head motion: a rigid (or squash-and-stretch) transform of every point per frame, zero at frame 0.

Works in face units (see geometry.FaceFrame); the face frame is a similarity, so a rigid motion
there is rigid in pixels too. Two families:

- idle motions, once per loop whatever the expression: `nod` (dip and back), `tilt` (roll and
  back);
- secondary motions that follow the expression's own envelope (the head follows the face, the
  animators' "secondary action"): `bounce` (laughter: hops with squash and stretch), `shake`
  (anger: a quick side-to-side shake, leaning in), `tremble` (fear: a fast tremor while the head
  shrinks and sinks), `droop` (sadness: the head sinks and tips), `recoil` (surprise: the head
  jerks up and back, smaller), `sway` (love: a tilt to one side with a gentle sway), `sob`
  (crying: small jerks while drooping).

Every motion is 0 at phase 0 with zero speed there (the envelopes are), so loops stay seamless.
"""

from __future__ import annotations

import numpy as np

from ..core.choices import HEAD_MOTIONS as HEAD_CHOICES
from .envelope import phases
#: nod: the head dips by this much (IOD units) and comes back, once per loop
NOD_AMPLITUDE = 0.06
#: tilt: roll to this many degrees and back, once per loop, about a pivot below the chin (the neck)
TILT_DEGREES = 4.0
NECK_BELOW_CHIN = 0.6


def _transform(shapes: np.ndarray, pivot: np.ndarray, *, angle=0.0, sx=1.0, sy=1.0, dx=0.0,
               dy=0.0) -> np.ndarray:
    """Per-frame scale (sx, sy), then roll `angle` (radians), about `pivot`, then shift (dx, dy).
    shapes [T, 68, 2]; every parameter a scalar or [T]."""
    t = len(shapes)

    def col(v):
        return np.broadcast_to(np.asarray(v, dtype=np.float64), (t,))[:, None]

    rel = shapes - pivot
    x, y = rel[..., 0] * col(sx), rel[..., 1] * col(sy)
    c, s = np.cos(col(angle)), np.sin(col(angle))
    out = np.stack([c * x - s * y + col(dx), s * x + c * y + col(dy)], axis=-1)
    return out + pivot


def head_motion(shapes: np.ndarray, neutral: np.ndarray, kind: str,
                env: np.ndarray | None = None, amount: float = 1.0) -> np.ndarray:
    """Move shapes [T, 68, 2] (face units, y up) per frame; `neutral` [68, 2] sets the pivot (a
    point NECK_BELOW_CHIN below the chin, point 8). `env` [T]: the expression's envelope (0 at
    rest, about 1 at the apex; default a raised cosine over the loop); `amount` scales the
    secondary motions (the expression's intensity)."""
    if kind in ("none", "auto"):
        return shapes
    s = phases(len(shapes))
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * s)  # [T] once per loop, at rest at the seam
    e = w if env is None else np.asarray(env, dtype=np.float64)
    e = np.clip(e, -0.3, 1.3) * float(amount)
    pivot = neutral[8] - np.array([0.0, NECK_BELOW_CHIN])
    if kind == "nod":
        return _transform(shapes, pivot, dy=-NOD_AMPLITUDE * w * min(float(amount), 1.0))
    if kind == "tilt":
        return _transform(shapes, pivot, angle=np.radians(TILT_DEGREES) * w * min(float(amount), 1.0))
    if kind == "bounce":
        hop = 0.5 - 0.5 * np.cos(2.0 * np.pi * 3.0 * s)        # three hops per loop
        stretch = 0.035 * e * (2.0 * hop - 1.0)
        return _transform(shapes, pivot, sx=1.0 - stretch, sy=1.0 + stretch, dy=0.05 * e * hop)
    if kind == "shake":
        return _transform(shapes, pivot, dx=0.035 * e * np.sin(2.0 * np.pi * 5.0 * s),
                          sx=1.0 + 0.03 * e, sy=1.0 + 0.03 * e)
    if kind == "tremble":
        shrink = 1.0 - 0.06 * e
        return _transform(shapes, pivot, sx=shrink, sy=shrink, dy=-0.03 * e,
                          dx=0.014 * e * np.sin(2.0 * np.pi * 9.0 * s),
                          angle=np.radians(1.0) * e * np.sin(2.0 * np.pi * 7.0 * s))
    if kind == "droop":
        return _transform(shapes, pivot, dy=-0.07 * e, sy=1.0 - 0.03 * e,
                          angle=np.radians(3.0) * e)
    if kind == "recoil":
        back = 1.0 - 0.045 * e
        return _transform(shapes, pivot, sx=back, sy=back, dy=0.05 * e)
    if kind == "sway":
        return _transform(shapes, pivot, angle=np.radians(5.0) * e
                          + np.radians(2.0) * e * np.sin(2.0 * np.pi * 2.0 * s))
    if kind == "sob":
        jerk = 0.5 - 0.5 * np.cos(2.0 * np.pi * 4.0 * s)
        return _transform(shapes, pivot, dy=-0.05 * e + 0.025 * e * jerk, sy=1.0 - 0.02 * e,
                          angle=np.radians(2.0) * e)
    raise ValueError(f"unknown head motion {kind!r} (choose from {', '.join(HEAD_CHOICES)})")
