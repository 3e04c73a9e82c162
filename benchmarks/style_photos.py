"""Every classic style on the real photos of tests/data/photos (and the sample): identity and
skin tone per style, and a contact sheet to LOOK at.

    python benchmarks/style_photos.py                       # figures + docs/style_photos.png
    python benchmarks/style_photos.py --styles baby --no-sheet

Prints, per photo and style, the dlib face-recognition distance of the styled face to the photo
(the identity measure of issue 10: < 0.6 is "the same person") and how far the style moved the
skin's mean lightness L* and its colour (ΔE*ab; a style must not lighten or darken a person's skin). The
sheet holds, per photo and style, the styled face and the apex of a few expressions at 128 px.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = ROOT / "tests" / "data" / "photos"
TILE = 128
EXPRESSIONS = ("happiness", "surprise", "sadness", "anger")


def photo_paths() -> list[Path]:
    from emoget_cli.pipeline import sample_input

    return [sample_input()] + sorted(PHOTOS.glob("*.jpg"))


def aligned_photo(path: Path, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [size, size, 3], points [68, 2]): the photo's face, detected and aligned as `make`."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces

    rgb = read_image(path).rgb
    face = detect_faces(rgb, backend="dlib")[0]
    aligned, info = align_face(rgb, face.points, size=size)
    return aligned, info.points


def skin_tone(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """float [3]: the mean CIELAB colour (L* 0..100, a*, b*) of the cheeks' and chin's skin away
    from the outline and features (as tests/test_style_photos.py) — the mean, not the median,
    so that a style that flattens the shading (and with it lightens the skin) shows."""
    import cv2

    from emoget_cli.style.filters import skin_interior

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab = lab * np.float32([100 / 255, 1, 1]) - np.float32([0, 128, 128])
    return lab[skin_interior(rgb.shape, points, below_eyes=True)].mean(0)


def main(argv=None) -> int:
    from PIL import Image

    from emoget_cli.animation import animate_face
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.face import face_distance, face_embedding
    from emoget_cli.pipeline import apex_frame
    from emoget_cli.style import CLASSIC_STYLES, stylize

    from contact_sheets import label, save_png

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--styles", default=",".join(s for s in CLASSIC_STYLES if s != "none"))
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "style_photos.png")
    ap.add_argument("--no-sheet", action="store_true", help="figures only")
    args = ap.parse_args(argv)
    styles = args.styles.split(",")

    def tile(img: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(img[..., :3]).resize((TILE, TILE), Image.LANCZOS))

    t0 = time.perf_counter()
    rows, worst = [], {}
    print(f"{'photo':14s} {'style':19s} {'identity':>8s} {'ΔL*':>6s} {'ΔE':>6s}")
    for path in photo_paths():
        rgb, pts = aligned_photo(path)
        reference = face_embedding(rgb, pts)
        skin0 = skin_tone(rgb, pts)
        if not args.no_sheet:
            rows.append(np.concatenate([label(tile(rgb), path.stem)] + [
                np.full((TILE, TILE, 3), 255, np.uint8)] * len(EXPRESSIONS), axis=1))
        for style in styles:
            styled = stylize(rgb, pts, style)
            dist = face_distance(reference, face_embedding(styled.image, styled.points))
            skin = skin_tone(styled.image, styled.points)
            worst[style] = max(worst.get(style, 0.0), dist)
            print(f"{path.stem:14s} {style:19s} {dist:8.3f} {skin[0] - skin0[0]:+6.1f} "
                  f"{np.linalg.norm(skin - skin0):6.1f}", flush=True)
            if args.no_sheet:
                continue
            tiles = [label(tile(styled.image), f"{style} {dist:.2f}")]
            for expr in EXPRESSIONS:
                anim = animate_face(styled.image, expr, AnimationSpec(frames=16),
                                    points=styled.points, style=style)
                tiles.append(label(tile(apex_frame(anim)), expr))
            rows.append(np.concatenate(tiles, axis=1))
    print("worst identity per style: " + ", ".join(f"{s} {d:.3f}" for s, d in worst.items()))
    if rows:
        save_png(np.concatenate(rows, axis=0), args.out)
        print(f"wrote {args.out}")
    print(f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
