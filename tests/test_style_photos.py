"""Each classic style on every real photo of tests/data/photos and the bundled sample: the styled
face is still the same person (dlib face-recognition distance < 0.6, issue 10) and the style does
not lighten or darken the skin (mean L* of the cheeks and chin,
`style.filters.skin_interior(below_eyes=True)`, as benchmarks/style_photos.py measures it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
SAMPLE = Path(__file__).resolve().parents[1] / "emoget_cli" / "assets" / "sample_face.jpg"
PHOTO_PATHS = [SAMPLE] + sorted(PHOTOS.glob("*.jpg"))

#: every classic style that changes the photo
STYLES = ["cartoon", "baby", "painting", "caricature", "caricature-cartoon"]
IDENTITY_MAX = 0.6      # dlib's "same person" threshold
SKIN_LIGHTNESS_MAX = 6.0  # |ΔL*| of the skin's mean, L* in 0..100


def skin_lightness(rgb: np.ndarray, points: np.ndarray) -> float:
    """Mean L* (0..100) of the cheeks' and chin's skin away from the face's outline and features
    (the mean, so that flattened shading shows; below the eyes, where a style redraws no fringe,
    cap or glasses)."""
    import cv2

    from emoget_cli.style.filters import skin_interior

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    return float(lab[..., 0][skin_interior(rgb.shape, points, below_eyes=True)].mean()) * 100.0 / 255.0


@pytest.fixture(scope="module")
def photos() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """stem -> (aligned uint8 [256, 256, 3], points [68, 2], embedding [128], skin L*), each
    photo detected, aligned and embedded once for the module."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, face_embedding

    out = {}
    for path in PHOTO_PATHS:
        rgb = read_image(path).rgb
        face = detect_faces(rgb, backend="dlib")[0]
        aligned, info = align_face(rgb, face.points, size=256)
        out[path.stem] = (aligned, info.points, face_embedding(aligned, info.points),
                          skin_lightness(aligned, info.points))
    return out


def test_there_are_real_photos_besides_the_sample():
    assert len(PHOTO_PATHS) >= 5 and all(p.is_file() for p in PHOTO_PATHS)


@pytest.mark.parametrize("photo", [p.stem for p in PHOTO_PATHS])
@pytest.mark.parametrize("style", STYLES)
def test_style_keeps_identity_and_skin_lightness_on_real_photos(photos, style, photo):
    from emoget_cli.face import face_distance, face_embedding
    from emoget_cli.style import stylize

    rgb, points, reference, lightness = photos[photo]
    res = stylize(rgb, points, style)
    assert np.abs(res.image.astype(int) - rgb).mean() > 4, "the style changed nothing"
    dist = face_distance(reference, face_embedding(res.image, res.points))
    assert dist < IDENTITY_MAX, f"{style} on {photo}: identity distance {dist:.3f}"
    if style.startswith("caricature"):
        # a caricature moves the features against the skin window (the reshaped photo alone is
        # 10 L* darker there on the sample): its rendering is held to the reshaped photo
        import dataclasses

        from emoget_cli.style.classic import CLASSIC_STYLES, stylize_classic

        plain = dataclasses.replace(CLASSIC_STYLES[style], filter=None)
        warped, moved = stylize_classic(rgb, points, plain)
        lightness = skin_lightness(warped, moved)
    shift = skin_lightness(res.image, res.points) - lightness
    assert abs(shift) <= SKIN_LIGHTNESS_MAX, f"{style} on {photo}: skin ΔL* {shift:+.1f}"
