"""Outputs are never half-written, never lost, never written over an input; SIGINT/SIGTERM
stop cleanly and say what was left; --debug keeps the exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emoget_cli.core.atomic import (all_or_nothing, check_output, completed_outputs, staged_path,
                                    write_text_atomic)
from emoget_cli.core.errors import OutputError, UsageError

ROOT = Path(__file__).resolve().parents[1]


def emoget(*argv, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOGET_NO_PROGRESS": "1"}
    return subprocess.Popen([sys.executable, "-m", "emoget_cli", *map(str, argv)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


# ------------------------------------------------------------------------ all_or_nothing --

def test_group_commits_every_file_together(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "sub" / "b.txt"
    with all_or_nothing():
        write_text_atomic(a, "A")
        write_text_atomic(b, "B")
        assert not a.exists() and not b.exists()          # staged, not yet visible
        assert staged_path(a).read_text() == "A"          # but readable where it is staged
    assert a.read_text() == "A" and b.read_text() == "B"
    assert a in completed_outputs() and b in completed_outputs()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.txt", "b.txt", "sub"]


def test_group_failure_leaves_nothing_and_keeps_old_files(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("precious")
    with pytest.raises(RuntimeError):
        with all_or_nothing():
            write_text_atomic(tmp_path / "new.txt", "x")
            write_text_atomic(old, "replaced")
            raise RuntimeError("boom")
    assert old.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]  # no temp left


def test_group_commit_failure_rolls_back(tmp_path, monkeypatch):
    """A rename failing half-way through the commit undoes the renames already done."""
    keep = tmp_path / "a.txt"
    keep.write_text("old a")
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        if str(dst).endswith("c.txt"):
            raise OSError(28, "No space left on device")
        calls["n"] += 1
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OutputError, match="c.txt"):
        with all_or_nothing():
            for name in ("a.txt", "b.txt", "c.txt"):
                write_text_atomic(tmp_path / name, name)
    monkeypatch.setattr(os, "replace", real_replace)
    assert calls["n"] >= 2
    assert keep.read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# -------------------------------------------------------------------------- check_output --

def test_check_output_refuses_an_input_a_folder_and_a_too_long_name(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(b"x")
    with pytest.raises(UsageError, match="overwrite the input"):
        check_output(tmp_path / "." / "in.png", [src])
    link = tmp_path / "alias.png"
    link.symlink_to(src)
    with pytest.raises(UsageError, match="overwrite the input"):
        check_output(link, [src])
    with pytest.raises(OutputError, match="folder"):
        check_output(tmp_path, [])
    with pytest.raises(OutputError, match="file system allows"):
        check_output(tmp_path / ("n" * 300 + ".gif"), [])
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OutputError, match="looping"):
        check_output(loop / "x.gif", [])


def test_a_name_at_the_limit_still_writes(tmp_path):
    """The temporary file's name is shortened: a 250-byte target name must still work."""
    target = tmp_path / ("n" * 246 + ".txt")
    write_text_atomic(target, "ok")
    assert target.read_text() == "ok"


def test_animate_refuses_to_overwrite_its_input(cli, tmp_path, astronaut_rgb):
    from PIL import Image

    src = tmp_path / "in.png"
    Image.fromarray(astronaut_rgb).save(src)
    before = src.read_bytes()
    res = cli("animate", src, "-e", "happiness", "-o", src)
    assert res.exit_code == 2, res.output
    assert "overwrite the input" in res.output
    assert src.read_bytes() == before


# ------------------------------------------------------------------------ interruption --

def _wait_for_temp(folder: Path, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    """True once a staged temporary file shows up in `folder` (the pack is being written)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if folder.is_dir() and any(p.name.startswith(".") for p in folder.iterdir()):
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_pack_leaves_nothing(tmp_path, sig):
    out = tmp_path / "stickers"
    proc = emoget("make", "--sample", "--pack", "--size", "128", "--frames", "8", "-o", out)
    assert _wait_for_temp(out, proc), proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "interrupted" in err and "nothing partial was left" in err, err
    assert "Traceback" not in err
    assert [p.name for p in out.iterdir()] == []       # no sticker, no temp file


def test_sigterm_after_a_complete_file_says_which(tmp_path):
    """Two inputs: the first one's outputs are complete and kept, and the message names them."""
    from PIL import Image

    src = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    a.write_bytes(src.read_bytes())
    Image.open(src).save(b)
    out = tmp_path / "out"
    proc = emoget("make", a, b, "--size", "128", "--frames", "8", "-e", "happiness", "-e",
                  "sadness", "-o", out)
    end = time.monotonic() + 120
    while time.monotonic() < end and proc.poll() is None:
        if (out / "a-sadness.gif").exists() and any(p.name.startswith(".b") for p in out.iterdir()):
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal (machine too fast)")
    assert proc.returncode == 143, err
    assert "2 complete file(s)" in err and "a-happiness.gif" in err, err
    # (+ the batch's resume ledger, which records input a)
    assert sorted(p.name for p in out.iterdir()) == [".emoget-make.jsonl", "a-happiness.gif",
                                                     "a-sadness.gif"]


# ------------------------------------------------------------------------------ --debug --

def test_debug_keeps_the_exit_code_and_adds_the_traceback(tmp_path):
    proc = emoget("--debug", "animate", tmp_path / "missing.png", "-e", "happiness", "-o", tmp_path / "o.gif")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "Traceback" in err and "no such image" in err
