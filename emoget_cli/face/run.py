"""`emoget landmarks` as a library call: inputs (images, videos, folders) → landmark tracks.

Output naming (documented in the CLI help and README):
- one input file: `output` is the track file (default `<stem>.landmarks.json` in the current
  folder; an existing folder receives `<stem>.landmarks.json`);
  `align` / `preview` are image files.
- several inputs or a folder: `output`, `align` and `preview` are folders, receiving
  `<stem>.landmarks.json`, `<stem>.png` and `<stem>.png` per image, keeping sub-folders of a
  folder input. Bad inputs (an empty folder among them) are reported and skipped; the rest are
  written. Every output path is checked before any work: no output may replace an input, and
  no two outputs may share a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .. import __version__
from ..core.errors import EmogetError, InputError, NoFaceError, UsageError
from ..core.image_io import IMAGE_SUFFIXES, read_image, write_image
from ..core.track import TRACK_SUFFIX, LandmarkTrack, TrackFrame, save_track
from .video import VIDEO_SUFFIXES, is_video

ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class LandmarksConfig:
    backend: str = "auto"        # auto | dlib | fan
    all_faces: bool = False      # every face instead of the largest
    device: str = "auto"         # auto | cpu | cuda (FAN only; dlib runs on the CPU)
    every: int = 1               # videos: keep every N-th frame
    size: int = 256              # side of the aligned image (--align)


@dataclass(frozen=True)
class LandmarksJob:
    """One input and where its outputs go."""

    source: Path
    track: Path
    align: Optional[Path] = None
    preview: Optional[Path] = None


@dataclass
class LandmarksOutcome:
    source: Path
    track: Optional[Path] = None
    frames: int = 0
    faces: int = 0                       # faces in the first frame that has any
    aligned: Optional[Path] = None
    preview: Optional[Path] = None
    error: Optional[str] = None
    exit_code: int = 0


@dataclass
class LandmarksReport:
    backend: str
    outcomes: list[LandmarksOutcome] = field(default_factory=list)
    multi: bool = False

    @property
    def failed(self) -> list[LandmarksOutcome]:
        return [o for o in self.outcomes if o.error]


# --------------------------------------------------------------------------- planning
def _expand(inputs: list[Path]) -> tuple[list[tuple[Path, Path]], list[tuple[Path, InputError]], bool]:
    """Files to process as [(file, relative name for outputs)], inputs refused up front as
    [(input, error)] (an empty folder), and whether this is a multi-output run.

    Files with an image or video suffix are collected from folders (hidden files and folders
    skipped); a dangling or looping symlink among them is kept so that it is reported, not
    silently dropped.
    """
    items: list[tuple[Path, Path]] = []
    refused: list[tuple[Path, InputError]] = []
    multi = len(inputs) > 1
    for inp in inputs:
        if inp.is_dir():
            multi = True
            found = sorted(p for p in inp.rglob("*")
                           if not any(part.startswith(".") for part in p.relative_to(inp).parts)
                           and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                           and (p.is_file() or (p.is_symlink() and not p.exists())))
            if not found:
                refused.append((inp, InputError(f"{inp}: the folder holds no images or videos")))
            items += [(p, p.relative_to(inp)) for p in found]
        else:
            items.append((inp, Path(inp.name)))
    return items, refused, multi


def _strip(rel: Path) -> Path:
    return rel.with_name(rel.name[: -len(rel.suffix)] if rel.suffix else rel.name)


def _check_image_suffix(path: Optional[Path], option: str) -> None:
    """UsageError before any detection when `path` has no suffix Pillow can write."""
    if path is None:
        return
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise UsageError(f"{option} {path}: give an image file name ending in .png, .jpg or .webp "
                         "(or an existing folder)")


def _check_targets(jobs: list[LandmarksJob]) -> None:
    """Refuse a plan that would overwrite one of its own inputs (e.g. --align photos/ when the
    input is photos/) or write two outputs to one file (--align and --preview the same folder)."""
    sources = {os.path.abspath(j.source) for j in jobs}
    written: set[str] = set()
    for job in jobs:
        for target in (job.track, job.align, job.preview):
            if target is None:
                continue
            key = os.path.abspath(target)
            if key in sources:
                raise UsageError(f"{target} is one of the inputs; writing there would replace it")
            if key in written:
                raise UsageError(f"{target} would be written twice (give --align and --preview "
                                 "different names or folders)")
            written.add(key)


def plan_jobs(inputs: list[Path], output: Optional[Path], align: Optional[Path] = None,
              preview: Optional[Path] = None
              ) -> tuple[list[LandmarksJob], list[tuple[Path, InputError]], bool]:
    """Decide every output path before any work starts.

    Returns (jobs, refused inputs [(input, error)], multi). UsageError on name collisions, on
    outputs that would overwrite an input, and on --align/--preview names that are not images.
    A single input that is refused (an empty folder) raises its InputError.
    """
    if not inputs:
        raise UsageError("give at least one image, video or folder")
    items, refused, multi = _expand([Path(p) for p in inputs])
    if not items and len(inputs) == 1:
        raise refused[0][1]
    jobs = []
    if not multi:
        src, rel = items[0]
        stem = _strip(rel)
        track = output if output is not None else Path(f"{stem}{TRACK_SUFFIX}")
        if output is not None and output.is_dir():
            track = output / f"{stem}{TRACK_SUFFIX}"
        al = align / f"{stem}.png" if align is not None and align.is_dir() else align
        pv = preview / f"{stem}.png" if preview is not None and preview.is_dir() else preview
        _check_image_suffix(al, "--align")
        _check_image_suffix(pv, "--preview")
        jobs = [LandmarksJob(src, track, al, pv)]
        _check_targets(jobs)
        return jobs, refused, False
    out_dir = output if output is not None else Path(".")
    if out_dir.is_file():
        raise UsageError(f"-o {out_dir}: several inputs need -o to be a folder, not a file")
    for option, folder in (("--align", align), ("--preview", preview)):
        if folder is not None and folder.is_file():
            raise UsageError(f"{option} {folder}: several inputs need a folder, not a file")
    seen: dict[Path, Path] = {}
    for src, rel in items:
        stem = _strip(rel)
        track = out_dir / f"{stem}{TRACK_SUFFIX}"
        if track in seen:
            raise UsageError(f"{seen[track]} and {src} would both write {track}; "
                             "rename one or run them separately")
        seen[track] = src
        jobs.append(LandmarksJob(src, track,
                                 align / f"{stem}.png" if align is not None else None,
                                 preview / f"{stem}.png" if preview is not None else None))
    _check_targets(jobs)
    return jobs, refused, True


# --------------------------------------------------------------------------- running
def _detect_image(job: LandmarksJob, config: LandmarksConfig):
    """(track of one frame, rgb uint8 [H, W, 3], faces largest first); NoFaceError naming the file."""
    from . import detect_faces

    loaded = read_image(job.source)
    faces = detect_faces(loaded.rgb, backend=config.backend, all_faces=config.all_faces,
                         device=config.device, where=str(job.source))
    track = LandmarkTrack(image_size=loaded.size, frames=[TrackFrame(0, faces)], fps=None)
    return track, loaded.rgb, faces


def _detect_video(job: LandmarksJob, config: LandmarksConfig, progress: Optional[ProgressFn]):
    """(track with a frame per kept video frame, rgb uint8 [H, W, 3] of the first frame with a
    face, that frame's faces); NoFaceError when no frame has one."""
    from . import detect_faces
    from .video import read_video_frames

    video = read_video_frames(job.source, every=config.every)
    frames: list[TrackFrame] = []
    first = None
    size = video.size
    total = len(video) or None
    for n, (index, rgb) in enumerate(video, start=1):
        size = (rgb.shape[1], rgb.shape[0])
        faces = detect_faces(rgb, backend=config.backend, all_faces=config.all_faces,
                             device=config.device, allow_empty=True)
        frames.append(TrackFrame(index, faces))
        if first is None and faces:
            first = (rgb, faces)
        if progress is not None:
            progress(n, total, item=job.source.name)
    if first is None:
        raise NoFaceError(f"{job.source}: no face found in any of its {len(frames)} frames")
    track = LandmarkTrack(image_size=size, frames=frames, fps=video.fps)
    return track, first[0], first[1]


def run_job(job: LandmarksJob, config: LandmarksConfig, backend: str,
            progress: Optional[ProgressFn] = None) -> LandmarksOutcome:
    """Detect, then write the aligned image, the preview and the track (all or nothing)."""
    from .align import align_face
    from .draw import draw_landmarks

    if not job.source.exists():
        what = "broken or looping symbolic link" if job.source.is_symlink() else "no such file"
        raise InputError(f"{job.source}: {what}")
    if is_video(job.source):
        track, rgb, faces = _detect_video(job, config, progress)
    else:
        track, rgb, faces = _detect_image(job, config)
    track.source = job.source.name
    track.meta = {"backend": backend, "emoget": __version__}
    outcome = LandmarksOutcome(job.source, frames=len(track.frames), faces=len(faces))
    written: list[Path] = []
    try:
        if job.align is not None:
            aligned, info = align_face(rgb, faces[0].points, size=config.size)
            write_image(job.align, aligned)
            written.append(job.align)
            info.image = _relative(job.align, job.track)
            track.aligned = info
            outcome.aligned = job.align
        if job.preview is not None:
            write_image(job.preview, draw_landmarks(rgb, faces))
            written.append(job.preview)
            outcome.preview = job.preview
        save_track(track, job.track)
    except BaseException:
        for path in written:  # no half-finished set of outputs
            path.unlink(missing_ok=True)
        raise
    outcome.track = job.track
    return outcome


def _relative(target: Path, track: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(target), os.path.abspath(track.parent))
    except ValueError:  # another drive on Windows
        return str(target)


def run_landmarks(inputs: list[Path], output: Optional[Path], config: LandmarksConfig, *,
                  align: Optional[Path] = None, preview: Optional[Path] = None,
                  progress: Optional[ProgressFn] = None,
                  on_error: Optional[Callable[[Path, EmogetError], None]] = None) -> LandmarksReport:
    """Process every input; in a multi-input run, failures are collected (and passed to
    `on_error`) instead of stopping the run. A single input's failure is raised."""
    from .backends import get_backend, resolve_backend_name

    if config.size not in (256, 512, 1024):
        raise UsageError(f"--size must be 256, 512 or 1024, got {config.size}")
    if config.every < 1:
        raise UsageError(f"--every must be at least 1, got {config.every}")
    jobs, refused, multi = plan_jobs(inputs, output, align, preview)
    backend = resolve_backend_name(config.backend)
    get_backend(backend, config.device)  # load (or fail on missing weights) once, up front
    config = LandmarksConfig(backend, config.all_faces, config.device, config.every, config.size)
    report = LandmarksReport(backend=backend, multi=multi)

    def failed(source: Path, exc: EmogetError) -> None:
        report.outcomes.append(LandmarksOutcome(source, error=str(exc), exit_code=exc.exit_code))
        if on_error is not None:
            on_error(source, exc)

    for source, exc in refused:  # e.g. an empty folder among other inputs: report, go on
        failed(source, exc)
    for i, job in enumerate(jobs, start=1):
        try:
            report.outcomes.append(run_job(job, config, backend, None if multi else progress))
        except EmogetError as exc:
            if not multi:
                raise
            failed(job.source, exc)
        if multi and progress is not None:
            progress(i, len(jobs), item=job.source.name)
    return report
