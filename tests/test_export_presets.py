"""Messenger presets: every output meets all of its preset's limits (pixels, format, frames,
duration, bytes), fitting says what it changed, and impossible limits fail with no file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from emoget_cli.core.errors import UsageError
from emoget_cli.render.export import PRESETS, export_animation, get_preset
from test_export_support import (astronaut_clip, disc_alpha, ffmpeg_decode, ffprobe, pil_decode,
                                 with_alpha)

# a 3 s, 30-frame, non-square clip: every preset must resize it, and some must pad or
# subsample it
N, FPS, W, H = 30, 10.0, 200, 160
SUFFIX = {"gif": ".gif", "apng": ".png", "webp": ".webp", "webm": ".webm"}
DECODED_FORMAT = {"gif": "GIF", "apng": "PNG", "webp": "WEBP"}


@pytest.fixture(scope="module")
def clip_rgba(astronaut_rgb):
    return with_alpha(astronaut_clip(astronaut_rgb, N, W, H), disc_alpha(W, H))


def _decode(path, fmt, size):
    """-> (size, n_frames, duration_s, loop, RGBA frames [T, H, W, 4])"""
    if fmt == "webm":
        probe = ffprobe(path)
        assert probe["codec"] == "vp9" and not probe["audio"]
        frames = ffmpeg_decode(path, probe["size"], vp9_alpha=True)
        return probe["size"], len(frames), probe["duration"], None, frames
    got = pil_decode(path)
    assert got["format"] == DECODED_FORMAT[fmt]
    return got["size"], got["n"], sum(got["durations"]) / 1000, got["loop"], np.stack(got["frames"])


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_output_meets_every_limit(tmp_path, clip_rgba, name):
    pre = PRESETS[name]
    out = tmp_path / f"sticker{SUFFIX[pre.format]}"
    rep = export_animation(clip_rgba, out, fps=FPS, preset=name)
    assert rep.format == pre.format and rep.preset == name
    assert out.stat().st_size == rep.bytes <= pre.max_bytes
    size, n, duration, loop, frames = _decode(out, pre.format, rep.size)
    assert size == rep.size and n == rep.n_frames
    w, h = size
    if pre.fit == "exact":
        assert size == (pre.width, pre.height)
        # the 200x160 clip is letterboxed on transparent: top/bottom rows are see-through
        assert frames[:, 0, :, 3].max() <= 8 and frames[:, -1, :, 3].max() <= 8
        assert any("padded" in a for a in rep.adjustments)
    else:
        # telegram: one side exactly 512; LINE: one side >= 270 (within 320x270); signal may
        # shrink below 512 to fit its byte limit
        assert w <= pre.width and h <= pre.height
        assert pre.shrink_ok or w == pre.width or h == pre.height
        assert max(w, h) >= pre.min_side
    assert pre.min_frames <= n <= (pre.max_frames or n)
    assert duration <= (pre.max_seconds or duration) + 1e-3
    assert duration == pytest.approx(rep.duration, abs=0.011)
    if pre.max_fps:
        assert rep.fps <= pre.max_fps + 1e-6
    if pre.whole_seconds:
        assert duration == pytest.approx(round(duration), abs=1e-3) and duration >= 1
    if pre.max_play_seconds:                                   # LINE: finite loop count
        assert loop is not None and 1 <= loop <= pre.max_loops
        assert loop * duration <= pre.max_play_seconds + 1e-3
    elif pre.format != "webm":
        assert loop == 0
    assert rep.adjustments and all(isinstance(a, str) and a for a in rep.adjustments)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left behind


def test_duration_and_frame_limits_keep_the_whole_loop(tmp_path, clip_rgba):
    """kakao keeps 24 of 30 frames spread over the whole loop (same 3 s, lower fps);
    telegram speeds a whole 4 s loop up to 3 s; LINE times a 2.5 s loop to whole seconds."""
    kakao = export_animation(clip_rgba, tmp_path / "k.gif", fps=FPS, preset="kakao")
    assert kakao.n_frames == 24 and kakao.duration == pytest.approx(3.0)
    assert any("24-frame limit" in a for a in kakao.adjustments)
    tg = export_animation(clip_rgba[:8], tmp_path / "t.webm", fps=2.0, preset="telegram")
    assert tg.duration == pytest.approx(3.0) and tg.n_frames == 8
    assert any("sped the whole loop up" in a for a in tg.adjustments)
    line = export_animation(clip_rgba[:10], tmp_path / "l.png", fps=4.0, preset="line")
    assert line.duration == pytest.approx(3.0) and line.n_frames == 10 and line.loop == 1
    assert any("whole seconds" in a for a in line.adjustments)


def test_letterbox_uses_edge_colour_without_alpha(tmp_path, astronaut_rgb):
    clip = astronaut_clip(astronaut_rgb, 6, 120, 80)
    rep = export_animation(clip, tmp_path / "s.gif", fps=6, preset="slack")
    got = pil_decode(rep.path)
    assert got["size"] == (128, 128)
    bar = got["frames"][0][:10]                      # the top bar: opaque, one flat colour
    assert bar[..., 3].min() == 255
    assert np.ptp(bar[..., :3].reshape(-1, 3), axis=0).max() <= 12
    assert any("edge colour" in a for a in rep.adjustments)


def test_fitting_lowers_quality_until_it_fits_and_says_so(tmp_path, astronaut_rgb):
    clip = astronaut_clip(astronaut_rgb, 24, 128, 128)
    free = export_animation(clip, tmp_path / "free.gif", fps=12)
    tight = dataclasses.replace(PRESETS["slack"], name="tight", max_bytes=free.bytes // 3)
    rep = export_animation(clip, tmp_path / "tight.gif", fps=12, preset=tight)
    assert rep.bytes <= free.bytes // 3 == tight.max_bytes
    assert any("to fit tight's" in a for a in rep.adjustments)
    assert rep.settings != free.settings or rep.n_frames < 24
    assert pil_decode(rep.path)["size"] == (128, 128)


def test_impossible_limit_raises_and_writes_nothing(tmp_path):
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(8)]
    tiny = dataclasses.replace(PRESETS["slack"], name="tiny", max_bytes=5_000)
    with pytest.raises(UsageError, match=r"cannot fit the animation under 5 KB for tiny"):
        export_animation(noise, tmp_path / "noise.gif", fps=12, preset=tiny)
    assert list(tmp_path.iterdir()) == []


def test_preset_fixes_the_format(tmp_path, clip_rgba):
    with pytest.raises(UsageError,
                       match=r"preset 'telegram' writes WebM \(VP9\): name the output \*\.webm"):
        export_animation(clip_rgba, tmp_path / "x.gif", fps=FPS, preset="telegram")
    with pytest.raises(UsageError, match="writes GIF, not animated WebP"):
        export_animation(clip_rgba, tmp_path / "x.gif", fps=FPS, preset="slack", fmt="webp")
    with pytest.raises(UsageError, match="telegram, telegram-emoji, line, whatsapp, discord-sticker"):
        get_preset("myspace")
    assert get_preset("LINE") is PRESETS["line"]
    assert list(tmp_path.iterdir()) == []
