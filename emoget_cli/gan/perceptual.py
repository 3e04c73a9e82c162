"""Perceptual losses for GAN inversion, behind one registry (`--perceptual auto|lpips|fallback|none`).

Backends (all take images `x, y: [N, 3, H, W] in [-1, 1]` and return a per-image distance `[N]`):

- ``lpips``: LPIPS (Zhang et al. 2018), VGG16 trunk, version 0.1 — the distance rosinality's
  projector uses. The pip ``lpips`` package is used when it imports; otherwise (torchvision is
  broken here) the same network is built in plain torch: torchvision's VGG16 ``features`` layout
  (so ``vgg16-397923af.pth`` loads from ``torch.hub.get_dir()/checkpoints``), the v0.1 ImageNet
  scaling layer, channel-unit-normalised features after relu1_2, relu2_2, relu3_3, relu4_3 and
  relu5_3, and the linear calibration layers ``weights/v0.1/vgg.pth`` shipped inside the
  ``lpips`` wheel (found with ``importlib.util.find_spec`` without importing the package).
  Needs the ImageNet VGG16 file, which cannot be downloaded offline.
- ``fallback``: a documented structural loss needing no weights. Images go to YCbCr in [0, 1];
  loss = mean L1 over a 5-level Laplacian pyramid (all channels, luminance weighted 2x, coarse
  levels weighted like fine ones) + (1 − MS-SSIM) of the luminance over up to 4 scales + 0.5 ·
  (1 − SSIM) of each chroma channel at the coarsest used scale. It rewards matching edges and
  local structure like LPIPS does, but knows nothing about semantics, so inversions converge a
  little less well on real photos.
- ``none``: always 0 (pixel MSE only).

``auto`` picks ``lpips`` when its weights are present, else ``fallback`` and says so ONCE per
process through the `warn` callback (default: the ``emoget`` logger) — never silently.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..core.choices import PERCEPTUAL_CHOICES
from ..core.errors import DependencyError, UsageError

log = logging.getLogger("emoget")

VGG16_FILE = "vgg16-397923af.pth"
_WARNED: set[str] = set()

#: torchvision VGG16 `features` config: channel counts, "M" = 2x2 max-pool.
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
#: `features` indices after which LPIPS taps the ReLU output (relu1_2 ... relu5_3).
_VGG16_TAPS = (3, 8, 15, 22, 29)
_LPIPS_SHIFT = (-0.030, -0.088, -0.188)   # v0.1 ScalingLayer (ImageNet statistics in [-1, 1])
_LPIPS_SCALE = (0.458, 0.448, 0.450)


def warn_once(message: str, warn: Optional[Callable[[str], None]] = None) -> None:
    """Emit `message` through `warn` (or the emoget logger) the first time only."""
    if message in _WARNED:
        return
    _WARNED.add(message)
    (warn or log.warning)(message)


def reset_warnings() -> None:
    """Forget which warnings were emitted (tests)."""
    _WARNED.clear()


def vgg16_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


#: LPIPS v0.1 VGG calibration weights shipped with emoget (BSD-2, see assets/LICENSE-LPIPS).
BUNDLED_LPIPS_LINEAR = Path(__file__).resolve().parents[1] / "assets" / "lpips_vgg_v0.1.safetensors"


def lpips_linear_weights_path() -> Optional[Path]:
    """The LPIPS v0.1 VGG calibration weights: the copy bundled with emoget, else
    `lpips/weights/v0.1/vgg.pth` of an installed lpips wheel (located without importing it)."""
    if BUNDLED_LPIPS_LINEAR.is_file():
        return BUNDLED_LPIPS_LINEAR
    return _lpips_package_linear_weights()


def _lpips_package_linear_weights() -> Optional[Path]:
    try:
        spec = importlib.util.find_spec("lpips")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / "v0.1" / "vgg.pth"
        if path.is_file():
            return path
    return None


def load_linear_weights(path: Path) -> dict:
    """{"lin{i}.model.1.weight": [1, C, 1, 1]} from the bundled safetensors or lpips' .pth."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def lpips_available() -> tuple[bool, str]:
    """(True, "") when LPIPS-VGG can be built offline here, else (False, why not)."""
    if not vgg16_weights_path().is_file():
        return False, (f"VGG16 ImageNet weights not found at {vgg16_weights_path()} "
                       "(`emoget weights fetch vgg16` downloads it there)")
    if lpips_linear_weights_path() is None:
        return False, "the LPIPS calibration weights (pip package 'lpips') are not installed"
    return True, ""


