"""The `gan` style engine: the seed's method, as Toonify does it.

aligned photo → invert into the base generator (`gan.invert`, w+) → render that latent with the
style generator (a blend or a conditional model, `render_latent`) → landmarks of the styled face:
detected on it when the detector agrees with the photo's landmarks, else the photo's own
(coarse layers keep pose and face shape, so the photo's points are a sound fallback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..core.errors import NoFaceError
from ..core.ibug68 import inter_ocular_distance

#: detection is rejected when its points are on average farther than this × IOD from the photo's
DISAGREE_IOD = 0.25


def _iod(points: np.ndarray) -> float:
    return inter_ocular_distance(points)


def choose_landmarks(styled_rgb: np.ndarray, photo_points: np.ndarray, *,
                     detect: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                     max_disagreement: float = DISAGREE_IOD) -> tuple[np.ndarray, str, str]:
    """Landmarks [68, 2] for the styled face, its source ("detected" | "photo") and why.

    detect(rgb) -> [68, 2] raises NoFaceError when it finds nothing (default: face.detect_faces).
    """
    photo = np.asarray(photo_points, np.float32)
    if detect is None:
        from ..face import detect_faces

        def detect(rgb: np.ndarray) -> np.ndarray:
            return detect_faces(rgb)[0].points
    try:
        found = np.asarray(detect(styled_rgb), np.float32).reshape(68, 2)
    except NoFaceError:
        return photo.copy(), "photo", "no face detected on the styled image"
    err = float(np.linalg.norm(found - photo, axis=1).mean()) / max(_iod(photo), 1e-6)
    if not np.isfinite(err) or err > max_disagreement:
        return photo.copy(), "photo", (f"detected landmarks disagree with the photo's "
                                       f"({err:.2f} IOD > {max_disagreement})")
    return found, "detected", f"detected ({err:.2f} IOD from the photo's landmarks)"


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(rgb, (size, size), interpolation=interp)


#: generators loaded in this process, by (file identity, device): a batch worker (a --jobs
#: process or a Ray actor) loads each generator once, on its first input
_LOADED: dict[tuple, Any] = {}
_MAX_LOADED = 4

#: from this generator size on, a CPU inversion is announced and its duration estimated
CPU_SLOW_SIZE = 512
#: the estimate is made from the duration of steps 2..ESTIMATE_AFTER (step 1 includes set-up)
ESTIMATE_AFTER = 3


def _with_time_estimate(progress, warn, steps: int, size: int, device: str):
    """Wrap the inversion's progress callback: after ESTIMATE_AFTER steps on a CPU with a large
    generator, warn once with the measured seconds per step and the time left."""
    if warn is None or device != "cpu" or size < CPU_SLOW_SIZE or steps <= ESTIMATE_AFTER:
        return progress
    import time

    marks: dict[int, float] = {}

    def update(done, total, **fields):
        if done in (1, ESTIMATE_AFTER) and fields.get("phase", "invert") == "invert":
            marks[done] = time.perf_counter()
            if done == ESTIMATE_AFTER:
                per_step = (marks[ESTIMATE_AFTER] - marks[1]) / (ESTIMATE_AFTER - 1)
                left = per_step * (steps - ESTIMATE_AFTER)
                warn(f"estimated {left / 60:.1f} min more for this selfie's inversion "
                     f"({per_step:.1f} s per step × {steps - ESTIMATE_AFTER} steps at {size} px on "
                     "the CPU; fewer with --invert-steps)")
        if progress is not None:
            progress(done, total, **fields)

    return update


def _load_checked(path, sha256, what: str, device) -> Any:
    from ..gan import load_generator
    from ..weights import check_file

    if path is None or not Path(path).is_file():
        check_file(path, sha256, what)  # raises the one-line error for a missing file
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, sha256, str(device))
    if key not in _LOADED:
        check_file(path, sha256, what)
        if len(_LOADED) >= _MAX_LOADED:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = load_generator(path, device=device)
    return _LOADED[key]


def load_generators(spec, device, style: str = "") -> tuple[Any, Any]:
    """(base G to invert into, style G to render with), hashes checked first; cached per process
    (callers never modify them: PTI tunes a copy).

    style: the style's name, for error messages.
    """
    what = f"style {style!r}" if style else "style"
    style_g = _load_checked(spec.checkpoint, spec.sha256, f"{what} generator", device)
    if spec.base is None or spec.base == spec.checkpoint:
        return style_g, style_g
    return _load_checked(spec.base, spec.base_sha256, f"{what} base generator", device), style_g


def stylize_gan(aligned_rgb: np.ndarray, points: np.ndarray, spec, *, style: str,
                device: str = "cpu", seed: int = 0,
                progress: Optional[Callable[..., None]] = None,
                warn: Optional[Callable[[str], None]] = None,
                detect: Optional[Callable[[np.ndarray], np.ndarray]] = None):
    """aligned_rgb uint8 [H, W, 3], points [68, 2] → StyleResult of the same size (H = W)."""
    from ..core.device import resolve_device
    from ..gan.invert import InvertConfig, class_index, invert, render_latent, to_uint8
    from ..weights import sha256_file
    from . import StyleResult

    dev = resolve_device(device)
    base_g, style_g = load_generators(spec, dev, style)
    class_index(style_g, spec.class_name)  # a bad --class fails now, not after the inversion
    size = aligned_rgb.shape[0]
    res = int(base_g.size)
    target = _resize(aligned_rgb, res)
    # the mean-w estimate: rosinality's 10 000 samples on a GPU, fewer on a CPU (same mean to
    # ~1 %, a fraction of the time)
    config = InvertConfig(steps=spec.invert_steps, perceptual=spec.perceptual, seed=seed,
                          n_mean=10_000 if dev.type == "cuda" else 2048)
    config.validate()
    if dev.type == "cpu" and warn is not None and res >= CPU_SLOW_SIZE:
        warn(f"gan engine on the CPU with a {res}-px generator: {config.steps} inversion steps "
             "take minutes (a GPU: --device cuda takes seconds); an estimate follows the first steps")
    step_progress = _with_time_estimate(progress, warn, config.steps, res, dev.type)
    result = invert([target], base_g, config, progress=step_progress, warn=warn)
    latent = result.latent_files(sha256_file(spec.base or spec.checkpoint))[0]
    if result.pti and spec.base in (None, spec.checkpoint):
        style_g = result.generator  # PTI tuned the generator we also render with
    styled = to_uint8(render_latent(style_g, latent, class_name=spec.class_name))[0]
    styled = _resize(styled, size)
    pts, source, why = choose_landmarks(styled, points, detect=detect)
    meta = {"landmarks_reason": why, "invert_losses": latent.losses,
            "perceptual": result.perceptual, "generator": str(spec.checkpoint),
            "base": str(spec.base or spec.checkpoint), "class_name": spec.class_name}
    return StyleResult(np.ascontiguousarray(styled), pts, style, "gan", source, latent=latent,
                       meta=meta)
