"""Emoticon effects: tears, sweat drops, anger veins, blush, hearts, zzz... drawn per frame.

    names = parse_effects("auto", "sadness")            # ("tears", "gloom")
    layer = draw_effects(points, phase, presence, names, draw_style("cartoon"), (H, W))
    rgb, alpha = composite(rgb, alpha, layer)           # premultiplied "over"

Every effect is a procedural vector drawing (docs/effects.md has the conventions and sources):
shapes are signed-distance functions evaluated per pixel, so their edges are anti-aliased
analytically (coverage = clamp(0.5 - d, 0, 1), a one-pixel box filter) at any resolution. All
sizes are shares of the inter-ocular distance (IOD) and all positions are in the face's own
frame (origin between the eyes, x towards the image-right eye, y down the face) of the frame's
landmarks, so effects follow the head. Motion is a function of the loop phase s in [0, 1) with
whole numbers of cycles per loop, so the last frame flows into the first; an effect fades with
the expression's presence (0 at rest, 1 at the apex). The layer is RGBA, premultiplied, drawn
after the warp and the head matte: transparent output keeps the effects and nothing else.

Points are float [68, 2] (x, y) pixels in iBUG-68 order; layers float32 [H, W, 4] in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..core import choices, ibug68
from ..core.errors import UsageError
from .draw_style import DrawStyle

# ------------------------------------------------------------------------------ the palette --

TEAR_RGB = (120, 190, 255)
SWEAT_RGB = (160, 215, 255)
VEIN_RGB = (235, 40, 50)
FLUSH_RGB = (235, 40, 30)
BLUSH_RGB = (255, 105, 130)
HEART_RGB = (240, 50, 95)
SPARKLE_RGB = (255, 236, 130)
BURST_RGB = (255, 214, 60)
GLOOM_RGB = (80, 70, 135)
PALE_RGB = (120, 150, 230)
ZZZ_RGB = (200, 225, 255)
WHITE = (255, 255, 255)

#: Expressions' default effects (`--effects auto`) when the expression library does not name
#: its own (an `effects` attribute on motion.expressions.Expression wins).
AUTO_EFFECTS: dict[str, tuple[str, ...]] = {
    "happiness": ("blush", "sparkles"),
    "surprise": ("exclaim",),
    "sadness": ("tears", "gloom"),
    "anger": ("vein", "flush"),
    "disgust": ("gloom",),
    "fear": ("sweat", "pale"),
    "wink": ("sparkles",),
    "laugh": ("blush", "tears"),
    "love": ("hearts", "blush"),
    "cry": ("stream", "gloom"),
    "sleepy": ("zzz",),
    "kiss": ("hearts",),
    "shocked": ("exclaim", "pale", "sweat"),
    "smug": ("sparkles",),
    "nervous": ("sweat", "blush"),
    "embarrassed": ("blush", "sweat"),
}


# ------------------------------------------------------------------------ the face's frame --

@dataclass(frozen=True)
class FaceFrame:
    """The face's own frame in one image: origin between the eye centres, `ex` towards the
    image-right eye, `ey` down the face (both unit [2]), `iod` pixels per unit."""

    origin: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    iod: float

    @classmethod
    def of(cls, points: np.ndarray) -> "FaceFrame":
        left, right = ibug68.eye_centres(points)
        ex = right - left
        iod = max(float(np.linalg.norm(ex)), 1e-6)
        ex = ex / iod
        ey = np.array([-ex[1], ex[0]])  # image y grows downwards: this points to the chin
        if np.dot(ey, np.asarray(points, np.float64)[ibug68.CHIN] - left) < 0:
            ey = -ey
        return cls(0.5 * (left + right), ex, ey, iod)

    def to_image(self, local) -> np.ndarray:
        """Face units [..., 2] → image pixels [..., 2]."""
        q = np.asarray(local, np.float64)
        return self.origin + self.iod * (q[..., :1] * self.ex + q[..., 1:2] * self.ey)

    def to_local(self, image_xy) -> np.ndarray:
        """Image pixels [..., 2] → face units [..., 2]."""
        d = (np.asarray(image_xy, np.float64) - self.origin) / self.iod
        return np.stack([d @ self.ex, d @ self.ey], axis=-1)


# ------------------------------------------------------------------ signed distance shapes --
# Every shape maps local coordinates qx, qy (arrays, shape units) to a signed distance in the
# same units, negative inside.

Sdf = Callable[[np.ndarray, np.ndarray], np.ndarray]


def sdf_circle(r: float) -> Sdf:
    return lambda x, y: np.hypot(x, y) - r


def sdf_ellipse(rx: float, ry: float) -> Sdf:
    """Approximate (exact on the axes; good enough for coverage near the edge)."""
    k = min(rx, ry)
    return lambda x, y: (np.hypot(x / rx, y / ry) - 1.0) * k


def _segments_distance(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (x, y) [...] to the nearest of segments a[K]→b[K] ([K, 2] each)."""
    px, py = x[..., None], y[..., None]
    ab = b - a
    denom = np.maximum((ab ** 2).sum(1), 1e-12)
    t = np.clip(((px - a[:, 0]) * ab[:, 0] + (py - a[:, 1]) * ab[:, 1]) / denom, 0.0, 1.0)
    dx, dy = px - (a[:, 0] + t * ab[:, 0]), py - (a[:, 1] + t * ab[:, 1])
    return np.sqrt((dx * dx + dy * dy).min(-1))


