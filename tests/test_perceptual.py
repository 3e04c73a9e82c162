"""Perceptual losses: registry, LPIPS-VGG built from local weights, the warned fallback."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from emoget_cli.core.errors import DependencyError, UsageError  # noqa: E402
from emoget_cli.gan import perceptual as P  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture()
def no_weights(tmp_path, monkeypatch):
    """A torch hub folder without the VGG16 file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    P.reset_warnings()
    yield
    P.reset_warnings()


@pytest.fixture()
def fake_weights(tmp_path, monkeypatch):
    """A torch hub folder holding a (random) VGG16 state_dict with torchvision's key names."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    monkeypatch.setenv("EMOGET_NO_LPIPS_PACKAGE", "1")
    torch.manual_seed(0)
    net = P.LPIPSVGG()
    sd = {f"features.{k}": v for k, v in net.features.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # present in the real file, ignored
    P.vgg16_weights_path().parent.mkdir(parents=True)
    torch.save(sd, P.vgg16_weights_path())
    return sd


def _pair(astronaut_rgb, size=64):
    import torch.nn.functional as F

    x = torch.from_numpy(astronaut_rgb[:256, 128:384].copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    x = F.interpolate(x, size=(size, size), mode="area")
    return x, x.flip(-1)


def test_fallback_is_used_and_warned_once(no_weights, astronaut_rgb):
    messages = []
    loss = P.build_perceptual("auto", warn=messages.append)
    assert loss.name == "fallback"
    P.build_perceptual("auto", warn=messages.append)
    assert len(messages) == 1 and "fallback" in messages[0] and "vgg16" in messages[0].lower()
    x, y = _pair(astronaut_rgb)
    same, diff = loss(x, x), loss(x, y)
    assert same.shape == (1,) and float(same) == pytest.approx(0.0, abs=1e-5)
    assert float(diff) > 0.05
    # a slight blur is closer than a mirror image
    import torch.nn.functional as F

    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    assert float(loss(x, blurred)) < float(diff)


def test_fallback_is_differentiable(no_weights):
    loss = P.build_perceptual("fallback")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = (x + 0.2 * torch.randn_like(x)).requires_grad_(True)
    loss(x, y).sum().backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


def test_explicit_lpips_without_weights_fails_clearly(no_weights):
    with pytest.raises(DependencyError) as err:
        P.build_perceptual("lpips")
    assert "vgg16-397923af.pth" in str(err.value)
    with pytest.raises(UsageError):
        P.build_perceptual("alex")


def test_lpips_vgg_from_local_weights(fake_weights, astronaut_rgb):
    assert P.lpips_linear_weights_path() == P.BUNDLED_LPIPS_LINEAR
    messages = []
    loss = P.build_perceptual("auto", warn=messages.append)
    assert loss.name == "lpips" and not messages
    # the trunk holds exactly the file's features.* tensors; the lins hold lpips' vgg.pth
    for k, v in loss.features.state_dict().items():
        assert torch.equal(v, fake_weights[f"features.{k}"])
    lin = P.load_linear_weights(P.lpips_linear_weights_path())
    assert torch.equal(loss.lins[4].weight, lin["lin4.model.1.weight"])
    x, y = _pair(astronaut_rgb)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    d = loss(x, y)
    # reference: the LPIPS formula written out by hand, independently of the module's loop
    taps, h = [], (x - loss.shift) / loss.scale
    h2 = (y - loss.shift) / loss.scale
    ref = 0.0
    for i, layer in enumerate(loss.features):
        h, h2 = layer(h), layer(h2)
        if i in (3, 8, 15, 22, 29):
            n1 = h / (h.norm(dim=1, keepdim=True) + 1e-10)
            n2 = h2 / (h2.norm(dim=1, keepdim=True) + 1e-10)
            w = lin[f"lin{len(taps)}.model.1.weight"].view(1, -1, 1, 1)
            ref += float(((n1 - n2) ** 2 * w).sum(1).mean())
            taps.append(i)
    assert float(d) == pytest.approx(ref, rel=1e-4) and float(d) > 0


def test_registry_lists_backends():
    assert set(P.PERCEPTUAL_BACKENDS) == {"lpips", "fallback", "none"}
    assert P.PERCEPTUAL_CHOICES[0] == "auto"
    none = P.build_perceptual("none")
    assert float(none(torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8))) == 0.0


def test_matches_the_lpips_package(fake_weights, astronaut_rgb, monkeypatch):
    """Cross-check against the pip lpips code itself, importable here only with a stand-in
    torchvision whose vgg16() returns the same (random) trunk."""
    import sys
    import types

    if P._lpips_package_linear_weights() is None:
        pytest.skip("pip lpips not installed (its code is the reference here)")
    ours = P.build_perceptual("lpips")

    def vgg16(pretrained=False, **_):
        trunk = P.LPIPSVGG()
        trunk.features.load_state_dict({k[9:]: v for k, v in fake_weights.items()
                                        if k.startswith("features.")})
        return trunk

    tv = types.ModuleType("torchvision")
    tv.models = types.SimpleNamespace(vgg16=vgg16)
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "lpips" or k.startswith("lpips.")}
    try:
        import lpips

        ref = lpips.LPIPS(net="vgg", version="0.1", verbose=False).eval()
        x, y = _pair(astronaut_rgb)
        with torch.no_grad():
            expected = ref(x, y).view(-1)
            got = ours(x, y)
        assert float(expected) > 0
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6), (got, expected)
    finally:
        for k in [k for k in sys.modules if k == "lpips" or k.startswith("lpips.")]:
            del sys.modules[k]
        sys.modules.update(saved)
