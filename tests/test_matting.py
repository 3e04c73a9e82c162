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
    from emoget_cli.render.matting import cut_out_head

    with pytest.raises(UsageError, match="picture mask"):
        cut_out_head(astronaut_rgb, astro_points, picture=np.ones((10, 10), np.float32))
    # an all-photo mask is the same as none
    full = cut_out_head(astronaut_rgb, astro_points, picture=np.ones((512, 512), bool))
    assert np.array_equal(full.alpha, head_alpha(astronaut_rgb, astro_points))


# ------------------------------------------------------------------ the sticker cut-out, as make
# runs it: the bundled sample face aligned at 512 with the sticker zoom


@pytest.fixture(scope="module")
def sample_aligned():
    """(aligned uint8 [512, 512, 3], points [68, 2]) of the bundled sample face, framed as
    `make` frames a cut-out."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces
    from emoget_cli.pipeline import SAMPLE_FACE, STICKER_ZOOM

    rgb = read_image(SAMPLE_FACE).rgb
    face = detect_faces(rgb, backend="dlib")[0]
    aligned_rgb, aligned = align_face(rgb, face.points, size=512, zoom=STICKER_ZOOM)
    return aligned_rgb, aligned.points.astype(np.float32)


@pytest.fixture(scope="module")
def sample_cut(sample_aligned):
    from emoget_cli.render.matting import cut_out_head

    return cut_out_head(*sample_aligned)


def _distances(alpha):
    import cv2

    inside = (alpha >= 128).astype(np.uint8)
    return (cv2.distanceTransform(inside, cv2.DIST_L2, 5),
            cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5))


def _local_mean(img, mask, sigma=6.0):
    import cv2

    m = mask.astype(np.float32)
    num = cv2.GaussianBlur(img.astype(np.float32) * m[..., None], (0, 0), sigma)
    return num / np.maximum(cv2.GaussianBlur(m, (0, 0), sigma), 1e-6)[..., None]


def _old_background_pixels(photo, rgb, alpha) -> int:
    """Visible pixels within 2 px of the head's edge whose colour is the old background's
    (closer to the photo's background just outside than to the head just inside, where the
    two differ), as an independent judge of fringe."""
    d_in, d_out = _distances(alpha)
    old_bg = _local_mean(photo, (d_out > 6) & (d_out < 16))
    head = _local_mean(photo, (d_in > 4) & (d_in < 12))
    band = (alpha > 0) & (d_out <= 2) & (d_in <= 2)
    colour = rgb.astype(np.float32)
    to_bg = np.linalg.norm(colour - old_bg, axis=-1)
    to_head = np.linalg.norm(colour - head, axis=-1)
    distinct = np.linalg.norm(head - old_bg, axis=-1) > 40
    return int((band & distinct & (to_bg < to_head) & (to_bg < 25)).sum())


def test_cut_out_edge_shows_no_old_background(sample_aligned, sample_cut):
    photo, _ = sample_aligned
    assert _old_background_pixels(photo, sample_cut.rgb, sample_cut.alpha) == 0
    # the judge is not blind: the photo's colours under a matte 2 px too wide (the classic
    # fringe) are caught
    import cv2

    wide = cv2.dilate(sample_cut.alpha, np.ones((5, 5), np.uint8))
    assert _old_background_pixels(photo, photo, wide) > 100


def test_cut_out_alpha_is_monotone_and_thin_across_the_edge(sample_cut):
    """Read along the edge's normal (every 2 px of the outline), alpha never rises again from
    3 px inside to 3 px outside; the soft rim is about 1-2.5 px wide (anti-aliased, no haze).
    (Rays from the head's centre graze the hair's jagged outline and cross it twice; the
    normal crosses it straight.)"""
    import cv2

    from fixtures.matting_corpus import non_monotone_edge

    assert non_monotone_edge(sample_cut.alpha) == 0.0
    # the check is not blind: a halo (a faint copy of the matte 3 px out) is caught
    halo = np.maximum(sample_cut.alpha,
                      (cv2.dilate(sample_cut.alpha, np.ones((7, 7), np.uint8)) > 0) * 60)
    halo[cv2.dilate(sample_cut.alpha, np.ones((3, 3), np.uint8)) > 0] = sample_cut.alpha[
        cv2.dilate(sample_cut.alpha, np.ones((3, 3), np.uint8)) > 0]
    assert non_monotone_edge(halo.astype(np.uint8)) > 0.5
    soft = ((sample_cut.alpha > 5) & (sample_cut.alpha < 250)).sum()
    contours, _ = cv2.findContours((sample_cut.alpha >= 128).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    rim_width = soft / max(cv2.arcLength(c, True) for c in contours)
    assert 0.7 < rim_width < 2.5, rim_width


def test_cut_out_stops_below_the_chin_unless_bust(sample_aligned, sample_cut):
    from emoget_cli.core.ibug68 import CHIN, JAW
    from emoget_cli.render.matting import cut_out_head

    photo, points = sample_aligned
    chin = points[CHIN]
    face_h = chin[1] - points[17:27, 1].mean()
    neck = (int(chin[1] + 0.15 * face_h), int(round(chin[0])))   # the throat, below the chin
    jaw_w = points[JAW][12, 0] - points[JAW][4, 0]
    below = sample_cut.alpha[int(chin[1] + 0.06 * face_h):,
                             int(chin[0] - 0.4 * jaw_w):int(chin[0] + 0.4 * jaw_w)]
    assert below.max() == 0                                       # no neck, no collar
    assert sample_cut.alpha[int(chin[1] - 0.03 * face_h), int(round(chin[0]))] == 255
    bust = cut_out_head(photo, points, crop="bust")
    assert bust.alpha[neck] == 255                                # the neck is kept
    assert (bust.alpha[-1] > 128).sum() > 0.3 * 512               # down to the shoulders


def test_cut_out_keeps_all_of_the_hair(sample_aligned, sample_cut):
    """The hair is cut along its own outline, not by the picture's frame or the prior's
    ellipse: above the brows, the topmost opaque row lies in the hair well above the forehead
    and the matte does not touch the picture's border."""
    _, points = sample_aligned
    alpha = sample_cut.alpha
    brow_y = points[17:27, 1].mean()
    face_h = points[8, 1] - brow_y
    top = np.flatnonzero((alpha >= 128).any(axis=1)).min()
    assert brow_y - top > 0.55 * face_h
    assert alpha[0].max() == 0 and alpha[:, 0].max() == 0 and alpha[:, -1].max() == 0


