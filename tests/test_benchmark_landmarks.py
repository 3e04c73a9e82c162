"""benchmarks/recorded_landmarks.py: the sample's recorded points that the GPU benchmarks replay
where dlib's model is missing must be what dlib finds, and must be served for that image only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from emoget_cli.core.errors import NoFaceError
from emoget_cli.core.image_io import read_image
from emoget_cli.face import backends, detect_faces
from emoget_cli.pipeline import sample_input

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "recorded_landmarks.py"


@pytest.fixture()
def recorded(monkeypatch):
    spec = importlib.util.spec_from_file_location("recorded_landmarks", BENCH)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "recorded_landmarks", module)
    spec.loader.exec_module(module)
    # the registry and the loaded instances are process-wide: give the test its own copies
    monkeypatch.setattr(backends, "BACKENDS", dict(backends.BACKENDS))
    monkeypatch.setattr(backends, "_INSTANCES", {})
    return module


def test_recorded_points_are_what_dlib_finds_on_the_sample(recorded):
    from emoget_cli.core.track import load_track

    rgb = read_image(sample_input()).rgb
    live = detect_faces(rgb, backend="dlib")[0].points
    track = load_track(recorded.RECORDED)
    assert track.meta["pixels_sha256"] == recorded.pixels_sha256(rgb)
    np.testing.assert_allclose(track.frames[0].faces[0].points, live, atol=0.01)


def test_replay_serves_the_sample_only_and_only_without_dlib(recorded, monkeypatch):
    assert recorded.install_if_dlib_missing() is False  # dlib works here: nothing replaced
    assert backends.BACKENDS["dlib"] is backends.DlibBackend

    monkeypatch.setattr(backends.DlibBackend, "availability",
                        classmethod(lambda cls: (False, "hidden by the test")))
    assert recorded.install_if_dlib_missing() is True
    rgb = read_image(sample_input()).rgb
    (face,) = detect_faces(rgb, backend="dlib")
    assert backends.BACKENDS["dlib"] is not backends.DlibBackend
    assert face.points.shape == (68, 2) and 150 < face.points[:, 0].mean() < 300
    with pytest.raises(NoFaceError):  # any other picture (a random generator's) has no face
        detect_faces(np.ascontiguousarray(rgb[:, ::-1]), backend="dlib")
