"""Checkpoints: rosinality layout, safetensors, NVlabs pickles, architecture inference, refusal."""

from __future__ import annotations

import argparse
import collections
import json
import pickle
import sys
import types

import pytest
import torch

from emoget_cli.core.errors import CheckpointError
from emoget_cli.gan import Discriminator, Generator, load_checkpoint, load_generator, save_checkpoint
from emoget_cli.gan.checkpoint import Checkpoint, infer_architecture

ARCH = dict(size=16, style_dim=32, n_mlp=2, channel_max=16)


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    G = Generator(**ARCH)
    G_ema = Generator(**ARCH).eval()
    D = Discriminator(16, channel_max=16)
    # non-trivial noise strengths so stored noise buffers matter for equality checks
    with torch.no_grad():
        for m in G_ema.modules():
            if m.__class__.__name__ == "NoiseInjection":
                m.weight.fill_(0.7)
    g_opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.99))
    G.synthesis(torch.randn(2, G.n_latent, 32)).mean().backward()
    g_opt.step()
    return G, G_ema, D, g_opt


def _same_outputs(a: Generator, b: Generator) -> None:
    a.eval(), b.eval()
    torch.manual_seed(3)
    w = torch.randn(3, a.n_latent, a.style_dim)
    noise = a.make_noise()
    with torch.no_grad():
        assert torch.equal(a.synthesis(w), b.synthesis(w))
        assert torch.equal(a.synthesis(w, noise=noise), b.synthesis(w, noise=noise))


def test_torch_roundtrip_keeps_rosinality_layout(nets, tmp_path):
    G, G_ema, D, g_opt = nets
    ck = Checkpoint.from_modules(G_ema, g=G, d=D, g_optim=g_opt, training={"kimg": 1.5},
                                 args={"size": 16, "batch": 4}, latent_avg=G_ema.mean_latent(64)[0])
    path = save_checkpoint(ck, tmp_path / "ck.pt")
    raw = torch.load(path, weights_only=True)  # plain types only: loads without any allow-list
    assert set(raw) == {"g", "d", "g_ema", "g_optim", "args", "latent_avg", "emoget"}
    assert isinstance(raw["args"], dict) and raw["args"]["batch"] == 4
    assert raw["emoget"]["architecture"]["size"] == 16 and raw["emoget"]["format_version"] == 1
    assert list(raw["g_ema"]) == list(G_ema.state_dict())
    G2 = load_generator(path)
    assert not G2.training and G2.class_names is None
    assert G2.meta["training"] == {"kimg": 1.5}
    torch.testing.assert_close(G2.latent_avg, ck.latent_avg.reshape(1, -1))
    _same_outputs(G_ema, G2)
    back = load_checkpoint(path)
    assert back.g_optim["param_groups"][0]["betas"] == (0.0, 0.99)
    first = next(iter(g_opt.state_dict()["state"]))
    torch.testing.assert_close(back.g_optim["state"][first]["exp_avg"], g_opt.state_dict()["state"][first]["exp_avg"])
    D2 = back.build_discriminator()
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(D2(x), D(x))
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temp file


def test_rosinality_train_checkpoint_with_namespace_args(nets, tmp_path):
    G, G_ema, D, _ = nets
    args = argparse.Namespace(path="lmdb", size=16, batch=4, channel_multiplier=2, latent=32, n_mlp=2,
                              r1=10.0, augment=False, ckpt=None)
    path = tmp_path / "010000.pt"
    torch.save({"g": G.state_dict(), "d": D.state_dict(), "g_ema": G_ema.state_dict(),
                "g_optim": {}, "d_optim": {}, "args": args, "ada_aug_p": 0.25}, path)
    ck = load_checkpoint(path)
    assert ck.args["size"] == 16 and ck.args["ckpt"] is None
    assert ck.extras == {"ada_aug_p": 0.25}
    assert ck.source == "rosinality"
    assert ck.architecture == {**G_ema.arch(), "channel_multiplier": 2}
    _same_outputs(G_ema, load_generator(path))
    # and re-saving it writes args as a plain dict
    save_checkpoint(ck, tmp_path / "again.pt")
    assert isinstance(torch.load(tmp_path / "again.pt", weights_only=True)["args"], dict)


