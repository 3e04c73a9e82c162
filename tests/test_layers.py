"""The layers show in the imports, and the CLI speaks one vocabulary."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "emoget_cli"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(nesting depth: 0 = module level, module name) of every import in a file."""
    tree = ast.parse(path.read_text())
    out = []

    def visit(node, depth):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                out.extend((depth, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                out.append((depth, "." * child.level + (child.module or "")))
            deeper = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            visit(child, depth + deeper)

    visit(tree, 0)
    return out


def test_core_imports_no_domain_package():
    for path in (PKG / "core").glob("*.py"):
        for _, name in _imports(path):
            assert not re.match(r"\.\.(face|gan|style|motion|render|serve)\b", name), (path.name, name)


def test_gan_modules_import_torch_at_the_top():
    for path in (PKG / "gan").glob("*.py"):
        if path.name == "__init__.py":
            continue
        names = _imports(path)
        nested = [n for d, n in names if d > 0 and n.split(".")[0] == "torch"]
        assert nested == [], (path.name, nested)


def test_weights_never_imports_style():
    code = ("import sys\nfrom emoget_cli.weights import load_registry\nload_registry()\n"
            "print('emoget_cli.style' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "False", res.stdout + res.stderr[-2000:]


COMMANDS = [[], ["make"], ["animate"], ["landmarks"], ["invert"], ["render"], ["blend"],
            ["sample"], ["train", "stylegan"], ["train", "motion"], ["weights", "add"],
            ["expressions"], ["doctor"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "emoget")
def test_help_names_no_python_types(cli, argv):
    res = cli(*argv, "--help")
    assert res.exit_code == 0, res.output
    found = re.findall(r"<bool>|<str>|<Path>|<list\[|\{[A-Z_]+\}", res.stdout)
    assert found == [], found


def test_commands_are_listed_make_first(cli):
    res = cli("--help")
    listed = re.findall(r"^│ ([a-z]+) ", res.stdout, re.M)
    assert listed[0] == "make" and listed.index("animate") < listed.index("train")


def test_every_writing_command_takes_dash_o(cli):
    for argv in (["train", "stylegan"], ["make"], ["animate"], ["invert"], ["render"],
                 ["blend"], ["sample"], ["landmarks"], ["train", "motion"]):
        assert "--output" in cli(*argv, "--help").stdout, argv