def sdf_stroke(polyline, half_width: float) -> Sdf:
    """A round-capped stroke along polyline [K, 2] (shape units), `half_width` either side."""
    p = np.asarray(polyline, np.float64)
    return lambda x, y: _segments_distance(x, y, p[:-1], p[1:]) - half_width


def sdf_polygon(vertices) -> Sdf:
    """Exact signed distance to a simple closed polygon [K, 2] (even-odd inside test)."""
    v = np.asarray(vertices, np.float64)
    a, b = v, np.roll(v, -1, axis=0)

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d = _segments_distance(x, y, a, b)
        px, py = x[..., None], y[..., None]
        crosses = ((a[:, 1] > py) != (b[:, 1] > py)) & (
            px < (b[:, 0] - a[:, 0]) * (py - a[:, 1]) / (b[:, 1] - a[:, 1] + 1e-12) + a[:, 0])
        inside = crosses.sum(-1) % 2 == 1
        return np.where(inside, -d, d)

    return sdf


def sdf_arc(centre, radius: float, mid_angle: float, half_span: float, half_width: float) -> Sdf:
    """A round-capped stroke along the circular arc of `radius` around `centre` [2], over the
    angles mid_angle ± half_span (radians, image orientation): exact, O(pixels)."""
    cx, cy = float(centre[0]), float(centre[1])
    ends = [(cx + radius * math.cos(mid_angle + s * half_span),
             cy + radius * math.sin(mid_angle + s * half_span)) for s in (-1.0, 1.0)]

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = x - cx, y - cy
        turn = np.angle(np.exp(1j * (np.arctan2(dy, dx) - mid_angle)))
        on_arc = np.abs(np.hypot(dx, dy) - radius)
        to_end = np.minimum(np.hypot(x - ends[0][0], y - ends[0][1]),
                            np.hypot(x - ends[1][0], y - ends[1][1]))
        return np.where(np.abs(turn) <= half_span, on_arc, to_end) - half_width

    return sdf


def sdf_drop() -> Sdf:
    """A drop, tip up: an 'uneven capsule' (two circles joined by their common tangents), the
    round part of radius 0.5 centred at (0, 0.45), the tip of radius 0.04 at (0, -0.95): exact,
    O(pixels) (the 2D distance functions of Quilez, see docs/effects.md)."""
    r1, r2, h = 0.5, 0.04, 1.4
    b = (r1 - r2) / h
    a = math.sqrt(1.0 - b * b)

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px, py = np.abs(x), 0.45 - y                     # y up, from the round part's centre
        k = -b * px + a * py
        return np.where(k < 0.0, np.hypot(px, py) - r1,
                        np.where(k > a * h, np.hypot(px, py - h) - r2, a * px + b * py - r1))

    return sdf


def sdf_heart() -> Sdf:
    """A heart about 2 wide, its dip up, its tip at y = 1.06: exact, O(pixels) (Quilez)."""
    k = 1.65                                              # shape units per unit heart

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px, py = np.abs(x) / k, (1.06 - y) / k
        lobe = np.hypot(px - 0.25, py - 0.75) - math.sqrt(2.0) / 4.0
        m = 0.5 * np.maximum(px + py, 0.0)
        body = np.sqrt(np.minimum(px ** 2 + (py - 1.0) ** 2, (px - m) ** 2 + (py - m) ** 2)) \
            * np.sign(px - py)
        return np.where(px + py > 1.0, lobe, body) * k

    return sdf


def sdf_union(*shapes: Sdf) -> Sdf:
    return lambda x, y: np.minimum.reduce([s(x, y) for s in shapes])


