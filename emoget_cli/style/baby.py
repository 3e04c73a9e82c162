"""The `baby` style's rendering: the chibi-reshaped face painted as an infant's (docs/styles.md).

What reads as a baby at thumbnail size (the baby schema, docs/styles.md) beyond the reshape of
`style.geometry`: a high, bare, bulging forehead under sparse light hair, smooth even skin with
no adult lines (nasolabial folds, under-eye shadows, a nose ridge), a button nose, small full
pink lips, round rosy cheeks, and a face that visibly ends at a round jaw (the neck in its
shadow). The steps:

1. **Skin model.** Two Gaussian colour models in Lab, one fitted on the inner face's skin and
   one on the hair (the head matte above the brows, outside the face), give every pixel near
   the face a skin probability, so the skin region ends where the photo's skin ends (at the
   hairline or the cheek/hair edge), not at a drawn polygon: no seam.
2. **Skin rebuilt.** The skin is repainted by normalised convolution (a blur of the skin pixels
   only, divided by the blurred weights) at three scales: fine where there is skin support,
   coarser over the features (eyes, brows, lips, nostrils are drawn again afterwards) and over
   the fringe. The lightness is evened out; a little of the photo's modelling stays.
3. **Forehead.** The fringe inside a dome over the brows becomes forehead skin, with a soft
   wispy hairline: the big bare forehead of a baby. The remaining hair is lighter, softer and
   lower in contrast (fine downy hair).
4. **Features drawn** on the clean skin: a button nose (two small nostrils, a shadow under the
   tip and a highlight on it), small pink rounded lips (toothless when open), faint brows, rosy
   round cheeks, a soft shadow under the jaw, and the big glossy eyes of `style.toon`.

Every function takes/returns uint8 RGB [H, W, 3] (or float32 masks [H, W] in [0, 1]); `points`
are the (already reshaped) iBUG-68 landmarks [68, 2] in pixels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core import ibug68
from ..core.ibug68 import (BROWS, CHIN, EYE_LEFT, EYE_RIGHT, JAW, LIPS_INNER, LIPS_OUTER,
                           NOSE_BASE, NOSE_TIP, eye_centres, inter_ocular_distance)

# The numbers below were tuned by looking at the sample face at 128 and 384 px and measuring
# its dlib identity distance (docs/styles.md): each of them trades baby look for identity.

#: the bare forehead: a half ellipse over the face whose top sits this far above the eyes (IOD),
#: and how much of the photo's forehead modelling is replaced there by the airbrushed skin
#: (the shadow under the old fringe would show as a line)
HAIRLINE_TOP = 1.7
DOME_FLAT = 0.7
DOME_LIGHT = 0.0
#: how far (IOD) the face's own skin colour reaches into the drawn cranium (beyond: its median)
SKIN_REACH = 0.15
#: the percentile of the face's skin lightness the cranium is painted in
DOME_TONE = 35.0
#: the dome's tone is read from the face's skin below this height above the brows (IOD;
#: negative: below the brows — the cheeks and temples, not a lit forehead)
DOME_FROM = -0.2
#: extra width (in ellipse radii) of the hairline's soft edge at the top
HAIRLINE_SOFT = 0.2
#: the round skull (face units: centre u, v, radii): hair outside it becomes background
SKULL = (0.0, -0.35, 1.65, 1.6)
#: the dome's lit tone (`lit_skin`): read from the photo's forehead between these heights
#: above the brows (IOD), else this percentile of the face's skin lightness; the dome turns to
#: it from LIT_FROM IOD above the brows over LIT_RAMP IOD, this share of the way, at most
#: LIT_MAX (Lab L, 0..255) lighter than the face's tone
LIT_FOREHEAD = (0.15, 0.9)
#: ... whose a*b* lie within this distance of the face's skin's (Lab, 0..255 scale)
LIT_HUE = 12.0
LIT_TONE = 75.0
LIT_FROM, LIT_RAMP = -0.1, 0.5
LIT_SHARE = 1.0
LIT_MAX = 30.0
#: the drawn cranium: lightening of its lit middle and darkening of its rim (Lab L, 0..255
#: scale), the bare forehead under the hair cap (half width, height above the brows, IOD; and
#: how far its centre lies above the brows) and the cap's opacity
CRANIUM_LIGHT, CRANIUM_RIM = 4.0, 26.0
#: the width (IOD) of the darker rim inside the head's outline
RIM_WIDTH = 0.5
FOREHEAD = (1.3, 1.15, 0.1)
HAIR_OPACITY = 0.85
#: the curl on the forehead: its radius (IOD; 0: none)
CURL = 0.15
#: glasses: the 95th percentile of the colour distance (Lab a*b*) around the eyes above which
#: the face wears glasses, and the black-hat depth (Lab L, 0..255) of a dark rim
GLASSES_COLOUR = 8.0
GLASSES_DARK = 20.0
#: the backdrop's fill beside the smaller head (`mirror_fill`): mirrored this far (IOD) past
#: the old head's outline (the matte's soft edge and stray hairs lie just outside it), the
#: width (IOD) of the blend into the smooth fill where the mirror finds no backdrop, and the
#: height (face units, below the eyes) down to which it is used, fading out over 0.5 below
MIRROR_GAP = 0.05
MIRROR_EDGE = 0.08
MIRROR_BELOW = 0.3
#: how far (IOD) beyond the baby's skull the adult hair is cleared even where the head matte
#: missed it
HAIR_MARGIN = 0.35
#: the face's own pixels are kept inside this soft ellipse over the eye band (face units:
#: half width, half height, centre below the eyes)
BAND = (2.0, 1.8, 0.25)
#: how far (IOD) beyond the jaw line and the jaw's ends (landmarks 0, 16) the face's own
#: pixels are kept
TEMPLE_KEEP = 0.1
#: how far (IOD) inside the jaw line the face's own pixels give way to the drawn cheeks
JAW_INSET = 0.08
#: the most (Lab L, 0..255) the jaw's contour is darker than the drawn cheeks around it
JAW_LINE = 60.0
#: the skin coverage below which the face's own pixels are drawn over (half-covered hair at
#: the temples read as grey smears)
SURE_SKIN = 0.7
#: the hair cap ends this far (face units) above the brows at the temples
HAIR_SIDE_END = 0.5
#: how far (IOD) the head's outline stands out from the jaw line at the cheeks (full cheeks)
CHEEK_FILL = 0.4
#: skin: edge-preserving smoothing (sigma_s in IOD, sigma_r) that keeps the face's modelling,
#: the share of it kept where the photo's skin is (the rest is the coarse, airbrushed skin),
#: how much of the lightness variation stays around the median (1 = the photo's), and a
#: lighter, pinker baby tone (Lab units)
SKIN_SIGMA_S, SKIN_SIGMA_R = 0.3, 0.12
#: the scale (IOD) below which the skin's detail is an adult's texture and is smoothed away
WRINKLE_SIGMA = 0.07
WRINKLE_TARGET = 7.0
WRINKLE_KEEP = 0.5
SMOOTH_KEEP = (EYE_RIGHT, EYE_LEFT, LIPS_OUTER, ibug68.NOSE_LOWER)
SMOOTH_KEEP_GROW = 0.04
SKIN_LIFT, SKIN_PINK = 3.0, 0.0
#: folds (fold_zone): the scale (IOD) of the skin's broad relief that stays, the share of the
#: dark valleys below it (folds, bags) lifted and of the lit ridges beside them flattened
FOLD_SIGMA = 0.2
FOLD_LIFT, FOLD_RIDGE = 0.7, 0.2
#: how much of the photo's modelling goes over the adult lines (nasolabial folds, under-eye
#: hollows, the nose bridge): replaced by the airbrushed skin
LINES_SOFTEN = 0.3
#: the photo's lips, nose tip and nostrils stay (softened) inside the repainted skin, grown
#: by this much (IOD): they carry much of the identity
KEEP_GROUPS = (LIPS_OUTER, ibug68.NOSE_LOWER)
KEEP_GROW = 0.08
#: the downy hair: contrast kept (in the person's own hair colour: lightening it towards a
#: blond turned dark hair grey wherever the head matte took in skin or background), blur
#: (IOD) and the share of its hue variation kept
HAIR_CONTRAST = 0.8
HAIR_BLUR = 0.04
HAIR_HUE = 0.7
#: darkness of the shadow under the jaw, at the jaw line, and the jaw points it runs under
#: (under the chin only: at the sides it would darken the full cheeks' bulge)
JAW_SHADOW = 0.08
JAW_SHADOW_SPAN = slice(5, 12)
#: the mouth's inside and tongue (RGB, in a face of L about 190), and the lips' extra
#: redness (Lab a*)
MOUTH_INSIDE = (150, 62, 74)
TONGUE = (214, 110, 120)
LIP_ROSE = 6.0
#: the blush at the cheeks' centres: the skin's hue angle (Lab a*b*) turned towards rose by
#: this many degrees, its chroma raised by this share and its lightness (Lab L, 0..255) raised
#: (more chroma, or a warmer grade over the whole face, read as a tan at 128 px)
BLUSH_TURN, BLUSH_CHROMA, BLUSH_LIGHT = 22.0, 0.06, 2.0
#: opacity of the lower lip's gloss and of the nose tip's highlight (more reads as lipstick)
LIP_GLOSS = 0.2
NOSE_GLOSS = 0.25
#: the drawn eyes (style.toon's baby eyes): iris radius / opening height (at least iris_min ×
#: the eye's width) and the opening's height / the landmarks' — big round infant eyes
EYE_LOOK: dict = {}
#: how far the brows' colour moves towards the skin (faint baby brows; their photo shape
#: stays: it carries much of the identity)
BROW_FADE = 0.4


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one runs on a downscaled copy (the result is smooth anyway)."""
    import cv2

    sigma = max(0.5, float(sigma))
    h, w = x.shape[:2]
    factor = int(sigma // 4)
    if factor < 2 or min(h, w) < 8 * factor:
        return cv2.GaussianBlur(x, (0, 0), sigma)
    small = cv2.resize(x, (max(1, w // factor), max(1, h // factor)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def normalized_blur(image: np.ndarray, weight: np.ndarray, sigma: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Blur of `image` [H, W, C] float32 over the pixels where `weight` [H, W] is high only:
    (blur(image·w) / blur(w), blur(w)). The second is the support: near 0 where no weighted
    pixel is within reach."""
    w = weight.astype(np.float32)
    num = _blur(image * w[..., None], sigma)
    den = _blur(w, sigma)
    return num / np.maximum(den, 1e-6)[..., None], den


def face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(origin [2] = eye midpoint, axes [2, 2] rows x (along the eyes), y (down the face),
    IOD) of the landmarks."""
    p = np.asarray(points, np.float64)
    right, left = eye_centres(p)
    iod = float(np.linalg.norm(left - right))
    ex = (left - right) / max(iod, 1e-6)
    return (right + left) / 2, np.stack([ex, np.array([-ex[1], ex[0]])]), iod


def face_coords(shape: tuple[int, ...], points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's face coordinates (u along the eyes, v down the face), IOD units: [H, W] each."""
    origin, axes, iod = face_frame(points)
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - origin[0], yy - origin[1]
    return ((dx * axes[0, 0] + dy * axes[0, 1]) / iod).astype(np.float32), \
        ((dx * axes[1, 0] + dy * axes[1, 1]) / iod).astype(np.float32)


def jaw_region(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """float32 [H, W]: 1 inside the jaw line closed straight across its ends (the lower face)
    and above, up to the eyes (anti-aliased)."""
    from .toon import fill_mask, smooth_curve

    p = np.asarray(points, np.float64)
    jaw = smooth_curve(p[JAW], samples=6)
    return fill_mask(shape, jaw)


def feature_holes(shape: tuple[int, ...], points: np.ndarray,
                  groups=(EYE_RIGHT, EYE_LEFT, LIPS_OUTER, NOSE_BASE), brows: bool = True,
                  grow: float = 0.14) -> np.ndarray:
    """float32 [H, W]: the feature `groups` (convex hulls) and the brows, grown by `grow` IOD."""
    import cv2

    p = np.asarray(points, np.float32)
    iod = inter_ocular_distance(p)
    holes = np.zeros(shape[:2], np.float32)
    for group in groups:
        cv2.fillConvexPoly(holes, cv2.convexHull(p[group].astype(np.int32)), 1.0)
    for group in (ibug68.BROW_RIGHT, ibug68.BROW_LEFT) if brows else ():
        for a, b in zip(p[group][:-1], p[group][1:]):  # the band under the brow landmarks
            cv2.line(holes, tuple(int(v) for v in a + [0, 0.06 * iod]),
                     tuple(int(v) for v in b + [0, 0.06 * iod]), 1.0,
                     max(1, int(0.16 * iod)))
    k = int(max(3, round(grow * iod)) | 1)
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return _blur(holes, 0.03 * iod)


def adult_lines(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """float32 [H, W]: where an adult face has its lines and a baby's is smooth: the
    nasolabial folds (nose wing to past the mouth corner), the under-eye hollows and the
    nose bridge."""
    from .toon import stroke_mask

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    out = np.zeros(shape[:2], np.float32)
    for wing, corner in ((p[31], p[48]), (p[35], p[54])):
        end = corner + (corner - wing) * 0.35
        out = np.maximum(out, stroke_mask(shape, np.stack([wing, end]), 0.28 * iod,
                                          taper=(0.5, 0.6), step=1.0))
    # the nose bridge: a baby's is low and flat
    out = np.maximum(out, stroke_mask(shape, p[[27, 28, 29]], 0.3 * iod, taper=(0.6, 0.6),
                                      step=1.0))
    for group in (EYE_RIGHT, EYE_LEFT):
        lower = p[group][[3, 4, 5, 0]]
        out = np.maximum(out, stroke_mask(shape, lower + np.array([0.0, 0.16 * iod]),
                                          0.14 * iod, taper=(0.4, 0.4), step=1.0))
    return _blur(out, 0.05 * iod)


def fold_zone(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """float32 [H, W] in [0, 1]: where an adult face has its folds and a baby's cheeks are
    smooth and full: the nasolabial folds (nose wing to past the mouth corner) and the
    marionette lines under the mouth corners; none over the nose, the lips and the eyes (their
    own contours stay). The eye bags and the whole cheek are left to the texture smoothing:
    lifting their shading too cost the likeness (docs/styles.md)."""
    from .toon import stroke_mask

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    out = np.zeros(shape[:2], np.float32)
    for wing, corner, jaw in ((p[31], p[48], p[5]), (p[35], p[54], p[11])):
        outwards = np.array([np.sign(corner[0] - p[33][0]) * 0.1 * iod, 0.0])
        fold = np.stack([wing + outwards, corner + outwards, corner + (jaw - corner) * 0.6])
        out = np.maximum(out, stroke_mask(shape, fold, 0.4 * iod, taper=(0.6, 0.6), step=1.0))
    keep = feature_holes(shape, p, (LIPS_OUTER, ibug68.NOSE), brows=False, grow=0.06)
    return _blur(out * (1 - keep), 0.04 * iod)


def skin_probability(rgb: np.ndarray, points: np.ndarray, head: np.ndarray) -> np.ndarray:
    """float32 [H, W] in [0, 1]: how much each pixel is skin rather than hair/background.

    Two Gaussians in Lab, fitted on the inner face (cheeks, nose, lower forehead, minus the
    features) and on the rest of the head above the brows (hair); the posterior of skin with
    equal priors, sharpened a little and cleaned by a small blur."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    u, v = face_coords(rgb.shape, points)
    holes = feature_holes(rgb.shape, points) > 0.2
    inner = jaw_region(rgb.shape, points) > 0.5
    skin_seed = inner & ~holes & (np.abs(u) < 0.85) & (v > -0.2)
    hair_seed = (head > 0.5) & (v < -0.7) & ((u ** 2 / 1.1 ** 2 + (v + 0.2) ** 2 / 1.0 ** 2) > 1)
    if skin_seed.sum() < 30:
        return inner.astype(np.float32)

    def model(sel):
        x = lab[sel].reshape(-1, 3)
        mu = x.mean(0)
        cov = np.cov(x.T) + np.eye(3, dtype=np.float64) * 16.0
        return mu, np.linalg.inv(cov), np.log(np.linalg.det(cov))

    def loglik(m):
        mu, icov, logdet = m
        d = lab.reshape(-1, 3) - mu
        return (-0.5 * (np.einsum("ni,ij,nj->n", d, icov, d) + logdet)).reshape(lab.shape[:2])

    ls = loglik(model(skin_seed))
    if hair_seed.sum() >= 30:
        lh = loglik(model(hair_seed))
        prob = 1.0 / (1.0 + np.exp(np.clip(lh - ls, -30, 30)))
    else:  # no hair to learn from: a skin-likelihood threshold
        prob = np.clip((ls - np.percentile(ls[skin_seed], 3)) / 4.0 + 1, 0, 1)
    iod = inter_ocular_distance(points)
    return _blur(prob.astype(np.float32), 0.015 * iod)


def hairline_dome(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """float32 [H, W]: the bare forehead to be: a half ellipse standing on the jaw's ends
    (landmarks 0 and 16, so it continues the face's outline), HAIRLINE_TOP IOD above the eyes,
    with a soft, slightly wavy edge (fine hairs)."""
    u, v = face_coords(shape, points)
    iod = inter_ocular_distance(points)
    p = np.asarray(points, np.float64)
    origin, axes, _ = face_frame(p)
    ends = (p[[0, 16]] - origin) @ axes.T / iod  # [2, 2] face units
    cu, cv = float(ends[:, 0].mean()), float(ends[:, 1].mean())
    rx, ry = float(abs(ends[1, 0] - ends[0, 0]) / 2), HAIRLINE_TOP + cv
    ang = np.arctan2(v - cv, u - cu)
    r = np.sqrt(((u - cu) / rx) ** 2 + ((v - cv) / ry) ** 2)
    wave = 0.025 * np.sin(ang * 19.0) + 0.015 * np.sin(ang * 31.0 + 1.0)
    # soft at the top (fine hairs thin out onto the scalp), firm at the sides (the face's edge)
    soft = 0.1 + HAIRLINE_SOFT * np.clip(-(v - cv) / ry, 0, 1)
    edge = np.clip((1.0 + soft * 0.6 + wave - r) / soft, 0, 1) * np.clip((cv + 0.15 - v) / 0.15, 0, 1)
    return _blur(edge.astype(np.float32), 0.01 * iod)


def soft_skin(rgb: np.ndarray, points: np.ndarray, head: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The repainted skin: (uint8 [H, W, 3] picture, skin coverage float32 [H, W], the
    photo's own skin probability float32 [H, W]).

    head: the head matte float32 [H, W] in [0, 1]."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    img = rgb.astype(np.float32)
    prob = skin_probability(rgb, p, head)
    u, v = face_coords(rgb.shape, p)
    face = jaw_region(rgb.shape, p)
    dome = hairline_dome(rgb.shape, p) * (head > 0.3)
    holes = feature_holes(rgb.shape, p)
    # where photo skin may be repainted: the head near the face, and the neck under the jaw
    origin, axes, _ = face_frame(p)
    jaw_u = (p[JAW] - origin) @ axes[0] / iod
    neck = (v > 0.5) & (u > jaw_u[4]) & (u < jaw_u[12])
    near = ((u ** 2 / 1.4 ** 2 + (v - 0.2) ** 2 / 2.0 ** 2) < 1) & ((head > 0.3) | neck)
    near = _blur(near.astype(np.float32), 0.05 * iod)
    cover = np.maximum.reduce([face, dome, prob * near])
    # only sure skin colours the fill (a large area of unlikely hair would outweigh it)
    weight = np.clip((prob - 0.5) / 0.3, 0, 1) * near * (1 - holes)
    # the coarse skin: normalised convolution at three scales, the finer where it has support
    mid, s2 = normalized_blur(img, weight, 0.18 * iod)
    wide, s3 = normalized_blur(img, weight, 0.45 * iod)
    huge, _ = normalized_blur(img, weight, 1.2 * iod)
    t2 = np.clip(s2 / 0.35, 0, 1)[..., None]
    t3 = np.clip(s3 / 0.3, 0, 1)[..., None]
    base = mid * t2 + (wide * t3 + huge * (1 - t3)) * (1 - t2)
    # sure skin leans to the lit side (shaded skin looks more like hair): the fill gets the
    # mean colour of the photo's own skin, so the face keeps its tone (dark skin stays dark)
    own = (face > 0.5) & (holes < 0.1) & (prob > 0.2)
    if own.sum() > 20:
        base += (img[own].mean(0) - base[own].mean(0))[None, None, :]
    # the fine skin: the photo's modelling (edge-preserving smoothing) where it is skin
    fine = cv2.edgePreservingFilter(rgb, flags=cv2.RECURS_FILTER, sigma_s=SKIN_SIGMA_S * iod,
                                    sigma_r=SKIN_SIGMA_R).astype(np.float32)
    # no adult texture on the skin: wrinkles, eye bags, folds and stubble are detail finer than
    # the face's relief; away from the features the skin is a blur of skin pixels only (the
    # features' dark contours do not bleed into it), near them the edge-preserving picture
    smooth, _ = normalized_blur(img, np.clip((prob - 0.3) / 0.4, 0, 1) * (1 - holes),
                                WRINKLE_SIGMA * iod)
    near_features = feature_holes(rgb.shape, p, SMOOTH_KEEP, grow=SMOOTH_KEEP_GROW, brows=True)
    # the texture is turned down to a baby's at most: a smooth young face keeps its own
    detail = fine - smooth
    sel = (jaw_region(rgb.shape, p) > 0.5) & (near_features < 0.1) & (prob > 0.6)
    energy = float(np.sqrt((detail[sel].mean(1) ** 2).mean())) if sel.sum() > 20 else 0.0
    gain = min(WRINKLE_KEEP, WRINKLE_TARGET / max(energy, 1e-6))
    away = (1 - near_features)[..., None] * (1 - gain)
    fine = fine - detail * away
    # no folds: an adult's nasolabial folds, eye bags and cheek folds are shading wider than
    # the texture (0.1-0.3 IOD) that the smoothing above keeps; their dark valleys against a
    # broad blur of the skin are lifted (and their lit ridges turned down a little) inside
    # `fold_zone`, so the features' own contours and the face's broad relief stay
    broad, _ = normalized_blur(fine, np.clip((prob - 0.3) / 0.4, 0, 1) * (1 - holes),
                               FOLD_SIGMA * iod)
    relief = (fine - broad).mean(2, keepdims=True)
    zone = fold_zone(rgb.shape, p)[..., None]
    fine = fine - zone * (FOLD_LIFT * np.minimum(relief, 0) + FOLD_RIDGE * np.maximum(relief, 0))
    # under the features drawn again (eyes, brows) the coarse skin; around the lips and nose
    # the photo's modelling
    drawn = feature_holes(rgb.shape, p, (EYE_RIGHT, EYE_LEFT))
    t1 = (np.clip(prob * 1.3, 0, 1) * (1 - drawn)
          * (1 - dome * np.maximum(1 - prob, DOME_FLAT))
          * (1 - LINES_SOFTEN * adult_lines(rgb.shape, p)))
    t1 = _blur(t1.astype(np.float32), 0.02 * iod)[..., None]
    skin = fine * t1 + base * (1 - t1)
    # a baby's lighter, pinker tone
    lab = cv2.cvtColor(_u8(skin), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] += SKIN_LIFT
    lab[..., 1] += SKIN_PINK
    # the dome is round: lighter in its middle
    lab[..., 0] += (DOME_LIGHT * np.clip(1 - (u ** 2 + (v + 0.9) ** 2) / 1.2, 0, 1)).astype(np.float32)
    skin = cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB).astype(np.float32)
    # the lips, nose tip and nostrils stay the photo's (softened): they carry identity
    keep = feature_holes(rgb.shape, p, KEEP_GROUPS, brows=False, grow=KEEP_GROW)
    skin = skin * (1 - keep[..., None]) + fine * keep[..., None]
    c = cover[..., None]
    return _u8(img * (1 - c) + skin * c), cover, prob


def downy_hair(rgb: np.ndarray, points: np.ndarray, head: np.ndarray, skin: np.ndarray
               ) -> np.ndarray:
    """The hair (head matte minus skin, above the mouth) lighter, softer and lower in contrast:
    fine light baby hair. The neck and clothes stay as they are."""
    import cv2

    iod = inter_ocular_distance(points)
    u, v = face_coords(rgb.shape, points)
    hair = np.clip(head - skin, 0, 1) * np.clip((1.6 - v) / 0.4, 0, 1)
    soft = cv2.bilateralFilter(rgb, int(max(5, round(0.1 * iod)) | 1), 50, 0.06 * iod)
    soft = _blur(soft.astype(np.float32), HAIR_BLUR * iod)
    lab = cv2.cvtColor(_u8(soft), cv2.COLOR_RGB2LAB).astype(np.float32)
    sel = hair > 0.5
    if sel.sum() > 10:
        mean = lab[sel].mean(0)
        lab[..., 0] = mean[0] + HAIR_CONTRAST * (lab[..., 0] - mean[0])  # fine, even hair
        # one even hue (a baby's fine hair has no dark, cool shadows)
        lab[..., 1:] = mean[1:] + (lab[..., 1:] - mean[1:]) * HAIR_HUE
    out = cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB).astype(np.float32)
    h = _blur(hair, 0.02 * iod)[..., None]
    return _u8(rgb.astype(np.float32) * (1 - h) + out * h)


def skull_mask(shape: tuple[int, ...], points: np.ndarray, grow: float = 0.0) -> np.ndarray:
    """float32 [H, W]: the baby's head outline: the round skull (the ellipse SKULL in face
    units, radii grown by `grow`) and the full cheeks below it (the jaw line pushed out by
    CHEEK_FILL IOD) in one convex, anti-aliased shape — a big cranium that runs smoothly
    into round cheeks, with no step where the skull meets the face."""
    from .toon import fill_mask

    p = np.asarray(points, np.float64)
    origin, axes, iod = face_frame(p)
    cu, cv, rx, ry = SKULL
    a = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    skull = np.stack([cu + (rx + grow) * np.cos(a), cv + (ry + grow) * np.sin(a)], 1)
    jaw = (p[JAW] - origin) @ axes.T / iod
    # the cheeks stand out most at their fullest (jaw points 3-5 and 11-13), none at the chin
    bulge = CHEEK_FILL * np.abs(np.sin(np.linspace(0, 2 * np.pi, 17)))[2:15]
    cheeks = jaw[2:15] + np.stack([np.sign(jaw[2:15, 0]) * bulge, 0.3 * bulge], 1)
    outline = np.concatenate([skull, cheeks, jaw[6:11]])
    hull = outline[_convex_hull(outline)]
    return fill_mask(shape, hull * iod @ axes + origin)


def _convex_hull(q: np.ndarray) -> np.ndarray:
    """Indices of the convex hull of points [N, 2] (counter-clockwise)."""
    import cv2

    return cv2.convexHull(q.astype(np.float32), returnPoints=False).ravel()


def round_head(rgb: np.ndarray, points: np.ndarray, head: np.ndarray, skin: np.ndarray,
               grow: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A baby's round head: the hair outside a round skull (`skull_mask`) becomes background,
    so the adult hairstyle's volume at the sides goes and the chubby cheeks make the lower
    outline. The background is filled in from its own pixels (normalised convolution).
    Returns (uint8 [H, W, 3], the share of each pixel replaced float32 [H, W])."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    img = rgb.astype(np.float32)
    face = cv2.dilate((np.maximum(jaw_region(rgb.shape, p), skin) > 0.5).astype(np.uint8),
                      np.ones((3, 3), np.uint8)).astype(np.float32)
    keep = np.maximum(skull_mask(rgb.shape, p, grow), _blur(face, 0.02 * iod))
    # the matte's anti-aliased rim goes too (no ghost of the old outline)
    k = int(max(5, round(0.14 * iod)) | 1)
    reach = cv2.dilate((head > 0.02).astype(np.uint8), np.ones((k, k), np.uint8))
    # and whatever of the adult hairdo the matte missed just above the smaller skull
    u, v = face_coords(rgb.shape, p)
    reach = np.maximum(reach, ((skull_mask(rgb.shape, p, grow + HAIR_MARGIN) > 0.5)
                               & (v < 0)).astype(np.uint8))
    gone = np.clip(reach.astype(np.float32) - keep, 0, 1)
    bg = (1 - reach).astype(np.float32)
    if gone.max() < 0.05 or bg.sum() < 0.05 * bg.size:
        return rgb, np.zeros(rgb.shape[:2], np.float32)
    near, s1 = normalized_blur(img, bg, 0.15 * iod)
    far, _ = normalized_blur(img, bg, 0.6 * iod)
    t = np.clip(s1 / 0.3, 0, 1)[..., None]
    fill = near * t + far * (1 - t)
    origin, axes, _ = face_frame(p)
    centre = origin + np.float64(SKULL[:2]) * iod @ axes
    # the backdrop's own texture beside the cranium; beside the cheeks the smooth fill stays
    # (draw_cranium keeps the darkness beside the jaw line as its contour: a mirrored dark
    # backdrop there would shade the full cheeks' bulge away)
    top = np.clip((MIRROR_BELOW - v) / 0.5, 0, 1)[..., None]
    fill = fill + (mirror_fill(img, reach, fill, centre, iod) - fill) * top
    g = _blur(gone, 0.01 * iod)
    return _u8(img * (1 - g[..., None]) + fill * g[..., None]), g


def mirror_fill(img: np.ndarray, hole: np.ndarray, smooth: np.ndarray, centre: np.ndarray,
                iod: float) -> np.ndarray:
    """The hole `hole` uint8 [H, W] (1: to fill; around `centre` [x, y], the head) in `img`
    float32 [H, W, 3] filled with the backdrop beside it mirrored across the hole's outline
    along the rays from the head's centre: a pixel r from the centre, where the ray leaves the
    hole at R, takes the backdrop at 2R - r (plus MIRROR_GAP). The band left around the smaller
    head then continues the backdrop's own structure and texture (curtain folds, flag stripes,
    grain) instead of a smooth ring in its blurred colour (docs/styles.md). The outline's radius
    is smoothed over the angle (stray strands would fan out as streaks). Where the mirrored pixel
    is not backdrop (another part of the hole) the hole takes `smooth`
    [H, W, 3], blended over MIRROR_EDGE IOD. Returns float32 [H, W, 3]."""
    import cv2

    h, w = hole.shape
    cx, cy = float(centre[0]), float(centre[1])
    r_max = float(np.hypot(max(cx, w - cx), max(cy, h - cy))) + 1
    n_r, n_a = int(np.ceil(r_max)), 360
    polar = cv2.warpPolar(hole, (n_r, n_a), (cx, cy), r_max,
                          cv2.WARP_POLAR_LINEAR | cv2.INTER_NEAREST)
    outside = polar == 0
    outside[:, -1] = True
    # where each ray first leaves the hole (the hole is a ring around the head's core)
    exit_r = np.argmax(outside, axis=1).astype(np.float32) * r_max / n_r
    k = max(3, int(round(n_a * 0.03)) | 1)
    ring = np.concatenate([exit_r[-k:], exit_r, exit_r[:k]])
    from scipy.ndimage import median_filter
    ring = cv2.GaussianBlur(median_filter(ring, size=k).reshape(-1, 1), (1, 0), k / 2).ravel()
    exit_r = ring[k:-k]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    dx, dy = xx - cx, yy - cy
    r = np.hypot(dx, dy)
    ang = (np.arctan2(dy, dx) % (2 * np.pi)) * n_a / (2 * np.pi)
    i0 = np.floor(ang).astype(np.int64) % n_a
    f = ang - np.floor(ang)
    edge = exit_r[i0] * (1 - f) + exit_r[(i0 + 1) % n_a] * f
    src_r = 2 * edge - r + MIRROR_GAP * iod
    scale = src_r / np.maximum(r, 1e-3)
    map_x = (cx + dx * scale).astype(np.float32)
    map_y = (cy + dy * scale).astype(np.float32)
    # (a ray that leaves the picture comes back in at its border: the backdrop beside the
    # head there still, rather than the smooth fill)
    mirrored = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    backdrop = cv2.remap((hole == 0).astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    # (outside the hole nothing is filled: no blend with the smooth fill along its outline)
    valid = (backdrop > 0.99) | (hole == 0)
    kk = int(max(3, round(MIRROR_EDGE * iod)) | 1)
    valid = cv2.GaussianBlur(cv2.erode(valid.astype(np.float32), np.ones((3, 3), np.uint8)),
                             (kk, kk), 0)[..., None]
    out = mirrored * valid + smooth * (1 - valid)
    return np.where(hole[..., None] > 0, out, img).astype(np.float32)


def hair_colour(rgb: np.ndarray, points: np.ndarray, head: np.ndarray, skin: np.ndarray
                ) -> np.ndarray | None:
    """float32 Lab [3] (OpenCV's 0..255 scale): the median colour of the photo's hair (the head
    matte above the brows that is not skin), None when there is too little of it (a bald head)."""
    import cv2

    u, v = face_coords(rgb.shape, points)
    brow_v = float(np.mean(((np.asarray(points, np.float64)[BROWS] - face_frame(points)[0])
                            @ face_frame(points)[1][1]) / inter_ocular_distance(points)))
    sel = (head > 0.7) & (skin < 0.3) & (v < brow_v - 0.3)
    if sel.sum() < 0.05 * inter_ocular_distance(points) ** 2:
        return None
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    return np.median(lab[sel], 0)


def lit_skin(rgb: np.ndarray, points: np.ndarray, photo_skin: np.ndarray) -> np.ndarray | None:
    """float32 Lab [3] (OpenCV's 0..255 scale): the photo's lit skin, the tone a person's head
    is seen in (the top of a head faces the light): the median of the photo's forehead skin
    (between LIT_FOREHEAD IOD above the brows, in the face skin's hue), or,
    where hair covers the forehead, the LIT_TONE percentile of the face's skin lightness with
    the colour of its lit half. None when the photo shows too little skin."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    u, v = face_coords(rgb.shape, p)
    origin, axes, _ = face_frame(p)
    brow_v = float((((p[BROWS] - origin) @ axes.T) / iod)[:, 1].mean())
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    sure = (photo_skin > 0.6) & (feature_holes(rgb.shape, p) < 0.5)
    face = sure & (jaw_region(rgb.shape, p) > 0.5)
    if face.sum() < 0.2 * iod * iod:
        return None
    # the forehead's skin: the skin model (fitted on the face's, often shaded, skin) doubts a
    # much lighter lit forehead, so the face's hue decides there (hair, white or dark, and
    # most backdrops are far from a skin's a*b*)
    hue = np.linalg.norm(lab[..., 1:] - np.median(lab[face, 1:], 0), axis=-1)
    lo, hi = LIT_FOREHEAD
    forehead = (photo_skin > 0.25) & (hue < LIT_HUE) & (v < brow_v - lo) & (v > brow_v - hi) \
        & (np.abs(u) < 0.7) & (feature_holes(rgb.shape, p) < 0.5)
    if forehead.sum() >= 0.3 * iod * iod:
        return np.median(lab[forehead], 0)
    top = np.percentile(lab[face, 0], LIT_TONE)
    out = np.median(lab[face & (lab[..., 0] >= np.median(lab[face, 0]))], 0)
    out[0] = top
    return out


def draw_cranium(canvas: np.ndarray, points: np.ndarray, skin: np.ndarray,
                 skin_lab: np.ndarray, hair_lab: np.ndarray | None,
                 lit_lab: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A baby's big round cranium drawn over everything above and beside the face: the skull
    (`skull_mask`) in the face's skin with a sphere's shading (a bulging, domed forehead), and
    a cap of fine hair in the person's hair colour over its top and sides, ending in a soft
    wispy hairline high above the brows. The face below the brows stays.

    canvas float32 RGB [H, W, 3]; skin: the face's skin coverage float32 [H, W]; skin_lab /
    hair_lab: Lab [3] (OpenCV scale; hair None: a
    few light downy hairs); lit_lab: the photo's lit skin (`lit_skin`; None: the face's tone),
    which the dome turns to above the forehead. Returns (canvas, the drawn share float32
    [H, W])."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    shape = canvas.shape
    u, v = face_coords(shape, p)
    origin, axes, _ = face_frame(p)
    q = (p - origin) @ axes.T / iod
    brow_v = float(q[BROWS, 1].mean())
    skull = skull_mask(shape, p)
    # the face keeps its own pixels from just above the brows down (eyes, brows, cheeks):
    # a soft ellipse over the eye band and the jaw region below it
    band = np.clip((1.0 - np.sqrt((u / BAND[0]) ** 2 + ((v - BAND[2]) / BAND[1]) ** 2)) / 0.35, 0, 1)
    # ... and within the face's outline: what the skin model took for skin beside it (light
    # hair at the temples, ears, a pale neck) is drawn over as cranium and full cheeks, not
    # left as patches of the old head: within the jaw's ends' width, and below the eyes
    # within the jaw line
    half = float(np.abs(q[[0, 16], 0]).mean())
    jaw = jaw_region(shape, p)
    grown = _blur(cv2.dilate((jaw > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8),
                             iterations=max(1, int(round(TEMPLE_KEEP * iod)))).astype(np.float32),
                  0.04 * iod)
    low = np.clip((v - 0.1) / 0.3, 0, 1)
    band = band * np.clip((half + TEMPLE_KEEP - np.abs(u)) / 0.25, 0, 1) * (1 - low + low * grown)
    # the face's own pixels end inside its jaw line: the photo's edge there (the backdrop or
    # the collar blended into the jaw's last pixels) would show as a seam in the full cheeks
    inner = cv2.erode((jaw > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(1, int(round(JAW_INSET * iod)))).astype(np.float32)
    sure = np.clip((_blur(skin, 0.05 * iod) - SURE_SKIN) / (1 - SURE_SKIN), 0, 1)
    keep = np.maximum.reduce([_blur(inner, 0.06 * iod), _blur(jaw, 0.12 * iod) * sure,
                              band * sure])
    drawn = skull * (1 - keep)
    # the skin's colour: the face's own skin where the drawing meets it (the forehead above,
    # the cheeks at the sides), carried outwards smoothly, the face's median far from it
    canvas_lab = cv2.cvtColor(_u8(canvas), cv2.COLOR_RGB2LAB).astype(np.float32)
    own = (keep > 0.9) * np.clip((skin - 0.6) / 0.3, 0, 1) * (1 - feature_holes(shape, p))
    # (the tone from below the brows: a lit forehead would make a light dome over the face)
    own = own * np.clip((v - brow_v + DOME_FROM) / 0.3, 0, 1)
    if (own > 0.5).sum() > 0.2 * iod * iod:
        # the face's skin tone where it is in its own light, not its highlights: a flat dome
        # in the median would look lighter than the shaded face beside it
        skin_lab = np.median(canvas_lab[own > 0.5], 0)
        skin_lab[0] = np.percentile(canvas_lab[own > 0.5, 0], DOME_TONE)
    near, support = normalized_blur(canvas_lab, own.astype(np.float32), SKIN_REACH * iod)
    t = np.clip(support / 0.15, 0, 1)[..., None]
    # the dome in the photo's lit skin above the forehead (the top of a head is its lit part:
    # a dome in the face's own shaded tone read as a dark ball on a dim photo), the face's
    # tone at the brows and temples, where the drawing meets the face (docs/styles.md)
    dome = skin_lab
    if lit_lab is not None:
        rise = np.clip((brow_v - LIT_FROM - v) / LIT_RAMP, 0, 1)
        rise = (rise * rise * (3 - 2 * rise))[..., None]
        lit = np.asarray(lit_lab, np.float32).copy()
        lit[0] = np.clip(lit[0], skin_lab[0], skin_lab[0] + LIT_MAX)
        dome = skin_lab + (lit - skin_lab) * LIT_SHARE * rise
    base = near * t + dome * (1 - t)
    # the skull's form: a bulging forehead lit from the front, turning away at its rim
    # the rim turns away along the head's whole outline (skull and full cheeks alike: a rim
    # shaded on the skull's ellipse alone darkened the cheeks' bulge, and the cheeks ended at
    # the old jaw line)
    inside = cv2.distanceTransform((skull > 0.5).astype(np.uint8), cv2.DIST_L2, 5) / iod
    # (narrower and fainter over the cheeks, which are full to their edge)
    cheeks = np.clip((v - brow_v) / 1.0, 0, 1)
    rim = np.clip(1 - inside / (RIM_WIDTH * (1 - 0.5 * cheeks)), 0, 1) * (1 - 0.5 * cheeks)
    bulge = np.clip(1 - (u ** 2 + (v - brow_v + 0.9) ** 2) / 0.8 ** 2, 0, 1)
    form = CRANIUM_LIGHT * bulge ** 2 - CRANIUM_RIM * rim * rim * (3 - 2 * rim)
    lab = base.astype(np.float32)
    lab[..., 0] += form
    # the hair cap: above a hairline that runs high over the forehead and down the temples
    hl = np.sqrt((u / FOREHEAD[0]) ** 2 + ((v - brow_v + FOREHEAD[2]) / FOREHEAD[1]) ** 2)
    ang = np.arctan2(u, -(v - brow_v))
    wisp = 0.02 * np.sin(ang * 23.0 + 0.7) + 0.015 * np.sin(ang * 37.0 + 2.1)
    cap = np.clip((hl - 1.0 - wisp) / 0.2, 0, 1) * (v < brow_v + 0.6)
    cap = cap * np.clip((brow_v - HAIR_SIDE_END - v) / 0.6, 0, 1)
    if hair_lab is None:  # a bald head: a few light downy hairs
        hair = skin_lab + np.float32([12, 0, 6])
        opacity = 0.35
    else:
        hair = hair_lab.astype(np.float32)
        opacity = HAIR_OPACITY
    # fine strands: a fixed noise stretched along the head's radius
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(shape[:2]).astype(np.float32)
    noise = _blur(noise, 0.015 * iod) * 3.0
    hair_layer = np.empty(shape, np.float32)
    hair_layer[...] = hair
    hair_layer[..., 0] += 0.6 * form + 6.0 * noise
    a = (cap * opacity)[..., None]
    lab = lab * (1 - a) + hair_layer * a
    # the jaw's contour stays as shading in the drawn skin's colour: where the photo's edge
    # pixels gave way (backdrop, collar), their darkness against the drawn skin is kept, up to
    # JAW_LINE (Lab L): the face's shape, which the likeness rests on, without the seam
    edge = np.clip(_blur(jaw, 0.12 * iod) - keep, 0, 1)
    lab[..., 0] += edge * np.clip(canvas_lab[..., 0] - lab[..., 0], -JAW_LINE, 0)
    rgb = cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB).astype(np.float32)
    d = drawn[..., None]
    out = canvas * (1 - d) + rgb * d
    if CURL > 0:
        out = baby_curl(out, p, brow_v - FOREHEAD[2] - FOREHEAD[1], hair)
    return out, drawn


def baby_curl(canvas: np.ndarray, points: np.ndarray, hairline_v: float, hair_lab: np.ndarray
              ) -> np.ndarray:
    """The single curl of a baby's hair falling onto the forehead from the middle of the
    hairline (`hairline_v`, face units): a tapered spiral stroke in the hair's colour, a
    little darker. canvas float32 RGB [H, W, 3]; hair_lab Lab [3] (OpenCV scale)."""
    import cv2

    from .toon import paint, stroke_mask

    origin, axes, iod = face_frame(points)
    # a strand comes down out of the hair, turns under and up, and curls back into itself
    # (v points down the face; it curls towards the image's left)
    t = np.linspace(0.0, 1.6 * np.pi, 48)
    radius = CURL * (1.0 - 0.45 * t / t[-1])
    centre = np.array([-CURL * 0.6, hairline_v + 0.12])
    curl = centre + np.stack([-radius * np.cos(np.pi - t), radius * np.sin(np.pi - t)], 1)
    strand = np.linspace([curl[0, 0], hairline_v - 0.15], curl[0], 6)[:-1]
    curve = np.concatenate([strand, curl])
    stroke = stroke_mask(canvas.shape, curve * iod @ axes + origin, 0.05 * iod,
                         taper=(0.5, 0.6), step=0.5)
    colour = np.asarray(hair_lab, np.float32) - np.float32([18, 0, 0])
    colour = cv2.cvtColor(_u8(colour).reshape(1, 1, 3), cv2.COLOR_LAB2RGB).reshape(3)
    return paint(canvas, stroke * 0.9, colour.astype(np.float32))


def glasses_mask(rgb: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """float32 [H, W] in [0, 1]: the rims of a pair of glasses, None when the face wears none.

    Around the eyes (an ellipse of 0.7 x 0.55 IOD about each eye, the eyes and brows left
    out) a rim is a thin line darker than the skin next to it (black-hat at 0.1 IOD) or of
    another colour than the skin around it (distance of a*b* to a 0.15-IOD median). A face
    without glasses has few such pixels there (lids and creases are soft); a pair of glasses
    puts its frame colour on a ring: the 95th percentile of the colour distance over the zone
    is the test (docs/styles.md: 12 on the one photo with glasses, at most 5.2 on the four
    without). rgb uint8 [H, W, 3] (the reshaped photo)."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    k = int(round(0.1 * iod)) | 1
    dark = cv2.morphologyEx(lab[..., 0], cv2.MORPH_BLACKHAT,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    med = cv2.cvtColor(cv2.medianBlur(rgb, int(round(0.15 * iod)) | 1),
                       cv2.COLOR_RGB2LAB).astype(np.float32)
    colour = np.linalg.norm(lab[..., 1:] - med[..., 1:], axis=2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    zone = np.zeros((h, w), bool)
    for c in eye_centres(p):
        zone |= ((xx - c[0]) / (0.7 * iod)) ** 2 + ((yy - c[1]) / (0.55 * iod)) ** 2 < 1
    zone &= feature_holes(rgb.shape, p, (EYE_RIGHT, EYE_LEFT), brows=True, grow=0.1) < 0.3
    if zone.sum() < 20 or np.percentile(colour[zone], 95) < GLASSES_COLOUR:
        return None
    rim = zone & ((dark > GLASSES_DARK) | (colour > 0.6 * GLASSES_COLOUR))
    rim = cv2.morphologyEx(rim.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(rim, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= 0.01 * iod * iod
    return _blur(keep[labels].astype(np.float32), 0.012 * iod)


def button_nose(canvas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A button nose: the (shrunk, softened) photo nose with a round highlight on its tip.
    canvas float32 [H, W, 3]."""
    import cv2

    from .toon import paint

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    tip, base = p[NOSE_TIP], p[NOSE_BASE]
    light = np.zeros(canvas.shape[:2], np.float32)
    hl = tip * 0.75 + base[2] * 0.25 - np.array([0.02 * iod, 0.05 * iod])
    cv2.circle(light, (int(round(hl[0])), int(round(hl[1]))), max(1, int(round(0.06 * iod))),
               1.0, -1, cv2.LINE_AA)
    return paint(canvas, _blur(light, 0.03 * iod) * NOSE_GLOSS, (255, 250, 246))


def baby_lips(canvas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Pink lips (the photo's, tinted) with a gloss on the lower lip; an open mouth is
    toothless: a dark pink inside with a tongue. canvas float32 [H, W, 3]."""
    import cv2

    from .toon import fill_mask, paint, smooth_curve

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    shape = canvas.shape
    lips = _blur(fill_mask(shape, smooth_curve(p[LIPS_OUTER], closed=True, samples=6)),
                 0.012 * iod)
    # rosier in the lips' own colour (Lab a* up, b* down): the photo's lip shading (identity)
    # stays, and the pink suits any skin tone
    lab = cv2.cvtColor(_u8(canvas), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 1] += LIP_ROSE * lips
    lab[..., 2] -= 0.4 * LIP_ROSE * lips
    canvas = cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB).astype(np.float32)
    gap = ibug68.inner_lip_distance(p)
    if gap > 0.9:
        # the inside in the face's light: as much darker than the skin in a dark photo
        face = jaw_region(shape, p) > 0.5
        light = float(np.median(canvas[face].mean(1))) if face.any() else 190.0
        light = float(np.clip(light / 190.0, 0.45, 1.0))
        inner = smooth_curve(p[LIPS_INNER], closed=True, samples=6)
        opening = fill_mask(shape, inner)
        canvas = paint(canvas, opening, np.float32(MOUTH_INSIDE) * light)
        tongue = fill_mask(shape, inner + np.array([0.0, 0.45 * gap]))
        canvas = paint(canvas, opening * tongue * 0.7, np.float32(TONGUE) * light)
    lower_mid = p[57] * 0.6 + p[66] * 0.4
    gloss = np.zeros(shape[:2], np.float32)
    cv2.ellipse(gloss, (int(round(lower_mid[0])), int(round(lower_mid[1]))),
                (max(1, int(round(0.08 * iod))), max(1, int(round(0.022 * iod)))), 0, 0, 360,
                1.0, -1, cv2.LINE_AA)
    return paint(canvas, _blur(gloss, 0.015 * iod) * LIP_GLOSS, (255, 228, 230))


def round_blush(canvas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Round rosy cheeks, low and out on the chubby cheeks: the skin's own colour turned
    towards rose (its hue angle in Lab a*b* turned towards +a*, its chroma barely raised), so
    the blush suits any skin tone and reads as rosy, not as a tan. canvas float32 [H, W, 3]."""
    import cv2

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    layer = np.zeros(canvas.shape[:2], np.float32)
    for eye, corner, jaw in zip(eye_centres(p), (p[48], p[54]), (p[3], p[13])):
        c = eye * 0.3 + corner * 0.35 + jaw * 0.35
        cv2.circle(layer, (int(round(c[0])), int(round(c[1]))), max(2, int(round(0.2 * iod))),
                   1.0, -1, cv2.LINE_AA)
    layer = _blur(layer, 0.13 * iod)
    lab = cv2.cvtColor(_u8(canvas), cv2.COLOR_RGB2LAB).astype(np.float32)
    a, b = lab[..., 1] - 128, lab[..., 2] - 128
    hue = np.arctan2(b, a) - np.radians(BLUSH_TURN) * layer
    chroma = np.hypot(a, b) * (1 + BLUSH_CHROMA * layer)
    lab[..., 1] = 128 + chroma * np.cos(hue)
    lab[..., 2] = 128 + chroma * np.sin(hue)
    lab[..., 0] += BLUSH_LIGHT * layer
    return cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB).astype(np.float32)


def jaw_shadow(canvas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A soft shadow under the jaw, darkest at the jaw line (the neck in the face's shade): the
    round face ends at its jaw line instead of running on into the neck.
    canvas float32 [H, W, 3]."""
    import cv2

    from .toon import fill_mask

    p = np.asarray(points, np.float64)
    iod = inter_ocular_distance(p)
    jaw = p[JAW][JAW_SHADOW_SPAN]
    below = np.concatenate([jaw, jaw[::-1] + np.array([0.0, 1.5 * iod])])
    outside = (jaw_region(canvas.shape, p) < 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
    band = _blur(fill_mask(canvas.shape, below), 0.08 * iod) * outside
    shadow = _blur(band * np.exp(-dist / (0.3 * iod)), 0.02 * iod) * JAW_SHADOW
    return canvas * (1 - shadow[..., None])


def baby(rgb: np.ndarray, points: np.ndarray, strength: float = 1.0, seed: int = 0,
         matte: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The baby look on the chibi-reshaped face (module docstring).

    matte: the head's alpha uint8 [H, W] (None: cut here with render.matting). A face under
    256 px is drawn at 256 px and scaled down (the drawn eyes, brows and lips of a few pixels
    come out anti-aliased and where the landmarks say). Returns (uint8 [H, W, 3], the round
    head drawn float32 [H, W] in [0, 1]: what the matte keeps of the face and hair and the
    cranium drawn; None at strength 0)."""
    from .filters import _mix, drawn_at_least

    del seed
    if strength <= 0:
        return rgb, None
    out, gone, head = drawn_at_least(rgb, points,
                                     lambda big, pts, m: _paint(big, pts, strength, m),
                                     images=(matte,))
    return _u8(_mix(rgb, out, np.maximum(strength, gone))), np.clip(head, 0.0, 1.0)


def _one_head(head: np.ndarray, iod: float) -> np.ndarray:
    """float32 [H, W]: the drawn head `head` [H, W] in [0, 1] made one solid shape: slits
    narrower than 0.12 IOD (where the matte's chin cut and the round cheeks part) closed and
    holes filled; its outer edge keeps its anti-aliasing."""
    import cv2
    from scipy.ndimage import binary_fill_holes

    k = int(max(3, round(0.12 * iod)) | 1)
    solid = cv2.morphologyEx((head >= 0.5).astype(np.uint8), cv2.MORPH_CLOSE,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return np.maximum(head, binary_fill_holes(solid > 0).astype(np.float32))


def _paint(rgb: np.ndarray, p: np.ndarray, strength: float, matte: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The baby rendering at full strength: (uint8 [H, W, 3], share replaced by background
    float32 [H, W], the head drawn float32 [H, W]); `strength` only sizes the skull (a weaker
    style keeps more hair)."""
    import cv2

    from .filters import head_matte
    from .toon import BABY_EYES, draw_brows, draw_eyes

    iod = inter_ocular_distance(p)
    if matte is None:
        matte = head_matte(rgb, p)
    if matte is None:  # no cut-out: a head around the skull and the face stands for it
        head = np.maximum(skull_mask(rgb.shape, p, grow=0.6), jaw_region(rgb.shape, p))
    else:
        head = matte.astype(np.float32) / 255.0
    out, skin, photo_skin = soft_skin(rgb, p, head)
    out = downy_hair(out, p, head, skin)
    # a weaker style keeps more of the hair, and what it removes it removes fully (a
    # half-transparent adult hairdo would show as a ghost)
    hair_lab = hair_colour(rgb, p, head, skin)
    out, gone = round_head(out, p, head, skin, grow=1.0 - strength)
    kept = head * (1.0 - gone)      # the face and the hair left inside the round outline
    face_lab = np.median(cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[jaw_region(out.shape, p) > 0.5], 0)
    skin_rgb = cv2.cvtColor(face_lab.astype(np.uint8).reshape(1, 1, 3),
                            cv2.COLOR_LAB2RGB).reshape(3).astype(np.float32)
    canvas, cranium = draw_cranium(out.astype(np.float32), p, skin,
                                   face_lab.astype(np.float32),
                                   hair_lab,
                                   lit_skin(rgb, p, photo_skin))
    # the drawn cranium is whole at any strength, like the cleared hair (a half-blended
    # skull would show as a ghost outline)
    gone = np.maximum(gone, cranium)
    drawn_head = _one_head(np.maximum(kept, cranium), iod)  # the sticker's (docs/matting.md)
    canvas = jaw_shadow(canvas, p)
    canvas = button_nose(canvas, p)
    canvas = draw_brows(canvas, rgb, p, 0.09 * iod, fade=BROW_FADE, skin_rgb=skin_rgb)
    canvas = baby_lips(canvas, p)
    # no global grading: a warmer, more saturated skin reads as a tan at thumbnail size (a
    # pale face turned brown); the blush alone makes the cheeks rosier
    canvas = round_blush(canvas, p)
    eyes = dataclasses.replace(BABY_EYES, **EYE_LOOK)
    rims = glasses_mask(rgb, p)
    if rims is not None:  # glasses stay the photo's own, clean (no smeared rims)
        canvas = canvas * (1 - rims[..., None]) + rgb.astype(np.float32) * rims[..., None]
    canvas = draw_eyes(canvas, rgb, p, eyes, max(1.0, eyes.ink_width * iod))
    return _u8(canvas), gone, drawn_head.astype(np.float32)
