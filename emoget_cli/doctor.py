"""Facts for `emoget doctor`: which backends, devices and weights this machine has, and why not.

Every check is `{"name", "ok", "details"}`; nothing here downloads or loads a model, so the
report is quick (torch is imported once for the device and hub-cache facts).
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any


def _check(name: str, ok: bool, details: str) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "details": details}


def _torch_checks() -> list[dict[str, Any]]:
    try:
        import torch
    except ImportError as exc:
        return [_check("torch", False, f"not installed ({exc})")]
    checks = [_check("torch", True, torch.__version__)]
    cuda = torch.cuda.is_available()
    if cuda:
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(_check("device cuda", True, names))
    else:
        why = ("this torch build has no CUDA support" if torch.version.cuda is None
               else "no CUDA GPU visible")
        checks.append(_check("device cuda", False, why))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        checks.append(_check("device mps", True, "Apple GPU (not used by --device auto)"))
    checks.append(_check("device cpu", True, f"{torch.get_num_threads()} threads"))
    return checks


def _backend_checks() -> list[dict[str, Any]]:
    from .face.backends import BACKENDS, resolve_backend_name

    checks = []
    for name, cls in BACKENDS.items():
        try:
            ok, details = cls.availability()
        except Exception as exc:  # a broken install must not break the doctor
            ok, details = False, f"{type(exc).__name__}: {exc}"
        checks.append(_check(f"landmarks {name}", ok, details))
    try:
        checks.append(_check("landmarks auto", True, f"uses {resolve_backend_name('auto')}"))
    except Exception as exc:
        checks.append(_check("landmarks auto", False, str(exc)))
    return checks


def _file_checks() -> list[dict[str, Any]]:
    from .face.backends import (DLIB_FACE_RECOGNITION, DLIB_SHAPE_5, DLIB_SHAPE_68,
                                 dlib_models_dir, fan_weight_files, hub_checkpoints_dir)

    checks = []
    try:
        folder = dlib_models_dir()
        checks.append(_check("dlib model folder", folder.is_dir(), str(folder)))
        for label, name in (("dlib 68-point model", DLIB_SHAPE_68), ("dlib 5-point model", DLIB_SHAPE_5),
                            ("dlib face descriptor", DLIB_FACE_RECOGNITION)):
            ok = (folder / name).is_file()
            checks.append(_check(label, ok, name if ok else f"missing {name}"))
    except Exception as exc:
        checks.append(_check("dlib model folder", False, str(exc)))
    hub = hub_checkpoints_dir()
    checks.append(_check("torch hub cache", True, str(hub) + ("" if hub.is_dir() else " (not created yet)")))
    fan = fan_weight_files()
    for label, name, entry in zip(("FAN 2D weights", "FAN detector (SFD)"), fan, ("fan-2d", "fan-sfd")):
        ok = (hub / name).is_file()
        checks.append(_check(label, ok, name if ok else
                             f"missing {name}: `emoget weights fetch {entry}` (or --from FILE)"))
    checks.append(_lpips_check())
    return checks


def _lpips_check() -> dict[str, Any]:
    """LPIPS needs the VGG16 file in the hub cache plus calibration weights, which emoget
    bundles (the `lpips` package is optional): ask the perceptual module, not a guess."""
    try:
        from .gan.perceptual import lpips_available, vgg16_weights_path

        ok, why = lpips_available()
    except Exception as exc:  # a broken install must not break the doctor
        return _check("LPIPS VGG16 weights", False, f"{type(exc).__name__}: {exc}")
    if ok:
        return _check("LPIPS VGG16 weights", True, str(vgg16_weights_path()))
    return _check("LPIPS VGG16 weights", False, f"{why}; inversion uses the fallback loss; "
                  "`emoget weights fetch vgg16` gets it")


def _tool_checks() -> list[dict[str, Any]]:
    checks = []
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        checks.append(_check("ffmpeg", True, f"{exe} (imageio-ffmpeg)"))
    except Exception:
        exe = shutil.which("ffmpeg")
        checks.append(_check("ffmpeg", exe is not None,
                             exe or "not found (pip install imageio-ffmpeg): no video input/output"))
    return checks


def _style_weight_checks() -> list[dict[str, Any]]:
    """Registered styles and whether their weights are present, when the weights registry
    module exists (it is optional: the report works without it)."""
    try:
        weights = importlib.import_module("emoget_cli.weights")
    except ImportError:
        return []
    try:
        if hasattr(weights, "doctor_checks"):
            entries = list(weights.doctor_checks())
        elif hasattr(weights, "load_registry"):
            entries = list(weights.load_registry().entries.values())
        else:
            return []
    except Exception as exc:
        return [_check("style weights", False, f"cannot read the registry ({exc})")]
    checks = [_weight_entry_check(entry) for entry in entries]
    return checks or [_check("style weights", False, "none registered")]


def _weight_entry_check(entry: Any) -> dict[str, Any]:
    """A check from a registry entry (dict or object with name / engine / checkpoint fields)."""
    if isinstance(entry, dict) and {"name", "ok", "details"} <= set(entry):
        return _check(str(entry["name"]), entry["ok"], str(entry["details"]))
    get = entry.get if isinstance(entry, dict) else (lambda k, d=None: getattr(entry, k, d))
    name, engine = str(get("name", "?")), get("engine", None)
    path = get("checkpoint", None) or get("path", None)
    ok = get("available", None)
    if ok is None:
        ok = path is not None and Path(path).is_file()
    if engine == "classic":
        details = "classic engine, no weights needed"
    elif path is None:
        details = f"{engine or 'gan'} engine: no checkpoint registered"
    else:
        details = f"{engine or 'gan'}: {path}" + ("" if ok else " (missing)")
    return _check(f"style {name}", bool(ok), details)


def collect_report() -> dict[str, Any]:
    """{"checks": [{"name", "ok", "details"}, ...], "ok": bool}; "ok" says whether
    `emoget landmarks` can run here (at least one landmark backend is usable)."""
    checks: list[dict[str, Any]] = []
    for group in (_torch_checks, _backend_checks, _file_checks, _tool_checks, _style_weight_checks):
        try:
            checks += group()
        except Exception as exc:  # report, never crash
            checks.append(_check(group.__name__.strip("_").replace("_checks", ""), False,
                                 f"{type(exc).__name__}: {exc}"))
    backends = [c for c in checks if c["name"].startswith("landmarks ") and c["name"] != "landmarks auto"]
    return {"checks": checks, "ok": any(c["ok"] for c in backends)}
