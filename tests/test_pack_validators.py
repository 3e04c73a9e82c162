"""The validators read files back and catch each broken platform rule: a good file passes,
and a small file that breaks one rule fails on exactly that rule."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

from emoget_cli.pack.validators import check_image, check_pack_count, check_sticker, probe
from emoget_cli.render.export import export_animation
from emoget_cli.render.presets import PRESETS, PackImage


def _frames(n, w, h, alpha=True, seed=0):
    """n frames of a moving disc on transparency (or on grey)."""
    yy, xx = np.mgrid[:h, :w]
    out = []
    for i in range(n):
        cx = w / 2 + 0.2 * w * np.cos(2 * np.pi * i / n)
        inside = np.hypot(xx - cx, yy - h / 2) < 0.3 * min(w, h)
        f = np.zeros((h, w, 4 if alpha else 3), np.uint8)
        f[..., :3] = (120, 120, 120)
        f[inside, :3] = (200, 60, 40)
        if alpha:
            f[..., 3] = np.where(inside, 255, 0)
        out.append(f)
    return out


def _apng(path, frames, durations, loop):
    from PIL import Image

    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=durations, loop=loop,
                default_image=False)
    return path


def _gif(path, frames):
    from PIL import Image

    ims = [Image.fromarray(f[..., :3]) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=100, loop=0)
    return path


def _noise_frames(n, w, h, seed=0):
    """n frames of opaque random noise with a transparent corner: incompressible."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        f = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        f[..., 3] = 255
        f[:8, :8, 3] = 0
        out.append(f)
    return out


def _rules(path, preset):
    return {v.rule for v in check_sticker(path, PRESETS[preset] if isinstance(preset, str)
                                          else preset)}


def test_a_good_line_sticker_passes(tmp_path):
    good = _apng(tmp_path / "good.png", _frames(8, 320, 270), [250] * 8, loop=2)
    assert _rules(good, "line") == set()
    info = probe(good)
    assert (info.container, info.width, info.height, info.n_frames, info.loop) == \
        ("apng", 320, 270, 8, 2)
    assert info.duration_s == pytest.approx(2.0) and info.transparent


@pytest.mark.parametrize("make_bad, rule", [
    (lambda p: _apng(p, _frames(8, 260, 200), [250] * 8, 2), "size"),         # no side >= 270
    (lambda p: _apng(p, _frames(8, 330, 270), [250] * 8, 2), "size"),         # too wide
    (lambda p: _apng(p, _frames(4, 320, 270), [500] * 4, 2), "frames"),       # < 5 frames
    (lambda p: _apng(p, _frames(22, 270, 270), [91] * 22, 1), "frames"),      # > 20 frames
    (lambda p: _apng(p, _frames(10, 270, 270), [250] * 10, 1), "duration"),   # 2.5 s
    (lambda p: _apng(p, _frames(10, 270, 270), [500] * 10, 1), "duration"),   # 5 s
    (lambda p: _apng(p, _frames(8, 270, 270), [250] * 8, 0), "loops"),        # forever
    (lambda p: _apng(p, _frames(8, 270, 270), [250] * 8, 3), "loops"),        # 3 x 2 s > 4 s
    (lambda p: _apng(p, _frames(8, 270, 270, alpha=False), [250] * 8, 1), "transparent"),
    (lambda p: p.write_bytes(np.random.default_rng(0).integers(0, 255, 310_000, np.uint8)
                             .tobytes().join([b"\x89PNG\r\n\x1a\n", b""])) and p, "format"),
])
def test_line_rules_each_fail(tmp_path, make_bad, rule):
    bad = make_bad(tmp_path / "bad.png")
    assert rule in _rules(bad, "line")


def test_line_byte_limit_and_still_png(tmp_path):
    noisy = [np.dstack([np.random.default_rng(i).integers(0, 256, (270, 320, 3), np.uint8),
                        np.full((270, 320), 200, np.uint8)]) for i in range(8)]
    big = _apng(tmp_path / "big.png", noisy, [250] * 8, 1)
    assert big.stat().st_size > 300_000 and "bytes" in _rules(big, "line")
    from PIL import Image

    Image.fromarray(_frames(1, 320, 270)[0]).save(tmp_path / "still.png")
    assert _rules(tmp_path / "still.png", "line") == {"format"}


