"""What a photo's face is already doing: its action-unit state, estimated from its landmarks.

An expressive photo (a smiling selfie) is not a neutral face. To *replace* its expression rather
than add to it, the motion code needs the units the photo shows: `estimate_units` fits the
calibrated FACS basis (facs.unit_field on the neutral reference) to the photo's shape, with
non-negative intensities, after removing pose and scale (a similarity Procrustes fit on the
points no unit moves much: eye corners and nose). The fit works on identity-robust measures
(brow height over the eyes, lid heights, lip-corner height over the lip line, mouth width and
opening, upper lip over the nose) rather than raw positions, so a long chin or a low mouth is not
read as a jaw drop or a frown; small values (below DEAD_ZONE) are identity, not expression, and
are dropped. The estimate is stored in the track (core.track `photo_units`).
"""

from __future__ import annotations

import numpy as np

from .facs import unit_field
from .geometry import FaceFrame, check_points
from .reference import NEUTRAL_REFERENCE

#: The units a photo may show that an animation can undo (closure units are left alone: a
#: photo with closed eyes keeps them unless the target opens them with its own units).
ESTIMATED_UNITS = ("1", "2", "4", "5", "6", "7", "10", "12", "15", "17", "20", "25", "26")
#: Estimated intensities below this are identity (brows that sit high, a wide mouth), not
#: expression; above it the estimate is shifted down by it, so the scale stays continuous.
DEAD_ZONE = 0.08
#: Ridge weight: with two units explaining one measure alike (6 and 7 both lift the lower lid),
#: the smaller total intensity wins.
RIDGE = 0.001
MAX_INTENSITY = 1.5
#: Points that no action unit moves much: the pose/scale (Procrustes) fit uses only these.
STABLE_POINTS = np.array([27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45])


def _measures(shape: np.ndarray) -> np.ndarray:
    """Identity-robust linear measures of face-unit shapes [..., 68, 2] → [..., M] (IOD).

    Each is a difference of coordinates, so it is linear in the shape and the measure of a
    displacement field is the change it causes.
    """
    x, y = shape[..., 0], shape[..., 1]

    def mean(a, idx):
        return a[..., list(idx)].mean(-1)

    lip_line = 0.5 * (mean(y, (61, 62, 63)) + mean(y, (65, 66, 67)))
    return np.stack([
        mean(y, (20, 21, 22, 23)) - mean(y, (39, 42)),          # inner brow height
        mean(y, (17, 18, 25, 26)) - mean(y, (36, 45)),          # outer brow height
        mean(x, (22, 23)) - mean(x, (20, 21)),                  # gap between the inner brows
        mean(y, (37, 38, 43, 44)) - mean(y, (36, 39, 42, 45)),  # upper lid over the eye line
        mean(y, (40, 41, 46, 47)) - mean(y, (36, 39, 42, 45)),  # lower lid over the eye line
        mean(y, (48, 54)) - lip_line,                           # lip corners over the lip line
        1.5 * (mean(y, (48, 54)) - y[..., 33]),                 # lip corners below the nose
        x[..., 54] - x[..., 48],                                # mouth width
        2.0 * (mean(y, (61, 62, 63)) - mean(y, (65, 66, 67))),  # mouth opening (inner lips)
        mean(y, (50, 51, 52)) - y[..., 33],                     # upper lip below the nose
        0.5 * (y[..., 57] - y[..., 33]),                        # lower lip below the nose
        0.5 * (y[..., 8] - y[..., 33]),                         # chin below the nose
    ], axis=-1)


#: The measure change of each unit at intensity 1: [K, M].
_BASIS = np.stack([_measures(unit_field(c, NEUTRAL_REFERENCE)) for c in ESTIMATED_UNITS])
_REFERENCE_MEASURES = _measures(NEUTRAL_REFERENCE)


def procrustes_to_reference(face: np.ndarray) -> np.ndarray:
    """Similarity-align face-unit points [68, 2] to the neutral reference on STABLE_POINTS."""
    src = face[STABLE_POINTS]
    dst = NEUTRAL_REFERENCE[STABLE_POINTS]
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sv, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, d]) @ vt
    scale = (sv * np.array([1.0, d])).sum() / max((a ** 2).sum(), 1e-12)
    return (face - mu_s) @ rot * scale + mu_d


def estimate_units(points: np.ndarray) -> dict[str, float]:
    """The action units a face shows: points [68, 2] (pixels, any pose) → {unit code:
    intensity in (0, MAX_INTENSITY]}, units below the dead zone left out."""
    from scipy.optimize import lsq_linear

    pts = check_points(points)
    face = procrustes_to_reference(FaceFrame.of(pts).to_face(pts))
    residual = _measures(face) - _REFERENCE_MEASURES                    # [M]
    k = len(ESTIMATED_UNITS)
    lhs = np.concatenate([_BASIS.T, np.sqrt(RIDGE) * np.eye(k)])        # [M + K, K]
    rhs = np.concatenate([residual, np.zeros(k)])
    fit = lsq_linear(lhs, rhs, bounds=(0.0, MAX_INTENSITY + DEAD_ZONE), method="bvls")
    out = {}
    for code, value in zip(ESTIMATED_UNITS, fit.x):
        value = float(value) - DEAD_ZONE
        if value > 0.0:
            out[code] = round(min(value, MAX_INTENSITY), 3)
    return out


def photo_neutral(points: np.ndarray, units: dict[str, float]) -> np.ndarray:
    """The photo's face with its estimated units undone: face units [68, 2] (the identity that
    expressions are applied to). points [68, 2] pixels."""
    pts = check_points(points)
    face = FaceFrame.of(pts).to_face(pts)
    for code, value in units.items():
        face = face - value * unit_field(code, face)
    return face
