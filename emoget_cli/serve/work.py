"""What a worker process runs for one job. Everything here is called in a spawned process
(`jobs.Lane`), so a crash or a memory blow-up in one job cannot take the server down.

Each function takes plain data (paths, a config) and returns a plain dict:
    {"ok": bool, "error": str|None, "kind": str|None, "files": [name, ...], "seconds": float}
`files` are names inside the job's output folder, in display order.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

#: side of the styled stills of the style step (pixels)
PREVIEW_SIZE = 192


def warm_up() -> int:
    """Import what every job needs, so the first real job does not pay for it."""
    from .. import pipeline  # noqa: F401
    from ..face import detect_faces  # noqa: F401
    from ..render import export  # noqa: F401

    return os.getpid()


def _limit_threads() -> None:
    """Each worker uses one thread: N workers on N cores, no oversubscription."""
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # torch missing or already configured: the default is fine
        pass
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:
        pass


def _error(exc_or_text: Any, kind: str, photo: Path) -> dict[str, Any]:
    text = str(exc_or_text)
    # the photo's server path means nothing to the person who uploaded it
    text = text.replace(str(photo), "photo").replace(photo.name, "photo")
    return {"ok": False, "error": text, "kind": kind, "files": [], "seconds": 0.0}


_KIND_BY_EXIT = {2: "usage", 3: "bad_input", 4: "no_face", 5: "bad_checkpoint", 7: "output",
                 8: "missing_dependency"}


def run_make(photo: str, config, device: str) -> dict[str, Any]:
    """`make` on one uploaded photo with a validated MakeConfig (its output: the job's folder)."""
    from ..pipeline import make

    _limit_threads()
    start = time.perf_counter()
    config = dataclasses.replace(config, device=device)
    out = Path(config.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (result,) = make([Path(photo)], config)
    except Exception as exc:  # configuration errors were caught before queueing; keep it one line
        from ..core.errors import EmogetError

        kind = _KIND_BY_EXIT.get(getattr(exc, "exit_code", 1), "internal") \
            if isinstance(exc, EmogetError) else "internal"
        return _error(exc, kind, Path(photo))
    if not result.ok:
        return _error(result.error or "failed", _KIND_BY_EXIT.get(result.exit_code, "internal"),
                      Path(photo))
    files = [Path(p).name for p in result.outputs]
    files += [Path(p).name for p in (result.zip, result.sheet) if p]
    return {"ok": True, "error": None, "kind": None, "files": files,
            "seconds": round(time.perf_counter() - start, 3),
            "adjustments": list(result.adjustments), "stages": result.stages}


def run_previews(photo: str, out_dir: str, styles: list[str], device: str) -> dict[str, Any]:
    """The style step's thumbnails: the face found once, then the styled still of each style
    (`<style>.png`, PREVIEW_SIZE pixels square), written as each one is ready."""
    from ..core.errors import EmogetError
    from ..core.image_io import write_image
    from ..core.animation_spec import AnimationSpec
    from ..pipeline import MakeConfig, stage_face, stage_style

    _limit_threads()
    start = time.perf_counter()
    out = Path(out_dir)
    files = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        timer: dict[str, float] = {}
        base = MakeConfig(output=out, animation=AnimationSpec(size=PREVIEW_SIZE), device=device)
        face = stage_face(Path(photo), base, timer)
        for style in styles:
            config = dataclasses.replace(base, style=style)
            styled = stage_style(face, config, timer)
            write_image(out / f"{style}.png", styled.image)
            files.append(f"{style}.png")
    except EmogetError as exc:
        return _error(exc, _KIND_BY_EXIT.get(exc.exit_code, "internal"), Path(photo))
    except Exception as exc:
        return _error(f"internal error: {type(exc).__name__}: {exc}", "internal", Path(photo))
    return {"ok": True, "error": None, "kind": None, "files": files,
            "seconds": round(time.perf_counter() - start, 3)}



def cuda_device_count() -> int:
    """GPUs torch can use in a worker (0 without CUDA); asked once when the server starts."""
    try:
        import torch

        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:
        return 0