class Perceptual(nn.Module):
    """Base class: forward(x, y: [N, 3, H, W] in [-1, 1]) -> [N] distances (>= 0)."""

    name = "base"

    def forward(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError


class NoPerceptual(Perceptual):
    name = "none"

    def forward(self, x, y):
        return x.new_zeros(x.shape[0])


class LPIPSVGG(Perceptual):
    """LPIPS v0.1 with a VGG16 trunk, in plain torch (frozen, eval mode)."""

    name = "lpips"

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for item in _VGG16_CFG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_ch, item, 3, padding=1), nn.ReLU(inplace=False)]
                in_ch = item
        self.features = nn.Sequential(*layers)  # indices 0..29, torchvision's layout
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in (64, 128, 256, 512, 512))
        self.register_buffer("shift", torch.tensor(_LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_LPIPS_SCALE).view(1, 3, 1, 1))

    def load_weights(self, vgg_path: Path, lin_path: Path) -> "LPIPSVGG":
        vgg = torch.load(vgg_path, map_location="cpu", weights_only=True)
        feats = {k[len("features."):]: v for k, v in vgg.items() if k.startswith("features.")}
        self.features.load_state_dict(feats, strict=True)
        lin = load_linear_weights(lin_path)
        for i, conv in enumerate(self.lins):
            conv.weight.data.copy_(lin[f"lin{i}.model.1.weight"])
        return self

    def _taps(self, x):
        out = []
        h = (x - self.shift) / self.scale
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in _VGG16_TAPS:
                out.append(h / (h.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
                if i == _VGG16_TAPS[-1]:
                    break
        return out

    def forward(self, x, y):
        total = x.new_zeros(x.shape[0])
        for lin, fx, fy in zip(self.lins, self._taps(x), self._taps(y)):
            total = total + lin((fx - fy).pow(2)).mean(dim=(1, 2, 3))
        return total


class LPIPSPackage(Perceptual):
    """The pip `lpips` package's LPIPS(net='vgg', version='0.1')."""

    name = "lpips"

    def __init__(self, module):
        super().__init__()
        self.net = module.LPIPS(net="vgg", version="0.1", verbose=False)

    def forward(self, x, y):
        return self.net(x, y).view(-1)


class StructuralFallback(Perceptual):
    """Laplacian-pyramid L1 + luminance MS-SSIM + chroma SSIM (see the module docstring)."""

    name = "fallback"
    levels = 5

    def __init__(self):
        super().__init__()
        g = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
        k = torch.outer(g, g) / 256.0
        self.register_buffer("blur5", k.view(1, 1, 5, 5))
        win = torch.exp(-((torch.arange(7.0) - 3.0) ** 2) / (2 * 1.5 ** 2))
        win = torch.outer(win, win)
        self.register_buffer("win", (win / win.sum()).view(1, 1, 7, 7))
        self.register_buffer("ycc", torch.tensor([[0.299, 0.587, 0.114],
                                                  [-0.168736, -0.331264, 0.5],
                                                  [0.5, -0.418688, -0.081312]]))

    def _blur(self, x):
        c = x.shape[1]
        pad = F.pad(x, (2, 2, 2, 2), mode="replicate")
        return F.conv2d(pad, self.blur5.expand(c, 1, 5, 5), groups=c)

    def _ssim_parts(self, a, b):
        """Per-image mean SSIM and contrast-structure terms of single-channel [N,1,H,W] in [0,1]."""
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        win = self.win
        if a.shape[-1] < 7 or a.shape[-2] < 7:
            win = win[..., 2:5, 2:5] / win[..., 2:5, 2:5].sum()
        mu_a, mu_b = F.conv2d(a, win), F.conv2d(b, win)
        saa = F.conv2d(a * a, win) - mu_a ** 2
        sbb = F.conv2d(b * b, win) - mu_b ** 2
        sab = F.conv2d(a * b, win) - mu_a * mu_b
        cs = (2 * sab + c2) / (saa + sbb + c2)
        lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
        return (lum * cs).mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))

    def _ms_ssim(self, a, b, scales: int):
        weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], device=a.device)[:scales]
        weights = weights / weights.sum()
        value = a.new_ones(a.shape[0])
        for s in range(scales):
            ssim, cs = self._ssim_parts(a, b)
            term = ssim if s == scales - 1 else cs
            value = value * term.clamp(min=1e-6) ** weights[s]
            if s < scales - 1:
                a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        return value, a, b

    def forward(self, x, y):
        def to_ycc(img):
            rgb = (img.clamp(-1.5, 1.5) + 1.0) / 2.0
            out = torch.einsum("ij,njhw->nihw", self.ycc, rgb)
            return out + torch.tensor([0.0, 0.5, 0.5], device=img.device).view(1, 3, 1, 1)

        a, b = to_ycc(x), to_ycc(y)
        chan_w = torch.tensor([2.0, 1.0, 1.0], device=x.device).view(1, 3, 1, 1) / 4.0 * 3.0
        lap = x.new_zeros(x.shape[0])
        ga, gb = a, b
        for level in range(self.levels):
            if min(ga.shape[-2:]) < 4 or level == self.levels - 1:
                lap = lap + ((ga - gb).abs() * chan_w).mean(dim=(1, 2, 3))
                break
            ba, bb = self._blur(ga), self._blur(gb)
            lap = lap + (((ga - ba) - (gb - bb)).abs() * chan_w).mean(dim=(1, 2, 3))
            ga, gb = F.avg_pool2d(ba, 2), F.avg_pool2d(bb, 2)
        # MS-SSIM scales while the smallest side stays >= 8 px (4 at most)
        scales = max(1, min(4, int(math.floor(math.log2(max(min(x.shape[-2:]), 8) / 8.0))) + 1))
        ms, ca, cb = self._ms_ssim(a[:, :1], b[:, :1], scales)
        chroma = a.new_zeros(a.shape[0])
        for ch in (1, 2):
            ssim, _ = self._ssim_parts(F.avg_pool2d(a[:, ch:ch + 1], 2 ** (scales - 1)),
                                       F.avg_pool2d(b[:, ch:ch + 1], 2 ** (scales - 1)))
            chroma = chroma + 0.5 * (1.0 - ssim)
        return lap + (1.0 - ms) + chroma


