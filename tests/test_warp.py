"""Foldover-free piecewise-affine warping and mouth/eyelid synthesis (render.warp, render.fill)."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import UsageError
from emoget_cli.core.ibug68 import (EYE_RIGHT, LIPS_INNER, LIPS_OUTER, LOWER_LIP_INNER, LOWER_LIP_OUTER,
                                   N_POINTS, inter_ocular_distance)
from emoget_cli.motion import MotionConfig, generate_motion
from emoget_cli.render.fill import eye_aperture, mouth_opening
from emoget_cli.render.warp import (MIN_AREA_RATIO, FaceWarper, check_foldover, limit_mesh,
                                    min_area_ratio, signed_areas, warp_image)


@pytest.fixture(scope="module")
def face(astronaut_aligned):
    """The astronaut, FFHQ-aligned to 256 px, with its 68 landmarks in aligned pixels (float32)."""
    rgb, points = astronaut_aligned
    return rgb, points.astype(np.float32)


def _iod(pts):
    return inter_ocular_distance(pts)


def _border(img):
    return np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])


def _wild_targets(pts, seed):
    """Large random displacements (a few IOD/3) that would fold a naive mesh."""
    rng = np.random.default_rng(seed)
    return pts + rng.normal(0, 0.35 * _iod(pts), size=pts.shape).astype(np.float32)


def test_identity_warp_is_exact(face):
    img, pts = face
    out = warp_image(img, pts, pts)
    assert np.array_equal(out, img)


def test_random_displacements_never_fold_and_keep_border(face):
    img, pts = face
    warper = FaceWarper(img, pts)
    tris, src = warper.triangles, warper.mesh.src
    assert (signed_areas(tris, src) > 0).all()
    for seed in range(6):
        frame = warper.render_frame(_wild_targets(pts, seed))
        assert not check_foldover(tris, frame.mesh)
        assert min_area_ratio(tris, src, frame.mesh) >= MIN_AREA_RATIO - 1e-6
        assert np.array_equal(_border(frame.rgb), _border(img))
        assert not np.array_equal(frame.rgb, img)


def test_limit_mesh_only_touches_the_fold():
    # a square split into two triangles; pushing the shared corner across the diagonal folds it
    src = np.array([[0, 0], [10, 0], [10, 10], [0, 10], [20, 0], [20, 10]], np.float64)
    tris = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 2]])
    tris = np.where((signed_areas(tris, src) < 0)[:, None], tris[:, [0, 2, 1]], tris)
    dst = src.copy()
    dst[2] = [-5, -5]         # folds both triangles around point 2
    assert check_foldover(tris, dst)
    out = limit_mesh(tris, src, dst)
    assert not check_foldover(tris, out)
    assert min_area_ratio(tris, src, out) >= MIN_AREA_RATIO - 1e-6
    assert np.allclose(out[[0, 1, 3, 4, 5]], src[[0, 1, 3, 4, 5]])
    assert np.linalg.norm(out[2] - src[2]) > 1.0   # moved part of the way, not frozen


def test_limited_motion_stops_at_the_limit_without_jumping_back():
    """A point pushed further and further across a fold must stop near the limit and stay
    there: a fixed shrink factor used to throw it back by a fifth of its path or more from one
    frame to the next (a visible jerk wherever the limit engages, e.g. surprise's jaw)."""
    src = np.array([[0, 0], [10, 0], [10, 10], [0, 10], [20, 0], [20, 10]], np.float64)
    tris = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 2]])
    tris = np.where((signed_areas(tris, src) < 0)[:, None], tris[:, [0, 2, 1]], tris)
    path = [src[2] + f * np.array([-15.0, -15.0]) for f in np.linspace(0.0, 1.0, 41)]
    reached = []
    for target in path:
        dst = src.copy()
        dst[2] = target
        out = limit_mesh(tris, src, dst)
        assert min_area_ratio(tris, src, out) >= MIN_AREA_RATIO - 1e-6
        reached.append(out[2])
    moved = np.linalg.norm(np.array(reached) - src[2], axis=1)
    assert np.all(np.diff(moved) >= -1e-3)                 # never jumps back
    assert np.abs(np.diff(moved)).max() <= 15.0 * np.sqrt(2) / 40 + 1e-6   # nor ahead
    assert min_area_ratio(tris, src, out) < 2 * MIN_AREA_RATIO   # it stops AT the limit


