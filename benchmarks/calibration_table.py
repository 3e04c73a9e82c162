"""The calibration table of docs/expressions.md: per action unit, its key measure (IOD), the
posed figure, the emoticon target, and what comes out: each unit alone at intensity 1 warped onto
the real sample photo (aligned, 256 px) and onto the neutral face synthesised from it, then the
68 landmarks RE-DETECTED (dlib) on the rendered picture and compared with those detected on the
unwarped one. Also the astronaut's own estimated units.

    python benchmarks/calibration_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from emoget_cli.motion.estimate import estimate_units, photo_neutral
    from emoget_cli.motion.facs import ACTION_UNITS, CALIBRATION, deform
    from emoget_cli.core.ibug68 import MIRROR
    from emoget_cli.motion.geometry import SAMPLE_FACE_POINTS, FaceFrame

    astronaut = FaceFrame.of(SAMPLE_FACE_POINTS).to_face(SAMPLE_FACE_POINTS)
    units = estimate_units(SAMPLE_FACE_POINTS)
    neutral = photo_neutral(SAMPLE_FACE_POINTS, units)

    from emoget_cli.core.image_io import read_image
    from emoget_cli.face import align_face, detect_faces
    from emoget_cli.pipeline import sample_input
    from emoget_cli.render.warp import FaceWarper

    del astronaut, neutral
    img, info = align_face(read_image(sample_input()).rgb, SAMPLE_FACE_POINTS, size=256)
    pts = info.points.astype(np.float64)
    frame = FaceFrame.of(pts)
    faces = {"astronaut": (img, pts)}
    calm = frame.to_pixels(photo_neutral(pts, units))
    faces["neutral"] = (FaceWarper(img, pts.astype(np.float32)).render(calm.astype(np.float32)),
                        calm)

    def detect(rgb):
        pts_ = detect_faces(rgb, backend="dlib")[0].points.astype(np.float64)
        return FaceFrame.of(pts_).to_face(pts_)

    def measure(face, code):
        """The unit's key measure, re-detected on the warped picture (IOD)."""
        cal = CALIBRATION[code]
        rgb, p0 = faces[face]
        f = FaceFrame.of(p0)
        n0 = f.to_face(p0)
        ones = np.ones(1)
        dst = f.to_pixels(deform(n0, {code: (ones, ones)})[0]).astype(np.float32)
        out = FaceWarper(rgb, p0.astype(np.float32)).render(dst)
        before, after = detect(rgb), detect(out)
        moved = after - before
        if code in ("26", "27"):
            return float(moved[66, 1] - moved[62, 1])
        pair = [cal.point, int(MIRROR[cal.point])]  # both sides, mirrored x
        if cal.axis == 0:
            return float(np.mean([-moved[cal.point, 0], moved[pair[1], 0]]))
        return float(moved[pair, 1].mean())

    print("| unit | name | key measure (point, axis) | posed apex | emoticon target | "
          "measured: astronaut | measured: neutral |")
    print("|---|---|---|---|---|---|---|")
    for code, cal in CALIBRATION.items():
        axis = "x outward" if cal.axis == 0 else "y up"
        posed = "—" if cal.posed is None else f"{cal.posed:+.3f}"
        print(f"| AU{code} | {ACTION_UNITS[code].name} | {cal.measure} ({cal.point}, {axis}) | "
              f"{posed} | {cal.emoticon:+.3f} | {measure('astronaut', code):+.3f} | "
              f"{measure('neutral', code):+.3f} |")
    print()
    print("astronaut's estimated units:", ", ".join(f"AU{k} {v:.2f}" for k, v in units.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
