"""`emoget animate FACE --expr EXPR -o OUT`: one face → a looping animated emoticon."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from ..core import animation_spec as spec_limits
from ..core import choices
from .common import (BackgroundOpt, ConfigOpt, DeviceOpt, DurationOpt, EffectsOpt, FormatOpt, FpsOpt,
                     FramesOpt, HeadOpt, IntensityOpt, JsonOpt, LandmarkBackendOpt, MotionOpt,
                     PresetOpt, QuietOpt, Reporter, SeedOpt, handle_errors)


def register(app: typer.Typer) -> None:
    app.command("animate")(animate)


def _track_points(track_path: Path, image_size: tuple[int, int], face_path: Path):
    """Points [68, 2] of the first face of the first frame of a track made for this image.

    A track written by `emoget landmarks --align` also fits the aligned image it names (chosen
    by its size, or by its file name when the photo and the aligned face have the same size).
    TrackError when the track is for another image size, has no face there, or its points
    cannot belong to this image (outside it, or a face of a few pixels).
    """
    from ..core.errors import TrackError
    from ..core.track import load_track
    from ..render.animate import check_face_fits  # a track's points must fit this image

    track = load_track(track_path)
    width, height = image_size
    aligned = track.aligned
    fits_aligned = aligned is not None and aligned.size == width == height
    # a 512 px photo aligned at 512 px fits both: the file names tell which one this is
    names_aligned = (fits_aligned and aligned.image is not None
                     and Path(aligned.image).name == face_path.name
                     and Path(track.source or "").name != face_path.name)
    if names_aligned or tuple(track.image_size) != (width, height):
        if fits_aligned:
            points = aligned.points
        else:
            tw, th = track.image_size
            raise TrackError(f"{track_path}: the track is for a {tw}x{th} image, but {face_path} "
                             f"is {width}x{height}")
    elif not track.frames[0].faces:
        raise TrackError(f"{track_path}: the first frame of the track has no face")
    else:
        points = track.frames[0].faces[0].points
    problem = check_face_fits(points, image_size)
    if problem is not None:
        raise TrackError(f"{track_path}: {problem}")
    return points


@handle_errors
def animate(
    face: Annotated[Path, typer.Argument(help="The face image (a selfie, or a stylized face).",
                                         show_default=False)],
    expr: Annotated[str, typer.Option(
        "--expr", "-e", help=f"Expression: {', '.join(choices.EXPRESSION_NAMES)}; combine with "
        "'+', weight with ':' (happiness:0.6+wink).", show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Animation file; its suffix picks the format (.gif .png/.apng "
        ".webp .webm .mp4).", show_default=False)],
    landmarks: Annotated[Optional[Path], typer.Option(
        "--landmarks", help="Use this landmark track (from `emoget landmarks`) instead of "
        "detecting: its first face of its first frame.", show_default=False)] = None,
    fmt: FormatOpt = None,
    frames: FramesOpt = 24,
    fps: FpsOpt = 12.0,
    duration: DurationOpt = None,
    size: Annotated[Optional[str], typer.Option(
        "--size", help="Output size N or WxH, "
        f"{spec_limits.SIZE_RANGE[0]}..{spec_limits.SIZE_RANGE[1]} px per side: the picture is "
        "cropped to that aspect around the face and resized. Default: the input's size.",
        show_default=False)] = None,
    intensity: IntensityOpt = 1.0,
    head: HeadOpt = "auto",
    effects: EffectsOpt = choices.DEFAULT_EFFECTS,
    background: BackgroundOpt = "keep",
    preset: PresetOpt = None,
    motion: MotionOpt = None,
    save_track: Annotated[Optional[Path], typer.Option(
        "--save-track", help="Also write the generated landmark motion (track JSON).",
        show_default=False)] = None,
    backend: LandmarkBackendOpt = "auto",
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Animate a face with an expression and write a looping GIF / APNG / WebP / WebM / MP4.

    With --background transparent the picture is trimmed to a square around the cut-out head
    (then --size or the preset's size applies), so a whole photo gives a head-sized sticker.
    """
    import time

    from ..animation import animate_to_file, check_output
    from ..core.animation_spec import AnimationSpec
    from ..core.atomic import all_or_nothing
    from ..core.image_io import read_image
    from ..core.track import save_track as write_track
    from ..render.export import check_target

    started = time.perf_counter()
    spec = AnimationSpec(frames=frames, fps=fps, duration=duration, size=size,
                         intensity=intensity, head=head, effects=effects, background=background)
    check_output(spec, output, fmt, preset)   # fail fast on a bad name / suffix / alpha
    for target in (output, save_track):  # ... and on an output that cannot be written
        if target is not None:
            check_target(target, inputs=[p for p in (face, landmarks, motion) if p is not None])
    if motion is None:
        from ..motion import parse_expression

        parse_expression(expr)  # unknown expression: say so before any slow step
    image = read_image(face)
    points = None
    if landmarks is not None:
        points = _track_points(landmarks, image.size, face)
    model = None
    if motion is not None:
        from ..motion import load_motion_model

        model = load_motion_model(motion)
    rep = Reporter(json_output, quiet)
    with rep.progress("animate", total=spec.n_frames) as update, all_or_nothing():
        # the animation and its track appear together or not at all
        result, report = animate_to_file(
            image.rgb, expr, spec, output, fmt=fmt, preset=preset, points=points,
            motion_model=model, seed=seed, landmark_backend=backend, device=device,
            trim=background == "transparent", progress=update, where=str(face))
        if save_track is not None:
            result.track.source = str(face)
            write_track(result.track, save_track)
    data = {**report.to_dict(), "input": str(face), "expression": result.track.label,
            "track": str(save_track) if save_track else None,
            "seconds": round(time.perf_counter() - started, 3)}

    def human(console) -> None:
        console.print(f"{face} → {report.path} ({report.format}, {report.n_frames} frames, "
                      f"{report.size[0]}x{report.size[1]}, {report.fps:g} fps, "
                      f"{report.bytes / 1000:.1f} KB)", markup=False)
        for note in report.adjustments:
            console.print(f"  {note}", markup=False)
        if save_track:
            console.print(f"  track → {save_track}", markup=False)

    rep.result(data, human)