def test_converted_style_file_and_bare_state_dict(nets, tmp_path):
    _, G_ema, _, _ = nets
    sd = G_ema.state_dict()
    torch.save({"g_ema": sd, "latent_avg": torch.zeros(32)}, tmp_path / "conv.pt")
    assert load_generator(tmp_path / "conv.pt").latent_avg.shape == (1, 32)
    torch.save(sd, tmp_path / "bare.pt")
    _same_outputs(G_ema, load_generator(tmp_path / "bare.pt"))
    # FIR kernels missing (some converters drop buffers): filled from the model
    torch.save({"g_ema": {k: v for k, v in sd.items() if not k.endswith(".kernel")}}, tmp_path / "nok.pt")
    _same_outputs(G_ema, load_generator(tmp_path / "nok.pt"))


def test_safetensors_roundtrip_with_optimizer_and_classes(tmp_path):
    torch.manual_seed(1)
    G = Generator(**ARCH, n_classes=2).eval()
    D = Discriminator(16, channel_max=16, n_classes=2)
    opt = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.99))
    logit, cls = D.forward_with_classes(torch.randn(2, 3, 16, 16), c=[0, 1])
    (logit.sum() + cls.sum()).backward()
    opt.step()
    ck = Checkpoint.from_modules(G, g=G, d=D, d_optim=opt, class_names=["baby", "robot"],
                                 blend={"base": "ffhq.pt", "swap_res": 8}, extras={"ada_aug_p": 0.1})
    path = save_checkpoint(ck, tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        assert "g_ema.style.1.weight" in f.keys() and "d.classifier.weight" in f.keys()
        assert json.loads(f.metadata()["emoget"])["class_names"] == ["baby", "robot"]
    back = load_checkpoint(path)
    assert back.class_names == ["baby", "robot"] and back.blend["swap_res"] == 8
    assert back.extras == {"ada_aug_p": 0.1}
    assert back.d_optim["param_groups"][0]["betas"] == (0.0, 0.99)
    opt2 = torch.optim.Adam(back.build_discriminator().parameters())
    opt2.load_state_dict(back.d_optim)  # a real optimizer accepts the restored state
    G2 = load_generator(path)
    assert G2.class_names == ["baby", "robot"] and G2.n_classes == 2
    with torch.no_grad():
        z = torch.randn(2, 32)
        assert torch.equal(G.synthesis(G.mapping(z, c=[1, 0])), G2.synthesis(G2.mapping(z, c=[1, 0])))
        a = G2.synthesis(G2.mapping(z, c=0))
        b = G2.synthesis(G2.mapping(z, c=1))
        assert (a - b).abs().mean() > 1e-3


@pytest.mark.parametrize("kwargs", [
    dict(size=64, channel_multiplier=1), dict(size=128, channel_multiplier=2),
    dict(size=256, channel_multiplier=2, n_mlp=8), dict(size=32, channel_max=64, style_dim=64, n_mlp=3),
    dict(size=64, channel_max=128, n_classes=5, channel_multiplier=1),
    dict(size=128, channel_multiplier=4, channel_max=1024),
])
def test_infer_architecture_from_shapes(kwargs):
    with torch.device("meta"):
        G = Generator(**{"style_dim": 512, "n_mlp": 2, **kwargs})
    arch = infer_architecture(G.state_dict())
    for key in ("size", "style_dim", "n_mlp", "n_classes"):
        assert arch[key] == getattr(G, key)
    with torch.device("meta"):
        G2 = Generator(arch["size"], arch["style_dim"], arch["n_mlp"], arch["channel_multiplier"],
                       n_classes=arch["n_classes"], channel_max=arch["channel_max"])
    assert {k: v.shape for k, v in G2.state_dict().items()} == {k: v.shape for k, v in G.state_dict().items()}


# ------------------------------------------------------------------------------------------------
# hostile and wrong files


class _Evil:
    """Unpickling this would create `marker` (a harmless stand-in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import builtins

        return (builtins.open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch_zip", "torch_legacy", "pickle_pkl"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, writer):
    marker = tmp_path / "pwned"
    payload = {"g_ema": {"style.1.weight": torch.zeros(2, 2)}, "args": _Evil(marker)}
    if writer == "torch_zip":
        path = tmp_path / "evil.pt"
        torch.save(payload, path)
    elif writer == "torch_legacy":
        path = tmp_path / "evil_legacy.pt"
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path = tmp_path / "evil.pkl"
        path.write_bytes(pickle.dumps({"G_ema": _Evil(marker)}))
    assert not marker.exists()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_os_system_pickle_is_refused(tmp_path):
    marker = tmp_path / "sys_marker"

    class Sys:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "sys.pkl"
    path.write_bytes(pickle.dumps(Sys()))
    with pytest.raises(CheckpointError, match="refused"):
        load_generator(path)
    assert not marker.exists()


def test_wrong_files_raise_checkpoint_error(nets, tmp_path):
    _, G_ema, _, _ = nets
    cases = {
        "empty.pt": b"",
        "text.pt": b"hello, I am not a checkpoint\n",
        "track.json": json.dumps({"format": "emoget-track", "points": [[0, 0]] * 68}).encode(),
        "random.safetensors": bytes(range(256)) * 4,
        "trunc.pt": b"PK\x03\x04" + b"\x00" * 40,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    sd = dict(G_ema.state_dict())
    sd["conv1.conv.weight"] = torch.zeros(1, 16, 16, 3, 3 + 1)
    torch.save({"g_ema": sd}, tmp_path / "shape.pt")
    torch.save({"g_ema": G_ema.state_dict(), "emoget": {"architecture": {**G_ema.arch(), "size": 32}}},
               tmp_path / "arch.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    from safetensors.torch import save_file

    hostile = {"deep.safetensors": {"optim": "[" * 100_000 + "]" * 100_000},  # RecursionError
               "skel.safetensors": {"optim": json.dumps({"g_optim": {"__dict__": [[1]]}})},
               "extras.safetensors": {"extras": "[1, 2]"}}
    for name, meta in hostile.items():
        save_file({"g_ema.style.1.weight": torch.zeros(2, 2)}, str(tmp_path / name), metadata=meta)
    torch.save({"something": torch.zeros(3)}, tmp_path / "nogen.pt")
    for path in sorted(tmp_path.iterdir()):
        with pytest.raises(CheckpointError) as err:
            load_generator(path)
        assert "\n" not in str(err.value), path.name
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


# ------------------------------------------------------------------------------------------------
# NVlabs stylegan2-ada-pytorch pickles (hand-built with stand-in torch_utils / dnnlib modules)


def _ours_to_ada_generator(sd: dict, n_mlp: int, size: int, conditional: bool) -> dict:
    """Inverse of docs/stylegan2.md#conversion, written independently of the converter under test."""
    ada = {}
    for i in range(n_mlp):
        ada[f"mapping.fc{i}.weight"] = sd[f"style.{i + 1}.weight"]
        ada[f"mapping.fc{i}.bias"] = sd[f"style.{i + 1}.bias"]
    if conditional:
        ada["mapping.embed.weight"] = sd["embed.weight"]
        ada["mapping.embed.bias"] = sd["embed.bias"]
    ada["mapping.w_avg"] = torch.full((sd["style.1.bias"].shape[0],), 0.25)
    ada["synthesis.b4.const"] = sd["input.input"][0]
    ada["synthesis.b4.resample_filter"] = torch.ones(4, 4) / 16  # present in ADA, unused by us

    def conv(src, dst, noise):
        ada[f"{src}.weight"] = sd[f"{dst}.conv.weight"][0]
        ada[f"{src}.affine.weight"] = sd[f"{dst}.conv.modulation.weight"]
        ada[f"{src}.affine.bias"] = sd[f"{dst}.conv.modulation.bias"]
        ada[f"{src}.bias"] = sd[f"{dst}.activate.bias"]
        ada[f"{src}.noise_strength"] = sd[f"{dst}.noise.weight"].reshape(())
        ada[f"{src}.noise_const"] = sd[f"noises.noise_{noise}"][0, 0]

    def torgb(src, dst):
        ada[f"{src}.weight"] = sd[f"{dst}.conv.weight"][0]
        ada[f"{src}.bias"] = sd[f"{dst}.bias"].reshape(3)
        ada[f"{src}.affine.weight"] = sd[f"{dst}.conv.modulation.weight"]
        ada[f"{src}.affine.bias"] = sd[f"{dst}.conv.modulation.bias"]

    conv("synthesis.b4.conv1", "conv1", 0)
    torgb("synthesis.b4.torgb", "to_rgb1")
    i, r = 1, 8
    while r <= size:
        conv(f"synthesis.b{r}.conv0", f"convs.{2 * i - 2}", 2 * i - 1)
        ada[f"synthesis.b{r}.conv0.resample_filter"] = sd[f"convs.{2 * i - 2}.conv.blur.kernel"] / 4
        conv(f"synthesis.b{r}.conv1", f"convs.{2 * i - 1}", 2 * i)
        torgb(f"synthesis.b{r}.torgb", f"to_rgbs.{i - 1}")
        ada[f"synthesis.b{r}.resample_filter"] = sd[f"to_rgbs.{i - 1}.upsample.kernel"] / 4
        i, r = i + 1, r * 2
    return ada


def _ours_to_ada_discriminator(sd: dict, size: int) -> dict:
    ada = {f"b{size}.fromrgb.weight": sd["convs.0.0.weight"], f"b{size}.fromrgb.bias": sd["convs.0.1.bias"]}
    j, r = 1, size
    while r >= 8:
        ada.update({f"b{r}.conv0.weight": sd[f"convs.{j}.conv1.0.weight"],
                    f"b{r}.conv0.bias": sd[f"convs.{j}.conv1.1.bias"],
                    f"b{r}.conv1.weight": sd[f"convs.{j}.conv2.1.weight"],
                    f"b{r}.conv1.bias": sd[f"convs.{j}.conv2.2.bias"],
                    f"b{r}.conv1.resample_filter": sd[f"convs.{j}.conv2.0.kernel"],
                    f"b{r}.skip.weight": sd[f"convs.{j}.skip.1.weight"],
                    f"b{r}.skip.resample_filter": sd[f"convs.{j}.skip.0.kernel"]})
        j, r = j + 1, r // 2
    ada.update({"b4.conv.weight": sd["final_conv.0.weight"], "b4.conv.bias": sd["final_conv.1.bias"],
                "b4.fc.weight": sd["final_linear.0.weight"], "b4.fc.bias": sd["final_linear.0.bias"],
                "b4.out.weight": sd["final_linear.1.weight"], "b4.out.bias": sd["final_linear.1.bias"]})
    return ada


BUFFERS = ("noise_const", "resample_filter", "w_avg")


@pytest.fixture()
def nvlabs_modules(monkeypatch):
    """Stand-in `torch_utils.persistence` and `dnnlib.util` so pickle can *write* NVlabs-style files."""
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # pragma: no cover - never called on load
        raise AssertionError("the real reconstructor must never run")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    util.EasyDict = EasyDict
    for name, mod in {"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
                      "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util}.items():
        monkeypatch.setitem(sys.modules, name, mod)

    class Persistent:
        def __init__(self, meta):
            self.meta = meta

        def __reduce__(self):
            return (_reconstruct_persistent_obj, (self.meta,))

    def module(flat: dict, class_name: str, init_kwargs: dict | None = None, marker=None):
        tree: dict = {}
        for key, value in flat.items():
            node = tree
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value

        def build(node, name, kwargs=None):
            state = EasyDict(training=False, _parameters=collections.OrderedDict(),
                             _buffers=collections.OrderedDict(), _modules=collections.OrderedDict())
            for k, v in node.items():
                if isinstance(v, dict):
                    state["_modules"][k] = build(v, k)
                elif k in BUFFERS:
                    state["_buffers"][k] = v.clone()
                else:
                    state["_parameters"][k] = torch.nn.Parameter(v.clone(), requires_grad=False)
            if kwargs is not None:
                state["_init_kwargs"] = EasyDict(kwargs)
            src = f"open({str(marker)!r}, 'w')  # would run if exec'd\n" if marker else "pass\n"
            return Persistent(dict(type="class", version=6, module_src=src,
                                   class_name=f"training.networks.{name}", state=state))

        return build(tree, class_name, init_kwargs)

    def dumps(snapshot: dict) -> bytes:
        data = pickle.dumps(snapshot, protocol=4)
        for name in ("torch_utils.persistence", "torch_utils", "dnnlib.util", "dnnlib"):
            monkeypatch.delitem(sys.modules, name)  # loading must not need them
        return data

    return module, dumps, EasyDict


def _g_kwargs(size, n_classes, n_mlp):
    return {"z_dim": 32, "c_dim": n_classes, "w_dim": 32, "img_resolution": size, "img_channels": 3,
            "mapping_kwargs": {"num_layers": n_mlp},
            "synthesis_kwargs": {"channel_base": 32768, "channel_max": 16, "num_fp16_res": 4, "conv_clamp": 256}}


def test_nvlabs_pickle_imports_and_converts(nvlabs_modules, tmp_path):
    module, dumps, EasyDict = nvlabs_modules
    torch.manual_seed(5)
    G = Generator(**ARCH).eval()
    D = Discriminator(16, channel_max=16)
    marker = tmp_path / "exec_marker"
    g_meta = module(_ours_to_ada_generator(G.state_dict(), 2, 16, False), "Generator",
                    _g_kwargs(16, 0, 2), marker=marker)
    d_meta = module(_ours_to_ada_discriminator(D.state_dict(), 16), "Discriminator",
                    {"c_dim": 0, "img_resolution": 16, "img_channels": 3, "architecture": "resnet",
                     "epilogue_kwargs": {"mbstd_group_size": 4}})
    data = dumps({"G": g_meta, "D": d_meta, "G_ema": g_meta, "augment_pipe": None,
                  "training_set_kwargs": EasyDict(path="faces.zip", resolution=16, use_labels=False)})
    path = tmp_path / "network-snapshot-000100.pkl"
    path.write_bytes(data)
    assert "torch_utils.persistence" not in sys.modules

    ck = load_checkpoint(path)
    assert not marker.exists()  # embedded module source was never executed
    assert ck.source == "nvlabs-stylegan2-ada-pytorch"
    assert ck.architecture["channel_multiplier"] == 2 and ck.architecture["n_mlp"] == 2
    assert ck.training["source_training_set"]["path"] == "faces.zip"
    assert list(ck.g_ema) == list(G.state_dict())  # rosinality order as well as names
    _same_outputs(G, load_generator(path))
    torch.testing.assert_close(ck.latent_avg, torch.full((32,), 0.25))
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(ck.build_discriminator()(x), D(x))
    # the converted file saves in our format and reloads
    save_checkpoint(ck, tmp_path / "converted.pt")
    _same_outputs(G, load_generator(tmp_path / "converted.pt"))


def test_nvlabs_conditional_generator(nvlabs_modules, tmp_path):
    module, dumps, _ = nvlabs_modules
    torch.manual_seed(6)
    G = Generator(**ARCH, n_classes=3).eval()
    g_meta = module(_ours_to_ada_generator(G.state_dict(), 2, 16, True), "Generator", _g_kwargs(16, 3, 2))
    path = tmp_path / "cond.pkl"
    path.write_bytes(dumps({"G_ema": g_meta, "D": None}))
    G2 = load_generator(path)
    assert G2.n_classes == 3 and G2.class_names == ["0", "1", "2"]
    z = torch.randn(2, 32)
    with torch.no_grad():
        assert torch.equal(G.synthesis(G.mapping(z, c=[2, 1])), G2.synthesis(G2.mapping(z, c=[2, 1])))


def test_nvlabs_pickle_with_foreign_global_is_refused(nvlabs_modules, tmp_path):
    module, dumps, _ = nvlabs_modules
    marker = tmp_path / "m"
    g_meta = module({"mapping.fc0.weight": torch.zeros(2, 2)}, "Generator", _g_kwargs(16, 0, 1))
    path = tmp_path / "mixed.pkl"
    path.write_bytes(dumps({"G_ema": g_meta, "augment_pipe": _Evil(marker)}))
    with pytest.raises(CheckpointError, match=r"refused pickle: .*open"):
        load_checkpoint(path)
    assert not marker.exists()


# ------------------------------------------------ architecture claims are checked first --

@pytest.mark.parametrize("lie, expected", [
    ({"size": 1024}, "claims architecture size = 1024"),
    ({"style_dim": 10 ** 9, "n_mlp": 10 ** 6}, "out of range"),
    ({"n_classes": 3 * 10 ** 9}, "out of range"),
    ({"size": 24}, "not a power of two"),
    ({"size": True}, "out of range"),
    ({"lr_mlp": float("inf")}, "lr_mlp"),
])
def test_a_lying_architecture_is_refused_before_any_network_is_built(nets, tmp_path, monkeypatch,
                                                                      lie, expected):
    from emoget_cli.gan import checkpoint as ckmod

    G, G_ema, D, g_opt = nets
    path = save_checkpoint(Checkpoint.from_modules(G_ema), tmp_path / "ck.pt")
    raw = torch.load(path, weights_only=True)
    raw["emoget"]["architecture"].update(lie)
    torch.save(raw, path)
    built = []
    monkeypatch.setattr(ckmod, "build_generator", lambda arch: built.append(arch))
    with pytest.raises(CheckpointError, match=expected):
        ckmod.load_checkpoint(path)
    assert built == []


def test_one_fitting_mechanism_exact_partial_and_check(nets):
    from emoget_cli.gan.checkpoint import fit_state_dict

    G, G_ema, D, _ = nets
    state = dict(G_ema.state_dict())
    fresh = Generator(**ARCH)
    assert fit_state_dict(fresh, state, "g_ema") is True
    assert torch.equal(fresh.style[1].weight, G_ema.style[1].weight)
    bigger = Generator(**{**ARCH, "style_dim": 64})
    with pytest.raises(CheckpointError, match="has shape"):
        fit_state_dict(bigger, state, "g_ema", load=False)
    assert fit_state_dict(bigger, state, "g_ema", partial=True) is False  # fine-tuning keeps the rest
    with pytest.raises(CheckpointError, match="not a tensor"):
        fit_state_dict(fresh, {**state, "style.1.weight": 3}, "g_ema")
