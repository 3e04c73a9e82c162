"""The expression library on real faces: calibrated unit amplitudes, the photo's own expression
estimated and replaced, timing and head motion, the smooth warp at full exaggeration, and
`emoget expressions`.

Faces: the astronaut's real 68 landmarks (a smiling photo) and a neutral face synthesised from
them (its estimated units undone), plus the aligned astronaut picture for the warp."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoget_cli.core import choices
from emoget_cli.core.ibug68 import inner_lip_distance, inter_ocular_distance
from emoget_cli.motion import EXPRESSIONS, FaceFrame, MotionConfig, generate_motion
from emoget_cli.motion.estimate import estimate_units, photo_neutral
from emoget_cli.motion.facs import CALIBRATION, deform
from emoget_cli.motion.generate import plan_motion
from emoget_cli.motion.geometry import SAMPLE_FACE_POINTS as ASTRONAUT
from emoget_cli.motion.reference import NEUTRAL_REFERENCE

STILL = MotionConfig(head="none")


def to_pixels(face_units: np.ndarray, like: np.ndarray = ASTRONAUT) -> np.ndarray:
    """Face-unit shapes [..., 68, 2] → pixels in the frame of `like` [68, 2]."""
    return FaceFrame.of(like).to_pixels(face_units).astype(np.float32)


#: A neutral face synthesised from the real astronaut: her estimated units undone.
NEUTRAL_ASTRONAUT = to_pixels(photo_neutral(ASTRONAUT, estimate_units(ASTRONAUT)))
FACES = {"astronaut": ASTRONAUT, "neutral": NEUTRAL_ASTRONAUT}


def face_units(points: np.ndarray) -> np.ndarray:
    return FaceFrame.of(points).to_face(points)


def apex_index(plan) -> int:
    return int(np.argmax(plan.envelope)) if np.abs(plan.envelope).max() > 0 else len(plan.envelope) // 2


def corner_lift(face: np.ndarray) -> float:
    """Lip corners over the lip line (IOD, face units y up): > 0 smiles, < 0 frowns."""
    lip_line = face[[61, 62, 63, 65, 66, 67], 1].mean()
    return float(face[[48, 54], 1].mean() - lip_line)


# ------------------------------------------------------------------------------ the library --

def test_library_is_big_enough_and_defined_once():
    assert len(EXPRESSIONS) >= 16 and tuple(EXPRESSIONS) == choices.EXPRESSION_NAMES
    for new in ("laugh", "love", "cry", "sleepy", "kiss", "shocked", "smug", "nervous"):
        assert new in EXPRESSIONS
    for e in EXPRESSIONS.values():
        assert e.head in choices.HEAD_MOTIONS and set(e.effects) <= set(choices.EFFECT_NAMES)
    heads = {e.name: e.head for e in EXPRESSIONS.values()}
    assert (heads["laugh"], heads["anger"], heads["fear"], heads["sadness"], heads["surprise"]) \
        == ("bounce", "shake", "tremble", "droop", "recoil")


def test_expressions_command_lists_the_library(cli):
    res = cli("expressions", "--json")
    assert res.exit_code == 0, res.output
    listed = {e["name"]: e for e in json.loads(res.stdout)["expressions"]}
    assert list(listed) == list(EXPRESSIONS)
    assert listed["happiness"]["units"].startswith("6+12") and listed["anger"]["head"] == "shake"
    assert "tears" in listed["sadness"]["effects"]
    human = cli("expressions")
    assert human.exit_code == 0 and "shocked" in human.stdout


# ---------------------------------------------------------------------------- calibration --

@pytest.mark.parametrize("code", sorted(CALIBRATION))
@pytest.mark.parametrize("face", ["astronaut", "neutral"])
def test_each_unit_reaches_its_calibrated_apex_on_a_real_face(code, face):
    cal = CALIBRATION[code]
    n0 = face_units(FACES[face])
    ones = np.ones(1)
    moved = deform(n0, {code: (ones, ones)})[0] - n0
    if code in ("26", "27"):  # the aperture: the lower inner lip against the upper one
        measured = float(moved[66, 1] - moved[62, 1])
    else:
        measured = float(-moved[cal.point, 0] if cal.axis == 0 else moved[cal.point, 1])
    # the fields are scaled on the neutral reference; another face's own geometry (a mouth
    # already open, a lip crossing avoided) may change them a little
    assert measured == pytest.approx(cal.emoticon, rel=0.2, abs=0.01), (code, face)
    if cal.posed is not None:  # emoticons exaggerate the posed apex
        assert abs(cal.emoticon) > abs(cal.posed)


@pytest.mark.parametrize("face", ["astronaut", "neutral"])
def test_expression_apex_geometry_in_iod(face):
    """What the eye reads at 128 px: mouth aperture, lip corners, brows, eye aperture."""
    l0 = FACES[face]
    iod = inter_ocular_distance(l0)
    n0 = face_units(l0)

    def apex(expr, **kw):
        plan = plan_motion(l0, expr, MotionConfig(head="none", **kw))
        return face_units(plan.points[apex_index(plan)])

    surprise = apex("surprise")
    assert inner_lip_distance(surprise) - inner_lip_distance(n0) > 0.25   # jaw drops
    assert (surprise[17:27, 1] - n0[17:27, 1]).mean() > 0.1               # brows shoot up
    upper = [37, 38, 43, 44]  # the eyes widen beyond the photo's own (the astronaut's are wide)
    own = photo_neutral(l0, estimate_units(l0))
    assert (surprise[upper, 1] - own[upper, 1]).mean() > 0.05
    happy = apex("happiness")
    assert corner_lift(happy) > 0.12 and happy[54, 0] - happy[48, 0] > 1.0
    sad = apex("sadness")
    assert corner_lift(sad) < -0.05                                       # corners down
    assert sad[[21, 22], 1].mean() - sad[[17, 26], 1].mean() > n0[[21, 22], 1].mean() \
        - n0[[17, 26], 1].mean() + 0.05                                  # inner brows up
    angry = apex("anger")
    assert (angry[[20, 21, 22, 23], 1] - n0[[20, 21, 22, 23], 1]).mean() < -0.1  # brows down
    assert angry[22, 0] - angry[21, 0] < n0[22, 0] - n0[21, 0] - 0.05             # and together
    # --intensity 1.5 exaggerates the same geometry
    more = apex("surprise", intensity=1.5)
    assert (more[17:27, 1] - n0[17:27, 1]).mean() > 1.3 * (surprise[17:27, 1] - n0[17:27, 1]).mean()
    assert iod > 0


# ----------------------------------------------------------------- the photo's own expression --

def test_the_smile_is_estimated_on_the_real_photo_and_not_on_neutral_faces():
    units = estimate_units(ASTRONAUT)
    assert units.get("12", 0.0) > 0.3 and units.get("15", 0.0) == 0.0
    assert estimate_units(NEUTRAL_ASTRONAUT).get("12", 0.0) < 0.1
    reference = to_pixels(NEUTRAL_REFERENCE)
    assert estimate_units(reference) == {}


@pytest.mark.parametrize("code", ["1", "4", "12", "15", "26"])
def test_estimate_recovers_a_unit_put_on_the_reference(code):
    ones = np.ones(1)
    shaped = deform(NEUTRAL_REFERENCE, {code: (0.8 * ones, 0.8 * ones)})[0]
    got = estimate_units(to_pixels(shaped))
    assert got.get(code, 0.0) == pytest.approx(0.8, abs=0.2)
    assert max(v for k, v in got.items()) == got[code]


def test_smiling_photo_asked_for_sadness_loses_its_smile():
    plan = plan_motion(ASTRONAUT, "sadness", STILL)
    top = face_units(plan.points[apex_index(plan)])
    neutral = photo_neutral(ASTRONAUT, plan.photo_units)
    # the corners end below the photo's neutral estimate, and below the lip line
    assert top[[48, 54], 1].mean() < neutral[[48, 54], 1].mean() - 0.05
    assert corner_lift(top) < corner_lift(neutral) - 0.08
    assert inner_lip_distance(top) < 0.5 * inner_lip_distance(face_units(ASTRONAUT))  # lips close
    assert "12" not in estimate_units(plan.points[apex_index(plan)])


@pytest.mark.parametrize("expr", ["surprise", "neutral", "anger", "sadness", "disgust"])
def test_the_smile_is_gone_at_the_apex(expr):
    plan = plan_motion(ASTRONAUT, expr, STILL)
    assert plan.photo_units.get("12", 0.0) > 0.3
    assert estimate_units(plan.points[apex_index(plan)]).get("12", 0.0) < 0.15, expr
    np.testing.assert_allclose(plan.points[0], ASTRONAUT, atol=1e-3)  # the loop starts on the photo


def test_blink_keeps_the_photo_smile():
    plan = plan_motion(ASTRONAUT, "blink", STILL)
    assert estimate_units(plan.points[len(plan.points) // 2]).get("12", 0.0) > 0.3


# -------------------------------------------------------------------------------- the motion --

def _reach(env: np.ndarray, share: float = 0.9) -> int:
    return int(np.argmax(env >= share * env.max()))


def test_timing_per_emotion_anticipation_and_overshoot():
    def env(expr):
        return plan_motion(ASTRONAUT, expr, STILL).envelope

    surprise, sadness = env("surprise"), env("sadness")
    onset = lambda e: _reach(e) - int(np.argmax(e > 0.02))  # noqa: E731
    assert onset(surprise) < 0.5 * onset(sadness)              # surprise snaps, sadness sinks
    assert surprise.min() < -0.1 and surprise.max() > 1.1      # anticipation and overshoot
    assert sadness.min() >= 0.0                                 # no bounce in sadness


@pytest.mark.parametrize("expr", list(EXPRESSIONS))
def test_every_expression_loops_seamlessly_at_full_exaggeration(expr):
    track = generate_motion(ASTRONAUT, expr, MotionConfig(frames=24, intensity=1.5))
    steps = np.linalg.norm(np.diff(track, axis=0), axis=2).mean(1)
    wrap = np.linalg.norm(track[0] - track[-1], axis=1).mean()
    assert wrap <= 1.25 * np.median(steps) + 1e-3
    np.testing.assert_allclose(track[0], ASTRONAUT, atol=1e-3)


def _scale(points: np.ndarray) -> float:
    return float(np.linalg.norm(points - points.mean(0), axis=1).mean())


def test_secondary_head_motion_per_emotion():
    iod = inter_ocular_distance(ASTRONAUT)

    def run(expr, head="auto"):
        return generate_motion(ASTRONAUT, expr, MotionConfig(head=head))

    for expr in ("fear", "sadness", "surprise", "laugh", "anger"):
        moving, still = run(expr), run(expr, "none")
        centre = np.linalg.norm((moving - still)[:, 27:31].mean(1), axis=1)  # the nose bridge
        assert centre.max() > 0.02 * iod, expr                               # the head moves
    fear, fear_still = run("fear"), run("fear", "none")
    assert min(_scale(a) / _scale(b) for a, b in zip(fear, fear_still)) < 0.97  # fear shrinks
    sad = run("sadness") - run("sadness", "none")
    assert sad[:, 27, 1].max() > 0.03 * iod                                  # sadness droops (y down)
    shake = run("anger") - run("anger", "none")
    assert np.sign(np.diff(shake[:, 30, 0])).tolist().count(-1) >= 3        # anger shakes to and fro


def test_override_works_with_the_learned_model():
    from emoget_cli.motion import TrainMotionConfig, dataset_from_tracks, train_motion
    from emoget_cli.motion.synth import synthesize_tracks

    classes = ["sadness", "surprise"]
    tracks = synthesize_tracks(classes, 4, frames=24, seed=1)
    data = dataset_from_tracks([(t.label, t.points_array()) for t in tracks], 24)
    model = train_motion(data, TrainMotionConfig(steps=80, seed=0, arch="seed")).model
    plan = model.plan(ASTRONAUT, "sadness", STILL)
    top = plan.points[int(np.argmax(plan.envelope))]
    assert plan.photo_units.get("12", 0.0) > 0.3
    assert corner_lift(face_units(top)) < corner_lift(face_units(ASTRONAUT)) - 0.1
    np.testing.assert_allclose(plan.points[0], ASTRONAUT, atol=1e-3)


# ---------------------------------------------------------------------------------- the warp --

@pytest.fixture(scope="module")
def aligned(astronaut_rgb):
    from emoget_cli.face.align import align_face

    img, info = align_face(astronaut_rgb, ASTRONAUT, size=192)
    return img, info.points.astype(np.float32)


def test_every_expression_at_full_exaggeration_warps_without_foldover(aligned):
    """Every frame of every expression at --intensity 1.5: no triangle flips, the smooth map's
    Jacobian stays positive, the border and the background far from the face stay still."""
    import cv2

    from emoget_cli.animation import plan_track
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.render.warp import (MIN_AREA_RATIO, FaceWarper, backward_map, check_foldover,
                                        min_area_ratio)

    img, pts = aligned
    size = (img.shape[1], img.shape[0])
    warper = FaceWarper(img, pts, fill=False)
    assert warper.smooth > 0
    hull = cv2.convexHull(warper.mesh.src[:warper.mesh.n_moving].astype(np.float32))
    far = np.ones(img.shape[:2], np.uint8)
    grown = (hull - hull.mean(0)) * 1.6 + hull.mean(0)
    cv2.fillConvexPoly(far, grown.astype(np.int32), 0)
    border = lambda im: np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])  # noqa: E731
    for expr in EXPRESSIONS:
        plan = plan_track(pts, expr, AnimationSpec(frames=12, intensity=1.5), None, 0, size)
        for dst in warper.limit_motion(plan.points):
            frame = warper.render_frame(dst)
            assert not check_foldover(warper.triangles, frame.mesh), expr
            assert min_area_ratio(warper.triangles, warper.mesh.src, frame.mesh) >= MIN_AREA_RATIO
            assert np.array_equal(border(frame.rgb), border(img)), expr
            assert np.array_equal(frame.rgb[far > 0], img[far > 0]), expr
            bmap = backward_map(warper.mesh, frame.mesh, size, warper.smooth)
            if bmap.box is not None:
                gy_x, gx_x = np.gradient(bmap.map_x)
                gy_y, gx_y = np.gradient(bmap.map_y)
                det = gx_x * gy_y - gy_x * gx_y
                assert det[1:-1, 1:-1].min() > 0.0, expr   # the dense map never folds either
