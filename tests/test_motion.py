"""FACS expression library: parsing, the generated landmark motion and its quality guarantees."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emoget_cli.core.errors import TrackError, UsageError
from emoget_cli.core.ibug68 import EYES, indices
from emoget_cli.motion import (EXPRESSIONS, FaceFrame, MotionConfig, eye_apertures, generate_motion,
                               inner_lip_distance, inter_ocular_distance, parse_expression,
                               template_points)
from emoget_cli.motion.envelope import envelope
from emoget_cli.motion.geometry import INNER_LIPS, LIDS_LEFT, LIDS_RIGHT, SAMPLE_FACE_POINTS

# dlib's 68-point detection on skimage.data.astronaut() (512², lips slightly parted, ~3.5° roll).
ASTRONAUT_68 = SAMPLE_FACE_POINTS

TEMPLATE_256 = template_points(256)  # lips closed
FACES = {"astronaut": ASTRONAUT_68, "template": TEMPLATE_256}
#: The units alone, added to the photo as it is (no replacement of its own smile, no head motion):
#: what the geometry tests of single units measure.
ADDITIVE = MotionConfig(head="none", replace=False)
ALL_EXPR = sorted(EXPRESSIONS)


def rotate(points: np.ndarray, degrees: float, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = points.mean(0)
    return ((points - c) @ rot.T * scale + c + np.asarray(shift)).astype(np.float32)


def apex(track: np.ndarray) -> np.ndarray:
    """The frame farthest from frame 0."""
    return track[int(np.argmax(np.abs(track - track[0]).sum(axis=(1, 2))))]


# --------------------------------------------------------------------------- parsing & config

def test_parse_combination_and_intensities():
    assert parse_expression("happiness+wink").terms == (("happiness", 1.0), ("wink", 1.0))
    spec = parse_expression(" Happiness:0.5 + wink ")
    assert spec.terms == (("happiness", 0.5), ("wink", 1.0))
    assert str(spec) == "happiness:0.5+wink"
    assert parse_expression(spec) == spec
    assert parse_expression("happy+surprised").names == ("happiness", "surprise")  # aliases


@pytest.mark.parametrize("text", ["grin", "happiness+grin", "happiness+", ""])
def test_unknown_expression_lists_valid_names(text):
    with pytest.raises(UsageError) as err:
        parse_expression(text)
    for name in ("happiness", "surprise", "disgust", "wink", "contempt"):
        assert name in str(err.value)


@pytest.mark.parametrize("text", ["happiness:1.5", "happiness:-0.1", "happiness:x", "happiness:nan"])
def test_bad_term_intensity(text):
    with pytest.raises(UsageError, match="0..1"):
        parse_expression(text)


def test_unknown_expression_through_generate():
    with pytest.raises(UsageError, match="valid:"):
        generate_motion(TEMPLATE_256, "smirk")


@pytest.mark.parametrize("kwargs", [{"frames": 1}, {"frames": 2.5}, {"fps": 0}, {"fps": float("inf")},
                                    {"intensity": 1.6}, {"intensity": -0.1}, {"head": "spin"},
                                    {"seed": "x"}])
def test_config_validation(kwargs):
    with pytest.raises(UsageError):
        MotionConfig(**kwargs)


def test_config_is_frozen():
    cfg = MotionConfig(frames=12, fps=6.0)
    assert cfg.duration == 2.0
    with pytest.raises(Exception):
        cfg.frames = 3  # type: ignore[misc]


@pytest.mark.parametrize("bad", [np.zeros((67, 2)), np.full((68, 2), np.nan), np.zeros((68, 2))])
def test_bad_landmarks(bad):
    with pytest.raises(TrackError):
        generate_motion(bad, "happiness")


# --------------------------------------------------------------------------- track properties

@pytest.mark.parametrize("expr", ALL_EXPR)
def test_frame0_is_neutral_and_shape(expr):
    for l0 in FACES.values():
        track = generate_motion(l0, expr, MotionConfig(frames=24))
        assert track.shape == (24, 68, 2) and track.dtype == np.float32
        np.testing.assert_allclose(track[0], l0, atol=1e-3)
        assert np.all(np.isfinite(track))


@pytest.mark.parametrize("expr,head,frames", list(itertools.product(
    ["happiness", "surprise", "fear", "wink", "blink", "idle", "happiness+blink"],
    ["none", "nod", "tilt"], [24, 10])))
def test_seamless_loop(expr, head, frames):
    track = generate_motion(ASTRONAUT_68, expr, MotionConfig(frames=frames, head=head))
    steps = np.linalg.norm(np.diff(track, axis=0), axis=2).mean(1)  # [T-1] mean px per step
    wrap = np.linalg.norm(track[0] - track[-1], axis=1).mean()
    assert np.abs(track - track[0]).max() > 1.0  # it moves
    assert wrap <= 1.25 * np.median(steps) + 1e-4  # the last frame flows into the first
    # smooth: no single step is a jump compared with the motion's typical pace (a blink is fast)
    assert steps.max() <= 6.0 * steps[steps > 1e-6].mean()


def test_envelopes_start_at_rest_and_peak():
    for kind in ("sustain", "pulse", "breath"):
        for frames in (2, 3, 5, 24, 25, 60):
            env = envelope(kind, frames)
            assert env[0] == 0.0 and env.max() >= 0.75 and env.min() >= 0.0 and env.max() <= 1.0


@pytest.mark.parametrize("name", ["astronaut", "template"])
def test_surprise_opens_the_mouth(name):
    l0 = FACES[name]
    iod = inter_ocular_distance(l0)
    track = generate_motion(l0, "surprise")
    neutral = inner_lip_distance(l0)
    peak = max(inner_lip_distance(p) for p in track)
    assert peak >= 2.0 * neutral
    assert peak - neutral >= 0.25 * iod  # a clear opening even from closed lips
    # brows go up (AU1+2): the brow points rise in image y
    assert np.all(apex(track)[17:27, 1] < l0[17:27, 1] - 0.03 * iod)


def test_surprise_on_a_wide_open_neutral_mouth_still_doubles():
    l0 = TEMPLATE_256.copy()
    l0[65:68, 1] += 0.4 * inter_ocular_distance(l0)  # lower inner lip far down already
    peak = max(inner_lip_distance(p) for p in generate_motion(l0, "surprise", ADDITIVE))
    assert peak >= 2.0 * inner_lip_distance(l0)


@pytest.mark.parametrize("name", ["astronaut", "template"])
def test_happiness_lifts_and_widens_the_corners(name):
    l0 = FACES[name]
    iod = inter_ocular_distance(l0)
    top = apex(generate_motion(l0, "happiness", ADDITIVE))
    assert top[48, 1] < l0[48, 1] - 0.05 * iod and top[54, 1] < l0[54, 1] - 0.05 * iod
    width0 = np.linalg.norm(l0[54] - l0[48])
    assert np.linalg.norm(top[54] - top[48]) > width0 + 0.1 * iod


@pytest.mark.parametrize("name", ["astronaut", "template"])
def test_wink_closes_one_eye_only(name):
    l0 = FACES[name]
    iod = inter_ocular_distance(l0)
    track = generate_motion(l0, "wink", ADDITIVE)
    apertures = np.array([eye_apertures(p) for p in track])  # [T, 2] (image-left, image-right)
    open0 = eye_apertures(l0)
    assert apertures[:, 1].min() < 0.01 * iod  # winking eye closes
    # the other stays open (the wink's small smile pushes its lower lid up a little)
    assert apertures[:, 0].min() > 0.75 * open0[0]


def test_blink_closes_both_eyes_briefly():
    iod = inter_ocular_distance(ASTRONAUT_68)
    track = generate_motion(ASTRONAUT_68, "blink", MotionConfig(frames=24))
    apertures = np.array([eye_apertures(p) for p in track])
    assert apertures.min(0).max() < 0.01 * iod  # both eyes shut at the blink
    closed = (apertures < 0.5 * np.array(eye_apertures(ASTRONAUT_68))).all(1)
    assert 1 <= closed.sum() <= 0.3 * len(track)  # briefly


@pytest.mark.parametrize("expr", ALL_EXPR + ["surprise+blink", "happiness+wink", "fear+blink"])
def test_no_lid_or_lip_crossing(expr):
    for l0 in FACES.values():
        track = generate_motion(l0, expr)
        frame = FaceFrame.of(l0)
        face = frame.to_face(track)  # y up
        for upper, lower in LIDS_RIGHT + LIDS_LEFT + INNER_LIPS:
            # (1e-3 IOD: a head roll turns lips that meet on a line by a hair)
            assert np.all(face[:, upper, 1] >= face[:, lower, 1] - 1e-3), (expr, upper, lower)


def test_contempt_is_one_sided():
    l0 = TEMPLATE_256
    iod = inter_ocular_distance(l0)
    top = apex(generate_motion(l0, "contempt", ADDITIVE))
    moved = np.linalg.norm(top - l0, axis=1)
    assert moved[48] > 0.05 * iod  # subject's right corner (image-left)
    assert top[48, 1] < l0[48, 1]  # pulled up
    assert top[54, 1] > l0[54, 1]  # while the other corner sags: a lopsided mouth


def test_combination_adds_and_clips():
    l0 = ASTRONAUT_68
    both = apex(generate_motion(l0, "happiness+wink", ADDITIVE))
    assert both[48, 1] < l0[48, 1] - 1.0 and min(eye_apertures(both)) < 0.5
    # terms add: contempt's R12+R14 moves the subject's right corner further, its L15 pulls the
    # other one down
    happy = apex(generate_motion(l0, "happiness", ADDITIVE)) - l0
    mixed = apex(generate_motion(l0, "happiness+contempt", ADDITIVE)) - l0
    assert np.linalg.norm(mixed[48] - happy[48]) > 0.02 * inter_ocular_distance(l0)
    assert mixed[54, 1] > happy[54, 1] + 0.02 * inter_ocular_distance(l0)
    np.testing.assert_allclose(generate_motion(l0, "surprise:0.5+surprise:0.5"),
                               generate_motion(l0, "surprise"), atol=1e-4)


def test_intensity_scales_motion():
    l0 = ASTRONAUT_68
    still = generate_motion(l0, "happiness+surprise", MotionConfig(intensity=0.0))
    np.testing.assert_array_equal(still, np.repeat(l0[None], len(still), 0))
    half = generate_motion(l0, "happiness", MotionConfig(intensity=0.5, head="none")) - l0
    full = generate_motion(l0, "happiness", MotionConfig(intensity=1.0, head="none")) - l0
    np.testing.assert_allclose(half[:, 48], 0.5 * full[:, 48], atol=1e-3)  # AU12 corner is linear
    term = generate_motion(l0, "happiness:0.5", MotionConfig(head="none")) - l0
    np.testing.assert_allclose(term, half, atol=1e-4)


@pytest.mark.parametrize("head", ["nod", "tilt"])
def test_head_motion_is_rigid(head):
    l0 = ASTRONAUT_68
    track = generate_motion(l0, "neutral", MotionConfig(head=head, replace=False))
    d0 = np.linalg.norm(l0[:, None] - l0[None], axis=2)
    for pts in track:
        np.testing.assert_allclose(np.linalg.norm(pts[:, None] - pts[None], axis=2), d0, atol=2e-3)
    assert np.abs(track - l0).max() > 0.03 * inter_ocular_distance(l0)
    np.testing.assert_allclose(track[0], l0, atol=1e-3)


@pytest.mark.parametrize("expr", ["happiness", "surprise+wink", "contempt"])
def test_displacements_follow_face_roll_and_scale(expr):
    """The motion lives in the face frame: generating on a rotated, rescaled, shifted face equals
    the same similarity applied to the original face's motion."""
    l0 = ASTRONAUT_68
    moved = rotate(l0, 25.0, scale=1.7, shift=(30.0, -12.0))
    a = generate_motion(l0, expr)
    b = generate_motion(moved, expr)
    c = l0.mean(0)  # rotate() pivots on l0's centroid: apply that same similarity to every frame
    ang = np.radians(25.0)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    expected = (a - c) @ rot.T * 1.7 + c + np.array([30.0, -12.0])
    np.testing.assert_allclose(b, expected, atol=0.02)


def test_idle_is_subtle_and_seeded():
    iod = inter_ocular_distance(ASTRONAUT_68)
    a = generate_motion(ASTRONAUT_68, "idle", MotionConfig(seed=1))
    b = generate_motion(ASTRONAUT_68, "idle", MotionConfig(seed=2))
    assert not np.allclose(a, b)  # the blink moves with the seed
    body = np.delete(np.arange(68), indices(EYES))
    assert np.abs(a[:, body] - ASTRONAUT_68[body]).max() < 0.05 * iod  # breathing only
