"""StyleGAN2 checkpoints: rosinality layout + an `emoget` entry, safetensors, NVlabs import.

Files we write (`.pt`, `torch.save`) keep rosinality's top-level layout so its tools read them:

    g, d, g_ema          state_dicts (exact rosinality keys for unconditional nets)
    g_optim, d_optim     torch.optim state_dicts
    args                 plain dict (rosinality writes an argparse.Namespace; we read both)
    latent_avg           [style_dim] tensor, when known
    emoget               {"format_version", "architecture": {size, style_dim, n_mlp,
                          channel_multiplier, channel_max, lr_mlp, n_classes, blur_kernel},
                          "class_names", "training", "blend", "source", "notes"}  (plain types)
    <extras>             other plain top-level values, e.g. rosinality's ada_aug_p

`.safetensors`: tensors flattened as `g_ema.<key>`, `g.<key>`, `d.<key>`, `latent_avg`,
`g_optim.<path>` / `d_optim.<path>`; JSON metadata entries "emoget", "args", "extras" and
"optim" (the optimizer state skeletons).

Reading never executes code from the file:
  * `.pt`: `torch.load(weights_only=True)` with only `argparse.Namespace` allow-listed.
  * `.safetensors`: safetensors + JSON.
  * NVlabs stylegan2-ada-pytorch `.pkl`: restricted unpickler (`nvlabs.py`), converted to our keys.
Anything else, or a file whose tensors do not fit the architecture -> CheckpointError.
Without an `emoget` entry the architecture is inferred from the `g_ema` key shapes.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ..core.atomic import atomic_path, write_bytes_atomic
from ..core.errors import CheckpointError, OutputError
from ..core.safe_load import load_torch_file
from .networks import Discriminator, Generator, channel_table

CHECKPOINT_FORMAT_VERSION = 1
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
STATE_KEYS = ("g", "d", "g_ema")
ARCH_KEYS = ("size", "style_dim", "n_mlp", "channel_multiplier", "channel_max", "lr_mlp",
             "n_classes", "blur_kernel")
ARCH_DEFAULTS = {"style_dim": 512, "n_mlp": 8, "channel_multiplier": 2, "channel_max": 512,
                 "lr_mlp": 0.01, "n_classes": 0, "blur_kernel": [1, 3, 3, 1]}

StateDict = dict  # str -> torch.Tensor


@dataclass
class Checkpoint:
    """In-memory checkpoint. `architecture` fully describes the nets (see ARCH_KEYS)."""

    g_ema: StateDict
    architecture: dict
    g: Optional[StateDict] = None
    d: Optional[StateDict] = None
    g_optim: Optional[dict] = None
    d_optim: Optional[dict] = None
    args: dict = field(default_factory=dict)
    latent_avg: Optional[torch.Tensor] = None
    class_names: Optional[list] = None
    training: dict = field(default_factory=dict)
    blend: Optional[dict] = None
    extras: dict = field(default_factory=dict)
    source: str = "emoget"
    notes: list = field(default_factory=list)

    @classmethod
    def from_modules(cls, g_ema: Generator, *, g: Optional[Generator] = None,
                     d: Optional[Discriminator] = None, g_optim=None, d_optim=None,
                     class_names: Optional[list] = None, training: Optional[dict] = None,
                     blend: Optional[dict] = None, args: Optional[dict] = None,
                     latent_avg: Optional[torch.Tensor] = None, extras: Optional[dict] = None) -> "Checkpoint":
        """Snapshot live modules/optimizers (state_dicts are taken now, tensors moved to CPU)."""
        def sd(module):
            return None if module is None else {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

        def opt(o):
            return None if o is None else (o.state_dict() if hasattr(o, "state_dict") else o)

        if class_names is None:
            class_names = getattr(g_ema, "class_names", None)
        return cls(g_ema=sd(g_ema), architecture=g_ema.arch(), g=sd(g), d=sd(d), g_optim=opt(g_optim),
                   d_optim=opt(d_optim), args=dict(args or {}),
                   latent_avg=None if latent_avg is None else latent_avg.detach().cpu().reshape(-1),
                   class_names=list(class_names) if class_names else None,
                   training=dict(training or {}), blend=blend, extras=dict(extras or {}))

    # -- emoget entry -------------------------------------------------------------------------
    def emoget_entry(self) -> dict:
        return {"format_version": CHECKPOINT_FORMAT_VERSION, "architecture": dict(self.architecture),
                "class_names": self.class_names, "training": self.training, "blend": self.blend,
                "source": self.source, "notes": list(self.notes)}

    @property
    def meta(self) -> dict:
        return self.emoget_entry()

    # -- building nets ------------------------------------------------------------------------
    def build_generator(self, which: str = "g_ema", device="cpu") -> Generator:
        """Generator with the `which` ("g_ema" or "g") weights loaded strictly, on `device`."""
        state = getattr(self, which)
        if state is None:
            raise CheckpointError(f"checkpoint has no {which!r} weights")
        G = build_generator(self.architecture)
        fit_state_dict(G, state, which)
        G.class_names = list(self.class_names) if self.class_names else None
        G.meta = self.emoget_entry()
        G.latent_avg = None if self.latent_avg is None else self.latent_avg.reshape(1, -1).float()
        G = G.to(device)
        if G.latent_avg is not None:
            G.latent_avg = G.latent_avg.to(device)
        return G

    def build_discriminator(self, device="cpu") -> Discriminator:
        if self.d is None:
            raise CheckpointError("checkpoint has no discriminator ('d') weights")
        D = build_discriminator(self.architecture)
        fit_state_dict(D, self.d, "d")
        return D.to(device)


# -----------------------------------------------------------------------------------------------
# Architecture


def build_generator(arch: dict) -> Generator:
    a = {**ARCH_DEFAULTS, **arch}
    return Generator(int(a["size"]), int(a["style_dim"]), int(a["n_mlp"]), int(a["channel_multiplier"]),
                     blur_kernel=tuple(a["blur_kernel"]), lr_mlp=float(a["lr_mlp"]),
                     n_classes=int(a["n_classes"]), channel_max=int(a["channel_max"]))


def build_discriminator(arch: dict) -> Discriminator:
    a = {**ARCH_DEFAULTS, **arch}
    return Discriminator(int(a["size"]), int(a["channel_multiplier"]), blur_kernel=tuple(a["blur_kernel"]),
                         n_classes=int(a["n_classes"]), channel_max=int(a["channel_max"]))


def fit_state_dict(module: torch.nn.Module, state: StateDict, name: str, *,
                   partial: bool = False, load: bool = True) -> bool:
    """The one way a state dict meets a network (loading a checkpoint, validating one on the
    meta device, resuming or fine-tuning training). -> True when every key fits exactly.

    Exact (partial=False): every key present with the network's shape, nothing extra; the
    constant FIR `.kernel` buffers that old converters omit are taken from the network.
    partial=True (fine-tuning): the keys whose name and shape fit are loaded, the rest keep
    their initial values; none fitting is still an error. load=False only checks (for a
    network built on the meta device). CheckpointError (one line) for any misfit."""
    expected = module.state_dict()
    state = dict(state)
    for key, value in expected.items():
        if key not in state and key.endswith(".kernel"):
            state[key] = value
    bad_type = next((k for k, v in state.items() if not isinstance(v, torch.Tensor)), None)
    if bad_type is not None:
        raise CheckpointError(f"{name} weight {bad_type!r} is a {type(state[bad_type]).__name__}, "
                              "not a tensor")
    fitting = {k: v for k, v in state.items()
               if k in expected and tuple(v.shape) == tuple(expected[k].shape)}
    exact = len(fitting) == len(expected) == len(state)
    if not partial and not exact:
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            what = f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}"
            raise CheckpointError(f"{name} weights do not fit the architecture: {what} "
                                  f"({len(missing)} missing, {len(unexpected)} unexpected keys)")
        key = next(k for k in expected if k not in fitting)
        raise CheckpointError(f"{name} weight {key!r} has shape {tuple(state[key].shape)}, "
                              f"expected {tuple(expected[key].shape)}")
    if not fitting:
        raise CheckpointError(f"none of the checkpoint's {name} weights fit the network")
    if load:
        module.load_state_dict({k: v.to(expected[k].dtype) for k, v in fitting.items()},
                               strict=not partial)
    return exact


#: Accepted range of every architecture field read from a file, checked before anything is
#: built (a file claiming style_dim 1e9 must not start allocating): (low, high) inclusive.
ARCH_LIMITS = {"size": (4, 4096), "style_dim": (1, 4096), "n_mlp": (1, 32),
               "channel_multiplier": (1, 16), "channel_max": (1, 4096), "n_classes": (0, 10_000)}


def check_architecture(arch: Any, where: str) -> dict:
    """A complete, range-checked architecture dict (ARCH_KEYS) from untrusted `arch`."""
    if not isinstance(arch, dict):
        raise CheckpointError(f"{where}: malformed architecture (not a mapping)")
    a = {**ARCH_DEFAULTS, **{k: arch[k] for k in ARCH_KEYS if k in arch}}
    if "size" not in a:
        raise CheckpointError(f"{where}: malformed architecture (no size)")
    for key, (lo, hi) in ARCH_LIMITS.items():
        value = a[key]
        if not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi):
            raise CheckpointError(f"{where}: architecture {key} = {str(value)[:30]} is out of range "
                                  f"({lo}..{hi})")
    if a["size"] & (a["size"] - 1):
        raise CheckpointError(f"{where}: architecture size {a['size']} is not a power of two")
    lr = a["lr_mlp"]
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and 0 < lr <= 100):
        raise CheckpointError(f"{where}: architecture lr_mlp = {str(lr)[:30]} is out of range")
    kernel = a["blur_kernel"]
    if not (isinstance(kernel, (list, tuple)) and 1 <= len(kernel) <= 16
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= 1e6
                    for v in kernel)):
        raise CheckpointError(f"{where}: malformed architecture blur_kernel")
    return a


def _check_claims(arch: dict, g_ema: StateDict, where: str) -> None:
    """The architecture a file claims must be the one its generator tensors have: compare the
    fields the shapes determine before a network is built from the claim."""
    try:
        seen, _ = _shape_facts(g_ema)
    except CheckpointError as exc:
        raise CheckpointError(f"{where}: {exc}") from None
    for key in ("size", "style_dim", "n_mlp", "n_classes"):
        if int(arch[key]) != int(seen[key]):
            raise CheckpointError(f"{where}: the file claims architecture {key} = {arch[key]} but "
                                  f"its generator weights have {key} = {seen[key]}")


def _shape_facts(g_ema: StateDict) -> tuple[dict, dict[int, int]]:
    """({size, style_dim, n_mlp, n_classes}, {resolution: channels}) read from generator key
    shapes only."""
    try:
        n_mlp = sum(1 for k in g_ema if k.startswith("style.") and k.endswith(".weight"))
        style_dim = int(g_ema["style.1.weight"].shape[0])
        n_rgbs = len({k.split(".")[1] for k in g_ema if k.startswith("to_rgbs.")})
        if not 1 <= n_rgbs <= 12:
            raise CheckpointError(f"not a StyleGAN2 generator state_dict ({n_rgbs} to_rgb layers)")
        size = 2 ** (n_rgbs + 2)
        c4 = int(g_ema["input.input"].shape[1])
        observed = {4: c4}
        for k in range(n_rgbs):
            observed[2 ** (k + 3)] = int(g_ema[f"to_rgbs.{k}.conv.weight"].shape[2])
        n_classes = int(g_ema["embed.weight"].shape[1]) if "embed.weight" in g_ema else 0
    except (KeyError, IndexError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"not a StyleGAN2 generator state_dict (cannot read {exc})") from None
    return {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "n_classes": n_classes}, observed


def infer_architecture(g_ema: StateDict) -> dict:
    """Architecture from generator key shapes (for rosinality/third-party files without `emoget`)."""
    facts, observed = _shape_facts(g_ema)
    size, style_dim, n_mlp, n_classes = (facts[k] for k in ("size", "style_dim", "n_mlp", "n_classes"))
    # widest layer = channel_max (512 for rosinality nets; > 512 only with channel_multiplier 4+)
    channel_max = max(observed.values())
    for cm in (2, 1, 4, 8):
        table = channel_table(cm, channel_max)
        if all(table[r] == c for r, c in observed.items()):
            return {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "channel_multiplier": cm,
                    "channel_max": channel_max, "lr_mlp": 0.01, "n_classes": n_classes,
                    "blur_kernel": [1, 3, 3, 1]}
    raise CheckpointError(f"generator channel widths {observed} match no StyleGAN2 configuration")


# -----------------------------------------------------------------------------------------------
# Plain-value helpers


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _plain_args(args: Any) -> dict:
    """rosinality's argparse.Namespace (or a dict) -> a plain dict (non-plain values as str)."""
    if args is None:
        return {}
    if isinstance(args, argparse.Namespace):
        args = vars(args)
    if not isinstance(args, dict):
        return {}
    out = {}
    for k, v in args.items():
        out[str(k)] = v if _is_plain(v) else str(v)
    return out


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


