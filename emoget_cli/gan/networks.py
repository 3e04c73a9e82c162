"""StyleGAN2 generator and discriminator with rosinality/stylegan2-pytorch's exact state_dict.

An unconditional `Generator(size, 512, 8, channel_multiplier)` has exactly the keys, shapes and
registration order of rosinality's `model.Generator` (docs/stylegan2.md#state-dict), so a
rosinality `g_ema` loads with `strict=True` and produces the same images for the same latents and
noise. Likewise `Discriminator` (same page). The math (equalised learning rate,
modulation/demodulation, FIR up/down-sampling) is written from the paper/reference facts.

Extensions (absent, hence key-compatible, in the default configuration):

* ``channel_max`` (default 512 = rosinality): channels per resolution are
  ``min(rosinality_channels, channel_max)``; small values give tiny nets for tests.
* ``n_classes > 0`` -- conditional nets (StyleGAN2-ADA style conditioning):
    - Generator: ``embed.weight [style_dim, n_classes]``, ``embed.bias [style_dim]``
      (EqualLinear, lr_mul 1). w = MLP(cat(pixelnorm(z), pixelnorm(embed(onehot(c))))), so
      ``style.1.weight`` is ``[style_dim, 2*style_dim]``.
    - Discriminator: projection conditioning plus an auxiliary classifier on the 512-d features
      h = final_linear.0(...): ``embed.weight [C4, n_classes]`` (EqualLinear, no bias; its output
      is 2nd-moment normalised to e_c) adds ``<h, e_c>/sqrt(C4)`` to the logit;
      ``classifier.weight [n_classes, C4]``, ``classifier.bias [n_classes]`` give class logits.

Labels ``c`` may be integer class indices ``[N]`` (tensor, list or int) or float one-hot /
soft-label rows ``[N, n_classes]``.

Speed: the modulated convolution runs either as one grouped conv over the batch (rosinality's
"fused" path; default for batch 1 and for inference on CUDA) or as modulate-input -> shared conv
-> demodulate-output (default in training and for batched CPU inference, where grouped convs are
slow: 5.5 vs 3.1 img/s at 64 px, batch 64, on 2 CPU cores; friendly to channels-last and cuDNN
autotuning). Both are the same function up to float rounding. All code is
dtype-preserving so it can run under `torch.autocast` (bf16/fp16); see `ops.enable_tf32` and
`ops.maybe_compile` for the other GPU switches.
"""

from __future__ import annotations

import math
import random
from typing import Optional, Sequence, Union

import torch
from torch import nn
import torch.nn.functional as F

from .ops import fused_leaky_relu, make_kernel, normalize_2nd_moment, upfirdn2d

Labels = Union[None, int, Sequence[int], torch.Tensor]

ROSINALITY_CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def channel_table(channel_multiplier: int = 2, channel_max: int = 512) -> dict[int, int]:
    """{resolution: channels}: rosinality's table (docs/stylegan2.md#generator), each capped at `channel_max`."""
    table = {}
    for res, ch in ROSINALITY_CHANNELS.items():
        full = ch if res <= 32 else ch * channel_multiplier
        table[res] = int(min(full, channel_max))
    return table


def labels_to_onehot(c: Labels, n_classes: int, batch: int, device, dtype=torch.float32) -> torch.Tensor:
    """Class indices [N] / int / list, or float rows [N, K] -> float [batch, K]."""
    if not isinstance(c, torch.Tensor):
        c = torch.as_tensor(c if not isinstance(c, int) else [c] * batch)
    c = c.to(device)
    if c.ndim == 0:
        c = c.expand(batch)
    if c.ndim == 1:
        if c.is_floating_point():
            raise ValueError("class labels given as a 1-D float tensor; use indices or [N, K] rows")
        if int(c.min()) < 0 or int(c.max()) >= n_classes:
            raise ValueError(f"class index out of range 0..{n_classes - 1}")
        c = F.one_hot(c.long(), n_classes)
    if c.ndim != 2 or c.shape[1] != n_classes:
        raise ValueError(f"labels must be [N] indices or [N, {n_classes}] rows, got {tuple(c.shape)}")
    if c.shape[0] == 1 and batch > 1:
        c = c.expand(batch, -1)
    return c.to(dtype)


# ---------------------------------------------------------------------------------------------
# Building blocks


