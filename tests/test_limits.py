"""One shared option check: every numeric option is range-checked at parse time (exit 2, one
line), every fixed choice matches in any case, and a near miss gets a 'did you mean'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"


def emoget(*argv) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOGET_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-m", "emoget_cli", *map(str, argv)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_every_numeric_option_has_a_range():
    from emoget_cli.cli import app as cli_app

    unbounded = [f"{command} --{name}" for command, name, kind, infos in cli_app._walk_options(cli_app.app)
                 if kind in (int, float) and any(i.min is None or i.max is None for i in infos)]
    assert unbounded == []


@pytest.mark.parametrize("argv", [
    ("animate", SAMPLE, "-e", "happiness", "--fps", "1e-308", "-o", "x.gif"),
    ("animate", SAMPLE, "-e", "happiness", "--fps", "nan", "-o", "x.gif"),
    ("make", SAMPLE, "--seed", "-1", "-o", "x.gif"),
    ("make", SAMPLE, "--seed", "9" * 30, "-o", "x.gif"),
    ("sample", "g.pt", "--size", "1048576", "-o", "x.png"),
    ("invert", SAMPLE, "--ckpt", "g.pt", "--lr", "1e308"),
    ("train", "stylegan", "--data", ".", "--out", "run", "--batch", "1000000000"),
])
def test_absurd_numbers_are_usage_errors_before_any_work(tmp_path, argv):
    proc = emoget(*argv)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())


def test_choices_match_in_any_case_and_near_misses_are_named(tmp_path):
    proc = emoget("make", SAMPLE, "--style", "Baby", "--preset", "Telegram", "--head", "NOD",
                  "--format", "WEBM", "--dry-run", "--json", "-o", tmp_path / "x.webm")
    assert proc.returncode == 0, proc.stderr
    assert '"style": "baby"' in proc.stdout or '"style": "Baby"' in proc.stdout
    for argv, hint in ((("--expr", "suprise"), "did you mean 'surprise'"),
                       (("--style", "babi"), "did you mean 'baby'"),
                       (("--preset", "telegran"), "did you mean 'telegram'"),
                       (("--head", "nodd"), "did you mean 'nod'")):
        proc = emoget("make", SAMPLE, *argv, "-o", tmp_path / "x.gif")
        assert proc.returncode == 2 and hint in proc.stderr, proc.stderr
    assert not (tmp_path / "x.gif").exists()


def test_match_choice():
    from emoget_cli.core.choices import match_choice
    from emoget_cli.core.errors import UsageError

    assert match_choice(" Telegram-Emoji ", ["telegram", "telegram-emoji"], "preset") == "telegram-emoji"
    assert match_choice("TELEGRAM_EMOJI", ["telegram", "telegram-emoji"], "preset") == "telegram-emoji"
    with pytest.raises(UsageError, match="did you mean 'cartoon'"):
        match_choice("carton", ["baby", "cartoon"], "style")
    with pytest.raises(UsageError, match="an empty name"):
        match_choice("", ["baby", "cartoon"], "style")
