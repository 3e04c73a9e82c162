"""The die-cut sticker look: a white border that follows the cut-out, a soft shadow under it,
transparent around; and `make --sticker` / presets that want transparency cut the head out."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import UsageError
from emoget_cli.render.sticker import StickerLook, die_cut


def _disc(side=200, radius=60):
    yy, xx = np.mgrid[:side, :side]
    r = np.hypot(xx - side / 2, yy - side / 2)
    rgba = np.zeros((side, side, 4), np.uint8)
    rgba[..., :3] = (20, 120, 200)
    rgba[..., 3] = np.clip((radius - r) * 255 + 128, 0, 255).astype(np.uint8)
    return rgba, r


def test_border_is_white_opaque_and_follows_the_outline():
    rgba, r = _disc()
    look = StickerLook()
    out = die_cut([rgba], look)[0]
    width = look.border * 200                                     # 7 px
    assert out.shape == rgba.shape and out.dtype == np.uint8
    inside = r < 58
    assert (out[inside][:, :3] == (20, 120, 200)).all()           # the picture is untouched
    ring = (r > 61) & (r < 60 + width - 1)
    assert out[ring][:, 3].min() == 255                           # an opaque white ring
    assert (out[ring][:, :3] >= 250).all()
    beyond = (r > 60 + width + 2) & (r < 60 + width + 5)
    assert 0 < out[beyond][:, 3].max() < 160                      # shadow: soft, partial
    assert (out[beyond][:, :3].astype(int).mean(axis=1) < 80).all()
    far = r > 95
    assert out[far][:, 3].max() == 0                              # transparent around


def test_shadow_falls_down_and_right():
    rgba, r = _disc()
    out = die_cut([rgba])[0]
    below, above = out[100 + 60 + 9, 100, 3], out[100 - 60 - 9, 100, 3]
    assert below > above


def test_border_bridges_small_gaps():
    """Two blobs 4 px apart get one cut line (the vinyl-cutter look), not two."""
    rgba = np.zeros((120, 200, 4), np.uint8)
    rgba[40:80, 40:98, 3] = 255
    rgba[40:80, 102:160, 3] = 255
    out = die_cut([rgba])[0]
    assert out[60, 98:102, 3].min() == 255


def test_die_cut_needs_rgba():
    with pytest.raises(UsageError, match="RGBA"):
        die_cut([np.zeros((10, 10, 3), np.uint8)])


def test_make_sticker_and_transparent_presets(tmp_path):
    from emoget_cli.core.animation_spec import AnimationSpec
    from emoget_cli.pipeline import MakeConfig

    assert MakeConfig(output=tmp_path / "a.png", preset="line").transparent
    assert MakeConfig(output=tmp_path / "a.webp", preset="whatsapp").transparent
    keep = AnimationSpec(background="keep")
    assert not MakeConfig(output=tmp_path / "a.png", preset="line", animation=keep).transparent
    assert not MakeConfig(output=tmp_path / "a.gif", preset="slack").transparent
    assert not MakeConfig(output=tmp_path / "a.gif").transparent
    assert MakeConfig(output=tmp_path / "a.gif", animation=AnimationSpec(sticker=True)).transparent
    with pytest.raises(UsageError, match="--sticker"):
        AnimationSpec(sticker=True, background="keep")
    with pytest.raises(UsageError, match="--crop"):
        AnimationSpec(crop="torso")
