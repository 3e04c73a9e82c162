"""`emoget make`: align → style → landmarks → motion → warp → export, in memory.

    from emoget_cli.pipeline import MakeConfig, make
    results = make([Path("selfie.jpg")], MakeConfig(style="baby", expressions=("surprise",),
                                                     output=Path("out.gif"),
                                                     animation=AnimationSpec(frames=24)))

`MakeConfig` is validated (`validate`) before anything heavy loads. `make` never raises for a
per-input failure: each input gets a `MakeResult` (ok or its one-line error and exit code), and
nothing is left half-written for a failed input. Configuration errors raise before any work.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .core.device import resolve_device_name
from .core.errors import EmogetError, InputError, OutputError, UsageError
from .core.animation_spec import AnimationSpec
from .core.choices import (DEFAULT_EXPRESSION, DEFAULT_STYLE, FORMAT_SUFFIXES, PACK_EXPRESSIONS,
                           SUFFIX_FORMATS)

SAMPLE_FACE = Path(__file__).resolve().parent / "assets" / "sample_face.jpg"
#: Output side when neither --size nor a preset says (the aligned face's side).
DEFAULT_SIZE = 256

ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class MakeConfig:
    """Everything `make` needs; paths are resolved by the caller.

    output: a file (one input, one expression) or a folder (batch, --pack; created). A string
    ending in a path separator ("stickers/") always names a folder: `Path` drops the slash, so
    the intent is kept in `output_is_folder`.
    animation: frames, fps, duration, size, intensity, head, background, effects
    (core.animation_spec, validated there; `animate` takes the same). A dict is accepted. Its
    size is the output (width, height): the face is aligned at the larger side, then cropped to
    the aspect; None = the preset's side (so a 512-pixel sticker is rendered at 512, not
    upscaled), else DEFAULT_SIZE. strength: classic style, None = the style's default (0..1,
    default 1; caricature styles: the factor, 0..3, 1.6). seed: style and motion.
    """

    output: Path
    style: str = DEFAULT_STYLE
    engine: str = "auto"
    expressions: tuple[str, ...] = (DEFAULT_EXPRESSION,)
    animation: AnimationSpec = AnimationSpec()
    preset: Optional[str] = None
    fmt: Optional[str] = None
    strength: Optional[float] = None
    generator: Optional[Path] = None
    base_generator: Optional[Path] = None
    class_name: Optional[str] = None
    invert_steps: Optional[int] = None
    motion_model: Optional[Path] = None
    landmark_backend: str = "auto"
    device: str = "auto"
    seed: int = 0
    keep_intermediate: Optional[Path] = None
    pack: bool = False
    jobs: int = 1
    ray: Optional[str] = None
    gpus_per_worker: float = 0.0
    output_is_folder: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.output, str) and self.output.endswith(("/", os.sep)):
            object.__setattr__(self, "output_is_folder", True)
        # accept plain strings / lists (JSON, YAML) for the path and tuple fields
        for name in ("output", "generator", "base_generator", "motion_model", "keep_intermediate"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if isinstance(self.animation, dict):
            object.__setattr__(self, "animation", AnimationSpec.from_mapping(self.animation))
        elif not isinstance(self.animation, AnimationSpec):
            raise UsageError(f"animation must be an AnimationSpec, got {type(self.animation).__name__}")
        if isinstance(self.expressions, str):
            object.__setattr__(self, "expressions", (self.expressions,))
        elif not isinstance(self.expressions, tuple):
            object.__setattr__(self, "expressions", tuple(self.expressions))
        if self.animation.background is None:  # the platform decides: LINE wants transparency
            wants = self.platform is not None and self.platform.transparent
            object.__setattr__(self, "animation", dataclasses.replace(
                self.animation, background="transparent" if wants else "keep"))

    @property
    def platform(self):
        """The preset object (render.presets.Preset), or None."""
        if self.preset is None:
            return None
        from .render.presets import get_preset

        return get_preset(self.preset)

    @property
    def transparent(self) -> bool:
        """Whether the head is cut out (asked for, --sticker, or the preset's platform)."""
        return self.animation.background == "transparent"

    @property
    def align_size(self) -> int:
        """Side of the aligned (and styled) face: the larger side of the output."""
        if self.animation.size is not None:
            return max(self.animation.size)
        if self.preset is not None:
            from .render.export import get_preset

            pre = get_preset(self.preset)
            return int(min(512, pre.width, pre.height))
        return DEFAULT_SIZE

    def validate(self, n_inputs: int = 1) -> None:
        """UsageError for any bad option; cheap (no model loads)."""
        from .core.atomic import check_name

        check_name(self.output)  # before any stat of it (ENAMETOOLONG)
        from .motion.expressions import parse_expression
        from .style import resolve_style

        if not self.expressions:
            raise UsageError("give at least one --expr")
        for expr in self.expressions:
            parse_expression(expr)
        if self.strength is not None and not (math.isfinite(self.strength)
                                               and self.strength >= 0):
            raise UsageError(f"--strength must be a number >= 0, got {self.strength}")
        if not 1 <= self.jobs <= 64:
            raise UsageError(f"--jobs must be in 1..64, got {self.jobs}")
        if self.ray is not None and self.jobs > 1:
            raise UsageError("--ray and --jobs exclude each other: Ray sizes its own worker pool")
        if not (math.isfinite(self.gpus_per_worker) and 0 <= self.gpus_per_worker <= 8):
            raise UsageError(f"--gpus-per-worker must be in 0..8, got {self.gpus_per_worker}")
        if self.gpus_per_worker and self.ray is None:
            raise UsageError("--gpus-per-worker needs --ray")
        if self.ray is not None:
            import importlib.util

            if not self.ray.strip():
                raise UsageError("--ray: give local, auto or HOST:PORT (or --ray alone)")
            if importlib.util.find_spec("ray") is None:
                from .core.errors import DependencyError

                raise DependencyError("--ray needs Ray: pip install -e \".[ray]\" (it leaves "
                                      "torch as it is)")
        if self.fmt is not None and self.fmt not in FORMAT_SUFFIXES:
            raise UsageError(f"--format must be one of {', '.join(FORMAT_SUFFIXES)}, got {self.fmt!r}")
        if self.preset is not None:
            from .render.export import get_preset

            get_preset(self.preset)
            if self.pack:
                from .pack.writer import check_pack_expressions

                check_pack_expressions(self.pack_expressions(), self.platform)
        if self.motion_model is not None and not Path(self.motion_model).is_file():
            raise UsageError(f"--motion {self.motion_model}: no such file")
        from .style import check_strength

        resolved = resolve_style(self.style, self.engine, generator=self.generator,
                                 base=self.base_generator, class_name=self.class_name,
                                 invert_steps=self.invert_steps)
        check_strength(resolved, self.strength)
        if resolved.engine == "classic":  # said but silently ignored would mislead
            for option, value in (("--class", self.class_name), ("--invert-steps", self.invert_steps),
                                  ("--base", self.base_generator)):
                if value is not None:
                    raise UsageError(f"{option} applies to the gan engine only; style "
                                     f"{resolved.name!r} runs on the classic engine")
        from .core.device import check_device_available

        check_device_available(self.device)
        if self.keep_intermediate is not None and self.keep_intermediate.exists() \
                and not self.keep_intermediate.is_dir():
            raise UsageError(f"--keep-intermediate {self.keep_intermediate} must be a folder")
        self.animation.check_format(_out_format(self))
        if self.writes_folder(n_inputs):
            why = ("--pack" if self.pack else "several inputs" if n_inputs > 1
                   else "several --expr" if len(self.expressions) > 1 else None)
            if self.output.exists() and not self.output.is_dir():
                if why is None:  # only the trailing '/' asked for a folder
                    raise UsageError(f"-o {self.output}/ names a folder, but {self.output} is a file")
                raise UsageError(f"-o {self.output} must be a folder for {why}")
            if why is not None and not self.output.exists() and not self.output_is_folder \
                    and self.output.suffix.lower() in {*SUFFIX_FORMATS, ".zip", ".jpg", ".jpeg"}:
                # a folder named like a file (stickers.gif/) is never what was meant
                raise UsageError(f"-o {self.output} looks like a file name, but {why} writes a "
                                 f"folder; give a folder (e.g. -o {self.output.with_suffix('')}/)")
        else:
            if self.output.is_dir():
                return
            if self.output.suffix.lower() not in SUFFIX_FORMATS and self.fmt is None and self.preset is None:
                raise UsageError(f"-o {self.output}: unknown animation format "
                                 f"{self.output.suffix or '(no suffix)'!r} (use .gif, .png (APNG), "
                                 ".webp, .webm or .mp4, or --format)")

    def writes_folder(self, n_inputs: int) -> bool:
        return self.pack or n_inputs > 1 or len(self.expressions) > 1 or self.output.is_dir() \
            or self.output_is_folder

    def pack_expressions(self) -> tuple[str, ...]:
        """The expressions to render: one --expr with --pack lets the pack choose (the classic
        seven, or the largest set the preset's platform accepts: pack.choose_pack_expressions)."""
        if self.pack and len(self.expressions) == 1:
            from .pack import choose_pack_expressions

            return choose_pack_expressions(self.platform)
        return self.expressions


@dataclass
class MakeResult:
    """One input's outcome. outputs: animation files written; error/exit_code when it failed."""

    input: str
    ok: bool
    outputs: list[str] = field(default_factory=list)
    error: Optional[str] = None
    exit_code: int = 0
    skipped: bool = False  # a rerun found this input's outputs complete (batch resume)
    style: str = ""
    engine: str = ""
    landmarks: str = ""
    expressions: list[str] = field(default_factory=list)
    n_frames: int = 0
    bytes: int = 0
    sheet: Optional[str] = None
    zip: Optional[str] = None
    manifest: Optional[str] = None
    intermediate: Optional[str] = None
    adjustments: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------------------- inputs/names --

def expand_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Files as given; folders → their image files (sorted, not recursive)."""
    from .core.image_io import IMAGE_SUFFIXES

    out: list[Path] = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES
                           and not q.name.startswith("."))
            if not found:
                raise UsageError(f"{p}: folder has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            out.extend(found)
        else:
            out.append(p)  # missing files fail per input, with the others still processed
    if not out:
        raise UsageError("no input images given (or use --sample)")
    return out


def _out_format(config: MakeConfig) -> str:
    if config.fmt:
        return config.fmt
    if config.preset:
        from .render.export import get_preset

        return get_preset(config.preset).format
    if not config.output.is_dir() and config.output.suffix.lower() in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[config.output.suffix.lower()]
    return "gif"


def output_paths(src: Path, config: MakeConfig, n_inputs: int) -> dict[str, Path]:
    """Animation path per expression for one input."""
    exprs = config.pack_expressions()
    if not config.writes_folder(n_inputs):
        return {exprs[0]: config.output}
    suffix = FORMAT_SUFFIXES[_out_format(config)][0]
    stem = src.stem
    if len(exprs) == 1 and not config.pack:
        return {exprs[0]: config.output / f"{stem}{suffix}"}
    return {e: config.output / f"{stem}-{_slug(e)}{suffix}" for e in exprs}


def pack_paths(src: Path, config: MakeConfig) -> tuple[Path, Path]:
    """(contact sheet PNG, zip) of one input's --pack."""
    return (config.output / f"{src.stem}-sheet.png",
            config.output / f"{src.stem}-{config.preset or 'pack'}.zip")


def _all_targets(src: Path, config: MakeConfig, n_inputs: int) -> list[Path]:
    targets = list(output_paths(src, config, n_inputs).values())
    return targets + list(pack_paths(src, config)) if config.pack else targets


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


# ----------------------------------------------------------------------------------- stages --

@dataclass
class FaceStage:
    """The aligned input face. rgb uint8 [S, S, 3]; points [68, 2] aligned pixels."""

    rgb: np.ndarray
    points: np.ndarray
    aligned: Any
    source_points: np.ndarray
    image_size: tuple[int, int]


def stage_face(path: Path, config: MakeConfig, timer: dict[str, float]) -> FaceStage:
    from .core.image_io import read_image
    from .face import align_face, detect_faces

    t = time.perf_counter()
    loaded = read_image(path)
    timer["read"] = time.perf_counter() - t
    t = time.perf_counter()
    face = detect_faces(loaded.rgb, backend=config.landmark_backend,
                        device=resolve_device_name(config.device), where=str(path))[0]
    timer["detect"] = time.perf_counter() - t
    t = time.perf_counter()
    aligned_rgb, aligned = align_face(loaded.rgb, face.points, size=config.align_size,
                                      zoom=sticker_zoom(config),
                                      sharp_photo=config.transparent)
    timer["align"] = time.perf_counter() - t
    return FaceStage(aligned_rgb, aligned.points, aligned, face.points, loaded.size)


def stage_style(face: FaceStage, config: MakeConfig, timer: dict[str, float], warn=None):
    from .style import resolve_style, stylize

    t = time.perf_counter()
    resolved = resolve_style(config.style, config.engine, generator=config.generator,
                             base=config.base_generator, class_name=config.class_name,
                             invert_steps=config.invert_steps)
    result = stylize(face.rgb, face.points, config.style, resolved=resolved,
                     strength=config.strength, device=resolve_device_name(config.device), seed=config.seed,
                     warn=warn)
    timer["style"] = time.perf_counter() - t
    return result


#: How much wider than the FFHQ square a cut-out is aligned: all of the hair and room for the
#: die-cut border and the head's motion (the cut-out is then trimmed to the head).
STICKER_ZOOM = 1.35


def sticker_zoom(config: MakeConfig) -> float:
    """STICKER_ZOOM for a classic-engine cut-out; 1 otherwise (GAN generators need FFHQ's
    framing, and a kept background keeps today's framing)."""
    if not config.transparent:
        return 1.0
    from .style import resolve_style

    resolved = resolve_style(config.style, config.engine, generator=config.generator,
                             base=config.base_generator, class_name=config.class_name,
                             invert_steps=config.invert_steps)
    return STICKER_ZOOM if resolved.engine == "classic" else 1.0


def stage_animate(styled, expr: str, path: Path, config: MakeConfig, timer: dict[str, float],
                  motion_model=None, picture: Optional[np.ndarray] = None):
    """The styled face and its known landmarks (no detection) through the one animation path
    (emoget_cli.animation, as `emoget animate`): (AnimationResult, ExportReport). A cut-out is
    trimmed to the head, then sized to the output (the face was aligned with room around it).
    picture: which aligned pixels show the photo (face_picture), so padding is not cut out;
    a style that drew its head (styled.matte) is cut along that head."""
    from .animation import animate_to_file

    spec = config.animation
    if config.transparent and spec.size is None:
        spec = dataclasses.replace(spec, size=(config.align_size, config.align_size))
    return animate_to_file(
        styled.image, expr, spec, path, fmt=config.fmt, preset=config.preset,
        timer=timer, points=styled.points, motion_model=motion_model, seed=config.seed,
        style=config.style, device=resolve_device_name(config.device),
        trim=config.transparent, picture=picture if config.transparent else None,
        matte=styled.matte if config.transparent else None)


def face_picture(face: FaceStage) -> np.ndarray:
    """float32 [S, S]: 1 where the aligned face shows the photo, 0 where alignment padded."""
    from .face import picture_mask

    return picture_mask(face.aligned, face.image_size)


# -------------------------------------------------------------------------------- artifacts --

def write_intermediate(folder: Path, src: Path, face: FaceStage, styled,
                       tracks: dict[str, Any], config: MakeConfig) -> Path:
    """aligned.png + aligned.landmarks.json, styled.png + styled.landmarks.json,
    motion-<expr>.landmarks.json, latent.pt (gan engine), make.json (the resolved config).

    All or nothing (core.atomic.all_or_nothing): on failure nothing is left (the folder too,
    when this call created it) and an OutputError is raised.
    """
    from .core.atomic import all_or_nothing, write_text_atomic
    from .core.image_io import write_image
    from .core.track import FaceLandmarks, LandmarkTrack, TrackFrame, save_track

    created = not folder.exists()

    def out(name: str) -> Path:
        return folder / name

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with all_or_nothing():
            write_image(out("aligned.png"), face.rgb)
            aligned = dataclasses.replace(face.aligned, image="aligned.png")
            save_track(LandmarkTrack(image_size=face.image_size, frames=[TrackFrame(0, [FaceLandmarks(
                face.source_points)])], source=str(src), aligned=aligned, meta={"stage": "align"}),
                out("aligned.landmarks.json"))
            write_image(out("styled.png"), styled.image)
            h, w = styled.image.shape[:2]
            save_track(LandmarkTrack.from_points(styled.points, (w, h), source="styled.png",
                                                 meta={"stage": "style", "style": styled.style,
                                                       "engine": styled.engine,
                                                       "landmarks": styled.landmarks}),
                       out("styled.landmarks.json"))
            for expr, track in tracks.items():
                save_track(track, out(f"motion-{_slug(expr)}.landmarks.json"))
            if styled.latent is not None:
                from .core.latent import save_latent

                save_latent(styled.latent, out("latent.pt"))
            info = {k: (str(v) if isinstance(v, Path) else v)
                    for k, v in dataclasses.asdict(config).items()}
            info.update(input=str(src), style_meta=styled.meta)
            write_text_atomic(out("make.json"), json.dumps(info, indent=2, default=str))
    except BaseException as exc:
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, (EmogetError, KeyboardInterrupt)) or not isinstance(exc, OSError):
            raise
        raise OutputError(f"cannot write --keep-intermediate {folder}: "
                          f"{exc.strerror or exc}") from None
    return folder


