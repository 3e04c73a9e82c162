"""Output formats as objects: one `OutputFormat` per animation container, in one registry.

    fmt = get_format("gif")         # or FORMATS["gif"], or format_for_suffix(".gif")
    fmt.suffixes, fmt.alpha, fmt.max_fps, fmt.delay_quantum_ms, fmt.loop_flag
    q = fmt.start_quality(ExportOptions(...)); fmt.ladder(q); fmt.encode(stack, fps, loop, q)

Each object knows everything about its container that the exporter needs: its file suffixes,
whether it keeps an alpha channel, the highest frame rate players honour, the unit of its
frame delays, whether the file carries a loop count, whether it needs even sides, its quality
ladder (the rungs the size fitter walks down) and its encoder. Adding a format means adding
one subclass instance to `FORMATS`; the exporter has no per-format branches. The container
facts (GIF centisecond delays, the NETSCAPE loop block, APNG dispose ops, VP9 alpha) are in
docs/formats.md with their public sources.

This module is light (numpy only at import); Pillow and ffmpeg load when a file is encoded.
"""

from __future__ import annotations

import functools
import io
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core import choices
from ..core.errors import DependencyError, OutputError, UsageError


@dataclass(frozen=True)
class Quality:
    """One rung of a format's quality ladder (only the fields the format uses)."""

    colors: int | None = None     # palette size (GIF, palette APNG); None = truecolour APNG
    dither: bool = True           # palette dithering (Floyd-Steinberg)
    quality: int | None = None    # WebP lossy quality; None = lossless
    crf: int | None = None        # WebM / MP4 constant rate factor


@dataclass(frozen=True)
class ExportOptions:
    """The user's encoder choices, before a format turns them into its starting Quality."""

    max_colors: int = 256
    dither: bool = True
    palette: str = "global"            # "global" | "per-frame" (GIF only)
    quality: int | None = None         # 1..100; None = the format's default
    lossless: bool = False             # WebP only


class OutputFormat:
    """One animation container. Subclasses set `name` and the class attributes and implement
    `start_quality`, `ladder`, `describe` and `encode`.

    suffixes: file suffixes, the first is the one written for folders of outputs (the names
        and suffixes are core.choices', so the CLI can list them without loading this module).
    alpha: the container keeps an alpha channel (else RGBA is composited over white).
    max_fps: the highest frame rate players honour (GIF: 20 ms is the shortest delay that
        browsers do not slow down).
    delay_quantum_ms: frame delays are whole multiples of this (None: timed by a frame rate).
    loop_flag: the file stores a loop count (GIF/APNG/WebP); video players decide themselves.
    even_sides: 4:2:0 chroma needs even width and height.
    per_frame_palette: a palette per frame is possible (GIF).
    lossless_option: `lossless` applies (WebP).
    """

    name: str = ""
    title: str = ""
    max_fps: float = 100.0
    delay_quantum_ms: int | None = 1
    loop_flag: bool = True
    even_sides: bool = False
    per_frame_palette: bool = False
    lossless_option: bool = False

    @property
    def suffixes(self) -> tuple[str, ...]:
        return choices.FORMAT_SUFFIXES[self.name]

    @property
    def alpha(self) -> bool:
        return self.name in choices.ALPHA_FORMATS

    def check_options(self, opts: ExportOptions) -> None:
        """UsageError for an option this format cannot honour."""
        if opts.palette == "per-frame" and not self.per_frame_palette:
            raise UsageError("a per-frame palette is only available for "
                             + " and ".join(f.title for f in FORMATS.values() if f.per_frame_palette))
        if opts.lossless and not self.lossless_option:
            raise UsageError(f"lossless applies to "
                             + " and ".join(f.title for f in FORMATS.values() if f.lossless_option)
                             + f" only, not {self.title}")

    def start_quality(self, opts: ExportOptions) -> Quality:
        raise NotImplementedError

    def ladder(self, start: Quality) -> list[Quality]:
        """Rungs from `start` down to the floor (smaller files, lower quality)."""
        raise NotImplementedError

    def describe(self, q: Quality) -> str:
        raise NotImplementedError

    def encode(self, stack: np.ndarray, fps: float, loop: int, q: Quality, *,
               global_palette: bool = True, min_frames: int = 2) -> bytes:
        """Encode uint8 frames [T, H, W, C] (C = 4 only when `alpha`). loop: 0 = forever,
        N = play N times. min_frames: frames an APNG must keep (see _apng_disposals)."""
        raise NotImplementedError

    def durations_ms(self, n: int, fps: float) -> list[int]:
        """Per-frame delays in ms, multiples of `delay_quantum_ms`, whose running total tracks
        i / fps (so 12 fps in GIF centiseconds alternates 80/90 ms instead of drifting)."""
        return durations_ms(n, fps, self.delay_quantum_ms or 1)

    def __repr__(self) -> str:
        return f"<OutputFormat {self.name}>"


