"""The range of every numeric command-line option, in one table, checked before any work.

`emoget --fps 1e-308`, `--seed -1`, `--batch 1000000000` or `sample --size 1048576` must be a
usage error (exit 2) at parse time, not an overflow, a hang or a 26 GB allocation later. The CLI
applies these ranges to every int/float option that does not declare its own
(cli/app.py:_apply_limits), and tests/test_limits.py fails when a numeric option has none.
Domain code keeps its own, possibly tighter, checks (e.g. the animation's frame count).

Keys are the option's parameter name; ("command path", name) overrides for a command where the
same name means something else (`sample --size` is a power of two, `make --size` pixels).
"""

from __future__ import annotations

from .choices import MAX_INTENSITY

SEED_MAX = 2 ** 32 - 1

#: name -> (lowest, highest) accepted value, inclusive
OPTION_LIMITS: dict[str, tuple[float, float]] = {
    "seed": (0, SEED_MAX),
    "frames": (2, 2000),
    "fps": (0.1, 100.0),
    "intensity": (0.0, MAX_INTENSITY),
    "duration": (0.05, 600.0),
    "size": (8, 4096),
    "batch": (1, 1024),
    "n": (1, 100_000),
    "truncation": (0.0, 2.0),
    "every": (1, 1_000_000),
    "steps": (1, 100_000),
    "pti_steps": (1, 100_000),
    "invert_steps": (1, 100_000),
    "lr": (1e-8, 10.0),
    "mse": (0.0, 1e6),
    "swap_res": (4, 4096),
    "width": (0.0, 1e4),
    "port": (0, 65_535),
    "workers": (0, 256),
    "keep": (0.0, 1e7),
    "kimg": (0.0, 1e6),
    "aug_p": (0.0, 1.0),
    "ada_target": (0.0, 1.0),
    "freeze_d": (0, 32),
    "snapshot_every": (0.0, 1e6),
    "channel_multiplier": (1, 16),
    "channel_max": (1, 4096),
    "style_dim": (1, 4096),
    "n_mlp": (1, 32),
    "r1_gamma": (0.0, 1e6),
    "ac_weight": (0.0, 1e6),
    "ema_kimg": (0.0, 1e6),
    "gpus": (1, 64),
    "log_every": (1, 1_000_000_000),
    "timeout": (0.01, 1e5),
    "jobs": (1, 256),
    # serve: an upload is an image file, so at most core.files.MAX_IMAGE_BYTES (268 MB)
    "max_upload_mb": (0.001, 268.0),
}

OPTION_LIMITS_BY_COMMAND: dict[tuple[str, str], tuple[float, float]] = {
    ("sample", "size"): (4, 4096),
    ("train stylegan", "size"): (4, 2048),
    ("train stylegan", "lr"): (1e-8, 1.0),
    ("serve", "workers"): (1, 64),
}


def limits_for(command: str, name: str) -> tuple[float, float] | None:
    return OPTION_LIMITS_BY_COMMAND.get((command, name), OPTION_LIMITS.get(name))
