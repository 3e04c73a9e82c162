"""Appearance filters of the classic style engine (OpenCV + NumPy, CPU, no weights).

All filters take and return uint8 RGB [H, W, 3]; `points` [68, 2] are the (already moved)
landmarks, used to place face-specific touches (blush, skin mask). `strength` in [0, 1] blends
each effect with the input. `rng` makes stochastic filters (brush strokes) reproducible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.ibug68 import (BROW_LEFT, BROW_RIGHT, BROWS, EYE_LEFT, EYE_RIGHT, JAW, LIPS_OUTER,
                          NOSE_LOWER, eye_centres, inter_ocular_distance)


def _mix(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """(1 - t) a + t b in float32; t scalar or [H, W] map."""
    t = np.asarray(t, np.float32)
    if t.ndim == 2:
        t = t[..., None]
    return a.astype(np.float32) * (1 - t) + b.astype(np.float32) * t


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def face_mask(shape: tuple[int, ...], points: np.ndarray, *, feather: float = 0.08) -> np.ndarray:
    """Soft mask [H, W] float32 in [0, 1] of the face: the jaw line closed over the forehead."""
    import cv2

    h, w = shape[:2]
    pts = np.asarray(points, np.float64)
    jaw = pts[JAW]
    brow_mid = pts[BROWS].mean(0)
    eyes = (pts[EYE_RIGHT].mean(0) + pts[EYE_LEFT].mean(0)) / 2
    up = eyes - pts[8]
    up /= np.linalg.norm(up) + 1e-9
    iod = inter_ocular_distance(pts)
    forehead = [brow_mid + up * 0.55 * iod + (p - brow_mid) * 0.95 for p in pts[[26, 24, 21, 19, 17]]]
    poly = np.concatenate([jaw, np.array(forehead)]).astype(np.int32)
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [cv2.convexHull(poly)], 1.0)
    sigma = max(1.0, feather * iod * 2)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def smooth_skin(rgb: np.ndarray, points: np.ndarray, amount: float) -> np.ndarray:
    """Edge-preserving smoothing inside the face (eyes, brows and lips kept sharp)."""
    import cv2

    if amount <= 0:
        return rgb
    iod = inter_ocular_distance(points)
    d = int(max(5, round(iod * 0.14)) | 1)
    smooth = cv2.bilateralFilter(rgb, d, 28, d)
    smooth = cv2.bilateralFilter(smooth, d, 20, d)
    mask = face_mask(rgb.shape, points)
    feats = feature_mask(rgb.shape, points, grow=0.06)
    return _u8(_mix(rgb, smooth, mask * (1 - feats) * amount))


def feature_mask(shape: tuple[int, ...], points: np.ndarray, *, grow: float = 0.06,
                 nose: bool = False) -> np.ndarray:
    """Soft mask [H, W] float32 in [0, 1] over eyes, brows and lips (and nose), grown by
    `grow` * IOD: the parts of a face that carry identity and must stay crisp."""
    import cv2

    pts = np.asarray(points, np.float32)
    iod = inter_ocular_distance(pts)
    parts = [EYE_RIGHT, EYE_LEFT, LIPS_OUTER, BROW_RIGHT, BROW_LEFT]
    if nose:
        parts.append(NOSE_LOWER)  # tip and nostrils (the bridge sides only add stray lines)
    feats = np.zeros(shape[:2], np.float32)
    for sl in parts:
        cv2.fillConvexPoly(feats, cv2.convexHull(pts[sl].astype(np.int32)), 1.0)
    k = max(3, int(round(grow * iod * 2)) | 1)
    feats = cv2.dilate(feats, np.ones((k, k), np.uint8))
    return cv2.GaussianBlur(feats, (0, 0), max(1.0, iod * 0.05))


def skin_interior(shape: tuple[int, ...], points: np.ndarray, *,
                  below_eyes: bool = False) -> np.ndarray:
    """bool [H, W]: the face's skin away from its outline and features (cheeks, forehead,
    chin): where a style's skin tone is measured. below_eyes: only the cheeks and chin (a
    forehead's lightness also depends on a fringe, a cap's shadow or glasses frames, which a
    style may legitimately redraw)."""
    import cv2

    iod = inter_ocular_distance(points)
    face = (face_mask(shape, points, feather=0.0) > 0.5).astype(np.uint8)
    face = cv2.erode(face, np.ones((int(0.25 * iod) | 1,) * 2, np.uint8)) > 0
    skin = face & ~(feature_mask(shape, points, grow=0.25, nose=True) > 0.05)
    if below_eyes:
        eye_y = float(np.mean([c[1] for c in eye_centres(points)]))
        skin &= (np.arange(shape[0]) > eye_y + 0.25 * iod)[:, None]
    return skin


def tone(rgb: np.ndarray, *, brightness: float = 0.0, saturation: float = 1.0,
         warmth: float = 0.0, gamma: float = 1.0) -> np.ndarray:
    """Global colour grading: brightness lift (0..1), saturation factor, warm tint, gamma."""
    import cv2

    x = rgb.astype(np.float32) / 255.0
    if gamma != 1.0:
        x = x ** gamma
    x = x + brightness * (1 - x)
    if warmth:
        x = x * np.array([1 + 0.08 * warmth, 1 + 0.02 * warmth, 1 - 0.06 * warmth], np.float32)
    x = np.clip(x, 0, 1)
    if saturation != 1.0:
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
        hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 1)
        x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return _u8(x * 255)


# ----------------------------------------------------------------------------------- cartoon --

def cel_shade(rgb: np.ndarray, *, levels: int = 6, colours: int = 14, seed: int = 0) -> np.ndarray:
    """Flat colour regions: edge-preserving smoothing, k-means colours, banded luminance.

    The chroma comes from k-means in Lab on the smoothed image (flat regions that keep skin,
    hair and background hues); the lightness is posterised into `levels` soft bands, which is
    what reads as cel shading.
    """
    import cv2

    smooth = rgb
    for _ in range(2):
        smooth = cv2.bilateralFilter(smooth, 7, 40, 7)
    smooth = cv2.edgePreservingFilter(smooth, flags=cv2.RECURS_FILTER, sigma_s=30, sigma_r=0.25)
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2LAB).astype(np.float32)
    data = lab.reshape(-1, 3)
    sample = data[np.random.default_rng(seed).choice(len(data), min(len(data), 6000), replace=False)]
    cv2.setRNGSeed(seed)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 12, 0.5)
    _, _, centres = cv2.kmeans(sample, colours, None, crit, 1, cv2.KMEANS_PP_CENTERS)
    # nearest centre per pixel, by chroma and (coarser) lightness
    dist = ((data[:, None, :] - centres[None]) ** 2 * np.array([0.3, 1, 1], np.float32)).sum(2)
    quant = centres[dist.argmin(1)].reshape(lab.shape)
    # lightness: soft bands (a steep sigmoid between levels keeps edges anti-aliased)
    L = lab[..., 0] / 255.0 * (levels - 1)
    base = np.floor(L)
    frac = L - base
    banded = (base + 1 / (1 + np.exp(-(frac - 0.5) * 14))) / (levels - 1) * 255.0
    out = np.dstack([banded * 0.75 + quant[..., 0] * 0.25, quant[..., 1] * 0.55 + lab[..., 1] * 0.45,
                     quant[..., 2] * 0.55 + lab[..., 2] * 0.45])
    return cv2.cvtColor(_u8(out), cv2.COLOR_LAB2RGB)


def thin_lines(mask: np.ndarray, max_iter: int = 32) -> np.ndarray:
    """Zhang-Suen thinning of a binary mask [H, W] to 1-pixel-wide skeletons (bool).

    Vectorised over the image: each sub-iteration removes, in parallel, boundary pixels with
    2..6 neighbours, exactly one 0→1 transition around them, and the step's N/E/S/W conditions.
    """
    img = np.pad(np.asarray(mask, bool), 1).astype(np.uint8)
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            p = img
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:],      # P2 N, P3 NE, P4 E, P5 SE
                 p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]    # P6 S, P7 SW, P8 W, P9 NW
            b = sum(x.astype(np.int16) for x in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int16) for i in range(8))
            if step == 0:
                c1, c2 = n[0] * n[2] * n[4], n[2] * n[4] * n[6]
            else:
                c1, c2 = n[0] * n[2] * n[6], n[0] * n[4] * n[6]
            kill = (p[1:-1, 1:-1] == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if kill.any():
                img[1:-1, 1:-1][kill] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


def ink_lines(rgb: np.ndarray, *, block: int | None = None, c: float = 6.0,
              min_area: int | None = None) -> np.ndarray:
    """Dark outline strength [H, W] float32 in [0, 1] from the smoothed luminance.

    Adaptive threshold (pixels darker than their neighbourhood) → small specks removed →
    thinned to 1-pixel skeletons → slightly thickened and anti-aliased.
    """
    import cv2

    h, w = rgb.shape[:2]
    block = block or int(max(7, round(min(h, w) / 28)) | 1)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    grey = cv2.bilateralFilter(grey, 7, 30, 7)
    grey = cv2.medianBlur(grey, 5)
    edges = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, c)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    min_area = min_area or max(16, (h * w) // 1200)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    edges = keep[labels]
    skeleton = thin_lines(edges).astype(np.uint8)
    width = max(1, round(min(h, w) / 256))
    lines = cv2.dilate(skeleton, np.ones((width + 1, width + 1), np.uint8)) if width > 1 else skeleton
    return cv2.GaussianBlur(lines.astype(np.float32), (0, 0), 0.6)


def eye_sparkle(rgb: np.ndarray, points: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Cartoon eyes: a deeper iris and a soft white catch-light in its upper-left part.

    The iris centre is the darkest spot (blurred) inside each eye's landmark polygon.
    """
    import cv2

    if amount <= 0:
        return rgb
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.5).astype(np.float32)
    for sl in (EYE_RIGHT, EYE_LEFT):
        eye = np.asarray(points[sl], np.float32)
        width = float(np.linalg.norm(eye[3] - eye[0]))
        if width < 4:
            continue
        poly = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(poly, cv2.convexHull(eye.astype(np.int32)), 1)
        if poly.sum() < 4:
            continue
        inside = poly > 0
        vals = grey[inside]
        dark = np.clip(np.percentile(vals, 40) - grey, 0, None) * inside
        if dark.sum() <= 0:
            continue
        ys, xs = np.mgrid[0:h, 0:w]
        cx, cy = float((xs * dark).sum() / dark.sum()), float((ys * dark).sum() / dark.sum())
        r_iris = 0.22 * width
        # whiter sclera: the bright part of the eye opening towards white
        bright = np.clip((grey - np.percentile(vals, 55)) / 40.0, 0, 1) * inside
        bright = cv2.GaussianBlur(bright.astype(np.float32), (0, 0), 0.8) * 0.6 * amount
        out = out * (1 - bright[..., None]) + 250.0 * bright[..., None]
        # deepen the iris (soft disc clipped to the eye opening)
        disc = np.zeros((h, w), np.float32)
        cv2.circle(disc, (int(cx), int(cy)), max(1, int(round(r_iris))), 1.0, -1, cv2.LINE_AA)
        disc = cv2.GaussianBlur(disc * poly, (0, 0), max(0.6, r_iris * 0.25))
        out *= (1 - 0.25 * amount * disc)[..., None]
        # catch-light
        spot = np.zeros((h, w), np.float32)
        c = (int(round(cx - 0.35 * r_iris)), int(round(cy - 0.35 * r_iris)))
        cv2.circle(spot, c, max(2, int(round(0.32 * r_iris))), 1.0, -1, cv2.LINE_AA)
        spot = cv2.GaussianBlur(spot, (0, 0), max(0.5, r_iris * 0.07)) * amount * 0.95
        out = out * (1 - spot[..., None]) + 255.0 * spot[..., None]
    return _u8(out)


