"""Training images for `emoget train stylegan`: a folder or a zip, with optional class labels.

Layouts understood (docs/stylegan2.md#dataset):

* any folder tree or zip of images (found recursively, sorted by relative path);
* class labels from **sub-folders** -- ``happy/*.png``, ``sad/*.png`` -> classes
  ``["happy", "sad"]`` -- when every image sits in one of at least two top-level sub-folders;
* an NVlabs-style ``dataset.json`` at the root: ``{"labels": [["00000/img00000000.png", 3], ...]}``
  (int labels, or one-hot rows) or ``{"labels": null}``; an optional ``"class_names"`` list is an
  emoget extension. ``dataset.json`` wins over sub-folders. NVlabs' 1000-image chunk folders
  (``00000/``, ``00001/``...) are never taken for classes.

Every image is untrusted: it is decoded through `core.image_io` (size/bomb limits, EXIF, grey,
16-bit and alpha handling; transparent pixels are composited on white), centre-cropped to a
square and resized (Lanczos) to ``size``. Small datasets (below `cache_bytes` decoded) are decoded
once, up front, so bad files fail before training starts -- one error naming how many there are
and the first ones, so they can all be fixed at once (training on a silently shrunk dataset
would change class balance and data order behind the user's back); big ones are decoded lazily
by the loader workers and a bad file stops training with a one-line error naming it (the last
checkpoint stays valid: fix the file and --resume auto).
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..core.errors import InputError, UsageError
from ..core.image_io import IMAGE_SUFFIXES, LoadedImage, decode_image_bytes, read_image

#: Largest zip member read (bytes): a guard against zip bombs.
MAX_MEMBER_BYTES = 256 * 1024 * 1024
#: Decoded datasets up to this many bytes are kept in memory.
DEFAULT_CACHE_BYTES = 1 << 30
_CHUNK_DIR = re.compile(r"^\d{5}$")


def _is_hidden(rel: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(rel).parts)


def square_resize(loaded: LoadedImage, size: int) -> np.ndarray:
    """Centre-crop to a square and resize (Lanczos) -> uint8 [size, size, 3].

    Transparent pixels are composited on white (emoticon art often has no background)."""
    from PIL import Image

    rgb = loaded.rgb
    if loaded.alpha is not None:
        a = loaded.alpha.astype(np.float32)[..., None] / 255.0
        rgb = (rgb.astype(np.float32) * a + 255.0 * (1.0 - a)).round().astype(np.uint8)
    h, w = rgb.shape[:2]
    if h == w == size:
        return np.ascontiguousarray(rgb)
    side = min(h, w)
    left, top = (w - side) // 2, (h - side) // 2
    img = Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS,
                                      box=(left, top, left + side, top + side))
    return np.asarray(img, dtype=np.uint8)


class _Source:
    """A folder or a zip archive, with names relative to its root (forward slashes)."""

    def __init__(self, path: Path):
        self.path = path
        self.is_zip = path.is_file()
        self._zip: Optional[zipfile.ZipFile] = None
        self._zip_pid: Optional[int] = None
        self.prefix = ""
        if self.is_zip and not zipfile.is_zipfile(path):
            raise InputError(f"{path}: not a folder or a zip archive")

    def _archive(self) -> zipfile.ZipFile:
        # One handle per process: loader workers must not share a file offset.
        if self._zip is None or self._zip_pid != os.getpid():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise InputError(f"{self.path}: cannot open zip archive ({exc})") from None
            self._zip_pid = os.getpid()
        return self._zip

    def __getstate__(self) -> dict:  # picklable for spawned loader workers
        state = dict(self.__dict__)
        state["_zip"] = None
        state["_zip_pid"] = None
        return state

    def list_files(self) -> list[str]:
        if self.is_zip:
            names = [i.filename for i in self._archive().infolist() if not i.is_dir()]
        else:
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]
        names = sorted(n for n in names if not _is_hidden(n))
        # A zip (or folder) whose content all sits in one top folder: descend into it.
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) == 1 and all("/" in n for n in names):
            self.prefix = tops.pop() + "/"
            names = [n[len(self.prefix):] for n in names]
        return names

    def read(self, rel: str) -> bytes:
        name = self.prefix + rel
        where = f"{self.path}:{name}" if self.is_zip else str(self.path / name)
        if self.is_zip:
            try:
                info = self._archive().getinfo(name)
                if info.file_size > MAX_MEMBER_BYTES:
                    raise InputError(f"{where}: file is too large ({info.file_size} bytes)")
                return self._archive().read(info)
            except KeyError:
                raise InputError(f"{where}: no such file in the archive") from None
            except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
                raise InputError(f"{where}: cannot read from the archive ({exc})") from None
        from ..core.files import read_limited

        return read_limited(self.path / name, "file", limit=MAX_MEMBER_BYTES)

    def decode(self, rel: str) -> LoadedImage:
        if self.is_zip:
            return decode_image_bytes(self.read(rel), f"{self.path}:{self.prefix + rel}")
        return read_image(self.path / (self.prefix + rel))


#: Most classes a dataset may declare (a label is a class index; 3e9 would allocate 3e9 rows).
MAX_CLASSES = 10_000
DATASET_JSON = "dataset.json"


def _parse_label(value, where: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{where}: labels must be integers, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"{where}: negative class label {value}")
        if value >= MAX_CLASSES:
            raise InputError(f"{where}: class label {value} is out of range (at most "
                             f"{MAX_CLASSES} classes)")
        return value
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        if len(value) > MAX_CLASSES:
            raise InputError(f"{where}: one-hot label of {len(value)} classes (at most {MAX_CLASSES})")
        arr = np.asarray(value, dtype=np.float64)
        if np.all((arr == 0) | (arr == 1)) and arr.sum() == 1:
            return int(arr.argmax())  # a one-hot row
        raise InputError(f"{where}: only integer (or one-hot) class labels are supported")
    raise InputError(f"{where}: labels must be integers, got {str(value)[:40]!r}")


def dataset_member(rel: str, where: str) -> str:
    """A dataset.json path, normalised to forward slashes; InputError for one that leaves the
    dataset (absolute, a drive letter, or a '..' part): the file names an image *inside* it."""
    name = rel.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if (not name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts
            or "\0" in name):
        raise InputError(f"{where}: path {rel[:80]!r} points outside the dataset; entries must "
                         "be relative paths inside it")
    return "/".join(p for p in parts if p != ".")


@dataclass(frozen=True)
class DatasetIndex:
    """A parsed dataset.json. entries: (relative path, class index) pairs; labelled False for
    ``{"labels": null}``; class_names: one per class, or None when the file gives none."""

    entries: tuple[tuple[str, int], ...]
    labelled: bool
    class_names: Optional[tuple[str, ...]]

    @property
    def n_classes(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        return 1 + max((c for _, c in self.entries), default=-1)


def parse_dataset_json(data: bytes, where: str) -> DatasetIndex:
    """The one dataset.json reader (train's dataset, sample's append): bounded size, nesting
    and numbers (core.files), labels below MAX_CLASSES, paths inside the dataset."""
    from ..core.files import MAX_DATASET_JSON_BYTES, parse_json

    if len(data) > MAX_DATASET_JSON_BYTES:
        raise InputError(f"{where}: file is too large ({len(data)} bytes; the limit is "
                         f"{MAX_DATASET_JSON_BYTES})")
    doc = parse_json(data, where)
    if not isinstance(doc, dict) or "labels" not in doc:
        raise InputError(f"{where}: expected an object with a 'labels' entry")
    raw = doc["labels"]
    if raw is not None and not isinstance(raw, list):
        raise InputError(f"{where}: 'labels' must be a list of [path, label] pairs or null")
    entries = []
    for entry in raw or []:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise InputError(f"{where}: each label must be a [path, label] pair, got {entry!r}"[:200])
        entries.append((dataset_member(entry[0], where), _parse_label(entry[1], where)))
    names = doc.get("class_names")
    if names is not None:
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)
                and len(names) <= MAX_CLASSES):
            raise InputError(f"{where}: 'class_names' must be a list of at most {MAX_CLASSES} "
                             "strings")
        names = tuple(names)
    return DatasetIndex(tuple(entries), raw is not None, names)


def read_dataset_json(folder: str | os.PathLike) -> DatasetIndex:
    """parse_dataset_json of `folder`/dataset.json, read through the bounded reader."""
    from ..core.files import MAX_DATASET_JSON_BYTES, read_limited

    path = Path(folder) / DATASET_JSON
    return parse_dataset_json(read_limited(path, "dataset.json", limit=MAX_DATASET_JSON_BYTES),
                              str(path))


def dataset_json_text(entries, class_names) -> str:
    """The one dataset.json writer's text: NVlabs' {"labels": [[path, class], ...]} plus
    emoget's "class_names"."""
    return json.dumps({"labels": [[str(rel), int(cls)] for rel, cls in entries],
                       "class_names": [str(n) for n in class_names]})