def test_whatsapp_rules(tmp_path):
    from PIL import Image

    def webp(name, frames, durations):
        ims = [Image.fromarray(f) for f in frames]
        ims[0].save(tmp_path / name, save_all=True, append_images=ims[1:], duration=durations,
                    loop=0, lossless=True)
        return tmp_path / name

    assert _rules(webp("ok.webp", _frames(6, 512, 512), [100] * 6), "whatsapp") == set()
    assert "size" in _rules(webp("small.webp", _frames(6, 500, 512), [100] * 6), "whatsapp")
    assert "frame_ms" in _rules(webp("fast.webp", _frames(6, 512, 512), [5] * 6), "whatsapp")
    assert "duration" in _rules(webp("long.webp", _frames(6, 512, 512), [2000] * 6), "whatsapp")
    gif = tmp_path / "x.gif"
    Image.fromarray(_frames(1, 512, 512)[0][..., :3]).save(gif)
    assert _rules(gif, "whatsapp") == {"format"}
    tray = PRESETS["whatsapp"].pack_images[0]
    Image.fromarray(_frames(1, 96, 96)[0]).save(tmp_path / "tray.png")
    assert check_image(tmp_path / "tray.png", tray) == []
    Image.fromarray(_frames(1, 100, 96)[0]).save(tmp_path / "tray2.png")
    assert {v.rule for v in check_image(tmp_path / "tray2.png", tray)} == {"size"}
    noisy = np.random.default_rng(1).integers(0, 256, (96, 96, 4), np.uint8)
    Image.fromarray(noisy).save(tmp_path / "tray3.png")
    assert "bytes" in {v.rule for v in check_image(tmp_path / "tray3.png",
                                                   dataclasses.replace(tray, max_bytes=20_000))}


def test_telegram_rules(tmp_path):
    frames = _frames(12, 512, 384)
    ok = export_animation(frames, tmp_path / "ok.webm", fps=12, preset="telegram")
    assert _rules(ok.path, "telegram") == set()
    slow = export_animation(frames * 4, tmp_path / "long.webm", fps=12)           # 4 s
    assert "duration" in _rules(slow.path, "telegram")
    fast = export_animation(frames * 3, tmp_path / "fast.webm", fps=60)           # 60 fps
    assert "fps" in _rules(fast.path, "telegram")
    small = export_animation(_frames(12, 400, 300), tmp_path / "small.webm", fps=12)
    assert "size" in _rules(small.path, "telegram")                               # no side 512
    opaque = export_animation(_frames(12, 512, 512, alpha=False), tmp_path / "o.webm", fps=12)
    assert "transparent" in _rules(opaque.path, "telegram")
    mp4 = export_animation(_frames(12, 512, 512, alpha=False), tmp_path / "v.mp4", fps=12)
    renamed = tmp_path / "v.webm"
    renamed.write_bytes(mp4.path.read_bytes())
    assert "format" in _rules(renamed, "telegram")


def test_telegram_audio_is_refused(tmp_path):
    import subprocess

    from emoget_cli.render.formats import ffmpeg_exe

    ok = export_animation(_frames(12, 512, 512), tmp_path / "ok.webm", fps=12,
                          preset="telegram")
    loud = tmp_path / "loud.webm"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(ok.path), "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", "-c:v", "copy", "-c:a", "libopus",
                    "-shortest", str(loud)], check=True)
    assert "audio" in _rules(loud, "telegram")


def test_discord_signal_imessage_rules(tmp_path):
    good = _apng(tmp_path / "d.png", _frames(8, 320, 320), [100] * 8, 0)
    assert _rules(good, "discord-sticker") == set()
    assert "size" in _rules(_apng(tmp_path / "d2.png", _frames(8, 300, 320), [100] * 8, 0),
                            "discord-sticker")
    assert "duration" in _rules(_apng(tmp_path / "d3.png", _frames(8, 320, 320), [700] * 8, 0),
                                "discord-sticker")
    assert _rules(_apng(tmp_path / "s.png", _frames(8, 400, 400), [100] * 8, 0), "signal") == set()
    assert "size" in _rules(_apng(tmp_path / "s2.png", _frames(8, 600, 400), [100] * 8, 0),
                            "signal")
    assert "duration" in _rules(_apng(tmp_path / "s3.png", _frames(8, 400, 400), [400] * 8, 0),
                                "signal")
    tiny = dataclasses.replace(PRESETS["imessage"], max_bytes=2_000)
    big = _apng(tmp_path / "i.png", _frames(8, 408, 408), [100] * 8, 0)
    assert _rules(big, "imessage") == set() and "bytes" in _rules(big, tiny)


