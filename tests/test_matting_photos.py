"""The head cut-out on real photos (tests/data/photos, provenance in its README): busy
backgrounds (a flag, curtains, windows), a turned head, white hair, a uniform cap. Each photo
is aligned as `make` aligns a sticker (512 px, the sticker zoom, the picture mask)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PHOTOS = Path(__file__).parent / "data" / "photos"
NAMES = ("obama", "obama2", "biden", "grace_hopper")


PARTIAL = ("obama_partial_face", "obama_partial_face2")


def _aligned(name: str, size: int = 512):
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, picture_mask
    from emoget_cli.pipeline import STICKER_ZOOM

    folder = PHOTOS / "cut_by_frame" if name in PARTIAL else PHOTOS
    photo = read_image(folder / f"{name}.jpg").rgb
    face = detect_faces(photo, backend="dlib")[0]
    rgb, info = align_face(photo, face.points, size=size, zoom=STICKER_ZOOM,
                           sharp_photo=True)
    pic = picture_mask(info, (photo.shape[1], photo.shape[0]))
    return rgb, info.points.astype(np.float32), pic


@pytest.fixture(scope="module")
def photos():
    """name -> (rgb, points, picture) at 512 px and, under (name, 256), at `make`'s default
    256 px (GrabCut sees another scale: each must hold)."""
    out = {name: _aligned(name) for name in NAMES + PARTIAL}
    out.update({(name, 256): _aligned(name, 256) for name in NAMES + PARTIAL})
    return out


def _face_frame(points):
    """(brow, chin, up, side, face_h, face_w, midline): the face's own frame, from the
    landmarks (so a tilted or turned head is measured in its own axes)."""
    from emoget_cli.core.ibug68 import BROWS, CHIN, JAW

    brow, chin = points[BROWS].mean(axis=0), points[CHIN]
    face_h = float(np.linalg.norm(brow - chin))
    up = (brow - chin) / face_h
    side = np.array([up[1], -up[0]])
    jaw = points[JAW]
    face_w = float(np.linalg.norm(jaw[-1] - jaw[0]))
    midline = float(np.dot(0.5 * (jaw[0] + jaw[-1]) - brow, side))
    return brow, chin, up, side, face_h, face_w, midline


def _generous_head(points, shape) -> np.ndarray:
    """bool [H, W]: an ellipse well beyond any head with its hair (and a cap): from 0.95
    brow-to-chin distances above the brows to below the chin, 0.9 jaw widths to each side of
    the jaw's midline. An adult's vertex lies 0.8-0.9 of those distances above the brows and
    the head's breadth is about 1.1 jaw widths (docs/matting.md)."""
    brow, _, up, side, face_h, face_w, midline = _face_frame(points)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    rel = np.stack([xx - brow[0], yy - brow[1]], -1).astype(np.float32)
    u = (rel @ up) / face_h + 0.05
    v = (rel @ side - midline) / face_w
    return np.hypot(u / 1.0, v / 0.9) <= 1.0