def test_cut_out_moves_with_the_head():
    """A nodding head: the matte is warped with each frame (its centroid follows the
    landmarks), not frozen under a moving face."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces
    from emoget_cli.pipeline import SAMPLE_FACE
    from emoget_cli.animation import animate_face
    from emoget_cli.core.animation_spec import AnimationSpec

    rgb = read_image(SAMPLE_FACE).rgb
    face = detect_faces(rgb, backend="dlib")[0]
    small, aligned = align_face(rgb, face.points, size=192, zoom=1.35)
    anim = animate_face(small, "surprise", AnimationSpec(frames=8, head="nod",
                                                         background="transparent"),
                        points=aligned.points)
    pts = anim.track.points_array()                                # [T, 68, 2]
    centroids = np.array([np.argwhere(a >= 128).mean(axis=0)[::-1] for a in anim.alpha])
    moved = pts.mean(axis=1) - pts[0].mean(axis=0)
    assert np.abs(moved[:, 1]).max() > 2.0                       # the head does nod
    shift = centroids - centroids[0]
    assert np.corrcoef(shift[:, 1], moved[:, 1])[0, 1] > 0.9
    assert np.abs(shift[:, 1] - moved[:, 1]).max() < 0.35 * np.abs(moved[:, 1]).max() + 1.0


# ------------------------------------------------------------------ the robustness corpus: the
# sample with other hair colours and backgrounds, flipped, rotated, low contrast, tiny, cut by
# the frame (tests/fixtures/matting_corpus.py; docs/matting_corpus.png shows every cut-out)


@pytest.fixture(scope="module")
def corpus():
    from fixtures.matting_corpus import build_corpus, corpus_base

    return {v.name: v for v in build_corpus(corpus_base())}


CORPUS_NAMES = ("sample", "hair blond", "hair platinum", "hair white", "hair black",
                "background white", "background skin", "background black", "background hair",
                "background busy", "background gradient", "platinum hair, white background",
                "black hair, black background", "flipped", "rotated 12 deg", "rotated -8 deg",
                "low contrast x0.35", "tiny 96 px", "forehead cut by frame", "big hair")


def test_corpus_lists_every_variant(corpus):
    assert tuple(corpus) == CORPUS_NAMES


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_cut_out_holds_on_the_corpus(corpus, name):
    """Face and hair kept (>= 95 % of the reference head the variant was built with), nothing
    much beyond it, nothing under the chin, no old-background fringe in the 2-px band, alpha
    monotone across the edge, a solid face, one piece."""
    from fixtures.matting_corpus import score
    from emoget_cli.render.matting import cut_out_head

    v = corpus[name]
    cut = cut_out_head(v.rgb, v.points)
    s = score(v, cut.rgb, cut.alpha)
    assert s.kept >= 0.95, s.row()
    assert s.spill <= 0.05, s.row()
    assert s.below_chin == 0, s.row()
    # a handful of edge pixels may sit near the old background's colour where hair and
    # background are alike (of ~1500 band pixels at 512 px); a fringe is hundreds
    assert s.fringe <= 8, s.row()
    assert s.bad_edge <= 0.005, s.row()
    assert s.face_holes == 0, s.row()
    assert s.components == 1, s.row()


def test_hair_like_the_background_keeps_a_head_shape(corpus):
    """Black hair on black: colour cannot find the hair's outline, so the head takes a
    typical head's shape from the landmarks instead of losing the hair (it lost 55 % of
    the head before the shape prior)."""
    from emoget_cli.core.ibug68 import BROWS
    from emoget_cli.render.matting import cut_out_head

    v = corpus["black hair, black background"]
    alpha = cut_out_head(v.rgb, v.points).alpha
    brow_y = v.points[BROWS, 1].mean()
    face_h = v.points[8, 1] - brow_y
    top = np.flatnonzero((alpha >= 128).any(axis=1)).min()
    assert brow_y - top > 0.6 * face_h


def test_forehead_cut_by_the_frame_runs_off_the_top(corpus):
    """The head runs off the top of the picture: the cut-out reaches the frame across the
    head's width instead of stopping at an invented flat top below it."""
    from emoget_cli.render.matting import cut_out_head

    v = corpus["forehead cut by frame"]
    alpha = cut_out_head(v.rgb, v.points).alpha
    cols = np.flatnonzero(v.head[0])
    assert len(cols) > 100
    assert (alpha[0, cols] == 255).mean() > 0.9


