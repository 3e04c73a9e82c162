"""Write a list of frames as a looping animation: GIF, APNG, animated WebP, WebM (VP9), MP4.

    export_animation(frames, "out.gif", fps=12) -> ExportReport
    export_animation(frames, "sticker.webm", fps=12, preset="telegram") -> ExportReport

`frames` are uint8 `[H, W, 3]` RGB or `[H, W, 4]` RGBA arrays (alpha kept by GIF, APNG, WebP
and WebM). GIF, APNG and WebP are written by Pillow; WebM and MP4 by the ffmpeg binary that
imageio-ffmpeg bundles (raw frames piped on stdin). Every file is encoded in memory first and
then written atomically, so a failure never leaves a partial file.

A messenger preset (`PRESETS`) fixes the format and is enforced: frames are resized/padded to
its pixel limits, subsampled to its frame/duration limits with the loop kept whole, and then
colours / quality / frame rate / detail are lowered step by step until the file fits its byte
limit. Each change is one sentence in `ExportReport.adjustments`; if even the floor does not
fit, a UsageError is raised and nothing is written. KB and MB are counted conservatively as
1000 and 1 000 000 bytes.
"""

from __future__ import annotations

import functools
import io
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.atomic import write_bytes_atomic
from ..core.errors import DependencyError, OutputError, UsageError

from ..core.choices import ALPHA_FORMATS, FORMAT_SUFFIXES, FORMATS, SUFFIX_FORMATS  # noqa: F401
FORMAT_NAMES = {"gif": "GIF", "apng": "APNG", "webp": "animated WebP", "webm": "WebM (VP9)",
                "mp4": "MP4 (H.264)"}
#: GIF delays are whole centiseconds and browsers slow down delays under 20 ms.
_MAX_FPS = {"gif": 50.0, "apng": 100.0, "webp": 100.0, "webm": 120.0, "mp4": 120.0}
_DEFAULT_WEBP_QUALITY = 90
_DEFAULT_CRF = {"webm": 32, "mp4": 23}


@dataclass(frozen=True)
class Preset:
    """Upload limits of one messenger's animated stickers.

    fit: "exact" = scaled to fit and padded (letterboxed) to exactly width x height;
         "within" = scaled (up or down) to the largest size inside width x height, no padding.
    shrink_ok: the fitter may make the picture smaller than the box (else it only softens detail).
    max_play_seconds: total playback (duration x loop count) allowed; sets a finite loop count.
    whole_seconds: the loop must last a whole number of seconds (LINE).
    """

    name: str
    format: str
    width: int
    height: int
    fit: str
    max_bytes: int
    max_seconds: float | None = None
    min_frames: int = 1
    max_frames: int | None = None
    max_fps: float | None = None
    shrink_ok: bool = False
    max_play_seconds: float | None = None
    max_loops: int | None = None
    whole_seconds: bool = False
    note: str = ""

    def describe(self) -> str:
        parts = [FORMAT_NAMES[self.format],
                 f"{self.width}x{self.height}" if self.fit == "exact"
                 else f"<= {self.width}x{self.height}"]
        if self.max_frames:
            parts.append(f"{self.min_frames}-{self.max_frames} frames")
        if self.max_seconds:
            parts.append(f"<= {self.max_seconds:g} s")
        parts.append(f"<= {_fmt_bytes(self.max_bytes)}")
        return ", ".join(parts)


PRESETS: dict[str, Preset] = {
    "telegram": Preset("telegram", "webm", 512, 512, "within", 256_000, max_seconds=3.0,
                       max_fps=30.0, note="video sticker: one side exactly 512 px, no audio"),
    # LINE Creators Market: within 320x270 with one side >= 270, 5-20 frames, 1-4 whole
    # seconds, 1-4 loops totalling <= 4 s, <= 300 KB, transparent background recommended
    "line": Preset("line", "apng", 320, 270, "within", 300_000, max_seconds=4.0, min_frames=5,
                   max_frames=20, max_play_seconds=4.0, max_loops=4, whole_seconds=True,
                   note="animation sticker: 1-4 whole seconds, loops 1-4 times, 4 s in total"),
    "whatsapp": Preset("whatsapp", "webp", 512, 512, "exact", 500_000,
                       note="animated sticker, transparent background recommended"),
    "slack": Preset("slack", "gif", 128, 128, "exact", 128_000, note="custom emoji"),
    "discord": Preset("discord", "gif", 128, 128, "exact", 256_000, note="animated emoji"),
    "kakao": Preset("kakao", "gif", 360, 360, "exact", 2_000_000, max_frames=24,
                    note="animated emoticon"),
}


