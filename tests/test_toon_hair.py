"""The cartoon's hair and hats on real photos (tests/data/photos): the hair region is the hair
the photo shows — its tone the photo's hair tone (dark stays dark, white stays light), a thin
cap on a short cut, no window or flag in it — and a cap keeps its own parts
(docs/styles.md, "Cartoon: hair and hats")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoget_cli.core import ibug68

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"


@pytest.fixture(scope="module")
def photos() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """stem -> (aligned uint8 [256, 256, 3], points [68, 2]) of each real photo."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces

    out = {}
    for path in sorted(PHOTOS.glob("*.jpg")):
        rgb = read_image(path).rgb
        face = detect_faces(rgb, backend="dlib")[0]
        aligned, info = align_face(rgb, face.points, size=256)
        out[path.stem] = (aligned, np.asarray(info.points, np.float64))
    return out


def _lightness(rgb: np.ndarray) -> np.ndarray:
    """L* (0..100) [H, W]."""
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * 100.0 / 255.0


def _regions(rgb: np.ndarray, pts: np.ndarray):
    """(labels, skin id, hair id, head mask) as the cartoon cuts this picture."""
    from emoget_cli.style.filters import head_matte
    from emoget_cli.style.toon import head_regions, smooth

    return head_regions(smooth(rgb), pts, head_matte(rgb, pts))


