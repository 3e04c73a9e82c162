"""FFHQ alignment on the astronaut: eyes level and where the FFHQ maths puts them."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.ibug68 import INTERIOR, eye_centres
from emoget_cli.face import align_face, detect_faces, ffhq_quad, quad_to_aligned

eyes = eye_centres


@pytest.fixture(scope="module")
def face(astronaut_rgb):
    return detect_faces(astronaut_rgb, backend="dlib")[0]


@pytest.fixture(scope="module")
def aligned256(astronaut_rgb, face):
    return align_face(astronaut_rgb, face.points, size=256)


def ffhq_expected_eyes(points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Where FFHQ puts the eyes, computed independently of align.py's similarity map:
    in the oriented frame (x = unit side vector, y = unit down vector, origin = quad centre c),
    a point p sits at ((p-c)·x̂, (p-c)·ŷ) / qsize · size + size/2."""
    lm = points.astype(np.float64)
    el, er = eye_centres(lm)
    ea = (el + er) / 2
    e2e, e2m = er - el, (lm[48] + lm[54]) / 2 - ea
    x = e2e - np.array([-e2m[1], e2m[0]])
    x /= np.linalg.norm(x)
    half = max(2.0 * np.linalg.norm(e2e), 1.8 * np.linalg.norm(e2m))
    y = np.array([-x[1], x[0]])
    c = ea + 0.1 * e2m
    to = lambda p: np.array([(p - c) @ x, (p - c) @ y]) / (2 * half) * size + size / 2 - 0.5
    return to(el), to(er)


def test_output_shape_and_record(aligned256, face):
    img, info = aligned256
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8
    assert info.size == 256 and info.quad.shape == (4, 2) and info.points.shape == (68, 2)
    np.testing.assert_allclose(info.quad, ffhq_quad(face.points), atol=1e-3)
    assert img.std() > 20  # a real picture, not a blank


def test_eyes_level_and_at_ffhq_positions(aligned256, face):
    img, info = aligned256
    want_l, want_r = ffhq_expected_eyes(face.points, 256)
    got_l, got_r = eyes(info.points)
    np.testing.assert_allclose(got_l, want_l, atol=0.05)
    np.testing.assert_allclose(got_r, want_r, atol=0.05)
    assert abs(got_l[1] - got_r[1]) < 0.02 * 256                       # level
    # canonical FFHQ layout: eyes a quarter of the width apart, just above the middle
    assert 0.2 * 256 < got_r[0] - got_l[0] < 0.3 * 256
    assert 0.40 * 256 < (got_l[1] + got_r[1]) / 2 < 0.52 * 256
    assert abs((got_l[0] + got_r[0]) / 2 - 128) < 0.04 * 256
    # re-detect on the aligned picture: the pixels really moved there
    again = detect_faces(img, backend="dlib")[0]
    for g, w in zip(eyes(again.points), (want_l, want_r)):
        assert np.hypot(*(g - w)) < 0.02 * 256


def test_aligned_points_follow_all_landmarks(aligned256):
    img, info = aligned256
    again = detect_faces(img, backend="dlib")[0]
    inner = INTERIOR  # the jaw line is the loosest part of a 68-point fit
    assert np.abs(again.points[inner] - info.points[inner]).mean() < 0.015 * 256


def test_rotated_face_comes_out_level(astronaut_rgb, face):
    from PIL import Image

    angle = 25.0
    rotated = np.asarray(Image.fromarray(astronaut_rgb).rotate(angle, Image.Resampling.BICUBIC,
                                                               center=(222, 126)))
    rface = detect_faces(rotated, backend="dlib")[0]
    el, er = eyes(rface.points)
    assert abs(np.degrees(np.arctan2(er[1] - el[1], er[0] - el[0]))) > 15  # tilted input
    img, info = align_face(rotated, rface.points, size=256)
    again = detect_faces(img, backend="dlib")[0]
    gl, gr = eyes(again.points)
    assert abs(np.degrees(np.arctan2(gr[1] - gl[1], gr[0] - gl[0]))) < 3.0


def test_padding_branch_near_border(astronaut_rgb, face):
    """Face at the picture's corner: the quad leaves the image, reflect-pad + blur fill it."""
    crop = np.ascontiguousarray(astronaut_rgb[60:, 160:])
    pts = face.points - np.array([160, 60], np.float32)
    padded, info = align_face(crop, pts, size=256)
    bare, _ = align_face(crop, pts, size=256, padding=False)
    corner = (slice(0, 40), slice(0, 40))
    assert bare[corner].max() < 10                 # without padding: black outside the picture
    assert padded[corner].mean() > 60              # with it: filled with picture colours
    want_l, want_r = ffhq_expected_eyes(pts, 256)
    again = detect_faces(padded, backend="dlib")[0]
    for g, w in zip(eyes(again.points), (want_l, want_r)):
        assert np.hypot(*(g - w)) < 0.02 * 256


def test_shrink_branch_matches_small_image(astronaut_rgb, face, aligned256):
    """A 4x larger photo takes the shrink path and gives the same aligned face."""
    from PIL import Image

    big = np.asarray(Image.fromarray(astronaut_rgb).resize((2048, 2048), Image.Resampling.BICUBIC))
    pts = (face.points + 0.5) * 4 - 0.5
    img, info = align_face(big, pts, size=128)
    small, _ = align_face(astronaut_rgb, face.points, size=128)
    assert np.abs(img.astype(int) - small.astype(int)).mean() < 6
    np.testing.assert_allclose(info.points, _.points, atol=0.05)


@pytest.mark.parametrize("size", [512])
def test_other_sizes_scale_points(astronaut_rgb, face, aligned256, size):
    img, info = align_face(astronaut_rgb, face.points, size=size)
    assert img.shape == (size, size, 3)
    np.testing.assert_allclose((info.points + 0.5) / size, (aligned256[1].points + 0.5) / 256, atol=1e-4)


def test_quad_to_aligned_maps_corners():
    quad = np.array([[10, 20], [10, 120], [110, 120], [110, 20]], np.float64)
    out = quad_to_aligned(quad, quad, 100)
    np.testing.assert_allclose(out, [[-0.5, -0.5], [-0.5, 99.5], [99.5, 99.5], [99.5, -0.5]], atol=1e-5)
