"""What a geometric warp cannot show: the inside of an opening mouth, and closed eyelids.

A backward warp can only stretch existing pixels (REFERENCE.md §9.3). When the inner-lip
polygon (60-67) opens clearly wider than in the source (a mouth already open may first
stretch its own teeth by half its gap) we paint a synthesised cavity into it: a dark
red-brown gradient, a light band of upper teeth under the upper lip sized by the opening, and a
feathered edge. When an upper lid (37, 38 / 43, 44) comes down onto the lower lid we cover the
whole former eye opening with a lid: the surrounding skin grown inwards (inpainting), slightly
shaded towards a darker lash line, so a closed eye shows a lid rather than squeezed eyeball
pixels. Both come in gradually with the opening / closure (the cavity grows from the bottom of
the mouth up), so partial motions blend smoothly.

Images are uint8 [H, W, 3] RGB; points float [68, 2] (x, y) pixels, iBUG order.
"""

from __future__ import annotations

import numpy as np

#: (upper, lower) inner-lip landmark pairs, left to right in the image.
INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))
#: (corner_a, upper_a, upper_b, corner_b, lower_b, lower_a) per eye: image-left, image-right.
EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))
TEETH_RGB = np.array([240.0, 234.0, 222.0])
CAVITY_TOP_RGB = np.array([100.0, 36.0, 40.0])
CAVITY_BOTTOM_RGB = np.array([44.0, 12.0, 16.0])
#: Strength of the closed-eye lash line at the eye corners, relative to its middle.
LASH_END_WEIGHT = 0.3
#: How far (a share of the source's own inner-lip gap) an open mouth may widen on its own
#: pixels before the synthesised cavity fades in.
MOUTH_OWN_STRETCH = 0.5


def _down(points: np.ndarray) -> np.ndarray:
    """Unit vector pointing from the brows to the chin (face 'down')."""
    v = points[8] - points[27]
    return v / max(float(np.linalg.norm(v)), 1e-6)


def mouth_opening(points: np.ndarray) -> float:
    """Mean inner-lip gap in pixels along the face's vertical axis (<= 0: closed)."""
    down = _down(points)
    return float(np.mean([np.dot(points[b] - points[t], down) for t, b in INNER_LIP_PAIRS]))


def eye_aperture(points: np.ndarray, eye: int) -> float:
    """Mean upper-to-lower lid distance of eye 0 (image-left, 36-41) or 1 (42-47), pixels."""
    _, u1, u2, _, l2, l1 = EYES[eye]
    down = _down(points)
    return float(np.mean([np.dot(points[l1] - points[u1], down),
                          np.dot(points[l2] - points[u2], down)]))


def _smoothstep(edge0: float, edge1: float, x: float) -> float:
    t = min(max((x - edge0) / (edge1 - edge0), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(points.min(0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(0) + margin).astype(int) + 1
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def _poly_mask(poly: np.ndarray, box: tuple[int, int, int, int], feather: float,
               grow: int = 0) -> np.ndarray:
    """Anti-aliased polygon coverage in [0, 1] over `box`, grown by `grow` px, then blurred
    by `feather` px (sigma)."""
    import cv2

    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4
    pts = np.round((poly - [x0, y0]) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=shift)
    if grow > 0:
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    out = mask.astype(np.float32) / 255.0
    if feather > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), feather)
    return out


def _curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of the polyline through `points` (sorted by x) at columns `xs`."""
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


def fill_mouth(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Paint a mouth cavity (and upper teeth) where dst opens wider than src; returns a copy."""
    src = np.asarray(src_points, np.float64)
    dst = np.asarray(dst_points, np.float64)
    width = float(np.linalg.norm(dst[54] - dst[48]))
    src_open = max(mouth_opening(src), 0.0)
    extra = mouth_opening(dst) - src_open
    # A mouth already open in the source shows its own teeth and cavity, and the warp stretches
    # them plausibly up to about 1.5x; a synthetic cavity half-blended over them only looks
    # murky (grey teeth). So the fill starts MOUTH_OWN_STRETCH of the source gap later.
    start = 0.03 * width + MOUTH_OWN_STRETCH * src_open
    strength = _smoothstep(start, start + 0.09 * width, extra)
    if strength <= 0.0 or width < 4:
        return rgb
    # the inner-lip outline as smooth curves: the 8-point polygon gives a cavity with straight
    # sides and sharp corners, which reads as a cut-out shape rather than an open mouth
    upper_lip = _smooth_curve(dst[[60, 61, 62, 63, 64]], 6)
    lower_lip = _smooth_curve(dst[[60, 67, 66, 65, 64]], 6)
    poly = np.concatenate([upper_lip, lower_lip[::-1][1:-1]])
    box = _box(poly, 3, rgb.shape[:2])
    x0, y0, x1, y1 = box
    if x1 - x0 < 2 or y1 - y0 < 2:
        return rgb
    # grown by a pixel so that the feathered edge does not let stretched teeth / lip pixels
    # show around the cavity
    mask = _poly_mask(poly, box, feather=max(0.5, 0.012 * width), grow=1)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    upper = _curve(upper_lip, xs[0])[None, :]
    lower = _curve(lower_lip, xs[0])[None, :]
    gap = np.maximum(lower - upper, 1.0)
    t = np.clip((ys - upper) / gap, 0.0, 1.0)[..., None]
    xc = 0.5 * (dst[60, 0] + dst[64, 0])
    half = max(0.5 * abs(dst[64, 0] - dst[60, 0]), 1.0)
    h = np.clip(np.abs(xs - xc) / half, 0.0, 1.0)[..., None]
    # a dark red-brown cavity, darkest at the bottom (the throat) and the corners
    top, bottom = CAVITY_TOP_RGB, CAVITY_BOTTOM_RGB
    colour = (top * (1 - t) + bottom * t) * (1.0 - 0.4 * h ** 2)
    # upper teeth: a band under the upper inner lip, taller when the mouth opens wider
    band = np.minimum(0.3 * gap, 0.12 * width)
    depth = (ys - upper)[..., None] / band[..., None]
    teeth = np.clip(1.0 - depth, 0.0, 1.0) ** 0.35 * (depth >= 0)
    teeth = teeth * np.clip(1.3 - 1.6 * h, 0.0, 1.0)           # fade towards the corners
    shade = 0.78 + 0.22 * np.clip(1.0 - depth, 0.0, 1.0)        # darker at the biting edge
    colour = colour * (1 - teeth) + TEETH_RGB * shade * teeth
    # a partly opened cavity grows from the bottom up instead of fading in everywhere: the
    # upper part keeps the warped pixels (lips, the subject's own teeth), as a half-transparent
    # cavity over them only greys them
    edge = 1.3 * (1.0 - strength) - 0.15
    reveal = np.clip((t - (edge - 0.15)) / 0.3, 0.0, 1.0)
    alpha = mask[..., None] * reveal * reveal * (3.0 - 2.0 * reveal)
    out = rgb.copy()
    patch = out[y0:y1, x0:x1].astype(np.float64)
    out[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
    return out


def _smooth_curve(points: np.ndarray, n: int = 16) -> np.ndarray:
    """A Catmull-Rom curve through `points` [K, 2] (ends kept), sampled at n·(K-1) points."""
    p = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        a, b, c, d = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t ** 2
                          + (3 * b - a - 3 * c + d) * t ** 3))
    out.append(points[-1:])
    return np.concatenate(out)


