"""Glasses for the cel-shaded styles: the rims found in the photo around each eye and drawn as
clean strokes in their own colour, a step darker, without ink (docs/styles.md, "Cartoon:
glasses").

A cartoon that redraws the eyes from the landmarks and flattens the skin erases a pair of
glasses whose rims are not much darker than the skin (metal, tortoiseshell, pale plastic); yet
glasses are part of how a person looks. A rim is a thin line — a ridge, dark or light, or the
edge of a thick frame — running round the eye at about half the inter-ocular distance (IOD):

1. **Line strength.** The larger absolute eigenvalue of the Hessian of the lightness at the
   rim's scale (a ridge detector; Lindeberg, "Edge detection and ridge detection with automatic
   scale selection", IJCV 1998), plus the gradient magnitude, normalised by its high percentile
   around the eyes.
2. **One closed rim per eye.** Rays from a point just under the eye's centre, through an
   ellipse of the lens's usual proportions; the radius per ray that maximises the line strength
   with a penalised change from ray to ray (the dynamic programming of style/hair.py) is the
   frame's inner edge, the strongest line 0.03–0.16 IOD further out its outer edge, the photo
   between them its colour along the rim.
3. **Glasses or not.** A face without glasses gives such a path too (brows, lids, the eye
   bags). A rim is real when the path's line strength is well above the band's typical value
   all round — on the lower arc too, over the smooth cheek — on both eyes.
4. **Drawn** as a stroke along the frame in its own colours, a step darker (a pale frame of
   the skin's tone still shows on flat skin), and a bridge over the nose.

Arrays: uint8 RGB [H, W, 3]; `points` iBUG-68 [68, 2] in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import ibug68


@dataclass(frozen=True)
class Rims:
    """Found glasses: per eye the frame's inner edge round the lens and its outer edge (closed
    curves [N, 2] px, point i of both on the same ray) and the photo's colour of the frame
    between them (RGB float [N, 3]: a frame with a dark top bar keeps it); the bridge between
    the lenses ([M, 2] px), its width px and the frame's overall colour (RGB float [3])."""

    rims: tuple[np.ndarray, np.ndarray]
    outer: tuple[np.ndarray, np.ndarray]
    colours: tuple[np.ndarray, np.ndarray]
    bridge: np.ndarray
    width: float
    colour: np.ndarray