class PixelNorm(nn.Module):
    """x * rsqrt(mean(x^2, dim=1) + 1e-8); no parameters (rosinality `style.0`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return normalize_2nd_moment(x)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate.

    Stored weight ~ randn(out, in)/lr_mul, used as weight * lr_mul/sqrt(in); bias used as
    bias * lr_mul. activation="fused_lrelu" applies bias + leaky ReLU(0.2) * sqrt(2).
    x: [N, in] -> [N, out].
    """

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activation: Optional[str] = None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.activation = activation
        self.scale = (1.0 / math.sqrt(in_dim)) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), bias)
        return F.linear(x, self.weight * self.scale, bias=bias)


class EqualConv2d(nn.Module):
    """Conv2d with equalised learning rate: weight randn(out, in, k, k) used as w / sqrt(in*k^2)."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channel, in_channel, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channel * kernel_size ** 2)
        self.stride = stride
        self.padding = padding
        self.bias = nn.Parameter(torch.zeros(out_channel)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, bias=self.bias, stride=self.stride,
                        padding=self.padding)


class FusedLeakyReLU(nn.Module):
    """bias + leaky ReLU(0.2) * sqrt(2); key `bias` [C]."""

    def __init__(self, channel: int, bias: bool = True):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias)


class Blur(nn.Module):
    """FIR low-pass (buffer `kernel` = normalised taps * upsample_factor^2) with padding `pad`."""

    def __init__(self, kernel: Sequence[int], pad: tuple[int, int], upsample_factor: int = 1):
        super().__init__()
        k = make_kernel(kernel)
        if upsample_factor > 1:
            k = k * (upsample_factor ** 2)
        self.register_buffer("kernel", k)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2x FIR upsampling (buffer `kernel` = normalised taps * factor^2), used by ToRGB skips."""

    def __init__(self, kernel: Sequence[int], factor: int = 2):
        super().__init__()
        self.factor = factor
        k = make_kernel(kernel) * (factor ** 2)
        self.register_buffer("kernel", k)
        p = k.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, down=1, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution (StyleGAN2).

    weight [1, out, in, k, k]; modulation = EqualLinear(style_dim, in, bias_init=1).
    x: [N, in, H, W], style w: [N, style_dim] -> [N, out, H', W'] (H' = 2H when upsample).
    `fused`: None = grouped conv for batch 1 or CUDA inference, input modulation otherwise;
    True/False force one path (identical math up to float rounding).
    """

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False, downsample: bool = False,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1)):
        super().__init__()
        self.eps = 1e-8
        self.kernel_size = kernel_size
        self.in_channel = in_channel
        self.out_channel = out_channel
        self.upsample = upsample
        self.downsample = downsample
        factor = 2
        if upsample:
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1),
                             upsample_factor=factor)
        if downsample:
            p = (len(blur_kernel) - factor) + (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2, p // 2))
        self.scale = 1.0 / math.sqrt(in_channel * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
        self.demodulate = demodulate
        self.fused: Optional[bool] = None

    def extra_repr(self) -> str:
        return (f"{self.in_channel}, {self.out_channel}, {self.kernel_size}, "
                f"upsample={self.upsample}, downsample={self.downsample}")

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        s = self.modulation(style)  # [N, in]
        fused = self.fused if self.fused is not None else (
            batch == 1 or (not self.training and x.is_cuda))
        if fused:
            return self._forward_grouped(x, s)
        return self._forward_modulate_input(x, s)

    def _forward_grouped(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        batch, in_ch, height, width = x.shape
        k = self.kernel_size
        weight = self.scale * self.weight * s.view(batch, 1, in_ch, 1, 1)  # [N, out, in, k, k]
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + self.eps)
            weight = weight * demod.view(batch, self.out_channel, 1, 1, 1)
        weight = weight.to(x.dtype)
        if self.upsample:
            x = x.reshape(1, batch * in_ch, height, width)
            weight = weight.transpose(1, 2).reshape(batch * in_ch, self.out_channel, k, k)
            out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=batch)
            out = out.reshape(batch, self.out_channel, out.shape[-2], out.shape[-1])
            return self.blur(out)
        weight = weight.reshape(batch * self.out_channel, in_ch, k, k)
        if self.downsample:
            x = self.blur(x)
            x = x.reshape(1, batch * in_ch, x.shape[-2], x.shape[-1])
            out = F.conv2d(x, weight, padding=0, stride=2, groups=batch)
        else:
            x = x.reshape(1, batch * in_ch, height, width)
            out = F.conv2d(x, weight, padding=self.padding, groups=batch)
        return out.reshape(batch, self.out_channel, out.shape[-2], out.shape[-1])

    def _forward_modulate_input(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        batch, in_ch = x.shape[:2]
        weight = (self.scale * self.weight[0]).to(x.dtype)  # [out, in, k, k]
        x = x * s.to(x.dtype).view(batch, in_ch, 1, 1)
        if self.upsample:
            out = F.conv_transpose2d(x, weight.transpose(0, 1), padding=0, stride=2)
        elif self.downsample:
            out = F.conv2d(self.blur(x), weight, padding=0, stride=2)
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            w = self.scale * self.weight  # [1, out, in, k, k]
            w2 = w.pow(2).sum([3, 4])[0]  # [out, in]
            # at least float32 (half-precision sums overflow), but never down from float64
            acc = torch.promote_types(s.dtype, torch.float32)
            demod = torch.rsqrt(s.to(acc).pow(2) @ w2.to(acc).t() + self.eps)  # [N, out]
            out = out * demod.to(out.dtype).view(batch, self.out_channel, 1, 1)
        if self.upsample:
            out = self.blur(out)
        return out


class NoiseInjection(nn.Module):
    """x + weight * noise; `weight` [1] init 0; noise [N, 1, H, W] (fresh randn if None)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        if noise is None:
            n, _, h, w = x.shape
            noise = x.new_empty(n, 1, h, w).normal_()
        return x + self.weight.to(x.dtype) * noise.to(x.dtype)


class ConstantInput(nn.Module):
    """Learned constant `input` [1, C, 4, 4], repeated over the batch."""

    def __init__(self, channel: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.repeat(batch, 1, 1, 1)


class StyledConv(nn.Module):
    """ModulatedConv2d -> NoiseInjection -> FusedLeakyReLU (keys conv.*, noise.weight, activate.bias)."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 upsample: bool = False, blur_kernel: Sequence[int] = (1, 3, 3, 1), demodulate: bool = True):
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, kernel_size, style_dim,
                                    upsample=upsample, blur_kernel=blur_kernel, demodulate=demodulate)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: Optional[torch.Tensor] = None):
        return self.activate(self.noise(self.conv(x, style), noise=noise))


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to RGB + bias [1,3,1,1]; adds the upsampled skip."""

    def __init__(self, in_channel: int, style_dim: int, upsample: bool = True,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1)):
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: Optional[torch.Tensor] = None):
        out = self.conv(x, style)
        out = out + self.bias.to(out.dtype)
        if skip is not None:
            out = out + self.upsample(skip)
        return out