def head_matte(rgb: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """The head's alpha matte uint8 [H, W] (render.matting), or None when it cannot be cut."""
    from ..render.matting import head_alpha

    try:
        return head_alpha(rgb, points)
    except Exception:  # noqa: BLE001 - the outline is a touch; the style works without it
        return None


def drawn_at_least(rgb: np.ndarray, points: np.ndarray, draw: Callable[..., Any], *,
                   images: tuple[np.ndarray | None, ...] = (), side: int = 256) -> Any:
    """draw(rgb, points float64 [68, 2], *images) on a copy of a face under `side` px scaled up
    to `side`, its result (an array or a tuple of arrays, [H', W', ...]) scaled back to the
    face's [H, W]: lines, eyes and tone outlines of a few pixels come out anti-aliased and where
    the landmarks say, not snapped to the grid. images: more per-pixel inputs (a matte; None
    passes through), resized with the face."""
    import cv2

    h, w = rgb.shape[:2]
    scale = max(1.0, side / min(h, w))
    if scale == 1.0:
        return draw(rgb, np.asarray(points, np.float64), *images)
    size = (round(w * scale), round(h * scale))
    big = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    # OpenCV's resize maps pixel centres: x' + 0.5 = (x + 0.5) · size' / size
    pts = (np.asarray(points, np.float64) + 0.5) * np.array([size[0] / w, size[1] / h]) - 0.5
    big_images = [None if im is None else cv2.resize(im, size, interpolation=cv2.INTER_LINEAR)
                  for im in images]
    result = draw(big, pts, *big_images)

    def back(a: np.ndarray) -> np.ndarray:
        return cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA)

    return tuple(back(r) for r in result) if isinstance(result, tuple) else back(result)


