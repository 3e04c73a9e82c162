"""Synthetic landmark tracks from the FACS library: training data for tests and benchmarks.

Identities vary (per-point shape jitter, mouth and eye openings, size, roll, position), tracks
carry small per-frame tracker noise and a random overall intensity.
"""

from __future__ import annotations

import numpy as np

from ..core.ibug68 import inter_ocular_distance
from ..core.track import LandmarkTrack
from .generate import MotionConfig, generate_motion
from .geometry import INNER_LIPS, LIDS_LEFT, LIDS_RIGHT, MIRROR
from .reference import NEUTRAL_REFERENCE


def random_face(rng: np.random.Generator, image_size: int = 256) -> np.ndarray:
    """A plausible neutral face: the neutral reference with identity jitter, rescaled, rotated,
    shifted. Returns float32 [68, 2] pixels inside an image_size² frame."""
    face = NEUTRAL_REFERENCE.copy()
    jitter = rng.normal(0.0, 0.02, face.shape)
    jitter = 0.5 * (jitter + jitter[MIRROR] * np.array([-1.0, 1.0]))  # mostly symmetric faces
    face += jitter + rng.normal(0.0, 0.005, face.shape)
    face[:, 0] *= rng.uniform(0.9, 1.1)  # wider / narrower faces
    opening = rng.uniform(0.0, 0.12)  # some faces rest with parted lips
    for upper, lower in INNER_LIPS:
        face[lower, 1] = min(face[lower, 1], face[upper, 1]) - opening
    for upper, lower in LIDS_RIGHT + LIDS_LEFT:
        mid = 0.5 * (face[upper, 1] + face[lower, 1])
        face[[upper, lower], 1] = mid + (face[[upper, lower], 1] - mid) * rng.uniform(0.8, 1.2)
    iod = rng.uniform(0.18, 0.34) * image_size
    angle = np.radians(rng.uniform(-12.0, 12.0))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = image_size * np.array([0.5, 0.42]) + rng.uniform(-0.05, 0.05, 2) * image_size
    pts = centre + iod * (face * np.array([1.0, -1.0])) @ rot.T
    return pts.astype(np.float32)


def synthesize_tracks(classes: list[str], per_class: int, *, frames: int = 24, seed: int = 0,
                      noise: float = 0.004, image_size: int = 256) -> list[LandmarkTrack]:
    """`per_class` labelled tracks per expression, each [frames, 68, 2] in pixels, with
    per-frame Gaussian noise of `noise`·IOD (frame 0 kept clean: it is the neutral face)."""
    rng = np.random.default_rng(seed)
    tracks = []
    for name in classes:
        for _ in range(per_class):
            l0 = random_face(rng, image_size)
            config = MotionConfig(frames=frames, intensity=float(rng.uniform(0.85, 1.0)),
                                  seed=int(rng.integers(1 << 30)), head="none", replace=False)
            pts = generate_motion(l0, name, config).astype(np.float64)
            iod = inter_ocular_distance(l0)
            pts[1:] += rng.normal(0.0, noise * iod, pts[1:].shape)
            tracks.append(LandmarkTrack.from_points(pts.astype(np.float32), (image_size, image_size),
                                                    fps=config.fps, label=name,
                                                    source="synthetic", meta={"generator": "facs"}))
    return tracks
