"""Landmark detection and alignment speed on the CPU (prints figures; not a test).

    python benchmarks/bench_landmarks.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def timeit(fn, repeat: int) -> float:
    fn()  # warm-up (model loading is measured separately)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    from PIL import Image
    from skimage import data

    from emoget_cli.face import align_face, detect_faces, face_embedding, get_backend

    t0 = time.perf_counter()
    get_backend("dlib")
    print(f"dlib model load: {time.perf_counter() - t0:.2f} s")
    rgb = data.astronaut()
    hd = np.asarray(Image.fromarray(rgb).resize((1080, 1080), Image.Resampling.BICUBIC))
    canvas = np.full((1080, 1920, 3), 200, np.uint8)
    canvas[:, 420:1500] = hd
    small = np.asarray(Image.fromarray(rgb).resize((205, 205), Image.Resampling.LANCZOS))
    for name, img in (("512x512 astronaut", rgb), ("1920x1080 (face ~190 px)", canvas),
                      ("205x205 (face ~35 px, upsampling retry)", small)):
        sec = timeit(lambda img=img: detect_faces(img, backend="dlib"), args.repeat)
        print(f"detect + 68 landmarks, dlib, {name}: {sec * 1000:.1f} ms")
    pts = detect_faces(rgb, backend="dlib")[0].points
    for size in (256, 512, 1024):
        sec = timeit(lambda size=size: align_face(rgb, pts, size=size), max(1, args.repeat // 2))
        print(f"FFHQ alignment to {size}² (transform {min(4 * size, 4096)}²): {sec * 1000:.1f} ms")
    hd_pts = detect_faces(canvas, backend="dlib")[0].points
    sec = timeit(lambda: align_face(canvas, hd_pts, size=256), max(1, args.repeat // 2))
    print(f"FFHQ alignment to 256² from 1080p: {sec * 1000:.1f} ms")
    sec = timeit(lambda: face_embedding(rgb, pts), args.repeat)
    print(f"dlib face descriptor: {sec * 1000:.1f} ms")


if __name__ == "__main__":
    main()
