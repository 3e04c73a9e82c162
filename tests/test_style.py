"""Classic style engine on the real astronaut: geometry is foldover-free, identity survives,
landmarks are moved consistently; style resolution; the gan engine's landmark fallback."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import DependencyError, NoFaceError, UsageError
from emoget_cli.core.ibug68 import EYE_LEFT, EYE_RIGHT, EYES, OUTLINE, inter_ocular_distance
from emoget_cli.style import CLASSIC_STYLES, resolve_style, stylize
from emoget_cli.style.geometry import exaggerate, folds_over, lens, shift

STYLES = ("baby", "cartoon", "painting")


@pytest.fixture(scope="module")
def aligned(astronaut_aligned):
    return astronaut_aligned


@pytest.fixture(scope="module")
def photo_embedding(aligned):
    from emoget_cli.face import face_embedding

    return face_embedding(aligned[0], aligned[1])


@pytest.fixture(scope="module")
def styled(aligned):
    rgb, pts = aligned
    return {s: stylize(rgb, pts, s) for s in STYLES}


def _eye_width(p):
    return np.linalg.norm(p[39] - p[36]) + np.linalg.norm(p[45] - p[42])


def _iod(p):
    return inter_ocular_distance(p)


def test_lens_and_shift_refuse_folding_parameters():
    q = np.random.default_rng(0).uniform(-2, 2, (500, 2))
    with pytest.raises(ValueError):
        lens(q, (0, 0), (1, 1), 1.5)
    with pytest.raises(ValueError):
        shift(q, (0, 0), (0.3, 0.3), (0, 0.5))
    # a strong but legal lens keeps the order of points along a ray (monotone radius)
    r = np.linspace(0, 2, 200)
    out = lens(np.stack([r, np.zeros_like(r)], 1), (0, 0), (1, 1), 1.2)
    assert np.all(np.diff(out[:, 0]) > 0)


@pytest.mark.parametrize("name", STYLES)
def test_geometry_is_foldover_free_and_keeps_the_border(aligned, name):
    _, pts = aligned
    for strength in (0.5, 1.0):
        dst, es, ed = exaggerate(pts, (256, 256), CLASSIC_STYLES[name].geometry, strength)
        assert not folds_over(np.concatenate([pts, es]), np.concatenate([dst, ed]))
        near_border = (np.minimum(es, 255 - es).min(1) < 2)
        assert np.allclose(es[near_border], ed[near_border], atol=0.5)
    dst, _, _ = exaggerate(pts, (256, 256), CLASSIC_STYLES[name].geometry, 0.0)
    np.testing.assert_allclose(dst, pts, atol=1e-4)


@pytest.mark.parametrize("name", STYLES)
def test_style_keeps_identity_and_changes_the_look(styled, aligned, photo_embedding, name):
    from emoget_cli.face import face_distance, face_embedding

    rgb, pts = aligned
    res = styled[name]
    assert res.image.shape == rgb.shape and res.image.dtype == np.uint8
    assert res.engine == "classic" and res.landmarks == "moved"
    assert res.points.shape == (68, 2) and res.points.dtype == np.float32
    dist = face_distance(photo_embedding, face_embedding(res.image, res.points))
    assert dist < 0.6, f"{name}: identity distance {dist:.3f}"
    assert np.abs(res.image.astype(int) - rgb).mean() > 4  # it visibly changed


def test_baby_and_cartoon_enlarge_the_eyes_and_shorten_the_lower_face(styled, aligned):
    _, pts = aligned
    for name in ("baby", "cartoon"):
        p = styled[name].points
        if name == "baby":  # the baby's whole face is smaller on a bigger head: eyes against
            # the face's width
            face = lambda q: np.linalg.norm(q[16] - q[0])  # noqa: E731
            assert _eye_width(p) / face(p) > 1.2 * _eye_width(pts) / face(pts), name
        else:
            assert _eye_width(p) > 1.2 * _eye_width(pts), name
        # chin closer to the eyes, relative to the eye distance
        eyes = lambda q: (q[EYES].mean(0))  # noqa: E731
        assert (p[8, 1] - eyes(p)[1]) / _iod(p) < 0.97 * (pts[8, 1] - eyes(pts)[1]) / _iod(pts), name
    assert np.linalg.norm(styled["baby"].points[33] - styled["baby"].points[27]) < \
        np.linalg.norm(pts[33] - pts[27])  # shorter nose


def test_moved_landmarks_match_the_styled_face(styled):
    """The detector, run on the painting, finds the landmarks where the engine says they are."""
    from emoget_cli.face import detect_faces

    res = styled["painting"]
    found = detect_faces(res.image, backend="dlib")[0].points
    assert np.linalg.norm(found - res.points, axis=1).mean() < 0.15 * _iod(res.points)


def test_cartoon_is_flat_with_dark_outlines(styled, aligned):
    """Cel shading reduces the number of distinct colours; ink lines add near-black pixels."""
    rgb = aligned[0]
    img = styled["cartoon"].image
    def n_colours(a):
        return len(np.unique((a // 8).reshape(-1, 3), axis=0))
    assert n_colours(img) < 0.6 * n_colours(rgb)

    def dark_fraction(a, pts):  # near-black pixels on and around the face
        import cv2

        mask = np.zeros(a.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.asarray(pts[OUTLINE], np.int32)), 1)
        mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))
        return (a.max(2)[mask > 0] < 70).mean()
    assert dark_fraction(img, styled["cartoon"].points) > 1.3 * dark_fraction(rgb, aligned[1])


def test_strength_zero_is_identity_and_none_style(aligned):
    rgb, pts = aligned
    res = stylize(rgb, pts, "cartoon", strength=0.0)
    np.testing.assert_array_equal(res.image, rgb)
    np.testing.assert_allclose(res.points, pts)
    plain = stylize(rgb, pts, "none")  # the aligned photo itself, landmarks unmoved
    np.testing.assert_array_equal(plain.image, rgb)
    np.testing.assert_allclose(plain.points, pts)
    assert plain.engine == "classic" and plain.landmarks == "moved"
    with pytest.raises(UsageError):
        stylize(rgb, pts, "cartoon", strength=1.5)


def test_resolve_style_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOGET_WEIGHTS_DIR", str(tmp_path))
    assert resolve_style("baby").engine == "classic"
    with pytest.raises(UsageError, match="unknown style 'nope'.*baby"):
        resolve_style("nope")
    with pytest.raises(UsageError):
        resolve_style("baby", engine="warp")
    with pytest.raises(DependencyError, match="no generator checkpoint"):
        resolve_style("baby", engine="gan")
    with pytest.raises(DependencyError, match="not found"):
        resolve_style("baby", generator=tmp_path / "missing.pt")
    with pytest.raises(UsageError):
        resolve_style("baby", engine="classic", generator=tmp_path / "x.pt")


def test_gan_landmark_choice_falls_back_to_the_photo(aligned):
    from emoget_cli.style.gan_engine import choose_landmarks

    rgb, pts = aligned

    def none(_):
        raise NoFaceError("no face")

    p, src, why = choose_landmarks(rgb, pts, detect=none)
    assert src == "photo" and np.array_equal(p, pts) and "no face" in why
    p, src, why = choose_landmarks(rgb, pts, detect=lambda _: pts + 0.4 * _iod(pts))
    assert src == "photo" and "disagree" in why
    p, src, _ = choose_landmarks(rgb, pts, detect=lambda _: pts + 1.0)
    assert src == "detected" and np.allclose(p, pts + 1.0)
    # the real detector on the real aligned photo agrees with itself
    p, src, _ = choose_landmarks(rgb, pts)
    assert src == "detected"


def test_strength_scales_the_exaggeration(aligned, styled):
    rgb, pts = aligned
    half = stylize(rgb, pts, "cartoon", strength=0.5)
    w0, w5, w1 = _eye_width(pts), _eye_width(half.points), _eye_width(styled["cartoon"].points)
    assert w0 < w5 < w1
    # the filter is blended too: half strength stays closer to the photo
    d5 = np.abs(half.image.astype(int) - rgb).mean()
    d1 = np.abs(styled["cartoon"].image.astype(int) - rgb).mean()
    assert d5 < d1


def test_cartoon_eyes_have_catch_lights(styled, aligned):
    """Each eye opening gets brighter highlights (white sclera, catch-light) than the photo's."""
    def brightest(img, pts, sl):
        x0, y0 = np.floor(pts[sl].min(0)).astype(int)
        x1, y1 = np.ceil(pts[sl].max(0)).astype(int)
        return img[y0:y1 + 1, x0:x1 + 1].astype(int).min(2).max()

    res = styled["cartoon"]
    for sl in (EYE_RIGHT, EYE_LEFT):
        photo = brightest(aligned[0], aligned[1], sl)
        assert brightest(res.image, res.points, sl) > max(200, photo + 15)