@pytest.mark.parametrize("size", [512, 256])
@pytest.mark.parametrize("crop", ["head", "bust"])
@pytest.mark.parametrize("name", NAMES)
def test_real_photo_cut_out_is_the_head(photos, name, crop, size):
    """Inside the face the matte is solid; nothing beyond a generous head outline (for a bust,
    above the jaw's lower part: the neck widens below it); nothing under the chin for crop head; one piece; alpha monotone across
    the edge; no old-background fringe in the 2-px band above the nose (crop head; below
    it the chin cut runs through the person -- hair, neck -- whose colours are on both sides
    of it, which the fringe judge cannot tell from background)."""
    from fixtures.matting_corpus import Variant, old_background_pixels, score
    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos[name if size == 512 else (name, size)]
    cut = cut_out_head(rgb, points, crop, picture=pic)
    head = _generous_head(points, rgb.shape[:2])
    s = score(Variant(name, rgb, points, head), cut.rgb, cut.alpha)
    assert s.face_holes == 0, s.row()                  # alpha 255 in the face polygon
    assert s.components == 1, s.row()
    assert s.bad_edge <= 0.005, s.row()
    brow, chin, up, _, face_h, *_ = _face_frame(points)
    yy, xx = np.mgrid[:size, :size]
    above_jaw = (np.stack([xx - chin[0], yy - chin[1]], -1) @ up) > 0.2 * face_h
    beyond = (cut.alpha > 0) & ~head & (above_jaw if crop == "bust" else True)
    assert beyond.sum() == 0, (s.row(), int(beyond.sum()))
    if crop == "head":
        assert s.below_chin == 0, s.row()
        above_mouth = (np.stack([xx - chin[0], yy - chin[1]], -1) @ up) > 0.5 * face_h
        fringe = old_background_pixels(rgb, cut.rgb, cut.alpha, above_mouth)
        assert fringe <= 8, (s.row(), fringe)            # as on the corpus


def test_obama2_keeps_no_flag_and_all_of_the_head(photos):
    """obama2: a flag's dark blue field behind a turned head. No pixel of the flag's blue is
    kept (the head and face hold none: skin, dark hair), and the head is whole -- the face
    and the hair above the brows."""
    import cv2

    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos["obama2"]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    blue = lab[..., 2] < 128 - 18                        # CIE b* below -18: the flag's blue
    assert blue.sum() > 5000                              # the flag is in the picture
    brow, _, up, side, face_h, face_w, midline = _face_frame(points)
    for crop in ("head", "bust"):
        opaque = cut_out_head(rgb, points, crop, picture=pic).alpha >= 128
        assert (opaque & blue).sum() == 0, crop
        # the hair above the brows: solid on the midline up to 0.45 face heights over them
        # and the head's top lies at least 0.55 above them
        for t in np.linspace(0.0, 0.45, 10):
            x, y = np.round(brow + side * midline + up * t * face_h).astype(int)
            assert opaque[y, x], (crop, t)
        rows = np.flatnonzero(opaque.any(axis=1))
        assert brow[1] - rows.min() > 0.55 * face_h, crop


def _above_jaw_corners(points, shape) -> np.ndarray:
    """bool [H, W]: more than 0.35 brow-to-chin distances above the chin (the jaw's corners
    and up: where a head and a bust are the same)."""
    _, chin, up, _, face_h, *_ = _face_frame(points)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (np.stack([xx - chin[0], yy - chin[1]], -1) @ up) > 0.35 * face_h


@pytest.mark.parametrize("size", [512, 256])
@pytest.mark.parametrize("name", NAMES + PARTIAL)
def test_head_and_bust_are_one_cut_above_the_jaw(photos, name, size):
    """`--crop head` and `--crop bust` cut the same head: above the jaw's corners their
    opaque parts agree (IoU >= 0.99). Seeded apart they did not: the head alone kept a
    window pane beside obama's ear (IoU 0.980 at 256 px) and dropped the white crown of
    grace_hopper's cap (0.946), the bust of obama_partial_face2 at 512 px dropped the
    window block its head kept (0.747)."""
    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos[name if size == 512 else (name, size)]
    above = _above_jaw_corners(points, rgb.shape[:2])
    head, bust = (cut_out_head(rgb, points, crop, picture=pic).alpha >= 128
                  for crop in ("head", "bust"))
    head, bust = head & above, bust & above
    iou = (head & bust).sum() / max((head | bust).sum(), 1)
    assert iou >= 0.99, (name, size, round(float(iou), 4))


