"""dlib face descriptor (identity) and the landmark preview drawing."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import NoFaceError
from emoget_cli.face import (SAME_PERSON_DISTANCE, align_face, detect_faces, draw_landmarks,
                             face_distance, face_embedding)


@pytest.fixture(scope="module")
def face(astronaut_rgb):
    return detect_faces(astronaut_rgb, backend="dlib")[0]


@pytest.fixture(scope="module")
def emb(astronaut_rgb, face):
    return face_embedding(astronaut_rgb, face.points)


def test_embedding_shape_and_self_consistency(astronaut_rgb, emb):
    assert emb.shape == (128,) and emb.dtype == np.float32
    assert 0.5 < np.linalg.norm(emb) < 1.5           # dlib descriptors are roughly unit length
    auto = face_embedding(astronaut_rgb)               # points found by detection
    assert face_distance(auto, emb) < 1e-5
    assert face_distance(emb, emb) == 0.0


def test_same_person_after_alignment_and_mirror(astronaut_rgb, face, emb):
    aligned, info = align_face(astronaut_rgb, face.points, size=256)
    d_aligned = face_distance(emb, face_embedding(aligned, info.points))
    mirrored = np.ascontiguousarray(astronaut_rgb[:, ::-1])
    d_mirror = face_distance(emb, face_embedding(mirrored))
    assert d_aligned < SAME_PERSON_DISTANCE and d_mirror < SAME_PERSON_DISTANCE


def test_different_face_is_far(astronaut_rgb, face, emb):
    """Swap the face for a heavily re-arranged one: eyes/mouth regions scrambled."""
    rng = np.random.default_rng(0)
    img = astronaut_rgb.copy()
    x0, y0, x1, y1 = (int(v) for v in face.box)
    patch = img[y0:y1, x0:x1]
    h, w = patch.shape[:2]
    tiles = [patch[i:i + h // 4, j:j + w // 4].copy() for i in range(0, h - h // 4 + 1, h // 4)
             for j in range(0, w - w // 4 + 1, w // 4)]
    order = rng.permutation(len(tiles))
    k = 0
    for i in range(0, h - h // 4 + 1, h // 4):
        for j in range(0, w - w // 4 + 1, w // 4):
            patch[i:i + h // 4, j:j + w // 4] = tiles[order[k]]
            k += 1
    assert face_distance(emb, face_embedding(img, face.points)) > SAME_PERSON_DISTANCE


def test_embedding_without_face_raises():
    with pytest.raises(NoFaceError):
        face_embedding(np.full((128, 128, 3), 90, np.uint8))
    with pytest.raises(NoFaceError):
        face_embedding(np.zeros((128, 128, 3), np.uint8), np.zeros((10, 2)))


def test_draw_landmarks_marks_points_only(astronaut_rgb, face):
    before = astronaut_rgb.copy()
    out = draw_landmarks(astronaut_rgb, [face])
    np.testing.assert_array_equal(astronaut_rgb, before)       # input untouched
    assert out.shape == astronaut_rgb.shape and out.dtype == np.uint8
    changed = np.any(out != astronaut_rgb, axis=2)
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = face.box
    assert changed.sum() > 200
    assert xs.min() >= min(x0, face.points[:, 0].min()) - 4 and xs.max() <= max(x1, face.points[:, 0].max()) + 4
    assert ys.min() >= min(y0, face.points[:, 1].min()) - 4 and ys.max() <= max(y1, face.points[:, 1].max()) + 4
    for x, y in face.points[[30, 36, 45, 48, 54]].astype(int):   # every point is drawn
        assert changed[y - 1:y + 2, x - 1:x + 2].any()
    plain = draw_landmarks(astronaut_rgb, [face.points])         # bare arrays: no box
    assert np.any(plain != astronaut_rgb)
