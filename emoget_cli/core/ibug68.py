"""The iBUG-68 landmark scheme: named index groups and the measures built on them.

The one place that knows which index is which (0-based; Sagonas et al., "300 Faces in-the-Wild",
and dlib's `shape_predictor_68_face_landmarks`). Image-left points (small x on an upright face)
are the subject's right side. numpy only, so any layer may import it.
"""

from __future__ import annotations

import numpy as np

N_POINTS = 68

JAW = slice(0, 17)
BROW_RIGHT = slice(17, 22)  # subject's right = image left
BROW_LEFT = slice(22, 27)
BROWS = slice(17, 27)
NOSE_BRIDGE = slice(27, 31)
NOSE_BASE = slice(31, 36)
NOSE = slice(27, 36)
NOSE_LOWER = slice(30, 36)  # the tip and the nostrils
EYE_RIGHT = slice(36, 42)  # subject's right = image left
EYE_LEFT = slice(42, 48)
EYES = slice(36, 48)
LIPS_OUTER = slice(48, 60)
LIPS_INNER = slice(60, 68)
MOUTH = slice(48, 68)
LOWER_LIP_OUTER = slice(55, 60)  # outer lower lip between (not including) the corners
LOWER_LIP_INNER = slice(65, 68)
OUTLINE = slice(0, 27)  # jaw and brows: the outline of the face
INTERIOR = slice(17, 68)  # everything but the jaw

NOSE_TIP = 30
CHIN = 8
MOUTH_CORNERS = (48, 54)  # outer corners, image-left then image-right
INNER_MOUTH_CORNERS = (60, 64)

#: Index of each point's mirror image (left/right swap across the face's midline).
MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65])
MIDLINE = np.flatnonzero(MIRROR == np.arange(N_POINTS))

#: Upper/lower eyelid pairs per eye.
LIDS_RIGHT = ((37, 41), (38, 40))
LIDS_LEFT = ((43, 47), (44, 46))
#: Upper/lower inner-lip pairs, as used by the inner-lip distance.
INNER_LIPS = ((61, 67), (62, 66), (63, 65))


def indices(group: slice) -> np.ndarray:
    """The indices of a group as an int array."""
    return np.arange(N_POINTS)[group]


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image-left eye centre, image-right eye centre), each [2], from points [68, 2]."""
    p = np.asarray(points, dtype=np.float64)
    return p[EYE_RIGHT].mean(0), p[EYE_LEFT].mean(0)


def inter_ocular_distance(points: np.ndarray) -> float:
    """Distance between the two eye centres of points [68, 2] (the unit of every face measure)."""
    left, right = eye_centres(points)
    return float(np.linalg.norm(right - left))


def inner_lip_distance(points: np.ndarray) -> float:
    """Mean of |p62-p66|, |p61-p67|, |p63-p65|: the mouth opening of points [68, 2]."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.mean([np.linalg.norm(p[a] - p[b]) for a, b in INNER_LIPS]))


def eye_apertures(points: np.ndarray) -> tuple[float, float]:
    """(image-left eye, image-right eye) openings: mean upper-to-lower lid distance, pixels."""
    p = np.asarray(points, dtype=np.float64)

    def aperture(pairs: tuple[tuple[int, int], ...]) -> float:
        return float(np.mean([np.linalg.norm(p[a] - p[b]) for a, b in pairs]))

    return aperture(LIDS_RIGHT), aperture(LIDS_LEFT)