def write_dataset_json(folder: str | os.PathLike, entries, class_names) -> Path:
    """Write `folder`/dataset.json atomically (see dataset_json_text)."""
    from ..core.atomic import write_text_atomic

    return write_text_atomic(Path(folder) / DATASET_JSON, dataset_json_text(entries, class_names))


def _labels_from_json(data: bytes, where: str, images: list[str]):
    """-> (labels int64 [N] or None, class_names or None)."""
    index = parse_dataset_json(data, where)
    if not index.labelled:
        return None, None
    table = dict(index.entries)
    missing = [name for name in images if name not in table]
    if missing:
        raise InputError(f"{where}: no label for {missing[0]} ({len(missing)} image(s) unlabelled)")
    labels = np.asarray([table[name] for name in images], dtype=np.int64)
    n_classes = int(labels.max()) + 1
    names = index.class_names
    if names is not None:
        if len(names) != n_classes:
            raise InputError(f"{where}: 'class_names' must list {n_classes} strings")
    else:
        names = tuple(str(i) for i in range(n_classes))
    return labels, list(names)


def _labels_from_folders(images: list[str]):
    tops = [name.split("/", 1)[0] if "/" in name else None for name in images]
    classes = sorted({t for t in tops if t is not None})
    if any(t is None for t in tops) or len(classes) < 2:
        return None, None
    if all(_CHUNK_DIR.match(c) for c in classes):  # NVlabs 1000-image chunks, not classes
        return None, None
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[t] for t in tops], dtype=np.int64), classes


