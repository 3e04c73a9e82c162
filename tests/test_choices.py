"""core.choices is the one definition of every named choice: the CLI and the domain tables agree."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emoget_cli.core import choices
from emoget_cli.cli.completions import command_tree

#: option → the registry its values must equal, wherever a command takes that option
EXPECTED = {
    "--style": choices.CLASSIC_STYLE_NAMES,
    "--expr": choices.EXPRESSION_NAMES,
    "--engine": choices.ENGINES,
    "--format": choices.FORMATS,
    "--preset": choices.PRESET_NAMES,
    "--backend": choices.LANDMARK_BACKEND_CHOICES,
    "--perceptual": choices.PERCEPTUAL_CHOICES,
    "--device": choices.DEVICES,
    "--head": choices.HEAD_MOTIONS,
    "--background": choices.BACKGROUNDS,
}


def _options():
    for cmd in command_tree().walk():
        for opt in cmd.options:
            yield cmd.key, opt


def test_cli_choices_equal_the_registries():
    seen = set()
    for command, opt in _options():
        if opt.names[0] in EXPECTED:
            seen.add(opt.names[0])
            assert opt.kind == "choice", (command, opt.names)
            assert tuple(opt.choices) == EXPECTED[opt.names[0]], (command, opt.names, opt.choices)
    assert seen == set(EXPECTED), set(EXPECTED) - seen  # every registry reaches the CLI somewhere


def test_cli_defaults_come_from_the_registries():
    import typer.main

    from emoget_cli.cli.app import app

    root = typer.main.get_command(app)
    defaults = {(name, p.name): p.default for name, cmd in root.commands.items()
                for p in cmd.params}
    assert defaults[("make", "style")] == choices.DEFAULT_STYLE
    assert defaults[("invert", "steps")] == choices.DEFAULT_INVERT_STEPS


def test_domain_tables_are_keyed_by_the_registries():
    from emoget_cli.face.backends import BACKENDS
    from emoget_cli.gan.invert import InvertConfig
    from emoget_cli.motion.expressions import EXPRESSIONS
    from emoget_cli.render.export import PRESETS
    from emoget_cli.style import GanStyleSpec
    from emoget_cli.style.classic import CLASSIC_STYLES

    assert tuple(EXPRESSIONS) == choices.EXPRESSION_NAMES
    assert tuple(CLASSIC_STYLES) == choices.CLASSIC_STYLE_NAMES
    assert tuple(PRESETS) == choices.PRESET_NAMES
    assert tuple(BACKENDS) == choices.LANDMARK_BACKENDS
    assert choices.DEFAULT_STYLE in choices.CLASSIC_STYLE_NAMES
    assert choices.DEFAULT_EXPRESSION in choices.EXPRESSION_NAMES
    assert set(choices.PACK_EXPRESSIONS) <= set(choices.EXPRESSION_NAMES)
    assert {p.format for p in PRESETS.values()} <= set(choices.FORMATS)
    assert choices.ALPHA_FORMATS <= set(choices.FORMATS)
    assert InvertConfig().steps == GanStyleSpec(checkpoint=None).invert_steps \
        == choices.DEFAULT_INVERT_STEPS


def test_perceptual_backends_are_the_choices_but_auto():
    pytest.importorskip("torch")  # a third-party library, not ours
    from emoget_cli.gan.perceptual import PERCEPTUAL_BACKENDS

    assert ("auto", *PERCEPTUAL_BACKENDS) == choices.PERCEPTUAL_CHOICES


def test_importing_the_cli_app_loads_no_heavy_library():
    code = ("import sys, emoget_cli.cli.app\n"
            "print([m for m in ('torch', 'cv2', 'dlib') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]", res.stdout


def test_choices_module_is_pure_python():
    code = ("import sys, emoget_cli.core.choices\n"
            "print([m for m in ('numpy', 'typer', 'torch') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr[-2000:]
