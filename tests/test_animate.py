"""`animate`: expressions rendered on the aligned astronaut, re-measured with the landmark
detector, and the `emoget animate` command (outputs, options, bad input)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoget_cli.core.errors import UsageError
from emoget_cli.core.ibug68 import EYE_LEFT, EYE_RIGHT, inter_ocular_distance
from emoget_cli.motion import EXPRESSIONS, MotionConfig, generate_motion
from emoget_cli.animation import animate_face
from emoget_cli.core.animation_spec import AnimationSpec
from emoget_cli.render.fill import mouth_opening
from emoget_cli.render.warp import MIN_AREA_RATIO, FaceWarper, check_foldover, min_area_ratio


@pytest.fixture(scope="module")
def face(astronaut_rgb):
    """FFHQ-aligned astronaut (256 px) and its landmarks in aligned pixels."""
    from emoget_cli.face import align_face, detect_faces

    pts = detect_faces(astronaut_rgb, backend="dlib")[0].points
    aligned, info = align_face(astronaut_rgb, pts, size=256)
    return aligned, info.points.astype(np.float32)


@pytest.fixture(scope="module")
def face_path(face, tmp_path_factory):
    from emoget_cli.core.image_io import write_image

    return write_image(tmp_path_factory.mktemp("animate") / "face.png", face[0])


def redetect(rgb):
    from emoget_cli.face import detect_faces

    return detect_faces(rgb, backend="dlib")[0].points


def apex(result) -> int:
    """The frame whose landmarks are furthest from the neutral first frame."""
    pts = result.track.points_array()
    return int(np.argmax(np.abs(pts - pts[0]).sum(axis=(1, 2))))


def iod(pts) -> float:
    return inter_ocular_distance(pts)


def visible_eyeball(rgb, pts, eye: int) -> int:
    """Iris, pupil and sclera pixels in the box between the (re-detected) eye corners.

    dlib's 68-point predictor cannot see closed eyes: it puts the lids of a fully skin-painted
    eye ~9 px apart, as for an open one. So the aperture is measured in the picture, at the
    place the detector found the eye: dark pixels (< 55 % of the cheek's brightness) and
    white, unsaturated ones.
    """
    p = pts[EYE_RIGHT] if eye == 0 else pts[EYE_LEFT]
    width = float(np.linalg.norm(p[3] - p[0]))
    c = 0.5 * (p[0] + p[3])
    x0, x1 = int(p[0, 0]), int(p[3, 0]) + 1
    y0, y1 = int(c[1] - 0.4 * width), int(c[1] + 0.4 * width) + 1
    cheek = rgb[int(c[1] + 0.6 * width):int(c[1] + 0.8 * width), x0:x1].reshape(-1, 3)
    skin = float(np.median(cheek.astype(float).mean(1)))
    patch = rgb[y0:y1, x0:x1].astype(float)
    lum = patch.mean(2)
    sat = (patch.max(2) - patch.min(2)) / np.maximum(patch.max(2), 1)
    return int(((lum < 0.55 * skin) | ((sat < 0.16) & (lum > 0.7 * skin))).sum())


@pytest.fixture(scope="module")
def results(face):
    img, pts = face
    out = {}
    for expr in ("surprise", "happiness", "wink", "neutral", "sadness"):
        out[expr] = animate_face(img, expr, AnimationSpec(frames=24), points=pts)
    return out


def test_every_expression_warps_without_foldover_and_keeps_the_border(face):
    img, pts = face
    warper = FaceWarper(img, pts)
    border = lambda im: np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])  # noqa: E731
    for name in EXPRESSIONS:
        for head in ("none", "nod"):
            motion = generate_motion(pts, name, MotionConfig(frames=12, head=head))
            for dst in motion:
                frame = warper.render_frame(dst)
                assert not check_foldover(warper.triangles, frame.mesh), (name, head)
                assert min_area_ratio(warper.triangles, warper.mesh.src, frame.mesh) \
                    >= MIN_AREA_RATIO - 1e-6
                assert np.array_equal(border(frame.rgb), border(img)), (name, head)


@pytest.mark.parametrize("expr", ["surprise", "happiness", "wink"])
def test_loops_close(results, expr):
    frames = [f.astype(np.float64) for f in results[expr].frames]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    closing = np.abs(frames[0] - frames[-1]).mean()
    assert max(steps) > 0.05                         # it does move
    assert closing <= np.median(steps) + 1e-9


def test_neutral_relaxes_the_smiling_photo(results, face):
    res = results["neutral"]
    assert np.array_equal(res.frames[0], face[0])           # the loop starts on the photo
    assert res.track.photo_units.get("12", 0.0) > 0.2       # the astronaut smiles ...
    smile = redetect(res.frames[0])
    relaxed = redetect(res.frames[apex(res)])
    lift = lambda p: p[[51, 57], 1].mean() - p[[48, 54], 1].mean()  # noqa: E731  corners over lips
    assert lift(relaxed) < lift(smile) - 0.03 * iod(smile)  # ... and no longer at the apex


def test_smiling_photo_turns_sad_as_the_detector_sees_it(results):
    """The smile is replaced, not added to: re-detected on the rendered apex, the lip corners
    lose most of their lift over the lip line (dlib's shape prior keeps them from reading fully
    turned down, which the generated landmarks are: see test_expressions.py) and the inner
    brows rise against the outer ones."""
    res = results["sadness"]
    smile, sad = redetect(res.frames[0]), redetect(res.frames[apex(res)])
    lift = lambda p: p[[62, 66], 1].mean() - p[[48, 54], 1].mean()  # noqa: E731  (y grows down)
    assert lift(smile) > 0.1 * iod(smile) and lift(sad) < 0.5 * lift(smile)
    brows = lambda p: p[[17, 26], 1].mean() - p[[21, 22], 1].mean()  # noqa: E731
    assert brows(sad) > brows(smile) + 0.03 * iod(smile)


def test_surprise_opens_the_mouth_as_the_detector_sees_it(results):
    res = results["surprise"]
    neutral = redetect(res.frames[0])
    peak = redetect(res.frames[apex(res)])
    assert mouth_opening(peak) >= 2.0 * mouth_opening(neutral)


def test_happiness_lifts_the_mouth_corners(results):
    res = results["happiness"]
    neutral = redetect(res.frames[0])
    peak = redetect(res.frames[apex(res)])
    # corners against the eyes (the happy nod moves the whole head), y grows downwards
    rel = lambda p: p[[48, 54], 1].mean() - p[36:48, 1].mean()  # noqa: E731
    assert rel(neutral) - rel(peak) > 0.03 * iod(neutral)   # on a photo that already smiles


def test_wink_closes_one_eye_only(results):
    res = results["wink"]
    first, peak = res.frames[0], res.frames[apex(res)]
    neutral, winked = redetect(first), redetect(peak)
    open_before = [visible_eyeball(first, neutral, k) for k in (0, 1)]
    open_after = [visible_eyeball(peak, winked, k) for k in (0, 1)]
    assert min(open_before) > 60
    # the subject's left eye (image right) closes, the other stays as it was
    assert open_after[1] < 0.4 * open_before[1]
    assert open_after[0] > 0.8 * open_before[0]


def test_track_is_the_motion_with_label_and_fps(results, face):
    track = results["surprise"].track
    pts = track.points_array()
    assert pts.shape == (24, 68, 2) and track.label == "surprise" and track.fps == 12.0
    assert track.image_size == (256, 256)
    assert np.allclose(pts[0], face[1], atol=1e-4)


def test_torch_warp_matches_opencv(face):
    img, pts = face
    spec = AnimationSpec(frames=6)
    a = animate_face(img, "surprise", spec, points=pts, warp_backend="opencv")
    b = animate_face(img, "surprise", spec, points=pts, warp_backend="torch")
    for fa, fb in zip(a.frames, b.frames):
        assert np.abs(fa.astype(int) - fb.astype(int)).mean() < 0.1


def test_size_and_duration(face):
    img, pts = face
    res = animate_face(img, "happiness", AnimationSpec(fps=10, duration=0.8, size=(96, 128)),
                       points=pts)
    assert len(res.frames) == 8
    assert res.frames[0].shape == (128, 96, 3)
    assert res.track.image_size == (96, 128)


def test_transparent_background_warps_the_alpha(face):
    img, pts = face
    res = animate_face(img, "surprise", AnimationSpec(frames=4, background="transparent"),
                       points=pts)
    assert res.alpha is not None and len(res.alpha) == 4
    a0 = res.alpha[0]
    assert a0.shape == img.shape[:2]
    assert a0[int(pts[30, 1]), int(pts[30, 0])] == 255 and a0[2, 2] == 0    # nose in, corner out
    rgba = res.rgba_frames()
    assert rgba[0].shape == (256, 256, 4)


def test_transparent_sticker_from_a_whole_photo_is_the_head(astronaut_rgb):
    """trim: a transparent sticker made from the 512 px astronaut photo is a square around her
    head (not a 40 px head in a corner of an empty canvas), and the track follows the crop."""
    from emoget_cli.face import detect_faces

    pts = detect_faces(astronaut_rgb, backend="dlib")[0].points
    cfg = dict(frames=2, background="transparent")
    res = animate_face(astronaut_rgb, "surprise", AnimationSpec(**cfg), trim=True, points=pts)
    h, w = res.frames[0].shape[:2]
    assert h == w and 120 < w < 320
    opaque = (res.alpha[0] > 127).mean()
    assert opaque > 0.3                                   # the head fills the sticker
    for edge in (res.alpha[0][0], res.alpha[0][:, 0], res.alpha[0][:, -1]):
        assert edge.max() == 0                            # ... with room around it (not the neck)
    x0, y0 = np.round(pts[0] - res.track.points_array()[0][0]).astype(int)
    # the picture is the photo's crop; only colours at the cut-out's edge and under its
    # transparent part are decontaminated (render.matting)
    same = (res.frames[0] == astronaut_rgb[y0:y0 + h, x0:x0 + w]).all(axis=2)
    assert same[res.alpha[0] == 255].mean() > 0.85
    assert res.track.image_size == (w, h)
    sized = animate_face(astronaut_rgb, "surprise", AnimationSpec(**cfg, size=96), trim=True,
                         points=pts)
    assert sized.frames[0].shape == (96, 96, 3) and sized.alpha[0].shape == (96, 96)
    assert (sized.alpha[0] > 127).mean() == pytest.approx(opaque, abs=0.05)


@pytest.mark.parametrize("kwargs", [dict(frames=1), dict(frames=1001), dict(fps=0),
                                    dict(fps=float("nan")), dict(intensity=1.6),
                                    dict(background="green"), dict(head="spin"), dict(size=4),
                                    dict(size="64x"), dict(size=(64, 4096)), dict(duration=-1),
                                    dict(duration=61), dict(duration=0.01, fps=10),
                                    dict(effects="rainbow")])
def test_bad_spec_values(kwargs):
    with pytest.raises(UsageError):
        AnimationSpec(**kwargs)


def test_one_rounding_rule_and_size_forms():
    assert AnimationSpec(duration=0.25, fps=10).n_frames == 3      # 2.5 rounds up, not to even
    assert AnimationSpec(duration=0.8, fps=10).n_frames == 8
    assert AnimationSpec(duration=2.0, fps=12, frames=5).n_frames == 24   # duration wins
    assert AnimationSpec(size=96).size == AnimationSpec(size="96").size == (96, 96)
    assert AnimationSpec(size="320x270").size == AnimationSpec(size=(320, 270)).size == (320, 270)


def test_make_and_animate_share_the_spec_and_the_path(monkeypatch, astronaut_path, tmp_path):
    """`make` builds the same AnimationSpec as `animate` from the same flags, and both render
    through emoget_cli.animation.animate_to_file."""
    import emoget_cli.animation as animation
    from emoget_cli.cli.app import app
    from typer.testing import CliRunner

    seen = []
    real = animation.animate_to_file

    def spy(rgb, expr, spec, output, **kw):
        seen.append(spec)
        return real(rgb, expr, spec, output, **kw)

    monkeypatch.setattr(animation, "animate_to_file", spy)
    flags = ["--frames", "3", "--fps", "9", "--size", "64", "--head", "nod", "--intensity", "0.5"]
    runner = CliRunner()
    for argv in (["make", str(astronaut_path), "-o", str(tmp_path / "m.gif")],
                 ["animate", str(astronaut_path), "--expr", "happiness", "-o",
                  str(tmp_path / "a.gif")]):
        res = runner.invoke(app, argv + flags)
        assert res.exit_code == 0, res.output
    # (background: unset in the spec, both commands resolve it to keep here)
    assert len(seen) == 2 and seen[0] == seen[1] == AnimationSpec(
        frames=3, fps=9, size=64, head="nod", intensity=0.5, background="keep")


def test_transparent_mp4_is_refused_alike(cli, astronaut_path, tmp_path):
    for argv in (["make", astronaut_path], ["animate", astronaut_path, "--expr", "wink"]):
        res = cli(*argv, "--background", "transparent", "-o", tmp_path / "x.mp4")
        assert res.exit_code == 2 and "no alpha channel" in res.stderr, res.output
        assert not (tmp_path / "x.mp4").exists()


# ------------------------------------------------------------------------------ the command


def test_cli_writes_animation_and_track(cli, face_path, tmp_path):
    out, track = tmp_path / "s.gif", tmp_path / "s.landmarks.json"
    res = cli("animate", face_path, "--expr", "surprise", "-o", out, "--frames", "8",
              "--save-track", track, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["format"] == "gif" and report["n_frames"] == 8 and out.stat().st_size > 0
    from emoget_cli.core.track import load_track

    saved = load_track(track)
    assert saved.label == "surprise" and len(saved.frames) == 8


def test_cli_uses_a_landmark_track(cli, face_path, face, tmp_path):
    from emoget_cli.core.track import LandmarkTrack, save_track

    # the track replaces detection (its image_size matches the face image)
    track = save_track(LandmarkTrack.from_points(face[1], (256, 256)), tmp_path / "f.json")
    out = tmp_path / "w.webp"
    res = cli("animate", face_path, "--expr", "wink", "-o", out, "--landmarks", track,
              "--frames", "6", "--size", "128", "-q")
    assert res.exit_code == 0, res.output
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (128, 128) and getattr(im, "n_frames", 1) >= 2


def test_cli_track_of_a_same_size_photo_uses_the_aligned_points(cli, face_path, face, tmp_path):
    """`emoget landmarks photo.jpg --align face.png` with a 256 px photo aligned at 256 px:
    the track fits both images by size; for face.png its aligned points must be used, not
    the photo's (which would animate the wrong part of the picture)."""
    from emoget_cli.core.track import (AlignedFace, FaceLandmarks, LandmarkTrack, TrackFrame,
                                       load_track, save_track)

    photo_pts = face[1] * 0.6 + 20.0                    # where the face is in the photo
    track = LandmarkTrack(image_size=(256, 256), frames=[TrackFrame(0, [FaceLandmarks(photo_pts)])],
                          source="photo.jpg",
                          aligned=AlignedFace(256, [[0, 0], [0, 255], [255, 255], [255, 0]],
                                              face[1], image=face_path.name))
    path = save_track(track, tmp_path / "photo.landmarks.json")
    out, motion = tmp_path / "a.gif", tmp_path / "motion.json"
    res = cli("animate", face_path, "--expr", "wink", "-o", out, "--frames", "2",
              "--landmarks", path, "--save-track", motion, "-q")
    assert res.exit_code == 0, res.output
    assert np.allclose(load_track(motion).points_array()[0], face[1], atol=1e-3)


def _no_outputs(tmp_path):
    return [p.name for p in tmp_path.iterdir() if p.name != "face.png"]


def test_cli_bad_track_files(cli, face_path, tmp_path):
    from emoget_cli.core.track import LandmarkTrack, save_track

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "emoget.landmarks", "version": 1, "frames": 3}')
    res = cli("animate", face_path, "--expr", "surprise", "-o", tmp_path / "a.gif",
              "--landmarks", bad)
    assert res.exit_code == 6
    assert "bad.json" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    other = save_track(LandmarkTrack.from_points(np.full((68, 2), 50.0) + np.arange(68)[:, None],
                                                 (640, 480)), tmp_path / "other.json")
    res = cli("animate", face_path, "--expr", "surprise", "-o", tmp_path / "b.gif",
              "--landmarks", other)
    assert res.exit_code == 6 and "640x480" in res.stderr and "256x256" in res.stderr
    assert not (tmp_path / "a.gif").exists() and not (tmp_path / "b.gif").exists()