def toon_drawing(rgb: np.ndarray, points: np.ndarray, look: Any
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The cel-shaded drawing (style.toon, a ToonLook) of a face uint8 [H, W, 3], a small
    face drawn at 256 px (drawn_at_least). Returns (uint8 [H, W, 3], the drawn head's matte
    float32 [H, W] in [0, 1])."""
    from .toon import toon

    out, matte = drawn_at_least(rgb, points,
                                lambda big, pts: toon(big, pts, look, alpha=head_matte(big, pts)))
    return out, np.clip(matte, 0.0, 1.0)


def cartoon(rgb: np.ndarray, points: np.ndarray, strength: float = 1.0, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Cel-shaded cartoon (style.toon): flat tones per region, drawn eyes, landmark ink lines;
    strength < 1 fades it into the photo. Returns (uint8 [H, W, 3], the drawn head's matte
    float32 [H, W] in [0, 1], or None at strength 0: the photo itself)."""
    from .toon import CARTOON

    del seed
    if strength <= 0:
        return rgb, None
    out, matte = toon_drawing(rgb, points, CARTOON)
    return _u8(_mix(rgb, out, strength)), matte


def painted_cartoon(rgb: np.ndarray, points: np.ndarray, strength: float = 1.0, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The cartoon painted at `strength` (0..1, style.toon.painted): below 1 the skin keeps
    more of the photo's shading, the ink is thinner and the photo's eyes show through the drawn
    ones — still a drawing, never a fade into the photo. The caricature-cartoon's painting,
    whose strength the identity guard lowers. Returns as `cartoon`."""
    from .toon import CARTOON, painted

    del seed
    return toon_drawing(rgb, points, painted(CARTOON, strength))


# ------------------------------------------------------------------------------------ painting --

def orientation_field(grey: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit stroke direction [H, W] x, y along image structures (perpendicular to the dominant
    gradient of the smoothed structure tensor) and its coherence [H, W] in [0, 1]."""
    import cv2

    g = grey.astype(np.float32) / 255.0
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
    theta = 0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2  # tangent = gradient + 90°
    root = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2)
    coherence = root / (jxx + jyy + 1e-6)
    return np.stack([np.cos(theta), np.sin(theta)], -1), np.clip(coherence, 0, 1)


def canvas_texture(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Woven canvas relief [H, W] float32 around 0 (±1): crossed threads plus grain."""
    import cv2

    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(3.0, min(h, w) / 85)
    weave = np.sin(xx * 2 * np.pi / period) * np.sin(yy * 2 * np.pi / period)
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8)
    tex = 0.6 * weave + 0.4 * grain / (grain.std() + 1e-6)
    return tex / (np.abs(tex).max() + 1e-6)


def brush_strokes(rgb: np.ndarray, rng: np.random.Generator, radii=(6.0, 3.5, 2.0, 1.2),
                  threshold: float = 12.0, detail: np.ndarray | None = None) -> np.ndarray:
    """Layered painterly rendering: strokes oriented along the structure tensor, coarse to fine.

    Each layer paints strokes of width 2r and length ~4r coloured by the image blurred at scale
    r; finer layers only repaint where the canvas still differs from their reference by more
    than `threshold` (mean absolute RGB difference), so flat areas keep broad strokes while
    eyes, mouth and edges get fine ones. Radii are for a 256-pixel image and scale with size.
    """
    import cv2

    h, w = rgb.shape[:2]
    scale = min(h, w) / 256.0
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    direction, coherence = orientation_field(grey, sigma=3.0 * scale)
    canvas = cv2.GaussianBlur(rgb, (0, 0), radii[0] * scale * 2)
    for layer, r0 in enumerate(radii):
        r = r0 * scale
        ref = cv2.GaussianBlur(rgb, (0, 0), max(0.6, r * 0.5))
        err = np.abs(canvas.astype(np.int16) - ref.astype(np.int16)).mean(2).astype(np.float32)
        err = cv2.blur(err, (max(1, int(r)), max(1, int(r))))
        step = max(1.0, r * 1.2)
        ys, xs = np.mgrid[step / 2:h:step, step / 2:w:step]
        pts = np.stack([xs.ravel(), ys.ravel()], 1) + rng.uniform(-step / 2, step / 2, (xs.size, 2))
        pts = np.clip(pts, 0, [w - 1, h - 1])
        xi, yi = pts[:, 0].astype(int), pts[:, 1].astype(int)
        if layer > 0:
            need = err[yi, xi]
            if detail is not None:  # identity features always get the fine strokes
                need = need + detail[yi, xi] * threshold * (layer >= len(radii) - 2)
            sel = need > threshold
            pts, xi, yi = pts[sel], xi[sel], yi[sel]
        order = rng.permutation(len(pts))
        # long strokes where the structure is coherent; the fine layers (eyes, mouth) stay short
        reach = 4.0 if layer < len(radii) - 2 else 3.0
        length = r * (1.5 + reach * coherence[yi, xi])
        ends = direction[yi, xi] * length[:, None]
        thickness = max(1, int(round(r * 1.6)))
        colours = ref[yi, xi].astype(int)
        jitter = rng.integers(-6, 7, (len(pts), 1))
        colours = np.clip(colours + jitter, 0, 255)
        for i in order:
            p0 = (int(pts[i, 0] - ends[i, 0]), int(pts[i, 1] - ends[i, 1]))
            p1 = (int(pts[i, 0] + ends[i, 0]), int(pts[i, 1] + ends[i, 1]))
            cv2.line(canvas, p0, p1, tuple(int(v) for v in colours[i]), thickness, cv2.LINE_AA)
    return canvas


def palette(rgb: np.ndarray, colours: int, rng: np.random.Generator) -> np.ndarray:
    """A limited palette: k-means centres float32 [K, 3] (Lab, OpenCV scale) of the picture."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    sample = lab[rng.choice(len(lab), min(len(lab), 4000), replace=False)]
    cv2.setRNGSeed(int(rng.integers(1 << 30)))
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 15, 0.5)
    _, _, centres = cv2.kmeans(sample, colours, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    return centres


def to_palette(rgb: np.ndarray, centres: np.ndarray, amount: float) -> np.ndarray:
    """Each pixel moved `amount` (0..1) of the way to its nearest palette colour (in Lab)."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    flat = lab.reshape(-1, 3)
    d = ((flat[:, None, :] - centres[None]) ** 2).sum(2)
    snapped = centres[d.argmin(1)].reshape(lab.shape)
    out = lab * (1 - amount) + snapped * amount
    return cv2.cvtColor(_u8(out), cv2.COLOR_LAB2RGB)


def bristle_texture(direction: np.ndarray, rng: np.random.Generator, length: float
                    ) -> np.ndarray:
    """Brush-hair streaks [H, W] float32 around 0 (std ~1): white noise smeared along the
    stroke direction [H, W, 2] (line integral convolution, Cabral & Leedom 1993)."""
    import cv2

    h, w = direction.shape[:2]
    noise = rng.standard_normal((h, w)).astype(np.float32)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    acc = noise.copy()
    steps = max(2, int(round(length)))
    for sign in (-1.0, 1.0):
        px, py = xs.copy(), ys.copy()
        for _ in range(steps):
            dx = cv2.remap(direction[..., 0].astype(np.float32), px, py, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
            dy = cv2.remap(direction[..., 1].astype(np.float32), px, py, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
            px, py = px + sign * dx, py + sign * dy
            acc += cv2.remap(noise, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    acc /= 2 * steps + 1
    return acc / (acc.std() + 1e-6)


def warm_colours(rgb: np.ndarray, *, warmth: float, chroma: float) -> np.ndarray:
    """A warmer, more saturated picture at the same lightness: `tone`'s warm tint, then the
    Lab chroma scaled by `chroma`, with each pixel's L* put back (an HSV saturation boost
    darkens saturated skin, and a style must not change how light a person's skin is)."""
    import cv2

    lightness = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0]
    lab = cv2.cvtColor(tone(rgb, warmth=warmth), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] = lightness
    lab[..., 1:] = 128.0 + (lab[..., 1:] - 128.0) * chroma
    return cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB)


