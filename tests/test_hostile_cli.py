"""What a new user trips over, and output names that cannot work: refused at once, in one line,
with the documented exit code, before any slow step and without writing anything."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"


def emoget(*argv, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOGET_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-m", "emoget_cli", *map(str, argv)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def refused(proc, code: int, *words: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("argv, code, words", [
    (("make", SAMPLE, "--pack", "-o", "{t}/stickers.gif"), 2, ("looks like a file name", "--pack")),
    (("make", SAMPLE, SAMPLE.parent / "sample_face.jpg", "-e", "wink", "-e", "fear", "-o",
      "{t}/out.gif"), 2, ("looks like a file name",)),
    (("make", SAMPLE, "--class", "evil", "-o", "{t}/x.gif"), 2, ("--class", "classic")),
    (("make", SAMPLE, "--expr", "", "-o", "{t}/x.gif"), 2, ("empty expression",)),
    (("blend", "{t}/a.pt", "{t}/b.pt", "--swap-res", "16", "-o", "{t}/b.txt"), 2, (".pt or .safetensors",)),
    (("render", "{t}/l.pt", "--ckpt", "{t}/g.pt", "-o", "{t}/r.txt"), 2, ("rendered image",)),
    (("make", SAMPLE, "-o", "{t}/" + "n" * 300 + ".gif"), 7, ("file system allows",)),
])
def test_bad_output_names_and_silently_ignored_options_are_refused(tmp_path, argv, code, words):
    argv = [str(a).replace("{t}", str(tmp_path)) for a in argv]
    refused(emoget(*argv), code, *words)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_folder_fails_before_the_work(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    t = time.perf_counter()
    refused(emoget("make", SAMPLE, "-o", locked / "x.gif"), 7, "not writable")
    assert time.perf_counter() - t < 20


def test_device_cuda_without_a_gpu_fails_at_once(tmp_path):
    from pathlib import Path as P

    if P("/proc/driver/nvidia").exists() or P("/dev/nvidia0").exists():
        pytest.skip("this machine has an NVIDIA driver")
    t = time.perf_counter()
    proc = emoget("make", SAMPLE, "--device", "cuda", "-o", tmp_path / "x.gif")
    refused(proc, 8, "no NVIDIA driver")
    assert "torch" not in proc.stderr
    assert time.perf_counter() - t < 10
    assert list(tmp_path.iterdir()) == []


def test_a_scalar_expr_in_a_config_file_works(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("make:\n  expr: surprise\n  frames: 4\n  size: 64\n")
    proc = emoget("make", SAMPLE, "--config", cfg, "--dry-run", "--json", "-o", tmp_path / "x.gif")
    assert proc.returncode == 0, proc.stderr
    assert '"expressions": ["surprise"]' in proc.stdout


def test_progress_lines_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    from emoget_cli.cli import common

    monkeypatch.delenv("EMOGET_NO_PROGRESS", raising=False)
    monkeypatch.setattr(common, "PLAIN_PROGRESS_S", 0.0)
    with common.Reporter().progress("train stylegan", total=100) as update:
        update(10, kimg=0.64, **{"img/s": 35.2}, D=1.2, G=0.8, eta="1m30s")
    err = capsys.readouterr().err
    assert "train stylegan: 10/100" in err and "kimg=0.64" in err and "eta=1m30s" in err