def _drawn(rgb: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The cartoon's rendering of the picture, without the style's reshape (pixels stay put)."""
    from emoget_cli.style.filters import cartoon

    return cartoon(rgb, pts)[0]


def _up(pts: np.ndarray) -> np.ndarray:
    up = np.array(ibug68.eye_centres(pts)).mean(0) - pts[ibug68.CHIN]
    return up / np.linalg.norm(up)


def test_short_dark_hair_is_a_dark_thin_cap(photos):
    """Obama's short dark hair: the hair region holds hair, not the window behind it; it is a
    thin cap over the skull; its drawn tone is dark, near the photo's hair."""
    for stem in ("obama", "obama2"):
        rgb, pts = photos[stem]
        iod = ibug68.inter_ocular_distance(pts)
        labels, skin_id, hair_id, head = _regions(rgb, pts)
        hair = labels == hair_id
        L = _lightness(rgb)
        assert hair.sum() > 0.8 * iod ** 2, stem
        # no window panes (L* > 75 in the photo; the hair is at most about 60)
        assert (L[hair] > 75).mean() < 0.08, (stem, (L[hair] > 75).mean())
        # a thin cap: along the midline, from the skin's top to the head's top, < 0.7 IOD
        up = _up(pts)
        brows = pts[ibug68.BROWS].mean(0)
        column = [brows + t * up for t in np.arange(0, 3.0 * iod, 0.5)]
        inside = [(0 <= x < 256 and 0 <= y < 256) and hair[int(y), int(x)] for x, y in column]
        assert 0.15 * iod < 0.5 * sum(inside) < 0.7 * iod, (stem, 0.5 * sum(inside) / iod)
        drawn = _lightness(_drawn(rgb, pts))
        core = hair & ~_edge(hair, iod)
        photo_L, drawn_L = float(np.median(L[core])), float(np.median(drawn[core]))
        # the photo's hair tone, dark as it is (the former cartoon drew obama2's 29 as 45)
        assert photo_L < 55, (stem, photo_L)
        assert photo_L - 10 < drawn_L < photo_L + 5, (stem, drawn_L, photo_L)


def _edge(mask: np.ndarray, iod: float) -> np.ndarray:
    """bool [H, W]: within 0.05 IOD of the mask's border (ink and anti-aliasing)."""
    import cv2

    k = np.ones((3, 3), np.uint8)
    n = max(1, int(0.05 * iod))
    m = mask.astype(np.uint8)
    return (cv2.dilate(m, k, iterations=n) - cv2.erode(m, k, iterations=n)) > 0


def test_white_hair_stays_light_and_is_inked_off_the_backdrop(photos):
    """Biden's white hair before a pale curtain: found (most of the photo's white, neutral
    pixels around the skull are hair), drawn light, and an ink line runs between it and the
    backdrop."""
    import cv2

    rgb, pts = photos["biden"]
    iod = ibug68.inter_ocular_distance(pts)
    labels, skin_id, hair_id, head = _regions(rgb, pts)
    hair = labels == hair_id
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    L = lab[..., 0] * 100 / 255
    chroma = np.linalg.norm(lab[..., 1:] - 128, axis=-1)
    # the photo's white hair: light neutral pixels above the eyes, within 1.6 IOD of the face
    centre = np.array(ibug68.eye_centres(pts)).mean(0)
    yy, xx = np.mgrid[0:256, 0:256]
    near = np.hypot(xx - centre[0], yy - centre[1]) < 1.6 * iod
    above = yy < centre[1]
    white = near & above & (L > 75) & (chroma < 8) & (labels != skin_id)
    assert white.sum() > 0.3 * iod ** 2
    assert hair[white].mean() > 0.7, hair[white].mean()
    drawn = _drawn(rgb, pts)
    core = hair & ~_edge(hair, iod)
    assert np.median(_lightness(drawn)[core]) > 70
    # the outline between the hair and the backdrop is inked
    outside = ~head
    rim = cv2.dilate(hair.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rim &= cv2.dilate(outside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rim &= yy < centre[1]
    assert rim.sum() > 2 * iod
    assert (drawn.max(2)[rim] < 90).mean() > 0.6, (drawn.max(2)[rim] < 90).mean()


def test_the_caricature_keeps_the_forehead_skin_and_the_hair_dark(photos):
    """obama2 as caricature-cartoon: on the midline above the brows, where the (reshaped)
    photo shows skin the drawing is light, where it shows dark hair the drawing is dark (no
    bald dome of forehead colour)."""
    import dataclasses

    from emoget_cli.style import stylize
    from emoget_cli.style.classic import CLASSIC_STYLES, stylize_classic

    rgb, pts = photos["obama2"]
    res = stylize(rgb, pts, "caricature-cartoon",  # as stylize_classic draws it: no guard
                  strength=CLASSIC_STYLES["caricature-cartoon"].strength_default)
    plain = dataclasses.replace(CLASSIC_STYLES["caricature-cartoon"], filter=None)
    warped, q, _ = stylize_classic(rgb, pts, plain)
    q = np.asarray(q, np.float64)
    iod = ibug68.inter_ocular_distance(q)
    photo, drawn = _lightness(warped), _lightness(res.image)
    up = _up(q)
    brows = q[ibug68.BROWS].mean(0)
    column = np.array([brows + t * up for t in np.arange(0.15 * iod, 3.0 * iod, 0.5)])
    column = column[(column[:, 1] >= 2) & (column[:, 1] < 254)]
    x, y = np.round(column).astype(int).T
    p, d = photo[y, x], drawn[y, x]
    hair = p < 30             # the photo's dark hair
    skin = p > 55             # its lit forehead
    assert hair.sum() > 0.2 * iod and skin.sum() > 0.2 * iod
    assert np.median(d[hair]) < 40, np.median(d[hair])
    assert np.median(d[skin]) > 50, np.median(d[skin])


def _rim_loop(drawn: np.ndarray, pts: np.ndarray, group: slice, colours) -> float:
    """Share of 36 rays round the eye (0.3–0.85 IOD out, through the lens's ellipse) that cross
    a drawn rim: a pixel within 12 RGB units of one of the rim's colours [K, 3]."""
    iod = ibug68.inter_ocular_distance(pts)
    eyes = np.array(ibug68.eye_centres(pts))
    axis = (eyes[1] - eyes[0]) / np.linalg.norm(eyes[1] - eyes[0])
    down = np.array([-axis[1], axis[0]]) * (1 if axis[0] > 0 else -1)
    centre = pts[group].mean(0) + 0.06 * iod * down
    img = drawn.astype(np.float32)
    hits = 0
    for a in np.linspace(-np.pi, np.pi, 36, endpoint=False):
        d = np.cos(a) * axis + 0.72 * np.sin(a) * down
        ray = [centre + r * d for r in np.arange(0.3 * iod, 0.85 * iod, 0.5)]
        px = np.array([img[int(round(y)), int(round(x))] for x, y in ray])
        near = np.linalg.norm(px[:, None] - np.asarray(colours, np.float32)[None], axis=2)
        hits += bool((near.min(1) < 12).any())
    return hits / 36


def test_glasses_of_any_colour_are_drawn_as_rims(photos, monkeypatch):
    """Grace Hopper's pale frames are found and drawn as closed rims in their own colours round
    both eyes, on the photo's own rim lines; faces without glasses get none."""
    from emoget_cli.style.glasses import FRAME_SHADE, find_rims, line_strength

    rgb, pts = photos["grace_hopper"]
    iod = ibug68.inter_ocular_distance(pts)
    rims = find_rims(rgb, pts)
    assert rims is not None
    # pale: far lighter than ink
    assert rims.colour.max() > 120, rims.colour
    drawn = _drawn(rgb, pts)
    for group, colours in zip((ibug68.EYE_RIGHT, ibug68.EYE_LEFT), rims.colours):
        assert _rim_loop(drawn, pts, group, colours * FRAME_SHADE) > 0.9
    # the drawn rims lie on the photo's lines: the photo's line strength under them is well
    # above its typical value round the eyes
    strength = line_strength(rgb, max(0.8, 0.018 * iod))
    under = np.concatenate([strength[np.round(r[:, 1]).astype(int), np.round(r[:, 0]).astype(int)]
                            for r in rims.rims])
    centre = np.array(ibug68.eye_centres(pts)).mean(0)
    band = strength[int(centre[1] - 0.5 * iod):int(centre[1] + 0.5 * iod),
                    int(centre[0] - 1.2 * iod):int(centre[0] + 1.2 * iod)]
    assert np.median(under) > 2.0 * np.median(band)
    import dataclasses

    from emoget_cli.style import toon

    for stem in ("obama", "obama2", "biden"):
        rgb, pts = photos[stem]
        assert find_rims(rgb, pts) is None, stem
        # nor does the drawing hold any rim: it is the drawing without the glasses step (a
        # loop of the frame's colours cannot tell: Biden's skin is drawn within 12 RGB units
        # of these pale frames)
        drawn = _drawn(rgb, pts)
        monkeypatch.setattr(toon, "CARTOON", dataclasses.replace(toon.CARTOON, glasses=False))
        assert np.array_equal(drawn, _drawn(rgb, pts)), stem
        monkeypatch.undo()
