"""Write a list of frames as a looping animation: GIF, APNG, animated WebP, WebM (VP9), MP4.

    export_animation(frames, "out.gif", fps=12) -> ExportReport
    export_animation(frames, "sticker.webm", fps=12, preset="telegram") -> ExportReport

`frames` are uint8 `[H, W, 3]` RGB or `[H, W, 4]` RGBA arrays (alpha kept by the formats that
have it). Each container is an object in `.formats.FORMATS` (suffixes, alpha, fps cap, delay
quantum, loop flag, quality ladder, encoder): this module only does what is common to all of
them (geometry, timing, fitting) and never branches on a format's name. Every file is encoded
in memory first and then written atomically, so a failure never leaves a partial file.

A messenger preset (`.presets.PRESETS`) fixes the format and is enforced: frames are resized/padded to
its pixel limits, subsampled to its frame/duration limits with the loop kept whole, and then
colours / quality / frame rate / detail are lowered step by step until the file fits its byte
limit. Each change is one sentence in `ExportReport.adjustments`; if even the floor does not
fit, a UsageError is raised and nothing is written. KB and MB are counted conservatively as
1000 and 1 000 000 bytes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.atomic import write_bytes_atomic
from ..core.errors import OutputError, UsageError
from ..core.choices import FORMAT_SUFFIXES, SUFFIX_FORMATS  # noqa: F401
from .formats import (FORMATS, ExportOptions, OutputFormat, Quality,  # noqa: F401
                      durations_ms, ffmpeg_encoders, ffmpeg_exe, get_format, h264_encoder)
from .presets import PRESETS, Preset, fmt_bytes as _fmt_bytes, get_preset  # noqa: F401

#: names views kept for callers that only need names (the objects live in .formats)
ALPHA_FORMATS = frozenset(n for n, f in FORMATS.items() if f.alpha)
FORMAT_NAMES = {n: f.title for n, f in FORMATS.items()}


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
        return (f"{self.path.name}: {FORMATS[self.format].title} {self.size[0]}x{self.size[1]}, "
                f"{self.n_frames} frames at {self.fps:.3g} fps ({self.duration:.2f} s), "
                f"{_fmt_bytes(self.bytes)}" + (f", preset {self.preset}" if self.preset else ""))

    def to_dict(self) -> dict:
        return {"path": str(self.path), "format": self.format, "bytes": self.bytes,
                "n_frames": self.n_frames, "width": self.size[0], "height": self.size[1],
                "fps": round(self.fps, 4), "duration_s": round(self.duration, 4),
                "loop": self.loop, "alpha": self.alpha, "preset": self.preset,
                "settings": self.settings, "adjustments": list(self.adjustments)}


# ---------------------------------------------------------------- argument checks


def resolve_format(path: str | os.PathLike, fmt: str | OutputFormat | None = None,
                   preset: str | Preset | None = None) -> tuple[str, Preset | None]:
    """Decide the output format's name from `fmt`, the preset and the suffix of `path`.

    Cheap: call it before any heavy work to fail fast on a bad name. Raises UsageError when
    the format is unknown or the suffix / `fmt` contradict the preset.
    """
    suffix = Path(path).suffix.lower()
    chosen = get_format(fmt) if fmt is not None else None
    pre = get_preset(preset) if preset is not None else None
    if pre is not None:
        want = pre.output_format
        if chosen is not None and chosen is not want:
            raise UsageError(f"preset '{pre.name}' writes {want.title}, not "
                             f"{chosen.title}; drop --format or pick another preset")
        if suffix not in want.suffixes:
            raise UsageError(f"preset '{pre.name}' writes {want.title}: name the output "
                             f"*{want.suffixes[0]} (got '{Path(path).name}')")
        return want.name, pre
    if chosen is None:
        if suffix not in SUFFIX_FORMATS:
            raise UsageError(f"cannot tell the format of '{Path(path).name}' from its suffix; "
                             f"formats: {', '.join(FORMATS)} (suffixes "
                             f"{' '.join(SUFFIX_FORMATS)}), or pass --format")
        chosen = FORMATS[SUFFIX_FORMATS[suffix]]
    return chosen.name, None


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
    elif pre.square and w != h:
        side = max(w, h)
        stack, how = _pad_to(stack, side, side)
        adjustments.append(f"padded to a {side}x{side} square with {how} ({pre.name} needs "
                           "square stickers)")
    return stack


def _even_size(stack: np.ndarray, adjustments: list[str], fmt: OutputFormat) -> np.ndarray:
    """4:2:0 chroma needs even sides: repeat the last row/column where needed."""
    T, H, W, C = stack.shape
    ph, pw = H % 2, W % 2
    if fmt.even_sides and (ph or pw):
        stack = np.pad(stack, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
        adjustments.append(f"padded {W}x{H} to {W + pw}x{H + ph} ({fmt.title} needs even sides)")
    return stack


def _drop_alpha(stack: np.ndarray, adjustments: list[str], fmt: OutputFormat) -> np.ndarray:
    """Composite RGBA over white for formats without alpha."""
    if stack.shape[3] != 4 or fmt.alpha:
        return stack
    a = stack[..., 3:4].astype(np.float32) / 255.0
    rgb = stack[..., :3] * a + 255.0 * (1.0 - a)
    if (stack[..., 3] < 255).any():
        adjustments.append(f"{fmt.title} has no transparency: composited over white")
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- timing


def _subsample(stack: np.ndarray, n_new: int) -> np.ndarray:
    """Evenly spaced frames over the whole loop, so the last frame still flows into the first."""
    n = stack.shape[0]
    idx = np.floor(np.arange(n_new) * n / n_new).astype(int)
    return stack[idx]


def _apply_timing(stack: np.ndarray, fps: float, fmt: OutputFormat, pre: Preset | None,
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
    max_fps = min(fmt.max_fps, (pre.max_fps if pre is not None else None) or math.inf)
    if pre is not None and pre.min_frame_ms:
        max_fps = min(max_fps, 1000.0 / pre.min_frame_ms)
    if fps > max_fps + eps:
        n_new = max(1, math.floor(max_fps * duration + eps))
        stack = _subsample(stack, n_new)
        adjustments.append(f"kept {n_new} of {n} frames ({fps:.3g} -> {n_new / duration:.3g} fps): "
                           f"{fmt.title} plays at most {max_fps:g} fps"
                           + (f" for {pre.name}" if pre is not None and pre.max_fps else ""))
        fps = n_new / duration
    return stack, fps


def _loop_count(loop: bool, duration: float, pre: Preset | None,
                adjustments: list[str]) -> int:
    """0 = forever; N = play N times."""
    if not loop and pre is not None and pre.loop_forever:
        adjustments.append(f"{pre.name} needs animations that loop forever: looping")
        return 0
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


# ---------------------------------------------------------------- fitting ladders


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


def _fit(fmt: OutputFormat, stack: np.ndarray, fps: float, loop: int, start: Quality,
         pre: Preset, global_palette: bool) -> tuple[bytes, np.ndarray, float, Quality, list[str]]:
    """Walk the ladders until the encoded file is within pre.max_bytes."""
    rungs = fmt.ladder(start)
    qi = fi = si = 0
    moves = iter(_MOVES)
    best = None
    while True:
        s_stack, s_fps = _reduce_fps(stack, fps, _FPS_FACTORS[fi], pre.min_frames)
        s_stack = _reduce_detail(s_stack, _SCALES[si], pre.shrink_ok)
        data = fmt.encode(s_stack, s_fps, loop, rungs[qi], global_palette=global_palette,
                          min_frames=max(2, pre.min_frames))
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


def _fit_notes(fmt: OutputFormat, stack, s_stack, fps, s_fps, start: Quality, q: Quality,
               pre: Preset,
               si: int) -> list[str]:
    """Sentences for what the fitter changed, to tell the user."""
    limit = f"to fit {pre.name}'s {_fmt_bytes(pre.max_bytes)} limit"
    notes = []
    if q != start:
        notes.append(f"lowered {fmt.title} quality from {fmt.describe(start)} to "
                     f"{fmt.describe(q)} {limit}")
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
    name, pre = resolve_format(path, fmt, preset)
    out_fmt = FORMATS[name]
    opts = ExportOptions(max_colors=max_colors, dither=dither, palette=palette, quality=quality,
                         lossless=lossless)
    _check_options(fps, opts, out_fmt)
    target = Path(path)
    check_target(target)
    stack = _stack_frames(frames)
    adjustments: list[str] = []
    if pre is not None:
        stack = _apply_geometry(stack, pre, adjustments)
    stack = _drop_alpha(stack, adjustments, out_fmt)
    stack = _even_size(stack, adjustments, out_fmt)
    stack, fps = _apply_timing(stack, float(fps), out_fmt, pre, adjustments)
    loop_count = _loop_count(loop, stack.shape[0] / fps, pre, adjustments)
    start = out_fmt.start_quality(opts)
    global_palette = palette == "global"
    if pre is None:
        data = out_fmt.encode(stack, fps, loop_count, start, global_palette=global_palette)
        used = start
    else:
        data, stack, fps, used, notes = _fit(out_fmt, stack, fps, loop_count, start, pre,
                                             global_palette)
        adjustments += notes
    write_bytes_atomic(target, data)
    T, H, W, C = stack.shape
    return ExportReport(path=target, format=name, bytes=len(data), n_frames=T, size=(W, H),
                        fps=fps, adjustments=adjustments, preset=pre.name if pre else None,
                        loop=loop_count if out_fmt.loop_flag else None,
                        alpha=C == 4, settings=out_fmt.describe(used))


def check_target(target: Path, inputs=()) -> None:
    """Fail before any slow work when `target` cannot be written (core.atomic.check_output: a
    folder, a parent that is a file, a name too long, an unwritable folder, one of `inputs`)."""
    from ..core.atomic import check_output

    check_output(target, inputs)


def _check_options(fps, opts: ExportOptions, fmt: OutputFormat) -> None:
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 1000):
        raise UsageError(f"fps must be a number in (0, 1000], got {fps!r}")
    if not 2 <= int(opts.max_colors) <= 256:
        raise UsageError(f"max_colors must be between 2 and 256, got {opts.max_colors}")
    if opts.palette not in ("global", "per-frame"):
        raise UsageError(f"palette must be 'global' or 'per-frame', got '{opts.palette}'")
    if opts.quality is not None and not 1 <= int(opts.quality) <= 100:
        raise UsageError(f"quality must be between 1 and 100, got {opts.quality}")
    fmt.check_options(opts)
