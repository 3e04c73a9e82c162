"""ADA / DiffAugment: identity at p=0, each bgc transform alone, gradients, the p controller."""

from __future__ import annotations

import math

import pytest
import torch

from emoget_cli.gan.augment import (LUMA_AXIS, AdaAugment, DiffAugment, _color_matrix,
                                    _geometric_matrix, _identity, _warp, _warp_antialiased,
                                    make_augment, xflip)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


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


@pytest.mark.parametrize("p", [1.0, 0.3])
def test_ada_passes_second_order_gradients(faces, p):
    torch.manual_seed(0)
    aug = AdaAugment(p)
    x = faces.repeat(2, 1, 1, 1).requires_grad_(True)  # at p=0.3 some samples skip the warp
    y = aug(x)
    assert y.shape == x.shape and not torch.allclose(y, x, atol=1e-2)
    # R1 through the augmentation: d/dw |d D(aug(x)) / dx|^2 must exist and be non-zero
    w = torch.randn(1, 3, 3, 3, requires_grad=True)
    logits = torch.nn.functional.conv2d(y, w).pow(2).mean((1, 2, 3))
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    assert torch.all(grad.flatten(1).abs().sum(1) > 0)  # every sample gets a gradient
    grad.pow(2).sum().backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0


def test_ada_at_p1_changes_every_image(faces):
    torch.manual_seed(0)
    x = faces.repeat(4, 1, 1, 1)
    y = AdaAugment(1.0)(x)
    assert torch.all((y - x).flatten(1).abs().amax(1) > 0.05)


def test_untouched_samples_stay_bit_exact_at_small_p(faces):
    torch.manual_seed(0)
    x = faces.repeat(8, 1, 1, 1)
    y = AdaAugment(0.05)(x)
    same = torch.tensor([torch.equal(a, b) for a, b in zip(y, x)])
    assert 0 < int(same.sum()) < len(x)  # un-drawn samples are not blurred by the resampler


def test_antialiased_resampling_is_exact_at_the_identity(faces):
    # the wavelet up/down pair is orthogonal: without a transform it returns the image
    y = _warp_antialiased(faces, _identity(4, 3, "cpu"))
    assert torch.allclose(y, faces, atol=1e-4)


def test_rotate90_alone_matches_rot90(faces):
    torch.manual_seed(0)
    x = faces.repeat(4, 1, 1, 1)
    y = AdaAugment(1.0, transforms=("rotate90",))(x)
    seen = set()
    for a, b in zip(y, x):
        err = torch.stack([(a - torch.rot90(b, k, dims=(1, 2))).abs().mean() for k in range(4)])
        k = int(err.argmin())
        seen.add(k)
        # within resampling error of one quarter turn, far from the others
        assert float(err[k]) < 0.08 and float(err.sort().values[1]) > 0.3
    assert len(seen) >= 3


def _square(n: int) -> torch.Tensor:
    """n white 16x16 squares centred on black 64x64 images: [n, 3, 64, 64] in [-1, 1]."""
    x = -torch.ones(n, 3, 64, 64)
    x[:, :, 24:40, 24:40] = 1.0
    return x


def _area_and_aspect(y: torch.Tensor):
    """Area (pixels) and log(var_x / var_y) of the white mass in each image of y."""
    wgt = ((y[:, 0] + 1) / 2).clamp(min=0)
    coords = torch.arange(64.0)
    area = wgt.sum((1, 2))
    mx = (wgt.sum(1) * coords).sum(1) / area
    my = (wgt.sum(2) * coords).sum(1) / area
    vx = (wgt.sum(1) * (coords - mx[:, None]) ** 2).sum(1) / area
    vy = (wgt.sum(2) * (coords - my[:, None]) ** 2).sum(1) / area
    return area, torch.log(vx / vy)


def test_anisotropic_scale_changes_aspect_and_keeps_area():
    torch.manual_seed(0)
    x = _square(8)
    area, aspect = _area_and_aspect(AdaAugment(1.0, transforms=("aniso",))(x))
    assert torch.allclose(area, torch.full_like(area, 256.0), rtol=0.03)
    assert int((aspect.abs() > 0.05).sum()) >= 6
    # isotropic scale, by contrast, keeps the aspect and changes the area
    area, aspect = _area_and_aspect(AdaAugment(1.0, transforms=("scale",))(x))
    assert torch.all(aspect.abs() < 0.02) and int(((area / 256 - 1).abs() > 0.03).sum()) >= 6


def _luma_chroma(x: torch.Tensor):
    v = torch.tensor(LUMA_AXIS).view(1, 3, 1, 1)
    luma = (x * v).sum(1, keepdim=True)
    return luma, x - luma * v


def test_luma_flip_inverts_luma_and_keeps_chroma(faces):
    torch.manual_seed(0)
    x = faces.repeat(2, 1, 1, 1)
    y = AdaAugment(1.0, transforms=("lumaflip",))(x)
    (lx, cx), (ly, cy) = _luma_chroma(x), _luma_chroma(y)
    assert torch.allclose(cy, cx, atol=1e-5)
    flipped = [torch.allclose(a, -b, atol=1e-5) for a, b in zip(ly, lx)]
    kept = [torch.equal(a, b) for a, b in zip(y, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_hue_rotation_keeps_luma_and_chroma_norm(faces):
    torch.manual_seed(0)
    y = AdaAugment(1.0, transforms=("hue",))(faces)
    (lx, cx), (ly, cy) = _luma_chroma(faces), _luma_chroma(y)
    assert torch.allclose(ly, lx, atol=1e-5)
    assert torch.allclose(cy.norm(dim=1), cx.norm(dim=1), atol=1e-5)
    assert torch.all((cy - cx).flatten(1).abs().amax(1) > 0.01)  # the hue did turn


def test_colour_and_geometry_distributions():
    torch.manual_seed(0)
    n = 4000
    c = _color_matrix(n, 1.0, "cpu", ("saturation",))
    sat = (c[:, 0, 0] - 1 / 3) * 1.5  # diagonal = 1/3 + 2/3 * s
    assert abs(float(torch.log2(sat).std()) - 1.0) < 0.05  # lognormal, sigma ln 2
    c = _color_matrix(n, 1.0, "cpu", ("brightness",))
    assert abs(float(c[:, 0, 3].std()) - 0.2) < 0.01
    c = _color_matrix(n, 1.0, "cpu", ("contrast",))
    assert abs(float(torch.log2(c[:, 0, 0]).std()) - 0.5) < 0.03
    m = _geometric_matrix(n, 32, 32, 0.5, "cpu", ("rotate",))
    rotated = (m[:, 0, 1] != 0).float().mean()  # pre or post rotation: overall probability p
    assert abs(float(rotated) - 0.5) < 0.03
    m = _geometric_matrix(n, 32, 32, 1.0, "cpu", ("xfrac",))
    assert abs(float(m[:, 0, 2].std()) - 0.125 * 32) < 0.2
    m = _geometric_matrix(n, 32, 32, 1.0, "cpu", ("xint",))
    shift = m[:, :2, 2]
    assert torch.equal(shift, shift.round()) and float(shift.abs().max()) == 4
    with pytest.raises(ValueError):
        AdaAugment(0.5, transforms=("warp",))


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
