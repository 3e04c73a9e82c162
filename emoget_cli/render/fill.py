"""What a geometric warp cannot show: the inside of an opening mouth, and closed eyelids.

A backward warp can only stretch existing pixels (docs/animation.md#occlusion). When the inner-lip
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

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..core.ibug68 import BROW_LEFT, BROW_RIGHT, BROWS, INNER_LIPS, inter_ocular_distance
from .draw_style import PHOTO, DrawStyle

#: (corner_a, upper_a, upper_b, corner_b, lower_b, lower_a) per eye: image-left, image-right.
EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))
#: The brow above each of EYES.
BROW_OF_EYE = (BROW_RIGHT, BROW_LEFT)
TEETH_RGB = np.array([246.0, 242.0, 232.0])
THROAT_FRONT_RGB = np.array([120.0, 38.0, 44.0])
THROAT_BACK_RGB = np.array([38.0, 8.0, 14.0])
TONGUE_RGB = np.array([190.0, 78.0, 88.0])
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
    return float(np.mean([np.dot(points[b] - points[t], down) for t, b in INNER_LIPS]))


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


def _inner_lip_outline(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inner lips of points [68, 2] as smooth curves (the 8-point polygon has straight sides
    and corners): (upper [K, 2], lower [K, 2], both left to right, closed polygon [2K-2, 2])."""
    upper = _smooth_curve(points[[60, 61, 62, 63, 64]], 6)
    lower = _smooth_curve(points[[60, 67, 66, 65, 64]], 6)
    return upper, lower, np.concatenate([upper, lower[::-1][1:-1]])


