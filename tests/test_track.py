"""The landmark track schema: round trips and rejection of malformed files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoget_cli.core.errors import TrackError
from emoget_cli.core.track import (AlignedFace, FaceLandmarks, LandmarkTrack, TrackFrame,
                                   load_track, save_track, track_from_dict)


def sample_track() -> LandmarkTrack:
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 500, (3, 68, 2)).round(3).astype(np.float32)
    frames = [TrackFrame(0, [FaceLandmarks(pts[0], (1.5, 2.0, 300.25, 400.0), 0.875),
                             FaceLandmarks(pts[1], None, None)]),
              TrackFrame(2, []),
              TrackFrame(4, [FaceLandmarks(pts[2], (0.0, 0.0, 10.0, 10.0), 1.0)])]
    aligned = AlignedFace(256, [[0, 0], [0, 9], [9, 9], [9, 0]], pts[1] / 2, image="face.png")
    return LandmarkTrack((640, 480), frames, fps=12.5, source="clip.mp4", label="surprise",
                         aligned=aligned, meta={"backend": "dlib", "n": [1, 2]})


def test_round_trip(tmp_path):
    track = sample_track()
    path = save_track(track, tmp_path / "t.landmarks.json")
    back = load_track(path)
    assert back.to_dict() == track.to_dict()
    assert back.image_size == (640, 480) and back.fps == 12.5 and back.label == "surprise"
    assert [f.index for f in back.frames] == [0, 2, 4]
    np.testing.assert_allclose(back.frames[0].faces[0].points, track.frames[0].faces[0].points, atol=1e-3)
    assert back.frames[0].faces[0].box == (1.5, 2.0, 300.25, 400.0)
    assert back.frames[0].faces[1].box == pytest.approx(track.frames[0].faces[1].box, abs=1e-3)  # from points
    np.testing.assert_allclose(back.aligned.points, track.aligned.points, atol=1e-3)
    assert back.aligned.image == "face.png" and back.aligned.size == 256
    # a second round trip is byte-identical
    path2 = save_track(back, tmp_path / "t2.landmarks.json")
    assert path2.read_bytes() == path.read_bytes()
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"], doc["scheme"]) == ("emoget.landmarks", 2, "ibug68")


def test_from_points_and_points_array():
    pts = np.arange(3 * 68 * 2, dtype=np.float32).reshape(3, 68, 2)
    track = LandmarkTrack.from_points(pts, (100, 200), fps=8)
    np.testing.assert_array_equal(track.points_array(), pts)
    with pytest.raises(TrackError):
        track.points_array(face=1)


def _doc() -> dict:
    return sample_track().to_dict()


def _set(path: str, value):
    def edit(doc):
        target = doc
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        last = keys[-1]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return doc
    return edit


MALFORMED = {
    "not an object": lambda d: [1, 2, 3],
    "wrong format": _set("format", "something.else"),
    "future version": _set("version", 99),
    "version as string": _set("version", "1"),
    "other scheme": _set("scheme", "mediapipe468"),
    "bad image size": _set("image_size", [0, 480]),
    "image size floats": _set("image_size", [640.5, 480]),
    "negative fps": _set("fps", -3),
    "no frames": _set("frames", []),
    "frame without faces": _set("frames.0", {"index": 0}),
    "67 points": _set("frames.0.faces.0.points", [[0, 0]] * 67),
    "3-D points": _set("frames.0.faces.0.points", [[0, 0, 0]] * 68),
    "text points": _set("frames.0.faces.0.points", [["a", "b"]] * 68),
    "NaN point": _set("frames.0.faces.0.points.5", [float("nan"), 1.0]),
    "short box": _set("frames.0.faces.0.box", [1, 2, 3]),
    "bool score": _set("frames.0.faces.0.score", True),
    "float index": _set("frames.0.index", 1.5),
    "aligned without quad": _set("aligned.quad", KeyError),
    "label number": _set("label", 5),
    "meta list": _set("meta", [1]),
    "bool version": _set("version", True),
    "huge image size": _set("image_size", [10**30, 480]),
    "huge fps": _set("fps", 1e308),
    "NaN fps": _set("fps", float("nan")),
    "point beyond float32": _set("frames.0.faces.0.points.5", [1e308, 1.0]),
    "point with 400 digits": _set("frames.0.faces.0.points.5", [10**400, 1]),
    "bool in point": _set("frames.0.faces.0.points.5", [True, 1]),
    "numbers as text": _set("frames.0.faces.0.points.5", ["1", "2"]),
    "points as object": _set("frames.0.faces.0.points", {"x": 1}),
    "huge box": _set("frames.0.faces.0.box", [0, 0, 1e300, 1e300]),
    "negative index": _set("frames.0.index", -1),
    "indices not increasing": _set("frames.2.index", 2),
    "NaN quad": _set("aligned.quad.0", [float("nan"), 0.0]),
    "degenerate quad": _set("aligned.quad", [[5, 5]] * 4),
    "aligned size zero": _set("aligned.size", 0),
    "photo units a list": _set("photo_units", [0.5]),
    "photo unit negative": _set("photo_units", {"12": -0.5}),
    "photo unit NaN": _set("photo_units", {"12": float("nan")}),
    "photo unit huge": _set("photo_units", {"12": 1e9}),
    "photo unit as text": _set("photo_units", {"12": "0.5"}),
    "photo unit bad code": _set("photo_units", {"12; rm": 0.5}),
    "aligned size bool": _set("aligned.size", True),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_documents_rejected(name, tmp_path):
    doc = MALFORMED[name](_doc())
    path = tmp_path / "bad.landmarks.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TrackError) as err:
        load_track(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00binary", b"null",
                                     b"[" * 100_000 + b"]" * 100_000])
def test_unreadable_files_rejected(content, tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(TrackError) as err:
        load_track(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_file_and_dict_api(tmp_path):
    with pytest.raises(TrackError, match="no such"):
        load_track(tmp_path / "none.json")
    assert track_from_dict(_doc()).to_dict() == _doc()


def test_nan_is_never_written(tmp_path):
    track = sample_track()
    track.frames[0].faces[0].points[3, 0] = np.nan
    with pytest.raises(TrackError, match="NaN"):
        save_track(track, tmp_path / "t.landmarks.json")
    track = sample_track()
    track.meta["scale"] = float("inf")
    with pytest.raises(TrackError):
        save_track(track, tmp_path / "t.landmarks.json")
    assert list(tmp_path.iterdir()) == []


def test_photo_units_round_trip_and_version_1_still_loads(tmp_path):
    from emoget_cli.core.track import load_track, save_track, track_from_dict

    pts = np.zeros((2, 68, 2), np.float32) + np.arange(68, dtype=np.float32)[None, :, None]
    track = LandmarkTrack.from_points(pts, (64, 64), fps=12.0, photo_units={"12": 0.52, "25": 1.07})
    back = load_track(save_track(track, tmp_path / "t.landmarks.json"))
    assert back.photo_units == {"12": 0.52, "25": 1.07}
    old = track.to_dict()
    old["version"] = 1
    del old["photo_units"]
    assert track_from_dict(old).photo_units is None
