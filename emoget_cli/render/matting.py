"""Cut the head out of a portrait: a clean, anti-aliased alpha matte and edge colours free of
the old background, seeded by the 68 facial landmarks.

    cut = cut_out_head(rgb, points)              # crop="head": face and hair, cut below the chin
    cut.rgb, cut.alpha                            # uint8 [H, W, 3] (decontaminated), [H, W]
    head_alpha(rgb, points) -> alpha              # the matte alone

The method (docs/matting.md has the sources):
  1. A prior from the landmarks, the same for both crops (a bust: the head is the bust cut
     below the chin): the jaw polygon, an ellipse over the cranium (hair volume included),
     the neck and shoulders. Definite foreground is the inner face, the forehead, the skull
     and the middle of the chest; definite background is everything well outside the prior.
  2. GrabCut (colour GMMs + graph cut) from that seed mask on a downscaled crop (fast). Its
     colour models are global; what it keeps beyond the skull, the face and the ears is
     judged again with local colour models, sector by sector around the face (the skull's
     cover against the background next to it), and pieces hanging on the head by a neck or
     apart from it come off. Ears it gave to the background come back: in the ear zones
     beside the jaw's top points, lobes of the face's skin hue joined to the cut. Beside
     the temples, a piece that steps out of the head's outline, out of focus next to the
     hair and barely of its colours (a window frame beside short hair) comes off.
  3. Edge-aware upsampling of the binary cut with a colour-guided filter, then a steep,
     monotone ramp, so the edge follows the picture's contour at full resolution and is
     anti-aliased over about one output pixel (no haze, no staircase).
  4. The chin cut (`crop="head"`): everything below the jaw line, extended sideways, is
     removed with an anti-aliased edge, so no neck or collar shows.
  4b. Beyond the photo's frame (`picture`, from face.picture_mask): alignment's padding is
     refilled with the photo's colours continued outwards, seeds GrabCut as probable
     background (no evidence of the head), and the head runs into it only within a typical
     head's outline (a rounded top, not the padding's mirror image).
  5. Colour decontamination: near the edge each pixel is modelled as a mix of the local
     foreground colour F (extrapolated from inside) and the local background colour B
     (extrapolated from outside); the background share is removed from the colour, so no
     fringe of the old background survives.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..core.choices import CROPS
from ..core.errors import InputError, UsageError
from ..core.ibug68 import (BROW_LEFT, BROW_RIGHT, BROWS, CHIN, EYE_LEFT, EYE_RIGHT, JAW,
                           LIPS_OUTER)

#: GrabCut works on a crop whose longest side is at most this many pixels.
GRABCUT_SIDE = 160
GRABCUT_ITERATIONS = 5


@dataclass(frozen=True)
class Cutout:
    """rgb: uint8 [H, W, 3], the picture with edge colours decontaminated (the foreground
    colour extended under transparent pixels); alpha: uint8 [H, W], 255 = head."""

    rgb: np.ndarray
    alpha: np.ndarray

    def rgba(self) -> np.ndarray:
        return np.dstack([self.rgb, self.alpha])


def head_alpha(rgb: np.ndarray, points: np.ndarray, crop: str = "head") -> np.ndarray:
    """Alpha matte of the head in `rgb` (see cut_out_head): uint8 [H, W]."""
    return cut_out_head(rgb, points, crop).alpha


#: The last few cut-outs, by content: a pack animates one styled face once per expression,
#: and the matte of that face is the same each time.
_CACHE: "OrderedDict[bytes, Cutout]" = OrderedDict()
_CACHE_SIZE = 4


def cut_out_head(rgb: np.ndarray, points: np.ndarray, crop: str = "head",
                 picture: np.ndarray | None = None) -> Cutout:
    """Cut the head out of rgb uint8 [H, W, 3] with landmarks points float [68, 2] (x, y).

    crop: "head" (face and hair, cut below the chin) or "bust" (with neck and shoulders).
    picture: float [H, W] in [0, 1], 1 where rgb shows the photo and 0 where alignment padded
    beyond the photo's frame (face.picture_mask); None = all photo. Padding is no evidence of
    anything: it is refilled with the photo's colours continued outwards, and the head runs on
    into it only within a typical head's rounded outline (a forehead cut by the frame gets a
    rounded top, neither a flat one nor the padding's mirror image).
    Returns a Cutout with the decontaminated colours and the matte (read-only arrays).
    """
    rgb, pts = _check(rgb, points, crop)
    if picture is not None:
        picture = np.clip(np.nan_to_num(np.asarray(picture, np.float32), nan=0.0), 0.0, 1.0)
        if picture.shape != rgb.shape[:2]:
            raise UsageError(f"the picture mask is {picture.shape}, the image {rgb.shape[:2]}")
        if picture.min() >= 1.0:
            picture = None
    key = hashlib.blake2b(np.ascontiguousarray(rgb).tobytes() + pts.tobytes() + crop.encode()
                          + str(rgb.shape).encode()
                          + (b"" if picture is None else picture.tobytes()),
                          digest_size=16).digest()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    cut = _cut_out(rgb, pts, crop, picture)
    cut.rgb.flags.writeable = False
    cut.alpha.flags.writeable = False
    _CACHE[key] = cut
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return cut


def _cut_out(rgb: np.ndarray, pts: np.ndarray, crop: str,
             picture: np.ndarray | None = None) -> Cutout:
    import cv2

    H, W = rgb.shape[:2]
    geo = _FaceGeometry(pts)
    if picture is not None:
        rgb = _continue_picture(rgb, picture)
    # one segmentation for both crops, seeded as a bust (the head is the bust cut below the
    # chin): with the chest as the person's and the picture's bottom edge left free, the
    # colour models learnt what is the person's better -- seeded as a head alone, GrabCut
    # kept a window pane beside obama's ear and dropped the white crown of grace_hopper's
    # cap, which the bust kept
    prior, box = _prior_mask(geo, H, W)
    x0, y0, x1, y1 = box
    crop_rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    crop_prior = prior[y0:y1, x0:x1]
    if picture is not None:
        # the padding is no evidence of the head: its colours are the photo's continued
        # outwards, hair and window blended, and as (definite) head they taught GrabCut's
        # head model the window's colours (obama_partial_face2 kept a block of window);
        # beyond the frame the typical head's outline decides (below)
        pic = picture[y0:y1, x0:x1]
        seeds = crop_prior.copy()
        seeds[(pic < 0.5) & (seeds != cv2.GC_BGD)] = cv2.GC_PR_BGD
        fg = _grabcut(crop_rgb, seeds, geo, (x0, y0), photo=pic)
        fg = fg * pic + _typical_head(geo, (x0, y0), fg.shape) * (1.0 - pic)
    else:
        fg = _grabcut(crop_rgb, crop_prior, geo, (x0, y0))           # float32 [h, w] in [0, 1]
    # where hair and background have the same colour no colour model can find the hair's
    # outline: there the head takes the typical head's shape from the landmarks
    fg = np.maximum(fg, _shape_where_ambiguous(crop_rgb, geo, (x0, y0)))
    fg[crop_prior == cv2.GC_FGD] = 1.0     # the face itself is never cut
    fg[crop_prior == cv2.GC_BGD] = 0.0     # nor is anything far from it kept
    fg *= _joined_to(fg > 0.05, crop_prior == cv2.GC_FGD)    # nor a piece apart from it
    alpha = _refine(crop_rgb, fg, geo.face_w)                        # float32 [h, w] in [0, 1]
    if crop == "head":
        alpha *= _below_chin_keep(geo, (x0, y0), alpha.shape)
    if picture is not None:
        # beyond the photo's frame only a typical head's outline bounds the head, and only
        # where the frame cuts across the top of the head (the photo lies below the padding:
        # a forehead cut by the frame gets a rounded top); a frame beside the face cuts the
        # face itself, and the cut-out stops at it: colours continued into that padding
        # would smear half an eye or a cheek
        beyond = _typical_head(geo, (x0, y0), alpha.shape) * _photo_below(geo, pic)
        alpha *= np.maximum(pic, beyond)                                  # photo or head
    colours, alpha = _decontaminate(crop_rgb, alpha, geo.face_w)
    out_rgb = rgb.copy()
    out_rgb[y0:y1, x0:x1] = colours
    out_alpha = np.zeros((H, W), np.uint8)
    out_alpha[y0:y1, x0:x1] = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Cutout(out_rgb, out_alpha)


def _check(rgb: np.ndarray, points: np.ndarray, crop: str) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise UsageError(f"head_alpha needs a uint8 [H, W, 3] image, got {rgb.dtype} {rgb.shape}")
    pts = np.asarray(points, dtype=np.float32)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise UsageError(f"head_alpha needs 68 finite (x, y) landmarks, got shape {pts.shape}")
    if crop not in CROPS:
        raise UsageError(f"unknown crop {crop!r}; choose one of: {', '.join(CROPS)}")
    H, W = rgb.shape[:2]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < W) & (pts[:, 1] >= 0) & (pts[:, 1] < H)
    if inside.mean() < 0.5:
        raise InputError("the landmarks lie mostly outside the image: cannot cut the head out")
    return rgb, pts


class _FaceGeometry:
    """Face-aligned frame from the landmarks: 'up' runs from the chin to the brows (so tilted
    faces work), 'side' is perpendicular; face_h = chin-to-brow distance, face_w = jaw width."""

    def __init__(self, pts: np.ndarray):
        self.pts = pts
        self.brow = pts[BROWS].mean(axis=0)
        self.chin = pts[CHIN]
        up = self.brow - self.chin
        self.face_h = float(np.linalg.norm(up)) + 1e-6
        self.up = (up / self.face_h).astype(np.float32)
        self.side = np.array([self.up[1], -self.up[0]], np.float32)
        jaw = pts[JAW]
        self.face_w = max(float(np.linalg.norm(jaw[-1] - jaw[0])), 0.5 * self.face_h)
        self.centre = pts.mean(axis=0)
        # the cranium sits over the middle of the jaw's outline, not over the brows: a head
        # turned aside shows its brows shifted towards the turn while the skull stays put
        # (obama2: brows 0.14 jaw widths off the jaw's middle), so everything drawn over the
        # cranium is centred here -- at the brows' height, on the jaw's midline
        jaw_mid = 0.5 * (jaw[0] + jaw[-1])
        self.crown = self.brow + self.side * float(np.dot(jaw_mid - self.brow, self.side))

    def at(self, origin: np.ndarray, along_up: float, along_side: float) -> np.ndarray:
        """The point origin + along_up * face_h * up + along_side * face_w * side."""
        return origin + self.up * along_up * self.face_h + self.side * along_side * self.face_w

    def ellipse(self, centre: np.ndarray, half_up: float, half_side: float, n: int = 48):
        """Polygon [n, 2] of an ellipse in the face frame (half axes in face_h / face_w)."""
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.stack([self.at(centre, half_up * np.sin(a), half_side * np.cos(a))
                         for a in t]).astype(np.float32)


def _fill(mask: np.ndarray, poly: np.ndarray, value: int) -> None:
    import cv2

    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], int(value))


def _hull(points: np.ndarray) -> np.ndarray:
    import cv2

    return points[cv2.convexHull(points.astype(np.float32), returnPoints=False).ravel()]


def _prior_mask(geo: _FaceGeometry, H: int, W: int):
    """GrabCut seed mask uint8 [H, W] (GC_BGD/GC_PR_BGD/GC_PR_FGD/GC_FGD) of a bust (head,
    neck and shoulders; crop="head" cuts it below the chin later) and the crop box
    (x0, y0, x1, y1) that holds every non-definite-background pixel plus a margin."""
    import cv2

    pts = geo.pts
    probable = np.zeros((H, W), np.uint8)
    _fill(probable, geo.centre + 1.08 * (pts[JAW] - geo.centre), 1)        # cheeks, ears
    # the cranium with its hair: an ellipse from the jaw's width to well over the brows
    _fill(probable, geo.ellipse(geo.at(geo.crown, 0.12, 0.0), 0.95, 0.72), 1)
    # the neck below the chin and the shoulders down to the picture's edge
    jaw_l, jaw_r = pts[JAW][4], pts[JAW][12]
    _fill(probable, np.array([jaw_l, jaw_r, geo.at(jaw_r, -0.55, -0.06),
                              geo.at(jaw_l, -0.55, 0.06)]), 1)
    _fill(probable, np.array([geo.at(geo.chin, -0.35, -0.45), geo.at(geo.chin, -0.35, 0.45),
                              geo.at(geo.chin, -3.0, 1.3), geo.at(geo.chin, -3.0, -1.3)]), 1)
    mask = np.full((H, W), cv2.GC_BGD, np.uint8)
    ring = max(3, int(round(0.45 * geo.face_w)))
    # a distance transform instead of a dilation: linear time whatever the ring width
    dist = cv2.distanceTransform((probable == 0).astype(np.uint8), cv2.DIST_L2, 3)
    mask[dist <= ring] = cv2.GC_PR_BGD
    band = max(2, int(round(0.02 * max(H, W))))
    mask[:band], mask[:, :band], mask[:, -band:] = (cv2.GC_BGD,) * 3
    mask[probable > 0] = cv2.GC_PR_FGD        # the head prior wins over the border band
    # definite: the inner face (landmark hull shrunk) and the middle of the forehead
    _fill(mask, geo.centre + 0.85 * (_hull(pts) - geo.centre), cv2.GC_FGD)
    _fill(mask, geo.ellipse(geo.at(geo.brow, 0.12, 0.0), 0.12, 0.22), cv2.GC_FGD)
    # and the skull: whatever covers it (hair of any colour, a bald head, a hat) is the head;
    # as definite foreground it also gives GrabCut the hair's colours to look for
    _fill(mask, _skull(geo), cv2.GC_FGD)
    # below the chin, the middle of the chest is the subject (a collar too)
    _fill(mask, np.array([geo.at(geo.chin, -0.12, -0.2), geo.at(geo.chin, -0.12, 0.2),
                          geo.at(geo.chin, -3.0, 0.3), geo.at(geo.chin, -3.0, -0.3)]),
          cv2.GC_FGD)
    ys, xs = np.nonzero(mask != cv2.GC_BGD)
    margin = max(4, ring // 2)
    box = (max(0, xs.min() - margin), max(0, ys.min() - margin),
           min(W, xs.max() + 1 + margin), min(H, ys.max() + 1 + margin))
    return mask, box


#: The skull that every head has above the brows (face frame: centred on the brows, half axes
#: in face_h up and face_w sideways): a head's vertex lies about 0.8-0.9 brow-to-chin
#: distances above the brows and its breadth exceeds the jaw's (docs/matting.md); this
#: ellipse stays inside both so that even a shaved head fills it.
SKULL_HALF_UP, SKULL_HALF_SIDE = 0.62, 0.45
#: A typical head with hair (centre, half up, half side), used where the colours cannot tell
#: hair from background.
TYPICAL_HEAD = (0.1, 0.76, 0.66)
#: Hair and background closer than this (CIE Lab distance) are indistinguishable by colour.
AMBIGUOUS_DELTA_E = 14.0
N_SECTORS = 16


def _skull(geo: _FaceGeometry) -> np.ndarray:
    return geo.ellipse(geo.crown, SKULL_HALF_UP, SKULL_HALF_SIDE)


def _typical_head_coords(geo: _FaceGeometry, origin, shape):
    """(rho, theta) float32 [h, w]: elliptical radius (1 on the typical head's outline,
    TYPICAL_HEAD) and angle from straight up, around the cranium's centre."""
    h, w = shape
    up_c, half_up, half_side = TYPICAL_HEAD
    centre = geo.at(geo.crown, up_c, 0.0) - np.asarray(origin, np.float32)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    dx, dy = xx - centre[0], yy - centre[1]
    u = (dx * geo.up[0] + dy * geo.up[1]) / (half_up * geo.face_h)
    v = (dx * geo.side[0] + dy * geo.side[1]) / (half_side * geo.face_w)
    return np.hypot(u, v), np.arctan2(v, u)


