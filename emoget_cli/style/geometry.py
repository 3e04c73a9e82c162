"""Landmark-driven geometric exaggeration: a smooth, injective displacement field over the face.

The field is a composition of simple local operations expressed in a face frame (origin at the
eye midpoint, x along the eye line, y down the face, unit = inter-ocular distance, IOD):

* `lens`  - radial magnification (a > 0) or pinch (-1 < a < 0) inside an ellipse. Along each ray
  from the centre r -> r * (1 + a * g(t)), g(t) = (1 - t^2)^2 for t < 1. The map is monotone in r
  (hence injective) when -1 < a < 1.25: d/dr = 1 + a (1 - t^2)(1 - 5 t^2) > 0.
* `zoom`  - uniform scaling by (1 + a) about a centre inside a core ellipse (a fraction `core` of
  the ellipse), fading to 1 at the ellipse with a smoothstep. Along each ray r -> r (1 + a h(t));
  for -1 < a <= 0 d/dr = 1 + a h + a t h' > 0 always (h' <= 0): a shrink never folds.
* `shift` - translation weighted by a smooth bump: p + k * g(t) * dir. Injective when its
  Lipschitz constant k * max|g'| / R = 1.54 k / R stays below 1 (checked at construction).

Each operation is a homeomorphism, so the composition is one too: the warp never folds over.
The final displacement is faded to zero near the image border, which stays still.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.ibug68 import eye_centres

#: height of the cheeks' centre below the nose base, IOD (where a chubby cheek is fullest)
CHEEK_DY = 0.1
CHEEK_DX = 0.9
CHEEK_R = (0.5, 0.5)
#: reach (IOD) of the mouth's lens
MOUTH_R = (0.95, 0.5)
#: the face's uniform shrink (face_scale): radii (IOD) of the ellipse about the chin and the
#: share of it that scales uniformly
FACE_ZOOM_R = (2.6, 4.2)
FACE_ZOOM_CORE = 0.7
#: max |d/dt (1 - t^2)^2| on [0, 1], reached at t = 1/sqrt(3)
_BUMP_SLOPE = 4 / np.sqrt(3) * (2 / 3)


def _bump(t: np.ndarray) -> np.ndarray:
    """(1 - t^2)^2 inside the unit ball, 0 outside; t >= 0."""
    return np.where(t < 1.0, (1.0 - np.minimum(t, 1.0) ** 2) ** 2, 0.0)


@dataclass(frozen=True)
class Geometry:
    """How strongly each facial feature is exaggerated (0 = unchanged), at strength 1.

    eye_scale: eye magnification at the eye centre (0.4 = 40 % larger eyes)
    eye_drop: eyes and brows move down, in IOD (baby schema: features low on a big head)
    nose_shrink: pinch of the nose around its tip (0.3 = 30 % smaller at the centre)
    nose_lift: the nose tip and nostrils move up, in IOD (a shorter nose)
    mouth_scale: magnification of the mouth (negative = smaller)
    chin_lift: the chin moves up, in IOD (a shorter lower face)
    jaw_pinch: pinch of the lower face towards the chin (a smaller, rounder jaw)
    cheek_puff: the lower cheeks bulge outwards (chubby, round cheeks)
    cranium: magnification of the forehead / skull (a bigger head)
    face_shrink: pinch of the whole inner face towards the nose (features closer together
        and lower on a head that keeps its size: the baby schema's big cranium)
    jaw_round: the lower jaw's corners move up and in, in IOD (a round U-shaped lower face
        under full cheeks instead of a square jaw)
    chin_reach: how far up the chin lift reaches, in nose→chin lengths (below about 1 the
        chin moves up more than the mouth: a shorter chin under the lip)
    face_scale: the whole face (brows, eyes, nose, mouth, jaw) scaled down uniformly about the
        chin by this share (0.2 = 20 % smaller), the head around it kept: a smaller face low
        on a bigger cranium (the baby schema) that keeps the face's own proportions, which
        face recognition reads, unchanged
    """

    eye_scale: float = 0.0
    eye_drop: float = 0.0
    nose_shrink: float = 0.0
    nose_lift: float = 0.0
    mouth_scale: float = 0.0
    chin_lift: float = 0.0
    jaw_pinch: float = 0.0
    cheek_puff: float = 0.0
    cranium: float = 0.0
    face_shrink: float = 0.0
    jaw_round: float = 0.0
    chin_reach: float = 1.3
    face_scale: float = 0.0


class FaceFrame:
    """Face-normalised coordinates: origin at the eye midpoint, unit = IOD, y down the face."""

    def __init__(self, points: np.ndarray):
        pts = np.asarray(points, dtype=np.float64)
        eye_r, eye_l = eye_centres(pts)  # image-left, image-right
        self.origin = (eye_r + eye_l) / 2
        self.iod = float(np.linalg.norm(eye_l - eye_r))
        if not np.isfinite(self.iod) or self.iod < 2.0:
            raise ValueError("degenerate landmarks (eyes coincide)")
        ex = (eye_l - eye_r) / self.iod
        self.axes = np.stack([ex, np.array([-ex[1], ex[0]])])  # rows: x axis, y axis (down)

    def to_face(self, p: np.ndarray) -> np.ndarray:
        return (np.asarray(p, np.float64) - self.origin) @ self.axes.T / self.iod

    def to_image(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(q, np.float64) * self.iod @ self.axes + self.origin


def lens(q: np.ndarray, centre, radii, a: float) -> np.ndarray:
    """Radial magnification by (1 + a) at `centre`, fading to 1 at the ellipse `radii`. q: [N, 2]."""
    if a == 0:
        return q
    if not -0.95 <= a <= 1.2:
        raise ValueError(f"lens magnification {a} would fold the image over")
    d = q - np.asarray(centre, np.float64)
    t = np.sqrt(((d / np.asarray(radii, np.float64)) ** 2).sum(1))
    return q + d * (a * _bump(t))[:, None]


def zoom(q: np.ndarray, centre, radii, a: float, core: float = 0.6) -> np.ndarray:
    """Uniform scaling by (1 + a) about `centre` inside `core` × the ellipse `radii`, fading
    (smoothstep) to 1 at the ellipse. q: [N, 2]. Only shrinks (a in (-0.9, 0]) are allowed:
    they never fold (module docstring)."""
    if a == 0:
        return q
    if not -0.9 < a <= 0:
        raise ValueError(f"zoom factor {a} must be a shrink in (-0.9, 0]")
    d = q - np.asarray(centre, np.float64)
    t = np.sqrt(((d / np.asarray(radii, np.float64)) ** 2).sum(1))
    x = np.clip((1.0 - t) / (1.0 - core), 0.0, 1.0)
    return q + d * (a * x * x * (3 - 2 * x))[:, None]


def shift(q: np.ndarray, centre, radii, offset) -> np.ndarray:
    """Translate by `offset` (face units) at `centre`, fading out smoothly at the ellipse `radii`."""
    offset = np.asarray(offset, np.float64)
    radii = np.asarray(radii, np.float64)
    lipschitz = _BUMP_SLOPE * float(np.abs(offset / radii).sum())
    if lipschitz >= 0.95:
        raise ValueError("shift too large for its radius: the warp would fold over")
    d = q - np.asarray(centre, np.float64)
    t = np.sqrt(((d / radii) ** 2).sum(1))
    return q + _bump(t)[:, None] * offset


def face_map(points: np.ndarray, geometry: Geometry, strength: float = 1.0):
    """Return f([N, 2] image pixels) -> [N, 2]: the exaggeration as a map on image points."""
    frame = FaceFrame(points)
    q0 = frame.to_face(points)
    g = geometry
    s = float(np.clip(strength, 0.0, 1.0))
    eyes = (eye_centres(q0))
    brow_y = float(q0[17:27, 1].mean())
    nose_tip, nose_base = q0[30], q0[33]
    mouth = (q0[48] + q0[54] + q0[51] + q0[57]) / 4
    chin = q0[8]
    lower = (mouth + chin) / 2
    chin_drop = max(float(chin[1] - nose_base[1]), 0.4)  # nose→chin length
    jaw_corners = (q0[4] * 0.5 + q0[5] * 0.5, q0[12] * 0.5 + q0[11] * 0.5)

    def apply(q: np.ndarray) -> np.ndarray:
        if g.face_shrink:
            q = lens(q, (0.0, float(nose_base[1]) + 0.1), (1.7, 1.9), -g.face_shrink * s)
        if g.cranium:
            q = lens(q, (0.0, brow_y - 0.9), (1.6, 1.3), g.cranium * s)
        if g.eye_drop:
            q = shift(q, (0.0, 0.0), (1.5, 1.1), (0.0, g.eye_drop * s))
        for centre in eyes:
            if g.eye_scale:
                q = lens(q, centre, (0.62, 0.5), g.eye_scale * s)
        if g.nose_shrink:
            q = lens(q, (nose_tip + nose_base) / 2, (0.45, 0.4), -g.nose_shrink * s)
        if g.nose_lift:
            q = shift(q, nose_base, (0.5, 0.45), (0.0, -g.nose_lift * s))
        if g.mouth_scale:
            q = lens(q, mouth, MOUTH_R, g.mouth_scale * s)
        if g.cheek_puff:
            for side in (-1.0, 1.0):
                q = lens(q, (side * CHEEK_DX, float(nose_base[1]) + CHEEK_DY), CHEEK_R,
                         g.cheek_puff * s)
        if g.jaw_round:
            for corner in (jaw_corners[0], jaw_corners[1]):
                inward = -np.sign(corner[0])
                q = shift(q, corner, (0.5, 0.5), (inward * 0.5 * g.jaw_round * s,
                                                  -g.jaw_round * s))
        if g.jaw_pinch:
            q = lens(q, lower, (1.35, 1.0 * chin_drop + 0.3), -g.jaw_pinch * s)
        if g.chin_lift:
            # the reach never so short that the shift could fold (Lipschitz 1.54/1.7 < 1)
            reach = max(g.chin_reach * chin_drop, 1.7 * g.chin_lift * s)
            q = shift(q, chin, (1.5, reach), (0.0, -g.chin_lift * s))
        if g.face_scale:
            # last, so that the other operations shape the face at its own size; the core
            # holds the whole face (brows to chin, jaw ends) with a margin, the fade reaches
            # out to the skull's outline, which stays
            q = zoom(q, chin, FACE_ZOOM_R, -g.face_scale * s, FACE_ZOOM_CORE)
        return q

    def f(p: np.ndarray) -> np.ndarray:
        return frame.to_image(apply(frame.to_face(p)))

    return f


def border_fade(p: np.ndarray, size: tuple[int, int], margin: float) -> np.ndarray:
    """Weight in [0, 1]: 0 on the image border, 1 deeper than `margin` pixels inside. p: [N, 2]."""
    w, h = size
    dist = np.minimum.reduce([p[:, 0], p[:, 1], (w - 1) - p[:, 0], (h - 1) - p[:, 1]])
    t = np.clip(dist / max(margin, 1e-6), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def control_grid(size: tuple[int, int], step: float, avoid: np.ndarray, min_dist: float) -> np.ndarray:
    """Regular grid points strictly inside the image, minus those within `min_dist` of `avoid`."""
    w, h = size
    xs = np.arange(step, w - 1 - step / 2, step)
    ys = np.arange(step, h - 1 - step / 2, step)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    d = np.linalg.norm(grid[:, None, :] - np.asarray(avoid)[None], axis=2).min(1)
    return grid[d >= min_dist]


def exaggerate(points: np.ndarray, size: tuple[int, int], geometry: Geometry, strength: float = 1.0,
               grid_step: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moved landmarks and extra control points for the warp.

    points: [68, 2] pixels in an image of `size` = (width, height).
    Returns (dst_points [68, 2], extra_src [K, 2], extra_dst [K, 2]), float32.
    """
    pts = np.asarray(points, np.float64)
    f = face_map(pts, geometry, strength)
    step = grid_step or max(6.0, min(size) / 20)
    extra = control_grid(size, step, pts, min_dist=0.45 * step)
    margin = 0.08 * min(size)

    def moved(p: np.ndarray) -> np.ndarray:
        return p + (f(p) - p) * border_fade(p, size, margin)[:, None]

    dst = moved(pts)
    extra_dst = moved(extra)
    return dst.astype(np.float32), extra.astype(np.float32), extra_dst.astype(np.float32)


def folds_over(src: np.ndarray, dst: np.ndarray) -> bool:
    """True when some triangle of the Delaunay triangulation of `src` flips orientation in `dst`."""
    from scipy.spatial import Delaunay

    tri = Delaunay(src).simplices
    def signed(p):
        a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
        return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    s0, s1 = signed(np.asarray(src, np.float64)), signed(np.asarray(dst, np.float64))
    return bool(np.any(np.sign(s0) * np.sign(s1) <= 0))
