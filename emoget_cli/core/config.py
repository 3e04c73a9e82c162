"""YAML defaults for the CLI (`--config FILE`), read with the safe loader only.

A config file holds one mapping per subcommand, keyed by its name (sub-apps by "train.stylegan"
style dotted names also accepted), plus an optional `common` section applied to every command:

    common: {device: cpu}
    make: {style: baby, expr: surprise, frames: 24}
    animate: {fps: 12}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import UsageError


def read_yaml_file(path: str | Path, what: str) -> Any:
    """yaml.safe_load of a file through the bounded reader (core.files: a regular file of at most
    MAX_CONFIG_BYTES, nesting and numbers bounded); UsageError (one line, naming `what`) when it
    cannot be read or parsed. FileNotFoundError propagates: whether a missing file is an error
    is the caller's call."""
    import os

    from .files import MAX_CONFIG_BYTES, read_yaml_file as read_bounded_yaml

    path = Path(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(path)
    return read_bounded_yaml(path, what, limit=MAX_CONFIG_BYTES, error=UsageError)


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = read_yaml_file(path, "config file")
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UsageError(f"config file {path} must map command names to option mappings, "
                         "e.g. 'make: {style: baby}'")
    return data


def defaults_for(config: dict[str, Any], command_path: str) -> dict[str, Any]:
    """Option defaults for `command_path` (e.g. "make" or "train.stylegan"), keys with - or _."""
    merged: dict[str, Any] = {}
    for section in ("common", command_path.split(".")[0], command_path):
        for key, value in (config.get(section) or {}).items():
            merged[str(key).replace("-", "_")] = value
    return merged
