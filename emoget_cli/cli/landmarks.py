"""`emoget landmarks`: 68-point landmark tracks (+ aligned face, preview) from images and videos."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated, Literal

from .common import (ConfigOpt, DeviceOpt, JsonOpt, LandmarkBackendOpt, QuietOpt, Reporter, handle_errors,
                     print_error)


def register(app: typer.Typer) -> None:
    app.command("landmarks")(landmarks)


@handle_errors
def landmarks(
    inputs: Annotated[List[Path], typer.Argument(
        help="Images, videos or folders (searched recursively).", show_default=False,
        metavar="INPUT")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Track file for one input (default <stem>.landmarks.json here); "
        "a folder when there are several inputs or a folder.", show_default=False)] = None,
    backend: LandmarkBackendOpt = "auto",
    all_faces: Annotated[bool, typer.Option(
        "--all-faces", help="Keep every face found, not only the largest.")] = False,
    align: Annotated[Optional[Path], typer.Option(
        "--align", help="Also write the FFHQ-aligned face here (a folder for several inputs); "
        "its landmarks go into the track's 'aligned' block.", show_default=False)] = None,
    size: Annotated[Literal["256", "512", "1024"], typer.Option(
        "--size", help="Side of the aligned face that --align writes, in pixels.")] = "256",
    preview: Annotated[Optional[Path], typer.Option(
        "--preview", help="Also write the image with its landmarks drawn (a folder for several "
        "inputs).", show_default=False)] = None,
    every: Annotated[int, typer.Option(
        "--every", min=1, help="Videos: keep every N-th frame.")] = 1,
    device: DeviceOpt = "auto",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Detect faces and write 68-point landmark tracks ([bold]*.landmarks.json[/]).

    One input: -o is the track file. Several inputs or a folder: -o, --align and --preview are
    folders receiving [bold]<stem>.landmarks.json[/] and [bold]<stem>.png[/] (sub-folders kept).
    A video gives one track with a frame per video frame. Bad inputs are reported one line
    each and skipped; the exit code is then 9.

    [dim]emoget landmarks selfie.jpg -o selfie.landmarks.json --align face.png --size 512[/]
    [dim]emoget landmarks clip.mp4 --every 2 -o clip.landmarks.json[/]
    [dim]emoget landmarks photos/ -o tracks/ --preview previews/[/]
    """
    from ..core.errors import PartialFailure
    from ..face.run import LandmarksConfig, run_landmarks

    cfg = LandmarksConfig(backend=backend, all_faces=all_faces, device=device, every=every,
                          size=int(size))
    rep = Reporter(json_output, quiet)
    with rep.progress("landmarks") as update:
        report = run_landmarks(list(inputs), output, cfg, align=align, preview=preview,
                               progress=update,
                               on_error=lambda src, exc: print_error(str(exc)))
    done = [o for o in report.outcomes if not o.error]
    data = {
        "backend": report.backend,
        "outputs": [{"input": o.source, "track": o.track, "frames": o.frames, "faces": o.faces,
                     "aligned": o.aligned, "preview": o.preview} for o in done],
        "failed": [{"input": o.source, "error": o.error, "exit_code": o.exit_code}
                   for o in report.failed],
    }

    def human(console) -> None:
        for o in done:
            extra = "".join(f", {k} {v}" for k, v in (("aligned", o.aligned), ("preview", o.preview)) if v)
            frames = f"{o.frames} frames, " if o.frames > 1 else ""
            console.print(f"{o.source} → {o.track} ({frames}{o.faces} face{'s' * (o.faces != 1)}"
                          f"{extra})", markup=False)

    rep.result(data, human)
    if report.failed:
        raise PartialFailure(f"{len(report.failed)} of {len(report.outcomes)} inputs failed "
                             f"({len(done)} written)")
