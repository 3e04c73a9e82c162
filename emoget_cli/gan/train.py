"""`emoget train stylegan`: the StyleGAN2 training loop (docs/stylegan2.md#training, #augmentation).

    config = resolve_config(TrainConfig(data="faces/", out="runs/faces", size=256))
    result = train(config, progress=callback)       # -> TrainResult

Schedule per step (rosinality's train.py order): D step (non-saturating logistic loss on
augmented reals/fakes, + AC cross-entropy on reals), lazy R1 every `r1_every` steps (gamma/2 *
penalty * r1_every, gradient w.r.t. the un-augmented reals through the augmentation, adversarial
logit only), G step (non-saturating loss, + AC cross-entropy on the generated images), lazy
path-length regularisation every `pl_every` steps on batch/pl_batch_shrink samples
(weight pl_weight * pl_every, running mean decay pl_decay), then the EMA update of G_ema.

Choices where the references differ (documented here once):

* `batch` is the TOTAL batch over all processes (NVlabs' convention; rosinality's is per GPU).
* EMA: beta = 0.5 ** (batch / (ema_kimg * 1000)) per step -- ADA's half-life in images, so the
  smoothing does not depend on the batch size. ema_kimg = 10 at batch 32 is exactly
  rosinality's fixed 0.5 ** (32 / 10000). Parameters only (buffers are not averaged).
* Adam with the lazy-regularisation ratio c = every / (every + 1): lr * c, betas (0, 0.99 ** c).
* Style mixing: with probability `mixing` the batch uses two latents, switching at one
  crossover index drawn uniformly from [1, n_latent - 1].
* Conditional runs: fake labels are drawn from the dataset's label distribution; G and D are
  conditioned as in `networks.py` (mapping embedding; projection D) and the AC loss weight
  is `ac_weight` (lambda, default 1): D minimises CE on reals, G minimises CE on its fakes (the
  fake-CE term is left out of D's loss, the usual remedy for AC-GAN's diversity collapse).
* Data-parallel runs average gradients across ranks after each backward (see distributed.py).

Resumability: a checkpoint (rosinality layout via `checkpoint.save_checkpoint`, written
atomically) carries, besides g/d/g_ema/optimisers, the step counters, the path-length mean,
the ADA state and every rank's torch/numpy/python RNG states as plain values, so `--resume
auto` after a kill continues exactly as the uninterrupted run would have (data order is a pure
function of seed and step; see dataset.ResumableBatchSampler).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import random
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..core.errors import CheckpointError, InputError, UsageError

AUG_CHOICES = ("ada", "diffaug", "none")
TRAIN_STATE_KEY = "emoget_train_state"
TRAIN_STATE_VERSION = 1
LATEST = "latest.pt"
SNAPSHOT_RE = re.compile(r"^snapshot-(\d+)\.pt$")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; `resolve_config` checks it before any model loads.

    Architecture fields left None come from the resumed checkpoint, else the defaults
    (size 256, style_dim 512, n_mlp 8, channel_multiplier 2, channel_max 512)."""

    data: str
    out: str
    size: Optional[int] = None
    batch: Optional[int] = None        # total over all processes; None: the resumed run's, else 16
    kimg: float = 1000.0               # training length, thousands of real images shown to D
    resume: Optional[str] = None       # checkpoint path, "auto" (latest in out) or None
    reset_progress: bool = False       # resume weights/optimisers but restart at kimg 0
    conditional: bool = False
    aug: str = "ada"
    aug_p: float = 0.0                 # ADA: initial p (fixed when ada_target <= 0)
    ada_target: float = 0.6
    ada_interval: int = 4              # D steps between p updates
    ada_kimg: float = 500.0            # p can go 0 -> 1 in this many kimg
    xflip: bool = False                # mirror the dataset (random x-flips of reals)
    freeze_d: int = 0                  # freeze D's fromRGB + first N resolution blocks
    mixed_precision: bool = False
    snapshot_every: float = 20.0       # kimg between numbered snapshots + sample grids; 0 = end only
    checkpoint_minutes: float = 10.0   # also refresh latest.pt this often (wall clock)
    channel_multiplier: Optional[int] = None
    channel_max: Optional[int] = None
    style_dim: Optional[int] = None
    n_mlp: Optional[int] = None
    r1_gamma: float = 10.0
    r1_every: int = 16
    pl_weight: float = 2.0
    pl_every: int = 4
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    mixing: float = 0.9
    ema_kimg: float = 10.0
    lr: float = 0.002
    ac_weight: float = 1.0
    seed: int = 0
    gpus: int = 1
    device: str = "auto"
    workers: int = 2
    log_every: int = 20                # steps between metrics lines / progress updates
    n_sample: int = 16                 # images in each sample grid

    @property
    def total_steps(self) -> int:
        return max(1, math.ceil(self.kimg * 1000.0 / self.batch - 1e-9))

    @property
    def snapshot_steps(self) -> int:
        """Steps between snapshots (0 = only at the end)."""
        if self.snapshot_every <= 0:
            return 0
        return max(1, round(self.snapshot_every * 1000.0 / self.batch))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainStatus:
    """What the progress callback receives every `log_every` steps."""

    step: int
    total_steps: int
    kimg: float
    total_kimg: float
    img_per_s: float
    eta_s: float
    metrics: dict


@dataclass
class TrainResult:
    out: Path
    steps: int
    kimg: float
    latest: Path
    snapshots: list[Path] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0


Progress = Callable[[TrainStatus], None]
Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# Configuration


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UsageError(message)


_FLOAT_OPTIONS = ("kimg", "aug_p", "ada_target", "ada_kimg", "snapshot_every", "checkpoint_minutes",
                  "r1_gamma", "pl_weight", "pl_decay", "mixing", "ema_kimg", "lr", "ac_weight")


