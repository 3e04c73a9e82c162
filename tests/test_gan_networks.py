"""StyleGAN2 networks and ops: rosinality key/shape parity, FIR op semantics, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from emoget_cli.gan.networks import Discriminator, Generator, ModulatedConv2d
from emoget_cli.gan.ops import fused_leaky_relu, make_kernel, upfirdn2d, upfirdn2d_reference


def _expected_generator_keys_256() -> list[tuple[str, tuple]]:
    """docs/stylegan2.md#state-dict written out independently of the implementation."""
    keys: list[tuple[str, tuple]] = []
    for i in range(1, 9):
        keys += [(f"style.{i}.weight", (512, 512)), (f"style.{i}.bias", (512,))]
    keys.append(("input.input", (1, 512, 4, 4)))
    keys += [("conv1.conv.weight", (1, 512, 512, 3, 3)), ("conv1.conv.modulation.weight", (512, 512)),
             ("conv1.conv.modulation.bias", (512,)), ("conv1.noise.weight", (1,)),
             ("conv1.activate.bias", (512,))]
    keys += [("to_rgb1.bias", (1, 3, 1, 1)), ("to_rgb1.conv.weight", (1, 3, 512, 1, 1)),
             ("to_rgb1.conv.modulation.weight", (512, 512)), ("to_rgb1.conv.modulation.bias", (512,))]
    chans = [512, 512, 512, 512, 256, 128]  # block k = 0..5 output channels
    cin = 512
    for k, cout in enumerate(chans):
        for j, (a, b, up) in enumerate([(cin, cout, True), (cout, cout, False)]):
            n = 2 * k + j
            keys.append((f"convs.{n}.conv.weight", (1, b, a, 3, 3)))
            if up:
                keys.append((f"convs.{n}.conv.blur.kernel", (4, 4)))
            keys += [(f"convs.{n}.conv.modulation.weight", (a, 512)), (f"convs.{n}.conv.modulation.bias", (a,)),
                     (f"convs.{n}.noise.weight", (1,)), (f"convs.{n}.activate.bias", (b,))]
        cin = cout
    for k, c in enumerate(chans):
        keys += [(f"to_rgbs.{k}.bias", (1, 3, 1, 1)), (f"to_rgbs.{k}.upsample.kernel", (4, 4)),
                 (f"to_rgbs.{k}.conv.weight", (1, 3, c, 1, 1)),
                 (f"to_rgbs.{k}.conv.modulation.weight", (c, 512)), (f"to_rgbs.{k}.conv.modulation.bias", (c,))]
    for i in range(13):
        r = 2 ** ((i + 5) // 2)
        keys.append((f"noises.noise_{i}", (1, 1, r, r)))
    return keys


def _expected_discriminator_keys_256() -> list[tuple[str, tuple]]:
    keys = [("convs.0.0.weight", (128, 3, 1, 1)), ("convs.0.1.bias", (128,))]
    chans = [128, 256, 512, 512, 512, 512, 512]
    for j in range(1, 7):
        a, b = chans[j - 1], chans[j]
        keys += [(f"convs.{j}.conv1.0.weight", (a, a, 3, 3)), (f"convs.{j}.conv1.1.bias", (a,)),
                 (f"convs.{j}.conv2.0.kernel", (4, 4)), (f"convs.{j}.conv2.1.weight", (b, a, 3, 3)),
                 (f"convs.{j}.conv2.2.bias", (b,)), (f"convs.{j}.skip.0.kernel", (4, 4)),
                 (f"convs.{j}.skip.1.weight", (b, a, 1, 1))]
    keys += [("final_conv.0.weight", (512, 513, 3, 3)), ("final_conv.1.bias", (512,)),
             ("final_linear.0.weight", (512, 8192)), ("final_linear.0.bias", (512,)),
             ("final_linear.1.weight", (1, 512)), ("final_linear.1.bias", (1,))]
    return keys


def test_generator_256_state_dict_is_rosinality_appendix_a():
    with torch.device("meta"):  # shapes only: no memory, no init cost
        G = Generator(256, 512, 8, channel_multiplier=2)
    got = [(k, tuple(v.shape)) for k, v in G.state_dict().items()]
    assert got == _expected_generator_keys_256()  # names, shapes AND order
    assert len(got) == 135
    assert sum(p.numel() for p in G.parameters()) == 30_034_338
    assert G.n_latent == 14 and G.num_layers == 13


def test_discriminator_256_state_dict_is_rosinality_appendix_b():
    with torch.device("meta"):
        D = Discriminator(256, channel_multiplier=2)
    got = [(k, tuple(v.shape)) for k, v in D.state_dict().items()]
    assert got == _expected_discriminator_keys_256()
    assert len(got) == 50
    assert round(sum(p.numel() for p in D.parameters()) / 1e6, 2) == 28.86


@pytest.mark.parametrize("size,cm,keys,mparams", [(256, 1, 135, 24.77), (512, 2, 153, 30.28), (1024, 2, 171, 30.37)])
def test_generator_other_configs_match_reference_table(size, cm, keys, mparams):
    with torch.device("meta"):
        G = Generator(size, 512, 8, channel_multiplier=cm)
    assert len(G.state_dict()) == keys
    assert round(sum(p.numel() for p in G.parameters()) / 1e6, 2) == mparams


def test_buffers_are_fixed_fir_kernels():
    G = Generator(16, 32, 2, channel_max=16)
    k4 = torch.tensor([1.0, 3, 3, 1])
    k4 = torch.outer(k4, k4) / 64
    sd = G.state_dict()
    torch.testing.assert_close(sd["convs.0.conv.blur.kernel"], k4 * 4)
    torch.testing.assert_close(sd["to_rgbs.0.upsample.kernel"], k4 * 4)
    D = Discriminator(16, channel_max=16)
    torch.testing.assert_close(D.state_dict()["convs.1.conv2.0.kernel"], k4)


@pytest.mark.parametrize("up,down,pad,kscale", [
    (1, 1, (1, 1), 4),   # G upsampling conv blur
    (2, 1, (2, 1), 4),   # ToRGB skip Upsample
    (1, 1, (2, 2), 1),   # D 3x3 downsampling blur
    (1, 1, (1, 1), 1),   # D 1x1 skip blur
    (1, 2, (1, 1), 1),   # generic Downsample
    (2, 2, (-1, 2, 0, -1), 1),  # crops, asymmetric (px0, px1, py0, py1)
])
def test_upfirdn2d_matches_naive_reference(up, down, pad, kscale):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    k = make_kernel([1, 3, 3, 1]).double() * kscale
    got = upfirdn2d(x, k, up=up, down=down, pad=pad)
    want = upfirdn2d_reference(x, k, up=up, down=down, pad=pad)
    torch.testing.assert_close(got, want)
    px0, px1, py0, py1 = pad if len(pad) == 4 else (*pad, *pad)
    assert got.shape[-2] == (7 * up + py0 + py1 - 4 + down) // down
    assert got.shape[-1] == (9 * up + px0 + px1 - 4 + down) // down


def test_upfirdn2d_is_a_true_convolution_with_asymmetric_kernel():
    # a unit impulse must reproduce the (unflipped) kernel: correlation would flip it
    x = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    x[0, 0, 2, 2] = 1
    k = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(3, 3)
    out = upfirdn2d(x, k, pad=(1, 1))
    torch.testing.assert_close(out[0, 0, 1:4, 1:4], k)
    torch.testing.assert_close(out, upfirdn2d_reference(x, k, pad=(1, 1)))


def test_fused_leaky_relu_values():
    x = torch.tensor([[-1.0, 2.0]]).reshape(1, 2, 1, 1)
    b = torch.tensor([0.5, -0.5])
    out = fused_leaky_relu(x, b).flatten()
    torch.testing.assert_close(out, torch.tensor([-0.5 * 0.2, 1.5]) * math.sqrt(2))


@pytest.mark.parametrize("upsample", [False, True])
def test_modulated_conv_equals_per_sample_convolution(upsample):
    torch.manual_seed(1)
    m = ModulatedConv2d(6, 5, 3, 8, upsample=upsample).double()
    x = torch.randn(3, 6, 8, 8, dtype=torch.float64)
    w = torch.randn(3, 8, dtype=torch.float64)
    outs = []
    for n in range(3):  # the textbook definition, one sample at a time
        s = m.modulation(w[n:n + 1])[0]
        wt = m.weight[0] / math.sqrt(6 * 9) * s.view(1, 6, 1, 1)
        wt = wt / torch.sqrt(wt.pow(2).sum([1, 2, 3], keepdim=True) + 1e-8)
        if upsample:
            y = F.conv_transpose2d(x[n:n + 1], wt.transpose(0, 1), stride=2)
            y = upfirdn2d(y, m.blur.kernel, pad=(1, 1))
        else:
            y = F.conv2d(x[n:n + 1], wt, padding=1)
        outs.append(y)
    want = torch.cat(outs)
    for fused in (True, False):
        m.fused = fused
        torch.testing.assert_close(m(x, w), want)
    assert want.shape[-1] == (16 if upsample else 8)


@pytest.fixture(scope="module")
def tiny_g():
    torch.manual_seed(0)
    return Generator(16, 32, 2, channel_max=16).eval()


def test_forward_is_rosinality_compatible(tiny_g):
    G = tiny_g
    z1, z2 = torch.randn(2, 32), torch.randn(2, 32)
    with torch.no_grad():
        w1, w2 = G.mapping(z1), G.mapping(z2)
        img, lat = G([z1], return_latents=True, randomize_noise=False)
        assert lat.shape == (2, G.n_latent, 32)
        torch.testing.assert_close(img, G.synthesis(w1.unsqueeze(1).repeat(1, G.n_latent, 1)))
        # style mixing: first inject_index rows from z1
        mix, lat = G([z1, z2], inject_index=3, return_latents=True, randomize_noise=False)
        wp = torch.cat([w1.unsqueeze(1).repeat(1, 3, 1), w2.unsqueeze(1).repeat(1, G.n_latent - 3, 1)], 1)
        torch.testing.assert_close(lat, wp)
        torch.testing.assert_close(mix, G.synthesis(wp))
        # truncation toward a mean latent
        mean = G.mean_latent(256)
        assert mean.shape == (1, 32)
        trunc, lat = G([z1], truncation=0.5, truncation_latent=mean, return_latents=True, randomize_noise=False)
        torch.testing.assert_close(lat[:, 0], mean + 0.5 * (w1 - mean))
        # W+ input used as is
        wplus = torch.randn(2, G.n_latent, 32)
        torch.testing.assert_close(G([wplus], input_is_latent=True, randomize_noise=False)[0], G.synthesis(wplus))
        # randomize_noise=True gives fresh noise per call (noise weights are 0 at init: set them)
        for m in G.modules():
            if m.__class__.__name__ == "NoiseInjection":
                m.weight.fill_(0.5)
        a, _ = G([z1])
        b, _ = G([z1])
        assert not torch.allclose(a, b)
        for m in G.modules():
            if m.__class__.__name__ == "NoiseInjection":
                m.weight.zero_()


def test_synthesis_noise_modes(tiny_g):
    G = tiny_g
    w = torch.randn(1, G.n_latent, 32)
    with torch.no_grad():
        for m in G.modules():
            if m.__class__.__name__ == "NoiseInjection":
                m.weight.fill_(1.0)
        a, b = G.synthesis(w), G.synthesis(w)
        torch.testing.assert_close(a, b)  # stored buffers: deterministic
        torch.testing.assert_close(a, G.synthesis(w, noise=G.stored_noise()))
        noise = G.make_noise()
        assert [tuple(n.shape) for n in noise] == [tuple(n.shape) for n in G.stored_noise()]
        assert not torch.allclose(a, G.synthesis(w, noise=noise))
        assert not torch.allclose(G.synthesis(w, noise="random"), G.synthesis(w, noise="random"))
        with pytest.raises(ValueError):
            G.synthesis(w, noise=noise[:-1])
        with pytest.raises(ValueError):
            G.synthesis(torch.randn(1, G.n_latent + 1, 32))
        for m in G.modules():
            if m.__class__.__name__ == "NoiseInjection":
                m.weight.zero_()


def test_channel_max_and_output_range(tiny_g):
    G = tiny_g
    assert max(G.channels.values()) == 16
    img = G.synthesis(torch.randn(4, G.n_latent, 32))
    assert img.shape == (4, 3, 16, 16) and torch.isfinite(img).all()


def test_r1_and_path_length_double_backward():
    torch.manual_seed(0)
    G = Generator(16, 32, 2, channel_max=16).train()
    D = Discriminator(16, channel_max=16)
    # R1: grad of D wrt real images, then backprop the penalty into D's weights
    real = torch.randn(4, 3, 16, 16, requires_grad=True)
    (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
    grad.pow(2).sum([1, 2, 3]).mean().backward()
    assert D.convs[0][0].weight.grad is not None and D.convs[0][0].weight.grad.abs().sum() > 0
    assert D.final_conv[0].weight.grad.abs().sum() > 0
    # path length: grad of <img, y> wrt W+, penalty backprop into G
    w = G.mapping(torch.randn(2, 32)).unsqueeze(1).repeat(1, G.n_latent, 1)
    img = G.synthesis(w, noise="random")
    y = torch.randn_like(img) / math.sqrt(16 * 16)
    (g,) = torch.autograd.grad((img * y).sum(), w, create_graph=True)
    g.pow(2).sum(2).mean(1).sqrt().mean().backward()
    assert G.convs[0].conv.weight.grad.abs().sum() > 0
    assert G.style[1].weight.grad.abs().sum() > 0


def test_discriminator_any_batch_and_channels_last():
    D = Discriminator(16, channel_max=16).eval()
    for n in (1, 3, 6):
        assert D(torch.randn(n, 3, 16, 16)).shape == (n, 1)
    x = torch.randn(4, 3, 16, 16)
    torch.testing.assert_close(D(x.contiguous(memory_format=torch.channels_last)), D(x))
    ref = D(x)
    D.channels_last = True
    torch.testing.assert_close(D(x), ref)


def test_generator_channels_last_same_images():
    torch.manual_seed(2)
    G = Generator(16, 32, 2, channel_max=16).train()  # training mode = modulate-input path
    w = torch.randn(2, G.n_latent, 32)
    ref = G.synthesis(w)
    G.channels_last = True
    torch.testing.assert_close(G.synthesis(w), ref)


def test_conditional_generator_and_discriminator():
    torch.manual_seed(0)
    G = Generator(16, 32, 2, channel_max=16, n_classes=3).eval()
    sd = G.state_dict()
    assert sd["embed.weight"].shape == (32, 3) and sd["embed.bias"].shape == (32,)
    assert sd["style.1.weight"].shape == (32, 64)
    z = torch.randn(2, 32)
    with torch.no_grad():
        a = G.synthesis(G.mapping(z, c=0))
        b = G.synthesis(G.mapping(z, c=torch.tensor([2, 2])))
        onehot = F.one_hot(torch.tensor([2, 2]), 3).float()
        torch.testing.assert_close(G.mapping(z, c=onehot), G.mapping(z, c=[2, 2]))
        assert (a - b).abs().mean() > 1e-3
        assert G.mean_latent(64).shape == (1, 32) and G.mean_latent(64, c=1).shape == (1, 32)
        img, _ = G([z], c=[0, 1], randomize_noise=False)
        assert img.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError):
        G.mapping(z)
    with pytest.raises(ValueError):
        G.mapping(z, c=[0, 5])
    with pytest.raises(ValueError):
        Generator(16, 32, 2, channel_max=16).mapping(z, c=[0, 1])

    D = Discriminator(16, channel_max=16, n_classes=3).eval()
    assert D.state_dict()["classifier.weight"].shape == (3, 16)
    assert D.state_dict()["embed.weight"].shape == (16, 3)
    x = torch.randn(4, 3, 16, 16)
    logit, cls = D.forward_with_classes(x, c=[0, 1, 2, 0])
    assert logit.shape == (4, 1) and cls.shape == (4, 3)
    torch.testing.assert_close(D(x, c=[0, 1, 2, 0]), logit)
    assert not torch.allclose(D(x, c=[0, 0, 0, 0]), D(x, c=[1, 1, 1, 1]))  # projection term
    # cross-entropy on class logits trains the classifier head
    F.cross_entropy(cls, torch.tensor([0, 1, 2, 0])).backward()
    assert D.classifier.weight.grad.abs().sum() > 0


def test_autocast_bf16_runs(tiny_g):
    w = torch.randn(2, tiny_g.n_latent, 32)
    with torch.no_grad():
        ref = tiny_g.synthesis(w)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = tiny_g.synthesis(w)
    assert torch.isfinite(out.float()).all()
    assert (out.float() - ref).abs().mean() < 0.1 * ref.abs().mean() + 1e-3


def test_package_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, emoget_cli.gan; assert 'torch' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
