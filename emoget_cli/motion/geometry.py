"""Face geometry shared by the motion code: the face-aligned frame, measures, a template shape.

The face frame: origin at the midpoint of the two eye centres, unit length = inter-ocular
distance (IOD = |c(36..41) - c(42..47)|), x toward the image-right eye, y toward the forehead
(up). Displacements defined in this frame rotate with the face's roll and scale with its size.
Indices are iBUG-68, 0-based; image-left points (small x on an upright face) are the subject's
right side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import TrackError
from ..core.ibug68 import (  # noqa: F401  (re-exported: the motion code's vocabulary)
    INNER_LIPS, LIDS_LEFT, LIDS_RIGHT, MIDLINE, MIRROR, N_POINTS, eye_apertures, eye_centres,
    inner_lip_distance, inter_ocular_distance)

# Canonical neutral iBUG-68 shape in face units (x right, y up, IOD = 1): a real dlib 68-point
# detection (skimage's astronaut portrait), made left/right symmetric, with the lips closed.
TEMPLATE = np.array([
    [-1.072, -0.072], [-1.037, -0.348], [-1.003, -0.602], [-0.957, -0.879], [-0.865, -1.134],
    [-0.715, -1.353], [-0.496, -1.537], [-0.265, -1.7], [0.0, -1.735], [0.265, -1.7],
    [0.496, -1.537], [0.715, -1.353], [0.865, -1.134], [0.957, -0.879], [1.003, -0.602],
    [1.037, -0.348], [1.072, -0.072], [-0.912, 0.147], [-0.784, 0.297], [-0.601, 0.32],
    [-0.415, 0.297], [-0.231, 0.239], [0.231, 0.239], [0.415, 0.297], [0.601, 0.32],
    [0.784, 0.297], [0.912, 0.147], [0.0, 0.021], [0.0, -0.188], [0.0, -0.371], [0.0, -0.555],
    [-0.231, -0.66], [-0.115, -0.695], [0.0, -0.718], [0.115, -0.695], [0.231, -0.66],
    [-0.693, -0.004], [-0.576, 0.088], [-0.415, 0.088], [-0.289, -0.05], [-0.439, -0.061],
    [-0.588, -0.062], [0.289, -0.05], [0.415, 0.088], [0.576, 0.088], [0.693, -0.004],
    [0.588, -0.062], [0.439, -0.061], [-0.519, -0.856], [-0.334, -0.845], [-0.139, -0.844],
    [0.0, -0.879], [0.139, -0.844], [0.334, -0.845], [0.519, -0.856], [0.346, -1.098],
    [0.149, -1.203], [0.0, -1.226], [-0.149, -1.203], [-0.346, -1.098], [-0.449, -0.891],
    [-0.138, -1.001], [0.0, -1.024], [0.138, -1.001], [0.449, -0.891], [0.138, -1.011],
    [0.0, -1.034], [-0.138, -1.011]], dtype=np.float64)


#: dlib's 68-point detection on the bundled sample face (assets/sample_face.jpg =
#: skimage.data.astronaut(), 512²): real landmarks, lips slightly parted, ~3.5° roll. Pixels.
SAMPLE_FACE_POINTS = np.array([
    [179, 104], [180, 116], [181, 127], [182, 139], [185, 150], [191, 160], [200, 168], [209, 176],
    [220, 178], [232, 177], [243, 171], [253, 163], [260, 154], [265, 143], [268, 131], [270, 120],
    [272, 108], [186, 94], [192, 88], [200, 87], [208, 89], [216, 92], [236, 93], [244, 91],
    [252, 91], [260, 92], [265, 99], [226, 102], [225, 111], [225, 119], [225, 127], [214, 131],
    [219, 133], [224, 134], [229, 133], [234, 132], [195, 101], [200, 98], [207, 98], [212, 104],
    [206, 104], [199, 104], [237, 106], [243, 100], [250, 100], [255, 105], [250, 107], [244, 107],
    [201, 139], [209, 139], [218, 139], [224, 141], [230, 140], [238, 140], [246, 141], [238, 151],
    [229, 155], [222, 156], [216, 155], [208, 150], [204, 141], [218, 143], [223, 144], [230, 143],
    [243, 142], [229, 150], [223, 151], [217, 150]], dtype=np.float32)


def template_points(size: int = 256, *, iod_fraction: float = 0.3) -> np.ndarray:
    """The template as pixels of a `size`² image, face centred, IOD = iod_fraction·size.

    Returns float32 [68, 2] (x right, y down).
    """
    iod = iod_fraction * size
    centre = np.array([size / 2.0, size * 0.42])
    pts = centre + iod * TEMPLATE * np.array([1.0, -1.0])
    return pts.astype(np.float32)


def check_points(points: np.ndarray, what: str = "landmarks") -> np.ndarray:
    """Validate [68, 2] finite points with a usable eye distance; returns float64 [68, 2]."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.shape != (N_POINTS, 2):
        raise TrackError(f"{what}: expected {N_POINTS} [x, y] points, got shape {list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise TrackError(f"{what}: points contain NaN or infinity")
    if inter_ocular_distance(arr) < 1e-3:
        raise TrackError(f"{what}: the two eyes coincide (degenerate landmarks)")
    return arr






@dataclass(frozen=True)
class FaceFrame:
    """Similarity frame of a face: pixel = origin + iod · (x·u + y·up)."""

    origin: np.ndarray  # [2] pixels
    u: np.ndarray  # [2] unit vector toward the image-right eye
    up: np.ndarray  # [2] unit vector toward the forehead (y up in face units)
    iod: float  # pixels

    @classmethod
    def of(cls, points: np.ndarray) -> "FaceFrame":
        left, right = eye_centres(points)
        iod = float(np.linalg.norm(right - left))
        u = (right - left) / iod
        up = np.array([u[1], -u[0]])  # image y points down, so "up" is u turned by -90°
        return cls((left + right) / 2.0, u, up, iod)

    @property
    def basis(self) -> np.ndarray:
        """[2, 2] rows u and up: face = basis @ (pixel - origin) / iod."""
        return np.stack([self.u, self.up])

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """pixels [..., 2] → face units [..., 2]."""
        return (np.asarray(points, dtype=np.float64) - self.origin) @ self.basis.T / self.iod

    def vectors_to_pixels(self, vectors: np.ndarray) -> np.ndarray:
        """face-unit displacement vectors [..., 2] → pixel displacements [..., 2]."""
        return self.iod * (np.asarray(vectors, dtype=np.float64) @ self.basis)

    def to_pixels(self, face_points: np.ndarray) -> np.ndarray:
        return self.origin + self.vectors_to_pixels(face_points)
