"""Emoticon effects (render.effects) on the real astronaut face: where each effect lands,
anti-aliased edges, resolution independence, seamless loops, `none`, and transparent output
that holds the head and the effects and nothing else."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emoget_cli.animation import animate_face
from emoget_cli.core import ibug68
from emoget_cli.core.animation_spec import AnimationSpec
from emoget_cli.core.errors import UsageError
from emoget_cli.render.draw_style import DRAW_STYLES, draw_style
from emoget_cli.render.effects import EFFECTS, composite, draw_effects, parse_effects


@pytest.fixture(scope="module")
def face(astronaut_rgb):
    """FFHQ-aligned astronaut (256 px) and its landmarks in aligned pixels."""
    from emoget_cli.face import align_face, detect_faces

    pts = detect_faces(astronaut_rgb, backend="dlib")[0].points
    aligned, info = align_face(astronaut_rgb, pts, size=256)
    return aligned, info.points.astype(np.float64)


def layer_of(pts, name, *, phase=0.5, presence=1.0, style="cartoon", shape=(256, 256)):
    layer = draw_effects(pts, phase, presence, (name,), draw_style(style), shape)
    assert layer is not None, name
    return layer


def centroid(alpha):
    ys, xs = np.nonzero(alpha > 0.5)
    assert len(xs) > 0
    return np.array([xs.mean(), ys.mean()])


def test_parse_effects():
    assert parse_effects("none", ("sadness",)) == ()
    assert set(parse_effects("auto", ("sadness",))) == {"tears", "gloom"}
    assert set(parse_effects("auto", ("anger",))) == {"vein", "flush"}
    assert parse_effects("auto", ("neutral",)) == ()
    assert parse_effects("zzz+tears") == ("tears", "zzz")       # drawing order, not typing order
    with pytest.raises(UsageError, match="valid: auto, none"):
        parse_effects("tears+rainbow")
    with pytest.raises(UsageError):
        AnimationSpec(effects="rainbow")


def test_every_effect_draws_an_anti_aliased_layer(face):
    _, pts = face
    for name in EFFECTS:
        a = layer_of(pts, name)[..., 3]
        assert a.max() > 0.2, name
        partial = ((a > 0.05) & (a < 0.95)).sum()
        assert partial >= 10, name                     # soft edges, not a binary mask
        assert a.min() >= 0.0 and a.max() <= 1.0 + 1e-6


def test_effects_land_where_they_belong(face):
    _, pts = face
    iod = ibug68.inter_ocular_distance(pts)
    left_eye, right_eye = ibug68.eye_centres(pts)
    eye_y = 0.5 * (left_eye[1] + right_eye[1])
    mid_x = 0.5 * (left_eye[0] + right_eye[0])
    brow_y = pts[ibug68.BROWS][:, 1].min()
    jaw_right = pts[ibug68.JAW][:, 0].max()
    mouth_y = pts[ibug68.LIPS_OUTER][:, 1].mean()

    tear = layer_of(pts, "tears")[..., 3]
    ys, xs = np.nonzero(tear > 0.5)
    assert ys.min() > eye_y                            # below the eyes...
    assert (xs < mid_x).any() and (xs > mid_x).any()   # ... under both of them
    vein = centroid(layer_of(pts, "vein")[..., 3])
    assert vein[1] < brow_y - 0.3 * iod and vein[0] > right_eye[0] - 0.2 * iod  # forehead corner
    sweat = centroid(layer_of(pts, "sweat")[..., 3])
    assert sweat[0] > jaw_right - 0.2 * iod and sweat[1] < eye_y               # beside the temple
    blush = layer_of(pts, "blush")[..., 3]
    c = centroid(blush > 0.3)
    assert eye_y < c[1] < mouth_y
    zzz = centroid(layer_of(pts, "zzz", phase=0.3)[..., 3])
    assert zzz[0] > jaw_right and zzz[1] < eye_y                                # beside the head
    gloom = layer_of(pts, "gloom")[..., 3]
    assert centroid(gloom > 0.5)[1] < eye_y
    hearts = layer_of(pts, "heart-eyes")[..., 3]
    for centre in (left_eye, right_eye):
        assert hearts[int(centre[1]), int(centre[0])] > 0.9                     # over the eyes
    flush = layer_of(pts, "flush")[..., 3]
    assert 0.1 < flush.max() < 0.6                    # a tint, not paint
    nose = pts[ibug68.NOSE_TIP].astype(int)
    assert flush[nose[1], nose[0]] > 0.05 and flush[5, 5] == 0


def test_effects_scale_with_the_face(face):
    """Drawn at twice the size with twice the coordinates, an effect is the same picture."""
    _, pts = face
    for name in ("tears", "vein", "sparkles", "zzz"):
        small = layer_of(pts, name)[..., 3]
        big = layer_of(pts * 2 + 0.5, name, shape=(512, 512))[..., 3]
        down = cv2.resize(big, (256, 256), interpolation=cv2.INTER_AREA)
        assert np.abs(down - small).mean() < 0.01, name
        assert abs(down.sum() - small.sum()) < 0.08 * small.sum(), name


def test_the_ink_is_the_styles(face):
    _, pts = face
    for style in ("cartoon", "caricature"):
        layer = layer_of(pts, "vein", style=style)
        solid = layer[..., 3] > 0.99
        rgb = layer[..., :3][solid] * 255
        darkest = rgb[rgb.sum(1).argmin()]
        assert np.abs(darkest - DRAW_STYLES[style].ink_rgb).max() < 30, style


def test_nothing_drawn_at_rest_and_for_none(face):
    _, pts = face
    assert draw_effects(pts, 0.0, 0.0, ("tears", "vein"), draw_style("none"), (256, 256)) is None
    assert draw_effects(pts, 0.5, 1.0, (), draw_style("none"), (256, 256)) is None


@pytest.mark.parametrize("expr", ["sadness", "anger", "sleepy-zzz"])
def test_the_loop_is_seamless(face, expr):
    img, pts = face
    cfg = dict(expr=expr, frames=16)
    if expr == "sleepy-zzz":   # effects over a still face: only the effect moves
        cfg.update(expr="neutral", effects="zzz+tears")
    res = animate_face(img, cfg.pop("expr"), AnimationSpec(**cfg), points=pts, style="cartoon")
    cfg["expr"] = res.track.label
    frames = [f.astype(np.float64) for f in res.frames]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    closing = np.abs(frames[0] - frames[-1]).mean()
    assert max(steps) > 0.05
    assert closing <= np.median(steps) * 1.5 + 1e-9
    # the frame after the last is the first: the effect layer at phase 1 is the one at phase 0
    names = parse_effects(cfg.get("effects", "auto"), (cfg["expr"],))
    track = res.track.points_array()
    a = draw_effects(track[0], 0.0, 1.0, names, draw_style("cartoon"), img.shape[:2])
    b = draw_effects(track[0], 1.0, 1.0, names, draw_style("cartoon"), img.shape[:2])
    assert a is not None and np.array_equal(a, b)


def test_effects_none_draws_nothing(face):
    """The frames with effects are the frames without, with exactly the effect layer over them."""
    from emoget_cli.animation import expression_plan

    img, pts = face
    spec = AnimationSpec(frames=6)
    plain = animate_face(img, "anger", AnimationSpec(frames=6, effects="none"), points=pts)
    drawn = animate_face(img, "anger", spec, points=pts)
    track = drawn.track.points_array()
    plan = expression_plan("anger", spec, track)
    assert set(plan.effects) == {"vein", "flush"}
    for k in range(6):
        layer = draw_effects(track[k], k / 6, plan.presence[k], plan.effects, draw_style("none"),
                             img.shape[:2])
        assert np.array_equal(composite(plain.frames[k], None, layer)[0], drawn.frames[k])
    assert not np.array_equal(plain.frames[3], drawn.frames[3])
    assert plain.meta["effects"] == [] and set(drawn.meta["effects"]) == {"vein", "flush"}


def test_transparent_output_is_the_head_plus_the_effects(face):
    img, pts = face
    cfg = dict(frames=6, background="transparent", effects="sparkles+zzz")
    drawn = animate_face(img, "happiness", AnimationSpec(**cfg), points=pts, style="cartoon")
    plain = animate_face(img, "happiness", AnimationSpec(**{**cfg, "effects": "none"}), points=pts,
                         style="cartoon")
    k = 3
    outside = plain.alpha[k] == 0
    layer = draw_effects(drawn.track.points_array()[k], k / 6, 1.0, ("sparkles", "zzz"),
                         draw_style("cartoon"), img.shape[:2])
    expected = np.round(layer[..., 3] * 255)
    got = drawn.alpha[k].astype(float)
    assert (got[outside] > 0).sum() > 30                       # the effects stay...
    assert np.abs(got[outside] - expected[outside]).max() <= 1  # ... and nothing else does
    assert (got[outside & (expected == 0)] == 0).all()


def test_composite_over_a_transparent_frame():
    rgb = np.zeros((4, 4, 3), np.uint8)
    alpha = np.zeros((4, 4), np.uint8)
    layer = np.zeros((4, 4, 4), np.float32)
    layer[1, 1] = [0.5, 0.0, 0.0, 0.5]              # half-covered pure red (premultiplied)
    out, a = composite(rgb, alpha, layer)
    assert a[1, 1] == 128 and out[1, 1, 0] == 255   # colour un-premultiplied over nothing
    assert a[0, 0] == 0


def test_the_effects_are_the_registered_choices():
    from emoget_cli.core import choices

    assert tuple(EFFECTS) == choices.EFFECT_NAMES


def test_effects_command_lists_every_effect(cli):
    import json

    res = cli("effects", "--json")
    assert res.exit_code == 0, res.output
    listed = {e["name"]: e for e in json.loads(res.stdout)["effects"]}
    assert tuple(listed) == tuple(EFFECTS)
    assert "sadness" in listed["tears"]["auto_for"] and "anger" in listed["vein"]["auto_for"]
    assert all(e["description"] for e in listed.values())
    human = cli("effects")
    assert human.exit_code == 0 and "heart-eyes" in human.stdout


def test_cli_bad_effects_is_one_line_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "x.gif"
    res = cli("make", "--sample", "--effects", "tears+rainbow", "-o", str(out))
    assert res.exit_code == 2
    assert "unknown effect 'rainbow'" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_face_marks_stay_on_the_head(face):
    """Tints, gloom lines and blush belong on the face: with a head matte they never leave it
    (marks beside the head, like zzz, do)."""
    _, pts = face
    matte = np.zeros((256, 256), np.float32)
    matte[:, :128] = 1.0                                  # only the image-left half is "head"
    for name in ("flush", "pale", "gloom", "blush"):
        layer = draw_effects(pts, 0.5, 1.0, (name,), draw_style("cartoon"), (256, 256), matte)
        assert layer is not None and layer[:, 128:, 3].max() == 0, name
        assert layer[:, :128, 3].max() > 0.1, name
    zzz = draw_effects(pts, 0.3, 1.0, ("zzz",), draw_style("cartoon"), (256, 256), matte)
    assert zzz[:, 128:, 3].max() > 0.5
