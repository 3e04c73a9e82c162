"""Safe import of NVlabs stylegan2-ada-pytorch `.pkl` snapshots (docs/stylegan2.md#nvlabs-pickles, #conversion).

The snapshots are plain pickles of `@persistent_class` modules whose normal unpickling exec()s
source code embedded in the file. Here a restricted `pickle.Unpickler` resolves only an
allow-list of globals; `torch_utils.persistence._reconstruct_persistent_obj` is replaced by a
function that returns its `meta` dict untouched (no exec), and `torch.storage._load_from_bytes`
by a `torch.load(..., weights_only=True)` call. Any other global -> CheckpointError, before
anything is called. The module state in each meta is walked into flat state_dicts, then renamed
to our (rosinality) keys.

No NVIDIA code is used or needed (`torch_utils`/`dnnlib` need not be installed).
"""

from __future__ import annotations

import collections
import io
import math
import pickle
from typing import Any, Callable

import torch

from ..core.errors import CheckpointError


def _persistent_meta(meta: Any) -> Any:
    """Stand-in for `_reconstruct_persistent_obj`: return the meta dict, never exec its source."""
    if not isinstance(meta, dict) or "state" not in meta:
        raise CheckpointError("refused NVlabs pickle: malformed persistent object")
    return meta


def _storage_from_bytes(data: bytes):
    if not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("refused NVlabs pickle: malformed tensor storage")
    return torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")


def _numpy_global(name: str) -> Callable:
    import numpy as np

    if name == "dtype":
        return np.dtype
    if name == "ndarray":
        return np.ndarray
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return getattr(multiarray, name)