def durations_ms(n: int, fps: float, quantum: int) -> list[int]:
    ticks = [round(i * 1000.0 / fps / quantum) * quantum for i in range(n + 1)]
    return [max(quantum, b - a) for a, b in zip(ticks[:-1], ticks[1:])]


def _palette_describe(q: Quality) -> str:
    return f"{q.colors} colours, {'dithered' if q.dither else 'no dithering'}"


class GifFormat(OutputFormat):
    name, title = "gif", "GIF"
    max_fps = 50.0           # delays are whole centiseconds; < 20 ms is slowed by browsers
    delay_quantum_ms = 10
    per_frame_palette = True

    def start_quality(self, opts: ExportOptions) -> Quality:
        return Quality(colors=int(opts.max_colors), dither=opts.dither)

    def ladder(self, start: Quality) -> list[Quality]:
        cols = [start.colors] + [c for c in (128, 64) if c < start.colors]
        rungs = [Quality(colors=c, dither=start.dither) for c in cols]
        return rungs + [Quality(colors=c, dither=False) for c in (48, 32, 16) if c < start.colors]

    def describe(self, q: Quality) -> str:
        return _palette_describe(q)

    def encode(self, stack, fps, loop, q, *, global_palette=True, min_frames=2) -> bytes:
        images, transparent = _palettize(stack, q.colors, q.dither, global_palette)
        # optimize: Pillow writes unchanged pixels as transparent in delta frames (opaque GIFs)
        kwargs = dict(save_all=True, append_images=images[1:],
                      duration=self.durations_ms(len(images), fps), optimize=transparent is None)
        if loop != 1:  # NETSCAPE counts repeats after the first play; no block = play once
            kwargs["loop"] = max(0, loop - 1) if loop else 0
        if transparent is not None:
            # disposal 2 clears each frame before the next, so transparent areas stay clear
            kwargs.update(transparency=transparent, disposal=2)
        buf = io.BytesIO()
        images[0].save(buf, format="GIF", **kwargs)
        return buf.getvalue()


class ApngFormat(OutputFormat):
    name, title = "apng", "APNG"

    def start_quality(self, opts: ExportOptions) -> Quality:
        return Quality(colors=int(opts.max_colors) if opts.max_colors < 256 else None,
                       dither=opts.dither)

    def ladder(self, start: Quality) -> list[Quality]:
        return [start] + [Quality(colors=c, dither=c >= 64) for c in (256, 128, 64, 32, 16)
                          if start.colors is None or c < start.colors]

    def describe(self, q: Quality) -> str:
        return _palette_describe(q) if q.colors else "truecolour"

    def encode(self, stack, fps, loop, q, *, global_palette=True, min_frames=2) -> bytes:
        from PIL import Image

        kwargs = dict(save_all=True, duration=self.durations_ms(stack.shape[0], fps), loop=loop,
                      default_image=False)
        if q.colors and stack.shape[3] == 4:
            images = _palettize_rgba(stack, q.colors, q.dither)
        elif q.colors:
            images, _ = _palettize(stack, q.colors, q.dither)
        else:
            if stack.shape[3] == 4:  # colour under alpha 0 is invisible: zero it, deflate wins
                stack = np.where(stack[..., 3:4] == 0, np.uint8(0), stack)
            images = [Image.fromarray(f) for f in stack]
        kwargs["disposal"] = _apng_disposals(images, min_frames)
        buf = io.BytesIO()
        images[0].save(buf, format="PNG", append_images=images[1:], **kwargs)
        return buf.getvalue()


