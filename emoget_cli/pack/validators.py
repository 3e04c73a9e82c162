"""Check written sticker files against a platform's published rules (render/presets.py).

    probe(path) -> MediaInfo                         # what the file really is, read back
    check_sticker(path, preset) -> [Violation]       # [] = the platform accepts it
    check_image(path, rule) -> [Violation]           # a pack's still image (icon, tray, main)
    check_pack_count(n, preset) -> [Violation]

The checks read the file as a platform's upload form would (container signature, chunks,
frame delays, loop count, alpha), not what the encoder was asked to do, so an encoder bug or a
hand-made bad file is caught. Readers are bounded: at most MAX_PROBE_BYTES are read and at most
MAX_PROBE_FRAMES frames decoded.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import InputError
from ..render.presets import PackImage, Preset, fmt_bytes

MAX_PROBE_BYTES = 50_000_000
MAX_PROBE_FRAMES = 2000
#: Slack on timing rules: delays are stored in whole milliseconds (GIF: centiseconds).
TIME_TOLERANCE_S = 0.011


@dataclass(frozen=True)
class Violation:
    """One broken rule: rule = a short key ("bytes", "size", ...), message = one sentence."""

    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class MediaInfo:
    """A sticker file as read back. container: gif | apng | png (a still PNG) | webp | webm |
    unknown; loop: plays (0 = forever, None = the container has no loop count); frame_ms: the
    per-frame delays (empty for WebM); has_alpha: the file can carry transparency;
    transparent: some pixel of the first frame is (partly) transparent."""

    path: Path
    bytes: int
    container: str
    width: int = 0
    height: int = 0
    n_frames: int = 0
    duration_s: float = 0.0
    frame_ms: list[int] = field(default_factory=list)
    loop: int | None = None
    has_alpha: bool = False
    transparent: bool = False
    fps: float | None = None
    audio: bool = False
    codec: str = ""

    def to_dict(self) -> dict:
        return {"bytes": self.bytes, "container": self.container, "width": self.width,
                "height": self.height, "frames": self.n_frames,
                "duration_s": round(self.duration_s, 3), "loop": self.loop,
                "alpha": self.has_alpha, "codec": self.codec or None}


def _container(head: bytes) -> str:
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return "unknown"


def _png_is_animated(data: bytes) -> bool:
    """An APNG has an acTL chunk before its first IDAT (APNG specification)."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"acTL":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        pos += 12 + length
    return False


def probe(path: str | Path) -> MediaInfo:
    """Read a sticker file back (InputError when it cannot be read)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PROBE_BYTES:
            return MediaInfo(path, size, "unknown")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    kind = _container(data[:16])
    if kind == "webm":
        return _probe_video(path, size)
    if kind == "unknown":
        return MediaInfo(path, size, kind)
    if kind == "png" and _png_is_animated(data):
        kind = "apng"
    return _probe_image(path, size, kind)


def _probe_image(path: Path, size: int, kind: str) -> MediaInfo:
    import numpy as np
    from PIL import Image

    info = MediaInfo(path, size, kind)
    try:
        with Image.open(path) as im:
            info.width, info.height = im.size
            n = min(getattr(im, "n_frames", 1), MAX_PROBE_FRAMES)
            info.n_frames = n
            info.has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            durations = []
            for i in range(n):
                im.seek(i)
                im.load()  # WebP sets a frame's duration when it is decoded
                durations.append(int(im.info.get("duration", 0) or 0))
                if i == 0 and info.has_alpha:
                    info.transparent = bool((np.asarray(im.convert("RGBA"))[..., 3] < 255).any())
            info.frame_ms = durations if n > 1 or kind != "png" else []
            info.duration_s = sum(durations) / 1000.0
            if kind == "gif":
                # no NETSCAPE block = one play; its count is repeats after the first play
                loop = im.info.get("loop")
                info.loop = 1 if loop is None else (0 if loop == 0 else loop + 1)
            elif kind in ("apng", "webp"):
                info.loop = int(im.info.get("loop", 0))
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"cannot decode {path.name}: {exc}") from exc
    if info.duration_s > 0 and info.n_frames > 1:
        info.fps = info.n_frames / info.duration_s
    return info


def _probe_video(path: Path, size: int) -> MediaInfo:
    """WebM: codec, size, rate, duration, audio and alpha from ffmpeg's stream report; the
    frame count by remuxing to nowhere (no decoding)."""
    from ..render.formats import ffmpeg_exe

    info = MediaInfo(path, size, "webm")
    exe = ffmpeg_exe()
    try:
        report = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True,
                                text=True, timeout=60).stderr
        count = subprocess.run([exe, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-c",
                                "copy", "-f", "null", "-"], capture_output=True, text=True,
                               timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"cannot read {path.name} with ffmpeg: {exc}") from exc
    video = re.search(r"Stream #\S+.*?Video: (\w+)[^\n]*?, (\d+)x(\d+)", report)
    if video is None:
        return info
    info.codec = video.group(1)
    info.width, info.height = int(video.group(2)), int(video.group(3))
    rate = re.search(r"Video:[^\n]*?([\d.]+) fps", report)
    info.fps = float(rate.group(1)) if rate else None
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", report)
    if dur:
        h, m, s = dur.groups()
        info.duration_s = int(h) * 3600 + int(m) * 60 + float(s)
    frames = re.findall(r"frame=\s*(\d+)", count)
    info.n_frames = int(frames[-1]) if frames else 0
    info.audio = "Audio:" in report
    info.has_alpha = info.transparent = "alpha_mode" in report
    return info


def _probe_or_violation(path: str | Path) -> "MediaInfo | list[Violation]":
    """The file's facts, or the one violation of a file that cannot be decoded."""
    try:
        return probe(path)
    except InputError as exc:
        return [Violation("format", f"{Path(path).name}: cannot be decoded ({exc})")]


