"""Safe file output: one file atomically, several files all-or-nothing, and the one check every
output path passes before any work starts.

* `atomic_path(target)`: write to a temporary sibling, then rename over the target. A reader (or
  a crash, or a kill) never sees a half-written artifact: either the old file, the new one, or
  nothing.
* `all_or_nothing()`: inside this block every `atomic_path` write (and so every writer built on
  it: images, animations, latents, checkpoints, zips) is staged; the renames happen together
  when the block ends without an exception. On an exception, Ctrl-C or SIGTERM every staged
  temporary file is removed and no target is touched. `staged_path(target)` gives the file to
  read back before the commit (e.g. to zip what was just written).
* `check_output(target, inputs)`: refuses, before the work, an output that is a folder, sits
  under a file, has a name too long for the file system, lies in a folder that cannot be
  written, or is one of the command's inputs.
* `completed_outputs()`: every file this process committed, for the interruption report.
"""

from __future__ import annotations

import contextlib
import glob
import contextvars
import errno
import os
import signal
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .errors import OutputError, UsageError

#: Longest file name written, in bytes, when the file system does not say (ext4, APFS, NTFS).
DEFAULT_NAME_MAX = 255
#: Characters of the target's name kept in a temporary file's name: the temp name must stay
#: within NAME_MAX even when the target's name is close to it.
_TEMP_STEM_CHARS = 40

_COMPLETED: list[Path] = []


class _Group:
    """The files staged by one `all_or_nothing` block: target -> temporary sibling."""

    def __init__(self) -> None:
        self.staged: dict[Path, Path] = {}

    def commit(self) -> None:
        """Rename every staged file over its target; on a failure undo the renames already done.

        SIGINT/SIGTERM are held back for the few milliseconds of renaming, so an interruption
        lands before (nothing written) or after (everything written), never in between."""
        blocked = _block_signals()
        backups: list[tuple[Path, Path]] = []   # (target, its previous content moved aside)
        placed: list[Path] = []
        try:
            for target in self.staged:
                if target.is_file():
                    backup = _temp_sibling(target, ".old")
                    os.replace(target, backup)
                    backups.append((target, backup))
            for target, tmp in self.staged.items():
                os.replace(tmp, target)
                placed.append(target)
        except OSError as exc:
            failed = target
            for done in placed:
                with contextlib.suppress(OSError):
                    done.unlink()
            for old, backup in backups:
                with contextlib.suppress(OSError):
                    os.replace(backup, old)
            self.discard()
            raise OutputError(f"cannot write {failed}: {exc.strerror or exc}") from None
        else:
            for _, backup in backups:
                with contextlib.suppress(OSError):
                    backup.unlink()
            _COMPLETED.extend(placed)
        finally:
            _unblock_signals(blocked)

    def discard(self) -> None:
        for tmp in self.staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.staged.clear()


_GROUP: contextvars.ContextVar[Optional[_Group]] = contextvars.ContextVar("emoget_atomic_group",
                                                                         default=None)


def _block_signals() -> Optional[set]:
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    except (AttributeError, ValueError, OSError):  # not on this platform / not the main thread
        return None


