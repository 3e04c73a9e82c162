"""Static shell completions: up to date with the app, valid shell, and they really complete."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from emoget_cli.cli.completions import COMPLETIONS_DIR, FILE_NAMES, command_tree, generate_all

REFRESH = "python -m emoget_cli.cli.completions --write"


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    return generate_all()


def test_files_are_up_to_date(scripts):
    for name, text in scripts.items():
        path = COMPLETIONS_DIR / name
        assert path.is_file(), f"{path} is missing: run `{REFRESH}`"
        up_to_date = path.read_text() == text  # not `==` in the assert: the diff would be huge
        assert up_to_date, f"{path} is out of date: run `{REFRESH}`"


def test_generation_is_deterministic(scripts):
    assert generate_all() == scripts


def test_tree_covers_every_command_and_choice():
    tree = command_tree()
    keys = {c.key for c in tree.walk()}
    assert {"emoget", "emoget landmarks", "emoget doctor", "emoget train"} <= keys
    lm = next(c for c in tree.walk() if c.key == "emoget landmarks")
    opts = {o.names[0]: o for o in lm.options}
    assert opts["--backend"].choices == ("auto", "dlib", "fan")
    assert opts["--size"].choices == ("256", "512", "1024")
    assert opts["--output"].names == ("--output", "-o") and opts["--output"].kind == "path"
    assert opts["--all-faces"].kind == "flag"
    assert lm.args[0].kind == "path" and lm.args[0].many
    for shell_text in generate_all().values():
        for key in keys - {"emoget"}:
            assert key.split()[-1] in shell_text


def _bash_complete(words: list[str]) -> list[str]:
    script = COMPLETIONS_DIR / FILE_NAMES["bash"]
    line = " ".join(f"'{w}'" for w in words)
    code = (f"source '{script}'; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _emoget; "
            "printf '%s\\n' \"${COMPREPLY[@]}\"")
    res = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return [l for l in res.stdout.splitlines() if l]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_script_completes():
    assert "landmarks" in _bash_complete(["emoget", "la"])
    assert _bash_complete(["emoget", "landmarks", "--backend", ""]) == ["auto", "dlib", "fan"]
    assert "--all-faces" in _bash_complete(["emoget", "landmarks", "x.jpg", "--al"])
    assert _bash_complete(["emoget", "landmarks", "--size", "5"]) == ["512"]
    assert "--json" in _bash_complete(["emoget", "doctor", "--"])
    for group in _groups():  # nested commands: `emoget train <Tab>` lists stylegan / motion
        words = list(group.path) + [""]
        assert _bash_complete(words) == [s.path[-1] for s in group.subcommands]


def _groups():
    return [c for c in command_tree().walk() if c.subcommands and len(c.path) > 1]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_script_completes():
    script = COMPLETIONS_DIR / FILE_NAMES["fish"]

    def complete(line: str) -> list[str]:
        res = subprocess.run(["fish", "-c", f"source '{script}'; complete -C '{line}'"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        return [l.split("\t")[0] for l in res.stdout.splitlines() if l]

    assert complete("emoget landmarks --backend ") == ["auto", "dlib", "fan"]
    assert "landmarks" in complete("emoget la")
    assert "--all-faces" in complete("emoget landmarks x.jpg --al")
    for group in _groups():
        assert sorted(complete(" ".join(group.path) + " ")) == sorted(
            s.path[-1] for s in group.subcommands)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts_parse(shell):
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} not installed")
    res = subprocess.run([exe, "-n", str(COMPLETIONS_DIR / FILE_NAMES[shell])], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