@dataclass(frozen=True)
class _LipPatch:
    """Where the inner lips of points [68, 2] are drawn over: `box` (x0, y0, x1, y1) px, `mask`
    float [h, w] (the opening's feathered coverage), pixel grids `ys`, `xs` float64 [h, w], and
    the inner upper/lower lip's y per column, `upper`, `lower` float64 [1, w]."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def _lip_patch(points: np.ndarray, shape: tuple[int, int], *, margin: float, feather: float,
               grow: int) -> Optional[_LipPatch]:
    """The inner-lip patch of points [68, 2] in an image of `shape` (h, w), its box `margin`
    px around the opening and its mask grown by `grow` px; None when under 2 px."""
    upper_lip, lower_lip, poly = _inner_lip_outline(points)
    box = _box(poly, margin, shape)
    x0, y0, x1, y1 = box
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    return _LipPatch(box, _poly_mask(poly, box, feather=feather, grow=grow), ys, xs,
                     _curve(upper_lip, xs[0])[None, :], _curve(lower_lip, xs[0])[None, :])


def fill_mouth(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray,
               look: DrawStyle = PHOTO, lower_teeth: Optional[float] = None) -> np.ndarray:
    """Paint a mouth interior where dst opens wider than src; returns a copy (or rgb).

    The cavity is the smoothed inner-lip outline. Inside it, back to front: the throat (darkest
    at the back, i.e. the middle, lighter towards the lips), the tongue filling the lower
    cavity, the lower teeth row along the lower lip and the upper teeth row under the upper lip.
    Teeth rows follow the lips' curves, are tallest in the middle and shortest at the corners,
    where they turn away into shadow; the incisors are split by faint gaps whose spacing narrows
    towards the corners (the dental arch seen from the front). The upper teeth show first and
    most; lower_teeth in [0, 1] (None: from the shape, a wide stretched mouth shows them) sizes
    the lower row, look.teeth both rows (0: a baby's gums). Flat styles (look.shaded False)
    get cel fills: two tones per part.
    """
    src = np.asarray(src_points, np.float64)
    dst = np.asarray(dst_points, np.float64)
    width = float(np.linalg.norm(dst[54] - dst[48]))
    src_open = max(mouth_opening(src), 0.0)
    extra = mouth_opening(dst) - src_open
    # A mouth already open in the source shows its own teeth and the warp stretches them
    # plausibly up to about 1.5x; after that the drawn interior (teeth included) takes over.
    start = 0.03 * width + MOUTH_OWN_STRETCH * src_open
    strength = _smoothstep(start, start + 0.09 * width, extra)
    if strength <= 0.0 or width < 4:
        return rgb
    # grown by a pixel so that the feathered edge does not let stretched lip pixels show
    lips = _lip_patch(dst, rgb.shape[:2], margin=3, feather=max(0.4, 0.008 * width), grow=1)
    if lips is None:
        return rgb
    (x0, y0, x1, y1), mask, ys, xs = lips.box, lips.mask, lips.ys, lips.xs
    upper, lower = lips.upper, lips.lower
    gap = np.maximum(lower - upper, 0.5)
    xc = 0.5 * (dst[60, 0] + dst[64, 0])
    half = max(0.5 * abs(dst[64, 0] - dst[60, 0]), 1.0)
    h = np.clip(np.abs(xs - xc) / half, 0.0, 1.0)
    mid_gap = float(np.max(gap))
    flat = not look.shaded

    def tone(value: np.ndarray, steps: int = 2) -> np.ndarray:
        """Cel shading: a smooth shade quantised to `steps` levels in flat styles."""
        return np.round(value * (steps - 1)) / (steps - 1) if flat else value

    # the throat: darkest at the back (the cavity's middle), lighter towards the lips
    ymid = 0.5 * (upper + lower)
    r = np.hypot(h, (ys - ymid) / (0.5 * gap + 1.0))
    depth = tone(np.clip(1.0 - r, 0.0, 1.0) ** 0.8, 3)[..., None]
    colour = THROAT_FRONT_RGB * (1 - depth) + THROAT_BACK_RGB * depth
    # the tongue: a rounded mound on the cavity floor, visible once the mouth is open enough
    tongue_h = np.clip((mid_gap - 0.15 * width) / (0.3 * width), 0.0, 1.0) * 0.32 * gap
    tongue_top = lower - tongue_h * np.sqrt(np.clip(1.0 - (h / 0.75) ** 2, 0.0, 1.0))
    tongue = _coverage(ys - tongue_top) * (tongue_h > 0.5)
    tongue_shade = tone(np.clip((ys - tongue_top) / np.maximum(tongue_h, 1.0), 0.0, 1.0))
    tongue_rgb = TONGUE_RGB * (0.6 + 0.4 * tongue_shade)[..., None]   # darker at the back
    colour = _mix(colour, tongue_rgb, tongue)
    # teeth rows: tallest in the middle, following the lip curve, fading to the corners
    arch = np.sqrt(np.clip(1.0 - (h / 0.92) ** 2, 0.0, 1.0))
    up_h = min(0.12 * width, 0.36 * mid_gap) * arch * look.teeth
    if lower_teeth is None:
        stretch = width / max(float(np.linalg.norm(src[54] - src[48])), 1.0)
        lower_teeth = _smoothstep(1.02, 1.15, stretch) * _smoothstep(0.25, 0.45, mid_gap / width)
    lo_h = min(0.08 * width, 0.24 * mid_gap) * arch * float(lower_teeth) * look.teeth
    gaps = _tooth_gaps(xs, xc, half, width)
    corner_dark = (1.0 - 0.5 * tone(h ** 2, 3))[..., None]
    for top, height, sign in ((upper, up_h, 1.0), (lower, lo_h, -1.0)):
        if float(np.max(height)) < 0.5:
            continue
        edge = top + sign * height                       # the biting edge
        inside = _coverage(sign * (edge - ys)) * (height > 0.3)
        # shaded: the lip casts a shadow on the gum end of the teeth
        t = np.clip(sign * (ys - top) / np.maximum(height, 1.0), 0.0, 1.0)
        shade = tone(0.82 + 0.18 * np.clip(t * 3.0, 0.0, 1.0))[..., None]
        teeth_rgb = TEETH_RGB * shade * corner_dark * (1.0 - 0.22 * gaps[..., None])
        colour = _mix(colour, teeth_rgb, inside)
    # a partly opened interior grows from the bottom up instead of fading in everywhere: the
    # upper part keeps the warped pixels (lips, the subject's own teeth) until the drawn teeth
    # take over, as a half-transparent throat over them only greys them
    t = np.clip((ys - upper) / gap, 0.0, 1.0)
    edge = 1.3 * (1.0 - strength) - 0.15
    reveal = np.clip((t - (edge - 0.15)) / 0.3, 0.0, 1.0)
    alpha = mask * reveal * reveal * (3.0 - 2.0 * reveal)
    out = rgb.copy()
    patch = out[y0:y1, x0:x1].astype(np.float64)
    out[y0:y1, x0:x1] = np.clip(_mix(patch, colour, alpha) + 0.5, 0, 255).astype(np.uint8)
    return out


def _lip_colour(rgb: np.ndarray, poly: np.ndarray) -> Optional[np.ndarray]:
    """Median RGB (float [3]) of the lip pixels inside `poly` [K, 2] (bright, unsaturated tooth
    pixels left out); None when the lip is too thin to sample."""
    box = _box(poly, 0, rgb.shape[:2])
    x0, y0, x1, y1 = box
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    inside = _poly_mask(poly, box, feather=0.0) > 0.99
    pixels = rgb[y0:y1, x0:x1][inside].astype(np.float64)
    if len(pixels) == 0:
        return None
    lum = pixels @ [0.299, 0.587, 0.114]
    toothy = (lum > 170) & (np.ptp(pixels, axis=1) < 60)
    # ink lines (inked styles outline the lips, and can cover most of a thin lip) and the
    # mouth's shadow are not lip colour: keep the lighter two thirds of what is left
    lippy = ~toothy & (lum >= np.percentile(lum[~toothy], 35) if np.any(~toothy) else ~toothy)
    if np.count_nonzero(lippy) >= 3:
        pixels = pixels[lippy]
    elif np.count_nonzero(~toothy) >= 3:
        pixels = pixels[~toothy]
    return np.median(pixels, axis=0)


def shut_lips(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray,
              look: DrawStyle = PHOTO) -> np.ndarray:
    """Paint the lips shut where dst (nearly) closes a mouth the source showed open; returns a
    copy (or rgb).

    Closing the inner lips of an open source mouth squeezes the source's own teeth into a thin
    bright line between them: the warp cannot hide pixels. Between the destination's inner-lip
    curves (grown by a feathered couple of pixels) we paint lip: the photo's upper-lip colour
    above the midline, its lower-lip colour below, a darker line where they meet. The paint
    comes in with the closure (how far the gap shrank, how small it is now), so frame 0, the
    photo itself, is untouched and a loop eases in and out. Flat styles (look.shaded False)
    get flat lip tones; shaded ones darken slightly towards the meeting line.
    """
    src = np.asarray(src_points, np.float64)
    dst = np.asarray(dst_points, np.float64)
    width = float(np.linalg.norm(dst[54] - dst[48]))
    if width < 4:
        return rgb
    dst_open = max(mouth_opening(dst), 0.0)
    shrunk = max(mouth_opening(src), 0.0) - dst_open
    presence = (_smoothstep(0.02 * width, 0.07 * width, shrunk)
                * (1.0 - _smoothstep(0.055 * width, 0.09 * width, dst_open)))
    if presence <= 0.0:
        return rgb
    upper_lip, lower_lip, _ = _inner_lip_outline(dst)
    top = _lip_colour(rgb, np.concatenate([dst[[48, 49, 50, 51, 52, 53, 54]], upper_lip[::-1]]))
    bottom = _lip_colour(rgb, np.concatenate([dst[[54, 55, 56, 57, 58, 59, 48]], lower_lip]))
    if top is None and bottom is None:
        return rgb
    top = bottom if top is None else top
    bottom = top if bottom is None else bottom
    # grown by two pixels: the warp smears the squeezed teeth a little past the lip line
    lips = _lip_patch(dst, rgb.shape[:2], margin=4, feather=max(0.5, 0.01 * width), grow=2)
    if lips is None:
        return rgb
    (x0, y0, x1, y1), mask, ys, xs = lips.box, lips.mask, lips.ys, lips.xs
    upper, lower = lips.upper, lips.lower
    # the lips meet along a smooth line (a quadratic through the inner-lip pairs' midpoints):
    # the landmarks' small kinks would otherwise draw a zigzag seam
    pairs = np.array([dst[60]] + [0.5 * (dst[t] + dst[b]) for t, b in INNER_LIPS] + [dst[64]])
    fit = np.polyfit(pairs[:, 0], pairs[:, 1], 2)
    mid = np.clip(np.polyval(fit, xs[0]), np.minimum(upper, lower), np.maximum(upper, lower))
    below = _coverage(ys - mid)[..., None]                 # anti-aliased upper/lower split
    colour = top * (1.0 - below) + bottom * below
    line_w = max(0.7, 0.018 * width)
    if look.shaded:   # a soft shadow into the lips' meeting line
        dist = np.abs(ys - mid)
        colour = colour * (1.0 - 0.18 * np.exp(-(dist / (3.0 * line_w)) ** 2))[..., None]
    meet = _coverage(0.5 * line_w - np.abs(ys - mid))
    colour = _mix(colour, 0.62 * (0.5 * (top + bottom)), meet)
    alpha = mask * presence
    out = rgb.copy()
    patch = out[y0:y1, x0:x1].astype(np.float64)
    out[y0:y1, x0:x1] = np.clip(_mix(patch, colour, alpha) + 0.5, 0, 255).astype(np.uint8)
    return out


def _coverage(signed: np.ndarray) -> np.ndarray:
    """Pixel coverage of the region `signed` > 0 (a signed distance in pixels): one-pixel
    analytic anti-aliasing."""
    return np.clip(signed + 0.5, 0.0, 1.0)


def _mix(under: np.ndarray, over: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None] if alpha.ndim == under.ndim - 1 else alpha
    return under * (1.0 - a) + over * a


def _tooth_gaps(xs: np.ndarray, xc: float, half: float, width: float) -> np.ndarray:
    """Darkness [h, w] in [0, 1] of the gaps between teeth: the dental arch seen from the
    front puts a tooth every equal angle, so gaps crowd towards the corners (x = sin θ)."""
    u = np.clip((xs - xc) / (1.04 * half), -1.0, 1.0)
    theta = np.arcsin(u)
    step = 0.46                                           # radians per incisor
    k = np.round(theta / step)
    edge_x = xc + 1.04 * half * np.sin(k * step)
    dist = np.abs(xs - edge_x)
    line = max(0.3, 0.005 * width)
    return np.exp(-(dist / line) ** 2) * (np.abs(u) < 0.93)


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


def fill_eyes(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray,
              look: DrawStyle = PHOTO) -> np.ndarray:
    """Paint eyelids over eyes that dst closes (relative to src); returns a copy if changed.

    The lid is the surrounding skin grown inwards (flat styles: its median colour, a cel fill),
    never reaching above the brow's lower edge (so a style's brow line survives), with a crisp
    anti-aliased lash line in the style's ink, bowed down like a closed eye's, thinning to the
    corners, and a few lashes at the outer corner.
    """
    import cv2

    src = np.asarray(src_points, np.float64)
    dst = np.asarray(dst_points, np.float64)
    iod = max(inter_ocular_distance(dst), 1.0)
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
        top = upper_open + np.array([0.03, 0.14, 0.14, 0.03])[:, None] * eye_w * up
        # ... but never over the brow: keep a gap below its landmarks (its middle line), wider
        # in the inked styles so that the brow's ink line survives whole
        brow = dst[BROW_OF_EYE[k]]
        brow_floor = float(np.min(brow @ up)) - (0.06 if look.shaded else 0.12) * iod
        height = top @ up
        top = top - np.maximum(height - brow_floor, 0.0)[:, None] * up
        top = _smooth_curve(top, 6)
        bottom = _smooth_curve(lower - 0.03 * eye_w * up, 6)
        lid_poly = np.concatenate([top, bottom[::-1]])
        box = _box(lid_poly, 4, rgb.shape[:2])
        x0, y0, x1, y1 = box
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        mask = _poly_mask(lid_poly, box, feather=max(0.5, 0.04 * eye_w))
        hole = (_poly_mask(lid_poly, box, feather=0) > 0.05).astype(np.uint8)
        hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))
        patch_u8 = np.ascontiguousarray(out[y0:y1, x0:x1])
        if look.shaded:  # the surrounding skin grown inwards: it matches its shading
            skin = cv2.inpaint(patch_u8, hole, max(2.0, 0.15 * eye_w),
                               cv2.INPAINT_TELEA).astype(np.float64)
        else:            # cel: one flat skin colour, the ring around the lid's
            ring = cv2.dilate(hole, np.ones((5, 5), np.uint8)) > hole
            tone = np.median(patch_u8[ring], axis=0) if ring.any() else patch_u8.mean((0, 1))
            skin = np.broadcast_to(tone.astype(np.float64), patch_u8.shape).copy()
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        xs = np.arange(x0, x1, dtype=np.float64)
        # the lash line: where the closed lid meets the lower lid, bowed down a little
        lash_pts = 0.7 * lower + 0.3 * dst[[c1, u1, u2, c2]]
        lash_pts = lash_pts - np.array([0.0, 0.12, 0.12, 0.0])[:, None] * eye_w * up
        lash = _smooth_curve(lash_pts, 8)
        y_top = _curve(top, xs)[None, :]
        y_lash = _curve(lash, xs)[None, :]
        t = np.clip((ys - y_top) / np.maximum(y_lash - y_top, 1.0), 0.0, 1.0)[..., None]
        colour = skin * (1.0 - (0.1 if look.shaded else 0.06) * t)   # lit from above
        alpha = mask * strength
        patch = out[y0:y1, x0:x1].astype(np.float64)
        patch = _mix(patch, colour, alpha)
        # crisp ink: a stroke of width ~ink, tapering to the corners, and three outer lashes
        ink_w = max(0.9, (look.ink_width * 0.9 + 0.006) * iod)
        u = np.linspace(0.0, 1.0, len(lash))
        widths = ink_w * (LASH_END_WEIGHT + (1 - LASH_END_WEIGHT) * np.sin(np.pi * u) ** 0.6)
        cover = _stroke_coverage(xs, ys, lash, widths)
        outer = lash[-1] if k == 1 else lash[0]     # the eye's outer corner: away from the nose
        side = (lash[-1] - lash[0]) / max(float(np.linalg.norm(lash[-1] - lash[0])), 1e-6)
        side = side if k == 1 else -side
        for j, angle in enumerate((0.35, 0.8, 1.25)):
            d = np.cos(angle) * side - np.sin(angle) * up
            base = outer - side * (0.1 + 0.12 * j) * eye_w
            seg = np.stack([base, base + d * 0.13 * eye_w])
            # photo-like styles: fine, lighter lashes (a drawn lash reads as ink on a photo)
            lash_w, lash_a = (ink_w * 0.6, 0.55) if look.shaded else (ink_w * 0.8, 1.0)
            cover = np.maximum(cover, lash_a * _stroke_coverage(xs, ys, seg,
                                                                np.array([lash_w, 0.3])))
        # photo-like styles: the lash line is the lid's skin darkened (a real lash line is
        # a dark shade of its surroundings); inked styles: the ink
        ink = skin * 0.42 if look.shaded else np.broadcast_to(
            np.asarray(look.ink_rgb, np.float64), patch.shape)
        patch = _mix(patch, ink, cover * strength * 0.9)
        if out is rgb:
            out = rgb.copy()
        out[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
    return out


def _stroke_coverage(xs: np.ndarray, ys: np.ndarray, path: np.ndarray,
                     widths: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage [h, w] of a stroke along path [K, 2] whose width goes linearly
    from widths[0] to widths[-1] (or per point when len(widths) == K)."""
    gx, gy = np.broadcast_arrays(xs[None, :] if xs.ndim == 1 else xs, ys)
    a, b = path[:-1], path[1:]
    if len(widths) != len(path):
        widths = np.interp(np.linspace(0, 1, len(path)), [0, 1], [widths[0], widths[-1]])
    px, py = gx[..., None], gy[..., None]
    ab = b - a
    t = np.clip(((px - a[:, 0]) * ab[:, 0] + (py - a[:, 1]) * ab[:, 1])
                / np.maximum((ab ** 2).sum(1), 1e-9), 0.0, 1.0)
    dist = np.hypot(px - a[:, 0] - t * ab[:, 0], py - a[:, 1] - t * ab[:, 1])
    half = 0.5 * (widths[:-1] * (1 - t) + widths[1:] * t)
    return np.clip(0.5 - (dist - half), 0.0, 1.0).max(-1)


