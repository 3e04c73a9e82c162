"""ADA / DiffAugment: identity at p=0, exact simple transforms, gradients, the p controller."""

from __future__ import annotations

import math

import pytest
import torch

from emoget_cli.gan.augment import (AdaAugment, DiffAugment, _color_matrix, _identity, _warp,
                                    make_augment, xflip)


@pytest.fixture()
def faces(astronaut_rgb) -> torch.Tensor:
    """4 real 32x32 crops of the astronaut portrait in [-1, 1]: [4, 3, 32, 32]."""
    img = torch.from_numpy(astronaut_rgb).permute(2, 0, 1).float() / 127.5 - 1
    small = torch.nn.functional.interpolate(img[None], size=(64, 64), mode="area")[0]
    return torch.stack([small[:, :32, :32], small[:, 32:, :32], small[:, :32, 32:], small[:, 32:, 32:]])


def test_p_zero_is_the_identity(faces):
    assert torch.equal(AdaAugment(0.0)(faces), faces)
    assert torch.equal(make_augment("none")(faces), faces)


def test_integer_translation_and_flip_are_exact(faces):
    n = faces.shape[0]
    m = _identity(n, 3, "cpu")
    m[:, 0, 2] = -3.0  # content moves 3 px right
    m[:, 1, 2] = 2.0   # and 2 px up
    moved = _warp(faces, m, "zeros")
    assert torch.allclose(moved[:, :, 0:29, 3:], faces[:, :, 2:31, :29], atol=1e-5)
    flip = _identity(n, 3, "cpu")
    flip[:, 0, 0] = -1.0
    assert torch.allclose(_warp(faces, flip, "reflection"), faces.flip(3), atol=1e-5)


def test_ada_at_p1_changes_images_and_passes_second_order_gradients(faces):
    torch.manual_seed(0)
    aug = AdaAugment(1.0)
    x = faces.clone().requires_grad_(True)
    y = aug(x)
    assert y.shape == x.shape and not torch.allclose(y, faces, atol=1e-2)
    # R1 through the augmentation: d/dw |d D(aug(x)) / dx|^2 must exist and be non-zero
    w = torch.randn(1, 3, 3, 3, requires_grad=True)
    logits = torch.nn.functional.conv2d(y, w).pow(2).mean((1, 2, 3))
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    grad.pow(2).sum().backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0


def test_same_seed_same_augmentation(faces):
    torch.manual_seed(3)
    a = AdaAugment(0.7)(faces)
    torch.manual_seed(3)
    b = AdaAugment(0.7)(faces)
    assert torch.equal(a, b)


def test_color_matrix_is_identity_at_p0_and_affine_in_rgb():
    c0 = _color_matrix(3, 0.0, "cpu")
    assert torch.allclose(c0, _identity(3, 4, "cpu"))
    torch.manual_seed(1)
    c1 = _color_matrix(64, 1.0, "cpu")
    assert torch.allclose(c1[:, 3], torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(64, 4))
    grey = torch.tensor([0.3, 0.3, 0.3, 1.0])
    out = c1 @ grey  # grey stays grey under brightness/contrast/saturation
    assert torch.allclose(out[:, 0], out[:, 1], atol=1e-5) and torch.allclose(out[:, 1], out[:, 2], atol=1e-5)


def test_ada_controller_moves_p_toward_the_target():
    aug = AdaAugment(0.0, target=0.6, interval=4, ada_kimg=1.0)
    overfit = torch.ones(8, 1)  # D sure every real is real: sign mean 1 > 0.6 -> p goes up
    for _ in range(4):
        aug.accumulate(overfit)
    assert aug.due()
    aug.adjust(aug.sign_sum, aug.count)
    assert math.isclose(aug.p, 32 / 1000.0) and aug.calls == 0 and aug.rt == 1.0
    for _ in range(4):
        aug.accumulate(-overfit)
    aug.adjust(aug.sign_sum, aug.count)
    assert aug.p == 0.0  # clamped
    fixed = AdaAugment(0.3, fixed=True)
    fixed.accumulate(overfit)
    fixed.adjust(fixed.sign_sum, fixed.count)
    assert fixed.p == 0.3
    state = aug.state_dict()
    other = AdaAugment()
    other.load_state_dict(state)
    assert other.state_dict() == state


def test_diffaugment_cutout_translation_and_gradients(faces):
    torch.manual_seed(0)
    da = DiffAugment()
    ones = torch.ones(16, 3, 32, 32)
    cut = da._cutout(ones)
    zero_frac = (cut == 0).float().mean((1, 2, 3))
    assert torch.all(zero_frac > 0) and torch.all(zero_frac <= 0.25 + 1e-6)
    moved = da._translate(ones)
    assert torch.all(moved.sum((1, 2, 3)) <= ones.sum((1, 2, 3)))  # zero padding only removes
    x = faces.clone().requires_grad_(True)
    y = da(x)
    y.square().sum().backward()
    assert y.shape == faces.shape and float(x.grad.abs().sum()) > 0


def test_xflip_flips_about_half():
    x = torch.arange(64 * 4, dtype=torch.float32).reshape(64, 1, 2, 2)
    torch.manual_seed(0)
    y = xflip(x)
    flipped = (y != x).flatten(1).any(1)
    assert 16 < int(flipped.sum()) < 48
    assert torch.equal(y[flipped], x[flipped].flip(3))