class WebpFormat(OutputFormat):
    name, title = "webp", "animated WebP"
    lossless_option = True
    default_quality = 90

    def start_quality(self, opts: ExportOptions) -> Quality:
        return Quality(quality=None if opts.lossless else (opts.quality or self.default_quality))

    def ladder(self, start: Quality) -> list[Quality]:
        top = 101 if start.quality is None else start.quality
        return [start] + [Quality(quality=v) for v in (90, 75, 60, 45, 30, 15) if v < top]

    def describe(self, q: Quality) -> str:
        return "lossless" if q.quality is None else f"quality {q.quality}"

    def encode(self, stack, fps, loop, q, *, global_palette=True, min_frames=2) -> bytes:
        from PIL import Image

        images = [Image.fromarray(f) for f in stack]
        kwargs = dict(save_all=True, append_images=images[1:],
                      duration=self.durations_ms(len(images), fps), loop=loop, method=4)
        if q.quality is None:
            kwargs["lossless"] = True
        else:
            kwargs["quality"] = int(q.quality)
        buf = io.BytesIO()
        images[0].save(buf, format="WEBP", **kwargs)
        return buf.getvalue()


class VideoFormat(OutputFormat):
    """A format written by the bundled ffmpeg from raw frames piped on stdin."""

    max_fps = 120.0
    delay_quantum_ms = None
    loop_flag = False
    default_crf = 23
    crf_floor = 51
    crf_steps: tuple[int, ...] = ()
    #: quality 100 -> crf_best, 1 -> about crf_floor: crf = crf_best + crf_per_quality * q
    crf_best = 51.0
    crf_per_quality = -0.41

    def start_quality(self, opts: ExportOptions) -> Quality:
        if opts.quality is None:
            return Quality(crf=self.default_crf)
        return Quality(crf=round(self.crf_best + self.crf_per_quality * opts.quality))

    def ladder(self, start: Quality) -> list[Quality]:
        return [start] + [Quality(crf=c) for c in self.crf_steps if start.crf < c <= self.crf_floor]

    def describe(self, q: Quality) -> str:
        return f"CRF {q.crf}"

    def codec_args(self, crf: int, alpha: bool, shape: tuple, fps: float) -> list[str]:
        raise NotImplementedError

    def encode(self, stack, fps, loop, q, *, global_palette=True, min_frames=2) -> bytes:
        """Pipe raw RGB(A) frames into ffmpeg; the file goes to a private temp dir, then to
        memory."""
        T, H, W, C = stack.shape
        rate = Fraction(fps).limit_denominator(1001)
        alpha = C == 4
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgba" if alpha else "rgb24", "-s", f"{W}x{H}",
               "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0", "-an",
               *self.codec_args(q.crf, alpha, stack.shape, fps)]
        with tempfile.TemporaryDirectory(prefix="emoget-ff-") as tmp:
            out = Path(tmp) / f"out{self.suffixes[0]}"
            try:
                proc = subprocess.run([*cmd, str(out)],
                                      input=np.ascontiguousarray(stack).tobytes(),
                                      capture_output=True, check=False)
            except OSError as exc:
                raise DependencyError(f"cannot run ffmpeg: {exc}") from exc
            if proc.returncode != 0 or not out.exists():
                lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise OutputError(f"ffmpeg could not encode {self.title}: "
                                  f"{lines[-1] if lines else f'exit code {proc.returncode}'}")
            return out.read_bytes()


class WebmFormat(VideoFormat):
    name, title = "webm", "WebM (VP9)"
    default_crf, crf_floor, crf_steps = 32, 63, (40, 46, 52, 58, 63)
    crf_best, crf_per_quality = 63.0, -0.59   # the default sits near quality 50

    def codec_args(self, crf, alpha, shape, fps) -> list[str]:
        if "libvpx-vp9" not in ffmpeg_encoders():
            raise DependencyError("the bundled ffmpeg has no libvpx-vp9 encoder for WebM export")
        args = ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p" if alpha else "yuv420p",
                "-crf", str(crf), "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                "-row-mt", "1"]
        # alt-ref frames are not supported together with the alpha plane
        return args + (["-auto-alt-ref", "0"] if alpha else []) + ["-f", "webm"]


class Mp4Format(VideoFormat):
    name, title = "mp4", "MP4 (H.264)"
    even_sides = True
    default_crf, crf_floor, crf_steps = 23, 51, (28, 33, 38, 44, 51)
    crf_best, crf_per_quality = 51.0, -0.41   # the default sits near quality 68

    def codec_args(self, crf, alpha, shape, fps) -> list[str]:
        enc = h264_encoder()
        if enc == "libx264":
            args = ["-c:v", "libx264", "-preset", "medium", "-crf", str(crf)]
        elif enc == "libopenh264":  # no CRF: a bitrate that halves every +6 CRF like x264's
            bpp = 0.1 * 2.0 ** ((23 - crf) / 6.0)
            args = ["-c:v", "libopenh264", "-b:v", str(int(bpp * shape[1] * shape[2] * fps))]
        else:
            args = ["-c:v", "mpeg4", "-q:v", str(int(np.clip(round((crf - 18) / 3) + 2, 2, 31)))]
        return args + ["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]


#: Every output format, by name, in core.choices.FORMATS order.
FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    GifFormat(), ApngFormat(), WebpFormat(), WebmFormat(), Mp4Format())}
SUFFIX_FORMATS = choices.SUFFIX_FORMATS


