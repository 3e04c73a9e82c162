"""Identity check: dlib's face-recognition descriptor (ResNet, 128-D, in face_recognition_models).

Two faces of the same person are usually closer than 0.6 (Euclidean), the dlib convention.
"""

from __future__ import annotations

import threading

import numpy as np

from ..core.errors import NoFaceError
from .backends import DLIB_FACE_RECOGNITION, dlib_model_path

#: Euclidean distance under which two descriptors are taken to be the same person (dlib).
SAME_PERSON_DISTANCE = 0.6

_MODEL = None
_LOCK = threading.Lock()


def _model():
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            import dlib

            _MODEL = dlib.face_recognition_model_v1(str(dlib_model_path(DLIB_FACE_RECOGNITION)))
        return _MODEL


def _shape(points: np.ndarray):
    """68 iBUG points [68, 2] → dlib.full_object_detection (what the descriptor expects)."""
    import dlib

    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int)
    parts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in pts])
    return dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), parts)


def face_embedding(rgb: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
    """rgb: uint8 [H, W, 3]; points: [68, 2] landmarks of the face (None: detect the largest
    face with dlib). Returns the float32 [128] descriptor. Raises NoFaceError."""
    if points is None:
        from . import detect_faces

        points = detect_faces(rgb, backend="dlib")[0].points
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (68, 2) and pts.shape != (5, 2):
        raise NoFaceError(f"face_embedding needs 68 (or 5) landmark points, got shape {list(pts.shape)}")
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    desc = _model().compute_face_descriptor(rgb, _shape(pts))
    return np.asarray(desc, dtype=np.float32)


def face_distance(emb_a: np.ndarray, emb_b: np.ndarray) -> float:
    """Euclidean distance of two [128] descriptors; < 0.6 means the same person (dlib)."""
    return float(np.linalg.norm(np.asarray(emb_a, np.float64) - np.asarray(emb_b, np.float64)))
