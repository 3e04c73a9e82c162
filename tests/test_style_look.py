"""Each classic style looks like its name, measured on the real sample face (the astronaut):
identity kept (dlib distance < 0.6), and a property of the look per style — cartoon: flat skin
and ink on the landmark contours only; baby: big low eyes, a big forehead, a short chin;
painting: coherent brush directions; caricature: the deviation from the mean face scaled by
--strength."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core import ibug68
from emoget_cli.core.errors import UsageError
from emoget_cli.style import stylize

LOOK_STYLES = ("cartoon", "baby", "painting", "caricature", "caricature-cartoon")


@pytest.fixture(scope="module")
def aligned(astronaut_rgb):
    from emoget_cli.face import align_face, detect_faces

    face = detect_faces(astronaut_rgb, backend="dlib")[0]
    rgb, info = align_face(astronaut_rgb, face.points, size=256)
    return rgb, info.points


@pytest.fixture(scope="module")
def styled(aligned):
    rgb, pts = aligned
    return {s: stylize(rgb, pts, s) for s in LOOK_STYLES}


@pytest.mark.parametrize("name", LOOK_STYLES)
def test_identity_is_kept(styled, aligned, name):
    from emoget_cli.face import face_distance, face_embedding

    rgb, pts = aligned
    res = styled[name]
    dist = face_distance(face_embedding(rgb, pts), face_embedding(res.image, res.points))
    assert dist < 0.6, f"{name}: identity distance {dist:.3f}"


# ------------------------------------------------------------------------------ caricature --

def test_caricature_scales_the_deviation_from_the_mean_face(aligned, styled):
    from emoget_cli.style.caricature import deviation, fit_mean_shape

    rgb, pts = aligned
    dev0 = deviation(pts)
    # the mean face fitted to itself has no deviation; the sample face has a real one
    mean = fit_mean_shape(pts)
    np.testing.assert_allclose(deviation(mean), 0, atol=1e-6)
    assert np.linalg.norm(dev0, axis=1).max() > 0.08 * ibug68.inter_ocular_distance(pts)
    for k, res in ((1.6, styled["caricature"]), (2.2, stylize(rgb, pts, "caricature",
                                                                 strength=2.2))):
        dev = deviation(res.points)
        ratio = np.linalg.norm(dev) / np.linalg.norm(dev0)
        assert ratio == pytest.approx(k, rel=0.03), k
        # the same direction: the face's own traits, not new ones
        cos = (dev * dev0).sum() / (np.linalg.norm(dev) * np.linalg.norm(dev0))
        assert cos > 0.99
    same = stylize(rgb, pts, "caricature", strength=1.0)
    np.testing.assert_allclose(same.points, pts, atol=1e-4)
    with pytest.raises(UsageError, match="0..3"):
        stylize(rgb, pts, "caricature", strength=3.5)
    with pytest.raises(UsageError, match="0..1"):
        stylize(rgb, pts, "baby", strength=1.6)
