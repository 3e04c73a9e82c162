"""Pictures before install: every classic style × a few expressions at 128 px on the sample face,
and a sticker sheet (the head cut out, on a checkerboard), written into docs/.

    python benchmarks/gallery.py                       # docs/gallery.png, docs/gallery_stickers.png
    python benchmarks/gallery.py --out /tmp/g --tile 160 --styles cartoon,baby

Each tile is the expression's peak frame (the frame whose landmarks moved farthest from the
rest pose), the first column the styled face at rest. It also prints the style time per style
(the classic engine runs once per `make`) and the identity distance to the photo (dlib, < 0.6 =
same person).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: STYLE or STYLE@STRENGTH (a caricature at a stronger factor than its default, say)
STYLES = ("none", "cartoon", "baby", "painting", "caricature", "caricature@2.4",
          "caricature-cartoon")
EXPRESSIONS = ("happiness", "surprise", "sadness", "anger", "wink")
LABEL_W = 150


def peak_frame(anim) -> int:
    """Index of the frame whose landmarks are farthest from the first frame's."""
    track = np.asarray(anim.track.points_array(), np.float64)  # [T, 68, 2]
    return int(np.linalg.norm(track - track[:1], axis=2).mean(1).argmax())


def checkerboard(h: int, w: int, cell: int = 8) -> np.ndarray:
    """uint8 [H, W, 3] light grey checkerboard (how editors show transparency)."""
    yy, xx = np.mgrid[0:h, 0:w]
    light = ((yy // cell + xx // cell) % 2).astype(bool)
    out = np.where(light[..., None], 236, 204).astype(np.uint8)
    return np.repeat(out[..., :1], 3, axis=2)


def over(rgb: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[..., None] / 255.0
    return np.clip(rgb * a + bg * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def label(tile_row: np.ndarray, text: str) -> np.ndarray:
    import cv2

    h = tile_row.shape[0]
    pad = np.full((h, LABEL_W, 3), 255, np.uint8)
    for i, line in enumerate(text.split("\n")):
        cv2.putText(pad, line, (6, h // 2 - 6 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (30, 30, 30), 1, cv2.LINE_AA)
    return np.concatenate([pad, tile_row], 1)


def header(names, tile: int) -> np.ndarray:
    import cv2

    bar = np.full((24, LABEL_W + tile * len(names), 3), 255, np.uint8)
    for i, name in enumerate(names):
        cv2.putText(bar, name, (LABEL_W + i * tile + 6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (30, 30, 30), 1, cv2.LINE_AA)
    return bar


def main(argv=None) -> int:
    import cv2

    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces, face_distance, face_embedding
    from emoget_cli.pipeline import SAMPLE_FACE
    from emoget_cli.animation import animate_face
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.style import stylize

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--tile", type=int, default=128, help="tile side in pixels")
    ap.add_argument("--size", type=int, default=256, help="render size (as `make`)")
    ap.add_argument("--styles", default=",".join(STYLES))
    ap.add_argument("--exprs", default=",".join(EXPRESSIONS))
    ap.add_argument("--frames", type=int, default=12)
    args = ap.parse_args(argv)
    styles = [s for s in args.styles.split(",") if s]
    exprs = [e for e in args.exprs.split(",") if e]

    photo = read_image(SAMPLE_FACE).rgb
    face = detect_faces(photo, backend="dlib")[0]
    rgb, info = align_face(photo, face.points, size=args.size)
    pts = info.points
    ref = face_embedding(rgb, pts)
    small = lambda im: cv2.resize(im, (args.tile, args.tile), interpolation=cv2.INTER_AREA)  # noqa: E731

    rows, sticker_tiles = [], []
    # cpu ms: this process's CPU time (single-threaded work: the wall time on a quiet machine)
    print(f"{'style':<20} {'wall ms':>8} {'cpu ms':>7} {'identity':>9}")
    for entry in styles:
        style, _, k = entry.partition("@")
        strength = float(k) if k else None
        stylize(rgb, pts, style, strength=strength)  # warm-up: imports, first-call costs
        t, c = time.perf_counter(), time.process_time()
        res = stylize(rgb, pts, style, strength=strength)
        ms, cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
        dist = face_distance(ref, face_embedding(res.image, res.points))
        print(f"{entry:<20} {ms:>8.0f} {cpu:>7.0f} {dist:>9.3f}")
        tiles = [small(res.image)]
        for expr in exprs:
            anim = animate_face(res.image, expr, AnimationSpec(frames=args.frames),
                                points=res.points, style=style)
            tiles.append(small(anim.frames[peak_frame(anim)]))
        name = "photo (none)" if style == "none" else style + (f" x{k}" if k else "")
        rows.append(label(np.concatenate(tiles, 1), f"{name}\nid {dist:.2f}"))
        anim = animate_face(res.image, "happiness",
                            AnimationSpec(frames=args.frames, background="transparent"),
                            points=res.points, style=style, trim=True, matte=res.matte)
        k = peak_frame(anim)
        if anim.alpha is not None:
            frame, alpha = small(anim.frames[k]), small(anim.alpha[k])
            sticker_tiles.append(over(frame, alpha, checkerboard(args.tile, args.tile)))
    sheet = np.concatenate([header(["rest", *exprs], args.tile), *rows], 0)
    args.out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out / "gallery.png"), sheet[..., ::-1])
    print(f"wrote {args.out / 'gallery.png'} ({sheet.shape[1]}x{sheet.shape[0]})")
    if sticker_tiles:
        gap = np.full((args.tile, 8, 3), 255, np.uint8)
        row = np.concatenate([x for t in sticker_tiles for x in (t, gap)], 1)
        stickers = np.concatenate([header([("photo" if s == "none" else s)[:15] for s in styles],
                                          args.tile + 8)[:, LABEL_W:], row], 0)
        cv2.imwrite(str(args.out / "gallery_stickers.png"), stickers[..., ::-1])
        print(f"wrote {args.out / 'gallery_stickers.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
