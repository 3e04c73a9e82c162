"""Packs made from the bundled sample face pass their platform's validator, read back from disk;
they hold what the platform needs (names, still images, manifest, sheet, zip), are chosen from
the expression library, and are all or nothing."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from emoget_cli.core.animation_spec import AnimationSpec
from emoget_cli.core.errors import OutputError, UsageError
from emoget_cli.pack import check_image, check_sticker, choose_pack_expressions
from emoget_cli.pipeline import MakeConfig, make, sample_input
from emoget_cli.render.presets import PRESETS

#: (preset, --expr given (None, or one: --pack chooses from the library), frames): small
#: enough for CI, every rule of each platform still in play
PACKS = [
    ("line", None, 8),
    ("whatsapp", ("happiness", "surprise", "anger"), 6),
    ("telegram", ("surprise", "anger"), 8),
    ("telegram-emoji", ("wink", "happiness"), 8),
    ("discord-sticker", ("happiness", "fear"), 8),
    ("signal", ("sadness", "wink"), 8),
    ("imessage", ("fear", "surprise"), 8),
]


@pytest.mark.parametrize("preset, exprs, frames", PACKS, ids=[p[0] for p in PACKS])
def test_sample_face_pack_passes_its_platform(tmp_path, preset, exprs, frames):
    pre = PRESETS[preset]
    out = tmp_path / "out"
    cfg = MakeConfig(output=out, pack=True, preset=preset,
                     animation=AnimationSpec(frames=frames, fps=8.0),
                     expressions=exprs or ("happiness",), style="cartoon")
    (res,) = make([sample_input()], cfg)
    assert res.ok, res.error
    manifest = json.loads((out / "sample_face-manifest.json").read_text())
    stickers = [out / s["file"] for s in manifest["stickers"]]
    assert manifest["platform"] == preset and manifest["validated"]
    assert manifest["count"] == len(stickers) == len(exprs or choose_pack_expressions(pre))
    for path in stickers:                                      # re-checked from disk
        assert check_sticker(path, pre) == [], path.name
    for rule in pre.pack_images:
        assert check_image(out / f"sample_face-{rule.role}.png", rule) == []
    uploads = [s["upload_name"] for s in manifest["stickers"]]
    if preset == "line":
        assert len(stickers) in (8, 16, 24)
        assert uploads == [f"{i:02d}.png" for i in range(1, len(stickers) + 1)]
    zipped = zipfile.ZipFile(out / f"sample_face-{preset}.zip")
    images = [f"{r.role}.png" if preset == "line" else f"sample_face-{r.role}.png"
              for r in pre.pack_images]
    assert sorted(zipped.namelist()) == sorted(uploads + images)
    for entry in manifest["stickers"]:                          # the zip holds the checked files
        assert zipped.read(entry["upload_name"]) == (out / entry["file"]).read_bytes()
    assert all(s["emoji"] for s in manifest["stickers"])
    from PIL import Image

    sheet = np.asarray(Image.open(out / "sample_face-sheet.png").convert("RGB"))
    assert sheet.shape[0] >= 128 and sheet.shape[1] >= 128


def test_pack_size_comes_from_the_library():
    line = PRESETS["line"]
    assert len(choose_pack_expressions(line, [f"e{i}" for i in range(11)])) == 8
    assert len(choose_pack_expressions(line, [f"e{i}" for i in range(17)])) == 16
    assert len(choose_pack_expressions(line, [f"e{i}" for i in range(30)])) == 24
    assert "neutral" not in choose_pack_expressions(line)
    # a platform that takes seven gets the classic seven
    from emoget_cli.core.choices import PACK_EXPRESSIONS

    assert choose_pack_expressions(PRESETS["whatsapp"]) == PACK_EXPRESSIONS
    with pytest.raises(UsageError, match="at least 8"):
        choose_pack_expressions(line, ["a", "b", "c"])
    assert choose_pack_expressions(None)[:2] == ("happiness", "surprise")


def test_a_pack_count_the_platform_refuses_is_a_usage_error(tmp_path):
    cfg = MakeConfig(output=tmp_path / "o", pack=True, preset="line",
                     expressions=("happiness", "surprise", "anger"))
    with pytest.raises(UsageError, match="a line pack holds 8, 16, 24"):
        cfg.validate()


def test_a_pack_that_breaks_a_rule_leaves_nothing(tmp_path, monkeypatch):
    """A violation found after writing (here: every sticker 'too big') fails the input and no
    file of the pack is left: not the stickers, not the folder's images, not the zip."""
    from emoget_cli.pack import validators, writer

    real = validators.check_info

    def strict(info, preset):
        return real(info, preset) + [validators.Violation("bytes", f"{info.path.name}: too big")]

    monkeypatch.setattr(writer, "check_info", strict)
    out = tmp_path / "out"
    cfg = MakeConfig(output=out, pack=True, preset="discord-sticker",
                     animation=AnimationSpec(frames=6, fps=6.0), expressions=("happiness", "wink"))
    (res,) = make([sample_input()], cfg)
    assert not res.ok and "breaks the platform's rules" in res.error and "too big" in res.error
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]   # nothing left
    assert isinstance(OutputError("x"), Exception)


def test_cli_pack_reports_the_files(cli, tmp_path):
    out = tmp_path / "st"
    res = cli("make", "--sample", "--pack", "--preset", "discord-sticker", "--expr",
              "happiness,wink", "--frames", "6", "--fps", "6", "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    r = data["results"][0]
    assert r["manifest"].endswith("manifest.json") and r["zip"].endswith(".zip")
    assert len(r["outputs"]) == 2 and all(o.endswith(".png") for o in r["outputs"])
