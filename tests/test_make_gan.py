"""The gan engine through `make --generator`: a tiny random generator (its output has no face)
exercises inversion, rendering and the fallback to the photo's landmarks."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory):
    import torch

    from emoget_cli.gan import Generator, save_checkpoint
    from emoget_cli.gan.checkpoint import Checkpoint

    torch.manual_seed(0)
    G = Generator(32, style_dim=32, n_mlp=2, channel_multiplier=1, channel_max=16).eval()
    return save_checkpoint(Checkpoint.from_modules(G), tmp_path_factory.mktemp("g") / "tinytoon.pt")


def test_make_with_generator_falls_back_to_photo_landmarks(cli, astronaut_path, tiny_generator, tmp_path):
    from emoget_cli.core.latent import load_latent
    from emoget_cli.core.track import load_track
    from emoget_cli.weights import sha256_file

    inter = tmp_path / "inter"
    out = tmp_path / "toon.gif"
    res = cli("make", astronaut_path, "--generator", tiny_generator, "--invert-steps", 3,
              "--size", 64, "--frames", 4, "--expr", "surprise", "--device", "cpu",
              "--keep-intermediate", inter, "-o", out, "--json")
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)["results"][0]
    assert r["engine"] == "gan" and r["style"] == "tinytoon"
    assert r["landmarks"] == "photo"  # a random generator draws no face
    assert out.stat().st_size > 0
    latent = load_latent(inter / "latent.pt")
    assert latent.generator_sha256 == sha256_file(tiny_generator)
    assert tuple(latent.w_plus.shape)[-1] == 32
    aligned = load_track(inter / "aligned.landmarks.json").aligned.points
    styled = load_track(inter / "styled.landmarks.json")
    assert styled.meta["landmarks"] == "photo"
    np.testing.assert_allclose(styled.points_array()[0], aligned, atol=1e-2)
    from emoget_cli.core.image_io import read_image

    assert read_image(inter / "styled.png").rgb.shape == (64, 64, 3)


def test_registered_gan_style_with_bad_hash_is_one_line(cli, astronaut_path, tiny_generator, tmp_path,
                                                        monkeypatch):
    import shutil

    monkeypatch.setenv("EMOGET_WEIGHTS_DIR", str(tmp_path / "w"))
    ck = tmp_path / "t.pt"
    shutil.copy(tiny_generator, ck)
    assert cli("weights", "add", "tt", ck).exit_code == 0
    ck.write_bytes(ck.read_bytes()[:-10])
    res = cli("make", astronaut_path, "--style", "tt", "--size", 64, "--frames", 4,
              "-o", tmp_path / "o.gif")
    assert res.exit_code == 5, res.output
    assert "sha256" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.gif").exists()
    ck.unlink()
    res = cli("make", astronaut_path, "--style", "tt", "-o", tmp_path / "o.gif")
    assert res.exit_code == 8 and "not found" in res.stderr


def test_bad_class_fails_before_the_inversion(astronaut_path, tiny_generator, tmp_path, monkeypatch):
    import emoget_cli.gan.invert as gan_invert
    from emoget_cli.pipeline import MakeConfig, make

    monkeypatch.setattr(gan_invert, "invert", lambda *a, **k: pytest.fail("inversion started"))
    cfg = MakeConfig(output=tmp_path / "o.gif", generator=tiny_generator, class_name="7",
                     invert_steps=2, animation=dict(size=64, frames=2), device="cpu")
    (r,) = make([astronaut_path], cfg)
    assert not r.ok and r.exit_code == 2 and "unconditional" in r.error
    assert not (tmp_path / "o.gif").exists()


def test_base_generator_is_the_one_inverted_into(cli, astronaut_path, tiny_generator, tmp_path):
    """`--generator STYLE --base PHOTO`: the Toonify trick without a registry entry: the latent
    comes from the base model, the picture from the style model."""
    import torch

    from emoget_cli.core.latent import load_latent
    from emoget_cli.gan import Generator, save_checkpoint
    from emoget_cli.gan.checkpoint import Checkpoint
    from emoget_cli.weights import sha256_file

    torch.manual_seed(1)
    other = Generator(32, style_dim=32, n_mlp=2, channel_multiplier=1, channel_max=16).eval()
    base = save_checkpoint(Checkpoint.from_modules(other), tmp_path / "photo.pt")
    inter = tmp_path / "inter"
    res = cli("make", astronaut_path, "--generator", tiny_generator, "--base", base,
              "--invert-steps", 2, "--size", 64, "--frames", 4, "--device", "cpu",
              "--keep-intermediate", inter, "-o", tmp_path / "t.gif")
    assert res.exit_code == 0, res.output
    latent = load_latent(inter / "latent.pt")
    assert latent.generator_sha256 == sha256_file(base) != sha256_file(tiny_generator)
    # --base alone, or a missing base file, is refused before any work
    res = cli("make", astronaut_path, "--base", base, "-o", tmp_path / "u.gif")
    assert res.exit_code == 2 and "--base needs --generator" in res.output
    res = cli("make", astronaut_path, "--generator", tiny_generator, "--base", tmp_path / "no.pt",
              "-o", tmp_path / "v.gif")
    assert res.exit_code == 8 and not (tmp_path / "v.gif").exists()