def _unblock_signals(previous: Optional[set]) -> None:
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _temp_sibling(target: Path, tag: str = ".tmp") -> Path:
    """A new empty file next to `target`, named .<stem>.<random><tag><suffix> (stem shortened
    so the name fits the file system even when the target's own name is at the limit)."""
    stem = target.stem[:_TEMP_STEM_CHARS]
    suffix = target.suffix if len(target.suffix) <= 16 else ""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=f"{tag}{suffix}", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write to {target.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    return Path(name)


def ensure_parent(path: Path) -> None:
    """Create the parent folder of `path`, turning OS failures into OutputError."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {Path(path).parent}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it is renamed to `path` (or, inside
    `all_or_nothing`, staged for the block's commit). On any exception it is removed.

    The temporary file keeps the target's suffix so writers that pick a format from the
    suffix (OpenCV, imageio, Pillow) still work.
    """
    target = Path(path)
    check_output(target)
    ensure_parent(target)
    tmp = _temp_sibling(target)
    # mkstemp makes the file 0600; give the artifact the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o666 & ~umask)
    group = _GROUP.get()
    try:
        yield tmp
        if group is not None:
            previous = group.staged.pop(target, None)
            if previous is not None:  # written twice in one block: the last write wins
                with contextlib.suppress(OSError):
                    previous.unlink()
            group.staged[target] = tmp
            tmp = None
            return
        blocked = _block_signals()
        try:
            os.replace(tmp, target)
            _COMPLETED.append(target)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        finally:
            _unblock_signals(blocked)
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError, OSError):
                tmp.unlink()


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Every `atomic_path` write inside the block is committed together at its end, or (on an
    exception, KeyboardInterrupt or SIGTERM) none is. Blocks nest: an inner block joins the
    outer one."""
    if _GROUP.get() is not None:
        yield
        return
    group = _Group()
    token = _GROUP.set(group)
    try:
        yield
    except BaseException:
        _GROUP.reset(token)
        token = None
        group.discard()
        raise
    finally:
        if token is not None:
            _GROUP.reset(token)
    group.commit()


def staged_path(target: str | os.PathLike) -> Path:
    """Where the content of `target` is right now: its staged temporary file inside an
    `all_or_nothing` block, else `target` itself."""
    target = Path(target)
    group = _GROUP.get()
    if group is not None and target in group.staged:
        return group.staged[target]
    return target


def completed_outputs() -> list[Path]:
    """Files this process has finished writing (in order), for the report of an interruption."""
    return list(_COMPLETED)


def record_completed(paths: Iterable[str | os.PathLike]) -> None:
    """Count files that a worker (another process or machine) finished for this command."""
    _COMPLETED.extend(Path(p) for p in paths)


def remove_stray_temporaries(target: str | os.PathLike) -> None:
    """Remove the temporary siblings of `target` that a killed worker left (it could not run
    its own cleanup); the target itself, complete or absent, is not touched."""
    target = Path(target)
    stem = target.stem[:_TEMP_STEM_CHARS]
    suffix = target.suffix if len(target.suffix) <= 16 else ""
    for tmp in target.parent.glob(f".{glob.escape(stem)}.*.tmp{glob.escape(suffix)}"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def check_name(target: str | os.PathLike) -> Path:
    """OutputError when a part of `target` is longer than the file system's name limit (a stat
    of such a path fails with ENAMETOOLONG before anything else can be said about it)."""
    target = Path(target)
    limit = name_max(target.parent)
    for part in target.parts:
        if len(os.fsencode(part)) > limit:
            raise OutputError(f"cannot write {part[:24]}...{target.suffix}: the name is "
                              f"{len(os.fsencode(part))} bytes; the file system allows {limit}")
    return target


def check_output(target: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), *,
                 option: str = "-o", suffixes: Optional[Iterable[str]] = None,
                 what: str = "output") -> Path:
    """Fail (OutputError, or UsageError for an input) before any slow work when `target` cannot
    be written as a file: it is a folder or a device, its nearest existing parent is not a
    writable folder, its name is too long for the file system, or it is one of `inputs` (no
    command ever writes over its own input). `suffixes`: the only file types the command
    writes (a UsageError names them for any other, e.g. `-o b.txt` for a checkpoint)."""
    target = Path(target)
    if suffixes is not None:
        allowed = [s.lower() for s in suffixes]
        if target.suffix.lower() not in allowed:
            raise UsageError(f"{option} {target}: the {what} must be a {' or '.join(allowed)} file"
                             f" (got {target.suffix or 'no suffix'!r})")
    check_name(target)
    try:
        if target.is_dir():
            raise OutputError(f"cannot write {target}: it is a folder")
        if target.exists() and not target.is_file():  # a device or FIFO: a rename would replace it
            raise OutputError(f"cannot write {target}: not a regular file")
        parent = target.parent
        while not parent.exists() and parent != parent.parent:
            if parent.is_symlink():
                raise OutputError(f"cannot write {target}: {parent} is a broken or looping "
                                  "symbolic link")
            parent = parent.parent
    except OSError as exc:  # ELOOP, ENAMETOOLONG from stat
        raise OutputError(f"cannot write {target}: {_os_reason(exc)}") from None
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {target}: folder {parent} is not writable")
    resolved = _resolve(target)
    for src in inputs:
        if _resolve(Path(src)) == resolved:
            raise UsageError(f"{option}: {target} would overwrite the input {src}; write "
                             "somewhere else")
    return target


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare the spelled path
        return Path(os.path.abspath(path))


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "looping symbolic link"
    if exc.errno == errno.ENAMETOOLONG:
        return "name too long for the file system"
    return exc.strerror or str(exc)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically and return the final path."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))