@dataclass(frozen=True)
class ExportReport:
    """What was written. size = (width, height); loop: 0 = forever, N = plays N times,
    None = the container has no loop flag (WebM/MP4: players decide). n_frames counts the
    frames of the loop as played: GIF and WebP store a run of identical frames as one longer
    frame, APNG too beyond the preset's minimum frame count (see _apng_disposals)."""

    path: Path
    format: str
    bytes: int
    n_frames: int
    size: tuple[int, int]
    fps: float
    adjustments: list[str] = field(default_factory=list)
    preset: str | None = None
    loop: int | None = None
    alpha: bool = False
    settings: str = ""

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def summary(self) -> str:
        """One line for the CLI: 'out.gif: GIF 128x128, 24 frames at 12 fps (2.00 s), 96.1 KB'."""
        return (f"{self.path.name}: {FORMAT_NAMES[self.format]} {self.size[0]}x{self.size[1]}, "
                f"{self.n_frames} frames at {self.fps:.3g} fps ({self.duration:.2f} s), "
                f"{_fmt_bytes(self.bytes)}" + (f", preset {self.preset}" if self.preset else ""))

    def to_dict(self) -> dict:
        return {"path": str(self.path), "format": self.format, "bytes": self.bytes,
                "n_frames": self.n_frames, "width": self.size[0], "height": self.size[1],
                "fps": round(self.fps, 4), "duration_s": round(self.duration, 4),
                "loop": self.loop, "alpha": self.alpha, "preset": self.preset,
                "settings": self.settings, "adjustments": list(self.adjustments)}


# ---------------------------------------------------------------- argument checks


def get_preset(preset: str | Preset) -> Preset:
    """Look a preset up by name (case-insensitive); UsageError lists the valid ones."""
    if isinstance(preset, Preset):
        return preset
    key = str(preset).strip().lower()
    if key not in PRESETS:
        raise UsageError(f"unknown preset '{preset}'; choose one of: {', '.join(PRESETS)}")
    return PRESETS[key]


def resolve_format(path: str | os.PathLike, fmt: str | None = None,
                   preset: str | Preset | None = None) -> tuple[str, Preset | None]:
    """Decide the output format from `fmt`, the preset and the suffix of `path`.

    Cheap: call it before any heavy work to fail fast on a bad name. Raises UsageError when
    the format is unknown or the suffix / `fmt` contradict the preset.
    """
    suffix = Path(path).suffix.lower()
    if fmt is not None:
        fmt = fmt.strip().lower().lstrip(".")
        fmt = SUFFIX_FORMATS.get("." + fmt, fmt)  # accept "png" for apng, "m4v" for mp4
        if fmt not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    pre = get_preset(preset) if preset is not None else None
    if pre is not None:
        want = pre.format
        if fmt is not None and fmt != want:
            raise UsageError(f"preset '{pre.name}' writes {FORMAT_NAMES[want]}, not "
                             f"{FORMAT_NAMES[fmt]}; drop --format or pick another preset")
        if suffix not in FORMAT_SUFFIXES[want]:
            raise UsageError(f"preset '{pre.name}' writes {FORMAT_NAMES[want]}: name the output "
                             f"*{FORMAT_SUFFIXES[want][0]} (got '{Path(path).name}')")
        return want, pre
    if fmt is None:
        if suffix not in SUFFIX_FORMATS:
            raise UsageError(f"cannot tell the format of '{Path(path).name}' from its suffix; "
                             f"formats: {', '.join(FORMATS)} (suffixes "
                             f"{' '.join(SUFFIX_FORMATS)}), or pass --format")
        fmt = SUFFIX_FORMATS[suffix]
    return fmt, None


def attach_alpha(frames: Sequence[np.ndarray], alphas: Sequence[np.ndarray] | None) -> list:
    """RGB frames [H, W, 3] + alphas [H, W] (uint8) -> RGBA frames [H, W, 4]; alphas=None
    returns the frames unchanged."""
    if alphas is None:
        return list(frames)
    if len(alphas) != len(frames):
        raise UsageError(f"{len(frames)} frames but {len(alphas)} alpha mattes")
    return [np.dstack([np.asarray(f)[..., :3], np.asarray(a)]) for f, a in zip(frames, alphas)]