def _window_pane(rgb) -> np.ndarray:
    """bool [H, W]: the pale grey-blue of the White House windows behind obama (CIE L* > 60,
    a* < -3, b* < 0); his skin, grey hair and the face's whites are warmer."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    return (lab[..., 0] > 0.6 * 255) & (lab[..., 1] < 128 - 3) & (lab[..., 2] < 128)


@pytest.mark.parametrize("size", [512, 256])
@pytest.mark.parametrize("name", ["obama", "obama_partial_face2"])
def test_no_window_pane_is_kept_beside_the_head(photos, name, size):
    """obama's head in front of a window: no pane of it is kept beside the ears or over the
    hair (its pale blue, in the solid part of the cut-out -- 2 px in from the edge, where
    the rim's anti-aliased pixels mix in the photo's background -- above the jaw's corners
    and outside the landmarks' hull). GrabCut's global colour models kept 168 such pixels
    beside obama's ear at 256 px (head), 731 in the bust at 512 px and a 3837-pixel block
    over obama_partial_face2's hair at 512 px; each is 0 now. (obama_partial_face keeps a
    small dark piece of the window's frame beside the temple: its colours are the hair's.)"""
    import cv2

    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos[name if size == 512 else (name, size)]
    pane = _window_pane(rgb)
    hull = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    where = _above_jaw_corners(points, rgb.shape[:2]) & (hull == 0)
    assert (pane & where).sum() > 2000 * (size / 512) ** 2     # the window is there
    for crop in ("head", "bust"):
        opaque = (cut_out_head(rgb, points, crop, picture=pic).alpha >= 128).astype(np.uint8)
        solid = cv2.erode(opaque, np.ones((5, 5), np.uint8)) > 0
        assert (solid & pane & where).sum() == 0, (name, size, crop)


@pytest.mark.parametrize("size", [512, 256])
def test_grace_hoppers_cap_keeps_its_white_crown(photos, size):
    """The white crown of grace_hopper's cap is the head's (a hat is): of the picture's
    near-white pixels more than 0.45 brow-to-chin distances over the brows (the crown, and
    the flag's stars, which must stay out: test_real_photo_cut_out_is_the_head), the head
    cut-out keeps more than 45 %. The head seeded alone kept 24 % at 256 px (the crown went
    with the stars); now 62 %."""
    import cv2

    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos["grace_hopper" if size == 512 else ("grace_hopper", size)]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    white = (lab[..., 0] > 0.85 * 255) & (np.hypot(lab[..., 1] - 128, lab[..., 2] - 128) < 15)
    brow, _, up, _, face_h, *_ = _face_frame(points)
    yy, xx = np.mgrid[:size, :size]
    high = (np.stack([xx - brow[0], yy - brow[1]], -1) @ up) > 0.45 * face_h
    opaque = cut_out_head(rgb, points, "head", picture=pic).alpha >= 128
    kept = (opaque & white & high).sum() / max((white & high).sum(), 1)
    assert kept > 0.45, round(float(kept), 3)


# ------------------------------------------------------------------ faces cut by the frame
# obama_partial_face: the frame cuts the face's left side at the outer corner of an eye;
# obama_partial_face2: the right side, beside the eye, and the top of the hair.


def _partial(name: str):
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, picture_mask
    from emoget_cli.pipeline import STICKER_ZOOM

    photo = read_image(PHOTOS / "cut_by_frame" / f"{name}.jpg").rgb
    face = detect_faces(photo, backend="dlib")[0]
    rgb, info = align_face(photo, face.points, size=512, zoom=STICKER_ZOOM, sharp_photo=True)
    bare, _ = align_face(photo, face.points, size=512, zoom=STICKER_ZOOM, padding=False)
    pic = picture_mask(info, (photo.shape[1], photo.shape[0]))
    return rgb, bare, info.points.astype(np.float32), pic


@pytest.mark.parametrize("name", ["obama_partial_face", "obama_partial_face2"])
def test_face_cut_by_the_frame_is_cut_at_the_frame_not_smeared(name):
    """The photo stays sharp up to its frame (alignment's padding fade does not blur the eye
    beside it), and below the top of the head nothing of the padding is taken for the head:
    the cut-out stops at the frame instead of continuing the cheek and eye as a smear."""
    import cv2

    from emoget_cli.render.matting import cut_out_head

    rgb, bare, points, pic = _partial(name)
    photo_px = cv2.erode((pic >= 1.0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert (pic < 0.5).mean() > 0.1                               # the frame is in the picture
    diff = np.abs(rgb.astype(int) - bare.astype(int)).max(axis=-1)
    assert np.percentile(diff[photo_px], 99.9) <= 3, name         # the photo, as it is
    brow, chin, up, _, face_h, *_ = _face_frame(points)
    yy, xx = np.mgrid[:512, :512]
    below_top = (np.stack([xx - brow[0], yy - brow[1]], -1) @ up) < 0.2 * face_h
    for crop in ("head", "bust"):
        cut = cut_out_head(rgb, points, crop, picture=pic)
        # the matte never exceeds the photo's share of a pixel (the frame's edge is
        # anti-aliased like the rest of the outline)
        over = cut.alpha.astype(np.float32) > 255.0 * pic + 1.0
        assert not (over & below_top).any(), (name, crop)
        assert (cut.alpha[photo_px & below_top] > 0).sum() > 0.08 * 512 * 512


# ------------------------------------------------------------------ hand-checked regions
# Boxes (x0, x1, y0, y1) in the 256-px alignment `make` uses, checked by eye at 5-6x over the
# photo: the first two hold only background beside the temple hair (the window frame, out of
# focus, with the short hair's colours), the third only the far ear of obama2's turned head.
BESIDE_TEMPLE = {"obama_partial_face2": (44, 58, 74, 118),   # the window frame's dark block
                 "obama_partial_face": (191, 199, 84, 118)}  # the window frame's dark piece
FAR_EAR = ("obama2", (198, 206, 124, 150))


def _box_opaque(photos, name, box, crop) -> float:
    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos[(name, 256)]
    x0, x1, y0, y1 = box
    alpha = cut_out_head(rgb, points, crop, picture=pic).alpha
    return float((alpha[y0:y1, x0:x1] >= 128).mean())


@pytest.mark.parametrize("name", sorted(BESIDE_TEMPLE))
def test_no_background_block_beside_the_temple(photos, name):
    """No more than 5 % of the hand-checked background box beside the temple is opaque, head
    and bust. The local colour models kept the window frame there (67 % of the box on
    obama_partial_face2, 79 % on obama_partial_face): its colours are the short hair's; it
    steps out of the head's outline and is out of focus next to the hair (0.6 % and 0 %
    now)."""
    for crop in ("head", "bust"):
        assert _box_opaque(photos, name, BESIDE_TEMPLE[name], crop) <= 0.05, crop


def test_far_ear_of_a_turned_head_is_kept(photos):
    """At least 60 % of the hand-checked box on obama2's far ear (beside the jaw's top point
    on the side away from the turn) is opaque, head and bust: GrabCut's global colour models
    gave the ear to the blonde hair behind it (1 % kept); the ear zones beside the jaw's top
    points take it back by the skin's hue (99 % now)."""
    name, box = FAR_EAR
    for crop in ("head", "bust"):
        assert _box_opaque(photos, name, box, crop) >= 0.6, crop


def test_no_flag_beside_grace_hoppers_cap(photos):
    """At 512 px the local colour models kept a strip of the flag's navy between the flagpole
    and the dark flank of grace_hopper's cap (a hand-checked box of it, x 132-136, y 140-165,
    was 100 % opaque): it steps out of the head's outline and is smoother than the cap's
    embroidery and of colours the cap barely explains better than the flag. None of the box is
    kept now (at most 5 % allowed), head and bust."""
    from emoget_cli.render.matting import cut_out_head

    rgb, points, pic = photos["grace_hopper"]
    for crop in ("head", "bust"):
        alpha = cut_out_head(rgb, points, crop, picture=pic).alpha
        assert (alpha[140:166, 132:137] >= 128).mean() <= 0.05, crop
