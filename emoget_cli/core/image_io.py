"""Reading untrusted images and writing still images.

`read_image` is the only door through which user pictures enter emoget: it honours EXIF
orientation, flattens grey / palette / 16-bit / alpha images to 8-bit RGB, and refuses
zero-byte, truncated, non-image and decompression-bomb files with an InputError.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import InputError, OutputError, UsageError

#: Largest accepted image, in pixels (about 8k x 8k). Bigger files are refused before decoding.
MAX_PIXELS = 64_000_000
#: The still-image files emoget writes (render, contact sheets, intermediates).
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}


@dataclass
class LoadedImage:
    """rgb: uint8 [H, W, 3]; alpha: uint8 [H, W] or None."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16 or (arr.dtype.kind in "iu" and arr.max(initial=0) > 255):
        return (arr.astype(np.float32) / 257.0).round().clip(0, 255).astype(np.uint8)
    if arr.dtype.kind == "f":
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        return (np.nan_to_num(arr) * scale).round().clip(0, 255).astype(np.uint8)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    return arr.clip(0, 255).astype(np.uint8)


def decode_pil(img, *, where: str = "image") -> LoadedImage:
    """Convert an opened PIL image (any mode) to a LoadedImage, honouring EXIF orientation."""
    from PIL import ImageOps

    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block should not lose the picture
        pass
    mode = img.mode
    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        rgb = _to_uint8(np.asarray(img))
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    else:
        if mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif mode in ("LA", "La", "PA", "RGBa"):
            img = img.convert("RGBA")
        elif mode not in ("RGB", "RGBA", "L"):
            img = img.convert("RGB")
        arr = np.asarray(img)
        if arr.ndim == 2:
            rgb = np.repeat(_to_uint8(arr)[..., None], 3, axis=2)
        else:
            arr = _to_uint8(arr)
            rgb = np.ascontiguousarray(arr[..., :3])
            if arr.shape[2] == 4:
                alpha = np.ascontiguousarray(arr[..., 3])
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise InputError(f"{where}: image is too small ({rgb.shape[1]}x{rgb.shape[0]} pixels)")
    return LoadedImage(np.ascontiguousarray(rgb), alpha)


def _decode_guarded(source, where: str, max_pixels: int) -> LoadedImage:
    """Open `source` (a path or a binary file object) with every refusal emoget applies."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns on stderr about damaged metadata ("Corrupt EXIF data"); the picture
            # is still decoded, and the user gets one line per file, so keep them quiet.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise InputError(f"{where}: image is too large ({w}x{h} = {w * h} pixels; "
                                     f"the limit is {max_pixels})")
                img.load()  # forces full decoding: truncated files fail here
                return decode_pil(img, where=where)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{where}: image is too large (its header claims more than {max_pixels} "
                         "pixels; decompression bomb refused)") from None
    except UnidentifiedImageError:
        raise InputError(f"{where}: not an image file (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{where}: cannot decode image ({msg})") from None
    except MemoryError:
        raise InputError(f"{where}: image is too large to decode") from None


def read_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode an image file into 8-bit RGB (+ alpha).

    Raises InputError for missing, empty, truncated, non-image or oversized files.
    """
    from .files import MAX_IMAGE_BYTES, check_regular_file

    path = Path(path)
    where = str(path)
    # a regular file (not a FIFO that would hang, a device that never ends, a folder or a link
    # loop) of bounded size, before the decoder opens it
    check_regular_file(path, "image", limit=MAX_IMAGE_BYTES)
    loaded = _decode_guarded(path, where, max_pixels)
    loaded.path = path
    return loaded


def decode_image_bytes(data: bytes, where: str, *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode an in-memory image (e.g. a zip member) with the same refusals as `read_image`."""
    import io

    if not data:
        raise InputError(f"{where}: file is empty (0 bytes)")
    return _decode_guarded(io.BytesIO(data), where, max_pixels)


def write_image(path: str | Path, rgb: np.ndarray, alpha: np.ndarray | None = None) -> Path:
    """Write uint8 RGB [H, W, 3] (+ alpha [H, W]) to `path` atomically; format from the suffix."""
    from PIL import Image

    path = Path(path)
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        arr = _to_uint8(arr)
    if alpha is not None:
        arr = np.dstack([arr[..., :3], np.asarray(alpha, dtype=np.uint8)])
    img = Image.fromarray(arr)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:  # the name the user gave: a usage error (exit 2), not a failed write
        raise UsageError(f"{path}: unknown image format {path.suffix!r} (use .png, .jpg or .webp)")
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    with atomic_path(path) as tmp:
        try:
            img.save(tmp, format=fmt)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc}") from None
    return path
