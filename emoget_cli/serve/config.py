"""`ServeConfig`: everything a server needs, validated before anything starts."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Optional

from ..core.errors import UsageError
from ..core.files import MAX_IMAGE_BYTES
from ..core.image_io import MAX_PIXELS

#: the environment variable that holds the token when --token is not given
TOKEN_ENV = "EMOGET_SERVE_TOKEN"
#: largest accepted upload by default. A phone photo is 2–12 MB; the CLI reads images up to
#: core.files.MAX_IMAGE_BYTES (256 MiB), but an upload is held in memory while it is checked, so
#: the page takes less unless --max-upload-mb raises it (at most to the CLI's limit).
MAX_UPLOAD_BYTES = 25_000_000
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost' (names other than localhost are not trusted)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeConfig:
    """host/port: where uvicorn listens. token: required on every API call (None = no token,
    allowed only on a loopback address). workers: CPU jobs run at once (each in its own
    process). keep_seconds: how long a job's files live after it was created.
    max_upload_bytes / max_pixels: the upload limits (max_pixels as in `core.image_io`).
    max_jobs: jobs held at once (queued + running + finished, not yet expired); more are refused
    with 503, so a flood of uploads cannot fill the disk."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: Optional[str] = None
    workers: int = 2
    keep_seconds: float = 3600.0
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int = MAX_PIXELS
    max_jobs: int = 200
    gpus: Optional[int] = None  # None: as many as torch sees (looked up when the server starts)

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be in 0..65535, got {self.port}")
        if not 1 <= self.workers <= 32:
            raise UsageError(f"--workers must be in 1..32, got {self.workers}")
        if not 10 <= self.keep_seconds <= 7 * 86400:
            raise UsageError(f"--keep must be in 10 s .. 7 days, got {self.keep_seconds:g} s")
        if not 1_000 <= self.max_upload_bytes <= MAX_IMAGE_BYTES:
            raise UsageError(f"--max-upload-mb must be in 0.001 .. {MAX_IMAGE_BYTES / 1e6:g} (the "
                             f"CLI's image limit), got {self.max_upload_bytes / 1e6:g}")
        if not 1 <= self.max_jobs <= 100_000:
            raise UsageError(f"max_jobs must be in 1..100000, got {self.max_jobs}")
        if self.token is not None and (len(self.token) < MIN_TOKEN_LENGTH or not self.token.isprintable()
                                       or any(c.isspace() for c in self.token)):
            raise UsageError(f"--token must be at least {MIN_TOKEN_LENGTH} printable characters "
                             "without spaces (e.g. `python -c \"import secrets; "
                             "print(secrets.token_urlsafe())\"`)")
        if self.token is None and not is_loopback(self.host):
            raise UsageError(f"--host {self.host} is reachable from other machines: give --token "
                             f"(or set {TOKEN_ENV}); every API call must then carry it")

    @staticmethod
    def token_from_env() -> Optional[str]:
        value = os.environ.get(TOKEN_ENV, "").strip()
        return value or None
