"""Training datasets for `train stylegan`: layouts, labels, resizing, refusals, data order."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emoget_cli.core.errors import InputError
from emoget_cli.gan.dataset import (ImageDataset, ResumableBatchSampler, square_resize,
                                    write_synthetic_dataset)


@pytest.fixture(scope="module")
def folder_ds(tmp_path_factory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("ds") / "faces", n_per_class=4, size=24)


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(folder).as_posix())
    return target


def test_subfolders_are_classes_and_images_are_resized(folder_ds):
    ds = ImageDataset(folder_ds, 16)
    assert len(ds) == 8
    assert ds.class_names == ["round", "square"]
    assert ds.class_counts() == [4, 4]
    img, label = ds[0]
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8
    assert ds.names[0].startswith("round/") and label == 0
    assert ds[len(ds) - 1][1] == 1
    # the two classes really look different: round heads are warm (R > B), square ones cool
    reds = [ds.image(i)[4:12, 4:12].mean(axis=(0, 1)) for i in range(len(ds))]
    for rgb, lab in zip(reds, ds.labels):
        assert (rgb[0] > rgb[2]) == (lab == 0)


def test_dataset_json_labels_in_a_zip(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "nv", n_per_class=3, size=16, labels="json")
    # the NVlabs layout: 00000/img00000000.png + dataset.json; zipped inside one top folder
    archive = _zip_folder(folder, tmp_path / "nv.zip", prefix="wrapped/")
    ds = ImageDataset(archive, 16)
    assert len(ds) == 6 and ds.names[0] == "00000/img00000000.png"
    assert ds.class_names == ["round", "square"]
    assert ds.labels.tolist() == [0, 1, 0, 1, 0, 1]
    direct = ImageDataset(folder, 16)
    assert np.array_equal(direct.image(3), ds.image(3))


def test_nvlabs_chunk_folders_are_not_classes_and_null_labels(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "nv", n_per_class=2, size=16, labels="json")
    (folder / "dataset.json").unlink()
    for i in range(1000, 1002):  # a second chunk folder
        (folder / "00001").mkdir(exist_ok=True)
        Image.new("RGB", (16, 16), (i % 256, 0, 0)).save(folder / "00001" / f"img{i:08d}.png")
    assert ImageDataset(folder, 16).labels is None
    (folder / "dataset.json").write_text(json.dumps({"labels": None}))
    assert ImageDataset(folder, 16).n_classes == 0


def test_centre_crop_alpha_and_grey(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10] = (0, 0, 255)
    wide[:, 10:30] = (0, 255, 0)
    wide[:, 30:] = (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "a_wide.png")
    rgba = np.zeros((16, 16, 4), np.uint8)  # fully transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "b_alpha.png")
    Image.fromarray(np.full((16, 16), 77, np.uint8), "L").save(tmp_path / "c_grey.png")
    ds = ImageDataset(tmp_path, 8)
    crop = ds.image(0).astype(int)
    # only the green centre survives (Lanczos may ring a little at the crop border)
    assert np.all(crop[..., 1] > 200) and np.all(crop[..., 2] < 60)
    assert np.all(ds.image(1) == 255)
    assert np.all(ds.image(2) == 77)


def test_square_resize_keeps_exact_size_untouched():
    from emoget_cli.core.image_io import LoadedImage

    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(square_resize(LoadedImage(rgb, None), 16), rgb)


@pytest.mark.parametrize("setup, message", [
    ("empty", "no images found"),
    ("text_only", "no images found"),
    ("corrupt", "bad.png"),
    ("missing_label", "no label for"),
    ("float_label", "integer"),
    ("bad_json", "not valid JSON"),
    ("not_zip", "not a folder or a zip"),
    ("missing", "no such folder"),
])
def test_bad_datasets_fail_with_one_clear_line(tmp_path, setup, message):
    root = tmp_path / "data"
    root.mkdir()
    if setup == "text_only":
        (root / "notes.txt").write_text("hello")
    elif setup == "corrupt":
        Image.new("RGB", (16, 16)).save(root / "good.png")
        (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    elif setup in ("missing_label", "float_label", "bad_json"):
        Image.new("RGB", (16, 16)).save(root / "a.png")
        Image.new("RGB", (16, 16)).save(root / "b.png")
        doc = {"missing_label": '{"labels": [["a.png", 0]]}',
               "float_label": '{"labels": [["a.png", [0.3, 0.7]], ["b.png", [1, 0]]]}',
               "bad_json": '{"labels": [["a.png", 0]'}[setup]
        (root / "dataset.json").write_text(doc)
    elif setup == "not_zip":
        root = tmp_path / "data.zip"
        root.write_bytes(b"this is not a zip")
    elif setup == "missing":
        root = tmp_path / "nowhere"
    with pytest.raises(InputError) as err:
        ImageDataset(root, 16)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_sampler_resumes_mid_stream_and_shards_ranks(folder_ds):
    ds = ImageDataset(folder_ds, 16)

    def take(sampler, n):
        it = iter(sampler)
        return [next(it) for _ in range(n)]

    full = take(ResumableBatchSampler(ds, 3, seed=5), 7)  # crosses two epoch boundaries
    flat = [i for b in full for i in b]
    resumed = take(ResumableBatchSampler(ds, 3, seed=5, start=3 * 4), 3)
    assert resumed == full[4:7]
    assert sorted(flat[:8]) == list(range(8)) and flat[:8] != flat[8:16]  # reshuffled epochs
    r0 = [i for b in take(ResumableBatchSampler(ds, 2, rank=0, world=2, seed=5), 2) for i in b]
    r1 = [i for b in take(ResumableBatchSampler(ds, 2, rank=1, world=2, seed=5), 2) for i in b]
    assert sorted(r0 + r1) == list(range(8))


def test_cli_reports_an_empty_dataset(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("train", "stylegan", "--data", tmp_path / "empty", "--output", tmp_path / "run",
                 "--size", "16", "--device", "cpu")
    assert result.exit_code == 3, result.output
    assert "no images found" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # nothing written, not even the run folder


def _with_bad_files(tmp_path, n_bad: int) -> Path:
    root = tmp_path / "mixed"
    for i in range(4):
        (root / f"sub{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (40 * i, 0, 0)).save(root / f"sub{i % 2}" / f"good{i}.png")
    good = (root / "sub0" / "good0.png").read_bytes()
    for i in range(n_bad):
        (root / "sub1" / f"bad{i}.png").write_bytes(good[: len(good) // 2])  # truncated
    (root / "sub1" / "readme.txt").write_text("not an image, not listed")
    return root


def test_every_bad_image_is_counted_up_front(tmp_path, cli):
    root = _with_bad_files(tmp_path, 3)
    with pytest.raises(InputError) as err:
        ImageDataset(root, 16)
    text = str(err.value)
    assert text.startswith("3 of 7 images cannot be read") and "bad0.png" in text
    assert "bad1.png" in text and "bad2.png" in text and "\n" not in text
    result = cli("train", "stylegan", "--data", root, "--output", tmp_path / "run", "--size", "16",
                 "--device", "cpu")
    assert result.exit_code == 3 and "3 of 7 images" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


def test_a_bad_image_met_by_a_loader_worker_is_one_clean_line(tmp_path):
    from emoget_cli.gan.dataset import batch_iterator

    ds = ImageDataset(_with_bad_files(tmp_path, 1), 16, cache_bytes=0)  # lazy: decoded by workers
    batches = batch_iterator(ds, 5, workers=1)  # 5 of 5 images: the bad one is in batch 1
    with pytest.raises(InputError) as err:
        next(batches)
    text = str(err.value)
    assert text.startswith(str(ds.path / "sub1" / "bad0.png")) and "\n" not in text
    assert "Traceback" not in text and "--resume auto" in text