def _typical_head(geo: _FaceGeometry, origin, shape) -> np.ndarray:
    """float32 [h, w]: the typical head (TYPICAL_HEAD), 1 inside, with a ~1 px soft edge."""
    rho, _ = _typical_head_coords(geo, origin, shape)
    _, half_up, half_side = TYPICAL_HEAD
    radius = min(half_up * geo.face_h, half_side * geo.face_w)
    return np.clip((1.0 - rho) * radius + 0.5, 0.0, 1.0).astype(np.float32)


def _photo_below(geo: _FaceGeometry, pic: np.ndarray) -> np.ndarray:
    """float32 [h, w]: the picture mask pic [h, w] read 0.35 brow-to-chin distances further
    down the face (towards the chin): 1 where the photo lies below a pixel."""
    import cv2

    h, w = pic.shape
    dx, dy = -geo.up * 0.35 * geo.face_h
    shift = np.float32([[1, 0, dx], [0, 1, dy]])                 # dst(p) = pic(p + shift)
    return cv2.warpAffine(pic, shift, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def _continue_picture(rgb: np.ndarray, picture: np.ndarray) -> np.ndarray:
    """rgb uint8 [H, W, 3] with the padding (picture < 1) replaced by the photo's colours
    continued outwards: normalized convolution of the photo's pixels at growing scales, on a
    copy 4x smaller (the padding is featureless anyway), blended in by the picture mask."""
    import cv2

    H, W = picture.shape
    small = (max(4, W // 4), max(4, H // 4))
    img = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = (cv2.resize(picture, small, interpolation=cv2.INTER_AREA) >= 0.999)
    weight = weight.astype(np.float32)
    out = np.where(weight[..., None] > 0, img, 0.0)
    done = weight > 0
    for sigma in (1.5, 4.0, 12.0, 36.0):
        num = cv2.GaussianBlur(img * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
        fill = ~done & (den > 1e-3)
        out[fill] = num[fill] / den[fill, None]
        done |= fill
    if not done.all():
        out[~done] = img[weight > 0].mean(axis=0) if weight.any() else 128.0
    filled = cv2.resize(out, (W, H), interpolation=cv2.INTER_LINEAR)
    a = picture[..., None]
    return np.clip(rgb * a + filled * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)


def _shape_where_ambiguous(crop: np.ndarray, geo: _FaceGeometry, origin) -> np.ndarray:
    """float32 [h, w]: the typical head (TYPICAL_HEAD) in the directions from the cranium's
    centre where the colour just inside the typical head's outline (hair) and just outside it
    (background) are less than AMBIGUOUS_DELTA_E apart; 0 elsewhere. Sectors of 22.5 degrees,
    blended across their borders. Measured at GrabCut's resolution (the medians and the shape
    need no more), returned at the crop's."""
    import cv2

    full_h, full_w = crop.shape[:2]
    scale = min(1.0, GRABCUT_SIDE / max(full_h, full_w))
    if scale < 1.0:
        size = (max(8, round(full_w * scale)), max(8, round(full_h * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        geo = _FaceGeometry((geo.pts - np.asarray(origin, np.float32)) * scale)
        origin = (0.0, 0.0)
    h, w = crop.shape[:2]
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0                       # OpenCV's 8-bit L runs 0..255
    rho, theta = _typical_head_coords(geo, origin, (h, w))   # rho 1 on the outline, theta 0 up
    face = np.zeros((h, w), np.uint8)
    _fill(face, _hull(geo.pts) - np.asarray(origin, np.float32), 1)
    sector = np.floor((theta + np.pi) / (2 * np.pi) * N_SECTORS).astype(int) % N_SECTORS
    # the head's colour is read just inside the skull (hair, scalp or hat for certain), not
    # just inside the typical head: on short hair that ring is background already, and a
    # background compared with itself would look "ambiguous" and be kept as head
    skull = np.zeros((h, w), np.uint8)
    _fill(skull, _skull(geo) - np.asarray(origin, np.float32), 1)
    shrunk = np.zeros((h, w), np.uint8)
    _fill(shrunk, geo.crown - np.asarray(origin, np.float32)
          + 0.75 * (_skull(geo) - geo.crown), 1)
    inner = (skull > 0) & (shrunk == 0) & (face == 0)
    outer = (rho > 1.3) & (rho < 1.7)
    ambiguous = np.zeros(N_SECTORS, np.float32)
    for k in range(N_SECTORS):
        a, b = inner & (sector == k), outer & (sector == k)
        if a.sum() < 20 or b.sum() < 20:
            continue
        delta = np.linalg.norm(np.median(lab[a], axis=0) - np.median(lab[b], axis=0))
        ambiguous[k] = float(delta < AMBIGUOUS_DELTA_E)
    # hair like its background runs over a stretch of the outline; one sector alone is a
    # local coincidence (a dark patch of a flag beside dark hair) and is left to GrabCut
    ambiguous *= np.maximum(np.roll(ambiguous, 1), np.roll(ambiguous, -1))
    if not ambiguous.any():
        return np.zeros((full_h, full_w), np.float32)
    # blend across sector borders (circularly): weight at each angle
    pos = (theta + np.pi) / (2 * np.pi) * N_SECTORS - 0.5
    lo = np.floor(pos).astype(int)
    t = (pos - lo).astype(np.float32)
    weight = ambiguous[lo % N_SECTORS] * (1 - t) + ambiguous[(lo + 1) % N_SECTORS] * t
    shape = (_typical_head(geo, origin, (h, w)) * (weight >= 0.5)).astype(np.float32)
    if (h, w) != (full_h, full_w):
        shape = cv2.resize(shape, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    return shape


def _grabcut(crop: np.ndarray, prior: np.ndarray, geo: _FaceGeometry, origin,
             photo: np.ndarray | None = None) -> np.ndarray:
    """Run GrabCut on a downscaled copy; returns the foreground float32 [h, w] (bilinearly
    upscaled from {0, 1}) at the crop's resolution. Falls back to the prior when GrabCut
    cannot run (e.g. a crop with no background sample). Then the parts beyond a snug head
    that the local colours do not support come off (_drop_unsupported), lost ears come back
    (_ears) and blurred steps beside the temples come off (_blurred_steps_beside_temples).
    photo: float [h, w], the picture mask (None: all photo); padding is never judged."""
    import cv2

    h, w = prior.shape
    scale = min(1.0, GRABCUT_SIDE / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
    small_prior = cv2.resize(prior, (sw, sh), interpolation=cv2.INTER_NEAREST)
    small_photo = (np.ones((sh, sw), bool) if photo is None else
                   cv2.resize(photo.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
                   >= 0.999)
    fallback = np.isin(prior, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    if not np.isin(small_prior, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
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
    core = small_prior == cv2.GC_FGD
    small_geo = _FaceGeometry((geo.pts - np.asarray(origin, np.float32))
                              * np.float32([sw / w, sh / h]))
    fg = _clean(fg, core, small_geo.face_w)
    fg = _clean(_drop_unsupported(small, fg, small_geo), core, small_geo.face_w)
    ears = _ears(small, fg, small_geo)
    if ears.any():
        fg = _clean(fg | ears, core, small_geo.face_w)
    blocks = _blurred_steps_beside_temples(crop, fg, small_geo, small_photo)
    if blocks.any():
        fg[blocks] = 0
        fg = _clean(fg, core, small_geo.face_w)
    return cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


#: A head with short hair (centre, half up, half side in the face frame, like TYPICAL_HEAD):
#: the skull plus a few centimetres; the jaw's outline widened by SNUG_EARS holds the ears.
#: Beyond it the cut keeps only what the local colours support (_drop_unsupported).
SNUG_HEAD = (0.05, 0.8, 0.5)
SNUG_EARS = 1.12
SNUG_BELOW = 0.2       # brow-to-chin distances above the chin: the jaw's corners
#: The evidence needed rises with the distance beyond the snug head: per jaw width, this
#: much more log ratio.
LOCAL_RISE = 5.0
#: Local colour models: colours quantised to this many levels per RGB channel, compared in
#: this many sectors around the face (each model pooled over a sector and its two neighbours).
LOCAL_LEVELS = 16
LOCAL_SECTORS = 12
#: A pixel is background when the local background explains its colour e^LOCAL_LOG_RATIO
#: times better than the head does (plus LOCAL_RISE per jaw width beyond the snug head), or
#: when its colour is e^ATYPICAL times rarer in the hair than the hair's own median colour
#: and the background explains it at least as well (a window pane's pale blue beside dark
#: hair). Both are averaged over a Gaussian neighbourhood of LOCAL_SIGMA jaw widths: a
#: texture is judged by its mix of colours, and the cut's edge stays smooth.
LOCAL_LOG_RATIO = 1.5
ATYPICAL = 3.0
LOCAL_SIGMA = 0.1


def _colour_histogram(index: np.ndarray) -> np.ndarray:
    """Normalised, lightly smoothed colour histogram float64 [L, L, L] of quantised colours."""
    n = LOCAL_LEVELS
    hist = np.bincount(index, minlength=n ** 3).astype(np.float64).reshape(n, n, n)
    for axis in range(3):   # a [1, 2, 1] / 4 blur along each channel: neighbouring shades
        pad = np.pad(hist, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
        lo = np.take(pad, range(0, n), axis=axis)
        hi = np.take(pad, range(2, n + 2), axis=axis)
        hist = 0.5 * hist + 0.25 * (lo + hi)
    return hist / max(hist.sum(), 1e-9)


def _snug_head(geo: _FaceGeometry, shape) -> np.ndarray:
    """bool [h, w]: where a head with short hair can be (SNUG_HEAD around the cranium, and the
    jaw's outline widened for the ears), and everything below the jaw's corners: what lies
    beyond it is hair hanging down or standing out, or background."""
    h, w = shape
    snug = np.zeros((h, w), np.uint8)
    centre, half_up, half_side = SNUG_HEAD
    _fill(snug, geo.ellipse(geo.at(geo.crown, centre, 0.0), half_up, half_side), 1)
    _fill(snug, geo.centre + SNUG_EARS * (geo.pts[JAW] - geo.centre), 1)
    # below the jaw's corners lie the neck and, for a bust, the shoulders: not hair
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    along = (xx - geo.chin[0]) * geo.up[0] + (yy - geo.chin[1]) * geo.up[1]
    return (snug > 0) | (along < SNUG_BELOW * geo.face_h)


def _drop_unsupported(small: np.ndarray, fg: np.ndarray, geo: _FaceGeometry) -> np.ndarray:
    """fg uint8 [h, w] without the parts beyond the skull (and beside the face and ears)
    whose colours the background around them explains better than what covers the skull
    does (_background_by_local_colour); the farther beyond a snug head (_snug_head), the
    less evidence it takes."""
    import cv2

    snug = _snug_head(geo, fg.shape)
    # the skull's cover (hair, a scalp, a hat) is the head's own colour sample; the face,
    # the ears and the forehead are left out of it (a window's beige matched the skin)
    face = np.zeros(fg.shape, np.uint8)
    _fill(face, _hull(geo.pts), 1)
    _fill(face, geo.centre + SNUG_EARS * (geo.pts[JAW] - geo.centre), 1)
    _fill(face, geo.ellipse(geo.at(geo.brow, 0.12, 0.0), 0.16, 0.3), 1)
    skull = np.zeros(fg.shape, np.uint8)
    _fill(skull, _skull(geo), 1)
    reach = max(3.0, 0.3 * geo.face_w)
    d_skull = cv2.distanceTransform(skull, cv2.DIST_L2, 3)
    head_ref = (fg > 0) & (skull > 0) & (face == 0) & (d_skull <= reach)
    # judged: what lies beyond the skull, the face and the ears, above the jaw's corners
    # (the neck and shoulders below them are no hair: _snug_head holds them)
    yy, xx = np.mgrid[:fg.shape[0], :fg.shape[1]].astype(np.float32)
    along = (xx - geo.chin[0]) * geo.up[0] + (yy - geo.chin[1]) * geo.up[1]
    candidates = (fg > 0) & (skull == 0) & (face == 0) & (along >= SNUG_BELOW * geo.face_h)
    if not candidates.any():
        return fg
    # the farther beyond a short-haired head, the stronger the colour evidence must be
    beyond = cv2.distanceTransform((~snug).astype(np.uint8), cv2.DIST_L2, 3) / geo.face_w
    threshold = -LOCAL_LOG_RATIO + LOCAL_RISE * beyond
    background = _background_by_local_colour(small, fg, candidates, head_ref, geo, threshold)
    out = fg.copy()
    out[background] = 0
    return out


#: The ears: beside the jaw's top points (landmarks 0-3 and 16-13), from EAR_TOP brow-to-chin
#: distances above the top one, out to EAR_OUT jaw widths from the jaw's outline.
EAR_TOP = 0.12
EAR_OUT = 0.22
#: Skin: within EAR_HUE degrees of the face's CIE Lab hue, its chroma from 1/EAR_CHROMA to
#: EAR_CHROMA_UP times the face's (an ear is as red as the cheeks or redder; a greyer
#: backdrop of the skin's hue is not). A face with a chroma under EAR_MIN_CHROMA (faded, black
#: and white) gives no hue to go by.
EAR_HUE = 18.0
EAR_CHROMA = 1.3
EAR_CHROMA_UP = 1.6
EAR_MIN_CHROMA = 15.0
#: A side whose backdrop (out to EAR_BACKDROP times EAR_OUT) is skin-coloured for more than
#: EAR_BACKDROP_SKIN of it is left alone: no colour can find the ear there.
EAR_BACKDROP = 1.8
EAR_BACKDROP_SKIN = 0.2
#: Ears are at least EAR_LOBE jaw widths across.
EAR_LOBE = 0.08


def _ear_zones(geo: _FaceGeometry, shape, reach: float) -> list[np.ndarray]:
    """Two bool [h, w] masks, one per side: within `reach` jaw widths outside the jaw's
    outline beside its top points, from EAR_TOP over the top point down to the fourth."""
    jaw = geo.pts[JAW]
    lift = geo.up * EAR_TOP * geo.face_h
    zones = []
    for chain in (jaw[:4], jaw[-4:][::-1]):
        out = geo.side * np.sign(float(np.dot(chain[0] - geo.centre, geo.side)))
        inner = np.concatenate([[chain[0] + lift], chain])
        zone = np.zeros(shape, np.uint8)
        _fill(zone, np.concatenate([inner, inner[::-1] + out * reach * geo.face_w]), 1)
        zones.append(zone > 0)
    return zones


def _skin_like(rgb: np.ndarray, geo: _FaceGeometry) -> np.ndarray | None:
    """bool [h, w]: pixels of the face's skin colour (EAR_HUE, EAR_CHROMA around the median
    CIE Lab hue and chroma of the cheeks and nose); None when the face shows too little skin
    or too little colour."""
    import cv2

    sample = _skin_sample(geo, rgb.shape[:2])
    if sample.sum() < 20:
        return None
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    a, b = lab[..., 1] - 128.0, lab[..., 2] - 128.0
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a))
    a0, b0 = float(np.median(a[sample])), float(np.median(b[sample]))
    c0, h0 = float(np.hypot(a0, b0)), float(np.degrees(np.arctan2(b0, a0)))
    if c0 < EAR_MIN_CHROMA:     # a greyish face (faded, black and white): no hue to go by
        return None
    off = np.abs((hue - h0 + 180.0) % 360.0 - 180.0)
    return (off < EAR_HUE) & (chroma > c0 / EAR_CHROMA) & (chroma < c0 * EAR_CHROMA_UP)


def _ears(rgb: np.ndarray, fg: np.ndarray, geo: _FaceGeometry) -> np.ndarray:
    """bool [h, w]: the ears that the cut fg [h, w] left out -- in the ear zones beside the
    jaw's top points (_ear_zones), the face's skin colour (_skin_like) joined to the cut,
    on a side whose backdrop is not skin-coloured. GrabCut's global colour models gave the
    far ear of a turned head (obama2) to the blonde hair behind it."""
    import cv2

    skin = _skin_like(rgb, geo)
    if skin is None:
        return np.zeros(fg.shape, bool)
    # an ear is a lobe, not a line: a flagpole's gold or a frame's edge of the skin's hue is
    # thinner than EAR_LOBE jaw widths
    side = max(2, int(round(EAR_LOBE * geo.face_w)))
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))) > 0
    ears = np.zeros(fg.shape, bool)
    for zone, wide in zip(_ear_zones(geo, fg.shape, EAR_OUT),
                          _ear_zones(geo, fg.shape, EAR_BACKDROP * EAR_OUT)):
        backdrop = wide & ~zone & (fg == 0)
        if backdrop.sum() < 20 or skin[backdrop].mean() > EAR_BACKDROP_SKIN:
            continue
        ears |= zone & (fg == 0) & skin
    if not ears.any():
        return ears
    return ears & (_joined_to(ears | (fg > 0), fg > 0) > 0)


def _skin_sample(geo: _FaceGeometry, shape) -> np.ndarray:
    """bool [h, w]: the face's bare skin -- the landmarks' inner face without the eyes, the
    brows and the mouth (cheeks, nose, the lower forehead)."""
    import cv2

    sample = np.zeros(shape, np.uint8)
    _fill(sample, geo.centre + 0.85 * (_hull(geo.pts) - geo.centre), 1)
    holes = np.zeros(shape, np.uint8)
    for group in (EYE_RIGHT, EYE_LEFT, BROW_RIGHT, BROW_LEFT, LIPS_OUTER):
        _fill(holes, _hull(geo.pts[group]), 1)
    grow = max(1, int(round(0.06 * geo.face_w)))
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                        (2 * grow + 1, 2 * grow + 1)))
    return (sample > 0) & (holes == 0)


#: Beside the temples hair grows out of the hair above it. Read along rays from the skull
#: prior's centre, from TEMPLE_TOP degrees off straight up down to the ear's top, the cut's
#: outline (its elliptical radius, 1 on the skull prior; TEMPLE_BIN degrees a ray) may move
#: out by TEMPLE_FLARE per degree as hair flares out when it falls; where it steps out by
#: TEMPLE_STEP more than that, what lies beyond the outline above the step, down to the ear,
#: is suspect. A suspect piece goes when it is out of focus next to the hair -- its fine
#: detail (energy of luminance less a 1-px blur) under TEMPLE_SMOOTH of the upper quartile
#: of the hair's on the skull on that side -- and its colours are no more than e^TEMPLE_COLOUR
#: times likelier in the hair than in the background around it. No cue alone will do: hair is
#: often fuller at the upper temples than at the sideburns (a step), a backdrop the hair's
#: colour is common (weak colour), hair scaled up is smooth (docs/matting.md).
TEMPLE_TOP = 30.0
TEMPLE_BIN = 1.5
TEMPLE_FLARE = 0.015
TEMPLE_STEP = 0.08
TEMPLE_SMOOTH = 1.0
TEMPLE_COLOUR = 2.5


def _temple_steps(fg: np.ndarray, geo: _FaceGeometry) -> np.ndarray:
    """bool [h, w]: the parts of the cut fg [h, w] beside the temples that lie beyond the
    outline above a step out (TEMPLE_TOP, TEMPLE_BIN, TEMPLE_FLARE, TEMPLE_STEP)."""
    h, w = fg.shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)

    def polar(dx, dy):
        a = (dx * geo.up[0] + dy * geo.up[1]) / (SKULL_HALF_UP * geo.face_h)
        b = (dx * geo.side[0] + dy * geo.side[1]) / (SKULL_HALF_SIDE * geo.face_w)
        return np.hypot(a, b), np.degrees(np.arctan2(np.abs(b), a)), np.sign(b)

    rho, phi, sign = polar(xx - geo.crown[0], yy - geo.crown[1])
    steps = np.zeros((h, w), bool)
    jaw = geo.pts[JAW]
    for end in (jaw[0], jaw[-1]):
        ear = end + geo.up * EAR_TOP * geo.face_h - geo.crown
        _, phi_ear, side = polar(ear[0], ear[1])
        if phi_ear <= TEMPLE_TOP + TEMPLE_BIN:
            continue
        n = int(np.ceil((float(phi_ear) - TEMPLE_TOP) / TEMPLE_BIN))
        here = ((fg > 0) & (sign == side) & (phi >= TEMPLE_TOP)
                & (phi < TEMPLE_TOP + n * TEMPLE_BIN))
        if not here.any():
            continue
        bins = ((phi[here] - TEMPLE_TOP) / TEMPLE_BIN).astype(np.int64)
        widest = np.full(n, np.nan)
        np.fmax.at(widest, bins, rho[here])
        limit = np.full(n, np.inf)
        outline = widest[0] if np.isfinite(widest[0]) else 1.0
        stepped = False
        for i in range(n):
            grown = outline if stepped else outline + TEMPLE_FLARE * TEMPLE_BIN
            if np.isfinite(widest[i]) and widest[i] > grown + TEMPLE_STEP:
                stepped = True       # a step out: below it the outline grows no more
                grown = outline
            if stepped:
                limit[i] = grown
            outline = min(max(widest[i], 1.0), grown) if np.isfinite(widest[i]) else grown
        beyond = np.zeros((h, w), bool)
        beyond[here] = rho[here] > limit[bins]
        steps |= beyond
    return steps


def _fine_detail(crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 [size[1], size[0]]: the energy of crop's [H, W, 3] finest detail (luminance less
    its 1-px Gaussian blur, squared) averaged over each pixel of a copy of the given size."""
    import cv2

    lum = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    high = lum - cv2.GaussianBlur(lum, (0, 0), 1.0)
    return cv2.resize(high * high, size, interpolation=cv2.INTER_AREA)


def _blurred_steps_beside_temples(crop: np.ndarray, fg: np.ndarray, geo: _FaceGeometry,
                                  photo: np.ndarray) -> np.ndarray:
    """bool [h, w]: the pieces of the cut fg [h, w] (at GrabCut's scale; crop [H, W, 3] at
    full resolution) that step out beside the temples (_temple_steps), out of focus next to
    the hair and of colours the hair barely explains better than the background around them
    (TEMPLE_SMOOTH, TEMPLE_COLOUR); only where photo [h, w] (bool) shows the photo."""
    import cv2

    steps = _temple_steps(fg, geo) & photo
    if not steps.any():
        return steps
    h, w = fg.shape
    detail = _fine_detail(crop, (w, h))
    small = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
    n = LOCAL_LEVELS
    q = small.astype(np.int32) * n // 256
    index = (q[..., 0] * n + q[..., 1]) * n + q[..., 2]
    # the hair: the cut on the skull prior, less the face and the forehead
    skull = np.zeros((h, w), np.uint8)
    _fill(skull, _skull(geo), 1)
    face = np.zeros((h, w), np.uint8)
    _fill(face, _hull(geo.pts), 1)
    _fill(face, geo.ellipse(geo.at(geo.brow, 0.12, 0.0), 0.16, 0.3), 1)
    hair = (fg > 0) & (skull > 0) & (face == 0) & photo
    if hair.sum() < 20:
        return np.zeros((h, w), bool)
    p_hair = _colour_histogram(index[hair])
    floor = 0.02 / n ** 3
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    across = (xx - geo.crown[0]) * geo.side[0] + (yy - geo.crown[1]) * geo.side[1]
    around = max(2, int(round(0.3 * geo.face_w)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * around + 1, 2 * around + 1))
    out = np.zeros((h, w), bool)
    count, labels = cv2.connectedComponents(steps.astype(np.uint8), connectivity=8)
    for k in range(1, count):
        piece = labels == k
        ref = hair & (np.sign(across) == np.sign(float(across[piece].mean())))
        background = (cv2.dilate(piece.astype(np.uint8), disc) > 0) & (fg == 0)
        if ref.sum() < 20 or background.sum() < 20:
            continue
        sharp = float(np.quantile(detail[ref], 0.75))
        ratio = (np.log(p_hair + floor)
                 - np.log(_colour_histogram(index[background]) + floor)).ravel()
        if (float(detail[piece].mean()) < TEMPLE_SMOOTH * sharp
                and float(ratio[index[piece]].mean()) < TEMPLE_COLOUR):
            out |= piece
    return out


def _background_by_local_colour(rgb: np.ndarray, fg: np.ndarray, candidates: np.ndarray,
                                head_ref: np.ndarray, geo: _FaceGeometry,
                                threshold) -> np.ndarray:
    """bool [h, w]: the candidates [h, w] (pixels of the cut fg [h, w]) whose colour the
    background just around them explains better than the head's colours head_ref [h, w] do.

    GrabCut's colour models are global: a window pane beside an ear takes the colour of a
    white collar or of grey hair elsewhere in the picture and is kept. Here each sector
    around the face gets its own models: the head's colours are those of head_ref in that
    sector (pooled half and half with all of head_ref's, so hair hanging beside the face
    finds the hair of the crown), the background's those of the uncut pixels within 0.3 jaw
    widths of the cut in that sector. A colour that neither side shows is left to GrabCut
    (the log ratio is near 0). threshold: float [h, w], the log ratio under which a pixel
    is background (LOCAL_LOG_RATIO, LOCAL_RISE, ATYPICAL)."""
    import cv2

    h, w = fg.shape
    n = LOCAL_LEVELS
    q = rgb.astype(np.int32) * n // 256
    index = (q[..., 0] * n + q[..., 1]) * n + q[..., 2]
    reach = max(3.0, 0.3 * geo.face_w)
    d_out = cv2.distanceTransform((fg == 0).astype(np.uint8), cv2.DIST_L2, 3)
    bg_ref = (fg == 0) & (d_out <= reach)
    if head_ref.sum() < 20:
        return np.zeros((h, w), bool)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    theta = np.arctan2(yy - geo.centre[1], xx - geo.centre[0])
    sector = np.floor((theta + np.pi) / (2 * np.pi) * LOCAL_SECTORS).astype(int) % LOCAL_SECTORS
    whole_head = _colour_histogram(index[head_ref])
    log_ratio = np.zeros((h, w), np.float32)
    log_head = np.zeros((h, w), np.float32)
    floor = 0.02 / n ** 3     # a colour never seen has a small chance on either side
    typical = float(np.median(np.log(whole_head.ravel()[index[head_ref]] + floor)))
    for k in range(LOCAL_SECTORS):
        near = np.isin(sector, [(k - 1) % LOCAL_SECTORS, k, (k + 1) % LOCAL_SECTORS])
        bg_k, head_k = bg_ref & near, head_ref & near
        here = candidates & (sector == k)
        if bg_k.sum() < 20 or not here.any():
            continue
        p_head = 0.5 * whole_head + (0.5 * _colour_histogram(index[head_k]) if head_k.sum() >= 20
                                     else 0.5 * whole_head)
        p_bg = _colour_histogram(index[bg_k])
        ratio = np.log(p_head + floor) - np.log(p_bg + floor)
        log_ratio[here] = ratio.ravel()[index[here]]
        log_head[here] = np.log(p_head + floor).ravel()[index[here]] - typical
    weight = candidates.astype(np.float32)
    sigma = max(1.0, LOCAL_SIGMA * geo.face_w)
    norm = np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-6)
    mean = cv2.GaussianBlur(log_ratio * weight, (0, 0), sigma) / norm
    atypical = cv2.GaussianBlur(log_head * weight, (0, 0), sigma) / norm
    return candidates & ((mean < threshold) | ((atypical < -ATYPICAL) & (mean < 0)))


def _clean(fg: np.ndarray, core: np.ndarray, face_w: float) -> np.ndarray:
    """Keep the blobs touching the face core and fill their holes (eyes, glasses, teeth
    can look like background to the colour model)."""
    import cv2

    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # blobs hanging on the head by a neck (a flag's star on a cap's rim) come off: keep what
    # a wider opening still joins to the face, and back out to the cut's own edge within
    # the opening's reach (hair's outline and wisps up to that width stay)
    side = max(3, int(round(NECK_WIDTH * face_w)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    wide = cv2.morphologyEx(fg, cv2.MORPH_OPEN, disc)
    n, labels = cv2.connectedComponents(wide, connectivity=8)
    keep = np.unique(labels[core & (wide > 0)])
    joined = np.isin(labels, keep[keep > 0]).astype(np.uint8) | core.astype(np.uint8)
    back = max(1, int(round(NECK_REACH * side)))
    fg &= cv2.dilate(joined, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                       (2 * back + 1, 2 * back + 1)))
    n, labels = cv2.connectedComponents(fg, connectivity=8)
    keep = np.unique(labels[core & (fg > 0)])
    fg = np.isin(labels, keep[keep > 0]).astype(np.uint8) | core.astype(np.uint8)
    # fill holes: background is what the border can reach
    padded = np.pad(fg, 1)
    cv2.floodFill(padded, np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8),
                  (0, 0), 2)
    return ((padded != 2)[1:-1, 1:-1]).astype(np.uint8)


#: Pieces joined to the head by a neck narrower than this (in jaw widths) come off.
NECK_WIDTH = 0.17
NECK_REACH = 0.3


def _joined_to(mask: np.ndarray, core: np.ndarray) -> np.ndarray:
    """float32 [h, w]: 1 on the pieces of the bool mask [h, w] that touch core [h, w], else 0
    (a slice of the typical head in the padding above a short-haired head, cut off from it
    by the photo's background, is no head)."""
    import cv2

    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[core & mask])
    return np.isin(labels, keep[keep > 0]).astype(np.float32)


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                  subsample: int = 1) -> np.ndarray:
    """Colour-guided filter (He, Sun & Tang 2010/2013): src float32 [h, w] smoothed so that its
    edges follow the edges of guide float32 [h, w, 3] in [0, 1]. Per window, src is fitted as
    a linear function of the three guide channels (a 3x3 covariance solve per pixel).
    subsample > 1: the fast guided filter (He & Sun 2015): the linear coefficients are fitted
    on a copy `subsample` times smaller and applied to the full-resolution guide."""
    import cv2

    h, w = src.shape
    g, p, r = guide, src, radius
    if subsample > 1:
        size = (max(4, round(w / subsample)), max(4, round(h / subsample)))
        g = cv2.resize(guide, size, interpolation=cv2.INTER_AREA)
        p = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
        r = max(1, round(radius / subsample))
    gh, gw = p.shape
    mean_i = np.stack([_box(g[..., c], r) for c in range(3)], -1)                  # [h, w, 3]
    mean_p = _box(p, r)
    cov_ip = np.stack([_box(g[..., c] * p, r) for c in range(3)], -1) - mean_i * mean_p[..., None]
    var = np.empty((gh, gw, 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            v = _box(g[..., i] * g[..., j], r) - mean_i[..., i] * mean_i[..., j]
            var[..., i, j] = var[..., j, i] = v
    var += eps * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(var, cov_ip[..., None])[..., 0]                            # [h, w, 3]
    b = mean_p - (a * mean_i).sum(-1)
    mean_a = np.stack([_box(a[..., c], r) for c in range(3)], -1)
    mean_b = _box(b, r)
    if subsample > 1:
        mean_a = cv2.resize(mean_a, (w, h), interpolation=cv2.INTER_LINEAR)
        mean_b = cv2.resize(mean_b, (w, h), interpolation=cv2.INTER_LINEAR)
    return (mean_a * guide).sum(-1) + mean_b


#: The refined matte goes from 0 to 1 over about this many pixels (anti-aliasing, not a haze).
EDGE_WIDTH_PX = 1.5


def _refine(crop: np.ndarray, fg: np.ndarray, face_w: float) -> np.ndarray:
    """Snap the (upscaled, blocky) GrabCut cut to the picture's edges at full resolution with
    a colour-guided filter, then turn it into a thin monotone ramp -> float32 [h, w] in [0, 1]."""
    import cv2

    guide = crop.astype(np.float32) / 255.0
    radius = max(2, int(round(face_w / 30)))
    # fit the filter's coefficients at about GrabCut's resolution: fast, and as sharp, since
    # the coefficients are applied to the full-resolution colours
    subsample = max(1, int(max(fg.shape) // (2 * GRABCUT_SIDE)))
    snapped = guided_filter(guide, fg, radius, 2e-3, subsample)
    # a light blur removes single-pixel noise of the filter; the 0.5 level is the edge
    snapped = cv2.GaussianBlur(snapped, (0, 0), max(0.6, face_w / 300))
    inside = (snapped >= 0.5).astype(np.uint8)
    return _ramp(inside, snapped)


def _ramp(inside: np.ndarray, level: np.ndarray) -> np.ndarray:
    """A monotone ramp across the boundary of the binary mask `inside` [h, w]: signed distance
    to the boundary, refined to sub-pixel with the smooth `level` field (0.5 at the edge)."""
    import cv2

    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    signed = np.where(inside > 0, d_in - 0.5, 0.5 - d_out)
    # sub-pixel: near the boundary, how far `level` is past 0.5, in pixels (its slope ~ 1/px
    # or less; clipped so it can only nudge, never reorder, the distance)
    nudge = np.clip((level - 0.5) * 2.0, -0.5, 0.5)
    signed = signed + np.where(np.abs(signed) <= 1.0, nudge, 0.0)
    return np.clip(0.5 + signed / EDGE_WIDTH_PX, 0.0, 1.0).astype(np.float32)


def _below_chin_keep(geo: _FaceGeometry, origin: tuple[int, int], shape) -> np.ndarray:
    """float32 [h, w]: 0 below the jaw line (extended sideways from the jaw's corners), 1 above,
    anti-aliased; the line sits a little below the landmarks so the chin is never clipped."""
    import cv2

    h, w = shape
    jaw = geo.pts[JAW][3:14] - np.asarray(origin, np.float32)
    drop = geo.up * (-0.03 * geo.face_h)
    line = jaw + drop
    far = 4.0 * (h + w)
    outward = geo.side if float(np.dot(line[0] - line[-1], geo.side)) > 0 else -geo.side
    left = line[0] + outward * far + geo.up * (-0.05 * geo.face_h)
    right = line[-1] - outward * far + geo.up * (-0.05 * geo.face_h)
    below = -geo.up * far
    poly = np.concatenate([[left + below, left], line, [right, right + below]])
    cut = np.zeros((h, w), np.uint8)
    cv2.fillPoly(cut, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA,
                 shift=4)
    return 1.0 - cut.astype(np.float32) / 255.0


def _normalized_blur(rgb: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Weighted Gaussian average of rgb float32 [h, w, 3] with weight [h, w]: each pixel gets
    the colour of the weighted pixels around it (normalized convolution)."""
    import cv2

    num = cv2.GaussianBlur(rgb * weight[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-6)


def _decontaminate(crop: np.ndarray, alpha: np.ndarray, face_w: float):
    """Remove the old background from the edge: (colours uint8 [h, w, 3], alpha float32).

    For pixels within a few pixels of the edge, the observed colour I is modelled as
    (1 - beta) F + beta B, F = local foreground colour (extrapolated from well inside),
    B = local background colour (extrapolated from well outside); beta is I's projection on
    the segment F -> B. The colour becomes F's estimate (I - beta B) / (1 - beta) (just F when
    beta is large); alpha is left as it is. Colours under alpha 0 are the extrapolated F, so
    resampling or thresholding the matte shows no background colour.
    """
    import cv2

    img = crop.astype(np.float32)
    inside = (alpha >= 0.5).astype(np.uint8)
    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    band = max(3.0, face_w / 60)
    deep_fg = (d_in > band).astype(np.float32)
    deep_bg = ((d_out > band) & (alpha <= 0)).astype(np.float32)
    fg_col = _normalized_blur(img, deep_fg, max(2.0, band))
    if deep_bg.sum() > 0:
        bg_col = _normalized_blur(img, deep_bg, max(4.0, 3 * band))
    else:
        bg_col = fg_col
    near = (d_in <= band) & (alpha > 0)
    diff = bg_col - fg_col
    norm2 = (diff * diff).sum(-1)
    beta = ((img - fg_col) * diff).sum(-1) / np.maximum(norm2, 1.0)
    # a contrast under ~12 levels says nothing about which side a pixel is on
    beta = np.where(near & (norm2 > 144.0), np.clip(beta, 0.0, 1.0), 0.0)
    solved = (img - beta[..., None] * bg_col) / np.maximum(1.0 - beta[..., None], 1e-3)
    weight = np.clip(1.0 - beta, 0.0, 1.0)[..., None] ** 2   # trust the solve when beta is small
    colour = np.where(near[..., None], weight * solved + (1 - weight) * fg_col, img)
    colour = np.where((alpha <= 0)[..., None], fg_col, colour)
    # alpha stays the monotone ramp: lowering it by beta would follow a single-colour
    # background model into gaps and slivers where the real background has two colours
    return np.clip(colour + 0.5, 0, 255).astype(np.uint8), alpha


#: `--crop bust` of a drawn head: the picture's bust cut also fills a band this many
#: brow-to-chin distances above the jaw's landmarks (3-13), so no slit opens between the
#: style's chin cut (its jaw ink, which may sit above the landmarks) and the bust below.
BUST_JOIN = 0.15


def cut_out_drawn_head(rgb: np.ndarray, points: np.ndarray, matte: np.ndarray,
                       crop: str = "head", picture: np.ndarray | None = None) -> Cutout:
    """The cut-out of a picture whose style drew the head itself (style.StyleResult.matte):
    the style's matte is the head (docs/matting.md, "The style's own head"), no GrabCut.

    rgb uint8 [H, W, 3] (the styled face); points float [68, 2]; matte [H, W]: float in
    [0, 1] or uint8 (255 = head), anti-aliased, cut below the chin by the style, its
    silhouette's ink included. crop "bust": the picture's own bust cut (cut_out_head) below
    the jaw joined to the drawn head above it. picture: as for cut_out_head: beyond the
    photo's frame the head runs on only within a typical head where the photo lies below.
    The edge takes the colours of the solid head next to it (the style's colours are the
    head's own; its soft region borders would leave a pixel of the backdrop's tone under a
    partial alpha). Returns a Cutout (uint8 rgb and alpha [H, W])."""
    rgb, pts = _check(rgb, points, crop)
    m = np.asarray(matte)
    if m.shape != rgb.shape[:2]:
        raise UsageError(f"the style's matte is {list(m.shape)}, the image {list(rgb.shape[:2])}")
    alpha = m.astype(np.float32) / (255.0 if m.dtype == np.uint8 else 1.0)
    alpha = np.clip(np.nan_to_num(alpha, nan=0.0), 0.0, 1.0)
    H, W = alpha.shape
    geo = _FaceGeometry(pts)
    if crop == "bust":
        body = cut_out_head(rgb, pts, "bust", picture=picture).alpha.astype(np.float32) / 255.0
        band = np.concatenate([geo.pts[JAW][3:14] + geo.up * (BUST_JOIN * geo.face_h),
                               geo.pts[JAW][13:2:-1] - geo.up * (0.03 * geo.face_h)])
        join = np.zeros((H, W), np.float32)
        _fill(join, band, 1)
        alpha = np.maximum(alpha, body * np.maximum(1.0 - _below_chin_keep(geo, (0, 0), (H, W)),
                                                    join))
    if picture is not None:
        pic = np.clip(np.nan_to_num(np.asarray(picture, np.float32), nan=0.0), 0.0, 1.0)
        if pic.shape != (H, W):
            raise UsageError(f"the picture mask is {pic.shape}, the image {(H, W)}")
        if pic.min() < 1.0:
            beyond = _typical_head(geo, (0, 0), (H, W)) * _photo_below(geo, pic)
            alpha *= np.maximum(pic, beyond)
    out_alpha = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Cutout(_solid_colours(rgb, out_alpha), out_alpha)


def _solid_colours(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """rgb uint8 [H, W, 3] with every pixel under a partial or zero alpha (uint8 [H, W])
    given the colour of the solid pixels next to it (normalized convolution, 1 px, then
    4 px further out): an edge shows the head's own colours, and resampling the matte
    brings up no other."""
    img = rgb.astype(np.float32)
    solid = (alpha >= 250).astype(np.float32)
    if not solid.any():
        return rgb
    import cv2

    near_w = cv2.GaussianBlur(solid, (0, 0), 1.0)
    far_w = cv2.GaussianBlur(solid, (0, 0), 4.0)
    near = _normalized_blur(img, solid, 1.0)
    far = _normalized_blur(img, solid, 4.0)
    colour = np.where((near_w > 0.02)[..., None], near,
                      np.where((far_w > 0.02)[..., None], far, img))
    colour = np.where((solid > 0)[..., None], img, colour)
    return np.clip(colour + 0.5, 0, 255).astype(np.uint8)
