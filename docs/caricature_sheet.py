"""Write docs/caricature.png: the sample face as a caricature at --strength 1 (the face itself),
1.6 (the default) and 2.2, in the photo look and the cartoon look, at 256 px and below each at
128 px (as people pick stickers); prints each picture's identity distance to the photo and how far the
landmarks moved.

    python docs/caricature_sheet.py [--out docs/caricature.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sticker_sheet import caption  # noqa: E402  (docs/ is the script's folder)


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    return caption(img, text, bar=18, scale=0.4)

STRENGTHS = (1.0, 1.6, 2.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "caricature.png")
    args = parser.parse_args()

    import cv2
    from PIL import Image

    from emoget_cli.core.ibug68 import inter_ocular_distance
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, face_distance, face_embedding
    from emoget_cli.pipeline import SAMPLE_FACE
    from emoget_cli.style import stylize

    photo = read_image(SAMPLE_FACE).rgb
    face = detect_faces(photo, backend="dlib")[0]
    rgb, info = align_face(photo, face.points, size=256)
    pts = info.points
    ref = face_embedding(rgb, pts)
    iod = inter_ocular_distance(pts)
    rows = []
    for style in ("caricature", "caricature-cartoon"):
        big, small = [], []
        for k in STRENGTHS:
            res = stylize(rgb, pts, style, strength=k)
            dist = face_distance(ref, face_embedding(res.image, res.points))
            moved = np.linalg.norm(res.points - pts, axis=1).mean() / iod
            print(f"{style} k={k:g}: identity {dist:.3f}, landmarks moved {moved:.3f} IOD")
            big.append(_caption(res.image, f"{style} {k:g}  id {dist:.2f}"))
            thumb = cv2.resize(res.image, (128, 128), interpolation=cv2.INTER_AREA)
            small.append(np.pad(thumb, ((4, 4), (64, 64), (0, 0)), constant_values=255))
        rows += [np.concatenate(big, axis=1), np.concatenate(small, axis=1)]
    Image.fromarray(np.concatenate(rows)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