def _curve(fx, fy, n: int = 48) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([fx(t), fy(t)], axis=1)


#: A four-pointed sparkle (astroid), radius 1.
SPARKLE = _curve(lambda t: np.cos(t) ** 3, lambda t: np.sin(t) ** 3, 16)


# --------------------------------------------------------------------------------- the layer --

def _rgb(colour, look: DrawStyle) -> np.ndarray:
    """Colour in [0, 1], pulled towards its grey by the style's saturation."""
    c = np.asarray(colour, np.float64) / 255.0
    grey = float(c @ [0.299, 0.587, 0.114])
    return np.clip(grey + (c - grey) * look.saturation, 0.0, 1.0)


class Layer:
    """A premultiplied RGBA layer float32 [H, W, 4] that shapes are drawn onto (source-over)."""

    def __init__(self, shape: tuple[int, int], look: DrawStyle, iod: float):
        self.rgba = np.zeros((shape[0], shape[1], 4), np.float32)
        self.look = look
        self.iod = iod
        self.touched = False

    @property
    def ink_px(self) -> float:
        return self.look.ink_width * self.iod if self.look.outline else 0.0

    def _grid(self, centre: np.ndarray, reach: float):
        h, w = self.rgba.shape[:2]
        x0, y0 = (int(math.floor(c - reach)) for c in centre)
        x1, y1 = (int(math.ceil(c + reach)) + 1 for c in centre)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return None
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        return (slice(y0, y1), slice(x0, x1)), xs, ys

    def shape(self, sdf: Sdf, centre, scale: float, frame: FaceFrame, *, fill,
              opacity: float = 1.0, reach: float = 1.6, ink: bool = True, angle: float = 0.0,
              highlight: bool = True, soft: float = 0.0,
              clip: Optional[np.ndarray] = None) -> None:
        """Draw `sdf` (shape units) centred at image point `centre` [2], `scale` pixels per
        shape unit, its axes the face's (turned by `angle` radians): a fill, a highlight
        and an ink outline centred on the edge. reach: the shape's extent in shape units;
        soft: extra edge blur in pixels (on top of the analytic one-pixel coverage); clip:
        float [H, W] in [0, 1] the shape is limited to (marks that belong on the face: the
        head matte), or None."""
        if opacity <= 1e-3 or scale <= 1e-3:
            return
        # a small shape gets a thinner outline, or the ink swallows its colour
        ink_px = min(self.ink_px, 0.2 * scale) if ink else 0.0
        soft = soft + self.look.softness * self.iod
        grid = self._grid(np.asarray(centre, np.float64), reach * scale + ink_px + soft + 2)
        if grid is None:
            return
        box, xs, ys = grid
        ca, sa = math.cos(angle), math.sin(angle)
        ex = frame.ex * ca + frame.ey * sa
        ey = -frame.ex * sa + frame.ey * ca
        dx, dy = xs - centre[0], ys - centre[1]
        d = sdf((dx * ex[0] + dy * ex[1]) / scale, (dx * ey[0] + dy * ey[1]) / scale) * scale
        width = 1.0 + soft
        inner = np.clip(0.5 - (d + 0.5 * ink_px) / width, 0.0, 1.0)
        outer = np.clip(0.5 - (d - 0.5 * ink_px) / width, 0.0, 1.0)
        colour = np.broadcast_to(_rgb(fill, self.look), d.shape + (3,)).copy()
        if self.look.shaded:  # light from above: lighter top, darker bottom
            v = np.clip((dx * ey[0] + dy * ey[1]) / (reach * scale), -1.0, 1.0)[..., None]
            colour = np.clip(colour * (1.0 - 0.18 * v) + 0.08 * (v < 0), 0.0, 1.0)
        if highlight:
            hx, hy = -0.3 * scale, -0.35 * scale
            rx, ry = dx * ex[0] + dy * ex[1] - hx, dx * ey[0] + dy * ey[1] - hy
            hd = np.hypot(rx / (0.22 * scale), ry / (0.32 * scale)) - 1.0
            edge = 0.22 * scale if self.look.shaded else 1.0
            spot = np.clip(0.5 - hd * 0.22 * scale / edge, 0.0, 1.0) * inner
            colour = colour * (1 - 0.85 * spot[..., None]) + 0.85 * spot[..., None]
        if clip is not None:
            inner, outer = inner * clip[box], outer * clip[box]
        ink_rgb = _rgb(self.look.ink_rgb, self.look)
        premult = colour * inner[..., None] + ink_rgb * (outer - inner)[..., None]
        self.over(box, premult * opacity, outer * opacity)

    def tint(self, box, colour, alpha: np.ndarray) -> None:
        """A flat colour with per-pixel alpha [h, w] over `box` (a (rows, cols) slice pair)."""
        self.over(box, _rgb(colour, self.look) * alpha[..., None], alpha)

    def over(self, box, premult: np.ndarray, alpha: np.ndarray) -> None:
        dst = self.rgba[box]
        a = alpha[..., None].astype(np.float32)
        dst[..., :3] = premult + dst[..., :3] * (1.0 - a)
        dst[..., 3:] = a + dst[..., 3:] * (1.0 - a)
        self.touched = True


