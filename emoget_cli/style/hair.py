"""Where the hair (and a hat) is, for the cel-shaded styles: the hairline and the head's real
outline found along rays from the face, the hair told from the backdrop by its colours.

The head matte of a busy photo runs into the backdrop (a window, a flag beside a short cut) or
misses white hair before a pale wall; "the matte minus the skin" is then no hair. Here
(docs/styles.md, "Cartoon: hair and hats"):

1. **The hairline.** Along each ray from the face's centre, samples of the skin's colours lie
   inside it; one radius per ray is chosen for all rays at once by dynamic programming with a
   penalised change from ray to ray (`best_outline`).
2. **Colour models.** The hair's colours are read just beyond the hairline over the top and the
   temples, the backdrop's outside the matte or far from the face, per 10° sector (curtains on
   one side, a window on the other): a few k-means centres each in Lab, chroma weighted up.
3. **The outline.** A sample beyond the hairline scores by how much nearer it is to the hair
   than to the backdrop around (or how unlike that backdrop it is: a hat's crown); the head's
   outline is the second dynamic-programming boundary, never inside the hairline.
4. **Hair and hats.** Inside the outline, off the skin, the graph segmentation's segments are
   grouped by colour: the group at the hairline (and any of the hair's colours) is the hair,
   other large groups (a cap's crown, its band) are hat parts with their own tones.

Arrays: Lab float32 [H, W, 3] (OpenCV's 8-bit scale: L 0..255, a and b offset by 128), masks
bool [H, W]; `points` iBUG-68 [68, 2] in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import ibug68

#: the weights of (L, a, b) in the colour distance: chroma counts more than lightness
COLOUR_WEIGHTS = np.float32([0.5, 1.8, 1.8])
#: how much the head matte (the photo's cut-out, render/matting.py) adds to a sample's score
#: inside it (grown by 0.12 IOD) and takes outside
MATTE_HINT = 0.1
#: ... and deep inside it (MATTE_CORE_DEPTH IOD in from its edge) a sample scores at least
#: MATTE_CORE: the cut-out's colour models are local and tested on busy real photos; a cap's
#: crown or its badge, unlike the hair and like a flag's white stars around it, is the head's
MATTE_CORE, MATTE_CORE_DEPTH = 0.5, 0.1
#: The colour models separate hair from backdrop only on a picture with colour and contrast:
#: on a black-and-white photo white hair and a pale curtain are one colour, and in a dark one
#: every distance shrinks below the models' thresholds. Their trust (0..1) rises with the
#: face's median skin chroma (CIE Lab) from SEPARATE_CHROMA[0] to [1] and with the picture's
#: lightness spread (std of L, 0..255) from SEPARATE_CONTRAST[0] to [1] (the lower of the two);
#: the real colour photos show 27-41 and 37-68, their greyscale copies 0, their copies at 15 %
#: brightness 4-7 and 7-8. Untrusted, the head matte bounds the outline: outside it (grown)
#: a sample scores at most -MATTE_BOUND, inside at least MATTE_CORE (docs/styles.md).
SEPARATE_CHROMA, SEPARATE_CONTRAST = (10.0, 18.0), (14.0, 24.0)
MATTE_BOUND = 1.0
#: ... and the hairline's skin test counts a pixel lighter than the skin by 1/(3 - LIGHTER_GREY
#: × (1 - trust)) of the excess (a third on a colour photo, all of it on a grey one: there
#: lightness alone tells white hair from a forehead; with a third Biden's white hair was skin)
LIGHTER_GREY = 2.0


@dataclass(frozen=True)
class PolarFrame:
    """Rays from the face's centre: centre (x, y) px, the face's up unit vector, angles [A]
    radians from up (positive towards `right`, up turned a quarter clockwise on the image),
    radii [S] px."""

    centre: np.ndarray
    up: np.ndarray
    angles: np.ndarray
    radii: np.ndarray

    @property
    def right(self) -> np.ndarray:
        return np.array([-self.up[1], self.up[0]])

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates [A, S] of every sample."""
        dirs = np.cos(self.angles)[:, None] * self.up + np.sin(self.angles)[:, None] * self.right
        pos = self.centre + self.radii[None, :, None] * dirs[:, None, :]
        return pos[..., 0].astype(np.float32), pos[..., 1].astype(np.float32)

    def of_pixels(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(angle, radius) [H, W] of every pixel."""
        h, w = shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = np.stack([xx - self.centre[0], yy - self.centre[1]], -1)
        return np.arctan2(d @ self.right, d @ self.up).astype(np.float32), \
            np.linalg.norm(d, axis=-1).astype(np.float32)


def polar_frame(points: np.ndarray, *, max_angle: float = 150.0, reach: float = 2.8,
                step: float = 1.0, lift: float = 0.1) -> PolarFrame:
    """Rays from the face's centre (`lift` IOD above the eyes' midpoint) every degree within
    `max_angle` of the face's up direction, sampled every `step` px out to `reach` IOD."""
    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    eyes = np.array(ibug68.eye_centres(p)).mean(0)
    up = eyes - p[ibug68.CHIN]
    up /= np.linalg.norm(up) + 1e-9
    angles = np.radians(np.arange(-max_angle, max_angle + 0.5, 1.0))
    return PolarFrame(eyes + lift * iod * up, up, angles, np.arange(0.0, reach * iod, step))


