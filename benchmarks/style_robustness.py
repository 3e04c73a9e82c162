"""How much margin each style's identity has: the dlib distance (styled vs photo, < 0.6 is "the
same person") on the real photos of tests/data/photos and the sample, each also mirrored,
turned ±8°, at half resolution, darker, lighter and as a low-quality JPEG — stand-ins for
photos the styles were not tuned on.

    python benchmarks/style_robustness.py                       # cartoon, baby, caricature-cartoon
    python benchmarks/style_robustness.py --styles painting,caricature

Prints one line per photo and style (the worst variant and the spread) and the worst overall,
for the style itself (drawn at its default strength, given explicitly) and as `make` draws it
(no --strength: the identity guard may draw it lighter; docs/styles.md, "Identity guard").
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def variants(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """The photo uint8 [H, W, 3] and its altered copies, by name."""
    import cv2
    from PIL import Image

    h, w = rgb.shape[:2]
    out = {"photo": rgb, "mirrored": np.ascontiguousarray(rgb[:, ::-1])}
    for angle in (-8, 8):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        out[f"turned {angle:+d}°"] = cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    out["half size"] = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    for name, gamma in (("darker", 1.5), ("lighter", 0.67)):
        out[name] = np.clip(255 * (rgb / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=25)
    out["jpeg q25"] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out


def main(argv=None) -> int:
    from emoget_cli.core.errors import NoFaceError
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, face_distance, face_embedding
    from emoget_cli.style import stylize

    from style_photos import photo_paths

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--styles", default="cartoon,baby,caricature-cartoon")
    args = ap.parse_args(argv)
    styles = args.styles.split(",")
    t0 = time.perf_counter()
    from emoget_cli.style.classic import CLASSIC_STYLES

    worst: dict[str, tuple[float, str]] = {}
    guarded_worst: dict[str, float] = {}
    print(f"{'photo':14s} {'style':19s} {'worst':>6s} {'median':>6s} {'guarded':>7s}  worst variant")
    for path in photo_paths():
        found = {}
        for name, rgb in variants(read_image(path).rgb).items():
            try:
                face = detect_faces(rgb, backend="dlib")[0]
            except NoFaceError:
                print(f"{path.stem:14s} {name}: no face found")
                continue
            aligned, al = align_face(rgb, face.points, size=256)
            found[name] = (aligned, al.points, face_embedding(aligned, al.points))
        for style in styles:
            dists, guarded = {}, {}
            for name, (aligned, pts, reference) in found.items():
                styled = stylize(aligned, pts, style, strength=CLASSIC_STYLES[style].strength_default)
                dists[name] = face_distance(reference, face_embedding(styled.image, styled.points))
                styled = stylize(aligned, pts, style)
                guarded[name] = face_distance(reference, face_embedding(styled.image, styled.points))
            name = max(dists, key=dists.get)
            guarded_worst[style] = max(guarded_worst.get(style, 0.0), max(guarded.values()))
            print(f"{path.stem:14s} {style:19s} {dists[name]:6.3f} {np.median(list(dists.values())):6.3f}"
                  f" {max(guarded.values()):7.3f}  {name}", flush=True)
            if dists[name] > worst.get(style, (0.0, ""))[0]:
                worst[style] = (dists[name], f"{path.stem}, {name}")
    print("worst per style: " + "; ".join(f"{s} {d:.3f} ({where})" for s, (d, where) in worst.items()))
    print("worst per style with the identity guard: "
          + "; ".join(f"{s} {d:.3f}" for s, d in guarded_worst.items()))
    print(f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
