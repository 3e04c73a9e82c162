"""StyleGAN2 networks, ops and checkpoints (torch is imported lazily, on first attribute use).

    from emoget_cli.gan import Generator, Discriminator, load_generator, load_checkpoint, save_checkpoint
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Generator": "networks",
    "Discriminator": "networks",
    "channel_table": "networks",
    "Checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_generator": "checkpoint",
    "save_checkpoint": "checkpoint",
    "build_generator": "checkpoint",
    "build_discriminator": "checkpoint",
    "infer_architecture": "checkpoint",
    "CHECKPOINT_FORMAT_VERSION": "checkpoint",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:  # PEP 562: keep `import emoget_cli.gan` free of torch
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emoget_cli.gan' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
