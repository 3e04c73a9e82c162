"""`emoget sample`: labelled datasets that the StyleGAN2 training loader reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emoget_cli.core.errors import OutputError, UsageError  # noqa: E402
from emoget_cli.gan.sample import SampleConfig, sample_images, write_dataset  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny(seed, size=32, n_classes=0):
    from emoget_cli.gan import Generator

    torch.manual_seed(seed)
    G = Generator(size, style_dim=32, n_mlp=2, channel_max=32, n_classes=n_classes).eval()
    if n_classes:
        G.class_names = [f"c{i}" for i in range(n_classes)]
    return G


def save(G, path):
    from emoget_cli.gan.checkpoint import Checkpoint, save_checkpoint

    save_checkpoint(Checkpoint.from_modules(G), path)
    return path


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    d = tmp_path_factory.mktemp("sample")
    return save(tiny(1), d / "toon.pt"), save(tiny(2), d / "baby.pt"), save(tiny(3, size=64), d / "big.pt")


def _loader(path, size=32):
    from emoget_cli.gan import dataset  # the project's own module: a broken import must fail

    return dataset.ImageDataset(path, size)


def test_samples_are_reproducible_and_truncation_works():
    G = tiny(1)
    a = list(sample_images(G, SampleConfig(n=3, seed=4, batch=2)))
    b = list(sample_images(G, SampleConfig(n=3, seed=4, batch=3)))
    assert len(a) == 3 and a[0].shape == (32, 32, 3) and a[0].dtype == np.uint8
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    # ψ = 0 puts every sample on the mean w; a fresh G has zero noise strength -> identical images
    t0 = list(sample_images(G, SampleConfig(n=2, seed=4, truncation=0.0)))
    assert np.array_equal(t0[0], t0[1])
    with pytest.raises(UsageError):
        SampleConfig(n=0).validate()


def test_dataset_layout_is_read_by_the_training_loader(tmp_path):
    G1, G2 = tiny(1), tiny(2)
    out = tmp_path / "ds"
    report = write_dataset(out, [("toon", sample_images(G1, SampleConfig(n=3))),
                                 ("baby", sample_images(G2, SampleConfig(n=2)))])
    assert report["class_names"] == ["toon", "baby"] and report["class_counts"] == [3, 2]
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["labels"][0] == ["toon/img00000000.png", 0]
    assert doc["labels"][-1] == ["baby/img00000004.png", 1]
    ds = _loader(out)
    assert ds.class_names == ["toon", "baby"] and sorted(ds.class_counts()) == [2, 3]
    for i, name in enumerate(ds.names):
        img, label = ds[i]
        assert img.shape == (32, 32, 3)
        assert label == (0 if name.startswith("toon/") else 1)

    # appending: an existing label grows, a new label gets the next index
    report = write_dataset(out, [("baby", sample_images(G2, SampleConfig(n=2, seed=9))),
                                 ("third", sample_images(G1, SampleConfig(n=1, seed=9)))])
    assert report["class_names"] == ["toon", "baby", "third"]
    assert report["class_counts"] == [3, 4, 1] and report["written"] == 3
    ds = _loader(out)
    assert len(ds) == 8 and ds.n_classes == 3
    assert not [p for p in out.rglob(".*")]   # no staging left behind


def test_refusals_leave_the_dataset_untouched(tmp_path):
    out = tmp_path / "ds"
    write_dataset(out, [("toon", sample_images(tiny(1), SampleConfig(n=2)))])
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    doc = (out / "dataset.json").read_text()
    with pytest.raises(UsageError):       # 64 px samples into a 32 px dataset
        write_dataset(out, [("big", sample_images(tiny(3, size=64), SampleConfig(n=2)))])
    with pytest.raises(UsageError):
        write_dataset(out, [("../evil", iter([]))])
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert (out / "dataset.json").read_text() == doc
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(OutputError):
        write_dataset(other, [("toon", iter([]))])


def test_conditional_generator_class():
    G = tiny(5, n_classes=2)
    imgs = list(sample_images(G, SampleConfig(n=2, class_name="c1")))
    assert len(imgs) == 2
    with pytest.raises(UsageError):
        list(sample_images(G, SampleConfig(n=1, class_name="zz")))


def test_cli_sample(cli, ckpts, tmp_path):
    out = tmp_path / "data"
    res = cli("sample", ckpts[0], ckpts[1], "--n", "2", "-o", out, "--json", "--device", "cpu")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["class_names"] == ["toon", "baby"] and report["images_total"] == 4
    res = cli("sample", ckpts[0], "--n", "1", "--label", "extra", "--truncation", "0.7", "-o", out, "-q")
    assert res.exit_code == 0, res.output
    assert _loader(out).class_names == ["toon", "baby", "extra"]


def test_appending_with_the_same_seed_draws_new_images(cli, ckpts, tmp_path):
    from emoget_cli.core.image_io import read_image

    out = tmp_path / "data"
    for _ in range(2):
        res = cli("sample", ckpts[0], "--n", "2", "--label", "t", "-o", out, "-q")
        assert res.exit_code == 0, res.output
    images = sorted((out / "t").iterdir())
    assert len(images) == 4
    pixels = {read_image(p).rgb.tobytes() for p in images}
    assert len(pixels) == 4  # no duplicate training images


def test_cli_sample_bad_inputs(cli, ckpts, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"zzz")
    out = tmp_path / "never"
    res = cli("sample", ckpts[0], junk, "--n", "1", "-o", out)
    assert res.exit_code == 5 and not out.exists()
    res = cli("sample", ckpts[0], ckpts[1], "--n", "1", "--label", "a", "--label", "b", "--label", "c", "-o", out)
    assert res.exit_code == 2 and not out.exists()
    res = cli("sample", ckpts[0], ckpts[2], "--n", "1", "-o", out)      # 32 px and 64 px
    assert res.exit_code == 2 and not out.exists()
    res = cli("sample", ckpts[0], ckpts[2], "--n", "1", "--size", "32", "-o", out, "-q")
    assert res.exit_code == 0 and _loader(out).n_classes == 2
    assert not list(tmp_path.glob(".emoget-sample-*"))


def test_an_abandoned_sample_stream_leaves_autograd_on(ckpts):
    """Grad mode is thread-wide: a half-consumed sample generator must not switch it off for
    the caller (a failed `sample` run used to leave autograd disabled in the process)."""
    import torch

    from emoget_cli.gan import load_generator
    from emoget_cli.gan.sample import SampleConfig, sample_images

    G = load_generator(ckpts[0])
    stream = sample_images(G, SampleConfig(n=4, batch=2))
    next(stream)
    assert torch.is_grad_enabled()
    x = torch.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad is not None
    del stream