def get_format(name: str | OutputFormat) -> OutputFormat:
    """A format by name ("gif") or suffix ("png", ".m4v"); UsageError lists the valid ones."""
    if isinstance(name, OutputFormat):
        return name
    key = str(name).strip().lower().lstrip(".")
    key = SUFFIX_FORMATS.get("." + key, key)  # accept "png" for apng, "m4v" for mp4
    if key not in FORMATS:
        raise UsageError(f"unknown format '{name}'; choose one of: {', '.join(FORMATS)}")
    return FORMATS[key]


def format_for_suffix(suffix: str) -> OutputFormat | None:
    name = SUFFIX_FORMATS.get(suffix.lower())
    return FORMATS[name] if name else None


# ---------------------------------------------------------------- palettes (GIF, APNG)


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


def _palettize_rgba(stack: np.ndarray, colors: int, dither: bool) -> list:
    """RGBA frames [T, H, W, 4] -> PIL 'P' images sharing one palette whose entries carry their
    own alpha (PNG tRNS), so a palette APNG keeps soft, anti-aliased edges and shadows (GIF's
    single transparent index cannot).

    The palette has three parts: opaque colours (median cut over the opaque pixels of all
    frames, pixels mapped with optional dithering), a few semi-transparent entries for the
    soft rim (octree over the rim's RGBA, nearest entry per pixel) and one clear entry.
    """
    from PIL import Image

    alpha = stack[..., 3]
    opaque, clear = alpha >= 250, alpha <= 4
    rim = ~opaque & ~clear
    n_rim = min(max(colors // 4, 2), 48) if rim.any() and colors >= 8 else 0
    n_rgb = colors - 1 - n_rim
    rgb = np.ascontiguousarray(stack[..., :3])
    pal = _palette_image(rgb[opaque | (rim & (alpha >= 128))], n_rgb)
    rgb_entries = pal.getpalette()[: 3 * n_rgb]
    n_rgb = len(rgb_entries) // 3
    rim_entries = np.zeros((0, 4), np.uint8)
    if n_rim:
        sample = stack[rim][:: max(1, int(rim.sum()) // 65_536)]
        octree = Image.fromarray(np.ascontiguousarray(sample.reshape(1, -1, 4)), "RGBA").quantize(
            n_rim, method=Image.Quantize.FASTOCTREE)
        rim_entries = np.array(octree.getpalette("RGBA"), np.uint8).reshape(-1, 4)[:n_rim]
    first_rim, clear_index = n_rgb, n_rgb + len(rim_entries)
    rgba_palette = [(*rgb_entries[3 * i:3 * i + 3], 255) for i in range(n_rgb)]
    rgba_palette += [tuple(e) for e in rim_entries] + [(0, 0, 0, 0)]
    entries = [v for e in rgba_palette for v in e]
    mode = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
    rim_f = rim_entries.astype(np.float32)
    images = []
    for t in range(stack.shape[0]):
        idx = np.array(Image.fromarray(rgb[t]).quantize(palette=pal, dither=mode), np.uint8)
        if len(rim_entries):
            px = stack[t][rim[t]].astype(np.float32)                            # [N, 4]
            # nearest entry in premultiplied colour plus alpha: dark and light rims differ
            pre = np.concatenate([px[:, :3] * px[:, 3:] / 255.0, px[:, 3:]], axis=1)
            ent = np.concatenate([rim_f[:, :3] * rim_f[:, 3:] / 255.0, rim_f[:, 3:]], axis=1)
            d = ((pre[:, None, :] - ent[None, :, :]) ** 2).sum(-1)
            idx[rim[t]] = first_rim + d.argmin(axis=1)
        else:
            idx[rim[t] & (alpha[t] < 128)] = clear_index
        idx[clear[t]] = clear_index
        im = Image.fromarray(idx, "P")
        im.putpalette(entries, rawmode="RGBA")
        images.append(im)
    return images


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


# ---------------------------------------------------------------- ffmpeg


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
