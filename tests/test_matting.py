"""head_alpha: GrabCut seeded by the landmarks cuts the astronaut's head out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from emoget_cli.core.errors import InputError, UsageError
from emoget_cli.render.matting import head_alpha


def _dlib_landmarks(rgb: np.ndarray) -> np.ndarray:
    """68 iBUG points of the largest face, float32 [68, 2], straight from dlib."""
    dlib = pytest.importorskip("dlib")
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        pytest.skip("face_recognition_models is not installed")
    models = Path(spec.submodule_search_locations[0]) / "models"
    model = models / "shape_predictor_68_face_landmarks.dat"
    faces = dlib.get_frontal_face_detector()(rgb, 1)
    box = max(faces, key=lambda r: r.area())
    shape = dlib.shape_predictor(str(model))(rgb, box)
    return np.array([[p.x, p.y] for p in shape.parts()], np.float32)


@pytest.fixture(scope="module")
def astro_points(astronaut_rgb):
    return _dlib_landmarks(astronaut_rgb)


@pytest.fixture(scope="module")
def astro_alpha(astronaut_rgb, astro_points):
    return head_alpha(astronaut_rgb, astro_points)


def _hull_mask(points: np.ndarray, shape, shrink: float) -> np.ndarray:
    import cv2

    c = points.mean(axis=0)
    hull = cv2.convexHull(points).reshape(-1, 2)
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(c + shrink * (hull - c)).astype(np.int32), 1)
    return mask.astype(bool)


def test_head_is_opaque_background_transparent(astronaut_rgb, astro_points, astro_alpha):
    alpha = astro_alpha
    assert alpha.shape == astronaut_rgb.shape[:2] and alpha.dtype == np.uint8
    centre = _hull_mask(astro_points, alpha.shape, 0.85)
    assert (alpha[centre] == 255).all()                     # the face centre is solid
    near_edge = _hull_mask(astro_points, alpha.shape, 0.9)
    assert alpha[near_edge].min() >= 200
    hull = _hull_mask(astro_points, alpha.shape, 1.0)       # jaw points sit on the contour:
    assert (alpha[hull] >= 128).mean() > 0.98               # only a feathered rim may fade
    for y, x in [(0, 0), (0, -1), (-1, 0), (-1, -1)]:
        assert alpha[y, x] == 0
    frac = (alpha > 127).mean()
    assert 0.04 < frac < 0.15, frac                          # a head, not the whole picture
    # GrabCut grows the cut beyond the landmarks: the hair over the forehead is kept...
    brow_top = astro_points[17:27, 1].min()
    hair = (int(brow_top - 0.4 * (astro_points[8, 1] - brow_top)), int(astro_points[27, 0]))
    assert alpha[hair] == 255
    # ...but not the flag (left), the shuttle model (right) or the space suit (below)
    assert alpha[60, 20] == 0 and alpha[100, 400] == 0 and alpha[300, 150] == 0


def test_edges_are_soft_but_thin(astro_alpha):
    soft = (astro_alpha > 0) & (astro_alpha < 255)
    assert soft.sum() > 100                                  # feathered, not a jagged cut
    assert soft.sum() < 0.5 * (astro_alpha == 255).sum()     # ...yet a thin band


def test_deterministic_and_scale_consistent(astronaut_rgb, astro_points, astro_alpha):
    import cv2

    assert np.array_equal(head_alpha(astronaut_rgb, astro_points), astro_alpha)
    # a 256x256 crop around the face (like an aligned face) gives the same cut-out
    x0, y0, s = 130, 10, 190
    crop = cv2.resize(astronaut_rgb[y0:y0 + s, x0:x0 + s], (256, 256), interpolation=cv2.INTER_AREA)
    pts = (astro_points - [x0, y0]) * 256 / s
    alpha = head_alpha(crop, pts.astype(np.float32))
    ref = cv2.resize(astro_alpha[y0:y0 + s, x0:x0 + s], (256, 256)) > 127
    iou = ((alpha > 127) & ref).sum() / ((alpha > 127) | ref).sum()
    assert iou > 0.85, iou
    assert alpha[0, 0] == 0 and alpha[0, -1] == 0


def test_bad_inputs(astronaut_rgb, astro_points):
    with pytest.raises(UsageError, match="68"):
        head_alpha(astronaut_rgb, astro_points[:5])
    with pytest.raises(UsageError, match="uint8"):
        head_alpha(astronaut_rgb.astype(np.float32), astro_points)
    with pytest.raises(InputError, match="outside"):
        head_alpha(astronaut_rgb, astro_points + 2000)
