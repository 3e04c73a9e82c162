"""Cel-shaded drawing for the classic engine: flat tones per region, ink drawn from the landmarks.

A photo filter puts ink on every texture edge and bands the lightness of every pixel, which reads
as posterisation noise. Here the picture is rebuilt the way an animator paints a cel
(docs/styles.md, "Cartoon"):

1. **Regions** (`head_regions`). An edge-preserving smoothing (two bilateral passes) is cut into
   segments by Felzenszwalb & Huttenlocher's graph segmentation; the face's hull, the segments
   of the cheeks' colour and the neck become one skin region; the hair and any hat are found
   inside the head's real outline (style/hair.py); backdrop and clothes segments of similar
   colour merge.
2. **Tones** (`cel_tones`). Per region one base tone and at most one shadow tone (hair: and a
   crown shine; skin: and a lit tone on the forehead, nose and cheekbones, in the person's own
   skin colour): the region's lightness smoothed inside the region only, split below its median
   with hysteresis (on the skin biased by the head's form: lit in the middle, shaded at the
   outline and under the chin), cleaned into a few large smooth shapes (no islands, no
   pin-holes) filled with flat median colours and anti-aliased outlines.
3. **Features from the landmarks.** Eyes are drawn (sclera, an iris in the photo's iris colour,
   a pupil and a catch-light placed on the iris), brows are filled shapes in the photo's brow
   colour, lips are filled; ink lines follow the landmark contours (jaw, eye lids, nose base,
   mouth), the hairline and the silhouette of the head, and nowhere else.

Every function takes/returns uint8 RGB [H, W, 3] or float32 masks [H, W] in [0, 1]; `points` are
the (already reshaped) iBUG-68 landmarks [68, 2] in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import ibug68
from .glasses import draw_rims, find_rims
from .hair import head_parts

#: sub-pixel precision of OpenCV's drawing calls (coordinates are multiplied by 2**SHIFT)
_SHIFT = 4


@dataclass(frozen=True)
class ToonLook:
    """How a cel-shaded style draws. Lengths are fractions of the inter-ocular distance (IOD),
    areas of IOD², lightness steps in Lab L units (0..255).

    ink: RGB of the lines; ink_width: width of the main contours (jaw, silhouette, lids);
    shade_sigma / mass_sigma: in-region smoothing of the lightness that shapes the tones of the
    skin / of the other regions; split: the shadow lies below the region's median lightness by
    split × its interquartile range, at least min_step; shadow_depth: (min, max) lightness step
    from a base tone to its shadow (and to the hair's light band); min_shape: the smallest tone
    shape (smaller parts and holes are dropped); shape_round: radius of the opening/closing and
    of the outline smoothing of a shape; flat_spread: a region (not skin or hair) whose lightness
    spreads less than this stays one tone (a backdrop's gradient); chin_shadow: depth of the
    chin's shadow on the neck; form: weight of the head's form (lit middle, shaded outline) in
    the skin's split, in steps; ring: the hair's crown shine, from..to of the way from the
    skull's centre to the head's outline; skin_shadow_chroma: the skin shadow's chroma / its
    base's; detail_shadow: threshold of the features' cast shadows (nose side, eye sockets, smile
    lines) in standard deviations of the local detail, 0 = none; marks: how much darker than
    the cheeks a mark on the skin (glasses, a moustache) is, in L units (0 = none);
    modelling / modelling_rest: weight of the smooth relief (lightness at modelling_sigma minus
    at shade_sigma) kept inside the skin's tones around the features / on the broad skin, its
    brightening at most modelling_light L units;
    skin_light: the skin's lit tone covers the skin whose lightness (smoothed, with the form's
    bias) lies above this percentile (100 = none); saturation: chroma factor of the flat tones
    but the skin's; skin_saturation: the skin's (its base tone has the photo's median skin
    chroma: a boosted skin reads as a tan);
    iris_scale: iris radius / eye-opening height, at least iris_min × the eye's width;
    highlights: draw a second, smaller catch-light;
    soft: Gaussian softening of the region borders in pixels at 256 px (0 = aliased);
    nose: draw the nose base; lower_lid: opacity of the lower-lid line; eye_round: the drawn
    eye opening's height / the landmarks' (above 1: rounder, younger eyes);
    hair_strands: the hair's base tone is the median of its lit pixels at or below this
    percentile of their lightness (the strands, not the scalp or shine between them);
    ring_min_area: the smallest hair region (IOD²) that gets the crown shine;
    glasses: find glasses' rims in the photo and draw them (style/glasses.py);
    photo_shading: 0..1, how far every region's lightness moves from its flat tones back to
    the photo's (edge-preserving smoothed) shading (`painted`).
    """

    ink: tuple[int, int, int] = (34, 24, 28)
    ink_width: float = 0.045
    shade_sigma: float = 0.2
    mass_sigma: float = 0.2
    split: float = 0.6
    min_step: float = 6.0
    shadow_depth: tuple[float, float] = (10.0, 28.0)
    min_shape: float = 0.05
    flat_spread: float = 20.0
    chin_shadow: float = 0.45
    shape_round: float = 0.05
    form: float = 0.25
    ring: tuple[float, float] = (0.55, 0.72)
    skin_shadow_chroma: float = 1.0
    detail_shadow: float = 1.0
    marks: float = 90.0
    modelling: float = 1.2
    modelling_rest: float = 0.5
    modelling_light: float = 30.0
    modelling_sigma: float = 0.035
    skin_light: float = 75.0
    saturation: float = 1.15
    skin_saturation: float = 1.0
    iris_scale: float = 0.62
    iris_min: float = 0.24
    highlights: bool = True
    soft: float = 0.6
    nose: bool = True
    lower_lid: float = 0.7
    eye_round: float = 1.0
    eye_photo: float = 0.0
    lid_width: float = 0.8
    lid_lift: float = 0.0
    silhouette: bool = True
    hair_strands: float = 40.0
    ring_min_area: float = 3.0
    glasses: bool = True
    photo_shading: float = 0.0


def _look(style: str, **kw) -> ToonLook:
    """A ToonLook whose ink colour and width are the style's drawing conventions
    (render.draw_style: the expression drawings read the same values)."""
    from ..render.draw_style import draw_style

    d = draw_style(style)
    return ToonLook(**{"ink": d.ink_rgb, "ink_width": d.ink_width, **kw})


#: the `cartoon` style's look
CARTOON = _look("cartoon")
#: the `baby` style's eyes: big dark irises with two catch-lights, soft thin lids
#: (the lash line darker than the baby's soft pen: a pink lid line reads as eye shadow)
BABY_EYES = _look("baby", ink=(62, 40, 42), iris_scale=0.75, iris_min=0.33, lower_lid=0.15,
                  lid_width=0.65, eye_round=1.35)


def painted(look: ToonLook, paint: float) -> ToonLook:
    """`look` drawn at paint strength `paint` (0..1; 1 = `look` itself): less of the cartoon's
    rendering, which is what costs a likeness (docs/styles.md, "Identity guard") — more of the
    photo's shading inside the flat tones, thinner ink, the photo's eyes showing through the
    drawn ones — while the drawing stays a cartoon (tones, lines, drawn eyes)."""
    import dataclasses

    t = float(np.clip(1.0 - paint, 0.0, 1.0))
    if t == 0.0:
        return look
    return dataclasses.replace(
        look, photo_shading=look.photo_shading + (1 - look.photo_shading) * t,
        ink_width=look.ink_width * (1 - 0.5 * t), eye_photo=look.eye_photo + (1 - look.eye_photo) * t)


# ------------------------------------------------------------------------------ geometry --

def smooth_curve(points: np.ndarray, *, closed: bool = False, samples: int = 8) -> np.ndarray:
    """Centripetal-free (uniform) Catmull-Rom spline through `points` [N, 2] → [M, 2]."""
    p = np.asarray(points, np.float64)
    if len(p) < 3:
        return p
    ext = np.concatenate([p[-1:], p, p[:2]]) if closed else np.concatenate(
        [2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    segments = len(p) if closed else len(p) - 1
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    out = []
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    if not closed:
        out.append(p[-1:])
    return np.concatenate(out)


def snap_curve(curve: np.ndarray, score: np.ndarray, reach: float, *, smooth_k: int = 5
               ) -> np.ndarray:
    """Move each point of `curve` [N, 2] along its normal, by at most `reach` pixels, to the
    best `score` [H, W] float32 (e.g. darkness for a lash line, gradient magnitude for a
    contour), with a mild preference for staying put; the offsets are then smoothed along the
    curve. Landmarks are a pixel or two off the real contour; ink drawn on them looks (and
    measures) wrong, ink snapped to the picture's own line does not."""
    import cv2

    c = np.asarray(curve, np.float64)
    if len(c) < 3 or reach <= 0:
        return c
    tangent = np.gradient(c, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    offsets = np.linspace(-reach, reach, int(2 * reach / 0.5) + 1)
    pos = c[:, None, :] + offsets[None, :, None] * normal[:, None, :]  # [N, K, 2]
    vals = cv2.remap(score.astype(np.float32), pos[..., 0].astype(np.float32),
                     pos[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    span = float(vals.max() - vals.min()) + 1e-6
    vals = vals - 0.15 * span * (np.abs(offsets) / reach)[None, :]
    best = offsets[vals.argmax(1)]
    k = min(smooth_k, len(c))
    pad = np.pad(best, k // 2, mode="edge")
    best = np.convolve(pad, np.ones(k) / k, "valid")[: len(c)]
    return c + best[:, None] * normal


def darkness(rgb: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """float32 [H, W]: 255 - smoothed grey (high on dark lines)."""
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return 255.0 - cv2.GaussianBlur(grey, (0, 0), sigma)


def edges(rgb: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """float32 [H, W]: gradient magnitude of the smoothed grey (high on contours)."""
    import cv2

    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), sigma)
    return cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def fill_mask(shape: tuple[int, ...], polygon: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage [H, W] float32 of a filled polygon [N, 2]."""
    import cv2

    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(polygon) * (1 << _SHIFT)).astype(np.int32)], 255,
                 cv2.LINE_AA, shift=_SHIFT)
    return mask.astype(np.float32) / 255.0


def stroke_mask(shape: tuple[int, ...], curve: np.ndarray, width: float, *,
                taper: tuple[float, float] = (0.35, 0.35), step: float = 0.5) -> np.ndarray:
    """Coverage [H, W] float32 of a brush stroke along `curve` [N, 2] (a union of discs).

    width: the full width in pixels at the middle; taper: the width at each end, as a fraction
    of `width` (1 = no taper). The profile eases from the ends to the middle, as a pen does.
    """
    import cv2

    c = np.asarray(curve, np.float64)
    seg = np.linalg.norm(np.diff(c, axis=0), axis=1)
    length = float(seg.sum())
    mask = np.zeros(shape[:2], np.uint8)
    if length < 1e-6:
        return mask.astype(np.float32)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0, length, max(2, int(length / step) + 1))
    xy = np.stack([np.interp(s, arc, c[:, 0]), np.interp(s, arc, c[:, 1])], 1)
    u = s / length
    ease = np.sin(np.pi * np.clip(np.where(u < 0.5, u, 1 - u) * 2, 0, 1) / 2)  # 0 at ends, 1 mid
    ends = np.where(u < 0.5, taper[0], taper[1])
    radius = 0.5 * width * (ends + (1 - ends) * ease)
    scale = 1 << _SHIFT
    for (x, y), r in zip(xy, radius):
        cv2.circle(mask, (int(round(x * scale)), int(round(y * scale))),
                   max(1, int(round(r * scale))), 255, -1, cv2.LINE_AA, shift=_SHIFT)
    return mask.astype(np.float32) / 255.0


def paint(canvas: np.ndarray, mask: np.ndarray, colour) -> np.ndarray:
    """canvas float32 [H, W, 3] with `colour` (RGB or [H, W, 3]) laid over by coverage `mask`.

    Returns a new canvas; only the mask's bounding box is blended (features are small)."""
    m = np.asarray(mask, np.float32)
    rows = np.flatnonzero(m.any(1))
    out = canvas.copy()
    if not len(rows):
        return out
    cols = np.flatnonzero(m.any(0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    sub = m[y0:y1, x0:x1, None]
    col = np.asarray(colour, np.float32)
    if col.ndim == 3:
        col = col[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - sub) + col * sub
    return out


# ------------------------------------------------------------------------------- regions --

def _lab(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)


def _rgb(lab: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def smooth(rgb: np.ndarray) -> np.ndarray:
    """Edge-preserving smoothing (two bilateral passes scaled to the image size) of uint8 RGB
    [H, W, 3]."""
    import cv2

    h, w = rgb.shape[:2]
    # above 256 px: filtered on a 256-px copy and scaled back (the result only feeds the
    # regions' colours and their heavily smoothed lightness; the bilateral's cost grows with
    # the square of its window)
    f = min(1.0, 256.0 / min(h, w))
    src = rgb if f == 1.0 else cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))),
                                          interpolation=cv2.INTER_AREA)
    d = max(5, int(round(min(src.shape[:2]) / 28)) | 1)
    out = cv2.bilateralFilter(src, d, 32, d / 2)
    out = cv2.bilateralFilter(out, d, 24, d / 2)
    return out if f == 1.0 else cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def segment(smoothed: np.ndarray) -> np.ndarray:
    """Region labels int32 [H, W] (0..K-1) of a smoothed image (Felzenszwalb's graph cuts)."""
    import cv2
    from skimage.segmentation import felzenszwalb

    h, w = smoothed.shape[:2]
    # above 256 px the graph is cut on a 256-px copy (4× fewer edges at 512 px: the regions
    # are large, their borders are smoothed at full size afterwards)
    f = min(1.0, 256.0 / min(h, w))
    small = smoothed if f == 1.0 else cv2.resize(
        smoothed, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    scale = (sh * sw) / 65536.0
    labels = felzenszwalb(small, scale=400 * scale ** 0.5, sigma=0.8,
                          min_size=int(260 * scale)).astype(np.int32)
    if f != 1.0:
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    return labels


def skin_colour(lab: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Median Lab [3] of two cheek patches (between each eye and mouth corner)."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    eyes = ibug68.eye_centres(p)
    mask = np.zeros(lab.shape[:2], np.uint8)
    for eye, corner in zip(eyes, (p[ibug68.MOUTH_CORNERS[0]], p[ibug68.MOUTH_CORNERS[1]])):
        c = eye * 0.5 + corner * 0.5
        c = c + (c - p[ibug68.NOSE_TIP]) * 0.2
        cv2.circle(mask, (int(c[0]), int(c[1])), max(2, int(iod * 0.12)), 1, -1)
    vals = lab[mask > 0]
    return np.median(vals, axis=0) if len(vals) else lab.reshape(-1, 3).mean(0)


def region_blur(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian average of `values` [H, W] float32 over the pixels of `weight` [H, W] only
    (normalised convolution): a smoothing that does not leak across a region's border.
    Pixels outside the region get the average of the region's pixels nearby."""
    import cv2

    w = weight.astype(np.float32)
    num, den = values.astype(np.float32) * w, w
    h, wd = w.shape
    step = int(sigma // 4)  # a wide blur is as exact on a copy `step` times smaller
    if step >= 2:
        size = (max(1, wd // step), max(1, h // step))
        num = cv2.resize(num, size, interpolation=cv2.INTER_AREA)
        den = cv2.resize(den, size, interpolation=cv2.INTER_AREA)
        sigma = sigma / step
    num = cv2.GaussianBlur(num, (0, 0), sigma)
    den = cv2.GaussianBlur(den, (0, 0), sigma)
    out = num / np.maximum(den, 1e-6)
    if step >= 2:
        out = cv2.resize(out, (wd, h), interpolation=cv2.INTER_LINEAR)
    return out


def _disc(radius: float) -> np.ndarray:
    import cv2

    k = max(1, int(round(radius)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))


def drop_small(mask: np.ndarray, min_area: float) -> np.ndarray:
    """bool [H, W]: `mask` without its connected parts smaller than min_area pixels, and with
    its holes smaller than min_area filled (no islands, no pin-holes)."""
    import cv2

    def keep_big(m):
        n, lab, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= min_area
        keep[0] = False
        return keep[lab]

    out = keep_big(mask)
    return ~keep_big(~out)


def shape_mask(mask: np.ndarray, *, min_area: float, radius: float) -> np.ndarray:
    """bool [H, W]: a tone's shape cleaned into a few large smooth shapes: opened and closed
    with a disc of `radius` px, parts and holes under min_area px dropped, its outline
    smoothed (Gaussian of the indicator, cut at 0.5)."""
    import cv2

    m = mask.astype(np.uint8)
    if radius >= 1:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, _disc(radius))
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, _disc(radius))
    m = drop_small(m > 0, min_area)
    if radius >= 1:
        m = cv2.GaussianBlur(m.astype(np.float32), (0, 0), radius) > 0.5
        m = drop_small(m, min_area)
    return m


def coverage(mask: np.ndarray, sigma: float = 0.7) -> np.ndarray:
    """Anti-aliased coverage [H, W] float32 of a binary shape: its Gaussian-smoothed indicator
    G turned into a ramp about one pixel wide across the outline (G = 0.5 there, and the
    slope of a blurred step is 1 / (sqrt(2 pi) sigma))."""
    import cv2

    g = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)
    return np.clip((g - 0.5) * (2.5066 * sigma) + 0.5, 0.0, 1.0)


def _hysteresis(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """bool [H, W]: the connected parts of `high` (the weak mask) that hold a `low` pixel."""
    import cv2

    n, lab = cv2.connectedComponents(high.astype(np.uint8), connectivity=8)
    hit = np.zeros(n, bool)
    hit[np.unique(lab[low & high])] = True
    hit[0] = False
    return hit[lab]


def merge_similar(labels: np.ndarray, lab: np.ndarray, threshold: float,
                  keep: tuple[int, ...] = ()) -> np.ndarray:
    """labels int32 [H, W] with neighbouring regions whose mean Lab colours (of `lab`
    [H, W, 3]) lie within `threshold` merged, repeatedly (union-find over the touching pairs);
    the regions in `keep` are never merged. A backdrop or a garment cut into several segments
    by a soft gradient becomes one flat area."""
    ids, inv = np.unique(labels, return_inverse=True)
    lbl = inv.reshape(labels.shape)
    n = len(ids)
    fixed = np.isin(ids, keep)
    parent = np.arange(n)

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = np.concatenate([np.stack([lbl[:, :-1].ravel(), lbl[:, 1:].ravel()], 1),
                            np.stack([lbl[:-1].ravel(), lbl[1:].ravel()], 1)])
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], 1), axis=0)
    pairs = pairs[~fixed[pairs[:, 0]] & ~fixed[pairs[:, 1]]]
    for _ in range(n):
        r = np.array([root(i) for i in range(n)])
        flat = r[lbl].ravel()
        cnt = np.maximum(np.bincount(flat, minlength=n), 1)
        mean = np.stack([np.bincount(flat, lab[..., k].ravel(), n) for k in range(3)], 1) / cnt[:, None]
        a, b = r[pairs[:, 0]], r[pairs[:, 1]]
        live = a != b
        if not live.any():
            break
        d = np.linalg.norm(mean[a] - mean[b], axis=1)
        d[~live] = np.inf
        k = int(d.argmin())
        if d[k] >= threshold:
            break
        parent[max(a[k], b[k])] = min(a[k], b[k])
    r = np.array([root(i) for i in range(n)])
    return ids[r][lbl].astype(np.int32)


def head_regions(sm: np.ndarray, points: np.ndarray, alpha: np.ndarray | None,
                 ) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The picture's regions: (labels int32 [H, W], skin label, hair label, the head: bool
    [H, W], skin, hair and hats).

    The graph segmentation's regions of the cheeks' colour that touch the face become one skin
    region (its small holes filled, thin spurs opened away), the forehead up to the hairline
    with it; the hair and each part of a hat are found inside the head's outline (style/hair.py;
    `alpha`, the head matte uint8 [H, W] or None, is a hint there), not under the jaw; every
    other segment (backdrop, clothes) stays a region of its own. The borders are smoothed (a
    majority vote of the blurred region indicators).
    """
    import cv2

    h, w = sm.shape[:2]
    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    labels = segment(sm)
    lab = _lab(sm)
    n = int(labels.max()) + 1
    flat = labels.ravel()
    count = np.maximum(np.bincount(flat, minlength=n), 1).astype(np.float32)
    mean = np.stack([np.bincount(flat, lab[..., k].ravel(), n) for k in range(3)], 1) / count[:, None]
    skin_lab = skin_colour(lab, p)
    chroma_d = np.linalg.norm(mean[:, 1:] - skin_lab[1:], axis=1)
    # the face's hull is skin whatever its shading; outside it (forehead, ears, temples) a
    # segment is skin when it has the cheeks' hue and about their lightness (a dim or pale
    # photo has hair of nearly the skin's chroma: the lightness tells them apart)
    is_skin = (chroma_d < 10.0) & (np.abs(mean[:, 0] - skin_lab[0]) < 28)
    face = face_hull(p, (h, w))
    touches_face = np.bincount(flat, face.ravel().astype(np.float32), n) > 0
    # ... and lies mostly on the head (a pale backdrop that the graph cut joined to the temple
    # through a few pixels is no skin)
    head = (alpha > 127) if alpha is not None else cv2.dilate(face, _disc(0.5 * iod)) > 0
    on_head = np.bincount(flat, head.ravel().astype(np.float32), n) / count
    is_skin &= touches_face & (on_head > 0.6)
    # outside the hull a skin segment keeps only its skin-coloured pixels: the graph cut can
    # join short dark or white hair to the forehead, and the hair is no skin
    px_chroma = np.linalg.norm(lab[..., 1:] - skin_lab[1:], axis=-1)
    px_skin = (px_chroma < 14.0) & (np.abs(lab[..., 0] - skin_lab[0]) < 45)
    skin = (is_skin[labels] & px_skin) | (face > 0)
    # the neck: darker, often yellower than the cheeks; its pixels (under the jaw, within the
    # jaw's middle, still near the skin's colour) join the skin
    jaw_w = float(np.linalg.norm(p[16] - p[0]))
    yy, xx = np.mgrid[0:h, 0:w]
    neck = (yy > p[ibug68.JAW][:, 1].min()) & (np.abs(xx - p[ibug68.CHIN][0]) < 0.32 * jaw_w)
    skin |= neck & (px_chroma < 24.0) & (lab[..., 0] > skin_lab[0] - 110) & \
        (lab[..., 0] < skin_lab[0] + 15)
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, _disc(0.06 * iod)) > 0
    skin = drop_small(skin, 0.25 * iod * iod)
    n_lab, comp = cv2.connectedComponents(skin.astype(np.uint8))
    hits = np.bincount(comp.ravel(), face.ravel().astype(np.float32), n_lab)
    hits[0] = 0
    skin = comp == int(hits.argmax())
    skin_id, hair_id = n, n + 1
    # the hair (and a hat) inside the head's real outline, told from the backdrop by colour;
    # under the jaw (the neck, a collar) none
    parts = head_parts(lab, labels, skin, p, alpha, below=under_jaw((h, w), p, 2.0 * iod))
    out = np.where(parts.skin, skin_id, labels)
    out = np.where(parts.hair, hair_id, out)
    hat_ids = tuple(n + 2 + k for k in range(len(parts.hats)))
    for k, part in zip(hat_ids, parts.hats):
        out = np.where(part, k, out)
    out = merge_similar(out, lab, 14.0, keep=(skin_id, hair_id) + hat_ids)
    # smooth borders: the label whose blurred indicator is largest wins
    # a sliver (a segment along the matte's edge, a rim of light on a collar) has no body:
    # it gives its pixels to its neighbours instead of drawing a thin strip of its own
    ids = np.unique(out)
    sigma = max(1.0, 0.03 * iod)
    core = _disc(0.04 * iod)
    votes = []
    for i in ids:
        m = (out == i).astype(np.uint8)
        thin = i not in (skin_id, hair_id) + hat_ids and \
            cv2.erode(m, core).sum() < 0.3 * m.sum()
        votes.append(np.zeros(m.shape, np.float32) if thin else
                     cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigma))
    votes = np.stack(votes)
    out = ids[votes.argmax(0)].astype(np.int32)
    return out, skin_id, hair_id, np.isin(out, (skin_id, hair_id) + hat_ids)


def _form(skin: np.ndarray, points: np.ndarray, iod: float) -> np.ndarray:
    """float32 [H, W] in [-1, 1]: how much a skin pixel faces the light by its place alone:
    +1 deep inside the face, -1 at its outline (the temples, the hairline under a fringe, the
    jaw's sides), and -1.5 on the neck under the jaw (the chin casts its shadow there)."""
    import cv2
    from scipy.ndimage import binary_fill_holes

    filled = binary_fill_holes(skin).astype(np.uint8)
    dist = cv2.distanceTransform(filled, cv2.DIST_L2, 5)
    out = 2.0 * np.clip(dist / (0.35 * iod), 0, 1) - 1.0
    out = np.where(under_jaw(skin.shape, points, 0.45 * iod), -1.5, out)
    return cv2.GaussianBlur(out.astype(np.float32), (0, 0), 0.08 * iod)


def under_jaw(shape: tuple[int, ...], points: np.ndarray, depth: float) -> np.ndarray:
    """bool [H, W]: the band of `depth` pixels under the jaw line, outside the face (where the
    chin casts its shadow on the neck)."""
    import cv2

    h, w = shape[:2]
    jaw = smooth_curve(points[ibug68.JAW], samples=6)
    under = np.zeros((h, w), np.uint8)
    poly = np.concatenate([jaw, jaw[::-1] + np.array([0.0, depth])])
    cv2.fillPoly(under, [np.round(poly).astype(np.int32)], 1)
    return (under > 0) & (fill_mask((h, w), jaw) < 0.5)


def dark_marks(photo_lab: np.ndarray, skin: np.ndarray, points: np.ndarray, look: ToonLook
               ) -> np.ndarray:
    """bool [H, W]: what is drawn on the skin but is not skin — glasses' rims, a moustache, a
    beard, dark strands over the forehead: skin pixels far darker than the skin (look.marks L
    units under the cheeks), away from the eyes, brows, nostrils and mouth (drawn from the
    landmarks), in parts of at least 0.02 IOD² (a mole or a pore is no mark).

    photo_lab: the photo in Lab float32 [H, W, 3], barely smoothed (a rim is 1-2 px wide)."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    L = cv2.GaussianBlur(photo_lab[..., 0], (0, 0), 0.7)
    skin_L = float(skin_colour(photo_lab, p)[0])
    features = np.zeros(skin.shape, np.uint8)
    for group in (ibug68.EYE_RIGHT, ibug68.EYE_LEFT, ibug68.BROW_RIGHT, ibug68.BROW_LEFT,
                  ibug68.NOSE_LOWER, ibug68.LIPS_OUTER):
        cv2.fillConvexPoly(features, cv2.convexHull(np.round(p[group]).astype(np.int32)), 1)
    features = cv2.dilate(features, _disc(0.12 * iod)) > 0
    dark = skin & ~features & (L < skin_L - look.marks)
    dark = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_CLOSE, _disc(1)) > 0
    return drop_small(dark, 0.02 * iod * iod) & skin


def face_hull(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 [H, W]: 1 inside the convex hull of the 68 landmarks."""
    import cv2

    hull = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    return hull


def _feature_zone(shape: tuple[int, ...], points: np.ndarray, iod: float) -> np.ndarray:
    """float32 [H, W] in [0, 1]: 1 over the eyes, brows, nose and mouth grown by 0.2 IOD,
    fading to 0 over another 0.15 IOD."""
    import cv2

    zone = np.zeros(shape[:2], np.uint8)
    for group in (ibug68.EYE_RIGHT, ibug68.EYE_LEFT, ibug68.BROWS, ibug68.NOSE,
                  ibug68.LIPS_OUTER):
        cv2.fillConvexPoly(zone, cv2.convexHull(np.round(points[group]).astype(np.int32)), 1)
    zone = cv2.dilate(zone, _disc(0.2 * iod)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(zone, (0, 0), 0.08 * iod) * 1.2, 0, 1)


def _feature_shadows(L: np.ndarray, skin: np.ndarray, points: np.ndarray, iod: float,
                     look: ToonLook) -> np.ndarray:
    """bool [H, W]: the small cast shadows a cel painter adds around the features — beside
    the nose, under its tip and the lower lip, in the eye sockets: skin that is clearly darker
    than the skin around it (lightness smoothed at 0.05 vs 0.25 IOD), near the nose, eyes and
    mouth, cleaned into a few smooth shapes."""
    import cv2

    fine = region_blur(L, skin, 0.05 * iod)
    broad = region_blur(L, skin, look.shade_sigma * iod)
    detail = fine - broad
    zone = np.zeros(skin.shape, np.uint8)
    for group in (ibug68.NOSE, ibug68.EYE_RIGHT, ibug68.EYE_LEFT, ibug68.LIPS_OUTER):
        cv2.fillConvexPoly(zone, cv2.convexHull(np.round(points[group]).astype(np.int32)), 1)
    zone = cv2.dilate(zone, _disc(0.3 * iod)) > 0
    spread = float(np.std(detail[skin & zone])) if (skin & zone).any() else 0.0
    level = max(look.detail_shadow * spread, look.min_step)
    dark = _hysteresis(zone & (detail < -level), zone & (detail < -0.6 * level))
    return shape_mask(dark, min_area=0.02 * iod * iod, radius=0.025 * iod)


def _crown_band(hair: np.ndarray, alpha: np.ndarray | None, points: np.ndarray, iod: float,
                depth: tuple[float, float], teeth: float = 15.0) -> np.ndarray:
    """bool [H, W]: the hair's "angel ring" — an arc over the crown, between depth[0] and
    depth[1] of the way from the skull's centre to the head's outline, within 55° of the
    face's up direction and thinning towards its ends, its lower edge broken into points every
    `teeth` degrees.

    The outline along each direction is where the head (matte, else `hair`) ends; where the
    head runs out of the frame first, the frame's edge stands in for it."""
    h, w = hair.shape
    head = (alpha > 127) if alpha is not None else hair
    eyes = np.array(ibug68.eye_centres(points)).mean(0)
    up = eyes - points[ibug68.CHIN]
    up /= np.linalg.norm(up) + 1e-9
    centre = eyes + 0.45 * iod * up
    angles = np.linspace(-np.pi, np.pi, 181)
    steps = np.arange(0, 3.0 * iod, 1.0)
    right = np.array([-up[1], up[0]])
    dirs = np.cos(angles)[:, None] * up + np.sin(angles)[:, None] * right  # [A, 2]
    ray = centre + steps[None, :, None] * dirs[:, None, :]  # [A, S, 2]
    x, y = np.rint(ray[..., 0]).astype(int), np.rint(ray[..., 1]).astype(int)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    on = np.zeros(x.shape, bool)
    on[inside] = head[y[inside], x[inside]]
    # the outline: the last head sample along the ray (the frame's edge if it is still head)
    last = np.where(on.any(1), on.shape[1] - 1 - np.argmax(on[:, ::-1], 1), 0)
    reach = np.maximum(steps[last], 1.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.stack([xx - centre[0], yy - centre[1]], -1)
    r = np.linalg.norm(d, axis=-1)
    theta = np.arctan2(d @ right, d @ up)
    frac = r / np.interp(theta, angles, reach)
    spread = np.clip(1 - np.abs(theta) / np.radians(55), 0, 1) ** 0.5  # thins to its ends
    mid, half = (depth[0] + depth[1]) / 2, (depth[1] - depth[0]) / 2
    # the ring's lower edge breaks into points along the hair's fall (the strands' sheen ends
    # at different heights): a sharpened saw tooth of the angle
    t = np.mod(np.degrees(theta) / teeth, 1.0)
    tooth = (1.0 - np.abs(2.0 * t - 1.0)) ** 2
    inner = mid - half * spread - 0.7 * (depth[1] - depth[0]) * tooth * spread
    return hair & (frac > inner) & (frac < mid + half * spread)


def _median_lab(lab: np.ndarray, sel: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    return np.median(lab[sel], axis=0) if sel.sum() >= 8 else fallback


def _skin_chroma(base: np.ndarray, lab: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """The skin's base tone (Lab [3], OpenCV's 0..255 scales) at the median chroma of the
    skin's pixels `skin` bool [H, W] of `lab` [H, W, 3], its hue kept: the mid-tones that the
    base is read from are the skin's most saturated, and a richer skin reads as a tan."""
    ab = lab[skin][:, 1:] - 128.0
    have = float(np.hypot(*(base[1:] - 128.0)))
    if len(ab) < 8 or have < 1e-3:
        return base
    out = np.asarray(base, np.float32).copy()
    out[1:] = 128.0 + (out[1:] - 128.0) * float(np.median(np.hypot(ab[:, 0], ab[:, 1]))) / have
    return out


def cel_tones(rgb: np.ndarray, points: np.ndarray, look: ToonLook,
              alpha: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat cel-shaded colours of the whole picture (docs/styles.md, "cartoon").

    Per region one base tone and at most one shadow tone (hair, skin: and one light tone). The
    region's lightness is smoothed heavily inside the region only (look.shade_sigma × IOD),
    split below its median with hysteresis, the shadow shape is cleaned (no part or hole under
    look.min_shape × IOD², smooth outline) and each tone is filled with the median colour of
    the photo's pixels under it, its outline anti-aliased.

    rgb uint8 [H, W, 3]; alpha: the head matte uint8 [H, W] or None. Returns (float32 RGB
    [H, W, 3] in 0..255, skin mask bool [H, W], region labels int32 [H, W], the head — skin,
    hair and hats — bool [H, W]).
    """
    import cv2

    h, w = rgb.shape[:2]
    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    sm = smooth(rgb)
    labels, skin_id, hair_id, head = head_regions(sm, p, alpha)
    lab = _lab(sm)
    L = lab[..., 0]
    min_area = look.min_shape * iod * iod
    radius = look.shape_round * iod
    photo_lab = _lab(rgb)
    skin_L = float(np.median(L[labels == skin_id])) if (labels == skin_id).any() else 128.0
    marks = dark_marks(photo_lab, labels == skin_id, p, look) if look.marks > 0 else \
        np.zeros((h, w), bool)
    out = np.zeros((h, w, 3), np.float32)
    for rid in np.unique(labels):
        region = labels == rid
        area = int(region.sum())
        is_skin, is_hair = rid == skin_id, rid == hair_id
        # the skin's tones are read without its dark marks (glasses, a moustache): they are
        # drawn as their own shapes, not smeared into shadows
        src = region & ~marks if is_skin else region
        base = _median_lab(lab, src, lab[region].mean(0))
        fill = np.broadcast_to(base, (h, w, 3)).copy()
        if area >= 4 * min_area:
            sigma = (look.shade_sigma if is_skin else look.mass_sigma) * iod
            Ls = region_blur(L, src, sigma)
            vals = Ls[src]
            med = float(np.median(vals))
            spread = float(np.percentile(vals, 75) - np.percentile(vals, 25))
            step = max(look.split * spread, look.min_step)
            if not (is_skin or is_hair) and spread < look.flat_spread:
                step = np.inf  # a backdrop's soft gradient: one flat tone
            band = 0.25 * step
            if is_skin:  # the form: a head is lit in its middle, turns away at its borders
                Ls = Ls + step * look.form * _form(region, p, iod)
            shadow = _hysteresis(region & (Ls < med - step - band),
                                 region & (Ls < med - step + band))
            shadow = shape_mask(shadow, min_area=min_area, radius=radius) & region
            if is_skin:  # the chin's shadow on the neck, always
                shadow |= shape_mask(under_jaw((h, w), p, look.chin_shadow * iod) & region,
                                     min_area=min_area, radius=radius)
            if is_skin and look.detail_shadow > 0:
                shadow |= _feature_shadows(L, src, p, iod, look) & region
            light = np.zeros_like(region)
            if is_hair and area >= look.ring_min_area * iod * iod:
                # (a short cut has no crown to shine: a ring on it reads as a grey helmet)
                light = _crown_band(region, alpha, p, iod, look.ring)
                light = shape_mask(light, min_area=min_area, radius=radius) & region & ~shadow
            if is_skin and look.skin_light < 100:
                # the lit skin (forehead, nose, cheekbones: the eye judges a skin's colour by
                # its lit parts, a flat mean looks darker and duller than the photo), the
                # form's bias included: lit in the middle
                top = float(np.percentile(Ls[src], look.skin_light))
                light = _hysteresis(region & (Ls > top + band), region & (Ls > top - band))
                light = shape_mask(light & ~shadow, min_area=min_area, radius=radius) & region \
                    & ~shadow
            # the colours are read where the region is surely itself: the hair's core, away
            # from its outline and the hairline (blends with the backdrop and the skin)
            sample = src
            if is_hair:
                core = cv2.erode(region.astype(np.uint8), _disc(0.05 * iod)) > 0
                if core.sum() >= min_area:
                    sample = core
            lit = sample & ~shadow & ~light
            hair_base = None
            if is_hair and lit.sum() >= 8:
                # hair is its strands: short or curly hair shows the scalp between them, and
                # the smoothed picture's median drifts towards the skin; a painter takes the
                # strands' colour from the photo itself (the part away from the skin's
                # lightness: dark hair's darker part, white hair's lighter part)
                Lp = photo_lab[..., 0]
                if np.median(L[lit]) < skin_L:
                    strands = lit & (Lp <= np.percentile(Lp[lit], look.hair_strands))
                else:
                    strands = lit & (Lp >= np.percentile(Lp[lit], 100 - look.hair_strands))
                hair_base = _median_lab(photo_lab, strands, None) if strands.sum() >= 8 else None
            base = _median_lab(lab, lit, _median_lab(lab, sample, base)) if hair_base is None \
                else hair_base
            # one clear step to each other tone: deep enough to read at 128 px, never a black
            # hole; the photo's own within shadow_depth
            dark = _median_lab(lab, shadow & sample, _median_lab(lab, shadow, base)) \
                if shadow.any() else base
            bright = _median_lab(lab, light, base) if light.any() else base
            dL = float(np.clip(base[0] - dark[0], *look.shadow_depth)) if shadow.any() else 0.0
            lift = float(np.clip(bright[0] - base[0], *look.shadow_depth)) if light.any() else 0.0
            if is_skin:  # the person's own skin: its chroma, and the tones average to its mean
                base = _skin_chroma(base, lab, src)
                base[0] = float(np.mean(L[src])) + float(shadow[src].mean()) * dL \
                    - float(light[src].mean()) * lift
            fill[:] = base
            if shadow.any():
                dark = np.array([base[0] - dL, dark[1], dark[2]], np.float32)
                if is_skin:  # the base's hue (a painted skin shadow is a deeper skin colour,
                    # never the photo's greyish or greenish neck shade)
                    dark[1:] = 128 + (base[1:] - 128) * look.skin_shadow_chroma
                c = coverage(shadow)[..., None]
                fill = fill * (1 - c) + dark * c
            if light.any():
                bright = np.array([base[0] + lift, bright[1], bright[2]], np.float32)
                c = coverage(light)[..., None]
                fill = fill * (1 - c) + bright * c
        if is_skin:
            if look.modelling > 0:  # a smooth trace of the face's relief inside the tones:
                # full around the features (the relief of the eye sockets, nose and mouth is
                # what a face is recognised by), faint on the broad cheeks and forehead
                fine = region_blur(L, src, look.modelling_sigma * iod)
                broad = region_blur(L, src, look.shade_sigma * iod)
                weight = look.modelling_rest + (look.modelling - look.modelling_rest) * \
                    _feature_zone((h, w), p, iod)
                # (its bright side clipped: a hot spot on the cheek reads as a lamp's glare,
                # not as a drawn face's light)
                fill[..., 0] += np.clip(weight * (fine - broad), -look.shadow_depth[1],
                                        look.modelling_light)
        out[region] = fill[region]
    if look.photo_shading > 0:  # less flattening: the photo's own shading comes back on the
        # skin (what the likeness is read from; the backdrop and clothes stay flat)
        skin = labels == skin_id
        out[..., 0][skin] += look.photo_shading * (L[skin] - out[..., 0][skin])
    if marks.any():
        colour = np.median(photo_lab[marks], axis=0)
        c = coverage(marks, 0.5)[..., None]
        out = out * (1 - c) + colour * c
    # the cartoon's vivid colours everywhere but on the skin: a richer skin reads as a tan
    chroma = np.where(labels == skin_id, look.skin_saturation, look.saturation)[..., None]
    out[..., 1:] = 128 + (out[..., 1:] - 128) * chroma
    flat_rgb = _rgb(out).astype(np.float32)
    if look.soft > 0:  # anti-aliased region borders
        flat_rgb = cv2.GaussianBlur(flat_rgb, (0, 0), look.soft * min(h, w) / 256)
    return flat_rgb, labels == skin_id, labels, head


# ------------------------------------------------------------------------------ features --

def _eye_colours(rgb: np.ndarray, eye: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """(iris RGB [3], iris centre (x, y)) from the photo inside the eye polygon [6, 2]."""
    import cv2

    h, w = rgb.shape[:2]
    poly = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(poly, np.round(eye).astype(np.int32), 1)
    inside = poly > 0
    centre = eye.mean(0)
    if inside.sum() < 4:
        return np.array([90, 70, 60], np.float32), (float(centre[0]), float(centre[1]))
    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.2).astype(np.float32)
    vals = grey[inside]
    dark = np.clip(np.percentile(vals, 35) - grey, 0, None) * inside
    ys, xs = np.nonzero(inside)
    wts = dark[ys, xs]
    if wts.sum() > 0:
        cx, cy = float((xs * wts).sum() / wts.sum()), float((ys * wts).sum() / wts.sum())
    else:
        cx, cy = float(centre[0]), float(centre[1])
    # the gaze moves the iris sideways only; vertically it sits at the opening's middle
    cy = 0.3 * cy + 0.7 * float(centre[1])
    # the iris colour: the darker half of a small disc at the iris (not the lashes or lids)
    width = float(np.linalg.norm(eye[3] - eye[0]))
    disc = inside & ((xs_all(h, w) - cx) ** 2 + (ys_all(h, w) - cy) ** 2 < (0.18 * width) ** 2)
    pool = disc if disc.sum() >= 4 else inside
    pv = grey[pool]
    iris = rgb[pool][pv <= np.percentile(pv, 50)].astype(np.float32)
    colour = np.median(iris, axis=0) if len(iris) else np.array([90, 70, 60], np.float32)
    return colour, (cx, cy)


def xs_all(h: int, w: int) -> np.ndarray:
    """Column index of every pixel [H, W] float32."""
    return np.broadcast_to(np.arange(w, dtype=np.float32)[None, :], (h, w))


def ys_all(h: int, w: int) -> np.ndarray:
    """Row index of every pixel [H, W] float32."""
    return np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))


def _saturate(rgb, amount: float, lift: float = 0.0) -> np.ndarray:
    import cv2

    px = np.clip(np.asarray(rgb, np.float32).reshape(1, 1, 3) / 255.0, 0, 1)
    hsv = cv2.cvtColor(px, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1] * amount, 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] + lift, 0, 1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).reshape(3) * 255.0


def draw_eyes(canvas: np.ndarray, photo: np.ndarray, points: np.ndarray, look: ToonLook,
              ink_width: float) -> np.ndarray:
    """Draw both eyes: sclera, iris (photo colour), pupil, catch-light(s) on the iris, lids.

    canvas: float32 [H, W, 3]; photo: uint8 [H, W, 3] (where the iris colour and gaze are read).
    """
    p = np.asarray(points, np.float64)
    shape = canvas.shape
    iod = ibug68.inter_ocular_distance(p)
    dark = darkness(photo)
    for group in (ibug68.EYE_RIGHT, ibug68.EYE_LEFT):
        eye = p[group]
        width = float(np.linalg.norm(eye[3] - eye[0]))
        if width < 3:
            continue
        if look.eye_round != 1.0:  # taller, rounder openings: lids pushed away from the midline
            mid = (eye[0] + eye[3]) / 2
            axis = (eye[3] - eye[0]) / width
            normal = np.array([-axis[1], axis[0]])
            off = (eye - mid) @ normal
            eye = eye + ((look.eye_round - 1.0) * off)[:, None] * normal
        opening = smooth_curve(eye, closed=True, samples=6)
        inside = fill_mask(shape, opening)
        height = float(np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / 2
        iris_rgb, (cx, cy) = _eye_colours(photo, eye)
        r = max(look.iris_scale * height, look.iris_min * width)
        r = min(r, 0.4 * width)
        # sclera, a little shadowed under the upper lid
        photo_f = photo.astype(np.float32)
        canvas = paint(canvas, inside, np.float32([246, 243, 240]) * (1 - look.eye_photo)
                       + photo_f * look.eye_photo)
        lid_shadow = fill_mask(shape, opening + np.array([0.0, 0.22 * height]))
        canvas = paint(canvas, inside * (1 - lid_shadow) * 0.35, (175, 165, 170))
        disc = lambda rr, dx=0.0, dy=0.0: fill_mask(  # noqa: E731
            shape, np.stack([cx + dx + rr * np.cos(a), cy + dy + rr * np.sin(a)], 1)) * inside
        a = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        rim = _saturate(iris_rgb, 1.1, -0.2)
        body = _saturate(iris_rgb, 1.15, 0.06)
        canvas = paint(canvas, disc(r), rim)
        canvas = paint(canvas, disc(r * 0.78, 0, 0.12 * r), body * (1 - look.eye_photo)
                       + photo_f * look.eye_photo)
        canvas = paint(canvas, disc(r * 0.45), look.ink)
        canvas = paint(canvas, disc(r * 0.3, -0.38 * r, -0.38 * r), (255, 255, 255))
        if look.highlights:
            canvas = paint(canvas, disc(r * 0.14, 0.42 * r, 0.36 * r), (255, 255, 255))
        # lids: a bold upper lid (thicker towards the outer corner) that sits on the lid
        # margin, above the opening, and a light lower one below it
        outer_first = group == ibug68.EYE_RIGHT  # 36 is the outer corner of the image-left eye
        half = len(opening) // 2
        upper = opening[: half + 1]  # corner → upper lid → other corner
        upper = snap_curve(upper, dark, 0.05 * iod)
        lift = look.lid_lift * ink_width * np.sin(np.linspace(0, np.pi, len(upper)))[:, None]
        taper = (1.0, 0.4) if outer_first else (0.4, 1.0)
        canvas = paint(canvas, stroke_mask(shape, upper - np.c_[0 * lift, lift], ink_width * look.lid_width,
                                           taper=taper), look.ink)
        lower = snap_curve(np.concatenate([opening[half:], opening[:1]]), dark, 0.04 * iod)
        drop = 0.3 * ink_width * np.sin(np.linspace(0, np.pi, len(lower)))[:, None]
        canvas = paint(canvas, stroke_mask(shape, lower + np.c_[0 * drop, drop], ink_width * 0.5,
                                           taper=(0.2, 0.2)) * look.lower_lid, look.ink)
    return canvas


def draw_brows(canvas: np.ndarray, photo: np.ndarray, points: np.ndarray, width: float, *,
                fade: float = 0.0, skin_rgb=None) -> np.ndarray:
    """Flat brows in the photo's brow colour, shaped like the photo's brows.

    The brow landmarks trace the brow's upper edge; the shape drawn is the dark part of the
    photo in a band under that curve (the brow's own outline carries much of a face's
    identity), smoothed into one clean shape, with a tapered stroke as the fallback.
    fade: 0..1, how far the brow colour moves towards `skin_rgb` (a baby's faint brows).
    """
    import cv2

    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    grey = cv2.GaussianBlur(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), (0, 0), 1.0).astype(np.float32)
    down = np.array([0.0, 0.07 * iod])
    for group, taper in ((ibug68.BROW_RIGHT, (0.45, 0.85)), (ibug68.BROW_LEFT, (0.85, 0.45))):
        curve = smooth_curve(p[group] + down, samples=6)
        band = stroke_mask(canvas.shape, curve, 0.26 * iod, taper=(0.6, 0.6), step=1.0) > 0.5
        shape = stroke_mask(canvas.shape, curve, width, taper=taper)
        if band.sum() > 10:
            vals = grey[band]
            lo, hi = np.percentile(vals, 15), np.percentile(vals, 85)
            if hi - lo > 12:
                dark = (band & (grey < (lo + hi) / 2)).astype(np.float32)
                dark = cv2.GaussianBlur(dark, (0, 0), max(0.8, 0.02 * iod))
                found = np.clip((dark - 0.35) / 0.3, 0, 1)
                if found.sum() > 0.25 * shape.sum():
                    shape = found
        sel = shape > 0.5
        colour = np.median(photo[sel].astype(np.float32), 0) * 0.8 if sel.sum() > 4 else \
            np.array([70, 50, 40], np.float32)
        if fade > 0 and skin_rgb is not None:
            colour = colour * (1 - fade) + np.asarray(skin_rgb, np.float32) * fade
        canvas = paint(canvas, shape, colour)
    return canvas


def draw_mouth(canvas: np.ndarray, photo: np.ndarray, points: np.ndarray, look: ToonLook,
               ink_width: float) -> np.ndarray:
    """Flat lips (two tones), the mouth opening outlined, the corners marked."""
    p = np.asarray(points, np.float64)
    shape = canvas.shape
    iod = ibug68.inter_ocular_distance(p)
    outer = smooth_curve(p[ibug68.LIPS_OUTER], closed=True, samples=5)
    inner = smooth_curve(p[ibug68.LIPS_INNER], closed=True, samples=5)
    lips = fill_mask(shape, outer)
    opening = fill_mask(shape, inner)
    lips_only = np.clip(lips - opening, 0, 1)
    sel = lips_only > 0.5
    colour = np.median(photo[sel].astype(np.float32), 0) if sel.sum() > 4 else \
        np.array([190, 100, 100], np.float32)
    colour = _saturate(colour, 1.2, 0.03)
    canvas = paint(canvas, lips_only * 0.85, colour)
    # the upper lip is in the shade
    upper_lip = fill_mask(shape, np.concatenate([p[48:55], p[[64, 63, 62, 61, 60]]]))
    canvas = paint(canvas, np.clip(upper_lip - opening, 0, 1) * 0.4, colour * 0.85)
    gap = ibug68.inner_lip_distance(p)
    if gap > 0.9:
        # the opening: teeth as flat white, the rest as a dark mouth (two tones of the photo)
        grey = photo.astype(np.float32).mean(2)
        sel = opening > 0.5
        bright = grey > (np.percentile(grey[sel], 45) if sel.sum() > 4 else 128)
        inside_col = np.where(bright[..., None], np.float32([250, 247, 240]),
                              np.float32([120, 40, 50]))
        canvas = paint(canvas, opening, inside_col)
        ring = snap_curve(np.concatenate([inner, inner[:1]]), edges(photo), 0.05 * iod)
        canvas = paint(canvas, stroke_mask(shape, ring,
                                           ink_width * 0.5, taper=(1, 1)), look.ink)
    else:
        line = snap_curve(smooth_curve(p[[48, 60, 61, 62, 63, 64, 54]], samples=6),
                          darkness(photo), 0.05 * iod)
        canvas = paint(canvas, stroke_mask(shape, line, ink_width * 0.9), look.ink)
    return canvas


def draw_nose(canvas: np.ndarray, photo: np.ndarray, points: np.ndarray, look: ToonLook, ink_width: float
              ) -> np.ndarray:
    """The nose base only (nostril wings and tip): a cartoon nose is a short curve."""
    p = np.asarray(points, np.float64)
    base = snap_curve(smooth_curve(p[ibug68.NOSE_BASE], samples=6), darkness(photo),
                      0.05 * ibug68.inter_ocular_distance(p))
    return paint(canvas, stroke_mask(canvas.shape, base, ink_width * 0.55, taper=(0.15, 0.15))
                 * 0.75, look.ink)


def silhouette_ink(alpha: np.ndarray, points: np.ndarray, width: float) -> np.ndarray:
    """Coverage [H, W] of the head's outline (hair, ears, neck) from a head matte [H, W] uint8,
    away from the image border (the subject continues beyond the frame there)."""
    import cv2

    h, w = alpha.shape
    p = np.asarray(points, np.float64)
    up = np.array(ibug68.eye_centres(p)).mean(0) - p[ibug68.CHIN]
    up /= np.linalg.norm(up) + 1e-9
    cut = min(p[0] @ up, p[16] @ up)
    mask = (cv2.GaussianBlur(alpha, (0, 0), 1.5) > 127).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.zeros((h, w), np.float32)
    margin = 3
    for c in contours:
        c = c[:, 0, :].astype(np.float64)
        if len(c) < 10:
            continue
        # smooth the outline (a hand-drawn contour does not follow every hair)
        k = max(3, int(round(len(c) / 60)))
        kern = np.ones(k) / k
        cs = np.stack([np.convolve(np.r_[c[-k:, i], c[:, i], c[:k, i]], kern, "same")[k:-k]
                       for i in range(2)], 1)
        on_border = (cs[:, 0] < margin) | (cs[:, 1] < margin) | (cs[:, 0] > w - 1 - margin) | \
            (cs[:, 1] > h - 1 - margin)
        # below the jaw's ends the matte's edge is the cut under the chin (or the neck and
        # collar): the jaw line is drawn there, a second line under it would double it
        on_border |= (cs @ up) < cut
        # draw the runs that stay inside the frame
        start = None
        for i in range(len(cs) + 1):
            inside = i < len(cs) and not on_border[i]
            if inside and start is None:
                start = i
            elif not inside and start is not None:
                if i - start > 8:
                    out = np.maximum(out, stroke_mask((h, w), cs[start:i:2], width,
                                                      taper=(0.4, 0.4), step=1.0))
                start = None
    return out


def outline_ink(skin: np.ndarray, points: np.ndarray, width: float) -> np.ndarray:
    """Coverage [H, W] of the skin's outer contour above the jaw's ends (the hairline and the
    temples): where the face meets the hair, a cartoon has a line."""
    import cv2

    p = np.asarray(points, np.float64)
    h, w = skin.shape
    mask = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), max(1.0, min(h, w) / 150)) > 0.5
    face = face_hull(p, (h, w))
    n, lab = cv2.connectedComponents(mask.astype(np.uint8))
    if n <= 1:
        return np.zeros((h, w), np.float32)
    hits = np.bincount(lab.ravel(), face.ravel().astype(np.float32), n)
    hits[0] = 0
    main = (lab == int(hits.argmax())).astype(np.uint8)
    contours, _ = cv2.findContours(main, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((h, w), np.float32)
    c = max(contours, key=len)[:, 0, :].astype(np.float64)
    # keep the part above the jaw's upper ends (the jaw itself is drawn from the landmarks)
    frame_up = np.array(ibug68.eye_centres(p)).mean(0) - p[ibug68.CHIN]
    frame_up /= np.linalg.norm(frame_up) + 1e-9
    cut = min(p[0] @ frame_up, p[16] @ frame_up)
    keep = (c @ frame_up) > cut
    k = 5
    kern = np.ones(k) / k
    cs = np.stack([np.convolve(np.r_[c[-k:, i], c[:, i], c[:k, i]], kern, "same")[k:-k]
                   for i in range(2)], 1)
    out = np.zeros((h, w), np.float32)
    start = None
    for i in range(len(cs) + 1):
        inside = i < len(cs) and keep[i]
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            if i - start > 6:
                out = np.maximum(out, stroke_mask((h, w), cs[start:i:2], width, taper=(0.3, 0.3),
                                                  step=1.0))
            start = None
    return out


#: The chin cut of the drawn head's matte follows the jaw's ink from this landmark to its
#: mirror (16 - it) and runs on straight sideways beyond them (render/matting's chin cut
#: does the same from the landmarks): below the jaw's corners lie the neck and the collar.
CHIN_CUT_FROM = 3


def drawn_head(head: np.ndarray, silhouette: np.ndarray, jaw_ink: np.ndarray, jaw: np.ndarray,
               points: np.ndarray, ink_width: float) -> np.ndarray:
    """The matte of the head a cel-shaded style painted and inked, float32 [H, W] in [0, 1]
    (docs/matting.md, "The style's own head"): the head's anti-aliased coverage and its
    silhouette ink (which straddles the outline: none of it is cut in half), above the chin
    cut -- the outer edge of the jaw's ink line, run on sideways beyond the jaw's corners (no
    neck, no collar) -- and the jaw's ink itself.

    head: bool [H, W] (skin, hair and hats, cel_tones); silhouette / jaw_ink: ink coverage
    float32 [H, W]; jaw: the jaw's ink curve [N, 2] (smooth_curve of landmarks 0..16, evenly
    sampled); points [68, 2]; ink_width: the jaw line's width in px. The head and its ink
    are one shape: closed over gaps narrower than the ink (where the smoothed or snapped ink
    leaves the head's edge), holes filled (a glare on the forehead that the tones painted apart), its
    outline anti-aliased as one ramp (alpha falls monotonically across it)."""
    import cv2
    from scipy.ndimage import binary_fill_holes

    ink = jaw_ink >= 0.5
    close = _disc(0.5 * ink_width)
    shape = cv2.morphologyEx((head | (silhouette >= 0.5) | ink).astype(np.uint8),
                             cv2.MORPH_CLOSE, close)
    shape = binary_fill_holes(shape > 0) & (under_chin_cut(head.shape, jaw, points,
                                                           ink_width) < 0.5)
    # (closed again: where the cut's sideways run meets the jaw's ink it leaves a notch)
    shape = cv2.morphologyEx((shape | ink).astype(np.uint8), cv2.MORPH_CLOSE,
                             _disc(ink_width)) > 0
    return np.maximum(coverage(shape), jaw_ink)


def under_chin_cut(shape: tuple[int, ...], jaw: np.ndarray, points: np.ndarray,
                   ink_width: float) -> np.ndarray:
    """Anti-aliased coverage float32 [H, W] of what lies under the jaw's ink line (its outer
    edge, half a line width and half a pixel out) between landmarks CHIN_CUT_FROM and
    16 - CHIN_CUT_FROM, and under the line's ends carried straight sideways (in the face's
    frame) beyond them. jaw: the ink's curve [N, 2] along landmarks 0..16."""
    p = np.asarray(points, np.float64)
    c = np.asarray(jaw, np.float64)
    per = (len(c) - 1) / 16.0                     # curve samples per landmark step
    c = c[int(round(CHIN_CUT_FROM * per)): int(round((16 - CHIN_CUT_FROM) * per)) + 1]
    up = np.array(ibug68.eye_centres(p)).mean(0) - p[ibug68.CHIN]
    up /= np.linalg.norm(up) + 1e-9
    side = np.array([up[1], -up[0]])
    tangent = np.gradient(c, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    normal *= np.where((normal @ up) > 0, -1.0, 1.0)[:, None]   # away from the face: down
    edge = c + (0.5 * ink_width + 0.5) * normal
    far = 4.0 * float(sum(shape[:2]))
    outward = side if float((edge[0] - edge[-1]) @ side) > 0 else -side
    left, right = edge[0] + outward * far, edge[-1] - outward * far
    poly = np.concatenate([[left - up * far, left], edge, [right, right - up * far]])
    return fill_mask(shape, poly)


def toon(rgb: np.ndarray, points: np.ndarray, look: ToonLook, *, alpha: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """Cel-shaded cartoon of an aligned face. rgb uint8 [H, W, 3], points [68, 2];
    alpha: optional head matte uint8 [H, W] (a hint for the head's outline).

    Returns (uint8 [H, W, 3], the drawn head's matte float32 [H, W] in [0, 1]: `drawn_head`
    of the head the tones were painted for, its silhouette ink and the jaw's ink)."""
    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    ink_w = max(1.2, look.ink_width * iod)
    canvas, skin, _, head = cel_tones(rgb, p, look, alpha)
    shape = canvas.shape
    ink = np.zeros(shape[:2], np.float32)
    silhouette = np.zeros(shape[:2], np.float32)
    if look.silhouette:  # the head's own outline (skin, hair, hats), not the matte's
        silhouette = silhouette_ink(head.astype(np.uint8) * 255, p, ink_w)
        ink = np.maximum(ink, silhouette)
    ink = np.maximum(ink, outline_ink(skin, p, ink_w * 0.6))
    jaw = snap_curve(smooth_curve(p[ibug68.JAW], samples=6), edges(rgb, 2.0), 0.08 * iod,
                     smooth_k=9)
    jaw_ink = stroke_mask(shape, jaw, ink_w, taper=(0.3, 0.3))
    ink = np.maximum(ink, jaw_ink)
    matte = drawn_head(head, silhouette, jaw_ink, jaw, p, ink_w)
    canvas = paint(canvas, ink, look.ink)
    canvas = draw_brows(canvas, rgb, p, ink_w * 2.0)
    if look.nose:
        canvas = draw_nose(canvas, rgb, p, look, ink_w)
    canvas = draw_mouth(canvas, rgb, p, look, ink_w)
    canvas = draw_eyes(canvas, rgb, p, look, ink_w)
    if look.glasses:  # rims of any colour, found in the photo, drawn over the face
        rims = find_rims(rgb, p)
        if rims is not None:
            canvas = draw_rims(canvas, rims)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8), matte
