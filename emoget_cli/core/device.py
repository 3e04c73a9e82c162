"""Device selection (`--device auto|cpu|cuda`), with torch imported only when needed."""

from __future__ import annotations

from .errors import DependencyError, UsageError

from .choices import DEVICES as DEVICE_CHOICES


def resolve_device_name(name: str) -> str:
    """`auto` → "cpu" when this Linux machine has no NVIDIA driver at all, without importing
    torch (about a second of a CPU-only run); otherwise the name unchanged."""
    import sys
    from pathlib import Path

    if name != "auto" or "torch" in sys.modules or not sys.platform.startswith("linux"):
        return name
    if Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists():
        return name
    return "cpu"


def check_device_available(name: str) -> None:
    """Fail at once (DependencyError) when `--device cuda` cannot work: on Linux without an
    NVIDIA driver that is known without importing torch; elsewhere torch is asked. Commands
    call this with their option checks, before any slow step."""
    import sys
    from pathlib import Path

    if not str(name).lower().startswith("cuda"):
        return
    if sys.platform.startswith("linux") and "torch" not in sys.modules \
            and not (Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists()):
        raise DependencyError("--device cuda was asked for, but this machine has no NVIDIA driver "
                              "(use --device cpu or auto)")
    resolve_device(name)


def resolve_device(name: str = "auto"):
    """Return a torch.device: `auto` picks CUDA when available, else CPU."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DependencyError("--device cuda was asked for, but no CUDA GPU is available "
                                  "(use --device cpu or auto)")
        return torch.device(name)
    raise UsageError(f"unknown device {name!r} (choose from {', '.join(DEVICE_CHOICES)})")
