"""Facts for `emoget doctor`: which backends, devices and weights this machine has."""

from __future__ import annotations

from typing import Any


def collect_report() -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    try:
        import torch

        cuda = torch.cuda.is_available()
        checks.append({"name": "torch", "ok": True, "details": f"{torch.__version__}"})
        checks.append({"name": "device cuda", "ok": cuda,
                       "details": torch.cuda.get_device_name(0) if cuda else "no CUDA GPU visible"})
    except ImportError as exc:
        checks.append({"name": "torch", "ok": False, "details": f"not installed ({exc})"})
    return {"checks": checks}
