"""One face + one expression + an `AnimationSpec` → frames → a file: the path both `emoget make`
(once per expression, on the styled face) and `emoget animate` (on the face it is given) take.

    from emoget_cli.animation import animate_to_file
    result, report = animate_to_file(face_rgb, "surprise", AnimationSpec(frames=24), Path("s.gif"))

The stages, in order, and who does each:
  landmarks    given, or detected (face/)           checked to fit the picture (render/animate)
  matte, trim  background transparent only            render/matting, render/animate
  crop/resize  to spec.size                            render/animate.fit_to_size
  motion       the FACS library or a learned model     motion/
  drawn        effects and unit activity per frame     expression_plan (render/effects, fill draw)
  frames       foldover-free warp + mouth/eye fill     render/animate.render_frames
  file         GIF / APNG / WebP / WebM / MP4          render/export
`render/` only renders: it never detects faces nor generates motion.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .core.animation_spec import AnimationSpec
from .core.errors import UsageError
from .core.ibug68 import CHIN, N_POINTS
from .render.animate import (AnimationResult, ExpressionPlan, check_face_fits, fit_to_size,
                             render_frames, trim_to_head)

ProgressFn = Callable[[int, int], None]


def check_output(spec: AnimationSpec, output: Path, fmt: Optional[str] = None,
                 preset: Optional[str] = None) -> str:
    """The output format for `output` (UsageError for a bad name, suffix or a format that cannot
    hold the spec's alpha); cheap, so commands call it before any slow step."""
    from .render.export import resolve_format

    out_fmt, _ = resolve_format(output, fmt, preset)
    spec.check_format(out_fmt)
    return out_fmt


#: The chin may use this share of the room between it and the picture's edge (the rest keeps
#: the skin above the fixed border from being squashed).
CHIN_ROOM_SHARE = 0.75


def chin_room(points: np.ndarray, image_size: tuple[int, int]) -> float:
    """How far (IOD) the chin of points [68, 2] may drop, straight down the face, before the
    edge of a (width, height) picture (times CHIN_ROOM_SHARE)."""
    from .motion.geometry import FaceFrame

    frame = FaceFrame.of(points)
    down = -frame.up                                       # pixels per unit, toward the neck
    chin = np.asarray(points, np.float64)[CHIN]
    width, height = image_size
    reach = []
    for axis, size in ((0, width), (1, height)):
        if down[axis] > 1e-6:
            reach.append((size - 1 - chin[axis]) / down[axis])
        elif down[axis] < -1e-6:
            reach.append(-chin[axis] / down[axis])
    return CHIN_ROOM_SHARE * max(min(reach, default=1e9), 0.0) / frame.iod


def plan_track(points: np.ndarray, expr: str, spec: AnimationSpec, motion_model: Any = None,
               seed: int = 0, image_size: Optional[tuple[int, int]] = None):
    """The motion for `points` [68, 2]: a motion.MotionPlan (the FACS library, or `motion_model`:
    an object with .plan(...) -> MotionPlan or .generate(points, expr, MotionConfig) ->
    [T, 68, 2]), its points checked to be [T, 68, 2] and finite. seed varies the timing;
    image_size (width, height) keeps the jaw's drop inside the picture."""
    from dataclasses import replace

    from .motion import MotionConfig
    from .motion.generate import MotionPlan, plan_motion

    config = MotionConfig(frames=spec.n_frames, fps=float(spec.fps),
                          intensity=float(spec.intensity), head=spec.head, seed=int(seed),
                          chin_room=chin_room(points, image_size) if image_size else None)
    if motion_model is None:
        plan = plan_motion(points, expr, config)
    elif hasattr(motion_model, "plan"):
        plan = motion_model.plan(points, expr, config)
    else:
        plan = MotionPlan(motion_model.generate(points, expr, config), {}, config.head, (),
                          np.zeros(spec.n_frames))
    return replace(plan, points=_checked_motion(plan.points, spec.n_frames))


def _checked_motion(motion: Any, frames: int) -> np.ndarray:
    arr = np.asarray(motion, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1:] != (N_POINTS, 2) or arr.shape[0] < 2:
        raise UsageError(f"the motion model returned shape {list(arr.shape)}, expected "
                         f"[{frames}, {N_POINTS}, 2]")
    if not np.all(np.isfinite(arr)):
        raise UsageError("the motion model returned NaN or infinite landmarks")
    return arr


def expression_plan(expr: str, spec: AnimationSpec, motion: np.ndarray, motion_model: Any = None,
                    seed: int = 0) -> ExpressionPlan:
    """What render_frames draws over the warp of motion [T, 68, 2]: the effects spec.effects
    asks for with `expr`, how far each frame is into the expression, and the units' activity.

    With the FACS library the presence is the strongest unit's activity in the frame; with a
    motion model, the landmarks' mean displacement from frame 0 relative to its largest. A loop
    without any expression motion (neutral + NAME) shows its effects throughout.
    """
    from .render.effects import parse_effects

    frames = len(motion)
    presence = np.zeros(frames)
    units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if motion_model is None:
        from .motion import parse_expression
        from .motion.expressions import expression_activity

        parsed = parse_expression(expr)
        names = parse_effects(spec.effects, parsed.names)
        units = expression_activity(parsed, frames, intensity=float(spec.intensity),
                                    seed=int(seed)).units
        for right, left in units.values():
            presence = np.maximum(presence, np.maximum(right, left))
    else:
        names = parse_effects(spec.effects, ())
        presence = np.linalg.norm(motion - motion[:1], axis=2).mean(1)
    if presence.max() < 1e-3:
        presence = np.ones(frames)
    presence = np.clip(presence / max(float(presence.max()), 1e-9), 0.0, 1.0)
    return ExpressionPlan(names, presence, units)


def animate_face(face_rgb: np.ndarray, expr: str, spec: AnimationSpec, *,
                 points: Optional[np.ndarray] = None, motion_model: Any = None,
                 seed: int = 0, landmark_backend: str = "auto", device: str = "cpu",
                 warp_backend: str = "auto", fill: bool = True, trim: bool = False,
                 style: str = "none", progress: Optional[ProgressFn] = None,
                 where: str = "the image",
                 picture: Optional[np.ndarray] = None,
                 matte: Optional[np.ndarray] = None) -> AnimationResult:
    """Animate `face_rgb` (uint8 [H, W, 3]) with `expr` ('surprise', 'happiness:0.5+wink').

    points: [68, 2] landmarks in `face_rgb` pixels; detected with `landmark_backend` when None
    (NoFaceError when there is no face). seed: varies the motion's timing (idle). trim (transparent background only): crop to a square
    around the cut-out head before spec.size applies, so a sticker made from a whole photo is
    the head. fill: synthesise the mouth interior and eyelids. style: the style the face was
    drawn in (the effects take its look: render.draw_style). progress(done, total) per frame.
    picture (transparent background only): float [H, W], 1 where face_rgb shows the photo and 0
    where alignment padded beyond its frame (face.picture_mask); the cut-out does not take the
    padding for the person. matte (transparent background only): float [H, W] in [0, 1] or
    uint8, the head the style drew (style.StyleResult.matte): the cut-out follows it instead
    of cutting the picture again (render.matting.cut_out_drawn_head).
    """
    from .motion import parse_expression

    rgb = np.asarray(face_rgb)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
        raise UsageError(f"expected a uint8 RGB image [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
    rgb = np.ascontiguousarray(rgb[..., :3])
    if not isinstance(expr, str) or not expr.strip():
        raise UsageError("no expression given (--expr, e.g. --expr surprise)")
    label = expr if motion_model is not None else str(parse_expression(expr))  # fail fast
    if points is None:
        from .face import detect_faces

        points = detect_faces(rgb, backend=landmark_backend, device=device, where=where)[0].points
    points = np.asarray(points, dtype=np.float32)
    if points.shape != (N_POINTS, 2) or not np.all(np.isfinite(points)):
        raise UsageError(f"landmarks must be {N_POINTS} finite (x, y) points, got shape "
                         f"{list(points.shape)}")
    problem = check_face_fits(points, (rgb.shape[1], rgb.shape[0]))
    if problem is not None:
        raise UsageError(f"{where}: {problem}")
    alpha = None
    if spec.background == "transparent":
        from .render.matting import cut_out_drawn_head, cut_out_head

        # on the full-resolution picture; the edge colours come back clean (decontaminated,
        # or the drawn head's own), and the warp moves the matte with the face, frame by frame
        if matte is not None:
            cut = cut_out_drawn_head(rgb, points, matte, spec.crop, picture=picture)
        else:
            cut = cut_out_head(rgb, points, spec.crop, picture=picture)
        rgb, alpha = cut.rgb, cut.alpha
        if trim:
            rgb, alpha, points = trim_to_head(rgb, alpha, points)
    if spec.size is not None:
        rgb, points, alpha = fit_to_size(rgb, points, spec.size, alpha)
    plan = plan_track(points, expr, spec, motion_model, seed, (rgb.shape[1], rgb.shape[0]))
    drawn = expression_plan(expr, spec, plan.points, motion_model, seed)
    meta = {"generator": "motion-model" if motion_model is not None else "facs",
            "intensity": float(spec.intensity), "head": plan.head, "seed": int(seed)}
    return render_frames(rgb, points, plan.points, alpha=alpha, fps=float(spec.fps), label=label,
                         meta=meta, photo_units=dict(plan.photo_units), backend=warp_backend, device=device, fill=fill,
                         drawn=drawn, look=style, progress=progress)


def export_frames(result: AnimationResult, spec: AnimationSpec,
                  indices: Optional[list[int]] = None) -> list[np.ndarray]:
    """The frames as written: RGB, or RGBA for a cut-out, with the die-cut border and shadow
    when spec.sticker (after the effects, so they get the border too). indices: only these."""
    frames = result.rgba_frames()
    if indices is not None:
        frames = [frames[i] for i in indices]
    if spec.sticker:
        from .render.sticker import die_cut

        frames = die_cut(frames)
    return frames


def animate_to_file(face_rgb: np.ndarray, expr: str, spec: AnimationSpec, output: Path, *,
                    fmt: Optional[str] = None, preset: Optional[str] = None,
                    timer: Optional[dict[str, float]] = None, **options: Any):
    """`animate_face` then export: (AnimationResult, render.export.ExportReport). The file is
    written atomically (nothing is left on failure). options: those of `animate_face`.
    timer: seconds spent are added to its "animate" and "export" entries."""
    from .render.export import export_animation

    timer = {} if timer is None else timer
    started = time.perf_counter()
    result = animate_face(face_rgb, expr, spec, **options)
    timer["animate"] = timer.get("animate", 0.0) + time.perf_counter() - started
    started = time.perf_counter()
    report = export_animation(export_frames(result, spec), output, fps=float(spec.fps),
                              fmt=fmt, preset=preset, loop=True)
    timer["export"] = timer.get("export", 0.0) + time.perf_counter() - started
    return result, report
