"""Faces: detection + 68-point landmarks (pluggable backends), FFHQ alignment, identity, previews.

    from emoget_cli.face import detect_faces, align_face, draw_landmarks, face_embedding, face_distance
    faces = detect_faces(rgb)                    # list[FaceLandmarks], largest first; NoFaceError
    aligned, info = align_face(rgb, faces[0].points, size=256)

Importing this package is cheap: dlib / face-alignment / torch load on first use.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, NoFaceError
from ..core.track import AlignedFace, FaceLandmarks
from .align import ALIGN_SIZES, align_face, ffhq_quad, picture_mask, quad_to_aligned
from .backends import (BACKEND_CHOICES, BACKENDS, LandmarkBackend, get_backend,
                       resolve_backend_name)
from .draw import draw_landmarks
from .identity import SAME_PERSON_DISTANCE, face_distance, face_embedding
from .video import VideoFrames, is_video, read_video_frames

__all__ = [
    "ALIGN_SIZES", "AlignedFace", "BACKENDS", "BACKEND_CHOICES", "FaceLandmarks", "LandmarkBackend",
    "SAME_PERSON_DISTANCE", "VideoFrames", "align_face", "detect_faces", "draw_landmarks",
    "face_distance", "face_embedding", "ffhq_quad", "get_backend", "is_video", "picture_mask",
    "quad_to_aligned",
    "read_video_frames", "resolve_backend_name",
]


def detect_faces(rgb: np.ndarray, *, backend: str = "auto", all_faces: bool = False,
                 device: str = "cpu", allow_empty: bool = False,
                 where: str = "the image") -> list[FaceLandmarks]:
    """rgb: uint8 [H, W, 3] (grey [H, W] and RGBA accepted) → faces, largest first.

    Only the largest face unless `all_faces`. Raises NoFaceError when none is found (or returns
    [] with `allow_empty`, as video frames do); `where` names the picture in that message.
    """
    arr = np.asarray(rgb)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise InputError(f"expected a uint8 RGB image [H, W, 3], got {arr.dtype} {list(arr.shape)}")
    faces = get_backend(backend, device).detect(np.ascontiguousarray(arr[..., :3]))
    faces.sort(key=lambda f: f.area, reverse=True)
    if not faces and not allow_empty:
        raise NoFaceError(f"{where}: no face found")
    return faces if all_faces else faces[:1]
