"""The two learned landmark-motion networks (torch is imported here; load this module lazily).

Both map a neutral shape and a class to per-frame displacements, all in normalised face units:
    n0:    [B, 136]  neutral shape, standardised (face units minus the training mean, / scale)
    label: [B]       class index (int64)
    out:   [B, T, 136] displacement of every point at every frame (scaled by disp_scale)
"""

from __future__ import annotations

import math

import torch
from torch import nn

N_COORDS = 136


def phase_features(frames: int, harmonics: int, device=None) -> torch.Tensor:
    """[T, 2·harmonics]: sin/cos of 2πk·t/T, k = 1..harmonics (t as a periodic input)."""
    t = torch.arange(frames, dtype=torch.float32, device=device) / frames
    k = torch.arange(1, harmonics + 1, dtype=torch.float32, device=device)
    angle = 2.0 * math.pi * t[:, None] * k[None, :]  # [T, K]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


class SeedMotionNet(nn.Module):
    """The seed's design: [n0 ⊕ class embedding ⊕ phase(t)] → one linear layer → displacement at t.

    Linear in its inputs, so class and time only add: it cannot make one class's motion follow
    its own time course — the limitation the temporal model removes.
    """

    def __init__(self, n_classes: int, emb_dim: int = 16, harmonics: int = 3, hidden: int = 0):
        super().__init__()
        self.harmonics = harmonics
        self.embed = nn.Embedding(n_classes, emb_dim)
        self.linear = nn.Linear(N_COORDS + emb_dim + 2 * harmonics, N_COORDS)

    def forward(self, n0: torch.Tensor, label: torch.Tensor, frames: int) -> torch.Tensor:
        b = n0.shape[0]
        phase = phase_features(frames, self.harmonics, n0.device)  # [T, 2K]
        x = torch.cat([n0[:, None].expand(b, frames, -1),
                       self.embed(label)[:, None].expand(b, frames, -1),
                       phase[None].expand(b, frames, -1)], dim=2)  # [B, T, 136+E+2K]
        return self.linear(x)  # [B, T, 136]


class TemporalMotionNet(nn.Module):
    """A GRU over the frames: its initial state comes from n0 ⊕ class embedding (an MLP), each step
    reads the phase features and the class embedding, and a linear head reads out the displacement."""

    def __init__(self, n_classes: int, emb_dim: int = 16, harmonics: int = 3, hidden: int = 128):
        super().__init__()
        self.harmonics = harmonics
        self.embed = nn.Embedding(n_classes, emb_dim)
        self.init = nn.Sequential(nn.Linear(N_COORDS + emb_dim, hidden), nn.Tanh())
        self.gru = nn.GRU(2 * harmonics + emb_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, N_COORDS)

    def forward(self, n0: torch.Tensor, label: torch.Tensor, frames: int) -> torch.Tensor:
        b = n0.shape[0]
        emb = self.embed(label)  # [B, E]
        h0 = self.init(torch.cat([n0, emb], dim=1))[None]  # [1, B, H]
        phase = phase_features(frames, self.harmonics, n0.device)
        x = torch.cat([phase[None].expand(b, frames, -1), emb[:, None].expand(b, frames, -1)], dim=2)
        y, _ = self.gru(x, h0)  # [B, T, H]
        return self.out(y)  # [B, T, 136]


ARCHS = {"seed": SeedMotionNet, "temporal": TemporalMotionNet}