def _validate_numbers(c: TrainConfig) -> None:
    for name in _FLOAT_OPTIONS:  # inf/nan pass the range checks below (or crash the step maths)
        value = getattr(c, name)
        _check(math.isfinite(value), f"--{name.replace('_', '-')} must be a finite number, got {value}")
    _check(c.size is None or (8 <= c.size <= 1024 and c.size & (c.size - 1) == 0),
           f"--size must be a power of two in 8..1024, got {c.size}")
    _check(c.batch is None or c.batch >= 1, f"--batch must be at least 1, got {c.batch}")
    _check(c.gpus >= 1, f"--gpus must be at least 1, got {c.gpus}")
    _check(c.batch is None or c.batch % c.gpus == 0,
           f"--batch {c.batch} must be divisible by --gpus {c.gpus}")
    _check(c.kimg > 0, f"--kimg must be positive, got {c.kimg}")
    _check(c.aug in AUG_CHOICES, f"--aug must be one of {', '.join(AUG_CHOICES)}, got {c.aug!r}")
    _check(0.0 <= c.aug_p <= 1.0, f"--aug-p must be in 0..1, got {c.aug_p}")
    _check(c.ada_target < 1.0, f"--ada-target must be below 1, got {c.ada_target}")
    _check(c.ada_interval >= 1 and c.ada_kimg > 0, "ADA interval and ada_kimg must be positive")
    _check(c.freeze_d >= 0, f"--freeze-d must be >= 0, got {c.freeze_d}")
    _check(c.snapshot_every >= 0, f"--snapshot-every must be >= 0, got {c.snapshot_every}")
    _check(c.checkpoint_minutes > 0, "checkpoint_minutes must be positive")
    for name in ("channel_multiplier", "channel_max", "style_dim", "n_mlp"):
        value = getattr(c, name)
        _check(value is None or value >= 1, f"--{name.replace('_', '-')} must be positive, got {value}")
    _check(c.channel_max is None or c.channel_max >= 4, "--channel-max must be at least 4")
    _check(c.r1_gamma >= 0 and c.pl_weight >= 0 and c.ac_weight >= 0,
           "regulariser and AC weights must be >= 0")
    _check(c.r1_every >= 1 and c.pl_every >= 1 and c.pl_batch_shrink >= 1,
           "regularisation intervals and pl_batch_shrink must be >= 1")
    _check(0.0 <= c.pl_decay <= 1.0, "pl_decay must be in 0..1")
    _check(0.0 <= c.mixing <= 1.0, f"mixing probability must be in 0..1, got {c.mixing}")
    _check(c.ema_kimg > 0 and c.lr > 0, "ema_kimg and lr must be positive")
    _check(c.device in ("auto", "cpu", "cuda") or c.device.startswith("cuda:"),
           f"--device must be auto, cpu or cuda, got {c.device!r}")
    _check(c.workers >= 0 and c.log_every >= 1, "workers must be >= 0 and log_every >= 1")
    _check(1 <= c.n_sample <= 256, f"n_sample must be in 1..256, got {c.n_sample}")


def find_checkpoints(out: Path) -> list[Path]:
    """Checkpoints in a run folder, newest first: latest.pt, then snapshots by step."""
    found = []
    if (out / LATEST).is_file():
        found.append(out / LATEST)
    snaps = sorted(((int(m.group(1)), p) for p in out.glob("snapshot-*.pt")
                    if (m := SNAPSHOT_RE.match(p.name))), reverse=True)
    return found + [p for _, p in snaps]


def _resolve_resume(c: TrainConfig, out: Path) -> tuple[Optional[str], bool]:
    """-> (checkpoint to start from or None, whether it belongs to this run folder).

    A checkpoint of the run in --output continues that run exactly; any other checkpoint is a
    starting point for a new run (fine-tuning: its weights, counters from kimg 0)."""
    if c.resume is None:
        _check(not (out / LATEST).exists(),
               f"{out} already holds a training run ({LATEST}); pass --resume auto to continue "
               "it, or choose another --output")
        return None, False
    # restarting the counters in a run folder would overwrite its snapshots and cut its log
    _check(not (c.reset_progress and (out / LATEST).exists()),
           f"--reset-progress starts a new run at kimg 0, but {out} already holds one ({LATEST}); "
           "choose another --output")
    if c.resume == "auto":
        found = find_checkpoints(out)
        return (str(found[0]), True) if found else (None, False)
    path = Path(c.resume)
    if not path.is_file():
        raise CheckpointError(f"--resume {c.resume}: no such checkpoint file")
    own = path.resolve().parent == out.resolve()
    _check(own or not (out / LATEST).exists(),
           f"{out} already holds another training run ({LATEST}); choose another --output to "
           f"fine-tune from {path.name}")
    return str(path), own


def _read_resume_point(path: str) -> tuple[dict, Optional[int]]:
    """-> (architecture, total batch of the run that wrote it; None without training state)."""
    from .checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    state = ckpt.extras.get(TRAIN_STATE_KEY)
    batch = state.get("batch") if isinstance(state, dict) else None
    return ckpt.architecture, (int(batch) if isinstance(batch, int) and batch >= 1 else None)