def test_expression_motion_survives_the_limiter(face):
    """On the aligned astronaut (chin 20 px above the bottom edge) surprise's jaw drop has to be
    limited; FaceWarper.limit_motion scales it alike in every frame, so the limited motion is
    no jerkier than the FACS motion (per-frame limiting stopped the chin dead, a jerk of 2x the
    motion's), still opens the mouth, needs no further limiting, and keeps the collar below
    the chin visible instead of squashing it into a seam along the border."""
    img, pts = face
    warper = FaceWarper(img, pts)
    for expr in ("surprise", "wink", "happiness"):
        motion = generate_motion(pts, expr, MotionConfig(frames=24))
        limited = warper.limit_motion(motion)
        assert np.array_equal(limited[0], pts)
        jerk = np.abs(np.diff(limited, 2, axis=0)).max()
        assert jerk <= np.abs(np.diff(motion, 2, axis=0)).max() + 1e-3, expr
        for dst in limited:
            assert np.abs(warper.mesh_points(dst)[:N_POINTS] - dst).max() < 0.6, expr
        if expr == "surprise":
            assert max(mouth_opening(p) for p in limited) >= 2.0 * mouth_opening(pts)
            gap = img.shape[0] - 1 - limited[:, 8, 1].max()       # chin to the bottom row
            assert gap >= 0.3 * (img.shape[0] - 1 - pts[8, 1])


def test_landmarks_reach_their_targets_and_pixels_follow(face):
    img, pts = face
    dst = pts + np.array([4.0, 0.0], np.float32)     # the whole face slides 4 px right
    warper = FaceWarper(img, pts, fill=False)
    frame = warper.render_frame(dst)
    assert np.allclose(frame.mesh[:N_POINTS], dst, atol=1e-3)
    x0, y0 = pts[30].astype(int) - 10                 # around the nose tip
    region_src = img[y0:y0 + 20, x0:x0 + 20].astype(float)
    moved = frame.rgb[y0:y0 + 20, x0 + 4:x0 + 24].astype(float)
    still = frame.rgb[y0:y0 + 20, x0:x0 + 20].astype(float)
    assert np.abs(moved - region_src).mean() < 0.25 * np.abs(still - region_src).mean()


def test_extra_control_points_move(face):
    img, pts = face
    extra = np.array([[128.0, 40.0]], np.float32)    # a point in the hair
    out_pinned = warp_image(img, pts, pts, extra_src=extra)
    out_moved = warp_image(img, pts, pts, extra_src=extra, extra_dst=extra + [0, 8])
    assert np.array_equal(out_pinned, img)
    # the caller's points define the field: no automatic forehead points / zero-motion ring
    with_extra = FaceWarper(img, pts, extra_src=extra).mesh
    auto = FaceWarper(img, pts).mesh
    assert with_extra.n_extra == 1 and with_extra.n_forehead == 0 and auto.n_forehead == 6
    assert len(with_extra.src) < len(auto.src)
    assert np.abs(out_moved[30:60, 110:146].astype(int) - img[30:60, 110:146]).mean() > 1.0
    assert np.array_equal(_border(out_moved), _border(img))


def test_torch_backend_matches_opencv(face):
    img, pts = face
    dst = _wild_targets(pts, 7)
    a = FaceWarper(img, pts, backend="opencv", fill=False).render(dst)
    b = FaceWarper(img, pts, backend="torch", device="cpu", fill=False).render(dst)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.mean() < 0.05 and diff.max() <= 2
    assert np.array_equal(_border(b), _border(img))


def _open_mouth(pts, amount):
    dst = pts.copy()
    drop = np.array([0.0, amount * _iod(pts)], np.float32)
    dst[[6, 7, 8, 9, 10]] += drop * 0.8
    dst[LOWER_LIP_OUTER] += drop
    dst[LOWER_LIP_INNER] += drop
    return dst


def test_opening_mouth_shows_a_dark_cavity_not_stretched_lips(face):
    import cv2

    img, pts = face
    dst = _open_mouth(pts, 0.5)
    plain = FaceWarper(img, pts, fill=False).render_frame(dst)
    filled = FaceWarper(img, pts, fill=True).render_frame(dst)
    assert mouth_opening(filled.mesh[:N_POINTS]) > mouth_opening(pts) + 0.3 * _iod(pts)
    inner = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(filled.mesh[LIPS_INNER]).astype(np.int32)], 1)
    lum_plain = plain.rgb.mean(2)[inner > 0]
    lum_fill = filled.rgb.mean(2)[inner > 0]
    assert lum_fill.mean() < lum_plain.mean() - 30          # a dark cavity …
    lower_half = inner.copy()
    lower_half[: int(filled.mesh[[61, 62, 63], 1].mean() + 0.4 * (
        filled.mesh[[65, 66, 67], 1].mean() - filled.mesh[[61, 62, 63], 1].mean()))] = 0
    assert filled.rgb.mean(2)[lower_half > 0].mean() < 70    # … dark at the bottom
    assert np.percentile(lum_fill, 97) > 170                 # … with a light band of teeth
    lips = np.zeros_like(inner)
    cv2.fillPoly(lips, [np.round(filled.mesh[LIPS_OUTER]).astype(np.int32)], 1)
    outside = 1 - cv2.dilate(lips, np.ones((5, 5), np.uint8))   # beyond the feathered edge
    assert np.array_equal(filled.rgb[outside > 0], plain.rgb[outside > 0])


