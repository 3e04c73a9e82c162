"""export_animation: every format decodes back with the right frames, size, timing, loop flag
and alpha; bad arguments and unwritable outputs fail cleanly with nothing on disk."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import DependencyError, OutputError, UsageError
from emoget_cli.render import formats as formats_module
from emoget_cli.render.export import attach_alpha, export_animation, resolve_format
from emoget_cli.render.formats import FORMATS, durations_ms as _durations_ms, h264_encoder
from test_export_support import (astronaut_clip, disc_alpha, ffmpeg_decode, ffprobe, pil_decode,
                                 with_alpha)

N, FPS, W, H = 24, 12.0, 96, 80


@pytest.fixture(scope="module")
def clip(astronaut_rgb):
    return astronaut_clip(astronaut_rgb, N, W, H)


@pytest.fixture(scope="module")
def clip_rgba(clip):
    return with_alpha(clip, disc_alpha(W, H))


def _mean_error(decoded: np.ndarray, source: np.ndarray) -> float:
    return float(np.abs(decoded[..., :3].astype(int) - source[..., :3].astype(int)).mean())


def _assert_alpha(rgba: np.ndarray, alpha: np.ndarray) -> None:
    """Corners transparent, disc centre opaque (soft rim may be thresholded or quantized)."""
    a = rgba[..., 3]
    assert a[alpha == 0].max() <= 8
    assert a[alpha == 255].min() >= 247


def _no_leftovers(folder, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ---------------------------------------------------------------- GIF


def test_gif_roundtrip_global_palette(tmp_path, clip):
    rep = export_animation(clip, tmp_path / "a.gif", fps=FPS)
    got = pil_decode(rep.path)
    assert (got["format"], got["size"], got["n"]) == ("GIF", (W, H), N)
    assert (rep.n_frames, rep.size, rep.format, rep.loop) == (N, (W, H), "gif", 0)
    assert rep.summary().startswith(f"a.gif: GIF {W}x{H}, {N} frames at 12 fps (2.00 s)")
    assert rep.to_dict()["duration_s"] == 2.0
    assert got["loop"] == 0                                    # loops forever
    assert sum(got["durations"]) == pytest.approx(N / FPS * 1000, abs=1)  # 80/90 ms, no drift
    assert all(d % 10 == 0 for d in got["durations"])
    assert rep.bytes == rep.path.stat().st_size
    for dec, src in zip(got["frames"], clip):
        assert _mean_error(dec, src) < 6.0                   # a good adaptive palette
    assert _no_leftovers(tmp_path) == ["a.gif"]


def test_gif_still_background_is_stable(tmp_path, astronaut_rgb):
    """A still background keeps bit-identical pixels in every decoded frame (no dither crawl)
    while the moving part is decoded faithfully through GIF's delta frames."""
    import cv2

    base = cv2.resize(astronaut_rgb[:300, 80:380], (96, 96), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(12):
        moved = np.roll(base, (round(3 * np.sin(2 * np.pi * i / 12)), i % 3), axis=(0, 1))
        frame = base.copy()
        frame[20:60, 30:70] = moved[20:60, 30:70]
        frames.append(frame)
    rep = export_animation(frames, tmp_path / "s.gif", fps=FPS)
    got = np.stack(pil_decode(rep.path)["frames"])
    assert got.shape == (12, 96, 96, 4)
    still = np.ones((96, 96), bool)
    still[20:60, 30:70] = False
    assert (got[:, still] == got[0, still]).all()
    for dec, src in zip(got, frames):
        assert _mean_error(dec, src) < 6.0


def test_gif_transparency_and_play_once(tmp_path, clip, clip_rgba):
    assert np.array_equal(attach_alpha(clip, [f[..., 3] for f in clip_rgba])[5], clip_rgba[5])
    rep = export_animation(clip_rgba, tmp_path / "a.gif", fps=FPS, loop=False)
    got = pil_decode(rep.path)
    assert got["n"] == N and got["loop"] is None and rep.loop == 1 and rep.alpha
    alpha = clip_rgba[0][..., 3]
    for dec, src in zip(got["frames"], clip_rgba):
        _assert_alpha(dec, alpha)
        inside = alpha == 255
        assert _mean_error(dec[inside], src[inside]) < 8.0


def test_gif_per_frame_palette_without_dither(tmp_path, clip):
    small = export_animation(clip, tmp_path / "b.gif", fps=FPS, max_colors=16, dither=False,
                             palette="per-frame")
    full = export_animation(clip, tmp_path / "c.gif", fps=FPS)
    got = pil_decode(small.path)
    assert got["n"] == N
    for frame in got["frames"]:
        assert len(np.unique(frame[..., :3].reshape(-1, 3), axis=0)) <= 16
    assert small.bytes < full.bytes
    assert small.settings == "16 colours, no dithering"


# ---------------------------------------------------------------- APNG / WebP


@pytest.mark.parametrize("alpha", [False, True])
def test_apng_is_lossless_and_loops(tmp_path, clip, clip_rgba, alpha):
    frames = clip_rgba if alpha else clip
    rep = export_animation(frames, tmp_path / "a.png", fps=FPS)
    got = pil_decode(rep.path)
    assert (got["format"], got["size"], got["n"], got["loop"]) == ("PNG", (W, H), N, 0)
    assert sum(got["durations"]) == pytest.approx(N / FPS * 1000, abs=1)
    for dec, src in zip(got["frames"], frames):
        if alpha:
            assert np.array_equal(dec[..., 3], src[..., 3])
            visible = src[..., 3] > 0
            assert np.array_equal(dec[visible], src[visible])
        else:
            assert np.array_equal(dec[..., :3], src)


@pytest.mark.parametrize("alpha", [False, True])
def test_apng_still_loop_stays_animated(tmp_path, clip, clip_rgba, alpha):
    """Pillow folds repeated frames into one: a still loop must still be an animated PNG
    (two frames), and a preset's minimum (LINE: 5) must hold in the file, not just the report,
    with every decoded frame still the picture and the loop's total time kept."""
    still = [(clip_rgba if alpha else clip)[0]] * 12
    rep = export_animation(still, tmp_path / "s.png", fps=FPS)
    got = pil_decode(rep.path)
    assert got["n"] == 2 and got["loop"] == 0
    assert sum(got["durations"]) == pytest.approx(12 / FPS * 1000, abs=1)
    # a few distinct frames among repeats: the repeats fill up to LINE's 5 frames
    frames = [clip[0]] * 6 + [clip[5]] * 6 + [clip[0]] * 8
    line = export_animation(frames, tmp_path / "l.png", fps=5.0, preset="line")
    got = pil_decode(line.path)
    assert got["n"] >= 5 and got["size"] == line.size
    assert sum(got["durations"]) == pytest.approx(line.duration * 1000, abs=2)
    # the decoded pictures run A, B, A: the kept repeats show their picture, not another
    runs = [got["frames"][0]]
    for dec in got["frames"][1:]:
        if not np.array_equal(dec, runs[-1]):
            runs.append(dec)
    assert len(runs) == 3 and np.array_equal(runs[0], runs[2])
    assert _mean_error(runs[0], runs[1]) > 5.0
    for dec in pil_decode(rep.path)["frames"]:
        if alpha:
            visible = still[0][..., 3] > 0
            assert np.array_equal(dec[..., 3], still[0][..., 3])
            assert np.array_equal(dec[visible], still[0][visible])
        else:
            assert np.array_equal(dec[..., :3], still[0])


def test_apng_palette_mode(tmp_path, clip_rgba):
    rep = export_animation(clip_rgba, tmp_path / "p.png", fps=FPS, max_colors=64)
    full = export_animation(clip_rgba, tmp_path / "f.png", fps=FPS)
    got = pil_decode(rep.path)
    assert got["n"] == N and rep.settings == "64 colours, dithered" and rep.bytes < full.bytes
    alpha = clip_rgba[0][..., 3]
    for dec, src in zip(got["frames"], clip_rgba):
        _assert_alpha(dec, alpha)
        assert len(np.unique(dec[dec[..., 3] > 0][:, :3], axis=0)) <= 63
        inside = alpha == 255
        assert _mean_error(dec[inside], src[inside]) < 10.0


def test_apng_fmt_overrides_suffix(tmp_path, clip):
    rep = export_animation(clip[:6], tmp_path / "anim.apng", fps=6, loop=False)
    got = pil_decode(rep.path)
    assert got["format"] == "PNG" and got["n"] == 6 and got["loop"] == 1  # plays once


@pytest.mark.parametrize("lossless", [False, True])
def test_webp_roundtrip_with_alpha(tmp_path, clip_rgba, lossless):
    rep = export_animation(clip_rgba, tmp_path / "a.webp", fps=FPS, lossless=lossless)
    got = pil_decode(rep.path)
    assert (got["format"], got["size"], got["n"], got["loop"]) == ("WEBP", (W, H), N, 0)
    assert sum(got["durations"]) == pytest.approx(N / FPS * 1000, abs=1)
    alpha = clip_rgba[0][..., 3]
    for dec, src in zip(got["frames"], clip_rgba):
        _assert_alpha(dec, alpha)
        inside = alpha == 255
        err = _mean_error(dec[inside], src[inside])
        assert err == 0 if lossless else err < 6.0


def test_webp_quality_trades_size(tmp_path, clip):
    lo = export_animation(clip, tmp_path / "lo.webp", fps=FPS, quality=20)
    hi = export_animation(clip, tmp_path / "hi.webp", fps=FPS, quality=95)
    assert lo.bytes < hi.bytes and lo.settings == "quality 20"


# ---------------------------------------------------------------- WebM / MP4 (ffmpeg)


def test_webm_vp9_keeps_alpha(tmp_path, clip_rgba):
    rep = export_animation(clip_rgba, tmp_path / "a.webm", fps=FPS)
    probe = ffprobe(rep.path)
    assert probe["codec"] == "vp9" and probe["size"] == (W, H) and probe["alpha_mode"]
    assert probe["fps"] == pytest.approx(FPS)
    assert probe["duration"] == pytest.approx(N / FPS, abs=0.01)
    assert not probe["audio"]
    frames = ffmpeg_decode(rep.path, (W, H), vp9_alpha=True)
    assert frames.shape[0] == N
    alpha = clip_rgba[0][..., 3]
    for dec, src in zip(frames, clip_rgba):
        _assert_alpha(dec, alpha)
        inside = alpha == 255
        assert _mean_error(dec[inside], src[inside]) < 10.0


def test_webm_without_alpha(tmp_path, clip):
    rep = export_animation(clip, tmp_path / "a.webm", fps=FPS)
    probe = ffprobe(rep.path)
    assert probe["codec"] == "vp9" and not probe["alpha_mode"] and not rep.alpha
    assert ffmpeg_decode(rep.path, (W, H)).shape[0] == N


def test_mp4_h264_even_size_and_flattened_alpha(tmp_path, clip_rgba):
    odd = [f[:79, :95] for f in clip_rgba]                  # odd sides: H.264 needs even ones
    rep = export_animation(odd, tmp_path / "a.mp4", fps=FPS)
    assert h264_encoder() == "libx264"                      # the bundled ffmpeg has it
    probe = ffprobe(rep.path)
    assert probe["codec"] == "h264" and probe["size"] == (96, 80) == rep.size
    assert probe["fps"] == pytest.approx(FPS)
    assert probe["duration"] == pytest.approx(N / FPS, abs=0.01)
    assert any("even" in a for a in rep.adjustments)
    assert any("composited over white" in a for a in rep.adjustments)
    frames = ffmpeg_decode(rep.path, (96, 80))
    assert frames.shape[0] == N
    corner = frames[:, :4, :4, :3]                          # transparent corner -> white
    assert corner.min() > 225


# ---------------------------------------------------------------- argument checks


def test_format_resolution():
    assert resolve_format("x.GIF") == ("gif", None)
    assert resolve_format("x.png")[0] == "apng"
    assert resolve_format("x.bin", "webm")[0] == "webm"
    assert resolve_format("x.out", "png")[0] == "apng"
    with pytest.raises(UsageError, match="gif, apng, webp, webm, mp4"):
        resolve_format("x.avi")
    with pytest.raises(UsageError, match="unknown format 'tiff'"):
        resolve_format("x.gif", "tiff")
    assert set(FORMATS) == {"gif", "apng", "webp", "webm", "mp4"}


def test_durations_track_the_clock():
    d = _durations_ms(24, 12.0, 10)
    assert sum(d) == 2000 and set(d) == {80, 90}
    d = _durations_ms(7, 7.0, 1)
    assert sum(d) == 1000 and max(d) - min(d) == 1


@pytest.mark.parametrize("frames, kwargs, match", [
    ([], {}, "no frames"),
    ("mixed", {}, "same size"),
    ("float", {}, "uint8"),
    ("ok", {"fps": 0}, "fps"),
    ("ok", {"max_colors": 1}, "max_colors"),
    ("ok", {"quality": 0}, "quality"),
    ("ok", {"lossless": True}, "WebP only"),
])
def test_bad_arguments(tmp_path, clip, frames, kwargs, match):
    if frames == "mixed":
        frames = [clip[0], clip[1][:40]]
    elif frames == "float":
        frames = [f.astype(np.float32) for f in clip[:2]]
    elif frames == "ok":
        frames = clip[:2]
    kwargs.setdefault("fps", FPS)
    with pytest.raises(UsageError, match=match):
        export_animation(frames, tmp_path / "a.gif", **kwargs)
    assert _no_leftovers(tmp_path) == []


def test_unwritable_output(tmp_path, clip):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="not a folder"):
        export_animation(clip[:3], blocker / "sub" / "a.gif", fps=FPS)
    (tmp_path / "dir.gif").mkdir()
    with pytest.raises(OutputError, match="folder"):
        export_animation(clip[:3], tmp_path / "dir.gif", fps=FPS)
    assert _no_leftovers(tmp_path) == ["dir.gif", "file"]
    assert list((tmp_path / "dir.gif").iterdir()) == []