def contact_sheet(tiles: list[tuple[str, np.ndarray]], *, cols: int = 4) -> np.ndarray:
    """Grid of labelled frames (uint8 [H, W, 3] each, same size) → uint8 RGB sheet."""
    import cv2

    h, w = tiles[0][1].shape[:2]
    label_h = max(18, h // 9)
    cols = min(cols, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    sheet = np.full((rows * (h + label_h), cols * w, 3), 255, np.uint8)
    for i, (label, img) in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = r * (h + label_h), c * w
        sheet[y:y + h, x:x + w] = img[..., :3]
        scale = label_h / 36
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(sheet, label, (x + max(2, (w - tw) // 2), y + h + (label_h + th) // 2),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 1, cv2.LINE_AA)
    return sheet


def apex_index(anim) -> int:
    """Index of the frame farthest (in landmarks) from the neutral frame 0."""
    pts = anim.track.points_array()
    return int(np.linalg.norm(pts - pts[0], axis=2).mean(1).argmax())


def apex_frame(anim) -> np.ndarray:
    """The frame farthest (in landmarks) from the neutral frame 0."""
    return anim.frames[apex_index(anim)]


def write_zip(path: Path, files: list[Path]) -> Path:
    """A stored zip of `files` (each under its own name), read from where each is staged when
    the zip is written inside the same all_or_nothing block."""
    from .core.atomic import staged_path, write_bytes_atomic

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for f in files:
            zf.write(staged_path(f), arcname=Path(f).name)
    return write_bytes_atomic(path, buf.getvalue())


# ------------------------------------------------------------------------------------- make --

def process_one(src: Path, config: MakeConfig, n_inputs: int, warn=None,
                debug: bool = False) -> MakeResult:
    """The whole chain for one input; never raises for a user-facing error.

    debug: let unexpected exceptions (bugs) propagate instead of reporting them.
    """
    from .core.atomic import all_or_nothing

    start = time.perf_counter()
    timer: dict[str, float] = {}
    written: list[Path] = []
    result = MakeResult(input=str(src), ok=False, style=config.style)
    try:
        # one input's outputs (its emoticons, a pack's sheet and zip) appear together or not at all
        with all_or_nothing():
            targets = output_paths(src, config, n_inputs)
            for target in _all_targets(src, config, n_inputs):
                if target.is_dir():  # fail before the work, not after it
                    raise OutputError(f"cannot write {target}: it is a folder")
            face = stage_face(src, config, timer)
            styled = stage_style(face, config, timer, warn=warn)
            result.style, result.engine, result.landmarks = styled.style, styled.engine, styled.landmarks
            motion_model = None
            if config.motion_model is not None:
                from .motion import load_motion_model

                motion_model = load_motion_model(config.motion_model)
            tracks, tiles = {}, []
            picture = face_picture(face) if config.transparent else None
            for expr, path in targets.items():
                anim, report = stage_animate(styled, expr, path, config, timer, motion_model,
                                             picture)
                written.append(Path(report.path))
                tracks[expr] = anim.track
                from .animation import export_frames

                # the apex as written (cut-out, die-cut border), for the contact sheet
                tiles.append((expr, export_frames(anim, config.animation, [apex_index(anim)])[0]))
                result.bytes += int(report.bytes)
                result.n_frames = int(report.n_frames)
                result.adjustments.extend(f"{expr}: {a}" for a in report.adjustments)
            result.expressions = list(targets)
            if config.pack and config.preset is not None:
                from .pack import finish_pack

                sheet, zpath = pack_paths(src, config)
                t = time.perf_counter()
                pack = finish_pack(config.output, src.stem,
                                   [(e, p, tile) for (e, p), (_, tile) in zip(targets.items(), tiles)],
                                   config.platform, sheet_path=sheet, zip_path=zpath,
                                   source=src.name, style=result.style)
                timer["pack"] = time.perf_counter() - t
                written += pack.images
                result.sheet, result.zip = str(pack.sheet), str(pack.zip)
                result.manifest = str(pack.manifest)
            elif config.pack:
                from .core.image_io import write_image
                from .pack.writer import over_checkerboard

                sheet, zpath = pack_paths(src, config)
                write_image(sheet, contact_sheet([(e, over_checkerboard(t)) for e, t in tiles]))
                written.append(sheet)
                write_zip(zpath, [p for p in written if p != sheet])
                written.append(zpath)
                result.sheet, result.zip = str(sheet), str(zpath)
            if config.keep_intermediate is not None:
                folder = config.keep_intermediate / src.stem if n_inputs > 1 else config.keep_intermediate
                t = time.perf_counter()
                result.intermediate = str(write_intermediate(folder, src, face, styled, tracks, config))
                timer["intermediate"] = time.perf_counter() - t
            result.outputs = [str(p) for p in written if str(p) not in (result.sheet, result.zip)]
        result.ok = True
    except EmogetError as exc:
        result.error, result.exit_code = str(exc), exc.exit_code
    except MemoryError:
        result.error, result.exit_code = f"{src}: out of memory", 1
    except Exception as exc:  # a bug: report it for this input and go on with the others
        if debug or os.environ.get("EMOGET_DEBUG"):
            raise
        result.error, result.exit_code = f"internal error: {type(exc).__name__}: {exc}", 1
    result.stages = {k: round(v, 4) for k, v in timer.items()}
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def make(inputs: Sequence[Path], config: MakeConfig, progress: Optional[ProgressFn] = None,
         warn: Optional[Callable[[str], None]] = None, debug: bool = False) -> list[MakeResult]:
    """Run the chain on every input (folders expanded); results in input order.

    config is validated first (UsageError). With jobs > 1 each input runs in its own worker
    process (spawned: safe with torch/dlib state), with config.ray on a Ray cluster; one crashing
    input cannot take others down. A folder output resumes: see `batch`.
    debug: a bug (unexpected exception) propagates with its traceback instead of becoming the
    input's error.
    """
    files = expand_inputs(inputs)
    config.validate(len(files))
    check_targets(files, config)
    if config.writes_folder(len(files)):
        try:
            config.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create folder {config.output}: {exc.strerror or exc}") from None
    from .batch import run_batch

    return run_batch(files, config, progress=progress, debug=debug, warn=warn)


def check_targets(files: list[Path], config: MakeConfig) -> None:
    """No output may replace an input (the selfie itself); two inputs with the same stem would
    overwrite each other's outputs in one folder."""
    from .core.atomic import check_output

    inputs = [*files, *(p for p in (config.generator, config.base_generator, config.motion_model)
                        if p is not None)]
    for f in files:
        for target in _all_targets(f, config, len(files)):
            check_output(target, inputs)
    if not config.writes_folder(len(files)):
        return
    seen: dict[str, Path] = {}
    for f in files:
        if f.stem in seen and seen[f.stem] != f:
            raise UsageError(f"inputs {seen[f.stem]} and {f} have the same name: their outputs "
                             "would collide in the output folder")
        seen[f.stem] = f


def sample_input() -> Path:
    if not SAMPLE_FACE.is_file():
        raise InputError(f"the bundled sample portrait {SAMPLE_FACE} is missing from this install")
    return SAMPLE_FACE