def test_slightly_wider_open_mouth_keeps_its_own_teeth(face):
    """The astronaut smiles with her teeth showing: widening that gap by half (disgust's upper
    lip raise, a broader smile) must stretch her own teeth, not blend a half-transparent
    synthetic cavity over them (grey, murky teeth)."""
    img, pts = face
    own = mouth_opening(pts)
    assert own > 0.1 * _iod(pts)                            # the source mouth is open
    dst = _open_mouth(pts, 0.45 * own / _iod(pts))
    assert mouth_opening(dst) > 1.4 * own
    plain = FaceWarper(img, pts, fill=False).render(dst)
    filled = FaceWarper(img, pts, fill=True).render(dst)
    assert np.array_equal(filled, plain)


def test_half_opened_cavity_grows_from_the_bottom(face):
    """Between 'own teeth only' and a full cavity, the cavity fills the lower part of the
    opening and leaves the upper part (lips, upper teeth) as warped, instead of a
    half-transparent dark layer over everything (grey teeth)."""
    import cv2

    img, pts = face
    width = float(np.linalg.norm(pts[54] - pts[48]))
    own = mouth_opening(pts)
    extra = 0.5 * own + 0.075 * width                       # about half way into the fade-in
    dst = _open_mouth(pts, extra / _iod(pts))
    plain = FaceWarper(img, pts, fill=False).render_frame(dst)
    filled = FaceWarper(img, pts, fill=True).render_frame(dst)
    m = filled.mesh
    inner = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(m[LIPS_INNER]).astype(np.int32)], 1)
    top, bottom = m[[61, 62, 63], 1].mean(), m[[65, 66, 67], 1].mean()
    rows = np.arange(img.shape[0])[:, None]
    cols = np.arange(img.shape[1])[None, :]
    middle = (inner > 0) & (cols > m[61, 0]) & (cols < m[63, 0])   # away from the corners
    upper = middle & (rows < top + 0.15 * (bottom - top))
    lower = middle & (rows > top + 0.7 * (bottom - top))
    assert upper.sum() > 20 and lower.sum() > 20
    assert np.array_equal(filled.rgb[upper], plain.rgb[upper])
    lum = lambda im: im.astype(float).mean(2)  # noqa: E731
    assert lum(filled.rgb)[lower].mean() < lum(plain.rgb)[lower].mean() - 30


def test_closing_an_eye_paints_a_lid(face):
    img, pts = face
    dst = pts.copy()
    dst[[37, 38]] = pts[[41, 40]] - [0, 0.3]                # upper lid down onto the lower lid
    frame = FaceWarper(img, pts).render_frame(dst)
    plain = FaceWarper(img, pts, fill=False).render_frame(dst)
    assert eye_aperture(frame.mesh[:N_POINTS], 0) < 0.2 * eye_aperture(pts, 0)
    x0, y0 = pts[EYE_RIGHT].min(0).astype(int) - 2
    x1, y1 = pts[EYE_RIGHT].max(0).astype(int) + 3

    def dark_pixels(rgb):  # iris, pupil and lashes squeezed into the slit; the drawn lash
        # line is a shade of the lid's skin (> 70 here), a line where the slit was a band
        return int((rgb[y0:y1, x0:x1].astype(float).mean(2) < 70).sum())

    assert dark_pixels(plain.rgb) > 12
    assert dark_pixels(frame.rgb) < 0.3 * dark_pixels(plain.rgb)
    # what replaced them is skin-toned: red > green > blue, as on the cheek
    slit = frame.rgb[y0:y1, x0:x1].reshape(-1, 3).astype(float).mean(0)
    assert slit[0] > slit[1] > slit[2]
    # the other eye is untouched
    other = slice(int(pts[42:48, 1].min()) - 3, int(pts[42:48, 1].max()) + 4)
    cols = slice(int(pts[42:48, 0].min()) - 3, int(pts[42:48, 0].max()) + 4)
    assert np.array_equal(frame.rgb[other, cols], img[other, cols])


def test_bad_inputs_are_usage_errors(face):
    img, pts = face
    with pytest.raises(UsageError):
        warp_image(img, pts[:60], pts)
    with pytest.raises(UsageError):
        warp_image(img.astype(np.float32), pts, pts)
    bad = pts.copy()
    bad[3] = np.nan
    with pytest.raises(UsageError):
        warp_image(img, pts, bad)
    with pytest.raises(UsageError):
        FaceWarper(img, pts, backend="vulkan")
