"""Network blending: layer table, swap rules, α recipes, endpoints, recipe storage, CLI."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from emoget_cli.core.errors import CheckpointError, UsageError  # noqa: E402
from emoget_cli.gan.blend import (BlendRecipe, blend_checkpoints, blend_state_dicts,  # noqa: E402
                                  layer_of_key, load_recipe_file, parse_alpha_rows, position_of)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_checkpoint(path, seed, size=32, channel_max=32, style_dim=32, n_classes=0, names=None):
    from emoget_cli.gan import Generator
    from emoget_cli.gan.checkpoint import Checkpoint, save_checkpoint

    torch.manual_seed(seed)
    G = Generator(size, style_dim=style_dim, n_mlp=2, channel_max=channel_max, n_classes=n_classes)
    ckpt = Checkpoint.from_modules(G, class_names=names, latent_avg=torch.randn(style_dim))
    save_checkpoint(ckpt, path)
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("blend")
    return tiny_checkpoint(d / "base.pt", 1), tiny_checkpoint(d / "style.pt", 2)


def _load(path):
    from emoget_cli.gan.checkpoint import load_checkpoint

    return load_checkpoint(path)


# -- layer table ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key, layer", [
    ("input.input", (4, 0)),
    ("conv1.conv.weight", (4, 1)),
    ("conv1.noise.weight", (4, 1)),
    ("to_rgb1.bias", (4, 1)),
    ("convs.0.conv.weight", (8, 0)),
    ("convs.1.activate.bias", (8, 1)),
    ("to_rgbs.0.conv.modulation.weight", (8, 1)),
    ("convs.4.conv.weight", (32, 0)),
    ("convs.11.conv.weight", (256, 1)),
    ("to_rgbs.5.bias", (256, 1)),
    ("style.1.weight", None),
    ("embed.weight", None),
    ("noises.noise_3", None),
    ("convs.0.conv.blur.kernel", None),
    ("to_rgbs.2.upsample.kernel", None),
])
def test_layer_table(key, layer):
    assert layer_of_key(key) == layer


def test_positions():
    assert [position_of(r, lv) for r in (4, 8, 16, 32) for lv in (0, 1)] == list(range(8))


def test_hard_swap_rule_has_the_off_by_one():
    # size 64 -> positions 0..9; swap at 16 (position 4): x = p - 4, fine model iff x > 1
    w = BlendRecipe.swap(16).weights(64)
    assert len(w) == 10
    from_fine = [row[0] for row in w]   # model 0 = base = fine model by default
    assert from_fine == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert all(row[1] == 1 - row[0] for row in w)
    # coarse from base reverses the roles
    w2 = BlendRecipe.swap(16, coarse_from=0).weights(64)
    assert [row[1] for row in w2] == from_fine


def test_smooth_swap_rule_is_logistic():
    width = 1.5
    w = BlendRecipe.swap(16, width).weights(64)
    for p, row in enumerate(w):
        y = 1 / (1 + math.exp(-(p - 4) / width))
        assert row[0] == pytest.approx(y) and row[1] == pytest.approx(1 - y)
    assert w[4][0] == pytest.approx(0.5)


def test_alpha_rows_interpolate_in_log_resolution():
    recipe = BlendRecipe.from_alpha({4: [1, 0], 64: [0, 1]}, 2)
    w = recipe.weights(128)
    by_res = {4 * 2 ** (p // 2): row for p, row in enumerate(w)}
    assert by_res[4] == (1.0, 0.0)
    assert by_res[16] == pytest.approx((0.5, 0.5))      # halfway between log2 4 and log2 64
    assert by_res[8] == pytest.approx((0.75, 0.25))
    assert by_res[64] == (0.0, 1.0) and by_res[128] == (0.0, 1.0)   # constant beyond the last row
    assert w[0] == w[1]                                  # both levels share a resolution's α


def test_alpha_rows_are_normalised_and_checked():
    recipe = BlendRecipe.from_alpha({4: [2, 2]}, 2)
    assert recipe.weights(32)[0] == (0.5, 0.5) and recipe.notes
    with pytest.raises(UsageError):
        BlendRecipe.from_alpha({4: [1, -1]}, 2)
    with pytest.raises(UsageError):
        BlendRecipe.from_alpha({4: [0, 0]}, 2)
    with pytest.raises(UsageError):
        BlendRecipe.from_alpha({6: [1, 0]}, 2)
    assert parse_alpha_rows(["4:1,0", "64:0.5,0.5"], 2) == {4: [1.0, 0.0], 64: [0.5, 0.5]}
    for bad in (["4-1,0"], ["x:1,0"], ["4:1"], ["4:1,0", "4:0,1"]):
        with pytest.raises(UsageError):
            parse_alpha_rows(bad, 2)


# -- blending weights --------------------------------------------------------------------------

def test_swap_takes_every_layer_from_the_documented_model(pair):
    a, b = _load(pair[0]).g_ema, _load(pair[1]).g_ema
    recipe = BlendRecipe.swap(8)          # size 32: positions 0..7; fine (base) from position 4
    out = blend_state_dicts([a, b], recipe, 32)
    assert recipe.mapping_index(32) == 1  # the coarse (style) model gives the mapping
    for key, value in out.items():
        layer = layer_of_key(key)
        if layer is None:
            expected = b[key]
        else:
            expected = a[key] if position_of(*layer) >= 4 else b[key]
        assert torch.equal(value, expected), key


def test_smooth_blend_mixes_linearly(pair):
    a, b = _load(pair[0]).g_ema, _load(pair[1]).g_ema
    recipe = BlendRecipe.swap(8, width=1.0)
    out = blend_state_dicts([a, b], recipe, 32)
    w = recipe.weights(32)
    key = "convs.1.conv.weight"           # position 3
    expected = w[3][0] * a[key].double() + w[3][1] * b[key].double()
    assert torch.allclose(out[key].double(), expected, atol=1e-6)
    assert not torch.equal(out[key], a[key]) and not torch.equal(out[key], b[key])


@pytest.mark.parametrize("alpha, index", [((1.0, 0.0), 0), ((0.0, 1.0), 1)])
def test_alpha_endpoints_reproduce_the_inputs_bitwise(pair, tmp_path, alpha, index):
    from emoget_cli.gan.checkpoint import save_checkpoint

    recipe = BlendRecipe.from_alpha({4: list(alpha)}, 2)
    ckpt = blend_checkpoints(pair, recipe)
    save_checkpoint(ckpt, tmp_path / "out.pt")
    back = _load(tmp_path / "out.pt")
    src = _load(pair[index])
    assert set(back.g_ema) == set(src.g_ema)
    for key in src.g_ema:
        assert torch.equal(back.g_ema[key], src.g_ema[key]), key
    assert torch.equal(back.latent_avg, src.latent_avg)


def test_recipe_is_stored_and_reloaded(pair, tmp_path):
    from emoget_cli.gan.checkpoint import save_checkpoint

    recipe = BlendRecipe.swap(16, 0.7, mapping_from=0)
    save_checkpoint(blend_checkpoints(pair, recipe), tmp_path / "b.pt")
    entry = _load(tmp_path / "b.pt").blend
    assert BlendRecipe.from_dict(entry["recipe"]) == recipe
    assert [m["file"] for m in entry["models"]] == ["base.pt", "style.pt"]
    assert all(len(m["sha256"]) == 64 for m in entry["models"])
    assert entry["mapping_from"] == 0 and len(entry["layers"]) == 8
    alpha = BlendRecipe.from_alpha({4: [1, 0], 32: [0.25, 0.75]}, 2)
    save_checkpoint(blend_checkpoints(pair, alpha), tmp_path / "c.safetensors")
    assert BlendRecipe.from_dict(_load(tmp_path / "c.safetensors").blend["recipe"]) == alpha


def test_three_models(pair, tmp_path):
    third = tiny_checkpoint(tmp_path / "third.pt", 3)
    recipe = BlendRecipe.from_alpha({4: [1, 1, 1]}, 3)
    ckpt = blend_checkpoints([*pair, third], recipe)
    sds = [_load(p).g_ema for p in (*pair, third)]
    key = "convs.2.conv.weight"
    mean = sum(sd[key].double() for sd in sds) / 3
    assert torch.allclose(ckpt.g_ema[key].double(), mean, atol=1e-6)


def test_mismatched_architectures_are_refused(pair, tmp_path):
    narrow = tiny_checkpoint(tmp_path / "narrow.pt", 4, channel_max=16)
    bigger = tiny_checkpoint(tmp_path / "bigger.pt", 5, size=64)
    for other in (narrow, bigger):
        with pytest.raises(CheckpointError):
            blend_checkpoints([pair[0], other], BlendRecipe.swap(8))


def test_recipe_file(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("alpha:\n  4: [1, 0]\n  64: [0.5, 0.5]\nmapping_from: 1\n")
    r = load_recipe_file(f, 2)
    assert r.mode == "alpha" and r.mapping_from == 1 and dict(r.alpha)[64] == (0.5, 0.5)
    f.write_text("swap_res: 32\nwidth: 2\ncoarse_from: base\n")
    r = load_recipe_file(f, 2)
    assert (r.mode, r.swap_res, r.width, r.coarse_from) == ("swap", 32, 2.0, 0)
    f.write_text("swap_rez: 32\n")
    with pytest.raises(UsageError):
        load_recipe_file(f, 2)


# -- CLI -----------------------------------------------------------------------------------------

def test_cli_blend_swap(cli, pair, tmp_path):
    out = tmp_path / "toon.pt"
    res = cli("blend", *pair, "--swap-res", "8", "--width", "1", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    import json

    report = json.loads(res.stdout)
    assert report["recipe"]["swap_res"] == 8 and report["mapping_from"] == 1
    assert _load(out).blend["recipe"]["width"] == 1.0


def test_cli_blend_alpha_and_recipe(cli, pair, tmp_path):
    res = cli("blend", *pair, "--alpha", "4:1,0", "--alpha", "32:0,1", "-o", tmp_path / "a.pt", "-q")
    assert res.exit_code == 0, res.output
    f = tmp_path / "r.yaml"
    f.write_text("swap_res: 16\n")
    res = cli("blend", *pair, "--recipe", f, "--mapping-from", "base", "-o", tmp_path / "r.pt", "-q")
    assert res.exit_code == 0, res.output
    assert _load(tmp_path / "r.pt").blend["mapping_from"] == 0


def test_cli_blend_bad_inputs(cli, pair, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    out = tmp_path / "never.pt"
    res = cli("blend", pair[0], junk, "--swap-res", "8", "-o", out)
    assert res.exit_code == 5 and not out.exists()
    narrow = tiny_checkpoint(tmp_path / "narrow.pt", 4, channel_max=16)
    res = cli("blend", pair[0], narrow, "--swap-res", "8", "-o", out)
    assert res.exit_code == 5 and "architecture" in res.output and not out.exists()
    res = cli("blend", *pair, "-o", out)                      # no recipe
    assert res.exit_code == 2 and not out.exists()
    res = cli("blend", *pair, "--swap-res", "12", "-o", out)  # not a power of two
    assert res.exit_code == 2 and not out.exists()
    res = cli("blend", *pair, "--swap-res", "32", "-o", out)  # 32 px models: nothing to swap
    assert res.exit_code == 2 and "below the generators' output size" in res.stderr
    assert not out.exists()
    before = pair[1].read_bytes()
    res = cli("blend", *pair, "--swap-res", "8", "-o", pair[1])  # would replace STYLE
    assert res.exit_code == 2 and "overwrite the input" in res.stderr
    assert pair[1].read_bytes() == before
    assert not list(tmp_path.glob(".never*"))


def test_conditional_models_need_the_same_classes(tmp_path):
    a = tiny_checkpoint(tmp_path / "a.pt", 1, n_classes=2, names=["toon", "baby"])
    b = tiny_checkpoint(tmp_path / "b.pt", 2, n_classes=2, names=["toon", "baby"])
    c = tiny_checkpoint(tmp_path / "c.pt", 3, n_classes=2, names=["toon", "anime"])
    ckpt = blend_checkpoints([a, b], BlendRecipe.swap(8))
    assert ckpt.class_names == ["toon", "baby"]
    assert torch.equal(ckpt.g_ema["embed.weight"], _load(b).g_ema["embed.weight"])  # mapping side
    with pytest.raises(CheckpointError):
        blend_checkpoints([a, c], BlendRecipe.swap(8))


def test_missing_fir_kernels_are_tolerated(pair):
    a, b = _load(pair[0]).g_ema, _load(pair[1]).g_ema
    a = {k: v for k, v in a.items() if not k.endswith(".kernel")}
    out = blend_state_dicts([a, b], BlendRecipe.swap(8, coarse_from=0), 32)   # mapping from a
    assert not any(k.endswith(".kernel") for k in out)
    out = blend_state_dicts([a, b], BlendRecipe.swap(8), 32)                  # mapping from b
    assert "convs.0.conv.blur.kernel" in out
