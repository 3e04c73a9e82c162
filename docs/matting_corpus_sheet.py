"""Write docs/matting_corpus.png and print the cut-out's scores on the robustness corpus
(tests/fixtures/matting_corpus.py: the sample face with other hair colours, backgrounds,
flipped, rotated, low contrast, tiny, forehead cut by the frame).

Each cell: the variant as given (left) and its head cut-out on a checkerboard (right), both at
128 px, as people see stickers; a second sheet docs/matting_corpus_edges.png shows the hard
cases at 256 px so fringes and bitten hair show.

    python docs/matting_corpus_sheet.py [--out docs/matting_corpus.png]
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

from sticker_sheet import caption  # noqa: E402  (docs/ is the script's folder)


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    return caption(img, text, bar=18, scale=0.4)

HARD = ("hair white", "platinum hair, white background", "black hair, black background",
        "background hair", "background busy", "forehead cut by frame", "big hair", "tiny 96 px")


def checkerboard(h: int, w: int, cell: int = 8) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    light = ((yy // cell + xx // cell) % 2 == 0)
    return np.where(light[..., None], 235, 190).astype(np.float32) * np.ones(3, np.float32)


def over_checkerboard(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[..., None] / 255.0
    board = checkerboard(*alpha.shape)
    return np.clip(rgb * a + board * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def _square(img: np.ndarray, side: int, alpha=None) -> np.ndarray:
    """Resize (area) onto a side x side square, padding the shorter side (checkerboard when
    alpha is given, grey otherwise)."""
    import cv2

    h, w = img.shape[:2]
    s = side / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    small = cv2.resize(img, (nw, nh), interpolation=interp)
    if alpha is not None:
        # premultiplied resize: no dark or bright seam from the colours under alpha 0
        a = cv2.resize(alpha.astype(np.float32), (nw, nh), interpolation=interp)
        pm = cv2.resize(img.astype(np.float32) * alpha[..., None] / 255.0, (nw, nh),
                        interpolation=interp)
        a = np.clip(a, 0, 255)
        rgb = pm / np.maximum(a[..., None] / 255.0, 1e-3)
        small = over_checkerboard(np.clip(rgb, 0, 255), a)
    out = (checkerboard(side, side) if alpha is not None
           else np.full((side, side, 3), 128, np.float32)).astype(np.uint8)
    y0, x0 = (side - nh) // 2, (side - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = small
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "matting_corpus.png")
    args = parser.parse_args()

    from PIL import Image

    from fixtures.matting_corpus import build_corpus, corpus_base, score
    from emoget_cli.render import matting

    base = corpus_base()
    cells, edges = [], []
    for v in build_corpus(base):
        matting._CACHE.clear()
        t = time.perf_counter()
        cut = matting.cut_out_head(v.rgb, v.points)
        ms = (time.perf_counter() - t) * 1000
        s = score(v, cut.rgb, cut.alpha)
        print(f"{v.name:32s} {s.row()}  {ms:.0f} ms", flush=True)
        pair = np.concatenate([_square(v.rgb, 128), _square(cut.rgb, 128, cut.alpha)], axis=1)
        cells.append(_caption(pair, v.name))
        if v.name in HARD:
            edges.append(_caption(_square(cut.rgb, 256, cut.alpha), v.name))
    cols = 4
    while len(cells) % cols:
        cells.append(np.full_like(cells[0], 255))
    rows = [np.concatenate(cells[i:i + cols], axis=1) for i in range(0, len(cells), cols)]
    Image.fromarray(np.concatenate(rows)).save(args.out, optimize=True)
    edge_path = args.out.with_name(args.out.stem + "_edges.png")
    Image.fromarray(np.concatenate([np.concatenate(edges[:4], axis=1),
                                    np.concatenate(edges[4:8], axis=1)])).save(edge_path,
                                                                               optimize=True)
    print(f"wrote {args.out} and {edge_path}")


if __name__ == "__main__":
    main()