# ------------------------------------------------------------------------------ the effects --

@dataclass(frozen=True)
class EffectContext:
    """What an effect draws from: the frame's landmarks [68, 2], their FaceFrame, the loop
    phase in [0, 1), the expression's presence in [0, 1] and the head matte (float [H, W] in
    [0, 1], or None: the whole picture is the face's surroundings)."""

    points: np.ndarray
    frame: FaceFrame
    phase: float
    presence: float
    matte: Optional[np.ndarray]


def _fade(presence: float, lo: float = 0.15, hi: float = 0.6) -> float:
    t = min(max((presence - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def _frac(x: float) -> float:
    return x - math.floor(x)


def _lid_point(points: np.ndarray, eye: int) -> np.ndarray:
    """The middle of the lower lid of eye 0 (image-left) or 1 (image-right)."""
    pairs = ((41, 40), (47, 46))[eye]
    return np.asarray(points, np.float64)[list(pairs)].mean(0)


def tears(layer: Layer, ctx: EffectContext) -> None:
    """A drop forms on each lower lid and runs down the cheek, twice per loop."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    for eye in (0, 1):
        start = f.to_local(_lid_point(ctx.points, eye)) + [0.12 * (1 if eye else -1), 0.08]
        for k in range(2):
            s = _frac(2.0 * ctx.phase + 0.5 * k + 0.25 * eye)
            grow = min(s / 0.25, 1.0)                       # swells on the lid...
            run = max(s - 0.25, 0.0) / 0.75                 # ...then runs down
            life = min(1.0, (1.0 - s) / 0.15)               # and fades before it restarts
            pos = start + [0.03 * math.sin(6.0 * run), 0.75 * run * run + 0.05 * grow]
            layer.shape(sdf_drop(), f.to_image(pos), 0.12 * f.iod * (0.4 + 0.6 * grow),
                        f, fill=TEAR_RGB, opacity=fade * life)


def stream(layer: Layer, ctx: EffectContext) -> None:
    """Crying: a stream of tears from each lower lid down to the jaw, flowing."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    if fade <= 0:
        return
    jaw_y = float(f.to_local(ctx.points[ibug68.CHIN])[1])
    for eye in (0, 1):
        side = 1 if eye else -1
        top = f.to_local(_lid_point(ctx.points, eye)) + [0.1 * side, 0.02]
        length = max(jaw_y - 0.3 - top[1], 0.5) * fade
        n = 7
        t = np.linspace(0.0, 1.0, n)
        wobble = 0.03 * np.sin(2.0 * np.pi * (2.0 * t - ctx.phase * 2.0))
        path = np.stack([top[0] + side * (0.06 * t + wobble), top[1] + length * t], 1)
        centre = path.mean(0)
        rel = (path - centre) / 0.1
        layer.shape(sdf_stroke(rel, 0.55), f.to_image(centre), 0.1 * f.iod, f, fill=TEAR_RGB,
                    reach=float(np.abs(rel).max()) + 0.6, highlight=False)
        # bright dashes flowing down the stream
        for k in range(3):
            s = _frac(ctx.phase * 2.0 + k / 3.0)
            p = path[0] + (path[-1] - path[0]) * s
            layer.shape(sdf_ellipse(0.25, 0.6), f.to_image(p), 0.1 * f.iod, f, fill=WHITE,
                        opacity=0.8 * min(1.0, 4 * s, 4 * (1 - s)), ink=False, highlight=False)
        layer.shape(sdf_drop(), f.to_image(path[-1] + [0, 0.05]), 0.1 * f.iod, f,
                    fill=TEAR_RGB)


def _outside_head(ctx: EffectContext, local: np.ndarray, side: int) -> np.ndarray:
    """`local` moved sideways (side ±1) until it clears the jaw line and the temple."""
    jaw = ctx.frame.to_local(np.asarray(ctx.points, np.float64)[ibug68.JAW])
    edge = jaw[:, 0].max() if side > 0 else jaw[:, 0].min()
    x = side * max(side * local[0], side * edge + 0.4)
    return np.array([x, local[1]])


def _keep_inside(layer: Layer, ctx: EffectContext, local: np.ndarray, radius: float) -> np.ndarray:
    """Image position of `local`, pulled inside the picture by `radius` (face units)."""
    h, w = layer.rgba.shape[:2]
    p = ctx.frame.to_image(local)
    m = radius * ctx.frame.iod
    return np.array([min(max(p[0], m), w - 1 - m), min(max(p[1], m), h - 1 - m)])


def sweat(layer: Layer, ctx: EffectContext) -> None:
    """A big drop beside the temple (image-right), sliding down and coming back."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    s = _frac(ctx.phase)
    slide = 0.5 - 0.5 * math.cos(2.0 * math.pi * s)        # down and back, seamless
    base = _outside_head(ctx, np.array([1.0, -0.75]), +1) + [-0.12, 0.0]
    pos = _keep_inside(layer, ctx, base + [0.0, 0.22 * slide], 0.3)
    layer.shape(sdf_drop(), pos, 0.24 * f.iod * (0.3 + 0.7 * fade), f, fill=SWEAT_RGB,
                opacity=fade, angle=-0.25)


def vein(layer: Layer, ctx: EffectContext) -> None:
    """The cross-popping anger mark on the upper forehead corner (image-right), pulsing."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    pulse = 1.0 + 0.18 * abs(math.sin(2.0 * math.pi * 2.0 * ctx.phase))
    brow = f.to_local(np.asarray(ctx.points, np.float64)[ibug68.BROW_LEFT].mean(0))
    centre = f.to_image([brow[0] + 0.2, brow[1] - 0.65])
    arcs = []
    for q in range(4):
        a = math.pi / 4 + q * math.pi / 2
        arcs.append(sdf_arc(1.05 * np.array([math.cos(a), math.sin(a)]), 0.62, a + math.pi,
                            0.75, 0.16))
    layer.shape(sdf_union(*arcs), centre, 0.3 * f.iod * pulse * (0.4 + 0.6 * fade), f,
                fill=VEIN_RGB, opacity=fade, reach=1.4, highlight=False)


def _face_tint(ctx: EffectContext, top: float, grid, profile: Callable[[np.ndarray], np.ndarray]):
    """Alpha [h, w] of a tint over `grid`: soft inside the face — the jaw line closed by an arc
    `top` face units above the brows, blurred by 0.16 IOD — times profile(y) of the face-unit
    height y (0 at the eyes, growing down), times the head matte where there is one. All of it
    is smooth, so it is computed at a quarter of the resolution and scaled up."""
    import cv2

    box, xs, ys = grid
    f = ctx.frame
    pts = np.asarray(ctx.points, np.float64)
    jaw = f.to_local(pts[ibug68.JAW])
    brow_y = float(f.to_local(pts[ibug68.BROWS])[:, 1].min())
    left, right = jaw[0], jaw[-1]
    t = np.linspace(0.0, np.pi, 15)
    half = 0.5 * (right[0] - left[0])
    mid = 0.5 * (right[0] + left[0])
    arc = np.stack([mid + half * np.cos(t), left[1] + (brow_y - top - left[1]) * np.sin(t)], 1)
    poly = f.to_image(np.concatenate([jaw, arc[1:-1]]))
    y0, x0 = box[0].start, box[1].start
    h, w = xs.shape
    k = 4 if min(h, w) >= 32 else 1
    sh, sw = (h + k - 1) // k, (w + k - 1) // k
    small = np.zeros((sh, sw), np.uint8)
    cv2.fillPoly(small, [np.round(((poly - [x0, y0] + 0.5) / k - 0.5) * 16).astype(np.int32)],
                 255, cv2.LINE_AA, 4)
    inside = cv2.GaussianBlur(small.astype(np.float32) / 255.0, (0, 0), 0.16 * f.iod / k)
    gy, gx = np.mgrid[0:sh, 0:sw].astype(np.float64)
    rel_x, rel_y = x0 + (gx + 0.5) * k - 0.5 - f.origin[0], y0 + (gy + 0.5) * k - 0.5 - f.origin[1]
    height = (rel_x * f.ey[0] + rel_y * f.ey[1]) / f.iod
    alpha = (inside * profile(height)).astype(np.float32)
    alpha = cv2.resize(alpha, (sw * k, sh * k), interpolation=cv2.INTER_LINEAR)[:h, :w]
    if ctx.matte is not None:
        alpha = alpha * ctx.matte[box]
    return alpha


def _face_grid(layer: Layer, ctx: EffectContext, top: float):
    pts = np.asarray(ctx.points, np.float64)
    centre = pts[ibug68.JAW].mean(0) * 0.5 + ctx.frame.origin * 0.5
    return layer._grid(centre, 1.6 * ctx.frame.iod + top * ctx.frame.iod)


def flush(layer: Layer, ctx: EffectContext) -> None:
    """Anger: the face reddens, most on the forehead and cheeks, throbbing a little."""
    fade = _fade(ctx.presence)
    grid = _face_grid(layer, ctx, 0.5)
    if fade <= 0 or grid is None:
        return
    throb = 0.9 + 0.1 * math.sin(2.0 * math.pi * 2.0 * ctx.phase)
    # forehead strongest
    alpha = _face_tint(ctx, 0.45, grid, lambda y: 0.12 + 0.3 * np.clip((0.6 - y) / 1.4, 0.0, 1.0))
    layer.tint(grid[0], FLUSH_RGB, alpha * (fade * throb))


def pale(layer: Layer, ctx: EffectContext) -> None:
    """Fear, gloom: a cold blue-violet pall over the upper face, fading down to the mouth."""
    fade = _fade(ctx.presence)
    grid = _face_grid(layer, ctx, 0.5)
    if fade <= 0 or grid is None:
        return
    alpha = _face_tint(ctx, 0.45, grid, lambda y: 0.45 * np.clip((1.2 - y) / 2.0, 0.0, 1.0) ** 1.5)
    layer.tint(grid[0], PALE_RGB, alpha * fade)


def gloom(layer: Layer, ctx: EffectContext) -> None:
    """Vertical gloom lines hanging over the forehead, slowly falling, over a pale tint."""
    pale(layer, ctx)
    f = ctx.frame
    fade = _fade(ctx.presence)
    if fade <= 0:
        return
    brow_y = float(f.to_local(np.asarray(ctx.points, np.float64)[ibug68.BROWS])[:, 1].min())
    for k, x in enumerate(np.linspace(-0.5, 0.5, 5)):
        s = _frac(ctx.phase + 0.21 * k)
        length = (0.36 + 0.08 * math.sin(3.1 * k)) * fade
        top = brow_y - 0.5 + 0.1 * s                    # the line slides down, then resets
        fall = math.sin(math.pi * s)                    # faded out at the reset
        seg = np.array([[0.0, -0.5], [0.0, 0.5]]) * length / 0.1
        layer.shape(sdf_stroke(seg, 0.22), f.to_image([x, top + 0.5 * length]), 0.1 * f.iod,
                    f, fill=GLOOM_RGB, opacity=0.75 * fade * (0.35 + 0.65 * fall),
                    reach=0.5 * length / 0.1 + 1, ink=False, highlight=False,
                    clip=ctx.matte)                     # on the forehead, never beside it


def blush(layer: Layer, ctx: EffectContext) -> None:
    """Pink ovals under the eyes, with hatching in the inked styles."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    for eye in (0, 1):
        side = 1 if eye else -1
        c = f.to_local(_lid_point(ctx.points, eye)) + [0.12 * side, 0.38]
        layer.shape(sdf_ellipse(1.0, 0.55), f.to_image(c), 0.3 * f.iod, f, fill=BLUSH_RGB,
                    opacity=0.55 * fade, ink=False, highlight=False, soft=0.12 * f.iod,
                    clip=ctx.matte)
        if layer.look.outline and not layer.look.shaded:
            for k in (-1, 0, 1):
                seg = np.array([[0.06, -0.08], [-0.06, 0.08]])
                layer.shape(sdf_stroke(seg / 0.1, 0.18), f.to_image(c + [0.15 * k, 0.0]),
                            0.1 * f.iod, f, fill=(200, 60, 90), opacity=0.9 * fade, ink=False,
                            highlight=False, reach=1.5, clip=ctx.matte)


def sparkles(layer: Layer, ctx: EffectContext) -> None:
    """Four-pointed stars around the upper head, twinkling one after another."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    spots = ((-1.25, -0.9, 0.0), (1.3, -1.15, 0.33), (1.45, -0.2, 0.66))
    for x, y, off in spots:
        tw = max(0.0, math.sin(2.0 * math.pi * (ctx.phase * 2.0 + off)))
        local = _outside_head(ctx, np.array([x, y]), 1 if x > 0 else -1)
        pos = _keep_inside(layer, ctx, local, 0.25)
        layer.shape(sdf_polygon(SPARKLE), pos, 0.3 * f.iod * (0.35 + 0.65 * tw), f,
                    fill=SPARKLE_RGB, opacity=fade, highlight=False, reach=1.1,
                    angle=0.3 * tw)


def hearts(layer: Layer, ctx: EffectContext) -> None:
    """Hearts floating up beside the head, swaying."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    for k, (x, size) in enumerate(((1.35, 0.24), (-1.3, 0.2), (1.65, 0.16))):
        s = _frac(ctx.phase + k / 3.0)
        local = _outside_head(ctx, np.array([x, 0.2]), 1 if x > 0 else -1)
        local = local + [0.08 * math.sin(2.0 * math.pi * 2 * s), -1.2 * s]
        life = min(1.0, 5.0 * s, 5.0 * (1.0 - s))
        pos = _keep_inside(layer, ctx, local, size * 1.2)
        layer.shape(sdf_heart(), pos, size * f.iod, f, fill=HEART_RGB,
                    opacity=fade * life, reach=1.2)


def heart_eyes(layer: Layer, ctx: EffectContext) -> None:
    """Love: a beating heart over each eye."""
    f = ctx.frame
    fade = _fade(ctx.presence)
    beat = 1.0 + 0.12 * max(0.0, math.sin(2.0 * math.pi * 3.0 * ctx.phase)) ** 4
    for centre in ibug68.eye_centres(ctx.points):
        layer.shape(sdf_heart(), centre + f.ey * 0.03 * f.iod, 0.27 * f.iod * beat * fade,
                    f, fill=HEART_RGB, opacity=min(1.0, 2 * fade), reach=1.2)


def _ease_out_back(t: float) -> float:
    """0 → 1 with an overshoot of about 10 % (the 'pop')."""
    t = min(max(t, 0.0), 1.0)
    c = 1.7
    return 1.0 + (c + 1.0) * (t - 1.0) ** 3 + c * (t - 1.0) ** 2


def exclaim(layer: Layer, ctx: EffectContext) -> None:
    """Surprise: an exclamation mark pops up beside the head with burst lines."""
    f = ctx.frame
    pop = _ease_out_back(ctx.presence / 0.8) if ctx.presence > 0.05 else 0.0
    if pop <= 0.01:
        return
    local = _outside_head(ctx, np.array([1.15, -1.2]), +1)
    pos = _keep_inside(layer, ctx, local, 0.75)
    bar = sdf_polygon([[-0.32, -1.0], [0.32, -1.0], [0.14, 0.35], [-0.14, 0.35]])
    mark = sdf_union(bar, lambda x, y: np.hypot(x, y - 0.72) - 0.2)
    fade = min(1.0, 3 * ctx.presence)
    layer.shape(mark, pos, 0.42 * f.iod * pop, f, fill=BURST_RGB, opacity=fade, reach=1.1,
                angle=0.2, highlight=False)
    # burst lines radiating from the mark, flickering
    flicker = 0.75 + 0.25 * math.cos(2.0 * math.pi * 4.0 * ctx.phase)
    centre = f.to_local(pos)
    for a in (-2.6, -2.0, -1.4, -0.8, 0.0):
        d = np.array([math.cos(a), math.sin(a)])
        p0, p1 = centre + d * 0.45 * pop, centre + d * (0.45 + 0.22 * flicker) * pop
        mid = 0.5 * (p0 + p1)
        rel = np.stack([p0 - mid, p1 - mid]) / 0.1
        layer.shape(sdf_stroke(rel, 0.25), f.to_image(mid), 0.1 * f.iod, f,
                    fill=layer.look.ink_rgb, opacity=fade, ink=False, highlight=False,
                    reach=float(np.abs(rel).max()) + 1)


ZED = np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])


def zzz(layer: Layer, ctx: EffectContext) -> None:
    """Sleepy: Zs rising from beside the head, growing as they go."""
    f = ctx.frame
    fade = _fade(ctx.presence, 0.05, 0.4)
    for k in range(3):
        s = _frac(ctx.phase + k / 3.0)
        local = _outside_head(ctx, np.array([1.1, -0.6]), +1) + [0.35 * s, -0.9 * s]
        size = 0.16 + 0.2 * s
        life = min(1.0, 6.0 * s, 4.0 * (1.0 - s))
        pos = _keep_inside(layer, ctx, local, size)
        layer.shape(sdf_stroke(ZED, 0.16), pos, size * f.iod, f, fill=ZZZ_RGB,
                    opacity=fade * life, highlight=False, reach=0.8, angle=-0.2)


_DRAWERS: dict[str, Callable[[Layer, EffectContext], None]] = {
    "flush": flush, "pale": pale, "gloom": gloom, "blush": blush, "tears": tears,
    "stream": stream, "sweat": sweat, "vein": vein, "sparkles": sparkles, "hearts": hearts,
    "heart-eyes": heart_eyes, "exclaim": exclaim, "zzz": zzz,
}
#: Effect name → drawing function, in drawing order (tints first, marks on top): the names and
#: their order are core.choices.EFFECT_NAMES.
EFFECTS: dict[str, Callable[[Layer, EffectContext], None]] = {
    name: _DRAWERS[name] for name in choices.EFFECT_NAMES}
DESCRIPTIONS: dict[str, str] = {name: (fn.__doc__ or "").strip().split("\n")[0]
                                for name, fn in EFFECTS.items()}


# ----------------------------------------------------------------------------- the selection --

def expression_effects(expression: str) -> tuple[str, ...]:
    """The default effects of one library expression (its `effects`, else AUTO_EFFECTS)."""
    try:
        from ..motion.expressions import EXPRESSIONS

        own = getattr(EXPRESSIONS.get(expression), "effects", None)
    except ImportError:  # pragma: no cover - the motion package is part of the tree
        own = None
    if own is not None:
        return tuple(n for n in own if n in EFFECTS)
    return AUTO_EFFECTS.get(expression, ())


def parse_effects(text: str, expression_names=()) -> tuple[str, ...]:
    """`auto` (the expressions' defaults), `none`, or NAME+NAME → effect names in drawing
    order. UsageError listing the valid names for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"no effects given (--effects auto, none or NAME+NAME; names: "
                         f"{', '.join(EFFECTS)})")
    text = text.strip().lower()
    if text == "none":
        return ()
    if text == "auto":  # choices.EFFECT_MODES
        wanted = {n for e in expression_names for n in expression_effects(e)}
    else:
        wanted = set()
        for term in text.split("+"):
            term = term.strip()
            if term not in EFFECTS:
                raise UsageError(f"unknown effect {term!r} in --effects {text!r} (valid: auto, none, "
                                 f"or names joined with '+': {', '.join(EFFECTS)})")
            wanted.add(term)
    return tuple(n for n in EFFECTS if n in wanted)


# ------------------------------------------------------------------------------- per frame --

def draw_effects(points: np.ndarray, phase: float, presence: float, names, look: DrawStyle,
                 shape: tuple[int, int], matte: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """Draw `names` for one frame: premultiplied RGBA float32 [H, W, 4], or None when nothing
    was drawn. points [68, 2] of this frame; phase in [0, 1); presence in [0, 1]; matte: the
    frame's head alpha float [H, W] in [0, 1] (limits the tints to the head) or None."""
    if not names:
        return None
    frame = FaceFrame.of(points)
    ctx = EffectContext(np.asarray(points, np.float64), frame, float(phase) % 1.0,
                        float(np.clip(presence, 0.0, 1.0)), matte)
    layer = Layer(shape, look, frame.iod)
    for name in names:
        EFFECTS[name](layer, ctx)
    return layer.rgba if layer.touched else None


def composite(rgb: np.ndarray, alpha: Optional[np.ndarray], layer: Optional[np.ndarray]):
    """`layer` (premultiplied float [H, W, 4]) over rgb uint8 [H, W, 3] with its alpha uint8
    [H, W] (None = opaque). Returns (rgb, alpha), new arrays when anything was drawn."""
    if layer is None:
        return rgb, alpha
    drawn = layer[..., 3] > 0
    rows, cols = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
    if len(rows) == 0:
        return rgb, alpha
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))   # only where drawn
    over, under = layer[box], rgb[box].astype(np.float32)
    a = over[..., 3:]
    rgb = rgb.copy()
    if alpha is None:
        rgb[box] = np.clip(over[..., :3] * 255.0 + under * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
        return rgb, None
    base_a = alpha[box].astype(np.float32)[..., None] / 255.0
    out_a = a + base_a * (1.0 - a)
    premult = over[..., :3] * 255.0 + under * base_a * (1.0 - a)
    out = np.where(out_a > 1e-6, premult / np.maximum(out_a, 1e-6), 0.0)
    alpha = alpha.copy()
    rgb[box] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    alpha[box] = np.clip(out_a[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return rgb, alpha
