"""FFHQ-style face alignment (the recipe of NVlabs/ffhq-dataset, docs/face.md#ffhq-alignment).

An oriented square (`quad`) is derived from the eyes and the mouth corners; the image is shrunk
when the face is much larger than the output, cropped around the quad, reflect-padded (with a
blur and median-colour fade) where the quad leaves the picture, then resampled with Pillow's
QUAD transform at `transform_size` and reduced to `size` with LANCZOS (supersampling).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import UsageError
from ..core.ibug68 import EYE_LEFT, EYE_RIGHT
from ..core.track import AlignedFace

ALIGN_SIZES = (256, 512, 1024)


def ffhq_quad(points: np.ndarray) -> np.ndarray:
    """points: [68, 2] (x, y) → quad [4, 2] float64: TL, BL, BR, TR corners in input pixels."""
    lm = np.asarray(points, dtype=np.float64).reshape(68, 2)
    eye_left = lm[EYE_RIGHT].mean(0)
    eye_right = lm[EYE_LEFT].mean(0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) * 0.5
    eye_to_mouth = mouth_avg - eye_avg

    # x blends the eye line with the perpendicular of the eye→mouth axis
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def quad_to_aligned(quad: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
    """Map input pixel positions [N, 2] into the aligned image of side `size` (pixel indices).

    The quad is a square, so the map is a similarity: TL → (0, 0), TR → (size, 0),
    BL → (0, size) in continuous coordinates, whose pixel centres sit at index + 0.5.
    """
    quad = np.asarray(quad, dtype=np.float64)
    tl, bl, tr = quad[0], quad[1], quad[3]
    basis = np.stack([tr - tl, bl - tl], axis=1)  # columns: u and v directions  [2, 2]
    uv = np.linalg.solve(basis, (np.asarray(points, dtype=np.float64) - tl).T).T
    return (uv * size - 0.5).astype(np.float32)


def picture_mask(aligned: AlignedFace, image_size: tuple[int, int]) -> np.ndarray:
    """Which pixels of an aligned image come from the photo: float32 [size, size], 1 inside the
    photo, 0 where alignment padded beyond its frame (reflected and blurred content, not the
    person), anti-aliased over about one aligned pixel. image_size: the photo's (width, height).
    """
    size = int(aligned.size)
    quad = np.asarray(aligned.quad, dtype=np.float64)
    tl, bl, tr = quad[0], quad[1], quad[3]
    centres = (np.arange(size, dtype=np.float64) + 0.5) / size
    u, v = np.meshgrid(centres, centres)                                  # [size, size]
    sx = tl[0] + u * (tr[0] - tl[0]) + v * (bl[0] - tl[0])
    sy = tl[1] + u * (tr[1] - tl[1]) + v * (bl[1] - tl[1])
    w, h = image_size
    inside = np.minimum.reduce([sx, w - sx, sy, h - sy])                 # photo pixels
    px = size / max(float(np.hypot(*(tr - tl))), 1e-6)                    # aligned px per photo px
    return np.clip(inside * px + 0.5, 0.0, 1.0).astype(np.float32)


def _pad_blend(img: np.ndarray, pad: tuple[int, int, int, int], qsize: float,
               sharp_photo: bool = False) -> np.ndarray:
    """Reflect-pad float image [H, W, 3] by (left, top, right, bottom) and fade the padding
    toward a blurred copy and the median colour, so no hard mirror seam shows. FFHQ's fade
    also blurs the photo itself within a third of the pad of its edge; sharp_photo=True
    keeps every photo pixel as it is (the fade stays in the padding)."""
    from scipy.ndimage import gaussian_filter

    left, top, right, bottom = pad
    img = np.pad(img, ((top, bottom), (left, right), (0, 0)), "reflect")
    h, w, _ = img.shape
    y, x, _ = np.ogrid[:h, :w, :1]
    eps = 1e-9
    mask = np.maximum(1.0 - np.minimum(x / max(left, eps), (w - 1 - x) / max(right, eps)),
                      1.0 - np.minimum(y / max(top, eps), (h - 1 - y) / max(bottom, eps)))
    blur = qsize * 0.02
    to_blur = np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
    if sharp_photo:
        to_blur = to_blur * (mask > 0)               # the photo's pixels have mask <= 0
    img = img + (gaussian_filter(img, [blur, blur, 0]) - img) * to_blur
    img = img + (np.median(img, axis=(0, 1)) - img) * np.clip(mask, 0.0, 1.0)
    return img


def align_face(rgb: np.ndarray, points: np.ndarray, size: int = 256, *,
               transform_size: int | None = None,
               padding: bool = True, zoom: float = 1.0,
               sharp_photo: bool = False) -> tuple[np.ndarray, AlignedFace]:
    """FFHQ alignment of one face.

    rgb: uint8 [H, W, 3]; points: [68, 2] iBUG landmarks in its pixels.
    Returns (aligned uint8 [size, size, 3], AlignedFace(size, quad [4, 2] in input pixels,
    points [68, 2] in aligned pixels)). `transform_size` (default 4·size, at most 4096) is the
    supersampled resolution of the QUAD transform before the LANCZOS reduction. zoom > 1
    widens the FFHQ square about its centre (a cut-out sticker wants all of the hair and room
    around it; the GAN engine needs zoom 1, the FFHQ framing its generators learnt).
    sharp_photo: FFHQ's padding fade blurs a band of the photo beside a padded side (0.1 of
    the square wide: over an eye when the face is near the frame); True keeps the photo's
    pixels sharp up to its frame (a cut-out, which drops the padding by face.picture_mask).
    """
    from PIL import Image

    if not 16 <= int(size) <= 4096:
        raise UsageError(f"alignment size {size} is out of range (16..4096)")
    size = int(size)
    transform_size = int(transform_size or min(4 * size, max(4096, size)))
    points = np.asarray(points, dtype=np.float64).reshape(68, 2)
    quad_orig = ffhq_quad(points)
    if not 0.5 <= zoom <= 3.0:
        raise UsageError(f"alignment zoom {zoom} is out of range (0.5..3)")
    quad_orig = quad_orig.mean(axis=0) + float(zoom) * (quad_orig - quad_orig.mean(axis=0))
    quad = quad_orig.copy()
    qsize = float(np.hypot(*(quad[3] - quad[0])))  # side of the square = 2·|x|
    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))

    # Shrink: a face much larger than the output is first reduced (LANCZOS) for speed and quality.
    shrink = int(np.floor(qsize / size * 0.5))
    if shrink > 1:
        rsize = (int(np.rint(img.size[0] / shrink)), int(np.rint(img.size[1] / shrink)))
        img = img.resize(rsize, Image.Resampling.LANCZOS)
        quad /= shrink
        qsize /= shrink

    # Crop to the quad's bounding box plus a border.
    border = max(int(np.rint(qsize * 0.1)), 3)
    lo = np.floor(quad.min(0)).astype(int)
    hi = np.ceil(quad.max(0)).astype(int)
    crop = (max(lo[0] - border, 0), max(lo[1] - border, 0),
            min(hi[0] + border, img.size[0]), min(hi[1] + border, img.size[1]))
    if crop[2] - crop[0] < img.size[0] or crop[3] - crop[1] < img.size[1]:
        img = img.crop(crop)
        quad -= crop[0:2]

    # Pad (reflect + fade) where the quad leaves the picture.
    lo = np.floor(quad.min(0)).astype(int)
    hi = np.ceil(quad.max(0)).astype(int)
    pad = [max(-lo[0] + border, 0), max(-lo[1] + border, 0),
           max(hi[0] - img.size[0] + border, 0), max(hi[1] - img.size[1] + border, 0)]
    if padding and max(pad) > border - 4:
        pad = [max(p, int(np.rint(qsize * 0.3))) for p in pad]
        arr = _pad_blend(np.asarray(img, dtype=np.float32), tuple(pad), qsize, sharp_photo)
        img = Image.fromarray(np.uint8(np.clip(np.rint(arr), 0, 255)), "RGB")
        quad += pad[:2]

    # Transform: QUAD resampling at transform_size, then LANCZOS down to the output size.
    img = img.transform((transform_size, transform_size), Image.Transform.QUAD,
                        tuple((quad + 0.5).flatten()), Image.Resampling.BILINEAR)
    if size < transform_size:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    aligned = np.asarray(img, dtype=np.uint8).copy()
    info = AlignedFace(size=size, quad=quad_orig.astype(np.float32),
                       points=quad_to_aligned(quad_orig, points, size))
    return aligned, info
