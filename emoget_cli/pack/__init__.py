"""Sticker packs ready to upload: the expressions a platform's pack holds, the files named as
the platform wants them, its still images (main image, tab or tray icon), a manifest, a contact
sheet and a zip, every file checked against the platform's rules after it is written.

    choose_pack_expressions(preset) -> ("happiness", "surprise", ...)
    finish_pack(folder, stem, stickers, preset, ...) -> PackReport      (inside core.atomic's
                                                                    all_or_nothing block)
"""

from .validators import Violation, check_image, check_pack_count, check_sticker, probe  # noqa: F401
from .writer import (EXPRESSION_EMOJI, PackReport, choose_pack_expressions,  # noqa: F401
                     checker_sheet, finish_pack, upload_name)
