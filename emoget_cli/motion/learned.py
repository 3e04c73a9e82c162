"""The learned landmark-motion generator: data from landmark tracks, training, a safe file format.

Tracks (`*.landmarks.json`, see core/track.py) are labelled by their `label` field or, failing
that, by the name of the folder holding them. Each is similarity-normalised by the eyes of its
first (neutral) frame — face units, see geometry.FaceFrame — resampled to `frames` frames, and
turned into displacements from that first frame. Two models learn displacement(n0, class, t):
the seed's single linear layer and a temporal GRU (nets.py); held-out error is the mean point
error divided by the inter-ocular distance.

Model file (`motion.pt`): `torch.save` of a plain dict — format, version, arch, classes, frames,
network sizes, normalisation constants, metrics and the state_dict — read back with
`torch.load(weights_only=True)` so no pickled code ever runs.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import CheckpointError, OutputError, TrackError, UsageError
from ..core.track import TRACK_SUFFIX, load_track
from .estimate import estimate_units
from .expressions import EXPRESSIONS, ExpressionSpec, parse_expression
from .facs import unit_field
from .generate import MotionConfig, MotionPlan, displacements_to_track
from .geometry import N_POINTS, FaceFrame, check_points
from .head import head_motion

MODEL_FORMAT = "emoget.motion"
MODEL_VERSION = 1
ARCH_CHOICES = ("best", "seed", "temporal")
MAX_MODEL_BYTES = 256 * 1024 * 1024
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


# ----------------------------------------------------------------------------- data

@dataclass
class MotionDataset:
    """Normalised training data: N tracks, F frames, face units.

    neutral: [N, 68, 2] first-frame shapes; disp: [N, F, 68, 2] displacement from it;
    labels: [N] indices into `classes`.
    """

    classes: list[str]
    labels: np.ndarray
    neutral: np.ndarray
    disp: np.ndarray
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> "MotionDataset":
        return MotionDataset(self.classes, self.labels[index], self.neutral[index], self.disp[index],
                             [self.sources[i] for i in index] if self.sources else [])


def normalise_label(text: str) -> str:
    return "_".join(str(text).strip().lower().split())


def resample(seq: np.ndarray, frames: int) -> np.ndarray:
    """Linear resampling along time of [T, ...] to [frames, ...]; first and last frame kept."""
    t_in = len(seq)
    if t_in == frames:
        return seq.copy()
    pos = np.linspace(0.0, t_in - 1.0, frames)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, t_in - 1)
    w = (pos - i0).reshape(-1, *([1] * (seq.ndim - 1)))
    return (1.0 - w) * seq[i0] + w * seq[i1]


def resample_loop(seq: np.ndarray, frames: int) -> np.ndarray:
    """Periodic resampling of a loop [F, ...] (frame F ≡ frame 0) to [frames, ...]; frame 0 kept."""
    f = len(seq)
    if f == frames:
        return seq.copy()
    pos = np.arange(frames) * f / frames
    i0 = np.floor(pos).astype(int) % f
    i1 = (i0 + 1) % f
    w = (pos - np.floor(pos)).reshape(-1, *([1] * (seq.ndim - 1)))
    return (1.0 - w) * seq[i0] + w * seq[i1]


def dataset_from_tracks(items: list[tuple[str, np.ndarray]], frames: int,
                        sources: list[str] | None = None) -> MotionDataset:
    """items: (label, points [T, 68, 2] pixels) → a MotionDataset resampled to `frames` frames."""
    if not items:
        raise UsageError("no landmark tracks to train on")
    classes = sorted({normalise_label(label) for label, _ in items})
    neutral, disp, labels = [], [], []
    for k, (label, points) in enumerate(items):
        where = sources[k] if sources else f"track {k}"
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 3 or pts.shape[1:] != (N_POINTS, 2):
            raise TrackError(f"{where}: expected points [T, 68, 2], got shape {list(pts.shape)}")
        if len(pts) < 2:
            raise TrackError(f"{where}: a motion track needs at least 2 frames, it has {len(pts)}")
        if not np.all(np.isfinite(pts)):
            raise TrackError(f"{where}: points contain NaN or infinity")
        frame = FaceFrame.of(check_points(pts[0], where))
        shapes = resample(frame.to_face(pts), frames)  # [F, 68, 2]
        neutral.append(shapes[0])
        disp.append(shapes - shapes[0])
        labels.append(classes.index(normalise_label(label)))
    return MotionDataset(classes, np.array(labels), np.stack(neutral), np.stack(disp), list(sources or []))


def find_track_files(data_dir: str | Path) -> list[Path]:
    root = Path(data_dir)
    if not root.is_dir():
        raise UsageError(f"--data {root} is not a folder of landmark tracks")
    files = sorted(p for p in root.rglob(f"*{TRACK_SUFFIX}") if p.is_file())
    if not files:
        raise UsageError(f"no *{TRACK_SUFFIX} track files under {root}")
    return files


def load_tracks_dir(data_dir: str | Path, frames: int) -> MotionDataset:
    """Read every *.landmarks.json under `data_dir` (recursively); label from the track or its
    folder. TrackError for a malformed track or one without a label."""
    root = Path(data_dir)
    items, sources = [], []
    for path in find_track_files(root):
        track = load_track(path)
        label = track.label
        if not label:
            if path.parent.resolve() == root.resolve():
                raise TrackError(f"{path}: the track has no label (set its 'label' field or put it in "
                                 "a folder named after the expression)")
            label = path.parent.name
        label = normalise_label(label)
        if not _LABEL_RE.match(label):
            raise TrackError(f"{path}: label {label!r} must be letters, digits, '_' or '-'")
        try:
            points = track.points_array(0)
        except TrackError as exc:
            raise TrackError(f"{path}: {exc}") from None
        items.append((label, points))
        sources.append(str(path))
    return dataset_from_tracks(items, frames, sources)


def split_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: about `fraction` of each class (≥ 1 where it has ≥ 2 tracks) held out."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = min(len(idx) - 1, max(1, int(round(fraction * len(idx))))) if len(idx) >= 2 else 0
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    if not val:
        raise UsageError("too few tracks to hold any out: give at least 2 tracks of some expression")
    return np.sort(np.array(train)), np.sort(np.array(val))


# ----------------------------------------------------------------------------- model

@dataclass(frozen=True)
class TrainMotionConfig:
    """frames per normalised track; Adam `steps` full-batch; `holdout` fraction for the errors."""

    frames: int = 24
    steps: int = 400
    lr: float = 3e-3
    holdout: float = 0.2
    arch: str = "best"
    hidden: int = 64
    emb_dim: int = 16
    harmonics: int = 3
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not 2 <= self.frames <= 1000:
            raise UsageError(f"frames must be in 2..1000, got {self.frames}")
        if not 1 <= self.steps <= 1_000_000:
            raise UsageError(f"steps must be in 1..1000000, got {self.steps}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"learning rate must be positive, got {self.lr}")
        if not 0.0 < self.holdout < 1.0:
            raise UsageError(f"holdout must be a fraction in (0, 1), got {self.holdout}")
        if self.arch not in ARCH_CHOICES:
            raise UsageError(f"unknown arch {self.arch!r} (choose from {', '.join(ARCH_CHOICES)})")
        if not (1 <= self.hidden <= 4096 and 1 <= self.emb_dim <= 1024 and 1 <= self.harmonics <= 32):
            raise UsageError("hidden, emb_dim and harmonics must be small positive integers")


class MotionModel:
    """A trained generator: `.generate(l0, expr, config)` → float32 [T, 68, 2] pixels."""

    def __init__(self, arch: str, classes: list[str], frames: int, sizes: dict[str, int],
                 neutral_mean: np.ndarray, neutral_scale: float, disp_scale: float,
                 net: Any, metrics: dict[str, float] | None = None):
        self.arch = arch
        self.classes = list(classes)
        self.frames = int(frames)
        self.sizes = dict(sizes)
        self.neutral_mean = np.asarray(neutral_mean, dtype=np.float64).reshape(N_POINTS * 2)
        self.neutral_scale = float(neutral_scale)
        self.disp_scale = float(disp_scale)
        self.net = net.eval()
        self.metrics = dict(metrics or {})

    def __repr__(self) -> str:
        return f"MotionModel(arch={self.arch!r}, classes={self.classes}, frames={self.frames})"

    def predict(self, neutral: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """neutral [N, 68, 2] face units, labels [N] → displacements [N, F, 68, 2] (frame 0 = 0)."""
        import torch

        device = next(self.net.parameters()).device
        n0 = (np.asarray(neutral).reshape(len(labels), -1) - self.neutral_mean) / self.neutral_scale
        with torch.no_grad(), _torch_threads(1):
            out = self.net(torch.as_tensor(n0, dtype=torch.float32, device=device),
                           torch.as_tensor(labels, dtype=torch.int64, device=device), self.frames)
        disp = out.cpu().numpy().astype(np.float64).reshape(len(labels), self.frames, N_POINTS, 2)
        disp *= self.disp_scale
        disp[:, 0] = 0.0  # frame 0 is the neutral face by definition
        return disp

    def plan(self, l0: np.ndarray, expr: "str | ExpressionSpec",
             config: MotionConfig = MotionConfig()) -> MotionPlan:
        """l0 [68, 2] pixels; expr among `self.classes` ('+' and ':' combine as in the FACS
        library). The network sees the photo's face with its own expression undone (estimate.py,
        as the FACS library does) and the photo's units fade out as the learned motion grows,
        so a smiling photo asked for sadness loses its smile here too. Returns a MotionPlan whose
        points are float32 [config.frames, 68, 2] in l0's pixel frame, frame 0 == l0."""
        points = check_points(l0)
        spec = parse_expression(expr, names=self.classes)
        frame = FaceFrame.of(points)
        n0 = frame.to_face(points)
        photo = estimate_units(points) if config.replace else {}
        undo = sum((value * unit_field(code, n0) for code, value in photo.items()),
                   np.zeros_like(n0))                                    # [68, 2]
        labels = np.array([self.classes.index(name) for name in spec.names])
        disp = self.predict(np.repeat((n0 - undo)[None], len(labels), axis=0), labels)
        weights = np.array([w for _, w in spec.terms]) * float(config.intensity)
        total = resample_loop(close_loop(np.einsum("n,nfpd->fpd", weights, disp)), config.frames)
        # the learned motion's own progress (0 at rest, 1 at its largest) drives the undo
        size = np.linalg.norm(total, axis=-1).mean(-1)                   # [T]
        progress = np.clip(size / max(float(size.max()), 1e-9), 0.0, 1.0) * min(
            float(config.intensity), 1.0) if photo else np.zeros(len(total))
        shapes = n0 + total - progress[:, None, None] * undo
        head = config.head
        if head == "auto":  # the library's head motion for a class the library knows
            first = spec.names[0]
            head = EXPRESSIONS[first].head if first in EXPRESSIONS else "none"
        shapes = head_motion(shapes, n0, head, progress, min(float(config.intensity), 1.2))
        effects = tuple(dict.fromkeys(e for name in spec.names if name in EXPRESSIONS
                                      for e in EXPRESSIONS[name].effects))
        return MotionPlan(displacements_to_track(points, frame, shapes - n0), photo, head,
                          effects, progress)

    def generate(self, l0: np.ndarray, expr: "str | ExpressionSpec",
                 config: MotionConfig = MotionConfig()) -> np.ndarray:
        """`plan(...).points`: float32 [config.frames, 68, 2] pixels, frame 0 == l0."""
        return self.plan(l0, expr, config).points

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT, "version": MODEL_VERSION, "arch": self.arch,
            "classes": list(self.classes), "frames": self.frames, "sizes": dict(self.sizes),
            "neutral_mean": _tensor(self.neutral_mean), "neutral_scale": self.neutral_scale,
            "disp_scale": self.disp_scale,
            "state_dict": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "metrics": {k: float(v) for k, v in self.metrics.items()},
        }

    def save(self, path: str | Path) -> Path:
        """Write the model file atomically (torch.save of plain types and tensors only)."""
        import torch

        with atomic_path(path) as tmp:
            try:
                torch.save(self.to_dict(), tmp)
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return Path(path)


