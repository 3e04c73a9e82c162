"""GAN inversion: recovery of G(w*) in W+, batches, PTI, render, and the invert/render CLIs."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emoget_cli.core.errors import CheckpointError, UsageError  # noqa: E402
from emoget_cli.core.latent import load_latent, save_latent  # noqa: E402
from emoget_cli.gan.invert import (InvertConfig, invert, lr_schedule, noise_regularization,  # noqa: E402
                                   normalize_noise_, psnr, render_latent, to_uint8)

STEPS = 150


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def calibrated_generator(seed=0, size=32, n_classes=0):
    """A tiny random generator whose images mostly lie in [-1, 1] (ToRGB scaled down)."""
    from emoget_cli.gan import Generator

    torch.manual_seed(seed)
    G = Generator(size, style_dim=32, n_mlp=2, channel_max=32, n_classes=n_classes).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if "to_rgb" in name and name.endswith("conv.weight"):
                p.mul_(0.25)
            elif "to_rgb" in name and name.endswith(".bias") and "modulation" not in name:
                p.zero_()
    if n_classes:
        G.class_names = [f"c{i}" for i in range(n_classes)]
    return G


def save_generator(G, path):
    from emoget_cli.gan.checkpoint import Checkpoint, save_checkpoint

    save_checkpoint(Checkpoint.from_modules(G), path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from emoget_cli.core.image_io import write_image

    d = tmp_path_factory.mktemp("inv")
    G = calibrated_generator()
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        w_star = G.mapping(torch.randn(2, 32, generator=gen))        # [2, S]
        targets = G.synthesis(w_star)                                 # constant noise buffers
    ckpt = save_generator(G, d / "g.pt")
    faces = []
    for i, rgb in enumerate(to_uint8(targets)):
        faces.append(write_image(d / f"face{i}.png", rgb))
    t0 = time.perf_counter()
    result = invert(targets, G, InvertConfig(steps=STEPS, optimize_noise=False, perceptual="fallback",
                                             n_mean=2000))
    elapsed = time.perf_counter() - t0
    return {"dir": d, "G": G, "targets": targets, "ckpt": ckpt, "faces": faces, "result": result,
            "seconds": elapsed, "w_star": w_star}


def test_w_plus_inversion_recovers_the_image(setup):
    r = setup["result"]
    values = psnr(r.images, setup["targets"])
    print(f"\n[inversion] batch of 2, {STEPS} steps, 32 px: PSNR {values.tolist()} dB, "
          f"{setup['seconds']:.2f} s ({r.step_seconds * 1000:.1f} ms/step)")
    assert r.w_plus.shape == (2, setup["G"].n_latent, 32)
    assert (values >= 30).all(), values
    assert [round(x["psnr"], 3) for x in r.losses] == [round(float(v), 3) for v in values]
    assert r.perceptual == "fallback"


def test_batch_faces_are_inverted_independently(setup):
    r = setup["result"]
    # each face converged to its own target, not to a compromise of both
    cross = psnr(r.images, setup["targets"].flip(0))
    assert (cross < 25).all()
    assert not torch.allclose(r.w_plus[0], r.w_plus[1])


def test_latent_round_trip_renders_the_inverted_image(setup, tmp_path):
    r = setup["result"]
    lat = r.latent_files("cd" * 32, ["a.png", "b.png"])[1]
    back = load_latent(save_latent(lat, tmp_path / "b.latent.pt"))
    assert back.source == "b.png" and back.generator_sha256 == "cd" * 32 and back.resolution == 32
    img = render_latent(setup["G"], back)
    assert torch.allclose(img, r.images[1:2], atol=1e-5)


def test_progress_and_w_space(setup):
    calls = []
    G = setup["G"]
    r = invert(setup["targets"][:1], G, InvertConfig(steps=5, space="w", perceptual="none", n_mean=500),
               progress=lambda done, total, **f: calls.append((done, total, f)))
    assert [c[0] for c in calls] == [1, 2, 3, 4, 5] and calls[-1][1] == 5
    assert all(p.requires_grad for p in G.parameters())      # the caller's G is left as it was
    assert "loss" in calls[0][2] and np.isfinite(calls[0][2]["loss"])
    assert torch.equal(r.w_plus[0, 0], r.w_plus[0, -1])       # one w for every layer
    assert len(r.noise) == G.num_layers and r.noise[-1].shape == (1, 1, 32, 32)
    for n in r.noise:                                          # renormalised after every step
        assert abs(float(n.mean())) < 1e-4 and abs(float(n.std()) - 1) < 1e-3


def test_pivotal_tuning_tunes_a_copy(setup):
    G = setup["G"]
    before = {k: v.clone() for k, v in G.state_dict().items()}
    cfg = InvertConfig(steps=10, pti_steps=15, perceptual="fallback", optimize_noise=False,
                       n_mean=500, pti_lr=1e-3)
    r = invert(setup["targets"], G, cfg)
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in before.items())   # input untouched
    tuned = r.generator.state_dict()
    assert not torch.equal(tuned["convs.0.conv.weight"], before["convs.0.conv.weight"])
    assert torch.equal(tuned["style.1.weight"], before["style.1.weight"])       # mapping frozen
    for row in r.losses:
        assert row["pti_psnr"] > row["psnr"]


def test_conditional_start_and_bad_class(setup):
    G = calibrated_generator(seed=3, n_classes=2)
    target = setup["targets"][:1]
    r = invert(target, G, InvertConfig(steps=2, class_name="c1", perceptual="none", n_mean=200))
    assert r.class_name == "c1"
    with pytest.raises(UsageError):
        invert(target, G, InvertConfig(steps=2, class_name="nope", perceptual="none"))
    with pytest.raises(UsageError):
        invert(target, setup["G"], InvertConfig(steps=2, class_name="c1", perceptual="none"))


def test_helpers():
    assert lr_schedule(0.0, 0.1) == 0.0
    assert lr_schedule(0.5, 0.1) == pytest.approx(0.1)
    assert lr_schedule(0.025, 0.1) == pytest.approx(0.05)
    assert lr_schedule(0.875, 0.1) == pytest.approx(0.05)       # halfway down the cosine ramp
    torch.manual_seed(0)
    white = [torch.randn(2, 1, 32, 32)]
    smooth = [torch.nn.functional.interpolate(torch.randn(2, 1, 8, 8), size=32, mode="bilinear")]
    normalize_noise_(smooth)
    assert noise_regularization(white).shape == (2,)
    assert (noise_regularization(smooth) > 50 * noise_regularization(white)).all()
    with pytest.raises(UsageError):
        InvertConfig(space="z").validate()


# -- CLI -------------------------------------------------------------------------------------------

def test_cli_invert_then_render(cli, setup, tmp_path):
    from emoget_cli.core.image_io import read_image

    out = tmp_path / "face0.latent.pt"
    res = cli("invert", setup["faces"][0], "--ckpt", setup["ckpt"], "--steps", STEPS, "--noise", "fixed",
              "--perceptual", "fallback", "--device", "cpu", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["faces"][0]["psnr"] >= 30 and report["perceptual"] == "fallback"
    recon = tmp_path / "face0.recon.png"
    assert out.is_file() and recon.is_file()
    lat = load_latent(out)
    assert lat.source == "face0.png" and len(lat.generator_sha256) == 64

    styled = tmp_path / "styled.png"
    res = cli("render", out, "--ckpt", setup["ckpt"], "-o", styled, "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "different generator" not in res.output
    a, b = read_image(styled).rgb.astype(int), read_image(recon).rgb.astype(int)
    assert np.abs(a - b).max() <= 1


def test_cli_render_with_another_generator(cli, setup, tmp_path):
    lat = setup["result"].latent_files("00" * 32)[0]
    path = save_latent(lat, tmp_path / "x.latent.pt")
    other = save_generator(calibrated_generator(seed=5), tmp_path / "other.pt")
    res = cli("render", path, "--ckpt", other, "-o", tmp_path / "t.png", "--size", "64")
    assert res.exit_code == 0, res.output
    assert "different generator" in res.output                # a note, not an error
    from emoget_cli.core.image_io import read_image

    assert read_image(tmp_path / "t.png").size == (64, 64)
    bigger = save_generator(calibrated_generator(seed=5, size=64), tmp_path / "big.pt")
    res = cli("render", path, "--ckpt", bigger, "-o", tmp_path / "never.png")
    assert res.exit_code == 5 and "latent" in res.output and not (tmp_path / "never.png").exists()
    res = cli("render", setup["ckpt"], "--ckpt", setup["ckpt"], "-o", tmp_path / "never.png")
    assert res.exit_code == 5 and not (tmp_path / "never.png").exists()


def test_render_compatibility_check(setup):
    from emoget_cli.cli.render import check_compatible

    lat = setup["result"].latent_files()[0]
    lat.w_plus = lat.w_plus[:, :16]
    with pytest.raises(CheckpointError):
        check_compatible(setup["G"], lat, "g.pt")


def test_cli_invert_batch_with_pti(cli, setup, tmp_path):
    res = cli("invert", *setup["faces"], "--ckpt", setup["ckpt"], "--steps", "5", "--pti",
              "--pti-steps", "3", "--perceptual", "none", "-o", tmp_path / "out", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert len(report["faces"]) == 2
    for i in range(2):
        lat = load_latent(tmp_path / "out" / f"face{i}.latent.pt")
        assert lat.extra["pti_checkpoint"] == "pti.pt" and len(lat.extra["pti_sha256"]) == 64
        assert (tmp_path / "out" / f"face{i}.recon.png").is_file()
    from emoget_cli.gan.checkpoint import load_generator

    tuned = load_generator(tmp_path / "out" / "pti.pt")
    assert tuned.n_latent == setup["G"].n_latent
    # rendering with the tuned generator is "the same generator" (no note)
    res = cli("render", tmp_path / "out" / "face0.latent.pt", "--ckpt", tmp_path / "out" / "pti.pt",
              "-o", tmp_path / "p.png")
    assert res.exit_code == 0 and "different generator" not in res.output


def test_cli_invert_bad_inputs(cli, setup, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"nope")
    out = tmp_path / "x.latent.pt"
    res = cli("invert", setup["faces"][0], "--ckpt", junk, "-o", out)
    assert res.exit_code == 5 and not out.exists() and "Traceback" not in res.output
    bad_img = tmp_path / "bad.png"
    bad_img.write_bytes(b"\x89PNG broken")
    res = cli("invert", bad_img, "--ckpt", setup["ckpt"], "-o", out)
    assert res.exit_code == 3 and not out.exists()
    res = cli("invert", *setup["faces"], "--ckpt", setup["ckpt"], "-o", out)   # 2 faces, one file
    assert res.exit_code == 2
    res = cli("invert", setup["faces"][0], "--ckpt", setup["ckpt"], "--class", "x", "-o", out)
    assert res.exit_code == 2 and not out.exists()
    assert not list(tmp_path.glob("*.png"))[1:]   # only bad.png


def test_cli_invert_writes_all_or_nothing(cli, setup, tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "face1.recon.png").mkdir(parents=True)  # caught before the optimisation
    res = cli("invert", *setup["faces"], "--ckpt", setup["ckpt"], "--steps", "2", "-o", out)
    assert res.exit_code == 7 and "is a folder" in res.stderr, res.output
    assert [p.name for p in out.iterdir()] == ["face1.recon.png"]
    # a write that fails half way removes what was already written (latents, pti.pt)
    import emoget_cli.core.image_io as image_io
    from emoget_cli.core.errors import OutputError

    real = image_io.write_image

    def second_recon_fails(path, *args, **kwargs):
        if str(path).endswith("face1.recon.png"):
            raise OutputError(f"cannot write {path}: disk full")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(image_io, "write_image", second_recon_fails)
    out2 = tmp_path / "out2"
    res = cli("invert", *setup["faces"], "--ckpt", setup["ckpt"], "--steps", "2", "--pti",
              "--pti-steps", "1", "--perceptual", "none", "-o", out2)
    assert res.exit_code == 7 and "disk full" in res.stderr, res.output
    assert not list(out2.iterdir())


def test_render_moves_a_latent_to_another_class():
    G = calibrated_generator(seed=3, n_classes=2)
    with torch.no_grad():
        G.embed.weight.mul_(5.0)   # make the classes far apart in W
    r = invert(torch.zeros(1, 3, 32, 32), G, InvertConfig(steps=1, class_name="c0", perceptual="none",
                                                           n_mean=200))
    lat = r.latent_files()[0]
    same = render_latent(G, lat)
    assert torch.allclose(render_latent(G, lat, class_name="c0"), same, atol=1e-6)
    moved = render_latent(G, lat, class_name="c1")
    assert (moved - same).abs().mean() > 1e-3


def test_cli_invert_warns_once_about_the_fallback(cli, setup, tmp_path, monkeypatch):
    from emoget_cli.gan import perceptual

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights"))
    perceptual.reset_warnings()
    res = cli("invert", *setup["faces"], "--ckpt", setup["ckpt"], "--steps", "3", "-o", tmp_path)
    assert res.exit_code == 0, res.output
    assert res.output.count("structural fallback") == 1
    assert (tmp_path / "face0.latent.pt").is_file() and (tmp_path / "face1.recon.png").is_file()
    perceptual.reset_warnings()


def test_cli_invert_aligns_a_real_photo(cli, setup, astronaut_path, tmp_path):
    pytest.importorskip("dlib")
    out = tmp_path / "astro.latent.pt"
    res = cli("invert", astronaut_path, "--align", "--ckpt", setup["ckpt"], "--steps", "2",
              "--perceptual", "none", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    from emoget_cli.core.image_io import read_image

    recon = read_image(tmp_path / "astro.recon.png")
    assert recon.size == (32, 32) and load_latent(out).source == astronaut_path.name


def test_cli_invert_goes_on_past_a_bad_face_and_exits_9(cli, setup, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    out = tmp_path / "out"
    res = cli("invert", setup["faces"][0], bad, setup["faces"][1], "--ckpt", setup["ckpt"],
              "--steps", "2", "--perceptual", "none", "-o", out, "--json")
    assert res.exit_code == 9, res.output
    assert "bad.png" in res.stderr and "1 of 3 faces failed" in res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["face0.latent.pt", "face0.recon.png",
                                                     "face1.latent.pt", "face1.recon.png"]
    report = json.loads(res.stdout)
    assert [row["input"] for row in report["faces"]] == [str(f) for f in setup["faces"]]
    assert len(report["failed"]) == 1
