"""The one door for untrusted torch files (checkpoints, latents, motion models).

`torch.load(weights_only=True)` never runs code from the file: only tensors, plain containers
and the explicitly allowed globals come back. Every failure becomes a one-line CheckpointError
that says whether the file is not a torch file, was refused for safety, or is damaged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .errors import CheckpointError

_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a"  # pickle protocol 2 + torch's legacy magic number


def _is_refusal(exc: BaseException) -> bool:
    text = str(exc)
    return "Weights only" in text or "weights_only" in text or "Unsupported global" in text


def load_torch_file(path: str | Path, what: str, *, allowed_globals: Iterable[type] = ()) -> Any:
    """torch.load(path, weights_only=True) on CPU; `what` names the artifact in messages
    ("latent file", "motion model", ...). CheckpointError for anything but a clean load."""
    import torch

    from .files import MAX_TORCH_BYTES, check_regular_file

    path = Path(path)
    check_regular_file(path, what, limit=MAX_TORCH_BYTES, error=CheckpointError)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_LEGACY_MAGIC) or head[:1] == b"\x80"):
        raise CheckpointError(f"{path}: not a {what} (not a torch-saved file)")
    if head.startswith(_ZIP_MAGIC):
        check_zip_members(path, what)
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError (bad zip), EOFError, ...
        if _is_refusal(exc):
            raise CheckpointError(f"{path}: refused: the {what} contains objects other than tensors "
                                  "and plain values (loading it could run code)") from None
        raise CheckpointError(f"{path}: damaged or unreadable {what} ({_reason(exc)})") from None


def check_zip_members(path: Path, what: str, *, error=CheckpointError) -> None:
    """Refuse a zip whose members declare more than MAX_ZIP_MEMBER_BYTES each (or more than
    MAX_TORCH_BYTES together) before anything is inflated: the declared size is what a reader
    allocates, and a 1 MB file can declare (and inflate to) gigabytes."""
    import zipfile

    from .files import MAX_TORCH_BYTES, MAX_ZIP_MEMBER_BYTES

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise error(f"{path}: damaged or unreadable {what} (truncated or corrupt archive)") from None
    total = 0
    for info in infos:
        if info.file_size > MAX_ZIP_MEMBER_BYTES:
            raise error(f"{path}: refused: member {info.filename[:60]!r} of the {what} declares "
                        f"{info.file_size} bytes (the limit is {MAX_ZIP_MEMBER_BYTES})")
        total += info.file_size
    if total > MAX_TORCH_BYTES:
        raise error(f"{path}: refused: the {what}'s members declare {total} bytes in all (the "
                    f"limit is {MAX_TORCH_BYTES})")


def _reason(exc: BaseException) -> str:
    """The first sentence of torch's message: its zip errors go on about internal details."""
    text = " ".join(str(exc).split())
    if not text:
        return type(exc).__name__
    if "PytorchStreamReader" in text or "zip archive" in text:
        return "truncated or corrupt archive"
    return text.split(". ")[0][:160]
