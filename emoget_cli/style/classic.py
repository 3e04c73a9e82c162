"""The embedded `classic` style engine: geometric exaggeration + appearance filter, no weights.

The face is warped with the animation's foldover-free piecewise-affine core
(`render.warp.warp_image`) along a smooth injective displacement field (`style.geometry`), then
an appearance filter (`style.filters`) paints it. The engine knows where every landmark went,
so the styled face's landmarks need no detection. The caricature styles reshape the face by
its own deviation from the mean face instead (`style.caricature`).

`strength` means "how much of the style", 0..1 (default 1), except for the caricature styles,
where it is the exaggeration factor k of the deviation (0..3, default 1.6; 1 = the face as it
is): each style says its own default and range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import baby, filters
from ..core.choices import CLASSIC_STYLE_NAMES
from .caricature import caricature_points
from .geometry import Geometry, exaggerate, folds_over


@dataclass(frozen=True)
class ClassicStyle:
    """A named classic style: how the face is reshaped and which filter paints it.

    caricature: reshape by the face's exaggerated deviation from the mean face (strength = the
    factor) instead of `geometry`; strength_default / strength_max: the style's --strength.
    filter(rgb uint8 [H, W, 3], points [68, 2], strength, seed=...) returns the painted face
    uint8 [H, W, 3], or (that face, the matte of the head it drew float32 [H, W] in [0, 1] or
    None) when the style draws its own head's outline (docs/matting.md, "The style's own
    head"): a sticker is then cut along that head instead of the photo's.
    """

    name: str
    description: str
    geometry: Geometry
    filter: Callable[..., np.ndarray] | None = field(default=None, compare=False)
    caricature: bool = False
    strength_default: float = 1.0
    strength_max: float = 1.0

    def check_strength(self, strength: float | None) -> float:
        """The strength to use (the style's default for None); ValueError when out of range."""
        s = self.strength_default if strength is None else float(strength)
        if not 0.0 <= s <= self.strength_max:
            raise ValueError(f"--strength for style {self.name!r} must be in "
                             f"0..{self.strength_max:g}, got {s:g}")
        return s


CLASSIC_STYLES: dict[str, ClassicStyle] = {
    s.name: s for s in (
        ClassicStyle(
            "baby", "baby schema: a small face set low in a big round head with fine hair and a "
            "curl, big round eyes, a short nose, a small mouth, full cheeks, almost no chin, "
            "soft rosy skin without adult lines",
            Geometry(eye_scale=0.27, nose_shrink=0.16, nose_lift=0.04, mouth_scale=-0.15,
                     chin_lift=0.2, cheek_puff=0.8, cranium=0.25, jaw_round=0.1,
                     chin_reach=0.6, face_scale=0.12),
            baby.baby),
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
        ClassicStyle(
            "caricature", "caricature: the face's own deviation from the mean face exaggerated "
            "(--strength = factor, default 1.6), photo look",
            Geometry(), filters.caricature_photo, caricature=True, strength_default=1.6,
            strength_max=3.0),
        ClassicStyle(
            "caricature-cartoon", "caricature drawn as a cel-shaded cartoon (--strength = "
            "factor, default 1.6)",
            Geometry(), filters.painted_cartoon, caricature=True, strength_default=1.6,
            strength_max=3.0),
    )
}
assert tuple(CLASSIC_STYLES) == CLASSIC_STYLE_NAMES, "core.choices and style.classic disagree"


def _warp_image(rgb, src, dst, *, extra_src=None, extra_dst=None):
    """C1's foldover-free warp (imported lazily: the render package pulls in OpenCV)."""
    from ..render.warp import warp_image

    return warp_image(rgb, src, dst, extra_src=extra_src, extra_dst=extra_dst)


def stylize_classic(aligned_rgb: np.ndarray, points: np.ndarray, style: ClassicStyle, *,
                    strength: float | None = None, seed: int = 0, paint: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Reshape then paint the aligned face.

    aligned_rgb: uint8 [H, W, 3]; points: float32 [68, 2] landmarks in its pixels;
    strength: see the module docstring (None = the style's default);
    paint: the caricature styles' painting strength, 0..1 (None = 1, fully painted; their
    strength is the exaggeration); the identity guard lowers it. The other styles paint at
    their strength.
    Returns (styled uint8 [H, W, 3], moved landmarks float32 [68, 2], the matte of the head
    the style drew float32 [H, W] in [0, 1], or None when the style does not draw its head).
    """
    h, w = aligned_rgb.shape[:2]
    pts = np.asarray(points, np.float32)
    s = style.check_strength(strength)
    if paint is not None and not (style.caricature and 0.0 <= paint <= 1.0):
        raise ValueError(f"paint strength is for the caricature styles, 0..1, got {paint!r} "
                         f"for {style.name!r}")
    if style.caricature:
        reshape = lambda k: caricature_points(pts, (w, h), k)  # noqa: E731
        identity, paint_strength = abs(s - 1.0) < 1e-6, 1.0 if paint is None else paint
    else:
        reshape = lambda k: exaggerate(pts, (w, h), style.geometry, k)  # noqa: E731
        identity, paint_strength = s <= 0 or style.geometry == Geometry(), s
    if identity:
        image, dst = aligned_rgb, pts.copy()
    else:
        k = s
        # The fields are smooth and (for `exaggerate`) injective by construction; the check
        # guards the piecewise-affine discretisation, backing the strength off towards "no
        # change" in the (rare) case a triangle would flip.
        for _ in range(6):
            dst, extra_src, extra_dst = reshape(k)
            if not folds_over(np.concatenate([pts, extra_src]), np.concatenate([dst, extra_dst])):
                break
            k = 1.0 + (k - 1.0) * 0.7 if style.caricature else k * 0.7
        image = _warp_image(aligned_rgb, pts, dst, extra_src=extra_src, extra_dst=extra_dst)
    matte = None
    if style.filter is not None and paint_strength > 0:
        image = style.filter(image, dst, float(paint_strength), seed=seed)
        if isinstance(image, tuple):
            image, matte = image
    if matte is not None:
        matte = np.ascontiguousarray(np.clip(matte, 0.0, 1.0), np.float32)
    return np.ascontiguousarray(image), dst.astype(np.float32), matte