def line_strength(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """float32 [H, W]: ridge (either polarity) plus edge strength of the lightness at scale
    `sigma` px."""
    import cv2

    L = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    g = cv2.GaussianBlur(L, (0, 0), sigma)
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
    half = np.sqrt(((dxx - dyy) / 2) ** 2 + dxy ** 2)
    ridge = np.maximum(np.abs((dxx + dyy) / 2 + half), np.abs((dxx + dyy) / 2 - half))
    grad = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    return ridge * sigma * sigma + 0.25 * grad * sigma


def _eye_rays(points: np.ndarray, group: slice, n_angles: int = 120):
    """(centre [2], directions [A, 2] scaled to the lens's ellipse, radii [S] px, angles [A])
    of the rays around one eye."""
    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    eyes = np.array(ibug68.eye_centres(p))
    axis = eyes[1] - eyes[0]
    axis /= np.linalg.norm(axis)
    down = np.array([-axis[1], axis[0]])
    if down[1] < 0:
        down = -down
    centre = p[group].mean(0) + 0.06 * iod * down
    a = np.linspace(-np.pi, np.pi, n_angles, endpoint=False)
    dirs = np.cos(a)[:, None] * axis + 0.72 * np.sin(a)[:, None] * down
    radii = np.arange(0.3 * iod, 0.72 * iod, 0.5)
    return centre, dirs, radii, a


def _circular_smooth(values: np.ndarray, k: int) -> np.ndarray:
    """Moving average of `values` [A] over a closed loop (k odd)."""
    pad = np.concatenate([values[-(k // 2):], values, values[: k // 2]])
    return np.convolve(pad, np.ones(k) / k, "valid")


def find_rims(rgb: np.ndarray, points: np.ndarray, *, level: float = 2.0,
              lower_level: float = 1.7) -> Rims | None:
    """The glasses' rims in the photo rgb uint8 [H, W, 3], or None when the face wears none.

    level / lower_level: the median line strength along a found rim, all round / on its lower
    arc, in units of the median strength in its band, that make it a rim (faces without
    glasses: at most 4.0 all round, where the brows and lids run, and 1.45 on the lower arc;
    Grace Hopper's pale frames: 2.4 and 2.0; dark drawn rims: 4 and 5)."""
    import cv2

    from .hair import best_outline

    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    strength = line_strength(rgb, max(0.8, 0.018 * iod))
    # the eyes' own lines (lids, lashes) are no rim evidence
    features = np.zeros(rgb.shape[:2], np.uint8)
    for group in (ibug68.EYE_RIGHT, ibug68.EYE_LEFT):
        cv2.fillConvexPoly(features, cv2.convexHull(np.round(p[group]).astype(np.int32)), 1)
    features = cv2.dilate(features, np.ones((3, 3), np.uint8), iterations=max(1, int(0.1 * iod)))
    strength = np.where(features > 0, 0.0, strength).astype(np.float32)
    rims, outers, colours = [], [], []
    for group in (ibug68.EYE_RIGHT, ibug68.EYE_LEFT):
        centre, dirs, radii, angles = _eye_rays(p, group)
        n = len(angles)
        pos = centre + radii[None, :, None] * dirs[:, None, :]          # [A, S, 2]
        s = cv2.remap(strength, pos[..., 0].astype(np.float32), pos[..., 1].astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        gain = s / (float(np.median(s)) + 1e-6)
        # a closed loop: the rays are walked round three times and the middle turn kept
        r = best_outline(np.concatenate([gain] * 3), np.zeros(3 * n, int), jump=3,
                         penalty=0.15)[n: 2 * n]
        on = gain[np.arange(n), r]
        if np.median(on) < level or np.median(on[np.sin(angles) > 0.5]) < lower_level:
            return None
        radius = _circular_smooth(radii[r], 15)
        # the frame's outer edge: the strongest line 0.03–0.16 IOD further out on each ray
        step = radii[1] - radii[0]
        ri = np.clip(np.round((radius - radii[0]) / step).astype(int), 0, len(radii) - 1)
        lo, hi = int(round(0.03 * iod / step)), int(round(0.16 * iod / step))
        out_r = np.empty(n)
        for a in range(n):
            k = np.arange(lo, hi)
            vals = np.interp(radius[a] + k * step, radii, s[a])
            out_r[a] = radius[a] + k[int(np.argmax(vals))] * step
        out_r = _circular_smooth(np.maximum(out_r, radius + 0.05 * iod), 15)
        rims.append(centre + radius[:, None] * dirs)
        outers.append(centre + out_r[:, None] * dirs)
        # the frame's colour per ray: the photo between the two edges
        frame_px = []
        for a in range(n):
            ts = np.linspace(radius[a], out_r[a], 5)[1:-1]
            frame_px.append(centre + ts[:, None] * dirs[a])
        frame_px = np.array(frame_px)                                   # [A, 3, 2]
        c = cv2.remap(rgb.astype(np.float32), frame_px[..., 0].astype(np.float32),
                      frame_px[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE).mean(1)         # [A, 3]
        colours.append(np.stack([_circular_smooth(c[:, k], 9) for k in range(3)], 1))
    # the bridge: from each rim's point nearest the nose's root, arched a little upwards
    root = p[ibug68.NOSE_BRIDGE][0]
    ends = [rim[np.argmin(np.linalg.norm(rim - root, axis=1))] for rim in rims]
    lift = np.array(ibug68.eye_centres(p)).mean(0) - p[ibug68.CHIN]
    lift = 0.04 * iod * lift / np.linalg.norm(lift)
    bridge = np.array([ends[0], (ends[0] + ends[1]) / 2 + lift, ends[1]])
    # the rims' colour: the photo along them, away from the lids and brows
    mask = np.zeros(rgb.shape[:2], np.uint8)
    for rim in rims:
        cv2.polylines(mask, [np.round(rim).astype(np.int32)], True, 1, 2)
    mask &= (features == 0).astype(np.uint8)
    colour = np.median(rgb[mask > 0].astype(np.float32), axis=0) if mask.any() else \
        np.array([60, 50, 50], np.float32)
    return Rims((rims[0], rims[1]), (outers[0], outers[1]), (colours[0], colours[1]), bridge,
                max(1.5, 0.04 * iod), colour)


#: a frame is drawn in the photo's colour darkened by this factor: a pale frame of nearly the
#: skin's tone (tortoiseshell, pink plastic) still shows against the flat skin, as a painted
#: shadow would
FRAME_SHADE = 0.6


def draw_rims(canvas: np.ndarray, rims: Rims) -> np.ndarray:
    """Paint the glasses onto canvas float32 [H, W, 3]: each frame a stroke along the middle
    of the photo's frame, 0.6 of its width (at least 1.5 px), in the photo's colours along it
    (FRAME_SHADE darker), and the bridge in the frame's overall colour. (Inked edges on both
    sides read as goggles and cost the person's likeness: dlib's distance of Grace Hopper's
    cartoon rose from 0.56 to 0.60.)"""
    from .toon import paint, smooth_curve, stroke_mask

    shape = canvas.shape
    for inner, outer, colours in zip(rims.rims, rims.outer, rims.colours):
        middle = (inner + outer) / 2
        n = len(middle)
        width = max(1.5, 0.6 * float(np.median(np.linalg.norm(outer - inner, axis=1))))
        for i in range(0, n, 3):  # short overlapping pieces, each in its local colour
            piece = middle[np.arange(i - 1, i + 5) % n]
            canvas = paint(canvas, stroke_mask(shape, piece, width, taper=(1, 1)),
                           colours[(i + 1) % n] * FRAME_SHADE)
    bridge = smooth_curve(rims.bridge, samples=8)
    return paint(canvas, stroke_mask(shape, bridge, max(1.5, 0.6 * rims.width), taper=(1, 1)),
                 rims.colour * FRAME_SHADE)
