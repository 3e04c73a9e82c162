"""Video frames through imageio's ffmpeg plugin (imageio-ffmpeg ships the ffmpeg binary)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np

from ..core.errors import InputError, UsageError
from ..core.image_io import MAX_PIXELS

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class VideoFrames:
    """Iterable of (index, rgb uint8 [H, W, 3]) for every `every`-th frame of a video.

    Opening it reads the header: `fps` (float), `size` (width, height) and `n_frames`
    (an estimate from the duration; None when unknown). Raises InputError when the file is
    not a readable video.
    """

    def __init__(self, path: str | Path, every: int = 1):
        if every < 1:
            raise UsageError(f"--every must be at least 1, got {every}")
        self.path = Path(path)
        self.every = int(every)
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file")
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.path}: file is empty (0 bytes)")
        reader = self._open()
        try:
            meta = reader.get_meta_data()
        except Exception as exc:  # imageio/ffmpeg raise many types for broken files
            raise InputError(f"{self.path}: cannot read video ({_first_line(exc)})") from None
        finally:
            reader.close()
        self.fps = float(meta.get("fps") or 0.0) or None
        size = meta.get("size") or (0, 0)
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] * self.size[1] > MAX_PIXELS:  # each frame is decoded in full
            raise InputError(f"{self.path}: video frames are too large ({self.size[0]}x{self.size[1]}; "
                             f"the limit is {MAX_PIXELS} pixels)")
        duration = meta.get("duration")
        n = meta.get("nframes")
        if isinstance(n, (int, float)) and math.isfinite(n) and n > 0:
            self.n_frames: int | None = int(n)
        elif self.fps and duration and math.isfinite(duration):
            self.n_frames = int(round(duration * self.fps))
        else:
            self.n_frames = None

    def _open(self):
        import imageio.v2 as iio

        try:
            return iio.get_reader(str(self.path), format="ffmpeg")
        except Exception as exc:
            raise InputError(f"{self.path}: not a readable video ({_first_line(exc)})") from None

    def __len__(self) -> int:
        """Number of frames this iteration yields (estimate)."""
        return 0 if self.n_frames is None else -(-self.n_frames // self.every)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        reader = self._open()
        got = 0
        try:
            index = 0
            while True:
                try:
                    frame = reader.get_next_data()
                except (IndexError, StopIteration):
                    break
                except Exception as exc:
                    if got:  # a damaged tail: keep what was decoded
                        break
                    raise InputError(f"{self.path}: cannot decode video ({_first_line(exc)})") from None
                if index % self.every == 0:
                    got += 1
                    yield index, np.ascontiguousarray(np.asarray(frame)[..., :3], dtype=np.uint8)
                index += 1
        finally:
            reader.close()
        if not got:
            raise InputError(f"{self.path}: the video has no decodable frames")


def read_video_frames(path: str | Path, every: int = 1) -> VideoFrames:
    """(index, rgb) for every `every`-th frame; `.fps`, `.size`, `.n_frames` on the result."""
    return VideoFrames(path, every)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
