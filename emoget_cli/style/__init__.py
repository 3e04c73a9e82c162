"""Face styles: the embedded `classic` engine and the `gan` engine, behind one call.

    from emoget_cli.style import stylize, resolve_style, list_styles
    result = stylize(aligned_rgb, points, "baby")            # StyleResult(image, points, ...)

Engine choice (`engine="auto"`): an explicit `generator` checkpoint → gan; a style whose registry
entry is a gan checkpoint → gan; a built-in classic style → classic. Importing this package is
cheap (numpy only); OpenCV, dlib and torch load inside the engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..core.errors import DependencyError, UsageError
from .classic import CLASSIC_STYLES, ClassicStyle, stylize_classic

from ..core.choices import DEFAULT_INVERT_STEPS, DEFAULT_STYLE
from ..core.choices import ENGINES as ENGINE_CHOICES


@dataclass(frozen=True)
class GanStyleSpec:
    """What the gan engine needs: the style generator, the base generator to invert into
    (None = the style generator itself), a class of a conditional generator, inversion steps."""

    checkpoint: Path
    sha256: Optional[str] = None
    base: Optional[Path] = None
    base_sha256: Optional[str] = None
    class_name: Optional[str] = None
    invert_steps: int = DEFAULT_INVERT_STEPS
    perceptual: str = "auto"


@dataclass(frozen=True)
class ResolvedStyle:
    """A style name bound to an engine; exactly one of `classic` / `gan` is set."""

    name: str
    engine: str
    classic: Optional[ClassicStyle] = None
    gan: Optional[GanStyleSpec] = None


@dataclass
class StyleResult:
    """image: uint8 [H, W, 3] styled face; points: float32 [68, 2] its landmarks.

    landmarks: where the points come from — "moved" (classic: the engine moved them),
    "detected" (gan: found on the styled face) or "photo" (gan: the aligned photo's, fallback).
    latent: the gan engine's inversion (core.latent.LatentFile), else None.
    matte: float32 [H, W] in [0, 1], the head the style drew (its painted head with the
    silhouette's ink, cut below the chin: docs/matting.md, "The style's own head"), which a
    transparent sticker is cut along; None when the style does not know its head (none,
    painting, caricature, the gan engine): the sticker is then cut from the picture
    (render.matting.cut_out_head).
    """

    image: np.ndarray
    points: np.ndarray
    style: str
    engine: str
    landmarks: str = "moved"
    latent: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    matte: Optional[np.ndarray] = None


def load_style_registry(paths=None):
    """weights.load_registry with the classic styles' descriptions (the one direction of the
    style → weights dependency: weights/ never imports style/)."""
    from ..weights import load_registry

    return load_registry(paths, {name: s.description for name, s in CLASSIC_STYLES.items()})


def list_styles(registry=None) -> list[dict[str, Any]]:
    """Every known style: name, engine, description, available."""
    reg = registry or load_style_registry()
    return [{"name": e.name, "engine": e.engine, "description": e.description,
             "available": e.available} for e in (reg.get(n) for n in reg.names())]


def resolve_style(style: str, engine: str = "auto", *, generator: Optional[Path] = None,
                  base: Optional[Path] = None, class_name: Optional[str] = None,
                  invert_steps: Optional[int] = None, registry=None) -> ResolvedStyle:
    """Bind `style` to an engine without loading anything heavy (UsageError/DependencyError).

    generator: a checkpoint that overrides the registry (forces the gan engine).
    base: with `generator`, the generator the photo is inverted into (Toonify: the photo
    model the style model was fine-tuned and blended from); default the generator itself.
    """
    if engine not in ENGINE_CHOICES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINE_CHOICES)}, got {engine!r}")
    if base is not None and generator is None:
        raise UsageError("--base needs --generator (registered styles name their base in the "
                         "registry)")
    if generator is not None:
        if engine == "classic":
            raise UsageError("--generator needs the gan engine (drop --engine classic)")
        path = Path(generator).expanduser()
        if not path.is_file():
            raise DependencyError(f"generator checkpoint {path} not found")
        base_path = None if base is None else Path(base).expanduser()
        if base_path is not None and not base_path.is_file():
            raise DependencyError(f"base generator checkpoint {base_path} not found")
        # the generator *is* the style: name it after its file in reports
        return ResolvedStyle(path.stem, "gan", gan=GanStyleSpec(
            checkpoint=path, base=base_path, class_name=class_name,
            invert_steps=invert_steps or DEFAULT_INVERT_STEPS))
    from ..core.choices import match_choice

    try:  # 'Baby' is baby: names match case-insensitively everywhere
        style = match_choice(style, CLASSIC_STYLES, "classic style")
    except UsageError:
        if engine == "classic":
            raise
    if engine == "classic" or (engine == "auto" and registry is None and style in CLASSIC_STYLES
                               and not _user_may_override(style)):
        return ResolvedStyle(style, "classic", classic=CLASSIC_STYLES[style])
    entry = (registry or load_style_registry()).get(style)
    if entry.engine == "classic":
        if engine == "gan":
            raise DependencyError(f"style {style!r} has no generator checkpoint for the gan engine "
                                  "(give --generator PATH or register one: `emoget weights add`)")
        return ResolvedStyle(style, "classic", classic=CLASSIC_STYLES[style])
    return ResolvedStyle(style, "gan", gan=GanStyleSpec(
        checkpoint=entry.checkpoint, sha256=entry.sha256, base=entry.base,
        base_sha256=entry.base_sha256, class_name=class_name or entry.class_name,
        invert_steps=invert_steps or entry.invert_steps or DEFAULT_INVERT_STEPS, perceptual=entry.perceptual))


def _user_may_override(style: str) -> bool:
    """A user registry may map a classic name to a gan checkpoint: only then read the YAML."""
    from ..weights import user_registry_path

    return user_registry_path().is_file()


#: The identity guard (docs/styles.md, "Identity guard"): a classic style drawn at its default
#: strength whose face is farther than IDENTITY_GUARD from the photo's (dlib face-recognition
#: distance; 0.6 is the "same person" threshold) is drawn again, lighter, step by step
#: (`guard_steps`), and the first drawing within the guard — or else the closest — is kept. The
#: styles were tuned on a few photos: a lighter or darker exposure of one of them crossed 0.6
#: (benchmarks/style_robustness.py). GUARD_STEPS: fractions of the strength (0.7–0.85 brought
#: the cartoon and the baby back to 0.50–0.57); GUARD_PAINT: the caricature styles' painting
#: strengths (their strength is the exaggeration, and a smaller one did not bring the likeness
#: back — the cartoon's rendering costs it: the lighter Obama's caricature-cartoon 0.619 at
#: k 1.6, 0.645 at k 1.36; painted at 0.7: 0.579, at 0.5: 0.533).
IDENTITY_GUARD = 0.57
GUARD_STEPS = (0.85, 0.7)
GUARD_PAINT = (0.7, 0.5)


def guard_steps(style: ClassicStyle, strength: float) -> list[tuple[float, Optional[float]]]:
    """The identity guard's redraws of `style` drawn at `strength`, in order: (strength, paint)
    pairs for `stylize_classic` (paint None: the style's own)."""
    if style.caricature:
        return [(strength, paint) for paint in GUARD_PAINT]
    return [(strength * fraction, None) for fraction in GUARD_STEPS]


def stylize(aligned_rgb: np.ndarray, points: np.ndarray, style: str = DEFAULT_STYLE,
            engine: str = "auto", *, strength: Optional[float] = None,
            generator: Optional[Path] = None,
            class_name: Optional[str] = None, invert_steps: Optional[int] = None,
            device: str = "cpu", seed: int = 0, resolved: Optional[ResolvedStyle] = None,
            progress: Optional[Callable[..., None]] = None,
            warn: Optional[Callable[[str], None]] = None) -> StyleResult:
    """Stylise an aligned face.

    aligned_rgb: uint8 [H, W, 3] (FFHQ-aligned); points: [68, 2] its landmarks in pixels;
    strength (classic engine): None = the style's default; 0..1 for most styles, the
    exaggeration factor (0..3, default 1.6) for the caricature styles (`check_strength`).
    Returns a StyleResult of the same size as the input.
    """
    res = resolved or resolve_style(style, engine, generator=generator, class_name=class_name,
                                    invert_steps=invert_steps)
    pts = np.asarray(points, np.float32).reshape(68, 2)
    if res.engine == "classic":
        s = check_strength(res, strength)
        drawing = stylize_classic(aligned_rgb, pts, res.classic, strength=s, seed=seed)
        meta: dict[str, Any] = {"strength": s}
        if strength is None and res.name != "none":  # an explicit --strength is the user's
            drawing, meta = _keep_identity(aligned_rgb, pts, res.classic, s, seed, drawing)
        image, moved, matte = drawing
        return StyleResult(image, moved, res.name, "classic", "moved", meta=meta, matte=matte)
    from .gan_engine import stylize_gan

    return stylize_gan(aligned_rgb, pts, res.gan, style=res.name, device=device, seed=seed,
                       progress=progress, warn=warn)


def _keep_identity(photo: np.ndarray, points: np.ndarray, style: ClassicStyle, strength: float,
                   seed: int, drawing: tuple
                   ) -> tuple[tuple, dict[str, Any]]:
    """The identity guard: (the drawing kept, meta). photo uint8 [H, W, 3] and points
    [68, 2] the aligned face; drawing: stylize_classic's (image, moved points, matte) at
    `strength`. meta: the strength (and for a caricature style the paint strength) drawn at
    and its identity distance. Without dlib's face-recognition model (or a face it cannot
    read) the drawing is kept as it is."""
    from ..core.errors import NoFaceError
    from ..face.identity import face_distance, face_embedding

    image, moved, _ = drawing
    try:
        reference = face_embedding(photo, points)
        best = (face_distance(reference, face_embedding(image, moved)), strength,
                1.0 if style.caricature else None, drawing)
        for s, paint in guard_steps(style, strength):
            if best[0] <= IDENTITY_GUARD:
                break
            again = stylize_classic(photo, points, style, strength=s, seed=seed, paint=paint)
            d = face_distance(reference, face_embedding(again[0], again[1]))
            if d < best[0]:
                best = (d, s, paint, again)
    except (DependencyError, NoFaceError, ImportError):
        return drawing, {"strength": strength}
    distance, s, paint, drawing = best
    meta: dict[str, Any] = {"strength": round(s, 4), "identity": round(distance, 4)}
    if paint is not None:
        meta["paint"] = paint
    return drawing, meta


def check_strength(resolved: ResolvedStyle, strength: Optional[float]) -> float:
    """The classic strength for `resolved` (its default for None); UsageError when outside its
    range. The gan engine ignores the strength (returned as given, or 1)."""
    if resolved.classic is None:
        return 1.0 if strength is None else float(strength)
    try:
        return resolved.classic.check_strength(strength)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


__all__ = ["CLASSIC_STYLES", "DEFAULT_STYLE", "check_strength", "ENGINE_CHOICES", "GanStyleSpec",
           "GUARD_PAINT", "GUARD_STEPS", "IDENTITY_GUARD", "ResolvedStyle", "guard_steps",
           "StyleResult", "list_styles", "resolve_style", "stylize"]
