"""Write the parts of a sticker pack that are not the stickers, and check every file.

The stickers themselves are written by `make` (render/export.py, fitted to the preset); then
`finish_pack` adds the platform's still images, checks each sticker and image against the
platform's rules (pack/validators.py), writes manifest.json, the contact sheet on a
checkerboard and the upload zip. It runs inside core.atomic.all_or_nothing: files are staged
and appear together, or (on any violation) not at all.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.choices import EXPRESSION_NAMES, PACK_EXPRESSIONS
from ..core.errors import OutputError, UsageError
from ..render.presets import PackImage, Preset
from .validators import check_image_info, check_info, check_pack_count, probe

#: The emoji each expression stands for (WhatsApp and Telegram file every sticker under one or
#: more emoji); a combined or unknown expression takes its first part's, else a plain smile.
EXPRESSION_EMOJI = {
    "happiness": "😄", "surprise": "😮", "disgust": "🤢", "sadness": "😢", "anger": "😠",
    "fear": "😨", "contempt": "😒", "wink": "😉", "blink": "😌", "idle": "🙂", "neutral": "😐",
    "laugh": "😂", "love": "😍", "sleepy": "😴", "cry": "😭", "shock": "😱", "shy": "😊",
    "smug": "😏", "confused": "😕", "kiss": "😘", "cool": "😎", "thinking": "🤔",
    "shocked": "😱", "nervous": "😅",
}
#: Expressions never put in a pack on their own: a still face is not a sticker.
_NOT_A_STICKER = ("neutral",)


def emoji_for(expr: str) -> str:
    base = expr.split("+")[0].split(":")[0].strip().lower()
    return EXPRESSION_EMOJI.get(base, "🙂")


def pack_library(library: Sequence[str] = EXPRESSION_NAMES) -> list[str]:
    """The expressions a pack may hold, the classic pack first, then the rest of the library."""
    ordered = [e for e in PACK_EXPRESSIONS if e in library]
    ordered += [e for e in library if e not in ordered]
    return [e for e in ordered if e not in _NOT_A_STICKER]


def choose_pack_expressions(preset: Preset | None,
                            library: Sequence[str] = EXPRESSION_NAMES) -> tuple[str, ...]:
    """The expressions of a `--pack`: the classic seven when the platform takes a pack of
    seven (or there is no preset); else the largest pack the platform accepts that the library
    can fill (LINE sells sets of 8, 16 or 24: 16 from an 18-expression library)."""
    pool = pack_library(library)
    classic = tuple(e for e in PACK_EXPRESSIONS if e in library)
    if preset is None:
        return classic
    lo, hi = preset.pack_range
    sizes = preset.pack_sizes or tuple(range(lo, hi + 1))
    if len(classic) in sizes:
        return classic
    fits = [n for n in sizes if n <= len(pool)]
    if not fits:
        raise UsageError(f"a {preset.name} pack needs at least {min(sizes)} stickers; the "
                         f"expression library has {len(pool)}")
    return tuple(pool[:max(fits)])


def check_pack_expressions(exprs: Sequence[str], preset: Preset) -> None:
    """UsageError when the platform does not accept a pack of len(exprs) stickers."""
    bad = check_pack_count(len(exprs), preset)
    if bad:
        raise UsageError(f"--pack --preset {preset.name}: {bad[0].message}; give that many "
                         "--expr, or one --expr to let --pack choose from the library")


#: Platforms whose upload form wants fixed file names (LINE: 01.png..., main.png, tab.png).
_FIXED_NAMES = ("line",)


def upload_name(index: int, disk_name: str, preset: Preset | None) -> str:
    """A sticker's name in the upload zip: LINE wants 01.png, 02.png, ...; the others take
    the file's own name."""
    if preset is not None and preset.name in _FIXED_NAMES:
        return f"{index + 1:02d}{Path(disk_name).suffix}"
    return disk_name


def image_upload_name(role: str, disk_name: str, preset: Preset) -> str:
    return f"{role}.png" if preset.name in _FIXED_NAMES else disk_name


# ------------------------------------------------------------------------------ still images --