def resolve_config(config: TrainConfig) -> TrainConfig:
    """Validate every option and fill the derived ones (no model is built).

    --resume auto becomes the newest checkpoint in --output (or None on a fresh run); architecture
    fields left None are read from that checkpoint, else defaulted; so is `batch` when the run
    continues exactly (a killed run resumes with its own batch). Raises UsageError /
    InputError / CheckpointError with a one-line message."""
    c = config
    _validate_numbers(c)
    data = Path(c.data)
    if not data.exists():
        raise InputError(f"--data {c.data}: no such folder or zip file")
    out = Path(c.out)
    _check(not out.is_file(), f"--output {c.out} is a file; give a folder for the training run")
    resume, own_run = _resolve_resume(c, out)
    # a checkpoint from another folder seeds a new run: its step counter must not carry over
    # (a fine-tune from a base that already reached --kimg would otherwise train nothing)
    reset_progress = c.reset_progress or (resume is not None and not own_run)
    arch = {"size": 256, "style_dim": 512, "n_mlp": 8, "channel_multiplier": 2, "channel_max": 512}
    batch = c.batch
    if resume is not None:
        stored, stored_batch = _read_resume_point(resume)
        if batch is None and not reset_progress:
            batch = stored_batch
        for key in arch:
            given = getattr(c, key)
            if given is not None and int(given) != int(stored[key]):
                raise UsageError(f"--{key.replace('_', '-')} {given} does not match the checkpoint "
                                 f"{Path(resume).name} ({key} {stored[key]})")
            arch[key] = int(stored[key])
    else:
        arch.update({k: getattr(c, k) for k in arch if getattr(c, k) is not None})
    n_blocks = int(math.log2(arch["size"])) - 2
    _check(c.freeze_d <= n_blocks, f"--freeze-d {c.freeze_d} is more than the discriminator's "
                                   f"{n_blocks} blocks at size {arch['size']}")
    batch = 16 if batch is None else batch
    _check(batch % c.gpus == 0, f"--batch {batch} must be divisible by --gpus {c.gpus}")
    return dataclasses.replace(c, resume=resume, batch=batch, reset_progress=reset_progress, **arch)


# ---------------------------------------------------------------------------------------------
# Plain-value RNG states (checkpoints are loaded with weights_only=True)


def capture_rng(device) -> dict:
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state().tolist(),
             "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]),
                       float(np_state[4])],
             "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
             "cuda": None}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device).tolist()
    return state


def restore_rng(state: dict, device) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(torch.tensor(state["cuda"], dtype=torch.uint8), device)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# Entry point


def train(config: TrainConfig, *, progress: Optional[Progress] = None,
          log: Optional[Log] = None) -> TrainResult:
    """Run (or resume) a training run; returns when `kimg` is reached.

    `progress(TrainStatus)` is called every `log_every` steps on the main process; `log(str)`
    gets one-line notes (resume point, dataset summary). With gpus > 1 (and not already under
    torchrun) it spawns `gpus` processes itself."""
    from .distributed import DistInfo, init_from_env, launched_by_torchrun

    config = resolve_config(config)
    device_kind = "cuda" if config.device.startswith("cuda") or (
        config.device == "auto" and _cuda_available()) else "cpu"
    if launched_by_torchrun():
        info = init_from_env(device_kind)
        return run_training(info, config, progress if info.is_main else None,
                            log if info.is_main else None)
    if config.gpus > 1:
        return _spawn_training(config, device_kind, progress, log)
    return run_training(DistInfo(), config, progress, log)


def _cuda_available() -> bool:
    return torch.cuda.is_available()


def _spawn_training(config: TrainConfig, device_kind: str, progress: Optional[Progress],
                    log: Optional[Log]) -> TrainResult:
    """Start `gpus` processes; rank 0 sends its progress/log events back through a queue."""

    from .distributed import spawn_context

    if device_kind == "cuda":
        _check(torch.cuda.device_count() >= config.gpus,
               f"--gpus {config.gpus} asked for, but only {torch.cuda.device_count()} GPU(s) found")
    queue = mp.get_context("spawn").SimpleQueue()
    started = time.time()
    with spawn_context(_rank_entry, config.gpus, device_kind, (config, queue)) as ctx:
        done = False
        def drain() -> None:
            while not queue.empty():
                kind, payload = queue.get()
                if kind == "progress" and progress is not None:
                    progress(payload)
                elif kind == "log" and log is not None:
                    log(payload)
                elif kind == "error":  # leaving the block terminates the other ranks
                    raise _rebuild_error(payload)

        while not done:
            try:
                done = ctx.join(timeout=0.2)
            except mp.ProcessRaisedException as exc:
                drain()  # a user-facing error sent by any rank wins over the crash it caused
                lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
                raise RuntimeError(f"a training process failed: {lines[-1] if lines else exc}") from None
            except mp.ProcessExitedException as exc:
                drain()
                raise RuntimeError(f"a training process died: {exc}") from None
            drain()
    return _result_from_disk(Path(config.out), time.time() - started)


def _rank_entry(info, config: TrainConfig, queue) -> None:
    """Runs in each spawned process. User-facing errors (from any rank: a bad image may sit in
    any rank's shard) travel back as (class name, message)."""
    from ..core.errors import EmogetError

    def send(kind):
        return (lambda payload: queue.put((kind, payload))) if info.is_main else None

    try:
        run_training(info, config, send("progress"), send("log"))
    except EmogetError as exc:
        queue.put(("error", (type(exc).__name__, str(exc))))
        if not info.is_main:
            raise  # a failed exit, so the parent stops the group even if rank 0 is blocked


def _rebuild_error(payload) -> Exception:
    from ..core import errors

    name, message = payload
    cls = getattr(errors, name, errors.EmogetError)
    return cls(message)


def _result_from_disk(out: Path, seconds: float) -> TrainResult:
    from .checkpoint import load_checkpoint

    latest = out / LATEST
    state = load_checkpoint(latest).extras.get(TRAIN_STATE_KEY, {})
    metrics = {}
    log_path = out / "metrics.jsonl"
    if log_path.is_file():
        lines = [ln for ln in log_path.read_text().splitlines() if ln.strip()]
        metrics = json.loads(lines[-1]) if lines else {}
    snaps = [p for p in find_checkpoints(out) if p.name != LATEST]
    return TrainResult(out, int(state.get("step", 0)), state.get("cur_nimg", 0) / 1000.0, latest,
                       sorted(snaps), metrics, seconds)


