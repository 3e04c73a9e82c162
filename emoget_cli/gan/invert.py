"""Optimisation-based GAN inversion (rosinality `projector.py` recipe, docs/stylegan2.md#inversion) + PTI.

For a batch of N faces (inverted together, as one optimisation):

- start at the mean w (μ of 10 000 mapped z; for a conditional generator the per-class mean of
  `class_name`, or the all-class mean without one); σ_w = √(Σ‖w−μ‖²/n) scales the latent noise;
- optimise w [N, S] (space "w", broadcast to all layers) or w+ [N, n_latent, S] (space "w+"),
  plus per-face noise maps (drawn N(0,1)) unless `optimize_noise=False`, in which case the
  generator's constant noise buffers are used and kept;
- Adam, lr(t) = lr · min(1, t/rampup) · (½ − ½cos(π·min(1, (1−t)/rampdown))), t = step/steps;
- latent noise w + N(0,1)·σ_w·strength·max(0, 1 − t/ramp)² during the first `ramp` of the run;
- loss per face = perceptual_weight · P(G(w), x) + mse_weight · MSE(G(w), x)
  + noise_regularize · Σ_maps Σ_pyramid levels ≥ 8 px [mean(n·roll_x(n))² + mean(n·roll_y(n))²];
  images larger than `perceptual_size` are box-downsampled before P (like the projector).
  Differences from rosinality: MSE weight defaults to 1 (not 0) because the offline fallback
  perceptual loss is weaker than LPIPS; noise maps are renormalised to zero mean / unit std
  per face (rosinality: over the whole batch) so faces in one batch stay independent;
- after the optimisation, optional pivotal tuning (PTI, Roich et al. 2021): a copy of the
  generator's synthesis weights is fine-tuned for `pti_steps` Adam steps (lr `pti_lr`) with the
  same perceptual + MSE loss around the fixed pivots (no locality regulariser).

The mapping network is never changed. Images in and out are [N, 3, H, W] in [-1, 1].
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from ..core.choices import DEFAULT_INVERT_STEPS
from ..core.errors import InputError, UsageError
from ..core.latent import LatentFile

ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class InvertConfig:
    """Options of `invert`; defaults follow rosinality's projector (steps: core.choices)."""

    space: str = "w+"                  # "w" or "w+"
    steps: int = DEFAULT_INVERT_STEPS
    lr: float = 0.1
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    noise_strength: float = 0.05       # latent noise, × σ_w
    noise_ramp: float = 0.75
    noise_regularize: float = 1e5
    optimize_noise: bool = True        # False: keep the generator's constant noise buffers
    mse_weight: float = 1.0
    perceptual: str = "auto"           # auto | lpips | fallback | none
    perceptual_weight: float = 1.0
    perceptual_size: int = 256
    class_name: Optional[str] = None   # conditional generators: start at this class's mean w
    n_mean: int = 10_000
    pti_steps: int = 0                 # > 0: pivotal tuning after the inversion
    pti_lr: float = 3e-4
    seed: int = 0

    def validate(self) -> None:
        if self.space not in ("w", "w+"):
            raise UsageError(f"--space must be w or w+, got {self.space!r}")
        if not 1 <= self.steps <= 100_000:
            raise UsageError(f"--steps must be in 1..100000, got {self.steps}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UsageError(f"--lr must be a positive number, got {self.lr}")
        if self.pti_steps < 0 or not (self.pti_lr > 0):
            raise UsageError("PTI steps must be >= 0 and its learning rate > 0")
        if min(self.mse_weight, self.perceptual_weight, self.noise_regularize) < 0:
            raise UsageError("loss weights must be >= 0")
        if self.n_mean < 2 or self.perceptual_size < 16:
            raise UsageError("n_mean must be >= 2 and perceptual_size >= 16")


@dataclass
class InversionResult:
    """w_plus: [N, n_latent, S]; noise: num_layers maps [N, 1, r, r]; images/targets:
    [N, 3, size, size] in [-1, 1] (CPU); losses: one dict per face; generator: the tuned copy
    when PTI ran, else the input generator."""

    w_plus: Any
    noise: list
    images: Any
    targets: Any
    losses: list[dict[str, float]]
    perceptual: str
    generator: Any
    space: str
    class_name: Optional[str]
    seconds: float
    step_seconds: float
    pti: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def latent_files(self, generator_sha256: str = "",
                     sources: Optional[Sequence[str]] = None) -> list[LatentFile]:
        """One LatentFile per face (CPU tensors)."""
        out = []
        for i in range(self.w_plus.shape[0]):
            out.append(LatentFile(
                w_plus=self.w_plus[i].clone(),
                noise=[n[i:i + 1].clone() for n in self.noise],
                space=self.space, generator_sha256=generator_sha256,
                resolution=int(self.images.shape[-1]), class_name=self.class_name,
                losses=dict(self.losses[i]), source=(sources[i] if sources else ""),
                extra={"perceptual": self.perceptual,
                       "pti_steps": int(self.extra.get("pti_steps", 0))}))
        return out


# ---------------------------------------------------------------------------------------------
# Helpers (pure tensor functions)
# ---------------------------------------------------------------------------------------------

def lr_schedule(t: float, lr: float, rampup: float = 0.05, rampdown: float = 0.25) -> float:
    """Projector learning rate at progress t in [0, 1]."""
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return lr * ramp * min(1.0, t / rampup)


def noise_regularization(noises: Sequence) -> Any:
    """Per-face roll-correlation pyramid loss: noises are [N, 1, r, r] -> [N]."""
    total = 0.0
    for n in noises:
        while True:
            total = total + (n * n.roll(1, dims=3)).mean(dim=(1, 2, 3)).pow(2) \
                          + (n * n.roll(1, dims=2)).mean(dim=(1, 2, 3)).pow(2)
            if n.shape[-1] <= 8:
                break
            n = n.reshape(n.shape[0], 1, n.shape[2] // 2, 2, n.shape[3] // 2, 2).mean(dim=(3, 5))
    return total


def normalize_noise_(noises: Sequence) -> None:
    """In place: each face's noise map to zero mean, unit std."""

    with torch.no_grad():
        for n in noises:
            mean = n.mean(dim=(1, 2, 3), keepdim=True)
            std = n.std(dim=(1, 2, 3), keepdim=True)
            n.sub_(mean).div_(std + 1e-8)


def psnr(a, b) -> Any:
    """PSNR in dB of [N, 3, H, W] images in [-1, 1] (peak-to-peak 2) -> [N]."""

    mse = (a.clamp(-1, 1) - b.clamp(-1, 1)).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(4.0 / mse.clamp(min=1e-12))


def images_to_tensor(images: Sequence, size: int, device) -> Any:
    """uint8 RGB [H, W, 3] arrays (or a [N, 3, H, W] tensor in [-1, 1]) -> [N, 3, size, size]
    in [-1, 1]: centre-cropped to a square and area-resized to the generator's size."""
    import numpy as np

    if isinstance(images, torch.Tensor):
        batch = images.to(device, torch.float32)
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise InputError(f"images must be [N, 3, H, W], got {tuple(batch.shape)}")
        items = list(batch)
    else:
        items = []
        for img in images:
            arr = np.asarray(img)
            if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
                raise InputError("images must be uint8 RGB arrays [H, W, 3]")
            items.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div(127.5).sub(1).to(device))
    if not items:
        raise InputError("no images to invert")
    out = []
    for x in items:
        h, w = x.shape[-2:]
        s = min(h, w)
        x = x[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s].unsqueeze(0)
        if s != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=s > size)
        out.append(x)
    return torch.cat(out).clamp(-1, 1)


