"""Subtle periodic head motion: a small rigid transform of every point, zero at frame 0.

Works in face units (see geometry.FaceFrame); the face frame is a similarity, so a rigid motion
there is rigid in pixels too.
"""

from __future__ import annotations

import numpy as np

from .envelope import phases

HEAD_CHOICES = ("none", "nod", "tilt")
#: nod: the head dips by this much (IOD units) and comes back, once per loop
NOD_AMPLITUDE = 0.06
#: tilt: roll to this many degrees and back, once per loop, about a pivot below the chin (the neck)
TILT_DEGREES = 4.0
NECK_BELOW_CHIN = 0.6


def head_motion(shapes: np.ndarray, neutral: np.ndarray, kind: str) -> np.ndarray:
    """Move shapes [T, 68, 2] (face units, y up) rigidly per frame; `neutral` [68, 2] sets the pivot.

    Both follow w(s) = (1 - cos 2πs)/2, at rest (zero speed) at the loop's seam: nod translates
    down by NOD_AMPLITUDE·w; tilt rolls by TILT_DEGREES·w about a point NECK_BELOW_CHIN below
    the chin (point 8).
    """
    if kind == "none":
        return shapes
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * phases(len(shapes)))  # [T]
    if kind == "nod":
        dy = -NOD_AMPLITUDE * w
        return shapes + np.stack([np.zeros_like(dy), dy], axis=1)[:, None, :]
    if kind == "tilt":
        angle = np.radians(TILT_DEGREES) * w  # [T]
        pivot = neutral[8] - np.array([0.0, NECK_BELOW_CHIN])
        c, sn = np.cos(angle)[:, None], np.sin(angle)[:, None]
        rel = shapes - pivot
        x = c * rel[..., 0] - sn * rel[..., 1]
        y = sn * rel[..., 0] + c * rel[..., 1]
        return np.stack([x, y], axis=-1) + pivot
    raise ValueError(f"unknown head motion {kind!r} (choose from {', '.join(HEAD_CHOICES)})")
