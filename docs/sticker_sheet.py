"""Write docs/stickers.png: die-cut stickers and plain cut-outs of the bundled sample face on a
checkerboard, at 512 px (edges up close) and at 128 px (as people pick them), so halos,
fringes, chopped hair or a collar would show.

    python docs/sticker_sheet.py [--out docs/stickers.png] [--styles cartoon,none]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXPRESSIONS = ("happiness", "surprise", "anger", "sadness", "love", "wink")


def _frames(path: Path) -> list[np.ndarray]:
    from PIL import Image

    with Image.open(path) as im:
        out = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            out.append(np.asarray(im.convert("RGBA")))
    return out


def caption(img: np.ndarray, text: str, *, bar: int = 22, scale: float = 0.5) -> np.ndarray:
    """img uint8 [H, W, 3] with a white bar of `bar` pixels below it holding `text` (the docs
    sheets' one way of labelling a picture)."""
    import cv2

    out = np.full((bar, img.shape[1], 3), 255, np.uint8)
    cv2.putText(out, text, (round(bar * 0.18), round(bar * 0.72)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (40, 40, 40), 1, cv2.LINE_AA)
    return np.concatenate([img, out])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "stickers.png")
    parser.add_argument("--styles", default="cartoon,none")
    args = parser.parse_args()

    from PIL import Image

    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.core.choices import EXPRESSION_NAMES
    from emoget_cli.pack.writer import fit_rgba, over_checkerboard
    from emoget_cli.pipeline import SAMPLE_FACE, MakeConfig, make

    exprs = [e for e in EXPRESSIONS if e in EXPRESSION_NAMES]
    rows, closeups = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for style in args.styles.split(","):
            for sticker in (True, False):
                big, small = [], []
                for expr in exprs:
                    out = Path(tmp) / f"{style}-{expr}-{sticker}.png"
                    spec = AnimationSpec(size=512, frames=12, background="transparent",
                                         sticker=sticker)
                    cfg = MakeConfig(output=out, style=style, expressions=(expr,), animation=spec)
                    (res,) = make([SAMPLE_FACE], cfg)
                    if not res.ok:
                        raise SystemExit(f"{style}/{expr}: {res.error}")
                    frames = _frames(out)
                    pick = frames[len(frames) // 2]
                    if expr == exprs[0] and len(closeups) < 4:  # edges at 1:1, shown 2x
                        full = over_checkerboard(pick, cell=8)
                        ys, xs = np.nonzero(pick[..., 3] > 0)
                        top, bottom = ys.min(), ys.max()
                        x_top = int(np.median(xs[ys < top + 6]))    # where the hair peaks
                        x_chin = int(np.median(xs[ys > bottom - 6]))  # where the chin ends
                        for y, x in ((top - 24, x_top - 64), (bottom - 104, x_chin - 120)):
                            y, x = max(0, y), max(0, x)
                            crop = full[y:y + 128, x:x + 128]
                            crop = np.pad(crop, ((0, 128 - crop.shape[0]),
                                                 (0, 128 - crop.shape[1]), (0, 0)),
                                          constant_values=255)
                            closeups.append(np.kron(crop, np.ones((2, 2, 1), np.uint8)))
                    big.append(caption(over_checkerboard(fit_rgba(pick, 256, 256), cell=8),
                                      f"{style} {expr}{' sticker' if sticker else ''}"))
                    small.append(over_checkerboard(fit_rgba(pick, 128, 128), cell=4))
                rows.append(np.concatenate(big, axis=1))
                strip = np.concatenate(small, axis=1)
                pad = np.full((strip.shape[0], rows[-1].shape[1] - strip.shape[1], 3), 255,
                              np.uint8)
                rows.append(np.concatenate([strip, pad], axis=1))
    if closeups:
        strip = caption(np.concatenate(closeups, axis=1), "512 px edges at 2x: hair, jaw and chin "
                       "(sticker, then cut-out)")
        pad = np.full((strip.shape[0], rows[0].shape[1] - strip.shape[1], 3), 255, np.uint8)
        rows.append(np.concatenate([strip, pad], axis=1))
    sheet = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
