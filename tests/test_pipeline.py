"""pipeline: MakeConfig validation (before any heavy work), output naming, sheet and zip helpers,
the in-process API with a progress callback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoget_cli.core.animation_spec import AnimationSpec
from emoget_cli.core.errors import UsageError
from emoget_cli.pipeline import (PACK_EXPRESSIONS, MakeConfig, contact_sheet, expand_inputs, make,
                                 output_paths)


def test_config_is_frozen_and_validated(tmp_path):
    cfg = MakeConfig(output=tmp_path / "o.gif")
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.style = "baby"  # type: ignore[misc]
    cfg.validate()
    bad = [dict(expressions=("happy+nope",)), dict(animation=dict(frames=1)),
           dict(animation=dict(fps=0.0)), dict(animation=dict(size=4096)),
           dict(animation=dict(intensity=2.0)), dict(animation=dict(duration=-1.0)),
           dict(animation=dict(colour="red")), dict(strength=-0.1), dict(jobs=0), dict(fmt="bmp"),
           dict(preset="icq"), dict(style="vangogh"), dict(expressions=()),
           dict(output=tmp_path / "o.txt")]
    for kw in bad:
        with pytest.raises(UsageError):
            MakeConfig(**{"output": tmp_path / "o.gif", **kw}).validate()
    spec = MakeConfig(output=tmp_path / "o.gif", animation=dict(duration=2.0, fps=10)).animation
    # an unset background is resolved by make (keep: no preset asks for transparency)
    assert spec == AnimationSpec(duration=2.0, fps=10, background="keep") and spec.n_frames == 20


def test_output_naming(tmp_path):
    src = Path("me.jpg")
    assert output_paths(src, MakeConfig(output=tmp_path / "a.webp"), 1) == {"happiness": tmp_path / "a.webp"}
    many = output_paths(src, MakeConfig(output=tmp_path, expressions=("surprise", "happiness+wink")), 1)
    assert many == {"surprise": tmp_path / "me-surprise.gif",
                    "happiness+wink": tmp_path / "me-happiness_wink.gif"}
    batch = output_paths(src, MakeConfig(output=tmp_path / "out", preset="telegram"), 3)
    assert batch == {"happiness": tmp_path / "out" / "me.webm"}
    pack = output_paths(src, MakeConfig(output=tmp_path / "p", pack=True), 1)
    assert tuple(pack) == PACK_EXPRESSIONS


def test_expand_inputs(tmp_path):
    (tmp_path / "b.png").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.jpg", "b.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError):
        expand_inputs([empty])


def test_contact_sheet_layout():
    tiles = [(f"e{i}", np.full((40, 50, 3), 30 * i, np.uint8)) for i in range(5)]
    sheet = contact_sheet(tiles, cols=4)
    assert sheet.shape[1] == 4 * 50 and sheet.shape[0] > 2 * 40
    assert (sheet[:40, 50:100] == 30).all()


def test_make_api_with_progress(astronaut_path, tmp_path):
    calls = []
    cfg = MakeConfig(output=tmp_path / "o.webp", style="cartoon", expressions=("disgust",),
                     animation=AnimationSpec(frames=4, size=96), strength=0.5)
    results = make([astronaut_path], cfg, progress=lambda d, t, n: calls.append((d, t, n)))
    (r,) = results
    assert r.ok and r.outputs == [str(tmp_path / "o.webp")] and r.n_frames == 4
    assert set(r.stages) >= {"read", "detect", "align", "style", "animate", "export"}
    assert calls == [(1, 1, astronaut_path.name)]
    from PIL import Image

    with Image.open(tmp_path / "o.webp") as im:
        assert im.format == "WEBP" and im.n_frames == 4 and im.size == (96, 96)


def test_resolve_device_name_never_changes_an_explicit_choice():
    from emoget_cli.core.device import resolve_device_name

    assert resolve_device_name("cpu") == "cpu" and resolve_device_name("cuda") == "cuda"
    assert resolve_device_name("auto") in ("auto", "cpu")


def test_trailing_separator_means_folder(tmp_path):
    cfg = MakeConfig(output=f"{tmp_path / 'new'}/")
    assert cfg.output == tmp_path / "new" and cfg.output_is_folder and cfg.writes_folder(1)
    assert output_paths(Path("me.jpg"), cfg, 1) == {"happiness": tmp_path / "new" / "me.gif"}
    plain = MakeConfig(output=str(tmp_path / "new.gif"))
    assert not plain.output_is_folder and not plain.writes_folder(1)


def test_make_refuses_to_overwrite_an_input_before_any_work(astronaut_path, tmp_path, monkeypatch):
    import emoget_cli.pipeline as pipeline

    monkeypatch.setattr(pipeline, "stage_face", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(UsageError, match="overwrite the input"):
        make([astronaut_path], MakeConfig(output=astronaut_path))
    cfg = MakeConfig(output=tmp_path / "o.gif", animation=AnimationSpec(background="transparent"),
                     fmt="mp4")
    with pytest.raises(UsageError, match="alpha"):
        cfg.validate()


def test_debug_lets_bugs_propagate(astronaut_path, tmp_path, monkeypatch):
    import emoget_cli.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "stage_face", boom)
    cfg = MakeConfig(output=tmp_path / "o.gif")
    (r,) = make([astronaut_path], cfg)
    assert not r.ok and r.exit_code == 1 and "RuntimeError: boom" in r.error
    with pytest.raises(RuntimeError, match="boom"):
        make([astronaut_path], cfg, debug=True)