def _tensor(array: np.ndarray):
    import torch

    return torch.as_tensor(np.asarray(array, dtype=np.float32))


def close_loop(disp: np.ndarray) -> np.ndarray:
    """Remove linear drift so the loop closes: [F, 68, 2] → same, frame 0 unchanged.

    The value the motion would reach at frame F (extrapolated from the last two frames) should
    equal frame 0's zero; any residual is spread linearly over the loop. A no-op for a model
    that learned closed loops.
    """
    f = len(disp)
    if f < 2:
        return disp
    end = 2.0 * disp[-1] - disp[-2]
    ramp = (np.arange(f) / f)[:, None, None]
    return disp - ramp * end[None]


def _build_net(arch: str, n_classes: int, sizes: dict[str, int]):
    from .nets import ARCHS

    return ARCHS[arch](n_classes, emb_dim=sizes["emb_dim"], harmonics=sizes["harmonics"],
                       hidden=sizes["hidden"])


def mean_point_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean Euclidean point error over tracks, frames and points; inputs in face (IOD) units."""
    return float(np.linalg.norm(pred - true, axis=-1).mean())


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run tiny networks on `n` CPU threads: more only add synchronisation cost (and, on a busy
    machine, oversubscription that can slow training by 10-40x)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit(arch: str, data: MotionDataset, config: TrainMotionConfig, mean: np.ndarray,
         scale: float, disp_scale: float) -> MotionModel:
    import torch

    from ..core.device import resolve_device

    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    sizes = {"hidden": config.hidden, "emb_dim": config.emb_dim, "harmonics": config.harmonics}
    net = _build_net(arch, len(data.classes), sizes).to(device)
    n0 = torch.as_tensor((data.neutral.reshape(len(data), -1) - mean) / scale, dtype=torch.float32,
                         device=device)  # [N, 136]
    labels = torch.as_tensor(data.labels, dtype=torch.int64, device=device)
    target = torch.as_tensor(data.disp.reshape(len(data), config.frames, -1) / disp_scale,
                             dtype=torch.float32, device=device)  # [N, F, 136]
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps)
    net.train()
    with _torch_threads(1):
        _optimise(net, opt, sched, n0, labels, target, config)
    return MotionModel(arch, data.classes, config.frames, sizes, mean, scale, disp_scale, net)


def _optimise(net, opt, sched, n0, labels, target, config: TrainMotionConfig) -> None:
    """Full-batch Adam on the MSE of the (scaled) displacements."""
    import torch

    for _ in range(config.steps):
        loss = torch.nn.functional.mse_loss(net(n0, labels, config.frames), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()


@dataclass
class TrainResult:
    model: MotionModel  # the one chosen by config.arch ("best": lower held-out error)
    errors: dict[str, float]  # held-out mean point error / IOD: still (no motion), seed, temporal
    n_train: int
    n_val: int
    classes: list[str]


def train_motion(data: MotionDataset, config: TrainMotionConfig = TrainMotionConfig()) -> TrainResult:
    """Train the seed and the temporal model on a stratified split, measure both on the held-out
    tracks, and return the one `config.arch` asks for (its metrics attached)."""
    if data.disp.shape[1] != config.frames:
        raise UsageError(f"the dataset has {data.disp.shape[1]} frames per track, the config {config.frames}")
    train_idx, val_idx = split_holdout(data.labels, config.holdout, config.seed)
    train, val = data.subset(train_idx), data.subset(val_idx)
    flat = train.neutral.reshape(len(train), -1)
    mean = flat.mean(0)
    scale = float(max(np.std(flat - mean), 1e-3))
    disp_scale = float(max(np.sqrt(np.mean(train.disp ** 2)), 1e-4))
    errors = {"still": mean_point_error(np.zeros_like(val.disp), val.disp)}
    models = {}
    for arch in ("seed", "temporal"):
        model = _fit(arch, train, config, mean, scale, disp_scale)
        errors[arch] = mean_point_error(model.predict(val.neutral, val.labels), val.disp)
        models[arch] = model
    chosen = config.arch if config.arch != "best" else min(("seed", "temporal"), key=errors.get)
    model = models[chosen]
    model.metrics = {f"heldout_error_{k}": v for k, v in errors.items()}
    return TrainResult(model, errors, len(train), len(val), list(data.classes))


# ----------------------------------------------------------------------------- loading

def _require(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise CheckpointError(f"{path}: not an emoget motion model ({what})")


def load_motion_model(path: str | Path, device: str = "cpu") -> MotionModel:
    """Read a model written by `train motion`. Anything but that plain dict — other pickles,
    tensors of the wrong shape, unknown versions — raises CheckpointError; nothing is executed."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such motion model file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not path.is_file() or size > MAX_MODEL_BYTES:
        raise CheckpointError(f"{path}: not a motion model file (a folder, or over {MAX_MODEL_BYTES} bytes)")
    from ..core.safe_load import load_torch_file

    data = load_torch_file(path, "motion model")
    return model_from_dict(data, path, device)


