"""Cut the head out of a portrait: an alpha matte seeded by the 68 facial landmarks.

    head_alpha(rgb, points) -> alpha  # uint8 [H, W], 255 = head, 0 = background

Method: OpenCV GrabCut (iterated graph cuts over colour GMMs) initialised from a mask built
from the landmarks instead of a rectangle:
  * definite foreground: the landmark hull, shrunk towards its centre;
  * probable foreground: the head shape implied by the landmarks: jaw line, the brows lifted
    over the forehead and hair, and a neck below the chin;
  * probable background: a ring around that head shape (where hair or ears may still be);
  * definite background: everything farther out, and a band along the image border.
GrabCut runs on a downscaled crop around the head (fast: a few tens of ms), its mask is
upscaled and its edges refined with a guided filter (edge-aware, follows the real contour
at full resolution) and a light feather.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, UsageError
from ..core.ibug68 import BROWS, JAW

#: GrabCut works on a crop whose longest side is at most this many pixels.
GRABCUT_SIDE = 160
GRABCUT_ITERATIONS = 5


def head_alpha(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Alpha matte of the head (face, hair, ears, neck) in `rgb`.

    rgb: uint8 [H, W, 3]; points: float [68, 2] (x, y) pixels, iBUG-68 order.
    Returns uint8 [H, W]: 255 inside the head, 0 in the background, soft at the contour.
    """
    import cv2

    rgb, pts = _check(rgb, points)
    H, W = rgb.shape[:2]
    prior, box = _prior_mask(pts, H, W)
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    crop_prior = prior[y0:y1, x0:x1]
    fg = _grabcut(crop, crop_prior)                                 # float32 [h, w] in {0, 1}
    soft = _refine(crop, fg, face_width=_face_width(pts))           # float32 [h, w] in [0, 1]
    soft[crop_prior == cv2.GC_FGD] = 1.0   # the face itself is never cut
    soft[crop_prior == cv2.GC_BGD] = 0.0   # nor is anything far from it kept
    alpha = np.zeros((H, W), np.uint8)
    alpha[y0:y1, x0:x1] = np.clip(soft * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return alpha


def _check(rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise UsageError(f"head_alpha needs a uint8 [H, W, 3] image, got {rgb.dtype} {rgb.shape}")
    pts = np.asarray(points, dtype=np.float32)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise UsageError(f"head_alpha needs 68 finite (x, y) landmarks, got shape {pts.shape}")
    H, W = rgb.shape[:2]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < W) & (pts[:, 1] >= 0) & (pts[:, 1] < H)
    if inside.mean() < 0.5:
        raise InputError("the landmarks lie mostly outside the image: cannot cut the head out")
    return rgb, pts


def _face_width(pts: np.ndarray) -> float:
    return float(np.linalg.norm(pts[16] - pts[0]))


def _head_polygons(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Landmark-derived shapes, float [K, 2] each: (shrunken hull, head outline, neck quad)
    and the face width in pixels. 'Up' is from the chin to the brows, so tilted faces work."""
    centre = pts.mean(axis=0)
    brow_mid = pts[BROWS].mean(axis=0)
    chin = pts[8]
    up = brow_mid - chin
    face_h = float(np.linalg.norm(up)) + 1e-6
    up /= face_h
    side = np.array([up[1], -up[0]], np.float32)  # perpendicular to `up`
    face_w = max(_face_width(pts), 0.5 * face_h)
    hull = pts[cv2_hull_indices(pts)]
    core = centre + 0.85 * (hull - centre)
    jaw = centre + 1.06 * (pts[JAW] - centre)           # a little outside the jaw: cheeks, ears
    # the skull: brows lifted over the forehead and widened for hair
    brow_c = pts[BROWS].mean(axis=0)
    top = [brow_c + up * 0.75 * face_h + side * s * face_w for s in (-0.35, 0.0, 0.35)]
    temples = [brow_c + up * 0.45 * face_h + side * s * face_w for s in (-0.62, 0.62)]
    head = np.concatenate([jaw, np.array(top + temples, np.float32)])
    head = head[cv2_hull_indices(head)]
    # neck: from the lower jaw down past the chin, a bit narrower than the jaw
    left, right = pts[4], pts[12]
    drop = -up * 0.5 * face_h
    neck = np.array([left, right, right + drop - side * 0.08 * face_w,
                     left + drop + side * 0.08 * face_w], np.float32)
    return core.astype(np.float32), head.astype(np.float32), neck, face_w


def cv2_hull_indices(points: np.ndarray) -> np.ndarray:
    """Indices of the convex hull of points [K, 2], in order."""
    import cv2

    return cv2.convexHull(points.astype(np.float32), returnPoints=False).ravel()


def _prior_mask(pts: np.ndarray, H: int, W: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """GrabCut seed mask uint8 [H, W] (GC_BGD/GC_PR_BGD/GC_PR_FGD/GC_FGD) and the crop box
    (x0, y0, x1, y1) that holds every non-definite-background pixel plus a margin."""
    import cv2

    core, head, neck, face_w = _head_polygons(pts)
    mask = np.full((H, W), cv2.GC_BGD, np.uint8)
    prob_head = np.zeros((H, W), np.uint8)
    cv2.fillPoly(prob_head, [np.round(head).astype(np.int32)], 1)
    cv2.fillConvexPoly(prob_head, np.round(neck).astype(np.int32), 1)
    ring = max(3, int(round(0.3 * face_w)))
    # a distance transform instead of a dilation: linear time whatever the ring width
    dist = cv2.distanceTransform((prob_head == 0).astype(np.uint8), cv2.DIST_L2, 3)
    mask[dist <= ring] = cv2.GC_PR_BGD
    band = max(2, int(round(0.02 * max(H, W))))
    mask[:band], mask[-band:], mask[:, :band], mask[:, -band:] = (cv2.GC_BGD,) * 4
    mask[prob_head > 0] = cv2.GC_PR_FGD       # the head prior wins over the border band
    cv2.fillConvexPoly(mask, np.round(core).astype(np.int32), cv2.GC_FGD)
    ys, xs = np.nonzero(mask != cv2.GC_BGD)
    margin = max(4, ring // 2)
    box = (max(0, xs.min() - margin), max(0, ys.min() - margin),
           min(W, xs.max() + 1 + margin), min(H, ys.max() + 1 + margin))
    return mask, box


def _grabcut(crop: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Run GrabCut on a downscaled copy; returns the foreground float32 [h, w] in {0, 1}
    at the crop's resolution. Falls back to the prior when GrabCut cannot run (e.g. a
    crop with no background sample)."""
    import cv2

    h, w = prior.shape
    scale = min(1.0, GRABCUT_SIDE / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
    small_prior = cv2.resize(prior, (sw, sh), interpolation=cv2.INTER_NEAREST)
    fallback = np.isin(prior, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    if not (small_prior == cv2.GC_BGD).any() and not (small_prior == cv2.GC_PR_BGD).any():
        return fallback
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    gc_mask = small_prior.copy()
    cv2.setRNGSeed(0)  # GrabCut's GMM initialisation is random: same input, same matte
    try:
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), gc_mask, None, bgd, fgd,
                    GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return fallback
    fg = np.isin(gc_mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    fg = _clean(fg, small_prior == cv2.GC_FGD)
    return cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def _clean(fg: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Keep the blobs touching the face core and fill their holes (eyes, glasses, teeth
    can look like background to the colour model)."""
    import cv2

    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels = cv2.connectedComponents(fg, connectivity=8)
    keep = np.unique(labels[core & (fg > 0)])
    fg = np.isin(labels, keep[keep > 0]).astype(np.uint8) | core.astype(np.uint8)
    # fill holes: background is what the border can reach
    padded = np.pad(fg, 1)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8), (0, 0), 2)
    return ((flood != 2)[1:-1, 1:-1]).astype(np.uint8)


def _guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Grey-guide guided filter (He et al. 2010): src float32 [h, w] smoothed so that its
    edges follow the edges of guide float32 [h, w] in [0, 1]."""
    import cv2

    def box(x):
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _refine(crop: np.ndarray, fg: np.ndarray, face_width: float) -> np.ndarray:
    """Edge-aware refinement at full resolution plus a light feather -> float32 [0, 1]."""
    import cv2

    guide = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(1, int(round(face_width / 40)))
    alpha = _guided_filter(guide, fg.astype(np.float32), radius, 1e-3)
    sigma = max(0.5, face_width / 200)
    alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    return np.clip(alpha, 0.0, 1.0)
