"""Network blending of StyleGAN2 generators: θ = Σᵢ αᵢ(layer) · θᵢ (Toonify layer swapping).

Layers and positions (rosinality key names; docs/stylegan2.md#blending). Every synthesis layer has a
resolution r and a level (0 = first conv of the resolution, 1 = second conv + its ToRGB); its
position is p = 2·log2(r/4) + level:

    (r, level)   position   rosinality keys
    (4, 0)       0          input.input
    (4, 1)       1          conv1.*, to_rgb1.*     (conv1 is blended, like the ADA PyTorch port;
                                                     TF blend_models.py leaves it with model 1)
    (2^k, 0)     2(k-2)     convs.{2(k-3)}.*
    (2^k, 1)     2(k-2)+1   convs.{2(k-3)+1}.*, to_rgbs.{k-3}.*

Everything else — the mapping network `style.*` (and a conditional generator's class
embedding), the `noises.*` buffers, the constant blur/upsample kernels — and the checkpoint's
`latent_avg` are copied unchanged from ONE model, `mapping_from`. Default: the model supplying
the coarsest layer (the largest α at position 0; ties → the first), which is what
justinpinkney's blend_models.py does (its model 1 supplies the low resolutions and the mapping).
For the Toonify trick that choice does not matter for photos (W+ codes go straight to the
synthesis network); it decides the distribution of random samples (`emoget sample`).

Two recipe forms:

- **swap** (Toonify) between two models: y(p) = fraction taken from the *fine* model, with
  x = p − position(swap_res, level 0);
  hard (width None): y = 1 if x > 1 else 0 — blend_models.py's rule including its off-by-one:
  the swap resolution's own two levels still come from the coarse model and the fine model
  starts at the next resolution; smooth (width w > 0): y = 1 / (1 + exp(−x / w)).
  The coarse model is STYLE by default (Toonify: structure from the toon model, texture from
  the photo base); `coarse_from="base"` reverses it.
- **alpha**: α rows given at some resolutions, one weight per model; each resolution's α is
  linearly interpolated in log2(resolution) between the nearest given rows (constant beyond the
  first/last row); both levels of a resolution share it. Weights must be ≥ 0; each row is
  normalised to sum 1 (rows that did not sum to 1 are reported in `notes`).

A one-hot α copies the tensor bit for bit, so α = 0/1 reproduces an input exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from ..core.errors import CheckpointError, UsageError

RECIPE_VERSION = 1
_CONVS = re.compile(r"^convs\.(\d+)\.")
_TO_RGBS = re.compile(r"^to_rgbs\.(\d+)\.")


# ---------------------------------------------------------------------------------------------
# Layer positions
# ---------------------------------------------------------------------------------------------

def position_of(res: int, level: int) -> int:
    """Layer position of (resolution, level): 2·log2(res/4) + level."""
    return 2 * int(round(math.log2(res / 4))) + level


def layer_of_key(key: str) -> Optional[tuple[int, int]]:
    """(resolution, level) of a synthesis parameter key, or None for mapping/noise/constant keys."""
    if key.endswith(("blur.kernel", "upsample.kernel")):
        return None  # fixed FIR filters: identical in every model, never blended
    if key.startswith("input."):
        return 4, 0
    if key.startswith(("conv1.", "to_rgb1.")):
        return 4, 1
    m = _CONVS.match(key)
    if m:
        i = int(m.group(1))
        return 2 ** (3 + i // 2), i % 2
    m = _TO_RGBS.match(key)
    if m:
        return 2 ** (3 + int(m.group(1))), 1
    return None


def n_positions(size: int) -> int:
    """Number of layer positions of a generator of output `size` (= its n_latent)."""
    return 2 * (int(round(math.log2(size))) - 1)


# ---------------------------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlendRecipe:
    """How to blend `n_models` generators. See the module docstring for the two forms.

    swap form: mode="swap", n_models=2, swap_res, width (None = hard), coarse_from (model index).
    alpha form: mode="alpha", alpha=((res, (a_0, ..., a_{N-1})), ...) sorted by res.
    mapping_from: model index giving mapping/noise/latent_avg (None = the default rule).
    """

    mode: str
    n_models: int
    swap_res: Optional[int] = None
    width: Optional[float] = None
    coarse_from: int = 1
    alpha: tuple[tuple[int, tuple[float, ...]], ...] = ()
    mapping_from: Optional[int] = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def swap(cls, swap_res: int, width: Optional[float] = None, *, coarse_from: int = 1,
             mapping_from: Optional[int] = None) -> "BlendRecipe":
        _check_res(swap_res, "--swap-res")
        if width is not None and not (width > 0 and math.isfinite(width)):
            raise UsageError(f"--width must be a positive number, got {width}")
        if coarse_from not in (0, 1):
            raise UsageError("the coarse layers must come from model 0 (base) or 1 (style)")
        return cls("swap", 2, swap_res=int(swap_res), width=None if width is None else float(width),
                   coarse_from=coarse_from, mapping_from=_check_index(mapping_from, 2))

    @classmethod
    def from_alpha(cls, rows: dict[int, Sequence[float]], n_models: int, *,
                   mapping_from: Optional[int] = None) -> "BlendRecipe":
        if not rows:
            raise UsageError("an alpha recipe needs at least one row (e.g. --alpha 4:1,0)")
        clean, notes = [], []
        for res in sorted(rows):
            _check_res(res, "alpha resolution")
            vals = [float(v) for v in rows[res]]
            if len(vals) != n_models:
                raise UsageError(f"alpha row {res} has {len(vals)} weights for {n_models} models")
            if any(not math.isfinite(v) or v < 0 for v in vals):
                raise UsageError(f"alpha row {res}: weights must be finite and >= 0")
            total = sum(vals)
            if total <= 0:
                raise UsageError(f"alpha row {res}: the weights sum to 0")
            if abs(total - 1.0) > 1e-6:
                notes.append(f"alpha row {res} summed to {total:g}; normalised to 1")
                vals = [v / total for v in vals]
            clean.append((int(res), tuple(vals)))
        return cls("alpha", n_models, alpha=tuple(clean),
                   mapping_from=_check_index(mapping_from, n_models), notes=tuple(notes))

    # -- evaluation ---------------------------------------------------------------------------
    def weights(self, size: int) -> list[tuple[float, ...]]:
        """α per layer position 0..n_latent-1 of a generator of output `size`: [P][n_models]."""
        out = []
        for p in range(n_positions(size)):
            if self.mode == "swap":
                x = p - position_of(self.swap_res, 0)
                y = (1.0 if x > 1 else 0.0) if self.width is None else 1.0 / (1.0 + math.exp(-x / self.width))
                row = [0.0, 0.0]
                row[self.coarse_from] = 1.0 - y
                row[1 - self.coarse_from] = y
                out.append(tuple(row))
            else:
                out.append(self._alpha_at(4 * 2 ** (p // 2)))
        return out

    def _alpha_at(self, res: int) -> tuple[float, ...]:
        u = math.log2(res)
        rows = [(math.log2(r), a) for r, a in self.alpha]
        if u <= rows[0][0]:
            return rows[0][1]
        if u >= rows[-1][0]:
            return rows[-1][1]
        for (u0, a0), (u1, a1) in zip(rows, rows[1:]):
            if u0 <= u <= u1:
                t = (u - u0) / (u1 - u0)
                if t == 0.0:
                    return a0
                if t == 1.0:
                    return a1
                return tuple((1 - t) * v0 + t * v1 for v0, v1 in zip(a0, a1))
        return rows[-1][1]  # pragma: no cover

    def mapping_index(self, size: int) -> int:
        if self.mapping_from is not None:
            return self.mapping_from
        first = self.weights(size)[0]
        return max(range(self.n_models), key=lambda i: (first[i], -i))

    # -- (de)serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-types form stored in the output checkpoint's `emoget.blend` entry."""
        return {"version": RECIPE_VERSION, "mode": self.mode, "n_models": self.n_models,
                "swap_res": self.swap_res, "width": self.width, "coarse_from": self.coarse_from,
                "alpha": {str(r): list(a) for r, a in self.alpha},
                "mapping_from": self.mapping_from, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BlendRecipe":
        if not isinstance(data, dict) or data.get("mode") not in ("swap", "alpha"):
            raise UsageError("a blend recipe needs mode: swap or mode: alpha")
        if data["mode"] == "swap":
            return cls.swap(int(data["swap_res"]), data.get("width"),
                            coarse_from=int(data.get("coarse_from", 1)),
                            mapping_from=data.get("mapping_from"))
        rows = {int(k): v for k, v in dict(data.get("alpha") or {}).items()}
        return cls.from_alpha(rows, int(data.get("n_models") or len(next(iter(rows.values()), []))),
                              mapping_from=data.get("mapping_from"))


def _check_res(res: int, what: str) -> None:
    if not isinstance(res, int) or res < 4 or res & (res - 1):
        raise UsageError(f"{what} must be a power of two >= 4, got {res}")


def _check_index(index: Optional[int], n: int) -> Optional[int]:
    if index is None:
        return None
    if not (0 <= int(index) < n):
        raise UsageError(f"mapping model index {index} is out of range (0..{n - 1})")
    return int(index)


def parse_alpha_rows(specs: Sequence[str], n_models: int) -> dict[int, list[float]]:
    """['4:1,0', '64:0.5,0.5'] -> {4: [1.0, 0.0], 64: [0.5, 0.5]} (UsageError on bad text)."""
    rows: dict[int, list[float]] = {}
    for spec in specs:
        res_text, sep, vals_text = str(spec).partition(":")
        try:
            if not sep:
                raise ValueError
            res = int(res_text)
            vals = [float(v) for v in vals_text.split(",")]
        except ValueError:
            raise UsageError(f"--alpha {spec!r}: expected RES:a1,a2,... e.g. 32:0.5,0.5") from None
        if len(vals) != n_models:
            raise UsageError(f"--alpha {spec!r}: {len(vals)} weights for {n_models} models")
        if res in rows:
            raise UsageError(f"--alpha: resolution {res} given twice")
        rows[res] = vals
    return rows


def load_recipe_file(path: str | Path, n_models: int) -> BlendRecipe:
    """A YAML recipe: `alpha: {4: [1, 0], 64: [0.5, 0.5]}` (+ `mapping_from: 0`), or
    `swap_res: 32` (+ `width: 1.0`, `coarse_from: base|style`, `mapping_from`)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"recipe file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = (str(exc).splitlines() or ["unreadable"])[0]
        raise UsageError(f"recipe file {path} is not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise UsageError(f"recipe file {path} must be a mapping (alpha: ... or swap_res: ...)")
    known = {"alpha", "swap_res", "width", "coarse_from", "mapping_from", "mode", "n_models"}
    unknown = set(data) - known
    if unknown:
        raise UsageError(f"recipe file {path}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
    mapping = data.get("mapping_from")
    try:
        if "swap_res" in data:
            if n_models != 2:
                raise UsageError("a swap recipe blends exactly two models (BASE STYLE)")
            coarse = data.get("coarse_from", "style")
            coarse_idx = {"base": 0, "style": 1}.get(coarse, coarse)
            return BlendRecipe.swap(int(data["swap_res"]), data.get("width"),
                                    coarse_from=int(coarse_idx), mapping_from=mapping)
        if "alpha" not in data or not isinstance(data["alpha"], dict):
            raise UsageError(f"recipe file {path} needs 'alpha: {{RES: [weights]}}' or 'swap_res'")
        rows = {int(k): list(v) for k, v in data["alpha"].items()}
        return BlendRecipe.from_alpha(rows, n_models, mapping_from=mapping)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"recipe file {path}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Blending state_dicts
# ---------------------------------------------------------------------------------------------

def check_same_architecture(state_dicts: Sequence[dict], names: Sequence[str]) -> None:
    """CheckpointError unless all state_dicts have the same keys, shapes and dtypes."""
    ref, ref_name = state_dicts[0], names[0]

    def keys(sd: dict) -> set:  # constant FIR kernels may be absent from converted files
        return {k for k in sd if not k.endswith(".kernel")}

    for sd, name in zip(state_dicts[1:], names[1:]):
        missing, extra = keys(ref) - keys(sd), keys(sd) - keys(ref)
        if missing or extra:
            diff = sorted(missing | extra)
            raise CheckpointError(f"{name} and {ref_name} have different architectures "
                                  f"({len(diff)} keys differ, e.g. {diff[0]})")
        for key, value in ref.items():
            if key not in sd:
                continue
            other = sd[key]
            if tuple(other.shape) != tuple(value.shape) or other.dtype != value.dtype:
                raise CheckpointError(
                    f"{name} and {ref_name} have different architectures ({key}: "
                    f"{tuple(other.shape)} vs {tuple(value.shape)})")


def blend_state_dicts(state_dicts: Sequence[dict], recipe: BlendRecipe, size: int,
                      names: Optional[Sequence[str]] = None) -> dict:
    """Blend generator state_dicts (g_ema, rosinality keys) of output `size` by `recipe`.

    Returns a new state_dict; the inputs are not modified. One-hot weights copy bit for bit.
    """

    names = list(names or [f"model {i}" for i in range(len(state_dicts))])
    if len(state_dicts) != recipe.n_models:
        raise UsageError(f"the recipe blends {recipe.n_models} models but {len(state_dicts)} were given")
    check_same_architecture(state_dicts, names)
    weights = recipe.weights(size)
    source = recipe.mapping_index(size)
    out = {}
    for key, ref in state_dicts[source].items():
        layer = layer_of_key(key)
        if layer is None or not ref.is_floating_point():
            out[key] = ref.detach().clone()
            continue
        pos = position_of(*layer)
        if pos >= len(weights):
            raise CheckpointError(f"{names[0]}: layer {key} is beyond the {size}px generator")
        row = weights[pos]
        hot = [i for i, a in enumerate(row) if a != 0.0]
        if len(hot) == 1 and row[hot[0]] == 1.0:
            out[key] = state_dicts[hot[0]][key].detach().clone()
            continue
        acc = torch.zeros(ref.shape, dtype=torch.float64, device=ref.device)
        for a, sd in zip(row, state_dicts):
            if a != 0.0:
                acc += a * sd[key].detach().to(torch.float64)
        out[key] = acc.to(ref.dtype)
    return out


def describe_weights(recipe: BlendRecipe, size: int) -> list[dict[str, Any]]:
    """One row per layer position: position, resolution, level, α per model (for reports)."""
    return [{"position": p, "resolution": 4 * 2 ** (p // 2), "level": p % 2, "alpha": list(row)}
            for p, row in enumerate(recipe.weights(size))]


# ---------------------------------------------------------------------------------------------
# Blending checkpoint files
# ---------------------------------------------------------------------------------------------

def blend_checkpoints(paths: Sequence[str | Path], recipe: BlendRecipe):
    """Load the checkpoints, check they share one architecture, blend their g_ema.

    Returns a `gan.checkpoint.Checkpoint` holding only `g_ema` (+ `latent_avg` and class names
    of the mapping model) whose `emoget.blend` entry records the recipe, the input files
    (name + sha256), the mapping model and the α of every layer position.
    """
    from ..core.latent import file_sha256
    from .checkpoint import Checkpoint, load_checkpoint

    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise UsageError("blending needs at least two checkpoints")
    if len(paths) != recipe.n_models:
        raise UsageError(f"the recipe blends {recipe.n_models} models but {len(paths)} were given")
    ckpts = [load_checkpoint(p) for p in paths]
    ref = ckpts[0]
    for path, ck in zip(paths[1:], ckpts[1:]):
        if ck.architecture != ref.architecture:
            diff = sorted(k for k in set(ck.architecture) | set(ref.architecture)
                          if ck.architecture.get(k) != ref.architecture.get(k))
            raise CheckpointError(
                f"{path.name} and {paths[0].name} have different architectures ("
                + ", ".join(f"{k}: {ck.architecture.get(k)} vs {ref.architecture.get(k)}" for k in diff) + ")")
        if (ck.class_names or None) != (ref.class_names or None):
            raise CheckpointError(f"{path.name} and {paths[0].name} have different class names "
                                  f"({ck.class_names} vs {ref.class_names})")
    size = int(ref.architecture["size"])
    if recipe.mode == "swap" and recipe.swap_res >= size:
        raise UsageError(f"--swap-res {recipe.swap_res} must be below the generators' output size "
                         f"({size} px): at or above it every layer comes from one model")
    g_ema = blend_state_dicts([c.g_ema for c in ckpts], recipe, size, [p.name for p in paths])
    source = recipe.mapping_index(size)
    entry = {
        "recipe": recipe.to_dict(),
        "models": [{"file": p.name, "sha256": file_sha256(p)} for p in paths],
        "mapping_from": source,
        "layers": describe_weights(recipe, size),
    }
    latent_avg = ckpts[source].latent_avg
    ckpt = Checkpoint(g_ema=g_ema, architecture=dict(ref.architecture),
                      latent_avg=None if latent_avg is None else latent_avg.clone(),
                      class_names=ckpts[source].class_names, blend=entry, source="emoget blend",
                      notes=list(recipe.notes))
    return ckpt