def _stack_frames(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Validate and stack frames -> uint8 [T, H, W, C], C in (3, 4)."""
    if len(frames) == 0:
        raise UsageError("no frames to export")
    first = np.asarray(frames[0])
    if first.ndim != 3 or first.shape[2] not in (3, 4) or first.shape[0] < 2 or first.shape[1] < 2:
        raise UsageError(f"frames must be [H, W, 3] or [H, W, 4] images, got shape {first.shape}")
    for i, f in enumerate(frames):
        f = np.asarray(f)
        if f.shape != first.shape:
            raise UsageError(f"frame {i} has shape {f.shape}, frame 0 has {first.shape}: "
                             "all frames must have the same size")
        if f.dtype != np.uint8:
            raise UsageError(f"frame {i} has dtype {f.dtype}; frames must be uint8")
    return np.stack([np.asarray(f) for f in frames])


# ---------------------------------------------------------------- geometry


def _resize(stack: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize [T, H, W, C] frames; RGBA is resized premultiplied so edges get no dark halo."""
    import cv2

    T, H, W, C = stack.shape
    if (W, H) == (width, height):
        return stack
    interp = cv2.INTER_AREA if width * height < W * H else cv2.INTER_CUBIC
    out = np.empty((T, height, width, C), np.uint8)
    for t in range(T):
        if C == 4:
            a = stack[t, ..., 3:4].astype(np.float32) / 255.0
            pre = np.concatenate([stack[t, ..., :3] * a, a * 255.0], axis=2)
            res = cv2.resize(pre, (width, height), interpolation=interp)
            alpha = np.clip(res[..., 3:4], 0, 255)
            rgb = np.where(alpha > 0, res[..., :3] * 255.0 / np.maximum(alpha, 1e-6), 0)
            out[t] = np.clip(np.concatenate([rgb, alpha], 2) + 0.5, 0, 255).astype(np.uint8)
        else:
            out[t] = cv2.resize(stack[t], (width, height), interpolation=interp)
    return out


def _fit_size(w: int, h: int, box_w: int, box_h: int) -> tuple[int, int]:
    scale = min(box_w / w, box_h / h)
    return max(1, min(box_w, round(w * scale))), max(1, min(box_h, round(h * scale)))


def _edge_colour(stack: np.ndarray) -> np.ndarray:
    """Median colour of the frame borders over all frames: uint8 [3]."""
    border = np.concatenate([stack[:, 0, :, :3].reshape(-1, 3), stack[:, -1, :, :3].reshape(-1, 3),
                             stack[:, :, 0, :3].reshape(-1, 3), stack[:, :, -1, :3].reshape(-1, 3)])
    return np.median(border, axis=0).astype(np.uint8)


def _pad_to(stack: np.ndarray, width: int, height: int) -> tuple[np.ndarray, str]:
    """Centre frames on a width x height canvas: transparent when there is alpha, else the
    edge colour (so the letterbox reads as background, not as black bars)."""
    T, H, W, C = stack.shape
    if C == 4:
        canvas = np.zeros((T, height, width, 4), np.uint8)
        how = "transparent"
    else:
        canvas = np.empty((T, height, width, 3), np.uint8)
        canvas[:] = _edge_colour(stack)
        how = "the edge colour"
    y, x = (height - H) // 2, (width - W) // 2
    canvas[:, y:y + H, x:x + W] = stack
    return canvas, how


def _apply_geometry(stack: np.ndarray, pre: Preset, adjustments: list[str]) -> np.ndarray:
    T, H, W, C = stack.shape
    w, h = _fit_size(W, H, pre.width, pre.height)
    if (w, h) != (W, H):
        stack = _resize(stack, w, h)
        adjustments.append(f"resized {W}x{H} to {w}x{h} for {pre.name} "
                           f"({'exactly' if pre.fit == 'exact' else 'at most'} "
                           f"{pre.width}x{pre.height})")
    if pre.fit == "exact" and (w, h) != (pre.width, pre.height):
        stack, how = _pad_to(stack, pre.width, pre.height)
        adjustments.append(f"padded to {pre.width}x{pre.height} with {how}")
    return stack


def _even_size(stack: np.ndarray, adjustments: list[str]) -> np.ndarray:
    """H.264 with 4:2:0 chroma needs even sides: repeat the last row/column where needed."""
    T, H, W, C = stack.shape
    ph, pw = H % 2, W % 2
    if ph or pw:
        stack = np.pad(stack, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
        adjustments.append(f"padded {W}x{H} to {W + pw}x{H + ph} (H.264 needs even sides)")
    return stack


def _drop_alpha(stack: np.ndarray, adjustments: list[str], fmt: str) -> np.ndarray:
    """Composite RGBA over white for formats without alpha."""
    if stack.shape[3] != 4:
        return stack
    a = stack[..., 3:4].astype(np.float32) / 255.0
    rgb = stack[..., :3] * a + 255.0 * (1.0 - a)
    if (stack[..., 3] < 255).any():
        adjustments.append(f"{FORMAT_NAMES[fmt]} has no transparency: composited over white")
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- timing


def _subsample(stack: np.ndarray, n_new: int) -> np.ndarray:
    """Evenly spaced frames over the whole loop, so the last frame still flows into the first."""
    n = stack.shape[0]
    idx = np.floor(np.arange(n_new) * n / n_new).astype(int)
    return stack[idx]


def _apply_timing(stack: np.ndarray, fps: float, fmt: str, pre: Preset | None,
                  adjustments: list[str]) -> tuple[np.ndarray, float]:
    """Meet min/max frames, max duration and max fps; the loop is always kept whole."""
    eps = 1e-6
    n = stack.shape[0]
    if pre is not None and n < pre.min_frames:
        reps = math.ceil(pre.min_frames / n)
        stack = np.concatenate([stack] * reps)
        adjustments.append(f"repeated the {n}-frame loop {reps} times to reach "
                           f"{pre.name}'s minimum of {pre.min_frames} frames")
        n = stack.shape[0]
    duration = n / fps
    if pre is not None and pre.max_seconds and duration > pre.max_seconds + eps:
        new_fps = n / pre.max_seconds
        adjustments.append(f"sped the whole loop up from {duration:.2f} s to "
                           f"{pre.max_seconds:g} s ({fps:g} -> {new_fps:.3g} fps) for "
                           f"{pre.name}'s {pre.max_seconds:g} s limit")
        fps, duration = new_fps, pre.max_seconds
    if pre is not None and pre.whole_seconds and abs(duration - round(duration)) > eps:
        whole = float(min(max(1, math.floor(duration + 0.5)), pre.max_seconds or math.inf))
        new_fps = n / whole
        adjustments.append(f"timed the loop to {whole:g} s instead of {duration:.2f} s "
                           f"({fps:.3g} -> {new_fps:.3g} fps): {pre.name} needs whole seconds")
        fps, duration = new_fps, whole
    max_frames = pre.max_frames if pre is not None and pre.max_frames else None
    if max_frames and n > max_frames:
        stack = _subsample(stack, max_frames)
        fps = max_frames / duration
        adjustments.append(f"kept {max_frames} of {n} frames, evenly spaced over the loop, at "
                           f"{fps:.3g} fps for {pre.name}'s {max_frames}-frame limit")
        n = max_frames
    max_fps = min(_MAX_FPS[fmt], pre.max_fps or math.inf) if pre is not None else _MAX_FPS[fmt]
    if fps > max_fps + eps:
        n_new = max(1, math.floor(max_fps * duration + eps))
        stack = _subsample(stack, n_new)
        adjustments.append(f"kept {n_new} of {n} frames ({fps:.3g} -> {n_new / duration:.3g} fps): "
                           f"{FORMAT_NAMES[fmt]} plays at most {max_fps:g} fps"
                           + (f" for {pre.name}" if pre is not None and pre.max_fps else ""))
        fps = n_new / duration
    return stack, fps


def _loop_count(loop: bool, duration: float, pre: Preset | None,
                adjustments: list[str]) -> int:
    """0 = forever; N = play N times."""
    if not loop:
        return 1
    if pre is not None and pre.max_play_seconds:
        count = max(1, min(pre.max_loops or 1_000_000,
                           math.floor(pre.max_play_seconds / duration + 1e-6)))
        adjustments.append(f"{pre.name} allows {pre.max_play_seconds:g} s of playback in total: "
                           f"the {duration:.2f} s loop plays {count} time{'s' * (count > 1)}")
        return count
    return 0


def _durations_ms(n: int, fps: float, quantum: int) -> list[int]:
    """Per-frame delays in ms, multiples of `quantum`, whose running total tracks i / fps
    (so 12 fps in GIF centiseconds alternates 80/90 ms instead of drifting to 12.5 fps)."""
    ticks = [round(i * 1000.0 / fps / quantum) * quantum for i in range(n + 1)]
    return [max(quantum, b - a) for a, b in zip(ticks[:-1], ticks[1:])]


# ---------------------------------------------------------------- encoders


@dataclass(frozen=True)
class _Quality:
    """One rung of a format's quality ladder (only the fields the format uses)."""

    colors: int | None = None     # gif, apng palette size (None = truecolour APNG)
    dither: bool = True           # gif, apng palette dithering
    quality: int | None = None    # webp lossy quality (None = lossless)
    crf: int | None = None        # webm / mp4

    def describe(self, fmt: str) -> str:
        if fmt == "gif" or (fmt == "apng" and self.colors):
            return f"{self.colors} colours, {'dithered' if self.dither else 'no dithering'}"
        if fmt == "apng":
            return "truecolour"
        if fmt == "webp":
            return "lossless" if self.quality is None else f"quality {self.quality}"
        return f"CRF {self.crf}"


def _palette_image(pixels: np.ndarray, colors: int):
    """Adaptive (median-cut) palette for pixels [N, 3] -> PIL 'P' image with <= colors entries."""
    from PIL import Image

    if pixels.shape[0] == 0:
        pixels = np.zeros((1, 3), np.uint8)
    step = max(1, pixels.shape[0] // 65_536)  # 64k sampled pixels pin down 256 colours
    sample = np.ascontiguousarray(pixels[::step])
    return Image.fromarray(sample.reshape(1, -1, 3)).quantize(colors,
                                                               method=Image.Quantize.MEDIANCUT)


#: A pixel whose colour moved by at most this much (any channel) since the colour its shown
#: palette index came from keeps that index: a still background stays bit-identical from frame
#: to frame (no dither crawl, and GIF's delta frames shrink to the moving part).
_STILL_THRESHOLD = 3


def _palettize(stack: np.ndarray, colors: int, dither: bool, global_palette: bool = True):
    """Frames -> list of PIL 'P' images. With alpha, one index is reserved for transparency
    (alpha < 128) and returned as the second value (else None)."""
    from PIL import Image

    has_alpha = stack.shape[3] == 4
    rgb = np.ascontiguousarray(stack[..., :3])
    opaque = stack[..., 3] >= 128 if has_alpha else np.ones(stack.shape[:3], bool)
    k = colors - 1 if has_alpha else colors
    mode = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
    shared = _palette_image(rgb[opaque], k) if global_palette else None
    images, transparent = [], None
    prev_idx = shown_src = None
    for t in range(stack.shape[0]):
        pal = shared if shared is not None else _palette_image(rgb[t][opaque[t]], k)
        entries = pal.getpalette()[: 3 * k]
        idx = np.array(Image.fromarray(rgb[t]).quantize(palette=pal, dither=mode))
        if shared is not None:
            if prev_idx is not None:
                diff = np.abs(rgb[t].astype(np.int16) - shown_src).max(axis=2)
                still = (diff <= _STILL_THRESHOLD) & opaque[t] & opaque[t - 1]
                idx[still] = prev_idx[still]
                shown_src[~still] = rgb[t][~still]
            else:
                shown_src = rgb[t].astype(np.int16)
            prev_idx = idx.copy()
        if has_alpha:
            transparent = len(entries) // 3       # the first index the colours do not use
            idx[~opaque[t]] = transparent
            entries = entries + [0, 0, 0]
        im = Image.fromarray(idx.astype(np.uint8), mode="P")
        im.putpalette(entries)
        images.append(im)
    return images, transparent


def _encode_gif(stack, durations, loop, q: _Quality, global_palette: bool) -> bytes:
    images, transparent = _palettize(stack, q.colors, q.dither, global_palette)
    # optimize: Pillow writes unchanged pixels as transparent in delta frames (opaque GIFs)
    kwargs = dict(save_all=True, append_images=images[1:], duration=durations,
                  optimize=transparent is None)
    if loop != 1:  # NETSCAPE counts repeats after the first play; no block = play once
        kwargs["loop"] = max(0, loop - 1) if loop else 0
    if transparent is not None:
        # disposal 2 clears each frame before the next, so transparent areas stay transparent
        kwargs.update(transparency=transparent, disposal=2)
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", **kwargs)
    return buf.getvalue()


def _apng_disposals(images, min_frames: int) -> list[int]:
    """Per-frame APNG dispose ops that keep at least `min_frames` frames in the file.

    Pillow merges a frame identical to the one before into it (adding up the delays) unless
    their dispose ops differ; a still stretch of the loop could then leave fewer frames than a
    preset demands (LINE: 5), or a single, non-animated PNG. Just enough repeats get the
    other op (PREVIOUS, which restores the identical picture, so nothing visible changes).
    """
    from PIL import PngImagePlugin

    none, previous = PngImagePlugin.Disposal.OP_NONE, PngImagePlugin.Disposal.OP_PREVIOUS
    pixels = [np.asarray(im.convert("RGBA")) for im in images]
    repeats = [i > 0 and np.array_equal(pixels[i], pixels[i - 1]) for i in range(len(pixels))]
    missing = min(min_frames, len(images)) - (len(images) - sum(repeats))
    ops, last = [], none
    for repeat in repeats:
        if repeat and missing > 0:
            last = previous if last == none else none
            missing -= 1
        elif not repeat:
            last = none
        ops.append(last)  # a repeat left with the op of the frame before is merged into it
    return ops


def _encode_apng(stack, durations, loop, q: _Quality, min_frames: int = 2) -> bytes:
    from PIL import Image

    kwargs = dict(save_all=True, duration=durations, loop=loop, default_image=False)
    if q.colors:
        images, transparent = _palettize(stack, q.colors, q.dither)
        if transparent is not None:
            kwargs["transparency"] = transparent
    else:
        if stack.shape[3] == 4:  # colour under alpha 0 is invisible: zero it, deflate wins
            stack = np.where(stack[..., 3:4] == 0, np.uint8(0), stack)
        images = [Image.fromarray(f) for f in stack]
    kwargs["disposal"] = _apng_disposals(images, min_frames)
    buf = io.BytesIO()
    images[0].save(buf, format="PNG", append_images=images[1:], **kwargs)
    return buf.getvalue()


def _encode_webp(stack, durations, loop, q: _Quality) -> bytes:
    from PIL import Image

    images = [Image.fromarray(f) for f in stack]
    kwargs = dict(save_all=True, append_images=images[1:], duration=durations, loop=loop,
                  method=4)
    if q.quality is None:
        kwargs["lossless"] = True
    else:
        kwargs["quality"] = int(q.quality)
    buf = io.BytesIO()
    images[0].save(buf, format="WEBP", **kwargs)
    return buf.getvalue()


def ffmpeg_exe() -> str:
    """Path of imageio-ffmpeg's bundled ffmpeg; DependencyError when it is missing."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # ImportError, or RuntimeError when the binary is absent
        raise DependencyError("WebM/MP4 export needs ffmpeg: pip install imageio-ffmpeg "
                              f"({exc})") from exc


@functools.lru_cache(maxsize=None)
def ffmpeg_encoders() -> frozenset[str]:
    """Names of the video encoders the bundled ffmpeg offers."""
    try:
        out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True,
                             text=True, check=False).stdout
    except OSError as exc:
        raise DependencyError(f"cannot run ffmpeg: {exc}") from exc
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


def h264_encoder() -> str:
    """libx264 when the bundled ffmpeg has it, else OpenH264, else MPEG-4 part 2."""
    for name in ("libx264", "libopenh264", "mpeg4"):
        if name in ffmpeg_encoders():
            return name
    raise DependencyError("the bundled ffmpeg has no H.264 or MPEG-4 encoder for MP4 export")


def _video_codec_args(fmt: str, crf: int, alpha: bool, shape: tuple, fps: float) -> list[str]:
    if fmt == "webm":
        if "libvpx-vp9" not in ffmpeg_encoders():
            raise DependencyError("the bundled ffmpeg has no libvpx-vp9 encoder for WebM export")
        args = ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p" if alpha else "yuv420p",
                "-crf", str(crf), "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                "-row-mt", "1"]
        # alt-ref frames are not supported together with the alpha plane
        return args + (["-auto-alt-ref", "0"] if alpha else []) + ["-f", "webm"]
    enc = h264_encoder()
    if enc == "libx264":
        args = ["-c:v", "libx264", "-preset", "medium", "-crf", str(crf)]
    elif enc == "libopenh264":  # no CRF: a bitrate that halves every +6 CRF like x264's
        bpp = 0.1 * 2.0 ** ((23 - crf) / 6.0)
        args = ["-c:v", "libopenh264", "-b:v", str(int(bpp * shape[1] * shape[2] * fps))]
    else:
        args = ["-c:v", "mpeg4", "-q:v", str(int(np.clip(round((crf - 18) / 3) + 2, 2, 31)))]
    return args + ["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]


def _encode_ffmpeg(stack: np.ndarray, fps: float, fmt: str, q: _Quality) -> bytes:
    """Pipe raw RGB(A) frames into ffmpeg; the file goes to a private temp dir, then to memory."""
    T, H, W, C = stack.shape
    rate = Fraction(fps).limit_denominator(1001)
    alpha = C == 4
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgba" if alpha else "rgb24", "-s", f"{W}x{H}",
           "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0", "-an",
           *_video_codec_args(fmt, q.crf, alpha, stack.shape, fps)]
    with tempfile.TemporaryDirectory(prefix="emoget-ff-") as tmp:
        out = Path(tmp) / f"out.{fmt}"
        try:
            proc = subprocess.run([*cmd, str(out)], input=np.ascontiguousarray(stack).tobytes(),
                                  capture_output=True, check=False)
        except OSError as exc:
            raise DependencyError(f"cannot run ffmpeg: {exc}") from exc
        if proc.returncode != 0 or not out.exists():
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OutputError(f"ffmpeg could not encode {FORMAT_NAMES[fmt]}: "
                              f"{lines[-1] if lines else f'exit code {proc.returncode}'}")
        return out.read_bytes()


def _encode(fmt: str, stack: np.ndarray, fps: float, loop: int, q: _Quality,
            global_palette: bool, min_frames: int = 2) -> bytes:
    """Encode [T, H, W, C] frames; an APNG keeps at least `min_frames` frames (see
    _apng_disposals)."""
    if fmt in ("webm", "mp4"):
        return _encode_ffmpeg(stack, fps, fmt, q)
    durations = _durations_ms(stack.shape[0], fps, 10 if fmt == "gif" else 1)
    if fmt == "gif":
        return _encode_gif(stack, durations, loop, q, global_palette)
    if fmt == "apng":
        return _encode_apng(stack, durations, loop, q, min_frames)
    return _encode_webp(stack, durations, loop, q)


# ---------------------------------------------------------------- fitting ladders


def _quality_ladder(fmt: str, start: _Quality) -> list[_Quality]:
    """Rungs from the requested quality down to the floor (smaller files, lower quality)."""
    if fmt == "gif":
        cols = [start.colors] + [c for c in (128, 64) if c < start.colors]
        rungs = [_Quality(colors=c, dither=start.dither) for c in cols]
        rungs += [_Quality(colors=c, dither=False) for c in (48, 32, 16) if c < start.colors]
    elif fmt == "apng":
        rungs = [start] + [_Quality(colors=c, dither=c >= 64) for c in (256, 128, 64, 32, 16)
                           if start.colors is None or c < start.colors]
    elif fmt == "webp":
        top = 101 if start.quality is None else start.quality
        rungs = [start] + [_Quality(quality=v) for v in (90, 75, 60, 45, 30, 15) if v < top]
    else:
        floor = 63 if fmt == "webm" else 51
        steps = (40, 46, 52, 58, 63) if fmt == "webm" else (28, 33, 38, 44, 51)
        rungs = [start] + [_Quality(crf=c) for c in steps if start.crf < c <= floor]
    return rungs


_FPS_FACTORS = (1.0, 0.75, 0.5, 0.34)
_SCALES = (1.0, 0.8, 0.64, 0.5)
#: The order in which the fitter gives something up: colours/quality first, frame rate and
#: detail later, interleaved so no single knob drops to its floor while the others are untouched.
_MOVES = ("q", "q", "f", "q", "s", "q", "f", "s", "q", "f", "s", "q", "q", "q")


def _reduce_fps(stack: np.ndarray, fps: float, factor: float, min_frames: int):
    n = stack.shape[0]
    n_new = max(min_frames, 2, round(n * factor))
    if factor >= 1.0 or n_new >= n:
        return stack, fps
    return _subsample(stack, n_new), fps * n_new / n


def _reduce_detail(stack: np.ndarray, scale: float, shrink: bool) -> np.ndarray:
    """Shrink the frames, or (when the pixel size is fixed) soften them: down and back up."""
    if scale >= 1.0:
        return stack
    T, H, W, C = stack.shape
    small = _resize(stack, max(2, round(W * scale)), max(2, round(H * scale)))
    return small if shrink else _resize(small, W, H)


def _fit(fmt: str, stack: np.ndarray, fps: float, loop: int, start: _Quality, pre: Preset,
         global_palette: bool) -> tuple[bytes, np.ndarray, float, _Quality, list[str]]:
    """Walk the ladders until the encoded file is within pre.max_bytes."""
    rungs = _quality_ladder(fmt, start)
    qi = fi = si = 0
    moves = iter(_MOVES)
    best = None
    while True:
        s_stack, s_fps = _reduce_fps(stack, fps, _FPS_FACTORS[fi], pre.min_frames)
        s_stack = _reduce_detail(s_stack, _SCALES[si], pre.shrink_ok)
        data = _encode(fmt, s_stack, s_fps, loop, rungs[qi], global_palette,
                       max(2, pre.min_frames))
        best = len(data) if best is None else min(best, len(data))
        if len(data) <= pre.max_bytes:
            notes = _fit_notes(fmt, stack, s_stack, fps, s_fps, start, rungs[qi], pre, si)
            return data, s_stack, s_fps, rungs[qi], notes
        ratio = len(data) / pre.max_bytes
        steps = 1 + (ratio > 2.0) + (ratio > 4.0)  # far over budget: take bigger strides
        moved = 0
        for move in moves:  # the next knobs that can still move
            if move == "q" and qi + 1 < len(rungs):
                qi += 1
            elif move == "f" and fi + 1 < len(_FPS_FACTORS) and \
                    max(pre.min_frames, 2) < round(stack.shape[0] * _FPS_FACTORS[fi]):
                fi += 1
            elif move == "s" and si + 1 < len(_SCALES):
                si += 1
            else:
                continue
            moved += 1
            if moved == steps:
                break
        if moved == 0:
            raise UsageError(f"cannot fit the animation under {_fmt_bytes(pre.max_bytes)} for "
                             f"{pre.name}: the smallest attempt was {_fmt_bytes(best)} "
                             "(try fewer frames, a shorter duration or a simpler picture)")


def _fit_notes(fmt, stack, s_stack, fps, s_fps, start: _Quality, q: _Quality, pre: Preset,
               si: int) -> list[str]:
    """Sentences for what the fitter changed, to tell the user."""
    limit = f"to fit {pre.name}'s {_fmt_bytes(pre.max_bytes)} limit"
    notes = []
    if q != start:
        notes.append(f"lowered {FORMAT_NAMES[fmt]} quality from {start.describe(fmt)} to "
                     f"{q.describe(fmt)} {limit}")
    if s_stack.shape[0] != stack.shape[0]:
        notes.append(f"lowered the frame rate from {fps:.3g} to {s_fps:.3g} fps "
                     f"({stack.shape[0]} -> {s_stack.shape[0]} frames, same loop) {limit}")
    if si:
        (h0, w0), (h1, w1) = stack.shape[1:3], s_stack.shape[1:3]
        if (h0, w0) != (h1, w1):
            notes.append(f"reduced the size from {w0}x{h0} to {w1}x{h1} {limit}")
        else:
            notes.append(f"softened fine detail (rendered at {round(_SCALES[si] * 100)} % and "
                         f"scaled back to {w0}x{h0}) {limit}")
    return notes


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 1_000_000 else f"{n / 1000:.4g} KB"


# ---------------------------------------------------------------- public entry point


def export_animation(frames: Sequence[np.ndarray], path: str | os.PathLike, *, fps: float,
                     fmt: str | None = None, preset: str | Preset | None = None,
                     loop: bool = True, max_colors: int = 256, dither: bool = True,
                     palette: str = "global", quality: int | None = None,
                     lossless: bool = False) -> ExportReport:
    """Encode `frames` as a looping animation at `path` and return what was written.

    frames: list of uint8 [H, W, 3] RGB or [H, W, 4] RGBA arrays, all the same size.
    fps: frames per second (> 0). loop: repeat forever (True) or play once.
    fmt: gif | apng | webp | webm | mp4; None = from the suffix (or the preset).
    preset: a name in PRESETS (or a Preset): enforces its limits, see the module docstring.
    GIF/APNG palette: max_colors (2..256), dither (Floyd-Steinberg), palette "global" (one
    adaptive palette for all frames, no flicker) or "per-frame" (GIF only).
    quality: 1..100 (WebP quality; WebM/MP4 mapped to CRF); None = format default.
    lossless: WebP lossless.
    Raises UsageError (bad arguments, impossible preset), OutputError (cannot write),
    DependencyError (ffmpeg missing). Nothing is left on disk on failure.
    """
    fmt, pre = resolve_format(path, fmt, preset)
    _check_options(fps, max_colors, palette, quality, lossless, fmt)
    target = Path(path)
    check_target(target)
    stack = _stack_frames(frames)
    adjustments: list[str] = []
    if pre is not None:
        stack = _apply_geometry(stack, pre, adjustments)
    if fmt not in ALPHA_FORMATS:
        stack = _drop_alpha(stack, adjustments, fmt)
    if fmt == "mp4":
        stack = _even_size(stack, adjustments)
    stack, fps = _apply_timing(stack, float(fps), fmt, pre, adjustments)
    loop_count = _loop_count(loop, stack.shape[0] / fps, pre, adjustments)
    start = _start_quality(fmt, max_colors, dither, quality, lossless)
    global_palette = palette == "global"
    if pre is None:
        data = _encode(fmt, stack, fps, loop_count, start, global_palette)
        used = start
    else:
        data, stack, fps, used, notes = _fit(fmt, stack, fps, loop_count, start, pre,
                                             global_palette)
        adjustments += notes
    write_bytes_atomic(target, data)
    T, H, W, C = stack.shape
    return ExportReport(path=target, format=fmt, bytes=len(data), n_frames=T, size=(W, H),
                        fps=fps, adjustments=adjustments, preset=pre.name if pre else None,
                        loop=loop_count if fmt in ("gif", "apng", "webp") else None,
                        alpha=C == 4, settings=used.describe(fmt))


def check_target(target: Path, inputs=()) -> None:
    """Fail before any slow work when `target` cannot be written (core.atomic.check_output: a
    folder, a parent that is a file, a name too long, an unwritable folder, one of `inputs`)."""
    from ..core.atomic import check_output

    check_output(target, inputs)


def _check_options(fps, max_colors, palette, quality, lossless, fmt) -> None:
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 1000):
        raise UsageError(f"fps must be a number in (0, 1000], got {fps!r}")
    if not 2 <= int(max_colors) <= 256:
        raise UsageError(f"max_colors must be between 2 and 256, got {max_colors}")
    if palette not in ("global", "per-frame"):
        raise UsageError(f"palette must be 'global' or 'per-frame', got '{palette}'")
    if palette == "per-frame" and fmt != "gif":
        raise UsageError("a per-frame palette is only available for GIF")
    if quality is not None and not 1 <= int(quality) <= 100:
        raise UsageError(f"quality must be between 1 and 100, got {quality}")
    if lossless and fmt != "webp":
        raise UsageError(f"lossless applies to WebP only, not {FORMAT_NAMES[fmt]}")


def _start_quality(fmt: str, max_colors: int, dither: bool, quality: int | None,
                   lossless: bool) -> _Quality:
    if fmt == "gif":
        return _Quality(colors=int(max_colors), dither=dither)
    if fmt == "apng":
        return _Quality(colors=int(max_colors) if max_colors < 256 else None, dither=dither)
    if fmt == "webp":
        return _Quality(quality=None if lossless else (quality or _DEFAULT_WEBP_QUALITY))
    if quality is None:
        return _Quality(crf=_DEFAULT_CRF[fmt])
    # quality 100 -> best CRF, 1 -> worst; the defaults sit near quality 50 (VP9) / 68 (x264)
    return _Quality(crf=round(63 - 0.59 * quality) if fmt == "webm" else round(51 - 0.41 * quality))