def _downsample(x, size: int):
    if x.shape[-1] <= size:
        return x
    return F.avg_pool2d(x, x.shape[-1] // size)


def class_index(G, class_name: Optional[str]) -> Optional[int]:
    """Index of `class_name` in a conditional G (UsageError listing the valid names)."""
    n_classes = int(getattr(G, "n_classes", 0) or 0)
    if class_name is None:
        return None
    if n_classes == 0:
        raise UsageError(f"--class {class_name} given, but the generator is unconditional")
    names = list(getattr(G, "class_names", None) or [str(i) for i in range(n_classes)])
    if class_name in names:
        return names.index(class_name)
    if class_name.isdigit() and int(class_name) < n_classes:
        return int(class_name)
    raise UsageError(f"unknown class {class_name!r} (this generator has: {', '.join(names)})")


def w_statistics(G, n: int, class_name: Optional[str], seed: int = 0) -> tuple[Any, float]:
    """(μ [1, S], σ_w) of w = mapping(z[, c]) over n samples (fixed seed)."""

    gen = torch.Generator(device=G.device).manual_seed(seed)
    idx = class_index(G, class_name)
    with torch.no_grad():
        z = torch.randn(n, G.style_dim, device=G.device, generator=gen)
        if int(getattr(G, "n_classes", 0) or 0) > 0:
            c = (torch.full((n,), idx, dtype=torch.long, device=G.device) if idx is not None else
                 torch.randint(0, G.n_classes, (n,), device=G.device, generator=gen))
            w = G.mapping(z, c)
        else:
            w = G.mapping(z)
        mu = w.mean(0, keepdim=True)
        sigma = float(((w - mu).pow(2).sum() / n).sqrt())
    return mu, sigma


# ---------------------------------------------------------------------------------------------
# Inversion
# ---------------------------------------------------------------------------------------------

def invert(images, G, config: InvertConfig = InvertConfig(), *,
           progress: Optional[ProgressFn] = None,
           warn: Optional[Callable[[str], None]] = None) -> InversionResult:
    """Invert a batch of faces into G (eval mode, any device).

    images: list of uint8 RGB [H, W, 3] (aligned faces) or a [N, 3, H, W] tensor in [-1, 1].
    progress(done, total, loss=float, phase=str) is called after every step.
    warn(message) receives the one-time perceptual fallback notice.
    """
    config.validate()
    flags = [(p, p.requires_grad) for p in G.parameters()]
    was_training = G.training
    for p, _ in flags:  # only the latent (and noise) are optimised; G's weights stay frozen
        p.requires_grad_(False)
    try:
        return _invert(images, G.eval(), config, progress, warn)
    finally:  # leave the caller's generator as it was
        for p, flag in flags:
            p.requires_grad_(flag)
        G.train(was_training)


def _invert(images, G, config: InvertConfig, progress: Optional[ProgressFn],
            warn: Optional[Callable[[str], None]]) -> InversionResult:
    from .perceptual import build_perceptual

    t_start = time.perf_counter()
    device = G.device
    targets = images_to_tensor(images, G.size, device)
    n = targets.shape[0]
    perceptual = build_perceptual(config.perceptual, device, warn=warn)
    target_small = _downsample(targets, config.perceptual_size)

    mu, sigma_w = w_statistics(G, config.n_mean, config.class_name, config.seed)
    if config.space == "w+":
        latent = mu.unsqueeze(1).repeat(n, G.n_latent, 1).detach().clone()
    else:
        latent = mu.repeat(n, 1).detach().clone()
    latent.requires_grad_(True)

    gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    if config.optimize_noise:
        noises = [torch.randn(n, 1, m.shape[-2], m.shape[-1], device=device, generator=gen)
                  .requires_grad_(True) for m in G.stored_noise()]
    else:
        noises = [m.detach().expand(n, -1, -1, -1).clone() for m in G.stored_noise()]
    params = [latent] + (noises if config.optimize_noise else [])
    opt = torch.optim.Adam(params, lr=config.lr)
    total_steps = config.steps + config.pti_steps

    def losses_of(img, noise_list):
        perc = perceptual(_downsample(img, config.perceptual_size), target_small)
        mse = (img - targets).pow(2).mean(dim=(1, 2, 3))
        reg = noise_regularization(noise_list) if config.optimize_noise else img.new_zeros(n)
        total = config.perceptual_weight * perc + config.mse_weight * mse + config.noise_regularize * reg
        return total, perc, mse, reg

    t_loop = time.perf_counter()
    for step in range(config.steps):
        t = step / config.steps
        for group in opt.param_groups:
            group["lr"] = lr_schedule(t, config.lr, config.lr_rampup, config.lr_rampdown)
        strength = sigma_w * config.noise_strength * max(0.0, 1.0 - t / config.noise_ramp) ** 2
        w_in = latent + torch.randn(latent.shape, device=device, generator=gen) * strength
        img = G.synthesis(w_in, noise=noises)
        total, *_ = losses_of(img, noises)
        opt.zero_grad(set_to_none=True)
        total.sum().backward()
        opt.step()
        if config.optimize_noise:
            normalize_noise_(noises)
        if progress is not None:
            progress(step + 1, total_steps, loss=float(total.detach().mean()), phase="invert")
    step_seconds = (time.perf_counter() - t_loop) / config.steps

    w_plus = latent.detach()
    if w_plus.ndim == 2:
        w_plus = w_plus.unsqueeze(1).repeat(1, G.n_latent, 1)
    noises = [m.detach() for m in noises]
    with torch.no_grad():
        img = G.synthesis(w_plus, noise=noises)
        inv_total, perc, mse, reg = losses_of(img, noises)
        inv_psnr = psnr(img, targets)

    extra: dict[str, Any] = {}
    tuned = G
    if config.pti_steps > 0:
        tuned = _pivotal_tuning(G, w_plus, noises, targets, target_small, perceptual, config,
                                progress, total_steps)
        extra["pti_steps"] = config.pti_steps
        with torch.no_grad():
            img = tuned.synthesis(w_plus, noise=noises)
            _, perc_t, mse_t, _ = losses_of(img, noises)
    losses = []
    final_psnr = psnr(img, targets) if config.pti_steps > 0 else inv_psnr
    for i in range(n):
        row = {"total": float(inv_total[i]), "perceptual": float(perc[i]), "mse": float(mse[i]),
               "noise": float(reg[i]), "psnr": float(inv_psnr[i])}
        if config.pti_steps > 0:
            row.update({"pti_perceptual": float(perc_t[i]), "pti_mse": float(mse_t[i]),
                        "pti_psnr": float(final_psnr[i])})
        losses.append(row)
    return InversionResult(
        w_plus=w_plus.cpu(), noise=[m.cpu() for m in noises], images=img.detach().clamp(-1, 1).cpu(),
        targets=targets.cpu(), losses=losses, perceptual=getattr(perceptual, "name", "?"),
        generator=tuned, space=config.space, class_name=config.class_name,
        seconds=time.perf_counter() - t_start, step_seconds=step_seconds,
        pti=config.pti_steps > 0, extra=extra)


def _is_mapping_param(name: str) -> bool:
    return name.startswith(("style.", "embed."))


def _pivotal_tuning(G, w_plus, noises, targets, target_small, perceptual, config: InvertConfig,
                    progress: Optional[ProgressFn], total_steps: int):
    """Fine-tune a copy of G's synthesis weights around the fixed pivots; returns the copy."""

    tuned = copy.deepcopy(G)
    tuned.train(False)
    params = []
    for name, p in tuned.named_parameters():
        trainable = not _is_mapping_param(name)
        p.requires_grad_(trainable)
        if trainable:
            params.append(p)
    opt = torch.optim.Adam(params, lr=config.pti_lr)
    for step in range(config.pti_steps):
        img = tuned.synthesis(w_plus, noise=noises)
        perc = perceptual(_downsample(img, config.perceptual_size), target_small)
        mse = (img - targets).pow(2).mean(dim=(1, 2, 3))
        loss = config.perceptual_weight * perc + max(config.mse_weight, 1.0) * mse
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        if progress is not None:
            progress(config.steps + step + 1, total_steps, loss=float(loss.detach().mean()), phase="pti")
    for p in tuned.parameters():
        p.requires_grad_(False)
    return tuned.eval()


def render_latent(G, latent: LatentFile, *, class_name: Optional[str] = None,
                  source_class: Optional[str] = None, use_noise: bool = True) -> Any:
    """Render one latent file with G -> image [1, 3, size, size] in [-1, 1] (CPU).

    The latent's noise maps are used when their shapes fit G (same resolution), else G's
    constant buffers. class_name (conditional G only): shift w+ by μ_class − μ_source, where
    μ_source is the latent's class mean in G (or G's all-class mean) — moves the face to the
    requested class while keeping its offset from the mean.
    """

    w = latent.w_plus.to(G.device, torch.float32).unsqueeze(0)
    if class_name is not None:
        mu_t, _ = w_statistics(G, 4096, class_name)
        src = source_class if source_class is not None else latent.class_name
        try:
            mu_s, _ = w_statistics(G, 4096, src)
        except UsageError:  # the latent's class is not one of G's classes: use the global mean
            mu_s, _ = w_statistics(G, 4096, None)
        w = w + (mu_t - mu_s).unsqueeze(1)
    noise = None
    if use_noise and latent.noise and len(latent.noise) == G.num_layers and all(
            tuple(a.shape[-2:]) == tuple(b.shape[-2:]) for a, b in zip(latent.noise, G.stored_noise())):
        noise = [m.to(G.device, torch.float32) for m in latent.noise]
    with torch.no_grad():
        return G.synthesis(w, noise=noise).clamp(-1, 1).cpu()


def to_uint8(images) -> list:
    """[N, 3, H, W] in [-1, 1] -> list of uint8 RGB [H, W, 3]."""
    arr = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return [a for a in arr]
