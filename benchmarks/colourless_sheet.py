"""Contact sheet: the cartoon sticker (`make --style cartoon --sticker`, frame 8 of a surprise
loop) of real photos in colour, greyscale and at 15 % brightness, at 256 and 128 px, on a
checkerboard -> docs/cartoon_colourless.png (docs/styles.md, "Photos without colour").

    python benchmarks/colourless_sheet.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = [ROOT / "tests/data/photos/biden.jpg", ROOT / "tests/data/photos/obama.jpg",
          ROOT / "tests/data/photos/grace_hopper.jpg", ROOT / "emoget_cli/assets/sample_face.jpg"]


def variant(rgb: np.ndarray, kind: str) -> np.ndarray:
    """uint8 [H, W, 3]: the photo as it is, its luma (BT.601) in three channels, or at 15 %."""
    if kind == "grey":
        y = np.round(rgb @ np.float32([0.299, 0.587, 0.114])).astype(np.uint8)
        return np.repeat(y[..., None], 3, axis=2)
    if kind == "dark":
        return np.round(rgb * 0.15).astype(np.uint8)
    return rgb


def tile(path: Path) -> Image.Image:
    """Frame 8 of the APNG on a checkerboard, 256 px over its 128-px copy."""
    im = Image.open(path)
    im.seek(8)
    im = im.convert("RGBA").resize((256, 256), Image.LANCZOS)
    board = (np.add.outer(np.arange(256) // 16, np.arange(256) // 16) % 2 * 60 + 170)
    back = Image.fromarray(np.repeat(board[..., None], 3, 2).astype(np.uint8)).convert("RGBA")
    big = Image.alpha_composite(back, im).convert("RGB")
    out = Image.new("RGB", (256, 384), "white")
    out.paste(big, (0, 0))
    out.paste(big.resize((128, 128), Image.LANCZOS), (64, 256))
    return out


def main() -> None:
    kinds = ("colour", "grey", "dark")
    sheet = Image.new("RGB", (256 * len(PHOTOS), 384 * len(kinds)), "white")
    with tempfile.TemporaryDirectory() as tmp:
        for j, kind in enumerate(kinds):
            for i, photo in enumerate(PHOTOS):
                src = Path(tmp) / f"{photo.stem}-{kind}.png"
                Image.fromarray(variant(np.asarray(Image.open(photo).convert("RGB")), kind)).save(src)
                out = Path(tmp) / f"{photo.stem}-{kind}-out.png"
                subprocess.run([sys.executable, "-m", "emoget_cli", "make", str(src), "--style",
                                "cartoon", "--expr", "surprise", "--sticker", "--format", "apng",
                                "-o", str(out)], check=True, capture_output=True)
                sheet.paste(tile(out), (256 * i, 384 * j))
    dest = ROOT / "docs" / "cartoon_colourless.png"
    sheet.save(dest, optimize=True)
    print(f"wrote {dest} (rows: {', '.join(kinds)})")


if __name__ == "__main__":
    main()
