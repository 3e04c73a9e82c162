"""Discriminator augmentation: ADA (the full "bgc" pipeline) and DiffAugment.

Both pipelines are differentiable with respect to the input image (and twice differentiable:
`conv2d`, `grid_sample` and the colour matrices have double backward), so the generator's gradient
and the R1 gradient -- taken w.r.t. the *un-augmented* reals, through the augmentation
(docs/stylegan2.md#training) -- pass through them. The same pipeline is applied to reals and
fakes before D.

ADA (Karras et al. 2020), "bgc" (docs/stylegan2.md#augmentation); each transform is drawn
independently per sample with probability p (the two arbitrary rotations with
p_rot = 1 - sqrt(1 - p), so that the chance of *some* rotation is p):

* geometric, in this order: x-flip; 90-degree rotation (k uniform in 0..3); integer translation
  (uniform, up to ±0.125 of the width/height, rounded to whole pixels); isotropic scale
  (lognormal, sigma 0.2*ln2); pre-rotation (uniform in ±pi); anisotropic scale (x by s, y by 1/s,
  lognormal sigma 0.2*ln2); post-rotation; fractional translation (normal, sigma 0.125 of the size).
  They are composed into one 3x3 matrix per sample and applied in ONE resampling pass.
* colour, in this order: brightness (normal, sigma 0.2, added); contrast (lognormal, sigma
  0.5*ln2, about mid-grey 0); luma flip (luma negated, chroma kept, with probability 1/2 when
  drawn); hue rotation (uniform in ±pi about the grey axis (1,1,1)/sqrt3); saturation
  (lognormal, sigma ln2, about the grey axis). They form one 4x4 matrix acting on (r, g, b, 1).

Anti-aliasing follows ADA's construction: the image (mirrored at its edges) is upsampled 2x with
a 12-tap orthogonal wavelet low-pass (the least-asymmetric Daubechies filter with 6 vanishing
moments, i.e. "sym6", computed here by spectral factorisation), the 2x-resolution output is
sampled from it with bilinear `grid_sample` (reflection padding) over a margin wide enough for the
next filter, and the same low-pass then decimates it back to the input size. Bilinear sampling at
2x is close to band-limited interpolation, and the final low-pass removes what down-scaling and
rotation would alias. Because the filter is orthogonal to its even shifts, up-then-down is exactly
the identity (to float rounding); the grid is also corrected for the filter's small delay so
rotations do not drift. Samples whose geometric matrix is exactly the identity skip the
resampling and stay bit-exact; p=0 returns the input itself. All separable filters run as
conv2d (channels-last on CPU, ~7x faster there).

The adaptive probability follows the sign-of-real-logits heuristic: r_t = E[sign(D(x_real))];
every `interval` D steps p <- clamp(p + sign(r_t - target) * n_seen / (ada_kimg * 1000), 0, 1).

DiffAugment (Zhao et al. 2020), policy "color,translation,cutout", always on: brightness
U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5); integer translation up to 1/8 of
the size with zero padding; one cutout square of half the size.

All randomness comes from the global torch RNG on the images' device, which the training loop
checkpoints, so augmented runs resume identically.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

LUMA_AXIS = (1.0 / math.sqrt(3.0),) * 3
GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
BGC = GEOMETRIC + COLOR

_DOWN_MARGIN = 5   # 2x samples needed beyond the output on each side by the 12-tap down filter


def _identity(n: int, size: int, device) -> torch.Tensor:
    return torch.eye(size, device=device).unsqueeze(0).repeat(n, 1, 1)


def _apply(mask: torch.Tensor, value: torch.Tensor, neutral: float) -> torch.Tensor:
    """Per-sample value where `mask`, else the neutral value."""
    return torch.where(mask, value, torch.full_like(value, neutral))


def _check_transforms(transforms: Sequence[str]) -> frozenset:
    unknown = sorted(set(transforms) - set(BGC))
    if unknown:
        raise ValueError(f"unknown ADA transform(s) {unknown}; choose from {BGC}")
    return frozenset(transforms)


class _Draw:
    """Per-sample Bernoulli masks; a transform that is not enabled is never drawn."""

    def __init__(self, n: int, p: float, enabled: frozenset, device):
        self.n, self.p, self.enabled, self.device = n, p, enabled, device

    def __call__(self, name: str, p: Optional[float] = None) -> torch.Tensor:
        prob = (self.p if p is None else p) if name in self.enabled else 0.0
        # always consume the same random numbers, so the stream does not depend on `enabled`
        return torch.rand(self.n, device=self.device) < prob


def _rotation(angle: torch.Tensor) -> torch.Tensor:
    """[N] angles -> [N, 3, 3] rotations (exactly the identity at angle 0)."""
    m = _identity(angle.shape[0], 3, angle.device)
    cos, sin = torch.cos(angle), torch.sin(angle)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
    return m


def _scaling(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _identity(sx.shape[0], 3, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _translation(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _identity(tx.shape[0], 3, tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _geometric_matrix(n: int, width: int, height: int, p: float, device,
                      transforms: Sequence[str] = GEOMETRIC) -> torch.Tensor:
    """[N, 3, 3] matrices mapping output pixel coords (centred, in pixels) to input coords.

    Each content transform T_i (applied in the order of GEOMETRIC) is drawn with probability p;
    the sampling matrix is the inverse of T_k...T_1, i.e. T_1^-1 ... T_k^-1, built as we go.
    """
    draw = _Draw(n, p, _check_transforms(transforms), device)
    p_rot = 1.0 - math.sqrt(max(0.0, 1.0 - p))
    inv = _identity(n, 3, device)

    flip = _apply(draw("xflip"), 1.0 - 2.0 * torch.randint(0, 2, (n,), device=device).float(), 1.0)
    inv = inv @ _scaling(flip, torch.ones_like(flip))
    quarter = _apply(draw("rotate90"), torch.randint(0, 4, (n,), device=device).float(), 0.0)
    inv = inv @ _rotation(-quarter * (math.pi / 2))
    # cos/sin of multiples of pi/2 are not exactly 0/±1 in floating point: snap them
    inv[:, :2, :2] = torch.where(inv[:, :2, :2].abs() < 1e-6, torch.zeros_like(inv[:, :2, :2]),
                                 inv[:, :2, :2])
    inv[:, :2, :2] = torch.where((inv[:, :2, :2].abs() - 1).abs() < 1e-6,
                                 inv[:, :2, :2].sign(), inv[:, :2, :2])
    size = torch.tensor([width, height], device=device, dtype=torch.float32)
    shift = torch.round((torch.rand(n, 2, device=device) * 2 - 1) * 0.125 * size)
    shift = shift * draw("xint").unsqueeze(1)
    inv = inv @ _translation(-shift[:, 0], -shift[:, 1])
    scale = _apply(draw("scale"), torch.exp2(torch.randn(n, device=device) * 0.2), 1.0)
    inv = inv @ _scaling(1.0 / scale, 1.0 / scale)
    pre = _apply(draw("rotate", p_rot), (torch.rand(n, device=device) * 2 - 1) * math.pi, 0.0)
    inv = inv @ _rotation(-pre)
    aniso = _apply(draw("aniso"), torch.exp2(torch.randn(n, device=device) * 0.2), 1.0)
    inv = inv @ _scaling(1.0 / aniso, aniso)
    post = _apply(draw("rotate", p_rot), (torch.rand(n, device=device) * 2 - 1) * math.pi, 0.0)
    inv = inv @ _rotation(-post)
    frac = torch.randn(n, 2, device=device) * 0.125 * size * draw("xfrac").unsqueeze(1)
    inv = inv @ _translation(-frac[:, 0], -frac[:, 1])
    return inv


def _least_asymmetric_lowpass(vanishing: int = 6) -> np.ndarray:
    """Orthogonal Daubechies low-pass with `vanishing` moments, least-asymmetric root choice.

    Spectral factorisation: H(z) = ((1 + 1/z) / 2)^N Q(z) with |Q|^2 = P(sin^2(w/2)),
    P(y) = sum_k C(N-1+k, k) y^k. Each root y of P gives z + 1/z = 2 - 4y; of every (z, 1/z)
    pair (conjugates kept together) we keep the choice whose phase is closest to linear. For N=6
    this is the 12-tap "sym6" filter ADA uses. Returns taps summing to 1, orthogonal to their
    even shifts (sum_k h[k] h[k+2n] = delta_n / 2), which makes up- then down-sampling exact.
    """
    coeffs = [math.comb(vanishing - 1 + k, k) for k in range(vanishing)]
    groups, done = [], []
    for y in np.roots(coeffs[::-1]):
        if any(abs(y - d) < 1e-8 for d in done):
            continue
        b = 2 - 4 * y
        z = (b + np.sqrt(b * b - 4 + 0j)) / 2
        z = z if abs(z) < 1 else 1 / z
        complex_root = abs(y.imag) > 1e-10
        done += [y, np.conj(y)] if complex_root else [y]
        groups.append([z, np.conj(z)] if complex_root else [complex(z.real)])
    w = np.linspace(0, 0.9 * np.pi, 256)
    best, best_err = None, math.inf
    for choice in itertools.product((False, True), repeat=len(groups)):
        roots = [-1.0 + 0j] * vanishing
        for invert, group in zip(choice, groups):
            roots += [1 / r if invert else r for r in group]
        h = np.real(np.poly(roots))
        h = h / h.sum()
        phase = np.unwrap(np.angle(np.exp(-1j * np.outer(w, np.arange(len(h)))) @ h))
        err = float(np.sum((phase + w * (len(h) - 1) / 2) ** 2))
        if err < best_err:
            best, best_err = h, err
    return best


@functools.lru_cache(maxsize=None)
def _filters() -> tuple:
    """(up [2, 7] phase taps, down [12] taps, delay) for the 2x resampling.

    Both use the 12-tap wavelet low-pass h laid on the 2x grid with its centre between taps 5 and
    6: the down filter weighs the 2x samples at -11/4 ... 11/4 output pixels by h; the up filter
    (2h, split in two phases at -1/4 and +1/4 of an input pixel) is its orthogonal partner.
    `delay` (input pixels) is how far the up filter's centroid shifts content; the grid is
    corrected by it so rotations do not drift.
    """
    h = _least_asymmetric_lowpass(6)
    g = 2.0 * h
    m = np.arange(-3, 4)
    up = np.zeros((2, len(m)))
    for phase in (0, 1):
        k = 5 + phase - 2 * m
        ok = (k >= 0) & (k < len(g))
        up[phase, ok] = g[k[ok]]
    delay = -(float(np.sum(np.arange(len(h)) * h)) - 5.5) / 2.0
    return up, h.copy(), delay


def _pad_symmetric(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Mirror x [B, C, H, W] about its edges (edge pixel repeated: grid_sample's "reflection"
    with align_corners=False); replicate where the image is too small to mirror."""
    if pad > min(x.shape[-2:]):
        return F.pad(x, (pad, pad, pad, pad), mode="replicate")
    x = torch.cat([x[..., :pad].flip(-1), x, x[..., -pad:].flip(-1)], dim=-1)
    return torch.cat([x[..., :pad, :].flip(-2), x, x[..., -pad:, :].flip(-2)], dim=-2)


