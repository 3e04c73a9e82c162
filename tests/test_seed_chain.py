"""The seed's face2emoticon method chained through the CLI with files on disk, as a shell script
would run it (README "The GAN workflow"):

    train stylegan (photo data)  ->  base/latest.pt
    train stylegan --resume base --freeze-d 1 (style data)  ->  toon/latest.pt
    blend base toon --swap-res 8  ->  blended.pt
    sample base blended --label photo --label toon  ->  data/   ->  train stylegan --conditional
    invert face.png --ckpt base  ->  face.latent.pt  ->  render with blended / conditional --class
    make astronaut.png --generator (conditional --class | blended) --keep-intermediate

Tiny models (32 px, 32 channels, style_dim 32, 2 mapping layers, batch 4, a few hundredths of a
kimg) keep every step to a fraction of a second; the expensive steps are module fixtures that
every test reads from disk, like the next command of a script would.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SIZE = 32
N_LATENT = 8            # rosinality: 2 * log2(32) - 2 w vectors
ARCH = ["--channel-max", "32", "--style-dim", "32", "--n-mlp", "2"]
RUN = ["--batch", "4", "--workers", "0", "--device", "cpu", "--snapshot-every", "0", "--json"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def mcli():
    """The `cli` fixture of conftest.py, module-scoped so module fixtures can chain commands."""
    from typer.testing import CliRunner

    from emoget_cli.cli.app import app

    runner = CliRunner()

    def invoke(*args) -> dict:
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exit_code == 0, f"emoget {' '.join(map(str, args))}\n{res.output}"
        return json.loads(res.stdout)

    return invoke


def _rgb(path) -> np.ndarray:
    from emoget_cli.core.image_io import read_image

    return read_image(path).rgb


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def _ckpt(path):
    from emoget_cli.gan import load_checkpoint

    return load_checkpoint(path)


# -------------------------------------------------------------------------------------------
# the chain, one module fixture per stage
# -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """photo/ (synthetic faces, unlabelled) and style/ (other faces of the same kind, posterised
    to 2 bits per channel: flat colours, visibly a different domain)."""
    from PIL import Image, ImageOps

    from emoget_cli.gan.dataset import write_synthetic_dataset

    root = tmp_path_factory.mktemp("chain")
    write_synthetic_dataset(root / "photo", n_per_class=8, size=SIZE, seed=0, labels="none")
    style = write_synthetic_dataset(root / "style", n_per_class=8, size=SIZE, seed=1, labels="none")
    for png in style.glob("*.png"):
        ImageOps.posterize(Image.open(png).convert("RGB"), 2).save(png)
    return root


@pytest.fixture(scope="module")
def base(mcli, work) -> dict:
    out = work / "base"
    report = mcli("train", "stylegan", "--data", work / "photo", "--output", out, "--size", SIZE,
                  *ARCH, "--kimg", "0.02", *RUN)
    return {"ckpt": out / "latest.pt", "report": report}


@pytest.fixture(scope="module")
def toon(mcli, work, base) -> dict:
    """Fine-tune the base on the style data (few-shot: D's fromRGB + first block frozen); a short
    EMA half-life so g_ema follows the few steps taken."""
    out = work / "toon"
    report = mcli("train", "stylegan", "--data", work / "style", "--output", out,
                  "--resume", base["ckpt"], "--reset-progress", "--freeze-d", "1",
                  "--ema-kimg", "0.001", "--kimg", "0.012", *RUN)
    return {"ckpt": out / "latest.pt", "report": report}


@pytest.fixture(scope="module")
def blended(mcli, work, base, toon) -> dict:
    out = work / "blended.pt"
    report = mcli("blend", base["ckpt"], toon["ckpt"], "--swap-res", "8", "-o", out, "--json")
    return {"ckpt": out, "report": report}


@pytest.fixture(scope="module")
def dataset(mcli, work, base, blended) -> dict:
    out = work / "data"
    report = mcli("sample", base["ckpt"], blended["ckpt"], "--n", "6", "--label", "photo",
                  "--label", "toon", "--seed", "1", "--device", "cpu", "-o", out, "--json")
    return {"path": out, "report": report}


@pytest.fixture(scope="module")
def cond(mcli, work, dataset) -> dict:
    out = work / "cond"
    report = mcli("train", "stylegan", "--data", dataset["path"], "--conditional", "--output", out,
                  "--size", SIZE, *ARCH, "--kimg", "0.02", *RUN)
    return {"ckpt": out / "latest.pt", "report": report}


@pytest.fixture(scope="module")
def face(mcli, work, base) -> Path:
    """A picture drawn by the base generator, through `sample` (a PNG on disk, 32 x 32)."""
    mcli("sample", base["ckpt"], "--n", "1", "--label", "face", "--seed", "7", "--device", "cpu",
         "-o", work / "pics", "--json")
    (png,) = sorted((work / "pics" / "face").glob("*.png"))
    return png


@pytest.fixture(scope="module")
def inverted(mcli, work, base, face) -> dict:
    latent = work / "face.latent.pt"
    report = mcli("invert", face, "--ckpt", base["ckpt"], "--steps", "40", "--perceptual", "fallback",
                  "--device", "cpu", "-o", latent, "--json")
    return {"latent": latent, "report": report}


# -------------------------------------------------------------------------------------------
# 1-2: datasets, base training, fine-tuning
# -------------------------------------------------------------------------------------------

def test_base_model_is_trained_on_the_photo_data(base, work):
    report = base["report"]
    assert report["steps"] == 5 and report["kimg"] == pytest.approx(0.02)  # 20 images / batch 4
    assert Path(report["latest"]) == base["ckpt"]
    ck = _ckpt(base["ckpt"])
    arch = ck.architecture
    assert (arch["size"], arch["style_dim"], arch["n_mlp"], arch["channel_max"]) == (SIZE, 32, 2, 32)
    assert not ck.class_names and ck.g is not None and ck.d is not None
    assert np.isfinite([report["metrics"]["d_loss"], report["metrics"]["g_loss"]]).all()
    options = json.loads((work / "base" / "training_options.json").read_text())["config"]
    assert Path(options["data"]) == work / "photo" and options["conditional"] is False


def test_finetune_resumes_the_base_and_freezes_d(base, toon, work):
    report = toon["report"]
    assert report["steps"] == 3 and Path(report["latest"]) == toon["ckpt"]
    b, t = _ckpt(base["ckpt"]), _ckpt(toon["ckpt"])
    assert t.architecture == b.architecture  # the resumed architecture, nothing retyped
    options = json.loads((work / "toon" / "training_options.json").read_text())["config"]
    assert options["freeze_d"] == 1 and Path(options["resume"]) == base["ckpt"]
    assert Path(options["data"]) == work / "style"
    # --freeze-d 1: D's fromRGB (convs.0) and first block (convs.1) are the base's, bit for bit;
    # the rest of D and the generator moved
    frozen = [k for k in b.d if k.startswith(("convs.0.", "convs.1."))]
    assert frozen and all(torch.equal(b.d[k], t.d[k]) for k in frozen)
    assert not torch.equal(b.d["final_linear.1.weight"], t.d["final_linear.1.weight"])
    assert not torch.equal(b.g["conv1.conv.weight"], t.g["conv1.conv.weight"])
    assert not torch.equal(b.g_ema["convs.5.conv.weight"], t.g_ema["convs.5.conv.weight"])


def test_finetune_from_another_run_starts_a_new_run(cli, base, work, tmp_path):
    """README step 1 fine-tunes with `--resume runs/ffhq/latest.pt --output runs/toon` and no
    --reset-progress, from a base that already reached this --kimg: a checkpoint from another
    folder seeds a new run (kimg from 0), so it trains and writes its own checkpoint."""
    out = tmp_path / "toon2"
    res = cli("train", "stylegan", "--data", work / "style", "--output", out, "--resume", base["ckpt"],
              "--freeze-d", "1", "--kimg", "0.02", *RUN)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert Path(report["latest"]).is_file() and report["steps"] >= 1
    opts = json.loads((out / "training_options.json").read_text())
    assert opts["config"]["reset_progress"] is True


# -------------------------------------------------------------------------------------------
# 3: blend
# -------------------------------------------------------------------------------------------

def test_blend_records_the_recipe_and_swaps_the_layers(base, toon, blended):
    from emoget_cli.weights import sha256_file

    ck = _ckpt(blended["ckpt"])
    recipe = ck.blend["recipe"]
    assert recipe["mode"] == "swap" and recipe["swap_res"] == 8 and recipe["width"] is None
    assert recipe["coarse_from"] == 1  # coarse layers from STYLE by default
    assert [m["sha256"] for m in ck.blend["models"]] == [sha256_file(base["ckpt"]),
                                                          sha256_file(toon["ckpt"])]
    assert ck.blend["mapping_from"] == 1 == blended["report"]["mapping_from"]
    alphas = [tuple(layer["alpha"]) for layer in ck.blend["layers"]]
    assert len(alphas) == N_LATENT
    assert alphas[:4] == [(0.0, 1.0)] * 4 and alphas[4:] == [(1.0, 0.0)] * 4  # 4-8 px: toon
    assert ck.architecture == _ckpt(base["ckpt"]).architecture
    assert ck.g is None and ck.d is None  # a generator only

    b, t, g = _ckpt(base["ckpt"]).g_ema, _ckpt(toon["ckpt"]).g_ema, ck.g_ema
    coarse = [k for k in g if k.startswith(("conv1.", "convs.0.", "convs.1."))]
    fine = [k for k in g if k.startswith(("convs.2.", "convs.3.", "convs.4.", "convs.5.", "to_rgbs.2."))]
    mapping = [k for k in g if k.startswith("style.")]
    assert coarse and fine and mapping
    assert all(torch.equal(g[k], t[k]) for k in coarse + mapping)
    assert all(torch.equal(g[k], b[k]) for k in fine)
    assert any(not torch.equal(b[k], t[k]) for k in coarse) and any(not torch.equal(b[k], t[k]) for k in fine)


# -------------------------------------------------------------------------------------------
# 4: sample -> conditional training
# -------------------------------------------------------------------------------------------

def test_samples_of_base_and_blended_form_a_labelled_dataset(dataset):
    report, root = dataset["report"], dataset["path"]
    assert report["class_names"] == ["photo", "toon"] and report["class_counts"] == [6, 6]
    doc = json.loads((root / "dataset.json").read_text())
    labels = dict(doc["labels"])
    assert len(labels) == 12 and sorted(labels.values()) == [0] * 6 + [1] * 6
    images = {}
    for rel, label in labels.items():
        rgb = _rgb(root / rel)
        assert rgb.shape == (SIZE, SIZE, 3) and rgb.dtype == np.uint8 and rgb.std() > 0
        images.setdefault(label, []).append(rgb.astype(np.float64))
        assert rel.startswith(("photo/", "toon/")[label])
    # same seed, different generators: the two classes are different pictures
    assert np.abs(np.mean(images[0], 0) - np.mean(images[1], 0)).mean() > 5.0


def test_conditional_model_carries_both_class_names(cond, dataset):
    from emoget_cli.gan import load_generator

    ck = _ckpt(cond["ckpt"])
    assert ck.class_names == ["photo", "toon"] and ck.architecture["n_classes"] == 2
    assert ck.architecture["size"] == SIZE
    metrics = cond["report"]["metrics"]
    assert 0.0 <= metrics["ac_acc"] <= 1.0 and np.isfinite(metrics["ac_loss"])  # the AC head trained
    G = load_generator(cond["ckpt"])
    assert list(G.class_names) == ["photo", "toon"]
    with torch.no_grad():
        z = torch.randn(2, G.style_dim, generator=torch.Generator().manual_seed(0))
        w0 = G.mapping(z, torch.tensor([0, 0]))
        w1 = G.mapping(z, torch.tensor([1, 1]))
    assert w0.shape == (2, 32) and not torch.allclose(w0, w1)  # the class enters the mapping


# -------------------------------------------------------------------------------------------
# 5: invert into the base, render with the blended and the conditional model
# -------------------------------------------------------------------------------------------

def test_invert_a_base_sample_into_the_base(inverted, face, base):
    from emoget_cli.core.latent import load_latent
    from emoget_cli.weights import sha256_file

    latent = load_latent(inverted["latent"])
    assert tuple(latent.w_plus.shape) == (N_LATENT, 32) and torch.isfinite(latent.w_plus).all()
    assert latent.generator_sha256 == sha256_file(base["ckpt"])
    (entry,) = inverted["report"]["faces"]
    assert inverted["report"]["perceptual"] == "fallback" and inverted["report"]["steps"] == 40
    recon = Path(entry["reconstruction"])
    assert recon == inverted["latent"].with_name("face.recon.png")  # next to the latent
    target, rec = _rgb(face), _rgb(recon)
    assert rec.shape == target.shape == (SIZE, SIZE, 3)
    # the reported PSNR is the one of the written reconstruction (up to 8-bit rounding), and the
    # face is drawn by this very generator, so the inversion gets well above a grey guess
    assert _psnr(rec, target) == pytest.approx(entry["psnr"], abs=0.5)
    assert _psnr(rec, target) > _psnr(np.full_like(target, 128), target) + 6.0


def test_render_the_latent_with_base_blended_and_conditional(cli, inverted, base, blended, cond, tmp_path):
    latent = inverted["latent"]
    outs = {}
    for name, extra in {"base": ["--ckpt", base["ckpt"]],
                        "blended": ["--ckpt", blended["ckpt"]],
                        "toon": ["--ckpt", cond["ckpt"], "--class", "toon"],
                        "photo": ["--ckpt", cond["ckpt"], "--class", "photo"]}.items():
        out = tmp_path / f"{name}.png"
        res = cli("render", latent, *extra, "-o", out, "--device", "cpu", "--json")
        assert res.exit_code == 0, res.output
        report = json.loads(res.stdout)
        assert report["same_generator"] is (name == "base")
        assert report["class"] == (name if name in ("toon", "photo") else None)
        outs[name] = _rgb(out).astype(np.float64)
        assert outs[name].shape == (SIZE, SIZE, 3)
    # rendering with the generator it was inverted in reproduces the reconstruction
    recon = _rgb(inverted["report"]["faces"][0]["reconstruction"])
    assert np.abs(outs["base"] - recon).max() <= 1.0
    # the blended model's coarse layers change the picture; the class moves the face
    assert np.abs(outs["blended"] - outs["base"]).mean() > 3.0
    assert np.abs(outs["toon"] - outs["photo"]).mean() > 5.0

    res = cli("render", latent, "--ckpt", blended["ckpt"], "--size", "64", "-o", tmp_path / "b64.png")
    assert res.exit_code == 0, res.output
    assert _rgb(tmp_path / "b64.png").shape == (64, 64, 3)
    res = cli("render", latent, "--ckpt", cond["ckpt"], "--class", "baby", "-o", tmp_path / "x.png")
    assert res.exit_code == 2 and not (tmp_path / "x.png").exists()


# -------------------------------------------------------------------------------------------
# 6: make with the chain's generators
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["cond", "blended"])
def test_make_with_a_chain_generator(which, cli, astronaut_path, cond, blended, tmp_path):
    from PIL import Image, ImageSequence

    from emoget_cli.core.latent import load_latent
    from emoget_cli.core.track import load_track
    from emoget_cli.weights import sha256_file

    ckpt = cond["ckpt"] if which == "cond" else blended["ckpt"]
    klass = ["--class", "toon"] if which == "cond" else []
    inter, out = tmp_path / "work", tmp_path / "out.gif"
    res = cli("make", astronaut_path, "--generator", ckpt, *klass, "--invert-steps", "3",
              "--frames", "4", "--size", "64", "--expr", "surprise", "--device", "cpu",
              "--keep-intermediate", inter, "-o", out, "--json")
    assert res.exit_code == 0, res.output
    (r,) = json.loads(res.stdout)["results"]
    assert r["ok"] and r["engine"] == "gan" and r["n_frames"] == 4 and r["outputs"] == [str(out)]

    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (64, 64)
        frames = [np.asarray(f.convert("RGB"), dtype=np.float64) for f in ImageSequence.Iterator(gif)]
    assert max(np.abs(f - frames[0]).mean() for f in frames[1:]) > 0.1  # it moves

    latent = load_latent(inter / "latent.pt")
    assert latent.generator_sha256 == sha256_file(ckpt)
    assert tuple(latent.w_plus.shape) == (N_LATENT, 32)
    styled_rgb = _rgb(inter / "styled.png")
    assert styled_rgb.shape == (64, 64, 3)
    # the stage re-runs by hand from the kept files: render latent.pt the way make did
    res = cli("render", inter / "latent.pt", "--ckpt", ckpt, *klass, "--size", "64", "--device", "cpu",
              "-o", tmp_path / "again.png")
    assert res.exit_code == 0, res.output
    again = _rgb(tmp_path / "again.png").astype(np.float64)
    assert np.abs(again - styled_rgb).mean() < 2.0 and np.abs(again - styled_rgb).max() <= 16
    if which == "cond":  # ... and the class is what made it: the other class is another picture
        res = cli("render", inter / "latent.pt", "--ckpt", ckpt, "--class", "photo", "--size", "64",
                  "--device", "cpu", "-o", tmp_path / "photo.png")
        assert res.exit_code == 0, res.output
        other = _rgb(tmp_path / "photo.png").astype(np.float64)
        assert np.abs(other - styled_rgb).mean() > 3 * np.abs(again - styled_rgb).mean()
    assert _rgb(inter / "aligned.png").shape[2] == 3
    aligned = load_track(inter / "aligned.landmarks.json")
    styled = load_track(inter / "styled.landmarks.json")
    motion = load_track(inter / "motion-surprise.landmarks.json")
    assert aligned.points_array().shape[-2:] == (68, 2)
    assert styled.points_array().shape[-2:] == (68, 2)
    assert len(motion.frames) == 4 and motion.points_array().shape == (4, 68, 2)
    assert np.abs(motion.points_array() - motion.points_array()[0]).max() > 0.5  # surprise moves
    meta = json.loads((inter / "make.json").read_text())
    assert meta["style_meta"]["class_name"] == ("toon" if which == "cond" else None)
    assert Path(meta["style_meta"]["generator"]) == ckpt