def find_iris(rgb: np.ndarray, points: np.ndarray, eye: int) -> Optional[tuple[np.ndarray, float]]:
    """(centre [2], radius) of the iris of eye 0/1 in rgb [H, W, 3] with points [68, 2], or
    None. The lid margins (lashes, dark too) are cut off first; the centre's x is the darkness
    centroid of what is left, its y a little above the middle of the opening there (the upper
    lid covers more of the iris than the lower); the radius is half the widest dark run, kept
    within 0.17..0.27 of the eye's width (an adult iris is about 0.21 of it)."""
    import cv2

    p = np.asarray(points, np.float64)[list(EYES[eye])]
    width = float(np.linalg.norm(p[3] - p[0]))
    if width < 6:
        return None
    box = _box(p, 1, rgb.shape[:2])
    x0, y0, x1, y1 = box
    upper, lower = _smooth_curve(p[[0, 1, 2, 3]], 4), _smooth_curve(p[[3, 4, 5, 0]], 4)
    inside = _poly_mask(np.concatenate([upper, lower]), box, 0) > 0.5
    margin = max(1, int(round(0.06 * width)))
    core = cv2.erode(inside.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    if core.sum() < 6:
        core = inside
    if core.sum() < 4:
        return None
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(float)
    vals = grey[core]
    lo, hi = np.percentile(vals, 5), np.percentile(vals, 95)
    darkness = np.clip((lo + 0.6 * (hi - lo) - grey) / max(hi - lo, 1.0), 0.0, None) * core
    if darkness.sum() <= 0:
        return None
    xs = np.arange(x0, x1, dtype=np.float64)
    cx = float((darkness.sum(0) * xs).sum() / darkness.sum())
    top, bottom = float(_curve(upper, np.array([cx]))[0]), float(_curve(lower, np.array([cx]))[0])
    cy = 0.5 * (top + bottom) - 0.08 * (bottom - top)
    runs = (darkness > 0).sum(1)
    radius = float(np.clip(0.5 * runs.max(), 0.17 * width, 0.27 * width))
    return np.array([cx, cy], np.float64), radius


_IRIS_CACHE: dict = {}


def _iris_cached(rgb: np.ndarray, points: np.ndarray, eye: int):
    """find_iris, remembered for the source of an animation (the same for all its frames)."""
    x0, y0, x1, y1 = _box(np.asarray(points, np.float64)[list(EYES[eye])], 1, rgb.shape[:2])
    key = (points.tobytes(), eye, hash(rgb[y0:y1, x0:x1].tobytes()))
    if key not in _IRIS_CACHE:
        if len(_IRIS_CACHE) > 16:
            _IRIS_CACHE.clear()
        _IRIS_CACHE[key] = find_iris(rgb, points, eye)
    return _IRIS_CACHE[key]


def round_irises(rgb: np.ndarray, source_rgb: np.ndarray, src_points: np.ndarray,
                 dst_points: np.ndarray, look: DrawStyle = PHOTO) -> np.ndarray:
    """Where dst opens an eye wider than src (AU5), the warp stretches the iris into an upright
    ellipse. Repaint the opening: sclera (the source's own white, shaded under the upper lid)
    and the source iris moved, not stretched: a circle of its radius, its hidden top filled with
    the iris colour and a darker limbal ring. Returns a copy (or rgb when no eye widened)."""
    src = np.asarray(src_points, np.float64)
    dst = np.asarray(dst_points, np.float64)
    out = rgb
    for k, eye in enumerate(EYES):
        ap_src = eye_aperture(src, k)
        if ap_src <= 1.0:
            continue
        strength = _smoothstep(1.06, 1.3, eye_aperture(dst, k) / ap_src)
        if strength <= 0.0:
            continue
        found = _iris_cached(source_rgb, src, k)
        if found is None:
            continue
        c_src, r = found
        idx = list(eye)
        # where the iris centre goes: the eye's own affine motion (least squares over its points)
        A = np.hstack([src[idx], np.ones((6, 1))])
        affine, *_ = np.linalg.lstsq(A, dst[idx], rcond=None)
        c_dst = np.append(c_src, 1.0) @ affine
        opening = np.concatenate([_smooth_curve(dst[idx][[0, 1, 2, 3]], 6),
                                  _smooth_curve(dst[idx][[3, 4, 5, 0]], 6)])
        box = _box(np.vstack([opening, c_dst + r, c_dst - r]), 2, rgb.shape[:2])
        x0, y0, x1, y1 = box
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        mask = _poly_mask(opening, box, feather=0.4)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        # the sclera: the bright part of the source eye, shaded under the upper lid
        s_box = _box(src[idx], 0, source_rgb.shape[:2])
        s_patch = source_rgb[s_box[1]:s_box[3], s_box[0]:s_box[2]].reshape(-1, 3).astype(float)
        lum = s_patch.mean(1)
        white = np.median(s_patch[lum >= np.percentile(lum, 85)], axis=0)
        white = 0.6 * white + 0.4 * np.array([245.0, 243.0, 238.0])
        y_up = _curve(_smooth_curve(dst[idx][[0, 1, 2, 3]], 6), xs[0])[None, :]
        lid_shadow = np.exp(-np.maximum(ys - y_up, 0.0) / max(0.35 * r, 0.8))
        colour = white * (1.0 - (0.22 if look.shaded else 0.15) * lid_shadow)[..., None]
        # the iris: source pixels where the source showed them, its colour where lids hid it
        sx, sy = xs - c_dst[0] + c_src[0], ys - c_dst[1] + c_src[1]
        src_vis = _poly_mask(np.concatenate([_smooth_curve(src[idx][[0, 1, 2, 3]], 6),
                                             _smooth_curve(src[idx][[3, 4, 5, 0]], 6)])
                             - [x0 - (c_src[0] - c_dst[0]), y0 - (c_src[1] - c_dst[1])],
                             (0, 0, x1 - x0, y1 - y0), feather=0.6)
        import cv2

        moved = cv2.remap(np.ascontiguousarray(source_rgb), sx.astype(np.float32),
                          sy.astype(np.float32), cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
        dist = np.hypot(xs - c_dst[0], ys - c_dst[1])
        disk = np.clip(r - dist + 0.5, 0.0, 1.0)
        s_disk = np.clip(r - np.hypot(sx - c_src[0], sy - c_src[1]) - 0.5, 0.0, 1.0)
        iris_px = moved.reshape(-1, 3)[(s_disk * src_vis).reshape(-1) > 0.9]
        iris_rgb = np.median(iris_px, axis=0) if len(iris_px) else np.array([70.0, 50.0, 40.0])
        synth = iris_rgb * (1.0 - 0.35 * np.clip((dist - 0.7 * r) / (0.3 * r), 0.0, 1.0))[..., None]
        pupil = np.clip(0.42 * r - dist + 0.5, 0.0, 1.0)
        synth = _mix(synth, np.array([12.0, 10.0, 12.0]), pupil)
        iris = _mix(synth, moved, src_vis * s_disk)
        colour = _mix(colour, iris * (1.0 - 0.25 * lid_shadow)[..., None], disk)
        if out is rgb:
            out = rgb.copy()
        patch = out[y0:y1, x0:x1].astype(np.float64)
        out[y0:y1, x0:x1] = np.clip(_mix(patch, colour, mask * strength) + 0.5, 0,
                                    255).astype(np.uint8)
    return out


def _feature(rgb: np.ndarray, path: np.ndarray, width: float, opacity: float,
             look: DrawStyle) -> np.ndarray:
    """Draw one fold / furrow line along path [K, 2] (pixels), `width` px in the middle and
    tapering to nothing at both ends: a crease shadow (the skin darkened) in shaded styles, the
    style's ink in flat ones. Modifies and returns rgb (uint8 [H, W, 3])."""
    if opacity <= 0.01 or width <= 0.2:
        return rgb
    box = _box(path, width + 2, rgb.shape[:2])
    x0, y0, x1, y1 = box
    if x1 - x0 < 2 or y1 - y0 < 2:
        return rgb
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u = np.linspace(0.0, 1.0, len(path))
    widths = width * np.sin(np.pi * u) ** 0.8 + 0.15
    cover = _stroke_coverage(xs, ys, path, widths) * opacity
    patch = rgb[y0:y1, x0:x1].astype(np.float64)
    if look.shaded:
        patch = patch * (1.0 - 0.5 * cover[..., None])
    else:
        patch = _mix(patch, np.asarray(look.ink_rgb, np.float64), cover)
    rgb[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
    return rgb


def draw_features(rgb: np.ndarray, points: np.ndarray, look: DrawStyle, units: dict) -> np.ndarray:
    """Folds and furrows the action units make (positions from the frame's landmarks, sizes in
    inter-ocular distances): nasolabial folds (AU12 smile / AU10), lower-lid creases of the
    cheek raise (AU6), glabella furrows (AU4), nose-bridge wrinkles (AU9), horizontal forehead
    lines (AU1+2). rgb uint8 [H, W, 3]; returns a copy (or rgb when nothing is active)."""
    pts = np.asarray(points, np.float64)
    iod = max(inter_ocular_distance(pts), 1.0)

    def level(au: str, side: int) -> float:
        pair = units.get(au, (0.0, 0.0))
        return float(pair[side])

    def both(au: str) -> float:
        return max(level(au, 0), level(au, 1))

    strength = look.feature_strength
    ink = max(0.6, (look.ink_width * 0.8 + 0.006) * iod)
    down = _down(pts)
    right = np.array([-down[1], down[0]])
    if np.dot(right, pts[45] - pts[36]) < 0:
        right = -right
    lines: list[tuple[np.ndarray, float, float]] = []   # (path, width, opacity)
    for side, (wing, corner, outer_eye, lid) in enumerate(((31, 48, 36, (41, 40)),
                                                             (35, 54, 45, (47, 46)))):
        out_dir = -right if side == 0 else right
        smile = max(level("12", side), 0.7 * level("10", side))
        if smile > 0.05:   # nasolabial fold: nose wing, outside the mouth corner, below it
            a = pts[wing] + out_dir * 0.1 * iod - down * 0.02 * iod
            c = pts[corner] + out_dir * 0.09 * iod + down * 0.06 * iod
            b = 0.5 * (a + c) + out_dir * 0.07 * iod
            lines.append((_smooth_curve(np.stack([a, b, c]), 3), ink * 1.2, 0.75 * smile))
        cheek = level("6", side)
        if cheek > 0.05:   # the lower-lid crease of a raised cheek
            lid_mid = pts[list(lid)].mean(0)
            inner = lid_mid + down * 0.12 * iod - out_dir * 0.1 * iod
            outer = pts[outer_eye] + down * 0.08 * iod + out_dir * 0.02 * iod
            mid = 0.5 * (inner + outer) + down * 0.05 * iod
            lines.append((_smooth_curve(np.stack([inner, mid, outer]), 3), ink * 0.8,
                          0.35 * cheek))
    frown = both("4")
    if frown > 0.05:       # glabella: two short vertical furrows between the inner brow ends
        mid = 0.5 * (pts[21] + pts[22])
        for s in (-1.0, 1.0):
            top = mid + right * s * 0.07 * iod - down * 0.02 * iod
            bottom = mid + right * s * 0.05 * iod + down * 0.2 * iod
            bend = 0.5 * (top + bottom) + right * s * 0.02 * iod
            lines.append((_smooth_curve(np.stack([top, bend, bottom]), 3), ink * 1.1, 0.8 * frown))
    sneer = both("9")
    if sneer > 0.05:       # nose wrinkles: short arcs across the bridge
        for k, t in enumerate((0.35, 0.6)):
            c = pts[27] + (pts[30] - pts[27]) * t
            for s in (-1.0, 1.0):
                a = c + right * s * 0.04 * iod
                b = c + right * s * 0.2 * iod + down * 0.05 * iod
                m = 0.5 * (a + b) - down * 0.035 * iod
                lines.append((_smooth_curve(np.stack([a, m, b]), 3), ink, 0.8 * sneer))
    raise_ = min(both("1"), both("2")) if "2" in units else 0.0
    if raise_ > 0.05:      # horizontal forehead lines over raised brows
        brow_top = pts[BROWS]
        base = brow_top.mean(0) - down * 0.3 * iod
        for k in range(2):
            c = base - down * 0.14 * k * iod
            a, b = c - right * 0.42 * iod, c + right * 0.42 * iod
            m1 = a + (b - a) * 0.33 - down * 0.03 * iod
            m2 = a + (b - a) * 0.66 - down * 0.03 * iod
            lines.append((_smooth_curve(np.stack([a, m1, m2, b]), 3), ink * 0.9,
                          0.5 * raise_))
    if not lines:
        return rgb
    out = rgb.copy()
    for path, width, opacity in lines:
        out = _feature(out, path, width, opacity * strength, look)
    return out


def paint_face(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray,
               look: DrawStyle = PHOTO, units: Optional[dict] = None,
               source_rgb: Optional[np.ndarray] = None) -> np.ndarray:
    """Everything a warp cannot show, for one frame: the mouth interior, closed lids, round
    irises in widened eyes, and the folds and furrows of the active action units.

    rgb uint8 [H, W, 3] (the warped frame); src/dst points [68, 2]; units: action unit code →
    (right, left) activity in [0, 1] of this frame (None or {}: geometry only); source_rgb
    uint8 [H, W, 3]: the unwarped face (its irises are moved, not stretched; None: skipped).
    """
    units = units or {}
    lower = None
    if units:
        def level(au: str) -> float:
            return max(units.get(au, (0.0, 0.0)))

        # laughter and fear bare the lower teeth: the stretched (AU20) or wide-open (AU26+12) mouth
        lower = min(1.0, max(level("20"), level("26") * level("12") * 1.5, level("27")))
    out = fill_mouth(rgb, src_points, dst_points, look, lower_teeth=lower)
    out = shut_lips(out, src_points, dst_points, look)
    if source_rgb is not None:
        out = round_irises(out, source_rgb, src_points, dst_points, look)
    out = fill_eyes(out, src_points, dst_points, look)
    if units:
        out = draw_features(out, dst_points, look, units)
    return out
