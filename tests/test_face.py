"""Face detection + landmarks on the real astronaut portrait: plausibility, robustness, backends."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import DependencyError, InputError, NoFaceError, UsageError
from emoget_cli.core.ibug68 import INTERIOR, eye_centres
from emoget_cli.core.track import FaceLandmarks
from emoget_cli.face import BACKENDS, LandmarkBackend, detect_faces, resolve_backend_name
from emoget_cli.face import backends as backends_mod


@pytest.fixture(scope="session")
def astronaut_face(astronaut_rgb) -> FaceLandmarks:
    return detect_faces(astronaut_rgb, backend="dlib")[0]


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    return np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale)),
                                                  Image.Resampling.LANCZOS))


def test_astronaut_landmarks_are_plausible(astronaut_face, astronaut_rgb):
    pts = astronaut_face.points
    assert pts.shape == (68, 2) and pts.dtype == np.float32
    x0, y0, x1, y1 = astronaut_face.box
    # the face of the astronaut (Eileen Collins) is around (180..265, 80..170) in the 512² image
    assert 150 < x0 < 200 and 60 < y0 < 110 and 240 < x1 < 290 and 150 < y1 < 200
    assert astronaut_face.score > 0.5
    eyes_y = pts[36:48, 1].mean()
    nose_y = pts[30, 1]
    mouth_y = pts[48:68, 1].mean()
    chin_y = pts[8, 1]
    assert eyes_y < nose_y < mouth_y < chin_y
    brows_y = pts[17:27, 1].mean()
    assert brows_y < eyes_y
    left, right = eye_centres(pts)
    assert left[0] < pts[30, 0] < right[0]          # nose between the eyes (image left/right)
    assert pts[48, 0] < pts[54, 0]                   # mouth corners in order
    # inner features lie inside the detector box (a small margin for the fit)
    inner = pts[INTERIOR]
    margin = 0.1 * (x1 - x0)
    assert np.all(inner[:, 0] > x0 - margin) and np.all(inner[:, 0] < x1 + margin)
    assert np.all(inner[:, 1] > y0 - margin) and np.all(inner[:, 1] < y1 + margin)


def test_detection_is_deterministic_and_accepts_grey_and_rgba(astronaut_rgb, astronaut_face):
    again = detect_faces(astronaut_rgb, backend="dlib")[0]
    np.testing.assert_array_equal(again.points, astronaut_face.points)
    grey = astronaut_rgb.mean(2).astype(np.uint8)
    g = detect_faces(grey, backend="dlib")[0]
    assert np.abs(g.points - astronaut_face.points).mean() < 3.0
    rgba = np.dstack([astronaut_rgb, np.full(astronaut_rgb.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(detect_faces(rgba, backend="dlib")[0].points, astronaut_face.points)


def test_bad_arrays_are_input_errors():
    with pytest.raises(InputError):
        detect_faces(np.zeros((64, 64, 3), np.float32), backend="dlib")
    with pytest.raises(InputError):
        detect_faces(np.zeros((64, 64, 2), np.uint8), backend="dlib")


@pytest.mark.parametrize("kind", ["flat", "noise"])
def test_no_face_raises(kind):
    rng = np.random.default_rng(0)
    img = (np.full((256, 256, 3), 128, np.uint8) if kind == "flat"
           else rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    with pytest.raises(NoFaceError):
        detect_faces(img, backend="dlib")
    assert detect_faces(img, backend="dlib", allow_empty=True) == []


def test_small_face_found_by_upsampling(astronaut_rgb, astronaut_face):
    small = _resize(astronaut_rgb, 0.4)           # face ~35 px: below HOG's 80 px window
    detector = backends_mod.get_backend("dlib")._detector
    assert len(detector.run(small, 0, 0.0)[0]) == 0   # the plain pass misses it ...
    face = detect_faces(small, backend="dlib")[0]    # ... the retry finds it
    for got, want in zip(eye_centres(face.points), eye_centres(astronaut_face.points * 0.4)):
        assert np.hypot(*(got - want)) < 3.0


def test_all_faces_largest_first(astronaut_rgb):
    crop = astronaut_rgb[30:250, 120:330]             # the head, 220x210
    big = _resize(crop, 1.3)
    canvas = np.full((big.shape[0] + 20, big.shape[1] + crop.shape[1] + 40, 3), 200, np.uint8)
    canvas[10:10 + big.shape[0], 10:10 + big.shape[1]] = big
    x = 30 + big.shape[1]
    canvas[10:10 + crop.shape[0], x:x + crop.shape[1]] = crop
    faces = detect_faces(canvas, backend="dlib", all_faces=True)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].points[:, 0].mean() < x < faces[1].points[:, 0].mean()
    only = detect_faces(canvas, backend="dlib")
    assert len(only) == 1
    np.testing.assert_array_equal(only[0].points, faces[0].points)


# --------------------------------------------------------------------------- backends
def test_registry_lists_dlib_and_fan():
    assert set(BACKENDS) == {"dlib", "fan"}
    for cls in BACKENDS.values():
        assert issubclass(cls, LandmarkBackend)
        ok, why = cls.availability()
        assert isinstance(ok, bool) and why
    with pytest.raises(UsageError):
        resolve_backend_name("opencv")


@pytest.fixture()
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(backends_mod, "_INSTANCES", {})
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_fan_missing_weights_names_files_and_folder(empty_hub):
    files = backends_mod.fan_weight_files()
    assert files == ["2DFAN4-11f355bf06.pth.tar", "s3fd-619a316812.pth"]  # face-alignment 1.5
    assert resolve_backend_name("auto") == "dlib"
    with pytest.raises(DependencyError) as err:
        backends_mod.get_backend("fan")
    msg = str(err.value)
    assert all(name in msg for name in files) and str(empty_hub) in msg
    ok, why = BACKENDS["fan"].availability()
    assert not ok and files[0] in why


def test_fan_backend_wiring(empty_hub, monkeypatch, astronaut_face):
    """With the weight files in place, auto picks FAN and its results become FaceLandmarks.
    (The real networks are not in this sandbox; FaceAlignment is replaced by a recorder.)"""
    import face_alignment

    empty_hub.mkdir(parents=True)
    for name in backends_mod.fan_weight_files():
        (empty_hub / name).write_bytes(b"x")
    seen = {}

    class FakeFA:
        def __init__(self, landmarks_type, **kwargs):
            seen.update(kwargs, landmarks_type=landmarks_type)

        def get_landmarks_from_image(self, image, return_bboxes=False):
            seen["image_shape"] = image.shape
            pts = astronaut_face.points
            return [pts, pts * 0.5], None, [np.array([1, 2, 30, 40, 0.9]), np.array([0, 0, 5, 5, 0.7])]

    monkeypatch.setattr(face_alignment, "FaceAlignment", FakeFA)
    assert resolve_backend_name("auto") == "fan"
    faces = detect_faces(np.zeros((64, 80, 3), np.uint8), backend="auto", all_faces=True)
    assert seen["landmarks_type"] == face_alignment.LandmarksType.TWO_D
    assert seen["device"] == "cpu" and seen["flip_input"] is False and seen["compile"] is False
    assert seen["face_detector_kwargs"] == {"path_to_detector": str(empty_hub / "s3fd-619a316812.pth")}
    assert seen["image_shape"] == (64, 80, 3)
    assert [f.score for f in faces] == pytest.approx([0.9, 0.7])
    assert faces[0].box == (1.0, 2.0, 30.0, 40.0)
    np.testing.assert_allclose(faces[1].points, astronaut_face.points * 0.5)