def fill_eyes(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Paint eyelids over eyes that dst closes (relative to src); returns a copy if changed."""
    import cv2

    src = np.asarray(src_points, np.float64)
    dst = np.asarray(dst_points, np.float64)
    out = rgb
    for k, eye in enumerate(EYES):
        ap_src = eye_aperture(src, k)
        if ap_src <= 0.5:
            continue  # already closed in the source: nothing to hide
        closure = 1.0 - eye_aperture(dst, k) / ap_src
        strength = _smoothstep(0.45, 0.85, closure)
        if strength <= 0.0:
            continue
        c1, u1, u2, c2, l2, l1 = eye
        eye_w = float(np.linalg.norm(dst[c2] - dst[c1]))
        up = -_down(dst)
        lower = dst[[c1, l1, l2, c2]]
        # where the upper lid would be with the source aperture: the lid must cover all of it,
        # or the shadowed crease and lashes stretched down by the warp show through
        upper_open = lower + (src[[c1, u1, u2, c2]] - src[[c1, l1, l2, c2]])
        upper_dst = dst[[c1, u1, u2, c2]]
        upper_open = np.where((upper_open @ up >= upper_dst @ up)[:, None], upper_open, upper_dst)
        lift = np.array([0.03, 0.14, 0.14, 0.03])[:, None] * eye_w * up
        top = _smooth_curve(upper_open + lift, 6)
        bottom = _smooth_curve(lower - 0.03 * eye_w * up, 6)
        lid_poly = np.concatenate([top, bottom[::-1]])
        box = _box(lid_poly, 4, rgb.shape[:2])
        x0, y0, x1, y1 = box
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        mask = _poly_mask(lid_poly, box, feather=max(0.5, 0.05 * eye_w))
        # lid skin: the surrounding skin grown inwards (inpainting), so the lid matches its
        # neighbourhood's colour and shading
        hole = (_poly_mask(lid_poly, box, feather=0) > 0.05).astype(np.uint8)
        hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))
        skin = cv2.inpaint(np.ascontiguousarray(out[y0:y1, x0:x1]), hole,
                           max(2.0, 0.15 * eye_w), cv2.INPAINT_TELEA).astype(np.float64)
        # the lash line: where the closed lid meets the lower lid, a little above it
        lash = _smooth_curve(0.7 * lower + 0.3 * dst[[c1, u1, u2, c2]])
        lash_mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        shift = 4
        pts = np.round((lash - [x0, y0]) * (1 << shift)).astype(np.int32)
        thick = max(1, int(round(0.05 * eye_w)))
        cv2.polylines(lash_mask, [pts], False, 255, thick, cv2.LINE_AA, shift)
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        xs = np.arange(x0, x1, dtype=np.float64)
        # a lash line thins out towards the eye corners (an even stroke reads as a drawn-on
        # marker line) and has soft edges
        u = np.clip((xs - lash[:, 0].min()) / max(float(np.ptp(lash[:, 0])), 1.0), 0.0, 1.0)
        taper = LASH_END_WEIGHT + (1.0 - LASH_END_WEIGHT) * np.sin(np.pi * u) ** 0.7
        soft = cv2.GaussianBlur(lash_mask.astype(np.float32) / 255.0, (0, 0), 0.3 * thick + 0.3)
        lash_a = (np.clip(soft * 1.2, 0.0, 1.0) * taper[None, :])[..., None]
        # the lid is lit from above: a touch darker towards the lash line
        y_top = _curve(top, xs)[None, :]
        y_lash = _curve(lash, xs)[None, :]
        t = np.clip((ys - y_top) / np.maximum(y_lash - y_top, 1.0), 0.0, 1.0)[..., None]
        colour = skin * (1.0 - 0.1 * t) * (1 - lash_a) + skin * 0.4 * lash_a
        alpha = np.maximum(mask[..., None], lash_a) * strength
        if out is rgb:
            out = rgb.copy()
        patch = out[y0:y1, x0:x1].astype(np.float64)
        out[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
    return out
