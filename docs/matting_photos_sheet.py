"""Write docs/matting_photos.png and print the head cut-out's figures on the real photos
(tests/data/photos and its cut_by_frame/ faces: busy backgrounds -- windows, curtains, flags --
a turned head, white hair, a cap, faces cut by the frame).

Each photo is aligned as `make` aligns a sticker (256 px, make's default, the sticker zoom,
the photo kept sharp, the picture mask). One row per photo, 256-px cells:

    the aligned photo with the cut's outline (red: --crop head, cyan: --crop bust)
    the head as a die-cut sticker (--sticker) on a checkerboard
    the bust cut-out (--crop bust --transparent) on a checkerboard
    the cartoon and the baby style's head stickers as `make --style cartoon|baby --sticker`
    cuts them: along the head the style drew (StyleResult.matte,
    render.matting.cut_out_drawn_head)

Printed per photo and crop: milliseconds for the cut-out (one core of a loaded machine), the
opaque pixels of the White House windows' pale blue kept in the solid cut-out beside and
over the head (tests/test_matting_photos.py), and head/bust agreement above the jaw (IoU).

    python docs/matting_photos_sheet.py [--out docs/matting_photos.png] [--size 256]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from matting_corpus_sheet import over_checkerboard  # noqa: E402  (docs/ is the script's folder)
from sticker_sheet import caption  # noqa: E402

PHOTOS = ROOT / "tests" / "data" / "photos"


def _photos() -> list[Path]:
    return sorted(PHOTOS.glob("*.jpg")) + sorted((PHOTOS / "cut_by_frame").glob("*.jpg"))


def _aligned(path: Path, size: int):
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, picture_mask
    from emoget_cli.pipeline import STICKER_ZOOM

    photo = read_image(path).rgb
    face = detect_faces(photo, backend="dlib")[0]
    rgb, info = align_face(photo, face.points, size=size, zoom=STICKER_ZOOM, sharp_photo=True)
    return rgb, info.points.astype(np.float32), picture_mask(info, (photo.shape[1],
                                                                     photo.shape[0]))


def _sticker(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    from emoget_cli.render.sticker import die_cut

    rgba = die_cut([np.dstack([rgb, alpha])])[0]
    return over_checkerboard(rgba[..., :3].astype(np.float32), rgba[..., 3])


def _window_pane(rgb: np.ndarray, points: np.ndarray, alpha: np.ndarray):
    """(opaque pixels, 2 px in from the edge, of the windows' pale blue above the jaw's
    corners and outside the landmarks' hull -- the measure of tests/test_matting_photos.py;
    bool [H, W] above the jaw's corners)."""
    import cv2

    from emoget_cli.core.ibug68 import BROWS, CHIN

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    pane = (lab[..., 0] > 0.6 * 255) & (lab[..., 1] < 128 - 3) & (lab[..., 2] < 128)
    brow, chin = points[BROWS].mean(axis=0), points[CHIN]
    face_h = float(np.linalg.norm(brow - chin))
    up = (brow - chin) / face_h
    yy, xx = np.mgrid[: rgb.shape[0], : rgb.shape[1]]
    above = (np.stack([xx - chin[0], yy - chin[1]], -1) @ up) > 0.35 * face_h
    hull = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    solid = cv2.erode((alpha >= 128).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return int((solid & pane & above & (hull == 0)).sum()), above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "matting_photos.png")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    import cv2
    from PIL import Image

    from emoget_cli.render import matting
    from emoget_cli.style import stylize

    rows = []
    for path in _photos():
        rgb, points, pic = _aligned(path, args.size)
        outline = rgb.copy()
        cuts, figures = {}, []
        for crop, colour in (("bust", (0, 255, 255)), ("head", (255, 0, 0))):
            matting._CACHE.clear()
            started = time.perf_counter()
            cut = matting.cut_out_head(rgb, points, crop, picture=pic)
            ms = (time.perf_counter() - started) * 1000
            cuts[crop] = cut
            contours, _ = cv2.findContours((cut.alpha >= 128).astype(np.uint8), cv2.RETR_LIST,
                                           cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(outline, contours, -1, colour, 1)
            pane, above = _window_pane(rgb, points, cut.alpha)
            figures.append(f"{crop} {ms:4.0f} ms pane {pane:4d}")
        head, bust = ((cuts[c].alpha >= 128) & above for c in ("head", "bust"))
        iou = (head & bust).sum() / max((head | bust).sum(), 1)
        print(f"{path.stem:22s} {'  '.join(figures)}  head/bust IoU {iou:.4f}", flush=True)
        drawn = []
        for style in ("cartoon", "baby"):
            styled = stylize(rgb, points, style)
            cut = matting.cut_out_drawn_head(styled.image, styled.points, styled.matte, "head",
                                             picture=pic)
            drawn.append(caption(_sticker(cut.rgb, cut.alpha), f"{style} --sticker", bar=18,
                                 scale=0.4))
        cells = [caption(outline, path.stem, bar=18, scale=0.4),
                 caption(_sticker(cuts["head"].rgb, cuts["head"].alpha), "head --sticker",
                         bar=18, scale=0.4),
                 caption(over_checkerboard(cuts["bust"].rgb.astype(np.float32),
                                           cuts["bust"].alpha), "--crop bust", bar=18,
                         scale=0.4), *drawn]
        rows.append(np.concatenate(cells, axis=1))
    Image.fromarray(np.concatenate(rows)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