def model_from_dict(data: Any, path: Path, device: str = "cpu") -> MotionModel:
    import torch

    _require(isinstance(data, dict), path, "expected a dict")
    _require(data.get("format") == MODEL_FORMAT, path, f"format is {data.get('format')!r}")
    version = data.get("version")
    if not isinstance(version, int) or not 1 <= version <= MODEL_VERSION:
        raise CheckpointError(f"{path}: unsupported motion model version {version!r} "
                              f"(this emoget reads 1..{MODEL_VERSION})")
    arch, classes, frames, sizes = data.get("arch"), data.get("classes"), data.get("frames"), data.get("sizes")
    _require(arch in ("seed", "temporal"), path, f"unknown arch {arch!r}")
    _require(isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)
             and len(set(classes)) == len(classes), path, "bad class list")
    _require(isinstance(frames, int) and 2 <= frames <= 1000, path, "bad frame count")
    _require(isinstance(sizes, dict) and set(sizes) == {"hidden", "emb_dim", "harmonics"}
             and all(isinstance(v, int) and 1 <= v <= 4096 for v in sizes.values()), path, "bad sizes")
    mean = data.get("neutral_mean")
    _require(isinstance(mean, torch.Tensor) and tuple(mean.shape) == (N_POINTS * 2,), path,
             "bad normalisation")
    scales = [data.get("neutral_scale"), data.get("disp_scale")]
    _require(all(isinstance(s, float) and math.isfinite(s) and s > 0 for s in scales), path, "bad scales")
    state = data.get("state_dict")
    _require(isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()),
             path, "bad state_dict")
    net = _build_net(arch, len(classes), sizes)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the {arch} motion network "
                              f"({str(exc).splitlines()[0][:160]})") from None
    from ..core.device import resolve_device

    net = net.to(resolve_device(device))
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    return MotionModel(arch, classes, frames, sizes, mean.double().numpy(), scales[0], scales[1], net,
                       {k: v for k, v in metrics.items() if isinstance(v, float)})
