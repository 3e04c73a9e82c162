"""Draw images from (blended) generators into a labelled training dataset.

Layout written (read by `gan.dataset.ImageDataset`, docs/stylegan2.md#dataset, and by NVlabs' loader):

    DATASET/
      dataset.json          {"labels": [["toon/img00000000.png", 0], ...],
                             "class_names": ["toon", ...]}     (class_names: emoget extension)
      toon/img00000000.png  one sub-folder per label, images numbered across the whole dataset
      baby/img00000100.png

Sampling a second time into the same folder appends (new labels get new class indices), so a
conditional dataset can be built one checkpoint at a time. Images are written into a hidden
staging folder first and moved into place only when all of them exist, and dataset.json is
replaced atomically last: a failed run leaves the dataset as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import InputError, OutputError, UsageError
from .dataset import write_dataset_json

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_INDEX = re.compile(r"img(\d+)\.png$")


@dataclass(frozen=True)
class SampleConfig:
    """n images per generator; truncation ψ toward the (class) mean w; batch per forward."""

    n: int = 100
    truncation: float = 1.0
    seed: int = 0
    batch: int = 8
    class_name: Optional[str] = None
    size: Optional[int] = None     # resize the samples (power of two); None = generator size

    def validate(self) -> None:
        if not 1 <= self.n <= 1_000_000:
            raise UsageError(f"--n must be in 1..1000000, got {self.n}")
        if not 0.0 <= self.truncation <= 2.0:
            raise UsageError(f"--truncation must be in 0..2, got {self.truncation}")
        if self.batch < 1:
            raise UsageError("batch must be >= 1")
        if self.size is not None and (self.size < 8 or self.size & (self.size - 1)):
            raise UsageError(f"--size must be a power of two >= 8, got {self.size}")


def check_label(label: str) -> str:
    if not _LABEL.match(label or ""):
        raise UsageError(f"label {label!r} must be a short name of letters, digits, '_', '-', '.'")
    return label


def sample_images(G, config: SampleConfig, *, seed_offset: int = 0,
                  start: int = 0) -> Iterator[np.ndarray]:
    """Yield config.n uint8 RGB [S, S, 3] samples of G (reproducible for a seed).

    Sample k draws from the RNG stream (seed, seed_offset, start + k); `start` = the number of
    images already in the dataset, so appending with the same seed draws new images, not the
    ones already there.
    """

    from .invert import class_index, w_statistics

    idx = class_index(G, config.class_name)
    conditional = int(getattr(G, "n_classes", 0) or 0) > 0
    mu = None
    if config.truncation != 1.0:
        mu, _ = w_statistics(G, 4096, config.class_name, config.seed)
    done = 0
    while done < config.n:
        # grad mode is thread-wide: never hold no_grad across a `yield`, or the caller's
        # code (and everything after an abandoned generator) would run without autograd
        with torch.no_grad():
            b = min(config.batch, config.n - done)
            zs, cs, noises = [], [], []
            for i in range(done, done + b):
                # one RNG stream per sample: the images do not depend on the batch size
                state = np.random.SeedSequence([config.seed, seed_offset, start + i]).generate_state(1)[0]
                gen = torch.Generator(device=G.device).manual_seed(int(state))
                zs.append(torch.randn(1, G.style_dim, device=G.device, generator=gen))
                if conditional:  # a fixed class, or one drawn uniformly per sample
                    cs.append(idx if idx is not None else int(torch.randint(
                        0, G.n_classes, (1,), device=G.device, generator=gen)))
                noises.append([torch.randn(1, 1, m.shape[-2], m.shape[-1], device=G.device, generator=gen)
                               for m in G.stored_noise()])
            z = torch.cat(zs)
            if conditional:
                w = G.mapping(z, torch.tensor(cs, dtype=torch.long, device=G.device))
            else:
                w = G.mapping(z)
            noise = [torch.cat(maps) for maps in zip(*noises)]
            if mu is not None:
                w = mu + config.truncation * (w - mu)
            img = G.synthesis(w, noise=noise).clamp(-1, 1)
            if config.size is not None and config.size != img.shape[-1]:
                img = F.interpolate(img, size=(config.size, config.size), mode="bilinear",
                                    align_corners=False, antialias=config.size < img.shape[-1])
            arr = ((img + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()
        for a in arr:
            yield a
        done += b


def existing_count(out_dir: str | os.PathLike) -> int:
    """Images already listed in the dataset folder's dataset.json (0 for a new folder; a
    malformed file also gives 0 here — `write_dataset` reports it)."""
    try:
        return len(_read_existing(Path(out_dir))[0]) if (Path(out_dir) / "dataset.json").is_file() else 0
    except InputError:
        return 0


def _read_existing(out_dir: Path) -> tuple[list, list[str], Optional[int]]:
    """(labels entries, class_names, image size) of an existing emoget/NVlabs dataset folder,
    read by the one dataset.json reader (gan.dataset.read_dataset_json)."""
    from .dataset import read_dataset_json

    meta = out_dir / "dataset.json"
    try:
        index = read_dataset_json(out_dir)
    except InputError as exc:
        raise InputError(f"cannot append to this dataset: {exc}") from None
    if not index.labelled or index.class_names is None:
        raise InputError(f"{meta}: not a labelled dataset written by `emoget sample` "
                         "(needs 'labels' and 'class_names'); choose an empty output folder")
    entries = [list(e) for e in index.entries]
    size = None
    if entries:
        from PIL import Image

        from ..core.files import MAX_IMAGE_BYTES, check_regular_file

        first = out_dir / entries[0][0]
        check_regular_file(first, "image", limit=MAX_IMAGE_BYTES)
        try:
            with Image.open(first) as img:
                size = img.size[0]
        except (OSError, IndexError, TypeError) as exc:
            raise InputError(f"{out_dir}: cannot read its first image ({exc})") from None
    return entries, list(index.class_names), size


def write_dataset(out_dir: str | os.PathLike,
                  groups: Sequence[tuple[str, Iterable[np.ndarray]]], *,
                  progress: Optional[Callable[..., None]] = None, total: Optional[int] = None) -> dict:
    """Write (label, images) groups into the dataset folder `out_dir` (created or appended).

    Returns a report {path, written, images_total, class_names, class_counts, size}.
    """
    from PIL import Image

    out_dir = Path(out_dir)
    for label, _ in groups:
        check_label(label)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a folder")
    appending = (out_dir / "dataset.json").is_file()
    if out_dir.is_dir() and not appending and any(out_dir.iterdir()):
        raise OutputError(f"{out_dir} is not empty and has no dataset.json; choose an empty or "
                          "new folder (or one written by emoget sample, to append)")
    entries, names, size = _read_existing(out_dir) if appending else ([], [], None)
    next_idx = 1 + max((int(m.group(1)) for e in entries if (m := _INDEX.search(str(e[0])))),
                       default=-1)
    parent = out_dir if appending else out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".emoget-sample-", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    new_entries: list = []
    try:
        done = 0
        for label, images in groups:
            if label not in names:
                names.append(label)
            cls = names.index(label)
            (stage / label).mkdir(exist_ok=True)
            for img in images:
                if size is None:
                    size = img.shape[0]
                if img.shape[:2] != (size, size):
                    raise UsageError(f"samples are {img.shape[0]}px but the dataset holds {size}px "
                                     "images; pass --size to resize")
                rel = f"{label}/img{next_idx:08d}.png"
                Image.fromarray(img).save(stage / rel, format="PNG", compress_level=1)
                new_entries.append([rel, cls])
                next_idx += 1
                done += 1
                if progress is not None:
                    progress(done, total)
        all_entries = entries + new_entries
        if appending:
            for rel, _ in new_entries:
                target = out_dir / rel
                target.parent.mkdir(exist_ok=True)
                os.replace(stage / rel, target)
            write_dataset_json(out_dir, all_entries, names)
        else:
            write_dataset_json(stage, all_entries, names)
            if out_dir.is_dir():
                out_dir.rmdir()  # empty (checked above)
            os.replace(stage, out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write the dataset {out_dir}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    counts = [0] * len(names)
    for _, cls in entries + new_entries:
        counts[int(cls)] += 1
    return {"path": str(out_dir), "written": len(new_entries), "images_total": len(all_entries),
            "class_names": names, "class_counts": counts, "size": size}
