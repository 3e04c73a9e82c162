"""The latent file (`*.latent.pt`): one inverted face, defined once, versioned.

Written by `emoget invert`, read by `emoget render` and the gan style engine. The file is a
plain `torch.save` dict holding only tensors and plain Python types, so it loads with
`torch.load(weights_only=True)`:

    format            "emoget-latent"
    version           1
    w_plus            float32 [n_latent, style_dim]   (always W+; a W-space inversion is broadcast)
    noise             list of float32 [1, 1, 2^r, 2^r] (the optimised noise maps; may be empty)
    space             "w" | "w+"                      (what was optimised)
    generator_sha256  str   (sha256 of the checkpoint file inverted against; "" when unknown)
    resolution        int   (that generator's output size)
    class_name        str | None  (class used for a conditional generator)
    losses            {name: float}  (final per-face losses: mse, perceptual, noise, total, psnr)
    source            str   (input file name, informational)
    extra             {str: str | int | float | bool | None}  (e.g. pti checkpoint name, backend)

Every load checks the format tag, version, keys, dtypes and shapes and raises a one-line
CheckpointError (exit code 5) for anything else.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_bytes_atomic
from .errors import CheckpointError
from .safe_load import load_torch_file

LATENT_FORMAT = "emoget-latent"
LATENT_VERSION = 1
_PLAIN = (str, int, float, bool, type(None))


@dataclass
class LatentFile:
    """One face's latent code. w_plus: torch float32 [n_latent, style_dim] (CPU)."""

    w_plus: Any
    noise: list = field(default_factory=list)   # list of torch [1, 1, H, W]
    space: str = "w+"
    generator_sha256: str = ""
    resolution: int = 0
    class_name: str | None = None
    losses: dict[str, float] = field(default_factory=dict)
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_latent(self) -> int:
        return int(self.w_plus.shape[0])

    @property
    def style_dim(self) -> int:
        return int(self.w_plus.shape[1])


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (how latents and blends name their generators)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _to_payload(latent: LatentFile) -> dict[str, Any]:
    import torch

    w = torch.as_tensor(latent.w_plus).detach().to("cpu", torch.float32).contiguous()
    noise = [torch.as_tensor(n).detach().to("cpu", torch.float32).contiguous() for n in latent.noise]
    payload = {
        "format": LATENT_FORMAT,
        "version": LATENT_VERSION,
        "w_plus": w,
        "noise": noise,
        "space": str(latent.space),
        "generator_sha256": str(latent.generator_sha256 or ""),
        "resolution": int(latent.resolution),
        "class_name": None if latent.class_name is None else str(latent.class_name),
        "losses": {str(k): float(v) for k, v in latent.losses.items()},
        "source": str(latent.source),
        "extra": {str(k): v for k, v in latent.extra.items()},
    }
    _validate(payload, "latent")  # never write a file that load_latent would refuse
    return payload


def save_latent(latent: LatentFile, path: str | Path) -> Path:
    """Write `latent` to `path` atomically (a `.latent.pt` suffix is conventional)."""
    import torch

    buf = io.BytesIO()
    torch.save(_to_payload(latent), buf)
    return write_bytes_atomic(path, buf.getvalue())


def load_latent(path: str | Path) -> LatentFile:
    """Read and validate a latent file; CheckpointError (one line) if it is not one."""
    path = Path(path)
    where = str(path)
    payload = load_torch_file(path, "latent file")  # missing / folder / not torch / refused
    _validate(payload, where)
    return LatentFile(
        w_plus=payload["w_plus"], noise=list(payload["noise"]), space=payload["space"],
        generator_sha256=payload["generator_sha256"], resolution=payload["resolution"],
        class_name=payload["class_name"], losses=dict(payload["losses"]),
        source=payload["source"], extra=dict(payload["extra"]))


def _validate(payload: Any, where: str) -> None:
    import torch

    def bad(msg: str) -> CheckpointError:
        return CheckpointError(f"{where}: {msg}")

    if not isinstance(payload, dict) or payload.get("format") != LATENT_FORMAT:
        raise bad("not an emoget latent file (missing format tag 'emoget-latent'; "
                  "generator checkpoints go to --ckpt)")
    version = payload.get("version")
    if not isinstance(version, int) or version < 1:
        raise bad(f"bad latent file version {version!r}")
    if version > LATENT_VERSION:
        raise bad(f"latent file version {version} is newer than this emoget understands "
                  f"({LATENT_VERSION}); upgrade emoget")
    required = {"w_plus": torch.Tensor, "noise": list, "space": str, "generator_sha256": str,
                "resolution": int, "losses": dict, "source": str, "extra": dict}
    for key, kind in required.items():
        if not isinstance(payload.get(key), kind):
            raise bad(f"field {key!r} is missing or has the wrong type")
    w = payload["w_plus"]
    if w.dim() != 2 or w.shape[0] < 1 or w.shape[1] < 1 or not w.is_floating_point():
        raise bad(f"w_plus must be a float [n_latent, style_dim] tensor, got {tuple(w.shape)}")
    if not torch.isfinite(w).all():
        raise bad("w_plus contains NaN or infinite values")
    for i, n in enumerate(payload["noise"]):
        if not (isinstance(n, torch.Tensor) and n.dim() == 4 and n.shape[:2] == (1, 1)
                and n.is_floating_point()):
            raise bad(f"noise map {i} must be a float [1, 1, H, W] tensor")
    if payload["space"] not in ("w", "w+"):
        raise bad(f"space must be 'w' or 'w+', got {payload['space']!r}")
    res = payload["resolution"]
    if res < 0 or (res and res & (res - 1)):
        raise bad(f"resolution must be a power of two, got {res}")
    cls = payload.get("class_name")
    if cls is not None and not isinstance(cls, str):
        raise bad("class_name must be a string or null")
    for k, v in payload["losses"].items():
        if not isinstance(k, str) or not isinstance(v, (int, float)) or math.isnan(float(v)):
            raise bad("losses must map names to numbers")
    for k, v in payload["extra"].items():
        if not isinstance(k, str) or not isinstance(v, _PLAIN):
            raise bad("extra must map names to plain values")