def painting(rgb: np.ndarray, points: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Oil-painting look: strokes oriented along the structure tensor in a limited palette,
    brush-hair streaks along the strokes, impasto relief and canvas weave.

    The identity-carrying features (eyes, brows, nose tip, lips) are painted from a lightly
    smoothed, unquantised copy with the finest strokes: the palette and the broad smoothing
    there cost the most face-recognition identity (docs/styles.md, painting).
    """
    import cv2

    if strength <= 0:
        return rgb
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    scale = min(h, w) / 256.0
    base = cv2.edgePreservingFilter(rgb, flags=cv2.RECURS_FILTER, sigma_s=20, sigma_r=0.3)
    base = to_palette(base, palette(base, 14, rng), 0.55)
    features = feature_mask(rgb.shape, points, grow=0.15, nose=True)
    fine = cv2.edgePreservingFilter(rgb, flags=cv2.RECURS_FILTER, sigma_s=6, sigma_r=0.3)
    base = _u8(_mix(base, fine, features))
    strokes = brush_strokes(base, rng, radii=(8.0, 5.0, 2.5, 1.2), detail=features)
    strokes = warm_colours(strokes, warmth=0.25, chroma=1.2)
    grey = cv2.cvtColor(strokes, cv2.COLOR_RGB2GRAY)
    direction, coherence = orientation_field(grey, sigma=4.0 * scale)
    streaks = bristle_texture(direction, rng, 5 * scale)
    tex = canvas_texture(rgb.shape, rng)
    # relief: light from the top-left on the stroke luminance, the hairs and the canvas weave
    g = grey.astype(np.float32) / 255.0
    relief = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) + cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    face = face_mask(rgb.shape, points)
    # hairs show where the strokes run one way (coherent structure), finer on the face
    hairs = 0.12 * (0.25 + 0.75 * coherence) * (1 - 0.3 * face)
    shade = 1.0 + hairs * streaks + 0.04 * tex + 0.14 * np.clip(-relief, -1, 1)
    out = strokes.astype(np.float32) * shade[..., None]
    return _u8(_mix(rgb, out, strength))


# ---------------------------------------------------------------------------------- caricature --

def caricature_photo(rgb: np.ndarray, points: np.ndarray, strength: float = 1.0, seed: int = 0
                     ) -> np.ndarray:
    """The photo look of a caricature: the reshaped photo with smoothed skin and livelier
    colours (a retouched print, so the exaggerated shape, not skin texture, draws the eye)."""
    del seed
    if strength <= 0:
        return rgb
    out = smooth_skin(rgb, points, 0.6)
    out = tone(out, saturation=1.12, brightness=0.02)
    return _u8(_mix(rgb, out, strength))


FILTERS = {"cartoon": cartoon, "painting": painting,
           "caricature": caricature_photo}