def test_cli_track_points_that_cannot_belong_to_the_image(cli, face_path, face, tmp_path):
    """A track of the right image size whose face lies far outside the picture, or is a few
    pixels wide, used to animate nothing (or garbage) with exit code 0."""
    from emoget_cli.core.track import LandmarkTrack, save_track

    pts = face[1]
    cases = {"far.json": (pts + [3000.0, 0.0], "outside the 256x256 image"),
             "speck.json": ((pts - pts.mean(0)) * 0.01 + 100.0, "too small")}
    for name, (points, message) in cases.items():
        track = save_track(LandmarkTrack.from_points(points, (256, 256)), tmp_path / name)
        out = tmp_path / f"{name}.gif"
        res = cli("animate", face_path, "--expr", "surprise", "-o", out, "--landmarks", track)
        assert res.exit_code == 6, res.output
        assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
        assert not out.exists()
    with pytest.raises(UsageError, match="outside"):
        animate_face(face[0], "surprise", AnimationSpec(frames=2), points=pts - [0.0, 900.0])
    # a chin cut off by the frame is still a face
    img = face[0][:200]
    assert len(animate_face(img, "wink", AnimationSpec(frames=2), points=pts).frames) == 2


def test_cli_unknown_expression_lists_the_valid_ones(cli, face_path, tmp_path):
    res = cli("animate", face_path, "--expr", "grin", "-o", tmp_path / "x.gif")
    assert res.exit_code == 2
    assert "surprise" in res.stderr and "happiness" in res.stderr and "wink" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.gif").exists()