def _cl(x: torch.Tensor) -> torch.Tensor:
    """Channels-last tag for [B, 1, H, W] (same memory): CPU conv2d is ~7x faster with it."""
    return x.to(memory_format=torch.channels_last)


def _upsample2x(x: torch.Tensor, extend: int) -> torch.Tensor:
    """x [B, 1, H, W] -> [B, 1, 2(H+2e), 2(W+2e)]: the image mirrored by e=`extend` pixels, then
    2x wavelet interpolation at the 2x pixel centres."""
    b, _, h, w = x.shape
    taps = torch.as_tensor(_filters()[0], device=x.device, dtype=x.dtype)
    k = taps.shape[1]
    x = _pad_symmetric(x, extend + k // 2)
    h, w = h + 2 * extend, w + 2 * extend
    x = F.conv2d(_cl(x), taps.view(2, 1, 1, k))                # [B, 2, H+k-1, W]
    x = x.permute(0, 2, 3, 1).reshape(b, 1, h + k - 1, 2 * w)  # interleave the column phases
    x = F.conv2d(_cl(x), taps.view(2, 1, k, 1))                # [B, 2, H, 2W]
    return x.permute(0, 2, 1, 3).reshape(b, 1, 2 * h, 2 * w)     # interleave the row phases


def _downsample2x(x: torch.Tensor) -> torch.Tensor:
    """x [B, 1, 2H+2M, 2W+2M] (M=_DOWN_MARGIN) -> [B, 1, H, W]: wavelet low-pass, stride 2."""
    taps = torch.as_tensor(_filters()[1], device=x.device, dtype=x.dtype)
    k = taps.shape[0]
    x = F.conv2d(_cl(x), taps.view(1, 1, 1, k), stride=(1, 2))
    return F.conv2d(_cl(x), taps.view(1, 1, k, 1), stride=(2, 1)).contiguous()


def _warp_antialiased(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Resample x [N, C, H, W] with pixel-space matrices m [N, 3, 3] (output -> input, centred).

    2x wavelet upsampling, bilinear grid_sample at 2x with reflection padding, wavelet low-pass
    and 2x decimation; computed in float32 (the grid needs the precision) and cast back.
    """
    n, c, h, w = x.shape
    dtype = x.dtype
    margin = _DOWN_MARGIN
    # mirror the input far enough that the whole 2x output region (margin included) of an
    # un-rotated sample is covered by true up-samples: up-then-down is then exact there
    extend = (margin + 1) // 2 + 1
    up = _upsample2x(x.float().reshape(n * c, 1, h, w), extend)
    up = up.reshape(n, c, *up.shape[-2:])
    # centres of the 2x output samples, margin included, in centred output pixel units
    us = (torch.arange(-margin, 2 * w + margin, device=x.device, dtype=torch.float32) + 0.5) / 2
    vs = (torch.arange(-margin, 2 * h + margin, device=x.device, dtype=torch.float32) + 0.5) / 2
    # the up filter shows input content at +delay: sample the up image at m(s + delay) - delay
    delay = _filters()[2]
    vv, uu = torch.meshgrid(vs - h / 2 + delay, us - w / 2 + delay, indexing="ij")
    base = torch.stack([uu, vv, torch.ones_like(uu)], dim=-1)             # [Hg, Wg, 3]
    coords = torch.einsum("nij,hwj->nhwi", m[:, :2, :].float(), base) - delay  # input px
    grid = coords / torch.tensor([w / 2 + extend, h / 2 + extend], device=x.device)
    out = F.grid_sample(up, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    hg, wg = out.shape[-2:]
    out = _downsample2x(out.reshape(n * c, 1, hg, wg)).reshape(n, c, h, w)
    return out.to(dtype)


def _warp(x: torch.Tensor, m: torch.Tensor, padding_mode: str) -> torch.Tensor:
    """Plain bilinear resampling of x [N, C, H, W] with pixel-space matrices m [N, 3, 3]
    (output -> input); exact for integer translations and flips (used by DiffAugment)."""
    n, _, h, w = x.shape
    # pixel offsets -> normalised grid units (align_corners=False: 2/W per pixel)
    theta = m[:, :2, :].clone()
    theta[:, 0, 1] = theta[:, 0, 1] * h / w
    theta[:, 1, 0] = theta[:, 1, 0] * w / h
    theta[:, 0, 2] = theta[:, 0, 2] * 2.0 / w
    theta[:, 1, 2] = theta[:, 1, 2] * 2.0 / h
    grid = F.affine_grid(theta.to(x.dtype), [n, x.shape[1], h, w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def _hue_rotation(theta: torch.Tensor) -> torch.Tensor:
    """[N] angles -> [N, 3, 3] rotations about the grey axis v (Rodrigues; identity at 0)."""
    v = torch.tensor(LUMA_AXIS, device=theta.device)
    a = LUMA_AXIS[0]
    cross = torch.tensor([[0.0, -a, a], [a, 0.0, -a], [-a, a, 0.0]], device=theta.device)  # [v]x
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    eye = torch.eye(3, device=theta.device)
    rot = cos * eye + sin * cross + (1 - cos) * torch.outer(v, v)
    return torch.where((theta == 0)[:, None, None], eye.expand_as(rot), rot)


def _color_matrix(n: int, p: float, device, transforms: Sequence[str] = COLOR) -> torch.Tensor:
    """[N, 4, 4] colour matrices acting on (r, g, b, 1) with rgb in [-1, 1] (grey = 0)."""
    draw = _Draw(n, p, _check_transforms(transforms), device)
    v = torch.tensor(LUMA_AXIS, device=device)
    vv = torch.outer(v, v)  # projection on the grey (luma) axis
    eye3 = torch.eye(3, device=device)

    c = _identity(n, 4, device)
    brightness = _apply(draw("brightness"), torch.randn(n, device=device) * 0.2, 0.0)
    t = _identity(n, 4, device)
    t[:, :3, 3] = brightness[:, None]
    c = t @ c
    contrast = _apply(draw("contrast"), torch.exp2(torch.randn(n, device=device) * 0.5), 1.0)
    s = _identity(n, 4, device)
    s[:, 0, 0] = s[:, 1, 1] = s[:, 2, 2] = contrast
    c = s @ c
    flip = _apply(draw("lumaflip"), torch.randint(0, 2, (n,), device=device).float(), 0.0)
    lf = _identity(n, 4, device)
    lf[:, :3, :3] = eye3 - 2.0 * vv * flip[:, None, None]  # luma -> -luma, chroma kept
    c = lf @ c
    hue = _apply(draw("hue"), (torch.rand(n, device=device) * 2 - 1) * math.pi, 0.0)
    h = _identity(n, 4, device)
    h[:, :3, :3] = _hue_rotation(hue)
    c = h @ c
    saturation = _apply(draw("saturation"), torch.exp2(torch.randn(n, device=device) * 1.0), 1.0)
    sat = _identity(n, 4, device)
    sat[:, :3, :3] = vv + (eye3 - vv) * saturation[:, None, None]
    sat[:, :3, :3] = torch.where((saturation == 1)[:, None, None], eye3, sat[:, :3, :3])
    return sat @ c


class AdaAugment:
    """ADA's differentiable "bgc" augmentation with an adaptive probability `p`.

    __call__(x [N, 3, H, W] in ~[-1, 1]) -> same shape, augmented with probability p per
    transform and sample. `update(real_logits)` accumulates sign statistics; every `interval`
    calls p moves by ±n_seen/(ada_kimg*1000) toward keeping E[sign(D(real))] at `target`.
    With fixed=True p never changes (a constant --aug-p). `transforms` restricts the pipeline to
    a subset of BGC (names as in ADA: xflip, rotate90, xint, scale, rotate, aniso, xfrac,
    brightness, contrast, lumaflip, hue, saturation).
    """

    def __init__(self, p: float = 0.0, *, target: float = 0.6, interval: int = 4,
                 ada_kimg: float = 500.0, fixed: bool = False, transforms: Sequence[str] = BGC):
        self.p = float(p)
        self.target = float(target)
        self.interval = int(interval)
        self.ada_kimg = float(ada_kimg)
        self.fixed = fixed
        self.transforms = _check_transforms(transforms)
        self.sign_sum = 0.0
        self.count = 0.0
        self.calls = 0
        self.rt = 0.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.p <= 0:
            return x
        n, _, h, w = x.shape
        geometric = [t for t in GEOMETRIC if t in self.transforms]
        if geometric:
            m = _geometric_matrix(n, w, h, self.p, x.device, geometric)
            moved = (m != _identity(n, 3, x.device)).flatten(1).any(1)
            idx = moved.nonzero().flatten()
            if idx.numel() == n:
                x = _warp_antialiased(x, m)
            elif idx.numel() > 0:  # untouched samples stay bit-exact (and cost nothing)
                x = x.index_copy(0, idx, _warp_antialiased(x[idx], m[idx]))
        colour = [t for t in COLOR if t in self.transforms]
        if colour:
            c = _color_matrix(n, self.p, x.device, colour).to(x.dtype)
            x = torch.einsum("nij,njhw->nihw", c[:, :3, :3], x) + c[:, :3, 3, None, None]
        return x

    def accumulate(self, real_logits: torch.Tensor) -> None:
        """Add this D step's real logits [N, 1] to the sign statistics (local, not reduced)."""
        self.sign_sum += float(torch.sign(real_logits.detach().float()).sum())
        self.count += float(real_logits.shape[0])
        self.calls += 1

    def due(self) -> bool:
        return self.calls >= self.interval

    def adjust(self, sign_sum: float, count: float) -> None:
        """Apply one update from (globally reduced) sign sum and count, then reset."""
        if count > 0 and not self.fixed:
            self.rt = sign_sum / count
            step = math.copysign(1.0, self.rt - self.target) if self.rt != self.target else 0.0
            self.p = float(min(1.0, max(0.0, self.p + step * count / (self.ada_kimg * 1000.0))))
        self.sign_sum = 0.0
        self.count = 0.0
        self.calls = 0

    def state_dict(self) -> dict:
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count,
                "calls": self.calls, "rt": self.rt}

    def load_state_dict(self, state: dict) -> None:
        self.p = float(state["p"])
        self.sign_sum = float(state.get("sign_sum", 0.0))
        self.count = float(state.get("count", 0.0))
        self.calls = int(state.get("calls", 0))
        self.rt = float(state.get("rt", 0.0))


class DiffAugment:
    """DiffAugment "color,translation,cutout": x [N, 3, H, W] -> same shape, always applied."""

    p = 1.0

    def __init__(self, translation: float = 0.125, cutout: float = 0.5):
        self.translation = translation
        self.cutout = cutout

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        dev = x.device
        x = x + (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) - 0.5)
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) * 2) + mean
        mean = x.mean(dim=[1, 2, 3], keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) + 0.5) + mean
        x = self._translate(x)
        return self._cutout(x)

    def _translate(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        shift = int(h * self.translation + 0.5)
        if shift == 0:
            return x
        tx = torch.randint(-shift, shift + 1, (n,), device=x.device).float()
        ty = torch.randint(-shift, shift + 1, (n,), device=x.device).float()
        m = _identity(n, 3, x.device)
        m[:, 0, 2] = -tx
        m[:, 1, 2] = -ty
        return _warp(x, m, "zeros")

    def _cutout(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        ch, cw = int(h * self.cutout + 0.5), int(w * self.cutout + 0.5)
        # centre drawn like DiffAugment; the square may stick out of the image
        top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
        left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
        return x * (~inside).unsqueeze(1).to(x.dtype)


class NoAugment:
    p = 0.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x


def make_augment(kind: str, *, p: float = 0.0, target: float = 0.6, interval: int = 4,
                 ada_kimg: float = 500.0, fixed: bool = False):
    """'ada' -> AdaAugment; 'diffaug' -> DiffAugment; 'none' -> NoAugment."""
    if kind == "ada":
        return AdaAugment(p, target=target, interval=interval, ada_kimg=ada_kimg, fixed=fixed)
    if kind == "diffaug":
        return DiffAugment()
    if kind == "none":
        return NoAugment()
    raise ValueError(f"unknown augmentation {kind!r}")


def xflip(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Dataset mirroring: flip each sample of x [N, C, H, W] horizontally with probability 1/2."""
    mask = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(3), x)