def _allowed(module: str, name: str) -> Callable | type | None:
    key = (module, name)
    if key == ("torch_utils.persistence", "_reconstruct_persistent_obj"):
        return _persistent_meta
    if key == ("dnnlib.util", "EasyDict") or key == ("dnnlib", "EasyDict"):
        return dict
    if key == ("collections", "OrderedDict"):
        return collections.OrderedDict
    if key == ("torch._utils", "_rebuild_tensor_v2"):
        return torch._utils._rebuild_tensor_v2
    if key == ("torch._utils", "_rebuild_parameter"):
        return torch._utils._rebuild_parameter
    if key == ("torch.storage", "_load_from_bytes"):
        return _storage_from_bytes
    if key in (("builtins", "set"), ("builtins", "frozenset")):
        return set if name == "set" else frozenset
    if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") and \
            name in ("dtype", "ndarray", "scalar", "_reconstruct"):
        return _numpy_global(name)
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the allow-listed globals above; everything else is refused."""

    def find_class(self, module: str, name: str):
        found = _allowed(module, name)
        if found is None:
            raise CheckpointError(f"refused pickle: it references {module}.{name}, "
                                  "which is not on the allow-list (the file may try to run code)")
        return found

    def persistent_load(self, pid):  # plain pickles have no persistent ids
        raise CheckpointError("refused pickle: unexpected persistent id")


def read_nvlabs_pickle(data: bytes) -> dict:
    """Unpickle an NVlabs snapshot safely -> dict with 'G', 'D', 'G_ema' as persistent metas."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data)).load()
    except CheckpointError:
        raise
    except Exception as exc:  # truncated / garbage pickles raise many different types
        raise CheckpointError(f"not a readable pickle: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if isinstance(obj, tuple) and len(obj) == 3:
        raise CheckpointError("TensorFlow StyleGAN pickles are not supported; convert it first "
                              "(stylegan2-ada-pytorch legacy.py, then export to .pt)")
    if not isinstance(obj, dict) or not any(k in obj for k in ("G_ema", "G")):
        raise CheckpointError("pickle is not a stylegan2-ada-pytorch snapshot (no G_ema/G entry)")
    return obj


def flatten_module_state(meta: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Walk a persistent-object meta (`state['_parameters'|'_buffers'|'_modules']`) -> state_dict."""
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise CheckpointError("NVlabs pickle: a network is not a persistent module")
    state = meta["state"]
    flat: dict[str, torch.Tensor] = {}
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if isinstance(value, torch.Tensor):
                flat[prefix + name] = value.detach().clone()
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            flat.update(flatten_module_state(child, prefix + name + "."))
    return flat


def init_kwargs(meta: dict) -> dict:
    kwargs = meta.get("state", {}).get("_init_kwargs") or {}
    return dict(kwargs)


def _channel_multiplier(channel_base: int) -> int:
    cm = channel_base / 16384
    if cm < 1 or cm != int(cm):
        raise CheckpointError(f"NVlabs channel_base {channel_base} has no rosinality equivalent")
    return int(cm)


def generator_arch(kwargs: dict) -> dict:
    """ADA Generator _init_kwargs -> our architecture dict (docs/stylegan2.md#nvlabs-pickles)."""
    syn = dict(kwargs.get("synthesis_kwargs") or {})
    mapk = dict(kwargs.get("mapping_kwargs") or {})
    if int(kwargs.get("img_channels", 3)) != 3:
        raise CheckpointError("only RGB NVlabs generators are supported")
    if syn.get("architecture", "skip") != "skip":
        raise CheckpointError(f"NVlabs generator architecture {syn.get('architecture')!r} is not supported (need 'skip')")
    if int(kwargs.get("z_dim", 512)) != int(kwargs.get("w_dim", 512)):
        raise CheckpointError("NVlabs generator with z_dim != w_dim is not supported")
    return {
        "size": int(kwargs["img_resolution"]),
        "style_dim": int(kwargs.get("w_dim", 512)),
        "n_mlp": int(mapk.get("num_layers", 8)),
        "channel_multiplier": _channel_multiplier(int(syn.get("channel_base", 32768))),
        "channel_max": int(syn.get("channel_max", 512)),
        "lr_mlp": float(mapk.get("lr_multiplier", 0.01)),
        "n_classes": int(kwargs.get("c_dim", 0)),
        "blur_kernel": [1, 3, 3, 1],
    }


def convert_generator(ada: dict[str, torch.Tensor], arch: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """ADA G state_dict -> (our g_ema state_dict, latent_avg [S] or None). docs/stylegan2.md#conversion."""
    out: dict[str, torch.Tensor] = {}
    for i in range(arch["n_mlp"]):
        out[f"style.{i + 1}.weight"] = ada[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = ada[f"mapping.fc{i}.bias"]
    if arch["n_classes"] > 0:
        out["embed.weight"] = ada["mapping.embed.weight"]
        out["embed.bias"] = ada["mapping.embed.bias"]

    def conv(src: str, dst: str, noise_idx: int | None) -> None:
        out[f"{dst}.conv.weight"] = ada[f"{src}.weight"].unsqueeze(0)
        out[f"{dst}.conv.modulation.weight"] = ada[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = ada[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = ada[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = ada[f"{src}.bias"]
        if noise_idx is not None and f"{src}.noise_const" in ada:
            noises[noise_idx] = ada[f"{src}.noise_const"].reshape(1, 1, *ada[f"{src}.noise_const"].shape[-2:])

    def torgb(src: str, dst: str) -> None:
        out[f"{dst}.bias"] = ada[f"{src}.bias"].reshape(1, 3, 1, 1)
        out[f"{dst}.conv.weight"] = ada[f"{src}.weight"].unsqueeze(0)
        out[f"{dst}.conv.modulation.weight"] = ada[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = ada[f"{src}.affine.bias"]

    noises: dict[int, torch.Tensor] = {}
    out["input.input"] = ada["synthesis.b4.const"].unsqueeze(0)
    conv("synthesis.b4.conv1", "conv1", 0)
    torgb("synthesis.b4.torgb", "to_rgb1")
    log_size = int(math.log2(arch["size"]))
    # rosinality's registration order: all convs, then all to_rgbs, then noises
    for i in range(1, log_size - 1):
        r = 4 * 2 ** i
        conv(f"synthesis.b{r}.conv0", f"convs.{2 * i - 2}", 2 * i - 1)
        key = f"synthesis.b{r}.conv0.resample_filter"
        if key in ada:
            out[f"convs.{2 * i - 2}.conv.blur.kernel"] = ada[key] * 4
        conv(f"synthesis.b{r}.conv1", f"convs.{2 * i - 1}", 2 * i)
    for i in range(1, log_size - 1):
        r = 4 * 2 ** i
        torgb(f"synthesis.b{r}.torgb", f"to_rgbs.{i - 1}")
        key = f"synthesis.b{r}.resample_filter"
        if key in ada:
            out[f"to_rgbs.{i - 1}.upsample.kernel"] = ada[key] * 4
    for idx in sorted(noises):
        out[f"noises.noise_{idx}"] = noises[idx]
    latent_avg = ada.get("mapping.w_avg")
    return out, latent_avg


def convert_discriminator(ada: dict[str, torch.Tensor], size: int) -> dict[str, torch.Tensor]:
    """ADA unconditional resnet D state_dict -> rosinality D keys (docs/stylegan2.md#conversion)."""
    out: dict[str, torch.Tensor] = {
        "convs.0.0.weight": ada[f"b{size}.fromrgb.weight"],
        "convs.0.1.bias": ada[f"b{size}.fromrgb.bias"],
    }
    r, j = size, 1
    while r >= 8:
        out[f"convs.{j}.conv1.0.weight"] = ada[f"b{r}.conv0.weight"]
        out[f"convs.{j}.conv1.1.bias"] = ada[f"b{r}.conv0.bias"]
        out[f"convs.{j}.conv2.0.kernel"] = ada[f"b{r}.conv1.resample_filter"]
        out[f"convs.{j}.conv2.1.weight"] = ada[f"b{r}.conv1.weight"]
        out[f"convs.{j}.conv2.2.bias"] = ada[f"b{r}.conv1.bias"]
        out[f"convs.{j}.skip.0.kernel"] = ada[f"b{r}.skip.resample_filter"]
        out[f"convs.{j}.skip.1.weight"] = ada[f"b{r}.skip.weight"]
        r //= 2
        j += 1
    out.update({
        "final_conv.0.weight": ada["b4.conv.weight"],
        "final_conv.1.bias": ada["b4.conv.bias"],
        "final_linear.0.weight": ada["b4.fc.weight"],
        "final_linear.0.bias": ada["b4.fc.bias"],
        "final_linear.1.weight": ada["b4.out.weight"],
        "final_linear.1.bias": ada["b4.out.bias"],
    })
    return out


def load_nvlabs(data: bytes) -> dict:
    """NVlabs pickle bytes -> our checkpoint dict ({'g_ema', 'latent_avg', ['d'], 'emoget'})."""
    snap = read_nvlabs_pickle(data)
    g_meta = snap.get("G_ema") or snap.get("G")
    kwargs = init_kwargs(g_meta)
    if "img_resolution" not in kwargs:
        raise CheckpointError("NVlabs pickle lacks the generator's _init_kwargs (img_resolution)")
    arch = generator_arch(kwargs)
    try:
        g_ema, latent_avg = convert_generator(flatten_module_state(g_meta), arch)
    except KeyError as exc:
        raise CheckpointError(f"NVlabs generator is missing weight {exc.args[0]!r}") from exc
    result: dict[str, Any] = {"g_ema": _rosinality_order(g_ema, arch, "g")}
    if latent_avg is not None:
        result["latent_avg"] = latent_avg
    notes = []
    d_meta = snap.get("D")
    if d_meta is not None:
        d_kwargs = init_kwargs(d_meta)
        epi = dict(d_kwargs.get("epilogue_kwargs") or {})
        mbstd = int(epi.get("mbstd_group_size", 4) or 4)
        if int(d_kwargs.get("c_dim", 0)) == 0 and d_kwargs.get("architecture", "resnet") == "resnet" \
                and mbstd == 4 and int(epi.get("mbstd_num_channels", 1)) == 1:
            try:
                result["d"] = _rosinality_order(
                    convert_discriminator(flatten_module_state(d_meta), arch["size"]), arch, "d")
            except KeyError as exc:
                notes.append(f"discriminator not converted (missing {exc.args[0]})")
        else:
            notes.append("discriminator not converted (conditional, non-resnet or mbstd group != 4)")
    training = {"source_training_set": _plain(snap.get("training_set_kwargs"))}
    result["emoget"] = {"architecture": arch, "source": "nvlabs-stylegan2-ada-pytorch",
                        "class_names": [str(i) for i in range(arch["n_classes"])] or None,
                        "training": training, "notes": notes}
    return result


def _rosinality_order(state: dict, arch: dict, which: str) -> dict:
    """Reorder keys as rosinality's state_dict() lists them (unknown keys last)."""
    from .checkpoint import build_discriminator, build_generator

    with torch.device("meta"):
        net = build_generator(arch) if which == "g" else build_discriminator(arch)
    order = [k for k in net.state_dict() if k in state]
    return {**{k: state[k] for k in order}, **{k: v for k, v in state.items() if k not in order}}


def _plain(value: Any) -> Any:
    """Keep JSON-like values only (dicts/lists of str/int/float/bool/None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        return value.item()  # numpy scalar
    except Exception:
        return str(value)
