"""Resumable HTTP(S) downloads for `emoget weights fetch` (standard library only).

    download(url, Path("ffhq.pkl.part"), max_bytes=..., progress=cb)   # -> bytes in the file

- A partial file left by an interrupted run is continued with `Range: bytes=N-`; a server that
  answers 206 with a matching Content-Range is appended to, one that answers 200 (no range
  support) restarts the file from byte 0.
- Every connect and every read has a timeout; a dropped connection, a timeout or a 5xx answer is
  retried (with back-off) from where the file stopped; 4xx answers are final.
- Proxies: `urllib` honours http_proxy / https_proxy / no_proxy (and their upper-case forms).
  Redirects (301/302/303/307/308) are followed; the Range header travels with them.
- Bounds: a server announcing (or sending) more than `max_bytes` is refused before the disk fills.

The caller owns the partial file's name and renames it atomically once it is verified.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .core.errors import DependencyError, OutputError

CHUNK = 1 << 20
#: environment variable replacing the folder part of every catalogue URL (mirrors, caches)
MIRROR_ENV = "EMOGET_WEIGHTS_MIRROR"
USER_AGENT = "emoget-weights-fetch"

ProgressFn = Callable[[int, Optional[int]], None]  # (bytes in the file, total or None)


@dataclass(frozen=True)
class FetchOptions:
    """timeout: seconds for a connect or one read; retries: further attempts after a failure;
    backoff: seconds before the first retry (doubled each time, at most 30 s)."""

    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0

    def validate(self) -> None:
        from .core.errors import UsageError

        if not (self.timeout > 0) or self.retries < 0 or self.backoff < 0:
            raise UsageError("--timeout must be > 0 and --retries >= 0")


def mirrored(url: str, mirror: Optional[str] = None) -> str:
    """`url` with its folder replaced by $EMOGET_WEIGHTS_MIRROR (or `mirror`), file name kept."""
    base = os.environ.get(MIRROR_ENV, "") if mirror is None else mirror
    if not base:
        return url
    return base.rstrip("/") + "/" + url.rsplit("/", 1)[-1]


class _Retry(Exception):
    """A failure worth another attempt (network, timeout, 5xx)."""


def _parse_content_range(value: Optional[str]) -> tuple[Optional[int], Optional[int]]:
    """'bytes 100-199/1000' -> (100, 1000); 'bytes */1000' -> (None, 1000)."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = None
    if span != "*":
        try:
            start = int(span.split("-", 1)[0])
        except ValueError:
            start = None
    try:
        total_n = None if total.strip() == "*" else int(total)
    except ValueError:
        total_n = None
    return start, total_n


def _attempt(url: str, part: Path, opts: FetchOptions, max_bytes: int,
             progress: Optional[ProgressFn]) -> int:
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=opts.timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            _, total = _parse_content_range(exc.headers.get("Content-Range"))
            if total == have:  # the partial file is already complete
                return have
            part.unlink()  # the partial file is longer than the resource: start over
            raise _Retry(f"HTTP 416 for a {have}-byte partial file") from None
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise DependencyError(f"download failed: {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Retry(f"{type(reason).__name__ if not str(reason) else reason}") from None
    with response:
        status = response.status
        length = response.headers.get("Content-Length")
        length_n = int(length) if length and length.isdigit() else None
        if status == 206 and have:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != have:
                part.unlink()
                raise _Retry(f"server resumed at byte {start}, not {have}")
            mode = "ab"
        else:
            have, mode, total = 0, "wb", length_n  # 200: the whole file from the start
        if total is not None and total > max_bytes:
            raise DependencyError(f"download refused: {url} is {total} bytes, more than the "
                                  f"{max_bytes} expected for this entry")
        if progress is not None:
            progress(have, total)
        try:
            fh = part.open(mode)
        except OSError as exc:
            raise OutputError(f"cannot write {part}: {exc.strerror or exc}") from None
        with fh:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:  # timeout, reset, short read
                    fh.flush()
                    raise _Retry(f"connection lost after {have} bytes "
                                 f"({type(exc).__name__}: {exc or 'no reason'})") from None
                if not chunk:
                    break
                have += len(chunk)
                if have > max_bytes:
                    fh.close()
                    part.unlink()
                    raise DependencyError(f"download refused: {url} sent more than the "
                                          f"{max_bytes} bytes expected for this entry")
                try:
                    fh.write(chunk)
                except OSError as exc:
                    raise OutputError(f"cannot write {part}: {exc.strerror or exc}") from None
                if progress is not None:
                    progress(have, total)
        if total is not None and have < total:
            raise _Retry(f"connection closed after {have} of {total} bytes")
    return have


def download(url: str, part: Path, *, options: FetchOptions = FetchOptions(),
             max_bytes: int = 8 << 30, progress: Optional[ProgressFn] = None,
             sleep: Callable[[float], None] = time.sleep) -> int:
    """Download `url` into `part`, continuing a partial file; returns its final size in bytes.

    DependencyError (exit 8) when the server refuses (4xx) or every attempt failed.
    """
    options.validate()
    part = Path(part)
    if part.exists() and not part.is_file():
        raise OutputError(f"cannot download to {part}: not a regular file")
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {part.parent}: {exc.strerror or exc}") from None
    last = ""
    for attempt in range(options.retries + 1):
        if attempt:
            sleep(min(30.0, options.backoff * 2 ** (attempt - 1)))
        try:
            return _attempt(url, part, options, max_bytes, progress)
        except _Retry as exc:
            last = str(exc)
        except socket.timeout:  # pragma: no cover - urllib normally wraps it
            last = "timed out"
    kept = part.stat().st_size if part.is_file() else 0
    raise DependencyError(f"download failed: {url}: {last} (after {options.retries + 1} "
                          f"attempts; {kept} bytes kept in {part.name}, the next fetch resumes)")
