"""One exception hierarchy for every stage; the CLI maps each class to an exit code.

Core code raises these with a message a user understands (one line, no traceback needed);
anything else escaping a command is a bug and is reported as an internal error.

Exit codes (documented in the README):
    0  success
    1  internal error (a bug: rerun with --debug for the traceback)
    2  usage error (bad option value, unknown style/expression, impossible preset)
    3  bad input file (unreadable, truncated, hostile or oversized image/video)
    4  no face found
    5  bad checkpoint or latent file (wrong format, refused pickle, shape mismatch)
    6  bad landmark track file
    7  output cannot be written
    8  missing dependency or weights (backend not installed, weights not downloaded)
    9  some inputs of a multi-input run failed (the others were written)
"""

from __future__ import annotations


class EmogetError(Exception):
    """Base class: a user-facing failure with a one-line message and an exit code."""

    exit_code: int = 1
    kind: str = "error"

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # one line, always
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class UsageError(EmogetError):
    exit_code = 2
    kind = "usage"


class InputError(EmogetError):
    exit_code = 3
    kind = "bad input"


class NoFaceError(EmogetError):
    exit_code = 4
    kind = "no face"


class CheckpointError(EmogetError):
    exit_code = 5
    kind = "bad checkpoint"


class TrackError(EmogetError):
    exit_code = 6
    kind = "bad track"


class OutputError(EmogetError):
    exit_code = 7
    kind = "output"


class DependencyError(EmogetError):
    exit_code = 8
    kind = "missing dependency"


class PartialFailure(EmogetError):
    """Raised after a multi-input run in which some inputs failed and the rest were written."""

    exit_code = 9
    kind = "partial failure"


EXIT_CODES: dict[str, int] = {
    cls.__name__: cls.exit_code
    for cls in (EmogetError, UsageError, InputError, NoFaceError, CheckpointError, TrackError,
                OutputError, DependencyError, PartialFailure)
}
