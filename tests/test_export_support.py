"""Shared helpers for the export tests: animated astronaut clips and decoders."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np


def astronaut_clip(rgb: np.ndarray, n: int = 24, width: int = 96, height: int = 96) -> list:
    """n frames [height, width, 3]: a crop that drifts and zooms around the face and returns
    to its start, so the clip loops."""
    import cv2

    frames = []
    for i in range(n):
        ph = 2 * np.pi * i / n
        side = 300 + 40 * np.sin(ph)
        x0, y0 = 120 + 20 * np.cos(ph), 20 + 15 * np.sin(ph)
        crop = rgb[int(y0):int(y0 + side), int(x0):int(x0 + side * width / height)]
        frames.append(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA))
    return frames


def disc_alpha(width: int, height: int) -> np.ndarray:
    """uint8 [height, width]: an opaque centred disc with a soft rim, transparent corners."""
    yy, xx = np.mgrid[:height, :width]
    r = np.hypot(xx - (width - 1) / 2, yy - (height - 1) / 2)
    rad = 0.4 * min(width, height)
    return np.clip((rad - r) * 64 + 128, 0, 255).astype(np.uint8)


def with_alpha(frames: list, alpha: np.ndarray) -> list:
    return [np.dstack([f, alpha]) for f in frames]


def pil_decode(path: Path) -> dict:
    """Every frame as RGBA uint8, per-frame durations (ms), loop flag, format, size."""
    from PIL import Image

    with Image.open(path) as im:
        info = {"format": im.format, "size": im.size, "n": getattr(im, "n_frames", 1),
                "loop": im.info.get("loop"), "frames": [], "durations": []}
        for i in range(info["n"]):
            im.seek(i)
            im.load()
            info["frames"].append(np.asarray(im.convert("RGBA")).copy())
            info["durations"].append(float(im.info.get("duration", 0)))
    return info


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffprobe(path: Path) -> dict:
    """Codec, size, fps, duration, audio and alpha flags from `ffmpeg -i`'s stream report."""
    err = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True).stderr
    video = re.search(r"Stream #\S+.*?Video: (\w+).*?, (\d+)x(\d+)[, ].*?([\d.]+) fps", err)
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", err)
    h, m, s = dur.groups()
    return {"codec": video.group(1), "size": (int(video.group(2)), int(video.group(3))),
            "fps": float(video.group(4)), "duration": int(h) * 3600 + int(m) * 60 + float(s),
            "audio": "Audio:" in err, "alpha_mode": "alpha_mode" in err}


def ffmpeg_decode(path: Path, size: tuple[int, int], *, vp9_alpha: bool = False) -> np.ndarray:
    """All frames as uint8 [T, H, W, 4] RGBA; vp9_alpha uses libvpx-vp9, the decoder that
    reads WebM's alpha side channel (ffmpeg's native vp9 decoder drops it)."""
    cmd = [ffmpeg(), "-v", "error"] + (["-c:v", "libvpx-vp9"] if vp9_alpha else [])
    cmd += ["-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    w, h = size
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 4)
