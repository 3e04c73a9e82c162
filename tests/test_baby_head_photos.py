"""The `baby` style's drawn head on the real photos (tests/data/photos): its dome is painted in
the person's lit skin, and the band around it continues the backdrop.

The round head leaves a band of the photo's backdrop where the adult hair was
(style.baby.round_head); on the real photos' busy backdrops (curtain, flags) that band continues
the backdrop's texture instead of a smooth ring in its blurred colour (docs/styles.md).

Measured above the brows, in 24 sectors around the
drawn head, the mean gradient energy of the lightness in a band 2-12 px outside the drawn head
against the backdrop 15-30 px out, at 256 px. The smooth fill of main before the mirror fill
(normalised blur) had half the backdrop's texture there on Grace Hopper and obama2 (log ratio
-0.67, -0.69).

The dome: the photo's lit skin (the forehead's) over the top of the head; main before it drew
the dome in the face's shaded tone (the 35th percentile of the skin below the brows), darker
than the cheeks' mean on Grace Hopper and Obama (-3.6, -5.5 L*) and a dark ball on the dimly
exposed Biden."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
#: the band's texture at least this share of the backdrop's beside it (log ratio)
TEXTURE_MIN = np.log(0.7)
PHOTO_NAMES = ("biden", "grace_hopper", "obama", "obama2")


def band_texture(rgb: np.ndarray, head: np.ndarray, points: np.ndarray) -> float:
    """Mean over sectors of log((1 + gradient energy in the band 2-12 px outside `head`) /
    (1 + that 15-30 px out)), above the brows. rgb uint8 [H, W, 3]; head float32 [H, W]."""
    import cv2

    from emoget_cli.core.ibug68 import BROWS

    L = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32),
                         (0, 0), 1.0)
    energy = np.hypot(cv2.Sobel(L, cv2.CV_32F, 1, 0), cv2.Sobel(L, cv2.CV_32F, 0, 1))
    d = cv2.distanceTransform((head < 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    h, w = head.shape
    yy, xx = np.mgrid[:h, :w]
    ys, xs = np.nonzero(head > 0.5)
    sector = ((np.arctan2(yy - ys.mean(), xx - xs.mean()) + np.pi) / (2 * np.pi) * 24
              ).astype(int) % 24
    above = (yy < points[BROWS][:, 1].min()) & (yy > 3) & (xx > 3) & (xx < w - 4)
    band, far = above & (d >= 2) & (d <= 12), above & (d >= 15) & (d <= 30)
    ratios = [np.log((1 + energy[band & (sector == s)].mean())
                     / (1 + energy[far & (sector == s)].mean()))
              for s in range(24)
              if (band & (sector == s)).sum() >= 20 and (far & (sector == s)).sum() >= 20]
    return float(np.mean(ratios))


def head_top_lightness(rgb: np.ndarray, head: np.ndarray, points: np.ndarray) -> float:
    """Mean L* (0..100) of the drawn head above the brows (by 0.3 IOD, `head` > 0.9) where it
    has a skin's chroma (over 0.6 of the region's median: not a grey or white hair cap)."""
    import cv2

    from emoget_cli.core.ibug68 import BROWS, inter_ocular_distance

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    rows = np.mgrid[:head.shape[0], :head.shape[1]][0]
    top = (head > 0.9) & (rows < points[BROWS][:, 1].min() - 0.3 * inter_ocular_distance(points))
    chroma = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)
    skin = top & (chroma > 0.6 * np.median(chroma[top]))
    return float(lab[..., 0][skin].mean()) * 100.0 / 255.0


@pytest.fixture(scope="module")
def styled():
    """photo -> (aligned photo uint8 [256, 256, 3], its points [68, 2], the baby at its default
    strength given explicitly (no identity guard): StyleResult)."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces
    from emoget_cli.style import stylize

    out = {}
    for photo in PHOTO_NAMES:
        rgb = read_image(PHOTOS / f"{photo}.jpg").rgb
        face = detect_faces(rgb, backend="dlib")[0]
        aligned, info = align_face(rgb, face.points, size=256)
        out[photo] = (aligned, info.points, stylize(aligned, info.points, "baby", strength=1.0))
    return out


@pytest.mark.parametrize("photo", PHOTO_NAMES)
def test_baby_dome_is_painted_in_the_lit_skin(styled, photo):
    """The top of the drawn head is at least as light as the photo's cheeks and chin (their
    mean L*, tests/test_style_photos.py's window): a photo's head is lit from above."""
    import cv2

    from emoget_cli.style.filters import skin_interior

    aligned, points, res = styled[photo]
    lab = cv2.cvtColor(aligned, cv2.COLOR_RGB2LAB).astype(np.float32)
    cheeks = float(lab[..., 0][skin_interior(aligned.shape, points, below_eyes=True)].mean()) \
        * 100.0 / 255.0
    top = head_top_lightness(res.image, res.matte, res.points)
    assert top >= cheeks, f"{photo}: head top L* {top:.1f}, the photo's cheeks {cheeks:.1f}"


@pytest.mark.parametrize("photo", PHOTO_NAMES)
def test_baby_band_around_the_head_keeps_the_backdrops_texture(styled, photo):
    res = styled[photo][2]
    assert res.matte is not None
    ratio = band_texture(res.image, res.matte, res.points)
    assert ratio >= TEXTURE_MIN, f"{photo}: band texture log ratio {ratio:+.2f}"