class ImageDataset:
    """Square training images from a folder or zip.

    ds[i] -> (uint8 [size, size, 3] RGB, label int; -1 when the dataset has no labels).
    Attributes: names (relative paths), labels (int64 [N] or None), class_names, n_classes.
    """

    def __init__(self, path: str | os.PathLike, size: int, *, use_labels: bool = True,
                 cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.path = Path(path)
        self.size = int(size)
        if not self.path.exists():
            raise InputError(f"{self.path}: no such folder or zip file")
        self._source = _Source(self.path)
        files = self._source.list_files()
        self.names = [n for n in files if PurePosixPath(n).suffix.lower() in IMAGE_SUFFIXES]
        if not self.names:
            raise InputError(f"{self.path}: no images found (looked for "
                             f"{', '.join(sorted(IMAGE_SUFFIXES))}, recursively)")
        self.labels: Optional[np.ndarray] = None
        self.class_names: Optional[list[str]] = None
        if use_labels:
            if "dataset.json" in files:
                self.labels, self.class_names = _labels_from_json(
                    self._source.read("dataset.json"), f"{self.path}/dataset.json", self.names)
            else:
                self.labels, self.class_names = _labels_from_folders(self.names)
        self._cache: Optional[np.ndarray] = None
        if len(self.names) * self.size * self.size * 3 <= cache_bytes:
            self._cache = self._decode_all()
        else:
            self._load(0)  # fail early on an unreadable first file

    def _decode_all(self) -> np.ndarray:
        """Every image, decoded now; InputError listing the unreadable ones (all of them counted)."""
        images, bad = [], []
        for i, name in enumerate(self.names):
            try:
                images.append(self._load(i))
            except InputError as exc:
                bad.append((name, str(exc)))
        if len(bad) == 1:
            raise InputError(f"{bad[0][1]}; fix or remove it")
        if bad:
            others = ", ".join(name for name, _ in bad[1:4]) + (", ..." if len(bad) > 4 else "")
            raise InputError(f"{len(bad)} of {len(self.names)} images cannot be read: {bad[0][1]}; "
                             f"also {others}; fix or remove them")
        return np.stack(images)

    @property
    def n_classes(self) -> int:
        return 0 if self.class_names is None else len(self.class_names)

    def __len__(self) -> int:
        return len(self.names)

    def _load(self, index: int) -> np.ndarray:
        return square_resize(self._source.decode(self.names[index]), self.size)

    def image(self, index: int) -> np.ndarray:
        """uint8 [size, size, 3]."""
        return self._cache[index] if self._cache is not None else self._load(index)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        label = -1 if self.labels is None else int(self.labels[index])
        return self.image(index), label

    def class_counts(self) -> list[int]:
        if self.labels is None:
            return []
        return np.bincount(self.labels, minlength=self.n_classes).tolist()

    def describe(self) -> dict:
        return {"path": str(self.path), "images": len(self), "size": self.size,
                "classes": self.class_names, "class_counts": self.class_counts(),
                "cached": self._cache is not None}


class ResumableBatchSampler:
    """Endless batches of indices for one rank, restartable at any sample position.

    Each epoch is torch's `DistributedSampler(seed=seed, epoch=e)` permutation sharded over
    `world` ranks, so a run on W processes sees the same data order as NVlabs/rosinality DDP.
    `start` = samples this rank has already consumed (step * batch): resuming at step k gives
    exactly the batches an uninterrupted run would have drawn.
    """

    def __init__(self, dataset, batch: int, *, rank: int = 0, world: int = 1, seed: int = 0,
                 start: int = 0):
        if batch < 1:
            raise UsageError("batch size must be at least 1")
        self.sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                          seed=seed, drop_last=False)
        self.batch = batch
        self.start = start

    def __iter__(self) -> Iterator[list[int]]:
        per_epoch = len(self.sampler)
        epoch, offset = divmod(self.start, per_epoch)
        pending: list[int] = []
        while True:
            self.sampler.set_epoch(epoch)
            indices = list(self.sampler)[offset:]
            offset = 0
            epoch += 1
            for index in indices:
                pending.append(index)
                if len(pending) == self.batch:
                    yield pending
                    pending = []


