"""What a warp cannot show (render.fill) on the real astronaut face: the mouth interior (teeth,
tongue, throat), round irises in widened eyes, inked closed lids that spare the brow, and the
folds and furrows of the action units."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emoget_cli.core import ibug68
from emoget_cli.animation import animate_face
from emoget_cli.core.animation_spec import AnimationSpec
from emoget_cli.render.draw_style import draw_style
from emoget_cli.render.fill import (EYES, _box, _curve, _lip_colour, _poly_mask, _smooth_curve,
                                    draw_features, fill_mouth, find_iris, round_irises)
from emoget_cli.render.warp import FaceWarper


@pytest.fixture(scope="module")
def face(astronaut_aligned):
    """FFHQ-aligned astronaut (256 px) and its landmarks in aligned pixels (float64)."""
    rgb, points = astronaut_aligned
    return rgb, points.astype(np.float64)


def lum(rgb):
    return rgb.astype(np.float64) @ [0.299, 0.587, 0.114]


def closed_mouth(pts):
    """The same face with the inner lips meeting (the lower inner lip moved onto the upper)."""
    out = pts.copy()
    for top, bottom in ((61, 67), (62, 66), (63, 65)):
        out[bottom] = out[top] + [0.0, 0.5]
    return out


def opened_mouth(pts, gap_iod=0.35):
    """The mouth opened by moving the lower lip and chin down by gap_iod IODs."""
    out = closed_mouth(pts)
    iod = ibug68.inter_ocular_distance(pts)
    for i in (56, 57, 58, 65, 66, 67, 5, 6, 7, 8, 9, 10, 11):
        out[i, 1] += gap_iod * iod
    return out


def test_an_opened_mouth_shows_teeth_above_a_dark_throat(face):
    img, pts = face
    src, dst = closed_mouth(pts), opened_mouth(pts)
    warper = FaceWarper(img, src, fill=False)
    frame = warper.render_frame(dst).rgb
    out = fill_mouth(frame, src, dst, draw_style("none"))
    xc = int(round(0.5 * (dst[62, 0] + dst[66, 0])))
    top, bottom = dst[62, 1], dst[66, 1]
    gap = bottom - top
    column = lum(out[:, xc - 1:xc + 2]).mean(1)
    teeth = column[int(top + 0.06 * gap):int(top + 0.2 * gap)]
    throat = column[int(top + 0.45 * gap):int(top + 0.6 * gap)]
    assert teeth.mean() > 190                      # bright upper teeth under the upper lip
    assert throat.mean() < 70                      # the dark back of the mouth
    # darkest at the back: the cavity's middle is darker than its sides
    y = int(top + 0.5 * gap)
    side = int(round(0.6 * (dst[64, 0] - xc)))
    assert lum(out[y, xc]) < lum(out[y, xc + side]) - 10
    # not a flat shape: teeth, throat, tongue make a varied interior
    inner = _poly_mask(dst[ibug68.LIPS_INNER], (0, 0, 256, 256), 0) > 0.99
    assert lum(out)[inner].std() > 40


def test_lower_teeth_show_when_asked(face):
    img, pts = face
    src, dst = closed_mouth(pts), opened_mouth(pts, 0.45)
    frame = FaceWarper(img, src, fill=False).render_frame(dst).rgb
    xc = int(round(dst[66, 0]))
    above_lip = slice(int(dst[66, 1] - 0.12 * (dst[66, 1] - dst[62, 1])), int(dst[66, 1]) - 1)
    with_lower = lum(fill_mouth(frame, src, dst, lower_teeth=1.0)[above_lip, xc - 1:xc + 2])
    without = lum(fill_mouth(frame, src, dst, lower_teeth=0.0)[above_lip, xc - 1:xc + 2])
    assert with_lower.mean() > 170 and without.mean() < 140


def test_a_babys_opened_mouth_has_no_teeth(face):
    """The baby style draws gums: the same opened mouth as above, no bright teeth row under
    the upper lip, the dark throat and tongue instead."""
    img, pts = face
    src, dst = closed_mouth(pts), opened_mouth(pts, 0.45)
    frame = FaceWarper(img, src, fill=False).render_frame(dst).rgb
    xc = int(round(0.5 * (dst[62, 0] + dst[66, 0])))
    top, gap = dst[62, 1], dst[66, 1] - dst[62, 1]
    under_lip = slice(int(top + 0.06 * gap), int(top + 0.2 * gap))
    photo = lum(fill_mouth(frame, src, dst, draw_style("none"))[under_lip, xc - 1:xc + 2])
    baby = lum(fill_mouth(frame, src, dst, draw_style("baby"))[under_lip, xc - 1:xc + 2])
    assert photo.mean() > 190 and baby.mean() < 120, (photo.mean(), baby.mean())


def test_happiness_grins_with_upper_teeth(face):
    """A closed-mouth face asked to smile shows its upper teeth (AU25 parts the lips)."""
    img, pts = face
    src = closed_mouth(pts)
    warped = FaceWarper(img, pts, fill=False).render_frame(src).rgb  # her own mouth, closed
    res = animate_face(warped, "happiness", AnimationSpec(frames=12, effects="none"), points=src)
    k = 6
    p = res.track.points_array()[k]
    xc = int(round(p[62, 0]))
    top, bottom = p[62, 1], p[66, 1]
    assert bottom - top > 3
    band = lum(res.frames[k][int(top + 1):int(top + 0.45 * (bottom - top)) + 1, xc - 2:xc + 3])
    assert band.max() > 200


def iris_axis_ratio(frame, pts, eye):
    """Minor/major axis of an ellipse fitted to the iris (the dark blob of the eye opening,
    lid margins cut off)."""
    idx = list(EYES[eye])
    e = np.asarray(pts)[idx]
    box = _box(e, 2, frame.shape[:2])
    x0, y0, x1, y1 = box
    outline = np.concatenate([_smooth_curve(e[[0, 1, 2, 3]], 4), _smooth_curve(e[[3, 4, 5, 0]], 4)])
    inside = cv2.erode((_poly_mask(outline, box, 0) > 0.5).astype(np.uint8),
                       np.ones((3, 3), np.uint8)) > 0
    grey = lum(frame[y0:y1, x0:x1])
    v = grey[inside]
    dark = ((grey < 0.5 * (np.percentile(v, 5) + np.percentile(v, 95))) & inside).astype(np.uint8)
    contours, _ = cv2.findContours(dark, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    (_, _), (a, b), _ = cv2.fitEllipse(max(contours, key=cv2.contourArea))
    return min(a, b) / max(a, b)


def test_widened_eyes_keep_round_irises(face):
    """Upper lids lifted by 0.12 IOD (a strong AU5): the plain warp stretches each iris into an
    upright ellipse; repainted, it is a circle again inside a white."""
    img, pts = face
    dst = pts.copy()
    iod = ibug68.inter_ocular_distance(pts)
    for i in (37, 38, 43, 44):
        dst[i, 1] -= 0.12 * iod
    for i in (36, 39, 42, 45):
        dst[i, 1] -= 0.04 * iod
    plain = FaceWarper(img, pts, fill=False).render_frame(dst).rgb
    fixed = round_irises(plain, img, pts, dst)
    for eye in (0, 1):
        stretched, round_ = iris_axis_ratio(plain, dst, eye), iris_axis_ratio(fixed, dst, eye)
        assert round_ > 0.85 and round_ > stretched + 0.05, (eye, stretched, round_)
        c, r = find_iris(img, pts, eye)
        assert 0.17 <= r / np.linalg.norm(pts[EYES[eye][3]] - pts[EYES[eye][0]]) <= 0.27
    # the white shows above the iris, where the lid was
    centre = ibug68.eye_centres(dst)[0]
    above = fixed[int(centre[1] - 0.14 * iod), int(centre[0]) - 1:int(centre[0]) + 2]
    assert lum(above).mean() > 150


def test_surprise_irises_stay_round(face):
    img, pts = face
    res = animate_face(img, "surprise", AnimationSpec(frames=12, effects="none"), points=pts)
    k = 6
    p = res.track.points_array()[k]
    for eye in (0, 1):
        assert iris_axis_ratio(res.frames[k], p, eye) > 0.8


@pytest.fixture(scope="module")
def cartoon(face):
    from emoget_cli.style import stylize

    img, pts = face
    styled = stylize(img, pts.astype(np.float32), "cartoon")
    return styled.image, styled.points.astype(np.float64)


def ink_pixels(rgb, box, ink=(45, 28, 30), tol=45):
    x0, y0, x1, y1 = box
    d = np.abs(rgb[y0:y1, x0:x1].astype(int) - ink).max(2)
    return int((d < tol).sum())


def test_cartoon_wink_is_an_inked_lid_under_an_intact_brow(cartoon):
    img, pts = cartoon
    spec = AnimationSpec(frames=12, effects="none")
    res = animate_face(img, "wink", spec, points=pts, style="cartoon")
    warp_only = animate_face(img, "wink", spec, points=pts, style="cartoon", fill=False)
    k = 6
    p = res.track.points_array()[k]
    iod = ibug68.inter_ocular_distance(pts)
    brow = p[ibug68.BROW_LEFT]
    brow_box = (int(brow[:, 0].min()), int(brow[:, 1].min() - 0.08 * iod),
                int(brow[:, 0].max()) + 1, int(brow[:, 1].max() + 0.06 * iod) + 1)
    warped, painted = ink_pixels(warp_only.frames[k], brow_box), ink_pixels(res.frames[k], brow_box)
    assert warped > 10 and painted >= 0.95 * warped      # the lid spares the brow's ink line
    eye = p[ibug68.EYE_LEFT]
    eye_box = (int(eye[:, 0].min()), int(eye[:, 1].min() - 0.1 * iod),
               int(eye[:, 0].max()) + 1, int(eye[:, 1].max() + 0.1 * iod) + 1)
    assert ink_pixels(res.frames[k], eye_box) > 0.5 * (eye_box[2] - eye_box[0])  # a lash line
    # no eyeball left: nothing white in the closed eye
    x0, y0, x1, y1 = eye_box
    assert (lum(res.frames[k][y0:y1, x0:x1]) > 225).sum() <= 2


@pytest.mark.parametrize("au, region", [("4", "glabella"), ("9", "nose"), ("12", "fold")])
def test_action_units_draw_their_lines(cartoon, au, region):
    img, pts = cartoon
    look = draw_style("cartoon")
    iod = ibug68.inter_ocular_distance(pts)
    if region == "glabella":
        c = 0.5 * (pts[21] + pts[22]) + [0, 0.08 * iod]
    elif region == "nose":
        c = pts[28]
    else:
        c = 0.5 * (pts[31] + pts[48]) + [-0.12 * iod, 0.0]
    r = int(0.15 * iod)
    box = (int(c[0]) - r, int(c[1]) - r, int(c[0]) + r + 1, int(c[1]) + r + 1)
    drawn = draw_features(img, pts, look, {au: (1.0, 1.0)})
    x0, y0, x1, y1 = box
    darker = lum(img[y0:y1, x0:x1]) - lum(drawn[y0:y1, x0:x1])
    assert (darker > 40).sum() > 5                                       # a line, in ink
    assert (darker > 1).mean() < 0.5                                     # ... not a smudge
    assert draw_features(img, pts, look, {au: (0.0, 0.0)}) is img      # inactive: nothing


def bright_teeth(frame, pts):
    """Bright, unsaturated (tooth) pixels inside the inner-lip outline grown by 2 px."""
    poly = np.concatenate([_smooth_curve(pts[[60, 61, 62, 63, 64]], 6),
                           _smooth_curve(pts[[60, 67, 66, 65, 64]], 6)[::-1][1:-1]])
    mask = np.zeros(frame.shape[:2], np.uint8)
    fixed = np.round(poly * 16).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 255, shift=4)
    cv2.polylines(mask, [fixed], True, 255, 1, shift=4)
    mask = cv2.dilate(mask, np.ones((5, 5), np.uint8)) > 0
    rgb = frame.astype(np.float64)
    grey = (rgb.max(2) - rgb.min(2)) < 60
    return int(((lum(frame) > 180) & grey & mask).sum())


@pytest.mark.parametrize("expr", ["sadness", "anger"])
def test_closing_lips_cover_the_photos_own_teeth(face, expr):
    """The smiling photo's teeth show in frame 0; sadness and anger close the lips at the apex,
    and the picture shows shut lips there, not a thin line of the photo's teeth."""
    img, pts = face
    res = animate_face(img, expr, AnimationSpec(frames=12, effects="none"), points=pts)
    track = res.track.points_array()
    k = int(np.argmax(np.abs(track - track[0]).sum(axis=(1, 2))))
    assert bright_teeth(res.frames[0], track[0]) > 100
    assert bright_teeth(res.frames[k], track[k]) == 0


def test_lip_colour_ignores_the_ink_outline_of_inked_styles(face):
    """Inked styles outline the lips: the shut lips are painted in the lips' colour, not in a
    grey between the ink and the lip (a dark gag over the mouth)."""
    img, pts = face
    upper = np.concatenate([pts[[48, 49, 50, 51, 52, 53, 54]], pts[[64, 63, 62, 61, 60]]])
    plain = _lip_colour(img, upper)
    inked = img.copy()
    outline = np.round(pts[[48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60]]).astype(np.int32)
    cv2.polylines(inked, [outline], True, (25, 20, 20), thickness=1, lineType=cv2.LINE_AA)
    got = _lip_colour(inked, upper)
    luma = np.array([0.299, 0.587, 0.114])
    assert got @ luma > 0.8 * (plain @ luma), (got, plain)
    assert np.abs(got - plain).max() < 40, (got, plain)
