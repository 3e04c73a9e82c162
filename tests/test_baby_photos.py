"""The `baby` style on real photos other than the sample (tests/data/photos: two photos of
Obama, Biden, Grace Hopper; public domain): the person stays recognisable (dlib distance < 0.6)
and keeps their own skin tone (the lower face's mean CIELAB lightness within 6 units: a dark
face stays dark, a pale one pale; only the cheeks turn rosier)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoget_cli.core import ibug68

PHOTOS = sorted((Path(__file__).parent / "data" / "photos").glob("*.jpg"))


def _aligned(path: Path):
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces

    rgb = read_image(path).rgb
    aligned, info = align_face(rgb, detect_faces(rgb, backend="dlib")[0].points, size=256)
    return aligned, info.points


def _lower_face_lightness(rgb: np.ndarray, points: np.ndarray) -> float:
    """Mean CIELAB L* (0..100) of the skin below the eyes (style.filters.skin_interior): the
    forehead is left out, where the baby's bare forehead replaces a fringe, a cap or glasses."""
    import cv2

    from emoget_cli.style.filters import skin_interior

    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100 / 255)
    eye_y = np.mean([e[1] for e in ibug68.eye_centres(points)])
    rows = np.arange(rgb.shape[0])[:, None]
    skin = skin_interior(rgb.shape, points) & \
        (rows > eye_y + 0.25 * ibug68.inter_ocular_distance(points))
    return float(light[skin].mean())


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.stem)
def test_baby_keeps_the_person_and_their_skin_tone(path):
    from emoget_cli.face import face_distance, face_embedding
    from emoget_cli.style import stylize

    rgb, pts = _aligned(path)
    res = stylize(rgb, pts, "baby")
    dist = face_distance(face_embedding(rgb, pts), face_embedding(res.image, res.points))
    assert dist < 0.6, dist
    shift = _lower_face_lightness(res.image, res.points) - _lower_face_lightness(rgb, pts)
    assert abs(shift) <= 6, shift