def fit_rgba(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale RGBA uint8 [H, W, 4] (premultiplied, so no dark rim) to fit width x height and
    centre it on a transparent canvas of exactly that size."""
    import cv2

    h, w = rgba.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    pre = np.concatenate([rgba[..., :3] * a, a * 255.0], axis=2).astype(np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    res = cv2.resize(pre, (nw, nh), interpolation=interp)
    alpha = np.clip(res[..., 3:4], 0, 255)
    rgb = res[..., :3] * 255.0 / np.maximum(alpha, 1e-6)
    small = np.clip(np.concatenate([rgb, alpha], 2) + 0.5, 0, 255).astype(np.uint8)
    small[..., :3][small[..., 3] == 0] = 0
    canvas = np.zeros((height, width, 4), np.uint8)
    y, x = (height - nh) // 2, (width - nw) // 2
    canvas[y:y + nh, x:x + nw] = small
    return canvas


def _png_bytes(rgba: np.ndarray, max_bytes: int) -> bytes:
    """PNG of RGBA uint8 [H, W, 4]; a 256- then 64-colour palette when truecolour is too big."""
    from PIL import Image

    im = Image.fromarray(rgba, "RGBA")
    for colours in (None, 256, 64):
        buf = io.BytesIO()
        (im if colours is None else im.quantize(colours, method=Image.Quantize.FASTOCTREE)
         ).save(buf, format="PNG", optimize=True)
        if buf.tell() <= max_bytes:
            break
    return buf.getvalue()


# ---------------------------------------------------------------------------- contact sheet --

def checkerboard(height: int, width: int, cell: int = 8) -> np.ndarray:
    """float32 [H, W, 3]: the light grey checkerboard image editors show under transparency."""
    yy, xx = np.mgrid[:height, :width]
    light = ((yy // cell + xx // cell) % 2).astype(np.float32)
    return (204.0 + 51.0 * light)[..., None].repeat(3, axis=2)


def over_checkerboard(rgba: np.ndarray, cell: int = 8) -> np.ndarray:
    """RGB uint8 of RGBA uint8 [H, W, 4] (or RGB, returned as is) over a checkerboard."""
    if rgba.shape[2] == 3:
        return rgba
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    board = checkerboard(*rgba.shape[:2], cell=cell)
    return np.clip(rgba[..., :3] * a + board * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def checker_sheet(tiles: Sequence[tuple[str, np.ndarray]], *, tile: int = 128,
                  cols: int = 4) -> np.ndarray:
    """Labelled grid of RGBA (or RGB) frames, each fitted into tile x tile over a
    checkerboard (so halos and fringes show) -> RGB uint8 sheet."""
    import cv2

    label_h = max(16, tile // 7)
    cols = max(1, min(cols, len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    sheet = np.full((rows * (tile + label_h), cols * tile, 3), 255, np.uint8)
    for i, (label, img) in enumerate(tiles):
        img = np.asarray(img)
        if img.shape[2] == 3:
            img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
        r, c = divmod(i, cols)
        y, x = r * (tile + label_h), c * tile
        sheet[y:y + tile, x:x + tile] = over_checkerboard(fit_rgba(img, tile, tile))
        scale = label_h / 34
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(sheet, label, (x + max(2, (tile - tw) // 2), y + tile + (label_h + th) // 2),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 1, cv2.LINE_AA)
    return sheet


# ------------------------------------------------------------------------------ the pack --

@dataclass
class PackReport:
    """What finish_pack wrote: the pack's still images, the manifest, the contact sheet and the
    zip; checks = files checked against the platform's rules."""

    images: list[Path] = field(default_factory=list)
    manifest: Path | None = None
    sheet: Path | None = None
    zip: Path | None = None
    checks: int = 0


def finish_pack(folder: Path, stem: str, stickers: Sequence[tuple[str, Path, np.ndarray]],
                preset: Preset, *, sheet_path: Path, zip_path: Path, source: str = "",
                style: str = "", generator: str = "emoget") -> PackReport:
    """Complete a pack whose sticker files are already written (staged) in `folder`.

    stickers: (expression, path, apex RGBA uint8 [H, W, 4]) per sticker, in pack order.
    Writes the preset's still images (folder/<stem>-<role>.png), checks every sticker and image
    against the platform's rules (OutputError naming each broken rule: inside all_or_nothing
    nothing is then left), then writes folder/<stem>-manifest.json, the contact sheet and the
    upload zip, whose members carry the names the platform wants (LINE: 01.png.., main.png,
    tab.png; the others: the files' own names).
    """
    from ..core.atomic import staged_path, write_bytes_atomic, write_text_atomic

    report = PackReport()
    problems = [v.message for v in check_pack_count(len(stickers), preset)]
    entries, members = [], []
    for i, (expr, path, _) in enumerate(stickers):
        info = probe(staged_path(path))
        info.path = Path(path)
        problems += [v.message for v in check_info(info, preset)]
        upload = upload_name(i, Path(path).name, preset)
        entries.append({"file": Path(path).name, "upload_name": upload, "expression": expr,
                        "emoji": emoji_for(expr), **info.to_dict()})
        members.append((Path(path), upload))
    images = []
    cover = stickers[0][2]
    for rule in preset.pack_images:
        target = folder / f"{stem}-{rule.role}.png"
        write_bytes_atomic(target, _png_bytes(fit_rgba(cover, rule.width, rule.height),
                                              rule.max_bytes))
        info = probe(staged_path(target))
        info.path = target
        problems += [v.message for v in check_image_info(info, rule)]
        name = image_upload_name(rule.role, target.name, preset)
        images.append({"file": target.name, "upload_name": name, "role": rule.role,
                       "width": rule.width, "height": rule.height, "bytes": info.bytes})
        members.append((target, name))
        report.images.append(target)
    report.checks = len(stickers) + len(images) + 1
    if problems:
        raise OutputError(f"the {preset.name} pack breaks the platform's rules, nothing was "
                          f"written: {'; '.join(problems[:6])}"
                          + (f" (and {len(problems) - 6} more)" if len(problems) > 6 else ""))
    manifest = {
        "platform": preset.name, "rules": preset.describe(), "note": preset.note,
        "source": source, "style": style, "generator": generator, "count": len(stickers),
        "stickers": entries, "images": images, "validated": True, "upload": zip_path.name,
    }
    report.manifest = write_text_atomic(folder / f"{stem}-manifest.json",
                                        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    sheet = checker_sheet([(e, a) for e, _, a in stickers])
    report.sheet = write_bytes_atomic(sheet_path, _png_bytes(np.dstack(
        [sheet, np.full(sheet.shape[:2], 255, np.uint8)]), 50_000_000))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for path, name in members:
            zf.write(staged_path(path), arcname=name)
    report.zip = write_bytes_atomic(zip_path, buf.getvalue())
    return report
