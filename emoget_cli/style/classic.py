"""The embedded `classic` style engine: geometric exaggeration + appearance filter, no weights.

The face is warped with the animation's foldover-free piecewise-affine core
(`render.warp.warp_image`) along a smooth injective displacement field (`style.geometry`), then
an appearance filter (`style.filters`) paints it. The engine knows where every landmark went,
so the styled face's landmarks need no detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import filters
from .geometry import Geometry, exaggerate, folds_over


@dataclass(frozen=True)
class ClassicStyle:
    """A named classic style: how the face is reshaped and which filter paints it."""

    name: str
    description: str
    geometry: Geometry
    filter: Callable[..., np.ndarray] | None = field(default=None, compare=False)


CLASSIC_STYLES: dict[str, ClassicStyle] = {
    s.name: s for s in (
        ClassicStyle(
            "baby", "baby schema: big low-set eyes, short nose, small round jaw, soft rosy skin",
            Geometry(eye_scale=0.38, eye_drop=0.06, nose_shrink=0.22, nose_lift=0.10,
                     mouth_scale=-0.18, chin_lift=0.20, jaw_pinch=0.16, cheek_puff=0.10,
                     cranium=0.10),
            filters.baby),
        ClassicStyle(
            "cartoon", "cel-shaded cartoon: flat tones, drawn eyes, ink lines, larger eyes",
            Geometry(eye_scale=0.25, nose_shrink=0.15, nose_lift=0.02, chin_lift=0.06,
                     jaw_pinch=0.08, cranium=0.06),
            filters.cartoon),
        ClassicStyle(
            "painting", "oil painting: oriented brush strokes on canvas, slightly larger eyes",
            Geometry(eye_scale=0.12, nose_shrink=0.05, chin_lift=0.04, jaw_pinch=0.04),
            filters.painting),
        ClassicStyle("none", "no style: the aligned photo itself (useful to animate a photo)",
                     Geometry(), None),
    )
}


def _warp_image(rgb, src, dst, *, extra_src=None, extra_dst=None):
    """C1's foldover-free warp (imported lazily: the render package pulls in OpenCV)."""
    from ..render.warp import warp_image

    return warp_image(rgb, src, dst, extra_src=extra_src, extra_dst=extra_dst)


def stylize_classic(aligned_rgb: np.ndarray, points: np.ndarray, style: ClassicStyle, *,
                    strength: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reshape then paint the aligned face.

    aligned_rgb: uint8 [H, W, 3]; points: float32 [68, 2] landmarks in its pixels;
    strength in [0, 1] scales both the geometry and the filter.
    Returns (styled uint8 [H, W, 3], moved landmarks float32 [68, 2]).
    """
    h, w = aligned_rgb.shape[:2]
    pts = np.asarray(points, np.float32)
    if strength <= 0 or style.geometry == Geometry():
        image, dst = aligned_rgb, pts.copy()
    else:
        s = float(strength)
        # The field is injective by construction; the check guards the piecewise-affine
        # discretisation, backing off the strength in the (unseen so far) case it would flip.
        for _ in range(4):
            dst, extra_src, extra_dst = exaggerate(pts, (w, h), style.geometry, s)
            if not folds_over(np.concatenate([pts, extra_src]), np.concatenate([dst, extra_dst])):
                break
            s *= 0.7
        image = _warp_image(aligned_rgb, pts, dst, extra_src=extra_src, extra_dst=extra_dst)
    if style.filter is not None and strength > 0:
        image = style.filter(image, dst, float(strength), seed=seed)
    return np.ascontiguousarray(image), dst.astype(np.float32)
