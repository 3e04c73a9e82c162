"""Sheets of every emoticon effect and of the transparent stickers, at 128 px, to LOOK at (and
commit under docs/effects/); prints what the effects cost per frame.

    python benchmarks/effects_sheets.py                       # sheets into docs/effects/
    python benchmarks/effects_sheets.py --styles cartoon --out /tmp/fx

`effects-<style>.png`: one row per effect (`--expr neutral --effects NAME`, so only the effect
moves) at four phases of the loop, on the bundled sample in that style. `transparent.png`: the
apex of the expressions that draw effects, cut out (`--background transparent`) over a
checkerboard, one row per style: the effects stay, nothing else outside the head does. The faces
and labels are those of benchmarks/contact_sheets.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FRAMES = 24
PHASES = (3, 9, 15, 21)          # frames shown per effect: a quarter of the loop apart


def checker(rgba: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 4] over a grey checkerboard → uint8 [H, W, 3]."""
    h, w = rgba.shape[:2]
    board = ((np.indices((h, w)).sum(0) // 8) % 2 * 50 + 170).astype(np.float64)[..., None]
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    return (rgba[..., :3] * a + board * (1.0 - a) + 0.5).astype(np.uint8)


def save(image: np.ndarray, path: Path) -> None:
    """A sheet as a 256-colour PNG (a third of the size; enough to judge shapes and colours)."""
    from PIL import Image

    Image.fromarray(image).quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv=None) -> int:
    from contact_sheets import faces, label, styles_from_registry

    from emoget_cli.core import choices
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import detect_faces
    from emoget_cli.motion import EXPRESSIONS
    from emoget_cli.pipeline import sample_input
    from emoget_cli.animation import animate_face
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.render.draw_style import draw_style
    from emoget_cli.render.effects import draw_effects
    from emoget_cli.style import stylize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "effects")
    ap.add_argument("--styles", default=None, help="comma-separated (default: the registry's)")
    args = ap.parse_args(argv)
    styles = args.styles.split(",") if args.styles else styles_from_registry()
    args.out.mkdir(parents=True, exist_ok=True)
    rgb, pts = faces()["sample"]
    t0 = time.perf_counter()
    for style in styles:
        styled = stylize(rgb, pts, style, engine="auto")
        rows = []
        for name in choices.EFFECT_NAMES:
            anim = animate_face(styled.image, "neutral", AnimationSpec(frames=FRAMES, effects=name),
                                points=styled.points, style=style)
            tiles = [anim.frames[i] for i in PHASES]
            rows.append(np.concatenate([label(tiles[0], name)] + tiles[1:], axis=1))
        save(np.concatenate(rows, axis=0), args.out / f"effects-{style}.png")
        print(f"effects-{style}.png", flush=True)
    # transparent stickers: the whole photo, trimmed to the head
    photo = read_image(sample_input()).rgb
    photo_pts = detect_faces(photo, backend="dlib")[0].points
    with_effects = [e.name for e in EXPRESSIONS.values() if e.effects]
    rows = []
    for style in styles:
        styled = stylize(rgb, pts, style, engine="auto")
        tiles = []
        for expr in with_effects:
            anim = animate_face(styled.image, expr,
                                AnimationSpec(frames=FRAMES, background="transparent"),
                                points=styled.points, style=style, matte=styled.matte)
            track = anim.track.points_array()
            apex = int(np.linalg.norm(track - track[0], axis=2).mean(1).argmax())
            tiles.append(label(checker(anim.rgba_frames()[apex]), expr))
        rows.append(np.concatenate(tiles, axis=1))
    save(np.concatenate(rows, axis=0), args.out / "transparent.png")
    print("transparent.png", flush=True)
    # cost per frame on the aligned 256 px face (what `make` renders by default)
    from emoget_cli.face import align_face

    face256, info = align_face(photo, photo_pts, size=256)
    pts256 = info.points
    look = draw_style("cartoon")
    print("effect cost on the aligned 256 px face (ms per frame; timings inflated by any other "
          "load on this machine):")
    for name in choices.EFFECT_NAMES:
        t, cpu = time.perf_counter(), time.process_time()
        for i in range(FRAMES):
            draw_effects(pts256, i / FRAMES, 1.0, (name,), look, face256.shape[:2])
        print(f"  {name:11s} wall {1000 * (time.perf_counter() - t) / FRAMES:6.2f}  "
              f"cpu {1000 * (time.process_time() - cpu) / FRAMES:6.2f}")
    print(f"wrote sheets to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
