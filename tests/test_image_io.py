"""read_image / write_image: every bad-input class, odd pixel formats, EXIF, atomic writes."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emoget_cli.core.errors import InputError, OutputError, UsageError
from emoget_cli.core.image_io import MAX_PIXELS, read_image, write_image


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny file whose PNG header claims width x height pixels (a decompression bomb)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


def make_bad(kind: str, folder: Path, astronaut_path: Path) -> Path:
    """One file per bad-input class (shared with the CLI tests)."""
    if kind == "empty":
        p = folder / "empty.png"
        p.write_bytes(b"")
    elif kind == "truncated_png":
        p = folder / "trunc.png"
        data = astronaut_path.read_bytes()
        p.write_bytes(data[: len(data) // 3])
    elif kind == "truncated_jpeg":
        p = folder / "trunc.jpg"
        full = folder / "full.jpg"
        Image.open(astronaut_path).save(full, quality=90)
        data = full.read_bytes()
        full.unlink()
        p.write_bytes(data[: len(data) // 3])
    elif kind == "text":
        p = folder / "notes.jpg"
        p.write_text("this is a shopping list, not a photo\n" * 20)
    elif kind == "bomb":
        p = bomb_png(folder / "bomb.png")
    else:
        raise ValueError(kind)
    return p


BAD_KINDS = ["empty", "truncated_png", "truncated_jpeg", "text", "bomb"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_files_raise_input_error(kind, tmp_path, astronaut_path):
    path = make_bad(kind, tmp_path, astronaut_path)
    with pytest.raises(InputError) as err:
        read_image(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg


def test_bomb_is_refused_before_decoding(tmp_path):
    path = bomb_png(tmp_path / "b.png", 9000, 9000)
    assert path.stat().st_size < 200 and 9000 * 9000 > MAX_PIXELS
    with pytest.raises(InputError, match="too large"):
        read_image(path)


def test_missing_folder_and_tiny(tmp_path):
    with pytest.raises(InputError, match="no such image"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="folder"):
        read_image(tmp_path)
    Image.new("RGB", (4, 4)).save(tmp_path / "tiny.png")
    with pytest.raises(InputError, match="too small"):
        read_image(tmp_path / "tiny.png")


def test_pixel_formats(tmp_path, astronaut_rgb):
    grey = astronaut_rgb.mean(2).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    g = read_image(tmp_path / "g.png")
    assert g.rgb.shape == (512, 512, 3) and np.array_equal(g.rgb[..., 0], grey) and g.alpha is None

    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "g16.png")
    g16 = read_image(tmp_path / "g16.png")
    assert g16.rgb.dtype == np.uint8 and np.abs(g16.rgb[..., 1].astype(int) - grey).max() <= 1

    alpha = np.tile(np.linspace(0, 255, 512).astype(np.uint8), (512, 1))
    Image.fromarray(np.dstack([astronaut_rgb, alpha])).save(tmp_path / "a.png")
    a = read_image(tmp_path / "a.png")
    assert np.array_equal(a.rgb, astronaut_rgb) and np.array_equal(a.alpha, alpha)

    Image.fromarray(astronaut_rgb).quantize(64).save(tmp_path / "p.png")
    p = read_image(tmp_path / "p.png")
    assert p.rgb.shape == (512, 512, 3) and np.abs(p.rgb.astype(int) - astronaut_rgb).mean() < 12


def test_exif_orientation_is_applied(tmp_path, astronaut_rgb):
    # Orientation 6 = "rotate 90° clockwise to display": store the picture turned the other way.
    stored = Image.fromarray(astronaut_rgb).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    img = read_image(tmp_path / "rot.jpg")
    assert img.rgb.shape == astronaut_rgb.shape
    assert np.abs(img.rgb.astype(int) - astronaut_rgb).mean() < 6


def test_write_image_atomic_and_formats(tmp_path, astronaut_rgb):
    out = write_image(tmp_path / "sub" / "x.png", astronaut_rgb, alpha=np.full((512, 512), 7, np.uint8))
    back = read_image(out)
    assert np.array_equal(back.rgb, astronaut_rgb) and back.alpha.max() == 7
    write_image(tmp_path / "x.jpg", astronaut_rgb, alpha=np.zeros((512, 512), np.uint8))  # alpha dropped
    assert read_image(tmp_path / "x.jpg").alpha is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "x.jpg"]   # no temp files left
    with pytest.raises(UsageError, match="unknown image format"):  # the user's name: exit 2
        write_image(tmp_path / "x.nope", astronaut_rgb)
    blocker = tmp_path / "file"
    blocker.write_text("I am a file")
    with pytest.raises(OutputError):
        write_image(blocker / "inside.png", astronaut_rgb)


def test_broken_exif_block_is_ignored_quietly(tmp_path, astronaut_path, recwarn):
    """A JPEG whose EXIF block is cut short still decodes, without Pillow's warning on stderr."""
    full = tmp_path / "full.jpg"
    Image.open(astronaut_path).save(full, quality=95)
    data = full.read_bytes()
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x00" * 10  # 65535 entries, 10 bytes
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + len(exif)) + exif
    path = tmp_path / "badexif.jpg"
    path.write_bytes(data[:2] + app1 + data[2:])
    img = read_image(path)
    assert img.rgb.shape == (512, 512, 3)
    assert not [w for w in recwarn if "EXIF" in str(w.message)]


def test_symlink_loop_and_special_targets(tmp_path, astronaut_rgb):
    loop = tmp_path / "a.png"
    loop.symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(loop)
    with pytest.raises(InputError, match="looping symbolic link"):
        read_image(loop)
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(OutputError, match="folder"):
        write_image(tmp_path / "dir.png", astronaut_rgb)
    from emoget_cli.core.atomic import write_bytes_atomic

    with pytest.raises(OutputError, match="not a regular file"):  # a rename would replace it
        write_bytes_atomic("/dev/null", b"data")
    assert Path("/dev/null").is_char_device()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "dir.png"]
