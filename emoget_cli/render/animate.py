"""Rendering an animation: a face and its landmark motion → frames (render only).

    result = render_frames(rgb, points, motion, fps=12.0, label="surprise")
    result.frames  # list of uint8 [H, W, 3]; result.alpha: list of uint8 [H, W] or None
    result.track   # LandmarkTrack [T, 68, 2] with label and fps

Every frame is a foldover-free warp of the source face (render.warp) with mouth interior /
eyelids synthesised (render.fill); a head alpha (render.matting) is warped along with it, and
emoticon effects (render.effects) are drawn on their own layer over the result. Also
the picture's framing: `fit_to_size` (crop to an aspect, resize) and `trim_to_head`.
Face detection and motion generation happen before, in emoget_cli.animation (the orchestrator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..core.choices import WARP_BACKEND_CHOICES
from ..core.errors import UsageError
from ..core.ibug68 import N_POINTS, inter_ocular_distance
from ..core.track import LandmarkTrack


@dataclass
class AnimationResult:
    """frames: T uint8 [H, W, 3]; alpha: T uint8 [H, W] (background transparent) or None;
    track: the landmark motion [T, 68, 2] that drove the frames (the generated motion after
    FaceWarper.limit_motion; label = expression, fps); meta["max_limited_px"]: how far the
    limiting moved a landmark from the generated motion, at most."""

    frames: list[np.ndarray]
    alpha: Optional[list[np.ndarray]]
    track: LandmarkTrack
    meta: dict[str, Any] = field(default_factory=dict)

    def rgba_frames(self) -> list[np.ndarray]:
        """Frames with their alpha as [H, W, 4] (or the RGB frames when there is no alpha)."""
        if self.alpha is None:
            return list(self.frames)
        return [np.dstack([f, a]) for f, a in zip(self.frames, self.alpha)]


def fit_to_size(rgb: np.ndarray, points: np.ndarray, size: tuple[int, int],
                alpha: Optional[np.ndarray] = None):
    """Crop to the aspect ratio of `size` (centred on the face) and resize.

    rgb uint8 [H, W, 3], points [68, 2], size (width, height), alpha uint8 [H, W] or None.
    Returns (rgb, points, alpha): alpha is cropped and resized with the picture (None stays None).
    """
    import cv2

    h, w = rgb.shape[:2]
    tw, th = size
    if (w, h) == (tw, th):
        return rgb, points, alpha
    # the largest window with the target aspect, centred on the face, inside the image
    cw, ch = (w, int(round(w * th / tw))) if w * th <= h * tw else (int(round(h * tw / th)), h)
    cw, ch = max(1, min(cw, w)), max(1, min(ch, h))
    cx, cy = points.mean(0)
    x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    y0 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    interp = cv2.INTER_AREA if tw < cw else cv2.INTER_CUBIC

    def crop(image: np.ndarray) -> np.ndarray:
        out = cv2.resize(image[y0:y0 + ch, x0:x0 + cw], (tw, th), interpolation=interp)
        return np.ascontiguousarray(out)

    scale = np.array([tw / cw, th / ch], np.float32)
    # pixel centres: x_out + 0.5 = (x_in - x0 + 0.5) * scale
    pts = ((points - [x0, y0] + 0.5) * scale - 0.5).astype(np.float32)
    return crop(rgb), pts, None if alpha is None else crop(alpha)


#: Room left around the cut-out head when trimming (share of the head's larger side, per side),
#: so that nods, tilts and the soft matte edge stay inside the picture.
TRIM_MARGIN = 0.1


def head_box(alpha: np.ndarray, margin: float = TRIM_MARGIN) -> Optional[tuple[int, int, int, int]]:
    """Square box (x0, y0, x1, y1), end-exclusive, around the opaque part of alpha uint8 [H, W],
    grown by `margin` per side and kept inside the image (it may be cut to a rectangle there);
    None when alpha is empty."""
    ys, xs = np.nonzero(alpha > 0)
    if len(xs) == 0:
        return None
    height, width = alpha.shape
    side = (1.0 + 2.0 * margin) * max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    sw, sh = min(int(round(side)), width), min(int(round(side)), height)
    cx, cy = 0.5 * (xs.min() + xs.max() + 1), 0.5 * (ys.min() + ys.max() + 1)
    x0 = int(np.clip(round(cx - sw / 2), 0, width - sw))
    y0 = int(np.clip(round(cy - sh / 2), 0, height - sh))
    return x0, y0, x0 + sw, y0 + sh


def trim_to_head(rgb: np.ndarray, alpha: np.ndarray, points: np.ndarray):
    """Crop rgb [H, W, 3], alpha [H, W] and points [68, 2] to `head_box(alpha)`:
    (rgb, alpha, points), unchanged when the matte is empty."""
    box = head_box(alpha)
    if box is None:
        return rgb, alpha, points
    x0, y0, x1, y1 = box
    return (np.ascontiguousarray(rgb[y0:y1, x0:x1]), np.ascontiguousarray(alpha[y0:y1, x0:x1]),
            (points - [x0, y0]).astype(np.float32))


#: Landmarks may reach this many inter-ocular distances outside the image (a chin cut off by
#: the frame); further out they belong to some other picture.
FACE_MARGIN_IOD = 3.0
#: A face with eyes closer than this (pixels) is too small to animate.
MIN_IOD_PX = 3.0


def check_face_fits(points: np.ndarray, image_size: tuple[int, int]) -> Optional[str]:
    """Why landmarks [68, 2] cannot belong to a (width, height) image, or None when they can.

    The face's centre must be inside the image, no point may lie more than FACE_MARGIN_IOD
    inter-ocular distances outside it, and the eyes must be at least MIN_IOD_PX apart.
    """
    pts = np.asarray(points, dtype=np.float64)
    width, height = image_size
    iod = inter_ocular_distance(pts)
    if iod < MIN_IOD_PX:
        return f"the face is too small ({iod:.1f} px between the eyes; at least {MIN_IOD_PX:g})"
    cx, cy = pts.mean(0)
    margin = FACE_MARGIN_IOD * iod
    if not (0 <= cx < width and 0 <= cy < height) or np.any(pts < -margin) \
            or np.any(pts[:, 0] > width - 1 + margin) or np.any(pts[:, 1] > height - 1 + margin):
        return f"the landmarks lie outside the {width}x{height} image"
    return None


def _warp_backend(backend: str, device: str) -> tuple[str, str]:
    """(backend, device) for the warper: torch on a GPU, OpenCV on the CPU unless asked."""
    if backend not in WARP_BACKEND_CHOICES:
        raise UsageError(f"unknown warp backend {backend!r} (choose from "
                         f"{', '.join(WARP_BACKEND_CHOICES)})")
    if backend == "opencv":
        return "opencv", "cpu"
    if backend == "torch":
        return "torch", device
    from ..core.device import resolve_device, resolve_device_name

    if resolve_device_name(device) == "cpu":
        return "opencv", "cpu"
    resolved = resolve_device(device)
    return ("torch", str(resolved)) if resolved.type == "cuda" else ("opencv", "cpu")


@dataclass(frozen=True)
class ExpressionPlan:
    """What is drawn over the warp: effects (names), presence [T] in [0, 1] (how far each
    frame is into the expression) and units: action unit code → (right, left) [T] activity
    (empty with a motion model, which has no units to read). Made by
    emoget_cli.animation.expression_plan."""

    effects: tuple[str, ...]
    presence: np.ndarray
    units: dict[str, tuple[np.ndarray, np.ndarray]]

    def units_at(self, frame: int) -> dict[str, tuple[float, float]]:
        """code → (right, left) activity of one frame, clipped to [0, 1] (what is drawn)."""
        return {au: (min(max(float(r[frame]), 0.0), 1.0), min(max(float(l[frame]), 0.0), 1.0))
                for au, (r, l) in self.units.items()}


def render_frames(rgb: np.ndarray, points: np.ndarray, motion: np.ndarray, *,
                  alpha: Optional[np.ndarray] = None, fps: float = 12.0, label: str = "",
                  meta: Optional[dict[str, Any]] = None, photo_units: Optional[dict] = None,
                  backend: str = "auto", device: str = "cpu", fill: bool = True,
                  drawn: Optional[ExpressionPlan] = None, look: str = "none",
                  progress: Optional[Callable[..., None]] = None) -> AnimationResult:
    """Render the face rgb uint8 [H, W, 3] with landmarks points [68, 2] along motion
    [T, 68, 2] (alpha uint8 [H, W] warped alike when given). label, fps, meta and photo_units
    (the photo's own expression units, code → intensity) go into the result's track.

    The motion is first limited so that no triangle of the mesh folds over (scaled alike in all
    frames); meta["max_limited_px"] says how far that moved a landmark, at most. backend: the
    warp (choices.WARP_BACKEND_CHOICES; auto = torch on CUDA, else OpenCV). fill: paint the
    mouth interior, lids and features per frame (render.fill) from drawn's unit activity.
    drawn: the effects and per-frame activity (default: none). look: the style whose drawing
    look the painting and effects take (render.draw_style). progress(done, total) per frame.
    """
    from .draw_style import draw_style
    from .effects import composite, draw_effects
    from .fill import paint_face
    from .warp import FaceWarper

    frames_n = len(motion)
    drawn = drawn or ExpressionPlan((), np.ones(frames_n), {})
    warp_backend, warp_device = _warp_backend(backend, device)
    # the mouth interior, lids and features are painted here (render.fill), in the style's look
    warper = FaceWarper(rgb, points, backend=warp_backend, device=warp_device, alpha=alpha,
                        fill=False)
    wanted, motion = motion, warper.limit_motion(motion)  # foldover-free, scaled alike in all frames
    style = draw_style(look)
    frames, alphas, limited = [], [], float(np.abs(motion - wanted).max())
    for i, dst in enumerate(motion):
        out = warper.render_frame(dst)
        rgb_i, alpha_i = out.rgb, out.alpha
        if fill:
            rgb_i = paint_face(rgb_i, warper.mesh.src[:N_POINTS], out.mesh[:N_POINTS], style,
                               drawn.units_at(i), source_rgb=rgb)
        if drawn.effects:  # after the warp and the matte, on their own layer: kept by transparency
            matte = None if alpha_i is None else alpha_i.astype(np.float32) / 255.0
            layer = draw_effects(out.mesh[:N_POINTS], i / len(motion), float(drawn.presence[i]),
                                 drawn.effects, style, rgb_i.shape[:2], matte)
            rgb_i, alpha_i = composite(rgb_i, alpha_i, layer)
        frames.append(rgb_i)
        if alpha_i is not None:
            alphas.append(alpha_i)
        limited = max(limited, float(np.abs(out.mesh[:N_POINTS] - wanted[i]).max()))
        if progress is not None:
            progress(i + 1, len(motion))
    height, width = rgb.shape[:2]
    meta = {**(meta or {}), "warp_backend": warp_backend, "max_limited_px": round(limited, 3),
            "effects": list(drawn.effects)}
    track = LandmarkTrack.from_points(motion, (width, height), fps=float(fps), label=label,
                                      meta=meta, photo_units=dict(photo_units or {}))
    return AnimationResult(frames=frames, alpha=alphas if alpha is not None else None,
                           track=track, meta=meta)
