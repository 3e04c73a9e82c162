"""Recorded landmarks for benchmark machines without dlib's model files.

The GPU machines that take the GAN figures have no internet and no `face_recognition_models`
(its 100 MB landmark model is larger than what may travel there). Detection runs on the CPU in
any case (~25 ms, `bench_landmarks.py`), so the GPU benchmarks lose nothing by replaying the
sample portrait's 68 points recorded here, on a machine with dlib:

    python benchmarks/recorded_landmarks.py          # rewrite benchmarks/data/sample_face.landmarks.json

`install_if_dlib_missing()` serves those points in place of the dlib backend, for the recorded
image only (recognised by the SHA-256 of its decoded pixels): any other picture, such as a
random generator's output, finds no face, as dlib would.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECORDED = ROOT / "benchmarks" / "data" / "sample_face.landmarks.json"


def pixels_sha256(rgb: np.ndarray) -> str:
    """rgb uint8 [H, W, 3] → hex SHA-256 of its shape and bytes."""
    arr = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    return hashlib.sha256(repr(arr.shape).encode() + arr.tobytes()).hexdigest()


def record(path: Path = RECORDED) -> Path:
    """Detect the sample portrait's face with dlib and write it as a landmarks artifact, its
    pixels' hash in `meta` (emoget's one landmarks format, core.track)."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.core.track import LandmarkTrack, TrackFrame, save_track
    from emoget_cli.face import detect_faces
    from emoget_cli.pipeline import sample_input

    rgb = read_image(sample_input()).rgb
    face = detect_faces(rgb, backend="dlib")[0]
    track = LandmarkTrack(image_size=(rgb.shape[1], rgb.shape[0]), frames=[TrackFrame(0, [face])],
                          source=sample_input().name, meta={"pixels_sha256": pixels_sha256(rgb)})
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_track(track, path)


def install_if_dlib_missing(path: Path = RECORDED) -> bool:
    """Serve the recorded face in place of dlib when dlib or its model is missing.

    Returns True when installed (and says so on stdout), False when dlib is usable.
    """
    from emoget_cli.core.track import load_track
    from emoget_cli.face import backends

    usable, why = backends.DlibBackend.availability()
    if usable:
        return False
    track = load_track(path)
    face = track.frames[0].faces[0]
    digest = track.meta["pixels_sha256"]

    class RecordedBackend(backends.LandmarkBackend):
        name = "dlib"
        description = "the sample portrait's recorded dlib landmarks (benchmarks only)"

        @classmethod
        def availability(cls) -> tuple[bool, str]:
            return True, cls.description

        def detect(self, rgb: np.ndarray) -> list:
            return [face] if pixels_sha256(rgb) == digest else []

    backends.BACKENDS["dlib"] = RecordedBackend
    backends._INSTANCES[("dlib", "cpu")] = RecordedBackend()
    print(f"landmarks: dlib unusable here ({why}); replaying {path.name} for the sample portrait")
    return True


if __name__ == "__main__":
    print(record())
