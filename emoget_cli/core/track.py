"""The landmark track artifact (`*.landmarks.json`): defined, written and validated here only.

Schema (version 2; version 1 files, which lack `photo_units`, still load)::

    {
      "format": "emoget.landmarks", "version": 1, "scheme": "ibug68",
      "image_size": [width, height],          # pixels of the image the points refer to
      "fps": 12.0 | null,                     # null for a still image
      "source": "selfie.jpg" | null,
      "label": "surprise" | null,             # expression of a motion track (train motion reads it)
      "frames": [
        {"index": 0, "faces": [{"box": [x0, y0, x1, y1], "score": 0.93,
                                "points": [[x, y], ... 68 pairs]}]}
      ],
      "aligned": null | {"size": 256, "image": "face.png" | null,
                         "quad": [[x, y] x 4],      # TL, BL, BR, TR corners in the input image
                         "points": [[x, y] x 68]}   # the same face in aligned-image pixels
      "photo_units": null | {"12": 0.52, ...} # version 2: the action units the source photo
                                              # shows (motion/estimate.py), code -> intensity
      "meta": {...}                           # free-form, e.g. backend, motion parameters
    }

Points are in input-image pixel coordinates (x right, y down), iBUG 68 order. `load_track`
also refuses what no emoget writes: NaN/infinite or absurd numbers (|coordinate| > MAX_COORD,
sides > MAX_IMAGE_SIDE, fps > MAX_FPS), booleans or strings where numbers belong, frame indices
that are negative or not increasing, and a degenerate aligned quad.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_text_atomic
from .errors import TrackError

TRACK_FORMAT = "emoget.landmarks"
TRACK_VERSION = 2
#: photo_units: at most this many entries, codes like "12" or "R12", intensities in 0..MAX_UNIT
MAX_PHOTO_UNITS = 64
MAX_UNIT = 10.0
SCHEME = "ibug68"
N_POINTS = 68
TRACK_SUFFIX = ".landmarks.json"


@dataclass
class FaceLandmarks:
    """One detected face: `points` float32 [68, 2] of (x, y) pixels; `box` (x0, y0, x1, y1)
    pixels (default: the points' bounding box); `score` the detector's confidence or None."""

    points: np.ndarray
    box: tuple[float, float, float, float] | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float32).reshape(N_POINTS, 2)
        if self.box is None:
            x0, y0 = self.points.min(0)
            x1, y1 = self.points.max(0)
            self.box = (float(x0), float(y0), float(x1), float(y1))
        self.box = tuple(float(v) for v in self.box)  # type: ignore[assignment]

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box  # type: ignore[misc]
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@dataclass
class TrackFrame:
    """One frame: `index` is the frame number in the source video (0 for a still image);
    `faces` are sorted largest first."""

    index: int
    faces: list[FaceLandmarks] = field(default_factory=list)


@dataclass
class AlignedFace:
    """The chosen face after FFHQ alignment: `points` [68, 2] in aligned pixels, `quad` [4, 2]."""

    size: int
    quad: np.ndarray
    points: np.ndarray
    image: str | None = None

    def __post_init__(self) -> None:
        self.quad = np.asarray(self.quad, dtype=np.float32).reshape(4, 2)
        self.points = np.asarray(self.points, dtype=np.float32).reshape(N_POINTS, 2)


@dataclass
class LandmarkTrack:
    """A sequence of frames (one for a still image) with 0..n faces each."""

    image_size: tuple[int, int]
    frames: list[TrackFrame]
    fps: float | None = None
    source: str | None = None
    label: str | None = None
    aligned: AlignedFace | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: the source photo's own action units (code → intensity), estimated before animating
    photo_units: dict[str, float] | None = None

    @classmethod
    def from_points(cls, points: np.ndarray, image_size: tuple[int, int], *, fps: float | None = None,
                    **kwargs: Any) -> "LandmarkTrack":
        """Build a single-face track from points [T, 68, 2] (or [68, 2] for one frame)."""
        pts = np.asarray(points, dtype=np.float32)
        if pts.ndim == 2:
            pts = pts[None]
        frames = [TrackFrame(i, [FaceLandmarks(p)]) for i, p in enumerate(pts)]
        return cls(image_size=(int(image_size[0]), int(image_size[1])), frames=frames, fps=fps, **kwargs)

    def points_array(self, face: int = 0) -> np.ndarray:
        """Points of face `face` in every frame: [T, 68, 2]. Frames without that face are an error."""
        out = []
        for frame in self.frames:
            if len(frame.faces) <= face:
                raise TrackError(f"frame {frame.index} of the track has no face #{face}")
            out.append(frame.faces[face].points)
        if not out:
            raise TrackError("the track has no frames")
        return np.stack(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TRACK_FORMAT,
            "version": TRACK_VERSION,
            "scheme": SCHEME,
            "image_size": [int(self.image_size[0]), int(self.image_size[1])],
            "fps": None if self.fps is None else float(self.fps),
            "source": self.source,
            "label": self.label,
            "frames": [
                {"index": int(fr.index),
                 "faces": [{"box": [round(float(v), 3) for v in f.box],  # type: ignore[union-attr]
                            "score": None if f.score is None else round(float(f.score), 5),
                            "points": np.round(f.points.astype(np.float64), 3).tolist()}
                           for f in fr.faces]}
                for fr in self.frames
            ],
            "aligned": None if self.aligned is None else {
                "size": int(self.aligned.size),
                "image": self.aligned.image,
                "quad": np.round(self.aligned.quad.astype(np.float64), 3).tolist(),
                "points": np.round(self.aligned.points.astype(np.float64), 3).tolist(),
            },
            "photo_units": None if self.photo_units is None else {
                str(k): round(float(v), 4) for k, v in self.photo_units.items()},
            "meta": self.meta,
        }


def save_track(track: LandmarkTrack, path: str | Path) -> Path:
    """Write `track` as JSON, atomically. TrackError (nothing written) when a number is NaN or
    infinite: strict JSON has no such values and `load_track` would refuse the file."""
    try:
        text = json.dumps(track.to_dict(), separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise TrackError(f"{path}: the track holds NaN or infinite numbers; not written") from None
    return write_text_atomic(path, text)


#: Bounds of a sane track: image sides in pixels, and |coordinate| of any point, box or quad
#: corner (points may lie outside the picture, but not a million pixels away).
MAX_IMAGE_SIDE = 100_000
MAX_COORD = 1_000_000.0
MAX_FPS = 1000.0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coords(value: Any, shape: tuple[int, int], where: str, what: str) -> np.ndarray:
    """A JSON list of [x, y] pairs → float32 array of `shape`, finite and within MAX_COORD."""
    if (not isinstance(value, list)
            or not all(isinstance(p, list) and len(p) == 2 and all(map(_is_number, p)) for p in value)):
        raise TrackError(f"{where}: {what} must be a list of [x, y] number pairs")
    if len(value) != shape[0]:
        raise TrackError(f"{where}: expected {shape[0]} [x, y] {what}, got {len(value)}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError:  # an integer with hundreds of digits
        raise TrackError(f"{where}: {what} are out of range") from None
    if not np.all(np.isfinite(arr)):
        raise TrackError(f"{where}: {what} contain NaN or infinity")
    if np.abs(arr).max(initial=0.0) > MAX_COORD:
        raise TrackError(f"{where}: {what} are out of range (beyond {MAX_COORD:.0f} pixels)")
    return arr.astype(np.float32)


def _points(value: Any, where: str) -> np.ndarray:
    return _coords(value, (N_POINTS, 2), where, "points")


def _number(value: Any, where: str, *, positive: bool = False, limit: float = MAX_COORD) -> float:
    if not _is_number(value) or not math.isfinite(value) or abs(value) > limit:
        raise TrackError(f"{where} must be a finite number (at most {limit:g} in size)")
    if positive and value <= 0:
        raise TrackError(f"{where} must be positive")
    return float(value)


def _int(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def track_from_dict(data: Any, where: str = "track") -> LandmarkTrack:
    """Validate a decoded JSON document and build the track; TrackError on any defect."""
    if not isinstance(data, dict):
        raise TrackError(f"{where}: not a landmark track (expected a JSON object)")
    if data.get("format") != TRACK_FORMAT:
        raise TrackError(f"{where}: not a landmark track (format is {data.get('format')!r}, "
                         f"expected {TRACK_FORMAT!r})")
    version = data.get("version")
    if not _int(version, 1, TRACK_VERSION):
        raise TrackError(f"{where}: unsupported track version {version!r} (this emoget reads "
                         f"1..{TRACK_VERSION})")
    if data.get("scheme") != SCHEME:
        raise TrackError(f"{where}: unsupported landmark scheme {data.get('scheme')!r} (only {SCHEME})")
    size = data.get("image_size")
    if (not isinstance(size, list) or len(size) != 2
            or not all(_int(v, 1, MAX_IMAGE_SIDE) for v in size)):
        raise TrackError(f"{where}: image_size must be [width, height] in integers from 1 to "
                         f"{MAX_IMAGE_SIDE}")
    fps = data.get("fps")
    if fps is not None:
        fps = _number(fps, f"{where}: fps", positive=True, limit=MAX_FPS)
    frames_raw = data.get("frames")
    if not isinstance(frames_raw, list) or not frames_raw:
        raise TrackError(f"{where}: frames must be a non-empty list")
    frames = []
    for i, fr in enumerate(frames_raw):
        if not isinstance(fr, dict) or not isinstance(fr.get("faces"), list):
            raise TrackError(f"{where}: frame {i} must be an object with a 'faces' list")
        faces = []
        for j, face in enumerate(fr["faces"]):
            loc = f"{where}: frame {i} face {j}"
            if not isinstance(face, dict):
                raise TrackError(f"{loc} must be an object")
            pts = _points(face.get("points"), loc)
            box = face.get("box")
            if box is not None:
                if not isinstance(box, list) or len(box) != 4:
                    raise TrackError(f"{loc}: box must be [x0, y0, x1, y1]")
                box = tuple(_number(v, f"{loc}: box") for v in box)
            score = face.get("score")
            if score is not None:
                score = _number(score, f"{loc}: score", limit=1e6)
            faces.append(FaceLandmarks(pts, box, score))
        index = fr.get("index", i)
        if not _int(index, 0, 2**53):
            raise TrackError(f"{where}: frame {i} index must be a non-negative integer")
        if frames and index <= frames[-1].index:
            raise TrackError(f"{where}: frame {i} index {index} does not follow "
                             f"{frames[-1].index} (indices must increase)")
        frames.append(TrackFrame(index, faces))
    aligned = None
    if data.get("aligned") is not None:
        al = data["aligned"]
        if not isinstance(al, dict) or not _int(al.get("size"), 1, MAX_IMAGE_SIDE):
            raise TrackError(f"{where}: aligned must be an object with a positive integer size")
        quad = _coords(al.get("quad"), (4, 2), f"{where}: aligned.quad", "corners")
        (ux, uy), (vx, vy) = quad[3] - quad[0], quad[1] - quad[0]  # the square's two sides
        if abs(float(ux * vy - uy * vx)) < 1e-6:
            raise TrackError(f"{where}: aligned.quad is degenerate (its corners enclose no area)")
        aligned = AlignedFace(al["size"], quad, _points(al.get("points"), f"{where}: aligned"),
                              al.get("image") if isinstance(al.get("image"), str) else None)
    label = data.get("label")
    if label is not None and not isinstance(label, str):
        raise TrackError(f"{where}: label must be a string")
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise TrackError(f"{where}: meta must be an object")
    source = data.get("source")
    return LandmarkTrack(image_size=(size[0], size[1]), frames=frames, fps=fps,
                         source=source if isinstance(source, str) else None, label=label,
                         aligned=aligned, meta=meta,
                         photo_units=_photo_units(data.get("photo_units"), where))


def _photo_units(value: Any, where: str) -> dict[str, float] | None:
    """The optional `photo_units` object: {unit code: intensity}; TrackError when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_PHOTO_UNITS:
        raise TrackError(f"{where}: photo_units must be an object of at most {MAX_PHOTO_UNITS} "
                         "unit codes")
    out = {}
    for code, amount in value.items():
        if not (isinstance(code, str) and 0 < len(code) <= 8 and code.isascii() and code.isalnum()):
            raise TrackError(f"{where}: photo_units has a bad unit code {code!r}")
        out[code] = _number(amount, f"{where}: photo_units[{code!r}]", limit=MAX_UNIT)
        if out[code] < 0:
            raise TrackError(f"{where}: photo_units[{code!r}] must not be negative")
    return out


def load_track(path: str | Path) -> LandmarkTrack:
    """Read (core.files: a regular file of at most MAX_TRACK_BYTES, nesting and numbers bounded)
    and validate a track file; TrackError (one line) for anything malformed."""
    from .files import MAX_TRACK_BYTES, read_json_file

    data = read_json_file(path, "landmark track", limit=MAX_TRACK_BYTES, error=TrackError)
    return track_from_dict(data, where=str(path))
