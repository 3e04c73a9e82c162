"""The one door for reading a user's file: a regular file, of bounded size, checked before a
single byte is read; JSON and YAML parsed with bounded nesting and bounded numbers.

Every reader of emoget (images, tracks, configs, checkpoints, latents, motion models, datasets)
goes through `check_regular_file` (when a library opens the path itself) or `read_limited`.
The limits below are the documented ones (README, "Limits"):

=====================  ==========  ==========================================================
what                   limit       why
=====================  ==========  ==========================================================
config file (YAML)     1 MiB       a config is a few lines of option defaults
landmark track (JSON)  256 MiB     ~40 000 frames of one face
dataset.json           256 MiB     ~3 million entries
image file             256 MiB     a 64-megapixel image (image_io.MAX_PIXELS) compresses far below
torch / safetensors    4 GiB       a 1024 px StyleGAN2 pickle with G, D and G_ema is ~360 MB
one zip member         1 GiB       declared size, checked before inflating
video                  16 GiB      the landmark reader streams frames (never all in memory)
JSON / YAML nesting    64 levels   emoget's own files nest at most 6 deep
JSON / YAML integer    |n| < 2**63 larger numbers are never meaningful in emoget's files
=====================  ==========  ==========================================================

A FIFO, a device, a folder, a broken or looping symbolic link, a name too long: one line,
with the caller's error class (InputError, TrackError, UsageError, CheckpointError).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, Type

from .errors import EmogetError, InputError

MiB = 1024 * 1024
GiB = 1024 * MiB
MAX_CONFIG_BYTES = 1 * MiB
MAX_TRACK_BYTES = 256 * MiB
MAX_DATASET_JSON_BYTES = 256 * MiB
MAX_IMAGE_BYTES = 256 * MiB
MAX_TORCH_BYTES = 4 * GiB
MAX_ZIP_MEMBER_BYTES = 1 * GiB
MAX_VIDEO_BYTES = 16 * GiB
MAX_NESTING = 64
MAX_ABS_INT = 2 ** 63


def _human(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def os_reason(exc: OSError) -> str:
    """A short, stable reason for an OSError (no errno numbers, no repeated path)."""
    if exc.errno == errno.ELOOP:
        return "looping symbolic link"
    if exc.errno == errno.ENAMETOOLONG:
        return "name too long for the file system"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return exc.strerror or type(exc).__name__


def _a(what: str) -> str:
    return f"an {what}" if what[:1].lower() in "aeio" else f"a {what}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_stat(st: os.stat_result, path: Path, what: str, limit: int,
                error: Type[EmogetError], allow_empty: bool) -> int:
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: is {_kind(st.st_mode)}, not {_a(what)}")
    if st.st_size > limit:
        raise error(f"{path}: {what} is too large ({_human(st.st_size)}; the limit is "
                    f"{_human(limit)})")
    if st.st_size == 0 and not allow_empty:
        raise error(f"{path}: {what} is empty (0 bytes)")
    return int(st.st_size)


def check_regular_file(path: str | os.PathLike, what: str, *, limit: int,
                       error: Type[EmogetError] = InputError, allow_empty: bool = False) -> int:
    """The size of `path` once it is known to be an existing regular file of at most `limit`
    bytes; `error` (one line) otherwise. Use when a library opens the path itself."""
    path = Path(path)
    try:
        st = os.stat(path)  # follows symbolic links; a loop is ELOOP
    except FileNotFoundError:
        broken = os.path.islink(path)
        raise error(f"{path}: {'broken symbolic link' if broken else f'no such {what}'}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({os_reason(exc)})") from None
    except ValueError:  # an embedded NUL byte
        raise error(f"{path!r}: not a valid file name") from None
    return _check_stat(st, path, what, limit, error, allow_empty)


def read_limited(path: str | os.PathLike, what: str, *, limit: int,
                 error: Type[EmogetError] = InputError, allow_empty: bool = False) -> bytes:
    """All bytes of the regular file `path`, at most `limit` of them. The file is opened without
    blocking (a FIFO cannot hang us) and checked on the open descriptor, so a file swapped after
    the check is still caught; a file growing while read is cut off at `limit` + 1 and refused."""
    path = Path(path)
    check_regular_file(path, what, limit=limit, error=error, allow_empty=allow_empty)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({os_reason(exc)})") from None
    try:
        _check_stat(os.fstat(fd), path, what, limit, error, allow_empty)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({os_reason(exc)})") from None
    finally:
        os.close(fd)
    if total > limit:
        raise error(f"{path}: {what} is too large (grew beyond {_human(limit)} while read)")
    return b"".join(chunks)


def read_text_limited(path: str | os.PathLike, what: str, *, limit: int,
                      error: Type[EmogetError] = InputError) -> str:
    data = read_limited(path, what, limit=limit, error=error, allow_empty=True)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not a {what} (not UTF-8 text)") from None


def check_plain_tree(obj: Any, where: str, *, error: Type[EmogetError] = InputError,
                     max_depth: int = MAX_NESTING, max_values: int = 50_000_000) -> Any:
    """Refuse a decoded JSON/YAML document nested deeper than `max_depth`, expanding to more
    than `max_values` values (YAML aliases can repeat or even contain themselves), or holding
    integers of absurd size (|n| >= 2**63) or non-finite floats. Iterative: any depth is safe."""
    import math

    stack = [(obj, 1)]
    visited = 0
    while stack:
        value, depth = stack.pop()
        visited += 1
        if visited > max_values:
            raise error(f"{where}: holds too many values (more than {max_values}; YAML aliases "
                        "that repeat or contain themselves?)")
        if isinstance(value, (dict, list, tuple)):
            if depth > max_depth:
                raise error(f"{where}: nested too deeply (more than {max_depth} levels)")
            if isinstance(value, dict):
                stack.extend((k, depth + 1) for k in value.keys())
                stack.extend((v, depth + 1) for v in value.values())
            else:
                stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not -MAX_ABS_INT < value < MAX_ABS_INT:
                raise error(f"{where}: holds an integer too large to mean anything here "
                            f"(at least 19 digits)")
        elif isinstance(value, float) and not math.isfinite(value):
            raise error(f"{where}: holds NaN or infinity")
    return obj


def _value_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Exceeds the limit" in text and "digits" in text:
        return "an integer with thousands of digits"
    return text[:120]


def parse_json(text: str | bytes, where: str, *, error: Type[EmogetError] = InputError) -> Any:
    """json.loads with every failure (syntax, nesting, 5000-digit numbers, NaN) as `error`."""
    import json

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        data = json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise error(f"{where}: nested too deeply (more than {MAX_NESTING} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:  # Python's limit on integer digits, NaN
        raise error(f"{where}: not valid JSON ({_value_reason(exc)})") from None
    return check_plain_tree(data, where, error=error)


def parse_yaml(text: str, where: str, *, error: Type[EmogetError] = InputError) -> Any:
    """yaml.safe_load with every failure (syntax, nesting, huge numbers) as `error`."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise error(f"{where}: not valid YAML ({first})") from None
    except RecursionError:
        raise error(f"{where}: nested too deeply (more than {MAX_NESTING} levels)") from None
    except (ValueError, OverflowError, TypeError) as exc:  # 5000-digit integers, bad timestamps
        raise error(f"{where}: holds a value YAML cannot represent ({_value_reason(exc)})") from None
    # configs and blend recipes are small: a few thousand values at most
    return check_plain_tree(data, where, error=error, max_values=100_000)


def read_json_file(path: str | os.PathLike, what: str, *, limit: int,
                   error: Type[EmogetError] = InputError) -> Any:
    return parse_json(read_text_limited(path, what, limit=limit, error=error), str(path), error=error)


def read_yaml_file(path: str | os.PathLike, what: str, *, limit: int = MAX_CONFIG_BYTES,
                   error: Type[EmogetError] = InputError) -> Any:
    return parse_yaml(read_text_limited(path, what, limit=limit, error=error), str(path), error=error)