def test_cli_no_face(cli, tmp_path):
    from emoget_cli.core.image_io import write_image

    blank = write_image(tmp_path / "wall.png", np.full((128, 128, 3), 120, np.uint8))
    res = cli("animate", blank, "--expr", "surprise", "-o", tmp_path / "x.gif")
    assert res.exit_code == 4 and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.gif").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wall.png"]


def test_cli_transparent_sticker_is_trimmed_to_the_head(cli, astronaut_path, tmp_path):
    out = tmp_path / "head.webp"
    res = cli("animate", astronaut_path, "--expr", "wink", "-o", out, "--frames", "2",
              "--background", "transparent", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["alpha"] and report["width"] == report["height"] < 320


def test_cli_unwritable_track_keeps_an_existing_animation(cli, face_path, tmp_path):
    """The --save-track target is checked before rendering: a folder there used to replace the
    user's existing animation and then delete it (all or nothing), losing both."""
    out = tmp_path / "old.gif"
    out.write_bytes(b"GIF89a previous animation")
    (tmp_path / "taken").mkdir()
    res = cli("animate", face_path, "--expr", "wink", "-o", out, "--frames", "2",
              "--save-track", tmp_path / "taken")
    assert res.exit_code == 7 and "folder" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == b"GIF89a previous animation"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.gif", "taken"]


def test_cli_transparent_mp4_is_refused(cli, face_path, tmp_path):
    res = cli("animate", face_path, "--expr", "surprise", "-o", tmp_path / "x.mp4",
              "--background", "transparent")
    assert res.exit_code == 2 and "alpha" in res.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_cli_learned_motion_model(cli, face_path, tmp_path):
    from emoget_cli.motion import TrainMotionConfig, dataset_from_tracks, train_motion
    from emoget_cli.motion.synth import synthesize_tracks

    tracks = synthesize_tracks(["surprise", "happiness"], 3, frames=12, seed=1)
    data = dataset_from_tracks([(t.label, t.points_array()) for t in tracks], 12)
    model = train_motion(data, TrainMotionConfig(frames=12, steps=3, arch="seed")).model
    path = model.save(tmp_path / "motion.pt")
    out, track = tmp_path / "m.gif", tmp_path / "m.json"
    res = cli("animate", face_path, "--expr", "surprise", "-o", out, "--motion", path,
              "--frames", "6", "--save-track", track, "-q")
    assert res.exit_code == 0, res.output
    from emoget_cli.core.track import load_track

    pts = load_track(track).points_array()
    assert pts.shape == (6, 68, 2) and np.abs(pts - pts[0]).max() > 0.5
    # a class the model does not know, and a file that is not a model
    res = cli("animate", face_path, "--expr", "wink", "-o", tmp_path / "n.gif", "--motion", path)
    assert res.exit_code == 2 and "surprise" in res.stderr
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    res = cli("animate", face_path, "--expr", "surprise", "-o", tmp_path / "j.gif", "--motion", junk)
    assert res.exit_code == 5
    assert not (tmp_path / "n.gif").exists() and not (tmp_path / "j.gif").exists()