def test_forehead_cut_by_the_photo_gets_a_rounded_top_not_the_padding():
    """A photo that starts in the forehead, aligned as `make` aligns a cut-out: alignment pads
    above the frame with a blurred mirror image (the face upside down). With the picture mask
    the cut-out does not take that padding for the person: the head runs on above the frame
    line and narrows into a rounded top within a typical head's outline."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, picture_mask
    from emoget_cli.pipeline import SAMPLE_FACE, STICKER_ZOOM
    from emoget_cli.render.matting import _FaceGeometry, _typical_head, cut_out_head

    photo = read_image(SAMPLE_FACE).rgb
    pts = detect_faces(photo, backend="dlib")[0].points
    brow = pts[17:27, 1].mean()
    cropped = np.ascontiguousarray(photo[int(brow - 0.35 * (pts[8, 1] - brow)):])
    face = detect_faces(cropped, backend="dlib")[0]
    aligned, info = align_face(cropped, face.points, size=256, zoom=STICKER_ZOOM)
    pic = picture_mask(info, (cropped.shape[1], cropped.shape[0]))
    assert pic.shape == (256, 256) and pic.min() == 0.0 and pic.max() == 1.0
    centre_x = int(round(info.points[27, 0]))
    frame = int(np.flatnonzero(pic[:, centre_x] > 0.5).min())       # the photo's top edge
    assert frame > 30                                                # padding above it
    opaque = cut_out_head(aligned, info.points, picture=pic).alpha >= 128
    top = int(np.flatnonzero(opaque.any(axis=1)).min())
    assert top < frame - 15                                          # no flat top at the frame
    widths = opaque[top:frame].sum(axis=1)
    assert (np.diff(widths) >= -2).all()                             # widening downwards...
    assert widths[0] < 0.5 * opaque[frame + 2].sum()                 # ...from a rounded top
    inside = _typical_head(_FaceGeometry(info.points.astype(np.float32)), (0, 0), (256, 256))
    assert not (opaque & (pic < 0.5) & (inside < 0.5)).any()         # within a head's outline
    # without the mask the padding's mirror image passes for the head: the cut-out reaches
    # far outside a typical head's outline above the frame
    blind = cut_out_head(aligned, info.points).alpha >= 128
    assert (blind & (pic < 0.5) & (inside < 0.5)).sum() > 100