def test_pack_counts():
    assert check_pack_count(16, PRESETS["line"]) == []
    assert [v.rule for v in check_pack_count(12, PRESETS["line"])] == ["count"]
    assert check_pack_count(3, PRESETS["whatsapp"]) == []
    assert [v.rule for v in check_pack_count(31, PRESETS["whatsapp"])] == ["count"]
    assert [v.rule for v in check_pack_count(2, PRESETS["whatsapp"])] == ["count"]


def test_main_and_tab_images(tmp_path):
    from PIL import Image

    main, tab = PRESETS["line"].pack_images
    Image.fromarray(_frames(1, 240, 240)[0]).save(tmp_path / "main.png")
    Image.fromarray(_frames(1, 96, 74)[0]).save(tmp_path / "tab.png")
    assert check_image(tmp_path / "main.png", main) == []
    assert check_image(tmp_path / "tab.png", tab) == []
    assert {v.rule for v in check_image(tmp_path / "main.png", tab)} == {"size"}
    Image.fromarray(_frames(1, 96, 74, alpha=False)[0]).save(tmp_path / "tab.jpg", format="JPEG")
    assert {v.rule for v in check_image(tmp_path / "tab.jpg", tab)} == {"format"}
    buf = io.BytesIO()
    Image.fromarray(_frames(1, 96, 74, alpha=False)[0]).save(buf, format="PNG")
    (tmp_path / "flat.png").write_bytes(buf.getvalue())
    assert {v.rule for v in check_image(tmp_path / "flat.png", tab)} == {"transparent"}
    assert isinstance(main, PackImage)


# ------------------------------------------------------------------ Signal and iMessage, each
# rule from its primary source (docs/platforms.md): a good file passes, a file breaking one rule
# fails on that rule


def test_signal_rules_from_the_sticker_creator_and_support_article(tmp_path):
    pre = "signal"
    ok = _apng(tmp_path / "ok.png", _frames(8, 512, 512), [100] * 8, 0)
    assert _rules(ok, pre) == set()
    # any square from 10 to 512 px is accepted (Signal-Desktop: MIN_IMAGE_SIZE..STICKER_SIZE)
    assert _rules(_apng(tmp_path / "small.png", _frames(8, 64, 64), [100] * 8, 0), pre) == set()
    assert "square" in _rules(_apng(tmp_path / "wide.png", _frames(8, 512, 480), [100] * 8, 0),
                              pre)
    assert "size" in _rules(_apng(tmp_path / "big.png", _frames(8, 600, 600), [100] * 8, 0),
                            pre)
    assert "size" in _rules(_apng(tmp_path / "tiny.png", _frames(8, 8, 8), [100] * 8, 0), pre)
    assert "loops" in _rules(_apng(tmp_path / "once.png", _frames(8, 256, 256), [100] * 8, 1),
                             pre)
    assert "duration" in _rules(_apng(tmp_path / "long.png", _frames(8, 256, 256), [400] * 8,
                                      0), pre)
    assert "transparent" in _rules(_apng(tmp_path / "opaque.png",
                                         _frames(8, 256, 256, alpha=False), [100] * 8, 0), pre)
    assert "format" in _rules(_gif(tmp_path / "s.gif", _frames(8, 256, 256)), pre)
    heavy = _apng(tmp_path / "heavy.png", _noise_frames(12, 512, 512), [100] * 12, 0)
    assert heavy.stat().st_size > 300_000 and "bytes" in _rules(heavy, pre)


def test_signal_export_is_square_and_loops_forever(tmp_path):
    """A non-square cut-out is padded to a square (Signal refuses other APNGs), and an
    animation asked to play once still loops forever."""
    res = export_animation(_frames(8, 300, 200), tmp_path / "s.png", fps=8, preset="signal",
                           loop=False)
    assert res.size[0] == res.size[1] and res.loop == 0
    assert check_sticker(res.path, PRESETS["signal"]) == []


def test_imessage_rules_from_apples_messages_framework(tmp_path):
    pre = "imessage"
    ok = _apng(tmp_path / "ok.png", _frames(8, 408, 408), [100] * 8, 0)
    assert _rules(ok, pre) == set()
    assert "size" in _rules(_apng(tmp_path / "s.png", _frames(8, 400, 400), [100] * 8, 0), pre)
    assert "format" in _rules(_gif(tmp_path / "i.gif", _frames(8, 408, 408)), pre)
    heavy = _apng(tmp_path / "heavy.png", _noise_frames(20, 408, 408), [100] * 20, 0)
    assert heavy.stat().st_size > 500_000 and "bytes" in _rules(heavy, pre)