def check_sticker(path: str | Path, preset: Preset) -> list[Violation]:
    """Every rule of `preset` that the file at `path` breaks ([] when it passes)."""
    info = _probe_or_violation(path)
    return info if isinstance(info, list) else check_info(info, preset)


def check_info(info: MediaInfo, pre: Preset) -> list[Violation]:
    bad: list[Violation] = []
    name, who = info.path.name, pre.name

    def fail(rule: str, text: str) -> None:
        bad.append(Violation(rule, f"{name}: {text} ({who} rule)"))

    want = pre.format
    if info.container != want:
        what = {"png": "a still PNG", "unknown": "not an image or video file"}.get(
            info.container, info.container.upper())
        fail("format", f"is {what}, {who} needs {pre.output_format.title}")
        return bad
    if want == "webm" and info.codec != "vp9":
        fail("codec", f"video codec is {info.codec or 'unknown'}, not VP9")
    if info.bytes > pre.max_bytes:
        fail("bytes", f"{fmt_bytes(info.bytes)} is over {fmt_bytes(pre.max_bytes)}")
    w, h = info.width, info.height
    if pre.fit == "exact":
        if (w, h) != (pre.width, pre.height):
            fail("size", f"{w}x{h} px, must be exactly {pre.width}x{pre.height}")
    else:
        if w > pre.width or h > pre.height:
            fail("size", f"{w}x{h} px is larger than {pre.width}x{pre.height}")
        elif not pre.shrink_ok and w != pre.width and h != pre.height:
            fail("size", f"{w}x{h} px: one side must be {pre.width if w >= h else pre.height}")
    if pre.square and w != h:
        fail("square", f"{w}x{h} px, must be square")
    if pre.min_side and max(w, h) < pre.min_side:
        fail("size", f"{w}x{h} px: one side must be at least {pre.min_side}")
    if info.n_frames < max(2, pre.min_frames):
        fail("frames", f"{info.n_frames} frame(s), needs at least {max(2, pre.min_frames)} "
                       "(an animated sticker)")
    if pre.max_frames and info.n_frames > pre.max_frames:
        fail("frames", f"{info.n_frames} frames, at most {pre.max_frames}")
    dur = info.duration_s
    if pre.max_seconds and dur > pre.max_seconds + TIME_TOLERANCE_S:
        fail("duration", f"lasts {dur:.3g} s, at most {pre.max_seconds:g} s")
    if pre.whole_seconds and (abs(dur - round(dur)) > TIME_TOLERANCE_S or round(dur) < 1):
        fail("duration", f"lasts {dur:.3g} s, must be a whole number of seconds")
    if pre.max_fps and info.fps and info.fps > pre.max_fps + 0.01:
        fail("fps", f"{info.fps:.3g} fps, at most {pre.max_fps:g}")
    if pre.min_frame_ms and info.frame_ms and min(info.frame_ms) < pre.min_frame_ms:
        fail("frame_ms", f"a frame lasts {min(info.frame_ms)} ms, at least {pre.min_frame_ms} ms")
    if pre.max_loops:
        plays = info.loop
        if plays is None or plays == 0 or plays > pre.max_loops:
            fail("loops", f"plays {'forever' if plays == 0 else plays} times, "
                          f"must play 1-{pre.max_loops} times")
        elif pre.max_play_seconds and plays * dur > pre.max_play_seconds + TIME_TOLERANCE_S:
            fail("loops", f"plays {plays} x {dur:.3g} s, at most {pre.max_play_seconds:g} s "
                          "in total")
    if pre.loop_forever and info.loop != 0:
        fail("loops", f"plays {info.loop} time(s), must loop forever")
    if pre.transparent and not (info.has_alpha and info.transparent):
        fail("transparent", "has no transparent background")
    if want == "webm" and info.audio:
        fail("audio", "has an audio track")
    return bad


def check_image(path: str | Path, rule: PackImage) -> list[Violation]:
    """A pack's still image (main image, tab icon, tray icon) against its rule."""
    info = _probe_or_violation(path)
    return info if isinstance(info, list) else check_image_info(info, rule)


def check_image_info(info: MediaInfo, rule: PackImage) -> list[Violation]:
    bad: list[Violation] = []
    name = info.path.name

    def fail(key: str, text: str) -> None:
        bad.append(Violation(key, f"{name}: {text} ({rule.role} rule)"))

    if info.container != "png":
        fail("format", f"is {info.container.upper()}, must be a still PNG")
        return bad
    if (info.width, info.height) != (rule.width, rule.height):
        fail("size", f"{info.width}x{info.height} px, must be {rule.width}x{rule.height}")
    if info.bytes > rule.max_bytes:
        fail("bytes", f"{fmt_bytes(info.bytes)} is over {fmt_bytes(rule.max_bytes)}")
    if rule.transparent and not (info.has_alpha and info.transparent):
        fail("transparent", "has no transparent background")
    return bad


def check_pack_count(n: int, pre: Preset) -> list[Violation]:
    lo, hi = pre.pack_range
    if pre.pack_sizes and n not in pre.pack_sizes:
        return [Violation("count", f"{n} stickers: a {pre.name} pack holds "
                                   f"{', '.join(map(str, pre.pack_sizes))}")]
    if not lo <= n <= hi:
        return [Violation("count", f"{n} stickers: a {pre.name} pack holds {lo}-{hi}")]
    return []