def run_training(info, config: TrainConfig, progress: Optional[Progress] = None,
                 log: Optional[Log] = None) -> TrainResult:
    """One process's training loop (rank `info.rank` of `info.world`)."""

    trainer = Trainer(info, config, log=log)
    try:
        with torch.enable_grad():  # whatever grad mode the caller's thread is in
            return trainer.fit(progress)
    finally:
        trainer.close()


# ---------------------------------------------------------------------------------------------
# The trainer


class Trainer:
    """Holds the networks, optimisers, data stream and counters of one process."""

    def __init__(self, info, config: TrainConfig, *, log: Optional[Log] = None):
        from ..core.device import resolve_device
        from .dataset import ImageDataset
        from .distributed import local_device

        self.info = info
        self.c = config
        self.log = log or (lambda message: None)
        self.out = Path(config.out)
        self.device = local_device(resolve_device(config.device), info)
        if config.batch % info.world:
            raise UsageError(f"--batch {config.batch} must be divisible by the {info.world} processes")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True
        self.batch = config.batch // info.world
        self.dataset = ImageDataset(config.data, config.size, use_labels=config.conditional)
        if config.conditional and self.dataset.n_classes == 0:
            raise UsageError(f"--conditional needs class labels, but {config.data} has none: put "
                             "each class in its own sub-folder or add a dataset.json")
        self.n_classes = self.dataset.n_classes if config.conditional else 0
        self.step = 0
        self.resumed_nimg = 0  # images shown when the resumed checkpoint was written
        self.pl_mean = 0.0
        self._stop = threading.Event()
        self._build()
        self._load_or_init()
        from .dataset import batch_iterator

        self.batches = batch_iterator(self.dataset, self.batch, rank=info.rank, world=info.world,
                                      seed=config.seed, start=self.step * self.batch,
                                      workers=config.workers, pin_memory=self.device.type == "cuda")

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        from .augment import make_augment
        from .distributed import DataParallelGrads

        c = self.c
        seed_all(c.seed)  # identical initial weights on every rank and every run
        from .networks import Discriminator, Generator

        self.G = Generator(c.size, c.style_dim, c.n_mlp, c.channel_multiplier,
                           n_classes=self.n_classes, channel_max=c.channel_max).to(self.device)
        self.D = Discriminator(c.size, c.channel_multiplier, n_classes=self.n_classes,
                               channel_max=c.channel_max).to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.G_ema.requires_grad_(False)
        self.G.class_names = self.G_ema.class_names = self.dataset.class_names if self.n_classes else None
        self.frozen = self._frozen_d_params()
        g_ratio = c.pl_every / (c.pl_every + 1) if c.pl_weight > 0 else 1.0
        d_ratio = c.r1_every / (c.r1_every + 1) if c.r1_gamma > 0 else 1.0
        self.g_optim = torch.optim.Adam(self.G.parameters(), lr=c.lr * g_ratio,
                                        betas=(0.0, 0.99 ** g_ratio), eps=1e-8)
        self.d_optim = torch.optim.Adam(self.D.parameters(), lr=c.lr * d_ratio,
                                        betas=(0.0, 0.99 ** d_ratio), eps=1e-8)
        self.ema_beta = 0.5 ** (c.batch / (c.ema_kimg * 1000.0))
        fixed = c.aug == "ada" and c.ada_target <= 0
        self.augment = make_augment(c.aug, p=c.aug_p, target=c.ada_target, interval=c.ada_interval,
                                    ada_kimg=c.ada_kimg, fixed=fixed)
        self.sync_g = DataParallelGrads(self.G.parameters(), self.info)
        self.sync_d = DataParallelGrads(self.D.parameters(), self.info)
        self._setup_precision()
        if self.n_classes:
            self.label_pool = torch.as_tensor(self.dataset.labels, device=self.device)

    def _frozen_d_params(self) -> set:
        """Freeze-D: D's fromRGB layer and its first `freeze_d` (highest-resolution) blocks."""
        frozen: set = set()
        if self.c.freeze_d > 0:
            for module in list(self.D.convs)[: self.c.freeze_d + 1]:
                for p in module.parameters():
                    p.requires_grad_(False)
                    frozen.add(p)
        return frozen

    def _setup_precision(self) -> None:
        self.amp_dtype = None
        self.scalers = None
        if not self.c.mixed_precision:
            return
        if self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            self.amp_dtype = torch.float16  # fp16 needs loss scaling against underflow
            self.scalers = {"g": torch.amp.GradScaler("cuda"), "d": torch.amp.GradScaler("cuda")}
        else:
            self.amp_dtype = torch.bfloat16

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # -- resume / fine-tune ---------------------------------------------------------------------
    def _load_or_init(self) -> None:
        from .distributed import broadcast_module, rank_seed

        c = self.c
        if c.resume is None:
            seed_all(rank_seed(c.seed, self.info))
            self.log(f"training from scratch: {self._dataset_line()}")
            return
        from .checkpoint import load_checkpoint

        ckpt = load_checkpoint(c.resume)
        state = ckpt.extras.get(TRAIN_STATE_KEY)
        exact = isinstance(state, dict) and not c.reset_progress
        self._load_weights(ckpt, strict=exact)
        broadcast_module(self.G, self.info)
        broadcast_module(self.D, self.info)
        broadcast_module(self.G_ema, self.info)
        if exact:
            self._restore_state(state, ckpt)
            self.log(f"resumed {c.resume} at kimg {self.step * c.batch / 1000:.3f} "
                     f"(step {self.step}): {self._dataset_line()}")
        else:
            seed_all(rank_seed(c.seed, self.info))
            self.log(f"fine-tuning from {c.resume}: {self._dataset_line()}")

    def _dataset_line(self) -> str:
        ds = self.dataset
        classes = f", {ds.n_classes} classes" if self.n_classes else ""
        return f"{len(ds)} images at {ds.size}px{classes}"

    def _load_weights(self, ckpt, *, strict: bool) -> None:
        """Copy g/d/g_ema (+ optimisers when everything fits) from a checkpoint."""
        arch = ckpt.architecture
        stored = int(arch.get("n_classes", 0))
        if stored != self.n_classes and strict:
            hint = ("add --conditional" if stored and not self.c.conditional
                    else "or use --reset-progress to fine-tune from it")
            raise CheckpointError(f"{Path(self.c.resume).name} has {stored} classes, the run "
                                  f"has {self.n_classes} ({hint})")
        self._check_class_names(ckpt, strict)
        g_state = ckpt.g if ckpt.g is not None else ckpt.g_ema
        exact_g = _fit(self.G, g_state, "g", strict)
        exact_ema = _fit(self.G_ema, ckpt.g_ema if ckpt.g_ema is not None else g_state,
                                   "g_ema", strict)
        exact_d = ckpt.d is not None and _fit(self.D, ckpt.d, "d", strict)
        if ckpt.d is None:
            self.log("the checkpoint has no discriminator: D starts from random weights")
        skipped = []
        if exact_g and ckpt.g_optim is not None:
            self.g_optim.load_state_dict(ckpt.g_optim)
        else:
            skipped.append("G")
        if exact_d and ckpt.d_optim is not None:
            self.d_optim.load_state_dict(ckpt.d_optim)
        else:
            skipped.append("D")
        if strict and skipped:
            raise CheckpointError(f"{Path(self.c.resume).name} lacks optimiser states for "
                                  f"{' and '.join(skipped)}; cannot resume exactly "
                                  "(use --reset-progress to fine-tune from it)")
        if not (exact_g and exact_ema):
            self.log("some generator weights did not fit and start from random values "
                     "(e.g. the class embedding of a conditional run)")
        for opt in (self.g_optim, self.d_optim):  # the run's learning rates win
            for group, lr, betas in zip(opt.param_groups, *self._opt_hparams(opt)):
                group["lr"], group["betas"] = lr, betas

    def _check_class_names(self, ckpt, strict: bool) -> None:
        """Class i must mean the same thing in the checkpoint and the dataset: a renamed or
        added folder re-sorts the classes, and the label embeddings would silently swap."""
        stored, ours = ckpt.class_names, self.dataset.class_names
        if not (self.n_classes and stored and len(stored) == self.n_classes) or stored == ours:
            return
        message = (f"{Path(self.c.resume).name} was trained on classes {', '.join(stored)}; the "
                   f"dataset has {', '.join(ours)}")
        if strict:
            raise CheckpointError(message + " (rename the folders back, or fine-tune with "
                                  "--reset-progress)")
        self.log(message + ": class embeddings are reused by index")

    def _opt_hparams(self, opt):
        c = self.c
        if opt is self.g_optim:
            ratio = c.pl_every / (c.pl_every + 1) if c.pl_weight > 0 else 1.0
        else:
            ratio = c.r1_every / (c.r1_every + 1) if c.r1_gamma > 0 else 1.0
        return [c.lr * ratio], [(0.0, 0.99 ** ratio)]

    def _restore_state(self, state: dict, ckpt) -> None:
        from .distributed import rank_seed

        if int(state.get("version", 0)) > TRAIN_STATE_VERSION:
            raise CheckpointError("the checkpoint's training state comes from a newer emoget")
        stored_batch = int(state.get("batch", self.c.batch))
        self.resumed_nimg = int(state.get("cur_nimg", int(state["step"]) * stored_batch))
        if stored_batch == self.c.batch:
            self.step = int(state["step"])
        else:  # progress is counted in images: keep kimg, re-express it in steps of the new batch
            self.step = self.resumed_nimg // self.c.batch
            self.log(f"--batch {self.c.batch} differs from the checkpoint's {stored_batch}: "
                     f"continuing at kimg {self.step * self.c.batch / 1000:g}")
        self.pl_mean = float(state["pl_mean"])
        if hasattr(self.augment, "load_state_dict") and state.get("augment"):
            self.augment.load_state_dict(state["augment"])
        if self.scalers and state.get("scalers"):
            for name, scaler in self.scalers.items():
                scaler.load_state_dict(state["scalers"][name])
        rng = state.get("rng") or []
        if len(rng) == self.info.world and int(state.get("batch", -1)) == self.c.batch:
            restore_rng(rng[self.info.rank], self.device)
        else:  # another process count or batch: continue reproducibly, not identically
            seed_all(rank_seed(self.c.seed + self.step, self.info))
            self.log("process count or batch changed since the checkpoint: the random stream "
                     "restarts (training continues, but not bit-identically)")

    # -- one training step ----------------------------------------------------------------------
    def _requires_grad(self, module, flag: bool) -> None:
        for p in module.parameters():
            if p not in self.frozen:
                p.requires_grad_(flag)

    def _fake_labels(self, n: int):
        if not self.n_classes:
            return None
        return self.label_pool[torch.randint(len(self.label_pool), (n,), device=self.device)]

    def generate(self, n: int, labels):
        """-> (images [n, 3, H, W], w_plus [n, n_latent, S]) from random z, style mixing and
        per-sample noise, all drawn from the global RNG."""

        G = self.G
        mix = self.c.mixing > 0 and float(torch.rand(())) < self.c.mixing
        z = torch.randn(2 if mix else 1, n, G.style_dim, device=self.device)
        c = None if labels is None else labels.repeat(z.shape[0])
        w = G.mapping(z.reshape(-1, G.style_dim), c).reshape(z.shape[0], n, 1, G.style_dim)
        w_plus = w[0].repeat(1, G.n_latent, 1)
        if mix:
            cut = int(torch.randint(1, G.n_latent, ()))
            w_plus = torch.cat([w_plus[:, :cut], w[1].repeat(1, G.n_latent - cut, 1)], dim=1)
        return G.synthesis(w_plus, noise="random"), w_plus

    def _discriminate(self, images, labels, with_classes: bool = False):
        images = self.augment(images)
        if with_classes and self.n_classes:
            logits, classes = self.D.forward_with_classes(images, labels)
            return logits.float(), classes.float()
        return self.D(images, labels).float(), None

    def _backward(self, loss, optim, sync, scaler_name: Optional[str]) -> None:
        scaler = self.scalers[scaler_name] if (self.scalers and scaler_name) else None
        if scaler is not None:
            scaler.scale(loss).backward()
            sync()
            scaler.step(optim)
            scaler.update()
        else:
            loss.backward()
            sync()
            optim.step()

    def d_step(self, reals, labels, stats: dict) -> None:
        from .losses import class_accuracy, class_loss, d_logistic_loss

        self._requires_grad(self.G, False)
        self._requires_grad(self.D, True)
        self.d_optim.zero_grad(set_to_none=True)
        fake_labels = self._fake_labels(reals.shape[0])
        with self.autocast():
            with torch.no_grad():
                fakes, _ = self.generate(reals.shape[0], fake_labels)
            fake_logits, _ = self._discriminate(fakes, fake_labels)
            real_logits, real_classes = self._discriminate(reals, labels, with_classes=True)
        loss = d_logistic_loss(real_logits, fake_logits)
        if real_classes is not None:
            ac = class_loss(real_classes, labels)
            loss = loss + self.c.ac_weight * ac
            stats["ac_loss"] = float(ac.detach())
            stats["ac_acc"] = class_accuracy(real_classes, labels)
        self._backward(loss, self.d_optim, self.sync_d, "d")
        stats["d_loss"] = float(loss.detach())
        stats["real_logit"] = float(real_logits.detach().mean())
        stats["fake_logit"] = float(fake_logits.detach().mean())
        self._ada_update(real_logits)

    def _ada_update(self, real_logits) -> None:
        from .augment import AdaAugment
        from .distributed import all_reduce_sum

        aug = self.augment
        if not isinstance(aug, AdaAugment):
            return
        aug.accumulate(real_logits)
        if aug.due():
            totals = torch.tensor([aug.sign_sum, aug.count], dtype=torch.float64, device=self.device)
            all_reduce_sum(totals, self.info)
            aug.adjust(float(totals[0]), float(totals[1]))

    def d_regularize(self, reals, labels, stats: dict) -> None:
        from .losses import r1_penalty

        c = self.c
        self.d_optim.zero_grad(set_to_none=True)
        reals = reals.detach().requires_grad_(True)
        logits, _ = self._discriminate(reals, labels)  # fp32: R1 needs accurate gradients
        penalty = r1_penalty(logits, reals)
        (penalty * (c.r1_gamma / 2 * c.r1_every)).backward()
        self.sync_d()
        self.d_optim.step()
        stats["r1"] = float(penalty.detach())

    def g_step(self, n: int, stats: dict) -> None:
        from .losses import class_loss, g_nonsaturating_loss

        self._requires_grad(self.G, True)
        self._requires_grad(self.D, False)
        self.g_optim.zero_grad(set_to_none=True)
        labels = self._fake_labels(n)
        with self.autocast():
            fakes, _ = self.generate(n, labels)
            logits, classes = self._discriminate(fakes, labels, with_classes=True)
        loss = g_nonsaturating_loss(logits)
        if classes is not None:
            ac = class_loss(classes, labels)
            loss = loss + self.c.ac_weight * ac
            stats["g_ac_loss"] = float(ac.detach())
        self._backward(loss, self.g_optim, self.sync_g, "g")
        stats["g_loss"] = float(loss.detach())

    def g_regularize(self, stats: dict) -> None:
        from .distributed import all_reduce_mean
        from .losses import path_length_penalty, path_lengths

        c = self.c
        self.g_optim.zero_grad(set_to_none=True)
        n = max(1, self.batch // c.pl_batch_shrink)
        fakes, w_plus = self.generate(n, self._fake_labels(n))
        lengths = path_lengths(fakes, w_plus)
        local = lengths.mean()
        world_mean = float(all_reduce_mean(local.detach().reshape(1).double(), self.info))
        # value: the mean over all processes (one running mean on every rank); gradient: this
        # rank's batch mean, which the gradient averaging turns into the global one
        batch_mean = local + (world_mean - local.detach())
        penalty, pl_mean = path_length_penalty(lengths, self.pl_mean, c.pl_decay, batch_mean)
        (penalty * (c.pl_weight * c.pl_every)).backward()
        self.sync_g()
        self.g_optim.step()
        self.pl_mean = float(pl_mean.detach().float())
        stats["pl_penalty"] = float(penalty.detach())
        stats["path_length"] = world_mean

    def update_ema(self) -> None:
        with torch.no_grad():
            ema = list(self.G_ema.parameters())
            torch._foreach_lerp_(ema, [p.detach() for p in self.G.parameters()], 1.0 - self.ema_beta)

    def train_step(self) -> dict:
        """One full iteration (D, lazy R1, G, lazy path length, EMA) -> scalar stats."""
        from .augment import xflip
        from .dataset import to_float

        c = self.c
        images, labels = next(self.batches)
        reals = to_float(images, self.device)
        if c.xflip:
            reals = xflip(reals)
        labels = labels.to(self.device) if self.n_classes else None
        stats: dict = {}
        self.d_step(reals, labels, stats)
        if c.r1_gamma > 0 and self.step % c.r1_every == 0:
            self.d_regularize(reals, labels, stats)
        self.g_step(reals.shape[0], stats)
        if c.pl_weight > 0 and self.step % c.pl_every == 0:
            self.g_regularize(stats)
        self.update_ema()
        self.step += 1
        return stats

    # -- outputs ---------------------------------------------------------------------------------
    def training_state(self) -> dict:
        """Counters, ADA state and every rank's RNG states, as plain values (collective call)."""
        from .distributed import gather_objects

        rng = gather_objects(capture_rng(self.device), self.info)
        return {"version": TRAIN_STATE_VERSION, "step": self.step,
                "cur_nimg": self.step * self.c.batch, "batch": self.c.batch,
                "world": self.info.world, "pl_mean": self.pl_mean,
                "augment": self.augment.state_dict() if hasattr(self.augment, "state_dict") else None,
                "scalers": ({k: _plain(s.state_dict()) for k, s in self.scalers.items()}
                            if self.scalers else None),
                "rng": rng}

    def save(self, path: Path, state: dict) -> None:
        from .checkpoint import Checkpoint, save_checkpoint

        gen = torch.Generator(self.device).manual_seed(0)  # not the training RNG
        latent_avg = self.G_ema.mean_latent(4096, generator=gen)
        ckpt = Checkpoint.from_modules(
            self.G_ema, g=self.G, d=self.D, g_optim=self.g_optim, d_optim=self.d_optim,
            class_names=self.dataset.class_names if self.n_classes else None,
            training=self.options(), args=self._rosinality_args(), latent_avg=latent_avg,
            extras={TRAIN_STATE_KEY: state, "ada_aug_p": float(getattr(self.augment, "p", 0.0))})
        save_checkpoint(ckpt, path)

    def _rosinality_args(self) -> dict:
        c = self.c
        return {"path": c.data, "arch": "stylegan2", "iter": c.total_steps, "batch": self.batch,
                "n_sample": c.n_sample, "size": c.size, "r1": c.r1_gamma,
                "path_regularize": c.pl_weight, "path_batch_shrink": c.pl_batch_shrink,
                "d_reg_every": c.r1_every, "g_reg_every": c.pl_every, "mixing": c.mixing,
                "ckpt": c.resume, "lr": c.lr, "channel_multiplier": c.channel_multiplier,
                "augment": c.aug == "ada", "augment_p": c.aug_p, "ada_target": c.ada_target,
                "ada_length": int(c.ada_kimg * 1000), "ada_every": c.ada_interval,
                "distributed": self.info.enabled, "latent": c.style_dim, "n_mlp": c.n_mlp,
                "start_iter": self.step}

    def options(self) -> dict:
        """training_options.json: the config plus what was derived from it."""
        c = self.c
        return {"config": c.to_dict(), "total_steps": c.total_steps, "world_size": self.info.world,
                "batch_per_process": self.batch, "ema_beta": self.ema_beta,
                "g_lr": self.g_optim.param_groups[0]["lr"],
                "g_betas": list(self.g_optim.param_groups[0]["betas"]),
                "d_lr": self.d_optim.param_groups[0]["lr"],
                "d_betas": list(self.d_optim.param_groups[0]["betas"]),
                "mixed_precision": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else None,
                "dataset": self.dataset.describe(), "n_classes": self.n_classes,
                "device": str(self.device)}

    def sample_grid(self, path: Path) -> None:
        """Fixed latents through G_ema (constant noise), written as one PNG grid."""

        from ..core.image_io import write_image
        from .dataset import grid_image

        n, k = self.c.n_sample, self.n_classes
        gen = torch.Generator(self.device).manual_seed(self.c.seed + 12345)
        z = torch.randn(n, self.G_ema.style_dim, device=self.device, generator=gen)
        rows = max(1, int(math.sqrt(n)))
        labels = None
        if k and n % k == 0:  # one row per class
            rows = k
            labels = torch.arange(n, device=self.device) // (n // k)
        elif k:
            labels = torch.arange(n, device=self.device) % k
        with torch.no_grad():
            w = self.G_ema.mapping(z, labels)
            imgs = torch.cat([self.G_ema.synthesis(w[i:i + 8]) for i in range(0, n, 8)])
        arr = ((imgs.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        write_image(path, grid_image(arr, rows))

    def write_reals(self) -> None:
        from ..core.image_io import write_image
        from .dataset import grid_image

        n = min(self.c.n_sample, len(self.dataset))
        picks = np.linspace(0, len(self.dataset) - 1, n).round().astype(int)  # spread over classes
        arr = np.stack([self.dataset.image(int(i)) for i in picks])
        write_image(self.out / "reals.png", grid_image(arr, max(1, int(math.sqrt(n)))))

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, progress: Optional[Progress]) -> TrainResult:
        from ..core.atomic import ensure_parent, write_text_atomic

        c, main = self.c, self.info.is_main
        total = c.total_steps
        if main:
            ensure_parent(self.out / "x")
            _remove_stale_temps(self.out)
            write_text_atomic(self.out / "training_options.json",
                              json.dumps(self.options(), indent=2, default=str) + "\n")
            self.metrics = MetricsLog(self.out / "metrics.jsonl", self.resumed_nimg / 1000.0)
            if self.step == 0:
                self.write_reals()
                self.sample_grid(self.out / "samples" / "fakes000000.png")
        started = tick_time = last_ckpt = time.time()
        first_step = tick_step = self.step
        sums: dict = {}
        counts: dict = {}
        snapshots: list[Path] = []
        last: dict = {}
        img_s = 0.0
        with self._graceful_stop():
            while self.step < total:
                for k, v in self.train_step().items():
                    sums[k] = sums.get(k, 0.0) + v
                    counts[k] = counts.get(k, 0) + 1
                now = time.time()
                snap = bool(c.snapshot_steps) and self.step % c.snapshot_steps == 0
                due = False
                if self.step % c.log_every == 0 or self.step == total or snap:
                    img_s = (self.step - tick_step) * c.batch / max(now - tick_time, 1e-9)
                    last = self._log_line(sums, counts, img_s, now - started)
                    tick_time, tick_step, sums, counts = now, self.step, {}, {}
                    due = self._agree((now - last_ckpt) / 60.0 >= c.checkpoint_minutes)
                if progress is not None:  # every step; metrics refresh at log ticks
                    rate = img_s or (self.step - first_step) * c.batch / max(now - started, 1e-9)
                    progress(TrainStatus(self.step, total, self.step * c.batch / 1000,
                                         total * c.batch / 1000, rate,
                                         (total - self.step) * c.batch / max(rate, 1e-9), last))
                stop = self._stop.is_set()  # only ever set on single-process runs
                if snap or due or stop or self.step == total:
                    snapshots += self._checkpoint(snapshot=snap or self.step == total)
                    last_ckpt = time.time()
                if stop:
                    raise KeyboardInterrupt
        return TrainResult(self.out, self.step, self.step * c.batch / 1000, self.out / LATEST,
                           snapshots, last, time.time() - started)

    def _agree(self, flag: bool) -> bool:
        """Rank 0's decision, on every rank (so collective checkpoint writes line up)."""

        if not self.info.enabled:
            return flag

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.broadcast(t, src=0)
        return bool(t.item())

    def _log_line(self, sums: dict, counts: dict, img_s: float, elapsed: float) -> dict:
        line = {"step": self.step, "kimg": round(self.step * self.c.batch / 1000, 4),
                "time_s": round(elapsed, 2), "img_per_s": round(img_s, 3)}
        line.update({k: sums[k] / counts[k] for k in sorted(sums)})
        line["pl_mean"] = self.pl_mean
        line["ada_p"] = float(getattr(self.augment, "p", 0.0))
        if self.info.is_main:
            self.metrics.write(line)
        return line

    def _checkpoint(self, snapshot: bool) -> list[Path]:
        """latest.pt (+ a numbered snapshot and a sample grid); only rank 0 writes."""
        state = self.training_state()  # collective: every rank takes part
        self._check_replicas()
        if not self.info.is_main:
            return []
        written = []
        self.save(self.out / LATEST, state)
        if snapshot:
            path = self.out / f"snapshot-{self.step:06d}.pt"
            self.save(path, state)
            self.sample_grid(self.out / "samples" / f"fakes{self.step:06d}.png")
            written.append(path)
        return written

    def _check_replicas(self) -> None:
        """Data-parallel safety net: every rank must hold the same G and D (same averaged
        gradients, same optimiser steps). One float64 checksum per network and checkpoint."""
        if not self.info.enabled:
            return
        from .distributed import gather_objects

        sums = [float(sum(p.detach().double().sum() for p in m.parameters())) for m in (self.G, self.D)]
        if any(other != sums for other in gather_objects(sums, self.info)):
            raise RuntimeError("data-parallel replicas diverged (gradient averaging failed)")

    @contextlib.contextmanager
    def _graceful_stop(self):
        """Single process: Ctrl-C / SIGTERM finish the current step and write latest.pt first."""
        if self.info.enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}

        def handler(signum, frame):
            if self._stop.is_set():  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def close(self) -> None:
        self.batches = None


def _remove_stale_temps(out: Path) -> None:
    """Temp files of writes cut short by a kill (atomic_path names them .<stem>.*.tmp<suffix>):
    checkpoints, metrics/options rewrites, image grids."""
    patterns = (".latest.*.tmp.pt", ".snapshot-*.tmp.pt", ".metrics.*.tmp.jsonl",
                ".training_options.*.tmp.json", ".reals.*.tmp.png", "samples/.fakes*.tmp.png")
    for pattern in patterns:
        for path in out.glob(pattern):
            with contextlib.suppress(OSError):
                path.unlink()


def _plain(value: Any) -> Any:
    """GradScaler state (floats/ints, maybe 0-d tensors) -> plain values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return value


def _fit(module, state: dict, name: str, strict: bool) -> bool:
    """checkpoint.fit_state_dict: exact for a resume (strict), partial for fine-tuning."""
    from .checkpoint import fit_state_dict

    return fit_state_dict(module, state, name, partial=not strict)


class MetricsLog:
    """metrics.jsonl: one JSON object per log tick. On resume, lines past the checkpoint's kimg
    (written after it, then lost with the kill) are dropped so the log matches the weights.
    (kimg, not step: a resume with another --batch renumbers the steps.)"""

    def __init__(self, path: Path, kimg: float):
        from ..core.atomic import write_text_atomic

        self.path = path
        if path.is_file():
            kept = []
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    if float(json.loads(line).get("kimg", 0.0)) <= kimg + 5e-5:  # 4-decimal kimg
                        kept.append(line)
                except (json.JSONDecodeError, AttributeError):
                    continue  # a line cut by a kill
            write_text_atomic(path, "".join(ln + "\n" for ln in kept))

    def write(self, line: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
