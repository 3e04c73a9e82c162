"""How drawn things look in each style: the one place the effects and the drawn face features
(render.effects, render.fill) read their ink and fill conventions from.

    look = draw_style("cartoon")      # DrawStyle(...)
    width_px = look.ink_width * iod   # every size is a share of the inter-ocular distance

A style without its own entry (a gan checkpoint's name, `none`) draws like a photo sticker:
thin dark outlines, shaded fills. numpy-free and cheap to import. The style helper may tune the
numbers here; nothing else in the tree hard-codes them.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class DrawStyle:
    """Drawing conventions of one style.

    ink_rgb: outline colour; ink_width: outline width as a share of the inter-ocular distance
    (IOD); outline: whether drawn shapes get an ink outline at all; shaded: soft gradient fills
    and highlights (False: flat cel fills with one hard highlight); saturation: 1 = the vivid
    emoticon palette, below 1 pulls effect colours towards grey (photo, painting); softness:
    blur of drawn edges as a share of the IOD (0 = crisp vector edges, painting is soft);
    feature_strength: opacity of the drawn face features (folds, furrows, lash lines) in 0..1;
    teeth: height of the drawn teeth rows in an opened mouth, 0..1 (0: gums only, a baby's).
    """

    name: str
    ink_rgb: RGB = (40, 28, 30)
    ink_width: float = 0.03
    outline: bool = True
    shaded: bool = True
    saturation: float = 1.0
    softness: float = 0.0
    feature_strength: float = 0.8
    teeth: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.ink_width <= 0.2 and 0.0 <= self.saturation <= 1.5
                and 0.0 <= self.softness <= 0.1 and 0.0 <= self.feature_strength <= 1.0
                and 0.0 <= self.teeth <= 1.0):
            raise ValueError(f"bad draw style {self}")


#: Photo sticker look: the default for styles without an entry.
PHOTO = DrawStyle("none", ink_rgb=(36, 30, 34), ink_width=0.028, outline=True, shaded=True,
                  saturation=0.95, feature_strength=0.6)

DRAW_STYLES: dict[str, DrawStyle] = {s.name: s for s in (
    PHOTO,
    # cel shading with ink lines: the values style.toon draws the cartoon face with
    DrawStyle("cartoon", ink_rgb=(34, 24, 28), ink_width=0.045, outline=True, shaded=False,
              saturation=1.15, feature_strength=0.9),
    # soft and rosy: brown-pink ink, pastel fills (style.toon's BABY look); a baby's skin
    # folds only faintly (furrows and lines at less than half strength), its mouth has gums
    # and no teeth (style.baby paints the still mouth toothless too)
    DrawStyle("baby", ink_rgb=(110, 64, 70), ink_width=0.03, outline=True, shaded=True,
              saturation=0.9, feature_strength=0.45, teeth=0.0),
    # a brush: warm dark paint, soft edges, muted colours
    DrawStyle("painting", ink_rgb=(70, 48, 38), ink_width=0.03, outline=True, shaded=True,
              saturation=0.8, softness=0.012, feature_strength=0.7),
    # the photo caricature: a retouched photo, thin dark outlines like the photo sticker
    DrawStyle("caricature", ink_rgb=(30, 24, 28), ink_width=0.03, outline=True, shaded=True,
              saturation=1.05, feature_strength=0.8),
    # the drawn caricature: the cartoon's pen, bolder
    DrawStyle("caricature-cartoon", ink_rgb=(34, 24, 28), ink_width=0.045, outline=True,
              shaded=False, saturation=1.15, feature_strength=1.0),
)}


def draw_style(style: str | None) -> DrawStyle:
    """The drawing conventions of `style` (PHOTO for a style without its own entry)."""
    return DRAW_STYLES.get(style or "none", PHOTO)
