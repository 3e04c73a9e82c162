"""Contact sheets of every expression × style at 128 px, to LOOK at (and commit under docs/).

    python benchmarks/contact_sheets.py                 # all sheets into docs/expressions/
    python benchmarks/contact_sheets.py --styles none --faces sample --out /tmp/sheets

Two faces: the bundled sample (a real, SMILING photo: every expression must replace its smile)
and a neutral face synthesised from it (the sample warped to its own neutral estimate, see
motion/estimate.py). Per face and style, `<face>-<style>.png` holds one row per expression: the
first frame (the photo), the onset, the apex and the release; `<face>-apex.png` holds the apex of
every expression (columns) in every style (rows). Styles come from the style registry (every
classic style, plus any other style the registry lists as available).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = 128
FRAMES = 24


def styles_from_registry() -> list[str]:
    from emoget_cli.style import CLASSIC_STYLES, list_styles

    names = list(CLASSIC_STYLES)
    try:
        names += [s["name"] for s in list_styles() if s["available"] and s["name"] not in names]
    except Exception:  # no registry readable here: the classic styles still show
        pass
    return names


def faces() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name → (aligned uint8 [S, S, 3], points [68, 2]) at SIZE px: the sample and its neutral."""
    from emoget_cli.core.image_io import read_image
    from emoget_cli.face.align import align_face
    from emoget_cli.motion.geometry import SAMPLE_FACE_POINTS
    from emoget_cli.pipeline import sample_input

    rgb = read_image(sample_input()).rgb
    aligned, info = align_face(rgb, SAMPLE_FACE_POINTS, size=2 * SIZE)
    out = {"sample": (aligned, info.points)}
    out["neutral"] = neutral_face(aligned, info.points)
    return {k: _downsize(*v) for k, v in out.items()}


def neutral_face(rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face warped to its own neutral estimate (the apex of `--expr neutral`)."""
    from emoget_cli.motion import MotionConfig
    from emoget_cli.motion.generate import plan_motion
    from emoget_cli.render.warp import FaceWarper

    plan = plan_motion(points, "neutral", MotionConfig(frames=FRAMES, head="none"))
    warper = FaceWarper(rgb, points, fill=True)
    motion = warper.limit_motion(plan.points)
    apex = motion[int(np.argmax(plan.envelope))] if plan.envelope.any() else motion[FRAMES // 2]
    return warper.render(apex), apex


def _downsize(rgb: np.ndarray, points: np.ndarray):
    import cv2

    scale = SIZE / rgb.shape[0]
    small = cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return small, ((points + 0.5) * scale - 0.5).astype(np.float32)


def save_png(rgb: np.ndarray, path: Path) -> None:
    """A 256-colour PNG: a fifth of the bytes of a true-colour one, plenty to judge a face."""
    from PIL import Image

    Image.fromarray(rgb).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE) \
        .save(path, optimize=True)


def label(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = img.copy()
    cv2.putText(out, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main(argv=None) -> int:
    from emoget_cli.core.image_io import write_image  # noqa: F401  (fails early if missing)
    from emoget_cli.motion import EXPRESSIONS
    from emoget_cli.animation import animate_face
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.style import stylize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "expressions")
    ap.add_argument("--styles", default=None, help="comma-separated (default: the registry's)")
    ap.add_argument("--faces", default="sample,neutral")
    ap.add_argument("--intensity", type=float, default=1.0)
    ap.add_argument("--expr", default=None, help="comma-separated (default: the whole library)")
    args = ap.parse_args(argv)
    styles = args.styles.split(",") if args.styles else styles_from_registry()
    exprs = args.expr.split(",") if args.expr else list(EXPRESSIONS)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    for face_name, (rgb, pts) in faces().items():
        if face_name not in args.faces.split(","):
            continue
        apex_rows = []
        for style in styles:
            styled = stylize(rgb, pts, style, engine="auto")
            rows, apexes = [], []
            for expr in exprs:
                anim = animate_face(styled.image, expr,
                                    AnimationSpec(frames=FRAMES, intensity=args.intensity),
                                    points=styled.points, style=style)
                track = anim.track.points_array()
                motion = np.linalg.norm(track - track[0], axis=2).mean(1)
                apex = int(motion.argmax())
                onset = max(1, apex // 2)
                release = min(FRAMES - 1, apex + (FRAMES - apex) * 2 // 3)
                tiles = [label(anim.frames[0], expr)] + [anim.frames[i] for i in (onset, apex, release)]
                rows.append(np.concatenate(tiles, axis=1))
                apexes.append(label(anim.frames[apex], expr))
            sheet = np.concatenate(rows, axis=0)
            save_png(sheet, args.out / f"{face_name}-{style}.png")
            apex_rows.append(np.concatenate([label(styled.image, style)] + apexes, axis=1))
            print(f"{face_name} {style}: {len(exprs)} expressions", flush=True)
        save_png(np.concatenate(apex_rows, axis=0), args.out / f"{face_name}-apex.png")
    print(f"wrote sheets to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
