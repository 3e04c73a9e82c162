"""Caricature: the face's own deviation from the mean face, exaggerated (docs/styles.md).

A caricaturist draws what makes a face *this* face larger than life. The classic computational
form (Brennan's caricature generator, 1985; used as the geometric half of CariGANs, Cao et al.
2018) works on landmarks: align a mean face shape to the face, take the difference, and scale
it: dst = mean + k · (face - mean). k = 1 is the face itself, k > 1 exaggerates, k < 1 moves
towards the average face.

Here the mean shape is MEAN_FACE (below), aligned to the face
by a least-squares similarity (Procrustes: rotation, uniform scale, translation), so the head's
pose and size are not "deviations". The landmark displacements are spread over the picture by
normalised Gaussian weights that fade to zero away from the face, and the image follows through
the animation's foldover-free piecewise-affine warp (the caller backs off k in the rare case a
triangle would flip).
"""

from __future__ import annotations

import numpy as np

from ..core.ibug68 import inter_ocular_distance
from .geometry import border_fade, control_grid

#: The mean face, iBUG-68 in face units (origin between the eye centres, IOD = 1, x right, y
#: up): the initial shape of dlib's 68-point shape predictor (the mean of the iBUG 300-W
#: training shapes it was fitted on, stored in `shape_predictor_68_face_landmarks.dat`), made
#: left/right symmetric. Not `motion.geometry.TEMPLATE`: that template is one real face (the
#: bundled sample), so the sample would deviate from it only by its smile.
MEAN_FACE = np.array([
    [-1.145, -0.016], [-1.137, -0.319], [-1.105, -0.621], [-1.042, -0.917], [-0.924, -1.192],
    [-0.743, -1.430], [-0.521, -1.629], [-0.277, -1.788], [0.000, -1.836], [0.277, -1.788],
    [0.521, -1.629], [0.743, -1.430], [0.924, -1.192], [1.042, -0.917], [1.105, -0.621],
    [1.137, -0.319], [1.145, -0.016], [-0.927, 0.205], [-0.785, 0.333], [-0.584, 0.371],
    [-0.377, 0.342], [-0.183, 0.261], [0.183, 0.261], [0.377, 0.342], [0.584, 0.371],
    [0.785, 0.333], [0.927, 0.205], [0.000, 0.024], [0.000, -0.172], [0.000, -0.365],
    [0.000, -0.564], [-0.232, -0.699], [-0.121, -0.740], [0.000, -0.775], [0.121, -0.740],
    [0.232, -0.699], [-0.696, -0.001], [-0.572, 0.070], [-0.424, 0.068], [-0.294, -0.030],
    [-0.433, -0.055], [-0.581, -0.053], [0.294, -0.030], [0.424, 0.068], [0.572, 0.070],
    [0.696, -0.001], [0.581, -0.053], [0.433, -0.055], [-0.445, -1.061], [-0.281, -0.995],
    [-0.116, -0.961], [0.000, -0.990], [0.116, -0.961], [0.281, -0.995], [0.445, -1.061],
    [0.287, -1.221], [0.125, -1.291], [0.000, -1.305], [-0.125, -1.291], [-0.287, -1.221],
    [-0.377, -1.069], [-0.117, -1.058], [0.000, -1.070], [0.117, -1.058], [0.377, -1.069],
    [0.119, -1.145], [0.000, -1.159], [-0.119, -1.145]], dtype=np.float64)


def fit_mean_shape(points: np.ndarray) -> np.ndarray:
    """The mean face (MEAN_FACE) aligned to `points` [68, 2] pixels by the least-squares
    similarity transform. Returns float64 [68, 2] pixels."""
    src = MEAN_FACE * np.array([1.0, -1.0])  # face units, y down like the image
    dst = np.asarray(points, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    # complex least squares: b ≈ z · a with z = s·e^{iθ}
    za = a[:, 0] + 1j * a[:, 1]
    zb = b[:, 0] + 1j * b[:, 1]
    z = (np.conj(za) @ zb) / (np.conj(za) @ za)
    fitted = z * za
    return np.stack([fitted.real, fitted.imag], 1) + mu_d


def deviation(points: np.ndarray) -> np.ndarray:
    """The face's deviation from the aligned mean face, [68, 2] pixels."""
    pts = np.asarray(points, np.float64)
    return pts - fit_mean_shape(pts)


def caricature_points(points: np.ndarray, size: tuple[int, int], factor: float,
                      grid_step: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exaggerate `points` [68, 2] by `factor` (k) and spread the move over the picture.

    size: (width, height). Returns (dst_points [68, 2], extra_src [K, 2], extra_dst [K, 2])
    float32, the same contract as `style.geometry.exaggerate`: the grid's control points move
    with the landmarks near the face, stay still far from it and on the border.
    """
    pts = np.asarray(points, np.float64)
    mean = fit_mean_shape(pts)
    move = (float(factor) - 1.0) * (pts - mean)  # [68, 2]
    iod = inter_ocular_distance(pts)
    step = grid_step or max(6.0, min(size) / 20)
    extra = control_grid(size, step, pts, min_dist=0.45 * step)
    # Shepard interpolation with a fade-out: sum(w_i d_i) / (sum(w_i) + floor), w Gaussian in
    # the distance to each landmark; the floor makes the field vanish far from the face
    sigma = 0.45 * iod
    d2 = ((extra[:, None, :] - pts[None]) ** 2).sum(2)
    w = np.exp(-d2 / (2 * sigma * sigma))
    field = (w @ move) / (w.sum(1, keepdims=True) + 0.25)
    margin = 0.08 * min(size)
    fade = border_fade(extra, size, margin)[:, None]
    extra_dst = extra + field * fade
    dst = pts + move * border_fade(pts, size, margin)[:, None]
    return dst.astype(np.float32), extra.astype(np.float32), extra_dst.astype(np.float32)