# ---------------------------------------------------------------------------------------------
# Generator


class Generator(nn.Module):
    """StyleGAN2 generator; rosinality key-compatible when n_classes == 0 and channel_max == 512.

    size: output resolution (power of two >= 8); style_dim S; n_mlp mapping layers.
    Attributes: n_latent (= 2*log2(size) - 2 W+ rows), num_layers (noise inputs), style_dim,
    class_names (list[str] | None, set by the checkpoint loader), meta (dict).
    """

    def __init__(self, size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), lr_mlp: float = 0.01,
                 n_classes: int = 0, channel_max: int = 512):
        super().__init__()
        log_size = int(math.log2(size))
        if size < 8 or 2 ** log_size != size:
            raise ValueError(f"size must be a power of two >= 8, got {size}")
        self.size = size
        self.style_dim = style_dim
        self.n_mlp = n_mlp
        self.channel_multiplier = channel_multiplier
        self.blur_kernel = tuple(blur_kernel)
        self.lr_mlp = lr_mlp
        self.n_classes = int(n_classes)
        self.channel_max = channel_max
        self.class_names: Optional[list[str]] = None
        self.meta: dict = {}
        # True: run activations in channels-last layout (faster cuDNN convs on tensor-core GPUs,
        # used by the modulate-input path; the grouped path reshapes and gains nothing).
        self.channels_last = False

        first_in = style_dim * 2 if self.n_classes > 0 else style_dim
        layers: list[nn.Module] = [PixelNorm()]
        for i in range(n_mlp):
            layers.append(EqualLinear(first_in if i == 0 else style_dim, style_dim,
                                      lr_mul=lr_mlp, activation="fused_lrelu"))
        self.style = nn.Sequential(*layers)
        if self.n_classes > 0:
            self.embed = EqualLinear(self.n_classes, style_dim)

        self.channels = channel_table(channel_multiplier, channel_max)
        self.input = ConstantInput(self.channels[4])
        self.conv1 = StyledConv(self.channels[4], self.channels[4], 3, style_dim, blur_kernel=blur_kernel)
        self.to_rgb1 = ToRGB(self.channels[4], style_dim, upsample=False)

        self.log_size = log_size
        self.num_layers = (log_size - 2) * 2 + 1
        self.convs = nn.ModuleList()
        self.upsamples = nn.ModuleList()  # empty; kept for attribute parity with rosinality
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()

        for layer_idx in range(self.num_layers):
            res = (layer_idx + 5) // 2
            self.noises.register_buffer(f"noise_{layer_idx}", torch.randn(1, 1, 2 ** res, 2 ** res))

        in_channel = self.channels[4]
        for i in range(3, log_size + 1):
            out_channel = self.channels[2 ** i]
            self.convs.append(StyledConv(in_channel, out_channel, 3, style_dim, upsample=True,
                                         blur_kernel=blur_kernel))
            self.convs.append(StyledConv(out_channel, out_channel, 3, style_dim, blur_kernel=blur_kernel))
            self.to_rgbs.append(ToRGB(out_channel, style_dim))
            in_channel = out_channel

        self.n_latent = log_size * 2 - 2

    # -- architecture description ---------------------------------------------------------
    def arch(self) -> dict:
        """Plain-dict architecture (what checkpoints store under emoget.architecture)."""
        return {"size": self.size, "style_dim": self.style_dim, "n_mlp": self.n_mlp,
                "channel_multiplier": self.channel_multiplier, "channel_max": self.channel_max,
                "lr_mlp": self.lr_mlp, "n_classes": self.n_classes,
                "blur_kernel": list(self.blur_kernel)}

    @property
    def device(self) -> torch.device:
        return self.input.input.device

    # -- mapping ---------------------------------------------------------------------------
    def mapping(self, z: torch.Tensor, c: Labels = None) -> torch.Tensor:
        """z: [N, S] standard normal -> w: [N, S]. c: labels (required iff n_classes > 0)."""
        if self.n_classes == 0:
            if c is not None:
                raise ValueError("this generator is unconditional; do not pass class labels")
            return self.style(z)
        if c is None:
            raise ValueError(f"this generator is conditional ({self.n_classes} classes); pass c")
        onehot = labels_to_onehot(c, self.n_classes, z.shape[0], z.device, z.dtype)
        x = self.style[0](z)
        y = normalize_2nd_moment(self.embed(onehot))
        return self.style[1:](torch.cat([x, y], dim=1))

    def get_latent(self, z: torch.Tensor, c: Labels = None) -> torch.Tensor:
        """rosinality alias of `mapping`."""
        return self.mapping(z, c)

    @torch.no_grad()
    def mean_latent(self, n: int = 4096, c: Labels = None,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Mean of mapping(randn(n, S)) -> [1, S]. Conditional nets: c=None averages over
        uniformly drawn classes (like ADA's global w_avg); an int gives that class's mean."""
        z = torch.randn(n, self.style_dim, device=self.device, generator=generator)
        if self.n_classes > 0 and c is None:
            c = torch.randint(0, self.n_classes, (n,), device=self.device, generator=generator)
        return self.mapping(z, c).mean(0, keepdim=True)

    def make_noise(self) -> list[torch.Tensor]:
        """Fresh noise maps in `noises.noise_i` order: [1, 1, 4, 4], then two per resolution."""
        device = self.device
        noises = [torch.randn(1, 1, 4, 4, device=device)]
        for i in range(3, self.log_size + 1):
            for _ in range(2):
                noises.append(torch.randn(1, 1, 2 ** i, 2 ** i, device=device))
        return noises

    def stored_noise(self) -> list[torch.Tensor]:
        """The constant noise buffers, `noises.noise_0..num_layers-1`."""
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    # -- synthesis -------------------------------------------------------------------------
    def synthesis(self, w_plus: torch.Tensor,
                  noise: Union[None, str, Sequence[Optional[torch.Tensor]]] = None) -> torch.Tensor:
        """w_plus: [N, n_latent, S] (or [N, S], broadcast) -> image [N, 3, size, size], ~[-1, 1].

        noise: None = the stored constant buffers; "random" = fresh noise each call; or a list
        of num_layers maps [N or 1, 1, r, r] in `noises.noise_i` order (None entries = random).
        """
        if w_plus.ndim == 2:
            w_plus = w_plus.unsqueeze(1).repeat(1, self.n_latent, 1)
        if w_plus.ndim != 3 or w_plus.shape[1] != self.n_latent or w_plus.shape[2] != self.style_dim:
            raise ValueError(f"w_plus must be [N, {self.n_latent}, {self.style_dim}], got {tuple(w_plus.shape)}")
        if noise is None:
            noise = self.stored_noise()
        elif isinstance(noise, str):
            if noise != "random":
                raise ValueError(f"noise must be None, 'random' or a list, got {noise!r}")
            noise = [None] * self.num_layers
        elif len(noise) != self.num_layers:
            raise ValueError(f"expected {self.num_layers} noise maps, got {len(noise)}")
        return self._synthesize(w_plus, list(noise))

    def _synthesize(self, latent: torch.Tensor, noise: list) -> torch.Tensor:
        out = self.input(latent.shape[0])
        if self.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        out = self.conv1(out, latent[:, 0], noise=noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv_up, conv, noise1, noise2, to_rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2],
                                                         noise[2::2], self.to_rgbs):
            out = conv_up(out, latent[:, i], noise=noise1)
            out = conv(out, latent[:, i + 1], noise=noise2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip

    # -- rosinality-compatible forward -----------------------------------------------------
    def forward(self, styles, return_latents: bool = False, inject_index: Optional[int] = None,
                truncation: float = 1, truncation_latent: Optional[torch.Tensor] = None,
                input_is_latent: bool = False, noise=None, randomize_noise: bool = True,
                c: Labels = None):
        """rosinality's signature: styles is a list of one or two [N, S] (or one [N, n_latent, S])
        tensors; returns (image [N, 3, H, W], latent [N, n_latent, S] or None). `c`: labels for
        conditional nets when styles are z's."""
        if isinstance(styles, torch.Tensor):
            styles = [styles]
        if not input_is_latent:
            styles = [self.mapping(s, c) for s in styles]
        if noise is None:
            noise = [None] * self.num_layers if randomize_noise else self.stored_noise()
        if truncation < 1:
            if truncation_latent is None:
                raise ValueError("truncation < 1 needs truncation_latent (e.g. mean_latent(4096))")
            styles = [truncation_latent + truncation * (s - truncation_latent) for s in styles]
        if len(styles) < 2:
            latent = styles[0]
            if latent.ndim < 3:
                latent = latent.unsqueeze(1).repeat(1, self.n_latent, 1)
        else:
            if inject_index is None:
                inject_index = random.randint(1, self.n_latent - 1)
            latent = styles[0].unsqueeze(1).repeat(1, inject_index, 1) if styles[0].ndim < 3 \
                else styles[0][:, :inject_index]
            latent2 = styles[1].unsqueeze(1).repeat(1, self.n_latent - inject_index, 1) if styles[1].ndim < 3 \
                else styles[1][:, inject_index:]
            latent = torch.cat([latent, latent2], 1)
        image = self._synthesize(latent, list(noise))
        return (image, latent) if return_latents else (image, None)


# ---------------------------------------------------------------------------------------------
# Discriminator


class ConvLayer(nn.Sequential):
    """[Blur] -> EqualConv2d -> [FusedLeakyReLU]; indices match rosinality's ConvLayer."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, downsample: bool = False,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), bias: bool = True, activate: bool = True):
        layers: list[nn.Module] = []
        if downsample:
            factor = 2
            p = (len(blur_kernel) - factor) + (kernel_size - 1)
            layers.append(Blur(blur_kernel, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_channel, out_channel, kernel_size, padding=padding, stride=stride,
                                  bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_channel, bias=bias))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Residual down block: (conv2(conv1(x)) + skip(x)) / sqrt(2); halves the resolution."""

    def __init__(self, in_channel: int, out_channel: int, blur_kernel: Sequence[int] = (1, 3, 3, 1)):
        super().__init__()
        self.conv1 = ConvLayer(in_channel, in_channel, 3)
        self.conv2 = ConvLayer(in_channel, out_channel, 3, downsample=True, blur_kernel=blur_kernel)
        self.skip = ConvLayer(in_channel, out_channel, 1, downsample=True, activate=False, bias=False,
                              blur_kernel=blur_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) * (1.0 / math.sqrt(2))


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator; rosinality key-compatible when unconditional.

    img: [N, 3, size, size] in ~[-1, 1] -> logit [N, 1]. Minibatch-stddev group 4 (the largest
    divisor of N that is <= 4, so any batch works; equal to rosinality whenever it runs).
    Conditional (n_classes > 0): projection term + auxiliary classifier (see module docstring).
    """

    def __init__(self, size: int, channel_multiplier: int = 2, blur_kernel: Sequence[int] = (1, 3, 3, 1),
                 n_classes: int = 0, channel_max: int = 512, mbstd_group: int = 4):
        super().__init__()
        log_size = int(math.log2(size))
        if size < 8 or 2 ** log_size != size:
            raise ValueError(f"size must be a power of two >= 8, got {size}")
        self.size = size
        self.channel_multiplier = channel_multiplier
        self.channel_max = channel_max
        self.n_classes = int(n_classes)
        self.blur_kernel = tuple(blur_kernel)
        channels = channel_table(channel_multiplier, channel_max)
        self.channels = channels

        convs: list[nn.Module] = [ConvLayer(3, channels[size], 1)]
        in_channel = channels[size]
        for i in range(log_size, 2, -1):
            out_channel = channels[2 ** (i - 1)]
            convs.append(ResBlock(in_channel, out_channel, blur_kernel))
            in_channel = out_channel
        self.convs = nn.Sequential(*convs)

        self.stddev_group = mbstd_group
        self.channels_last = False  # True: convert images to channels-last (faster cuDNN convs)
        self.stddev_feat = 1
        self.final_conv = ConvLayer(in_channel + 1, channels[4], 3)
        self.final_linear = nn.Sequential(
            EqualLinear(channels[4] * 4 * 4, channels[4], activation="fused_lrelu"),
            EqualLinear(channels[4], 1),
        )
        if self.n_classes > 0:
            self.embed = EqualLinear(self.n_classes, channels[4], bias=False)
            self.classifier = EqualLinear(channels[4], self.n_classes)

    def arch(self) -> dict:
        return {"size": self.size, "channel_multiplier": self.channel_multiplier,
                "channel_max": self.channel_max, "n_classes": self.n_classes,
                "blur_kernel": list(self.blur_kernel)}

    def _minibatch_stddev(self, out: torch.Tensor) -> torch.Tensor:
        batch, channel, height, width = out.shape
        group = min(batch, self.stddev_group)
        while batch % group:
            group -= 1
        f = self.stddev_feat
        y = out.reshape(group, -1, f, channel // f, height, width)
        y = y.to(torch.promote_types(y.dtype, torch.float32))  # fp32+ statistics under autocast
        y = torch.sqrt(y.var(0, unbiased=False) + 1e-8)
        y = y.mean([2, 3, 4], keepdim=True).squeeze(2).to(out.dtype)  # [batch/group, f, 1, 1]
        y = y.repeat(group, 1, height, width)
        return torch.cat([out, y], 1)

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """img [N, 3, size, size] -> h [N, C4]: the features shared by all heads."""
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        out = self.convs(img)
        out = self.final_conv(self._minibatch_stddev(out))
        return self.final_linear[0](out.reshape(out.shape[0], -1))

    def _logit(self, h: torch.Tensor, c: Labels) -> torch.Tensor:
        logit = self.final_linear[1](h)
        if self.n_classes > 0 and c is not None:
            onehot = labels_to_onehot(c, self.n_classes, h.shape[0], h.device, h.dtype)
            e = normalize_2nd_moment(self.embed(onehot))
            logit = logit + (h * e).sum(1, keepdim=True) * (1.0 / math.sqrt(h.shape[1]))
        return logit

    def forward(self, img: torch.Tensor, c: Labels = None) -> torch.Tensor:
        """-> adversarial logit [N, 1] (projection term added when conditional and c given)."""
        return self._logit(self.features(img), c)

    def forward_with_classes(self, img: torch.Tensor, c: Labels = None):
        """-> (logit [N, 1], class_logits [N, n_classes]); needs n_classes > 0."""
        if self.n_classes == 0:
            raise ValueError("forward_with_classes needs a conditional discriminator (n_classes > 0)")
        h = self.features(img)
        return self._logit(h, c), self.classifier(h)
