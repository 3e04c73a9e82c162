"""Pure-PyTorch StyleGAN2 ops: FIR resampling (upfirdn2d) and fused bias + leaky ReLU.

No JIT-compiled CUDA extensions: everything is built from standard differentiable torch ops
(pad, depthwise conv2d, strided slicing), so it runs on any device and is double-differentiable
(needed by the R1 and path-length regularisers). Semantics: docs/stylegan2.md#ops.

GPU speed notes (device-agnostic; nothing here is CUDA-only):
  * `enable_tf32()` allows TF32 matmul/conv on Ampere+ GPUs. StyleGAN2 training is insensitive
    to the ~1e-3 relative precision loss; keep it off when you need bit-exact comparisons.
  * All ops keep the input dtype (filters are cast to it), so they are autocast-safe in
    bf16/fp16.
  * `maybe_compile(module)` wraps `torch.compile` (off by default; compile time is minutes).
"""

from __future__ import annotations

import math
from typing import Sequence, Union

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)

Pad = Union[int, Sequence[int]]


def make_kernel(taps: Sequence[float]) -> torch.Tensor:
    """Normalised 2-D FIR kernel from 1-D taps (outer product), sum = 1. -> [k, k] float32."""
    k = torch.tensor(list(taps), dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def _pair(value: Union[int, Sequence[int]]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


def _pad4(pad: Pad) -> tuple[int, int, int, int]:
    """(p0, p1) -> same on both axes; (px0, px1, py0, py1) as is."""
    if isinstance(pad, int):
        return pad, pad, pad, pad
    pad = tuple(int(p) for p in pad)
    if len(pad) == 2:
        return pad[0], pad[1], pad[0], pad[1]
    if len(pad) == 4:
        return pad  # type: ignore[return-value]
    raise ValueError(f"pad must have 2 or 4 entries, got {pad}")


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: Union[int, Sequence[int]] = 1,
              down: Union[int, Sequence[int]] = 1, pad: Pad = (0, 0)) -> torch.Tensor:
    """Upsample (zero insertion), pad, FIR-filter (true convolution), downsample.

    x: [N, C, H, W] any float dtype; kernel: [kh, kw] (cast to x's dtype/device).
    up/down: int or (x, y); pad: (p0, p1) for both axes or (px0, px1, py0, py1); negative = crop.
    Returns [N, C, (H*up_y + py0 + py1 - kh + down_y) // down_y, (same for W)].
    """
    up_x, up_y = _pair(up)
    down_x, down_y = _pair(down)
    px0, px1, py0, py1 = _pad4(pad)
    n, c, h, w = x.shape

    if up_x > 1 or up_y > 1:
        # each sample followed by (up - 1) zeros along each axis
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up_x - 1, 0, 0, 0, up_y - 1])
        x = x.reshape(n, c, h * up_y, w * up_x)

    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    if min(px0, px1, py0, py1) < 0:
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0),
              max(-px0, 0): x.shape[3] - max(-px1, 0)]

    # true convolution = correlation with the flipped kernel; depthwise over channels.
    k = torch.flip(kernel.to(device=x.device, dtype=x.dtype), [0, 1])
    weight = k[None, None].expand(c, 1, k.shape[0], k.shape[1])
    # conv2d with stride keeps samples 0, d, 2d, ... exactly like slicing [::down] afterwards
    return F.conv2d(x, weight, stride=(down_y, down_x), groups=c)


def upfirdn2d_reference(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
                        pad: Pad = (0, 0)) -> torch.Tensor:
    """Slow, literal version of `upfirdn2d` (loops over taps), used only to test the fast one."""
    px0, px1, py0, py1 = _pad4(pad)
    n, c, h, w = x.shape
    up_img = x.new_zeros(n, c, h * up, w * up)
    up_img[:, :, ::up, ::up] = x
    big = x.new_zeros(n, c, h * up + max(py0, 0) + max(py1, 0), w * up + max(px0, 0) + max(px1, 0))
    big[:, :, max(py0, 0): max(py0, 0) + h * up, max(px0, 0): max(px0, 0) + w * up] = up_img
    big = big[:, :, max(-py0, 0): big.shape[2] - max(-py1, 0), max(-px0, 0): big.shape[3] - max(-px1, 0)]
    kh, kw = kernel.shape
    oh, ow = big.shape[2] - kh + 1, big.shape[3] - kw + 1
    out = x.new_zeros(n, c, oh, ow)
    for i in range(kh):
        for j in range(kw):
            # convolution: out[y, x] = sum k[i, j] * in[y + kh-1-i, x + kw-1-j]
            out += kernel[i, j] * big[:, :, kh - 1 - i: kh - 1 - i + oh, kw - 1 - j: kw - 1 - j + ow]
    return out[:, :, ::down, ::down]


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float = 0.2,
                     scale: float = SQRT2) -> torch.Tensor:
    """leaky_relu(x + bias, 0.2) * sqrt(2), bias broadcast over dim 1. x: [N, C, ...]; bias: [C]."""
    if bias is not None:
        shape = [1, -1] + [1] * (x.ndim - 2)
        x = x + bias.to(x.dtype).view(shape)
    return F.leaky_relu(x, negative_slope) * scale


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """x * rsqrt(mean(x^2, dim) + eps) -- StyleGAN's PixelNorm."""
    return x * torch.rsqrt(x.pow(2).mean(dim=dim, keepdim=True) + eps)


def enable_tf32(enabled: bool = True) -> None:
    """Allow TF32 matmul/convolutions on CUDA (Ampere+); a no-op for CPU tensors."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    if enabled:
        torch.backends.cudnn.benchmark = True


def maybe_compile(module: torch.nn.Module, enabled: bool = False, mode: str | None = None):
    """Return `torch.compile(module, mode=mode)` when enabled (and available), else `module`."""
    if not enabled or not hasattr(torch, "compile"):
        return module
    return torch.compile(module, mode=mode)
