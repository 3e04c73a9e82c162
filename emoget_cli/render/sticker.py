"""The die-cut sticker look: a cut-out with a white border that follows its outline (rounded,
so gaps between hair strands are bridged like a plotter cutting vinyl would) and a soft drop
shadow under it.

    die_cut(frames) -> frames          # RGBA uint8 [H, W, 4] each, same size

Each frame gets its own border and shadow, computed from that frame's alpha, so the border
moves with the head (and with effects drawn beside it). The sizes scale with the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.errors import UsageError


@dataclass(frozen=True)
class StickerLook:
    """Sizes as shares of the frame's shorter side.

    border: width of the white border; rounding: how much the outline is smoothed before the
    border is drawn (bridges small concavities); shadow_blur / shadow_offset (dx, dy): the drop
    shadow; shadow_opacity in [0, 1]."""

    border: float = 0.035
    rounding: float = 0.02
    border_rgb: tuple[int, int, int] = (255, 255, 255)
    shadow_blur: float = 0.018
    shadow_offset: tuple[float, float] = (0.008, 0.016)
    shadow_opacity: float = 0.35
    shadow_rgb: tuple[int, int, int] = (30, 30, 40)


def die_cut(frames: Sequence[np.ndarray], look: StickerLook = StickerLook()) -> list[np.ndarray]:
    """frames: RGBA uint8 [H, W, 4] (a cut-out: alpha 0 around it) -> the same frames with a
    border and a shadow, RGBA uint8 [H, W, 4]."""
    out = []
    for f in frames:
        f = np.asarray(f)
        if f.ndim != 3 or f.shape[2] != 4 or f.dtype != np.uint8:
            raise UsageError(f"a die-cut sticker needs RGBA uint8 frames, got {f.dtype} {f.shape}")
        out.append(_die_cut_frame(f, look))
    return out


def border_alpha(alpha: np.ndarray, width_px: float, rounding_px: float) -> np.ndarray:
    """The cut line: alpha float32 [H, W] in [0, 1] grown by width_px, its outline smoothed by
    rounding_px; anti-aliased over one pixel. Returns float32 [H, W] in [0, 1]."""
    import cv2

    solid = alpha >= 0.5
    if rounding_px > 0.5:  # smooth the outline: blur the mask and re-threshold it
        soft = cv2.GaussianBlur(solid.astype(np.float32), (0, 0), rounding_px)
        solid = solid | (soft >= 0.35)
    d_out = cv2.distanceTransform((~solid).astype(np.uint8), cv2.DIST_L2, 5)
    grown = np.clip(width_px + 0.5 - d_out, 0.0, 1.0)
    return np.maximum(grown, alpha).astype(np.float32)


def _die_cut_frame(rgba: np.ndarray, look: StickerLook) -> np.ndarray:
    import cv2

    H, W = rgba.shape[:2]
    side = float(min(H, W))
    a = rgba[..., 3].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    cut = border_alpha(a, look.border * side, look.rounding * side)
    # the picture over the white backing, both inside the cut line
    white = np.asarray(look.border_rgb, np.float32)
    body = rgb * a[..., None] + white * (1.0 - a[..., None])                  # opaque colour
    # the shadow: the cut shape, blurred, shifted down-right, under everything
    dx, dy = look.shadow_offset[0] * side, look.shadow_offset[1] * side
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    shadow = cv2.warpAffine(cut, shift, (W, H), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.5, look.shadow_blur * side))
    shadow *= look.shadow_opacity
    # "over" compositing of the sticker (body, cut) on the shadow (shadow_rgb, shadow)
    out_a = cut + shadow * (1.0 - cut)
    shade = np.asarray(look.shadow_rgb, np.float32)
    premult = body * cut[..., None] + shade * (shadow * (1.0 - cut))[..., None]
    out_rgb = premult / np.maximum(out_a, 1e-6)[..., None]
    out = np.empty_like(rgba)
    out[..., :3] = np.clip(out_rgb + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = np.clip(out_a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
