"""The catalogue of public checkpoints and `emoget weights fetch`: download, check, pin, install.

    cat = load_catalogue()                                   # weights/catalogue.yaml
    result = fetch(cat.get("ffhq"), accept_licence=True)     # -> FetchResult
    built = build_recipes(cat)                               # painting-gan once both are here

What a fetch enforces (size and resolution are informational: a mismatch is only a warning):

1. the licence: a non-commercial one needs `accept_licence` (or a yes from `confirm`);
2. the hash: the catalogue's sha256 when published, else the torch-hub prefix of the file name,
   and always the hash pinned in the user registry by an earlier fetch (trust on first use:
   the first download's sha256 is printed and pinned; a later one that differs is refused);
3. the file is what its entry says: a StyleGAN2 generator (NVlabs pickles go through the
   restricted unpickler of gan/nvlabs.py, then are written ONCE as .safetensors with emoget's
   metadata, so no pickle is read afterwards), a face-alignment FAN or S3FD state_dict, or the
   torchvision VGG16 state_dict (every tensor shape checked against the network).

Downloads go to `<weights dir>/downloads/<file>.part` (kept on failure so the next fetch
resumes) and reach their final name by an atomic rename, or by the atomic safetensors write.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .core.errors import CheckpointError, DependencyError, OutputError, UsageError
from .fetch import FetchOptions, ProgressFn, download, mirrored

CATALOGUE_VERSION = 1
CATALOGUE_NAME = "catalogue.yaml"
KINDS = ("generator", "fan", "sfd", "vgg16")
FORMATS = ("nvlabs-pickle", "torch")
INSTALLS = ("weights", "torch-hub")
#: a download may exceed the catalogue's approximate size by this factor before it is refused
MAX_SIZE_FACTOR = 2.0
#: informational size check: warn when the file is off by more than this fraction
SIZE_TOLERANCE = 0.25
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_HEX_RE = re.compile(r"^[0-9a-f]{6,64}$")
_FILE_KEYS = {"description", "file", "urls", "kind", "format", "install", "store_as", "resolution",
              "approx_mb", "sha256", "sha256_prefix", "licence"}
_RECIPE_KEYS = {"description", "base", "coarse", "swap_res", "store_as", "invert_steps"}


@dataclass(frozen=True)
class Licence:
    key: str
    name: str
    url: str
    summary: str
    commercial: bool


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable file (see weights/catalogue.yaml for the meaning of each field)."""

    name: str
    file: str
    urls: tuple[str, ...]
    kind: str
    format: str
    install: str
    store_as: str
    licence: Licence
    description: str = ""
    resolution: Optional[int] = None
    approx_mb: Optional[float] = None
    sha256: Optional[str] = None
    sha256_prefix: Optional[str] = None

    def target(self) -> Path:
        """Where the installed file lives."""
        if self.install == "torch-hub":
            from .face.backends import hub_checkpoints_dir

            return hub_checkpoints_dir() / self.store_as
        from .weights import user_weights_dir

        return user_weights_dir() / self.store_as

    def max_bytes(self) -> int:
        if self.approx_mb is None:
            return 8 << 30
        return int(self.approx_mb * 1e6 * MAX_SIZE_FACTOR) + (1 << 20)


@dataclass(frozen=True)
class Recipe:
    """A style built from fetched generators: `base` (inverted into; fine layers) and `coarse`
    (layers up to `swap_res`), blended by the hard swap rule of gan/blend.py."""

    name: str
    base: str
    coarse: str
    swap_res: int
    store_as: str
    description: str = ""
    invert_steps: Optional[int] = None

    def target(self) -> Path:
        from .weights import user_weights_dir

        return user_weights_dir() / self.store_as


@dataclass
class Catalogue:
    files: dict[str, CatalogueEntry]
    recipes: dict[str, Recipe]
    path: Optional[Path] = None

    def get(self, name: str) -> CatalogueEntry:
        try:
            return self.files[name]
        except KeyError:
            raise UsageError(f"{name!r} is not in the weights catalogue (choose from "
                             f"{', '.join(sorted(self.files))}; `emoget weights list` shows "
                             "them)") from None


