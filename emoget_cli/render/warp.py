"""Foldover-free face warping: a piecewise-affine mesh (docs/animation.md#piecewise-affine),
smoothed (docs/expressions.md).

The mesh: the 68 iBUG landmarks, optional extra control points, forehead points extrapolated
from the brows (they follow the brows half-way), a ring of zero-motion points around the face,
and zero-motion points along the image border. It is triangulated ONCE, on the source points
(Delaunay), and every frame reuses those triangles, so a frame is valid exactly when no
destination triangle flips or collapses. `limit_mesh` shrinks displacements until that holds
(triangles with a fixed anchor keep a larger share of their area, so skin is not squashed
against the still background); `FaceWarper.limit_motion` does it once for a whole animation,
with the same factor in every frame, so limited points do not stop with a jerk.

Rendering is a backward warp: the destination triangles that move are rasterised into a
triangle-id image, each pixel gets its triangle's affine (destination → source), the resulting
displacement is low-pass filtered for face animation (SMOOTH_SIGMA_IOD: the face bends smoothly
instead of kinking along triangle edges; the filtered map is checked to stay fold-free in the
tests) and the source is sampled bilinearly (cv2.remap, or torch grid_sample on any device). Pixels outside the moving
triangles are copied from the source unchanged, so the background and border stay bit-identical.

Shapes: points float32 [N, 2] (x, y) pixels; images uint8 [H, W, 3] RGB, alpha uint8 [H, W].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.choices import WARP_BACKENDS as BACKENDS
from ..core.errors import UsageError
from ..core.ibug68 import inter_ocular_distance

N_LANDMARKS = 68
BROW_POINTS = (17, 19, 21, 22, 24, 26)
#: Share of the brow displacement the forehead points follow (skin above the brow moves less).
FOREHEAD_FOLLOW = 0.5
#: A destination triangle must keep at least this share of its source area (and its orientation).
MIN_AREA_RATIO = 0.03
#: ... and a triangle with a fixed anchor (zero-motion ring, image border) this share.
ANCHORED_MIN_AREA_RATIO = 0.3
#: Face animation low-pass filters the piecewise-affine displacement with a Gaussian of this
#: many inter-ocular distances, so the face bends smoothly instead of kinking at triangle edges.
SMOOTH_SIGMA_IOD = 0.03


# ----------------------------------------------------------------------------------------------
# Geometry helpers


def signed_areas(triangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Twice the signed area of each triangle: triangles int [M, 3], points [N, 2] -> [M]."""
    p = np.asarray(points, dtype=np.float64)
    a, b, c = p[triangles[:, 0]], p[triangles[:, 1]], p[triangles[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def area_ratios(triangles: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Signed destination area / source area per triangle ([M]); < 0 means folded over."""
    a_src = signed_areas(triangles, src)
    return signed_areas(triangles, dst) / np.where(np.abs(a_src) < 1e-12, 1e-12, a_src)


def min_area_ratio(triangles: np.ndarray, src: np.ndarray, dst: np.ndarray) -> float:
    """The smallest signed area ratio over all triangles (1.0 = identity, <= 0 = foldover)."""
    return float(area_ratios(triangles, src, dst).min())


def check_foldover(triangles: np.ndarray, points: np.ndarray) -> bool:
    """True when some triangle of a positively oriented mesh is flipped or degenerate.

    `triangles` must be oriented so that their source areas are positive (as
    `FaceWarper.triangles` are); `points` [N, 2] is a destination mesh.
    """
    return bool((signed_areas(triangles, points) <= 0).any())


def limit_mesh(triangles: np.ndarray, src: np.ndarray, dst: np.ndarray, *,
               min_ratio: "float | np.ndarray" = MIN_AREA_RATIO, max_iter: int = 60,
               bisect_steps: int = 16) -> np.ndarray:
    """Scale displacements down, per point, until every triangle keeps its orientation.

    src, dst: [N, 2]; triangles oriented positively on `src`; min_ratio: one value or one per
    triangle ([M]). Returns dst' [N, 2] with area(dst') >= min_ratio * area(src) for every
    triangle. Only the vertices of offending
    triangles are shrunk, so a fold in one region does not damp the rest of the face. Their
    common factor is the largest that fixes those triangles (bisection), so a motion pushing
    past the limit stops at it and stays continuous over the frames of an animation (a fixed
    shrink step would make the limited points jump back and forth). The identity (scale 0)
    is always valid, which bounds the loop.
    """
    src = np.asarray(src, dtype=np.float64)
    disp = np.asarray(dst, dtype=np.float64) - src
    scale = np.ones(len(src))
    # a hair above the bound, so the float32 result still meets it after rounding
    need_all = (1.0 + 1e-3) * np.broadcast_to(min_ratio, (len(triangles),)) * signed_areas(triangles, src)
    for it in range(max_iter + 1):
        out = src + scale[:, None] * disp
        bad = signed_areas(triangles, out) < need_all
        if not bad.any():
            return out.astype(np.float32)
        idx = np.unique(triangles[bad])
        if it >= max_iter - 1:  # last resort: freeze the offending vertices entirely
            scale[idx] = 0.0
            continue
        tris, need = triangles[bad], need_all[bad]
        lo, hi = 0.0, 1.0
        for _ in range(bisect_steps):
            mid = 0.5 * (lo + hi)
            trial = scale.copy()
            trial[idx] *= mid
            if (signed_areas(tris, src + trial[:, None] * disp) >= need).all():
                lo = mid
            else:
                hi = mid
        scale[idx] *= lo
    return src.astype(np.float32)  # pragma: no cover - unreachable: scale 0 is the identity


def _face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre, unit 'up' vector (chin → nose bridge) and inter-ocular distance of a face."""
    up = points[27] - points[8]
    up = up / max(float(np.linalg.norm(up)), 1e-6)
    iod = inter_ocular_distance(points)
    return points.mean(0), up, max(iod, 1.0)


def forehead_points(points: np.ndarray) -> np.ndarray:
    """Points above the brows [6, 2]: brow + 0.6·IOD along the face's up direction."""
    _, up, iod = _face_frame(points)
    return (points[list(BROW_POINTS)] + 0.6 * iod * up).astype(np.float32)


def _ring_points(points: np.ndarray, n: int, scale: float) -> np.ndarray:
    """n points on an ellipse (principal axes of `points`) enclosing all of `points` by `scale`."""
    centre = points.mean(0)
    cov = np.cov((points - centre).T) + np.eye(2) * 1e-6
    evals, evecs = np.linalg.eigh(cov)
    radii = np.sqrt(evals)
    local = (points - centre) @ evecs / radii
    m_max = float(np.sqrt((local ** 2).sum(1)).max())
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    circle = np.stack([np.cos(t), np.sin(t)], 1) * radii * m_max * scale
    return (centre + circle @ evecs.T).astype(np.float32)


def _border_points(width: int, height: int, per_side: int = 4) -> np.ndarray:
    """Corners and evenly spaced points on the image border, at pixel centres [K, 2]."""
    xs = np.linspace(0, width - 1, per_side + 1)
    ys = np.linspace(0, height - 1, per_side + 1)
    pts = [(x, 0) for x in xs] + [(x, height - 1) for x in xs]
    pts += [(0, y) for y in ys[1:-1]] + [(width - 1, y) for y in ys[1:-1]]
    return np.asarray(pts, dtype=np.float32)


def _separate_inner_lips(points: np.ndarray, gap: float = 1.0) -> np.ndarray:
    """Make the closed inner lips (61-63 vs 67-65) at least `gap` px apart in the mesh.

    Detectors often put upper and lower inner lip on the same pixel (or crossed); then the
    Delaunay mesh could not open the mouth without flipping a triangle. A sub-pixel nudge of
    the control points is invisible in the warp.
    """
    pts = points.copy()
    _, up, _ = _face_frame(points)
    for top, bottom in ((61, 67), (62, 66), (63, 65)):
        sep = float(np.dot(pts[top] - pts[bottom], up))  # > 0 when the upper lip is above
        if sep < gap:
            shift = (gap - sep) / 2.0
            pts[top] = pts[top] + shift * up
            pts[bottom] = pts[bottom] - shift * up
    return pts


def _validate_points(points: np.ndarray, name: str, n: int | None = N_LANDMARKS) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != 2 or (n is not None and arr.shape[0] != n):
        want = f"[{n}, 2]" if n is not None else "[K, 2]"
        raise UsageError(f"{name} must be an array of shape {want}, got {list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name} contains NaN or infinity")
    return arr


def _validate_image(rgb: np.ndarray) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise UsageError(f"expected a uint8 RGB image [H, W, 3], got {arr.dtype} {list(arr.shape)}")
    if min(arr.shape[:2]) < 8:
        raise UsageError(f"image is too small to warp ({arr.shape[1]}x{arr.shape[0]})")
    return np.ascontiguousarray(arr)


# ----------------------------------------------------------------------------------------------
# The mesh


@dataclass(frozen=True)
class Mesh:
    """Control points of a face mesh.

    src: [N, 2] source positions; triangles: int32 [M, 3], positively oriented on `src`;
    n_landmarks (68) + n_extra user control points come first, then the forehead points
    (moving), then the fixed anchors (ring and border).
    """

    src: np.ndarray
    triangles: np.ndarray
    n_extra: int
    n_forehead: int

    @property
    def n_moving(self) -> int:
        return N_LANDMARKS + self.n_extra + self.n_forehead


def build_mesh(points: np.ndarray, image_size: tuple[int, int],
               extra: np.ndarray | None = None, *, auto_anchors: bool = True) -> Mesh:
    """Triangulate landmarks (+ extra), forehead, zero-motion ring and border: image_size (W, H).

    auto_anchors=False leaves out the forehead points and the zero-motion ring, for callers whose
    extra control points already define the motion around the face (e.g. a style's grid).
    """
    from scipy.spatial import Delaunay

    width, height = image_size
    pts = _separate_inner_lips(np.asarray(points, dtype=np.float32))
    extra = np.zeros((0, 2), np.float32) if extra is None else np.asarray(extra, np.float32)
    forehead = forehead_points(pts) if auto_anchors else np.zeros((0, 2), np.float32)
    moving = np.concatenate([pts, extra, forehead])
    _, _, iod = _face_frame(pts)
    ring = (np.concatenate([_ring_points(moving, 20, 1.12), _ring_points(moving, 28, 1.45)])
            if auto_anchors else np.zeros((0, 2), np.float32))
    border = _border_points(width, height)
    lo, hi = np.array([1.0, 1.0]), np.array([width - 2.0, height - 2.0])
    # keep anchors that are inside the image and not crowding another point (slivers)
    anchors = [border]
    min_gap = max(2.0, 0.12 * iod)
    for p in ring:
        if np.any(p < lo) or np.any(p > hi):
            continue
        taken = np.concatenate([moving] + anchors)
        if np.min(np.linalg.norm(taken - p, axis=1)) >= min_gap:
            anchors.append(p[None])
    src = np.concatenate([moving] + anchors).astype(np.float32)
    try:
        tri = Delaunay(src.astype(np.float64)).simplices.astype(np.int32)
    except Exception as exc:  # scipy's QhullError: degenerate (e.g. collinear) landmarks
        raise UsageError(f"cannot triangulate these landmarks ({type(exc).__name__})") from None
    area = signed_areas(tri, src)
    tri[area < 0] = tri[area < 0][:, [0, 2, 1]]
    tri = tri[np.abs(area) > 1e-6]
    return Mesh(src=src, triangles=np.ascontiguousarray(tri), n_extra=len(extra),
                n_forehead=len(forehead))


def mesh_destination(mesh: Mesh, src_points: np.ndarray, dst_points: np.ndarray,
                     extra_dst: np.ndarray | None = None, *,
                     min_ratio: float = MIN_AREA_RATIO) -> np.ndarray:
    """Destination positions of every mesh point [N, 2], foldover-free.

    Landmark displacements are dst - src (applied to the mesh's own source copy), forehead
    points follow the brow displacement by FOREHEAD_FOLLOW, anchors stay.
    """
    disp = np.zeros_like(mesh.src, dtype=np.float64)
    d_lm = np.asarray(dst_points, np.float64) - np.asarray(src_points, np.float64)
    disp[:N_LANDMARKS] = d_lm
    if mesh.n_extra:
        if extra_dst is not None:
            disp[N_LANDMARKS:N_LANDMARKS + mesh.n_extra] = (
                np.asarray(extra_dst, np.float64) - mesh.src[N_LANDMARKS:N_LANDMARKS + mesh.n_extra])
    start = N_LANDMARKS + mesh.n_extra
    if mesh.n_forehead:
        disp[start:start + mesh.n_forehead] = FOREHEAD_FOLLOW * d_lm[list(BROW_POINTS)]
    # Skin squeezed against a still anchor (a chin dropping towards the bottom edge of an
    # aligned face) must keep some height, or the neck and collar below collapse into a hard
    # seam along the image border.
    ratios = np.full(len(mesh.triangles), float(min_ratio))
    anchored = (mesh.triangles >= mesh.n_moving).any(axis=1)
    ratios[anchored] = max(float(min_ratio), ANCHORED_MIN_AREA_RATIO)
    return limit_mesh(mesh.triangles, mesh.src, mesh.src + disp, min_ratio=ratios)


def _backward_affines(triangles: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per-triangle affine [M, 2, 3] mapping destination pixels to source pixels."""
    d = np.asarray(dst, np.float64)[triangles]              # [M, 3, 2]
    s = np.asarray(src, np.float64)[triangles]              # [M, 3, 2]
    lhs = np.concatenate([d, np.ones(d.shape[:2] + (1,))], axis=2)  # [M, 3, 3]
    det = np.linalg.det(lhs)
    ok = np.abs(det) > 1e-9
    coef = np.zeros((len(triangles), 3, 2))
    coef[ok] = np.linalg.solve(lhs[ok], s[ok])
    # degenerate destination triangles cover no pixel; give them a pure translation anyway
    coef[~ok, 0, 0] = coef[~ok, 1, 1] = 1.0
    coef[~ok, 2] = (s[~ok] - d[~ok]).mean(1)
    return coef.transpose(0, 2, 1)                          # [M, 2, 3]


@dataclass
class BackwardMap:
    """Dense backward map over a box: map_x/map_y float32 [h, w] source coords for output pixels
    box = (x0, y0, x1, y1) (exclusive ends); None when nothing moves."""

    box: tuple[int, int, int, int] | None
    map_x: np.ndarray | None
    map_y: np.ndarray | None
    tri_id: np.ndarray | None


def backward_map(mesh: Mesh, dst_mesh: np.ndarray, image_size: tuple[int, int],
                 smooth: float = 0.0) -> BackwardMap:
    """Rasterise the moving destination triangles and evaluate their affines per pixel.

    smooth > 0: the piecewise-affine displacement is low-pass filtered (Gaussian, sigma =
    smooth × the inter-ocular distance) so straight lines no longer bend at triangle edges;
    pixels outside the moving triangles keep a zero displacement, so background and border
    stay exactly still.
    """
    import cv2

    width, height = image_size
    tris = mesh.triangles
    moved = np.abs(dst_mesh - mesh.src).max(1) > 1e-4                  # [N]
    active = np.nonzero(moved[tris].any(1))[0]
    if len(active) == 0:
        return BackwardMap(None, None, None, None)
    # the box covers moving triangles in the destination (where pixels change)
    corners = dst_mesh[tris[active]].reshape(-1, 2)
    x0, y0 = np.floor(corners.min(0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), width), min(int(y1), height)
    w, h = x1 - x0, y1 - y0
    tri_id = np.full((h, w), -1, np.int32)
    shift = 4
    fixed = np.round((dst_mesh[tris[active]] - [x0, y0]) * (1 << shift)).astype(np.int32)
    for k, poly in zip(active, fixed):
        cv2.fillConvexPoly(tri_id, poly, int(k), lineType=cv2.LINE_8, shift=shift)
    # The mesh's hull is the image rectangle with fixed corners, so the exact warp is the
    # identity on the border; rasterisation fuzz (half a pixel) must not leak onto it.
    if y0 == 0:
        tri_id[0] = -1
    if y1 == height:
        tri_id[-1] = -1
    if x0 == 0:
        tri_id[:, 0] = -1
    if x1 == width:
        tri_id[:, -1] = -1
    affines = _backward_affines(tris, mesh.src, dst_mesh).astype(np.float32)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    inside = tri_id >= 0
    a = affines[tri_id[inside]]                                        # [P, 2, 3]
    px, py = xs[inside], ys[inside]
    map_x, map_y = xs.copy(), ys.copy()
    map_x[inside] = a[:, 0, 0] * px + a[:, 0, 1] * py + a[:, 0, 2]
    map_y[inside] = a[:, 1, 0] * px + a[:, 1, 1] * py + a[:, 1, 2]
    if smooth > 0:
        _, _, iod = _face_frame(mesh.src[:N_LANDMARKS])
        sigma = float(smooth) * iod
        keep = inside.astype(np.float32)
        for m, grid in ((map_x, xs), (map_y, ys)):
            disp = cv2.GaussianBlur(m - grid, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
            m[...] = grid + disp * keep
    return BackwardMap((x0, y0, x1, y1), map_x, map_y, tri_id)


def _remap_opencv(image: np.ndarray, bmap: BackwardMap) -> np.ndarray:
    import cv2

    out = image.copy()
    if bmap.box is None:
        return out
    x0, y0, x1, y1 = bmap.box
    out[y0:y1, x0:x1] = cv2.remap(image, bmap.map_x, bmap.map_y, interpolation=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE).reshape(out[y0:y1, x0:x1].shape)
    return out


def _remap_torch(image: np.ndarray, bmap: BackwardMap, device) -> np.ndarray:
    """Same backward map, sampled with torch grid_sample (align_corners=True) on `device`."""
    import torch
    import torch.nn.functional as F

    out = image.copy()
    if bmap.box is None:
        return out
    x0, y0, x1, y1 = bmap.box
    height, width = image.shape[:2]
    img = torch.from_numpy(image).to(device)
    chans = img.reshape(height, width, -1).permute(2, 0, 1)[None].float()   # [1, C, H, W]
    mx = torch.from_numpy(bmap.map_x).to(device)
    my = torch.from_numpy(bmap.map_y).to(device)
    grid = torch.stack([mx / (width - 1) * 2 - 1, my / (height - 1) * 2 - 1], -1)[None]
    sampled = F.grid_sample(chans, grid, mode="bilinear", padding_mode="border", align_corners=True)
    patch = sampled[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
    out[y0:y1, x0:x1] = patch.reshape(out[y0:y1, x0:x1].shape)
    return out


# ----------------------------------------------------------------------------------------------
# Public API


@dataclass
class WarpFrame:
    """One rendered frame: rgb uint8 [H, W, 3], alpha uint8 [H, W] or None, mesh [N, 2]."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    mesh: np.ndarray


class FaceWarper:
    """Warps one source face to many landmark configurations, reusing one triangulation.

    rgb: uint8 [H, W, 3]; src_points: [68, 2]; extra_src: optional [K, 2] control points;
    alpha: optional uint8 [H, W] warped along with the image; smooth: Gaussian low-pass of the
    displacement in inter-ocular distances (default SMOOTH_SIGMA_IOD with the automatic anchors,
    0 = exact piecewise-affine); backend "opencv" (CPU) or
    "torch" (grid_sample on `device`, e.g. "cuda"); fill: synthesise mouth interior / eyelids
    (render.fill) where the warp opens the mouth or closes an eye; auto_anchors: add forehead
    points and the zero-motion ring around the face (default: only when no extra_src is given,
    since extra control points define the motion around the face themselves).
    """

    def __init__(self, rgb: np.ndarray, src_points: np.ndarray, *, backend: str = "opencv",
                 device: str = "cpu", extra_src: np.ndarray | None = None,
                 alpha: np.ndarray | None = None, fill: bool = True,
                 min_ratio: float = MIN_AREA_RATIO, auto_anchors: bool | None = None,
                 smooth: float | None = None):
        if backend not in BACKENDS:
            raise UsageError(f"unknown warp backend {backend!r} (choose from {', '.join(BACKENDS)})")
        self.image = _validate_image(rgb)
        self.src_points = _validate_points(src_points, "source landmarks")
        extra = None if extra_src is None else _validate_points(extra_src, "extra_src", None)
        if alpha is not None:
            alpha = np.ascontiguousarray(np.asarray(alpha, dtype=np.uint8))
            if alpha.shape != self.image.shape[:2]:
                raise UsageError(f"alpha must be [H, W] = {list(self.image.shape[:2])}, "
                                 f"got {list(alpha.shape)}")
        self.alpha = alpha
        self.size = (self.image.shape[1], self.image.shape[0])
        if auto_anchors is None:
            auto_anchors = extra is None or len(extra) == 0
        self.mesh = build_mesh(self.src_points, self.size, extra, auto_anchors=auto_anchors)
        # smooth deformation for face animation; a caller's own control grid stays exact
        self.smooth = (SMOOTH_SIGMA_IOD if auto_anchors else 0.0) if smooth is None else float(smooth)
        self.backend = backend
        self.fill = fill
        self.min_ratio = min_ratio
        self._device = None
        if backend == "torch":
            from ..core.device import resolve_device

            self._device = resolve_device(device)

    @property
    def triangles(self) -> np.ndarray:
        """int32 [M, 3], positively oriented on `self.mesh.src`."""
        return self.mesh.triangles

    def mesh_points(self, dst_points: np.ndarray, extra_dst: np.ndarray | None = None) -> np.ndarray:
        """The foldover-free destination mesh [N, 2] for landmarks `dst_points` [68, 2]."""
        dst = _validate_points(dst_points, "destination landmarks")
        if extra_dst is not None:
            extra_dst = _validate_points(extra_dst, "extra_dst", self.mesh.n_extra)
        return mesh_destination(self.mesh, self.src_points, dst, extra_dst, min_ratio=self.min_ratio)

    def limit_motion(self, motion: np.ndarray) -> np.ndarray:
        """A landmark motion [T, 68, 2] that every frame can follow without folding, scaled
        the same way in all frames.

        Limiting each frame on its own stops a point abruptly where its limit is reached (a
        visible jerk, e.g. a chin dropping towards the image border); instead each landmark's
        displacement is scaled, in every frame, by the smallest factor the limiter needed for
        it in any frame, so the motion keeps its timing and smoothness, only smaller there.
        """
        motion = np.asarray(motion, dtype=np.float64)
        disp = motion - self.src_points                                  # [T, 68, 2]
        factor = np.ones(N_LANDMARKS)
        for t, dst in enumerate(motion):
            got = self.mesh_points(dst)[:N_LANDMARKS] - self.mesh.src[:N_LANDMARKS]
            want = np.linalg.norm(disp[t], axis=1)
            moving = want > 1e-3
            factor[moving] = np.minimum(factor[moving],
                                        np.linalg.norm(got[moving], axis=1) / want[moving])
        return (self.src_points + factor[None, :, None] * disp).astype(np.float32)

    def _remap(self, image: np.ndarray, bmap: BackwardMap) -> np.ndarray:
        if self.backend == "torch":
            return _remap_torch(image, bmap, self._device)
        return _remap_opencv(image, bmap)

    def render_frame(self, dst_points: np.ndarray, extra_dst: np.ndarray | None = None) -> WarpFrame:
        """Warp to `dst_points` [68, 2]: rgb (+ alpha) and the mesh actually used."""
        dst_mesh = self.mesh_points(dst_points, extra_dst)
        bmap = backward_map(self.mesh, dst_mesh, self.size, self.smooth)
        rgb = self._remap(self.image, bmap)
        alpha = None if self.alpha is None else self._remap(self.alpha, bmap)
        if self.fill and bmap.box is not None:
            from .fill import fill_eyes, fill_mouth

            achieved = dst_mesh[:N_LANDMARKS]
            src_mesh = self.mesh.src[:N_LANDMARKS]
            rgb = fill_mouth(rgb, src_mesh, achieved)
            rgb = fill_eyes(rgb, src_mesh, achieved)
        return WarpFrame(rgb, alpha, dst_mesh)

    def render(self, dst_points: np.ndarray, extra_dst: np.ndarray | None = None) -> np.ndarray:
        """Warp to `dst_points` [68, 2] and return uint8 RGB [H, W, 3]."""
        return self.render_frame(dst_points, extra_dst).rgb


def warp_image(rgb: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray, *,
               extra_src: np.ndarray | None = None, extra_dst: np.ndarray | None = None,
               fill: bool = False, backend: str = "opencv", device: str = "cpu") -> np.ndarray:
    """Single-frame foldover-free piecewise-affine warp with a fixed border.

    rgb uint8 [H, W, 3]; src_points, dst_points [68, 2]; extra_src/extra_dst optional [K, 2]
    additional control points (extra_dst defaults to extra_src, i.e. pinned). fill=True paints
    mouth interior / eyelids where the mouth opens or an eye closes. With extra points the
    automatic forehead points and zero-motion ring are left out (the caller's points define the
    field; the image border stays fixed either way). Returns uint8 [H, W, 3].
    """
    warper = FaceWarper(rgb, src_points, backend=backend, device=device, extra_src=extra_src,
                        fill=fill)
    return warper.render(dst_points, extra_dst)
