"""Discriminator augmentation: ADA (adaptive "bgc" subset) and DiffAugment.

Both pipelines are differentiable with respect to the input image (and twice differentiable:
`grid_sample` and the colour matrices have double backward), so the generator's gradient and the
R1 gradient -- taken w.r.t. the *un-augmented* reals, through the augmentation (REFERENCE.md
§1.5) -- pass through them. The same pipeline is applied to reals and fakes before D.

ADA (Karras et al. 2020), the subset implemented here, each transform drawn independently per
sample with probability p (REFERENCE.md §1.6 gives the full list):

* x-flip; integer translation (uniform, up to ±0.125 of the image size); isotropic scale
  (lognormal, sigma 0.2*ln2); rotation (uniform in ±pi);
* brightness (normal, sigma 0.2, added); contrast (lognormal, sigma 0.5*ln2, about mid-grey);
  saturation (lognormal, sigma ln2, about the luma axis (1,1,1)/sqrt3).

Geometric transforms are composed into one affine matrix per sample and applied with
bilinear `grid_sample`, reflection padding (ADA additionally anti-aliases with a 2x SYM6
wavelet up/down-sampling; we skip that -- it matters at high p, which small datasets rarely reach).
Colour transforms form one 4x4 matrix per sample applied to (r, g, b, 1).

The adaptive probability follows the sign-of-real-logits heuristic: r_t = E[sign(D(x_real))];
every `interval` D steps p <- clamp(p + sign(r_t - target) * n_seen / (ada_kimg * 1000), 0, 1).

DiffAugment (Zhao et al. 2020), policy "color,translation,cutout", always on: brightness
U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5); integer translation up to 1/8 of
the size with zero padding; one cutout square of half the size.

All randomness comes from the global torch RNG on the images' device, which the training loop
checkpoints, so augmented runs resume identically.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

LUMA_AXIS = (1.0 / math.sqrt(3.0),) * 3


def _identity(n: int, size: int, device) -> torch.Tensor:
    return torch.eye(size, device=device).unsqueeze(0).repeat(n, 1, 1)


def _apply(mask: torch.Tensor, value: torch.Tensor, neutral: float) -> torch.Tensor:
    """Per-sample value where `mask`, else the neutral value."""
    return torch.where(mask, value, torch.full_like(value, neutral))


def _geometric_matrix(n: int, size: int, p: float, device) -> torch.Tensor:
    """[N, 3, 3] matrices mapping output pixel coords (centred, in pixels) to input coords."""
    def draw() -> torch.Tensor:
        return torch.rand(n, device=device) < p

    flip = _apply(draw(), 1.0 - 2.0 * torch.randint(0, 2, (n,), device=device).float(), 1.0)
    shift = torch.round((torch.rand(n, 2, device=device) * 2 - 1) * 0.125 * size)
    shift = shift * draw().unsqueeze(1)
    tx, ty = shift[:, 0], shift[:, 1]
    scale = _apply(draw(), torch.exp2(torch.randn(n, device=device) * 0.2), 1.0)
    angle = _apply(draw(), (torch.rand(n, device=device) * 2 - 1) * math.pi, 0.0)

    # The image content moves by p_out = R(angle) * scale * Flip * p_in + t; grid_sample needs
    # the inverse, p_in = Flip * R(-angle) / scale * (p_out - t).
    cos, sin = torch.cos(angle), torch.sin(angle)
    m = _identity(n, 3, device)
    m[:, 0, 0] = flip * cos / scale
    m[:, 0, 1] = flip * sin / scale
    m[:, 1, 0] = -sin / scale
    m[:, 1, 1] = cos / scale
    m[:, 0, 2] = -(m[:, 0, 0] * tx + m[:, 0, 1] * ty)
    m[:, 1, 2] = -(m[:, 1, 0] * tx + m[:, 1, 1] * ty)
    return m


def _warp(x: torch.Tensor, m: torch.Tensor, padding_mode: str) -> torch.Tensor:
    """Resample x [N, C, H, W] with pixel-space matrices m [N, 3, 3] (output -> input)."""
    n, _, h, w = x.shape
    # pixel offsets -> normalised grid units (align_corners=False: 2/W per pixel)
    theta = m[:, :2, :].clone()
    theta[:, 0, 1] = theta[:, 0, 1] * h / w
    theta[:, 1, 0] = theta[:, 1, 0] * w / h
    theta[:, 0, 2] = theta[:, 0, 2] * 2.0 / w
    theta[:, 1, 2] = theta[:, 1, 2] * 2.0 / h
    grid = F.affine_grid(theta.to(x.dtype), [n, x.shape[1], h, w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def _color_matrix(n: int, p: float, device) -> torch.Tensor:
    """[N, 4, 4] colour matrices acting on (r, g, b, 1) with rgb in [-1, 1]."""
    def draw() -> torch.Tensor:
        return torch.rand(n, device=device) < p

    c = _identity(n, 4, device)
    brightness = _apply(draw(), torch.randn(n, device=device) * 0.2, 0.0)
    t = _identity(n, 4, device)
    t[:, :3, 3] = brightness[:, None]
    c = t @ c
    contrast = _apply(draw(), torch.exp2(torch.randn(n, device=device) * 0.5), 1.0)
    s = _identity(n, 4, device)
    s[:, 0, 0] = s[:, 1, 1] = s[:, 2, 2] = contrast
    c = s @ c
    saturation = _apply(draw(), torch.exp2(torch.randn(n, device=device) * 1.0), 1.0)
    v = torch.tensor(LUMA_AXIS, device=device)
    vv = torch.outer(v, v)  # projection on the grey axis
    sat = _identity(n, 4, device)
    sat[:, :3, :3] = vv + (torch.eye(3, device=device) - vv) * saturation[:, None, None]
    return sat @ c


class AdaAugment:
    """ADA's differentiable augmentation with an adaptive probability `p`.

    __call__(x [N, 3, H, W] in ~[-1, 1]) -> same shape, augmented with probability p per
    transform and sample. `update(real_logits)` accumulates sign statistics; every `interval`
    calls p moves by ±n_seen/(ada_kimg*1000) toward keeping E[sign(D(real))] at `target`.
    With fixed=True p never changes (a constant --aug-p).
    """

    def __init__(self, p: float = 0.0, *, target: float = 0.6, interval: int = 4,
                 ada_kimg: float = 500.0, fixed: bool = False):
        self.p = float(p)
        self.target = float(target)
        self.interval = int(interval)
        self.ada_kimg = float(ada_kimg)
        self.fixed = fixed
        self.sign_sum = 0.0
        self.count = 0.0
        self.calls = 0
        self.rt = 0.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.p <= 0:
            return x
        n, _, h, w = x.shape
        m = _geometric_matrix(n, h, self.p, x.device)
        if not torch.equal(m, _identity(n, 3, x.device)):
            x = _warp(x, m, "reflection")
        c = _color_matrix(n, self.p, x.device).to(x.dtype)
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
