"""From one face and an expression to a looping animation (the core of `emoget animate`).

    result = animate(face_rgb, AnimateConfig(expr="surprise"))
    result.frames  # list of uint8 [H, W, 3]; result.alpha: list of uint8 [H, W] or None
    result.track   # LandmarkTrack [T, 68, 2] with label = the expression, fps

Landmarks are detected when not given (emoget_cli.face), the motion comes from the FACS library
(emoget_cli.motion.generate_motion) or a learned model (`motion_model.generate`), every frame is
a foldover-free warp of the source face (render.warp) with mouth interior / eyelids synthesised
(render.fill), and `background="transparent"` cuts the head out (render.matting) and warps that
alpha along with the face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..core import choices
from ..core.choices import BACKGROUNDS, DEFAULT_EFFECTS
from ..core.choices import WARP_BACKEND_CHOICES as WARP_BACKENDS
from ..core.errors import UsageError
from ..core.ibug68 import N_POINTS, inter_ocular_distance
from ..core.track import LandmarkTrack

MAX_FRAMES = 2000
MAX_SIZE = 4096


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


@dataclass(frozen=True)
class AnimateConfig:
    """What to animate and how.

    expr: expression, e.g. "surprise" or "happiness:0.5+wink"; frames per loop at fps, or
    duration seconds (then frames = round(duration * fps)); size: output (width, height) or one
    int for a square, None = the input's size; intensity in [0, 1.5]; head: motion.HEAD_CHOICES
    (auto = the expression's own);
    background keep|transparent; seed (varies idle timing); device auto|cpu|cuda; backend: the
    warp (auto = torch on CUDA, else OpenCV); landmarks: detection backend when no points are
    given; fill: synthesise the mouth interior and eyelids; trim (transparent background only):
    crop the picture to a square around the cut-out head before `size` applies, so a sticker
    made from a whole photo is the head, not a small head on an empty canvas. style: the look
    drawn things take (render.draw_style: ink, fills); effects: emoticon effects
    (render.effects) — "auto" (the expression's own), "none" or NAME+NAME.
    """

    expr: str
    frames: int = 24
    fps: float = 12.0
    duration: Optional[float] = None
    size: Optional[Any] = None
    intensity: float = 1.0
    head: str = choices.DEFAULT_HEAD
    background: str = "keep"
    seed: int = 0
    device: str = "cpu"
    backend: str = "auto"
    landmarks: str = "auto"
    fill: bool = True
    trim: bool = False
    style: str = "none"
    effects: str = DEFAULT_EFFECTS

    def __post_init__(self) -> None:
        if not isinstance(self.expr, str) or not self.expr.strip():
            raise UsageError("no expression given (--expr, e.g. --expr surprise)")
        if not _is_number(self.fps) or not 0 < float(self.fps) <= 100:
            raise UsageError(f"--fps must be a number in (0, 100], got {self.fps!r}")
        if self.duration is not None and (not _is_number(self.duration) or float(self.duration) <= 0):
            raise UsageError(f"--duration must be a positive number of seconds, got {self.duration!r}")
        if self.duration is None and not _is_int(self.frames):
            raise UsageError(f"--frames must be an integer, got {self.frames!r}")
        if not 2 <= self.n_frames <= MAX_FRAMES:
            raise UsageError(f"an animation needs 2..{MAX_FRAMES} frames, got {self.n_frames} "
                             "(check --frames / --duration / --fps)")
        if not _is_number(self.intensity) \
                or not 0.0 <= float(self.intensity) <= choices.MAX_INTENSITY:
            raise UsageError(f"--intensity must be in 0..{choices.MAX_INTENSITY:g}, "
                             f"got {self.intensity!r}")
        from ..motion.head import HEAD_CHOICES

        if self.head not in HEAD_CHOICES:
            raise UsageError(f"unknown head motion {self.head!r} (choose from {', '.join(HEAD_CHOICES)})")
        if self.background not in BACKGROUNDS:
            raise UsageError(f"unknown background {self.background!r} (choose from "
                             f"{', '.join(BACKGROUNDS)})")
        if self.backend not in WARP_BACKENDS:
            raise UsageError(f"unknown warp backend {self.backend!r} (choose from "
                             f"{', '.join(WARP_BACKENDS)})")
        self.output_size  # validates size
        from .effects import parse_effects

        parse_effects(self.effects)  # validates the names

    @property
    def n_frames(self) -> int:
        if self.duration is not None:
            return int(round(float(self.duration) * float(self.fps)))
        return int(self.frames)

    @property
    def output_size(self) -> Optional[tuple[int, int]]:
        """(width, height) or None."""
        if self.size is None:
            return None
        size = self.size
        if _is_int(size):
            size = (size, size)
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or not all(_is_int(v) and 8 <= v <= MAX_SIZE for v in size)):
            raise UsageError(f"--size must be N or WxH with 8..{MAX_SIZE} pixels, got {self.size!r}")
        return int(size[0]), int(size[1])


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
    Returns (rgb, points), or (rgb, points, alpha) when an alpha is given (cropped and
    resized with the picture).
    """
    import cv2

    h, w = rgb.shape[:2]
    tw, th = size
    if (w, h) == (tw, th):
        return (rgb, points) if alpha is None else (rgb, points, alpha)
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
    return (crop(rgb), pts) if alpha is None else (crop(rgb), pts, crop(alpha))


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


def _check_motion(motion: Any, frames: int) -> np.ndarray:
    arr = np.asarray(motion, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1:] != (68, 2) or arr.shape[0] < 2:
        raise UsageError(f"the motion model returned shape {list(arr.shape)}, expected "
                         f"[{frames}, 68, 2]")
    if not np.all(np.isfinite(arr)):
        raise UsageError("the motion model returned NaN or infinite landmarks")
    return arr


#: The chin may use this share of the room between it and the picture's edge (the rest keeps
#: the skin above the fixed border from being squashed).
CHIN_ROOM_SHARE = 0.75


def chin_room(points: np.ndarray, image_size: tuple[int, int]) -> float:
    """How far (IOD) the chin of points [68, 2] may drop, straight down the face, before the
    edge of a (width, height) picture (times CHIN_ROOM_SHARE)."""
    from ..motion.geometry import FaceFrame

    frame = FaceFrame.of(points)
    down = -frame.up                                       # pixels per unit, toward the neck
    chin = np.asarray(points, np.float64)[8]
    width, height = image_size
    reach = []
    for axis, size in ((0, width), (1, height)):
        if down[axis] > 1e-6:
            reach.append((size - 1 - chin[axis]) / down[axis])
        elif down[axis] < -1e-6:
            reach.append(-chin[axis] / down[axis])
    return CHIN_ROOM_SHARE * max(min(reach, default=1e9), 0.0) / frame.iod


def plan_track(points: np.ndarray, config: AnimateConfig, motion_model: Any = None,
               image_size: Optional[tuple[int, int]] = None):
    """The motion for `points` [68, 2]: a motion.MotionPlan (FACS library or `motion_model`),
    its points checked to be [T, 68, 2] and finite. image_size (width, height): keep the jaw's
    drop inside the picture."""
    from dataclasses import replace

    from ..motion import MotionConfig
    from ..motion.generate import plan_motion

    mcfg = MotionConfig(frames=config.n_frames, fps=float(config.fps),
                        intensity=float(config.intensity), head=config.head, seed=int(config.seed),
                        chin_room=chin_room(points, image_size) if image_size else None)
    if motion_model is None:
        plan = plan_motion(points, config.expr, mcfg)
    elif hasattr(motion_model, "plan"):
        plan = motion_model.plan(points, config.expr, mcfg)
    else:  # any object with .generate(l0, expr, MotionConfig) -> [T, 68, 2]
        from ..motion.generate import MotionPlan

        plan = MotionPlan(motion_model.generate(points, config.expr, mcfg), {}, mcfg.head, (),
                          np.zeros(config.n_frames))
    return replace(plan, points=_check_motion(plan.points, config.n_frames))


def generate_track(points: np.ndarray, config: AnimateConfig,
                   motion_model: Any = None) -> np.ndarray:
    """Landmark motion [T, 68, 2] for `points` [68, 2] (FACS library or `motion_model`)."""
    return plan_track(points, config, motion_model).points


@dataclass(frozen=True)
class ExpressionPlan:
    """What is drawn over the warp: effects (names), presence [T] in [0, 1] (how far each
    frame is into the expression) and units: action unit code → (right, left) [T] activity
    (empty with a motion model, which has no units to read)."""

    effects: tuple[str, ...]
    presence: np.ndarray
    units: dict[str, tuple[np.ndarray, np.ndarray]]

    def units_at(self, frame: int) -> dict[str, tuple[float, float]]:
        """code → (right, left) activity of one frame, clipped to [0, 1] (what is drawn)."""
        return {au: (min(max(float(r[frame]), 0.0), 1.0), min(max(float(l[frame]), 0.0), 1.0))
                for au, (r, l) in self.units.items()}


def expression_plan(config: AnimateConfig, motion: np.ndarray,
                    motion_model: Any = None) -> ExpressionPlan:
    """The effects and per-frame activity for `motion` [T, 68, 2].

    With the FACS library the presence is the strongest unit's activity in the frame; with a
    motion model, the landmarks' mean displacement from frame 0 relative to its largest. A loop
    without any expression motion (neutral + NAME) shows its effects throughout.
    """
    from .effects import parse_effects

    frames = len(motion)
    presence = np.zeros(frames)
    units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if motion_model is None:
        from ..motion import parse_expression
        from ..motion.expressions import expression_activity

        spec = parse_expression(config.expr)
        names = parse_effects(config.effects, spec.names)
        units = expression_activity(spec, frames, intensity=float(config.intensity),
                                    seed=int(config.seed)).units
        for right, left in units.values():
            presence = np.maximum(presence, np.maximum(right, left))
    else:
        names = parse_effects(config.effects, ())
        presence = np.linalg.norm(motion - motion[:1], axis=2).mean(1)
    if presence.max() < 1e-3:
        presence = np.ones(frames)
    presence = np.clip(presence / max(float(presence.max()), 1e-9), 0.0, 1.0)
    return ExpressionPlan(names, presence, units)


def _warp_backend(config: AnimateConfig) -> tuple[str, str]:
    """(backend, device) for the warper: torch on a GPU, OpenCV on the CPU unless asked."""
    if config.backend == "opencv":
        return "opencv", "cpu"
    if config.backend == "torch":
        return "torch", config.device
    from ..core.device import resolve_device, resolve_device_name

    if resolve_device_name(config.device) == "cpu":
        return "opencv", "cpu"
    device = resolve_device(config.device)
    return ("torch", str(device)) if device.type == "cuda" else ("opencv", "cpu")


def animate(face_rgb: np.ndarray, config: AnimateConfig, *, points: Optional[np.ndarray] = None,
            motion_model: Any = None, progress: Optional[Callable[..., None]] = None,
            where: str = "the image") -> AnimationResult:
    """Animate `face_rgb` (uint8 [H, W, 3]) with `config.expr`.

    points: [68, 2] landmarks of the face in `face_rgb` pixels (detected when None; NoFaceError
    when there is none). motion_model: an object with .generate(l0, expr, MotionConfig) ->
    [T, 68, 2] (e.g. from emoget_cli.motion.load_motion_model); default the FACS library.
    progress(done, total) is called once per rendered frame.
    """
    from ..motion import parse_expression
    from .draw_style import draw_style
    from .effects import composite, draw_effects
    from .fill import paint_face
    from .warp import FaceWarper

    rgb = np.asarray(face_rgb)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
        raise UsageError(f"expected a uint8 RGB image [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
    rgb = np.ascontiguousarray(rgb[..., :3])
    if motion_model is None:
        parse_expression(config.expr)  # fail fast, before the slow steps, listing valid names
    if points is None:
        from ..face import detect_faces

        points = detect_faces(rgb, backend=config.landmarks, device=config.device, where=where)[0].points
    points = np.asarray(points, dtype=np.float32)
    if points.shape != (68, 2) or not np.all(np.isfinite(points)):
        raise UsageError(f"landmarks must be 68 finite (x, y) points, got shape {list(points.shape)}")
    problem = check_face_fits(points, (rgb.shape[1], rgb.shape[0]))
    if problem is not None:
        raise UsageError(f"{where}: {problem}")
    alpha = None
    if config.background == "transparent":
        from .matting import head_alpha

        alpha = head_alpha(rgb, points)  # on the full-resolution picture
        if config.trim:
            rgb, alpha, points = trim_to_head(rgb, alpha, points)
    if config.output_size is not None:
        if alpha is None:
            rgb, points = fit_to_size(rgb, points, config.output_size)
        else:
            rgb, points, alpha = fit_to_size(rgb, points, config.output_size, alpha)
    plan = plan_track(points, config, motion_model, (rgb.shape[1], rgb.shape[0]))
    motion = plan.points
    backend, device = _warp_backend(config)
    # the mouth interior, lids and features are painted here (render.fill), in the style's look
    warper = FaceWarper(rgb, points, backend=backend, device=device, alpha=alpha, fill=False)
    wanted, motion = motion, warper.limit_motion(motion)  # foldover-free, scaled alike in all frames
    drawn = expression_plan(config, motion, motion_model)
    look = draw_style(config.style)
    frames, alphas, limited = [], [], float(np.abs(motion - wanted).max())
    for i, dst in enumerate(motion):
        out = warper.render_frame(dst)
        rgb_i, alpha_i = out.rgb, out.alpha
        if config.fill:
            rgb_i = paint_face(rgb_i, warper.mesh.src[:N_POINTS], out.mesh[:N_POINTS], look,
                               drawn.units_at(i), source_rgb=rgb)
        if drawn.effects:  # after the warp and the matte, on their own layer: kept by transparency
            matte = None if alpha_i is None else alpha_i.astype(np.float32) / 255.0
            layer = draw_effects(out.mesh[:N_POINTS], i / len(motion), float(drawn.presence[i]),
                                 drawn.effects, look, rgb_i.shape[:2], matte)
            rgb_i, alpha_i = composite(rgb_i, alpha_i, layer)
        frames.append(rgb_i)
        if alpha_i is not None:
            alphas.append(alpha_i)
        limited = max(limited, float(np.abs(out.mesh[:N_POINTS] - wanted[i]).max()))
        if progress is not None:
            progress(i + 1, len(motion))
    height, width = rgb.shape[:2]
    label = str(parse_expression(config.expr)) if motion_model is None else config.expr
    meta = {"generator": "motion-model" if motion_model is not None else "facs",
            "intensity": float(config.intensity), "head": plan.head, "seed": int(config.seed),
            "warp_backend": backend, "max_limited_px": round(limited, 3),
            "effects": list(drawn.effects)}
    track = LandmarkTrack.from_points(motion, (width, height), fps=float(config.fps),
                                      label=label, meta=meta, photo_units=dict(plan.photo_units))
    return AnimationResult(frames=frames, alpha=alphas if alpha is not None else None,
                           track=track, meta=meta)