def test_ffmpeg_failures_leave_nothing(tmp_path, clip, monkeypatch):
    formats_module.ffmpeg_encoders()                         # cache the real encoder list
    monkeypatch.setattr(formats_module, "ffmpeg_exe", lambda: "/bin/false")
    with pytest.raises(OutputError, match="ffmpeg could not encode WebM"):
        export_animation(clip[:3], tmp_path / "a.webm", fps=FPS)
    monkeypatch.setattr(formats_module, "ffmpeg_exe", lambda: str(tmp_path / "no-ffmpeg"))
    with pytest.raises(DependencyError, match="cannot run ffmpeg"):
        export_animation(clip[:3], tmp_path / "a.mp4", fps=FPS)
    assert _no_leftovers(tmp_path) == []


def test_format_objects_match_the_names_in_choices():
    """One object per format, keyed by core.choices' names, with the container facts that the
    exporter relies on (docs/formats.md)."""
    from emoget_cli.core import choices
    from emoget_cli.render.formats import get_format

    assert tuple(FORMATS) == choices.FORMATS
    for name, fmt in FORMATS.items():
        assert fmt.name == name and fmt.suffixes == choices.FORMAT_SUFFIXES[name]
        assert fmt.alpha == (name in choices.ALPHA_FORMATS)
        assert get_format(fmt.suffixes[0]) is fmt
        ladder = fmt.ladder(fmt.start_quality(formats_module.ExportOptions()))
        assert len(ladder) >= 3 and len(set(ladder)) == len(ladder)   # rungs all differ
    assert FORMATS["gif"].delay_quantum_ms == 10 and FORMATS["gif"].max_fps == 50
    assert FORMATS["mp4"].even_sides and not FORMATS["mp4"].alpha
    assert [n for n, f in FORMATS.items() if f.loop_flag] == ["gif", "apng", "webp"]
