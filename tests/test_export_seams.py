"""Three defects the exporter must not have, each checked on decoded files:

* subsampling a loop keeps its last frame (the seam then gets a short step: a hitch every loop);
* a letterbox in black instead of the picture's edge colour;
* RGBA resized without premultiplying alpha (a dark or coloured halo around a cut-out).
"""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.render.export import export_animation
from emoget_cli.render.presets import PRESETS
from test_export_support import astronaut_clip, pil_decode


def _numbered_clip(n: int, side: int = 32) -> list:
    """n solid grey frames whose level encodes the frame number (5 * i)."""
    return [np.full((side, side, 3), 5 * i, np.uint8) for i in range(n)]


def _frame_numbers(path) -> list[int]:
    got = pil_decode(path)
    return [int(round(f[f.shape[0] // 2, f.shape[1] // 2, 0] / 5)) for f in got["frames"]]


def _gaps(kept: list[int], n: int) -> list[int]:
    """Steps between kept frames, the step over the loop's seam (last -> first) included."""
    return [b - a for a, b in zip(kept, kept[1:])] + [kept[0] + n - kept[-1]]


def test_frame_limit_subsamples_without_a_hitch_at_the_seam(tmp_path):
    """kakao keeps 24 frames: 48 in, every second frame out, and the step from the last kept
    frame back to the first is a step like all the others (not one frame)."""
    rep = export_animation(_numbered_clip(48), tmp_path / "k.gif", fps=16, preset="kakao")
    assert rep.n_frames == 24
    kept = _frame_numbers(rep.path)
    assert kept[0] == 0 and 47 not in kept
    assert _gaps(kept, 48) == [2] * 24


def test_fps_cap_subsamples_without_a_hitch_at_the_seam(tmp_path):
    """GIF plays at most 50 fps: 100 fps in, every second frame out, the seam step included."""
    rep = export_animation(_numbered_clip(40), tmp_path / "fast.gif", fps=100)
    kept = _frame_numbers(rep.path)
    assert len(kept) == 20 and _gaps(kept, 40) == [2] * 20
    assert rep.fps == pytest.approx(50.0)


def test_letterbox_is_the_edge_colour_not_black(tmp_path, astronaut_rgb):
    teal = np.array([40, 160, 200], np.uint8)
    clip = astronaut_clip(astronaut_rgb, 6, 120, 80)
    for f in clip:
        f[:4], f[-4:], f[:, :4], f[:, -4:] = teal, teal, teal, teal
    rep = export_animation(clip, tmp_path / "s.gif", fps=6, preset="slack")
    got = pil_decode(rep.path)
    assert got["size"] == (128, 128)
    for frame in got["frames"]:
        for bar in (frame[:20], frame[-20:]):               # 128x85 picture: 21-px bars
            assert bar[..., 3].min() == 255
            assert np.abs(bar[..., :3].astype(int) - teal).max() <= 12


@pytest.mark.parametrize("hidden", [(0, 0, 0), (0, 255, 0)])
def test_rgba_resize_has_no_halo(tmp_path, hidden):
    """A red disc on transparency whose hidden colour is black or green: shrunk to the
    discord-sticker size, the soft rim is still red (premultiplied resampling)."""
    side = 643                                   # not a multiple of 320: rim pixels blend
    yy, xx = np.mgrid[:side, :side]
    inside = np.hypot(xx - side / 2, yy - side / 2) < 0.4 * side
    frame = np.zeros((side, side, 4), np.uint8)
    frame[..., :3] = hidden
    frame[inside] = (230, 20, 20, 255)
    rep = export_animation([frame, frame.copy()], tmp_path / "d.png", fps=2,
                           preset=PRESETS["discord-sticker"])
    out = pil_decode(rep.path)["frames"][0]
    assert out.shape[:2] == (320, 320)
    rim = (out[..., 3] > 20) & (out[..., 3] < 235)
    assert rim.sum() > 100
    rgb = out[rim][:, :3].astype(int)
    assert np.abs(rgb - (230, 20, 20)).max() <= 12, rgb[np.abs(rgb - (230, 20, 20)).max(1).argmax()]


def test_palette_apng_keeps_a_soft_edge(tmp_path):
    """A palette APNG (what the LINE/Signal fitter falls back to) keeps partial alpha at the
    rim through per-entry alpha, instead of GIF's one on/off transparent index; the inside
    stays fully opaque."""
    side = 96
    yy, xx = np.mgrid[:side, :side]
    r = np.hypot(xx - side / 2, yy - side / 2)
    frame = np.zeros((side, side, 4), np.uint8)
    frame[..., :3] = (200, 60, 40)
    frame[..., 3] = np.clip((30 - r) * 64 + 128, 0, 255).astype(np.uint8)     # 4-px soft rim
    rep = export_animation([frame, np.roll(frame, 3, axis=1)], tmp_path / "p.png", fps=4,
                           max_colors=64)
    assert rep.settings.startswith("64 colours")
    out = pil_decode(rep.path)["frames"][0]
    rim = (frame[..., 3] > 30) & (frame[..., 3] < 225)
    assert len(np.unique(out[rim][:, 3])) >= 3                     # soft, not on/off
    assert np.abs(out[rim][:, 3].astype(int) - frame[rim][:, 3]).mean() < 25
    assert (out[frame[..., 3] == 255][:, 3] == 255).all()