# -----------------------------------------------------------------------------------------------
# Reading


def _sniff(path: Path, head: bytes) -> str:
    if len(head) == 0:
        raise CheckpointError(f"{path.name} is empty")
    if head.startswith(b"PK\x03\x04"):
        return "torch"
    if head.startswith(TORCH_LEGACY_MAGIC):
        return "torch"
    if len(head) >= 9:
        n = int.from_bytes(head[:8], "little")
        if 2 <= n < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80":
        return "pickle"
    raise CheckpointError(f"{path.name} is not a checkpoint (expected a .pt, .safetensors or "
                          "stylegan2-ada-pytorch .pkl file)")


def _read_torch(path: Path) -> Any:
    # rosinality's training checkpoints pickle their `args` as an argparse.Namespace
    return load_torch_file(path, "checkpoint", allowed_globals=[argparse.Namespace])


def _read_safetensors(path: Path) -> dict:
    try:
        from safetensors import safe_open
    except ImportError as exc:  # pragma: no cover - safetensors is a dependency
        from ..core.errors import DependencyError
        raise DependencyError("reading .safetensors needs the 'safetensors' package") from exc
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise CheckpointError(f"cannot read {path.name} as safetensors: {str(exc).splitlines()[0][:200]}") from exc
    try:
        info = {k: json.loads(meta[k]) for k in ("emoget", "args", "extras", "optim") if k in meta}
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        raise CheckpointError(f"{path.name}: malformed safetensors metadata") from None
    out: dict[str, Any] = {}
    for name in STATE_KEYS:
        prefix = name + "."
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if sd:
            out[name] = sd
    if "latent_avg" in tensors:
        out["latent_avg"] = tensors["latent_avg"]
    optim = info.get("optim") or {}
    if not isinstance(optim, dict):
        raise CheckpointError(f"{path.name}: malformed optimizer state in safetensors metadata")
    for name, skeleton in optim.items():
        if name not in ("g_optim", "d_optim"):
            continue
        try:
            out[name] = _unskeleton(skeleton, tensors)
        except (RecursionError, TypeError, ValueError):
            raise CheckpointError(f"{path.name}: malformed optimizer state in safetensors "
                                  "metadata") from None
    if "emoget" in info:
        out["emoget"] = info["emoget"]
    if "args" in info:
        out["args"] = info["args"]
    extras = info.get("extras") or {}
    if not isinstance(extras, dict):
        raise CheckpointError(f"{path.name}: malformed safetensors metadata ('extras')")
    out.update(extras)
    return out