def shipped_catalogue_path() -> Path:
    return Path(__file__).resolve().parents[1] / "weights" / CATALOGUE_NAME


def _bad(path: Path, what: str) -> UsageError:
    return UsageError(f"weights catalogue {path}: {what}")


def _licence(path: Path, key: str, data: Any) -> Licence:
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("name", "url", "summary")) \
            or not isinstance(data.get("commercial"), bool):
        raise _bad(path, f"licence {key!r} needs name, url, summary (text) and commercial (true/false)")
    return Licence(key, data["name"], data["url"], data["summary"], data["commercial"])


def _entry(path: Path, name: str, data: Any, licences: dict[str, Licence]) -> CatalogueEntry:
    where = f"file {name!r}"
    if not _NAME_RE.match(name):
        raise _bad(path, f"bad name {name!r}")
    if not isinstance(data, dict):
        raise _bad(path, f"{where} must be a mapping")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise _bad(path, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    urls = data.get("urls")
    if not isinstance(urls, list) or not urls or not all(
            isinstance(u, str) and u.startswith(("https://", "http://")) for u in urls):
        raise _bad(path, f"{where}: urls must be a list of http(s) URLs")
    for key, choices in (("kind", KINDS), ("format", FORMATS), ("install", INSTALLS)):
        if data.get(key) not in choices:
            raise _bad(path, f"{where}: {key} must be one of {', '.join(choices)}")
    for key in ("file", "store_as"):
        v = data.get(key)
        if not isinstance(v, str) or not v or "/" in v or "\\" in v or v.startswith("."):
            raise _bad(path, f"{where}: {key} must be a plain file name")
    if data["format"] == "nvlabs-pickle" and (data["kind"] != "generator"
                                              or not data["store_as"].endswith(".safetensors")):
        raise _bad(path, f"{where}: an nvlabs-pickle is a generator stored as .safetensors")
    for key in ("sha256", "sha256_prefix"):
        v = data.get(key)
        if v is not None and not (isinstance(v, str) and _HEX_RE.match(v)
                                  and (key == "sha256_prefix" or len(v) == 64)):
            raise _bad(path, f"{where}: {key} must be lowercase hexadecimal digits")
    res = data.get("resolution")
    if res is not None and (isinstance(res, bool) or not isinstance(res, int) or res < 4):
        raise _bad(path, f"{where}: resolution must be an integer >= 4")
    mb = data.get("approx_mb")
    if mb is not None and (isinstance(mb, bool) or not isinstance(mb, (int, float)) or mb <= 0):
        raise _bad(path, f"{where}: approx_mb must be a positive number")
    lic = data.get("licence")
    if lic not in licences:
        raise _bad(path, f"{where}: licence must be one of {', '.join(sorted(licences))}")
    return CatalogueEntry(name=name, file=data["file"], urls=tuple(urls), kind=data["kind"],
                          format=data["format"], install=data["install"], store_as=data["store_as"],
                          licence=licences[lic], description=str(data.get("description") or ""),
                          resolution=res, approx_mb=None if mb is None else float(mb),
                          sha256=data.get("sha256"), sha256_prefix=data.get("sha256_prefix"))


def _recipe(path: Path, name: str, data: Any, files: dict[str, CatalogueEntry]) -> Recipe:
    where = f"recipe {name!r}"
    if not _NAME_RE.match(name) or not isinstance(data, dict):
        raise _bad(path, f"{where} must be a mapping with a lowercase name")
    unknown = set(data) - _RECIPE_KEYS
    if unknown:
        raise _bad(path, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("base", "coarse"):
        if data.get(key) not in files or files[data[key]].kind != "generator":
            raise _bad(path, f"{where}: {key} must name a generator of the catalogue")
    swap = data.get("swap_res")
    if isinstance(swap, bool) or not isinstance(swap, int) or swap < 4 or swap & (swap - 1):
        raise _bad(path, f"{where}: swap_res must be a power of two >= 4")
    store = data.get("store_as")
    if not isinstance(store, str) or not store.endswith(".safetensors") or "/" in store:
        raise _bad(path, f"{where}: store_as must be a .safetensors file name")
    steps = data.get("invert_steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise _bad(path, f"{where}: invert_steps must be a positive integer")
    return Recipe(name, data["base"], data["coarse"], swap, store,
                  str(data.get("description") or ""), steps)


def load_catalogue(path: Optional[Path] = None) -> Catalogue:
    """Read and validate a catalogue file (default: the shipped weights/catalogue.yaml)."""
    from .core.config import read_yaml_file

    path = Path(path) if path is not None else shipped_catalogue_path()
    try:
        data = read_yaml_file(path, "weights catalogue")
    except FileNotFoundError:
        raise UsageError(f"weights catalogue {path}: no such file") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise _bad(path, "must be a mapping with 'licences' and 'files'")
    if data.get("version", CATALOGUE_VERSION) != CATALOGUE_VERSION:
        raise _bad(path, f"unsupported version {data.get('version')!r}")
    licences = {str(k): _licence(path, str(k), v) for k, v in (data.get("licences") or {}).items()}
    files = {str(k): _entry(path, str(k), v, licences) for k, v in data["files"].items()}
    recipes = {str(k): _recipe(path, str(k), v, files) for k, v in (data.get("recipes") or {}).items()}
    return Catalogue(files, recipes, path)


# ----------------------------------------------------------------------------- validation --

def _shapes_of(module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _vgg16_shapes() -> dict[str, tuple[int, ...]]:
    """torchvision VGG16 state_dict shapes (features + classifier), from the layer table."""
    from .gan.perceptual import _VGG16_CFG

    shapes, c_in, idx = {}, 3, 0
    for item in _VGG16_CFG:
        if item == "M":
            idx += 1
            continue
        shapes[f"features.{idx}.weight"] = (item, c_in, 3, 3)
        shapes[f"features.{idx}.bias"] = (item,)
        c_in, idx = item, idx + 2  # conv + ReLU
    for i, (n_out, n_in) in zip((0, 3, 6), ((4096, 512 * 7 * 7), (4096, 4096), (1000, 4096))):
        shapes[f"classifier.{i}.weight"] = (n_out, n_in)
        shapes[f"classifier.{i}.bias"] = (n_out,)
    return shapes


def expected_shapes(kind: str) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes a FAN / S3FD / VGG16 file must have (networks built on the meta
    device: no memory, no init cost)."""
    import torch

    if kind == "vgg16":
        return _vgg16_shapes()
    try:
        if kind == "fan":
            from face_alignment.models.fan import FAN
            with torch.device("meta"):
                return _shapes_of(FAN(4))
        if kind == "sfd":
            from face_alignment.detection.sfd.net_s3fd import s3fd
            with torch.device("meta"):
                return _shapes_of(s3fd())
    except ImportError:
        raise DependencyError(f"checking a {kind} file needs the face-alignment package "
                              "(pip install face-alignment)") from None
    raise UsageError(f"no shape table for kind {kind!r}")


def check_state_dict_file(path: Path, kind: str) -> int:
    """The file must be a torch state_dict whose keys and shapes are those of `kind`'s network.
    Returns the number of tensors; CheckpointError otherwise (nothing in it is executed)."""
    import torch

    from .core.safe_load import load_torch_file

    state = load_torch_file(path, f"{kind} weights file")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path.name}: not a {kind} state_dict")
    expected = expected_shapes(kind)
    missing = [k for k in expected if k not in state]
    if missing:
        raise CheckpointError(f"{path.name}: not a {kind} file (missing {missing[0]!r} and "
                              f"{len(missing) - 1} more)")
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise CheckpointError(f"{path.name}: {key} has shape {tuple(state[key].shape)}, a "
                                  f"{kind} file has {shape}")
    return len(state)


# -------------------------------------------------------------------------------- fetching --

@dataclass
class FetchResult:
    name: str
    path: Path
    sha256: str                 # of the installed file
    source_sha256: str          # of the downloaded (or --from) file: the pin
    status: str                 # "fetched" | "registered" | "present"
    pinned_now: bool = False    # True at the first download (trust on first use)
    url: str = ""
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256,
                "source_sha256": self.source_sha256, "status": self.status,
                "pinned_now": self.pinned_now, "url": self.url, "bytes": self.bytes,
                "warnings": list(self.warnings)}


def check_licence(entry: CatalogueEntry, accept: bool,
                  confirm: Optional[Callable[[str], bool]] = None) -> bool:
    """True when the entry may be fetched; UsageError (exit 2) when a non-commercial licence
    is neither accepted with --accept-license nor confirmed at an interactive prompt."""
    lic = entry.licence
    if lic.commercial or accept:
        return bool(accept)
    question = (f"{entry.name} ({entry.file}) is under the {lic.name}: {lic.summary} "
                f"({lic.url}). Accept this licence?")
    if confirm is not None and confirm(question):
        return True
    raise UsageError(f"{entry.name}: its licence ({lic.name}, {lic.url}) is non-commercial: "
                     "pass --accept-license to accept it")


def _pins(registry_path: Optional[Path]) -> dict[str, dict]:
    from .weights import read_fetched, user_registry_path

    return read_fetched(registry_path or user_registry_path())


def _check_hash(entry: CatalogueEntry, actual: str, pinned: Optional[str], source: str) -> None:
    if entry.sha256 and actual != entry.sha256:
        raise CheckpointError(f"{entry.name}: {source} has sha256 {actual[:16]}…, the catalogue "
                              f"says {entry.sha256[:16]}…: refused (corrupt or tampered download)")
    if entry.sha256_prefix and not actual.startswith(entry.sha256_prefix):
        raise CheckpointError(f"{entry.name}: {source} has sha256 {actual[:16]}…, but its name "
                              f"promises {entry.sha256_prefix}…: refused (corrupt or tampered "
                              "download)")
    if pinned and actual != pinned:
        raise CheckpointError(f"{entry.name}: {source} has sha256 {actual[:16]}…, not the "
                              f"{pinned[:16]}… pinned at its first fetch: refused (the "
                              "published file changed or the download was tampered with; "
                              f"drop the pin with `emoget weights forget {entry.name}` only "
                              "if you trust the new file)")


def _install(entry: CatalogueEntry, source: Path, warnings: list[str]) -> Path:
    """Check `source` is what `entry` says and write the installed file atomically."""
    from .core.atomic import atomic_path

    target = entry.target()
    if entry.kind == "generator":
        from .gan.checkpoint import load_checkpoint, save_checkpoint

        ckpt = load_checkpoint(source)  # restricted unpickler for NVlabs pickles; shapes checked
        size = int(ckpt.architecture["size"])
        if entry.resolution is not None and size != entry.resolution:
            warnings.append(f"{entry.name}: the generator is {size} px, the catalogue says "
                            f"{entry.resolution} px")
        ckpt.training = {**ckpt.training, "fetched": {"catalogue": entry.name, "file": entry.file,
                                                      "licence": entry.licence.name,
                                                      "licence_url": entry.licence.url}}
        return save_checkpoint(ckpt, target)  # format by suffix; .safetensors for pickles
    check_state_dict_file(source, entry.kind)
    with atomic_path(target) as tmp:
        try:
            shutil.copyfile(source, tmp)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def _size_warning(entry: CatalogueEntry, n_bytes: int) -> Optional[str]:
    if entry.approx_mb is None:
        return None
    mb = n_bytes / 1e6
    if abs(mb - entry.approx_mb) > SIZE_TOLERANCE * entry.approx_mb:
        return (f"{entry.name}: {mb:.1f} MB, the catalogue says about {entry.approx_mb:g} MB "
                "(informational; the hash and the file's contents were checked)")
    return None


def downloads_dir() -> Path:
    from .weights import user_weights_dir

    return user_weights_dir() / "downloads"


def _check_free_space(entry: CatalogueEntry, part: Path) -> None:
    """OutputError before downloading when the disk cannot hold the file (and, for a generator,
    its converted copy); approximate, from the catalogue's size."""
    if entry.approx_mb is None:
        return
    have = part.stat().st_size if part.is_file() else 0
    need = max(0, int(entry.approx_mb * 1e6) - have)
    if entry.kind == "generator":
        need += int(entry.approx_mb * 1e6)  # the .safetensors written next to it
    folder = part.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < need:
        raise OutputError(f"{entry.name}: about {need / 1e6:.0f} MB are needed in {folder}, only "
                          f"{free / 1e6:.0f} MB are free")


class _EntryLock:
    """An exclusive lock per catalogue entry, so two fetches never write one partial file."""

    def __init__(self, entry: CatalogueEntry):
        self.path = downloads_dir() / f".fetch-{entry.name}.lock"
        self.name = entry.name
        self.fh = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = self.path.open("a")
        except OSError as exc:
            raise OutputError(f"cannot write to {self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise DependencyError(f"{self.name}: another `emoget weights fetch` is fetching it "
                                  "right now; wait for it to finish") from None
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            self.fh.close()  # releases the lock; the empty lock file may stay


def fetch(entry: CatalogueEntry, *, accept_licence: bool = False,
          from_file: Optional[Path] = None, force: bool = False,
          options: FetchOptions = FetchOptions(), registry_path: Optional[Path] = None,
          confirm: Optional[Callable[[str], bool]] = None,
          progress: Optional[ProgressFn] = None) -> FetchResult:
    """Fetch (or register `from_file`), check and install one catalogue entry; pin its hash.

    An entry already installed whose file still matches its pin is left alone (status
    "present") unless `force`. The user registry gets the pin; nothing is written when any
    check fails, and a bad download is deleted (a merely interrupted one is kept to resume).
    """
    accepted = check_licence(entry, accept_licence, confirm)  # before anything is written
    with _EntryLock(entry):
        return _fetch(entry, accepted, from_file=from_file, force=force, options=options,
                      registry_path=registry_path, progress=progress)


def _fetch(entry: CatalogueEntry, accepted: bool, *, from_file: Optional[Path], force: bool,
           options: FetchOptions, registry_path: Optional[Path],
           progress: Optional[ProgressFn]) -> FetchResult:
    """`fetch` under the entry's lock, its licence already accepted."""
    from .weights import record_fetch, sha256_file

    pin = _pins(registry_path).get(entry.name, {})
    target = entry.target()
    warnings: list[str] = []
    if from_file is None and not force and pin and target.is_file() \
            and sha256_file(target) == pin.get("sha256"):
        return FetchResult(entry.name, target, pin["sha256"], pin.get("source_sha256", ""),
                           "present", url=pin.get("url", ""))
    downloaded = from_file is None
    if from_file is not None:
        source = Path(from_file).expanduser()
        if not source.is_file():
            raise DependencyError(f"--from {source}: no such file")
        if source.resolve() == target.resolve():
            raise UsageError(f"--from {source} is the installed file itself")
        url = str(source.resolve())
    else:
        source = downloads_dir() / (entry.file + ".part")
        url = _download_any(entry, source, options, progress)
    n_bytes = source.stat().st_size
    actual = sha256_file(source)
    try:
        _check_hash(entry, actual, pin.get("source_sha256"), "the download" if downloaded else
                    str(source))
        warning = _size_warning(entry, n_bytes)
        if warning:
            warnings.append(warning)
        installed = _install(entry, source, warnings)
    except CheckpointError:
        if downloaded:  # a complete but wrong file must not be resumed next time
            source.unlink(missing_ok=True)
        raise
    installed_sha = sha256_file(installed)
    record = {"file": str(installed), "sha256": installed_sha, "source_sha256": actual,
              "url": url, "licence": entry.licence.key,
              "licence_accepted": True if accepted else None}
    record_fetch(entry.name, record, registry_path=registry_path)
    if downloaded:
        source.unlink(missing_ok=True)  # converted or copied: the download is not needed again
    return FetchResult(entry.name, installed, installed_sha, actual,
                       "fetched" if downloaded else "registered", pinned_now=not pin,
                       url=url, bytes=n_bytes, warnings=warnings)


def _download_any(entry: CatalogueEntry, part: Path, options: FetchOptions,
                  progress: Optional[ProgressFn]) -> str:
    """Download the first of the entry's URLs that works; returns that URL."""
    errors = []
    _check_free_space(entry, part)
    for candidate in entry.urls:
        url = mirrored(candidate)
        try:
            download(url, part, options=options, max_bytes=entry.max_bytes(), progress=progress)
            return url
        except DependencyError as exc:
            errors.append(str(exc))
    raise DependencyError("; ".join(errors))


# --------------------------------------------------------------------------------- status --

def entry_status(entry: CatalogueEntry, pins: dict[str, dict]) -> dict[str, Any]:
    """What `weights list` shows for a catalogue file (no hashing: cheap)."""
    target = entry.target()
    pin = pins.get(entry.name)
    state = "installed" if target.is_file() and pin else ("present (not pinned)" if target.is_file()
                                                          else "not fetched")
    return {"name": entry.name, "kind": entry.kind, "file": entry.file,
            "resolution": entry.resolution, "approx_mb": entry.approx_mb,
            "licence": entry.licence.key, "licence_name": entry.licence.name, "licence_url": entry.licence.url,
            "commercial": entry.licence.commercial, "status": state, "path": str(target),
            "pinned_sha256": (pin or {}).get("source_sha256"), "description": entry.description}


# -------------------------------------------------------------------------------- recipes --

def recipe_inputs(recipe: Recipe, catalogue: Catalogue, pins: dict[str, dict]) -> Optional[tuple[Path, Path]]:
    """(base file, coarse file) when both are installed and pinned, else None."""
    paths = []
    for name in (recipe.base, recipe.coarse):
        target = catalogue.get(name).target()
        if name not in pins or not target.is_file():
            return None
        paths.append(target)
    return paths[0], paths[1]


def build_recipe(recipe: Recipe, base: Path, coarse: Path, *,
                 registry_path: Optional[Path] = None):
    """Blend `base` (fine layers) and `coarse` (layers up to swap_res), write the style file
    atomically and register the style in the user registry. Returns its StyleEntry."""
    from .gan.blend import BlendRecipe, blend_checkpoints
    from .gan.checkpoint import save_checkpoint
    from .weights import StyleEntry, record_fetch, sha256_file, user_registry_path

    blend = BlendRecipe.swap(recipe.swap_res, coarse_from=1, mapping_from=0)
    ckpt = blend_checkpoints([base, coarse], blend)
    ckpt.notes = [*ckpt.notes, f"recipe {recipe.name}: fine layers from {base.name}, layers up "
                               f"to {recipe.swap_res} px from {coarse.name}"]
    out = save_checkpoint(ckpt, recipe.target())
    registry_path = Path(registry_path or user_registry_path())
    style = StyleEntry(name=recipe.name, engine="gan", description=recipe.description,
                       checkpoint=out.resolve(), sha256=sha256_file(out), base=base.resolve(),
                       base_sha256=sha256_file(base), swap_res=recipe.swap_res,
                       invert_steps=recipe.invert_steps, registry=registry_path)
    record_fetch("", {}, registry_path=registry_path, style=style)
    return style


def build_recipes(catalogue: Catalogue, *, registry_path: Optional[Path] = None,
                  only_new: bool = True) -> list:
    """Build every recipe whose inputs are installed (skipping ones already registered with an
    existing file when `only_new`). Returns the StyleEntry of each style built."""
    from .weights import read_registry_file, user_registry_path

    registry_path = Path(registry_path or user_registry_path())
    pins = _pins(registry_path)
    styles = read_registry_file(registry_path)
    built = []
    for recipe in catalogue.recipes.values():
        inputs = recipe_inputs(recipe, catalogue, pins)
        if inputs is None:
            continue
        have = styles.get(recipe.name)
        if only_new and have is not None and have.checkpoint is not None and have.checkpoint.is_file() \
                and have.base is not None and have.base.resolve() == inputs[0].resolve():
            continue
        built.append(build_recipe(recipe, *inputs, registry_path=registry_path))
    return built


def env_summary() -> dict[str, str]:
    """Where fetched files go and which mirror is used (for `weights list`)."""
    from .face.backends import hub_checkpoints_dir
    from .fetch import MIRROR_ENV
    from .weights import user_weights_dir

    return {"weights_dir": str(user_weights_dir()), "torch_hub_dir": str(hub_checkpoints_dir()),
            "mirror": os.environ.get(MIRROR_ENV, "")}