def _import_lpips_package():
    """The pip lpips module if it imports cleanly (it needs a working torchvision), else None."""
    if os.environ.get("EMOGET_NO_LPIPS_PACKAGE"):
        return None
    try:
        import lpips  # noqa: PLC0415 - optional and slow, only when weights exist
    except Exception:  # broken torchvision raises RuntimeError/ImportError/AttributeError
        return None
    return lpips if hasattr(lpips, "LPIPS") else None


def _build_lpips():
    ok, why = lpips_available()
    if not ok:
        raise DependencyError(f"LPIPS perceptual loss unavailable: {why}")
    package = _import_lpips_package()
    if package is not None:
        try:
            return LPIPSPackage(package)
        except Exception:  # e.g. it wants to download: fall through to our own build
            pass
    return LPIPSVGG().load_weights(vgg16_weights_path(), lpips_linear_weights_path())


def _build_fallback():
    return StructuralFallback()


def _build_none():
    return NoPerceptual()


#: The registry `--perceptual` lists (plus "auto").
PERCEPTUAL_BACKENDS: dict[str, Callable[[], object]] = {
    "lpips": _build_lpips,
    "fallback": _build_fallback,
    "none": _build_none,
}


def build_perceptual(name: str = "auto", device="cpu", *,
                     warn: Optional[Callable[[str], None]] = None):
    """Return a frozen perceptual-loss module (`.name` tells which backend) on `device`.

    name: "auto" | "lpips" | "fallback" | "none". "auto" falls back to the structural loss when
    the LPIPS weights are missing and says so once through `warn`. An explicit "lpips" without
    weights raises DependencyError.
    """
    if name not in PERCEPTUAL_CHOICES:
        raise UsageError(f"unknown perceptual loss {name!r} (choose from {', '.join(PERCEPTUAL_CHOICES)})")
    if name == "auto":
        ok, why = lpips_available()
        if ok:
            name = "lpips"
        else:
            warn_once(f"LPIPS perceptual loss unavailable ({why}); using the structural fallback "
                      "(Laplacian-pyramid L1 + MS-SSIM) instead", warn)
            name = "fallback"
    module = PERCEPTUAL_BACKENDS[name]()
    module = module.to(device).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
