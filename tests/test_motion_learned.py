"""The learned landmark-motion generator: data loading, training (seed vs temporal), the safe
model file, and `emoget train motion`."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from emoget_cli.core.errors import CheckpointError, TrackError, UsageError
from emoget_cli.core.track import LandmarkTrack, save_track
from emoget_cli.motion import (MotionConfig, TrainMotionConfig, dataset_from_tracks, inner_lip_distance,
                               inter_ocular_distance, load_motion_model, load_tracks_dir, train_motion)
from emoget_cli.motion.synth import synthesize_tracks

from emoget_cli.motion.geometry import SAMPLE_FACE_POINTS as ASTRONAUT_68
from emoget_cli.motion.reference import NEUTRAL_REFERENCE

CLASSES = ["happiness", "surprise", "disgust", "sadness", "anger", "fear", "contempt", "wink"]


@pytest.fixture(scope="module")
def trained():
    tracks = synthesize_tracks(CLASSES, 6, frames=24, seed=3)
    data = dataset_from_tracks([(t.label, t.points_array()) for t in tracks], 24)
    return train_motion(data, TrainMotionConfig(steps=200, seed=0))


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    return trained.model.save(tmp_path_factory.mktemp("motion") / "motion.pt")


def test_temporal_model_beats_the_seed_model(trained):
    e = trained.errors
    assert trained.n_val >= len(CLASSES) and trained.classes == sorted(CLASSES)
    assert e["temporal"] < 0.012  # held-out mean point error, in inter-ocular distances
    assert e["temporal"] < 0.75 * e["seed"]
    assert e["temporal"] < 0.5 * e["still"]  # far better than predicting no motion
    assert trained.model.arch == "temporal"


def test_learned_motion_generates_the_expression(model_file):
    model = load_motion_model(model_file)
    l0 = ASTRONAUT_68
    track = model.generate(l0, "surprise", MotionConfig(frames=24))
    assert track.shape == (24, 68, 2) and track.dtype == np.float32
    np.testing.assert_allclose(track[0], l0, atol=1e-3)
    assert max(inner_lip_distance(p) for p in track) >= 1.8 * inner_lip_distance(l0)
    neutral = (NEUTRAL_REFERENCE * np.array([1.0, -1.0]) * 60.0 + 128.0).astype(np.float32)
    happy = model.generate(neutral, "happiness", MotionConfig(head="none"))
    assert happy[:, 48, 1].min() < neutral[48, 1] - 0.05 * 60.0  # corners up on a neutral face
    # loops, also when resampled to another frame count
    for frames in (24, 10):
        t = model.generate(l0, "fear+wink:0.5", MotionConfig(frames=frames, head="nod"))
        steps = np.linalg.norm(np.diff(t, axis=0), axis=2).mean(1)
        assert t.shape[0] == frames
        assert np.linalg.norm(t[0] - t[-1], axis=1).mean() <= 1.25 * np.median(steps) + 0.05
    still = model.generate(l0, "happiness", MotionConfig(intensity=0.0))
    np.testing.assert_allclose(still, np.repeat(l0[None], 24, 0), atol=1e-3)


def test_saved_model_round_trips(trained, model_file):
    loaded = load_motion_model(model_file)
    assert loaded.classes == trained.model.classes and loaded.arch == trained.model.arch
    assert loaded.metrics["heldout_error_temporal"] == pytest.approx(trained.errors["temporal"])
    np.testing.assert_allclose(loaded.generate(ASTRONAUT_68, "anger"),
                               trained.model.generate(ASTRONAUT_68, "anger"), atol=1e-4)


def test_unknown_label_lists_the_model_classes(model_file):
    with pytest.raises(UsageError) as err:
        load_motion_model(model_file).generate(ASTRONAUT_68, "blink")  # not trained
    assert "happiness" in str(err.value) and "contempt" in str(err.value)
    # the syntax example uses the model's own classes, not the library's happiness+wink
    first, second = sorted(CLASSES)[:2]
    assert f"e.g. {first}:0.5+{second})" in str(err.value)


class Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_malicious_pickle_is_refused_without_running(tmp_path, writer):
    import torch

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"format": "emoget.motion", "obj": Exploit(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError):
        load_motion_model(path)
    assert not marker.exists()


def test_wrong_model_files(tmp_path, model_file):
    import torch

    with pytest.raises(CheckpointError, match="no such"):
        load_motion_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(CheckpointError):
        load_motion_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"g_ema": {"w": torch.zeros(3)}}, other)  # some other checkpoint
    with pytest.raises(CheckpointError, match="not an emoget motion model"):
        load_motion_model(other)
    good = torch.load(model_file, weights_only=True)
    for key, value in [("version", 99), ("arch", "lstm"), ("classes", []),
                       ("neutral_mean", torch.zeros(5))]:
        bad = dict(good, **{key: value})
        torch.save(bad, tmp_path / "bad.pt")
        with pytest.raises(CheckpointError):
            load_motion_model(tmp_path / "bad.pt")
    state = dict(good["state_dict"])
    first = next(iter(state))
    state[first] = torch.zeros(3, 3)  # wrong shape
    torch.save(dict(good, state_dict=state), tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        load_motion_model(tmp_path / "shape.pt")


# --------------------------------------------------------------------------- track folders

def write_dataset(root, per_class=4, classes=("happiness", "surprise", "wink"), seed=5):
    """Half the tracks in expression-named folders without a label, half with a label field."""
    tracks = synthesize_tracks(list(classes), per_class, frames=16, seed=seed)
    for i, t in enumerate(tracks):
        if i % 2:
            save_track(t, root / "labelled" / f"t{i}.landmarks.json")
        else:
            label, t.label = t.label, None
            save_track(t, root / label / f"t{i}.landmarks.json")
    return tracks


def test_load_tracks_dir_labels_from_field_or_folder(tmp_path):
    write_dataset(tmp_path)
    data = load_tracks_dir(tmp_path, frames=20)  # resampled 16 → 20
    assert data.classes == ["happiness", "surprise", "wink"]
    assert data.disp.shape == (12, 20, 68, 2) and np.bincount(data.labels).tolist() == [4, 4, 4]
    np.testing.assert_array_equal(data.disp[:, 0], 0.0)
    # normalised by the eyes of frame 0: unit inter-ocular distance, eyes on the x axis
    assert np.allclose([inter_ocular_distance(n) for n in data.neutral], 1.0)


def test_track_without_label_in_the_root_is_refused(tmp_path):
    t = synthesize_tracks(["happiness"], 1, frames=8)[0]
    t.label = None
    save_track(t, tmp_path / "x.landmarks.json")
    with pytest.raises(TrackError, match="no label"):
        load_tracks_dir(tmp_path, 8)


def test_malformed_tracks_are_refused(tmp_path):
    write_dataset(tmp_path, per_class=1)
    bad = LandmarkTrack.from_points(np.zeros((4, 68, 2)), (64, 64), label="happiness").to_dict()
    bad["frames"][1]["faces"][0]["points"] = [[1.0, 2.0]] * 67  # wrong point count
    (tmp_path / "bad.landmarks.json").write_text(json.dumps(bad))
    with pytest.raises(TrackError, match="68"):
        load_tracks_dir(tmp_path, 8)


def test_track_with_a_faceless_frame_is_refused(tmp_path):
    t = synthesize_tracks(["wink"], 1, frames=6)[0]
    t.frames[3].faces = []
    save_track(t, tmp_path / "wink" / "gap.landmarks.json")
    with pytest.raises(TrackError, match="gap.landmarks.json.*no face"):
        load_tracks_dir(tmp_path, 8)


def test_short_or_degenerate_tracks_are_refused():
    with pytest.raises(TrackError, match="2 frames"):
        dataset_from_tracks([("happiness", np.ones((1, 68, 2)))], 8)
    with pytest.raises(TrackError, match="shape"):
        dataset_from_tracks([("happiness", np.ones((5, 66, 2)))], 8)
    with pytest.raises(TrackError, match="eyes coincide"):
        dataset_from_tracks([("happiness", np.ones((5, 68, 2)))], 8)


def test_empty_or_missing_data_folder(tmp_path):
    with pytest.raises(UsageError, match="no \\*.landmarks.json"):
        load_tracks_dir(tmp_path, 8)
    with pytest.raises(UsageError, match="not a folder"):
        load_tracks_dir(tmp_path / "nope", 8)


def test_train_config_validation():
    for kwargs in ({"frames": 1}, {"steps": 0}, {"holdout": 1.0}, {"arch": "lstm"}, {"lr": -1.0}):
        with pytest.raises(UsageError):
            TrainMotionConfig(**kwargs)


# --------------------------------------------------------------------------- CLI

def test_cli_train_motion(cli, tmp_path):
    write_dataset(tmp_path / "data")
    out = tmp_path / "models" / "motion.pt"
    result = cli("train", "motion", "--data", tmp_path / "data", "-o", out, "--steps", "120",
                 "--frames", "16", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    errors = report["heldout_error_iod"]
    assert set(errors) == {"still", "seed", "temporal"} and report["arch"] in ("seed", "temporal")
    assert report["arch"] == min(("seed", "temporal"), key=errors.get)
    model = load_motion_model(out)
    assert model.classes == ["happiness", "surprise", "wink"] and model.frames == 16

    human = cli("train", "motion", "--data", tmp_path / "data", "-o", tmp_path / "seed.pt",
                "--steps", "20", "--arch", "seed")
    assert human.exit_code == 0, human.output
    assert "seed (linear)" in human.stdout and "temporal (GRU)" in human.stdout
    assert load_motion_model(tmp_path / "seed.pt").arch == "seed"


def test_cli_train_motion_bad_input(cli, tmp_path):
    out = tmp_path / "motion.pt"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("train", "motion", "--data", empty, "-o", out)
    assert result.exit_code == 2 and "no *.landmarks.json" in result.output
    (empty / "x.landmarks.json").write_text("{not json")
    result = cli("train", "motion", "--data", empty, "-o", out)
    assert result.exit_code == 6 and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.glob("*.pt*")) == []