def sample(image: np.ndarray, frame: PolarFrame) -> np.ndarray:
    """float32 `image` [H, W, ...] sampled bilinearly along the rays: [A, S, ...] (outside the
    picture: its nearest border pixel)."""
    import cv2

    x, y = frame.xy()
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside_frame(shape: tuple[int, ...], frame: PolarFrame, margin: float = 1.0) -> np.ndarray:
    """bool [A, S]: the samples that lie in the picture."""
    h, w = shape[:2]
    x, y = frame.xy()
    return (x >= margin) & (y >= margin) & (x <= w - 1 - margin) & (y <= h - 1 - margin)


def centres(samples: np.ndarray, k: int) -> np.ndarray:
    """k-means centres [<=k, 3] of weighted Lab samples [N, 3] (fewer when few samples)."""
    import cv2

    s = np.ascontiguousarray(samples, np.float32)
    k = int(min(k, len(s)))
    if k <= 1:
        return s.mean(0, keepdims=True) if len(s) else np.zeros((0, 3), np.float32)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, _, c = cv2.kmeans(s, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    return c


def nearest_index(values: np.ndarray, models: np.ndarray) -> np.ndarray:
    """Index of the nearest centre: values [..., 3], models [M, 3] → int [...]."""
    return np.linalg.norm(values[..., None, :] - models, axis=-1).argmin(-1)


def skin_distance(values: np.ndarray, models: np.ndarray, lighter: float = 3.0
                  ) -> np.ndarray:
    """Like nearest_distance, for the skin, but lighter than its lightest centre a pixel counts
    1/`lighter` of the excess (a third: a forehead catches more light than the cheeks; hair of
    the skin's hue is darker than the skin, and white hair has none of its chroma -- on a
    photo without colour, `colour_trust`, lightness is all that tells white hair, so more)."""
    if len(models) == 0:
        return np.full(values.shape[:-1], 1e3, np.float32)
    top = float(models[:, 0].max())
    v = values.astype(np.float32).copy()
    v[..., 0] = np.where(v[..., 0] > top, top + (v[..., 0] - top) / lighter, v[..., 0])
    return nearest_distance(v, models)


def nearest_distance(values: np.ndarray, models: np.ndarray) -> np.ndarray:
    """min over centres of the distance: values [..., 3], models [M, 3] → [...]."""
    if len(models) == 0:
        return np.full(values.shape[:-1], 1e3, np.float32)
    d = np.linalg.norm(values[..., None, :] - models, axis=-1)
    return d.min(-1)


def best_outline(score: np.ndarray, floor: np.ndarray, *, jump: int = 4, penalty: float = 0.3
                 ) -> np.ndarray:
    """Radius index per ray [A] (int) that maximises, over all rays, score[a, r] (the gain of
    ending the head at sample r of ray a) minus penalty × |change| from ray to ray (at most
    `jump` samples): a Viterbi pass over the rays. floor [A]: the smallest allowed index per
    ray."""
    a_n, s_n = score.shape
    r = np.arange(s_n)
    gain = np.where(r[None, :] >= floor[:, None], score, -1e9).astype(np.float64)
    total = gain[0].copy()
    back = np.zeros((a_n, s_n), np.int16)
    shifts = np.arange(-jump, jump + 1)
    for a in range(1, a_n):
        cand = np.full((len(shifts), s_n), -np.inf)
        for i, d in enumerate(shifts):  # cand[i, r] = total[r + d] - penalty |d|
            lo, hi = max(0, -d), min(s_n, s_n - d)
            cand[i, lo:hi] = total[lo + d:hi + d] - penalty * abs(d)
        best = cand.argmax(0)
        total = cand[best, r] + gain[a]
        back[a] = r + shifts[best]
    out = np.zeros(a_n, np.int64)
    out[-1] = int(total.argmax())
    for a in range(a_n - 1, 0, -1):
        out[a - 1] = back[a, out[a]]
    return out


def _colour_step(col: np.ndarray) -> np.ndarray:
    """[A, S]: the colour change across each sample along its ray, normalised (the 90th
    percentile = 1, clipped at 1)."""
    step = np.linalg.norm(np.roll(col, -2, axis=1) - np.roll(col, 2, axis=1), axis=-1)
    step[:, :2] = 0
    step[:, -2:] = 0
    return np.clip(step / (float(np.percentile(step, 90)) + 1e-6), 0, 1)


def head_outline(lab: np.ndarray, points: np.ndarray, alpha: np.ndarray | None = None
                 ) -> tuple[PolarFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The skin's outer border (the hairline, the temples) and the head's outline along rays
    from the face's centre, and the skin's and hair's colour models.

    lab: the smoothed picture, Lab float32 [H, W, 3]; alpha: the head matte uint8 [H, W] (a
    hint; on a picture without colour or contrast, `colour_trust`, a bound) or None. Returns
    (frame, hairline radius px [A], outline radius px [A], hair centres [K, 3] and skin
    centres [K', 3] in weighted Lab)."""
    import cv2

    from .toon import face_hull

    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    frame = polar_frame(p)
    radii = frame.radii
    wlab = lab * COLOUR_WEIGHTS
    col = sample(wlab, frame)                                   # [A, S, 3]
    pic = inside_frame(lab.shape, frame)
    a_n, s_n = pic.shape
    theta = np.degrees(frame.angles)
    rr = np.arange(s_n)[None, :]
    step = _colour_step(col)
    # 1. the skin's border: skin-coloured samples inside, an edge at it, the landmarks' hull
    #    always skin
    hull = face_hull(p, lab.shape)
    in_hull = sample(hull.astype(np.float32), frame) > 0.5
    r_hull = np.where(in_hull.any(1), s_n - 1 - np.argmax(in_hull[:, ::-1], 1), 0)
    # the skin's colours: the face inside the landmarks' hull, off the eyes, brows and mouth
    # (lit and shaded: a few centres)
    features = np.zeros_like(hull)
    for group in (ibug68.EYE_RIGHT, ibug68.EYE_LEFT, ibug68.BROW_RIGHT, ibug68.BROW_LEFT,
                  ibug68.LIPS_OUTER):
        cv2.fillConvexPoly(features, cv2.convexHull(np.round(p[group]).astype(np.int32)), 1)
    features = cv2.dilate(features, np.ones((3, 3), np.uint8), iterations=max(1, int(0.08 * iod)))
    # (the hull's inner part: the jaw's and temples' shade is darker than any forehead)
    inner = cv2.erode(hull, np.ones((3, 3), np.uint8), iterations=max(1, int(0.2 * iod)))
    face_px = wlab[(inner > 0) & (features == 0)]
    skin_models = centres(face_px[:: max(1, len(face_px) // 3000)], 3)
    trust = colour_trust(lab, (inner > 0) & (features == 0)) if alpha is not None else 1.0
    if alpha is not None:
        grown = cv2.dilate((alpha > 127).astype(np.uint8), np.ones((3, 3), np.uint8),
                           iterations=max(1, int(0.12 * iod)))
        out_matte = sample(grown.astype(np.float32), frame) < 0.5
        core = cv2.erode((alpha > 127).astype(np.uint8), np.ones((3, 3), np.uint8),
                         iterations=max(1, int(MATTE_CORE_DEPTH * iod)))
        in_core = sample(core.astype(np.float32), frame) > 0.5
    else:
        out_matte = in_core = np.zeros_like(pic)
    lighter = 3.0 - (1.0 - trust) * LIGHTER_GREY
    d_skin = skin_distance(col, skin_models, lighter)
    s_skin = np.clip((15.0 - d_skin) / 15.0, -1, 1)
    s_skin = np.where(in_hull, 1.0, s_skin)
    s_skin = np.where(pic, s_skin, -0.2)
    if trust < 1.0:  # a grey curtain has a grey face's colours: the skin ends in the matte
        s_skin = trust * s_skin + (1.0 - trust) * np.where(out_matte, -MATTE_BOUND, s_skin)
    r_in = best_outline(np.cumsum(s_skin, 1) + 1.5 * step, r_hull)
    # 2. the backdrop: far out, or outside the (grown) matte, never skin
    far = radii[None, :] > 2.2 * iod
    is_bg = pic & (rr > r_in[:, None] + 0.35 * iod) & (out_matte | far) & \
        (radii[None, :] > 1.2 * iod)
    sector_models = {}
    for key in np.unique(np.floor(theta / 10).astype(int)):
        for width in (20, 45, 360):
            near = np.abs(theta - (key + 0.5) * 10) <= width
            vals = col[near][is_bg[near]]
            if len(vals) >= 30:
                break
        sector_models[key] = centres(vals, 4)
    d_bg = np.zeros((a_n, s_n), np.float32)
    d_around = np.zeros((a_n, s_n), np.float32)  # to the backdrop within 45° (and beyond)
    for a in range(a_n):
        key = int(np.floor(theta[a] / 10))
        d_bg[a] = nearest_distance(col[a], sector_models[key])
        around = np.concatenate([sector_models[k] for k in range(key - 4, key + 5)
                                 if k in sector_models])
        d_around[a] = nearest_distance(col[a], around)
    # 3. the hair: first just beyond the skin's border, over the top and the temples, unlike
    #    the backdrop and the skin; then (a second pass) the band inside the first outline,
    #    away from its edges, up to 0.5 IOD out (a crown's shine, lighter ends)
    band = (rr >= r_in[:, None] + 0.04 * iod) & (rr <= r_in[:, None] + 0.3 * iod)
    is_hair = pic & band & (np.abs(theta)[:, None] < 110) & (d_bg > 20.0) & (d_skin > 30.0)
    for _ in range(2):
        hair = hair_centres(col[is_hair])
        score = _head_score(d_around, nearest_distance(col, hair), rr, r_in, radii, iod)
        if alpha is not None:
            score = score + np.where(out_matte, -MATTE_HINT, MATTE_HINT)
            score = np.where(in_core, np.maximum(score, MATTE_CORE), score)
            if trust < 1.0:  # the colours cannot tell: the matte rules, as far as they can't
                bound = np.where(out_matte, np.minimum(score, -MATTE_BOUND),
                                 np.maximum(score, MATTE_CORE))
                score = trust * score + (1.0 - trust) * bound
        score = np.where(pic, score, 0.0)
        r_out = best_outline(np.cumsum(score, 1) + 2.0 * step, r_in)
        is_hair = pic & (rr >= r_in[:, None] + 0.04 * iod) & (rr <= r_out[:, None] - 0.06 * iod) \
            & (rr <= r_in[:, None] + 0.5 * iod) & (np.abs(theta)[:, None] < 110) \
            & (d_around > 20.0) & (d_skin > 30.0)
    return frame, radii[r_in], radii[r_out], hair, skin_models


def colour_trust(lab: np.ndarray, face: np.ndarray) -> float:
    """How far the colour models can tell hair from backdrop, 0..1 (SEPARATE_CHROMA,
    SEPARATE_CONTRAST): lab Lab float32 [H, W, 3], face bool [H, W] (the face's bare skin)."""
    px = lab[face] if face.any() else lab.reshape(-1, 3)
    chroma = float(np.median(np.hypot(px[:, 1] - 128.0, px[:, 2] - 128.0)))
    spread = float(lab[..., 0].std())
    return min(_ramp(chroma, SEPARATE_CHROMA), _ramp(spread, SEPARATE_CONTRAST))


def _ramp(value: float, low_high: tuple[float, float]) -> float:
    """0 at or below low, 1 at or above high, linear between."""
    low, high = low_high
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


def hair_centres(samples: np.ndarray) -> np.ndarray:
    """The hair's colours [K, 3]: k-means centres of weighted Lab samples [N, 3], without the
    centres that hold under 15 % of them (a scalp's shine, a stray of the backdrop)."""
    if len(samples) < 10:
        return np.zeros((0, 3), np.float32)
    hair = centres(samples, 4)
    share = np.bincount(nearest_index(samples, hair), minlength=len(hair)) / len(samples)
    return hair[share >= 0.15]


def _head_score(d_around: np.ndarray, d_hair: np.ndarray, rr: np.ndarray, r_in: np.ndarray,
                radii: np.ndarray, iod: float) -> np.ndarray:
    """[A, S] in about [-1.4, 1]: how much each sample beyond the hairline belongs to the
    head: like the hair rather than the backdrop around, or like nothing of that backdrop (a
    hat's crown, a ribbon); inside the hairline 1. Beyond 0.45 IOD out of the hairline only
    clear hair counts (big hair is clearly hair, a window's frame beside a short cut only a
    little); beyond 2 IOD from the centre hardly anything."""
    score = np.maximum(np.clip((d_around - d_hair) / (d_around + d_hair + 8.0), -1, 1),
                       np.clip((d_around - 30.0) / 30.0, -1, 1))
    score = np.where(rr <= r_in[:, None], 1.0, score)
    # ... and hair hugs the skull: just beyond the hairline a sample that is not clearly the
    # backdrop is hair (a short cut's grey temples before a grey window frame)
    score = score + 0.4 * ((rr > r_in[:, None]) & (rr <= r_in[:, None] + 0.15 * iod))
    thick = np.clip((rr - r_in[:, None] - 0.45 * iod) / (0.15 * iod), 0, 1)
    score = score - 0.6 * thick * np.clip((0.2 - score) / 0.3, 0, 1)
    return score - 0.8 * np.clip((radii[None, :] - 2.0 * iod) / (0.4 * iod), 0, 1)


def _touching(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """bool [H, W]: the connected parts of `mask` that hold a `seed` pixel."""
    import cv2

    n, lab = cv2.connectedComponents(mask.astype(np.uint8))
    hit = np.zeros(n, bool)
    hit[np.unique(lab[seed & mask])] = True
    hit[0] = False
    return hit[lab]


def on_rays(frame: PolarFrame, per_ray: np.ndarray, shape: tuple[int, ...]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(per-ray value at each pixel's angle [H, W], each pixel's radius [H, W], bool [H, W]:
    the pixel lies within the rays' angles)."""
    theta, r = frame.of_pixels(shape)
    inside = (theta >= frame.angles[0]) & (theta <= frame.angles[-1])
    return np.interp(theta, frame.angles, per_ray).astype(np.float32), r, inside


@dataclass(frozen=True)
class HeadParts:
    """bool [H, W] masks: skin (the face's skin, its forehead up to the hairline), hair, and
    hats (a list: each part of a headgear of its own colour)."""

    skin: np.ndarray
    hair: np.ndarray
    hats: tuple[np.ndarray, ...]

    @property
    def head(self) -> np.ndarray:
        out = self.skin | self.hair
        for h in self.hats:
            out = out | h
        return out


def head_parts(lab: np.ndarray, labels: np.ndarray, skin: np.ndarray, points: np.ndarray,
               alpha: np.ndarray | None = None, *, below: np.ndarray | None = None
               ) -> HeadParts:
    """Split the head into skin, hair and hats.

    lab: the smoothed picture (Lab float32 [H, W, 3]); labels: its graph segmentation int32
    [H, W]; skin: the skin found by colour (bool [H, W]); below: bool [H, W], where no hair is
    drawn (under the mouth: a beard or a collar). The skin above the eyes ends at the
    hairline; the head's non-skin part inside the outline is grouped by colour: the group that
    holds the hairline's colours (and every group of about their colour) is the hair, every
    other large group a part of a hat."""
    import cv2

    from .toon import _disc, drop_small, merge_similar

    h, w = skin.shape
    p = np.asarray(points, np.float64)
    iod = ibug68.inter_ocular_distance(p)
    frame, r_in, r_out, hair_centres, skin_centres = head_outline(lab, p, alpha)
    line_in, r, rays = on_rays(frame, r_in, (h, w))
    line_out, _, _ = on_rays(frame, r_out, (h, w))
    theta = np.degrees(frame.of_pixels((h, w))[0])
    top = rays & (np.abs(theta) < 80)           # above the ears: the hairline rules the skin
    # inside the hairline a pixel of the skin's colours (nearer to them than to the hair's)
    # that joins the skin is skin: the segmentation can leave a lit forehead out
    wl = lab * COLOUR_WEIGHTS
    d_skin = skin_distance(wl, skin_centres)
    skin_like = (d_skin < 12.0) & (d_skin < nearest_distance(wl, hair_centres))
    added = cv2.morphologyEx((top & (r <= line_in) & skin_like).astype(np.uint8),
                             cv2.MORPH_OPEN, _disc(0.06 * iod)) > 0
    skin = _touching(skin | added, skin)
    inside = rays & (r <= line_out) & ~skin
    if below is not None:
        inside &= ~below
    inside = drop_small(inside, 0.05 * iod * iod)
    if not inside.any():
        return HeadParts(skin, inside, ())
    # group the segments inside the outline by colour
    seg = np.where(inside, labels, -1)
    groups = merge_similar(seg, lab, 22.0, keep=(-1,))
    ids, counts = np.unique(groups[inside], return_counts=True)
    hairline = inside & (r > line_in) & (r < line_in + 0.2 * iod) & top
    hair = np.zeros((h, w), bool)
    hats = []
    min_hat = 0.3 * iod * iod
    by_hairline = np.array([(hairline & (groups == i)).sum() for i in ids])
    main = ids[int(by_hairline.argmax())] if by_hairline.max() > 0 else ids[int(counts.argmax())]
    for i, n in zip(ids, counts):
        part = inside & (groups == i)
        mean = wl[part].mean(0)
        like_hair = len(hair_centres) and nearest_distance(mean, hair_centres) < 40.0
        if i != main and skin_distance(mean, skin_centres) < 20.0:
            skin |= part  # a shaded forehead under a fringe, a temple
        elif i == main or like_hair or n < min_hat:
            hair |= part
        else:
            hats.append(part)
    # a hat part is one smooth shape; what it leaves goes to the hair
    clean = []
    for part in hats:
        part = cv2.morphologyEx(part.astype(np.uint8), cv2.MORPH_OPEN, _disc(0.05 * iod)) > 0
        part = drop_small(part, min_hat)
        if part.any():
            clean.append(part)
    taken = np.zeros((h, w), bool)
    for part in clean:
        taken |= part
    hair = drop_small((hair | inside) & ~taken, 0.05 * iod * iod)
    return HeadParts(skin, hair, tuple(clean))
