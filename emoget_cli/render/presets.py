"""Messenger presets: the upload limits of each platform's (animated) stickers and emoji.

    get_preset("line") -> Preset(format="apng", width=320, height=270, fit="within", ...)

The numbers are the platforms' published rules, collected with their sources in
docs/platforms.md. `export_animation(..., preset=...)` enforces them (pixels, frames,
duration, frame rate, loop count, bytes) and `emoget_cli.pack.validators` checks written files
against the same objects, so each rule has exactly one home: here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import UsageError
from .formats import FORMATS


@dataclass(frozen=True)
class PackImage:
    """A still PNG a pack needs besides its stickers (LINE's main image and tab icon,
    WhatsApp's tray icon): role (also the file's stem), exact size, byte limit, transparency."""

    role: str
    width: int
    height: int
    max_bytes: int
    transparent: bool = True


@dataclass(frozen=True)
class Preset:
    """Upload limits of one messenger's animated stickers (or emoji).

    fit: "exact" = scaled to fit and padded (letterboxed) to exactly width x height;
         "within" = scaled (up or down) to the largest size inside width x height, no padding
         (so one side touches the box: LINE's "one side >= 270", Telegram's "one side 512").
    min_side: the longer side must be at least this (LINE: 270); 0 = no rule.
    shrink_ok: the fitter may make the picture smaller than the box (else it only softens detail).
    max_play_seconds: total playback (duration x loop count) allowed; sets a finite loop count.
    whole_seconds: the loop must last a whole number of seconds (LINE).
    min_frame_ms: the shortest frame delay the platform accepts (WhatsApp: 8 ms).
    square: the platform refuses a file whose sides differ (Signal's animated stickers): a
        "within" fit is padded to a square.
    loop_forever: the platform refuses an animation that does not loop forever (Signal).
    transparent: the platform asks for a transparent background: `make` cuts the head out
        unless told `--background keep`.
    pack_range: (fewest, most) stickers in one pack; pack_sizes: the only counts allowed when
        the platform names them (LINE: 8, 16 or 24), else () = any count in pack_range.
    pack_images: the still images a pack needs besides the stickers.
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
    min_side: int = 0
    min_frame_ms: int = 0
    square: bool = False
    loop_forever: bool = False
    transparent: bool = False
    pack_range: tuple[int, int] = (1, 120)
    pack_sizes: tuple[int, ...] = ()
    pack_images: tuple[PackImage, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"preset {self.name}: unknown format {self.format!r}")
        if self.fit not in ("exact", "within"):
            raise ValueError(f"preset {self.name}: fit must be exact or within")
        if self.transparent and not FORMATS[self.format].alpha:
            raise ValueError(f"preset {self.name}: {self.format} has no alpha channel")
        if self.loop_forever and self.max_loops:
            raise ValueError(f"preset {self.name}: loop_forever and max_loops contradict")

    @property
    def output_format(self):
        return FORMATS[self.format]

    def describe(self) -> str:
        parts = [self.output_format.title,
                 f"{self.width}x{self.height}" if self.fit == "exact"
                 else f"<= {self.width}x{self.height}"]
        if self.max_frames:
            parts.append(f"{self.min_frames}-{self.max_frames} frames")
        if self.max_seconds:
            parts.append(f"<= {self.max_seconds:g} s")
        parts.append(f"<= {fmt_bytes(self.max_bytes)}")
        if self.transparent:
            parts.append("transparent")
        return ", ".join(parts)


def fmt_bytes(n: int) -> str:
    """KB and MB as the platforms count them: 1000 and 1 000 000 bytes (the stricter reading)."""
    return f"{n / 1e6:.3g} MB" if n >= 1_000_000 else f"{n / 1000:.4g} KB"


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("telegram", "webm", 512, 512, "within", 256_000, max_seconds=3.0, max_fps=30.0,
           transparent=True, pack_range=(1, 120),
           note="video sticker: VP9, one side exactly 512 px, no audio"),
    Preset("telegram-emoji", "webm", 100, 100, "exact", 256_000, max_seconds=3.0,
           max_fps=30.0, transparent=True, pack_range=(1, 200),
           note="custom emoji: VP9 video, 100x100 px"),
    # LINE Creators Market: within 320x270 with one side >= 270, 5-20 frames, 1-4 whole
    # seconds, 1-4 loops totalling <= 4 s, <= 300 KB, transparent background
    Preset("line", "apng", 320, 270, "within", 300_000, max_seconds=4.0, min_frames=5,
           max_frames=20, max_play_seconds=4.0, max_loops=4, whole_seconds=True, min_side=270,
           transparent=True, pack_range=(8, 24), pack_sizes=(8, 16, 24),
           pack_images=(PackImage("main", 240, 240, 1_000_000),
                        PackImage("tab", 96, 74, 1_000_000)),
           note="animation sticker: 1-4 whole seconds, loops 1-4 times, 4 s in total"),
    Preset("whatsapp", "webp", 512, 512, "exact", 500_000, max_seconds=10.0, min_frame_ms=8,
           transparent=True, pack_range=(3, 30),
           pack_images=(PackImage("tray", 96, 96, 50_000),),
           note="animated sticker: exactly 512x512, transparent background"),
    Preset("discord-sticker", "apng", 320, 320, "exact", 512_000, max_seconds=5.0,
           transparent=True, pack_range=(1, 60), note="server sticker"),
    # Signal: an animated sticker is an APNG, square, 10-512 px, <= 300 KiB (read here as
    # 300 000 bytes), looping forever (Signal-Desktop's sticker creator); <= 3 s of animation
    # and a transparent background (Signal's support article); 1-200 stickers per pack
    Preset("signal", "apng", 512, 512, "within", 300_000, max_seconds=3.0, shrink_ok=True,
           min_side=10, square=True, loop_forever=True, transparent=True, pack_range=(1, 200),
           note="sticker pack"),
    # iMessage (Apple's Messages framework): PNG, APNG, GIF or JPEG under 500 KB; stickers are
    # drawn at 100, 136 or 206 points and supplied at @3x: 300, 408 or 618 px (regular: 408)
    Preset("imessage", "apng", 408, 408, "exact", 500_000, transparent=True,
           pack_range=(1, 100), note="sticker app, regular size (408 px)"),
    Preset("slack", "gif", 128, 128, "exact", 128_000, note="custom emoji"),
    Preset("discord", "gif", 128, 128, "exact", 256_000, note="animated emoji"),
    Preset("kakao", "gif", 360, 360, "exact", 2_000_000, max_frames=24,
           note="animated emoticon"),
)}


def get_preset(preset: str | Preset) -> Preset:
    """Look a preset up by name (case-insensitive); UsageError lists the valid ones."""
    if isinstance(preset, Preset):
        return preset
    from ..core.choices import match_choice

    return PRESETS[match_choice(str(preset), PRESETS, "preset")]
