"""Every reader bounds memory and time before spending them: FIFOs, devices, folders, link
loops, oversized files, deep nesting, 5000-digit numbers, zip members declaring gigabytes,
dataset.json escaping the dataset or declaring billions of classes. One line, the documented
exit code, no traceback."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emoget_cli.core import files
from emoget_cli.core.errors import CheckpointError, InputError, TrackError, UsageError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"


def run_capped(*argv, mem_gib: float = 3.0, timeout: float = 120) -> subprocess.CompletedProcess:
    """emoget in a subprocess whose address space is capped: an unbounded read or allocation
    fails (MemoryError, exit 1) instead of passing slowly."""
    limit = int(mem_gib * 2 ** 30)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOGET_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-m", "emoget_cli", *map(str, argv)], env=env,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=cap)


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


# ------------------------------------------------------------------- the shared reader --

@pytest.fixture()
def specials(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    return {"fifo": fifo, "device": Path("/dev/zero"), "folder": tmp_path, "loop": loop}


@pytest.mark.parametrize("kind, expected", [("fifo", "FIFO"), ("device", "device"),
                                            ("folder", "folder"), ("loop", "looping")])
def test_read_limited_refuses_what_is_not_a_regular_file(specials, kind, expected):
    with pytest.raises(TrackError, match=expected):
        files.read_limited(specials[kind], "landmark track", limit=1000, error=TrackError)


def test_read_limited_caps_the_size_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 2000)
    with pytest.raises(UsageError, match="too large"):
        files.read_limited(big, "config file", limit=1000, error=UsageError)
    assert files.read_limited(big, "config file", limit=2000) == b"#" * 2000


@pytest.mark.parametrize("text, expected", [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"a": ' + "1" * 5000 + "}", "not valid JSON"),            # Python's digit limit
    ('{"a": ' + "1" * 4000 + "}", "too large"),                 # parses, then refused
    ('{"a": NaN}', "not valid JSON"),
    ("[" * 65 + "]" * 65, "nested too deeply"),
])
def test_json_is_bounded(text, expected):
    with pytest.raises(InputError, match=expected):
        files.parse_json(text, "x.json")


@pytest.mark.parametrize("text, expected", [
    ("make: " + "[" * 3000 + "]" * 3000, "nested too deeply"),
    ("make: {frames: " + "1" * 5000 + "}", "cannot represent"),
    ("make: {frames: " + "1" * 100 + "}", "too large"),
    ("a: &a [*a]", "nested too deeply"),                       # an alias containing itself
    ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]", "too many values"),
])
def test_yaml_is_bounded(text, expected):
    with pytest.raises(UsageError, match=expected):
        files.parse_yaml(text, "c.yaml", error=UsageError)


# ----------------------------------------------------------------- through the commands --

def test_config_from_dev_zero_and_a_fifo_fail_fast(tmp_path, specials):
    for source in (specials["device"], specials["fifo"]):
        proc = run_capped("make", "--sample", "--config", source, "-o", tmp_path / "o.gif",
                          timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert "not a config file" in one_line(proc)


def test_track_from_dev_zero_and_a_fifo_fail_fast(tmp_path, specials):
    for source in (specials["device"], specials["fifo"]):
        proc = run_capped("animate", SAMPLE, "-e", "happiness", "--landmarks", source, "-o",
                          tmp_path / "o.gif", timeout=60)
        assert proc.returncode == 6, proc.stderr
        one_line(proc)
    assert not (tmp_path / "o.gif").exists()


@pytest.mark.parametrize("body", ["make:\n  frames: " + "[" * 3000 + "]" * 3000,
                                  "make:\n  frames: " + "9" * 5000])
def test_hostile_config_is_a_usage_error(tmp_path, body):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(body)
    proc = run_capped("make", "--sample", "--config", cfg, "-o", tmp_path / "o.gif")
    assert proc.returncode == 2
    one_line(proc)


def test_huge_integers_in_a_track_are_a_track_error(tmp_path):
    track = tmp_path / "t.landmarks.json"
    track.write_text('{"format": "emoget.landmarks", "version": 1, "image_size": [' + "9" * 5000
                     + ', 10], "frames": []}')
    proc = run_capped("animate", SAMPLE, "-e", "happiness", "--landmarks", track, "-o",
                      tmp_path / "o.gif")
    assert proc.returncode == 6
    one_line(proc)


def test_symlink_loop_as_input_is_a_bad_input(tmp_path):
    loop = tmp_path / "face.png"
    loop.symlink_to(loop)
    proc = run_capped("make", loop, "-o", tmp_path / "o.gif")
    assert proc.returncode == 3
    assert "looping symbolic link" in one_line(proc)


# --------------------------------------------------------------------- checkpoint zips --

def _zip_bomb_checkpoint(path: Path, declared: int) -> None:
    """A small zip whose one deflated member inflates to `declared` bytes of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("archive/data.pkl", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 24)
            for _ in range(declared // len(chunk)):
                member.write(chunk)


def test_zip_member_sizes_are_checked_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.pt"
    _zip_bomb_checkpoint(bomb, files.MAX_ZIP_MEMBER_BYTES + (1 << 24))
    assert bomb.stat().st_size < 3 * 2 ** 20
    from emoget_cli.core.safe_load import load_torch_file

    with pytest.raises(CheckpointError, match="declares"):
        load_torch_file(bomb, "checkpoint")
    proc = run_capped("sample", bomb, "-o", tmp_path / "s.png", mem_gib=2.0, timeout=60)
    assert proc.returncode == 5 and "declares" in one_line(proc)


# ---------------------------------------------------------------------- dataset.json --

def _dataset(tmp_path: Path, doc) -> Path:
    from emoget_cli.gan.dataset import write_synthetic_dataset

    folder = write_synthetic_dataset(tmp_path / "ds", n_per_class=2, size=32, labels="json")
    (folder / "dataset.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return folder


@pytest.mark.parametrize("doc, expected", [
    ({"labels": [["../../../../etc/passwd", 0]]}, "outside the dataset"),
    ({"labels": [["/etc/passwd", 0]]}, "outside the dataset"),
    ({"labels": [["C:/x.png", 0]]}, "outside the dataset"),
    ({"labels": [["00000/img00000000.png", 3_000_000_000]]}, "out of range"),
    ('{"labels": ' + "[" * 10000 + "]" * 10000 + "}", "nested too deeply"),
])
def test_dataset_json_is_refused(tmp_path, doc, expected):
    from emoget_cli.gan.dataset import ImageDataset

    folder = _dataset(tmp_path, doc)
    with pytest.raises(InputError, match=expected):
        ImageDataset(folder, 32)


def test_one_dataset_json_reader_and_writer_round_trip(tmp_path):
    from emoget_cli.gan.dataset import read_dataset_json, write_dataset_json

    write_dataset_json(tmp_path, [("a/img0.png", 0), ("b\\img1.png", 1)], ["a", "b"])
    index = read_dataset_json(tmp_path)
    assert index.entries == (("a/img0.png", 0), ("b/img1.png", 1))
    assert index.class_names == ("a", "b") and index.n_classes == 2 and index.labelled


def test_train_with_billions_of_classes_fails_in_bounded_memory(tmp_path):
    folder = _dataset(tmp_path, {"labels": [["00000/img00000000.png", 3_000_000_000]]})
    proc = run_capped("train", "stylegan", "--data", folder, "--output", tmp_path / "run",
                      "--size", "32", "--conditional", "--kimg", "0.01")
    assert proc.returncode == 3, proc.stderr
    assert "out of range" in one_line(proc)