def _read_raw(path: Path) -> dict:
    """Any supported file -> a rosinality-layout dict (untrusted values; validated later)."""
    from ..core.files import MAX_TORCH_BYTES, check_regular_file, read_limited

    check_regular_file(path, "checkpoint", limit=MAX_TORCH_BYTES, error=CheckpointError)
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    kind = _sniff(path, head)
    if kind == "torch":
        obj = _read_torch(path)
    elif kind == "safetensors":
        obj = _read_safetensors(path)
    else:
        from .nvlabs import load_nvlabs
        obj = load_nvlabs(read_limited(path, "checkpoint", limit=MAX_TORCH_BYTES,
                                       error=CheckpointError))
    if _is_state_dict(obj) and "style.1.weight" in obj:
        obj = {"g_ema": obj}  # a bare generator state_dict
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name} does not hold a checkpoint dict")
    return obj


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint (.pt rosinality/emoget, .safetensors, NVlabs .pkl)."""
    path = Path(path)
    raw = _read_raw(path)
    if "g_ema" not in raw and "g" not in raw:
        raise CheckpointError(f"{path.name} has no generator weights (no 'g_ema' or 'g' entry)")
    states = {}
    for name in STATE_KEYS:
        value = raw.get(name)
        if value is not None and not _is_state_dict(value):
            raise CheckpointError(f"{path.name}: entry {name!r} is not a state_dict")
        states[name] = value
    g_ema = states["g_ema"] if states["g_ema"] is not None else states["g"]

    entry = raw.get("emoget")
    if entry is not None and not (isinstance(entry, dict) and _is_plain(entry)):
        raise CheckpointError(f"{path.name}: malformed 'emoget' entry")
    entry = entry or {}
    version = entry.get("format_version", CHECKPOINT_FORMAT_VERSION)
    if not isinstance(version, int) or version > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(f"{path.name} was written by a newer emoget (format {version})")
    arch = entry.get("architecture")
    if arch is None:
        try:
            arch = infer_architecture(g_ema)
        except CheckpointError as exc:
            raise CheckpointError(f"{path.name}: {exc}") from None
    arch = check_architecture(arch, path.name)
    _check_claims(arch, g_ema, path.name)

    latent_avg = raw.get("latent_avg")
    if latent_avg is not None:
        if not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != int(arch["style_dim"]):
            raise CheckpointError(f"{path.name}: latent_avg does not have style_dim={arch['style_dim']} values")
        latent_avg = latent_avg.reshape(-1).float()

    class_names = entry.get("class_names")
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(class_names) != int(arch["n_classes"]):
            raise CheckpointError(f"{path.name}: {len(class_names)} class names for "
                                  f"{arch['n_classes']} classes")

    extras = {k: v for k, v in raw.items()
              if k not in (*STATE_KEYS, "g_optim", "d_optim", "args", "latent_avg", "emoget") and _is_plain(v)}
    ckpt = Checkpoint(g_ema=g_ema, architecture=arch, g=states["g"], d=states["d"],
                      g_optim=raw.get("g_optim"), d_optim=raw.get("d_optim"),
                      args=_plain_args(raw.get("args")), latent_avg=latent_avg,
                      class_names=class_names, training=dict(entry.get("training") or {}),
                      blend=entry.get("blend"), extras=extras,
                      source=str(entry.get("source") or ("emoget" if "emoget" in raw else "rosinality")),
                      notes=list(entry.get("notes") or []))
    # validate all shapes now (cheap: built on the meta device, no memory, no init cost)
    with torch.device("meta"):
        G = build_generator(arch)
        D = build_discriminator(arch) if ckpt.d is not None else None
    for name in ("g_ema", "g"):
        if getattr(ckpt, name) is not None:
            fit_state_dict(G, getattr(ckpt, name), name, load=False)
    if D is not None:
        fit_state_dict(D, ckpt.d, "d", load=False)
    return ckpt


def load_generator(path: str | os.PathLike, device="cpu") -> Generator:
    """Checkpoint file -> eval-mode g_ema Generator on `device`, with `.class_names`, `.meta`
    (the emoget entry) and `.latent_avg` ([1, S] or None) set."""
    if isinstance(device, str) and device == "auto":
        from ..core.device import resolve_device
        device = resolve_device("auto")
    ckpt = load_checkpoint(path)
    G = ckpt.build_generator("g_ema", device=device)
    G.meta["path"] = str(path)
    return G.eval()


# -----------------------------------------------------------------------------------------------
# Writing


def _torch_payload(ckpt: Checkpoint) -> dict:
    payload: dict[str, Any] = {}
    for name in ("g", "d", "g_ema", "g_optim", "d_optim"):
        value = getattr(ckpt, name)
        if value is not None:
            payload[name] = value
    payload["args"] = _plain_args(ckpt.args)
    if ckpt.latent_avg is not None:
        payload["latent_avg"] = ckpt.latent_avg.detach().cpu().reshape(-1)
    for k, v in ckpt.extras.items():
        payload.setdefault(k, v)
    payload["emoget"] = ckpt.emoget_entry()
    return payload


def _validate_plain(ckpt: Checkpoint) -> None:
    for what, value in (("emoget entry", ckpt.emoget_entry()), ("args", _plain_args(ckpt.args)),
                        ("extras", ckpt.extras)):
        if not _is_plain(value):
            raise ValueError(f"checkpoint {what} must hold plain types only (str/int/float/bool/None, "
                             "lists, str-keyed dicts)")


def _skeleton(value: Any, prefix: str, tensors: dict) -> Any:
    """Nested optimizer state -> JSON skeleton; tensors moved into `tensors` under dotted names."""
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(value, dict):
        return {"__dict__": [[k, _skeleton(v, f"{prefix}.{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_skeleton(v, f"{prefix}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_skeleton(v, f"{prefix}.{i}", tensors) for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"cannot store {type(value).__name__} in a safetensors checkpoint ({prefix})")


def _unskeleton(value: Any, tensors: dict) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            try:
                return tensors[value["__tensor__"]]
            except KeyError as exc:
                raise CheckpointError(f"safetensors optimizer state refers to missing {exc.args[0]!r}") from exc
        if "__tuple__" in value:
            return tuple(_unskeleton(v, tensors) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _unskeleton(v, tensors) for k, v in value["__dict__"]}
        raise CheckpointError("malformed optimizer state in safetensors metadata")
    if isinstance(value, list):
        return [_unskeleton(v, tensors) for v in value]
    return value


def _safetensors_bytes(ckpt: Checkpoint) -> bytes:
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    for name in STATE_KEYS:
        state = getattr(ckpt, name)
        for k, v in (state or {}).items():
            tensors[f"{name}.{k}"] = v.detach().cpu().contiguous()
    if ckpt.latent_avg is not None:
        tensors["latent_avg"] = ckpt.latent_avg.detach().cpu().reshape(-1).contiguous()
    optim = {}
    for name in ("g_optim", "d_optim"):
        value = getattr(ckpt, name)
        if value is not None:
            optim[name] = _skeleton(value, name, tensors)
    metadata = {"format": "pt", "emoget": json.dumps(ckpt.emoget_entry()),
                "args": json.dumps(_plain_args(ckpt.args)), "extras": json.dumps(ckpt.extras)}
    if optim:
        metadata["optim"] = json.dumps(optim)
    # safetensors refuses tensors sharing storage; clone any that alias
    seen: set = set()
    for k, v in tensors.items():
        ptr = (v.untyped_storage().data_ptr(), v.storage_offset()) if v.numel() else None
        if ptr in seen:
            tensors[k] = v.clone()
        elif ptr is not None:
            seen.add(ptr)
    return save(tensors, metadata=metadata)


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write atomically: `.safetensors` by suffix, otherwise a rosinality-layout torch file."""
    path = Path(path)
    _validate_plain(ckpt)
    if path.suffix.lower() == ".safetensors":
        return write_bytes_atomic(path, _safetensors_bytes(ckpt))
    payload = _torch_payload(ckpt)
    with atomic_path(path) as tmp:
        try:
            torch.save(payload, tmp)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