class _Guarded:
    """Dataset view for the loader: a bad image comes back as its error message instead of
    raising, because DataLoader workers re-raise errors with their whole traceback as the text."""

    def __init__(self, dataset: ImageDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        try:
            image, label = self.dataset[index]
        except InputError as exc:
            return None, -1, str(exc)
        return image, label, None


def _collate(items):
    errors = [item[2] for item in items if item[2] is not None]
    if errors:
        return None, None, errors[0]
    images = torch.from_numpy(np.stack([item[0] for item in items]))
    labels = torch.as_tensor([item[1] for item in items], dtype=torch.int64)
    return images, labels, None


def _batches(loader) -> Iterator:
    for images, labels, error in loader:
        if error is not None:
            raise InputError(f"{error} (training stopped; the last checkpoint is intact: fix or "
                             "remove the file, then --resume auto)")
        yield images, labels


def batch_iterator(dataset: ImageDataset, batch: int, *, rank: int = 0, world: int = 1,
                   seed: int = 0, start: int = 0, workers: int = 0, pin_memory: bool = False):
    """Endless (images uint8 [B, H, W, 3], labels int64 [B]) batches (see ResumableBatchSampler).

    The loader gets its own torch.Generator so creating it never draws from the global RNG
    (which the training loop saves and restores for exact resumes)."""

    sampler = ResumableBatchSampler(dataset, batch, rank=rank, world=world, seed=seed, start=start)
    if dataset._cache is not None:
        workers = 0  # in-memory: worker processes would only add start-up time
    loader = DataLoader(_Guarded(dataset), batch_sampler=sampler, num_workers=workers, collate_fn=_collate,
                        pin_memory=pin_memory, generator=torch.Generator().manual_seed(seed),
                        persistent_workers=False, prefetch_factor=2 if workers else None)
    return _batches(loader)


def to_float(images, device):
    """uint8 [B, H, W, 3] tensor -> float32 [B, 3, H, W] in [-1, 1] on `device`."""

    x = images.to(device, non_blocking=True).permute(0, 3, 1, 2).to(torch.float32)
    return x.div_(127.5).sub_(1.0).contiguous()


def grid_image(images: np.ndarray, rows: int) -> np.ndarray:
    """uint8 [N, H, W, 3] -> one uint8 grid image, `rows` rows (last row padded black)."""
    n, h, w, c = images.shape
    cols = int(math.ceil(n / rows))
    canvas = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        canvas[r * h:(r + 1) * h, k * w:(k + 1) * w] = images[i]
    return canvas


def draw_synthetic_face(rng: np.random.Generator, kind: int, size: int = 64) -> np.ndarray:
    """One procedurally drawn cartoon face -> uint8 [size, size, 3].

    kind 0: round, warm-skinned head with a smile; kind 1: square, blue-green head with a flat
    mouth. Position, scale, colours and features jitter per call (for smoke tests, benchmarks
    and demos without a real dataset)."""
    from PIL import Image, ImageDraw

    s = size / 64.0
    bg = tuple(int(v) for v in rng.integers(200, 256, 3))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    cx, cy = (32 + rng.normal(0, 2.5, 2)) * s
    r = (21 + rng.normal(0, 1.5)) * s
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == 0:
        skin = tuple(int(v) for v in np.clip(np.array([235, 185, 140]) + rng.normal(0, 12, 3), 0, 255))
        draw.ellipse(box, fill=skin, outline=(90, 60, 40), width=max(1, int(s)))
    else:
        skin = tuple(int(v) for v in np.clip(np.array([110, 190, 200]) + rng.normal(0, 12, 3), 0, 255))
        draw.rectangle(box, fill=skin, outline=(30, 60, 90), width=max(1, int(s)))
    eye_dx, eye_y, eye_r = 8 * s, cy - 5 * s, (3 + rng.uniform(-0.5, 1.0)) * s
    for ex in (cx - eye_dx, cx + eye_dx):
        draw.ellipse((ex - eye_r, eye_y - eye_r, ex + eye_r, eye_y + eye_r), fill=(20, 20, 30))
    mouth_y = cy + 8 * s
    if kind == 0:
        draw.arc((cx - 9 * s, mouth_y - 6 * s, cx + 9 * s, mouth_y + 4 * s), 20, 160,
                 fill=(150, 30, 40), width=max(1, int(2 * s)))
    else:
        draw.line((cx - 8 * s, mouth_y, cx + 8 * s, mouth_y), fill=(40, 20, 60), width=max(1, int(2 * s)))
    return np.asarray(img, dtype=np.uint8)


def write_synthetic_dataset(folder: str | os.PathLike, n_per_class: int = 32, size: int = 64,
                            seed: int = 0, class_names: tuple[str, str] = ("round", "square"),
                            labels: str = "folders") -> Path:
    """Write a two-class dataset of `draw_synthetic_face` PNGs.

    labels="folders": ``folder/<class>/NNNNN.png``; "json": NVlabs layout
    ``folder/00000/img00000000.png`` + dataset.json; "none": flat, unlabelled."""
    from PIL import Image

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    entries = []
    for index in range(2 * n_per_class):
        kind = index % 2
        rgb = draw_synthetic_face(rng, kind, size)
        if labels == "folders":
            rel = f"{class_names[kind]}/{index:05d}.png"
        elif labels == "json":
            rel = f"{index // 1000:05d}/img{index:08d}.png"
        else:
            rel = f"{index:05d}.png"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(folder / rel)
        entries.append([rel, kind])
    if labels == "json":
        write_dataset_json(folder, entries, class_names)
    return folder
