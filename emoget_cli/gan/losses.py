"""StyleGAN2 losses and regularisers (docs/stylegan2.md#training), plus the AC-GAN class loss (#acgan).

All take logits as float tensors (cast before calling when running under autocast).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def d_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic D loss: softplus(-D(x)) + softplus(D(G(z))), batch means. -> []"""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G loss softplus(-D(G(z))).mean(). -> []"""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of |dΣD(x)/dx|² for real images x [N, 3, H, W] (requires_grad).

    The graph is kept (create_graph) so the penalty can be backpropagated into D. -> []"""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean()


def path_lengths(images: torch.Tensor, w_plus: torch.Tensor) -> torch.Tensor:
    """Per-sample path lengths |J_w^T y| for images [N, 3, H, W] made from w_plus [N, L, S].

    y ~ N(0, 1)/sqrt(H*W); length = sqrt(mean over the L latents of Σ_dim g²). -> [N]"""
    h, w = images.shape[2], images.shape[3]
    y = torch.randn_like(images) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images * y).sum(), w_plus, create_graph=True)
    return grad.float().pow(2).sum(2).mean(1).sqrt()


def path_length_penalty(lengths: torch.Tensor, pl_mean: float, decay: float,
                        batch_mean: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Path-length penalty for lengths [N] (with graph) against the running mean `pl_mean`.

    a = pl_mean + decay * (mean(lengths) - pl_mean); penalty = mean((lengths - a)^2). As in both
    rosinality's and NVlabs' trainers the updated mean `a` keeps its graph, so the penalty's
    gradient includes the (small) term through the batch mean. `batch_mean` ([] with graph)
    replaces mean(lengths) -- e.g. the mean over all processes. -> (penalty [], a [])"""
    mean = lengths.mean() if batch_mean is None else batch_mean
    a = pl_mean + decay * (mean - pl_mean)
    return (lengths - a).pow(2).mean(), a


def class_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """AC-GAN term: cross-entropy of the class head [N, K] against labels [N] (int). -> []"""
    return F.cross_entropy(class_logits.float(), labels)


def class_accuracy(class_logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of argmax(class_logits [N, K]) == labels [N]."""
    return float((class_logits.argmax(1) == labels).float().mean())
