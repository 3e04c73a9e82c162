"""Caricature: the face's own deviation from the mean face, exaggerated (docs/styles.md).

A caricaturist draws what makes a face *this* face larger than life. The classic computational
form (Brennan's caricature generator, 1985; used as the geometric half of CariGANs, Cao et al.
2018) works on landmarks: align a mean face shape to the face, take the difference, and scale
it: dst = mean + k · (face - mean). k = 1 is the face itself, k > 1 exaggerates, k < 1 moves
towards the average face.

Here the mean shape is MEAN_FACE (below), aligned to the face by the similarity (rotation,
uniform scale, translation) that puts its two eye centres on the face's: the head's pose and size
are not "deviations", but everything measured against the eyes is -- the face's width and
length, the jaw's width, the eyes' spacing and size, the nose's length, the mouth's width, the
brows' height. (A least-squares fit over all 68 points would absorb part of those proportions
into its scale: on the sample face it leaves a deviation of 0.049 IOD per landmark against
0.077 IOD measured from the eyes.) The landmark displacements are spread over the picture by
normalised Gaussian weights; away from the landmarks the head (forehead, cranium, hair, ears)
narrows or widens with the face's sides (the temples' and cheeks' moves), fading out beyond the
head; the image follows through the animation's foldover-free
piecewise-affine warp (the caller backs off k in the rare case a triangle would flip).
"""

from __future__ import annotations

import numpy as np

from ..core.ibug68 import EYE_LEFT, EYE_RIGHT, inter_ocular_distance
from .geometry import FaceFrame, border_fade, control_grid

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
    """The mean face (MEAN_FACE) aligned to `points` [68, 2] pixels by the similarity transform
    that maps its eye centres onto the face's. Returns float64 [68, 2] pixels."""
    src = MEAN_FACE * np.array([1.0, -1.0])  # face units, y down like the image
    dst = np.asarray(points, np.float64)

    def eyes(q):  # the two eye centres as complex numbers
        return [complex(*q[group].mean(axis=0)) for group in (EYE_RIGHT, EYE_LEFT)]

    (s0, s1), (d0, d1) = eyes(src), eyes(dst)
    z = (d1 - d0) / (s1 - s0)           # rotation and scale, z = s·e^{iθ}
    fitted = d0 + z * (src @ np.array([1.0, 1j]) - s0)
    return np.stack([fitted.real, fitted.imag], 1)


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
    # near the landmarks, Shepard interpolation sum(w_i d_i) / sum(w_i), w Gaussian in the
    # distance to each landmark; away from them (weight sum small against the floor) the
    # head's own move: the outline's deviation as one affine map, faded out beyond the head
    sigma = 0.35 * iod
    d2 = ((extra[:, None, :] - pts[None]) ** 2).sum(2)
    w = np.exp(-d2 / (2 * sigma * sigma))
    total = w.sum(1, keepdims=True)
    near = (w @ move) / np.maximum(total, 1e-12)
    lam = total / (total + 0.25)
    field = lam * near + (1.0 - lam) * head_move(pts, move, extra)
    margin = 0.08 * min(size)
    fade = border_fade(extra, size, margin)[:, None]
    extra_dst = extra + field * fade
    dst = pts + move * border_fade(pts, size, margin)[:, None]
    return dst.astype(np.float32), extra.astype(np.float32), extra_dst.astype(np.float32)


#: The head around the face, in face units (origin between the eyes, IOD = 1, y down): an
#: ellipse over the cranium, hair and ears, where the head moves as a whole; the move fades
#: out between HEAD_FADE and 1 + HEAD_FADE times its radius.
HEAD_CENTRE, HEAD_HALF_AXES, HEAD_FADE = (0.0, -0.2), (1.9, 2.4), 0.5


def head_move(points: np.ndarray, move: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The head's coherent move at pixels `at` [K, 2]: the head narrows or widens with the
    face's sides (the least-squares horizontal scale, about the face's midline, of the moves of
    the temples and cheeks, jaw landmarks 0-4 and 12-16), weighted by a window that is 1 over
    the head and fades smoothly to 0 outside it. The cranium keeps its height: moving the
    hairline with the brows would draw a low forehead the face does not have.
    points, move: [68, 2] pixels. Returns [K, 2] pixels."""
    pts = np.asarray(points, np.float64)
    frame = FaceFrame(pts)
    sides = np.r_[0:5, 12:17]
    x = frame.to_face(pts[sides])[:, 0]
    dx = (np.asarray(move, np.float64)[sides] @ frame.axes[0]) / frame.iod
    scale = float((x * dx).sum() / max((x * x).sum(), 1e-9))
    q = frame.to_face(at)
    r = np.hypot((q[:, 0] - HEAD_CENTRE[0]) / HEAD_HALF_AXES[0],
                 (q[:, 1] - HEAD_CENTRE[1]) / HEAD_HALF_AXES[1])
    t = np.clip((1.0 + HEAD_FADE - r) / HEAD_FADE, 0.0, 1.0)
    shift = scale * q[:, 0] * (t * t * (3 - 2 * t))          # face units, along the eye line
    return shift[:, None] * frame.iod * frame.axes[0][None]
