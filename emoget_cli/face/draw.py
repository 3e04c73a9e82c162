"""Landmark previews: points, face boxes and the 68-point outline drawn on a copy of the image."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.track import FaceLandmarks

#: iBUG-68 polylines (start, end, closed): jaw, brows, nose bridge, nostrils, eyes, lips.
_CONTOURS = ((0, 17, False), (17, 22, False), (22, 27, False), (27, 31, False), (31, 36, False),
             (36, 42, True), (42, 48, True), (48, 60, True), (60, 68, True))


def draw_landmarks(rgb: np.ndarray, faces: Sequence[FaceLandmarks | np.ndarray]) -> np.ndarray:
    """rgb: uint8 [H, W, 3]; faces: FaceLandmarks or [68, 2] arrays → new uint8 [H, W, 3]."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
    draw = ImageDraw.Draw(img)
    scale = max(1, round(max(img.size) / 400))
    for i, face in enumerate(faces):
        pts = face.points if isinstance(face, FaceLandmarks) else np.asarray(face, np.float32)
        colour = (0, 255, 0) if i == 0 else (255, 200, 0)
        if isinstance(face, FaceLandmarks) and face.box is not None:
            draw.rectangle(tuple(float(v) for v in face.box), outline=(255, 64, 64), width=scale)
        for start, end, closed in _CONTOURS:
            line = [tuple(map(float, p)) for p in pts[start:end]]
            if closed:
                line.append(line[0])
            draw.line(line, fill=colour, width=scale)
        for x, y in pts:
            r = 1.5 * scale
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255))
    return np.asarray(img, dtype=np.uint8).copy()
