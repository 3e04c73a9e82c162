"""SIGINT and SIGTERM stop emoget through one path: an `Interrupted` exception raised in the
main thread, so every `finally` and `all_or_nothing` block runs and removes its temporary files
(core.atomic). A second signal during that cleanup is ignored so the cleanup finishes.
"""

from __future__ import annotations

import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; `signum` says which (exit code 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """Call once in the main thread of a process (the CLI, a worker process)."""
    for sig in STOP_SIGNALS:
        try:
            signal.signal(sig, _raise_interrupted)
        except (ValueError, OSError):  # not the main thread
            pass


def ignore_further_signals() -> None:
    for sig in STOP_SIGNALS:
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):
            pass


def signal_name(signum: int) -> str:
    return {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}.get(signum, f"signal {signum}")
